"""Dimension-generic layer constructors."""

from __future__ import annotations

from torch import nn


def conv_nd(spatial_dims: int, cin: int, cout: int, kernel: int, bias: bool = True) -> nn.Module:
    """``Conv2d``/``Conv3d`` with 'same' padding for odd kernels."""
    conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
    return conv(cin, cout, kernel, padding=kernel // 2, bias=bias)


def norm_nd(spatial_dims: int, channels: int) -> nn.Module:
    """Batch norm of the right dimension."""
    return nn.BatchNorm2d(channels) if spatial_dims == 2 else nn.BatchNorm3d(channels)
