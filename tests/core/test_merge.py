"""``merge``: three-way merges of workflows by node. Clean merges combine both sides; a real
conflict keeps ours and is marked where ComfyUI shows it; every result is a consistent workflow
(each link where both its ends say, the id counters past every id)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from workflow_edits import LARGEST, by_id, delete_node, lighthouse, node_of, template

from git_comfy.core import graph, jsonsafe, merge
from git_comfy.core.merge import CONFLICTS_KEY, MergeError
from git_comfy.core.mergegraph import CONFLICT_PROPERTY, TITLE_PREFIX


def graphs(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [document, *document.get("definitions", {}).get("subgraphs", [])]


def _link(link: Any) -> tuple[Any, Any, Any, Any, Any]:
    if isinstance(link, dict):
        return (link["id"], link["origin_id"], link["origin_slot"], link["target_id"],
                link["target_slot"])
    return link[0], link[1], link[2], link[3], link[4]


def assert_consistent(document: dict[str, Any]) -> None:
    """Valid JSON, parses as a workflow, and in every graph the links and the sockets agree
    and the counters are past every id."""
    jsonsafe.loads(jsonsafe.dumps(document))
    graph.parse(copy.deepcopy(document))
    for one in graphs(document):
        nodes = {node["id"]: node for node in one["nodes"]}
        assert len(nodes) == len(one["nodes"]), "duplicate node ids"
        links = {}
        for raw in one["links"]:
            link_id, origin, origin_slot, target, target_slot = _link(raw)
            assert link_id not in links, f"duplicate link id {link_id}"
            links[link_id] = raw
            if origin in nodes:
                assert link_id in nodes[origin]["outputs"][origin_slot]["links"]
            if target in nodes:
                assert nodes[target]["inputs"][target_slot]["link"] == link_id
        for node in one["nodes"]:
            for socket in node.get("inputs") or ():
                assert socket.get("link") is None or socket["link"] in links
            for socket in node.get("outputs") or ():
                assert all(i in links for i in socket.get("links") or ())
        counters = one.get("state") or {}
        last_node = one.get("last_node_id", counters.get("lastNodeId"))
        last_link = one.get("last_link_id", counters.get("lastLinkId"))
        if last_node is not None:
            assert last_node >= max(n for n in nodes if isinstance(n, int))
        if last_link is not None and links:
            assert last_link >= max(links)


def merged(base: dict[str, Any], ours: dict[str, Any],
           theirs: dict[str, Any]) -> tuple[dict[str, Any], list[merge.Conflict]]:
    frozen = [json.dumps(side) for side in (base, ours, theirs)]
    result, conflicts = merge.merge(base, ours, theirs)
    assert [json.dumps(side) for side in (base, ours, theirs)] == frozen  # inputs untouched
    assert_consistent(result)
    return result, conflicts


def widgets_of(document: dict[str, Any], node_type: str) -> list[Any]:
    values: list[Any] = node_of(document, node_type)["widgets_values"]
    return values


def test_edits_to_different_nodes_merge() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    widgets_of(ours, "KSampler")[0] = 1
    widgets_of(theirs, "EmptyLatentImage")[0] = 1024
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    assert widgets_of(result, "KSampler")[0] == 1
    assert widgets_of(result, "EmptyLatentImage")[0] == 1024
    assert CONFLICTS_KEY not in result.get("extra", {})


def test_edits_to_different_widgets_of_one_node_merge() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    widgets_of(ours, "KSampler")[0] = 1
    widgets_of(theirs, "KSampler")[2] = 40
    node_of(theirs, "KSampler")["mode"] = 4
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    assert widgets_of(result, "KSampler")[:3] == [1, True, 40]
    assert node_of(result, "KSampler")["mode"] == 4


def test_the_same_widget_set_twice_is_a_marked_conflict() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    widgets_of(ours, "KSampler")[0] = 1
    widgets_of(theirs, "KSampler")[0] = 2
    widgets_of(theirs, "KSampler")[2] = 40  # merges cleanly beside the conflict
    result, conflicts = merged(base, ours, theirs)
    [conflict] = conflicts
    assert (conflict.node, conflict.what, conflict.ours, conflict.theirs, conflict.base) == (
        "3", "seed", 1, 2, 156680208700286)
    sampler = node_of(result, "KSampler")
    assert sampler["widgets_values"][:3] == [1, True, 40]  # ours, and theirs' other edit
    assert sampler["title"] == TITLE_PREFIX + "KSampler"
    assert sampler["properties"][CONFLICT_PROPERTY] == {
        "seed": {"ours": 1, "theirs": 2, "base": 156680208700286}}
    assert result["extra"][CONFLICTS_KEY] == [{
        "graph": "", "node": "3", "type": "KSampler", "what": "seed", "ours": 1, "theirs": 2,
        "base": 156680208700286}]


def _add_prompt(document: dict[str, Any], text: str) -> None:
    """What the editor saves after adding a prompt node fed by the checkpoint's CLIP."""
    node_id, link_id = document["last_node_id"] + 1, document["last_link_id"] + 1
    document["nodes"].append({
        "id": node_id, "type": "CLIPTextEncode", "pos": [0, 0], "size": [400, 200],
        "flags": {}, "order": 9, "mode": 0,
        "inputs": [{"name": "clip", "type": "CLIP", "link": link_id}],
        "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "links": None}],
        "properties": {}, "widgets_values": [text]})
    document["links"].append([link_id, 4, 1, node_id, 0, "CLIP"])
    by_id(document, 4)["outputs"][1]["links"].append(link_id)
    document["last_node_id"], document["last_link_id"] = node_id, link_id


