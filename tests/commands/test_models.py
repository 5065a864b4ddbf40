"""``git comfy models``: scan, list, find, add-dir, remove-dir, as a user runs them. Cases where a
bug would hang or where privileges matter run the real program in a child process with a
timeout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Comfy, Result, assert_one_error, git

from git_comfy.errors import cache_dir

INDEX = "models.sqlite3"
HOUR_AGO_NS = time.time_ns() - 3600 * 10**9
DEMO_NAMES = ["sd15/dreamshaper_8.safetensors", "portrait_detail_v2.safetensors", "4x-demo.pth"]


def settle(root: Path) -> None:
    """Dates every file an hour back (a file written moments ago is read again next scan)."""
    for path in [root] if root.is_file() else root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS))


def index_path() -> Path:
    return Path(cache_dir()) / INDEX


def _drop_read_override() -> None:
    """In the child, before exec: root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH is bound
    by file modes like anyone, so chmod 000 really makes a file unreadable (PR_CAPBSET_DROP)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def program(*args: str, cwd: Path, timeout: float = 60,
            preexec: Callable[[], None] | None = None) -> Result:
    """The real ``git comfy ARGS`` in a child process; a hang fails the test, it does not
    block the suite."""
    done = subprocess.run(["git", "comfy", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=preexec, stdin=subprocess.DEVNULL)
    return Result(done.returncode, done.stdout, done.stderr)


def _json(comfy: Comfy, *args: str, cwd: Path) -> list[dict[str, Any]]:
    result = comfy("models", *args, "--json", cwd=cwd)
    assert (result.code, result.err) == (0, ""), result
    records: list[dict[str, Any]] = json.loads(result.out)
    return records


@pytest.fixture
def scanned(env_repo: Path, comfyui: Path, comfy: Comfy) -> Path:
    settle(comfyui / "models")
    result = comfy("models", "scan", cwd=env_repo)
    assert result == Result(0, "3 new, 0 changed, 0 unchanged, 0 removed, 0 skipped\n", "")
    return env_repo


# -- scan ---------------------------------------------------------------------------------------


def test_scan_then_quiet_rescan(scanned: Path, comfy: Comfy) -> None:
    assert comfy("models", "scan", cwd=scanned) == Result(0, "", "")
    assert index_path().is_file()


def test_scan_counts_changes(scanned: Path, comfyui: Path, comfy: Comfy) -> None:
    models = comfyui / "models"
    (models / "upscale_models" / "4x-demo.pth").unlink()
    (models / "loras" / "new.safetensors").write_bytes(b"new")
    # touched: its mtime changed, so its SHA-256 can no longer be trusted: "changed"
    os.utime(models / "loras" / "portrait_detail_v2.safetensors")
    result = comfy("models", "scan", cwd=scanned)
    assert result == Result(0, "1 new, 1 changed, 1 unchanged, 1 removed, 0 skipped\n", "")


def test_scan_full_hashes_and_caches(scanned: Path, comfyui: Path, comfy: Comfy) -> None:
    result = comfy("models", "scan", "--full", cwd=scanned)
    assert result == Result(
        0, "0 new, 0 changed, 3 unchanged, 0 removed, 0 skipped, 3 hashed\n", "")
    for record in _json(comfy, "list", cwd=scanned):
        assert record["sha256"] == hashlib.sha256(Path(record["path"]).read_bytes()).hexdigest()
    assert comfy("models", "scan", "--full", cwd=scanned) == Result(0, "", "")


def test_list_text_is_aligned(scanned: Path, comfyui: Path, comfy: Comfy) -> None:
    result = comfy("models", "list", cwd=scanned)
    assert (result.code, result.err) == (0, "")
    models = comfyui / "models"
    assert result.out.splitlines() == [
        f"checkpoints     sd15/dreamshaper_8.safetensors  64.2 KiB  -  "
        f"{models / 'checkpoints' / 'sd15' / 'dreamshaper_8.safetensors'}",
        f"loras           portrait_detail_v2.safetensors  16.2 KiB  -  "
        f"{models / 'loras' / 'portrait_detail_v2.safetensors'}",
        f"upscale_models  4x-demo.pth                      8.0 KiB  -  "
        f"{models / 'upscale_models' / '4x-demo.pth'}",
    ]


def test_list_json_shape(scanned: Path, comfyui: Path, comfy: Comfy) -> None:
    records = _json(comfy, "list", cwd=scanned)
    assert [record["relpath"] for record in records] == DEMO_NAMES
    first = records[0]
    assert set(first) == {"path", "folder", "relpath", "size", "quick_hash", "sha256"}
    path = comfyui / "models" / "checkpoints" / "sd15" / "dreamshaper_8.safetensors"
    assert first["path"] == str(path) and first["folder"] == "checkpoints"
    assert first["size"] == path.stat().st_size and first["sha256"] is None
    assert len(first["quick_hash"]) == 32 and int(first["quick_hash"], 16) >= 0


def test_find_by_name_folder_and_hash(scanned: Path, comfy: Comfy) -> None:
    assert comfy("models", "scan", "--full", cwd=scanned).code == 0
    by_name = _json(comfy, "find", "Dream", cwd=scanned)
    assert [r["relpath"] for r in by_name] == ["sd15/dreamshaper_8.safetensors"]
    assert [r["relpath"] for r in _json(comfy, "find", "loras", cwd=scanned)] == [
        "portrait_detail_v2.safetensors"]
    lora = _json(comfy, "find", "portrait", cwd=scanned)[0]
    assert _json(comfy, "find", lora["quick_hash"][:6], cwd=scanned) == [lora]
    assert _json(comfy, "find", lora["sha256"][:12], cwd=scanned) == [lora]
    text = comfy("models", "find", "4x", cwd=scanned)
    assert text.code == 0 and text.out.startswith("upscale_models  4x-demo.pth  8.0 KiB  ")


def test_find_nothing(scanned: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("models", "find", "flux", cwd=scanned),
                     "no model in the index matches 'flux'")
    assert comfy("models", "find", "flux", "--json", cwd=scanned) == Result(0, "[]\n", "")


def test_find_and_list_in_an_empty_index(tmp_path: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("models", "find", "x", cwd=tmp_path),
                     "no model in the index matches 'x'; the index is empty: run git comfy "
                     "models scan")
    result = comfy("models", "list", cwd=tmp_path)
    assert result == Result(0, "", "git comfy: warning: the model index is empty; run git comfy "
                                   "models scan\n")
    assert comfy("models", "list", "--json", cwd=tmp_path) == Result(0, "[]\n", "")


def test_control_characters_in_names_are_escaped(env_repo: Path, comfyui: Path,
                                                 comfy: Comfy) -> None:
    evil = comfyui / "models" / "loras" / "evil\x1b]0;pwned\x07\x1b[2J.safetensors"
    evil.write_bytes(b"evil")
    settle(comfyui / "models")
    assert comfy("models", "scan", cwd=env_repo).code == 0
    result = comfy("models", "find", "evil", cwd=env_repo)
    assert result.code == 0 and "\x1b" not in result.out and "\x07" not in result.out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J.safetensors" in result.out
    (record,) = _json(comfy, "find", "evil", cwd=env_repo)  # JSON escapes them itself
    assert record["relpath"] == evil.name


# -- what a scan skips, in the real program with a timeout ----------------------------------------


def test_fifo_dev_zero_and_loops_do_not_hang(env_repo: Path, comfyui: Path) -> None:
    checkpoints = comfyui / "models" / "checkpoints"
    os.mkfifo(checkpoints / "trap.safetensors")
    (checkpoints / "zero.safetensors").symlink_to("/dev/zero")
    (checkpoints / "urandom.ckpt").symlink_to("/dev/urandom")
    os.mkfifo(checkpoints / "fifo-target")
    (checkpoints / "via-link.safetensors").symlink_to("fifo-target")
    (checkpoints / "loop-a.safetensors").symlink_to("loop-b.safetensors")
    (checkpoints / "loop-b.safetensors").symlink_to("loop-a.safetensors")
    (checkpoints / "parent").symlink_to("..")
    settle(comfyui / "models")
    for args in (["scan"], ["scan", "--full"]):
        result = program("models", *args, cwd=env_repo, timeout=60)
        assert result.code == 0, result
    first = program("models", "scan", "--rebuild", cwd=env_repo, timeout=60)
    assert first.out == "3 new, 0 changed, 0 unchanged, 0 removed, 6 skipped\n"
    warnings = sorted(first.err.splitlines())
    assert warnings == sorted(f"git comfy: warning: skipped {checkpoints / name}: {reason}" for
                              name, reason in [
        ("trap.safetensors", "not a regular file (a FIFO, socket or device)"),
        ("zero.safetensors", "a link into /dev, /proc or /sys"),
        ("urandom.ckpt", "a link into /dev, /proc or /sys"),
        ("via-link.safetensors", "a link to something that is not a regular file"),
        ("loop-a.safetensors", "a symlink loop"),
        ("loop-b.safetensors", "a symlink loop"),
    ])


def test_unreadable_file_is_reported_not_fatal(env_repo: Path, comfyui: Path) -> None:
    """chmod 000; as root the scan runs without the capabilities that bypass file modes, so
    the file is as unreadable for it as for any user."""
    secret = comfyui / "models" / "loras" / "private.safetensors"
    secret.write_bytes(b"private")
    settle(comfyui / "models")
    secret.chmod(0)
    preexec = _drop_read_override if os.geteuid() == 0 else None
    try:
        result = program("models", "scan", cwd=env_repo, preexec=preexec)
    finally:
        secret.chmod(0o644)
    assert result == Result(
        0, "3 new, 0 changed, 0 unchanged, 0 removed, 1 skipped\n",
        f"git comfy: warning: skipped {secret}: Permission denied\n")
    # readable again: indexed by the next scan
    assert program("models", "scan", cwd=env_repo).out == (
        "1 new, 0 changed, 3 unchanged, 0 removed, 0 skipped\n")


def test_unreadable_folder_is_reported(env_repo: Path, comfyui: Path) -> None:
    private = comfyui / "models" / "loras" / "private"
    private.mkdir()
    (private / "hidden.safetensors").write_bytes(b"x")
    settle(comfyui / "models")
    private.chmod(0)
    preexec = _drop_read_override if os.geteuid() == 0 else None
    try:
        result = program("models", "scan", cwd=env_repo, preexec=preexec)
    finally:
        private.chmod(0o755)
    assert result == Result(0, "3 new, 0 changed, 0 unchanged, 0 removed, 1 skipped\n",
                            f"git comfy: warning: skipped {private}: Permission denied\n")


def test_many_skipped_files_are_summarised(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    loras = comfyui / "models" / "loras"
    for number in range(25):
        (loras / f"l{number:02}.safetensors").symlink_to(f"missing{number}")
    result = comfy("models", "scan", cwd=env_repo)
    lines = result.err.splitlines()
    assert len(lines) == 21 and lines[-1] == "git comfy: warning: ... and 5 more skipped"
    assert result.out == "3 new, 0 changed, 0 unchanged, 0 removed, 25 skipped\n"


# -- extra_model_paths.yaml and added folders ----------------------------------------------------


def test_extra_model_paths_yaml_is_honoured(env_repo: Path, comfyui: Path, tmp_path: Path,
                                            comfy: Comfy) -> None:
    shared = tmp_path / "shared"
    (shared / "Lora").mkdir(parents=True)
    (shared / "unet").mkdir()
    (shared / "Lora" / "shared-lora.safetensors").write_bytes(b"lora")
    (shared / "unet" / "flux1-dev.gguf").write_bytes(b"gguf")
    settle(shared)
    (comfyui / "extra_model_paths.yaml").write_text(
        f"shared:\n    base_path: {shared}\n    is_default: true\n"
        "    loras: |\n        Lora\n        LyCORIS\n    unet: unet\n"
    )
    settle(comfyui / "models")
    result = comfy("models", "scan", cwd=env_repo)
    assert result.out == "5 new, 0 changed, 0 unchanged, 0 removed, 0 skipped\n"
    assert result.err == (
        f"git comfy: warning: {comfyui / 'extra_model_paths.yaml'}: section 'shared': loras: "
        f"no folder {shared / 'LyCORIS'}; skipped\n")
    (flux,) = _json(comfy, "find", "flux", cwd=env_repo)
    assert (flux["folder"], flux["relpath"]) == ("diffusion_models", "flux1-dev.gguf")


def test_malformed_yaml_is_a_warning(env_repo: Path, comfyui: Path, comfy: Comfy) -> None:
    (comfyui / "extra_model_paths.yaml").write_text("shared:\n  loras: [unclosed\n")
    result = comfy("models", "scan", cwd=env_repo)
    assert result.code == 0 and result.out.startswith("3 new")
    (line,) = result.err.splitlines()
    assert line.startswith(f"git comfy: warning: {comfyui / 'extra_model_paths.yaml'} is not "
                           "readable YAML (")


def test_add_dir_outside_an_environment(tmp_path: Path, comfy: Comfy) -> None:
    nas = tmp_path / "nas"
    (nas / "checkpoints").mkdir(parents=True)
    (nas / "Lora").mkdir()
    (nas / "checkpoints" / "big.safetensors").write_bytes(b"big")
    (nas / "Lora" / "small.safetensors").write_bytes(b"small")
    settle(nas)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert_one_error(comfy("models", "scan", cwd=elsewhere), "no model folders to scan")
    assert comfy("models", "add-dir", str(nas), cwd=elsewhere) == Result(
        0, f"added {nas} (checkpoints, loras); git comfy models scan indexes it\n", "")
    assert comfy("models", "add-dir", str(nas), cwd=elsewhere) == Result(
        0, f"{nas} was already added\n", "")
    assert comfy("models", "scan", cwd=elsewhere).out.startswith("2 new")
    assert {r["folder"] for r in _json(comfy, "list", cwd=elsewhere)} == {"checkpoints", "loras"}
    assert comfy("models", "remove-dir", str(nas), cwd=elsewhere) == Result(
        0, f"removed {nas} and its models from the index\n", "")
    assert _json(comfy, "list", cwd=elsewhere) == []


def test_add_dir_plain_folder_relative_path(tmp_path: Path, comfy: Comfy) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "x.pth").write_bytes(b"x")
    assert comfy("models", "add-dir", "loose", cwd=tmp_path).out == (
        f"added {tmp_path / 'loose'} (models of any folder, matched by name and hash); "
        "git comfy models scan indexes it\n")
    assert comfy("models", "scan", cwd=tmp_path).code == 0
    (record,) = _json(comfy, "list", cwd=tmp_path)
    assert (record["folder"], record["relpath"]) == ("", "x.pth")
    assert comfy("models", "list", cwd=tmp_path).out.startswith("-  x.pth  1 B  -  ")


def test_add_dir_and_remove_dir_errors(tmp_path: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("models", "add-dir", str(tmp_path / "nope"), cwd=tmp_path),
                     f"{tmp_path / 'nope'} is not a folder")
    (tmp_path / "file").write_text("x")
    assert_one_error(comfy("models", "add-dir", str(tmp_path / "file"), cwd=tmp_path),
                     "is not a folder")
    assert_one_error(comfy("models", "remove-dir", str(tmp_path), cwd=tmp_path),
                     f"{tmp_path} is not an added folder (added: none)")


def test_added_folder_that_vanished_is_a_warning(tmp_path: Path, comfy: Comfy) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "m.safetensors").write_bytes(b"m")
    assert comfy("models", "add-dir", "a", cwd=tmp_path).code == 0
    assert comfy("models", "add-dir", "b", cwd=tmp_path).code == 0
    assert comfy("models", "scan", cwd=tmp_path).out.startswith("1 new")
    (tmp_path / "b" / "m.safetensors").unlink()
    (tmp_path / "b").rmdir()
    result = comfy("models", "scan", cwd=tmp_path)
    assert result.out == "0 new, 0 changed, 0 unchanged, 1 removed, 0 skipped\n"
    assert "the added model folder" in result.err and str(tmp_path / "b") in result.err


