"""The custom nodes a workflow needs: every source asked in order of trust (the node's own
properties, the installed packs, a running ComfyUI, ComfyUI-Manager's node map, the Comfy
Registry), each only about what the ones before left open, then the open questions asked on a
terminal. The rules are :mod:`git_comfy.core.nodepacks`; this module gathers the facts.

Settings (git config): ``comfy.registryUrl``, ``comfy.nodeMapUrl``, ``comfy.networkTimeout``.
Without network every answer comes from the cache, and what no source can place is reported
``unknown``: the analysis never fails for lack of network.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from git_comfy import customnodes, environment, git, nodemap, registry, ui, webcache
from git_comfy.core import devnodes, nodepacks, packs
from git_comfy.core.graph import Workflow
from git_comfy.core.nodepacks import Requirement, Resolver
from git_comfy.errors import FatalError


@dataclass(frozen=True)
class Settings:
    registry_url: str = registry.DEFAULT_URL
    node_map_url: str = nodemap.DEFAULT_URL
    timeout: float = webcache.TIMEOUT


def settings() -> Settings:
    """The ``comfy.*`` network settings, read with one git call (git lowercases the keys)."""
    code, out, _ = git.run(["config", "--get-regexp", r"^comfy\."], check=False)
    values: dict[str, str] = {}
    for line in out.decode("utf-8", "replace").splitlines() if code == 0 else ():
        key, _, value = line.partition(" ")
        values[key] = value
    timeout = webcache.TIMEOUT
    if "comfy.networktimeout" in values:
        try:
            timeout = float(values["comfy.networktimeout"])
        except ValueError:
            timeout = -1
        if not 0 < timeout <= 600:
            raise FatalError(f"git config comfy.networkTimeout is "
                             f"{values['comfy.networktimeout']!r}; give seconds, like 5")
    return Settings(values.get("comfy.registryurl") or registry.DEFAULT_URL,
                    values.get("comfy.nodemapurl") or nodemap.DEFAULT_URL, timeout)


def dev_paths(env: environment.Environment) -> dict[str, str]:
    """The recorded dev nodes, name → absolute path."""
    document = environment.parse_pyproject(env.path(environment.PYPROJECT))
    return {name: os.path.normpath(path if os.path.isabs(path) else environment.at(env.root, path))
            for name, path in devnodes.dev_nodes(document).items()}


@dataclass
class NodeReport:
    requirements: list[Requirement]
    notices: list[str] = field(default_factory=list)  # network sources and their answers
    problems: list[str] = field(default_factory=list)  # installed packs not fully readable
    builtin_source: str = ""


def analyze(workflow: Workflow, env: environment.Environment | None, *,
            server: str | None = None, offline: bool = False, ask: bool = False,
            answers: Mapping[str, nodepacks.Candidate] | None = None) -> NodeReport:
    """The custom node packages ``workflow`` needs; ``answers`` place node types as the user
    said (``--node``); on a terminal (``ask``), each type several packages claim is a
    question."""
    config = settings()
    # git status only for the packs the workflow turns out to use: 100 packs cost 100 of them
    survey = customnodes.survey(env.comfyui if env else None, dev_paths(env) if env else None,
                                status=False)
    resolver = Resolver(workflow, survey.builtin, survey.packs)
    web = webcache.Web(timeout=config.timeout, offline=offline)
    try:
        if server and resolver.pending():
            modules = registry.server_modules(web, server)
            if modules is not None:
                resolver.add_server(modules)
        if resolver.pending():
            index = nodemap.load(env.comfyui if env else None, web, config.node_map_url)
            if index is not None:
                found = index.lookup(resolver.pending())
                resolver.add_node_map(found.claims, found.core_types)
        hub = registry.Registry(web, config.registry_url)
        if resolver.pending():
            known = hub.nodes_for_types(resolver.pending())
            resolver.add_registry({t: node for t, node in known.items() if node})
        if answers:
            resolver.answer(answers)
        if ask:
            for usage in resolver.ambiguous():
                picked = ui.pick(f'Several packages provide node type "{usage.type}":',
                                 [ui.printable(c.label()) for c in usage.candidates])
                if picked is not None:
                    resolver.choose(usage, usage.candidates[picked])
        ids = resolver.registry_ids()
        info = {packs.id_key(i): node for i, node in hub.nodes(ids).items() if node}
        published = {packs.id_key(i): versions for i, versions in hub.versions_of(ids).items()
                     if versions is not None}
    finally:
        web.close()
    resolver.refresh(customnodes.with_status(resolver.used_packs()))
    requirements = resolver.requirements(info, published)
    problems = [f"{pack.name}: {problem}" for pack in survey.packs for problem in pack.problems
                if not pack.complete]
    return NodeReport(requirements, web.notices, problems, survey.builtin_source)


def print_notices(report: NodeReport) -> None:
    for notice in report.notices:
        sys.stderr.write(f"git comfy: notice: {ui.printable(notice)}\n")


def as_json(report: NodeReport) -> dict[str, Any]:
    return {
        "custom_nodes": [nodepacks.as_json(r) for r in report.requirements],
        "custom_node_notices": report.notices + report.problems,
    }


def _version(version: str | None) -> str:
    if version is None:
        return "no version"
    return version[:12] if packs.is_commit(version) else version


def print_text(report: NodeReport) -> None:
    """The custom-nodes section of ``analyze``'s text output."""
    placed = [r for r in report.requirements if r.package is not None]
    print(f"custom nodes: {len(placed)} package(s)")
    for r in report.requirements:
        show = ui.printable
        if r.package is not None:
            flags: list[str] = [r.source]
            if r.frontend_only:
                flags.append("editor only")
            if not r.required:
                flags.append("optional: its nodes are muted or bypassed")
            if r.disabled:
                flags.append("disabled")
            print(f"  {r.status:<9} {show(r.package)} {_version(r.version)} "
                  f"({', '.join(flags)})")
            if r.repository and r.repository != r.package:
                print(f"            {show(r.repository)}")
            print(f"            {show(', '.join(r.node_types))}")
        elif r.status == nodepacks.AMBIGUOUS:
            print(f"  {r.status:<9} {show(r.node_types[0])}: {len(r.candidates)} packages "
                  f"provide it: {show(', '.join(c.package for c in r.candidates))}")
        else:
            print(f"  {r.status:<9} {show(', '.join(r.node_types))}: no source knows "
                  f"{'this node type' if len(r.node_types) == 1 else 'these node types'}")
        for note in r.notes:
            print(f"            note: {show(note)}")
    open_types = any(r.package is None for r in report.requirements)
    if report.problems and open_types:
        print(f"  {len(report.problems)} problem(s) reading installed packs may explain "
              "that (git comfy node list shows them)")
