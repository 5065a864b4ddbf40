"""ComfyUI workflow documents."""

from __future__ import annotations

from git_comfy.core import jsonsafe

TYPE_CHECKING = False  # the hook imports this module; typing costs it 2 ms
if TYPE_CHECKING:
    from typing import Any

# ComfyDock injected resolution data here; the seed ("Migration") strips it on the next commit.
LEGACY_METADATA_KEY = "_comfydock_metadata"


def strip_legacy_metadata(workflow: dict[str, Any]) -> bool:
    """Removes ``extra._comfydock_metadata``; True when there was something to remove."""
    extra = workflow.get("extra")
    if isinstance(extra, dict) and LEGACY_METADATA_KEY in extra:
        del extra[LEGACY_METADATA_KEY]
        return True
    return False


def snapshot_bytes(saved: bytes) -> bytes:
    """What git-comfy commits for a workflow file ComfyUI saved: the same bytes, after a strict
    check, unless legacy metadata must be stripped, which rewrites it in the file's own layout.
    Raises :class:`jsonsafe.JSONError` for anything that is not a workflow-shaped JSON object."""
    workflow = jsonsafe.loads_object(saved)
    if not strip_legacy_metadata(workflow):
        return saved
    rewritten = jsonsafe.dumps(workflow, indent=jsonsafe.layout_of(saved))
    return rewritten + b"\n" if saved.endswith(b"\n") else rewritten
