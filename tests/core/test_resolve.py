"""Model resolution, rule by rule (pure: candidates in, a resolution out)."""

from __future__ import annotations

import pytest

from git_comfy.core import resolve
from git_comfy.core.models import ModelRef
from git_comfy.core.resolve import Candidate


def ref(name: str, folder: str | None = "checkpoints", *, sha256: str | None = None,
        invalid: str | None = None) -> ModelRef:
    return ModelRef(name=name, normalised=name.replace("\\", "/"), folder=folder,
                    node_ids=("4",), required=True, source="loader", sha256=sha256,
                    invalid=invalid)


def file(relpath: str, folder: str = "checkpoints", *, root: str = "/m", size: int = 10,
         quick: str | None = None, sha256: str | None = None) -> Candidate:
    return Candidate(path=f"{root}/{folder or 'any'}/{relpath}", folder=folder, relpath=relpath,
                     size=size, quick_hash=quick or f"q-{root}-{folder}-{relpath}",
                     sha256=sha256)


def test_exact_path_in_the_nodes_folder_wins_over_same_path_elsewhere() -> None:
    wanted = file("sd15/a.safetensors")
    result = resolve.resolve(ref("sd15/a.safetensors"),
                             [file("sd15/a.safetensors", "loras"), wanted])
    assert (result.status, result.candidate, result.how) == (
        resolve.RESOLVED, wanted, resolve.BY_FOLDER_PATH)


def test_windows_separators_match_listed_paths() -> None:
    wanted = file("sd15/a.safetensors")
    result = resolve.resolve(ref("sd15\\a.safetensors"), [wanted])
    assert result.candidate == wanted and result.how == resolve.BY_FOLDER_PATH


def test_exact_path_in_any_folder_when_the_nodes_folder_is_unknown() -> None:
    wanted = file("wan/model.safetensors", "diffusion_models")
    result = resolve.resolve(ref("wan/model.safetensors", None),
                             [wanted, file("model.safetensors", "diffusion_models")])
    assert (result.candidate, result.how) == (wanted, resolve.BY_FOLDER_PATH)


def test_a_root_of_unknown_folder_can_hold_the_model() -> None:
    wanted = file("sd15/a.safetensors", "")
    result = resolve.resolve(ref("sd15/a.safetensors"), [wanted])
    assert (result.candidate, result.how) == (wanted, resolve.BY_FOLDER_PATH)


def test_a_file_only_in_another_folder_is_offered_not_taken() -> None:
    """A LoRA file of that name cannot be what a checkpoint loader loads: the user decides."""
    lora = file("model.safetensors", "loras")
    result = resolve.resolve(ref("model.safetensors"), [lora])
    assert (result.status, result.candidate, result.candidates) == (
        resolve.AMBIGUOUS, None, (lora,))


def test_unique_file_name_anywhere() -> None:
    wanted = file("moved/deeper/a.safetensors")
    result = resolve.resolve(ref("sd15/a.safetensors"), [wanted])
    assert (result.status, result.candidate, result.how) == (
        resolve.RESOLVED, wanted, resolve.BY_FILENAME)


def test_same_name_in_two_places_is_ambiguous_with_both_candidates() -> None:
    one, two = file("v1/model.safetensors", size=1), file("v2/model.safetensors", size=2)
    result = resolve.resolve(ref("model.safetensors"), [one, two])
    assert result.status == resolve.AMBIGUOUS
    assert result.candidate is None and set(result.candidates) == {one, two}


def test_the_nodes_folder_settles_a_name_found_in_several_folders() -> None:
    mine, other = file("x/model.safetensors"), file("model.safetensors", "loras")
    result = resolve.resolve(ref("model.safetensors"), [mine, other])
    assert (result.status, result.candidate, result.how) == (
        resolve.RESOLVED, mine, resolve.BY_FILENAME)


def test_the_nodes_folder_beats_an_unknown_folder() -> None:
    mine, loose = file("x/model.safetensors", size=1), file("model.safetensors", "", size=2)
    result = resolve.resolve(ref("model.safetensors"), [mine, loose])
    assert (result.status, result.candidate, result.how) == (
        resolve.RESOLVED, mine, resolve.BY_FILENAME)


def test_two_of_that_name_in_the_nodes_folder_are_ambiguous_even_with_a_loose_one() -> None:
    one, two = file("a/model.safetensors", size=1), file("b/model.safetensors", size=2)
    result = resolve.resolve(ref("model.safetensors"), [one, two, file("model.safetensors", "")])
    assert result.status == resolve.AMBIGUOUS and set(result.candidates) == {one, two}


def test_copies_of_one_file_are_not_an_ambiguity() -> None:
    one = file("v1/model.safetensors", quick="same", size=5)
    two = file("v2/model.safetensors", quick="same", size=5)
    result = resolve.resolve(ref("model.safetensors"), [one, two])
    assert result.status == resolve.RESOLVED and result.candidate in (one, two)


def test_a_stated_sha256_beats_every_path_rule() -> None:
    by_path = file("a.safetensors", sha256="1" * 64)
    by_hash = file("renamed.safetensors", "loras", sha256="2" * 64)
    result = resolve.resolve(ref("a.safetensors", sha256="2" * 64), [by_path, by_hash])
    assert (result.candidate, result.how) == (by_hash, resolve.BY_HASH)


def test_a_stated_sha256_in_upper_case_still_matches() -> None:
    wanted = file("a.safetensors", sha256="ab" * 32)
    result = resolve.resolve(ref("zzz.safetensors", sha256="AB" * 32), [wanted])
    assert result.how == resolve.BY_HASH


def test_a_sha256_no_file_has_falls_back_to_the_path_rules() -> None:
    wanted = file("a.safetensors", sha256="1" * 64)
    result = resolve.resolve(ref("a.safetensors", sha256="2" * 64), [wanted])
    assert (result.candidate, result.how) == (wanted, resolve.BY_FOLDER_PATH)


def test_nothing_is_missing() -> None:
    result = resolve.resolve(ref("a.safetensors"), [file("b.safetensors")])
    assert (result.status, result.candidate, result.candidates) == (resolve.MISSING, None, ())


@pytest.mark.parametrize("name", ["../../../.bashrc", "/etc/passwd"])
def test_an_invalid_name_is_never_matched(name: str) -> None:
    lookalike = file(".bashrc")
    result = resolve.resolve(ref(name, invalid="leaves the folder"), [lookalike])
    assert (result.status, result.candidate) == (resolve.INVALID, None)


def test_duplicate_candidates_count_once() -> None:
    only = file("a.safetensors")
    result = resolve.resolve(ref("x/a.safetensors"), [only, only])
    assert result.status == resolve.RESOLVED and result.candidates == (only,)


def test_choose_records_the_users_answer() -> None:
    one, two = file("v1/m.safetensors", size=1), file("v2/m.safetensors", size=2)
    asked = resolve.resolve(ref("m.safetensors"), [one, two])
    answered = resolve.choose(asked, two)
    assert (answered.status, answered.candidate, answered.how) == (
        resolve.RESOLVED, two, resolve.BY_CHOICE)
    assert answered.candidates == asked.candidates
