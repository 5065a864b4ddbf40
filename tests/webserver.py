"""A real HTTP server on 127.0.0.1, in a thread, for the network tests: each path answers as the
test says — JSON, an HTML page, a status, slowly, cut short, revalidated by ETag — and every
request is recorded. Shaped like the Comfy Registry, ComfyUI-Manager's node map, or ComfyUI."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(route.length or len(route.body)))
        if route.etag:
            self.send_header("ETag", route.etag)
        self.end_headers()
        try:
            if route.cut:
                self.wfile.write(route.body[: len(route.body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            else:
                self.wfile.write(route.body)
        except OSError:
            pass  # the client gave up (a timeout test): nothing to tell

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping for a timeout test is left to finish

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is expected here


@contextlib.contextmanager
def serve() -> Iterator[Server]:
    """A running server; ``server.url`` is its base address."""
    handler: type[_Handler] = type("Handler", (_Handler,), {})  # one state per server
    httpd = _Quiet(("127.0.0.1", 0), handler)
    state = Server(f"http://127.0.0.1:{httpd.server_address[1]}")
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
