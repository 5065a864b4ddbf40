"""``git comfy init``: make (or bring up to date) an environment. Idempotent: every step checks
what is there first, so re-running it on an older environment adds only what is new."""

from __future__ import annotations

import os

from git_comfy import atomic, comfyui, environment, git, hookscript
from git_comfy.errors import FatalError


def _chosen_comfyui(given: str | None, root_guess: str) -> str:
    if given is not None:
        return os.path.abspath(os.path.expanduser(given))
    return environment.comfyui_dir(root_guess)


def _hooks_dir(root: str, git_dir: str, force: bool) -> str:
    """Where git looks for hooks: core.hooksPath when set, else the common git dir's hooks/. A
    hooks path outside this repository is shared with others; installing there needs --force."""
    hooks = git.output(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])
    if git.config_get("core.hooksPath") is None:
        return hooks
    common = git.output(["rev-parse", "--path-format=absolute", "--git-common-dir"])
    inside = any(
        os.path.commonpath([os.path.realpath(hooks), os.path.realpath(base)])
        == os.path.realpath(base)
        for base in (root, common, git_dir)
    )
    if not inside and not force:
        raise FatalError(
            f"core.hooksPath is {hooks}, outside this repository, so a hook there runs for "
            "every repository using it; rerun with --force to install it there anyway (it does "
            "nothing where there is no .cec/)"
        )
    return hooks


def _ignore_comfyui(root: str, comfyui_dir: str) -> str | None:
    """Adds ComfyUI to .gitignore when it lies inside the work tree and is not ignored yet."""
    relative = os.path.relpath(comfyui_dir, root)
    if relative == "." or relative.startswith(".."):
        return None
    relative = relative.replace(os.sep, "/")
    code, _out, _err = git.run(["check-ignore", "-q", "--", relative + "/"], check=False)
    if code == 0:
        return None
    path = os.path.join(root, ".gitignore")
    try:
        with open(path, "rb") as file:
            before = file.read()
    except FileNotFoundError:
        before = b""
    separator = b"" if not before or before.endswith(b"\n") else b"\n"
    line = f"# ComfyUI itself is not versioned; git-comfy tracks its workflows\n/{relative}/\n"
    atomic.write(path, before + separator + line.encode("utf-8"))
    return f"added /{relative}/ to .gitignore"


def _write_if_missing(path: str, text: str) -> bool:
    if os.path.exists(path):
        return False
    atomic.write(path, text.encode("utf-8"))
    return True


def run(*, comfyui_path: str | None, force: bool, uninstall_hook: bool) -> int:
    if uninstall_hook:
        root, git_dir = environment.locate_repository()
        print(hookscript.uninstall(_hooks_dir(root, git_dir, force=True)))
        return 0

    # Everything that can fail is checked before anything is written.
    probed_root = _probe_root()
    comfyui_dir = _chosen_comfyui(comfyui_path, probed_root or os.getcwd())
    comfyui.check(comfyui_dir)
    if probed_root is not None:
        pyproject = environment.at(probed_root, environment.PYPROJECT)
        if os.path.exists(pyproject):
            environment.parse_pyproject(pyproject)

    notes = []
    if probed_root is None:
        git.run(["init", "--quiet"])
    root, git_dir = environment.locate_repository()
    if probed_root is None:
        notes.append(f"made a git repository in {root}")
    hooks_dir = _hooks_dir(root, git_dir, force)

    cec = environment.at(root, environment.CEC)
    if not os.path.isdir(cec):
        notes.append(f"made the environment {cec}")
    try:
        os.makedirs(environment.at(root, environment.SNAPSHOTS), exist_ok=True)
    except OSError as error:
        raise FatalError(f"cannot create {cec}: {error.strerror}") from None
    _write_if_missing(environment.at(root, environment.PYPROJECT), environment.INITIAL_PYPROJECT)
    _write_if_missing(environment.at(root, environment.GITIGNORE), environment.INITIAL_GITIGNORE)

    recorded = git.config_get("comfy.path", path=True)
    if (comfyui_path is not None or recorded is None) and recorded != comfyui_dir:
        git.run(["config", "--local", "comfy.path", comfyui_dir])
        notes.append(f"comfy.path = {comfyui_dir}")
    ignored = _ignore_comfyui(root, comfyui_dir)
    if ignored:
        notes.append(ignored)
    installed = hookscript.install(hooks_dir, force=force)
    if installed:
        notes.append(installed)
    for note in notes or [f"{cec} is up to date (ComfyUI: {comfyui_dir})"]:
        print(note)
    return 0


def _probe_root() -> str | None:
    """The work tree around us, or None where ``init`` will make one; other problems (a bare
    repository, the .git folder) are errors."""
    try:
        return environment.locate_repository()[0]
    except FatalError as error:
        if str(error).startswith("not a git repository"):
            return None
        raise
