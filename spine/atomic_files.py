"""The one way the project writes a file: whole or not at all.

:func:`atomic_write` writes to a temporary file in the same folder (or a scratch folder on the
same filesystem), then renames it over the target: a reader sees the old file or the new one,
never half of one, and a crash or a full disk leaves the old file as it was (the temporary file is
removed). Every output, cache entry, checksum, caption file and still goes through here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

__all__ = ["atomic_path", "atomic_write"]

#: permissions of a finished file (mkstemp makes them owner-only)
FILE_MODE = 0o644


@contextlib.contextmanager
def atomic_path(
    final: Path, *, scratch_dir: Path | None = None, prefix: str | None = None, suffix: str | None = None
) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to ``final``, on any failure deleted.

    ``scratch_dir`` must be on ``final``'s filesystem (default: ``final``'s folder, created if missing)."""
    final = Path(final)
    folder = Path(scratch_dir) if scratch_dir is not None else final.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=prefix if prefix is not None else f".tmp-{os.getpid()}-",
        suffix=suffix if suffix is not None else final.suffix,
        dir=folder,
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(
    final: Path, data: bytes | str | Callable[[IO[bytes]], object], *, scratch_dir: Path | None = None
) -> Path:
    """Write ``data`` (bytes, UTF-8 text with ``\\n`` line ends, or a function writing to a binary
    file) to ``final`` whole or not at all; returns ``final``."""
    with atomic_path(final, scratch_dir=scratch_dir) as tmp:
        with open(tmp, "wb") as fh:
            if isinstance(data, str):
                fh.write(data.encode("utf-8"))
            elif isinstance(data, (bytes, bytearray, memoryview)):
                fh.write(data)
            else:
                data(fh)
    return Path(final)
