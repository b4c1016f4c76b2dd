"""Evaluation of a run's val predictions: semiseg's metrics vs medpy, values and wall time.

Usage: python benchmarks/eval_vs_medpy.py RUN_DIR [--repeats 3]
Reads RUN_DIR/eval/predictions (written at the end of training) and the run's data set;
times (a) semiseg's whole `evaluate` of the run (load, predict, metrics, write) and
(b) the metric computation alone, for semiseg and for medpy.metric.binary (dc, jc,
hd95, asd) on the same arrays, and reports the largest difference per metric.
medpy raises on empty masks; such class/case pairs are counted and left out of (b).
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from medpy.metric import binary

from semiseg.api import evaluate_run
from semiseg.data.nnunet import open_dataset
from semiseg.engine.loop import read_run_config
from semiseg.evaluation import load_prediction_folder
from semiseg.metrics.report import case_metrics

parser = argparse.ArgumentParser()
parser.add_argument("run")
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()
run = Path(args.run)
config = read_run_config(run)
ds = open_dataset(config.data.root)
val = json.loads((run / "split.json").read_text())["val"]
truths = [ds.load_case(c).label for c in val]
preds = load_prediction_folder(run / "eval" / "predictions", ds, val)

t_full = []
for _ in range(args.repeats):
    t = time.perf_counter()
    evaluate_run(run, "best", "val", run / "eval-bench")
    t_full.append(time.perf_counter() - t)

t_ours, t_medpy, diffs = [], [], {m: 0.0 for m in ("dice", "jaccard", "hd95", "asd")}
for _ in range(args.repeats):
    t = time.perf_counter()
    ours = [case_metrics(p, g, ds.class_names) for p, g in zip(preds, truths, strict=True)]
    t_ours.append(time.perf_counter() - t)
    t = time.perf_counter()
    ref = []
    for p, g in zip(preds, truths, strict=True):
        rows = []
        for k in range(1, ds.num_classes):
            pk, gk = p == k, g == k
            if not (pk.any() and gk.any()):
                rows.append(None)
                continue
            rows.append({"dice": binary.dc(pk, gk), "jaccard": binary.jc(pk, gk),
                         "hd95": binary.hd95(pk, gk), "asd": binary.asd(pk, gk)})
        ref.append(rows)
    t_medpy.append(time.perf_counter() - t)
skipped = sum(r is None for rows in ref for r in rows)
for o_rows, r_rows in zip(ours, ref, strict=True):
    for o, r in zip(o_rows, r_rows, strict=True):
        if r is not None:
            for m in diffs:
                diffs[m] = max(diffs[m], abs(o[m] - r[m]))
print(json.dumps({
    "run": str(run), "cases": len(val), "classes": ds.num_classes - 1,
    "semiseg_evaluate_whole_s_median": statistics.median(t_full),
    "metrics_only_semiseg_s_median": statistics.median(t_ours),
    "metrics_only_medpy_s_median": statistics.median(t_medpy),
    "max_abs_difference": diffs, "pairs_skipped_for_medpy_empty": skipped,
    "repeats": args.repeats}, indent=1))
