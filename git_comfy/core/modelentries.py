"""The frontend's own description of a workflow's models: ``properties.models`` entries on
nodes (``{"name", "url", "directory", "hash", "hash_type"}``) and the workflow-level ``models``
list. Export fills them in — the SHA-256 as ``hash`` with ``hash_type: "SHA256"``, and a ``url``
where a source is known — so the workflow describes its models even outside the bundle, and
ComfyUI's missing-models dialog can offer the download.

Pure: takes a document and the bundle's models, returns a changed copy.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

from git_comfy.core import graph
from git_comfy.core.bundle import Model
from git_comfy.core.loaders import canonical_folder
from git_comfy.core.models import normalise

HASH_TYPE = "SHA256"  # the frontend's spelling


def _node_lists(document: dict[str, Any]) -> Iterator[list[Any]]:
    """Every list of UI nodes in the document: the top level, each subgraph definition, each
    legacy group node."""
    yield document.get("nodes") or []
    definitions = document.get("definitions")
    subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
    for subgraph in subgraphs if isinstance(subgraphs, list) else ():
        if isinstance(subgraph, dict):
            yield subgraph.get("nodes") or []
    extra = document.get("extra")
    groups = extra.get("groupNodes") if isinstance(extra, dict) else None
    for group in groups.values() if isinstance(groups, dict) else ():
        if isinstance(group, dict):
            yield group.get("nodes") or []


def _entries(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    listed = document.get("models")
    yield from (e for e in (listed if isinstance(listed, list) else ()) if isinstance(e, dict))
    for nodes in _node_lists(document):
        for node in nodes if isinstance(nodes, list) else ():
            properties = node.get("properties") if isinstance(node, dict) else None
            entries = properties.get("models") if isinstance(properties, dict) else None
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, dict):
                    yield entry


def _match(entry: dict[str, Any], models: Sequence[Model]) -> Model | None:
    name = entry.get("name")
    if not isinstance(name, str):
        return None
    directory = entry.get("directory")
    folder = canonical_folder(directory) if isinstance(directory, str) and directory else None
    for model in models:
        if normalise(model.name) == normalise(name) and (
                folder is None or model.folder is None or folder == model.folder):
            return model
    return None


def _fill(entry: dict[str, Any], model: Model) -> None:
    entry["hash"] = model.sha256
    entry["hash_type"] = HASH_TYPE
    if model.sources and not entry.get("url"):
        entry["url"] = model.sources[0]


def _widget_strings(raw: dict[str, Any]) -> set[str]:
    values = raw.get("widgets_values")
    found = values.values() if isinstance(values, dict) else values if isinstance(
        values, list) else ()
    return {value for value in found if isinstance(value, str)}


def annotate(document: dict[str, Any], models: Sequence[Model]) -> dict[str, Any]:
    """A copy of ``document`` whose model entries carry each bundled model's hash (and url). A
    node that loads a model with a known source but has no entry for it gets one, as the
    frontend writes them, so the download is offered on any machine."""
    result = copy.deepcopy(document)
    for entry in _entries(result):
        model = _match(entry, models)
        if model is not None:
            _fill(entry, model)
    if "nodes" not in result:
        return result  # API format: no properties to describe models with
    workflow = graph.parse(result)  # its nodes' ``raw`` point into ``result``
    for model in models:
        if not model.sources or model.folder is None:
            continue
        for node_id in model.nodes:
            node = workflow.node(node_id)
            raw = node.raw if node is not None else None
            if raw is None or model.name not in _widget_strings(raw):
                continue  # the frontend matches entries to the node's own widget values
            properties = raw.setdefault("properties", {})
            if not isinstance(properties, dict):
                continue
            entries = properties.setdefault("models", [])
            if isinstance(entries, list) and not any(
                    isinstance(e, dict) and e.get("name") == model.name for e in entries):
                entry = {"name": model.name, "url": model.sources[0], "directory": model.folder}
                _fill(entry, model)
                entries.append(entry)
    return result
