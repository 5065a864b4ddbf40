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

from git_comfy import atomic, comfyui, environment, modelroots, ui
from git_comfy.core import graph, jsonsafe, models, project, resolve
from git_comfy.errors import FatalError
from git_comfy.index import IndexedModel, ModelIndex


def _candidate(model: IndexedModel) -> resolve.Candidate:
    return resolve.Candidate(
        path=model.path, folder=model.folder, relpath=model.relpath, size=model.size,
        quick_hash=model.quick_hash, sha256=model.sha256,
    )


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


def _candidates(index: ModelIndex, ref: models.ModelRef) -> list[resolve.Candidate]:
    """Every indexed file that might be ``ref``: same file name (an embedding's name may leave
    out the extension) or the SHA-256 the workflow states."""
    name = resolve.basename(ref.normalised)
    found = index.by_filename(name)
    if ref.folder == "embeddings" and "." not in name:
        for extension in modelroots.MODEL_EXTENSIONS:
            found += index.by_filename(name + extension)
    if ref.sha256:
        found += index.by_sha256(ref.sha256)
    return [_candidate(model) for model in found]


def _ask(index: ModelIndex, result: resolve.Resolution,
         roots: list[modelroots.Root]) -> resolve.Resolution:
    """One open question on the terminal; returns the answer (or the question, skipped)."""
    ref = result.ref
    if result.status == resolve.AMBIGUOUS:
        picked = ui.pick(
            f'Multiple matches for "{ref.name}":',
            [f"{c.path} ({ui.human_size(c.size)})" for c in result.candidates],
        )
        return result if picked is None else resolve.choose(result, result.candidates[picked])
    where = f"{ref.folder}/{ref.normalised}" if ref.folder else ref.normalised
    answer = ui.pick(
        f"Model not found in index: {where}\nWould you like to:",
        ["Add a folder to the indexed directories", "Skip this model",
         "Choose a different model"],
        skip=False,
    )
    if answer == 0:
        folder = ui.ask("Folder to add: ")
        if folder:
            index.add_dir(os.path.abspath(os.path.expanduser(folder)))
            index.scan(modelroots.roots(None, index.added_dirs()) + roots)
            return resolve.resolve(ref, _candidates(index, ref))
    elif answer == 2:
        pool = [m for m in index.all() if not ref.folder or m.folder in (ref.folder, "")]
        picked = ui.pick(
            f"Models{' in ' + ref.folder if ref.folder else ''}:",
            [f"{m.path} ({ui.human_size(m.size)})" for m in pool],
        )
        if picked is not None:
            return resolve.choose(result, _candidate(pool[picked]))
    return result


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
        roots = modelroots.roots(env.comfyui if env else None, index.added_dirs())
        if env is not None:
            index.scan(roots)  # incremental: a file not changed since the last scan is not read
        results = [resolve.resolve(ref, _candidates(index, ref)) for ref in refs]
        if not as_json and ui.interactive():
            results = [
                _ask(index, r, roots) if r.status in (resolve.AMBIGUOUS, resolve.MISSING) else r
                for r in results
            ]
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
