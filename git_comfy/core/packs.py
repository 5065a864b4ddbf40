"""Who a custom node pack is: registry id, version, where it comes from — interpreted from facts
the shell gathered (a ``pyproject.toml``, a ``.tracking`` file, git's answers, a registry reply).

Ids and addresses come from strangers (workflows, registries, node maps), so everything is
compared in a normal form and checked before it is shown as a place to install from:

* registry ids (``cnr_id``) compare case-insensitively with ``_`` and ``-`` alike
  (``ComfyUI_Comfyroll_CustomNodes`` = ``comfyui-comfyroll-customnodes``): :func:`id_key`;
* repositories compare by host and path, without scheme, ``.git`` or case: :func:`repo_key`;
* a repository is only offered as a source when it is plain ``https://`` with no user info:
  :func:`https_repository`; anything else is reported, never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["registry", "git", "dev", "unknown"]
CORE_ID = "comfy-core"  # the cnr_id ComfyUI's own nodes carry
DISABLED = ".disabled"  # Manager renames a disabled pack's folder (or file) with this suffix
MAX_TEXT = 200  # characters of an id or version kept from a stranger

_SEMVER = re.compile(r"\d+(\.\d+){0,2}([-+][0-9A-Za-z.+-]+)?")
_COMMIT = re.compile(r"[0-9a-fA-F]{40}")
_SCP = re.compile(r"(?:[\w.-]+@)?([\w.-]+):(?!//)([\w.~/-]+)")  # git@github.com:owner/repo.git
_GITHUB_PART = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_CORE_MODULES = ("nodes", "comfy_extras", "comfy_api_nodes", "comfy_api", "comfy")


def id_key(value: str) -> str:
    """A registry id (or a folder named after one) in the form ids are compared in."""
    return value.strip().lower().replace("_", "-")


def is_core(cnr_id: Any) -> bool:
    return isinstance(cnr_id, str) and id_key(cnr_id) == CORE_ID


def folder_key(name: str) -> str:
    """A pack's folder or file name as an id: no ``.disabled``, ``@version`` or ``.py``."""
    name = name.removesuffix(DISABLED).removesuffix(".py")
    return id_key(name.split("@", 1)[0])


def clean_text(value: Any) -> str | None:
    """A short printable string from a stranger, or None."""
    if not isinstance(value, str):
        return None
    text: str = value.strip()
    if not text or len(text) > MAX_TEXT or not text.isprintable():
        return None
    return text


def is_semver(version: str | None) -> bool:
    return version is not None and _SEMVER.fullmatch(version) is not None


def is_commit(version: str | None) -> bool:
    return version is not None and _COMMIT.fullmatch(version) is not None


def normal_version(value: Any) -> str | None:
    """A version as Manager writes it: ``2.5`` → ``2.5.0``, a commit in lower case."""
    text = clean_text(value)
    if text is None:
        return None
    if is_commit(text):
        return text.lower()
    match = _SEMVER.fullmatch(text)
    if match:
        end = match.start(2) if match.group(2) else len(text)
        parts = text[:end].split(".")
        return ".".join(parts + ["0"] * (3 - len(parts))) + text[end:]
    return text


def https_repository(url: Any) -> str | None:
    """``url`` when it is a plain ``https://host/path`` address (no user info, no spaces or
    control characters), without a trailing ``/`` or ``.git``; None otherwise."""
    text = clean_text(url)
    if text is None or not text.startswith("https://") or any(c.isspace() for c in text):
        return None
    rest = text[len("https://"):]
    host, _, path = rest.partition("/")
    if not host or "@" in host or not path.strip("/") or "\\" in text:
        return None
    return text.rstrip("/").removesuffix(".git")


def repo_key(url: str) -> str | None:
    """``host/owner/repo`` in lower case, for comparing repository addresses written in any of
    the usual ways (https, ssh, scp-like, with or without ``.git``)."""
    text = url.strip()
    match = _SCP.fullmatch(text)
    if match and "://" not in text:
        host, path = match.group(1), match.group(2)
    else:
        _, _, rest = text.partition("://")
        rest = rest or text
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    path = path.strip("/").removesuffix(".git").strip("/")
    if not host or not path:
        return None
    return f"{host.lower().removeprefix('www.')}/{path.lower()}"


def github_repository(aux_id: Any) -> str | None:
    """The repository an ``aux_id`` (``owner/repo`` on GitHub) names, or None."""
    text = clean_text(aux_id)
    if text is None:
        return None
    parts = text.split("/")
    if len(parts) != 2 or not all(_GITHUB_PART.fullmatch(p) and p not in (".", "..")
                                  for p in parts):
        return None
    return f"https://github.com/{parts[0]}/{parts[1]}"


def https_form(remote: str) -> str | None:
    """A git remote as the https address others can clone: ``git@github.com:o/r.git`` →
    ``https://github.com/o/r``; None when it has no such form (a local path, ``ext::``,
    ``http://``, whose host may serve no https)."""
    direct = https_repository(remote)
    if direct:
        return direct
    match = _SCP.fullmatch(remote)
    if match and "://" not in remote:
        host, path = match.group(1), match.group(2)
    elif remote.startswith("ssh://"):
        where, _, path = remote[len("ssh://"):].partition("/")
        host = where.rsplit("@", 1)[-1].split(":", 1)[0]
    else:
        return None
    if "." not in host:  # "C:/path" and other local forms
        return None
    return https_repository(f"https://{host}/{path.strip('/')}")


