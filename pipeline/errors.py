"""The pipeline's own errors, in one module every pipeline module may import.

A :class:`~spine.errors.SpineError` is a bad request or bad data: the CLI says it in one line
and exits 2. An :class:`~spine.errors.InternalError` is a defect or a broken tool, reported
with its traceback.
"""

from __future__ import annotations

from spine.errors import InternalError, SpineError


class CatalogError(SpineError, ValueError):
    """The catalog file, or a name given on the command line, cannot be used."""


class ClusterError(SpineError, RuntimeError):
    """The cluster cannot be used (unreachable scheduler, no workers)."""


class BuildError(InternalError, RuntimeError):
    """A built file is not what the storyboard promised (checked before it replaces anything)."""


class RestoreMismatch(InternalError, RuntimeError):
    """A restored checkpoint does not reproduce the state it was taken from."""
