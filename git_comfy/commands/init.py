"""``git comfy init``: make (or bring up to date) an environment. Idempotent: every step checks
what is there first, so re-running it on an older environment adds only what is new."""

from __future__ import annotations

import os

from git_comfy import atomic, comfyui, drivers, environment, git, hookscript
from git_comfy.errors import FatalError


def _chosen_comfyui(given: str | None, root_guess: str) -> str:
    if given is not None:
        return os.path.abspath(os.path.expanduser(given))
    return environment.comfyui_dir(root_guess)


def _hooks_dir(root: str, *, exists: bool, force: bool) -> str:
    """Where git looks for hooks: core.hooksPath when set (relative values are relative to the
    work tree), else the common git dir's hooks/. Works before the repository exists, so that
    init can refuse before it writes. A hooks path outside the work tree is shared with other
    repositories; installing there needs --force."""
    configured = git.config_get("core.hooksPath", path=True)
    if configured is None:
        if not exists:
            return os.path.join(root, ".git", "hooks")
        return git.output(["-C", root, "rev-parse", "--path-format=absolute", "--git-path",
                           "hooks"])
    hooks = os.path.normpath(os.path.join(root, configured))
    top = os.path.realpath(root)
    if os.path.commonpath([os.path.realpath(hooks), top]) != top and not force:
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
    # -C root: the path is relative to the top, also when init runs in a subfolder
    code, _out, _err = git.run(
        ["-C", root, "check-ignore", "-q", "--", relative + "/"], check=False
    )
    if code == 0:
        return None
    atomic.append(os.path.join(root, ".gitignore"),
                  f"# ComfyUI itself is not versioned; git-comfy tracks its workflows\n"
                  f"/{relative}/\n")
    return f"added /{relative}/ to .gitignore"


def _write_if_missing(path: str, text: str) -> bool:
    if os.path.exists(path):
        return False
    atomic.write(path, text.encode("utf-8"))
    return True


def run(*, comfyui_path: str | None, force: bool, uninstall_hook: bool) -> int:
    if uninstall_hook:
        root = environment.locate_repository()[0]
        print(hookscript.uninstall(_hooks_dir(root, exists=True, force=True)))
        return 0

    # Everything that can fail is checked before anything is written.
    probed_root = _probe_root()
    future_root = probed_root or os.getcwd()
    comfyui_dir = _chosen_comfyui(comfyui_path, future_root)
    comfyui.check(comfyui_dir)
    pyproject = environment.at(future_root, environment.PYPROJECT)
    if os.path.exists(pyproject):
        environment.parse_pyproject(pyproject)
    hooks_dir = _hooks_dir(future_root, exists=probed_root is not None, force=force)
    hookscript.check_installable(hooks_dir, force=force)

    notes = []
    if probed_root is None:
        git.run(["init", "--quiet"])
    root = environment.locate_repository()[0]
    if probed_root is None:
        notes.append(f"made a git repository in {root}")

    cec = environment.at(root, environment.CEC)
    made_cec = not os.path.isdir(cec)
    if made_cec:
        notes.append(f"made the environment {cec}")
    try:
        os.makedirs(environment.at(root, environment.SNAPSHOTS), exist_ok=True)
    except OSError as error:
        raise FatalError(f"cannot create {cec}: {error.strerror}") from None
    for relative, text in ((environment.PYPROJECT, environment.INITIAL_PYPROJECT),
                           (environment.GITIGNORE, environment.INITIAL_GITIGNORE)):
        if _write_if_missing(environment.at(root, relative), text) and not made_cec:
            notes.append(f"made {relative}")

    recorded = git.config_get("comfy.path", path=True)
    if (comfyui_path is not None or recorded is None) and recorded != comfyui_dir:
        git.run(["config", "--local", "comfy.path", comfyui_dir])
        notes.append(f"comfy.path = {comfyui_dir}")
    ignored = _ignore_comfyui(root, comfyui_dir)
    if ignored:
        notes.append(ignored)
    notes += drivers.register(root)
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
