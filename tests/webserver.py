"""A real HTTP server on 127.0.0.1, in a thread, for the network tests: each path answers as the
test says — JSON, an HTML page, a status, slowly, cut short, revalidated by ETag, byte ranges,
redirects, over TLS — and every request is recorded. Shaped like the Comfy Registry,
ComfyUI-Manager's node map, ComfyUI, or a model host (Hugging Face and its CDN: ``127.0.0.1``
and ``localhost`` name the same server as two hosts)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before answering
    etag: str | None = None  # answers 304 to a matching If-None-Match
    length: int | None = None  # a Content-Length to declare instead of the body's
    cut: bool = False  # send half the body, then close the connection
    cut_at: int | None = None  # send this many bytes of the body, then close the connection
    ranges: bool = False  # answer "Range: bytes=N-" with 206 and Content-Range, or 416
    sized: bool = True  # False: no Content-Length, the body ends when the connection does
    headers: dict[str, str] = field(default_factory=dict)  # more headers (Location, …)


@dataclass
class Server:
    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def json(self, path: str, value: Any, **options: Any) -> None:
        self.routes[path] = Route(json.dumps(value).encode(), **options)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


class _Handler(BaseHTTPRequestHandler):
    server_state: Server

    def do_GET(self) -> None:  # http.server calls it by this name
        state = self.server_state
        state.requests.append((self.path, dict(self.headers.items())))
        route = state.routes.get(self.path) or Route(b'{"message": "not found"}', 404)
        if route.delay:
            time.sleep(route.delay)
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self.send_response(304)
            self.end_headers()
            return
        status, body, headers = _ranged(route, self.headers.get("Range", ""))
        self.send_response(status)
        self.send_header("Content-Type", route.content_type)
        if route.sized:
            self.send_header("Content-Length", str(route.length or len(body)))
        if route.etag:
            self.send_header("ETag", route.etag)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            if route.cut or route.cut_at is not None:
                self.wfile.write(body[: len(body) // 2 if route.cut_at is None else route.cut_at])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            else:
                self.wfile.write(body)
        except OSError:
            pass  # the client gave up (a timeout test): nothing to tell

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _ranged(route: Route, asked: str) -> tuple[int, bytes, dict[str, str]]:
    """The status, body and headers for a request that may ask for ``bytes=N-``."""
    match = re.fullmatch(r"bytes=(\d+)-", asked) if route.ranges else None
    if match is None:
        return route.status, route.body, route.headers
    start, size = int(match[1]), len(route.body)
    if start >= size:
        return 416, b"", {**route.headers, "Content-Range": f"bytes */{size}"}
    return 206, route.body[start:], {**route.headers,
                                     "Content-Range": f"bytes {start}-{size - 1}/{size}"}


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping for a timeout test is left to finish

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is expected here


@contextlib.contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """A running server; ``server.url`` is its base address (https with a ``tls`` context)."""
    handler: type[_Handler] = type("Handler", (_Handler,), {})  # one state per server
    httpd = _Quiet(("127.0.0.1", 0), handler)
    if tls is not None:  # the handshake happens in the handler's thread, at its first read
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
    scheme = "http" if tls is None else "https"
    state = Server(f"{scheme}://127.0.0.1:{httpd.server_address[1]}")
    handler.server_state = state
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def self_signed(folder: Path) -> tuple[ssl.SSLContext, str] | None:
    """A server context with a new self-signed certificate for ``127.0.0.1`` and ``localhost``,
    and the certificate's file (the CA a client is to trust); None without openssl."""
    if shutil.which("openssl") is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, str(cert)
