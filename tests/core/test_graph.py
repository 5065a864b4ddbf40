"""``graph.parse``: both formats, subgraphs (nested, shared, both kinds of promoted widgets),
legacy group nodes, odd widgets_values, frontend-only nodes; hostile shapes end in one
:class:`WorkflowError`, deep nesting never in a RecursionError."""

from __future__ import annotations

import copy
import inspect
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from git_comfy.core import graph, jsonsafe
from git_comfy.core.graph import Node, Workflow, WorkflowError

FIXTURES = Path(__file__).parents[1] / "fixtures"
CORPUS = Path(__file__).parents[2] / ".." / "shared" / "corpus"
A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"
C = "cccccccc-0000-4000-8000-00000000000c"
D = "dddddddd-0000-4000-8000-00000000000d"
E = "eeeeeeee-0000-4000-8000-00000000000e"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = jsonsafe.loads_object((FIXTURES / name).read_bytes())
    return document


def parsed(name: str) -> Workflow:
    return graph.parse(load(name))


def node(workflow: Workflow, node_id: str) -> Node:
    found = workflow.node(node_id)
    assert found is not None, (node_id, [n.id for n in workflow.nodes])
    return found


def rejected(document: Any, *fragments: str) -> str:
    with pytest.raises(WorkflowError) as caught:
        graph.parse(document)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# --- API format -------------------------------------------------------------------------------


def test_api_format() -> None:
    document = load("api_flattened.json")
    workflow = graph.parse(document)
    assert workflow.format == "api"
    assert workflow.document is document
    assert [n.id for n in workflow.nodes] == ["4", "19:7", "6", "3", "5", "8", "9"]
    checkpoint = node(workflow, "4")
    assert (checkpoint.type, checkpoint.title, checkpoint.mode, checkpoint.active) == (
        "CheckpointLoaderSimple", "Load Checkpoint", 0, True)
    assert checkpoint.inputs == {"ckpt_name": "sd_xl_base_1.0.safetensors"}
    assert checkpoint.raw is document["4"]
    assert checkpoint.properties == {} and not checkpoint.frontend_only


def test_api_format_keeps_literal_inputs_only_and_flattened_ids() -> None:
    workflow = parsed("api_flattened.json")
    lora = node(workflow, "19:7")  # a flattened subgraph id is just an id
    assert lora.inputs == {"lora_name": "inner\\detail.safetensors", "strength_model": 1,
                           "strength_clip": 1}
    assert lora.widgets is lora.inputs
    assert lora.widget("lora_name", 0) == "inner\\detail.safetensors"
    assert node(workflow, "3").inputs["seed"] == 18446744073709551615
    assert lora.parent is None and lora.title is None


def test_api_links() -> None:
    links = parsed("api_flattened.json").links()
    assert graph.Link(None, "4", 0, "19:7", "model", None) in links
    assert graph.Link(None, "19:7", 1, "6", "clip", None) in links
    assert len(links) == 10


# --- UI format, links -------------------------------------------------------------------------


def test_links_as_arrays_and_objects() -> None:
    workflow = parsed("subgraphs.json")
    links = workflow.links()
    assert graph.Link(1, "10", 0, "40", 0, "MODEL") in links  # top level: arrays
    assert graph.Link(1, "10:-10", 0, "10:1", 0, "COMBO") in links  # definition: objects
    assert graph.Link(1, "11:-10", 0, "11:1", 0, "COMBO") in links  # once per instance
    assert graph.Link(7, "30:3:-10", 0, "30:3:7", 0, "COMBO") in links  # nested: arrays
    version1 = parsed("version1.json")
    assert version1.format == "ui"
    assert version1.links() == [graph.Link(1, "1", 0, "2", 0, "MODEL")]
    assert [n.id for n in version1.nodes] == ["1", "2"]


# --- subgraphs --------------------------------------------------------------------------------


def test_subgraph_nodes_get_execution_ids_once_per_instance() -> None:
    workflow = parsed("subgraphs.json")
    assert [n.id for n in workflow.nodes] == [
        "10", "10:1", "10:2", "11", "11:1", "11:2", "20", "20:5",
        "30", "30:3", "30:3:7", "30:4", "40", f"{E}:1",
    ]
    assert [n.kind for n in workflow.nodes[:3]] == ["subgraph", "node", "node"]
    assert node(workflow, "30:3").kind == "subgraph"
    assert node(workflow, "10:1").parent == "10"
    assert node(workflow, "30:3:7").parent == "30:3"
    assert node(workflow, "10").title == "Pair one"
    assert set(workflow.definitions) == {A, B, C, D, E}  # D is nested inside C
    assert workflow.warnings == ()


