"""Which node types a custom node pack (or ComfyUI itself) defines, read from its Python source
with :mod:`ast` — never imported, never run: a pack is a stranger's code.

ComfyUI loads a pack's ``__init__.py`` and takes the keys of its ``NODE_CLASS_MAPPINGS``, or,
for the newer schema-style packs, calls ``comfy_entrypoint()`` and asks the extension it returns
for ``get_node_list()``: classes whose ``define_schema`` returns ``io.Schema(node_id="...")``.
This module follows what can be followed without running anything:

* dict literals, ``NODE_CLASS_MAPPINGS.update({...})``, ``NODE_CLASS_MAPPINGS["X"] = C``,
  ``{**a, **b}``, ``a | b`` and ``.update(other)`` merges, in ``if``/``try``/``with`` blocks too
  (every branch counts: a type the pack may define is a type it defines);
* names imported from sibling modules (``from .nodes import NODE_CLASS_MAPPINGS as A``,
  ``from . import image`` then ``image.NODE_CLASS_MAPPINGS``, ``from .x import *``);
* keys that are constants elsewhere: ``"Name"``, ``NAME``, ``Cls.NAME``, an Enum's
  ``CLASSES.X.value``, f-strings and ``+`` of such;
* a mapping built by a helper from a literal config dict (``generate(NODE_CONFIG)``): the dict's
  keys, marked inferred;
* schema-style nodes listed by ``get_node_list`` (a list literal, or a module-level list name).

Anything else (a loop over files with ``importlib``, a comprehension, a key from a function
call) makes the result incomplete, and a problem line says what could not be read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from git_comfy.core.pysource import (
    Module,
    Reader,
    SourceReader,
    Unreadable,
    short,
    where,
)

MAPPINGS = "NODE_CLASS_MAPPINGS"
ENTRYPOINT = "comfy_entrypoint"


@dataclass(frozen=True, slots=True)
class PackTypes:
    """What the source says: the node types found, whether that is all of them, and why not."""

    types: tuple[str, ...]  # sorted
    complete: bool  # False: some of the mapping is built at run time (see problems)
    problems: tuple[str, ...]  # one line each, naming the file and line
    files: tuple[str, ...]  # every module path asked for (read or absent), for cache checks
    inferred: bool = False  # some types come from a config dict a helper turns into the mapping


class PackScanner(SourceReader):
    """One pack (or one ComfyUI source file): its mapping's keys and its schema-style nodes."""

    def __init__(self, read: Reader) -> None:
        super().__init__(read)
        self._computed: dict[str, list[str]] = {}  # module path → keys only running can tell
        self.inferred = False

    def all_problems(self) -> tuple[str, ...]:
        """The problems, with the keys only running could tell summed up per module."""
        lines = list(self.problems)
        for path, keys in self._computed.items():
            shown = ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")
            lines.append(f"{path}: {len(keys)} key(s) of {MAPPINGS} are computed when the pack "
                         f"runs ({shown})")
        return tuple(lines)

    # -- the mapping -------------------------------------------------------------------------

    def mapping(self, path: str, name: str = MAPPINGS) -> set[str]:
        """The keys ``name`` has in module ``path``: every assignment, update and item."""
        module = self.module(path)
        if module is None:
            return set()
        if module.error:
            self.problem(module.error, incomplete=True)
            return set()
        return self._dict_name(module, name, set())

    def _dict_name(self, module: Module, name: str, seen: set[tuple[str, str]]) -> set[str]:
        key = (module.path, name)
        if key in seen:
            return set()
        seen = seen | {key}
        defined = (name in module.assigns or name in module.merges or name in module.items
                   or name in module.unpacked)
        if not defined:
            if name in module.imports:
                target, attribute = self.imported(module, name)
                if target is None or attribute is None:
                    self.problem(f"{module.path}: {name} comes from outside the pack",
                                 incomplete=True)
                    return set()
                return self._dict_name(target, attribute, seen)
            keys: set[str] = set()
            for target in self.starred(module):
                keys |= self._dict_name(target, name, seen)
            return keys
        keys = set()
        for value, _in_loop in module.assigns.get(name, ()):
            keys |= self._dict_value(module, value, seen)
        for call in module.unpacked.get(name, ()):
            keys |= self._from_call(module, call, seen)
        for value in module.merges.get(name, ()):
            keys |= self._dict_value(module, value, seen)
        for item, in_loop in module.items.get(name, ()):
            try:
                keys.add(self.string(module, item))
            except Unreadable:
                if in_loop:
                    self.problem(f"{where(module, item)}: keys of {name} are set in a loop",
                                 incomplete=True)
                else:
                    self._computed.setdefault(module.path, []).append(short(item))
                    self.incomplete = True
        return keys

    def _dict_value(self, module: Module, value: ast.expr, seen: set[tuple[str, str]],
                    ) -> set[str]:
        if isinstance(value, ast.Dict):
            keys: set[str] = set()
            for key, item in zip(value.keys, value.values, strict=True):
                if key is None:
                    keys |= self._dict_value(module, item, seen)
                    continue
                try:
                    keys.add(self.string(module, key))
                except Unreadable:
                    self._computed.setdefault(module.path, []).append(short(key))
                    self.incomplete = True
            return keys
        if isinstance(value, ast.Name):
            return self._dict_name(module, value.id, seen)
        if (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                and value.value.id in module.imports):  # other_module.NODE_CLASS_MAPPINGS
            target, attribute = self.imported(module, value.value.id)
            if target is not None and attribute is None:
                return self._dict_name(target, value.attr, seen)
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
            return (self._dict_value(module, value.left, seen)
                    | self._dict_value(module, value.right, seen))
        if isinstance(value, ast.Call):
            func = value.func
            if isinstance(func, ast.Name) and func.id == "dict":
                keys = set()
                for argument in value.args:
                    keys |= self._dict_value(module, argument, seen)
                for keyword in value.keywords:
                    if keyword.arg is None:
                        keys |= self._dict_value(module, keyword.value, seen)
                    else:
                        keys.add(keyword.arg)
                return keys
            return self._from_call(module, value, seen)
        self.problem(f"{where(module, value)}: {short(value)} is built when the pack runs",
                     incomplete=True)
        return set()

    def _from_call(self, module: Module, call: ast.Call, seen: set[tuple[str, str]],
                   ) -> set[str]:
        """A mapping a helper builds, ``generate(NODE_CONFIG)``: the keys of the config dict
        the helper is given, when that is a dict defined in the pack. Marked inferred."""
        keys: set[str] = set()
        found = False
        for argument in call.args:
            if isinstance(argument, ast.Name) and self._is_dict(module, argument.id):
                found = True
                keys |= self._dict_name(module, argument.id, seen)
            elif isinstance(argument, ast.Dict):
                found = True
                keys |= self._dict_value(module, argument, seen)
        if found:
            self.inferred = True
            return keys
        self.problem(f"{where(module, call)}: built by {short(call)} when the pack runs",
                     incomplete=True)
        return set()

    def _is_dict(self, module: Module, name: str) -> bool:
        return any(isinstance(value, ast.Dict) for value, _ in module.assigns.get(name, ()))

    # -- schema-style nodes ------------------------------------------------------------------

    def schema_types(self, path: str) -> set[str]:
        """The node ids of the classes an extension's ``get_node_list`` returns in module
        ``path``; when the list is not literal, every schema class of the module (inferred)."""
        module = self.module(path)
        if module is None or module.error or module.tree is None:
            return set()
        listed: list[tuple[Module, ast.expr]] = []
        unlisted = False
        for cls in module.classes.values():
            for function in cls.body:
                if (isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
                        and function.name == "get_node_list"):
                    elements = self._returned_list(module, function)
                    if elements is None:
                        unlisted = True
                    else:
                        listed += [(module, element) for element in elements]
        if not listed and not unlisted and ENTRYPOINT not in module.functions:
            return set()
        ids: set[str] = set()
        for owner, element in listed:
            name = element.id if isinstance(element, ast.Name) else (
                element.attr if isinstance(element, ast.Attribute) else None)
            found = self.find_class(owner, name) if name else None
            node_id = self._schema_id(*found) if found else None
            if node_id is None:
                self.problem(f"{where(owner, element)}: the node id of {short(element)} "
                             "is not written literally", incomplete=True)
            else:
                ids.add(node_id)
        if unlisted or (ENTRYPOINT in module.functions and not listed):
            for cls_name in module.classes:
                node_id = self._schema_id(module, module.classes[cls_name])
                if node_id is not None:
                    ids.add(node_id)
                    self.inferred = True
            if unlisted and not ids:
                self.problem(f"{module.path}: get_node_list builds its list when the pack runs",
                             incomplete=True)
        return ids

    def _returned_list(self, module: Module,
                       function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr] | None:
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                value = node.value
                if isinstance(value, ast.Name):
                    assigned = module.assigns.get(value.id)
                    value = assigned[-1][0] if assigned else value
                if isinstance(value, ast.List | ast.Tuple):
                    return list(value.elts)
                return None
        return None

    def _schema_id(self, module: Module, cls: ast.ClassDef, depth: int = 0) -> str | None:
        for function in cls.body:
            if (isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
                    and function.name == "define_schema"):
                for node in ast.walk(function):
                    if isinstance(node, ast.Call) and _called(node) == "Schema":
                        value = next((k.value for k in node.keywords if k.arg == "node_id"),
                                     node.args[0] if node.args else None)
                        try:
                            return self.string(module, value) if value is not None else None
                        except Unreadable:
                            return None
                return None
        if depth < 5:  # define_schema inherited from a base class of the pack
            for base in cls.bases:
                if isinstance(base, ast.Name):
                    found = self.find_class(module, base.id)
                    if found is not None:
                        return self._schema_id(*found, depth + 1)
        return None


