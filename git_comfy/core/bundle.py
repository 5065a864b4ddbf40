"""The bundle's manifest (docs/bundle-format.md): what export writes and what verify and import
accept. Writing is plain data to JSON; reading treats the manifest as a stranger's: every field's
type, length and shape is checked, URLs must be https, names must be plain names, and the member
list is what the reader holds every other member to.

Pure: the shell gathers the facts, writes the tar and reads it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from git_comfy.core import jsonsafe, models
from git_comfy.core.devnodes import check_name
from git_comfy.errors import FatalError

FORMAT = "git-comfy-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"  # always the first member: the reader checks the rest against it
WORKFLOW = "workflow.json"
README = "README.md"
NODES = "nodes"  # nodes/<dev node name>/<files>: dev-node sources

MAX_MANIFEST = 4 << 20
MAX_TEXT = 1024  # characters of one string field
MAX_URL = 2048
MAX_ITEMS = 10_000  # entries of one list
MAX_PIP_LINES = 500
MAX_SIZE = 1 << 50  # bytes of one model: 1 PiB is no model

_SHA256 = re.compile(r"[0-9a-f]{64}")
_QUICK_HASH = re.compile(r"[0-9a-f]{32}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NODE_ID = re.compile(r"[0-9A-Za-z:_.-]{1,128}")


@dataclass(frozen=True)
class Model:
    """A model the workflow needs: what it is (SHA-256), where it sat, where to get it."""

    name: str  # the reference as the workflow writes it
    folder: str | None  # the model folder key; None when no node says
    relpath: str  # where it is under its folder on the exporting machine, "/" separators
    size: int
    sha256: str
    quick_hash: str  # the index's sampled xxh3-128: narrows a search before a full hash
    sources: tuple[str, ...]  # https download addresses, best first
    nodes: tuple[str, ...]  # execution ids of the nodes that use it
    required: bool

    @property
    def filename(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Skipped:
    """A model the exporter left out (--skip-model, or optional and not on their machine)."""

    name: str
    folder: str | None
    nodes: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class Node:
    """A custom node package the workflow needs."""

    package: str  # registry id, else repository, else folder name
    source: str  # registry, git, dev, local …
    version: str | None  # semver or a 40-hex commit
    repository: str | None  # https
    registry_id: str | None
    node_types: tuple[str, ...]
    required: bool
    pip: tuple[str, ...] = ()  # its requirements.txt lines, as written
    path: str | None = None  # dev nodes: the member folder holding its source ("nodes/<name>")


@dataclass(frozen=True)
class Manifest:
    tool_version: str
    created: str  # UTC, "2026-11-25T21:00:00Z"
    workflow: str  # the workflow's name
    workflow_format: str  # "ui" or "api"
    comfyui_version: str | None = None
    comfyui_commit: str | None = None
    nodes: tuple[Node, ...] = ()
    models: tuple[Model, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    files: Mapping[str, tuple[int, str]] = field(default_factory=dict)  # member → (size, sha256)


# -- writing ----------------------------------------------------------------------------------

def to_json(manifest: Manifest) -> bytes:
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool": {"name": "git-comfy", "version": manifest.tool_version},
        "created": manifest.created,
        "comfyui": {"version": manifest.comfyui_version, "commit": manifest.comfyui_commit},
        "workflow": {"name": manifest.workflow, "file": WORKFLOW,
                     "format": manifest.workflow_format},
        "custom_nodes": [
            {"package": n.package, "source": n.source, "version": n.version,
             "repository": n.repository, "registry_id": n.registry_id,
             "node_types": list(n.node_types), "required": n.required, "pip": list(n.pip),
             "path": n.path}
            for n in manifest.nodes
        ],
        "models": [
            {"name": m.name, "filename": m.filename, "folder": m.folder, "relpath": m.relpath,
             "size": m.size, "sha256": m.sha256, "quick_hash": m.quick_hash,
             "sources": list(m.sources), "nodes": list(m.nodes), "required": m.required}
            for m in manifest.models
        ],
        "skipped_models": [
            {"name": s.name, "folder": s.folder, "nodes": list(s.nodes), "required": s.required}
            for s in manifest.skipped
        ],
        "files": {name: {"size": size, "sha256": digest}
                  for name, (size, digest) in sorted(manifest.files.items())},
    }
    return jsonsafe.dumps(document) + b"\n"


# -- reading ----------------------------------------------------------------------------------

class _Reader:
    """Field checks that name the field: ``manifest: models[2].sha256 is not …``."""

    def __init__(self, document: Any) -> None:
        self.document = document

    @staticmethod
    def fail(where: str, problem: str) -> FatalError:
        return FatalError(f"the bundle's manifest is not valid: {where} {problem}")

    def table(self, value: Any, where: str) -> dict[str, Any]:
        if type(value) is not dict:
            raise self.fail(where, "is not an object")
        return value

    def items(self, value: Any, where: str, limit: int = MAX_ITEMS) -> list[Any]:
        if type(value) is not list:
            raise self.fail(where, "is not a list")
        if len(value) > limit:
            raise self.fail(where, f"has more than {limit} entries")
        return value

    def text(self, value: Any, where: str, *, optional: bool = False,
             limit: int = MAX_TEXT) -> Any:
        if value is None and optional:
            return None
        if type(value) is not str or not value:
            raise self.fail(where, "is not a non-empty string")
        if len(value) > limit:
            raise self.fail(where, f"is longer than {limit} characters")
        if _CONTROL.search(value):
            raise self.fail(where, "contains control characters")
        return value

    def pattern(self, value: Any, where: str, regex: re.Pattern[str], what: str, *,
                optional: bool = False) -> Any:
        if value is None and optional:
            return None
        if type(value) is not str or not regex.fullmatch(value):
            raise self.fail(where, f"is not {what}")
        return value

    def flag(self, value: Any, where: str) -> bool:
        if type(value) is not bool:
            raise self.fail(where, "is not true or false")
        return value

    def size(self, value: Any, where: str) -> int:
        if type(value) is not int or not 0 <= value <= MAX_SIZE:
            raise self.fail(where, "is not a size in bytes")
        return value

    def url(self, value: Any, where: str) -> str:
        text = self.text(value, where, limit=MAX_URL)
        if download_url(text) is None:
            raise self.fail(where, "is not a plain https:// address")
        return str(text)

    def folder(self, value: Any, where: str) -> str | None:
        if value is None:
            return None
        text = self.text(value, where, limit=64)
        if models.folder_problem(text):
            raise self.fail(where, "is not a model folder key")
        return str(text)

    def relative(self, value: Any, where: str) -> str:
        text = self.text(value, where)
        problem = models.problem(text)
        if problem or "\\" in text:
            raise self.fail(where, problem or "contains a backslash")
        return str(text)

    def node_ids(self, value: Any, where: str) -> tuple[str, ...]:
        return tuple(self.pattern(v, f"{where}[{i}]", _NODE_ID, "a node id")
                     for i, v in enumerate(self.items(value, where)))


def download_url(value: Any) -> str | None:
    """``value`` when it is a plain ``https://host/…`` address a model can be fetched from (no
    user info, spaces or control characters), else None."""
    if type(value) is not str or not value.startswith("https://") or len(value) > MAX_URL:
        return None
    host = value[len("https://"):].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if not host or "@" in host or "\\" in value or _CONTROL.search(value) or any(
            c.isspace() for c in value):
        return None
    return value


def parse(data: bytes) -> Manifest:
    """The manifest of a stranger's bundle, every field checked; one-line FatalError else."""
    if len(data) > MAX_MANIFEST:
        raise FatalError(f"the bundle's manifest is larger than {MAX_MANIFEST >> 20} MiB")
    try:
        document = jsonsafe.loads(data)
    except jsonsafe.JSONError as error:
        raise FatalError(f"the bundle's manifest is not valid JSON: {error}") from None
    read = _Reader(document)
    top = read.table(document, "the document")
    if top.get("format") != FORMAT:
        raise FatalError("this is not a git-comfy bundle (its manifest has no "
                         f"\"format\": \"{FORMAT}\")")
    version = top.get("format_version")
    if type(version) is not int:
        raise read.fail("format_version", "is not a number")
    if version > FORMAT_VERSION:
        raise FatalError(f"the bundle has format version {version}; this git-comfy reads "
                         f"version {FORMAT_VERSION}: upgrade git-comfy")
    if version != FORMAT_VERSION:
        raise read.fail("format_version", f"is {version}, not {FORMAT_VERSION}")
    tool = read.table(top.get("tool"), "tool")
    comfyui = read.table(top.get("comfyui"), "comfyui")
    workflow = read.table(top.get("workflow"), "workflow")
    if workflow.get("file") != WORKFLOW:
        raise read.fail("workflow.file", f"is not {WORKFLOW!r}")
    if workflow.get("format") not in ("ui", "api"):
        raise read.fail("workflow.format", "is not \"ui\" or \"api\"")
    return Manifest(
        tool_version=read.text(tool.get("version"), "tool.version", limit=64),
        created=read.pattern(top.get("created"), "created", _CREATED, "a UTC time"),
        workflow=_workflow_name(read, workflow.get("name")),
        workflow_format=workflow["format"],
        comfyui_version=read.text(comfyui.get("version"), "comfyui.version", optional=True,
                                  limit=64),
        comfyui_commit=read.pattern(comfyui.get("commit"), "comfyui.commit", _COMMIT,
                                    "a commit id", optional=True),
        nodes=tuple(_node(read, entry, f"custom_nodes[{i}]") for i, entry in
                    enumerate(read.items(top.get("custom_nodes"), "custom_nodes"))),
        models=tuple(_model(read, entry, f"models[{i}]") for i, entry in
                     enumerate(read.items(top.get("models"), "models"))),
        skipped=tuple(_skipped(read, entry, f"skipped_models[{i}]") for i, entry in
                      enumerate(read.items(top.get("skipped_models"), "skipped_models"))),
        files=_files(read, top.get("files")),
    )


