"""The command line: one-line errors with exit status 2, and the happy paths."""

import json
import shutil
from pathlib import Path

import pytest

from semiseg.cli import main
from semiseg.methods import list_methods


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("argv, expected", [
    (["train"], "needs -c CONFIG.yaml"),
    (["train", "-c", "missing.yaml"], "missing.yaml does not exist"),
    (["train", "--resume", "no/such/run"], "run folder does not exist"),
    (["evaluate"], "needs a run folder"),
    (["evaluate", "--pred", "no/such/folder"], "prediction folder does not exist"),
    (["data", "check", "no/such/data"], None),
    (["bench", "keep", "no/such/run", "--into", "kept"], "no result.json"),
])
def test_bad_commands(argv: list[str], expected: str | None, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(argv, capsys)
    if expected is None:  # data check prints the problems and exits 1
        assert "data set folder does not exist" in out
        return
    _one_line_error(code, err, expected)


def test_train_with_bad_key_and_bad_data(capsys, tmp_path: Path, tiny_dataset: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train:\n  iterationz: 3\n")
    code, _, err = run(["train", "-c", str(cfg)], capsys)
    _one_line_error(code, err, "unknown config key 'train.iterationz'")
    broken = Path(shutil.copytree(tiny_dataset, tmp_path / "broken"))
    next((broken / "labelsTr").iterdir()).unlink()
    cfg.write_text(f"data:\n  root: {broken}\n")
    code, _, err = run(["train", "-c", str(cfg)], capsys)
    _one_line_error(code, err, "missing label for image case")


def test_several_scans_per_patient_without_grouping_are_warned_about(
        capsys, tmp_path: Path, tiny_dataset: Path) -> None:
    """Without splits.json or a group_by, phantom001_frame01/_frame02 could straddle val."""
    data = Path(shutil.copytree(tiny_dataset, tmp_path / "no_split"))
    (data / "splits.json").unlink()
    code, out, _ = run(["data", "check", str(data)], capsys)
    assert code == 0 and "1 warning(s)" in out and "several scans per patient" in out
    code, _, err = run(["data", "split", str(data), "--labeled", "1", "-o",
                        str(tmp_path / "s.json")], capsys)
    assert code == 0 and "warning: case ids look like several scans per patient" in err
    code, _, err = run(["data", "split", str(data), "--labeled", "1", "--group-by",
                        "^(.+)_[^_]+$", "-o", str(tmp_path / "s.json")], capsys)
    assert code == 0 and "warning" not in err
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data:\n  root: {data}\n  num_labeled: 1\n  patch_size: [32, 32]\n"
                   "  batch_size: 2\n  labeled_batch_size: 1\nmodel:\n  channels: [4, 8]\n"
                   "  dropout: [0, 0]\nmethod:\n  name: supervised\ntrain:\n  iterations: 1\n"
                   "  progress_bar: false\n  num_threads: 1\n")
    code, _, err = run(["train", "-c", str(cfg), "-o", str(tmp_path / "run")], capsys)
    assert code == 0 and "warning: case ids look like several scans per patient" in err
    code, _, err = run(["train", "-c", str(cfg), "--set", "data.group_by=^(.+)_[^_]+$", "-o",
                        str(tmp_path / "grouped")], capsys)
    assert code == 0 and "several scans per patient" not in err


def test_data_check_split_and_methods(capsys, tmp_path: Path, tiny_dataset: Path) -> None:
    code, out, _ = run(["data", "check", str(tiny_dataset)], capsys)
    assert code == 0 and "0 error(s)" in out
    code, out, _ = run(["data", "split", str(tiny_dataset), "--labeled", "1",
                        "--group-by", "^(phantom\\d+)_", "-o", str(tmp_path / "s.json")], capsys)
    split = json.loads((tmp_path / "s.json").read_text())
    assert code == 0 and len(split["labeled"]) == 2
    code, out, _ = run(["data", "split", str(tiny_dataset), "--labeled", "1", "--folds", "3",
                        "--group-by", "^(phantom\\d+)_", "-o", str(tmp_path / "cv")], capsys)
    folds = [json.loads((tmp_path / "cv" / f"fold{f}.json").read_text()) for f in range(3)]
    assert code == 0 and out.count("4 val cases") == 3
    assert sorted(c for s in folds for c in s["val"]) == sorted(
        c for s in folds[:1] for part in ("labeled", "unlabeled", "val") for c in s[part])
    code, _, err = run(["data", "split", str(tiny_dataset), "--folds", "1", "-o",
                        str(tmp_path / "x")], capsys)
    _one_line_error(code, err, "--folds 1")
    code, _, err = run(["data", "split", str(tiny_dataset), "--folds", "3", "-o",
                        str(tmp_path / "s.json")], capsys)  # a file where a folder must go
    _one_line_error(code, err, f"{tmp_path / 's.json'}: File exists")
    code, out, _ = run(["methods"], capsys)
    assert code == 0
    sections = out.split("== ")[1:]
    assert sorted(s.split("\n")[0] for s in sections) == list_methods()
    for section in sections:  # every method names its paper's code and its deviations
        assert "Deviations" in section and ("et al." in section or "SSL4MIS" in section)
    mn = next(s for s in sections if s.startswith("mn\n"))
    assert "run defaults (config files and --set override them): optim.name=adamw" in mn


def test_train_evaluate_predict(capsys, tmp_path: Path, tiny_dataset: Path) -> None:
    run_dir = tmp_path / "run"
    overrides = [f"data.root={tiny_dataset}", "data.num_labeled=2", "data.patch_size=[32, 32]",
                 "data.batch_size=4", "data.labeled_batch_size=2", "model.channels=[4, 8]",
                 "model.dropout=[0, 0]", "train.iterations=2", "train.val_every=2",
                 "train.progress_bar=false", "method.name=supervised"]
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: t\n")
    args = ["train", "-c", str(cfg), "-o", str(run_dir)]
    for o in overrides:
        args += ["--set", o]
    code, out, _ = run(args, capsys)
    assert code == 0 and "picture:" in out
    code, _, err = run(args, capsys)
    _one_line_error(code, err, "holds a run already")
    code, out, _ = run(["evaluate", str(run_dir)], capsys)
    assert code == 0 and (run_dir / "eval-best" / "metrics.csv").is_file()
    code, out, _ = run(["evaluate", "--pred", str(run_dir / "eval-best" / "predictions"),
                        "--data", str(tiny_dataset)], capsys)
    assert code == 0 and "mean" in out
    inp = tmp_path / "in"
    inp.mkdir()
    for p in sorted((tiny_dataset / "imagesTr").iterdir())[:2]:
        shutil.copy(p, inp / p.name)
    code, out, _ = run(["predict", str(run_dir), "-i", str(inp), "-o", str(tmp_path / "out"),
                        "--save-probabilities"], capsys)
    assert code == 0 and len(list((tmp_path / "out").glob("*.nii.gz"))) == 2
    assert len(list((tmp_path / "out").glob("*.npz"))) == 2
    # the two images are one patient's ED and ES: the per-patient read-outs come along
    assert "clinical read-outs:" in out and (tmp_path / "out" / "readouts.csv").is_file()


def test_every_command_line_argument_has_help() -> None:
    """`semiseg X --help` explains every option and positional argument."""
    import argparse

    from semiseg.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}")
            elif action.help is None and not isinstance(action, argparse._HelpAction):
                missing.append(f"{prefix} {action.option_strings or action.dest}")

    walk(build_parser(), "semiseg")
    assert not missing, missing
