"""Bundle signing with the real ssh-keygen and ssh-agent, configured only through git config in
the test's own HOME: notes/security.md §5 and §8 cases 60-64."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git

from git_comfy import signing
from git_comfy.errors import FatalError

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

ALICE = "alice@example.com"


@pytest.fixture(autouse=True)
def no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's ssh-agent must not lend its keys to a test; the ``agent`` fixture brings
    its own."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def config(*pairs: str) -> None:
    """``git config --global KEY VALUE`` for each pair, in the test's own HOME."""
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        git("config", "--global", key, value, cwd=".")


def keygen(*args: str, stdin: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    with open(stdin or os.devnull, "rb") as source:
        return subprocess.run(["ssh-keygen", *args], stdin=source, capture_output=True)


def make_key(folder: Path, name: str) -> Path:
    """A new passphrase-less ed25519 key: returns the private key's path (``.pub`` beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    done = keygen("-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path))
    assert done.returncode == 0, done.stderr
    return path


def fingerprint(key: Path) -> str:
    return keygen("-lf", f"{key}.pub").stdout.decode().split()[1]


def public(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()


def trust(folder: Path, *lines: str) -> Path:
    """An allowed_signers file of ``lines``, configured as git's trust store."""
    path = folder / "allowed_signers"
    path.write_text("".join(f"{line}\n" for line in lines))
    config("gpg.ssh.allowedSignersFile", str(path))
    return path


def sign_with(key: Path, bundle: Path, namespace: str = signing.NAMESPACE) -> Path:
    """A signature made by hand, as another person (or git, with namespace ``git``) would."""
    done = keygen("-Y", "sign", "-f", str(key), "-n", namespace, stdin=bundle)
    assert done.returncode == 0, done.stderr
    path = Path(signing.signature_path(str(bundle)))
    path.write_bytes(done.stdout)
    return path


def one_line(caught: pytest.ExceptionInfo[FatalError], *fragments: str) -> str:
    message = str(caught.value)
    assert message and "\n" not in message, message
    assert message.isprintable(), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    make_key(folder, "alice")
    make_key(folder, "mallory")
    return folder


@pytest.fixture
def alice(keys: Path) -> Path:
    """Alice signs with her key file and trusts herself for the git-comfy namespace."""
    config("gpg.format", "ssh", "user.signingkey", str(keys / "alice"))
    trust(keys, f'{ALICE} namespaces="{signing.NAMESPACE}" {public(keys / "alice")}')
    return keys / "alice"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "out" / "lighthouse.comfy.tar.gz"
    path.parent.mkdir()
    path.write_bytes(os.urandom(300_000))
    return path


@pytest.fixture
def agent(tmp_path_factory: pytest.TempPathFactory,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real ssh-agent of this test's own, on a short socket path (sun_path holds 108 bytes)."""
    if shutil.which("ssh-agent") is None or shutil.which("ssh-add") is None:
        pytest.skip("needs ssh-agent and ssh-add")
    socket = tmp_path_factory.mktemp("a") / "s"
    process = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not socket.exists():
            assert process.poll() is None and time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.01)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket))
        yield socket
    finally:
        process.terminate()
        process.wait()


def only_in_agent(key: Path) -> None:
    """The private key lives in the agent only, as with a hardware or 1Password key."""
    done = subprocess.run(["ssh-add", str(key)], capture_output=True)
    assert done.returncode == 0, done.stderr
    key.unlink()


# --- signing -----------------------------------------------------------------------------------


def test_signature_path_is_beside_the_bundle() -> None:
    assert signing.signature_path("/x/a.comfy.tar.gz") == "/x/a.comfy.tar.gz.sig"


def test_sign_then_verify_is_good_and_names_the_signer(alice: Path, bundle: Path) -> None:
    path = signing.sign(str(bundle))
    assert path == f"{bundle}.sig"
    assert sorted(os.listdir(bundle.parent)) == [bundle.name, f"{bundle.name}.sig"]  # no temp
    assert Path(path).read_bytes().startswith(b"-----BEGIN SSH SIGNATURE-----")
    verdict = signing.verify(str(bundle), path)
    assert verdict.status == "good"
    assert verdict.signer == ALICE
    assert verdict.key == fingerprint(alice)
    assert ALICE in verdict.detail and "\n" not in verdict.detail
    # the signature is the plain SSHSIG that ssh-keygen itself checks, in our namespace only
    checked = keygen("-Y", "verify", "-f", str(alice.parent / "allowed_signers"),
                     "-I", ALICE, "-n", "git-comfy", "-s", path, stdin=bundle)
    assert checked.returncode == 0, checked.stderr


