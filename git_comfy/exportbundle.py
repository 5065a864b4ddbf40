"""Export's second half, once every question is answered: gather what goes into the bundle (dev
node sources, pip requirements, model hashes and sources), stop on anything that looks like a
secret, write the bundle, sign it, and record the result in ``.cec/pyproject.toml``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import xxhash

from git_comfy import (
    __version__,
    atomic,
    bundleread,
    bundlewrite,
    comfyui,
    customnodes,
    devfiles,
    environment,
    index,
    modelsearch,
    render,
    ui,
)
from git_comfy.core import (
    bundle,
    graph,
    jsonsafe,
    modelentries,
    nodepacks,
    project,
    resolve,
    secrets,
)
from git_comfy.errors import FatalError

_BY_DESIGN = ("built-in exclude", "excluded by")  # devfiles' reasons that need no warning
CLEAN = "git-comfy-clean"  # in the git dir: contents of dev-node files scanned and found clean
_CLEAN_HEADER = f"git-comfy {__version__} secret rules {len(secrets.RULES)}"


@dataclass
class Parts:
    """Everything the bundle will hold except the models' hashes."""

    document: dict[str, Any]
    resolved: list[resolve.Resolution]
    skipped: list[resolve.Resolution]
    requirements: list[nodepacks.Requirement]
    dev: dict[str, dict[str, bytes]]  # dev node name → its files (relpath → bytes)
    pip: dict[str, tuple[str, ...]]  # package → requirements.txt lines
    given_sources: dict[str, str]  # reference (normalised) → its --model-source URL
    allow_secrets: bool
    warnings: list[str] = field(default_factory=list)


@dataclass
class Made:
    path: str
    sha256: str
    size: int
    manifest: bundle.Manifest
    warnings: list[str]


# -- gathering ----------------------------------------------------------------------------------

def _pip_lines(package: str, data: bytes | None) -> tuple[str, ...]:
    """A pack's ``requirements.txt`` as the lines pip would read (comments and blanks out)."""
    if data is None:
        return ()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FatalError(f"{package}: requirements.txt is not UTF-8; fix it before exporting"
                         ) from None
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if len(line) > bundle.MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in line):
            raise FatalError(f"{package}: requirements.txt has a line pip would not read as "
                             f"one requirement ({ui.printable(line[:60])}…)")
        lines.append(line)
    if len(lines) > bundle.MAX_PIP_LINES:
        raise FatalError(f"{package}: requirements.txt has more than {bundle.MAX_PIP_LINES} lines")
    return tuple(lines)


def _clean_contents(path: str) -> set[str]:
    """Contents (xxh3-128) of dev-node files an earlier export scanned and found clean, when
    this git-comfy (and its rules) scanned them."""
    data = atomic.read(path, 64 << 20)
    lines = data.decode("ascii", "replace").splitlines() if data else []
    return set(lines[1:]) if lines and lines[0] == _CLEAN_HEADER else set()


def _dev_files(name: str, path: str, findings: list[secrets.Finding], warnings: list[str],
               clean: set[str]) -> dict[str, bytes]:
    """A dev node's files by relative path, each read once, scanned for secrets unless its
    content is in ``clean`` (to which the newly clean ones are added). A single-file node
    (``my_node.py``) becomes the package ``<name>/__init__.py``: the same module to ComfyUI."""
    if os.path.isfile(path) and path.endswith(".py"):
        info = os.stat(path)
        items = [devfiles.DevFile("__init__.py", path, info.st_size)]
    else:
        found = devfiles.collect(path, name)
        items = found.files
        for relpath, reason in found.skipped:
            if not reason.startswith(_BY_DESIGN):  # excludes are the point; links are news
                warnings.append(f"dev node {name}: {ui.printable(relpath)} not bundled "
                                f"({reason})")
    files = {}
    checked: set[str] = set()
    for item in items:
        member = f"{bundle.NODES}/{name}/{item.relpath}"
        if len(member.encode()) > bundleread.Limits().name:
            raise FatalError(f"dev node {name}: the path {ui.printable(item.relpath)} is too "
                             f"long for a bundle; list it in {devfiles.IGNORE_FILE}")
        files[item.relpath] = devfiles.read_file(item, checked)
    contents = {relpath: xxhash.xxh3_128_hexdigest(data) for relpath, data in files.items()}
    new = secrets.scan_files([(data, f"{bundle.NODES}/{name}/{relpath}")
                              for relpath, data in files.items()
                              if contents[relpath] not in clean])
    findings += new
    flagged = {finding.where for finding in new}
    clean.update(digest for relpath, digest in contents.items()
                 if f"{bundle.NODES}/{name}/{relpath}" not in flagged)
    return files


