"""Add the cardiac clinical read-outs to finished runs that predate them.

Runs finished before every evaluation computed them lack ``result["clinical"]``; their
saved val predictions (``eval/predictions``) and the data set's labels are all that is
needed, so nothing is retrained. Runs that already have it, or are not cardiac, are left
alone. Usage (then ``semiseg bench report OUT`` shows the EF columns):

    python benchmarks/backfill_clinical.py bench_out/acdc-dev
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semiseg.data.nnunet import open_dataset
from semiseg.data.splits import load_split
from semiseg.engine.loop import read_run_config
from semiseg.evaluation import clinical_evaluation, load_prediction_folder
from semiseg.metrics.report import write_json


def backfill(run_dir: Path) -> str:
    """Add ``clinical`` to one run's result.json; returns what happened, in words."""
    result_path = run_dir / "result.json"
    result = json.loads(result_path.read_text())
    if "clinical" in result:
        return "has it already"
    pred_dir = run_dir / "eval" / "predictions"
    if not pred_dir.is_dir():
        return "no saved predictions"
    config = read_run_config(run_dir)
    dataset = open_dataset(config.data.root, config.data.case_table)
    ids = load_split(run_dir / "split.json").val
    cases = [dataset.load_case(c) for c in ids]
    preds = load_prediction_folder(pred_dir, dataset, ids)
    clinical = clinical_evaluation(preds, cases, dataset.labels, run_dir / "eval", prefix="val_")
    if clinical is None:
        return "not cardiac data"
    result["clinical"] = clinical
    write_json(result, result_path)
    return (f"LV EF error {clinical['LV_EF']['mae']:.2f} pp, "
            f"RV EF error {clinical['RV_EF']['mae']:.2f} pp over {clinical['LV_EF']['n']} patients")


def main() -> None:
    """Backfill every finished run below the given folders."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="+", type=Path, help="bench output folders")
    for out in parser.parse_args().out:
        for result in sorted(out.glob("*/result.json")):
            print(f"{result.parent}: {backfill(result.parent)}")


if __name__ == "__main__":
    main()
