"""A synthetic cardiac-MRI-like data set in nnU-Net layout (the embedded default).

Each phantom "patient" has two frames, end-diastole (``frame01``) and end-systole
(``frame02``), as short-axis stacks ``(H, W, slices)`` with slices from base to apex:

* LV blood pool (label 3): an ellipsoid cavity with a wobbly outline (random low-order
  Fourier radius perturbation), narrowing towards the apex; at ES every slice's cavity area
  shrinks by the ejection fraction (drawn in 45-70 %), and the RV's with it,
* myocardium (label 2): a ring around the LV whose thickness varies around the
  circumference; at ES it thickens and keeps its area (the mass is conserved),
* RV blood pool (label 1): a crescent hugging the septum, absent near the apex,
* surroundings: body, lungs, chest wall fat, all with different intensities;
  a multiplicative smooth bias field (intensity inhomogeneity), partial-volume blur and
  Rician noise; random position, orientation and size per patient.

Voxel spacing is 1.5 x 1.5 x 8 mm (in the NIfTI affine) so that metrics in mm and
clinical volumes can be checked. A ``splits.json`` in the shared data sets' format (train
/ val patients and a labeled order) keeps the two frames of a patient together.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

SPACING = (1.5, 1.5, 8.0)
LABELS = {"background": 0, "RV": 1, "Myo": 2, "LV": 3}


def _wobble(theta: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Smooth radius factor around the circumference (orders 2-4)."""
    out = np.ones_like(theta)
    for k in (2, 3, 4):
        out += strength / k * rng.normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return out


