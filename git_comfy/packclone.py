"""Cloning a custom node pack's git repository at the commit a bundle pins — a stranger's
address and a stranger's repository, so git runs the tested safe recipe (security notes §2.3):

* the address passes :func:`git_comfy.core.sources.refusal` first, and reaches git after
  ``--``, so nothing in it is read as an option;
* only the https transport is allowed (plus ``file`` or ``http`` when the address itself is one,
  which only a prefix the user listed in ``comfy.allowedSource`` lets through), by ``-c`` and by
  ``GIT_ALLOW_PROTOCOL``, which overrides any ``protocol.*`` setting of the user's;
* no prompts, no credential helpers, no hooks, no fsmonitor, no submodules, no redirect after
  the first request, and no outer repository's ``GIT_*`` variables;
* the pinned commit is checked out detached and verified; there is no fallback to a branch.

git's own messages are captured: a failure is one line naming the address (without any user
name or password) and git's last line, and the half-made clone is removed.
"""

from __future__ import annotations

import os
import shutil

from git_comfy import git, ui
from git_comfy.core import packs, sources
from git_comfy.errors import FatalError

ALLOWED_SOURCE = "comfy.allowedSource"
# variables by which an outer git or the user's shell would steer git elsewhere
_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR",
            "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE",
            "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_ALLOW_PROTOCOL")
_SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "credential.helper=",
         "-c", "core.fsmonitor=false", "-c", "submodule.recurse=false",
         "-c", "http.followRedirects=initial"]


def allowed_sources() -> list[str]:
    """The user's ``comfy.allowedSource`` prefixes (every scope; ``~`` expanded)."""
    code, out, err = git.run(["config", "--type=path", "--get-all", ALLOWED_SOURCE], check=False)
    if code == 1:
        return []
    if code != 0:
        raise FatalError(f"git cannot read {ALLOWED_SOURCE}: {_last_line(err, '')}")
    return [line for line in out.decode("utf-8", "surrogateescape").splitlines() if line]


def _last_line(stderr: bytes, url: str) -> str:
    """git's last message line, with ``url`` shown without user info, fit for one line."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    line = lines[-1].removeprefix("fatal: ").removeprefix("error: ") if lines else "no message"
    if url:
        line = line.replace(url, sources.shown(url))
    return ui.printable(line)


def _protocols(url: str) -> list[str]:
    """https, and the address's own transport when a user's prefix let a file path or an
    http:// address through (refusal() lets nothing else but https reach here)."""
    kind = sources.transport(url)
    return ["https", kind] if kind in ("file", "http") else ["https"]


def _environment(protocols: list[str]) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in _DROPPED
                   and not key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}
    environment.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false",
                       GIT_PROTOCOL_FROM_USER="0", GIT_ALLOW_PROTOCOL=":".join(protocols))
    return environment


def _git(args: list[str], environment: dict[str, str], url: str, failure: str) -> str:
    """stdout of git ARGS; a FatalError of ``failure`` and git's last line when it fails."""
    code, out, err = git.run(args, env=environment, check=False)
    if code != 0:
        raise FatalError(f"{failure}: {_last_line(err, url)}")
    return out.decode("utf-8", "replace").strip()


def clone(url: str, commit: str, into: str) -> None:
    """The repository at ``url`` checked out at ``commit`` in the new folder ``into`` (which
    must not exist); on any failure nothing is left at ``into``."""
    name = ui.printable(sources.shown(url))
    reason = sources.refusal(url, allowed_sources())
    if reason is not None:
        raise FatalError(f"{name} is not cloned: {reason}")
    if not packs.is_commit(commit):
        raise FatalError(f"{name} is not cloned: no pinned commit "
                         f"({ui.printable(commit[:60])!r} is not a 40-hex commit)")
    if os.path.lexists(into):
        raise FatalError(f"{ui.printable(into)} exists; {name} is not cloned over it")
    commit = commit.lower()
    protocols = _protocols(url)
    options = ["-c", "protocol.allow=never", *(arg for kind in protocols
                                               for arg in ("-c", f"protocol.{kind}.allow=always"))]
    environment = _environment(protocols)
    try:
        _git([*options, *_SAFE, "clone", "--quiet", "--no-local", "--no-recurse-submodules",
              "--no-checkout", "--", url, into], environment, url, f"cloning {name} failed")
        here = ["-C", into, *options, *_SAFE]
        if git.run([*here, "cat-file", "-e", f"{commit}^{{commit}}"], env=environment,
                   check=False)[0] != 0:
            _git([*here, "fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "origin",
                  commit], environment, url, f"{name} has no commit {commit}")
        _git([*here, "checkout", "--quiet", "--detach", commit], environment, url,
             f"checking out {commit} of {name} failed")
        head = _git([*here, "rev-parse", "--verify", "HEAD"], environment, url,
                    f"reading the commit of {name} failed")
        if head != commit:
            raise FatalError(f"{name} checked out {head}, not the pinned {commit}")
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise
