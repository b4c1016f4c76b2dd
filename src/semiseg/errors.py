"""User-facing errors: one line that names the file or key, never a traceback."""


class SemisegError(Exception):
    """A problem the user can fix (bad data, bad config, missing run).

    The CLI prints ``str(error)`` as one line and exits with status 2; the message must
    name the offending file or key and say what was expected.
    """


class DataError(SemisegError):
    """A data set, case file or split file is missing, corrupt or inconsistent."""


class ConfigError(SemisegError):
    """A config key or value is unknown or invalid."""


class RunStoppedError(SemisegError):
    """Training stopped on request (SIGTERM from a scheduler, Ctrl-C) with its state saved.

    Attributes:
        signum: The signal that asked for the stop; the CLI exits with ``128 + signum``.
    """

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum


class RunPastDeadlineError(SemisegError):
    """Training stopped, its state saved, because at its speed it would end after a deadline.

    ``semiseg bench run --until`` passes its deadline to each run; a run whose measured
    steps say it cannot finish in time stops at a logging step instead of being cut, with
    everything it trained, by the end of the session.

    Attributes:
        seconds_per_step: The median step time the verdict used (this machine's).
    """

    def __init__(self, message: str, seconds_per_step: float) -> None:
        super().__init__(message)
        self.seconds_per_step = seconds_per_step
