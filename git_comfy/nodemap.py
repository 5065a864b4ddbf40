"""ComfyUI-Manager's node map (type → packs), found on this machine or fetched, and kept as a
compact SQLite index so that one workflow's lookup reads a few rows, not 1.5 MB of JSON.

Where the map comes from, first found wins:

1. the user's own ComfyUI-Manager, no network: its cache of the channel files
   (``user/__manager/cache/``, ``user/default/ComfyUI-Manager/cache/``), the data file of a
   Manager cloned into ``custom_nodes/``, or of the ``comfyui-manager`` package in ComfyUI's
   virtual environment (``.venv``, ``venv``, or the portable ``python_embeded`` beside it) —
   the newest of them;
2. ``git config comfy.nodeMapUrl`` (default: Manager's own copy on GitHub), through the
   download cache (revalidated daily).

The index (``<user cache>/git-comfy/nodemap.sqlite3``) is rebuilt only when the map changes,
written beside and renamed into place. A map over :data:`MAX_BYTES` is refused.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from git_comfy import errors
from git_comfy.core import nodemap
from git_comfy.core.nodepacks import Candidate
from git_comfy.webcache import Web

DEFAULT_URL = ("https://raw.githubusercontent.com/ltdrdata/ComfyUI-Manager/main/"
               "extension-node-map.json")
FILE_NAME = "extension-node-map.json"
MAX_BYTES = 50 * 1024 * 1024
MAX_AGE = 24 * 3600.0
INDEX_NAME = "nodemap.sqlite3"
SCHEMA = 1
WHAT = "ComfyUI-Manager's node map"
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE repos (id INTEGER PRIMARY KEY, url TEXT NOT NULL, title TEXT)",
    "CREATE TABLE claims (type TEXT NOT NULL, repo INTEGER NOT NULL)",
    "CREATE TABLE preemptions (type TEXT NOT NULL, repo INTEGER NOT NULL)",
    "CREATE TABLE patterns (pattern TEXT NOT NULL, repo INTEGER NOT NULL)",
    "CREATE INDEX claims_type ON claims (type)",
    "CREATE INDEX preemptions_type ON preemptions (type)",
)


def local_maps(comfyui: str | None) -> list[str]:
    """The node maps of the user's own ComfyUI-Manager, newest first."""
    if comfyui is None:
        return []
    comfyui = glob.escape(comfyui)  # a folder named "[2024] ComfyUI" is not a pattern
    patterns = [
        os.path.join(comfyui, "user", "__manager", "cache", f"*{FILE_NAME}"),
        os.path.join(comfyui, "user", "default", "ComfyUI-Manager", "cache", f"*{FILE_NAME}"),
        os.path.join(comfyui, "custom_nodes", "*", FILE_NAME),
    ]
    for venv in (os.path.join(comfyui, ".venv"), os.path.join(comfyui, "venv"),
                 os.path.join(os.path.dirname(comfyui), "python_embeded")):
        for site in ("lib/python3*/site-packages", "Lib/site-packages"):
            patterns.append(os.path.join(venv, *site.split("/"), "comfyui_manager", FILE_NAME))
    found = []
    for pattern in patterns:
        for path in glob.glob(pattern):
            folder = os.path.basename(os.path.dirname(path))
            if "custom_nodes" in pattern and folder.lower().replace("_", "-") not in (
                    "comfyui-manager",):
                continue
            try:
                found.append((os.stat(path).st_mtime_ns, path))
            except OSError:
                continue
    return [path for _, path in sorted(found, reverse=True)]


@dataclass
class Lookup:
    claims: dict[str, list[Candidate]]  # type → the packs that provide it
    core_types: set[str]  # types ComfyUI's own entry lists: built in


