"""`semiseg qc`: per-case predicted quality and clinical read-outs, suspect cases flagged.

The quality network of a trained ``semiqc`` run scores segmentations (its own, or a
folder of predictions from any model) the way it was trained: 2D networks slice by
slice at the training size (the case's quality is the mean over slices), 3D networks
on the volume resized to the training patch. Where labels exist, the true Dice is
reported beside it with the Spearman rank correlation between the two. For cardiac
data (the data set has the structures a :class:`CardiacSpec` names, and ED/ES cases),
per-patient read-outs (volumes, EF, myocardial mass) are checked for plausibility.
Tables go to CSV and JSON, and ``qc_report.html`` lists the suspect cases first, with
the previews of ``semiseg predict --previews`` beside them when the prediction folder
has them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from semiseg.data.nnunet import Case, NnUNetDataset
from semiseg.errors import DataError, SemisegError
from semiseg.metrics.clinical import CardiacSpec, clinical_rows, clinical_summary
from semiseg.metrics.report import write_json, write_rows_csv
from semiseg.qc import QualityNet

PLAUSIBLE_EF = (10.0, 85.0)  # % : outside, the segmentation (or the heart) is suspect
MASS_CONSISTENCY = 0.25  # |ES/ED myocardial mass - 1| above this is implausible


@torch.no_grad()
def case_quality(qc: QualityNet, image: np.ndarray, label: np.ndarray, spatial_dims: int,
                 patch_size: list[int], slice_axis: int, device: torch.device) -> float:
    """Predicted Dice of one case's segmentation.

    Args:
        qc: Quality network in eval mode on ``device``.
        image: ``[C, *S]`` normalised float32.
        label: ``[*S]`` integer segmentation.
    """
    x = torch.as_tensor(image, dtype=torch.float32, device=device)
    y = torch.as_tensor(label.astype(np.int64), device=device)
    if spatial_dims == 2:
        if x.ndim == 4:  # a volume: its slices
            axis = slice_axis % 3
            x = x.movedim(1 + axis, 0)
            y = y.movedim(axis, 0)
        else:
            x, y = x[None], y[None]
        x = F.interpolate(x, size=patch_size, mode="bilinear", align_corners=False)
        y = F.interpolate(y[:, None].float(), size=patch_size, mode="nearest")[:, 0].long()
        return float(qc(x, y).mean())
    x = F.interpolate(x[None], size=patch_size, mode="trilinear", align_corners=False)
    y = F.interpolate(y[None, None].float(), size=patch_size, mode="nearest")[:, 0].long()
    return float(qc(x, y).mean())


def plausibility(row: dict[str, Any]) -> list[str]:
    """Why a patient's read-outs are implausible (empty list: plausible)."""
    problems = []
    for key in ("LV_EF", "RV_EF"):
        value = row.get(key, math.nan)
        if not (PLAUSIBLE_EF[0] <= value <= PLAUSIBLE_EF[1]):
            problems.append(f"{key} {value:.0f}% outside {PLAUSIBLE_EF[0]:.0f}-"
                            f"{PLAUSIBLE_EF[1]:.0f}%")
    ed, es = row.get("Myo_mass_ED", 0.0), row.get("Myo_mass_ES", 0.0)
    if ed <= 0 or abs(es / ed - 1) > MASS_CONSISTENCY:
        problems.append("myocardial mass differs between ED and ES by more than "
                        f"{MASS_CONSISTENCY:.0%}")
    return problems


