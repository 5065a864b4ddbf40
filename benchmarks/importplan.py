"""What planning an import costs: a table, run by hand.

A bundle whose workflow needs 20 custom node packs (10 of them installed here already) with 100
pip requirement lines in all, imported with ``--dry-run`` into a ComfyUI that has 50 packs
installed (registry installs: ``pyproject.toml`` + ``.tracking``), ComfyUI's interpreter given
as ``comfy.python`` (this very interpreter, whose installed distributions are read once), no
network. Each run is a fresh ``git comfy import BUNDLE --dry-run --json`` process: reading and
verifying the bundle, the packs' static scan, the pip plan, the model index, the plan.

Budget: ≤ 1 s.

    python benchmarks/importplan.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from git_comfy import bundlewrite  # noqa: E402
from git_comfy.commands import demo  # noqa: E402
from git_comfy.core import bundle  # noqa: E402

INSTALLED = 50
NEEDED = 20
LINES = 100
BUDGET_S = 1.0
REQUIREMENTS = ["numpy>=1.24", "pillow", "scipy>=1.10", "opencv-python-headless", "einops",
                "transformers>=4.40", "safetensors", "tqdm", "requests", "pyyaml"]


def pack(folder: Path, number: int) -> None:
    folder.mkdir(parents=True)
    names = [f"Pack{number:02d}Node{n}" for n in range(12)]
    (folder / "__init__.py").write_text(
        "".join(f"class {name}:\n    pass\n\n" for name in names)
        + "NODE_CLASS_MAPPINGS = {" + ", ".join(f'"{n}": {n}' for n in names) + "}\n")
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "bench-pack-{number:02d}"\nversion = "1.0.{number}"\n')
    (folder / ".tracking").write_text("__init__.py\npyproject.toml\n")


def make_bundle(path: Path) -> None:
    nodes: list[bundle.Node] = []
    workflow_nodes: list[dict[str, object]] = []
    for number in range(NEEDED):  # 0-9 are installed here, 10-19 are not
        package = f"bench-pack-{number + 40:02d}"
        types = [f"Pack{number + 40:02d}Node{n}" for n in range(3)]
        pip = [REQUIREMENTS[(number + k) % len(REQUIREMENTS)] for k in range(LINES // NEEDED)]
        nodes.append(bundle.Node(package=package, source="registry",
                                 version=f"1.0.{number + 40}", repository=None,
                                 registry_id=package, node_types=tuple(types), required=True,
                                 pip=tuple(pip)))
        workflow_nodes += [{"id": len(workflow_nodes) + 1, "type": t, "mode": 0,
                            "widgets_values": []} for t in types]
    members = {bundle.WORKFLOW: json.dumps({"nodes": workflow_nodes, "links": []}).encode()}
    manifest = bundle.Manifest(tool_version="bench", created="2026-01-01T00:00:00Z",
                               workflow="bench", workflow_format="ui", nodes=tuple(nodes),
                               files=bundlewrite.checksums(members))
    path.write_bytes(bundlewrite.archive(bundle.to_json(manifest), members, 0))


def prepare(base: Path) -> tuple[Path, Path]:
    comfyui = Path(demo.build_comfyui(str(base / "ComfyUI")))
    for number in range(INSTALLED):
        pack(comfyui / "custom_nodes" / f"bench-pack-{number:02d}", number)
    studio = base / "studio"
    studio.mkdir()
    (base / "gitconfig").write_text(
        f"[user]\n\tname = b\n\temail = b@example.invalid\n[comfy]\n\tpython = {sys.executable}\n"
        f"\tindexPath = {base / 'index.sqlite3'}\n\tregistryUrl = http://127.0.0.1:9\n")
    os.environ["GIT_CONFIG_GLOBAL"] = str(base / "gitconfig")
    for args in (["git", "init", "-q"], ["git", "comfy", "init", "--comfyui", str(comfyui)]):
        subprocess.run(args, cwd=studio, check=True, capture_output=True)
    bundle_path = base / "bench.tar.gz"
    make_bundle(bundle_path)
    return studio, bundle_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="git-comfy-bench-import-"))
    try:
        studio, bundle_path = prepare(base)
        argv = ["git", "comfy", "import", str(bundle_path), "--dry-run", "--json"]
        start = time.perf_counter()
        first = subprocess.run(argv, cwd=studio, capture_output=True, text=True)
        cold = time.perf_counter() - start
        if first.returncode != 0:
            raise SystemExit(first.stderr)
        plan = json.loads(first.stdout)
        times = []
        for _ in range(options.runs):
            start = time.perf_counter()
            subprocess.run(argv, cwd=studio, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        actions = [p["action"] for p in plan["packs"]]
        states = [r["state"] for r in plan["python"]["requirements"]]
        print(f"{len(actions)} packs ({actions.count('present')} present, "
              f"{actions.count('install')} to install); {len(states)} requirement lines "
              f"({states.count('installed')} installed, {states.count('install')} to install); "
              f"{INSTALLED} packs installed\n")
        print("| step | s |\n|---|---|")
        print(f"| git comfy import --dry-run --json (median of {options.runs}) | "
              f"{statistics.median(times):.3f} |")
        print(f"| first run (empty scan and index caches) | {cold:.3f} |\n\n"
              f"budget ≤ {BUDGET_S} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
