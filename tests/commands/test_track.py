"""``git comfy track`` / ``untrack``: they edit ``.cec/pyproject.toml`` and nothing else, keep the
user's comments and layout, and refuse bad names and broken files with one line."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Comfy,
    Result,
    assert_one_error,
    git,
    git_comfy,
    save_in_comfyui,
    tree_digest,
    unwritable,
    workflow_file,
)


def _pyproject(repo: Path) -> Path:
    return repo / ".cec" / "pyproject.toml"


def _table(repo: Path) -> dict[str, Any]:
    document = tomllib.loads(_pyproject(repo).read_text(encoding="utf-8"))
    table: dict[str, Any] = document["tool"]["comfydock"]["workflows"]
    return table


def _tracked(repo: Path) -> list[str]:
    return sorted(name for name, entry in _table(repo).items() if entry.get("tracked") is True)


def _ok(result: Result) -> None:
    assert (result.code, result.out, result.err) == (0, "", ""), result


# --- track ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "canonical"), [
    ("lighthouse", "lighthouse"),
    ("lighthouse.json", "lighthouse"),
    ("portraits/sailor", "portraits/sailor"),
    ("portraits/sailor.json", "portraits/sailor"),
    ("portraits\\sailor", "portraits/sailor"),
    ("portraits\\sailor.json", "portraits/sailor"),
])
def test_track_by_any_spelling_of_the_name(env_repo: Path, comfy: Comfy, given: str,
                                           canonical: str) -> None:
    _ok(comfy("track", given, cwd=env_repo))
    assert _table(env_repo) == {canonical: {"tracked": True}}


def test_track_several_and_deeper_folders(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    text = workflow_file(comfyui, "lighthouse").read_text(encoding="utf-8")
    save_in_comfyui(comfyui, "clients/acme/Ünï cöde v2", text)
    _ok(comfy("track", "lighthouse", "clients/acme/Ünï cöde v2.json", cwd=env_repo))
    assert _tracked(env_repo) == ["clients/acme/Ünï cöde v2", "lighthouse"]


def test_track_all(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "more/third", workflow_file(comfyui, "lighthouse").read_text())
    _ok(comfy("track", "--all", cwd=env_repo))
    assert _tracked(env_repo) == ["lighthouse", "more/third", "portraits/sailor"]


def test_track_all_skips_hidden_and_temporary_files(env_repo: Path, comfyui: Path,
                                                    comfy: Comfy) -> None:
    folder = workflow_file(comfyui, "lighthouse").parent
    (folder / "tmpk2j4h_8x").write_text("{}")  # ComfyUI's own save in progress
    (folder / ".lighthouse.json.123.tmp").write_text("{}")
    (folder / ".hidden.json").write_text("{}")
    (folder / ".trash").mkdir()
    (folder / ".trash" / "old.json").write_text("{}")
    (folder / "notes.txt").write_text("x")
    _ok(comfy("track", "--all", cwd=env_repo))
    assert _tracked(env_repo) == ["lighthouse", "portraits/sailor"]


def test_track_from_a_subdirectory(env_repo: Path, comfy: Comfy) -> None:
    sub = env_repo / "notes"
    sub.mkdir()
    _ok(comfy("track", "lighthouse", cwd=sub))
    assert _tracked(env_repo) == ["lighthouse"]
    assert not (sub / ".cec").exists()


def test_track_through_the_real_program(env_repo: Path) -> None:
    _ok(git_comfy("track", "portraits/sailor", cwd=env_repo))
    assert _tracked(env_repo) == ["portraits/sailor"]


def test_already_tracked_is_a_no_op(env_repo: Path, comfy: Comfy) -> None:
    _ok(comfy("track", "lighthouse", cwd=env_repo))
    before = _pyproject(env_repo).stat()
    content = _pyproject(env_repo).read_bytes()
    _ok(comfy("track", "lighthouse.json", cwd=env_repo))
    _ok(comfy("track", "lighthouse", "lighthouse", cwd=env_repo))
    after = _pyproject(env_repo).stat()
    assert _pyproject(env_repo).read_bytes() == content
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten


def test_track_again_after_untrack_with_export_data(env_repo: Path, comfy: Comfy) -> None:
    _pyproject(env_repo).write_text(
        "[tool.comfydock.workflows.lighthouse]\ntracked = false\n"
        "requires = { nodes = [\"comfy-core\"] }\n"
    )
    _ok(comfy("track", "lighthouse", cwd=env_repo))
    assert _table(env_repo) == {"lighthouse": {"tracked": True,
                                               "requires": {"nodes": ["comfy-core"]}}}


def test_unknown_name_suggests_close_matches(env_repo: Path, comfy: Comfy) -> None:
    before = tree_digest(env_repo)
    result = comfy("track", "lighthous", cwd=env_repo)
    message = assert_one_error(result, "'lighthous'", "did you mean lighthouse")
    assert "ComfyUI's workflows folder" in message
    sailor = comfy("track", "portrait/sailor", cwd=env_repo)
    assert_one_error(sailor, "did you mean portraits/sailor")
    assert tree_digest(env_repo) == before


def test_unknown_name_without_close_matches(env_repo: Path, comfy: Comfy) -> None:
    result = comfy("track", "zzzzzz", cwd=env_repo)
    message = assert_one_error(result, "no workflow 'zzzzzz'")
    assert "did you mean" not in message


def test_one_bad_name_among_good_ones_tracks_none(env_repo: Path, comfy: Comfy) -> None:
    before = tree_digest(env_repo)
    assert_one_error(comfy("track", "lighthouse", "nope", cwd=env_repo), "'nope'")
    assert tree_digest(env_repo) == before


@pytest.mark.parametrize("name", [
    "", ".json", "..", "../lighthouse", "portraits/../lighthouse", "./lighthouse",
    "portraits//sailor", "portraits/", "/etc/passwd", "ABSOLUTE", "C:\\ComfyUI\\x",
    "c:lighthouse", "\\\\server\\share\\x", "..\\lighthouse", "light\nhouse", "light\x7fhouse",
])
def test_names_that_leave_the_folder_are_refused(env_repo: Path, comfyui: Path, comfy: Comfy,
                                                 name: str) -> None:
    if name == "ABSOLUTE":
        name = str(workflow_file(comfyui, "lighthouse"))
    before = tree_digest(env_repo, comfyui)
    result = comfy("track", name, cwd=env_repo)
    assert_one_error(result, "workflow name", "like portraits/flux-v2")
    assert tree_digest(env_repo, comfyui) == before


def test_no_names_and_no_all(env_repo: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("track", cwd=env_repo), "name the workflows to track, or use --all")
    assert_one_error(comfy("untrack", cwd=env_repo), "name the workflows to untrack")


def test_no_comfyui_folder(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    shutil.rmtree(comfyui)
    before = tree_digest(env_repo)
    result = comfy("track", "lighthouse", cwd=env_repo)
    assert_one_error(result, f"no ComfyUI folder at {comfyui}", "git comfy init --comfyui")
    assert tree_digest(env_repo) == before


def test_not_an_environment(repo: Path, comfy: Comfy) -> None:
    before = tree_digest(repo)
    for command in ("track", "untrack"):
        result = comfy(command, "lighthouse", cwd=repo)
        assert_one_error(result, "not a git-comfy environment", "git comfy init")
    assert tree_digest(repo) == before


def test_not_a_repository(tmp_path: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("track", "x", cwd=tmp_path), "not a git repository")


# --- untrack ----------------------------------------------------------------------------------


def test_untrack_removes_a_plain_entry(env_repo: Path, comfy: Comfy) -> None:
    _ok(comfy("track", "lighthouse", "portraits/sailor", cwd=env_repo))
    _ok(comfy("untrack", "portraits\\sailor.json", cwd=env_repo))
    assert _table(env_repo) == {"lighthouse": {"tracked": True}}


def test_untrack_all(env_repo: Path, comfy: Comfy) -> None:
    _ok(comfy("track", "--all", cwd=env_repo))
    _ok(comfy("untrack", "--all", cwd=env_repo))
    assert _table(env_repo) == {}


def test_untrack_keeps_export_data_and_sets_tracked_false(env_repo: Path, comfy: Comfy) -> None:
    original = (
        "[tool.comfydock.workflows.lighthouse]\n"
        "tracked = true\n"
        "requires = { nodes = [\"comfy-core\"], models = [\"abc123\"] }\n"
        "\n"
        "[tool.comfydock.workflows.lighthouse.models.abc123]\n"
        "filename = \"dreamshaper_8.safetensors\"\n"
        "size = 65536\n"
    )
    _pyproject(env_repo).write_text(original)
    _ok(comfy("untrack", "lighthouse", cwd=env_repo))
    after = _pyproject(env_repo).read_text()
    assert after == original.replace("tracked = true", "tracked = false")
    assert _tracked(env_repo) == []
    assert _table(env_repo)["lighthouse"]["models"]["abc123"]["size"] == 65536


def test_untrack_a_name_that_is_not_tracked(env_repo: Path, comfy: Comfy) -> None:
    _ok(comfy("track", "lighthouse", cwd=env_repo))
    before = tree_digest(env_repo)
    result = comfy("untrack", "portraits/sailor", cwd=env_repo)
    assert_one_error(result, "no workflow 'portraits/sailor' among tracked ones")
    close = comfy("untrack", "lighthose", cwd=env_repo)
    assert_one_error(close, "did you mean lighthouse")
    assert tree_digest(env_repo) == before


def test_untrack_with_an_entry_that_says_tracked_false(env_repo: Path, comfy: Comfy) -> None:
    _pyproject(env_repo).write_text("[tool.comfydock.workflows]\nlighthouse = {tracked = false}\n")
    before = tree_digest(env_repo)
    assert_one_error(comfy("untrack", "lighthouse", cwd=env_repo), "among tracked ones")
    assert tree_digest(env_repo) == before


def test_untrack_works_without_comfyui(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    _ok(comfy("track", "lighthouse", cwd=env_repo))
    shutil.rmtree(comfyui)
    _ok(comfy("untrack", "lighthouse", cwd=env_repo))
    assert _tracked(env_repo) == []


@pytest.mark.parametrize("name", ["", "..", "../x", "/abs"])
def test_untrack_refuses_bad_names(env_repo: Path, comfy: Comfy, name: str) -> None:
    before = tree_digest(env_repo)
    assert_one_error(comfy("untrack", name, cwd=env_repo), "workflow name")
    assert tree_digest(env_repo) == before


# --- the user's file --------------------------------------------------------------------------

USER_PYPROJECT = """\
# Studio environment -- hand edited, please keep these notes.
[project]
name   =   "studio"      # odd spacing on purpose
version = '1.0'

