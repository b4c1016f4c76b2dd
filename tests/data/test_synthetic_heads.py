import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from semiseg.data.check import check_dataset
from semiseg.data.synthetic_heads import generate_heads
from semiseg.metrics.ellipse import head_circumference


def test_heads_are_valid_deterministic_and_measured(tmp_path: Path) -> None:
    a = generate_heads(tmp_path / "a", num_cases=6, seed=1, shape=(48, 64), val_cases=2)
    b = generate_heads(tmp_path / "b", num_cases=6, seed=1, shape=(48, 64), val_cases=2)
    assert [p for p in check_dataset(a) if not p.startswith("warning")] == []
    for name in ("imagesTr/head001_0000.png", "labelsTr/head003.png", "pixel_size_and_hc.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    splits = json.loads((a / "splits.json").read_text())
    assert len(splits["train"]) == 4 and len(splits["val"]) == 2
    assert sorted(splits["labeled_order"]) == sorted(splits["train"])
    rows = list(csv.DictReader((a / "pixel_size_and_hc.csv").open()))
    for row in rows:
        label = np.array(Image.open(a / "labelsTr" / f"{row['case']}.png"))
        assert set(np.unique(label)) == {0, 1}
        pixel = float(row["pixel_size_mm"])
        hc = head_circumference(label > 0, (pixel, pixel))
        assert abs(hc - float(row["head_circumference_mm"])) < 0.03 * hc
