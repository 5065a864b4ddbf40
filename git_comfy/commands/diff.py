"""``git comfy diff [REV [REV]] [--] [NAME...]``: the semantic diff of tracked workflows, like
``git diff``: no revision compares the last commit (HEAD) with ComfyUI now, one revision that
commit with ComfyUI now, two revisions the two commits. Without names, every workflow that
differs: the tracked ones against ComfyUI, or those the two commits hold.

Arguments before ``--`` are revisions while they name commits (two at most), then names; an
argument that is both a commit and a tracked workflow is refused as ambiguous, as git does.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from git_comfy import environment, history, snapshot, ui
from git_comfy.core import diff, difftext, graph, project
from git_comfy.errors import FatalError

COMFYUI = "ComfyUI"
_COLOURS = {difftext.HEADER: "\033[1m", difftext.ADD: "\033[32m", difftext.REMOVE: "\033[31m",
            difftext.CHANGE: "\033[33m"}
_RESET = "\033[m"


@dataclass(frozen=True, slots=True)
class Side:
    label: str  # what the user called it: "HEAD", "v2", "ComfyUI"
    commit: str | None  # None: ComfyUI's folder now


def _split(env: environment.Environment, arguments: list[str]) -> tuple[list[str], list[str]]:
    """(revisions, names) from the command line, as git diff reads ``[REV [REV]] [--] [PATH]``."""
    if "--" in arguments:
        cut = arguments.index("--")
        before, names = arguments[:cut], arguments[cut + 1:]
        if len(before) > 2:
            raise FatalError("at most two revisions may come before --")
        for argument in before:
            history.resolve(env.root, argument)  # one clear line for a bad one
        return before, names
    revisions: list[str] = []
    tracked: set[str] | None = None
    for position, argument in enumerate(arguments):
        if len(revisions) == 2 or not history.is_commit(env.root, argument):
            return revisions, arguments[position:]
        if tracked is None:
            tracked = set(env.tracked())
        if argument in tracked:
            raise FatalError(f"{argument!r} is both a revision and a tracked workflow; put -- "
                             f"before workflow names (git comfy diff -- {argument})")
        revisions.append(argument)
    return revisions, []


def _sides(revisions: list[str], env: environment.Environment) -> tuple[Side, Side]:
    if len(revisions) == 2:
        return (Side(revisions[0], history.resolve(env.root, revisions[0])),
                Side(revisions[1], history.resolve(env.root, revisions[1])))
    label = revisions[0] if revisions else "HEAD"
    return Side(label, history.resolve(env.root, label)), Side(COMFYUI, None)


def _read(env: environment.Environment, side: Side, name: str) -> bytes | None:
    if side.commit is None:
        return history.read_comfyui(env, name)
    return history.read_at(env.root, side.commit, environment.snapshot_relpath(name))


def _default_names(env: environment.Environment, old: Side, new: Side) -> list[str]:
    if new.commit is not None and old.commit is not None:
        return history.changed_names(env.root, old.commit, new.commit)
    committed = history.blob_ids(env.root, old.commit) if old.commit else {}
    length = len(next(iter(committed.values()), "0" * 40))
    differing = []
    for name in env.tracked():
        now = history.read_comfyui(env, name)
        blob = snapshot.blob_id(now, length) if now is not None else None
        if blob != committed.get(name):
            differing.append(name)
    return differing


def _one(env: environment.Environment, old: Side, new: Side, name: str, *,
         layout: bool, explicit: bool) -> dict[str, Any] | None:
    """The diff of one workflow as {name, status, diff}, or None when nothing differs."""
    before, after = _read(env, old, name), _read(env, new, name)
    if before is None and after is None:
        if explicit:
            where = f"at {old.label} or {new.label}" if new.commit else f"at {old.label} " \
                                                                       "or in ComfyUI"
            raise FatalError(f"no workflow {name!r} {where}")
        return None
    if before == after:
        return None
    if before is None or after is None:
        present = after if before is None else before
        assert present is not None
        side = new if before is None else old
        nodes = len(graph.load(present, _where(side, name)).nodes)
        status = "added" if before is None else ("missing" if new.commit is None else "deleted")
        return {"name": name, "status": status, "nodes": nodes}
    old_workflow = graph.load(before, _where(old, name))
    new_workflow = graph.load(after, _where(new, name))
    try:
        result = diff.diff(old_workflow, new_workflow, layout=layout)
    except diff.FormatMismatch:
        raise FatalError(
            f"workflow {name}: {old.label} has the {old_workflow.format.upper()} format and "
            f"{new.label} the {new_workflow.format.upper()} format; a semantic diff needs one "
            "format on both sides") from None
    if result.empty():
        return None
    return {"name": name, "status": "modified", "result": result}


def _where(side: Side, name: str) -> str:
    if side.commit is None:
        return f"workflow {name} in ComfyUI"
    return f"the committed copy of {name} at {side.label}"


def _colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def run(*, arguments: list[str], as_json: bool, layout: bool) -> int:
    env = environment.discover()
    revisions, names = _split(env, arguments)
    old, new = _sides(revisions, env)
    explicit = bool(names)
    names = [project.canonical_name(name) for name in names] or _default_names(env, old, new)
    found = [entry for name in names
             if (entry := _one(env, old, new, name, layout=layout, explicit=explicit))]
    if as_json:
        report = []
        for entry in found:
            item = {"name": entry["name"], "before": old.label, "after": new.label,
                    "status": entry["status"]}
            if "result" in entry:
                item["diff"] = difftext.as_json(entry["result"])
            else:
                item["nodes"] = entry["nodes"]
            report.append(item)
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    lines: list[difftext.Line] = []
    for entry in found:
        title = f"workflow {entry['name']}: {old.label} → {new.label}"
        if "result" in entry:
            lines += difftext.lines(entry["result"], title)
        else:
            nodes = entry["nodes"]
            what = {"added": f"new in {new.label} ({nodes} nodes)",
                    "deleted": f"deleted in {new.label} (it had {nodes} nodes)",
                    "missing": f"missing in ComfyUI; its committed copy ({nodes} nodes) stays",
                    }[entry["status"]]
            style = difftext.ADD if entry["status"] == "added" else difftext.REMOVE
            lines += [(difftext.HEADER, title), (style, what)]
    colour = _colour()
    for style, text in lines:
        code = _COLOURS.get(style) if colour else None
        text = ui.printable(text)  # node types and titles are strangers' text
        print(f"{code}{text}{_RESET}" if code else text)
    return 0
