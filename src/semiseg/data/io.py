"""Reading and writing image files (NIfTI and PNG) with their geometry.

Arrays keep the file's own axis order: NIfTI arrays are ``(x, y, z)`` as nibabel returns
them; PNG arrays are ``(H, W)``. Geometry (affine, header, spacing) travels beside the
array so that predictions are written back exactly as the input was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semiseg.atomic import atomic_path
from semiseg.errors import DataError

NIFTI_ENDINGS = (".nii.gz", ".nii")
PNG_ENDINGS = (".png",)


@dataclass
class Geometry:
    """Where an array lies in space.

    Attributes:
        spacing: Voxel size per array axis (mm for NIfTI; 1.0 for PNG unless known).
        affine: 4x4 voxel-to-world matrix for NIfTI, None for PNG.
        header: The nibabel header of the source file (NIfTI only), reused on write.
        spacing_known: False when the file carries no physical spacing (PNG, or a NIfTI
            whose affine is the identity), so distances are in voxels.
    """

    spacing: tuple[float, ...]
    affine: np.ndarray | None = None
    header: Any = None
    spacing_known: bool = False


def axis_codes(geometry: Geometry) -> str | None:
    """Orientation of the array axes, e.g. ``"RAS"`` (nibabel's axis codes).

    None when the file carries no real geometry (PNG, identity affine).
    """
    if geometry.affine is None or not geometry.spacing_known:
        return None
    import nibabel as nib

    return "".join(nib.aff2axcodes(geometry.affine))


def file_kind(path: Path) -> str:
    """"nifti" or "png" from the file name, else a DataError."""
    name = path.name.lower()
    if name.endswith(NIFTI_ENDINGS):
        return "nifti"
    if name.endswith(PNG_ENDINGS):
        return "png"
    raise DataError(f"{path}: unsupported file type (expected .nii.gz, .nii or .png)")


def read_image(path: Path) -> tuple[np.ndarray, Geometry]:
    """Read one image or label file.

    Returns:
        ``(array, geometry)``: NIfTI float64 ``(x, y, z)`` (or 2D) with scaling applied;
        PNG ``(H, W)`` (grayscale) or ``(H, W, 3|4)`` (colour) in the file's dtype.

    Raises:
        DataError: the file is missing, truncated or not a readable image.
    """
    if not path.is_file():
        raise DataError(f"{path}: file does not exist")
    kind = file_kind(path)
    try:
        return _read_nifti(path) if kind == "nifti" else _read_png(path)
    except DataError:
        raise
    except Exception as err:  # nibabel, gzip, zlib and PIL raise many types on bad files
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: cannot read {kind} file ({msg})") from None


def read_geometry(path: Path) -> Geometry:
    """The geometry of an image file without reading its voxels (NIfTI: the header only).

    PNG files carry no spacing: ``(1.0, 1.0)``, not known.

    Raises:
        DataError: the file is missing or its header is unreadable.
    """
    if not path.is_file():
        raise DataError(f"{path}: file does not exist")
    if file_kind(path) == "png":
        return Geometry(spacing=(1.0, 1.0))
    import nibabel as nib

    try:
        img = nib.load(str(path))
        return _nifti_geometry(img, len(img.shape))
    except Exception as err:  # nibabel raises many types on bad headers
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: cannot read nifti header ({msg})") from None


def _nifti_geometry(img: Any, ndim: int) -> Geometry:
    affine = np.asarray(img.affine, dtype=np.float64)
    zooms = tuple(float(z) for z in img.header.get_zooms()[:ndim])
    known = not np.allclose(affine, np.eye(4)) or any(abs(z - 1.0) > 1e-6 for z in zooms)
    return Geometry(spacing=zooms, affine=affine, header=img.header, spacing_known=known)


def _read_nifti(path: Path) -> tuple[np.ndarray, Geometry]:
    import nibabel as nib

    img = nib.load(str(path))
    array = np.asarray(img.dataobj, dtype=np.float64)  # applies scl_slope / scl_inter
    return array, _nifti_geometry(img, array.ndim)


def _read_png(path: Path) -> tuple[np.ndarray, Geometry]:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        if img.mode in ("I;16", "I;16B", "I"):
            array = np.asarray(img, dtype=np.int32)
        elif img.mode in ("L", "RGB", "RGBA", "LA"):
            array = np.asarray(img)
        else:
            array = np.asarray(img.convert("L"))
    return array, Geometry(spacing=(1.0, 1.0))


def read_json_object(path: Path, missing: str) -> dict[str, Any]:
    """A JSON file holding an object, with one-line errors naming the file.

    Args:
        path: The file.
        missing: What to say when it does not exist.

    Raises:
        DataError: missing file, invalid JSON, or not an object.
    """
    if not path.is_file():
        raise DataError(f"{path}: {missing}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: must hold a JSON object")
    return data


def write_label(path: Path, label: np.ndarray, geometry: Geometry) -> None:
    """Write an integer label map with the geometry of the image it was predicted from.

    Args:
        path: Output file (``.nii.gz``/``.nii`` or ``.png``); written atomically.
        label: int array in the source file's axis order and shape.
        geometry: From :func:`read_image` of the source image.
    """
    if file_kind(path) == "nifti":
        import nibabel as nib

        header = geometry.header.copy() if geometry.header is not None else None
        img = nib.Nifti1Image(label.astype(np.uint8), geometry.affine, header)
        img.set_data_dtype(np.uint8)
        img.header.set_slope_inter(1.0, 0.0)
        with atomic_path(path) as tmp:
            nib.save(img, str(tmp))
    else:
        from PIL import Image

        if label.max(initial=0) > 255:
            raise DataError(f"{path}: label values above 255 cannot be written as PNG")
        with atomic_path(path) as tmp:
            Image.fromarray(label.astype(np.uint8)).save(tmp, format="PNG")
