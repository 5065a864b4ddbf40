"""A registry pack from address to files: a local https server shaped like the Comfy Registry
(``/nodes/{id}/versions/{version}`` → a NodeVersion whose ``downloadUrl`` is on the same
server) with a certificate made for the test, trusted through git's ``http.sslCAInfo`` as
``download.policy()`` reads it; the zip downloaded and unpacked end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_packzip import FILES, pack_zip
from webserver import Route, Server, self_signed, serve

from git_comfy import download, packzip, registry, webcache
from git_comfy.errors import FatalError

VERSION_PATH = "/nodes/comfyui-foo/versions/1.2.0"
ARCHIVE_PATH = "/archives/comfyui-foo-1.2.0.zip"
MAX_SIZE = 1 << 20


@pytest.fixture
def server(https_server: Server, tmp_path: Path) -> Server:
    https_server.routes[ARCHIVE_PATH] = Route(pack_zip(tmp_path / "served.zip").read_bytes(),
                                              content_type="application/zip")
    return https_server


def version(server: Server, url: str, status: str = "NodeVersionStatusActive") -> None:
    server.json(VERSION_PATH, {"id": "v1", "node_id": "comfyui-foo", "version": "1.2.0",
                               "downloadUrl": url, "status": status, "dependencies": []})


def lookup(server: Server, monkeypatch: pytest.MonkeyPatch) -> tuple[str | None, list[str]]:
    web = webcache.Web()
    url = registry.Registry(web, server.url).download_url("ComfyUI-Foo", "1.2.0")
    monkeypatch.delenv("SSL_CERT_FILE")  # from here on only http.sslCAInfo is trusted
    return url, web.notices


def test_a_registry_pack_is_downloaded_and_unpacked(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version(server, server.url + ARCHIVE_PATH)
    url, notices = lookup(server, monkeypatch)
    assert url == server.url + ARCHIVE_PATH and notices == []
    archive, dest = tmp_path / "pack.zip", tmp_path / "comfyui-foo"
    registry.fetch_archive(url, str(archive), max_size=MAX_SIZE)
    dest.mkdir()
    assert packzip.extract(str(archive), str(dest)) == list(FILES)
    assert {name: (dest / name).read_bytes() for name in FILES} == FILES
    assert server.paths() == [VERSION_PATH, ARCHIVE_PATH]


@pytest.mark.parametrize(("answer", "notice"), [
    ({"downloadUrl": "http://{host}" + ARCHIVE_PATH}, "not a plain https address"),
    ({"status": "NodeVersionStatusBanned"}, "NodeVersionStatusBanned; not downloaded"),
])
def test_a_version_not_to_download_gives_no_address(
        server: Server, monkeypatch: pytest.MonkeyPatch, answer: dict[str, str],
        notice: str) -> None:
    host = server.url.removeprefix("https://")
    version(server, answer.get("downloadUrl", server.url + ARCHIVE_PATH).format(host=host),
            answer.get("status", "NodeVersionStatusActive"))
    url, notices = lookup(server, monkeypatch)
    assert url is None
    assert len(notices) == 1 and notice in notices[0], notices


def test_an_http_address_is_not_fetched(server: Server, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    url = "http://" + server.url.removeprefix("https://") + ARCHIVE_PATH
    with pytest.raises(FatalError, match="plain http is not downloaded from"):
        download.fetch_archive(url, str(tmp_path / "pack.zip"), max_size=MAX_SIZE,
                               policy=download.policy())
    assert not (tmp_path / "pack.zip").exists() and server.paths() == []


def test_an_archive_over_its_cap_is_refused_and_removed(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    body = server.routes[ARCHIVE_PATH].body
    for sized in (True, False):  # refused from its Content-Length, then as the bytes come
        server.routes[ARCHIVE_PATH] = Route(body, sized=sized)
        with pytest.raises(FatalError, match="more than the 100 B allowed"):
            download.fetch_archive(server.url + ARCHIVE_PATH, str(tmp_path / "pack.zip"),
                                   max_size=100, policy=download.policy())
        assert not (tmp_path / "pack.zip").exists()


def test_a_certificate_not_trusted_is_refused(tmp_path: Path) -> None:
    other = self_signed(tmp_path)
    if other is None:
        pytest.skip("openssl is not installed: no certificate for the https tests")
    with serve(other[0]) as running:
        running.routes[ARCHIVE_PATH] = Route(b"PK")
        with pytest.raises(FatalError, match="certificate"):
            download.fetch_archive(running.url + ARCHIVE_PATH, str(tmp_path / "pack.zip"),
                                   max_size=MAX_SIZE, policy=download.policy())
    assert not (tmp_path / "pack.zip").exists()
