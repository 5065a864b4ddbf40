"""``.comfydockignore``: which files of a dev node stay out of a bundle, in ``.gitignore`` syntax
with git's own meaning (``gitignore(5)``, git's ``dir.c`` and ``wildmatch.c``), so that what a
user knows from ``.gitignore`` holds here too:

* blank lines and ``#`` comments are skipped; ``\\#`` and ``\\!`` start a pattern with a literal
  ``#`` or ``!``; trailing spaces are trimmed unless escaped (``\\ ``); a CR before the newline
  and a UTF-8 byte order mark are dropped;
* ``!`` negates; the last pattern that matches decides; a path under an excluded folder stays
  excluded whatever later patterns say (git never looks inside an excluded folder);
* a pattern without a ``/`` (a trailing one aside) matches a name at any depth; with a leading
  or middle ``/`` it matches the whole path from the ignore file's folder;
* a trailing ``/`` matches folders only;
* ``*`` and ``?`` match within one path component, ``[...]`` is a set (``!`` or ``^`` negates,
  ranges, ``[:alpha:]`` classes), ``\\`` escapes; ``**/``, ``/**`` and ``/**/`` cross folders,
  any other ``**`` is a ``*``.

Matching works on the UTF-8 bytes of a path, case-sensitively, as git does on Linux (``?`` is
one byte, not one character). Each pattern is compiled to one regular expression once.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

_SPECIAL = b"*?[\\"  # git's glob specials: the literal prefix of a pattern ends at the first
_CLASSES = {  # wildmatch's [:name:] classes, ASCII only like git's ctype
    b"alnum": string.ascii_letters + string.digits,
    b"alpha": string.ascii_letters,
    b"blank": " \t",
    b"cntrl": "".join(map(chr, [*range(32), 127])),
    b"digit": string.digits,
    b"graph": "".join(map(chr, range(33, 127))),
    b"lower": string.ascii_lowercase,
    b"print": "".join(map(chr, range(32, 127))),
    b"punct": string.punctuation,
    b"space": " \t\n\r\v\f",
    b"upper": string.ascii_uppercase,
    b"xdigit": string.hexdigits,
}
_ALL_BYTES = frozenset(range(1, 256))  # a path never holds NUL


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[bytes]
    negative: bool
    folders_only: bool
    anywhere: bool  # no "/": matched against the last path component


class Ignore:
    """The compiled patterns of one ignore file; paths are relative to the file's folder."""

    def __init__(self, patterns: tuple[_Pattern, ...]) -> None:
        self._patterns = patterns

    def verdict(self, relpath: str, is_dir: bool) -> bool | None:
        """What the last pattern matching ``relpath`` itself says (True: ignored, False:
        re-included by ``!``), or None when none matches. Folders above it are not looked at:
        a walk that skips excluded folders (or :meth:`matches`) takes care of them."""
        path = relpath.encode("utf-8", "surrogateescape")
        name = path.rpartition(b"/")[2]
        for pattern in reversed(self._patterns):
            if pattern.folders_only and not is_dir:
                continue
            if pattern.regex.fullmatch(name if pattern.anywhere else path):
                return not pattern.negative
        return None

    def matches(self, relpath: str, is_dir: bool) -> bool:
        """Whether git would ignore ``relpath`` (``/``-separated, no leading or trailing ``/``):
        it or one of the folders above it is excluded."""
        parts = relpath.split("/")
        for end in range(1, len(parts)):
            if self.verdict("/".join(parts[:end]), True):
                return True
        return bool(self.verdict(relpath, is_dir))


def compile(text: str) -> Ignore:
    """The patterns of an ignore file's text (decoded with ``surrogateescape`` when it is not
    UTF-8: patterns match bytes)."""
    patterns = []
    for line in text.removeprefix("\ufeff").split("\n"):
        pattern = _parse(line.removesuffix("\r").encode("utf-8", "surrogateescape"))
        if pattern is not None:
            patterns.append(pattern)
    return Ignore(tuple(patterns))


