"""Which repository addresses git-comfy lets git clone. An address comes from a stranger's
bundle, and git treats some addresses as programs to run (``ext::sh -c …``, a leading
``--upload-pack=…``), as local files, or as servers that would ask for a password — so only
plain ``https://`` addresses of a few well-known hosts are cloned, in the one
``/<owner>/<repo>`` shape, unless the user listed a prefix of their own (a mirror, a local
folder) with ``git config --add comfy.allowedSource PREFIX``.

GitLab's nested groups (``/group/sub/repo``) and Hugging Face Spaces (``/spaces/owner/repo``)
are the two longer shapes those hosts really use for code; Hugging Face model and dataset
repositories hold no node packs and stay refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

ALLOWED_HOSTS = frozenset({"github.com", "gitlab.com", "codeberg.org", "huggingface.co",
                           "bitbucket.org", "git.sr.ht"})
HINT = "add a prefix with git config --add comfy.allowedSource …"
_PART = re.compile(r"[A-Za-z0-9_.~-]{1,100}")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_DEEPEST = {"gitlab.com": 10}  # path parts; everywhere else exactly owner and repo


def transport(url: str) -> str:
    """The git transport ``url`` would use: its scheme, ``ssh`` for ``host:path`` (scp-like),
    ``file`` for a local path — git's own rule: a ``:`` before the first ``/``."""
    scheme, sep, _ = url.partition("://")
    if sep:
        return scheme.lower()
    return "ssh" if ":" in url.split("/", 1)[0] else "file"


def shown(url: str) -> str:
    """``url`` without the user name and password in ``scheme://user:password@host/``: a token
    in an address must never reach the terminal or a log."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def _under_prefix(url: str, prefixes: Sequence[str]) -> bool:
    """Whether ``url`` lies under one of the user's prefixes: at a ``/`` boundary (the prefix
    ``https://git.example.com`` does not allow ``https://git.example.com.evil.io/``), and
    without ``..`` climbing out of it."""
    for prefix in prefixes:
        if not prefix or not url.startswith(prefix):
            continue
        rest = url[len(prefix):]
        if not (prefix.endswith("/") or rest[:1] in ("", "/")):
            continue
        if ".." not in unquote(rest).replace("\\", "/").split("/"):
            return True
    return False


def _hosted_refusal(url: str) -> str | None:
    """Why ``url`` is not ``https://`` on an allowed host in the ``/<owner>/<repo>`` shape."""
    if "://" not in url:
        if transport(url) == "file":
            return f"a local path is not https ({HINT})"
        return f"{url.split(':', 1)[0]}:… is an ssh address, not https ({HINT})"
    if not url.startswith("https://"):
        return f"{url.split('://', 1)[0]}:// is not https ({HINT})"
    if any(ch.isspace() for ch in url):
        return "the address holds spaces"
    authority, _, path = url[len("https://"):].partition("/")
    if "@" in authority:
        return "the address holds a user name or password"
    host, colon, port = authority.partition(":")
    if colon and port != "443":
        return f"port {port or '(empty)'} is not https's own (443)"
    host = host.lower()
    if host not in ALLOWED_HOSTS:
        return f"{host or '(no host)'} is not an allowed host ({HINT})"
    parts = path.removesuffix("/").removesuffix(".git").split("/")
    if host == "huggingface.co" and parts[0] == "spaces":
        parts = parts[1:]
    if not 2 <= len(parts) <= _DEEPEST.get(host, 2) or not all(
            _PART.fullmatch(part) and part.strip(".") for part in parts):
        return f"/{path} is not a /<owner>/<repo> path on {host}"
    return None


def refusal(url: str, allowed_prefixes: Sequence[str]) -> str | None:
    """None when git may clone ``url``; else a short reason. What makes git run a program or
    read an option (``::`` transports, a leading ``-``) and control characters are refused even
    under a prefix the user allowed; anything else under such a prefix is the user's choice."""
    if not url:
        return "the address is empty"
    if not url.isprintable():
        return "the address holds control characters"
    if url.startswith("-"):
        return "the address starts with '-' (git would read it as an option)"
    head, sep, _ = url.partition("::")
    if sep:
        if _WORD.fullmatch(head):
            return f"{head}:: transports are never used"
        return "the address holds '::' (git's syntax for transports that run programs)"
    if _under_prefix(url, allowed_prefixes):
        return None
    return _hosted_refusal(url)
