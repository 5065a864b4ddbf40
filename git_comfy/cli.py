# PYTHON_ARGCOMPLETE_OK
"""The command line: the argparse tree, explicit dispatch, and nothing else at import time.

Each command's module is imported only when that command runs, and argcomplete only when the
shell asks for completions, so ``git comfy --version`` and tab completion start fast. The man
page is generated from :func:`build_parser`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # `git comfy log` must not pay for importing typing, or even argparse
if TYPE_CHECKING:
    import argparse

PROG = "git comfy"
DESCRIPTION = (
    "Version history for ComfyUI workflows, and one-file sharing of a workflow with every "
    "custom node and model it needs. ComfyUI stays the source of truth: workflows flow one way, "
    "from ComfyUI into git, and are analysed only when shared."
)


def _complete_untracked(prefix: str, **_: object) -> list[str]:
    from git_comfy.commands import track

    return [name for name in track.untracked_names() if name.startswith(prefix)]


def _complete_tracked(prefix: str, **_: object) -> list[str]:
    from git_comfy.commands import track

    return [name for name in track.tracked_names() if name.startswith(prefix)]


def _complete_workflows(prefix: str, **_: object) -> list[str]:
    from git_comfy.commands import track

    names = sorted(set(track.untracked_names()) | set(track.tracked_names()))
    return [name for name in names if name.startswith(prefix)]


def _add_json(parser: argparse.ArgumentParser,
              text: str = "print one JSON object instead of text") -> None:
    parser.add_argument("--json", action="store_true", help=text)


def _add_network(parser: argparse.ArgumentParser) -> None:
    """The custom-node sources' options (analyze, export)."""
    parser.add_argument("--server", metavar="URL",
                        help="also ask a running ComfyUI (e.g. http://127.0.0.1:8188) which "
                        "pack each node type comes from (its /object_info)")
    parser.add_argument("--offline", action="store_true",
                        help="use no network: the node map and registry answers cached before")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from git_comfy import __version__, historycli

    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"git-comfy {__version__}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    init = commands.add_parser(
        "init",
        help="make this repository a git-comfy environment",
        description=(
            "Create .cec/ (pyproject.toml and workflows/), record the ComfyUI folder in "
            "git config comfy.path, ignore ComfyUI when it lies inside the work tree, and install "
            "the pre-commit hook. Makes a git repository first when there is none. Safe to run "
            "again: it adds what is missing and changes nothing else."
        ),
    )
    init.add_argument(
        "--comfyui",
        metavar="PATH",
        help="the ComfyUI folder (default: comfy.path, else ComfyUI/ in the work tree)",
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="install the hook into a core.hooksPath outside this repository, or beside a "
        "foreign hook that cannot be chained (that hook is kept as a backup)",
    )
    init.add_argument(
        "--uninstall-hook",
        action="store_true",
        help="remove the git-comfy hook (and only it), putting a chained hook back",
    )

    track = commands.add_parser(
        "track",
        help="start tracking ComfyUI workflows",
        description=(
            "Register workflows in .cec/pyproject.toml; nothing else happens until the next "
            "commit. NAME is the path under ComfyUI's user/default/workflows/ without .json."
        ),
    )
    names = track.add_argument("names", nargs="*", metavar="NAME", help="workflow name")
    names.completer = _complete_untracked  # type: ignore[attr-defined]
    track.add_argument("--all", action="store_true", help="track every workflow in ComfyUI")

    untrack = commands.add_parser(
        "untrack",
        help="stop tracking workflows",
        description=(
            "Unregister workflows. Their committed copies in .cec/workflows/ stay until you "
            "git rm them; ComfyUI's files are never touched."
        ),
    )
    names = untrack.add_argument("names", nargs="*", metavar="NAME", help="workflow name")
    names.completer = _complete_tracked  # type: ignore[attr-defined]
    untrack.add_argument("--all", action="store_true", help="untrack every tracked workflow")

    status = commands.add_parser(
        "status",
        help="show which tracked workflows changed in ComfyUI",
        description=(
            "For each tracked workflow: unchanged, modified in ComfyUI since the last commit, "
            "missing in ComfyUI, or not yet committed; then the untracked workflows in ComfyUI."
        ),
    )
    _add_json(status)

    commits = commands.add_parser(
        "commit",
        help="snapshot tracked workflows and run git commit",
        description=(
            "Copy every tracked workflow from ComfyUI into .cec/workflows/, stage it, then run "
            "git commit with the arguments unchanged. Plain git commit does the same through the "
            "hook, but git refuses a commit whose only changes a hook made: this command makes "
            "that commit possible."
        ),
    )
    commits.add_argument("git_args", nargs="*", metavar="GIT-COMMIT-ARG",
                         help="passed to git commit as given")
    historycli.add_commands(commands, _complete_tracked)

    hook = commands.add_parser(
        "hook",
        help="run a git hook's work (what the installed hook calls)",
        description="Run the work of a git hook; the hook script init installs calls this.",
    )
    hook.add_argument("hook_name", choices=["pre-commit"], metavar="HOOK",
                      help="the hook whose work to run")

    completion = commands.add_parser(
        "completion",
        help="print the shell completion script",
        description=(
            'Print a completion script: eval "$(git comfy completion bash)" in ~/.bashrc after '
            "git's own completion, or save the zsh one as _git-comfy on your fpath."
        ),
    )
    completion.add_argument("shell", choices=["bash", "zsh"],
                            help="the shell to print the script for")

    analyze = commands.add_parser(
        "analyze",
        help="show the models and custom nodes a workflow needs and where they are",
        description=(
            "The export-time analysis without a bundle: every model the workflow references "
            "(loaders, properties.models, embeddings in prompts, custom nodes), resolved against "
            "the model index: by hash, exact path in the node's folder, exact path, unique file "
            "name; and every custom node package it needs, with its version and where it comes "
            "from, placed by the nodes' own cnr_id/aux_id, the packs installed in ComfyUI's "
            "custom_nodes/ (read, never run), a running ComfyUI (--server), ComfyUI-Manager's "
            "node map and the Comfy Registry (cached; without network the cache is used and "
            "what nothing places is reported unknown). Built-in node types are not listed. On "
            "a terminal an ambiguous or missing model, and a node type several packages "
            "provide, is asked about; with --json, or without a terminal, nothing is asked. "
            "Missing and ambiguous results are not errors: the exit code is 0 whenever the "
            "workflow could be read. TARGET is a workflow name in this environment's ComfyUI, "
            "or the path of any workflow file."
        ),
    )
    target = analyze.add_argument("target", metavar="TARGET", help="workflow name or file")
    target.completer = _complete_workflows  # type: ignore[attr-defined]
    _add_json(analyze, "print one JSON object (format, models, custom_nodes) instead of text")
    _add_network(analyze)

    export = commands.add_parser(
        "export",
        help="write one bundle with a workflow and everything it needs",
        description=(
            "Copy the workflow fresh from ComfyUI (or as committed at --rev), analyse its models "
            "and custom nodes as analyze does, resolve them, and write a .tar.gz bundle: a "
            "manifest (format in docs/bundle-format.md) with every custom node (version, "
            "repository, pip requirements) and every model (folder, size, SHA-256, download "
            "sources), the workflow with the models' hashes in its properties.models entries, "
            "the source of the dev nodes it uses and a README for the receiver. Models are not "
            "included. The same inputs give the same bytes (SOURCE_DATE_EPOCH sets the creation "
            "time). On a terminal each open question is asked; with --yes or without a "
            "terminal only unambiguous answers are taken and the command ends with exit status "
            "4, before writing anything, listing every open question with the flag that "
            "answers it. Values that look like secrets (API keys, tokens, private keys) in the "
            "dev nodes' files or the workflow stop it too, unless --allow-secrets. Then the "
            "result is recorded in .cec/pyproject.toml (exported_at, requires, models)."
        ),
    )
    export_name = export.add_argument("name", metavar="NAME", help="a tracked workflow")
    export_name.completer = _complete_tracked  # type: ignore[attr-defined]
    export.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the bundle (default: NAME's last part + .tar.gz "
                        "in the current folder)")
    export.add_argument("--rev", metavar="REV",
                        help="export the workflow as committed at this git revision")
    export.add_argument("-y", "--yes", action="store_true",
                        help="ask nothing: take unambiguous answers, stop on open questions")
    export.add_argument("--sign", action="store_true",
                        help="sign the bundle with git's SSH signing key (user.signingkey, "
                        "gpg.format=ssh), writing FILE.sig")
    export.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="use this file for the model the workflow calls NAME")
    export.add_argument("--skip-model", action="append", default=[], metavar="NAME",
                        help="leave model NAME out (the receiver must bring it)")
    export.add_argument("--model-source", action="append", default=[], metavar="NAME=URL",
                        help="where model NAME can be downloaded (https); remembered")
    export.add_argument("--node", action="append", default=[], metavar="TYPE=PACKAGE",
                        help="node type TYPE comes from PACKAGE (a registry id or an https "
                        "repository)")
    export.add_argument("--allow-secrets", action="store_true",
                        help="bundle values that look like secrets anyway (they are listed)")
    _add_json(export, "print one JSON object (bundle, sha256, custom_nodes, models, warnings) "
              "instead of text")
    _add_network(export)

    verify = commands.add_parser(
        "verify",
        help="check a bundle's checksums and signature; nothing is written",
        description=(
            "Read a bundle as a stranger's: every member's name, type and size checked, every "
            "member's SHA-256 against the manifest, the manifest's own fields, and, when "
            "BUNDLE.sig is beside it, the signature against git's gpg.ssh.allowedSignersFile, "
            "naming the signer. A signature by a key that file does not list is reported as "
            "untrusted, never as good. Nothing is written. The exit status is 0 when the "
            "checksums hold and the signature, if any, is good; 1 otherwise."
        ),
    )
    verify.add_argument("bundle", metavar="BUNDLE", help="the .tar.gz bundle")
    verify.add_argument("--require-signed", action="store_true",
                        help="fail unless the bundle has a good signature")
    _add_json(verify, "print one JSON object (bundle, members, signature) instead of text")

    importing = commands.add_parser(
        "import",
        help="bring a bundle's workflow and models onto this machine",
        description=(
            "Read a bundle as a stranger's (every member's name, type, size and checksum, the "
            "manifest's fields, and the signature beside it when there is one), then plan: "
            "each custom node it needs and whether this ComfyUI has it, each pip requirement "
            "with a verdict (ok, warn, blocked), each model — found on this machine by its "
            "SHA-256 (used where it is in this ComfyUI, else hard-linked or copied in), "
            "downloaded from its source, or missing —, and where the workflow will be written. "
            "--dry-run stops there. Otherwise, after one question on a terminal (--yes "
            "elsewhere), the models are brought (downloads resume their .part files and are "
            "verified by SHA-256 while they stream), the workflow's model names are rewritten "
            "to where the models are here, and it is written into ComfyUI's workflows folder, "
            "tracked, with its requirements recorded. Missing custom node packs are installed "
            "first at their pinned versions (registry zips; git clones from allowed sources, "
            "see comfy.allowedSource; dev nodes from the bundle), each moved into custom_nodes/ "
            "only when complete, then their Python requirements into ComfyUI's interpreter "
            "(comfy.python, venv/, .venv/ or python_embeded/), wheels only, blocked lines "
            "never. Afterwards every node type the workflow uses must be provided by an "
            "installed pack at its pinned version, else they are listed and the exit status "
            "is 1. Running it again finishes an interrupted import."
        ),
    )
    importing.add_argument("bundle", metavar="BUNDLE", help="the .tar.gz bundle")
    importing.add_argument("-n", "--dry-run", action="store_true",
                           help="show the plan and change nothing")
    importing.add_argument("-y", "--yes", action="store_true",
                           help="ask nothing: go ahead with the plan")
    importing.add_argument("--as", dest="as_name", metavar="NAME",
                           help="the workflow's name in ComfyUI (default: the bundle's)")
    importing.add_argument("--force", action="store_true",
                           help="replace a different workflow of that name (a backup is kept)")
    importing.add_argument("--require-signed", action="store_true",
                           help="refuse a bundle without a trusted signature (also git config "
                           "comfy.requireSignedBundles)")
    importing.add_argument("--allow-missing-models", action="store_true",
                           help="with --yes, import even when a required model can be found "
                           "nowhere")
    importing.add_argument("--update-nodes", action="store_true",
                           help="replace packs installed at another version (kept aside)")
    importing.add_argument("--conflicts", choices=["upgrade", "separate", "keep"],
                           help="what to do when a requirement conflicts with ComfyUI's Python "
                           "packages: upgrade them, make a separate venv for this workflow, "
                           "or keep the current versions")
    importing.add_argument("--allow-build", action="store_true",
                           help="let pip build packages from source (default: wheels only)")
    _add_json(importing, "print one JSON object (the plan, and what was done) instead of text")

    models = commands.add_parser(
        "models",
        help="index the model files on this machine",
        description=(
            "Keep one index per user of every model file on this machine: the model folders of "
            "the environment's ComfyUI (models/ and extra_model_paths.yaml) and the folders "
            "added with add-dir, with a quick hash of each and, on demand, its SHA-256, so that "
            "a workflow's models can be found by name or hash. The index lives in the user "
            "cache folder (git config comfy.indexPath moves it)."
        ),
    )
    verbs = models.add_subparsers(dest="models_command", metavar="<verb>", required=True)
    scan = verbs.add_parser(
        "scan",
        help="bring the index up to date",
        description=(
            "Index new and changed model files and forget vanished ones. A file whose size, "
            "modification time and inode did not change is not read again. Prints one line of "
            "counts when something changed; a file that cannot be read is a warning."
        ),
    )
    scan.add_argument("--full", action="store_true",
                      help="also compute the SHA-256 of every file that has none yet "
                      "(cached until the file changes)")
    scan.add_argument("--rebuild", action="store_true",
                      help="start the index afresh (a damaged one too), keeping the added folders")
    listing = verbs.add_parser(
        "list",
        help="print every indexed model",
        description="Print every model in the index: folder, path in it, size, SHA-256 prefix "
        "(when computed) and where the file is.",
    )
    _add_json(listing, "print one JSON array of models instead of text")
    find = verbs.add_parser(
        "find",
        help="look models up by name, folder or hash",
        description=(
            "Print the indexed models whose path or folder contains TEXT (ignoring case), or "
            "whose quick hash or SHA-256 starts with it. Exits 1 when none matches (with --json: "
            "prints [])."
        ),
    )
    find.add_argument("text", metavar="TEXT", help="part of a name or folder, or a hash prefix")
    _add_json(find, "print one JSON array of models instead of text")
    add_dir = verbs.add_parser(
        "add-dir",
        help="index the models in another folder too",
        description=(
            "Add a folder to every scan. A folder whose subfolders are named like model folders "
            "(checkpoints, loras, A1111's Stable-diffusion, ...) adds each of them as that "
            "folder; any other folder is indexed as models of unknown folder."
        ),
    )
    add_dir.add_argument("path", metavar="DIR", help="the folder to add")
    remove_dir = verbs.add_parser(
        "remove-dir",
        help="stop indexing an added folder",
        description="Forget a folder added with add-dir, and its models in the index.",
    )
    remove_dir.add_argument("path", metavar="DIR", help="the folder to forget")

    node = commands.add_parser(
        "node",
        help="list the custom node packs of ComfyUI; record dev nodes",
        description=(
            "The custom node packs installed in this environment's ComfyUI, read from their "
            "source without running it, and the dev nodes: unpublished packs recorded in "
            ".cec/pyproject.toml whose source export bundles (seed, Edge Case 2)."
        ),
    )
    node_verbs = node.add_subparsers(dest="node_command", metavar="<verb>", required=True)
    node_add = node_verbs.add_parser(
        "add",
        help="record an unpublished pack as a dev node",
        description=(
            "Record the pack at PATH (a folder with __init__.py, or one .py file) in "
            ".cec/pyproject.toml as [tool.comfydock.nodes.NAME] with source = \"dev\" and its "
            "path (relative to the work tree when inside it, else absolute), so that analyze "
            "knows its node types and export bundles its source. Comments and layout of the "
            "file survive."
        ),
    )
    node_add.add_argument("--dev", action="store_true",
                          help="the pack is unpublished: its source travels with exports "
                          "(required: published packs are found in custom_nodes/)")
    node_add.add_argument("--name", metavar="NAME",
                          help="the node's name (default: the folder or file name)")
    node_add.add_argument("path", metavar="PATH", help="the pack's folder or file")
    node_list = node_verbs.add_parser(
        "list",
        help="print the installed packs and the dev nodes",
        description=(
            "Print every pack in ComfyUI's custom_nodes/ (disabled ones too, marked) and every "
            "dev node: its registry id or repository, version (registry release or git commit) "
            "and where it comes from, how many node types its source defines, and what could "
            "not be read (a syntax error, a mapping built at run time, a link out of "
            "custom_nodes/, a git clone with no remote or uncommitted changes)."
        ),
    )
    _add_json(node_list, "print one JSON object (comfyui, packs) instead of text")
    node_remove = node_verbs.add_parser(
        "remove",
        help="forget a dev node",
        description="Remove a dev node from .cec/pyproject.toml; its files are not touched.",
    )
    node_remove.add_argument("name", metavar="NAME", help="the dev node's name")

    demo = commands.add_parser(
        "demo",
        help="walk through git-comfy on built-in sample data",
        description=(
            "Build a ComfyUI-shaped folder with sample workflows and small model files and an "
            "environment beside it, then run init, track, commit, an edit, status, commit "
            "again, analyze, export and verify; then import the bundle into a second "
            "environment whose ComfyUI holds the same models under other names (found by "
            "their SHA-256), printing each step. Needs no network."
        ),
    )
    demo.add_argument("directory", nargs="?", metavar="DIR",
                      help="where to build it (default: a new folder under /tmp)")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "init":
        from git_comfy.commands import init

        return init.run(
            comfyui_path=args.comfyui, force=args.force, uninstall_hook=args.uninstall_hook
        )
    if command == "track":
        from git_comfy.commands import track

        return track.track(names=args.names, all_workflows=args.all)
    if command == "untrack":
        from git_comfy.commands import track

        return track.untrack(names=args.names, all_workflows=args.all)
    if command == "status":
        from git_comfy.commands import status

        return status.run(as_json=args.json)
    if command == "commit":
        from git_comfy.commands import commit

        return commit.run(git_args=args.git_args)
    if command in _HISTORY:
        from git_comfy import historycli

        return historycli.dispatch(args)
    if command == "hook":
        from git_comfy import hook

        return hook.run()
    if command == "completion":
        from git_comfy.commands import completion

        return completion.run(shell=args.shell)
    if command == "analyze":
        from git_comfy.commands import analyze

        return analyze.run(target=args.target, as_json=args.json, server=args.server,
                           offline=args.offline)
    if command == "export":
        from git_comfy.commands import export

        given = export.answers(model=args.model, skip_model=args.skip_model,
                               model_source=args.model_source, node=args.node)
        return export.run(name=args.name, rev=args.rev, output=args.output, yes=args.yes,
                          sign=args.sign, allow_secrets=args.allow_secrets, given=given,
                          as_json=args.json, server=args.server, offline=args.offline)
    if command == "verify":
        from git_comfy.commands import verify

        return verify.run(path=args.bundle, require_signed=args.require_signed,
                          as_json=args.json)
    if command == "import":
        from git_comfy import importnodes
        from git_comfy.commands import import_

        choices = importnodes.Choices(args.update_nodes, args.conflicts, args.allow_build)
        return import_.run(path=args.bundle, dry_run=args.dry_run, yes=args.yes,
                           as_name=args.as_name, force=args.force,
                           require_signed=args.require_signed,
                           allow_missing=args.allow_missing_models, as_json_output=args.json,
                           choices=choices)
    if command == "models":
        from git_comfy.commands import models

        verb = args.models_command
        if verb == "scan":
            return models.scan(full=args.full, rebuild=args.rebuild)
        if verb == "list":
            return models.list_(as_json=args.json)
        if verb == "find":
            return models.find(text=args.text, as_json=args.json)
        if verb == "add-dir":
            return models.add_dir(path=args.path)
        if verb == "remove-dir":
            return models.remove_dir(path=args.path)
        raise AssertionError(f"no dispatch for models {verb}")
    if command == "node":
        from git_comfy.commands import node

        verb = args.node_command
        if verb == "add":
            return node.add(path=args.path, dev=args.dev, name=args.name)
        if verb == "list":
            return node.list_(as_json=args.json)
        if verb == "remove":
            return node.remove(name=args.name)
        raise AssertionError(f"no dispatch for node {verb}")
    if command == "demo":
        from git_comfy.commands import demo

        return demo.run(directory=args.directory)
    raise AssertionError(f"no dispatch for {command}")


