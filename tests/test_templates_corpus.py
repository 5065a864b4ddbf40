"""Real workflows must all parse: every template in ComfyUI's own template package
(``comfyui-workflow-templates-json``, a test extra) passes the strict loader and is committed
byte for byte. The shared corpus beside the project, when there is one, is checked as well."""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pytest

from git_comfy.core import jsonsafe, workflow

PACKAGE = "comfyui_workflow_templates_json"
# files in the package's templates/ folder that are not workflows
_NOT_WORKFLOWS = ("index", "fuse_options")
CORPUS = Path(__file__).parents[1] / ".." / "shared" / "corpus"


def _package_templates() -> list[Traversable]:
    """The workflow files of the template package, or [] when it is not installed (the count
    test then fails, so a missing or empty package cannot pass unnoticed)."""
    try:
        folder = importlib.resources.files(PACKAGE) / "templates"
    except ModuleNotFoundError:
        return []
    if not folder.is_dir():
        return []
    return sorted(
        (item for item in folder.iterdir()
         if item.name.endswith(".json") and not item.name.startswith(_NOT_WORKFLOWS)),
        key=lambda item: item.name,
    )


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(path for path in CORPUS.glob("*.json")
                  if not path.name.startswith("object_info"))  # a server reply, not a workflow


TEMPLATES = _package_templates()
CORPUS_FILES = _corpus_files()


def _check(saved: bytes) -> None:
    document = jsonsafe.loads_object(saved)
    assert document, "an empty object is not a workflow"
    assert workflow.snapshot_bytes(saved) == saved


def test_the_template_package_holds_the_templates() -> None:
    assert len(TEMPLATES) > 600, (
        f"{len(TEMPLATES)} workflow templates found; install the test extra "
        f"(pip install -e '.[test]', which brings {PACKAGE.replace('_', '-')})"
    )


@pytest.mark.parametrize("template", TEMPLATES, ids=[item.name for item in TEMPLATES])
def test_every_template_loads_and_is_committed_unchanged(template: Traversable) -> None:
    saved = template.read_bytes()
    _check(saved)
    document = jsonsafe.loads_object(saved)
    assert isinstance(document.get("nodes"), list), "a UI-format workflow has nodes"


def test_every_template_the_index_lists_is_checked() -> None:
    """No workflow slips through the file-name filter above: the package's own index lists
    each template by name."""
    if not TEMPLATES:
        pytest.fail(f"{PACKAGE} is not installed")
    index_file = importlib.resources.files(PACKAGE) / "templates" / "index.json"
    index = jsonsafe.loads(index_file.read_bytes())
    listed = {entry["name"] for category in index for entry in category["templates"]}
    assert len(listed) > 600
    assert listed <= {item.name.removesuffix(".json") for item in TEMPLATES}


@pytest.mark.skipif(not CORPUS_FILES, reason=f"no shared corpus at {CORPUS}")
def test_the_shared_corpus_is_not_empty() -> None:
    assert len(CORPUS_FILES) >= 20


_NO_CORPUS = pytest.param(None, marks=pytest.mark.skip(reason=f"no shared corpus at {CORPUS}"),
                          id="absent")


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=path.name) for path in CORPUS_FILES] or [_NO_CORPUS]
)
def test_every_corpus_workflow_loads_and_is_committed_unchanged(path: Path) -> None:
    _check(path.read_bytes())
