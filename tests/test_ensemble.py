"""Ensembles: the mean probability of several runs, through evaluate and predict."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from semiseg.api import evaluate_run
from semiseg.cli import main
from semiseg.config import RunConfig
from semiseg.engine.loop import train
from semiseg.errors import SemisegError
from semiseg.evaluation import Predictor, predict_labels
from semiseg.inference import predict_probabilities
from semiseg.predict import predict_folder
from tests.conftest import tiny_config


class ConstantBelief(nn.Module):
    """Every pixel gets the same class probabilities ``probs`` (logits = their logs)."""

    def __init__(self, probs: list[float]) -> None:
        super().__init__()
        self.register_buffer("logits", torch.tensor(probs).log())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[0], -1, *([1] * (x.ndim - 2)))
        return self.logits.view(shape).expand(x.shape[0], -1, *x.shape[2:])


def _predictor(probs: list[float]) -> Predictor:
    config = RunConfig()
    config.data.patch_size = [8, 8]
    return Predictor(ConstantBelief(probs), config, torch.device("cpu"))


def test_ensemble_takes_the_arg_max_of_the_mean_probability() -> None:
    image = np.zeros((1, 8, 8), np.float32)
    unsure = _predictor([0.2, 0.45, 0.35])  # alone: class 1
    sure = _predictor([0.05, 0.05, 0.9])    # alone: class 2
    assert (predict_labels([unsure], image) == 1).all()
    assert (predict_labels([sure], image) == 2).all()
    # two unsure members and one sure one: a vote of the arg-maxes would say class 1, the
    # mean probability says class 2 (1.6 / 3 against 0.95 / 3)
    assert (predict_labels([unsure, unsure, sure], image) == 2).all()


def test_mirrored_probabilities_are_a_mean() -> None:
    image = torch.rand(1, 8, 8)
    prob = predict_probabilities(ConstantBelief([0.2, 0.8]), image, 2, [8, 8], -1,
                                 torch.device("cpu"), tta=True)
    assert torch.allclose(prob.sum(0), torch.ones(8, 8))
    assert torch.allclose(prob[1], torch.full((8, 8), 0.8))


@pytest.fixture(scope="module")
def second_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another seed of the tiny supervised run."""
    run = tmp_path_factory.mktemp("r") / "supervised-s1"
    train(tiny_config(tiny_dataset, "method.name=supervised", "train.iterations=2",
                      "train.val_every=2", "train.seed=1"), run)
    return run


def test_evaluate_and_predict_an_ensemble(tiny_supervised_run: Path, second_run: Path,
                                          tiny_dataset: Path, tmp_path: Path) -> None:
    summary, out = evaluate_run([tiny_supervised_run, second_run])
    assert out == tiny_supervised_run / "eval-ensemble-best"
    assert json.loads((out / "members.json").read_text()) == [str(tiny_supervised_run),
                                                               str(second_run)]
    assert 0.0 <= summary["mean"]["dice"]["mean"] <= 1.0
    assert len(list((out / "predictions").glob("*.nii.gz"))) == summary["mean"]["dice"]["n"]
    inp = tmp_path / "in"
    inp.mkdir()
    for p in sorted((tiny_dataset / "imagesTr").iterdir())[:2]:
        shutil.copy(p, inp / p.name)
    written, _ = predict_folder([tiny_supervised_run, second_run], inp, tmp_path / "out")
    assert len(written) == 2


def test_saved_probabilities_are_the_members_mean(tiny_supervised_run: Path, second_run: Path,
                                                  tiny_dataset: Path, tmp_path: Path) -> None:
    import nibabel as nib

    inp = tmp_path / "in"
    inp.mkdir()
    case = "phantom001_frame01"
    shutil.copy(tiny_dataset / "imagesTr" / f"{case}_0000.nii.gz", inp)
    saved = {}
    for name, runs in (("a", [tiny_supervised_run]), ("b", [second_run]),
                       ("ab", [tiny_supervised_run, second_run])):
        predict_folder(runs, inp, tmp_path / name, save_probabilities=True)
        with np.load(tmp_path / name / f"{case}.npz") as npz:
            saved[name] = npz["probabilities"].astype(np.float32)
            assert list(npz["classes"]) == ["background", "RV", "Myo", "LV"]
        label = np.asarray(nib.load(tmp_path / name / f"{case}.nii.gz").dataobj)
        assert saved[name].shape == (4, *label.shape)  # the input's grid
        np.testing.assert_allclose(saved[name].sum(0), 1.0, atol=4e-3)
        assert (saved[name].argmax(0) == label).mean() > 0.99  # float16 ties aside
    np.testing.assert_allclose(saved["ab"], (saved["a"] + saved["b"]) / 2, atol=2e-3)
    # a resumed folder predicts again the cases whose probabilities are missing
    (tmp_path / "a" / f"{case}.npz").unlink()
    predict_folder([tiny_supervised_run], inp, tmp_path / "a", skip_existing=True,
                   save_probabilities=True)
    assert (tmp_path / "a" / f"{case}.npz").is_file()


def _copy_with(run: Path, to: Path, file: str, change) -> Path:
    shutil.copytree(run, to, ignore=shutil.ignore_patterns("eval*"))
    data = (yaml.safe_load if file.endswith(".yaml") else json.loads)((to / file).read_text())
    change(data)
    (to / file).write_text(yaml.safe_dump(data) if file.endswith(".yaml") else json.dumps(data))
    return to


def test_members_must_share_val_cases_and_normalisation(tiny_supervised_run: Path,
                                                        tmp_path: Path) -> None:
    other_val = _copy_with(tiny_supervised_run, tmp_path / "v", "split.json",
                           lambda s: s["val"].pop())
    with pytest.raises(SemisegError, match="val cases differ"):
        evaluate_run([tiny_supervised_run, other_val], out=tmp_path / "e1")
    minmax = _copy_with(tiny_supervised_run, tmp_path / "n", "config.yaml",
                        lambda c: c["data"].update(normalize="minmax"))
    with pytest.raises(SemisegError, match=r"data\.normalize 'minmax' differs"):
        evaluate_run([tiny_supervised_run, minmax], out=tmp_path / "e2")


def test_cli_ensemble_and_pred_with_two_runs(tiny_supervised_run: Path, second_run: Path,
                                             tmp_path: Path, capsys) -> None:
    code = main(["evaluate", str(tiny_supervised_run), str(second_run), "-o",
                 str(tmp_path / "ev")])
    out = capsys.readouterr().out
    assert code == 0 and "ensemble of 2 runs" in out
    code = main(["evaluate", "--pred", str(tmp_path / "ev" / "predictions"),
                 str(tiny_supervised_run), str(second_run)])
    assert code == 2 and "at most one run folder" in capsys.readouterr().err
