"""Edits of workflow documents for the diff, text form and merge tests: what ComfyUI (or a tool
that renumbers) would save after a user's change."""

from __future__ import annotations

import copy
import importlib.resources
import json
from pathlib import Path
from typing import Any

from git_comfy.commands import demo

LIGHTHOUSE = Path(demo.DATA) / "workflows" / "lighthouse.json"
TEMPLATES = "comfyui_workflow_templates_json"
LARGEST = "templates-1_click_multiple_character_angles-v1.0.json"


def lighthouse() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(LIGHTHOUSE.read_text(encoding="utf-8"))
    return document


def template(name: str) -> dict[str, Any]:
    """A workflow of the templates package (a test extra)."""
    data = (importlib.resources.files(TEMPLATES) / "templates" / name).read_bytes()
    document: dict[str, Any] = json.loads(data)
    return document


def node_of(graph: dict[str, Any], node_type: str, number: int = 0) -> dict[str, Any]:
    found: list[dict[str, Any]] = [node for node in graph["nodes"] if node["type"] == node_type]
    return found[number]


def by_id(graph: dict[str, Any], node_id: int) -> dict[str, Any]:
    return next(node for node in graph["nodes"] if node["id"] == node_id)


def _link_fields(link: Any) -> tuple[Any, Any]:
    if isinstance(link, dict):
        return link["origin_id"], link["target_id"]
    return link[1], link[3]


def delete_node(graph: dict[str, Any], node_id: int) -> dict[str, Any]:
    """``graph`` without node ``node_id`` and its links (the sockets at the other ends are
    cleared), as the editor saves it."""
    graph = copy.deepcopy(graph)
    gone = set()
    kept_links = []
    for link in graph["links"]:
        origin, target = _link_fields(link)
        link_id = link["id"] if isinstance(link, dict) else link[0]
        if node_id in (origin, target):
            gone.add(link_id)
        else:
            kept_links.append(link)
    graph["links"] = kept_links
    graph["nodes"] = [node for node in graph["nodes"] if node["id"] != node_id]
    for node in graph["nodes"]:
        for socket in node.get("inputs") or ():
            if socket.get("link") in gone:
                socket["link"] = None
        for socket in node.get("outputs") or ():
            if socket.get("links"):
                socket["links"] = [i for i in socket["links"] if i not in gone]
    for side in ("inputs", "outputs"):  # a subgraph definition's own sockets
        for socket in graph.get(side) or ():
            if socket.get("linkIds"):
                socket["linkIds"] = [i for i in socket["linkIds"] if i not in gone]
    return graph


def renumber(graph: dict[str, Any]) -> dict[str, Any]:
    """The same graph with node ids 1, 2, 3 … in id order and link ids likewise (seed, "Node
    ID Instability": delete #3 and #4 becomes #3)."""
    graph = copy.deepcopy(graph)
    nodes = {node["id"]: number for number, node in
             enumerate(sorted(graph["nodes"], key=lambda node: node["id"]), 1)}
    links = {}
    for number, link in enumerate(graph["links"], 1):
        old = link["id"] if isinstance(link, dict) else link[0]
        links[old] = number
        if isinstance(link, dict):
            link.update(id=number, origin_id=nodes.get(link["origin_id"], link["origin_id"]),
                        target_id=nodes.get(link["target_id"], link["target_id"]))
        else:
            link[0], link[1], link[3] = (number, nodes.get(link[1], link[1]),
                                         nodes.get(link[3], link[3]))
    for node in graph["nodes"]:
        node["id"] = nodes[node["id"]]
        for socket in node.get("inputs") or ():
            if socket.get("link") is not None:
                socket["link"] = links.get(socket["link"], socket["link"])
        for socket in node.get("outputs") or ():
            if socket.get("links"):
                socket["links"] = [links.get(i, i) for i in socket["links"]]
    for side in ("inputs", "outputs"):  # a subgraph definition's own sockets
        for socket in graph.get(side) or ():
            if socket.get("linkIds"):
                socket["linkIds"] = [links.get(i, i) for i in socket["linkIds"]]
    if "last_node_id" in graph:
        graph["last_node_id"] = len(nodes)
        graph["last_link_id"] = len(links)
    return graph
