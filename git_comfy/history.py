"""Committed workflows: revisions, a workflow's bytes at a revision, which workflows a commit
holds, and the workflow in ComfyUI now, each read and checked strictly.

Point reads go through ``git cat-file`` and ``git ls-tree`` (2 ms a call; dulwich needs 57 ms to
start, notes/git.md §2.5), history through ``git log``.
"""

from __future__ import annotations

import os

from git_comfy import atomic, comfyui, environment, git, snapshot
from git_comfy.core import jsonsafe, workflow
from git_comfy.errors import FatalError


def resolve(root: str, revision: str) -> str:
    """The full commit id ``revision`` names, or one line saying it names none."""
    if revision.startswith("-"):  # would be read as an option
        raise FatalError(f"{revision!r} is not a revision (it starts with '-')")
    code, out, _err = git.run(["-C", root, "rev-parse", "--verify", "-q", "--end-of-options",
                               f"{revision}^{{commit}}"], check=False)
    if code != 0:
        if revision == "HEAD":
            raise FatalError("nothing is committed yet; commit the workflows first")
        raise FatalError(f"unknown revision {revision!r}: no commit, branch or tag has that "
                         "name in this repository")
    return out.decode().strip()


def is_commit(root: str, argument: str) -> bool:
    if argument.startswith("-"):
        return False
    code, _out, _err = git.run(["-C", root, "rev-parse", "--verify", "-q", "--end-of-options",
                                f"{argument}^{{commit}}"], check=False)
    return code == 0


def unmerged(root: str, relative: str) -> bool:
    """Whether a merge stopped with ``relative`` in conflict."""
    return bool(git.run(["-C", root, "ls-files", "--unmerged", "--", relative])[1])


def read_at(root: str, commit: str, relative: str) -> bytes | None:
    """The bytes of ``relative`` in ``commit``, or None when it has no such file."""
    out = git.run(["-C", root, "cat-file", "--batch"],
                  stdin=f"{commit}:{relative}\n".encode("utf-8", "surrogateescape"))[1]
    header, _, rest = out.partition(b"\n")
    fields = header.split(b" ")
    if len(fields) != 3 or fields[1] != b"blob":
        return None  # "<spec> missing", or a folder
    return rest[: int(fields[2])]


def blob_ids(root: str, commit: str) -> dict[str, str]:
    """workflow name → blob id of every snapshot in ``commit``."""
    out = git.run(["-C", root, "ls-tree", "-r", "-z", commit, "--",
                   environment.SNAPSHOTS + "/"])[1]
    found = {}
    prefix, suffix = environment.SNAPSHOTS + "/", ".json"
    for record in out.split(b"\0"):
        info, _, path = record.partition(b"\t")
        name = path.decode("utf-8", "surrogateescape")
        if name.startswith(prefix) and name.endswith(suffix) and info.count(b" ") == 2:
            found[name[len(prefix):-len(suffix)]] = info.split(b" ")[2].decode()
    return found


def changed_names(root: str, old: str, new: str) -> list[str]:
    """The workflows whose snapshots differ between two commits (added and deleted too)."""
    out = git.run(["-C", root, "diff", "--name-only", "-z", "--no-renames", old, new, "--",
                   environment.SNAPSHOTS + "/"])[1]
    prefix = environment.SNAPSHOTS + "/"
    return sorted(path[len(prefix):-5] for path in out.decode("utf-8", "surrogateescape")
                  .split("\0") if path.startswith(prefix) and path.endswith(".json"))


def was_committed(root: str, relative: str, data: bytes) -> bool:
    """Whether ``data`` is a version of ``relative`` that some commit holds (at HEAD, or
    anywhere in the history of any branch, merges included), so replacing it loses nothing."""
    committed = blob_ids(root, "HEAD") if is_commit(root, "HEAD") else {}
    name = relative[len(environment.SNAPSHOTS) + 1:-5]
    if not committed:
        return False
    blob = snapshot.blob_id(data, len(next(iter(committed.values()))))
    if committed.get(name) == blob:
        return True
    out = git.run(["-C", root, "log", "--all", "--full-history", "-m", "--format=", "--raw",
                   "--no-abbrev", "--no-renames", "--", relative])[1]
    return blob.encode() in out


def read_comfyui(env: environment.Environment, name: str) -> bytes | None:
    """What committing workflow ``name`` now would commit, or None when ComfyUI has no such
    file; a half-saved file is one clear line."""
    saved = atomic.read(comfyui.workflow_path(env.comfyui, name), jsonsafe.MAX_BYTES + 1)
    if saved is None:
        return None
    try:
        return workflow.snapshot_bytes(saved)
    except jsonsafe.JSONError as error:
        raise FatalError(f"workflow {name} in ComfyUI is not valid JSON ({error}); save it "
                         "again in ComfyUI") from None


def workflows_folder(env: environment.Environment) -> str:
    folder = comfyui.workflows_dir(env.comfyui)
    if not os.path.isdir(folder):
        raise FatalError(f"no ComfyUI workflows folder at {folder}; set the ComfyUI folder "
                         "with git comfy init --comfyui PATH")
    return folder
