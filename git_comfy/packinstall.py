"""Installing the custom node packs a bundle needs, without leaving ComfyUI half-changed.

Each pack is fetched in full into a temporary folder beside ``custom_nodes/`` — a registry
pack's zip through :mod:`git_comfy.packzip`, a git pack cloned at its pinned commit through
:mod:`git_comfy.packclone`, a dev node copied from the bundle — and moved into place only when
complete. A pack installed at another version is replaced only with consent, and the old one is
kept aside (``custom_nodes/.git-comfy-old/``) until the new one is in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from git_comfy import atomic, customnodes, ui
from git_comfy.core import bundle, devnodes, nodepacks, packs, sources
from git_comfy.core.nodepacks import Pack
from git_comfy.errors import FatalError

INSTALL, PRESENT, UPDATE, BLOCKED = "install", "present", "update", "blocked"
REGISTRY, GIT, FROM_BUNDLE = "registry", "git", "bundle"
OLD = ".git-comfy-old"  # hidden: ComfyUI skips folders whose name starts with a dot
MAX_ARCHIVE = 512 << 20
TRACKING = ".tracking"


@dataclass(frozen=True)
class PackAction:
    node: bundle.Node
    action: str  # install, present, update or blocked
    how: str | None  # registry, git or bundle
    folder: str  # its folder name in custom_nodes/
    installed_version: str | None = None
    installed_path: str | None = None
    reason: str | None = None  # why it is blocked


def _folder_name(node: bundle.Node) -> str:
    if node.path:
        return node.path.split("/", 1)[1]
    if node.registry_id:
        return node.registry_id
    name = (node.repository or node.package).rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return name


def _how(node: bundle.Node, allowed: Sequence[str]) -> tuple[str | None, str | None]:
    """(how it would be fetched, or None; why it cannot be)."""
    if node.path:
        return FROM_BUNDLE, None
    if node.registry_id and packs.is_semver(node.version):
        return REGISTRY, None
    if node.repository and packs.is_commit(node.version):
        refusal = sources.refusal(node.repository, allowed)
        return (None, refusal) if refusal else (GIT, None)
    if node.repository:
        return None, "no pinned commit or registry version in the bundle: install it yourself"
    return None, "the bundle names no registry version and no repository"


def plan(custom_nodes: str, nodes: Sequence[tuple[bundle.Node, str, str | None, str | None]],
         allowed: Sequence[str]) -> list[PackAction]:
    """One action per pack: ``nodes`` is (node, state here, installed version, installed path)
    with the states of :mod:`git_comfy.importplan` (installed, other-version, missing, dev)."""
    actions = []
    for node, state, version, path in nodes:
        folder = _folder_name(node)
        if state == "installed":
            actions.append(PackAction(node, PRESENT, None, folder, version, path))
            continue
        how, reason = _how(node, allowed)
        try:
            devnodes.check_name(folder)
        except FatalError:
            how, reason = None, f"{ui.printable(folder)} cannot be a folder in custom_nodes/"
        taken = os.path.join(custom_nodes, folder)
        if how and state != "other-version" and os.path.lexists(taken):
            how, reason = None, (f"custom_nodes/{folder} exists and is another pack; "
                                 "install it yourself")
        action = BLOCKED if how is None else UPDATE if state == "other-version" else INSTALL
        actions.append(PackAction(node, action, how, folder, version, path, reason))
    return actions


def _fetch(action: PackAction, into: str, unpacked: str | None) -> None:
    """The whole pack at ``into`` (which does not exist yet)."""
    node = action.node
    if action.how == FROM_BUNDLE:
        assert node.path is not None and unpacked is not None
        shutil.copytree(os.path.join(unpacked, *node.path.split("/")), into, symlinks=True)
    elif action.how == GIT:
        from git_comfy import packclone

        assert node.repository is not None and node.version is not None
        packclone.clone(node.repository, node.version, into)
    else:
        from git_comfy import nodeanalysis, packzip, registry, webcache

        assert node.registry_id is not None and node.version is not None
        settings = nodeanalysis.settings()
        web = webcache.Web(timeout=settings.timeout)
        try:
            url = registry.Registry(web, settings.registry_url).download_url(
                node.registry_id, node.version)
        finally:
            web.close()
        if url is None:
            raise FatalError(f"the registry has no download for {node.registry_id} "
                             f"{node.version}")
        archive = f"{into}.zip"
        registry.fetch_archive(url, archive, max_size=MAX_ARCHIVE)
        os.mkdir(into, 0o755)
        written = packzip.extract(archive, into)
        # as ComfyUI-Manager marks a registry install: the files it unpacked, one per line
        atomic.write(os.path.join(into, TRACKING), "".join(f"{name}\n" for name in written
                                                           ).encode(), durable=False)


def _swap(custom_nodes: str, staged: str, folder: str) -> str | None:
    """Moves the staged pack into place; an installed one of that name is kept aside first
    (and put back when the move fails). Returns where the old one went."""
    target = os.path.join(custom_nodes, folder)
    kept = None
    if os.path.lexists(target):
        aside = os.path.join(custom_nodes, OLD)
        os.makedirs(aside, exist_ok=True)
        kept = os.path.join(aside, f"{folder}-{time.strftime('%Y%m%d-%H%M%S')}")
        os.rename(target, kept)
    try:
        os.rename(staged, target)
    except OSError:
        if kept is not None:
            os.rename(kept, target)
        raise
    return kept


def install(actions: Sequence[PackAction], custom_nodes: str,
            unpacked: str | None) -> list[str]:
    """Installs every pack to install or update; returns one line per pack done. A pack that
    cannot be fetched stops the import with nothing of it in ``custom_nodes/``."""
    done = []
    os.makedirs(custom_nodes, exist_ok=True)
    for action in actions:
        if action.action not in (INSTALL, UPDATE):
            continue
        staging = tempfile.mkdtemp(prefix=".git-comfy-install-", dir=custom_nodes)
        try:
            staged = os.path.join(staging, action.folder)
            try:
                _fetch(action, staged, unpacked)
            except OSError as error:
                raise FatalError(f"cannot install {action.node.package}: "
                                 f"{error.strerror or error}; nothing of it was installed"
                                 ) from None
            kept = _swap(custom_nodes, staged, action.folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        note = f" (the old one is in {kept})" if kept else ""
        done.append(f"installed {ui.printable(action.node.package)} "
                    f"{(action.node.version or '')[:12]} in custom_nodes/{action.folder}{note}")
    return done


def installed(comfyui: str, dev: Mapping[str, str],
              nodes: Sequence[bundle.Node]) -> list[Pack | None]:
    """The installed pack each of ``nodes`` names (None where none does), read statically, with
    git's full view of the ones found (a clone's version is its HEAD), in one batch."""
    survey = customnodes.survey(comfyui, dev, status=False)
    found = [nodepacks.installed_pack(survey.packs, node.package, node.registry_id,
                                      node.repository) for node in nodes]
    completed = iter(customnodes.with_status([pack for pack in found if pack is not None]))
    return [None if pack is None else next(completed) for pack in found]


def missing_types(comfyui: str, dev: Mapping[str, str], nodes: Sequence[bundle.Node]
                  ) -> list[str]:
    """Checked after, statically: each node type the bundle's packs provide must now be defined
    by an installed pack at the recorded version. Returns what is not, one line each."""
    problems = []
    for node, pack in zip(nodes, installed(comfyui, dev, nodes), strict=True):
        if pack is None:
            problems += [f"{t}: no installed pack provides it ({node.package})"
                         for t in node.node_types]
            continue
        if node.version and pack.identity.version and pack.identity.version != node.version:
            problems.append(f"{node.package}: installed at {pack.identity.version[:12]}, the "
                            f"bundle needs {node.version[:12]}")
        if pack.complete:  # frontend-only types live in the pack's JavaScript, not its mappings
            problems += [f"{t}: {pack.name} does not define it (renamed upstream?)"
                         for t in node.node_types
                         if t not in pack.types and nodepacks.frontend_pack(t) is None]
    return problems
