"""What the model index costs: a table of medians, run by hand.

A tree of 2,000 model files of realistic sizes (100 MB to 7 GB, sparse: made with truncate, so
the tree takes no disk space) in ComfyUI's folders, under a temporary folder in /tmp:

* the first scan (quick hashes, into a new index) against a bare ``os.scandir`` + stat walk of
  the same tree (budget: 20x), and the same first scan of 2,000 tiny files and of 2,000 files
  of 7 GB each (the quick hash reads three 64 KiB chunks: the time must not grow with size);
* a rescan of the unchanged tree (budget: 2x the bare walk; the two are measured in turns);
* the full SHA-256 of a 2 GB file of random bytes against ``openssl dgst -sha256`` on the same
  file in the same run (budget: 90% of openssl's throughput; best of the runs for both);
* the peak memory of the 2,000-file first scan, in a fresh process (budget: 100 MB): the
  process's max RSS, interpreter included, and the Python allocations (tracemalloc).

    python benchmarks/index.py [--runs 5] [--keep]
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from git_comfy import modelfiles, modelroots
from git_comfy.index import ModelIndex

FILES = 2000
MB = 1000 * 1000
SIZES = [100 * MB, 150 * MB, 300 * MB, 800 * MB, 2000 * MB, 4000 * MB, 6500 * MB, 7000 * MB]
FOLDERS = ["checkpoints", "loras", "vae", "controlnet", "upscale_models", "text_encoders",
           "diffusion_models", "clip_vision", "embeddings", "ipadapter"]
SHA_FILE_SIZE = 2 * 1000 * MB
OLD_NS = time.time_ns() - 86400 * 10**9  # models are not seconds old (index.RACY_NS)


def make_tree(base: Path, sizes: list[int]) -> None:
    """FILES model files across ComfyUI's folders, 25 per subfolder, each with a small header
    written at its start (the rest is a hole) and an mtime a day back."""
    for number in range(FILES):
        folder = base / "models" / FOLDERS[number % len(FOLDERS)] / f"set{number // 25:03}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"model-{number:04}.safetensors"
        with open(path, "wb") as file:
            file.write(f'{{"__metadata__": {{"n": {number}}}}}'.encode())
            file.truncate(sizes[number % len(sizes)])
        os.utime(path, ns=(OLD_NS, OLD_NS))


def bare_walk(root: str) -> int:
    """The floor: every entry listed and every file stat'ed, nothing else."""
    count = 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat(follow_symlinks=False)
                    count += 1
    return count


def median_time(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_scan(comfyui: Path, work: Path, runs: int) -> float:
    """open + scan + close into a new index each run."""
    roots = modelroots.roots(str(comfyui), [])
    counter = iter(range(10**6))

    def once() -> None:
        path = work / f"first-{next(counter)}.sqlite3"
        with ModelIndex.open(str(path)) as index:
            report = index.scan(roots)
        assert report.new == FILES and not report.skipped, report

    return median_time(once, runs)


def walk_and_rescan(comfyui: Path, work: Path, runs: int) -> tuple[float, float]:
    """Medians of the bare walk and of open + rescan + close, measured in alternation so that
    both see the same machine (caches, CPU clock, neighbours)."""
    roots = modelroots.roots(str(comfyui), [])
    path = str(work / "rescan.sqlite3")
    with ModelIndex.open(path) as index:
        index.scan(roots)

    def once() -> None:
        with ModelIndex.open(path) as index:
            report = index.scan(roots)
        assert report.unchanged == FILES and report.read == 0, report

    walks, rescans = [], []
    for _ in range(runs):
        walks.append(median_time(lambda: bare_walk(str(comfyui / "models")), 1))
        rescans.append(median_time(once, 1))
    return statistics.median(walks), statistics.median(rescans)


MEMORY_PROBE = """
import json, resource, sys, tracemalloc
sys.path.insert(0, sys.argv[3])
tracemalloc.start()
from git_comfy import modelroots
from git_comfy.index import ModelIndex
with ModelIndex.open(sys.argv[2]) as index:
    report = index.scan(modelroots.roots(sys.argv[1], []))
peak = tracemalloc.get_traced_memory()[1]
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
print(json.dumps({"new": report.new, "peak": peak, "maxrss": maxrss}))
"""


def memory(comfyui: Path, work: Path) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(comfyui), str(work / "memory.sqlite3"),
         str(Path(__file__).resolve().parents[1])],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, int] = json.loads(done.stdout)
    assert result["new"] == FILES, result
    return result


