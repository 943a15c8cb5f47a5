"""Size limits of the on-disk caches: least recently used entries go first.

Every cache (speech, fluoroscopy, anatomy meshes; the frames' segments and checkpoints are pruned
after each build by ``pipeline.cache``) has a byte limit in the settings
(``SPINE_SPEECH_CACHE_LIMIT``, ``SPINE_FLUORO_CACHE_LIMIT``, ``SPINE_ANATOMY_CACHE_LIMIT``,
``SPINE_CACHE_LIMIT``; ``0``: no limit). An entry's modification time is its last use: a cache
marks an entry used when it reads it (:func:`mark_used`), and after each write it calls
:func:`added`, which keeps a running total of the folder per process (the folder is listed once)
and, when the total passes the limit, removes the oldest entries, with their checksums, until the
folder holds at most 90 % of the limit (the headroom spares a listing on every write). The entry
just written is never removed.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path

from spine import checked_files

__all__ = ["added", "evict", "folder_size", "mark_used"]

#: after an eviction the folder holds at most this share of its limit
HEADROOM = 0.9

_totals: dict[tuple[str, str], int] = {}
_marked: set[str] = set()


def _entries(folder: Path, pattern: str) -> list[tuple[float, int, Path]]:
    found = []
    for path in Path(folder).glob(pattern) if Path(folder).is_dir() else ():
        with contextlib.suppress(OSError):
            st = path.stat()
            found.append((st.st_mtime, st.st_size, path))
    return found


def folder_size(folder: Path, pattern: str) -> int:
    """Bytes held by the entries of ``folder`` matching ``pattern`` (checksum files not counted)."""
    return sum(size for _, size, _ in _entries(folder, pattern))


def evict(folder: Path, pattern: str, target: int, keep: Path | None = None) -> tuple[int, int]:
    """Remove the least recently used entries until they hold <= ``target`` bytes; (removed, bytes left)."""
    entries = sorted(_entries(folder, pattern), key=lambda e: (e[0], str(e[2])))
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, path in entries:
        if total <= target:
            break
        if keep is not None and path == keep:
            continue
        checked_files.remove(path)
        _marked.discard(str(path))
        total -= size
        removed += 1
    return removed, total


def added(folder: Path, pattern: str, path: Path, limit: int) -> int:
    """Note that ``path`` (matching ``pattern`` under ``folder``) was just written; evict beyond ``limit``.

    Returns the entries removed. ``limit`` 0 means no limit."""
    if limit <= 0:
        return 0
    key = (str(folder), pattern)
    if key not in _totals:
        _totals[key] = folder_size(folder, pattern)  # includes the new entry
    else:
        with contextlib.suppress(OSError):
            _totals[key] += Path(path).stat().st_size
    if _totals[key] <= limit:
        return 0
    removed, _totals[key] = evict(folder, pattern, int(limit * HEADROOM), keep=Path(path))
    return removed


def mark_used(path: Path) -> None:
    """Record a read of a cache entry (its modification time, once per process) so eviction spares it."""
    key = str(path)
    if key in _marked:
        return
    _marked.add(key)
    with contextlib.suppress(OSError):
        verified = checked_files.is_verified(path)
        os.utime(path)
        if verified:
            checked_files.remember_verified(path)


def cached_pickle(path: Path, make, limit: int = 0, pattern: str = "*.pkl"):
    """The value pickled at ``path`` if it matches its checksum, else ``make()`` stored there.

    One mechanism for the small derived values kept on disk (validated plans, laid-out words):
    an unreadable or damaged entry is reported in one line and made again, never served; a folder
    that cannot be written is only slower; ``limit`` bytes (0: none) keeps the folder's ``pattern``
    entries within it, least recently used first out.
    """
    path = Path(path)
    if checked_files.verify(path):
        try:
            value = pickle.loads(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - an unreadable entry costs a new value, never a wrong one
            checked_files.discard(path, f"unreadable: {type(exc).__name__}")
        else:
            mark_used(path)
            return value
    value = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        checked_files.write_entry(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        return value  # a read-only cache folder: made every time
    added(path.parent, pattern, path, limit)
    return value
