"""`semiseg predict`: new scans segmented with their read-outs (cardiac EF per patient,
head circumference); resuming, bad scans, naming conventions."""

import csv
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from semiseg.engine.loop import train
from semiseg.errors import DataError
from semiseg.metrics.clinical import CardiacSpec, patient_readouts
from semiseg.predict import predict_folder
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


def new_scans(tiny_dataset: Path, folder: Path) -> Path:
    folder.mkdir()
    for frame in ("frame01", "frame02"):  # one patient, both phases
        src = next((tiny_dataset / "imagesTr").glob(f"*_{frame}_0000.nii.gz"))
        shutil.copyfile(src, folder / f"newpatient_{frame}_0000.nii.gz")
    return folder


def test_unreadable_scans_are_skipped_and_reported_after_the_rest(
        tiny_supervised_run: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    """A corrupt or NaN scan in a folder costs only itself: the others are predicted,
    their read-outs written, each bad one warned about, and the call then fails naming it."""
    scans = new_scans(tiny_dataset, tmp_path / "scans")
    (scans / "broken_frame01_0000.nii.gz").write_bytes(b"not a NIfTI file")
    good = nib.load(next(scans.glob("newpatient_frame01*")))
    image = np.asarray(good.dataobj).copy()
    image[0, 0, 0] = np.nan
    nib.save(nib.Nifti1Image(image, good.affine), str(scans / "nan_frame01_0000.nii.gz"))
    warned: list[str] = []
    with pytest.raises(DataError, match=r"^2 of 4 scans have no prediction \(the other 2, "
                                        r"with their read-outs, .*first: .*broken_frame01"):
        predict_folder(tiny_supervised_run, scans, tmp_path / "out", warn=warned.append)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.nii.gz")) == [
        "newpatient_frame01.nii.gz", "newpatient_frame02.nii.gz"]
    assert (tmp_path / "out" / "readouts.csv").is_file()
    assert [w.split(":")[0] for w in warned] == ["skipped"] * 2
    assert "NaN" in warned[1]
    with pytest.raises(DataError, match="a file; the input is a folder of scans"):
        predict_folder(tiny_supervised_run, scans / "nan_frame01_0000.nii.gz", tmp_path / "x")


def test_scans_named_without_the_channel_suffix(tiny_supervised_run: Path, tiny_dataset: Path,
                                                tmp_path: Path) -> None:
    """A one-channel network reads <case>.nii.gz as exported; outputs keep the names."""
    scans = new_scans(tiny_dataset, tmp_path / "scans")
    plain = tmp_path / "export"
    plain.mkdir()
    for src in scans.iterdir():
        shutil.copyfile(src, plain / src.name.replace("_0000", ""))
    (plain / "notes.txt").write_text("not an image")
    nnunet, _ = predict_folder(tiny_supervised_run, scans, tmp_path / "a")
    named, table = predict_folder(tiny_supervised_run, plain, tmp_path / "b")
    assert [p.name for p in named] == [p.name for p in nnunet] == [
        "newpatient_frame01.nii.gz", "newpatient_frame02.nii.gz"]
    for a, b in zip(nnunet, named, strict=True):
        assert np.array_equal(np.asarray(nib.load(a).dataobj), np.asarray(nib.load(b).dataobj))
    assert table is not None
    # one suffixed name among them: the folder is taken for nnU-Net naming, and said so
    shutil.copyfile(next(scans.iterdir()), plain / "other_0001.nii.gz")
    with pytest.raises(DataError, match="lacks the _XXXX channel suffix"):
        predict_folder(tiny_supervised_run, plain, tmp_path / "c")
    (plain / "other_0001.nii.gz").unlink()
    before = {p.name: p.read_bytes() for p in plain.iterdir()}
    with pytest.raises(DataError, match="the output folder is the input folder"):
        predict_folder(tiny_supervised_run, plain, plain)  # would overwrite the scans
    assert {p.name: p.read_bytes() for p in plain.iterdir()} == before
