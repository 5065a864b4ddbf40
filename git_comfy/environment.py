"""The environment: a git work tree holding ``.cec/``, and the ComfyUI it tracks.

Reading is cheap enough for the pre-commit hook (``os`` at import; ``tomllib`` only when the
cached list of tracked names is stale). Editing the pyproject goes through tomlkit, imported only
by the commands that write, so that the user's comments and layout survive.
"""

from __future__ import annotations

import os

from git_comfy import atomic, git
from git_comfy.core import project
from git_comfy.errors import FatalError

CEC = ".cec"
PYPROJECT = ".cec/pyproject.toml"
GITIGNORE = ".cec/.gitignore"
ATTRIBUTES = ".cec/.gitattributes"  # selects the comfy diff and merge drivers (drivers.py)
SNAPSHOTS = ".cec/workflows"
ENVIRONMENT_FILES = (PYPROJECT, GITIGNORE, ATTRIBUTES)
DEFAULT_COMFYUI = "ComfyUI"
_CACHE = "git-comfy-tracked"  # in the per-worktree git dir: derived data, never committed

TYPE_CHECKING = False  # the hook path must not pay for importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any


class Environment:
    """Where things are. ``root`` is the work tree's top, ``git_dir`` its (per-worktree) git dir."""

    def __init__(self, root: str, git_dir: str, comfyui: str) -> None:
        self.root = root
        self.git_dir = git_dir
        self.comfyui = comfyui

    def path(self, relative: str) -> str:
        return at(self.root, relative)

    def tracked(self) -> list[str]:
        return read_tracked(self.root, self.git_dir)


def at(root: str, relative: str) -> str:
    """A path given with ``/`` relative to the work tree, as an OS path."""
    return os.path.join(root, *relative.split("/"))


def snapshot_relpath(name: str) -> str:
    """The committed copy of workflow ``name``, relative to the work tree."""
    return f"{SNAPSHOTS}/{name}{project.SUFFIX}"


def locate_repository() -> tuple[str, str]:
    """(work-tree top, absolute git dir) of the repository around the current directory."""
    code, out, _err = git.run(
        ["rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-toplevel"],
        check=False,
    )
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    if code != 0 and not lines:
        raise FatalError("not a git repository; run git comfy init here to make one")
    if lines[0] == "true":
        raise FatalError(
            f"{lines[1]} is a bare repository; git comfy needs a work tree (clone it first)"
        )
    if len(lines) < 3:
        raise FatalError("run git comfy inside the work tree, not inside the .git folder")
    return lines[2], lines[1]


def comfyui_dir(root: str) -> str:
    """``comfy.path`` as git resolves it (relative values are relative to the work tree), or
    ``ComfyUI/`` beside ``.cec/``."""
    value = git.config_get("comfy.path", path=True)
    return os.path.normpath(os.path.join(root, value or DEFAULT_COMFYUI))


def discover() -> Environment:
    """The environment around the current directory, or a clear error when there is none."""
    root, git_dir = locate_repository()
    if not os.path.isfile(at(root, PYPROJECT)):
        raise FatalError(f"{root} is not a git-comfy environment; run git comfy init first")
    return Environment(root, git_dir, comfyui_dir(root))


def parse_pyproject(path: str) -> dict[str, Any]:
    """The pyproject as plain data (tomllib: read-only, stdlib), or one clear line on error."""
    import tomllib

    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise FatalError(f"{path}: {error}; fix the TOML and retry") from None
    except (RecursionError, ValueError, UnicodeDecodeError) as error:
        raise FatalError(f"{path}: not readable TOML ({error}); fix it and retry") from None
    except OSError as error:
        raise FatalError(f"cannot read {path}: {error.strerror}") from None


