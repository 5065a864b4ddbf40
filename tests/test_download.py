"""Model downloads against a real HTTP(S) server on 127.0.0.1: resuming a ``.part``, servers
that ignore ranges, answers that are pages instead of models, pickles, invalid headers, wrong
sizes and hashes, tokens that must stay with their host across redirects, addresses that are
refused, a full disk, links where files should be, and Ctrl-C.

``127.0.0.1`` and ``localhost`` are one server seen as two hosts: Hugging Face and its CDN."""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import pickle
import ssl
import struct
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from webserver import Route, Server, self_signed, serve

from git_comfy import download, ui
from git_comfy.errors import FatalError

BINARY = "application/octet-stream"
Tensors = dict[str, tuple[str, list[int], bytes]]

# Model files built here (tests/core/test_modelformat.py uses them too). Every pickle is written
# opcode by opcode: nothing that would run a command is ever pickled, nothing is unpickled.


def safetensors(tensors: Tensors, *, metadata: dict[str, Any] | None = None,
                offsets: dict[str, list[int]] | None = None, trailing: bytes = b"") -> bytes:
    """A safetensors file, its tensors laid out in order; ``offsets`` overrides some."""
    header: dict[str, Any] = {}
    data = b""
    for name, (dtype, shape, blob) in tensors.items():
        span = (offsets or {}).get(name, [len(data), len(data) + len(blob)])
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": span}
        data += blob
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data + trailing


def os_system_protocol_0(command: str) -> bytes:
    """The classic: ``os.system(command)`` through GLOBAL and REDUCE (never unpickled)."""
    return b"cos\nsystem\n(S'" + command.encode() + b"'\ntR."


