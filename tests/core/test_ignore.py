""".comfydockignore means what .gitignore means: every case below is also asked of the real git
(``git check-ignore --no-index`` in a repository holding the same files), so the expected
answers are git's, not ours."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_comfy.core import ignore

# (the ignore file's text, the paths that exist — a trailing "/" makes a folder —, the ones ignored)
CASES = [
    pytest.param("# comment\n\n\\#hash\n\\!bang\n#not-a-pattern\n",
                 ["#hash", "!bang", "# comment", "#not-a-pattern", "comment"],
                 ["#hash", "!bang"], id="comments-and-escapes"),
    pytest.param("a\\ \nb  \nc\\  \nd\\\n",
                 ["a ", "a", "b", "b  ", "c ", "c  ", "d", "d\\"],
                 ["a ", "b", "c "], id="trailing-spaces"),
    pytest.param("*.txt\n!keep*.txt\nkeep2.txt\n",
                 ["a.txt", "keep1.txt", "keep2.txt", "b.md"],
                 ["a.txt", "keep2.txt"], id="last-match-wins"),
    pytest.param("data/\n*.ckpt\n!data/keep.txt\n",
                 ["data/", "data/keep.txt", "data/sub/", "data/sub/a", "model.ckpt",
                  "sub/m.ckpt", "keep.txt"],
                 ["data/", "data/keep.txt", "data/sub/", "data/sub/a", "model.ckpt",
                  "sub/m.ckpt"], id="no-reinclude-under-excluded-folder"),
    pytest.param("data/*\n!data/keep.txt\n",
                 ["data/", "data/keep.txt", "data/other", "data/sub/", "data/sub/keep.txt"],
                 ["data/other", "data/sub/", "data/sub/keep.txt"], id="reinclude-inside-folder"),
    pytest.param("/top\nmid/dle\nname\n",
                 ["top", "x/top", "mid/dle", "x/mid/dle", "name", "x/name", "x/name2"],
                 ["top", "mid/dle", "name", "x/name"], id="anchoring"),
    pytest.param("build/\n/dist/\n",
                 ["build/", "build/o", "src/build/", "src/build/o", "x/build", "dist/",
                  "src/dist/"],
                 ["build/", "build/o", "src/build/", "src/build/o", "dist/"], id="folders-only"),
    pytest.param("*.py[co]\na/*/b\nc/?\nx*y\n",
                 ["m.pyc", "m.pyo", "m.py", "a/x/b", "a/x/y/b", "c/d", "c/de", "xay", "x/y"],
                 ["m.pyc", "m.pyo", "a/x/b", "c/d", "xay"], id="star-and-question"),
    pytest.param("[]]x\n[!a]y\n[a-]z\n[^b]w\n[[:digit:]]*.txt\n[[:foo:]]q\n[[:a]q\n[\\]]v\n"
                 "[z-a]u\n",
                 ["]x", "ay", "by", "-z", "az", "bz", "aw", "bw", "1.txt", "a.txt", "fq", ":q",
                  "[q", "aq", "]v", "zu", "au"],
                 ["]x", "by", "-z", "az", "aw", "1.txt", ":q", "[q", "aq", "]v", "zu"],
                 id="brackets"),
    pytest.param("[a-c\n/\n!\nd\\\n",
                 ["[a-c", "a", "d", "d\\"],
                 [], id="never-matching"),
    pytest.param("**/foo\n", ["foo", "x/foo", "x/y/foo", "xfoo"],
                 ["foo", "x/foo", "x/y/foo"], id="leading-double-star"),
    pytest.param("a/**/b\n", ["a/b", "a/x/b", "a/x/y/b", "ab", "a/bb"],
                 ["a/b", "a/x/b", "a/x/y/b"], id="middle-double-star"),
    pytest.param("abc/**\n", ["abc/", "abc/x", "abc/y/z", "abcd"],
                 ["abc/x", "abc/y/z"], id="trailing-double-star"),
    pytest.param("a/**/\n", ["a/", "a/b/", "a/f", "a/b/f"],
                 ["a/b/", "a/b/f"], id="double-star-folders"),
    pytest.param("a**b\n***/z\n", ["ab", "axb", "ax/b", "z", "q/z"],
                 ["ab", "axb", "z", "q/z"], id="other-stars"),
    pytest.param("foo**/bar\n", ["foobar", "foo/bar", "fooz/bar", "foo/a/b/bar", "x/foo/bar"],
                 ["foobar", "foo/bar", "fooz/bar", "foo/a/b/bar"], id="git-literal-prefix"),
    pytest.param("caf?\né*\n", ["café", "cafe", "été"],
                 ["cafe", "été"], id="bytes-not-characters"),
    pytest.param("\ufeff*.tmp\r\n!keep.tmp\r\n", ["a.tmp", "keep.tmp"],
                 ["a.tmp"], id="bom-and-crlf"),
    pytest.param("*\n!*/\n!*.py\n", ["a.py", "b.txt", "s/", "s/c.py", "s/d.txt"],
                 ["b.txt", "s/d.txt"], id="only-python"),
]


def git_ignored(tmp_path: Path, text: str, paths: list[str]) -> list[str]:
    """What the real git ignores among ``paths``, created in a repository with ``text`` as its
    .gitignore (``./`` keeps a leading ``:`` from being pathspec magic)."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_bytes(text.encode())
    for path in paths:
        if path.endswith("/"):
            (tmp_path / path).mkdir(parents=True, exist_ok=True)
        else:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).touch()
    answer = subprocess.run(
        ["git", "-c", "core.excludesFile=/dev/null", "check-ignore", "--no-index", "--stdin", "-z"],
        cwd=tmp_path, input="".join(f"./{p.rstrip('/')}\0" for p in paths),
        capture_output=True, text=True)
    assert answer.returncode in (0, 1), answer.stderr
    said = {name.removeprefix("./") for name in answer.stdout.split("\0") if name}
    return [path for path in paths if path.rstrip("/") in said]


def ignored(text: str, paths: list[str]) -> list[str]:
    patterns = ignore.compile(text)
    return [path for path in paths if patterns.matches(path.rstrip("/"), path.endswith("/"))]


@pytest.mark.parametrize(("text", "paths", "expected"), CASES)
def test_same_answers_as_git(tmp_path: Path, text: str, paths: list[str],
                             expected: list[str]) -> None:
    assert git_ignored(tmp_path, text, paths) == expected
    assert ignored(text, paths) == expected


def test_verdict_is_the_path_alone_and_matches_adds_the_folders_above() -> None:
    patterns = ignore.compile("data/\n!data/keep.txt\n*.ckpt\n")
    assert patterns.verdict("data/keep.txt", False) is False  # re-included by itself ...
    assert patterns.matches("data/keep.txt", False)  # ... but its folder is excluded
    assert patterns.verdict("data", True) is True and patterns.verdict("data", False) is None
    assert patterns.verdict("src/x.py", False) is None and not patterns.matches("src/x.py", False)
    assert patterns.verdict("deep/m.ckpt", False) is True


def test_an_empty_file_ignores_nothing() -> None:
    assert not ignore.compile("").matches("anything", False)
    assert not ignore.compile("\n\n# only comments\n   \n").matches("anything", True)
