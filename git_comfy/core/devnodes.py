"""Development nodes (seed, Edge Case 2): unpublished packs recorded in ``.cec/pyproject.toml``
so that export can bundle their source::

    [tool.comfydock.nodes.my-node]
    source = "dev"
    path = "nodes/my-node"        # relative to the work tree, or absolute

The name becomes a folder name in ``custom_nodes/`` on the machine that imports the bundle, so
it is checked like one.
"""

from __future__ import annotations

import re
from typing import Any

from git_comfy.errors import FatalError

DEV = "dev"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: str) -> str:
    """``name`` when it can be a folder in ``custom_nodes/``; else one clear error."""
    if not _NAME.fullmatch(name) or name.endswith((".", ".disabled")) or ".." in name:
        raise FatalError(
            f"node name {name!r} cannot be a folder name in custom_nodes/; use letters, digits, "
            "'.', '_' and '-' (up to 100, starting with a letter or digit), or pass --name"
        )
    return name


def nodes_table(document: dict[str, Any]) -> dict[str, Any]:
    """``[tool.comfydock.nodes]``, or an empty dict."""
    tool = document.get("tool")
    comfydock = tool.get("comfydock") if isinstance(tool, dict) else None
    table = comfydock.get("nodes") if isinstance(comfydock, dict) else None
    return table if isinstance(table, dict) else {}


def dev_nodes(document: dict[str, Any]) -> dict[str, str]:
    """Every recorded dev node: name → path as written (``/`` separators when relative)."""
    found = {}
    for name, entry in nodes_table(document).items():
        if (isinstance(entry, dict) and entry.get("source") == DEV
                and isinstance(entry.get("path"), str) and entry["path"]):
            found[name] = entry["path"]
    return found
