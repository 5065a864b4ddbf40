"""`git comfy demo`: the first thing a new user runs, end to end through the real program."""

from __future__ import annotations

import json
import os
import tarfile
import tomllib
from pathlib import Path

from conftest import git, git_comfy

from git_comfy.commands import demo


def test_demo_walks_through_and_leaves_a_clean_environment(tmp_path: Path) -> None:
    result = git_comfy("demo", str(tmp_path / "d"), cwd=tmp_path)
    assert result.code == 0, result.out + result.err
    for step in ("$ git comfy init --comfyui ../ComfyUI", "$ git comfy track lighthouse",
                 "$ git comfy commit -q -m", "$ git commit -q -m", "modified in ComfyUI"):
        assert step in result.out
    studio = tmp_path / "d" / "studio"
    log = git("log", "--format=%s", cwd=studio).stdout.splitlines()
    assert log == ["Export the sailor portrait", "Vignette on the sailor portrait",
                   "Stormy sea, seed 42", "Track the lighthouse and sailor workflows"]
    bundle = tmp_path / "d" / "sailor.tar.gz"
    assert "$ git comfy export portraits/sailor --yes --offline -o ../sailor.tar.gz" in result.out
    assert f"exported portraits/sailor → {bundle}" in result.out
    assert "sailor.tar.gz: checksums OK (4 files" in result.out
    with tarfile.open(bundle, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert [m["folder"] for m in manifest["models"]] == ["checkpoints", "loras"]
    friend = tmp_path / "d" / "friend" / "ComfyUI" / "user" / "default" / "workflows"
    received = json.loads((friend / "portraits" / "sailor.json").read_text())
    assert sorted(n["widgets_values"][0] for n in received["nodes"]
                  if n["type"] in ("CheckpointLoaderSimple", "LoraLoader")) == [
        "DreamShaper v8.safetensors", "detail-portrait.safetensors"]
    assert "models: 2 here" in result.out
    # the demo's own dev node travelled in the bundle and was installed on the other side
    installed = tmp_path / "d" / "friend" / "ComfyUI" / "custom_nodes" / "demo-vignette"
    assert "DemoVignette" in (installed / "__init__.py").read_text()
    assert "installed demo-vignette" in result.out and "NOT READY" not in result.out
    recorded = tomllib.loads((studio / ".cec" / "pyproject.toml").read_text())
    assert recorded["tool"]["comfydock"]["workflows"]["portraits/sailor"]["requires"][
        "models"] == [m["sha256"] for m in manifest["models"]]
    committed = json.loads(git("show", "HEAD:.cec/workflows/lighthouse.json", cwd=studio).stdout)
    seeds = [n["widgets_values"][0] for n in committed["nodes"] if n["type"] == "KSampler"]
    assert seeds == [42]
    assert git("status", "--porcelain", cwd=studio).stdout == ""
    assert "resolved  checkpoints/sd15/dreamshaper_8.safetensors" in result.out
    assert (tmp_path / "d" / "model-index.sqlite3").is_file()  # not the user's own index
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "git-comfy" / "models.sqlite3").exists()
    status = git_comfy("status", "--json", cwd=studio)
    states = {w["name"]: w["state"] for w in json.loads(status.out)["workflows"]}
    assert states == {"lighthouse": "unchanged", "portraits/sailor": "unchanged"}


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = git_comfy("demo", str(tmp_path), cwd=tmp_path)
    assert result.code == 1
    assert result.err.count("\n") == 1 and "is not empty" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_demo_models_are_distinct_valid_safetensors(tmp_path: Path) -> None:
    comfyui = Path(demo.build_comfyui(str(tmp_path / "ComfyUI")))
    contents = set()
    for relative, size in demo.MODELS.items():
        data = (comfyui / "models" / relative).read_bytes()
        contents.add(data)
        if relative.endswith(".safetensors"):
            header_length = int.from_bytes(data[:8], "little")
            header = json.loads(data[8 : 8 + header_length])
            assert header["__metadata__"]["name"] == relative
            assert len(data) == 8 + header_length + size
    assert len(contents) == len(demo.MODELS)
