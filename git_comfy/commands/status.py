"""``git comfy status``: how each tracked workflow in ComfyUI compares with the last commit."""

from __future__ import annotations

import json
import os
import sys

from git_comfy import comfyui, environment, history, snapshot
from git_comfy.core import jsonsafe, workflow

UNCHANGED = "unchanged"
MODIFIED = "modified"
MISSING = "missing"
UNCOMMITTED = "uncommitted"
INVALID = "invalid"
BEHIND = "behind"  # git moved the committed copy since ComfyUI last saved the workflow

_LABELS = {
    MODIFIED: "modified in ComfyUI",
    UNCOMMITTED: "not yet committed",
    MISSING: "missing in ComfyUI (its committed copy stays)",
    INVALID: "not valid JSON in ComfyUI",
    UNCHANGED: "unchanged",
    BEHIND: "older in ComfyUI than the committed copy (git changed it: git comfy restore NAME)",
}


def _state(env: environment.Environment, name: str, committed: dict[str, str],
           synced: dict[str, list[str]]) -> tuple[str, str]:
    """(state, detail) of one tracked workflow."""
    path = comfyui.workflow_path(env.comfyui, name)
    try:
        with open(path, "rb") as file:
            saved = file.read()
    except FileNotFoundError:
        return MISSING, ""
    except OSError as error:
        return INVALID, f"cannot read it: {error.strerror}"
    try:
        committable = workflow.snapshot_bytes(saved)
    except jsonsafe.JSONError as error:
        return INVALID, str(error)
    committed_id = committed.get(name)
    if committed_id is None:
        return UNCOMMITTED, ""
    committable_id = snapshot.blob_id(committable, len(committed_id))
    if committable_id == committed_id:
        return UNCHANGED, ""
    if snapshot.is_behind(name, committable_id, committed_id, synced):
        return BEHIND, ""
    return MODIFIED, ""


def run(*, as_json: bool) -> int:
    env = environment.discover()
    tracked = env.tracked()
    committed = history.blob_ids(env.root, "HEAD") if history.is_commit(env.root, "HEAD") else {}
    synced = snapshot.read_synced(env.git_dir)
    states = {name: _state(env, name, committed, synced) for name in tracked}
    present = comfyui.list_workflows(env.comfyui) if os.path.isdir(env.comfyui) else []
    untracked = sorted(set(present) - set(tracked))
    if as_json:
        report = {
            "comfyui": env.comfyui,
            "workflows": [
                {"name": name, "state": state, "detail": detail or None,
                 "path": comfyui.workflow_path(env.comfyui, name)}
                for name, (state, detail) in states.items()
            ],
            "untracked": untracked,
        }
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    lines = [f"ComfyUI: {env.comfyui}"]
    if not os.path.isdir(comfyui.workflows_dir(env.comfyui)):
        lines.append(f"  (no workflows folder at {comfyui.workflows_dir(env.comfyui)})")
    if tracked:
        lines.append("Tracked workflows:")
        width = max(len(name) for name in tracked)
        for name, (state, detail) in states.items():
            label = _LABELS[state].replace("NAME", name) + (f": {detail}" if detail else "")
            lines.append(f"  {name:<{width}}  {label}")
    else:
        lines.append('No tracked workflows (use "git comfy track <name>").')
    if untracked:
        lines.append('Untracked workflows in ComfyUI (use "git comfy track <name>"):')
        lines.extend(f"  {name}" for name in untracked)
    print("\n".join(lines))
    return 0
