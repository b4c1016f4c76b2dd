"""Quality-controlled self-training (semiQCSeg; Ruijsink et al.) and plain self-training.

Self-training in rounds: phase ``supervised`` trains the segmenter on labeled images;
each later phase ``roundN`` starts by freezing a copy of the segmenter as the teacher,
whose argmax pseudo-labels unlabeled images for the segmenter to learn, (Dice + CE) / 2
weighted ``pseudo_weight``. The quality-controlled variant (``semiqc``) admits a
pseudo-labeled image only if a quality network (:mod:`semiseg.qc`) predicts a Dice of at
least ``qc_threshold`` for it; the QC network learns throughout, from labeled images
only: corrupted true masks and the segmenter's own predictions, with their true Dice as
the target (MSE). The accepted share is logged every step (its mean per phase is the
share per round). ``selftrain`` is the same without quality control (everything is
admitted), the baseline the paper compares with.

Deviations: Ruijsink et al. train their QC classifiers offline on clinical-measure
features (volumes, EF, their plausibility and ED/ES consistency) and re-train the
segmenter from scratch per round on whole scans; here QC is learned online from image +
segmentation per training sample (2D slice or 3D patch) and rounds continue training
the same network (the learning-rate schedule restarts with each round, as a re-training
would). The clinical plausibility checks act at inference instead
(``semiseg qc``). ``rounds`` 3, the supervised phase is 1/4 of the run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from semiseg.losses import supervised_loss
from semiseg.methods.base import (
    NetSpec,
    Progress,
    SemiBatch,
    SemiSupervisedMethod,
    StepOutput,
    freeze,
)
from semiseg.qc import QualityNet, corrupt, soft_dice_per_sample


class SelfTraining(SemiSupervisedMethod):
    """Rounds of pseudo-labeling by a frozen copy of the segmenter (no quality control)."""

    name = "selftrain"
    phases = ("supervised", "round1", "round2", "round3")
    uses_qc = False

    @dataclass
    class Config:
        """Self-training hyper-parameters."""

        supervised_fraction: float = 0.25
        pseudo_weight: float = 1.0
        qc_threshold: float = 0.0

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.student = net.build()
        self.teacher = freeze(copy.deepcopy(self.student))
        self.qc = (QualityNet(net.spatial_dims, net.in_channels, net.num_classes)
                   if self.uses_qc else None)
        # the round whose teacher is in place (persisted: a run resumed in the middle of
        # a round must keep the teacher that round started with)
        self.register_buffer("teacher_round", torch.tensor(0))

    @classmethod
    def phase_steps(cls, config: Config, total_steps: int) -> dict[str, int]:
        """The supervised share, then equal rounds."""
        first = round(total_steps * config.supervised_fraction)
        rounds = len(cls.phases) - 1
        per_round, extra = divmod(total_steps - first, rounds)
        steps = {"supervised": first}
        for i, phase in enumerate(cls.phases[1:]):
            steps[phase] = per_round + (1 if i < extra else 0)
        return steps

    def on_phase_start(self, phase: str) -> None:
        """Each round's teacher is the segmenter as it stands when the round begins."""
        index = self.phases.index(phase)
        if index > 0 and int(self.teacher_round) != index:
            self.teacher.load_state_dict(self.student.state_dict())
            self.teacher_round.fill_(index)

    def accept(self, x_u: torch.Tensor, pseudo: torch.Tensor) -> torch.Tensor:
        """Which pseudo-labeled samples enter training: ``[B]`` bool (all, without QC)."""
        if self.qc is None:
            return torch.ones(pseudo.shape[0], dtype=torch.bool, device=pseudo.device)
        with torch.no_grad():
            return self.qc(x_u, pseudo).float() >= self.config.qc_threshold

    def qc_loss(self, x_l: torch.Tensor, y_l: torch.Tensor, pred_l: torch.Tensor
                ) -> torch.Tensor:
        """MSE of the QC network on corrupted truths and on the segmenter's predictions."""
        k = self.net_spec.num_classes
        corrupted, _ = corrupt(y_l, k)
        inputs = torch.cat([corrupted, pred_l])
        target = soft_dice_per_sample(inputs, torch.cat([y_l, y_l]), k)
        predicted = self.qc(torch.cat([x_l, x_l]), inputs).float()
        return torch.mean((predicted - target) ** 2)

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised (+ QC) loss; in rounds, plus the admitted pseudo-labeled images."""
        n_l = batch.x_l.shape[0]
        selftraining = progress.phase != "supervised" and batch.x_u.shape[0] > 0
        x = torch.cat([batch.x_l, batch.x_u]) if selftraining else batch.x_l
        logits = self.student(x)
        loss_sup = supervised_loss(logits[:n_l], batch.y_l)
        loss, logs = loss_sup, {"loss_sup": loss_sup.detach()}
        if self.qc is not None:
            loss_qc = self.qc_loss(batch.x_l, batch.y_l, logits[:n_l].detach().argmax(1))
            loss = loss + loss_qc
            logs["loss_qc"] = loss_qc.detach()
        if selftraining:
            with torch.no_grad():
                pseudo = self.teacher(batch.x_u).argmax(1)
            accepted = self.accept(batch.x_u, pseudo)
            share = accepted.float().mean()
            if bool(accepted.any()):
                loss_pl = supervised_loss(logits[n_l:][accepted], pseudo[accepted])
            else:
                loss_pl = logits.new_zeros((), dtype=torch.float32)
            loss = loss + self.config.pseudo_weight * loss_pl
            logs.update(loss_pseudo=loss_pl.detach(), accepted_share=share.detach())
        return StepOutput(loss, logs)

    def predictor(self) -> nn.Module:
        """The segmenter."""
        return self.student

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """Segmenter (and QC network), never the frozen teacher."""
        groups = {"student": list(self.student.parameters())}
        if self.qc is not None:
            groups["qc"] = list(self.qc.parameters())
        return groups

    def teachers(self) -> list[nn.Module]:
        """The frozen round teacher."""
        return [self.teacher]


class QualityControlledSelfTraining(SelfTraining):
    """Self-training that admits only pseudo-labels the QC network judges good."""

    name = "semiqc"
    uses_qc = True

    @dataclass
    class Config(SelfTraining.Config):
        """semiQCSeg hyper-parameters."""

        qc_threshold: float = 0.8
