"""A sampled signed-distance field turned into a closed, decimated triangle mesh.

:func:`mesh_field` runs marching cubes (scikit-image) on a field sampled on a grid, decimates
the result (fast-simplification, quadric error) while keeping it closed, and places it in
world coordinates. The bones (:mod:`spine.anatomy.surfaces`) and the discs
(:mod:`spine.anatomy.bones`) are both meshed here, so neither imports the other for it.
"""

from __future__ import annotations

import numpy as np

from spine.anatomy.mesh import is_watertight, mesh_volume
from spine.anatomy.sdf import SDF

__all__ = ["mesh_field"]


def mesh_field(
    field: np.ndarray,
    lo: np.ndarray,
    voxel: float,
    origin: np.ndarray,
    R: np.ndarray,
    shell_mm: float,
    clip: SDF | None = None,
    faces: int = 6000,
    thick: np.ndarray | None = None,
):
    """Marching cubes of a sampled field (and of its core at ``-shell_mm``), in world coordinates.

    Returns (vertices, faces, core_vertices, core_faces); the core is None where the bone is
    thinner than twice the shell.
    """
    from skimage import measure

    if clip is not None:
        # a clip only removes bone: where the field is more than two steps outside (no
        # neighbour's edge crosses the surface there) it changes nothing, so it is evaluated
        # only at the other nodes (most of a big bone's box is empty: the sacrum's, 4x cheaper)
        field = field.copy()
        near = np.flatnonzero(field.reshape(-1) < 2.0 * voxel)
        idx = np.column_stack(np.unravel_index(near, field.shape))
        q = lo + voxel * idx
        flat = field.reshape(-1)
        flat[near] = np.maximum(flat[near], clip(q @ R.T + origin).astype(np.float32))
    else:
        field = field.copy()
    # the border must be outside, so every surface is closed
    for axis in range(3):
        sl: list[slice | int] = [slice(None)] * 3
        for end in (0, -1):
            sl[axis] = end
            field[tuple(sl)] = np.maximum(field[tuple(sl)], voxel)

    def mc(level, extra=None):
        vol = field if extra is None else field + extra
        if vol.min() >= level:
            return None
        v, f, _n, _vals = measure.marching_cubes(vol, level=level, spacing=(voxel,) * 3)
        v, f = _simplify(v + lo, f, faces)
        if mesh_volume(v, f) < 0:
            f = f[:, ::-1]
        return np.ascontiguousarray(v @ R.T + origin), np.ascontiguousarray(f.astype(np.int64))

    outer = mc(0.0)
    if outer is None:
        raise ValueError("empty bone surface")
    core = mc(-shell_mm, thick) if shell_mm > 0 else None
    return outer[0], outer[1], (core[0] if core else None), (core[1] if core else None)


def _simplify(v: np.ndarray, f: np.ndarray, target_faces: int):
    """Quadric decimation to about ``target_faces``; keeps the mesh closed (else undecimated)."""
    v, f = _weld(v, f)
    if len(f) <= target_faces:
        return v, f
    import fast_simplification

    reduction = 1.0 - target_faces / len(f)
    for _attempt in range(3):
        try:
            v2, f2 = fast_simplification.simplify(v.astype(np.float32), f.astype(np.int32), target_reduction=reduction)
        except Exception:  # pragma: no cover - library failure: keep the full mesh
            return v, f
        v2, f2 = _weld(np.asarray(v2, float), np.asarray(f2, np.int64))
        if len(f2) and is_watertight(f2):
            return v2, f2
        reduction *= 0.8  # a collapse made an edge non-manifold: decimate less
    return v, f


def _weld(v: np.ndarray, f: np.ndarray):
    """Merge coincident vertices and drop degenerate / unused ones.

    Vertices are keyed by their position rounded to 1e-5 mm packed into one integer (a 1-D
    unique is several times faster than a unique of rows)."""
    key3 = np.round(v / 1e-5).astype(np.int64)
    key3 -= key3.min(axis=0)
    span = key3.max(axis=0) + 1
    if float(span[0]) * float(span[1]) * float(span[2]) < 9e18:
        key = (key3[:, 0] * span[1] + key3[:, 1]) * span[2] + key3[:, 2]
        _u, first, inv = np.unique(key, return_index=True, return_inverse=True)
    else:  # pragma: no cover - a mesh kilometres wide
        _u, first, inv = np.unique(key3, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    f = inv[f]
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f = f[keep]
    used = np.unique(f)
    remap = -np.ones(len(first), np.int64)
    remap[used] = np.arange(len(used))
    return v[first][used], remap[f]
