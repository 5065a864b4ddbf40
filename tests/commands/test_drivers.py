"""The ``comfy`` diff and merge drivers: init registers them once (and adds them to an older
environment); plain ``git diff``, ``git log -p`` and ``git show`` read workflows as text; a real
``git merge`` merges workflows node by node and leaves valid JSON even on a conflict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    LIGHTHOUSE,
    Comfy,
    assert_one_error,
    edit_seed,
    git,
    git_comfy,
    head_bytes,
    save_in_comfyui,
    tree_digest,
    workflow_file,
)
from test_completion import bash_complete

from git_comfy import cli, drivers, environment, historycli
from git_comfy.core.merge import CONFLICTS_KEY

ATTRIBUTES = ".cec/.gitattributes"


def _config(repo: Path, key: str) -> str | None:
    done = git("config", "--get", key, cwd=repo, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _commit(repo: Path, message: str) -> None:
    result = git_comfy("commit", "-q", "-m", message, cwd=repo)
    assert result.code == 0, result.err


def _kept_digest(repo: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(repo).items() if "/.git/index" not in k}


# --- init -----------------------------------------------------------------------------------------


def test_init_registers_the_drivers(env_repo: Path) -> None:
    assert (env_repo / ATTRIBUTES).read_text().splitlines()[-1] == drivers.ATTRIBUTE_LINE
    for key, value in drivers.CONFIG:
        assert _config(env_repo, key) == value
    for path in (LIGHTHOUSE, ".cec/workflows/portraits/sailor.json"):
        attributes = git("check-attr", "diff", "merge", "--", path, cwd=env_repo).stdout
        assert attributes.splitlines() == [f"{path}: diff: comfy", f"{path}: merge: comfy"]
    assert environment.ATTRIBUTES in environment.ENVIRONMENT_FILES  # the hook commits it


def test_a_second_init_changes_nothing(env_repo: Path, comfyui: Path) -> None:
    before = tree_digest(env_repo, comfyui)
    result = git_comfy("init", cwd=env_repo)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"{env_repo / '.cec'} is up to date (ComfyUI: {comfyui})"]
    assert tree_digest(env_repo, comfyui) == before


def test_an_older_environment_gets_them(env_repo: Path, comfyui: Path) -> None:
    (env_repo / ATTRIBUTES).unlink()
    for key, _value in drivers.CONFIG:
        git("config", "--unset", key, cwd=env_repo)
    result = git_comfy("init", cwd=env_repo)
    assert result.code == 0, result.err
    assert f"added {drivers.ATTRIBUTE_LINE} to {ATTRIBUTES}" in result.out.splitlines()
    assert "registered the comfy diff and merge drivers" in result.out
    assert _config(env_repo, "merge.comfy.driver") == "git-comfy merge-driver %O %A %B %L %P"
    before = tree_digest(env_repo, comfyui)
    assert git_comfy("init", cwd=env_repo).code == 0
    assert tree_digest(env_repo, comfyui) == before


def test_what_the_user_set_is_kept(repo: Path, comfyui: Path) -> None:
    (repo / ".gitattributes").write_text(".cec/workflows/*.json diff=comfy merge=comfy\n")
    git("config", "--global", "diff.comfy.textconv", "/opt/bin/git-comfy textconv", cwd=repo)
    result = git_comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert result.code == 0, result.err
    assert not (repo / ATTRIBUTES).exists()  # the root .gitattributes already selects them
    assert _config(repo, "diff.comfy.textconv") == "/opt/bin/git-comfy textconv"
    assert git("config", "--local", "--get", "diff.comfy.textconv", cwd=repo,
               check=False).returncode == 1
    assert _config(repo, "diff.comfy.cachetextconv") == "true"


def test_a_line_is_added_to_an_attributes_file_without_it(repo: Path, comfyui: Path) -> None:
    (repo / ".cec").mkdir()
    (repo / ATTRIBUTES).write_text("*.png binary")  # no final newline
    assert git_comfy("init", "--comfyui", str(comfyui), cwd=repo).code == 0
    assert (repo / ATTRIBUTES).read_text() == f"*.png binary\n{drivers.ATTRIBUTE_LINE}\n"


# --- textconv -------------------------------------------------------------------------------------


@pytest.fixture
def history(tracked_repo: Path, comfyui: Path) -> Path:
    edit_seed(comfyui, "lighthouse", 1)
    _commit(tracked_repo, "seed 1")
    return tracked_repo


def test_git_diff_log_and_show_read_the_text_form(history: Path, comfyui: Path) -> None:
    edit_seed(comfyui, "lighthouse", 2)
    assert git_comfy("commit", "-q", "-m", "seed 2", cwd=history).code == 0
    for args in (["show", "HEAD"], ["log", "-p", "-1"], ["diff", "HEAD~1", "HEAD"]):
        out = git(*args, cwd=history).stdout
        assert "-  seed: 1\n+  seed: 2\n" in out, args
        assert " node KSampler\n" in out
        assert '"widgets_values"' not in out
    raw = git("diff", "--no-textconv", "HEAD~1", "HEAD", cwd=history).stdout
    assert '"widgets_values"' in raw
    # the work tree against the index too (git comfy commit's copy)
    (history / LIGHTHOUSE).write_bytes(head_bytes(history, LIGHTHOUSE, "HEAD~1"))
    assert "-  seed: 2\n+  seed: 1\n" in git("diff", cwd=history).stdout
    # git log -p through git comfy log
    assert "+  seed: 2" in git_comfy("log", "lighthouse", "-p", "-1", cwd=history).out


def test_textconv_prints_a_broken_file_as_it_is(tmp_path: Path, comfy: Comfy) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"nodes": [\xff')
    done = subprocess.run(["git", "comfy", "textconv", str(broken)], capture_output=True,
                          check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, broken.read_bytes(), b"")
    assert_one_error(comfy("textconv", str(tmp_path / "nope.json"), cwd=tmp_path),
                     "cannot read")


def test_a_broken_commit_diffs_as_bytes(history: Path) -> None:
    (history / LIGHTHOUSE).write_text('{"nodes": [')
    git("add", LIGHTHOUSE, cwd=history)
    git("commit", "-q", "--no-verify", "-m", "broken", cwd=history)
    out = git("show", "HEAD", cwd=history).stdout
    assert '+{"nodes": [' in out
    assert "-node KSampler" in out  # the old side still as text


# --- merge ----------------------------------------------------------------------------------------


def _set(comfyui: Path, index: int, value: Any) -> None:
    path = workflow_file(comfyui, "lighthouse")
    document = json.loads(path.read_text())
    next(n for n in document["nodes"] if n["type"] == "KSampler")["widgets_values"][index] = value
    path.write_text(json.dumps(document, indent=2))


def _sampler(data: bytes) -> dict[str, Any]:
    node: dict[str, Any] = next(n for n in json.loads(data)["nodes"] if n["type"] == "KSampler")
    return node


def _branches(repo: Path, comfyui: Path, ours: tuple[int, Any], theirs: tuple[int, Any]) -> None:
    """Branch ``theirs`` and ``main`` each change a KSampler widget from the same base."""
    git("checkout", "-q", "-b", "theirs", cwd=repo)
    _set(comfyui, *theirs)
    _commit(repo, "theirs")
    git("checkout", "-q", "main", cwd=repo)
    assert git_comfy("restore", "lighthouse", cwd=repo).code == 0
    _set(comfyui, *ours)
    _commit(repo, "ours")


def test_a_real_merge_of_different_widgets(history: Path, comfyui: Path) -> None:
    _branches(history, comfyui, ours=(0, 11), theirs=(2, 33))
    done = git("merge", "--no-edit", "theirs", cwd=history)
    assert "Auto-merging .cec/workflows/lighthouse.json" in done.stdout + done.stderr
    merged = head_bytes(history, LIGHTHOUSE)
    assert _sampler(merged)["widgets_values"][:3] == [11, True, 33]
    assert "title" not in _sampler(merged)
    assert git("status", "--porcelain", cwd=history).stdout == ""
    # then ComfyUI gets the merge: what ComfyUI has (ours) is committed, so no --force
    result = git_comfy("restore", "lighthouse", cwd=history)
    assert result.code == 0, result.err
    assert workflow_file(comfyui, "lighthouse").read_bytes() == merged


def test_a_real_merge_with_a_conflict(history: Path, comfyui: Path) -> None:
    _branches(history, comfyui, ours=(0, 11), theirs=(0, 22))
    done = git("merge", "--no-edit", "theirs", cwd=history, check=False)
    assert done.returncode != 0
    assert "CONFLICT (content): Merge conflict in .cec/workflows/lighthouse.json" in done.stdout
    assert "conflict in .cec/workflows/lighthouse.json: node #3 (KSampler) seed: ours 11, " \
           "theirs 22, base 1" in done.stderr
    left = (history / LIGHTHOUSE).read_bytes()
    sampler = _sampler(left)  # valid JSON: ours, marked
    assert sampler["widgets_values"][0] == 11
    assert sampler["title"] == "CONFLICT: KSampler"
    assert sampler["properties"]["git-comfy conflict"] == {
        "seed": {"ours": 11, "theirs": 22, "base": 1}}
    assert json.loads(left)["extra"][CONFLICTS_KEY][0]["what"] == "seed"
    # restore takes the merge result into ComfyUI, where the user resolves it …
    result = git_comfy("restore", "lighthouse", cwd=history)
    assert result.code == 0, result.err
    assert "the merge in progress" in result.out
    assert workflow_file(comfyui, "lighthouse").read_bytes() == left
    document = json.loads(left)
    node = next(n for n in document["nodes"] if n["type"] == "KSampler")
    node["widgets_values"][0] = 22
    del node["title"], node["properties"]["git-comfy conflict"]
    del document["extra"][CONFLICTS_KEY]
    save_in_comfyui(comfyui, "lighthouse", json.dumps(document, indent=2))
    # … and the next commit records that and concludes the merge
    _commit(history, "merged")
    assert len(git("rev-parse", "HEAD^@", cwd=history).stdout.split()) == 2
    assert _sampler(head_bytes(history, LIGHTHOUSE))["widgets_values"][0] == 22


def test_the_driver_merges_lines_when_a_side_is_not_a_workflow(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / name for name in ("base", "ours", "theirs"))
    base.write_text("a\nb\nc\nd\ne\n")
    ours.write_text("a\nB\nc\nd\ne\n")
    theirs.write_text("a\nb\nc\nD\ne\n")
    result = git_comfy("merge-driver", str(base), str(ours), str(theirs), "7", "x.json",
                       cwd=tmp_path)
    assert result.code == 0
    assert ours.read_text() == "a\nB\nc\nD\ne\n"
    assert "merging it line by line" in result.err
    theirs.write_text("a\nX\nc\nd\ne\n")
    ours.write_text("a\nB\nc\nd\ne\n")
    result = git_comfy("merge-driver", str(base), str(ours), str(theirs), "7", "x.json",
                       cwd=tmp_path)
    assert result.code == 1
    assert "<<<<<<< ours:x.json" in ours.read_text()


def test_the_driver_on_unreadable_input(tmp_path: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("merge-driver", "a", "b", "c", "7", "x.json", cwd=tmp_path),
                     "cannot read")


# --- completion -----------------------------------------------------------------------------------


def test_history_commands_complete_workflow_names(tracked_repo: Path, tmp_path: Path) -> None:
    for command in ("log", "restore", "diff"):
        assert bash_complete(f"git comfy {command} light", cwd=tracked_repo, mode="eval",
                             tmp_path=tmp_path) == ["lighthouse "], command


def test_the_cli_knows_every_history_command() -> None:
    assert set(cli._HISTORY) == set(historycli.PARSERS)
