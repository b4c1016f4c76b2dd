"""One UNet class for 2D and 3D (``spatial_dims``), in the SSL4MIS configuration by default.

SSL4MIS's 2D UNet: encoder blocks of two 3x3 conv-BN-LeakyReLU with dropout between them
(0.05, 0.1, 0.2, 0.3, 0.5 by level), max-pool down; decoder blocks reduce channels with a
1x1 conv, upsample (bi/trilinear, align_corners) and concatenate the skip, then a conv
block without dropout; a 3x3 output conv. With channels 16-32-64-128-256 and one input
channel it has 1.81M parameters.

The network exposes ``encode`` and ``decode`` so that methods can perturb or read
features (UniMatch's feature dropout, contrastive heads) without another forward path.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.nets.layers import Dropout, conv_nd, norm_nd


class ConvBlock(nn.Sequential):
    """conv3 -> norm -> LeakyReLU -> dropout -> conv3 -> norm -> LeakyReLU."""

    def __init__(self, spatial_dims: int, cin: int, cout: int, dropout: float) -> None:
        super().__init__(
            conv_nd(spatial_dims, cin, cout, 3), norm_nd(spatial_dims, cout), nn.LeakyReLU(0.01),
            Dropout(dropout), conv_nd(spatial_dims, cout, cout, 3),
            norm_nd(spatial_dims, cout), nn.LeakyReLU(0.01),
        )


class UpBlock(nn.Module):
    """1x1 channel reduction, x2 upsampling, skip concatenation, conv block."""

    def __init__(self, spatial_dims: int, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.reduce = conv_nd(spatial_dims, cin, cskip, 1)
        self.mode = "bilinear" if spatial_dims == 2 else "trilinear"
        self.conv = ConvBlock(spatial_dims, 2 * cskip, cout, 0.0)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        """``x`` ``[B, cin, *S/2]``, ``skip`` ``[B, cskip, *S]`` -> ``[B, cout, *S]``."""
        x = F.interpolate(self.reduce(x), size=skip.shape[2:], mode=self.mode, align_corners=True)
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    """N-D UNet returning logits.

    Args:
        spatial_dims: 2 or 3.
        in_channels: Input channels C.
        num_classes: Output classes K (background included).
        channels: Feature channels per level, shallow to deep.
        dropout: Encoder dropout per level.

    Shapes:
        ``forward``: ``[B, C, *S] -> [B, K, *S]``; every spatial size must be divisible by
        ``2 ** (len(channels) - 1)``.
    """

    def __init__(self, spatial_dims: int, in_channels: int, num_classes: int,
                 channels: tuple[int, ...] | list[int] = (16, 32, 64, 128, 256),
                 dropout: tuple[float, ...] | list[float] = (0.05, 0.1, 0.2, 0.3, 0.5)) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if len(channels) != len(dropout) or len(channels) < 2:
            raise ValueError("channels and dropout need the same length >= 2")
        self.spatial_dims = spatial_dims
        self.channels = list(channels)
        self.pool = nn.MaxPool2d(2) if spatial_dims == 2 else nn.MaxPool3d(2)
        self.encoder = nn.ModuleList(
            ConvBlock(spatial_dims, in_channels if i == 0 else channels[i - 1], c, p)
            for i, (c, p) in enumerate(zip(channels, dropout, strict=True))
        )
        self.decoder = nn.ModuleList(
            UpBlock(spatial_dims, channels[i], channels[i - 1], channels[i - 1])
            for i in range(len(channels) - 1, 0, -1)
        )
        self.head = conv_nd(spatial_dims, channels[0], num_classes, 3)

    @classmethod
    def input_size_problem(cls, size: Sequence[int],
                           channels: Sequence[int] = (16, 32, 64, 128, 256)) -> str | None:
        """Why inputs of spatial ``size`` cannot pass the network (None when they can).

        Each of the ``len(channels) - 1`` poolings halves every side, so a side below
        ``2 ** (len(channels) - 1)`` vanishes; other sizes work (the decoder upsamples to
        each skip's size).
        """
        factor = 2 ** (len(channels) - 1)
        if min(size) < factor:
            return (f"{len(channels)} levels (model.channels) halve each side "
                    f"{len(channels) - 1} times, so every side needs >= {factor}")
        return None

    def encode(self, x: Tensor) -> list[Tensor]:
        """Encoder features, shallow to deep: ``[B, channels[i], *S / 2**i]``."""
        feats = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else self.pool(x))
            feats.append(x)
        return feats

    def decode_features(self, feats: list[Tensor]) -> Tensor:
        """Last decoder feature map ``[B, channels[0], *S]`` (before the output conv)."""
        x = feats[-1]
        for block, skip in zip(self.decoder, reversed(feats[:-1]), strict=True):
            x = block(x, skip)
        return x

    def decode(self, feats: list[Tensor]) -> Tensor:
        """Logits ``[B, K, *S]`` from encoder features."""
        return self.head(self.decode_features(feats))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, K, *S]``."""
        return self.decode(self.encode(x))
