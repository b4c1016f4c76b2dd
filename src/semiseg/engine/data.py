"""From a run config to data ready on the device: data set, split, banks, val cases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from semiseg.config import DataConfig, RunConfig
from semiseg.data.loading import PatchBank, SliceBank, estimate_bytes, normalize_image
from semiseg.data.nnunet import Case, NnUNetDataset, open_dataset
from semiseg.data.spacing import resample_factors, resolve_target_spacing
from semiseg.data.splits import (
    Split,
    add_unlabeled_scans,
    load_split,
    make_split,
    split_file,
    ungrouped_patients_hint,
    validate_split,
)
from semiseg.errors import ConfigError
from semiseg.inference import rescale_volume

Bank = SliceBank | PatchBank


@dataclass
class RunData:
    """Everything the loop needs from the data.

    Attributes:
        dataset: The opened data set.
        split: Labeled / unlabeled / val case ids.
        labeled: Labeled bank.
        unlabeled: Unlabeled bank, None for labeled-only methods.
        val_cases: Normalised val cases with labels (full volumes, native size).
        warnings: What the run should tell its user before training (one line each).
    """

    dataset: NnUNetDataset
    split: Split
    labeled: Bank
    unlabeled: Bank | None
    val_cases: list[Case]
    warnings: list[str] = field(default_factory=list)


def resolve_split(dataset: NnUNetDataset, cfg: DataConfig, seed: int) -> tuple[Split, str]:
    """The split of a run and where it came from.

    Order: ``data.split`` if set; else the data set's ``splits.json``; else a seeded
    split by patient. Scans without a mask (``imagesUnlabeled``) then join the unlabeled
    part, except those of val/test patients. Every split is validated against the data
    set's cases.
    """
    folds = (cfg.folds, cfg.fold)
    source = split_file(dataset.root, cfg.split)
    if source:
        split = load_split(source, cfg.num_labeled, cfg.group_by, cfg.labeled_percent,
                           *folds, seed)
    else:
        source = f"generated (seed {seed})"
        split = make_split(dataset.training_cases, cfg.num_labeled, seed, cfg.val_fraction,
                           cfg.group_by, cfg.labeled_percent, *folds)
    if cfg.folds:
        source += f", cross-validation fold {cfg.fold} of {cfg.folds}"
    left_out = add_unlabeled_scans(split, dataset.unlabeled_cases, cfg.group_by)
    if left_out:
        source += (f"; {len(left_out)} unlabeled scans of val/test patients left out "
                   f"(e.g. {left_out[0]})")
    validate_split(split, dataset.training_cases, source, dataset.unlabeled_cases)
    return split, source


def load_cases(dataset: NnUNetDataset, case_ids: list[str], normalize: str,
               with_label: bool = True, threads: int = 4,
               resample: DataConfig | None = None) -> list[Case]:
    """Read and normalise cases in parallel threads (decompression releases the GIL).

    ``resample``: the run's data settings, to resample 3D training volumes by
    ``data.target_spacing`` or ``data.scale`` (image trilinear, label nearest); their
    ``geometry`` keeps the native voxel size.
    """

    def load(case_id: str) -> Case:
        case = dataset.load_case(case_id, with_label=with_label)
        case.image = normalize_image(case.image, normalize)
        factors = (resample_factors(resample, case.geometry, str(dataset.image_paths(case_id)[0]))
                   if resample is not None else None)
        if factors is not None:
            case.image = rescale_volume(torch.from_numpy(case.image), factors).numpy()
            if case.label is not None:
                case.label = rescale_volume(torch.from_numpy(case.label), factors,
                                            label=True).numpy()
        return case

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(load, case_ids))


def bank_device(cfg: DataConfig, cases: list[Case], device: torch.device) -> torch.device:
    """Where the training samples live: the training device when they fit ("auto")."""
    if cfg.cache == "cpu" or device.type == "cpu":
        return torch.device("cpu")
    if cfg.cache == "device":
        return device
    need = estimate_bytes(cases, cfg.spatial_dims, cfg.patch_size, cfg.slice_axis)
    free, _ = torch.cuda.mem_get_info(device)
    return device if need < 0.3 * free else torch.device("cpu")


def make_bank(cfg: DataConfig, cases: list[Case], device: torch.device, labeled: bool,
              patients: dict[str, str] | None = None) -> Bank:
    """A slice bank (2D) or patch bank (3D) of ``cases`` (``patients``: case -> patient)."""
    if cfg.spatial_dims == 2:
        return SliceBank(cases, cfg.slice_axis, cfg.patch_size, device, with_labels=labeled,
                         patients=patients, phase_patterns=cfg.phase_patterns)
    return PatchBank(cases, cfg.patch_size, device, with_labels=labeled,
                     foreground_oversample=cfg.foreground_oversample)


def prepare_data(config: RunConfig, device: torch.device, uses_unlabeled: bool,
                 split: Split | None = None) -> RunData:
    """Open, split, load and cache the data of a run.

    Resolves ``data.target_spacing: median`` in ``config`` to the training scans' median
    voxel size (in place, before the run writes its config).

    Args:
        config: The run config.
        device: Training device.
        uses_unlabeled: Whether to build the unlabeled bank.
        split: A split to reuse (resume); None resolves it from the config.
    """
    cfg = config.data
    if not cfg.root:
        raise ConfigError("config key 'data.root': no data set given (an nnU-Net raw folder)")
    dataset = open_dataset(Path(cfg.root), cfg.case_table)
    if dataset.is_2d_images and cfg.spatial_dims == 3:
        raise ConfigError(f"config key 'data.spatial_dims': 3 but {cfg.root} holds 2D images")
    warnings: list[str] = []
    if split is None:
        split, _ = resolve_split(dataset, cfg, config.train.seed)
        hint = ungrouped_patients_hint(dataset.training_cases, cfg.group_by,
                                       split_file(dataset.root, cfg.split))
        if hint:
            warnings.append(hint)
    else:
        validate_split(split, dataset.training_cases, "the run's split.json",
                       dataset.unlabeled_cases)
    resolve_target_spacing(cfg, dataset, split.labeled + split.unlabeled)
    labeled_cases = load_cases(dataset, split.labeled, cfg.normalize, resample=cfg)
    where = bank_device(cfg, labeled_cases, device)
    labeled = make_bank(cfg, labeled_cases, where, labeled=True, patients=split.patients)
    del labeled_cases
    unlabeled = None
    if uses_unlabeled:
        if not split.unlabeled:
            raise ConfigError("the split has no unlabeled cases but the method needs them")
        unl_cases = load_cases(dataset, split.unlabeled, cfg.normalize, with_label=False,
                               resample=cfg)
        unlabeled = make_bank(cfg, unl_cases, where, labeled=False, patients=split.patients)
        del unl_cases
    val_cases = load_cases(dataset, split.val, cfg.normalize)
    return RunData(dataset=dataset, split=split, labeled=labeled, unlabeled=unlabeled,
                   val_cases=val_cases, warnings=warnings)
