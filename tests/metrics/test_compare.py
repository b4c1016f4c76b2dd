"""Paired per-patient comparison of methods: hand-checkable numbers."""

import json
import math
from pathlib import Path

import pytest
from scipy.stats import wilcoxon

from semiseg.errors import SemisegError
from semiseg.metrics.compare import (
    case_scores,
    format_comparison,
    paired_comparison,
    patient_scores,
)


def _run(root: Path, name: str, rows: list[tuple[str, str, float, float]],
         patients: dict[str, str] | None = None) -> Path:
    """A run folder with eval/val_metrics.csv rows (case, class, dice, hd95)."""
    run = root / name
    (run / "eval").mkdir(parents=True)
    lines = ["case,class,dice,jaccard,hd95"]
    lines += [f"{c},{k},{d},{d / (2 - d)},{'' if math.isnan(h) else h}" for c, k, d, h in rows]
    (run / "eval" / "val_metrics.csv").write_text("\n".join(lines) + "\n")
    (run / "split.json").write_text(json.dumps({"labeled": [], "unlabeled": [], "val": [],
                                                "patients": patients or {}}))
    return run


def test_case_scores_average_classes_and_skip_nan(tmp_path: Path) -> None:
    run = _run(tmp_path, "a", [("c1", "RV", 0.8, 2.0), ("c1", "LV", 0.6, math.nan),
                               ("c2", "RV", 0.5, math.nan), ("c2", "LV", 0.7, math.nan)])
    assert case_scores(run) == pytest.approx({"c1": 0.7, "c2": 0.6})
    assert case_scores(run, "hd95") == {"c1": 2.0}  # c2 has no distance at all
    with pytest.raises(SemisegError, match="no column 'asd'"):
        case_scores(run, "asd")
    with pytest.raises(SemisegError, match="missing: no such run folder"):
        case_scores(tmp_path / "missing")
    (tmp_path / "unfinished").mkdir()
    with pytest.raises(SemisegError, match="no per-case metrics"):
        case_scores(tmp_path / "unfinished")
    table = run / "eval" / "val_metrics.csv"
    table.write_text(table.read_text().replace("c2,RV,0.5", "c2,RV,0.5x"))
    with pytest.raises(SemisegError, match=r"val_metrics\.csv: line 4: dice '0\.5x' is not a"):
        case_scores(run)
    table.write_text(table.read_text().replace("c2,RV,0.5x", ",RV,0.5"))
    with pytest.raises(SemisegError, match=r"val_metrics\.csv: line 4: case is blank$"):
        case_scores(run)


def test_seeds_are_averaged_then_frames_per_patient(tmp_path: Path) -> None:
    # train cases name the patient convention; the val cases map to themselves (a split
    # written before val patients were named), so the ACDC suffix rule groups them
    train = {"patient001_frame01": "patient001", "patient001_frame02": "patient001"}
    s0 = _run(tmp_path, "s0", [("patient002_frame01", "LV", 0.9, 1.0),
                               ("patient002_frame02", "LV", 0.7, 1.0),
                               ("patient003_frame01", "LV", 0.4, 1.0)],
              {**train, "patient002_frame01": "patient002_frame01"})
    s1 = _run(tmp_path, "s1", [("patient002_frame01", "LV", 0.7, 1.0),
                               ("patient002_frame02", "LV", 0.5, 1.0),
                               ("patient003_frame01", "LV", 0.6, 1.0),
                               ("patient009_frame01", "LV", 0.1, 1.0)])  # not in s0: dropped
    assert patient_scores([s0, s1]) == pytest.approx({"patient002": 0.7, "patient003": 0.5})
    (s0 / "split.json").write_text('{"patients": ')  # a copy cut short: one line, not a traceback
    with pytest.raises(SemisegError, match=r"s0/split\.json: not valid JSON"):
        patient_scores([s0, s1])


