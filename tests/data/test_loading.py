from pathlib import Path

import torch

from semiseg.data.loading import PatchBank, SliceBank, _Stream, normalize_image
from semiseg.data.nnunet import open_dataset


def _cases(root: Path, n: int = 2):
    ds = open_dataset(root)
    return [ds.load_case(c) for c in ds.training_cases[:n]]


def test_slice_bank_resizes_every_slice(tiny_dataset: Path) -> None:
    cases = _cases(tiny_dataset)
    bank = SliceBank(cases, -1, [16, 24], torch.device("cpu"), with_labels=True)
    assert len(bank) == 8 and bank.images.shape == (8, 1, 16, 24)
    x, y, meta = bank.sample(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, 16, 24) and y.dtype == torch.int64
    assert set(meta) == {"case_index", "slice_position", "patient_index", "phase_index"}
    assert ((meta["slice_position"] > 0) & (meta["slice_position"] < 1)).all()


def test_slice_stream_visits_each_slice_once_per_epoch(tiny_dataset: Path) -> None:
    bank = SliceBank(_cases(tiny_dataset), -1, [32, 32], torch.device("cpu"), with_labels=False)
    gen = torch.Generator().manual_seed(0)
    seen = torch.cat([bank._stream.take(2, gen) for _ in range(4)])
    assert sorted(seen.tolist()) == list(range(8))


def test_stream_copies_each_epochs_permutation_to_the_device_once() -> None:
    # a copy to a GPU waits for it: once an epoch, never once a step ("meta" stands in)
    stream, meta = _Stream(6), torch.device("meta")
    gen = torch.Generator().manual_seed(0)
    first = stream.take(2, gen, meta)
    copy = stream._device_perm
    assert first.device == meta and copy is not None
    stream.take(2, gen, meta)
    assert stream._device_perm is copy  # same epoch: no new copy
    stream.take(4, gen, meta)  # crosses into the next epoch
    assert stream._device_perm is not copy and stream._device_perm[0] is stream.perm
    # the host path draws the same indices from the same generator
    a, b = _Stream(6), _Stream(6)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(torch.cat([a.take(4, g1) for _ in range(3)]),
                       torch.cat([b.take(4, g2, torch.device("cpu")) for _ in range(3)]))


def test_sampler_state_resumes_exactly(tiny_dataset: Path) -> None:
    bank = SliceBank(_cases(tiny_dataset), -1, [32, 32], torch.device("cpu"), with_labels=True)
    gen = torch.Generator().manual_seed(0)
    bank.sample(3, gen)
    state, gstate = bank.state_dict(), gen.get_state()
    a = bank.sample(7, gen)[0]
    bank.load_state_dict(state)
    gen.set_state(gstate)
    assert torch.equal(a, bank.sample(7, gen)[0])


def test_patch_bank_pads_and_oversamples_foreground(tiny_dataset: Path) -> None:
    bank = PatchBank(_cases(tiny_dataset), [8, 8, 6], torch.device("cpu"), True,
                     foreground_oversample=1.0)
    x, y, _ = bank.sample(6, torch.Generator().manual_seed(0))
    assert x.shape == (6, 1, 8, 8, 6) and y.shape == (6, 8, 8, 6)
    assert all((yy > 0).any() for yy in y)  # centred on foreground every time


def test_normalisation_modes() -> None:
    img = torch.rand(2, 5, 5).numpy() * 10 + 3
    z = normalize_image(img, "zscore")
    assert abs(z[0].mean()) < 1e-5 and abs(z[0].std() - 1) < 1e-4
    m = normalize_image(img, "minmax")
    assert m.min() == 0 and abs(m.max() - 1) < 1e-6
