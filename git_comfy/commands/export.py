"""``git comfy export NAME``: one bundle that carries a workflow and everything it needs (seed,
"Export Command"; docs/bundle-format.md).

The workflow is copied fresh from ComfyUI (or, with ``--rev``, as committed there), analysed
(models and custom nodes), resolved — on a terminal the open questions are asked; elsewhere, or
with ``--yes``, only unambiguous answers are taken and anything still open ends the command,
before any file is written, with every question and the flag that answers it (exit
:data:`errors.EXIT_UNANSWERED`). Files that look like secrets block it too. Then the bundle is
written atomically, signed on request, and the result recorded in ``.cec/pyproject.toml``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from git_comfy import comfyui, environment, history, modelfiles, modelsearch, ui
from git_comfy.core import bundle, graph, models, nodepacks, project, resolve
from git_comfy.errors import EXIT_UNANSWERED, FatalError
from git_comfy.index import ModelIndex


@dataclass
class Answers:
    """What the command line settles up front: ``--model``, ``--skip-model``,
    ``--model-source``, ``--node``."""

    models: dict[str, str] = field(default_factory=dict)  # reference → file path
    skip: set[str] = field(default_factory=set)
    sources: dict[str, str] = field(default_factory=dict)  # reference → https URL
    nodes: dict[str, nodepacks.Candidate] = field(default_factory=dict)  # node type → package


def _pairs(values: Sequence[str], flag: str, what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, answer = value.partition("=")
        if not sep or not key or not answer:
            raise FatalError(f"{flag} takes NAME={what}, not {value!r}")
        pairs[key] = answer
    return pairs


def answers(*, model: Sequence[str], skip_model: Sequence[str], model_source: Sequence[str],
            node: Sequence[str]) -> Answers:
    sources = _pairs(model_source, "--model-source", "URL")
    for name, url in sources.items():
        if bundle.download_url(url) is None:
            raise FatalError(f"--model-source {name}=…: {url!r} is not a plain https:// address")
    nodes = {}
    for node_type, package in _pairs(node, "--node", "PACKAGE").items():
        candidate = nodepacks.answer_candidate(package)
        if candidate is None:
            raise FatalError(f"--node {node_type}=…: {package!r} is neither a registry id (like "
                             "comfyui-kjnodes) nor an https:// repository")
        nodes[node_type] = candidate
    return Answers(_pairs(model, "--model", "PATH"), set(skip_model), sources, nodes)


def _named(refs: Sequence[models.ModelRef], name: str, flag: str) -> models.ModelRef:
    """The reference a flag's NAME means: as written, with ``/`` separators, or its file name
    when that is unique."""
    exact = [r for r in refs if name in (r.name, r.normalised)]
    if not exact:
        exact = [r for r in refs if resolve.basename(r.normalised) == models.normalise(name)]
    if len(exact) == 1:
        return exact[0]
    listed = ", ".join(ui.printable(r.name) for r in refs) or "none"
    if exact:
        raise FatalError(f"{flag} {name}: several models have that file name; give the name as "
                         f"the workflow writes it (one of: {listed})")
    raise FatalError(f"{flag} {name}: the workflow has no such model (it uses: {listed})")


def _given_file(search: modelsearch.Search, ref: models.ModelRef,
                path: str) -> resolve.Candidate:
    """The file ``--model NAME=PATH`` names, as a candidate: the index's row when it has one."""
    path = os.path.abspath(os.path.expanduser(path))
    indexed = search.indexed(path)
    if indexed is not None:
        return modelsearch.candidate(indexed)
    if not os.path.isfile(path):
        raise FatalError(f"--model {ref.name}={path}: no such file")
    try:
        read = modelfiles.read(path, full=False)
    except (modelfiles.Unreadable, modelfiles.Vanished) as error:
        raise FatalError(f"--model {ref.name}={path}: cannot read it ({error})") from None
    return resolve.Candidate(path=path, folder=ref.folder or "", relpath=os.path.basename(path),
                             size=read.identity[0], quick_hash=read.quick_hash)


def resolve_models(search: modelsearch.Search, refs: Sequence[models.ModelRef],
                   given: Answers, ask: bool) -> list[resolve.Resolution]:
    chosen = {_named(refs, name, "--model").normalised: path
              for name, path in given.models.items()}
    skipped = {_named(refs, name, "--skip-model").normalised for name in given.skip}
    results = []
    for ref in refs:
        result = search.lookup(ref)
        if ref.normalised in chosen:
            result = resolve.choose(result, _given_file(search, ref, chosen[ref.normalised]))
        elif ref.normalised in skipped:
            result = resolve.skip(result)
        elif result.status == resolve.MISSING and not ref.required:
            result = resolve.skip(result)  # its nodes never run: nothing to ask
        elif ask and result.status in (resolve.AMBIGUOUS, resolve.MISSING):
            result = search.ask(result)
        results.append(result)
    return results


