"""What a trained network needs to know of its data set, kept in the run folder.

A run folder goes where its training data cannot: to a hospital that predicts its own
scans, to a colleague, to a machine without ../shared. Predicting new scans needs only
a little of the training data set: its ``dataset.json`` (classes, input channels, file
format), the voxel size and orientation of the scans the network learned from (to warn
about inputs unlike them, :mod:`semiseg.data.compatibility`) and whether reference head
circumferences came with it (head read-outs). Training writes these to
``RUN/data_profile.json`` (:data:`PROFILE_FILE`); ``semiseg predict`` reads them there,
so the training data need not be present, and ``semiseg evaluate`` checks that the data
set it scores on has the classes the network was trained with.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from semiseg.atomic import write_text_atomic
from semiseg.config import DataConfig
from semiseg.data.compatibility import training_reference
from semiseg.data.io import read_json_object
from semiseg.data.nnunet import NnUNetDataset, parse_dataset_json
from semiseg.errors import DataError

PROFILE_FILE = "data_profile.json"


@dataclass
class DataProfile:
    """A run's training data set, as far as prediction needs it.

    Attributes:
        dataset_json: The training data set's ``dataset.json``.
        voxel_size: Median voxel size (mm) of the labeled training scans; None when not
            checked (2D networks, ``data.target_spacing``, scans without spacing).
        orientation: Their usual orientation (axis codes, e.g. "RAS"), or None.
        head_reference: The training case table gave reference head circumferences
            (a fetal-head model: predictions get head read-outs).
        source: The data set folder the profile was taken from (informational).
    """

    dataset_json: dict[str, Any]
    voxel_size: list[float] | None
    orientation: str | None
    head_reference: bool
    source: str = ""

    def dataset(self, root: Path) -> NnUNetDataset:
        """A data set with the training set's classes and channels but no cases, at ``root``."""
        labels, channels, ending = parse_dataset_json(self.dataset_json, root / PROFILE_FILE)
        return NnUNetDataset(root=root, labels=labels, channel_names=channels,
                             file_ending=ending, training_cases=[], meta=self.dataset_json)


def make_profile(cfg: DataConfig, dataset: NnUNetDataset,
                 training_ids: Sequence[str]) -> DataProfile:
    """The profile of a run trained on ``training_ids`` (its labeled cases) of ``dataset``."""
    voxel_size, orientation = training_reference(cfg, dataset, training_ids)
    return DataProfile(dict(dataset.meta), voxel_size, orientation, dataset.has_head_reference,
                       str(dataset.root))


def write_profile(profile: DataProfile, run_dir: Path) -> None:
    """Write ``run_dir/data_profile.json`` (atomically)."""
    write_text_atomic(run_dir / PROFILE_FILE, json.dumps(asdict(profile), indent=1))


def read_profile(run_dir: Path) -> DataProfile | None:
    """The run's profile; None for runs trained before profiles were written.

    Raises:
        DataError: the file exists but is not a profile (names it).
    """
    path = run_dir / PROFILE_FILE
    if not path.is_file():
        return None
    raw = read_json_object(path, "missing")
    try:
        return DataProfile(**raw)
    except TypeError as e:
        raise DataError(f"{path}: not a semiseg data profile ({e})") from None
