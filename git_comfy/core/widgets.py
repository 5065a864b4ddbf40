"""Widget names: what each slot of a UI node's ``widgets_values`` is called, so that a diff says
``steps: 20 → 30`` rather than ``[2]: 20 → 30``.

The UI format saves widget values as a bare list. Its names come, most trusted first, from:

1. :data:`TABLE`: the widget layout of ComfyUI 0.3.64's nodes that real workflows use (the
   templates package and the shared corpus), generated from a real server's ``/object_info`` by
   the rule of notes/comfyui.md §3.3 (``input_order``, required then optional; an extra
   ``control_after_generate`` slot after a seed, an ``upload`` slot after an upload combo).
   tests/core/test_widgets.py regenerates it when the corpus is present and checks it against
   every template's ``widgets_values_named``;
2. ``widgets_values_named``, the dict twin some saved files carry, when its values are the
   list's, in order;
3. the node's widget inputs (``inputs[].widget.name``), when there is one per value: the
   frontend writes them in widget order (checked against the table on 719 template nodes);
4. the loader table (:data:`loaders.LOADERS`), for the model slots only.

A row is used only when its length is the list's: a node saved by another ComfyUI version
(one widget more or less) falls through to the next source, and any slot still unnamed is
called by its index, ``[3]``. A wrong name would be worse than a number.
"""

from __future__ import annotations

from typing import Any

from git_comfy.core.loaders import CUSTOM_LOADERS, LOADERS

CONTROL = "control_after_generate"

# the frontend's own note nodes (no server node, so not in /object_info)
FRONTEND: dict[str, str] = {"MarkdownNote": "text", "Note": "text"}

