"""Running git. Plumbing is called through ``os.posix_spawnp`` with pipes: ``import subprocess``
alone costs 10-13 ms, more than the whole pre-commit hook may spend, so this module imports only
``os`` and ``select`` and is shared by the hook and the commands."""

from __future__ import annotations

import os
import select

from git_comfy.errors import FatalError

_CHUNK = 65536


class GitError(FatalError):
    """git itself failed; the message carries git's own last line."""


def _explain(args: list[str], stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    if ".lock': File exists" in text:
        lock = text.split("'")[1]
        return (
            f"{lock} exists: another git process is running, or one crashed; "
            "if none is running, remove that file and retry"
        )
    last = text.splitlines()[-1] if text else "no message"
    return f"git {args[0]} failed: {last.removeprefix('fatal: ').removeprefix('error: ')}"


def _communicate(
    stdin_fd: int | None, data: bytes, out_fd: int, err_fd: int
) -> tuple[bytes, bytes]:
    """Feeds ``data`` and drains both pipes at once, so that no pipe buffer can fill up and
    deadlock the child."""
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    poller = select.poll()
    poller.register(out_fd, select.POLLIN)
    poller.register(err_fd, select.POLLIN)
    if stdin_fd is not None:
        if data:
            poller.register(stdin_fd, select.POLLOUT)
        else:
            os.close(stdin_fd)
            stdin_fd = None
    open_fds = len(chunks) + (stdin_fd is not None)
    view = memoryview(data)
    while open_fds:
        for fd, _event in poller.poll():
            if fd == stdin_fd:
                try:
                    written = os.write(fd, view[:_CHUNK])
                except BrokenPipeError:
                    written = len(view)
                view = view[written:]
                if not view:
                    poller.unregister(fd)
                    os.close(fd)
                    stdin_fd = None
                    open_fds -= 1
                continue
            block = os.read(fd, _CHUNK)
            if block:
                chunks[fd].append(block)
            else:
                poller.unregister(fd)
                open_fds -= 1
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])


def run(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> tuple[int, bytes, bytes]:
    """Runs ``git ARGS`` and returns (exit code, stdout, stderr). ``check`` turns a non-zero exit
    into a :class:`GitError` with git's own message."""
    argv = ["git", *args]
    if not hasattr(os, "posix_spawnp"):  # Windows: no posix_spawn, pay for subprocess
        return _run_subprocess(argv, env, stdin, check)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if stdin is not None else (-1, -1)
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
    ]
    if stdin is not None:
        actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
    else:
        actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
    try:
        pid = os.posix_spawnp(
            "git", argv, os.environ if env is None else env, file_actions=actions
        )
    except FileNotFoundError:
        for fd in (out_r, out_w, err_r, err_w, in_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise FatalError("git was not found on PATH; install git and retry") from None
    os.close(out_w)
    os.close(err_w)
    if stdin is not None:
        os.close(in_r)
    try:
        out, err = _communicate(in_w if stdin is not None else None, stdin or b"", out_r, err_r)
    finally:
        os.close(out_r)
        os.close(err_r)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if check and code != 0:
        raise GitError(_explain(args, err))
    return code, out, err


def _run_subprocess(
    argv: list[str], env: dict[str, str] | None, stdin: bytes | None, check: bool
) -> tuple[int, bytes, bytes]:
    import subprocess

    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, env=env,
            stdin=subprocess.DEVNULL if stdin is None else None,
        )
    except FileNotFoundError:
        raise FatalError("git was not found on PATH; install git and retry") from None
    if check and done.returncode != 0:
        raise GitError(_explain(argv[1:], done.stderr))
    return done.returncode, done.stdout, done.stderr


def output(args: list[str], *, env: dict[str, str] | None = None) -> str:
    """stdout of a git command that must succeed, decoded, without the final newline."""
    return run(args, env=env)[1].decode("utf-8", "surrogateescape").rstrip("\n")


def call(args: list[str], *, env: dict[str, str] | None = None) -> int:
    """Runs git on the user's terminal (stdin, stdout and stderr inherited): for porcelain such
    as ``git commit`` whose editor and messages belong to the user. Returns git's exit code."""
    try:
        if not hasattr(os, "posix_spawnp"):
            import subprocess

            return subprocess.call(["git", *args], env=env)
        pid = os.posix_spawnp("git", ["git", *args], os.environ if env is None else env)
    except FileNotFoundError:
        raise FatalError("git was not found on PATH; install git and retry") from None
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def config_get(key: str, *, path: bool = False) -> str | None:
    """One git config value as git resolves it (all scopes, includes, ``-c``), or None."""
    args = ["config", "--get"]
    if path:
        args.append("--type=path")
    code, out, err = run([*args, key], check=False)
    if code == 1:
        return None
    if code != 0:
        raise GitError(_explain(["config"], err))
    return out.decode("utf-8", "surrogateescape").rstrip("\n")
