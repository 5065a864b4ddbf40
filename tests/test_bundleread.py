"""``bundleread``: a benign bundle is verified (and unpacked) exactly; every hostile bundle of
notes/security.md §8 A1-A28 is refused with one specific line, leaving nothing anywhere."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import hostile
import pytest
from conftest import tree_digest
from hostile import file, folder

from git_comfy import bundleread
from git_comfy.bundleread import Contents, Limits
from git_comfy.errors import FatalError

DEFAULTS = Limits()


def expect_files(data: bytes) -> dict[str, tuple[int, str]]:
    """The test's manifest callback: core/bundle.py's format, ``files`` only."""
    try:
        files = json.loads(data)["files"]
        return {name: (entry["size"], entry["sha256"]) for name, entry in files.items()}
    except (ValueError, KeyError, TypeError) as error:
        raise FatalError(f"manifest.json is not a bundle manifest ({error!r})") from None


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TMPDIR of the test's own: where :func:`bundleread.unpacked` makes its folder,
    so a test can see that nothing was left there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    assert tempfile.gettempdir() == str(folder)
    return folder


def write(tmp_path: Path, data: bytes, name: str = "bundle.tar.gz") -> str:
    return str(hostile.write(tmp_path / "bundles" / name, data))


def refusal(bundle: str, expect: bundleread.Expect = expect_files, *, dest: str | None = None,
            keep: tuple[str, ...] = (), limits: Limits = DEFAULTS) -> str:
    """The one-line message of a read that must fail."""
    with pytest.raises(FatalError) as caught:
        bundleread.read(bundle, expect, dest=dest, keep=keep, limits=limits)
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message, message
    return message


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` → ``dir <mode>`` or ``<mode> <content>``."""
    found = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode & 0o7777
        kind = "dir" if path.is_dir() else path.read_bytes().decode()
        found[str(path.relative_to(root))] = f"{mode:o} {kind}"
    return found


UMASK = os.umask(0)
os.umask(UMASK)
FILE_MODE = f"{0o644 & ~UMASK:o}"
DIR_MODE = f"{0o755 & ~UMASK:o}"


# --- the benign bundle ---------------------------------------------------------------------------


def test_verify_only_returns_the_hashes_in_archive_order_and_writes_nothing(
        tmp_path: Path, temp: Path) -> None:
    bundle = write(tmp_path, hostile.benign())
    before = tree_digest(tmp_path)
    contents = bundleread.read(bundle, expect_files, keep=("workflow.json",))
    assert tree_digest(tmp_path) == before
    members = {m.info.name: m.data for m in hostile.benign_members() if m.listed}
    assert list(contents.files) == ["manifest.json", *members]
    for name, data in members.items():
        assert contents.files[name] == hashlib.sha256(data).hexdigest()
    assert set(contents.small) == {"manifest.json", "workflow.json"}
    assert contents.small["workflow.json"] == hostile.WORKFLOW
    assert expect_files(contents.small["manifest.json"])["workflow.json"][0] == 12


def test_dest_gets_exactly_the_files_with_plain_modes(tmp_path: Path) -> None:
    bundle = write(tmp_path, hostile.benign())
    dest = tmp_path / "dest"
    dest.mkdir(mode=0o700)
    contents = bundleread.read(bundle, expect_files, dest=str(dest))
    manifest = contents.small["manifest.json"].decode()
    assert tree(dest) == {
        "manifest.json": f"{FILE_MODE} {manifest}",
        "nodes": f"{DIR_MODE} dir",
        "nodes/x": f"{DIR_MODE} dir",
        "nodes/x/__init__.py": f"{FILE_MODE} from .a import *\n",
        "nodes/x/a.py": f"{FILE_MODE} NODE_CLASS_MAPPINGS = {{}}\n",
        "workflow.json": f"{FILE_MODE} {hostile.WORKFLOW.decode()}",
    }


