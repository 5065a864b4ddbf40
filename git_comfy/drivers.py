"""git's ``comfy`` diff and merge drivers for the workflow snapshots: the attribute line that
selects them and the git config that defines them, as ``init`` installs them (notes/git.md §1.6).

The attribute line lives in ``.cec/.gitattributes``, beside the other files git-comfy commits
(the hook stages it), so the user's own ``.gitattributes`` stays theirs. The driver commands are
machine configuration, so they go into git config, never into a commit. Each is added only when
git does not already resolve it, so what a user set (in any scope) is kept and a second run
changes nothing.
"""

from __future__ import annotations

import os

from git_comfy import atomic, environment, git

ATTRIBUTE_LINE = "workflows/**/*.json diff=comfy merge=comfy"
CONFIG = (
    ("diff.comfy.textconv", "git-comfy textconv"),
    ("diff.comfy.cachetextconv", "true"),
    ("merge.comfy.name", "ComfyUI workflows, merged node by node (git comfy)"),
    ("merge.comfy.driver", "git-comfy merge-driver %O %A %B %L %P"),
)
_HEADER = "# git-comfy: workflows read as text in diffs and merge node by node\n"


def _attributes_in_effect(root: str) -> bool:
    probe = f"{environment.SNAPSHOTS}/probe.json"
    out = git.output(["-C", root, "check-attr", "diff", "merge", "--", probe])
    return all(line.endswith(": comfy") for line in out.splitlines()) and bool(out)


def register(root: str) -> list[str]:
    """Adds what is missing; returns a note for each thing added."""
    notes = []
    if not _attributes_in_effect(root):
        path = environment.at(root, environment.ATTRIBUTES)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic.append(path, ATTRIBUTE_LINE + "\n", header=_HEADER)
        notes.append(f"added {ATTRIBUTE_LINE} to {environment.ATTRIBUTES}")
    missing = [(key, value) for key, value in CONFIG if git.config_get(key) is None]
    for key, value in missing:
        git.run(["-C", root, "config", "--local", key, value])
    if missing:
        notes.append("registered the comfy diff and merge drivers in git config "
                     f"({', '.join(key for key, _value in missing)})")
    return notes
