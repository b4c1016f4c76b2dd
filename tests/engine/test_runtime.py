"""Memory format: channels-last per weight rank, and when "auto" turns it on."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from semiseg.engine.runtime import (
    cpu_model,
    cpu_name,
    hardware_name,
    peak_rss_gib,
    reset_peak_memory,
    resolve_channels_last,
    to_channels_last,
)
from tests.conftest import tiny_config


@pytest.mark.parametrize("setting, dims, device, expected", [
    ("auto", 2, "cpu", True), ("auto", 3, "cpu", True), ("auto", 2, "cuda", True),
    ("auto", 3, "cuda", False), ("on", 3, "cuda", True), ("off", 2, "cpu", False)])
def test_auto_is_on_where_measured_faster(setting: str, dims: int, device: str,
                                         expected: bool) -> None:
    assert resolve_channels_last(setting, dims, torch.device(device)) is expected


def test_mixed_2d_and_3d_weights_each_get_their_layout() -> None:
    torch.manual_seed(0)
    module = nn.ModuleDict({"a": nn.Conv2d(2, 3, 3), "b": nn.Conv3d(2, 3, 3),
                            "norm": nn.BatchNorm3d(3)})
    x2, x3 = torch.randn(2, 2, 9, 9), torch.randn(2, 2, 5, 9, 9)
    before = module["a"](x2), module["b"](x3)
    assert to_channels_last(module) is module
    assert module["a"].weight.is_contiguous(memory_format=torch.channels_last)
    assert module["b"].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert not module["a"].weight.is_contiguous()  # really re-laid, not a no-op
    torch.testing.assert_close(module["a"](x2), before[0])
    torch.testing.assert_close(module["b"](x3), before[1])


def test_2d_strides_are_those_of_module_to() -> None:
    # 1x1 and depth-1 kernels have several valid channels-last strides; the kernels (and
    # so the bf16 numerics of every earlier run) depend on which: keep Module.to's
    import copy

    module = nn.Sequential(nn.Conv2d(4, 8, 1), nn.Conv2d(1, 8, 3), nn.ConvTranspose2d(8, 4, 2))
    reference = copy.deepcopy(module).to(memory_format=torch.channels_last)
    to_channels_last(module)
    for mine, theirs in zip(module.parameters(), reference.parameters(), strict=True):
        assert mine.stride() == theirs.stride()


def test_mn_trains_in_channels_last_on_cpu(tiny_dataset: Path) -> None:
    # M&N pairs a 3D network with a 2D one: one memory format for all of it would fail
    from semiseg.engine.trainer import build_trainer

    config = tiny_config(tiny_dataset, "method.name=mn", "data.spatial_dims=3",
                         "data.patch_size=[16, 16, 8]", "model.channels=[4, 8]",
                         "model.dropout=[0, 0]", "train.channels_last=auto")
    trainer = build_trainer(config)
    assert trainer.channels_last
    out, _ = trainer.step(0)
    assert torch.isfinite(out.loss)


def test_hardware_name_says_model_instructions_threads_and_processes() -> None:
    threads = torch.get_num_threads()
    simd = torch.backends.cpu.get_cpu_capability()  # e.g. AVX2 or AVX512
    assert cpu_name() == f"{cpu_model()} ({simd})"
    try:
        torch.set_num_threads(2)
        assert hardware_name(torch.device("cpu")) == f"{cpu_model()} ({simd}), 2 threads"
        torch.set_num_threads(1)
        assert hardware_name(torch.device("cpu")) == f"{cpu_model()} ({simd}), 1 thread"
    finally:
        torch.set_num_threads(threads)
    assert hardware_name(torch.device("cpu"), processes=4).startswith(f"4x {cpu_name()}")
    assert cpu_model() and "\n" not in cpu_model()


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux only")
def test_reset_peak_memory_forgets_an_earlier_runs_peak() -> None:
    # a grid trains runs one after another in one process; each must report its own peak
    reset_peak_memory()
    before = peak_rss_gib()
    block = np.ones(2**28 // 8)  # 256 MiB, touched
    assert peak_rss_gib() > before + 0.2
    del block
    reset_peak_memory()
    assert peak_rss_gib() < before + 0.1
