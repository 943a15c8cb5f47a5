"""On-disk cache of anatomy line integrals (one ``.npy`` per model x pose x size).

The anatomy of a pose is the expensive part of a frame (hundreds of solids), and it does
not change while a needle advances or contrast spreads, so it is computed once and kept.
The key is the sha256 of: the source of the code that projects (:data:`PROJECTION_MODULES`),
the model's ``parameters_hash()``, the pose's geometry, the image size and any extra settings. Files are written atomically (a temporary
file in the same directory, then ``os.replace``) with a checksum beside them
(:mod:`spine.checked_files`): a damaged file is reported in one line and recomputed, never read.

Default directory: ``<repo>/.cache/fluoro``; override with the ``FLUORO_CACHE_DIR``
environment variable or the ``directory`` argument.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from pathlib import Path

import numpy as np

from spine import cache_limits, checked_files

__all__ = ["PROJECTION_MODULES", "AnatomyCache", "default_cache_dir", "cache_key", "projection_code_digest"]

REPO = Path(__file__).resolve().parents[2]

#: the modules whose code decides an anatomy line integral besides the geometry (which the
#: model's hash covers): the ray code and the materials' attenuation (projector), the layers
#: that call it, this key, and the chords of meshes and of the analytic solids
PROJECTION_MODULES = (
    "spine/imaging/projector.py",
    "spine/imaging/layers.py",
    "spine/imaging/cache.py",
    "spine/anatomy/mesh.py",
    "spine/anatomy/solids.py",
)


@functools.lru_cache(maxsize=1)
def projection_code_digest() -> str:
    """sha256 of :data:`PROJECTION_MODULES`' source: the key follows the code, so an edit to the
    projection or the materials never serves an old image and no version number is kept by hand."""
    h = hashlib.sha256(b"spine-fluoro-projection")
    for name in PROJECTION_MODULES:
        source = (REPO / name).read_bytes()
        h.update(f"{name}|{len(source)}|".encode())
        h.update(source)
    return h.hexdigest()


def default_cache_dir() -> Path:
    from spine.settings import settings

    return settings().fluoro_dir()  # SPINE_FLUORO_CACHE_DIR (or FLUORO_CACHE_DIR), else <SPINE_CACHE_DIR>/fluoro


def cache_key(model_hash: str, pose_key: dict, size: int, extra: dict | None = None) -> str:
    payload = {
        "code": projection_code_digest(),
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
        if not checked_files.verify(p):  # missing, or damaged (reported in one line, removed)
            return None
        try:
            array = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            checked_files.discard(p, f"unreadable: {type(exc).__name__}")
            return None  # recompute (and overwrite)
        cache_limits.mark_used(p)
        return array

    def store(self, key: str, array: np.ndarray) -> Path:
        """Write the array and its checksum (``<key>.npy.sha256``), each atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        from spine.settings import settings

        path = checked_files.write_entry(self.path(key), buffer.getvalue())
        cache_limits.added(self.directory, "*.npy", path, settings().fluoro_cache_limit)  # least recently used go
        return path
