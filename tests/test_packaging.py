"""The wheel: what it holds (templates, demo data, the man page and the completion scripts as
data files), and that, installed into a plain venv, ``man`` and ``git help comfy`` find the page
with no action by the user."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from git_comfy import __version__
from git_comfy.commands import completion

ROOT = Path(__file__).resolve().parent.parent
DATA = f"git_comfy-{__version__}.data/data/"
MAN_PAGE = "share/man/man1/git-comfy.1"
BASH_SCRIPT = "share/bash-completion/completions/git-comfy"
ZSH_SCRIPT = "share/zsh/site-functions/_git-comfy"
PIP_QUIET = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def _run(command: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **PIP_QUIET, **environment})
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built as pip builds it; offline and fast when the build backend is
    already installed (the test extra has hatchling), else in pip's isolated build env."""
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    if all(importlib.util.find_spec(name) for name in ("hatchling", "jinja2")):
        command.insert(4, "--no-build-isolation")
    _run(command)
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain venv (no system site-packages, no pip of its own) with the wheel installed into
    it by this environment's pip; the dependencies are left out (nothing here needs them)."""
    path = tmp_path_factory.mktemp("installed") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(path)])
    _run([sys.executable, "-m", "pip", "--python", str(path / "bin" / "python"), "install",
          "-q", "--no-deps", "--no-index", str(wheel)])
    return path


def test_wheel_holds_templates_demo_data_and_data_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        data = {name: archive.read(DATA + name).decode("utf-8")
                for name in (MAN_PAGE, BASH_SCRIPT, ZSH_SCRIPT)}
    assert {
        "git_comfy/templates/pre-commit.sh.j2",
        "git_comfy/templates/completion.bash.j2",
        "git_comfy/templates/completion.zsh.j2",
        "git_comfy/templates/git-comfy.1.j2",
        "git_comfy/demo_data/workflows/lighthouse.json",
        "git_comfy/demo_data/workflows/portraits/sailor.json",
        "git_comfy/manpage.py",
    } <= names
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]
    assert data[MAN_PAGE] == (ROOT / "man" / "git-comfy.1").read_text(encoding="utf-8")
    assert data[BASH_SCRIPT] == completion.script("bash")
    assert data[ZSH_SCRIPT] == completion.script("zsh")
    assert data[ZSH_SCRIPT].startswith("#compdef git-comfy\n#description ")


def test_installed_wheel_has_the_program_and_the_data_files(venv: Path) -> None:
    assert (venv / MAN_PAGE).is_file()
    assert (venv / BASH_SCRIPT).is_file()
    assert (venv / ZSH_SCRIPT).is_file()
    done = _run([str(venv / "bin" / "git-comfy"), "--version"])  # needs no dependency
    assert done.stdout.strip() == f"git-comfy {__version__}"


def _man_environment(venv: Path) -> dict[str, str]:
    """A user's shell with the venv's bin/ first on PATH and no MANPATH of their own."""
    return {"MANPATH": "", "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "MANPAGER": "cat", "PAGER": "cat", "GIT_PAGER": "cat", "MANWIDTH": "80"}


def test_man_finds_the_page_of_the_installed_wheel(venv: Path) -> None:
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    done = _run(["man", "-w", "git-comfy"], **_man_environment(venv))
    assert done.stdout.splitlines()[0] == str(venv / MAN_PAGE)


def test_git_help_comfy_shows_the_page(venv: Path, tmp_path: Path) -> None:
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    environment = _man_environment(venv)
    for command in (["git", "help", "-m", "comfy"], ["git", "comfy", "--help"]):
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              env={**os.environ, **environment}, check=False)
        assert done.returncode == 0, done.stderr
        assert "GIT-COMFY(1)" in done.stdout
        assert "git comfy init [--comfyui PATH]" in done.stdout
