"""Model files told by their bytes: safetensors headers checked as the reference reader checks
them, GGUF, PyTorch ZIPs and raw pickles (whatever their names say), the pages and errors a
server sends instead of a model; and the imports of pickle streams, listed without unpickling.

Every pickle here is written opcode by opcode (or from plain data): nothing that would run a
command is ever pickled, and nothing here is ever unpickled."""

from __future__ import annotations

import collections
import os
import pickle
import struct

import pytest
from test_download import os_system_protocol_0, safetensors, torch_zip

from git_comfy.core import modelformat
from git_comfy.core.modelformat import HEAD, MALFORMED, UNRESOLVED, pickle_imports, sniff

GOOD = safetensors({"w": ("F32", [2, 3], bytes(24)), "b": ("F16", [3], bytes(6))},
                   metadata={"format": "pt"})


def whole(data: bytes, name: str = "model.safetensors") -> modelformat.Sniff:
    return sniff(data[:HEAD], len(data), name)


def ustr(text: str) -> bytes:
    """SHORT_BINUNICODE: a string pushed on the unpickler's stack."""
    raw = text.encode()
    return pickle.SHORT_BINUNICODE + bytes([len(raw)]) + raw


def torch_like_pickle() -> bytes:
    """What a state dict's data.pkl imports, written by hand (no torch needed)."""
    return (pickle.PROTO + b"\x02" + b"ccollections\nOrderedDict\n)R"
            + b"ctorch._utils\n_rebuild_tensor_v2\n" + b"ctorch\nFloatStorage\n"
            + b"ctorch\nfloat16\n" + b"c__builtin__\nset\n" + b"0000.")


# -- safetensors ------------------------------------------------------------------------------


def test_a_valid_safetensors_file() -> None:
    assert whole(GOOD) == modelformat.Sniff("safetensors")
    assert whole(GOOD, "model.sft") == modelformat.Sniff("safetensors")
    assert sniff(GOOD[:HEAD], None, "model.safetensors").problem is None  # size unknown
    empty = safetensors({})
    assert whole(empty).problem is None


@pytest.mark.parametrize(("data", "size", "fragment"), [
    (struct.pack("<Q", 2**40) + b'{"a": 1}', None, "larger than 100 MB"),
    (GOOD[:40], 40, "runs past the end of the file"),
    (GOOD[:-5], len(GOOD) - 5, "run past the end of the file"),
    (GOOD + b"junk", len(GOOD) + 4, "4 bytes follow its last tensor"),
    (safetensors({"a": ("F32", [2], bytes(8)), "b": ("F32", [2], bytes(8))},
                  offsets={"b": [4, 12]}), None, "overlaps the one before it"),
    (safetensors({"a": ("F32", [2], bytes(8)), "b": ("F32", [2], bytes(8))},
                  offsets={"b": [12, 20]}), None, "leaves a gap"),
    (safetensors({"a": ("F32", [3], bytes(8))}), None, "not what F32 [3] needs"),
    (safetensors({"a": ("F32", [2], bytes(8))}, offsets={"a": [8, 0]}), None,
     "invalid data offsets"),
    (safetensors({"a": ("F32", [-2], bytes(8))}), None, "invalid shape"),
    (safetensors({}, metadata={"n": 1}), None, "__metadata__ is not a table of strings"),
    (struct.pack("<Q", 9) + b"{not json", None, "not valid JSON"),
    (struct.pack("<Q", 2) + b"{}" + b"", None, None),
])
def test_invalid_safetensors_headers(data: bytes, size: int | None,
                                     fragment: str | None) -> None:
    verdict = sniff(data, size if size is not None else len(data), "model.safetensors")
    assert verdict.kind == "safetensors"
    if fragment is None:
        assert verdict.problem is None
    else:
        assert verdict.problem is not None and fragment in verdict.problem, verdict
        assert verdict.problem.startswith("an invalid safetensors file: ")


def test_a_header_longer_than_the_head_is_checked_once_it_is_all_there() -> None:
    tensors = {f"layer.{n}.weight": ("F16", [4], bytes(8)) for n in range(2000)}
    data = safetensors(tensors, offsets={"layer.1999.weight": [0, 8]})  # overlaps the first
    end = modelformat.header_size(data)
    assert end is not None and end > HEAD
    assert whole(data).problem is None  # only the length can be told from 64 KiB
    verdict = sniff(data[:end], len(data), "model.safetensors")
    assert verdict.problem is not None and "overlaps" in verdict.problem
    assert modelformat.header_size(b"GGUF\x03\x00\x00\x00\x00") is None


