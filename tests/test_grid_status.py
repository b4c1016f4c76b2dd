"""`semiseg bench status`: each grid run's state and the training time left, from small files."""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from semiseg.cli import main
from semiseg.errors import ConfigError
from semiseg.grid_status import fits_before, format_grid_status, grid_status, parse_until


def _grid(tmp_path: Path, **extra) -> Path:
    grid = {"set": ["train.iterations=1000"], "methods": ["supervised", "mean_teacher"],
            "labeled": [1], "seeds": [0, 1], "out": "out", "records": "rec", **extra}
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    return path


def _finished(folder: Path, seconds_per_step: float) -> None:
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(
        {"iterations": 1000, "median_seconds_per_iteration": seconds_per_step}))


def _log(run: Path, rows: list[tuple[int, float]], age_seconds: float) -> None:
    run.mkdir(parents=True)
    log = run / "train.csv"
    log.write_text("step,loss,it_per_s\n" + "".join(f"{s},0.5,{v}\n" for s, v in rows))
    os.utime(log, (log.stat().st_atime, log.stat().st_mtime - age_seconds))


def test_states_and_minutes_left(tmp_path: Path) -> None:
    path = _grid(tmp_path)
    _finished(tmp_path / "out" / "supervised-l1-s0", 0.6)
    _finished(tmp_path / "rec" / "supervised-l1-s1", 0.3)  # a record only: restorable
    # 2 and 4 steps/s logged: median 3 steps/s; the log is an hour old
    _log(tmp_path / "out" / "mean_teacher-l1-s0", [(200, 2.0), (400, 4.0), (600, 3.0)], 3600)
    rows = {r.name: r for r in grid_status(path)}
    assert [(n, r.state) for n, r in rows.items()] == [
        ("supervised-l1-s0", "finished"), ("mean_teacher-l1-s0", "interrupted"),
        ("supervised-l1-s1", "recorded"), ("mean_teacher-l1-s1", "not started")]
    assert rows["mean_teacher-l1-s0"].step == 600
    assert rows["mean_teacher-l1-s0"].minutes_left() == pytest.approx(400 / 3 / 60)
    # no mean_teacher run has finished: its unstarted run's time is unknown
    assert rows["mean_teacher-l1-s1"].minutes_left() is None
    text = format_grid_status(path, list(rows.values()))
    assert "interrupted at step 600 of 1000" in text
    assert text.endswith("4 runs: 2 done, 2 to go; about 2 min of training steps left at the "
                         "measured step times (1 of them with no step time: not counted; "
                         "see --step-time)")
    # given a step time, and timed by the method's finished runs (median 0.3, 0.6 = 0.45)
    rows = {r.name: r for r in grid_status(path, step_times={"mean_teacher": 1.2})}
    assert rows["mean_teacher-l1-s1"].minutes_left() == pytest.approx(1000 * 1.2 / 60)
    assert rows["supervised-l1-s0"].minutes_left() == 0.0


def test_a_fresh_log_is_training_and_a_missing_start_is_waited_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # init_from is relative to where bench run is started
    path = _grid(tmp_path, set=["train.iterations=1000",
                                "train.init_from=pre-s{seed}/checkpoints/last.pt"])
    _log(tmp_path / "out" / "supervised-l1-s0", [(500, 2.0)], 0)
    half = tmp_path / "pre-s1" / "checkpoints"  # a pre-training still under way
    half.mkdir(parents=True)
    (half / "last.pt").write_bytes(b"")
    rows = {r.name: r for r in grid_status(path)}
    assert rows["supervised-l1-s0"].state == "training"
    assert rows["supervised-l1-s0"].minutes_left() == pytest.approx(500 * 0.5 / 60)
    assert rows["supervised-l1-s1"].state == "waiting"
    assert rows["supervised-l1-s1"].note == "for pre-s1/checkpoints/last.pt"
    rows["supervised-l1-s1"].seconds_per_step = 0.5  # timed, yet it cannot start
    assert fits_before(rows["supervised-l1-s1"], 1e12, 0) == (
        False, "skipped supervised-l1-s1: waiting for pre-s1/checkpoints/last.pt")
    (tmp_path / "pre-s1" / "result.json").write_text("{}")  # the pre-training finished
    assert {r.name: r.state for r in grid_status(path)}["supervised-l1-s1"] == "not started"


def test_status_command(tmp_path: Path, capsys) -> None:
    path = _grid(tmp_path)
    assert main(["bench", "status", str(path), "--step-time", "supervised=0.6",
                 "--step-time", "mean_teacher=0.6"]) == 0
    out = capsys.readouterr().out
    assert "4 runs: 0 done, 4 to go; about 40 min" in out and "     10 min" in out
    assert main(["bench", "status", str(path), "--step-time", "supervised"]) == 2
    assert "expected METHOD=SECONDS" in capsys.readouterr().err


