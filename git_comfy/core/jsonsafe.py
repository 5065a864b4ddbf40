"""Strict, bounded JSON for files a user or a stranger may have broken.

``json.loads`` alone raises RecursionError (not ValueError) past ~1000 levels, turns ``1e400`` into
``inf``, accepts ``NaN`` that ComfyUI's own ``JSON.parse`` rejects, keeps the last of duplicate
keys, and will parse 200 MiB into memory. Every such case becomes a :class:`JSONError` here, and
nothing this module writes can contain ``NaN``.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

TYPE_CHECKING = False  # the hook imports this module; typing costs it 2 ms
if TYPE_CHECKING:
    from typing import Any

MAX_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 256
MAX_INT_DIGITS = 20  # ComfyUI seeds reach 2**64 - 1, twenty digits

_UTF8_BOM = b"\xef\xbb\xbf"
# The pre-scan works on bytes with C-speed passes only. It drops the escapes that matter (\\ and
# \"), keeps brackets (folded to [ and ]), quotes and colons, drops the strings, and is left with
# the skeleton of the document: the brackets give the depth, the colons the number of key/value
# pairs (which the parse compares to what it kept, to find duplicate keys without a Python hook
# per object).
_QUOTE_ESCAPE = re.compile(rb'\\[\\"]')
_FOLD_BRACES = bytes.maketrans(b"{}", b"[]")
_ALL_BUT_SKELETON = bytes(b for b in range(256) if b not in b'[]{}":')
_STEP = {ord("["): 1, ord("]"): -1}
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_TOO_MANY_DIGITS = b"0" * (MAX_INT_DIGITS + 1)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class JSONError(ValueError):
    """The input is not JSON this tool accepts; the message says why, and where."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> None:
    raise JSONError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONError(f"integer with {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JSONError(f"number {text[:20]} is out of range")
    return value


def _skeleton(data: bytes) -> bytes:
    """The brackets (as [ and ]) and colons of ``data`` that are outside strings."""
    skeleton = _QUOTE_ESCAPE.sub(b"", data).translate(_FOLD_BRACES, _ALL_BUT_SKELETON)
    # Quotes now alternate open/close, and most strings are an empty "" that one C pass drops
    # (dropping two adjacent quotes never moves a bracket in or out of a string). Then the
    # pieces between the remaining quotes alternate outside/inside; a quote left over opens a
    # string that never ends (a truncated file): nothing after it counts.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])
    return skeleton


def _depth(brackets: bytes) -> int:
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _shallow(brackets: bytes, limit: int) -> bool:
    """True when balanced ``brackets`` nest at most ``limit`` deep. Each pass drops every
    innermost pair, which lowers a balanced sequence's depth by exactly one; real workflows
    need a dozen passes over a shrinking string instead of a Python step per bracket (they read
    it less than twice over in all). False means "count exactly": deeper, unbalanced, or a
    shape that would make the passes read it more than four times over (a hostile file)."""
    budget = 4 * len(brackets)
    for _ in range(limit):
        if not brackets:
            return True
        budget -= len(brackets)
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets) or budget < 0:
            return False
        brackets = peeled
    return not brackets


def nesting_depth(data: bytes) -> int:
    """The deepest bracket nesting outside strings, found without recursion."""
    return _depth(_skeleton(data).replace(b":", b""))


def decode(data: bytes) -> str:
    """Bytes to text: UTF-8 with or without a BOM, nothing else."""
    if len(data) > MAX_BYTES:
        raise JSONError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        raise JSONError("not UTF-8 (UTF-16?); save it as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JSONError(f"not valid UTF-8 (byte {error.start})") from None


def loads(data: bytes) -> Any:
    """Parses untrusted JSON bytes, or raises :class:`JSONError`."""
    text = decode(data)
    skeleton = _skeleton(data)
    pairs = skeleton.count(b":")
    brackets = skeleton.replace(b":", b"") if pairs else skeleton
    if not _shallow(brackets, MAX_DEPTH):
        depth = _depth(brackets)
        if depth > MAX_DEPTH:
            raise JSONError(f"nested {depth} levels deep (at most {MAX_DEPTH})")
    # A Python hook per integer costs a third of the parse; only pay for it when a run of digits
    # (maybe inside a string) is long enough to matter.
    long_digits = _TOO_MANY_DIGITS in data.translate(_DIGITS_AS_ZERO)
    numbers: dict[str, Any] = {
        "parse_constant": _reject_constant,
        "parse_int": _bounded_int if long_digits else None,
        "parse_float": _finite_float,
    }
    kept = 0

    def count(obj: dict[str, Any]) -> dict[str, Any]:
        # object_hook gets the dict json built (fast); object_pairs_hook would build it in
        # Python. A duplicate key leaves fewer pairs kept than the skeleton has colons.
        nonlocal kept
        kept += len(obj)
        return obj

    try:
        try:
            value = json.loads(text, object_hook=count, **numbers)
        except (JSONError, json.JSONDecodeError):
            kept = -1  # again with the check per object: report the first problem, as it was
        if kept != pairs:  # a duplicate key (or an error): parse again, checking each object
            value = json.loads(text, object_pairs_hook=_reject_duplicates, **numbers)
    except json.JSONDecodeError as error:
        # some of json's messages end in " at" ("Unterminated string starting at")
        reason = "empty" if not text.strip() else error.msg.removesuffix(" at")
        raise JSONError(f"{reason} at line {error.lineno} column {error.colno}") from None
    except RecursionError:  # a depth the pre-scan missed (e.g. inside a broken string)
        raise JSONError(f"nested more than {MAX_DEPTH} levels deep") from None
    if _SURROGATE_ESCAPE.search(data):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JSONError("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
    return value


def loads_object(data: bytes) -> dict[str, Any]:
    """Like :func:`loads`, for documents that must be a JSON object (every workflow is)."""
    value = loads(data)
    if not isinstance(value, dict):
        raise JSONError(f"the top level is a JSON {type(value).__name__}, not an object")
    return value


def layout_of(data: bytes) -> str | int | None:
    """The indentation a file was written with: None for one line, else spaces or a tab."""
    newline = data.find(b"\n")
    if newline < 0:
        return None
    line = data[newline + 1 : data.find(b"\n", newline + 1)]
    if line.startswith(b"\t"):
        return "\t"
    return (len(line) - len(line.lstrip(b" "))) or None


def dumps(value: Any, indent: str | int | None = 2) -> bytes:
    """Serialises like the ComfyUI frontend's ``JSON.stringify``: UTF-8, no ASCII escaping, never
    NaN; ``indent=None`` gives one compact line."""
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(
        value, ensure_ascii=False, allow_nan=False, indent=indent, separators=separators
    )
    return text.encode("utf-8")
