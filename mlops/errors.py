"""Errors the user can fix: the CLI prints them as one line, without a traceback."""


class UserError(Exception):
    """Bad input, a bad file or a bad setting; the message names it and says what is wrong."""

    exit_code = 2


class DataError(UserError):
    """A data file is missing, corrupt, or has too many malformed rows."""
