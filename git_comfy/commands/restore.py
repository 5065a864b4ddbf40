"""``git comfy restore <name> [--source REV] [--force]``: put a committed version of a workflow
back into ComfyUI's workflows folder (seed, "Git Integration").

ComfyUI is the source of truth, so its file is replaced only when nothing is lost: when the
version there is one that git holds (at HEAD or anywhere in the history). Otherwise restore
refuses, unless --force, which first copies that version into the workflows folder's hidden
``.git-comfy-backups/`` folder. The new file is written atomically: an interrupted restore leaves
the old file or the new one, never half of either.

During a merge that stopped on the workflow, restore without --source takes the merge result
from the work tree (the merge driver marked its conflicts inside), so that they can be resolved
in ComfyUI; the next commit then records ComfyUI's resolved version and concludes the merge.
"""

from __future__ import annotations

import os
import time

from git_comfy import atomic, comfyui, environment, history, ui
from git_comfy.core import graph, jsonsafe, project, workflow
from git_comfy.errors import FatalError

BACKUPS = ".git-comfy-backups"  # hidden: neither ComfyUI nor `git comfy status` lists it
RELOAD = ("Reload it in ComfyUI's browser tab: an open tab keeps its own copy in memory, "
          "and saving that tab would write it over the restored file.")


def _committable(saved: bytes) -> bytes | None:
    """What committing ``saved`` would commit; None for a half-saved file."""
    try:
        return workflow.snapshot_bytes(saved)
    except jsonsafe.JSONError:
        return None


def _merge_result(env: environment.Environment, relative: str) -> bytes:
    """A merge that stopped on this workflow left its result, conflicts marked inside, in the
    work tree: that is what to resolve in ComfyUI."""
    path = env.path(relative)
    data = atomic.read(path)
    if data is None:
        raise FatalError(f"{relative} is missing in the work tree; finish or abort the merge "
                         "(git merge --abort), or name a revision with --source")
    graph.load(data, f"the merge result {relative}")
    return data


def backup_path(folder: str, name: str) -> str:
    """``<workflows>/.git-comfy-backups/<name>.<date-time>.json``, not taken yet."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(folder, BACKUPS, *name.split("/"))
    path = f"{base}.{stamp}.json"
    number = 1
    while os.path.lexists(path):
        number += 1
        path = f"{base}.{stamp}-{number}.json"
    return path


def backup(folder: str, name: str, saved: bytes) -> str:
    path = backup_path(folder, name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError as error:
        raise FatalError(f"cannot keep a backup in {os.path.dirname(path)}: "
                         f"{error.strerror}; nothing was restored") from None
    atomic.write(path, saved)
    return path


def run(*, name: str, source: str | None, force: bool) -> int:
    env = environment.discover()
    name = project.canonical_name(name)
    relative = environment.snapshot_relpath(name)
    if source is None and history.unmerged(env.root, relative):
        data, at = _merge_result(env, relative), f"the merge in progress ({relative})"
    else:
        revision = source or "HEAD"
        commit = history.resolve(env.root, revision)
        found = history.read_at(env.root, commit, relative)
        if found is None:
            raise project.unknown_name(name, sorted(history.blob_ids(env.root, commit)),
                                       f"at {revision}")
        data, at = found, f"{revision} ({commit[:7]})" if revision != commit else commit[:7]
        graph.load(data, f"the committed copy of {name} at {revision}")
    folder = history.workflows_folder(env)
    target = comfyui.workflow_path(env.comfyui, name)
    saved = atomic.read(target)
    kept = None
    if saved is not None:
        committable = _committable(saved)
        if committable == data:
            print(f"{name} in ComfyUI is already the version at {at}; nothing to restore.")
            return 0
        if committable is None or not history.was_committed(env.root, relative, committable):
            if not force:
                raise FatalError(
                    f"workflow {name} in ComfyUI has changes that are not committed; commit "
                    f"them (git comfy commit), or rerun with --force to restore anyway and "
                    f"keep them in {os.path.join(folder, BACKUPS)}")
            kept = backup(folder, name, saved)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    except OSError as error:
        raise FatalError(f"cannot create {os.path.dirname(target)}: {error.strerror}") from None
    atomic.write(target, data)
    if kept:
        print(f"Kept the uncommitted version as {ui.printable(kept)}.")
    print(f"Restored {name} from {at} into ComfyUI.")
    print(RELOAD)
    return 0
