"""``git comfy diff``: revisions and names read like git diff's; the semantic diff in text (coloured
only on a terminal) and JSON; identical workflows print nothing; bad input is one line."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

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

SEED_LINE = "    seed: 2 → 3"


def _commit(repo: Path, message: str) -> None:
    result = git_comfy("commit", "-q", "-m", message, cwd=repo)
    assert result.code == 0, result.err


@pytest.fixture
def history(tracked_repo: Path, comfyui: Path, comfy: Comfy) -> Path:
    """lighthouse at seed 1 (HEAD~1), seed 2 (HEAD); sailor tracked and committed at HEAD."""
    edit_seed(comfyui, "lighthouse", 1)
    _commit(tracked_repo, "seed 1")
    edit_seed(comfyui, "lighthouse", 2)
    assert comfy("track", "portraits/sailor", cwd=tracked_repo).code == 0
    _commit(tracked_repo, "seed 2, sailor")
    return tracked_repo


def test_nothing_changed_prints_nothing(history: Path, comfy: Comfy) -> None:
    assert comfy("diff", cwd=history) == comfy("diff", "HEAD", cwd=history)
    result = comfy("diff", cwd=history)
    assert (result.code, result.out, result.err) == (0, "", "")
    assert json.loads(comfy("diff", "--json", cwd=history).out) == []
    assert comfy("diff", "HEAD", "HEAD", cwd=history).out == ""


def test_head_against_comfyui(history: Path, comfyui: Path, comfy: Comfy) -> None:
    edit_seed(comfyui, "lighthouse", 3)
    before = tree_digest(history, comfyui)
    result = comfy("diff", cwd=history)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == ["workflow lighthouse: HEAD → ComfyUI", "~ KSampler #3",
                                       SEED_LINE]
    assert "\x1b[" not in result.out
    assert tree_digest(history, comfyui) == before  # read-only


def test_one_and_two_revisions(history: Path, comfyui: Path, comfy: Comfy) -> None:
    edit_seed(comfyui, "lighthouse", 3)
    one = comfy("diff", "HEAD~1", cwd=history).out.splitlines()
    assert one[0] == "workflow lighthouse: HEAD~1 → ComfyUI"
    assert "    seed: 1 → 3" in one
    two = comfy("diff", "HEAD~1", "HEAD", cwd=history).out.splitlines()
    assert two[:3] == ["workflow lighthouse: HEAD~1 → HEAD", "~ KSampler #3",
                       "    seed: 1 → 2"]
    # sailor was committed in HEAD only: a new workflow
    assert "workflow portraits/sailor: HEAD~1 → HEAD" in two
    assert two[-1].startswith("new in HEAD (")


def test_names_and_the_double_dash(history: Path, comfyui: Path, comfy: Comfy) -> None:
    edit_seed(comfyui, "lighthouse", 3)
    named = comfy("diff", "lighthouse", cwd=history)
    assert named.out == comfy("diff", "--", "lighthouse", cwd=history).out
    assert named.out == comfy("diff", "HEAD", "--", "lighthouse", cwd=history).out
    assert comfy("diff", "portraits/sailor", cwd=history).out == ""
    assert comfy("diff", "HEAD~1", "HEAD", "--", "portraits/sailor",
                 cwd=history).out.splitlines()[0] == "workflow portraits/sailor: HEAD~1 → HEAD"


def test_a_name_that_is_also_a_revision(history: Path, comfyui: Path, comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "main", workflow_file(comfyui, "lighthouse").read_text())
    assert comfy("track", "main", cwd=history).code == 0
    assert_one_error(comfy("diff", "main", cwd=history), "both a revision and a tracked",
                     "git comfy diff -- main")
    result = comfy("diff", "--", "main", cwd=history)
    assert result.code == 0 and result.out.startswith("workflow main: HEAD → ComfyUI")


def test_flags_after_the_arguments(history: Path, comfyui: Path, comfy: Comfy) -> None:
    edit_seed(comfyui, "lighthouse", 3)
    [entry] = json.loads(comfy("diff", "HEAD", "--json", cwd=history).out)
    assert (entry["name"], entry["before"], entry["after"], entry["status"]) == (
        "lighthouse", "HEAD", "ComfyUI", "modified")
    [top] = entry["diff"]["graphs"]
    assert top["changed"][0]["changes"] == [{"what": "seed", "before": 2, "after": 3}]
    path = workflow_file(comfyui, "lighthouse")
    document = json.loads(path.read_text())
    document["nodes"][0]["pos"] = [1, 2]
    path.write_text(json.dumps(document))
    assert "    pos: " not in comfy("diff", cwd=history).out
    assert "    pos: [413, 389] → [1, 2]" in comfy("diff", "lighthouse", "--layout",
                                                    cwd=history).out


def test_missing_and_uncommitted_workflows(history: Path, comfyui: Path, comfy: Comfy) -> None:
    workflow_file(comfyui, "portraits/sailor").unlink()
    save_in_comfyui(comfyui, "fresh", workflow_file(comfyui, "lighthouse").read_text())
    assert comfy("track", "fresh", cwd=history).code == 0
    lines = comfy("diff", cwd=history).out.splitlines()
    assert lines[:2] == ["workflow fresh: HEAD → ComfyUI", "new in ComfyUI (7 nodes)"]
    assert lines[2:] == ["workflow portraits/sailor: HEAD → ComfyUI",
                         "missing in ComfyUI; its committed copy (8 nodes) stays"]
    report = json.loads(comfy("diff", "--json", cwd=history).out)
    assert [(e["name"], e["status"]) for e in report] == [("fresh", "added"),
                                                          ("portraits/sailor", "missing")]


def test_ui_against_api_format(history: Path, comfyui: Path, comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "lighthouse", json.dumps(
        {"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}))
    assert_one_error(comfy("diff", cwd=history), "lighthouse", "UI format", "API format")


def test_bad_input_is_one_line(history: Path, comfyui: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("diff", "nope", cwd=history),
                     "no workflow 'nope' at HEAD or in ComfyUI")
    assert_one_error(comfy("diff", "nope", "--", "lighthouse", cwd=history),
                     "unknown revision 'nope'")
    assert_one_error(comfy("diff", "HEAD", "HEAD", "HEAD", "--", "x", cwd=history),
                     "at most two revisions")
    save_in_comfyui(comfyui, "lighthouse", '{"nodes": [')
    assert_one_error(comfy("diff", cwd=history), "lighthouse in ComfyUI is not valid JSON")
    (history / ".cec/workflows/lighthouse.json").write_text("{")
    git("add", ".cec", cwd=history)
    git("commit", "-q", "--no-verify", "-m", "broken", cwd=history)
    assert_one_error(comfy("diff", "HEAD~1", "HEAD", cwd=history),
                     "committed copy of lighthouse at HEAD is not valid JSON")


def _on_a_terminal(repo: Path, extra: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environment.update(extra)
    done = subprocess.run(["git", "comfy", "diff"], cwd=repo, stdout=follower,
                          stderr=subprocess.PIPE, env=environment, check=False)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode == 0, done.stderr
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal(history: Path, comfyui: Path) -> None:
    edit_seed(comfyui, "lighthouse", 3)
    coloured = _on_a_terminal(history, {})
    assert "\x1b[1mworkflow lighthouse: HEAD → ComfyUI\x1b[m" in coloured
    assert "\x1b[33m~ KSampler #3\x1b[m" in coloured
    assert "\x1b[" not in _on_a_terminal(history, {"NO_COLOR": "1"})
