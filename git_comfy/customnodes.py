"""The custom node packs installed in a ComfyUI, and the node types ComfyUI itself defines — both
read from source files without importing or running anything (:mod:`git_comfy.core.nodescan`).

Every folder of ``custom_nodes/`` is a pack, and every ``*.py`` file a single-file pack;
``name.disabled`` and anything under ``custom_nodes/.disabled/`` are packs too, marked disabled.
A pack's files are read only inside the pack's own folder (a link out of it is reported, not
followed), only regular files, at most :data:`MAX_SOURCE` bytes each, through a non-blocking
open so that a FIFO cannot hang the scan. Who a pack is comes from its ``pyproject.toml`` and
``.tracking`` file, or from git run in the pack's own repository (never one around it), with
its hooks and fsmonitor switched off.

What a pack's source says is cached per pack in the user cache folder, keyed on the size and
modification time of every file the scan read or looked for.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from git_comfy import atomic, errors, git
from git_comfy.core import coretypes, nodescan, packs, pysource
from git_comfy.core.nodepacks import Pack
from git_comfy.core.nodescan import PackTypes
from git_comfy.errors import FatalError

CUSTOM_NODES = "custom_nodes"
MAX_SOURCE = 8 * 1024 * 1024  # bytes of one Python file (the largest real ones are ~1 MB)
CACHE_NAME = "nodescan.json"
CACHE_VERSION = 1
_SKIP = frozenset({"__pycache__", ".git", ".DS_Store"})
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_GIT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR",
             "GIT_OBJECT_DIRECTORY", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT")
# git must never run anything a pack's repository configures
_GIT_SAFE = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "--no-optional-locks"]
_SOURCE_MARKERS = (b"NODE_CLASS_MAPPINGS", b"define_schema")
_REMOTE_SECTION = re.compile(r'\[remote\s+"([^"\\]+)"\]')


def read_source(root: str, relative: str, problems: list[str]) -> bytes | None:
    """The bytes of ``relative`` (``/``-separated) under ``root``, or None when it is absent,
    not a regular file, too large, or (through a link) outside ``root``: problems say why."""
    path = os.path.join(root, *relative.split("/"))
    try:
        real, top = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, top]) != top:
            problems.append(f"{relative} links outside the pack ({real}); not read")
            return None
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as error:
        problems.append(f"{relative}: cannot read ({getattr(error, 'strerror', error)})")
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problems.append(f"{relative} is not a regular file; not read")
            return None
        if info.st_size > MAX_SOURCE:
            problems.append(f"{relative} is larger than {MAX_SOURCE >> 20} MiB; not read")
            return None
        chunks, size = [], 0
        while size <= MAX_SOURCE:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as error:
        problems.append(f"{relative}: cannot read ({error.strerror})")
        return None
    finally:
        os.close(fd)


class ScanCache:
    """What each pack's (or ComfyUI file's) source said, keyed on the stat of every file the
    scan asked for. Derived data in the user cache folder: losing it only costs time."""

    def __init__(self) -> None:
        self.path = os.path.join(errors.cache_dir(), CACHE_NAME)
        self.entries: dict[str, Any] = {}
        self.changed = False
        try:
            with open(self.path, "rb") as file:
                data = json.loads(file.read())
            if isinstance(data, dict) and data.get("version") == CACHE_VERSION:
                self.entries = data.get("entries") or {}
        except (OSError, ValueError, RecursionError):
            pass

    @staticmethod
    def _stamp(root: str, relative: str) -> list[int] | None:
        try:
            info = os.stat(os.path.join(root, *relative.split("/")))
        except OSError:
            return None
        return [info.st_size, info.st_mtime_ns]

    def scan(self, key: str, root: str, run: Callable[[pysource.Reader], PackTypes],
             ) -> PackTypes:
        entry = self.entries.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("files"), dict) and all(
                self._stamp(root, rel) == stamp for rel, stamp in entry["files"].items()):
            try:
                return PackTypes(tuple(entry["types"]), bool(entry["complete"]),
                                 tuple(entry["problems"]), tuple(entry["files"]),
                                 bool(entry["inferred"]))
            except (KeyError, TypeError):
                pass
        problems: list[str] = []
        result = run(lambda relative: read_source(root, relative, problems))
        if problems:
            result = PackTypes(result.types, False, result.problems + tuple(problems),
                               result.files, result.inferred)
        self.entries[key] = {
            "files": {rel: self._stamp(root, rel) for rel in result.files},
            "types": list(result.types), "complete": result.complete,
            "problems": list(result.problems), "inferred": result.inferred,
        }
        self.changed = True
        return result

    def save(self) -> None:
        if not self.changed:
            return
        data = json.dumps({"version": CACHE_VERSION, "entries": self.entries}).encode()
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            atomic.write(self.path, data, durable=False)
        except (OSError, FatalError):
            pass  # a read-only cache folder only costs speed


# -- ComfyUI's own node types -----------------------------------------------------------------


def builtin_types(comfyui: str | None, cache: ScanCache) -> tuple[frozenset[str], str]:
    """The node types ComfyUI defines, and where that list came from: its source (``nodes.py``,
    ``comfy_extras/``, ``comfy_api_nodes/``) when there is one, else the shipped list."""
    if comfyui is None or not os.path.isfile(os.path.join(comfyui, "nodes.py")):
        return coretypes.BUILTIN_TYPES, f"the list shipped for ComfyUI {coretypes.VERSION}"
    files = ["nodes.py", *(f"{CUSTOM_NODES}/{name}" for name in coretypes.SHIPPED_CUSTOM_NODES)]
    for folder in ("comfy_extras", "comfy_api_nodes"):
        try:
            names = sorted(os.listdir(os.path.join(comfyui, folder)))
        except OSError:
            continue
        files += [f"{folder}/{name}" for name in names if name.endswith(".py")]
    found: set[str] = set()
    for relative in files:
        def run(read: pysource.Reader, relative: str = relative) -> PackTypes:
            data = read(relative)
            if data is None or not any(marker in data for marker in _SOURCE_MARKERS):
                return PackTypes((), True, (), (relative,))  # not worth parsing
            return nodescan.scan_module_types(lambda rel: data if rel == relative else read(rel),
                                              relative)
        found.update(cache.scan(f"comfyui\0{comfyui}\0{relative}", comfyui, run).types)
    if len(found) < 50:  # not a ComfyUI this reader understands
        return coretypes.BUILTIN_TYPES, (f"the list shipped for ComfyUI {coretypes.VERSION} "
                                         f"({comfyui}'s source names too few node types)")
    return frozenset(found), f"{comfyui}'s source"


# -- custom_nodes/ ----------------------------------------------------------------------------


def _entries(comfyui: str) -> list[tuple[str, str, bool]]:
    """(name, path, disabled) of every pack folder and file in ``custom_nodes/``."""
    root = os.path.join(comfyui, CUSTOM_NODES)
    found = []
    for folder, disabled in ((root, False), (os.path.join(root, ".disabled"), True)):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if name in _SKIP or name.startswith(".") or name in coretypes.SHIPPED_CUSTOM_NODES:
                continue
            off = disabled or name.endswith(packs.DISABLED)
            plain = name.removesuffix(packs.DISABLED)
            dangling = os.path.islink(path) and not os.path.exists(path)  # reported later
            if os.path.isdir(path) or (plain.endswith(".py") and os.path.isfile(path)) or dangling:
                found.append((plain, path, off))
    return found


def git_state(path: str, status: bool = True) -> packs.GitState | None:
    """git's view of a pack's own repository; None when the pack is not a git clone. Without
    ``status`` only the remote is read (usually with no git process at all)."""
    if not os.path.exists(os.path.join(path, ".git")):
        return None
    environment = {k: v for k, v in os.environ.items() if k not in _GIT_VARS}
    environment["GIT_CEILING_DIRECTORIES"] = os.path.dirname(os.path.abspath(path))
    environment["GIT_TERMINAL_PROMPT"] = "0"
    if not status:
        return packs.GitState(_remote(path, environment), checked=False)
    code, out, err = git.run(["-C", path, *_GIT_SAFE, "status", "--porcelain=v2", "--branch",
                              "--untracked-files=no"], env=environment, check=False)
    if code != 0:
        text = err.decode("utf-8", "replace").strip().splitlines()
        return packs.GitState(error="git cannot read it: " + (
            text[0].removeprefix("fatal: ") if text else f"exit {code}"))
    commit = branch = None
    dirty = False
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("# branch.oid "):
            value = line.split(" ", 2)[2]
            commit = None if value == "(initial)" else value
        elif line.startswith("# branch.head "):
            value = line.split(" ", 2)[2]
            branch = None if value == "(detached)" else value
        elif line and not line.startswith("#"):
            dirty = True
    return packs.GitState(_remote(path, environment), commit, branch, dirty)


def _remote(path: str, environment: dict[str, str]) -> str | None:
    """origin's URL, else the first remote's by name."""
    remotes = _plain_remotes(path)
    if remotes is None:
        _code, out, _ = git.run(["-C", path, *_GIT_SAFE, "config", "--get-regexp",
                                r"^remote\..*\.url$"], env=environment, check=False)
        remotes = {}
        for line in out.decode("utf-8", "replace").splitlines():
            key, _, url = line.partition(" ")
            remotes.setdefault(key[len("remote."):-len(".url")], url)
    return remotes.get("origin") or (remotes[sorted(remotes)[0]] if remotes else None)


def _plain_remotes(path: str) -> dict[str, str] | None:
    """The remotes' URLs read from ``.git/config`` itself, when it is plain (no includes,
    quoting or comments after values); None when only git can read it. Saves a git process
    per pack."""
    try:
        with open(os.path.join(path, ".git", "config"), encoding="utf-8") as file:
            text = file.read(1 << 20)
    except (OSError, UnicodeDecodeError):  # .git is a file (a worktree), or unreadable
        return None
    remotes: dict[str, str] = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = _REMOTE_SECTION.fullmatch(line)
            if match is None and line.lower().startswith(("[include", "[url")):
                return None  # includes and insteadOf rewrite what a plain read sees
            section = match.group(1) if match else None
        elif section is not None:
            key, equals, value = line.partition("=")
            if key.strip().lower() == "url":
                value = value.strip()
                if not equals or any(c in value for c in '"\\#;') or not value:
                    return None
                remotes.setdefault(section, value)
    return remotes


def _identity(name: str, path: str, status: bool = True) -> packs.Identity:
    if not os.path.isdir(path):
        return packs.Identity(name, None, None, "unknown", None,
                              ("single-file pack: no version to pin",))
    pyproject = None
    notes: list[str] = []
    data = read_source(path, "pyproject.toml", notes)
    if data is not None:
        import tomllib

        try:
            pyproject = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError, ValueError):
            notes.append("pyproject.toml is not readable TOML")
    cnr_file = read_source(path, ".git/.cnr-id", notes) if os.path.isdir(
        os.path.join(path, ".git")) else None
    identity = packs.identify(
        name, pyproject, os.path.isfile(os.path.join(path, ".tracking")),
        cnr_file.decode("utf-8", "replace").strip() if cnr_file else None,
        git_state(path, status))
    return replace(identity, notes=identity.notes + tuple(notes)) if notes else identity


def _scan(path: str, cache: ScanCache) -> PackTypes:
    real = os.path.realpath(path)
    if os.path.isdir(real):
        if not os.path.isfile(os.path.join(real, "__init__.py")):
            return PackTypes((), False, ("no __init__.py: ComfyUI does not load this folder",),
                             ())
        return cache.scan(f"pack\0{real}", real, lambda read: nodescan.scan_pack(read))
    base = os.path.basename(real)
    return cache.scan(f"file\0{real}", os.path.dirname(real), lambda read: nodescan.scan_pack(
        lambda rel: read(rel) if rel == base else None, base))


@dataclass(frozen=True)
class Survey:
    """A ComfyUI's node types: the built-in ones (and where that list came from) and packs."""

    builtin: frozenset[str]
    builtin_source: str
    packs: list[Pack]