def test_one_definition_two_instances_share_the_raw_node_but_not_the_values() -> None:
    document = load("subgraphs.json")
    workflow = graph.parse(document)
    first, second = node(workflow, "10:1"), node(workflow, "11:1")
    inner_raw = document["definitions"]["subgraphs"][0]["nodes"][0]
    assert first.raw is inner_raw and second.raw is inner_raw
    assert first.widgets == ["definition_default.safetensors"]  # its own widgets_values
    assert first.widget("ckpt_name", 0) == "inst10.safetensors"
    assert second.widget("ckpt_name", 0) == "inst11.safetensors"


def test_promoted_widget_mechanism_a_says_where_the_value_is_written() -> None:
    document = load("subgraphs.json")
    workflow = graph.parse(document)
    override = node(workflow, "10:1").overrides["ckpt_name"]
    assert override.value == "inst10.safetensors"
    assert override.holder == "10"
    assert override.raw is document["nodes"][0]
    assert override.index == 0
    assert list(node(workflow, "10:1").values()) == ["definition_default.safetensors",
                                                     "inst10.safetensors"]
    assert not node(workflow, "10:2").overrides  # not promoted


def test_promoted_widget_mechanism_b_keeps_the_inner_values() -> None:
    workflow = parsed("subgraphs.json")
    inner = node(workflow, "20:5")
    assert not inner.overrides
    assert inner.widget("vae_name", 0) == "inner_vae.safetensors"
    assert workflow.warnings == ()  # empty widgets_values with proxyWidgets is expected


def test_nested_definitions_pass_a_promoted_value_down_two_levels() -> None:
    document = load("subgraphs.json")
    workflow = graph.parse(document)
    unet = node(workflow, "30:3:7")
    assert unet.widgets == ["inner.safetensors", "default"]
    assert unet.widget("unet_name", 0) == "outer_unet.safetensors"
    # the value that runs is written in the outermost instance, not in the middle one
    assert unet.overrides["unet_name"].holder == "30"
    assert unet.overrides["unet_name"].raw is document["nodes"][3]
    assert node(workflow, "30:3").widget("unet_name", 0) == "outer_unet.safetensors"


def test_activity_follows_the_node_and_every_enclosing_instance() -> None:
    workflow = parsed("subgraphs.json")
    assert node(workflow, "10:1").active
    assert node(workflow, "11").mode == 4 and not node(workflow, "11").active
    assert not node(workflow, "11:1").active and not node(workflow, "11:2").active
    assert node(workflow, "11:1").mode == 0  # inactive through its instance only
    assert node(workflow, "30:4").mode == 2 and not node(workflow, "30:4").active
    assert node(workflow, "30:3:7").active


def test_a_definition_without_instance_is_listed_once_and_inactive() -> None:
    workflow = parsed("subgraphs.json")
    unused = node(workflow, f"{E}:1")
    assert unused.type == "LoraLoader"
    assert not unused.active and unused.parent == E


def test_a_definition_used_only_inside_an_unused_one_is_listed_through_it() -> None:
    document = load("subgraphs.json")
    document["nodes"] = [n for n in document["nodes"] if n["id"] != 30]  # C loses its instance
    ids = [n.id for n in graph.parse(document).nodes]
    assert f"{C}:3" in ids and f"{C}:3:7" in ids and f"{C}:4" in ids
    assert not any(i.startswith(D) for i in ids)  # D is reached through C, not listed alone


def test_parse_changes_nothing_and_keeps_unknown_keys() -> None:
    document = load("subgraphs.json")
    before = copy.deepcopy(document)
    workflow = graph.parse(document)
    assert document == before
    assert workflow.document["extra"]["custom_key"] == {"kept": True}


def test_promotion_mismatch_is_a_warning_and_the_inner_values_run() -> None:
    document = load("subgraphs.json")
    document["nodes"][0]["widgets_values"] = ["a.safetensors", "b.safetensors"]
    workflow = graph.parse(document)
    assert workflow.warnings == ("subgraph instance 10: 2 widget values for 1 promoted "
                                 "widgets; the inner nodes' own values are used",)
    assert node(workflow, "10:1").widget("ckpt_name", 0) == "definition_default.safetensors"


