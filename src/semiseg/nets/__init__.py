"""Segmentation networks, created by name through a registry.

Every network maps ``[B, C, *S]`` to logits ``[B, K, *S]`` and takes ``spatial_dims``,
``in_channels``, ``num_classes`` plus its own keyword arguments.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from semiseg.nets.efficientnet import EfficientUNet
from semiseg.nets.ensemble import SoftmaxAverage
from semiseg.nets.init import initialize
from semiseg.nets.resunet import ResUNet
from semiseg.nets.unet import UNet
from semiseg.nets.vnet import VNet
from semiseg.registry import Registry

NETWORKS: Registry[type[nn.Module]] = Registry("network")
NETWORKS.register("unet")(UNet)
NETWORKS.register("resunet")(ResUNet)
NETWORKS.register("efficientunet")(EfficientUNet)
NETWORKS.register("vnet")(VNet)


def create_network(name: str, spatial_dims: int, in_channels: int, num_classes: int,
                   **kwargs: Any) -> nn.Module:
    """Instantiate the registered network ``name``."""
    return NETWORKS.get(name)(spatial_dims=spatial_dims, in_channels=in_channels,
                              num_classes=num_classes, **kwargs)


def list_networks() -> list[str]:
    """Names of the registered networks."""
    return NETWORKS.names()


__all__ = ["NETWORKS", "EfficientUNet", "ResUNet", "SoftmaxAverage", "UNet", "VNet",
           "create_network", "initialize", "list_networks"]
