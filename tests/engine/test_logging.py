"""Run logs: the CSV writer and reading a run's val curve back."""

from pathlib import Path

import pytest

from semiseg.engine.logging import CsvLog, RunLogger, read_csv_rows, read_val_curve
from semiseg.errors import DataError


def test_val_curve_reads_back_what_was_logged(tmp_path: Path) -> None:
    assert read_val_curve(tmp_path) == []  # before the first validation
    log = CsvLog(tmp_path / "val.csv")
    log.write({"step": 200, "dice_RV": 0.5, "dice_mean": 0.25})
    log.write({"step": 400, "dice_RV": 0.75, "dice_mean": 0.625})
    assert read_val_curve(tmp_path) == [(200, 0.25), (400, 0.625)]


@pytest.mark.parametrize(("bad_row", "problem"), [
    ("abc,0.5", "step 'abc' is not a number"), ("600,", "dice_mean is blank"),
    ("600", "fewer fields than the header"), ("600,0.5,7", "more fields than the header"),
    ("nan,0.5", "step 'nan' is not a finite number")])
def test_a_damaged_val_curve_is_a_one_line_error_naming_file_line_and_column(
        bad_row: str, problem: str, tmp_path: Path) -> None:
    (tmp_path / "val.csv").write_text(f"step,dice_mean\n200,0.25\n{bad_row}\n400,0.5\n")
    with pytest.raises(DataError, match=rf"val\.csv: line 3: {problem}$"):
        read_val_curve(tmp_path)


def test_csv_rows_count_lines_as_in_the_file_and_need_the_named_columns(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("case,step,dice\na,1,0.5\n\nb,2,\n\"c\",x,0.2\n")  # a blank line
    with pytest.raises(DataError, match=r"t\.csv: line 5: step 'x' is not a number$"):
        read_csv_rows(table, numbers=("step",))
    rows = read_csv_rows(table, blank_or_numbers=("dice", "hd95"), names=("case",))
    assert [r["case"] for r in rows] == ["a", "b", "c"]  # hd95 may be absent, dice blank
    with pytest.raises(DataError, match=r"t\.csv: no column 'patient' \(columns: case, step, dice"):
        read_csv_rows(table, names=("patient",))
    table.write_text("case,step\n,1\n")
    with pytest.raises(DataError, match=r"t\.csv: line 2: case is blank$"):
        read_csv_rows(table, names=("case",))
    table.write_text("")  # an empty file has no rows, and no header to check
    assert read_csv_rows(table, numbers=("step",)) == []
    table.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # a binary file under a .csv name
    with pytest.raises(DataError, match=r"t\.csv: not a readable CSV table \("):
        read_csv_rows(table)


def test_resume_drops_a_half_written_last_row_and_names_a_damaged_one(tmp_path: Path) -> None:
    log = tmp_path / "train.csv"  # killed while appending step 150: its row is cut short
    log.write_text("step,loss,lr\n50,1.0,0.01\n100,0.9,0.01\n15")
    CsvLog(log).truncate_after(100)
    assert log.read_text().splitlines() == ["step,loss,lr", "50,1.0,0.01", "100,0.9,0.01"]
    log.write_text("step,loss,lr\n50,1.0,0.01\n1oo,0.9,0.01\n150,0.8,0.01\n")
    with pytest.raises(DataError, match=r"train\.csv: line 3: step '1oo' is not a number$"):
        RunLogger(tmp_path, total_steps=200, start_step=100, progress_bar=False)
    assert log.read_text().count("\n") == 4  # the log is left as it was, for the user to mend


def test_csv_log_adds_a_new_column_and_keeps_old_rows(tmp_path: Path) -> None:
    log = CsvLog(tmp_path / "train.csv")
    log.write({"step": 50, "loss": 1.5})
    log.write({"step": 100, "loss": 1.0, "lr": 0.01})
    lines = (tmp_path / "train.csv").read_text().splitlines()
    assert lines == ["step,loss,lr", "50,1.5,", "100,1.0,0.01"]
    log.truncate_after(50)
    assert (tmp_path / "train.csv").read_text().splitlines() == ["step,loss,lr", "50,1.5,"]
