"""Signing a bundle's exact bytes with the user's git SSH signing key, and checking a signature
against the user's git trust store, with ``ssh-keygen -Y`` (notes/security.md §5).

Everything comes from git's own configuration, read as git's ``gpg-interface.c`` reads it:
``gpg.format`` must be ``ssh``; the key is ``user.signingkey`` (a key file, ``~`` expanded, or a
literal ``key::ssh-…`` public key whose private half is in ssh-agent), else the first line that
``gpg.ssh.defaultKeyCommand`` prints; the trust store is ``gpg.ssh.allowedSignersFile``,
revocations ``gpg.ssh.revocationFile``, and ``gpg.ssh.program`` replaces ``ssh-keygen``. So a
user who signs commits with SSH can sign bundles with no further setup.

The namespace is ``git-comfy``, never git's ``git``: a commit signature can never be replayed as a
bundle signature, nor the reverse. Trust comes only from paths in the user's git config, never
from anything that travels with a bundle (an ``allowed_signers`` shipped inside a bundle would
vouch for itself).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from git_comfy import atomic, git
from git_comfy.errors import FatalError
from git_comfy.ui import printable

NAMESPACE = "git-comfy"
SIGNATURE_SUFFIX = ".sig"
MAX_SIGNATURE = 64 * 1024  # an SSH signature is under 1 KiB even for RSA-4096; a cap, not a guess
PROGRAM = "ssh-keygen"

_ARMOR = b"-----BEGIN SSH SIGNATURE-----"
_PROGRAM_HINT = "install OpenSSH's ssh-keygen or set git config gpg.ssh.program to its path"
_SET_KEY = "git config --global user.signingkey ~/.ssh/id_ed25519.pub"
# ssh-keygen's words when an allowed_signers line has the signer's key but is outside its
# valid-after/valid-before window (sshsig.c, OpenSSH 8.8+); printed only for lines with that key.
_OUT_OF_VALIDITY = re.compile(r":\d+: key (?:has expired|is not yet valid): ")


@dataclass(frozen=True)
class Verdict:
    """What a signature says about a bundle. ``good`` only when the signature is intact, made in
    the ``git-comfy`` namespace, and its key belongs to a principal of the user's trust store
    (valid now, not revoked); ``untrusted`` when it is intact but nobody the user trusts made
    it; ``bad`` for everything else (tampered, other namespace, expired or revoked key,
    malformed or oversized signature)."""

    status: str  # "good", "untrusted" or "bad"
    signer: str | None  # the principal, only when status == "good"
    key: str | None  # the key's "SHA256:…" fingerprint, when ssh-keygen reports it
    detail: str  # one printable line for the user


def describe(verdict: dict[str, Any] | None) -> str:
    """One line for people about a verdict as ``verify``/``import`` report it in JSON."""
    if verdict is None:
        return "not signed"
    if verdict["status"] == "good":
        return f"good signature by {printable(verdict['signer'])} ({verdict['key']})"
    return f"signature intact but NOT TRUSTED: {printable(verdict['detail'])}"


def signature_path(bundle: str) -> str:
    """Where a bundle's signature lives: beside it, as ``ssh-keygen -Y sign FILE`` would put it."""
    return bundle + SIGNATURE_SUFFIX


def check_configured() -> None:
    """Refuses up front, before an export spends time on models and nodes, when signing could
    not even start: gpg.format is not ssh, no key is configured, or ssh-keygen is missing.
    Whether the key itself works shows only when :func:`sign` uses it."""
    _signing_key()
    program = _program()
    if shutil.which(program) is None:
        raise _error(f"cannot run {program} (not found); {_PROGRAM_HINT}")


