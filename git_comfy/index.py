"""The model index: every model file on this machine, its quick hash and (on demand) its SHA-256,
in one SQLite database per user (``<user cache>/git-comfy/models.sqlite3``; git config
``comfy.indexPath`` moves it).

Scanning is incremental: a file whose (size, mtime_ns, inode, dev) did not change is not read
again. The trade-off: a file rewritten in place to the same size whose mtime is then set back is
not noticed; ``scan --rebuild`` reads everything again. A file's bytes are read only through an
fd opened with O_NONBLOCK and checked to be a regular file, so a FIFO or device named like a
model cannot hang the scan (notes/security.md 3.3), and a hash is stored only when the file did
not change while it was read (fstat before and after, then a stat of the name).

SQLite recipe (notes/security.md 6.2): WAL, busy timeout 10 s, ``BEGIN IMMEDIATE`` for every
write, short transactions, and no hashing inside one: two scans at once both succeed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from git_comfy import errors, modelfiles, ui
from git_comfy.errors import FatalError
from git_comfy.modelfiles import Skipped
from git_comfy.modelroots import Root

SCHEMA_VERSION = 2  # PRAGMA user_version; bump with the schema (the index is derived data)
FILE_NAME = "models.sqlite3"
CONFIG_KEY = "comfy.indexPath"
REBUILD = "git comfy models scan --rebuild"

CHECK_EVERY = 64 << 20  # bytes hashed between checks that the file is still the same
BATCH = 500  # rows per write transaction: short transactions, and progress survives Ctrl-C
BUSY_TIMEOUT = 10  # seconds SQLite waits for another writer

_COLUMNS = "path, root, folder, relpath, size, mtime_ns, quick_hash, sha256"
# where a model (by SHA-256) can be downloaded from: given at export, learnt at import; not
# derived from the files, so kept when a version-1 index gains the table
_SOURCES = (
    """CREATE TABLE sources (
        sha256 TEXT NOT NULL,
        url TEXT NOT NULL,
        added_ns INTEGER NOT NULL,
        PRIMARY KEY (sha256, url)
    )""",
)
_SCHEMA = (
    """CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        root TEXT NOT NULL,          -- the root folder it was found under
        folder TEXT NOT NULL,        -- ComfyUI folder key; '' = unknown
        relpath TEXT NOT NULL,       -- under root, '/'-separated
        path TEXT NOT NULL,          -- as found (a symlink's own path, not its target)
        name TEXT NOT NULL,          -- basename, for by_filename
        size INTEGER NOT NULL,       -- size, mtime_ns, inode, dev: of the file read (a link's
        mtime_ns INTEGER NOT NULL,   -- target); the hashes are valid while they stay the same
        inode INTEGER NOT NULL,
        dev INTEGER NOT NULL,
        quick_hash TEXT NOT NULL,    -- xxh3-128 of size + 3 x 64 KiB
        sha256 TEXT,                 -- NULL until computed
        settled INTEGER NOT NULL,    -- 0: read too soon after a write (RACY_NS); read again
        UNIQUE (root, folder, relpath)
    )""",
    "CREATE INDEX files_name ON files (name)",
    "CREATE INDEX files_sha256 ON files (sha256)",
    "CREATE INDEX files_quick_hash ON files (quick_hash)",
    "CREATE INDEX files_identity ON files (dev, inode, size, mtime_ns)",
    "CREATE TABLE dirs (path TEXT PRIMARY KEY, added_ns INTEGER NOT NULL)",
    *_SOURCES,
)
_UPSERT = """
    INSERT INTO files (root, folder, relpath, path, name, size, mtime_ns, inode, dev, quick_hash,
                       sha256, settled)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (root, folder, relpath) DO UPDATE SET
        path = excluded.path, name = excluded.name, size = excluded.size,
        mtime_ns = excluded.mtime_ns, inode = excluded.inode, dev = excluded.dev,
        quick_hash = excluded.quick_hash, sha256 = excluded.sha256, settled = excluded.settled
