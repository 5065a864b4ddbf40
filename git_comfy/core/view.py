"""A workflow as a person reads it: every graph (the top level, each subgraph definition, each
legacy group node) as nodes with named widget values, joined by connections between named
sockets, with the layout set apart. The semantic diff (:mod:`diff`) and the text form git shows
(:mod:`textform`) are both built on it.

Graphs are kept apart rather than expanded per instance as :func:`graph.parse` does for running:
an edit inside a subgraph is one edit, however many instances it has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from git_comfy.core import graph, models, widgets

# node keys that only place or paint a node: hidden from diffs unless asked for
LAYOUT_KEYS = ("pos", "size", "order", "flags", "color", "bgcolor", "shape")
# group keys that are layout (a group's title is what identifies it)
GROUP_LAYOUT_KEYS = ("bounding", "color", "font_size", "flags")
# properties the frontend writes for itself: the class name again, and UI bookkeeping
NOISE_PROPERTIES = frozenset({"Node name for S&R", "ue_properties", "enableTabs", "tabWidth",
                              "tabXOffset", "hasSecondTab", "secondTabText", "secondTabOffset",
                              "secondTabWidth", "widget_ue_connectable"})
# top-level keys that are counters, identity or structure shown elsewhere, never "settings"
_STRUCTURE = frozenset({"nodes", "links", "groups", "definitions", "extra", "last_node_id",
                        "last_link_id", "id", "revision", "state", "models"})
# extra keys that change on every save or view (notes/comfyui.md §8): not settings
_EXTRA_NOISE = frozenset({"ds", "frontendVersion", "groupNodes", "workflowRendererVersion"})
MODES = {0: "normal", 1: "on event", 2: "muted", 3: "on trigger", 4: "bypassed"}
SUBGRAPH_INPUT, SUBGRAPH_OUTPUT = "-10", "-20"


@dataclass(frozen=True, slots=True)
class Item:
    """One node of one graph."""

    id: str
    type: str
    type_name: str  # the type as shown: a subgraph instance's definition name
    title: str | None
    mode: int
    widgets: tuple[tuple[str, Any], ...]  # (name, value) in the saved order
    properties: tuple[tuple[str, Any], ...]  # sorted by key; the frontend's own left out
    inputs: tuple[str, ...]  # socket names by slot
    outputs: tuple[str, ...]
    layout: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        """``KSampler``, or ``KSampler "Second pass"`` when it has a title of its own."""
        if self.title and self.title != self.type_name:
            return f"{self.type_name} {json.dumps(self.title, ensure_ascii=False)}"
        return self.type_name

    def widget_key(self) -> str:
        """The widget values as one comparable string."""
        return canonical([value for _name, value in self.widgets])


@dataclass(frozen=True, slots=True)
class Connection:
    """A link from output ``origin_slot`` of node ``origin`` to input ``target_slot`` of
    ``target``, slots by name (``-10``/``-20``: a subgraph's own inputs and outputs)."""

    origin: str
    origin_slot: str
    target: str
    target_slot: str


@dataclass(slots=True)
class GraphView:
    key: str  # "" for the top level, a definition's uuid, "workflow>Name" for a group node
    name: str  # how a person calls it: 'subgraph "Upscale"'
    items: list[Item]
    connections: list[Connection]
    groups: list[dict[str, Any]]  # the raw group objects
    meta: dict[str, Any] = field(default_factory=dict)  # a definition's name, inputs, outputs

    def item(self, item_id: str) -> Item | None:
        for item in self.items:
            if item.id == item_id:
                return item
        return None


@dataclass(slots=True)
class WorkflowView:
    format: graph.Format
    graphs: list[GraphView]
    settings: dict[str, Any]  # "version", "config", "extra.<key>": what the user set
    layout: dict[str, Any]  # "extra.ds": where the canvas was looking
    models: list[str]  # "folder/name" of every model file it references


def canonical(value: Any) -> str:
    """One string per JSON value, equal exactly when the values are (key order aside)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def build(workflow: graph.Workflow) -> WorkflowView:
    document = workflow.document
    if workflow.format == "api":
        return WorkflowView("api", [_api_graph(document)], {}, {}, _models(workflow))
    names = {uuid: definition.get("name") for uuid, definition in workflow.definitions.items()}
    type_names = {uuid: name if isinstance(name, str) and name else f"subgraph {uuid[:8]}"
                  for uuid, name in names.items()}
    graphs = [_ui_graph("", "workflow", document, type_names)]
    shared = {name for name in type_names.values()
              if list(type_names.values()).count(name) > 1}
    for uuid, definition in sorted(workflow.definitions.items(),
                                   key=lambda pair: (type_names[pair[0]], pair[0])):
        name = f"subgraph {json.dumps(type_names[uuid], ensure_ascii=False)}"
        if type_names[uuid] in shared:  # copies of one subgraph: told apart by their ids
            name += f" ({uuid[:8]})"
        view = _ui_graph(uuid, name, definition, type_names)
        view.meta = _definition_meta(definition)
        graphs.append(view)
    for name, group_node in sorted(workflow.group_nodes.items()):
        graphs.append(_group_node_graph(name, group_node, type_names))
    settings: dict[str, Any] = {}
    layout: dict[str, Any] = {}
    for key, value in document.items():
        if key not in _STRUCTURE:
            settings[key] = value
    extra = document.get("extra")
    if isinstance(extra, dict):
        for key, value in extra.items():
            if key == "ds":
                layout["extra.ds"] = value
            elif key not in _EXTRA_NOISE:
                settings[f"extra.{key}"] = value
    return WorkflowView("ui", graphs, settings, layout, _models(workflow))


def _models(workflow: graph.Workflow) -> list[str]:
    found = {f"{ref.folder}/{ref.normalised}" if ref.folder else ref.normalised
             for ref in models.references(workflow)}
    return sorted(found)


def _item(raw: dict[str, Any], node_id: str, type_names: dict[str, str]) -> Item:
    node_type = raw.get("type")
    node_type = node_type if isinstance(node_type, str) else "?"
    values = raw.get("widgets_values")
    named: tuple[tuple[str, Any], ...]
    if isinstance(values, dict):
        named = tuple((str(key), value) for key, value in values.items())
    elif isinstance(values, list):
        named = tuple(zip(widgets.names(node_type, raw, len(values)), values, strict=True))
    else:
        named = ()
    properties = raw.get("properties")
    kept = tuple(sorted((key, value) for key, value in properties.items()
                        if key not in NOISE_PROPERTIES)) if isinstance(properties, dict) else ()
    title = raw.get("title")
    mode = raw.get("mode", 0)
    return Item(
        id=node_id, type=node_type, type_name=type_names.get(node_type, node_type),
        title=title if isinstance(title, str) else None,
        mode=mode if type(mode) is int else 0, widgets=named, properties=kept,
        inputs=_socket_names(raw.get("inputs")), outputs=_socket_names(raw.get("outputs")),
        layout=tuple((key, raw[key]) for key in LAYOUT_KEYS if key in raw),
    )


def _socket_names(sockets: Any) -> tuple[str, ...]:
    if not isinstance(sockets, list):
        return ()
    return tuple(str(socket.get("name", "")) if isinstance(socket, dict) else ""
                 for socket in sockets)


def slot_name(names: tuple[str, ...], slot: Any) -> str:
    """A socket's name, or its index in brackets when it has none."""
    if type(slot) is int and 0 <= slot < len(names) and names[slot]:
        return names[slot]
    return f"[{slot}]"


def _ui_graph(key: str, name: str, raw_graph: dict[str, Any],
              type_names: dict[str, str]) -> GraphView:
    items = []
    raws = raw_graph.get("nodes")
    for raw in raws if isinstance(raws, list) else ():
        if isinstance(raw, dict) and isinstance(raw.get("id"), int | str):
            items.append(_item(raw, str(raw["id"]), type_names))
    by_id = {item.id: item for item in reversed(items)}  # the first of two equal ids wins
    inputs = _socket_names(raw_graph.get("inputs"))  # a definition's own inputs and outputs
    outputs = _socket_names(raw_graph.get("outputs"))
    connections = []
    for _id, origin, origin_slot, target, target_slot, _type in graph.raw_links(raw_graph):
        if not isinstance(origin, int | str) or not isinstance(target, int | str):
            continue
        origin, target = str(origin), str(target)
        source, sink = by_id.get(origin), by_id.get(target)
        connections.append(Connection(
            origin, slot_name(inputs if origin == SUBGRAPH_INPUT else
                              source.outputs if source else (), origin_slot),
            target, slot_name(outputs if target == SUBGRAPH_OUTPUT else
                              sink.inputs if sink else (), target_slot),
        ))
    groups = raw_graph.get("groups")
    return GraphView(key, name, items, connections,
                     [g for g in groups if isinstance(g, dict)] if isinstance(groups, list)
                     else [])


def _definition_meta(definition: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": definition.get("name")}
    for side in ("inputs", "outputs"):
        sockets = definition.get(side)
        meta[side] = [f"{socket.get('name')}: {socket.get('type')}" for socket in sockets
                      if isinstance(socket, dict)] if isinstance(sockets, list) else []
    return meta


def _group_node_graph(name: str, group_node: dict[str, Any],
                      type_names: dict[str, str]) -> GraphView:
    """A legacy group node's inner nodes, named by their ``index``; its links are arrays
    ``[origin index | null, origin slot, target index, target slot, …, type]``."""
    items = []
    raws = group_node.get("nodes")
    for position, raw in enumerate(raws if isinstance(raws, list) else ()):
        if isinstance(raw, dict):
            index = raw.get("index", position)
            items.append(_item(raw, str(index), type_names))
    by_id = {item.id: item for item in reversed(items)}
    connections = []
    links = group_node.get("links")
    for link in links if isinstance(links, list) else ():
        if (isinstance(link, list) and len(link) >= 4 and type(link[0]) is int
                and type(link[2]) is int):
            source, sink = by_id.get(str(link[0])), by_id.get(str(link[2]))
            connections.append(Connection(
                str(link[0]), slot_name(source.outputs if source else (), link[1]),
                str(link[2]), slot_name(sink.inputs if sink else (), link[3])))
    return GraphView(f"workflow>{name}", f"group node {json.dumps(name, ensure_ascii=False)}",
                     items, connections, [])


def _api_graph(document: dict[str, Any]) -> GraphView:
    items = []
    connections: list[Connection] = []
    for node_id, raw in document.items():
        inputs = raw.get("inputs")
        inputs = inputs if isinstance(inputs, dict) else {}
        literal = tuple((name, value) for name, value in inputs.items()
                        if not graph.is_link(value))
        linked = [(name, value) for name, value in inputs.items() if graph.is_link(value)]
        meta = raw.get("_meta")
        title = meta.get("title") if isinstance(meta, dict) else None
        class_type = raw.get("class_type")
        class_type = class_type if isinstance(class_type, str) else "?"
        items.append(Item(
            id=str(node_id), type=class_type, type_name=class_type,
            title=title if isinstance(title, str) else None, mode=0, widgets=literal,
            properties=(), inputs=tuple(name for name, _ in linked), outputs=(), layout=()))
        connections.extend(Connection(str(value[0]), f"[{value[1]}]", str(node_id), name)
                           for name, value in linked)
    return GraphView("", "workflow", items, connections, [])


def mode_name(mode: int) -> str:
    return MODES.get(mode, str(mode))
