"""`git comfy node add --dev / list / remove`: dev nodes recorded in .cec/pyproject.toml with
tomlkit (comments survive), and the installed packs listed with their versions and problems."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import Comfy, assert_one_error, git, tree_digest

PYPROJECT = ".cec/pyproject.toml"


def dev_pack(folder: Path, *types: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(
        "NODE_CLASS_MAPPINGS = {" + ", ".join(f"{t!r}: 1" for t in types) + "}\n")
    return folder


def nodes_table(repo: Path) -> dict[str, Any]:
    document = tomllib.loads((repo / PYPROJECT).read_text())
    table: dict[str, Any] = document.get("tool", {}).get("comfydock", {}).get("nodes", {})
    return table


def test_add_inside_the_work_tree_keeps_comments(env_repo: Path, comfy: Comfy) -> None:
    dev_pack(env_repo / "nodes" / "my-node", "Mine")
    pyproject = env_repo / PYPROJECT
    pyproject.write_text(pyproject.read_text() + "\n# my own note, keep me\n")
    result = comfy("node", "add", "--dev", "nodes/my-node", cwd=env_repo)
    assert (result.code, result.out, result.err) == (0, "", "")
    assert nodes_table(env_repo) == {"my-node": {"source": "dev", "path": "nodes/my-node"}}
    assert "# my own note, keep me" in pyproject.read_text()
    before = pyproject.read_bytes()
    assert comfy("node", "add", "--dev", "nodes/my-node", cwd=env_repo).code == 0
    assert pyproject.read_bytes() == before  # recording it again changes nothing


def test_add_outside_with_a_name_and_a_single_file(env_repo: Path, comfy: Comfy,
                                                   tmp_path: Path) -> None:
    outside = dev_pack(tmp_path / "src" / "experiment", "Exp")
    (tmp_path / "one_file.py").write_text("NODE_CLASS_MAPPINGS = {'One': 1}\n")
    (env_repo / "sub").mkdir()
    assert comfy("node", "add", "--dev", "--name", "exp", str(outside), cwd=env_repo).code == 0
    assert comfy("node", "add", "--dev", str(tmp_path / "one_file.py"),
                 cwd=env_repo / "sub").code == 0
    assert nodes_table(env_repo) == {
        "exp": {"source": "dev", "path": str(outside)},
        "one_file": {"source": "dev", "path": str(tmp_path / "one_file.py")},
    }


@pytest.mark.parametrize("args, fragments", [
    (["node", "add", "nodes/ok"], ["pass --dev"]),
    (["node", "add", "--dev", "nodes/missing"], ["neither a folder nor a .py file"]),
    (["node", "add", "--dev", "nodes/no-init"], ["no __init__.py"]),
    (["node", "add", "--dev", "--name", "../evil", "nodes/ok"], ["cannot be a folder name"]),
    (["node", "add", "--dev", "--name", "x.disabled", "nodes/ok"], ["cannot be a folder name"]),
    (["node", "add", "--dev", "--name", "taken", "nodes/ok"], ["already recorded"]),
    (["node", "add", "--dev", "--name", "other", "nodes/taken"], ["already recorded as"]),
    (["node", "remove", "tkaen"], ["no dev node 'tkaen'", "did you mean taken?"]),
])
def test_bad_requests_change_nothing(env_repo: Path, comfy: Comfy, args: list[str],
                                     fragments: list[str]) -> None:
    dev_pack(env_repo / "nodes" / "ok", "Ok")
    dev_pack(env_repo / "nodes" / "taken", "Taken")
    (env_repo / "nodes" / "no-init").mkdir()
    assert comfy("node", "add", "--dev", "nodes/taken", cwd=env_repo).code == 0
    before = tree_digest(env_repo / ".cec")
    assert_one_error(comfy(*args, cwd=env_repo), *fragments)
    assert tree_digest(env_repo / ".cec") == before


def test_remove(env_repo: Path, comfy: Comfy) -> None:
    dev_pack(env_repo / "nodes" / "a", "A")
    dev_pack(env_repo / "nodes" / "b", "B")
    original = (env_repo / PYPROJECT).read_text()
    comfy("node", "add", "--dev", "nodes/a", cwd=env_repo)
    comfy("node", "add", "--dev", "nodes/b", cwd=env_repo)
    assert comfy("node", "remove", "a", cwd=env_repo).code == 0
    assert list(nodes_table(env_repo)) == ["b"]
    assert comfy("node", "remove", "b", cwd=env_repo).code == 0
    assert (env_repo / PYPROJECT).read_text().rstrip() == original.rstrip()
    assert (env_repo / "nodes" / "a" / "__init__.py").is_file()  # files are never touched
    assert_one_error(comfy("node", "remove", "a", cwd=env_repo), "there are none")


def test_list(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    dev_pack(env_repo / "nodes" / "my-node", "Mine")
    comfy("node", "add", "--dev", "nodes/my-node", cwd=env_repo)
    clone = dev_pack(comfyui / "custom_nodes" / "ComfyUI-Clone", "Cloned")
    git("init", "-q", cwd=clone)
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", "x", cwd=clone)
    git("remote", "add", "origin", "https://github.com/o/ComfyUI-Clone.git", cwd=clone)
    broken = comfyui / "custom_nodes" / "broken.disabled"
    broken.mkdir()
    (broken / "__init__.py").write_text("def (\n")
    result = comfy("node", "list", "--json", cwd=env_repo)
    assert result.code == 0, result.err
    listing = json.loads(result.out)
    assert listing["comfyui"] == str(comfyui)
    found = {p["name"]: p for p in listing["packs"]}
    assert sorted(found) == ["ComfyUI-Clone", "broken", "my-node"]
    assert found["ComfyUI-Clone"]["source"] == "git"
    assert found["ComfyUI-Clone"]["repository"] == "https://github.com/o/ComfyUI-Clone"
    assert found["ComfyUI-Clone"]["node_types"] == ["Cloned"]
    assert found["my-node"]["dev"] and found["my-node"]["source"] == "dev"
    assert found["broken"]["disabled"] and not found["broken"]["complete"]
    assert "line 1" in found["broken"]["problems"][0]
    text = comfy("node", "list", cwd=env_repo).out
    assert "ComfyUI-Clone  https://github.com/o/ComfyUI-Clone" in text
    assert "(git)  1 node types" in text and "(unknown, disabled)  0+ node types" in text


def test_list_without_packs_and_without_comfyui(env_repo: Path, comfyui: Path,
                                                comfy: Comfy) -> None:
    assert "no custom node packs" in comfy("node", "list", cwd=env_repo).out
    git("config", "comfy.path", "/nowhere", cwd=env_repo)
    assert_one_error(comfy("node", "list", cwd=env_repo), "no ComfyUI folder at /nowhere")


def test_analyze_knows_dev_nodes(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    dev_pack(env_repo / "nodes" / "my-node", "Mine")
    comfy("node", "add", "--dev", "nodes/my-node", cwd=env_repo)
    workflow = {"nodes": [{"id": 1, "type": "Mine", "properties": {}}], "links": []}
    path = comfyui / "user" / "default" / "workflows" / "dev.json"
    path.write_text(json.dumps(workflow))
    result = comfy("analyze", "dev", "--json", "--offline", cwd=env_repo)
    [item] = json.loads(result.out)["custom_nodes"]
    assert (item["package"], item["source"], item["status"]) == ("my-node", "dev", "installed")


def test_a_dev_node_outside_the_work_tree_is_found_by_its_absolute_path(
        env_repo: Path, comfy: Comfy, tmp_path: Path) -> None:
    outside = dev_pack(tmp_path / "elsewhere" / "far-node", "Far")
    assert comfy("node", "add", "--dev", str(outside), cwd=env_repo).code == 0
    listed = comfy("node", "list", "--json", cwd=env_repo)
    [pack] = [p for p in json.loads(listed.out)["packs"] if p["name"] == "far-node"]
    assert pack["path"] == str(outside) and pack["node_types"] == ["Far"]