def sha256_rates(path: Path, runs: int) -> tuple[float, float, str]:
    """Best MB/s of openssl and of the index on the same file, alternating runs."""
    ours, theirs = [], []
    digest = ""
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(["openssl", "dgst", "-sha256", "-r", str(path)],
                             capture_output=True, text=True, check=True).stdout
        theirs.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = modelfiles.read(str(path), full=True)
        ours.append(time.perf_counter() - start)
        digest = out.split()[0]
        assert result.sha256 == digest, (result.sha256, digest)
    size = path.stat().st_size
    return size / min(ours) / MB, size / min(theirs) / MB, digest


def write_random(path: Path, size: int) -> None:
    chunk = 64 << 20
    with open(path, "wb") as file:
        written = 0
        while written < size:
            block = os.urandom(min(chunk, size - written))
            file.write(block)
            written += len(block)
    os.utime(path, ns=(OLD_NS, OLD_NS))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="git-comfy-index-bench-", dir="/tmp"))
    try:
        big = base / "big" / "ComfyUI"
        tiny = base / "tiny" / "ComfyUI"
        make_tree(big, SIZES)
        make_tree(tiny, [1024, 4096, 16 * 1024])
        huge = base / "huge" / "ComfyUI"
        make_tree(huge, [7000 * MB])
        work = base / "work"
        work.mkdir()
        apparent = sum(SIZES[n % len(SIZES)] for n in range(FILES))
        print(f"tree: {FILES} files, {apparent / 1e12:.1f} TB apparent (sparse), "
              f"{len(FOLDERS)} folders; {args.runs} runs, medians\n")

        walk, again = walk_and_rescan(big, work, args.runs * 4)  # cheap: more runs
        first = first_scan(big, work, args.runs)
        first_tiny = first_scan(tiny, work, args.runs)
        first_huge = first_scan(huge, work, args.runs)
        used = memory(big, work)
        sha_file = base / "random-2GB.bin"
        write_random(sha_file, SHA_FILE_SIZE)
        ours, openssl, _digest = sha256_rates(sha_file, max(args.runs, 3))

        # (measure, result, relative, budget, within budget: None when there is none)
        rows: list[tuple[str, str, str, str, bool | None]] = [
            ("bare os.scandir + stat walk", f"{walk * 1000:.1f} ms", "1.0x", "-", None),
            ("first scan, 100 MB-7 GB files", f"{first * 1000:.1f} ms",
             f"{first / walk:.1f}x walk", "<= 20x", first / walk <= 20),
            ("first scan, 1-16 KiB files", f"{first_tiny * 1000:.1f} ms",
             f"{first_tiny / walk:.1f}x walk", "(size-independent)", None),
            ("first scan, all files 7 GB", f"{first_huge * 1000:.1f} ms",
             f"{first_huge / walk:.1f}x walk", "(size-independent)", None),
            ("rescan, nothing changed", f"{again * 1000:.1f} ms",
             f"{again / walk:.1f}x walk", "<= 2x", again / walk <= 2),
            ("SHA-256 of 2 GB, openssl dgst", f"{openssl:.0f} MB/s", "100%", "-", None),
            ("SHA-256 of 2 GB, git-comfy", f"{ours:.0f} MB/s", f"{ours / openssl:.0%}",
             ">= 90%", ours / openssl >= 0.9),
            ("first scan peak RSS (process)", f"{used['maxrss'] / 2**20:.1f} MiB", "",
             "< 100 MB", used["maxrss"] < 100 * MB),
            ("first scan Python allocations", f"{used['peak'] / 2**20:.1f} MiB", "",
             "(tracemalloc)", None),
        ]
        table = [("measure", "result", "relative", "budget", "ok")] + [
            (name, result, relative, budget, "" if ok is None else "yes" if ok else "NO")
            for name, result, relative, budget, ok in rows
        ]
        widths = [max(len(row[column]) for row in table) for column in range(5)]
        lines = [" | ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip()
                 for row in table]
        lines.insert(1, "-+-".join("-" * width for width in widths))
        print("\n".join(lines))
        failed = [row[0] for row in rows if row[4] is False]
        if failed:
            print(f"\nover budget: {', '.join(failed)}")
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"\nkept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
