"""Training samples held in memory (on the training device when they fit).

Augmentation does not happen here: banks return raw samples and the engine augments the
whole batch on the device (``semiseg.augment``). Two banks:

* :class:`SliceBank` (2D training): every slice of every volume (or every 2D image),
  resized once to ``patch_size``, stacked into one tensor; a batch is an index gather.
* :class:`PatchBank` (3D training): whole volumes; a batch is a set of random crops,
  labeled crops centred on foreground with probability ``foreground_oversample``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from semiseg.data.meta import partition_of, phase_of
from semiseg.data.nnunet import Case


def normalize_image(image: np.ndarray, mode: str) -> np.ndarray:
    """Per-case, per-channel intensity normalisation of ``[C, *S]`` float32."""
    if mode == "none":
        return image
    axes = tuple(range(1, image.ndim))
    if mode == "zscore":
        mean = image.mean(axis=axes, keepdims=True)
        std = image.std(axis=axes, keepdims=True)
        return (image - mean) / np.maximum(std, 1e-8)
    if mode == "minmax":
        lo = image.min(axis=axes, keepdims=True)
        hi = image.max(axis=axes, keepdims=True)
        return (image - lo) / np.maximum(hi - lo, 1e-8)
    raise ValueError(f"unknown normalisation {mode!r}")


def case_slices(case: Case, slice_axis: int) -> tuple[Tensor, Tensor | None]:
    """2D slices of a case: ``([K, C, H, W] float32, [K, H, W] uint8 | None)``.

    A 2D case (``[C, H, W]``) gives one slice; a 3D case gives one per index of
    ``slice_axis`` (an axis of the spatial shape, negative allowed).
    """
    image = torch.from_numpy(case.image)
    label = torch.from_numpy(case.label) if case.label is not None else None
    if image.ndim == 3:
        return image[None], (label[None] if label is not None else None)
    axis = slice_axis % 3
    image = image.movedim(1 + axis, 0)  # [K, C, ...]
    label = label.movedim(axis, 0) if label is not None else None
    return image.contiguous(), (label.contiguous() if label is not None else None)


def resize_slices(image: Tensor, label: Tensor | None,
                  size: list[int]) -> tuple[Tensor, Tensor | None]:
    """Resize ``[K, C, H, W]`` bilinearly and ``[K, H, W]`` labels by nearest neighbour."""
    if list(image.shape[-2:]) != list(size):
        image = F.interpolate(image, size=size, mode="bilinear", align_corners=False)
        if label is not None:
            label = F.interpolate(label[:, None].float(), size=size, mode="nearest-exact")[:, 0]
            label = label.to(torch.uint8)
    return image, label


@dataclass
class _Stream:
    """Epoch-wise sampling without replacement from ``n`` items, resumable."""

    n: int
    perm: Tensor | None = None
    pos: int = 0
    _device_perm: tuple[Tensor, Tensor] | None = field(default=None, repr=False)

    def take(self, k: int, gen: torch.Generator, device: torch.device | None = None) -> Tensor:
        """The next ``k`` indices, ``[k]`` int64 on ``device`` (default: the host)."""
        out = []
        while k > 0:
            if self.perm is None or self.pos >= self.n:
                self.perm = torch.randperm(self.n, generator=gen)
                self.pos = 0
            chunk = self._perm_on(device)[self.pos: self.pos + k]
            self.pos += len(chunk)
            k -= len(chunk)
            out.append(chunk)
        return torch.cat(out)

    def _perm_on(self, device: torch.device | None) -> Tensor:
        """The epoch's permutation on ``device``, copied there once per epoch.

        A copy to a GPU waits for it; once an epoch instead of once a step keeps the
        training step free of host syncs.
        """
        assert self.perm is not None
        if device is None or device.type == "cpu":
            return self.perm
        if self._device_perm is None or self._device_perm[0] is not self.perm:
            self._device_perm = (self.perm, self.perm.to(device))
        return self._device_perm[1]

    def state(self) -> dict:
        perm = self.perm if self.perm is not None else torch.empty(0, dtype=torch.long)
        return {"perm": perm, "pos": self.pos}

    def load(self, state: dict) -> None:
        self.perm = state["perm"] if len(state["perm"]) else None
        self.pos = int(state["pos"])


class SliceBank:
    """All 2D training slices, resized to ``patch_size`` and stacked.

    Args:
        cases: Loaded cases (already normalised).
        slice_axis: Slicing axis for 3D cases.
        patch_size: ``[H, W]``.
        device: Where the stacked tensors live.
        with_labels: Keep labels (labeled bank) or not (unlabeled bank).
    """

    def __init__(self, cases: list[Case], slice_axis: int, patch_size: list[int],
                 device: torch.device, with_labels: bool,
                 patients: dict[str, str] | None = None,
                 phase_patterns: Sequence[str] = ()) -> None:
        images, labels, case_index, position = [], [], [], []
        patient_ids = list(dict.fromkeys((patients or {}).get(c.case_id, c.case_id)
                                         for c in cases))
        patient_index, phase_index = [], []
        for index, case in enumerate(cases):
            image, label = case_slices(case, slice_axis)
            image, label = resize_slices(image, label if with_labels else None, patch_size)
            images.append(image)
            if with_labels:
                labels.append(label)
            k = image.shape[0]
            case_index.append(torch.full((k,), index, dtype=torch.long))
            position.append((torch.arange(k, dtype=torch.float32) + 0.5) / k)
            patient = patient_ids.index((patients or {}).get(case.case_id, case.case_id))
            patient_index.append(torch.full((k,), patient, dtype=torch.long))
            phase_index.append(torch.full((k,), phase_of(case.case_id, phase_patterns),
                                          dtype=torch.long))
        self.images = torch.cat(images).to(device)  # [N, C, H, W]
        self.labels = torch.cat(labels).to(device) if with_labels else None  # [N, H, W] uint8
        self.case_index = torch.cat(case_index).to(device)
        self.position = torch.cat(position).to(device)  # slice position in its volume, (0, 1)
        self.patient_index = torch.cat(patient_index).to(device)
        self.phase_index = torch.cat(phase_index).to(device)  # -1: no phase pattern matched
        self.case_ids = [c.case_id for c in cases]
        self._stream = _Stream(len(self.images))
        self._groups: Tensor | None = None  # partition table of sample_grouped, built once
        self._group_counts: Tensor | None = None

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, k: int, gen: torch.Generator) -> tuple[Tensor, Tensor | None, dict]:
        """``k`` samples: images ``[k, C, H, W]`` float32, labels ``[k, H, W]`` int64 or None."""
        return self._gather(self._stream.take(k, gen, self.images.device))

    def _gather(self, idx: Tensor) -> tuple[Tensor, Tensor | None, dict]:
        labels = self.labels[idx].long() if self.labels is not None else None
        meta = {"case_index": self.case_index[idx], "slice_position": self.position[idx],
                "patient_index": self.patient_index[idx], "phase_index": self.phase_index[idx]}
        return self.images[idx], labels, meta

    def sample_grouped(self, scans: int, partitions: int, gen: torch.Generator
                       ) -> tuple[Tensor, Tensor | None, dict]:
        """``scans`` random volumes x one random slice from each of ``partitions`` parts.

        Contrastive batches need positives: every partition of every drawn volume is
        present, so slices sharing a partition (and a patient) are always in the batch.
        A volume without slices in some partition (fewer slices than partitions) gives a
        slice of the nearest non-empty one. Sampled on the bank's device.

        Returns:
            As :meth:`sample`, ``scans * partitions`` samples, volume-major.
        """
        table, counts = self._partition_table(partitions)
        n_cases = table.shape[0]
        chosen = torch.randperm(n_cases, generator=gen)[:scans]
        if len(chosen) < scans:  # fewer volumes than asked: repeat
            chosen = chosen[torch.arange(scans) % max(len(chosen), 1)]
        pick = torch.rand((scans, partitions), generator=gen)
        slot = (pick * counts[chosen]).long().clamp_max(table.shape[2] - 1)
        idx = table[chosen[:, None], torch.arange(partitions)[None], slot].reshape(-1)
        return self._gather(idx.to(self.images.device))

    def _partition_table(self, partitions: int) -> tuple[Tensor, Tensor]:
        """``[cases, K, max]`` slice indices per case and partition, and their counts."""
        if self._groups is not None and self._groups.shape[1] == partitions:
            return self._groups, self._group_counts
        case_index, part = self.case_index.cpu(), partition_of(self.position.cpu(), partitions)
        n_cases = int(case_index.max()) + 1 if len(case_index) else 0
        members = [[[] for _ in range(partitions)] for _ in range(n_cases)]
        for i, (c, p) in enumerate(zip(case_index.tolist(), part.tolist(), strict=True)):
            members[c][p].append(i)
        for parts in members:  # fill empty partitions from the nearest non-empty one
            filled = [j for j in range(partitions) if parts[j]]
            for j in range(partitions):
                if not parts[j] and filled:
                    parts[j] = parts[min(filled, key=lambda f, j=j: abs(f - j))]
        width = max((len(p) for parts in members for p in parts), default=1)
        table = torch.zeros((n_cases, partitions, width), dtype=torch.long)
        counts = torch.zeros((n_cases, partitions))
        for c, parts in enumerate(members):
            for j, items in enumerate(parts):
                table[c, j, :len(items)] = torch.tensor(items, dtype=torch.long)
                counts[c, j] = len(items)
        self._groups, self._group_counts = table, counts
        return table, counts

    def state_dict(self) -> dict:
        """Sampling position (for exact resume)."""
        return self._stream.state()

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""
        self._stream.load(state)


class PatchBank:
    """Whole 3D volumes; samples random patches (padded when a volume is smaller).

    Args:
        cases: Loaded 3D cases (normalised).
        patch_size: ``[D0, D1, D2]`` in array axis order.
        device: Where the volumes live.
        with_labels: Keep labels.
        foreground_oversample: Probability that a labeled patch is centred on foreground.
    """

    def __init__(self, cases: list[Case], patch_size: list[int], device: torch.device,
                 with_labels: bool, foreground_oversample: float = 0.33) -> None:
        self.patch = list(patch_size)
        self.images = [torch.from_numpy(c.image).to(device) for c in cases]
        self.labels = [torch.from_numpy(c.label).to(device) for c in cases] if with_labels else None
        self.foreground = []
        if with_labels:
            for lab in self.labels:
                fg = torch.nonzero(lab > 0)
                if len(fg) > 20000:  # a sample of foreground voxels is enough to pick centres
                    fg = fg[torch.linspace(0, len(fg) - 1, 20000).long()]
                self.foreground.append(fg)
        self.oversample = foreground_oversample
        self.case_ids = [c.case_id for c in cases]
        self._stream = _Stream(len(self.images))

    def __len__(self) -> int:
        return len(self.images)

    def _crop(self, vol: Tensor, start: list[int]) -> Tensor:
        """Crop ``[..., *S]`` at ``start`` with zero padding outside the volume."""
        spatial = vol.shape[-3:]
        pad = []
        for s, size, p in zip(reversed(start), reversed(spatial), reversed(self.patch),
                              strict=True):
            pad += [max(0, -s), max(0, s + p - size)]
        out = F.pad(vol, pad) if any(pad) else vol
        s0 = [max(0, s) for s in start]
        return out[..., s0[0]: s0[0] + self.patch[0], s0[1]: s0[1] + self.patch[1],
                   s0[2]: s0[2] + self.patch[2]]

    def sample(self, k: int, gen: torch.Generator) -> tuple[Tensor, Tensor | None, dict]:
        """``k`` patches: ``[k, C, *P]`` float32 and ``[k, *P]`` int64 (or None)."""
        idx = self._stream.take(k, gen).tolist()
        images, labels = [], []
        for i in idx:
            vol = self.images[i]
            spatial = vol.shape[1:]
            use_fg = (self.labels is not None and len(self.foreground[i]) > 0
                      and torch.rand((), generator=gen).item() < self.oversample)
            if use_fg:
                fg = self.foreground[i]
                centre = fg[torch.randint(len(fg), (), generator=gen).item()].tolist()
                start = [c - p // 2 for c, p in zip(centre, self.patch, strict=True)]
            else:
                start = [int(torch.randint(min(0, s - p), max(0, s - p) + 1, (),
                                           generator=gen).item()) if s != p else 0
                         for s, p in zip(spatial, self.patch, strict=True)]
            images.append(self._crop(vol, start))
            if self.labels is not None:
                labels.append(self._crop(self.labels[i], start).long())
        meta = {"case_index": torch.tensor(idx, device=self.images[0].device)}
        return torch.stack(images), (torch.stack(labels) if labels else None), meta

    def state_dict(self) -> dict:
        """Sampling position (for exact resume)."""
        return self._stream.state()

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""
        self._stream.load(state)


def estimate_bytes(cases: list[Case], spatial_dims: int, patch_size: list[int],
                   slice_axis: int) -> int:
    """Memory the bank of ``cases`` will need (float32 images + uint8 labels)."""
    total = 0
    for case in cases:
        c = case.image.shape[0]
        if spatial_dims == 2:
            k = 1 if case.image.ndim == 3 else case.image.shape[1 + slice_axis % 3]
            total += k * int(np.prod(patch_size)) * (4 * c + 1)
        else:
            total += int(np.prod(case.image.shape[1:])) * (4 * c + 1)
    return total
