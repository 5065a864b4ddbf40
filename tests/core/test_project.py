"""``project``: workflow names (checked before they become paths) and the pyproject schema."""

from __future__ import annotations

from typing import Any

import pytest

from git_comfy.core import project
from git_comfy.errors import FatalError

GOOD = [
    ("lighthouse", "lighthouse"),
    ("lighthouse.json", "lighthouse"),
    ("portraits/sailor", "portraits/sailor"),
    ("portraits/sailor.json", "portraits/sailor"),
    ("portraits\\sailor", "portraits/sailor"),
    ("portraits\\sailor.json", "portraits/sailor"),
    ("a\\b/c\\d", "a/b/c/d"),
    ("clients/acme/Ünï cöde v2", "clients/acme/Ünï cöde v2"),
    ("灯台", "灯台"),
    ("flux-v2.1_final", "flux-v2.1_final"),
    ("a..b", "a..b"),
    ("...x", "...x"),
    ("x.json.json", "x.json"),        # only one suffix is the extension
    ("x.JSON", "x.JSON"),             # names are case-sensitive, like the files
    ("x.jsonl", "x.jsonl"),
    ("name with spaces", "name with spaces"),
    ("ab:", "ab:"),
]

BAD = [
    ("", "is empty"),
    (".json", "is empty"),
    ("/", "is an absolute path"),
    ("/etc/passwd", "is an absolute path"),
    ("\\etc\\passwd", "is an absolute path"),
    ("\\\\server\\share\\x", "is an absolute path"),
    ("C:", "is an absolute path"),
    ("C:\\ComfyUI\\x", "is an absolute path"),
    ("c:x", "is an absolute path"),
    ("a:b", "is an absolute path"),  # drive-relative on Windows
    ("..", "'..' folder"),
    ("../x", "'..' folder"),
    ("..\\x", "'..' folder"),
    ("a/../../x", "'..' folder"),
    ("a/..", "'..' folder"),
    ("../x.json", "'..' folder"),
    (".", "'.' or '..' folder"),
    ("./x", "'.' or '..' folder"),
    ("a/./b", "'.' or '..' folder"),
    ("a//b", "empty"),
    ("a/", "empty"),
    ("a\\", "empty"),
    ("a/.json", "empty"),
    ("a\0b", "control characters"),
    ("a\nb", "control characters"),
    ("a\tb", "control characters"),
    ("\x1b[31mred", "control characters"),
    ("a\x7fb", "control characters"),
]


@pytest.mark.parametrize(("name", "canonical"), GOOD)
def test_good_names(name: str, canonical: str) -> None:
    assert project.canonical_name(name) == canonical
    assert project.canonical_name(canonical) == canonical or canonical.endswith(".json")


@pytest.mark.parametrize(("name", "problem"), BAD)
def test_bad_names(name: str, problem: str) -> None:
    with pytest.raises(FatalError) as caught:
        project.canonical_name(name)
    message = str(caught.value)
    assert problem in message
    assert repr(name) in message  # the name as given, escaped, so control characters show
    assert "\n" not in message
    assert "like portraits/flux-v2" in message


def _document(table: Any) -> dict[str, Any]:
    return {"tool": {"comfydock": {"workflows": table}}}


def test_tracked_names_sorted_and_filtered() -> None:
    document = _document({
        "z": {"tracked": True},
        "a/b": {"tracked": True, "requires": {"nodes": ["x"]}},
        "parked": {"tracked": False, "requires": {}},
        "odd": {"tracked": "yes"},
        "plain": True,
        "empty": {},
    })
    assert project.tracked_names(document) == ["a/b", "z"]


@pytest.mark.parametrize("document", [{}, {"tool": {}}, {"tool": {"comfydock": {}}},
                                      _document({}), _document("not a table"), _document([1])])
def test_no_workflows_table(document: dict[str, Any]) -> None:
    assert project.tracked_names(document) == []


@pytest.mark.parametrize(("key", "fix"), [("a\\b", "'a/b'"), ("x.json", "'x'")])
def test_non_canonical_tracked_key_is_reported(key: str, fix: str) -> None:
    with pytest.raises(FatalError, match="not a canonical name") as caught:
        project.tracked_names(_document({key: {"tracked": True}}))
    assert fix in str(caught.value)


@pytest.mark.parametrize("key", ["../escape", "/abs", ""])
def test_dangerous_tracked_key_from_a_cloned_repository_is_refused(key: str) -> None:
    with pytest.raises(FatalError, match="workflow name"):
        project.tracked_names(_document({key: {"tracked": True}}))


def test_is_tracked() -> None:
    assert project.is_tracked({"tracked": True})
    for entry in ({"tracked": False}, {"tracked": 1}, {}, True, None, "tracked"):
        assert not project.is_tracked(entry)
