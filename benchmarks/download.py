"""What a model download costs against curl: a markdown table, run by hand.

A 1 GB file of random bytes is served from a loopback HTTP server in a child process (a
threaded ``http.server`` whose GETs are ``socket.sendfile``: the server costs little CPU and
no GIL of ours). In the same run, in turns, the same file is fetched with ``curl -s -o`` and
with ``download.fetch`` — which also hashes every byte with SHA-256 (in a second thread),
sniffs the start, fsyncs the file and renames it. Budget: fetch at >= 80% of curl's throughput
(best of the runs for both).

Two destinations: a tmpfs (``/dev/shm``; fsync costs nothing, so this compares the transfer,
hashing and writing), and the temporary folder's disk, where fetch's fsync waits for the disk
while curl leaves the file in the page cache; there ``curl + fsync`` is the like-for-like row.

    python benchmarks/download.py [--runs 5] [--size-mb 1000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from git_comfy import download

MB = 1000 * 1000
BLOCK = 16 << 20  # random bytes generated once, written until the file has its size
SETTLE = 1.0  # seconds between runs
BUDGET = 0.8  # fetch's throughput against curl's


class _SendFile(BaseHTTPRequestHandler):
    path_served = ""

    def do_GET(self) -> None:  # http.server calls it by this name
        size = os.path.getsize(self.path_served)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(self.path_served, "rb") as file:
            try:
                self.connection.sendfile(file)
            except OSError:
                pass  # the client went away

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(path: str, port: int) -> None:
    """The child process: serves ``path`` at every address until it is killed."""
    _SendFile.path_served = path
    ThreadingHTTPServer(("127.0.0.1", port), _SendFile).serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


def write_random(path: Path, size: int) -> str:
    """A file of ``size`` random-looking bytes; returns its SHA-256."""
    block = os.urandom(BLOCK)
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        written = 0
        while written < size:
            piece = block[: size - written]
            file.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def timed(action: Callable[[Path], object], dest: Path) -> float:
    """Seconds ``action(dest)`` takes; the file it made is removed and the disk settled after
    (written back, and time for a ``discard`` mount's trims)."""
    start = time.perf_counter()
    action(dest)
    seconds = time.perf_counter() - start
    dest.unlink()
    os.sync()
    time.sleep(SETTLE)
    return seconds


def curl(url: str, dest: Path) -> None:
    subprocess.run(["curl", "-s", "-o", str(dest), url], check=True)


def curl_fsync(url: str, dest: Path) -> None:
    curl(url, dest)
    fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="the disk destination")
    parser.add_argument("--serve", nargs=2, metavar=("PATH", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    if shutil.which("curl") is None:
        print("curl is not installed")
        return 2
    size = args.size_mb * MB
    shm = Path("/dev/shm")
    places = [(str(shm), Path(tempfile.mkdtemp(dir=shm)))] if shm.is_dir() else []
    places.append((f"{args.dir} (disk)", Path(tempfile.mkdtemp(dir=args.dir))))
    source_dir = places[0][1]
    source = source_dir / "served.bin"
    sha256 = write_random(source, size)
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(source), str(port)])
    try:
        wait_listening(port)
        url = f"http://127.0.0.1:{port}/model.safetensors"
        policy = download.Policy(http_hosts=frozenset({f"127.0.0.1:{port}"}))
        rows = []

        def fetch(dest: Path) -> None:
            download.fetch(url, str(dest), sha256=sha256, size=size, policy=policy)

        for label, folder in places:
            tools: dict[str, Callable[[Path], object]] = {
                "curl -s -o": lambda dest: curl(url, dest),
                "download.fetch (SHA-256, fsync)": fetch,
            }
            if "disk" in label:
                tools["curl -s -o, then fsync"] = lambda dest: curl_fsync(url, dest)
            times: dict[str, list[float]] = {name: [] for name in tools}
            for _ in range(args.runs):  # in turns: a noisy moment costs each tool alike
                for name, action in tools.items():
                    times[name].append(timed(action, folder / "model.bin"))
            best_curl = min(times["curl -s -o"])
            for name, seconds in times.items():
                best, median = min(seconds), sorted(seconds)[len(seconds) // 2]
                rows.append((label, name, f"{best:.2f}", f"{median:.2f}",
                             f"{size / best / MB:.0f}", f"{best_curl / best:.2f}"))
        print(f"{args.size_mb} MB over loopback, {args.runs} runs each, in turns; "
              f"ratio = curl's best time / this best time (budget >= 0.80 for fetch)\n")
        header = ("destination", "tool", "best s", "median s", "MB/s (best)", "ratio")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        failed = [label for label, tool, *_, ratio in rows
                  if tool.startswith("download.fetch") and float(ratio) < BUDGET]
        if failed:
            print(f"\nover budget: {', '.join(failed)}")
        return 1 if failed else 0
    finally:
        server.kill()
        server.wait()
        for _label, folder in places:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