def quality_control(qc_run: str | Path, pred: str | Path | None = None, cases: str = "val",
                    out: str | Path | None = None, threshold: float | None = None,
                    spec: CardiacSpec | None = None,
                    images: str | Path | None = None) -> dict[str, Any]:
    """Score segmentations with a semiqc run's QC network; write the tables.

    Args:
        qc_run: A trained ``semiqc`` run folder.
        pred: Folder of predictions ``<case><ending>``; None predicts with the run's own
            segmenter.
        cases: "val", "test" or "all" of the data set, or a file of case ids (without
            ``images``; see :func:`semiseg.api.evaluate_run`).
        out: Output folder (default ``<qc_run>/qc``; with ``images``
            ``<qc_run>/qc-<images folder name>``).
        threshold: Predicted quality below which a case is suspect (default the run's
            ``qc_threshold``).
        spec: Cardiac structure names and phase patterns for the clinical read-outs.
        images: A folder of new scans (``<case>_0000<ending>``, as ``semiseg predict``
            reads them) instead of the run's data set: the scans at inference, with no
            labels; with ``pred``, those that have a prediction there. The run's data
            set need not be present (its data profile stands in).

    Returns:
        ``{"cases": rows, "patients": rows, "summary": ..., "out": folder}``.
    """
    from semiseg.api import load_trained
    from semiseg.data.loading import normalize_image
    from semiseg.engine.runtime import resolve_amp
    from semiseg.evaluation import class_dice, predict_with_config

    run_dir = Path(qc_run)
    config, method, dataset = load_trained(run_dir, need_cases=images is None)
    qc = getattr(method, "qc", None)
    if qc is None:
        raise SemisegError(f"{run_dir}: a {config.method.name} run has no quality network; "
                           "train one with method.name=semiqc")
    threshold = method.config.qc_threshold if threshold is None else threshold
    device = next(method.parameters()).device
    rows, labels_by_case = [], {}
    for case, given in _judged_cases(run_dir, dataset, cases, pred, images):
        case_id = case.case_id
        image = normalize_image(case.image, config.data.normalize)
        seg = given if given is not None else predict_with_config(
            method.predictor(), image, config, device, resolve_amp(config.train.amp, device),
            final=True, geometry=case.geometry, name=case_id)
        quality = case_quality(qc, image, seg, config.data.spatial_dims,
                               config.data.patch_size, config.data.slice_axis, device)
        row: dict[str, Any] = {"case": case_id, "predicted_quality": quality,
                               "suspect": quality < threshold}
        if case.label is not None:
            row["true_dice"] = float(class_dice(seg, case.label, dataset.num_classes).mean())
        rows.append(row)
        labels_by_case[case_id] = (seg, case.label, case.geometry)
    summary: dict[str, Any] = {"threshold": threshold, "cases": len(rows),
                               "suspect": int(sum(r["suspect"] for r in rows))}
    truth = [r["true_dice"] for r in rows if "true_dice" in r]
    if len(truth) > 2:
        rho, p = stats.spearmanr([r["predicted_quality"] for r in rows if "true_dice" in r],
                                 truth)
        summary["spearman"] = {"rho": float(rho), "p": float(p), "n": len(truth)}
    spec = spec or CardiacSpec()
    patients: list[dict[str, Any]] = []
    if all(name in dataset.labels for name in (spec.lv, spec.rv, spec.myo)):
        spacing = {c: (g.spacing if g.spacing_known else None)
                   for c, (_, _, g) in labels_by_case.items()}
        patients = clinical_rows({c: (s, t) for c, (s, t, _) in labels_by_case.items()},
                                 dataset.labels, spec, spacing)
        suspect_cases = {r["case"] for r in rows if r["suspect"]}
        for row in patients:
            problems = plausibility(row)
            row["implausible"] = "; ".join(problems)
            row["suspect"] = bool(problems) or row["ed"] in suspect_cases or \
                row["es"] in suspect_cases
        if any("LV_EF_ref" in r for r in patients):  # labelled cases: agreement with truth
            summary["clinical"] = clinical_summary(patients)
        summary["suspect_patients"] = int(sum(r["suspect"] for r in patients))
    out_dir = Path(out) if out else run_dir / ("qc" if images is None
                                               else f"qc-{Path(images).name}")
    write_rows_csv(rows, out_dir / "qc_cases.csv")
    if patients:
        write_rows_csv(patients, out_dir / "qc_patients.csv")
    write_json(summary, out_dir / "qc_summary.json")
    from semiseg.report_html import write_qc_report

    shown = Path(pred) / "previews" if pred is not None else None
    write_qc_report(out_dir, rows, patients, summary,
                    shown if shown is not None and shown.is_dir() else None)
    return {"cases": rows, "patients": patients, "summary": summary, "out": out_dir}


def _judged_cases(run_dir: Path, dataset: NnUNetDataset, cases: str, pred: str | Path | None,
                  images: str | Path | None) -> Iterator[tuple[Case, np.ndarray | None]]:
    """Each case to judge with its given segmentation (None: the run predicts it).

    From the data set (``cases`` of it, labels loaded for the true Dice) or from a folder
    of new scans (``images``, no labels); a given segmentation must have its image's shape.
    """
    from semiseg.api import select_case_ids
    from semiseg.evaluation import load_prediction_folder
    from semiseg.predict import input_cases

    if images is None:
        source, folder = dataset, None
        ids = select_case_ids(cases, run_dir, dataset.training_cases)
    else:
        source, ids = input_cases(dataset, Path(images))
        folder = Path(images).name
        if pred is not None:
            ids = [c for c in ids if (Path(pred) / f"{c}{dataset.file_ending}").is_file()]
            if not ids:
                raise DataError(f"{pred}: no prediction <case>{dataset.file_ending} matches an "
                                f"image of {images}")
    for case_id in ids:
        case = source.load_case(case_id, with_label=images is None, folder=folder)
        if pred is None:
            yield case, None
            continue
        (seg,) = load_prediction_folder(Path(pred), dataset, [case_id])
        if seg.shape != case.image.shape[1:]:
            raise DataError(f"{Path(pred) / (case_id + dataset.file_ending)}: shape {seg.shape} "
                            f"differs from the image's {case.image.shape[1:]}")
        yield case, seg
