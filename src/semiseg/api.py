"""Python API behind ``semiseg evaluate``: trained runs loaded and scored on their cases.

Predicting new scans is :mod:`semiseg.predict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from semiseg.config import RunConfig
from semiseg.data.nnunet import (
    NnUNetDataset,
    open_dataset,
)
from semiseg.data.profile import DataProfile, read_profile
from semiseg.data.splits import load_split
from semiseg.engine.checkpoint import load_checkpoint
from semiseg.engine.data import load_cases
from semiseg.engine.loop import read_run_config
from semiseg.engine.runtime import resolve_amp, resolve_device
from semiseg.engine.trainer import method_from_checkpoint
from semiseg.errors import DataError, SemisegError
from semiseg.evaluation import (
    Predictor,
    evaluate_network,
    evaluate_predictions,
    load_prediction_folder,
    write_evaluation,
)
from semiseg.methods import SemiSupervisedMethod
from semiseg.metrics.report import write_json
from semiseg.postprocess import POSTPROCESS_MODES, postprocess_labels


def load_trained(run_dir: str | Path, checkpoint: str = "best", data: str | None = None,
                 need_cases: bool = True,
                 ) -> tuple[RunConfig, SemiSupervisedMethod, NnUNetDataset]:
    """Config, method with trained weights (on its device) and data set of a run folder.

    Args:
        run_dir: The run folder.
        checkpoint: "best" or "last".
        data: A data set folder to use instead of the run's ``data.root`` (e.g. an
            external test set); it must have the classes and channels the run was
            trained with.
        need_cases: False when only new scans will be predicted: the run's
            ``data_profile.json`` (:mod:`semiseg.data.profile`) then stands in for the
            data set, which need not be present.
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    profile = read_profile(run_dir)
    if profile is not None and not need_cases and data is None:
        dataset = profile.dataset(run_dir)
    else:
        dataset = _open_data(run_dir, config, profile, data)
    state = load_checkpoint(run_dir / "checkpoints" / f"{checkpoint}.pt")
    method = method_from_checkpoint(config, dataset, state, resolve_device(config.train.device))
    return config, method.eval(), dataset


def _open_data(run_dir: Path, config: RunConfig, profile: DataProfile | None,
               data: str | None) -> NnUNetDataset:
    """The run's data set (or ``data``), checked against the classes it was trained with."""
    root = Path(data or config.data.root)
    if not root.is_dir() and data is not None:
        raise DataError(f"{root}: data set folder does not exist")
    if not root.is_dir():
        why = ("it was trained before runs kept a data_profile.json, so it needs its data set"
               if profile is None else "give --data ROOT for a copy of the data set")
        raise DataError(f"{root}: data set folder of {run_dir} does not exist ({why})")
    dataset = open_dataset(root, config.data.case_table if data is None else "")
    if profile is not None:
        trained = profile.dataset(run_dir)
        if (dataset.labels, dataset.num_channels) != (trained.labels, trained.num_channels):
            raise DataError(f"{root}: classes {dataset.labels} and {dataset.num_channels} input "
                            f"channel(s) differ from those {run_dir} was trained with "
                            f"({trained.labels}, {trained.num_channels})")
    return dataset


def select_case_ids(cases: str, run_dir: Path | None, available: list[str]) -> list[str]:
    """The case ids ``--cases`` names: "val"/"test" of the run's split, "all", or a file.

    "all": every case of ``available`` the run did not train on (its split's labeled and
    unlabeled cases are left out: scoring them would flatter it). Without a run folder
    (scoring a prediction folder) "val" and "all" are every case of ``available``.
    """
    if run_dir is None and cases in ("val", "all"):
        return available
    if cases == "all":
        split = load_split(run_dir / "split.json")
        trained = set(split.labeled) | set(split.unlabeled)
        ids = [c for c in available if c not in trained]
        if not ids:
            raise DataError(f"every case of the data set is one {run_dir} trained on")
        return ids
    if cases in ("val", "test"):
        if run_dir is None:
            raise SemisegError(f"--cases {cases} needs a run folder (its split names them)")
        ids = getattr(load_split(run_dir / "split.json"), cases)
        if not ids:
            raise SemisegError(f"{run_dir}: its split has no {cases} cases")
        missing = [c for c in ids if c not in available]
        if missing:
            raise DataError(f"{len(missing)} {cases} case(s) of {run_dir} are not in the data "
                            f"set (e.g. {missing[0]}); --data ROOT for one that has them, or "
                            "--cases all|FILE")
        return ids
    path = Path(cases)
    if not path.is_file():
        raise SemisegError(f"--cases {cases}: expected val, test, all or a file with one case "
                           "id per line")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    unknown = [c for c in ids if c not in available]
    if unknown:
        raise DataError(f"{path}: cases not in the data set: {unknown[:3]}")
    return ids


