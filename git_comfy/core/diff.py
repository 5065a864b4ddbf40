"""The semantic diff of two versions of one workflow: nodes added, removed and changed (widget
values by name, mode, title, properties), connections made and broken, groups, subgraph
definitions, models and settings. Layout (positions, sizes, order, colours, the canvas view) is
left out unless asked for.

Nodes are matched by what they are, not by their ids, which are not stable (seed, "Node ID
Instability"): first by everything (type, title, mode, widget values and what they connect to),
then without the connections, then, among the rest of one type, by how much they share (title,
widget values, neighbours already matched, id). A node deleted before others were renumbered is
then one removal, not a cascade of changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from git_comfy.core import graph
from git_comfy.core.view import (
    GROUP_LAYOUT_KEYS,
    SUBGRAPH_INPUT,
    SUBGRAPH_OUTPUT,
    GraphView,
    Item,
    WorkflowView,
    build,
    canonical,
    mode_name,
)


class FormatMismatch(ValueError):
    """One version is in the UI format and the other in the API format."""


class _Absent:
    """A value one side does not have (a widget, a property, a setting)."""

    def __repr__(self) -> str:
        return "(none)"


ABSENT: Any = _Absent()


@dataclass(frozen=True, slots=True)
class Ref:
    """A node as the diff names it; ``widgets`` only for nodes added or removed."""

    id: str
    label: str
    type: str = ""
    title: str | None = None
    widgets: tuple[tuple[str, Any], ...] = ()

    @property
    def text(self) -> str:
        if self.id == SUBGRAPH_INPUT:
            return "(subgraph input)"
        if self.id == SUBGRAPH_OUTPUT:
            return "(subgraph output)"
        return f"{self.label} #{self.id}"


@dataclass(frozen=True, slots=True)
class Change:
    what: str
    before: Any
    after: Any
    layout: bool = False


@dataclass(frozen=True, slots=True)
class NodeChange:
    before: Ref
    after: Ref
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class Wire:
    origin: Ref
    origin_slot: str
    target: Ref
    target_slot: str

    @property
    def text(self) -> str:
        return f"{self.origin.text}.{self.origin_slot} → {self.target.text}.{self.target_slot}"


@dataclass(slots=True)
class GraphDiff:
    key: str
    name: str
    status: str = "changed"  # or "added", "removed": the whole graph (subgraph definition)
    nodes: int = 0  # the node count of a graph added or removed
    added: list[Ref] = field(default_factory=list)
    removed: list[Ref] = field(default_factory=list)
    changed: list[NodeChange] = field(default_factory=list)
    connected: list[Wire] = field(default_factory=list)
    disconnected: list[Wire] = field(default_factory=list)
    groups_added: list[str] = field(default_factory=list)
    groups_removed: list[str] = field(default_factory=list)
    group_changes: list[Change] = field(default_factory=list)
    meta: list[Change] = field(default_factory=list)  # a definition's name, inputs, outputs

    def empty(self) -> bool:
        return self.status == "changed" and not (
            self.added or self.removed or self.changed or self.connected or self.disconnected
            or self.groups_added or self.groups_removed or self.group_changes or self.meta)


@dataclass(slots=True)
class Diff:
    format: str
    graphs: list[GraphDiff] = field(default_factory=list)
    models_added: list[str] = field(default_factory=list)
    models_removed: list[str] = field(default_factory=list)
    settings: list[Change] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.graphs or self.models_added or self.models_removed or self.settings)


def diff(before: graph.Workflow, after: graph.Workflow, *, layout: bool = False) -> Diff:
    """What changed from ``before`` to ``after``; :class:`FormatMismatch` across formats."""
    if before.format != after.format:
        raise FormatMismatch(f"one version is in the {before.format.upper()} format and the "
                             f"other in the {after.format.upper()} format")
    return diff_views(build(before), build(after), layout=layout)


def diff_views(old: WorkflowView, new: WorkflowView, *, layout: bool = False) -> Diff:
    result = Diff(old.format)
    new_graphs = {view.key: view for view in new.graphs}
    old_keys = {view.key for view in old.graphs}
    for view in old.graphs:
        if view.key in new_graphs:
            changes = _graph_diff(view, new_graphs[view.key], layout)
            if not changes.empty():
                result.graphs.append(changes)
        else:
            result.graphs.append(GraphDiff(view.key, view.name, "removed", len(view.items)))
    result.graphs.extend(GraphDiff(view.key, view.name, "added", len(view.items))
                         for view in new.graphs if view.key not in old_keys)
    result.models_added = [m for m in new.models if m not in set(old.models)]
    result.models_removed = [m for m in old.models if m not in set(new.models)]
    result.settings = _dict_changes(old.settings, new.settings, "")
    if layout:
        result.settings += _dict_changes(old.layout, new.layout, "", layout=True)
    return result


# --- matching ---------------------------------------------------------------------------------


def _neighbours(view: GraphView) -> dict[str, list[tuple[str, str, str, str]]]:
    """id → (direction, own slot, the other end's id, its slot) for each connection."""
    found: dict[str, list[tuple[str, str, str, str]]] = {}
    for wire in view.connections:
        found.setdefault(wire.origin, []).append((">", wire.origin_slot, wire.target,
                                                  wire.target_slot))
        found.setdefault(wire.target, []).append(("<", wire.target_slot, wire.origin,
                                                  wire.origin_slot))
    return found


def _local_key(item: Item) -> str:
    return canonical([item.type, item.title, item.mode, [v for _n, v in item.widgets]])


def _context_keys(view: GraphView, local: dict[str, str]) -> dict[str, str]:
    """The local key plus what each connection reaches, described by the other end's type and
    title (never its id)."""
    labels = {item.id: canonical([item.type, item.title]) for item in view.items}
    neighbours = _neighbours(view)
    return {
        item.id: canonical([local[item.id], sorted(
            (direction, slot, labels.get(other, other), other_slot)
            for direction, slot, other, other_slot in neighbours.get(item.id, ()))])
        for item in view.items
    }


def _rank(ids: list[str]) -> dict[str, int]:
    """Each id's place among ``ids`` in id order: renumbering keeps it (seed: delete #3 and
    #4 becomes #3), so it tells twins apart where the ids themselves changed."""
    def number(node_id: str) -> int:
        return int(node_id) if node_id.lstrip("-").isdigit() else 0

    return {node_id: place for place, node_id in enumerate(sorted(ids, key=number))}


def _pair_equal(old: GraphView, new: GraphView, old_keys: dict[str, str],
                new_keys: dict[str, str], pairs: dict[str, str], *, balanced: bool) -> None:
    """Pairs unmatched nodes whose keys are equal. With ``balanced`` only keys that as many old
    as new nodes have (twins that did not change in number). Among twins the pairs whose
    neighbours are already partners win; then, for a balanced group, the same place in id
    order, else the same id first."""
    matched = set(pairs.values())
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for item in old.items:
        if item.id not in pairs:
            groups.setdefault(old_keys[item.id], ([], []))[0].append(item.id)
    for item in new.items:
        if item.id not in matched and new_keys[item.id] in groups:
            groups[new_keys[item.id]][1].append(item.id)
    old_near, new_near = _neighbours(old), _neighbours(new)
    for olds, news in groups.values():
        if not news or (balanced and len(olds) != len(news)):
            continue
        if len(olds) == len(news) == 1:
            pairs[olds[0]] = news[0]
            continue
        old_rank, new_rank = _rank(olds), _rank(news)
        choices = []
        for a in olds:
            near = _partners(old_near.get(a, ()), pairs)
            for b in news:
                agreement = len(near & set(new_near.get(b, ())))
                distance = abs(old_rank[a] - new_rank[b])
                choices.append((-agreement, 0 if balanced else a != b, distance,
                                old_rank[a], a, b))
        taken: set[str] = set()
        for *_order, a, b in sorted(choices):
            if a not in pairs and b not in taken:
                pairs[a] = b
                taken.add(b)


def _partners(near: Iterable[tuple[str, str, str, str]],
              pairs: dict[str, str]) -> set[tuple[str, str, str, str]]:
    """A node's connections with the other ends named by their matches (and a subgraph's own
    inputs and outputs as they are), to compare with a node of the new graph."""
    return {(d, slot, pairs.get(other, other), other_slot)
            for d, slot, other, other_slot in near
            if other in pairs or other in (SUBGRAPH_INPUT, SUBGRAPH_OUTPUT)}


def _score(a: Item, b: Item, a_near: set[tuple[str, str, str, str]],
           b_near: set[tuple[str, str, str, str]]) -> int:
    score = 3 if a.title is not None and a.title == b.title else 0
    values = {name: canonical(value) for name, value in b.widgets}
    score += sum(1 for name, value in a.widgets if values.get(name) == canonical(value))
    score += 3 * len(a_near & b_near)
    return score + (1 if a.id == b.id else 0)


def _pair_similar(old: GraphView, new: GraphView, pairs: dict[str, str]) -> None:
    """Pairs the rest of each type by shared title, widget values, matched neighbours and id,
    best first; a node sharing nothing with any other stays added or removed."""
    matched = set(pairs.values())
    old_near = _neighbours(old)
    new_near = _neighbours(new)
    candidates = []
    for position, a in enumerate(old.items):
        if a.id in pairs:
            continue
        a_near = _partners(old_near.get(a.id, ()), pairs)
        for b in new.items:
            if b.id in matched or b.type != a.type:
                continue
            score = _score(a, b, a_near, set(new_near.get(b.id, ())))
            if score > 0:
                candidates.append((-score, position, b.id, a.id))
    for _rank, _position, b_id, a_id in sorted(candidates):
        if a_id not in pairs and b_id not in matched:
            pairs[a_id] = b_id
            matched.add(b_id)


def match(old: GraphView, new: GraphView) -> dict[str, str]:
    """old node id → new node id for every node that is the same node in both."""
    pairs: dict[str, str] = {}
    old_local = {item.id: _local_key(item) for item in old.items}
    new_local = {item.id: _local_key(item) for item in new.items}
    old_context, new_context = _context_keys(old, old_local), _context_keys(new, new_local)
    for balanced in (True, False):
        _pair_equal(old, new, old_context, new_context, pairs, balanced=balanced)
        _pair_equal(old, new, old_local, new_local, pairs, balanced=balanced)
    _pair_similar(old, new, pairs)
    return pairs


# --- comparing --------------------------------------------------------------------------------


def _ref(item: Item | None, item_id: str, *, values: bool = False) -> Ref:
    if item is None:
        return Ref(item_id, item_id)
    return Ref(item.id, item.label, item.type, item.title, item.widgets if values else ())


def _dict_changes(old: dict[str, Any], new: dict[str, Any], prefix: str, *,
                  layout: bool = False) -> list[Change]:
    changes = []
    for key in [*old, *(key for key in new if key not in old)]:
        before, after = old.get(key, ABSENT), new.get(key, ABSENT)
        if before is ABSENT or after is ABSENT or canonical(before) != canonical(after):
            changes.append(Change(f"{prefix}{key}", before, after, layout))
    return changes


def _node_changes(a: Item, b: Item, layout: bool) -> list[Change]:
    changes = []
    if a.title != b.title:
        changes.append(Change("title", a.title, b.title))
    if a.mode != b.mode:
        changes.append(Change("mode", mode_name(a.mode), mode_name(b.mode)))
    changes += _dict_changes(dict(a.widgets), dict(b.widgets), "")
    changes += _dict_changes(dict(a.properties), dict(b.properties), "property ")
    if layout:
        changes += _dict_changes(dict(a.layout), dict(b.layout), "", layout=True)
    return changes


def _wire_keys(view: GraphView, rename: dict[str, str]) -> Counter[tuple[str, str, str, str]]:
    return Counter((rename.get(c.origin, c.origin), c.origin_slot,
                    rename.get(c.target, c.target), c.target_slot) for c in view.connections)


def _graph_diff(old: GraphView, new: GraphView, layout: bool) -> GraphDiff:
    result = GraphDiff(new.key, new.name)
    pairs = match(old, new)
    old_items = {item.id: item for item in reversed(old.items)}
    new_items = {item.id: item for item in reversed(new.items)}
    paired_new = set(pairs.values())
    result.removed = [_ref(item, item.id, values=True) for item in old.items
                      if item.id not in pairs]
    result.added = [_ref(item, item.id, values=True) for item in new.items
                    if item.id not in paired_new]
    for a_id, b_id in pairs.items():
        changes = _node_changes(old_items[a_id], new_items[b_id], layout)
        if changes:
            result.changed.append(NodeChange(_ref(old_items[a_id], a_id),
                                             _ref(new_items[b_id], b_id), tuple(changes)))
    # connections compared in the new graph's ids; an old node without a match keeps a
    # name that no new id can take
    rename = {a_id: b_id for a_id, b_id in pairs.items()}
    rename.update({item.id: f"old:{item.id}" for item in old.items if item.id not in pairs})
    old_wires, new_wires = _wire_keys(old, rename), _wire_keys(new, {})
    back = {b_id: a_id for a_id, b_id in pairs.items()}

    def wire(key: tuple[str, str, str, str], items: dict[str, Item], old_side: bool) -> Wire:
        origin, origin_slot, target, target_slot = key
        if old_side:
            origin = back.get(origin, origin.removeprefix("old:"))
            target = back.get(target, target.removeprefix("old:"))
        return Wire(_ref(items.get(origin), origin), origin_slot,
                    _ref(items.get(target), target), target_slot)

    result.disconnected = [wire(key, old_items, True)
                           for key in sorted((old_wires - new_wires).elements())]
    result.connected = [wire(key, new_items, False)
                        for key in sorted((new_wires - old_wires).elements())]
    _groups(old, new, result, layout)
    result.meta = _dict_changes(old.meta, new.meta, "")
    return result


def _groups(old: GraphView, new: GraphView, result: GraphDiff, layout: bool) -> None:
    """Groups are known by their titles; a moved or resized group is layout."""

    def title(group: dict[str, Any]) -> str:
        value = group.get("title")
        return value if isinstance(value, str) else ""

    old_titles = Counter(title(group) for group in old.groups)
    new_titles = Counter(title(group) for group in new.groups)
    result.groups_removed = sorted((old_titles - new_titles).elements())
    result.groups_added = sorted((new_titles - old_titles).elements())
    if not layout:
        return
    waiting: dict[str, list[dict[str, Any]]] = {}
    for group in new.groups:
        waiting.setdefault(title(group), []).append(group)
    for group in old.groups:
        partners = waiting.get(title(group))
        if partners:
            partner = partners.pop(0)
            result.group_changes += _dict_changes(
                {key: group[key] for key in GROUP_LAYOUT_KEYS if key in group},
                {key: partner[key] for key in GROUP_LAYOUT_KEYS if key in partner},
                f"group {title(group)!r} ", layout=True)
