"""SIGTERM / Ctrl-C while training: the run is saved at the next logging step and resumes."""

import signal
import time
from pathlib import Path

import pytest
import torch

from semiseg.cli import main
from semiseg.engine.checkpoint import load_checkpoint, save_checkpoint
from semiseg.engine.loop import train
from semiseg.engine.runtime import hardware_name, resolve_amp
from semiseg.engine.stop import StopRequest
from semiseg.engine.trainer import Trainer
from semiseg.errors import ConfigError, RunPastDeadlineError, RunStoppedError
from semiseg.version import provenance
from tests.conftest import tiny_config

# a supervised run of 8 steps, logged every 4, validated and checkpointed at the end only
EIGHT_STEPS = ("method.name=supervised", "train.iterations=8", "train.checkpoint_every=8",
               "train.val_every=8", "train.log_every=4")


@pytest.fixture(autouse=True)
def default_signal_handlers():
    """Python's own SIGINT/SIGTERM handling, whatever this test process inherited.

    A test run started in the background of a script (as `.ci/run` may be) inherits
    SIGINT ignored, and a stop request keeps ignored signals ignored.
    """
    previous = {sig: signal.signal(sig, default)
                for sig, default in ((signal.SIGINT, signal.default_int_handler),
                                     (signal.SIGTERM, signal.SIG_DFL))}
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _signal_at(monkeypatch: pytest.MonkeyPatch, at_step: int, signum: int) -> None:
    """Make the trainer send ``signum`` to its own process during step ``at_step``."""
    original = Trainer.step

    def step(self: Trainer, index: int):
        if index == at_step:
            signal.raise_signal(signum)
        return original(self, index)

    monkeypatch.setattr(Trainer, "step", step)


