"""ComfyUI's own Python interpreter: finding it, reading what it has installed, recording that,
installing a bundle's requirements into it, and making a separate environment beside it
(issue 10 part 4, notes/security.md §2.4, seed Edge Case 4).

The requirements go into the interpreter ComfyUI runs with, never into git-comfy's own. pip
runs with its usual environment (the user's ``PIP_INDEX_URL``, ``PIP_NO_INDEX`` … apply), from a
fresh private folder (``python -m pip`` puts the current folder on ``sys.path``), wheels only
unless builds are allowed, and never with ``--trusted-host``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from git_comfy import atomic, git
from git_comfy.core import pipcheck
from git_comfy.errors import FatalError
from git_comfy.ui import printable

MAX_LISTING = 16 * 1024 * 1024  # the installed map of a huge environment is well under 1 MiB
_TAIL = 64 * 1024  # how much of a failed command's stderr is searched for its last error
_CHECK_TIMEOUT = 120.0  # starting an interpreter on a cold disk; pip install has none
# importlib.metadata's first distribution of a name is the one an import would find
_LISTING = (
    "import importlib.metadata as m, json, re, sys\n"
    "found = {}\n"
    "for d in m.distributions():\n"
    "    name = d.metadata['Name']\n"
    "    if name:\n"
    "        found.setdefault(re.sub(r'[-_.]+', '-', name).lower(), d.version)\n"
    "json.dump(found, sys.stdout)\n"
)
_SITE_DIRS = "import json, site, sys\njson.dump(site.getsitepackages(), sys.stdout)\n"
_PURELIB = "import json, sys, sysconfig\njson.dump(sysconfig.get_paths()['purelib'], sys.stdout)\n"
# what a name or version must look like to become a line of a requirements file
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]*")
_HOW_TO_SET = "set it with: git config comfy.python PATH"


@dataclass(frozen=True)
class Interpreter:
    python: str  # the executable
    how: str  # how it was found, for the summary: "git config comfy.python", "ComfyUI's venv/" …


def find(comfyui: str) -> Interpreter:
    """The interpreter ComfyUI runs with: ``comfy.python``, else a ``venv/`` or ``.venv/``
    inside ComfyUI, else the portable build's ``python_embeded/`` beside it. Never git-comfy's
    own: installing there would change nothing ComfyUI sees."""
    configured = git.config_get("comfy.python", path=True)
    if configured is not None:
        if not os.path.isfile(configured):
            raise FatalError(printable(f"comfy.python is {configured}, which does not exist; "
                                       f"{_HOW_TO_SET}"))
        code, _out, last = _run([configured, "-I", "-c", ""], timeout=_CHECK_TIMEOUT)
        if code != 0:
            raise FatalError(printable(f"comfy.python is {configured}, which does not run "
                                       f"({last}); {_HOW_TO_SET}"))
        return Interpreter(configured, "git config comfy.python")
    portable = os.path.join(os.path.dirname(os.path.abspath(comfyui)), "python_embeded",
                            "python.exe")
    candidates = [(venv_python(os.path.join(comfyui, "venv")), "ComfyUI's venv/"),
                  (venv_python(os.path.join(comfyui, ".venv")), "ComfyUI's .venv/"),
                  (portable, "the portable build's python_embeded/")]
    for python, how in candidates:
        if os.path.isfile(python):
            return Interpreter(python, how)
    raise FatalError(printable(f"no Python for ComfyUI at {comfyui} (no venv/ or .venv/ in it, "
                               f"no python_embeded/ beside it); {_HOW_TO_SET}"))


def venv_python(folder: str) -> str:
    """The interpreter of the virtual environment in ``folder``."""
    if os.name == "nt":
        return os.path.join(folder, "Scripts", "python.exe")
    return os.path.join(folder, "bin", "python")


def installed(interpreter: Interpreter) -> dict[str, str]:
    """``{PEP 503 name: version}`` of every distribution the interpreter sees, read in one
    process (``-I``: neither the current folder nor ``PYTHON*`` variables change the answer).
    Entries that could not be a requirement line (a name or version with other characters)
    are left out, so that what this returns can be written to a requirements file."""
    found = _json(interpreter, _LISTING, "packages")
    if not isinstance(found, dict):
        raise FatalError(printable(f"cannot read the packages of {interpreter.python}"))
    return {name: version for name, version in found.items()
            if isinstance(version, str) and _NAME.fullmatch(name) and _VERSION.fullmatch(version)}


def freeze(interpreter: Interpreter, where: str) -> str:
    """Records the interpreter's installed versions as ``name==version`` lines in the file
    ``where`` and returns its path: written before the interpreter changes, so the summary can
    say how to go back (``pip install -r`` that file). Read with importlib.metadata rather than
    ``pip freeze``: an interpreter made by uv may have no pip."""
    lines = [f"{name}=={version}\n" for name, version in sorted(installed(interpreter).items())]
    header = (f"# the packages of {printable(interpreter.python)} before git comfy import "
              "changed them\n")
    atomic.write(where, "".join([header, *lines]).encode("utf-8"))
    return where


def install(interpreter: Interpreter, lines: Sequence[str], *, allow_build: bool) -> None:
    """Installs requirement lines into the interpreter with ``uv pip`` when uv is on PATH, else
    with its own pip. The file pip reads is written to a fresh private folder, never one the
    bundle wrote, and pip runs from there. A blocked line is refused here too: installing one is
    never the right outcome, whatever the caller did."""
    for line in lines:
        verdict = pipcheck.check(line)
        if verdict.verdict == pipcheck.BLOCKED:
            raise FatalError(printable(f"refusing to install {line!r}: {verdict.reason}"))
    with tempfile.TemporaryDirectory(prefix="git-comfy-pip-") as folder:
        requirements = os.path.join(folder, "requirements.txt")
        atomic.write(requirements, "".join(f"{line}\n" for line in lines).encode("utf-8"),
                     durable=False, mode=0o600)
        uv = shutil.which("uv")
        if uv is not None:
            argv = [uv, "pip", "install", "--python", interpreter.python, "-r", requirements]
        else:
            argv = [interpreter.python, "-m", "pip", "install", "--no-input",
                    "--disable-pip-version-check", "-r", requirements]
        if not allow_build:  # building an sdist runs its setup code (pypa/pip#7325)
            argv += ["--only-binary", ":all:"]
        code, _out, last = _run(argv, cwd=folder)
    if code != 0:
        tool = "uv pip" if uv is not None else "pip"
        raise FatalError(printable(f"{tool} install into {interpreter.python} failed: {last}"))


def separate(interpreter: Interpreter, folder: str) -> Interpreter:
    """Edge Case 4's "separate environment for this workflow": a virtual environment in
    ``folder`` that also sees every package of ``interpreter``, behind its own. ``python -m venv``
    run by a venv's interpreter builds on the base Python, so ``--system-site-packages`` alone
    would hide ComfyUI's venv; a ``.pth`` file adds its site-packages after the new ones. No pip
    of its own: the one ComfyUI's environment has is seen, installs into the new environment and
    leaves ComfyUI's packages alone (they are outside it)."""
    site_dirs = _json(interpreter, _SITE_DIRS, "site-packages")
    if not isinstance(site_dirs, list) or not all(isinstance(d, str) for d in site_dirs):
        raise FatalError(printable(f"cannot read the site-packages of {interpreter.python}"))
    folder = os.path.abspath(folder)
    code, _out, last = _run([interpreter.python, "-I", "-m", "venv", "--system-site-packages",
                             "--without-pip", folder], timeout=_CHECK_TIMEOUT)
    python = venv_python(folder)
    if code != 0 or not os.path.isfile(python):
        raise FatalError(printable(f"cannot make a Python environment in {folder}: {last}"))
    created = Interpreter(python, f"a separate environment in {folder}")
    purelib = _json(created, _PURELIB, "site-packages")
    if not isinstance(purelib, str) or not os.path.isabs(purelib):
        raise FatalError(printable(f"cannot read the site-packages of {python}"))
    # a .pth line starting with "import" would run: only absolute paths are written
    paths = [f"{d}\n" for d in site_dirs if os.path.isabs(d) and "\n" not in d]
    atomic.write(os.path.join(purelib, "_git_comfy_comfyui.pth"), "".join(paths).encode("utf-8"))
    return created


