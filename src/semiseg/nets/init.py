"""Weight initialisation schemes, e.g. to make the two networks of CPS/ABD differ."""

from __future__ import annotations

from torch import nn

SCHEMES = ("default", "kaiming_normal", "xavier_normal")


def initialize(module: nn.Module, scheme: str) -> nn.Module:
    """Re-initialise convolutions and normalisation layers; ``default`` keeps PyTorch's.

    Convolution weights are drawn anew (biases keep PyTorch's initialisation, as in
    SSL4MIS's ``kaiming_normal_init_weight`` / ``xavier_normal_init_weight``),
    normalisation layers get weight 1 and bias 0.

    SSL4MIS's cross pseudo supervision starts its two UNets from ``kaiming_normal`` and
    ``xavier_normal`` respectively. Returns ``module``.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; valid: {', '.join(SCHEMES)}")
    if scheme == "default":
        return module
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Conv3d):
            if scheme == "kaiming_normal":
                nn.init.kaiming_normal_(m.weight)
            else:
                nn.init.xavier_normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm3d | nn.InstanceNorm2d
                        | nn.InstanceNorm3d | nn.GroupNorm) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module
