"""``git comfy analyze <name|file>``: every model a workflow uses, where it is on this machine,
and what is ambiguous or missing — the export-time analysis, without a bundle; and every custom
node package it needs (:mod:`git_comfy.nodeanalysis`).

Missing and ambiguous models are results, not errors: the exit code is 0 whenever the workflow
could be read. On a terminal (and without --json) each open question is asked (seed, Edge
Cases 1 and 3); elsewhere nothing is asked.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from git_comfy import atomic, comfyui, environment, modelsearch, ui
from git_comfy.core import graph, jsonsafe, models, project, resolve
from git_comfy.errors import FatalError
from git_comfy.index import ModelIndex


def _locate(target: str) -> tuple[str, str, environment.Environment | None]:
    """(label, path, environment) for a workflow name in this environment's ComfyUI or a file."""
    if os.path.isfile(target):
        try:
            env = environment.discover()
        except FatalError:
            env = None
        return target, target, env
    env = environment.discover()
    name = project.canonical_name(target)
    return name, comfyui.find_workflow(env.comfyui, name), env


def _read(path: str) -> graph.Workflow:
    data = atomic.read(path, jsonsafe.MAX_BYTES + 1)
    if data is None:
        raise FatalError(f"cannot read {path}: it is gone")
    return graph.load(data, path)


def _report(label: str, workflow: graph.Workflow, results: list[resolve.Resolution]) -> dict[
        str, Any]:
    return {
        "workflow": label,
        "format": workflow.format,
        "models": [
            {
                "name": r.ref.name,
                "folder": r.ref.folder,
                "node_ids": list(r.ref.node_ids),
                "required": r.ref.required,
                "status": r.status,
                "how": r.how,
                "path": r.candidate.path if r.candidate else None,
                "candidates": [
                    {"path": c.path, "size": c.size, "folder": c.folder}
                    for c in r.candidates
                ] if r.status == resolve.AMBIGUOUS else [],
                "url": r.ref.url,
                "sha256": r.ref.sha256,
                "problem": r.ref.invalid,
            }
            for r in results
        ],
    }


def _print_text(report: dict[str, Any]) -> None:
    models_ = report["models"]
    print(f"{report['workflow']} ({report['format']} format): {len(models_)} model(s)")
    for model in models_:
        folder = f"{model['folder']}/" if model["folder"] else ""
        optional = "" if model["required"] else " (optional: its nodes are muted or bypassed)"
        status = model["status"]
        if status == resolve.RESOLVED:
            detail = f"→ {model['path']}"
        elif status == resolve.AMBIGUOUS:
            detail = f"{len(model['candidates'])} candidates: " + ", ".join(
                c["path"] for c in model["candidates"])
        elif status == resolve.INVALID:
            detail = f"not a usable name: {model['problem']}"
        else:
            detail = "not found on this machine" + (f"; source {model['url']}"
                                                    if model["url"] else "")
        nodes = ", ".join(model["node_ids"])
        print(f"  {status:<9} {folder}{model['name']}  [node {nodes}]{optional}\n"
              f"            {detail}")


def run(*, target: str, as_json: bool, server: str | None = None, offline: bool = False,
        ) -> int:
    from git_comfy import nodeanalysis

    label, path, env = _locate(target)
    workflow = _read(path)
    refs = models.references(workflow)
    with ModelIndex.open() as index:
        search = modelsearch.Search(index, env)
        results = [search.lookup(ref) for ref in refs]
        if not as_json and ui.interactive():
            results = [search.ask(r) if r.status in (resolve.AMBIGUOUS, resolve.MISSING) else r
                       for r in results]
    nodes = nodeanalysis.analyze(workflow, env, server=server, offline=offline,
                                 ask=not as_json and ui.interactive())
    nodeanalysis.print_notices(nodes)
    report = _report(label, workflow, results)
    if as_json:
        report.update(nodeanalysis.as_json(nodes))
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_text(report)
        nodeanalysis.print_text(nodes)
    return 0
