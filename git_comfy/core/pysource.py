"""Reading a Python package statically, with :mod:`ast`: its modules parsed once each, what
their top level assigns, imports and defines, and constant strings followed through names,
class attributes, Enum members and sibling modules — everything short of running it. The
shell supplies the bytes (:data:`Reader`), so this module touches no file.

Only modules of the package itself are followed: relative imports, and absolute ones that
name a module inside the package (a package that puts itself on ``sys.path``), never
ComfyUI's own (:data:`COMFY_MODULES`) or pip's.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_MODULES = 200  # modules one package may make us read
MAX_DEPTH = 40  # nested evaluation (names of names of names …)
# ComfyUI's own top-level modules: a pack's absolute "from nodes import X" means ComfyUI's
COMFY_MODULES = frozenset({
    "nodes", "comfy", "comfy_extras", "comfy_api", "comfy_api_nodes", "comfy_execution",
    "comfy_config", "folder_paths", "server", "execution", "node_helpers", "latent_preview",
    "main", "app", "utils", "protocol", "cuda_malloc", "new_updater", "hook_breaker_ac10a0",
})

Reader = Callable[[str], bytes | None]  # a module's path under the root → its bytes, or None


@dataclass
class Module:
    path: str
    tree: ast.Module | None
    error: str | None = None
    assigns: dict[str, list[tuple[ast.expr, bool]]] = field(default_factory=dict)
    unpacked: dict[str, list[ast.Call]] = field(default_factory=dict)  # a, b = f(...)
    merges: dict[str, list[ast.expr]] = field(default_factory=dict)  # .update(x), |= x
    items: dict[str, list[tuple[ast.expr, bool]]] = field(default_factory=dict)  # N[k] = v
    # local name → (dots, module, name imported or None for "import a.b as c")
    imports: dict[str, tuple[int, str | None, str | None]] = field(default_factory=dict)
    stars: list[tuple[int, str | None]] = field(default_factory=list)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)  # module-level def names


class Unreadable(Exception):
    """A value that cannot be known without running the code; the message says which."""


def statements(body: list[ast.stmt], in_loop: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Module-level statements, inside if/try/with blocks too; loops are marked."""
    for statement in body:
        if isinstance(statement, ast.If):
            yield from statements(statement.body, in_loop)
            yield from statements(statement.orelse, in_loop)
        elif isinstance(statement, ast.Try | ast.TryStar):
            yield from statements(statement.body, in_loop)
            for handler in statement.handlers:
                yield from statements(handler.body, in_loop)
            yield from statements(statement.orelse, in_loop)
            yield from statements(statement.finalbody, in_loop)
        elif isinstance(statement, ast.With | ast.AsyncWith):
            yield from statements(statement.body, in_loop)
        elif isinstance(statement, ast.For | ast.AsyncFor | ast.While):
            yield from statements(statement.body, True)
            yield from statements(statement.orelse, in_loop)
        else:
            yield statement, in_loop


def where(module: Module, node: ast.AST) -> str:
    return f"{module.path} line {getattr(node, 'lineno', '?')}"


def short(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError):  # pragma: no cover - unparse of a parsed tree
        text = type(node).__name__
    return text if len(text) <= 60 else text[:57] + "..."


