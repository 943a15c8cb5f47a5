"""One BLAS thread while the spine model is built.

The model's geometry multiplies long, thin arrays of points by 3 x 3 frames (``points @ R``)
millions of times. OpenBLAS (the BLAS numpy's wheels ship) splits every such product between
threads that spin while they wait: on 2 cores a cold build spent about a third more CPU time
than with one thread, and its meshing worker processes fought those threads for the cores.
:func:`one_blas_thread` sets OpenBLAS to one thread for a block of code (forked workers inherit
the setting) and restores it after. Where the BLAS is not OpenBLAS, or its library cannot be
found, it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["one_blas_thread"]

#: the thread-count functions, by the names OpenBLAS builds export them under (numpy's and
#: scipy's wheels prefix theirs; 64-bit integer builds add a suffix)
_NAMES = [
    (f"{prefix}_set_num_threads{suffix}", f"{prefix}_get_num_threads{suffix}")
    for prefix in ("scipy_openblas", "openblas")
    for suffix in ("64_", "_64_", "")
]


@lru_cache(maxsize=1)
def _openblas() -> tuple | None:
    """(set, get) of the OpenBLAS that numpy loaded, or None."""
    import numpy  # noqa: F401 - loads its BLAS

    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and line.rstrip().endswith(".so")}
    except OSError:  # not Linux
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _NAMES:
            setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                getter.restype = ctypes.c_int
                return setter, getter
    return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with OpenBLAS on one thread (a no-op where there is no OpenBLAS)."""
    blas = _openblas()
    if blas is None:
        yield
        return
    setter, getter = blas
    before = int(getter())
    setter(1)
    try:
        yield
    finally:
        setter(before)
