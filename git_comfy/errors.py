"""The one error type for expected failures, the documented exit codes, and the handler that
turns every way out of a command into one of them. Imports nothing at the top: the hook uses it."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILURE = 1  # an expected failure: one line on stderr says what and how to fix it
EXIT_USAGE = 2  # argparse's own code for bad command lines
EXIT_BUG = 3  # an unexpected error; the traceback is in the log file named on stderr
EXIT_UNANSWERED = 4  # export: questions only the user can answer are open (listed on stderr)
EXIT_INTERRUPTED = 130  # Ctrl-C


class FatalError(Exception):
    """A failure the user can cause and fix; the message is the whole story, one line."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def cache_dir() -> str:
    """git-comfy's folder in the user cache dir (the bug log, the model index)."""
    import os

    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "git-comfy")


def log_path() -> str:
    """Where tracebacks of unexpected errors go: the user cache dir."""
    import os

    return os.path.join(cache_dir(), "git-comfy.log")


def _log_bug(error: BaseException) -> str:
    import os
    import platform
    import sys
    import traceback

    from git_comfy import __version__

    path = log_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as log:
        log.write(f"git-comfy {__version__}, Python {platform.python_version()}, ")
        log.write(f"{platform.platform()}\nargv: {sys.argv!r}\n\n")
        log.write("".join(traceback.format_exception(error)))
    return path


def guard(main: Callable[[], int]) -> int:
    """Runs a command and turns every way out into an exit code: an expected failure is one line
    and its code, Ctrl-C is 130, and a bug is one line naming the log that holds the traceback."""
    import sys

    try:
        return main()
    except FatalError as error:
        sys.stderr.write(f"git comfy: error: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("git comfy: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `git comfy status | head`: quiet, like git
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:
        try:
            where = f"details in {_log_bug(error)}"
        except OSError:
            where = "and the log file could not be written"
        sys.stderr.write(
            f"git comfy: error: unexpected {type(error).__name__}: {error} "
            f"(a bug in git-comfy; {where})\n"
        )
        return EXIT_BUG
