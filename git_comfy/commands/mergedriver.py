"""``git comfy merge-driver %O %A %B %L %P``: git's ``comfy`` merge driver (init registers it
for ``.cec/workflows/``). git calls it when both sides changed one workflow; the result goes
into %A (ours). Exit 0: merged cleanly; 1: conflicts, which are marked inside a valid workflow
(``CONFLICT:`` titles, :mod:`git_comfy.core.merge`).

A side that is not a UI-format workflow (half-saved JSON, the API format) cannot be merged by
node; then ``git merge-file`` merges the lines, with conflict markers, as git would have.
"""

from __future__ import annotations

import sys

from git_comfy import atomic, git, ui
from git_comfy.errors import FatalError


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise FatalError(f"merge driver: cannot read {path}: {error.strerror}") from None


def _merge_lines(base: str, ours: str, theirs: str, marker_size: str, name: str) -> int:
    size = marker_size if marker_size.isdigit() else "7"
    code = git.run(["merge-file", f"--marker-size={size}", "-L", f"ours:{name}", "-L",
                    f"base:{name}", "-L", f"theirs:{name}", ours, base, theirs],
                   check=False)[0]
    if code < 0 or code > 127:
        raise FatalError(f"merge driver: git merge-file failed on {name}")
    return 1 if code else 0


def run(*, base: str, ours: str, theirs: str, marker_size: str, name: str) -> int:
    from git_comfy.core import jsonsafe, merge

    data = [_read(path) for path in (base, ours, theirs)]
    if data[1] == data[2] or data[0] == data[2]:
        return 0  # ours already holds the result
    if data[0] == data[1]:
        atomic.write(ours, data[2], durable=False)
        return 0
    try:
        documents = [jsonsafe.loads_object(side) for side in data]
        result, conflicts = merge.merge(*documents)
    except (jsonsafe.JSONError, merge.MergeError) as error:
        sys.stderr.write(f"git comfy: {ui.printable(name)}: {error}; merging it line by "
                         "line\n")
        return _merge_lines(base, ours, theirs, marker_size, name)
    merged = jsonsafe.dumps(result, indent=jsonsafe.layout_of(data[1]))
    atomic.write(ours, merged + b"\n" if data[1].endswith(b"\n") else merged, durable=False)
    for conflict in conflicts:
        where = f"node #{conflict.node} ({conflict.type})" if conflict.node else conflict.type
        sides = ", ".join(f"{side} {jsonsafe.dumps(value, indent=None).decode()}"
                          for side, value in conflict.sides().items())
        sys.stderr.write(ui.printable(f"git comfy: conflict in {name}: {where} "
                                      f"{conflict.what}: {sides}") + "\n")
    return 1 if conflicts else 0