def open_questions(results: Sequence[resolve.Resolution],
                   requirements: Sequence[nodepacks.Requirement]) -> list[str]:
    """Every question the export cannot settle alone, each with the flag that answers it."""
    questions = []
    for result in results:
        ref = result.ref
        name = ui.printable(ref.name)
        if result.status == resolve.AMBIGUOUS:
            paths = ", ".join(ui.printable(c.path) for c in result.candidates)
            questions.append(f'model "{name}" matches {len(result.candidates)} files ({paths}): '
                             f'--model "{name}=PATH"')
        elif result.status == resolve.MISSING:
            questions.append(f'model "{name}" is not on this machine: --model "{name}=PATH" '
                             f'or --skip-model "{name}"')
        elif result.status == resolve.INVALID:
            questions.append(f'model "{name}" {ref.invalid}: --skip-model "{name}"')
    for requirement in requirements:
        if requirement.package is not None or not requirement.required:
            continue
        node_type = ui.printable(requirement.node_types[0])
        if requirement.status == nodepacks.AMBIGUOUS:
            offered = ", ".join(ui.printable(c.package) for c in requirement.candidates)
            questions.append(f'node type "{node_type}" is provided by {offered}: '
                             f'--node "{node_type}=PACKAGE"')
        else:
            questions.append(f'node type "{node_type}" is not known to any source: '
                             f'--node "{node_type}=PACKAGE" (a registry id or https repository)')
    return questions


def _workflow_bytes(env: environment.Environment, name: str, rev: str | None) -> tuple[bytes,
                                                                                      str]:
    """The workflow as it is now in ComfyUI (never ``.cec/``), or as committed at ``rev``."""
    if rev is not None:
        commit = history.resolve(env.root, rev)
        data = history.read_at(env.root, commit, environment.snapshot_relpath(name))
        if data is None:
            raise FatalError(f"workflow {name} was not committed at {rev}; git comfy log {name} "
                             "lists the revisions that have it")
        return data, f"{name} at {rev}"
    data = history.read_comfyui(env, name)
    if data is None:
        raise FatalError(f"workflow {name} is tracked but not in ComfyUI "
                         f"({comfyui.workflow_path(env.comfyui, name)}); restore it with "
                         f"git comfy restore {name}, or untrack it")
    return data, name


def _output_path(output: str | None, name: str) -> str:
    path = os.path.abspath(output or f"{name.rsplit('/', 1)[-1]}.tar.gz")
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FatalError(f"cannot write the bundle to {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise FatalError(f"cannot write the bundle to {path}: it is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FatalError(f"cannot write the bundle to {path}: the folder {folder} is not "
                         "writable")
    return path


def _created() -> tuple[int, str]:
    """The bundle's creation time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        if not epoch.isdigit():
            raise FatalError(f"SOURCE_DATE_EPOCH is {epoch!r}; it must be seconds since 1970")
        seconds = int(epoch)
    else:
        seconds = int(time.time())
    return seconds, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def run(*, name: str, rev: str | None, output: str | None, yes: bool, sign: bool,
        allow_secrets: bool, given: Answers, as_json: bool, server: str | None = None,
        offline: bool = False) -> int:
    from git_comfy import exportbundle, nodeanalysis

    env = environment.discover()
    name = project.canonical_name(name)
    if name not in env.tracked():
        raise project.unknown_name(name, env.tracked(), "among the tracked workflows (git comfy "
                                   "track NAME first)")
    path = _output_path(output, name)
    for node_name, folder in nodeanalysis.dev_paths(env).items():
        if not os.path.exists(folder):  # its types cannot be read: it would look unknown
            raise FatalError(f"dev node {node_name}: its folder {folder} does not exist; fix "
                             f"its path in {environment.PYPROJECT}, or git comfy node remove "
                             f"{node_name}")
    data, where = _workflow_bytes(env, name, rev)
    workflow = graph.load(data, where)
    if sign:
        from git_comfy import signing

        signing.check_configured()
    ask = not yes and not as_json and ui.interactive()
    refs = models.references(workflow)
    with ModelIndex.open() as index:
        search = modelsearch.Search(index, env)
        results = resolve_models(search, refs, given, ask)
        nodes = nodeanalysis.analyze(workflow, env, server=server, offline=offline, ask=ask,
                                     answers=given.nodes)
        nodeanalysis.print_notices(nodes)
        questions = open_questions(results, nodes.requirements)
        if questions:
            for question in questions:
                sys.stderr.write(f"git comfy: open: {question}\n")
            raise FatalError(
                f"{len(questions)} open question(s), listed above: answer them with the flags "
                "shown, or run git comfy export on a terminal; nothing was written",
                EXIT_UNANSWERED)
        sources = {_named(refs, reference, "--model-source").normalised: url
                   for reference, url in given.sources.items()}
        parts = exportbundle.gather(env, name, workflow, results, nodes.requirements, sources,
                                    allow_secrets=allow_secrets)
        created, stamp = _created()
        made = exportbundle.make(env, parts, search, name=name, created=created, stamp=stamp,
                                 path=path, format_=workflow.format, layout=data)
    signature = exportbundle.finish_signature(path, sign)
    manifest = made.manifest
    environment.record_requirements(
        env, name, manifest.created, (n.package for n in manifest.nodes),
        ((m.sha256, m.filename, m.size, m.sources[0] if m.sources else None)
         for m in manifest.models))
    report = exportbundle.report(made, signature)
    if as_json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        exportbundle.print_report(report)
    return 0