def _parse(line: bytes) -> _Pattern | None:
    """One line as git's ``add_pattern`` reads it; None for blanks, comments and patterns that
    can never match (empty, a dangling ``\\`` or an unclosed ``[``)."""
    if line.startswith(b"#"):
        return None
    line = _trim_trailing_spaces(line)
    negative = line.startswith(b"!")
    line = line[negative:]
    folders_only = line.endswith(b"/")
    line = line[:-1] if folders_only else line
    anywhere = b"/" not in line
    if not anywhere and line.startswith(b"/"):
        line = line[1:]
    if not line:
        return None
    prefix = next((i for i, byte in enumerate(line) if byte in _SPECIAL), len(line))
    regex = _translate(line, prefix)
    if regex is None:
        return None
    return _Pattern(re.compile(regex, re.DOTALL), negative, folders_only, anywhere)


def _trim_trailing_spaces(line: bytes) -> bytes:
    """git's ``trim_trailing_spaces``: the run of spaces at the end goes, unless the first of
    them is escaped; a line ending in a lone ``\\`` is left alone."""
    last_space = None
    i = 0
    while i < len(line):
        if line[i] == 0x20:
            last_space = i if last_space is None else last_space
        elif line[i] == 0x5C:
            i += 1
            if i == len(line):
                return line
            last_space = None
        else:
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def _translate(pattern: bytes, prefix: int) -> bytes | None:
    """The regular expression ``wildmatch`` (with ``WM_PATHNAME``) amounts to, or None when the
    pattern can never match. ``prefix`` is where git's literal prefix ends: git matches the rest
    as a pattern of its own, so a ``**`` right there counts as one at the start."""
    out = []
    i, end = 0, len(pattern)
    while i < end:
        byte = pattern[i]
        if byte == 0x2A:  # *
            stars = i
            while i < end and pattern[i] == 0x2A:
                i += 1
            after = pattern[i:i + 1]
            starts = stars in (0, prefix) or pattern[stars - 1] == 0x2F
            if i - stars == 1 or not starts or after not in (b"", b"/", b"\\"):
                out.append(rb"[^/]*")
            elif after == b"/":
                out.append(rb"(?:.*/)?")
                i += 1
            elif after == b"\\" and pattern[i + 1:i + 2] != b"/":
                out.append(rb"[^/]*")
            else:
                out.append(rb".*")
        elif byte == 0x3F:  # ?
            out.append(rb"[^/]")
            i += 1
        elif byte == 0x5B:  # [
            found = _bracket(pattern, i)
            if found is None:
                return None
            part, i = found
            out.append(part)
        elif byte == 0x5C:  # \
            if i + 1 == end:
                return None
            out.append(re.escape(pattern[i + 1:i + 2]))
            i += 2
        else:
            out.append(re.escape(pattern[i:i + 1]))
            i += 1
    return b"".join(out)


def _bracket(pattern: bytes, start: int) -> tuple[bytes, int] | None:
    """The set at ``pattern[start] == "["`` as a regex class and the index after its ``]``,
    read exactly like wildmatch reads it (a ``]`` right after ``[`` or ``[!`` is literal, ``-``
    makes a range only between two members); None when it is unclosed or names an unknown
    ``[:class:]``, which makes git's whole pattern fail."""
    end = len(pattern)
    i = start + 1
    negated = pattern[i:i + 1] in (b"!", b"^")
    i += negated
    members: set[int] = set()
    previous = 0
    while True:
        if i >= end:
            return None
        byte = pattern[i]
        if byte == 0x5C:  # \
            i += 1
            if i >= end:
                return None
            byte = pattern[i]
            members.add(byte)
        elif byte == 0x2D and previous and i + 1 < end and pattern[i + 1] != 0x5D:  # a-z
            i += 1
            if pattern[i] == 0x5C:
                i += 1
                if i >= end:
                    return None
            members.update(range(previous, pattern[i] + 1))
            byte = 0
        elif byte == 0x5B and pattern[i + 1:i + 2] == b":":  # [:class:]
            close = pattern.find(b"]", i + 2)
            if close < 0:
                return None
            if close - (i + 2) >= 1 and pattern[close - 1] == 0x3A:
                chars = _CLASSES.get(pattern[i + 2:close - 1])
                if chars is None:
                    return None
                members.update(chars.encode("ascii"))
                byte, i = 0, close
            else:
                members.add(byte)
        else:
            members.add(byte)
        previous = byte
        i += 1
        if pattern[i:i + 1] == b"]":
            break
    allowed = (_ALL_BYTES - members if negated else members & _ALL_BYTES) - {0x2F}
    if not allowed:
        return rb"(?!)", i + 1
    return b"[" + b"".join(re.escape(bytes([b])) for b in sorted(allowed)) + b"]", i + 1
