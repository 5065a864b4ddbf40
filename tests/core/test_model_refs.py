"""``models.references``: which model files a workflow needs, from which folder, used by which
nodes, and whether they run; hostile names are reported, flagged, never raised on. Every
template and every corpus workflow is analysed; the corpus index names what must be found."""

from __future__ import annotations

import importlib.resources
import random
from pathlib import Path
from typing import Any

import pytest

from git_comfy.core import graph, jsonsafe, models
from git_comfy.core.models import ModelRef

FIXTURES = Path(__file__).parents[1] / "fixtures"
CORPUS = Path(__file__).parents[2] / ".." / "shared" / "corpus"
TEMPLATES_PACKAGE = "comfyui_workflow_templates_json"
E = "eeeeeeee-0000-4000-8000-00000000000e"

Row = tuple[str | None, str, tuple[str, ...], bool, str]  # folder, normalised, ids, required, src


def refs(name: str) -> list[ModelRef]:
    return models.references(graph.parse(jsonsafe.loads((FIXTURES / name).read_bytes())))


def rows(found: list[ModelRef]) -> set[Row]:
    return {(r.folder, r.normalised, r.node_ids, r.required, r.source) for r in found}


def by_name(found: list[ModelRef], name: str) -> ModelRef:
    matches = [ref for ref in found if ref.name == name]
    assert len(matches) == 1, (name, found)
    return matches[0]


# --- fixtures ---------------------------------------------------------------------------------


def test_api_format() -> None:
    assert rows(refs("api_flattened.json")) == {
        ("checkpoints", "sd_xl_base_1.0.safetensors", ("4",), True, "loader"),
        ("loras", "inner/detail.safetensors", ("19:7",), True, "loader"),
        ("embeddings", "EasyNegative", ("6",), True, "embedding"),
    }  # SaveImage's "lighthouse.safetensors.png" prefix is no model


def test_subgraphs_promoted_widgets_and_unused_definitions() -> None:
    found = refs("subgraphs.json")
    assert rows(found) == {
        # mechanism A: each instance's own value runs, the definition's default never does
        ("checkpoints", "inst10.safetensors", ("10:1",), True, "loader"),
        ("checkpoints", "inst11.safetensors", ("11:1",), False, "loader"),  # bypassed instance
        ("loras", "shared_lora.safetensors", ("10:2", "11:2"), True, "loader"),
        ("vae", "inner_vae.safetensors", ("20:5",), True, "loader"),  # mechanism B
        ("diffusion_models", "outer_unet.safetensors", ("30:3:7",), True, "loader"),  # nested
        ("text_encoders", "muted_clip.safetensors", ("30:4",), False, "loader"),
        ("loras", "unused_lora.safetensors", (f"{E}:1",), False, "loader"),
    }
    assert by_name(found, "inst10.safetensors").url == (
        "https://huggingface.co/org/repo/resolve/main/inst10.safetensors")
    assert by_name(found, "inst11.safetensors").url is None  # the entry names inst10 only


def test_group_nodes() -> None:
    assert rows(refs("group_nodes.json")) == {
        ("checkpoints", "group_a.safetensors", ("5:0",), True, "loader"),
        ("checkpoints", "group_b.safetensors", ("6:0",), False, "loader"),  # muted instance
        ("checkpoints", "group_default.safetensors", ("7:0",), True, "loader"),  # mismatch
        ("vae", "unused_group_vae.safetensors", ("workflow>Unused:0",), False, "loader"),
    }


def test_widgets_values_shapes() -> None:
    assert rows(refs("widget_shapes.json")) == {
        (None, "dict_model.safetensors", ("1",), True, "extension"),  # a dict, custom node
        ("configs", "v1-inference.yaml", ("2",), True, "loader"),  # ckpt_name is missing
        ("checkpoints", "dict_ckpt.safetensors", ("7",), True, "loader"),  # by name in a dict
        (None, "nested/power.safetensors", ("8",), True, "extension"),  # inside a dict value
    }  # no LoraLoader values (3), pixel_space (4), null (5), "None" (6)


def test_muted_and_bypassed_loaders_and_frontend_only_nodes() -> None:
    assert rows(refs("modes.json")) == {
        ("checkpoints", "muted.safetensors", ("1",), False, "loader"),
        ("checkpoints", "bypassed.safetensors", ("2",), False, "loader"),
        ("loras", "both.safetensors", ("3", "4"), True, "loader"),  # one user runs
        ("embeddings", "bypassed_emb", ("10",), False, "embedding"),
    }  # nothing from the Note, MarkdownNote, PrimitiveNode, Label or Reroute


