"""``loaders``: the loader table is what a real ComfyUI says and what real workflows do.

The rows for ComfyUI 0.3.64's nodes are regenerated here from a real server's ``/object_info``
(the shared corpus, when it is beside the project) and compared with the checked-in table; every
row, built-in or custom, is checked against every template workflow that uses its node."""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_comfy.core import loaders
from git_comfy.core.loaders import CUSTOM_LOADERS, FOLDER_ALIASES, LOADERS, LoaderInput

OBJECT_INFO = (Path(__file__).parents[2] / ".." / "shared" / "corpus"
               / "object_info-comfyui-0.3.64.json")
TEMPLATES_PACKAGE = "comfyui_workflow_templates_json"

# (node type, input) → model folder, for every model combo of ComfyUI 0.3.64: the
# folder_paths.get_filename_list(...) call in the node's source (nodes.py, comfy_extras/*.py;
# notes/comfyui.md §3.2, found there with a sentinel file in every folder of a running server).
FOLDERS_0_3_64 = {
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("CheckpointLoader", "config_name"): "configs",
    ("CheckpointLoader", "ckpt_name"): "checkpoints",
    ("unCLIPCheckpointLoader", "ckpt_name"): "checkpoints",
    ("ImageOnlyCheckpointLoader", "ckpt_name"): "checkpoints",
    ("DiffusersLoader", "model_path"): "diffusers",
    ("LoraLoader", "lora_name"): "loras",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("CreateHookLora", "lora_name"): "loras",
    ("CreateHookLoraModelOnly", "lora_name"): "loras",
    ("CreateHookModelAsLora", "ckpt_name"): "checkpoints",
    ("CreateHookModelAsLoraModelOnly", "ckpt_name"): "checkpoints",
    ("TrainLoraNode", "existing_lora"): "loras",
    ("VAELoader", "vae_name"): "vae",
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("TripleCLIPLoader", "clip_name1"): "text_encoders",
    ("TripleCLIPLoader", "clip_name2"): "text_encoders",
    ("TripleCLIPLoader", "clip_name3"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name1"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name2"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name3"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name4"): "text_encoders",
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("StyleModelLoader", "style_model_name"): "style_models",
    ("ControlNetLoader", "control_net_name"): "controlnet",
    ("DiffControlNetLoader", "control_net_name"): "controlnet",
    ("GLIGENLoader", "gligen_name"): "gligen",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
    ("HypernetworkLoader", "hypernetwork_name"): "hypernetworks",
    ("PhotoMakerLoader", "photomaker_model_name"): "photomaker",
    ("ModelPatchLoader", "name"): "model_patches",
}
# combos of files that are no models: input/output files a server with empty folders lists as []
NOT_MODEL_FILES = {
    ("LoadLatent", "latent"), ("LoadImageSetFromFolderNode", "folder"),
    ("LoadImageTextSetFromFolderNode", "folder"), ("LoadImageOutput", "image"),
    ("Load3D", "model_file"),
    ("Load3DAnimation", "model_file"), ("LoadVideo", "file"), ("OpenAIInputFiles", "file"),
    ("GeminiInputFiles", "file"),
}
_WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
# the frontend gives these INT inputs a control_after_generate widget even unasked
# (ComfyWidgets "INT:seed" / "INT:noise_seed")
_SEED_NAMES = {"seed", "noise_seed"}

FOLDERS_NOW = {  # model folders of ComfyUI now (notes/comfyui.md §3.1) and of the custom packs
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
    "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen",
    "upscale_models", "hypernetworks", "photomaker", "classifiers", "model_patches",
    "audio_encoders", "latent_upscale_models", "background_removal", "frame_interpolation",
    "geometry_estimation", "optical_flow", "detection",
    "ipadapter", "animatediff_models", "ultralytics", "sams",
}


