"""Which custom node packages a workflow needs, at which versions, and where they come from.

Sources, in order of trust (each only asked about what the ones before it left open):

1. the node's own properties: ``cnr_id`` (registry id), ``aux_id`` (GitHub ``owner/repo``),
   ``ver`` (semver or commit) — what the editor wrote when the node was made;
2. the packs installed in this ComfyUI (:class:`Pack`, read statically by the shell);
3. a running ComfyUI's ``/object_info`` (``python_module`` names the pack's folder);
4. ComfyUI-Manager's node map (type → repositories);
5. the Comfy Registry (``/comfy-nodes/{type}/node``).

A node type is built in when its ``cnr_id`` is ``comfy-core`` or ComfyUI defines it; those are
not listed. Frontend-only types are not node types of any pack, except the few a pack's own
JavaScript draws (rgthree's ``Label (rgthree)``, KJNodes' ``SetNode``…): without that pack the
editor shows them as missing nodes and cannot queue the workflow, so their pack is listed, with
``frontend_only``. When several packs claim a type, an installed one wins, then the node's
``cnr_id``; what is left is the user's choice (:meth:`Resolver.choose`) or ``ambiguous``.
Pure: the shell gathers each source and hands it in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from git_comfy.core import packs
from git_comfy.core.graph import Workflow
from git_comfy.core.packs import Identity, RegistryNode, Source, id_key, repo_key

INSTALLED, RESOLVED, AMBIGUOUS, UNKNOWN = "installed", "resolved", "ambiguous", "unknown"
# how a type was placed, strongest first
HOWS = ("cnr_id", "aux_id", "installed", "frontend", "server", "node-map", "registry", "chosen")

KJNODES = ("comfyui-kjnodes", "https://github.com/kijai/ComfyUI-KJNodes")
RGTHREE = ("rgthree-comfy", "https://github.com/rgthree/rgthree-comfy")
FRONTEND_PACKS = {"SetNode": KJNODES, "GetNode": KJNODES}  # plus every "… (rgthree)" type


def frontend_pack(node_type: str) -> tuple[str, str] | None:
    """The pack whose JavaScript draws a frontend-only node type, when one does."""
    return RGTHREE if node_type.endswith(" (rgthree)") else FRONTEND_PACKS.get(node_type)


@dataclass(frozen=True, slots=True)
class Pack:
    """A pack installed in ComfyUI's ``custom_nodes/`` (or a dev node), as the shell read it."""

    name: str  # folder or file name, without ``.disabled``
    path: str
    types: frozenset[str]
    complete: bool  # False: some of its types are built at run time
    disabled: bool
    identity: Identity
    dev: bool = False
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A package some source says provides a node type."""

    package: str  # registry id, else repository, else folder name
    registry_id: str | None = None
    repository: str | None = None
    installed: Pack | None = None
    title: str | None = None
    version: str | None = None  # a version the source states (the server's folder@version)

    def label(self) -> str:
        where = f" ({self.repository})" if self.repository and self.repository != self.package \
            else ""
        state = " [installed]" if self.installed else ""
        return f"{self.package}{where}{state}"


@dataclass
class Usage:
    """One node type as the workflow uses it (with one cnr_id/aux_id), and where it was put."""

    type: str
    cnr_id: str | None
    aux_repository: str | None
    frontend: bool
    node_ids: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)  # each node's ver
    active: bool = False
    status: str | None = None  # None: not placed yet
    how: str | None = None
    candidate: Candidate | None = None
    candidates: tuple[Candidate, ...] = ()
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Requirement:
    """One package the workflow needs (or one open question about a node type)."""

    package: str | None
    node_types: tuple[str, ...]
    version: str | None
    source: Source
    repository: str | None
    status: str
    how: str | None
    node_ids: tuple[str, ...]
    required: bool  # False when every node using it is muted or bypassed
    frontend_only: bool
    path: str | None = None
    disabled: bool = False
    candidates: tuple[Candidate, ...] = ()
    notes: tuple[str, ...] = ()


def installed_pack(installed: Sequence[Pack], package: str, registry_id: str | None,
                   repository: str | None, node_type: str | None = None) -> Pack | None:
    """The installed pack a package names (same registry id, folder or repository),
    preferring an enabled one (that defines ``node_type``, when given)."""
    ids = {id_key(v) for v in (registry_id, package) if v}
    repo = repo_key(repository) if repository else None
    matches = [
        pack for pack in installed
        if (pack.identity.registry_id and id_key(pack.identity.registry_id) in ids)
        or packs.folder_key(pack.name) in ids
        or (repo and pack.identity.repository and repo_key(pack.identity.repository) == repo)
    ]
    matches.sort(key=lambda p: (p.disabled, node_type is not None and node_type not in p.types,
                                not p.dev))
    return matches[0] if matches else None


def usages(workflow: Workflow, builtin: Collection[str]) -> list[Usage]:
    """The node types of ``workflow`` that are not built in, one usage per (type, cnr_id,
    aux_id), in document order."""
    found: dict[tuple[str, str | None, str | None], Usage] = {}
    for node in workflow.nodes:
        frontend = node.frontend_only
        if (frontend and frontend_pack(node.type) is None) or node.kind in ("subgraph", "group"):
            continue
        properties = node.properties
        cnr = packs.clean_text(properties.get("cnr_id"))
        if cnr is not None and packs.is_core(cnr):
            continue
        aux = packs.github_repository(properties.get("aux_id"))
        if cnr is None and aux is None and node.type in builtin and not frontend:
            continue
        key = (node.type, id_key(cnr) if cnr else None, aux)
        usage = found.get(key)
        if usage is None:
            usage = found[key] = Usage(node.type, cnr, aux, frontend)
        usage.node_ids.append(node.id)
        usage.active = usage.active or node.active
        version = packs.normal_version(properties.get("ver"))
        if version is not None:
            usage.versions.append(version)  # one per node: the most used commit wins
    return list(found.values())


def _semver_key(version: str) -> tuple[int, ...]:
    core = version.split("-", 1)[0].split("+", 1)[0]
    return tuple(int(part) for part in core.split(".") if part.isdigit())


def pick_version(values: Sequence[str]) -> str | None:
    """The version to pin among those the nodes were saved with: the highest release (the
    registry can install it), else the commit most nodes name."""
    releases = [v for v in values if packs.is_semver(v)]
    if releases:
        return max(releases, key=_semver_key)
    return Counter(values).most_common(1)[0][0] if values else None


class Resolver:
    """Places each usage, source by source; :meth:`requirements` gives the answer."""

    def __init__(self, workflow: Workflow, builtin: Collection[str],
                 installed: Sequence[Pack]) -> None:
        self.usages = usages(workflow, builtin)
        self.packs = list(installed)
        # older frontends wrote each pack's version at save time (keyed by folder or id)
        extra = workflow.document.get("extra")
        hints = extra.get("node_versions") if isinstance(extra, dict) else None
        self._hints = {id_key(k): packs.normal_version(v)
                       for k, v in (hints if isinstance(hints, dict) else {}).items()}
        self._by_type: dict[str, list[Pack]] = {}
        for pack in self.packs:
            for node_type in pack.types:
                self._by_type.setdefault(node_type, []).append(pack)
        for usage in self.usages:
            self._place_local(usage)

    # -- placing ---------------------------------------------------------------------------

    def pending(self) -> list[str]:
        """The node types no source so far could place."""
        return sorted({u.type for u in self.usages if u.status is None})

    def _installed(self, candidate: Candidate, node_type: str) -> Pack | None:
        return installed_pack(self.packs, candidate.package, candidate.registry_id,
                              candidate.repository, node_type)

    def _place(self, usage: Usage, candidate: Candidate, how: str) -> None:
        installed = candidate.installed or self._installed(candidate, usage.type)
        usage.candidate = replace(candidate, installed=installed)
        usage.status, usage.how = (INSTALLED if installed else RESOLVED), how
        if installed is None:
            others = [p.name for p in self._by_type.get(usage.type, ())]
            if others:
                usage.notes.append(f"{usage.type} is also defined by installed "
                                   f"{', '.join(others)}")

    def _place_among(self, usage: Usage, candidates: list[Candidate], how: str) -> None:
        linked = [replace(c, installed=c.installed or self._installed(c, usage.type))
                  for c in candidates]
        installed = {c.installed.path: c for c in linked if c.installed}
        if len(installed) == 1:
            self._place(usage, next(iter(installed.values())), how)
        elif len(linked) == 1:
            self._place(usage, linked[0], how)
        else:
            usage.status, usage.how = AMBIGUOUS, how
            usage.candidates = tuple(installed.values()) if installed else tuple(linked)

    def _place_local(self, usage: Usage) -> None:
        if usage.frontend:
            registry_id, repository = frontend_pack(usage.type) or ("", "")
            self._place(usage, Candidate(registry_id, registry_id, repository), "frontend")
        elif usage.cnr_id:
            self._place(usage, Candidate(usage.cnr_id, usage.cnr_id, usage.aux_repository),
                        "cnr_id")
        elif usage.aux_repository:
            self._place(usage, Candidate(usage.aux_repository, None, usage.aux_repository),
                        "aux_id")
        else:
            defining = self._by_type.get(usage.type, [])
            enabled = [p for p in defining if not p.disabled] or defining
            if enabled:
                self._place_among(usage, [Candidate(p.identity.package, p.identity.registry_id,
                                                    p.identity.repository, p)
                                          for p in enabled], "installed")

    def add_server(self, modules: Mapping[str, Any]) -> None:
        """A running ComfyUI's ``python_module`` per type (``custom_nodes.<folder>[@ver]``)."""
        for usage in self._open():
            module = modules.get(usage.type)
            if packs.is_core_module(module):
                self.usages.remove(usage)  # the server runs it as a built-in
                continue
            folder = packs.python_module_folder(module)
            if folder is not None:
                name, version = folder
                self._place(usage, Candidate(name, name.lower() if version else None,
                                             version=version), "server")

    def add_node_map(self, claims: Mapping[str, list[Candidate]],
                     core_types: Collection[str] = ()) -> None:
        """The node map's claimants per type; ``core_types`` are those ComfyUI's own entry
        lists (built in, as Manager treats them)."""
        for usage in self._open():
            if usage.type in core_types:
                self.usages.remove(usage)
            elif claims.get(usage.type):
                self._place_among(usage, list(claims[usage.type]), "node-map")

    def add_registry(self, found: Mapping[str, RegistryNode]) -> None:
        """The registry's answer to ``/comfy-nodes/{type}/node`` per type it knows."""
        for usage in self._open():
            node = found.get(usage.type)
            if node is not None:
                self._place(usage, Candidate(node.id, node.id, node.repository), "registry")

    def used_packs(self) -> list[Pack]:
        """The installed packs the workflow's types were placed in."""
        used = {u.candidate.installed.path: u.candidate.installed for u in self.usages
                if u.candidate and u.candidate.installed}
        return list(used.values())

    def refresh(self, updated: Sequence[Pack]) -> None:
        """Puts packs whose identity the shell completed in place of their first reading."""
        by_path = {pack.path: pack for pack in updated}
        self.packs = [by_path.get(pack.path, pack) for pack in self.packs]
        for usage in self.usages:
            candidate = usage.candidate
            if candidate and candidate.installed and candidate.installed.path in by_path:
                usage.candidate = replace(candidate, installed=by_path[candidate.installed.path])

    def _open(self) -> list[Usage]:
        return [u for u in self.usages if u.status is None]

    def ambiguous(self) -> list[Usage]:
        return [u for u in self.usages if u.status == AMBIGUOUS]

    def choose(self, usage: Usage, candidate: Candidate) -> None:
        """The user's answer to an ambiguous type."""
        usage.candidates = ()
        self._place(usage, candidate, "chosen")

    def answer(self, answers: Mapping[str, Candidate]) -> None:
        """The user's answers given up front (``--node TYPE=PACKAGE``): each type named is
        placed in that package, whatever the sources said; a candidate among the ambiguous
        ones that is the same package is taken as it is (it knows more)."""
        for usage in self.usages:
            given = answers.get(usage.type)
            if given is None:
                continue
            same = [c for c in usage.candidates if _same_package(c, given)]
            self.choose(usage, same[0] if same else given)

    def registry_ids(self) -> list[str]:
        """Registry ids of packs not installed here, whose repository or versions the registry
        can tell (``/nodes/{id}``, ``/nodes/{id}/versions``)."""
        return sorted({u.candidate.registry_id for u in self.usages
                       if u.candidate and u.candidate.registry_id and not u.candidate.installed
                       and u.status == RESOLVED})

    # -- the answer ------------------------------------------------------------------------

    def requirements(self, registry: Mapping[str, RegistryNode] | None = None,
                     published: Mapping[str, list[str]] | None = None) -> list[Requirement]:
        """One requirement per package (placed types), per ambiguous type, and one for all
        unknown types. ``registry``/``published``: what the registry said per id key."""
        registry, published = registry or {}, published or {}
        groups: dict[str, list[Usage]] = {}
        for usage in self.usages:
            if usage.status in (INSTALLED, RESOLVED):
                groups.setdefault(self._group_key(usage), []).append(usage)
        merged = _merge(groups)
        placed = [self._requirement(us, registry, published) for us in merged]
        placed.sort(key=lambda r: (r.package or "").casefold())
        questions = [_open_requirement(u, AMBIGUOUS, u.candidates)
                     for u in self.usages if u.status == AMBIGUOUS]
        unknown = [u for u in self.usages if u.status in (None, UNKNOWN)]
        if unknown:
            placed_unknown = _open_requirement(unknown[0], UNKNOWN, ())
            placed_unknown = replace(
                placed_unknown,
                node_types=tuple(sorted({u.type for u in unknown})),
                node_ids=tuple(i for u in unknown for i in u.node_ids),
                required=any(u.active for u in unknown))
            questions.append(placed_unknown)
        return placed + questions

    def _group_key(self, usage: Usage) -> str:
        candidate = usage.candidate
        assert candidate is not None
        if candidate.installed is not None:
            return f"path:{candidate.installed.path}"
        if candidate.registry_id:
            return f"id:{id_key(candidate.registry_id)}"
        if candidate.repository:
            return f"repo:{repo_key(candidate.repository)}"
        return f"name:{id_key(candidate.package)}"

    def _requirement(self, group: list[Usage], registry: Mapping[str, RegistryNode],
                     published: Mapping[str, list[str]]) -> Requirement:
        candidates = [u.candidate for u in group if u.candidate]
        pack = next((c.installed for c in candidates if c.installed), None)
        every = [v for u in group for v in u.versions]
        seen = list(dict.fromkeys(every))
        notes = [n for u in group for n in u.notes]
        registry_id = next((c.registry_id for c in candidates if c.registry_id), None)
        info = registry.get(id_key(registry_id)) if registry_id else None
        repository = next((c.repository for c in candidates if c.repository), None)
        if pack is not None:
            identity = pack.identity
            package = pack.name if pack.dev else identity.package
            version, source = identity.version, ("dev" if pack.dev else identity.source)
            repository = identity.repository or repository
            notes += identity.notes
            if pack.disabled:
                notes.append(f"installed but disabled ({pack.path})")
            if seen and version not in seen:
                notes.append(f"the workflow was saved with {', '.join(seen)}; "
                             f"installed: {version or 'no version'}")
        else:
            package = registry_id or repository or candidates[0].package
            version = pick_version(every) or next(
                (c.version for c in candidates if c.version), None) or self._hint(candidates)
            repository = repository or (info.repository if info else None)
            if info is not None and info.problem:
                notes.append(info.problem)
            if len(seen) > 1:
                notes.append(f"the nodes were saved with {len(seen)} versions: {', '.join(seen)}")
            source = _source(registry_id, version, repository)
            versions = published.get(id_key(registry_id)) if registry_id else None
            if versions is not None and packs.is_semver(version) and version not in versions:
                notes.append(f"version {version} is not published in the registry")
        hows = [u.how for u in group if u.how]
        return Requirement(
            package=package, node_types=tuple(sorted({u.type for u in group})), version=version,
            source=source, repository=repository, status=INSTALLED if pack else RESOLVED,
            how=min(hows, key=HOWS.index) if hows else None,
            node_ids=tuple(i for u in group for i in u.node_ids),
            required=any(u.active for u in group),
            frontend_only=all(u.frontend for u in group), path=pack.path if pack else None,
            disabled=bool(pack and pack.disabled), notes=tuple(dict.fromkeys(notes)))

    def _hint(self, candidates: list[Candidate]) -> str | None:
        """A version from the workflow's ``extra.node_versions`` (keyed by folder or id)."""
        for candidate in candidates:
            for name in (candidate.registry_id, candidate.package,
                         (candidate.repository or "").rsplit("/", 1)[-1]):
                if name and self._hints.get(id_key(name)):
                    return self._hints[id_key(name)]
        return None


