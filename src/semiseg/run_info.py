"""`semiseg info`: what a run folder holds, how far it got, and what to ship to predict.

Read from the folder's small files only (``config.yaml``, ``split.json``,
``data_profile.json``, ``train.csv``, ``val.csv``, ``result.json``); checkpoints are not
loaded, so it answers at once for a folder of many runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semiseg.data.profile import PROFILE_FILE, read_profile
from semiseg.data.splits import load_split
from semiseg.engine.logging import read_csv_rows, read_val_curve
from semiseg.engine.loop import read_run_config
from semiseg.run_records import read_result

# what `semiseg predict` needs of a run folder (with its data profile)
SHIP = ("config.yaml", PROFILE_FILE, "checkpoints/best.pt")

# A healthy run's val Dice moves by a few points between its best validation and the end
# (the acdc-dev records of Mean Teacher, UA-MT, UniMatch, BCP, ABD, M3HL and CAD: at most 4.7);
# 5 or more points lower at the end means it degraded, and a user should know it before
# trusting the schedule (BENCHMARKS.md, "Runs that degrade after their best checkpoint").
DEGRADED_POINTS = 5.0


def fall_note(best_step: int, best_dice: float, last: tuple[int, float] | None) -> str | None:
    """A one-line warning when a run's last validation is far below its best, else None.

    Args:
        best_step: Step of the best (selected) checkpoint.
        best_dice: Its mean val Dice, in [0, 1].
        last: ``(step, mean val Dice)`` of the last validation, or None.
    """
    if last is None:
        return None
    fall = 100 * (best_dice - last[1])
    if fall < DEGRADED_POINTS:
        return None
    return (f"note: val Dice fell {fall:.1f} points after the best checkpoint "
            f"({100 * best_dice:.1f} % at step {best_step}) to {100 * last[1]:.1f} % at the "
            f"last validation (step {last[0]}): the run degraded; the best checkpoint is the "
            "one evaluated and used for prediction")


def logged_rows(run_dir: str | Path) -> list[dict[str, str]]:
    """The rows of a run's ``train.csv`` (``step``, losses, ``lr``, ``it_per_s``); [] before any.

    A damaged last row is left out: a run that is training may be appending it as we read.

    Raises:
        DataError: an earlier row's ``step`` or ``it_per_s`` is not a number (a damaged or
            hand-edited log), naming the file, the line and the column.
    """
    path = Path(run_dir) / "train.csv"
    if not path.is_file():
        return []
    return read_csv_rows(path, numbers=("step",), blank_or_numbers=("it_per_s",),
                         partial_last_row=True)


def last_logged_row(run_dir: str | Path) -> dict[str, str] | None:
    """The last row of a run's ``train.csv``; None before the first logging step."""
    rows = logged_rows(run_dir)
    return rows[-1] if rows else None


