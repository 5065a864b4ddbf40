"""A verdict on each pip requirement line a stranger's bundle asks to install
(notes/security.md §2.4, §8 cases 56 to 59).

A requirements file is a saved pip command line: besides requirements it can replace the
package index, trust a host without TLS, install from URLs, VCS checkouts and local paths, pull
in further files and change how pip builds. A bundle should carry plain requirements, so:

* blocked — every pip option, on its own line or after a requirement: each changes where pip
  looks or how it builds for the whole install. The one exception is ``--hash`` after a
  requirement, which only narrows what pip accepts. Also blocked: direct references
  (``name @ url``), bare URLs, VCS (``git+…``), local paths and archive files, ``${VAR}`` (pip
  fills it in from the installing machine's environment), a known-compromised release pinned
  with ``==``/``===``, and a line that is no PEP 508 requirement.
* warn — a specifier that still allows a known-compromised release (a bare name allows them
  all); the GPU stack with any version constraint (it is installed to match the user's
  hardware); exact pins and upper bounds on the packages every node shares (they would change
  the environment under all the other nodes).
* ok — everything else: plain names, extras, markers, lower bounds.

PEP 508 and PEP 440 are read with small regular expressions (``packaging`` is no dependency of
git-comfy): enough to judge a line, and strict, so that what does not parse is blocked rather
than guessed at.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

OK, WARN, BLOCKED = "ok", "warn", "blocked"

# Ultralytics' advisory (December 2024): these PyPI releases ran a crypto miner; 8.3.47 and
# later are clean (notes/security.md §2.1)
COMPROMISED: Mapping[str, frozenset[str]] = MappingProxyType({
    "ultralytics": frozenset({"8.3.41", "8.3.42", "8.3.45", "8.3.46"}),
})
GPU_STACK = frozenset({"torch", "torchvision", "torchaudio", "xformers", "triton"})
GPU_PREFIX = "nvidia-"  # nvidia-cudnn-cu12 …: CUDA libraries matched to the driver
# shared by most nodes; a pin or a cap from one node changes them under all the others.
# opencv-python and opencv-contrib-python (and their -headless) all provide cv2 and conflict.
SHARED = frozenset({
    "numpy", "transformers", "diffusers", "accelerate", "pillow", "protobuf", "huggingface-hub",
    "safetensors", "tokenizers",
})
SHARED_PREFIXES = ("opencv-python", "opencv-contrib-python")
# pip's req_file.py reads these as archive files, not project names
ARCHIVE_EXTENSIONS = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz",
                      ".txz", ".tlz", ".tar.lz", ".tar.lzma")


@dataclass(frozen=True)
class Verdict:
    line: str  # as given (check_all: continued lines joined, as pip reads them)
    verdict: str  # OK, WARN or BLOCKED
    reason: str | None  # one short sentence for WARN and BLOCKED
    name: str | None  # the PEP 503 normalised project name when the line names a project
    specifier: str  # "==8.3.41", ">=1.24,<2"; "" when none


def check(line: str) -> Verdict:
    """The verdict on one logical requirements line (pip's ``\\`` continuations already
    joined: see :func:`check_all`)."""
    if _CONTROL.search(line):
        return Verdict(line, BLOCKED, _CONTROL_REASON, None, "")
    text = _COMMENT.sub("", line).strip()
    if not text:
        return Verdict(line, OK, None, None, "")  # pip skips blank and comment lines
    words = _BLANKS.split(text)  # pip splits on spaces; other blanks stay inside a word
    first_option = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
    requirement = " ".join(words[:first_option])
    source = _source_problem(requirement)
    parsed = None if source else _parse(requirement)
    direct = _DIRECT.match(requirement)
    name = parsed.name if parsed else normalise_name(direct["name"]) if direct else None
    specifier = ",".join(s.operator + s.text for s in parsed.specifiers) if parsed else ""
    problem = ((_options_problem(words[first_option:]) if requirement
                else _option_reason(words[0]))
               or (_ENV_REASON if _ENV.search(text) else None) or source)
    if problem is None and parsed is not None:
        verdict, reason = _judge(parsed)
        return Verdict(line, verdict, reason, name, specifier)
    return Verdict(line, BLOCKED, problem or _UNPARSEABLE, name, specifier)


def check_all(lines: Sequence[str]) -> list[Verdict]:
    """A verdict for each logical line. pip joins a line ending in ``\\`` with the next one
    before reading it (``torch==2.1 \\`` then ``--hash=…``), so such lines get one verdict,
    judged as pip reads them."""
    return [check(line) for line in _logical_lines(lines)]


def satisfies(specifier: str, version: str) -> bool:
    """Whether an installed ``version`` meets ``specifier`` (a :attr:`Verdict.specifier`, such
    as ``>=1.24,<2``): what decides between "installed already" and a conflict. A version that
    is no PEP 440 version satisfies nothing, so it is shown to the user rather than trusted."""
    specifiers = _specifiers(specifier)
    if specifiers is None:
        raise ValueError(specifier)
    try:
        return all(_allows(s, version) for s in specifiers)
    except ValueError:
        return False


def normalise_name(name: str) -> str:
    """A project name as PEP 503 compares them: ``Pillow``, ``pillow_`` … → ``pillow``."""
    return _SEPARATORS.sub("-", name).lower()


# --- lines and options ------------------------------------------------------------------------

_COMMENT = re.compile(r"(?:^|\s+)#.*$")  # pip's COMMENT_RE: "#" at the start or after a space
# pip splits a file with str.splitlines(): any of these inside one line would make it two
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_BLANK = " \t"  # PEP 508's whitespace (line breaks and other controls are refused first)
_BLANKS = re.compile(r"[ \t]+")
_ENV = re.compile(r"\$\{[A-Z0-9_]+\}")  # what pip's expand_env_variables replaces
_SEPARATORS = re.compile(r"[-_.]+")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_DIRECT = re.compile(rf"(?P<name>{_NAME})\s*(?:\[[^\]]*\])?\s*@", re.A)
_VCS = re.compile(r"(?:git|hg|svn|bzr)\+", re.I)
_URL = re.compile(r"[a-z][a-z0-9+.-]+://", re.I)
_FILE_URL = re.compile(r"file:", re.I)
_DRIVE = re.compile(r"[a-z]:", re.I)
_DIGEST = re.compile(r"(?:sha256|sha384|sha512):[0-9a-f]+", re.I)

_CONTROL_REASON = (
    "Contains a control character or line break, which pip would not read as one line.")
_UNPARSEABLE = "Does not parse as a PEP 508 requirement."
_ENV_REASON = "Uses ${…}, which pip fills in from the installing machine's environment."
_VCS_REASON = "Installs from a version-control checkout, building whatever it holds."
_URL_REASON = "Downloads a package from an address the bundle chooses, not from the index."
_LOCAL_REASON = "Installs from a local path or archive file, not from the package index."
_INDEX = "points pip at a package source the bundle chooses"
_FILES = "reads more requirements from a file or URL that is not shown here"
_EDITABLE = "installs an editable source tree, running its build"
_BUILD = "changes how pip picks or builds package files for the whole install"
_OTHER = "a pip option for the whole install; a bundle carries plain requirements only"
_OPTIONS: Mapping[str, str] = MappingProxyType({
    "-i": _INDEX, "--index-url": _INDEX, "--extra-index-url": _INDEX, "--no-index": _INDEX,
    "-f": _INDEX, "--find-links": _INDEX,
    "--trusted-host": "turns off pip's TLS checks for a host the bundle chooses",
    "-r": _FILES, "--requirement": _FILES, "-c": _FILES, "--constraint": _FILES,
    "-e": _EDITABLE, "--editable": _EDITABLE,
    "--no-binary": _BUILD, "--only-binary": _BUILD, "--prefer-binary": _BUILD,
    "--config-settings": _BUILD, "--global-option": _BUILD, "--install-option": _BUILD,
    "--build-option": _BUILD, "--use-pep517": _BUILD, "--no-use-pep517": _BUILD,
    "--no-build-isolation": _BUILD,
    "--pre": "lets pip pick pre-releases for the whole install",
    "--hash": "needs a requirement before it and a sha256, sha384 or sha512 digest",
})


def _logical_lines(lines: Sequence[str]) -> Iterator[str]:
    """pip's join_lines: a line ending in a backslash (and not starting as a comment) goes on
    with the next; the backslashes at its ends are dropped."""
    pending: list[str] = []
    for line in lines:
        if line.endswith("\\") and not _COMMENT.match(line):
            pending.append(line.strip("\\"))
        elif pending:
            yield "".join([*pending, line])
            pending = []
        else:
            yield line
    if pending:
        yield "".join(pending)


def _option_reason(word: str) -> str:
    """Why an option is blocked. optparse takes ``-ihttps://…`` for ``-i https://…`` and any
    unambiguous prefix of a long option (``--extra-index`` …)."""
    option = word.split("=", 1)[0] if word.startswith("--") else word[:2]
    reason = _OPTIONS.get(option)
    if reason is None:
        prefixed = {text for name, text in _OPTIONS.items()
                    if len(option) > 2 and name.startswith(option)}
        reason = prefixed.pop() if len(prefixed) == 1 else _OTHER
    return f"Sets {option}, {reason}." if reason is _OTHER else f"Sets {option}, which {reason}."


def _options_problem(words: Sequence[str]) -> str | None:
    """Why the words after a requirement are blocked, or None when they are only hash pins
    (``--hash=sha256:…`` or ``--hash sha256:…``)."""
    remaining = iter(words)
    for word in remaining:
        if word == "--hash":
            digest = next(remaining, "")
        elif word.startswith("--hash="):
            digest = word.removeprefix("--hash=")
        else:  # pip would ignore words that are no option: they say nothing good either
            return _option_reason(word) if word.startswith("-") else _UNPARSEABLE
        if not _DIGEST.fullmatch(digest):
            return _option_reason("--hash")
    return None


def _source_problem(requirement: str) -> str | None:
    """Why ``requirement`` would come from somewhere other than the user's package index."""
    direct = _DIRECT.match(requirement)
    target = requirement[direct.end():].strip() if direct else requirement
    before_marker = target.split(";", 1)[0].strip()
    if _VCS.match(target):
        return _VCS_REASON
    if _FILE_URL.match(target):
        return _LOCAL_REASON
    if _URL.match(target):
        return _URL_REASON
    if (before_marker.startswith((".", "/", "\\", "~")) or "/" in before_marker
            or "\\" in before_marker or _DRIVE.match(before_marker)
            or before_marker.lower().endswith(ARCHIVE_EXTENSIONS)):
        return _LOCAL_REASON
    return _URL_REASON if direct else None


