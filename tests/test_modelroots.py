"""Model roots: a ComfyUI's models/ folders, its extra_model_paths.yaml read as ComfyUI reads it,
and added folders; every problem is a warning, never a crash."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from git_comfy import modelroots
from git_comfy.modelroots import ADD_DIR, COMFYUI, EXTRA_YAML, Root


class Warnings(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


def _mkdirs(base: Path, *names: str) -> None:
    for name in names:
        (base / name).mkdir(parents=True, exist_ok=True)


def test_constants_match_comfyui() -> None:
    assert modelroots.FOLDER_ALIASES == {"clip": "text_encoders", "unet": "diffusion_models"}
    pt = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
    assert pt | {".gguf", ".onnx"} == modelroots.MODEL_EXTENSIONS
    assert modelroots.DEFAULT_DIRS["text_encoders"] == ("text_encoders", "clip")
    assert modelroots.DEFAULT_DIRS["diffusion_models"] == ("unet", "diffusion_models")
    assert modelroots.DEFAULT_DIRS["controlnet"] == ("controlnet", "t2i_adapter")
    newer = {"latent_upscale_models", "background_removal", "frame_interpolation",
             "geometry_estimation", "optical_flow", "detection", "model_patches",
             "audio_encoders"}
    assert newer <= set(modelroots.DEFAULT_DIRS)
    assert modelroots.is_model_name("X.SafeTensors") and not modelroots.is_model_name("x.yaml")


def test_comfyui_fixture(comfyui: Path) -> None:
    models = comfyui / "models"
    assert modelroots.comfyui_roots(str(comfyui)) == [
        Root("checkpoints", str(models / "checkpoints"), COMFYUI),
        Root("loras", str(models / "loras"), COMFYUI),
        Root("upscale_models", str(models / "upscale_models"), COMFYUI),
    ]


def test_default_folders_aliases_and_custom_node_folders(comfyui: Path) -> None:
    models = comfyui / "models"
    _mkdirs(models, "clip", "text_encoders", "unet", "diffusion_models", "t2i_adapter",
            "controlnet", "optical_flow", "detection", "ipadapter", "ultralytics/bbox",
            "configs", ".cache")
    (models / "loose.safetensors").write_bytes(b"x")
    folders = {root.path.removeprefix(str(models) + os.sep): root.folder
               for root in modelroots.comfyui_roots(str(comfyui))}
    assert folders == {
        "checkpoints": "checkpoints", "loras": "loras", "upscale_models": "upscale_models",
        "clip": "text_encoders", "text_encoders": "text_encoders",
        "unet": "diffusion_models", "diffusion_models": "diffusion_models",
        "t2i_adapter": "controlnet", "controlnet": "controlnet",
        "optical_flow": "optical_flow", "detection": "detection",
        "ipadapter": "ipadapter", "ultralytics": "ultralytics",  # custom nodes' own keys
    }  # configs (.yaml, not models) and hidden folders are left out


def test_no_models_folder(tmp_path: Path) -> None:
    assert modelroots.comfyui_roots(str(tmp_path)) == []


VALID_YAML = """\
# the shape of ComfyUI's extra_model_paths.yaml.example
a111:
    base_path: ~/webui/
    checkpoints: models/Stable-diffusion
    configs: models/Stable-diffusion
    loras: |
         models/Lora
         models/LyCORIS
    clip: models/clip
    unet: models/unet
    my_custom_folder: custom
shared:
    base_path: $SHARED_MODELS/sd
    is_default: true
    checkpoints: ckpt
    custom_nodes: nodes
relative:
    base_path: beside
    vae: vae
nobase:
    embeddings: emb
    upscale_models: {absolute}
