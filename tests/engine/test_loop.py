import json
from pathlib import Path

import numpy as np
import pytest
import torch

from semiseg.engine.checkpoint import load_checkpoint
from semiseg.engine.loop import NonFiniteLossError, read_run_config, train
from semiseg.engine.trainer import Trainer
from semiseg.methods import list_methods
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def finished_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "mt"
    train(tiny_config(tiny_dataset), run)
    return run


def test_run_folder_has_everything(finished_run: Path) -> None:
    for name in ("config.yaml", "split.json", "train.csv", "val.csv", "result.json",
                 "checkpoints/last.pt", "checkpoints/best.pt", "eval/val_metrics.csv",
                 "eval/val_metrics.json", "eval/val_summary.json", "eval/overview.png"):
        assert (finished_run / name).is_file(), name
    assert any((finished_run / "tensorboard").iterdir())
    result = json.loads((finished_run / "result.json").read_text())
    assert 0 <= result["val"]["dice"]["mean"] <= 1 and result["iterations"] == 6
    preds = sorted((finished_run / "eval" / "predictions").iterdir())
    assert len(preds) == 4  # 2 val patients x 2 frames
    val_rows = (finished_run / "val.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in val_rows[1:]] == ["3", "6"]
    last = val_rows[-1].split(",")
    dice_column = val_rows[0].split(",").index("dice_mean")
    assert result["val_dice_last"] == {"step": 6, "dice_mean": float(last[dice_column])}


def test_train_log_tracks_peak_memory(finished_run: Path) -> None:
    # the running peak is logged at every log step, so a run's peak can be dated; it never
    # falls and the final evaluation can only raise it further
    import csv

    with (finished_run / "train.csv").open() as f:
        peaks = [float(r["peak_memory_gib"]) for r in csv.DictReader(f)]
    result = json.loads((finished_run / "result.json").read_text())
    assert peaks and peaks[0] > 0 and peaks == sorted(peaks)
    assert peaks[-1] <= result["peak_memory_gib"]


def test_cardiac_runs_report_clinical_readouts(finished_run: Path, tiny_dataset: Path) -> None:
    # the phantom is cardiac (LV/RV/Myo, frame01 = ED, frame02 = ES): every run reports the
    # EF error of its val patients, computed from its own predictions and the truth
    import csv

    import nibabel as nib

    from semiseg.metrics.clinical import CardiacSpec, patient_readouts

    result = json.loads((finished_run / "result.json").read_text())
    lv_ef = result["clinical"]["LV_EF"]
    assert lv_ef["n"] == 2 and lv_ef["units"] == "pp"
    rows = list(csv.DictReader((finished_run / "eval" / "val_clinical.csv").open()))
    assert len(rows) == 2
    assert (finished_run / "eval" / "val_clinical.png").is_file()  # agreement plot
    assert result["paths"]["agreement"] == str(finished_run / "eval" / "val_clinical.png")
    labels = json.loads((tiny_dataset / "dataset.json").read_text())["labels"]
    errors = []
    for row in rows:
        def read(folder: Path, case: str) -> np.ndarray:
            return np.asarray(nib.load(folder / f"{case}.nii.gz").dataobj)
        pred = [read(finished_run / "eval" / "predictions", row[k]) for k in ("ed", "es")]
        truth = [read(tiny_dataset / "labelsTr", row[k]) for k in ("ed", "es")]
        spacing = nib.load(tiny_dataset / "labelsTr" / f"{row['ed']}.nii.gz").header.get_zooms()
        mine = patient_readouts(*pred, labels, CardiacSpec(), spacing)
        ref = patient_readouts(*truth, labels, CardiacSpec(), spacing)
        assert float(row["LV_EF"]) == pytest.approx(mine["LV_EF"], nan_ok=True)
        errors.append(abs(mine["LV_EF"] - ref["LV_EF"]))
    finite = [e for e in errors if np.isfinite(e)]
    if finite:
        assert lv_ef["mae"] == pytest.approx(np.mean(finite))


def test_predictions_keep_the_input_geometry(finished_run: Path, tiny_dataset: Path) -> None:
    import nibabel as nib

    pred = sorted((finished_run / "eval" / "predictions").iterdir())[0]
    case = pred.name.removesuffix(".nii.gz")
    src = nib.load(tiny_dataset / "imagesTr" / f"{case}_0000.nii.gz")
    out = nib.load(pred)
    assert out.shape == src.shape and (out.affine == src.affine).all()
    assert out.get_data_dtype() == "uint8"


def test_checkpoints_load_with_weights_only(finished_run: Path) -> None:
    state = torch.load(finished_run / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 6 and state["config"]["method"]["name"] == "mean_teacher"


BINARY_ONLY = {"ersr"}
# contrastive methods draw the unlabeled batch as volumes x 4 slice partitions (here 6
# unlabeled slices: a whole volume and half of another, so positives exist)
GROUPED = ("data.batch_size=8", "data.labeled_batch_size=2")
EXTRA = {"spcl": GROUPED, "spcl_pretrain": GROUPED,
         "mn": ("data.spatial_dims=3", "data.patch_size=[32, 32, 8]", "data.batch_size=2",
                "data.labeled_batch_size=1", "method.params={switch_steps: 2}")}


@pytest.mark.parametrize("method", list_methods())
def test_every_method_trains_and_resumes_exactly(method: str, tiny_dataset: Path,
                                                 tiny_heads: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the engine, every method trains; a run killed after step 3 and resumed
    ends with the same weights (teachers, phase state and RNGs included)."""
    if method in BINARY_ONLY:  # methods for one elliptic structure train on the heads
        config = tiny_config(tiny_heads, f"method.name={method}", "data.patch_size=[32, 48]")
    else:
        config = tiny_config(tiny_dataset, f"method.name={method}", *EXTRA.get(method, ()))
    straight = tmp_path / "straight"
    train(config, straight)
    interrupted = tmp_path / "interrupted"
    real_step = Trainer.step

    def crash_at_4(self: Trainer, step: int):
        if step == 4:
            raise KeyboardInterrupt  # stands in for a kill after the step-3 checkpoint
        return real_step(self, step)

    monkeypatch.setattr(Trainer, "step", crash_at_4)
    with pytest.raises(KeyboardInterrupt):
        train(config, interrupted)
    assert load_checkpoint(interrupted / "checkpoints" / "last.pt")["step"] == 3
    monkeypatch.setattr(Trainer, "step", real_step)
    elapsed_before = load_checkpoint(interrupted / "checkpoints" / "last.pt")["elapsed_seconds"]
    result = train(read_run_config(interrupted), interrupted, resume=True)
    assert result["wall_seconds"] > elapsed_before > 0  # wall time adds up over sessions
    a = load_checkpoint(straight / "checkpoints" / "last.pt")["method"]
    b = load_checkpoint(interrupted / "checkpoints" / "last.pt")["method"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    rows = (interrupted / "train.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["2", "4", "6"]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tiny_dataset: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from semiseg.methods.mean_teacher import MeanTeacher

    real = MeanTeacher.training_step

    def nan_after_3(self, batch, progress):
        out = real(self, batch, progress)
        if progress.step >= 3:
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(MeanTeacher, "training_step", nan_after_3)
    run = tmp_path / "nan"
    with pytest.raises(NonFiniteLossError, match="NaN/inf"):
        train(tiny_config(tiny_dataset), run)
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["step"] == 3
    assert all(torch.isfinite(v).all() for v in state["method"].values() if v.is_floating_point())


def test_3d_patches_and_sliding_window(tiny_dataset: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_dataset, "method.name=supervised", "data.spatial_dims=3",
                         "data.patch_size=[16, 16, 8]", "train.iterations=2",
                         "train.val_every=2", "model.channels=[4, 8]", "model.dropout=[0, 0]")
    result = train(config, tmp_path / "run3d")
    assert result["iterations"] == 2 and 0 <= result["val"]["dice"]["mean"] <= 1


def test_half_resolution_volumes_predict_on_the_native_grid(tiny_dataset: Path,
                                                             tmp_path: Path) -> None:
    from semiseg.engine.trainer import build_trainer
    from semiseg.errors import ConfigError

    overrides = ("method.name=supervised", "data.spatial_dims=3", "data.patch_size=[8, 8, 8]",
                 "train.iterations=2", "train.val_every=2", "model.channels=[4, 8]",
                 "model.dropout=[0, 0]", "data.scale=0.5")
    trainer = build_trainer(tiny_config(tiny_dataset, *overrides))
    assert trainer.data.labeled.images[0].shape[1:] == (16, 16, 2)  # 32x32x4 halved
    assert trainer.data.val_cases[0].image.shape[1:] == (32, 32, 4)  # scored natively
    result = train(tiny_config(tiny_dataset, *overrides), tmp_path / "half")
    pred = next((tmp_path / "half" / "eval" / "predictions").iterdir())
    import nibabel as nib
    assert nib.load(pred).shape == (32, 32, 4)
    assert 0 <= result["val"]["dice"]["mean"] <= 1
    with pytest.raises(ConfigError, match=r"data\.scale"):
        tiny_config(tiny_dataset, *overrides[:-1], "data.scale=0")


def test_init_from_a_pretraining_checkpoint(tiny_dataset: Path, tmp_path: Path) -> None:
    """A Mean Teacher run starts with the pre-trained encoder in student and teacher."""
    from semiseg.engine.checkpoint import init_from_checkpoint
    from semiseg.engine.trainer import build_trainer
    from semiseg.errors import SemisegError

    pre = tmp_path / "pre"
    train(tiny_config(tiny_dataset, "method.name=spcl_pretrain", *GROUPED), pre)
    weights = load_checkpoint(pre / "checkpoints" / "last.pt")["method"]
    config = tiny_config(tiny_dataset, "method.name=mean_teacher",
                         f"train.init_from={pre / 'checkpoints' / 'last.pt'}")
    trainer = build_trainer(config)
    for net in (trainer.method.student, trainer.method.teacher):
        state = net.state_dict()
        for key, value in state.items():
            if key.startswith("head."):
                continue
            assert torch.equal(value.cpu(), weights[f"net.{key}"]), key
    cps = build_trainer(tiny_config(tiny_dataset, "method.name=cps")).method
    assert init_from_checkpoint(cps, pre / "checkpoints" / "last.pt") == 2  # both networks
    c3s3 = build_trainer(tiny_config(tiny_dataset, "method.name=c3s3")).method  # mean predictor
    assert init_from_checkpoint(c3s3, pre / "checkpoints" / "last.pt") == 1  # the UNet only
    wide = build_trainer(tiny_config(tiny_dataset, "method.name=supervised",
                                     "model.channels=[8, 16, 32]")).method
    with pytest.raises(SemisegError, match="no UNet of this run's shape"):
        init_from_checkpoint(wide, pre / "checkpoints" / "last.pt")


def test_model_params_reach_the_network_and_unknown_ones_are_errors(tiny_dataset: Path,
                                                                    tmp_path: Path) -> None:
    from semiseg.data.nnunet import open_dataset
    from semiseg.engine.trainer import net_spec
    from semiseg.errors import ConfigError

    dataset = open_dataset(tiny_dataset)
    spec = net_spec(tiny_config(tiny_dataset, "model.name=resunet",
                                "model.params={depths: [1, 2, 2]}"), dataset)
    assert spec.kwargs == {"channels": [4, 8, 16], "depths": [1, 2, 2]}  # no dropout
    assert [len(level) for level in spec.build().encoder] == [1, 2, 2]
    with pytest.raises(ConfigError, match=r"model\.params\.nope.*depths"):
        net_spec(tiny_config(tiny_dataset, "model.name=resunet", "model.params={nope: 1}"),
                 dataset)
    # a network deeper than the patch, or widths it cannot take: config errors, not
    # tracebacks at the first step
    deep = ["model.channels=[2, 2, 2, 2, 2, 2, 2]", "model.dropout=[0, 0, 0, 0, 0, 0, 0]"]
    with pytest.raises(ConfigError, match=r"'data.patch_size': \[32, 32\] does not fit "
                                          r"network unet: 7 levels .* needs >= 64"):
        net_spec(tiny_config(tiny_dataset, *deep), dataset)
    with pytest.raises(ConfigError, match=r"'model' \(network vnet\): VNet takes 5"):
        net_spec(tiny_config(tiny_dataset, "model.name=vnet"), dataset).build()


def test_scans_without_masks_train_as_unlabeled(tiny_dataset: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    import shutil

    from tests.data.test_nnunet import _add_unlabeled_scan

    root = Path(shutil.copytree(tiny_dataset, tmp_path / "ds"))
    splits = json.loads((root / "splits.json").read_text())
    val_patient = splits["val"][0].split("_")[0]
    _add_unlabeled_scan(root, splits["train"][0], "patient900_frame01")
    _add_unlabeled_scan(root, splits["val"][0], f"{val_patient}_frame05")
    run = tmp_path / "run"
    train(tiny_config(root, "train.iterations=2", "train.val_every=2"), run)
    split = json.loads((run / "split.json").read_text())
    assert "patient900_frame01" in split["unlabeled"]
    used = {c for k in ("labeled", "unlabeled", "val") for c in split[k]}
    assert f"{val_patient}_frame05" not in used
    assert "(1 without masks, 1 of val/test patients left out)" in capsys.readouterr().err
    assert train(read_run_config(run), run, resume=True)["iterations"] == 2