def test_promoted_values_by_name_when_an_instance_keeps_a_dict() -> None:
    document = load("subgraphs.json")
    document["nodes"][0]["widgets_values"] = {"ckpt_name": "by_name.safetensors"}
    override = node(graph.parse(document), "10:1").overrides["ckpt_name"]
    assert (override.value, override.index) == ("by_name.safetensors", "ckpt_name")


def test_values_put_overrides_in_the_slots_they_name() -> None:
    raw: dict[str, Any] = {}

    def with_overrides(widgets: Any, overrides: dict[str | int, Any]) -> Node:
        return Node("1", "X", None, 0, True, widgets, {}, {}, False, raw, "node", None,
                    {key: graph.Override(value, "9", raw, 0) for key, value in overrides.items()})

    assert list(with_overrides({"a": 1, "b": 2}, {"b": 3}).values()) == [1, 3]
    assert list(with_overrides({"a": 1}, {"z": 3}).values()) == [1, 3]
    assert list(with_overrides([1, 2], {1: 5}).values()) == [1, 5]
    assert list(with_overrides([1, 2], {"name": 5}).values()) == [1, 2, 5]  # slot unknown
    assert list(with_overrides([], {}).values()) == []


# --- legacy group nodes -----------------------------------------------------------------------


def test_group_nodes_split_the_instance_values_over_the_inner_nodes() -> None:
    document = load("group_nodes.json")
    workflow = graph.parse(document)
    assert [n.id for n in workflow.nodes] == [
        "5", "5:0", "5:1", "5:2", "6", "6:0", "6:1", "6:2", "7", "7:0", "7:1", "7:2", "8",
        "workflow>Unused:0",
    ]
    assert node(workflow, "5").kind == "group"
    loader, sampler = node(workflow, "5:0"), node(workflow, "5:1")
    assert loader.widget("ckpt_name", 0) == "group_a.safetensors"
    assert sampler.widget(index=2) == 25 and sampler.widgets == [42, "fixed", 20, 7, "euler",
                                                                  "normal", 1]  # steps
    assert sampler.overrides[2].holder == "5" and sampler.overrides[2].index == 3
    assert sampler.overrides[2].raw is document["nodes"][0]
    assert node(workflow, "5:2").frontend_only  # a Reroute inside the group
    assert node(workflow, "6:0").widget("ckpt_name", 0) == "group_b.safetensors"  # workflow/…


def test_group_node_activity_and_mismatch() -> None:
    workflow = parsed("group_nodes.json")
    assert not node(workflow, "6:0").active  # the instance is muted
    assert node(workflow, "7:0").widget("ckpt_name", 0) == "group_default.safetensors"
    assert not node(workflow, "workflow>Unused:0").active
    assert workflow.warnings == (
        "group node 7 (workflow>Loader+Sampler): 2 widget values for 8 inner widgets; "
        "the inner nodes' own values are used",
        "group node 8 (workflow>Nowhere) has no definition in extra.groupNodes",
    )
    assert set(workflow.group_nodes) == {"Loader+Sampler", "Unused"}


def test_the_corpus_group_node_without_instance() -> None:
    path = CORPUS / "ipadapter_plus__ipadapter_cosxl_edit.json"
    if not path.is_file():
        pytest.skip("no shared corpus")
    workflow = graph.parse(jsonsafe.loads(path.read_bytes()))
    inner = [n for n in workflow.nodes if n.id.startswith("workflow>IP2PSampler:")]
    assert [n.type for n in inner][:2] == ["KSamplerSelect", "RandomNoise"]
    assert len(inner) == 9 and not any(n.active for n in inner)


# --- widgets_values shapes and node kinds ----------------------------------------------------


def test_widgets_values_dict_short_or_missing_never_raise() -> None:
    workflow = parsed("widget_shapes.json")
    as_dict = node(workflow, "1")
    assert as_dict.widgets == {"video": "clip.mp4", "model": "dict_model.safetensors",
                               "frame_rate": 16}
    assert as_dict.widget("model", 1) == "dict_model.safetensors"
    assert as_dict.widget(None, 1) is None
    short = node(workflow, "2")
    assert short.widget("ckpt_name", 1) is None and short.widget("config_name", 0) == \
        "v1-inference.yaml"
    missing = node(workflow, "3")
    assert missing.widgets == [] and missing.widget("lora_name", 0) is None
    assert list(missing.values()) == []
    assert node(workflow, "5").widget("unet_name", 0) is None
    assert node(workflow, "3").widget("x", -1) is None


