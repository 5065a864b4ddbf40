"""Writing bundles: tar headers byte for byte as tarfile writes them, read back by tar."""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from git_comfy import bundlewrite

MTIME = 1764000000


@pytest.mark.parametrize("name, size", [
    ("README.md", 1373), ("nodes/x/a.py", 0), ("w" * 99, 5), ("big.bin", (1 << 33) - 1),
    ("café.py", 3), ("n/" + "x" * 120, 4), ("huge.bin", 1 << 33),
])
def test_headers_are_what_tarfile_writes(name: str, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, MTIME, 0o644
    assert bundlewrite._header(name, size, MTIME) == info.tobuf(
        tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def test_archive_reads_back_with_tar(tmp_path: Path) -> None:
    members = {"b.txt": b"bee", "a/c.py": b"print(1)\n", "caf\u00e9/" + "x" * 120: b"long"}
    data = bundlewrite.archive(b'{"m": 1}', members, MTIME)
    assert data[:4] == b"\x1f\x8b\x08\x00" and data[4:8] == bytes(4)  # no name, mtime 0
    assert len(gzip.decompress(data)) % bundlewrite.RECORD == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        found = [(m.name, m.size, m.mode, m.uid, m.gid, m.uname, m.mtime, m.type)
                 for m in tar.getmembers()]
    assert [f[0] for f in found] == ["manifest.json", "a/c.py", "b.txt", "café/" + "x" * 120]
    assert {f[1:] for f in found[1:2]} == {(9, 0o644, 0, 0, "", MTIME, tarfile.REGTYPE)}
    bundle = tmp_path / "b.tar.gz"
    bundle.write_bytes(data)
    subprocess.run(["tar", "xzf", str(bundle), "-C", str(tmp_path)], check=True)
    assert (tmp_path / "a" / "c.py").read_bytes() == b"print(1)\n"
    assert bundlewrite.archive(b'{"m": 1}', dict(reversed(members.items())), MTIME) == data