def _called(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def scan_pack(read: Reader, entry: str = "__init__.py") -> PackTypes:
    """The node types of a pack whose loading module is ``entry`` (``__init__.py`` of a folder,
    or the file itself for a single-file pack)."""
    scanner = PackScanner(read)
    module = scanner.module(entry)
    if module is None:
        return PackTypes((), False, (f"{entry}: missing or unreadable",), scanner.files())
    if module.error:
        return PackTypes((), False, (module.error,), scanner.files())
    types = scanner.mapping(entry) | scanner.schema_types(entry)
    problems = scanner.all_problems()
    if not types and not problems and not (
            MAPPINGS in module.assigns or MAPPINGS in module.imports or module.stars
            or ENTRYPOINT in module.functions):
        problems = (f"{entry}: no {MAPPINGS} and no {ENTRYPOINT}: ComfyUI loads no nodes "
                    "from it",)
    return PackTypes(tuple(sorted(types)), not scanner.incomplete, problems, scanner.files(),
                     scanner.inferred)


def scan_module_types(read: Reader, path: str) -> PackTypes:
    """The node types one ComfyUI source file defines (``nodes.py``, ``comfy_extras/x.py``):
    its mapping and its schema-style extension."""
    scanner = PackScanner(read)
    module = scanner.module(path)
    if module is None or module.error:
        problems = (module.error,) if module is not None and module.error else ()
        return PackTypes((), module is None, problems, scanner.files())
    types = scanner.mapping(path) | scanner.schema_types(path)
    return PackTypes(tuple(sorted(types)), not scanner.incomplete, scanner.all_problems(),
                     scanner.files(), scanner.inferred)
