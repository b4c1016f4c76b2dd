"""Losses shared by the methods."""

from semiseg.losses.contrastive import (
    outcome_contrastive_loss,
    self_paced_weights,
    supervised_info_nce,
    voxel_cosine,
)
from semiseg.losses.segmentation import (
    dice_loss,
    masked_cross_entropy,
    region_supervised_loss,
    softmax_mse,
    supervised_loss,
)

__all__ = ["dice_loss", "masked_cross_entropy", "outcome_contrastive_loss",
           "region_supervised_loss", "self_paced_weights", "softmax_mse", "supervised_info_nce",
           "supervised_loss", "voxel_cosine"]
