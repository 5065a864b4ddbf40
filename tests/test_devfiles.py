"""Collecting a dev node's files for a bundle: real folders with the files a developer's node
really holds (keys, .env, a .git, caches, links out of it, a FIFO), .comfydockignore files checked
against git's own reading of them, and reading each file once, safely."""

from __future__ import annotations

import os
import random
import string
import subprocess
from pathlib import Path

import pytest

from git_comfy import devfiles
from git_comfy.core import secrets
from git_comfy.errors import FatalError

COLLECTED = [".comfydockignore", "__init__.py", "nodes.py", "sub/.comfydockignore",
             "sub/keep.tmp", "web/js/main.js"]
SKIPPED = [
    (".env", "built-in exclude (.env)"),
    (".git/", "built-in exclude (.git)"),
    (".npmrc", "built-in exclude (.npmrc)"),
    ("__pycache__/", "built-in exclude (__pycache__)"),
    ("bad\x07name.py", "name contains the control character U+0007"),
    ("caf\udce9.py", "name is not valid UTF-8"),
    ("config.py", "symbolic link"),
    ("data/", "excluded by .comfydockignore"),
    ("id_ed25519", "built-in exclude (id_ed25519*)"),
    ("keys", "symbolic link"),
    ("models/tiny.ckpt", "excluded by .comfydockignore"),
    ("pipe", "not a regular file (a pipe, socket or device)"),
    ("server.pem", "built-in exclude (*.pem)"),
    ("sub/a.tmp", "excluded by .comfydockignore"),
    ("sub/b.log", "built-in exclude (*.log)"),
    ("sub/c.bak", "excluded by sub/.comfydockignore"),
]


