"""What the pre-commit hook adds to ``git commit``: a table of medians, run by hand.

For 1, 50 and 500 tracked workflows, each commit follows a save in ComfyUI of half of them
(the seed changes) and an edit of one ordinary file. Columns: ``git commit -a`` with the hook;
the same commit in a twin repository without the hook that holds the same workflow files,
changed by hand (so git writes the same blobs there: what any tool must pay); the hook's cost
(the difference); and that cost against a bare ``python -c pass`` (budget: 2.5x at 50
workflows). A "0 changed" row is a commit where nothing in ComfyUI changed.

    python benchmarks/hook.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from git_comfy.commands import demo

SAMPLE = Path(demo.DATA) / "workflows" / "lighthouse.json"


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _seeded(seed: int) -> str:
    workflow = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for node in workflow["nodes"]:
        if node["type"] == "KSampler":
            node["widgets_values"][0] = seed
    return json.dumps(workflow, indent=2)


def _timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


class Setup:
    """A ComfyUI with ``count`` workflows and two repositories: one initialised (hook), one not."""

    def __init__(self, base: Path, count: int) -> None:
        self.count = count
        self.comfyui = Path(demo.build_comfyui(str(base / "ComfyUI")))
        self.folder = self.comfyui / "user" / "default" / "workflows" / "bench"
        self.folder.mkdir()
        for index in range(count):
            (self.folder / f"w{index:03}.json").write_text(_seeded(index), encoding="utf-8")
        self.hooked = base / "hooked"
        self.plain = base / "plain"
        for repo in (self.hooked, self.plain):
            repo.mkdir()
            _git("init", "-q", cwd=repo)
            (repo / "notes.txt").write_text("0\n")
            _git("add", "notes.txt", cwd=repo)
        cli = [sys.executable, "-m", "git_comfy"]
        subprocess.run([*cli, "init", "--comfyui", str(self.comfyui)], cwd=self.hooked,
                       check=True, capture_output=True)
        subprocess.run([*cli, "track", "--all"], cwd=self.hooked, check=True, capture_output=True)
        for repo in (self.hooked, self.plain):
            _git("commit", "-q", "-m", "start", cwd=repo)
        self.by_hand = self.plain / "workflows"
        self.by_hand.mkdir()
        for index in range(count):
            self._copy_by_hand(index)
        _git("add", "workflows", cwd=self.plain)
        self.round = 0

    def _copy_by_hand(self, index: int) -> None:
        name = f"w{index:03}.json"
        (self.by_hand / name).write_bytes((self.folder / name).read_bytes())

    def change(self, workflows: bool) -> None:
        """One round of user work: half the workflows saved with a new seed, one file edited."""
        self.round += 1
        if workflows:
            for index in range(0, self.count, 2):
                path = self.folder / f"w{index:03}.json"
                path.write_text(_seeded(self.count * self.round + index), encoding="utf-8")
                self._copy_by_hand(index)
        for repo in (self.hooked, self.plain):
            (repo / "notes.txt").write_text(f"{self.round}\n")

    def commit(self, repo: Path) -> float:
        return _timed(["git", "commit", "-q", "-a", "-m", f"round {self.round}"], repo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 50, 500])
    options = parser.parse_args()
    bare = statistics.median(
        _timed([sys.executable, "-c", "pass"], Path.cwd()) for _ in range(options.runs * 2)
    )
    print(f"python -c pass: {bare * 1000:.1f} ms (median of {options.runs * 2})")
    print(f"git {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout}")
    header = f"{'workflows':>9} {'changed':>8} {'with hook':>10} {'by hand':>8} {'hook cost':>10} "
    print(header + f"{'x bare':>7}")
    for count in options.sizes:
        with tempfile.TemporaryDirectory(prefix="git-comfy-bench-") as base:
            setup = Setup(Path(base), count)
            for workflows, label in ((True, f"{(count + 1) // 2}"), (False, "0")):
                hooked, plain = [], []
                for _ in range(options.runs):
                    setup.change(workflows)
                    hooked.append(setup.commit(setup.hooked))
                    plain.append(setup.commit(setup.plain))
                with_hook, without = statistics.median(hooked), statistics.median(plain)
                cost = with_hook - without
                print(
                    f"{count:>9} {label:>8} {with_hook * 1000:>8.1f}ms {without * 1000:>6.1f}ms "
                    f"{cost * 1000:>8.1f}ms {cost / bare:>6.2f}x"
                )


if __name__ == "__main__":
    main()
