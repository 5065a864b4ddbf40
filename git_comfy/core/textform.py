"""The text form of a workflow that git shows in ``git diff``, ``git log -p`` and ``git show``
(the ``comfy`` textconv driver): one block per node with its widget values by name, the links as
``A.out → B.in``, and no layout, so that a moved node or a panned canvas shows no change.

Nodes are sorted by a key that does not use their ids (seed, "Node ID Instability"): type,
title, what they connect to, then widget values; the id only breaks a tie that is left. Nodes
that read the same get ``(2)``, ``(3)`` … in that order.

    workflow (UI format)

    node KSampler
      seed: 156680208700286
      steps: 20

    links
      Load Checkpoint.MODEL → KSampler.model
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from git_comfy.core.view import (
    SUBGRAPH_INPUT,
    SUBGRAPH_OUTPUT,
    GraphView,
    Item,
    WorkflowView,
    canonical,
    mode_name,
)


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _ordered(view: GraphView) -> tuple[list[Item], dict[str, str]]:
    """The nodes in text order, and id → the name the text gives each: its label, numbered in
    that order when two read the same."""
    plain = {item.id: item.label for item in view.items}
    near: dict[str, list[str]] = {item.id: [] for item in view.items}
    for wire in view.connections:
        near.setdefault(wire.origin, []).append(
            f">{wire.origin_slot}:{plain.get(wire.target, wire.target)}.{wire.target_slot}")
        near.setdefault(wire.target, []).append(
            f"<{wire.target_slot}:{plain.get(wire.origin, wire.origin)}.{wire.origin_slot}")

    def key(item: Item) -> tuple[str, str, str, str, int, str]:
        number = int(item.id) if item.id.lstrip("-").isdigit() else 0
        return (item.label, canonical(sorted(near[item.id])), item.widget_key(),
                canonical(item.properties), number, item.id)

    items = sorted(view.items, key=key)
    counts = Counter(item.label for item in items)
    seen: Counter[str] = Counter()
    labels = {SUBGRAPH_INPUT: "(subgraph input)", SUBGRAPH_OUTPUT: "(subgraph output)"}
    for item in items:
        seen[item.label] += 1
        labels.setdefault(item.id, item.label if counts[item.label] == 1
                          else f"{item.label} ({seen[item.label]})")
    return items, labels


def _graph(view: GraphView, heading: str) -> list[str]:
    items, labels = _ordered(view)
    out = [heading]
    for key, value in view.meta.items():
        out.append(f"  {key}: {_value(value)}")
    for item in items:
        out.append("")
        out.append(f"node {labels[item.id]}")
        if item.mode:
            out.append(f"  mode: {mode_name(item.mode)}")
        out += [f"  {name}: {_value(value)}" for name, value in item.widgets]
        out += [f"  property {name}: {_value(value)}" for name, value in item.properties]
    links = sorted(
        f"{labels.get(w.origin, w.origin)}.{w.origin_slot} → "
        f"{labels.get(w.target, w.target)}.{w.target_slot}"
        for w in view.connections)
    if links:
        out += ["", "links", *(f"  {line}" for line in links)]
    titles = sorted(str(group.get("title") or "") for group in view.groups)
    if titles:
        out += ["", "groups", *(f"  {_value(title)}" for title in titles)]
    return out


def render(workflow: WorkflowView) -> str:
    """The whole text form, ending in a newline."""
    out = [f"workflow ({workflow.format.upper()} format)"]
    for key, value in sorted(workflow.settings.items()):
        out.append(f"  {key}: {_value(value)}")
    for name in workflow.models:
        out.append(f"  model {name}")
    for view in workflow.graphs:
        out.append("")
        out += _graph(view, view.name if view.key else "graph")
    return "\n".join(out) + "\n"
