"""One model download: resumable, verified by SHA-256 while it streams, judged by its bytes.

Addresses: only ``https://``, on any port (TLS proves the host; a port changes nothing), and
plain ``http://`` only to a ``host:port`` the user allows (``git config --add comfy.allowHttp
HOST:PORT``: a LAN mirror). No user name or password in the address. Redirects are followed
by hand, at most ``max_redirects``, each target held to the same rules (so https → http only to
an allowed host). Requests go through http.client, not urllib, so every header is ours to
choose: a token (``Policy.tokens``) goes only over https to the exact host it is for — a key
``huggingface.co`` means that host on port 443, ``host:port`` another port — and never to the
host a redirect names (urllib forwards Authorization across hosts, requests forwards custom
headers: notes/security.md §3.3). ``Content-Disposition`` is ignored: the caller names the file.

The bytes go to ``DEST.part`` (opened O_NOFOLLOW, locked against a second git-comfy). An
existing ``.part`` is hashed once and resumed with ``Range``: a 206 whose ``Content-Range``
starts where it ends appends; a 200 (the range was ignored) or a 416 starts over, except that a
416 naming the ``.part``'s own size means it is complete. The stream is hashed as it is written
— hashing runs in a second thread, since hashlib releases the GIL on large buffers — so the
finished file is never read again. Its first 64 KiB are sniffed as soon as they are in
(:mod:`git_comfy.core.modelformat`): an HTML or JSON answer or an invalid header stops it.

What happens to the ``.part``: a problem with the content (a page instead of a model, an
invalid header, a wrong size or SHA-256, a full disk) deletes it — nothing was kept; a problem
with the transport (a cut, a reset, a timeout, an HTTP error, Ctrl-C) keeps it for the next run
to resume. The verified file gets its final name by a hard link then an unlink (never over an
existing file; a rename where the file system has no hard links), then the folder is fsynced.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import io
import os
import queue
import re
import shutil
import ssl
import stat
import string
import threading
import urllib.parse
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from git_comfy import atomic, git, ui
from git_comfy.core import modelformat
from git_comfy.errors import FatalError
from git_comfy.webcache import USER_AGENT

CHUNK = 256 << 10  # bytes per read, write and hash update (benchmarks/download.py)
BUFFERS = 16  # chunks in flight between the reader and the hashing thread
FLUSH_EVERY = 32 << 20  # bytes written between two fdatasyncs of the flushing thread
FREE_MARGIN = 16 << 20  # free space left over after a download, at least
MAX_PICKLE = 64 << 20  # bytes of pickle read from a file to list its imports
MAX_URL = 8192
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BODY, _COMPLETE, _AGAIN = "body", "complete", "again"  # what an answer to a request is
_PAGES = frozenset({"html", "json", "text"})  # what a server sends instead of a file
_TOKEN_VARIABLES = {"huggingface.co": "HF_TOKEN", "civitai.com": "CIVITAI_API_KEY"}
_TOKEN = re.compile(r"[\x21-\x7e]+")  # a token is visible ASCII: never a header injection
_HOST = re.compile(r"[a-z0-9_.-]+|[0-9a-f:.]+")  # a DNS name or an IP address (v6 unbracketed)
_SECRET_PARAMETER = re.compile(r"token|key|sig|auth|credential|secret|passw", re.IGNORECASE)
_NO_LINKS = frozenset({errno.EPERM, errno.EMLINK, errno.EXDEV, errno.ENOTSUP, errno.ENOSYS,
                       errno.EOPNOTSUPP})


@dataclass(frozen=True)
class Policy:
    """Where a download may go and what it may send."""

    http_hosts: frozenset[str] = frozenset()  # "host:port" allowed over plain http
    tokens: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # host → header
    timeout: float = 30.0  # seconds per connect and per read
    max_redirects: int = 5
    cafile: str | None = None  # the CAs to trust instead of the system's (http.sslCAInfo)


@dataclass(frozen=True)
class Result:
    path: str  # the final file
    sha256: str
    size: int
    resumed_from: int  # bytes of an earlier .part that were kept (0: none)
    warnings: list[str]  # e.g. a pickle-based format, the imports that make it unsafe
    kind: modelformat.Kind  # what its bytes are: "safetensors", "pickle-zip", …


def policy() -> Policy:
    """The user's policy: ``HF_TOKEN`` for huggingface.co and ``CIVITAI_API_KEY`` for
    civitai.com (``Authorization: Bearer``), the ``host:port`` values of ``comfy.allowHttp``,
    and git's ``http.sslCAInfo``."""
    tokens = {}
    for host, variable in _TOKEN_VARIABLES.items():
        value = os.environ.get(variable, "").strip()
        if not value and variable == "HF_TOKEN":
            value = _saved_hf_token()
        if not value:
            continue
        if not _TOKEN.fullmatch(value):
            raise FatalError(f"{variable} holds spaces or control characters, which no token "
                             "has; set it again")
        tokens[host] = ("Authorization", f"Bearer {value}")
    code, out, _err = git.run(["config", "--get-all", "comfy.allowHttp"], check=False)
    hosts = set()
    for line in out.decode("utf-8", "replace").splitlines() if code == 0 else ():
        value = line.strip().lower()
        host, colon, port = value.rpartition(":")
        if not (colon and port.isdigit() and _HOST.fullmatch(host.strip("[]"))):
            raise FatalError(f"git config comfy.allowHttp {ui.printable(line)!r} is not "
                             "HOST:PORT, like mirror.lan:8080")
        hosts.add(value)
    return Policy(http_hosts=frozenset(hosts), tokens=tokens,
                  cafile=git.config_get("http.sslCAInfo", path=True))


