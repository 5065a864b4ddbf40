"""The validating reader of a stranger's bundle (a ``.tar.gz``): verify it, and unpack it into a
fresh private folder only as far as every rule allows (notes/security.md §1, §8 A1-A28).

Nothing here calls ``tarfile``. Python 3.11.7's tarfile (this machine's) has unpatched header
parser bugs (CVE-2024-6232 pax ReDoS, CVE-2025-8194 negative-offset loop, CVE-2026-11972
stream-mode EOF blow-up) and quietly interprets what a bundle never needs: v7 headers, pax global
headers, GNU sparse maps, ``AREGTYPE`` names ending in ``/`` turned into folders, base-256
negative numbers. Its stream mode also buffers the decompressed data out of reach, so "only zeros
after the end-of-archive" and "nothing after the gzip stream" could not be checked exactly. The
tar format is 512-byte blocks; the ~150 lines below accept one small dialect, the one tarfile and
GNU tar write for plain files: ustar or GNU headers, pax ``x`` extended headers (``path`` and
``size`` honoured, every other record ignored), GNU ``L`` long names, regular files and folders.
Anything else is refused by name, before a byte of that member is written.

gzip is undone with ``zlib`` (``wbits=31``), so a second gzip member or junk after the first
stream is refused instead of silently ignored (a parser differential: ``tar -i`` would see it).
Output is bounded per call (``max_length``), so a bomb never sits in memory; declared sizes are
checked before the data is read (first from the manifest's list, then from each header).

Writing (``dest``) goes through folder descriptors opened with ``O_NOFOLLOW|O_DIRECTORY`` and
files created ``O_CREAT|O_EXCL|O_NOFOLLOW``: no path is ever resolved through something the
bundle made, so no symlink trick (CVE-2025-4517 and kin) applies. Writing needs POSIX ``openat``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import unicodedata
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from git_comfy import ui
from git_comfy.errors import FatalError

CHUNK = 1 << 20  # compressed bytes read, and decompressed bytes produced, per step
BLOCK = 512
MANIFEST_MAX = 4 << 20
KEEP_MAX = 32 << 20  # a member whose bytes the caller keeps in memory (``keep``)
RATIO_FLOOR = 8 << 20  # below this total, any compression ratio is harmless
PAX_MAX = 64 << 10  # one pax extended header: a path is at most ``Limits.name`` bytes
PADDING_MAX = 1 << 20  # zeros after the end-of-archive (GNU tar pads to 10 KiB records)

_ZERO_BLOCK = bytes(BLOCK)
_POSIX_MAGIC = b"ustar\x0000"
_GNU_MAGIC = b"ustar  \x00"
_HIGH_BYTES = bytes(range(128, 256))
_FILE_TYPES = (b"0", b"\x00")
_DIR_TYPE = b"5"
_TYPE_NAMES = {
    b"1": "a hard link", b"2": "a symbolic link", b"3": "a character device",
    b"4": "a block device", b"6": "a FIFO", b"7": "a contiguous file", b"S": "a sparse file",
    b"K": "a long link name", b"g": "a pax global header", b"D": "a GNU dump folder",
    b"M": "a multi-volume continuation", b"V": "a volume label",
}
_OTHER_FORMATS = (
    (b"PK\x03\x04", "a zip file"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"),
    (b"(\xb5/\xfd", "zstd"), (b"7z\xbc\xaf", "7-Zip"),
)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_RESERVED = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$"} | {
    f"{port}{number}" for port in ("com", "lpt") for number in "123456789\u00b9\u00b2\u00b3"})

_DIR_FLAGS = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
              | getattr(os, "O_CLOEXEC", 0))
_FILE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0))


@dataclass(frozen=True)
class Limits:
    """Caps checked from declared sizes and headers, before any data is written. The defaults
    are far above any real bundle (a workflow plus node sources) and far below harm."""

    members: int = 10_000  # member count cap
    total: int = 1 << 30  # total declared uncompressed size of files
    member: int = 256 << 20  # one file's declared size
    ratio: int = 200  # total declared size / compressed file size, checked when total > 8 MiB
    name: int = 1024  # bytes of a whole path
    component: int = 255  # bytes of one path component


@dataclass(frozen=True)
class Contents:
    files: dict[str, str]  # member name → sha256 hex, in archive order (regular files only)
    small: dict[str, bytes]  # bytes of the members named in `keep` (the manifest always)


# Called with the bytes of the first member (the manifest); returns every other member the bundle
# must hold: name → (size, lowercase sha256 hex). Raises FatalError itself for a bad manifest.
Expect = Callable[[bytes], Mapping[str, tuple[int, str]]]


class _Header(NamedTuple):
    name: str  # after pax/GNU long-name overrides; undecodable bytes as surrogate escapes
    type: bytes
    size: int
    sparse: bool  # a pax GNU.sparse.* record: the data is a sparse map, not the file


class Refused(Exception):
    """A rule the archive broke; the reader (:func:`read`, :func:`git_comfy.packzip.extract`)
    prefixes the archive's name."""


