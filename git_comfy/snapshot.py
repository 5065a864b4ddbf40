"""Copy tracked workflows from ComfyUI into ``.cec/workflows/`` and stage them: the work of both
the pre-commit hook and ``git comfy commit``.

Speed matters (the hook runs on every ``git commit``), so when nothing changed this costs one
``git ls-files`` and one SHA-1 per workflow, and imports neither json nor re. A workflow is
compared with the blob the index already holds, never with the ``.cec`` work-tree file: that file
may hold edits the user never staged.
"""

from __future__ import annotations

import os

from git_comfy import atomic, comfyui, environment, git
from git_comfy.errors import FatalError

_LEGACY_MARKER = b"_comfydock_metadata"
_RETRY_DELAY = 0.25  # an older ComfyUI writes in place; a half-saved file may be complete soon
# Set by `git comfy commit` for the git commit it runs: it has warned already, so the hook that
# commit runs syncs again (a partial commit's index needs it) but does not repeat the warnings.
WARNED_ENV = "GIT_COMFY_WARNED"
# Per worktree, in its git dir: the blob ids each workflow had when copied from this ComfyUI,
# newest last. When ComfyUI's file is still the newest but the staged copy is a blob that never
# came from this ComfyUI, git brought it in (a merge, a pull of someone else's commit) and
# ComfyUI is behind: committing ComfyUI's file then would silently undo it. A copy that did come
# from here (an older version after a reset, a partial commit's index, another branch's) is not
# protected: ComfyUI → git stays the one way workflows flow.
SYNCED = "git-comfy-synced"
_SYNCED_KEPT = 50  # ids remembered per workflow


def read_synced(git_dir: str) -> dict[str, list[str]]:
    """name → blob ids of the workflow as copied from ComfyUI, newest last (empty: never)."""
    data = atomic.read(os.path.join(git_dir, SYNCED))
    synced: dict[str, list[str]] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        object_id, _, name = line.partition(" ")
        if name:
            synced.setdefault(name, []).append(object_id)
    return synced


def is_behind(name: str, comfyui_id: str, copy_id: str | None,
              synced: dict[str, list[str]]) -> bool:
    """Whether git brought in ``copy_id`` while ComfyUI kept the file last copied from it."""
    seen = synced.get(name, [])
    return (copy_id not in (None, comfyui_id) and bool(seen) and seen[-1] == comfyui_id
            and copy_id not in seen)


def _write_synced(git_dir: str, synced: dict[str, list[str]]) -> None:
    text = "".join(f"{object_id} {name}\n" for name, ids in sorted(synced.items())
                   for object_id in ids[-_SYNCED_KEPT:])
    try:
        atomic.write(os.path.join(git_dir, SYNCED), text.encode("utf-8"), durable=False)
    except FatalError:
        pass  # a read-only git dir only loses the protection, never a commit


def blob_id(data: bytes, object_id_length: int) -> str:
    """The id git gives ``data`` as a blob, in the repository's object format."""
    import hashlib

    algorithm = hashlib.sha256 if object_id_length == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


def index_entries(root: str, env: dict[str, str] | None) -> dict[str, str]:
    """path → blob id of the stage-0 entries under ``.cec/`` in the index git is using."""
    out = git.run(["-C", root, "ls-files", "--stage", "-z", "--", environment.CEC], env=env)[1]
    entries = {}
    for record in out.split(b"\0"):
        if record:
            info, _, path = record.partition(b"\t")
            _mode, object_id, stage = info.split(b" ")
            if stage == b"0":
                entries[path.decode("utf-8", "surrogateescape")] = object_id.decode()
    return entries


def _committable(name: str, path: str) -> bytes:
    """The bytes to commit for a workflow ComfyUI saved, or a clear error when it is not valid."""
    from git_comfy.core import jsonsafe, workflow

    for attempt in (1, 2):
        with open(path, "rb") as file:
            saved = file.read()
        try:
            return workflow.snapshot_bytes(saved)
        except jsonsafe.JSONError as error:
            if attempt == 2:
                raise FatalError(
                    f"workflow {name} in ComfyUI is not valid JSON ({error}); "
                    "save it again in ComfyUI, then commit"
                ) from None
            import time

            time.sleep(_RETRY_DELAY)
    raise AssertionError("unreachable")


