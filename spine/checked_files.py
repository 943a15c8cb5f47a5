"""Cache files that carry their own checksum: a corrupt cache costs time, never correctness.

Every cache entry (beat segments, checkpoints, fluoroscopy line integrals, speech) is
written as two files, each renamed into place atomically: the entry and, beside it,
``<entry>.sha256`` holding ``sha256 <hex> <size>``. :func:`verify` reads the entry back
against it. An entry whose checksum is missing or different is reported in one line naming
the file (logger ``spine.cache``, on stderr), removed, and rebuilt by its owner. An entry
written from bytes in memory (:func:`write_entry`) has its checksum renamed into place first,
so a reader in another process never sees the entry before its checksum; a crash between the
two renames leaves a checksum without its entry, which is a miss. An entry an encoder wrote
to its path gets its checksum after (:func:`write_checksum`): a crash between leaves an entry
without a matching checksum, which is rebuilt.

Why a checksum file beside the entry rather than inside it: a beat segment must stay a
plain MP4 that ffmpeg joins, and a WAV or ``.npy`` a plain file the usual tools read.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from pathlib import Path

from spine.atomic_files import atomic_write

SUFFIX = ".sha256"
log = logging.getLogger("spine.cache")
if not log.handlers:  # one plain line on stderr, whatever the libraries do with the root logger
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)
    log.propagate = False
    log.setLevel(logging.WARNING)

# (path, size, mtime_ns) of entries verified in this process: each is hashed once per process.
_verified: set[tuple[str, int, int]] = set()


def checksum_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def digest_of(path: Path) -> tuple[str, int]:
    """(sha256 hex digest, size in bytes) of the file at ``path``, read once."""
    with open(path, "rb") as fh:
        # hashlib.file_digest (Python 3.11) reads in large blocks without Python-level chunk loops
        digest = hashlib.file_digest(fh, "sha256")
        size = fh.tell()
    return digest.hexdigest(), size


def is_verified(path: Path) -> bool:
    """True if the entry at ``path``, as it is now, was verified or written in this process."""
    try:
        st = Path(path).stat()
    except OSError:
        return False
    return (str(path), st.st_size, st.st_mtime_ns) in _verified


def remember_verified(path: Path) -> None:
    """Record the entry at ``path`` as verified as it is now (after its time of last use changed)."""
    with contextlib.suppress(OSError):
        st = Path(path).stat()
        _verified.add((str(path), st.st_size, st.st_mtime_ns))


def write_checksum(path: Path) -> None:
    """Record the checksum of the entry now at ``path`` (after it was renamed into place)."""
    path = Path(path)
    hexdigest, size = digest_of(path)
    atomic_write(checksum_path(path), f"sha256 {hexdigest} {size}\n")
    with contextlib.suppress(OSError):
        st = path.stat()
        _verified.add((str(path), st.st_size, st.st_mtime_ns))


def write_entry(path: Path, data: bytes) -> Path:
    """Write the checksum of ``data``, then ``data`` to ``path``, each atomically.

    The checksum goes first, so a process reading the cache at the same time (two workers of
    one render, two test processes sharing a cache) never finds the entry without its
    checksum and drops it as damaged; two processes writing the same entry write the same bytes.
    """
    path = Path(path)
    atomic_write(checksum_path(path), f"sha256 {hashlib.sha256(data).hexdigest()} {len(data)}\n")
    atomic_write(path, data)
    remember_verified(path)
    return path


def problem(path: Path) -> str | None:
    """None if the entry at ``path`` matches its checksum; else what is wrong (the entry exists)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return "missing"
    if (str(path), st.st_size, st.st_mtime_ns) in _verified:
        return None
    try:
        recorded = checksum_path(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return "it has no checksum"
    if len(recorded) != 3 or recorded[0] != "sha256":
        return "its checksum file is damaged"
    hexdigest, size = digest_of(path)
    if str(size) != recorded[2]:
        return f"{size} bytes, its checksum says {recorded[2]}"
    if hexdigest != recorded[1]:
        return "its sha256 differs from its checksum"
    _verified.add((str(path), st.st_size, st.st_mtime_ns))
    return None


def discard(path: Path, why: str) -> None:
    """Say in one line that the entry at ``path`` is damaged, and remove it (and its checksum)."""
    path = Path(path)
    log.warning(f"cache: {path} is damaged ({why}); rebuilding it")
    for p in (path, checksum_path(path)):
        with contextlib.suppress(OSError):
            p.unlink()


def verify(path: Path) -> bool:
    """True if ``path`` exists and matches its checksum; a damaged entry is reported and removed."""
    path = Path(path)
    if not path.is_file():
        return False
    why = problem(path)
    if why is None:
        return True
    discard(path, why)
    return False


def remove(path: Path) -> None:
    """Remove an entry and its checksum (cache pruning)."""
    for p in (Path(path), checksum_path(path)):
        with contextlib.suppress(OSError):
            p.unlink()
