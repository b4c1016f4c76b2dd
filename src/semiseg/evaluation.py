"""Evaluation of a network on cases, and of a folder of predictions against labels."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semiseg.atomic import atomic_path
from semiseg.config import RunConfig
from semiseg.data.io import Geometry, read_image, write_label
from semiseg.data.nnunet import Case, NnUNetDataset
from semiseg.data.spacing import resample_factors
from semiseg.errors import DataError
from semiseg.inference import predict_probabilities
from semiseg.metrics.clinical import (
    CardiacSpec,
    cardiac_evaluation,
    readouts_of_predictions,
    structure_volumes,
)
from semiseg.metrics.ellipse import head_circumference
from semiseg.metrics.report import (
    case_metrics,
    summarize,
    write_json,
    write_metrics,
    write_rows_csv,
)
from semiseg.postprocess import postprocess_labels
from semiseg.visualize import save_agreement


def class_dice(pred: np.ndarray, truth: np.ndarray, num_classes: int) -> np.ndarray:
    """Dice of every foreground class ``[K-1]`` from one confusion count (both empty: 1)."""
    counts = np.bincount(truth.astype(np.int64).ravel() * num_classes + pred.ravel(),
                         minlength=num_classes ** 2).reshape(num_classes, num_classes)
    inter = np.diag(counts)[1:].astype(float)
    total = counts.sum(0)[1:] + counts.sum(1)[1:]
    return np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0)


@dataclass
class Predictor:
    """A trained network with the settings it predicts by; one member of an ensemble.

    Attributes:
        net: The network (put in eval mode while predicting).
        config: Its run config (patch size, slice axis, scale, batch, overlap, eval.*).
        device: Where it computes.
        amp: Autocast dtype or None.
    """

    net: nn.Module
    config: RunConfig
    device: torch.device
    amp: torch.dtype | None = None

    def probabilities(self, image: np.ndarray, final: bool = False,
                      geometry: Geometry | None = None, name: str = "image") -> torch.Tensor:
        """``[K, *S]`` class probabilities of a ``[C, *S]`` image, on :attr:`device`.

        Mirrored when ``final`` and the config's ``eval.tta``; a 3D network trained at a
        voxel size (``data.target_spacing``) needs the image's ``geometry`` (``name``
        names it in errors).

        Raises:
            DataError: a 2D image for a 3D network (naming it).
        """
        data, ev = self.config.data, self.config.eval
        if image.ndim - 1 < data.spatial_dims:
            raise DataError(f"{name}: {image.ndim - 1}D image, but the network is 3D (it was "
                            "trained on volumes)")
        factors = resample_factors(data, geometry, name)
        return predict_probabilities(self.net, image, data.spatial_dims, data.patch_size,
                                     data.slice_axis, self.device, ev.inference_batch,
                                     ev.sw_overlap, self.amp, factors, final and ev.tta)


def predict_labels(predictors: Sequence[Predictor], image: np.ndarray,
                   final: bool = False, geometry: Geometry | None = None,
                   name: str = "image") -> np.ndarray:
    """Labels of one case: the arg-max of the predictors' mean probability.

    Args:
        predictors: One network, or several (an ensemble, e.g. seeds of one method; each
            predicts with its own settings, so members may differ in patch size or
            dimensionality).
        image: ``[C, *S]`` normalised float32.
        final: A final prediction (evaluation, ``semiseg predict``), not the validation
            that selects the checkpoint: applies each member's ``eval.tta`` (mirroring)
            and the first member's ``eval.postprocess`` (connected components).
        geometry: The image's geometry (its voxel size, for members trained at a
            ``data.target_spacing``).
        name: The image's file or case id, for error messages.

    Returns:
        ``[*S]`` uint8 labels.
    """
    prob = mean_probabilities(predictors, image, final, geometry, name)
    return labels_of(prob, predictors[0].config, final)


def labels_of(prob: torch.Tensor, config: RunConfig, final: bool = False) -> np.ndarray:
    """``[*S]`` uint8 arg-max of ``[K, *S]`` probabilities.

    ``final``: then cleaned by the config's ``eval.postprocess``.
    """
    labels = prob.argmax(0).to(torch.uint8).cpu().numpy()
    return postprocess_labels(labels, config.eval.postprocess) if final else labels


def mean_probabilities(predictors: Sequence[Predictor], image: np.ndarray,
                       final: bool = False, geometry: Geometry | None = None,
                       name: str = "image") -> torch.Tensor:
    """``[K, *S]`` mean class probabilities of the predictors, on the first one's device.

    Arguments as :func:`predict_labels`; no post-processing.
    """
    device = predictors[0].device
    prob = predictors[0].probabilities(image, final, geometry, name)
    for member in predictors[1:]:
        prob = prob + member.probabilities(image, final, geometry, name).to(device)
    return prob / len(predictors)


def write_probabilities(path: Path, prob: torch.Tensor, class_names: list[str]) -> None:
    """Write ``path`` (.npz, compressed, atomically).

    It holds ``probabilities``, float16 ``[K, *S]``, and ``classes``, the ``K`` class
    names (by label value, background first).
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, probabilities=prob.to(torch.float16).cpu().numpy(),
                            classes=np.asarray(class_names))


