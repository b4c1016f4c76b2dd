"""Dimension-generic layer constructors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def conv_nd(spatial_dims: int, cin: int, cout: int, kernel: int, bias: bool = True) -> nn.Module:
    """``Conv2d``/``Conv3d`` with 'same' padding for odd kernels."""
    conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
    return conv(cin, cout, kernel, padding=kernel // 2, bias=bias)


def pointwise_projection(spatial_dims: int, channels: int, out: int) -> nn.Module:
    """Dense projection head: 1x1 conv -> ReLU -> 1x1 conv, ``[B, C, *S] -> [B, out, *S]``."""
    return nn.Sequential(conv_nd(spatial_dims, channels, channels, 1), nn.ReLU(inplace=True),
                         conv_nd(spatial_dims, channels, out, 1))


def norm_nd(spatial_dims: int, channels: int) -> nn.Module:
    """Batch norm of the right dimension."""
    return nn.BatchNorm2d(channels) if spatial_dims == 2 else nn.BatchNorm3d(channels)


_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


class Dropout(nn.Module):
    """Element-wise dropout, same semantics as ``nn.Dropout``, with a fast CPU mask.

    On CPU, torch draws dropout masks with a scalar Mersenne Twister (``bernoulli_``),
    which costs a fifth of an SSL4MIS UNet training step on 2 cores. Here the mask comes
    from NumPy's PCG64 as 16-bit integers (keep probability quantised to 1/65536), seeded
    from torch's global RNG so that runs stay deterministic and resumable. On other
    devices, and under ``torch.compile``, this is ``F.dropout``.

    Args:
        p: Drop probability.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x * mask / (1 - p)`` in training, identity in eval."""
        if not self.training or self.p == 0:
            return x
        if x.device.type != "cpu" or torch.compiler.is_compiling():  # inductor has its own RNG
            return F.dropout(x, self.p, training=True)
        seed = int(torch.randint(0, 2**62, (), dtype=torch.int64).item())
        draws = np.frombuffer(np.random.Generator(np.random.PCG64(seed)).bytes(2 * x.numel()),
                              dtype=np.uint16)
        keep = torch.from_numpy(draws >= round(self.p * 65536))
        if x.ndim in (4, 5) and x.is_contiguous(memory_format=_CHANNELS_LAST[x.ndim]):
            # same layout as x, or the product falls back to NCHW and every later conv
            # converts formats (the draws are iid, so their order does not matter)
            keep = keep.view(x.shape[0], *x.shape[2:], x.shape[1]).movedim(-1, 1)
        else:
            keep = keep.view(x.shape)
        return x * (keep.to(x.dtype) * (1.0 / (1.0 - self.p)))

    def extra_repr(self) -> str:
        """Shown by ``print(module)``."""
        return f"p={self.p}"
