"""Import's first half: a stranger's bundle read and verified, and the plan made — what each
custom node, pip requirement and model means on this machine, and where the workflow goes —
before anything changes (seed, "Import Command"; notes/security.md).

The bundle is copied into a fresh private folder first and everything — the signature, the
checksums, the manifest — is checked on that copy, so a file changed meanwhile cannot slip
between the check and the use.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from git_comfy import (
    atomic,
    bundleread,
    comfyui,
    customnodes,
    environment,
    git,
    modelplace,
    nodeanalysis,
    packclone,
    packinstall,
    pyenv,
    signing,
    ui,
)
from git_comfy.core import (
    bundle,
    graph,
    jsonsafe,
    models,
    pipcheck,
    pipplan,
    project,
    substitute,
)
from git_comfy.errors import FatalError
from git_comfy.index import ModelIndex

MAX_BUNDLE = bundleread.Limits().total  # a bundle is a workflow and source code, never models
REQUIRE_SIGNED = "comfy.requireSignedBundles"

# what the workflow file at the destination is, compared with what the import would write
NEW, SAME, DIFFERS = "new", "same", "differs"


@dataclass(frozen=True)
class NodePlan:
    node: bundle.Node
    state: str  # installed (same version), other-version, missing, dev
    installed_version: str | None
    installed_path: str | None
    pip: tuple[pipcheck.Verdict, ...]


@dataclass(frozen=True)
class Python:
    """ComfyUI's interpreter and what it has, or why it was not found."""

    interpreter: pyenv.Interpreter | None
    problem: str | None
    lines: tuple[pipplan.Line, ...]


@dataclass
class Plan:
    env: environment.Environment
    bundle_path: str
    manifest: bundle.Manifest
    signature: signing.Verdict | None
    name: str  # the workflow's name in ComfyUI
    target: str  # its file
    destination: str  # NEW, SAME or DIFFERS
    workflow: bytes  # as it will be written: its model names are the ones they have here
    nodes: list[NodePlan]
    placements: list[modelplace.Placement]
    packs: list[packinstall.PackAction]
    python: Python
    unpacked: str  # the bundle's members, in the private folder, while the import runs

    def missing_required(self) -> list[modelplace.Placement]:
        return [p for p in self.placements
                if p.action == modelplace.MISSING and p.model.required]


@contextmanager
def private_copy(path: str) -> Iterator[str]:
    """The bundle copied into a fresh folder only this user can read (its members are unpacked
    beside it); all removed at the end."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise FatalError(f"cannot read the bundle {path}: {error.strerror}") from None
    if not os.path.isfile(path):
        raise FatalError(f"{path} is not a bundle file")
    if info.st_size > MAX_BUNDLE:
        raise FatalError(f"{path} is {ui.human_size(info.st_size)}: larger than any bundle "
                         f"({ui.human_size(MAX_BUNDLE)}); it is not one")
    folder = tempfile.mkdtemp(prefix="git-comfy-import-")
    try:
        copy = os.path.join(folder, "bundle.tar.gz")
        try:
            shutil.copyfile(path, copy)
        except OSError as error:
            raise FatalError(f"cannot read the bundle {path}: {error.strerror}") from None
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def required_signature() -> bool:
    value = git.config_get(REQUIRE_SIGNED)
    return value is not None and value.lower() in ("true", "yes", "on", "1")


def _nodes(env: environment.Environment, manifest: bundle.Manifest) -> list[NodePlan]:
    found = []
    for node, pack in zip(manifest.nodes, packinstall.installed(
            env.comfyui, nodeanalysis.dev_paths(env), manifest.nodes), strict=True):
        verdicts = tuple(pipcheck.check_all(node.pip))
        if pack is None:
            found.append(NodePlan(node, "dev" if node.path else "missing", None, None, verdicts))
            continue
        version = pack.identity.version
        same = node.version is None or version == node.version
        found.append(NodePlan(node, "installed" if same else "other-version", version,
                              pack.path, verdicts))
    return found


def renames(document: dict[str, Any],
            placements: list[modelplace.Placement]) -> dict[tuple[str | None, str], str]:
    """(folder, normalised reference) → the name the model has here, for each reference of the
    workflow that a placed model answers."""
    named = {(p.model.folder, models.normalise(p.model.name)): p.name for p in placements
             if p.name is not None}
    found = {}
    for ref in models.references(graph.parse(document)):
        for (folder, name), local in named.items():
            if ref.normalised == name and ref.folder in (folder, None) and local is not None:
                found[(ref.folder, ref.normalised)] = local
    return found


def _python(comfyui: str, nodes: list[NodePlan],
            actions: list[packinstall.PackAction]) -> Python:
    """The requirements of every pack that is or will be installed (a blocked pack's are not
    installed either) against what ComfyUI's interpreter has."""
    blocked = {a.node.package for a in actions if a.action == packinstall.BLOCKED}
    lines = {n.node.package: n.pip for n in nodes if n.pip and n.node.package not in blocked}
    if not lines:
        return Python(None, None, ())
    try:
        interpreter = pyenv.find(comfyui)
        have = pyenv.installed(interpreter)
    except FatalError as error:
        return Python(None, str(error), tuple(pipplan.plan(lines, {})))
    return Python(interpreter, None, tuple(pipplan.plan(lines, have)))


def make(path: str, copy: str, *, as_name: str | None, require_signed: bool) -> Plan:
    """Verifies the private copy of the bundle and plans the import; changes nothing but the
    model index's cache."""
    env = environment.discover()
    signature = signing.check(path, signed=copy, require=require_signed or required_signature(),
                              required_by=f"--require-signed or {REQUIRE_SIGNED}")
    unpacked = os.path.join(os.path.dirname(copy), "members")
    os.mkdir(unpacked, 0o700)
    contents = bundleread.read(copy, bundle.expected_members, dest=unpacked,
                               keep=(bundle.WORKFLOW,))
    manifest = bundle.parse(contents.small[bundle.MANIFEST])
    data = contents.small[bundle.WORKFLOW]
    workflow = graph.load(data, f"{path}: {bundle.WORKFLOW}")
    if workflow.format != manifest.workflow_format:
        raise FatalError(f"{path}: the manifest says the workflow is in {manifest.workflow_format}"
                         f" format, but it is in {workflow.format} format")
    name = project.canonical_name(as_name or manifest.workflow)
    target = comfyui.workflow_path(env.comfyui, name)
    with ModelIndex.open() as index:
        from git_comfy import modelroots

        roots = modelroots.roots(env.comfyui, index.added_dirs())
        index.scan(roots)
        placements = modelplace.plan(index, roots, env.comfyui, manifest.models)
    document, _changes = substitute.substitute(
        workflow.document, renames(workflow.document, placements), os.sep)
    written = jsonsafe.dumps(document, jsonsafe.layout_of(data))
    existing = atomic.read(target, jsonsafe.MAX_BYTES + 1)
    destination = NEW if existing is None else SAME if existing == written else DIFFERS
    nodes = _nodes(env, manifest)
    custom_nodes = os.path.join(env.comfyui, customnodes.CUSTOM_NODES)
    actions = packinstall.plan(
        custom_nodes, [(n.node, n.state, n.installed_version, n.installed_path) for n in nodes],
        packclone.allowed_sources())
    return Plan(env, path, manifest, signature, name, target, destination, written, nodes,
                placements, actions, _python(env.comfyui, nodes, actions), unpacked)
