"""Import's custom nodes and Python packages: how the plan shows them, what stops the import
before anything changes, the questions (updates; conflicts, seed Edge Case 4), and doing it —
packs first (:mod:`git_comfy.packinstall`), then the requirements into ComfyUI's interpreter
(:mod:`git_comfy.pyenv`) after its ``pip freeze`` is kept, then the loud check after."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from git_comfy import atomic, importplan, packinstall, pyenv, ui
from git_comfy.core import pipplan
from git_comfy.errors import FatalError

UPGRADE, SEPARATE, KEEP = "upgrade", "separate", "keep"
CONFLICT_CHOICES = (UPGRADE, SEPARATE, KEEP)


@dataclass
class Choices:
    """What the user said: flags, or answers on a terminal."""

    update_nodes: bool = False
    conflicts: str | None = None  # upgrade, separate or keep
    allow_build: bool = False


@dataclass
class Done:
    lines: list[str] = field(default_factory=list)  # for the summary
    freeze: str | None = None


def as_json(plan: importplan.Plan) -> dict[str, Any]:
    python = plan.python
    return {
        "packs": [{"package": a.node.package, "action": a.action, "how": a.how,
                   "folder": a.folder, "version": a.node.version,
                   "installed_version": a.installed_version, "reason": a.reason}
                  for a in plan.packs],
        "python": {
            "interpreter": python.interpreter.python if python.interpreter else None,
            "found_by": python.interpreter.how if python.interpreter else None,
            "problem": python.problem,
            "requirements": [{"package": line.package, "line": line.verdict.line,
                              "verdict": line.verdict.verdict, "reason": line.verdict.reason,
                              "state": line.state, "have": line.have}
                             for line in python.lines],
        },
    }


def print_plan(report: dict[str, Any]) -> None:
    show = ui.printable
    for pack in report["packs"]:
        action = pack["action"]
        version = (pack["version"] or "")[:12]
        if action == packinstall.UPDATE:
            detail = f"from {(pack['installed_version'] or '?')[:12]} to {version}"
        elif action == packinstall.BLOCKED:
            detail = f"cannot install: {show(pack['reason'])}"
        elif action == packinstall.INSTALL:
            detail = f"{version + ' ' if version else ''}from the {pack['how']} into " \
                     f"custom_nodes/{show(pack['folder'])}"
        else:
            detail = "nothing to do"
        print(f"    → {action:<7} {show(pack['package'])}: {detail}")
    python = report["python"]
    if python["requirements"]:
        where = python["interpreter"] or f"no interpreter: {python['problem']}"
        print(f"  python requirements → {show(where)}")
        for line in python["requirements"]:
            have = f" (have {line['have']})" if line["have"] else ""
            reason = f": {show(line['reason'])}" if line["reason"] else ""
            print(f"    {line['state']:<9} {line['verdict']:<7} {show(line['line'])}{have}"
                  f"{reason}")


def _lines(plan: importplan.Plan, state: str) -> list[pipplan.Line]:
    return [line for line in plan.python.lines if line.state == state]


def refusals(plan: importplan.Plan, yes: bool, choices: Choices) -> None:
    """What stops the import before anything changes."""
    blocked = _lines(plan, pipplan.BLOCKED)
    if blocked and yes:
        raise FatalError(f"a requirement of {blocked[0].package} is blocked "
                         f"({ui.printable(blocked[0].verdict.line)}: "
                         f"{ui.printable(blocked[0].verdict.reason or '')}); nothing was changed")
    installing = _lines(plan, pipplan.INSTALL) or _lines(plan, pipplan.CONFLICT)
    if installing and plan.python.interpreter is None:
        raise FatalError(f"{plan.python.problem}; nothing was changed")
    conflicts = _lines(plan, pipplan.CONFLICT)
    if conflicts and choices.conflicts is None and (yes or not ui.interactive()):
        listed = ", ".join(f"{ui.printable(c.verdict.line)} (have {c.have})" for c in conflicts)
        raise FatalError(f"{len(conflicts)} requirement(s) conflict with ComfyUI's Python "
                         f"packages: {listed}; choose with --conflicts upgrade|separate|keep; "
                         "nothing was changed")


def ask(plan: importplan.Plan, choices: Choices) -> None:
    """The terminal's questions about updates and conflicts, after the plan was shown."""
    updates = [a for a in plan.packs if a.action == packinstall.UPDATE]
    if updates and not choices.update_nodes:
        answer = ui.ask(f"Replace the installed version of {len(updates)} pack(s) (the old "
                        "ones are kept aside)? [y/N] ")
        choices.update_nodes = (answer or "").strip().lower() in ("y", "yes")
    if _lines(plan, pipplan.CONFLICT) and choices.conflicts is None:
        picked = ui.pick("Python dependency conflict detected. Options:", [
            "Upgrade environment (may affect other workflows)",
            "Create new environment for this workflow",
            "Try with current version (may not work)"], skip=False)
        choices.conflicts = CONFLICT_CHOICES[picked or 0]


def run(plan: importplan.Plan, choices: Choices) -> Done:
    """Installs the packs, then their requirements."""
    env = plan.env
    done = Done()
    custom_nodes = os.path.join(env.comfyui, "custom_nodes")
    wanted = [a for a in plan.packs
              if a.action == packinstall.INSTALL
              or (a.action == packinstall.UPDATE and choices.update_nodes)]
    done.lines += packinstall.install(wanted, custom_nodes, plan.unpacked)
    interpreter = plan.python.interpreter
    kept = {a.node.package for a in plan.packs if a.action == packinstall.UPDATE
            and not choices.update_nodes}  # the installed version stays, with what it needs
    install = [line.verdict.line for line in _lines(plan, pipplan.INSTALL)
               if line.package not in kept]
    conflicts = [line.verdict.line for line in _lines(plan, pipplan.CONFLICT)
                 if line.package not in kept]
    if interpreter is None or not (install or (conflicts and choices.conflicts != KEEP)):
        return done
    done.lines.append(f"Python packages go into {interpreter.python} ({interpreter.how})")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    done.freeze = pyenv.freeze(interpreter, os.path.join(env.git_dir,
                                                         f"git-comfy-pip-freeze-{stamp}.txt"))
    if choices.conflicts == UPGRADE:
        install += conflicts
    if install:
        pyenv.install(interpreter, install, allow_build=choices.allow_build)
        done.lines.append(f"installed {len(install)} requirement(s) into {interpreter.python}")
    if conflicts and choices.conflicts == SEPARATE:
        folder = os.path.join(env.root, ".cec", "venvs", plan.name.replace("/", "--"))
        separate = pyenv.separate(interpreter, folder)
        # as `python -m venv` does since 3.13: git never offers the environment for a commit
        atomic.write(os.path.join(folder, ".gitignore"), b"*\n", durable=False)
        pyenv.install(separate, conflicts, allow_build=choices.allow_build)
        done.lines.append(f"made {separate.python} for this workflow, with its conflicting "
                          "requirements; start ComfyUI with it to run it")
    done.lines.append(f"to go back: {interpreter.python} -m pip install -r {done.freeze}")
    return done


def check(plan: importplan.Plan) -> list[str]:
    """After: every node type the workflow needs, defined by an installed pack at the recorded
    version; what is not, one line each."""
    from git_comfy import nodeanalysis

    return packinstall.missing_types(plan.env.comfyui, nodeanalysis.dev_paths(plan.env),
                                     plan.manifest.nodes)
