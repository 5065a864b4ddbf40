"""Where the model files of a machine live: the model roots of a ComfyUI (its ``models/``
folders, its ``extra_model_paths.yaml``) and the folders added with ``git comfy models add-dir``.

A root is a folder plus the ComfyUI folder key its files belong to (``checkpoints``, ``loras``,
...; ``""`` when unknown: such files are matched by name only). The facts are ComfyUI's own
(notes/comfyui.md 3.1 and 3.4): default folders, legacy aliases, and how the YAML is read. Reading
never fails: a bad YAML or a folder that is not there is a warning, and the rest still counts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

COMFYUI = "comfyui"
EXTRA_YAML = "extra_model_paths.yaml"
ADD_DIR = "add-dir"

# folder key -> its default folders under <ComfyUI>/models/ (folder_paths.py, v0.3.64 and newer)
DEFAULT_DIRS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints",),
    "loras": ("loras",),
    "vae": ("vae",),
    "text_encoders": ("text_encoders", "clip"),
    "diffusion_models": ("unet", "diffusion_models"),
    "clip_vision": ("clip_vision",),
    "style_models": ("style_models",),
    "embeddings": ("embeddings",),
    "diffusers": ("diffusers",),
    "vae_approx": ("vae_approx",),
    "controlnet": ("controlnet", "t2i_adapter"),
    "gligen": ("gligen",),
    "upscale_models": ("upscale_models",),
    "hypernetworks": ("hypernetworks",),
    "photomaker": ("photomaker",),
    "classifiers": ("classifiers",),
    "model_patches": ("model_patches",),
    "audio_encoders": ("audio_encoders",),
    "latent_upscale_models": ("latent_upscale_models",),
    "background_removal": ("background_removal",),
    "frame_interpolation": ("frame_interpolation",),
    "geometry_estimation": ("geometry_estimation",),
    "optical_flow": ("optical_flow",),
    "detection": ("detection",),
}

# map_legacy: the old names, still accepted in extra_model_paths.yaml and by the API
FOLDER_ALIASES: dict[str, str] = {"clip": "text_encoders", "unet": "diffusion_models"}

# ComfyUI's folder keys that hold no model files: `configs` is .yaml model configs, and
# `custom_nodes` may appear in extra_model_paths.yaml for extra node folders
NOT_MODELS = frozenset({"configs", "custom_nodes"})

# supported_pt_extensions, plus the formats custom nodes load (GGUF, ONNX); compared lower-case
MODEL_EXTENSIONS = frozenset(
    {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft", ".gguf", ".onnx"}
)

# A1111's folder names under stable-diffusion-webui/models/ (ComfyUI's example YAML maps them)
_A1111_DIRS: dict[str, str] = {
    "Stable-diffusion": "checkpoints",
    "VAE": "vae",
    "Lora": "loras",
    "LyCORIS": "loras",
    "ESRGAN": "upscale_models",
    "RealESRGAN": "upscale_models",
    "SwinIR": "upscale_models",
    "ControlNet": "controlnet",
}

# a subfolder with one of these names makes a folder a "models root" (see added_roots)
KNOWN_DIR_NAMES: dict[str, str] = {
    **{name: key for key, names in DEFAULT_DIRS.items() for name in names},
    **{key: key for key in DEFAULT_DIRS},
    **_A1111_DIRS,
}


@dataclass(frozen=True)
class Root:
    """One folder to index: its files belong to ComfyUI folder ``folder`` ("" = unknown).
    ``origin`` says where it came from: "comfyui", "extra_model_paths.yaml" or "add-dir"."""

    folder: str
    path: str
    origin: str


Warn = Callable[[str], None]


def warn_on_stderr(message: str) -> None:
    """The default for ``warn``: git comfy's usual warning line."""
    import sys

    from git_comfy.ui import printable

    sys.stderr.write(f"git comfy: warning: {printable(message)}\n")


def is_model_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in MODEL_EXTENSIONS


def folder_key(name: str) -> str:
    """A folder key as ComfyUI normalises it (``clip`` → ``text_encoders``)."""
    return FOLDER_ALIASES.get(name, name)


def _subdirs(path: str) -> list[str]:
    """The visible subfolders of ``path`` (symlinked ones too), sorted; none when unreadable."""
    try:
        with os.scandir(path) as entries:
            return sorted(
                entry.name for entry in entries
                if not entry.name.startswith(".") and entry.is_dir()
            )
    except OSError:
        return []