def test_signing_key_path_expands_tilde_like_git(keys: Path, bundle: Path) -> None:
    home_keys = Path(os.environ["HOME"]) / ".ssh"
    home_keys.mkdir()
    for name in ("alice", "alice.pub"):
        shutil.copy2(keys / name, home_keys / name)
    config("gpg.format", "ssh", "user.signingkey", "~/.ssh/alice")
    trust(keys, f"{ALICE} {public(keys / 'alice')}")
    assert signing.verify(str(bundle), signing.sign(str(bundle))).signer == ALICE


def test_signing_replaces_an_old_signature(alice: Path, bundle: Path) -> None:
    Path(f"{bundle}.sig").write_text("stale\n")
    signing.sign(str(bundle))
    assert signing.verify(str(bundle), f"{bundle}.sig").status == "good"


def test_pub_path_signs_with_the_key_in_ssh_agent(alice: Path, agent: Path,
                                                  bundle: Path) -> None:
    only_in_agent(alice)
    config("user.signingkey", f"{alice}.pub")
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert (verdict.status, verdict.signer) == ("good", ALICE)


def test_pub_path_without_its_private_key_is_one_line(alice: Path, bundle: Path) -> None:
    alice.unlink()
    config("user.signingkey", f"{alice}.pub")
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "could not sign", "alice.pub")
    assert not Path(f"{bundle}.sig").exists()


@pytest.mark.parametrize("prefix", ["key::", ""])  # git still takes a bare "ssh-…" literal
def test_literal_key_signs_through_ssh_agent(alice: Path, agent: Path, bundle: Path,
                                             prefix: str) -> None:
    only_in_agent(alice)
    config("user.signingkey", prefix + public(alice))
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert (verdict.status, verdict.signer) == ("good", ALICE)


def test_literal_key_missing_from_the_agent_is_one_line(alice: Path, agent: Path,
                                                        bundle: Path) -> None:
    config("user.signingkey", "key::" + public(alice))  # the agent is running but empty
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "could not sign", "agent")
    assert sorted(os.listdir(bundle.parent)) == [bundle.name]


def test_default_key_command_supplies_the_key(alice: Path, agent: Path, bundle: Path) -> None:
    only_in_agent(alice)
    git("config", "--global", "--unset", "user.signingkey", cwd=".")
    config("gpg.ssh.defaultKeyCommand", "ssh-add -L")  # git's documented use: run, not a shell
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert (verdict.status, verdict.signer) == ("good", ALICE)


@pytest.mark.parametrize(("command", "fragment"), [
    ("true", "printed no key"),
    ("echo not-a-key", "printed no key"),
    ("sh -c 'echo broken >&2; exit 3'", "failed: broken"),
    ("'unclosed", "malformed"),
    ("/nonexistent/keycmd", "cannot run /nonexistent/keycmd"),
])
def test_default_key_command_problems_are_one_line(bundle: Path, command: str,
                                                   fragment: str) -> None:
    config("gpg.format", "ssh", "gpg.ssh.defaultKeyCommand", command)
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, fragment)


def test_check_configured_passes_when_signing_can_start(alice: Path) -> None:
    signing.check_configured()


@pytest.mark.parametrize("entry", ["sign", "check_configured"])
def test_no_signing_key_says_the_git_config_commands(bundle: Path, entry: str) -> None:
    config("gpg.format", "ssh")
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle)) if entry == "sign" else signing.check_configured()
    one_line(caught, "no SSH signing key", "git config --global user.signingkey")
    config("user.signingkey", "")
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "no SSH signing key")


@pytest.mark.parametrize("value", [None, "openpgp", "x509"])
def test_gpg_format_must_be_ssh(keys: Path, bundle: Path, value: str | None) -> None:
    config("user.signingkey", str(keys / "alice"))
    if value is not None:
        config("gpg.format", value)
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "--sign uses SSH signing", "git config --global gpg.format ssh")
    assert not Path(f"{bundle}.sig").exists()
    with pytest.raises(FatalError) as caught:
        signing.check_configured()
    one_line(caught, "--sign uses SSH signing")


def test_missing_bundle_is_one_line(alice: Path, tmp_path: Path) -> None:
    with pytest.raises(FatalError) as caught:
        signing.sign(str(tmp_path / "nope.tar.gz"))
    one_line(caught, "cannot read", "nope.tar.gz")


def test_interrupted_sign_leaves_no_signature(alice: Path, bundle: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)  # Ctrl-C while the signature is being written
    with pytest.raises(KeyboardInterrupt):
        signing.sign(str(bundle))
    assert sorted(os.listdir(bundle.parent)) == [bundle.name]


def test_unwritable_signature_is_one_line(alice: Path, bundle: Path) -> None:
    Path(f"{bundle}.sig").mkdir()  # a folder in the way: the rename fails
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "cannot write")
    assert sorted(os.listdir(bundle.parent)) == sorted([bundle.name, f"{bundle.name}.sig"])