class SourceReader:
    """One package read through ``read``; each module parsed once, on first use."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self._data: dict[str, bytes | None] = {}
        self._modules: dict[str, Module | None] = {}
        self.problems: list[str] = []  # one line each, naming the file and line
        self.incomplete = False  # something only running the code could tell
        self._depth = 0

    # -- modules -----------------------------------------------------------------------------

    def _bytes(self, path: str) -> bytes | None:
        if path not in self._data:
            self._data[path] = self._read(path)
        return self._data[path]

    def module(self, path: str) -> Module | None:
        if path in self._modules:
            return self._modules[path]
        if len(self._modules) >= MAX_MODULES:
            self.problem(f"{path}: more than {MAX_MODULES} modules; not read", incomplete=True)
            return None
        data = self._bytes(path)
        if data is None:
            self._modules[path] = None
            return None
        try:
            tree = ast.parse(data, filename=path)
        except SyntaxError as error:
            module = Module(path, None, f"{path} line {error.lineno}: {error.msg}")
        except (ValueError, RecursionError, MemoryError) as error:
            module = Module(path, None, f"{path}: not readable Python ({error})")
        else:
            module = Module(path, tree)
            self._index(module, tree)
        self._modules[path] = module
        return module

    def files(self) -> tuple[str, ...]:
        """Every path asked for, read or absent: what a cached result depends on."""
        return tuple(sorted(self._data))

    def problem(self, text: str, *, incomplete: bool) -> None:
        if text not in self.problems:
            self.problems.append(text)
        self.incomplete = self.incomplete or incomplete

    def _path(self, importer: str, level: int, dotted: str | None) -> str | None:
        """The path of module ``dotted`` imported from ``importer`` with ``level`` dots, when
        it is part of this pack; None for ComfyUI's and pip's modules."""
        if level == 0:
            if not dotted or dotted.split(".")[0] in COMFY_MODULES:
                return None
            parts: list[str] = []  # a pack that puts itself on sys.path imports absolutely
        else:
            parts = importer.split("/")[:-1]
            if level - 1 > len(parts):
                return None
            parts = parts[: len(parts) - (level - 1)]
        names = dotted.split(".") if dotted else []
        base = "/".join([*parts, *names])
        if not names:  # "from . import x": the package itself
            return f"{base}/__init__.py" if base else "__init__.py"
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if self._bytes(candidate) is not None:
                return candidate
        return None

    def imported(self, module: Module, local: str) -> tuple[Module | None, str | None]:
        """What name ``local`` of ``module`` was imported as: (its module, the name there), or
        (a module, None) when it names a module itself; (None, None) outside the pack."""
        level, dotted, attribute = module.imports[local]
        if attribute is not None:  # "from .pkg import x": x may be a submodule of pkg
            inner = f"{dotted}.{attribute}" if dotted else attribute
            submodule = self._path(module.path, level, inner)
            if submodule is not None and (level or dotted):
                return self.module(submodule), None
        path = self._path(module.path, level, dotted)
        target = self.module(path) if path is not None else None
        if target is not None and target.error:
            self.problem(target.error, incomplete=True)
            return None, None
        return target, attribute

    def _index(self, module: Module, tree: ast.Module) -> None:
        for statement, in_loop in statements(tree.body):
            if isinstance(statement, ast.Assign | ast.AnnAssign):
                targets = statement.targets if isinstance(statement, ast.Assign) else [
                    statement.target]
                if statement.value is None:
                    continue
                for target in targets:
                    self._index_target(module, target, statement.value, in_loop)
            elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
                module.merges.setdefault(statement.target.id, []).append(statement.value)
            elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                call = statement.value
                func = call.func
                if (isinstance(func, ast.Attribute) and func.attr == "update"
                        and isinstance(func.value, ast.Name)):
                    merges = module.merges.setdefault(func.value.id, [])
                    merges.extend(call.args)
                    if call.keywords:
                        merges.append(ast.Dict(
                            keys=[ast.Constant(k.arg) if k.arg else None for k in call.keywords],
                            values=[k.value for k in call.keywords]))
            elif isinstance(statement, ast.ImportFrom):
                for alias in statement.names:
                    if alias.name == "*":
                        module.stars.append((statement.level, statement.module))
                    else:
                        module.imports[alias.asname or alias.name] = (
                            statement.level, statement.module, alias.name)
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.asname:
                        module.imports[alias.asname] = (0, alias.name, None)
            elif isinstance(statement, ast.ClassDef):
                module.classes[statement.name] = statement
            elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                module.functions.add(statement.name)

    def starred(self, module: Module) -> Iterator[Module]:
        for level, dotted in module.stars:
            path = self._path(module.path, level, dotted)
            target = self.module(path) if path is not None else None
            if target is not None and not target.error:
                yield target

    def _index_target(self, module: Module, target: ast.expr, value: ast.expr,
                      in_loop: bool) -> None:
        if isinstance(target, ast.Name):
            module.assigns.setdefault(target.id, []).append((value, in_loop))
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            module.items.setdefault(target.value.id, []).append((target.slice, in_loop))
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                if isinstance(element, ast.Name) and isinstance(value, ast.Call):
                    module.unpacked.setdefault(element.id, []).append(value)

    # -- constant strings --------------------------------------------------------------------

    def string(self, module: Module, node: ast.expr) -> str:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise Unreadable("too deep")
            return self._string_of(module, node)
        finally:
            self._depth -= 1

    def _string_of(self, module: Module, node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self._named_string(module, node.id)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    if part.format_spec is not None or part.conversion not in (-1, ord("s")):
                        raise Unreadable("formatted")
                    parts.append(self.string(module, part.value))
                else:
                    parts.append(self.string(module, part))
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.string(module, node.left) + self.string(module, node.right)
        if isinstance(node, ast.Attribute):
            return self._attribute_string(module, node)
        raise Unreadable("a computed value")

    def _named_string(self, module: Module, name: str) -> str:
        values = module.assigns.get(name)
        if values:
            return self.string(module, values[-1][0])
        if name in module.imports:
            target, attribute = self.imported(module, name)
            if target is not None and attribute is not None:
                return self._named_string(target, attribute)
        for target in self.starred(module):
            if name in target.assigns:
                return self._named_string(target, name)
        raise Unreadable(name)

    def find_class(self, module: Module, name: str) -> tuple[Module, ast.ClassDef] | None:
        if name in module.classes:
            return module, module.classes[name]
        if name in module.imports:
            target, attribute = self.imported(module, name)
            if target is not None and attribute is not None:
                return self.find_class(target, attribute)
        for target in self.starred(module):
            if name in target.classes:
                return target, target.classes[name]
        return None

    def _attribute_string(self, module: Module, node: ast.Attribute) -> str:
        base = node.value
        if isinstance(base, ast.Name):
            if base.id in module.imports:
                target, attribute = self.imported(module, base.id)
                if target is not None and attribute is None:  # module.NAME
                    return self._named_string(target, node.attr)
            found = self.find_class(module, base.id)
            if found is not None:  # Cls.NAME
                return self._class_string(*found, node.attr)
        if (node.attr == "value" and isinstance(base, ast.Attribute)
                and isinstance(base.value, ast.Name)):  # an Enum member's value
            found = self.find_class(module, base.value.id)
            if found is not None:
                return self._class_string(*found, base.attr)
        raise Unreadable(short(node))

    def _class_string(self, module: Module, cls: ast.ClassDef, name: str) -> str:
        for statement in cls.body:
            if isinstance(statement, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                return self.string(module, statement.value)
            if (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                    and statement.target.id == name and statement.value is not None):
                return self.string(module, statement.value)
        raise Unreadable(f"{cls.name}.{name}")
