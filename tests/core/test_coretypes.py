"""The shipped list of built-in node types: regenerated from the corpus and compared, when the
shared corpus is there (it is beside the repository on developers' machines and CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_comfy.core import coretypes

OBJECT_INFO = (Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
               / "object_info-comfyui-0.3.64.json")


def test_matches_what_comfyui_lists() -> None:
    if not OBJECT_INFO.is_file():
        pytest.skip(f"{OBJECT_INFO} is not here")
    object_info = json.loads(OBJECT_INFO.read_text(encoding="utf-8"))
    regenerated = frozenset(name for name, info in object_info.items()
                            if isinstance(info, dict) and "python_module" in info)
    assert regenerated == coretypes.BUILTIN_TYPES
    assert len(regenerated) == 478


def test_the_list_itself() -> None:
    assert {"KSampler", "CLIPTextEncode", "SaveImageWebsocket"} <= coretypes.BUILTIN_TYPES
    assert "Reroute" not in coretypes.BUILTIN_TYPES  # frontend only
    assert "websocket_image_save.py" in coretypes.SHIPPED_CUSTOM_NODES