def _block_secrets(findings: list[secrets.Finding], allow: bool, warnings: list[str]) -> None:
    if not findings:
        return
    lines = [f"{ui.printable(f.where)}{f':{f.line}' if f.line else ''}: {f.rule} {f.masked}"
             for f in findings]
    if allow:
        warnings += [f"kept a possible secret (--allow-secrets): {line}" for line in lines]
        return
    for line in lines:
        sys.stderr.write(f"git comfy: secret: {line}\n")
    raise FatalError(
        f"export stopped: {len(findings)} value(s) look like secrets (listed above); remove them, "
        "exclude their files in the dev node's .comfydockignore, or pass --allow-secrets; "
        "nothing was written")


def gather(env: environment.Environment, name: str, workflow: graph.Workflow,
           results: Sequence[resolve.Resolution], requirements: Sequence[nodepacks.Requirement],
           sources: dict[str, str], *, allow_secrets: bool) -> Parts:
    """Reads the dev nodes' sources and the packs' requirements and scans all of it, with the
    workflow and ``sources`` (reference, normalised → its ``--model-source``), for
    secrets."""
    warnings: list[str] = []
    findings = secrets.scan_document(workflow.document, bundle.WORKFLOW)
    placed = [r for r in requirements if r.package is not None]
    dev: dict[str, dict[str, bytes]] = {}
    clean_path = os.path.join(env.git_dir, CLEAN)
    clean = _clean_contents(clean_path)
    known = len(clean)
    pip: dict[str, tuple[str, ...]] = {}
    for requirement in placed:
        assert requirement.package is not None
        if requirement.source == "dev":
            if requirement.path is None:
                raise FatalError(f"dev node {requirement.package}: its folder is not known; "
                                 f"check [tool.comfydock.nodes.{requirement.package}] path")
            dev[requirement.package] = _dev_files(requirement.package, requirement.path,
                                                  findings, warnings, clean)
            data = dev[requirement.package].get("requirements.txt")
        elif requirement.path is not None and os.path.isdir(requirement.path):
            problems: list[str] = []
            data = customnodes.read_source(requirement.path, "requirements.txt", problems)
            warnings += [f"{requirement.package}: {p}" for p in problems]
        else:
            data = None
        pip[requirement.package] = _pip_lines(requirement.package, data)
    for reference, url in sources.items():
        findings += secrets.scan_text(url, f"--model-source {reference}")
    _block_secrets(findings, allow_secrets, warnings)
    if len(clean) != known:  # a cache, written only once nothing stopped the export
        atomic.write(clean_path, "\n".join([_CLEAN_HEADER, *sorted(clean)]).encode(),
                     durable=False)
    return Parts(
        document=workflow.document,
        resolved=[r for r in results if r.status == resolve.RESOLVED],
        skipped=[r for r in results if r.status == resolve.SKIPPED],
        requirements=placed, dev=dev, pip=pip, given_sources=sources,
        allow_secrets=allow_secrets, warnings=warnings,
    )


# -- models -------------------------------------------------------------------------------------

def _sha256(search: modelsearch.Search, candidate: resolve.Candidate) -> str:
    """From the index's cache when the file did not change; else hashed now (progress bar on a
    terminal) and cached."""
    if candidate.sha256:
        return candidate.sha256
    indexed = search.indexed(candidate.path)
    if indexed is not None:
        return search.index.full_hash(indexed)
    read = index.read_full(candidate.path, candidate.size)
    assert read.sha256 is not None
    return read.sha256


def _recorded_sources(env: environment.Environment, name: str) -> dict[str, str]:
    """``models.<sha256>.source`` from an earlier export of this workflow."""
    document = environment.parse_pyproject(env.path(environment.PYPROJECT))
    entry = project.workflows_table(document).get(name)
    table = entry.get("models") if isinstance(entry, dict) else None
    found = {}
    for digest, model in table.items() if isinstance(table, dict) else ():
        source = bundle.download_url(model.get("source") if isinstance(model, dict) else None)
        if source is not None:
            found[digest] = source
    return found


def _models(env: environment.Environment, name: str, parts: Parts,
            search: modelsearch.Search) -> list[bundle.Model]:
    recorded = _recorded_sources(env, name)
    findings: list[secrets.Finding] = []
    result = []
    for resolution in parts.resolved:
        ref, candidate = resolution.ref, resolution.candidate
        assert candidate is not None
        digest = _sha256(search, candidate)
        given = parts.given_sources.get(ref.normalised)
        if given:
            search.index.add_source(digest, given)  # remembered for the next export
        sources = [given, bundle.download_url(ref.url), recorded.get(digest),
                   *search.index.sources(digest)]
        unique = list(dict.fromkeys(s for s in sources if s))
        for url in unique:
            findings += secrets.scan_text(url, f"the source of {ref.name}")
        result.append(bundle.Model(
            name=ref.name, folder=ref.folder or candidate.folder or None,
            relpath=candidate.relpath, size=candidate.size, sha256=digest,
            quick_hash=candidate.quick_hash, sources=tuple(unique), nodes=ref.node_ids,
            required=ref.required))
        if not unique:
            parts.warnings.append(
                f"no download source for {ui.printable(ref.name)}: the receiver must have it "
                f"already (give one with --model-source \"{ui.printable(ref.name)}=URL\")")
    _block_secrets(findings, parts.allow_secrets, parts.warnings)
    return result


