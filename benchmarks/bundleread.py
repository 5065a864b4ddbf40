"""What reading a stranger's bundle costs against ``tar xzf``: a table, run by hand.

A 2,000-member bundle (generated source files of realistic size, ~20 MB unpacked) written by
``bundlewrite`` with a real manifest; timed, interleaved run by run:

* ``tar xzf`` into a fresh folder;
* ``bundleread.read`` into a fresh folder (every name, type, size and ratio checked, every
  member's SHA-256 against the manifest, files written O_EXCL|O_NOFOLLOW), in a fresh process;
* the same in this process, and verification only (nothing written: ``git comfy verify``).

Budget: extraction and verification ≤ 2x ``tar xzf``.

    python benchmarks/bundleread.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from git_comfy import bundleread, bundlewrite  # noqa: E402
from git_comfy.core import bundle  # noqa: E402

MEMBERS = 2000
BUDGET = 2.0


def make(path: Path) -> None:
    members = {bundle.WORKFLOW: b'{"nodes": []}'}
    for n in range(MEMBERS - 1):
        lines = 60 + (n * 37) % 140
        members[f"nodes/dev/pkg{n % 40:02d}/module{n}.py"] = "".join(
            f"def helper_{i}(value):\n    return value * {i} + {n}  # step {i}\n\n"
            for i in range(lines)).encode()
    manifest = bundle.Manifest(tool_version="bench", created="2026-01-01T00:00:00Z",
                               workflow="bench", workflow_format="ui",
                               files=bundlewrite.checksums(members))
    path.write_bytes(bundlewrite.archive(bundle.to_json(manifest), members, 0))


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                        help="where to unpack (default: /dev/shm, so the disk's noise does "
                        "not drown the comparison)")
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="git-comfy-bench-read-", dir=options.dir))
    try:
        archive = base / "bundle.tar.gz"
        make(archive)
        counter = iter(range(10**6))

        def fresh() -> Path:
            folder = base / f"out{next(counter)}"
            folder.mkdir(mode=0o700)
            return folder

        script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                  "from git_comfy import bundleread; from git_comfy.core import bundle; "
                  "bundleread.read(sys.argv[1], bundle.expected_members, dest=sys.argv[2])")
        steps: list[tuple[str, Callable[[], object]]] = [
            ("tar xzf", lambda: subprocess.run(["tar", "xzf", str(archive), "-C",
                                                str(fresh())], check=True)),
            ("bundleread, fresh process", lambda: subprocess.run(
                [sys.executable, "-c", script, str(archive), str(fresh())], check=True)),
            ("bundleread, in process", lambda: bundleread.read(
                str(archive), bundle.expected_members, dest=str(fresh()))),
            ("verify only (nothing written)", lambda: bundleread.read(
                str(archive), bundle.expected_members)),
        ]
        times: dict[str, list[float]] = {name: [] for name, _ in steps}
        for _ in range(options.runs):
            for name, action in steps:
                times[name].append(timed(action))
        reference = statistics.median(times["tar xzf"])
        print(f"{MEMBERS} members, {archive.stat().st_size // 1024} KiB compressed, "
              f"unpacked in {base.parent}; median of {options.runs}\n")
        print("| step | ms | vs tar xzf |\n|---|---|---|")
        for name, _ in steps:
            median = statistics.median(times[name])
            print(f"| {name} | {median * 1000:.0f} | {median / reference:.2f}x |")
        print(f"\nbudget: ≤ {BUDGET}x tar xzf (the fresh process)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
