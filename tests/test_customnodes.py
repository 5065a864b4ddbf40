"""Reading a real ComfyUI's custom_nodes/: folder and single-file packs, disabled ones, who each
pack is (registry install, git clone in every state), and the packs that cannot be read —
reported, never run, never a crash. Real folders, real git repositories."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from conftest import git

from git_comfy import customnodes
from git_comfy.core.nodepacks import Pack


def write(folder: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def mapping(*types: str) -> str:
    return "NODE_CLASS_MAPPINGS = {" + ", ".join(f"{t!r}: object" for t in types) + "}\n"


def packs_of(comfyui: Path) -> dict[str, Pack]:
    return {pack.name: pack for pack in customnodes.survey(str(comfyui)).packs}


def clone_like(folder: Path, remote: str | None) -> str:
    """A git repository in ``folder`` with one commit (and ``origin`` when given)."""
    git("init", "-q", cwd=folder)
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", "pack", cwd=folder)
    if remote:
        git("remote", "add", "origin", remote, cwd=folder)
    return git("rev-parse", "HEAD", cwd=folder).stdout.strip()


def test_folders_files_and_disabled_packs(comfyui: Path) -> None:
    nodes = comfyui / "custom_nodes"
    write(nodes / "ComfyUI-Alpha", {"__init__.py": "from .nodes import NODE_CLASS_MAPPINGS\n",
                                    "nodes.py": mapping("AlphaA", "AlphaB")})
    write(nodes, {"single.py": mapping("Single"), "off.py.disabled": mapping("FileOff"),
                  "README.md": "not a pack", "websocket_image_save.py": mapping("Core")})
    write(nodes / "Beta.disabled", {"__init__.py": mapping("BetaOff")})
    write(nodes / ".disabled" / "Gamma", {"__init__.py": mapping("GammaOff")})
    write(nodes / "__pycache__", {"x.pyc": ""})
    found = packs_of(comfyui)
    assert sorted(found) == ["Beta", "ComfyUI-Alpha", "Gamma", "off.py", "single.py"]
    assert found["ComfyUI-Alpha"].types == {"AlphaA", "AlphaB"}
    assert found["ComfyUI-Alpha"].complete and not found["ComfyUI-Alpha"].disabled
    assert found["single.py"].types == {"Single"}
    assert found["single.py"].identity.source == "unknown"
    for name, node_type in (("Beta", "BetaOff"), ("Gamma", "GammaOff"), ("off.py", "FileOff")):
        assert found[name].disabled and found[name].types == {node_type}


def test_no_custom_nodes_folder(tmp_path: Path) -> None:
    assert customnodes.survey(str(tmp_path)).packs == []


def test_a_pack_with_a_syntax_error_or_a_dynamic_mapping(comfyui: Path) -> None:
    nodes = comfyui / "custom_nodes"
    write(nodes / "broken", {"__init__.py": "NODE_CLASS_MAPPINGS = {\n"})
    write(nodes / "dynamic", {"__init__.py": """
        import importlib, os
        NODE_CLASS_MAPPINGS = {}
        for name in os.listdir(os.path.dirname(__file__)):
            module = importlib.import_module("." + name[:-3], __package__)
            NODE_CLASS_MAPPINGS.update(module.NODE_CLASS_MAPPINGS)
        raise SystemExit("this file must never run")
    """})
    write(nodes / "no_init", {"nodes.py": mapping("X")})
    found = packs_of(comfyui)
    assert found["broken"].types == frozenset() and not found["broken"].complete
    assert found["broken"].problems[0].startswith("__init__.py line 1")
    assert not found["dynamic"].complete
    assert "module.NODE_CLASS_MAPPINGS" in found["dynamic"].problems[0]
    assert "no __init__.py" in found["no_init"].problems[0]


def test_links_out_of_custom_nodes_and_out_of_a_pack(comfyui: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere" / "linked", {"__init__.py": mapping("Linked")})
    (comfyui / "custom_nodes" / "linked").symlink_to(outside, target_is_directory=True)
    secret = tmp_path / "secret.py"
    secret.write_text(mapping("Stolen"))
    escaping = write(comfyui / "custom_nodes" / "escaping", {
        "__init__.py": "from .inner import NODE_CLASS_MAPPINGS\n"})
    (escaping / "inner.py").symlink_to(secret)
    found = packs_of(comfyui)
    linked = found["linked"]
    assert linked.types == {"Linked"}  # read where it is: ComfyUI loads it from there
    assert linked.problems[0] == f"a link out of custom_nodes to {outside}"
    assert found["escaping"].types == frozenset()
    assert any("links outside the pack" in p for p in found["escaping"].problems)
    (comfyui / "custom_nodes" / "dangling").symlink_to(tmp_path / "removed")
    assert "does not exist" in packs_of(comfyui)["dangling"].problems[0]


def test_a_fifo_does_not_hang_the_scan(comfyui: Path) -> None:
    pack = write(comfyui / "custom_nodes" / "fifo", {
        "__init__.py": "from .nodes import NODE_CLASS_MAPPINGS\n"})
    os.mkfifo(pack / "nodes.py")
    found = packs_of(comfyui)
    assert any("not a regular file" in p for p in found["fifo"].problems)


def test_a_registry_install(comfyui: Path) -> None:
    write(comfyui / "custom_nodes" / "comfyui-kjnodes", {
        "__init__.py": mapping("ImageResizeKJ"), ".tracking": "__init__.py\n",
        "pyproject.toml": '[project]\nname = "ComfyUI-KJNodes"\nversion = "1.1.2"\n'
                          '[project.urls]\nRepository = "https://github.com/kijai/ComfyUI-KJNodes"\n'})
    identity = packs_of(comfyui)["comfyui-kjnodes"].identity
    assert (identity.package, identity.version, identity.source) == (
        "comfyui-kjnodes", "1.1.2", "registry")
    assert identity.repository == "https://github.com/kijai/ComfyUI-KJNodes"


def test_git_clones_in_every_state(comfyui: Path) -> None:
    nodes = comfyui / "custom_nodes"
    clean = write(nodes / "clean", {"__init__.py": mapping("Clean")})
    head = clone_like(clean, "https://github.com/owner/clean.git")
    lonely = write(nodes / "lonely", {"__init__.py": mapping("Lonely")})
    clone_like(lonely, None)
    detached = write(nodes / "detached", {"__init__.py": mapping("Detached")})
    detached_head = clone_like(detached, "git@github.com:owner/detached.git")
    git("checkout", "-q", "--detach", cwd=detached)
    (detached / "__init__.py").write_text(mapping("Detached", "Edited"))
    unborn = write(nodes / "unborn", {"__init__.py": mapping("Unborn")})
    git("init", "-q", cwd=unborn)
    found = packs_of(comfyui)
    assert (found["clean"].identity.version, found["clean"].identity.source) == (head, "git")
    assert found["clean"].identity.repository == "https://github.com/owner/clean"
    assert found["clean"].identity.notes == ()
    assert any("no remote" in n for n in found["lonely"].identity.notes)
    notes = " / ".join(found["detached"].identity.notes)
    assert "detached HEAD" in notes and "uncommitted changes" in notes
    assert found["detached"].identity.version == detached_head
    assert found["detached"].types == {"Detached", "Edited"}
    assert found["unborn"].identity.source == "unknown"
    assert "no commits" in found["unborn"].identity.notes[0]


def test_remotes_only_git_can_read(comfyui: Path) -> None:
    """A remote behind an include, or quoted: git itself reads it; a plain one is read from
    .git/config directly (one git process less per pack)."""
    nodes = comfyui / "custom_nodes"
    included = write(nodes / "included", {"__init__.py": mapping("I")})
    clone_like(included, None)
    (included / "extra.config").write_text('[remote "origin"]\n\turl = https://github.com/o/inc\n')
    git("config", "include.path", "../extra.config", cwd=included)
    quoted = write(nodes / "quoted", {"__init__.py": mapping("Q")})
    clone_like(quoted, "https://github.com/o/q#x;y")
    upstream = write(nodes / "upstream", {"__init__.py": mapping("U")})
    clone_like(upstream, None)
    git("remote", "add", "upstream", "https://github.com/o/up", cwd=upstream)
    found = packs_of(comfyui)
    assert found["included"].identity.repository == "https://github.com/o/inc"
    assert found["quoted"].identity.repository == "https://github.com/o/q#x;y"
    assert found["upstream"].identity.repository == "https://github.com/o/up"


def test_git_never_runs_what_a_pack_repository_configures(comfyui: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    pack = write(comfyui / "custom_nodes" / "trap", {"__init__.py": mapping("Trap")})
    clone_like(pack, "https://github.com/owner/trap")
    marker = tmp_path / "ran"
    script = tmp_path / "monitor.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    git("config", "core.fsmonitor", str(script), cwd=pack)
    # as inside a git hook: the environment names another repository
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere.git"))
    identity = packs_of(comfyui)["trap"].identity
    assert identity.source == "git" and identity.repository == "https://github.com/owner/trap"
    assert not marker.exists()


def test_the_scan_is_cached_until_a_file_changes(comfyui: Path) -> None:
    pack = write(comfyui / "custom_nodes" / "cached", {
        "__init__.py": "from .nodes import NODE_CLASS_MAPPINGS\n", "nodes.py": mapping("One")})
    assert packs_of(comfyui)["cached"].types == {"One"}
    nodes = pack / "nodes.py"
    info = nodes.stat()
    nodes.write_text(mapping("Two"))  # same size, then the old mtime put back
    os.utime(nodes, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert packs_of(comfyui)["cached"].types == {"One"}  # the cache was used
    nodes.write_text(mapping("Three", "Four"))
    assert packs_of(comfyui)["cached"].types == {"Three", "Four"}


def test_builtin_types_from_comfyui_source(comfyui: Path) -> None:
    core = [f"Core{n}" for n in range(60)]
    write(comfyui, {
        "nodes.py": mapping(*core),
        "comfy_extras/nodes_new.py": """
            from comfy_api.latest import ComfyExtension, io
            class Brand(io.ComfyNode):
                @classmethod
                def define_schema(cls):
                    return io.Schema(node_id="BrandNewCore")
            class Ext(ComfyExtension):
                async def get_node_list(self):
                    return [Brand]
            async def comfy_entrypoint():
                return Ext()
        """,
        "comfy_extras/helpers.py": "x = 1\n",
        "comfy_api_nodes/nodes_api.py": mapping("ApiNode"),
        "custom_nodes/websocket_image_save.py": mapping("SaveImageWebsocket"),
    })
    survey = customnodes.survey(str(comfyui))
    assert survey.builtin == {*core, "BrandNewCore", "ApiNode", "SaveImageWebsocket"}
    assert survey.builtin_source == f"{comfyui}'s source"
    assert survey.packs == []  # websocket_image_save.py ships with ComfyUI


def test_builtin_types_fall_back_to_the_shipped_list(comfyui: Path) -> None:
    survey = customnodes.survey(str(comfyui))  # the demo's ComfyUI has no nodes.py
    assert "KSampler" in survey.builtin and "shipped" in survey.builtin_source
    write(comfyui, {"nodes.py": "import something\nNODE_CLASS_MAPPINGS = build()\n"})
    survey = customnodes.survey(str(comfyui))
    assert "KSampler" in survey.builtin and "too few" in survey.builtin_source
    assert customnodes.survey(None).builtin == survey.builtin


def test_dev_nodes_inside_and_outside_custom_nodes(comfyui: Path, tmp_path: Path) -> None:
    inside = write(comfyui / "custom_nodes" / "folder-name", {"__init__.py": mapping("In")})
    outside = write(tmp_path / "work" / "out", {"__init__.py": mapping("Out")})
    found = {p.name: p for p in customnodes.survey(str(comfyui), {
        "my-inside": str(inside), "my-outside": str(outside),
        "gone": str(tmp_path / "missing")}).packs}
    assert sorted(found) == ["gone", "my-inside", "my-outside"]
    assert found["my-inside"].dev and found["my-inside"].identity.source == "dev"
    assert found["my-outside"].types == {"Out"}
    assert "does not exist" in found["gone"].problems[0]
