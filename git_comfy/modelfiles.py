"""Model files on disk: reading them safely, their quick hash and SHA-256, and walking the
folders that hold them. The model index (index.py) stores what this module finds.

A file's bytes are read only through an fd opened with O_NONBLOCK and checked to be a regular
file, so a FIFO or device named like a model cannot hang anything (notes/security.md 3.3), and
a hash counts only when the file did not change while it was read (fstat before and after, then
a stat of the name).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import time
from dataclasses import dataclass

import xxhash

from git_comfy import ui
from git_comfy.modelroots import MODEL_EXTENSIONS, Root

QUICK_CHUNK = 64 * 1024  # quick hash: size + 64 KiB at the start, middle and end
READ_BUFFER = 1 << 20  # full hash: 1 MiB reads (benchmarks/index.py: as fast as openssl)
ATTEMPTS = 3  # reads of a file that keeps changing before it is reported instead
CHECK_EVERY = 64 << 20  # bytes hashed between checks that the file is still the same
# A file modified within this window before it was read may change again within the same
# timestamp tick without its stat changing (git's "racy" files); FAT has 2 s ticks, network
# file systems can be coarse too.
# Its quick hash is stored but re-read next scan, and its SHA-256 is not cached.
# A file modified within this window before it was read may change again within the same
# timestamp tick without its stat changing (git's "racy" files); FAT has 2 s ticks, network
# file systems can be coarse too.
# Its quick hash is stored but re-read next scan, and its SHA-256 is not cached.
RACY_NS = 2_000_000_000
_SPECIAL_TREES = ("/dev", "/proc", "/sys")  # a link into them is never a model
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))

@dataclass(frozen=True)
class Skipped:
    """A file or folder that looked like it held models but could not be indexed, and why."""

    path: str
    reason: str


Identity = tuple[int, int, int, int]  # size, mtime_ns, inode, dev (the last two as signed 64)


# -- reading files ------------------------------------------------------------------------------


class Unreadable(Exception):
    """The file cannot be hashed now; the message says why."""


class Vanished(Exception):
    """The file was removed between the walk and the read: simply not there."""


def file_identity(info: os.stat_result) -> Identity:
    inode, dev = info.st_ino, info.st_dev
    if inode >= _TOP_BIT or dev >= _TOP_BIT:  # (inline: rescans call this for every file)
        inode, dev = _signed(inode), _signed(dev)
    return (info.st_size, info.st_mtime_ns, inode, dev)


_TOP_BIT = 1 << 63


def _signed(number: int) -> int:
    """A 64-bit inode or device number as SQLite's signed INTEGER (overlayfs sets the top bit)."""
    return number - (1 << 64) if number >= 1 << 63 else number


def _pread(fd: int, size: int, offset: int) -> bytes:
    chunks = []
    while size > 0:
        if hasattr(os, "pread"):
            chunk = os.pread(fd, size, offset)
        else:  # Windows
            os.lseek(fd, offset, os.SEEK_SET)
            chunk = os.read(fd, size)
        if not chunk:  # the file shrank: the stat after reading tells
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def quick_hash_fd(fd: int, size: int) -> str:
    """xxh3-128 of the size and three 64 KiB chunks (start, middle, end), or of the whole file
    when it is at most 192 KiB: the same time for a 1 MB file and a 20 GB one. It tells files
    apart (with the size), it does not prove content: that is the SHA-256's job."""
    digest = xxhash.xxh3_128()
    digest.update(size.to_bytes(8, "little"))
    if size <= 3 * QUICK_CHUNK:
        digest.update(_pread(fd, size, 0))
    else:
        for offset in (0, size // 2 - QUICK_CHUNK // 2, size - QUICK_CHUNK):
            digest.update(_pread(fd, QUICK_CHUNK, offset))
    return digest.hexdigest()


class Changed(Exception):
    """The file changed while it was read: read it again."""


def sha256_fd(fd: int, identity: Identity, bar: ui.Progress | None) -> str:
    """SHA-256 of the whole file, read in 1 MiB blocks. Every CHECK_EVERY bytes an fstat
    compares the file with ``identity``: a file still being written (a download) is given up
    at once instead of after reading all of it."""
    digest = hashlib.sha256()
    buffer = bytearray(READ_BUFFER)
    view = memoryview(buffer)
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)  # larger readahead on cold files
    os.lseek(fd, 0, os.SEEK_SET)
    reader = io.FileIO(fd, closefd=False)  # readinto: no new bytes object per block
    unchecked = 0
    while count := reader.readinto(buffer):
        digest.update(view[:count])  # hashlib releases the GIL for big updates
        if bar is not None:
            bar.advance(count)
        unchecked += count
        if unchecked >= CHECK_EVERY:
            unchecked = 0
            if file_identity(os.fstat(fd)) != identity:
                raise Changed()
    return digest.hexdigest()


