"""The workflow model: every node of a workflow document, as ComfyUI would run or show it.

:func:`parse` wraps a document, it never rebuilds it: each :class:`Node` keeps ``raw``, the very
node object in the document, so later code can rewrite a value in place and save the document as
it came. Both formats are read: the UI format the editor saves (version 0.4 and 1) and the API
("prompt") format the server runs.

Subgraphs are expanded the way ComfyUI flattens them before it runs a prompt: inner node 7 of
instance 19 becomes ``"19:7"`` (nested: ``"19:3:7"``), once per instance. Nodes of a definition
that no node instantiates are listed once, inactive, as ``"<definition uuid>:7"``. Legacy group
nodes (``extra.groupNodes``) are expanded the same way (``"<instance id>:<index>"``, or
``"workflow>Name:<index>"`` for a group without an instance).

A subgraph can promote an inner widget to its instance in two ways (notes/comfyui.md §2.4):
A — a subgraph input linked to the inner widget's socket: the value that runs is the instance's
``widgets_values`` slot for that input; B — ``properties.proxyWidgets``: the values stay in the
inner nodes. A legacy group node's ``widgets_values`` concatenate its inner nodes' values. A
node's ``widgets`` is always its own ``widgets_values``; :meth:`Node.widget` gives the value that
runs, and :attr:`Node.overrides` says where it is written.

Expansion is iterative and bounded (nesting depth, node count, id length): a hostile file may
nest hundreds of subgraphs or instantiate each definition twice per level.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from git_comfy.core import jsonsafe
from git_comfy.errors import FatalError

Format = Literal["ui", "api"]
Kind = Literal["node", "frontend", "subgraph", "group"]

MUTED = 2  # LGraphEventMode.NEVER
BYPASSED = 4  # LGraphEventMode.BYPASS
MAX_NESTING = 256  # subgraph instances inside instances; jsonsafe.MAX_DEPTH bounds nested JSON
MAX_NODES = 100_000  # after expansion; the largest template has 211
MAX_ID_CHARS = 8_000_000  # all node ids together: deep nesting makes long ids
MAX_NODE_ID = 128  # characters of one raw node id (ComfyUI writes small integers)
SUBGRAPH_INPUT = -10  # the id of a subgraph's input node in its links
GROUP_PREFIXES = ("workflow>", "workflow/")  # legacy group-node instance types (new, old)

# Node types the editor never sends to the server. ComfyUI's own (LiteGraph and the frontend),
# KJNodes' Set/Get (isVirtualNode in web/js/setgetnodes.js) and rgthree's virtual nodes
# (isVirtualNode in src_web/comfyui/*.ts; rgthree's other nodes do run on the server).
FRONTEND_ONLY = frozenset({
    "Reroute", "Note", "MarkdownNote", "PrimitiveNode",
    "SetNode", "GetNode",
    "Label (rgthree)", "Bookmark (rgthree)", "Reroute (rgthree)", "Node Collector (rgthree)",
    "Fast Muter (rgthree)", "Fast Bypasser (rgthree)", "Fast Groups Muter (rgthree)",
    "Fast Groups Bypasser (rgthree)", "Fast Actions Button (rgthree)",
    "Mute / Bypass Repeater (rgthree)", "Mute / Bypass Relay (rgthree)",
    "Random Unmuter (rgthree)", "Power Conductor (rgthree)",
})

_NO_OVERRIDES: Mapping[str | int, Override] = MappingProxyType({})


class WorkflowError(ValueError):
    """The document is not a workflow this module can read; the message (one line) says why."""


@dataclass(frozen=True, slots=True)
class Override:
    """A widget value that runs instead of the node's own, and where it is written: slot
    ``index`` (a list index, or a key of a dict) of the ``widgets_values`` of node ``holder``."""

    value: Any
    holder: str
    raw: dict[str, Any]
    index: int | str


@dataclass(frozen=True, slots=True)
class Node:
    """One node in one context (top level, or one subgraph/group instance)."""

    id: str  # the execution id: "7", "19:7", "19:3:7", "<definition uuid>:7"
    type: str  # the class name; a subgraph uuid or "workflow>Name" for an instance
    title: str | None
    mode: int  # 0 normal, 2 muted, 4 bypassed; always 0 in the API format
    active: bool  # false when this node or an enclosing instance is muted or bypassed
    widgets: list[Any] | dict[str, Any]  # the node's own widgets_values; API: literal inputs
    inputs: dict[str, Any]  # API: the literal (non-link) inputs by name; UI: {}
    properties: dict[str, Any]
    frontend_only: bool  # never sent to the server (Reroute, Note, PrimitiveNode, …)
    raw: dict[str, Any]  # the node object in the document
    kind: Kind = "node"  # "subgraph"/"group": an instance, expanded into the nodes after it
    parent: str | None = None  # the enclosing instance's id, a definition's uuid, or None
    # effective values promoted from an enclosing instance: by widget name (subgraphs) or by
    # widget index (legacy group nodes)
    overrides: Mapping[str | int, Override] = field(default_factory=lambda: _NO_OVERRIDES)

    def widget(self, name: str | None = None, index: int | None = None) -> Any:
        """The value of a widget as it runs (a promoted value wins over the node's own), found
        by name or by its position in ``widgets_values``; None when there is none."""
        overrides = self.overrides
        if overrides:
            if name is not None and name in overrides:
                return overrides[name].value
            if index is not None and index in overrides:
                return overrides[index].value
        widgets = self.widgets
        if isinstance(widgets, dict):
            return widgets.get(name) if name is not None else None
        if index is not None and 0 <= index < len(widgets):
            return widgets[index]
        return None

    def values(self) -> Iterator[Any]:
        """Every widget value as it runs: the node's own, each slot an override names replaced
        by it, then the overrides no slot of its own matches (a subgraph promotes by widget
        name, and a list of values has no names)."""
        overrides = self.overrides
        widgets = self.widgets
        if not overrides:
            yield from widgets.values() if isinstance(widgets, dict) else widgets
            return
        slots: Iterator[tuple[str | int, Any]] = iter(
            widgets.items() if isinstance(widgets, dict) else enumerate(widgets))
        matched = set()
        for key, value in slots:
            override = overrides.get(key)
            if override is None:
                yield value
            else:
                matched.add(key)
                yield override.value
        for key, override in overrides.items():
            if key not in matched:
                yield override.value


@dataclass(frozen=True, slots=True)
class Link:
    """A connection, with execution ids at both ends (a subgraph's input/output node is
    ``"<instance>:-10"``/``"<instance>:-20"``). In the API format ``target_slot`` is the input
    name."""

    id: int | str | None
    origin: str
    origin_slot: int
    target: str
    target_slot: int | str
    type: str | None


@dataclass(frozen=True, slots=True)
class Workflow:
    format: Format
    document: dict[str, Any]
    nodes: list[Node]  # every node, inner nodes after their instance, in document order
    definitions: dict[str, dict[str, Any]]  # subgraph uuid → definition (nested ones included)
    group_nodes: dict[str, dict[str, Any]]  # legacy group-node name → its extra.groupNodes entry
    models: list[dict[str, Any]]  # the document's top-level "models" entries (objects only)
    warnings: tuple[str, ...]  # what could not be read as expected; the rest is still right
    by_id: dict[str, Node]
    # (id prefix, graph object) for every expanded graph, for links()
    graphs: tuple[tuple[str, dict[str, Any]], ...] = ()

    def node(self, node_id: str) -> Node | None:
        return self.by_id.get(node_id)

    def links(self) -> list[Link]:
        """Every connection of every expanded graph (legacy group nodes' inner links, which
        use another layout, are not included)."""
        if self.format == "api":
            return [
                Link(None, str(value[0]), value[1], node.id, name, None)
                for node in self.nodes
                for name, value in (node.raw.get("inputs") or {}).items()
                if is_link(value)
            ]
        return [link for prefix, graph in self.graphs for link in _links(graph, prefix)]


def load(data: bytes, where: str) -> Workflow:
    """The workflow in untrusted ``data``, strictly checked, or one line naming ``where`` it
    came from."""
    try:
        return parse(jsonsafe.loads(data))
    except jsonsafe.JSONError as error:
        raise FatalError(f"{where} is not valid JSON ({error})") from None
    except WorkflowError as error:
        raise FatalError(f"{where} is not a ComfyUI workflow ({error})") from None


def parse(document: Any) -> Workflow:
    """The workflow model of a parsed JSON document, or :class:`WorkflowError`."""
    if not isinstance(document, dict):
        raise WorkflowError(f"the top level is a JSON {_json_type(document)}, not an object")
    if isinstance(document.get("nodes"), list):
        return _Expander(document).run()
    if document and all(isinstance(v, dict) and "class_type" in v for v in document.values()):
        return _parse_api(document)  # (an API node may be called "nodes")
    if "nodes" in document:
        raise WorkflowError('"nodes" is not a list')
    prompt = document.get("prompt")
    if isinstance(prompt, dict) and prompt and all(
        isinstance(v, dict) and "class_type" in v for v in prompt.values()
    ):
        raise WorkflowError('this is a /prompt request body; its "prompt" is the workflow')
    raise WorkflowError(
        'not a ComfyUI workflow: no "nodes" list (UI format) and not a map of nodes with '
        '"class_type" (API format)'
    )


def is_group_type(node_type: str) -> bool:
    """Whether ``node_type`` is a legacy group-node instance's (``workflow>Name``)."""
    return node_type.startswith(GROUP_PREFIXES)


def _group_name(node_type: str) -> str:
    return node_type[len(GROUP_PREFIXES[0]):]  # both prefixes have the same length


# --- API format -------------------------------------------------------------------------------


def is_link(value: Any) -> bool:
    """ComfyUI reads any input that is a list as a link ``[source id, output index]``."""
    return (
        type(value) is list
        and len(value) == 2
        and isinstance(value[0], str | int)
        and type(value[1]) is int
    )


def _parse_api(document: dict[str, Any]) -> Workflow:
    nodes = []
    for key, value in document.items():
        class_type = value["class_type"]
        inputs = value.get("inputs", {})
        if not isinstance(class_type, str):
            raise WorkflowError(f"node {key!r}: class_type is not a string")
        if not isinstance(inputs, dict):
            raise WorkflowError(f"node {key!r}: inputs is not an object")
        literal = {name: v for name, v in inputs.items() if not is_link(v)}
        meta = value.get("_meta")
        title = meta.get("title") if isinstance(meta, dict) else None
        frontend = class_type in FRONTEND_ONLY
        nodes.append(Node(
            id=key, type=class_type, title=title if isinstance(title, str) else None, mode=0,
            active=True, widgets=literal, inputs=literal, properties={}, frontend_only=frontend,
            raw=value, kind="frontend" if frontend else "node",
        ))
    by_id = {node.id: node for node in nodes}
    return Workflow("api", document, nodes, {}, {}, [], (), by_id)


# --- UI format --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """Where a list of raw nodes sits: its id prefix, the instance it belongs to, whether it
    runs, which definitions enclose it (cycle check), and values promoted into its nodes."""

    prefix: str
    parent: str | None
    active: bool
    path: tuple[str, ...]
    overrides: dict[str, dict[str | int, Override]]
    group: bool = False  # legacy group-node inner nodes are named by their "index"


# a subgraph definition's promoted inputs: (input name, [(inner node id, widget name)])
_Promoted = list[tuple[str, list[tuple[str, str]]]]


class _Expander:
    """Walks the top-level graph and every definition reached from it, without recursion."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.warnings: list[str] = []
        self.definitions = _collect_definitions(document)
        extra = document.get("extra")
        groups = extra.get("groupNodes") if isinstance(extra, dict) else None
        self.group_nodes: dict[str, dict[str, Any]] = {
            name: value for name, value in (groups or {}).items() if isinstance(value, dict)
        } if isinstance(groups, dict) else {}
        self.nodes: list[Node] = []
        self.by_id: dict[str, Node] = {}
        self.graphs: list[tuple[str, dict[str, Any]]] = []
        self.expanded: set[str] = set()  # definition uuids and "workflow>Name" reached
        self.promoted: dict[str, _Promoted] = {}
        self.id_chars = 0

    def run(self) -> Workflow:
        document = self.document
        self._walk(document["nodes"], _Context("", None, True, (), {}), document)
        keys = [*self.definitions, *(GROUP_PREFIXES[0] + name for name in self.group_nodes)]
        if any(key not in self.expanded for key in keys):
            # definitions no instance reaches: listed once, inactive, under their own uuid
            used = self._instantiated_types()
            for key in keys:
                if key not in self.expanded and key not in used:
                    self._walk_unused(key)
            for key in keys:
                if key not in self.expanded:  # only reached from a cycle of definitions
                    self._walk_unused(key)
        models = document.get("models")
        return Workflow(
            "ui", document, self.nodes, self.definitions, self.group_nodes,
            [entry for entry in models if isinstance(entry, dict)]
            if isinstance(models, list) else [],
            tuple(self.warnings), self.by_id, tuple(self.graphs),
        )

    def _instantiated_types(self) -> set[str]:
        types: set[str] = set()
        sources = [self.document["nodes"]]
        sources += [d.get("nodes") for d in self.definitions.values()]
        sources += [g.get("nodes") for g in self.group_nodes.values()]
        for raws in sources:
            for raw in raws if isinstance(raws, list) else ():
                node_type = raw.get("type") if isinstance(raw, dict) else None
                if isinstance(node_type, str):
                    if is_group_type(node_type):
                        node_type = GROUP_PREFIXES[0] + _group_name(node_type)
                    types.add(node_type)
        return types

    def _walk_unused(self, key: str) -> None:
        if key in self.definitions:
            graph = self.definitions[key]
            self.expanded.add(key)
            self._walk(_inner_nodes(graph, key), _Context(f"{key}:", key, False, (key,), {}),
                       graph)
        else:
            name = _group_name(key)
            self.expanded.add(key)
            context = _Context(f"{key}:", key, False, (key,), {}, group=True)
            self._walk(_inner_nodes(self.group_nodes[name], key), context, None)

    def _walk(self, raws: list[Any], context: _Context, graph: dict[str, Any] | None) -> None:
        """Depth first, in document order: an instance, then its inner nodes, then the rest.
        This is parse()'s hot loop, so it reads raw nodes with plain lookups, inline."""
        if graph is not None:
            self.graphs.append((context.prefix, graph))
        nodes, definitions, group_nodes = self.nodes, self.definitions, self.group_nodes
        by_id = self.by_id
        stack: list[tuple[Iterator[tuple[int, Any]], _Context]] = [(enumerate(raws), context)]
        while stack:
            iterator, context = stack.pop()
            prefix, parent, overrides = context.prefix, context.parent, context.overrides
            for position, raw in iterator:
                if type(raw) is not dict:
                    raise WorkflowError(f"a node {_where(context)}is a JSON {_json_type(raw)}, "
                                        "not an object")
                local = raw.get("index", position) if context.group else raw.get("id")
                local = str(local) if type(local) is int else _node_id(local, context)
                node_id = prefix + local
                self.id_chars += len(node_id)
                if self.id_chars > MAX_ID_CHARS or len(nodes) >= MAX_NODES:
                    raise WorkflowError(f"the subgraphs expand to more than {MAX_NODES} nodes "
                                        f"(or {MAX_ID_CHARS} characters of node ids)")
                node_type = raw.get("type")
                if type(node_type) is not str:
                    raise WorkflowError(f"node {node_id} has no type")
                mode = raw.get("mode", 0)
                if type(mode) is not int:
                    mode = int(mode) if isinstance(mode, float) and mode.is_integer() else 0
                widgets = raw.get("widgets_values")
                if type(widgets) is not list and type(widgets) is not dict:
                    widgets = []
                properties = raw.get("properties")
                if type(properties) is not dict:
                    properties = {}
                title = raw.get("title")
                kind: Kind
                if node_type in FRONTEND_ONLY:
                    kind = "frontend"
                elif node_type in definitions:
                    kind = "subgraph"
                elif node_type.startswith(GROUP_PREFIXES):
                    kind = "group"
                else:
                    kind = "node"
                promoted = overrides.get(local) if overrides else None
                node = Node(
                    node_id, node_type, title if type(title) is str else None, mode,
                    context.active and mode != MUTED and mode != BYPASSED, widgets, {},
                    properties, kind == "frontend", raw, kind, parent,
                    promoted if promoted else _NO_OVERRIDES,
                )
                nodes.append(node)
                if node_id not in by_id:
                    by_id[node_id] = node
                if kind == "subgraph":
                    stack.append((iterator, context))  # the rest, after the inner nodes
                    stack.append(self._enter_subgraph(node, context))
                    break
                if kind == "group":
                    if _group_name(node_type) in group_nodes:
                        stack.append((iterator, context))
                        stack.append(self._enter_group(node, context))
                        break
                    self.warnings.append(f"group node {node_id} ({node_type}) has no "
                                         "definition in extra.groupNodes")

    def _check_nesting(self, node: Node, key: str, context: _Context) -> None:
        if key in context.path:
            raise WorkflowError(f"node {node.id}: subgraph {key} contains itself")
        if len(context.path) >= MAX_NESTING:
            raise WorkflowError(f"node {node.id}: subgraphs nested more than {MAX_NESTING} deep")

    def _enter_subgraph(self, node: Node, context: _Context,
                        ) -> tuple[Iterator[tuple[int, Any]], _Context]:
        key = node.type
        self._check_nesting(node, key, context)
        self.expanded.add(key)
        definition = self.definitions[key]
        promoted = self.promoted.get(key)
        if promoted is None:
            promoted = self.promoted[key] = _promoted_inputs(definition)
        inner: dict[str, dict[str | int, Override]] = {}
        for (_name, targets), override in zip(promoted, self._instance_values(node, promoted),
                                              strict=True):
            if override is not None:
                for inner_id, widget_name in targets:
                    inner.setdefault(inner_id, {})[widget_name] = override
        child = _Context(f"{node.id}:", node.id, node.active, (*context.path, key), inner)
        self.graphs.append((child.prefix, definition))
        return enumerate(_inner_nodes(definition, key)), child

    def _instance_values(self, node: Node, promoted: _Promoted) -> list[Override | None]:
        """Mechanism A: the instance's widgets_values hold one value per promoted input, in
        the order of the definition's inputs. With proxyWidgets (mechanism B) they are empty
        and the inner nodes keep their values."""
        widgets = node.widgets
        proxied = "proxyWidgets" in node.properties
        positional = isinstance(widgets, list) and len(widgets) == len(promoted) and not proxied
        if promoted and not positional and isinstance(widgets, list) and not proxied:
            self.warnings.append(
                f"subgraph instance {node.id}: {len(widgets)} widget values for "
                f"{len(promoted)} promoted widgets; the inner nodes' own values are used")
        values: list[Override | None] = []
        for index, (name, _targets) in enumerate(promoted):
            if name in node.overrides:  # promoted into this instance from further out
                values.append(node.overrides[name])
            elif positional and isinstance(widgets, list):
                values.append(Override(widgets[index], node.id, node.raw, index))
            elif isinstance(widgets, dict) and name in widgets:
                values.append(Override(widgets[name], node.id, node.raw, name))
            else:
                values.append(None)
        return values

    def _enter_group(self, node: Node, context: _Context,
                     ) -> tuple[Iterator[tuple[int, Any]], _Context]:
        name = _group_name(node.type)
        key = GROUP_PREFIXES[0] + name
        self._check_nesting(node, key, context)
        self.expanded.add(key)
        raws = _inner_nodes(self.group_nodes[name], key)
        inner: dict[str, dict[str | int, Override]] = {}
        sizes = [len(raw["widgets_values"]) if isinstance(raw, dict)
                 and isinstance(raw.get("widgets_values"), list) else 0 for raw in raws]
        widgets = node.widgets
        if isinstance(widgets, list) and len(widgets) == sum(sizes):
            # the instance's values are its inner nodes' values, concatenated in order
            start = 0
            for position, (raw, size) in enumerate(zip(raws, sizes, strict=True)):
                local = _node_id(raw.get("index", position), context) if isinstance(
                    raw, dict) else str(position)
                for offset in range(size):
                    inner.setdefault(local, {})[offset] = Override(
                        widgets[start + offset], node.id, node.raw, start + offset)
                start += size
        else:
            self.warnings.append(
                f"group node {node.id} ({node.type}): {len(widgets)} widget values for "
                f"{sum(sizes)} inner widgets; the inner nodes' own values are used")
        child = _Context(f"{node.id}:", node.id, node.active, (*context.path, key), inner,
                         group=True)
        return enumerate(raws), child


def _collect_definitions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every subgraph definition by uuid, nested ``definitions`` included (the frontend
    registers them all by id); the first of two with one id wins."""
    found: dict[str, dict[str, Any]] = {}
    pending = [document]
    while pending:
        graph = pending.pop()
        definitions = graph.get("definitions")
        subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
        if subgraphs is None:
            continue
        if not isinstance(subgraphs, list):
            raise WorkflowError('"definitions.subgraphs" is not a list')
        for definition in subgraphs:
            if not isinstance(definition, dict) or not isinstance(definition.get("id"), str):
                raise WorkflowError("a subgraph definition is not an object with a string id")
            found.setdefault(definition["id"], definition)
            pending.append(definition)
    return found


def _inner_nodes(definition: dict[str, Any], key: str) -> list[Any]:
    nodes = definition.get("nodes", [])
    if not isinstance(nodes, list):
        raise WorkflowError(f'"nodes" of {key} is not a list')
    return nodes


def _promoted_inputs(definition: dict[str, Any]) -> _Promoted:
    """The definition's inputs that are linked to an inner widget's socket (mechanism A), in
    order, each with the inner (node id, widget name) pairs it feeds."""
    inputs = definition.get("inputs")
    links = definition.get("links")
    if not isinstance(inputs, list) or not inputs or not isinstance(links, list):
        return []
    by_slot: dict[int, list[tuple[str, Any]]] = {}
    for link in links:
        # objects in definitions; arrays [id, origin, origin slot, target, target slot, type]
        if type(link) is dict:
            origin = link.get("origin_id")
            if origin == SUBGRAPH_INPUT or origin == "-10":
                origin_slot, target = link.get("origin_slot"), link.get("target_id")
                target_slot = link.get("target_slot")
            else:
                continue
        elif type(link) is list and len(link) >= 5 and (link[1] == SUBGRAPH_INPUT
                                                         or link[1] == "-10"):
            origin_slot, target, target_slot = link[2], link[3], link[4]
        else:
            continue
        if type(origin_slot) is int and isinstance(target, int | str):
            by_slot.setdefault(origin_slot, []).append((str(target), target_slot))
    if not by_slot:
        return []
    wanted = {target for targets in by_slot.values() for target, _ in targets}
    nodes = {}
    for raw in definition.get("nodes") or ():
        if isinstance(raw, dict) and str(raw.get("id")) in wanted:
            nodes[str(raw.get("id"))] = raw
    promoted: _Promoted = []
    for slot, entry in enumerate(inputs):
        name = entry.get("name") if isinstance(entry, dict) else None
        targets = []
        for target, target_slot in by_slot.get(slot, ()):
            sockets = nodes.get(target, {}).get("inputs")
            if (isinstance(sockets, list) and type(target_slot) is int
                    and 0 <= target_slot < len(sockets) and isinstance(sockets[target_slot], dict)):
                widget = sockets[target_slot].get("widget")
                widget_name = widget.get("name") if isinstance(widget, dict) else None
                if isinstance(widget_name, str):
                    targets.append((target, widget_name))
        if targets and isinstance(name, str):
            promoted.append((name, targets))
    return promoted


def raw_links(graph: dict[str, Any]) -> Iterator[tuple[Any, Any, Any, Any, Any, Any]]:
    """A graph's links as (id, origin, origin slot, target, target slot, type), from either
    layout: arrays (version 0.4) or objects (version 1 and subgraph definitions)."""
    links = graph.get("links")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, list) and len(link) >= 5:
            yield (link[0], link[1], link[2], link[3], link[4],
                   link[5] if len(link) > 5 else None)
        elif isinstance(link, dict):
            yield (link.get("id"), link.get("origin_id"), link.get("origin_slot"),
                   link.get("target_id"), link.get("target_slot"), link.get("type"))


def _links(graph: dict[str, Any], prefix: str) -> Iterator[Link]:
    for link_id, origin, origin_slot, target, target_slot, kind in raw_links(graph):
        if (isinstance(origin, int | str) and isinstance(target, int | str)
                and type(origin_slot) is int and type(target_slot) is int):
            yield Link(link_id if isinstance(link_id, int | str) else None,
                       f"{prefix}{origin}", origin_slot, f"{prefix}{target}", target_slot,
                       kind if isinstance(kind, str) else None)


def _node_id(value: Any, context: _Context) -> str:
    if type(value) is int:
        return str(value)
    if type(value) is str and 0 < len(value) <= MAX_NODE_ID:
        return value
    raise WorkflowError(f"a node {_where(context)}has an id that is not a number or a short "
                        "string")


def _where(context: _Context) -> str:
    return f"in {context.parent} " if context.parent else ""


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