def test_nodes_both_sides_added_with_one_id_are_kept_apart() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    _add_prompt(ours, "ours")
    _add_prompt(theirs, "theirs")
    assert node_of(ours, "CLIPTextEncode", 2)["id"] == node_of(theirs, "CLIPTextEncode", 2)["id"]
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    added = [node for node in result["nodes"] if node["id"] in (10, 11)]
    assert [(n["id"], n["widgets_values"]) for n in added] == [(10, ["ours"]), (11, ["theirs"])]
    assert result["last_node_id"] == 11
    assert result["last_link_id"] == 11
    assert by_id(result, 11)["inputs"][0]["link"] == 11
    assert [10, 4, 1, 10, 0, "CLIP"] in result["links"]
    assert [11, 4, 1, 11, 0, "CLIP"] in result["links"]
    assert by_id(result, 4)["outputs"][1]["links"] == [3, 5, 10, 11]


def test_a_node_both_sides_added_alike_is_kept_once() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    _add_prompt(ours, "same")
    _add_prompt(theirs, "same")
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    assert result == ours


def test_a_node_deleted_on_one_side_and_moved_on_the_other_is_deleted() -> None:
    base = lighthouse()
    ours = copy.deepcopy(base)
    by_id(ours, 7)["pos"] = [1, 1]  # layout only
    theirs = delete_node(base, 7)
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    assert 7 not in {node["id"] for node in result["nodes"]}
    assert by_id(result, 3)["inputs"][2]["link"] is None  # the sampler's negative


def test_deleted_against_changed_keeps_the_changed_node_marked() -> None:
    base = lighthouse()
    ours = copy.deepcopy(base)
    by_id(ours, 7)["widgets_values"] = ["blurry"]
    theirs = delete_node(base, 7)
    result, conflicts = merged(base, ours, theirs)
    assert [c.what for c in conflicts] == ["deleted by theirs"]
    assert by_id(result, 7)["title"].startswith(TITLE_PREFIX)
    result, conflicts = merged(base, theirs, ours)  # the other way round
    assert [c.what for c in conflicts] == ["deleted by ours"]
    assert by_id(result, 7)["widgets_values"] == ["blurry"]


