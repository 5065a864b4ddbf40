"""``diff``: the semantic diff matches nodes by what they are, names widget values, hides layout
unless asked, and refuses to compare two formats; the text lines read like the workflow."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from workflow_edits import (
    LARGEST,
    delete_node,
    lighthouse,
    node_of,
    renumber,
    template,
)

from git_comfy.core import diff, difftext, graph, jsonsafe
from git_comfy.core.diff import ABSENT, Change, Diff


def compare(old: dict[str, Any], new: dict[str, Any], *, layout: bool = False) -> Diff:
    return diff.diff(graph.parse(copy.deepcopy(old)), graph.parse(copy.deepcopy(new)),
                     layout=layout)


def text(result: Diff) -> list[str]:
    return [line for _style, line in difftext.lines(result, "title")]


def test_identical_workflows_have_an_empty_diff() -> None:
    result = compare(lighthouse(), lighthouse())
    assert result.empty()
    assert difftext.lines(result, "title") == []


def test_widget_values_are_named() -> None:
    new = lighthouse()
    node_of(new, "KSampler")["widgets_values"][0] = 42
    node_of(new, "KSampler")["widgets_values"][2] = 30
    result = compare(lighthouse(), new)
    [graph_diff] = result.graphs
    [changed] = graph_diff.changed
    assert changed.after.type == "KSampler"
    assert changed.changes == (Change("seed", 156680208700286, 42), Change("steps", 20, 30))
    assert text(result) == ["title", "~ KSampler #3", "    seed: 156680208700286 → 42",
                            "    steps: 20 → 30"]


def test_a_loader_value_is_named_and_its_model_change_reported() -> None:
    new = lighthouse()
    node_of(new, "CheckpointLoaderSimple")["widgets_values"][0] = "sdxl/juggernaut.safetensors"
    result = compare(lighthouse(), new)
    [changed] = result.graphs[0].changed
    assert changed.changes[0].what == "ckpt_name"
    assert result.models_added == ["checkpoints/sdxl/juggernaut.safetensors"]
    assert result.models_removed == ["checkpoints/sd15/dreamshaper_8.safetensors"]
    assert "+ model checkpoints/sdxl/juggernaut.safetensors" in text(result)


def test_deleting_one_node_and_renumbering_the_rest_is_one_removal() -> None:
    old = lighthouse()
    negative = node_of(old, "CLIPTextEncode")  # id 7, "text, watermark"
    assert negative["id"] == 7
    new = renumber(delete_node(old, 7))
    assert sorted(node["id"] for node in new["nodes"]) == [1, 2, 3, 4, 5, 6]  # all renumbered
    result = compare(old, new)
    [graph_diff] = result.graphs
    assert [(ref.id, ref.type) for ref in graph_diff.removed] == [("7", "CLIPTextEncode")]
    assert graph_diff.added == []
    assert graph_diff.changed == []
    assert sorted(wire.text for wire in graph_diff.disconnected) == [
        "CLIPTextEncode #7.CONDITIONING → KSampler #3.negative",
        "CheckpointLoaderSimple #4.CLIP → CLIPTextEncode #7.clip",
    ]
    assert graph_diff.connected == []
    assert result.models_added == result.models_removed == []


def test_deleting_a_node_in_the_largest_template_and_renumbering_is_one_removal() -> None:
    old = template(LARGEST)
    definition = old["definitions"]["subgraphs"][0]
    victim = node_of(definition, "TextEncodeQwenImageEditPlus")["id"]  # one of two prompts
    new = copy.deepcopy(old)
    new["definitions"]["subgraphs"][0] = renumber(delete_node(definition, victim))
    new = renumber(new)  # the top level too
    result = compare(old, new)
    changed = [g for g in result.graphs if g.status == "changed"]
    assert [g.key for g in changed] == [definition["id"]]
    assert [(ref.id, ref.type) for ref in changed[0].removed] == [
        (str(victim), "TextEncodeQwenImageEditPlus")]
    assert not (changed[0].added or changed[0].changed or changed[0].connected)


def test_adding_a_node_and_its_links() -> None:
    old = lighthouse()
    new = copy.deepcopy(old)
    new["nodes"].append({
        "id": 10, "type": "LoraLoader", "pos": [0, 0], "size": [300, 120], "mode": 0,
        "inputs": [{"name": "model", "type": "MODEL", "link": 10},
                   {"name": "clip", "type": "CLIP", "link": None}],
        "outputs": [{"name": "MODEL", "type": "MODEL", "links": [11]},
                    {"name": "CLIP", "type": "CLIP", "links": None}],
        "properties": {}, "widgets_values": ["detail.safetensors", 0.8, 1]})
    new["links"] = [link for link in new["links"] if link[0] != 1]  # checkpoint → sampler
    new["links"] += [[10, 4, 0, 10, 0, "MODEL"], [11, 10, 0, 3, 0, "MODEL"]]
    result = compare(old, new)
    [graph_diff] = result.graphs
    [added] = graph_diff.added
    assert added.text == "LoraLoader #10"
    assert added.widgets[0] == ("lora_name", "detail.safetensors")
    assert sorted(w.text for w in graph_diff.connected) == [
        "CheckpointLoaderSimple #4.MODEL → LoraLoader #10.model",
        "LoraLoader #10.MODEL → KSampler #3.model"]
    assert [w.text for w in graph_diff.disconnected] == [
        "CheckpointLoaderSimple #4.MODEL → KSampler #3.model"]
    assert result.models_added == ["loras/detail.safetensors"]
    lines = text(result)
    assert "+ LoraLoader #10" in lines
    assert '    lora_name: "detail.safetensors"' in lines
    assert "+ link LoraLoader #10.MODEL → KSampler #3.model" in lines
    assert "- link CheckpointLoaderSimple #4.MODEL → KSampler #3.model" in lines


def test_a_node_changed_in_every_widget_is_still_one_change() -> None:
    new = lighthouse()
    node_of(new, "KSampler")["widgets_values"] = [1, "fixed", 2, 3.5, "dpmpp_2m", "karras", 0.5]
    [graph_diff] = compare(lighthouse(), new).graphs
    assert len(graph_diff.changed) == 1  # its connections say it is the same node
    assert graph_diff.added == graph_diff.removed == []


def test_mode_title_and_properties() -> None:
    new = lighthouse()
    sampler = node_of(new, "KSampler")
    sampler.update(mode=4, title="First pass")
    sampler["properties"]["ver"] = "0.3.65"
    sampler["properties"]["Node name for S&R"] = "KSampler"  # the frontend's own: not shown
    [graph_diff] = compare(lighthouse(), new).graphs
    [changed] = graph_diff.changed
    assert changed.changes == (Change("title", None, "First pass"),
                               Change("mode", "normal", "bypassed"),
                               Change("property ver", "0.3.64", "0.3.65"))
    assert changed.after.text == 'KSampler "First pass" #3'


def test_layout_is_hidden_unless_asked_for() -> None:
    new = lighthouse()
    for node in new["nodes"]:
        node["pos"] = [node["pos"][0] + 100, node["pos"][1]]
        node["order"] = 0
        node["flags"] = {"collapsed": True}
    new["extra"] = {"ds": {"scale": 2, "offset": [10, 10]}}
    new.setdefault("groups", []).append({"title": "Sampling", "bounding": [0, 0, 10, 10]})
    result = compare(lighthouse(), new)
    assert [g.groups_added for g in result.graphs] == [["Sampling"]]
    assert result.graphs[0].changed == []
    assert result.settings == []
    shown = compare(lighthouse(), new, layout=True)
    changed = shown.graphs[0].changed
    assert len(changed) == len(new["nodes"])
    assert all(change.layout for node in changed for change in node.changes)
    assert [c.what for c in shown.settings] == ["extra.ds"]


def test_groups_by_title_and_their_layout() -> None:
    old = lighthouse()
    old["groups"] = [{"title": "Prompt", "bounding": [0, 0, 1, 1]},
                     {"title": "Old", "bounding": [0, 0, 1, 1]}]
    new = copy.deepcopy(old)
    new["groups"] = [{"title": "Prompt", "bounding": [5, 5, 1, 1]},
                     {"title": "New", "bounding": [0, 0, 1, 1]}]
    [graph_diff] = compare(old, new).graphs
    assert (graph_diff.groups_added, graph_diff.groups_removed) == (["New"], ["Old"])
    assert graph_diff.group_changes == []
    [graph_diff] = compare(old, new, layout=True).graphs
    assert [c.what for c in graph_diff.group_changes] == ["group 'Prompt' bounding"]


def test_subgraph_definitions_changed_added_and_removed() -> None:
    old = template(LARGEST)
    new = copy.deepcopy(old)
    definitions = new["definitions"]["subgraphs"]
    first = definitions[0]
    sampler = node_of(first, "KSampler")
    sampler["widgets_values"][2] = 99  # steps, inside the subgraph
    first["name"] = "Renamed"
    gone = definitions.pop(1)
    added = copy.deepcopy(gone)
    added["id"] = "00000000-0000-4000-8000-000000000000"
    added["name"] = "Brand new"
    definitions.append(added)
    result = compare(old, new)
    by_key = {g.key: g for g in result.graphs}
    inner = by_key[first["id"]]
    assert inner.name == 'subgraph "Renamed"'
    assert [c.what for c in inner.meta] == ["name"]
    [changed] = inner.changed
    assert [(c.what, c.after) for c in changed.changes] == [("steps", 99)]
    assert by_key[gone["id"]].status == "removed"
    assert by_key[added["id"]].status == "added"
    assert by_key[added["id"]].nodes == len(added["nodes"])
    lines = text(result)
    assert 'subgraph "Renamed":' in lines
    assert '+ subgraph "Brand new" (24 nodes)' in lines
    # the instance's type is shown by its definition's name
    instance = new["nodes"][-1]
    instance["mode"] = 4
    [top] = [g for g in compare(old, new).graphs if g.key == ""]
    assert top.changed[0].after.label == "Qwen-Image 2511: Batch Angle Generation"


def test_ui_and_api_formats_are_not_compared() -> None:
    api = {"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}
    with pytest.raises(diff.FormatMismatch, match="UI format and the other in the API"):
        compare(lighthouse(), api)


def test_api_format_by_input_name() -> None:
    old = {"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.ckpt"}},
           "3": {"class_type": "KSampler", "inputs": {"seed": 1, "model": ["4", 0]}}}
    new = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.ckpt"}},
           "2": {"class_type": "KSampler", "inputs": {"seed": 2, "model": ["1", 0]}}}
    result = compare(old, new)
    [graph_diff] = result.graphs
    [changed] = graph_diff.changed
    assert changed.changes == (Change("seed", 1, 2),)
    assert graph_diff.connected == graph_diff.disconnected == []


def test_settings_and_absent_values() -> None:
    new = lighthouse()
    new["extra"] = {"VHS_latentpreview": True}
    sampler = node_of(new, "KSampler")
    sampler["widgets_values"] = {"seed": 1}  # a dict: named by its keys, the rest absent
    result = compare(lighthouse(), new)
    assert [(c.what, c.before, c.after) for c in result.settings] == [
        ("extra.VHS_latentpreview", ABSENT, True)]
    [changed] = result.graphs[0].changed
    assert changed.changes[0] == Change("seed", 156680208700286, 1)
    assert changed.changes[1] == Change("control_after_generate", True, ABSENT)
    lines = text(result)
    assert "    control_after_generate: true (removed)" in lines
    assert "~ extra.VHS_latentpreview: true" in lines


def test_the_json_form_is_plain_json() -> None:
    new = renumber(delete_node(lighthouse(), 7))
    node_of(new, "KSampler")["widgets_values"][0] = 7
    data = difftext.as_json(compare(lighthouse(), new))
    again = json.loads(json.dumps(data))
    [top] = again["graphs"]
    assert top["removed"][0]["type"] == "CLIPTextEncode"
    assert top["removed"][0]["widgets"] == {"text": "text, watermark"}
    assert top["changed"][0]["changes"] == [{"what": "seed", "before": 156680208700286,
                                             "after": 7}]
    assert {w["to"]["slot"] for w in top["disconnected"]} == {"negative", "clip"}


def test_the_largest_template_diffs_quickly() -> None:
    data = (template_bytes := json.dumps(template(LARGEST)).encode())
    old, new = jsonsafe.loads(data), jsonsafe.loads(template_bytes)
    node_of(new["definitions"]["subgraphs"][0], "KSampler")["widgets_values"][0] = 1
    start = time.perf_counter()
    result = diff.diff(graph.parse(old), graph.parse(new))
    assert time.perf_counter() - start < 2  # benchmarks/diff.py measures it properly
    assert len(result.graphs) == 1
