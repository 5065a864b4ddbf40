"""The man page, git-comfy(1), generated from the argparse tree (:func:`git_comfy.cli.build_parser`)
and ``templates/git-comfy.1.j2``. ``python -m git_comfy.manpage > man/git-comfy.1`` regenerates the
committed page; a test fails when it is stale.

The page is deterministic: its date is ``SOURCE_DATE_EPOCH`` when that is set (reproducible
builds), else :data:`RELEASE_DATE`, never today's date.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from git_comfy import __version__, cli, drivers, environment, errors, hookscript, render
from git_comfy.commands import completion

RELEASE_DATE = "2026-11-25"  # the date of the release below, printed in the page's title line
RELEASE_VERSION = "0.1.0"  # a test keeps this equal to __version__: bump both with the date
TEMPLATE = "git-comfy.1.j2"
PAGE = "git-comfy.1"  # man/git-comfy.1 in the repository, share/man/man1/git-comfy.1 installed

# `--option` and `-o` in prose, printed bold like git's pages do
_OPTION_IN_TEXT = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")


@dataclass(frozen=True)
class Item:
    """One option or positional argument: the tag line of a ``.TP`` paragraph and its text."""

    term: str
    text: str


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    description: str
    items: list[Item]


# -- roff -----------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Plain text as roff text: backslashes, hyphens (``\\-``, so that options and names copy
    and paste as typed), a control character (``.`` or ``'``) at the start of a line, and
    anything outside ASCII as a named glyph."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(ch if ord(ch) < 128 else f"\\[u{ord(ch):04X}]" for ch in text)
    return "\n".join(
        "\\&" + line if line.startswith((".", "'")) else line for line in text.split("\n")
    )


def bold(text: str) -> str:
    return f"\\fB{escape(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{escape(text)}\\fR"


def prose(text: str) -> str:
    """A sentence as roff, with the options it mentions in bold."""
    parts: list[str] = []
    position = 0
    for match in _OPTION_IN_TEXT.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append(bold(match.group()))
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


def page_date() -> str:
    """``SOURCE_DATE_EPOCH`` (UTC) when set, else :data:`RELEASE_DATE`."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
        return moment.date().isoformat()
    return RELEASE_DATE


# -- walking the argparse tree ------------------------------------------------------------------


def _is_noise(action: argparse.Action) -> bool:
    """``-h/--help`` (every command has it; the page says so once), hidden arguments, and the
    subcommand slot, which gets a section of its own."""
    return (
        isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        or action.help == argparse.SUPPRESS
    )


def sentence(text: str) -> str:
    """argparse's help fragment ("the ComfyUI folder") as a sentence ("The ComfyUI folder.")."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ".)")) else text + "."


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:  # argparse's own %(default)s, %(prog)s, ... placeholders
        text = text % {**vars(action), "prog": prog}
    return sentence(text)


def _choices(action: argparse.Action) -> list[str]:
    return [str(choice) for choice in action.choices or ()]


def _value(action: argparse.Action) -> str:
    """The value placeholder: the metavar, else the choices as ``(a|b)``, else the dest."""
    metavar = action.metavar
    if isinstance(metavar, tuple):
        return " ".join(italic(str(part)) for part in metavar)
    if metavar is not None:
        return italic(str(metavar))
    choices = _choices(action)
    if choices:
        return "(" + "|".join(bold(choice) for choice in choices) + ")"
    return italic(action.dest.upper() if action.option_strings else action.dest)


def _with_nargs(action: argparse.Action, value: str) -> str:
    nargs = action.nargs
    if nargs == 0:
        return ""
    if nargs == argparse.OPTIONAL:
        return f"[{value}]"
    if nargs in (argparse.ZERO_OR_MORE, argparse.REMAINDER):
        return f"[{value}...]"
    if nargs == argparse.ONE_OR_MORE:
        return f"{value}..."
    if isinstance(nargs, int):
        return " ".join([value] * nargs)
    return value


def _synopsis_part(action: argparse.Action) -> str:
    if not action.option_strings:
        return _with_nargs(action, _value(action))
    flag = bold(action.option_strings[-1])  # the long form reads best in a synopsis
    value = _with_nargs(action, _value(action))
    part = f"{flag} {value}" if value else flag
    return part if action.required else f"[{part}]"


def _item(action: argparse.Action, prog: str) -> Item:
    if action.option_strings:
        flags = ", ".join(bold(flag) for flag in action.option_strings)
        value = _with_nargs(action, _value(action))
        term = f"{flags} {value}" if value else flags
    else:
        term = _value(action)
    text = prose(_help(action, prog))
    choices = _choices(action)
    if choices and action.metavar is not None:  # else the term already lists them
        listed = ", ".join(bold(choice) for choice in choices)
        text = f"{text} One of: {listed}." if text else f"One of: {listed}."
    return Item(term=term, text=text)


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Options first, then positionals, as argparse prints them."""
    actions = [action for action in parser._actions if not _is_noise(action)]
    return [a for a in actions if a.option_strings] + [a for a in actions if not a.option_strings]


