"""Speed measurement of the real training step (``semiseg bench speed``)."""

from __future__ import annotations

import itertools
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from semiseg.config import RunConfig
from semiseg.engine.runtime import hardware_name, peak_cuda_gib, peak_rss_gib
from semiseg.engine.trainer import build_trainer


def build_step_runner(config: RunConfig) -> Callable[[], None]:
    """A closure that runs one full training step of ``config`` (the loop's own step)."""
    trainer = build_trainer(config)
    counter = itertools.count()
    return lambda: trainer.step(next(counter) % config.train.iterations)


def measure_speed(config: RunConfig, steps: int = 20, warmup: int = 5) -> dict[str, Any]:
    """Median seconds per training step after warm-up, iterations/s and peak memory.

    On CUDA also ``host_syncs_per_step`` (:func:`count_host_syncs`) of up to 10 more steps.
    """
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
           "steps": steps, "peak_rss_gib": peak_rss_gib(),
           "hardware": hardware_name(torch.device("cuda" if cuda else "cpu"))}
    if cuda:
        out["peak_cuda_gib"] = peak_cuda_gib()
        out["host_syncs_per_step"], out["host_sync_sites"] = count_host_syncs(
            step, min(steps, 10))
    return out


def count_host_syncs(step: Callable[[], None], steps: int) -> tuple[list[int], list[str]]:
    """CUDA only: how many times each of ``steps`` training steps waited for the GPU.

    Runs the steps under ``torch.cuda.set_sync_debug_mode("warn")``, which warns at every
    synchronising call (``.item()``, ``bool(tensor)``, device-to-host copies, ...). Steps
    that log (every ``train.log_every``) sync by design; the others should show 0.

    Returns:
        ``(syncs per step, sites)``: the sites are the distinct ``file:line`` of the Python
        calls that synchronised, so that one lease both counts and locates them.
    """
    counts: list[int] = []
    sites: set[str] = set()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        for _ in range(steps):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                step()
            syncs = [w for w in caught if "synchroniz" in str(w.message)]
            counts.append(len(syncs))
            sites.update(f"{w.filename}:{w.lineno}" for w in syncs)
    finally:
        torch.cuda.set_sync_debug_mode(previous)
    return counts, sorted(sites)
