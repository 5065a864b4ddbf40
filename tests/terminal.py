"""Driving the real program on a pseudo-terminal, as a user would: it answers each prompt the
program shows with the next of the answers given."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

PROMPTS = (b"Choose [", b"Folder to add: ", b"[y/N] ")


def run_on_terminal(argv: list[str], cwd: Path, answers: list[str]) -> tuple[int, str]:
    """Runs ``argv`` on a pseudo-terminal, typing one answer after each prompt it shows."""
    primary, secondary = pty.openpty()
    child = subprocess.Popen(argv, cwd=cwd, stdin=secondary, stdout=secondary,
                             stderr=secondary, start_new_session=True)
    os.close(secondary)
    output, sent = b"", 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            shown = sum(output.count(prompt) for prompt in PROMPTS)
            while sent < shown and sent < len(answers):
                os.write(primary, answers[sent].encode() + b"\n")
                sent += 1
        elif child.poll() is not None:
            break
    os.close(primary)
    code = child.wait(timeout=10)
    return code, output.decode("utf-8", "replace").replace("\r\n", "\n")