def test_sigterm_saves_at_the_next_logging_step_and_the_run_resumes(
        tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(tiny_dataset, *EIGHT_STEPS)
    run = tmp_path / "run"
    _signal_at(monkeypatch, 1, signal.SIGTERM)  # during the 2nd step; logging after the 4th
    with pytest.raises(RunStoppedError, match=r"stopped by SIGTERM at step 4 of 8; saved "
                                              r".*last\.pt; continue with: semiseg train "
                                              r"--resume") as stopped:
        train(config, run)
    assert stopped.value.signum == signal.SIGTERM
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 4
    assert [line.split(",")[0] for line in (run / "train.csv").read_text().splitlines()] == [
        "step", "4"]  # the row of the stop step is logged before stopping
    # the handlers are gone again: the default SIGTERM action, not the stop request's
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    monkeypatch.undo()
    result = train(config, run, resume=True)
    assert result["iterations"] == 8
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 8
    # each session says which steps it trained, where, on what code and how fast
    first, second = result["sessions"]
    assert (first["steps"], second["steps"]) == ([0, 4], [4, 8])
    for session in (first, second):
        assert session["hardware"] == hardware_name(torch.device("cpu"))
        assert session["git"] == provenance()["git"] and session["amp"] == result["amp"]
        assert session["median_seconds_per_iteration"] > 0 and session["wall_seconds"] > 0
    assert result["wall_seconds"] == pytest.approx(first["wall_seconds"]
                                                   + second["wall_seconds"], abs=1.0)


def test_a_checkpoint_without_session_records_resumes_with_an_unrecorded_first_session(
        tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # last.pt written by a version before the records: its steps, wall time and step
    # times are known, its machine and code are not, and the record does not guess them
    config = tiny_config(tiny_dataset, *EIGHT_STEPS)
    run = tmp_path / "run"
    _signal_at(monkeypatch, 1, signal.SIGTERM)
    with pytest.raises(RunStoppedError):
        train(config, run)
    last = run / "checkpoints" / "last.pt"
    state = load_checkpoint(last)
    del state["sessions"]
    save_checkpoint(state, last)
    monkeypatch.undo()
    old, new = train(config, run, resume=True)["sessions"]
    assert old == {"steps": [0, 4], "started": None, "hardware": None, "amp": None,
                   "git": None, "wall_seconds": round(state["elapsed_seconds"], 1),
                   "median_seconds_per_iteration": state["step_times"][0]}
    assert new["steps"] == [4, 8] and new["hardware"]


def test_a_run_stopped_at_its_last_step_validates_on_resume_and_keeps_its_step_time(
        tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # stopped at the end (SIGTERM during the last step), where the stop skips the run's
    # only validation: the resume trains no step but runs that validation (best.pt, the
    # val.csv row), and result.json's median step is the earlier session's, not NaN
    config = tiny_config(tiny_dataset, *EIGHT_STEPS)
    run = tmp_path / "run"
    _signal_at(monkeypatch, 7, signal.SIGTERM)
    with pytest.raises(RunStoppedError, match="at step 8 of 8"):
        train(config, run)
    logged = load_checkpoint(run / "checkpoints" / "last.pt")["step_times"]
    assert len(logged) == 2 and all(t > 0 for t in logged)  # steps 1-4 and 5-8
    assert not (run / "val.csv").is_file() and not (run / "checkpoints" / "best.pt").is_file()
    monkeypatch.undo()
    result = train(config, run, resume=True)
    assert [line.split(",")[0] for line in (run / "val.csv").read_text().splitlines()] == [
        "step", "8"]
    assert result["best_step"] == 8
    assert not load_checkpoint(run / "checkpoints" / "last.pt")["val_pending"]
    assert result["median_seconds_per_iteration"] == pytest.approx(sorted(logged)[0] / 2
                                                                   + sorted(logged)[1] / 2)


def test_ctrl_c_exits_130_with_the_resume_command(
        tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data:\n  root: {tiny_dataset}\n  num_labeled: 2\n  patch_size: [32, 32]\n"
                   "  batch_size: 4\n  labeled_batch_size: 2\nmodel:\n  channels: [4, 8]\n"
                   "  dropout: [0, 0]\nmethod:\n  name: supervised\ntrain:\n  iterations: 6\n"
                   "  log_every: 2\n  progress_bar: false\n  num_threads: 1\n")
    _signal_at(monkeypatch, 0, signal.SIGINT)
    assert main(["train", "-c", str(cfg), "-o", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err
    assert "SIGINT: saving the run at the next logging step" in err
    assert err.strip().endswith(f"continue with: semiseg train --resume {tmp_path / 'run'}")


def test_a_second_signal_stops_at_once_and_ignored_signals_stay_ignored() -> None:
    with StopRequest() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # Python's default for a second Ctrl-C
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. started under nohup
    try:
        with StopRequest() as stop:
            signal.raise_signal(signal.SIGTERM)
            assert stop.signum == 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_run_too_slow_for_its_deadline_stops_saved_at_a_logging_step(
        tiny_dataset: Path, tmp_path: Path) -> None:
    # a deadline that has passed by the first logging step: at any speed the run would
    # end after it, so it stops there with last.pt, and resumes without a deadline
    config = tiny_config(tiny_dataset, *EIGHT_STEPS)
    run = tmp_path / "run"
    with pytest.raises(RunPastDeadlineError, match=r"stopped .*run at step 4 of 8: at "
                                                   r"[0-9.]+ s a step here it would end about "
                                                   r".*, after the deadline .*; saved "
                                                   r".*last\.pt; continue with") as stopped:
        train(config, run, deadline=time.time() + 1e-3)
    assert stopped.value.seconds_per_step > 0
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 4
    assert train(config, run, resume=True)["iterations"] == 8


def test_a_run_is_not_stopped_for_its_deadline_at_its_last_step_or_when_in_time(
        tiny_dataset: Path, tmp_path: Path) -> None:
    # the only logging step is the last: finishing costs less than stopping
    config = tiny_config(tiny_dataset, "method.name=supervised", "train.iterations=4",
                         "train.checkpoint_every=4", "train.val_every=4", "train.log_every=4")
    assert train(config, tmp_path / "last", deadline=time.time() + 1e-3)["iterations"] == 4
    config = tiny_config(tiny_dataset, "method.name=supervised", "train.iterations=4",
                         "train.checkpoint_every=4", "train.val_every=4", "train.log_every=2")
    assert train(config, tmp_path / "in-time", deadline=time.time() + 3600)["iterations"] == 4


@pytest.mark.parametrize("earlier", ["torch.bfloat16", "None"])
def test_a_resume_keeps_the_precision_of_the_runs_earlier_sessions(
        tiny_dataset: Path, tmp_path: Path, earlier: str, capsys) -> None:
    # train.amp auto resolves per machine (bf16 with native bf16, else fp32): a run that
    # started on the other kind of CPU continues in its first precision, and says so
    config = tiny_config(tiny_dataset, "method.name=supervised", "train.iterations=4",
                         "train.checkpoint_every=2", "train.val_every=4", "train.log_every=2",
                         "train.amp=auto")
    run = tmp_path / "run"
    with pytest.raises(RunPastDeadlineError):  # a stop at step 2 leaves last.pt
        train(config, run, deadline=time.time() + 1e-3)
    path = run / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    here = state["amp"]
    assert here == str(resolve_amp("auto", torch.device("cpu")))
    state["amp"] = earlier  # as if the first session ran on the other machine
    torch.save(state, path)
    result = train(config, run, resume=True)
    assert result["amp"] == earlier
    out = capsys.readouterr().err  # the run's messages go to stderr
    name = {"torch.bfloat16": "bf16", "None": "fp32"}[earlier]
    said = f"train.amp auto: continuing in {name}, the precision of the run's earlier sessions"
    assert (said in out) == (earlier != here)  # nothing to say when the machines agree


def test_a_run_trained_in_fp16_on_cuda_cannot_resume_on_the_cpu(
        tiny_dataset: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_dataset, "method.name=supervised", "train.iterations=4",
                         "train.checkpoint_every=2", "train.val_every=4", "train.log_every=2")
    run = tmp_path / "run"
    with pytest.raises(RunPastDeadlineError):
        train(config, run, deadline=time.time() + 1e-3)
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    state["amp"] = "torch.float16"
    torch.save(state, run / "checkpoints" / "last.pt")
    with pytest.raises(ConfigError, match=r"'train\.amp': auto trained this run in fp16 on CUDA"):
        train(config, run, resume=True)
