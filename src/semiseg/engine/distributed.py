"""Multi-process training with ``torch.distributed`` (launched by ``torchrun``).

``torchrun --nproc_per_node N -m semiseg train -c ...`` starts N processes with the
``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` environment; :func:`init_distributed` joins the
process group (NCCL on CUDA, gloo on CPU). Every rank draws and augments the same global
batch from the shared seed and keeps its own shard of it, so an N-process run sees exactly
the batches of a single-process run with the same global batch size. The method is wrapped
in ``DistributedDataParallel`` (its ``forward`` is ``training_step``), so gradients are
averaged by DDP however a method calls its networks. Only rank 0 logs and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from semiseg.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    """Rank and world size of this process (1 process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, validates for selection and writes checkpoints."""
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group described by torchrun's environment (or stay single)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return info


def local_device(device: torch.device, info: DistInfo) -> torch.device:
    """One GPU per process: ``cuda:LOCAL_RANK``; CPU stays CPU."""
    if device.type == "cuda" and info.enabled:
        torch.cuda.set_device(info.local_rank)
        return torch.device("cuda", info.local_rank)
    return device


def shard(n_global: int, info: DistInfo, what: str) -> slice:
    """The slice of a global batch of ``n_global`` samples that this rank trains on."""
    if n_global % info.world_size:
        raise ConfigError(f"config key 'data.{what}': {n_global} is not divisible by the "
                          f"{info.world_size} processes")
    n = n_global // info.world_size
    return slice(info.rank * n, (info.rank + 1) * n)


def all_reduce_sum(values: dict[str, float], info: DistInfo,
                   device: torch.device) -> dict[str, float]:
    """Sum scalars over ranks (identity for one process)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) for k, v in zip(keys, t.tolist(), strict=True)}


def all_reduce_mean(values: dict[str, float], info: DistInfo,
                    device: torch.device) -> dict[str, float]:
    """Average scalars over ranks (identity for one process)."""
    return {k: v / info.world_size for k, v in all_reduce_sum(values, info, device).items()}


def shutdown(info: DistInfo) -> None:
    """Barrier, then leave the process group."""
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