def read(path: str, expect: Expect, *, dest: str | None = None, keep: Collection[str] = (),
         limits: Limits = Limits(), manifest: str = "manifest.json") -> Contents:
    """Verifies the bundle at ``path`` (manifest first, every member listed with its size and
    hash, every rule of the module docstring) and, with ``dest``, writes its files there.

    ``dest`` must be an existing empty folder the caller made private. On an error it may hold
    part of the bundle: the caller must discard it (:func:`unpacked` does)."""
    where = ui.printable(path)
    try:
        with open(path, "rb", buffering=0) as file:
            first = file.read(CHUNK)
            if not first.startswith(b"\x1f\x8b"):
                raise Refused(f"not a gzip tar bundle ({_kind(first)})")
            stream = _Stream(file.read, first)
            compressed = max(os.fstat(file.fileno()).st_size, 1)
            tree = Tree(dest) if dest is not None else None
            try:
                return _Reader(stream, compressed, expect, tree, keep, limits, manifest).run()
            finally:
                if tree is not None:
                    tree.close()
    except Refused as error:
        raise FatalError(f"{where}: {error}") from None
    except OSError as error:
        raise FatalError(f"cannot read {where}: {error.strerror or error}") from None


@contextlib.contextmanager
def unpacked(path: str, expect: Expect, *, keep: Collection[str] = (), limits: Limits = Limits(),
             manifest: str = "manifest.json") -> Iterator[tuple[str, Contents]]:
    """``with unpacked(bundle, expect) as (folder, contents):`` the bundle's files in a fresh
    private folder, removed at the end whatever happens (an error, Ctrl-C). A new folder every
    time: an import never merges into what an earlier one left (GNU tar CVE-2025-45582)."""
    try:
        folder = tempfile.mkdtemp(prefix="git-comfy-bundle-")
    except OSError as error:
        raise FatalError(f"cannot make a temporary folder: {error.strerror or error}") from None
    try:
        yield folder, read(path, expect, dest=folder, keep=keep, limits=limits,
                           manifest=manifest)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Stream:
    """The tar bytes inside the gzip file, decompressed a bounded piece at a time."""

    def __init__(self, read: Callable[[int], bytes], first: bytes) -> None:
        self._read = read
        self._pending = first  # what was read to recognise the format
        self._inflate = zlib.decompressobj(wbits=31)
        self._buffer = memoryview(b"")

    def _fill(self) -> bool:
        """Decompresses the next piece; False at the end of the gzip stream."""
        inflate = self._inflate
        while not inflate.eof:
            data = inflate.unconsumed_tail or self._pending or self._read(CHUNK)
            self._pending = b""
            try:
                out = inflate.decompress(data, CHUNK)  # an empty ``data`` flushes what is held
            except zlib.error as error:
                raise Refused(f"corrupt gzip data ({error})") from None
            if inflate.eof and (inflate.unused_data or self._read(1)):
                raise Refused("data after the end of the gzip stream (a second gzip member "
                              "or junk); a bundle is one gzip stream")
            if out:
                self._buffer = memoryview(out)
                return True
            if not data:
                raise Refused("truncated: the gzip stream ends early")
        return False

    def take(self, size: int) -> memoryview:
        """Up to ``size`` bytes, without copying; empty only at the end of the stream."""
        if not self._buffer and not self._fill():
            return self._buffer
        view = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return view

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes, fewer only at the end of the stream."""
        parts = []
        while size:
            view = self.take(size)
            if not view:
                break
            parts.append(view.tobytes())
            size -= len(view)
        return b"".join(parts)


def _number(field: bytes) -> int:
    """A header number: octal digits (NUL/space padded) or GNU base-256 (never negative)."""
    if field[0] == 0x80:
        return int.from_bytes(field[1:], "big")
    if field[0] > 0x80:
        raise Refused("bad tar header (a negative number)")
    digits = field.split(b"\x00", 1)[0].strip(b" ")
    if digits.strip(b"01234567"):
        raise Refused("bad tar header (a number that is not octal)")
    return int(digits or b"0", 8)


def _parse(block: bytes) -> _Header:
    """One ustar/GNU header block, checksum verified; names as stored (no extensions)."""
    magic = block[257:265]
    if magic not in (_POSIX_MAGIC, _GNU_MAGIC):
        raise Refused("not a tar archive (a header without the ustar signature)")
    unsigned = sum(block) - sum(block[148:156]) + 8 * 32
    stored = _number(block[148:156])
    if stored != unsigned:  # some old tars summed signed bytes; tarfile accepts both
        rest = block[:148] + block[156:]
        if stored != unsigned - 256 * (len(rest) - len(rest.translate(None, _HIGH_BYTES))):
            raise Refused("bad tar header (checksum)")
    name = block[:100].split(b"\x00", 1)[0]
    prefix = block[345:500].split(b"\x00", 1)[0]
    if magic == _POSIX_MAGIC and prefix:
        name = prefix + b"/" + name
    return _Header(name.decode("utf-8", "surrogateescape"), block[156:157], _number(block[124:136]),
                   sparse=False)


def _pax(data: bytes) -> dict[bytes, bytes]:
    """The records of a pax extended header (``"%d %s=%s\\n"``), strictly: no duplicates, no
    junk, lengths exact."""
    records: dict[bytes, bytes] = {}
    start = 0
    while start < len(data):
        space = data.find(b" ", start, start + 20)
        length = data[start:space] if space > start else b""
        end = start + int(length) if length.isdigit() else 0
        if end <= space + 1 or end > len(data) or data[end - 1] != 0x0A:
            raise Refused("bad pax extended header")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals or not key or key in records:
            raise Refused("bad pax extended header")
        records[key] = value
        start = end
    return records


def _fold(part: str) -> str:
    """The form under which two names are one file on macOS or Windows (case, NFC vs NFD)."""
    if part.isascii():
        return part.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", part).casefold())


def name_problem(name: str, limits: Limits) -> str | None:
    """Why ``name`` cannot be written safely on every system (or be a git folder), or None."""
    if not name:
        return "has an empty name"
    if not name.isprintable():  # the fast path: almost every name is printable
        if any("\udc80" <= ch <= "\udcff" for ch in name):
            return "has a name that is not UTF-8"
        if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in name):
            return "has a control or invisible character in its name"
    if len(name.encode()) > limits.name:
        return f"has a name longer than {limits.name} bytes"
    if name.startswith("/"):
        return "has an absolute path"
    if "\\" in name:
        return "has a backslash in its name"
    if ":" in name:
        return "has ':' in its name (a drive or alternate data stream on Windows)"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return f"has {f'a {part!r}' if part else 'an empty'} component in its path"
        if len(part.encode()) > limits.component:
            return f"has a path component longer than {limits.component} bytes"
        folded = part.casefold().rstrip(". ")
        if folded == ".git" or (folded.startswith("git~") and folded[4:].isdigit()):
            return "is a git folder or inside one (.git)"
        if part[-1] in ". ":
            return "has a path component ending in a dot or space"
        if folded.split(".", 1)[0].rstrip(" ") in _RESERVED:
            return "has a name Windows reserves for a device (CON, AUX, NUL, COM1, ...)"
    return None


class Names:
    """Every path the bundle has named so far, to refuse duplicates, case/Unicode collisions and
    a file where a folder is (or the other way round)."""

    def __init__(self) -> None:
        self._spelled: dict[str, str] = {}  # folded path → name as first spelled
        self._folders: set[str] = set()  # folded paths that are folders (members or parents)
        self._members: set[str] = set()  # folded paths that were members themselves

    def add(self, name: str, folder: bool) -> None:
        parts = name.split("/")
        key = ""
        for number, part in enumerate(parts):
            key = f"{key}/{_fold(part)}" if key else _fold(part)
            spelled = "/".join(parts[: number + 1])
            last = number == len(parts) - 1
            known = self._spelled.get(key)
            if known is None:
                self._spelled[key] = spelled
                if not last or folder:
                    self._folders.add(key)
                continue
            if known != spelled:
                shown, other = ui.printable(name), ui.printable(known)
                if shown == other:  # only the Unicode form differs: show the code points
                    shown, other = ascii(name)[1:-1], ascii(known)[1:-1]
                raise Refused(f"member {shown} collides with {other} (the same file where "
                              "case or Unicode form is ignored)")
            if not last and key not in self._folders:
                raise Refused(f"member {ui.printable(name)} is inside {ui.printable(known)}, "
                              "which is a file")
            if last and folder != (key in self._folders):
                what = "a folder" if folder else "a file"
                other = "a file" if folder else "a folder"
                raise Refused(f"member {ui.printable(name)} is {what}, but an earlier member "
                              f"made it {other}")
            if last and key in self._members:
                raise Refused(f"duplicate member {ui.printable(name)}")
        self._members.add(key)


class Tree:
    """The destination, entered only through folder descriptors: ``O_NOFOLLOW`` on every step
    and ``O_EXCL`` on every file, so nothing is followed and nothing is overwritten."""

    def __init__(self, dest: str) -> None:
        self._dest = ui.printable(dest)
        try:
            self._root = os.open(dest, _DIR_FLAGS)
        except OSError as error:
            raise FatalError(f"cannot use {self._dest}: {error.strerror or error}") from None
        if os.listdir(self._root):
            os.close(self._root)
            raise FatalError(f"{self._dest} is not empty; a bundle is only unpacked into a "
                             "fresh folder")
        self._made: set[str] = set()
        self._path = ""  # the folder whose descriptor is kept open (the last one used)
        self._fd = self._root

    def folder(self, path: str) -> int:
        """The descriptor of folder ``path`` ("" is the root), made 0755 where missing."""
        if path == self._path:
            return self._fd
        self._release()
        if not path:
            return self._root
        fd = self._root
        parts = path.split("/")
        try:
            for number, part in enumerate(parts):
                prefix = "/".join(parts[: number + 1])
                if prefix not in self._made:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    self._made.add(prefix)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                if fd != self._root:
                    os.close(fd)
                fd = child
        except OSError as error:
            if fd != self._root:
                os.close(fd)
            raise self._error(path, error) from None
        self._path, self._fd = path, fd
        return fd

    def create(self, name: str) -> int:
        """A new file 0644 for member ``name``, opened for writing."""
        folder, _, leaf = name.rpartition("/")
        fd = self.folder(folder)
        try:
            return os.open(leaf, _FILE_FLAGS, 0o644, dir_fd=fd)
        except OSError as error:
            raise self._error(name, error) from None

    def write(self, fd: int, name: str, data: memoryview) -> None:
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError as error:
            raise self._error(name, error) from None

    def _error(self, name: str, error: OSError) -> FatalError:
        return FatalError(f"cannot write {ui.printable(name)} in {self._dest}: "
                          f"{error.strerror or error}")

    def _release(self) -> None:
        if self._fd != self._root:
            os.close(self._fd)
        self._path, self._fd = "", self._root

    def close(self) -> None:
        self._release()
        os.close(self._root)


class _Reader:
    """One pass over the bundle: headers checked, data hashed (and written) as it streams."""

    def __init__(self, stream: _Stream, compressed: int, expect: Expect, tree: Tree | None,
                 keep: Collection[str], limits: Limits, manifest: str) -> None:
        self._stream = stream
        self._compressed = compressed  # the .tar.gz's size, for the compression ratio
        self._expect = expect
        self._tree = tree
        self._keep = keep
        self._limits = limits
        self._manifest = manifest
        self._names = Names()
        self._listed: Mapping[str, tuple[int, str]] | None = None  # after the manifest
        self._folders: set[str] = set()  # the folders of listed files
        self._count = 0
        self._total = 0
        self.files: dict[str, str] = {}
        self.small: dict[str, bytes] = {}

    def run(self) -> Contents:
        for header in self._headers():
            self._member(header)
        if self._listed is None:
            raise Refused(f"no members; a bundle starts with {self._manifest}")
        missing = [name for name in self._listed if name not in self.files]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise Refused(f"missing member {ui.printable(missing[0])}{more} (listed in "
                          f"{self._manifest})")
        return Contents(self.files, self.small)

    # --- the tar structure -------------------------------------------------------------------

    def _headers(self) -> Iterator[_Header]:
        """Each member's header with its extensions applied; the caller reads its data before
        asking for the next one."""
        stream = self._stream
        name: str | None = None  # from a pax path or GNU long name, for the next header
        size: int | None = None
        sparse = False
        extended = False
        while True:
            block = stream.read(BLOCK)
            if len(block) < BLOCK:
                where = "inside a header" if block or extended else "without an end marker"
                raise Refused(f"truncated: the tar archive ends {where}")
            if block == _ZERO_BLOCK:
                if extended:
                    raise Refused("truncated: an extended header without its member")
                self._end()
                return
            header = _parse(block)
            if header.type in (b"x", b"L"):
                if extended:
                    raise Refused("bad tar archive (two extended headers for one member)")
                extended = True
                data = self._extension(header)
                if header.type == b"L":
                    name = data.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")
                    continue
                records = _pax(data)
                sparse = any(key.startswith(b"GNU.sparse.") or key == b"SCHILY.realsize"
                             for key in records)
                if b"path" in records:
                    name = records[b"path"].decode("utf-8", "surrogateescape")
                if b"size" in records:
                    text = records[b"size"]
                    if not text.isdigit() or len(text) > 20:
                        raise Refused("bad pax extended header (size)")
                    size = int(text)
                continue
            header = header._replace(name=header.name if name is None else name,
                                     size=header.size if size is None else size, sparse=sparse)
            if header.type == _DIR_TYPE and header.name.endswith("/"):
                header = header._replace(name=header.name[:-1])
            yield header
            self._skip(-header.size % BLOCK, header.name)
            name, size, sparse, extended = None, None, False, False

    def _extension(self, header: _Header) -> bytes:
        """The data of a pax or GNU long-name header, bounded, counted in the declared total."""
        if header.size > PAX_MAX:
            raise Refused(f"an extended header of {ui.human_size(header.size)} (at most "
                          f"{ui.human_size(PAX_MAX)})")
        self._declare(header.size)
        data = self._stream.read(header.size)
        if len(data) < header.size:
            raise Refused("truncated: the tar archive ends inside an extended header")
        self._skip(-header.size % BLOCK, "an extended header")
        return data

    def _skip(self, size: int, name: str) -> None:
        if len(self._stream.read(size)) < size:
            raise Refused(f"truncated: the tar archive ends inside {ui.printable(name)}")

    def _end(self) -> None:
        """After the first zero block: only zeros (at least one more block), then the end."""
        seen = 0
        while view := self._stream.take(CHUNK):
            if view.tobytes().strip(b"\x00"):
                raise Refused("non-zero data after the end of the tar archive")
            seen += len(view)
            if seen > PADDING_MAX:
                raise Refused(f"more than {ui.human_size(PADDING_MAX)} of padding after the "
                              "end of the tar archive")
        if seen < BLOCK:
            raise Refused("truncated: the tar end-of-archive marker is incomplete")

    # --- the rules -------------------------------------------------------------------------------

    def _member(self, header: _Header) -> None:
        name, limits = header.name, self._limits
        shown = ui.printable(name)
        folder = header.type == _DIR_TYPE
        if not folder and header.type not in _FILE_TYPES:
            kind = _TYPE_NAMES.get(header.type, f"of unknown type {header.type!r}")
            raise Refused(f"member {shown} is {kind}; a bundle holds only files and folders")
        if header.sparse:
            raise Refused(f"member {shown} is a sparse file; a bundle holds only plain files")
        self._count += 1
        if self._count > limits.members:
            raise Refused(f"more than the {limits.members} members allowed")
        problem = name_problem(name, limits)
        if problem:
            raise Refused(f"member {shown} {problem}")
        self._names.add(name, folder)
        if folder and header.size:
            raise Refused(f"member {shown} is a folder with data")
        if header.size > limits.member:
            raise Refused(f"member {shown} is {ui.human_size(header.size)}, more than the "
                          f"{ui.human_size(limits.member)} allowed for one file")
        self._declare(header.size)
        if self._listed is None:
            self._first(header)
        elif folder:
            if name not in self._folders:
                raise Refused(f"unexpected member {shown}/ (no file listed in "
                              f"{self._manifest} is in it)")
            if self._tree is not None:
                self._tree.folder(name)
        else:
            self._file_member(header)

    def _declare(self, size: int) -> None:
        """Counts ``size`` more declared bytes against the total and the compression ratio."""
        self._total += size
        self._check_total(self._total)

    def _check_total(self, total: int) -> None:
        limits = self._limits
        if total > limits.total:
            raise Refused(f"the declared sizes add up to more than "
                          f"{ui.human_size(limits.total)}")
        if total > RATIO_FLOOR and total > limits.ratio * self._compressed:
            raise Refused(f"the declared sizes are {total // self._compressed} times the "
                          f"compressed size (at most {limits.ratio}): a decompression bomb")

    def _first(self, header: _Header) -> None:
        """The manifest: first, a file, small; its list of members is checked against the
        limits before any other member is read."""
        shown = ui.printable(header.name)
        if header.name != self._manifest or header.type == _DIR_TYPE:
            raise Refused(f"the first member must be the file {self._manifest}, not {shown}")
        if header.size > MANIFEST_MAX:
            raise Refused(f"{self._manifest} is {ui.human_size(header.size)}, more than "
                          f"{ui.human_size(MANIFEST_MAX)}")
        data = self._stream.read(header.size)
        if len(data) < header.size:
            raise Refused(f"truncated: the tar archive ends inside {shown}")
        listed = self._expect(data)
        limits = self._limits
        if len(listed) + 1 > limits.members:
            raise Refused(f"{self._manifest} lists {len(listed)} files; with it, more than "
                          f"the {limits.members} members allowed")
        for name, (size, _) in listed.items():
            if size > limits.member:
                raise Refused(f"{self._manifest} lists {ui.printable(name)} of "
                              f"{ui.human_size(size)}, more than the "
                              f"{ui.human_size(limits.member)} allowed for one file")
            parts = name.split("/")
            self._folders.update("/".join(parts[:end]) for end in range(1, len(parts)))
        self._check_total(self._total + sum(size for size, _ in listed.values()))
        self._listed = listed
        self.files[header.name] = hashlib.sha256(data).hexdigest()
        self.small[header.name] = data
        if self._tree is not None:
            fd = self._tree.create(header.name)
            try:
                self._tree.write(fd, header.name, memoryview(data))
            finally:
                os.close(fd)

    def _file_member(self, header: _Header) -> None:
        """A listed file of the listed size, streamed through SHA-256 (and into ``dest``)."""
        name, size = header.name, header.size
        shown = ui.printable(name)
        assert self._listed is not None
        listed = self._listed.get(name)
        if listed is None:
            raise Refused(f"unexpected member {shown} (not listed in {self._manifest})")
        if size != listed[0]:
            raise Refused(f"member {shown} is {size} bytes, but {self._manifest} says "
                          f"{listed[0]}")
        kept: list[bytes] | None = None
        if name in self._keep:
            if size > KEEP_MAX:
                raise Refused(f"member {shown} is {ui.human_size(size)}, too large to read "
                              f"(at most {ui.human_size(KEEP_MAX)})")
            kept = []
        tree = self._tree
        fd = tree.create(name) if tree is not None else -1
        try:
            digest = hashlib.sha256()
            left = size
            while left:
                view = self._stream.take(left)
                if not view:
                    raise Refused(f"truncated: the tar archive ends inside {shown}")
                digest.update(view)
                if tree is not None:
                    tree.write(fd, name, view)
                if kept is not None:
                    kept.append(view.tobytes())
                left -= len(view)
        finally:
            if fd >= 0:
                os.close(fd)
        if digest.hexdigest() != listed[1]:
            raise Refused(f"member {shown} does not match its SHA-256 in {self._manifest}")
        self.files[name] = listed[1]
        if kept is not None:
            self.small[name] = b"".join(kept)


def _kind(start: bytes) -> str:
    """What a file that is not gzip looks like, for the refusal."""
    if not start:
        return "the file is empty"
    for magic, kind in _OTHER_FORMATS:
        if start.startswith(magic):
            return f"it is {kind}"
    if start[257:262] == b"ustar":
        return "it is an uncompressed tar"
    return "it does not start with the gzip signature"