def test_a11_setuid_sticky_and_world_writable_modes_are_not_applied(tmp_path: Path) -> None:
    bundle = write(tmp_path, hostile.strange_modes())
    dest = tmp_path / "dest"
    dest.mkdir(mode=0o700)
    bundleread.read(bundle, expect_files, dest=str(dest))
    modes = {name: entry.split()[0] for name, entry in tree(dest).items()}
    assert modes["nodes/y"] == DIR_MODE
    assert modes["nodes/y/run.py"] == modes["nodes/x/b.py"] == FILE_MODE


def test_unpacked_yields_a_private_folder_and_always_removes_it(
        tmp_path: Path, temp: Path) -> None:
    bundle = write(tmp_path, hostile.benign())
    with bundleread.unpacked(bundle, expect_files) as (where, contents):
        assert os.path.dirname(where) == str(temp)
        assert os.path.basename(where).startswith("git-comfy-bundle-")
        assert os.stat(where).st_mode & 0o777 == 0o700
        assert (Path(where) / "nodes/x/a.py").read_bytes() == b"NODE_CLASS_MAPPINGS = {}\n"
        assert isinstance(contents, Contents)
    assert os.listdir(temp) == []
    with pytest.raises(RuntimeError), bundleread.unpacked(bundle, expect_files):
        raise RuntimeError("the caller failed")
    assert os.listdir(temp) == []


def test_ctrl_c_while_reading_removes_the_folder(tmp_path: Path, temp: Path) -> None:
    bundle = write(tmp_path, hostile.benign())

    def interrupted(data: bytes) -> dict[str, tuple[int, str]]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), bundleread.unpacked(bundle, interrupted):
        pytest.fail("not reached")
    assert os.listdir(temp) == []


def test_a_gnu_format_bundle_with_long_names_is_read(tmp_path: Path) -> None:
    """Names over 100 bytes as GNU tar's default format writes them (an ``L`` header before the
    member) and as plain ustar does (the folder in the ``prefix`` field)."""
    long = "nodes/" + "a" * 120 + "/x.py"  # over 100 bytes; its folder fits a ustar prefix
    members = [file("workflow.json", hostile.WORKFLOW), file(long, b"x = 1\n")]
    listing = {m.info.name: (len(m.data), hostile.sha256(m.data)) for m in members}
    for format in (tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT):
        body = b"".join(hostile.entry(m, format) for m in [
            file("manifest.json", hostile.manifest(listing)), *members])
        bundle = write(tmp_path, gzip.compress(body + bytes(1024)), f"{format}.tar.gz")
        assert list(bundleread.read(bundle, expect_files).files)[2] == long


def test_two_thousand_members(tmp_path: Path, temp: Path) -> None:
    members = [file(f"nodes/n{n // 100}/f{n}.py", f"# {n}\n".encode() * 20)
               for n in range(2000)]
    bundle = write(tmp_path, gzip.compress(hostile.tar(members)))
    with bundleread.unpacked(bundle, expect_files) as (where, contents):
        assert len(contents.files) == 2001
        assert (Path(where) / "nodes/n19/f1999.py").read_bytes() == b"# 1999\n" * 20
        assert sum(len(files) for _, _, files in os.walk(where)) == 2001


# --- the hostile bundles -------------------------------------------------------------------------


@pytest.fixture
def victims(tmp_path: Path) -> Iterator[Path]:
    """Files beside the temp folder that an escape would reach (``../victim.txt``, ``.ssh``)."""
    (tmp_path / "victim.txt").write_text("victim\n")
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAA owner\n")
    yield tmp_path
    for target in hostile.ABSOLUTE_TARGETS:
        assert not os.path.lexists(target)
        assert not os.path.lexists(os.path.dirname(target))


def test_every_archive_case_of_the_notes_has_a_fixture() -> None:
    covered = {int(case_id[1:3]) for case_id in hostile.REFUSED} | {11, 28}  # tested below
    assert covered == set(range(1, 29))


