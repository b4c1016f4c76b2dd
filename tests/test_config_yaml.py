"""The YAML layer under the run config: booleans, base chains, merges, --set overrides."""

from pathlib import Path

import pytest

from semiseg.config_yaml import load_yaml, merge, parse_overrides, read_yaml, read_yaml_chain
from semiseg.errors import ConfigError


def test_parse_overrides_nests() -> None:
    assert parse_overrides(["a.b.c=1", "a.d=x"]) == {"a": {"b": {"c": 1}, "d": "x"}}


@pytest.mark.parametrize("item, message", [("novalue", "expected KEY=VALUE"),
                                           ("=3", "expected KEY=VALUE"),
                                           ("a=1", None)])
def test_parse_overrides_rejects_items_without_key(item: str, message: str | None) -> None:
    if message is None:
        assert parse_overrides([item]) == {"a": 1}
        return
    with pytest.raises(ConfigError, match=message):
        parse_overrides([item])


def test_override_below_a_scalar_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'a' is not a section"):
        parse_overrides(["a=1", "a.b=2"])


def test_yaml_12_booleans() -> None:
    assert load_yaml("a: off\nb: no\nc: true\nd: False") == {
        "a": "off", "b": "no", "c": True, "d": False}


def test_merge_is_recursive_and_leaves_inputs_alone() -> None:
    base = {"a": {"x": 1, "y": 2}, "b": 1}
    extra = {"a": {"y": 3}, "c": 4}
    assert merge(base, extra) == {"a": {"x": 1, "y": 3}, "b": 1, "c": 4}
    assert base == {"a": {"x": 1, "y": 2}, "b": 1}


def test_base_chain_merges_parent_first(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "root.yaml").write_text("a: {x: 1, y: 1}\n")
    (tmp_path / "sub" / "mid.yaml").write_text("base: ../root.yaml\na: {y: 2}\n")
    (tmp_path / "leaf.yaml").write_text("base: sub/mid.yaml\nb: 3\n")
    assert read_yaml_chain(tmp_path / "leaf.yaml") == {"a": {"x": 1, "y": 2}, "b": 3}


def test_base_cycle_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match=r"[ab]\.yaml: 'base:' chain is too deep"):
        read_yaml_chain(tmp_path / "a.yaml")


def test_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("")
    assert read_yaml(tmp_path / "e.yaml") == {}