# --- PEP 508 ----------------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    rf"(?P<name>{_NAME})\s*(?:\[(?P<extras>[^\]]*)\])?\s*(?P<specifiers>[^;]*?)\s*"
    r"(?:;(?P<marker>.*))?", re.A | re.S)
_EXTRA = re.compile(_NAME, re.A)
_SPECIFIER = re.compile(r"(?P<operator>===|~=|==|!=|<=|>=|<|>)\s*(?P<version>[^\s,;()]+)",
                        re.A)
_MARKER_TOKEN = re.compile(
    r"""\s*(?:(?P<value>'[^']*'|"[^"]*")|(?P<op>===|[=!<>~]=|[<>]|not\s+in\b|in\b)"""
    r"|(?P<bool>(?:and|or)\b)|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))", re.A)
_MARKER_VARIABLES = frozenset({
    "python_version", "python_full_version", "os_name", "sys_platform", "platform_release",
    "platform_system", "platform_version", "platform_machine", "platform_python_implementation",
    "implementation_name", "implementation_version", "extra", "extras", "dependency_groups",
    # the legacy spellings packaging still accepts
    "os.name", "sys.platform", "platform.version", "platform.machine",
    "platform.python_implementation", "python_implementation",
})
# (state, token) → next state: term := "(" term ")" | value op value, joined by and/or
_MARKER_GRAMMAR: Mapping[tuple[str, str], str] = MappingProxyType({
    ("term", "("): "term", ("term", "value"): "op", ("op", "op"): "value",
    ("value", "value"): "end", ("end", ")"): "end", ("end", "bool"): "term",
})


