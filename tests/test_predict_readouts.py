"""`semiseg predict` measures what it segments: cardiac EF per patient, head circumference."""

import csv
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from semiseg.api import predict_folder
from semiseg.engine.loop import train
from semiseg.metrics.clinical import CardiacSpec, patient_readouts
from tests.conftest import tiny_config


def test_cardiac_predictions_get_per_patient_readouts(tiny_supervised_run: Path,
                                                      tiny_dataset: Path, tmp_path: Path) -> None:
    inp = tmp_path / "new"
    inp.mkdir()
    for frame in ("frame01", "frame02"):  # one patient, both phases, under new names
        src = next((tiny_dataset / "imagesTr").glob(f"*_{frame}_0000.nii.gz"))
        shutil.copyfile(src, inp / f"newpatient_{frame}_0000.nii.gz")
    written, table = predict_folder(tiny_supervised_run, inp, tmp_path / "out")
    assert len(written) == 2 and table == tmp_path / "out" / "readouts.csv"
    (row,) = list(csv.DictReader(table.open()))
    assert row["patient"] == "newpatient" and row["units"] == "mL"
    preds = [np.asarray(nib.load(tmp_path / "out" / f"newpatient_{f}.nii.gz").dataobj)
             for f in ("frame01", "frame02")]
    spacing = nib.load(written[0]).header.get_zooms()
    labels = {"background": 0, "RV": 1, "Myo": 2, "LV": 3}
    expected = patient_readouts(*preds, labels, CardiacSpec(), spacing)
    assert float(row["LV_EDV"]) == pytest.approx(expected["LV_EDV"])
    assert float(row["Myo_mass_ED"]) == pytest.approx(expected["Myo_mass_ED"])


def test_head_predictions_get_circumferences_in_mm(tiny_heads: Path, tmp_path: Path) -> None:
    run = tmp_path / "heads"
    train(tiny_config(tiny_heads, "method.name=supervised", "train.iterations=2",
                      "train.val_every=2", "data.patch_size=[32, 48]", "data.num_labeled=0",
                      "data.labeled_percent=50", "model.channels=[4, 8]",
                      "model.dropout=[0, 0]"), run)
    inp = tmp_path / "new"
    inp.mkdir()
    src = sorted((tiny_heads / "imagesTr").iterdir())[0]
    shutil.copyfile(src, inp / "scan7_0000.png")
    table = tmp_path / "sizes.csv"
    table.write_text("case,pixel_size_mm\nscan7,0.25\n")
    _, with_size = predict_folder(run, inp, tmp_path / "out", case_table=str(table))
    _, without = predict_folder(run, inp, tmp_path / "out2")
    (mm,) = list(csv.DictReader(with_size.open()))
    (px,) = list(csv.DictReader(without.open()))
    assert (mm["case"], mm["units"], px["units"]) == ("scan7", "mm", "pixel")


def test_head_readout_of_a_known_ellipse(tiny_heads: Path) -> None:
    from semiseg.data.nnunet import open_dataset
    from semiseg.evaluation import ReadoutCollector
    from semiseg.metrics.ellipse import Ellipse, draw_ellipse, ellipse_perimeter

    dataset = open_dataset(tiny_heads)
    case = dataset.load_case(dataset.training_cases[0], with_label=False)
    mask = draw_ellipse(case.image.shape[1:], Ellipse(cx=24, cy=16, a=14, b=10, theta=0.3))
    collector = ReadoutCollector(dataset)
    collector.add(case, mask.astype(np.uint8))
    (row,) = collector.rows()
    pixel = case.info["pixel_size_mm"]
    assert row["units"] == "mm"
    assert row["hc"] == pytest.approx(ellipse_perimeter(14, 10) * pixel, rel=0.03)


def test_skip_existing_reads_back_and_names_a_broken_file(tiny_supervised_run: Path,
                                                          tiny_dataset: Path,
                                                          tmp_path: Path) -> None:
    inp = tmp_path / "new"
    inp.mkdir()
    for frame in ("frame01", "frame02"):
        src = next((tiny_dataset / "imagesTr").glob(f"*_{frame}_0000.nii.gz"))
        shutil.copyfile(src, inp / f"p_{frame}_0000.nii.gz")
    out = tmp_path / "out"
    written, _ = predict_folder(tiny_supervised_run, inp, out)
    done = nib.load(written[0])
    empty = np.zeros(done.shape, np.uint8)
    nib.save(nib.Nifti1Image(empty, done.affine, done.header), written[0])  # "earlier" result
    predict_folder(tiny_supervised_run, inp, out, skip_existing=True)
    assert not np.asarray(nib.load(written[0]).dataobj).any()  # read back, not redone
    (row,) = list(csv.DictReader((out / "readouts.csv").open()))
    assert float(row["LV_EDV"]) == 0.0  # the read-outs come from the file kept
    predict_folder(tiny_supervised_run, inp, out)  # without the flag: predicted again
    assert np.array_equal(np.asarray(nib.load(written[0]).dataobj),
                          np.asarray(done.dataobj))
    written[1].write_bytes(b"truncated")  # a damaged earlier output is predicted again
    warned: list[str] = []
    predict_folder(tiny_supervised_run, inp, out, skip_existing=True, warn=warned.append)
    assert warned == [f"predicting again: {written[1]}: cannot read nifti file (File "
                      f"{written[1]} is not a gzip file)"]
    assert np.array_equal(np.asarray(nib.load(written[0]).dataobj),
                          np.asarray(done.dataobj))
    assert nib.load(written[1]).shape == done.shape
