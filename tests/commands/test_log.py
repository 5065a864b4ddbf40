"""``git comfy log``: the commits that changed one workflow, newest first, in text and JSON;
git log's own options pass through; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Comfy, assert_one_error, edit_seed, git, git_comfy


def _commit(repo: Path, message: str) -> None:
    result = git_comfy("commit", "-q", "-m", message, cwd=repo)
    assert result.code == 0, result.err


@pytest.fixture
def history(tracked_repo: Path, comfyui: Path, comfy: Comfy) -> Path:
    """lighthouse committed three times (track, seed 1, seed 2) and an unrelated commit."""
    for seed in (1, 2):
        edit_seed(comfyui, "lighthouse", seed)
        _commit(tracked_repo, f"seed {seed}")
    (tracked_repo / "notes.txt").write_text("x\n")
    git("add", "notes.txt", cwd=tracked_repo)
    git("commit", "-q", "-m", "notes", cwd=tracked_repo)
    return tracked_repo


def _subjects(text: str) -> list[str]:
    return [line.split("  ", 1)[1] for line in text.splitlines()]


def test_text_lists_the_commits_that_changed_it(history: Path, comfy: Comfy) -> None:
    result = comfy("log", "lighthouse", cwd=history)
    assert (result.code, result.err) == (0, "")
    assert _subjects(result.out) == ["seed 2", "seed 1", "track lighthouse"]
    first = result.out.splitlines()[0]
    short, date, *_ = first.split(" ")
    assert git("rev-parse", "--short", "HEAD~1", cwd=history).stdout.strip() == short
    assert len(date) == 10 and date[4] == "-"
    assert "Test User" in first
    assert "\x1b[" not in result.out  # no colour into a pipe


def test_json(history: Path, comfy: Comfy) -> None:
    result = comfy("log", "lighthouse", "--json", cwd=history)
    commits = json.loads(result.out)
    assert [c["subject"] for c in commits] == ["seed 2", "seed 1", "track lighthouse"]
    assert set(commits[0]) == {"commit", "date", "author", "subject"}
    assert commits[0]["commit"] == git("rev-parse", "HEAD~1", cwd=history).stdout.strip()
    assert commits[0]["author"] == "Test User"
    assert commits[0]["date"][10] == "T"  # ISO 8601
    assert json.loads(comfy("log", "--json", "lighthouse", cwd=history).out) == commits


def test_git_log_options_pass_through(history: Path, comfy: Comfy) -> None:
    assert _subjects(comfy("log", "lighthouse", "-n", "1", cwd=history).out) == ["seed 2"]
    assert _subjects(comfy("log", "lighthouse", "--max-count=2", cwd=history).out) == [
        "seed 2", "seed 1"]
    assert _subjects(comfy("log", "lighthouse", "HEAD~3..HEAD~1", cwd=history).out) == [
        "seed 2", "seed 1"]
    oneline = comfy("log", "lighthouse", "--format=%s", "--reverse", cwd=history).out
    assert oneline.splitlines() == ["track lighthouse", "seed 1", "seed 2"]
    commits = json.loads(comfy("log", "lighthouse", "-n", "2", "--json", cwd=history).out)
    assert [c["subject"] for c in commits] == ["seed 2", "seed 1"]


def test_from_a_subfolder_and_through_git(history: Path) -> None:
    sub = history / ".cec"
    result = git_comfy("log", "lighthouse", cwd=sub)
    assert result.code == 0, result.err
    assert _subjects(result.out) == ["seed 2", "seed 1", "track lighthouse"]


def test_a_tracked_workflow_never_committed_has_no_history(history: Path, comfy: Comfy) -> None:
    assert comfy("track", "portraits/sailor", cwd=history).code == 0
    result = comfy("log", "portraits/sailor", cwd=history)
    assert (result.code, result.out, result.err) == (0, "", "")
    assert json.loads(comfy("log", "portraits/sailor", "--json", cwd=history).out) == []


def test_an_unknown_workflow(history: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("log", "lighthous", cwd=history), "no workflow 'lighthous'",
                     "did you mean lighthouse")


def test_a_bad_revision(history: Path, comfy: Comfy) -> None:
    message = assert_one_error(comfy("log", "lighthouse", "nope..HEAD", cwd=history))
    assert "nope" in message


def test_paths_and_patches_with_json(history: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("log", "lighthouse", "--", "x", cwd=history), "not paths")
    assert_one_error(comfy("log", "lighthouse", "--json", "-p", cwd=history), "--json")


def test_outside_an_environment(tmp_path: Path, comfy: Comfy) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert_one_error(comfy("log", "lighthouse", cwd=plain), "not a git repository")
    git("init", "-q", cwd=plain)
    assert_one_error(comfy("log", "lighthouse", cwd=plain), "git comfy init")


def test_before_the_first_commit(env_repo: Path, comfy: Comfy) -> None:
    fresh = env_repo.parent / "fresh"
    fresh.mkdir()
    git("init", "-q", cwd=fresh)
    (fresh / ".cec").mkdir()
    (fresh / ".cec" / "pyproject.toml").write_text("")
    assert_one_error(comfy("log", "lighthouse", cwd=fresh), "nothing is committed yet")