@dataclass(frozen=True)
class _Specifier:
    operator: str
    text: str  # the version as written
    version: _Version | None  # None for "===", which compares strings


@dataclass(frozen=True)
class _Requirement:
    name: str  # normalised
    specifiers: tuple[_Specifier, ...]


def _parse(text: str) -> _Requirement | None:
    match = _REQUIREMENT.fullmatch(text)
    if match is None:
        return None
    extras, marker = match["extras"], match["marker"]
    if extras is not None and extras.strip(_BLANK) and not all(
            _EXTRA.fullmatch(extra.strip(_BLANK)) for extra in extras.split(",")):
        return None
    specifiers = _specifiers(match["specifiers"])
    if specifiers is None or (marker is not None and not _valid_marker(marker)):
        return None
    return _Requirement(normalise_name(match["name"]), specifiers)


def _specifiers(text: str) -> tuple[_Specifier, ...] | None:
    """``>=1.0, <2`` or ``(>=1.0)``; None when it is no PEP 440 specifier set."""
    if text.startswith("("):
        if not text.endswith(")"):
            return None
        text = text[1:-1].strip(_BLANK)
    if not text:
        return ()
    found = []
    for part in text.split(","):
        match = _SPECIFIER.fullmatch(part.strip(_BLANK))
        if match is None:
            return None
        op, written = match["operator"], match["version"]
        try:
            version = None if op == "===" else _version(written)
        except ValueError:
            return None
        if version is not None and not _fits(op, version):
            return None
        found.append(_Specifier(op, written, version))
    return tuple(found)


