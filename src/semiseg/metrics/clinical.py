"""Cardiac clinical read-outs from segmentations, as the ACDC challenge evaluates them.

Per patient, from the end-diastolic (ED) and end-systolic (ES) label maps: LV and RV
cavity volumes at ED and ES (EDV, ESV), ejection fractions ``EF = (EDV - ESV) / EDV`` (in
%), myocardial volume and mass at ED (mass = volume x 1.05 g/mL). Volumes are in mL
when the voxel spacing is known (mm^3 / 1000) and in voxels otherwise (then the mass is
reported as a volume in voxels too); EF is unit-free. Which label is which structure,
and how case ids name patients and phases, come from :class:`CardiacSpec` (a config
section), never from code.

Agreement between predicted and reference read-outs follows the ACDC clinical
evaluation: Pearson correlation, bias (mean difference) and its standard deviation
(Bland-Altman limits of agreement = bias ± 1.96 std), plus the mean absolute error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semiseg.errors import ConfigError

READOUTS = ("LV_EDV", "LV_ESV", "LV_EF", "RV_EDV", "RV_ESV", "RV_EF", "Myo_mass_ED")


@dataclass
class CardiacSpec:
    """How a data set names its cardiac structures, patients and phases.

    Attributes:
        lv, rv, myo: Class names (dataset.json labels) of the LV cavity, RV cavity and
            LV myocardium.
        ed_pattern, es_pattern: Regexes matching the case ids of ED and ES frames; the
            patient id is the case id with the match removed.
        cine_pattern: Regex matching the case ids of the phases of a whole cine series
            (``semiseg data import dicom`` names them ``_phaseNN``); for new scans
            without named ED/ES frames, ED is the phase of largest and ES of smallest
            predicted LV volume (the volumetric definition).
        myo_density: Myocardial density in g/mL.
    """

    lv: str = "LV"
    rv: str = "RV"
    myo: str = "Myo"
    ed_pattern: str = r"_frame01$"
    es_pattern: str = r"_frame02$"
    cine_pattern: str = r"_phase\d+$"
    myo_density: float = 1.05


def structure_volumes(label: np.ndarray, labels: dict[str, int], spec: CardiacSpec,
                      spacing: Sequence[float] | None) -> dict[str, float]:
    """LV, RV and Myo volumes of one frame (mL with ``spacing`` in mm, else voxels)."""
    voxel = math.prod(spacing) / 1000.0 if spacing is not None else 1.0
    out = {}
    for key, name in (("LV", spec.lv), ("RV", spec.rv), ("Myo", spec.myo)):
        if name not in labels:
            raise ConfigError(f"clinical: class {name!r} is not a label of the data set "
                              f"({', '.join(labels)})")
        out[key] = float(np.count_nonzero(label == labels[name])) * voxel
    return out


def ejection_fraction(edv: float, esv: float) -> float:
    """``100 (EDV - ESV) / EDV`` in %, NaN for an empty ED cavity."""
    return 100.0 * (edv - esv) / edv if edv > 0 else math.nan


def patient_readouts(ed: np.ndarray, es: np.ndarray, labels: dict[str, int], spec: CardiacSpec,
                     spacing: Sequence[float] | None = None) -> dict[str, float]:
    """The read-outs of one patient from its ED and ES label maps (see module doc)."""
    return readouts_from_volumes(structure_volumes(ed, labels, spec, spacing),
                                 structure_volumes(es, labels, spec, spacing), spec,
                                 in_ml=spacing is not None)


def readouts_from_volumes(v_ed: dict[str, float], v_es: dict[str, float], spec: CardiacSpec,
                          in_ml: bool) -> dict[str, float]:
    """Read-outs from the ED and ES :func:`structure_volumes` (mass in g when ``in_ml``)."""
    density = spec.myo_density if in_ml else 1.0
    return {"LV_EDV": v_ed["LV"], "LV_ESV": v_es["LV"],
            "LV_EF": ejection_fraction(v_ed["LV"], v_es["LV"]),
            "RV_EDV": v_ed["RV"], "RV_ESV": v_es["RV"],
            "RV_EF": ejection_fraction(v_ed["RV"], v_es["RV"]),
            "Myo_mass_ED": v_ed["Myo"] * density,
            "Myo_mass_ES": v_es["Myo"] * density}


def pair_phases(case_ids: Sequence[str], spec: CardiacSpec) -> dict[str, tuple[str, str]]:
    """``patient -> (ED case, ES case)`` for every patient with both phases."""
    ed, es = {}, {}
    for case in case_ids:
        for pattern, found in ((spec.ed_pattern, ed), (spec.es_pattern, es)):
            if re.search(pattern, case):
                found[re.sub(pattern, "", case)] = case
    return {p: (ed[p], es[p]) for p in sorted(ed) if p in es}


def readouts_of_predictions(volumes: dict[str, dict[str, float]], in_ml: dict[str, bool],
                            spec: CardiacSpec) -> list[dict[str, Any]]:
    """Per-patient read-outs of new scans (no truth), from each case's structure volumes.

    Args:
        volumes: ``case id -> structure_volumes(...)`` of its prediction.
        in_ml: ``case id -> whether its volumes are in mL`` (spacing known).
        spec: Structure names and phase patterns.

    Returns:
        Rows ``{"patient", "ed", "es", "phases_from", "units", <readouts>}``, one per
        patient with both phases: named ED/ES frames (``phases_from`` "names"), or else
        two or more cine phases, ED and ES chosen by predicted LV volume ("LV volume").
    """
    pairs = {p: (ed, es, "names") for p, (ed, es) in pair_phases(list(volumes), spec).items()}
    cine: dict[str, list[str]] = {}
    for case in volumes:
        if re.search(spec.cine_pattern, case):
            cine.setdefault(re.sub(spec.cine_pattern, "", case), []).append(case)
    for patient, phases in cine.items():
        if patient not in pairs and len(phases) > 1:
            by_lv = sorted(phases, key=lambda c: volumes[c]["LV"])
            pairs[patient] = (by_lv[-1], by_lv[0], "LV volume")
    rows = []
    for patient, (ed, es, source) in sorted(pairs.items()):
        rows.append({"patient": patient, "ed": ed, "es": es, "phases_from": source,
                     "units": "mL" if in_ml[ed] else "voxel",
                     **readouts_from_volumes(volumes[ed], volumes[es], spec, in_ml[ed])})
    return rows


def agreement(predicted: Sequence[float], reference: Sequence[float]) -> dict[str, float]:
    """ACDC-style agreement: ``corr``, ``bias``, ``std`` (of differences), ``mae``, ``n``."""
    p, r = np.asarray(predicted, float), np.asarray(reference, float)
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    if len(p) == 0:
        return {"corr": math.nan, "bias": math.nan, "std": math.nan, "mae": math.nan, "n": 0}
    d = p - r
    corr = (float(np.corrcoef(p, r)[0, 1])
            if len(p) > 1 and p.std() > 0 and r.std() > 0 else math.nan)
    return {"corr": corr, "bias": float(d.mean()), "std": float(d.std()),
            "mae": float(np.abs(d).mean()), "n": len(p)}


def clinical_rows(cases: dict[str, tuple[np.ndarray, np.ndarray | None]],
                  labels: dict[str, int], spec: CardiacSpec,
                  spacing: dict[str, Sequence[float] | None]) -> list[dict[str, Any]]:
    """One row per patient: predicted read-outs, and reference ones and errors if known.

    Args:
        cases: ``case id -> (prediction, truth or None)`` label maps.
        labels: Class name -> value.
        spec: Structure names and phase patterns.
        spacing: ``case id -> spacing`` in mm, or None for voxel units.

    Returns:
        Rows ``{"patient", "<readout>", "<readout>_ref", "<readout>_err", ...}``.
    """
    rows = []
    for patient, (ed, es) in pair_phases(list(cases), spec).items():
        sp = spacing.get(ed)
        row: dict[str, Any] = {"patient": patient, "ed": ed, "es": es,
                               "units": "mL" if sp is not None else "voxel"}
        row.update(patient_readouts(cases[ed][0], cases[es][0], labels, spec, sp))
        if cases[ed][1] is not None and cases[es][1] is not None:
            ref = patient_readouts(cases[ed][1], cases[es][1], labels, spec, sp)
            for key, value in ref.items():
                row[f"{key}_ref"] = value
                row[f"{key}_err"] = row[key] - value
        rows.append(row)
    return rows


def readout_unit(key: str, volume_units: str) -> str:
    """Unit of a read-out's values and errors: "pp" (EF), "g" (mass), "mL" or "voxel"."""
    if key.endswith("_EF"):
        return "pp"
    if "mass" in key and volume_units == "mL":
        return "g"
    return volume_units


