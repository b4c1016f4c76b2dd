"""Shared fixtures: a tiny synthetic data set, the shared ACDC location, a tiny config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from semiseg.config import load_config
from semiseg.data.synthetic import generate
from semiseg.data.synthetic_heads import generate_heads

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SEMISEG_SHARED", REPO.parent / "shared")) / "datasets"
ACDC = SHARED / "ACDC"

torch.set_num_threads(2)


def acdc_or_skip() -> Path:
    """The shared ACDC data set, or skip the test when it is absent."""
    if not (ACDC / "dataset.json").is_file():
        pytest.skip(f"ACDC not found at {ACDC}")
    return ACDC


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 phantom patients (12 cases) of 32x32x4: 2 val patients, 4 train patients."""
    return generate(tmp_path_factory.mktemp("data") / "phantom", num_patients=6, seed=3,
                    shape=(32, 32, 4), val_patients=2)


@pytest.fixture(scope="session")
def tiny_heads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 synthetic fetal-head PNGs of 32x48 (4 val), with an HC18-style case table."""
    return generate_heads(tmp_path_factory.mktemp("data") / "heads", num_cases=12, seed=3,
                          shape=(32, 48), val_cases=4)


@pytest.fixture(scope="session")
def tiny_supervised_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A supervised run of 2 steps on the tiny data set, for tests that only read it."""
    from semiseg.engine.loop import train

    run = tmp_path_factory.mktemp("r") / "supervised"
    train(tiny_config(tiny_dataset, "method.name=supervised", "train.iterations=2",
                      "train.val_every=2"), run)
    return run


def tiny_config(root: Path, *overrides: str):
    """A config that trains for a few steps on the tiny data set."""
    return load_config(None, [
        f"data.root={root}", "data.num_labeled=2", "data.patch_size=[32, 32]",
        "data.batch_size=4", "data.labeled_batch_size=2", "model.channels=[4, 8, 16]",
        "model.dropout=[0.0, 0.1, 0.2]", "train.iterations=6", "train.val_every=3",
        "train.log_every=2", "train.checkpoint_every=3", "train.progress_bar=false",
        "train.num_threads=2", *overrides])
