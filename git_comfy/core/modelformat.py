"""What a model file is, told by its bytes, never by its name (notes/security.md §3.2).

ComfyUI picks its loader by the extension: ``.safetensors``/``.sft`` through safetensors, almost
everything else through ``torch.load``, which unpickles, and unpickling runs code. So a download
is judged by its first bytes: a safetensors file (its header checked as the reference reader
checks it), GGUF, a PyTorch ZIP (its ``data.pkl`` is a pickle), a raw pickle stream — or an
answer that is not a model at all: the HTML login page or JSON error a server sends with status
200, or an empty file. Pickles are read with :func:`pickletools.genops`, which lists opcodes and
never unpickles, to name what they would import.

ONNX (protobuf) has no magic bytes: it is ``unknown``, as is anything else binary.
"""

from __future__ import annotations

import codecs
import io
import os
import pickletools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from git_comfy.core import jsonsafe
from git_comfy.core.loaders import MODEL_EXTENSIONS

HEAD = 64 * 1024  # the bytes sniff is given: enough for the header of most safetensors files
MAX_HEADER = 100_000_000  # safetensors' own limit (its HeaderTooLarge error)

Kind = Literal["safetensors", "gguf", "pickle-zip", "pickle", "unknown", "html", "json", "text"]
PICKLE_KINDS = frozenset({"pickle", "pickle-zip"})

_NOUNS: dict[str, str] = {
    "safetensors": "a safetensors file",
    "gguf": "a GGUF file",
    "pickle-zip": "a PyTorch ZIP checkpoint (pickle)",
    "pickle": "a pickle",
    "unknown": "a file of unknown format",
}
_PICKLES = ("pickle-zip", "pickle")
# The kinds each extension's loader can read: ComfyUI's load_torch_file reads .safetensors and
# .sft with safetensors and the rest with torch.load; GGUF loaders read GGUF; ONNX runtimes
# read protobuf (no magic: "unknown").
_EXPECTED: dict[str, tuple[str, ...]] = {
    ".safetensors": ("safetensors",), ".sft": ("safetensors",), ".gguf": ("gguf",),
    ".ckpt": _PICKLES, ".pt": _PICKLES, ".pth": _PICKLES, ".bin": _PICKLES, ".pkl": _PICKLES,
    ".onnx": ("unknown",),
}
# safetensors dtypes → bits per element (Rust safetensors' Dtype, including the sub-byte ones)
_DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F4": 4,
    "F6_E2M3": 6, "F6_E3M2": 6, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32,
    "U32": 32, "F32": 32, "I64": 64, "U64": 64, "F64": 64, "C64": 64,
}
_MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<!--", b"<error")
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Sniff:
    """The verdict on a file's first bytes."""

    kind: Kind
    problem: str | None = None  # why it is not an acceptable model file: a noun phrase
    pickle: bool = False  # loading it unpickles, which can run code
    extension_mismatch: str | None = None  # e.g. "a pickle named .safetensors"


def sniff(head: bytes, size: int | None, name: str) -> Sniff:
    """What the file that starts with ``head`` (its first up-to-:data:`HEAD` bytes; longer is
    fine) is, given its total ``size`` when known and its ``name`` (used only to tell whether
    its loader can read it, and whether a text file is expected there: a ``.yaml`` config)."""
    if size == 0 or not head:
        return Sniff("unknown", "an empty file")
    kind, problem = _identify(head, size)
    extension = os.path.splitext(name)[1].lower()
    if kind in ("json", "text") and extension not in MODEL_EXTENSIONS:
        problem = None  # configs and notes in model folders are text
    mismatch = None
    if problem is None and kind in _NOUNS and kind not in _EXPECTED.get(extension, (kind,)):
        mismatch = f"{_NOUNS[kind]} named {extension}"
    return Sniff(kind, problem, kind in PICKLE_KINDS, mismatch)


def header_size(head: bytes) -> int | None:
    """For a safetensors file, the bytes from its start that hold its whole header (8 + the
    header length): when more than ``head`` holds, :func:`sniff` could check only the length,
    and is asked again with that many bytes once the file is complete. None for other files."""
    if len(head) < 9 or head[8] != 0x7B or head[7] != 0:  # "{" and a length below 2**56
        return None
    return 8 + int.from_bytes(head[:8], "little")


