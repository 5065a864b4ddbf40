"""The files of a dev node (seed, Edge Case 2) that export puts into a bundle, and reading each of
them once: its bytes go into the bundle, are hashed for the manifest and are scanned for secrets
(:func:`git_comfy.core.secrets.scan_bytes`) from the same read.

What is collected (notes/security.md §4.2):

* no symbolic link is followed, to a file or to a folder (a dev node linking ``~/.ssh``): each
  is skipped and listed. The dev node's own folder may be a link: the user chose it;
* FIFOs, sockets and devices are skipped, and every file is opened with ``O_NONBLOCK`` and
  ``O_NOFOLLOW`` and checked to be the same regular file, of the same size, that was listed;
* names that cannot be bundle members (not UTF-8, control characters, ``:``, a backslash, a
  Windows device name …: :func:`git_comfy.core.models.problem`) are skipped;
* the built-in excludes (:data:`git_comfy.core.secrets.EXCLUDED_NAMES`) skip secrets, VCS and
  caches by name; a ``.comfydockignore`` cannot bring them back;
* ``.comfydockignore`` files work like ``.gitignore`` files: one in any folder of the node
  applies below that folder, the deepest one that has a matching pattern decides, and nothing
  inside an excluded folder is looked at. The files themselves are bundled like any other.
  One that cannot be read (a link, unreadable, over 1 MiB) stops collect: going on without it
  could bundle what it keeps out;
* a file over :data:`MAX_FILE` stops collect: a bundle carries source, and the user decides
  whether the file stays out (``.comfydockignore``) or the node changes.

Skipped entries are reported with the reason; folders end in ``/``. Their names are a
stranger's: show them with :func:`git_comfy.ui.printable`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from git_comfy import ui
from git_comfy.core import ignore, models, secrets
from git_comfy.errors import FatalError

IGNORE_FILE = ".comfydockignore"
MAX_FILE = 64 << 20  # bytes of one file in a bundle: source, not models
MAX_IGNORE_FILE = 1 << 20
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_BINARY", 0))
_READ = 1 << 20

Rules = tuple[tuple[str, ignore.Ignore], ...]  # (folder relpath, its .comfydockignore), outer first


@dataclass(frozen=True)
class DevFile:
    relpath: str  # "/"-separated, relative to the node folder
    path: str  # absolute
    size: int


@dataclass(frozen=True)
class DevFiles:
    name: str
    root: str  # the node folder, links resolved
    files: list[DevFile]  # sorted by relpath (code point order: the order of the UTF-8 bytes)
    skipped: list[tuple[str, str]]  # (relpath, reason), sorted; a folder's relpath ends in "/"


def collect(root: str, name: str) -> DevFiles:
    """Every file of the dev node ``name`` in folder ``root`` that goes into a bundle, and what
    was left out and why. A missing or unreadable folder is one FatalError saying how to fix it."""
    top = _node_folder(root, name)
    files: list[DevFile] = []
    skipped: list[tuple[str, str]] = []
    pending: list[tuple[str, Rules]] = [("", ())]
    while pending:
        folder, rules = pending.pop()
        path = os.path.join(top, *folder.split("/")) if folder else top
        try:
            with os.scandir(path) as listing:
                entries = list(listing)
        except OSError as error:
            if not folder:
                raise FatalError(f"cannot read dev node {name}'s folder {ui.printable(root)} "
                                 f"({error.strerror}); {_fix(name)}") from None
            skipped.append((f"{folder}/", f"cannot read the folder ({error.strerror})"))
            continue
        own = next((entry for entry in entries if entry.name == IGNORE_FILE), None)
        if own:
            rules = (*rules, (folder, _ignore_file(own, folder, name)))
        for entry in entries:
            relpath = f"{folder}/{entry.name}" if folder else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                reason = _skip_reason(entry, relpath, is_dir, rules)
                size = 0 if reason or is_dir else entry.stat(follow_symlinks=False).st_size
            except OSError as error:  # gone since the folder was listed
                skipped.append((relpath, f"cannot read ({error.strerror})"))
                continue
            if reason:
                skipped.append((f"{relpath}/" if is_dir else relpath, reason))
            elif is_dir:
                pending.append((relpath, rules))
            elif size > MAX_FILE:
                raise FatalError(f"dev node {name}: {ui.printable(relpath)} is "
                                 f"{ui.human_size(size)}, over the {ui.human_size(MAX_FILE)} a "
                                 f"bundled file may have; list it in {IGNORE_FILE} (or move it "
                                 "out of the node)")
            else:
                files.append(DevFile(relpath, entry.path, size))
    return DevFiles(name, top, sorted(files, key=lambda f: f.relpath), sorted(skipped))


def read_file(found: DevFile, checked: set[str] | None = None) -> bytes:
    """The bytes of a collected file, read once (for the bundle, its hash and the secret scan).
    It must still be the regular file, of the same size, that :func:`collect` listed, reached
    through no link; anything else (the tree changed meanwhile) is a FatalError. ``checked``:
    folders this batch of reads already found link-free (a dev node has thousands of files in
    a few dozen folders)."""
    shown = ui.printable(found.path)
    changed = f"{shown} changed while it was being read; try again"
    folder = os.path.dirname(found.path)
    try:
        if checked is None or folder not in checked:
            if os.path.realpath(folder) != folder:  # a folder on the way became a link
                raise FatalError(changed)
            if checked is not None:
                checked.add(folder)
        fd = os.open(found.path, _OPEN_FLAGS)
    except OSError as error:
        raise FatalError(f"cannot read {shown} ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        chunks, size = [], 0
        if stat.S_ISREG(info.st_mode) and info.st_size == found.size:
            while size <= found.size:
                chunk = os.read(fd, min(_READ, found.size + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except OSError as error:
        raise FatalError(f"cannot read {shown} ({error.strerror})") from None
    finally:
        os.close(fd)
    if not stat.S_ISREG(info.st_mode) or size != found.size:
        raise FatalError(changed)
    return b"".join(chunks)


def _fix(name: str) -> str:
    return (f"fix its path in .cec/pyproject.toml ([tool.comfydock.nodes.{name}]) or forget it "
            f"with git comfy node remove {name}")


def _node_folder(root: str, name: str) -> str:
    """``root`` with links resolved, when it is a folder."""
    top = os.path.realpath(root)
    try:
        info = os.stat(top)
    except FileNotFoundError:
        raise FatalError(f"dev node {name}'s folder {ui.printable(root)} does not exist; "
                         f"{_fix(name)}") from None
    except OSError as error:
        raise FatalError(f"cannot read dev node {name}'s folder {ui.printable(root)} "
                         f"({error.strerror}); {_fix(name)}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise FatalError(f"dev node {name}'s path {ui.printable(root)} is not a folder (export "
                         f"bundles a dev node's folder); {_fix(name)}")
    return top


def _skip_reason(entry: os.DirEntry[str], relpath: str, is_dir: bool,
                 rules: Rules) -> str | None:
    """Why ``entry`` stays out of the bundle, or None."""
    if any(0xDC80 <= ord(char) <= 0xDCFF for char in entry.name):
        return "name is not valid UTF-8"
    problem = "contains a backslash" if "\\" in entry.name else models.problem(relpath)
    if problem:
        return f"name {problem}"
    if entry.is_symlink():
        return "symbolic link"
    if not is_dir and not entry.is_file(follow_symlinks=False):
        return "not a regular file (a pipe, socket or device)"
    glob = secrets.excluded(entry.name)
    if glob:
        return f"built-in exclude ({glob})"
    for base, patterns in reversed(rules):  # the deepest file with a matching pattern decides
        verdict = patterns.verdict(relpath[len(base) + 1:] if base else relpath, is_dir)
        if verdict is not None:
            return f"excluded by {base + '/' if base else ''}{IGNORE_FILE}" if verdict else None
    return None


def _ignore_file(entry: os.DirEntry[str], folder: str, name: str) -> ignore.Ignore:
    """The patterns of the ``.comfydockignore`` in ``folder``; one that cannot be read stops
    collect (going on without it could bundle what it excludes)."""
    relpath = f"{folder}/{entry.name}" if folder else entry.name
    shown = ui.printable(relpath)
    try:
        regular = not entry.is_symlink() and entry.is_file(follow_symlinks=False)
        size = entry.stat(follow_symlinks=False).st_size
    except OSError as error:
        raise FatalError(f"dev node {name}: cannot read {shown} ({error.strerror})") from None
    if not regular:
        raise FatalError(f"dev node {name}: {shown} is not a regular file; make it one (a link "
                         "is not followed), or remove it")
    if size > MAX_IGNORE_FILE:
        raise FatalError(f"dev node {name}: {shown} is larger than "
                         f"{ui.human_size(MAX_IGNORE_FILE)}")
    data = read_file(DevFile(relpath, entry.path, size))
    return ignore.compile(data.decode("utf-8", "surrogateescape"))
