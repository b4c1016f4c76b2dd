"""Val Dice of each network of a two-network run (CPS, ABD, CAD, C3S3, MEDL).

Methods with two networks validate and export one of them, or their mean (C3S3's
``predictor()``); this evaluates each network of the given checkpoints, and the mean of
their softmax ("mean"), on the run's val cases the same way the training loop validates
(``validation_dice``), to see whether one partner drags the other. Prints one Markdown
row per checkpoint and network:

    python benchmarks/each_network.py bench_out/acdc-dev/cps-l3-s0 --checkpoints best last
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from semiseg.api import load_trained
from semiseg.data.splits import load_split
from semiseg.engine.checkpoint import load_checkpoint
from semiseg.engine.runtime import resolve_amp
from semiseg.evaluation import validation_dice
from semiseg.nets import SoftmaxAverage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoints", nargs="+", default=["best", "last"])
    args = parser.parse_args()
    print("| checkpoint | step | network | val Dice % | per class % |")
    print("|---|---|---|---|---|")
    cases = None  # the run's val cases, the same for every checkpoint: read once
    for name in args.checkpoints:
        config, method, dataset = load_trained(args.run, name)
        step = load_checkpoint(args.run / "checkpoints" / f"{name}.pt").get("step")
        device = next(method.parameters()).device
        amp = resolve_amp(config.train.amp, device)
        if cases is None:
            cases = [dataset.load_case(c) for c in load_split(args.run / "split.json").val]
        nets = list(getattr(method, "nets", [method.predictor()]))
        labels = [str(k + 1) for k in range(len(nets))]
        if len(nets) > 1:
            nets.append(SoftmaxAverage(method.nets))
            labels.append("mean")
        for label, net in zip(labels, nets, strict=True):
            dice = validation_dice(net.eval(), cases, dataset.num_classes, config, device, amp)
            per_class = ", ".join(f"{100 * d:.1f}" for d in dice.mean(0))
            print(f"| {name} | {step} | {label} | {100 * dice.mean():.1f} | {per_class} |")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
