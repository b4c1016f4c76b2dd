"""benchmarks/each_network.py: the batch-statistics diagnostic leaves the network alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "each_network.py"


def _load():
    spec = importlib.util.spec_from_file_location("each_network", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_batch_statistics_normalise_each_batch_and_leave_the_original_untouched() -> None:
    each_network = _load()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Identity(), nn.BatchNorm2d(3)).eval()
    bn = net[1]
    bn.running_mean.fill_(5.0)  # stale running statistics, far from the features'
    bn.running_var.fill_(0.01)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(4, 3, 8, 8) * 3 + 2  # variance 9: eps (1e-5) is negligible
    with torch.no_grad():
        out = each_network.with_batch_statistics(net).eval()(x)
        stale = net(x)
    # each channel normalised by this batch's own mean and (biased) variance
    assert torch.allclose(out.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out.var((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)
    assert stale.mean().abs() > 10  # the original still uses its running statistics
    assert net.state_dict().keys() == before.keys()
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