def test_scan_with_a_missing_comfyui(env_repo: Path, comfyui: Path, tmp_path: Path,
                                     comfy: Comfy) -> None:
    git("config", "comfy.path", str(tmp_path / "moved"), cwd=env_repo)
    result = comfy("models", "scan", cwd=env_repo)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"git comfy: warning: no ComfyUI folder at {tmp_path / 'moved'}; only the added folders "
        "are scanned (fix it with git comfy init --comfyui PATH)",
        "git comfy: error: no model folders to scan: run this in a git-comfy environment whose "
        "ComfyUI has models/, or add a folder with git comfy models add-dir PATH",
    ]


def test_index_path_from_git_config(env_repo: Path, comfy: Comfy) -> None:
    git("config", "comfy.indexPath", "local/index.sqlite3", cwd=env_repo)
    assert comfy("models", "scan", cwd=env_repo / ".cec").code == 0  # from a subfolder too
    assert (env_repo / "local" / "index.sqlite3").is_file()
    assert not index_path().exists()


# -- the database: damage and concurrency --------------------------------------------------------


def test_damaged_index_is_one_line_and_rebuild_fixes_it(scanned: Path, comfy: Comfy,
                                                        tmp_path: Path) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    assert comfy("models", "add-dir", str(nas), cwd=scanned).code == 0
    path = index_path()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a SQLite database" * 200)
    message = f"the model index {path} is damaged; run git comfy models scan --rebuild"
    for args in (["scan"], ["list"], ["find", "x"], ["add-dir", str(nas)]):
        result = program("models", *args, cwd=scanned)
        assert_one_error(result, message)
    rebuilt = program("models", "scan", "--rebuild", cwd=scanned)
    assert rebuilt == Result(0, "3 new, 0 changed, 0 unchanged, 0 removed, 0 skipped\n", "")
    assert len(_json(comfy, "list", cwd=scanned)) == 3


def test_two_scans_at_once_both_succeed(env_repo: Path, comfyui: Path, tmp_path: Path) -> None:
    """Four real processes scanning 600 files into one new index at the same moment."""
    many = comfyui / "models" / "loras" / "many"
    for folder in range(6):
        (many / str(folder)).mkdir(parents=True)
        for number in range(100):
            (many / str(folder) / f"lora-{number:03}.safetensors").write_bytes(
                os.urandom(2048))
    settle(comfyui / "models")
    command = ["git", "comfy", "models", "scan", "--full"]
    children = [subprocess.Popen(command, cwd=env_repo, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = [(child.wait(timeout=120), *child.communicate()) for child in children]
    for code, _out, err in outcomes:
        assert (code, err) == (0, ""), outcomes
    check = subprocess.run([*command, "--rebuild"], cwd=env_repo, capture_output=True,
                           text=True, check=True)
    assert check.stdout.startswith("603 new, ")
    listed = subprocess.run(["git", "comfy", "models", "list", "--json"], cwd=env_repo,
                            capture_output=True, text=True, check=True)
    assert len(json.loads(listed.stdout)) == 603


def test_models_needs_a_verb(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "git_comfy", "models"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "the following arguments are required: <verb>" in done.stderr