def predict_with_config(net: nn.Module, image: np.ndarray, config: RunConfig,
                        device: torch.device, amp: torch.dtype | None,
                        final: bool = False, geometry: Geometry | None = None,
                        name: str = "image") -> np.ndarray:
    """:func:`predict_labels` of one network with the run's data and eval settings."""
    return predict_labels([Predictor(net, config, device, amp)], image, final, geometry, name)


def predict_cases(predictors: Sequence[Predictor], cases: list[Case],
                  final: bool = False) -> list[np.ndarray]:
    """Label maps of ``cases`` (native size) with the networks in eval mode.

    ``final``: as in :func:`predict_labels`.
    """
    modes = [p.net.training for p in predictors]
    for p in predictors:
        p.net.eval()
    try:
        return [predict_labels(predictors, c.image, final, c.geometry, c.case_id)
                for c in cases]
    finally:
        for p, mode in zip(predictors, modes, strict=True):
            p.net.train(mode)


def validation_dice(net: nn.Module, cases: list[Case], num_classes: int, config: RunConfig,
                    device: torch.device, amp: torch.dtype | None) -> np.ndarray:
    """Dice per case and foreground class ``[len(cases), K-1]`` (model selection)."""
    preds = predict_cases([Predictor(net, config, device, amp)], cases)
    out = [class_dice(p, c.label, num_classes) for p, c in zip(preds, cases, strict=True)]
    return np.stack(out) if out else np.zeros((0, num_classes - 1))


