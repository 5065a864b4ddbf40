"""The three-way merge of one graph (the top level or one subgraph definition): nodes by id,
each field by field; links by id; groups by id or title; then the sockets' link fields and the
id counters made consistent again. :mod:`merge` drives it for a whole document.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from git_comfy.core import widgets
from git_comfy.core.graph import raw_links
from git_comfy.core.view import LAYOUT_KEYS, canonical

CONFLICT_PROPERTY = "git-comfy conflict"
TITLE_PREFIX = "CONFLICT: "
BOUNDARY = frozenset({"-10", "-20"})  # a subgraph definition's own input and output nodes


class _Absent:
    """A key one side does not have."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()
_SOCKET_LINKS = ("link", "links", "slot_index", "linkIds")


@dataclass(frozen=True, slots=True)
class Conflict:
    graph: str  # "" for the top level, else a subgraph definition's id
    node: str  # the node's id in the result; "" for a workflow-level value
    type: str
    what: str  # a widget's name, "title", "mode", "property ver", "deleted by theirs" …
    base: Any
    ours: Any
    theirs: Any

    def sides(self) -> dict[str, Any]:
        return {side: value for side, value in (("ours", self.ours), ("theirs", self.theirs),
                                                ("base", self.base)) if value is not ABSENT}

    def as_json(self) -> dict[str, Any]:
        return {"graph": self.graph, "node": self.node, "type": self.type, "what": self.what,
                **self.sides()}


def same(a: Any, b: Any) -> bool:
    return a is b or (a is not ABSENT and b is not ABSENT and canonical(a) == canonical(b))


def pick(base: Any, ours: Any, theirs: Any) -> tuple[Any, bool]:
    """The merged value, and whether both sides changed it differently (then it is ours)."""
    if same(ours, theirs) or same(base, theirs):
        return ours, False
    if same(base, ours):
        return theirs, False
    return ours, True


def get(mapping: Any, key: str) -> Any:
    return mapping.get(key, ABSENT) if isinstance(mapping, dict) else ABSENT


def put(mapping: dict[str, Any], key: str, value: Any) -> None:
    if value is ABSENT:
        mapping.pop(key, None)
    else:
        mapping[key] = copy.deepcopy(value)


def mark(node: dict[str, Any], conflict: Conflict) -> None:
    """Shows a conflict on its node: a property holding both sides, and the title."""
    properties = node.get("properties")
    if not isinstance(properties, dict):
        properties = node["properties"] = {}
    marks = properties.setdefault(CONFLICT_PROPERTY, {})
    if isinstance(marks, dict):
        marks[conflict.what] = conflict.sides()
    title = node.get("title")
    title = title if isinstance(title, str) and title else str(node.get("type", ""))
    if not title.startswith(TITLE_PREFIX):
        node["title"] = TITLE_PREFIX + title


def strip_links(sockets: Any) -> Any:
    """Sockets without their link fields (rebuilt from the merged links afterwards)."""
    if not isinstance(sockets, list):
        return sockets
    return [{k: v for k, v in s.items() if k not in _SOCKET_LINKS} if isinstance(s, dict)
            else s for s in sockets]


def _content(node: dict[str, Any]) -> str:
    """What a node is, without where it sits or which link ids its sockets hold."""
    return canonical({key: strip_links(value) if key in ("inputs", "outputs") else value
                      for key, value in node.items() if key not in LAYOUT_KEYS})


