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