def _same_package(one: Candidate, other: Candidate) -> bool:
    if one.registry_id and other.registry_id:
        return id_key(one.registry_id) == id_key(other.registry_id)
    keys = [repo_key(c.repository) if c.repository else None for c in (one, other)]
    return keys[0] is not None and keys[0] == keys[1]


_REGISTRY_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


def answer_candidate(text: str) -> Candidate | None:
    """The package a ``--node TYPE=PACKAGE`` answer names: a registry id (``comfyui-kjnodes``)
    or an https repository; None when it is neither."""
    repository = packs.https_repository(text)
    if repository is not None:
        return Candidate(repository, None, repository)
    registry_id = text.strip().lower()
    if _REGISTRY_ID.fullmatch(registry_id):
        return Candidate(registry_id, registry_id)
    return None


def _source(registry_id: str | None, version: str | None, repository: str | None) -> Source:
    if packs.is_commit(version):
        return "git"
    if registry_id:
        return "registry"
    return "git" if repository else "unknown"


def _merge(groups: dict[str, list[Usage]]) -> list[list[Usage]]:
    """Groups that name one package in different ways become one: a registry id and a
    repository the registry (or the repository's own name) ties to it."""
    ids = {key[3:]: key for key in groups if key.startswith("id:")}
    target: dict[str, str] = {}
    for key, group in groups.items():
        if not key.startswith("repo:"):
            continue
        tied = {id_key(c.registry_id) for u in group if (c := u.candidate) and c.registry_id}
        tied.add(id_key(key.rsplit("/", 1)[-1]))
        match = next((ids[i] for i in sorted(tied) if i in ids), None)
        if match is not None:
            target[key] = match
    for key, group in groups.items():  # a repository an id group states
        if key.startswith("id:"):
            for usage in group:
                if usage.candidate and usage.candidate.repository:
                    repo = f"repo:{repo_key(usage.candidate.repository)}"
                    if repo in groups and repo not in target:
                        target[repo] = key
    result: dict[str, list[Usage]] = {}
    for key, group in groups.items():
        result.setdefault(target.get(key, key), []).extend(group)
    return list(result.values())


def _open_requirement(usage: Usage, status: str,
                      candidates: tuple[Candidate, ...]) -> Requirement:
    return Requirement(
        package=None, node_types=(usage.type,), version=None, source="unknown",
        repository=None, status=status, how=usage.how, node_ids=tuple(usage.node_ids),
        required=usage.active, frontend_only=usage.frontend, candidates=candidates,
        notes=tuple(usage.notes))


def as_json(requirement: Requirement) -> dict[str, Any]:
    """The ``custom_nodes`` item of ``analyze --json``."""
    return {
        "package": requirement.package,
        "node_types": list(requirement.node_types),
        "version": requirement.version,
        "source": requirement.source,
        "repository": requirement.repository,
        "status": requirement.status,
        "how": requirement.how,
        "node_ids": list(requirement.node_ids),
        "required": requirement.required,
        "frontend_only": requirement.frontend_only,
        "path": requirement.path,
        "disabled": requirement.disabled,
        "candidates": [
            {"package": c.package, "repository": c.repository,
             "installed": c.installed.path if c.installed else None, "title": c.title}
            for c in requirement.candidates
        ],
        "notes": list(requirement.notes),
    }
