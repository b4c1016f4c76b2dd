from pathlib import Path

import pytest

from semiseg.engine.loop import train
from semiseg.errors import SemisegError
from semiseg.qc_report import plausibility, quality_control
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def qc_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("qc") / "run"
    train(tiny_config(tiny_dataset, "method.name=semiqc", "train.iterations=8"), run)
    return run


def test_qc_tables_on_the_run_and_on_a_prediction_folder(qc_run: Path, tmp_path: Path) -> None:
    result = quality_control(qc_run, out=tmp_path / "own")
    rows, patients, summary = result["cases"], result["patients"], result["summary"]
    assert len(rows) == 4 and all(0 <= r["predicted_quality"] <= 1 for r in rows)
    assert all("true_dice" in r for r in rows) and summary["spearman"]["n"] == 4
    assert len(patients) == 2 and {"LV_EF", "LV_EF_ref", "implausible"} <= set(patients[0])
    assert summary["threshold"] == 0.8
    assert (tmp_path / "own" / "qc_cases.csv").is_file()
    assert (tmp_path / "own" / "qc_patients.csv").is_file()
    # the same cases from a folder: the run's own predictions
    preds = qc_run / "eval" / "predictions"
    again = quality_control(qc_run, pred=preds, out=tmp_path / "folder", threshold=1.0)
    assert all(r["suspect"] for r in again["cases"])  # nothing reaches a predicted Dice of 1
    assert [r["case"] for r in again["cases"]] == [r["case"] for r in rows]


def test_qc_needs_a_semiqc_run(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "sup"
    train(tiny_config(tiny_dataset, "method.name=supervised", "train.iterations=2",
                      "train.val_every=2", "train.checkpoint_every=2"), run)
    with pytest.raises(SemisegError, match=r"method\.name=semiqc"):
        quality_control(run)


def test_plausibility_rules() -> None:
    good = {"LV_EF": 60.0, "RV_EF": 50.0, "Myo_mass_ED": 100.0, "Myo_mass_ES": 104.0}
    assert plausibility(good) == []
    bad = dict(good, LV_EF=95.0, Myo_mass_ES=150.0)
    problems = plausibility(bad)
    assert len(problems) == 2 and "LV_EF" in problems[0]
