"""Device, precision, threads and seeds of a run."""

from __future__ import annotations

import ctypes
import gc
import random
import re
import resource
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semiseg.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; an unavailable CUDA is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"config key 'train.device': {name!r} but CUDA is not available")
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    """True on CPUs with AVX512-BF16 or AMX, where bf16 autocast is fast."""
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, name, lambda: False)() for name in checks)


def resolve_amp(setting: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for ``train.amp`` ("auto", "off", "bf16", "fp16") on ``device``."""
    if setting == "off":
        return None
    if setting == "bf16":
        return torch.bfloat16
    if setting == "fp16":
        if device.type != "cuda":
            raise ConfigError("config key 'train.amp': fp16 needs CUDA; use bf16 or off on CPU")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else None


def resolve_channels_last(setting: str, spatial_dims: int, device: torch.device) -> bool:
    """Whether to use the channels-last memory format.

    "auto" turns it on for 2D networks, and for 3D ones on CPU (1.55x faster training
    steps there, BENCHMARKS.md; on CUDA 3D is unmeasured and stays off).
    """
    if setting != "auto":
        return setting == "on"
    return spatial_dims == 2 or device.type == "cpu"


def to_channels_last(module: nn.Module) -> nn.Module:
    """Put convolution weights in channels-last layout, each by its rank.

    4D weights get ``channels_last``, 5D ones ``channels_last_3d``, so that a method
    mixing 2D and 3D networks (``mn``) can use it. Returns ``module``.
    """
    for param in module.parameters():
        if param.dim() in (4, 5):
            fmt = torch.channels_last if param.dim() == 4 else torch.channels_last_3d
            param.data = param.data.to(memory_format=fmt)  # as Module.to: same strides
    return module


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds third-party code using the legacy API
    torch.manual_seed(seed)


def configure_threads(num_threads: int) -> None:
    """Set torch's intra-op threads when asked (0 keeps torch's choice)."""
    if num_threads > 0:
        torch.set_num_threads(num_threads)


def peak_rss_gib() -> float:
    """Peak resident memory of this process since :func:`reset_peak_memory` (GiB).

    Linux's ``VmHWM`` (KiB), which that reset restarts; elsewhere ``ru_maxrss``, the peak
    since the process started.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    found = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
    kib = int(found.group(1)) if found else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 2**20


def reset_peak_memory() -> None:
    """Restart this process's peak-memory count, so a run reports its own peak.

    ``semiseg bench run`` trains several runs in one process: without this, a run's peak
    would be the largest of all earlier ones. Freed heap is first handed back to the OS
    (``malloc_trim``: the CLI's malloc tunables otherwise keep it resident), then Linux's
    high-water mark is reset (``/proc/self/clear_refs``); CUDA's peak statistics too.
    Where either is unavailable the peak counts from the process's start.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux, or not permitted
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_cuda_gib(device: torch.device | None = None) -> float:
    """Peak CUDA memory allocated by this process on ``device`` since the last reset (GiB)."""
    return torch.cuda.max_memory_allocated(device) / 2**30


def peak_memory_gib(device: torch.device) -> float:
    """Peak memory of this process on ``device`` since :func:`reset_peak_memory` (GiB).

    CUDA allocations on a GPU; on the CPU the resident set, which also holds the host-side
    data and Python.
    """
    return peak_cuda_gib(device) if device.type == "cuda" else peak_rss_gib()


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("cpu" where that cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() or "cpu"
    except OSError:
        pass
    return "cpu"


def cpu_name() -> str:
    """The CPU's model name and the widest vector instructions torch uses on it.

    The model name alone can hide a 4-5x difference: two "AMD EPYC" machines of this
    project's sessions, one with AVX-512 and one with AVX2 only, differ that much in
    step time (BENCHMARKS.md). Example: "AMD EPYC (AVX2)".
    """
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{cpu_model()} ({capability})" if capability else cpu_model()


def hardware_name(device: torch.device, processes: int = 1) -> str:
    """What a run trained on, for reading its wall time: GPU model, or CPU and threads.

    Examples: "NVIDIA H200", "2x NVIDIA H200" (two DDP processes), "AMD EPYC (AVX512),
    2 threads".
    """
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        threads = torch.get_num_threads()
        name = f"{cpu_name()}, {threads} thread{'s' if threads > 1 else ''}"
    return f"{processes}x {name}" if processes > 1 else name