def widget_indices(info: dict[str, Any]) -> dict[str, int]:
    """input name → widgets_values index, as the frontend lays out a node (notes §3.3)."""
    indices: dict[str, int] = {}
    index = 0
    for section in ("required", "optional"):
        for name in info.get("input_order", {}).get(section, []):
            spec = info["input"][section][name]
            kind, options = spec[0], spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if not (isinstance(kind, list) or kind in _WIDGET_TYPES) or options.get("forceInput"):
                continue  # a socket, not a widget
            indices[name] = index
            index += 1
            if kind == "INT" and (options.get("control_after_generate") or name in _SEED_NAMES):
                index += 1
    return indices


def combo_options(info: dict[str, Any], name: str) -> list[Any] | None:
    for section in ("required", "optional"):
        spec = (info["input"].get(section) or {}).get(name)
        if spec is not None:
            if isinstance(spec[0], list):
                return spec[0]
            if spec[0] == "COMBO" and len(spec) > 1:
                return list(spec[1].get("options") or [])
    return None


@pytest.fixture(scope="module")
def object_info() -> dict[str, Any]:
    if not OBJECT_INFO.is_file():
        pytest.skip(f"no shared corpus at {OBJECT_INFO.parent}")
    info: dict[str, Any] = json.loads(OBJECT_INFO.read_text(encoding="utf-8"))
    return info


# --- the table regenerated from a real server -------------------------------------------------


def test_the_builtin_rows_are_generated_from_object_info(object_info: dict[str, Any]) -> None:
    generated: dict[str, list[tuple[str, int, str]]] = {}
    for (node_type, name), folder in FOLDERS_0_3_64.items():
        index = widget_indices(object_info[node_type])[name]
        generated.setdefault(node_type, []).append((name, index, folder))
    checked_in = {node_type: [(row.name, row.index, row.folder) for row in LOADERS[node_type]]
                  for node_type in generated}
    assert checked_in == {node_type: sorted(rows, key=lambda row: row[1])
                          for node_type, rows in generated.items()}
    # nothing in the table for these nodes that the server does not confirm
    assert {t for t in LOADERS if t in object_info} == set(generated)


def test_every_file_combo_of_the_server_is_in_the_table_or_no_model(
        object_info: dict[str, Any]) -> None:
    """With every model folder empty, a model combo lists nothing: each empty combo is a
    table row or a known list of input/output files."""
    empty = {(node_type, name) for node_type, info in object_info.items()
             for section in ("required", "optional")
             for name in (info["input"].get(section) or {})
             if combo_options(info, name) == []}
    assert empty - set(FOLDERS_0_3_64) == NOT_MODEL_FILES


def test_what_an_empty_server_still_offers_is_marked_no_model(
        object_info: dict[str, Any]) -> None:
    for node_type, rows in LOADERS.items():
        for row in rows:
            if node_type in object_info and row.folder != "configs":  # ComfyUI ships configs
                options = combo_options(object_info[node_type], row.name)
                assert options is not None, (node_type, row.name)
                assert set(options) <= row.not_models, (node_type, row.name, options)


def test_train_lora_counts_the_seed_control_widget(object_info: dict[str, Any]) -> None:
    # object_info does not flag its seed; the frontend still adds control_after_generate
    assert "control_after_generate" not in str(
        object_info["TrainLoraNode"]["input"]["required"]["seed"])
    assert LOADERS["TrainLoraNode"] == (LoaderInput("existing_lora", 13, "loras",
                                                    frozenset({"[None]"})),)


def test_widget_indices_follow_the_control_after_generate_rule(
        object_info: dict[str, Any]) -> None:
    assert widget_indices(object_info["KSampler"]) == {
        "seed": 0, "steps": 2, "cfg": 3, "sampler_name": 4, "scheduler": 5, "denoise": 6}
    assert widget_indices(object_info["CheckpointLoader"]) == {"config_name": 0, "ckpt_name": 1}


# --- every row against the templates ----------------------------------------------------------


def _template_nodes() -> Iterator[dict[str, Any]]:
    try:
        folder = importlib.resources.files(TEMPLATES_PACKAGE) / "templates"
    except ModuleNotFoundError:
        return
    for item in folder.iterdir():
        if item.name.endswith(".json") and not item.name.startswith(("index", "fuse_options")):
            document = json.loads(item.read_bytes())
            graphs = [document]
            while graphs:
                graph = graphs.pop()
                yield from graph.get("nodes", [])
                graphs.extend((graph.get("definitions") or {}).get("subgraphs", []))


