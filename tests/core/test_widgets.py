"""``widgets``: the names of widget values are what a real ComfyUI says, and a name is given
only where it is certain (a list of another length falls through to the next source)."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest
from workflow_edits import TEMPLATES

from git_comfy.core import widgets

OBJECT_INFO = (Path(__file__).parents[2] / ".." / "shared" / "corpus"
               / "object_info-comfyui-0.3.64.json")
_WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def layout(info: dict[str, Any]) -> list[str]:
    """The widget names of a node as the frontend lays them out (notes/comfyui.md §3.3)."""
    names = []
    for section in ("required", "optional"):
        for name in info.get("input_order", {}).get(section, []):
            spec = info["input"][section][name]
            kind = spec[0]
            options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if not (isinstance(kind, list) or kind in _WIDGET_TYPES) or options.get("forceInput"):
                continue
            names.append(name)
            if kind == "INT" and (options.get("control_after_generate")
                                  or name in ("seed", "noise_seed")):
                names.append(widgets.CONTROL)
            if any(key.endswith("_upload") and value for key, value in options.items()):
                names.append("upload")
    return names


def test_the_table_is_what_object_info_says() -> None:
    if not OBJECT_INFO.is_file():
        pytest.skip(f"no shared corpus at {OBJECT_INFO.parent}")
    info = json.loads(OBJECT_INFO.read_text(encoding="utf-8"))
    for node_type, row in widgets.TABLE.items():
        assert row.split() == layout(info[node_type]), node_type


def _template_nodes() -> list[dict[str, Any]]:
    folder = importlib.resources.files(TEMPLATES) / "templates"
    nodes = []
    for item in folder.iterdir():
        if item.name.endswith(".json") and not item.name.startswith(("index", "fuse")):
            document = json.loads(item.read_bytes())
            for graph in [document, *document.get("definitions", {}).get("subgraphs", [])]:
                nodes += [node for node in graph.get("nodes", []) if isinstance(node, dict)]
    return nodes


def test_the_table_agrees_with_every_template_that_names_its_values() -> None:
    checked = 0
    for node in _template_nodes():
        values, named = node.get("widgets_values"), node.get("widgets_values_named")
        row = widgets.TABLE.get(node["type"])
        if row is None or not isinstance(named, dict) or list(named.values()) != values:
            continue
        if len(row.split()) != len(values):
            continue  # another ComfyUI version: the table is not used for it
        # the named twin calls a control slot by its value ("fixed") in some files
        for key, name in zip(named, row.split(), strict=True):
            assert key.split("#")[0] == name or name == widgets.CONTROL, (node["type"], key)
        checked += 1
    assert checked > 900


def test_sources_in_order() -> None:
    sampler = widgets.TABLE["KSampler"].split()
    assert widgets.names("KSampler", {}, 7) == sampler
    # another length: the named twin, then the widget sockets, then the loader table, then [i]
    twin = {"widgets_values": [1, 2], "widgets_values_named": {"a": 1, "b#1": 2}}
    assert widgets.names("KSampler", twin, 2) == ["a", "b#1"]
    sockets = {"inputs": [{"name": "model", "link": 1},
                          {"name": "x", "widget": {"name": "x"}},
                          {"name": "y", "widget": {"name": "y"}}]}
    assert widgets.names("Custom", sockets, 2) == ["x", "y"]
    assert widgets.names("Custom", sockets, 3) == ["[0]", "[1]", "[2]"]
    assert widgets.names("CheckpointLoader", {}, 3) == ["config_name", "ckpt_name", "[2]"]
    assert widgets.names("UnetLoaderGGUF", {}, 1) == ["unet_name"]
    assert widgets.names("Note", {}, 1) == ["text"]


def test_names_are_unique() -> None:
    assert widgets.names("Custom", {"inputs": [{"widget": {"name": "a"}},
                                               {"widget": {"name": "a"}}]}, 2) == ["a", "a#2"]
