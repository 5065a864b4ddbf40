"""What custom-node analysis costs: a table, run by hand.

1. The static scan of 100 generated custom node packs of realistic size (each a git clone of
   four modules, ~2,000 lines, NODE_CLASS_MAPPINGS of ~20 classes merged from sibling modules):
   ``customnodes.survey`` — AST of every module the mappings reach, plus git's view of each
   pack — with no cache (first run), and again with the scan cache.
2. The resolution of a 200-node workflow against a node map shaped like ComfyUI-Manager's
   (3,000 packs, ~27,000 type names, shared names, patterns, preemptions) found in the user's
   own ComfyUI-Manager: building the index once, then per run loading it, looking the types up
   and resolving (parse + ``nodepacks.Resolver`` + ``nodemap.load`` + lookup), in this process
   and in a fresh one (imports included). Budget: ≤ 150 ms including loading the cache.

    python benchmarks/nodes.py [--runs 15] [--map extension-node-map.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from git_comfy import customnodes, nodemap, webcache  # noqa: E402
from git_comfy.core import coretypes, graph, nodepacks  # noqa: E402

PACKS = 100
CLASSES = 20
MAP_PACKS = 3000
WORKFLOW_NODES = 200
BUDGET_MS = 150.0


def _node_class(name: str, lines: int) -> str:
    body = "\n".join(f"        value_{n} = image * {n} + strength  # step {n}"
                     for n in range(lines))
    return f'''
class {name}:
    """A generated node."""

    @classmethod
    def INPUT_TYPES(cls):
        return {{"required": {{"image": ("IMAGE",), "strength": ("FLOAT", {{"default": 1.0,
                "min": 0.0, "max": 10.0, "step": 0.01}}), "mode": (["a", "b", "c"],)}}}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    CATEGORY = "generated"

    def run(self, image, strength, mode):
{body}
        return (image,)
'''


def make_packs(folder: Path) -> None:
    """100 packs, each: __init__.py merging the mappings of nodes_a.py and nodes_b.py, and a
    utils.py; ~2,000 lines in all; a git clone with a remote."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    for p in range(PACKS):
        pack = folder / f"ComfyUI-Pack{p:03d}"
        pack.mkdir(parents=True)
        (pack / "__init__.py").write_text(
            "from .nodes_a import NODE_CLASS_MAPPINGS as A\n"
            "from .nodes_b import NODE_CLASS_MAPPINGS as B\n"
            "NODE_CLASS_MAPPINGS = {**A, **B}\n"
            "NODE_DISPLAY_NAME_MAPPINGS = {k: k for k in NODE_CLASS_MAPPINGS}\n"
            'WEB_DIRECTORY = "./js"\n')
        for part in ("a", "b"):
            names = [f"P{p:03d}{part.upper()}Node{n:02d}" for n in range(CLASSES // 2)]
            code = "import torch\nfrom .utils import helper\n" + "".join(
                _node_class(name, 70) for name in names)
            code += "\nNODE_CLASS_MAPPINGS = {" + ", ".join(f'"{n}": {n}' for n in names) + "}\n"
            (pack / f"nodes_{part}.py").write_text(code)
        (pack / "utils.py").write_text("".join(
            f"def helper_{n}(x):\n    return x * {n}\n\n" for n in range(60)) + "helper = 1\n")
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "pack"],
                     ["remote", "add", "origin", f"https://github.com/o/ComfyUI-Pack{p:03d}"]):
            subprocess.run(["git", *args], cwd=pack, env=env, check=True)


def make_map(rng: random.Random) -> dict[str, Any]:
    """3,000 packs like the real map: ~9 names each, some names shared (the real map has 861
    names claimed by more than one pack), 33 patterns, 8 preemptions, ComfyUI's own entry."""
    document: dict[str, Any] = {
        "https://github.com/comfyanonymous/ComfyUI": [sorted(coretypes.BUILTIN_TYPES),
                                                      {"title_aux": "ComfyUI"}]}
    shared = [f"SharedNode{n}" for n in range(900)]
    for p in range(MAP_PACKS):
        names = [f"Map{p:04d}Node{n}" for n in range(rng.randint(3, 15))]
        names += rng.sample(shared, rng.randint(0, 2))
        meta: dict[str, Any] = {"title_aux": f"Pack {p}"}
        if p % 90 == 0:
            meta["nodename_pattern"] = f" \\(pack{p}\\)$"
        if p % 375 == 0:
            meta["preemptions"] = names[:2]
        document[f"https://github.com/owner{p % 700}/ComfyUI-Map{p:04d}"] = [names, meta]
    return document


def make_workflow(rng: random.Random, document: dict[str, Any]) -> dict[str, Any]:
    """200 nodes: built-ins with cnr_id comfy-core, nodes with their own cnr_id, and nodes of
    ~60 types only the node map can place (a few shared, a few by pattern, a few unknown)."""
    builtin = sorted(coretypes.BUILTIN_TYPES)
    mapped = [name for url, (names, _meta) in list(document.items())[1:]
              for name in names if not name.startswith("Shared")]
    types = rng.sample(mapped, 50) + [f"SharedNode{n}" for n in range(5)]
    types += ["Seed (pack90)", "NotInAnyMap1", "NotInAnyMap2"]
    nodes = []
    for n in range(WORKFLOW_NODES):
        if n % 4 == 0:
            node_type, props = rng.choice(builtin), {"cnr_id": "comfy-core", "ver": "0.3.64"}
        elif n % 4 == 1:
            node_type, props = f"Registered{n % 30}", {"cnr_id": f"comfyui-reg{n % 12}",
                                                       "ver": "1.2.3"}
        else:
            node_type, props = rng.choice(types), {}
        nodes.append({"id": n + 1, "type": node_type, "properties": props, "mode": 0})
    return {"nodes": nodes, "links": []}