@pytest.mark.parametrize("case_id", sorted(hostile.REFUSED))
def test_hostile_bundle_is_refused_leaving_nothing(case_id: str, tmp_path: Path, temp: Path,
                                                   victims: Path) -> None:
    bundle = str(hostile.build(case_id, tmp_path / "bundles"))
    before = tree_digest(tmp_path)
    with pytest.raises(FatalError) as caught, bundleread.unpacked(bundle, expect_files):
        pytest.fail("accepted")
    message = str(caught.value)
    assert message.startswith(f"{bundle}: ")
    assert hostile.REFUSED[case_id].reason in message, message
    assert "\n" not in message and "\x1b" not in message and "\u202e" not in message
    assert tree_digest(tmp_path) == before  # nothing written, nothing left in TMPDIR
    assert os.listdir(temp) == []
    assert refusal(bundle) == message  # verify-only says the same


def test_a27_a_second_import_never_merges_into_an_earlier_one(
        tmp_path: Path, temp: Path, victims: Path) -> None:
    plant = str(hostile.build("A27-plant", tmp_path / "bundles"))
    follow = write(tmp_path, hostile.follow_up(), "follow.tar.gz")
    keys = (victims / ".ssh" / "authorized_keys").read_bytes()
    with pytest.raises(FatalError, match="symbolic link"), bundleread.unpacked(plant, expect_files):
        pass
    with bundleread.unpacked(follow, expect_files) as (first, _), \
            bundleread.unpacked(follow, expect_files) as (second, _):
        assert first != second
        written = Path(second) / "x" / "authorized_keys"
        assert not written.is_symlink() and not written.parent.is_symlink()
    assert (victims / ".ssh" / "authorized_keys").read_bytes() == keys
    assert os.listdir(temp) == []
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "left.txt").write_text("an earlier import\n")
    assert "is not empty" in refusal(follow, dest=str(dest))


def test_dest_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    bundle = write(tmp_path, hostile.benign())
    assert "cannot use" in refusal(bundle, dest=str(tmp_path / "link"))
    assert os.listdir(tmp_path / "real") == []


