"""When a run would end at its measured speed: for ``bench run --until``.

On a machine whose folders do not outlive the session (a lease, a CI job), a run that is
cut by the session's end loses everything it trained. ``--until`` therefore starts only
runs estimated to end in time (:func:`semiseg.grid_status.fits_before`), and the loop
stops a run whose own speed on this machine says it will not (:func:`ends_after`): the
estimate borrows step times from other runs, often measured on another machine.
"""

from __future__ import annotations

import statistics

# What a run costs beyond its steps: in the 18 records of benchmarks/results/, wall time
# is 0.98-1.05 times iterations x median step (validations, final evaluation, slower
# steps); the start-up (data, networks) takes under a minute.
STEP_OVERHEAD = 1.05
START_MINUTES = 1.0


def projected_end(now: float, steps_left: int, seconds_per_step: float) -> float:
    """When (epoch seconds) a run ends: its steps left plus validations and evaluation."""
    return now + steps_left * seconds_per_step * STEP_OVERHEAD


def ends_after(deadline: float, now: float, steps_left: int,
               interval_seconds: list[float]) -> tuple[bool, float, float]:
    """Whether a run will end after ``deadline`` at the speed measured so far.

    Args:
        deadline: Epoch seconds.
        now: Epoch seconds.
        steps_left: Training steps still to run.
        interval_seconds: Mean step time of each logging interval timed on this machine
            (not earlier sessions', which may have run elsewhere).

    Returns:
        ``(late, seconds_per_step, end)``: the verdict, the median step time it used and
        the projected end (epoch seconds). Nothing timed yet is never late.
    """
    if not interval_seconds:
        return False, float("nan"), now
    step = statistics.median(interval_seconds)
    end = projected_end(now, steps_left, step)
    return end > deadline, step, end
