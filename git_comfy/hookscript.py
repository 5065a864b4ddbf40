"""Installing and removing the pre-commit hook script, alongside whatever hook was there.

A hook git-comfy did not write is never overwritten: it is renamed to ``pre-commit.pre-git-comfy``
and our script runs it first, so both keep working; uninstalling puts it back.
"""

from __future__ import annotations

import os
import sys

from git_comfy import atomic, render
from git_comfy.errors import FatalError

HOOK = "pre-commit"
CHAINED = "pre-commit.pre-git-comfy"
BACKUP = "pre-commit.git-comfy-backup"
MARKER = "git-comfy-hook: 1"  # recognises our script, in any version of its text


def script(python: str | None) -> str:
    """The hook script. With ``python`` it runs git_comfy.hook with that interpreter, falling back
    to ``git-comfy`` on PATH; without, it only uses PATH (the generic ``hooks/pre-commit``)."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bootstrap = (
        f"import sys;sys.path.insert(0,{package_parent!r});"
        "from git_comfy.hook import main_and_exit;main_and_exit()"
    )
    return render.render(
        "pre-commit.sh.j2", marker=MARKER, chained=CHAINED, python=python, bootstrap=bootstrap
    )


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except FileNotFoundError:
        return None


def _free_name(path: str) -> str:
    candidate, number = path, 1
    while os.path.lexists(candidate):
        number += 1
        candidate = f"{path}.{number}"
    return candidate


def check_installable(hooks_dir: str, *, force: bool) -> None:
    """Raises when :func:`install` would have to displace a foreign hook it cannot chain (the
    chain slot is taken) and ``force`` is not given; lets ``init`` check before it writes."""
    target = os.path.join(hooks_dir, HOOK)
    existing = _read(target)
    if force or existing is None or MARKER in existing:
        return
    chained = os.path.join(hooks_dir, CHAINED)
    if os.path.lexists(chained):
        raise FatalError(
            f"{target} is not git-comfy's and {chained} already holds another hook; "
            "merge them by hand, or rerun with --force to keep it as a backup"
        )


def install(hooks_dir: str, *, force: bool) -> str | None:
    """Installs or updates our hook; returns a line for the user when something changed."""
    target = os.path.join(hooks_dir, HOOK)
    chained = os.path.join(hooks_dir, CHAINED)
    wanted = script(sys.executable)
    existing = _read(target)
    note = f"installed the pre-commit hook in {hooks_dir}"
    if existing is not None and MARKER in existing:
        if existing == wanted:
            return None
        note = f"updated the pre-commit hook in {hooks_dir}"
    elif existing is not None:
        check_installable(hooks_dir, force=force)
        if not os.path.lexists(chained):
            os.rename(target, chained)
            note = f"installed the pre-commit hook; the one already there runs first, as {chained}"
        else:
            backup = _free_name(os.path.join(hooks_dir, BACKUP))
            os.rename(target, backup)
            note = f"installed the pre-commit hook; the foreign one that was there is in {backup}"
    os.makedirs(hooks_dir, exist_ok=True)
    atomic.write(target, wanted.encode("utf-8"), mode=0o755)
    return note


def uninstall(hooks_dir: str) -> str:
    """Removes our hook, and only ours, putting a chained hook back in its place."""
    target = os.path.join(hooks_dir, HOOK)
    chained = os.path.join(hooks_dir, CHAINED)
    existing = _read(target)
    if existing is None or MARKER not in existing:
        return f"no git-comfy hook in {hooks_dir}; nothing removed"
    if os.path.lexists(chained):
        os.replace(chained, target)
        return f"removed the git-comfy hook; {target} is the hook that was there before"
    os.unlink(target)
    return f"removed the git-comfy hook from {hooks_dir}"