def torch_zip(data_pkl: bytes) -> bytes:
    """A PyTorch ≥ 1.6 checkpoint's layout: ``archive/data.pkl`` first, then the tensors."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", bytes(64))
    return buffer.getvalue()


def model(floats: int = 300_000) -> bytes:
    """A valid safetensors file of random weights (1.2 MB by default)."""
    return safetensors({"weight": ("F32", [floats], os.urandom(4 * floats))})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def allowing(server: Server, **options: Any) -> download.Policy:
    """A policy that lets plain http reach ``server``."""
    return download.Policy(http_hosts=frozenset({server.url.split("://")[1]}), **options)


def fetch(server: Server, path: str, dest: Path, data: bytes, *, size: int | None = -1,
          policy: download.Policy | None = None) -> download.Result:
    return download.fetch(f"{server.url}{path}", str(dest), sha256=sha(data),
                          size=len(data) if size == -1 else size,
                          policy=policy or allowing(server))


def refused(server: Server, path: str, dest: Path, data: bytes, **options: Any) -> str:
    with pytest.raises(FatalError) as caught:
        fetch(server, path, dest, data, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def nothing_kept(dest: Path) -> bool:
    return not os.path.lexists(dest) and not os.path.lexists(part(dest))


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    made = self_signed(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("openssl is not installed: no certificate for the https tests")
    return made


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a disk that fills up (mounting needs root, which CI has)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a small tmpfs is mounted to fill a disk, which needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


# -- downloads that work ------------------------------------------------------------------------


def test_a_download_is_verified_and_put_in_place(server: Server, tmp_path: Path) -> None:
    data = model()
    server.routes["/m.safetensors"] = Route(data, content_type=BINARY)
    dest = tmp_path / "m.safetensors"
    result = fetch(server, "/m.safetensors", dest, data)
    assert result == download.Result(str(dest), sha(data), len(data), 0, [], "safetensors")
    assert dest.read_bytes() == data and not part(dest).exists()
    ((_path, headers),) = server.requests
    assert "Range" not in headers and "Authorization" not in headers
    assert headers["Accept-Encoding"] == "identity"


def test_a_cut_download_resumes_from_its_part(server: Server, tmp_path: Path) -> None:
    data = model()
    server.routes["/m"] = Route(data, content_type=BINARY, ranges=True, cut_at=300_000)
    dest = tmp_path / "m.safetensors"
    message = refused(server, "/m", dest, data)
    assert "stopped at 293.0 KiB of 1.1 MiB" in message
    assert message.endswith("run the import again to resume")
    assert part(dest).read_bytes() == data[:300_000] and not dest.exists()
    server.routes["/m"].cut_at = None
    result = fetch(server, "/m", dest, data)
    assert result.resumed_from == 300_000 and result.sha256 == sha(data)
    assert server.requests[-1][1]["Range"] == "bytes=300000-"
    assert dest.read_bytes() == data and not part(dest).exists()


def test_a_server_that_ignores_the_range_starts_over(server: Server, tmp_path: Path) -> None:
    data = model()
    dest = tmp_path / "m.safetensors"
    part(dest).write_bytes(data[:200_000])
    server.routes["/m"] = Route(data, content_type=BINARY)  # no ranges: 200 and all of it
    result = fetch(server, "/m", dest, data)
    assert server.requests[0][1]["Range"] == "bytes=200000-"
    assert result.resumed_from == 0 and dest.read_bytes() == data


def test_a_complete_part_needs_no_request_or_one(server: Server, tmp_path: Path) -> None:
    data = model()
    dest = tmp_path / "m.safetensors"
    part(dest).write_bytes(data)
    assert fetch(server, "/m", dest, data).resumed_from == len(data)
    assert server.requests == []  # size known, hash matches: a run killed before the rename
    dest.unlink()
    part(dest).write_bytes(data)
    server.routes["/m"] = Route(data, content_type=BINARY, ranges=True)
    result = fetch(server, "/m", dest, data, size=None)  # size unknown: the server's 416 says
    assert result.resumed_from == len(data) and dest.read_bytes() == data
    assert len(server.requests) == 1


def test_a_part_longer_than_the_file_starts_over(server: Server, tmp_path: Path) -> None:
    data = model()
    dest = tmp_path / "m.safetensors"
    part(dest).write_bytes(data + b"stale bytes of another file")
    server.routes["/m"] = Route(data, content_type=BINARY, ranges=True)
    assert fetch(server, "/m", dest, data, size=None).resumed_from == 0  # after a 416
    assert dest.read_bytes() == data
    dest.unlink()
    part(dest).write_bytes(data + b"stale")
    assert fetch(server, "/m", dest, data).resumed_from == 0  # size known: no 416 needed
    assert dest.read_bytes() == data


def test_a_part_with_other_bytes_fails_the_hash_and_goes(server: Server, tmp_path: Path) -> None:
    data = model()
    dest = tmp_path / "m.safetensors"
    part(dest).write_bytes(data[:100] + b"X" + data[101:200_000])
    server.routes["/m"] = Route(data, content_type=BINARY, ranges=True)
    message = refused(server, "/m", dest, data)
    assert "SHA-256 mismatch" in message and message.endswith("nothing was kept")
    assert nothing_kept(dest)
    assert fetch(server, "/m", dest, data).resumed_from == 0  # the next run starts afresh


def test_ctrl_c_keeps_the_part(server: Server, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = model(800_000)  # 3.2 MB: several chunks
    server.routes["/m"] = Route(data, content_type=BINARY, ranges=True)
    dest = tmp_path / "m.safetensors"

    def interrupted(bar: ui.Progress, count: int = 1) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ui.Progress, "advance", interrupted)
        with pytest.raises(KeyboardInterrupt):
            fetch(server, "/m", dest, data)
    assert part(dest).stat().st_size == download.CHUNK
    assert not any(thread.name == "sha256" for thread in threading.enumerate())
    assert fetch(server, "/m", dest, data).resumed_from == download.CHUNK
    assert dest.read_bytes() == data


# -- answers that are not the model -------------------------------------------------------------


def test_a_hash_mismatch_keeps_nothing(server: Server, tmp_path: Path) -> None:
    data = model()
    server.routes["/m"] = Route(data, content_type=BINARY)
    dest = tmp_path / "m.safetensors"
    with pytest.raises(FatalError) as caught:
        download.fetch(f"{server.url}/m", str(dest), sha256="ab" * 32, size=len(data),
                       policy=allowing(server))
    assert str(caught.value) == (f"m.safetensors: SHA-256 mismatch (expected {'ab' * 32}, got "
                                 f"{sha(data)}); nothing was kept")
    assert nothing_kept(dest)


@pytest.mark.parametrize(("body", "status", "fragment"), [
    (b"<!DOCTYPE html><html><title>Log in</title>" + b" " * 70_000, 200,
     "127.0.0.1 answered with an HTML page, not a model (a login or error page?)"),
    (b"<html>short</html>", 200, "127.0.0.1 answered with an HTML page"),
    (b'{"error": "Access to model org/m is restricted."}', 200,
     "127.0.0.1 answered with a JSON document, not a model (error: Access to model org/m is "
     "restricted.)"),
])
def test_pages_instead_of_models_are_deleted(server: Server, tmp_path: Path, body: bytes,
                                             status: int, fragment: str) -> None:
    server.routes["/m"] = Route(body, status, "text/html")
    dest = tmp_path / "m.safetensors"
    message = refused(server, "/m", dest, body, size=None)
    assert message.startswith(f"m.safetensors: {fragment}"), message
    assert message.endswith("nothing was kept")
    assert nothing_kept(dest)


def test_a_page_of_another_size_is_named_as_a_page(server: Server, tmp_path: Path) -> None:
    page = b"<!DOCTYPE html><html><body>Sign in</body></html>"
    server.routes["/m"] = Route(page, content_type="text/html")
    dest = tmp_path / "m.safetensors"
    message = refused(server, "/m", dest, page, size=16560)  # the size is wrong first
    assert message == ("m.safetensors: 127.0.0.1 answered with an HTML page, not a model (a "
                       "login or error page?); nothing was kept")
    assert nothing_kept(dest)
    other = model(100)  # another file of another size: the sizes are the news
    server.routes["/m"] = Route(other, content_type=BINARY)
    assert f"127.0.0.1 sends {len(other)} bytes, the bundle says 16560" in refused(
        server, "/m", dest, other, size=16560)


def test_an_http_error_keeps_the_part_for_later(server: Server, tmp_path: Path) -> None:
    data = model()
    dest = tmp_path / "m.safetensors"
    server.routes["/m"] = Route(b'{"error": "gated"}', 401)
    assert "127.0.0.1 answered HTTP 401 Unauthorized" in refused(server, "/m", dest, data)
    assert nothing_kept(dest)  # an empty .part is not kept
    part(dest).write_bytes(data[:1000])
    server.routes["/m"] = Route(b"", 503)
    assert "answered HTTP 503" in refused(server, "/m", dest, data)
    assert part(dest).read_bytes() == data[:1000]


def test_a_pickle_named_safetensors_is_a_warning(server: Server, tmp_path: Path) -> None:
    data = pickle.dumps({"w": [0.5] * 10}, protocol=2)
    server.routes["/m"] = Route(data, content_type=BINARY)
    result = fetch(server, "/m", tmp_path / "m.safetensors", data)
    assert result.kind == "pickle"
    assert result.warnings == [
        "its content is a pickle named .safetensors",
        "a pickle-based file: loading it can run code (git comfy never loads it); it imports "
        "only what PyTorch checkpoints need"]


def test_a_checkpoint_whose_data_pkl_imports_os_system(server: Server, tmp_path: Path) -> None:
    witness = tmp_path / "ran"
    data = torch_zip(os_system_protocol_0(f"touch {witness}"))
    server.routes["/m.ckpt"] = Route(data, content_type=BINARY)
    dest = tmp_path / "model.ckpt"
    result = fetch(server, "/m.ckpt", dest, data)
    assert result.kind == "pickle-zip" and dest.read_bytes() == data
    assert result.warnings == ["a pickle-based file: loading it can run code (git comfy never "
                               "loads it); UNSAFE: imports os.system"]
    assert not witness.exists()  # never loaded


def test_a_zip_without_a_pickle_is_named_as_such(server: Server, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a checkpoint")
    data = buffer.getvalue()
    server.routes["/m"] = Route(data, content_type=BINARY)
    result = fetch(server, "/m", tmp_path / "model.pt", data)
    assert "a ZIP archive without data.pkl: not a PyTorch checkpoint" in result.warnings[0]


@pytest.mark.parametrize(("data", "fragment"), [
    (struct.pack("<Q", 2**40) + b'{"w": {}}' + bytes(100), "header length (1099511627776) is "
     "larger than 100 MB"),
    (model()[:500_000], "its tensors run past the end of the file"),
    (safetensors({"a": ("F32", [2], bytes(8)), "b": ("F32", [2], bytes(8))},
                 offsets={"b": [4, 12]}), "overlaps the one before it"),
    (safetensors({f"t{n}": ("U8", [4], bytes(4)) for n in range(3000)},
                 offsets={"t2999": [0, 4]}), "overlaps the one before it"),  # header > 64 KiB
])
def test_invalid_safetensors_are_refused(server: Server, tmp_path: Path, data: bytes,
                                         fragment: str) -> None:
    server.routes["/m"] = Route(data, content_type=BINARY)
    dest = tmp_path / "m.safetensors"
    message = refused(server, "/m", dest, data)
    assert "an invalid safetensors file" in message and fragment in message, message
    assert nothing_kept(dest)


# -- sizes and space ----------------------------------------------------------------------------


def test_a_size_that_disagrees_is_refused(server: Server, tmp_path: Path) -> None:
    data = model()
    server.routes["/m"] = Route(data, content_type=BINARY)
    dest = tmp_path / "m.safetensors"
    message = refused(server, "/m", dest, data, size=len(data) + 1)
    assert f"127.0.0.1 sends {len(data)} bytes, the bundle says {len(data) + 1}" in message
    assert nothing_kept(dest)


def test_more_bytes_than_the_size_stop_the_download(server: Server, tmp_path: Path) -> None:
    data = os.urandom(1 << 20)
    server.routes["/m"] = Route(data, content_type=BINARY, sized=False)
    dest = tmp_path / "m.bin"
    message = refused(server, "/m", dest, data, size=len(data) - 10)
    assert f"127.0.0.1 sent more than the {len(data) - 10} bytes it should" in message
    assert nothing_kept(dest)
    assert fetch(server, "/m", dest, data, size=None).size == len(data)  # unsized, unknown


def test_too_little_free_space_is_refused_first(server: Server, small_disk: Path) -> None:
    data = model()
    server.routes["/m"] = Route(data, content_type=BINARY)
    dest = small_disk / "m.safetensors"
    message = refused(server, "/m", dest, data, size=1 << 30)
    assert message.startswith(f"m.safetensors needs 1.0 GiB but {small_disk} has")
    assert message.endswith("free; nothing was downloaded")
    assert server.requests == [] and nothing_kept(dest)
    server.routes["/m"] = Route(data, content_type=BINARY, length=10 << 30)  # a huge claim
    assert "needs 10.0 GiB" in refused(server, "/m", dest, data, size=None)
    assert nothing_kept(dest)


def test_a_disk_that_fills_up_midway(server: Server, small_disk: Path) -> None:
    data = os.urandom(6 << 20)
    server.routes["/m"] = Route(data, content_type=BINARY, sized=False)  # no size to check
    dest = small_disk / "m.bin"
    message = refused(server, "/m", dest, data, size=None)
    assert message.startswith(f"m.bin: the disk is full ({small_disk}) after ")
    assert message.endswith("; nothing was kept")
    assert nothing_kept(dest)


# -- where it is written ------------------------------------------------------------------------


def test_content_disposition_is_ignored(server: Server, tmp_path: Path) -> None:
    data = model()
    name = f"evil-{os.getpid()}.safetensors"
    server.routes["/m"] = Route(data, content_type=BINARY, headers={
        "Content-Disposition": f'attachment; filename="../../{name}"'})
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    fetch(server, "/m", folder / "m.safetensors", data)
    assert os.listdir(folder) == ["m.safetensors"]
    assert not (tmp_path / name).exists() and not (folder / name).exists()


def test_a_dest_that_is_a_link_or_exists_is_refused(server: Server, tmp_path: Path) -> None:
    data = model()
    server.routes["/m"] = Route(data, content_type=BINARY)
    victim = tmp_path / "victim"
    victim.write_text("mine")
    dest = tmp_path / "m.safetensors"
    dest.symlink_to(victim)
    assert "is a symbolic link" in refused(server, "/m", dest, data)
    dest.unlink()
    part(dest).symlink_to(victim)
    assert "cannot write" in refused(server, "/m", dest, data)
    assert victim.read_text() == "mine" and not dest.exists()
    part(dest).unlink()
    dest.write_bytes(b"someone else's")
    assert "there already" in refused(server, "/m", dest, data)
    assert dest.read_bytes() == b"someone else's" and server.requests == []


def test_a_file_that_appears_meanwhile_is_never_replaced(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = model()
    server.routes["/m"] = Route(data, content_type=BINARY)
    dest = tmp_path / "m.safetensors"

    def another_import(bar: ui.Progress, count: int = 1) -> None:
        if not dest.exists():
            dest.write_bytes(b"theirs")

    monkeypatch.setattr(ui.Progress, "advance", another_import)
    message = refused(server, "/m", dest, data)
    assert "m.safetensors appeared while it was downloaded (another import?)" in message
    assert dest.read_bytes() == b"theirs" and not part(dest).exists()


def test_a_part_being_downloaded_elsewhere_is_left_alone(server: Server,
                                                         tmp_path: Path) -> None:
    data = model()
    dest = tmp_path / "m.safetensors"
    with open(part(dest), "wb") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        assert "being downloaded by another git comfy" in refused(server, "/m", dest, data)
    assert part(dest).exists()


def test_a_name_in_any_language_is_sent_escaped(server: Server, tmp_path: Path) -> None:
    data = model()
    escaped = "/models/m%C3%BCller%20v2.safetensors?x=%C3%A9"
    server.routes[escaped] = Route(data, content_type=BINARY)
    fetch(server, "/models/m\u00fcller%20v2.safetensors?x=\u00e9", tmp_path / "m", data)
    assert server.paths() == [escaped]


# -- addresses, redirects and tokens ------------------------------------------------------------


@pytest.mark.parametrize(("url", "fragment"), [
    ("ftp://127.0.0.1/m", "only https:// addresses"),
    ("file:///etc/passwd", "only https:// addresses"),
    ("https://user:hunter2@example.com/m", "a user name or password"),
    ("https://huggingface.co@evil.example/m", "a user name or password"),
    ("https://exa mple.com/m", "spaces"),
    ("https://example.com/m\r\nX-Injected: 1", "control characters"),
    ("https://example.com\\@evil.example/m", "backslashes"),
    ("https:///m", "no valid host name"),
    ("https://ex%41mple.com/m", "no valid host name"),
    ("https://[::1/m", "cannot be read"),
    ("https://example.com:99999/m", "cannot be read"),
    ("http://example.com/m", "plain http is not downloaded from"),
])
def test_refused_addresses(tmp_path: Path, url: str, fragment: str) -> None:
    with pytest.raises(FatalError) as caught:
        download.fetch(url, str(tmp_path / "m"), sha256="0" * 64, size=1,
                       policy=download.Policy())
    message = str(caught.value)
    assert fragment in message and "hunter2" not in message and "\n" not in message
    assert os.listdir(tmp_path) == []


def test_plain_http_only_to_an_allowed_host_and_port(server: Server, tmp_path: Path) -> None:
    data = model()
    server.routes["/m"] = Route(data, content_type=BINARY)
    port = server.url.rsplit(":", 1)[1]
    other = download.Policy(http_hosts=frozenset({f"127.0.0.1:{int(port) + 1}", "localhost:"
                                                  + port}))
    message = refused(server, "/m", tmp_path / "m", data, policy=other)
    assert f"git config --add comfy.allowHttp 127.0.0.1:{port}" in message
    assert server.requests == []


def test_the_address_shown_hides_secrets() -> None:
    assert download.shown("https://civitai.com/api/download/models/1?token=abc123&type=Model") \
        == "https://civitai.com/api/download/models/1"
    assert download.shown("https://cdn.example/x?X-Amz-Signature=ff&X-Amz-Credential=k") \
        == "https://cdn.example/x"
    assert download.shown("https://example.com/x?type=Model&format=SafeTensor") \
        == "https://example.com/x?type=Model&format=SafeTensor"
    assert download.shown("https://u:p@example.com/\x1b[31mx") == \
        "https://example.com/\\x1b[31mx"


@pytest.mark.parametrize(("url", "sent"), [
    ("https://huggingface.co/org/m/resolve/main/m.safetensors", True),
    ("https://HuggingFace.co/org/m", True),
    ("https://huggingface.co:443/org/m", True),
    ("https://huggingface.co:8443/org/m", False),
    ("https://huggingface.co.evil.example/org/m", False),
    ("https://cdn-lfs.huggingface.co/org/m", False),
    ("https://evil.example/huggingface.co/m", False),
])
def test_a_token_is_for_its_exact_host_on_443(url: str, sent: bool) -> None:
    policy = download.Policy(tokens={"huggingface.co": ("Authorization", "Bearer t")})
    target = download._target(url, policy)
    assert (target.token(policy) is not None) is sent


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_a_token_is_not_sent_along_a_redirect_to_another_host(
        tls: tuple[ssl.SSLContext, str], tmp_path: Path, header: str) -> None:
    data = model()
    context, cafile = tls
    with serve(context) as server:
        port = server.url.rsplit(":", 1)[1]
        secret = "Bearer test-" + os.urandom(8).hex()
        server.routes["/org/m/resolve/main/m.safetensors"] = Route(b"", 302, headers={
            "Location": f"https://localhost:{port}/cdn/m.safetensors?X-Amz-Signature=s"})
        server.routes["/cdn/m.safetensors?X-Amz-Signature=s"] = Route(data, content_type=BINARY)
        policy = download.Policy(tokens={f"127.0.0.1:{port}": (header, secret)},
                                 cafile=cafile)
        result = fetch(server, "/org/m/resolve/main/m.safetensors", tmp_path / "m", data,
                       policy=policy)
        assert result.sha256 == sha(data)
        (_, asked), (_, answered) = server.requests
        assert asked["Host"] == f"127.0.0.1:{port}" and asked[header] == secret
        assert answered["Host"] == f"localhost:{port}" and header not in answered
        assert secret not in json.dumps(answered)


def test_a_token_for_port_443_is_not_sent_to_another_port(tls: tuple[ssl.SSLContext, str],
                                                          tmp_path: Path) -> None:
    data = model()
    context, cafile = tls
    with serve(context) as server:
        server.routes["/m"] = Route(data, content_type=BINARY)
        policy = download.Policy(tokens={"127.0.0.1": ("Authorization", "Bearer t")},
                                 cafile=cafile)
        fetch(server, "/m", tmp_path / "m", data, policy=policy)
        assert "Authorization" not in server.requests[0][1]


def test_an_untrusted_certificate_is_refused(tls: tuple[ssl.SSLContext, str],
                                            tmp_path: Path) -> None:
    context, _cafile = tls
    with serve(context) as server:
        message = refused(server, "/m", tmp_path / "m", b"x", policy=download.Policy())
        assert "no answer from 127.0.0.1 (its certificate was refused" in message


def test_a_redirect_from_https_to_http(tls: tuple[ssl.SSLContext, str], tmp_path: Path) -> None:
    data = model()
    context, cafile = tls
    with serve(context) as secure, serve() as plain:
        plain.routes["/m"] = Route(data, content_type=BINARY)
        secure.routes["/m"] = Route(b"", 302, headers={"Location": f"{plain.url}/m"})
        message = refused(secure, "/m", tmp_path / "m", data,
                          policy=download.Policy(cafile=cafile))
        assert message.startswith(f"refused to download from {plain.url}/m (where 127.0.0.1 "
                                  "redirected): plain http is not downloaded from")
        assert plain.requests == [] and os.listdir(tmp_path) == []
        allowed = allowing(plain, cafile=cafile)  # a mirror the user allows
        assert fetch(secure, "/m", tmp_path / "m", data, policy=allowed).size == len(data)


def test_redirects_are_limited(server: Server, tmp_path: Path) -> None:
    server.routes["/loop"] = Route(b"", 302, headers={"Location": "/loop"})
    server.routes["/nowhere"] = Route(b"", 301)
    assert "more than 5 redirects from 127.0.0.1" in refused(server, "/loop", tmp_path / "m",
                                                             b"x")
    assert len(server.requests) == 6
    assert "answered HTTP 301 without saying where to" in refused(server, "/nowhere",
                                                                  tmp_path / "m", b"x")


def test_no_answer(tmp_path: Path, server: Server) -> None:
    from conftest import CLOSED_URL

    closed = download.Policy(http_hosts=frozenset({CLOSED_URL.split("://")[1]}))
    with pytest.raises(FatalError, match=r"no answer from 127\.0\.0\.1 \(Connection refused\)"):
        download.fetch(f"{CLOSED_URL}/m", str(tmp_path / "m"), sha256="0" * 64, size=1,
                       policy=closed)
    server.routes["/slow"] = Route(b"x", delay=2)
    slow = allowing(server, timeout=0.3)
    assert "(timed out)" in refused(server, "/slow", tmp_path / "m", b"x", policy=slow)
    assert os.listdir(tmp_path) == []


def test_a_compressed_answer_is_refused(server: Server, tmp_path: Path) -> None:
    server.routes["/m"] = Route(b"\x1f\x8b...", content_type=BINARY,
                                headers={"Content-Encoding": "gzip"})
    assert "sent it compressed (gzip)" in refused(server, "/m", tmp_path / "m", b"x")


# -- the user's policy --------------------------------------------------------------------------


def test_the_users_policy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hf, civitai = "hf" + "_" + os.urandom(8).hex(), os.urandom(16).hex()
    monkeypatch.setenv("HF_TOKEN", hf + "\n")
    monkeypatch.setenv("CIVITAI_API_KEY", civitai)
    git("config", "--global", "--add", "comfy.allowHttp", "mirror.lan:8080", cwd=tmp_path)
    git("config", "--global", "--add", "comfy.allowHttp", "[fd00::1]:80", cwd=tmp_path)
    git("config", "--global", "http.sslCAInfo", "~/ca.pem", cwd=tmp_path)
    policy = download.policy()
    assert policy.tokens == {"huggingface.co": ("Authorization", f"Bearer {hf}"),
                             "civitai.com": ("Authorization", f"Bearer {civitai}")}
    assert policy.http_hosts == frozenset({"mirror.lan:8080", "[fd00::1]:80"})
    assert policy.cafile == os.path.expanduser("~/ca.pem")


def test_a_bad_policy_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CIVITAI_API_KEY", raising=False)
    secret = "hf" + "_" + os.urandom(8).hex()
    monkeypatch.setenv("HF_TOKEN", f"{secret} oops")
    with pytest.raises(FatalError) as caught:
        download.policy()
    assert "HF_TOKEN holds spaces" in str(caught.value) and secret not in str(caught.value)
    monkeypatch.delenv("HF_TOKEN")
    git("config", "--global", "--add", "comfy.allowHttp", "mirror.lan", cwd=tmp_path)
    with pytest.raises(FatalError, match=r"'mirror\.lan' is not HOST:PORT"):
        download.policy()


def test_the_token_huggingface_cli_saved_is_used_when_hf_token_is_unset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("HF_TOKEN_PATH", raising=False)
    assert "huggingface.co" not in download.policy().tokens
    saved = Path(os.environ["XDG_CACHE_HOME"]) / "huggingface" / "token"
    saved.parent.mkdir(parents=True)
    saved.write_text("hf_saved_by_the_cli\n")
    assert download.policy().tokens["huggingface.co"] == (
        "Authorization", "Bearer hf_saved_by_the_cli")
    elsewhere = tmp_path / "my-token"
    elsewhere.write_text("hf_from_hf_token_path")
    monkeypatch.setenv("HF_TOKEN_PATH", str(elsewhere))
    assert download.policy().tokens["huggingface.co"][1] == "Bearer hf_from_hf_token_path"
    monkeypatch.setenv("HF_TOKEN", "hf_from_the_environment")
    assert download.policy().tokens["huggingface.co"][1] == "Bearer hf_from_the_environment"