def _bias_field(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Exp of a random low-frequency field: intensities vary by about ±25 % across the FOV."""
    grids = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    field = np.zeros(shape)
    for _ in range(4):
        coef = rng.normal(0, 0.12, size=len(shape))
        field += sum(c * np.cos(np.pi * rng.uniform(0.3, 1.0) * g + rng.uniform(0, np.pi))
                     for c, g in zip(coef, grids, strict=True))
    return np.exp(field)


def make_patient(rng: np.random.Generator, shape: tuple[int, int, int] = (96, 96, 8),
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """ED and ES ``(image float32, label uint8)`` pairs of one phantom patient."""
    h, w, depth = shape
    yy, xx = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
    centre = np.array([h / 2, w / 2]) + rng.uniform(-8, 8, size=2)
    angle = rng.uniform(0, 2 * np.pi)  # orientation of the LV-RV axis
    lv_radius = rng.uniform(11, 15)
    wall = rng.uniform(3.5, 5.0)
    ejection = rng.uniform(0.45, 0.70)
    rv_scale = rng.uniform(1.5, 1.9)
    apex_slices = rng.integers(1, 3)  # apical slices without RV
    body_axes = rng.uniform(38, 46, size=2)
    wobble_seed = rng.integers(1 << 31)
    tissue = {"lv": rng.uniform(0.8, 0.95), "rv": rng.uniform(0.75, 0.9),
              "myo": rng.uniform(0.25, 0.4), "body": rng.uniform(0.45, 0.6),
              "lung": rng.uniform(0.05, 0.15), "fat": rng.uniform(0.85, 1.0)}
    bias = _bias_field(shape, rng)
    frames = []
    for phase in ("ED", "ES"):
        # ES: every slice's cavity area scaled by (1 - EF), so the volume is too (the
        # slices stay): radii by its square root; the myocardial ring keeps its area
        # (mass is conserved), so the wall thickens
        r_scale = 1.0 if phase == "ED" else (1 - ejection) ** 0.5
        image = np.zeros(shape, dtype=float)
        label = np.zeros(shape, dtype=np.uint8)
        for z in range(depth):
            z_rel = z / depth  # 0 base -> 1 apex
            taper = np.sqrt(max(1 - (z_rel / 1.05) ** 2, 0.05))
            zr = np.random.default_rng(wobble_seed + z)  # same outline jitter in both phases
            dy, dx = yy - centre[0], xx - centre[1]
            rot_y = np.cos(angle) * dy - np.sin(angle) * dx
            rot_x = np.sin(angle) * dy + np.cos(angle) * dx
            radius = np.hypot(rot_y / 1.1, rot_x)
            theta = np.arctan2(rot_y, rot_x)
            lv_ed = lv_radius * taper * _wobble(theta, zr, 0.12)
            myo_ed = lv_ed + wall * _wobble(theta, zr, 0.25)
            lv_r = lv_ed * r_scale
            myo_r = np.sqrt(lv_r**2 + myo_ed**2 - lv_ed**2)
            lv = radius < lv_r
            myo = (radius < myo_r) & ~lv
            rv = np.zeros_like(lv)
            if z < depth - apex_slices:
                rv_c = rot_x + (lv_radius + wall) * 1.25
                rv_rad = np.hypot(rot_y / (rv_scale * 1.25), rv_c / rv_scale)
                rv_r = lv_radius * taper * r_scale * 1.05 * _wobble(theta, zr, 0.1)
                rv = (rv_rad < rv_r) & (radius > np.maximum(myo_r, myo_ed) + 1.0)
            body = ((yy - h / 2) / body_axes[0]) ** 2 + ((xx - w / 2) / body_axes[1]) ** 2 < 1
            fat = body & ~(((yy - h / 2) / (body_axes[0] - 3)) ** 2
                           + ((xx - w / 2) / (body_axes[1] - 3)) ** 2 < 1)
            lung = body & (np.hypot((yy - centre[0]) / 1.3, xx - centre[1] + 22 * np.cos(angle))
                           < 10 + 4 * zr.random()) & ~(lv | myo | rv)
            img = np.where(body, tissue["body"], 0.02)
            img = np.where(fat, tissue["fat"], img)
            img = np.where(lung, tissue["lung"], img)
            img = np.where(myo, tissue["myo"], img)
            img = np.where(rv, tissue["rv"], img)
            img = np.where(lv, tissue["lv"], img)
            image[:, :, z] = img
            label[:, :, z] = np.select([lv, myo, rv], [3, 2, 1], 0)
        image = ndimage.gaussian_filter(image, sigma=(0.7, 0.7, 0.0)) * bias
        sigma = 0.045
        noisy = np.hypot(image + rng.normal(0, sigma, shape), rng.normal(0, sigma, shape))
        frames.append((noisy.astype(np.float32), label))
    return frames


def generate(out: str | Path, num_patients: int = 16, seed: int = 0,
             shape: tuple[int, int, int] = (96, 96, 8), val_patients: int = 4) -> Path:
    """Write the phantom data set: ``dataset.json``, ``imagesTr``, ``labelsTr``, ``splits.json``.

    Args:
        out: Data set folder (created; existing case files are overwritten).
        num_patients: Patients (two cases each).
        seed: Generator seed: the same seed gives byte-identical arrays.
        shape: ``(H, W, slices)``.
        val_patients: Patients put in ``val`` of ``splits.json``.

    Returns:
        The data set folder.
    """
    import nibabel as nib

    out = Path(out)
    (out / "imagesTr").mkdir(parents=True, exist_ok=True)
    (out / "labelsTr").mkdir(parents=True, exist_ok=True)
    affine = np.diag([*SPACING, 1.0])
    rng = np.random.default_rng(seed)
    patients = [f"phantom{i + 1:03d}" for i in range(num_patients)]
    for patient in patients:
        for frame, (image, label) in enumerate(make_patient(rng, shape), start=1):
            case = f"{patient}_frame{frame:02d}"
            nib.save(nib.Nifti1Image(image, affine), str(out / "imagesTr" / f"{case}_0000.nii.gz"))
            nib.save(nib.Nifti1Image(label, affine), str(out / "labelsTr" / f"{case}.nii.gz"))
    cases = [f"{p}_frame{f:02d}" for p in patients for f in (1, 2)]
    meta = {
        "channel_names": {"0": "cineMRI-phantom"},
        "labels": LABELS,
        "numTraining": len(cases),
        "file_ending": ".nii.gz",
        "name": "semiseg synthetic cardiac phantom",
        "description": __doc__.split("\n\n")[0].replace("\n", " "),
        "spacing_note": f"spacing {SPACING} mm in the affine; arrays (H, W, slices)",
        "case_naming": "<patient>_frame01 / _frame02 = ED / ES",
        "generator": {"seed": seed, "num_patients": num_patients, "shape": list(shape)},
    }
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))
    train_patients, val_p = patients[val_patients:], patients[:val_patients]
    order = list(np.random.default_rng(seed + 1).permutation(train_patients))
    splits = {"train": [c for c in cases if c.split("_")[0] in train_patients],
              "val": [c for c in cases if c.split("_")[0] in val_p],
              "labeled_patients_order": order}
    (out / "splits.json").write_text(json.dumps(splits, indent=1))
    return out
