"""Every registered method that supports a config's dimensionality, a few real steps each.

Shows that the dimension-agnostic methods really train on a data set (e.g. 3D on LA,
issue 10), and what a step of each costs there. Each method runs in its own process
(`semiseg bench speed`, so peak memory is its own), with a short schedule so that the
measured steps fall in each method's main phase (after BCP's / M3HL's pre-training,
SemiQC's supervised share, M&N's warm-up). Prints a Markdown table:

    python benchmarks/every_method_step.py -c configs/la/dev.yaml
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from semiseg.config import load_config
from semiseg.methods import METHODS, list_methods


def main() -> None:
    """Measure every method that supports the config's dimensionality."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="run config (YAML)")
    parser.add_argument("--iterations", type=int, default=16,
                        help="schedule length the phases are cut from")
    parser.add_argument("--warmup", type=int, default=8, help="unmeasured first steps")
    parser.add_argument("--steps", type=int, default=4, help="measured steps")
    args = parser.parse_args()
    dims = load_config(args.config, []).data.spatial_dims
    methods = [m for m in list_methods() if dims in METHODS.get(m).supported_dims]
    print(f"| method ({dims}D) | median s/it | peak RSS GiB | vs supervised |")
    print("|---|---|---|---|")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["supervised", *(m for m in methods if m != "supervised")]:
            out = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, "-m", "semiseg", "bench", "speed", "-c", args.config,
                   "--set", f"method.name={name}",
                   "--set", f"train.iterations={args.iterations}",
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--json", str(out)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                error = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
                print(f"| {name} | failed: {error} | | |", flush=True)
                continue
            result = json.loads(out.read_text())
            seconds = result["median_s_per_it"]
            base = seconds if name == "supervised" else base
            ratio = f"{seconds / base:.1f}x" if base else ""
            print(f"| {name} | {seconds:.3f} | {result['peak_rss_gib']:.2f} | {ratio} |",
                  flush=True)


if __name__ == "__main__":
    main()
