"""Time the largest-component filter of BCP's pseudo-labels, both backends side by side.

    python benchmarks/largest_component_speed.py [--repeats 5]

Batches of 6 label maps of 128x128 with 4 classes (acdc-dev's BCP self-training batch):
"noisy" = uniform random labels (an untrained teacher, the worst case: thousands of
components), "rings" = nested discs (a trained teacher). Prints the median seconds per
call of ``largest_component_per_class`` for each backend and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from semiseg.ssl import largest_component_per_class


def batches() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    noisy = torch.randint(0, 4, (6, 128, 128))
    yy, xx = torch.meshgrid(torch.arange(128), torch.arange(128), indexing="ij")
    radius = ((yy - 64) ** 2 + (xx - 64) ** 2).float().sqrt()
    rings = torch.zeros(6, 128, 128, dtype=torch.long)
    for label, r in ((1, 30), (2, 20), (3, 10)):
        rings[:, radius < r] = label
    return {"noisy": noisy, "rings": rings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name, labels in batches().items():
        medians = {}
        for backend in ("torch", "scipy"):
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                largest_component_per_class(labels, 4, backend)
                times.append(time.perf_counter() - t)
            medians[backend] = statistics.median(times)
        print(f"{name}: torch {medians['torch']:.4f} s, scipy {medians['scipy']:.4f} s, "
              f"ratio {medians['torch'] / medians['scipy']:.1f}x")


if __name__ == "__main__":
    main()