def _override_final(config: RunConfig, tta: bool | None, postprocess: str | None) -> None:
    """Command-line overrides of the final prediction's settings (None: the run's own)."""
    if tta is not None:
        config.eval.tta = tta
    if postprocess is not None:
        if postprocess not in POSTPROCESS_MODES:
            raise SemisegError(f"--postprocess {postprocess}: expected one of "
                               f"{', '.join(POSTPROCESS_MODES)}")
        config.eval.postprocess = postprocess


def load_predictors(runs: Sequence[str | Path], checkpoint: str = "best",
                    tta: bool | None = None, postprocess: str | None = None,
                    data: str | None = None, need_cases: bool = True,
                    ) -> tuple[RunConfig, list[Predictor], NnUNetDataset]:
    """The trained networks of one run, or of several (an ensemble), ready to predict.

    Members must share the data set's classes and channels and the intensity
    normalisation; they may differ in anything else (method, network, patch size,
    dimensionality). ``tta`` and ``postprocess`` override every member's ``eval.tta`` and
    ``eval.postprocess`` when not None; ``data`` and ``need_cases`` are
    :func:`load_trained`'s.

    Returns:
        The first run's config and data set (they lead: metrics, post-processing, output
        format), and one :class:`Predictor` per run.
    """
    if not runs:
        raise SemisegError("no run folder given")
    predictors: list[Predictor] = []
    lead: tuple[RunConfig, NnUNetDataset] | None = None
    for run in runs:
        config, method, dataset = load_trained(run, checkpoint, data, need_cases)
        _override_final(config, tta, postprocess)
        if lead is None:
            lead = (config, dataset)
        elif (dataset.class_names, dataset.num_channels) != (lead[1].class_names,
                                                             lead[1].num_channels):
            raise SemisegError(f"{run}: classes {dataset.class_names} ({dataset.num_channels} "
                               f"input channels) differ from {runs[0]}'s; ensemble members "
                               "must predict the same labels from the same inputs")
        elif config.data.normalize != lead[0].data.normalize:
            raise SemisegError(f"{run}: data.normalize {config.data.normalize!r} differs from "
                               f"{runs[0]}'s {lead[0].data.normalize!r}")
        device = next(method.parameters()).device
        predictors.append(Predictor(method.predictor(), config, device,
                                    resolve_amp(config.train.amp, device)))
    assert lead is not None
    return lead[0], predictors, lead[1]


def run_folders(run: str | Path | Sequence[str | Path]) -> list[Path]:
    """One run folder or several (an ensemble), as a list of paths."""
    return [Path(run)] if isinstance(run, str | Path) else [Path(r) for r in run]


