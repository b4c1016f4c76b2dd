import pytest

from semiseg import list_methods, list_networks
from semiseg.errors import ConfigError
from semiseg.registry import Registry


def test_unknown_name_lists_valid_ones() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    reg.register("b")(2)
    with pytest.raises(ConfigError, match="unknown thing 'c'; valid: a, b"):
        reg.get("c")


def test_duplicate_registration_fails() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="twice"):
        reg.register("a")(2)


def test_builtin_registries() -> None:
    assert {"supervised", "mean_teacher"} <= set(list_methods())
    assert "unet" in list_networks()