def sign(bundle: str) -> str:
    """Signs the bundle's bytes with git's SSH signing key and writes ``<bundle>.sig``
    atomically: it holds a whole signature or is left as it was, never a partial one. Returns
    the signature's path; any problem is one :class:`FatalError` line."""
    program = _program()
    key = _signing_key()
    with tempfile.TemporaryDirectory(prefix="git-comfy-") as scratch:
        args = ["-Y", "sign", "-n", NAMESPACE, *_key_args(key, scratch)]
        code, out, err = _keygen(program, args, bundle)
    if code != 0:
        raise _error(f"{program} could not sign {bundle}: {_reason(err)}")
    if not out.startswith(_ARMOR):
        raise _error(f"{program} printed no SSH signature for {bundle}; check gpg.ssh.program")
    path = signature_path(bundle)
    atomic.write(path, out)
    return path


def check(bundle: str, *, signed: str | None = None, require: bool = False,
          required_by: str = "--require-signed") -> Verdict | None:
    """The verdict on the signature beside ``bundle`` (verified against ``signed``, a private
    copy of its bytes, when given), None when there is none. One FatalError line when it does
    not verify, or when ``require`` and it is not good."""
    signature = signature_path(bundle)
    verdict = verify(signed or bundle, signature) if os.path.exists(signature) else None
    if verdict is not None and verdict.status == "bad":
        raise FatalError(f"{bundle}: the signature does not verify: {verdict.detail}")
    if require and (verdict is None or verdict.status != "good"):
        why = "it is not signed" if verdict is None else verdict.detail
        raise FatalError(f"{bundle}: a trusted signature is required ({required_by}) and {why}")
    return verdict


def verify(bundle: str, signature: str) -> Verdict:
    """Checks ``signature`` over the bundle's bytes against the user's trust store, the way
    ``git verify-commit`` checks an SSH-signed commit, but in the ``git-comfy`` namespace and at
    the current time. A configuration or tool problem is a :class:`FatalError`; whatever the
    signature itself says is the :class:`Verdict`."""
    program = _program()
    armored = _read_capped(signature)
    if armored is None:
        return Verdict("bad", None, None, printable(f"{signature} is not a regular file"))
    if len(armored) > MAX_SIGNATURE:
        detail = f"{signature} is larger than {MAX_SIGNATURE // 1024} KiB: not an SSH signature"
        return Verdict("bad", None, None, printable(detail))
    store, why_untrusted = _trust_store()
    revocation = _revocation_file()
    with tempfile.TemporaryDirectory(prefix="git-comfy-") as scratch:
        # ssh-keygen reads the copy that was size-checked, not a file that may change meanwhile
        sig = os.path.join(scratch, "bundle.sig")
        with open(sig, "wb") as file:
            file.write(armored)
        if store is not None:
            verdict = _verify_trusted(program, store, revocation, sig, bundle)
            if verdict is not None:
                return verdict
            why_untrusted = f"which {store} does not list"
        return _verify_untrusted(program, sig, bundle, why_untrusted)


def _read_capped(path: str) -> bytes | None:
    """At most ``MAX_SIGNATURE + 1`` bytes of the regular file ``path``; None for anything else
    (a FIFO named ``.sig`` would hang the read, a device would never end)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise _error(f"no signature file {path}") from None
    except OSError as error:
        raise _error(f"cannot read {path}: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as file:
        return file.read(MAX_SIGNATURE + 1) if stat.S_ISREG(os.fstat(fd).st_mode) else None


def _verify_trusted(program: str, store: str, revocation: str | None, sig: str,
                    bundle: str) -> Verdict | None:
    """``find-principals`` names who holds the signature's key, then ``verify`` checks the bytes,
    namespace, validity and revocation for each such principal until one passes, as git does.
    None when the key is nobody's in the store."""
    code, out, err = _keygen(program, ["-Y", "find-principals", "-f", store, "-s", sig])
    principals = _lines(out) if code == 0 else []
    if not principals:
        expired = next((line for line in _lines(err) if _OUT_OF_VALIDITY.search(line)), None)
        return None if expired is None else Verdict("bad", None, None, printable(expired))
    revoke = [] if revocation is None else ["-r", revocation]
    for principal in principals:
        args = ["-Y", "verify", "-n", NAMESPACE, "-f", store, "-I", principal, "-s", sig]
        code, out, err = _keygen(program, [*args, *revoke], bundle)
        if code == 0 and out.startswith(b"Good"):
            return Verdict("good", principal, _fingerprint(out), printable(_lines(out)[0]))
        reason = _reason(err, out)
        if revoke and not err.strip() and _keygen(program, args, bundle)[0] == 0:
            # ssh-keygen says nothing when -r rejects a key; passing without -r is the proof
            reason = f"key revoked in {revocation}"
    return Verdict("bad", None, None, printable(f"signature by {principal}: {reason}"))


