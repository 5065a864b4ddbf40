"""When git moves a workflow's committed copy (merge, checkout, reset) while ComfyUI still holds
the copy it last saved, a commit must not quietly put ComfyUI's older copy back."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import (
    LIGHTHOUSE,
    Comfy,
    edit_seed,
    git,
    git_comfy,
    head_bytes,
    status_lines,
    workflow_file,
)


def _commit_other_file(repo: Path, text: str) -> str:
    (repo / "notes.txt").write_text(text)
    git("add", "notes.txt", cwd=repo)
    done = git("commit", "-q", "-m", f"notes {text}", cwd=repo)
    return done.stderr


def _change_prompt_in_git(repo: Path, prompt: str) -> None:
    """A commit made elsewhere (another machine): only the committed copy changes."""
    path = repo / LIGHTHOUSE
    document = json.loads(path.read_text(encoding="utf-8"))
    for node in document["nodes"]:
        if node["type"] == "CLIPTextEncode" and "lighthouse" in node["widgets_values"][0]:
            node["widgets_values"][0] = prompt
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    git("add", LIGHTHOUSE, cwd=repo)
    git("commit", "-q", "--no-verify", "-m", "prompt from elsewhere", cwd=repo)


def test_a_merge_is_not_undone_by_the_next_commit(tracked_repo: Path, comfyui: Path,
                                                   comfy: Comfy) -> None:
    git("checkout", "-q", "-b", "elsewhere", cwd=tracked_repo)
    _change_prompt_in_git(tracked_repo, "a lighthouse in fog")
    git("checkout", "-q", "main", cwd=tracked_repo)
    edit_seed(comfyui, "lighthouse", 5)  # meanwhile, here, in ComfyUI
    assert comfy("commit", "-q", "-m", "seed 5", cwd=tracked_repo).code == 0
    git("merge", "-q", "--no-edit", "elsewhere", cwd=tracked_repo)
    merged = head_bytes(tracked_repo, LIGHTHOUSE)
    seeds = [n["widgets_values"][0] for n in json.loads(merged)["nodes"]
             if n["type"] == "KSampler"]
    assert seeds == [5] and b"a lighthouse in fog" in merged  # both sides' edits

    status = json.loads(comfy("status", "--json", cwd=tracked_repo).out)
    assert [w["state"] for w in status["workflows"]] == ["behind"]

    result = git_comfy("commit", "-q", "-m", "notes", "--allow-empty", cwd=tracked_repo)
    assert result.code == 0, result.err
    [line] = result.err.splitlines()
    assert "git changed lighthouse" in line and "git comfy restore lighthouse" in line
    assert head_bytes(tracked_repo, LIGHTHOUSE) == merged  # not ComfyUI's older copy
    assert status_lines(tracked_repo) == []

    assert comfy("restore", "lighthouse", cwd=tracked_repo).code == 0
    assert workflow_file(comfyui, "lighthouse").read_bytes() == merged
    assert _commit_other_file(tracked_repo, "after restore") == ""  # nothing left to say
    edit_seed(comfyui, "lighthouse", 6)  # and ComfyUI's edits flow into git again
    _commit_other_file(tracked_repo, "seed 6")
    seeds = [n["widgets_values"][0] for n in json.loads(head_bytes(tracked_repo, LIGHTHOUSE))[
        "nodes"] if n["type"] == "KSampler"]
    assert seeds == [6]


def test_an_edit_in_comfyui_after_git_moved_the_copy_is_still_committed(
    tracked_repo: Path, comfyui: Path,
) -> None:
    """ComfyUI stays the source of truth: once the user saves there again, that is committed."""
    _change_prompt_in_git(tracked_repo, "a lighthouse in fog")
    edit_seed(comfyui, "lighthouse", 9)
    stderr = _commit_other_file(tracked_repo, "x")
    assert stderr == ""
    assert head_bytes(tracked_repo, LIGHTHOUSE) == workflow_file(comfyui, "lighthouse").read_bytes()


def test_switching_branches_carries_comfyuis_workflow_over(
    tracked_repo: Path, comfyui: Path,
) -> None:
    """Both copies came from this ComfyUI, so nothing was brought in from elsewhere: the one
    way stays ComfyUI → git, and committing on main records what ComfyUI shows."""
    git("checkout", "-q", "-b", "experiment", cwd=tracked_repo)
    edit_seed(comfyui, "lighthouse", 77)
    _commit_other_file(tracked_repo, "experiment")
    experiment = head_bytes(tracked_repo, LIGHTHOUSE)
    git("checkout", "-q", "main", cwd=tracked_repo)
    assert head_bytes(tracked_repo, LIGHTHOUSE) != experiment

    assert _commit_other_file(tracked_repo, "back on main") == ""
    assert head_bytes(tracked_repo, LIGHTHOUSE) == experiment


def test_a_pulled_commit_from_elsewhere_is_protected(tracked_repo: Path, comfyui: Path,
                                                     tmp_path: Path) -> None:
    """A colleague's change arrives by fast-forward: its copy never came from this ComfyUI."""
    clone = tmp_path / "colleague"
    git("clone", "-q", str(tracked_repo), str(clone), cwd=tmp_path)
    _change_prompt_in_git(clone, "a lighthouse at noon")
    git("pull", "-q", "--ff-only", str(clone), "main", cwd=tracked_repo)
    pulled = head_bytes(tracked_repo, LIGHTHOUSE)

    stderr = _commit_other_file(tracked_repo, "after pull")
    assert "git comfy restore lighthouse" in stderr
    assert head_bytes(tracked_repo, LIGHTHOUSE) == pulled


def test_without_a_record_comfyui_wins_as_before(tracked_repo: Path, comfyui: Path) -> None:
    """An environment from before this protection (no record yet) behaves as it always did."""
    (tracked_repo / ".git" / "git-comfy-synced").unlink()
    _change_prompt_in_git(tracked_repo, "a lighthouse in fog")
    stderr = _commit_other_file(tracked_repo, "x")
    assert stderr == ""
    assert head_bytes(tracked_repo, LIGHTHOUSE) == workflow_file(comfyui, "lighthouse").read_bytes()