"""



@dataclass(frozen=True)
class IndexedModel:
    path: str
    root: str
    folder: str
    relpath: str
    size: int
    mtime_ns: int
    quick_hash: str
    sha256: str | None


@dataclass
class ScanReport:
    roots: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    read: int = 0  # files whose bytes were read for a quick hash
    hashed: int = 0  # files whose full SHA-256 was computed
    skipped: list[Skipped] = field(default_factory=list)


# -- where the index lives ----------------------------------------------------------------------


def default_path() -> str:
    return os.path.join(errors.cache_dir(), FILE_NAME)


def configured_path() -> str:
    """``comfy.indexPath`` as git resolves it (``~`` expanded; a relative value is relative to
    the work tree, like ``comfy.path``), else :func:`default_path`."""
    from git_comfy import git

    value = git.config_get(CONFIG_KEY, path=True)
    if not value:
        return default_path()
    if not os.path.isabs(value):
        code, out, _err = git.run(["rev-parse", "--show-toplevel"], check=False)
        top = out.decode("utf-8", "surrogateescape").strip() if code == 0 else ""
        value = os.path.join(top or os.getcwd(), value)
    return os.path.normpath(value)


# -- the database -------------------------------------------------------------------------------


def read_full(path: str, size: int) -> modelfiles.Read:
    """``path`` read whole for its SHA-256, with a progress bar on a terminal; one FatalError
    line when it goes away meanwhile or cannot be read."""
    try:
        with ui.Progress(size, f"hashing {os.path.basename(path)}", unit="B") as bar:
            return modelfiles.read(path, full=True, bar=bar)
    except modelfiles.Vanished:
        raise FatalError(f"{path} was removed while it was hashed") from None
    except modelfiles.Unreadable as error:
        raise FatalError(f"cannot hash {path}: {error}") from None


def _damaged(path: str) -> FatalError:
    return FatalError(f"the model index {path} is damaged; run {REBUILD}")


@contextlib.contextmanager
def _errors(path: str) -> Iterator[None]:
    """SQLite's exceptions as one clear line each (a misuse of the API stays a bug)."""
    try:
        yield
    except sqlite3.ProgrammingError:
        raise
    except sqlite3.OperationalError as error:
        name = getattr(error, "sqlite_errorname", "")
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            raise FatalError(f"the model index {path} stayed locked by another program for "
                             f"{BUSY_TIMEOUT} s; retry") from None
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_FULL",
                            "SQLITE_IOERR", "SQLITE_PERM")):
            raise FatalError(f"cannot use the model index {path}: {error}") from None
        raise _damaged(path) from None  # "no such table/column": someone else's schema
    except sqlite3.DatabaseError:  # not a database, malformed
        raise _damaged(path) from None


def _remove_files(path: str) -> None:
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise FatalError(f"cannot remove {name}: {error.strerror}") from None