# node type → its widget names in widgets_values order, space-separated (generated: see above)
TABLE: dict[str, str] = {
    "BasicScheduler": "scheduler steps denoise",
    "BetaSamplingScheduler": "steps alpha beta",
    "ByteDanceFirstLastFrameNode": (
        "model prompt resolution aspect_ratio duration seed control_after_generate camera_fixed "
        "watermark"
    ),
    "ByteDanceImageToVideoNode": (
        "model prompt resolution aspect_ratio duration seed control_after_generate camera_fixed "
        "watermark"
    ),
    "ByteDanceSeedreamNode": (
        "model prompt size_preset width height sequential_image_generation max_images seed "
        "control_after_generate watermark fail_on_partial"
    ),
    "ByteDanceTextToVideoNode": (
        "model prompt resolution aspect_ratio duration seed control_after_generate camera_fixed "
        "watermark"
    ),
    "Canny": "low_threshold high_threshold",
    "CFGGuider": "cfg",
    "CFGNorm": "strength",
    "CheckpointLoader": "config_name ckpt_name",
    "CheckpointLoaderSimple": "ckpt_name",
    "ChromaRadianceOptions": "preserve_wrapper start_sigma end_sigma nerf_tile_size",
    "CLIPLoader": "clip_name type device",
    "CLIPTextEncode": "text",
    "CLIPTextEncodeFlux": "clip_l t5xxl guidance",
    "CLIPVisionEncode": "crop",
    "CLIPVisionLoader": "clip_name",
    "ContextWindowsManual": (
        "context_length context_overlap context_schedule context_stride closed_loop fuse_method "
        "dim"
    ),
    "ControlNetApplyAdvanced": "strength start_percent end_percent",
    "ControlNetInpaintingAliMamaApply": "strength start_percent end_percent",
    "ControlNetLoader": "control_net_name",
    "CreateHookLora": "lora_name strength_model strength_clip",
    "CreateHookLoraModelOnly": "lora_name strength_model",
    "CreateHookModelAsLora": "ckpt_name strength_model strength_clip",
    "CreateHookModelAsLoraModelOnly": "ckpt_name strength_model",
    "CreateVideo": "fps",
    "DiffControlNetLoader": "control_net_name",
    "DifferentialDiffusion": "strength",
    "DiffusersLoader": "model_path",
    "DualCFGGuider": "cfg_conds cfg_cond2_negative style",
    "DualCLIPLoader": "clip_name1 clip_name2 type device",
    "EasyCache": "reuse_threshold start_percent end_percent verbose",
    "EmptyAceStepLatentAudio": "seconds batch_size",
    "EmptyChromaRadianceLatentImage": "width height batch_size",
    "EmptyHunyuanLatentVideo": "width height length batch_size",
    "EmptyImage": "width height batch_size color",
    "EmptyLatentHunyuan3Dv2": "resolution batch_size",
    "EmptyLatentImage": "width height batch_size",
    "EmptyLTXVLatentVideo": "width height length batch_size",
    "EmptySD3LatentImage": "width height batch_size",
    "FeatherMask": "left top right bottom",
    "FluxGuidance": "guidance",
    "FluxKontextMaxImageNode": (
        "prompt aspect_ratio guidance steps seed control_after_generate prompt_upsampling"
    ),
    "FluxKontextMultiReferenceLatentMethod": "reference_latents_method",
    "FluxKontextProImageNode": (
        "prompt aspect_ratio guidance steps seed control_after_generate prompt_upsampling"
    ),
    "FluxProExpandNode": (
        "prompt prompt_upsampling top bottom left right guidance steps seed control_after_generate"
    ),
    "FluxProUltraImageNode": (
        "prompt prompt_upsampling seed control_after_generate aspect_ratio raw "
        "image_prompt_strength"
    ),
    "GeminiImageNode": "prompt model seed control_after_generate aspect_ratio",
    "GeminiInputFiles": "file",
    "GeminiNode": "prompt model seed control_after_generate",
    "GLIGENLoader": "gligen_name",
    "GLIGENTextBoxApply": "text width height x y",
    "GrowMask": "expand tapered_corners",
    "HypernetworkLoader": "hypernetwork_name strength",
    "ImageBlend": "blend_factor blend_mode",
    "ImageBlur": "blur_radius sigma",
    "ImageCompositeMasked": "x y resize_source",
    "ImageFromBatch": "batch_index length",
    "ImageOnlyCheckpointLoader": "ckpt_name",
    "ImagePadForOutpaint": "left top right bottom feathering",
    "ImageScale": "upscale_method width height crop",
    "ImageScaleBy": "upscale_method scale_by",
    "ImageScaleToMaxDimension": "upscale_method largest_size",
    "ImageScaleToTotalPixels": "upscale_method megapixels",
    "ImageStitch": "direction match_image_size spacing_width spacing_color",
    "ImageToMask": "channel",
    "InpaintModelConditioning": "noise_mask",
    "KlingImageGenerationNode": (
        "prompt negative_prompt image_type image_fidelity human_fidelity model_name aspect_ratio n"
    ),
    "KSampler": "seed control_after_generate steps cfg sampler_name scheduler denoise",
    "KSamplerAdvanced": (
        "add_noise noise_seed control_after_generate steps cfg sampler_name scheduler "
        "start_at_step end_at_step return_with_leftover_noise"
    ),
    "KSamplerSelect": "sampler_name",
    "LatentConcat": "dim",
    "LatentCut": "dim index amount",
    "LatentOperationTonemapReinhard": "multiplier",
    "Load3D": "model_file upload width height",
    "LoadImage": "image upload",
    "LoadVideo": "file upload",
    "LoraLoader": "lora_name strength_model strength_clip",
    "LoraLoaderModelOnly": "lora_name strength_model",
    "LTXVAddGuide": "frame_idx strength",
    "LTXVConditioning": "frame_rate",
    "LTXVImgToVideo": "width height length batch_size strength",
    "LTXVPreprocess": "img_compression",
    "LTXVScheduler": "steps max_shift base_shift stretch terminal",
    "LumaImageModifyNode": "prompt image_weight model seed control_after_generate",
    "LumaImageNode": "prompt model aspect_ratio seed control_after_generate style_image_weight",
    "LumaReferenceNode": "weight",
    "MaskComposite": "x y operation",
    "MinimaxHailuoVideoNode": (
        "prompt_text seed control_after_generate prompt_optimizer duration resolution"
    ),
    "ModelPatchLoader": "name",
    "ModelSamplingAuraFlow": "shift",
    "ModelSamplingFlux": "max_shift base_shift width height",
    "ModelSamplingSD3": "shift",
    "OpenAIChatConfig": "truncation max_output_tokens instructions",
    "OpenAIChatNode": "prompt persist_context model",
    "OpenAIGPTImage1": "prompt seed control_after_generate quality background size n",
    "PhotoMakerLoader": "photomaker_model_name",
    "PixverseImageToVideoNode": (
        "prompt quality duration_seconds motion_mode seed control_after_generate negative_prompt"
    ),
    "PixverseTemplateNode": "template",
    "PixverseTextToVideoNode": (
        "prompt aspect_ratio quality duration_seconds motion_mode seed control_after_generate "
        "negative_prompt"
    ),
    "Preview3D": "model_file",
    "PrimitiveBoolean": "value",
    "PrimitiveFloat": "value",
    "PrimitiveInt": "value control_after_generate",
    "PrimitiveString": "value",
    "PrimitiveStringMultiline": "value",
    "QuadrupleCLIPLoader": "clip_name1 clip_name2 clip_name3 clip_name4",
    "QwenImageDiffsynthControlnet": "strength",
    "RandomNoise": "noise_seed control_after_generate",
    "RebatchImages": "batch_size",
    "RecraftColorRGB": "r g b",
    "RecraftStyleV3DigitalIllustration": "substyle",
    "RecraftStyleV3InfiniteStyleLibrary": "style_id",
    "RecraftStyleV3LogoRaster": "substyle",
    "RecraftStyleV3RealisticImage": "substyle",
    "RecraftTextToImageNode": "prompt size n seed control_after_generate",
    "RecraftTextToVectorNode": "prompt substyle size n seed control_after_generate",
    "RegexExtract": "string regex_pattern mode case_insensitive multiline dotall group_index",
    "RegexReplace": "string regex_pattern replace case_insensitive multiline dotall count",
    "RepeatImageBatch": "amount",
    "RepeatLatentBatch": "amount",
    "RescaleCFG": "multiplier",
    "ResizeAndPadImage": "target_width target_height padding_color interpolation",
    "Rodin3D_Detail": "Seed Material_Type Polygon_count",
    "Rodin3D_Gen2": "TAPose Seed Material_Type Polygon_count",
    "Rodin3D_Regular": "Seed Material_Type Polygon_count",
    "Rodin3D_Sketch": "Seed",
    "Rodin3D_Smooth": "Seed Material_Type Polygon_count",
    "RunwayImageToVideoNodeGen4": "prompt duration ratio seed control_after_generate",
    "RunwayTextToImageNode": "prompt ratio",
    "SamplerCustom": "add_noise noise_seed control_after_generate cfg",
    "SamplerER_SDE": "solver_type max_stage eta s_noise",
    "SamplerEulerAncestral": "eta s_noise",
    "SaveAnimatedWEBP": "filename_prefix fps lossless quality method",
    "SaveGLB": "filename_prefix",
    "SaveImage": "filename_prefix",
    "SaveSVGNode": "filename_prefix",
    "SaveVideo": "filename_prefix format codec",
    "SaveWEBM": "filename_prefix codec fps crf",
    "SDTurboScheduler": "steps denoise",
    "SetFirstSigma": "sigma",
    "SkipLayerGuidanceDiT": (
        "double_layers single_layers scale start_percent end_percent rescaling_scale"
    ),
    "SkipLayerGuidanceDiTSimple": "double_layers single_layers start_percent end_percent",
    "SolidMask": "value width height",
    "SplitSigmas": "step",
    "StringCompare": "string_a string_b mode case_sensitive",
    "StringConcatenate": "string_a string_b delimiter",
    "StringLength": "string",
    "StringReplace": "string find replace",
    "StyleModelApply": "strength strength_type",
    "StyleModelLoader": "style_model_name",
    "SVD_img2vid_Conditioning": "width height video_frames motion_bucket_id fps augmentation_level",
    "T5TokenizerOptions": "min_padding min_length",
    "TextEncodeAceStepAudio": "tags lyrics lyrics_strength",
    "TextEncodeQwenImageEdit": "prompt",
    "TextEncodeQwenImageEditPlus": "prompt",
    "ThresholdMask": "value",
    "TrainLoraNode": (
        "batch_size grad_accumulation_steps steps learning_rate rank optimizer loss_function seed "
        "control_after_generate training_dtype lora_dtype algorithm gradient_checkpointing "
        "existing_lora"
    ),
    "TrimVideoLatent": "trim_amount",
    "TripleCLIPLoader": "clip_name1 clip_name2 clip_name3",
    "TripoConversionNode": "format quad face_limit texture_size texture_format",
    "TripoImageToModelNode": (
        "model_version style texture pbr model_seed orientation texture_seed texture_quality "
        "texture_alignment face_limit quad"
    ),
    "TripoMultiviewToModelNode": (
        "model_version orientation texture pbr model_seed texture_seed texture_quality "
        "texture_alignment face_limit quad"
    ),
    "TripoRetargetNode": "animation",
    "TripoTextToModelNode": (
        "prompt negative_prompt model_version style texture pbr image_seed model_seed texture_seed "
        "texture_quality face_limit quad"
    ),
    "TripoTextureNode": "texture pbr texture_seed texture_quality texture_alignment",
    "unCLIPCheckpointLoader": "ckpt_name",
    "unCLIPConditioning": "strength noise_augmentation",
    "UNETLoader": "unet_name weight_dtype",
    "UNetTemporalAttentionMultiply": (
        "self_structural self_temporal cross_structural cross_temporal"
    ),
    "UpscaleModelLoader": "model_name",
    "VAEDecodeHunyuan3D": "num_chunks octree_resolution",
    "VAEDecodeTiled": "tile_size overlap temporal_size temporal_overlap",
    "VAEEncodeTiled": "tile_size overlap temporal_size temporal_overlap",
    "VAELoader": "vae_name",
    "VideoLinearCFGGuidance": "min_cfg",
    "ViduImageToVideoNode": (
        "model prompt duration seed control_after_generate resolution movement_amplitude"
    ),
    "ViduReferenceVideoNode": (
        "model prompt duration seed control_after_generate aspect_ratio resolution "
        "movement_amplitude"
    ),
    "ViduStartEndToVideoNode": (
        "model prompt duration seed control_after_generate resolution movement_amplitude"
    ),
    "ViduTextToVideoNode": (
        "model prompt duration seed control_after_generate aspect_ratio resolution "
        "movement_amplitude"
    ),
    "VoxelToMesh": "algorithm threshold",
    "Wan22FunControlToVideo": "width height length batch_size",
    "Wan22ImageToVideoLatent": "width height length batch_size",
    "WanCameraEmbedding": "camera_pose width height length speed fx fy cx cy",
    "WanCameraImageToVideo": "width height length batch_size",
    "WanFirstLastFrameToVideo": "width height length batch_size",
    "WanFunControlToVideo": "width height length batch_size",
    "WanFunInpaintToVideo": "width height length batch_size",
    "WanHuMoImageToVideo": "width height length batch_size",
    "WanImageToVideo": "width height length batch_size",
    "WanImageToVideoApi": (
        "model prompt negative_prompt resolution duration seed control_after_generate "
        "generate_audio prompt_extend watermark"
    ),
    "WanSoundImageToVideo": "width height length batch_size",
    "WanSoundImageToVideoExtend": "length",
    "WanTextToImageApi": (
        "model prompt negative_prompt width height seed control_after_generate prompt_extend "
        "watermark"
    ),
    "WanTextToVideoApi": (
        "model prompt negative_prompt size duration seed control_after_generate generate_audio "
        "prompt_extend watermark"
    ),
    "WanTrackToVideo": "tracks width height length batch_size temperature topk",
    "WanVaceToVideo": "width height length batch_size strength",
}


