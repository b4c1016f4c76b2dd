"""Bidirectional copy-paste (BCP; Bai et al., CVPR 2023), defaults of the authors' ACDC code.

Phase ``pretrain`` (labeled only): two halves of the labeled batch are copy-pasted into
each other through one zero-mask box of 2/3 of every side, the loss follows the mixed
label. Phase ``selftrain``: the EMA teacher (started from the pre-trained student)
pseudo-labels the unlabeled images (argmax, largest connected component per class);
labeled content is pasted into unlabeled images (inside the box) and unlabeled into
labeled ones, both ways with the same box; Dice and CE per region, unlabeled regions
weighted 0.5: ``loss = (Dice + CE) / 2``. EMA decay 0.99 (constant, as BCP).

Deviations: the pre-training phase takes ``pretrain_fraction`` (1/4, BCP's 10 000 of
40 000 iterations) of the run's iterations, and self-training starts from the last
pre-training weights instead of BCP's best-on-val pre-training checkpoint; the learning
rate schedule restarts at the phase change as BCP's two scripts do.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semiseg.losses import region_supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, StepOutput
from semiseg.methods.mean_teacher import MeanTeacher
from semiseg.ssl import box_mask, ema_update, largest_component_per_class, mix


class BidirectionalCopyPaste(MeanTeacher):
    """Copy-paste pre-training, then bidirectional copy-paste mean-teacher self-training."""

    name = "bcp"
    phases = ("pretrain", "selftrain")

    @dataclass
    class Config:
        """BCP hyper-parameters (authors' ACDC defaults)."""

        pretrain_fraction: float = 0.25
        box_fraction: float = 2 / 3
        unlabeled_weight: float = 0.5
        ema_decay: float = 0.99
        largest_component: bool = True

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        # persisted, so that resuming inside self-training keeps the trained teacher
        self.register_buffer("teacher_started", torch.tensor(False))

    @classmethod
    def phase_steps(cls, config: Config, total_steps: int) -> dict[str, int]:
        """``pretrain_fraction`` of the steps pre-train, the rest self-train."""
        pre = round(total_steps * config.pretrain_fraction)
        return {"pretrain": pre, "selftrain": total_steps - pre}

    def on_phase_start(self, phase: str) -> None:
        """At the first self-training step the teacher becomes the pre-trained student."""
        if phase == "selftrain" and not bool(self.teacher_started):
            self.teacher.load_state_dict(self.student.state_dict())
            self.teacher_started.fill_(True)

    def pseudo_labels(self, x_u: torch.Tensor) -> torch.Tensor:
        """Teacher argmax, cleaned to the largest component per class: ``[B, *S]`` int64."""
        with torch.no_grad():
            return self.clean_pseudo_labels(self.teacher(x_u))

    def clean_pseudo_labels(self, logits: torch.Tensor) -> torch.Tensor:
        """Argmax of teacher logits ``[B, K, *S]``, largest component per class if enabled."""
        labels = logits.argmax(1)
        if self.config.largest_component:
            labels = largest_component_per_class(labels, self.net_spec.num_classes)
        return labels

    def mix_mask(self, x: torch.Tensor) -> torch.Tensor:
        """Paste mask for images ``x`` ``[B, C, *S]``: BCP's one box for the batch, ``[1, *S]``."""
        return box_mask(x.shape[2:], self.config.box_fraction, x.device)

    def pretrain_step(self, batch: SemiBatch) -> StepOutput:
        """Labeled halves copy-pasted into each other; the loss follows the mixed label."""
        half = batch.x_l.shape[0] // 2
        (x_a, x_b), (y_a, y_b) = (t[:2 * half].split(half) for t in (batch.x_l, batch.y_l))
        mask = self.mix_mask(x_a)
        dice, ce = region_supervised_loss(self.student(mix(x_a, x_b, mask)), y_a, y_b, mask,
                                          1.0, 1.0)
        loss = (dice + ce) / 2
        return StepOutput(loss, {"loss_sup": loss.detach()})

    def split_pairs(self, batch: SemiBatch) -> tuple[torch.Tensor, ...]:
        """Equal halves ``x_a, x_b, y_a, y_b, u_a, u_b`` of the labeled and unlabeled batch."""
        half = min(batch.x_l.shape[0], batch.x_u.shape[0]) // 2
        (x_a, x_b), (y_a, y_b) = (t[:2 * half].split(half) for t in (batch.x_l, batch.y_l))
        u_a, u_b = batch.x_u[:2 * half].split(half)
        return x_a, x_b, y_a, y_b, u_a, u_b

    def mixed_loss(self, logits: torch.Tensor, targets: tuple[torch.Tensor, ...],
                   mask: torch.Tensor) -> StepOutput:
        """BCP's loss of the two mixed batches.

        Args:
            logits: ``[2h, K, *S]``: first the unlabeled images with labeled content
                pasted in, then the labeled images with unlabeled content pasted in.
            targets: ``(y_a, y_b, p_a, p_b)``, labels and pseudo-labels, each ``[h, *S]``.
            mask: ``[1 or h, *S]``, 1 where content was pasted.
        """
        y_a, y_b, p_a, p_b = targets
        half, w_u = y_a.shape[0], self.config.unlabeled_weight
        dice_u, ce_u = region_supervised_loss(logits[:half], p_a, y_a, mask, w_u, 1.0)
        dice_l, ce_l = region_supervised_loss(logits[half:], y_b, p_b, mask, 1.0, w_u)
        loss = (dice_u + dice_l + ce_u + ce_l) / 2
        return StepOutput(loss, {"loss_in_unlabeled": ((dice_u + ce_u) / 2).detach(),
                                 "loss_in_labeled": ((dice_l + ce_l) / 2).detach()})

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Copy-paste loss of the current phase."""
        if progress.phase == "pretrain":
            return self.pretrain_step(batch)
        x_a, x_b, y_a, y_b, u_a, u_b = self.split_pairs(batch)
        mask = self.mix_mask(u_a)
        p_a, p_b = self.pseudo_labels(torch.cat([u_a, u_b])).split(u_a.shape[0])
        # unlabeled image with a labeled box, and labeled image with an unlabeled box
        logits = self.student(torch.cat([mix(u_a, x_a, mask), mix(x_b, u_b, mask)]))
        return self.mixed_loss(logits, (y_a, y_b, p_a, p_b), mask)

    def on_after_optimizer_step(self, progress: Progress) -> None:
        """EMA update of the teacher during self-training (constant decay)."""
        if progress.phase == "selftrain":
            ema_update(self.teacher, self.student, self.config.ema_decay)