def _valid_marker(marker: str) -> bool:
    state, depth, position, end = "term", 0, 0, len(marker.rstrip(_BLANK))
    while position < end:
        match = _MARKER_TOKEN.match(marker, position)
        if match is None:
            return False
        position = match.end()
        word = match["word"]
        if word is not None and word not in _MARKER_VARIABLES:
            return False
        kind = ("value" if match["value"] is not None or word is not None
                else "op" if match["op"] else "bool" if match["bool"] else match["paren"])
        step = _MARKER_GRAMMAR.get((state, kind))
        depth += 1 if kind == "(" else -1 if kind == ")" else 0
        if step is None or depth < 0:
            return False
        state = step
    return state == "end" and depth == 0


# --- PEP 440 ----------------------------------------------------------------------------------

_VERSION = re.compile(r"""
    v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)
    (?:(?P<wildcard>\.\*)|
      (?:[-_.]?(?P<pre>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
      (?:-(?P<post_implicit>[0-9]+)|[-_.]?(?P<post>post|rev|r)[-_.]?(?P<post_n>[0-9]+)?)?
      (?:[-_.]?(?P<dev>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
      (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    )""", re.A | re.I | re.X)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
# epoch, release without trailing zeros, pre-release, post-release, dev-release: packaging's
# _cmpkey with its infinities spelled as ranks
_Key = tuple[int, tuple[int, ...], tuple[int, int], int, tuple[int, int]]
_COMPARE: Mapping[str, Callable[[_Key, _Key], bool]] = MappingProxyType({
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
})


