"""``git comfy demo``: a sample ComfyUI and environment, walked through the everyday commands.

Every step runs the real ``git comfy`` (and git, with the hook) in a child process and prints
what a user would type and see. Nothing leaves the demo folder and nothing needs the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from git_comfy.errors import FatalError

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo_data")
MODELS = {
    "checkpoints/sd15/dreamshaper_8.safetensors": 64 * 1024,
    "loras/portrait_detail_v2.safetensors": 16 * 1024,
    "upscale_models/4x-demo.pth": 8 * 1024,
}
_SOURCE_MARKERS = ("comfy", "custom_nodes", "input", "output")


def model_bytes(name: str, size: int) -> bytes:
    """A small, valid safetensors file (one U8 tensor of ``size`` bytes), or an opaque blob for
    other extensions, whose content depends on ``name``, so that every demo model has its own
    hash."""
    blocks = [hashlib.sha256(f"{name}:{n}".encode()).digest() for n in range(-(-size // 32))]
    payload = b"".join(blocks)[:size]
    if not name.endswith(".safetensors"):
        return payload
    header = json.dumps({
        "__metadata__": {"source": "git comfy demo", "name": name},
        "weight": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]},
    }).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + payload


def build_comfyui(path: str) -> str:
    """Makes a ComfyUI-shaped folder: ``main.py``, ``comfy/``, model folders with small model
    files, and the sample workflows in ``user/default/workflows/``. Returns ``path``."""
    for folder in _SOURCE_MARKERS:
        os.makedirs(os.path.join(path, folder), exist_ok=True)
    with open(os.path.join(path, "main.py"), "w", encoding="utf-8") as file:
        file.write("# A stand-in for ComfyUI's main.py, made by `git comfy demo`.\n")
    for relative, size in MODELS.items():
        target = os.path.join(path, "models", *relative.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as file:
            file.write(model_bytes(relative, size))
    shutil.copytree(
        os.path.join(DATA, "workflows"), os.path.join(path, "user", "default", "workflows")
    )
    return path


DEV_NODE = '''"""A tiny custom node made by `git comfy demo`: darkens an image's edges."""


class DemoVignette:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",), "strength": ("FLOAT", {"default": 0.3})}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    CATEGORY = "demo"

    def run(self, image, strength):
        return (image,)