def merge_node(graph_key: str, base: dict[str, Any], ours: dict[str, Any],
               theirs: dict[str, Any], result: dict[str, Any]) -> list[Conflict]:
    """Merges a node present on all three sides into ``result`` (a copy of ours)."""
    node_type, node_id = str(result.get("type", "")), str(result.get("id"))
    found: list[Conflict] = []
    for name in [*ours, *(name for name in theirs if name not in ours)]:
        b, o, t = get(base, name), get(ours, name), get(theirs, name)
        if name in ("inputs", "outputs"):
            value, _clash = pick(strip_links(b), strip_links(o), strip_links(t))
            if not same(value, strip_links(o)):
                put(result, name, t)  # theirs changed the sockets; links are rebuilt later
        elif name == "widgets_values":
            found += _merge_widgets(graph_key, node_type, base, ours, theirs, result)
        elif name == "properties" and all(isinstance(x, dict) for x in (b, o, t)):
            for key in [*o, *(key for key in t if key not in o)]:
                if key == CONFLICT_PROPERTY:
                    continue
                value, clash = pick(get(b, key), get(o, key), get(t, key))
                put(result["properties"], key, value)
                if clash:
                    found.append(Conflict(graph_key, node_id, node_type, f"property {key}",
                                          get(b, key), o[key], t[key]))
        else:
            value, clash = pick(b, o, t)
            put(result, name, value)
            if clash and name not in LAYOUT_KEYS:  # layout never conflicts: ours stays
                found.append(Conflict(graph_key, node_id, node_type, name, b, o, t))
    for conflict in found:
        mark(result, conflict)
    return found


def _merge_widgets(graph_key: str, node_type: str, base: dict[str, Any],
                   ours: dict[str, Any], theirs: dict[str, Any],
                   result: dict[str, Any]) -> list[Conflict]:
    b, o, t = (get(side, "widgets_values") for side in (base, ours, theirs))
    node_id = str(result.get("id"))
    found = []
    if all(isinstance(x, list) for x in (b, o, t)) and len(b) == len(o) == len(t):
        names = widgets.names(node_type, ours, len(o))
        merged = []
        for index, (bv, ov, tv) in enumerate(zip(b, o, t, strict=True)):
            value, clash = pick(bv, ov, tv)
            merged.append(copy.deepcopy(value))
            if clash:
                found.append(Conflict(graph_key, node_id, node_type, names[index], bv, ov, tv))
        result["widgets_values"] = merged
    elif all(isinstance(x, dict) for x in (b, o, t)):
        merged_map: dict[str, Any] = {}
        for name in [*o, *(name for name in t if name not in o)]:
            value, clash = pick(get(b, name), get(o, name), get(t, name))
            put(merged_map, name, value)
            if clash:
                found.append(Conflict(graph_key, node_id, node_type, name, get(b, name),
                                      get(o, name), get(t, name)))
        result["widgets_values"] = merged_map
    else:  # another shape or length on one side (a node of another version): as one value
        value, clash = pick(b, o, t)
        put(result, "widgets_values", value)
        if clash:
            found.append(Conflict(graph_key, node_id, node_type, "widgets_values", b, o, t))
    return found


# --- one graph --------------------------------------------------------------------------------


def _nodes(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = graph.get("nodes")
    found: dict[str, dict[str, Any]] = {}
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, dict) and isinstance(node.get("id"), int | str):
            found.setdefault(str(node["id"]), node)
    return found


@dataclass(slots=True)
class _Link:
    id: Any
    origin: Any
    origin_slot: Any
    target: Any
    target_slot: Any
    type: Any
    raw: Any  # the link as saved (an array, or an object with more keys)
    ours: bool

    def key(self) -> str:
        return canonical([str(self.origin), self.origin_slot, str(self.target),
                          self.target_slot, self.type])


def _links(graph: dict[str, Any], ours: bool) -> dict[str, _Link]:
    found: dict[str, _Link] = {}
    raws = graph.get("links")
    for raw in raws if isinstance(raws, list) else ():
        for values in raw_links({"links": [raw]}):  # one link, or none when unreadable
            found.setdefault(str(values[0]), _Link(*values, raw=raw, ours=ours))
    return found


def _number(value: Any) -> int:
    return value if type(value) is int else int(value) if str(value).isdigit() else 0


def _counter(graph: dict[str, Any], flat: str, state: str) -> int:
    holder = graph.get("state")
    inner = holder.get(state) if isinstance(holder, dict) else None
    return max(_number(graph.get(flat, 0)), _number(inner or 0))


def _set_counter(result: dict[str, Any], flat: str, state: str, value: int) -> None:
    if flat in result:
        result[flat] = max(_number(result[flat]), value)
    holder = result.get("state")
    if isinstance(holder, dict) and state in holder:
        holder[state] = max(_number(holder[state]), value)


