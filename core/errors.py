"""The one error type users see: a message naming the problem and how to fix it.

Every layer raises `ReidError` (or a subclass) for failures a user can cause; the command line
prints it as one line and exits with status 2 instead of showing a traceback.
"""


class ReidError(Exception):
    """A problem the user can fix: `problem` says what is wrong, `fix` what to do about it."""

    def __init__(self, problem: str, fix: str = ""):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} {fix}".strip())


class DatasetError(ReidError):
    """A dataset is missing, empty, malformed or does not match its layout."""


class ModelError(ReidError):
    """A model or checkpoint file is missing, unreadable or of the wrong kind."""


class DeviceError(ReidError):
    """The requested device or precision is not available on this machine."""
