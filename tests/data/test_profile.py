"""The data profile a run keeps: round trip and a clear error for a damaged file."""

from pathlib import Path

import pytest

from semiseg.data.profile import PROFILE_FILE, DataProfile, read_profile, write_profile
from semiseg.errors import DataError

META = {"labels": {"background": 0, "head": 1}, "channel_names": {"0": "US"},
        "file_ending": ".png", "numTraining": 3}


def test_round_trip_and_the_data_set_it_stands_for(tmp_path: Path) -> None:
    profile = DataProfile(META, None, None, True, "/data/HC18")
    write_profile(profile, tmp_path)
    assert read_profile(tmp_path) == profile
    dataset = profile.dataset(tmp_path)
    assert (dataset.class_names, dataset.num_channels, dataset.file_ending) == (
        ["background", "head"], 1, ".png")
    assert dataset.training_cases == []
    assert read_profile(tmp_path / "elsewhere") is None  # a run from before profiles


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "must hold a JSON object"),
    ('{"dataset_json": {}}', "not a semiseg data profile"),
    ("{", "not valid JSON"),
])
def test_damaged_profile_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / PROFILE_FILE).write_text(text)
    with pytest.raises(DataError, match=message) as err:
        read_profile(tmp_path)
    assert str(tmp_path / PROFILE_FILE) in str(err.value)