empty_section:
"""


@pytest.fixture
def yaml_layout(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shared = tmp_path / "shared"
    monkeypatch.setenv("SHARED_MODELS", str(shared))
    webui = isolated_home / "webui" / "models"
    _mkdirs(webui, "Stable-diffusion", "Lora", "LyCORIS", "clip", "unet")
    _mkdirs(isolated_home / "webui", "custom")
    _mkdirs(shared, "sd/ckpt", "sd/nodes")
    config = tmp_path / "ComfyUI"
    _mkdirs(config, "beside/vae", "emb")
    _mkdirs(tmp_path, "abs/upscale")
    (config / EXTRA_YAML).write_text(VALID_YAML.format(absolute=tmp_path / "abs" / "upscale"))
    return config / EXTRA_YAML


def test_valid_yaml(yaml_layout: Path, tmp_path: Path, isolated_home: Path) -> None:
    warnings = Warnings()
    found = modelroots.yaml_roots(str(yaml_layout), warnings)
    assert warnings == []
    webui = isolated_home / "webui"
    config = yaml_layout.parent
    assert [(root.folder, root.path) for root in found] == [
        ("checkpoints", str(webui / "models" / "Stable-diffusion")),  # ~ expanded
        ("loras", str(webui / "models" / "Lora")),  # a multi-line value: one path per line
        ("loras", str(webui / "models" / "LyCORIS")),
        ("text_encoders", str(webui / "models" / "clip")),  # legacy keys mapped
        ("diffusion_models", str(webui / "models" / "unet")),
        ("my_custom_folder", str(webui / "custom")),  # an unknown key makes a folder
        ("checkpoints", str(tmp_path / "shared" / "sd" / "ckpt")),  # $VAR expanded
        ("vae", str(config / "beside" / "vae")),  # relative base_path: from the YAML's folder
        ("embeddings", str(config / "emb")),  # no base_path: from the YAML's folder
        ("upscale_models", str(tmp_path / "abs" / "upscale")),
    ]  # configs and custom_nodes hold no models; is_default only orders downloads
    assert {root.origin for root in found} == {EXTRA_YAML}


def test_missing_folder_is_a_warning_and_skipped(tmp_path: Path) -> None:
    _mkdirs(tmp_path, "here")
    config = tmp_path / EXTRA_YAML
    config.write_text("s:\n    base_path: .\n    loras: |\n        here\n        gone\n")
    warnings = Warnings()
    assert modelroots.yaml_roots(str(config), warnings) == [
        Root("loras", str(tmp_path / "here"), EXTRA_YAML)]
    assert warnings == [f"{config}: section 's': loras: no folder {tmp_path / 'gone'}; skipped"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a111:\n  checkpoints: [unclosed\n", "is not readable YAML"),
        ("a111:\n\tcheckpoints: x\n", "is not readable YAML"),  # a tab: not YAML
        ("!!python/object/apply:os.system ['touch /tmp/pwned']\n", "is not readable YAML"),
        ("- a\n- b\n", "expected sections of folder: path lines"),
        ("just text\n", "expected sections of folder: path lines"),
        ("s: [a, b]\n", "section 's' is not a mapping"),
        ("s:\n  base_path: 7\n  loras: x\n", "base_path is not a path"),
        ("s:\n  loras: 12\n", "loras is not a path"),
        ("s:\n  loras: [a, b]\n", "loras is not a path"),
    ],
    ids=["unclosed", "tab", "python-tag", "list", "scalar", "section-list", "base-number",
         "value-number", "value-list"],
)
def test_bad_yaml_is_a_warning(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / EXTRA_YAML
    config.write_text(text)
    warnings = Warnings()
    assert modelroots.yaml_roots(str(config), warnings) == []
    assert len(warnings) == 1 and fragment in warnings[0], warnings
    assert not Path("/tmp/pwned").exists()


def test_undecodable_and_unreadable_yaml(tmp_path: Path) -> None:
    config = tmp_path / EXTRA_YAML
    config.write_bytes(b"s:\n  loras: \xff\xfe\n")
    warnings = Warnings()
    assert modelroots.yaml_roots(str(config), warnings) == []
    assert "is not readable YAML" in warnings[0]
    config.unlink()
    config.mkdir()  # a folder where the file should be
    warnings.clear()
    assert modelroots.yaml_roots(str(config), warnings) == []
    assert "is not readable YAML" in warnings[0]


def test_alias_bomb_is_quick(tmp_path: Path) -> None:
    """A billion-laughs YAML: safe_load shares the aliased objects, and they are not paths."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    config = tmp_path / EXTRA_YAML
    config.write_text("\n".join(lines) + "\n")
    warnings = Warnings()
    start = time.monotonic()
    assert modelroots.yaml_roots(str(config), warnings) == []
    assert time.monotonic() - start < 5
    assert len(warnings) == 9 and all("is not a mapping" in w for w in warnings)


