"""The network sources against a real HTTP server on 127.0.0.1: caching and revalidation,
offline work from the cache, and every way an answer can fail (slow, 500, HTML, cut short,
too large, nobody listening) — each a notice, never a crash."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from pathlib import Path

from webserver import Route, free_port, serve

from git_comfy import errors, nodemap, registry, webcache

DAY = 86400.0
MAP = {
    "https://github.com/comfyanonymous/ComfyUI": [["KSampler"], {"title_aux": "ComfyUI"}],
    "https://github.com/kijai/ComfyUI-KJNodes": [["ImageResizeKJ", "Shared"],
                                                 {"title_aux": "KJNodes"}],
    "https://github.com/other/fork": [["Shared"], {"title_aux": "fork"}],
    "https://github.com/rgthree/rgthree-comfy": [[], {"nodename_pattern": " \\(rgthree\\)$"}],
    "https://github.com/city96/ComfyUI-GGUF": [["UnetLoaderGGUF"],
                                               {"preemptions": ["UnetLoaderGGUF"]}],
    "https://github.com/copy/gguf": [["UnetLoaderGGUF"], {}],
}


def test_answers_are_cached_and_revalidated() -> None:
    with serve() as server:
        server.json("/a", {"n": 1}, etag='"v1"')
        web = webcache.Web(timeout=2)
        first = web.get(f"{server.url}/a", max_age=DAY, max_bytes=1000, what="test")
        again = web.get(f"{server.url}/a", max_age=DAY, max_bytes=1000, what="test")
        assert first is not None and again is not None
        assert json.loads(again.body) == {"n": 1} and len(server.requests) == 1
        revalidated = web.get(f"{server.url}/a", max_age=0, max_bytes=1000, what="test")
        assert revalidated is not None and revalidated.body == first.body
        assert server.requests[-1][1].get("If-None-Match") == '"v1"'
        assert web.notices == []


def test_a_server_error_falls_back_to_the_cache_with_one_notice() -> None:
    with serve() as server:
        web = webcache.Web(timeout=2)
        server.json("/a", {"n": 1})
        assert web.get(f"{server.url}/a", max_age=DAY, max_bytes=1000, what="src") is not None
        server.routes["/a"] = Route(b"oops", 500)
        server.routes["/b"] = Route(b"oops", 500)
        stale = web.get(f"{server.url}/a", max_age=0, max_bytes=1000, what="src")
        assert stale is not None and json.loads(stale.body) == {"n": 1} and not stale.fresh
        assert web.get(f"{server.url}/b", max_age=0, max_bytes=1000, what="src") is None
        assert len(web.notices) == 1
        assert "HTTP 500" in web.notices[0] and "using the copy cached" in web.notices[0]
        assert server.paths() == ["/a", "/a"]  # /b was not asked: the host is down


def test_a_slow_server_times_out() -> None:
    with serve() as server:
        server.routes["/slow"] = Route(b"{}", delay=3)
        web = webcache.Web(timeout=0.3)
        start = time.monotonic()
        assert web.get(f"{server.url}/slow", max_age=DAY, max_bytes=1000, what="src") is None
        assert time.monotonic() - start < 2.5
        assert "timed out" in web.notices[0] and "nothing cached" in web.notices[0]


def test_nobody_listening() -> None:
    web = webcache.Web(timeout=1)
    url = f"http://127.0.0.1:{free_port()}/x"
    assert web.get(url, max_age=DAY, max_bytes=1000, what="src") is None
    assert web.notices and "no answer from" in web.notices[0]


def test_an_answer_cut_short_or_too_large() -> None:
    with serve() as server:
        server.routes["/cut"] = Route(b'{"id": "x", "repository": "https://github.com/a/b"}',
                                      length=500, cut=True)
        server.routes["/huge"] = Route(b"{}", length=60 * 1024 * 1024)
        web = webcache.Web(timeout=2)
        assert web.get(f"{server.url}/cut", max_age=DAY, max_bytes=1000, what="src") is None
        assert "cut short" in web.notices[0]
        other = webcache.Web(timeout=2)
        big = other.get(f"{server.url}/huge", max_age=DAY, max_bytes=50 << 20, what="map")
        assert big is None and "larger than 50 MB; refused" in other.notices[0]


def test_offline_uses_the_cache_only() -> None:
    with serve() as server:
        server.json("/a", [1])
        assert webcache.Web().get(f"{server.url}/a", max_age=DAY, max_bytes=100,
                                  what="src") is not None
        offline = webcache.Web(offline=True)
        assert offline.get(f"{server.url}/a", max_age=0, max_bytes=100, what="src") is not None
        assert offline.get(f"{server.url}/never", max_age=0, max_bytes=100, what="s") is None
        assert server.paths() == ["/a"] and offline.notices == []


def test_only_http_and_no_downgrade() -> None:
    web = webcache.Web()
    assert web.get("file:///etc/passwd", max_age=DAY, max_bytes=100, what="src") is None
    assert "only http and https" in web.notices[0]
    handler = webcache.no_downgrade()
    request = urllib.request.Request("https://registry.example/x")
    assert handler.redirect_request(request, None, 302, "Found", {}, "http://evil/x") is None


def test_a_damaged_cache_file_is_worked_around() -> None:
    path = Path(errors.cache_dir()) / webcache.CACHE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with serve() as server:
        server.json("/a", {"ok": True})
        web = webcache.Web()
        answer = web.get(f"{server.url}/a", max_age=DAY, max_bytes=100, what="src")
        assert answer is not None and json.loads(answer.body) == {"ok": True}
        assert "not usable" in web.notices[0]


# -- the Comfy Registry -----------------------------------------------------------------------


def test_registry_lookups() -> None:
    with serve() as server:
        node = {"id": "comfyui-kjnodes", "repository": "https://github.com/kijai/ComfyUI-KJNodes",
                "latest_version": {"version": "1.1.2"}}
        server.json("/comfy-nodes/ImageResizeKJ/node", node)
        server.json("/comfy-nodes/Label%20%28x%29/node", node)
        server.json("/nodes/comfyui-kjnodes", node)
        server.json("/nodes/comfyui-kjnodes/versions", [{"version": "1.1.2"}, {"version": "1.0"}])
        hub = registry.Registry(webcache.Web(), server.url + "/")
        found = hub.node_for_type("ImageResizeKJ")
        assert found is not None and found.id == "comfyui-kjnodes"
        assert hub.node_for_type("Label (x)") is not None  # quoted in the path
        assert hub.node_for_type("Nobody") is None  # 404
        assert hub.node("ComfyUI-KJNodes") is not None
        assert hub.versions("comfyui-kjnodes") == ["1.1.2", "1.0.0"]
        assert hub.web.notices == []


def test_registry_lookups_run_at_once() -> None:
    """Twenty packs need twenty answers: asked together, not one after the other."""
    with serve() as server:
        names = [f"Type{n}" for n in range(6)]
        for name in names:
            server.routes[f"/comfy-nodes/{name}/node"] = Route(
                json.dumps({"id": name.lower()}).encode(), delay=0.4)
        hub = registry.Registry(webcache.Web(timeout=5), server.url)
        start = time.monotonic()
        found = hub.nodes_for_types(names)
        assert time.monotonic() - start < 1.6  # 2.4 s one by one
        assert {t: n.id if n else None for t, n in found.items()} == {
            name: name.lower() for name in names}


def test_registry_answers_that_are_not_usable() -> None:
    with serve() as server:
        server.routes["/comfy-nodes/Html/node"] = Route(
            b"<!doctype html><h1>Maintenance</h1>", content_type="text/html")
        server.routes["/comfy-nodes/Cut/node"] = Route(b'{"id": "x", "reposit')
        server.json("/comfy-nodes/Plain/node", {"id": "plain",
                                                "repository": "http://github.com/a/plain"})
        server.json("/comfy-nodes/Odd/node", ["not", "a", "node"])
        web = webcache.Web()
        hub = registry.Registry(web, server.url)
        assert hub.node_for_type("Html") is None
        assert hub.node_for_type("Cut") is None
        plain = hub.node_for_type("Plain")
        assert plain is not None and plain.repository is None
        assert hub.node_for_type("Odd") is None
        text = "\n".join(web.notices)
        assert "an HTML page" in text and "broken JSON" in text
        assert "not https; ignored" in text and "not a node" in text
        hub.node_for_type("Html")
        assert server.paths().count("/comfy-nodes/Html/node") == 2  # a bad answer is not kept


def test_server_object_info() -> None:
    with serve() as server:
        server.json("/object_info", {"KSampler": {"python_module": "nodes"},
                                     "Mine": {"python_module": "custom_nodes.mine@1.0"},
                                     "Odd": "x"})
        web = webcache.Web()
        assert registry.server_modules(web, server.url) == {
            "KSampler": "nodes", "Mine": "custom_nodes.mine@1.0"}
        server.routes["/object_info"] = Route(b"<html>", content_type="text/html")
        assert registry.server_modules(web, server.url) is None
        server.routes["/object_info"] = Route(b"", 500)
        assert registry.server_modules(web, server.url) is None
        assert registry.server_modules(web, f"http://127.0.0.1:{free_port()}") is None
        assert len(web.notices) == 3


# -- ComfyUI-Manager's node map ---------------------------------------------------------------


def write_map(path: Path, document: object = MAP) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def check_lookup(index: nodemap.NodeMapIndex) -> None:
    found = index.lookup(["KSampler", "ImageResizeKJ", "Shared", "Seed (rgthree)",
                          "UnetLoaderGGUF", "Nobody"])
    assert found.core_types == {"KSampler"}
    claims = {t: [c.repository for c in cs] for t, cs in found.claims.items()}
    assert claims == {
        "ImageResizeKJ": ["https://github.com/kijai/ComfyUI-KJNodes"],
        "Shared": ["https://github.com/kijai/ComfyUI-KJNodes", "https://github.com/other/fork"],
        "Seed (rgthree)": ["https://github.com/rgthree/rgthree-comfy"],
        "UnetLoaderGGUF": ["https://github.com/city96/ComfyUI-GGUF"],
    }
    assert found.claims["ImageResizeKJ"][0].title == "KJNodes"


def test_the_users_own_manager_needs_no_network(comfyui: Path) -> None:
    write_map(comfyui / "custom_nodes" / "ComfyUI-Manager" / nodemap.FILE_NAME)
    web = webcache.Web()
    index = nodemap.load(str(comfyui), web, f"http://127.0.0.1:{free_port()}/map.json")
    assert index is not None and index.source.endswith(nodemap.FILE_NAME)
    check_lookup(index)
    assert web.notices == []


def test_the_manager_package_and_its_cache(comfyui: Path) -> None:
    package = write_map(comfyui / ".venv" / "lib" / "python3.11" / "site-packages"
                        / "comfyui_manager" / nodemap.FILE_NAME, {"https://github.com/a/b":
                                                                  [["Old"], {}]})
    assert nodemap.local_maps(str(comfyui)) == [str(package)]
    newer = write_map(comfyui / "user" / "__manager" / "cache" / f"123_{nodemap.FILE_NAME}")
    assert nodemap.local_maps(str(comfyui))[0] == str(newer)
    index = nodemap.load(str(comfyui), webcache.Web(), "http://127.0.0.1:9/map.json")
    assert index is not None
    check_lookup(index)


def test_a_fetched_map_is_indexed_once(tmp_path: Path) -> None:
    with serve() as server:
        server.json("/map.json", MAP)
        index = nodemap.load(None, webcache.Web(), f"{server.url}/map.json")
        assert index is not None
        check_lookup(index)
        built = Path(errors.cache_dir(), nodemap.INDEX_NAME).stat().st_mtime_ns
        again = nodemap.load(None, webcache.Web(), f"{server.url}/map.json")
        assert again is not None and len(server.requests) == 1
        assert Path(errors.cache_dir(), nodemap.INDEX_NAME).stat().st_mtime_ns == built
        sqlite3.connect(Path(errors.cache_dir(), nodemap.INDEX_NAME)).close()


def test_maps_that_are_refused(comfyui: Path) -> None:
    huge = comfyui / "custom_nodes" / "ComfyUI-Manager" / nodemap.FILE_NAME
    huge.parent.mkdir(parents=True)
    with open(huge, "wb") as file:
        file.truncate(nodemap.MAX_BYTES + 1)  # sparse: 50 MB on paper, nothing on disk
    with serve() as server:
        server.routes["/map.json"] = Route(b"{}", length=nodemap.MAX_BYTES + 1)
        server.routes["/broken.json"] = Route(b'{"https://github.com/a/b": [["X"]')
        web = webcache.Web()
        assert nodemap.load(str(comfyui), web, f"{server.url}/map.json") is None
        assert nodemap.load(None, web, f"{server.url}/broken.json") is None
        text = "\n".join(web.notices)
        assert f"{huge} is larger than 50 MB; refused" in text
        assert f"{server.url}/map.json is larger than 50 MB; refused" in text
        assert "is not usable" in text
