"""ComfyUI-Manager's node map: its rows, and the claim rules Manager applies."""

from __future__ import annotations

import pytest

from git_comfy.core import nodemap

KJ = "https://github.com/kijai/ComfyUI-KJNodes"
FORK = "https://github.com/someone/ComfyUI-KJNodes-fork"
RG = "https://github.com/rgthree/rgthree-comfy"
CORE = "https://github.com/comfyanonymous/ComfyUI"
DOCUMENT = {
    CORE: [["KSampler", "CLIPTextEncode"], {"title_aux": "ComfyUI"}],
    KJ: [["ImageResizeKJ", "Shared"], {"title_aux": "KJNodes"}],
    FORK: [["Shared", "Shared", 7], {"title_aux": "fork", "preemptions": ["Preempted"]}],
    RG: [[], {"nodename_pattern": " \\(rgthree\\)$"}],
    "http://insecure.example/x": [["Insecure"], {}],
    "https://github.com/bad/entry": "not a list",
    "https://github.com/bad/pattern": [["P"], {"nodename_pattern": "("}],
}


def test_rows() -> None:
    table = nodemap.build(DOCUMENT)
    assert table.skipped == 2
    repositories = table.repositories
    assert CORE in repositories and "http://insecure.example/x" not in repositories
    claims = {(name, repositories[i]) for name, i in table.claims}
    assert ("Shared", FORK) in claims and ("Shared", KJ) in claims
    assert len([c for c in table.claims if c[0] == "Shared"]) == 2  # duplicates and 7 dropped
    assert [(p, repositories[i]) for p, i in table.patterns] == [(" \\(rgthree\\)$", RG)]
    assert [(t, repositories[i]) for t, i in table.preemptions] == [("Preempted", FORK)]
    assert table.titles[repositories.index(KJ)] == "KJNodes"
    assert nodemap.is_core(CORE) and not nodemap.is_core(KJ)


def test_claim_rules() -> None:
    patterns = [(" \\(rgthree\\)$", 3)]
    assert nodemap.claimants("Shared", [1, 2], [], patterns) == [1, 2]
    assert nodemap.claimants("Shared", [1, 2], [2], patterns) == [2]
    assert nodemap.claimants("Seed (rgthree)", [], [], patterns) == [3]
    assert nodemap.claimants("Nobody", [], [], patterns) == []
    assert nodemap.claimants("x" * 1000 + " (rgthree)", [], [], patterns) == []


@pytest.mark.parametrize("document", [[], "x", {}, {"http://a/b": [["X"]]}])
def test_unusable_documents(document: object) -> None:
    with pytest.raises(nodemap.NodeMapError):
        nodemap.build(document)
