"""What the pure analysis costs against plain ``json.loads``: a table, run by hand.

Over the 644 workflows of the ``comfyui-workflow-templates-json`` package (a test extra), held in
memory so the disk is not measured: total time of plain ``json.loads``, of the strict
``jsonsafe.loads``, and of the whole analysis (``jsonsafe.loads`` + ``graph.parse`` +
``models.references``), the same files in the same run, the three interleaved run by run. Also
the largest file alone. Budget: the whole analysis ≤ 3x ``json.loads``.

    python benchmarks/analyze.py [--runs 15]
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from git_comfy.core import graph, jsonsafe, models

PACKAGE = "comfyui_workflow_templates_json"


def _templates() -> list[bytes]:
    folder = importlib.resources.files(PACKAGE) / "templates"
    return [item.read_bytes() for item in sorted(folder.iterdir(), key=lambda item: item.name)
            if item.name.endswith(".json") and not item.name.startswith(("index", "fuse_"))]


def _analyse(data: bytes) -> Any:
    return models.references(graph.parse(jsonsafe.loads(data)))


STEPS: list[tuple[str, Callable[[bytes], Any]]] = [
    ("json.loads", json.loads),
    ("jsonsafe.loads", jsonsafe.loads),
    ("jsonsafe + parse + references", _analyse),
]


def _measure(files: list[bytes], runs: int) -> list[list[float]]:
    """Seconds per run for each step over all ``files``; steps interleaved within a run."""
    times: list[list[float]] = [[] for _ in STEPS]
    for _ in range(runs):
        for column, (_name, step) in enumerate(STEPS):
            start = time.perf_counter()
            for data in files:
                step(data)
            times[column].append(time.perf_counter() - start)
    return times


def _table(title: str, files: list[bytes], runs: int) -> None:
    times = _measure(files, runs)
    base = statistics.median(times[0])
    size = sum(map(len, files))
    print(f"\n{title}: {len(files)} files, {size / 1e6:.1f} MB, median of {runs} runs")
    print(f"| {'step':<30} | {'median ms':>9} | {'best ms':>7} | {'x json.loads':>12} |")
    print(f"|{'-' * 32}|{'-' * 10}:|{'-' * 8}:|{'-' * 13}:|")
    for (name, _step), column in zip(STEPS, times, strict=True):
        median = statistics.median(column)
        print(f"| {name:<30} | {median * 1000:9.1f} | {min(column) * 1000:7.1f} | "
              f"{median / base:12.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    files = _templates()
    for data in files:  # every file must pass, or the timing means nothing
        _analyse(data)
    _table("All templates", files, runs)
    largest = max(files, key=len)
    _table("The largest template", [largest], runs * 10)


if __name__ == "__main__":
    main()
