"""The pre-commit hook: copy every tracked workflow from ComfyUI into ``.cec/workflows/`` and
stage it into the index git is committing.

This runs on every ``git commit``, so it is written for start-up time: the hook script runs this
module directly (``python -I -S``, no console-script wrapper, no argparse), it imports no
subprocess, json, re, typing, tomlkit, jinja2 or dulwich when nothing changed, and it makes two
git calls (``config``, ``ls-files``). A test guards the import list.
"""

from __future__ import annotations

import os
import sys

from git_comfy import environment, errors, snapshot

_PARTIAL_INDEX_PREFIX = "next-index-"


def _git_dir() -> str:
    """The per-worktree git dir. git exports GIT_DIR to hooks in linked worktrees; otherwise the
    hook runs at the top of the work tree, where ``.git`` is a folder or a ``gitdir:`` file."""
    if "GIT_DIR" in os.environ:
        return os.path.abspath(os.environ["GIT_DIR"])
    if os.path.isfile(".git"):
        with open(".git", encoding="utf-8") as file:
            pointer = file.read().strip().removeprefix("gitdir:").strip()
        return os.path.abspath(pointer)
    return os.path.abspath(".git")


def index_files() -> list[str | None]:
    """The indexes to stage into: the one git is committing and, for ``git commit <paths>``
    (a temporary ``next-index-*.lock``), the locked real index too, which git writes back after
    the commit; otherwise our copies would be committed but vanish from the index."""
    committing = os.environ.get("GIT_INDEX_FILE")
    if committing is None:
        return [None]
    head, tail = os.path.split(os.path.abspath(committing))
    if tail.startswith(_PARTIAL_INDEX_PREFIX) and tail.endswith(".lock"):
        return [committing, os.path.join(head, "index.lock")]
    return [committing]


def run() -> int:
    root = os.getcwd()  # git runs hooks at the top of the work tree
    if not os.path.isfile(environment.at(root, environment.PYPROJECT)):
        return 0  # not an environment (a core.hooksPath shared with other repositories)
    warnings = snapshot.WARNED_ENV not in os.environ  # `git comfy commit` warned already
    snapshot.update(root, _git_dir(), index_files(), warnings=warnings)
    return 0


def main() -> int:
    return errors.guard(run)


def main_and_exit() -> None:
    """What the installed hook script runs: :func:`main`, then an exit that skips the
    interpreter's teardown (a quarter of a bare start); nothing is left to flush but stdio."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
