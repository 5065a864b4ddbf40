"""``git comfy log <name> [--json] [git log options]``: the commits that changed a workflow's
snapshot, newest first, through one ``git log`` (notes/git.md §2.5: 25-50x faster than walking
the history in Python).

Renames are not followed: a workflow's name is its identity, and ``--follow`` would also pull in
the history of the workflow it was saved from. Pass ``--follow`` to get that. Other git log
options and revisions pass through (``-n 5``, ``main..topic``, ``--since=2.weeks``,
``--author=…``); in text they may also change the output (``-p`` shows each change in the
workflow's text form), with --json only the commit list is read.
"""

from __future__ import annotations

import os
import sys

from git_comfy import git
from git_comfy.core import project
from git_comfy.errors import FatalError

SNAPSHOTS = ".cec/workflows"  # environment.SNAPSHOTS, without importing it for speed
_FIELDS = "%H%x1f%aI%x1f%an%x1f%s"


def _git_log(arguments: list[str]) -> bytes:
    code, out, err = git.run(["log", *arguments], check=False)
    if code != 0:
        from git_comfy import environment

        environment.discover()  # no repository or no environment: that is the error
        if b"does not have any commits yet" in err:
            raise FatalError("nothing is committed yet; commit the workflows first")
        lines = err.decode("utf-8", "replace").splitlines()
        fatal = next((line for line in lines if line.startswith(("fatal: ", "error: "))),
                     lines[-1] if lines else f"exit status {code}")
        raise FatalError(f"git log failed: {fatal.split(': ', 1)[-1]}")
    return out


def _unknown(name: str, path: str) -> None:
    """Only when there is nothing to show: a name that no tracked workflow and no commit of
    any branch has is an error, not an empty history."""
    from git_comfy import environment

    env = environment.discover()
    tracked = env.tracked()
    if name in tracked or _git_log(["--all", "-1", "--format=%H", "--", path]).strip():
        return
    raise project.unknown_name(name, tracked, "among the tracked workflows or in the history")


def run(*, name: str, git_args: list[str], as_json: bool) -> int:
    name = project.canonical_name(name)
    if "--" in git_args:
        raise FatalError("git comfy log takes git log options and revisions, not paths; "
                         "name one workflow")
    path = f":(top,literal){SNAPSHOTS}/{name}{project.SUFFIX}"
    if as_json:
        import json

        out = _git_log([*git_args, "-z", f"--format={_FIELDS}", "--", path])
        commits = []
        for record in out.decode("utf-8", "replace").split("\0"):
            if not record:
                continue
            fields = record.split("\x1f")
            if len(fields) != 4:
                raise FatalError("--json lists commits only; leave out options that print "
                                 "more (-p, --stat, --graph …)")
            commit, date, author, subject = fields
            commits.append({"commit": commit, "date": date, "author": author,
                            "subject": subject})
        if not commits:
            _unknown(name, path)
        json.dump(commits, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    out = _git_log([f"--color={'always' if colour else 'never'}", "--date=short",
                    "--format=%C(auto)%h%C(reset) %ad %an  %s", *git_args, "--", path])
    if not out:
        _unknown(name, path)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return 0
