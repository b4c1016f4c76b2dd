from pathlib import Path

import pytest

from semiseg.data.nnunet import open_dataset, read_case_table
from semiseg.errors import DataError


def test_heads_table_gives_png_a_pixel_size(tiny_heads: Path) -> None:
    dataset = open_dataset(tiny_heads)  # dataset.json names its case table
    case = dataset.load_case(dataset.training_cases[0])
    assert case.geometry.spacing_known
    assert case.geometry.spacing == (case.info["pixel_size_mm"],) * 2
    assert case.info["head_circumference_mm"] > 0
    plain = open_dataset(tiny_heads)
    plain.case_info = {}
    assert not plain.load_case(dataset.training_cases[0]).geometry.spacing_known


def test_explicit_table_relative_to_root_or_absolute(tiny_heads: Path, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    cases = open_dataset(tiny_heads).training_cases
    table.write_text("case,pixel_size_mm,note\n" + "".join(f"{c},0.5,x\n" for c in cases))
    case = open_dataset(tiny_heads, str(table)).load_case(cases[0])
    assert case.geometry.spacing == (0.5, 0.5) and case.info == {"pixel_size_mm": 0.5}


@pytest.mark.parametrize("text,message", [
    ("name,pixel_size_mm\na,1\n", "'case' column"),
    ("case,pixel_size_mm\na,1\na,2\n", "listed twice"),
    ("case,pixel_size_mm\na,-1\n", "positive"),
])
def test_bad_tables_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        read_case_table(path)
    assert str(path) in str(info.value)


def test_a_binary_table_is_a_data_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"  # e.g. a spreadsheet saved under a .csv name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00")
    with pytest.raises(DataError, match=r"t\.csv: the case table is not a readable CSV file"):
        read_case_table(path)


def test_missing_table_is_a_data_error(tiny_heads: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv"):
        open_dataset(tiny_heads, "nope.csv")