def test_every_loader_row_agrees_with_the_templates() -> None:
    """Where a template names a loader's model in properties.models, the widget holding that
    name and the entry's directory are one of the node type's rows."""
    tables = {**LOADERS, **CUSTOM_LOADERS}
    seen: dict[str, int] = {}
    for node in _template_nodes():
        rows = tables.get(node.get("type", ""))
        widgets = node.get("widgets_values")
        if rows is None or not isinstance(widgets, list):
            continue
        for entry in (node.get("properties") or {}).get("models") or []:
            indices = [i for i, value in enumerate(widgets) if value == entry["name"]]
            if indices:
                folder = loaders.canonical_folder(entry["directory"])
                assert any((row.index, row.folder) == (index, folder)
                           for row in rows for index in indices), (node["type"], entry)
                seen[node["type"]] = seen.get(node["type"], 0) + 1
    if not seen:
        pytest.fail(f"{TEMPLATES_PACKAGE} is not installed")
    # the rows newer than 0.3.64 are all confirmed by at least one template
    newer = {"AudioEncoderLoader", "LatentUpscaleModelLoader", "LTXVAudioVAELoader",
             "LTXAVTextEncoderLoader", "ConditioningLoader", "FrameInterpolationModelLoader",
             "OpticalFlowLoader", "LoadBackgroundRemovalModel", "LoadMoGeModel",
             "LoadDA3Model", "SAM3DBody_Loader"}
    assert newer <= set(seen)
    assert newer | {node_type for node_type, _ in FOLDERS_0_3_64} == set(LOADERS)


# --- the shape of the tables ------------------------------------------------------------------


@pytest.mark.parametrize("table", [LOADERS, CUSTOM_LOADERS], ids=["builtin", "custom"])
def test_rows_are_well_formed(table: dict[str, tuple[LoaderInput, ...]]) -> None:
    for node_type, rows in table.items():
        assert rows, node_type
        assert len({row.index for row in rows}) == len(rows), node_type
        assert len({row.name for row in rows}) == len(rows), node_type
        for row in rows:
            assert row.index >= 0
            assert row.folder in FOLDERS_NOW, (node_type, row)
            assert row.folder not in FOLDER_ALIASES  # always the current folder name
            assert isinstance(row.not_models, frozenset)


def test_custom_loaders_are_not_builtin() -> None:
    assert not set(CUSTOM_LOADERS) & set(LOADERS)


def test_the_custom_loaders_the_corpus_uses() -> None:
    """wanvideowrapper__wanvideo_T2V_example_01.json: widget 0 of these holds the model."""
    assert CUSTOM_LOADERS["WanVideoModelLoader"] == (LoaderInput("model", 0,
                                                                 "diffusion_models"),)
    assert CUSTOM_LOADERS["WanVideoVAELoader"] == (LoaderInput("model_name", 0, "vae"),)
    assert CUSTOM_LOADERS["LoadWanVideoT5TextEncoder"] == (LoaderInput("model_name", 0,
                                                                       "text_encoders"),)
    assert "IPAdapterUnifiedLoader" not in CUSTOM_LOADERS  # picks files by preset


def test_extensions_and_aliases() -> None:
    extensions = {".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl",
                  ".gguf", ".onnx"}
    assert extensions == loaders.MODEL_EXTENSIONS
    assert FOLDER_ALIASES == {"clip": "text_encoders", "unet": "diffusion_models"}
    assert loaders.canonical_folder("clip") == "text_encoders"
    assert loaders.canonical_folder("unet") == "diffusion_models"
    assert loaders.canonical_folder("loras") == "loras"


def test_the_module_reads_no_file() -> None:
    """The checked-in table stands alone: importing it opens nothing (no ../shared)."""
    code = ("import builtins\n"
            "def refuse(*args, **kwargs): raise SystemExit(f'opened {args[:1]}')\n"
            "builtins.open = refuse\n"
            "from git_comfy.core import loaders\n"
            "print(len(loaders.LOADERS))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(LOADERS))