def evaluate_predictions(preds: list[np.ndarray], cases: list[Case], class_names: list[str],
                         config: RunConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-case per-class rows (Dice, Jaccard, HD95, ASD, ASSD) and their summary.

    Distances are in mm when the case's geometry knows its spacing and
    ``eval.use_spacing`` is on; otherwise in voxels (the SSL4MIS convention). A 2D case
    with a reference ``head_circumference_mm`` in the case table also gets the head
    circumference of its predicted foreground (ellipse fit, mm) and the absolute
    difference to the reference, as the HC18 challenge scores it.
    """
    rows: list[dict[str, Any]] = []
    for pred, case in zip(preds, cases, strict=True):
        geo = case.geometry
        use_mm = config.eval.use_spacing and geo.spacing_known
        spacing = geo.spacing if use_mm else None
        extra = (head_circumference_row(pred, case, config.eval.empty_distance) if use_mm
                 else {})
        for row in case_metrics(pred, case.label, class_names, spacing,
                                empty_distance=config.eval.empty_distance):
            rows.append({"case": case.case_id, **row, **extra,
                         "units": "mm" if use_mm else "voxel"})
    return rows, summarize(rows)


def head_circumference_row(pred: np.ndarray, case: Case, empty: str = "diagonal"
                           ) -> dict[str, float]:
    """``hc_mm``, ``hc_ref_mm``, ``hc_abs_diff_mm`` of a 2D case with a reference HC, else {}.

    A prediction without any head (or without a fittable one) measures 0 mm, so its
    error is the whole reference, unless ``empty`` is "nan" (then left out of means),
    the same policy as for distances (``eval.empty_distance``).
    """
    reference = case.info.get("head_circumference_mm")
    if reference is None or pred.ndim != 2:
        return {}
    hc = head_circumference(pred > 0, case.geometry.spacing)
    if np.isnan(hc) and empty != "nan":
        hc = 0.0
    return {"hc_mm": hc, "hc_ref_mm": reference, "hc_abs_diff_mm": abs(hc - reference)}


def evaluate_network(predictors: Sequence[Predictor], cases: list[Case], class_names: list[str],
                     pred_dir: Path | None = None, file_ending: str = ".nii.gz",
                     ) -> tuple[list[dict[str, Any]], dict[str, Any], list[np.ndarray]]:
    """Predict (with ``eval.tta`` and ``eval.postprocess``), write, and score.

    One network or an ensemble (:func:`predict_labels`); metrics follow the first
    member's config. Predictions go to ``pred_dir`` (if given) with the input geometry.

    Returns:
        ``(rows, summary, predictions)``; ``summary["seconds"]`` holds the wall times.
    """
    t0 = time.perf_counter()
    preds = predict_cases(predictors, cases, final=True)
    t1 = time.perf_counter()
    if pred_dir is not None:
        for pred, case in zip(preds, cases, strict=True):
            write_label(pred_dir / f"{case.case_id}{file_ending}", pred, case.geometry)
    rows, summary = evaluate_predictions(preds, cases, class_names, predictors[0].config)
    summary["seconds"] = {"predict": t1 - t0, "metrics": time.perf_counter() - t1,
                          "cases": len(cases)}
    return rows, summary, preds


def clinical_evaluation(preds: list[np.ndarray], cases: list[Case], labels: dict[str, int],
                        folder: Path | None = None, prefix: str = "",
                        ) -> dict[str, dict[str, Any]] | None:
    """Cardiac read-outs of predictions against the truth (ACDC clinical evaluation).

    Only for cardiac data (see :func:`semiseg.metrics.clinical.cardiac_evaluation`);
    otherwise None and nothing is written.

    Args:
        preds: ``[*S]`` label maps, one per case, on the cases' grids.
        cases: The cases (truth and geometry).
        labels: Class name -> value of the data set.
        folder: If given, ``<prefix>clinical.csv`` (one row per patient) and
            ``<prefix>clinical.json`` (agreement per read-out) are written there.
        prefix: File name prefix.

    Returns:
        Agreement per read-out (``{"LV_EF": {"corr", "bias", "std", "mae", "n",
        "units"}, ...}``: EF errors in percentage points, volumes in mL or voxels) or None.
    """
    spacing = {c.case_id: (tuple(c.geometry.spacing) if c.geometry.spacing_known else None)
               for c in cases}
    found = cardiac_evaluation({c.case_id: (p, c.label) for p, c in zip(preds, cases,
                                                                       strict=True)},
                               labels, spacing)
    if found is None:
        return None
    rows, summary = found
    if folder is not None:
        write_rows_csv(rows, folder / f"{prefix}clinical.csv")
        write_json(summary, folder / f"{prefix}clinical.json")
        unit = summary["LV_EDV"]["units"]
        save_agreement([(name.replace("_", " "), "%" if name.endswith("EF") else unit,
                         [r[name] for r in rows], [r.get(f"{name}_ref", np.nan) for r in rows])
                        for name in ("LV_EF", "RV_EF", "LV_EDV")],
                       folder / f"{prefix}clinical.png")
    return summary


def write_evaluation(rows: list[dict[str, Any]], summary: dict[str, Any],
                     preds: list[np.ndarray], cases: list[Case], labels: dict[str, int],
                     folder: Path, prefix: str = "") -> dict[str, dict[str, Any]] | None:
    """Everything an evaluation writes to ``folder``.

    Per-case metrics and their summary (``<prefix>metrics.csv/.json``,
    ``<prefix>summary.json``); for cardiac data the clinical read-outs and their
    agreement plot (``<prefix>clinical.csv/.json/.png``, also ``summary["clinical"]``);
    with reference head circumferences their agreement plot (``<prefix>hc.png``).

    Returns:
        The clinical agreement (see :func:`clinical_evaluation`) or None.
    """
    clinical = clinical_evaluation(preds, cases, labels, folder, prefix)
    if clinical is not None:
        summary["clinical"] = clinical
    write_metrics(rows, summary, folder, prefix)
    hc = {r["case"]: (r["hc_mm"], r["hc_ref_mm"]) for r in rows if "hc_ref_mm" in r}
    if hc:
        save_agreement([("head circumference", "mm", [v[0] for v in hc.values()],
                         [v[1] for v in hc.values()])], folder / f"{prefix}hc.png")
    return clinical


def load_prediction_folder(pred_dir: Path, dataset: NnUNetDataset,
                           case_ids: list[str]) -> list[np.ndarray]:
    """Read ``<pred_dir>/<case><ending>`` for every case; shapes are checked by the caller."""
    preds = []
    for case_id in case_ids:
        path = pred_dir / f"{case_id}{dataset.file_ending}"
        array, _ = read_image(path)
        if not np.array_equal(array, np.round(array)) or array.min(initial=0) < 0:
            raise DataError(f"{path}: prediction must hold non-negative integer labels")
        unknown = set(np.unique(array).astype(int).tolist()) - set(range(dataset.num_classes))
        if unknown:
            raise DataError(f"{path}: label values {sorted(unknown)} not in dataset.json")
        preds.append(array.astype(np.uint8))
    return preds


class ReadoutCollector:
    """Clinical read-outs of predictions of new scans (no truth), gathered case by case.

    Only small numbers are kept per case (structure volumes, or a head circumference),
    so a folder of thousands of volumes needs no more memory than one. Cardiac data (the
    data set has the :class:`CardiacSpec` structures): LV/RV volumes, EF and myocardial
    mass per patient with both phases (mL when the files carry a spacing). Head data
    (the training case table has ``head_circumference_mm``): the head circumference of
    each 2D prediction (mm with a pixel size, else pixels).
    """

    def __init__(self, dataset: NnUNetDataset, spec: CardiacSpec | None = None,
                 heads: bool | None = None) -> None:
        self.spec = spec or CardiacSpec()
        self.labels = dataset.labels
        self.cardiac = all(n in dataset.labels for n in (self.spec.lv, self.spec.rv,
                                                         self.spec.myo))
        # head data: told by the run's data profile, else read from the case table
        self.heads = dataset.has_head_reference if heads is None else heads
        self.volumes: dict[str, dict[str, float]] = {}
        self.in_ml: dict[str, bool] = {}
        self.heads_rows: list[dict[str, Any]] = []

    def add(self, case: Case, pred: np.ndarray) -> None:
        """Measure one prediction ``[*S]`` on ``case``'s grid."""
        known = case.geometry.spacing_known
        if self.cardiac:
            spacing = tuple(case.geometry.spacing) if known else None
            self.volumes[case.case_id] = structure_volumes(pred, self.labels, self.spec, spacing)
            self.in_ml[case.case_id] = known
        elif self.heads and pred.ndim == 2:
            hc = head_circumference(pred > 0, case.geometry.spacing if known else (1.0, 1.0))
            self.heads_rows.append({"case": case.case_id, "hc": hc,
                                    "units": "mm" if known else "pixel"})

    def rows(self) -> list[dict[str, Any]]:
        """Per-patient cardiac rows, or per-image head rows (empty for other data)."""
        if self.cardiac:
            return readouts_of_predictions(self.volumes, self.in_ml, self.spec)
        return self.heads_rows

    def write(self, path: Path) -> Path | None:
        """Write :meth:`rows` as CSV; None (nothing written) when there are none."""
        rows = self.rows()
        if not rows:
            return None
        write_rows_csv(rows, path)
        return path
