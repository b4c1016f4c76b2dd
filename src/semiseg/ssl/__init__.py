"""Building blocks of semi-supervised methods, as pure tensor functions."""

from semiseg.ssl.displacement import (
    abd_r_indices,
    displace_labels,
    from_patches,
    patch_class_distribution,
    patch_confidence,
    swap_patches,
    to_patches,
)
from semiseg.ssl.ema import ema_update, mean_teacher_decay
from semiseg.ssl.mixing import block_masks, box_mask, cutmix_masks, mix
from semiseg.ssl.perturb import feature_dropout, gaussian_blur, strong_intensity
from semiseg.ssl.pseudo import (
    confident_pseudo_labels,
    entropy,
    largest_component,
    largest_component_per_class,
)
from semiseg.ssl.ramps import linear_rampup, ramped_weight, sigmoid_rampup

__all__ = ["abd_r_indices", "block_masks", "box_mask", "confident_pseudo_labels", "cutmix_masks",
           "displace_labels", "ema_update", "entropy", "feature_dropout", "from_patches",
           "gaussian_blur", "largest_component", "largest_component_per_class",
           "linear_rampup", "mean_teacher_decay", "mix", "patch_class_distribution",
           "patch_confidence", "ramped_weight", "sigmoid_rampup", "strong_intensity",
           "swap_patches", "to_patches"]
