"""Reading a pack's node types from its source text, statically: every shape real packs use,
and the ones that can only be known by running the pack (reported, never a crash)."""

from __future__ import annotations

import textwrap

import pytest

from git_comfy.core import nodescan, pysource
from git_comfy.core.nodescan import PackTypes


def scan(files: dict[str, str], entry: str = "__init__.py") -> PackTypes:
    sources = {path: textwrap.dedent(text).encode() for path, text in files.items()}
    return nodescan.scan_pack(sources.get, entry)


def test_dict_literal_update_and_items() -> None:
    result = scan({"__init__.py": """
        class A: pass
        NODE_CLASS_MAPPINGS = {"Alpha": A, "Beta+": A}
        NODE_CLASS_MAPPINGS.update({"Gamma": A})
        NODE_CLASS_MAPPINGS.update(Delta=A)
        NODE_CLASS_MAPPINGS["Epsilon (mine)"] = A
        NODE_CLASS_MAPPINGS |= {"Zeta": A}
        try:
            from .optional import X
            NODE_CLASS_MAPPINGS["Eta"] = X
        except ImportError:
            pass
    """})
    assert result.types == ("Alpha", "Beta+", "Delta", "Epsilon (mine)", "Eta", "Gamma", "Zeta")
    assert result.complete and not result.problems and not result.inferred


def test_mappings_imported_and_merged_from_sibling_modules() -> None:
    """ComfyUI_essentials' layout, VideoHelperSuite's and the ** / module-attribute merges."""
    result = scan({
        "__init__.py": """
            from .image import IMAGE_CLASS_MAPPINGS
            from .sub.nodes import NODE_CLASS_MAPPINGS as SUB
            from . import extra
            from .starred import *
            NODE_CLASS_MAPPINGS = {**SUB, **extra.NODE_CLASS_MAPPINGS}
            NODE_CLASS_MAPPINGS.update(IMAGE_CLASS_MAPPINGS)
            NODE_CLASS_MAPPINGS.update(STAR_MAPPINGS)
        """,
        "image.py": 'IMAGE_CLASS_MAPPINGS = {"ImageA+": 1}\n',
        "sub/__init__.py": "",
        "sub/nodes.py": "from .deeper import NODE_CLASS_MAPPINGS\n",
        "sub/deeper.py": 'NODE_CLASS_MAPPINGS = {"Deep": 1} | {"Deeper": 2}\n',
        "extra/__init__.py": 'NODE_CLASS_MAPPINGS = dict(Extra=1, **{"Extra2": 2})\n',
        "starred.py": 'STAR_MAPPINGS = {"Star": 1}\n',
    })
    assert result.types == ("Deep", "Deeper", "Extra", "Extra2", "ImageA+", "Star")
    assert result.complete, result.problems
    assert "image.py" in result.files and "sub/deeper.py" in result.files


def test_a_pack_that_reexports_its_mapping_from_one_module() -> None:
    result = scan({"__init__.py": "from .nodes import NODE_CLASS_MAPPINGS\n",
                   "nodes.py": 'NODE_CLASS_MAPPINGS = {"VHS_VideoCombine": object}\n'})
    assert result.types == ("VHS_VideoCombine",)


def test_keys_that_are_constants_elsewhere() -> None:
    """rgthree-like Cls.NAME, Crystools-like Enum .value, names, f-strings and +."""
    result = scan({
        "__init__.py": """
            from .names import CLASSES, SUFFIX
            from .seed import Seed
            PREFIX = "KJ"
            NODE_CLASS_MAPPINGS = {
                CLASSES.SWITCH.value: 1,
                Seed.NAME: 2,
                f"Resize{PREFIX}": 3,
                "Load" + SUFFIX: 4,
                PREFIX: 5,
            }
        """,
        "names.py": """
            from enum import Enum
            SUFFIX = " [Crystools]"
            class CLASSES(Enum):
                SWITCH = "Switch latent [Crystools]"
        """,
        "seed.py": 'class Seed:\n    NAME = "Seed (mine)"\n',
    })
    assert result.types == ("KJ", "Load [Crystools]", "ResizeKJ", "Seed (mine)",
                            "Switch latent [Crystools]")
    assert result.complete


def test_a_helper_fed_a_config_dict_gives_inferred_types() -> None:
    """KJNodes: NODE_CLASS_MAPPINGS, NAMES = generate_node_mappings(NODE_CONFIG)."""
    result = scan({"__init__.py": """
        NODE_CONFIG = {"ImageResizeKJ": {"class": 1}}
        try:
            NODE_CONFIG.update({"PatchTritonVAE": {"class": 2}})
        except Exception:
            pass
        def generate_node_mappings(config):
            return {k: v["class"] for k, v in config.items()}, {}
        NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = generate_node_mappings(NODE_CONFIG)
    """})
    assert result.types == ("ImageResizeKJ", "PatchTritonVAE")
    assert result.inferred and result.complete


@pytest.mark.parametrize("source, fragment", [
    ("import importlib\nNODE_CLASS_MAPPINGS = {}\nfor name in ['a', 'b']:\n"
     "    module = importlib.import_module(name)\n"
     "    NODE_CLASS_MAPPINGS[module.NAME] = module.Node\n", "set in a loop"),
    ("NODE_CLASS_MAPPINGS = {c.__name__: c for c in []}\n", "built when the pack runs"),
    ("def load():\n    return {}\nNODE_CLASS_MAPPINGS = load()\n", "built by load()"),
    ("from .x import get_name\nNODE_CLASS_MAPPINGS = {get_name('Seed'): 1, 'Plain': 2}\n",
     "1 key(s) of NODE_CLASS_MAPPINGS are computed"),
])
def test_mappings_built_at_run_time_are_reported(source: str, fragment: str) -> None:
    result = scan({"__init__.py": source})
    assert not result.complete
    assert any(fragment in problem and "__init__.py" in problem for problem in result.problems), \
        result.problems
    if "Plain" in source:
        assert result.types == ("Plain",)  # what can be read still is


