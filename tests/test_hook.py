"""The pre-commit hook, end to end: the real hook `git comfy init` installs, run by real
`git commit` in temporary repositories (notes/git.md §1.5-1.7, notes/security.md §6-7).

Each commit mode must put ComfyUI's current bytes into the commit *and* leave the repository
clean; a broken workflow must stop the commit with one line and change nothing; the hook must
never write into ComfyUI and must stay silent and light when nothing changed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import (
    LIGHTHOUSE,
    SAILOR,
    Comfy,
    edit_seed,
    git,
    git_comfy,
    head_bytes,
    status_lines,
    workflow_file,
)

from git_comfy import hookscript

CHECKOUT = Path(__file__).resolve().parent.parent
GENERIC_HOOK = CHECKOUT / "hooks" / "pre-commit"


# --- helpers -------------------------------------------------------------------------------

def commit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real, quiet ``git commit`` (so that anything on stdout/stderr is the hooks' own)."""
    return git("commit", "-q", *args, cwd=cwd, check=False)


def touch_readme(repo: Path, line: str = "more") -> None:
    with open(repo / "README.md", "a", encoding="utf-8") as file:
        file.write(line + "\n")


def folder_state(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every file (bytes, mtime) and folder (mtime: catches a temporary file made and removed)
    under ``root``."""
    state: dict[str, tuple[bytes | None, int]] = {}
    for folder, _dirs, files in os.walk(root):
        state[folder] = (None, os.stat(folder).st_mtime_ns)
        for name in files:
            path = os.path.join(folder, name)
            state[path] = (Path(path).read_bytes(), os.stat(path).st_mtime_ns)
    return state


def index_entries(repo: Path) -> str:
    return git("ls-files", "--stage", cwd=repo).stdout


def head(repo: Path) -> str:
    return git("rev-parse", "HEAD", cwd=repo).stdout.strip()


def assert_committed_and_clean(repo: Path, comfyui: Path, *, allowed: tuple[str, ...] = ()
                               ) -> None:
    """HEAD holds ComfyUI's exact bytes, the index holds the same blob, nothing else changed."""
    saved = workflow_file(comfyui, "lighthouse").read_bytes()
    assert head_bytes(repo, LIGHTHOUSE) == saved
    assert head_bytes(repo, LIGHTHOUSE, ":") == saved  # notes/git.md §1.7 pitfall 1
    assert (repo / LIGHTHOUSE).read_bytes() == saved
    leftovers = [line for line in status_lines(repo) if line[3:] not in allowed]
    assert leftovers == []


@pytest.fixture
def edited(tracked_repo: Path, comfyui: Path) -> Path:
    """``tracked_repo`` after a real edit in ComfyUI that the last commit does not hold."""
    edit_seed(comfyui, "lighthouse", 987654321)
    assert head_bytes(tracked_repo, LIGHTHOUSE) != workflow_file(comfyui, "lighthouse").read_bytes()
    return tracked_repo


@pytest.fixture
def two_tracked(tracked_repo: Path, comfy: Comfy) -> Path:
    """``tracked_repo`` also tracking ``portraits/sailor``, both committed."""
    assert comfy("track", "portraits/sailor", cwd=tracked_repo).code == 0
    git("add", ".cec/pyproject.toml", cwd=tracked_repo)
    assert commit(tracked_repo, "-m", "track sailor").returncode == 0
    assert status_lines(tracked_repo) == []
    return tracked_repo


# --- 1. every way of committing ------------------------------------------------------------

def _add_then_commit(repo: Path) -> subprocess.CompletedProcess[str]:
    (repo / "other.txt").write_text("another file\n")
    git("add", "other.txt", cwd=repo)
    return commit(repo, "-m", "add other")


def _commit_all(repo: Path) -> subprocess.CompletedProcess[str]:
    touch_readme(repo)
    return commit(repo, "-a", "-m", "commit -a")


def _partial(repo: Path) -> subprocess.CompletedProcess[str]:
    touch_readme(repo)
    return commit(repo, "-m", "partial", "README.md")


def _amend(repo: Path) -> subprocess.CompletedProcess[str]:
    return commit(repo, "--amend", "-m", "amended")


def _from_subfolder(repo: Path) -> subprocess.CompletedProcess[str]:
    sub = repo / "notes" / "deeper"
    sub.mkdir(parents=True)
    (sub / "idea.txt").write_text("idea\n")
    git("add", "idea.txt", cwd=sub)
    return commit(sub, "-m", "from a subfolder")


@pytest.mark.parametrize(
    "make_commit",
    [_add_then_commit, _commit_all, _partial, _amend, _from_subfolder],
    ids=["add-then-commit", "commit-a", "partial-paths", "amend", "subfolder"],
)
def test_commit_modes_take_the_new_workflow_and_leave_a_clean_tree(
    edited: Path, comfyui: Path,
    make_commit: Callable[[Path], subprocess.CompletedProcess[str]],
) -> None:
    before_head = head(edited)
    parent = git("rev-parse", "HEAD^", cwd=edited).stdout.strip()
    comfyui_before = folder_state(comfyui)

    done = make_commit(edited)

    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert head(edited) != before_head
    assert_committed_and_clean(edited, comfyui)
    assert folder_state(comfyui) == comfyui_before  # never a write into ComfyUI
    if make_commit is _amend:  # replaced the last commit, kept its parent
        assert git("rev-parse", "HEAD^", cwd=edited).stdout.strip() == parent
    # a second commit of something else changes nothing of ours: the hook is idempotent
    (edited / "later.txt").write_text("later\n")
    git("add", "later.txt", cwd=edited)
    assert commit(edited, "-m", "later").returncode == 0
    assert git("diff", "--name-only", "HEAD^", "HEAD", cwd=edited).stdout == "later.txt\n"


def test_a_partial_commit_keeps_other_staged_changes_staged(edited: Path, comfyui: Path) -> None:
    (edited / "staged.txt").write_text("staged, not in this commit\n")
    git("add", "staged.txt", cwd=edited)
    touch_readme(edited)

    assert commit(edited, "-m", "only README", "README.md").returncode == 0

    assert git("show", "--name-only", "--format=", "HEAD", cwd=edited).stdout.split() == [
        LIGHTHOUSE, "README.md"
    ]
    assert_committed_and_clean(edited, comfyui, allowed=("staged.txt",))
    assert status_lines(edited) == ["A  staged.txt"]


@pytest.mark.parametrize("mode", ["commit-a", "partial-paths"])
def test_linked_worktree(edited: Path, comfyui: Path, tmp_path: Path, mode: str) -> None:
    worktree = tmp_path / "second-desk"
    git("worktree", "add", "-q", "-b", "desk", str(worktree), cwd=edited)
    assert (worktree / ".cec" / "pyproject.toml").is_file()
    assert git("config", "comfy.path", cwd=worktree).stdout.strip() == str(comfyui)
    main_head = head(edited)

    touch_readme(worktree)
    args = ["-a", "-m", "desk"] if mode == "commit-a" else ["-m", "desk", "README.md"]
    done = commit(worktree, *args)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert_committed_and_clean(worktree, comfyui)
    # the main work tree, its branch and its index are untouched
    assert head(edited) == main_head
    assert status_lines(edited) == []
    assert head_bytes(edited, LIGHTHOUSE, ":") == head_bytes(edited, LIGHTHOUSE)


def test_hooks_path_inside_the_repository(repo: Path, comfyui: Path, comfy: Comfy) -> None:
    git("config", "core.hooksPath", ".githooks", cwd=repo)
    assert git_comfy("init", "--comfyui", str(comfyui), cwd=repo).code == 0
    installed = repo / ".githooks" / "pre-commit"
    assert hookscript.MARKER in installed.read_text()
    assert os.access(installed, os.X_OK)
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert comfy("track", "lighthouse", cwd=repo).code == 0
    git("add", ".cec", cwd=repo)
    assert commit(repo, "-m", "track").returncode == 0
    assert head_bytes(repo, LIGHTHOUSE) == workflow_file(comfyui, "lighthouse").read_bytes()

    edit_seed(comfyui, "lighthouse", 5)
    touch_readme(repo)
    done = commit(repo, "-a", "-m", "edit")

    assert done.returncode == 0, done.stderr
    assert_committed_and_clean(repo, comfyui, allowed=(".githooks/pre-commit",))


def test_comfyui_inside_the_work_tree(comfyui: Path, comfy: Comfy) -> None:
    """The default layout: ComfyUI/ beside .cec/ in the same work tree (init ignores it)."""
    top = comfyui.parent
    result = git_comfy("init", cwd=top)  # no --comfyui: ComfyUI/ here, and a new repository
    assert result.code == 0, result.err
    assert comfy("track", "lighthouse", cwd=top).code == 0
    git("add", ".gitignore", ".cec", cwd=top)
    assert commit(top, "-m", "track").returncode == 0
    assert_committed_and_clean(top, comfyui)

    edit_seed(comfyui, "lighthouse", 8)
    (top / "notes.txt").write_text("notes\n")
    git("add", "notes.txt", cwd=top)
    done = commit(top, "-m", "edit")

    assert (done.returncode, done.stderr) == (0, "")
    assert_committed_and_clean(top, comfyui)
    assert not any(path.startswith("ComfyUI/") for path in
                   git("ls-files", cwd=top).stdout.splitlines())


def test_sha256_repository(tmp_path: Path, comfyui: Path, comfy: Comfy) -> None:
    repo = tmp_path / "sha256"
    repo.mkdir()
    git("init", "-q", "--object-format=sha256", cwd=repo)
    (repo / "README.md").write_text("studio\n")
    git("add", "README.md", cwd=repo)
    git("commit", "-q", "-m", "start", cwd=repo)
    assert git_comfy("init", "--comfyui", str(comfyui), cwd=repo).code == 0
    assert comfy("track", "lighthouse", cwd=repo).code == 0
    git("add", ".cec", cwd=repo)
    assert commit(repo, "-m", "track").returncode == 0
    assert len(head(repo)) == 64
    assert_committed_and_clean(repo, comfyui)

    edit_seed(comfyui, "lighthouse", 64)
    touch_readme(repo)
    done = commit(repo, "-a", "-m", "edit")

    assert done.returncode == 0, done.stderr
    assert_committed_and_clean(repo, comfyui)
    # with nothing changed the hook recognises the staged blob by its SHA-256 id: no rewrite,
    # and not even a parse (no json import)
    assert_hook_writes_nothing(repo)
    code, modules, err = _run_installed_hook_module(repo)
    assert (code, err) == (0, "")
    assert sorted(modules & NOT_WHEN_NOTHING_CHANGED) == []


def assert_hook_writes_nothing(repo: Path) -> None:
    """Runs the installed hook as git would on an unchanged environment: it succeeds, prints
    nothing, and neither rewrites the index nor a snapshot."""
    watched = [repo / ".git" / "index", repo / LIGHTHOUSE]
    before = [(path.read_bytes(), path.stat().st_mtime_ns) for path in watched]
    done = subprocess.run([str(repo / ".git" / "hooks" / "pre-commit")], cwd=repo,
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert [(path.read_bytes(), path.stat().st_mtime_ns) for path in watched] == before


def test_pre_commit_framework(tracked_repo: Path, comfyui: Path) -> None:
    """With the pre-commit framework instead of our own hook script (notes/git.md §1.5)."""
    framework = shutil.which("pre-commit")
    assert framework, "the pre-commit framework is part of the test extra: pip install -e '.[test]'"
    assert git_comfy("init", "--uninstall-hook", cwd=tracked_repo).code == 0
    assert not (tracked_repo / ".git" / "hooks" / "pre-commit").exists()
    (tracked_repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: git-comfy\n"
        "        name: git-comfy snapshot\n"
        "        entry: git-comfy hook pre-commit\n"
        "        language: system\n"
        "        always_run: true\n"
        "        pass_filenames: false\n"
    )
    installing = subprocess.run([framework, "install"], cwd=tracked_repo,
                                capture_output=True, text=True)
    assert installing.returncode == 0, installing.stdout + installing.stderr
    git("add", ".pre-commit-config.yaml", cwd=tracked_repo)
    assert commit(tracked_repo, "-m", "use the framework").returncode == 0

    edit_seed(comfyui, "lighthouse", 777)
    touch_readme(tracked_repo)
    git("add", "README.md", cwd=tracked_repo)
    done = git("commit", "-m", "through the framework", cwd=tracked_repo, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    report = [line for line in output.splitlines() if line.startswith("git-comfy snapshot")]
    assert len(report) == 1 and report[0].endswith("Passed"), output
    assert_committed_and_clean(tracked_repo, comfyui)


def test_generic_hook_from_the_checkout_via_hooks_path(edited: Path, comfyui: Path) -> None:
    """``hooks/pre-commit`` (no interpreter baked in: it runs ``git-comfy hook pre-commit`` from
    PATH) used straight from this checkout through core.hooksPath, on a partial commit."""
    touch_readme(edited)
    done = git("-c", f"core.hooksPath={GENERIC_HOOK.parent}", "commit", "-q", "-m", "generic",
               "README.md", cwd=edited, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert_committed_and_clean(edited, comfyui)


def test_generic_hook_file_is_current() -> None:
    expected = hookscript.script(None)
    regenerate = (
        "regenerate it: python -c 'import sys; from git_comfy import hookscript; "
        "sys.stdout.write(hookscript.script(None))' > hooks/pre-commit && chmod +x hooks/pre-commit"
    )
    assert GENERIC_HOOK.is_file(), f"hooks/pre-commit is missing; {regenerate}"
    assert GENERIC_HOOK.read_text(encoding="utf-8") == expected, (
        f"hooks/pre-commit is stale; {regenerate}"
    )
    assert os.access(GENERIC_HOOK, os.X_OK), "hooks/pre-commit must be executable (chmod +x)"
    assert "$python" not in expected  # the generic one bakes in no interpreter


def test_pre_commit_hooks_manifest_is_valid() -> None:
    """``.pre-commit-hooks.yaml``, checked by the framework's own schema and loader."""
    manifest = CHECKOUT / ".pre-commit-hooks.yaml"
    framework = shutil.which("pre-commit")
    assert framework, "the pre-commit framework is part of the test extra: pip install -e '.[test]'"
    checked = subprocess.run([framework, "validate-manifest", str(manifest)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    loaded = subprocess.run(  # the framework is installed beside pytest (the test extra)
        [sys.executable, "-c",
         "import json, sys; from pre_commit.clientlib import load_manifest; "
         "print(json.dumps(load_manifest(sys.argv[1])))", str(manifest)],
        capture_output=True, text=True,
    )
    assert loaded.returncode == 0, loaded.stderr
    [entry] = json.loads(loaded.stdout)
    assert {key: entry[key] for key in (
        "id", "entry", "language", "always_run", "pass_filenames", "stages"
    )} == {
        "id": "git-comfy", "entry": "git-comfy hook pre-commit", "language": "python",
        "always_run": True, "pass_filenames": False, "stages": ["pre-commit"],
    }
    assert entry["name"]


# --- 3. a half-saved or invalid workflow stops the commit ----------------------------------

def _valid(comfyui: Path) -> bytes:
    return workflow_file(comfyui, "lighthouse").read_bytes()


BROKEN: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda valid: valid[: len(valid) // 2],
    "truncated-in-a-string": lambda valid: valid[: valid.index(b'"type"') + 3],
    "invalid-utf8": lambda valid: b'{"nodes": [], "extra": {"note": "caf\xe9"}}',
    "nan": lambda valid: b'{"nodes": [], "extra": {"ds": {"scale": NaN}}}',
    "deep-nesting": lambda valid: b'{"nodes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "duplicate-keys": lambda valid: b'{"nodes": [], "nodes": []}',
    "top-level-array": lambda valid: b"[" + valid + b"]",
    "21-digit-integer": lambda valid: b'{"nodes": [], "seed": 123456789012345678901}',
    "utf-16": lambda valid: valid.decode("utf-8").encode("utf-16"),
    "empty": lambda valid: b"",
}


@pytest.mark.parametrize("breakage", list(BROKEN), ids=list(BROKEN))
def test_invalid_workflow_aborts_the_commit(
    tracked_repo: Path, comfyui: Path, breakage: str,
) -> None:
    bad = BROKEN[breakage](_valid(comfyui))
    workflow_file(comfyui, "lighthouse").write_bytes(bad)
    touch_readme(tracked_repo)
    git("add", "README.md", cwd=tracked_repo)
    before = (head(tracked_repo), index_entries(tracked_repo), status_lines(tracked_repo))
    comfyui_before = folder_state(comfyui)

    done = commit(tracked_repo, "-m", "should not happen")

    assert done.returncode != 0
    assert done.stdout == ""
    [line] = done.stderr.splitlines()  # exactly one line
    assert line.startswith("git comfy: error: workflow lighthouse "), line
    assert "Traceback" not in done.stderr
    assert (head(tracked_repo), index_entries(tracked_repo), status_lines(tracked_repo)) == before
    assert folder_state(comfyui) == comfyui_before


@pytest.mark.parametrize("mode", ["commit-a", "partial-paths"])
def test_invalid_workflow_aborts_other_commit_modes_too(
    tracked_repo: Path, comfyui: Path, mode: str,
) -> None:
    workflow_file(comfyui, "lighthouse").write_bytes(b'{"nodes": [{"id": 1, "ty')
    touch_readme(tracked_repo)
    before = (head(tracked_repo), index_entries(tracked_repo))
    args = ["-a", "-m", "x"] if mode == "commit-a" else ["-m", "x", "README.md"]

    done = commit(tracked_repo, *args)

    assert done.returncode != 0
    assert len(done.stderr.splitlines()) == 1 and "workflow lighthouse" in done.stderr
    assert (head(tracked_repo), index_entries(tracked_repo)) == before
    assert not (tracked_repo / ".git" / "index.lock").exists()


def test_one_invalid_workflow_leaves_the_valid_ones_unwritten(
    two_tracked: Path, comfyui: Path,
) -> None:
    """All or nothing: a valid edit of lighthouse is not copied into .cec/ when sailor, checked
    after it, stops the commit."""
    edit_seed(comfyui, "lighthouse", 31)
    workflow_file(comfyui, "portraits/sailor").write_bytes(b'{"nodes": [')
    copy_before = (two_tracked / LIGHTHOUSE).read_bytes()
    touch_readme(two_tracked)
    before = (head(two_tracked), index_entries(two_tracked))

    done = commit(two_tracked, "-a", "-m", "x")

    assert done.returncode != 0
    [line] = done.stderr.splitlines()
    assert "workflow portraits/sailor " in line, line
    assert (head(two_tracked), index_entries(two_tracked)) == before
    assert (two_tracked / LIGHTHOUSE).read_bytes() == copy_before
    assert status_lines(two_tracked) == [" M README.md"]


def test_utf8_bom_is_accepted_and_kept(tracked_repo: Path, comfyui: Path) -> None:
    path = workflow_file(comfyui, "lighthouse")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    touch_readme(tracked_repo)

    done = commit(tracked_repo, "-a", "-m", "bom")

    assert done.returncode == 0, done.stderr
    assert head_bytes(tracked_repo, LIGHTHOUSE).startswith(b"\xef\xbb\xbf")
    assert_committed_and_clean(tracked_repo, comfyui)


# --- 4. missing workflows, missing ComfyUI -------------------------------------------------

def test_workflow_missing_in_comfyui_warns_and_keeps_its_copy(
    two_tracked: Path, comfyui: Path,
) -> None:
    sailor_before = head_bytes(two_tracked, SAILOR)
    workflow_file(comfyui, "portraits/sailor").unlink()
    edit_seed(comfyui, "lighthouse", 4)
    touch_readme(two_tracked)

    done = commit(two_tracked, "-a", "-m", "sailor is gone")

    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("git comfy: warning: "), line
    assert "portraits/sailor" in line and "lighthouse" not in line
    assert head_bytes(two_tracked, SAILOR) == sailor_before
    assert (two_tracked / SAILOR).read_bytes() == sailor_before
    assert_committed_and_clean(two_tracked, comfyui)  # the other one still went in


def test_comfyui_folder_gone_warns_once_and_commits(two_tracked: Path, comfyui: Path) -> None:
    snapshots = {path: head_bytes(two_tracked, path) for path in (LIGHTHOUSE, SAILOR)}
    comfyui.rename(comfyui.parent / "ComfyUI-moved")
    touch_readme(two_tracked)

    done = commit(two_tracked, "-a", "-m", "ComfyUI moved")

    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()  # one line, not one per workflow
    assert line.startswith("git comfy: warning: ") and str(comfyui) in line, line
    assert git("show", "--name-only", "--format=", "HEAD", cwd=two_tracked).stdout == "README.md\n"
    assert {path: head_bytes(two_tracked, path) for path in snapshots} == snapshots
    assert status_lines(two_tracked) == []


# --- 5. ComfyDock's old metadata; ComfyUI is read-only -------------------------------------

def test_legacy_comfydock_metadata_is_stripped_from_the_copy_only(
    tracked_repo: Path, comfyui: Path,
) -> None:
    path = workflow_file(comfyui, "lighthouse")
    document = json.loads(path.read_text(encoding="utf-8"))
    document.setdefault("extra", {})["_comfydock_metadata"] = {"resolved": {"3": "ckpt"}}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    comfyui_before = folder_state(comfyui)
    touch_readme(tracked_repo)

    done = commit(tracked_repo, "-a", "-m", "migrate")

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    committed = head_bytes(tracked_repo, LIGHTHOUSE)
    assert b"_comfydock_metadata" not in committed
    del document["extra"]["_comfydock_metadata"]
    assert json.loads(committed) == document
    # rewritten in the file's own layout (two-space indent), nothing else changed
    assert committed == json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    assert folder_state(comfyui) == comfyui_before  # ComfyUI's file keeps its metadata
    assert b"_comfydock_metadata" in path.read_bytes()
    assert (tracked_repo / LIGHTHOUSE).read_bytes() == committed
    assert status_lines(tracked_repo) == []
    # the next commit neither re-stages nor complains
    touch_readme(tracked_repo, "again")
    again = commit(tracked_repo, "-a", "-m", "again")
    assert (again.returncode, again.stderr) == (0, "")
    assert git("show", "--name-only", "--format=", "HEAD", cwd=tracked_repo).stdout == "README.md\n"


# --- 7. a hook that was there before -------------------------------------------------------

def _foreign_hook(repo: Path, body: str) -> Path:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    path = hooks / "pre-commit"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_foreign_hook_still_runs_first_on_every_commit(
    repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path,
) -> None:
    log = tmp_path / "foreign.log"
    # records which lighthouse blob the index held when it ran: ours had not staged yet
    _foreign_hook(repo, f"printf 'ran %s\\n' \"$(git ls-files -s {LIGHTHOUSE} | cut -d' ' -f2)\""
                        f" >> {shlex.quote(str(log))}\n")
    init = git_comfy("init", "--comfyui", str(comfyui), cwd=repo)
    assert init.code == 0, init.err
    assert (repo / ".git" / "hooks" / hookscript.CHAINED).is_file()
    assert comfy("track", "lighthouse", cwd=repo).code == 0
    git("add", ".cec", cwd=repo)
    assert commit(repo, "-m", "track").returncode == 0
    first_blob = git("rev-parse", f"HEAD:{LIGHTHOUSE}", cwd=repo).stdout.strip()

    edit_seed(comfyui, "lighthouse", 11)
    touch_readme(repo)
    assert commit(repo, "-a", "-m", "edit").returncode == 0
    second_blob = git("rev-parse", f"HEAD:{LIGHTHOUSE}", cwd=repo).stdout.strip()
    edit_seed(comfyui, "lighthouse", 12)
    assert comfy("commit", "-q", "-m", "through git comfy commit", cwd=repo).code == 0
    third_blob = git("rev-parse", f"HEAD:{LIGHTHOUSE}", cwd=repo).stdout.strip()

    assert len({first_blob, second_blob, third_blob}) == 3
    assert log.read_text().splitlines() == [
        "ran ",  # the first commit: nothing of lighthouse staged yet
        f"ran {first_blob}",  # the previous blob: our hook had not staged the new one yet
        f"ran {third_blob}",  # git comfy commit stages before git (and so before any hook)
    ]
    assert_committed_and_clean(repo, comfyui)


def test_failing_foreign_hook_still_blocks_the_commit(
    repo: Path, comfyui: Path, comfy: Comfy,
) -> None:
    _foreign_hook(repo, "echo 'foreign hook says no' >&2\nexit 1\n")
    assert git_comfy("init", "--comfyui", str(comfyui), cwd=repo).code == 0
    assert comfy("track", "lighthouse", cwd=repo).code == 0
    git("add", ".cec", cwd=repo)
    before = (head(repo), index_entries(repo))

    done = commit(repo, "-m", "blocked")

    assert done.returncode == 1
    assert done.stderr == "foreign hook says no\n"  # and nothing of ours: we never ran
    assert (head(repo), index_entries(repo)) == before
    assert not (repo / LIGHTHOUSE).exists()


# --- 8. silence ----------------------------------------------------------------------------

def test_hook_is_silent_when_nothing_changed(tracked_repo: Path, comfyui: Path) -> None:
    touch_readme(tracked_repo)
    git("add", "README.md", cwd=tracked_repo)

    done = commit(tracked_repo, "-m", "nothing of ComfyUI changed")

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert git("show", "--name-only", "--format=", "HEAD", cwd=tracked_repo).stdout == "README.md\n"
    assert_hook_writes_nothing(tracked_repo)


# --- 9. the start-up guard -----------------------------------------------------------------

NEVER_ON_THE_HOOK_PATH = {"tomlkit", "jinja2", "dulwich", "argcomplete"}
NOT_WHEN_NOTHING_CHANGED = NEVER_ON_THE_HOOK_PATH | {
    "dulwich.porcelain", "argparse", "subprocess", "json", "re", "typing", "tempfile",
}
# the hook leaves through os._exit (no teardown, so no atexit): report just before it
_PRINT_MODULES_AT_EXIT = (
    "import os,sys;_exit=os._exit;"
    "os._exit=lambda code:(print('MODULES',*sorted(sys.modules),flush=True),_exit(code));"
)


def _run_installed_hook_module(repo: Path) -> tuple[int, set[str], str]:
    """Runs the hook exactly as the installed script does (its interpreter, ``-I -S -c`` and its
    bootstrap), with a prefix that prints ``sorted(sys.modules)`` at exit."""
    lines = (repo / ".git" / "hooks" / "pre-commit").read_text().splitlines()
    [python] = [shlex.split(line.removeprefix("python="))[0]
                for line in lines if line.startswith("python=")]
    [runner] = [shlex.split(line.strip()) for line in lines
                if line.strip().startswith('exec "$python"')]
    assert runner[:5] == ["exec", "$python", "-I", "-S", "-c"]
    bootstrap = runner[5]
    assert bootstrap.endswith("from git_comfy.hook import main_and_exit;main_and_exit()")
    env = {key: value for key, value in os.environ.items() if key != "GIT_INDEX_FILE"}
    done = subprocess.run([python, "-I", "-S", "-c", _PRINT_MODULES_AT_EXIT + bootstrap],
                          cwd=repo, env=env, capture_output=True, text=True)
    [report] = [line for line in done.stdout.splitlines() if line.startswith("MODULES ")]
    return done.returncode, set(report.split()[1:]), done.stderr


def test_hook_start_up_imports(tracked_repo: Path, comfyui: Path) -> None:
    code, modules, err = _run_installed_hook_module(tracked_repo)
    assert (code, err) == (0, "")
    assert "git_comfy.hook" in modules and "git_comfy.snapshot" in modules
    assert sorted(modules & NOT_WHEN_NOTHING_CHANGED) == []
    assert not any(name.startswith(("dulwich.", "tomlkit.", "jinja2.")) for name in modules)

    edit_seed(comfyui, "lighthouse", 99)
    code, modules, err = _run_installed_hook_module(tracked_repo)
    assert (code, err) == (0, "")
    assert "json" in modules  # it did parse the changed workflow...
    assert git("diff", "--cached", "--name-only", cwd=tracked_repo).stdout == LIGHTHOUSE + "\n"
    assert sorted(modules & NEVER_ON_THE_HOOK_PATH) == []  # ...without the heavy libraries
    assert not any(name.startswith(("dulwich.", "tomlkit.", "jinja2.")) for name in modules)


# --- 10. hostile tracked names -------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../escape", "portraits/../../../escape", "{tmp}/escape"])
def test_hostile_tracked_name_is_refused(
    env_repo: Path, comfyui: Path, tmp_path: Path, name: str,
) -> None:
    name = name.replace("{tmp}", str(tmp_path))
    # a file where the hostile name would lead in ComfyUI, so a careless hook would copy it
    source = Path(os.path.normpath(comfyui / "user" / "default" / "workflows" / f"{name}.json"))
    if source.is_relative_to(tmp_path):
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text('{"nodes": []}')
    (env_repo / ".cec" / "pyproject.toml").write_text(
        f'[tool.comfydock.workflows]\n"{name}" = {{tracked = true}}\n'
    )
    git("add", ".cec", cwd=env_repo)
    git_dir = env_repo / ".git"
    before = {path: state for path, state in folder_state(tmp_path).items()
              if not Path(path).is_relative_to(git_dir)}
    head_before = head(env_repo)

    done = commit(env_repo, "-m", "hostile")

    assert done.returncode != 0
    [line] = done.stderr.splitlines()
    assert line.startswith("git comfy: error: ") and name in line, line
    after = {path: state for path, state in folder_state(tmp_path).items()
             if not Path(path).is_relative_to(git_dir)}
    assert after == before  # nothing written anywhere, .cec/workflows included
    assert head(env_repo) == head_before
    assert not (env_repo / "escape.json").exists()
