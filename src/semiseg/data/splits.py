"""Labeled / unlabeled / val splits by patient, seeded and saved as JSON.

Two file formats are read:

* semiseg's own: ``{"labeled": [...], "unlabeled": [...], "val": [...], "test": [...]}``
  (case ids), as written by :func:`save_split`.
* a data set's ready-made ``splits.json``: ``{"train": [...], "val": [...],
  "labeled_patients_order" | "labeled_order": [...]}``; the labeled set is then the
  first N patients of that order (all their cases, e.g. both ACDC frames).

Scans without a mask (a data set's ``imagesUnlabeled``) join the unlabeled part of any
split (:func:`add_unlabeled_scans`), except those of val or test patients.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from semiseg.atomic import write_text_atomic
from semiseg.data.io import read_json_object
from semiseg.errors import DataError

_ORDER_KEYS = ("labeled_patients_order", "labeled_order")


@dataclass
class Split:
    """Case ids of each part; a patient's cases are always in one part."""

    labeled: list[str]
    unlabeled: list[str]
    val: list[str]
    test: list[str] = field(default_factory=list)
    patients: dict[str, str] = field(default_factory=dict)  # case id -> patient id

    def all_training(self) -> list[str]:
        """Labeled then unlabeled case ids."""
        return self.labeled + self.unlabeled


def patient_of(case_id: str, group_by: str = "", patient_order: list[str] | None = None) -> str:
    r"""Patient id of a case.

    Args:
        case_id: e.g. ``patient003_frame01``.
        group_by: Regex whose first group is the patient id (``^(patient\d+)``).
        patient_order: Known patient ids; the longest one that prefixes ``case_id`` wins.
    """
    if group_by:
        match = re.search(group_by, case_id)
        if match and match.groups():
            return match.group(1)
        return case_id
    if patient_order:
        hits = [p for p in patient_order if case_id == p or case_id.startswith(p + "_")]
        if hits:
            return max(hits, key=len)
    return case_id


# group_by that takes the case id before its last "_" as the patient (patient001_frame01)
STEM_GROUP_BY = "^(.+)_[^_]+$"


def split_file(root: str | Path, configured: str | None = None) -> str | None:
    """The split file a run on the data set at ``root`` reads, or None (generated).

    Args:
        root: The data set folder.
        configured: ``data.split`` of the run, which wins over the data set's own
            ``splits.json``.
    """
    if configured:
        return configured
    own = Path(root) / "splits.json"
    return str(own) if own.is_file() else None