def _saved_hf_token() -> str:
    """The token ``huggingface-cli login`` saved (``$HF_TOKEN_PATH``, else
    ``$HF_HOME/token``, else ``~/.cache/huggingface/token``), or ""."""
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    path = os.environ.get("HF_TOKEN_PATH") or os.path.join(home, "token")
    try:
        data = atomic.read(path, 4096)
    except FatalError:
        return ""
    return (data or b"").decode("utf-8", "replace").strip()


def shown(url: str) -> str:
    """``url`` for the terminal: without user info, and without its query when that holds a
    token, key or signature (a signed CDN address); escaped."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "an unreadable address"
    query = parts.query
    if any(_SECRET_PARAMETER.search(item.partition("=")[0]) for item in query.split("&")):
        query = ""
    netloc = parts.netloc.rpartition("@")[2]
    return ui.printable(urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, "")))


@dataclass(frozen=True)
class _Target:
    url: str
    https: bool
    host: str
    port: int
    path: str  # with the query

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def token(self, policy: Policy) -> tuple[str, str] | None:
        if not self.https:
            return None
        return policy.tokens.get(self.host if self.port == 443 else self.authority)


def _target(url: str, policy: Policy, redirected_by: str | None = None) -> _Target:
    """``url`` when it may be downloaded from, else one FatalError line."""
    def refuse(why: str) -> FatalError:
        via = f" (where {redirected_by} redirected)" if redirected_by else ""
        return FatalError(f"refused to download from {shown(url)}{via}: {why}")

    if len(url) > MAX_URL or any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        raise refuse("the address is too long or holds spaces, control characters or "
                     "backslashes")
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise refuse("the address cannot be read") from None
    if parts.scheme not in ("https", "http"):
        raise refuse("only https:// addresses are downloaded")
    if "@" in parts.netloc:
        raise refuse("the address holds a user name or password; give tokens in HF_TOKEN or "
                     "CIVITAI_API_KEY")
    if not host or not host.isascii() or not _HOST.fullmatch(host):
        raise refuse("the address has no valid host name")
    https = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # non-ASCII (a model named in any language) as UTF-8 escapes: http.client sends ASCII
    target = _Target(url, https, host, port or (443 if https else 80),
                     urllib.parse.quote(path, safe=string.punctuation))
    if not https and target.authority not in policy.http_hosts:
        raise refuse("plain http is not downloaded from (allow a mirror with git config --add "
                     f"comfy.allowHttp {target.authority})")
    return target


class _Hasher:
    """SHA-256 in a second thread: hashlib releases the GIL on large buffers, so a chunk is
    hashed while the next is read and written (benchmarks/download.py). Buffers go round:
    taken with :meth:`buffer`, handed over with :meth:`submit`, back once hashed."""

    def __init__(self, digest: hashlib._Hash) -> None:
        self.digest = digest
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        for _ in range(BUFFERS):
            self._free.put(bytearray(CHUNK))
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._full.get()) is not None:
            buffer, count = item
            self.digest.update(memoryview(buffer)[:count])
            self._free.put(buffer)

    def buffer(self) -> bytearray:
        return self._free.get()

    def submit(self, buffer: bytearray, count: int) -> None:
        self._full.put((buffer, count))

    def stop(self) -> None:
        """Waits until everything submitted is hashed."""
        self._full.put(None)
        self._thread.join()


class _Flusher:
    """fdatasync in a third thread every FLUSH_EVERY bytes: the disk writes while the download
    goes on, and the final fsync waits for the last few MiB rather than the whole file (1 GB
    to a local disk: 1.05 s instead of 1.45 s, benchmarks/download.py). Requests made while
    it syncs are one request."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="fdatasync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                sync(self._fd)
            except OSError:
                return  # the final fsync reports it

    def request(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()


class _Download:
    """One fetch's state: the ``.part`` fd, the digest of what it holds, its first bytes."""

    def __init__(self, target: _Target, dest: str, sha256: str, size: int | None,
                 policy: Policy, name: str) -> None:
        self.first = target
        self.dest = dest
        self.part = dest + ".part"
        self.sha256 = sha256.lower()
        self.total = size  # the expected size: the caller's, else the server's, else None
        self.policy = policy
        self.name = name
        self.fd = -1
        self.digest = hashlib.sha256()
        self.done = 0  # bytes in the .part, all in the digest
        self.resumed = 0  # of them, those an earlier run left
        self.head = bytearray()  # the file's first modelformat.HEAD bytes
        self.verdict: modelformat.Sniff | None = None
        self.host = target.host  # the host that answered last
        self.removed = False  # the .part's name is gone (deleted, or now the file's)

    # -- the .part file ---------------------------------------------------------------------

    def open(self) -> None:
        flags = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
        try:
            self.fd = os.open(self.part, flags, 0o644)
        except OSError as error:
            reason = ("it is a symbolic link" if error.errno == errno.ELOOP
                      else error.strerror or str(error))
            raise FatalError(f"cannot write {self.part}: {reason}") from None
        try:
            if not stat.S_ISREG(os.fstat(self.fd).st_mode):
                raise FatalError(f"cannot write {self.part}: not a regular file")
            if os.name == "posix":
                import fcntl

                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise FatalError(f"{self.name} is being downloaded by another git comfy "
                                     f"({self.part} is locked)") from None
        except FatalError:
            os.close(self.fd)
            raise

    def resume(self, bar: ui.Progress) -> None:
        """Hashes what an earlier run left in the ``.part`` (one read), keeping its start; a
        ``.part`` longer than the file is dropped."""
        existing = os.fstat(self.fd).st_size
        if self.total is not None and existing > self.total:
            self.restart()
            return
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        reader = io.FileIO(self.fd, closefd=False)
        while self.done < existing:
            count = reader.readinto(view[: existing - self.done])
            if not count:
                break
            self.digest.update(view[:count])
            self.keep_head(view[:count])
            self.done += count
            bar.advance(count)
        self.resumed = self.done

    def complete(self) -> bool:
        """Whether the ``.part`` is the whole file already (a run that stopped just before
        giving it its name)."""
        return self.done == self.total and self.digest.hexdigest() == self.sha256

    def restart(self) -> None:
        os.ftruncate(self.fd, 0)
        self.digest = hashlib.sha256()
        self.done = self.resumed = 0
        self.head.clear()
        self.verdict = None

    def discard(self) -> None:
        """Deletes the ``.part`` (once: the name may be another process's by then)."""
        if self.removed:
            return
        self.removed = True
        try:
            os.unlink(self.part)
        except OSError:
            pass

    def refuse(self, why: str) -> FatalError:
        """A problem with the content: the ``.part`` is deleted."""
        self.discard()
        return FatalError(f"{self.name}: {why}; nothing was kept")

    # -- the request ------------------------------------------------------------------------

    def download(self, bar: ui.Progress) -> None:
        """Asks for the file from where the ``.part`` ends and takes in what comes."""
        if self.done == self.total:  # complete, but not the file: an earlier run's bad bytes
            self.restart()
        self.check_space()
        response = self.request()
        try:
            outcome = self.accept(response)
            while outcome == _AGAIN:
                response.close()
                response = self.request()
                outcome = self.accept(response)
            if outcome == _BODY:
                bar.total, bar.done = self.total or 0, self.done
                self.check_space()
                self.receive(response, bar)
        finally:
            response.close()

    def request(self) -> http.client.HTTPResponse:
        """The answer to a GET of the file (from ``self.done`` on), redirects followed."""
        target = self.first
        context = ssl.create_default_context(cafile=self.policy.cafile)
        for _hop in range(self.policy.max_redirects + 1):
            self.host = target.host
            headers = {"User-Agent": USER_AGENT, "Accept": "*/*",
                       "Accept-Encoding": "identity"}
            if self.done:
                headers["Range"] = f"bytes={self.done}-"
            token = target.token(self.policy)
            if token is not None:
                headers[token[0]] = token[1]
            connection: http.client.HTTPConnection
            if target.https:
                connection = http.client.HTTPSConnection(
                    target.host, target.port, timeout=self.policy.timeout, context=context)
            else:
                connection = http.client.HTTPConnection(target.host, target.port,
                                                        timeout=self.policy.timeout)
            try:
                connection.request("GET", target.path, headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                again = "; run the import again to resume" if self.done else ""
                raise FatalError(f"{self.name}: no answer from {target.host} "
                                 f"({_reason(error)}){again}") from None
            finally:
                connection.close()  # the response keeps the socket until it is closed
            if response.status not in _REDIRECTS:
                return response
            location = response.getheader("Location")
            response.close()
            if not location:
                raise FatalError(f"{self.name}: {target.host} answered HTTP {response.status} "
                                 "without saying where to")
            target = _target(urllib.parse.urljoin(target.url, location), self.policy,
                             redirected_by=target.host)
        raise FatalError(f"{self.name}: more than {self.policy.max_redirects} redirects from "
                         f"{self.first.host}")

    def accept(self, response: http.client.HTTPResponse) -> str:
        """What ``response`` is: the file from ``self.done`` on (_BODY); the end of a
        ``.part`` that is complete already (_COMPLETE); or a refusal of the range, after
        which the ``.part`` is dropped and the request made again (_AGAIN)."""
        status, asked = response.status, self.done
        total = None
        if status == 416 and asked:
            whole = _unsatisfiable_total(response.getheader("Content-Range", ""))
            if whole == asked and self.total in (None, asked):
                self.total = asked
                return _COMPLETE
            self.restart()
            return _AGAIN
        if status == 206:
            start, total = _content_range(response.getheader("Content-Range", ""))
            if start != asked:
                if not asked:
                    raise FatalError(f"{self.name}: {self.host} answered with a part of the "
                                     "file that was not asked for")
                self.restart()
                return _AGAIN
        elif status == 200:
            if asked:  # the server ignored the range: the whole file comes
                self.restart()
            length = response.getheader("Content-Length", "")
            total = int(length) if length.isdigit() else None
        else:
            hint = self.hint() if status in (401, 403) else ""
            raise FatalError(f"{self.name}: {self.host} answered HTTP {status} "
                             f"{ui.printable(response.reason)[:80]}{hint}")
        encoding = response.getheader("Content-Encoding", "identity").strip().lower()
        if encoding != "identity":
            raise FatalError(f"{self.name}: {self.host} sent it compressed "
                             f"({ui.printable(encoding)[:40]}) although asked not to")
        if total is not None:
            if self.total is not None and total != self.total:
                raise self.wrong_size(response, total)
            self.total = total
        return _BODY

    def wrong_size(self, response: http.client.HTTPResponse, total: int) -> FatalError:
        """A refusal of an answer whose size is not the file's, saying what came instead when
        its first bytes tell (a login or error page: the usual reason)."""
        if not self.done:  # the answer is the start of something: worth a look
            try:
                head = response.read(min(total, modelformat.HEAD))
            except (OSError, http.client.HTTPException):
                head = b""
            verdict = modelformat.sniff(head, total, os.path.basename(self.dest))
            if head and verdict.problem is not None and verdict.kind in _PAGES:
                return self.refuse(f"{self.host} answered with {verdict.problem}{self.hint()}")
        return self.refuse(f"{self.host} sends {total} bytes, the bundle says {self.total}")

    def hint(self) -> str:
        """For a refusal by Hugging Face or CivitAI: which token to set or check."""
        variable = _TOKEN_VARIABLES.get(self.first.host)
        if variable is None or self.first.port != 443:
            return ""
        if self.first.token(self.policy) is None:
            return f" — a gated or private model? set {variable}"
        return f" — may the token in {variable} read this model?"

    def check_space(self) -> None:
        if self.total is None:
            return
        folder = os.path.dirname(self.dest) or "."
        needed = self.total - self.done
        free = shutil.disk_usage(folder).free
        if free < needed + FREE_MARGIN:
            raise FatalError(f"{self.name} needs {ui.human_size(needed)} but {folder} has "
                             f"{ui.human_size(free)} free; nothing was downloaded")

    # -- the bytes --------------------------------------------------------------------------

    def receive(self, response: http.client.HTTPResponse, bar: ui.Progress) -> None:
        """Writes and hashes the body; one FatalError line when it stops short, overflows,
        fills the disk or turns out not to be a model."""
        os.lseek(self.fd, self.done, os.SEEK_SET)
        hasher = _Hasher(self.digest)
        flusher = _Flusher(self.fd)
        try:
            while True:
                buffer = hasher.buffer()
                want = CHUNK if self.total is None else min(CHUNK, self.total - self.done + 1)
                try:
                    count = response.readinto(memoryview(buffer)[:want])
                except (OSError, http.client.HTTPException) as error:
                    raise self.stopped(_reason(error)) from None
                if not count:
                    break
                if self.total is not None and self.done + count > self.total:
                    raise self.refuse(f"{self.host} sent more than the {self.total} bytes "
                                      "it should")
                self.write(memoryview(buffer)[:count])
                hasher.submit(buffer, count)
                if (self.done + count) // FLUSH_EVERY != self.done // FLUSH_EVERY:
                    flusher.request()
                self.done += count
                bar.advance(count)
                if self.verdict is None:
                    self.keep_head(memoryview(buffer)[:count])
        finally:
            hasher.stop()
            flusher.stop()
        if self.total is not None and self.done < self.total:
            raise self.stopped("the connection was closed")

    def write(self, view: memoryview) -> None:
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise self.refuse(f"the disk is full ({os.path.dirname(self.dest) or '.'}) "
                                  f"after {ui.human_size(self.done)}") from None
            raise self.refuse(f"cannot write {self.part}: {error.strerror or error}") from None

    def stopped(self, reason: str) -> FatalError:
        """A cut: the ``.part`` stays for the next run."""
        of = f" of {ui.human_size(self.total)}" if self.total is not None else ""
        return FatalError(f"{self.name}: the download from {self.host} stopped at "
                          f"{ui.human_size(self.done)}{of} ({reason}); run the import again "
                          "to resume")

    def keep_head(self, view: memoryview) -> None:
        """Collects the first bytes; sniffs them as soon as there are enough."""
        missing = modelformat.HEAD - len(self.head)
        if missing > 0:
            self.head += view[:missing]
        if len(self.head) >= modelformat.HEAD:
            self.judge()

    def judge(self) -> None:
        """The sniff of the first bytes (all of them, at the end of a small file)."""
        self.verdict = modelformat.sniff(bytes(self.head), self.total,
                                         os.path.basename(self.dest))
        if self.verdict.problem is not None:
            raise self.refuse(f"{self.host} answered with {self.verdict.problem}"
                              f"{self.hint()}")

    # -- the end ----------------------------------------------------------------------------

    def verify(self) -> None:
        """The sniff, a safetensors header read whole and held to the final size, and the
        SHA-256."""
        if self.verdict is None:
            self.judge()
        end = modelformat.header_size(bytes(self.head))
        if end is not None:
            header = (os.pread(self.fd, min(end, self.done), 0) if end > len(self.head)
                      else bytes(self.head))
            verdict = modelformat.sniff(header, self.done, os.path.basename(self.dest))
            if verdict.problem is not None:
                raise self.refuse(f"{self.host} sent {verdict.problem}")
        got = self.digest.hexdigest()
        if got != self.sha256:
            raise self.refuse(f"SHA-256 mismatch (expected {self.sha256}, got {got})")

    def warnings(self) -> list[str]:
        """What the user must know before ComfyUI loads the file."""
        assert self.verdict is not None
        warnings = []
        if self.verdict.extension_mismatch:
            warnings.append(f"its content is {self.verdict.extension_mismatch}")
        if self.verdict.pickle:
            imports, unreadable = self.pickle_imports()
            unsafe = [name[:100] for name in modelformat.unsafe_imports(imports)]
            findings = []
            if unsafe:
                more = f" and {len(unsafe) - 10} more" if len(unsafe) > 10 else ""
                findings.append(f"UNSAFE: imports {', '.join(unsafe[:10])}{more}")
            if unreadable:
                findings.append(unreadable)
            verdict = "; ".join(findings) or "it imports only what PyTorch checkpoints need"
            warnings.append("a pickle-based file: loading it can run code (git comfy never "
                            f"loads it); {verdict}")
        return warnings

    def pickle_imports(self) -> tuple[list[str], str | None]:
        """What the file's pickles import (read from the fd: the ZIP's ``*.pkl`` members, or
        the raw stream), at most MAX_PICKLE bytes; with why they could not be read."""
        if self.verdict is not None and self.verdict.kind == "pickle":
            return modelformat.pickle_imports(os.pread(self.fd, MAX_PICKLE, 0)), None
        imports: list[str] = []
        budget = MAX_PICKLE
        try:
            with open(self.fd, "rb", closefd=False) as file, zipfile.ZipFile(file) as archive:
                members = [m for m in archive.infolist() if m.filename.endswith(".pkl")]
                if not members:
                    return [], "a ZIP archive without data.pkl: not a PyTorch checkpoint"
                for member in members:
                    with archive.open(member) as stream:
                        data = stream.read(budget + 1)
                    budget -= len(data)
                    if budget < 0:
                        return imports, (f"its pickles hold more than {MAX_PICKLE >> 20} MiB: "
                                         "not all were scanned")
                    imports += modelformat.pickle_imports(data)
        except Exception as error:  # zipfile raises many kinds on a hostile archive
            return imports, f"its ZIP could not be read to scan it ({type(error).__name__})"
        return imports, None

    def place(self) -> None:
        """fsync, then the final name (never over an existing file), then the folder fsync."""
        try:
            os.fsync(self.fd)
        except OSError as error:
            raise self.refuse(f"cannot write {self.part}: {error.strerror or error}") from None
        try:
            self.link()
            if hasattr(os, "O_DIRECTORY"):
                folder = os.open(os.path.dirname(self.dest) or ".",
                                 os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(folder)
                finally:
                    os.close(folder)
        except OSError as error:
            raise FatalError(f"cannot create {self.dest}: {error.strerror or error}") from None

    def link(self) -> None:
        """``dest`` made a name of the ``.part`` (a hard link, then the ``.part`` unlinked;
        a rename where the file system has no hard links: FAT, some network shares)."""
        try:
            os.link(self.part, self.dest)
        except FileExistsError:
            raise self.appeared() from None
        except OSError as error:
            if error.errno not in _NO_LINKS:
                raise
            if os.path.lexists(self.dest):
                raise self.appeared() from None
            os.rename(self.part, self.dest)
        else:
            os.unlink(self.part)
        self.removed = True

    def appeared(self) -> FatalError:
        return self.refuse(f"{self.dest} appeared while it was downloaded (another import?); "
                           "it was left as it is")


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, http.client.IncompleteRead):
        return "the connection was closed"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"its certificate was refused: {error.verify_message}"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return type(error).__name__


def _content_range(value: str) -> tuple[int | None, int | None]:
    """(first byte, total) of ``bytes FIRST-LAST/TOTAL``; None for what is not there."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value)
    if match is None:
        return None, None
    return int(match[1]), int(match[3]) if match[3].isdigit() else None


def _unsatisfiable_total(value: str) -> int | None:
    """The total of a 416's ``Content-Range: bytes */TOTAL``."""
    match = re.fullmatch(r"\s*bytes\s+\*/(\d+)\s*", value)
    return int(match[1]) if match else None


def fetch(url: str, dest: str, *, sha256: str, size: int | None, policy: Policy,
          label: str = "") -> Result:
    """Downloads ``url`` to ``dest`` (whose folder exists and whose name the caller chose),
    resuming ``dest.part``; the file is there only when its SHA-256 is ``sha256``. ``size``,
    when known, is held against the server's and caps what is read. Every failure is one
    FatalError line; see the module's doc for what happens to the ``.part``."""
    target = _target(url, policy)
    name = label or os.path.basename(dest)
    if os.path.lexists(dest):
        what = "a symbolic link" if os.path.islink(dest) else "there already"
        raise FatalError(f"{dest} is {what}; {name} is not downloaded over it")
    job = _Download(target, dest, sha256, size, policy, name)
    job.open()
    try:
        with ui.Progress(size or 0, ui.printable(name), unit="B") as bar:
            job.resume(bar)
            if not job.complete():
                job.download(bar)
        job.verify()
        warnings = job.warnings()
        job.place()
    except BaseException:
        if os.fstat(job.fd).st_size == 0:  # nothing to resume from
            job.discard()
        raise
    finally:
        os.close(job.fd)
    assert job.verdict is not None
    return Result(dest, job.sha256, job.done, job.resumed, warnings, job.verdict.kind)


def fetch_archive(url: str, into: str, *, max_size: int, policy: Policy,
                  label: str = "") -> None:
    """Downloads an archive (a custom node pack's zip) to the new file ``into``: the address,
    redirect and token rules of a model (the module's doc), at most ``max_size`` bytes. No
    SHA-256 is checked (the Comfy Registry publishes none) and nothing is sniffed (it is not a
    model): the archive's reader (:mod:`git_comfy.packzip`) judges the bytes. Not resumed — a
    pack is small — and ``into`` is removed on any failure, which is one FatalError line."""
    name = label or os.path.basename(into)
    job = _Download(_target(url, policy), into, "", None, policy, name)
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(into, flags, 0o600)
    except OSError as error:
        raise FatalError(f"cannot write {into}: {error.strerror or error}") from None
    try:
        with job.request() as response:
            job.accept(response)  # nothing is asked from a range: the whole file, or a refusal
            if job.total is not None and job.total > max_size:
                raise FatalError(f"{name}: {job.host} sends {ui.human_size(job.total)}, more "
                                 f"than the {ui.human_size(max_size)} allowed")
            with ui.Progress(job.total or 0, ui.printable(name), unit="B") as bar:
                _receive_archive(job, response, fd, max_size, bar)
    except BaseException:
        os.close(fd)
        os.unlink(into)
        raise
    os.close(fd)


def _receive_archive(job: _Download, response: http.client.HTTPResponse, fd: int,
                     max_size: int, bar: ui.Progress) -> None:
    """The body into ``fd``, refused once it passes ``max_size`` or stops short."""
    while True:
        try:
            chunk = response.read(CHUNK)
        except (OSError, http.client.HTTPException) as error:
            raise FatalError(f"{job.name}: the download from {job.host} stopped "
                             f"({_reason(error)})") from None
        if not chunk:
            break
        job.done += len(chunk)
        if job.done > max_size:
            raise FatalError(f"{job.name}: {job.host} sent more than the "
                             f"{ui.human_size(max_size)} allowed")
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as error:
            raise FatalError(f"cannot write {job.dest}: {error.strerror or error}") from None
        bar.advance(len(chunk))
    if job.total is not None and job.done < job.total:
        raise FatalError(f"{job.name}: the download from {job.host} stopped (the connection "
                         "was closed)")