def evaluate_run(run: str | Path | Sequence[str | Path], checkpoint: str = "best",
                 cases: str = "val", out: str | Path | None = None, tta: bool | None = None,
                 postprocess: str | None = None, data: str | None = None,
                 ) -> tuple[dict[str, Any], Path]:
    """Predict and score ``cases`` with a run's checkpoint; writes metrics and predictions.

    ``cases``: "val" or "test" of the run's split, "all" cases of the data set, or a file
    of case ids. ``data``: score on another data set folder than the run's (an external
    test set, a copy elsewhere), with the classes the run was trained with.

    Several runs are evaluated as an ensemble (their mean probability, see
    :func:`load_predictors`); with ``cases="val"`` they must share the val cases, so that
    no member has trained on what is scored. Output: ``out``, by default
    ``RUN/eval-<checkpoint>`` (an ensemble: ``FIRST_RUN/eval-ensemble-<checkpoint>``, with
    ``members.json`` naming the runs; other data or cases than the val cases add their
    names: ``RUN/eval-<data>-<cases>-<checkpoint>``). ``tta`` and ``postprocess`` override the runs'
    ``eval.tta`` (test-time mirroring) and ``eval.postprocess`` when not None.
    """
    run_dirs = run_folders(run)
    config, predictors, dataset = load_predictors(run_dirs, checkpoint, tta, postprocess, data)
    ids = select_case_ids(cases, run_dirs[0], dataset.training_cases)
    if cases == "val":
        for other in run_dirs[1:]:
            if set(load_split(other / "split.json").val) != set(ids):
                raise SemisegError(f"{other}: its val cases differ from {run_dirs[0]}'s; "
                                   "ensemble members must share them (or give --cases FILE)")
    loaded = load_cases(dataset, ids, config.data.normalize)
    name = "eval-ensemble" if len(run_dirs) > 1 else "eval"
    if data is not None or cases != "val":  # never over the run's own val evaluation
        name += "".join(f"-{part}" for part in (Path(data).name if data else "",
                                                 Path(cases).stem) if part)
    out_dir = Path(out) if out else run_dirs[0] / f"{name}-{checkpoint}"
    rows, summary, preds = evaluate_network(predictors, loaded, dataset.class_names,
                                            out_dir / "predictions", dataset.file_ending)
    if len(run_dirs) > 1:
        summary["members"] = [str(r) for r in run_dirs]
        write_json(summary["members"], out_dir / "members.json")
    write_evaluation(rows, summary, preds, loaded, dataset.labels, out_dir)
    return summary, out_dir


def evaluate_predictions_folder(pred: str | Path, data: str | None, run: str | None,
                                cases: str = "val", out: str | Path | None = None,
                                postprocess: str | None = None,
                                ) -> tuple[dict[str, Any], Path]:
    """Score a folder of predicted label files against a data set's labels.

    ``postprocess`` (a :data:`semiseg.postprocess.POSTPROCESS_MODES` name) cleans the
    predictions up before scoring; the files themselves are left as they are.
    """
    pred_dir = Path(pred)
    if not pred_dir.is_dir():
        raise DataError(f"{pred_dir}: prediction folder does not exist")
    run_dir = Path(run) if run else None
    config = read_run_config(run_dir) if run_dir else RunConfig()
    root = data or config.data.root
    if not root:
        raise SemisegError("--pred needs --data ROOT (or a run folder)")
    dataset = open_dataset(root, config.data.case_table if root == config.data.root else "")
    present = [c for c in dataset.training_cases
               if (pred_dir / f"{c}{dataset.file_ending}").is_file()]
    ids = select_case_ids(cases, run_dir, present if run_dir is None else dataset.training_cases)
    if not ids:
        raise DataError(f"{pred_dir}: no prediction file matches a case of {root}")
    truths = [dataset.load_case(c) for c in ids]
    _override_final(config, None, postprocess or "none")  # checks the name
    preds = [postprocess_labels(p, config.eval.postprocess)
             for p in load_prediction_folder(pred_dir, dataset, ids)]
    for p, t in zip(preds, truths, strict=True):
        if p.shape != t.label.shape:
            raise DataError(f"{pred_dir / (t.case_id + dataset.file_ending)}: shape {p.shape} "
                            f"differs from the label's {t.label.shape}")
    rows, summary = evaluate_predictions(preds, truths, dataset.class_names, config)
    out_dir = Path(out) if out else pred_dir.parent / f"{pred_dir.name}-eval"
    write_evaluation(rows, summary, preds, truths, dataset.labels, out_dir)
    return summary, out_dir