[tool.comfydock.workflows]
# the hero shot
lighthouse = { tracked = true }   # inline comment stays

[tool.comfydock.workflows."clients/acme"]
tracked = false   # exported once, parked
requires = { nodes = [ "comfy-core" ] }


[tool.other]   # someone else's table
keys = [
    1,  # one
    2,
]
"""


def _lines_kept(before: str, after: str, changed: set[str], added: set[str]) -> None:
    """``after`` is ``before`` with only the lines in ``changed`` replaced and ``added`` new."""
    import difflib

    diff = [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line[:1] in "+-"]
    removed = {line[2:] for line in diff if line.startswith("- ")}
    new = {line[2:] for line in diff if line.startswith("+ ")}
    assert removed == changed, diff
    assert new == added, diff


def test_comments_and_layout_survive_track_and_untrack(env_repo: Path, comfyui: Path,
                                                       comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "clients/acme", workflow_file(comfyui, "lighthouse").read_text())
    _pyproject(env_repo).write_text(USER_PYPROJECT)

    _ok(comfy("track", "portraits/sailor", "clients/acme", cwd=env_repo))
    tracked = _pyproject(env_repo).read_text()
    _lines_kept(USER_PYPROJECT, tracked,
                changed={"tracked = false   # exported once, parked"},
                added={'"portraits/sailor" = {tracked = true}',
                       "tracked = true   # exported once, parked"})
    assert _tracked(env_repo) == ["clients/acme", "lighthouse", "portraits/sailor"]

    _ok(comfy("untrack", "portraits/sailor", "clients/acme", cwd=env_repo))
    assert _pyproject(env_repo).read_text() == USER_PYPROJECT


def test_untracking_a_commented_entry_only_drops_its_line(env_repo: Path, comfy: Comfy) -> None:
    _pyproject(env_repo).write_text(USER_PYPROJECT)
    _ok(comfy("untrack", "lighthouse", cwd=env_repo))
    _lines_kept(USER_PYPROJECT, _pyproject(env_repo).read_text(),
                changed={"lighthouse = { tracked = true }   # inline comment stays"}, added=set())


def test_a_file_without_the_workflows_table_gets_one(env_repo: Path, comfy: Comfy) -> None:
    _pyproject(env_repo).write_text("# nothing here yet\n[project]\nname = \"x\"\n")
    _ok(comfy("track", "lighthouse", cwd=env_repo))
    text = _pyproject(env_repo).read_text()
    assert text.startswith("# nothing here yet\n[project]\nname = \"x\"\n")
    assert _tracked(env_repo) == ["lighthouse"]


def test_a_tracked_name_written_with_backslashes_is_reported(env_repo: Path,
                                                             comfy: Comfy) -> None:
    _pyproject(env_repo).write_text(
        '[tool.comfydock.workflows]\n"portraits\\\\sailor" = {tracked = true}\n')
    before = tree_digest(env_repo)
    result = comfy("untrack", "lighthouse", cwd=env_repo)
    assert_one_error(result, "not a canonical name", "'portraits/sailor'")
    assert tree_digest(env_repo) == before


BROKEN = [
    ("# fine\n[tool.comfydock.workflows]\nlighthouse = = 1\n", "line 3"),
    ("[tool.comfydock.workflows]\nlighthouse = {tracked = true\n", "line 2"),
    ("[tool.comfydock.workflows]\n[tool.comfydock.workflows]\n", "line 2"),
    ("[tool\n", "line 1"),
]


@pytest.mark.parametrize("command", ["track", "untrack"])
@pytest.mark.parametrize(("text", "where"), BROKEN, ids=["bad-value", "unclosed-inline",
                                                         "duplicate-table", "unclosed-header"])
def test_toml_syntax_error_is_one_line_naming_the_line(env_repo: Path, comfy: Comfy,
                                                       command: str, text: str,
                                                       where: str) -> None:
    _pyproject(env_repo).write_text(text)
    before = tree_digest(env_repo)
    result = comfy(command, "lighthouse", cwd=env_repo)
    assert_one_error(result, str(_pyproject(env_repo)), where, "fix the TOML")
    assert _pyproject(env_repo).read_text() == text
    assert tree_digest(env_repo) == before


@pytest.mark.parametrize("text", ["x = " + "[" * 2000 + "]" * 2000 + "\n",
                                  "x = " + "9" * 5000 + "\n", "\ufeff\xff = 1\n"],
                         ids=["deep-array", "huge-int", "odd-bytes"])
def test_hostile_toml_is_one_line(env_repo: Path, comfy: Comfy, text: str) -> None:
    _pyproject(env_repo).write_text(text, encoding="utf-8")
    before = tree_digest(env_repo)
    for command in ("track", "untrack"):
        result = comfy(command, "lighthouse", cwd=env_repo)
        assert result.code == 1, result
        assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err
        assert str(_pyproject(env_repo)) in result.err
    assert tree_digest(env_repo) == before


def test_pyproject_not_utf8(env_repo: Path, comfy: Comfy) -> None:
    _pyproject(env_repo).write_bytes(b"# caf\xe9\n[tool.comfydock.workflows]\n")
    before = tree_digest(env_repo)
    for command in ("track", "untrack"):
        assert_one_error(comfy(command, "lighthouse", cwd=env_repo), str(_pyproject(env_repo)))
    assert tree_digest(env_repo) == before


@pytest.mark.parametrize("locked", [".cec", ".cec/pyproject.toml"])
@pytest.mark.parametrize("command", ["track", "untrack"])
def test_unwritable_cec_is_one_line(env_repo: Path, comfyui: Path, comfy: Comfy,
                                    command: str, locked: str) -> None:
    if command == "untrack":
        _ok(comfy("track", "lighthouse", cwd=env_repo))
    before = tree_digest(env_repo, comfyui)
    with unwritable(env_repo / locked):
        result = comfy(command, "lighthouse", cwd=env_repo)
    assert_one_error(result, f"cannot write {_pyproject(env_repo)}")
    assert tree_digest(env_repo, comfyui) == before


def test_tracking_writes_only_the_pyproject(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    before = tree_digest(env_repo, comfyui)
    _ok(comfy("track", "--all", cwd=env_repo))
    after = tree_digest(env_repo, comfyui)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert changed == {"0:.cec/pyproject.toml"}
    assert git("status", "--porcelain", "--untracked-files=all", cwd=env_repo).stdout.splitlines() \
        == ["?? .cec/.gitattributes", "?? .cec/.gitignore", "?? .cec/pyproject.toml"]


def test_tracked_list_feeds_status(env_repo: Path, comfy: Comfy) -> None:
    _ok(comfy("track", "portraits/sailor", cwd=env_repo))
    report = json.loads(comfy("status", "--json", cwd=env_repo).out)
    assert [w["name"] for w in report["workflows"]] == ["portraits/sailor"]
    assert report["untracked"] == ["lighthouse"]
