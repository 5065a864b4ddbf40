"""Shell completion in real shells: bash through git's own completion (git-completion.bash, with
bash-completion when it is installed), and zsh through its native ``_git`` driven over a pty.
The completion scripts are the ones ``git comfy completion bash|zsh`` prints, and the program
they ask is the ``git-comfy`` on PATH (the test environment's, which conftest puts first)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import git_comfy

from git_comfy.commands import completion

GIT_COMPLETION = Path("/usr/share/bash-completion/completions/git")
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
COMMANDS = {"init", "track", "untrack", "status", "commit", "hook", "completion", "demo"}
INIT_OPTIONS = {"--comfyui", "--force", "--uninstall-hook"}

# Pressing TAB, as bash does it: COMP_* set from the line, the function registered with
# `complete -F` for the command word called with (command, current word, previous word), and
# when nothing is registered yet, the `complete -D` default (bash-completion's lazy loader) first.
# Prints COMPREPLY, NUL-separated.
BASH_HARNESS = r"""
line=$1 mode=$2
if [[ -f $BASH_COMPLETION_MAIN ]]; then
	source "$BASH_COMPLETION_MAIN" || exit 90
fi
if [[ $mode == eval ]]; then
	source "$GIT_COMPLETION" || exit 91
	eval "$(git comfy completion bash)" || exit 92
