"""Method hyper-parameter ranges: out-of-range values are config errors naming the key."""

import dataclasses

import pytest

from semiseg.config import load_config
from semiseg.errors import ConfigError
from semiseg.methods import METHODS, method_config
from semiseg.param_ranges import POSITIVE, UNIT_INTERVAL, ZERO_ALLOWED_INTS


@pytest.mark.parametrize("method, params, message", [
    ("mean_teacher", {"ema_decay": 1.5}, "'method.params.ema_decay': 1.5 must be in [0, 1]"),
    ("cps", {"rampup_fraction": -0.1}, "'method.params.rampup_fraction': -0.1 must be in"),
    ("spcl", {"temperature": 0.0}, "'method.params.temperature': 0.0 must be > 0"),
    ("abd", {"grid": 0}, "'method.params.grid': 0 must be >= 1"),
    ("ua_mt", {"mc_passes": 0}, "'method.params.mc_passes': 0 must be >= 1"),
    ("unimatch", {"weight_fp": -1.0}, "'method.params.weight_fp': -1.0 must be >= 0"),
    ("bcp", {"unlabeled_weight": float("nan")}, "unlabeled_weight': nan is not a finite"),
    ("mn", {"freeze_encoder_stages": -1}, "freeze_encoder_stages': -1 must be >= 0"),
])
def test_out_of_range_values_are_rejected(method: str, params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        method_config(method, params)


def test_in_range_edges_are_accepted() -> None:
    method_config("mn", {"freeze_encoder_stages": 0})
    method_config("mean_teacher", {"ema_decay": 0.0, "consistency": 5.0, "rampup_fraction": 0.0})
    method_config("unimatch", {"confidence": 1.0})
    c = load_config(None, ["method.name=cad", "method.params={ema_decay: 0.999}"])
    assert c.method.params == {"ema_decay": 0.999}
    with pytest.raises(ConfigError, match="ema_decay"):  # through the run config too
        load_config(None, ["method.name=cad", "method.params={ema_decay: 2}"])


def test_every_default_is_in_range_and_the_named_rules_name_real_parameters() -> None:
    names = set()
    for method in METHODS.names():
        method_config(method, {})  # the defaults pass
        names |= {f.name for f in dataclasses.fields(METHODS.get(method).Config)}
    # a rule for a renamed or removed parameter would silently check nothing
    assert (UNIT_INTERVAL | POSITIVE | ZERO_ALLOWED_INTS) <= names
