"""``git comfy commit``: snapshot and stage the tracked workflows, then ``git commit`` with the
arguments unchanged; its exit code is git's. Most runs are in-process (fast); the ones that look
at git's own output run the real program."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    LIGHTHOUSE,
    SAILOR,
    Comfy,
    edit_seed,
    git,
    git_comfy,
    head_bytes,
    status_lines,
    workflow_file,
)


def head(repo: Path, rev: str = "HEAD") -> str:
    return git("rev-parse", rev, cwd=repo).stdout.strip()


def commit_count(repo: Path) -> int:
    return int(git("rev-list", "--count", "HEAD", cwd=repo).stdout)


def message(repo: Path) -> str:
    return git("log", "-1", "--format=%B", cwd=repo).stdout.rstrip("\n")


def assert_committed_and_clean(repo: Path, comfyui: Path) -> None:
    saved = workflow_file(comfyui, "lighthouse").read_bytes()
    assert head_bytes(repo, LIGHTHOUSE) == saved
    assert head_bytes(repo, LIGHTHOUSE, ":") == saved
    assert status_lines(repo) == []


@pytest.fixture
def edited(tracked_repo: Path, comfyui: Path) -> Path:
    """``tracked_repo`` after an edit in ComfyUI; nothing else changed in the work tree."""
    edit_seed(comfyui, "lighthouse", 424242)
    assert head_bytes(tracked_repo, LIGHTHOUSE) != workflow_file(comfyui, "lighthouse").read_bytes()
    return tracked_repo


def test_commits_when_the_workflow_is_the_only_change(
    edited: Path, comfyui: Path, comfy: Comfy,
) -> None:
    count = commit_count(edited)

    result = comfy("commit", "-q", "-m", "new seed", cwd=edited)

    assert (result.code, result.err) == (0, "")
    assert commit_count(edited) == count + 1
    assert message(edited) == "new seed"
    assert git("show", "--name-only", "--format=", "HEAD", cwd=edited).stdout == LIGHTHOUSE + "\n"
    assert_committed_and_clean(edited, comfyui)


def test_plain_git_commit_refuses_that_commit_but_keeps_it_staged(edited: Path) -> None:
    """Why the command exists (notes/git.md §1.7 pitfall 4); the README promises both halves."""
    before = head(edited)

    done = git("commit", "-m", "hook-only change", cwd=edited, check=False)

    assert done.returncode == 1
    assert "nothing" in done.stdout + done.stderr
    assert head(edited) == before
    assert git("diff", "--cached", "--name-only", cwd=edited).stdout == LIGHTHOUSE + "\n"


def test_message_with_spaces_passes_through_as_one_argument(edited: Path, comfy: Comfy) -> None:
    result = comfy("commit", "-q", "-m", "two words", "-m", "--not-an-option", cwd=edited)

    assert result.code == 0, result.err
    assert message(edited) == "two words\n\n--not-an-option"


def test_amend(edited: Path, comfyui: Path, comfy: Comfy) -> None:
    parent, count = head(edited, "HEAD^"), commit_count(edited)

    result = comfy("commit", "-q", "--amend", "-m", "tracked, with the new seed", cwd=edited)

    assert result.code == 0, result.err
    assert (head(edited, "HEAD^"), commit_count(edited)) == (parent, count)
    assert message(edited) == "tracked, with the new seed"
    assert_committed_and_clean(edited, comfyui)


def test_quiet_is_passed_to_git(edited: Path, comfyui: Path) -> None:
    """The real program, so that git's own output is seen: ``-q`` silences it, and without it
    git reports the commit (so the empty output is git obeying ``-q``)."""
    quiet = git_comfy("commit", "-q", "-m", "quiet", cwd=edited)
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    assert_committed_and_clean(edited, comfyui)

    edit_seed(comfyui, "lighthouse", 7)
    loud = git_comfy("commit", "-m", "loud", cwd=edited)
    assert loud.code == 0, loud.err
    assert "[main " in loud.out and "loud" in loud.out
    assert_committed_and_clean(edited, comfyui)


def test_partial_commit_with_paths(edited: Path, comfyui: Path, comfy: Comfy) -> None:
    with open(edited / "README.md", "a", encoding="utf-8") as file:
        file.write("more\n")

    result = comfy("commit", "-q", "-m", "readme and seed", "README.md", cwd=edited)

    assert result.code == 0, result.err
    assert git("show", "--name-only", "--format=", "HEAD", cwd=edited).stdout.split() == [
        LIGHTHOUSE, "README.md"
    ]
    assert_committed_and_clean(edited, comfyui)


def test_from_a_subfolder(edited: Path, comfyui: Path, comfy: Comfy) -> None:
    sub = edited / "notes"
    sub.mkdir()
    (sub / "idea.txt").write_text("idea\n")

    result = comfy("commit", "-q", "-m", "from notes/", cwd=sub)

    assert (result.code, result.err) == (0, "")
    assert git("show", "--name-only", "--format=", "HEAD", cwd=edited).stdout == LIGHTHOUSE + "\n"
    assert head_bytes(edited, LIGHTHOUSE) == workflow_file(comfyui, "lighthouse").read_bytes()
    assert status_lines(edited) == ["?? notes/idea.txt"]


def test_nothing_to_commit_exits_with_gits_code(tracked_repo: Path, comfy: Comfy) -> None:
    plain = git("commit", "-m", "nothing", cwd=tracked_repo, check=False).returncode
    before = head(tracked_repo)

    result = comfy("commit", "-m", "nothing", cwd=tracked_repo)

    assert plain != 0
    assert result.code == plain
    assert result.err == ""  # git speaks for itself; we add nothing
    assert head(tracked_repo) == before


def test_gits_usage_error_code_is_passed_through(edited: Path, comfy: Comfy) -> None:
    before = head(edited)

    result = comfy("commit", "--no-such-option", cwd=edited)

    assert result.code == 129  # git's code for a bad option, none of ours
    assert head(edited) == before


def test_stale_index_lock_is_one_line_and_is_left_alone(
    edited: Path, comfy: Comfy,
) -> None:
    lock = edited / ".git" / "index.lock"
    lock.write_bytes(b"left by a crashed git\n")
    before = head(edited)

    result = comfy("commit", "-m", "blocked", cwd=edited)

    assert result.code == 1
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith("git comfy: error: ") and str(lock) in line, line
    assert "Traceback" not in result.err
    assert lock.read_bytes() == b"left by a crashed git\n"  # never deleted for the user
    assert head(edited) == before


def test_invalid_workflow_stops_before_git_runs(
    tracked_repo: Path, comfyui: Path, comfy: Comfy,
) -> None:
    workflow_file(comfyui, "lighthouse").write_bytes(b'{"nodes": [{"id": 1, "type": "KSa')
    before = (head(tracked_repo), git("ls-files", "--stage", cwd=tracked_repo).stdout)

    result = comfy("commit", "-m", "half-saved", cwd=tracked_repo)

    assert result.code == 1
    [line] = result.err.splitlines()
    assert line.startswith("git comfy: error: workflow lighthouse "), line
    assert "Unterminated string" in line and "at at" not in line
    assert (head(tracked_repo), git("ls-files", "--stage", cwd=tracked_repo).stdout) == before


def test_hostile_tracked_name_is_refused(env_repo: Path, comfy: Comfy) -> None:
    (env_repo / ".cec" / "pyproject.toml").write_text(
        '[tool.comfydock.workflows]\n"../../escape" = {tracked = true}\n'
    )
    before = head(env_repo)

    result = comfy("commit", "-m", "hostile", cwd=env_repo)

    assert result.code == 1
    [line] = result.err.splitlines()
    assert "../../escape" in line, line
    assert head(env_repo) == before
    assert not (env_repo / "escape.json").exists()
    assert not (env_repo.parent / "escape.json").exists()


def test_missing_workflow_warns_once_and_commits(
    tracked_repo: Path, comfyui: Path, comfy: Comfy,
) -> None:
    """One warning from ``git comfy commit``, not a second one from the hook git then runs
    (the real program, to see the hook's stderr too)."""
    assert comfy("track", "portraits/sailor", cwd=tracked_repo).code == 0
    assert comfy("commit", "-q", "-m", "track sailor", cwd=tracked_repo).code == 0
    sailor = head_bytes(tracked_repo, SAILOR)
    workflow_file(comfyui, "portraits/sailor").unlink()
    edit_seed(comfyui, "lighthouse", 3)

    result = git_comfy("commit", "-q", "-m", "sailor gone", cwd=tracked_repo)

    assert result.code == 0, result.err
    [line] = result.err.splitlines()
    assert line.startswith("git comfy: warning: ") and "portraits/sailor" in line, line
    assert head_bytes(tracked_repo, SAILOR) == sailor
    assert_committed_and_clean(tracked_repo, comfyui)


def test_comfyui_gone_warns_once_and_commits(
    tracked_repo: Path, comfyui: Path, comfy: Comfy,
) -> None:
    copy = head_bytes(tracked_repo, LIGHTHOUSE)
    comfyui.rename(comfyui.parent / "elsewhere")
    with open(tracked_repo / "README.md", "a", encoding="utf-8") as file:
        file.write("more\n")

    result = git_comfy("commit", "-q", "-a", "-m", "ComfyUI gone", cwd=tracked_repo)

    assert result.code == 0, result.err
    [line] = result.err.splitlines()
    assert line.startswith("git comfy: warning: ") and str(comfyui) in line, line
    assert head_bytes(tracked_repo, LIGHTHOUSE) == copy
    assert status_lines(tracked_repo) == []


def test_outside_an_environment_is_one_line(repo: Path, comfy: Comfy) -> None:
    before = head(repo)

    result = comfy("commit", "-m", "x", cwd=repo)

    assert result.code == 1
    [line] = result.err.splitlines()
    assert "git comfy init" in line, line
    assert head(repo) == before