def test_windows_backslashes_and_subfolders_merge() -> None:
    found = refs("windows_paths.json")
    assert rows(found) == {
        ("checkpoints", "SDXL/base.safetensors", ("1", "2"), True, "loader"),
        ("diffusion_models", "WanVideo/Wan2_1-T2V-14B_fp8_e4m3fn.safetensors", ("3",), True,
         "custom-loader"),
        ("loras", "sub/dir/style.safetensors", ("4",), True, "loader"),
    }
    assert by_name(found, "SDXL\\base.safetensors").invalid is None  # the first spelling


def test_embeddings_in_prompts() -> None:
    assert rows(refs("embeddings.json")) == {
        ("embeddings", "EasyNegative", ("1", "2"), True, "embedding"),
        ("embeddings", "EasyNegative.safetensors", ("2",), True, "embedding"),
        ("embeddings", "bad_hands.pt", ("1",), True, "embedding"),  # "(…:1.2)" weight dropped
        ("embeddings", "subdir/neg_v2", ("1",), True, "embedding"),
        ("embeddings", "custom_node_emb", ("3",), True, "embedding"),  # any node's text
    }  # not "textembedding:…", not in a Note, not glued to a comma (ComfyUI splits on spaces)


@pytest.mark.parametrize(("text", "names"), [
    ("embedding:a", ["a"]),
    ("x embedding:a, embedding:b.pt\tembedding:c\nembedding:d", ["a", "b.pt", "c", "d"]),
    ("(embedding:a:1.2) (embedding:b:.5)(embedding:c)", ["a", "b", "c"]),
    ("embedding:sub/dir/e.safetensors,", ["sub/dir/e.safetensors"]),
    ("no_embedding:a embedding: embeddings:b", []),
    ("embedding:C:\\x", ["C:\\x"]),
])
def test_embedding_syntax(text: str, names: list[str]) -> None:
    assert list(models._embeddings(text)) == names


def test_custom_loaders_properties_and_workflow_models() -> None:
    found = refs("custom_loaders.json")
    assert rows(found) == {
        ("diffusion_models", "flux1-dev-Q4_K_S.gguf", ("1",), True, "custom-loader"),
        ("text_encoders", "t5-v1_1-xxl-encoder-Q5_K_M.gguf", ("2",), True, "custom-loader"),
        ("text_encoders", "clip_l.safetensors", ("2",), True, "custom-loader"),
        (None, "styles/my_style.safetensors", ("3",), True, "extension"),
        (None, "UPPER.SAFETENSORS", ("3",), True, "extension"),
        ("loras", "known_lora.safetensors", ("4",), True, "properties"),
        ("ipadapter", "ip-adapter_sd15.safetensors", ("5",), True, "custom-loader"),
        ("ultralytics", "bbox/face_yolov8m.pt", ("6",), True, "custom-loader"),
        ("diffusion_models", "aliased.safetensors", ("9",), True, "loader"),
        ("text_encoders", "workflow_level.safetensors", (), True, "workflow-models"),
    }  # SAMLoader's "ESAM" and IPAdapterUnifiedLoader's preset are no files
    known = by_name(found, "known_lora.safetensors")
    assert known.sha256 == "b645503c5d5d583a135d7e77c655237ebc6dc132d49d763759c1dd51683bd1dd"
    assert known.url == "https://huggingface.co/org/repo/resolve/main/known_lora.safetensors"
    aliased = by_name(found, "aliased.safetensors")  # directory "unet" is diffusion_models
    assert aliased.url is not None and aliased.sha256 is None  # "not-a-sha" is not kept
    assert all(ref.name != "unmatched.safetensors" for ref in found)


def test_a_properties_entry_for_a_loader_merges_into_the_loader_reference() -> None:
    document = {"nodes": [{"id": 1, "type": "VAELoader", "widgets_values": ["ae.safetensors"],
                           "properties": {"models": [{"name": "ae.safetensors",
                                                      "url": "https://x/ae.safetensors",
                                                      "directory": "vae"}]}}]}
    (only,) = models.references(graph.parse(document))
    assert (only.folder, only.source, only.url, only.node_ids) == (
        "vae", "loader", "https://x/ae.safetensors", ("1",))


def test_references_are_sorted_by_folder_then_name() -> None:
    found = refs("custom_loaders.json")
    keys = [(ref.folder or "", ref.normalised) for ref in found]
    assert keys == sorted(keys)