def test_until_is_the_next_such_clock_time_or_an_iso_time() -> None:
    now = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)
    assert parse_until("02:50", now) == (now + timedelta(hours=2, minutes=20)).timestamp()
    # already past today: tomorrow's
    assert parse_until("0:10", now) == (now + timedelta(hours=23, minutes=40)).timestamp()
    assert parse_until("2026-12-04T01:00+00:00", now) == (now + timedelta(minutes=30)).timestamp()
    with pytest.raises(ConfigError, match="already past"):
        parse_until("2026-12-04T00:00+00:00", now)
    for bad in ("soon", "25:00", "2026-13-01"):
        with pytest.raises(ConfigError, match="expected HH:MM or an ISO date-time"):
            parse_until(bad, now)


def test_a_run_fits_when_its_steps_validations_and_start_end_before_the_deadline(
        tmp_path: Path) -> None:
    path = _grid(tmp_path)
    _finished(tmp_path / "out" / "supervised-l1-s0", 0.6)
    rows = {r.name: r for r in grid_status(path, step_times={"mean_teacher": 1.2})}
    # 1000 steps x 0.6 s = 10 min of steps, x 1.05 for validations, + 1 min to start
    needed = rows["supervised-l1-s1"].minutes_needed()
    assert needed == pytest.approx(10 * 1.05 + 1)
    now = 1_000_000.0
    assert fits_before(rows["supervised-l1-s1"], now + 60 * (needed + 0.1), now) == (True, "")
    fits, why = fits_before(rows["supervised-l1-s1"], now + 60 * (needed - 0.1), now)
    assert not fits and why == ("skipped supervised-l1-s1: needs about 12 min, 11 min left "
                                "before --until")
    assert fits_before(rows["supervised-l1-s0"], now, now) == (True, "")  # done: nothing to do
    unknown = {r.name: r for r in grid_status(path)}["mean_teacher-l1-s1"]
    fits, why = fits_before(unknown, now + 1e6, now)
    assert not fits and "step time is unknown" in why


def test_bench_run_rejects_a_bad_until(tmp_path: Path, capsys) -> None:
    assert main(["bench", "run", str(_grid(tmp_path)), "--until", "later"]) == 2
    assert "--until 'later': expected HH:MM" in capsys.readouterr().err


def test_speed_factor_scales_borrowed_step_times_not_a_runs_own(tmp_path: Path) -> None:
    path = _grid(tmp_path)
    _finished(tmp_path / "out" / "supervised-l1-s0", 0.6)  # measured on another machine
    _log(tmp_path / "out" / "mean_teacher-l1-s0", [(500, 2.0)], 3600)  # measured here
    rows = {r.name: r for r in grid_status(path, step_times={"mean_teacher": 1.2},
                                           speed_factor=4.0)}
    assert rows["supervised-l1-s1"].seconds_per_step == pytest.approx(2.4)
    assert rows["mean_teacher-l1-s1"].seconds_per_step == pytest.approx(4.8)
    assert rows["mean_teacher-l1-s0"].seconds_per_step == pytest.approx(0.5)
    assert rows["supervised-l1-s0"].seconds_per_step == pytest.approx(0.6)


def test_status_command_takes_a_speed_factor(tmp_path: Path, capsys) -> None:
    path = _grid(tmp_path)
    assert main(["bench", "status", str(path), "--step-time", "supervised=0.6",
                 "--step-time", "mean_teacher=0.6", "--speed-factor", "2"]) == 0
    assert "4 runs: 0 done, 4 to go; about 80 min" in capsys.readouterr().out
    for bad in ("0", "-1", "fast", "inf"):
        with pytest.raises(SystemExit):
            main(["bench", "status", str(path), "--speed-factor", bad])
        assert "--speed-factor: expected a number above 0" in capsys.readouterr().err


def test_bench_run_with_every_run_skipped_reports_nothing_and_succeeds(
        tmp_path: Path, capsys) -> None:
    # a queue goes on to its next grid when this one has nothing that fits before --until
    path = _grid(tmp_path)
    assert main(["bench", "run", str(path), "--until", "23:59", "--step-time",
                 "supervised=1e6", "--step-time", "mean_teacher=1e6"]) == 0
    out = capsys.readouterr().out
    assert "skipped supervised-l1-s0: needs about" in out
    assert out.rstrip().endswith("out: no finished runs yet, so no leaderboard")
