"""HTTP GET for the network sources (ComfyUI-Manager's node map, the Comfy Registry, a ComfyUI
server) with short timeouts, a size cap, and an on-disk cache that keeps working offline.

An answer younger than its ``max_age`` is used as it is; an older one is revalidated
(``If-None-Match``/``If-Modified-Since``). When a host cannot be reached — refused, timed out,
cut short, or answering 5xx — it is not asked again in this run, the cached copy (however old)
is used, and one notice says so; with nothing cached the caller carries on without that source.
Analysis never fails for lack of network. Only ``http``/``https`` addresses are fetched, and a
redirect from https to http is refused.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from git_comfy import errors

TIMEOUT = 5.0  # seconds per connect and per read; git config comfy.networkTimeout changes it
CACHE_NAME = "web.sqlite3"
USER_AGENT = "git-comfy (+https://github.com/git-comfy)"
_CHUNK = 1 << 16


class _Unreachable(Exception):
    """The host gave no usable answer; the message says how (one short phrase)."""


class _TooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 200, or 404 (an answer too: "no such node")
    body: bytes
    content_type: str
    age: float  # seconds since it was fetched
    fresh: bool  # fetched or revalidated in this run, or younger than max_age


def _age(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return "moments"


class Web:
    """One run's network access: answers, the cache, the hosts found down, the notices."""

    def __init__(self, *, timeout: float = TIMEOUT, offline: bool = False) -> None:
        self.timeout = timeout
        self.offline = offline
        self.notices: list[str] = []
        self._down: dict[str, str] = {}  # host → why
        self._noticed: set[str] = set()  # hosts a notice was given for
        self._db: sqlite3.Connection | None = None
        self._db_failed = False
        self._tls: Any = None  # the ssl context, made at the first fetch

    # -- the cache ---------------------------------------------------------------------------

    def _cache(self) -> sqlite3.Connection | None:
        if self._db is None and not self._db_failed:
            path = os.path.join(errors.cache_dir(), CACHE_NAME)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                db = sqlite3.connect(path, timeout=10, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS answers (url TEXT PRIMARY KEY, "
                           "status INTEGER, body BLOB, type TEXT, etag TEXT, modified TEXT, "
                           "fetched REAL)")
                self._db = db
            except (sqlite3.Error, OSError) as error:
                self._db_failed = True
                self.notices.append(f"the download cache {path} is not usable ({error}); "
                                    "working without it")
        return self._db

    def _cached(self, url: str) -> tuple[Any, ...] | None:
        db = self._cache()
        try:
            return db.execute("SELECT status, body, type, etag, modified, fetched FROM answers "
                              "WHERE url = ?", (url,)).fetchone() if db else None
        except sqlite3.Error:
            return None

    def _store(self, url: str, row: tuple[Any, ...]) -> None:
        db = self._cache()
        try:
            if db is not None:
                db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (url, *row))
        except sqlite3.Error:
            pass  # a cache that cannot be written only costs the next run time

    def forget(self, url: str) -> None:
        """Drops a cached answer that turned out unusable (HTML, broken JSON)."""
        db = self._cache()
        try:
            if db is not None:
                db.execute("DELETE FROM answers WHERE url = ?", (url,))
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- fetching ----------------------------------------------------------------------------

    def get(self, url: str, *, max_age: float, max_bytes: int, what: str) -> Answer | None:
        """The answer for ``url`` (200 or 404), from the cache while younger than ``max_age``
        seconds, else from the network; the cached copy when the network fails; None when
        neither has one. ``what`` names the source in notices."""
        return self.get_many([url], max_age=max_age, max_bytes=max_bytes, what=what)[url]

    def get_many(self, urls: list[str], *, max_age: float, max_bytes: int, what: str,
                 ) -> dict[str, Answer | None]:
        """:meth:`get` for several addresses, the network ones fetched at once (a registry
        answers one pack per request: twenty of them one after the other take seconds)."""
        from concurrent.futures import ThreadPoolExecutor

        now = time.time()
        answers: dict[str, Answer | None] = {}
        wanted: list[tuple[str, tuple[Any, ...] | None, dict[str, str]]] = []
        for url in dict.fromkeys(urls):
            row = self._cached(url)
            if row is not None and now - row[5] < max_age:
                answers[url] = Answer(row[0], row[1], row[2] or "", now - row[5], True)
            elif self.offline or urllib.parse.urlsplit(url).netloc in self._down:
                answers[url] = self._stale(row, what, urllib.parse.urlsplit(url).netloc, None)
            else:
                headers = {}
                if row is not None and row[0] == 200:
                    if row[3]:
                        headers["If-None-Match"] = row[3]
                    if row[4]:
                        headers["If-Modified-Since"] = row[4]
                wanted.append((url, row, headers))

        def fetch(item: tuple[str, Any, dict[str, str]]) -> Any:
            try:  # sockets only here: SQLite and the notices stay in this thread
                return self._request(item[0], item[2], max_bytes)
            except (_TooLarge, _Unreachable) as error:
                return error

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(fetch, wanted)) if len(wanted) > 1 else [
                fetch(item) for item in wanted]
        for (url, row, _headers), result in zip(wanted, results, strict=True):
            answers[url] = self._settle(url, row, result, max_bytes, what, now)
        return answers

    def _settle(self, url: str, row: tuple[Any, ...] | None, result: Any, max_bytes: int,
                what: str, now: float) -> Answer | None:
        host = urllib.parse.urlsplit(url).netloc
        if isinstance(result, _TooLarge):
            self.notices.append(f"{what}: {url} is larger than {max_bytes >> 20} MB; refused")
            return self._stale(row, what, host, "")
        if isinstance(result, _Unreachable):
            self._down[host] = str(result)
            return self._stale(row, what, host, str(result))
        status, body, kind, etag, modified = result
        if status == 304 and row is not None:
            self._store(url, (*row[:5], now))
            return Answer(row[0], row[1], row[2] or "", 0.0, True)
        if status in (200, 404):
            self._store(url, (status, body, kind, etag, modified, now))
            return Answer(status, body, kind, 0.0, True)
        self._down[host] = f"HTTP {status}"
        return self._stale(row, what, host, f"HTTP {status}")

    def live(self, url: str, *, max_bytes: int, what: str) -> bytes | None:
        """A fresh answer only (a running server's state), never cached; None with a notice
        when there is none."""
        try:
            status, body, _kind, _etag, _modified = self._request(url, {}, max_bytes)
        except _TooLarge:
            self.notices.append(f"{what}: {url} is larger than {max_bytes >> 20} MB; refused")
            return None
        except _Unreachable as why:
            self.notices.append(f"{what}: no answer from {url} ({why}); not used")
            return None
        if status != 200:
            self.notices.append(f"{what}: {url} answered HTTP {status}; not used")
            return None
        return body

    def _stale(self, row: tuple[Any, ...] | None, what: str, host: str,
               why: str | None) -> Answer | None:
        """The cached copy, whatever its age, with one notice per host saying why."""
        if why and host not in self._noticed:
            self._noticed.add(host)
            held = (f"using the copy cached {_age(time.time() - row[5])} ago" if row
                    else "nothing cached; what it would tell is reported unknown")
            self.notices.append(f"{what}: no answer from {host} ({why}); {held}")
        if row is None:
            return None
        return Answer(row[0], row[1], row[2] or "", time.time() - row[5], False)

    def _request(self, url: str, headers: dict[str, str], max_bytes: int,
                 ) -> tuple[int, bytes, str, str | None, str | None]:
        import http.client  # 20 ms of imports, paid only when something is fetched
        import urllib.error
        import urllib.request

        if not url.startswith(("https://", "http://")):
            raise _Unreachable("only http and https addresses are fetched")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                       "Accept": "application/json", **headers})
        if self._tls is None:  # the CAs git trusts (http.sslCAInfo), as model downloads do
            import ssl

            from git_comfy import git

            self._tls = ssl.create_default_context(
                cafile=git.config_get("http.sslCAInfo", path=True))
        opener = urllib.request.build_opener(no_downgrade(),
                                             urllib.request.HTTPSHandler(context=self._tls))
        deadline = time.monotonic() + self.timeout * 4  # a server that drips bytes forever
        try:
            try:
                response = opener.open(request, timeout=self.timeout)
            except urllib.error.HTTPError as error:  # 304, 404 and 5xx are answers here
                error.close()
                return error.code, b"", "", None, None
            with response:
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > max_bytes:
                    raise _TooLarge
                chunks, size = [], 0
                while True:
                    if time.monotonic() > deadline:
                        raise _Unreachable("too slow")
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise _TooLarge
                    chunks.append(chunk)
                if length and length.isdigit() and size < int(length):
                    # http.client reads a closed connection as the end, not as an error
                    raise _Unreachable("the answer was cut short")
                return (response.status, b"".join(chunks),
                        response.headers.get("Content-Type", ""),
                        response.headers.get("ETag"), response.headers.get("Last-Modified"))
        except (TimeoutError, OSError) as error:
            reason = getattr(error, "reason", None)
            text = "timed out" if isinstance(error, TimeoutError) or isinstance(
                reason, TimeoutError) else str(reason or error.strerror or error)
            raise _Unreachable(text) from None
        except http.client.IncompleteRead:
            raise _Unreachable("the answer was cut short") from None
        except (http.client.HTTPException, ValueError) as error:
            raise _Unreachable(f"a broken answer: {type(error).__name__}") from None


def no_downgrade() -> Any:
    """A redirect handler that follows redirects, except from https to anything else."""
    import urllib.request

    class NoDowngrade(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                             headers: Any, newurl: str) -> urllib.request.Request | None:
            if req.full_url.startswith("https://") and not newurl.startswith("https://"):
                return None  # urllib then reports the redirect as an HTTP error
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return NoDowngrade()
