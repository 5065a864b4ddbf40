"""``git comfy models scan|list|find|add-dir|remove-dir``: the per-user index of model files.

Inside an environment the roots are its ComfyUI's model folders (and its
``extra_model_paths.yaml``) plus the added folders; anywhere else, the added folders only.
``list`` and ``find`` read the index as it is and need no environment.
"""

from __future__ import annotations

import json
import os
import sys

from git_comfy import environment, modelroots, ui
from git_comfy.errors import FatalError
from git_comfy.index import IndexedModel, ModelIndex, ScanReport

MAX_SKIPPED_SHOWN = 20  # a broken share can hold thousands; the count says the rest


_printable = ui.printable  # file names are other people's data: never raw to the terminal


def _warn(message: str) -> None:
    sys.stderr.write(f"git comfy: warning: {_printable(message)}\n")


def _comfyui() -> str | None:
    """The ComfyUI of the environment around the current directory; None outside one."""
    try:
        env = environment.discover()
    except FatalError:
        return None
    if not os.path.isdir(env.comfyui):
        _warn(f"no ComfyUI folder at {env.comfyui}; only the added folders are scanned "
              "(fix it with git comfy init --comfyui PATH)")
        return None
    return env.comfyui


def _summary(report: ScanReport, full: bool) -> str | None:
    """One line of counts; None when the scan found nothing to tell."""
    parts = [f"{report.new} new", f"{report.changed} changed", f"{report.unchanged} unchanged",
             f"{report.removed} removed", f"{len(report.skipped)} skipped"]
    if full:
        parts.append(f"{report.hashed} hashed")
    if not (report.new or report.changed or report.removed or report.skipped or report.hashed):
        return None
    return ", ".join(parts)


def scan(*, full: bool, rebuild: bool) -> int:
    comfyui = _comfyui()
    with ModelIndex.open(rebuild=rebuild) as index:
        roots = modelroots.roots(comfyui, index.added_dirs(), _warn)
        if not roots:
            raise FatalError(
                "no model folders to scan: run this in a git-comfy environment whose ComfyUI "
                "has models/, or add a folder with git comfy models add-dir PATH"
            )
        report = index.scan(roots, full=full)
    for skipped in report.skipped[:MAX_SKIPPED_SHOWN]:
        _warn(f"skipped {skipped.path}: {skipped.reason}")
    if len(report.skipped) > MAX_SKIPPED_SHOWN:
        _warn(f"... and {len(report.skipped) - MAX_SKIPPED_SHOWN} more skipped")
    line = _summary(report, full)
    if line is not None:
        print(line)
    return 0


def _as_json(models: list[IndexedModel]) -> None:
    records = [
        {"path": model.path, "folder": model.folder, "relpath": model.relpath,
         "size": model.size, "quick_hash": model.quick_hash, "sha256": model.sha256}
        for model in models
    ]
    json.dump(records, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _table(models: list[IndexedModel]) -> None:
    """``folder  relpath  size  sha256-prefix  path``, each column aligned."""
    rows = [
        (_printable(model.folder or "-"), _printable(model.relpath), ui.human_size(model.size),
         model.sha256[:12] if model.sha256 else "-", _printable(model.path))
        for model in models
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for folder, relpath, size, sha, path in rows:
        print(f"{folder:<{widths[0]}}  {relpath:<{widths[1]}}  {size:>{widths[2]}}  "
              f"{sha:<{widths[3]}}  {path}")


def list_(*, as_json: bool) -> int:
    with ModelIndex.open() as index:
        models = index.all()
    if as_json:
        _as_json(models)
    elif models:
        _table(models)
    else:
        _warn("the model index is empty; run git comfy models scan")
    return 0


def find(*, text: str, as_json: bool) -> int:
    if not text:
        raise FatalError("give part of a name, a folder or a hash prefix to find")
    with ModelIndex.open() as index:
        models = index.find(text)
        empty = not models and index.count() == 0
    if as_json:
        _as_json(models)
        return 0
    if not models:
        hint = "; the index is empty: run git comfy models scan" if empty else ""
        raise FatalError(f"no model in the index matches {_printable(repr(text))}{hint}")
    _table(models)
    return 0


def add_dir(*, path: str) -> int:
    folder = os.path.abspath(path)
    if not os.path.isdir(folder):
        raise FatalError(f"{folder} is not a folder")
    with ModelIndex.open() as index:
        added = index.add_dir(folder)
    if not added:
        print(f"{_printable(folder)} was already added")
        return 0
    roots = modelroots.added_roots(folder)
    kinds = sorted({root.folder for root in roots if root.folder})
    what = ", ".join(kinds) if kinds else "models of any folder, matched by name and hash"
    print(f"added {_printable(folder)} ({what}); git comfy models scan indexes it")
    return 0


def remove_dir(*, path: str) -> int:
    folder = os.path.abspath(path)
    with ModelIndex.open() as index:
        removed = index.remove_dir(folder)
        added = index.added_dirs()
    if not removed:
        listed = ", ".join(added) if added else "none"
        raise FatalError(f"{_printable(folder)} is not an added folder (added: "
                         f"{_printable(listed)})")
    print(f"removed {_printable(folder)} and its models from the index")
    return 0