_HISTORY = ("log", "diff", "restore", "textconv", "merge-driver")  # historycli.py's commands


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    fast = None
    if arguments[:1] in (["log"], ["textconv"]) and "_ARGCOMPLETE" not in os.environ:
        from git_comfy import historycli

        fast = historycli.run_fast(arguments)
    if fast is not None:
        from git_comfy import errors

        code = errors.guard(fast)
        if argv is None:  # the real program: skip the interpreter's teardown, as the hook does
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BrokenPipeError:  # `git comfy log x | head`: quiet, like git
                pass
            os._exit(code)
        return code
    import argparse

    if arguments[:1] and arguments[0] in _HISTORY and "_ARGCOMPLETE" not in os.environ:
        from git_comfy import historycli

        # a history command builds its own parser only: the whole tree costs ~10 ms
        parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
        historycli.PARSERS[arguments[0]](
            parser.add_subparsers(dest="command", metavar="<command>", required=True),
            _complete_tracked)
    else:
        parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser, always_complete_options=False)
    if arguments[:1] == ["commit"] and not {"-h", "--help"} & set(arguments[1:]):
        # argparse cannot pass `-m msg --amend` through untouched; git commit gets them as given
        args = argparse.Namespace(command="commit", git_args=arguments[1:])
    else:
        args = parser.parse_args(arguments)

    from git_comfy import errors

    return errors.guard(lambda: _dispatch(args))