# --- gpg.ssh.program ---------------------------------------------------------------------------


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_gpg_ssh_program_is_honoured_with_tilde(alice: Path, bundle: Path) -> None:
    log = Path(os.environ["HOME"]) / "calls"
    script(Path(os.environ["HOME"]) / "bin" / "keygen",
           f'echo "$1 $2" >> {log}\nexec ssh-keygen "$@"')
    config("gpg.ssh.program", "~/bin/keygen")
    assert signing.verify(str(bundle), signing.sign(str(bundle))).status == "good"
    assert log.read_text().splitlines() == ["-Y sign", "-Y find-principals", "-Y verify"]


def test_missing_ssh_keygen_is_one_line(alice: Path, bundle: Path) -> None:
    sig = sign_with(alice, bundle)
    config("gpg.ssh.program", "/nonexistent/ssh-keygen")
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "cannot run /nonexistent/ssh-keygen", "gpg.ssh.program")
    with pytest.raises(FatalError) as caught:
        signing.verify(str(bundle), str(sig))
    one_line(caught, "cannot run /nonexistent/ssh-keygen")
    with pytest.raises(FatalError) as caught:
        signing.check_configured()
    one_line(caught, "cannot run /nonexistent/ssh-keygen (not found)", "gpg.ssh.program")


def test_too_old_ssh_keygen_is_one_line(alice: Path, bundle: Path, tmp_path: Path) -> None:
    old = script(tmp_path / "old-keygen", 'echo "usage: ssh-keygen [-q] [-b bits]" >&2; exit 1')
    config("gpg.ssh.program", str(old))
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "too old", "OpenSSH")


def test_a_program_that_prints_no_signature_writes_none(alice: Path, bundle: Path,
                                                        tmp_path: Path) -> None:
    config("gpg.ssh.program", str(script(tmp_path / "quiet", "cat >/dev/null")))
    with pytest.raises(FatalError) as caught:
        signing.sign(str(bundle))
    one_line(caught, "printed no SSH signature")
    assert not Path(f"{bundle}.sig").exists()


# --- verifying ---------------------------------------------------------------------------------


def test_one_byte_appended_is_bad(alice: Path, bundle: Path) -> None:  # case 60
    sig = signing.sign(str(bundle))
    with open(bundle, "ab") as file:
        file.write(b"\0")
    verdict = signing.verify(str(bundle), sig)
    assert (verdict.status, verdict.signer) == ("bad", None)
    assert "incorrect signature" in verdict.detail


def test_signature_in_namespace_git_is_bad(alice: Path, keys: Path,
                                           bundle: Path) -> None:  # case 61
    trust(keys, f"{ALICE} {public(alice)}")  # no namespace restriction in the trust store
    verdict = signing.verify(str(bundle), str(sign_with(alice, bundle, namespace="git")))
    assert (verdict.status, verdict.signer) == ("bad", None)
    assert "namespace does not match" in verdict.detail


def test_key_not_in_allowed_signers_is_untrusted(alice: Path, keys: Path,
                                                 bundle: Path) -> None:  # case 62
    verdict = signing.verify(str(bundle), str(sign_with(keys / "mallory", bundle)))
    assert verdict.status == "untrusted"
    assert verdict.signer is None
    assert verdict.key == fingerprint(keys / "mallory")
    assert verdict.detail == (f"signed by key {verdict.key}, which "
                              f"{keys / 'allowed_signers'} does not list")


def test_no_trust_store_is_untrusted_even_for_the_users_own_key(keys: Path,
                                                                bundle: Path) -> None:
    verdict = signing.verify(str(bundle), str(sign_with(keys / "alice", bundle)))
    assert (verdict.status, verdict.signer) == ("untrusted", None)
    assert verdict.key == fingerprint(keys / "alice")
    assert verdict.detail.endswith("and git config gpg.ssh.allowedSignersFile is not set")


def test_a_missing_trust_store_file_is_untrusted(keys: Path, bundle: Path) -> None:
    config("gpg.ssh.allowedSignersFile", str(keys / "nope"))
    verdict = signing.verify(str(bundle), str(sign_with(keys / "alice", bundle)))
    assert (verdict.status, verdict.signer) == ("untrusted", None)
    assert "does not exist" in verdict.detail


def test_tampered_without_trust_store_is_bad_not_untrusted(keys: Path, bundle: Path) -> None:
    sig = sign_with(keys / "mallory", bundle)
    with open(bundle, "r+b") as file:
        file.write(b"X")
    assert signing.verify(str(bundle), str(sig)).status == "bad"


