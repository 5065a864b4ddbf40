"""Which node inputs name a model file, and in which of ComfyUI's model folders: data only.

``LOADERS`` covers ComfyUI's built-in loaders. The rows for nodes that ComfyUI 0.3.64 has were
generated from a real server's ``/object_info`` (notes/comfyui.md §3.3: widget indices follow
``input_order``, required then optional, one extra slot after an INT seed); the folders are those
of ``folder_paths.get_filename_list`` in the node's source. tests/core/test_loaders.py recomputes
them from that ``object_info`` when the shared corpus is present. The other rows (newer ComfyUI)
come from the 0.11.97 templates: ``properties.models[].directory`` and the widget whose value is
the model's name; the same test checks every loader row against every template that uses it.

``CUSTOM_LOADERS`` are the most used custom-node loaders, each checked against its pack's source
(the ``INPUT_TYPES`` of the class named in its ``NODE_CLASS_MAPPINGS``) and, where the shared
corpus has a workflow using it, against that workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LoaderInput:
    name: str  # the input's name (API format)
    index: int  # its position in widgets_values (UI format)
    folder: str  # the model folder key, as ComfyUI names it now (no legacy aliases)
    not_models: frozenset[str] = field(default=frozenset())  # combo options that are no file


# VAELoader offers these beside the files in vae/: built from vae_approx/ pieces (nodes.py)
_VAE_APPROX = frozenset({"taesd", "taesdxl", "taesd3", "taef1", "pixel_space"})

LOADERS: dict[str, tuple[LoaderInput, ...]] = {
    # generated from object_info-comfyui-0.3.64.json (see the module docstring)
    "CheckpointLoaderSimple": (LoaderInput("ckpt_name", 0, "checkpoints"),),
    "CheckpointLoader": (
        LoaderInput("config_name", 0, "configs"),
        LoaderInput("ckpt_name", 1, "checkpoints"),
    ),
    "unCLIPCheckpointLoader": (LoaderInput("ckpt_name", 0, "checkpoints"),),
    "ImageOnlyCheckpointLoader": (LoaderInput("ckpt_name", 0, "checkpoints"),),
    "DiffusersLoader": (LoaderInput("model_path", 0, "diffusers"),),  # a folder, not a file
    "LoraLoader": (LoaderInput("lora_name", 0, "loras"),),
    "LoraLoaderModelOnly": (LoaderInput("lora_name", 0, "loras"),),
    "CreateHookLora": (LoaderInput("lora_name", 0, "loras"),),
    "CreateHookLoraModelOnly": (LoaderInput("lora_name", 0, "loras"),),
    "CreateHookModelAsLora": (LoaderInput("ckpt_name", 0, "checkpoints"),),
    "CreateHookModelAsLoraModelOnly": (LoaderInput("ckpt_name", 0, "checkpoints"),),
    "TrainLoraNode": (LoaderInput("existing_lora", 13, "loras", frozenset({"[None]"})),),
    "VAELoader": (LoaderInput("vae_name", 0, "vae", _VAE_APPROX),),
    "UNETLoader": (LoaderInput("unet_name", 0, "diffusion_models"),),
    "CLIPLoader": (LoaderInput("clip_name", 0, "text_encoders"),),
    "DualCLIPLoader": (
        LoaderInput("clip_name1", 0, "text_encoders"),
        LoaderInput("clip_name2", 1, "text_encoders"),
    ),
    "TripleCLIPLoader": (
        LoaderInput("clip_name1", 0, "text_encoders"),
        LoaderInput("clip_name2", 1, "text_encoders"),
        LoaderInput("clip_name3", 2, "text_encoders"),
    ),
    "QuadrupleCLIPLoader": (
        LoaderInput("clip_name1", 0, "text_encoders"),
        LoaderInput("clip_name2", 1, "text_encoders"),
        LoaderInput("clip_name3", 2, "text_encoders"),
        LoaderInput("clip_name4", 3, "text_encoders"),
    ),
    "CLIPVisionLoader": (LoaderInput("clip_name", 0, "clip_vision"),),
    "StyleModelLoader": (LoaderInput("style_model_name", 0, "style_models"),),
    "ControlNetLoader": (LoaderInput("control_net_name", 0, "controlnet"),),
    "DiffControlNetLoader": (LoaderInput("control_net_name", 0, "controlnet"),),
    "GLIGENLoader": (LoaderInput("gligen_name", 0, "gligen"),),
    "UpscaleModelLoader": (LoaderInput("model_name", 0, "upscale_models"),),
    "HypernetworkLoader": (LoaderInput("hypernetwork_name", 0, "hypernetworks"),),
    "PhotoMakerLoader": (LoaderInput("photomaker_model_name", 0, "photomaker"),),
    "ModelPatchLoader": (LoaderInput("name", 0, "model_patches"),),
    # in 0.3.64 but absent from that object_info (it needs torchaudio); from the templates
    "AudioEncoderLoader": (LoaderInput("audio_encoder_name", 0, "audio_encoders"),),
    # newer than 0.3.64: from the 0.11.97 templates (input names from widgets_values_named and
    # the sockets' widget names)
    "LatentUpscaleModelLoader": (LoaderInput("model_name", 0, "latent_upscale_models"),),
    "LTXVAudioVAELoader": (LoaderInput("ckpt_name", 0, "checkpoints"),),
    "LTXAVTextEncoderLoader": (
        LoaderInput("text_encoder", 0, "text_encoders"),
        LoaderInput("ckpt_name", 1, "checkpoints"),
    ),
    "ConditioningLoader": (LoaderInput("conditioning_name", 0, "embeddings"),),
    "FrameInterpolationModelLoader": (LoaderInput("model_name", 0, "frame_interpolation"),),
    "OpticalFlowLoader": (LoaderInput("model_name", 0, "optical_flow"),),
    "LoadBackgroundRemovalModel": (LoaderInput("bg_removal_name", 0, "background_removal"),),
    "LoadMoGeModel": (LoaderInput("model_name", 0, "geometry_estimation"),),
    "LoadDA3Model": (LoaderInput("model_name", 0, "geometry_estimation"),),
    "SAM3DBody_Loader": (LoaderInput("model_file", 0, "detection"),),
}

CUSTOM_LOADERS: dict[str, tuple[LoaderInput, ...]] = {
    # city96/ComfyUI-GGUF nodes.py (795e451, 2025-12): its "unet_gguf"/"clip_gguf" keys are the
    # diffusion_models (legacy unet) and text_encoders (legacy clip) folders, .gguf files only
    "UnetLoaderGGUF": (LoaderInput("unet_name", 0, "diffusion_models"),),
    "UnetLoaderGGUFAdvanced": (LoaderInput("unet_name", 0, "diffusion_models"),),
    "CLIPLoaderGGUF": (LoaderInput("clip_name", 0, "text_encoders"),),
    "DualCLIPLoaderGGUF": (
        LoaderInput("clip_name1", 0, "text_encoders"),
        LoaderInput("clip_name2", 1, "text_encoders"),
    ),
    "TripleCLIPLoaderGGUF": (
        LoaderInput("clip_name1", 0, "text_encoders"),
        LoaderInput("clip_name2", 1, "text_encoders"),
        LoaderInput("clip_name3", 2, "text_encoders"),
    ),
    "QuadrupleCLIPLoaderGGUF": (
        LoaderInput("clip_name1", 0, "text_encoders"),
        LoaderInput("clip_name2", 1, "text_encoders"),
        LoaderInput("clip_name3", 2, "text_encoders"),
        LoaderInput("clip_name4", 3, "text_encoders"),
    ),
    # kijai/ComfyUI-WanVideoWrapper nodes.py (721cd65, 2025-03) and nodes_model_loading.py; the
    # first three also against the corpus's wanvideowrapper__wanvideo_T2V_example_01.json
    # (widget 0 holds "WanVideo\\Wan2_1-T2V-14B_fp8_e4m3fn.safetensors" etc.). There is no
    # WanVideoT5TextEncoderLoader class in the pack, only LoadWanVideoT5TextEncoder.
    "WanVideoModelLoader": (LoaderInput("model", 0, "diffusion_models"),),
    "WanVideoVAELoader": (LoaderInput("model_name", 0, "vae"),),
    "LoadWanVideoT5TextEncoder": (LoaderInput("model_name", 0, "text_encoders"),),
    "WanVideoLoraSelect": (LoaderInput("lora", 0, "loras"),),
    # cubiq/ComfyUI_IPAdapter_plus IPAdapterPlus.py (9d076a3, 2025-02); the unified loaders pick
    # files by preset and have no file widget
    "IPAdapterModelLoader": (LoaderInput("ipadapter_file", 0, "ipadapter"),),
    # Kosinkadink/ComfyUI-AnimateDiff-Evolved nodes_gen2.py / nodes_gen1.py (d8d163c, 2026-03);
    # Gen1's first input is the MODEL socket, so model_name is widget 0 there as well
    "ADE_LoadAnimateDiffModel": (LoaderInput("model_name", 0, "animatediff_models"),),
    "ADE_AnimateDiffLoaderGen1": (LoaderInput("model_name", 0, "animatediff_models"),),
    # ltdrdata/ComfyUI-Impact-Subpack subpack_nodes.py (5b4e550, 2025-07): values are
    # "bbox/<file>" or "segm/<file>" inside the "ultralytics" folder
    "UltralyticsDetectorProvider": (LoaderInput("model_name", 0, "ultralytics"),),
    # ltdrdata/ComfyUI-Impact-Pack impact_pack.py (727295b, 2024-10); "ESAM" is no file
    "SAMLoader": (LoaderInput("model_name", 0, "sams", frozenset({"ESAM"})),),
    # kijai/ComfyUI-KJNodes nodes/model_optimization_nodes.py (3f20054, 2026-08)
    "CheckpointLoaderKJ": (LoaderInput("ckpt_name", 0, "checkpoints"),),
    "DiffusionModelLoaderKJ": (LoaderInput("model_name", 0, "diffusion_models"),),
}

# ComfyUI's folder_paths.supported_pt_extensions, plus what custom loaders read (.gguf, .onnx)
MODEL_EXTENSIONS = frozenset({
    ".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl", ".gguf", ".onnx",
})

# folder_paths.map_legacy: old folder keys that extra_model_paths.yaml and workflows still use
FOLDER_ALIASES = {"clip": "text_encoders", "unet": "diffusion_models"}


def canonical_folder(folder: str) -> str:
    """A folder key as ComfyUI resolves it (``clip`` → ``text_encoders``)."""
    return FOLDER_ALIASES.get(folder, folder)
