"""``git comfy init``: the environment, comfy.path, .gitignore and the pre-commit hook, made
idempotently; every bad input is one line, exit 1, and no file touched."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import (
    Comfy,
    assert_one_error,
    git,
    git_comfy,
    tree_digest,
    unwritable,
    workflow_file,
)

from git_comfy import environment, hookscript
from git_comfy.commands import demo

FOREIGN_HOOK = b"#!/bin/sh\n# the team's own checks\necho foreign-hook-ran >> \"$FOREIGN_LOG\"\n"


def _local_config(repo: Path) -> str:
    return git("config", "--local", "--list", cwd=repo).stdout


def _hook(hooks_dir: Path) -> Path:
    return hooks_dir / hookscript.HOOK


def _is_ours(path: Path) -> bool:
    return hookscript.MARKER in path.read_text(encoding="utf-8")


def _is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


def _write_hook(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o755)


def _gitignore_lines(root: Path) -> list[str]:
    path = root / ".gitignore"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


# --- making an environment ------------------------------------------------------------------


def test_in_an_empty_folder_makes_the_repository_and_says_so(tmp_path: Path,
                                                              comfyui: Path) -> None:
    folder = tmp_path / "new-studio"
    folder.mkdir()
    result = git_comfy("init", "--comfyui", str(comfyui), cwd=folder)
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == f"made a git repository in {folder}"
    assert f"made the environment {folder / '.cec'}" in lines
    assert f"comfy.path = {comfyui}" in lines
    assert f"installed the pre-commit hook in {folder / '.git' / 'hooks'}" in lines
    assert git("rev-parse", "--show-toplevel", cwd=folder).stdout.strip() == str(folder)
    assert (folder / ".cec" / "pyproject.toml").read_text() == environment.INITIAL_PYPROJECT
    assert (folder / ".cec" / ".gitignore").read_text() == environment.INITIAL_GITIGNORE
    assert (folder / ".cec" / "workflows").is_dir()
    hook = _hook(folder / ".git" / "hooks")
    assert _is_ours(hook) and _is_executable(hook)
    assert not (folder / ".gitignore").exists()  # ComfyUI is outside the work tree


def test_in_an_existing_repository_keeps_its_history_and_files(repo: Path,
                                                               comfyui: Path) -> None:
    head = git("rev-parse", "HEAD", cwd=repo).stdout
    result = git_comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert result.code == 0, result.err
    assert "made a git repository" not in result.out
    assert f"made the environment {repo / '.cec'}" in result.out.splitlines()
    assert git("rev-parse", "HEAD", cwd=repo).stdout == head
    assert (repo / "README.md").read_text() == "studio\n"
    # only .cec/ is new in the work tree
    assert git("status", "--porcelain", "--untracked-files=all", cwd=repo).stdout.splitlines() == [
        "?? .cec/.gitattributes", "?? .cec/.gitignore", "?? .cec/pyproject.toml"]


@pytest.mark.parametrize("flags", [[], ["--comfyui", "ABS"]], ids=["no-flag", "same-flag"])
def test_a_second_run_changes_no_byte_and_says_up_to_date(env_repo: Path, comfyui: Path,
                                                          flags: list[str]) -> None:
    before = tree_digest(env_repo, comfyui)
    args = [str(comfyui) if flag == "ABS" else flag for flag in flags]
    result = git_comfy("init", *args, cwd=env_repo)
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out == f"{env_repo / '.cec'} is up to date (ComfyUI: {comfyui})\n"
    assert tree_digest(env_repo, comfyui) == before


def test_a_second_run_adds_only_what_is_missing(env_repo: Path) -> None:
    (env_repo / ".cec" / ".gitignore").unlink()
    pyproject = (env_repo / ".cec" / "pyproject.toml").read_bytes()
    hook = _hook(env_repo / ".git" / "hooks").read_bytes()
    result = git_comfy("init", cwd=env_repo)  # the interpreter env_repo's hook names
    assert result.code == 0, result.err
    assert result.out == "made .cec/.gitignore\n"
    assert (env_repo / ".cec" / ".gitignore").read_text() == environment.INITIAL_GITIGNORE
    assert (env_repo / ".cec" / "pyproject.toml").read_bytes() == pyproject
    assert _hook(env_repo / ".git" / "hooks").read_bytes() == hook


def test_comfy_path_is_absolute(env_repo: Path, comfyui: Path) -> None:
    value = git("config", "--local", "comfy.path", cwd=env_repo).stdout.strip()
    assert os.path.isabs(value)
    assert value == str(comfyui)


def test_relative_comfyui_is_relative_to_the_current_directory(repo: Path, comfyui: Path,
                                                               comfy: Comfy) -> None:
    deep = repo / "shots" / "day1"
    deep.mkdir(parents=True)
    relative = os.path.relpath(comfyui, deep)
    assert relative.startswith("..")
    result = comfy("init", "--comfyui", relative, cwd=deep)
    assert result.code == 0, result.err
    assert git("config", "--local", "comfy.path", cwd=repo).stdout.strip() == str(comfyui)
    assert (repo / ".cec" / "pyproject.toml").is_file()  # at the top, not in the subfolder
    assert not (deep / ".cec").exists()


def test_comfyui_under_home_with_a_tilde(repo: Path, isolated_home: Path, comfy: Comfy) -> None:
    inside_home = Path(demo.build_comfyui(str(isolated_home / "apps" / "ComfyUI")))
    result = comfy("init", "--comfyui", "~/apps/ComfyUI", cwd=repo)
    assert result.code == 0, result.err
    assert git("config", "--local", "comfy.path", cwd=repo).stdout.strip() == str(inside_home)


def test_a_relative_comfy_path_already_set_is_kept(repo: Path, comfyui: Path,
                                                   comfy: Comfy) -> None:
    git("config", "comfy.path", "../ComfyUI", cwd=repo)  # relative to the work tree
    result = comfy("init", cwd=repo)
    assert result.code == 0, result.err
    assert "comfy.path" not in result.out
    assert git("config", "--local", "comfy.path", cwd=repo).stdout.strip() == "../ComfyUI"
    assert f"(ComfyUI: {comfyui})" in comfy("init", cwd=repo).out


def test_a_new_comfyui_path_replaces_the_old_one(env_repo: Path, tmp_path: Path) -> None:
    other = Path(demo.build_comfyui(str(tmp_path / "ComfyUI-2")))
    result = git_comfy("init", "--comfyui", str(other), cwd=env_repo)
    assert result.code == 0, result.err
    assert result.out == f"comfy.path = {other}\n"
    assert git("config", "--local", "comfy.path", cwd=env_repo).stdout.strip() == str(other)


def test_without_flag_the_default_is_comfyui_in_the_work_tree(repo: Path, comfy: Comfy) -> None:
    inside = Path(demo.build_comfyui(str(repo / "ComfyUI")))
    result = comfy("init", cwd=repo)
    assert result.code == 0, result.err
    assert git("config", "--local", "comfy.path", cwd=repo).stdout.strip() == str(inside)
    assert "added /ComfyUI/ to .gitignore" in result.out.splitlines()
    assert "/ComfyUI/" in _gitignore_lines(repo)
    # ComfyUI's files (models, workflows) are ignored, the environment is not
    untracked = git("status", "--porcelain", "--untracked-files=all", cwd=repo).stdout
    assert "ComfyUI" not in untracked
    assert "?? .cec/pyproject.toml" in untracked and "?? .gitignore" in untracked


@pytest.mark.parametrize("where", [".", "shots/day1"], ids=["top", "subfolder"])
def test_comfyui_in_the_work_tree_is_ignored_exactly_once(repo: Path, comfy: Comfy,
                                                          where: str) -> None:
    Path(demo.build_comfyui(str(repo / "ComfyUI")))
    cwd = repo / where
    cwd.mkdir(parents=True, exist_ok=True)
    assert comfy("init", cwd=cwd).code == 0
    first = (repo / ".gitignore").read_bytes()
    assert _gitignore_lines(repo).count("/ComfyUI/") == 1
    assert not (cwd / ".gitignore").exists() or cwd == repo
    again = comfy("init", cwd=cwd)
    assert again.code == 0, again.err
    assert "to .gitignore" not in again.out
    assert (repo / ".gitignore").read_bytes() == first


@pytest.mark.parametrize("existing", [b"ComfyUI/\n", b"/ComfyUI\n", b"*\n!.cec/\n!.cec/**\n",
                                      b"# mine\nComfyUI"],
                         ids=["dir-pattern", "anchored", "everything", "no-newline"])
def test_comfyui_already_ignored_is_not_added(repo: Path, comfy: Comfy, existing: bytes) -> None:
    Path(demo.build_comfyui(str(repo / "ComfyUI")))
    (repo / ".gitignore").write_bytes(existing)
    result = comfy("init", cwd=repo)
    assert result.code == 0, result.err
    assert ".gitignore" not in result.out
    assert (repo / ".gitignore").read_bytes() == existing


def test_comfyui_ignored_in_a_nested_folder(repo: Path, comfy: Comfy) -> None:
    inside = Path(demo.build_comfyui(str(repo / "apps" / "ComfyUI")))
    result = comfy("init", "--comfyui", str(inside), cwd=repo / "apps")
    assert result.code == 0, result.err
    assert "/apps/ComfyUI/" in _gitignore_lines(repo)
    assert git("check-ignore", "-q", "apps/ComfyUI/main.py", cwd=repo).returncode == 0


def test_gitignore_without_final_newline_is_kept_intact(repo: Path, comfy: Comfy) -> None:
    Path(demo.build_comfyui(str(repo / "ComfyUI")))
    original = b"# build output\n*.log\nrenders"
    (repo / ".gitignore").write_bytes(original)
    assert comfy("init", cwd=repo).code == 0
    after = (repo / ".gitignore").read_bytes()
    assert after.startswith(original + b"\n")
    added = after[len(original) + 1:].decode().splitlines()
    assert added[-1] == "/ComfyUI/" and all(line.startswith("#") for line in added[:-1])
    assert after.endswith(b"\n")
    for ignored in ("x.log", "renders", "ComfyUI/main.py"):
        assert git("check-ignore", "-q", ignored, cwd=repo).returncode == 0, ignored


def test_from_a_subdirectory_the_environment_goes_to_the_top(repo: Path, comfyui: Path) -> None:
    sub = repo / "a" / "b"
    sub.mkdir(parents=True)
    result = git_comfy("init", "--comfyui", str(comfyui), cwd=sub)
    assert result.code == 0, result.err
    assert (repo / ".cec" / "pyproject.toml").is_file()
    assert not (sub / ".cec").exists()
    assert _is_ours(_hook(repo / ".git" / "hooks"))


# --- the hook ---------------------------------------------------------------------------------


def test_fresh_hook_is_ours_and_executable(env_repo: Path) -> None:
    hooks = env_repo / ".git" / "hooks"
    assert _is_ours(_hook(hooks)) and _is_executable(_hook(hooks))
    assert not (hooks / hookscript.CHAINED).exists()


def test_foreign_hook_is_chained_runs_first_and_comes_back_on_uninstall(
        repo: Path, comfyui: Path, tmp_path: Path) -> None:
    hooks = repo / ".git" / "hooks"
    _write_hook(_hook(hooks), FOREIGN_HOOK)
    result = git_comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert result.code == 0, result.err
    chained = hooks / hookscript.CHAINED
    assert f"the one already there runs first, as {chained}" in result.out
    assert chained.read_bytes() == FOREIGN_HOOK and _is_executable(chained)
    assert _is_ours(_hook(hooks))

    # both run on a plain git commit: the foreign one, then ours (which stages the snapshot)
    assert git_comfy("track", "lighthouse", cwd=repo).code == 0
    git("add", ".cec", cwd=repo)  # git commits only when something was staged before the hooks
    log = tmp_path / "foreign.log"
    env = {**os.environ, "FOREIGN_LOG": str(log)}
    git("commit", "-q", "-m", "track", cwd=repo, env=env)
    assert log.read_text() == "foreign-hook-ran\n"
    committed = git("ls-tree", "-r", "--name-only", "HEAD", cwd=repo).stdout.splitlines()
    assert ".cec/workflows/lighthouse.json" in committed

    # a second init leaves the chain as it is
    again = git_comfy("init", cwd=repo)
    assert (again.code, again.out) == (0, f"{repo / '.cec'} is up to date (ComfyUI: {comfyui})\n")
    assert chained.read_bytes() == FOREIGN_HOOK

    removed = git_comfy("init", "--uninstall-hook", cwd=repo)
    assert removed.code == 0, removed.err
    assert removed.out.startswith("removed the git-comfy hook;")
    assert _hook(hooks).read_bytes() == FOREIGN_HOOK
    assert _is_executable(_hook(hooks))
    assert not chained.exists()


def test_uninstall_without_a_chained_hook_removes_ours(env_repo: Path, comfy: Comfy) -> None:
    hooks = env_repo / ".git" / "hooks"
    result = comfy("init", "--uninstall-hook", cwd=env_repo)
    assert (result.code, result.out) == (0, f"removed the git-comfy hook from {hooks}\n")
    assert not _hook(hooks).exists()


def test_second_foreign_hook_when_the_chain_slot_is_taken(repo: Path, comfyui: Path,
                                                          comfy: Comfy) -> None:
    hooks = repo / ".git" / "hooks"
    first = b"#!/bin/sh\necho first\n"
    second = b"#!/bin/sh\necho second\n"
    _write_hook(hooks / hookscript.CHAINED, first)
    _write_hook(_hook(hooks), second)
    before = tree_digest(repo, comfyui)
    config = _local_config(repo)

    refused = comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert_one_error(refused, str(_hook(hooks)), hookscript.CHAINED, "--force")
    assert tree_digest(repo, comfyui) == before  # not even .cec/ or comfy.path
    assert _local_config(repo) == config

    forced = comfy("init", "--comfyui", str(comfyui), "--force", cwd=repo)
    assert forced.code == 0, forced.err
    backup = hooks / hookscript.BACKUP
    assert f"the foreign one that was there is in {backup}" in forced.out
    assert backup.read_bytes() == second
    assert (hooks / hookscript.CHAINED).read_bytes() == first
    assert _is_ours(_hook(hooks))


@pytest.mark.parametrize("hooks_path", [".githooks", "ABS"], ids=["relative", "absolute"])
def test_hooks_path_inside_the_repository_is_used(repo: Path, comfyui: Path, comfy: Comfy,
                                                  hooks_path: str) -> None:
    value = str(repo / "tools" / "hooks") if hooks_path == "ABS" else hooks_path
    git("config", "core.hooksPath", value, cwd=repo)
    result = comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert result.code == 0, result.err
    hooks = repo / value
    assert _is_ours(_hook(hooks)) and _is_executable(_hook(hooks))
    assert f"installed the pre-commit hook in {hooks}" in result.out.splitlines()
    assert not _hook(repo / ".git" / "hooks").exists()


def test_shared_hooks_path_outside_needs_force(repo: Path, comfyui: Path, tmp_path: Path,
                                               comfy: Comfy) -> None:
    shared = tmp_path / "shared-hooks"
    shared.mkdir()
    (shared / "commit-msg").write_text("#!/bin/sh\nexit 0\n")
    git("config", "core.hooksPath", str(shared), cwd=repo)
    before = tree_digest(repo, comfyui, shared)
    config = _local_config(repo)

    refused = comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert_one_error(refused, "core.hooksPath", str(shared), "--force")
    assert tree_digest(repo, comfyui, shared) == before
    assert _local_config(repo) == config

    forced = comfy("init", "--comfyui", str(comfyui), "--force", cwd=repo)
    assert forced.code == 0, forced.err
    assert _is_ours(_hook(shared))

    # another repository sharing that folder, without .cec/, still commits: the hook does nothing
    other = tmp_path / "other"
    other.mkdir()
    git("init", "-q", cwd=other)
    git("config", "core.hooksPath", str(shared), cwd=other)
    (other / "f.txt").write_text("x\n")
    git("add", "f.txt", cwd=other)
    git("commit", "-q", "-m", "x", cwd=other)
    assert not (other / ".cec").exists()


def test_global_shared_hooks_path_in_an_empty_folder_creates_nothing(
        tmp_path: Path, comfyui: Path, comfy: Comfy) -> None:
    shared = tmp_path / "shared-hooks"
    git("config", "--global", "core.hooksPath", str(shared), cwd=tmp_path)
    folder = tmp_path / "new"
    folder.mkdir()
    result = comfy("init", "--comfyui", str(comfyui), cwd=folder)
    assert_one_error(result, "core.hooksPath", "--force")
    assert not shared.exists()
    assert list(folder.iterdir()) == []


def test_uninstall_with_no_hook_says_so(repo: Path, comfy: Comfy) -> None:
    before = tree_digest(repo)
    result = comfy("init", "--uninstall-hook", cwd=repo)
    hooks = repo / ".git" / "hooks"
    assert (result.code, result.err) == (0, "")
    assert result.out == f"no git-comfy hook in {hooks}; nothing removed\n"
    assert tree_digest(repo) == before


def test_uninstall_leaves_a_foreign_hook_alone(repo: Path, comfy: Comfy) -> None:
    hook = _hook(repo / ".git" / "hooks")
    _write_hook(hook, FOREIGN_HOOK)
    result = comfy("init", "--uninstall-hook", cwd=repo)
    assert result.code == 0
    assert "nothing removed" in result.out
    assert hook.read_bytes() == FOREIGN_HOOK


# --- bad input: one line, exit 1, nothing written -------------------------------------------


def test_bare_repository(tmp_path: Path, comfyui: Path, comfy: Comfy) -> None:
    bare = tmp_path / "bare.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    before = tree_digest(bare, comfyui)
    result = comfy("init", "--comfyui", str(comfyui), cwd=bare)
    assert_one_error(result, str(bare), "bare repository")
    assert tree_digest(bare, comfyui) == before


@pytest.mark.parametrize("inside", [".git", ".git/refs/heads"])
def test_inside_the_git_folder(repo: Path, comfyui: Path, comfy: Comfy, inside: str) -> None:
    before = tree_digest(repo, comfyui)
    result = comfy("init", "--comfyui", str(comfyui), cwd=repo / inside)
    assert_one_error(result, "not inside the .git folder")
    assert tree_digest(repo, comfyui) == before


def _not_comfyui(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "not-comfyui"
    if kind == "empty-folder":
        path.mkdir()
    elif kind == "other-folder":
        (path / "models").mkdir(parents=True)  # models/ alone is not enough
        (path / "readme.txt").write_text("hello\n")
    elif kind == "a-file":
        path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("kind", ["missing", "empty-folder", "other-folder", "a-file"])
def test_no_comfyui_in_an_empty_folder_creates_nothing(tmp_path: Path, comfy: Comfy,
                                                       kind: str) -> None:
    target = _not_comfyui(tmp_path, kind)
    folder = tmp_path / "studio"
    folder.mkdir()
    before = tree_digest(tmp_path)
    result = comfy("init", "--comfyui", str(target), cwd=folder)
    message = assert_one_error(result, str(target), "--comfyui")
    expected = "no ComfyUI folder at" if kind in ("missing", "a-file") else "does not look like"
    assert expected in message
    assert list(folder.iterdir()) == []  # no .git, no .cec
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("kind", ["missing", "other-folder"])
def test_no_comfyui_in_a_repository_changes_nothing(repo: Path, tmp_path: Path, comfy: Comfy,
                                                    kind: str) -> None:
    target = _not_comfyui(tmp_path, kind)
    config = _local_config(repo)
    before = tree_digest(repo)
    result = comfy("init", "--comfyui", str(target), cwd=repo)
    assert_one_error(result, str(target))
    assert tree_digest(repo) == before
    assert _local_config(repo) == config


def test_no_flag_and_no_comfyui_in_the_work_tree(repo: Path, comfy: Comfy) -> None:
    before = tree_digest(repo)
    result = comfy("init", cwd=repo)
    assert_one_error(result, f"no ComfyUI folder at {repo / 'ComfyUI'}", "--comfyui PATH")
    assert tree_digest(repo) == before


def test_a_changed_comfyui_that_is_gone_keeps_the_old_setting(env_repo: Path, tmp_path: Path,
                                                              comfy: Comfy) -> None:
    config = _local_config(env_repo)
    before = tree_digest(env_repo)
    result = comfy("init", "--comfyui", str(tmp_path / "nowhere"), cwd=env_repo)
    assert_one_error(result, "nowhere")
    assert _local_config(env_repo) == config
    assert tree_digest(env_repo) == before


def test_pyproject_with_a_toml_syntax_error(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    pyproject = env_repo / ".cec" / "pyproject.toml"
    broken = b"# mine\n[tool.comfydock.workflows]\nlighthouse = {tracked = true\n"
    pyproject.write_bytes(broken)
    (env_repo / ".cec" / ".gitignore").unlink()  # something init would otherwise add
    before = tree_digest(env_repo, comfyui)
    result = comfy("init", "--comfyui", str(comfyui), cwd=env_repo)
    message = assert_one_error(result, str(pyproject), "line 3")
    assert "TOML" in message
    assert pyproject.read_bytes() == broken
    assert tree_digest(env_repo, comfyui) == before


@pytest.mark.parametrize("missing", [".cec/.gitignore", ".cec/workflows", ".cec/pyproject.toml"])
def test_unwritable_cec_folder(env_repo: Path, comfyui: Path, comfy: Comfy,
                               missing: str) -> None:
    path = env_repo / missing
    if path.is_dir():
        path.rmdir()
    else:
        path.unlink()
    before = tree_digest(env_repo, comfyui)
    with unwritable(env_repo / ".cec"):
        result = comfy("init", cwd=env_repo)
    assert_one_error(result, str(env_repo / ".cec"))
    assert tree_digest(env_repo, comfyui) == before


def test_unwritable_cec_folder_that_is_complete_is_fine(env_repo: Path, comfyui: Path) -> None:
    before = tree_digest(env_repo, comfyui)
    with unwritable(env_repo / ".cec"):
        result = git_comfy("init", cwd=env_repo)
    assert result.code == 0, result.err
    assert "is up to date" in result.out
    assert tree_digest(env_repo, comfyui) == before


def test_the_real_program_gives_one_line_too(tmp_path: Path) -> None:
    """The in-process checks above, through ``git comfy`` as a shell runs it."""
    folder = tmp_path / "empty"
    folder.mkdir()
    result = git_comfy("init", cwd=folder)
    assert_one_error(result, f"no ComfyUI folder at {folder / 'ComfyUI'}")
    assert list(folder.iterdir()) == []


def test_workflows_are_untouched_by_init(env_repo: Path, comfyui: Path) -> None:
    assert workflow_file(comfyui, "lighthouse").is_file()
    assert not (comfyui / ".gitignore").exists()
    assert not (comfyui / ".git").exists()
