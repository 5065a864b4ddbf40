"""What the semantic diff costs against reading the two files: a table of medians, run by hand.

The largest workflow of the templates package (``…1_click_multiple_character_angles…``, 467 KB,
211 nodes once its 9 subgraphs are expanded) against an edited copy: seeds and a prompt changed
inside subgraphs, a node deleted and the rest of its subgraph renumbered, every top-level node
moved. Rows: parsing both files (``jsonsafe.loads`` + ``graph.parse``), the diff of the parsed
workflows (``diff.diff``: both views, the matching, the comparison), the text lines of the
result, and the text form of one file (what the textconv driver prints). Budget: the diff ≤ 5x
parsing both.

    python benchmarks/diff.py [--runs 31]
"""

from __future__ import annotations

import argparse
import copy
import importlib.resources
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from workflow_edits import LARGEST, delete_node, node_of, renumber

from git_comfy.core import diff, difftext, graph, jsonsafe, textform, view

PACKAGE = "comfyui_workflow_templates_json"


def _versions() -> tuple[bytes, bytes]:
    old = (importlib.resources.files(PACKAGE) / "templates" / LARGEST).read_bytes()
    document: dict[str, Any] = json.loads(old)
    new = copy.deepcopy(document)
    definitions = new["definitions"]["subgraphs"]
    for number, definition in enumerate(definitions[:3]):
        node_of(definition, "KSampler")["widgets_values"][0] = 1000 + number
    prompt = node_of(definitions[0], "TextEncodeQwenImageEditPlus")
    prompt["widgets_values"][0] = "a different prompt"
    victim = node_of(definitions[4], "CFGNorm")["id"]
    definitions[4] = renumber(delete_node(definitions[4], victim))
    for node in new["nodes"]:
        node["pos"] = [node["pos"][0] + 50, node["pos"][1]]
    return old, json.dumps(new, indent=2).encode()


def _median(work: Callable[[], Any], runs: int) -> float:
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    runs = parser.parse_args().runs
    old, new = _versions()
    parsed = graph.parse(jsonsafe.loads(old))
    print(f"{LARGEST}: {len(old) // 1024} KB, {len(parsed.nodes)} nodes expanded, "
          f"{len(parsed.definitions)} subgraph definitions; medians of {runs} runs\n")
    before, after = graph.parse(jsonsafe.loads(old)), graph.parse(jsonsafe.loads(new))
    result = diff.diff(before, after)
    parse_both = _median(lambda: (graph.parse(jsonsafe.loads(old)),
                                  graph.parse(jsonsafe.loads(new))), runs)
    semantic = _median(lambda: diff.diff(before, after), runs)
    with_layout = _median(lambda: diff.diff(before, after, layout=True), runs)
    lines = _median(lambda: difftext.lines(result, "title"), runs)
    text = _median(lambda: textform.render(view.build(before)), runs)
    rows = [("parse both files (jsonsafe + graph)", parse_both),
            ("diff.diff", semantic), ("diff.diff --layout", with_layout),
            ("difftext.lines of the result", lines),
            ("text form of one file (textconv, parse excluded)", text)]
    print("| step | median | x parse both |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1000:.1f} ms | {seconds / parse_both:.2f}x |")
    print(f"\nbudget: diff ≤ 5x parse both = {5 * parse_both * 1000:.1f} ms")
    print("\n".join(line for _style, line in difftext.lines(result, "the diff:")))


if __name__ == "__main__":
    main()
