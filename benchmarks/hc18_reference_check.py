"""How far is the head circumference of HC18's own masks from the challenge's reference?

The floor for any model's HC error: semiseg's HC (ellipse fit to the mask outline,
Ramanujan perimeter, pixel size from the case table) of every ground-truth mask against
the challenge's head_circumference_mm. Skips cleanly without the data.

Usage: python benchmarks/hc18_reference_check.py [--root ../shared/datasets/HC18]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from semiseg.data.nnunet import open_dataset
from semiseg.metrics.ellipse import head_circumference

parser = argparse.ArgumentParser()
parser.add_argument("--root", default="../shared/datasets/HC18")
args = parser.parse_args()
if not (Path(args.root) / "dataset.json").is_file():
    print(f"{args.root}: HC18 not found, nothing to check")
    sys.exit(0)
dataset = open_dataset(args.root, "pixel_size_and_hc.csv")
diffs, seconds = [], []
for case_id in dataset.training_cases:
    case = dataset.load_case(case_id)
    t = time.perf_counter()
    hc = head_circumference(case.label > 0, case.geometry.spacing)
    seconds.append(time.perf_counter() - t)
    diffs.append(hc - case.info["head_circumference_mm"])
d = np.array(diffs)
print(f"{len(d)} masks: HC(mask) - HC(reference) mean {d.mean():+.2f} mm, "
      f"mean abs {np.abs(d).mean():.2f} mm, median abs {np.median(np.abs(d)):.2f} mm, "
      f"max abs {np.abs(d).max():.2f} mm; fit median {1000 * np.median(seconds):.1f} ms")
