"""git-comfy: version history and sharing for ComfyUI workflows. Imports nothing: start-up is a feature."""

__version__ = "0.1.0"