def _identify(head: bytes, size: int | None) -> tuple[Kind, str | None]:
    end = header_size(head)
    if end is not None:
        return "safetensors", _safetensors_problem(head, end, size)
    if head.startswith(b"GGUF"):
        return "gguf", None
    if head.startswith(b"PK\x03\x04"):  # torch.load reads any ZIP as a checkpoint: data.pkl
        return "pickle-zip", None
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # PROTO 2-5
        return "pickle", None
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:16].lower()
    if start.startswith(_MARKUP):
        what = "an XML document" if start.startswith(b"<?xml") else "an HTML page"
        return "html", f"{what}, not a model (a login or error page?)"
    if not _is_text(head):
        return "unknown", None
    if _whole_pickle(head):  # protocol 0 and 1 pickles are text; torch.load runs them too
        return "pickle", None
    if start[:1] in (b"{", b"["):
        return "json", _json_problem(head)
    return "text", "a text file, not a model"


def _is_text(head: bytes) -> bool:
    if _BINARY.search(head):
        return False
    try:
        # final=False: the head may end in the middle of a character
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _whole_pickle(head: bytes) -> bool:
    """Whether ``head`` begins with a complete pickle stream (text rarely parses as one)."""
    try:
        for _ in pickletools.genops(head):
            pass
    except ValueError:
        return False
    return True


def _json_problem(head: bytes) -> str:
    """'a JSON document, not a model', with the server's own error message when it has one
    (Hugging Face: {"error": "Access to model … is restricted …"})."""
    try:
        document = jsonsafe.loads(head)
    except jsonsafe.JSONError:
        document = None
    if isinstance(document, dict):
        for key in ("error", "message", "detail", "errors"):
            value = document.get(key)
            if isinstance(value, str) and value.strip():
                text = " ".join(value.split())
                return f"a JSON document, not a model ({key}: {text[:200]})"
    return "a JSON document, not a model"


def _safetensors_problem(head: bytes, end: int, size: int | None) -> str | None:
    """What the reference reader would refuse: a header longer than 100 MB or than the file,
    not a JSON object of tensor entries, tensors that do not tile the data from offset 0
    without gaps or overlaps, a tensor whose bytes do not match its dtype and shape, and
    (size known) data that ends before or after the file does."""
    length = end - 8
    if length > MAX_HEADER:
        return _invalid(f"its header length ({length}) is larger than 100 MB")
    if size is not None and end > size:
        return _invalid(f"its header length ({length}) runs past the end of the file")
    if len(head) < end:
        return None  # only the length can be checked yet (header_size says how much to read)
    try:
        document = jsonsafe.loads(head[8:end])
    except jsonsafe.JSONError as error:
        return _invalid(f"its header is not valid JSON: {error}")
    if not isinstance(document, dict):
        return _invalid("its header is not a JSON object")
    metadata = document.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        return _invalid("its __metadata__ is not a table of strings")
    spans = []
    for name, entry in document.items():
        span = _tensor_span(entry)
        if isinstance(span, str):
            return _invalid(f"tensor {name[:80]!r} {span}")
        spans.append((span, name))
    data_end = 0
    for (begin, stop), name in sorted(spans):
        if begin != data_end:
            where = "overlaps the one before it" if begin < data_end else "leaves a gap"
            return _invalid(f"tensor {name[:80]!r} {where} (offset {begin}, expected "
                            f"{data_end})")
        data_end = stop
    if size is not None and end + data_end != size:
        if end + data_end > size:
            return _invalid("its tensors run past the end of the file")
        return _invalid(f"{size - end - data_end} bytes follow its last tensor")
    return None


def _tensor_span(entry: Any) -> tuple[int, int] | str:
    """A tensor entry's (begin, end) data offsets, or what is wrong with it."""
    if not isinstance(entry, dict):
        return "is not a table"
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str):
        return "has no dtype"
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        return "has an invalid shape"
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(n) is int and n >= 0 for n in offsets) or offsets[0] > offsets[1]):
        return "has invalid data offsets"
    bits = _DTYPE_BITS.get(dtype)  # a dtype newer than this table: only its offsets checked
    if bits is not None:
        elements = 1
        for n in shape:
            elements *= n
        if elements * bits != (offsets[1] - offsets[0]) * 8:
            return f"holds {offsets[1] - offsets[0]} bytes, not what {dtype} {shape} needs"
    return offsets[0], offsets[1]


def _invalid(why: str) -> str:
    return f"an invalid safetensors file: {why}"


# -- pickles ------------------------------------------------------------------------------------

UNRESOLVED = "<an import computed at load time>"  # a STACK_GLOBAL whose names are not constants
MALFORMED = "<a malformed pickle>"

