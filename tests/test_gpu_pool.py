"""benchmarks/gpu_pool.py: which run the pool stops when runs cannot finish in time."""

from __future__ import annotations

import importlib.util
import json
import sys
import tarfile
import time
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


def test_finished_runs_are_packed_as_they_finish(pool, tmp_path, monkeypatch) -> None:
    # stand-in runs: a process that writes its record (one fast, one that never ends)
    class FakeJob(pool.Job):
        def command(self, overrides):
            if self.name == "slow":
                return [sys.executable, "-c", "import time; time.sleep(60)"]
            code = ("import json, pathlib, sys; p = pathlib.Path(sys.argv[1]); "
                    "p.mkdir(parents=True); (p / 'result.json').write_text(json.dumps({}))")
            return [sys.executable, "-c", code, self.record]

    monkeypatch.chdir(tmp_path)
    jobs = [FakeJob("g.yaml", n, "supervised", 3, 0, str(tmp_path / "records" / n),
                    str(tmp_path / "runs" / n)) for n in ("fast", "slow")]
    out, logs = tmp_path / "out", tmp_path / "logs"
    packed = []

    def on_finish() -> None:
        pool.pack(jobs, out, logs, tmp_path)
        with tarfile.open(out / "records.tar.gz") as tar:
            packed.append(sorted(tar.getnames()))

    # the slow one is still running at the deadline: stopped, its record never packed
    pool.run_pool(jobs, [], workers=2, deadline=time.monotonic() + 4, min_run=0, logs=logs,
                  on_finish=on_finish)
    assert [j.status for j in jobs] == ["finished", "stopped at the deadline"]
    assert packed == [["records/fast", "records/fast/result.json"]]  # packed on finishing
    assert not (out / "records.tar.gz.part").exists()
    assert json.loads((tmp_path / "records" / "fast" / "result.json").read_text()) == {
        "shared_device_runs": 2}
