"""The model index API on real files and a real SQLite database: incremental scans, quick and
full hashes, what is skipped and why, damage, and the progress bar. The cases where a bug would
hang (FIFOs, /dev/zero) run the real program under a timeout in tests/commands/test_models.py."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash
from conftest import unwritable

from git_comfy import index as index_module
from git_comfy import modelroots, ui
from git_comfy.errors import FatalError, cache_dir
from git_comfy.index import IndexedModel, ModelIndex, ScanReport
from git_comfy.modelroots import Root

HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


def settle(*paths: Path) -> None:
    """Dates every file under ``paths`` an hour back: models are rarely seconds old, and a file
    written moments ago is read again by the next scan (index.RACY_NS)."""
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            os.utime(file, ns=(HOUR_AGO_NS, HOUR_AGO_NS), follow_symlinks=False)


def quick(data: bytes) -> str:
    """The quick hash of a small file, computed independently."""
    return xxhash.xxh3_128(len(data).to_bytes(8, "little") + data).hexdigest()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ModelIndex]:
    with ModelIndex.open(str(tmp_path / "index" / "models.sqlite3")) as opened:
        yield opened


@pytest.fixture
def roots(comfyui: Path) -> list[Root]:
    settle(comfyui / "models")
    return modelroots.roots(str(comfyui), [])


def _by_relpath(index: ModelIndex) -> dict[str, IndexedModel]:
    return {model.relpath: model for model in index.all()}


def _counts(report: ScanReport) -> tuple[int, int, int, int, int, int]:
    return (report.new, report.changed, report.unchanged, report.removed, report.read,
            len(report.skipped))


# -- scanning -------------------------------------------------------------------------------------


def test_first_scan_of_comfyui(index: ModelIndex, roots: list[Root], comfyui: Path) -> None:
    report = index.scan(roots)
    assert _counts(report) == (3, 0, 0, 0, 3, 0)
    models = _by_relpath(index)
    assert set(models) == {"sd15/dreamshaper_8.safetensors", "portrait_detail_v2.safetensors",
                           "4x-demo.pth"}
    dream = models["sd15/dreamshaper_8.safetensors"]
    path = comfyui / "models" / "checkpoints" / "sd15" / "dreamshaper_8.safetensors"
    data = path.read_bytes()
    assert dream == IndexedModel(
        path=str(path), root=str(comfyui / "models" / "checkpoints"), folder="checkpoints",
        relpath="sd15/dreamshaper_8.safetensors", size=len(data),
        mtime_ns=path.stat().st_mtime_ns, quick_hash=quick(data), sha256=None,
    )


def test_rescan_reads_nothing(index: ModelIndex, roots: list[Root]) -> None:
    index.scan(roots)
    before = index.all()
    report = index.scan(roots)
    assert _counts(report) == (0, 0, 3, 0, 0, 0)
    assert index.all() == before


def test_same_size_same_mtime_rewrite_is_not_noticed(index: ModelIndex, roots: list[Root],
                                                     comfyui: Path) -> None:
    """The documented trade-off: (size, mtime_ns, inode, dev) decide, so content rewritten in
    place with its mtime put back is not read again; a changed mtime is."""
    index.scan(roots)
    path = comfyui / "models" / "loras" / "portrait_detail_v2.safetensors"
    old = path.read_bytes()
    info = path.stat()
    new = bytes(reversed(old))
    with open(path, "r+b") as file:  # in place: same inode
        file.write(new)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert _counts(index.scan(roots)) == (0, 0, 3, 0, 0, 0)
    assert _by_relpath(index)["portrait_detail_v2.safetensors"].quick_hash == quick(old)

    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1))
    assert _counts(index.scan(roots)) == (0, 1, 2, 0, 1, 0)
    assert _by_relpath(index)["portrait_detail_v2.safetensors"].quick_hash == quick(new)


def test_changed_size_and_vanished_files(index: ModelIndex, roots: list[Root],
                                         comfyui: Path) -> None:
    index.scan(roots)
    models = comfyui / "models"
    (models / "upscale_models" / "4x-demo.pth").unlink()
    grown = models / "loras" / "portrait_detail_v2.safetensors"
    with open(grown, "ab") as file:
        file.write(b"more")
    settle(grown)
    report = index.scan(roots)
    assert _counts(report) == (0, 1, 1, 1, 1, 0)
    assert set(_by_relpath(index)) == {"sd15/dreamshaper_8.safetensors",
                                       "portrait_detail_v2.safetensors"}


def test_a_whole_folder_removed(index: ModelIndex, roots: list[Root], comfyui: Path) -> None:
    index.scan(roots)
    for file in (comfyui / "models" / "upscale_models").iterdir():
        file.unlink()
    (comfyui / "models" / "upscale_models").rmdir()
    report = index.scan(modelroots.roots(str(comfyui), []))
    assert report.removed == 1
    assert "4x-demo.pth" not in _by_relpath(index)


def test_moved_file_keeps_its_hashes_without_a_read(index: ModelIndex, roots: list[Root],
                                                    comfyui: Path) -> None:
    index.scan(roots, full=True)
    models = comfyui / "models"
    old = models / "loras" / "portrait_detail_v2.safetensors"
    sha256 = _by_relpath(index)["portrait_detail_v2.safetensors"].sha256
    (models / "loras" / "style").mkdir()
    os.rename(old, models / "loras" / "style" / "renamed.safetensors")
    report = index.scan(roots, full=True)
    assert _counts(report) == (1, 0, 2, 1, 0, 0) and report.hashed == 0
    moved = _by_relpath(index)["style/renamed.safetensors"]
    assert moved.sha256 == sha256 is not None


def test_moved_file_among_many_is_looked_up_alone(index: ModelIndex, tmp_path: Path) -> None:
    """(Few files to read in a big index: each identity is looked up by itself.)"""
    base = tmp_path / "many"
    (base / "old").mkdir(parents=True)
    for number in range(40):
        (base / "old" / f"m{number}.safetensors").write_bytes(b"%d" % number)
    settle(base)
    roots = [Root("", str(base), "add-dir")]
    index.scan(roots, full=True)
    (base / "new").mkdir()
    os.rename(base / "old" / "m7.safetensors", base / "new" / "m7.safetensors")
    report = index.scan(roots, full=True)
    assert _counts(report) == (1, 0, 39, 1, 0, 0) and report.hashed == 0
    (moved,) = index.by_filename("m7.safetensors")
    assert moved.relpath == "new/m7.safetensors"
    assert moved.sha256 == hashlib.sha256(b"7").hexdigest()


def test_what_is_skipped_quietly(index: ModelIndex, comfyui: Path, roots: list[Root]) -> None:
    """Hidden folders and files, and names without a model extension, are not models."""
    checkpoints = comfyui / "models" / "checkpoints"
    for name in (".git/objects/model.safetensors", ".partial.safetensors", "notes.txt",
                 "preview.png", "config.yaml", "model.safetensors.part", "README"):
        (checkpoints / name).parent.mkdir(parents=True, exist_ok=True)
        (checkpoints / name).write_bytes(b"x")
    for name in ("a.CKPT", "b.gguf", "c.onnx", "d.sft", "e.pt2", "f.bin", "g.pkl", "h.pt"):
        (checkpoints / name).write_bytes(name.encode())
    settle(checkpoints)
    report = index.scan(roots)
    assert report.skipped == []
    names = {model.relpath for model in index.all() if model.folder == "checkpoints"}
    assert names == {"sd15/dreamshaper_8.safetensors", "a.CKPT", "b.gguf", "c.onnx", "d.sft",
                     "e.pt2", "f.bin", "g.pkl", "h.pt"}


def test_symlinked_model_is_followed_and_recorded_by_its_link(
    index: ModelIndex, comfyui: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-install"
    other.mkdir()
    target = other / "shared.safetensors"
    target.write_bytes(b"shared model bytes")
    settle(target)
    link = comfyui / "models" / "checkpoints" / "shared.safetensors"
    link.symlink_to(target)
    (comfyui / "models" / "checkpoints" / "linked-dir").symlink_to(other)
    report = index.scan(modelroots.roots(str(comfyui), []), full=True)
    assert report.skipped == []
    models = _by_relpath(index)
    assert models["shared.safetensors"].path == str(link)
    assert models["linked-dir/shared.safetensors"].path == str(
        comfyui / "models" / "checkpoints" / "linked-dir" / "shared.safetensors")
    expected = hashlib.sha256(b"shared model bytes").hexdigest()
    assert models["shared.safetensors"].sha256 == expected
    assert models["linked-dir/shared.safetensors"].sha256 == expected
    assert (report.read, report.hashed) == (4, 4)  # one file behind two names: read once


def test_link_loops_and_special_files_are_reported(index: ModelIndex, comfyui: Path) -> None:
    """(The FIFO case runs the real program under a timeout: test_models.py.)"""
    checkpoints = comfyui / "models" / "checkpoints"
    (checkpoints / "a.safetensors").symlink_to("b.safetensors")
    (checkpoints / "b.safetensors").symlink_to("a.safetensors")
    (checkpoints / "up").symlink_to("..")  # a folder loop
    (checkpoints / "self").symlink_to(".")
    (checkpoints / "dangling.ckpt").symlink_to("nowhere.ckpt")
    (checkpoints / "proc.safetensors").symlink_to("/proc/self/environ")
    (checkpoints / "cmdline.safetensors").symlink_to("/proc/self/cmdline")
    (checkpoints / "devices").symlink_to("/dev")
    settle(comfyui / "models")
    report = index.scan(modelroots.roots(str(comfyui), []))
    reasons = {os.path.basename(s.path): s.reason for s in report.skipped}
    assert reasons == {
        "a.safetensors": "a symlink loop",
        "b.safetensors": "a symlink loop",
        "dangling.ckpt": "a broken symlink (No such file or directory)",
        "proc.safetensors": "a link into /dev, /proc or /sys",
        "cmdline.safetensors": "a link into /dev, /proc or /sys",
        "devices": "a link into /dev, /proc or /sys",
    }
    assert report.new == 3  # the real models, each once despite the loops


def test_nested_roots_index_each_file_once(index: ModelIndex, tmp_path: Path) -> None:
    base = tmp_path / "models"
    (base / "checkpoints").mkdir(parents=True)
    (base / "checkpoints" / "a.safetensors").write_bytes(b"a")
    (base / "b.safetensors").write_bytes(b"b")
    settle(base)
    roots = [Root("", str(base), "add-dir"),
             Root("checkpoints", str(base / "checkpoints"), "add-dir")]
    index.scan(roots)
    assert sorted((m.folder, m.relpath) for m in index.all()) == [
        ("", "b.safetensors"), ("checkpoints", "a.safetensors")]


def test_undecodable_name_is_reported(index: ModelIndex, comfyui: Path, roots: list[Root]) -> None:
    folder = os.fsencode(comfyui / "models" / "loras")
    with open(os.path.join(folder, b"caf\xe9.safetensors"), "wb") as file:
        file.write(b"latin-1 name")
    report = index.scan(roots)
    assert [(os.path.basename(s.path), s.reason) for s in report.skipped] == [
        ("caf\udce9.safetensors", "the name is not valid UTF-8; rename it")]
    assert report.new == 3


def test_missing_root_is_reported(index: ModelIndex, tmp_path: Path) -> None:
    report = index.scan([Root("loras", str(tmp_path / "gone"), "add-dir")])
    assert [s.reason for s in report.skipped] == ["No such file or directory"]


def test_quick_hash_reads_three_chunks_of_a_huge_file(index: ModelIndex, tmp_path: Path) -> None:
    """A 1 TiB sparse file: read whole, it would take many minutes; its quick hash is the
    size plus 64 KiB at the start, middle and end."""
    base = tmp_path / "big"
    base.mkdir()
    path = base / "huge.safetensors"
    size = 1 << 40
    with open(path, "wb") as file:
        file.truncate(size)
        file.seek(size // 2 - 10)
        file.write(b"middle bytes")
    settle(path)
    start = time.monotonic()
    index.scan([Root("", str(base), "add-dir")])
    assert time.monotonic() - start < 5
    chunk = 64 * 1024
    with open(path, "rb") as file:
        parts = []
        for offset in (0, size // 2 - chunk // 2, size - chunk):
            file.seek(offset)
            parts.append(file.read(chunk))
    expected = xxhash.xxh3_128(size.to_bytes(8, "little") + b"".join(parts)).hexdigest()
    (model,) = index.all()
    assert model.quick_hash == expected and len(expected) == 32  # 128 bits, never truncated


# -- full hashes ---------------------------------------------------------------------------------


def test_full_scan_matches_hashlib_and_is_cached(index: ModelIndex, roots: list[Root]) -> None:
    report = index.scan(roots, full=True)
    assert report.hashed == 3
    for model in index.all():
        assert model.sha256 == hashlib.sha256(Path(model.path).read_bytes()).hexdigest()
    again = index.scan(roots, full=True)
    assert (again.read, again.hashed) == (0, 0)


def test_full_hash_api(index: ModelIndex, roots: list[Root], comfyui: Path) -> None:
    index.scan(roots)
    (model,) = index.by_filename("4x-demo.pth")
    expected = hashlib.sha256(Path(model.path).read_bytes()).hexdigest()
    assert index.full_hash(model) == expected
    assert index.by_sha256(expected.upper()) == index.by_filename("4x-demo.pth")
    assert index.by_filename("4x-demo.pth")[0].sha256 == expected  # cached
    Path(model.path).write_bytes(b"replaced")
    settle(Path(model.path))
    assert index.full_hash(model) == hashlib.sha256(b"replaced").hexdigest()
    Path(model.path).unlink()
    with pytest.raises(FatalError, match=r"cannot read .*4x-demo\.pth: No such file"):
        index.full_hash(model)


def test_a_file_written_moments_ago_is_hashed_but_not_cached(index: ModelIndex,
                                                             tmp_path: Path) -> None:
    """Its mtime may not change on a write within the same timestamp tick, so neither hash
    is trusted until it is older than RACY_NS: the next scan reads it again."""
    base = tmp_path / "fresh"
    base.mkdir()
    (base / "new.safetensors").write_bytes(b"just downloaded")
    roots = [Root("", str(base), "add-dir")]
    first = index.scan(roots, full=True)
    assert (first.new, first.hashed) == (1, 1)
    assert index.all()[0].sha256 is None
    second = index.scan(roots)
    assert (second.read, second.unchanged) == (1, 1)
    settle(base)
    index.scan(roots, full=True)
    assert index.all()[0].sha256 == hashlib.sha256(b"just downloaded").hexdigest()


def test_file_changing_while_hashed_is_never_cached_wrong(index: ModelIndex,
                                                          tmp_path: Path) -> None:
    """A large sparse file, rewritten in place (same size) and appended to by another thread
    while it is hashed: every try sees the change, so nothing is cached and it is reported.
    Once it holds still, the hash is the right one."""
    base = tmp_path / "busy"
    base.mkdir()
    path = base / "downloading.safetensors"
    with open(path, "wb") as file:
        file.truncate(1 << 30)
    settle(path)
    roots = [Root("", str(base), "add-dir")]
    index.scan(roots)
    stop = threading.Event()

    def writer() -> None:
        with open(path, "r+b") as file:
            counter = 0
            while not stop.is_set():
                counter += 1
                file.seek(0)
                file.write(counter.to_bytes(8, "little"))  # same size, new content
                if counter % 5 == 0:
                    file.seek(0, os.SEEK_END)
                    file.write(b"+")
                file.flush()
                time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        report = index.scan(roots, full=True)
    finally:
        stop.set()
        thread.join()
    assert report.hashed == 0
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("downloading.safetensors",
         "it kept changing while it was read (3 tries); scan again when it is complete")]
    assert all(model.sha256 is None for model in index.all())
    settle(path)
    index.scan(roots, full=True)
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while block := reader.read(1 << 20):
            digest.update(block)
    assert [model.sha256 for model in index.all()] == [digest.hexdigest()]


# -- queries -------------------------------------------------------------------------------------


def test_find_by_name_folder_and_hash(index: ModelIndex, roots: list[Root], comfyui: Path) -> None:
    odd = comfyui / "models" / "loras" / "100%_real.safetensors"
    odd.write_bytes(b"odd")
    settle(odd)
    index.scan(roots, full=True)

    def names(found: list[IndexedModel]) -> list[str]:
        return sorted(model.relpath for model in found)

    assert names(index.find("DREAM")) == ["sd15/dreamshaper_8.safetensors"]
    assert names(index.find("sd15/")) == ["sd15/dreamshaper_8.safetensors"]
    assert names(index.find("upscale")) == ["4x-demo.pth"]
    assert names(index.find("%")) == ["100%_real.safetensors"]  # LIKE's wildcards are literal
    assert names(index.find("_r")) == ["100%_real.safetensors"]
    assert index.find("flux") == []
    (demo,) = index.by_filename("4x-demo.pth")
    assert demo.sha256 is not None
    assert names(index.find(demo.quick_hash[:8])) == ["4x-demo.pth"]
    assert names(index.find(demo.sha256[:10].upper())) == ["4x-demo.pth"]
    assert index.by_filename("4X-DEMO.PTH") == []  # case-sensitive
    assert index.by_sha256("0" * 64) == []
    assert index.count() == 4


def test_by_filename_across_roots(index: ModelIndex, comfyui: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "nas"
    elsewhere.mkdir()
    (elsewhere / "4x-demo.pth").write_bytes(b"another copy")
    settle(elsewhere)
    index.scan(modelroots.roots(str(comfyui), [str(elsewhere)]))
    assert sorted(m.folder for m in index.by_filename("4x-demo.pth")) == ["", "upscale_models"]


def test_added_dirs(index: ModelIndex, tmp_path: Path, comfyui: Path) -> None:
    nas = tmp_path / "nas"
    (nas / "loras").mkdir(parents=True)
    (nas / "loras" / "x.safetensors").write_bytes(b"x")
    settle(nas)
    assert index.add_dir(str(nas)) is True
    assert index.add_dir(str(nas) + "/") is False  # the same folder
    assert index.added_dirs() == [str(nas)]
    index.scan(modelroots.roots(str(comfyui), index.added_dirs()))
    assert [m.folder for m in index.by_filename("x.safetensors")] == ["loras"]
    assert index.remove_dir(str(tmp_path / "other")) is False
    assert index.remove_dir(str(nas)) is True
    assert index.added_dirs() == [] and index.by_filename("x.safetensors") == []
    assert len(index.all()) == 3  # the ComfyUI's models stay


# -- the database ---------------------------------------------------------------------------------


def test_default_location_and_pragmas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not a repository: the default
    assert index_module.configured_path() == os.path.join(cache_dir(), "models.sqlite3")
    with ModelIndex.open() as opened:
        assert opened.path == index_module.default_path()
        run = opened.connection.execute
        assert run("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert run("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert run("PRAGMA user_version").fetchone()[0] == index_module.SCHEMA_VERSION
        assert run("PRAGMA busy_timeout").fetchone()[0] == 10_000


DAMAGED = "the model index {} is damaged; run git comfy models scan --rebuild"


def _damage_cases(tmp_path: Path) -> dict[str, Path]:
    cases = {}
    text = tmp_path / "text.sqlite3"
    text.write_text("not a database, just text\n" * 100)
    cases["text"] = text
    zeros = tmp_path / "zeros.sqlite3"
    zeros.write_bytes(b"\0" * 8192)
    cases["zeros"] = zeros
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (x)")
    cases["foreign"] = foreign
    wrong = tmp_path / "wrong.sqlite3"
    with sqlite3.connect(wrong) as connection:
        connection.execute("CREATE TABLE files (x)")
        connection.execute("PRAGMA user_version = 1")
    cases["wrong-schema"] = wrong
    return cases


@pytest.mark.parametrize("case", ["text", "zeros", "foreign", "wrong-schema"])
def test_damaged_index_is_one_line(tmp_path: Path, case: str) -> None:
    path = _damage_cases(tmp_path)[case]
    with pytest.raises(FatalError) as caught:
        ModelIndex.open(str(path))
    assert str(caught.value) == DAMAGED.format(path)
    with ModelIndex.open(str(path), rebuild=True) as rebuilt:
        assert rebuilt.all() == []


def test_truncated_index_is_damaged_then_rebuilt_keeping_added_dirs(
    tmp_path: Path, comfyui: Path
) -> None:
    path = tmp_path / "models.sqlite3"
    many = tmp_path / "many"
    many.mkdir()
    for number in range(400):
        (many / f"m{number:03}-{'x' * 100}.safetensors").write_bytes(b"%d" % number)
    settle(many)
    with ModelIndex.open(str(path)) as opened:
        opened.add_dir(str(many))
        opened.scan(modelroots.roots(None, opened.added_dirs()))
        opened.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with open(path, "r+b") as file:  # keep the header and the first pages, break the rest
        file.seek(size // 3)
        file.write(os.urandom(size // 3))
    with pytest.raises(FatalError) as caught, ModelIndex.open(str(path)) as opened:
        opened.all()
        opened.scan(modelroots.roots(None, [str(many)]))
    assert str(caught.value) == DAMAGED.format(path)
    with ModelIndex.open(str(path), rebuild=True) as rebuilt:
        assert rebuilt.added_dirs() == [str(many)]
        assert rebuilt.scan(modelroots.roots(None, rebuilt.added_dirs())).new == 400


def test_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "models.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(FatalError, match=r"made by a newer git-comfy \(schema 99\); upgrade"):
        ModelIndex.open(str(path))


def test_index_path_problems(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match=r"is a folder; set comfy\.indexPath to a file"):
        ModelIndex.open(str(tmp_path))
    locked = tmp_path / "locked"
    locked.mkdir()
    with unwritable(locked), pytest.raises(FatalError, match="cannot use the model index"):
        ModelIndex.open(str(locked / "models.sqlite3"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(FatalError, match="cannot create"):
        ModelIndex.open(str(tmp_path / "file" / "models.sqlite3"))


def test_busy_index_waits_for_the_writer(tmp_path: Path, comfyui: Path) -> None:
    """A writer holding the lock for 1 s delays a scan; it does not fail it."""
    path = str(tmp_path / "models.sqlite3")
    ModelIndex.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    timer.start()
    try:
        with ModelIndex.open(path) as opened:
            start = time.monotonic()
            settle(comfyui / "models")
            assert opened.scan(modelroots.roots(str(comfyui), [])).new == 3
            assert time.monotonic() - start >= 0.5
    finally:
        timer.join()
        holder.close()


# -- the progress bar ----------------------------------------------------------------------------


def test_progress_is_silent_off_a_terminal(tmp_path: Path) -> None:
    with open(tmp_path / "err", "w") as stream, \
            ui.Progress(10, "work", delay=0, stream=stream) as bar:
        for _ in range(10):
            bar.advance()
            time.sleep(0.02)
    assert (tmp_path / "err").read_text() == ""


def _drain(fd: int) -> str:
    """Everything the terminal has received (a pty hands it over in pieces)."""
    import select

    chunks = []
    while select.select([fd], [], [], 0.3)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_progress_draws_on_a_terminal_and_erases_itself() -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as stream, \
                ui.Progress(4 << 20, "hashing", unit="B", delay=0, stream=stream) as bar:
            for _ in range(4):
                bar.advance(1 << 20)
                time.sleep(ui.Progress.INTERVAL + 0.02)
        output = _drain(leader)
    finally:
        os.close(leader)
        os.close(follower)
    assert "\rhashing [" in output and "] 100% 4.0 MiB/4.0 MiB" in output
    assert output.endswith("\r")  # erased: spaces over the bar, the cursor back at the start


def test_progress_waits_before_drawing() -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        with open(follower, "w", closefd=False) as stream, \
                ui.Progress(3, "quick", stream=stream) as bar:  # done within the delay
            for _ in range(3):
                bar.advance()
        assert _drain(leader) == ""
    finally:
        os.close(leader)
        os.close(follower)


@pytest.mark.parametrize(("size", "text"), [
    (0, "0 B"), (812, "812 B"), (1024, "1.0 KiB"), (65648, "64.1 KiB"),
    (7 * 1024**3 + 1, "7.0 GiB"), (1 << 40, "1.0 TiB"), (1 << 60, "1024.0 PiB"),
])
def test_human_size(size: int, text: str) -> None:
    assert ui.human_size(size) == text


def test_a_version_1_index_gains_the_sources_table_and_keeps_its_folders(
        tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as connection:
        for statement in index_module._SCHEMA:
            if "sources" not in statement:
                connection.execute(statement)
        connection.execute("INSERT INTO dirs (path, added_ns) VALUES ('/models/extra', 1)")
        connection.execute("PRAGMA user_version = 1")
    with ModelIndex.open(str(path)) as opened:
        assert opened.added_dirs() == ["/models/extra"]
        opened.add_source("a" * 64, "https://example.com/a.safetensors")
        opened.add_source("a" * 64, "https://example.com/a.safetensors")
        assert opened.sources("a" * 64) == ["https://example.com/a.safetensors"]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 2


def test_remember_records_the_hash_of_a_file_just_written(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "loras"
    folder.mkdir(parents=True)
    model = folder / "new.safetensors"
    model.write_bytes(b"fresh bytes")  # too recent for a scan to cache its SHA-256
    digest = hashlib.sha256(b"fresh bytes").hexdigest()
    with ModelIndex.open(str(tmp_path / "index.sqlite3")) as opened:
        opened.scan([Root("loras", str(folder), "add-dir")])
        assert opened.by_sha256(digest) == []
        opened.remember(str(model), digest)
        [found] = opened.by_sha256(digest)
        assert found.path == str(model)
        assert opened.by_quick_hash(found.quick_hash, found.size) == [found]
