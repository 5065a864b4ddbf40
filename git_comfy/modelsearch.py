"""A workflow's model references looked up in the model index, and the terminal's questions
about the ones that stay open (seed, Edge Cases 1 and 3). Shared by ``analyze`` and ``export``:
the rules are :mod:`git_comfy.core.resolve`; this module gathers the candidates."""

from __future__ import annotations

import os

from git_comfy import environment, modelroots, ui
from git_comfy.core import models, resolve
from git_comfy.index import IndexedModel, ModelIndex


def candidate(model: IndexedModel) -> resolve.Candidate:
    return resolve.Candidate(
        path=model.path, folder=model.folder, relpath=model.relpath, size=model.size,
        quick_hash=model.quick_hash, sha256=model.sha256,
    )


class Search:
    """The index, brought up to date with this environment's ComfyUI (an incremental scan: a
    file not changed since the last scan is not read), and the files it holds by path."""

    def __init__(self, index: ModelIndex, env: environment.Environment | None) -> None:
        self.index = index
        self.roots = modelroots.roots(env.comfyui if env else None, index.added_dirs())
        if env is not None:
            index.scan(self.roots)
        self.seen: dict[str, IndexedModel] = {}

    def _found(self, found: list[IndexedModel]) -> list[resolve.Candidate]:
        self.seen.update((model.path, model) for model in found)
        return [candidate(model) for model in found]

    def candidates(self, ref: models.ModelRef) -> list[resolve.Candidate]:
        """Every indexed file that might be ``ref``: same file name (an embedding's name may
        leave out the extension) or the SHA-256 the workflow states."""
        name = resolve.basename(ref.normalised)
        found = self.index.by_filename(name)
        if ref.folder == "embeddings" and "." not in name:
            for extension in modelroots.MODEL_EXTENSIONS:
                found += self.index.by_filename(name + extension)
        if ref.sha256:
            found += self.index.by_sha256(ref.sha256)
        return self._found(found)

    def lookup(self, ref: models.ModelRef) -> resolve.Resolution:
        return resolve.resolve(ref, self.candidates(ref))

    def indexed(self, path: str) -> IndexedModel | None:
        """The index's row for a file a resolution chose (its cached SHA-256 lives there)."""
        if path not in self.seen:
            self._found(self.index.by_filename(os.path.basename(path)))
        return self.seen.get(path)

    def ask(self, result: resolve.Resolution) -> resolve.Resolution:
        """One open question on the terminal; returns the answer: chosen, skipped, or the
        question as it was."""
        ref = result.ref
        if result.status == resolve.AMBIGUOUS:
            picked = ui.pick(
                f'Multiple matches for "{ui.printable(ref.name)}":',
                [f"{ui.printable(c.path)} ({ui.human_size(c.size)})" for c in result.candidates],
            )
            return result if picked is None else resolve.choose(result,
                                                                result.candidates[picked])
        where = f"{ref.folder}/{ref.normalised}" if ref.folder else ref.normalised
        answer = ui.pick(
            f"Model not found in index: {ui.printable(where)}\nWould you like to:",
            ["Add a folder to the indexed directories", "Skip this model",
             "Choose a different model"],
            skip=False,
        )
        if answer == 0:
            folder = ui.ask("Folder to add: ")
            if folder:
                self.index.add_dir(os.path.abspath(os.path.expanduser(folder)))
                self.index.scan(modelroots.roots(None, self.index.added_dirs()) + self.roots)
                return self.lookup(ref)
        elif answer == 1:
            return resolve.skip(result)
        elif answer == 2:
            pool = [m for m in self.index.all()
                    if not ref.folder or m.folder in (ref.folder, "")]
            picked = ui.pick(
                f"Models{' in ' + ref.folder if ref.folder else ''}:",
                [f"{ui.printable(m.path)} ({ui.human_size(m.size)})" for m in pool],
            )
            if picked is not None:
                return resolve.choose(result, self._found([pool[picked]])[0])
        return result