def test_a_dtype_newer_than_the_table_is_checked_by_its_offsets_only() -> None:
    assert whole(safetensors({"a": ("F2_FUTURE", [7], bytes(3))})).problem is None


# -- other formats, and what is not a model -----------------------------------------------------


def test_gguf() -> None:
    data = b"GGUF" + struct.pack("<I", 3) + os.urandom(100)
    assert whole(data, "unet.gguf") == modelformat.Sniff("gguf")
    assert whole(data, "unet.safetensors").extension_mismatch == "a GGUF file named .safetensors"


def test_a_torch_zip_is_a_pickle() -> None:
    data = torch_zip(torch_like_pickle())
    assert whole(data, "model.ckpt") == modelformat.Sniff("pickle-zip", pickle=True)
    renamed = whole(data, "model.safetensors")
    assert renamed.kind == "pickle-zip" and renamed.pickle and renamed.problem is None
    assert renamed.extension_mismatch == "a PyTorch ZIP checkpoint (pickle) named .safetensors"


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_raw_pickle_is_a_pickle_whatever_its_name(protocol: int) -> None:
    data = pickle.dumps(collections.OrderedDict(a=[1, 2]), protocol=protocol)
    assert whole(data, "legacy.pth") == modelformat.Sniff("pickle", pickle=True)
    renamed = whole(data, "model.safetensors")
    assert renamed.kind == "pickle" and renamed.pickle
    assert renamed.extension_mismatch == "a pickle named .safetensors"


def test_a_protocol_0_pickle_is_text_and_still_a_pickle() -> None:
    verdict = whole(os_system_protocol_0("echo hi"), "model.pth")
    assert verdict.kind == "pickle" and verdict.pickle and verdict.problem is None


@pytest.mark.parametrize(("data", "kind", "fragment"), [
    (b"<!DOCTYPE html>\n<html><head><title>Sign in | Civitai</title>", "html", "HTML page"),
    (b"\xef\xbb\xbf  \n<HTML><body>Access denied</body></HTML>", "html", "HTML page"),
    (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code></Error>', "html",
     "XML document"),
    (b"<html>\xe9t\xe9 (latin-1)</html>", "html", "HTML page"),
    (b'{"error":"Access to model org/x is restricted. You must be authenticated."}', "json",
     "(error: Access to model org/x is restricted. You must be authenticated.)"),
    (b'{"detail": "Not Found"}', "json", "(detail: Not Found)"),
    (b"[1, 2, 3]", "json", "a JSON document, not a model"),
    (b"Entry not found", "text", "a text file, not a model"),
])
def test_pages_and_errors_are_not_models(data: bytes, kind: str, fragment: str) -> None:
    verdict = whole(data, "model.safetensors")
    assert verdict.kind == kind and not verdict.pickle
    assert verdict.problem is not None and fragment in verdict.problem, verdict.problem


def test_text_is_fine_where_text_is_expected() -> None:
    assert whole(b"model:\n  target: ldm.models.diffusion\n", "v1-inference.yaml") == (
        modelformat.Sniff("text"))
    assert whole(b'{"_class_name": "UNet2DConditionModel"}', "config.json").problem is None
    assert whole(b"<html></html>", "notes.yaml").problem is not None  # a page never is


def test_an_empty_file() -> None:
    assert whole(b"").problem == "an empty file"
    assert sniff(b"", None, "model.ckpt").problem == "an empty file"


def test_unknown_binary() -> None:
    data = b"\x08\x07\x12\x07pytorch" + os.urandom(200)  # ONNX: protobuf, no magic
    assert whole(data, "model.onnx") == modelformat.Sniff("unknown")
    assert whole(data, "model.safetensors").extension_mismatch == (
        "a file of unknown format named .safetensors")
    assert whole(GOOD, "model.ckpt").extension_mismatch == "a safetensors file named .ckpt"


# -- pickle imports -----------------------------------------------------------------------------


