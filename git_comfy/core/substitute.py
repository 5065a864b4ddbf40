"""A workflow's model references rewritten to the names the models have on this machine: an
imported workflow names its models as they were on the exporting machine (``sd15\\a.safetensors``),
and ComfyUI looks them up by their name relative to their model folder here.

A value is rewritten only where :func:`models.references` reads that reference from it, by the
same rules: a loader's widget for its row's folder, another node's string with a model extension
(folder unknown) or one its ``properties.models`` names (that entry's folder), strings nested in
structured widget values, ``embedding:`` tokens in text. Each value is found where it is written:
the node's own ``widgets_values`` (for a subgraph's inner node, the definition's, shared by its
instances), the instance that promotes a value into it, the legacy group node whose values
stand for its inner nodes', or the API format's ``inputs``. Then the ``properties.models``
entries of the nodes that use a renamed reference, and the workflow-level ``models`` list.

Pure: takes a document, returns a changed copy and what changed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from git_comfy.core import graph, models
from git_comfy.core.loaders import CUSTOM_LOADERS, LOADERS, LoaderInput, canonical_folder
from git_comfy.core.models import (
    EMBEDDING,
    EMBEDDINGS,
    NESTED_DEPTH,
    WEIGHT,
    has_model_extension,
    names_a_file,
    normalise,
)

# what ComfyUI tries after an embedding's name as written (comfy/sd1_clip.py, load_embed)
EMBEDDING_EXTENSIONS = (".safetensors", ".pt", ".bin")
Key = tuple[str | None, str]  # (folder key or None, normalised name): a reference's identity


@dataclass(frozen=True)
class Change:
    """The value at ``where`` in node ``node_id`` (None: the workflow-level ``models`` list)
    went from ``old`` to ``new``; for a prompt, ``old`` and ``new`` are the whole text.
    ``graph.parse(result).node(node_id).raw`` is the object written."""

    node_id: str | None
    where: str  # "widgets_values[0]", "inputs.ckpt_name", "properties.models[0].name" …
    old: str
    new: str


def substitute(document: dict[str, Any], renames: Mapping[Key, str],
               separator: str = "/") -> tuple[dict[str, Any], list[Change]]:
    """A copy of ``document`` in which each reference whose (folder, normalised name) is in
    ``renames`` is the new name, written with ``separator`` between folders (ComfyUI on
    Windows lists ``sub\\x.safetensors``), and the changes made. A new name the same as the old
    is no change, so a second run with the same renames changes nothing.

    An ``embedding:`` token keeps its weight, and stays without extension when it had none.
    One whose new name holds a space, a comma or a parenthesis cannot be written in a prompt:
    it is left as it is (references() of the result still reports it)."""
    result = copy.deepcopy(document)
    workflow = graph.parse(result)  # its nodes' raw objects are in ``result``
    wanted = {key: new.replace("/", separator) for key, new in renames.items()}
    users: dict[Key, set[str]] = {}
    for ref in models.references(workflow):
        key = (ref.folder, ref.normalised)
        if key in wanted:
            users[key] = set(ref.node_ids)
    rewriter = _Rewriter(wanted, users, workflow.format == "api")
    used: set[str] = set().union(*users.values())
    for node in workflow.nodes:
        if node.id in used:
            rewriter.node(node)
    listed = result.get("models")
    for index, entry in enumerate(listed if isinstance(listed, list) else ()):
        rewriter.entry(None, entry, f"models[{index}].name", wanted)
    return result, rewriter.changes


@dataclass(eq=False)
class _Slot:
    """Where one value of a node is written: ``container[key]`` of node ``node_id``."""

    node_id: str
    container: Any  # the dict or list holding the value
    key: str | int
    where: str


class _Rewriter:
    """The rewriting of one document, node by node; each value is rewritten at most once,
    however many node ids share it (a definition's inner node in every instance)."""

    def __init__(self, wanted: Mapping[Key, str], users: Mapping[Key, set[str]],
                 api: bool) -> None:
        self.wanted = wanted
        self.users = users
        self.api = api
        self.changes: list[Change] = []
        self.done: set[tuple[int, str | int]] = set()

    def node(self, node: graph.Node) -> None:
        # a node's own renames: a reference counts only where references() says it is used
        mine = {key: new for key, new in self.wanted.items()
                if node.id in self.users.get(key, ())}
        rows = LOADERS.get(node.type, CUSTOM_LOADERS.get(node.type))
        slots = _running_slots(node, rows, self.api)
        row_of: dict[_Slot, LoaderInput] = {}
        for row in rows or ():
            slot = slots.get(row.name, slots.get(row.index))
            if slot is not None:
                row_of[slot] = row
        listed = node.properties.get("models")
        listed = listed if type(listed) is list else []
        for slot in slots.values():
            self._slot(slot, row_of.get(slot), rows is None, listed, mine)
        for index, entry in enumerate(listed):
            self.entry(node.id, entry, f"properties.models[{index}].name", mine)

    def entry(self, node_id: str | None, entry: Any, where: str,
              renames: Mapping[Key, str]) -> None:
        """A ``models`` entry ``{name, directory, …}``, renamed as the reference it is. One
        without a directory stands for the value of that name whatever its folder: when its
        own reference is not renamed, it takes the new name, if there is just one, of the
        references of that name in ``renames``."""
        name = entry.get("name") if type(entry) is dict else None
        if not names_a_file(name):
            return
        folder = _entry_folder(entry)
        normalised = normalise(name)
        new = renames.get((folder, normalised))
        if new is None and folder is None:
            found = {new for (_, other), new in renames.items() if other == normalised}
            new = found.pop() if len(found) == 1 else None
        if new is not None:
            self._write(node_id, entry, "name", where, new)

    def _slot(self, slot: _Slot, row: LoaderInput | None, generic: bool, listed: list[Any],
              renames: Mapping[Key, str]) -> None:
        """One value as references() reads it: a whole name (``row`` is its loader input;
        ``generic``: the node has no loader rows), nested names, or embedding tokens."""
        value = slot.container[slot.key]
        if type(value) is str:
            new = next((renames[key] for key in _keys(value, row, generic, listed)
                        if key in renames), None)
            if new is not None:
                self._write(slot.node_id, slot.container, slot.key, slot.where, new)
            elif "embedding:" in value:
                text = _embeddings(value, lambda name: renames.get((EMBEDDINGS, name)))
                self._write(slot.node_id, slot.container, slot.key, slot.where, text)
        elif generic and (type(value) is dict or type(value) is list):
            for container, key, where in _nested(value, slot.where):
                nested = container[key]
                if has_model_extension(nested) and names_a_file(nested):
                    new = renames.get((None, normalise(nested)))
                    if new is not None:
                        self._write(slot.node_id, container, key, where, new)

    def _write(self, node_id: str | None, container: Any, key: str | int, where: str,
               new: str) -> None:
        """Once per place: another node id sharing it (an instance of the same definition)
        then finds the new name, which must not be renamed again."""
        place = (id(container), key)
        old = container[key]
        if new != old and place not in self.done:
            container[key] = new
            self.done.add(place)
            self.changes.append(Change(node_id, where, old, new))


def _running_slots(node: graph.Node, rows: tuple[LoaderInput, ...] | None,
                   api: bool) -> dict[str | int, _Slot]:
    """Where each value that runs in ``node`` is written, by the key references() reads it
    with (models._running_values, graph.Node.values): its own slots; a slot an enclosing
    instance promotes a value into is the instance's slot instead (a loader's, found by its
    row's index when promoted by name); promoted values no own slot takes, by their key."""
    if api:
        inputs = node.raw.get("inputs")
        return {name: _Slot(node.id, inputs, name, f"inputs.{name}")
                for name, value in inputs.items()
                if not graph.is_link(value)} if isinstance(inputs, dict) else {}
    widgets = node.widgets  # the raw widgets_values when it is a list or a dict
    keys = range(len(widgets)) if isinstance(widgets, list) else list(widgets)
    slots: dict[str | int, _Slot] = {
        key: _Slot(node.id, widgets, key, _where("widgets_values", key)) for key in keys}
    by_row = {row.name: row.index for row in rows or ()} if isinstance(widgets, list) else {}
    for key, override in node.overrides.items():
        target = by_row.get(key, key) if isinstance(key, str) else key
        slots[target if target in slots else key] = _Slot(
            override.holder, override.raw["widgets_values"], override.index,
            _where("widgets_values", override.index))
    return slots


def _keys(value: str, row: LoaderInput | None, generic: bool, listed: list[Any]) -> list[Key]:
    """The references that references() reads from a whole string value: a loader input's in
    its folder; else one for each ``properties.models`` entry naming it, or, with none and no
    loader rows on the node, one of unknown folder when it has a model extension."""
    if not names_a_file(value):
        return []
    normalised = normalise(value)
    if row is not None:
        return [] if value in row.not_models else [(row.folder, normalised)]
    keys: list[Key] = [(_entry_folder(entry), normalised) for entry in listed
                       if type(entry) is dict and entry.get("name") == value]
    if not keys and generic and has_model_extension(value):
        keys.append((None, normalised))
    return keys


def _entry_folder(entry: dict[str, Any]) -> str | None:
    directory = entry.get("directory")
    return canonical_folder(directory) if type(directory) is str and directory else None


def _embeddings(text: str, new_name: Callable[[str], str | None]) -> str:
    """``text`` with each ``embedding:name`` token that has a new name rewritten, its
    ``:1.2`` weight kept. A name written without its extension stays so: ComfyUI finds it the
    same way here, and a prompt ending in ``.safetensors`` would look like a model file name
    to references()."""

    def rewrite(match: re.Match[str]) -> str:
        token = match.group(1)
        weight = WEIGHT.search(token)
        name = token[:weight.start()] if weight else token
        new = new_name(normalise(name)) if name else None
        if new is None or not EMBEDDING.fullmatch(f"embedding:{new}"):
            return match.group()
        if not name.endswith(EMBEDDING_EXTENSIONS):
            stem, dot, extension = new.rpartition(".")
            new = stem if dot + extension in EMBEDDING_EXTENSIONS else new
        return f"embedding:{new}{token[len(name):]}"

    return EMBEDDING.sub(rewrite, text)


def _nested(value: dict[str, Any] | list[Any], where: str,
            ) -> Iterator[tuple[Any, str | int, str]]:
    """(container, key, where) of each string inside a structured widget value, as deep as
    references() looks (models._nested_strings)."""
    stack: list[tuple[Any, str, int]] = [(value, where, 1)]
    while stack:
        item, path, depth = stack.pop()
        for key, inner in item.items() if isinstance(item, dict) else enumerate(item):
            here = _where(path, key)
            if type(inner) is str:
                yield item, key, here
            elif isinstance(inner, dict | list) and depth < NESTED_DEPTH:
                stack.append((inner, here, depth + 1))


def _where(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
