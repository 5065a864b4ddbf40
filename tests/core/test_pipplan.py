"""The state of each requirement line against what the interpreter has installed."""

from __future__ import annotations

import pytest

from git_comfy.core import pipcheck, pipplan

INSTALLED = {"numpy": "1.26.4", "torch": "2.0.0+cu118", "pillow": "10.2.0",
             "nvidia-cudnn-cu12": "8.9.2.26", "weird": "not a version"}


@pytest.mark.parametrize(("line", "state", "have"), [
    ("numpy", "installed", "1.26.4"),
    ("NumPy>=1.24,<2", "installed", "1.26.4"),
    ("numpy==1.26.4", "installed", "1.26.4"),
    ("numpy>=2", "conflict", "1.26.4"),
    ("numpy~=1.25.0", "conflict", "1.26.4"),
    ("Pillow[extra]  # images", "installed", "10.2.0"),
    ("opencv-python>=4", "install", None),
    ("torch==2.1.0", "conflict", "2.0.0+cu118"),
    ("torch==2.0.0", "conflict", "2.0.0+cu118"),  # GPU stack: any constraint is shown
    ("torch", "installed", "2.0.0+cu118"),
    ("nvidia-cudnn-cu12>=8", "conflict", "8.9.2.26"),
    ("xformers>=0.0.20", "install", None),
    ("weird>=1", "conflict", "not a version"),  # no PEP 440 version: shown, not trusted
    ("ultralytics==8.3.41", "blocked", None),
    ("numpy --index-url https://evil.example/simple", "blocked", "1.26.4"),
    ("-e ./vendor", "blocked", None),
])
def test_state(line: str, state: str, have: str | None) -> None:
    [planned] = pipplan.plan({"pack": [pipcheck.check(line)]}, INSTALLED)
    assert (planned.package, planned.verdict.line, planned.state, planned.have) == (
        "pack", line, state, have)


def test_order_and_skipped_lines() -> None:
    planned = pipplan.plan({"a": pipcheck.check_all(["# deps", "", "numpy", "gcdemo-lib"]),
                            "b": pipcheck.check_all(["torch==2.1.0"])}, INSTALLED)
    assert [(line.package, line.verdict.name, line.state) for line in planned] == [
        ("a", "numpy", "installed"), ("a", "gcdemo-lib", "install"), ("b", "torch", "conflict")]


def test_satisfies() -> None:
    assert pipcheck.satisfies("", "1.0")
    assert pipcheck.satisfies("==2.1.0", "2.1.0+cu121")
    assert not pipcheck.satisfies(">=1,!=1.5", "1.5")
    with pytest.raises(ValueError):
        pipcheck.satisfies(">>1", "1.0")
