from pathlib import Path

import numpy as np

from semiseg.data.nnunet import open_dataset
from semiseg.data.splits import load_split
from semiseg.data.synthetic import generate


def test_phantom_is_deterministic_and_realistic(tiny_dataset: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", num_patients=6, seed=3, shape=(32, 32, 4),
                     val_patients=2)
    a, b = open_dataset(tiny_dataset), open_dataset(again)
    case_a, case_b = a.load_case(a.training_cases[0]), b.load_case(b.training_cases[0])
    assert np.array_equal(case_a.image, case_b.image)
    labels = {int(v) for c in a.training_cases for v in np.unique(a.load_case(c).label)}
    assert labels == {0, 1, 2, 3}


def test_es_lv_is_smaller_than_ed(tiny_dataset: Path) -> None:
    ds = open_dataset(tiny_dataset)
    for patient in ("phantom001", "phantom004"):
        ed = ds.load_case(f"{patient}_frame01").label
        es = ds.load_case(f"{patient}_frame02").label
        assert (es == 3).sum() < (ed == 3).sum()


def test_split_keeps_frames_together(tiny_dataset: Path) -> None:
    split = load_split(tiny_dataset / "splits.json", num_labeled=1)
    assert len(split.labeled) == 2 and len(split.val) == 4
    assert split.labeled[0].split("_")[0] == split.labeled[1].split("_")[0]
