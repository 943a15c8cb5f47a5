"""Fluoroscopy results kept in memory for reuse within a process (least recently used go first).

A video shows the same C-arm image again and again: the monitor holds its last image while the
narration goes on, an updater sets the same needle on every frame of a wait, a beat starts on the
image the previous one ended with, and the C-arm turns back to a view it showed before. Each of
these is a pure function of its inputs (pose, size, detector, noise seed, needle and contrast), so
the imagers (with their anatomy line integrals), the needle and contrast layers and the finished
images are kept here by those inputs and reused: the frames are the same bytes as recomputed ones.

One cache per process, bounded by ``SPINE_FLUORO_MEMORY_LIMIT`` (bytes of arrays held; ``0``: no
limit), least recently used entries dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

__all__ = ["MemoryCache", "memory"]


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return int(getattr(value, "memory_bytes", 0)) + 256


class MemoryCache:
    """A least-recently-used map bounded by the bytes of the arrays it holds."""

    def __init__(self, limit_bytes: int | None = None):
        self._limit = limit_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def limit(self) -> int:
        if self._limit is None:
            from spine.settings import settings

            self._limit = int(settings().fluoro_memory_limit)
        return self._limit

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value kept under ``key``, or ``make()`` kept there (arrays are made read-only, so a
        caller cannot change what another will be given)."""
        got = self._items.get(key)
        if got is not None:
            self._items.move_to_end(key)
            self.hits += 1
            return got[0]
        self.misses += 1
        value = make()
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        size = _nbytes(value)
        limit = self.limit
        if limit and size > limit:
            return value  # larger than the whole cache: used once, not kept
        self._items[key] = (value, size)
        self.bytes += size
        while limit and self.bytes > limit and len(self._items) > 1:
            _k, (_v, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped
        return value

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


#: the process's cache of fluoroscopy imagers, layers and images
memory = MemoryCache()
