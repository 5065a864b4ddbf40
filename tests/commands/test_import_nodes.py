"""`git comfy import` installing custom nodes and their Python packages: a pack as a real git
repository published over HTTPS on 127.0.0.1 (git's "dumb" protocol: its files served as they
are), allowed through `comfy.allowedSource`; a registry-shaped server serving a pack's zip; the
second ComfyUI with a real venv and wheels built by the test (pip offline)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import Comfy, git, save_in_comfyui, tree_digest
from terminal import run_on_terminal
from test_import import comfyui_of, second  # noqa: F401  (the second environment)
from test_pyenv import _wheel
from webserver import Route, Server

from git_comfy import pyenv

PACK_CODE = ('class GitPackNode:\n    pass\n\n\nNODE_CLASS_MAPPINGS = {{"{name}": GitPackNode}}\n')


@pytest.fixture
def host(https_server: Server) -> Server:
    return https_server


def commit(repo: Path, node_type: str, requirements: str) -> str:
    (repo / "__init__.py").write_text(PACK_CODE.format(name=node_type))
    (repo / "requirements.txt").write_text(requirements)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", node_type, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).stdout.strip()


def publish(server: Server, repo: Path, tmp_path: Path) -> str:
    """The repository's current state served at /o/gitpack the dumb way; its https URL."""
    bare = tmp_path / "published.git"
    subprocess.run(["rm", "-rf", str(bare)], check=True)
    git("clone", "-q", "--bare", "--no-local", str(repo), str(bare), cwd=tmp_path)
    git("update-server-info", cwd=bare)
    for route in [r for r in server.routes if r.startswith("/o/gitpack/")]:
        del server.routes[route]  # what was published before is gone
    for path in bare.rglob("*"):
        if path.is_file():
            server.routes[f"/o/gitpack/{path.relative_to(bare)}"] = Route(
                path.read_bytes(), content_type="application/octet-stream")
    refs = server.routes["/o/gitpack/info/refs"]
    server.routes["/o/gitpack/info/refs?service=git-upload-pack"] = Route(
        refs.body, content_type="text/plain")
    return f"{server.url}/o/gitpack"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    repo = tmp_path / "gitpack-src"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    return repo


def published(env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path, host: Server,
              pack: Path, requirements: str) -> Path:
    """The pack committed with ``requirements``, published on ``host`` (an allowed source), and
    a workflow using it exported."""
    commit(pack, "GitPackNode", requirements)
    bundle = bundle_using_pack(env_repo, comfyui, comfy, publish(host, pack, tmp_path), pack,
                               tmp_path)
    git("config", "--global", "--add", "comfy.allowedSource", f"{host.url}/", cwd=tmp_path)
    return bundle


def bundle_using_pack(env_repo: Path, comfyui: Path, comfy: Comfy, url: str, pack: Path,
                      tmp_path: Path) -> Path:
    """The pack installed (as a clone of ``url``) in the first ComfyUI, a workflow using it,
    exported."""
    installed = comfyui / "custom_nodes" / "gitpack"
    git("clone", "-q", str(pack), str(installed), cwd=tmp_path)
    git("remote", "set-url", "origin", url, cwd=installed)
    node_type = "GitPackNode"
    workflow = {"nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "mode": 0,
         "widgets_values": ["sd15/dreamshaper_8.safetensors"]},
        {"id": 2, "type": node_type, "mode": 0, "widgets_values": []}], "links": []}
    save_in_comfyui(comfyui, "packed", json.dumps(workflow))
    assert comfy("track", "packed", cwd=env_repo).code == 0
    out = tmp_path / "packed.tar.gz"
    result = comfy("export", "packed", "--yes", "--offline", "-o", str(out), cwd=env_repo)
    assert result.code == 0, result.err
    return out


