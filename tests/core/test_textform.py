"""``textform`` (what ``git diff`` shows through the textconv driver) and, over every real
workflow, the promises of the semantic diff: renumbering changes nothing, and deleting one node
(then renumbering) is exactly one removal."""

from __future__ import annotations

import copy
import importlib.resources
import json
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import pytest
from workflow_edits import TEMPLATES, delete_node, lighthouse, node_of, renumber

from git_comfy.core import diff, graph, textform, view

CORPUS = Path(__file__).parents[2] / ".." / "shared" / "corpus"


def render(document: dict[str, Any]) -> str:
    return textform.render(view.build(graph.parse(copy.deepcopy(document))))


def test_one_block_per_node_with_named_widgets_and_links() -> None:
    text = render(lighthouse())
    assert text.startswith("workflow (UI format)\n")
    assert "\nnode KSampler\n  seed: 156680208700286\n  control_after_generate: true\n" \
           "  steps: 20\n" in text
    assert '\nnode CheckpointLoaderSimple\n  ckpt_name: "sd15/dreamshaper_8.safetensors"\n' in text
    links = text.split("\nlinks\n")[1].splitlines()
    assert "  CheckpointLoaderSimple.MODEL → KSampler.model" in links
    assert "  VAEDecode.IMAGE → SaveImage.images" in links
    assert links == sorted(links)
    # two untitled prompts read the same: numbered, in an order their connections decide
    assert "  CLIPTextEncode (1).CONDITIONING → KSampler.negative" in links
    assert "  CLIPTextEncode (2).CONDITIONING → KSampler.positive" in links
    assert "  model checkpoints/sd15/dreamshaper_8.safetensors" in text
    assert not any(line.lstrip().startswith(("pos:", "size:", "order:"))
                   for line in text.splitlines())


def test_layout_does_not_change_the_text() -> None:
    moved = lighthouse()
    for node in moved["nodes"]:
        node["pos"] = [0, 0]
        node["size"] = [1, 1]
        node["order"] = 99
        node["flags"] = {"collapsed": True}
        node["color"] = "#123"
    moved["extra"] = {"ds": {"scale": 3, "offset": [1, 2]}}
    moved["nodes"].reverse()
    assert render(moved) == render(lighthouse())


def test_an_edit_changes_only_its_lines() -> None:
    edited = lighthouse()
    node_of(edited, "CLIPTextEncode", 1)["widgets_values"][0] = "a ship at night"
    node_of(edited, "KSampler")["mode"] = 4
    before, after = render(lighthouse()).splitlines(), render(edited).splitlines()
    assert len(after) == len(before) + 1  # the mode line
    changed = [line for line in after if line not in before]
    assert changed == ['  text: "a ship at night"', "  mode: bypassed"]


def test_titles_properties_groups_subgraphs_and_api() -> None:
    document = lighthouse()
    node_of(document, "KSampler")["title"] = "Sampler \"main\""
    document["groups"] = [{"title": "Prompts", "bounding": [0, 0, 1, 1]}]
    text = render(document)
    assert '\nnode KSampler "Sampler \\"main\\""\n' in text
    assert '  property cnr_id: "comfy-core"' in text
    assert '\ngroups\n  "Prompts"\n' in text
    api = render({"3": {"class_type": "KSampler", "inputs": {"seed": 5, "model": ["4", 0]}},
                  "4": {"class_type": "CheckpointLoaderSimple",
                        "inputs": {"ckpt_name": "a.safetensors"}}})
    assert api.startswith("workflow (API format)")
    assert "  CheckpointLoaderSimple.[0] → KSampler.model" in api


# --- every real workflow -----------------------------------------------------------------------


def _workflows() -> list[Any]:
    found: list[Any] = []
    try:
        folder = importlib.resources.files(TEMPLATES) / "templates"
    except ModuleNotFoundError:
        folder = None
    if folder is not None and folder.is_dir():
        found += sorted((item for item in folder.iterdir() if item.name.endswith(".json")
                         and not item.name.startswith(("index", "fuse_options"))),
                        key=lambda item: item.name)
    if CORPUS.is_dir():
        found += sorted(path for path in CORPUS.glob("*.json")
                        if not path.name.startswith("object_info"))
    return found


WORKFLOWS = _workflows()


def test_there_are_real_workflows_to_check() -> None:
    assert len(WORKFLOWS) > 600, "install the test extra (comfyui-workflow-templates-json)"


@pytest.mark.parametrize("source", WORKFLOWS, ids=[item.name for item in WORKFLOWS])
def test_real_workflows(source: Traversable | Path) -> None:
    document = json.loads(source.read_bytes())
    original = graph.parse(copy.deepcopy(document))
    text = textform.render(view.build(original))
    assert text.endswith("\n")
    if original.format == "api":
        assert diff.diff(original, graph.parse(copy.deepcopy(document))).empty()
        return
    renumbered = renumber(document)
    assert diff.diff(original, graph.parse(renumbered)).empty()
    assert textform.render(view.build(graph.parse(renumbered))) == text
    if len(document["nodes"]) < 2:
        return
    nodes = document["nodes"]
    for victim in {nodes[0]["id"], nodes[len(nodes) // 2]["id"]}:
        result = diff.diff(original, graph.parse(renumber(delete_node(document, victim))))
        [top] = result.graphs
        assert [ref.id for ref in top.removed] == [str(victim)]
        assert not (top.added or top.changed or top.connected)
