"""Optimizer and learning-rate schedule: hand-checkable values."""

import math

import pytest
import torch
from torch import nn

from semiseg.config import OptimConfig
from semiseg.engine.optim import build_optimizer, lr_factor, set_lr


@pytest.mark.parametrize("name, cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                       ("adamw", torch.optim.AdamW),
                                       ("radam", torch.optim.RAdam)])
def test_optimizer_by_name_with_group_scales(name: str, cls: type) -> None:
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    cfg = OptimConfig(name=name, lr=0.01, weight_decay=1e-5)
    opt = build_optimizer({"3d": a.parameters(), "2d": b.parameters()}, cfg, {"2d": 10.0})
    assert type(opt) is cls
    groups = {g["name"]: g for g in opt.param_groups}
    assert groups["3d"]["lr"] == 0.01 and groups["2d"]["lr"] == pytest.approx(0.1)
    assert all(g["weight_decay"] == 1e-5 for g in opt.param_groups)
    set_lr(opt, 0.5)
    assert groups["2d"]["lr"] == pytest.approx(0.05) and groups["3d"]["lr"] == 0.005


def test_schedules() -> None:
    poly = OptimConfig(schedule="poly", poly_power=0.9)
    assert lr_factor(0, 100, poly) == 1.0
    assert lr_factor(50, 100, poly) == pytest.approx(0.5 ** 0.9)
    assert lr_factor(100, 100, poly) == 0.0
    cosine = OptimConfig(schedule="cosine")
    assert lr_factor(50, 100, cosine) == pytest.approx(0.5)
    assert lr_factor(25, 100, cosine) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(70, 100, OptimConfig(schedule="constant")) == 1.0
    warm = OptimConfig(schedule="poly", warmup_steps=10)
    assert [lr_factor(s, 100, warm) for s in (0, 4, 9)] == [0.1, 0.5, 1.0]
    assert lr_factor(10, 100, warm) == pytest.approx(0.9 ** 0.9)
