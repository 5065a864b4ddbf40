"""Hostile bundles: real ``.tar.gz`` files for notes/security.md §8 cases A1-A28, and the benign
bundle they are variations of.

Each bundle is what an attacker would send: ``manifest.json`` first, in the real format (every
file listed with its size and SHA-256), then the hostile members, so that the reader's specific
rule trips and not merely "unexpected member". Headers come from ``tarfile``'s own writer
(``TarInfo.tobuf``); the few things tarfile will not write (a GNU sparse header with its map, a
header claiming 8 GiB with no data behind it, truncation, a second gzip member) are raw bytes.

``REFUSED`` maps a case id (``A01-traversal``) to its builder and a fragment of the refusal;
A11 (modes normalised, accepted), A27 (two imports) and A28 (disk full) are accepted or need
their own setting, so they have their own builders.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from git_comfy.core import bundle

TarFormat = Literal[0, 1, 2]  # tarfile.USTAR_FORMAT, GNU_FORMAT, PAX_FORMAT

MANIFEST = "manifest.json"
WORKFLOW = b'{"nodes":[]}'  # 12 bytes, as in the manifest example of core/bundle.py
# Absolute names some cases aim at: the tests check that they never appear.
ABSOLUTE_TARGETS = ("/git-comfy-hostile/pwned.txt", "/git-comfy-hostile/victim.txt")
BLOCK = 512


@dataclass(frozen=True)
class Member:
    """One tar member: its header, its data, and whether the manifest lists it."""

    info: tarfile.TarInfo
    data: bytes = b""
    listed: bool = True


def file(name: str, data: bytes = b"print('hi')\n", *, mode: int = 0o644,
         listed: bool = True) -> Member:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
    return Member(info, data, listed)


def folder(name: str, *, mode: int = 0o755) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 1_700_000_000
    return Member(info, listed=False)


def special(name: str, kind: bytes, linkname: str = "", **fields: int) -> Member:
    """A member of another type: a link (``linkname``), a device, a FIFO."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = kind, linkname, 1_700_000_000
    for field, value in fields.items():
        setattr(info, field, value)
    return Member(info, listed=False)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(files: Mapping[str, tuple[int, str]]) -> bytes:
    """A manifest in core/bundle.py's real format (so that the import command's own checks pass
    and the reader's rules are what trips): ``files`` maps names to size and hash. ASCII JSON:
    a hostile name may hold lone surrogates."""
    document = json.loads(bundle.to_json(bundle.Manifest(
        tool_version="0.0.0", created="2026-01-01T00:00:00Z", workflow="hostile",
        workflow_format="ui")))
    document["files"] = {name: {"size": size, "sha256": digest}
                         for name, (size, digest) in files.items()}
    return json.dumps(document, indent=2).encode()


def entry(member: Member, format: TarFormat = tarfile.PAX_FORMAT) -> bytes:
    """The member's header block(s), its data and the padding to a whole block."""
    header = member.info.tobuf(format, "utf-8", "surrogateescape")
    return header + member.data + bytes(-len(member.data) % BLOCK)


def tar(members: Iterable[Member], *, listing: Mapping[str, tuple[int, str]] | None = None,
        tail: bytes = bytes(2 * BLOCK)) -> bytes:
    """A tar of ``manifest.json`` (listing the listed files, or ``listing`` when given) and
    ``members``, ending with ``tail`` (the end-of-archive blocks unless told otherwise)."""
    members = list(members)
    if listing is None:
        listing = {m.info.name: (len(m.data), sha256(m.data)) for m in members if m.listed}
    return b"".join([entry(file(MANIFEST, manifest(listing))), *map(entry, members), tail])


def benign_members() -> list[Member]:
    """A workflow and a custom node's source, with their folders, as tarfile.add writes them."""
    return [
        file("workflow.json", WORKFLOW),
        folder("nodes"),
        folder("nodes/x"),
        file("nodes/x/__init__.py", b"from .a import *\n"),
        file("nodes/x/a.py", b"NODE_CLASS_MAPPINGS = {}\n"),
    ]


