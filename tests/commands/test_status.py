"""``git comfy status``: each tracked workflow's state against the last commit, in text and JSON,
plus the untracked workflows in ComfyUI; read-only, and one line when it cannot run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Comfy,
    assert_one_error,
    edit_seed,
    git,
    git_comfy,
    save_in_comfyui,
    tree_digest,
    workflow_file,
)

from git_comfy.commands import status

HALF_SAVED = '{"last_node_id": 9, "nodes": [{"id": 1, "type": "KSam'


def _report(comfy: Comfy, cwd: Path) -> dict[str, Any]:
    result = comfy("status", "--json", cwd=cwd)
    assert (result.code, result.err) == (0, ""), result
    report: dict[str, Any] = json.loads(result.out)
    return report


def _states(report: dict[str, Any]) -> dict[str, str]:
    return {entry["name"]: entry["state"] for entry in report["workflows"]}


def _commit(repo: Path, message: str = "snapshot") -> None:
    result = git_comfy("commit", "-q", "-m", message, cwd=repo)
    assert result.code == 0, result.out + result.err


@pytest.fixture
def five_states(env_repo: Path, comfyui: Path, comfy: Comfy) -> Path:
    """One tracked workflow in each state: lighthouse modified, portraits/sailor unchanged,
    gone missing, broken invalid, fresh uncommitted; plus an untracked ``spare``."""
    text = workflow_file(comfyui, "lighthouse").read_text(encoding="utf-8")
    for name in ("gone", "broken", "fresh", "spare"):
        save_in_comfyui(comfyui, name, text)
    assert comfy("track", "lighthouse", "portraits/sailor", "gone", "broken",
                 cwd=env_repo).code == 0
    _commit(env_repo)
    assert comfy("track", "fresh", cwd=env_repo).code == 0
    edit_seed(comfyui, "lighthouse", 777)
    workflow_file(comfyui, "gone").unlink()
    save_in_comfyui(comfyui, "broken", HALF_SAVED)
    return env_repo


def test_every_state_in_text(five_states: Path, comfyui: Path, comfy: Comfy) -> None:
    result = comfy("status", cwd=five_states)
    assert (result.code, result.err) == (0, ""), result
    lines = result.out.splitlines()
    assert lines[0] == f"ComfyUI: {comfyui}"
    assert lines[1] == "Tracked workflows:"
    rows = lines[2:7]
    assert rows[0].startswith("  broken            not valid JSON in ComfyUI: ")
    assert "line 1" in rows[0]
    assert rows[1:] == [
        "  fresh             not yet committed",
        "  gone              missing in ComfyUI (its committed copy stays)",
        "  lighthouse        modified in ComfyUI",
        "  portraits/sailor  unchanged",
    ]
    assert lines[7:] == ['Untracked workflows in ComfyUI (use "git comfy track <name>"):',
                         "  spare"]


def test_every_state_in_json(five_states: Path, comfyui: Path, comfy: Comfy) -> None:
    report = _report(comfy, five_states)
    assert set(report) == {"comfyui", "workflows", "untracked"}
    assert report["comfyui"] == str(comfyui)
    assert report["untracked"] == ["spare"]
    assert _states(report) == {
        "broken": status.INVALID,
        "fresh": status.UNCOMMITTED,
        "gone": status.MISSING,
        "lighthouse": status.MODIFIED,
        "portraits/sailor": status.UNCHANGED,
    }
    assert [entry["name"] for entry in report["workflows"]] == sorted(_states(report))
    for entry in report["workflows"]:
        assert set(entry) == {"name", "state", "detail", "path"}
        assert entry["path"] == str(workflow_file(comfyui, entry["name"]))
        if entry["state"] == status.INVALID:
            assert isinstance(entry["detail"], str) and "line 1" in entry["detail"]
        else:
            assert entry["detail"] is None


def test_json_through_the_real_program(five_states: Path) -> None:
    result = git_comfy("status", "--json", cwd=five_states)
    assert result.code == 0, result.err
    assert _states(json.loads(result.out))["lighthouse"] == status.MODIFIED


def test_committing_brings_everything_back_to_unchanged(five_states: Path, comfyui: Path,
                                                        comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "broken", workflow_file(comfyui, "lighthouse").read_text())
    _commit(five_states, "all of it")
    states = _states(_report(comfy, five_states))
    assert states == {"broken": status.UNCHANGED, "fresh": status.UNCHANGED,
                      "gone": status.MISSING, "lighthouse": status.UNCHANGED,
                      "portraits/sailor": status.UNCHANGED}


def test_status_writes_nothing(five_states: Path, comfyui: Path, comfy: Comfy) -> None:
    before = tree_digest(five_states, comfyui)
    comfy("status", cwd=five_states)
    comfy("status", "--json", cwd=five_states)
    assert tree_digest(five_states, comfyui) == before


def test_modified_then_saved_back_is_unchanged(env_repo: Path, comfyui: Path,
                                               comfy: Comfy) -> None:
    original = workflow_file(comfyui, "lighthouse").read_bytes()
    assert comfy("track", "lighthouse", cwd=env_repo).code == 0
    _commit(env_repo)
    edit_seed(comfyui, "lighthouse", 1)
    assert _states(_report(comfy, env_repo)) == {"lighthouse": status.MODIFIED}
    workflow_file(comfyui, "lighthouse").write_bytes(original)
    assert _states(_report(comfy, env_repo)) == {"lighthouse": status.UNCHANGED}


def test_legacy_metadata_in_comfyui_does_not_count_as_a_change(env_repo: Path, comfyui: Path,
                                                               comfy: Comfy) -> None:
    path = workflow_file(comfyui, "lighthouse")
    document = json.loads(path.read_text())
    document.setdefault("extra", {})["_comfydock_metadata"] = {"models": {"x": 1}}
    path.write_text(json.dumps(document, indent=2) + "\n")
    assert comfy("track", "lighthouse", cwd=env_repo).code == 0
    _commit(env_repo)
    committed = git("show", "HEAD:.cec/workflows/lighthouse.json", cwd=env_repo).stdout
    assert "_comfydock_metadata" not in committed
    assert _states(_report(comfy, env_repo)) == {"lighthouse": status.UNCHANGED}


@pytest.mark.parametrize("content", [HALF_SAVED, "", "[]", '{"a": NaN}', '{"a": 1, "a": 2}'],
                         ids=["truncated", "empty", "array", "nan", "duplicate-key"])
def test_invalid_workflows(env_repo: Path, comfyui: Path, comfy: Comfy, content: str) -> None:
    assert comfy("track", "lighthouse", cwd=env_repo).code == 0
    save_in_comfyui(comfyui, "lighthouse", content)
    report = _report(comfy, env_repo)
    (entry,) = report["workflows"]
    assert entry["state"] == status.INVALID and entry["detail"]
    text = comfy("status", cwd=env_repo)
    assert text.code == 0
    assert "lighthouse  not valid JSON in ComfyUI: " in text.out


def test_temp_and_hidden_files_are_not_untracked_workflows(env_repo: Path, comfyui: Path,
                                                           comfy: Comfy) -> None:
    folder = workflow_file(comfyui, "lighthouse").parent
    (folder / "tmpa8x_3kq1").write_text("{}")  # ComfyUI's mkstemp, mid-save
    (folder / "portraits" / "tmpzz9y0w1v").write_text('{"nodes": [')
    (folder / ".lighthouse.json.4242.tmp").write_text("{}")  # an atomic write of ours
    (folder / ".DS_Store").write_bytes(b"\0\0")
    (folder / ".hidden.json").write_text("{}")
    (folder / ".history").mkdir()
    (folder / ".history" / "old.json").write_text("{}")
    (folder / "readme.txt").write_text("notes")
    (folder / "folder.json").mkdir()  # a folder is not a workflow, whatever its name
    report = _report(comfy, env_repo)
    assert report["untracked"] == ["lighthouse", "portraits/sailor"]
    text = comfy("status", cwd=env_repo).out
    for name in ("tmpa8x_3kq1", "tmpzz9y0w1v", ".lighthouse", ".DS_Store", ".hidden", ".history",
                 "readme", "folder"):
        assert name not in text, name


def test_nothing_tracked(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    result = comfy("status", cwd=env_repo)
    assert result.code == 0
    assert result.out.splitlines() == [
        f"ComfyUI: {comfyui}",
        'No tracked workflows (use "git comfy track <name>").',
        'Untracked workflows in ComfyUI (use "git comfy track <name>"):',
        "  lighthouse",
        "  portraits/sailor",
    ]
    report = _report(comfy, env_repo)
    assert report["workflows"] == []
    assert report["untracked"] == ["lighthouse", "portraits/sailor"]


def test_before_the_first_commit(tmp_path: Path, comfyui: Path, comfy: Comfy) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    assert git_comfy("init", "--comfyui", str(comfyui), cwd=folder).code == 0
    assert git("rev-parse", "-q", "--verify", "HEAD", cwd=folder, check=False).returncode != 0
    assert comfy("track", "lighthouse", cwd=folder).code == 0
    report = _report(comfy, folder)
    assert _states(report) == {"lighthouse": status.UNCOMMITTED}
    assert report["untracked"] == ["portraits/sailor"]
    text = comfy("status", cwd=folder)
    assert text.code == 0 and "  lighthouse  not yet committed\n" in text.out


def test_from_a_subdirectory(env_repo: Path, comfy: Comfy) -> None:
    assert comfy("track", "lighthouse", cwd=env_repo).code == 0
    _commit(env_repo)
    sub = env_repo / "docs"
    sub.mkdir()
    assert _states(_report(comfy, sub)) == {"lighthouse": status.UNCHANGED}


def test_relative_comfy_path_is_relative_to_the_work_tree(env_repo: Path, comfyui: Path,
                                                          comfy: Comfy) -> None:
    git("config", "comfy.path", "../ComfyUI", cwd=env_repo)
    assert comfy("track", "lighthouse", cwd=env_repo).code == 0
    _commit(env_repo)
    sub = env_repo / "deep" / "er"
    sub.mkdir(parents=True)
    report = _report(comfy, sub)
    assert report["comfyui"] == str(comfyui)
    assert _states(report) == {"lighthouse": status.UNCHANGED}


def test_comfyui_folder_gone(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    assert comfy("track", "lighthouse", cwd=env_repo).code == 0
    shutil.rmtree(comfyui)
    report = _report(comfy, env_repo)
    assert _states(report) == {"lighthouse": status.MISSING}
    assert report["untracked"] == []
    text = comfy("status", cwd=env_repo)
    assert text.code == 0
    assert f"(no workflows folder at {workflow_file(comfyui, 'x').parent})" in text.out


def test_not_a_repository(tmp_path: Path, comfy: Comfy) -> None:
    for args in (["status"], ["status", "--json"]):
        assert_one_error(comfy(*args, cwd=tmp_path), "not a git repository",
                         "git comfy init")


def test_not_a_repository_through_the_real_program(tmp_path: Path) -> None:
    assert_one_error(git_comfy("status", cwd=tmp_path), "not a git repository")


def test_environment_not_initialised(repo: Path, comfy: Comfy) -> None:
    before = tree_digest(repo)
    for args in (["status"], ["status", "--json"]):
        assert_one_error(comfy(*args, cwd=repo), f"{repo} is not a git-comfy environment",
                         "git comfy init")
    assert tree_digest(repo) == before


def test_broken_pyproject(env_repo: Path, comfy: Comfy) -> None:
    pyproject = env_repo / ".cec" / "pyproject.toml"
    pyproject.write_text("[tool.comfydock.workflows]\nlighthouse = {tracked = \n")
    assert_one_error(comfy("status", cwd=env_repo), str(pyproject), "line 2")


def test_inside_the_git_folder(env_repo: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("status", cwd=env_repo / ".git"), "not inside the .git folder")