def test_expired_signer_is_bad(alice: Path, keys: Path, bundle: Path) -> None:  # case 63
    trust(keys, f'{ALICE} valid-before="20200101" {public(alice)}')
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert (verdict.status, verdict.signer) == ("bad", None)
    assert "expired" in verdict.detail


def test_not_yet_valid_signer_is_bad(alice: Path, keys: Path, bundle: Path) -> None:
    trust(keys, f'{ALICE} valid-after="29990101" {public(alice)}')
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert verdict.status == "bad" and "not yet valid" in verdict.detail


@pytest.mark.parametrize("form", ["public key list", "KRL"])
def test_revoked_key_is_bad(alice: Path, keys: Path, bundle: Path, form: str) -> None:  # 63
    revoked = keys / "revoked"
    if form == "KRL":
        done = keygen("-k", "-f", str(revoked), f"{alice}.pub")
        assert done.returncode == 0, done.stderr
    else:
        revoked.write_text(public(alice) + "\n")
    config("gpg.ssh.revocationFile", str(revoked))
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert (verdict.status, verdict.signer) == ("bad", None)
    assert verdict.detail == f"signature by {ALICE}: key revoked in {revoked}"


def test_revocation_list_without_the_key_still_good(alice: Path, keys: Path,
                                                    bundle: Path) -> None:
    (keys / "revoked").write_text(public(keys / "mallory") + "\n")
    config("gpg.ssh.revocationFile", str(keys / "revoked"))
    assert signing.verify(str(bundle), signing.sign(str(bundle))).status == "good"


def test_a_missing_revocation_file_is_refused(alice: Path, keys: Path, bundle: Path) -> None:
    sig = signing.sign(str(bundle))
    config("gpg.ssh.revocationFile", str(keys / "nope"))
    with pytest.raises(FatalError) as caught:
        signing.verify(str(bundle), sig)
    one_line(caught, "gpg.ssh.revocationFile", "does not exist")


def test_each_principal_is_tried_until_one_verifies(alice: Path, keys: Path,
                                                    bundle: Path) -> None:
    key = public(alice)
    trust(keys, f'other@example.com,{ALICE} namespaces="other" {key}', f"{ALICE} {key}")
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert (verdict.status, verdict.signer) == ("good", ALICE)


def test_a_relative_trust_store_is_from_the_top_of_the_work_tree(
        alice: Path, keys: Path, bundle: Path, repo: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy2(keys / "allowed_signers", repo / ".allowed_signers")
    config("gpg.ssh.allowedSignersFile", ".allowed_signers")
    sig = signing.sign(str(bundle))
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert signing.verify(str(bundle), sig).signer == ALICE


def test_an_oversized_signature_is_bad_unread(alice: Path, bundle: Path) -> None:
    sig = Path(signing.sign(str(bundle)))
    sig.write_bytes(sig.read_bytes() + b"\n" * signing.MAX_SIGNATURE)
    verdict = signing.verify(str(bundle), str(sig))
    assert verdict.status == "bad" and "larger than 64 KiB" in verdict.detail


def test_a_malformed_signature_is_bad(alice: Path, bundle: Path) -> None:
    sig = Path(f"{bundle}.sig")
    sig.write_bytes(b"-----BEGIN SSH SIGNATURE-----\nnot base64\n-----END SSH SIGNATURE-----\n")
    assert signing.verify(str(bundle), str(sig)).status == "bad"


def test_a_missing_signature_is_one_line(alice: Path, bundle: Path) -> None:
    with pytest.raises(FatalError) as caught:
        signing.verify(str(bundle), f"{bundle}.sig")
    one_line(caught, "no signature file")


def test_a_principal_with_control_characters_is_shown_escaped(alice: Path, keys: Path,
                                                              bundle: Path) -> None:
    trust(keys, f"ev\x1b[31mil@x {public(alice)}")
    verdict = signing.verify(str(bundle), signing.sign(str(bundle)))
    assert verdict.signer == "ev\x1b[31mil@x"  # the principal as the trust store names it
    assert verdict.detail.isprintable() and "\\x1b" in verdict.detail


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_signature_is_bad_without_hanging(alice: Path,
                                                              bundle: Path) -> None:
    os.mkfifo(f"{bundle}.sig")
    verdict = signing.verify(str(bundle), f"{bundle}.sig")
    assert verdict.status == "bad" and "not a regular file" in verdict.detail


def test_errors_stay_one_line_whatever_the_path(alice: Path, tmp_path: Path) -> None:
    with pytest.raises(FatalError) as caught:
        signing.sign(str(tmp_path / "two\nlines\x1b[2J.tar.gz"))
    one_line(caught, "cannot read", "two\\nlines\\x1b[2J.tar.gz")
