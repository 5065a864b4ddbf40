"""What ``git comfy export`` costs against ``tar czf`` of the same files: a table, run by hand.

The largest workflow of ``../shared/corpus/`` (else of the ``comfyui-workflow-templates-json``
package) in a ComfyUI-shaped folder whose model files it references all exist (64 MiB each,
old enough to be cached), plus a 2,000-file dev node (generated Python of realistic size) that
one of its nodes uses. Timed, interleaved run by run, each a fresh process:

* ``tar czf`` of the workflow and the dev node's folder (the same bytes the bundle carries);
* ``git comfy export NAME --yes --offline`` (index already warm: the steady state);
* the first export after emptying the model index's SHA-256 cache (every model hashed), once,
  and the second right after it (nothing hashed: the cache holds every SHA-256).

Budget: the steady-state export ≤ 1.5x ``tar czf``.

    python benchmarks/export.py [--runs 7]
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from git_comfy.commands import demo  # noqa: E402
from git_comfy.core import graph, jsonsafe, models  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
DEV_FILES = 2000
MODEL_SIZE = 64 << 20
BUDGET = 1.5


def largest_workflow() -> tuple[str, bytes]:
    files = [p for p in CORPUS.glob("*.json") if not p.name.startswith("object_info")] \
        if CORPUS.is_dir() else []
    if not files:
        folder = importlib.resources.files("comfyui_workflow_templates_json") / "templates"
        items = [i for i in folder.iterdir() if i.name.endswith(".json")
                 and not i.name.startswith(("index", "fuse_"))]
        best = max(items, key=lambda i: len(i.read_bytes()))
        return best.name, best.read_bytes()
    path = max(files, key=lambda p: p.stat().st_size)
    return path.name, path.read_bytes()


def dev_node(folder: Path) -> None:
    """2,000 files in 40 folders: modules of 40-120 lines, some JSON and JS."""
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text('NODE_CLASS_MAPPINGS = {"BenchDevNode": object}\n')
    for n in range(DEV_FILES - 1):
        sub = folder / f"pkg{n % 40:02d}"
        sub.mkdir(exist_ok=True)
        lines = 40 + (n * 37) % 80
        if n % 10 == 0:
            (sub / f"data{n}.json").write_text(json.dumps(
                {"id": n, "values": list(range(lines))}, indent=2))
        elif n % 10 == 1:
            (sub / f"widget{n}.js").write_text("".join(
                f"export function f{i}(x) {{ return x * {i} + {n}; }}\n" for i in range(lines)))
        else:
            (sub / f"module{n}.py").write_text("".join(
                f"def helper_{i}(value):\n    return value * {i} + {n}  # step {i}\n\n"
                for i in range(lines)))


def prepare(base: Path) -> tuple[Path, str, Path]:
    name, data = largest_workflow()
    comfyui = Path(demo.build_comfyui(str(base / "ComfyUI")))
    document = jsonsafe.loads(data)
    document["nodes"].append({"id": 99999, "type": "BenchDevNode", "mode": 0, "pos": [0, 0],
                              "size": [100, 50], "properties": {}, "widgets_values": []})
    (comfyui / "user" / "default" / "workflows" / "big.json").write_bytes(
        jsonsafe.dumps(document))
    for ref in models.references(graph.parse(document)):
        if ref.invalid or ref.folder is None:
            continue
        path = comfyui / "models" / ref.folder / ref.normalised
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as file:
            file.write(ref.normalised.encode().ljust(4096, b"#"))
            file.truncate(MODEL_SIZE)  # sparse: hashing still reads every byte
        os.utime(path, (1e9, 1e9))
    dev = base / "dev" / "bench-dev"
    dev_node(dev)
    studio = base / "studio"
    studio.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(base / "gitconfig")}
    (base / "gitconfig").write_text(
        "[user]\n\tname = b\n\temail = b@example.invalid\n[comfy]\n"
        f"\tindexPath = {base / 'index.sqlite3'}\n\tregistryUrl = http://127.0.0.1:9\n"
        "\tnodeMapUrl = http://127.0.0.1:9/map.json\n")
    for args in (["git", "init", "-q"], ["git", "comfy", "init", "--comfyui", str(comfyui)],
                 ["git", "comfy", "node", "add", "--dev", str(dev)],
                 ["git", "comfy", "track", "big"]):
        subprocess.run(args, cwd=studio, env=env, check=True, capture_output=True)
    os.environ.update(env)
    print(f"workflow: {name} ({len(data) // 1024} KiB), "
          f"{sum(1 for _ in dev.rglob('*') if _.is_file())} dev-node files", file=sys.stderr)
    return studio, "big", comfyui


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return elapsed


def export_args(name: str) -> list[str]:
    # unknown custom types of the template (if any) are answered, so nothing stops the export
    return ["git", "comfy", "export", name, "--yes", "--offline", "-o", "bundle.tar.gz"]


def answers(studio: Path, name: str) -> list[str]:
    done = subprocess.run(export_args(name), cwd=studio, capture_output=True, text=True)
    flags = []
    for line in done.stderr.splitlines():
        if '--node "' in line:
            node_type = line.split('--node "', 1)[1].split("=PACKAGE", 1)[0]
            flags += ["--node", f"{node_type}=bench-unknown"]
    return flags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="git-comfy-bench-export-"))
    try:
        studio, name, comfyui = prepare(base)
        argv = export_args(name) + answers(studio, name)
        workflows = comfyui / "user" / "default" / "workflows"
        tar = ["tar", "czf", str(base / "ref.tar.gz"), "-C", str(workflows), "big.json",
               "-C", str(base / "dev"), "bench-dev"]
        with sqlite3.connect(base / "index.sqlite3") as db:
            db.execute("UPDATE files SET sha256 = NULL")
        cold = timed(argv, studio)
        warm = timed(argv, studio)
        with sqlite3.connect(base / "index.sqlite3") as db:
            rows = db.execute("SELECT count(*), count(sha256) FROM files").fetchone()
        tar_times, export_times = [], []
        for _ in range(options.runs):
            tar_times.append(timed(tar, studio))
            export_times.append(timed(argv, studio))
        tar_ms = statistics.median(tar_times) * 1000
        export_ms = statistics.median(export_times) * 1000
        bundle = studio / "bundle.tar.gz"
        print(f"| step (median of {options.runs}) | ms |\n|---|---|")
        print(f"| tar czf (workflow + dev node) | {tar_ms:.0f} |")
        print(f"| git comfy export | {export_ms:.0f} |")
        print(f"| ratio (budget {BUDGET}x) | {export_ms / tar_ms:.2f}x |")
        print(f"| first export, every SHA-256 hashed ({rows[0]} models x "
              f"{MODEL_SIZE >> 20} MiB) | {cold * 1000:.0f} |")
        print(f"| second export (SHA-256 cached for {rows[1]} of {rows[0]}) | "
              f"{warm * 1000:.0f} |")
        print(f"\nbundle {bundle.stat().st_size // 1024} KiB, "
              f"tar czf {(base / 'ref.tar.gz').stat().st_size // 1024} KiB")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
