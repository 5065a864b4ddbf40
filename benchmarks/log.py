"""What ``git comfy log`` costs against ``git log`` itself: a table of medians, run by hand.

A repository of 2,000 commits built with ``git fast-import`` (notes/git.md §2: 20 workflows of
~40 KB under ``.cec/workflows/``; ``w07`` changed by 200 commits, the others by the rest), before
and after ``git gc`` (which writes the commit-graph). Rows: ``git log -- <path>`` (git's default
output), ``python -c pass`` with the same interpreter, then ``git comfy log w07`` (through git,
as a user types it), ``git-comfy log w07`` and ``--json``. Budget: ``git comfy log`` ≤ 1.5x
(``git log`` + ``python -c pass``).

    python benchmarks/log.py [--runs 21]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from git_comfy.commands import demo

SAMPLE = Path(demo.DATA) / "workflows" / "lighthouse.json"
COMMITS = 2000
WORKFLOWS = 20
PATH = ".cec/workflows/w07.json"


def _workflow(seed: int) -> bytes:
    """A ~40 KB UI-format workflow: the sample's nodes eight times, the sampler seeded."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    nodes = []
    for copy in range(8):
        for node in json.loads(json.dumps(sample["nodes"])):
            node["id"] += copy * 100
            if node["type"] == "KSampler":
                node["widgets_values"][0] = seed + copy
            nodes.append(node)
    return json.dumps({**sample, "nodes": nodes}, indent=2).encode()


def build(repo: Path) -> None:
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    stream = bytearray()

    def blob(path: str, data: bytes) -> None:
        stream.extend(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    for number in range(COMMITS):
        message = f"commit {number}".encode()
        stream.extend(b"commit refs/heads/main\n")
        stream.extend(f"committer Bench <bench@example.invalid> {1_700_000_000 + number * 60} "
                      f"+0000\n".encode())
        stream.extend(f"data {len(message)}\n".encode() + message + b"\n")
        if number == 0:
            blob(".cec/pyproject.toml", b'[tool.comfydock.workflows]\n"w07" = {tracked = true}\n')
            for index in range(WORKFLOWS):
                blob(f".cec/workflows/w{index:02}.json", _workflow(index))
        else:
            blob(f".cec/workflows/w{number % 10:02}.json", _workflow(number))
        stream.extend(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=bytes(stream),
                   check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)


def _medians(commands: dict[str, list[str]], cwd: Path, runs: int,
             env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each command, run round-robin so that a slower moment of the machine
    weighs on all of them alike."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for round_ in range(runs + 1):
        for label, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)
            if round_:  # the first round warms up (and writes the byte-compiled modules)
                times[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    print(subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="git-comfy-bench-") as base:
        repo = Path(base) / "repo"
        build(repo)
        # as installed: with byte-compiled modules (pip compiles them; here into the temp dir)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(base) / "pycache")
        hits = subprocess.run(["git", "log", "--format=%h", "--", PATH], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.count("\n")
        print(f"{COMMITS} commits, {hits} of them change {PATH}; medians of {runs} runs\n")
        print("| repository | git log -- path | python -c pass | git comfy log | "
              "git-comfy log | --json | budget 1.5x | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for label in ("fast-import pack", "after git gc"):
            if label == "after git gc":
                subprocess.run(["git", "gc", "-q"], cwd=repo, check=True)
            found = _medians({
                "git log": ["git", "log", "--", PATH],
                "python": [sys.executable, "-c", "pass"],
                "git comfy log": ["git", "comfy", "log", "w07"],
                "git-comfy log": ["git-comfy", "log", "w07"],
                "--json": ["git-comfy", "log", "w07", "--json"],
            }, repo, runs, env)
            reference = found["git log"] + found["python"]
            cells = " | ".join(f"{found[key] * 1000:.1f} ms" for key in found)
            print(f"| {label} | {cells} | {1.5 * reference * 1000:.1f} ms | "
                  f"{found['git comfy log'] / reference:.2f}x |")


if __name__ == "__main__":
    main()
