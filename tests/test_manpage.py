"""The man page: generated from the argparse tree, committed, and valid roff for man(1)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from git_comfy import __version__, cli, errors, manpage

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "man" / manpage.PAGE
REGENERATE = "python -m git_comfy.manpage > man/git-comfy.1  (with SOURCE_DATE_EPOCH unset)"


def _subcommand_names() -> list[str]:
    return [name for name, _help, _parser in manpage._subcommands(cli.build_parser())]


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return manpage.render_page()


def test_committed_page_is_up_to_date(fresh: str) -> None:
    assert COMMITTED.is_file(), f"{COMMITTED} is missing; make it with: {REGENERATE}"
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == fresh, f"man/git-comfy.1 is stale; regenerate it with: {REGENERATE}"


def test_module_prints_the_page(fresh: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    done = subprocess.run([sys.executable, "-m", "git_comfy.manpage"], cwd=ROOT,
                          capture_output=True, text=True, env=environment, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == fresh


def test_release_date_belongs_to_this_version() -> None:
    assert __version__ == manpage.RELEASE_VERSION, (
        "the version changed: set manpage.RELEASE_VERSION and RELEASE_DATE to the new release, "
        f"then {REGENERATE}"
    )


def test_title_line_and_sections(fresh: str) -> None:
    lines = fresh.splitlines()
    title = f'.TH GIT\\-COMFY 1 {manpage.RELEASE_DATE} "git\\-comfy {__version__}" "Git Manual"'
    assert title in lines
    sections = [line.removeprefix(".SH ").strip('"') for line in lines if line.startswith(".SH ")]
    assert sections == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "CONFIGURATION",
                        "FILES", "EXIT STATUS", "HOOK", "COMPLETION", "SEE ALSO"]


def test_date_comes_from_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    assert ".TH GIT\\-COMFY 1 2023-11-14 " in manpage.render_page()


def test_page_does_not_depend_on_the_machine(monkeypatch: pytest.MonkeyPatch, fresh: str,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "33")
    assert manpage.render_page() == fresh
    assert os.environ["XDG_CACHE_HOME"] == str(tmp_path / "cache")  # restored after rendering


def test_every_subcommand_and_option_is_in_the_page(fresh: str) -> None:
    names = _subcommand_names()
    expected = {"init", "track", "untrack", "status", "commit", "hook", "completion", "demo"}
    assert expected <= set(names)
    for name in map(manpage.escape, names):  # merge-driver: roff writes merge\-driver
        assert f'.SS "{name}"' in fresh
        assert f"\\fBgit comfy {name}\\fR" in fresh
    for flag in ("comfyui", "force", "uninstall\\-hook", "all", "json", "version"):
        assert f"\\fB\\-\\-{flag}\\fR" in fresh
    help_item = ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"
    assert fresh.count(help_item) == 1  # in OPTIONS, not under every command


def test_exit_codes_and_log_file_come_from_the_code(fresh: str) -> None:
    for code in (errors.EXIT_OK, errors.EXIT_FAILURE, errors.EXIT_USAGE, errors.EXIT_BUG,
                 errors.EXIT_INTERRUPTED):
        assert f".TP\n\\fB{code}\\fR\n" in fresh
    assert "$XDG_CACHE_HOME/git\\-comfy/git\\-comfy.log" in fresh
    assert "~/.cache/git\\-comfy/git\\-comfy.log" in fresh


@pytest.mark.parametrize(
    ("text", "roff"),
    [
        ("a\\b", "a\\eb"),
        ("--force", "\\-\\-force"),
        (".cec/ first", "\\&.cec/ first"),
        ("'quoted' first\n.second line", "\\&'quoted' first\n\\&.second line"),
        ("a — b", "a \\[u2014] b"),
        ("{# not a comment #}", "{# not a comment #}"),
    ],
)
def test_escape(text: str, roff: str) -> None:
    assert manpage.escape(text) == roff


def test_prose_makes_options_bold() -> None:
    assert manpage.prose("rerun with --force, or -h") == (
        "rerun with \\fB\\-\\-force\\fR, or \\fB\\-h\\fR"
    )
    assert manpage.prose("git-comfy's pre-commit") == "git\\-comfy's pre\\-commit"


def _formatters() -> list[list[str]]:
    found = []
    if shutil.which("man"):
        found.append(["man", "--warnings", "-l"])
    if shutil.which("groff"):
        found.append(["groff", "-ww", "-man", "-Tutf8"])
    return found


@pytest.mark.parametrize("command", _formatters() or [pytest.param(
    [], marks=pytest.mark.skip(reason="neither man nor groff is installed"))],
    ids=lambda command: command[0] if command else "none")
def test_page_renders_without_warnings(command: list[str]) -> None:
    environment = {**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat",
                   "LC_ALL": "C.UTF-8"}
    done = subprocess.run([*command, str(COMMITTED)], capture_output=True, text=True,
                          env=environment, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    text = re.sub(r"\x1b\[[0-9;]*m|.\x08", "", done.stdout)  # grotty's bold and italic
    assert "GIT-COMFY(1)" in text
    for name in _subcommand_names():
        assert f"git comfy {name}" in text, name
    assert "comfy.path" in text
    assert "--uninstall-hook" in text  # \- renders as a plain hyphen: options copy as typed