# What torch checkpoints need: torch.load(weights_only=True)'s own allowlist
# (torch/_weights_only_unpickler.py), the numpy reconstructors of older checkpoints, and what
# AUTOMATIC1111's safe unpickler admits for SD 1.x .ckpt files (the Lightning callback).
_SAFE = frozenset({
    "collections.OrderedDict", "collections.Counter", "builtins.set", "builtins.frozenset",
    "builtins.bytearray", "builtins.complex", "builtins.slice", "_codecs.encode",
    "copyreg._reconstructor",
    "torch.Size", "torch.Tensor", "torch.device", "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout", "torch.nn.modules.container.ParameterDict",
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_numpy", "torch._tensor._rebuild_from_type_v2",
    "torch.storage.UntypedStorage", "torch.storage.TypedStorage",
    "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar",
    "numpy._core.multiarray._reconstruct", "numpy._core.multiarray.scalar",
    "numpy.ndarray", "numpy.dtype",
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
})
# torch.FloatStorage …, the dtypes (torch.float16 …), layouts, memory formats, qschemes;
# numpy 2's dtype classes (numpy.dtypes.Float32DType)
_SAFE_PATTERN = re.compile(
    r"torch\.(?:[A-Za-z0-9]+Storage|(?:q|qu|u)?int\d+(?:x\d+)?|float\w*|bfloat16|half|double|"
    r"long|short|bool|complex\w*|cfloat|cdouble|chalf|bits\w+|strided|sparse_\w+|_mkldnn|"
    r"contiguous_format|channels_last(?:_3d)?|preserve_format|per_\w+_affine\w*)"
    r"|numpy\.dtypes\.\w+DType")
# Unpickler(fix_imports=True) maps Python 2 module names of protocols 0-2 to Python 3 ones
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_STRINGS = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                      "SHORT_BINUNICODE", "BINUNICODE8"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_MARK = object()  # a MARK on the simulated stack


def pickle_imports(data: bytes) -> list[str]:
    """Every ``module.name`` the pickle stream(s) in ``data`` would import (GLOBAL and
    STACK_GLOBAL, in order), without unpickling: the opcodes are listed and the stack is
    followed just far enough to know the two strings a STACK_GLOBAL takes, also through the
    memo (a known scanner bypass). Consecutive streams are read, as a legacy ``torch.save``
    writes five; the bytes after the last one (tensor data) are not. An import the stream
    computes is :data:`UNRESOLVED`, a first stream that does not parse adds :data:`MALFORMED`."""
    imports: list[str] = []
    position = 0
    while position < len(data) and (position == 0 or data[position] == 0x80):
        try:
            position = _stream_imports(data, position, imports)
        except (ValueError, IndexError):  # genops: a bad opcode or argument; the stack ran dry
            if position == 0:
                imports.append(MALFORMED)
            break
    return imports


def _stream_imports(data: bytes, start: int, imports: list[str]) -> int:
    """Adds one stream's imports; returns where the next stream would start."""
    stack: list[object] = []
    memo: dict[Any, object] = {}
    stream = io.BytesIO(data)
    stream.seek(start)
    for opcode, arg, _position in pickletools.genops(stream):  # stops after STOP
        name = opcode.name
        if name == "GLOBAL":
            module, _, qualname = str(arg).partition(" ")
            imports.append(_qualified(module, qualname))
            stack.append(None)
        elif name == "STACK_GLOBAL":
            second, first = stack.pop(), stack.pop()
            imports.append(_qualified(first, second) if isinstance(first, str)
                           and isinstance(second, str) else UNRESOLVED)
            stack.append(None)
        elif name in _STRINGS:  # genops decodes them all to str
            stack.append(arg)
        elif name in _PUTS:
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in _GETS:
            stack.append(memo.get(arg))
        else:
            _apply(opcode, stack)
    return stream.tell()


def _apply(opcode: pickletools.OpcodeInfo, stack: list[object]) -> None:
    """An opcode's effect on the stack, as pickletools describes it (values unknown)."""
    before = opcode.stack_before
    if pickletools.markobject in before:
        while stack.pop() is not _MARK:
            pass
        count = before.index(pickletools.markobject)
    else:
        count = len(before)
    if count:
        if count > len(stack):
            raise IndexError("the stack ran dry")
        del stack[-count:]
    stack.extend(_MARK if item is pickletools.markobject else None
                 for item in opcode.stack_after)


def _qualified(module: str, qualname: str) -> str:
    return f"{_PY2_MODULES.get(module, module)}.{qualname}"


def unsafe_imports(imports: Iterable[str]) -> list[str]:
    """The imports outside what torch checkpoints need, each once, in order: ``os.system``,
    ``builtins.eval``, ``subprocess.Popen``, … and anything unknown."""
    return [name for name in dict.fromkeys(imports)
            if name not in _SAFE and not _SAFE_PATTERN.fullmatch(name)]
