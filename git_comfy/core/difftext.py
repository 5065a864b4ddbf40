"""The semantic diff for people and for programs: text lines, each with a style the terminal
may colour like git's (``add`` green, ``remove`` red, ``header`` bold; no colour codes here), and
plain JSON data.

    workflow portraits/sailor: HEAD → ComfyUI
    ~ KSampler #3
        seed: 156680208700286 → 42
    - CLIPTextEncode "Negative" #7
    + LoraLoader #10
        lora_name: "detail.safetensors"
    + link LoraLoader #10.MODEL → KSampler #3.model
    + model loras/detail.safetensors
"""

from __future__ import annotations

import json
from typing import Any

from git_comfy.core.diff import ABSENT, Change, Diff, GraphDiff, Ref

HEADER, ADD, REMOVE, CHANGE, PLAIN = "header", "add", "remove", "change", "plain"
Line = tuple[str, str]


def value_text(value: Any) -> str:
    if value is ABSENT:
        return "(none)"
    return json.dumps(value, ensure_ascii=False)


def _change(change: Change, indent: str) -> Line:
    if change.before is ABSENT:
        return ADD, f"{indent}{change.what}: {value_text(change.after)}"
    if change.after is ABSENT:
        return REMOVE, f"{indent}{change.what}: {value_text(change.before)} (removed)"
    return PLAIN, f"{indent}{change.what}: {value_text(change.before)} → " \
                  f"{value_text(change.after)}"


def _graph(graph_diff: GraphDiff, indent: str) -> list[Line]:
    lines: list[Line] = []
    for node in graph_diff.changed:
        renumbered = f" (was #{node.before.id})" if node.before.id != node.after.id else ""
        lines.append((CHANGE, f"{indent}~ {node.after.text}{renumbered}"))
        lines += [_change(change, indent + "    ") for change in node.changes]
    for ref in graph_diff.removed:
        lines.append((REMOVE, f"{indent}- {ref.text}"))
    for ref in graph_diff.added:
        lines.append((ADD, f"{indent}+ {ref.text}"))
        lines += [(PLAIN, f"{indent}    {name}: {value_text(value)}")
                  for name, value in ref.widgets]
    lines += [(REMOVE, f"{indent}- link {wire.text}") for wire in graph_diff.disconnected]
    lines += [(ADD, f"{indent}+ link {wire.text}") for wire in graph_diff.connected]
    lines += [(REMOVE, f"{indent}- group {json.dumps(title, ensure_ascii=False)}")
              for title in graph_diff.groups_removed]
    lines += [(ADD, f"{indent}+ group {json.dumps(title, ensure_ascii=False)}")
              for title in graph_diff.groups_added]
    lines += [_change(change, indent + "~ ") for change in graph_diff.group_changes]
    lines += [_change(change, indent + "~ subgraph ") for change in graph_diff.meta]
    return lines


def lines(result: Diff, title: str) -> list[Line]:
    """The diff under a ``title`` line; nothing at all for an empty diff."""
    if result.empty():
        return []
    out: list[Line] = [(HEADER, title)]
    for graph_diff in result.graphs:
        if graph_diff.status == "added":
            out.append((ADD, f"+ {graph_diff.name} ({graph_diff.nodes} nodes)"))
        elif graph_diff.status == "removed":
            out.append((REMOVE, f"- {graph_diff.name} ({graph_diff.nodes} nodes)"))
        elif graph_diff.key == "":
            out += _graph(graph_diff, "")
        else:
            out.append((HEADER, f"{graph_diff.name}:"))
            out += _graph(graph_diff, "  ")
    out += [(REMOVE, f"- model {name}") for name in result.models_removed]
    out += [(ADD, f"+ model {name}") for name in result.models_added]
    out += [_change(change, "~ ") for change in result.settings]
    return out


def as_json(result: Diff) -> dict[str, Any]:
    """The diff as plain JSON data; a value one side lacks is left out of its change."""

    def change(item: Change) -> dict[str, Any]:
        out: dict[str, Any] = {"what": item.what}
        if item.before is not ABSENT:
            out["before"] = item.before
        if item.after is not ABSENT:
            out["after"] = item.after
        if item.layout:
            out["layout"] = True
        return out

    def node(ref: Ref) -> dict[str, Any]:
        out: dict[str, Any] = {"id": ref.id, "type": ref.type, "title": ref.title}
        if ref.widgets:
            out["widgets"] = dict(ref.widgets)
        return out

    def end(ref: Ref, slot: str) -> dict[str, Any]:
        return {"node": ref.id, "label": ref.text, "slot": slot}

    return {
        "format": result.format,
        "graphs": [{
            "graph": g.name, "key": g.key, "status": g.status,
            **({"nodes": g.nodes} if g.status != "changed" else {
                "added": [node(r) for r in g.added],
                "removed": [node(r) for r in g.removed],
                "changed": [{"before": node(c.before), "after": node(c.after),
                             "changes": [change(x) for x in c.changes]} for c in g.changed],
                "connected": [{"from": end(w.origin, w.origin_slot),
                               "to": end(w.target, w.target_slot)} for w in g.connected],
                "disconnected": [{"from": end(w.origin, w.origin_slot),
                                  "to": end(w.target, w.target_slot)} for w in g.disconnected],
                "groups_added": g.groups_added, "groups_removed": g.groups_removed,
                "groups_changed": [change(x) for x in g.group_changes],
                "definition": [change(x) for x in g.meta],
            }),
        } for g in result.graphs],
        "models_added": result.models_added,
        "models_removed": result.models_removed,
        "settings": [change(x) for x in result.settings],
    }