def _json(interpreter: Interpreter, script: str, what: str) -> object:
    """What ``script``, run by the interpreter, printed as JSON."""
    code, out, last = _run([interpreter.python, "-I", "-c", script], timeout=_CHECK_TIMEOUT,
                           limit=MAX_LISTING)
    if code != 0:
        raise FatalError(printable(f"cannot read the {what} of {interpreter.python}: {last}"))
    try:
        return json.loads(out)
    except ValueError:
        raise FatalError(printable(f"cannot read the {what} of {interpreter.python}: "
                                   "it printed no JSON")) from None


def _run(argv: Sequence[str], *, cwd: str | None = None, timeout: float | None = None,
         limit: int = 0) -> tuple[int, bytes, str]:
    """Runs a command with its output in temporary files, not memory (pip prints a lot), and
    returns (exit code, stdout, the last error line of stderr). stdout is read only when a
    ``limit`` is given, and more than ``limit`` bytes of it is an error."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                  cwd=cwd, timeout=timeout, check=False).returncode
        except OSError as error:
            raise FatalError(printable(f"cannot run {argv[0]}: {error.strerror or error}"),
                             ) from None
        except subprocess.TimeoutExpired:
            raise FatalError(printable(f"{argv[0]} did not finish within {timeout:.0f} s"),
                             ) from None
        out.seek(0)
        printed = out.read(limit + 1) if limit else b""
        err.seek(max(0, err.seek(0, os.SEEK_END) - _TAIL))
        tail = err.read().decode("utf-8", "replace")
    if len(printed) > limit:
        raise FatalError(printable(f"{argv[0]} printed more than {limit} bytes"))
    return code, printed, _last_error(tail)


def _last_error(stderr: str) -> str:
    """pip's (or uv's) own last ``ERROR:`` line, else the last line it printed."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    last = errors[-1][len("error:"):].strip() if errors else lines[-1] if lines else ""
    return last or "no message"
