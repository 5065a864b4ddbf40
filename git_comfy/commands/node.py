"""``git comfy node add --dev / list / remove``: the custom node packs of this environment's
ComfyUI, and the dev nodes (seed, Edge Case 2) recorded in ``.cec/pyproject.toml`` so that
export can bundle their source."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from git_comfy import customnodes, environment, ui
from git_comfy.core import devnodes, packs
from git_comfy.core.nodepacks import Pack
from git_comfy.errors import FatalError


def _stored_path(env: environment.Environment, absolute: str) -> str:
    """How a dev node's path is written: relative to the work tree (``/`` separators) when it
    lies inside it, so a clone elsewhere finds it; absolute otherwise."""
    relative = os.path.relpath(absolute, env.root)
    if relative == os.curdir or relative.startswith(os.pardir):
        return absolute
    return relative.replace(os.sep, "/")


def _nodes_of(document: Any) -> Any:
    """``[tool.comfydock.nodes]`` of a tomlkit document, created when missing."""
    import tomlkit

    tool = document.setdefault("tool", tomlkit.table(True))
    comfydock = tool.setdefault("comfydock", tomlkit.table(True))
    return comfydock.setdefault("nodes", tomlkit.table(True))


def add(*, path: str, dev: bool, name: str | None) -> int:
    if not dev:
        raise FatalError("git comfy node add records unpublished packs: pass --dev (published "
                         "packs are found in ComfyUI's custom_nodes/ by analyze)")
    env = environment.discover()
    absolute = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(absolute):
        if not os.path.isfile(os.path.join(absolute, "__init__.py")):
            raise FatalError(f"{path} has no __init__.py: ComfyUI would not load it as a "
                             "custom node pack")
    elif not (os.path.isfile(absolute) and absolute.endswith(".py")):
        raise FatalError(f"{path} is neither a folder nor a .py file; give the pack's folder")
    chosen = devnodes.check_name(name or os.path.basename(absolute).removesuffix(".py"))
    stored = _stored_path(env, absolute)
    document = environment.parse_pyproject(env.path(environment.PYPROJECT))
    existing = devnodes.nodes_table(document)
    recorded = devnodes.dev_nodes(document)
    if chosen in existing and recorded.get(chosen) != stored:
        where = recorded.get(chosen, "a pack that is not a dev node")
        raise FatalError(f"node {chosen!r} is already recorded ({where}); remove it with "
                         f"git comfy node remove {chosen}, or choose another --name")
    for other, other_path in recorded.items():
        if other != chosen and other_path == stored:
            raise FatalError(f"{stored} is already recorded as dev node {other!r}")

    def record(doc: Any) -> None:
        import tomlkit

        table = _nodes_of(doc)
        if chosen not in table:
            entry = tomlkit.table()
            entry["source"] = devnodes.DEV
            entry["path"] = stored
            table[chosen] = entry

    environment.edit_pyproject(env, record)
    return 0


def remove(*, name: str) -> int:
    env = environment.discover()
    recorded = devnodes.dev_nodes(
        environment.parse_pyproject(env.path(environment.PYPROJECT)))
    if name not in recorded:
        import difflib

        close = difflib.get_close_matches(name, list(recorded), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else (
            "" if recorded else "; there are none")
        raise FatalError(f"no dev node {name!r} in {environment.PYPROJECT}{hint}")

    def forget(doc: Any) -> None:
        table = _nodes_of(doc)
        del table[name]
        if not table:
            del doc["tool"]["comfydock"]["nodes"]

    environment.edit_pyproject(env, forget)
    return 0


def _pack_json(pack: Pack) -> dict[str, Any]:
    identity = pack.identity
    return {
        "name": pack.name, "path": pack.path, "package": identity.package,
        "registry_id": identity.registry_id, "version": identity.version,
        "source": identity.source, "repository": identity.repository,
        "disabled": pack.disabled, "dev": pack.dev, "node_types": sorted(pack.types),
        "complete": pack.complete, "notes": list(identity.notes),
        "problems": list(pack.problems),
    }


def list_(*, as_json: bool) -> int:
    from git_comfy import nodeanalysis

    env = environment.discover()
    if not os.path.isdir(env.comfyui):
        raise FatalError(f"no ComfyUI folder at {env.comfyui}; fix it with "
                         "git comfy init --comfyui PATH")
    survey = customnodes.survey(env.comfyui, nodeanalysis.dev_paths(env))
    if as_json:
        json.dump({"comfyui": env.comfyui, "builtin_types": survey.builtin_source,
                   "packs": [_pack_json(p) for p in survey.packs]},
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    show = ui.printable
    for pack in survey.packs:
        identity = pack.identity
        version = identity.version or "no version"
        version = version[:12] if packs.is_commit(version) else version
        flags = [identity.source] + (["disabled"] if pack.disabled else [])
        count = f"{len(pack.types)}{'' if pack.complete else '+'} node types"
        label = f"{pack.name}" + ("" if identity.package == pack.name
                                  else f"  {identity.package}")
        print(f"{show(label)}  {show(version)} ({', '.join(flags)})  {count}")
        for line in (*identity.notes, *pack.problems):
            print(f"    {show(line)}")
    if not survey.packs:
        print(f"no custom node packs in {show(env.comfyui)}/custom_nodes and no dev nodes")
    return 0
