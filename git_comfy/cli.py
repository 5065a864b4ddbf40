# PYTHON_ARGCOMPLETE_OK
"""The command line: the argparse tree, explicit dispatch, and nothing else at import time.

Each command's module is imported only when that command runs, and argcomplete only when the
shell asks for completions, so ``git comfy --version`` and tab completion start fast. The man
page is generated from :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import os
import sys

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


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def build_parser() -> argparse.ArgumentParser:
    from git_comfy import __version__

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

    demo = commands.add_parser(
        "demo",
        help="walk through git-comfy on built-in sample data",
        description=(
            "Build a ComfyUI-shaped folder with sample workflows and small model files and an "
            "environment beside it, then run init, track, commit, an edit, status and commit "
            "again, printing each step. Needs no network."
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
    if command == "hook":
        from git_comfy import hook

        return hook.run()
    if command == "completion":
        from git_comfy.commands import completion

        return completion.run(shell=args.shell)
    if command == "demo":
        from git_comfy.commands import demo

        return demo.run(directory=args.directory)
    raise AssertionError(f"no dispatch for {command}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser, always_complete_options=False)
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["commit"] and not {"-h", "--help"} & set(arguments[1:]):
        # argparse cannot pass `-m msg --amend` through untouched; git commit gets them as given
        args = argparse.Namespace(command="commit", git_args=arguments[1:])
    else:
        args = parser.parse_args(arguments)

    from git_comfy import errors

    return errors.guard(lambda: _dispatch(args))