fi
COMP_LINE=$line
COMP_POINT=${#line}
read -ra COMP_WORDS <<< "$line"
[[ $line == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_TYPE=9
command=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
function_of () {
	local spec
	spec=$(complete -p "$@" 2>/dev/null) || return 1
	[[ $spec == *' -F '* ]] || return 1
	spec=${spec##* -F }
	printf '%s' "${spec%% *}"
}
if ! complete -p -- "$command" >/dev/null 2>&1; then
	loader=$(function_of -D) || exit 93
	"$loader" "$command" "$cur" "$prev"
fi
function=$(function_of -- "$command") || exit 94
printf '%s\n' "$function" >&2
"$function" "$command" "$cur" "$prev"
printf '%s\0' "${COMPREPLY[@]}"
"""

# Pressing TAB in an interactive zsh on a pty: compinit with a folder holding _git-comfy on
# $fpath, compadd wrapped to record every match offered, and a key that records the line after
# the completion was inserted.
ZSH_INIT = r"""
PROMPT='' RPROMPT=''
bindkey -e
fpath=($GC_FPATH $fpath)
autoload -Uz compinit && compinit -u -d $GC_OUT.zcompdump
zmodload zsh/zutil
bindkey '^I' complete-word
zstyle ':completion:*' insert-tab false
compadd () {
	if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
		builtin compadd "$@"
		return $?
	fi
	local -a __hits
	builtin compadd -A __hits "$@"
	(( $#__hits )) && print -rl -- $__hits >> $GC_OUT.matches
	builtin compadd "$@"
}
_gc_record_line () { print -rn -- "$BUFFER" > $GC_OUT.line }
zle -N _gc_record_line
bindkey '^Xd' _gc_record_line
print -r -- GC_READY
"""

ZSH_DRIVER = r"""
zmodload zsh/zpty zsh/datetime
zpty shell zsh -f -i
zpty -w shell "source ${(q)1}"
local output= chunk=
integer deadline=$(( EPOCHSECONDS + 20 ))
while [[ $output != *GC_READY* ]]; do
	(( EPOCHSECONDS < deadline )) || { print -u2 "zsh did not start: $output"; exit 95 }
	zpty -r -t shell chunk && output+=$chunk || sleep 0.05
done
zpty -w -n shell "$2"$'\t\C-Xd'
output=
while [[ ! -e $GC_OUT.line ]]; do
	(( EPOCHSECONDS < deadline )) || { print -u2 "no completion happened: $output"; exit 96 }
	zpty -r -t shell chunk && output+=$chunk || sleep 0.05
done
while zpty -r -t shell chunk; do output+=$chunk; done
zpty -d shell
print -rn -- "$output"  # what the terminal showed: the list of matches with descriptions
"""


def _bash_modes() -> list[object]:
    lazy_reason = f"bash-completion is not installed ({BASH_COMPLETION} is missing)"
    return [
        pytest.param("eval", id="eval"),
        pytest.param("lazy", id="lazy",
                     marks=pytest.mark.skipif(not BASH_COMPLETION.is_file(), reason=lazy_reason)),
    ]


def _need_bash() -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    if not GIT_COMPLETION.is_file():
        pytest.skip(f"git's bash completion is not installed ({GIT_COMPLETION} is missing)")
    assert shutil.which("git-comfy"), "git-comfy must be on PATH (conftest puts the venv's first)"


def bash_complete(line: str, *, cwd: Path, mode: str, tmp_path: Path) -> list[str]:
    """COMPREPLY for TAB at the end of ``line``. ``eval``: git's completion and
    ``eval "$(git comfy completion bash)"``, as the README says. ``lazy``: both loaded on
    demand by bash-completion, ours from the user's completions folder (where pipx links it)."""
    _need_bash()
    user_dir = tmp_path / "bash-completion-user"
    (user_dir / "completions").mkdir(parents=True, exist_ok=True)
    (user_dir / "completions" / "git-comfy").write_text(completion.script("bash"))
    script = tmp_path / "press-tab.bash"
    script.write_text(BASH_HARNESS)
    environment = {
        **os.environ,
        "BASH_COMPLETION_MAIN": str(BASH_COMPLETION),
        "GIT_COMPLETION": str(GIT_COMPLETION),
        "BASH_COMPLETION_USER_DIR": str(user_dir),
    }
    environment.pop("BASH_ENV", None)
    done = subprocess.run(["bash", "--norc", "--noprofile", str(script), line, mode], cwd=cwd,
                          capture_output=True, text=True, env=environment, timeout=60,
                          check=False)
    assert done.returncode == 0, f"harness failed ({done.returncode}): {done.stderr}"
    expected = "_git_comfy_direct" if line.startswith("git-comfy") else "__git_wrap__git_main"
    assert done.stderr.splitlines()[-1:] == [expected], done.stderr
    return [word for word in done.stdout.split("\0") if word]


@dataclass
class ZshTab:
    offered: set[str]  # the matches zsh offered
    line: str  # the command line after TAB
    screen: str  # what the terminal showed


def zsh_complete(line: str, *, cwd: Path, tmp_path: Path) -> ZshTab:
    """TAB at the end of ``line`` in an interactive ``zsh -f`` with compinit and
    ``git comfy completion zsh`` saved as ``_git-comfy`` on $fpath."""
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (CI installs it with apt-get install zsh)")
    assert shutil.which("git-comfy"), "git-comfy must be on PATH (conftest puts the venv's first)"
    functions = tmp_path / "zsh-functions"
    functions.mkdir(exist_ok=True)
    (functions / "_git-comfy").write_text(git_comfy("completion", "zsh", cwd=tmp_path).out)
    (tmp_path / "init.zsh").write_text(ZSH_INIT)
    (tmp_path / "drive.zsh").write_text(ZSH_DRIVER)
    out = tmp_path / "zsh-capture"
    for suffix in (".matches", ".line"):
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    environment = {**os.environ, "GC_FPATH": str(functions), "GC_OUT": str(out),
                   "ZDOTDIR": str(tmp_path)}
    done = subprocess.run(["zsh", "-f", str(tmp_path / "drive.zsh"), str(tmp_path / "init.zsh"),
                           line], cwd=cwd, capture_output=True, text=True, env=environment,
                          timeout=60, check=False)
    assert done.returncode == 0, f"zsh driver failed ({done.returncode}): {done.stderr}"
    matches = Path(f"{out}.matches")
    offered = set(matches.read_text().split("\n")) - {""} if matches.exists() else set()
    return ZshTab(offered, Path(f"{out}.line").read_text(), done.stdout)


# -- the scripts ----------------------------------------------------------------------------------


def test_zsh_script_header_is_what_zsh_git_reads() -> None:
    lines = completion.script("zsh").splitlines()
    assert lines[0] == "#compdef git-comfy"
    assert lines[1].startswith("#description ")
    assert lines[1] == f"#description {completion.SUMMARY}"


def test_completion_command_prints_the_scripts(tmp_path: Path) -> None:
    for shell in ("bash", "zsh"):
        result = git_comfy("completion", shell, cwd=tmp_path)
        assert result.code == 0, result.err
        assert result.out == completion.script(shell)
    bash = completion.script("bash")
    assert "_git_comfy ()" in bash  # the name git's completion looks for: _git_<command>
    assert "complete -o nospace -o default -o bashdefault -F _git_comfy_direct git-comfy" in bash


# -- bash -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", _bash_modes())
def test_bash_git_comfy_offers_the_commands(mode: str, tmp_path: Path) -> None:
    offered = bash_complete("git comfy ", cwd=tmp_path, mode=mode, tmp_path=tmp_path)
    assert {word.strip() for word in offered} >= COMMANDS
    assert "--help" not in offered  # options only once a dash is typed, as in git


@pytest.mark.parametrize("mode", _bash_modes())
def test_bash_completes_a_command_prefix(mode: str, tmp_path: Path) -> None:
    assert bash_complete("git comfy tr", cwd=tmp_path, mode=mode, tmp_path=tmp_path) == ["track "]


@pytest.mark.parametrize("mode", _bash_modes())
def test_bash_offers_the_options_of_init(mode: str, tmp_path: Path) -> None:
    offered = bash_complete("git comfy init --", cwd=tmp_path, mode=mode, tmp_path=tmp_path)
    assert {word.strip() for word in offered} >= INIT_OPTIONS


@pytest.mark.parametrize("mode", _bash_modes())
def test_bash_git_comfy_typed_directly(mode: str, tmp_path: Path) -> None:
    assert bash_complete("git-comfy st", cwd=tmp_path, mode=mode, tmp_path=tmp_path) == ["status "]


@pytest.mark.parametrize("mode", _bash_modes())
def test_bash_git_lists_comfy_among_its_commands(mode: str, tmp_path: Path) -> None:
    offered = bash_complete("git com", cwd=tmp_path, mode=mode, tmp_path=tmp_path)
    assert "comfy " in offered


@pytest.mark.parametrize("mode", _bash_modes())
def test_bash_completes_workflow_names(mode: str, env_repo: Path, tmp_path: Path) -> None:
    def offered(line: str, cwd: Path = env_repo) -> set[str]:
        return {w.strip() for w in bash_complete(line, cwd=cwd, mode=mode, tmp_path=tmp_path)}

    assert offered("git comfy track ") == {"lighthouse", "portraits/sailor"}
    assert bash_complete("git comfy track port", cwd=env_repo, mode=mode,
                         tmp_path=tmp_path) == ["portraits/sailor "]
    assert offered("git comfy untrack ") == set()

    result = git_comfy("track", "lighthouse", cwd=env_repo)
    assert result.code == 0, result.err
    assert offered("git comfy untrack ") == {"lighthouse"}
    assert offered("git comfy track ") == {"portraits/sailor"}
    assert offered("git-comfy untrack ", cwd=env_repo / ".cec") == {"lighthouse"}  # a subfolder


# -- zsh ------------------------------------------------------------------------------------------


def test_zsh_git_comfy_offers_the_commands(tmp_path: Path) -> None:
    tab = zsh_complete("git comfy ", cwd=tmp_path, tmp_path=tmp_path)
    assert tab.offered >= COMMANDS
    assert "--help" not in tab.offered


def test_zsh_completes_a_command_prefix(tmp_path: Path) -> None:
    tab = zsh_complete("git comfy tr", cwd=tmp_path, tmp_path=tmp_path)
    assert tab.offered == {"track"}
    assert tab.line == "git comfy track "


def test_zsh_offers_the_options_of_init(tmp_path: Path) -> None:
    tab = zsh_complete("git comfy init --", cwd=tmp_path, tmp_path=tmp_path)
    assert tab.offered >= INIT_OPTIONS


def test_zsh_git_comfy_typed_directly(tmp_path: Path) -> None:
    assert zsh_complete("git-comfy st", cwd=tmp_path, tmp_path=tmp_path).line == "git-comfy status "


def test_zsh_git_lists_comfy_with_its_description(tmp_path: Path) -> None:
    tab = zsh_complete("git co", cwd=tmp_path, tmp_path=tmp_path)
    assert {"comfy", "commit"} <= tab.offered
    # zsh's _git reads the description from the second line of _git-comfy
    assert re.search(rf"comfy +-- {re.escape(completion.SUMMARY)}", tab.screen), tab.screen


def test_zsh_completes_workflow_names(env_repo: Path, tmp_path: Path) -> None:
    tab = zsh_complete("git comfy track ", cwd=env_repo, tmp_path=tmp_path)
    assert tab.offered == {"lighthouse", "portraits/sailor"}
    result = git_comfy("track", "lighthouse", cwd=env_repo)
    assert result.code == 0, result.err
    tab = zsh_complete("git comfy untrack ", cwd=env_repo, tmp_path=tmp_path)
    assert tab.offered == {"lighthouse"}
    assert tab.line == "git comfy untrack lighthouse "
