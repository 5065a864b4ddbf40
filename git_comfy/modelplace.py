"""Where each of a bundle's models comes from on this machine, and putting it there.

A model is known by its SHA-256. The index is asked first (after an incremental rescan of this
ComfyUI's model folders): a file with that SHA-256, or with the same size and quick hash whose
full hash then matches. Found in this ComfyUI's folder for that model → used where it is. Found
elsewhere (another ComfyUI, a folder added to the index) → hard-linked into this ComfyUI's
folder when both are on one file system, else copied; never downloaded again. Otherwise it is
downloaded from its sources (:mod:`git_comfy.download`), or it is missing.

A file is put in place under a temporary name and renamed: ComfyUI never lists half a model.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

from git_comfy import atomic, modelroots, ui
from git_comfy.core import bundle
from git_comfy.errors import FatalError
from git_comfy.index import IndexedModel, ModelIndex

HERE, LINK, COPY, DOWNLOAD, MISSING = "here", "link", "copy", "download", "missing"
_IN_COMFYUI = (modelroots.COMFYUI, modelroots.EXTRA_YAML)


@dataclass(frozen=True)
class Placement:
    model: bundle.Model
    action: str  # here, link, copy, download or missing
    path: str | None = None  # the file found on this machine (here, link, copy)
    target: str | None = None  # where it is put (link, copy, download)
    name: str | None = None  # how the workflow will name it: relative to its folder, "/"
    url: str | None = None  # the source to download from
    note: str | None = None  # why it is missing


def _found(index: ModelIndex, model: bundle.Model) -> list[IndexedModel]:
    """Files with the model's SHA-256: cached ones, else one with the same size and quick hash
    whose full hash (computed now, then cached) matches."""
    exact = index.by_sha256(model.sha256)
    if exact:
        return exact
    for candidate in index.by_quick_hash(model.quick_hash, model.size):
        try:
            if index.full_hash(candidate) == model.sha256:
                return [candidate]
        except FatalError:
            continue  # gone or unreadable since the scan: not a copy to use
    return []


def folder_dir(comfyui: str, folder: str) -> str:
    """This ComfyUI's folder for a model folder key: the existing one of its default folders
    (``clip`` or ``text_encoders`` …), else the first; a custom key is its own folder."""
    names = modelroots.DEFAULT_DIRS.get(folder, (folder,))
    for name in names:
        path = os.path.join(comfyui, "models", name)
        if os.path.isdir(path):
            return path
    return os.path.join(comfyui, "models", names[0])


def _free_target(folder: str, model: bundle.Model) -> tuple[str, str]:
    """(path, name) for a new copy of ``model`` in ``folder``: the exporter's own relative path,
    or, when another file has that name, one that adds the hash's start."""
    name = model.relpath
    path = os.path.join(folder, *name.split("/"))
    if os.path.lexists(path):
        stem, extension = os.path.splitext(name)
        name = f"{stem}-{model.sha256[:8]}{extension}"
        path = os.path.join(folder, *name.split("/"))
    return path, name


def _quiet(_: str) -> None:
    """A broken extra_model_paths.yaml was reported by the scan already."""


def plan(index: ModelIndex, roots: Sequence[modelroots.Root], comfyui: str,
         models: Sequence[bundle.Model]) -> list[Placement]:
    """Where each model will come from, given the roots the index was just scanned with;
    changes nothing but the index's cache."""
    placements = []
    loaded_from = {r.path for r in roots if r.origin in _IN_COMFYUI}  # what ComfyUI loads
    for model in models:
        found = _found(index, model)
        here = [f for f in found if f.root in loaded_from
                and (model.folder is None or f.folder == model.folder)]
        if here:
            placements.append(Placement(model, HERE, here[0].path, name=here[0].relpath))
            continue
        if model.folder is None:
            placements.append(Placement(model, MISSING, note="the bundle does not say which "
                                        "model folder it belongs in"))
            continue
        target, name = _free_target(folder_dir(comfyui, model.folder), model)
        if found:
            source = found[0].path
            action = LINK if _same_device(source, os.path.dirname(target)) else COPY
            placements.append(Placement(model, action, source, target, name))
        elif model.sources:
            placements.append(Placement(model, DOWNLOAD, target=target, name=name,
                                        url=model.sources[0]))
        else:
            placements.append(Placement(model, MISSING, note="no download source, and no file "
                                        "with its SHA-256 on this machine"))
    return placements


def _same_device(path: str, folder: str) -> bool:
    """Whether a hard link from ``path`` into ``folder`` can work (its nearest existing
    parent is on the same device)."""
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        return os.stat(path).st_dev == os.stat(folder).st_dev
    except OSError:
        return False


def _link_or_copy(placement: Placement) -> Placement:
    """Puts the found file at the target: a hard link (no space used), else a copy; both under a
    temporary name first."""
    source, target = placement.path, placement.target
    assert source is not None and target is not None
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temp = atomic.temp_name(target)
    try:
        if placement.action == LINK:
            try:
                os.link(source, temp)
            except OSError as error:
                if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                placement = replace(placement, action=COPY)
        if placement.action == COPY:
            _note(f"copying {ui.printable(os.path.basename(source))} "
                  f"({ui.human_size(placement.model.size)})")
            shutil.copyfile(source, temp, follow_symlinks=True)
        os.rename(temp, target)
    except OSError as error:
        atomic.discard(temp)
        raise FatalError(f"cannot put {placement.model.filename} at {target}: "
                         f"{error.strerror or error}") from None
    except BaseException:  # Ctrl-C: no half copy under a temporary name
        atomic.discard(temp)
        raise
    return placement


def _note(text: str) -> None:
    sys.stderr.write(f"git comfy: {text}\n")


def bring(placements: Sequence[Placement], index: ModelIndex, comfyui: str) -> list[Placement]:
    """Links, copies and downloads what the plan says, each verified by SHA-256, then records
    the new files (and their sources) in the index. A download that stops keeps its ``.part``
    for the next run to resume."""
    from git_comfy import download

    policy = download.policy()
    done = []
    for placement in placements:
        if placement.action in (LINK, COPY):
            placement = _link_or_copy(placement)
        elif placement.action == DOWNLOAD:
            assert placement.target is not None and placement.url is not None
            os.makedirs(os.path.dirname(placement.target), exist_ok=True)
            result = download.fetch(placement.url, placement.target,
                                    sha256=placement.model.sha256, size=placement.model.size,
                                    policy=policy, label=placement.model.filename)
            for warning in result.warnings:
                _note(f"warning: {placement.model.filename}: {ui.printable(warning)}")
        done.append(placement)
    new = [p for p in done if p.target is not None]
    if new:
        index.scan(modelroots.roots(comfyui, index.added_dirs(), _quiet))
        for placement in new:
            assert placement.target is not None
            index.remember(placement.target, placement.model.sha256)
            for url in placement.model.sources:
                index.add_source(placement.model.sha256, url)
    return done