@dataclass(frozen=True)
class _Version:
    epoch: int
    release: tuple[int, ...]
    key: _Key
    local: bool
    wildcard: bool


def _version(text: str) -> _Version:
    """A PEP 440 version (``1.2.*`` as well), or ValueError."""
    match = _VERSION.fullmatch(text)
    if match is None:
        raise ValueError(text)
    epoch = int(match["epoch"] or 0)
    release = tuple(int(part) for part in match["release"].split("."))
    post_n = match["post_implicit"] or match["post_n"] or "0"
    post = int(post_n) if match["post_implicit"] or match["post"] else -1
    dev = (0, int(match["dev_n"] or 0)) if match["dev"] else (1, 0)
    if match["pre"]:
        pre = (_PRE_RANK[match["pre"].lower()], int(match["pre_n"] or 0))
    else:  # a dev release sorts before the pre-releases of its version, a final one after
        pre = (-1, 0) if match["dev"] and post < 0 else (3, 0)
    trimmed = release
    while trimmed and trimmed[-1] == 0:
        trimmed = trimmed[:-1]
    return _Version(epoch, release, (epoch, trimmed, pre, post, dev), bool(match["local"]),
                    bool(match["wildcard"]))


def _fits(op: str, version: _Version) -> bool:
    """PEP 440: only ``==`` and ``!=`` take a wildcard or a local label; ``~=`` needs two
    release segments."""
    if version.wildcard or version.local:
        return op in ("==", "!=")
    return op != "~=" or len(version.release) >= 2


def _allows(specifier: _Specifier, candidate: str) -> bool:
    """Whether ``specifier`` admits ``candidate``, a final release (no pre, post, dev or local
    part), so PEP 440's exclusions of pre- and post-releases never apply."""
    wanted, version = specifier.version, _version(candidate)
    if wanted is None:  # "===": the strings, compared as packaging does
        return specifier.text.lower() == candidate.lower()
    if specifier.operator in ("==", "!="):
        equal = (_prefix(version, wanted.epoch, wanted.release) if wanted.wildcard
                 else not wanted.local and version.key == wanted.key)
        return equal == (specifier.operator == "==")
    if specifier.operator == "~=":
        return version.key >= wanted.key and _prefix(version, wanted.epoch, wanted.release[:-1])
    return _COMPARE[specifier.operator](version.key, wanted.key)


def _prefix(version: _Version, epoch: int, release: tuple[int, ...]) -> bool:
    """Whether ``version`` is in ``release.*`` (zero-padded: 1.0 is in 1.0.0.*)."""
    padded = version.release + (0,) * len(release)
    return version.epoch == epoch and padded[:len(release)] == release


# --- verdicts ---------------------------------------------------------------------------------


def _judge(requirement: _Requirement) -> tuple[str, str | None]:
    name, specifiers = requirement.name, requirement.specifiers
    bad = sorted(COMPROMISED.get(name, ()), key=lambda text: _version(text).key)
    allowed = [text for text in bad if all(_allows(s, text) for s in specifiers)]
    if allowed:
        if any(s.operator == "===" or (s.operator == "==" and s.version is not None
                                       and not s.version.wildcard) for s in specifiers):
            return BLOCKED, f"Pins {name} {allowed[0]}, a known-compromised release."
        return WARN, (f"Allows known-compromised {name} releases ({', '.join(allowed)}); "
                      "require a version outside them.")
    if specifiers and (name in GPU_STACK or name.startswith(GPU_PREFIX)):
        return WARN, (f"Constrains {name}, which is installed to match this machine's GPU; "
                      "changing it can break ComfyUI.")
    if name in SHARED or name.startswith(SHARED_PREFIXES):
        operators = {s.operator for s in specifiers}
        if operators & {"==", "==="}:
            return WARN, f"Pins {name}, which would change it under every other node."
        if operators & {"<", "<=", "~="}:
            return WARN, f"Caps {name}, which can downgrade it under every other node."
    return OK, None