def ungrouped_patients_hint(cases: Sequence[str], group_by: str | None = None,
                            split_source: str | None = None) -> str | None:
    """A warning when case ids look like several scans per patient but nothing groups them.

    Without ``group_by`` and without a split file (``split_source``, which names the
    patients) every case is its own patient, so the two frames of one heart can land
    in training and val. The heuristic: the ids' stems before the last ``_`` repeat, yet
    they are neither one common prefix (``case_001``) nor a few large groups such as
    sites (``siteA_001``): at least 3 stems, some shared, none holding more than a
    quarter of the cases.

    Returns:
        The warning, naming an example and the ``group_by`` to set; None when something
        groups the cases or the ids do not look like that.
    """
    if group_by or split_source:
        return None
    stems: dict[str, list[str]] = {}
    for case in cases:
        if "_" in case:
            stems.setdefault(case.rsplit("_", 1)[0], []).append(case)
    shared = [members for members in stems.values() if len(members) > 1]
    largest = max((len(m) for m in stems.values()), default=0)
    if len(stems) < 3 or not shared or largest > max(2, len(cases) // 4):
        return None
    a, b = shared[0][:2]
    return (f"case ids look like several scans per patient ({a} and {b}), but nothing "
            "groups them: each case counts as its own patient, so one patient's scans can "
            "be split between training and val. If the id before the last '_' is the "
            f"patient, set data.group_by: '{STEM_GROUP_BY}' (semiseg data split --group-by)")


def _group(cases: list[str], group_by: str, order: list[str] | None) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for case in cases:
        groups.setdefault(patient_of(case, group_by, order), []).append(case)
    return groups


def labeled_budget(num_patients: int, num_labeled: int, labeled_percent: float) -> int:
    """Number of labeled patients: ``round(p/100 * n)`` when a percentage is given."""
    if labeled_percent > 0:
        return max(1, round(labeled_percent / 100 * num_patients))
    return num_labeled


def fold_patients(shuffled: list[str], folds: int, fold: int) -> tuple[list[str], list[str]]:
    """Cross-validation: ``(val, rest)`` of fold ``fold`` of ``folds``, in shuffled order.

    Patients are dealt round-robin, so fold sizes differ by at most one and the folds
    together hold every patient exactly once.

    Raises:
        DataError: fewer patients than folds.
    """
    if folds > len(shuffled):
        raise DataError(f"cannot make {folds} cross-validation folds of {len(shuffled)} "
                        "patients; lower data.folds")
    val = set(shuffled[fold::folds])
    return [p for p in shuffled if p in val], [p for p in shuffled if p not in val]


def make_split(
    cases: list[str],
    num_labeled: int,
    seed: int = 0,
    val_fraction: float = 0.2,
    group_by: str = "",
    labeled_percent: float = 0.0,
    folds: int = 0,
    fold: int = 0,
) -> Split:
    """A seeded split by patient: val patients first, then the labeled ones, rest unlabeled.

    With ``folds`` >= 2 the val patients are fold ``fold`` of a K-fold partition of the
    patients shuffled by ``seed`` (:func:`fold_patients`) instead of ``val_fraction``.

    Raises:
        DataError: too few patients for the requested parts.
    """
    groups = _group(sorted(cases), group_by, None)
    patients = sorted(groups)
    random.Random(seed).shuffle(patients)
    if folds:
        val_patients, train_patients = fold_patients(patients, folds, fold)
    else:
        n_val = max(1, round(val_fraction * len(patients)))
        val_patients, train_patients = patients[:n_val], patients[n_val:]
    n_lab = labeled_budget(len(train_patients), num_labeled, labeled_percent)
    if n_lab >= len(train_patients):
        raise DataError(
            f"cannot label {n_lab} of {len(train_patients)} training patients and keep "
            "unlabeled ones; lower data.num_labeled"
        )
    part = {"val": val_patients, "labeled": train_patients[:n_lab],
            "unlabeled": train_patients[n_lab:]}
    split = Split(**{k: sorted(c for p in v for c in groups[p]) for k, v in part.items()})
    split.patients = {c: p for p, cs in groups.items() for c in cs}
    return split


def split_from_order(
    spec: dict,
    path: Path,
    num_labeled: int,
    group_by: str = "",
    labeled_percent: float = 0.0,
    folds: int = 0,
    fold: int = 0,
    seed: int = 0,
) -> Split:
    """Labeled = all cases of the first N patients of the file's labeled order.

    With ``folds`` >= 2 the file's train and val patients are pooled and split into
    folds (shuffled by ``seed``); fold ``fold`` is the val set, the labeled patients are
    the first N of the order outside it, and the test cases stay test cases.
    """
    order_key = next(k for k in _ORDER_KEYS if k in spec)
    order = [str(p) for p in spec[order_key]]
    train = [str(c) for c in spec["train"]]
    groups = _group(train, group_by, order)
    missing = [p for p in order if p not in groups]
    if missing:
        raise DataError(f"{path}: {order_key} names patients without train cases: {missing[:3]}")
    val = [str(c) for c in spec.get("val", [])]
    test = [str(c) for c in spec.get("test", [])]
    patients = {c: patient_of(c, group_by, order) for c in train}
    # val/test patients are not in the order: name them the way train cases name theirs
    # (ACDC: "<patient>_frame01"), so that their other scans can be kept out of training
    patients.update(patients_like_train(val + test, patients, group_by))
    if folds:
        pool = train + val
        shuffled = sorted({patients[c] for c in pool})
        random.Random(seed).shuffle(shuffled)
        val_patients, rest = fold_patients(shuffled, folds, fold)
        held_out = set(val_patients)
        order = [p for p in order if p not in held_out]
        n_train_patients = len(rest)
        train, val = ([c for c in pool if patients[c] not in held_out],
                      [c for c in pool if patients[c] in held_out])
    else:
        n_train_patients = len(groups)
    n_lab = labeled_budget(n_train_patients, num_labeled, labeled_percent)
    if n_lab >= len(order):
        raise DataError(f"{path}: asked for {n_lab} labeled patients, order lists {len(order)}"
                        + (f" outside val fold {fold}" if folds else ""))
    labeled_patients = set(order[:n_lab])
    labeled = [c for c in train if patients[c] in labeled_patients]
    unlabeled = [c for c in train if c not in set(labeled)]
    return Split(labeled=labeled, unlabeled=unlabeled, val=val, test=test, patients=patients)


def patients_like_train(cases: list[str], train_patients: dict[str, str],
                        group_by: str = "") -> dict[str, str]:
    """Patient ids of cases outside a labeled order (val, test), named as train cases are.

    ``train_patients`` (case -> patient) shows how case ids extend patient ids (ACDC:
    ``patient003_frame01`` -> ``patient003``): a case with one of those suffixes belongs
    to the patient before it; else (or with ``group_by``) :func:`patient_of` decides.
    """
    suffixes = sorted({c[len(p):] for c, p in train_patients.items()
                       if c != p and c.startswith(p)}, key=len, reverse=True)
    return {case: patient_of(case, group_by) if group_by else next(
        (case[: -len(s)] for s in suffixes if case.endswith(s) and len(case) > len(s)), case)
        for case in cases}


def load_split(
    path: str | Path,
    num_labeled: int = 0,
    group_by: str = "",
    labeled_percent: float = 0.0,
    folds: int = 0,
    fold: int = 0,
    seed: int = 0,
) -> Split:
    """Read either split format (see the module docstring).

    ``folds``/``fold``/``seed``: cross-validation over a file with a labeled order (see
    :func:`split_from_order`); a saved semiseg split is one fixed split and cannot be
    cross-validated.
    """
    path = Path(path)
    spec = read_json_object(path, "split file does not exist")
    if "labeled" in spec:
        if folds:
            raise DataError(f"{path}: a saved split fixes its val cases; cross-validation "
                            "(data.folds) needs a data set's splits.json or a generated split")
        for key in ("labeled", "unlabeled", "val"):
            if not isinstance(spec.get(key), list):
                raise DataError(f"{path}: key {key!r} must be a list of case ids")
        patients = spec.get("patients") or {}
        return Split(labeled=list(map(str, spec["labeled"])),
                     unlabeled=list(map(str, spec["unlabeled"])), val=list(map(str, spec["val"])),
                     test=list(map(str, spec.get("test", []))), patients=dict(patients))
    if "train" in spec and any(k in spec for k in _ORDER_KEYS):
        return split_from_order(spec, path, num_labeled, group_by, labeled_percent,
                                folds, fold, seed)
    raise DataError(
        f"{path}: unknown split format; expected keys labeled/unlabeled/val, or train/val "
        f"with one of {_ORDER_KEYS}"
    )


def add_unlabeled_scans(split: Split, scans: list[str], group_by: str = "") -> list[str]:
    """Put scans that have no mask into the split's unlabeled part (in place).

    A scan already in a part stays there (a saved split lists them). A scan of a val or
    test patient is left out: training on it would leak that patient into model
    selection or the test score.

    Args:
        split: The split to extend.
        scans: Case ids of the data set's scans without a label.
        group_by: Regex whose first group is the patient id (as for the split).

    Returns:
        The scans left out, sorted.
    """
    placed = set(split.labeled) | set(split.unlabeled) | set(split.val) | set(split.test)
    known_patients = sorted(set(split.patients.values()))
    held_out = {split.patients.get(c, c) for c in split.val + split.test}
    left_out = []
    for scan in sorted(scans):
        if scan in placed:
            continue
        patient = patient_of(scan, group_by, known_patients)
        if patient in held_out:
            left_out.append(scan)
            continue
        split.unlabeled.append(scan)
        split.patients[scan] = patient
    return left_out


def validate_split(split: Split, available: list[str], source: str,
                   without_label: list[str] | tuple[str, ...] = ()) -> None:
    """Every case exists, no case is in two parts, no patient straddles parts.

    Args:
        split: The split.
        available: Case ids that have a label.
        source: Where the split came from (for messages).
        without_label: Case ids of scans without a label; only the unlabeled part may
            hold them, and they may share a patient with labeled cases (not val/test).

    Raises:
        DataError: naming the split source and the first offending case.
    """
    unlabeled_only = set(without_label)
    for name in ("labeled", "val", "test"):
        bad = next((c for c in getattr(split, name) if c in unlabeled_only), None)
        if bad is not None:
            raise DataError(f"{source}: {name} case {bad!r} has no label (imagesUnlabeled)")
    known = set(available) | unlabeled_only
    parts = {"labeled": split.labeled, "unlabeled": split.unlabeled, "val": split.val,
             "test": split.test}
    seen: dict[str, str] = {}
    for name, cases in parts.items():
        for case in cases:
            if not re.fullmatch(r"[A-Za-z0-9_.\-]+", case) or case.startswith("."):
                raise DataError(f"{source}: case id {case!r} in {name!r} is not a plain name")
            if case not in known:
                raise DataError(f"{source}: {name} case {case!r} is not in the data set")
            if case in seen:
                where = (f"listed twice in {name!r}" if seen[case] == name
                         else f"in both {seen[case]!r} and {name!r}")
                raise DataError(f"{source}: case {case!r} is {where}")
            seen[case] = name
    if not split.labeled:
        raise DataError(f"{source}: no labeled cases")
    if not split.val:
        raise DataError(f"{source}: no val cases (model selection needs a validation set)")
    part_of_patient: dict[str, str] = {}
    for name, cases in parts.items():
        for case in cases:
            if case in unlabeled_only:
                continue  # checked below: may share a patient with labeled cases
            patient = split.patients.get(case, case)
            other = part_of_patient.setdefault(patient, name)
            if other != name:
                raise DataError(
                    f"{source}: patient {patient!r} has cases in both {other!r} and {name!r}"
                )
    for case in split.unlabeled:  # a labeled patient's other scans are training data too
        part = part_of_patient.get(split.patients.get(case, case), "unlabeled")
        if case in unlabeled_only and part in ("val", "test"):
            raise DataError(f"{source}: unlabeled scan {case!r} belongs to a {part} patient")


def save_split(split: Split, path: str | Path) -> None:
    """Write the split as semiseg JSON (atomically)."""
    write_text_atomic(path, json.dumps(asdict(split), indent=1))
