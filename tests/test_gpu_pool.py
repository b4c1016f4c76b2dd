"""benchmarks/gpu_pool.py: which run the pool stops when runs cannot finish in time."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

POOL = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_pool.py"


@pytest.fixture(scope="module")
def pool():
    spec = importlib.util.spec_from_file_location("gpu_pool", POOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_pool"] = module  # its dataclass looks its module up while defined
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_pool"]


def _job(pool, name: str):
    return pool.Job("grid.yaml", name, "c3s3", 3, 0, f"records/{name}", f"runs/{name}")


def test_only_runs_needing_over_the_margin_are_late_furthest_first(pool, monkeypatch) -> None:
    need = {"a": 100.0, "b": 700.0, "c": 300.0, "d": None}  # d: no speed logged yet
    monkeypatch.setattr(pool, "seconds_to_finish", lambda job: need[job.name])
    procs = {name: object() for name in need}
    running = {procs[n]: (_job(pool, n), 0.0) for n in need}
    late = pool.late_runs(running, set(), left=200.0)  # margin 1.25: late above 250 s
    assert [p for _, p in late] == [procs["b"], procs["c"]]
    # one already being stopped is not counted again
    assert [p for _, p in pool.late_runs(running, {procs["b"]}, 200.0)] == [procs["c"]]
