"""The one error base of the project: every error the project raises on purpose is a
:class:`SpineError`, which the CLI (``pipeline/cli.py``, ``main``) catches in one place and prints
as one line, exiting with the error's ``exit_code``: 2 for a mistake the user can fix (a request,
a data file, a script, the lexicon, a brand profile, a missing program), 1 for an
:class:`InternalError` (our own check of our own work failed)."""

from __future__ import annotations


class SpineError(Exception):
    """A problem the user can fix; the CLI prints its message as one line."""

    exit_code = 2


class RequestError(SpineError, ValueError):
    """A request names a video, level or side that does not exist or is not allowed."""


class MissingToolError(SpineError):
    """A program the pipeline runs is not installed (ffmpeg, ffprobe); the message says how to install it."""


class InternalError(SpineError):
    """One of our own checks found a fault that is not the user's: a built file that is not what the
    storyboard promised, an encoder that failed, a beat that overran its frames. Still one line (no
    traceback unless ``SPINE_DEBUG=1``), but exit status 1: the request was fine, report the line."""

    exit_code = 1


#: the most characters of a message the CLI prints (a 10,000-digit level is not echoed whole)
MAX_MESSAGE_CHARS = 400


def shorten(value: object, limit: int = 40) -> str:
    """``value`` as text, cut to ``limit`` characters with its full length said (for echoing user input)."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


def shorten_path(path: object, limit: int = 80) -> str:
    """A path for a message: whole if short, else its file name (cut) after an ellipsis."""
    text = str(path)
    if len(text) <= limit:
        return text
    name = text.rstrip("/").rsplit("/", 1)[-1]
    return "…/" + shorten(name, limit - 2)


def one_line(exc: BaseException) -> str:
    """The first line of an error's message, cut to MAX_MESSAGE_CHARS."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"
