import json
from pathlib import Path

import pytest

from semiseg.data.splits import (
    STEM_GROUP_BY,
    Split,
    add_unlabeled_scans,
    load_split,
    make_split,
    patient_of,
    save_split,
    split_file,
    ungrouped_patients_hint,
    validate_split,
)
from semiseg.errors import DataError
from tests.conftest import acdc_or_skip

CASES = [f"p{i:02d}_frame0{f}" for i in range(10) for f in (1, 2)]


def test_generated_split_keeps_patients_together_and_is_seeded() -> None:
    a = make_split(CASES, num_labeled=2, seed=0, group_by=r"^(p\d+)_")
    b = make_split(CASES, num_labeled=2, seed=0, group_by=r"^(p\d+)_")
    c = make_split(CASES, num_labeled=2, seed=1, group_by=r"^(p\d+)_")
    assert a == b and a != c
    assert len(a.labeled) == 4 and len(a.val) == 4 and len(a.unlabeled) == 12
    validate_split(a, CASES, "test")
    for part in (a.labeled, a.unlabeled, a.val):
        patients = {patient_of(x, r"^(p\d+)_") for x in part}
        assert all(f"{p}_frame01" in part and f"{p}_frame02" in part for p in patients)


@pytest.mark.parametrize("cases, warned", [
    (CASES, True),  # two frames per patient
    ([f"{i:03d}_HC" for i in range(20)] + ["017_2HC"], True),  # HC18: a second image
    ([f"case_{i:03d}" for i in range(20)], False),  # one prefix for every case
    ([f"site{s}_{i:03d}" for s in "ABC" for i in range(10)], False),  # sites, not patients
    ([f"BraTS_2021_{i:05d}" for i in range(20)], False),
    ([f"p{i:02d}" for i in range(20)], False),  # no "_" at all
])
def test_ungrouped_patients_are_flagged_only_when_ids_look_like_several_scans_each(
        cases: list[str], warned: bool) -> None:
    hint = ungrouped_patients_hint(cases)
    assert (hint is not None) == warned
    if warned:
        assert STEM_GROUP_BY in hint
        # the suggested group_by does group them: fewer patients than cases
        assert len({patient_of(c, STEM_GROUP_BY) for c in cases}) < len(cases)
        # nothing to warn about once something groups them: a group_by or a split file
        assert ungrouped_patients_hint(cases, group_by=STEM_GROUP_BY) is None
        assert ungrouped_patients_hint(cases, split_source="splits.json") is None


def test_split_file_is_the_configured_one_else_the_data_sets_own(tmp_path: Path) -> None:
    assert split_file(tmp_path) is None
    (tmp_path / "splits.json").write_text("{}")
    assert split_file(tmp_path) == str(tmp_path / "splits.json")
    assert split_file(tmp_path, "mine.json") == "mine.json"


def test_labeled_percent() -> None:
    split = make_split(CASES, num_labeled=1, labeled_percent=25, group_by=r"^(p\d+)_")
    assert len(split.labeled) == 4  # round(0.25 * 8 train patients) = 2 patients


def test_split_from_patient_order(tmp_path: Path) -> None:
    spec = {"train": CASES[:16], "val": CASES[16:],
            "labeled_patients_order": [f"p{i:02d}" for i in (5, 2, 7, 0, 1, 3, 4, 6)]}
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(spec))
    split = load_split(path, num_labeled=2)
    assert split.labeled == ["p02_frame01", "p02_frame02", "p05_frame01", "p05_frame02"]
    assert len(split.unlabeled) == 12 and split.val == CASES[16:]
    validate_split(split, CASES, str(path))


@pytest.mark.parametrize("folds", [2, 3, 10])
def test_cross_validation_folds_validate_every_patient_once(folds: int) -> None:
    group = r"^(p\d+)_"
    splits = [make_split(CASES, num_labeled=1, seed=4, group_by=group, folds=folds, fold=f)
              for f in range(folds)]
    val = [c for s in splits for c in s.val]
    assert sorted(val) == sorted(CASES)  # each of the 10 patients held out exactly once
    sizes = [len(s.val) // 2 for s in splits]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 10
    for split in splits:
        validate_split(split, CASES, "cv")
        assert len(split.labeled) == 2 and not set(split.labeled) & set(split.val)
        assert len(split.labeled) + len(split.unlabeled) + len(split.val) == 20
    assert splits[0] == make_split(CASES, 1, seed=4, group_by=group, folds=folds, fold=0)
    other_seed = [make_split(CASES, 1, seed=5, group_by=group, folds=folds, fold=f).val
                  for f in range(folds)]
    assert other_seed != [s.val for s in splits]


def test_cross_validation_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot make 11 cross-validation folds of 10 patients"):
        make_split(CASES, 1, group_by=r"^(p\d+)_", folds=11, fold=0)
    saved = tmp_path / "saved.json"
    save_split(make_split(CASES, 1, group_by=r"^(p\d+)_"), saved)
    with pytest.raises(DataError, match="saved split fixes its val cases"):
        load_split(saved, folds=2, fold=0)


def test_cross_validation_over_a_patient_order(tmp_path: Path) -> None:
    """Train and val patients are pooled into folds; test stays out; labeled follow the order."""
    test = ["p10_frame01", "p10_frame02"]
    order = [f"p{i:02d}" for i in (5, 2, 7, 0, 1, 3, 4, 6)]
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"train": CASES[:16], "val": CASES[16:], "test": test,
                                "labeled_patients_order": order}))
    splits = [load_split(path, num_labeled=2, folds=5, fold=f, seed=1) for f in range(5)]
    assert sorted(c for s in splits for c in s.val) == sorted(CASES)
    for split in splits:
        assert split.test == test
        validate_split(split, CASES + test, str(path))
        held = {c.split("_")[0] for c in split.val}
        first_two = [p for p in order if p not in held][:2]
        assert sorted(split.labeled) == sorted(f"{p}_frame0{f}" for p in first_two for f in (1, 2))
        assert split.patients["p10_frame01"] == "p10" and split.patients["p08_frame02"] == "p08"


