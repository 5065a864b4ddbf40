"""``git comfy completion bash|zsh``: print the completion script (git-lfs does the same)."""

from __future__ import annotations

import sys

from git_comfy import render

SCRIPTS = {"bash": "completion.bash.j2", "zsh": "completion.zsh.j2"}


SUMMARY = "version history and sharing for ComfyUI workflows"  # zsh lists it in `git <TAB>`


def script(shell: str) -> str:
    return render.render(SCRIPTS[shell], description=SUMMARY)


def run(*, shell: str) -> int:
    sys.stdout.write(script(shell))
    return 0
