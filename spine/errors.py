"""The one error base of the project: every mistake a user can make in a request or a data
file is a :class:`SpineError`, which the CLI prints as one line and exits with its code."""

from __future__ import annotations


class SpineError(Exception):
    """A problem the user can fix; the CLI prints its message as one line."""

    exit_code = 2


class RequestError(SpineError, ValueError):
    """A request names a video, level or side that does not exist or is not allowed."""
