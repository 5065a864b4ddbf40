"""``jsonsafe``: every hostile case of notes/security.md §7 ends in a :class:`JSONError` (never a
RecursionError, a bare ValueError or a silent ``inf``), and what it writes is always valid JSON."""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

import pytest

from git_comfy.core import jsonsafe
from git_comfy.core.jsonsafe import JSONError


def _nested(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _rejected(data: bytes, *fragments: str) -> str:
    with pytest.raises(JSONError) as caught:
        jsonsafe.loads(data)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "\n" not in message
    return message


# --- nesting ----------------------------------------------------------------------------------


def test_the_depth_limit_is_above_every_real_workflow_and_below_python_s_recursion() -> None:
    # real workflows (subgraphs in subgraphs) nest about 10 deep; json.loads recurses past ~1000
    assert 64 <= jsonsafe.MAX_DEPTH < 900


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [1, 10, 200, jsonsafe.MAX_DEPTH])
def test_nesting_up_to_the_limit_is_accepted(kind: str, depth: int) -> None:
    value = jsonsafe.loads(_nested(depth, kind))
    for _ in range(depth - 1 if kind == "array" else depth):
        value = value[0] if kind == "array" else value["a"]
    assert value == ([] if kind == "array" else 1)


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [jsonsafe.MAX_DEPTH + 1, 500, 1000, 5000, 100_000])
def test_deeper_nesting_is_a_json_error_not_a_recursion_error(kind: str, depth: int) -> None:
    _rejected(_nested(depth, kind), "nested", str(depth))


def test_deep_nesting_that_is_also_truncated_is_a_json_error() -> None:
    with pytest.raises(JSONError):
        jsonsafe.loads(b"[" * 100_000)
    with pytest.raises(JSONError):
        jsonsafe.loads(b'{"a": "' + b"[" * 100_000)


@pytest.mark.parametrize(("data", "depth"), [
    (b'{"a": "[[[[[[[[[[{{{{{{{{"}', 1),
    (b'{"a": "]]]]}}}}"}', 1),
    (b'["\\"[[[[", [["x"]]]', 3),
    (b'["\\\\", [[[]]]]', 4),                # an escaped backslash does not escape the quote
    (b'["\\\\\\"[[[["]', 1),                  # \\ then \" : still inside the string
    (b'{"k\\"[{": {"v": "}]\\u005b"}}', 2),
    (b'"' + b"[" * 100_000 + b'"', 0),        # brackets inside one string
])
def test_brackets_and_escaped_quotes_inside_strings_do_not_count(data: bytes,
                                                                 depth: int) -> None:
    assert jsonsafe.nesting_depth(data) == depth
    json.loads(data)  # the cases are valid JSON
    jsonsafe.loads(data)


def test_a_string_full_of_brackets_at_the_limit_is_accepted() -> None:
    inner = b'"' + b"[{" * 10_000 + b'\\"' + b"]}" * 10_000 + b'"'
    data = b"[" * jsonsafe.MAX_DEPTH + inner + b"]" * jsonsafe.MAX_DEPTH
    value: Any = jsonsafe.loads(data)
    for _ in range(jsonsafe.MAX_DEPTH):
        value = value[0] if isinstance(value, list) else value
    assert isinstance(value, str) and value.startswith("[{[{")


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["18446744073709551615", "-18446744073709551615",
                                  "99999999999999999999", "0", "-0"])
def test_integers_up_to_twenty_digits_are_exact(text: str) -> None:
    assert jsonsafe.loads(f'{{"seed": {text}}}'.encode())["seed"] == int(text)


@pytest.mark.parametrize("text", ["100000000000000000000", "-184467440737095516150",
                                  "9" * 4300, "9" * 4301, "1" * 1_000_000])
def test_integers_of_twenty_one_digits_or_more_are_rejected(text: str) -> None:
    digits = len(text.lstrip("-"))
    _rejected(f"[{text}]".encode(), f"{digits} digits")


