"""Fixtures: real git repositories, a ComfyUI-shaped folder, and the CLI run in-process or as
the real program. Every test gets its own HOME, git config and cache, so nothing of the machine
running the tests leaks in or out."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from git_comfy import cli
from git_comfy.commands import demo

# The environment variables git exports to hooks, which must not leak from an outer git (e.g.
# when the test suite itself runs inside a hook).
_GIT_LOCAL_VARS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
)


@dataclass
class Result:
    code: int
    out: str
    err: str


Comfy = Callable[..., Result]  # the in-process CLI fixture below
CLOSED_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused
LIGHTHOUSE = ".cec/workflows/lighthouse.json"  # the committed copies of the demo workflows
SAILOR = ".cec/workflows/portraits/sailor.json"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        # no test reaches the internet: the network sources point at a closed local port
        # (tests that serve them set these to their own server)
        f"[comfy]\n\tregistryUrl = {CLOSED_URL}\n\tnodeMapUrl = {CLOSED_URL}/map.json\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_TEMPLATE_DIR", "")
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent),
                                                os.environ["PATH"]]))
    for name in _GIT_LOCAL_VARS:
        monkeypatch.delenv(name, raising=False)
    return home


def git(*args: str, cwd: Path | str, check: bool = True, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Runs the real git; raises with its output on an unexpected failure."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done


def git_comfy(*args: str, cwd: Path | str, env: dict[str, str] | None = None,
              input: str | None = None) -> Result:
    """Runs the real program in a child process, as a user's shell would (``git comfy ...``)."""
    done = subprocess.run(["git", "comfy", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, input=input)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def comfy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """The CLI in-process (fast): ``comfy("status", cwd=path)`` → Result."""

    def call(*args: str, cwd: Path | str) -> Result:
        capsys.readouterr()
        monkeypatch.chdir(cwd)
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def comfyui(tmp_path: Path) -> Path:
    """A ComfyUI-shaped folder with the demo's workflows (``lighthouse``, ``portraits/sailor``)
    and small model files."""
    return Path(demo.build_comfyui(str(tmp_path / "ComfyUI")))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository with one commit, beside the ComfyUI folder."""
    path = tmp_path / "studio"
    path.mkdir()
    git("init", "-q", cwd=path)
    (path / "README.md").write_text("studio\n")
    git("add", "README.md", cwd=path)
    git("commit", "-q", "-m", "start", cwd=path)
    return path


@pytest.fixture
def env_repo(repo: Path, comfyui: Path) -> Iterator[Path]:
    """``repo`` after ``git comfy init --comfyui`` (through the real program, so the hook is
    the one a user gets)."""
    result = git_comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert result.code == 0, result.err
    yield repo


def workflow_file(comfyui: Path, name: str) -> Path:
    return comfyui / "user" / "default" / "workflows" / f"{name}.json"


def save_in_comfyui(comfyui: Path, name: str, text: str) -> None:
    """What ComfyUI's save does, at the level of the file."""
    path = workflow_file(comfyui, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def edit_seed(comfyui: Path, name: str, seed: int) -> None:
    """A real edit of a real workflow: the KSampler seed, saved in ComfyUI's layout."""
    import json

    path = workflow_file(comfyui, name)
    document = json.loads(path.read_text(encoding="utf-8"))
    for node in document["nodes"]:
        if node["type"] == "KSampler":
            node["widgets_values"][0] = seed
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Makes ``path`` unwritable even for root (CI runs as root): chattr +i, else chmod."""
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


# Shared assertions (init/track/status tests): a bad input changes nothing and says one line.

_DERIVED = frozenset({"git-comfy-tracked", "git-comfy-synced"})  # derived caches in the git dir


def tree_digest(*roots: Path, skip: frozenset[str] = _DERIVED) -> dict[str, str]:
    """Every file, symlink and folder under ``roots`` → its mode and content hash, for asserting
    that a command changed nothing. Names in ``skip`` (derived caches) are left out."""
    import hashlib

    digest: dict[str, str] = {}
    for number, root in enumerate(roots):
        if not os.path.lexists(root):
            digest[f"{number}:"] = "absent"
            continue
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                if name in skip:
                    continue
                path = os.path.join(folder, name)
                key = f"{number}:{os.path.relpath(path, root)}"
                info = os.lstat(path)
                if os.path.islink(path):
                    digest[key] = f"link {os.readlink(path)}"
                elif os.path.isdir(path):
                    digest[key] = f"dir {info.st_mode:o}"
                else:
                    with open(path, "rb") as file:
                        content = hashlib.sha256(file.read()).hexdigest()
                    digest[key] = f"{info.st_mode:o} {content}"
    return digest


def assert_one_error(result: Result, *fragments: str) -> str:
    """An expected failure: exit 1, nothing on stdout, one ``git comfy: error:`` line on stderr
    holding every fragment, no traceback. Returns the message."""
    assert result.code == 1, (result.code, result.out, result.err)
    assert result.out == "", result.out
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("git comfy: error: "), result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0].removeprefix("git comfy: error: ")


# The hook and commit tests: a repository whose snapshot of ``lighthouse`` the hook committed.

def head_bytes(repo: Path, path: str, rev: str = "HEAD") -> bytes:
    """The exact bytes of ``path`` in ``rev`` (``:`` alone: the index), or an AssertionError."""
    spec = f":{path}" if rev == ":" else f"{rev}:{path}"
    done = subprocess.run(["git", "cat-file", "blob", spec], cwd=repo, capture_output=True)
    if done.returncode != 0:
        raise AssertionError(f"git cat-file blob {spec} failed: {done.stderr.decode()}")
    return done.stdout


def status_lines(repo: Path) -> list[str]:
    """``git status --porcelain`` (untracked files included), one entry per line."""
    return git("status", "--porcelain", "--untracked-files=all", cwd=repo).stdout.splitlines()


@pytest.fixture
def tracked_repo(env_repo: Path, comfy) -> Path:  # type: ignore[no-untyped-def]
    """``env_repo`` tracking ``lighthouse``, committed with a plain ``git commit``: the hook
    wrote and staged ``.cec/workflows/lighthouse.json``. The work tree is clean."""
    assert comfy("track", "lighthouse", cwd=env_repo).code == 0
    git("add", ".cec", cwd=env_repo)
    git("commit", "-q", "-m", "track lighthouse", cwd=env_repo)
    return env_repo


@pytest.fixture
def https_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real HTTPS server on 127.0.0.1 (tests/webserver.py) whose new self-signed certificate
    is trusted the ways a user trusts a company's CA: git's ``http.sslCAInfo`` (downloads and
    registry lookups) and ``GIT_SSL_CAINFO`` (git clone: this machine's git did not apply
    ``http.sslCAInfo`` to the test server, its own variable it does)."""
    from webserver import self_signed, serve

    made = self_signed(tmp_path)
    if made is None:
        pytest.skip("needs openssl to make a certificate")
    context, cafile = made
    git("config", "--global", "http.sslCAInfo", cafile, cwd=tmp_path)
    monkeypatch.setenv("GIT_SSL_CAINFO", cafile)
    with serve(context) as server:
        yield server
