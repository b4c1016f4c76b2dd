"""Medical Segmentation Decathlon (MSD) task folders -> nnU-Net v2 raw layout.

An MSD task (``Task02_Heart``, ``Task01_BrainTumour``, ...) holds ``dataset.json``
(``modality``: channel index -> name, ``labels``: value -> name, ``training``: list of
``{"image", "label"}`` paths, ``test``: list of image paths) and ``imagesTr``,
``labelsTr``, ``imagesTs`` with one NIfTI per case: 3D for one modality, 4D ``(x, y, z,
c)`` for several. nnU-Net wants one 3D file per channel (``<case>_000c.nii.gz``) and a
v2 ``dataset.json`` (``channel_names``, ``labels``: name -> value, ``file_ending``), as
its own ``nnUNetv2_convert_MSD_dataset`` writes. Single-channel files are copied byte for
byte; multi-channel ones are split with the original affine and header. The macOS
``._*`` files the MSD archives carry are skipped. A seeded ``splits.json`` holds out
``val_fraction`` of the training cases for validation (MSD has none, and its test cases
have no labels: they go to ``imagesTs``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from semiseg.data.challenges import held_out
from semiseg.data.io import NIFTI_ENDINGS, read_json_object
from semiseg.errors import DataError


def _case_id(path: str) -> str:
    name = Path(path).name
    for ending in NIFTI_ENDINGS:
        if name.endswith(ending):
            return name[: -len(ending)]
    raise DataError(f"{path}: MSD images are NIfTI (.nii.gz)")


def _write_channels(src: Path, out_dir: Path, case: str, channels: int) -> None:
    """``src`` as ``out_dir/<case>_000c.nii.gz``, one 3D file per channel."""
    import nibabel as nib

    if not src.is_file():
        raise DataError(f"{src}: listed in dataset.json but missing")
    try:
        image = nib.load(str(src))
        shape = image.shape
    except Exception as err:  # nibabel raises several types for broken files
        raise DataError(f"{src}: cannot read ({err})") from None
    found = shape[3] if len(shape) == 4 else 1
    if len(shape) not in (3, 4) or found != channels:
        raise DataError(f"{src}: shape {shape}, expected {channels} channel(s) "
                        "(dataset.json's modality) of a 3D image")
    if found == 1 and len(shape) == 3 and src.name.endswith(".nii.gz"):
        shutil.copyfile(src, out_dir / f"{case}_0000.nii.gz")
        return
    data = np.asanyarray(image.dataobj)
    for c in range(channels):
        channel = data[..., c] if len(shape) == 4 else data
        nib.save(nib.Nifti1Image(channel, image.affine, image.header),
                 str(out_dir / f"{case}_{c:04d}.nii.gz"))


def _write_label(src: Path, out_path: Path, values: set[int]) -> None:
    """The label file as uint8, after checking its values against dataset.json."""
    import nibabel as nib

    if not src.is_file():
        raise DataError(f"{src}: listed in dataset.json but missing")
    try:
        image = nib.load(str(src))
        label = np.asanyarray(image.dataobj)
    except Exception as err:
        raise DataError(f"{src}: cannot read ({err})") from None
    found = set(np.unique(label).tolist())
    if not found <= values or not np.array_equal(label, np.round(label)):
        raise DataError(f"{src}: label values {sorted(found - values)[:5] or 'non-integer'} "
                        f"not among dataset.json's labels {sorted(values)}")
    out = nib.Nifti1Image(label.astype(np.uint8), image.affine, image.header)
    out.set_data_dtype(np.uint8)
    out.header.set_slope_inter(1.0, 0.0)
    nib.save(out, str(out_path))


def _read_msd_json(src: Path) -> dict[str, Any]:
    path = src / "dataset.json"
    meta = read_json_object(path, "missing (an MSD task folder has dataset.json, imagesTr, "
                                  "labelsTr)")
    for key in ("modality", "labels", "training"):
        if key not in meta:
            raise DataError(f"{path}: no '{key}' (not an MSD dataset.json)")
    return meta


def import_msd(source: str | Path, out: str | Path, val_fraction: float = 0.2,
               seed: int = 0) -> Path:
    """Convert an MSD task folder to nnU-Net layout (see the module docstring).

    Args:
        source: The task folder (``TaskNN_Name``).
        out: Data set folder to create.
        val_fraction: Share of the training cases held out for validation (seeded).
        seed: Seed of the val cases.

    Returns:
        ``out``, with ``splits.json``: ``train`` / ``val`` (cases), ``test`` (the MSD
        test images), ``labeled_order`` = ``train`` in dataset.json's order.
    """
    src, out = Path(source), Path(out)
    meta = _read_msd_json(src)
    channels = len(meta["modality"])
    values = {int(v) for v in meta["labels"]}
    training = [e for e in meta["training"] if not Path(e["image"]).name.startswith("._")]
    test = [p for p in meta.get("test", []) if not Path(p).name.startswith("._")]
    for folder in ("imagesTr", "labelsTr", "imagesTs"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    cases = []
    for entry in training:
        case = _case_id(entry["image"])
        _write_channels(src / entry["image"], out / "imagesTr", case, channels)
        _write_label(src / entry["label"], out / "labelsTr" / f"{case}.nii.gz", values)
        cases.append(case)
    test_cases = []
    for path in test:
        case = _case_id(path)
        _write_channels(src / path, out / "imagesTs", case, channels)
        test_cases.append(case)
    train, val = held_out(cases, val_fraction, seed)
    order = [c for c in cases if c in set(train)]
    splits = {"train": order, "val": sorted(val), "test": test_cases, "labeled_order": order}
    (out / "splits.json").write_text(json.dumps(splits, indent=1))
    labels = {}
    for value, name in sorted(meta["labels"].items(), key=lambda kv: int(kv[0])):
        key = str(name) if str(name) not in labels else f"{name}_{value}"
        labels[key] = int(value)
    v2 = {"channel_names": {str(k): v for k, v in meta["modality"].items()},
          "labels": labels, "numTraining": len(cases), "file_ending": ".nii.gz",
          "name": meta.get("name", src.name),
          "source": f"imported by semiseg from the MSD task {src}"}
    for key in ("description", "reference", "licence", "release"):
        if key in meta:
            v2[key] = meta[key]
    (out / "dataset.json").write_text(json.dumps(v2, indent=1))
    return out
