"""A ComfyUI folder on disk: is it one, and which workflows does it hold."""

from __future__ import annotations

import os

from git_comfy.core.project import SUFFIX, unknown_name
from git_comfy.errors import FatalError

WORKFLOWS = os.path.join("user", "default", "workflows")


def workflows_dir(comfyui: str) -> str:
    return os.path.join(comfyui, WORKFLOWS)


def workflow_path(comfyui: str, name: str) -> str:
    return os.path.join(workflows_dir(comfyui), *name.split("/")) + SUFFIX


def version(comfyui: str) -> str | None:
    """ComfyUI's version as its ``comfyui_version.py`` states it (ComfyUI ≥ 0.3), or None."""
    import re

    from git_comfy import atomic

    try:
        source = atomic.read(os.path.join(comfyui, "comfyui_version.py"), 64 * 1024)
    except FatalError:
        return None
    match = re.search(rb"""^__version__\s*=\s*["']([0-9A-Za-z.+-]{1,64})["']""", source or b"",
                      re.MULTILINE)
    return match.group(1).decode() if match else None


def check(comfyui: str) -> None:
    """Raises unless ``comfyui`` looks like a ComfyUI install: a source checkout (``main.py`` and
    ``comfy/``) or a desktop/portable base folder (``models/`` beside ``user/`` or
    ``custom_nodes/``)."""
    if not os.path.isdir(comfyui):
        raise FatalError(f"no ComfyUI folder at {comfyui}; pass the right one with --comfyui PATH")

    def has(*parts: str) -> bool:
        return os.path.exists(os.path.join(comfyui, *parts))

    source = has("main.py") and has("comfy")
    base = has("models") and (has("user") or has("custom_nodes"))
    if not (source or base):
        raise FatalError(
            f"{comfyui} does not look like ComfyUI (no main.py, models/ or custom_nodes/); "
            "pass the folder ComfyUI runs from with --comfyui PATH"
        )


def find_workflow(comfyui: str, name: str) -> str:
    """The file of workflow ``name`` (canonical), or an error naming the closest ones."""
    path = workflow_path(comfyui, name)
    if os.path.isfile(path):
        return path
    raise unknown_name(name, list_workflows(comfyui), "in ComfyUI's workflows folder")


def list_workflows(comfyui: str) -> list[str]:
    """Every workflow name under the workflows folder, sorted. Hidden files and folders and
    anything not ending in ``.json`` are skipped: that covers ComfyUI's ``tmpXXXXXXXX`` save
    files and our own ``.name.json.PID.tmp`` ones."""
    root = workflows_dir(comfyui)
    names: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        names.extend(
            prefix + file.removesuffix(SUFFIX)
            for file in files
            if file.endswith(SUFFIX) and not file.startswith(".")
            and os.path.isfile(os.path.join(folder, file))
        )
    return sorted(names)