# -- the bundle ---------------------------------------------------------------------------------

def _node(requirement: nodepacks.Requirement, pip: tuple[str, ...]) -> bundle.Node:
    assert requirement.package is not None
    dev = requirement.source == "dev"
    return bundle.Node(
        package=requirement.package, source=requirement.source, version=requirement.version,
        repository=bundle.download_url(requirement.repository),
        registry_id=requirement.package if requirement.source == "registry" else None,
        node_types=requirement.node_types, required=requirement.required, pip=pip,
        path=f"{bundle.NODES}/{requirement.package}" if dev else None)


def make(env: environment.Environment, parts: Parts, search: modelsearch.Search, *,
         name: str, created: int, stamp: str, path: str, format_: str,
         layout: bytes) -> Made:
    bundled = _models(env, name, parts, search)
    git_state = customnodes.git_state(env.comfyui)
    base = bundle.Manifest(
        tool_version=__version__, created=stamp, workflow=name, workflow_format=format_,
        comfyui_version=comfyui.version(env.comfyui),
        comfyui_commit=git_state.commit if git_state else None,
        nodes=tuple(_node(r, parts.pip[r.package or ""]) for r in parts.requirements),
        models=tuple(bundled),
        skipped=tuple(bundle.Skipped(r.ref.name, r.ref.folder, r.ref.node_ids, r.ref.required)
                      for r in parts.skipped),
    )
    document = modelentries.annotate(parts.document, bundled)
    members = {bundle.WORKFLOW: jsonsafe.dumps(document, jsonsafe.layout_of(layout))}
    members[bundle.README] = render.render(
        "bundle-README.md.j2", workflow=name, tool_version=__version__, created=stamp,
        comfyui_version=base.comfyui_version, bundle_name=os.path.basename(path),
        nodes=base.nodes, models=base.models, skipped=base.skipped,
        dev_nodes=sorted(parts.dev)).encode()
    for node_name, files in parts.dev.items():
        for relpath, data in files.items():
            members[f"{bundle.NODES}/{node_name}/{relpath}"] = data
    manifest = replace(base, files=bundlewrite.checksums(members))
    data = bundlewrite.archive(bundle.to_json(manifest), members, created)
    digest = bundlewrite.write(path, data)
    return Made(path, digest, len(data), manifest, parts.warnings)



def finish_signature(path: str, sign: bool) -> str | None:
    """Signs the bundle on request; else removes a signature an earlier export left beside it,
    which no longer matches these bytes."""
    from git_comfy import signing

    if sign:
        return signing.sign(path)
    stale = signing.signature_path(path)
    try:
        os.unlink(stale)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise FatalError(f"cannot remove the old signature {stale}: {error.strerror}; remove "
                         "it by hand, it does not match the new bundle") from None
    return None


def report(made: Made, signature: str | None) -> dict[str, Any]:
    manifest = made.manifest
    return {
        "workflow": manifest.workflow,
        "bundle": made.path,
        "sha256": made.sha256,
        "size": made.size,
        "signature": signature,
        "created": manifest.created,
        "custom_nodes": [{"package": n.package, "version": n.version, "source": n.source,
                          "dev": n.path is not None} for n in manifest.nodes],
        "models": [{"name": m.name, "folder": m.folder, "sha256": m.sha256, "size": m.size,
                    "sources": list(m.sources), "required": m.required}
                   for m in manifest.models],
        "skipped_models": [s.name for s in manifest.skipped],
        "members": len(manifest.files) + 1,
        "warnings": made.warnings,
    }


def print_report(result: dict[str, Any]) -> None:
    for warning in result["warnings"]:
        sys.stderr.write(f"git comfy: warning: {warning}\n")
    print(f"exported {result['workflow']} → {result['bundle']} "
          f"({ui.human_size(result['size'])}, {result['members']} files)")
    nodes, models = result["custom_nodes"], result["models"]
    print(f"  {len(nodes)} custom node package(s), {len(models)} model(s)"
          + (f", {len(result['skipped_models'])} left out" if result["skipped_models"] else ""))
    for node in nodes:
        print(f"    node  {ui.printable(node['package'])} {node['version'] or ''}"
              + (" (source included)" if node["dev"] else ""))
    for model in models:
        where = f"{model['folder']}/" if model["folder"] else ""
        source = "download known" if model["sources"] else "no download source"
        print(f"    model {where}{ui.printable(model['name'])} "
              f"{ui.human_size(model['size'])} sha256 {model['sha256'][:12]}… ({source})")
    if result["signature"]:
        print(f"  signed: {result['signature']}")
    print(f"  sha256 {result['sha256']}")