def _usage(words: str, parser: argparse.ArgumentParser) -> str:
    return " ".join([bold(words), *(_synopsis_part(a) for a in _arguments(parser))])


def _subcommands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) for every subcommand, in definition order, aliases once."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        seen: set[int] = set()
        for name, subparser in action.choices.items():
            if id(subparser) not in seen:
                seen.add(id(subparser))
                yield name, helps.get(name, ""), subparser


def _verb_slot(parser: argparse.ArgumentParser) -> str:
    """`` <verb>`` for a command with subcommands of its own (``models scan``...), else ""."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return " " + italic(str(action.metavar or action.dest))
    return ""


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[Command]:
    """Every command, and after a command with subcommands, each of them (``models scan``)."""
    found = []
    for name, summary, subparser in _subcommands(parser):
        words = f"{prefix}{name}"
        found.append(Command(
            name=escape(words),
            usage=_usage(f"{cli.PROG} {words}", subparser) + _verb_slot(subparser),
            description=prose(subparser.description or summary),
            items=[_item(action, subparser.prog) for action in _arguments(subparser)],
        ))
        found += commands(subparser, f"{words} ")
    return found


# -- the parts that are not in argparse -----------------------------------------------------------


@contextmanager
def _environ(**values: str | None) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def log_files() -> tuple[str, str]:
    """Where :func:`errors.log_path` writes, as the page states it (not this machine's path):
    under ``$XDG_CACHE_HOME``, and the default when that is unset."""
    with _environ(XDG_CACHE_HOME="$XDG_CACHE_HOME", LOCALAPPDATA=None):
        with_xdg = errors.log_path()
    with _environ(XDG_CACHE_HOME=None, HOME="~"):
        default = errors.log_path()
    return with_xdg, default


EXIT_CODES = (
    (errors.EXIT_OK, "Success."),
    (
        errors.EXIT_FAILURE,
        "An expected failure, such as no git repository, no ComfyUI folder or an unknown "
        "workflow name: one line on standard error says what went wrong and how to fix it.",
    ),
    (errors.EXIT_USAGE, "A bad command line: an unknown command or option, or a missing value."),
    (
        errors.EXIT_BUG,
        "An unexpected error, that is a bug in git-comfy: one line on standard error names the "
        "log file that holds the details (see FILES); please include it in a bug report.",
    ),
    (
        errors.EXIT_UNANSWERED,
        "git comfy export only: questions only the user can answer are still open (an "
        "ambiguous or missing model, a node type no source or several sources place). Each is "
        "listed on standard error with the flag that answers it (--model, --skip-model, "
        "--node); nothing was written.",
    ),
    (errors.EXIT_INTERRUPTED, "Interrupted with Ctrl-C."),
)


def context() -> dict[str, object]:
    parser = cli.build_parser()
    log_with_xdg, log_default = log_files()
    return {
        "date": page_date(),
        "version": escape(__version__),
        "summary": prose(completion.SUMMARY),
        "usage": f"{_usage(cli.PROG, parser)} {italic('<command>')} [{italic('<args>')}]",
        "description": prose(parser.description or ""),
        "options": [_item(action, parser.prog) for action in _arguments(parser)],
        "commands": commands(parser),
        "exit_codes": [(code, prose(text)) for code, text in EXIT_CODES],
        "pyproject": escape(environment.PYPROJECT),
        "snapshots": escape(environment.SNAPSHOTS + "/"),
        "attributes": escape(environment.ATTRIBUTES),
        "attribute_line": escape(drivers.ATTRIBUTE_LINE),
        "default_comfyui": escape(environment.DEFAULT_COMFYUI + "/"),
        "chained": escape(hookscript.CHAINED),
        "backup": escape(hookscript.BACKUP),
        "log_with_xdg": escape(log_with_xdg),
        "log_default": escape(log_default),
    }


def render_page() -> str:
    return render.render(TEMPLATE, **context())


def main() -> int:
    sys.stdout.write(render_page())
    return 0


if __name__ == "__main__":
    sys.exit(main())
