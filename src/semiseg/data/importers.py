"""Other layouts -> nnU-Net v2 raw layout.

* :func:`import_ssl4mis_acdc`: SSL4MIS's ``data/ACDC`` (``data/<case>.h5`` volumes with
  ``image``/``label`` arrays ``(slices, H, W)``, ``train_slices.list``, ``val.list``,
  ``test.list``) -> NIfTI ``(H, W, slices)`` with an identity affine (the h5 files carry
  no spacing) and a ``splits.json`` whose ``labeled_patients_order`` is SSL4MIS's order.
* :func:`import_ssl4mis_la`: UA-MT's / SSL4MIS's ``data/`` of the LA challenge
  (``2018LA_Seg_Training Set/<case>/mri_norm2.h5``, ``train.list``, ``test.list``) ->
  NIfTI ``(x, y, z)``, optionally with the voxel size stated by the user (0.625 mm).
* :func:`import_image_folder`: a folder of images (PNG or NIfTI) and optionally a folder
  of masks with the same file names; images with a mask go to ``imagesTr``/``labelsTr``,
  the others to ``imagesUnlabeled`` (training scans without a mask, the unlabeled data
  of every split). Mask values are mapped to 0..K-1 in sorted order.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np

from semiseg.data.challenges import held_out
from semiseg.data.io import NIFTI_ENDINGS, file_kind, read_image, write_label
from semiseg.data.nnunet import UNLABELED_FOLDER
from semiseg.errors import DataError

_CASE_RE = re.compile(r"^(patient\d+_frame\d+)")


def _read_list(path: Path, layout: str) -> list[str]:
    """Non-empty lines of an SSL4MIS case list; ``layout`` names the files it comes with."""
    if not path.is_file():
        raise DataError(f"{path}: missing ({layout})")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _read_h5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (float32) and ``label`` (uint8) arrays of an SSL4MIS-style h5 file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return (np.asarray(f["image"], dtype=np.float32),
                    np.asarray(f["label"]).astype(np.uint8))
    except (OSError, KeyError) as err:
        raise DataError(f"{path}: cannot read image/label ({err})") from None


def import_ssl4mis_acdc(source: str | Path, out: str | Path) -> Path:
    """Convert SSL4MIS ``data/ACDC`` to nnU-Net layout (see the module docstring)."""
    import nibabel as nib

    src, out = Path(source), Path(out)
    layout = "an SSL4MIS ACDC folder has train_slices.list, val.list and test.list"
    slices = _read_list(src / "train_slices.list", layout)
    val, test = _read_list(src / "val.list", layout), _read_list(src / "test.list", layout)
    train_cases = list(dict.fromkeys(m.group(1) for s in slices if (m := _CASE_RE.match(s))))
    patients = list(dict.fromkeys(c.split("_")[0] for c in train_cases))
    (out / "imagesTr").mkdir(parents=True, exist_ok=True)
    (out / "labelsTr").mkdir(parents=True, exist_ok=True)
    cases = train_cases + val + test
    for case in cases:
        path = src / "data" / f"{case}.h5"
        if not path.is_file():
            raise DataError(f"{path}: listed in the split lists but missing")
        image, label = _read_h5(path)
        image, label = image.transpose(1, 2, 0), label.transpose(1, 2, 0)
        nib.save(nib.Nifti1Image(image, np.eye(4)), str(out / "imagesTr" / f"{case}_0000.nii.gz"))
        nib.save(nib.Nifti1Image(label, np.eye(4)), str(out / "labelsTr" / f"{case}.nii.gz"))
    meta = {"channel_names": {"0": "cineMRI"},
            "labels": {"background": 0, "RV": 1, "Myo": 2, "LV": 3},
            "numTraining": len(cases), "file_ending": ".nii.gz",
            "source": f"imported by semiseg from SSL4MIS layout {src}",
            "spacing_note": "h5 files carry no spacing: identity affine (voxel units)",
            "axis_note": "arrays (H, W, slices) = SSL4MIS (slices, H, W) transposed (1, 2, 0)"}
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))
    splits = {"train": train_cases, "val": val, "test": test, "labeled_patients_order": patients}
    (out / "splits.json").write_text(json.dumps(splits, indent=1))
    return out


def import_ssl4mis_la(source: str | Path, out: str | Path, spacing: float | None = None,
                      val_fraction: float = 0.2, seed: int = 0) -> Path:
    """Convert UA-MT / SSL4MIS ``data/`` of the LA challenge to nnU-Net layout.

    Args:
        source: Folder with ``train.list``, ``test.list`` and ``2018LA_Seg_Training Set/
            <case>/mri_norm2.h5`` (``image`` z-scored and ``label`` 0/1, both ``(x, y, z)``).
        out: Data set folder to create.
        spacing: Isotropic voxel size in mm written into the affines (LA: 0.625); None
            keeps the identity (voxel units), since the h5 files carry no spacing.
        val_fraction: Share of ``train.list`` held out for validation (seeded); UA-MT has
            no validation set, and model selection must not look at ``test.list``.
        seed: Seed of the val cases.

    Returns:
        ``out``; its ``splits.json`` keeps ``train.list``'s order as ``labeled_order``
        (UA-MT labels its first 8 or 16 cases) without the val cases, and
        ``test.list`` as ``test``.
    """
    import nibabel as nib

    src, out = Path(source), Path(out)
    layout = ("an SSL4MIS LA folder has train.list, test.list and \"2018LA_Seg_Training Set\"/"
              "CASE/mri_norm2.h5")
    train, test = _read_list(src / "train.list", layout), _read_list(src / "test.list", layout)
    folder = src / "2018LA_Seg_Training Set"
    affine = np.diag([spacing or 1.0] * 3 + [1.0])
    for folder_name in ("imagesTr", "labelsTr"):
        (out / folder_name).mkdir(parents=True, exist_ok=True)
    for case in train + test:
        path = folder / case / "mri_norm2.h5"
        if not path.is_file():
            raise DataError(f"{path}: listed in train.list/test.list but missing")
        image, label = _read_h5(path)
        nib.save(nib.Nifti1Image(image, affine), str(out / "imagesTr" / f"{case}_0000.nii.gz"))
        nib.save(nib.Nifti1Image(label, affine), str(out / "labelsTr" / f"{case}.nii.gz"))
    val = set(held_out(train, val_fraction, seed)[1])
    order = [c for c in train if c not in val]
    splits = {"train": order, "val": sorted(val), "test": test, "labeled_order": order}
    (out / "splits.json").write_text(json.dumps(splits, indent=1))
    meta = {"channel_names": {"0": "LGE-MRI"}, "labels": {"background": 0, "left_atrium": 1},
            "numTraining": len(train) + len(test), "file_ending": ".nii.gz",
            "source": f"imported by semiseg from the UA-MT/SSL4MIS LA layout {src}",
            "spacing_note": (f"isotropic {spacing} mm, as stated at import" if spacing else
                             "h5 files carry no spacing: identity affine (voxel units)")}
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))
    return out


def _stem(path: Path) -> str:
    name = path.name
    for ending in (*NIFTI_ENDINGS, ".png"):
        if name.lower().endswith(ending):
            name = name[: -len(ending)]
            break
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def import_image_folder(images: str | Path, out: str | Path, masks: str | Path | None = None,
                        label_names: list[str] | None = None) -> Path:
    """Convert a folder of images (+ optional masks of the same names) to nnU-Net layout.

    Args:
        images: Folder of ``.png``/``.nii.gz``/``.nii`` images (one file per case).
        out: Data set folder to create.
        masks: Folder of masks with the images' file names (any subset of them).
        label_names: Names of the foreground classes, in the sorted order of mask values.

    Raises:
        DataError: mixed file types, unreadable files, mask/image shape mismatch.
    """
    src, out = Path(images), Path(out)
    if not src.is_dir():
        raise DataError(f"{src}: image folder does not exist")
    files = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(f"{src}: no image files")
    kinds = {file_kind(p) for p in files}
    if len(kinds) > 1:
        raise DataError(f"{src}: mixes PNG and NIfTI files")
    ending = ".png" if kinds == {"png"} else ".nii.gz"
    mask_dir = Path(masks) if masks else None
    if mask_dir is not None and not mask_dir.is_dir():
        raise DataError(f"{mask_dir}: mask folder does not exist")
    pairs = [(p, mask_dir / p.name if mask_dir and (mask_dir / p.name).is_file() else None)
             for p in files]
    values: set[int] = {0}
    for _, m in pairs:
        if m is not None:
            arr, _ = read_image(m)
            values |= set(np.unique(arr.astype(np.int64)).tolist())
    value_list = sorted(values)
    if label_names is not None and len(label_names) != len(value_list) - 1:
        raise DataError(f"--labels names {len(label_names)} classes but the masks hold "
                        f"{len(value_list) - 1} foreground values {value_list[1:]}")
    names = label_names or [f"class{v}" for v in value_list[1:]]
    lut = {v: i for i, v in enumerate(value_list)}
    for folder in ("imagesTr", "labelsTr", UNLABELED_FOLDER):
        (out / folder).mkdir(parents=True, exist_ok=True)
    stems: dict[str, Path] = {}
    for image_path, _ in pairs:
        other = stems.setdefault(_stem(image_path), image_path)
        if other != image_path:
            raise DataError(f"{image_path}: gives the same case id {_stem(image_path)!r} as "
                            f"{other.name}; rename one of them")
    n_train, channels = 0, 1
    for image_path, mask_path in pairs:
        case = _stem(image_path)
        image, geo = read_image(image_path)
        if ending == ".png" and image.ndim == 3:
            channels = image.shape[-1] if image.shape[-1] in (3,) else channels
        folder = "imagesTr" if mask_path is not None else UNLABELED_FOLDER
        dest = out / folder / f"{case}_0000{ending}"
        if ending == ".png" or image_path.name.endswith(".nii.gz"):
            shutil.copyfile(image_path, dest)
        else:
            import nibabel as nib

            nib.save(nib.load(str(image_path)), str(dest))
        if mask_path is not None:
            mask, _ = read_image(mask_path)
            spatial = image.shape[:2] if ending == ".png" else image.shape
            if mask.shape != spatial:
                raise DataError(f"{mask_path}: shape {mask.shape} differs from image {image.shape}")
            mapped = np.vectorize(lut.get)(mask.astype(np.int64)).astype(np.uint8)
            write_label(out / "labelsTr" / f"{case}{ending}", mapped, geo)
            n_train += 1
    meta = {"channel_names": {str(i): f"channel{i}" for i in range(channels)},
            "labels": {"background": 0, **{n: i + 1 for i, n in enumerate(names)}},
            "numTraining": n_train, "file_ending": ending,
            "source": f"imported by semiseg from {src}"
                      + (f" with masks {mask_dir}" if masks else ""),
            "label_values_in_source": {n: v for n, v in zip(names, value_list[1:], strict=True)}}
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))
    return out
