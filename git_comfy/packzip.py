"""The validating reader of a custom node pack's zip (a Comfy Registry download, a GitHub
archive): a stranger's archive, held to the rules a bundle is (notes/security.md §1).

``zipfile`` reads the central directory, and inflates one entry at a time; it never extracts
(``extractall`` would write what the names say). Everything is checked before a byte is written:
the end record first, by hand, so that ``zipfile`` only ever parses a central directory of
bounded size that starts right after the entries — no ZIP64, no data before the archive (a
self-extractor), nothing after it, one disk; then every entry's name
(:func:`bundleread.name_problem`, :class:`bundleread.Names`: ``..``, absolute, backslashes,
drives, control characters, reserved names, ``.git``, duplicates, case and Unicode
collisions; the name as stored, since ``zipfile`` cuts a name at a NUL), its type (a symbolic
link or anything but a file or folder is refused whatever system the zip says made it), its
encryption and method (stored or deflated only), and its local header, which must say what the
central directory says (other unzip tools read sizes from it); and the caps of
:class:`bundleread.Limits` on the declared sizes: count, one entry, the total, and the total
against the zip's size (a bomb, overlapping entries included). Then each entry is streamed,
``zipfile`` stopping at its declared size and checking the CRC-32 there, so a stream that is
longer, shorter or different is refused.

The files go through :class:`bundleread.Tree` (``O_EXCL|O_NOFOLLOW``, files 0644, folders
0755; execute bits are dropped, as for bundles: ComfyUI imports a pack, it runs no file).

One folder holding everything, with no file beside it, is stripped: GitHub's archives wrap a
repository in ``name-commit/``, and a pack whose files all sit in one folder would not load
from ``custom_nodes/<pack>/`` anyway (ComfyUI looks for ``__init__.py`` at the top).
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from typing import BinaryIO

from git_comfy import bundleread, ui
from git_comfy.bundleread import Limits, Refused
from git_comfy.errors import FatalError

LIMITS = Limits()  # the caps of a bundle, which holds node sources too
CHUNK = 1 << 20
END = struct.Struct("<4s4H2LH")  # signature, disk, directory's disk, entries twice, size, offset
END_SIGNATURE = b"PK\x05\x06"
ZIP64_LOCATOR = b"PK\x06\x07"  # sits just before the end record of a ZIP64 archive
LOCAL = struct.Struct("<4s5H3L2H")  # signature, version, flags, method, time, date, crc, sizes
LOCAL_SIGNATURE = b"PK\x03\x04"
DIRECTORY_ENTRY = 46  # the fixed part of a central directory entry
EXTRA_MAX = 512  # extra field and comment bytes allowed per entry when bounding the directory
ENCRYPTED = 0x1
DESCRIPTOR = 0x8  # sizes and CRC follow the data; the local header holds zeros
UTF8 = 0x800
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# what zipfile raises on a corrupt archive or entry
BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError,
          zlib.error, struct.error)


def extract(archive: str, dest: str, *, limits: Limits = LIMITS) -> list[str]:
    """Checks the zip at ``archive`` entirely, then writes its files into ``dest`` (an existing
    empty folder) without their common top folder; returns the paths of the files written,
    relative to ``dest``, in archive order. Any failure is one FatalError line, and ``dest`` may
    then hold part of the pack: the caller removes it."""
    where = ui.printable(archive)
    try:
        with open(archive, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            count = _check_end(file, size, limits)
            with zipfile.ZipFile(file) as opened:
                if len(opened.infolist()) != count:
                    raise Refused("its central directory and its end record disagree on the "
                                  "number of entries")
                entries = _checked(file, opened.infolist(), size, limits)
                tree = bundleread.Tree(dest)
                try:
                    return _write(opened, entries, tree)
                finally:
                    tree.close()
    except Refused as error:
        raise FatalError(f"{where}: {error}") from None
    except BROKEN as error:
        raise FatalError(f"{where}: not a readable zip archive ({error})") from None
    except OSError as error:
        raise FatalError(f"cannot read {where}: {error.strerror or error}") from None


def _check_end(file: BinaryIO, size: int, limits: Limits) -> int:
    """The number of entries the end of central directory record gives, once it is the last
    record (only its comment after it) of a one-disk, non-ZIP64 archive whose directory ends
    where the record starts, with at most ``limits.members`` entries and a directory no larger
    than they need: what bounds the work of ``zipfile``, which reads the whole directory."""
    start = max(0, size - END.size - 0xFFFF - 20)  # the longest comment, and a ZIP64 locator
    file.seek(start)
    tail = file.read()
    at = tail.rfind(END_SIGNATURE)
    if at < 0 or len(tail) - at < END.size:
        raise Refused("not a zip archive (no end of central directory record)")
    _, disk, directory_disk, here, entries, length, offset, comment = END.unpack_from(tail, at)
    if at + END.size + comment != len(tail):
        raise Refused("data after the end of the zip archive")
    if tail[max(0, at - 20) : at].startswith(ZIP64_LOCATOR) or 0xFFFF in (here, entries):
        raise Refused("a ZIP64 archive; a node pack never needs one")
    if disk or directory_disk or here != entries:
        raise Refused("a multi-disk zip archive")
    if offset + length != start + at:
        raise Refused("data before the zip archive or between its directory and its end")
    if entries > limits.members:
        raise Refused(f"more than the {limits.members} entries allowed")
    if length > entries * (DIRECTORY_ENTRY + limits.name + EXTRA_MAX):
        raise Refused("a central directory larger than its entries need")
    return int(entries)


def _checked(file: BinaryIO, infos: list[zipfile.ZipInfo], size: int,
             limits: Limits) -> list[tuple[zipfile.ZipInfo, str]]:
    """Each entry with the path it is written to (top folder stripped; "" for that folder),
    after every rule of the module's doc held for all of them."""
    names = bundleread.Names()
    total = 0
    entries: list[tuple[zipfile.ZipInfo, str]] = []
    for info in infos:
        name = _entry(file, info, limits)
        names.add(name, info.is_dir())
        total += info.file_size
        if total > limits.total:
            raise Refused(f"the declared sizes add up to more than {ui.human_size(limits.total)}")
        entries.append((info, name))
    if total > bundleread.RATIO_FLOOR and total > limits.ratio * size:
        raise Refused(f"the declared sizes are {total // size} times the size of the zip (at "
                      f"most {limits.ratio}): a decompression bomb")
    tops = {name.split("/", 1)[0] for _, name in entries}
    top = tops.pop() if len(tops) == 1 else None
    if top is None or any(name == top and not info.is_dir() for info, name in entries):
        return entries
    return [(info, name[len(top) + 1 :]) for info, name in entries]


