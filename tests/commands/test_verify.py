"""`git comfy verify` (and `export --sign`): real bundles from the real export, real SSH keys and
ssh-keygen, tampered copies; nothing is ever written by verify."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Comfy, assert_one_error, git, tree_digest

from git_comfy import bundlewrite

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def make_key(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True, capture_output=True)
    return key


def use_key(repo: Path, key: Path, trusted: bool, tmp_path: Path) -> None:
    """git's SSH signing configuration, as a user sets it; ``trusted`` puts the key in the
    allowed signers file."""
    git("config", "--global", "gpg.format", "ssh", cwd=repo)
    git("config", "--global", "user.signingkey", f"{key}.pub", cwd=repo)
    allowed = tmp_path / "allowed_signers"
    line = f'alice@example.com namespaces="git-comfy" {Path(f"{key}.pub").read_text()}'
    allowed.write_text(line if trusted else "")
    git("config", "--global", "gpg.ssh.allowedSignersFile", str(allowed), cwd=repo)


def signed_bundle(repo: Path, comfy: Comfy, tmp_path: Path, trusted: bool = True) -> Path:
    use_key(repo, make_key(tmp_path / "keys", "alice"), trusted, tmp_path)
    result = comfy("export", "lighthouse", "--sign", "--json", "-o", str(tmp_path / "b.tar.gz"),
                   cwd=repo)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["signature"] == str(tmp_path / "b.tar.gz.sig")
    return tmp_path / "b.tar.gz"


def test_a_good_signature_names_the_signer(tracked_repo: Path, comfy: Comfy,
                                           tmp_path: Path) -> None:
    bundle = signed_bundle(tracked_repo, comfy, tmp_path)
    before = tree_digest(tmp_path)
    result = comfy("verify", str(bundle), "--require-signed", cwd=tracked_repo)
    assert result.code == 0, result.err
    assert "checksums OK (3 files; workflow lighthouse" in result.out
    assert "good signature by alice@example.com (SHA256:" in result.out
    report = json.loads(comfy("verify", str(bundle), "--json", cwd=tracked_repo).out)
    assert report["signature"]["status"] == "good"
    assert report["signature"]["signer"] == "alice@example.com"
    assert tree_digest(tmp_path) == before


def test_an_unknown_key_is_never_reported_as_trusted(tracked_repo: Path, comfy: Comfy,
                                                     tmp_path: Path) -> None:
    bundle = signed_bundle(tracked_repo, comfy, tmp_path, trusted=False)
    result = comfy("verify", str(bundle), cwd=tracked_repo)
    assert result.code == 1
    assert "good signature" not in result.out + result.err
    assert "NOT TRUSTED" in result.out
    report = json.loads(comfy("verify", str(bundle), "--json", cwd=tracked_repo).out)
    assert report["signature"]["status"] == "untrusted" and report["signature"]["signer"] is None
    assert_one_error(comfy("verify", str(bundle), "--require-signed", cwd=tracked_repo),
                     "a trusted signature is required")


def test_a_bundle_changed_after_signing_fails(tracked_repo: Path, comfy: Comfy,
                                              tmp_path: Path) -> None:
    bundle = signed_bundle(tracked_repo, comfy, tmp_path)
    # the same members, written again with another creation time: checksums hold, the
    # signature does not
    data = bundle.read_bytes()
    bundle.write_bytes(gzip.compress(gzip.decompress(data), mtime=1))
    assert_one_error(comfy("verify", str(bundle), cwd=tracked_repo),
                     "the signature does not verify")


def test_exporting_again_without_sign_removes_the_stale_signature(
        tracked_repo: Path, comfy: Comfy, tmp_path: Path) -> None:
    bundle = signed_bundle(tracked_repo, comfy, tmp_path)
    result = comfy("export", "lighthouse", "-o", str(bundle), cwd=tracked_repo)
    assert result.code == 0, result.err
    assert not Path(f"{bundle}.sig").exists()
    assert "not signed" in comfy("verify", str(bundle), cwd=tracked_repo).out


def test_unsigned_bundle_verifies_and_require_signed_refuses(tracked_repo: Path,
                                                             comfy: Comfy) -> None:
    assert comfy("export", "lighthouse", cwd=tracked_repo).code == 0
    result = comfy("verify", "lighthouse.tar.gz", cwd=tracked_repo)
    assert result.code == 0 and "not signed" in result.out
    assert_one_error(comfy("verify", "lighthouse.tar.gz", "--require-signed", cwd=tracked_repo),
                     "it is not signed")


def rewrite_member(bundle: Path, name: str, data: bytes) -> None:
    """The bundle with one member's bytes replaced and the manifest left as it was."""
    import io
    import tarfile

    with tarfile.open(bundle, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    manifest = members.pop("manifest.json")
    members[name] = data
    bundle.write_bytes(bundlewrite.archive(manifest, members, 0))
    assert io.BytesIO(bundle.read_bytes()).read(2) == b"\x1f\x8b"


@pytest.mark.parametrize("change, fragment", [
    (lambda b: rewrite_member(b, "workflow.json", b'{"nodes": []}'), "workflow.json"),
    (lambda b: rewrite_member(b, "extra.py", b"print(1)"), "extra.py"),
    (lambda b: b.write_bytes(b.read_bytes()[:-20]), ""),
    (lambda b: b.write_bytes(b.read_bytes() + b"junk"), "after the end of the gzip stream"),
    (lambda b: b.write_bytes(b"not a bundle at all"), "not a gzip tar bundle"),
])
def test_damaged_bundles_fail_with_one_line(tracked_repo: Path, comfy: Comfy, change,  # type: ignore[no-untyped-def]
                                            fragment: str) -> None:
    assert comfy("export", "lighthouse", cwd=tracked_repo).code == 0
    bundle = tracked_repo / "lighthouse.tar.gz"
    change(bundle)
    before = tree_digest(tracked_repo)
    assert_one_error(comfy("verify", str(bundle), cwd=tracked_repo), fragment)
    assert tree_digest(tracked_repo) == before


def test_no_such_bundle(tracked_repo: Path, comfy: Comfy) -> None:
    assert_one_error(comfy("verify", "nowhere.tar.gz", cwd=tracked_repo), "no bundle at")