def merge_graph(graph_key: str, base: dict[str, Any], ours: dict[str, Any],
                theirs: dict[str, Any], result: dict[str, Any]) -> list[Conflict]:
    """Merges the nodes, links and groups of one graph into ``result`` (a copy of ours)."""
    b_nodes, o_nodes, t_nodes = _nodes(base), _nodes(ours), _nodes(theirs)
    found: list[Conflict] = []
    sides = (base, ours, theirs)
    next_node = 1 + max([_counter(g, "last_node_id", "lastNodeId") for g in sides]
                        + [_number(i) for n in (b_nodes, o_nodes, t_nodes) for i in n])
    renumbered: dict[str, int] = {}  # theirs' id → its new id, for nodes both sides added
    for node_id, node in t_nodes.items():
        if node_id not in b_nodes and node_id in o_nodes and not same(node, o_nodes[node_id]):
            renumbered[node_id] = next_node
            next_node += 1
    kept = []
    for node in result.get("nodes") or ():
        node_id = str(node.get("id")) if isinstance(node, dict) else ""
        if node_id in b_nodes and node_id not in t_nodes:  # theirs deleted it
            if _content(b_nodes[node_id]) != _content(o_nodes[node_id]):
                conflict = Conflict(graph_key, node_id, str(node.get("type")),
                                    "deleted by theirs", ABSENT, "(changed)", ABSENT)
                mark(node, conflict)
                found.append(conflict)
                kept.append(node)
            continue
        if node_id in b_nodes and node_id in t_nodes:
            found += merge_node(graph_key, b_nodes[node_id], o_nodes[node_id],
                                t_nodes[node_id], node)
        kept.append(node)
    for node_id, node in t_nodes.items():
        if node_id in o_nodes and node_id not in renumbered:
            continue
        if node_id in b_nodes and _content(b_nodes[node_id]) == _content(node):
            continue  # ours deleted it, theirs did not change it
        added = copy.deepcopy(node)
        if node_id in renumbered:
            added["id"] = renumbered[node_id]
        if node_id in b_nodes:  # ours deleted it, theirs changed it: keep it, marked
            conflict = Conflict(graph_key, str(added["id"]), str(node.get("type")),
                                "deleted by ours", ABSENT, ABSENT, "(changed)")
            mark(added, conflict)
            found.append(conflict)
        kept.append(added)
    if isinstance(result.get("nodes"), list):
        result["nodes"] = kept
    found += _merge_links(graph_key, base, ours, theirs, result, renumbered)
    _merge_groups(base, ours, theirs, result)
    _set_counter(result, "last_node_id", "lastNodeId", next_node - 1)
    return found


def _merge_links(graph_key: str, base: dict[str, Any], ours: dict[str, Any],
                 theirs: dict[str, Any], result: dict[str, Any],
                 renumbered: dict[str, int]) -> list[Conflict]:
    b_links, o_links, t_links = _links(base, False), _links(result, True), _links(theirs, False)
    next_link = 1 + max([_counter(g, "last_link_id", "lastLinkId") for g in (base, ours, theirs)]
                        + [_number(i) for ls in (b_links, o_links, t_links) for i in ls])
    merged = {key: link for key, link in o_links.items()
              if not (key in b_links and key not in t_links)}  # not deleted by theirs
    for key, link in t_links.items():
        if key in b_links:
            continue  # kept by ours, or deleted there
        link.origin = renumbered.get(str(link.origin), link.origin)
        link.target = renumbered.get(str(link.target), link.target)
        if key in merged:
            if merged[key].key() == link.key():
                continue  # both added the same link
            link.id, key = next_link, str(next_link)
            next_link += 1
        merged[key] = link
    nodes = _nodes(result)
    alive = [link for link in merged.values()
             if str(link.origin) in nodes | dict.fromkeys(BOUNDARY)
             and str(link.target) in nodes | dict.fromkeys(BOUNDARY)]
    found = []
    into: dict[tuple[str, Any], _Link] = {}
    for link in sorted(alive, key=lambda link: not link.ours):  # ours first
        slot = (str(link.target), link.target_slot)
        if slot in into:  # an input holds one link: ours stays
            node = nodes.get(str(link.target))
            conflict = Conflict(graph_key, str(link.target), str((node or {}).get("type")),
                                f"input {link.target_slot}", ABSENT,
                                f"from node {into[slot].origin} slot {into[slot].origin_slot}",
                                f"from node {link.origin} slot {link.origin_slot}")
            if node is not None:
                mark(node, conflict)
            found.append(conflict)
            continue
        into[slot] = link
    final = sorted(into.values(), key=lambda link: (not link.ours, _number(link.id)))
    if isinstance(result.get("links"), list) or final:
        saved = result.get("links") or []
        objects = any(isinstance(raw, dict) for raw in saved) or (
            not saved and any(isinstance(link.raw, dict) for link in final))
        result["links"] = [_raw(link, objects) for link in final]
    _set_counter(result, "last_link_id", "lastLinkId", next_link - 1)
    _rebuild_sockets(result, final)
    return found


