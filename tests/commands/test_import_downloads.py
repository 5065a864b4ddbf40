"""`git comfy import` downloading models: a real HTTPS server on 127.0.0.1 with a certificate
made for the test (trusted through git's own `http.sslCAInfo`), serving the model with byte
ranges, cutting the connection half way, or answering with an HTML page."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import Comfy, tree_digest, workflow_file
from test_import import comfyui_of, second  # noqa: F401  (the second environment)
from webserver import Route, Server

LORA = "loras/portrait_detail_v2.safetensors"


@pytest.fixture
def https(https_server: Server) -> Server:
    return https_server


@pytest.fixture
def lora_bundle(env_repo: Path, comfy: Comfy, comfyui: Path, tmp_path: Path,
                https: Server) -> Path:
    """The sailor portrait exported with a download source for its LoRA on the test server."""
    https.routes["/lora"] = Route((comfyui / "models" / LORA).read_bytes(),
                                  content_type="application/octet-stream", ranges=True)
    assert comfy("track", "portraits/sailor", cwd=env_repo).code == 0
    out = tmp_path / "sailor.tar.gz"
    result = comfy("export", "portraits/sailor", "--yes", "-o", str(out), "--model-source",
                   f"portrait_detail_v2.safetensors={https.url}/lora", cwd=env_repo)
    assert result.code == 0, result.err
    return out


@pytest.fixture
def without_lora(second: Path) -> Path:  # noqa: F811
    (comfyui_of(second) / "models" / "loras" / "detail.safetensors").unlink()
    return second


def test_a_missing_model_is_downloaded_verified_and_indexed(
        lora_bundle: Path, without_lora: Path, comfy: Comfy, comfyui: Path,
        https: Server) -> None:
    result = comfy("import", str(lora_bundle), "--yes", "--json", cwd=without_lora)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    [lora] = [m for m in report["models"] if m["folder"] == "loras"]
    assert lora["action"] == "download"
    target = comfyui_of(without_lora) / "models" / LORA
    assert target.read_bytes() == (comfyui / "models" / LORA).read_bytes()
    assert not Path(f"{target}.part").exists()
    workflow = json.loads(workflow_file(comfyui_of(without_lora), "portraits/sailor").read_text())
    assert [n["widgets_values"][0] for n in workflow["nodes"] if n["type"] == "LoraLoader"] == [
        "portrait_detail_v2.safetensors"]
    again = comfy("import", str(lora_bundle), "--yes", "--json", cwd=without_lora)
    assert [m["action"] for m in json.loads(again.out)["models"]] == ["here", "here"]
    assert https.paths().count("/lora") == 1  # never downloaded twice
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    listed = comfy("models", "find", digest[:16], "--json", cwd=without_lora)
    assert listed.code == 0 and str(target) in listed.out


def test_an_interrupted_download_resumes(lora_bundle: Path, without_lora: Path, comfy: Comfy,
                                         comfyui: Path, https: Server) -> None:
    data = (comfyui / "models" / LORA).read_bytes()
    https.routes["/lora"] = Route(data, content_type="application/octet-stream", cut_at=9000)
    result = comfy("import", str(lora_bundle), "--yes", cwd=without_lora)
    assert result.code == 1 and "again to resume" in result.err.splitlines()[-1]
    target = comfyui_of(without_lora) / "models" / LORA
    assert Path(f"{target}.part").stat().st_size == 9000 and not target.exists()
    assert not workflow_file(comfyui_of(without_lora), "portraits/sailor").exists()
    https.routes["/lora"] = Route(data, content_type="application/octet-stream", ranges=True)
    result = comfy("import", str(lora_bundle), "--yes", cwd=without_lora)
    assert result.code == 0, result.err
    assert https.requests[-1][1].get("Range") == "bytes=9000-"
    assert target.read_bytes() == data
    assert workflow_file(comfyui_of(without_lora), "portraits/sailor").exists()


def test_an_html_page_is_not_a_model(lora_bundle: Path, without_lora: Path, comfy: Comfy,
                                     https: Server) -> None:
    https.routes["/lora"] = Route(b"<!DOCTYPE html><html><body>Sign in</body></html>",
                                  content_type="text/html")
    before = tree_digest(without_lora, comfyui_of(without_lora))
    result = comfy("import", str(lora_bundle), "--yes", cwd=without_lora)
    assert result.code == 1 and "HTML" in result.err.splitlines()[-1]
    assert tree_digest(without_lora, comfyui_of(without_lora)) == before