@dataclass(frozen=True)
class Read:
    identity: Identity
    quick_hash: str
    sha256: str | None
    settled: bool


def read(path: str, *, full: bool, bar: ui.Progress | None = None) -> Read:
    """The hashes of ``path`` and the identity they belong to. The fd is opened O_NONBLOCK and
    fstat-checked, so a FIFO or device put in place of the file cannot block; the identity must
    be the same before reading, after it (fstat) and for the name afterwards (stat), else the
    file is read again, up to ATTEMPTS times."""
    for _attempt in range(ATTEMPTS):
        started = time.time_ns()
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            raise Vanished() from None
        except OSError as error:
            raise Unreadable(error.strerror or str(error)) from None
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise Unreadable("not a regular file (a FIFO, socket or device)")
            quick = quick_hash_fd(fd, before.st_size)
            sha256 = sha256_fd(fd, file_identity(before), bar) if full else None
            after = os.fstat(fd)
        except Changed:
            continue
        except OSError as error:
            raise Unreadable(error.strerror or str(error)) from None
        finally:
            os.close(fd)
        try:
            now = os.stat(path)
        except FileNotFoundError:
            raise Vanished() from None
        except OSError as error:
            raise Unreadable(error.strerror or str(error)) from None
        identity = file_identity(before)
        if identity == file_identity(after) == file_identity(now):
            settled = started - before.st_mtime_ns > RACY_NS
            return Read(identity, quick, sha256, settled)
    raise Unreadable(f"it kept changing while it was read ({ATTEMPTS} tries); "
                      "scan again when it is complete")


# -- walking roots ------------------------------------------------------------------------------


_special_devices: frozenset[int] | None = None


def _special(info: os.stat_result) -> bool:
    """Whether ``info`` is of a file or folder on the file systems of /dev, /proc or /sys:
    compared by device, so it takes no system call per file, and a bind mount or a chain of
    links ends in the same place. (Where one of them is not a mount of its own, on the root
    file system, it is not counted: the regular-file check still keeps devices out.)"""
    global _special_devices
    if _special_devices is None:
        devices = set()
        for tree in _SPECIAL_TREES:
            try:
                devices.add(os.stat(tree).st_dev)
            except OSError:
                pass
        try:
            devices.discard(os.stat("/").st_dev)
        except OSError:
            pass
        _special_devices = frozenset(devices)
    return info.st_dev in _special_devices


_NOT_UTF8 = "the name is not valid UTF-8; rename it"