NODE_CLASS_MAPPINGS = {"DemoVignette": DemoVignette}
'''


def _dev_node(folder: str) -> None:
    os.makedirs(folder)
    with open(os.path.join(folder, "__init__.py"), "w", encoding="utf-8") as file:
        file.write(DEV_NODE)


def _use_dev_node(comfyui: str) -> None:
    """What a user does in the browser: add the new node after the decoder, then save."""
    path = os.path.join(comfyui, "user", "default", "workflows", "portraits", "sailor.json")
    with open(path, encoding="utf-8") as file:
        workflow = json.load(file)
    workflow["nodes"].append({
        "id": 11, "type": "DemoVignette", "pos": [1500, 200], "size": [270, 60], "flags": {},
        "order": 9, "mode": 0, "inputs": [], "outputs": [],
        "properties": {"Node name for S&R": "DemoVignette"}, "widgets_values": [0.3]})
    with open(path, "w", encoding="utf-8") as file:
        json.dump(workflow, file, indent=2)


def _edit_in_comfyui(comfyui: str) -> None:
    """What a user does in the browser: change the prompt and the seed, then save."""
    path = os.path.join(comfyui, "user", "default", "workflows", "lighthouse.json")
    with open(path, encoding="utf-8") as file:
        workflow = json.load(file)
    for node in workflow["nodes"]:
        if node["type"] == "KSampler":
            node["widgets_values"][0] = 42
        if node["type"] == "CLIPTextEncode" and "lighthouse" in node["widgets_values"][0]:
            node["widgets_values"][0] += ", stormy sea"
    with open(path, "w", encoding="utf-8") as file:
        json.dump(workflow, file, indent=2)


class _Walkthrough:
    def __init__(self, studio: str) -> None:
        self.studio = studio
        # the child processes import this very git_comfy, installed or run from a checkout
        package_parent = os.path.dirname(os.path.dirname(DATA))
        paths = [package_parent, *filter(None, [os.environ.get("PYTHONPATH")])]
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}

    def say(self, text: str) -> None:
        print(f"\n# {text}", flush=True)

    def step(self, *args: str) -> None:
        shown = "git " + " ".join(shlex.quote(arg) for arg in args)
        print(f"$ {shown}", flush=True)
        argv = [sys.executable, "-m", "git_comfy", *args[1:]] if args[0] == "comfy" else [
            "git", *args]
        done = subprocess.run(
            argv, cwd=self.studio, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        for line in done.stdout.splitlines():
            print(f"  {line}")
        if done.returncode != 0:
            raise FatalError(f"the demo step `{shown}` failed (exit {done.returncode})")


def _friend_comfyui(path: str) -> str:
    """A second machine's ComfyUI: the same model files, filed under other names, and none of
    the sample workflows."""
    build_comfyui(path)
    models = os.path.join(path, "models")
    os.rename(os.path.join(models, "checkpoints", "sd15", "dreamshaper_8.safetensors"),
              os.path.join(models, "checkpoints", "DreamShaper v8.safetensors"))
    os.rename(os.path.join(models, "loras", "portrait_detail_v2.safetensors"),
              os.path.join(models, "loras", "detail-portrait.safetensors"))
    shutil.rmtree(os.path.join(path, "user", "default", "workflows"))
    os.makedirs(os.path.join(path, "user", "default", "workflows"))
    return path


def _import_elsewhere(base: str) -> None:
    """The receiving side: a friend's ComfyUI whose models have other names."""
    friend = os.path.join(base, "friend")
    comfyui = _friend_comfyui(os.path.join(friend, "ComfyUI"))
    studio = os.path.join(friend, "studio")
    os.makedirs(studio)
    walk = _Walkthrough(studio)
    walk.say("A friend imports the bundle into their own environment, where the same models "
             "have other names")
    walk.step("init", "-q")
    walk.step("comfy", "init", "--comfyui", "../ComfyUI")
    walk.step("config", "comfy.indexPath", os.path.join(friend, "model-index.sqlite3"))
    walk.step("comfy", "import", "../../sailor.tar.gz", "--dry-run")
    walk.step("comfy", "import", "../../sailor.tar.gz", "--yes")
    walk.say("The imported workflow names the friend's files, found by their SHA-256")
    with open(os.path.join(comfyui, "user", "default", "workflows", "portraits", "sailor.json"),
              encoding="utf-8") as file:
        loaders = [n["widgets_values"][0] for n in json.load(file)["nodes"]
                   if n["type"] in ("CheckpointLoaderSimple", "LoraLoader")]
    print("  " + ", ".join(loaders), flush=True)


def _prepare(directory: str | None) -> str:
    if directory is None:
        return tempfile.mkdtemp(prefix="git-comfy-demo-")
    base = os.path.abspath(directory)
    if os.path.exists(base) and os.listdir(base):
        raise FatalError(f"{base} is not empty; give the demo a new folder")
    os.makedirs(base, exist_ok=True)
    return base


def run(*, directory: str | None) -> int:
    base = _prepare(directory)
    comfyui = build_comfyui(os.path.join(base, "ComfyUI"))
    studio = os.path.join(base, "studio")
    os.makedirs(studio)
    walk = _Walkthrough(studio)
    print(f"git-comfy demo in {base}")
    print(f"  ComfyUI: {comfyui} (sample workflows and small model files)")
    print(f"  environment: {studio}")

    walk.say("Make the environment: .cec/, comfy.path and the pre-commit hook")
    walk.step("comfy", "init", "--comfyui", "../ComfyUI")
    if subprocess.run(["git", "config", "user.email"], cwd=studio,
                      capture_output=True).returncode != 0:
        walk.say("No git identity is configured here, so the demo sets one for its repository")
        walk.step("config", "user.name", "git-comfy demo")
        walk.step("config", "user.email", "demo@git-comfy.invalid")
    walk.say("The demo keeps its model index in its own folder, not in your user cache")
    walk.step("config", "comfy.indexPath", os.path.join(base, "model-index.sqlite3"))
    walk.say("ComfyUI holds workflows; none is tracked yet")
    walk.step("comfy", "status")
    walk.say("Track two of them (that only registers them in .cec/pyproject.toml)")
    walk.step("comfy", "track", "lighthouse", "portraits/sailor")
    walk.step("comfy", "commit", "-q", "-m", "Track the lighthouse and sailor workflows")
    walk.step("log", "--stat", "--format=%h %s")
    walk.say("Change the lighthouse prompt and seed in ComfyUI and save it there")
    _edit_in_comfyui(comfyui)
    walk.step("comfy", "status")
    walk.say("Plain git commit works too: the hook copies and stages the workflow with your files")
    with open(os.path.join(studio, "NOTES.md"), "w", encoding="utf-8") as file:
        file.write("# Studio notes\n\n- lighthouse: the stormy version is the keeper\n")
    walk.step("add", "NOTES.md")
    walk.step("commit", "-q", "-m", "Stormy sea, seed 42")
    walk.step("log", "--stat", "--format=%h %s", "-1")
    walk.step("comfy", "status")
    walk.say("Write a small custom node of your own and use it in the sailor portrait")
    _dev_node(os.path.join(base, "nodes", "demo-vignette"))
    walk.step("comfy", "node", "add", "--dev", "../nodes/demo-vignette")
    _use_dev_node(comfyui)
    walk.step("comfy", "commit", "-q", "-m", "Vignette on the sailor portrait")
    walk.say("Which models and custom nodes does it use, and where are they on this machine?")
    walk.step("comfy", "analyze", "portraits/sailor", "--offline")
    walk.say("Share it: one bundle with the workflow, its models' hashes and its custom nodes")
    walk.step("comfy", "export", "portraits/sailor", "--yes", "--offline", "-o",
              "../sailor.tar.gz")
    walk.step("comfy", "verify", "../sailor.tar.gz")
    walk.say("The export is recorded in .cec/pyproject.toml (requires, models by hash)")
    walk.step("comfy", "commit", "-q", "-m", "Export the sailor portrait")
    _import_elsewhere(base)
    print(f"\nDone. Look around: cd {shlex.quote(studio)} && git log -p\n"
          f"The friend's side: {shlex.quote(os.path.join(base, 'friend'))}")
    return 0