def test_two_links_into_one_input_keep_ours() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    _add_prompt(ours, "ours")
    _add_prompt(theirs, "theirs")
    for side in (ours, theirs):  # each side feeds its new prompt into the sampler's negative
        node = by_id(side, 10)
        side["links"] = [link for link in side["links"] if link[0] != 6]
        by_id(side, 7)["outputs"][0]["links"] = []
        side["links"].append([12, 10, 0, 3, 2, "CONDITIONING"])
        node["outputs"][0]["links"] = [12]
        by_id(side, 3)["inputs"][2]["link"] = 12
        side["last_link_id"] = 12
    result, conflicts = merged(base, ours, theirs)
    assert [(c.node, c.what) for c in conflicts] == [("3", "input 2")]
    negative = by_id(result, 3)["inputs"][2]["link"]
    assert next(link for link in result["links"] if link[0] == negative)[1] == 10  # ours


def test_layout_never_conflicts() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    by_id(ours, 3)["pos"] = [1, 1]
    by_id(theirs, 3)["pos"] = [2, 2]
    ours["extra"] = {"ds": {"scale": 1}}
    theirs["extra"] = {"ds": {"scale": 2}}
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    assert by_id(result, 3)["pos"] == [1, 1]


def test_workflow_level_values() -> None:
    base, ours, theirs = lighthouse(), lighthouse(), lighthouse()
    theirs.setdefault("extra", {})["VHS_latentpreview"] = True
    ours.setdefault("extra", {})["mine"] = 1
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    assert result["extra"]["VHS_latentpreview"] is True and result["extra"]["mine"] == 1
    ours["config"], theirs["config"] = {"a": 1}, {"a": 2}
    result, conflicts = merged(base, ours, theirs)
    assert [(c.node, c.what) for c in conflicts] == [("", "config")]
    assert result["config"] == {"a": 1}


def test_subgraph_definitions_merge_by_id() -> None:
    base = template(LARGEST)
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    first, second = (d["id"] for d in base["definitions"]["subgraphs"][:2])
    node_of(ours["definitions"]["subgraphs"][0], "KSampler")["widgets_values"][0] = 1
    node_of(theirs["definitions"]["subgraphs"][1], "KSampler")["widgets_values"][0] = 2
    node_of(theirs["definitions"]["subgraphs"][0], "KSampler")["widgets_values"][2] = 9
    theirs["nodes"][0]["widgets_values"][0] = "other.png"  # a top-level LoadImage
    theirs["definitions"]["subgraphs"][0]["name"] = "Renamed"
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    definitions = {d["id"]: d for d in result["definitions"]["subgraphs"]}
    sampler = widgets_of(definitions[first], "KSampler")
    assert (sampler[0], sampler[2]) == (1, 9)  # ours and theirs, in one node
    assert widgets_of(definitions[second], "KSampler")[0] == 2
    assert definitions[first]["name"] == "Renamed"
    assert result["nodes"][0]["widgets_values"][0] == "other.png"
    # a definition only theirs added arrives; one only ours deleted stays deleted
    extra = copy.deepcopy(base["definitions"]["subgraphs"][2])
    extra["id"] = "00000000-0000-4000-8000-000000000000"
    theirs["definitions"]["subgraphs"].append(extra)
    result, conflicts = merged(base, ours, theirs)
    assert extra["id"] in {d["id"] for d in result["definitions"]["subgraphs"]}


def test_links_inside_a_definition_merge_as_objects() -> None:
    base = template(LARGEST)
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    inner = theirs["definitions"]["subgraphs"][0]
    victim = node_of(inner, "CFGNorm")["id"]
    theirs["definitions"]["subgraphs"][0] = delete_node(inner, victim)
    node_of(ours["definitions"]["subgraphs"][0], "KSampler")["widgets_values"][0] = 5
    result, conflicts = merged(base, ours, theirs)
    assert conflicts == []
    definition = result["definitions"]["subgraphs"][0]
    assert victim not in {node["id"] for node in definition["nodes"]}
    assert all(isinstance(link, dict) for link in definition["links"])
    assert widgets_of(definition, "KSampler")[0] == 5


def test_what_is_not_a_ui_workflow_is_refused() -> None:
    api = {"3": {"class_type": "KSampler", "inputs": {}}}
    with pytest.raises(MergeError, match="theirs is not a UI-format workflow"):
        merge.merge(lighthouse(), lighthouse(), api)
