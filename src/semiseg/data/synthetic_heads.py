"""A synthetic fetal-head ultrasound data set (2D PNG, HC18-like), for demos and tests.

Each case is one image: a head (label 1) as a filled ellipse of random size, shape,
position and orientation, drawn as ultrasound shows it: a bright skull ring with
acoustic shadowing below it, a darker brain with a bright midline, a speckled tissue
background fading with depth, and multiplicative speckle. The data set carries an
HC18-style case table ``pixel_size_and_hc.csv`` (``case``, ``pixel_size_mm``,
``head_circumference_mm``: the ellipse's perimeter in mm), so pixel sizes and head
circumference evaluation can be exercised end to end without the real data.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from semiseg.metrics.ellipse import Ellipse, draw_ellipse, elliptic_radius


def make_head(rng: np.random.Generator, shape: tuple[int, int] = (64, 96)
              ) -> tuple[np.ndarray, np.ndarray, Ellipse]:
    """``(image uint8 (H, W), label uint8 (H, W), ellipse)`` of one synthetic head."""
    h, w = shape
    a = rng.uniform(0.22, 0.34) * w
    b = a * rng.uniform(0.65, 0.85)
    ellipse = Ellipse(cx=w / 2 + rng.uniform(-0.1, 0.1) * w,
                      cy=h / 2 + rng.uniform(-0.08, 0.08) * h,
                      a=a, b=min(b, 0.42 * h), theta=rng.uniform(-math.pi / 2, math.pi / 2))
    r = elliptic_radius(shape, ellipse)
    rows = np.arange(h, dtype=float)[:, None] / h
    tissue = 0.35 * (1 - 0.5 * rows) * np.ones(shape)  # attenuation with depth
    brain = np.where(r < 1, rng.uniform(0.12, 0.22), tissue)
    skull = np.exp(-((r - 1) * max(ellipse.a, 1) / 1.3) ** 2)  # ~2-3 px bright ring
    along = ((np.arange(w)[None, :] - ellipse.cx) * math.cos(ellipse.theta)
             + (np.arange(h)[:, None] - ellipse.cy) * math.sin(ellipse.theta))
    midline = np.where(r < 0.8, 0.35 * np.exp(-(along / 1.2) ** 2), 0.0)
    below = (np.arange(h)[:, None] > ellipse.cy) & (np.abs(np.arange(w)[None, :] - ellipse.cx)
                                                    < 0.8 * ellipse.a)
    shadow = np.where((r > 1) & below, 0.55, 1.0)  # the skull shadows the tissue beneath
    image = (brain + 0.9 * skull + midline) * shadow
    image = ndimage.gaussian_filter(image, 0.8)
    speckle = rng.gamma(4.0, 0.25, size=shape)  # fully developed speckle, mean 1
    image = np.clip(image * speckle, 0, 1)
    label = draw_ellipse(shape, ellipse).astype(np.uint8)
    return (image * 255).astype(np.uint8), label, ellipse


def generate_heads(out: str | Path, num_cases: int = 24, seed: int = 0,
                   shape: tuple[int, int] = (64, 96), val_cases: int = 6) -> Path:
    """Write the phantom heads: PNGs, ``dataset.json``, ``splits.json``, case table.

    Args:
        out: Data set folder (created; existing files are overwritten).
        num_cases: Images (one per case, each its own examination).
        seed: Generator seed (same seed, same files).
        shape: ``(H, W)``.
        val_cases: Cases in ``val`` of ``splits.json``.

    Returns:
        The data set folder.
    """
    out = Path(out)
    (out / "imagesTr").mkdir(parents=True, exist_ok=True)
    (out / "labelsTr").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    table = []
    cases = [f"head{i + 1:03d}" for i in range(num_cases)]
    for case in cases:
        image, label, ellipse = make_head(rng, shape)
        pixel = float(rng.uniform(0.1, 0.2))
        Image.fromarray(image).save(out / "imagesTr" / f"{case}_0000.png")
        Image.fromarray(label).save(out / "labelsTr" / f"{case}.png")
        table.append({"case": case, "pixel_size_mm": f"{pixel:.6f}",
                      "head_circumference_mm": f"{ellipse.perimeter * pixel:.3f}"})
    with (out / "pixel_size_and_hc.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    meta = {"channel_names": {"0": "ultrasound-phantom"}, "labels": {"background": 0, "head": 1},
            "numTraining": num_cases, "file_ending": ".png",
            "name": "semiseg synthetic fetal heads",
            "description": __doc__.split("\n\n")[0].replace("\n", " "),
            "case_table": "pixel_size_and_hc.csv",
            "generator": {"seed": seed, "num_cases": num_cases, "shape": list(shape)}}
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))
    train = cases[val_cases:]
    order = [str(c) for c in np.random.default_rng(seed + 1).permutation(train)]
    splits = {"train": train, "val": cases[:val_cases], "labeled_order": order}
    (out / "splits.json").write_text(json.dumps(splits, indent=1))
    return out
