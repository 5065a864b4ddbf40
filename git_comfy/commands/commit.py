"""``git comfy commit``: snapshot and stage the tracked workflows, then ``git commit``. git refuses
a commit whose only changes a hook staged, so the snapshot has to happen before git starts."""

from __future__ import annotations

import os

from git_comfy import environment, git, snapshot


def run(*, git_args: list[str]) -> int:
    env = environment.discover()
    snapshot.update(env.root, env.git_dir, [None])
    # the hook git runs syncs again but leaves the warnings, printed just now, unrepeated
    return git.call(["commit", *git_args], env={**os.environ, snapshot.WARNED_ENV: "1"})
