"""``git comfy import BUNDLE``: from a stranger's bundle to a workflow whose models are all in
place (seed, "Import Command", "Import Substitution").

Read and verified (:mod:`git_comfy.importplan`), planned, shown; then, once the user agrees
(a prompt on a terminal, ``--yes`` elsewhere), the models are brought (:mod:`git_comfy.modelplace`),
the workflow's model names rewritten to where they are here, the workflow written into ComfyUI,
tracked, and its requirements recorded. Running it again finishes an interrupted import and
otherwise changes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from git_comfy import (
    atomic,
    comfyui,
    environment,
    importnodes,
    importplan,
    modelplace,
    signing,
    ui,
)
from git_comfy.core import models
from git_comfy.errors import FatalError
from git_comfy.index import ModelIndex

RELOAD = "Reload ComfyUI in the browser to see it (an open tab keeps its own copy)."


def _placement_json(p: modelplace.Placement) -> dict[str, Any]:
    return {"name": p.model.name, "folder": p.model.folder, "sha256": p.model.sha256,
            "size": p.model.size, "required": p.model.required, "action": p.action,
            "found": p.path, "target": p.target, "as": p.name, "url": p.url, "note": p.note}


def as_json(plan: importplan.Plan) -> dict[str, Any]:
    manifest, verdict = plan.manifest, plan.signature
    return {
        "bundle": plan.bundle_path,
        "workflow": {"name": plan.name, "file": plan.target, "state": plan.destination},
        "created": manifest.created,
        "made_with": {"git_comfy": manifest.tool_version, "comfyui": manifest.comfyui_version},
        "signature": None if verdict is None else {
            "status": verdict.status, "signer": verdict.signer, "key": verdict.key,
            "detail": verdict.detail},
        "custom_nodes": [
            {"package": n.node.package, "version": n.node.version, "source": n.node.source,
             "repository": n.node.repository, "state": n.state,
             "installed_version": n.installed_version, "installed_path": n.installed_path,
             "pip": [{"line": v.line, "verdict": v.verdict, "reason": v.reason}
                     for v in n.pip]}
            for n in plan.nodes
        ],
        "models": [_placement_json(p) for p in plan.placements],
        "skipped_models": [s.name for s in manifest.skipped],
        **importnodes.as_json(plan),
    }


def _short(version: str | None) -> str:
    return "" if version is None else version[:12]


def print_plan(report: dict[str, Any]) -> None:
    show = ui.printable
    workflow = report["workflow"]
    signature = report["signature"]
    print(f"import {show(workflow['name'])} from {show(report['bundle'])} "
          f"(made {report['created']} with git-comfy {show(report['made_with']['git_comfy'])})")
    print(f"  checksums OK; {signing.describe(signature)}")
    print(f"  custom nodes ({len(report['custom_nodes'])}):")
    for node in report["custom_nodes"]:
        state = node["state"]
        detail = {"installed": "installed here",
                  "other-version": f"installed here at {_short(node['installed_version'])}",
                  "missing": "not installed here: install it",
                  "dev": "source in the bundle, not installed here"}[state]
        where = f" {show(node['repository'])}" if node["repository"] else ""
        print(f"    {state:<13} {show(node['package'])} {_short(node['version'])}{where} "
              f"— {detail}")
    importnodes.print_plan(report)
    print(f"  models ({len(report['models'])}):")
    for model in report["models"]:
        folder = f"{model['folder']}/" if model["folder"] else ""
        size = ui.human_size(model["size"])
        action = model["action"]
        if action == modelplace.HERE:
            detail = f"here: {show(model['found'])}"
        elif action in (modelplace.LINK, modelplace.COPY):
            detail = f"{action} {show(model['found'])} → {show(model['target'])}"
        elif action == modelplace.DOWNLOAD:
            detail = f"download {size} from {show(_host(model['url']))} → {show(model['target'])}"
        else:
            detail = f"MISSING: {show(model['note'])}"
        optional = "" if model["required"] else " (optional)"
        print(f"    {action:<9} {folder}{show(model['name'])}{optional}\n              {detail}")
    for name in report["skipped_models"]:
        print(f"    skipped   {show(name)}: left out by the exporter, bring your own")
    state = {importplan.NEW: "new", importplan.SAME: "already there, the same",
             importplan.DIFFERS: "EXISTS and differs"}[workflow["state"]]
    print(f"  workflow → {show(workflow['file'])} ({state})")


def _host(url: str | None) -> str:
    return (url or "").split("://", 1)[-1].split("/", 1)[0]


def _refusals(plan: importplan.Plan, yes: bool, allow_missing: bool, force: bool) -> None:
    """What stops the import before anything changes, whatever the user would answer."""
    if plan.destination == importplan.DIFFERS and not force:
        raise FatalError(f"{plan.target} exists and differs from the bundle's workflow; pass "
                         "--force to replace it (a backup is kept) or --as NAME; nothing was "
                         "changed")
    missing = plan.missing_required()
    if missing and yes and not allow_missing:
        names = ", ".join(ui.printable(p.model.name) for p in missing)
        raise FatalError(f"{len(missing)} required model(s) are on no source and not on this "
                         f"machine ({names}); pass --allow-missing-models to import anyway; "
                         "nothing was changed")
    if not yes and not ui.interactive():
        raise FatalError("nothing was changed: pass --yes to import without a terminal (or "
                         "--dry-run to see the plan)")


def _ask(plan: importplan.Plan, allow_missing: bool) -> None:
    """The one question, on a terminal, after the plan was shown."""
    missing = plan.missing_required()
    warning = (f"{len(missing)} required model(s) will be missing; the workflow will not run "
               "until you add them. " if missing and not allow_missing else "")
    answer = ui.ask(f"{warning}Import? [y/N] ")
    if (answer or "").strip().lower() not in ("y", "yes"):
        raise FatalError("nothing was changed")


def _write_workflow(plan: importplan.Plan) -> None:
    from git_comfy.commands import restore

    if plan.destination == importplan.SAME:
        return
    os.makedirs(os.path.dirname(plan.target), exist_ok=True)
    if plan.destination == importplan.DIFFERS:  # only with --force
        saved = atomic.read(plan.target)
        if saved is not None:
            kept = restore.backup(comfyui.workflows_dir(plan.env.comfyui), plan.name, saved)
            sys.stderr.write(f"git comfy: the old {plan.name} is kept as {kept}\n")
    atomic.write(plan.target, plan.workflow)


def _finish(plan: importplan.Plan, done: list[modelplace.Placement]) -> None:
    """The workflow written (its model names are the ones the plan gave, which bringing the
    models keeps), tracked, and its requirements recorded."""
    _write_workflow(plan)
    by_sha = {p.model.sha256: p for p in done}
    environment.record_requirements(
        plan.env, plan.name, plan.manifest.created, (n.package for n in plan.manifest.nodes),
        ((m.sha256, models.normalise(by_sha[m.sha256].name or m.relpath).rsplit("/", 1)[-1],
          m.size, m.sources[0] if m.sources else None)
         for m in plan.manifest.models if m.sha256 in by_sha))


def _summary(plan: importplan.Plan, done: list[modelplace.Placement],
             installed: importnodes.Done, problems: list[str]) -> list[str]:
    lines = [f"imported {plan.name} → {plan.target}"]
    lines += [f"  {line}" for line in installed.lines]
    counts = {action: sum(1 for p in done if p.action == action)
              for action in (modelplace.HERE, modelplace.LINK, modelplace.COPY,
                             modelplace.DOWNLOAD, modelplace.MISSING)}
    lines.append("  models: " + ", ".join(f"{n} {a}" for a, n in counts.items() if n))
    lines += [f"  NOT READY: {ui.printable(problem)}" for problem in problems]
    for placement in plan.missing_required():
        lines.append(f"  to do: put {ui.printable(placement.model.filename)} "
                     f"(sha256 {placement.model.sha256[:12]}…) into "
                     f"models/{placement.model.folder or '?'}/")
    lines.append(f"  {RELOAD}")
    return lines


def run(*, path: str, dry_run: bool, yes: bool, as_name: str | None, force: bool,
        require_signed: bool, allow_missing: bool, as_json_output: bool,
        choices: importnodes.Choices) -> int:
    with importplan.private_copy(path) as copy:
        plan = importplan.make(path, copy, as_name=as_name, require_signed=require_signed)
        report = as_json(plan)
        if dry_run:
            _show(report, as_json_output)
            return 0
        _refusals(plan, yes, allow_missing, force)
        importnodes.refusals(plan, yes, choices)
        if not as_json_output:
            print_plan(report)
            sys.stdout.flush()
        if not yes:
            importnodes.ask(plan, choices)
            _ask(plan, allow_missing)
        installed = importnodes.run(plan, choices)
    with ModelIndex.open() as index:
        done = modelplace.bring(plan.placements, index, plan.env.comfyui)
    _finish(plan, done)
    problems = importnodes.check(plan)
    if as_json_output:
        report["models"] = [_placement_json(p) for p in done]
        report["imported"] = True
        report["installed"] = installed.lines
        report["not_ready"] = problems
        _show(report, True)
    else:
        print("\n".join(_summary(plan, done, installed, problems)))
    if problems:
        raise FatalError(f"{len(problems)} node type(s) are not provided as the workflow needs "
                         "(listed above); the workflow will not load until they are")
    return 0


def _show(report: dict[str, Any], as_json_output: bool) -> None:
    if as_json_output:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_plan(report)
