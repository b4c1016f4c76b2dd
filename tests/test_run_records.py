"""Run records: the text of a finished run, without weights or images, saved and restored."""

import json
from pathlib import Path

import pytest

from semiseg.errors import DataError
from semiseg.run_records import has_record, record_files, restore_record, save_record


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
