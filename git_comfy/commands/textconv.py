"""``git comfy textconv FILE``: the text form of a workflow, for git's ``comfy`` diff driver
(``git diff``, ``git log -p`` and ``git show`` on ``.cec/workflows/``; init registers it).

git runs it once per version it shows (cached in ``refs/notes/textconv/comfy``), so it must be
quick and must never fail on a file it cannot read as a workflow: a half-saved or foreign file
is printed as it is, and git diffs its bytes.
"""

from __future__ import annotations

import sys

from git_comfy.errors import FatalError


def run(*, path: str) -> int:
    from git_comfy.core import graph, jsonsafe, textform, view

    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise FatalError(f"cannot read {path}: {error.strerror}") from None
    try:
        text = textform.render(view.build(graph.parse(jsonsafe.loads_object(data))))
    except (jsonsafe.JSONError, graph.WorkflowError):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    sys.stdout.write(text)
    return 0
