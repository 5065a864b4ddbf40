"""``substitute``: a workflow's model references rewritten to where the models are on this
machine, wherever the value is written (subgraph definitions and instances, group nodes, the API
format, nested widget values, properties.models, the workflow's models list, prompt text), and
nothing else touched: after each substitution, putting the old values back at the places the
changes name gives the original document."""

from __future__ import annotations

import copy
import importlib.resources
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from git_comfy.core import graph, jsonsafe, models
from git_comfy.core.substitute import Change, Key, substitute

FIXTURES = Path(__file__).parents[1] / "fixtures"
CORPUS = Path(__file__).parents[2] / ".." / "shared" / "corpus"
TEMPLATES_PACKAGE = "comfyui_workflow_templates_json"
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")

Row = tuple[str | None, str, tuple[str, ...]]  # folder, normalised name, node ids


def load(name: str) -> dict[str, Any]:
    document = jsonsafe.loads((FIXTURES / name).read_bytes())
    assert isinstance(document, dict)
    return document


def rows(document: dict[str, Any]) -> set[Row]:
    return {(ref.folder, ref.normalised, ref.node_ids)
            for ref in models.references(graph.parse(document))}


def put_back(result: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    """``result`` with each change undone at the place it names, last change first."""
    restored = copy.deepcopy(result)
    workflow = graph.parse(restored)
    for change in reversed(changes):
        node = workflow.node(change.node_id) if change.node_id is not None else None
        target: Any = node.raw if node is not None else restored
        steps: list[str | int] = [name or int(index)
                                  for name, index in _STEP.findall("." + change.where)]
        for step in steps[:-1]:
            target = target[step]
        assert target[steps[-1]] == change.new, change
        target[steps[-1]] = change.old
    return restored


def checked(document: dict[str, Any], renames: Mapping[Key, str],
            separator: str = "/") -> tuple[dict[str, Any], list[Change]]:
    """substitute(), checked for what holds for every input: the input is not changed, every
    change is undone exactly by putting its old value back, each change changes something, and
    a second run changes nothing."""
    original = copy.deepcopy(document)
    result, changes = substitute(document, renames, separator)
    assert document == original
    assert put_back(result, changes) == original
    assert all(change.old != change.new for change in changes)
    assert substitute(result, renames, separator) == (result, [])
    return result, changes


def renamed(found: set[Row], renames: Mapping[Key, str]) -> set[Row]:
    return {(folder, models.normalise(renames.get((folder, name), name)), ids)
            for folder, name, ids in found}


# --- fixtures ---------------------------------------------------------------------------------


def test_subgraph_inner_node_shared_by_instances_is_rewritten_once() -> None:
    document = load("subgraphs.json")
    renames: dict[Key, str] = {("loras", "shared_lora.safetensors"): "l/shared.safetensors"}
    result, changes = checked(document, renames)
    # instances 10 and 11 run the definition's node 2 with its own value: one place
    assert changes == [Change("10:2", "widgets_values[0]", "shared_lora.safetensors",
                              "l/shared.safetensors")]
    definition = result["definitions"]["subgraphs"][0]
    assert definition["nodes"][1]["widgets_values"][0] == "l/shared.safetensors"
    assert rows(result) == renamed(rows(document), renames)


def test_promoted_widgets_are_rewritten_in_the_instance() -> None:
    document = load("subgraphs.json")
    renames: dict[Key, str] = {
        ("checkpoints", "inst10.safetensors"): "sd/ten.safetensors",
        ("diffusion_models", "outer_unet.safetensors"): "flux/unet.safetensors",
        ("vae", "inner_vae.safetensors"): "vae/v.safetensors"}
    result, changes = checked(document, renames)
    assert changes == [
        Change("10", "widgets_values[0]", "inst10.safetensors", "sd/ten.safetensors"),
        # the definition's entry describes the value its instance promotes
        Change("10:1", "properties.models[0].name", "inst10.safetensors", "sd/ten.safetensors"),
        Change("20:5", "widgets_values[0]", "inner_vae.safetensors", "vae/v.safetensors"),
        # promoted through two levels: written in the outermost instance
        Change("30", "widgets_values[0]", "outer_unet.safetensors", "flux/unet.safetensors"),
    ]
    inner = result["definitions"]["subgraphs"][0]["nodes"][0]
    assert inner["widgets_values"] == ["definition_default.safetensors"]  # never runs
    assert rows(result) == renamed(rows(document), renames)


def test_group_nodes() -> None:
    document = load("group_nodes.json")
    renames: dict[Key, str] = {
        ("checkpoints", "group_a.safetensors"): "a.safetensors",
        ("checkpoints", "group_default.safetensors"): "default.safetensors",
        ("vae", "unused_group_vae.safetensors"): "vae.safetensors"}
    result, changes = checked(document, renames)
    assert changes == [
        Change("5", "widgets_values[0]", "group_a.safetensors", "a.safetensors"),
        # instance 7's values do not fit: its inner node's own value runs
        Change("7:0", "widgets_values[0]", "group_default.safetensors", "default.safetensors"),
        Change("workflow>Unused:0", "widgets_values[0]", "unused_group_vae.safetensors",
               "vae.safetensors"),
    ]
    assert result["nodes"][1]["widgets_values"][0] == "group_b.safetensors"
    assert rows(result) == renamed(rows(document), renames)


def test_api_format() -> None:
    document = load("api_flattened.json")
    renames: dict[Key, str] = {
        ("checkpoints", "sd_xl_base_1.0.safetensors"): "xl/base.safetensors",
        ("loras", "inner/detail.safetensors"): "detail.safetensors",
        ("embeddings", "EasyNegative"): "neg/EasyNegative.safetensors"}
    result, changes = checked(document, renames)
    assert changes == [
        Change("4", "inputs.ckpt_name", "sd_xl_base_1.0.safetensors", "xl/base.safetensors"),
        Change("19:7", "inputs.lora_name", "inner\\detail.safetensors", "detail.safetensors"),
        # written without its extension, as it was
        Change("6", "inputs.text", "a lighthouse at dusk, embedding:EasyNegative",
               "a lighthouse at dusk, embedding:neg/EasyNegative"),
    ]
    assert result["19:7"]["inputs"]["model"] == ["4", 0]  # links are no values
    assert rows(result) == renamed(rows(document), {
        **renames, ("embeddings", "EasyNegative"): "neg/EasyNegative"})


def test_nested_and_dict_widget_values() -> None:
    document = load("widget_shapes.json")
    renames: dict[Key, str] = {
        (None, "nested/power.safetensors"): "loras/power.safetensors",
        (None, "dict_model.safetensors"): "m.safetensors",
        ("checkpoints", "dict_ckpt.safetensors"): "c.safetensors"}
    result, changes = checked(document, renames)
    assert changes == [
        Change("1", "widgets_values.model", "dict_model.safetensors", "m.safetensors"),
        Change("7", "widgets_values.ckpt_name", "dict_ckpt.safetensors", "c.safetensors"),
        Change("8", "widgets_values[2].lora", "nested/power.safetensors",
               "loras/power.safetensors"),
    ]
    assert result["nodes"][0]["widgets_values"]["video"] == "clip.mp4"
    assert rows(result) == renamed(rows(document), renames)


def test_properties_models_and_the_workflow_models_list() -> None:
    document = load("custom_loaders.json")
    renames: dict[Key, str] = {
        ("loras", "known_lora.safetensors"): "style/known.safetensors",
        ("diffusion_models", "aliased.safetensors"): "unet/aliased.safetensors",
        ("text_encoders", "workflow_level.safetensors"): "te/wl.safetensors"}
    result, changes = checked(document, renames)
    assert changes == [
        Change("4", "widgets_values[0]", "known_lora.safetensors", "style/known.safetensors"),
        Change("4", "properties.models[0].name", "known_lora.safetensors",
               "style/known.safetensors"),
        Change("9", "widgets_values[0]", "aliased.safetensors", "unet/aliased.safetensors"),
        # directory "unet" is the legacy name of diffusion_models
        Change("9", "properties.models[0].name", "aliased.safetensors",
               "unet/aliased.safetensors"),
        # directory "clip" is the legacy name of text_encoders
        Change(None, "models[0].name", "workflow_level.safetensors", "te/wl.safetensors"),
    ]
    entries = result["nodes"][3]["properties"]["models"]
    assert entries[1]["name"] == "unmatched.safetensors"
    assert result["models"][1] == "not an object"
    assert rows(result) == renamed(rows(document), renames)


def test_embeddings_keep_their_weight_and_their_spelling() -> None:
    document = load("embeddings.json")
    renames: dict[Key, str] = {
        ("embeddings", "EasyNegative"): "neg/EasyNegative.safetensors",
        ("embeddings", "bad_hands.pt"): "hands.pt",
        ("embeddings", "subdir/neg_v2"): "v2/neg_v2.bin",
        ("embeddings", "in_a_note"): "never.pt"}  # a note is no reference
    result, changes = checked(document, renames)
    assert [(c.node_id, c.new) for c in changes] == [
        # a name written without its extension stays so: ComfyUI appends it here as well
        ("1", "a photo, embedding:neg/EasyNegative, (embedding:hands.pt:1.2), "
              "embedding:v2/neg_v2 and textembedding:notthis"),
        # "EasyNegative.safetensors" is another reference than "EasyNegative"
        ("2", "embedding:EasyNegative.safetensors\nembedding:neg/EasyNegative"),
    ]
    assert result["nodes"][3]["widgets_values"] == ["embedding:in_a_note"]
    assert rows(result) == renamed(rows(document), {
        **renames, ("embeddings", "EasyNegative"): "neg/EasyNegative",
        ("embeddings", "subdir/neg_v2"): "v2/neg_v2"})


def test_an_embedding_given_its_extension_is_no_change() -> None:
    document = load("embeddings.json")
    renames: dict[Key, str] = {
        ("embeddings", "EasyNegative"): "EasyNegative.safetensors",
        ("embeddings", "subdir/neg_v2"): "subdir/neg_v2.pt"}
    assert checked(document, renames) == (document, [])


def test_an_embedding_name_a_prompt_cannot_hold_is_left() -> None:
    document = load("embeddings.json")
    renames: dict[Key, str] = {
        ("embeddings", "custom_node_emb"): "my embeddings/emb.pt",
        ("embeddings", "EasyNegative"): "a,b.pt",
        ("embeddings", "bad_hands.pt"): "(hands).pt"}
    assert checked(document, renames)[1] == []


def test_windows_separators_match_and_separator_is_used_for_new_names() -> None:
    document = load("windows_paths.json")
    renames: dict[Key, str] = {
        ("checkpoints", "SDXL/base.safetensors"): "xl/base.safetensors",
        ("loras", "sub/dir/style.safetensors"): "style.safetensors"}
    result, changes = checked(document, renames)
    assert [(c.node_id, c.old, c.new) for c in changes] == [
        ("1", "SDXL\\base.safetensors", "xl/base.safetensors"),
        ("2", "SDXL/base.safetensors", "xl/base.safetensors"),
        ("4", "sub\\dir\\style.safetensors", "style.safetensors"),
    ]
    result, changes = checked(document, renames, separator="\\")
    assert [(c.node_id, c.new) for c in changes] == [
        ("1", "xl\\base.safetensors"), ("2", "xl\\base.safetensors"), ("4", "style.safetensors")]
    assert rows(result) == renamed(rows(document), renames)


def test_only_the_separator_changes() -> None:
    document = load("windows_paths.json")
    renames: dict[Key, str] = {("checkpoints", "SDXL/base.safetensors"): "SDXL/base.safetensors"}
    assert [c.node_id for c in checked(document, renames)[1]] == ["1"]
    assert [c.node_id for c in checked(document, renames, "\\")[1]] == ["2"]


def test_a_new_name_equal_to_the_old_changes_nothing() -> None:
    document = load("subgraphs.json")
    renames: dict[Key, str] = {
        (ref.folder, ref.normalised): ref.normalised
        for ref in models.references(graph.parse(document))}
    assert checked(document, renames) == (document, [])
    assert substitute(document, {}) == (document, [])
    assert substitute(document, {("loras", "absent.safetensors"): "x.safetensors"})[1] == []


def _two_folders() -> dict[str, Any]:
    return {"nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["model.safetensors"],
         "properties": {"models": [
             {"name": "model.safetensors", "directory": "checkpoints"},
             {"name": "model.safetensors"}]}},
        {"id": 2, "type": "LoraLoader", "widgets_values": ["model.safetensors", 1, 1],
         "properties": {"models": [{"name": "model.safetensors", "directory": "loras"},
                                   {"name": "model.safetensors"}]}},
        {"id": 3, "type": "Note", "widgets_values": ["model.safetensors"]},
        {"id": 4, "type": "PrimitiveNode", "widgets_values": ["model.safetensors"]},
        {"id": 5, "type": "SaveImage", "widgets_values": ["model.safetensors"]},
    ], "links": [], "models": [
        {"name": "model.safetensors", "directory": "checkpoints"},
        {"name": "model.safetensors", "directory": "loras"},
        {"name": "model.safetensors"},
    ], "version": 0.4}


