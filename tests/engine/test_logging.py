"""Run logs: the CSV writer and reading a run's val curve back."""

from pathlib import Path

import pytest

from semiseg.engine.logging import CsvLog, read_val_curve
from semiseg.errors import DataError


def test_val_curve_reads_back_what_was_logged(tmp_path: Path) -> None:
    assert read_val_curve(tmp_path) == []  # before the first validation
    log = CsvLog(tmp_path / "val.csv")
    log.write({"step": 200, "dice_RV": 0.5, "dice_mean": 0.25})
    log.write({"step": 400, "dice_RV": 0.75, "dice_mean": 0.625})
    assert read_val_curve(tmp_path) == [(200, 0.25), (400, 0.625)]


@pytest.mark.parametrize("bad_row", ["abc,0.5", "600,", "600"])
def test_a_damaged_val_curve_is_a_one_line_error_naming_file_and_line(
        bad_row: str, tmp_path: Path) -> None:
    (tmp_path / "val.csv").write_text(f"step,dice_mean\n200,0.25\n{bad_row}\n400,0.5\n")
    with pytest.raises(DataError, match=r"val\.csv: line 3: step and dice_mean must be numbers"):
        read_val_curve(tmp_path)


def test_csv_log_adds_a_new_column_and_keeps_old_rows(tmp_path: Path) -> None:
    log = CsvLog(tmp_path / "train.csv")
    log.write({"step": 50, "loss": 1.5})
    log.write({"step": 100, "loss": 1.0, "lr": 0.01})
    lines = (tmp_path / "train.csv").read_text().splitlines()
    assert lines == ["step,loss,lr", "50,1.5,", "100,1.0,0.01"]
    log.truncate_after(50)
    assert (tmp_path / "train.csv").read_text().splitlines() == ["step,loss,lr", "50,1.5,"]