def test_long_digit_runs_in_strings_and_fractions_are_fine() -> None:
    digits = "1" * 5000
    value = jsonsafe.loads(f'{{"hash": "{digits}", "x": 0.{digits}, "y": 1.5e3}}'.encode())
    assert value["hash"] == digits and 0.1 < value["x"] < 0.2 and value["y"] == 1500.0
    assert jsonsafe.loads(b"[123456789012345678901.5]") == [123456789012345678901.5]


@pytest.mark.parametrize("text", ["1e400", "-1e400", "1e999999999", "-1.5E+309"])
def test_overflowing_floats_are_rejected(text: str) -> None:
    _rejected(f'{{"x": {text}}}'.encode(), "out of range")


def test_tiny_floats_and_negative_zero_are_kept() -> None:
    value = jsonsafe.loads(b"[1e-400, -0.0, 0.1]")
    assert value[0] == 0.0 and math.copysign(1, value[1]) == -1 and value[2] == 0.1


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_rejected(text: str) -> None:
    _rejected(f'{{"cfg": {text}}}'.encode(), text)


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b'{"a": 1, "a": 2}', b'{"a": 1, "a": 1}',
                                  b'{"n": [{"id": 1, "b": {"x": 0, "x": 0}}]}'])
def test_duplicate_keys_are_rejected(data: bytes) -> None:
    _rejected(data, "duplicate key")


def test_equal_keys_in_different_objects_are_fine() -> None:
    assert jsonsafe.loads(b'[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]


# --- encodings --------------------------------------------------------------------------------


def test_utf8_with_a_bom_is_accepted() -> None:
    assert jsonsafe.loads(codecs.BOM_UTF8 + '{"t": "ü"}'.encode()) == {"t": "ü"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_rejected(encoding: str) -> None:
    _rejected('{"t": "x"}'.encode(encoding), "UTF-8")


@pytest.mark.parametrize("data", [b'{"t": "\xff"}', b'{"t": "\xc3"}', b'{"t": "\xed\xa0\x80"}',
                                  b'{"t": "caf\xe9"}'])
def test_invalid_utf8_is_rejected(data: bytes) -> None:
    _rejected(data, "UTF-8")


@pytest.mark.parametrize("data", [b'["\\ud800"]', b'["\\uDFFF"]', b'{"\\udc00": 1}',
                                  b'["a\\ud83d"]', b'["\\ude00\\ud83d"]'])
def test_lone_surrogates_are_rejected(data: bytes) -> None:
    _rejected(data, "surrogate")


def test_surrogate_pairs_and_escaped_backslashes_are_fine() -> None:
    assert jsonsafe.loads(b'["\\ud83d\\ude00"]') == ["\U0001f600"]
    assert jsonsafe.loads(b'["\\\\ud800"]') == ["\\ud800"]


def test_non_ascii_text_is_kept() -> None:
    text = "Ünï cödé — 灯台 \U0001f30a \u202e"
    assert jsonsafe.loads(json.dumps({"t": text}, ensure_ascii=False).encode()) == {"t": text}


# --- broken documents -------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    b'{"nodes": [{"id": 1, "type": "KSam', b'{"nodes": [', b"{", b'{"a": 1', b'{"a":',
    b'{"a": tru', b'["abc',
])
def test_truncated_documents_are_rejected(data: bytes) -> None:
    message = _rejected(data, "line 1")
    assert "column" in message


@pytest.mark.parametrize("data", [b"{} {}", b"{}x", b'{"a": 1}\n{"b": 2}\n', b"[]]",
                                  b'{"a": 1} 0'])
def test_trailing_data_is_rejected(data: bytes) -> None:
    _rejected(data, "Extra data")


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\n", codecs.BOM_UTF8])
def test_empty_documents_are_rejected(data: bytes) -> None:
    _rejected(data, "empty")


@pytest.mark.parametrize("data", [b'{"a": 1, // c\n}', b'{"a": 1,}', b"{'a': 1}",
                                  b'{"a": "line\nbreak"}', b"{a: 1}", b'{"a": 01}'])
def test_other_syntax_errors_are_rejected(data: bytes) -> None:
    _rejected(data, "line", "column")


def test_the_error_names_the_line_and_column() -> None:
    message = _rejected(b'{\n  "a": 1,\n  "b": ?\n}\n', "line 3", "column 8")
    assert "Expecting value" in message