def test_the_imports_of_a_benign_checkpoint_are_all_allowed() -> None:
    imports = pickle_imports(torch_like_pickle())
    assert imports == ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                       "torch.FloatStorage", "torch.float16", "builtins.set"]
    assert modelformat.unsafe_imports(imports) == []
    plain = pickle.dumps({"state_dict": collections.OrderedDict(w=[0.5])}, protocol=4)
    assert modelformat.unsafe_imports(pickle_imports(plain)) == []


def test_global_os_system() -> None:
    imports = pickle_imports(os_system_protocol_0("touch /tmp/x"))
    assert imports == ["os.system"]
    assert modelformat.unsafe_imports(imports) == ["os.system"]


def test_stack_global_with_its_strings_on_the_stack_and_through_the_memo() -> None:
    direct = (pickle.PROTO + b"\x04" + ustr("builtins") + pickle.MEMOIZE + ustr("exec")
              + pickle.MEMOIZE + pickle.STACK_GLOBAL + ustr("print(1)") + pickle.TUPLE1
              + pickle.REDUCE + pickle.STOP)
    assert pickle_imports(direct) == ["builtins.exec"]
    # the strings stored, dropped, and fetched back from the memo (a scanner bypass)
    memo = (pickle.PROTO + b"\x04" + ustr("subprocess") + pickle.MEMOIZE + pickle.POP
            + ustr("Popen") + pickle.MEMOIZE + pickle.POP + pickle.BINGET + b"\x00"
            + pickle.BINGET + b"\x01" + pickle.STACK_GLOBAL + ustr("id") + pickle.TUPLE1
            + pickle.REDUCE + pickle.STOP)
    assert pickle_imports(memo) == ["subprocess.Popen"]
    put = (b"(" + ustr("posix") + pickle.BINPUT + b"\x07" + pickle.POP_MARK
           + pickle.BINGET + b"\x07" + ustr("system") + pickle.STACK_GLOBAL + pickle.STOP)
    assert pickle_imports(put) == ["posix.system"]


def test_a_computed_import_is_unresolved_and_unsafe() -> None:
    computed = pickle.PROTO + b"\x04" + pickle.NONE + ustr("system") + pickle.STACK_GLOBAL
    imports = pickle_imports(computed + pickle.STOP)
    assert imports == [UNRESOLVED]
    assert modelformat.unsafe_imports(imports) == [UNRESOLVED]


def test_python_2_module_names_are_mapped() -> None:
    data = pickle.PROTO + b"\x02" + b"c__builtin__\neval\n" + pickle.STOP
    assert pickle_imports(data) == ["builtins.eval"]


def test_legacy_torch_files_hold_several_streams_then_data() -> None:
    streams = [pickle.dumps(n, protocol=2) for n in (0x1950A86A20F9469CFC6C, 1001)]
    streams.append(pickle.PROTO + b"\x02" + b"ccollections\nOrderedDict\n)R.")
    streams.append(pickle.PROTO + b"\x02" + b"cnt\nsystem\n" + pickle.STOP)
    data = b"".join(streams) + b"\x10\x00\x00\x00\x00\x00\x00\x00" + os.urandom(4096)
    assert pickle_imports(data) == ["collections.OrderedDict", "nt.system"]


def test_a_malformed_pickle_is_flagged() -> None:
    imports = pickle_imports(pickle.PROTO + b"\x02" + b"cos\nsystem\n" + b"\xff\xfe")
    assert imports == ["os.system", MALFORMED]
    assert pickle_imports(pickle.PROTO + b"\x02" + pickle.POP) == [MALFORMED]  # stack ran dry


@pytest.mark.parametrize("name", [
    "os.system", "posix.system", "nt.system", "subprocess.Popen", "subprocess.run",
    "builtins.eval", "builtins.exec", "builtins.__import__", "builtins.getattr",
    "torch.load", "torch.storage._load_from_bytes", "timeit.timeit", "runpy._run_code",
    "numpy.f2py.crackfortran.myeval", "torch.Storage.evil.x", "webbrowser.open",
])
def test_dangerous_imports_are_unsafe(name: str) -> None:
    assert modelformat.unsafe_imports([name]) == [name]


def test_unsafe_imports_are_listed_once_in_order() -> None:
    imports = ["os.system", "collections.OrderedDict", "builtins.exec", "os.system",
               "torch.BFloat16Storage", "numpy.dtypes.Float32DType", "torch.float8_e4m3fn"]
    assert modelformat.unsafe_imports(imports) == ["os.system", "builtins.exec"]