def _workflow_name(read: _Reader, value: Any) -> str:
    from git_comfy.core import project

    text = read.text(value, "workflow.name")
    try:
        return project.canonical_name(text)
    except FatalError:
        raise read.fail("workflow.name", "is not a safe workflow name") from None


def _node(read: _Reader, value: Any, where: str) -> Node:
    entry = read.table(value, where)
    path = read.text(entry.get("path"), f"{where}.path", optional=True)
    if path is not None:
        prefix, _, name = path.partition("/")
        try:
            plain = prefix == NODES and check_name(name) == name
        except FatalError:
            plain = False
        if not plain:
            raise read.fail(f"{where}.path", f"is not {NODES}/<a node name>")
    repository = entry.get("repository")
    return Node(
        package=read.text(entry.get("package"), f"{where}.package", limit=256),
        source=read.text(entry.get("source"), f"{where}.source", limit=32),
        version=read.text(entry.get("version"), f"{where}.version", optional=True, limit=64),
        repository=None if repository is None else read.url(repository, f"{where}.repository"),
        registry_id=read.text(entry.get("registry_id"), f"{where}.registry_id", optional=True,
                              limit=128),
        node_types=tuple(read.text(t, f"{where}.node_types[{i}]") for i, t in
                         enumerate(read.items(entry.get("node_types"), f"{where}.node_types"))),
        required=read.flag(entry.get("required"), f"{where}.required"),
        pip=tuple(read.text(line, f"{where}.pip[{i}]") for i, line in
                  enumerate(read.items(entry.get("pip"), f"{where}.pip", MAX_PIP_LINES))),
        path=path,
    )