def test_missing_or_empty_yaml(tmp_path: Path) -> None:
    warnings = Warnings()
    assert modelroots.yaml_roots(str(tmp_path / EXTRA_YAML), warnings) == []
    (tmp_path / EXTRA_YAML).write_text("# only a comment\n")
    assert modelroots.yaml_roots(str(tmp_path / EXTRA_YAML), warnings) == []
    assert warnings == []


def test_added_plain_folder(tmp_path: Path) -> None:
    _mkdirs(tmp_path, "stuff/sub")
    assert modelroots.added_roots(str(tmp_path / "stuff")) == [
        Root("", str(tmp_path / "stuff"), ADD_DIR)]


def test_added_models_folder(tmp_path: Path) -> None:
    base = tmp_path / "models"
    _mkdirs(base, "checkpoints", "clip", "sams", ".hidden")
    assert modelroots.added_roots(str(base)) == [
        Root("checkpoints", str(base / "checkpoints"), ADD_DIR),
        Root("text_encoders", str(base / "clip"), ADD_DIR),
        Root("sams", str(base / "sams"), ADD_DIR),
    ]


def test_added_a1111_install(tmp_path: Path) -> None:
    """An A1111 install: its models/ holds Stable-diffusion, Lora, ESRGAN..."""
    webui = tmp_path / "stable-diffusion-webui"
    _mkdirs(webui / "models", "Stable-diffusion", "Lora", "ESRGAN", "VAE", "Codeformer")
    _mkdirs(webui, "extensions")
    assert [(root.folder, os.path.basename(root.path))
            for root in modelroots.added_roots(str(webui))] == [
        ("Codeformer", "Codeformer"), ("upscale_models", "ESRGAN"), ("loras", "Lora"),
        ("checkpoints", "Stable-diffusion"), ("vae", "VAE"),
    ]


def test_roots_merges_and_deduplicates(comfyui: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    _mkdirs(extra, "loras")
    (comfyui / EXTRA_YAML).write_text(
        f"same:\n    base_path: {comfyui / 'models'}\n    checkpoints: checkpoints\n"
        f"other:\n    loras: {extra / 'loras'}\n"
    )
    plain = tmp_path / "plain"
    plain.mkdir()
    warnings = Warnings()
    found = modelroots.roots(str(comfyui), [str(plain), str(tmp_path / "gone")], warnings)
    assert [(root.folder, root.origin) for root in found] == [
        ("checkpoints", COMFYUI), ("loras", COMFYUI), ("upscale_models", COMFYUI),
        ("loras", EXTRA_YAML), ("", ADD_DIR),
    ]  # checkpoints from the YAML is the ComfyUI's own folder: listed once
    assert len(warnings) == 1 and str(tmp_path / "gone") in warnings[0]


def test_outside_an_environment_only_added_folders(tmp_path: Path) -> None:
    assert modelroots.roots(None, [], Warnings()) == []


def test_default_warning_goes_to_stderr(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    modelroots.roots(None, [str(tmp_path / "gone\x1b[2J")])
    err = capsys.readouterr().err
    assert err.startswith("git comfy: warning: the added model folder ")
    assert "\x1b" not in err and "gone\\x1b[2J" in err
