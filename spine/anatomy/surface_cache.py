"""On-disk cache of the meshed bone surfaces, keyed by the hash of what each was made from.

Meshing every bone of the spine takes a few seconds (:mod:`spine.anatomy.surfaces`); the
meshes depend only on the parts' geometry and the code that shapes them, so each is
stored once as ``<key>.npz`` (vertices and faces of the surface and of its cancellous
core) and loaded on the next build. Files are written under a temporary name and renamed,
so a killed build never leaves a half file; an unreadable file is rebuilt.

The keys follow the code: every key includes :func:`shape_code_digest`, a digest of the source
of the modules that make the shapes (:data:`SHAPE_MODULES`), so any edit to a shape function
gives every mesh a new key and a stale bone is never served; nobody has to remember to bump a
version number. Unchanged code gives the same keys in every process (the digest is of the files'
bytes, read once per process, not of anything Python hashes with a per-process seed).

Where: ``$SPINE_ANATOMY_CACHE`` or ``.cache/anatomy`` in the checkout; ``SPINE_ANATOMY_CACHE=0``
turns the disk cache off. The folder may be deleted at any time.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from spine import cache_limits
from spine.atomic_files import atomic_write

__all__ = ["SHAPE_MODULES", "SurfaceCache", "shape_code_digest"]

_ROOT = Path(__file__).resolve().parents[2]

#: the modules (in ``spine/anatomy/``) whose code decides what a cached mesh looks like: the
#: distance functions and their blending (sdf, surfaces), the placed parts and the discs (bones,
#: solids, shapes), the meshing (meshing, mesh), the regions (levels) and which kinds are bone
#: (kinds); a test checks that every module of the package these import is listed
SHAPE_MODULES = (
    "bones.py",
    "kinds.py",
    "levels.py",
    "mesh.py",
    "meshing.py",
    "sdf.py",
    "shapes.py",
    "solids.py",
    "surfaces.py",
)
#: modules of sizes: their constants (upper-case names) enter the digest by value, not their text,
#: and the published numbers the tests compare with (``PUBLISHED_*``) not at all, so adding a
#: published measurement or a comment does not re-mesh every bone, and changing a size does
SHAPE_DATA_MODULES = ("morphometry.py",)


def _constants(module_file: str) -> bytes:
    """repr of a data module's upper-case constants, but the published reference numbers."""
    import importlib

    mod = importlib.import_module(f"spine.anatomy.{module_file.removesuffix('.py')}")
    names = sorted(n for n in vars(mod) if n.isupper() and not n.startswith("PUBLISHED"))
    return repr([(n, getattr(mod, n)) for n in names]).encode()


def _shape_sources() -> list[tuple[str, bytes]]:
    """(name, bytes) of every module in :data:`SHAPE_MODULES` (its source, line endings
    normalised, so a checkout with CRLF endings gives the same keys) and of every module in
    :data:`SHAPE_DATA_MODULES` (its constants' values)."""
    folder = Path(__file__).resolve().parent
    code = [(name, (folder / name).read_bytes().replace(b"\r\n", b"\n")) for name in SHAPE_MODULES]
    return code + [(name, _constants(name)) for name in SHAPE_DATA_MODULES]


@functools.cache
def shape_code_digest() -> str:
    """sha256 of the shape modules' source and sizes, read once per process: part of every mesh's cache
    key (:func:`spine.anatomy.surfaces._group_key`, ``_body_key``, the discs' keys)."""
    h = hashlib.sha256(b"spine-anatomy-shapes")
    for name, source in _shape_sources():
        h.update(f"{name}|{len(source)}|".encode())
        h.update(source)
    return h.hexdigest()


class SurfaceCache:
    def __init__(self, folder: Path | None):
        self.folder = folder
        self._memory: dict[str, tuple] = {}

    @classmethod
    def default(cls) -> "SurfaceCache":
        from spine.settings import settings

        return cls(settings().anatomy_dir())  # SPINE_ANATOMY_CACHE ("0": no disk cache)

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{key[:40]}.npz"

    def get(self, key: str):
        if key in self._memory:
            return self._memory[key]
        path = self._path(key)
        if path is None or not path.exists():
            return None
        try:
            with np.load(path) as z:
                got = (z["v"], z["f"], z["cv"] if "cv" in z else None, z["cf"] if "cf" in z else None)
        except Exception:  # unreadable (truncated by a crash of an older writer): rebuild it
            return None
        cache_limits.mark_used(path)
        self._memory[key] = got
        return got

    def put(self, key: str, value) -> None:
        self._memory[key] = value
        path = self._path(key)
        if path is None:
            return
        v, f, cv, cf = value
        arrays: dict[str, np.ndarray] = {"v": np.asarray(v, np.float64), "f": np.asarray(f, np.int32)}
        if cv is not None:
            arrays["cv"] = np.asarray(cv, np.float64)
            arrays["cf"] = np.asarray(cf, np.int32)
        try:
            atomic_write(path, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]  # numpy's stub
        except OSError:
            return  # a read-only checkout still works, it only rebuilds every time
        from spine.settings import settings

        cache_limits.added(path.parent, "*.npz", path, settings().anatomy_cache_limit)  # least recently used go

    #: lock files a meshing process claims its jobs with (:meth:`claim`): a fixed set, so they do
    #: not pile up as keys change; two keys sharing one only make a job wait or move on early
    LOCKS = 64

    @contextlib.contextmanager
    def claim(self, key: str, wait: bool = False) -> Iterator[bool]:
        """Hold the right to mesh ``key`` while the block runs: True if this process has it, False
        if another holds it now (``wait``: wait for it instead). Without a disk cache (or a folder
        we cannot write), nothing is shared: always True. The lock goes with the process, so a
        killed holder frees it."""
        if self.folder is None:
            yield True
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(
                self.folder / f"meshing-{zlib.crc32(key.encode()) % self.LOCKS:02d}.lock", os.O_CREAT | os.O_RDWR, 0o644
            )
        except OSError:
            yield True
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                held = True
            except BlockingIOError:
                held = False
            yield held
        finally:
            os.close(fd)  # and with it the lock

    def flush(self) -> None:
        """Nothing buffered: every put is written at once (kept for callers' symmetry)."""
