"""Bad input beyond the data-set checks, crash recovery and geometry-exact prediction."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from semiseg.api import evaluate_predictions_folder
from semiseg.config import load_config, to_dict
from semiseg.data.check import check_dataset
from semiseg.data.importers import import_image_folder
from semiseg.data.nnunet import open_dataset
from semiseg.engine.checkpoint import load_checkpoint, save_checkpoint
from semiseg.engine.loop import read_run_config, train
from semiseg.errors import ConfigError, DataError, SemisegError
from semiseg.predict import predict_folder
from tests.conftest import tiny_config


def _png_dataset(root: Path, n: int = 3, rgb_first: bool = False) -> Path:
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = (36 + 4 * i, 44)
        img = rng.integers(0, 255, (*shape, 3) if rgb_first and i == 0 else shape, np.uint8)
        Image.fromarray(img).save(root / "imagesTr" / f"img{i}_0000.png")
        lab = np.zeros(shape, np.uint8)
        lab[8:20, 10:30] = 1
        Image.fromarray(lab).save(root / "labelsTr" / f"img{i}.png")
    (root / "dataset.json").write_text(json.dumps({
        "channel_names": {"0": "us"}, "labels": {"background": 0, "head": 1},
        "numTraining": n, "file_ending": ".png"}))
    return root


def _errors(root: Path) -> list[str]:
    return [p for p in check_dataset(root) if not p.startswith("warning")]


def test_truncated_png(tmp_path: Path) -> None:
    root = _png_dataset(tmp_path / "d")
    path = root / "imagesTr" / "img1_0000.png"
    path.write_bytes(path.read_bytes()[:60])
    assert any("img1_0000.png: cannot read png" in p for p in _errors(root))


def test_not_an_image_at_all(tmp_path: Path) -> None:
    root = _png_dataset(tmp_path / "d")
    (root / "labelsTr" / "img2.png").write_text("hello")
    assert any("img2.png: cannot read png" in p for p in _errors(root))


def test_colour_png_where_one_channel_is_declared(tmp_path: Path) -> None:
    root = _png_dataset(tmp_path / "d", rgb_first=True)
    assert any("3 channels, dataset.json declares 1" in p for p in _errors(root))


def test_four_dimensional_nifti(tiny_dataset: Path, tmp_path: Path) -> None:
    root = Path(shutil.copytree(tiny_dataset, tmp_path / "d"))
    path = sorted((root / "imagesTr").iterdir())[0]
    img = nib.load(path)
    nib.save(nib.Nifti1Image(np.stack([img.get_fdata()] * 2, -1).astype(np.float32), img.affine),
             path)
    assert any("4D image" in p for p in _errors(root))


def test_duplicate_case_is_a_warning(tiny_dataset: Path, tmp_path: Path) -> None:
    root = Path(shutil.copytree(tiny_dataset, tmp_path / "d"))
    files = sorted((root / "imagesTr").iterdir())
    shutil.copy(files[0], files[1])
    warnings = [p for p in check_dataset(root) if p.startswith("warning")]
    assert any("duplicate case" in w for w in warnings)


def test_case_listed_twice_in_a_split(tiny_dataset: Path, tmp_path: Path) -> None:
    ds = open_dataset(tiny_dataset)
    c = ds.training_cases
    split = tmp_path / "s.json"
    split.write_text(json.dumps({"labeled": [c[0], c[0]], "unlabeled": [c[1]], "val": [c[2]]}))
    with pytest.raises(DataError, match="listed twice in 'labeled'"):
        train(tiny_config(tiny_dataset, f"data.split={split}"), tmp_path / "run")


def test_unwritable_output_folder(tiny_dataset: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder must go (root ignores chmod)
    with pytest.raises(SemisegError, match="cannot write the run folder"):
        train(tiny_config(tiny_dataset), blocker / "run")


def test_importer_refuses_colliding_case_ids(tmp_path: Path) -> None:
    (tmp_path / "i").mkdir()
    for name in ("a b.png", "a_b.png"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "i" / name)
    with pytest.raises(DataError, match="same case id 'a_b'"):
        import_image_folder(tmp_path / "i", tmp_path / "out")


@pytest.mark.parametrize("damage", ["missing", "truncated", "foreign"])
def test_bad_checkpoints(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "last.pt"
    if damage != "missing":
        save_checkpoint({"method": {}, "config": {}}, path)
        if damage == "truncated":
            path.write_bytes(path.read_bytes()[:50])
        else:
            torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(SemisegError, match=r"last\.pt"):
        load_checkpoint(path)


def test_checkpoint_with_arbitrary_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"method": {}, "config": {}, "payload": Path("x")}, path)  # a pickled object
    with pytest.raises(SemisegError, match=r"cannot read checkpoint \(it holds Python objects"):
        load_checkpoint(path)
    path.write_bytes(b"garbage, e.g. an HTML error page saved as .pt")
    with pytest.raises(SemisegError, match=r"evil\.pt: cannot read checkpoint \(not a PyTorch "
                                           r"file: damaged, truncated or of another format\)$"):
        load_checkpoint(path)


def test_resume_of_a_folder_without_checkpoint(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(to_dict(tiny_config(tiny_dataset))))
    with pytest.raises(SemisegError, match=r"last\.pt: checkpoint does not exist"):
        train(read_run_config(run), run, resume=True)


@pytest.mark.parametrize("bad", ["shape", "values", "fraction"])
def test_bad_prediction_folders(tiny_dataset: Path, tmp_path: Path, bad: str) -> None:
    ds = open_dataset(tiny_dataset)
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    case = ds.load_case(ds.training_cases[0])
    label = case.label.astype(np.float32)
    label = {"shape": label[:-1], "values": label * 3, "fraction": label + 0.5}[bad]
    nib.save(nib.Nifti1Image(label, case.geometry.affine),
             pred_dir / f"{case.case_id}.nii.gz")
    with pytest.raises(DataError, match={"shape": "differs from the label", "values": "not in",
                                         "fraction": "integer"}[bad]):
        evaluate_predictions_folder(pred_dir, str(tiny_dataset), None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(["train", "data", "optim", "model", "method", "eval", "augment"]),
       sub=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
       value=st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=5),
                       st.booleans(), st.lists(st.integers(), max_size=3)))
def test_config_fuzz_only_raises_config_errors(key: str, sub: str, value: object) -> None:
    """Any override either loads or raises ConfigError naming the key: never another error."""
    try:
        load_config(None, [f"{key}.{sub}={json.dumps(value)}"])
    except ConfigError as err:
        message = str(err)
        assert "\n" not in message and ("config key" in message or "unknown" in message)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoints" / "last.pt")["method"]


@pytest.mark.slow
def test_resume_after_kill_9_matches_uninterrupted_run(tiny_dataset: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_dataset, "train.iterations=60", "train.checkpoint_every=5",
                         "train.val_every=30", "train.log_every=5", "train.num_threads=1")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(to_dict(config)))
    env = dict(os.environ, OMP_NUM_THREADS="1", SEMISEG_MALLOC_TUNING="0")
    cmd = [sys.executable, "-m", "semiseg", "train"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run([*cmd, "-c", str(cfg), "-o", str(straight)], env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([*cmd, "-c", str(cfg), "-o", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = killed / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if last.is_file() and torch.load(last, weights_only=True)["step"] >= 15:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    step = load_checkpoint(last)["step"]
    assert 15 <= step < 60
    subprocess.run([*cmd, "--resume", str(killed)], env=env, check=True, capture_output=True)
    a, b = _weights(straight), _weights(killed)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert json.loads((killed / "result.json").read_text())["iterations"] == 60


def test_prediction_keeps_any_orientation_and_spacing(tiny_supervised_run: Path,
                                                      tiny_dataset: Path, tmp_path: Path) -> None:
    src = sorted((tiny_dataset / "imagesTr").iterdir())[0]
    img = nib.load(src)
    angle = 0.4
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                    [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([0.7, -1.3, 4.5])  # oblique, flipped, anisotropic
    affine[:3, 3] = [12.5, -40.0, 7.25]
    inp = tmp_path / "in"
    inp.mkdir()
    oblique = nib.Nifti1Image(np.asarray(img.dataobj, np.float32), affine)
    oblique.set_qform(affine, code=1)
    oblique.set_sform(affine, code=2)
    nib.save(oblique, inp / "obl_0000.nii.gz")
    with pytest.warns(UserWarning, match=r"another orientation than the training scans"):
        (out,), _ = predict_folder(tiny_supervised_run, inp, tmp_path / "out")
    pred, ref = nib.load(out), nib.load(inp / "obl_0000.nii.gz")
    assert pred.shape == ref.shape
    np.testing.assert_array_equal(pred.affine, ref.affine)
    np.testing.assert_allclose(pred.header.get_zooms(), ref.header.get_zooms())
    assert int(pred.header["qform_code"]) == 1 and int(pred.header["sform_code"]) == 2
    np.testing.assert_allclose(pred.header.get_qform(), ref.header.get_qform(), atol=1e-5)


def test_png_prediction_keeps_size(tmp_path: Path) -> None:
    root = _png_dataset(tmp_path / "d", n=4)
    split = {"labeled": ["img0"], "unlabeled": ["img1", "img2"], "val": ["img3"]}
    (root / "splits.json").write_text(json.dumps(split))
    config = load_config(None, [f"data.root={root}", "data.patch_size=[32, 32]",
                                "data.batch_size=2", "data.labeled_batch_size=1",
                                "model.channels=[4, 8]", "model.dropout=[0, 0]",
                                "train.iterations=2", "train.val_every=2",
                                "train.progress_bar=false", "method.name=supervised"])
    run = tmp_path / "run"
    train(config, run)
    inp = tmp_path / "in"
    inp.mkdir()
    Image.fromarray(np.zeros((53, 71), np.uint8)).save(inp / "new_0000.png")
    (out,), _ = predict_folder(run, inp, tmp_path / "out")
    assert np.asarray(Image.open(out)).shape == (53, 71)
