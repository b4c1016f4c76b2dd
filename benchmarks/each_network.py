"""Val Dice of each network of a two-network run (CPS, ABD, CAD, C3S3, MEDL).

Methods with two networks validate and export one of them, or their mean (C3S3's
``predictor()``); this evaluates each network of the given checkpoints, and the mean of
their softmax ("mean"), on the run's val cases the same way the training loop validates
(``validation_dice``), to see whether one partner drags the other. Prints one Markdown
row per checkpoint and network:

    python benchmarks/each_network.py bench_out/acdc-dev/cps-l3-s0 --checkpoints best last

``--batch-stats`` adds rows whose batch-norm layers normalise with each forward pass's
own statistics instead of the running averages (a 2D network sees up to 32 slices of a
volume per pass: a whole ACDC volume, 8-16 slices): a diagnostic for a network that trains
well but validates badly because its running statistics no longer match its features.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from semiseg.api import load_trained
from semiseg.data.splits import load_split
from semiseg.engine.checkpoint import load_checkpoint
from semiseg.engine.runtime import resolve_amp
from semiseg.evaluation import validation_dice
from semiseg.nets import SoftmaxAverage


def with_batch_statistics(net: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``net`` whose batch-norm layers use each batch's statistics in eval mode.

    Dropping the running buffers makes PyTorch's batch norm normalise with the batch's
    own mean and variance and leaves nothing to update, so the original is untouched.
    """
    net = copy.deepcopy(net)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm3d):
            module.track_running_stats = False
            module.running_mean = None
            module.running_var = None
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoints", nargs="+", default=["best", "last"])
    parser.add_argument("--batch-stats", action="store_true",
                        help="also evaluate with batch-norm batch statistics")
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
        if args.batch_stats:
            nets += [with_batch_statistics(n) for n in nets]
            labels += [f"{label}, batch statistics" for label in labels]
        for label, net in zip(labels, nets, strict=True):
            dice = validation_dice(net.eval(), cases, dataset.num_classes, config, device, amp)
            per_class = ", ".join(f"{100 * d:.1f}" for d in dice.mean(0))
            print(f"| {name} | {step} | {label} | {100 * dice.mean():.1f} | {per_class} |")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