def test_a_syntax_error_is_reported_with_its_line() -> None:
    result = scan({"__init__.py": 'NODE_CLASS_MAPPINGS = {"A": 1}\n\ndef broken(:\n'})
    assert result.types == () and not result.complete
    assert result.problems[0].startswith("__init__.py line 3:")


def test_a_broken_sibling_does_not_hide_the_rest() -> None:
    result = scan({
        "__init__.py": "from .good import A\nfrom .bad import B\n"
                       "NODE_CLASS_MAPPINGS = {**A, **B}\n",
        "good.py": 'A = {"Good": 1}\n',
        "bad.py": "B = {\n",
    })
    assert result.types == ("Good",) and not result.complete
    assert any(problem.startswith("bad.py line") for problem in result.problems)


@pytest.mark.parametrize("data", [b"NODE_CLASS_MAPPINGS = {}\x00", b"(" * 10_000,
                                  b"x = " + b"'a' + " * 50_000 + b"'a'\n",
                                  "\ufeffNODE_CLASS_MAPPINGS = {'Bom': 1}".encode()])
def test_hostile_source_is_a_problem_never_a_crash(data: bytes) -> None:
    result = nodescan.scan_pack({"__init__.py": data}.get)
    assert isinstance(result.types, tuple)
    assert result.types == ("Bom",) or result.problems


def test_deep_key_expressions_stay_bounded() -> None:
    key = " + ".join(['"a"'] * 300)
    result = scan({"__init__.py": f"NODE_CLASS_MAPPINGS = {{{key}: 1}}\n"})
    assert not result.complete  # too deep to follow: reported, not a RecursionError


def test_no_mapping_at_all() -> None:
    result = scan({"__init__.py": "WEB_DIRECTORY = './js'\n"})
    assert result.types == () and "ComfyUI loads no nodes" in result.problems[0]


def test_missing_entry_module() -> None:
    result = scan({})
    assert result.types == () and not result.complete


def test_absolute_imports_of_comfyui_modules_are_not_followed() -> None:
    result = scan({"__init__.py": "from nodes import NODE_CLASS_MAPPINGS\n",
                   "nodes.py": 'NODE_CLASS_MAPPINGS = {"NotMine": 1}\n'})
    assert result.types == () and not result.complete


def test_schema_style_nodes() -> None:
    result = scan({
        "__init__.py": """
            from comfy_api.latest import ComfyExtension, io
            from .nodes import Second, NODES
            class First(io.ComfyNode):
                @classmethod
                def define_schema(cls):
                    return io.Schema(node_id="FirstNode", inputs=[])
            class Ext(ComfyExtension):
                async def get_node_list(self):
                    return [First, Second, *NODES]
            async def comfy_entrypoint():
                return Ext()
        """,
        "nodes.py": """
            from comfy_api.latest import io
            class Base(io.ComfyNode):
                @classmethod
                def define_schema(cls):
                    return io.Schema("SecondNode")
            class Second(Base):
                pass
            NODES = []
        """,
    })
    assert result.types == ("FirstNode", "SecondNode")


def test_schema_list_returned_by_name_and_not_literal() -> None:
    named = scan({"__init__.py": """
        class A:
            @classmethod
            def define_schema(cls):
                return Schema(node_id="A1")
        ALL = [A]
        class Ext:
            async def get_node_list(self):
                return ALL
        async def comfy_entrypoint():
            return Ext()
    """})
    assert named.types == ("A1",) and named.complete
    built = scan({"__init__.py": """
        class A:
            @classmethod
            def define_schema(cls):
                return Schema(node_id="A1")
        class Ext:
            async def get_node_list(self):
                return list(make())
        async def comfy_entrypoint():
            return Ext()
    """})
    assert built.types == ("A1",) and built.inferred  # every schema class of the module


def test_comfyui_source_files() -> None:
    """nodes.py's mapping and a comfy_extras file's extension, one file at a time."""
    files = {
        "nodes.py": b'class KSampler: pass\nNODE_CLASS_MAPPINGS = {"KSampler": KSampler}\n',
        "comfy_extras/nodes_wan.py": textwrap.dedent("""
            from comfy_api.latest import ComfyExtension, io
            class WanImageToVideo(io.ComfyNode):
                @classmethod
                def define_schema(cls):
                    return io.Schema(node_id="WanImageToVideo")
            class WanExtension(ComfyExtension):
                async def get_node_list(self):
                    return [WanImageToVideo]
            async def comfy_entrypoint():
                return WanExtension()
        """).encode(),
    }
    assert nodescan.scan_module_types(files.get, "nodes.py").types == ("KSampler",)
    assert nodescan.scan_module_types(files.get, "comfy_extras/nodes_wan.py").types == (
        "WanImageToVideo",)


def test_too_many_modules_is_reported() -> None:
    chain = {"__init__.py": "from .m0 import NODE_CLASS_MAPPINGS\n"}
    for n in range(pysource.MAX_MODULES + 5):
        chain[f"m{n}.py"] = f"from .m{n + 1} import NODE_CLASS_MAPPINGS\n"
    result = scan(chain)
    assert not result.complete
    assert any("more than" in problem for problem in result.problems)


def test_an_import_cycle_ends() -> None:
    result = scan({"__init__.py": "from .a import NODE_CLASS_MAPPINGS\n",
                   "a.py": "from .b import NODE_CLASS_MAPPINGS\n",
                   "b.py": "from .a import NODE_CLASS_MAPPINGS\n"})
    assert result.types == ()
