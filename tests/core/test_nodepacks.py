"""Which packages a workflow needs: each source in its order of trust, ambiguity, grouping,
versions, and what is left unknown."""

from __future__ import annotations

from typing import Any

from git_comfy.core import graph, nodepacks
from git_comfy.core.nodepacks import Candidate, Pack, Requirement, Resolver
from git_comfy.core.packs import Identity, RegistryNode

COMMIT_A = "a" * 40
COMMIT_B = "b" * 40
BUILTIN = frozenset({"KSampler", "CLIPTextEncode", "PreviewAny"})
KJ_URL = "https://github.com/kijai/ComfyUI-KJNodes"


def workflow(*nodes: tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], int],
             extra: dict[str, Any] | None = None) -> graph.Workflow:
    raw = [{"id": n + 1, "type": spec[0], "properties": spec[1],
            "mode": spec[2] if len(spec) > 2 else 0}
           for n, spec in enumerate(nodes)]
    return graph.parse({"nodes": raw, "links": [], "extra": extra or {}})


def pack(name: str, types: set[str], *, registry_id: str | None = None,
         version: str | None = "1.0.0", repository: str | None = None,
         disabled: bool = False, dev: bool = False) -> Pack:
    identity = Identity(registry_id or name, registry_id, version,
                        "registry" if registry_id else "git", repository)
    return Pack(name, f"/comfy/custom_nodes/{name}", frozenset(types), True, disabled, identity,
                dev)


def by_package(requirements: list[Requirement]) -> dict[str | None, Requirement]:
    return {r.package: r for r in requirements}


def test_built_in_and_frontend_types_are_not_listed() -> None:
    result = Resolver(workflow(
        ("KSampler", {}), ("CLIPTextEncode", {"cnr_id": "comfy-core", "ver": "0.3.26"}),
        ("NewCoreNode", {"cnr_id": "Comfy_Core"}), ("Reroute", {}), ("Note", {}),
        ("PrimitiveNode", {}),
    ), BUILTIN, []).requirements()
    assert result == []


def test_cnr_ids_place_types_and_match_installed_packs_in_any_spelling() -> None:
    installed = pack("ComfyUI_KJNodes", {"ImageResizeKJ"}, version=COMMIT_A)
    result = Resolver(workflow(
        ("ImageResizeKJ", {"cnr_id": "comfyui-kjnodes", "ver": "1.1.2"}),
        ("GetImageSizeAndCount", {"cnr_id": "COMFYUI-KJNODES", "ver": COMMIT_B}),
        ("LayerUtility: PurgeVRAM", {"cnr_id": "comfyui_layerstyle", "ver": COMMIT_A}),
    ), BUILTIN, [installed]).requirements()
    kj = by_package(result)["ComfyUI_KJNodes"]
    assert kj.status == "installed" and kj.how == "cnr_id"
    assert kj.node_types == ("GetImageSizeAndCount", "ImageResizeKJ")
    assert kj.version == COMMIT_A and kj.path == installed.path
    assert any("saved with" in note for note in kj.notes)
    layer = by_package(result)["comfyui_layerstyle"]
    assert (layer.status, layer.source, layer.version) == ("resolved", "git", COMMIT_A)


def test_aux_id_alone_means_a_git_pack() -> None:
    result = Resolver(workflow(("Seedance", {"aux_id": "T8mars/ComfyUI_Seedance",
                                             "ver": COMMIT_A})), BUILTIN, []).requirements()
    [req] = result
    assert req.package == "https://github.com/T8mars/ComfyUI_Seedance"
    assert (req.source, req.repository, req.version) == ("git", req.package, COMMIT_A)


def test_installed_packs_place_types_without_properties() -> None:
    enabled = pack("enabled", {"Shared", "Only"})
    disabled = pack("disabled", {"Shared", "Hidden"}, disabled=True)
    result = by_package(Resolver(workflow(("Shared", {}), ("Hidden", {})), BUILTIN,
                                 [enabled, disabled]).requirements())
    assert result["enabled"].node_types == ("Shared",) and result["enabled"].how == "installed"
    assert result["disabled"].disabled and result["disabled"].node_types == ("Hidden",)
    assert any("disabled" in note for note in result["disabled"].notes)


def test_two_installed_packs_claiming_a_type_is_a_question() -> None:
    resolver = Resolver(workflow(("PreViewVideo", {})), BUILTIN,
                        [pack("one", {"PreViewVideo"}), pack("two", {"PreViewVideo"})])
    [usage] = resolver.ambiguous()
    [question] = resolver.requirements()
    assert question.status == "ambiguous" and question.package is None
    assert [c.package for c in question.candidates] == ["one", "two"]
    resolver.choose(usage, usage.candidates[1])
    [answer] = resolver.requirements()
    assert (answer.package, answer.status, answer.how) == ("two", "installed", "chosen")


def test_the_server_names_the_folder() -> None:
    resolver = Resolver(workflow(("FromServer", {}), ("ServerCore", {}), ("Versioned", {})),
                        BUILTIN, [pack("ComfyUI-Local", {"Other"})])
    resolver.add_server({"FromServer": "custom_nodes.ComfyUI-Local",
                         "ServerCore": "comfy_extras.nodes_new",
                         "Versioned": "custom_nodes.comfyui-remote@2.1"})
    result = by_package(resolver.requirements())
    assert result["ComfyUI-Local"].status == "installed"
    assert result["ComfyUI-Local"].how == "server"
    remote = result["comfyui-remote"]
    assert (remote.status, remote.version, remote.source) == ("resolved", "2.1.0", "registry")
    assert "ServerCore" not in {t for r in result.values() for t in r.node_types}