def test_errors_are_value_errors() -> None:
    assert issubclass(JSONError, ValueError)


# --- size -------------------------------------------------------------------------------------


def test_size_limit() -> None:
    limit = jsonsafe.MAX_BYTES
    assert limit == 32 * 1024 * 1024
    at_limit = b'"' + b"a" * (limit - 2) + b'"'
    assert len(jsonsafe.loads(at_limit)) == limit - 2
    _rejected(at_limit + b" ", "32 MiB")
    _rejected(b"[" + b"0," * (limit // 2) + b"0]", "32 MiB")


# --- loads_object -----------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "kind"), [(b"[]", "list"), (b'[{"nodes": []}]', "list"),
                                            (b'"x"', "str"), (b"1", "int"), (b"null", "NoneType"),
                                            (b"true", "bool")])
def test_loads_object_wants_an_object(data: bytes, kind: str) -> None:
    assert jsonsafe.loads(data) == json.loads(data)
    with pytest.raises(JSONError, match=f"top level is a JSON {kind}, not an object"):
        jsonsafe.loads_object(data)


def test_loads_object_returns_the_object_in_key_order() -> None:
    value = jsonsafe.loads_object(b'{"z": 1, "a": {"y": [1, 2.5, "s", null, true]}}')
    assert list(value) == ["z", "a"] and value["a"] == {"y": [1, 2.5, "s", None, True]}


def test_loads_object_applies_every_check() -> None:
    for data in (b'{"a": NaN}', b'{"a": 1, "a": 1}', _nested(jsonsafe.MAX_DEPTH + 1, "object"),
                 b"\xff\xfe{\x00}\x00"):
        with pytest.raises(JSONError):
            jsonsafe.loads_object(data)


# --- decode -----------------------------------------------------------------------------------


def test_decode() -> None:
    assert jsonsafe.decode(codecs.BOM_UTF8 + "ü".encode()) == "ü"
    assert jsonsafe.decode(b"") == ""
    with pytest.raises(JSONError, match="byte 2"):
        jsonsafe.decode(b"ab\xff")


# --- layout_of --------------------------------------------------------------------------------


@pytest.mark.parametrize(("indent", "expected"), [(2, 2), (4, 4), ("\t", "\t"), (None, None)])
def test_layout_of(indent: str | int | None, expected: str | int | None) -> None:
    data = json.dumps({"a": [1, {"b": 2}], "c": 3}, indent=indent).encode()
    assert jsonsafe.layout_of(data) == expected


# --- dumps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_dumps_never_writes_nan_or_infinity(value: float) -> None:
    with pytest.raises(ValueError):
        jsonsafe.dumps({"nodes": [{"cfg": value}]})


def test_dumps_keeps_non_ascii_as_utf8() -> None:
    text = "Ünï cödé 灯台 \U0001f30a"
    data = jsonsafe.dumps({"title": text})
    assert text.encode("utf-8") in data
    assert b"\\u" not in data
    assert jsonsafe.loads(data) == {"title": text}


@pytest.mark.parametrize("indent", [2, 4, "\t", None])
def test_dumps_layouts_round_trip(indent: str | int | None) -> None:
    value = {"a": [1, 2.5, {"b": None}], "c": "d", "e": {}, "f": []}
    data = jsonsafe.dumps(value, indent=indent)
    assert jsonsafe.loads(data) == value
    assert jsonsafe.layout_of(data) == indent
    if indent is None:
        assert data == b'{"a":[1,2.5,{"b":null}],"c":"d","e":{},"f":[]}'  # like JSON.stringify
    else:
        assert data == json.dumps(value, indent=indent).encode()


def test_dumps_default_is_two_spaces() -> None:
    assert jsonsafe.dumps({"a": 1}) == b'{\n  "a": 1\n}'


def test_dumps_output_is_read_back_by_loads() -> None:
    value = {"seed": 2**64 - 1, "f": 1e308, "s": "\"[{\\", "nested": [[[[{}]]]]}
    assert jsonsafe.loads(jsonsafe.dumps(value)) == value
