"""``git comfy restore``: a committed version back into ComfyUI, from any revision git accepts;
never over changes git does not have without --force (and then with a backup); atomic even
when interrupted; every bad input one line with nothing changed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import (
    Comfy,
    assert_one_error,
    edit_seed,
    git,
    git_comfy,
    head_bytes,
    save_in_comfyui,
    tree_digest,
    unwritable,
    workflow_file,
)

from git_comfy.commands import restore

LIGHTHOUSE = ".cec/workflows/lighthouse.json"


def _commit(repo: Path, message: str) -> None:
    result = git_comfy("commit", "-q", "-m", message, cwd=repo)
    assert result.code == 0, result.err


@pytest.fixture
def history(tracked_repo: Path, comfyui: Path) -> Path:
    """lighthouse at seed 1 (tag v1), then seed 2 on main (HEAD); ComfyUI holds HEAD's."""
    edit_seed(comfyui, "lighthouse", 1)
    _commit(tracked_repo, "seed 1")
    git("tag", "v1", cwd=tracked_repo)
    edit_seed(comfyui, "lighthouse", 2)
    _commit(tracked_repo, "seed 2")
    return tracked_repo


def _seed(path: Path) -> int:
    document = json.loads(path.read_text(encoding="utf-8"))
    seed: int = next(n for n in document["nodes"] if n["type"] == "KSampler")[
        "widgets_values"][0]
    return seed


def test_restores_an_older_version(history: Path, comfyui: Path, comfy: Comfy) -> None:
    result = comfy("restore", "lighthouse", "--source", "HEAD~1", cwd=history)
    assert (result.code, result.err) == (0, "")
    assert workflow_file(comfyui, "lighthouse").read_bytes() == head_bytes(history, LIGHTHOUSE,
                                                                           "HEAD~1")
    short = git("rev-parse", "--short=7", "HEAD~1", cwd=history).stdout.strip()
    assert result.out.splitlines() == [f"Restored lighthouse from HEAD~1 ({short}) into ComfyUI.",
                                       restore.RELOAD]
    # that version is committed, so going back needs no --force
    assert comfy("restore", "lighthouse", cwd=history).code == 0
    assert _seed(workflow_file(comfyui, "lighthouse")) == 2


@pytest.mark.parametrize("source", ["v1", "HEAD~1", "SHORT", "topic", "main~1"])
def test_any_revision_git_accepts(history: Path, comfyui: Path, comfy: Comfy,
                                  source: str) -> None:
    git("branch", "topic", "HEAD~1", cwd=history)
    if source == "SHORT":
        source = git("rev-parse", "--short", "HEAD~1", cwd=history).stdout.strip()
    assert comfy("restore", "lighthouse", "--source", source, cwd=history).code == 0
    assert _seed(workflow_file(comfyui, "lighthouse")) == 1


def test_a_workflow_deleted_in_comfyui_is_written_again(history: Path, comfyui: Path,
                                                        comfy: Comfy) -> None:
    shutil_target = workflow_file(comfyui, "lighthouse")
    shutil_target.unlink()
    assert comfy("restore", "lighthouse", cwd=history).code == 0
    assert shutil_target.read_bytes() == head_bytes(history, LIGHTHOUSE)


def test_a_workflow_in_a_deleted_subfolder(tracked_repo: Path, comfyui: Path,
                                           comfy: Comfy) -> None:
    assert comfy("track", "portraits/sailor", cwd=tracked_repo).code == 0
    _commit(tracked_repo, "sailor")
    folder = workflow_file(comfyui, "portraits/sailor").parent
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    assert comfy("restore", "portraits/sailor", cwd=tracked_repo).code == 0
    assert workflow_file(comfyui, "portraits/sailor").is_file()


def test_already_that_version(history: Path, comfyui: Path, comfy: Comfy) -> None:
    before = tree_digest(history, comfyui)
    result = comfy("restore", "lighthouse", cwd=history)
    assert result.code == 0
    assert "already" in result.out and restore.RELOAD not in result.out
    assert tree_digest(history, comfyui) == before


def test_uncommitted_changes_are_not_overwritten(history: Path, comfyui: Path,
                                                 comfy: Comfy) -> None:
    edit_seed(comfyui, "lighthouse", 99)
    before = tree_digest(history, comfyui)
    assert_one_error(comfy("restore", "lighthouse", "--source", "v1", cwd=history),
                     "changes that are not committed", "--force", restore.BACKUPS)
    assert tree_digest(history, comfyui) == before


def test_force_keeps_a_backup(history: Path, comfyui: Path, comfy: Comfy) -> None:
    edit_seed(comfyui, "lighthouse", 99)
    edited = workflow_file(comfyui, "lighthouse").read_bytes()
    result = comfy("restore", "lighthouse", "--source", "v1", "--force", cwd=history)
    assert result.code == 0, result.err
    backups = list((comfyui / "user" / "default" / "workflows" / restore.BACKUPS).iterdir())
    [backup] = backups
    assert backup.read_bytes() == edited
    assert backup.name.startswith("lighthouse.") and backup.name.endswith(".json")
    assert f"Kept the uncommitted version as {backup}." in result.out
    assert _seed(workflow_file(comfyui, "lighthouse")) == 1
    # the backup folder is hidden from git comfy (and from ComfyUI's list)
    status = json.loads(comfy("status", "--json", cwd=history).out)
    assert not any(restore.BACKUPS in name for name in status["untracked"])