def test_node_map_claims() -> None:
    fork = "https://github.com/someone/fork"
    resolver = Resolver(workflow(("Unique", {}), ("Shared", {}), ("CoreOnly", {})), BUILTIN,
                        [pack("ComfyUI-KJNodes", set(), repository=KJ_URL)])
    assert resolver.pending() == ["CoreOnly", "Shared", "Unique"]
    resolver.add_node_map({"Unique": [Candidate("https://github.com/x/unique", None,
                                                "https://github.com/x/unique")],
                           "Shared": [Candidate(KJ_URL, None, KJ_URL),
                                      Candidate(fork, None, fork)]},
                          core_types={"CoreOnly"})
    result = by_package(resolver.requirements())
    assert result["https://github.com/x/unique"].status == "resolved"
    assert result["https://github.com/x/unique"].source == "git"
    kj = result["ComfyUI-KJNodes"]  # an installed claimant wins over the fork
    assert kj.status == "installed" and kj.node_types == ("Shared",)
    assert resolver.pending() == []


def test_node_map_ambiguity_and_registry() -> None:
    resolver = Resolver(workflow(("Shared", {}), ("ByRegistry", {}), ("Nobody", {}),
                                 ("Nobody2", {}, 4)), BUILTIN, [])
    resolver.add_node_map({"Shared": [Candidate("https://a/x", None, "https://a/x"),
                                      Candidate("https://b/x", None, "https://b/x")]})
    resolver.add_registry({"ByRegistry": RegistryNode("comfyui-reg", "https://github.com/r/reg",
                                                      "3.0.0")})
    result = resolver.requirements()
    statuses = [(r.status, r.package, r.node_types) for r in result]
    assert statuses == [
        ("resolved", "comfyui-reg", ("ByRegistry",)),
        ("ambiguous", None, ("Shared",)),
        ("unknown", None, ("Nobody", "Nobody2")),
    ]
    assert result[0].repository == "https://github.com/r/reg"
    assert result[2].required is True


def test_a_repository_and_an_id_of_one_pack_are_one_requirement() -> None:
    resolver = Resolver(workflow(("A", {"cnr_id": "comfyui-kjnodes", "ver": "1.1.2"}),
                                 ("B", {})), BUILTIN, [])
    resolver.add_node_map({"B": [Candidate(KJ_URL, None, KJ_URL)]})
    [req] = resolver.requirements()
    assert req.package == "comfyui-kjnodes" and req.node_types == ("A", "B")
    assert req.repository == KJ_URL


def test_registry_details_for_packs_not_installed() -> None:
    resolver = Resolver(workflow(("A", {"cnr_id": "comfyui-x", "ver": "9.9.9"})), BUILTIN, [])
    assert resolver.registry_ids() == ["comfyui-x"]
    info = {"comfyui-x": RegistryNode("comfyui-x", None, "1.0.0",
                                      "the registry lists repository 'http://x', which is "
                                      "not https; ignored")}
    [req] = resolver.requirements(info, {"comfyui-x": ["1.0.0"]})
    assert req.repository is None
    assert any("not https" in n for n in req.notes)
    assert any("9.9.9 is not published" in n for n in req.notes)


def test_frontend_nodes_of_packs() -> None:
    result = Resolver(workflow(("Label (rgthree)", {}), ("Fast Groups Bypasser (rgthree)", {}),
                               ("SetNode", {}), ("GetImageSizeAndCount",
                                                 {"cnr_id": "comfyui-kjnodes"})),
                      BUILTIN, []).requirements()
    rgthree = by_package(result)["rgthree-comfy"]
    assert rgthree.frontend_only
    assert rgthree.repository == "https://github.com/rgthree/rgthree-comfy"
    kj = by_package(result)["comfyui-kjnodes"]  # Set/Get share KJNodes with a real node
    assert not kj.frontend_only and kj.node_types == ("GetImageSizeAndCount", "SetNode")


def test_versions_and_optional_use() -> None:
    assert nodepacks.pick_version([COMMIT_A, "1.0.0", "1.10.0", "1.9.9"]) == "1.10.0"
    assert nodepacks.pick_version([COMMIT_A, COMMIT_B, COMMIT_B]) == COMMIT_B
    assert nodepacks.pick_version([]) is None
    result = Resolver(workflow(("Muted", {"cnr_id": "comfyui-m"}, 2),
                               ("Hinted", {}),
                               extra={"node_versions": {"ComfyUI-Hint": COMMIT_A}}),
                      BUILTIN, []).requirements()
    assert result[0].required is False
    resolver = Resolver(workflow(("Hinted", {}), extra={"node_versions": {"ComfyUI-Hint":
                                                                           COMMIT_A}}),
                        BUILTIN, [])
    resolver.add_node_map({"Hinted": [Candidate("https://github.com/o/ComfyUI-Hint", None,
                                                "https://github.com/o/ComfyUI-Hint")]})
    [hinted] = resolver.requirements()
    assert hinted.version == COMMIT_A


def test_dev_packs_keep_their_name() -> None:
    dev = pack("my-node", {"Mine"}, dev=True)
    [req] = Resolver(workflow(("Mine", {})), BUILTIN, [dev]).requirements()
    assert (req.package, req.source, req.status) == ("my-node", "dev", "installed")


def test_json_shape() -> None:
    [req] = Resolver(workflow(("A", {"cnr_id": "x"})), BUILTIN, []).requirements()
    item = nodepacks.as_json(req)
    for key in ("package", "node_types", "version", "source", "repository", "status"):
        assert key in item