def clinical_summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Agreement of every read-out over patients (rows of :func:`clinical_rows`).

    Each entry is :func:`agreement`'s plus ``units`` (see :func:`readout_unit`).
    """
    volume_units = rows[0]["units"] if rows else "voxel"
    return {key: {**agreement([r[key] for r in rows if f"{key}_ref" in r],
                              [r[f"{key}_ref"] for r in rows if f"{key}_ref" in r]),
                  "units": readout_unit(key, volume_units)}
            for key in (*READOUTS, "Myo_mass_ES")}


def cardiac_evaluation(cases: dict[str, tuple[np.ndarray, np.ndarray | None]],
                       labels: dict[str, int],
                       spacing: dict[str, Sequence[float] | None],
                       spec: CardiacSpec | None = None,
                       ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]] | None:
    """Per-patient read-outs and their agreement, or None for data that is not cardiac.

    Every evaluation calls this: it answers only when the data set has the spec's three
    structures and at least one patient has both an ED and an ES case among ``cases``.

    Args:
        cases: ``case id -> (prediction, truth or None)`` label maps.
        labels: Class name -> value.
        spacing: ``case id -> spacing`` in mm, or None for voxel units.
        spec: Structure names and phase patterns (default: ACDC's).

    Returns:
        ``(rows of clinical_rows, clinical_summary of them)`` or None.
    """
    spec = spec or CardiacSpec()
    if not all(name in labels for name in (spec.lv, spec.rv, spec.myo)):
        return None
    if not pair_phases(list(cases), spec):
        return None
    rows = clinical_rows(cases, labels, spec, spacing)
    return rows, clinical_summary(rows)


def format_agreement(summary: dict[str, dict[str, Any]]) -> str:
    """A small text table of :func:`clinical_summary`: unit, MAE, bias ± std, corr, n."""
    lines = [f"{'read-out':<14}{'unit':>7}{'MAE':>10}{'bias ± std':>20}{'corr':>8}{'n':>5}"]
    for key, a in summary.items():
        bias = f"{a['bias']:.2f} ± {a['std']:.2f}"
        lines.append(f"{key:<14}{a.get('units', ''):>7}{a['mae']:>10.2f}{bias:>20}"
                     f"{a['corr']:>8.3f}{a['n']:>5}")
    return "\n".join(lines)
