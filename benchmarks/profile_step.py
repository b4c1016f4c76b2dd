"""Profile the training step of a method at a configuration (where does the time go?).

Usage: python benchmarks/profile_step.py -c configs/acdc/dev.yaml [--set k=v ...] [--steps 20]
Prints torch.profiler's top operators by self CPU time over ``--steps`` steps after warm-up.
"""

import argparse

from torch.profiler import ProfilerActivity, profile

from semiseg.bench import build_step_runner
from semiseg.config import load_config

parser = argparse.ArgumentParser()
parser.add_argument("-c", "--config", action="append", default=[])
parser.add_argument("--set", dest="overrides", action="append", default=[])
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--rows", type=int, default=25)
args = parser.parse_args()
config = load_config(args.config, args.overrides)
step = build_step_runner(config)
for _ in range(5):
    step()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(args.steps):
        step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
