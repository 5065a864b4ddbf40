"""ComfyUI-Manager's ``extension-node-map.json``: which packs (by repository) provide which node
types — and the lookup rules Manager applies to it.

The document maps a repository URL to ``[[node type, ...], {meta}]``; meta may hold
``nodename_pattern`` (a regex for types the pack builds at run time, e.g. `` \\(rgthree\\)$``)
and ``preemptions`` (types the pack claims over every other claimant). ComfyUI's own repository
is an entry too: its types are built in. :func:`build` turns the 1.5 MB document into compact
rows once; the shell keeps them in SQLite and hands :func:`claimants` the few rows one workflow
needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from git_comfy.core.packs import clean_text, https_repository, repo_key

CORE_REPOSITORIES = frozenset({"github.com/comfyanonymous/comfyui", "github.com/comfy-org/comfyui"})
MAX_TYPE = 300  # characters of a node type name worth keeping or matching
MAX_PATTERN = 200  # characters of a nodename_pattern (from the network: keep regexes small)


class NodeMapError(ValueError):
    """The document is not shaped like a node map; the message says why."""


@dataclass
class NodeMap:
    repositories: list[str] = field(default_factory=list)  # index → https URL
    titles: list[str | None] = field(default_factory=list)
    claims: list[tuple[str, int]] = field(default_factory=list)  # (type, repository index)
    preemptions: list[tuple[str, int]] = field(default_factory=list)
    patterns: list[tuple[str, int]] = field(default_factory=list)
    skipped: int = 0  # entries not shaped as expected, or whose address is not https


def is_core(repository: str) -> bool:
    return repo_key(repository) in CORE_REPOSITORIES


def build(document: Any) -> NodeMap:
    """The rows of a parsed node map; entries that are not ``https://`` or not shaped as
    expected are skipped and counted, a document with none usable is an error."""
    if not isinstance(document, dict):
        raise NodeMapError("the top level is not an object of repository → node types")
    result = NodeMap()
    for url, entry in document.items():
        repository = https_repository(url)
        if (repository is None or not isinstance(entry, list) or not entry
                or not isinstance(entry[0], list)):
            result.skipped += 1
            continue
        meta = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
        index = len(result.repositories)
        result.repositories.append(repository)
        result.titles.append(clean_text(meta.get("title_aux")) or clean_text(meta.get("title")))
        result.claims += [(name, index) for name in _names(entry[0])]
        preemptions = meta.get("preemptions")
        if isinstance(preemptions, list):
            result.preemptions += [(name, index) for name in _names(preemptions)]
        pattern = meta.get("nodename_pattern")
        if isinstance(pattern, str) and len(pattern) <= MAX_PATTERN and _compiles(pattern):
            result.patterns.append((pattern, index))
    if not result.repositories:
        raise NodeMapError("no entry maps an https repository to a list of node types")
    return result


def _names(values: Iterable[Any]) -> Iterable[str]:
    seen = set()
    for value in values:
        if isinstance(value, str) and 0 < len(value) <= MAX_TYPE and value not in seen:
            seen.add(value)
            yield value


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def claimants(node_type: str, direct: list[int], preempted: list[int],
              patterns: list[tuple[str, int]]) -> list[int]:
    """Who provides ``node_type``, as Manager decides: a pack that preempts it, else every pack
    that lists it, else every pack whose ``nodename_pattern`` matches it."""
    if preempted:
        return sorted(set(preempted))
    if direct:
        return sorted(set(direct))
    if len(node_type) > MAX_TYPE:
        return []
    found = []
    for pattern, index in patterns:
        try:
            if re.search(pattern, node_type):
                found.append(index)
        except (re.error, RecursionError):  # compiled once already; stay safe all the same
            continue
    return sorted(set(found))