class NodeMapIndex:
    """The SQLite index of one node map."""

    def __init__(self, db: sqlite3.Connection, source: str) -> None:
        self.db = db
        self.source = source  # where the map came from, for messages

    def lookup(self, types: Iterable[str]) -> Lookup:
        wanted = sorted(set(types))
        rows: dict[str, list[int]] = {}
        preempted: dict[str, list[int]] = {}
        for table, found in (("claims", rows), ("preemptions", preempted)):
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for node_type, repo in self.db.execute(
                        f"SELECT type, repo FROM {table} WHERE type IN ({marks})", chunk):
                    found.setdefault(node_type, []).append(repo)
        patterns: list[tuple[str, int]] = []
        if any(t not in rows and t not in preempted for t in wanted):
            patterns = list(self.db.execute("SELECT pattern, repo FROM patterns"))
        chosen = {t: nodemap.claimants(t, rows.get(t, []), preempted.get(t, []), patterns)
                  for t in wanted}
        ids = sorted({i for indexes in chosen.values() for i in indexes})
        repos = {}
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            marks = ",".join("?" * len(batch))
            for repo_id, url, title in self.db.execute(
                    f"SELECT id, url, title FROM repos WHERE id IN ({marks})", batch):
                repos[repo_id] = (url, title)
        claims: dict[str, list[Candidate]] = {}
        core: set[str] = set()
        for node_type, indexes in chosen.items():
            urls = [repos[i] for i in indexes if i in repos]
            if any(nodemap.is_core(url) for url, _ in urls):
                core.add(node_type)
            elif urls:
                claims[node_type] = [Candidate(url, None, url, title=title) for url, title in urls]
        return Lookup(claims, core)


def _index_path() -> str:
    return os.path.join(errors.cache_dir(), INDEX_NAME)


def _open_index(stamp: str) -> sqlite3.Connection | None:
    try:
        db = sqlite3.connect(f"file:{_index_path()}?mode=ro", uri=True)
        row = db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
        if row and row[0] == f"{SCHEMA}:{stamp}":
            return db
        db.close()
    except sqlite3.Error:
        pass
    return None


def _build_index(data: bytes, stamp: str, notices: list[str], source: str,
                 ) -> sqlite3.Connection | None:
    try:
        table = nodemap.build(json.loads(data))
    except (ValueError, RecursionError) as error:  # JSONDecodeError, NodeMapError, UTF-8
        notices.append(f"{WHAT} from {source} is not usable ({str(error)[:100]}); not used")
        return None
    path = _index_path()
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(temp):
            os.unlink(temp)
        db = sqlite3.connect(temp)
        with db:
            for statement in _SCHEMA:
                db.execute(statement)
            db.executemany("INSERT INTO repos VALUES (?, ?, ?)",
                           [(i, url, table.titles[i]) for i, url in enumerate(table.repositories)])
            db.executemany("INSERT INTO claims VALUES (?, ?)", table.claims)
            db.executemany("INSERT INTO preemptions VALUES (?, ?)", table.preemptions)
            db.executemany("INSERT INTO patterns VALUES (?, ?)", table.patterns)
            db.execute("INSERT INTO meta VALUES ('stamp', ?)", (f"{SCHEMA}:{stamp}",))
        db.close()
        os.replace(temp, path)
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except (sqlite3.Error, OSError) as error:
        notices.append(f"{WHAT}: cannot write its index {path} ({error}); not used")
        try:
            os.unlink(temp)
        except OSError:
            pass
        return None


def load(comfyui: str | None, web: Web, url: str) -> NodeMapIndex | None:
    """The index of the node map, from the user's Manager or the network; None (with a notice
    in ``web.notices``) when there is none to be had."""
    for path in local_maps(comfyui):
        try:
            info = os.stat(path)
        except OSError:
            continue
        stamp = f"file:{path}:{info.st_size}:{info.st_mtime_ns}"
        db = _open_index(stamp)
        if db is not None:
            return NodeMapIndex(db, path)
        if info.st_size > MAX_BYTES:
            web.notices.append(f"{WHAT} {path} is larger than {MAX_BYTES >> 20} MB; refused")
            continue
        try:
            with open(path, "rb") as file:
                data = file.read(MAX_BYTES + 1)
        except OSError as error:
            web.notices.append(f"{WHAT} {path}: cannot read ({error.strerror}); not used")
            continue
        db = _build_index(data, stamp, web.notices, path)
        if db is not None:
            return NodeMapIndex(db, path)
    answer = web.get(url, max_age=MAX_AGE, max_bytes=MAX_BYTES, what=WHAT)
    if answer is None or answer.status != 200:
        if answer is not None:
            web.notices.append(f"{WHAT}: {url} answered HTTP {answer.status}; not used")
        return None
    stamp = f"url:{url}:{hashlib.sha256(answer.body).hexdigest()}"
    db = _open_index(stamp)
    if db is None:
        db = _build_index(answer.body, stamp, web.notices, url)
        if db is None:
            web.forget(url)
            return None
    return NodeMapIndex(db, url)