def _entry(file: BinaryIO, info: zipfile.ZipInfo, limits: Limits) -> str:
    """The entry's path without a folder's trailing ``/``, once it may be written."""
    name = info.orig_filename
    shown = ui.printable(name)
    folder = info.is_dir()
    path = name[:-1] if folder else name
    if not info.flag_bits & UTF8 and not name.isascii():
        raise Refused(f"entry {shown} has a name that is neither ASCII nor marked UTF-8")
    problem = bundleread.name_problem(path, limits)
    if problem:
        raise Refused(f"entry {shown} {problem}")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise Refused(f"entry {shown} is a symbolic link; a pack holds only files and folders")
    if kind not in (0, stat.S_IFDIR if folder else stat.S_IFREG):
        raise Refused(f"entry {shown} is neither a plain file nor a folder (mode {kind:o})")
    if info.flag_bits & ENCRYPTED:
        raise Refused(f"entry {shown} is encrypted")
    if info.compress_type not in METHODS:
        raise Refused(f"entry {shown} uses compression method {info.compress_type}; only "
                      "stored and deflated are read")
    if folder and info.file_size:
        raise Refused(f"entry {shown} is a folder with data")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise Refused(f"entry {shown} is stored, but its two sizes differ")
    if info.file_size > limits.member:
        raise Refused(f"entry {shown} is {ui.human_size(info.file_size)}, more than the "
                      f"{ui.human_size(limits.member)} allowed for one file")
    _check_local(file, info, shown)
    return path


def _check_local(file: BinaryIO, info: zipfile.ZipInfo, shown: str) -> None:
    """The entry's local header says what the central directory says: the same method, and
    the same CRC and sizes unless they follow the data (then it holds zeros)."""
    file.seek(info.header_offset)
    header = file.read(LOCAL.size)
    if len(header) < LOCAL.size or not header.startswith(LOCAL_SIGNATURE):
        raise Refused(f"entry {shown} has no local header where the directory says")
    _, _, flags, method, _, _, crc, compressed, size, _, _ = LOCAL.unpack(header)
    declared = (crc, compressed, size)
    if flags & DESCRIPTOR and declared == (0, 0, 0):
        declared = (info.CRC, info.compress_size, info.file_size)
    if method != info.compress_type or declared != (info.CRC, info.compress_size,
                                                    info.file_size):
        raise Refused(f"entry {shown}: its local header and the central directory disagree "
                      "on its size, CRC or compression")


def _write(opened: zipfile.ZipFile, entries: list[tuple[zipfile.ZipInfo, str]],
           tree: bundleread.Tree) -> list[str]:
    """Streams each entry into ``tree``: zipfile stops at the declared size and checks the
    CRC-32 there, so a stream that is shorter or differs raises."""
    written = []
    for info, name in entries:
        if info.is_dir():
            if name:
                tree.folder(name)
            continue
        shown = ui.printable(info.orig_filename)
        fd = tree.create(name)
        try:
            with opened.open(info) as stream:
                left = info.file_size
                while left:
                    chunk = stream.read(min(CHUNK, left))
                    if not chunk:
                        raise Refused(f"entry {shown} ends before its declared "
                                      f"{info.file_size} bytes")
                    tree.write(fd, name, memoryview(chunk))
                    left -= len(chunk)
        except BROKEN as error:
            raise Refused(f"entry {shown} is corrupt ({error})") from None
        finally:
            os.close(fd)
        written.append(name)
    return written
