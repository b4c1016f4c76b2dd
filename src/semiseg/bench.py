"""Speed measurement of the real training step (``semiseg bench speed``)."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from semiseg.config import RunConfig
from semiseg.engine.runtime import peak_cuda_gib, peak_rss_gib
from semiseg.engine.trainer import build_trainer


def build_step_runner(config: RunConfig) -> Callable[[], None]:
    """A closure that runs one full training step of ``config`` (the loop's own step)."""
    trainer = build_trainer(config)
    counter = itertools.count()
    return lambda: trainer.step(next(counter) % config.train.iterations)


def measure_speed(config: RunConfig, steps: int = 20, warmup: int = 5) -> dict[str, Any]:
    """Median seconds per training step after warm-up, iterations/s and peak memory."""
    step = build_step_runner(config)
    cuda = torch.cuda.is_available() and config.train.device != "cpu"
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    out = {"method": config.method.name, "median_s_per_it": median, "it_per_s": 1 / median,
           "steps": steps, "peak_rss_gib": peak_rss_gib()}
    if cuda:
        out["peak_cuda_gib"] = peak_cuda_gib()
    return out