def read_tracked(root: str, git_dir: str) -> list[str]:
    """The tracked workflow names. Parsing TOML costs the hook ~11 ms, so the names are cached
    in the git dir, keyed on the pyproject's stat; any edit (ours, the user's, a checkout)
    changes the key."""
    pyproject = at(root, PYPROJECT)
    try:
        stat = os.stat(pyproject)
    except FileNotFoundError:
        raise FatalError(f"{root} is not a git-comfy environment; run git comfy init") from None
    key = f"{stat.st_mtime_ns} {stat.st_ctime_ns} {stat.st_size} {stat.st_ino}"
    cache = os.path.join(git_dir, _CACHE)
    try:
        with open(cache, encoding="utf-8") as file:
            cached = file.read().split("\n")
        if cached[0] == key:
            return [name for name in cached[1:] if name]
    except (OSError, UnicodeDecodeError):
        pass
    names = project.tracked_names(parse_pyproject(pyproject))
    try:
        atomic.write(cache, "\n".join([key, *names, ""]).encode("utf-8"), durable=False)
    except FatalError:
        pass  # a read-only git dir only costs speed
    return names


INITIAL_PYPROJECT = """\
# git-comfy environment: the ComfyUI workflows this repository tracks.
# `git comfy track`, `untrack` and `export` edit this file with tomlkit,
# so your own comments and layout stay as you write them.

[tool.comfydock.workflows]
"""

INITIAL_GITIGNORE = """\
# git-comfy's temporary files while it replaces one atomically
.*.tmp
"""


def edit_pyproject(env: Environment, change: Callable[[Any], None]) -> bool:
    """Applies ``change`` to the pyproject parsed with tomlkit and writes it back atomically when
    it changed; True when it did. A file edited by someone else meanwhile is not overwritten."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    path = env.path(PYPROJECT)
    with open(path, "rb") as file:
        before = file.read()
    try:
        document = tomlkit.parse(before.decode("utf-8"))
    except ParseError as error:
        raise FatalError(f"{path}: {error}; fix the TOML and retry") from None
    except (UnicodeDecodeError, RecursionError, ValueError) as error:
        raise FatalError(f"{path}: not readable TOML ({error}); fix it and retry") from None
    change(document)
    after = tomlkit.dumps(document).encode("utf-8")
    if after == before:
        return False
    with open(path, "rb") as file:
        if file.read() != before:
            raise FatalError(f"{path} changed while git comfy was editing it; retry")
    atomic.write(path, after)
    return True


def workflows_of(document: Any) -> Any:
    """``[tool.comfydock.workflows]`` of a tomlkit document, created when missing."""
    import tomlkit

    tool = document.setdefault("tool", tomlkit.table(True))
    comfydock = tool.setdefault("comfydock", tomlkit.table(True))
    return comfydock.setdefault("workflows", tomlkit.table())


def record_requirements(env: Environment, name: str, stamp: str, nodes: Iterable[str],
                        models: Iterable[tuple[str, str, int, str | None]]) -> None:
    """The seed's "After export" tables for workflow ``name`` (export and import write them):
    ``exported_at``, ``requires.nodes``, ``requires.models`` and ``models.<sha256>`` (filename,
    size, source), with tomlkit. An inline ``{tracked = true}`` entry becomes a table; the rest
    of the file stays as it was. ``models``: (sha256, filename, size, source or None)."""
    import tomlkit

    rows = list(models)

    def change(document: Any) -> None:
        workflows = workflows_of(document)
        entry = workflows.get(name)
        if not isinstance(entry, tomlkit.items.Table):
            table = tomlkit.table()
            for key, value in (entry or {}).items():
                table[key] = value
            workflows[name] = table
            entry = table
        entry["tracked"] = True
        entry["exported_at"] = stamp
        requires = tomlkit.table()
        requires["nodes"] = sorted(set(nodes))
        requires["models"] = [digest for digest, *_ in rows]
        entry["requires"] = requires
        table = tomlkit.table()
        for digest, filename, size, source in rows:
            item = tomlkit.inline_table()
            item.update({"filename": filename, "size": size})
            if source:
                item["source"] = source
            table[digest] = item
        table.add(tomlkit.nl())  # what follows keeps its blank line
        entry["models"] = table

    edit_pyproject(env, change)
