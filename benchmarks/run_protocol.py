"""Run a benchmark grid (methods x labeled budgets x seeds) one run after another.

Each run lives in ``OUT/<method>-l<labeled>-s<seed>``; a finished run (result.json) is
skipped, an interrupted one resumes from its last checkpoint, so the script can be killed
and restarted at any time. ``collect_results.py`` turns the folders into tables.

Usage:
  python benchmarks/run_protocol.py -c configs/acdc/dev.yaml --methods supervised mean_teacher \
      --labeled 7 --seeds 0 1 --out bench_out/acdc-dev [--set KEY=VALUE ...]
"""

import argparse
import sys
from pathlib import Path

from semiseg.config import load_config
from semiseg.engine.loop import read_run_config, train

parser = argparse.ArgumentParser()
parser.add_argument("-c", "--config", action="append", required=True)
parser.add_argument("--methods", nargs="+", required=True)
parser.add_argument("--labeled", nargs="+", type=int, required=True)
parser.add_argument("--seeds", nargs="+", type=int, required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--set", dest="overrides", action="append", default=[])
args = parser.parse_args()

for seed in args.seeds:
    for labeled in args.labeled:
        for method in args.methods:
            run_dir = Path(args.out) / f"{method}-l{labeled}-s{seed}"
            if (run_dir / "result.json").is_file():
                print(f"done already: {run_dir}", flush=True)
                continue
            if (run_dir / "checkpoints" / "last.pt").is_file():
                print(f"resuming {run_dir}", flush=True)
                train(read_run_config(run_dir), run_dir, resume=True)
                continue
            config = load_config(args.config, [*args.overrides, f"method.name={method}",
                                               f"data.num_labeled={labeled}",
                                               f"train.seed={seed}"])
            print(f"training {run_dir}", flush=True)
            result = train(config, run_dir)
            print(f"{run_dir}: val Dice {100 * result['val']['dice']['mean']:.2f} "
                  f"in {result['wall_seconds']:.0f} s", flush=True)
sys.exit(0)