def test_frontend_only_nodes_are_flagged() -> None:
    workflow = parsed("modes.json")
    flagged = {n.type for n in workflow.nodes if n.frontend_only}
    assert flagged == {"Note", "MarkdownNote", "PrimitiveNode", "Label (rgthree)", "Reroute"}
    assert all(n.kind == "frontend" for n in workflow.nodes if n.frontend_only)
    assert node(workflow, "8").title == "label.safetensors"
    assert node(workflow, "1").mode == 2 and not node(workflow, "1").active
    assert node(workflow, "2").mode == 4 and not node(workflow, "2").active
    assert node(workflow, "4").active


@pytest.mark.parametrize(("mode", "expected"), [(4.0, 4), ("4", 0), (None, 0), (True, 0)])
def test_odd_modes(mode: Any, expected: int) -> None:
    document = {"nodes": [{"id": 1, "type": "KSampler", "mode": mode}], "links": []}
    assert graph.parse(document).nodes[0].mode == expected


def test_string_node_ids_and_properties_are_kept() -> None:
    document = {"nodes": [{"id": "n-1", "type": "KSampler", "properties": {"cnr_id": "x"}}]}
    only = graph.parse(document).nodes[0]
    assert (only.id, only.properties, only.title) == ("n-1", {"cnr_id": "x"}, None)


def test_the_real_hunyuan_template_promotes_its_checkpoint() -> None:
    path = CORPUS / "tpl0.11.97__3d_hunyuan3d-v2.1.json"
    if not path.is_file():
        pytest.skip("no shared corpus")
    workflow = graph.parse(jsonsafe.loads(path.read_bytes()))
    loader = node(workflow, "19:1")
    assert loader.type == "ImageOnlyCheckpointLoader"
    assert loader.overrides["ckpt_name"].index == 8 and loader.overrides["ckpt_name"].holder == "19"
    assert node(workflow, "19:7").widget("steps", 2) == 30


# --- not a workflow ---------------------------------------------------------------------------


@pytest.mark.parametrize(("document", "kind"), [([], "array"), ([{"nodes": []}], "array"),
                                                ("x", "string"), (1, "number"),
                                                (None, "null"), (True, "boolean")])
def test_a_top_level_that_is_not_an_object(document: Any, kind: str) -> None:
    rejected(document, f"top level is a JSON {kind}")


@pytest.mark.parametrize("document", [{}, {"foo": 1}, {"1": {"inputs": {}}},
                                      {"1": {"class_type": "X"}, "2": 3}])
def test_an_object_that_is_neither_format(document: dict[str, Any]) -> None:
    rejected(document, "not a ComfyUI workflow")


def test_an_api_node_may_be_called_nodes() -> None:
    workflow = graph.parse({"nodes": {"class_type": "KSampler", "inputs": {"seed": 1}}})
    assert workflow.format == "api" and workflow.nodes[0].id == "nodes"


def test_a_prompt_request_body_says_where_the_workflow_is() -> None:
    rejected({"prompt": load("api_flattened.json"), "client_id": "x"}, '"prompt"')


def test_errors_are_value_errors() -> None:
    assert issubclass(WorkflowError, ValueError)


@pytest.mark.parametrize(("document", "fragment"), [
    ({"nodes": {}}, '"nodes" is not a list'),
    ({"nodes": [1]}, "JSON number, not an object"),
    ({"nodes": [{"id": 1}]}, "node 1 has no type"),
    ({"nodes": [{"id": 1.5, "type": "X"}]}, "id that is not a number"),
    ({"nodes": [{"id": True, "type": "X"}]}, "id that is not a number"),
    ({"nodes": [{"id": "x" * 200, "type": "X"}]}, "id that is not a number"),
    ({"nodes": [{"type": "X"}]}, "id that is not a number"),
    ({"nodes": [], "definitions": {"subgraphs": {}}}, '"definitions.subgraphs" is not a list'),
    ({"nodes": [], "definitions": {"subgraphs": [{"nodes": []}]}}, "with a string id"),
    ({"nodes": [{"id": 1, "type": A}], "definitions": {"subgraphs": [{"id": A, "nodes": 3}]}},
     f'"nodes" of {A} is not a list'),
    ({"1": {"class_type": 3}}, "class_type is not a string"),
    ({"1": {"class_type": "X", "inputs": []}}, "inputs is not an object"),
])
def test_broken_workflows(document: dict[str, Any], fragment: str) -> None:
    rejected(document, fragment)


