"""Three-way merge of UI-format workflows (the ``comfy`` merge driver).

Both sides descend from the base, so within one graph (the top level, each subgraph definition)
a node is known by its id. Each node is merged field by field, its ``widgets_values`` slot by
slot, its properties key by key; links are merged by id as a set (:mod:`mergegraph`). Layout
(positions, sizes, order, the canvas) never conflicts: ours wins. Nodes (and links) both sides
added under one id are kept apart: theirs get the next free ids, and their links follow.

A real conflict (both sides set one widget, title, mode or property to different values, or one
side deleted a node the other changed) keeps ours, so the result is always a valid workflow, and
is recorded where a ComfyUI user sees it: the node's ``properties["git-comfy conflict"]`` holds
``{what: {"ours", "theirs", "base"}}`` and its title starts with ``CONFLICT: ``; the
document's ``extra["git-comfy conflicts"]`` lists them all.
"""

from __future__ import annotations

import copy
from typing import Any

from git_comfy.core.mergegraph import (
    ABSENT,
    Conflict,
    get,
    merge_graph,
    pick,
    put,
    same,
    strip_links,
)

CONFLICTS_KEY = "git-comfy conflicts"
# keys merged by their own rules, never as plain values
_GRAPH_KEYS = frozenset({"nodes", "links", "groups", "definitions", "extra", "last_node_id",
                         "last_link_id", "state", "inputs", "outputs"})

__all__ = ["CONFLICTS_KEY", "Conflict", "MergeError", "merge"]


class MergeError(ValueError):
    """The documents are not UI-format workflows this merge can read."""


def _check(document: Any, side: str) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("nodes"), list):
        raise MergeError(f"{side} is not a UI-format workflow")
    return document


def merge(base: Any, ours: Any, theirs: Any) -> tuple[dict[str, Any], list[Conflict]]:
    """The merged document (a new object) and the conflicts marked in it."""
    base, ours, theirs = (_check(base, "the base"), _check(ours, "ours"),
                          _check(theirs, "theirs"))
    result = copy.deepcopy(ours)
    conflicts = merge_graph("", base, ours, theirs, result)
    conflicts += _definitions(base, ours, theirs, result)
    conflicts += _values(base, ours, theirs, result, exclude=_GRAPH_KEYS, prefix="")
    extras = [get(document, "extra") for document in (base, ours, theirs)]
    if any(isinstance(extra, dict) for extra in extras) and isinstance(
            result.setdefault("extra", {}), dict):
        b, o, t = (extra if isinstance(extra, dict) else {} for extra in extras)
        # the canvas view is layout: ours, never a conflict
        conflicts += _values(b, o, t, result["extra"], exclude=frozenset({"ds", CONFLICTS_KEY}),
                             prefix="extra.")
    if conflicts and isinstance(result.get("extra"), dict):
        result["extra"][CONFLICTS_KEY] = [conflict.as_json() for conflict in conflicts]
    return result, conflicts


def _values(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any],
            result: dict[str, Any], *, exclude: frozenset[str], prefix: str,
            graph_key: str = "") -> list[Conflict]:
    """Plain keys of a document, a definition or ``extra``: ours where both changed one."""
    found = []
    for key in [*ours, *(key for key in theirs if key not in ours)]:
        if key in exclude:
            continue
        value, clash = pick(get(base, key), get(ours, key), get(theirs, key))
        put(result, key, value)
        if clash:
            found.append(Conflict(graph_key, "", "workflow", prefix + key, get(base, key),
                                  ours[key], theirs[key]))
    return found


def _subgraphs(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = get(get(document, "definitions"), "subgraphs")
    return {d["id"]: d for d in found if isinstance(d, dict) and isinstance(d.get("id"), str)
            } if isinstance(found, list) else {}


def _definitions(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any],
                 result: dict[str, Any]) -> list[Conflict]:
    """Subgraph definitions by id, each merged as a graph of its own (with its own inputs and
    outputs); one added, or deleted on one side and not changed on the other, follows that
    side; deleted on one side and changed on the other, it is kept and the conflict listed."""
    b, o, t = _subgraphs(base), _subgraphs(ours), _subgraphs(theirs)
    if not (o or t):
        return []
    mine = _subgraphs(result)
    found: list[Conflict] = []
    kept = []
    for key in [*o, *(key for key in t if key not in o)]:
        if key in o and key in t:
            base_definition = b.get(key, {})
            found += _sockets(key, base_definition, o[key], t[key], mine[key])
            found += merge_graph(key, base_definition, o[key], t[key], mine[key])
            found += _values(base_definition, o[key], t[key], mine[key],
                             exclude=_GRAPH_KEYS | {"id"}, prefix="subgraph ", graph_key=key)
            kept.append(mine[key])
        elif key in o:  # ours added it, or theirs deleted it
            changed = key in b and not same(b[key], o[key])
            if changed:
                found.append(Conflict(key, "", "subgraph", "deleted by theirs", ABSENT,
                                      "(changed)", ABSENT))
            if key not in b or changed:
                kept.append(mine[key])
        elif key not in b or not same(b[key], t[key]):  # theirs added it, or changed it
            if key in b:
                found.append(Conflict(key, "", "subgraph", "deleted by ours", ABSENT, ABSENT,
                                      "(changed)"))
            kept.append(copy.deepcopy(t[key]))
    definitions = result.setdefault("definitions", {})
    if isinstance(definitions, dict):
        definitions["subgraphs"] = kept
    return found


def _sockets(key: str, base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any],
             result: dict[str, Any]) -> list[Conflict]:
    """A definition's own inputs and outputs, compared without their ``linkIds``:
    :func:`merge_graph` rebuilds those from the merged links afterwards."""
    found = []
    for side in ("inputs", "outputs"):
        b, o, t = (strip_links(get(doc, side)) for doc in (base, ours, theirs))
        value, clash = pick(b, o, t)
        if value is t and not same(o, t):
            put(result, side, get(theirs, side))
        elif clash:
            found.append(Conflict(key, "", "subgraph", side, b, o, t))
    return found
