"""A run folder away from its data: predict without it, evaluate on other data or cases."""

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from semiseg.api import evaluate_run
from semiseg.data.profile import PROFILE_FILE, read_profile
from semiseg.errors import DataError, SemisegError
from semiseg.predict import predict_folder
from tests.test_predict import new_scans


def _moved_run(run: Path, dest: Path, root: str) -> Path:
    """The files a user would ship (no split, no logs), with ``data.root`` pointing away."""
    (dest / "checkpoints").mkdir(parents=True)
    shutil.copyfile(run / "checkpoints" / "best.pt", dest / "checkpoints" / "best.pt")
    shutil.copyfile(run / PROFILE_FILE, dest / PROFILE_FILE)
    config = (run / "config.yaml").read_text()
    old_root = next(line for line in config.splitlines() if line.startswith("  root: "))
    (dest / "config.yaml").write_text(config.replace(old_root, f"  root: {root}"))
    return dest


def test_training_writes_the_data_profile(tiny_supervised_run: Path, tiny_dataset: Path) -> None:
    profile = read_profile(tiny_supervised_run)
    assert profile is not None
    assert profile.dataset_json == json.loads((tiny_dataset / "dataset.json").read_text())
    assert profile.orientation == "RAS" and profile.voxel_size is None  # a 2D network
    assert not profile.head_reference
    assert profile.dataset(tiny_supervised_run).class_names == ["background", "RV", "Myo", "LV"]


def test_a_run_folder_predicts_without_its_data_set(tiny_supervised_run: Path,
                                                    tiny_dataset: Path, tmp_path: Path) -> None:
    scans = new_scans(tiny_dataset, tmp_path / "scans")
    here, _ = predict_folder(tiny_supervised_run, scans, tmp_path / "here")
    moved = _moved_run(tiny_supervised_run, tmp_path / "shipped", str(tmp_path / "nowhere"))
    away, table = predict_folder(moved, scans, tmp_path / "away", previews=True)
    assert sorted(p.name for p in (tmp_path / "away" / "previews").iterdir()) == [
        "newpatient_frame01.png", "newpatient_frame02.png"]
    page = (tmp_path / "away" / "report.html").read_text()
    assert page.count('src="previews/newpatient_frame0') == 2 and "<td>newpatient</td>" in page
    for a, b in zip(here, away, strict=True):
        assert np.array_equal(np.asarray(nib.load(a).dataobj), np.asarray(nib.load(b).dataobj))
    assert table is not None and "newpatient" in table.read_text()  # cardiac read-outs
    with pytest.raises(DataError, match="give --data ROOT"):
        evaluate_run(moved)  # scoring needs the labelled cases
    (moved / PROFILE_FILE).unlink()
    with pytest.raises(DataError, match=r"trained before runs kept a data_profile\.json"):
        predict_folder(moved, scans, tmp_path / "old")


def test_evaluate_on_another_data_set_or_other_cases(tiny_supervised_run: Path,
                                                     tiny_dataset: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_dataset, tmp_path / "hospital"))
    for case in (copy / "imagesTr").glob("phantom00[1-4]_*"):  # other patients, same ids
        case.rename(case.with_name(case.name.replace("phantom", "external")))
        label = copy / "labelsTr" / case.name.replace("_0000", "")
        label.rename(label.with_name(label.name.replace("phantom", "external")))
    meta = json.loads((copy / "dataset.json").read_text())
    (copy / "dataset.json").write_text(json.dumps({**meta, "numTraining": 12}))
    summary, out = evaluate_run(tiny_supervised_run, cases="all", data=str(copy))
    assert out == tiny_supervised_run / "eval-hospital-all-best"
    # external001-004 are new patients; phantom005/006, which the run trained on, are left out
    scored = sorted(p.name[:-7] for p in (out / "predictions").glob("*.nii.gz"))
    assert scored == [f"external00{i}_frame0{f}" for i in range(1, 5) for f in (1, 2)]
    assert summary["mean"]["dice"]["n"] == 8
    split = json.loads((tiny_supervised_run / "split.json").read_text())
    assert not set(scored) & set(split["labeled"] + split["unlabeled"])
    with pytest.raises(SemisegError, match="its split has no test cases"):
        evaluate_run(tiny_supervised_run, cases="test")
    meta = json.loads((copy / "dataset.json").read_text())
    meta["labels"] = {"background": 0, "RV": 1, "Myo": 2, "LeftVentricle": 3}
    (copy / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"differ from those .* was trained with"):
        evaluate_run(tiny_supervised_run, cases="all", data=str(copy))