def _models_dir_roots(models: str, origin: str) -> list[Root]:
    """Each subfolder of a ComfyUI- or A1111-style ``models/`` folder as a root: a known name
    under its folder key, any other under its own name (custom nodes register their folders as
    ``models/<key>``: ipadapter, sams, ultralytics...). Loose files beside them are not models
    ComfyUI would load, so they are left out."""
    found = []
    for name in _subdirs(models):
        key = KNOWN_DIR_NAMES.get(name, name)
        if key not in NOT_MODELS:
            found.append(Root(key, os.path.join(models, name), origin))
    return found


def comfyui_roots(comfyui: str) -> list[Root]:
    """``<comfyui>/models/<folder>`` for each folder that exists: the known ones under their keys
    (``clip`` → text_encoders, ``unet`` → diffusion_models, ``t2i_adapter`` → controlnet) and any
    other subfolder under its own name."""
    return _models_dir_roots(os.path.join(comfyui, "models"), COMFYUI)


def yaml_roots(yaml_path: str, warn: Warn = warn_on_stderr) -> list[Root]:
    """The folders an ``extra_model_paths.yaml`` adds, read as ComfyUI's ``utils/extra_config.py``
    reads it. Problems are warnings: a file that is not YAML, a section or value of the wrong
    type, a folder that does not exist (skipped)."""
    import yaml

    try:
        with open(yaml_path, encoding="utf-8") as file:
            config = yaml.safe_load(file)
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
        warn(f"{yaml_path} is not readable YAML ({reason}); its model folders are left out")
        return []
    if config is None:
        return []
    if not isinstance(config, dict):
        warn(f"{yaml_path}: expected sections of folder: path lines; its model folders are "
             "left out")
        return []
    yaml_dir = os.path.dirname(os.path.abspath(yaml_path))
    found: list[Root] = []
    for section, conf in config.items():
        if conf is None:
            continue
        if not isinstance(conf, dict):
            warn(f"{yaml_path}: section {section!r} is not a mapping of folder: path; skipped")
            continue
        base_path = conf.get("base_path")
        if base_path is not None and not isinstance(base_path, str):
            warn(f"{yaml_path}: section {section!r}: base_path is not a path; section skipped")
            continue
        if base_path:
            base_path = os.path.expandvars(os.path.expanduser(base_path))
            if not os.path.isabs(base_path):
                base_path = os.path.abspath(os.path.join(yaml_dir, base_path))
        for key, value in conf.items():
            if key in ("base_path", "is_default"):  # is_default orders downloads; not ours
                continue
            folder = folder_key(str(key))
            if folder in NOT_MODELS:
                continue
            if not isinstance(value, str):
                warn(f"{yaml_path}: section {section!r}: {key} is not a path (one per line); "
                     "skipped")
                continue
            for line in value.split("\n"):
                line = line.strip()
                if not line:
                    continue
                if base_path:
                    full = os.path.join(base_path, line)
                elif os.path.isabs(line):
                    full = line
                else:
                    full = os.path.join(yaml_dir, line)
                full = os.path.normpath(full)
                if not os.path.isdir(full):
                    warn(f"{yaml_path}: section {section!r}: {key}: no folder {full}; skipped")
                    continue
                found.append(Root(folder, full, EXTRA_YAML))
    return found


def added_roots(path: str) -> list[Root]:
    """The roots of a folder added with add-dir. A folder holding subfolders named like model
    folders (``checkpoints``, ``loras``, A1111's ``Stable-diffusion``...) is a models root: each
    subfolder becomes a root of its folder. So is a ComfyUI or A1111 install whose ``models/``
    looks like that. Any other folder is one root of unknown folder "": its models are found by
    file name and hash only."""
    for candidate in (path, os.path.join(path, "models")):
        if any(name in KNOWN_DIR_NAMES for name in _subdirs(candidate)):
            return _models_dir_roots(candidate, ADD_DIR)
    return [Root("", path, ADD_DIR)]


def roots(comfyui: str | None, added: Iterable[str], warn: Warn = warn_on_stderr,
          ) -> list[Root]:
    """Every root to index, each (folder, path) once: a ComfyUI's own folders, then its
    ``extra_model_paths.yaml``, then the added folders. An added folder that is gone is a
    warning."""
    found: list[Root] = []
    if comfyui is not None:
        found += comfyui_roots(comfyui)
        found += yaml_roots(os.path.join(comfyui, EXTRA_YAML), warn)
    for path in added:
        if os.path.isdir(path):
            found += added_roots(path)
        else:
            warn(f"the added model folder {path} is not there; skipped "
                 "(git comfy models remove-dir forgets it)")
    unique: dict[tuple[str, str], Root] = {}
    for root in found:
        unique.setdefault((root.folder, os.path.normpath(root.path)), root)
    return list(unique.values())