def _verify_untrusted(program: str, sig: str, bundle: str, why: str) -> Verdict:
    """``check-novalidate`` only tells an intact signature by an unknown key ("untrusted") from
    a broken one ("bad"); its "Good" is integrity, never trust."""
    args = ["-Y", "check-novalidate", "-n", NAMESPACE, "-s", sig]
    code, out, err = _keygen(program, args, bundle)
    if code == 0 and out.startswith(b"Good"):
        key = _fingerprint(out)
        detail = f"signed by key {key}, {why}"
        return Verdict("untrusted", None, key, printable(detail))
    return Verdict("bad", None, None, _reason(err, out))


# --- git configuration -------------------------------------------------------------------------


def _program() -> str:
    """``gpg.ssh.program`` (a path, ``~`` expanded, as git ≥ 2.51 reads it), else ssh-keygen."""
    return git.config_get("gpg.ssh.program", path=True) or PROGRAM


def _signing_key() -> str:
    """git's SSH signing key: ``user.signingkey``, else what ``gpg.ssh.defaultKeyCommand``
    prints. Refuses unless ``gpg.format`` is ``ssh``: a GPG key id is no SSH key."""
    format_ = git.config_get("gpg.format")
    if format_ != "ssh":
        raise _error(
            f"--sign uses SSH signing but git's gpg.format is {format_ or 'openpgp (unset)'}: "
            f"run git config --global gpg.format ssh && {_SET_KEY}"
        )
    key = git.config_get("user.signingkey")
    if key is None:
        key = _default_key()
    if not key:
        raise _error(
            f"no SSH signing key is configured: run {_SET_KEY} (or set gpg.ssh.defaultKeyCommand)"
        )
    return key


def _default_key() -> str | None:
    """The first line ``gpg.ssh.defaultKeyCommand`` prints, which must be a literal public key;
    the command is split into words like git's ``split_cmdline``, never given to a shell."""
    command = git.config_get("gpg.ssh.defaultKeyCommand")
    if not command:
        return None
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise _error(f"gpg.ssh.defaultKeyCommand is malformed ({error}): {command}") from None
    hint = "check git config gpg.ssh.defaultKeyCommand"
    code, out, err = _run(argv, hint)
    if code != 0:
        raise _error(f"gpg.ssh.defaultKeyCommand failed: {_reason(err)}")
    first = out.decode("utf-8", "surrogateescape").split("\n", 1)[0].strip()
    if _literal(first) is None:
        raise _error(
            f"gpg.ssh.defaultKeyCommand ({command}) printed no key: its first line must be "
            "key::ssh-… or ssh-…"
        )
    return first


def _literal(key: str) -> str | None:
    """The public key in a literal ``key::…`` value (or git's older bare ``ssh-…`` form)."""
    if key.startswith("key::"):
        return key.removeprefix("key::")
    return key if key.startswith("ssh-") else None


def _key_args(key: str, scratch: str) -> list[str]:
    """``-f KEY`` as git passes it: a key file path with ``~`` expanded (ssh-keygen takes a
    ``.pub`` file's private half from ssh-agent), or a literal key written to a private file with
    ``-U``, which tells ssh-keygen its private half is in the agent."""
    literal = _literal(key)
    if literal is None:
        return ["-f", os.path.expanduser(key)]
    path = os.path.join(scratch, "signing-key.pub")
    with open(path, "w", encoding="utf-8") as file:
        file.write(literal + "\n")
    return ["-f", path, "-U"]


