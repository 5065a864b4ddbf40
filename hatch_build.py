"""Wheel build hook: render the shell completion scripts from templates/ into the wheel's data
(share/bash-completion/completions/git-comfy, share/zsh/site-functions/_git-comfy), so that pipx
and bash-completion >= 2.12 find them with no action by the user."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

DESTINATIONS = {
    "bash": "share/bash-completion/completions/git-comfy",
    "zsh": "share/zsh/site-functions/_git-comfy",
}


class CompletionBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        sys.path.insert(0, self.root)
        from git_comfy.commands import completion

        self._out = tempfile.TemporaryDirectory(prefix="git-comfy-build-")
        for shell, destination in DESTINATIONS.items():
            path = os.path.join(self._out.name, os.path.basename(destination))
            with open(path, "w", encoding="utf-8") as file:
                file.write(completion.script(shell))
            build_data["shared_data"][path] = destination

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        self._out.cleanup()
