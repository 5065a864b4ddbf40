"""git-comfy: version history and sharing for ComfyUI workflows.

Imports nothing: start-up is a feature (the pre-commit hook imports this package)."""

__version__ = "0.1.0"
