"""Prediction of a finished run's val volumes with its weights in the default and in the
channels-last layout (2D: channels_last, slice by slice; 3D: channels_last_3d, sliding
window), A B A B, median wall time per layout; the predictions must agree. Prints a
Markdown table:

    python benchmarks/channels_last_inference.py bench_out/la-dev/supervised-l4-s0 ...
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from semiseg.api import load_predictors
from semiseg.data.splits import load_split
from semiseg.engine.data import load_cases
from semiseg.engine.runtime import to_channels_last
from semiseg.evaluation import predict_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print("| run | val volumes | default layout s | channels-last s | speed-up | "
          "voxels labelled the same |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        print(compare_layouts(run, args.repeats), flush=True)


def compare_layouts(run: Path, repeats: int) -> str:
    """One table row: median prediction time per layout, and their agreement."""
    config, (predictor,), dataset = load_predictors([run])
    cases = load_cases(dataset, load_split(run / "split.json").val, config.data.normalize)
    times: dict[str, list[float]] = {"default": [], "channels_last": []}
    preds: dict[str, list[np.ndarray]] = {}
    for _ in range(repeats):
        for layout in times:
            if layout == "channels_last":
                to_channels_last(predictor.net)  # the layout evaluate/predict use
            else:
                for param in predictor.net.parameters():
                    param.data = param.data.contiguous()
            start = time.perf_counter()
            preds[layout] = predict_cases([predictor], cases)
            times[layout].append(time.perf_counter() - start)
    agree = np.mean([(a == b).mean() for a, b in zip(*preds.values(), strict=True)])
    base, fast = (statistics.median(t) for t in times.values())
    return (f"| {run.name} | {len(cases)} | {base:.2f} | {fast:.2f} | {base / fast:.2f}x | "
            f"{100 * agree:.3f} % |")


if __name__ == "__main__":
    main()