def python_module_folder(module: Any) -> tuple[str, str | None] | None:
    """``custom_nodes.ComfyUI-KJNodes`` → (``ComfyUI-KJNodes``, None),
    ``custom_nodes.comfyui-kjnodes@1.1.2`` → (``comfyui-kjnodes``, ``1.1.2``); None for
    anything else (ComfyUI's own modules: see :func:`is_core_module`)."""
    if not isinstance(module, str) or not module.startswith("custom_nodes."):
        return None
    folder = module[len("custom_nodes."):]
    name, _, version = folder.partition("@")
    name = name.split(".", 1)[0] if not version else name
    if not clean_text(name):
        return None
    return name, normal_version(version) if version else None


def is_core_module(module: Any) -> bool:
    return isinstance(module, str) and module.split(".", 1)[0] in _CORE_MODULES


# -- installed packs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GitState:
    """What git says about a pack's folder; ``error`` when git could not read it."""

    remote: str | None = None  # origin's URL, else the only remote's
    commit: str | None = None  # HEAD; None before the first commit
    branch: str | None = None  # None when HEAD is detached
    dirty: bool = False  # tracked files changed (untracked files do not count)
    error: str | None = None
    checked: bool = True  # False: only the remote was read (HEAD, branch and dirty unknown)


@dataclass(frozen=True, slots=True)
class Identity:
    package: str  # the registry id, else the repository, else the folder name
    registry_id: str | None
    version: str | None  # semver or a 40-hex commit
    source: Source
    repository: str | None  # https only
    notes: tuple[str, ...] = ()


def identify(name: str, pyproject: dict[str, Any] | None, tracking: bool,
             cnr_id_file: str | None, git: GitState | None) -> Identity:
    """A pack's identity the way ComfyUI-Manager reads it: ``pyproject.toml`` plus ``.tracking``
    is a registry install (id = ``[project] name``, lower case); a git clone is its remote and
    HEAD (``.git/.cnr-id`` may add the registry id); anything else is a folder we cannot trace."""
    project = pyproject.get("project") if isinstance(pyproject, dict) else None
    project = project if isinstance(project, dict) else {}
    declared = clean_text(project.get("name"))
    registry_id = (declared or "").lower() or clean_text(cnr_id_file)
    urls = project.get("urls")
    declared_repo = https_repository(urls.get("Repository")) if isinstance(urls, dict) else None
    notes: list[str] = []
    if tracking and registry_id:
        return Identity(registry_id, registry_id, normal_version(project.get("version")),
                        "registry", declared_repo)
    if git is not None and git.error is None and (git.commit is not None or not git.checked):
        repository = None
        if git.remote is None:
            notes.append("git clone with no remote: others cannot fetch this commit")
        else:
            repository = https_form(git.remote)
            if repository is None:
                notes.append(f"remote {git.remote} has no https address")
            elif not git.remote.startswith("https://"):
                notes.append(f"remote {git.remote} shown as {repository}")
        if git.checked and git.branch is None:
            notes.append("detached HEAD")
        if git.dirty:
            notes.append("uncommitted changes: the commit is not what is installed")
        package = registry_id or repository or name
        return Identity(package, registry_id, git.commit.lower() if git.commit else None, "git",
                        repository or declared_repo, tuple(notes))
    if git is not None and git.error:
        notes.append(git.error)
    elif git is not None:
        notes.append("git repository with no commits")
    if registry_id:
        notes.append("has pyproject.toml but no .tracking file: not installed by the registry")
    return Identity(registry_id or name, registry_id, normal_version(project.get("version")),
                    "unknown", declared_repo, tuple(notes))


# -- Comfy Registry answers ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryNode:
    """A registry pack as the registry describes it (``/nodes/{id}``,
    ``/comfy-nodes/{type}/node``)."""

    id: str
    repository: str | None
    latest_version: str | None
    problem: str | None = None  # e.g. a repository that is not https, which is not used


def registry_node(document: Any) -> RegistryNode | None:
    """The pack in a registry answer, or None when the answer is not shaped like one."""
    if not isinstance(document, dict):
        return None
    node_id = clean_text(document.get("id"))
    if node_id is None:
        return None
    raw = document.get("repository")
    repository = https_repository(raw)
    problem = None
    if raw and repository is None:
        problem = f"the registry lists repository {str(raw)[:80]!r}, which is not https; ignored"
    latest = document.get("latest_version")
    version = normal_version(latest.get("version")) if isinstance(latest, dict) else None
    return RegistryNode(node_id, repository, version, problem)


def registry_versions(document: Any) -> list[str] | None:
    """The published versions in a ``/nodes/{id}/versions`` answer (a list, or an object with
    ``versions``), or None when it is not shaped like one."""
    if isinstance(document, dict):
        document = document.get("versions")
    if not isinstance(document, list):
        return None
    versions = []
    for entry in document:
        version = normal_version(entry.get("version")) if isinstance(entry, dict) else None
        if version is not None:
            versions.append(version)
    return versions