def test_cross_validation_folds_are_pooled_not_intersected(tmp_path: Path) -> None:
    """Each fold run scores only its val patients: a case comes from the runs that have it."""
    runs = []
    for name, rows in (("f0-s0", [("a", "LV", 0.8, 1.0)]), ("f1-s0", [("b", "LV", 0.4, 1.0)]),
                       ("f0-s1", [("a", "LV", 0.6, 1.0)]), ("f1-s1", [("b", "LV", 0.2, 1.0)])):
        run = _run(tmp_path, name, rows)
        (run / "config.yaml").write_text(f"data:\n  folds: 2\n  fold: {name[1]}\n")
        runs.append(run)
    assert patient_scores(runs) == pytest.approx({"a": 0.7, "b": 0.3})
    # the same folders without a cross-validation config: only cases every run scored
    for run in runs:
        (run / "config.yaml").unlink()
    assert patient_scores(runs) == {}


def test_paired_statistics_by_hand() -> None:
    a = {f"p{i}": v for i, v in enumerate([0.9, 0.8, 0.7, 0.6, 0.5])}
    b = {f"p{i}": v - d for i, (v, d) in enumerate(zip(a.values(), [0.1, 0.2, 0.3, 0.4, 0.5],
                                                       strict=True))}
    b["only_b"] = 0.0
    stats = paired_comparison(a, b)
    assert stats["n"] == 5 and stats["mean_diff"] == pytest.approx(0.3)
    assert 0.1 <= stats["ci_low"] < 0.3 < stats["ci_high"] <= 0.5
    # 5 positive differences: exact two-sided p = 2 / 2^5
    assert stats["p_wilcoxon"] == pytest.approx(0.0625)
    assert (stats["wins"], stats["losses"], stats["ties"]) == (5, 0, 0)
    assert format_comparison(stats, 100).startswith("+30.0 [")
    assert format_comparison(stats, 100).endswith("], p=0.062, 5/0")
    assert paired_comparison(a, b, seed=0) == stats  # the bootstrap is seeded


def test_direction_ties_and_degenerate_cases() -> None:
    lower = paired_comparison({"p": 2.0, "q": 3.0, "r": 5.0}, {"p": 4.0, "q": 3.0, "r": 4.0},
                              metric="hd95")
    assert (lower["wins"], lower["losses"], lower["ties"]) == (1, 1, 1)  # lower HD95 wins
    mixed = {"p": 0.1, "q": -0.3, "r": 0.25, "s": -0.05, "t": 0.4}
    expected = wilcoxon(list(mixed.values())).pvalue
    assert paired_comparison(mixed, dict.fromkeys(mixed, 0.0))["p_wilcoxon"] == pytest.approx(
        expected)
    same = paired_comparison({"p": 0.5, "q": 0.6}, {"p": 0.5, "q": 0.6})
    assert same["p_wilcoxon"] == 1.0 and same["ci_low"] == same["ci_high"] == 0.0
    assert math.isnan(paired_comparison({"p": 0.5}, {"p": 0.4})["p_wilcoxon"])
    assert "p n/a" in format_comparison(paired_comparison({"p": 0.5}, {"p": 0.4}))
    with pytest.raises(SemisegError, match="share no scored val case"):
        paired_comparison({"p": 0.5}, {"q": 0.5})


def test_cli_compare(tmp_path: Path, capsys) -> None:
    from semiseg.cli import main

    a = _run(tmp_path, "a", [("p1", "LV", 0.9, 1.0), ("p2", "LV", 0.8, 2.0)])
    b = _run(tmp_path, "b", [("p1", "LV", 0.7, 3.0), ("p2", "LV", 0.7, 2.0)])
    assert main(["compare", str(a), "--vs", str(b)]) == 0
    out = capsys.readouterr().out
    assert "over 2 val patients" in out and "+15.0 [+10.0, +20.0], p=0.500, 2/0" in out
    assert main(["compare", str(a), "--vs", str(b), "--metric", "hd95"]) == 0
    assert "-1.0 [-2.0, +0.0], p=1.000, 1/0 (1 ties)" in capsys.readouterr().out
    assert main(["compare", str(a), "--vs", str(tmp_path / "none")]) == 2
    assert f"{tmp_path / 'none'}: no such run folder" in capsys.readouterr().err