def _utf8(name: str) -> bool:
    """SQLite and JSON need text: a name that is not valid UTF-8 cannot be stored."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def walk(root: Root, other_roots: set[tuple[int, int]], other_paths: set[str],
          skipped: list[Skipped]) -> dict[str, tuple[str, os.stat_result]] | None:
    """relpath → (path, stat) of every model file under ``root``, or None when the root cannot
    be read at all. Iterative (no recursion limit); hidden files and folders (``.git``, partial
    downloads) are skipped; symlinks are followed to regular files and folders, but not into
    /dev, /proc or /sys, and a folder reached twice (a symlink loop) is walked once. Subfolders
    that are roots of their own are left to them. Only names with a model extension count: in
    every root, including unknown folders, whose neighbours are previews, notes and configs."""
    try:
        info = os.stat(root.path)
    except OSError as error:
        skipped.append(Skipped(root.path, error.strerror or str(error)))
        return None
    if not stat.S_ISDIR(info.st_mode):
        skipped.append(Skipped(root.path, "not a folder"))
        return None
    if _special(info):
        skipped.append(Skipped(root.path, "a link into /dev, /proc or /sys"))
        return None
    # folders by (device, inode). A real subfolder is keyed with its parent's device and the
    # inode scandir already knows (no stat: only symlinks can make loops)
    visited = {(info.st_dev, info.st_ino)}
    found: dict[str, tuple[str, os.stat_result]] = {}
    stack = [(root.path, "", info.st_dev)]
    extensions = MODEL_EXTENSIONS
    while stack:
        directory, prefix, device = stack.pop()
        try:
            entries = os.scandir(directory)
        except OSError as error:
            skipped.append(Skipped(directory, error.strerror or str(error)))
            continue
        with entries:
            for entry in entries:
                # The hot loop of every scan (a rescan is little more than this walk). d_type
                # answers is_file/is_dir without a system call: a model file costs one lstat,
                # a folder or any other file none. Symlinks and oddities take the slow path.
                name = entry.name
                if name[0] == ".":
                    continue
                dot = name.rfind(".")
                model = dot > 0 and name[dot:].lower() in extensions
                try:
                    if model and entry.is_file(follow_symlinks=False):
                        if name.isascii() or _utf8(name):
                            found[prefix + name] = (entry.path, entry.stat(follow_symlinks=False))
                        else:
                            skipped.append(Skipped(entry.path, _NOT_UTF8))
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        key = (device, entry.inode())
                        target_device = device
                    elif entry.is_symlink():
                        linked = _link(entry.path, model, skipped)
                        if linked is None:
                            continue
                        if not stat.S_ISDIR(linked.st_mode):
                            if name.isascii() or _utf8(name):
                                found[prefix + name] = (entry.path, linked)
                            else:
                                skipped.append(Skipped(entry.path, _NOT_UTF8))
                            continue
                        key = (linked.st_dev, linked.st_ino)
                        target_device = linked.st_dev
                    elif model:  # FIFO, socket, device: never opened
                        skipped.append(Skipped(entry.path,
                                               "not a regular file (a FIFO, socket or device)"))
                        continue
                    else:
                        continue
                except OSError as error:  # gone meanwhile, or no permission
                    if model:
                        skipped.append(Skipped(entry.path, error.strerror or str(error)))
                    continue
                if key in visited or key in other_roots or entry.path in other_paths:
                    continue
                if not (name.isascii() or _utf8(name)):
                    skipped.append(Skipped(entry.path, _NOT_UTF8))
                    continue
                visited.add(key)
                stack.append((entry.path, f"{prefix}{name}/", target_device))
    return found


def _link(path: str, model: bool, skipped: list[Skipped]) -> os.stat_result | None:
    """What a symlink leads to, when that is worth walking (a folder) or indexing (a model
    file); None, with a reason when it looked like a model, otherwise."""
    try:
        target = os.stat(path)
    except OSError as error:
        if model:
            reason = ("a symlink loop" if error.errno == errno.ELOOP else
                      f"a broken symlink ({error.strerror or error})")
            skipped.append(Skipped(path, reason))
        return None
    if not (stat.S_ISDIR(target.st_mode) or model):
        return None
    if _special(target):
        skipped.append(Skipped(path, "a link into /dev, /proc or /sys"))
        return None
    if not (stat.S_ISDIR(target.st_mode) or stat.S_ISREG(target.st_mode)):
        skipped.append(Skipped(path, "a link to something that is not a regular file"))
        return None
    return target


