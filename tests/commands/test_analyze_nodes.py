"""`git comfy analyze`: the custom node packages a workflow needs — the real user workflow, packs
installed in ComfyUI, a running ComfyUI, the node map and the registry served by a real local
server, and no network at all. Through the real CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Comfy, assert_one_error, git, git_comfy, save_in_comfyui
from terminal import run_on_terminal
from webserver import Route, Server, serve

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "custom_nodes_wan21.json"
CORPUS = (Path(__file__).resolve().parents[3] / "shared" / "corpus"
          / "user__wan21_slg_v2v_custom_nodes.json")
EIGHT = {"comfyui-kjnodes", "comfyui_layerstyle", "comfyui-videohelpersuite",
         "ComfyUI_Comfyroll_CustomNodes", "comfyui-crystools", "comfyui_essentials",
         "comfyui-florence2", "bjornulf_custom_nodes"}
KJ_TYPES = ["GetImageSizeAndCount", "ImageResizeKJ", "SkipLayerGuidanceWanVideo",
            "WanVideoTeaCacheKJ"]
KJ_URL = "https://github.com/kijai/ComfyUI-KJNodes"


def analyze(comfy: Comfy, cwd: Path, target: str, *options: str) -> tuple[dict[str, Any], str]:
    result = comfy("analyze", target, "--json", *options, cwd=cwd)
    assert result.code == 0, result.err
    report: dict[str, Any] = json.loads(result.out)
    return report, result.err


def packages(report: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {item["package"]: item for item in report["custom_nodes"] if item["package"]}


def workflow(*nodes: tuple[str, dict[str, Any]]) -> str:
    return json.dumps({"nodes": [{"id": n + 1, "type": t, "properties": p, "mode": 0}
                                 for n, (t, p) in enumerate(nodes)], "links": []})


def point_at(repo: Path, server: Server, timeout: str = "2") -> None:
    git("config", "comfy.registryUrl", server.url, cwd=repo)
    git("config", "comfy.nodeMapUrl", f"{server.url}/map.json", cwd=repo)
    git("config", "comfy.networkTimeout", timeout, cwd=repo)


def check_the_eight(report: dict[str, Any]) -> None:
    found = packages(report)
    assert set(found) == EIGHT | {"rgthree-comfy"}
    for name in EIGHT:
        assert not found[name]["frontend_only"], name
        assert found[name]["status"] == "resolved" and found[name]["how"] == "cnr_id"
    rgthree = found["rgthree-comfy"]
    assert rgthree["frontend_only"] and rgthree["node_types"] == [
        "Fast Groups Bypasser (rgthree)", "Label (rgthree)"]
    kj = found["comfyui-kjnodes"]
    assert kj["node_types"] == KJ_TYPES
    assert (kj["version"], kj["source"]) == ("1.1.2", "registry")
    layer = found["comfyui_layerstyle"]
    assert (layer["version"], layer["source"]) == ("4b273d4f08ea28b0743ababab70ae2e6d93be194",
                                                   "git")
    assert found["ComfyUI_Comfyroll_CustomNodes"]["required"] is False  # bypassed there
    all_types = {t for item in report["custom_nodes"] for t in item["node_types"]}
    assert not all_types & {"KSampler", "CLIPTextEncode", "Reroute", "PreviewAny"}


def test_the_real_user_workflow(comfy: Comfy, tmp_path: Path) -> None:
    if not CORPUS.is_file():
        pytest.skip(f"{CORPUS} is not here")
    report, err = analyze(comfy, tmp_path, str(CORPUS))
    check_the_eight(report)
    assert err.count("git comfy: notice:") == 1  # the network is away: one notice, no failure


def test_the_fixture_of_its_shape(comfy: Comfy, tmp_path: Path) -> None:
    report, _ = analyze(comfy, tmp_path, str(FIXTURE), "--offline")
    check_the_eight(report)
    assert report["custom_node_notices"] == []


def test_installed_packs_win(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    nodes = comfyui / "custom_nodes"
    kj = nodes / "ComfyUI-KJNodes"
    kj.mkdir(parents=True)
    (kj / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {" + ", ".join(
        f"{t!r}: 1" for t in KJ_TYPES) + "}\n")
    (kj / "pyproject.toml").write_text('[project]\nname = "ComfyUI-KJNodes"\nversion = "1.2"\n'
                                       f'[project.urls]\nRepository = "{KJ_URL}"\n')
    (kj / ".tracking").write_text("")
    roll = nodes / "ComfyUI_Comfyroll_CustomNodes"
    roll.mkdir()
    (roll / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {'CR Upscale Image': 1}\n")
    git("init", "-q", cwd=roll)
    git("add", "-A", cwd=roll)
    git("commit", "-q", "-m", "x", cwd=roll)
    head = git("rev-parse", "HEAD", cwd=roll).stdout.strip()
    git("checkout", "-q", "--detach", cwd=roll)
    (roll / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {'CR Upscale Image': 2}\n")
    save_in_comfyui(comfyui, "wan", FIXTURE.read_text())
    report, _ = analyze(comfy, env_repo, "wan", "--offline")
    found = packages(report)
    assert found["comfyui-kjnodes"]["status"] == "installed"
    assert found["comfyui-kjnodes"]["version"] == "1.2.0"
    assert found["comfyui-kjnodes"]["path"] == str(kj)
    assert any("saved with" in note for note in found["comfyui-kjnodes"]["notes"])
    roll_item = found["ComfyUI_Comfyroll_CustomNodes"]
    assert (roll_item["status"], roll_item["version"], roll_item["source"]) == (
        "installed", head, "git")
    notes = " / ".join(roll_item["notes"])  # git status ran for the packs the workflow uses
    assert "no remote" in notes and "detached HEAD" in notes and "uncommitted" in notes
    text = comfy("analyze", "wan", "--offline", cwd=env_repo)
    assert "custom nodes: 9 package(s)" in text.out
    assert "installed comfyui-kjnodes 1.2.0 (registry)" in " ".join(text.out.split())


def test_cnr_ids_in_other_spellings_match_installed_packs(env_repo: Path, comfyui: Path,
                                                          comfy: Comfy) -> None:
    pack = comfyui / "custom_nodes" / "comfyui_essentials"
    pack.mkdir(parents=True)
    (pack / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {'ImageFromBatch+': 1}\n")
    save_in_comfyui(comfyui, "spellings", workflow(
        ("ImageFromBatch+", {"cnr_id": "ComfyUI-Essentials", "ver": "1.1.0"}),
        ("ImageFromBatch+", {"cnr_id": "COMFYUI_ESSENTIALS", "ver": "1.1.0"})))
    report, _ = analyze(comfy, env_repo, "spellings", "--offline")
    [item] = report["custom_nodes"]
    assert item["status"] == "installed" and item["node_ids"] == ["1", "2"]


def test_packs_that_cannot_be_read_are_reported_not_fatal(env_repo: Path, comfyui: Path,
                                                           comfy: Comfy, tmp_path: Path) -> None:
    nodes = comfyui / "custom_nodes"
    (nodes / "broken").mkdir(parents=True)
    (nodes / "broken" / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {'Broken': 1\n")
    (nodes / "dynamic").mkdir()
    (nodes / "dynamic" / "__init__.py").write_text(
        "import os\nNODE_CLASS_MAPPINGS = {n: 1 for n in os.listdir('.')}\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {'Linked': 1}\n")
    (nodes / "linked").symlink_to(outside)
    save_in_comfyui(comfyui, "odd", workflow(("Hidden", {}), ("Linked", {})))
    report, _ = analyze(comfy, env_repo, "odd", "--offline")
    statuses = {i["status"]: i for i in report["custom_nodes"]}
    assert statuses["installed"]["package"] == "linked"
    assert statuses["unknown"]["node_types"] == ["Hidden"]
    notices = "\n".join(report["custom_node_notices"])
    assert "broken: __init__.py line 1" in notices and "dynamic: __init__.py line 2" in notices
    text = comfy("analyze", "odd", "--offline", cwd=env_repo).out
    assert "problem(s) reading installed packs may explain that" in text


def test_a_running_comfyui(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "served", workflow(("Mystery", {}), ("NewCore", {})))
    with serve() as server:
        server.json("/object_info", {"Mystery": {"python_module": "custom_nodes.mystery@2.0"},
                                     "NewCore": {"python_module": "comfy_extras.nodes_new"}})
        report, err = analyze(comfy, env_repo, "served", "--server", server.url, "--offline")
    [item] = report["custom_nodes"]
    assert (item["package"], item["version"], item["how"]) == ("mystery", "2.0.0", "server")
    assert "/object_info" in server.paths()[0] and err == ""


def test_node_map_and_registry_from_the_network(env_repo: Path, comfyui: Path,
                                                comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "net", workflow(
        ("ImageResizeKJ", {}), ("Shared", {}), ("Seed (rgthree)", {}),
        ("OnlyInRegistry", {}), ("Nobody", {}), ("X", {"cnr_id": "comfyui-x", "ver": "1.0"})))
    node_map = {KJ_URL: [["ImageResizeKJ", "Shared"], {}],
                "https://github.com/o/fork": [["Shared"], {}],
                "https://github.com/rgthree/rgthree-comfy": [[], {"nodename_pattern":
                                                                  " \\(rgthree\\)$"}]}
    with serve() as server:
        point_at(env_repo, server)
        server.json("/map.json", node_map)
        server.json("/comfy-nodes/OnlyInRegistry/node",
                    {"id": "comfyui-only", "repository": "http://insecure.example/only"})
        server.json("/nodes/comfyui-x", {"id": "comfyui-x",
                                         "repository": "https://github.com/o/x"})
        server.json("/nodes/comfyui-x/versions", [{"version": "1.0.0"}])
        report, err = analyze(comfy, env_repo, "net")
        items = report["custom_nodes"]
        found = packages(report)
        assert found[KJ_URL]["how"] == "node-map" and found[KJ_URL]["source"] == "git"
        assert found["https://github.com/rgthree/rgthree-comfy"]["frontend_only"] is False
        only = found["comfyui-only"]
        assert only["repository"] is None and only["source"] == "registry"
        assert found["comfyui-x"]["repository"] == "https://github.com/o/x"
        [shared] = [i for i in items if i["status"] == "ambiguous"]
        assert shared["node_types"] == ["Shared"] and len(shared["candidates"]) == 2
        [unknown] = [i for i in items if i["status"] == "unknown"]
        assert unknown["node_types"] == ["Nobody"]
        assert "not https; ignored" in err
        asked = len(server.requests)
        again, _ = analyze(comfy, env_repo, "net")  # a second run: all from the cache
        assert len(server.requests) == asked  # "not found" is an answer, cached too
        assert again["custom_nodes"] == items


def test_no_network_at_all(env_repo: Path, comfyui: Path) -> None:
    save_in_comfyui(comfyui, "lonely", workflow(("Unplaceable", {}),
                                                ("Y", {"cnr_id": "comfyui-y"})))
    result = git_comfy("analyze", "lonely", "--json", cwd=env_repo)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert [i["status"] for i in report["custom_nodes"]] == ["resolved", "unknown"]
    assert result.err.count("git comfy: notice:") == 1
    assert "nothing cached; what it would tell is reported unknown" in result.err
    assert report["custom_node_notices"]


@pytest.mark.parametrize("route, fragment", [
    (Route(b"{}", delay=3), "timed out"),
    (Route(b"<h1>Bad gateway</h1>", 502, "text/html"), "HTTP 502"),
    (Route(b"{}", 500), "HTTP 500"),
])
def test_a_slow_or_failing_registry(env_repo: Path, comfyui: Path, comfy: Comfy,
                                    route: Route, fragment: str) -> None:
    save_in_comfyui(comfyui, "failing", workflow(("A", {}), ("B", {}), ("C", {})))
    with serve() as server:
        point_at(env_repo, server, timeout="0.3")
        for path in ("/map.json", "/comfy-nodes/A/node", "/comfy-nodes/B/node",
                     "/comfy-nodes/C/node"):
            server.routes[path] = route
        start = time.monotonic()
        report, err = analyze(comfy, env_repo, "failing")
        assert time.monotonic() - start < 3
    assert report["custom_nodes"][0]["status"] == "unknown"
    assert report["custom_nodes"][0]["node_types"] == ["A", "B", "C"]
    assert fragment in err and err.count("notice:") == 1
    assert len(server.requests) == 1  # the host is not asked again in this run


def test_offline_works_from_the_cache(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    save_in_comfyui(comfyui, "cached", workflow(("ImageResizeKJ", {})))
    with serve() as server:
        point_at(env_repo, server)
        server.json("/map.json", {KJ_URL: [["ImageResizeKJ"], {}]})
        first, _ = analyze(comfy, env_repo, "cached")
    again, err = analyze(comfy, env_repo, "cached", "--offline")
    assert again["custom_nodes"] == first["custom_nodes"]
    assert first["custom_nodes"][0]["package"] == KJ_URL and err == ""
    stale, err = analyze(comfy, env_repo, "cached")  # the server is gone; the cache is fresh
    assert stale["custom_nodes"] == first["custom_nodes"]


def test_a_terminal_asks_which_package(env_repo: Path, comfyui: Path) -> None:
    save_in_comfyui(comfyui, "choice", workflow(("Shared", {})))
    with serve() as server:
        point_at(env_repo, server)
        server.json("/map.json", {KJ_URL: [["Shared"], {}],
                                  "https://github.com/o/fork": [["Shared"], {}]})
        code, screen = run_on_terminal(["git", "comfy", "analyze", "choice"], env_repo, ["2"])
    assert code == 0, screen
    assert 'Several packages provide node type "Shared":' in screen
    assert "2. https://github.com/o/fork" in screen
    assert "resolved  https://github.com/o/fork" in screen


def test_a_bad_timeout_setting_is_one_line(env_repo: Path, comfy: Comfy) -> None:
    git("config", "comfy.networkTimeout", "soon", cwd=env_repo)
    assert_one_error(comfy("analyze", "lighthouse", cwd=env_repo),
                     "git config comfy.networkTimeout is 'soon'; give seconds, like 5")
