"""Cloning a pack at its pinned commit with real git (security notes §2.3, §8 cases 49-54):
local repositories made here, let through by a comfy.allowedSource prefix in the test's HOME."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

from git_comfy import packclone
from git_comfy.errors import FatalError


def _commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git("add", name, cwd=repo)
    git("commit", "-q", "-m", f"add {name}", cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).stdout.strip()


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A folder the user allowed with ``git config --global --add comfy.allowedSource``."""
    folder = tmp_path / "sources"
    folder.mkdir()
    git("config", "--global", "--add", "comfy.allowedSource", "https://git.example.com/",
        cwd=tmp_path)
    git("config", "--global", "--add", "comfy.allowedSource", f"{folder}/", cwd=tmp_path)
    return folder


@pytest.fixture
def pack(sources: Path) -> tuple[Path, str, str]:
    """A pack repository with two commits: (path, first, second)."""
    repo = sources / "pack"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    first = _commit(repo, "nodes.py", "VERSION = 1\n")
    second = _commit(repo, "more.py", "VERSION = 2\n")
    return repo, first, second


def _refused(url: str, commit: str, into: Path, *fragments: str) -> str:
    with pytest.raises(FatalError) as caught:
        packclone.clone(url, commit, str(into))
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert not into.exists()
    return message


def test_allowed_sources_reads_every_value(sources: Path) -> None:
    assert packclone.allowed_sources() == ["https://git.example.com/", f"{sources}/"]


def test_allowed_sources_empty_when_unset() -> None:
    assert packclone.allowed_sources() == []


def test_clones_the_pinned_commit(pack: tuple[Path, str, str], tmp_path: Path,
                                  capfd: pytest.CaptureFixture[str]) -> None:
    repo, first, _ = pack
    into = tmp_path / "custom_nodes.new" / "pack"
    into.parent.mkdir()
    packclone.clone(str(repo), first.upper(), str(into))
    assert git("rev-parse", "HEAD", cwd=into).stdout.strip() == first
    assert (into / "nodes.py").read_text() == "VERSION = 1\n"
    assert not (into / "more.py").exists()
    assert git("status", "--porcelain", cwd=into).stdout == ""
    assert capfd.readouterr() == ("", "")  # git's own output is captured


def test_fetches_a_commit_no_branch_holds(pack: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, first, _ = pack
    git("checkout", "-q", "-b", "gone", first, cwd=repo)
    lost = _commit(repo, "lost.py", "x = 1\n")
    git("checkout", "-q", "main", cwd=repo)
    git("branch", "-q", "-D", "gone", cwd=repo)
    git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=repo)
    git("config", "--global", "--add", "comfy.allowedSource", f"file://{repo}", cwd=tmp_path)
    into = tmp_path / "lost"
    packclone.clone(f"file://{repo}", lost, str(into))
    assert git("rev-parse", "HEAD", cwd=into).stdout.strip() == lost


def test_a_missing_commit_is_refused_without_a_branch_fallback(
        pack: tuple[Path, str, str], tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    repo, _, _ = pack
    _refused(str(repo), "0" * 40, tmp_path / "into", f"{repo} has no commit {'0' * 40}: ")
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("commit", ["", "main", "HEAD", "abc123", "g" * 40])
def test_no_pinned_commit(pack: tuple[Path, str, str], tmp_path: Path, commit: str) -> None:
    _refused(str(pack[0]), commit, tmp_path / "into", "no pinned commit")


def test_submodules_are_not_initialised(sources: Path, tmp_path: Path) -> None:
    inner = sources / "inner"
    inner.mkdir()
    git("init", "-q", cwd=inner)
    _commit(inner, "inner.py", "x = 1\n")
    outer = sources / "outer"
    outer.mkdir()
    git("init", "-q", cwd=outer)
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "inner",
        cwd=outer)
    git("commit", "-q", "-m", "with a submodule", cwd=outer)
    commit = git("rev-parse", "HEAD", cwd=outer).stdout.strip()
    into = tmp_path / "outer"
    packclone.clone(str(outer), commit, str(into))
    assert (into / ".gitmodules").is_file()
    assert not (into / "inner").exists() or list((into / "inner").iterdir()) == []
    assert not (into / ".git" / "modules").exists()


def test_an_option_in_the_address_never_reaches_git(pack: tuple[Path, str, str],
                                                    tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    url = f"--upload-pack=touch {marker}; git-upload-pack {pack[0]}"
    _refused(url, pack[1], tmp_path / "into", "starts with '-'")
    assert not marker.exists()


def test_ext_transport_is_refused(pack: tuple[Path, str, str], tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    _refused(f"ext::sh -c touch% {marker}", pack[1], tmp_path / "into",
             "ext:: transports are never used")
    assert not marker.exists()


def test_a_local_path_outside_the_prefixes_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    git("init", "-q", cwd=elsewhere)
    commit = _commit(elsewhere, "nodes.py", "x = 1\n")
    _refused(str(elsewhere), commit, tmp_path / "into", "a local path is not https",
             "comfy.allowedSource")


def test_user_info_is_never_shown(pack: tuple[Path, str, str], tmp_path: Path) -> None:
    message = _refused("https://me:ghp_secret@github.com/o/r", pack[1], tmp_path / "into",
                       "https://github.com/o/r is not cloned")
    assert "ghp_secret" not in message


def test_a_repository_that_does_not_exist(sources: Path, tmp_path: Path,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    _refused(str(sources / "nothing"), "1" * 40, tmp_path / "into",
             f"cloning {sources / 'nothing'} failed: ")
    assert capfd.readouterr() == ("", "")


def test_a_corrupt_repository_leaves_nothing(pack: tuple[Path, str, str],
                                             tmp_path: Path) -> None:
    repo, first, _ = pack
    blob = git("rev-parse", f"{first}:nodes.py", cwd=repo).stdout.strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    _refused(str(repo), first, tmp_path / "into", f"cloning {repo} failed: ")


def test_an_existing_folder_is_never_cloned_over(pack: tuple[Path, str, str],
                                                 tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    (into / "mine.txt").write_text("keep\n")
    with pytest.raises(FatalError, match="exists"):
        packclone.clone(str(pack[0]), pack[1], str(into))
    assert (into / "mine.txt").read_text() == "keep\n"


def test_outer_git_variables_do_not_steer_the_clone(
        pack: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, first, _ = pack
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "ext:file:https")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.hookspath'='/tmp'")
    into = tmp_path / "into"
    packclone.clone(str(repo), first, str(into))
    monkeypatch.delenv("GIT_DIR")
    assert git("rev-parse", "HEAD", cwd=into).stdout.strip() == first
