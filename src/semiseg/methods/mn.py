"""M&N: a 2D natural-image model and a 3D model co-training (Yeung et al.), 3D data.

Defaults of the authors' code (pakheiyeung/M-N, LA, read, not copied). A 2D network
pre-trained on natural images (here EfficientNet-Lite0 on ImageNet under a light
decoder, :class:`semiseg.nets.EfficientUNet`) is applied slice by slice along the last
axis of a 3D patch, beside a 3D network trained from scratch (the configured one):

- Phase ``warmup`` (the code's 500 of 4000 epochs, 1/8): both learn the labeled patches.
- Phase ``cotrain``: the two alternate every ``switch_steps`` steps (the code switches
  every epoch of 8 iterations): the one in training learns from the other's softmax
  predictions on unlabeled patches (computed in eval mode, no gradient) and from the
  labels; the learning-rate-guided sampler gives the pseudo-labeled patches the share
  ``floor(f * B) / B`` of the batch, ``f`` the fraction of the co-training phase done
  and ``B`` the batch size (the code's ``floor((ep - 500) / (4000 - 500) * 5)`` of 5).
- Loss Dice + KL divergence to the (soft) targets, as the code's ``DiceLoss`` +
  ``KLDivLoss(reduction="mean")``. AdamW; the 2D model's learning rate is 10x the 3D
  model's (1e-3 vs 1e-4): ``mn`` runs default to ``optim.name: adamw``, ``optim.lr:
  1e-4`` (its ``run_defaults``; a config file or ``--set`` still overrides them).

Any other pre-trained 2D model: ``network_2d`` names a registered 2D network and
``weights_2d`` a file with its weights (a plain state dict, or a semiseg checkpoint that
holds such a network, e.g. a 2D run or a ``spcl_pretrain`` run), loaded all but the
output layer; such a network is built with the run's ``model`` widths, and
``pretrained`` applies to the built-in EfficientNet-Lite0 only.

Deviations: EfficientNet-Lite0 with frozen early stages instead of SegFormer-b2 with
LoRA (a small pre-trained 2D model that runs offline on a CPU); slices are padded to a
multiple of 32 for it; the batch's shares are loss weights of the labeled and
pseudo-labeled patches (the engine's batch always holds both) instead of a changing
number of patches; the engine's learning-rate schedule (poly per phase) instead of
linear warm-up + cosine restarts; the 3D network is validated and exported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.engine.checkpoint import matching_weights, read_weights
from semiseg.losses import dice_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, SemiSupervisedMethod, StepOutput
from semiseg.nets import create_network


class SliceWise2D(nn.Module):
    """Apply a 2D network to every slice (last axis) of ``[B, C, X, Y, Z]`` volumes.

    Slices are zero-padded to a multiple of ``multiple`` (the 2D network's stride) and
    the logits cropped back: ``[B, C, X, Y, Z] -> [B, K, X, Y, Z]``.
    """

    def __init__(self, net: nn.Module, multiple: int = 32) -> None:
        super().__init__()
        self.net = net
        self.multiple = multiple

    def forward(self, x: Tensor) -> Tensor:
        """Logits of every slice, restacked."""
        b, c, sx, sy, sz = x.shape
        slices = x.permute(0, 4, 1, 2, 3).reshape(b * sz, c, sx, sy)
        px, py = (-sx) % self.multiple, (-sy) % self.multiple
        out = self.net(F.pad(slices, (0, py, 0, px)))[:, :, :sx, :sy]
        return out.reshape(b, sz, -1, sx, sy).permute(0, 2, 3, 4, 1)


def pseudo_share(fraction: float, batch_size: int) -> float:
    """Learning-rate-guided share of pseudo-labeled patches: ``floor(f B) / B``."""
    return math.floor(min(max(fraction, 0.0), 1.0) * batch_size) / batch_size


def dice_kl_loss(logits: Tensor, target: Tensor) -> Tensor:
    """M&N's loss: soft Dice + ``KL(target || softmax)`` averaged over all elements.

    Args:
        logits: ``[B, K, *S]``.
        target: ``[B, K, *S]`` probabilities (one-hot for labels).
    """
    logits, target = logits.float(), target.float()
    # pointwise t (log t - log q), 0 where t = 0, averaged over every element (the
    # code's KLDivLoss(reduction="mean"))
    kl = (torch.special.xlogy(target, target) - target * logits.log_softmax(1)).mean()
    return dice_loss(logits.softmax(1), target) + kl


class ModelsAndNetworks(SemiSupervisedMethod):
    """Co-training of a pre-trained 2D model (slice-wise) and a 3D model."""

    name = "mn"
    phases = ("warmup", "cotrain")
    supported_dims = (3,)
    find_unused_parameters = True  # the model not in training idles during co-training
    run_defaults: ClassVar[dict[str, Any]] = {"optim": {"name": "adamw", "lr": 1e-4}}

    @dataclass
    class Config:
        """M&N hyper-parameters (authors' LA defaults)."""

        warmup_fraction: float = 0.125
        switch_steps: int = 8
        network_2d: str = "efficientunet"
        pretrained: bool = True
        weights_2d: str = ""
        freeze_encoder_stages: int = 2
        lr_scale_2d: float = 10.0

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.net3d = net.build()
        if config.network_2d == "efficientunet":
            kwargs = {"pretrained": config.pretrained,
                      "freeze_encoder_stages": config.freeze_encoder_stages}
        else:  # another registered 2D network, with the run's widths (model.*)
            kwargs = dict(net.kwargs)
        net2d = create_network(config.network_2d, 2, net.in_channels, net.num_classes,
                               **kwargs)
        if config.weights_2d:  # the user's own pre-trained 2D network, all but its head
            net2d.load_state_dict(matching_weights(net2d, read_weights(config.weights_2d),
                                                   config.weights_2d), strict=False)
        self.net2d = SliceWise2D(net2d)

    @classmethod
    def phase_steps(cls, config: Config, total_steps: int) -> dict[str, int]:
        """Warm-up share, then co-training."""
        warm = round(total_steps * config.warmup_fraction)
        return {"warmup": warm, "cotrain": total_steps - warm}

    def learner(self, progress: Progress) -> str:
        """Which model trains at this step of co-training: ``2d`` or ``3d``."""
        block = progress.phase_step // max(self.config.switch_steps, 1)
        return "2d" if block % 2 == 0 else "3d"

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Warm-up: both on labels. Co-training: the learner on labels + pseudo-masks."""
        k = self.net_spec.num_classes
        onehot = F.one_hot(batch.y_l, k).movedim(-1, 1).float()
        if progress.phase == "warmup":
            loss2d = dice_kl_loss(self.net2d(batch.x_l), onehot)
            loss3d = dice_kl_loss(self.net3d(batch.x_l), onehot)
            return StepOutput(loss2d + loss3d, {"loss_2d": loss2d.detach(),
                                                "loss_3d": loss3d.detach()})
        which = self.learner(progress)
        student, teacher = ((self.net2d, self.net3d) if which == "2d"
                            else (self.net3d, self.net2d))
        batch_size = batch.x_l.shape[0] + batch.x_u.shape[0]
        share = pseudo_share(progress.phase_step / max(progress.phase_steps, 1), batch_size)
        with torch.no_grad():
            was = teacher.training
            teacher.eval()  # the pseudo-labeler predicts as at inference (BN statistics)
            target_u = teacher(batch.x_u).float().softmax(1)
            teacher.train(was)
        logits = student(torch.cat([batch.x_l, batch.x_u]))
        n_l = batch.x_l.shape[0]
        loss_l = dice_kl_loss(logits[:n_l], onehot)
        loss_u = dice_kl_loss(logits[n_l:], target_u)
        loss = (1 - share) * loss_l + share * loss_u
        return StepOutput(loss, {f"loss_labeled_{which}": loss_l.detach(),
                                 f"loss_pseudo_{which}": loss_u.detach(),
                                 "pseudo_share": share, "learner_2d": float(which == "2d")})

    def predictor(self) -> nn.Module:
        """The 3D network."""
        return self.net3d

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """The two models as separate groups (their learning rates differ)."""
        return {"net3d": [p for p in self.net3d.parameters() if p.requires_grad],
                "net2d": [p for p in self.net2d.parameters() if p.requires_grad]}

    def lr_scales(self) -> dict[str, float]:
        """The 2D model learns 10x faster (1e-3 vs 1e-4 in the code)."""
        return {"net2d": self.config.lr_scale_2d}