def test_a_name_used_by_two_folders_is_renamed_in_one() -> None:
    document = _two_folders()
    renames: dict[Key, str] = {("loras", "model.safetensors"): "l.safetensors"}
    result, changes = checked(document, renames)
    assert [(c.node_id, c.where) for c in changes] == [
        ("2", "widgets_values[0]"),
        ("2", "properties.models[0].name"),
        ("2", "properties.models[1].name"),  # no directory: the entry of the node's value
        (None, "models[1].name"),
        (None, "models[2].name"),  # no directory, and only one new name for the name
    ]
    assert [node["widgets_values"][0] for node in result["nodes"]] == [
        "model.safetensors", "l.safetensors", "model.safetensors", "model.safetensors",
        "model.safetensors"]  # frontend-only nodes are no references; SaveImage's value is
    # one, of unknown folder (a model extension)


def test_an_entry_without_directory_is_left_when_its_name_has_two_new_names() -> None:
    document = _two_folders()
    renames: dict[Key, str] = {
        ("loras", "model.safetensors"): "l.safetensors",
        ("checkpoints", "model.safetensors"): "c.safetensors",
        (None, "model.safetensors"): "x.safetensors"}  # SaveImage's, by extension
    result, changes = checked(document, renames)
    assert result["models"] == [
        {"name": "c.safetensors", "directory": "checkpoints"},
        {"name": "l.safetensors", "directory": "loras"},
        {"name": "x.safetensors"}]
    # an entry without directory is the reference of unknown folder, renamed as such
    assert [n["properties"]["models"][1]["name"] for n in result["nodes"][:2]] == [
        "x.safetensors", "x.safetensors"]
    assert [n["widgets_values"][0] for n in result["nodes"]] == [
        "c.safetensors", "l.safetensors", "model.safetensors", "model.safetensors",
        "x.safetensors"]
    assert len(changes) == 10