def test_scans_without_masks_join_unlabeled_except_held_out_patients() -> None:
    split = make_split(CASES, num_labeled=2, group_by=r"^(p\d+)_")
    val_patient = patient_of(split.val[0], r"^(p\d+)_")
    scans = ["p99_frame01", f"{val_patient}_frame07", split.unlabeled[0]]
    before = list(split.unlabeled)
    left_out = add_unlabeled_scans(split, scans, r"^(p\d+)_")
    assert left_out == [f"{val_patient}_frame07"]  # would leak the val patient into training
    assert split.unlabeled == [*before, "p99_frame01"] and split.patients["p99_frame01"] == "p99"
    validate_split(split, CASES, "test", without_label=["p99_frame01"])
    labeled_patient = patient_of(split.labeled[0], r"^(p\d+)_")
    add_unlabeled_scans(split, [f"{labeled_patient}_frame09"], r"^(p\d+)_")
    scans = ["p99_frame01", f"{labeled_patient}_frame09"]
    validate_split(split, CASES, "test", without_label=scans)  # beside its labeled cases
    split.unlabeled.append(f"{val_patient}_frame07")
    split.patients[f"{val_patient}_frame07"] = val_patient
    with pytest.raises(DataError, match="frame07' belongs to a val patient"):
        validate_split(split, CASES, "test", without_label=[*scans, f"{val_patient}_frame07"])
    split.unlabeled.remove(f"{val_patient}_frame07")
    split.labeled.append(split.unlabeled.pop(split.unlabeled.index("p99_frame01")))
    with pytest.raises(DataError, match="labeled case 'p99_frame01' has no label"):
        validate_split(split, CASES, "test", without_label=["p99_frame01"])


def test_saved_split_round_trips(tmp_path: Path) -> None:
    split = make_split(CASES, num_labeled=2, group_by=r"^(p\d+)_")
    save_split(split, tmp_path / "s.json")
    assert load_split(tmp_path / "s.json") == split


@pytest.mark.parametrize("bad, message", [
    (Split(["p00_frame01"], ["nope"], ["p01_frame01"]), "'nope' is not in the data set"),
    (Split(["p00_frame01"], ["p00_frame01"], ["p01_frame01"]), "in both"),
    (Split([], ["p00_frame01"], ["p01_frame01"]), "no labeled cases"),
    (Split(["p00_frame01"], [], []), "no val cases"),
    (Split(["p00_frame01"], [], ["p00_frame02"], patients={"p00_frame01": "p00",
                                                           "p00_frame02": "p00"}),
     "patient 'p00' has cases in both"),
    (Split(["../../etc/passwd"], [], ["p00_frame02"]), "not a plain name"),
])
def test_invalid_splits(bad: Split, message: str) -> None:
    with pytest.raises(DataError, match=message):
        validate_split(bad, CASES, "split.json")


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "JSON object"), ("{bad", "not valid JSON"), ('{"foo": 1}', "unknown split format"),
    ('{"labeled": "x", "unlabeled": [], "val": []}', "must be a list"),
])
def test_bad_split_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_split(path)


def test_missing_split_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_split(tmp_path / "none.json")


@pytest.mark.acdc
def test_acdc_shared_split_is_honoured() -> None:
    root = acdc_or_skip()
    spec = json.loads((root / "splits.json").read_text())
    split = load_split(root / "splits.json", num_labeled=7)
    first7 = spec["labeled_patients_order"][:7]
    assert sorted(split.labeled) == sorted(f"{p}_frame0{f}" for p in first7 for f in (1, 2))
    assert len(split.labeled) + len(split.unlabeled) == 140 and len(split.val) == 20
    assert len(load_split(root / "splits.json", num_labeled=3).labeled) == 6
