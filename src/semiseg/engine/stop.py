"""A stop requested by SIGTERM or Ctrl-C (SIGINT) while training: save, then stop.

Cluster schedulers (SLURM, Kubernetes) send SIGTERM some seconds before they kill a job;
Python's default would end the process at once and lose every step since the last
periodic checkpoint. Inside :class:`StopRequest` the signal only sets a flag; the loop
reads it where it already synchronises (the logging step, every ``train.log_every``
steps, so that all DDP ranks agree), saves ``last.pt`` and raises
:class:`semiseg.errors.RunStoppedError`. A second signal ends the process the default way.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Context manager: while inside, SIGINT/SIGTERM set :attr:`signum` instead of ending.

    Signals the process ignores (a job started with ``nohup`` or in the background of a
    script) stay ignored; outside the main thread nothing is installed (Python only
    delivers signals there).

    Attributes:
        signum: The first stop signal received, 0 while none.
    """

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                previous = signal.getsignal(sig)
                if previous is not signal.SIG_IGN:
                    self._previous[sig] = previous
                    signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum:  # asked twice: stop now, the default way
            self._restore()
            signal.raise_signal(signum)
            return
        self.signum = signum
        print(f"\n{signal.Signals(signum).name}: saving the run at the next logging step "
              "(send it again to stop at once)", file=sys.stderr)

    def _restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._restore()
