"""The model files a workflow references: which file, in which model folder, used by which
nodes, and whether it is needed at all (every node using it muted or bypassed: not required).

Evidence, strongest first (a reference found twice keeps the strongest as its ``source``):

* ``loader`` — a built-in loader's input (:data:`loaders.LOADERS`);
* ``custom-loader`` — a known custom loader's input (:data:`loaders.CUSTOM_LOADERS`);
* ``properties`` — a node's ``properties.models`` entry whose ``name`` equals one of the node's
  string widget values (the frontend's own rule); it gives the folder (``directory``), the
  download ``url`` and, when ``hash_type`` is SHA256, the ``hash``;
* ``workflow-models`` — the workflow-level ``models`` list;
* ``embedding`` — ``embedding:<name>`` in the text of any node (CLIPTextEncode's prompt …),
  resolved by ComfyUI in the embeddings folder, the extension optional;
* ``extension`` — any other node's string widget value that ends in a model extension (folder
  unknown unless ``properties.models`` names it).

References are merged by (folder, name with ``/`` separators). Names and folders come from
strangers: a name that is not a safe relative path, or a folder that is not a plain folder key,
is still reported, with ``invalid`` saying why, and must never become a path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from git_comfy.core.graph import Node, Workflow
from git_comfy.core.loaders import (
    CUSTOM_LOADERS,
    LOADERS,
    MODEL_EXTENSIONS,
    LoaderInput,
    canonical_folder,
)

Source = Literal["loader", "custom-loader", "properties", "workflow-models", "embedding",
                 "extension"]
_STRENGTH: dict[str, int] = {"loader": 0, "custom-loader": 1, "properties": 2,
                             "workflow-models": 3, "embedding": 4, "extension": 5}

EMBEDDINGS = "embeddings"
# combo placeholders for "no file" (rgthree, Efficiency, WAS … write these)
_NO_FILE = frozenset({"none", "[none]", "null", "undefined"})
# endswith() with a tuple is one C call; the upper-case spellings are the only others seen
_EXTENSIONS = tuple(MODEL_EXTENSIONS) + tuple(extension.upper() for extension in MODEL_EXTENSIONS)
_LONGEST_EXTENSION = max(map(len, MODEL_EXTENSIONS))
_TABLE: dict[str, tuple[tuple[LoaderInput, ...], Source]] = {
    **{node_type: (rows, "custom-loader") for node_type, rows in CUSTOM_LOADERS.items()},
    **{node_type: (rows, "loader") for node_type, rows in LOADERS.items()},
}
_NO_ROWS: tuple[None, Source] = (None, "extension")
NESTED_DEPTH = 4  # how deep the generic scan looks into dict/list widget values

# ComfyUI's tokenizer (comfy/sd1_clip.py) reads "embedding:" at the start of a word or of a
# weighted "(…)" segment; the name runs to the next space, comma or parenthesis, and a
# "(embedding:name:1.2)" weight is not part of it.
EMBEDDING = re.compile(r"(?:^|(?<=[\s()]))embedding:([^\s,()]+)")
WEIGHT = re.compile(r":[-+]?(?:\d+\.?\d*|\.\d+)$")
_DRIVE = re.compile(r"[A-Za-z]:")
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in "123456789¹²³"}
)
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # controls, bidi/zero-width, surrogates
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# a folder key (checkpoints, text_encoders, ipadapter …), never a path; unknown keys are fine,
# new ComfyUI versions and custom nodes add them
_FOLDER_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
MAX_NAME = 1024  # characters of a whole name
MAX_COMPONENT = 255  # bytes of one path component (every common file system's limit)


@dataclass(frozen=True, slots=True)
class ModelRef:
    name: str  # as written (the first spelling met)
    normalised: str  # "/" between folders, whatever the saving machine used
    folder: str | None  # the model folder key (legacy aliases resolved), None when unknown
    node_ids: tuple[str, ...]  # execution ids of the nodes that use it, in document order
    required: bool  # false when every node using it is muted/bypassed or never runs
    source: Source  # the strongest evidence (see the module docstring)
    url: str | None = None
    sha256: str | None = None  # lower-case hex, from properties.models (hash_type SHA256)
    # why the name is not a safe relative path, or the folder (from a workflow's
    # properties.models "directory") not a plain folder key; never make it a path then
    invalid: str | None = None


def references(workflow: Workflow) -> list[ModelRef]:
    """Every model reference of ``workflow``, sorted by folder and name."""
    found = _Found()
    for entry in workflow.models:
        found.entry(entry, None, "workflow-models")
    for node in workflow.nodes:
        if node.kind != "node":
            continue  # frontend-only, or an instance whose values run in its inner nodes
        rows, source = _TABLE.get(node.type, _NO_ROWS)
        widgets = node.widgets
        values = (_running_values(node, rows) if node.overrides
                  else widgets.values() if type(widgets) is dict else widgets)
        if rows is not None:
            for row in rows:
                value = node.widget(row.name, row.index)
                if names_a_file(value) and value not in row.not_models:
                    found.add(value, row.folder, node, source)
        listed = node.properties.get("models")
        listed = listed if type(listed) is list and listed else None
        for value in values:
            if type(value) is str:
                if "embedding:" in value:
                    for name in _embeddings(value):
                        found.add(name, EMBEDDINGS, node, "embedding")
                if (rows is None and has_model_extension(value) and names_a_file(value)
                        and not (listed and _listed(listed, value))):
                    found.add(value, None, node, "extension")  # listed ones: folder below
            elif rows is None and (type(value) is dict or type(value) is list):
                for nested in _nested_strings(value):
                    if has_model_extension(nested) and names_a_file(nested):
                        found.add(nested, None, node, "extension")
        if listed:
            strings = {value for value in values if type(value) is str}
            for entry in listed:
                if type(entry) is dict and entry.get("name") in strings:
                    found.entry(entry, node, "properties")
    return found.refs()


def _running_values(node: Node, rows: tuple[LoaderInput, ...] | None) -> list[Any]:
    """A node's widget values as they run. A loader's own value in a slot that its instance
    overrides never runs (it is the definition's default), so it is replaced, not kept beside
    the promoted one; for other nodes the slot of a promoted name is unknown."""
    if rows is None or type(node.widgets) is not list:
        return list(node.values())
    overrides = node.overrides
    values = [value if (override := overrides.get(index)) is None else override.value
              for index, value in enumerate(node.widgets)]
    slots = {row.name: row.index for row in rows}
    for key, override in overrides.items():
        if type(key) is str:
            index = slots.get(key)
            if index is not None and index < len(values):
                values[index] = override.value
            else:
                values.append(override.value)
    return values


def normalise(name: str) -> str:
    """A model name with ``/`` separators: Windows saves ``a\\b.safetensors``."""
    return name.replace("\\", "/")


def problem(name: str) -> str | None:
    """Why ``name`` is not a safe path relative to a model folder, or None when it is."""
    if not name.strip():
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if name.isascii():
        control = _ASCII_CONTROL.search(name)
        if control:
            return f"contains the control character U+{ord(control.group()):04X}"
    else:
        for char in name:
            if unicodedata.category(char) in _INVISIBLE:
                return f"contains the invisible or control character U+{ord(char):04X}"
    path = normalise(name)
    if path.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(path):
        return "starts with a Windows drive"
    if ":" in path:
        return "contains ':' (a Windows drive or stream)"
    for part in path.split("/"):
        if part == "..":
            return "leaves its folder ('..')"
        if not part:
            return "has an empty path component"
        if part.endswith((".", " ")):
            return "has a component that ends in a dot or a space"
        if part.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
            return f"has a reserved Windows device name ({part})"
        if len(part.encode("utf-8", "surrogatepass")) > MAX_COMPONENT:
            return f"has a component longer than {MAX_COMPONENT} bytes"
    return None


def folder_problem(folder: str) -> str | None:
    """Why ``folder`` is not a plain model folder key, or None when it is."""
    if _FOLDER_KEY.fullmatch(folder) and folder.strip(".") != "":
        return None
    return f"names the folder {folder!r}, which is not a model folder key"


def names_a_file(value: Any) -> TypeGuard[str]:
    return type(value) is str and bool(value.strip()) and value.casefold() not in _NO_FILE


def has_model_extension(value: str) -> bool:
    if value.endswith(_EXTENSIONS):
        return True
    dot = value.rfind(".", len(value) - _LONGEST_EXTENSION)  # mixed case: ".SafeTensors"
    return dot >= 0 and value[dot:].lower() in MODEL_EXTENSIONS


def _embeddings(text: str) -> Iterator[str]:
    for match in EMBEDDING.finditer(text):
        name = WEIGHT.sub("", match.group(1))
        if name:
            yield name


def _nested_strings(value: dict[str, Any] | list[Any]) -> Iterator[str]:
    """Strings inside a structured widget value (rgthree's Power Lora Loader keeps
    ``{"lora": "x.safetensors", …}``), a few levels deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        for inner in item.values() if isinstance(item, dict) else item:
            if type(inner) is str:
                yield inner
            elif isinstance(inner, dict | list) and depth < NESTED_DEPTH:
                stack.append((inner, depth + 1))


def _listed(entries: list[Any], name: str) -> bool:
    """Whether a properties.models entry names ``name``."""
    return any(type(entry) is dict and entry.get("name") == name for entry in entries)


class _Found:
    """References met so far, merged by (folder, normalised name)."""

    def __init__(self) -> None:
        # key → [name, folder, node ids, required, source, url, sha256]
        self.by_key: dict[tuple[str | None, str], list[Any]] = {}

    def add(self, name: str, folder: str | None, node: Node | None, source: Source,
            url: str | None = None, sha256: str | None = None) -> None:
        key = (folder, normalise(name))
        found = self.by_key.get(key)
        required = node is None or node.active
        if found is None:
            self.by_key[key] = [name, folder, [node.id] if node else [], required, source, url,
                                sha256]
            return
        if node is not None and node.id not in found[2]:
            found[2].append(node.id)
        found[3] = found[3] or required
        if _STRENGTH[source] < _STRENGTH[found[4]]:
            found[4] = source
        found[5] = found[5] or url
        found[6] = found[6] or sha256

    def entry(self, entry: dict[str, Any], node: Node | None, source: Source) -> None:
        """A ``models`` entry: {name, url, directory, hash?, hash_type?}."""
        name = entry.get("name")
        if not names_a_file(name):
            return
        directory = entry.get("directory")
        url = entry.get("url")
        digest = entry.get("hash")
        kind = entry.get("hash_type")
        sha256 = None
        if (type(digest) is str and type(kind) is str and kind.lower() == "sha256"
                and len(digest) == 64):
            digest = digest.lower()
            sha256 = digest if all(c in "0123456789abcdef" for c in digest) else None
        self.add(name, canonical_folder(directory) if type(directory) is str and directory
                 else None, node, source, url if type(url) is str and url else None, sha256)

    def refs(self) -> list[ModelRef]:
        refs = [
            ModelRef(name, normalise(name), folder, tuple(node_ids), required, source, url,
                     sha256, problem(name) or (folder_problem(folder) if folder else None))
            for name, folder, node_ids, required, source, url, sha256 in self.by_key.values()
        ]
        refs.sort(key=lambda ref: (ref.folder or "", ref.normalised))
        return refs