# --- real workflows ---------------------------------------------------------------------------


def _real_workflows() -> list[tuple[str, bytes]]:
    found = []
    try:
        folder = importlib.resources.files(TEMPLATES_PACKAGE) / "templates"
        found = [(item.name, item.read_bytes()) for item in folder.iterdir()
                 if item.name.endswith(".json")
                 and not item.name.startswith(("index", "fuse_options"))]
    except ModuleNotFoundError:
        pass
    if CORPUS.is_dir():
        found += [(path.name, path.read_bytes()) for path in CORPUS.glob("*.json")
                  if not path.name.startswith("object_info")]
    return sorted(found)


def test_every_template_substitutes_consistently() -> None:
    """Every reference of every template renamed (and a random half of them, apart): the
    result reports the new names with the same folders and node ids, and nothing else
    changed."""
    workflows = _real_workflows()
    assert len(workflows) > 600, f"install {TEMPLATES_PACKAGE}"
    chooser = random.Random(508)
    changed = 0
    for name, data in workflows:
        document = jsonsafe.loads(data)
        assert isinstance(document, dict)
        found = rows(document)
        for share in (1.0, 0.5):
            renames = {(folder, normalised): f"renamed/{normalised.rsplit('/', 1)[-1]}"
                       for folder, normalised, _ids in sorted(found, key=str)
                       if chooser.random() < share}
            for separator in ("/", "\\"):
                result, changes = checked(document, renames, separator)
                assert rows(result) == renamed(found, renames), name
                changed += len(changes)
    assert changed > 5000


@pytest.mark.parametrize("fixture", sorted(path.name for path in FIXTURES.glob("*.json")))
def test_every_fixture_substitutes_consistently(fixture: str) -> None:
    document = load(fixture)
    found = rows(document)
    renames: dict[Key, str] = {
        (folder, normalised): f"here/{index}-{normalised.rsplit('/', 1)[-1]}"
        for index, (folder, normalised, _ids) in enumerate(sorted(found, key=str))}
    result, changes = checked(document, renames, "\\")
    assert rows(result) == renamed(found, renames)
    assert bool(changes) == bool(found)