def survey(comfyui: str | None, dev: Mapping[str, str] | None = None, *,
           status: bool = True) -> Survey:
    """The built-in types of ``comfyui``, every pack in its ``custom_nodes/`` and every dev node
    (name → absolute path), read statically; a dev node that is also in ``custom_nodes/`` is
    listed once, as dev. Without ``status``, git clones are identified by their remote only
    (:func:`with_status` completes the packs that turn out to matter)."""
    cache = ScanCache()
    builtin, source = builtin_types(comfyui, cache)
    root = os.path.realpath(os.path.join(comfyui, CUSTOM_NODES)) if comfyui else ""
    dev_real = {os.path.realpath(path): name for name, path in (dev or {}).items()}
    found = []
    for name, path, disabled in _entries(comfyui) if comfyui else []:
        real = os.path.realpath(path)
        found.append((dev_real.get(real, name), path, disabled, real in dev_real))
    listed = {os.path.realpath(path) for _, path, _, _ in found}
    found += [(name, path, False, True) for name, path in (dev or {}).items()
              if os.path.realpath(path) not in listed]
    with ThreadPoolExecutor(max_workers=8) as pool:  # git runs in parallel, one pack each
        identities = list(pool.map(lambda item: _identity(item[0], item[1], status), found))
    result = []
    for (name, path, disabled, is_dev), identity in zip(found, identities, strict=True):
        if is_dev:
            identity = replace(identity, package=name, source="dev")
        if not os.path.exists(path):
            result.append(Pack(name, path, frozenset(), False, disabled, identity, is_dev,
                               (f"{path} does not exist",)))
            continue
        scanned = _scan(path, cache)
        problems = list(scanned.problems)
        real = os.path.realpath(path)
        if root and os.path.islink(path) and os.path.commonpath([real, root]) != root:
            problems.insert(0, f"a link out of custom_nodes to {real}")
        result.append(Pack(name, path, frozenset(scanned.types), scanned.complete, disabled,
                           identity, is_dev, tuple(problems)))
    cache.save()
    return Survey(builtin, source, result)


def with_status(found: list[Pack]) -> list[Pack]:
    """``found`` with git's full view (HEAD, branch, uncommitted changes) in their identities."""
    def complete(pack: Pack) -> Pack:
        identity = _identity(pack.name, pack.path)
        if pack.dev:
            identity = replace(identity, package=pack.name, source="dev")
        return replace(pack, identity=identity)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(complete, found))
