"""VNet (Milletari et al., 2016) in the configuration of the 3D semi-supervised literature.

As in the UA-MT / SASSNet / MC-Net code bases: 16-32-64-128-256 channels, stages of 1,
2, 3, 3 and 3 conv-BN-ReLU layers (5x5x5 in the paper, 3x3x3 here as in that code),
a residual connection around each encoder stage, 2x2x2 strided convolutions down and
transposed convolutions up, skip connections added (not concatenated), dropout 0.5 on
the bottleneck. 2D works too (the same layers in 2D).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from semiseg.nets.layers import conv_nd, norm_nd


def _stage(spatial_dims: int, cin: int, cout: int, layers: int) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [conv_nd(spatial_dims, cin if i == 0 else cout, cout, 3),
                 norm_nd(spatial_dims, cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*mods)


def _down(spatial_dims: int, cin: int, cout: int) -> nn.Sequential:
    conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
    return nn.Sequential(conv(cin, cout, 2, stride=2), norm_nd(spatial_dims, cout),
                         nn.ReLU(inplace=True))


def _up(spatial_dims: int, cin: int, cout: int) -> nn.Sequential:
    conv = nn.ConvTranspose2d if spatial_dims == 2 else nn.ConvTranspose3d
    return nn.Sequential(conv(cin, cout, 2, stride=2), norm_nd(spatial_dims, cout),
                         nn.ReLU(inplace=True))


class VNet(nn.Module):
    """N-D VNet returning logits.

    Args:
        spatial_dims: 3 (or 2).
        in_channels: Input channels C.
        num_classes: Output classes K.
        channels: Widths per level (5 levels).
        bottleneck_dropout: Dropout on the deepest features (0.5 in the UA-MT code; set
            with ``model.params``).

    Shapes:
        ``[B, C, *S] -> [B, K, *S]``, every size divisible by 16.
    """

    LAYERS = (1, 2, 3, 3, 3)

    def __init__(self, spatial_dims: int, in_channels: int, num_classes: int,
                 channels: tuple[int, ...] | list[int] = (16, 32, 64, 128, 256),
                 bottleneck_dropout: float = 0.5) -> None:
        super().__init__()
        if len(channels) != 5:
            raise ValueError("VNet takes 5 channel widths")
        self.channels = list(channels)
        c = self.channels
        d = spatial_dims
        self.encoder = nn.ModuleList(
            _stage(d, in_channels if i == 0 else c[i], c[i], n)
            for i, n in enumerate(self.LAYERS))
        self.down = nn.ModuleList(_down(d, c[i], c[i + 1]) for i in range(4))
        self.up = nn.ModuleList(_up(d, c[i + 1], c[i]) for i in reversed(range(4)))
        self.decoder = nn.ModuleList(_stage(d, c[i], c[i], n)
                                     for i, n in zip(reversed(range(4)), (3, 3, 2, 1),
                                                     strict=True))
        self.dropout = ((nn.Dropout3d if d == 3 else nn.Dropout2d)(bottleneck_dropout)
                        if bottleneck_dropout else None)
        self.head = conv_nd(d, c[0], num_classes, 1)

    @classmethod
    def input_size_problem(cls, size: Sequence[int], **_: object) -> str | None:
        """Why inputs of spatial ``size`` cannot pass (None when they can).

        The strided convolutions down and transposed ones up need every side divisible by 16.
        """
        if any(s % 16 for s in size):
            return "VNet needs every side divisible by 16"
        return None

    def encode(self, x: Tensor) -> list[Tensor]:
        """Encoder features per level, shallow to deep (residual stages)."""
        feats = []
        for i, stage in enumerate(self.encoder):
            if i > 0:
                x = self.down[i - 1](x)
            y = stage(x)
            x = y + x if y.shape == x.shape else y  # the stage's residual connection
            feats.append(x)
        if self.dropout is not None:
            feats[-1] = self.dropout(feats[-1])
        return feats

    def decode_features(self, feats: list[Tensor]) -> Tensor:
        """Last decoder features ``[B, channels[0], *S]``."""
        x = feats[-1]
        for up, stage, skip in zip(self.up, self.decoder, reversed(feats[:-1]), strict=True):
            x = up(x) + skip
            x = stage(x) + x
        return x

    def decode(self, feats: list[Tensor]) -> Tensor:
        """Logits from encoder features."""
        return self.head(self.decode_features(feats))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, K, *S]``."""
        return self.decode(self.encode(x))
