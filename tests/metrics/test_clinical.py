import math

import numpy as np
import pytest

from semiseg.data.nnunet import open_dataset
from semiseg.data.synthetic import generate
from semiseg.errors import ConfigError
from semiseg.metrics.clinical import (
    CardiacSpec,
    agreement,
    clinical_rows,
    clinical_summary,
    pair_phases,
    patient_readouts,
)

LABELS = {"background": 0, "RV": 1, "Myo": 2, "LV": 3}


def phantom(lv: int, rv: int, myo: int) -> np.ndarray:
    """A 10x10x10 volume with exactly ``lv``, ``rv``, ``myo`` voxels of each class."""
    flat = np.zeros(1000, np.uint8)
    flat[:lv] = 3
    flat[lv:lv + rv] = 1
    flat[lv + rv:lv + rv + myo] = 2
    return flat.reshape(10, 10, 10)


def test_readouts_of_a_phantom_with_known_volumes() -> None:
    ed, es = phantom(200, 150, 100), phantom(80, 90, 110)
    spec = CardiacSpec()
    spacing = (1.5, 1.5, 10.0)  # 22.5 mm^3 = 0.0225 mL per voxel
    r = patient_readouts(ed, es, LABELS, spec, spacing)
    assert r["LV_EDV"] == pytest.approx(4.5) and r["LV_ESV"] == pytest.approx(1.8)
    assert r["LV_EF"] == pytest.approx(60.0)
    assert r["RV_EDV"] == pytest.approx(150 * 0.0225) and r["RV_EF"] == pytest.approx(40.0)
    assert r["Myo_mass_ED"] == pytest.approx(100 * 0.0225 * 1.05)
    voxels = patient_readouts(ed, es, LABELS, spec, None)
    assert voxels["LV_EDV"] == 200 and voxels["LV_EF"] == pytest.approx(60.0)
    assert voxels["Myo_mass_ED"] == 100  # no spacing: a volume in voxels
    assert math.isnan(patient_readouts(phantom(0, 1, 1), es, LABELS, spec)["LV_EF"])


def test_structure_names_come_from_the_spec() -> None:
    with pytest.raises(ConfigError, match="'LVC'"):
        patient_readouts(phantom(1, 1, 1), phantom(1, 1, 1), LABELS, CardiacSpec(lv="LVC"))


def test_phases_pair_by_pattern() -> None:
    ids = ["p1_frame01", "p1_frame02", "p2_frame01", "p3_frame02"]
    assert pair_phases(ids, CardiacSpec()) == {"p1": ("p1_frame01", "p1_frame02")}
    spec = CardiacSpec(ed_pattern="_ED$", es_pattern="_ES$")
    assert pair_phases(["a_ED", "a_ES"], spec) == {"a": ("a_ED", "a_ES")}


def test_agreement_and_rows_with_errors() -> None:
    assert agreement([1, 2, 3], [1, 2, 3]) == {"corr": 1.0, "bias": 0.0, "std": 0.0,
                                                "mae": 0.0, "n": 3}
    a = agreement([2, 3, 5], [1, 2, 3])
    assert a["bias"] == pytest.approx(4 / 3) and a["mae"] == pytest.approx(4 / 3)
    cases = {"p_frame01": (phantom(200, 10, 10), phantom(220, 10, 10)),
             "p_frame02": (phantom(100, 5, 10), phantom(100, 5, 10))}
    rows = clinical_rows(cases, LABELS, CardiacSpec(), {"p_frame01": None})
    assert rows[0]["LV_EDV_err"] == -20 and rows[0]["units"] == "voxel"
    assert rows[0]["LV_EF_err"] == pytest.approx(50.0 - 100 * 120 / 220)
    assert clinical_summary(rows)["LV_EDV"]["n"] == 1


def test_synthetic_phantom_is_physiological(tmp_path) -> None:
    root = generate(tmp_path / "phantom", num_patients=4, seed=5, shape=(80, 80, 6),
                    val_patients=1)
    dataset = open_dataset(root)
    cases = {c: (dataset.load_case(c).label, None) for c in dataset.training_cases}
    spacing = {c: (1.5, 1.5, 8.0) for c in cases}
    rows = clinical_rows(cases, dataset.labels, CardiacSpec(), spacing)
    assert len(rows) == 4
    for row in rows:  # the generator draws the LV EF in 45-70 % (pixelisation blurs it)
        assert 40 < row["LV_EF"] < 75 and 25 < row["RV_EF"] < 80 and row["units"] == "mL"
        assert row["Myo_mass_ES"] == pytest.approx(row["Myo_mass_ED"], rel=0.05)


def test_cine_phases_pick_ed_and_es_by_lv_volume() -> None:
    from semiseg.metrics.clinical import readouts_of_predictions

    def vol(lv: float) -> dict[str, float]:
        return {"LV": lv, "RV": lv + 10, "Myo": 90.0}

    volumes = {"P_s9_phase01": vol(100.0), "P_s9_phase02": vol(40.0),
               "P_s9_phase03": vol(70.0),
               # named ED/ES frames keep their names even if the volumes say otherwise
               "Q_frame01": vol(50.0), "Q_frame02": vol(80.0), "Q_phase05": vol(10.0),
               "R_s1_phase01": vol(60.0)}  # one phase: no pair
    rows = {r["patient"]: r for r in readouts_of_predictions(
        volumes, dict.fromkeys(volumes, True), CardiacSpec())}
    assert set(rows) == {"P_s9", "Q"}
    p = rows["P_s9"]
    assert (p["ed"], p["es"], p["phases_from"]) == ("P_s9_phase01", "P_s9_phase02", "LV volume")
    assert p["LV_EF"] == pytest.approx(60.0) and p["RV_EF"] == pytest.approx(100 * 60 / 110)
    assert (rows["Q"]["ed"], rows["Q"]["phases_from"]) == ("Q_frame01", "names")
