"""``workflow.snapshot_bytes``: ComfyUI's bytes as they are, unless ComfyDock's legacy metadata
must go, which rewrites the file in its own layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_comfy.commands import demo
from git_comfy.core import jsonsafe, workflow

LEGACY = workflow.LEGACY_METADATA_KEY
DEMO_WORKFLOWS = sorted((Path(demo.DATA) / "workflows").rglob("*.json"))


def _sample() -> dict[str, Any]:
    return {
        "id": "5b4e0b8c-3c6f-4c57-9d4e-1a2b3c4d5e6f",
        "revision": 0,
        "last_node_id": 2,
        "nodes": [
            {"id": 1, "type": "KSampler", "widgets_values": [18446744073709551615, "fixed", 20],
             "properties": {"Node name for S&R": "KSampler"}},
            {"id": 2, "type": "CLIPTextEncode", "widgets_values": ["灯台, Ünï — \"quoted\" [x]"]},
        ],
        "links": [[1, 2, 0, 1, 1, "CONDITIONING"]],
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 0.8, "offset": [1.5, -2]}, "frontendVersion": "1.27.10"},
        "version": 0.4,
    }


def _with_legacy(document: dict[str, Any]) -> dict[str, Any]:
    legacy: dict[str, Any] = json.loads(json.dumps(document))
    legacy["extra"][LEGACY] = {"models": {"a.safetensors": {"hash": "abc"}}, "version": 1}
    return legacy


LAYOUTS: list[tuple[str, int | str | None, tuple[str, str]]] = [
    ("two-spaces", 2, (",", ": ")),
    ("four-spaces", 4, (",", ": ")),
    ("tab", "\t", (",", ": ")),
    ("compact", None, (",", ":")),   # JSON.stringify(workflow) without an indent
]


def _written(document: dict[str, Any], indent: int | str | None,
             separators: tuple[str, str]) -> bytes:
    return json.dumps(document, indent=indent, separators=separators,
                      ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("newline", [b"", b"\n"], ids=["no-final-newline", "final-newline"])
@pytest.mark.parametrize(("layout", "indent", "separators"), LAYOUTS,
                         ids=[layout[0] for layout in LAYOUTS])
def test_without_legacy_metadata_the_bytes_are_unchanged(layout: str, indent: int | str | None,
                                                         separators: tuple[str, str],
                                                         newline: bytes) -> None:
    saved = _written(_sample(), indent, separators) + newline
    assert workflow.snapshot_bytes(saved) == saved


@pytest.mark.parametrize("newline", [b"", b"\n"], ids=["no-final-newline", "final-newline"])
@pytest.mark.parametrize(("layout", "indent", "separators"), LAYOUTS,
                         ids=[layout[0] for layout in LAYOUTS])
def test_legacy_metadata_is_stripped_in_the_file_s_own_layout(layout: str,
                                                               indent: int | str | None,
                                                               separators: tuple[str, str],
                                                               newline: bytes) -> None:
    saved = _written(_with_legacy(_sample()), indent, separators) + newline
    expected = _written(_sample(), indent, separators) + newline
    result = workflow.snapshot_bytes(saved)
    assert result == expected
    assert LEGACY.encode() not in result
    assert result.endswith(b"\n") == (newline == b"\n")
    assert "灯台".encode() in result  # not \u-escaped


def test_legacy_metadata_as_the_only_extra_leaves_an_empty_extra() -> None:
    document = _sample()
    document["extra"] = {LEGACY: {"x": 1}}
    saved = json.dumps(document, indent=2).encode() + b"\n"
    result = workflow.snapshot_bytes(saved)
    assert json.loads(result)["extra"] == {}
    assert result.endswith(b'  "extra": {},\n  "version": 0.4\n}\n')


def test_key_order_and_numbers_survive_stripping() -> None:
    saved = json.dumps(_with_legacy(_sample()), indent=2).encode()
    result = jsonsafe.loads_object(workflow.snapshot_bytes(saved))
    assert list(result) == list(_sample())
    assert result["nodes"][0]["widgets_values"][0] == 2**64 - 1
    assert list(result["extra"]) == ["ds", "frontendVersion"]


def test_already_stripped_is_stable() -> None:
    saved = json.dumps(_with_legacy(_sample()), indent=2).encode() + b"\n"
    once = workflow.snapshot_bytes(saved)
    assert workflow.snapshot_bytes(once) == once


@pytest.mark.parametrize("where", ["top-level", "in-a-node", "in-a-string", "extra-not-a-dict"])
def test_the_key_elsewhere_is_left_alone(where: str) -> None:
    document: dict[str, Any] = _sample()
    if where == "top-level":
        document[LEGACY] = {"x": 1}
    elif where == "in-a-node":
        document["nodes"][0]["extra"] = {LEGACY: 1}
    elif where == "in-a-string":
        document["nodes"][1]["widgets_values"] = [f'"extra": {{"{LEGACY}": 1}}']
    else:
        document["extra"] = [LEGACY]
    saved = json.dumps(document, indent=2).encode()
    assert workflow.snapshot_bytes(saved) == saved


def test_strip_legacy_metadata() -> None:
    document = _with_legacy(_sample())
    assert workflow.strip_legacy_metadata(document) is True
    assert document == _sample()
    assert workflow.strip_legacy_metadata(document) is False
    assert workflow.strip_legacy_metadata({}) is False
    assert workflow.strip_legacy_metadata({"extra": None}) is False


@pytest.mark.parametrize("saved", [
    b"", b"[]", b'[{"nodes": []}]', b'{"nodes": [', b'{"a": NaN}', b'{"a": 1, "a": 2}',
    b"\xff\xfe{\x00}\x00", b'{"x": 1e400}',
])
def test_what_is_not_a_workflow_object_raises_json_error(saved: bytes) -> None:
    with pytest.raises(jsonsafe.JSONError):
        workflow.snapshot_bytes(saved)


def test_bom_is_accepted_and_kept_when_nothing_is_stripped() -> None:
    saved = b"\xef\xbb\xbf" + json.dumps(_sample(), indent=2).encode()
    assert workflow.snapshot_bytes(saved) == saved


@pytest.mark.parametrize("path", DEMO_WORKFLOWS, ids=[p.stem for p in DEMO_WORKFLOWS])
def test_demo_workflows_pass_unchanged(path: Path) -> None:
    saved = path.read_bytes()
    assert workflow.snapshot_bytes(saved) == saved


def test_demo_workflows_exist() -> None:
    assert len(DEMO_WORKFLOWS) == 2