# --- A28: the disk fills up ----------------------------------------------------------------------


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real "No space left on device". Needs root (CI runs as root)."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    mount = ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(where)]
    done = subprocess.run(mount, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a28_disk_full_is_one_line_and_leaves_nothing(
        tmp_path: Path, small_filesystem: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = write(tmp_path, hostile.large(2 << 20))
    monkeypatch.setenv("TMPDIR", str(small_filesystem))
    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(FatalError) as caught, bundleread.unpacked(bundle, expect_files):
        pytest.fail("a 2 MiB file fitted in 1 MiB")
    message = str(caught.value)
    assert "cannot write nodes/x/weights.bin" in message
    assert "No space left on device" in message and "\n" not in message
    assert os.listdir(small_filesystem) == []


_CHILD = """
import json, resource, signal, sys
from git_comfy import bundleread
from git_comfy.errors import FatalError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
def expect(data):
    return {k: (v["size"], v["sha256"]) for k, v in json.loads(data)["files"].items()}
try:
    with bundleread.unpacked(sys.argv[1], expect):
        pass
except FatalError as error:
    print(error)
    sys.exit(1)
"""


def test_a28_a_write_that_fails_midway_leaves_nothing(tmp_path: Path, temp: Path) -> None:
    """The same without root: a child process whose file size limit is 1 MiB."""
    bundle = write(tmp_path, hostile.large(2 << 20))
    done = subprocess.run([sys.executable, "-c", _CHILD, bundle], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "cannot write nodes/x/weights.bin" in done.stdout
    assert "File too large" in done.stdout and done.stdout.count("\n") == 1
    assert os.listdir(temp) == []


# --- the manifest protocol -----------------------------------------------------------------------


def _listing(**changes: tuple[int, str]) -> dict[str, tuple[int, str]]:
    members = hostile.benign_members()
    listing = {m.info.name: (len(m.data), hostile.sha256(m.data)) for m in members if m.listed}
    return {**listing, **changes}


def test_the_manifest_must_come_first(tmp_path: Path) -> None:
    members = hostile.benign_members()
    body = hostile.tar(members[1:], listing=_listing())
    late = hostile.entry(members[0]) + body
    assert "must be the file manifest.json, not workflow.json" in refusal(
        write(tmp_path, gzip.compress(late)))
    as_folder = hostile.entry(folder("manifest.json")) + body
    assert "must be the file manifest.json, not manifest.json" in refusal(
        write(tmp_path, gzip.compress(as_folder), "folder.tar.gz"))


def test_an_invalid_manifest_is_the_callback_s_refusal(tmp_path: Path, temp: Path) -> None:
    body = hostile.entry(file("manifest.json", b"[not json")) + bytes(1024)
    bundle = write(tmp_path, gzip.compress(body))
    assert "is not a bundle manifest" in refusal(bundle)
    with pytest.raises(FatalError), bundleread.unpacked(bundle, expect_files):
        pass
    assert os.listdir(temp) == []


@pytest.mark.parametrize(("listing", "fragment"), [
    (_listing(**{"workflow.json": (13, hostile.sha256(hostile.WORKFLOW))}),
     "member workflow.json is 12 bytes, but manifest.json says 13"),
    (_listing(**{"workflow.json": (12, hostile.sha256(b"other"))}),
     "member workflow.json does not match its SHA-256 in manifest.json"),
    (_listing(**{"nodes/x/b.py": (1, "0" * 64), "nodes/x/c.py": (1, "0" * 64)}),
     "missing member nodes/x/b.py and 1 more (listed in manifest.json)"),
])
def test_members_must_match_the_manifest(listing: dict[str, tuple[int, str]], fragment: str,
                                         tmp_path: Path, temp: Path) -> None:
    bundle = write(tmp_path, gzip.compress(hostile.tar(hostile.benign_members(), listing=listing)))
    assert fragment in refusal(bundle)
    with pytest.raises(FatalError, match=re.escape(fragment)), \
            bundleread.unpacked(bundle, expect_files):
        pass
    assert os.listdir(temp) == []


# --- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("limits", "fragment"), [
    (Limits(members=5), "more than the 5 members allowed"),  # 5 files, then 2 folders
    (Limits(members=4), "manifest.json lists 4 files; with it, more than the 4 members allowed"),
    (Limits(member=4000), "manifest.json lists nodes/x/big.bin of 4.9 KiB, more than the "
                          "3.9 KiB allowed for one file"),
    (Limits(total=1000), "the declared sizes add up to more than 1000 B"),
    (Limits(name=15), "member nodes/x/__init__.py has a name longer than 15 bytes"),
    (Limits(component=8), "member manifest.json has a path component longer than 8 bytes"),
])
def test_limits(limits: Limits, fragment: str, tmp_path: Path) -> None:
    bundle = write(tmp_path, hostile.hostile(file("nodes/x/big.bin", b"x" * 5000)))
    assert fragment in refusal(bundle, limits=limits)
    assert bundleread.read(bundle, expect_files).files  # and the defaults accept it


def test_the_manifest_and_kept_members_are_bounded(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = write(tmp_path, hostile.benign())
    monkeypatch.setattr(bundleread, "KEEP_MAX", 20)
    assert "member nodes/x/a.py is 25 B, too large to read" in refusal(
        bundle, keep=("nodes/x/a.py",))
    monkeypatch.setattr(bundleread, "MANIFEST_MAX", 100)
    assert "more than 100 B" in refusal(bundle)


# --- the tar and gzip structure ------------------------------------------------------------------


def _raw(info: tarfile.TarInfo, data: bytes = b"") -> bytes:
    return hostile.entry(hostile.Member(info, data), tarfile.USTAR_FORMAT)


def _pax_header(records: bytes, kind: bytes = tarfile.XHDTYPE) -> bytes:
    info = tarfile.TarInfo("PaxHeaders/x")
    info.type, info.size = kind, len(records)
    return _raw(info, records)


def _with(*raw: bytes, tail: bytes = bytes(1024)) -> bytes:
    """The benign bundle with raw blocks after its members."""
    members = hostile.benign_members()
    return gzip.compress(hostile.tar(members, tail=b"".join(raw) + tail))


def _bad_checksum() -> bytes:
    body = bytearray(hostile.tar(hostile.benign_members()))
    at = body.index(b"workflow.json\x00")
    body[at] = ord("W")
    return gzip.compress(bytes(body))


def _negative_size() -> bytes:
    block = bytearray(hostile.entry(file("nodes/x/n.py", b"")))
    block[124:136] = b"\xff" * 12
    return _with(hostile.checksummed(block))


def _folder_with_data() -> bytes:
    info = folder("nodes/x/sub").info
    info.size = 512
    return _with(_raw(info, b"x" * 512))


def _corrupt() -> bytes:
    data = bytearray(hostile.benign())
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(("build", "fragment"), [
    (_bad_checksum, "bad tar header (checksum)"),
    (_negative_size, "bad tar header (a negative number)"),
    (lambda: _with(_pax_header(b"17 comment=hello\n", tarfile.XGLTYPE)), "pax global header"),
    (lambda: _with(_pax_header(b"15 path=a.json\n"), _pax_header(b"15 path=b.json\n")),
     "two extended headers for one member"),
    (lambda: _with(_pax_header(b"99 path=a.json\n")), "bad pax extended header"),
    (lambda: _with(_pax_header(b"15 path=a.json\n15 path=b.json\n")), "bad pax extended header"),
    (lambda: _with(_pax_header(b"15 pathXa.json\n")), "bad pax extended header"),
    (lambda: _with(_pax_header(b"11 size=-1\n")), "bad pax extended header (size)"),
    (lambda: _with(_pax_header(b"15 path=a.json\n")), "an extended header without its member"),
    (lambda: _with(_raw(hostile.special("nodes/v", b"Z").info)), "of unknown type b'Z'"),
    (lambda: _with(_raw(hostile.special("nodes/k", tarfile.GNUTYPE_LONGLINK).info)),
     "a long link name"),
    (_folder_with_data, "is a folder with data"),
    (lambda: _with(tail=bytes(512)), "end-of-archive marker is incomplete"),
    (lambda: _with(tail=bytes(2 << 20)), "of padding after the end"),
    (lambda: _with(tail=b""), "truncated: the tar archive ends without an end marker"),
    (_corrupt, "corrupt gzip data"),
    (lambda: b"", "not a gzip tar bundle (the file is empty)"),
    (lambda: b"hello", "not a gzip tar bundle (it does not start with the gzip signature)"),
])
def test_malformed_archives(build: Callable[[], bytes], fragment: str, tmp_path: Path) -> None:
    assert fragment in refusal(write(tmp_path, build()))


def test_an_unreadable_bundle_is_one_line(tmp_path: Path) -> None:
    assert refusal(str(tmp_path)).startswith(f"cannot read {tmp_path}: ")
    assert "No such file" in refusal(str(tmp_path / "absent.tar.gz"))


def test_a_top_level_file_after_nested_ones_lands_in_dest(tmp_path: Path) -> None:
    """What export writes: ``nodes/…`` sorts before ``workflow.json``."""
    from git_comfy import bundlewrite
    from git_comfy.core import bundle

    members = {"README.md": b"read me", "nodes/dev/a/b.py": b"x = 1\n", "workflow.json": b"{}"}
    manifest = bundle.to_json(bundle.Manifest(
        tool_version="t", created="2026-01-01T00:00:00Z", workflow="w", workflow_format="ui",
        files=bundlewrite.checksums(members)))
    path = tmp_path / "b.tar.gz"
    path.write_bytes(bundlewrite.archive(manifest, members, 0))
    dest = tmp_path / "dest"
    dest.mkdir(mode=0o700)
    bundleread.read(str(path), bundle.expected_members, dest=str(dest))
    assert {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()} \
        == {**members, "manifest.json": manifest}
