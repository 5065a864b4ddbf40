"""The command line as a whole: dispatch, exit codes, the error handler, start-up imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Result, git_comfy

from git_comfy import cli, errors


def test_version_through_git(tmp_path: Path) -> None:
    from git_comfy import __version__

    result = git_comfy("--version", cwd=tmp_path)
    assert (result.code, result.out.strip()) == (0, f"git-comfy {__version__}")


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = git_comfy("frobnicate", cwd=tmp_path)
    assert result.code == errors.EXIT_USAGE
    assert "invalid choice: 'frobnicate'" in result.err


def test_expected_failure_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = git_comfy("status", cwd=tmp_path)
    assert result.code == errors.EXIT_FAILURE
    assert result.err == (
        "git comfy: error: not a git repository; run git comfy init here to make one\n"
    )
    assert "Traceback" not in result.err


def _run_with(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              failure: BaseException) -> Result:
    def explode(args: object) -> int:
        raise failure

    monkeypatch.setattr(cli, "_dispatch", explode)
    code = cli.main(["status"])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def test_a_bug_is_one_line_naming_the_log_with_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run_with(monkeypatch, capsys, ZeroDivisionError("boom"))
    assert result.code == errors.EXIT_BUG
    assert len(result.err.splitlines()) == 1
    assert "unexpected ZeroDivisionError: boom" in result.err
    log = Path(errors.log_path())
    assert str(log) in result.err
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: boom" in text


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    result = _run_with(monkeypatch, capsys, KeyboardInterrupt())
    assert result.code == errors.EXIT_INTERRUPTED == 130
    assert result.err == "git comfy: interrupted\n"


def test_ctrl_c_of_the_real_program_exits_130(tmp_path: Path) -> None:
    """SIGINT while git comfy waits (here: on git commit's editor) ends it with 130, quietly."""
    import os
    import signal
    import time

    script = tmp_path / "editor.sh"
    ready = tmp_path / "ready"
    script.write_text(f"#!/bin/sh\ntouch {ready}\nsleep 30\n")
    script.chmod(0o755)
    program = [sys.executable, "-m", "git_comfy", "demo", str(tmp_path / "demo")]
    subprocess.run(program, check=True, capture_output=True)
    studio = tmp_path / "demo" / "studio"
    child = subprocess.Popen(
        [sys.executable, "-m", "git_comfy", "commit", "--allow-empty"], cwd=studio,
        env={**os.environ, "GIT_EDITOR": str(script)}, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
    _, err = child.communicate(timeout=20)
    assert child.returncode == 130
    assert "Traceback" not in err


def test_startup_imports_nothing_heavy(tmp_path: Path) -> None:
    """`git comfy --version` and the CLI module must not pay for the dependencies."""
    code = (
        "import sys\n"
        "from git_comfy import cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'tomlkit', 'jinja2', 'dulwich', 'argcomplete', 'xxhash', 'subprocess', 'json'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
