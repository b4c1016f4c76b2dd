from pathlib import Path

import numpy as np
import pytest

from semiseg.config import load_config
from semiseg.data.nnunet import open_dataset
from semiseg.evaluation import evaluate_predictions, write_evaluation
from semiseg.metrics.report import format_summary


def test_heads_get_head_circumference_error_in_mm(tiny_heads: Path) -> None:
    dataset = open_dataset(tiny_heads)
    cases = [dataset.load_case(c) for c in dataset.training_cases[:3]]
    config = load_config(None, [f"data.root={tiny_heads}"])
    perfect = [c.label.copy() for c in cases]
    rows, summary = evaluate_predictions(perfect, cases, dataset.class_names, config)
    assert all(r["units"] == "mm" for r in rows)
    for row, case in zip(rows, cases, strict=True):
        assert row["hc_ref_mm"] == case.info["head_circumference_mm"]
        # the truth mask's ellipse matches the drawn one within a few percent at 32x48
        assert row["hc_abs_diff_mm"] < 0.05 * row["hc_ref_mm"]
    assert "hc_abs_diff_mm" in summary["mean"]
    assert "hc_abs_diff_mm" in format_summary(summary)
    shrunk = [np.zeros_like(p) for p in perfect]
    for s, p in zip(shrunk, perfect, strict=True):
        s[p > 0] = 1
        s[:, : s.shape[1] // 2] = 0  # half a head: a wrong circumference
    rows2, _ = evaluate_predictions(shrunk, cases, dataset.class_names, config)
    assert all(b["hc_abs_diff_mm"] > a["hc_abs_diff_mm"] for a, b in zip(rows, rows2,
                                                                         strict=True))


def test_written_evaluation_has_the_hc_agreement_plot(tiny_heads: Path, tmp_path: Path) -> None:
    from PIL import Image

    dataset = open_dataset(tiny_heads)
    cases = [dataset.load_case(c) for c in dataset.training_cases[:4]]
    config = load_config(None, [f"data.root={tiny_heads}"])
    preds = [c.label.copy() for c in cases]
    rows, summary = evaluate_predictions(preds, cases, dataset.class_names, config)
    assert write_evaluation(rows, summary, preds, cases, dataset.labels, tmp_path) is None
    assert {p.name for p in tmp_path.iterdir()} == {"metrics.csv", "metrics.json",
                                                   "summary.json", "hc.png"}
    width, height = Image.open(tmp_path / "hc.png").size
    assert width > 200 and height > 400  # scatter over Bland-Altman


def test_agreement_plot_needs_two_finite_pairs(tmp_path: Path) -> None:
    from semiseg.visualize import save_agreement

    assert save_agreement([("EF", "%", [50.0, np.nan], [55.0, 60.0])], tmp_path / "a.png") is None
    assert not (tmp_path / "a.png").exists()
    path = save_agreement([("EF", "%", [50.0, 40.0, 61.0], [55.0, 42.0, 60.0]),
                           ("EDV", "mL", [150, 120, 180], [140, 125, 170])], tmp_path / "b.png")
    assert path is not None and path.stat().st_size > 10_000


def test_no_reference_no_hc_columns(tiny_dataset: Path) -> None:
    dataset = open_dataset(tiny_dataset)
    case = dataset.load_case(dataset.training_cases[0])
    config = load_config(None, [f"data.root={tiny_dataset}"])
    rows, summary = evaluate_predictions([case.label], [case], dataset.class_names, config)
    assert "hc_mm" not in rows[0] and "hc_abs_diff_mm" not in summary["mean"]
    assert rows[0]["dice"] == pytest.approx(1.0)


def test_empty_prediction_misses_the_whole_circumference(tiny_heads: Path) -> None:
    dataset = open_dataset(tiny_heads)
    case = dataset.load_case(dataset.training_cases[0])
    empty = [np.zeros_like(case.label)]
    config = load_config(None, [f"data.root={tiny_heads}"])
    rows, _ = evaluate_predictions(empty, [case], dataset.class_names, config)
    assert rows[0]["hc_mm"] == 0 and rows[0]["hc_abs_diff_mm"] == rows[0]["hc_ref_mm"]
    config = load_config(None, [f"data.root={tiny_heads}", "eval.empty_distance=nan"])
    rows, summary = evaluate_predictions(empty, [case], dataset.class_names, config)
    assert np.isnan(rows[0]["hc_abs_diff_mm"]) and summary["mean"]["hc_abs_diff_mm"]["n"] == 0