def test_a_half_saved_workflow_counts_as_uncommitted(history: Path, comfyui: Path,
                                                     comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "lighthouse", '{"nodes": [')
    assert_one_error(comfy("restore", "lighthouse", cwd=history), "not committed")
    assert comfy("restore", "lighthouse", "--force", cwd=history).code == 0
    assert workflow_file(comfyui, "lighthouse").read_bytes() == head_bytes(history, LIGHTHOUSE)


def test_a_revision_that_does_not_exist(history: Path, comfyui: Path, comfy: Comfy) -> None:
    before = tree_digest(history, comfyui)
    assert_one_error(comfy("restore", "lighthouse", "--source", "nope", cwd=history),
                     "unknown revision 'nope'")
    assert_one_error(comfy("restore", "lighthouse", "--source=-p", cwd=history),
                     "is not a revision")
    assert tree_digest(history, comfyui) == before


def test_a_workflow_that_did_not_exist_then(history: Path, comfyui: Path,
                                            comfy: Comfy) -> None:
    before = tree_digest(history, comfyui)
    assert_one_error(comfy("restore", "lighthouse", "--source", "HEAD~3", cwd=history),
                     "no workflow 'lighthouse' at HEAD~3")
    assert_one_error(comfy("restore", "lighthous", cwd=history), "did you mean lighthouse")
    assert tree_digest(history, comfyui) == before


def test_a_committed_version_that_is_not_valid_json(history: Path, comfyui: Path,
                                                    comfy: Comfy) -> None:
    (history / LIGHTHOUSE).write_text('{"nodes": [{"id": 1,')
    git("add", LIGHTHOUSE, cwd=history)
    git("commit", "-q", "--no-verify", "-m", "broken", cwd=history)
    (history / LIGHTHOUSE).write_text("[]")
    git("add", LIGHTHOUSE, cwd=history)
    git("commit", "-q", "--no-verify", "-m", "not a workflow", cwd=history)
    before = tree_digest(history, comfyui)
    assert_one_error(comfy("restore", "lighthouse", "--source", "HEAD~1", cwd=history),
                     "committed copy of lighthouse at HEAD~1 is not valid JSON")
    assert_one_error(comfy("restore", "lighthouse", cwd=history), "not a ComfyUI workflow")
    assert tree_digest(history, comfyui) == before


def test_an_unwritable_workflows_folder(history: Path, comfyui: Path, comfy: Comfy) -> None:
    folder = workflow_file(comfyui, "lighthouse").parent
    with unwritable(folder):
        before = tree_digest(history, comfyui)
        assert_one_error(comfy("restore", "lighthouse", "--source", "v1", cwd=history),
                         "cannot write", "lighthouse.json")
        assert tree_digest(history, comfyui) == before
    edit_seed(comfyui, "lighthouse", 5)
    with unwritable(folder):
        before = tree_digest(history, comfyui)
        assert_one_error(comfy("restore", "lighthouse", "--force", cwd=history),
                         "cannot keep a backup", "nothing was restored")
        assert tree_digest(history, comfyui) == before


def test_no_workflows_folder(history: Path, comfyui: Path, comfy: Comfy) -> None:
    git("config", "comfy.path", str(comfyui.parent / "elsewhere"), cwd=history)
    assert_one_error(comfy("restore", "lighthouse", cwd=history), "no ComfyUI workflows folder")


# --- Ctrl-C: the old file or the new one, never half -------------------------------------------

def _big(text: str) -> str:
    """A valid 30 MB workflow: a note holding a long text."""
    return json.dumps({"last_node_id": 1, "last_link_id": 0, "links": [], "version": 0.4,
                       "nodes": [{"id": 1, "type": "Note", "pos": [0, 0], "mode": 0,
                                  "properties": {}, "widgets_values": [text * 30_000_000]}]})


def test_ctrl_c_leaves_the_old_file_or_the_new_one(env_repo: Path, comfyui: Path,
                                                   comfy: Comfy) -> None:
    versions = [_big("a"), _big("b")]
    save_in_comfyui(comfyui, "big", versions[0])
    assert comfy("track", "big", cwd=env_repo).code == 0
    _commit(env_repo, "big a")
    save_in_comfyui(comfyui, "big", versions[1])
    _commit(env_repo, "big b")
    target = workflow_file(comfyui, "big")
    contents = {text.encode() for text in versions}
    start = time.perf_counter()
    assert git_comfy("restore", "big", "--source", "HEAD~1", cwd=env_repo).code == 0
    took = time.perf_counter() - start
    randomness = random.Random(7)
    interrupted = completed = 0
    # from after start-up (a Ctrl-C inside the interpreter's own start-up is Python's, before
    # any git-comfy code runs) to past the end of a run: reading, checking, writing, renaming
    for step in range(2, 18):
        source = "HEAD~1" if target.read_bytes() == versions[1].encode() else "HEAD"
        before = target.read_bytes()
        # its own process group, which Ctrl-C on a terminal signals as a whole (git-comfy and
        # the git commands it runs)
        child = subprocess.Popen(["git-comfy", "restore", "big", "--source", source],
                                 cwd=env_repo, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(took * (step / 10 + randomness.uniform(0, 0.1)))
        try:
            os.killpg(child.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        _out, err = child.communicate(timeout=60)
        assert b"Traceback" not in err, err
        after = target.read_bytes()
        assert after in contents  # never half a file
        assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
        if child.returncode == 0:
            completed += 1
            assert after != before
        else:
            interrupted += 1
            assert child.returncode in (130, -signal.SIGINT, 1), err
    assert interrupted, "no run was interrupted; the timing needs a look"
    assert completed, "every run was interrupted; the timing needs a look"
