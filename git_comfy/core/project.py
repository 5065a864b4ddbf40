"""The environment's ``.cec/pyproject.toml`` schema (seed, "Data Storage") and workflow names.

A workflow's name is its path under ComfyUI's ``user/default/workflows/`` without ``.json``, with
``/`` between folders. Names come from users and from cloned repositories alike, so every one is
checked before it becomes part of a path.
"""

from __future__ import annotations

from git_comfy.errors import FatalError

TYPE_CHECKING = False  # the hook path must not pay for importing typing
if TYPE_CHECKING:
    from typing import Any

SUFFIX = ".json"


def canonical_name(name: str) -> str:
    """``name`` as stored: ``/`` separators, no ``.json``; refuses names that leave the folder."""
    canonical = name.replace("\\", "/")
    canonical = canonical.removesuffix(SUFFIX)
    problem = None
    if not canonical:
        problem = "is empty"
    elif canonical.startswith("/") or canonical[1:2] == ":":
        problem = "is an absolute path"
    elif any(part in ("", ".", "..") for part in canonical.split("/")):
        problem = "has an empty, '.' or '..' folder"
    elif any(ord(char) < 32 or ord(char) == 127 for char in canonical):
        problem = "has control characters"
    if problem:
        raise FatalError(
            f"workflow name {name!r} {problem}; name a file inside ComfyUI's workflows folder, "
            "like portraits/flux-v2"
        )
    return canonical


def unknown_name(name: str, known: list[str], where: str) -> FatalError:
    """The error for a workflow name that is not among ``known``, with the closest ones."""
    import difflib

    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return FatalError(f"no workflow {name!r} {where}{hint}")


def workflows_table(document: dict[str, Any]) -> dict[str, Any]:
    """``[tool.comfydock.workflows]``, or an empty dict when the file has none."""
    table = document.get("tool", {}).get("comfydock", {}).get("workflows", {})
    return table if isinstance(table, dict) else {}


def is_tracked(entry: Any) -> bool:
    """An entry is tracked when it is a table with ``tracked = true`` (seed: ``{tracked = true}``);
    an untracked workflow may keep its table for what export recorded."""
    return isinstance(entry, dict) and entry.get("tracked") is True


def tracked_names(document: dict[str, Any]) -> list[str]:
    """The tracked workflow names of a parsed pyproject, sorted, each one checked."""
    names = [key for key, entry in workflows_table(document).items() if is_tracked(entry)]
    for key in names:
        if canonical_name(key) != key:
            raise FatalError(
                f"tracked workflow {key!r} in .cec/pyproject.toml is not a canonical name; "
                f"write it as {canonical_name(key)!r}"
            )
    return sorted(names)