def run_info(run_dir: str | Path) -> dict[str, Any]:
    """A run folder's summary (see the module docstring).

    Raises:
        SemisegError: no such folder, or not a run folder (no ``config.yaml``), naming it.
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    info: dict[str, Any] = {
        "run": str(run_dir), "method": config.method.name, "network": config.model.name,
        "data": config.data.root, "spatial_dims": config.data.spatial_dims,
        "patch_size": config.data.patch_size, "iterations": config.train.iterations,
        "seed": config.train.seed}
    if config.data.folds:
        info["fold"] = f"{config.data.fold} of {config.data.folds}"
    if config.train.init_from:  # which pre-training (or earlier run) its weights started from
        info["init_from"] = config.train.init_from
    if (run_dir / "split.json").is_file():
        split = load_split(run_dir / "split.json")
        info["cases"] = {part: len(getattr(split, part))
                         for part in ("labeled", "unlabeled", "val", "test")}
    profile = read_profile(run_dir)
    if profile is not None:
        info["classes"] = profile.dataset(run_dir).class_names
    result_path = run_dir / "result.json"
    if result_path.is_file():
        result = read_result(result_path)
        info["status"] = "finished"
        info["best_step"] = result["best_step"]
        info["val_dice_at_selection"] = result["val_dice_at_selection"]
        curve = read_val_curve(run_dir)  # older records have no val_dice_last: read val.csv
        info["val_last"] = curve[-1] if curve else None
        info["val_dice"] = result["val"]["dice"]
        info["val_dice_per_class"] = {c: m["dice"] for c, m in result["val_per_class"].items()}
        if "clinical" in result:
            info["ef_error_pp"] = {k: result["clinical"][k]["mae"] for k in ("LV_EF", "RV_EF")
                                   if k in result["clinical"]}
        info["wall_minutes"] = result["wall_seconds"] / 60
        info["device"] = result.get("hardware") or result.get("device", "")
        info["sessions"] = result.get("sessions", [])
        info["version"] = result.get("provenance", {})
    else:
        row = last_logged_row(run_dir)
        step = int(float(row["step"])) if row else 0
        resumable = (run_dir / "checkpoints" / "last.pt").is_file()
        info["status"] = (f"unfinished at step {step} of {config.train.iterations}"
                          + ("; resume with semiseg train --resume" if resumable else ""))
    missing = [name for name in SHIP if not (run_dir / name).is_file()]
    info["portable"] = not missing
    info["ship"] = {name: (run_dir / name).stat().st_size for name in SHIP
                    if (run_dir / name).is_file()}
    if missing:
        info["missing_to_predict_without_data"] = missing
    return info


def format_run_info(info: dict[str, Any]) -> str:
    """The summary as a few readable lines."""
    lines = [f"{info['run']}: {info['method']} ({info['network']}, {info['spatial_dims']}D, "
             f"patch {'x'.join(map(str, info['patch_size']))}), seed {info['seed']}",
             f"  data: {info['data']}"
             + (f"; classes {', '.join(info['classes'][1:])}" if "classes" in info else "")]
    if "cases" in info:
        c = info["cases"]
        lines.append(f"  split: {c['labeled']} labeled, {c['unlabeled']} unlabeled, {c['val']} "
                     f"val, {c['test']} test cases"
                     + (f" (cross-validation fold {info['fold']})" if "fold" in info else ""))
    if "init_from" in info:
        lines.append(f"  started from: {info['init_from']}")
    lines.append(f"  status: {info['status']}")
    if "val_dice" in info:
        dice = info["val_dice"]
        per_class = ", ".join(f"{c} {100 * m['mean']:.1f}"
                              for c, m in info["val_dice_per_class"].items())
        lines.append(f"  val Dice {100 * dice['mean']:.2f} ± {100 * dice['std']:.2f} % over "
                     f"{dice['n']} cases ({per_class}) at step {info['best_step']} of "
                     f"{info['iterations']}")
        note = fall_note(info["best_step"], info["val_dice_at_selection"], info["val_last"])
        if note:
            lines.append(f"  {note}")
        if info.get("ef_error_pp"):
            lines.append("  EF error: " + ", ".join(
                f"{k.split('_')[0]} " + ("n/a" if v is None else f"{v:.1f} pp")  # null: undefined
                for k, v in info["ef_error_pp"].items()))
        version = info.get("version", {})
        lines.append(f"  trained in {info['wall_minutes']:.1f} min on {info['device']}"
                     + (f" (semiseg {version.get('semiseg')}, git {version.get('git')})"
                        if version else ""))
        if len(info.get("sessions", [])) > 1:  # resumed: which steps ran where, on what code
            lines += [f"    steps {s['steps'][0]}-{s['steps'][1]}: {s['wall_seconds'] / 60:.1f} min"
                      f" on {s['hardware'] or 'an unrecorded machine'}"
                      + (f", git {s['git']}" if s["git"] else "") for s in info["sessions"]]
    size = sum(info["ship"].values()) / 2**20
    missing = info.get("missing_to_predict_without_data", [])
    if info["portable"]:
        lines.append(f"  to predict elsewhere, ship {', '.join(SHIP)} ({size:.1f} MiB)")
    elif "checkpoints/best.pt" in missing and info["status"] == "finished":
        # a run record (benchmarks/results/): scores and logs, never weights
        lines.append("  no checkpoints/best.pt: its scores can be read and compared, but "
                     "predicting needs the run trained again")
    else:
        lines.append(f"  predicting needs its data set too (missing: {', '.join(missing)})")
    return "\n".join(lines)
