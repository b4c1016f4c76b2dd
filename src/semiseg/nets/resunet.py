"""UNet with a ResNet-34-style encoder, for co-training with networks of another design.

Methods that pair two different students (C3S3, MEDL) need a second architecture whose
errors differ from the UNet's. This one keeps the UNet's decoder, widths and
``encode``/``decode`` interface, and replaces each encoder level by a stack of residual
basic blocks (two 3x3 conv-BN with an identity or 1x1 projection shortcut) with the
depths of ResNet-34 (3, 4, 6, 3 blocks below a single-block stem), without dropout.
"""

from __future__ import annotations

from torch import Tensor, nn

from semiseg.nets.layers import conv_nd, norm_nd
from semiseg.nets.unet import UNet


class BasicBlock(nn.Module):
    """ResNet basic block: ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``."""

    def __init__(self, spatial_dims: int, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_nd(spatial_dims, cin, cout, 3, bias=False), norm_nd(spatial_dims, cout),
            nn.ReLU(inplace=True),
            conv_nd(spatial_dims, cout, cout, 3, bias=False), norm_nd(spatial_dims, cout),
        )
        self.shortcut = (nn.Identity() if cin == cout else nn.Sequential(
            conv_nd(spatial_dims, cin, cout, 1, bias=False), norm_nd(spatial_dims, cout)))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, cin, *S] -> [B, cout, *S]``."""
        return self.act(self.body(x) + self.shortcut(x))


class ResUNet(UNet):
    """N-D UNet whose encoder levels are stacks of residual blocks.

    Args:
        spatial_dims: 2 or 3.
        in_channels: Input channels C.
        num_classes: Output classes K.
        channels: Feature channels per level, shallow to deep.
        depths: Residual blocks per level; by default ResNet-34's 3, 4, 6, 3 below a
            one-block stem, cut to the number of levels.

    Shapes:
        ``[B, C, *S] -> [B, K, *S]``; sizes divisible by ``2 ** (len(channels) - 1)``.
    """

    def __init__(self, spatial_dims: int, in_channels: int, num_classes: int,
                 channels: tuple[int, ...] | list[int] = (16, 32, 64, 128, 256),
                 depths: tuple[int, ...] | list[int] | None = None) -> None:
        if depths is None:
            depths = (1, 3, 4, 6, 3, 3, 3, 3)[:len(channels)]
        if len(depths) != len(channels) or min(depths) < 1:
            raise ValueError("depths needs one positive entry per level of channels")
        super().__init__(spatial_dims, in_channels, num_classes, channels,
                         dropout=[0.0] * len(channels))
        self.encoder = nn.ModuleList(
            nn.Sequential(*[BasicBlock(spatial_dims,
                                       (in_channels if i == 0 else channels[i - 1]) if j == 0
                                       else c, c) for j in range(n)])
            for i, (c, n) in enumerate(zip(channels, depths, strict=True))
        )
