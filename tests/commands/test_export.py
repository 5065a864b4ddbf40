"""`git comfy export`: a real environment (git repo, ComfyUI-shaped folder, small model files,
dev nodes), the real CLI in-process and on a pseudo-terminal, real tar files read back."""

from __future__ import annotations

import hashlib
import io
import json
import os
import string
import subprocess
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Comfy,
    assert_one_error,
    edit_seed,
    git,
    save_in_comfyui,
    tree_digest,
    unwritable,
    workflow_file,
)
from terminal import run_on_terminal

DREAMSHAPER = "checkpoints/sd15/dreamshaper_8.safetensors"
PYPROJECT = ".cec/pyproject.toml"
EPOCH = "1764000000"  # 2025-11-24T16:00:00Z


def members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()  # type: ignore[union-attr]
                if m.isfile()}


def manifest_of(bundle: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(members(bundle)["manifest.json"])
    return found


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export(comfy: Comfy, repo: Path, *args: str) -> dict[str, Any]:
    result = comfy("export", *args, "--json", cwd=repo)
    assert result.code == 0, result.err
    report: dict[str, Any] = json.loads(result.out)
    return report


def track(comfy: Comfy, repo: Path, name: str) -> None:
    assert comfy("track", name, cwd=repo).code == 0, name


def loader_workflow(*names: str, node_type: str = "CheckpointLoaderSimple",
                    extra_nodes: list[dict[str, Any]] | None = None) -> str:
    nodes = [{"id": i + 1, "type": node_type, "mode": 0, "widgets_values": [name],
              "properties": {}} for i, name in enumerate(names)]
    return json.dumps({"nodes": nodes + (extra_nodes or []), "links": []}, indent=2)


def place_model(comfyui: Path, relative: str, data: bytes) -> Path:
    path = comfyui / "models" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- the bundle ------------------------------------------------------------------------------

def test_export_writes_a_bundle_and_records_it(tracked_repo: Path, comfy: Comfy,
                                               comfyui: Path) -> None:
    out = tracked_repo / "lighthouse.tar.gz"
    report = export(comfy, tracked_repo, "lighthouse", "--yes")
    assert report["bundle"] == str(out) and out.is_file()
    assert report["sha256"] == sha256(out.read_bytes())
    found = members(out)
    with tarfile.open(out, "r:gz") as tar:
        names = tar.getnames()
        infos = tar.getmembers()
    assert names[0] == "manifest.json"
    assert names[1:] == sorted(names[1:]) == ["README.md", "workflow.json"]
    assert {(i.uid, i.gid, i.uname, i.gname, i.mode) for i in infos} == {(0, 0, "", "", 0o644)}
    manifest = json.loads(found["manifest.json"])
    assert manifest["format"] == "git-comfy-bundle" and manifest["format_version"] == 1
    assert manifest["workflow"] == {"name": "lighthouse", "file": "workflow.json", "format": "ui"}
    assert manifest["files"] == {name: {"size": len(data), "sha256": sha256(data)}
                                 for name, data in found.items() if name != "manifest.json"}
    model_bytes = (comfyui / "models" / DREAMSHAPER).read_bytes()
    [model] = manifest["models"]
    assert model | {"quick_hash": "-"} == {
        "name": "sd15/dreamshaper_8.safetensors", "filename": "dreamshaper_8.safetensors",
        "folder": "checkpoints", "relpath": "sd15/dreamshaper_8.safetensors",
        "size": len(model_bytes), "sha256": sha256(model_bytes), "quick_hash": "-",
        "sources": [], "nodes": ["4"], "required": True,
    }
    assert manifest["custom_nodes"] == [] and manifest["skipped_models"] == []
    assert "no download source for sd15/dreamshaper_8.safetensors" in " ".join(
        report["warnings"])
    readme = found["README.md"].decode()
    assert "git comfy import lighthouse.tar.gz" in readme and sha256(model_bytes) in readme
    recorded = tomllib.loads((tracked_repo / PYPROJECT).read_text())
    entry = recorded["tool"]["comfydock"]["workflows"]["lighthouse"]
    assert entry["tracked"] is True and entry["exported_at"] == manifest["created"]
    assert entry["requires"] == {"nodes": [], "models": [sha256(model_bytes)]}
    assert entry["models"] == {sha256(model_bytes): {"filename": "dreamshaper_8.safetensors",
                                                     "size": len(model_bytes)}}


def test_same_inputs_give_the_same_bytes(tracked_repo: Path, comfy: Comfy,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tracked_repo / "lighthouse.tar.gz"
    export(comfy, tracked_repo, "lighthouse")
    first = out.read_bytes()
    assert first[4:8] == b"\0\0\0\0"  # gzip mtime 0
    export(comfy, tracked_repo, "lighthouse")
    assert out.read_bytes() == first
    assert manifest_of(out)["created"] == "2025-11-24T16:00:00Z"
    with tarfile.open(out, "r:gz") as tar:
        assert {m.mtime for m in tar.getmembers()} == {int(EPOCH)}


def test_workflow_models_gain_hash_and_url(env_repo: Path, comfy: Comfy,
                                           comfyui: Path) -> None:
    data = place_model(comfyui, "loras/style.safetensors", b"lora bytes")
    lora = {"id": 2, "type": "LoraLoaderModelOnly", "mode": 0,
            "widgets_values": ["style.safetensors", 1.0],
            "properties": {"models": [{"name": "style.safetensors", "directory": "loras",
                                       "url": "https://example.com/style.safetensors"}]}}
    save_in_comfyui(comfyui, "styled", loader_workflow(
        "sd15/dreamshaper_8.safetensors", extra_nodes=[lora]))
    track(comfy, env_repo, "styled")
    url = "https://example.com/dreamshaper_8.safetensors"
    report = export(comfy, env_repo, "styled", "--model-source",
                    f"sd15/dreamshaper_8.safetensors={url}")
    assert report["warnings"] == []
    workflow = json.loads(members(Path(report["bundle"]))["workflow.json"])
    loader, lora_node = workflow["nodes"]
    digest = sha256((comfyui / "models" / DREAMSHAPER).read_bytes())
    assert loader["properties"]["models"] == [{
        "name": "sd15/dreamshaper_8.safetensors", "url": url, "directory": "checkpoints",
        "hash": digest, "hash_type": "SHA256"}]
    assert lora_node["properties"]["models"] == [{
        "name": "style.safetensors", "directory": "loras",
        "url": "https://example.com/style.safetensors",
        "hash": sha256(data.read_bytes()), "hash_type": "SHA256"}]
    recorded = tomllib.loads((env_repo / PYPROJECT).read_text())
    assert recorded["tool"]["comfydock"]["workflows"]["styled"]["models"][digest][
        "source"] == url
    # remembered: the next export knows the source without the flag
    again = export(comfy, env_repo, "styled")
    assert [m["sources"] for m in again["models"]] == [[url],
                                                       ["https://example.com/style.safetensors"]]


def test_rev_exports_the_committed_version(tracked_repo: Path, comfy: Comfy,
                                           comfyui: Path) -> None:
    edit_seed(comfyui, "lighthouse", 777)
    committed = export(comfy, tracked_repo, "lighthouse", "--rev", "HEAD", "-o", "old.tar.gz")
    fresh = export(comfy, tracked_repo, "lighthouse", "-o", "new.tar.gz")

    def seed(report: dict[str, Any]) -> int:
        workflow = json.loads(members(Path(report["bundle"]))["workflow.json"])
        [sampler] = [n for n in workflow["nodes"] if n["type"] == "KSampler"]
        return int(sampler["widgets_values"][0])

    assert seed(fresh) == 777 and seed(committed) != 777


def test_a_second_export_rehashes_no_model(tracked_repo: Path, comfy: Comfy,
                                           comfyui: Path) -> None:
    model = comfyui / "models" / DREAMSHAPER
    os.utime(model, (1e9, 1e9))  # an old file: a fresh one is re-read ("racy", as in git)
    first = export(comfy, tracked_repo, "lighthouse")["models"][0]["sha256"]
    # same size and times, other bytes: only a re-read would notice
    info = model.stat()
    data = bytearray(model.read_bytes())
    data[-1] ^= 0xFF
    model.write_bytes(bytes(data))
    os.utime(model, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert export(comfy, tracked_repo, "lighthouse")["models"][0]["sha256"] == first


def test_comments_in_the_pyproject_survive(tracked_repo: Path, comfy: Comfy) -> None:
    pyproject = tracked_repo / PYPROJECT
    head = "# my notes on this environment\n\n"
    text = pyproject.read_text()
    tail = "\n# the end, keep me\n[tool.other]  # mine\nx = 1 # one\n"
    pyproject.write_text(head + text.replace(
        "lighthouse = {tracked = true}",
        "before = {tracked = false}  # kept\nlighthouse = {tracked = true}  # was inline")
        + tail)
    export(comfy, tracked_repo, "lighthouse")
    after = pyproject.read_text()
    assert after.startswith(head) and "before = {tracked = false}  # kept\n" in after
    assert "[tool.other]  # mine\nx = 1 # one\n" in after and "# the end, keep me\n" in after
    assert "[tool.comfydock.workflows.lighthouse]\ntracked = true\nexported_at = " in after
    tomllib.loads(after)
    export(comfy, tracked_repo, "lighthouse")  # a second export updates in place
    again = pyproject.read_text()
    assert again.count("[tool.comfydock.workflows.lighthouse]") == 1
    assert again.replace(again.split("exported_at = ")[1].split("\n")[0], "T") == after.replace(
        after.split("exported_at = ")[1].split("\n")[0], "T")


# -- questions --------------------------------------------------------------------------------

def test_open_questions_stop_before_writing(env_repo: Path, comfy: Comfy,
                                            comfyui: Path) -> None:
    place_model(comfyui, "checkpoints/v1/model.safetensors", b"one")
    place_model(comfyui, "checkpoints/v2/model.safetensors", b"two!")
    save_in_comfyui(comfyui, "open", loader_workflow("model.safetensors", "gone.safetensors"))
    track(comfy, env_repo, "open")
    before = tree_digest(env_repo, comfyui)
    result = comfy("export", "open", "--yes", cwd=env_repo)
    assert result.code == 4
    lines = result.err.splitlines()
    assert any('model "model.safetensors" matches 2 files' in line
               and '--model "model.safetensors=PATH"' in line for line in lines)
    assert any('model "gone.safetensors" is not on this machine' in line
               and '--skip-model "gone.safetensors"' in line for line in lines)
    assert "2 open question(s)" in lines[-1] and "nothing was written" in lines[-1]
    assert tree_digest(env_repo, comfyui) == before
    chosen = comfyui / "models" / "checkpoints" / "v2" / "model.safetensors"
    report = export(comfy, env_repo, "open", "--model", f"model.safetensors={chosen}",
                    "--skip-model", "gone.safetensors")
    manifest = manifest_of(Path(report["bundle"]))
    assert [m["relpath"] for m in manifest["models"]] == ["v2/model.safetensors"]
    assert manifest["skipped_models"] == [{"name": "gone.safetensors", "folder": "checkpoints",
                                           "nodes": ["2"], "required": True}]


def test_questions_are_asked_on_a_terminal(env_repo: Path, comfy: Comfy,
                                           comfyui: Path) -> None:
    place_model(comfyui, "checkpoints/v1/model.safetensors", b"one")
    place_model(comfyui, "checkpoints/v2/model.safetensors", b"two!")
    save_in_comfyui(comfyui, "ask", loader_workflow("model.safetensors"))
    track(comfy, env_repo, "ask")
    code, screen = run_on_terminal(["git", "comfy", "export", "ask"], env_repo, ["1"])
    assert code == 0, screen
    assert 'Multiple matches for "model.safetensors":' in screen
    manifest = manifest_of(env_repo / "ask.tar.gz")
    assert [m["relpath"] for m in manifest["models"]] == ["v1/model.safetensors"]


def test_unknown_node_type_is_a_question_answered_by_node(env_repo: Path, comfy: Comfy,
                                                          comfyui: Path) -> None:
    mystery = {"id": 9, "type": "MysteryNode", "mode": 0, "widgets_values": [],
               "properties": {}}
    save_in_comfyui(comfyui, "mystery", loader_workflow("sd15/dreamshaper_8.safetensors",
                                                        extra_nodes=[mystery]))
    track(comfy, env_repo, "mystery")
    result = comfy("export", "mystery", "--offline", cwd=env_repo)
    assert result.code == 4
    assert 'node type "MysteryNode" is not known to any source: --node "MysteryNode=PACKAGE"' \
        in result.err
    bad = comfy("export", "mystery", "--offline", "--node", "MysteryNode=not a package",
                cwd=env_repo)
    assert_one_error(bad, "--node MysteryNode=", "neither a registry id")
    report = export(comfy, env_repo, "mystery", "--offline", "--node",
                    "MysteryNode=https://github.com/someone/mystery-nodes")
    [node] = manifest_of(Path(report["bundle"]))["custom_nodes"]
    assert node["package"] == "https://github.com/someone/mystery-nodes"
    assert node["node_types"] == ["MysteryNode"]


def test_an_optional_missing_model_is_left_out_without_asking(env_repo: Path, comfy: Comfy,
                                                              comfyui: Path) -> None:
    muted = {"id": 2, "type": "LoraLoaderModelOnly", "mode": 4,
             "widgets_values": ["absent.safetensors", 1.0], "properties": {}}
    save_in_comfyui(comfyui, "muted", loader_workflow("sd15/dreamshaper_8.safetensors",
                                                      extra_nodes=[muted]))
    track(comfy, env_repo, "muted")
    report = export(comfy, env_repo, "muted", "--yes")
    assert report["skipped_models"] == ["absent.safetensors"]


# -- dev nodes and secrets --------------------------------------------------------------------

def dev_node(folder: Path, node_type: str = "MyDevNode") -> Path:
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(f"NODE_CLASS_MAPPINGS = {{{node_type!r}: object}}\n")
    (folder / "requirements.txt").write_text("# deps\nnumpy>=1.24\n\nopencv-python  # cv\n")
    (folder / "web").mkdir()
    (folder / "web" / "ui.js").write_text("export const x = 1;\n")
    return folder


def with_dev_node(env_repo: Path, comfy: Comfy, comfyui: Path, folder: Path) -> None:
    assert comfy("node", "add", "--dev", str(folder), "--name", "my-dev", cwd=env_repo).code == 0
    node = {"id": 5, "type": "MyDevNode", "mode": 0, "widgets_values": [], "properties": {}}
    save_in_comfyui(comfyui, "dev", loader_workflow("sd15/dreamshaper_8.safetensors",
                                                    extra_nodes=[node]))
    track(comfy, env_repo, "dev")


def test_dev_node_source_is_bundled_without_secrets_or_links(
        env_repo: Path, comfy: Comfy, comfyui: Path, tmp_path: Path) -> None:
    folder = dev_node(tmp_path / "src" / "my-dev")
    (folder / ".env").write_text("X=1\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "a.pyc").write_bytes(b"\0")
    (folder / "data").mkdir()
    (folder / "data" / "big.bin").write_bytes(b"\0" * 10)
    (folder / ".comfydockignore").write_text("data/\n")
    ssh = tmp_path / "home_ssh"
    ssh.mkdir()
    (ssh / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (folder / "keys").symlink_to(ssh)
    with_dev_node(env_repo, comfy, comfyui, folder)
    report = export(comfy, env_repo, "dev", "--offline")
    found = members(Path(report["bundle"]))
    assert sorted(n for n in found if n.startswith("nodes/")) == [
        "nodes/my-dev/.comfydockignore", "nodes/my-dev/__init__.py",
        "nodes/my-dev/requirements.txt", "nodes/my-dev/web/ui.js"]
    [node] = json.loads(found["manifest.json"])["custom_nodes"]
    assert node | {"version": None} == {
        "package": "my-dev", "source": "dev", "version": None, "repository": None,
        "registry_id": None, "node_types": ["MyDevNode"], "required": True,
        "pip": ["numpy>=1.24", "opencv-python"], "path": "nodes/my-dev"}
    assert any("keys" in w and "link" in w for w in report["warnings"])


def planted_token() -> str:
    # built at run time: the repository holds no secret-shaped text
    return "hf_" + string.ascii_letters[7:41]


def test_a_secret_in_a_dev_node_blocks_the_export(env_repo: Path, comfy: Comfy,
                                                  comfyui: Path, tmp_path: Path) -> None:
    folder = dev_node(tmp_path / "src" / "my-dev")
    (folder / "config.py").write_text(f'HF = "{planted_token()}"\n')
    with_dev_node(env_repo, comfy, comfyui, folder)
    before = tree_digest(env_repo, comfyui)
    result = comfy("export", "dev", "--offline", cwd=env_repo)
    message = assert_one_error_last(result, "look like secrets", "--allow-secrets")
    assert "nodes/my-dev/config.py" in result.err and planted_token() not in result.err
    assert message
    assert tree_digest(env_repo, comfyui) == before
    report = export(comfy, env_repo, "dev", "--offline", "--allow-secrets")
    assert "nodes/my-dev/config.py" in members(Path(report["bundle"]))
    assert any("--allow-secrets" in w for w in report["warnings"])


def test_a_secret_in_a_widget_value_blocks_the_export(env_repo: Path, comfy: Comfy,
                                                      comfyui: Path) -> None:
    keyed = {"id": 3, "type": "PrimitiveString", "mode": 0,
             "widgets_values": [f"token {planted_token()}"], "properties": {}}
    save_in_comfyui(comfyui, "keyed", loader_workflow("sd15/dreamshaper_8.safetensors",
                                                      extra_nodes=[keyed]))
    track(comfy, env_repo, "keyed")
    result = comfy("export", "keyed", "--offline", cwd=env_repo)
    assert_one_error_last(result, "look like secrets")
    assert "workflow.json" in result.err and planted_token() not in result.err
    assert not (env_repo / "keyed.tar.gz").exists()


def assert_one_error_last(result: Any, *fragments: str) -> str:
    """Several listed lines, then the one error line: exit 1, no traceback."""
    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    last: str = result.err.splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last
    return last


def test_missing_dev_node_folder(env_repo: Path, comfy: Comfy, comfyui: Path,
                                 tmp_path: Path) -> None:
    folder = dev_node(tmp_path / "src" / "my-dev")
    with_dev_node(env_repo, comfy, comfyui, folder)
    for item in sorted(folder.rglob("*"), reverse=True):
        item.rmdir() if item.is_dir() else item.unlink()
    folder.rmdir()
    before = tree_digest(env_repo, comfyui)
    assert_one_error(comfy("export", "dev", "--offline", cwd=env_repo), "dev node my-dev",
                     f"{folder} does not exist", "git comfy node remove my-dev")
    assert tree_digest(env_repo, comfyui) == before


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragments", [
    (["export", "portraits/sailor"], ["portraits/sailor", "tracked"]),
    (["export", "nowhere"], ["nowhere"]),
    (["export", "lighthouse", "--rev", "HEAD~1"], ["was not committed at HEAD~1"]),
    (["export", "lighthouse", "--rev", "no-such-rev"], ["no-such-rev"]),
    (["export", "lighthouse", "-o", "missing/dir/x.tar.gz"], ["does not exist"]),
    (["export", "lighthouse", "-o", ".cec"], ["is a folder"]),
    (["export", "lighthouse", "--model", "nonsense"], ["--model takes NAME=PATH"]),
    (["export", "lighthouse", "--model", "other.safetensors=/x"], ["no such model"]),
    (["export", "lighthouse", "--model-source", "x=http://plain.example/x"], ["https://"]),
    (["export", "lighthouse", "--sign"], ["gpg.format", "ssh"]),
])
def test_bad_input_is_one_line_and_changes_nothing(tracked_repo: Path, comfy: Comfy,
                                                   comfyui: Path, args: list[str],
                                                   fragments: list[str]) -> None:
    before = tree_digest(tracked_repo, comfyui)
    assert_one_error(comfy(*args, cwd=tracked_repo), *fragments)
    assert tree_digest(tracked_repo, comfyui) == before


def test_tracked_but_gone_or_invalid_in_comfyui(tracked_repo: Path, comfy: Comfy,
                                                comfyui: Path) -> None:
    path = workflow_file(comfyui, "lighthouse")
    path.write_text('{"nodes": [')
    assert_one_error(comfy("export", "lighthouse", cwd=tracked_repo), "not valid JSON")
    path.unlink()
    assert_one_error(comfy("export", "lighthouse", cwd=tracked_repo), "not in ComfyUI",
                     "git comfy restore lighthouse")
    assert not (tracked_repo / "lighthouse.tar.gz").exists()


def test_unwritable_output_folder(tracked_repo: Path, comfy: Comfy, tmp_path: Path) -> None:
    target = tmp_path / "locked"
    target.mkdir()
    with unwritable(target):
        result = comfy("export", "lighthouse", "-o", str(target / "x.tar.gz"), cwd=tracked_repo)
    assert_one_error(result, str(target))
    assert list(target.iterdir()) == []


def test_ctrl_c_leaves_no_partial_bundle(tracked_repo: Path, comfy: Comfy,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)  # half way: the bundle's bytes are written
    out = tracked_repo / "lighthouse.tar.gz"
    out.write_bytes(b"the previous bundle")
    result = comfy("export", "lighthouse", cwd=tracked_repo)
    assert result.code == 130
    assert out.read_bytes() == b"the previous bundle"
    assert sorted(p.name for p in tracked_repo.iterdir()) == [".cec", ".git", "README.md",
                                                              "lighthouse.tar.gz"]


def test_export_without_a_terminal_takes_unambiguous_answers(tracked_repo: Path) -> None:
    done = subprocess.run(["git", "comfy", "export", "lighthouse"], cwd=tracked_repo,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "exported lighthouse" in done.stdout and "Choose" not in done.stderr


def test_bundle_members_read_back_with_tar(tracked_repo: Path, comfy: Comfy) -> None:
    report = export(comfy, tracked_repo, "lighthouse")
    listing = subprocess.run(["tar", "tzf", report["bundle"]], capture_output=True, text=True,
                             check=True).stdout.split()
    assert listing == ["manifest.json", "README.md", "workflow.json"]
    with tarfile.open(report["bundle"], "r:gz") as tar:
        info = tar.getmember("workflow.json")
        data = tar.extractfile(info).read()  # type: ignore[union-attr]
    assert json.loads(io.BytesIO(data).read())["nodes"]


def test_dev_files_scanned_clean_are_not_scanned_again_but_changes_are(
        env_repo: Path, comfy: Comfy, comfyui: Path, tmp_path: Path) -> None:
    folder = dev_node(tmp_path / "src" / "my-dev")
    with_dev_node(env_repo, comfy, comfyui, folder)
    export(comfy, env_repo, "dev", "--offline")
    cache = Path(git("rev-parse", "--absolute-git-dir", cwd=env_repo).stdout.strip()) \
        / "git-comfy-clean"
    remembered = cache.read_text().splitlines()
    assert remembered[0].startswith("git-comfy ") and len(remembered) == 4  # header + 3 files
    export(comfy, env_repo, "dev", "--offline")
    assert cache.read_text().splitlines() == remembered
    (folder / "web" / "ui.js").write_text(f'const key = "{planted_token()}";\n')
    result = comfy("export", "dev", "--offline", cwd=env_repo)
    assert_one_error_last(result, "look like secrets")
    assert "nodes/my-dev/web/ui.js" in result.err


def test_a_model_file_outside_the_index_is_hashed_when_named(
        env_repo: Path, comfy: Comfy, comfyui: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "private.safetensors"
    outside.parent.mkdir()
    outside.write_bytes(b"a model nobody indexed")
    save_in_comfyui(comfyui, "private", loader_workflow("private.safetensors"))
    track(comfy, env_repo, "private")
    report = export(comfy, env_repo, "private", "--model", f"private.safetensors={outside}")
    [model] = report["models"]
    assert model["sha256"] == sha256(outside.read_bytes())
