"""Run records: the text of a finished run, without weights or images, saved and restored."""

import json
import re
from pathlib import Path

import pytest

from semiseg.errors import DataError
from semiseg.run_records import (
    has_record,
    read_result,
    record_files,
    restore_record,
    save_record,
)


def fake_run(root: Path) -> Path:
    """A finished run's folder with a record's files and files a record must leave out."""
    for rel, text in {"result.json": '{"method": "supervised"}', "config.yaml": "a: 1\n",
                      "split.json": "{}", "train.csv": "step\n1\n", "val.csv": "step\n",
                      "eval/val_metrics.csv": "case\n", "eval/val_summary.json": "{}",
                      "eval/overview.png": "png", "eval/predictions/p1.nii.gz": "img",
                      "eval/predictions/p1.json": "{}", "checkpoints/best.pt": "weights",
                      "checkpoints/state.json": "{}", "tensorboard/events.out": "tb",
                      ".tmp12-val.csv": "partial"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_record_is_the_text_without_weights_images_or_predictions(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run")
    assert [str(p) for p in record_files(run)] == [
        "config.yaml", "eval/val_metrics.csv", "eval/val_summary.json", "result.json",
        "split.json", "train.csv", "val.csv"]
    save_record(run, tmp_path / "kept")
    kept = sorted(str(p.relative_to(tmp_path / "kept"))
                  for p in (tmp_path / "kept").rglob("*") if p.is_file())
    assert kept == [str(p) for p in record_files(run)]
    assert json.loads((tmp_path / "kept" / "result.json").read_text()) == {"method": "supervised"}


def test_unfinished_run_has_no_record(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(DataError, match=r"no result\.json"):
        save_record(tmp_path / "run", tmp_path / "kept")
    assert not (tmp_path / "kept").exists()


def test_restore_fills_only_a_missing_run(tmp_path: Path) -> None:
    kept = save_record(fake_run(tmp_path / "run"), tmp_path / "kept")
    assert restore_record(kept, tmp_path / "new")
    assert has_record(tmp_path / "new") and not (tmp_path / "new" / "checkpoints").exists()
    (tmp_path / "new" / "result.json").write_text('{"method": "other"}')
    assert not restore_record(kept, tmp_path / "new")  # a finished run is never replaced
    assert "other" in (tmp_path / "new" / "result.json").read_text()
    assert not restore_record(tmp_path / "nothing", tmp_path / "newer")
    assert not (tmp_path / "newer").exists()


def _result() -> dict:
    """The keys of a finished run's result.json that its readers use."""
    def table() -> dict:
        return {m: {"mean": 0.5, "std": 0.1, "n": 2} for m in ("dice", "jaccard", "hd95", "asd")}

    return {"method": "supervised", "seed": 0, "iterations": 10, "best_step": 10,
            "val_dice_at_selection": 0.5, "val": table(), "val_per_class": {"fg": table()},
            "wall_seconds": 60.0}


def test_read_result_accepts_a_whole_record(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps(_result()))
    assert read_result(tmp_path / "result.json") == _result()


@pytest.mark.parametrize(("mangle", "expected"), [
    (lambda r: r.pop("val"), "missing key 'val' "),
    (lambda r: r.pop("wall_seconds"), "missing key 'wall_seconds' "),
    (lambda r: r["val"].pop("hd95"), "missing key 'val.hd95.mean'"),
    (lambda r: r["val_per_class"]["fg"]["dice"].pop("mean"),
     "missing key 'val_per_class.fg.dice.mean'"),
    (lambda r: r.update(val_per_class={}), "'val_per_class' must map each class"),
])
def test_read_result_names_the_file_and_the_key_it_lacks(mangle, expected: str,
                                                         tmp_path: Path) -> None:
    result = _result()
    mangle(result)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result))
    with pytest.raises(DataError, match=re.escape(f"{path}: ") + ".*" + re.escape(expected)):
        read_result(path)
    assert read_result(path, required=("iterations",))["iterations"] == 10  # what status needs


def test_a_corrupt_record_is_a_one_line_error_of_the_commands_that_read_it(
        tmp_path: Path, capsys) -> None:
    from semiseg.cli import main

    run = tmp_path / "out" / "supervised-l1-s0"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("method: {name: supervised}\n")
    (run / "result.json").write_text('{"method": ')  # a copy cut short
    assert main(["bench", "report", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run / 'result.json'}: not valid JSON") and err.count("\n") == 1
    (run / "result.json").write_text(json.dumps({**_result(), "val": {}}))
    assert main(["bench", "report", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"error: {run / 'result.json'}: missing key 'val.dice.mean'\n")
