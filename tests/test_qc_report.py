import shutil
from pathlib import Path

import pytest

from semiseg.cli import main
from semiseg.engine.loop import train
from semiseg.errors import DataError, SemisegError
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


def test_qc_of_new_scans_at_inference(qc_run: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    """Scans outside the data set, no labels: predicted quality, read-outs and flags."""
    scans = tmp_path / "scans"
    scans.mkdir()
    for src in sorted((tiny_dataset / "imagesTr").glob("phantom001_*")):
        shutil.copyfile(src, scans / src.name.replace("phantom001", "newpatient"))
    own = quality_control(qc_run, images=scans)
    assert own["out"] == qc_run / "qc-scans"
    assert [r["case"] for r in own["cases"]] == ["newpatient_frame01", "newpatient_frame02"]
    assert not any("true_dice" in r for r in own["cases"]) and "spearman" not in own["summary"]
    (patient,) = own["patients"]
    assert patient["patient"] == "newpatient" and "LV_EF_ref" not in patient
    assert "clinical" not in own["summary"]  # no truth to agree with
    # predictions of another model for one of them: only that one is judged
    preds = tmp_path / "preds"
    preds.mkdir()
    shutil.copyfile(qc_run / "eval" / "predictions" / "phantom001_frame01.nii.gz",
                    preds / "newpatient_frame01.nii.gz")
    (preds / "previews").mkdir()
    (preds / "previews" / "newpatient_frame01.png").write_bytes(b"png")
    given = quality_control(qc_run, pred=preds, images=scans, out=tmp_path / "given")
    assert [r["case"] for r in given["cases"]] == ["newpatient_frame01"]
    page = (tmp_path / "given" / "qc_report.html").read_text()
    assert 'src="../preds/previews/newpatient_frame01.png"' in page
    assert "<td>newpatient_frame01</td>" in (qc_run / "qc-scans" / "qc_report.html").read_text()
    assert given["cases"][0]["predicted_quality"] == pytest.approx(
        own["cases"][0]["predicted_quality"])  # the run's own segmentation of the same scan
    with pytest.raises(DataError, match="no prediction"):
        quality_control(qc_run, pred=tmp_path, images=scans)


def test_qc_command(qc_run: Path, tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    code = main(["qc", str(qc_run), "-o", str(tmp_path / "val")])
    out = capsys.readouterr().out
    assert code == 0 and "Spearman rank correlation" in out and "qc_patients.csv" in out
    code = main(["qc", str(qc_run), "-i", str(tmp_path / "missing")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"error: {tmp_path / 'missing'}: input folder does not exist"


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