# --- bounded expansion ------------------------------------------------------------------------


def _uuid(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def _chain(levels: int, instances: int = 1) -> dict[str, Any]:
    """Definition i holds ``instances`` instances of definition i+1; the last holds a loader.
    All definitions sit side by side, so the JSON itself stays shallow."""
    subgraphs = []
    for level in range(levels):
        inner = ([{"id": n + 1, "type": _uuid(level + 1)} for n in range(instances)]
                 if level + 1 < levels else
                 [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["deep.ckpt"]}])
        subgraphs.append({"id": _uuid(level), "nodes": inner, "links": [], "inputs": []})
    return {"nodes": [{"id": 1, "type": _uuid(0)}], "links": [],
            "definitions": {"subgraphs": subgraphs}}


@contextmanager
def _recursion_limit(frames: int) -> Iterator[None]:
    """Allows only ``frames`` more Python frames than the caller has: recursion per level
    would fail."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def test_256_nested_subgraphs_parse_without_recursion() -> None:
    document = _chain(graph.MAX_NESTING)
    with _recursion_limit(40):
        workflow = graph.parse(document)
    deepest = workflow.nodes[-1]
    assert deepest.type == "CheckpointLoaderSimple"
    assert deepest.id == ":".join(["1"] * (graph.MAX_NESTING + 1))
    assert len(workflow.nodes) == graph.MAX_NESTING + 1


def test_nesting_one_level_deeper_is_a_workflow_error() -> None:
    rejected(_chain(graph.MAX_NESTING + 1), f"nested more than {graph.MAX_NESTING} deep")


def test_definitions_nested_inside_definitions_are_found_without_recursion() -> None:
    document: dict[str, Any] = {"nodes": [{"id": 1, "type": _uuid(0)}]}
    holder = document
    for level in range(60):  # 60 levels of definitions, each inside the previous one
        definition = {"id": _uuid(level), "nodes": [{"id": 1, "type": _uuid(level + 1)}]}
        holder["definitions"] = {"subgraphs": [definition]}
        holder = definition
    holder["nodes"] = [{"id": 1, "type": "VAELoader", "widgets_values": ["v.safetensors"]}]
    data = json.dumps(document).encode()
    assert jsonsafe.nesting_depth(data) <= jsonsafe.MAX_DEPTH
    document = jsonsafe.loads(data)
    with _recursion_limit(40):
        workflow = graph.parse(document)
    assert len(workflow.definitions) == 60
    assert workflow.nodes[-1].id == ":".join(["1"] * 61)


def test_an_exponential_expansion_is_refused() -> None:
    rejected(_chain(20, instances=2), f"more than {graph.MAX_NODES} nodes")


def test_long_ids_nested_deep_are_refused_before_they_fill_memory() -> None:
    """Each level adds a 128-character id to every inner node's execution id."""
    long_id = "x" * graph.MAX_NODE_ID
    filler = [{"id": f"{n:03}" + long_id[3:], "type": "KSampler"} for n in range(100)]
    subgraphs = [{"id": _uuid(level), "nodes": [{"id": long_id, "type": _uuid(level + 1)},
                                                *filler]}
                 for level in range(graph.MAX_NESTING)]
    document = {"nodes": [{"id": long_id, "type": _uuid(0)}],
                "definitions": {"subgraphs": subgraphs}}
    rejected(document, f"{graph.MAX_ID_CHARS} characters of node ids")


def test_a_subgraph_that_contains_itself() -> None:
    document = {"nodes": [{"id": 1, "type": A}],
                "definitions": {"subgraphs": [{"id": A, "nodes": [{"id": 2, "type": A}]}]}}
    rejected(document, "node 1:2", f"subgraph {A} contains itself")


def test_a_cycle_no_instance_reaches_is_still_refused() -> None:
    document = {"nodes": [],
                "definitions": {"subgraphs": [{"id": A, "nodes": [{"id": 1, "type": B}]},
                                              {"id": B, "nodes": [{"id": 2, "type": A}]}]}}
    rejected(document, "contains itself")


def test_group_nodes_that_contain_themselves() -> None:
    document = {"nodes": [{"id": 1, "type": "workflow>G"}],
                "extra": {"groupNodes": {"G": {"nodes": [{"index": 0, "type": "workflow>G"}]}}}}
    rejected(document, "contains itself")