@pytest.fixture
def venv(second: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """A real venv in the second ComfyUI, and pip pointed at wheels made here."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "2.0"):
        _wheel(wheels, "gcdemo-lib", version)
    for name, value in {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
                        "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1"}.items():
        monkeypatch.setenv(name, value)
    folder = comfyui_of(second) / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder


def have(comfyui: Path) -> dict[str, str]:
    return pyenv.installed(pyenv.find(str(comfyui)))


def run_import(comfy: Comfy, studio: Path, bundle: Path, *args: str) -> tuple[int, dict[str, Any],
                                                                             str]:
    result = comfy("import", str(bundle), "--yes", "--json", *args, cwd=studio)
    return result.code, json.loads(result.out) if result.out else {}, result.err


def test_git_pack_and_its_requirements_are_installed(
        env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path, host: Server, pack: Path,
        second: Path, venv: Path) -> None:  # noqa: F811
    pinned = commit(pack, "GitPackNode", "gcdemo-lib==1.0\n")
    url = publish(host, pack, tmp_path)
    bundle = bundle_using_pack(env_repo, comfyui, comfy, url, pack, tmp_path)
    git("config", "--global", "--add", "comfy.allowedSource", f"{host.url}/", cwd=tmp_path)
    plan = json.loads(comfy("import", str(bundle), "--dry-run", "--json", cwd=second).out)
    assert [(p["action"], p["how"]) for p in plan["packs"]] == [("install", "git")]
    assert [(r["line"], r["state"]) for r in plan["python"]["requirements"]] == [
        ("gcdemo-lib==1.0", "install")]
    code, report, err = run_import(comfy, second, bundle)
    assert code == 0, err
    installed = comfyui_of(second) / "custom_nodes" / "gitpack"
    assert git("rev-parse", "HEAD", cwd=installed).stdout.strip() == pinned
    assert have(comfyui_of(second))["gcdemo-lib"] == "1.0"
    assert report["not_ready"] == []
    assert any("to go back:" in line for line in report["installed"])
    assert not [p for p in (comfyui_of(second) / "custom_nodes").iterdir()
                if p.name.startswith(".git-comfy-install-")]
    again = json.loads(comfy("import", str(bundle), "--dry-run", "--json", cwd=second).out)
    assert [p["action"] for p in again["packs"]] == ["present"]
    assert [r["state"] for r in again["python"]["requirements"]] == ["installed"]


def test_a_source_not_allowed_is_blocked_and_the_import_fails_loudly(
        env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path, host: Server, pack: Path,
        second: Path) -> None:  # noqa: F811
    commit(pack, "GitPackNode", "")
    bundle = bundle_using_pack(env_repo, comfyui, comfy, publish(host, pack, tmp_path), pack,
                               tmp_path)
    plan = json.loads(comfy("import", str(bundle), "--dry-run", "--json", cwd=second).out)
    [action] = plan["packs"]
    assert action["action"] == "blocked" and "is not https's own (443)" in action["reason"]
    code, report, err = run_import(comfy, second, bundle)
    assert code == 1 and "node type(s) are not provided" in err
    assert report["not_ready"] == ["GitPackNode: no installed pack provides it "
                                   f"({action['package']})"]
    assert not (comfyui_of(second) / "custom_nodes" / "gitpack").exists()


def test_a_pack_at_another_version_is_replaced_only_with_consent(
        env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path, host: Server, pack: Path,
        second: Path, venv: Path) -> None:  # noqa: F811
    old = commit(pack, "GitPackNode", "")
    url = publish(host, pack, tmp_path)
    git("config", "--global", "--add", "comfy.allowedSource", f"{host.url}/", cwd=tmp_path)
    theirs = comfyui_of(second) / "custom_nodes" / "gitpack"
    git("clone", "-q", url, str(theirs), cwd=tmp_path)
    new = commit(pack, "GitPackNode", "gcdemo-lib==1.0\n")  # the new version needs it
    publish(host, pack, tmp_path)
    bundle = bundle_using_pack(env_repo, comfyui, comfy, url, pack, tmp_path)
    code, report, err = run_import(comfy, second, bundle)
    assert [p["action"] for p in report["packs"]] == ["update"]
    assert code == 1 and git("rev-parse", "HEAD", cwd=theirs).stdout.strip() == old
    assert "gcdemo-lib" not in have(comfyui_of(second))  # not for a version kept as it was
    code, report, err = run_import(comfy, second, bundle, "--update-nodes")
    assert code == 0, err
    assert git("rev-parse", "HEAD", cwd=theirs).stdout.strip() == new
    assert have(comfyui_of(second))["gcdemo-lib"] == "1.0"
    [kept] = (comfyui_of(second) / "custom_nodes" / ".git-comfy-old").iterdir()
    assert git("rev-parse", "HEAD", cwd=kept).stdout.strip() == old


def test_a_blocked_requirement_stops_before_anything_changes(
        env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path, host: Server, pack: Path,
        second: Path, venv: Path) -> None:  # noqa: F811
    bundle = published(env_repo, comfyui, comfy, tmp_path, host, pack,
                       "--extra-index-url https://evil.example/simple\n")
    before = tree_digest(second, comfyui_of(second))
    code, _report, err = run_import(comfy, second, bundle)
    assert code == 1 and "is blocked (--extra-index-url" in err
    assert tree_digest(second, comfyui_of(second)) == before


def test_a_conflict_needs_a_choice(env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path,
                                   host: Server, pack: Path, second: Path,  # noqa: F811
                                   venv: Path) -> None:
    pyenv.install(pyenv.find(str(comfyui_of(second))), ["gcdemo-lib==2.0"], allow_build=False)
    bundle = published(env_repo, comfyui, comfy, tmp_path, host, pack, "gcdemo-lib==1.0\n")
    before = tree_digest(second, comfyui_of(second))
    code, _report, err = run_import(comfy, second, bundle)
    assert code == 1 and "--conflicts upgrade|separate|keep" in err
    assert "gcdemo-lib==1.0 (have 2.0)" in err
    assert tree_digest(second, comfyui_of(second)) == before
    code, _report, err = run_import(comfy, second, bundle, "--conflicts", "keep")
    assert code == 0, err
    assert have(comfyui_of(second))["gcdemo-lib"] == "2.0"


def registry_zip(node_type: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("regpack-1.2.0/__init__.py", PACK_CODE.format(name=node_type))
        archive.writestr("regpack-1.2.0/pyproject.toml",
                         '[project]\nname = "regpack"\nversion = "1.2.0"\n')
    return buffer.getvalue()


def registry_bundle(env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path,
                    host: Server) -> Path:
    """A workflow using a registry pack (regpack 1.2.0), exported; the registry is ``host``."""
    source = comfyui / "custom_nodes" / "regpack"
    source.mkdir(parents=True)
    (source / "__init__.py").write_text(PACK_CODE.format(name="RegPackNode"))
    (source / "pyproject.toml").write_text('[project]\nname = "regpack"\nversion = "1.2.0"\n')
    (source / ".tracking").write_text("__init__.py\npyproject.toml\n")  # a registry install
    save_in_comfyui(comfyui, "reg", json.dumps({"nodes": [
        {"id": 1, "type": "RegPackNode", "mode": 0, "widgets_values": []}], "links": []}))
    assert comfy("track", "reg", cwd=env_repo).code == 0
    out = tmp_path / "reg.tar.gz"
    result = comfy("export", "reg", "--yes", "--offline", "-o", str(out), cwd=env_repo)
    assert result.code == 0, result.err
    host.json("/nodes/regpack/versions/1.2.0", {
        "id": "v1", "node_id": "regpack", "version": "1.2.0", "status": "NodeVersionStatusActive",
        "downloadUrl": f"{host.url}/files/regpack-1.2.0.zip"})
    git("config", "--global", "comfy.registryUrl", host.url, cwd=tmp_path)
    return out


def test_registry_pack_from_its_zip(env_repo: Path, comfyui: Path, comfy: Comfy,
                                    tmp_path: Path, host: Server,
                                    second: Path) -> None:  # noqa: F811
    out = registry_bundle(env_repo, comfyui, comfy, tmp_path, host)
    host.routes["/files/regpack-1.2.0.zip"] = Route(registry_zip("RegPackNode"),
                                                    content_type="application/zip")
    code, report, err = run_import(comfy, second, out)
    assert code == 0, err
    assert [(p["action"], p["how"]) for p in report["packs"]] == [("install", "registry")]
    installed = comfyui_of(second) / "custom_nodes" / "regpack"
    assert sorted(p.name for p in installed.iterdir()) == [".tracking", "__init__.py",
                                                           "pyproject.toml"]


def test_a_pinned_commit_that_is_gone_leaves_nothing_half_installed(
        env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path, host: Server, pack: Path,
        second: Path) -> None:  # noqa: F811
    bundle = published(env_repo, comfyui, comfy, tmp_path, host, pack, "")
    git("commit", "-q", "--amend", "-m", "history rewritten upstream", cwd=pack)
    publish(host, pack, tmp_path)  # the pinned commit is no longer there
    before = tree_digest(second, comfyui_of(second))
    code, _report, err = run_import(comfy, second, bundle)
    assert code == 1 and len(err.splitlines()) == 1 and "has no commit" in err
    assert tree_digest(second, comfyui_of(second)) == before  # no pack, no staging folder


def test_a_hostile_registry_zip_installs_nothing(env_repo: Path, comfyui: Path, comfy: Comfy,
                                                 tmp_path: Path, host: Server,
                                                 second: Path) -> None:  # noqa: F811
    out = registry_bundle(env_repo, comfyui, comfy, tmp_path, host)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("regpack-1.2.0/__init__.py", PACK_CODE.format(name="RegPackNode"))
        archive.writestr("regpack-1.2.0/../../../../escaped.py", "import os\n")
    host.routes["/files/regpack-1.2.0.zip"] = Route(buffer.getvalue(),
                                                    content_type="application/zip")
    before = tree_digest(second, comfyui_of(second))
    code, _report, err = run_import(comfy, second, out)
    assert code == 1 and len(err.splitlines()) == 1 and "'..'" in err
    assert tree_digest(second, comfyui_of(second)) == before
    assert not list(tmp_path.rglob("escaped.py"))


def test_on_a_terminal_a_conflict_is_a_question(env_repo: Path, comfyui: Path, comfy: Comfy,
                                                tmp_path: Path, host: Server, pack: Path,
                                                second: Path, venv: Path) -> None:  # noqa: F811
    pyenv.install(pyenv.find(str(comfyui_of(second))), ["gcdemo-lib==2.0"], allow_build=False)
    bundle = published(env_repo, comfyui, comfy, tmp_path, host, pack, "gcdemo-lib==1.0\n")
    code, screen = run_on_terminal(["git", "comfy", "import", str(bundle)], second, ["3", "y"])
    assert code == 0, screen
    assert "Python dependency conflict detected" in screen
    assert "3. Try with current version (may not work)" in screen
    assert have(comfyui_of(second))["gcdemo-lib"] == "2.0"
    assert (comfyui_of(second) / "custom_nodes" / "gitpack" / "__init__.py").exists()


def test_a_blocked_packs_requirements_are_not_planned(
        env_repo: Path, comfyui: Path, comfy: Comfy, tmp_path: Path, host: Server, pack: Path,
        second: Path) -> None:  # noqa: F811
    commit(pack, "GitPackNode", "gcdemo-lib==1.0\n")
    bundle = bundle_using_pack(env_repo, comfyui, comfy, publish(host, pack, tmp_path), pack,
                               tmp_path)  # and no comfy.allowedSource: the pack is blocked
    plan = json.loads(comfy("import", str(bundle), "--dry-run", "--json", cwd=second).out)
    assert [p["action"] for p in plan["packs"]] == ["blocked"]
    assert plan["python"]["requirements"] == []
    assert plan["custom_nodes"][0]["pip"][0]["line"] == "gcdemo-lib==1.0"  # still shown


@pytest.mark.parametrize("choice", ["upgrade", "separate"])
def test_a_conflict_upgraded_or_kept_apart(choice: str, env_repo: Path, comfyui: Path,
                                           comfy: Comfy, tmp_path: Path, host: Server,
                                           pack: Path, second: Path,  # noqa: F811
                                           venv: Path) -> None:
    pyenv.install(pyenv.find(str(comfyui_of(second))), ["gcdemo-lib==2.0"], allow_build=False)
    bundle = published(env_repo, comfyui, comfy, tmp_path, host, pack, "gcdemo-lib==1.0\n")
    code, report, err = run_import(comfy, second, bundle, "--conflicts", choice)
    assert code == 0, err
    freeze = [line for line in report["installed"] if line.startswith("to go back:")]
    assert freeze and "gcdemo-lib==2.0" in Path(freeze[0].rsplit(" ", 1)[-1]).read_text()
    if choice == "upgrade":
        assert have(comfyui_of(second))["gcdemo-lib"] == "1.0"
    else:
        assert have(comfyui_of(second))["gcdemo-lib"] == "2.0"  # ComfyUI's own is untouched
        apart = second / ".cec" / "venvs" / "packed"
        python = pyenv.Interpreter(pyenv.venv_python(str(apart)), "test")
        assert pyenv.installed(python)["gcdemo-lib"] == "1.0"
        status = git("status", "--porcelain", "--untracked-files=all", cwd=second).stdout
        assert "venvs" not in status
