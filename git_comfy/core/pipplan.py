"""What installing the packs' Python requirements would do to ComfyUI's interpreter, line by
line, before anything runs (issue 10 part 4, notes/security.md §2.4 (4), seed Edge Case 4).

Each requirement line gets a state:

* installed — an installed version already satisfies it: nothing to do;
* install — the project is not installed;
* conflict — installed at a version the line excludes (``torch==2.1.0`` wanted, 2.0.0 there;
  ``have`` is the installed version, ``verdict.specifier`` the wanted one), and every
  constrained requirement on the GPU stack that is installed: torch and friends were installed
  to match this machine's GPU, so they are kept as they are unless the user says otherwise;
* blocked — pipcheck blocked the line: it is never installed.

Pure: the installed versions are read once by the caller (``pyenv.installed``), so planning 100
lines costs no process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from git_comfy.core import pipcheck

INSTALLED, INSTALL, CONFLICT, BLOCKED = "installed", "install", "conflict", "blocked"


@dataclass(frozen=True)
class Line:
    package: str  # the pack whose requirements file holds the line
    verdict: pipcheck.Verdict
    state: str  # INSTALLED, INSTALL, CONFLICT or BLOCKED
    have: str | None  # the installed version of the project the line names, if any


def plan(lines_by_pack: Mapping[str, Sequence[pipcheck.Verdict]],
         installed: Mapping[str, str]) -> list[Line]:
    """A state for each requirement line of each pack, in order; blank and comment lines, which
    pip skips, are left out. ``installed`` maps PEP 503 normalised names to versions."""
    return [_line(package, verdict, installed)
            for package, verdicts in lines_by_pack.items()
            for verdict in verdicts
            if verdict.name is not None or verdict.verdict == pipcheck.BLOCKED]


def _line(package: str, verdict: pipcheck.Verdict, installed: Mapping[str, str]) -> Line:
    have = installed.get(verdict.name) if verdict.name else None
    return Line(package, verdict, _state(verdict, have), have)


def _state(verdict: pipcheck.Verdict, have: str | None) -> str:
    if verdict.verdict == pipcheck.BLOCKED:
        return BLOCKED
    if have is None:
        return INSTALL
    name = verdict.name or ""
    gpu = name in pipcheck.GPU_STACK or name.startswith(pipcheck.GPU_PREFIX)
    if (gpu and verdict.specifier) or not pipcheck.satisfies(verdict.specifier, have):
        return CONFLICT
    return INSTALLED
