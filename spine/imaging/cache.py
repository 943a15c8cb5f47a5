"""On-disk cache of anatomy line integrals (one ``.npy`` per model x pose x size).

The anatomy of a pose is the expensive part of a frame (hundreds of solids), and it does
not change while a needle advances or contrast spreads, so it is computed once and kept.
The key is the sha256 of: the cache version, the model's ``parameters_hash()``, the pose's
geometry, the image size and any extra settings. Files are written atomically (a temporary
file in the same directory, then ``os.replace``), so a crashed or parallel render can never
leave a truncated file that a later run would read.

Default directory: ``<repo>/.cache/fluoro``; override with the ``FLUORO_CACHE_DIR``
environment variable or the ``directory`` argument.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["CACHE_VERSION", "AnatomyCache", "default_cache_dir", "cache_key"]

#: bump when the projection or the materials change, so old files are not reused
CACHE_VERSION = 2

REPO = Path(__file__).resolve().parents[2]


def default_cache_dir() -> Path:
    env = os.environ.get("FLUORO_CACHE_DIR")
    return Path(env) if env else REPO / ".cache" / "fluoro"


def cache_key(model_hash: str, pose_key: dict, size: int, extra: dict | None = None) -> str:
    payload = {
        "version": CACHE_VERSION,
        "model": model_hash,
        "pose": pose_key,
        "size": int(size),
        "extra": extra or {},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class AnatomyCache:
    """A directory of ``<key>.npy`` arrays."""

    def __init__(self, directory: Path | str | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.npy"

    def load(self, key: str) -> np.ndarray | None:
        p = self.path(key)
        if not p.exists():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (OSError, ValueError):
            return None  # unreadable: recompute (and overwrite)

    def store(self, key: str, array: np.ndarray) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.path(key)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key[:12]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return final
