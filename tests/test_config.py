from pathlib import Path

import pytest

from semiseg.config import RunConfig, load_config, to_dict
from semiseg.errors import ConfigError


def test_defaults_are_the_ssl4mis_protocol() -> None:
    c = load_config()
    assert c.data.patch_size == [256, 256] and c.data.batch_size == 24
    assert c.data.labeled_batch_size == 12 and c.train.iterations == 30000
    assert c.optim.lr == 0.01 and c.optim.momentum == 0.9 and c.optim.weight_decay == 1e-4
    assert c.model.channels == [16, 32, 64, 128, 256]


def test_yaml_then_overrides(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("train:\n  iterations: 100\n  amp: off\nmethod:\n  name: supervised\n")
    child = tmp_path / "child.yaml"
    child.write_text("base: base.yaml\ndata:\n  num_labeled: 3\n")
    c = load_config(child, ["train.seed=4", "data.patch_size=[64, 64]"])
    assert c.train.iterations == 100 and c.train.amp == "off"  # YAML 1.2: 'off' is a string
    assert c.method.name == "supervised" and c.data.num_labeled == 3
    assert c.train.seed == 4 and c.data.patch_size == [64, 64]


@pytest.mark.parametrize("overrides, message", [
    (["train.iters=5"], "unknown config key 'train.iters'; valid: iterations"),
    (["nope.x=1"], "unknown config key 'nope'"),
    (["train.iterations=abc"], "'train.iterations': expected int"),
    (["train.iterations=0"], "'train.iterations': 0 must be >= 1"),
    (["train.amp=fast"], "'train.amp': 'fast' is not one of"),
    (["data.patch_size=[64]"], "'data.patch_size'"),
    (["data.labeled_batch_size=30"], "labeled_batch_size <= batch_size"),
    (["method.name=mean_teacher", "data.batch_size=4", "data.labeled_batch_size=4"],
     "'data.labeled_batch_size': 4 leaves no room for unlabeled samples"),
    (["method.name=magic"], "unknown method 'magic'; valid:"),
    (["method.params.ema_dcay=0.9"], "unknown config key 'method.params.ema_dcay'"),
    (["method.params.ema_decay=high"], "'method.params.ema_decay': expected float"),
    (["model.dropout=[0.1]"], "model.dropout"),
    (["train.device=tpu"], "train.device"),
    (["optim.lr=-1"], "optim.lr"),
    (["train.compile=maybe"], "expected true/false"),
    (["trainiterations"], "expected KEY=VALUE"),
    (["data.folds=1"], "'data.folds': 1 must be 0"),
    (["data.folds=5", "data.fold=5"], "'data.fold': 5 not in [0, 5"),
    (["data.fold=1"], "data.folds is 0: no cross-validation"),
    (["data.slice_axis=3"], "'data.slice_axis': 3 is not an axis of a 3D volume"),
    (["train.amp=false"], "'train.amp': False is not one of ('auto', 'off'"),
])
def test_bad_config_values_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(None, overrides)


@pytest.mark.parametrize("text, message", [
    ("train: [1, 2]", "must be a mapping"), ("- a\n- b", "mapping at the top level"),
    ("train: {iterations: 1", "not valid YAML"),
])
def test_bad_yaml_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match=r"is a folder, not a YAML file$"):
        load_config(tmp_path)  # e.g. a run folder where a config or a grid is asked


def test_round_trip_through_dict() -> None:
    from semiseg.config import from_dict

    c = load_config(None, ["train.seed=3"])
    assert from_dict(RunConfig, to_dict(c)) == c


def test_method_run_defaults_sit_under_files_and_overrides(tmp_path: Path) -> None:
    # M&N's paper optimizer (AdamW 1e-4) replaces the toolkit's SGD 0.01 for mn runs only
    mn = load_config(None, ["method.name=mn"])
    assert (mn.optim.name, mn.optim.lr) == ("adamw", 1e-4)
    assert mn.optim.weight_decay == 1e-4  # what the method does not name stays the default
    assert load_config(None, ["method.name=supervised"]).optim.name == "sgd"
    # a file's or --set's value wins over the method's
    cfg = tmp_path / "mn.yaml"
    cfg.write_text("method:\n  name: mn\noptim:\n  lr: 0.001\n")
    c = load_config(cfg, ["optim.name=adam"])
    assert (c.optim.name, c.optim.lr) == ("adam", 0.001)
    # an unknown method is still reported by name, not by a lookup error here
    with pytest.raises(ConfigError, match="unknown method 'magic'"):
        load_config(None, ["method.name=magic"])


def test_a_labeled_only_batch_is_fine_for_supervised() -> None:
    c = load_config(None, ["method.name=supervised", "data.batch_size=4",
                           "data.labeled_batch_size=4"])
    assert c.data.labeled_batch_size == c.data.batch_size == 4


def test_method_run_defaults_name_only_real_config_keys() -> None:
    from semiseg.methods import METHODS

    for name in METHODS.names():
        load_config(None, [f"method.name={name}"])  # raises ConfigError on a bad key
