"""Meta-labels that come free with every scan, for contrastive pre-training (SPCL).

- slice position partition: a volume's slices cut into ``K`` equal parts along the
  slice axis (from the slice's relative position in (0, 1));
- patient (the split's patient grouping) and case;
- phase (e.g. the cardiac ED/ES frame), from regexes over case ids in a config, -1 when
  none matches;

and combinations of them as one integer label per sample, so that positives of a
supervised contrastive loss are the samples sharing it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import Tensor

META_LABELS = ("partition", "patient", "case", "phase")


def partition_of(position: Tensor, partitions: int) -> Tensor:
    """Partition index ``[N]`` in ``[0, K)`` of relative slice positions ``[N]`` in (0, 1)."""
    return (position * partitions).long().clamp(0, partitions - 1)


def phase_of(case_id: str, patterns: Sequence[str]) -> int:
    """Index of the first pattern that matches the case id, -1 if none does."""
    for i, pattern in enumerate(patterns):
        if re.search(pattern, case_id):
            return i
    return -1


def combine(parts: Sequence[Tensor]) -> Tensor:
    """One integer label per sample from several integer labels ``[N]`` each.

    Labels may be -1 (unknown) and below ``2**15 - 1``; they are shifted to non-negative
    and packed in 15 bits each (up to 4 parts fit int64), so that equal tuples, and only
    those, give equal labels, without a device-to-host copy.
    """
    if len(parts) > 4:
        raise ValueError("at most 4 meta-labels can be combined")
    out = torch.zeros_like(parts[0])
    for part in parts:
        out = out * (1 << 15) + (part + 1)
    return out


def meta_label(meta: dict[str, Tensor], kind: str, partitions: int, suffix: str = "") -> Tensor:
    """The label ``kind`` (``+``-joined names from :data:`META_LABELS`) of a batch's samples.

    Args:
        meta: A batch's meta (``slice_position``, ``patient_index``, ``case_index``,
            ``phase_index``, each with ``suffix`` such as ``_u``).
        kind: e.g. ``partition``, ``partition+patient``, ``partition+phase``.
        partitions: K of the slice position partition.
    """
    parts = []
    for name in meta_label_names(kind):
        if name == "partition":
            parts.append(partition_of(meta[f"slice_position{suffix}"], partitions))
        else:
            parts.append(meta[f"{name}_index{suffix}"].long())
    return combine(parts)


def meta_label_names(kind: str) -> list[str]:
    """The names in a ``+``-joined meta-label; ValueError for an unknown one."""
    names = kind.split("+")
    for name in names:
        if name not in META_LABELS:
            raise ValueError(f"unknown meta-label {name!r}; valid: {', '.join(META_LABELS)}")
    return names