def _model(read: _Reader, value: Any, where: str) -> Model:
    entry = read.table(value, where)
    relpath = read.relative(entry.get("relpath"), f"{where}.relpath")
    filename = read.text(entry.get("filename"), f"{where}.filename")
    if filename != relpath.rsplit("/", 1)[-1]:
        raise read.fail(f"{where}.filename", "is not the last part of its relpath")
    return Model(
        name=read.text(entry.get("name"), f"{where}.name"),
        folder=read.folder(entry.get("folder"), f"{where}.folder"),
        relpath=relpath,
        size=read.size(entry.get("size"), f"{where}.size"),
        sha256=read.pattern(entry.get("sha256"), f"{where}.sha256", _SHA256, "a SHA-256"),
        quick_hash=read.pattern(entry.get("quick_hash"), f"{where}.quick_hash", _QUICK_HASH,
                                "a quick hash"),
        sources=tuple(read.url(u, f"{where}.sources[{i}]") for i, u in
                      enumerate(read.items(entry.get("sources"), f"{where}.sources", 16))),
        nodes=read.node_ids(entry.get("nodes"), f"{where}.nodes"),
        required=read.flag(entry.get("required"), f"{where}.required"),
    )


def _skipped(read: _Reader, value: Any, where: str) -> Skipped:
    entry = read.table(value, where)
    return Skipped(
        name=read.text(entry.get("name"), f"{where}.name"),
        folder=read.folder(entry.get("folder"), f"{where}.folder"),
        nodes=read.node_ids(entry.get("nodes"), f"{where}.nodes"),
        required=read.flag(entry.get("required"), f"{where}.required"),
    )


def _files(read: _Reader, value: Any) -> dict[str, tuple[int, str]]:
    table = read.table(value, "files")
    if len(table) > MAX_ITEMS:
        raise read.fail("files", f"lists more than {MAX_ITEMS} members")
    files = {}
    for name, entry in table.items():
        where = f"files[{json.dumps(name)[:80]}]"
        if name == MANIFEST:
            raise read.fail(where, "lists the manifest itself")
        read.relative(name, where)
        item = read.table(entry, where)
        files[name] = (read.size(item.get("size"), f"{where}.size"),
                       read.pattern(item.get("sha256"), f"{where}.sha256", _SHA256,
                                    "a SHA-256"))
    if WORKFLOW not in files:
        raise read.fail("files", f"does not list {WORKFLOW}")
    return files


def expected_members(data: bytes) -> dict[str, tuple[int, str]]:
    """The reader's callback: every member the manifest promises, after checking all of it."""
    return dict(parse(data).files)
