"""`semiseg bench speed`: the real training step timed, and the CUDA host-sync count."""

import json
import warnings
from pathlib import Path

import pytest
import torch

from semiseg.bench import count_host_syncs, measure_speed
from semiseg.engine.runtime import hardware_name
from tests.conftest import tiny_config


def test_speed_times_the_real_step_on_cpu(tiny_dataset: Path) -> None:
    result = measure_speed(tiny_config(tiny_dataset, "train.device=cpu"), steps=3, warmup=1)
    assert result["method"] == "mean_teacher" and result["steps"] == 3
    assert result["median_s_per_it"] > 0 and result["it_per_s"] == 1 / result["median_s_per_it"]
    assert result["peak_rss_gib"] > 0
    assert result["hardware"] == hardware_name(torch.device("cpu"))
    assert "host_syncs_per_step" not in result  # a CUDA measurement only


def test_host_syncs_are_counted_per_step_and_the_mode_restored(monkeypatch) -> None:
    # stand-in for the CUDA runtime: the debug mode is recorded, syncs warn as torch does
    mode = {"now": 0}
    monkeypatch.setattr(torch.cuda, "get_sync_debug_mode", lambda: mode["now"])
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode",
                        lambda m: mode.update(now=1 if m == "warn" else m))
    syncs = iter([0, 2, 0])

    def step() -> None:
        assert mode["now"] == 1
        for _ in range(next(syncs)):
            warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=1)
        warnings.warn("an unrelated warning", UserWarning, stacklevel=1)

    counts, sites = count_host_syncs(step, 3)
    assert counts == [0, 2, 0]
    # both syncs come from the one warn() line above: one site, named by file and line
    assert len(sites) == 1 and sites[0].startswith(f"{__file__}:")
    assert mode["now"] == 0


def test_host_sync_mode_is_restored_when_a_step_fails(monkeypatch) -> None:
    mode = {"now": 0}
    monkeypatch.setattr(torch.cuda, "get_sync_debug_mode", lambda: mode["now"])
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode",
                        lambda m: mode.update(now=1 if m == "warn" else m))

    def step() -> None:
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        count_host_syncs(step, 2)
    assert mode["now"] == 0


def test_speed_command_prints_one_line_and_writes_json(tiny_dataset: Path, tmp_path: Path,
                                                       capsys) -> None:
    from semiseg.cli import main

    sets = [f"data.root={tiny_dataset}", "data.num_labeled=2", "data.patch_size=[32, 32]",
            "data.batch_size=4", "data.labeled_batch_size=2", "model.channels=[4, 8]",
            "model.dropout=[0, 0]", "train.device=cpu", "train.num_threads=2"]
    argv = ["bench", "speed", *(a for s in sets for a in ("--set", s)), "--steps", "2",
            "--warmup", "1", "--json", str(tmp_path / "speed.json")]
    assert main(argv) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("method=mean_teacher median_s_per_it=")
    assert line.endswith(f" on {hardware_name(torch.device('cpu'))}")
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert saved["steps"] == 2 and saved["config"]["patch_size"] == [32, 32]