def sync(
    root: str, git_dir: str, comfyui_dir: str, names: list[str], index_files: list[str | None]
) -> tuple[list[str], list[str], list[str]]:
    """Brings ``.cec/`` in step with ComfyUI for every tracked name and stages what changed into
    each of ``index_files`` (None: git's default index). Returns (staged paths, names missing in
    ComfyUI, names whose ComfyUI file is behind git's copy); a missing workflow, and one git
    moved since ComfyUI last saved it, keep their committed copy."""
    environments = [
        None if index is None else {**os.environ, "GIT_INDEX_FILE": index}
        for index in index_files
    ]
    staged_ids = index_entries(root, environments[0])
    id_length = len(next(iter(staged_ids.values()), "0" * 40))
    to_stage: list[str] = []
    missing: list[str] = []
    behind: list[str] = []
    synced = read_synced(git_dir)
    recorded = {name: list(ids) for name, ids in synced.items()}
    to_write: list[tuple[str, bytes]] = []  # written once every workflow has been checked
    for name in names:
        source = comfyui.workflow_path(comfyui_dir, name)
        saved = atomic.read(source)
        if saved is None:
            missing.append(name)
            continue
        relative = environment.snapshot_relpath(name)
        committable, committable_id = saved, blob_id(saved, id_length)
        staged_id = staged_ids.get(relative)
        if _LEGACY_MARKER in saved or staged_id != committable_id:
            committable = _committable(name, source)
            committable_id = blob_id(committable, id_length)
        if is_behind(name, committable_id, staged_id, synced):
            behind.append(name)
            continue
        ids = recorded.setdefault(name, [])
        if committable_id in ids:
            ids.remove(committable_id)
        ids.append(committable_id)
        target = environment.at(root, relative)
        if atomic.read(target) != committable:
            to_write.append((target, committable))
        if staged_ids.get(relative) != committable_id:
            to_stage.append(relative)
    # only now, so that a workflow found invalid above leaves .cec/ as it was
    for target, committable in to_write:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # derived from ComfyUI's file, so a power cut costs a re-copy, not data: no fsync
        atomic.write(target, committable, durable=False)
    for relative in environment.ENVIRONMENT_FILES:
        current = atomic.read(environment.at(root, relative))
        if current is not None and staged_ids.get(relative) != blob_id(current, id_length):
            to_stage.append(relative)
    if to_stage:
        for env in environments:
            git.run(["-C", root, "update-index", "--add", "--", *to_stage], env=env)
    if recorded != synced:
        _write_synced(git_dir, recorded)
    return to_stage, missing, behind


def warn(message: str) -> None:
    import sys

    sys.stderr.write(f"git comfy: warning: {message}\n")


def update(
    root: str, git_dir: str, index_files: list[str | None], *, warnings: bool = True
) -> list[str]:
    """The whole job of the hook and of ``git comfy commit`` before it runs git: find the tracked
    workflows and ComfyUI, sync, and warn about what is missing (unless ``warnings`` is false).
    Returns the staged paths."""
    names = environment.read_tracked(root, git_dir)
    comfyui_dir = environment.comfyui_dir(root)
    folder = comfyui.workflows_dir(comfyui_dir)
    if names and not os.path.isdir(folder):
        if warnings:
            warn(
                f"no ComfyUI workflows folder at {folder} (git config comfy.path); "
                "the committed workflow copies stay as they are"
            )
        names = []
    staged, missing, behind = sync(root, git_dir, comfyui_dir, names, index_files)
    for name in missing if warnings else ():
        warn(f"tracked workflow {name} is missing in ComfyUI; its committed copy stays")
    for name in behind if warnings else ():
        warn(f"git changed {name} (merge, pull, checkout or reset) since ComfyUI last saved it; "
             f"its committed copy stays: run git comfy restore {name} to load it into ComfyUI")
    return staged
