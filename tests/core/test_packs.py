"""Pack identity: ids, repositories and versions in their normal forms, and what a pyproject,
a .tracking file, git's answers and the registry's answers mean."""

from __future__ import annotations

import pytest

from git_comfy.core import packs
from git_comfy.core.packs import GitState

COMMIT = "c0f9894dc5b9dbc35db3e4679bf05f0d4b3d59c0"


@pytest.mark.parametrize("spelling", ["ComfyUI_Comfyroll_CustomNodes",
                                      "comfyui-comfyroll-customnodes",
                                      " COMFYUI_COMFYROLL-customnodes "])
def test_registry_ids_compare_case_and_separator_blind(spelling: str) -> None:
    assert packs.id_key(spelling) == "comfyui-comfyroll-customnodes"


def test_folder_names_as_ids() -> None:
    assert packs.folder_key("ComfyUI-KJNodes.disabled") == "comfyui-kjnodes"
    assert packs.folder_key("comfyui-kjnodes@1.1.2") == "comfyui-kjnodes"
    assert packs.folder_key("my_node.py") == "my-node"


def test_core_id() -> None:
    assert packs.is_core("comfy-core") and packs.is_core("Comfy_Core")
    assert not packs.is_core("comfyui-kjnodes") and not packs.is_core(None)


@pytest.mark.parametrize("url", [
    "https://github.com/Kijai/ComfyUI-KJNodes", "https://github.com/kijai/ComfyUI-KJNodes.git",
    "https://www.github.com/kijai/comfyui-kjnodes/", "git@github.com:kijai/ComfyUI-KJNodes.git",
    "ssh://git@github.com/kijai/ComfyUI-KJNodes", "http://github.com/kijai/ComfyUI-KJNodes",
])
def test_repositories_compare_by_host_and_path(url: str) -> None:
    assert packs.repo_key(url) == "github.com/kijai/comfyui-kjnodes"


@pytest.mark.parametrize("url, expected", [
    ("https://github.com/o/r.git/", "https://github.com/o/r"),
    ("http://github.com/o/r", None),
    ("https://user:token@github.com/o/r", None),
    ("https://github.com/o/r name", None),
    ("https://github.com", None),
    ("ext::sh -c touch /tmp/x", None),
    ("https://github.com/o/r\u0007", None),
    (42, None),
])
def test_only_plain_https_is_a_repository(url: object, expected: str | None) -> None:
    assert packs.https_repository(url) == expected


def test_aux_ids() -> None:
    assert packs.github_repository("rgthree/rgthree-comfy") == (
        "https://github.com/rgthree/rgthree-comfy")
    for bad in ("a/b/c", "../x", "a b/c", "", "onlyowner", None):
        assert packs.github_repository(bad) is None


def test_remotes_in_https_form() -> None:
    assert packs.https_form("git@github.com:o/r.git") == "https://github.com/o/r"
    assert packs.https_form("https://gitlab.com/o/r") == "https://gitlab.com/o/r"
    assert packs.https_form("/home/me/src/node") is None
    assert packs.https_form("http://intranet/o/r") is None


@pytest.mark.parametrize("value, expected", [
    ("2.5", "2.5.0"), ("1.1.2", "1.1.2"), ("1.0-beta", "1.0.0-beta"), (COMMIT.upper(), COMMIT),
    ("nightly", "nightly"), ("", None), (None, None), ("x" * 500, None),
])
def test_versions(value: object, expected: str | None) -> None:
    assert packs.normal_version(value) == expected


def test_python_modules() -> None:
    assert packs.python_module_folder("custom_nodes.ComfyUI-KJNodes") == (
        "ComfyUI-KJNodes", None)
    assert packs.python_module_folder("custom_nodes.comfyui-kjnodes@1.1.2") == (
        "comfyui-kjnodes", "1.1.2")
    assert packs.python_module_folder("comfy_extras.nodes_wan") is None
    assert packs.is_core_module("nodes") and packs.is_core_module("comfy_api_nodes.nodes_bfl")
    assert not packs.is_core_module("custom_nodes.x")


REGISTRY_PYPROJECT = {"project": {"name": "ComfyUI-KJNodes", "version": "1.1",
                                  "urls": {"Repository": "https://github.com/kijai/ComfyUI-KJNodes"}}}


def test_a_registry_install() -> None:
    identity = packs.identify("comfyui-kjnodes", REGISTRY_PYPROJECT, True, None, None)
    assert (identity.package, identity.version, identity.source) == (
        "comfyui-kjnodes", "1.1.0", "registry")
    assert identity.repository == "https://github.com/kijai/ComfyUI-KJNodes"


def test_a_git_clone() -> None:
    state = GitState("git@github.com:kijai/ComfyUI-KJNodes.git", COMMIT, "main", False)
    identity = packs.identify("ComfyUI-KJNodes", REGISTRY_PYPROJECT, False, None, state)
    assert (identity.package, identity.version, identity.source) == (
        "comfyui-kjnodes", COMMIT, "git")
    assert identity.repository == "https://github.com/kijai/ComfyUI-KJNodes"
    assert any("shown as" in note for note in identity.notes)


def test_a_git_clone_with_no_remote_detached_and_dirty() -> None:
    identity = packs.identify("mine", None, False, None, GitState(None, COMMIT, None, True))
    assert (identity.package, identity.source, identity.repository) == ("mine", "git", None)
    text = " ".join(identity.notes)
    assert "no remote" in text and "detached HEAD" in text and "uncommitted changes" in text


def test_the_cnr_id_git_keeps() -> None:
    identity = packs.identify("x", None, False, "comfyui-x", GitState(None, COMMIT, "main"))
    assert identity.registry_id == "comfyui-x" and identity.package == "comfyui-x"


def test_untraceable_packs() -> None:
    copied = packs.identify("copied", REGISTRY_PYPROJECT, False, None, None)
    assert copied.source == "unknown" and "no .tracking" in copied.notes[0]
    broken = packs.identify("broken", None, False, None, GitState(error="git cannot read it"))
    assert broken.source == "unknown" and broken.notes == ("git cannot read it",)
    empty = packs.identify("empty", None, False, None, GitState())
    assert "no commits" in empty.notes[0]


def test_registry_answers() -> None:
    node = packs.registry_node({"id": "comfyui-kjnodes", "latest_version": {"version": "1.1.2"},
                                "repository": "https://github.com/kijai/ComfyUI-KJNodes"})
    assert node is not None and node.repository and node.latest_version == "1.1.2"
    insecure = packs.registry_node({"id": "x", "repository": "http://example.com/x"})
    assert insecure is not None and insecure.repository is None
    assert insecure.problem is not None and "not https" in insecure.problem
    assert packs.registry_node(["not", "a", "node"]) is None
    assert packs.registry_node({"name": "no id"}) is None
    assert packs.registry_versions([{"version": "1.0"}, {"v": 2}, "x"]) == ["1.0.0"]
    assert packs.registry_versions({"versions": [{"version": "2.0.1"}]}) == ["2.0.1"]
    assert packs.registry_versions("html") is None
