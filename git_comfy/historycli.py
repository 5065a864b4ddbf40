"""The history commands' part of the command line: the parsers of ``log``, ``diff``,
``restore``, ``textconv`` and ``merge-driver`` (:mod:`cli` puts them into its tree, or builds one
alone), their dispatch, and ``log NAME`` and ``textconv FILE`` read without argparse at all:
git runs textconv once per version it shows, and ``git comfy log`` must cost little more than
``git log`` (benchmarks/log.py), which importing argparse and building parsers would not allow.
Imports nothing at the top beyond what :mod:`cli` has.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    _Commands = argparse._SubParsersAction  # the subcommands slot
    Completer = Callable[..., list[str]]


def add_commands(commands: _Commands[argparse.ArgumentParser], complete: Completer) -> None:
    """log, diff, restore, and the two drivers git runs for .cec/workflows/."""
    for add in PARSERS.values():
        add(commands, complete)


def _add_log(commands: _Commands[argparse.ArgumentParser],
             complete: Completer) -> None:
    log = commands.add_parser(
        "log",
        help="list the commits that changed a workflow",
        description=(
            "The commits that changed the snapshot of workflow NAME, newest first: short hash, "
            "date, author, subject. git log options and revisions after NAME pass through "
            "(-n 5, main..topic, --since=2.weeks, --author=..., -p for each change in the "
            "workflow's text form). Renames are not followed: pass --follow for that."
        ),
    )
    log.add_argument("--json", action="store_true",
                     help="print a JSON array of {commit, date, author, subject} instead of text")
    name = log.add_argument("name", metavar="NAME", help="workflow name")
    name.completer = complete  # type: ignore[attr-defined]
    log.add_argument("git_args", nargs="...", metavar="GIT-LOG-ARG",  # argparse.REMAINDER
                     help="git log options and revisions, passed through")


def _add_diff(commands: _Commands[argparse.ArgumentParser],
              complete: Completer) -> None:
    diff = commands.add_parser(
        "diff",
        help="show what changed in workflows, node by node",
        description=(
            "A semantic diff, like git diff: no revision compares the last commit (HEAD) with "
            "ComfyUI's workflows now, one revision that commit with now, two revisions the two "
            "commits. Nodes are matched by what they are, not by their ids; it shows nodes "
            "added, removed and changed (widget values by name), connections, groups, subgraph "
            "definitions, models and settings. Without names: every workflow that differs. "
            "Arguments are revisions while they name commits, then workflow names; -- ends the "
            "revisions. Identical workflows print nothing. Colour only on a terminal, unless "
            "NO_COLOR is set."
        ),
    )
    diff.add_argument("--json", action="store_true",
                      help="print a JSON array, one object per workflow that differs")
    diff.add_argument("--layout", action="store_true",
                      help="also show layout changes: positions, sizes, order, colours, "
                      "collapsed nodes, group boxes, the canvas view")
    names = diff.add_argument("arguments", nargs="...", metavar="REV-OR-NAME",  # REMAINDER
                              help="up to two revisions, then workflow names")
    names.completer = complete  # type: ignore[attr-defined]


def _add_restore(commands: _Commands[argparse.ArgumentParser],
                 complete: Completer) -> None:
    restore = commands.add_parser(
        "restore",
        help="put a committed version of a workflow back into ComfyUI",
        description=(
            "Write the version of workflow NAME committed at --source (default HEAD) into "
            "ComfyUI's workflows folder, atomically; a workflow deleted in ComfyUI is written "
            "again. When ComfyUI's file holds changes git does not have, restore refuses "
            "unless --force, which first keeps that file in the hidden .git-comfy-backups/ "
            "folder of the workflows folder. Then reload the workflow in the browser: an open "
            "tab keeps its own copy."
        ),
    )
    name = restore.add_argument("name", metavar="NAME", help="workflow name")
    name.completer = complete  # type: ignore[attr-defined]
    restore.add_argument("--source", metavar="REV",
                         help="the commit to restore from: any revision git accepts (a tag, "
                         "HEAD~2, a branch, a short hash); default HEAD")
    restore.add_argument("--force", action="store_true",
                         help="restore over changes that are not committed, keeping a backup")


def _add_textconv(commands: _Commands[argparse.ArgumentParser],
                  complete: Completer) -> None:
    textconv = commands.add_parser(
        "textconv",
        help="print a workflow as text (git's diff driver for workflows)",
        description=(
            "Print the text form of a workflow file: one block per node with its widget values "
            "by name, the links as A.out → B.in, no layout. git runs this for git diff, "
            "git log -p and git show on .cec/workflows/ (init registers it as the comfy diff "
            "driver). A file that is not a workflow is printed as it is."
        ),
    )
    textconv.add_argument("path", metavar="FILE", help="the workflow file")


def _add_merge_driver(commands: _Commands[argparse.ArgumentParser],
                      complete: Completer) -> None:
    merge = commands.add_parser(
        "merge-driver",
        help="merge two versions of a workflow (git's merge driver for workflows)",
        description=(
            "Three-way merge of a workflow, node by node, into OURS; git runs this for "
            ".cec/workflows/ (init registers it as the comfy merge driver, called with "
            "%O %A %B %L %P). Edits to different nodes or widgets merge; both sides "
            "setting one widget differently is a conflict: ours is kept, the node's title "
            "starts with CONFLICT: and its properties hold both values, and the exit status "
            "is 1. A file that is not a UI-format workflow is merged line by line."
        ),
    )
    merge.add_argument("base", metavar="BASE", help="the common ancestor (%%O)")
    merge.add_argument("ours", metavar="OURS", help="our version, replaced by the result (%%A)")
    merge.add_argument("theirs", metavar="THEIRS", help="their version (%%B)")
    merge.add_argument("marker_size", metavar="MARKER-SIZE",
                       help="conflict marker size for a line merge (%%L)")
    merge.add_argument("name", metavar="PATH", help="the file's path in the repository (%%P)")


PARSERS: dict[str, Callable[[_Commands[argparse.ArgumentParser], Completer], None]] = {
    "log": _add_log, "diff": _add_diff, "restore": _add_restore, "textconv": _add_textconv,
    "merge-driver": _add_merge_driver,
}


def take(values: list[str], flags: set[str]) -> tuple[list[str], set[str]]:
    """Our own flags given among passed-through arguments (``log NAME -n 3 --json``), before
    any ``--``; the rest unchanged."""
    cut = values.index("--") if "--" in values else len(values)
    found = {value for value in values[:cut] if value in flags}
    return [v for v in values[:cut] if v not in flags] + values[cut:], found


def dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "log":
        from git_comfy.commands import log

        git_args, found = take(args.git_args, {"--json"})
        return log.run(name=args.name, git_args=git_args, as_json=args.json or bool(found))
    if command == "diff":
        from git_comfy.commands import diff

        arguments, found = take(args.arguments, {"--json", "--layout"})
        return diff.run(arguments=arguments, as_json=args.json or "--json" in found,
                        layout=args.layout or "--layout" in found)
    if command == "restore":
        from git_comfy.commands import restore

        return restore.run(name=args.name, source=args.source, force=args.force)
    if command == "textconv":
        from git_comfy.commands import textconv

        return textconv.run(path=args.path)
    from git_comfy.commands import mergedriver

    return mergedriver.run(base=args.base, ours=args.ours, theirs=args.theirs,
                           marker_size=args.marker_size, name=args.name)


def _read_log(arguments: list[str]) -> tuple[str, bool, list[str]] | None:
    """``log [--json] NAME [GIT-LOG-ARG...]`` read as its parser reads it, without building one
    (argparse and the parser cost more than git log itself): (name, --json given, the rest);
    None for anything else (help, no name, another option before the name), which the parser
    then reads or refuses."""
    as_json = False
    for position, word in enumerate(arguments[1:], 1):
        if word == "--json":
            as_json = True
        elif word.startswith("-"):
            return None
        else:
            return word, as_json, arguments[position + 1:]
    return None


def run_fast(arguments: list[str]) -> Callable[[], int] | None:
    """The work of ``log NAME …`` and of ``textconv FILE`` (git runs it once per version it
    shows) read without argparse, or None: then the parser reads the command line."""
    if arguments[:1] == ["textconv"] and len(arguments) == 2 and not arguments[1].startswith("-"):
        def run_textconv() -> int:
            from git_comfy.commands import textconv

            return textconv.run(path=arguments[1])

        return run_textconv
    found = _read_log(arguments) if arguments[:1] == ["log"] else None
    if found is None:
        return None
    name, as_json, rest = found
    git_args, flags = take(rest, {"--json"})

    def run_log() -> int:
        from git_comfy.commands import log

        return log.run(name=name, git_args=git_args, as_json=as_json or bool(flags))

    return run_log
