from pathlib import Path

import torch

from semiseg.config import load_config
from semiseg.data.meta import combine, meta_label, partition_of, phase_of
from semiseg.data.nnunet import open_dataset
from semiseg.data.splits import load_split
from semiseg.engine.data import load_cases, make_bank


def test_partitions_of_slice_positions() -> None:
    position = (torch.arange(8) + 0.5) / 8  # an 8-slice volume
    assert partition_of(position, 4).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert partition_of(torch.tensor([0.0, 0.999, 1.0]), 3).tolist() == [0, 2, 2]


def test_phases_and_combinations() -> None:
    patterns = ["_frame01$", "_frame02$"]
    assert [phase_of(c, patterns) for c in ("p1_frame01", "p1_frame02", "p1")] == [0, 1, -1]
    a, b = torch.tensor([0, 0, 1, 1, -1]), torch.tensor([0, 1, 0, 1, 0])
    labels = combine([a, b]).tolist()
    assert len(set(labels)) == 5  # every distinct tuple gets its own label
    assert combine([a, b])[0] == combine([torch.tensor([0]), torch.tensor([0])])[0]


def test_meta_labels_of_a_synthetic_volume(tiny_dataset: Path) -> None:
    """The phantom's volumes: 4 slices, 2 frames per patient."""
    config = load_config(None, [f"data.root={tiny_dataset}", "data.patch_size=[32, 32]",
                                "data.phase_patterns=[_frame01$, _frame02$]"])
    dataset = open_dataset(tiny_dataset)
    split = load_split(str(tiny_dataset / "splits.json"), 2)
    cases = load_cases(dataset, split.unlabeled, "zscore", with_label=False)
    bank = make_bank(config.data, cases, torch.device("cpu"), False, split.patients)
    _, _, meta = bank._gather(torch.arange(len(bank)))
    assert meta["slice_position"][:4].tolist() == [0.125, 0.375, 0.625, 0.875]
    assert partition_of(meta["slice_position"][:4], 4).tolist() == [0, 1, 2, 3]
    frames = [c.case_id.endswith("_frame02") for c in cases]
    assert meta["phase_index"][::4].tolist() == [int(f) for f in frames]
    assert meta["patient_index"][0] == meta["patient_index"][4]  # frames of one patient
    assert meta["case_index"][0] != meta["case_index"][4]
    both = meta_label({f"{k}_u": v for k, v in meta.items()}, "partition+phase", 4, "_u")
    assert len(set(both.tolist())) == 8


def test_grouped_batches_hold_every_partition(tiny_dataset: Path) -> None:
    config = load_config(None, [f"data.root={tiny_dataset}", "data.patch_size=[32, 32]"])
    dataset = open_dataset(tiny_dataset)
    split = load_split(str(tiny_dataset / "splits.json"), 2)
    cases = load_cases(dataset, split.unlabeled, "zscore", with_label=False)
    bank = make_bank(config.data, cases, torch.device("cpu"), False, split.patients)
    gen = torch.Generator().manual_seed(0)
    _, _, meta = bank.sample_grouped(3, 4, gen)
    case = meta["case_index"].view(3, 4)
    assert (case == case[:, :1]).all() and len(set(case[:, 0].tolist())) == 3
    assert (partition_of(meta["slice_position"], 4).view(3, 4)
            == torch.arange(4)).all()


def test_bad_phase_pattern_is_a_config_error(tiny_dataset: Path) -> None:
    import pytest

    from semiseg.errors import ConfigError
    with pytest.raises(ConfigError, match=r"data\.phase_patterns"):
        load_config(None, [f"data.root={tiny_dataset}", "data.phase_patterns=['(unclosed']"])
