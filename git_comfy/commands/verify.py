"""``git comfy verify BUNDLE``: a bundle's checksums and signature, nothing written.

The bundle is read as a stranger's (:mod:`git_comfy.bundleread`): every member checked against
the manifest, the manifest's own fields checked (:func:`git_comfy.core.bundle.parse`). A
signature beside it (``BUNDLE.sig``) is verified against git's allowed signers; one by a key
they do not list is "untrusted", never good.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from git_comfy import bundleread, signing, ui
from git_comfy.core import bundle
from git_comfy.errors import FatalError


def check(path: str, *, require_signed: bool) -> dict[str, Any]:
    """The verdict on a bundle as data; raises FatalError when the bundle cannot be trusted
    (bad checksums, bad signature, or unsigned/untrusted when a good signature is required)."""
    if not os.path.isfile(path):
        raise FatalError(f"no bundle at {path}")
    contents = bundleread.read(path, bundle.expected_members)
    manifest = bundle.parse(contents.small[bundle.MANIFEST])
    verdict = signing.check(path, require=require_signed)
    return {
        "bundle": path,
        "workflow": manifest.workflow,
        "created": manifest.created,
        "tool_version": manifest.tool_version,
        "members": len(contents.files),
        "custom_nodes": len(manifest.nodes),
        "models": len(manifest.models),
        "signature": None if verdict is None else {
            "file": signing.signature_path(path), "status": verdict.status,
            "signer": verdict.signer, "key": verdict.key, "detail": verdict.detail,
        },
    }


def run(*, path: str, require_signed: bool, as_json: bool) -> int:
    result = check(path, require_signed=require_signed)
    signature = result["signature"]
    if as_json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(f"{path}: checksums OK ({result['members']} files; workflow "
              f"{ui.printable(result['workflow'])}, made {result['created']} by git-comfy "
              f"{ui.printable(result['tool_version'])})")
        print(f"  {signing.describe(signature)}")
    return 0 if signature is None or signature["status"] == "good" else 1
