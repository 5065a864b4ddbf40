"""Which repository addresses may be cloned (security notes §2.3, §8 cases 49-52): plain https
on a well-known host in the /<owner>/<repo> shape, or under a prefix the user listed."""

from __future__ import annotations

import pytest

from git_comfy.core import sources

MIRRORS = ["https://git.example.com/", "/srv/mirrors", "file:///opt/packs/"]


@pytest.mark.parametrize("url", [
    "https://github.com/kijai/ComfyUI-KJNodes",
    "https://github.com/kijai/ComfyUI-KJNodes.git",
    "https://github.com/kijai/ComfyUI-KJNodes/",
    "https://GitHub.com/o/r",
    "https://github.com:443/o/r",
    "https://gitlab.com/group/subgroup/repo",
    "https://codeberg.org/o/r",
    "https://bitbucket.org/o/r.git",
    "https://git.sr.ht/~owner/repo",
    "https://huggingface.co/spaces/owner/repo",
    # under the user's prefixes, whatever the scheme
    "https://git.example.com/team/deep/path/pack",
    "/srv/mirrors/pack",
    "/srv/mirrors/My Packs/pack",
    "file:///opt/packs/pack",
])
def test_allowed(url: str) -> None:
    assert sources.refusal(url, MIRRORS) is None


@pytest.mark.parametrize(("url", "reason"), [
    ("ext::sh -c touch% /tmp/pwned", "ext:: transports are never used"),
    ("fd::17", "fd:: transports are never used"),
    ("https://github.com/o/r::x", "'::'"),
    ("--upload-pack=touch x", "starts with '-'"),
    ("-u/srv/mirrors/pack", "starts with '-'"),
    ("https://github.com/o/r\n", "control characters"),
    ("https://github.com/o/r\x1b[2J", "control characters"),
    ("", "empty"),
    ("https://github.com/o r/x", "spaces"),
    ("file:///x", "file:// is not https (add a prefix with git config --add "
                  "comfy.allowedSource"),
    ("/local/path", "a local path is not https"),
    ("../pack", "a local path is not https"),
    ("git@github.com:o/r.git", "git@github.com:… is an ssh address, not https"),
    ("ssh://git@github.com/o/r", "ssh:// is not https"),
    ("git://github.com/o/r", "git:// is not https"),
    ("http://github.com/o/r", "http:// is not https"),
    ("HTTPS://github.com/o/r", "HTTPS:// is not https"),
    ("https://user:ghp_x@github.com/o/r", "the address holds a user name or password"),
    ("https://github.com@evil.io/o/r", "the address holds a user name or password"),
    ("https://github.com.evil.io/o/r", "github.com.evil.io is not an allowed host (add a prefix "
                                       "with git config --add comfy.allowedSource"),
    ("https://evilgithub.com/o/r", "evilgithub.com is not an allowed host"),
    ("https://github.com:8443/o/r", "port 8443"),
    ("https://github.com:/o/r", "port (empty)"),
    ("https://github.com/o", "/o is not a /<owner>/<repo> path on github.com"),
    ("https://github.com/o/r/tree/main", "is not a /<owner>/<repo> path"),
    ("https://github.com/o/r?x=1", "is not a /<owner>/<repo> path"),
    ("https://github.com/o/r#frag", "is not a /<owner>/<repo> path"),
    ("https://github.com/o/..", "is not a /<owner>/<repo> path"),
    ("https://github.com//r", "is not a /<owner>/<repo> path"),
    ("https://huggingface.co/datasets/o/r", "is not a /<owner>/<repo> path"),
    # prefixes match at a '/' boundary and cannot be climbed out of
    ("/srv/mirrors-evil/pack", "a local path is not https"),
    ("/srv/mirrors/../etc/pack", "a local path is not https"),
    ("/srv/mirrors/%2e%2e/etc", "a local path is not https"),
    ("https://git.example.com.evil.io/o/r", "git.example.com.evil.io is not an allowed host"),
])
def test_refused(url: str, reason: str) -> None:
    refusal = sources.refusal(url, MIRRORS)
    assert refusal is not None and reason in refusal, refusal
    assert "ghp_x" not in refusal


def test_an_allowed_prefix_never_lets_options_or_transports_through() -> None:
    assert sources.refusal("-x", ["-"]) is not None
    assert sources.refusal("ext::sh", ["ext::"]) is not None
    assert sources.refusal("/x/pack", ["", "/y"]) is not None  # an empty prefix allows nothing


def test_prefix_with_user_info_is_the_users_choice() -> None:
    assert sources.refusal("https://me@git.example.com/o/r", ["https://me@git.example.com/"]) \
        is None


@pytest.mark.parametrize(("url", "kind"), [
    ("https://github.com/o/r", "https"), ("HTTP://x/y", "http"), ("file:///x", "file"),
    ("/local/path", "file"), ("relative/path", "file"), ("git@github.com:o/r", "ssh"),
    ("github.com:o/r", "ssh"),
])
def test_transport_is_gits_own_reading(url: str, kind: str) -> None:
    assert sources.transport(url) == kind


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:ghp_x@github.com/o/r", "https://github.com/o/r"),
    ("https://a@b@evil.io/o/r", "https://evil.io/o/r"),
    ("https://github.com/o/r@v1", "https://github.com/o/r@v1"),
    ("/srv/mirrors/pack", "/srv/mirrors/pack"),
])
def test_shown_drops_user_info(url: str, shown: str) -> None:
    assert sources.shown(url) == shown
