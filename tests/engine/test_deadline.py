"""When a run would end at its measured speed (``bench run --until``'s check in the loop)."""

import math

import pytest

from semiseg.engine.deadline import STEP_OVERHEAD, ends_after, projected_end


def test_projected_end_is_steps_left_at_the_step_time_plus_validations() -> None:
    assert projected_end(1000.0, 200, 0.5) == pytest.approx(1000 + 200 * 0.5 * STEP_OVERHEAD)


def test_a_run_is_late_when_its_median_interval_ends_it_after_the_deadline() -> None:
    now = 1_000.0
    # median of (0.5, 1.0, 9.0) s a step is 1.0 (one slow interval does not decide):
    # 100 steps end at now + 105 s
    late, step, end = ends_after(now + 104, now, 100, [0.5, 9.0, 1.0])
    assert (late, step, end) == (True, 1.0, pytest.approx(now + 105))
    assert not ends_after(now + 106, now, 100, [0.5, 9.0, 1.0])[0]


def test_nothing_timed_is_never_late() -> None:
    late, step, end = ends_after(0.0, 1_000.0, 100, [])
    assert not late and math.isnan(step) and end == 1_000.0
