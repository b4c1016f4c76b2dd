"""`semiseg info`: a run folder's summary from its small files."""

import shutil
from pathlib import Path

import pytest

from semiseg.cli import main
from semiseg.errors import DataError
from semiseg.run_info import format_run_info, logged_rows, run_info


def test_finished_run(tiny_supervised_run: Path) -> None:
    info = run_info(tiny_supervised_run)
    assert info["status"] == "finished" and info["method"] == "supervised"
    assert info["cases"] == {"labeled": 4, "unlabeled": 4, "val": 4, "test": 0}
    assert info["classes"] == ["background", "RV", "Myo", "LV"]
    assert info["portable"] and set(info["ship"]) == {"config.yaml", "data_profile.json",
                                                      "checkpoints/best.pt"}
    text = format_run_info(info)
    assert "val Dice" in text and "over 4 cases" in text and "RV, Myo, LV" in text
    assert "to predict elsewhere, ship config.yaml, data_profile.json, checkpoints/best.pt" in text


def test_unfinished_run_without_profile(tiny_supervised_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.yaml", "split.json"):
        shutil.copyfile(tiny_supervised_run / name, run / name)
    (run / "train.csv").write_text("step,loss\n50,0.9\n100,0.7\n")
    info = run_info(run)
    assert info["status"].startswith("unfinished at step 100 of ") and not info["portable"]
    text = format_run_info(info)
    assert "predicting needs its data set too (missing: data_profile.json, " in text
    assert "started from" not in text


def test_finished_run_without_weights_says_it_cannot_predict(tiny_supervised_run: Path,
                                                            tmp_path: Path) -> None:
    from semiseg.run_records import save_record

    record = save_record(tiny_supervised_run, tmp_path / "record")  # what a grid keeps
    text = format_run_info(run_info(record))
    assert "status: finished" in text and "val Dice" in text
    assert "no checkpoints/best.pt: its scores can be read and compared" in text


def test_run_started_from_a_checkpoint_names_it(tiny_supervised_run: Path,
                                                tmp_path: Path) -> None:
    run = Path(shutil.copytree(tiny_supervised_run, tmp_path / "run"))
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("  init_from: ''",
                                                 "  init_from: runs/pre-s1/checkpoints/last.pt"))
    info = run_info(run)
    assert info["init_from"] == "runs/pre-s1/checkpoints/last.pt"
    assert "  started from: runs/pre-s1/checkpoints/last.pt" in format_run_info(info)


def test_info_command(tiny_supervised_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["info", str(tiny_supervised_run)]) == 0
    assert "status: finished" in capsys.readouterr().out
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path}: not a run folder (no config.yaml)"
    assert main(["info", str(tmp_path / "typo")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'typo'}: no such run folder"


def test_a_run_resumed_elsewhere_lists_its_sessions(tiny_supervised_run: Path,
                                                   tmp_path: Path) -> None:
    import json

    run = Path(shutil.copytree(tiny_supervised_run, tmp_path / "run"))
    result = json.loads((run / "result.json").read_text())
    assert len(result["sessions"]) == 1  # one session: the summary line says it all
    assert "steps 0-" not in format_run_info(run_info(run))
    result["sessions"] = [
        {"steps": [0, 1500], "hardware": None, "git": None, "wall_seconds": 600.0},
        {"steps": [1500, 4000], "hardware": "AMD EPYC (AVX512), 2 threads", "git": "abc1234",
         "wall_seconds": 1200.0}]
    (run / "result.json").write_text(json.dumps(result))
    text = format_run_info(run_info(run))
    assert "    steps 0-1500: 10.0 min on an unrecorded machine\n" in text
    assert "    steps 1500-4000: 20.0 min on AMD EPYC (AVX512), 2 threads, git abc1234" in text


def test_a_run_that_degraded_after_its_best_says_so(tiny_supervised_run: Path,
                                                   tmp_path: Path) -> None:
    import json

    from semiseg.run_info import fall_note

    run = Path(shutil.copytree(tiny_supervised_run, tmp_path / "run"))
    result = json.loads((run / "result.json").read_text())
    result.update(best_step=1000, val_dice_at_selection=0.693)
    (run / "result.json").write_text(json.dumps(result))
    (run / "val.csv").write_text("step,dice_mean\n1000,0.693\n2000,0.66\n")
    assert "fell" not in format_run_info(run_info(run))  # 3.3 points: within a run's noise
    (run / "val.csv").write_text("step,dice_mean\n1000,0.693\n4000,0.12\n")
    info = run_info(run)
    assert info["val_last"] == (4000, 0.12)
    text = format_run_info(info)
    assert ("  note: val Dice fell 57.3 points after the best checkpoint (69.3 % at step 1000) "
            "to 12.0 % at the last validation (step 4000): the run degraded") in text
    assert fall_note(1000, 0.693, None) is None  # a record without val.csv: nothing to say
    assert fall_note(1000, 0.693, (4000, 0.642)) is not None  # 5.1 points: past the threshold
    assert fall_note(1000, 0.693, (4000, 0.644)) is None  # 4.9 points


def test_training_prints_the_fall_after_the_table(capsys) -> None:
    from semiseg.cli import _print_result

    result = {"method": "c3s3", "best_step": 1000, "iterations": 4000, "distance_units": "voxel",
              "table": "TABLE", "val_dice_at_selection": 0.693,
              "val_dice_last": {"step": 4000, "dice_mean": 0.12}, "wall_seconds": 10.0,
              "median_seconds_per_iteration": 0.1, "device": "cpu",
              "paths": {"summary": "s", "metrics": "m", "predictions": "p", "picture": "q",
                        "run": "r"}}
    _print_result(result)
    out = capsys.readouterr().out
    assert "TABLE\nnote: val Dice fell 57.3 points after the best checkpoint" in out
    result["val_dice_last"] = None  # e.g. a run without validation
    _print_result(result)
    assert "fell" not in capsys.readouterr().out


def test_train_log_rows_skip_a_half_written_last_line_and_name_a_damaged_one(
        tmp_path: Path) -> None:
    log = tmp_path / "train.csv"  # a training run appends its last line as we read
    log.write_text("step,loss,it_per_s\n50,1.0,2.0\n100,0.9,2.5\n150,0.8,")
    assert [r["step"] for r in logged_rows(tmp_path)] == ["50", "100", "150"]
    log.write_text("step,loss,it_per_s\n50,1.0,2.0\n100,0.9,2.5\nx5")
    assert [r["step"] for r in logged_rows(tmp_path)] == ["50", "100"]
    log.write_text("step,loss,it_per_s\n50,1.0,2.0\n1oo,0.9,2.5\n150,0.8,2.4\n")
    with pytest.raises(DataError, match=r"train\.csv: line 3: step '1oo' is not a number$"):
        logged_rows(tmp_path)
    log.write_text("step,loss,it_per_s\n50,1.0,fast\n100,0.9,2.5\n")
    with pytest.raises(DataError, match=r"train\.csv: line 2: it_per_s 'fast' is not a number$"):
        logged_rows(tmp_path)