def resolve_once(comfyui: str, workflow_bytes: bytes) -> list[nodepacks.Requirement]:
    workflow = graph.parse(json.loads(workflow_bytes))
    resolver = nodepacks.Resolver(workflow, coretypes.BUILTIN_TYPES, [])
    web = webcache.Web(offline=True)
    index = nodemap.load(comfyui, web, "http://127.0.0.1:9/unused.json")
    assert index is not None, web.notices
    found = index.lookup(resolver.pending())
    resolver.add_node_map(found.claims, found.core_types)
    index.db.close()
    return resolver.requirements()


FRESH = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
sys.argv = ["x"]
from benchmarks.nodes import resolve_once
resolve_once({comfyui!r}, open({workflow!r}, "rb").read())
print((time.perf_counter() - start) * 1000)
"""


def _row(name: str, samples: list[float], budget: float | None = None) -> None:
    median = statistics.median(samples)
    verdict = "" if budget is None else ("ok" if median <= budget else "OVER")
    print(f"| {name:<62} | {median:9.1f} | {min(samples):7.1f} | {verdict:>6} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--map", help="a real extension-node-map.json instead of a generated one")
    options = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        os.environ["XDG_CACHE_HOME"] = str(base / "cache")
        comfyui = base / "ComfyUI"
        make_packs(comfyui / "custom_nodes")
        lines = sum(len(f.read_text().splitlines()) for f in comfyui.rglob("*.py"))
        print(f"\n{PACKS} packs, {lines} lines of Python, median of {options.runs} runs (ms)")
        print(f"| {'step':<62} | {'median':>9} | {'best':>7} | {'budget':>6} |")
        print(f"|{'-' * 64}|{'-' * 10}:|{'-' * 8}:|{'-' * 7}:|")
        cold, warm, light = [], [], []
        for _ in range(max(3, options.runs // 3)):
            cache = Path(os.environ["XDG_CACHE_HOME"]) / "git-comfy" / customnodes.CACHE_NAME
            cache.unlink(missing_ok=True)
            start = time.perf_counter()
            survey = customnodes.survey(str(comfyui))
            cold.append((time.perf_counter() - start) * 1000)
        assert sum(len(p.types) for p in survey.packs) == PACKS * CLASSES
        for _ in range(options.runs):
            start = time.perf_counter()
            customnodes.survey(str(comfyui))
            warm.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            customnodes.survey(str(comfyui), status=False)
            light.append((time.perf_counter() - start) * 1000)
        _row("scan 100 packs, no cache: AST + git status of each", cold)
        _row("scan 100 packs, cached: stat + git status of each (node list)", warm)
        _row("scan 100 packs, cached: stat + remotes only (analyze)", light)

        document = (json.loads(Path(options.map).read_text()) if options.map
                    else make_map(rng))
        manager = comfyui / "custom_nodes" / "ComfyUI-Manager"
        manager.mkdir()
        map_path = manager / nodemap.FILE_NAME
        map_path.write_text(json.dumps(document))
        workflow_path = base / "workflow.json"
        workflow_path.write_bytes(json.dumps(make_workflow(rng, document)).encode())
        data = workflow_path.read_bytes()
        names = sum(len(entry[0]) for entry in document.values())
        print(f"\nnode map: {len(document)} packs, {names} type names, "
              f"{map_path.stat().st_size / 1e6:.1f} MB; workflow: {WORKFLOW_NODES} nodes")
        print(f"| {'step':<62} | {'median':>9} | {'best':>7} | {'budget':>6} |")
        print(f"|{'-' * 64}|{'-' * 10}:|{'-' * 8}:|{'-' * 7}:|")
        start = time.perf_counter()
        requirements = resolve_once(str(comfyui), data)
        build = (time.perf_counter() - start) * 1000
        _row(f"first run: parse the {map_path.stat().st_size / 1e6:.1f} MB map, build its index",
             [build])
        runs = []
        for _ in range(options.runs):
            start = time.perf_counter()
            resolve_once(str(comfyui), data)
            runs.append((time.perf_counter() - start) * 1000)
        _row("resolve 200 nodes: load index + lookup + resolve", runs, BUDGET_MS)
        fresh = []
        for _ in range(max(3, options.runs // 3)):
            code = FRESH.format(root=str(ROOT), comfyui=str(comfyui),
                                workflow=str(workflow_path))
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, env=os.environ)
            fresh.append(float(done.stdout.strip().splitlines()[-1]))
        _row("the same in a fresh process, imports included", fresh, BUDGET_MS)
        counts: dict[str, int] = {}
        for requirement in requirements:
            counts[requirement.status] = counts.get(requirement.status, 0) + 1
        print(f"\nresult: {len(requirements)} items " + ", ".join(
            f"{count} {status}" for status, count in sorted(counts.items())))


if __name__ == "__main__":
    main()