def write(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def node(tmp_path: Path) -> Path:
    """A dev node as found on a developer's disk, with a fake ~/.ssh beside it."""
    home = tmp_path / "home"
    write(home, {".ssh/id_rsa": "private", ".ssh/config": "Host *", "notes.py": "x = 1\n"})
    folder = tmp_path / "my-node"
    write(folder, {
        "__init__.py": "from .nodes import NODE_CLASS_MAPPINGS\n",
        "nodes.py": "NODE_CLASS_MAPPINGS = {}\n",
        "web/js/main.js": "export {};\n",
        ".env": "API_KEY=secret\n", "id_ed25519": "key", ".npmrc": "//registry/:_authToken=x",
        "server.pem": "cert", ".git/config": "[core]\n", "__pycache__/x.pyc": "",
        ".comfydockignore": "# data and weights stay home\ndata/\n*.ckpt\n!data/keep.txt\n*.tmp\n",
        "data/keep.txt": "kept?", "data/big.bin": "", "models/tiny.ckpt": "",
        "sub/.comfydockignore": "!keep.tmp\n*.bak\n",
        "sub/a.tmp": "", "sub/keep.tmp": "", "sub/b.log": "", "sub/c.bak": "",
        "bad\x07name.py": "",
    })
    with open(os.fsencode(folder) + b"/caf\xe9.py", "wb"):
        pass
    (folder / "keys").symlink_to(home / ".ssh")
    (folder / "config.py").symlink_to(home / "notes.py")
    os.mkfifo(folder / "pipe")
    return folder


def test_collects_source_and_says_what_stayed_out(node: Path) -> None:
    found = devfiles.collect(str(node), "my-node")
    assert found.name == "my-node" and found.root == os.path.realpath(node)
    assert [f.relpath for f in found.files] == COLLECTED
    assert found.skipped == SKIPPED
    first = found.files[0]
    assert first.path == os.path.join(found.root, ".comfydockignore")
    assert first.size == (node / ".comfydockignore").stat().st_size
    assert not any("ssh" in f.path or "notes" in f.path for f in found.files)


def test_comfydockignore_files_mean_what_git_makes_of_them(node: Path, tmp_path: Path) -> None:
    """git reads the same files as per-folder ignore files: what it leaves untracked, less what
    collect skips for other reasons (links, the FIFO, names, the built-in excludes), is what
    collect takes. git also agrees that data/keep.txt stays out: its folder is excluded."""
    scratch = str(tmp_path / "scratch.git")  # a repository outside the node: its .git is data
    subprocess.run(["git", "init", "-q", "--bare", scratch], check=True)
    listing = subprocess.run(
        ["git", "--git-dir", scratch, "--work-tree", str(node), "ls-files", "--others", "-z",
         f"--exclude-per-directory={devfiles.IGNORE_FILE}"], capture_output=True, check=True)
    untracked = [os.fsdecode(p) for p in listing.stdout.split(b"\0") if p]
    other_reasons = {path for path, reason in SKIPPED if "comfydockignore" not in reason}
    expected = sorted(p for p in untracked if p not in other_reasons and not secrets.excluded(p))
    assert expected == COLLECTED
    assert "data/keep.txt" not in untracked


def test_reads_each_file_once_with_its_checks(node: Path) -> None:
    found = devfiles.collect(str(node), "my-node")
    by_name = {f.relpath: f for f in found.files}
    assert devfiles.read_file(by_name["nodes.py"]) == b"NODE_CLASS_MAPPINGS = {}\n"

    (node / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {'grown': 1}\n")
    with pytest.raises(FatalError, match=r"nodes\.py changed while it was being read"):
        devfiles.read_file(by_name["nodes.py"])

    (node / "__init__.py").unlink()
    (node / "__init__.py").symlink_to(node / "web" / "js" / "main.js")
    with pytest.raises(FatalError, match=r"cannot read .*__init__.py"):
        devfiles.read_file(by_name["__init__.py"])

    (node / "sub").rename(node.parent / "elsewhere")  # same files, reached through a link
    (node / "sub").symlink_to(node.parent / "elsewhere")
    with pytest.raises(FatalError, match=r"keep\.tmp changed"):
        devfiles.read_file(by_name["sub/keep.tmp"])

    (node / "web" / "js" / "main.js").unlink()
    os.mkfifo(node / "web" / "js" / "main.js")  # would block a plain open
    with pytest.raises(FatalError, match=r"main\.js changed"):
        devfiles.read_file(by_name["web/js/main.js"])


def test_read_and_scan_finds_a_planted_key(tmp_path: Path) -> None:
    rng = random.Random(5)
    token = "hf" + "_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))
    folder = tmp_path / "keyed"
    write(folder, {"__init__.py": "", "nodes.py": f'\n\nclient = Client(token="{token}")\n',
                   "example.json": '{"nodes": []}'})
    found = devfiles.collect(str(folder), "keyed")
    findings = [finding for f in found.files
                for finding in secrets.scan_bytes(devfiles.read_file(f), f.relpath)]
    assert findings == [secrets.Finding("huggingface-access-token", "nodes.py", 3,
                                        secrets.mask(token))]


def one_line(error: pytest.ExceptionInfo[FatalError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_missing_folder_or_a_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FatalError) as missing:
        devfiles.collect(str(tmp_path / "gone"), "gone-node")
    message = one_line(missing)
    assert "dev node gone-node" in message and "does not exist" in message
    assert "git comfy node remove gone-node" in message

    (tmp_path / "single.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    with pytest.raises(FatalError) as single:
        devfiles.collect(str(tmp_path / "single.py"), "single")
    assert "is not a folder" in one_line(single)


def _collect_as_user(node: Path) -> str:
    """``collect``'s one-line error, run by a user the folder's permissions bind: as root (CI)
    in a forked child that becomes ``nobody`` (with the tree made reachable to it)."""
    if os.geteuid() != 0:
        with pytest.raises(FatalError) as caught:
            devfiles.collect(str(node), "my-node")
        return one_line(caught)
    for parent in [node.parent, *node.parent.parents]:
        parent.chmod(parent.stat().st_mode | 0o111)  # traversable, not readable
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        message = b"no error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            devfiles.collect(str(node), "my-node")
        except FatalError as error:
            message = str(error).encode()
        finally:
            os.write(write, message)
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    return said


def test_an_unreadable_folder_is_one_clear_error(node: Path) -> None:
    node.chmod(0)
    try:
        message = _collect_as_user(node)
    finally:
        node.chmod(0o755)
    assert "\n" not in message
    assert "cannot read dev node my-node's folder" in message


def test_the_node_folder_itself_may_be_a_link(node: Path, tmp_path: Path) -> None:
    (tmp_path / "custom_nodes").mkdir()
    (tmp_path / "custom_nodes" / "my-node").symlink_to(node)
    found = devfiles.collect(str(tmp_path / "custom_nodes" / "my-node"), "my-node")
    assert found.root == os.path.realpath(node)
    assert [f.relpath for f in found.files] == COLLECTED


def test_an_ignore_file_that_cannot_be_read_stops_collect(node: Path, tmp_path: Path) -> None:
    (node / "sub" / ".comfydockignore").unlink()
    (tmp_path / "shared-ignore").write_text("*.bak\n")
    (node / "sub" / ".comfydockignore").symlink_to(tmp_path / "shared-ignore")
    with pytest.raises(FatalError) as linked:
        devfiles.collect(str(node), "my-node")
    assert "sub/.comfydockignore is not a regular file" in one_line(linked)


def test_a_huge_file_must_be_ignored_or_moved(node: Path) -> None:
    with open(node / "weights.bin", "wb") as file:
        file.truncate(devfiles.MAX_FILE + 1)  # sparse: no disk used
    with pytest.raises(FatalError) as huge:
        devfiles.collect(str(node), "my-node")
    assert "weights.bin is 64.0 MiB" in one_line(huge) and ".comfydockignore" in str(huge.value)
    (node / ".comfydockignore").write_text("*.bin\n", encoding="utf-8")
    assert ("weights.bin", "excluded by .comfydockignore") in devfiles.collect(
        str(node), "my-node").skipped