# --- hostile names ----------------------------------------------------------------------------


HOSTILE = {
    "../../../.bashrc": "leaves its folder",
    "/etc/passwd": "absolute path",
    "C:\\Windows\\System32\\evil.safetensors": "Windows drive",
    "nul\x00byte.safetensors": "U+0000",
    "model\u202egnp.safetensors": "U+202E",
    "CON.safetensors": "reserved Windows device name",
    "a//b.safetensors": "empty path component",
    "\\\\server\\share\\x.safetensors": "absolute path",
    "sub/../../escape.safetensors": "leaves its folder",
    "file.safetensors:stream": "contains ':'",
    "trailing.safetensors ": "ends in a dot or a space",
    "zero\u200bwidth.safetensors": "U+200B",
    "../../secrets": "leaves its folder",  # an embedding
    "payload.safetensors": "names the folder '../custom_nodes'",  # properties.models directory
}


def test_hostile_names_are_reported_and_flagged() -> None:
    found = refs("hostile_names.json")
    for name, reason in HOSTILE.items():
        ref = by_name(found, name)
        assert ref.invalid is not None and reason in ref.invalid, (name, ref.invalid)
    assert by_name(found, "ok/fine.safetensors").invalid is None
    assert len(found) == len(HOSTILE) + 1


@pytest.mark.parametrize(("name", "reason"), [
    ("", "is empty"), ("   ", "is empty"),
    ("x" * 1025, "longer than 1024"),
    ("a/" + "x" * 256, "longer than 255 bytes"),
    ("é" * 128 + ".pt", "longer than 255 bytes"),
    ("a\x1fb", "U+001F"), ("a\x7fb", "U+007F"), ("a\u0085b", "U+0085"),
    ("a\u2066b", "U+2066"), ("a\ufeffb", "U+FEFF"), ("a\u2028b", "U+2028"),
    ("\\abs.safetensors", "absolute path"), ("c:relative.safetensors", "Windows drive"),
    ("..", "leaves its folder"), ("a/..\\b", "leaves its folder"),
    ("./x.safetensors", "ends in a dot"), ("dir./x.safetensors", "ends in a dot"),
    ("aux.safetensors", "device name"), ("sub/LPT1.ckpt", "device name"),
    ("dir/", "empty path component"),
])
def test_problem(name: str, reason: str) -> None:
    problem = models.problem(name)
    assert problem is not None and reason in problem, (name, problem)


@pytest.mark.parametrize(("folder", "bad"), [
    ("checkpoints", False), ("text_encoders", False), ("LLM", False), ("ultralytics", False),
    ("..", True), ("../custom_nodes", True), ("/abs", True), ("a/b", True), ("", True),
    ("C:", True), ("x" * 65, True), ("a\x00", True), (".", True), ("-x", True),
])
def test_folder_problem(folder: str, bad: bool) -> None:
    assert (models.folder_problem(folder) is not None) == bad


@pytest.mark.parametrize("name", ["a.safetensors", "SDXL/base.safetensors", "sub\\dir\\x.ckpt",
                                  "灯台 model v2.safetensors", "a..b.safetensors",
                                  "...x.pt", "connector.safetensors", "x" * 255])
def test_no_problem(name: str) -> None:
    assert models.problem(name) is None


def test_random_names_never_raise() -> None:
    chars = "ab./\\:\x00\x1f\u202e\u200b \t\n.._CONé😀\ud800"
    rng = random.Random(7)
    for _ in range(2000):
        name = "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
        document = {"nodes": [
            {"id": 1, "type": "LoraLoader", "widgets_values": [name, 1, 1]},
            {"id": 2, "type": "Custom", "widgets_values": [name + ".safetensors"]},
            {"id": 3, "type": "CLIPTextEncode", "widgets_values": ["embedding:" + name]},
            {"id": 4, "type": "X", "properties": {"models": [{"name": name, "directory": name,
                                                              "url": 3, "hash": name}]},
             "widgets_values": [name]},
        ]}
        for ref in models.references(graph.parse(document)):
            assert ref.invalid is None or isinstance(ref.invalid, str)


# --- real workflows ---------------------------------------------------------------------------


def _templates() -> list[Any]:
    try:
        folder = importlib.resources.files(TEMPLATES_PACKAGE) / "templates"
    except ModuleNotFoundError:
        return []
    return sorted((item for item in folder.iterdir()
                   if item.name.endswith(".json")
                   and not item.name.startswith(("index", "fuse_options"))),
                  key=lambda item: item.name)