def names(node_type: str, raw: dict[str, Any], count: int) -> list[str]:
    """A unique name for each of the ``count`` slots of ``raw``'s list of widget values."""
    row = TABLE.get(node_type) or FRONTEND.get(node_type)
    if row is not None:
        found = row.split()
        if len(found) == count:
            return _unique(found)
    named = raw.get("widgets_values_named")
    if (isinstance(named, dict) and len(named) == count
            and list(named.values()) == raw.get("widgets_values")):
        return _unique([str(key) for key in named])
    sockets = raw.get("inputs")
    if isinstance(sockets, list):
        found = [socket["widget"]["name"] for socket in sockets
                 if isinstance(socket, dict) and isinstance(socket.get("widget"), dict)
                 and isinstance(socket["widget"].get("name"), str)]
        if found and len(found) == count:
            return _unique(found)
    result = [f"[{index}]" for index in range(count)]
    for loader in LOADERS.get(node_type, ()) or CUSTOM_LOADERS.get(node_type, ()):
        if loader.index < count:
            result[loader.index] = loader.name
    return _unique(result)


def _unique(found: list[str]) -> list[str]:
    """Two seeds give two ``control_after_generate`` slots: the second becomes ``…#2``."""
    if len(set(found)) == len(found):
        return found
    seen: dict[str, int] = {}
    result = []
    for name in found:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return result
