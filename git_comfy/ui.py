"""The terminal: a progress bar for long work, human-readable sizes, safe names, prompts.

Only a terminal gets drawing: when stderr is a pipe or a file, :class:`Progress` is silent, so
logs and captured output never hold ``\\r`` noise.
"""

from __future__ import annotations

import os
import sys
import time

from git_comfy.errors import FatalError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import TextIO

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int) -> str:
    """``812 B``, ``64.0 KiB``, ``6.5 GiB``: powers of 1024, one decimal past bytes."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def printable(text: str) -> str:
    """Text for the terminal: file names are other people's data, so control characters (a
    terminal's escape sequences) and undecodable bytes are shown escaped, never sent as is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): show the byte
        return f"\\x{code - 0xDC00:02x}"
    return ascii(ch)[1:-1]


class Progress:
    """``with Progress(total, "hashing") as bar: bar.advance(n)`` draws ``label [####....] 40%``
    on stderr, rewritten in place with ``\\r``, and erases it at the end. It draws only on a
    terminal, and only once the work has lasted ``delay`` seconds: quick work stays silent.
    ``unit="B"`` shows the counts as sizes."""

    WIDTH = 30  # the bar's cells
    INTERVAL = 0.1  # seconds between redraws: drawing every file would cost more than it shows

    def __init__(self, total: int, label: str, *, unit: str = "", delay: float = 0.5,
                 stream: TextIO | None = None) -> None:
        self.total = max(total, 0)
        self.label = label
        self.unit = unit
        self.delay = delay
        self.stream = sys.stderr if stream is None else stream
        self.done = 0
        self._start = 0.0
        self._last_draw = 0.0
        self._drawn = 0  # characters on the line now, to erase them
        try:
            self._tty = self.stream.isatty()
        except (AttributeError, ValueError):  # a closed or fake stream
            self._tty = False

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.clear()

    def advance(self, count: int = 1) -> None:
        self.done = min(self.done + count, self.total) if self.total else self.done + count
        if not self._tty:
            return
        now = time.monotonic()
        if now - self._start < self.delay or now - self._last_draw < self.INTERVAL:
            return
        self._last_draw = now
        self._draw()

    def _count(self, value: int) -> str:
        return human_size(value) if self.unit == "B" else str(value)

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 0.0
        cells = int(share * self.WIDTH)
        line = (f"{self.label} [{'#' * cells}{'.' * (self.WIDTH - cells)}] {share:4.0%} "
                f"{self._count(self.done)}/{self._count(self.total)}")
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        columns = columns or 80  # a terminal that does not say (a bare pty, a serial line)
        line = line[: max(columns - 1, 0)]
        padding = " " * max(self._drawn - len(line), 0)
        self.stream.write(f"\r{line}{padding}")
        self.stream.flush()
        self._drawn = len(line)

    def clear(self) -> None:
        """Erases the bar (spaces, not escape codes: any terminal understands them)."""
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0


# --- prompts: only on a terminal; a command never asks when stdin or stderr is not one ---


def interactive() -> bool:
    """True when a person can answer: stdin and stderr are both terminals."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def ask(prompt: str) -> str | None:
    """One line from the user, stripped; None at the end of input (Ctrl-D)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        sys.stderr.write("\n")
        return None
    return line.strip()


def pick(title: str, options: list[str], *, skip: bool = True) -> int | None:
    """A numbered choice (seed, Edge Case 1): the index chosen, or None when the user skips
    (``s``, an empty answer or Ctrl-D; only with ``skip``). Asks again after a wrong answer."""
    sys.stderr.write(title + "\n")
    for number, option in enumerate(options, 1):
        sys.stderr.write(f"{number}. {option}\n")
    choices = f"[1-{len(options)}{', s to skip' if skip else ''}]"
    while True:
        answer = ask(f"Choose {choices}: ")
        if answer is None:
            if skip:
                return None
            raise FatalError("no answer (end of input); nothing was changed")
        if skip and answer in ("", "s", "S"):
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return int(answer) - 1
        sys.stderr.write(f"Please answer with a number from 1 to {len(options)}.\n")