def _corpus() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(path for path in CORPUS.glob("*.json")
                  if not path.name.startswith("object_info"))


def _listed_models(node: graph.Node) -> list[dict[str, Any]]:
    listed = node.properties.get("models")
    return [entry for entry in listed if isinstance(entry, dict)] if isinstance(listed,
                                                                               list) else []


def test_every_template_parses_and_its_listed_models_are_found() -> None:
    """Every properties.models entry the frontend would select (its name is one of the node's
    string widget values as they run) is found, in its folder, with its URL."""
    templates = _templates()
    assert len(templates) > 600, f"install {TEMPLATES_PACKAGE}"
    total = 0
    for item in templates:
        workflow = graph.parse(jsonsafe.loads(item.read_bytes()))
        found = {(ref.folder, ref.name): ref for ref in models.references(workflow)}
        for node in workflow.nodes:
            values = {value for value in node.values() if isinstance(value, str)}
            for entry in _listed_models(node):
                if entry["name"] in values:
                    ref = found.get((entry["directory"], entry["name"]))
                    assert ref is not None, (item.name, node.id, entry)
                    # two nodes may give one file two URLs (one with ?download=true): first wins
                    assert node.id in ref.node_ids and ref.url is not None
                    total += 1
        assert all(ref.invalid is None for ref in found.values()), item.name
    assert total > 1000


def _readme_models() -> dict[str, list[str]]:
    """The corpus index: file → "folder/name" of every model it references."""
    readme = CORPUS / "README.md"
    expected: dict[str, list[str]] = {}
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            cells = [cell.strip() for cell in line.split("|")]
            if len(cells) > 9 and cells[2].endswith(".json"):
                expected[cells[2]] = [] if cells[8] == "-" else cells[8].split("<br>")
    return expected


EXPECTED = _readme_models()
_NO_CORPUS = pytest.param(None, marks=pytest.mark.skip(reason=f"no shared corpus at {CORPUS}"),
                          id="absent")


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=path.name) for path in _corpus()] or [_NO_CORPUS]
)
def test_every_corpus_workflow_yields_the_models_its_index_lists(path: Path) -> None:
    found = models.references(graph.parse(jsonsafe.loads(path.read_bytes())))
    keys = {f"{ref.folder}/{ref.normalised}" for ref in found}
    assert path.name in EXPECTED, "the corpus README does not index this file"
    missing = [model for model in EXPECTED[path.name] if model not in keys]
    assert not missing, (missing, sorted(keys))


@pytest.mark.skipif(not _corpus(), reason=f"no shared corpus at {CORPUS}")
def test_corpus_details() -> None:
    def of(name: str) -> list[ModelRef]:
        return models.references(graph.parse(jsonsafe.loads((CORPUS / name).read_bytes())))

    user = of("user__wan21_slg_v2v_custom_nodes.json")
    lora = by_name(user, "wan2.1-1.3b-control-lora-tile-v0.2_comfy.safetensors")
    assert (lora.folder, lora.node_ids, lora.required) == ("loras", ("287",), False)  # bypassed
    upscaler = by_name(user, "4x-UltraSharp.pth")  # CR Upscale Image, a custom node
    assert (upscaler.folder, upscaler.source, upscaler.required) == (None, "extension", False)
    assert all(ref.name != "MiaoshouAI/Florence-2-base-PromptGen-v2.0" for ref in user)
    wan = of("wanvideowrapper__wanvideo_T2V_example_01.json")
    assert {(ref.folder, ref.normalised, ref.node_ids) for ref in wan} == {
        ("diffusion_models", "WanVideo/Wan2_1-T2V-14B_fp8_e4m3fn.safetensors", ("22",)),
        ("vae", "wanvideo/Wan2_1_VAE_bf16.safetensors", ("38",)),
        ("text_encoders", "umt5-xxl-enc-bf16.safetensors", ("11",)),
    }
    embedding = by_name(of("tpl0.1.95__embedding_example.json"), "SDA768.pt")
    assert (embedding.folder, embedding.node_ids) == ("embeddings", ("6",))
    hunyuan = by_name(of("tpl0.11.97__3d_hunyuan3d-v2.1.json"), "hunyuan_3d_v2.1.safetensors")
    assert (hunyuan.folder, hunyuan.node_ids) == ("checkpoints", ("19:1",))