def _raw(link: _Link, objects: bool) -> Any:
    """The link as the result graph writes links: arrays (0.4) or objects (version 1)."""
    values = [link.id, link.origin, link.origin_slot, link.target, link.target_slot, link.type]
    if objects:
        raw = dict(link.raw) if isinstance(link.raw, dict) else {}
        raw.update(zip(("id", "origin_id", "origin_slot", "target_id", "target_slot", "type"),
                       values, strict=True))
        return raw
    return values


def _rebuild_sockets(result: dict[str, Any], links: list[_Link]) -> None:
    """Each input's ``link`` and each output's ``links`` from the merged links, keeping the
    order an output already had; a definition's own inputs and outputs (``linkIds``) too."""
    into = {(str(link.target), link.target_slot): link.id for link in links}
    out_of: dict[tuple[str, Any], list[Any]] = {}
    for link in links:
        out_of.setdefault((str(link.origin), link.origin_slot), []).append(link.id)
    for node in result.get("nodes") or ():
        if not isinstance(node, dict):
            continue
        node_id = str(node.get("id"))
        for slot, socket in enumerate(node.get("inputs") or ()):
            if isinstance(socket, dict) and (socket.get("link") is not None
                                             or (node_id, slot) in into):
                socket["link"] = into.get((node_id, slot))
        for slot, socket in enumerate(node.get("outputs") or ()):
            if isinstance(socket, dict):
                _set_ids(socket, "links", out_of.get((node_id, slot), []))
    for side, end in (("inputs", "-10"), ("outputs", "-20")):
        for slot, socket in enumerate(result.get(side) or ()):
            if isinstance(socket, dict) and "linkIds" in socket:
                ids = out_of.get((end, slot), []) if end == "-10" else [
                    link.id for link in links if str(link.target) == end
                    and link.target_slot == slot]
                _set_ids(socket, "linkIds", ids)


def _set_ids(socket: dict[str, Any], key: str, ids: list[Any]) -> None:
    had = socket.get(key)
    if had is None and not ids:
        return
    order = [i for i in had if i in ids] if isinstance(had, list) else []
    socket[key] = order + sorted((i for i in ids if i not in order), key=_number)


def _merge_groups(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any],
                  result: dict[str, Any]) -> None:
    """Groups by id (or title): added, removed or changed on one side; ours where both."""

    def keyed(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
        groups = graph.get("groups")
        return {canonical(g.get("id", g.get("title"))): g for g in groups
                if isinstance(g, dict)} if isinstance(groups, list) else {}

    b, o, t = keyed(base), keyed(ours), keyed(theirs)
    if not (b or o or t) or same(get(ours, "groups"), get(theirs, "groups")):
        return
    merged = []
    for key in [*o, *(key for key in t if key not in o)]:
        value, _clash = pick(b.get(key, ABSENT), o.get(key, ABSENT), t.get(key, ABSENT))
        if value is not ABSENT:
            merged.append(copy.deepcopy(value))
    result["groups"] = merged