def _trust_store() -> tuple[str | None, str]:
    """``gpg.ssh.allowedSignersFile``, or None and why nobody can be trusted (a clause that
    follows "signed by key …,")."""
    path = _config_path("gpg.ssh.allowedSignersFile")
    if path is None:
        return None, "and git config gpg.ssh.allowedSignersFile is not set"
    if not os.path.exists(path):
        return None, f"and the trust store {path} (gpg.ssh.allowedSignersFile) does not exist"
    return path, ""


def _revocation_file() -> str | None:
    """``gpg.ssh.revocationFile``. Missing while configured is refused, where git only warns:
    a revocation list that cannot be read must not let a revoked key pass."""
    path = _config_path("gpg.ssh.revocationFile")
    if path is not None and not os.path.exists(path):
        raise _error(
            f"gpg.ssh.revocationFile names {path}, which does not exist: create it, or run "
            "git config --global --unset gpg.ssh.revocationFile"
        )
    return path


def _config_path(key: str) -> str | None:
    """A path from git config as git resolves it: ``~`` expanded, and a relative path taken
    from the top of the work tree (git runs its commands there; git-config docs say so for
    allowedSignersFile)."""
    value = git.config_get(key, path=True)
    if not value:
        return None
    if not os.path.isabs(value):
        code, out, _err = git.run(["rev-parse", "--show-toplevel"], check=False)
        top = out.decode("utf-8", "surrogateescape").strip() if code == 0 else ""
        value = os.path.join(top or os.getcwd(), value)
    return os.path.normpath(value)


# --- running ssh-keygen ------------------------------------------------------------------------


def _keygen(program: str, args: list[str], data: str | None = None) -> tuple[int, bytes, bytes]:
    """Runs ssh-keygen; an ssh-keygen without ``-Y`` (OpenSSH before 8.2) answers with its usage
    text, which becomes one line saying so."""
    code, out, err = _run([program, *args], _PROGRAM_HINT, data)
    if code != 0 and b"usage:" in err:
        raise _error(f"{program} is too old for SSH signatures: install OpenSSH 8.9 or newer")
    return code, out, err


def _run(argv: list[str], hint: str, data: str | None = None) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of ``argv`` with the file ``data`` as its stdin: the child
    reads the file itself, so a bundle of any size never passes through memory."""
    with _stdin(data) as source:
        try:
            done = subprocess.run(argv, stdin=source, capture_output=True, check=False)
        except OSError as error:
            raise _error(f"cannot run {argv[0]} ({error.strerror or error}); {hint}") from None
    return done.returncode, done.stdout, done.stderr


def _error(message: str) -> FatalError:
    """A FatalError whose message is one printable line even when a path, a config value or
    ssh-keygen's words hold control characters or newlines."""
    return FatalError(printable(message))


def _stdin(path: str | None) -> IO[bytes]:
    try:
        return open(os.devnull if path is None else path, "rb")
    except OSError as error:
        raise _error(f"cannot read {path}: {error.strerror or error}") from None


def _lines(output: bytes) -> list[str]:
    """Non-empty lines, CR stripped, as git splits find-principals' output."""
    text = output.decode("utf-8", "surrogateescape")
    return [line.rstrip("\r") for line in text.split("\n") if line.rstrip("\r")]


def _reason(*outputs: bytes) -> str:
    """The last non-empty line of the first output that has one (ssh-keygen's reason comes
    last on stderr; a failed verify may only say "Could not verify signature." on stdout)."""
    for output in outputs:
        lines = _lines(output)
        if lines:
            return printable(lines[-1].strip())
    return "no message"


def _fingerprint(output: bytes) -> str | None:
    """The ``SHA256:…`` that ends ssh-keygen's ``Good "…" signature … with ED25519 key …``."""
    lines = _lines(output)
    match = re.search(r" key (\S+)$", lines[0]) if lines else None
    return match.group(1) if match else None
