"""`git comfy analyze`: models of real workflows resolved against a real index, through the real
program (also on a pseudo-terminal, answering the prompts as a user would)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Comfy, git_comfy, save_in_comfyui, workflow_file
from terminal import run_on_terminal

from git_comfy.commands import demo

DREAMSHAPER = "models/checkpoints/sd15/dreamshaper_8.safetensors"


def analyze_json(repo: Path, target: str, comfy: Comfy) -> dict[str, Any]:
    result = comfy("analyze", target, "--json", cwd=repo)
    assert result.code == 0, result.err
    report: dict[str, Any] = json.loads(result.out)
    return report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {model["name"]: model for model in report["models"]}


def with_checkpoint(comfyui: Path, name: str, checkpoint: str) -> None:
    """Saves a copy of the demo's lighthouse workflow under ``name``, loading ``checkpoint``."""
    document = json.loads(workflow_file(comfyui, "lighthouse").read_text(encoding="utf-8"))
    for node in document["nodes"]:
        if node["type"] == "CheckpointLoaderSimple":
            node["widgets_values"][0] = checkpoint
    save_in_comfyui(comfyui, name, json.dumps(document, indent=2))


def place_model(comfyui: Path, relative: str, content: bytes) -> Path:
    path = comfyui / "models" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_resolves_the_demo_workflows(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    report = analyze_json(env_repo, "portraits/sailor", comfy)
    assert report["format"] == "ui"
    models = by_name(report)
    checkpoint = models["sd15/dreamshaper_8.safetensors"]
    assert checkpoint["folder"] == "checkpoints"
    assert checkpoint["status"] == "resolved"
    assert checkpoint["path"] == str(comfyui / DREAMSHAPER)
    assert checkpoint["required"] is True
    assert checkpoint["candidates"] == []
    lora = models["portrait_detail_v2.safetensors"]
    assert (lora["folder"], lora["status"]) == ("loras", "resolved")
    assert lora["path"] == str(comfyui / "models/loras/portrait_detail_v2.safetensors")
    node_types = {n["id"]: n["type"] for n in json.loads(
        workflow_file(comfyui, "portraits/sailor").read_text())["nodes"]}
    assert [node_types[int(i)] for i in lora["node_ids"]] == ["LoraLoader"]


def test_missing_and_ambiguous_are_results_not_errors(
    env_repo: Path, comfyui: Path, comfy: Comfy,
) -> None:
    place_model(comfyui, "checkpoints/v1/model.safetensors", b"one" * 100)
    place_model(comfyui, "checkpoints/v2/model.safetensors", b"two" * 200)
    with_checkpoint(comfyui, "ambiguous", "model.safetensors")
    with_checkpoint(comfyui, "missing", "nowhere/gone.safetensors")

    ambiguous = by_name(analyze_json(env_repo, "ambiguous", comfy))["model.safetensors"]
    assert ambiguous["status"] == "ambiguous" and ambiguous["path"] is None
    assert sorted((c["path"], c["size"]) for c in ambiguous["candidates"]) == [
        (str(comfyui / "models/checkpoints/v1/model.safetensors"), 300),
        (str(comfyui / "models/checkpoints/v2/model.safetensors"), 600),
    ]
    missing = by_name(analyze_json(env_repo, "missing", comfy))["nowhere/gone.safetensors"]
    assert (missing["status"], missing["path"], missing["candidates"]) == ("missing", None, [])


def test_copies_of_one_file_are_not_ambiguous(env_repo: Path, comfyui: Path,
                                              comfy: Comfy) -> None:
    source = (comfyui / DREAMSHAPER).read_bytes()
    place_model(comfyui, "checkpoints/backup/dreamshaper_8.safetensors", source)
    with_checkpoint(comfyui, "copies", "dreamshaper_8.safetensors")
    model = by_name(analyze_json(env_repo, "copies", comfy))["dreamshaper_8.safetensors"]
    assert model["status"] == "resolved"


def test_a_file_outside_any_environment(env_repo: Path, comfyui: Path, comfy: Comfy,
                                        tmp_path: Path) -> None:
    """Outside an environment the index is used as it is (here: filled by a scan before)."""
    assert comfy("models", "scan", cwd=env_repo).code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / "shared.json"
    copy.write_bytes(workflow_file(comfyui, "lighthouse").read_bytes())
    report = analyze_json(elsewhere, str(copy), comfy)
    assert report["workflow"] == str(copy)
    assert by_name(report)["sd15/dreamshaper_8.safetensors"]["status"] == "resolved"


def test_api_format(env_repo: Path, tmp_path: Path, comfy: Comfy) -> None:
    prompt = {
        "4": {"class_type": "CheckpointLoaderSimple",
              "inputs": {"ckpt_name": "sd15/dreamshaper_8.safetensors"}},
        "10": {"class_type": "LoraLoader", "inputs": {
            "lora_name": "absent.safetensors", "strength_model": 1, "strength_clip": 1,
            "model": ["4", 0], "clip": ["4", 1]}},
    }
    path = tmp_path / "prompt.json"
    path.write_text(json.dumps(prompt))
    report = analyze_json(env_repo, str(path), comfy)
    assert report["format"] == "api"
    models = by_name(report)
    assert models["sd15/dreamshaper_8.safetensors"]["node_ids"] == ["4"]
    assert models["sd15/dreamshaper_8.safetensors"]["status"] == "resolved"
    assert (models["absent.safetensors"]["status"], models["absent.safetensors"]["folder"]) == (
        "missing", "loras")


@pytest.mark.parametrize("hostile", ["../../../.bashrc", "/etc/passwd.safetensors",
                                     "C:\\Windows\\evil.safetensors"])
def test_hostile_model_names_are_reported_invalid(
    env_repo: Path, comfyui: Path, comfy: Comfy, hostile: str,
) -> None:
    with_checkpoint(comfyui, "hostile", hostile)
    model = by_name(analyze_json(env_repo, "hostile", comfy))[hostile]
    assert model["status"] == "invalid" and model["path"] is None
    assert model["problem"]


def test_text_output(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    with_checkpoint(comfyui, "missing", "gone.safetensors")
    result = comfy("analyze", "missing", cwd=env_repo)
    assert result.code == 0
    assert "missing" in result.out and "checkpoints/gone.safetensors" in result.out


BAD_WORKFLOWS = {
    "truncated": b'{"nodes": [',
    "not JSON": b"hello",
    "array": b"[1, 2]",
    "deep": b"[" * 100_000,
    "NaN": b'{"nodes": [], "x": NaN}',
    "duplicate keys": b'{"nodes": [], "nodes": []}',
    "neither format": b'{"hello": "world"}',
}


@pytest.mark.parametrize("case", sorted(BAD_WORKFLOWS))
def test_unreadable_workflows_are_one_line_errors(
    env_repo: Path, comfyui: Path, case: str,
) -> None:
    path = workflow_file(comfyui, "bad")
    path.write_bytes(BAD_WORKFLOWS[case])
    result = git_comfy("analyze", "bad", cwd=env_repo)
    assert result.code == 1
    [line] = result.err.splitlines()
    assert line.startswith("git comfy: error: ") and "bad.json" in line
    assert "Traceback" not in result.err


def test_unknown_name_suggests_close_ones(env_repo: Path) -> None:
    result = git_comfy("analyze", "lighthose", cwd=env_repo)
    assert result.code == 1
    assert result.err.strip().endswith("did you mean lighthouse?")


# --- on a terminal -----------------------------------------------------------------------------

def test_ambiguity_is_a_numbered_prompt(env_repo: Path, comfyui: Path) -> None:
    place_model(comfyui, "checkpoints/v1/model.safetensors", b"one" * 100)
    chosen = place_model(comfyui, "checkpoints/v2/model.safetensors", b"two" * 400_000)
    with_checkpoint(comfyui, "ambiguous", "model.safetensors")
    code, screen = run_on_terminal(["git", "comfy", "analyze", "ambiguous"], env_repo,
                                   ["7", "2"])
    assert code == 0, screen
    assert 'Multiple matches for "model.safetensors":' in screen
    assert "(1.1 MiB)" in screen and "(300 B)" in screen
    assert "Please answer with a number from 1 to 2." in screen  # after the wrong "7"
    assert f"→ {chosen}" in screen


def test_missing_model_offers_to_add_a_folder(env_repo: Path, comfyui: Path,
                                              tmp_path: Path) -> None:
    extra = tmp_path / "nas" / "checkpoints"
    extra.mkdir(parents=True)
    (extra / "rare.safetensors").write_bytes(demo.model_bytes("rare", 1000))
    with_checkpoint(comfyui, "rare", "rare.safetensors")
    code, screen = run_on_terminal(["git", "comfy", "analyze", "rare"], env_repo,
                                   ["1", str(tmp_path / "nas")])
    assert code == 0, screen
    assert "Model not found in index: checkpoints/rare.safetensors" in screen
    assert "1. Add a folder to the indexed directories" in screen
    assert f"→ {extra / 'rare.safetensors'}" in screen


def test_missing_model_can_be_skipped_or_replaced(env_repo: Path, comfyui: Path) -> None:
    with_checkpoint(comfyui, "gone", "gone.safetensors")
    code, screen = run_on_terminal(["git", "comfy", "analyze", "gone"], env_repo, ["2"])
    assert code == 0 and "not found on this machine" in screen
    code, screen = run_on_terminal(["git", "comfy", "analyze", "gone"], env_repo, ["3", "1"])
    assert code == 0, screen
    assert f"→ {comfyui / DREAMSHAPER}" in screen


def test_no_prompt_without_a_terminal(env_repo: Path, comfyui: Path) -> None:
    place_model(comfyui, "checkpoints/v1/model.safetensors", b"one")
    place_model(comfyui, "checkpoints/v2/model.safetensors", b"two!")
    with_checkpoint(comfyui, "ambiguous", "model.safetensors")
    done = subprocess.run(["git", "comfy", "analyze", "ambiguous"], cwd=env_repo,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert "Choose" not in done.stderr + done.stdout
    assert "ambiguous" in done.stdout