def benign() -> bytes:
    return gzip.compress(tar(benign_members()), mtime=0)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- the refused cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]  # the bytes of the .tar.gz (or of what pretends to be one)
    reason: str  # a fragment of the one-line refusal


REFUSED: dict[str, Case] = {}


def refused(case_id: str, reason: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(build: Callable[[], bytes]) -> Callable[[], bytes]:
        REFUSED[case_id] = Case(build, reason)
        return build

    return register


def hostile(*members: Member) -> bytes:
    """The benign bundle with ``members`` added after its own."""
    return gzip.compress(tar([*benign_members(), *members]), mtime=0)


def build(case_id: str, where: Path) -> Path:
    """Writes case ``case_id`` into ``where``, named after it."""
    return write(where / f"{case_id}.tar.gz", REFUSED[case_id].build())


def _named(name: str) -> Callable[[], bytes]:
    """The benign bundle plus one listed file called ``name``."""
    return lambda: hostile(file(name))


for _name, _reason, _case in (
    ("../../pwned.txt", "a '..' component", "A01-traversal"),
    ("nodes/a/../../../pwned.txt", "a '..' component", "A02-traversal-inside"),
    (ABSOLUTE_TARGETS[0], "absolute path", "A03-absolute"),
    ("..\\..\\pwned.txt", "backslash", "A05-backslash"),
    ("C:pwned.txt", "':' in its name", "A05-drive"),
    ("nodes/x/a.py:stream", "':' in its name", "A05-alternate-stream"),
    ("nodes/x/./a2.py", "a '.' component", "A02-dot"),
    ("nodes//x/b.py", "empty component", "A02-empty-component"),
    (".git/hooks/pre-commit", ".git", "A15-git-hook"),
    ("nodes/x/.git/config", ".git", "A15-nested-git-config"),
    (".GIT/config", ".git", "A15-upper-case"),
    (".git./config", ".git", "A15-trailing-dot"),
    (".git /config", ".git", "A15-trailing-space"),
    ("git~1/config", ".git", "A15-short-name"),
    ("nodes/.git", ".git", "A15-gitfile"),
    ("nodes/\x1b[31mred.py", "control or invisible", "A16-ansi-escape"),
    ("nodes/new\nline.py", "control or invisible", "A16-newline"),
    ("nodes/x\x7f.py", "control or invisible", "A16-delete"),
    ("nodes/x\x85.py", "control or invisible", "A16-c1-control"),
    ("nodes/evil\u202eyp.txt", "control or invisible", "A16-bidi-override"),
    ("nodes/zero\u200bwidth.py", "control or invisible", "A16-zero-width"),
    ("nodes/line\u2028sep.py", "control or invisible", "A16-line-separator"),
    ("nodes/\udcff\udcfe.py", "not UTF-8", "A16-not-utf8"),
    ("CON.py", "Windows reserves", "A17-con"),
    ("nodes/aux.json", "Windows reserves", "A17-aux"),
    ("nodes/Com1.txt", "Windows reserves", "A17-com1"),
    ("nodes/lpt9", "Windows reserves", "A17-lpt9"),
    ("nodes/trailing.", "dot or space", "A17-trailing-dot"),
    ("nodes/trailing ", "dot or space", "A17-trailing-space"),
    ("nodes/" + "n" * 300 + ".py", "longer than 255 bytes", "A18-long-component"),
    ("/".join(["d" * 200] * 6) + "/x.py", "longer than 1024 bytes", "A18-long-path"),
):
    refused(_case, _reason)(_named(_name))


@refused("A04-pax-path", "a '..' component")
def pax_path_override() -> bytes:
    """A benign ustar name (``nodes/x/b.py``) that a pax ``path`` record replaces."""
    member = file("nodes/x/b.py")
    member.info.pax_headers = {"path": "../../pax_evil.txt"}
    return hostile(member)


@refused("A06-symlink-dot", "symbolic link")
def symlink_to_dot() -> bytes:
    return hostile(special("nodes/here", tarfile.SYMTYPE, "."))


@refused("A06-symlink-outside", "symbolic link")
def symlink_outside() -> bytes:
    return hostile(special("nodes/evil_link", tarfile.SYMTYPE, "../../outside"),
                   file("nodes/evil_link/f.py"))


@refused("A07-write-through", "symbolic link")
def symlink_then_file() -> bytes:
    """``alias -> workflow.json``, then a regular ``alias``: tarfile's data filter writes the
    second through the link, over workflow.json."""
    return hostile(special("alias", tarfile.SYMTYPE, "workflow.json"), file("alias", b"{}"))


@refused("A08-hardlink-relative", "hard link")
def hardlink_relative() -> bytes:
    return hostile(special("nodes/hl", tarfile.LNKTYPE, "../../victim.txt"))


@refused("A08-hardlink-absolute", "hard link")
def hardlink_absolute() -> bytes:
    return hostile(special("nodes/hl", tarfile.LNKTYPE, ABSOLUTE_TARGETS[1]))


@refused("A09-cve-2025-4517", "symbolic link")
def realpath_limit_chain() -> bytes:
    """The CVE-2025-4517 pattern: folders of 247-byte names, each reached through a one-letter
    symlink, until the real path passes PATH_MAX and ``os.path.realpath`` stops resolving; then
    a symlink climbing out, a hard link through it to a victim, a file written over the victim
    and one more created beside it. The manifest lists a file in the first folder so that the
    first folder is expected and the first symlink is the member refused."""
    long = "d" * 247
    members: list[Member] = []
    path = ""
    for step in "abcdefghijklmnop":
        members.append(folder(os.path.join(path, long)))
        members.append(special(os.path.join(path, step), tarfile.SYMTYPE, long))
        path = os.path.join(path, long)
    chain = os.path.join(*"abcdefghijklmnop", "l" * 254)
    members.append(special(chain, tarfile.SYMTYPE, "../" * 16))
    members.append(special("escape", tarfile.SYMTYPE, chain + "/../../.."))
    members.append(special("flaglink", tarfile.LNKTYPE, "escape/victim.txt"))
    members.append(file("flaglink", b"overwritten\n"))
    members.append(file("escape/newfile", b"created outside\n"))
    listing = {m.info.name: (len(m.data), sha256(m.data)) for m in members if m.listed}
    listing[f"{long}/x.py"] = (0, sha256(b""))
    return gzip.compress(tar(members, listing=listing), mtime=0)


@refused("A10-char-device", "character device")
def char_device() -> bytes:
    return hostile(special("nodes/null", tarfile.CHRTYPE, devmajor=1, devminor=3))


@refused("A10-block-device", "block device")
def block_device() -> bytes:
    return hostile(special("nodes/disk", tarfile.BLKTYPE, devmajor=8, devminor=0))


@refused("A10-fifo", "FIFO")
def fifo() -> bytes:
    return hostile(special("nodes/pipe", tarfile.FIFOTYPE))


@refused("A10-contiguous", "contiguous file")
def contiguous() -> bytes:
    return hostile(special("nodes/cont", tarfile.CONTTYPE))


@refused("A12-duplicate", "duplicate member")
def duplicate() -> bytes:
    return hostile(file("workflow.json", b'{"nodes":[1]}', listed=False))


@refused("A13-case", "collides with")
def case_collision() -> bytes:
    return hostile(file("Workflow.json", b"{}"))


@refused("A13-nfd", "collides with")
def unicode_collision() -> bytes:
    return hostile(file("nodes/x/caf\u00e9.py", b"a = 1\n"), file("nodes/x/cafe\u0301.py"))


@refused("A13-case-folder", "collides with")
def folder_case_collision() -> bytes:
    """Two spellings of one folder on macOS or Windows, reached through files only."""
    return hostile(file("Nodes/x/b.py"))


@refused("A14-folder-then-file", "is a file, but an earlier member made it a folder")
def folder_then_file() -> bytes:
    return hostile(file("nodes/x", b"x"))


@refused("A14-file-as-parent", "which is a file")
def file_as_parent() -> bytes:
    return hostile(file("nodes/y"), file("nodes/y/z.py"))


def _gnu_sparse_header(name: str, stored: int, apparent: int) -> bytes:
    """A GNU ``S`` header whose map puts ``stored`` bytes at the end of ``apparent`` bytes:
    tarfile reads these but will not write the map, so the fields are set here."""
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mtime = tarfile.GNUTYPE_SPARSE, stored, 1_700_000_000
    block = bytearray(info.tobuf(tarfile.GNU_FORMAT))

    def base256(value: int) -> bytes:
        return b"\x80" + value.to_bytes(11, "big")

    block[386:398] = base256(apparent - stored)  # the one map entry: offset, then size
    block[398:410] = b"%011o\x00" % stored
    block[483:495] = base256(apparent)  # realsize
    return checksummed(block)


def checksummed(block: bytearray) -> bytes:
    """A header block edited by hand, with its checksum made right again."""
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


@refused("A21-gnu-sparse", "sparse file")
def gnu_sparse() -> bytes:
    data = b"x" * BLOCK
    raw = _gnu_sparse_header("nodes/x/huge.bin", len(data), 1 << 40) + data
    listing = {"nodes/x/huge.bin": (len(data), sha256(data))}
    return gzip.compress(tar([], listing=listing, tail=raw + bytes(2 * BLOCK)), mtime=0)


@refused("A21-pax-sparse", "sparse file")
def pax_sparse() -> bytes:
    """GNU tar's pax sparse format 1.0: a regular-file type, the map in the data, and the real
    name and size in ``GNU.sparse.*`` records."""
    data = b"1\n%d\n512\n" % ((1 << 40) - BLOCK)
    data += bytes(-len(data) % BLOCK) + b"x" * BLOCK
    member = file("nodes/x/GNUSparseFile.0/huge.bin", data)
    member.info.pax_headers = {
        "GNU.sparse.major": "1", "GNU.sparse.minor": "0",
        "GNU.sparse.name": "nodes/x/huge.bin", "GNU.sparse.realsize": str(1 << 40),
    }
    return hostile(member)


@refused("A19-gzip-bomb", "decompression bomb")
def gzip_bomb() -> bytes:
    """256 MiB of zeros in one listed member: about 261 KB compressed (1000:1)."""
    size, chunk = 256 << 20, bytes(1 << 20)
    digest = hashlib.sha256()
    for _ in range(size // len(chunk)):
        digest.update(chunk)
    bomb = file("nodes/x/weights.bin")
    bomb.info.size = size
    head = tar([], listing={"nodes/x/weights.bin": (size, digest.hexdigest())}, tail=b"")
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(head + entry(Member(bomb.info)))]
    for _ in range(size // len(chunk)):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.compress(bytes(2 * BLOCK)))
    parts.append(compressor.flush())
    return b"".join(parts)


@refused("A20-member-count", "lists 20000 files; with it, more than the 10000 members")
def many_members() -> bytes:
    members = [file(f"nodes/x/f{number:05}.py", b"") for number in range(20_000)]
    return gzip.compress(tar(members), mtime=0, compresslevel=1)


@refused("A22-claims-8-gib-pax", "more than the 256.0 MiB allowed")
def claims_8_gib_pax() -> bytes:
    """``workflow.json`` listed at 12 bytes, its pax header saying 8 GiB, a few bytes behind."""
    return _claims_8_gib(tarfile.PAX_FORMAT)


@refused("A22-claims-8-gib-base256", "more than the 256.0 MiB allowed")
def claims_8_gib_base256() -> bytes:
    """The same, with the size in GNU base-256 in the ustar header itself."""
    return _claims_8_gib(tarfile.GNU_FORMAT)


def _claims_8_gib(format: TarFormat) -> bytes:
    liar = file("workflow.json", WORKFLOW)
    liar.info.size = 8 << 30
    listing = {"workflow.json": (len(WORKFLOW), sha256(WORKFLOW))}
    head = tar([], listing=listing, tail=b"")
    return gzip.compress(head + liar.info.tobuf(format, "utf-8", "strict") + b"x" * 1000,
                         mtime=0)


@refused("A23-truncated-data", "ends inside nodes/x/a.py")
def truncated_data() -> bytes:
    """A member whose header says 5000 bytes with 1000 behind it: a complete gzip stream."""
    data = b"#" * 5000
    whole = tar([file("nodes/x/a.py", data)])
    cut = whole.index(data) + 1000
    return gzip.compress(whole[:cut], mtime=0)


@refused("A23-truncated-header", "inside a header")
def truncated_header() -> bytes:
    whole = tar(benign_members())
    cut = whole.index(b"workflow.json\x00") + 100  # 100 bytes into the second header
    return gzip.compress(whole[:cut], mtime=0)


@refused("A23-truncated-gzip", "the gzip stream ends early")
def truncated_gzip() -> bytes:
    data = benign()
    return data[: len(data) // 2]


@refused("A24-appended-gzip-member", "after the end of the gzip stream")
def appended_gzip_member() -> bytes:
    """What ``tar -i`` (and ``gzip -d``) read as one archive; Python's tarfile sees only the
    first stream: a parser differential."""
    hidden = file("nodes/hidden.py", b"import os; os.system('id')\n")
    return benign() + gzip.compress(entry(hidden) + bytes(2 * BLOCK), mtime=0)


@refused("A24-trailing-junk", "after the end of the gzip stream")
def trailing_junk() -> bytes:
    return benign() + b"junk after the gzip stream\n"


@refused("A24-data-after-tar-end", "non-zero data after the end of the tar archive")
def data_after_tar_end() -> bytes:
    hidden = file("nodes/hidden.py", b"import os\n")
    return gzip.compress(tar(benign_members()) + entry(hidden) + bytes(2 * BLOCK), mtime=0)


@refused("A25-plain-tar", "uncompressed tar")
def plain_tar() -> bytes:
    return tar(benign_members())


@refused("A25-bzip2", "not a gzip tar bundle (it is bzip2)")
def bzip2_tar() -> bytes:
    return bz2.compress(tar(benign_members()))


@refused("A25-xz", "not a gzip tar bundle (it is xz)")
def xz_tar() -> bytes:
    return lzma.compress(tar(benign_members()))


@refused("A25-zip", "not a gzip tar bundle (it is a zip file)")
def zip_renamed() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(MANIFEST, manifest({}))
        archive.writestr("workflow.json", WORKFLOW)
    return buffer.getvalue()


@refused("A25-gzip-not-tar", "not a tar archive")
def gzip_not_tar() -> bytes:
    return gzip.compress(WORKFLOW * 100, mtime=0)


@refused("A26-unexpected-top-level", "unexpected member extra.sh")
def unexpected_top_level() -> bytes:
    return hostile(file("extra.sh", b"rm -rf ~\n", listed=False))


@refused("A26-unexpected-folder", "unexpected member models/")
def unexpected_folder() -> bytes:
    return hostile(folder("models"))


@refused("A26-no-manifest", "the first member must be the file manifest.json")
def no_manifest() -> bytes:
    return gzip.compress(b"".join(map(entry, benign_members())) + bytes(2 * BLOCK), mtime=0)


@refused("A26-missing-workflow", "missing member workflow.json")
def missing_workflow() -> bytes:
    members = benign_members()
    listing = {m.info.name: (len(m.data), sha256(m.data)) for m in members if m.listed}
    return gzip.compress(tar(members[1:], listing=listing), mtime=0)


@refused("A27-plant", "symbolic link")
def plant() -> bytes:
    """The first archive of GNU tar's CVE-2025-45582 pattern: ``x -> ../../.ssh``."""
    return hostile(special("x", tarfile.SYMTYPE, "../../.ssh"))


# --- the cases with their own tests -------------------------------------------------------------


def follow_up() -> bytes:
    """The second archive of that pattern: ``x/authorized_keys``, harmless in a fresh folder."""
    return hostile(folder("x"), file("x/authorized_keys", b"ssh-ed25519 AAAA attacker\n"))


def strange_modes() -> bytes:
    """A11: a setuid/setgid/sticky world-writable file and a sticky world-writable folder."""
    return hostile(folder("nodes/y", mode=0o1777), file("nodes/y/run.py", mode=0o6777),
                   file("nodes/x/b.py", mode=0o777))


def large(size: int) -> bytes:
    """A benign bundle with ``size`` random bytes in ``nodes/x/weights.bin`` (A28: more than
    the destination can hold; random, so the compression ratio is 1)."""
    return hostile(file("nodes/x/weights.bin", os.urandom(size)))
