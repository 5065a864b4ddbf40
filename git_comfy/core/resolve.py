"""Model resolution: which file on this machine a workflow's model reference means.

The seed's strategy, in order: the file's hash when the workflow states it, the exact path in
the folder the node loads from, a unique file name there; then it is the user's choice among
several (ambiguous), or missing. A file of that name found only in another model folder is
offered as a choice, never taken silently: the node would not load it from there. Pure: the
shell gathers candidates from the model index and hands them in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from git_comfy.core.models import ModelRef

RESOLVED = "resolved"
AMBIGUOUS = "ambiguous"
MISSING = "missing"
INVALID = "invalid"
SKIPPED = "skipped"  # the user's answer: leave this model out

# how a resolution was reached, strongest first
BY_HASH = "hash"
BY_FOLDER_PATH = "folder-path"
BY_FILENAME = "filename"
BY_CHOICE = "chosen"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model file the index knows: where it is and what it is."""

    path: str
    folder: str  # "" when the root's folder is unknown (a plain added dir)
    relpath: str  # relative to its root, "/" separators: how ComfyUI lists it
    size: int
    quick_hash: str
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Resolution:
    ref: ModelRef
    status: str
    candidate: Candidate | None = None  # the file chosen, when resolved
    how: str | None = None
    candidates: tuple[Candidate, ...] = ()  # what there was to choose from


def basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _same_content(candidates: list[Candidate]) -> bool:
    """Copies of one file (same size and sampled hash) make no real ambiguity."""
    return len({(c.size, c.quick_hash) for c in candidates}) == 1


def _settle(ref: ModelRef, found: list[Candidate], how: str) -> Resolution | None:
    """Resolved when ``found`` is one file (or copies of one), ambiguous when it is several,
    None when it is nothing, so the caller tries the next, weaker rule."""
    if not found:
        return None
    if len(found) == 1 or _same_content(found):
        return Resolution(ref, RESOLVED, found[0], how, tuple(found))
    return Resolution(ref, AMBIGUOUS, None, None, tuple(found))


def resolve(ref: ModelRef, candidates: list[Candidate]) -> Resolution:
    """Resolves one reference against ``candidates`` (any files that might be it: at least every
    indexed file with the same file name, and any with the same SHA-256)."""
    if ref.invalid:
        return Resolution(ref, INVALID)
    unique = list({candidate.path: candidate for candidate in candidates}.values())
    if ref.sha256:
        by_hash = [c for c in unique if c.sha256 == ref.sha256.lower()]
        if by_hash:  # equal SHA-256 is equal content: any copy will do, prefer the folder's
            by_hash.sort(key=lambda c: c.folder != ref.folder)
            return Resolution(ref, RESOLVED, by_hash[0], BY_HASH, tuple(by_hash))
    name = ref.normalised
    # Where the node can load from: its own folder first, then roots of unknown folder (a
    # plain added dir may hold anything); any folder when the node's is not known.
    tiers = (
        [[c for c in unique if c.folder == ref.folder], [c for c in unique if c.folder == ""]]
        if ref.folder is not None else [unique]
    )
    for tier in tiers:
        for how, found in (
            (BY_FOLDER_PATH, [c for c in tier if c.relpath == name]),
            (BY_FILENAME, [c for c in tier if c.filename == basename(name)]),
        ):
            settled = _settle(ref, found, how)
            if settled is not None:
                return settled
    elsewhere = [c for c in unique if c.filename == basename(name)]
    if elsewhere:
        return Resolution(ref, AMBIGUOUS, None, None, tuple(elsewhere))
    return Resolution(ref, MISSING)


def choose(resolution: Resolution, candidate: Candidate) -> Resolution:
    """The user's answer to an ambiguous or missing reference."""
    return replace(resolution, status=RESOLVED, candidate=candidate, how=BY_CHOICE)


def skip(resolution: Resolution) -> Resolution:
    """The user's answer to a missing (or unusable) reference: leave it out."""
    return replace(resolution, status=SKIPPED, candidate=None, how=BY_CHOICE)