def _salvage_dirs(path: str) -> list[tuple[str, int]]:
    """The added folders of an index about to be rebuilt, when they can still be read."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            rows = connection.execute("SELECT path, added_ns FROM dirs").fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return []
    return [(str(p), int(n)) for p, n in rows if isinstance(p, str) and isinstance(n, int)]


class ModelIndex:
    """An open index. ``with ModelIndex.open() as index: index.scan(roots)``."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: str | None = None, *, rebuild: bool = False) -> ModelIndex:
        """The index at ``path`` (default: :func:`configured_path`), created when missing.
        ``rebuild`` starts it afresh, keeping the added folders when they can be read."""
        path = configured_path() if path is None else os.path.abspath(path)
        if os.path.isdir(path):
            raise FatalError(f"the model index {path} is a folder; set {CONFIG_KEY} to a file")
        kept = []
        if rebuild:
            kept = _salvage_dirs(path) if os.path.exists(path) else []
            _remove_files(path)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as error:
            raise FatalError(f"cannot create {os.path.dirname(path)}: {error.strerror}") from None
        with _errors(path):
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        index = cls(connection, path)
        try:
            with _errors(path):
                index._prepare()
                if kept:
                    with index._transaction():
                        connection.executemany(
                            "INSERT OR IGNORE INTO dirs (path, added_ns) VALUES (?, ?)", kept)
        except BaseException:
            connection.close()
            raise
        return index

    def _prepare(self) -> None:
        run = self.connection.execute
        if run("PRAGMA journal_mode").fetchone()[0] != "wal":
            run("PRAGMA journal_mode=WAL")  # persistent: once, when the file is made
        run("PRAGMA synchronous=NORMAL")  # safe with WAL; a power cut may only lose a cache
        version = run("PRAGMA user_version").fetchone()[0]
        if version == 0:
            with self._transaction():
                version = run("PRAGMA user_version").fetchone()[0]  # another process won?
                if version == 0:
                    if run("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        raise _damaged(self.path)  # some other program's database
                    for statement in _SCHEMA:
                        run(statement)
                    run(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    version = SCHEMA_VERSION
        if version == 1:
            with self._transaction():
                if run("PRAGMA user_version").fetchone()[0] == 1:
                    for statement in _SOURCES:
                        run(statement)
                    run(f"PRAGMA user_version = {SCHEMA_VERSION}")
                version = SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise FatalError(
                f"the model index {self.path} was made by a newer git-comfy (schema {version}); "
                f"upgrade git-comfy, or run {REBUILD}"
            )
        if version != SCHEMA_VERSION:
            raise _damaged(self.path)
        run("SELECT id, root, folder, relpath, path, name, size, mtime_ns, inode, dev, "
            "quick_hash, sha256, settled FROM files LIMIT 0")
        run("SELECT path, added_ns FROM dirs LIMIT 0")
        run("SELECT sha256, url, added_ns FROM sources LIMIT 0")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> ModelIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock first (waiting up to the
        busy timeout), so it can never fail half-way on a lock upgrade."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with _errors(self.path):
            return self.connection.execute(sql, parameters).fetchall()

    def _models(self, where: str, parameters: Sequence[Any] = ()) -> list[IndexedModel]:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM files WHERE {where} ORDER BY folder, relpath, root",
            parameters,
        )
        return [IndexedModel(*row) for row in rows]

    # -- queries --------------------------------------------------------------------------------

    def all(self) -> list[IndexedModel]:
        return self._models("1")

    def count(self) -> int:
        return int(self._query("SELECT count(*) FROM files")[0][0])

    def find(self, text: str) -> list[IndexedModel]:
        """Models whose relative path (so the file name) or folder contains ``text``, ignoring
        ASCII case, or whose quick hash or SHA-256 starts with it (4+ hex digits)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = "relpath LIKE ? ESCAPE '\\' OR folder LIKE ? ESCAPE '\\'"
        parameters: list[str] = [pattern, pattern]
        prefix = text.lower()
        if len(prefix) >= 4 and all(ch in "0123456789abcdef" for ch in prefix):
            # hash columns hold lower-case hex: a range is an index scan, unlike LIKE
            where += " OR quick_hash BETWEEN ? AND ? OR sha256 BETWEEN ? AND ?"
            parameters += [prefix, prefix + "g", prefix, prefix + "g"]
        return self._models(where, parameters)

    def by_filename(self, name: str) -> list[IndexedModel]:
        """Every model named exactly ``name`` (the basename, case-sensitive), in any root."""
        return self._models("name = ?", [name])

    def by_sha256(self, hexdigest: str) -> list[IndexedModel]:
        return self._models("sha256 = ?", [hexdigest.lower()])

    def by_quick_hash(self, quick_hash: str, size: int) -> list[IndexedModel]:
        """Files that may be a model of that size and sampled hash (only the SHA-256 proves
        it)."""
        return self._models("quick_hash = ? AND size = ?", [quick_hash, size])

    def remember(self, path: str, sha256: str) -> None:
        """Records the SHA-256 of a file git comfy has just written itself (a download verified
        while it streamed, a link or copy of a verified file), found by the last scan: it need
        not be read again, however recent it is."""
        size, mtime_ns, inode, dev = modelfiles.file_identity(os.stat(path))
        with _errors(self.path), self._transaction():
            self.connection.execute(
                "UPDATE files SET sha256 = ?, settled = 1 WHERE path = ? AND size = ? AND "
                "mtime_ns = ? AND inode = ? AND dev = ?",
                (sha256.lower(), path, size, mtime_ns, inode, dev))

    def sources(self, sha256: str) -> list[str]:
        """Download addresses recorded for the model with this SHA-256, oldest first."""
        return [url for (url,) in self._query(
            "SELECT url FROM sources WHERE sha256 = ? ORDER BY added_ns, url", (sha256,))]

    def add_source(self, sha256: str, url: str) -> None:
        with self._transaction():
            self.connection.execute(
                "INSERT OR IGNORE INTO sources (sha256, url, added_ns) VALUES (?, ?, ?)",
                (sha256, url, time.time_ns()))

    def added_dirs(self) -> list[str]:
        return [row[0] for row in self._query("SELECT path FROM dirs ORDER BY path")]

    # -- changes --------------------------------------------------------------------------------

    def add_dir(self, path: str) -> bool:
        """Remembers a folder to scan; False when it was already there."""
        path = os.path.abspath(path)
        with _errors(self.path), self._transaction():
            cursor = self.connection.execute(
                "INSERT OR IGNORE INTO dirs (path, added_ns) VALUES (?, ?)", (path, time.time_ns())
            )
            return cursor.rowcount > 0

    def remove_dir(self, path: str) -> bool:
        """Forgets an added folder and the models indexed under it; False when it was not
        added."""
        path = os.path.abspath(path)
        under = path.rstrip(os.sep) + os.sep
        with _errors(self.path), self._transaction():
            cursor = self.connection.execute("DELETE FROM dirs WHERE path = ?", (path,))
            if cursor.rowcount == 0:
                return False
            self.connection.execute(
                "DELETE FROM files WHERE root = ? OR substr(root, 1, ?) = ?",
                (path, len(under), under),
            )
            return True

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            with _errors(self.path), self._transaction():
                self.connection.executemany(_UPSERT, rows)
            rows.clear()

    def _known(self, identity: modelfiles.Identity) -> tuple[str, str | None] | None:
        """The hashes of a file with this identity indexed elsewhere (a hard link, a symlink
        from another install, a file moved or renamed): no need to read it again."""
        size, mtime_ns, inode, dev = identity
        rows = self._query(
            "SELECT quick_hash, sha256 FROM files WHERE dev = ? AND inode = ? AND size = ? "
            "AND mtime_ns = ? AND settled = 1 ORDER BY sha256 IS NULL LIMIT 1",
            (dev, inode, size, mtime_ns),
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def scan(self, roots: Sequence[Root], *, full: bool = False) -> ScanReport:
        """Brings the index up to date with ``roots``: new and changed files get a quick hash,
        vanished ones are removed, unchanged ones are not read. ``full`` also computes the
        SHA-256 of every file that has none yet."""
        report = ScanReport(roots=len(roots))
        root_ids: dict[str, tuple[int, int]] = {}
        for root in roots:
            try:
                info = os.stat(root.path)
                root_ids[root.path] = (info.st_dev, info.st_ino)
            except OSError:
                pass  # _walk reports it
        work: list[tuple[Root, dict[str, tuple[str, os.stat_result]], dict[str, Any]]] = []
        for root in roots:
            others = {key for path, key in root_ids.items() if path != root.path}
            found = modelfiles.walk(root, others, set(root_ids) - {root.path}, report.skipped)
            if found is None:
                continue
            # only what deciding "unchanged" needs: a rescan reads every row
            existing = {
                row[0]: row
                for row in self._query(
                    "SELECT relpath, size, mtime_ns, inode, dev, settled, id FROM files "
                    "WHERE root = ? AND folder = ?", (root.path, root.folder))
            }
            work.append((root, found, existing))

        # (row layout: relpath, size, mtime_ns, inode, dev, settled, id)
        to_read: list[tuple[Root, str, str, os.stat_result, tuple[Any, ...] | None]] = []
        for root, found, existing in work:
            for relpath, (path, info) in found.items():
                row = existing.get(relpath)
                if row is not None and tuple(row[1:5]) == modelfiles.file_identity(info) and row[5]:
                    report.unchanged += 1
                else:
                    to_read.append((root, relpath, path, info, row))
        dropped: set[tuple[str, str, str]] = set()  # found, but unreadable or gone meanwhile
        pending: list[tuple[Any, ...]] = []
        # hashes by file identity: one file behind two names is read once, and so is a file
        # indexed elsewhere already (a hard link, another install's symlink, a move). Many
        # files to read (a first scan) look them all up at once; a few, one by one.
        known_ids: dict[modelfiles.Identity, tuple[str, str | None]] = {}
        bulk = bool(to_read) and len(to_read) * 8 >= self.count()
        if bulk:
            known_ids = {
                (size, mtime_ns, inode, dev): (quick, sha256)
                for size, mtime_ns, inode, dev, quick, sha256 in self._query(
                    "SELECT size, mtime_ns, inode, dev, quick_hash, sha256 FROM files "
                    "WHERE settled = 1 ORDER BY sha256 IS NOT NULL")  # a SHA-256 wins
            }
        with ui.Progress(len(to_read), "indexing models") as bar:
            for root, relpath, path, info, row in to_read:
                bar.advance()
                known = known_ids.get(modelfiles.file_identity(info))
                if known is None and not bulk:
                    known = self._known(modelfiles.file_identity(info))
                try:
                    if known is not None:
                        quick, sha256 = known
                        identity, settled = modelfiles.file_identity(info), True
                    else:
                        result = modelfiles.read(path, full=False)
                        report.read += 1
                        quick, sha256 = result.quick_hash, None
                        identity, settled = result.identity, result.settled
                except modelfiles.Vanished:
                    dropped.add((root.path, root.folder, relpath))
                    continue
                except modelfiles.Unreadable as error:
                    # never keep hashes that can no longer be checked
                    report.skipped.append(Skipped(path, str(error)))
                    dropped.add((root.path, root.folder, relpath))
                    continue
                if settled:
                    known_ids[identity] = (quick, sha256)
                if row is None:
                    report.new += 1
                elif tuple(row[1:5]) == identity and quick == self._query(
                        "SELECT quick_hash FROM files WHERE id = ?", (row[6],))[0][0]:
                    report.unchanged += 1  # an unsettled file, read again: still the same
                else:
                    report.changed += 1
                pending.append((root.path, root.folder, relpath, path, os.path.basename(path),
                                *identity, quick, sha256, int(settled)))
                if len(pending) >= BATCH:
                    self._write(pending)
            self._write(pending)

        gone: list[tuple[int]] = []
        for root, found, existing in work:
            for relpath, row in existing.items():
                if (root.path, root.folder, relpath) in dropped:
                    gone.append((row[6],))
                elif relpath not in found and not os.path.lexists(
                        os.path.join(root.path, *relpath.split("/"))):
                    # (a scan running at the same time may have just indexed a file this walk
                    # did not see: hence the second look)
                    gone.append((row[6],))
        gone_roots = [
            (row[0],) for row in self._query("SELECT DISTINCT root FROM files")
            if not os.path.isdir(row[0])
        ]
        if gone or gone_roots:
            with _errors(self.path), self._transaction():
                before = self.connection.total_changes
                self.connection.executemany("DELETE FROM files WHERE id = ?", gone)
                self.connection.executemany("DELETE FROM files WHERE root = ?", gone_roots)
                report.removed = self.connection.total_changes - before
        if full:
            self._hash_all([(root.path, root.folder) for root, _found, _existing in work], report)
        return report

    def _hash_all(self, roots: list[tuple[str, str]], report: ScanReport) -> None:
        """The SHA-256 of every file under ``roots`` that has none: each distinct file once
        (links and twins share the result), outside any transaction."""
        by_identity: dict[modelfiles.Identity, list[tuple[int, str]]] = {}
        for root, folder in roots:
            for row_id, path, size, mtime_ns, inode, dev in self._query(
                "SELECT id, path, size, mtime_ns, inode, dev FROM files "
                "WHERE root = ? AND folder = ? AND sha256 IS NULL", (root, folder)
            ):
                by_identity.setdefault((size, mtime_ns, inode, dev), []).append((row_id, path))
        total = sum(identity[0] for identity in by_identity)
        with ui.Progress(total, "hashing models", unit="B") as bar:
            for rows in by_identity.values():
                row_id, path = rows[0]
                try:
                    result = modelfiles.read(path, full=True, bar=bar)
                except modelfiles.Vanished:
                    continue  # the next scan removes it
                except modelfiles.Unreadable as error:
                    report.skipped.append(Skipped(path, str(error)))
                    continue
                report.hashed += 1
                self._store(row_id, result)

    def _store(self, row_id: int | None, result: modelfiles.Read) -> None:
        """Records a full read on the row it was made for (identity and quick hash too: the
        file may have changed since the walk) and, when the file held still, its SHA-256 on
        every other row of the same file that has none."""
        sha256 = result.sha256 if result.settled else None
        size, mtime_ns, inode, dev = result.identity
        with _errors(self.path), self._transaction():
            if row_id is not None:
                self.connection.execute(
                    "UPDATE files SET size = ?, mtime_ns = ?, inode = ?, dev = ?, quick_hash = ?,"
                    " sha256 = ?, settled = ? WHERE id = ?",
                    (*result.identity, result.quick_hash, sha256, int(result.settled), row_id),
                )
            if sha256 is not None:
                self.connection.execute(
                    "UPDATE files SET sha256 = ? WHERE dev = ? AND inode = ? AND size = ? "
                    "AND mtime_ns = ? AND settled = 1 AND sha256 IS NULL",
                    (sha256, dev, inode, size, mtime_ns),
                )

    def full_hash(self, model: IndexedModel) -> str:
        """The SHA-256 of ``model``: the cached one while the file is unchanged, else read now
        (and cached when the file held still)."""
        rows = self._query(
            "SELECT id, size, mtime_ns, inode, dev, sha256, settled FROM files "
            "WHERE root = ? AND folder = ? AND relpath = ?",
            (model.root, model.folder, model.relpath),
        )
        try:
            info = os.stat(model.path)
        except OSError as error:
            raise FatalError(f"cannot read {model.path}: {error.strerror or error}") from None
        row_id = None
        if rows:
            row_id, size, mtime_ns, inode, dev, sha256, settled = rows[0]
            current = modelfiles.file_identity(info)
            if sha256 and settled and (size, mtime_ns, inode, dev) == current:
                return str(sha256)
        result = read_full(model.path, info.st_size)
        if row_id is not None:
            self._store(row_id, result)
        assert result.sha256 is not None
        return result.sha256
