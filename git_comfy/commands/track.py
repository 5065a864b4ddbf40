"""``git comfy track`` / ``untrack``: register workflows in .cec/pyproject.toml, nothing else
(seed, "Track Command")."""

from __future__ import annotations

import os
from typing import Any

from git_comfy import comfyui, environment
from git_comfy.core import project
from git_comfy.errors import FatalError


def _available(env: environment.Environment) -> list[str]:
    if not os.path.isdir(env.comfyui):
        raise FatalError(
            f"no ComfyUI folder at {env.comfyui}; fix it with git comfy init --comfyui PATH"
        )
    return comfyui.list_workflows(env.comfyui)


def _pick(
    names: list[str], all_workflows: bool, candidates: list[str], what: str
) -> list[str]:
    """The canonical names asked for, each one checked against ``candidates``."""
    if all_workflows:
        return candidates
    if not names:
        raise FatalError(f"name the workflows to {what}, or use --all")
    picked = []
    for name in names:
        canonical = project.canonical_name(name)
        if canonical not in candidates:
            where = "in ComfyUI's workflows folder" if what == "track" else "among tracked ones"
            raise project.unknown_name(canonical, candidates, where)
        picked.append(canonical)
    return picked


def track(*, names: list[str], all_workflows: bool) -> int:
    env = environment.discover()
    wanted = _pick(names, all_workflows, _available(env), "track")

    def register(document: Any) -> None:
        import tomlkit

        table = environment.workflows_of(document)
        for name in wanted:
            entry = table.get(name)
            if isinstance(entry, dict):
                entry["tracked"] = True
            else:
                inline = tomlkit.inline_table()
                inline["tracked"] = True
                table[name] = inline

    environment.edit_pyproject(env, register)
    return 0


def untrack(*, names: list[str], all_workflows: bool) -> int:
    env = environment.discover()
    unwanted = _pick(names, all_workflows, env.tracked(), "untrack")

    def unregister(document: Any) -> None:
        table = environment.workflows_of(document)
        for name in unwanted:
            # keep what export recorded; drop an entry that only said {tracked = true}
            if set(table[name]) == {"tracked"}:
                del table[name]
            else:
                table[name]["tracked"] = False

    environment.edit_pyproject(env, unregister)
    return 0


def tracked_names() -> list[str]:
    """For completion: no error output, just nothing when there is no environment."""
    try:
        return environment.discover().tracked()
    except FatalError:
        return []


def untracked_names() -> list[str]:
    try:
        env = environment.discover()
        return sorted(set(comfyui.list_workflows(env.comfyui)) - set(env.tracked()))
    except FatalError:
        return []
