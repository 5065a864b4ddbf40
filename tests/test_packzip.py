"""The reader of a custom node pack's zip: a registry-shaped pack unpacked exactly, and hostile
zips built here — each refused in one line, nothing written outside ``dest`` (and, for what
the central directory shows, nothing written at all)."""

from __future__ import annotations

import os
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from git_comfy import packzip
from git_comfy.errors import FatalError

UMASK = os.umask(0)
os.umask(UMASK)
TOP = "comfyui-foo-1.2.0"
FILES = {  # a pack as the registry serves it: sources, a web folder, its pyproject
    "__init__.py": b"from .nodes import NODE_CLASS_MAPPINGS\n",
    "nodes/foo.py": b"NODE_CLASS_MAPPINGS = {}\n",
    "web/js/foo.js": b"export {};\n",
    "pyproject.toml": b'[project]\nname = "comfyui-foo"\nversion = "1.2.0"\n',
}


def entry(name: str, *, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def make_zip(path: Path, members: Sequence[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate names it is asked for
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for info, data in members:
                archive.writestr(info, data)
    return path


def pack_zip(path: Path, top: str = TOP) -> Path:
    """A registry-shaped pack: everything inside one folder, folder entries included."""
    folders = [f"{top}/", f"{top}/nodes/", f"{top}/web/", f"{top}/web/js/"]
    return make_zip(path, [(entry(name, mode=stat.S_IFDIR | 0o755), b"") for name in folders]
                    + [(entry(f"{top}/{name}"), data) for name, data in FILES.items()])


def listing(root: Path) -> dict[str, int]:
    """Every path under ``root`` with its mode (lstat: a link is seen as a link)."""
    return {str(p.relative_to(root)): p.lstat().st_mode for p in sorted(root.rglob("*"))}


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """Deep enough that ``../../x`` would still land inside ``tmp_path``, where it is looked
    for."""
    folder = tmp_path / "a" / "b" / "dest"
    folder.mkdir(parents=True)
    return folder


def test_a_registry_pack_is_unpacked_exactly_without_its_top_folder(
        tmp_path: Path, dest: Path) -> None:
    written = packzip.extract(str(pack_zip(tmp_path / "pack.zip")), str(dest))
    assert written == list(FILES)
    assert {name: (dest / name).read_bytes() for name in written} == FILES
    assert listing(dest) == {
        **{name: stat.S_IFREG | 0o644 & ~UMASK for name in FILES},
        **{name: stat.S_IFDIR | 0o755 & ~UMASK for name in ("nodes", "web", "web/js")}}


def test_the_top_folder_stays_when_a_file_sits_beside_it(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "pack.zip", [(entry("__init__.py"), b""),
                                               (entry("nodes/foo.py"), b"")])
    assert packzip.extract(str(archive), str(dest)) == ["__init__.py", "nodes/foo.py"]
    archive = make_zip(tmp_path / "one.zip", [(entry("nodes.py"), b"x")])
    (tmp_path / "one").mkdir()
    assert packzip.extract(str(archive), str(tmp_path / "one")) == ["nodes.py"]


def patched(path: Path, edit: Callable[[bytearray], None]) -> Path:
    data = bytearray(path.read_bytes())
    edit(data)
    path.write_bytes(data)
    return path


def local_lies(data: bytearray) -> None:
    struct.pack_into("<L", data, 22, 1 << 20)  # the first local header's uncompressed size


def encrypted(data: bytearray) -> None:
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature) + flags
        struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] | 1)


def bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open(entry(f"{TOP}/weights.py"), "w") as stream:
        zeros = bytes(1 << 20)
        for _ in range(200):
            stream.write(zeros)
    return path


Build = Callable[[Path], Path]
HOSTILE: dict[str, tuple[Build, str]] = {
    "zip-slip": (lambda p: make_zip(p, [(entry("../../x"), b"pwned")]), "a '..' component"),
    "absolute": (lambda p: make_zip(p, [(entry("/x"), b"pwned")]), "an absolute path"),
    "backslash": (lambda p: make_zip(p, [(entry("..\\x"), b"pwned")]), "a backslash"),
    "symlink": (lambda p: make_zip(p, [(entry("link", mode=stat.S_IFLNK | 0o777), b"../.."),
                                       (entry("link/x"), b"pwned")]), "a symbolic link"),
    "fifo": (lambda p: make_zip(p, [(entry("pipe", mode=stat.S_IFIFO | 0o644), b"")]),
             "neither a plain file nor a folder"),
    "duplicate": (lambda p: make_zip(p, [(entry("a.py"), b"1"), (entry("a.py"), b"2")]),
                  "duplicate member a.py"),
    "case": (lambda p: make_zip(p, [(entry("Workflow.py"), b"1"), (entry("workflow.py"), b"2")]),
             "collides with Workflow.py"),
    "git-hook": (lambda p: make_zip(p, [(entry(f"{TOP}/.git/hooks/pre-commit",
                                               mode=stat.S_IFREG | 0o755), b"#!/bin/sh\n")]),
                 "a git folder"),
    "bomb": (bomb, "a decompression bomb"),
    "lying-local-header": (lambda p: patched(make_zip(p, [(entry("a.py"), b"print(1)\n")]),
                                             local_lies), "local header and the central directory"),
    "encrypted": (lambda p: patched(make_zip(p, [(entry("a.py"), b"print(1)\n")]), encrypted),
                  "entry a.py is encrypted"),
    "20000-entries": (lambda p: make_zip(p, [(f"f/{n}.py", b"") for n in range(20_000)]),
                      "more than the 10000 entries allowed"),
    "junk-after": (lambda p: patched(make_zip(p, [(entry("a.py"), b"")]),
                                     lambda data: data.extend(b"junk")),
                   "data after the end of the zip archive"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_zip_is_refused_before_anything_is_written(
        tmp_path: Path, dest: Path, case: str) -> None:
    build, fragment = HOSTILE[case]
    archive = build(tmp_path / "hostile.zip")
    with pytest.raises(FatalError) as caught:
        packzip.extract(str(archive), str(dest))
    message = str(caught.value)
    assert fragment in message and "\n" not in message, message
    assert list(listing(tmp_path)) == ["a", "a/b", "a/b/dest", "hostile.zip"]


def test_an_entry_whose_bytes_differ_from_its_crc_is_refused(tmp_path: Path,
                                                             dest: Path) -> None:
    def wrong_crc(data: bytearray) -> None:
        for signature, crc in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
            at = data.find(signature) + crc
            struct.pack_into("<L", data, at, struct.unpack_from("<L", data, at)[0] ^ 1)

    archive = patched(make_zip(tmp_path / "pack.zip", [(entry("a.py"), b"print(1)\n")]),
                      wrong_crc)
    with pytest.raises(FatalError, match=r"entry a\.py is corrupt") as caught:
        packzip.extract(str(archive), str(dest))
    assert "\n" not in str(caught.value)
    assert os.listdir(tmp_path / "a" / "b") == ["dest"]  # a partial file only in dest


def test_dest_must_be_empty(tmp_path: Path, dest: Path) -> None:
    (dest / "old.py").write_bytes(b"")
    with pytest.raises(FatalError, match="is not empty"):
        packzip.extract(str(pack_zip(tmp_path / "pack.zip")), str(dest))
