"""ComfyUI's interpreter, for real: a venv made here as ``<ComfyUI>/venv`` and wheels built here
into a local folder that pip reads through ``PIP_NO_INDEX`` and ``PIP_FIND_LINKS``."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git

from git_comfy import pyenv
from git_comfy.core import pipcheck, pipplan
from git_comfy.errors import FatalError


def _wheel(folder: Path, name: str, version: str) -> None:
    """A pure-Python wheel made with zipfile: no build tool, no network."""
    module, info = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def _sdist(folder: Path, name: str, version: str) -> None:
    """A source distribution only: installing it would run its build."""
    base = f"{name.replace('-', '_')}-{version}"
    files = {f"{base}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{base}/setup.py": "raise SystemExit('built')\n"}
    with tarfile.open(folder / f"{base}.tar.gz", "w:gz") as archive:
        for path, text in files.items():
            member = tarfile.TarInfo(path)
            member.size = len(text.encode())
            archive.addfile(member, io.BytesIO(text.encode()))


def _pip_environment(wheels: Path) -> dict[str, str]:
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_CACHE_DIR": "1"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    for version in ("1.0", "2.0"):
        _wheel(folder, "gcdemo-lib", version)
    _wheel(folder, "gcdemo-other", "1.0")
    _sdist(folder, "gcdemo-src", "1.0")
    return folder


@pytest.fixture(scope="module")
def comfyui(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """A ComfyUI folder whose venv has gcdemo-lib 1.0 and gcdemo-other 1.0, installed by
    pyenv.install. Made once: a venv takes seconds."""
    root = tmp_path_factory.mktemp("portable") / "ComfyUI"
    root.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = pyenv.Interpreter(pyenv.venv_python(str(root / "venv")), "test")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _pip_environment(wheels).items():
            patch.setenv(name, value)
        pyenv.install(python, ["gcdemo-lib==1.0", "gcdemo-other"], allow_build=False)
    return root


@pytest.fixture(autouse=True)
def pip_offline(wheels: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in _pip_environment(wheels).items():
        monkeypatch.setenv(name, value)
    yield


@pytest.fixture
def python(comfyui: Path) -> pyenv.Interpreter:
    return pyenv.find(str(comfyui))


def test_find_venv(python: pyenv.Interpreter, comfyui: Path) -> None:
    assert python == pyenv.Interpreter(pyenv.venv_python(str(comfyui / "venv")),
                                       "ComfyUI's venv/")


def test_find_order(tmp_path: Path) -> None:
    comfyui = tmp_path / "ComfyUI"
    comfyui.mkdir()
    with pytest.raises(FatalError, match=r"git config comfy\.python PATH") as error:
        pyenv.find(str(comfyui))
    assert "\n" not in str(error.value)
    portable = tmp_path / "python_embeded" / "python.exe"
    portable.parent.mkdir()
    portable.touch()
    assert pyenv.find(str(comfyui)) == pyenv.Interpreter(
        str(portable), "the portable build's python_embeded/")
    dot_venv = Path(pyenv.venv_python(str(comfyui / ".venv")))
    dot_venv.parent.mkdir(parents=True)
    dot_venv.touch()
    assert pyenv.find(str(comfyui)).how == "ComfyUI's .venv/"
    git("config", "--global", "comfy.python", sys.executable, cwd=tmp_path)
    assert pyenv.find(str(comfyui)) == pyenv.Interpreter(sys.executable,
                                                         "git config comfy.python")


@pytest.mark.parametrize("target", ["missing", "failing"])
def test_configured_python_must_run(tmp_path: Path, target: str) -> None:
    python = tmp_path / target
    if target == "failing":
        python.write_text("#!/bin/sh\necho 'broken interpreter' >&2\nexit 3\n")
        python.chmod(0o755)
    git("config", "--global", "comfy.python", str(python), cwd=tmp_path)
    with pytest.raises(FatalError, match=f"comfy.python is {python}, which does") as error:
        pyenv.find(str(tmp_path))
    assert "git config comfy.python PATH" in str(error.value)


def test_installed_sees_what_pip_installed(python: pyenv.Interpreter) -> None:
    found = pyenv.installed(python)
    assert found["gcdemo-lib"] == "1.0"
    assert found["gcdemo-other"] == "1.0"
    assert "pip" in found


def test_freeze_records_the_versions(python: pyenv.Interpreter, tmp_path: Path) -> None:
    where = str(tmp_path / "freeze.txt")
    assert pyenv.freeze(python, where) == where
    lines = Path(where).read_text().splitlines()
    assert lines[0].startswith("#")
    assert {"gcdemo-lib==1.0", "gcdemo-other==1.0"} <= set(lines)


def test_conflict_planned_from_installed(python: pyenv.Interpreter) -> None:
    planned = pipplan.plan({"pack": pipcheck.check_all(
        ["gcdemo-lib==2.0", "gcdemo-other>=1", "gcdemo-new"])}, pyenv.installed(python))
    assert [(line.state, line.have) for line in planned] == [
        ("conflict", "1.0"), ("installed", "1.0"), ("install", None)]


def test_sdist_needs_allow_build(python: pyenv.Interpreter) -> None:
    with pytest.raises(FatalError, match="gcdemo-src") as error:
        pyenv.install(python, ["gcdemo-src"], allow_build=False)
    assert "\n" not in str(error.value)
    assert "gcdemo-src" not in pyenv.installed(python)


def test_failing_install_is_one_line(python: pyenv.Interpreter) -> None:
    with pytest.raises(FatalError) as error:
        pyenv.install(python, ["gcdemo-lib==3.0"], allow_build=False)
    message = str(error.value)
    assert message.startswith(f"pip install into {python.python} failed: ")
    assert "gcdemo-lib==3.0" in message and "\n" not in message
    assert pyenv.installed(python)["gcdemo-lib"] == "1.0"


def test_blocked_line_is_refused(python: pyenv.Interpreter) -> None:
    with pytest.raises(FatalError, match="refusing to install"):
        pyenv.install(python, ["gcdemo-lib --index-url https://evil.example/simple"],
                      allow_build=False)


def test_separate_environment(python: pyenv.Interpreter, tmp_path: Path) -> None:
    """The conflicting version goes into the new environment, which still sees ComfyUI's other
    packages; ComfyUI's own environment keeps its version."""
    separate = pyenv.separate(python, str(tmp_path / "workflow-env"))
    pyenv.install(separate, ["gcdemo-lib==2.0"], allow_build=False)
    found = pyenv.installed(separate)
    assert (found["gcdemo-lib"], found["gcdemo-other"]) == ("2.0", "1.0")
    assert pyenv.installed(python)["gcdemo-lib"] == "1.0"
    script = "import gcdemo_lib; print(gcdemo_lib.VERSION)"
    imported = subprocess.run([separate.python, "-c", script], capture_output=True, text=True,
                              check=True)
    assert imported.stdout.strip() == "2.0"
