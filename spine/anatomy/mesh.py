"""Closed triangle meshes as solids of the spine model (:class:`MeshSolid`).

The smooth bone surfaces (:mod:`spine.anatomy.surfaces`) are watertight triangle meshes.
:class:`MeshSolid` gives them the interface of every other solid (``contains``,
``ray_interval``, ``chord_length``, ``surface_points``, ``bounding_box``,
``segment_inside_length``), so landmarks, the needle checks, the views and the fluoroscopy
read them like the convex solids.

Ray queries use Intel Embree through ``embreex`` (the BVH ray tracer trimesh also uses):
one pass finds each ray's nearest hit, and rays are re-cast from just beyond that hit
until none hits any more. A mesh is not convex, so a ray may enter and leave several
times; a hit *enters* where the ray runs against the face normal. Chords are summed per
closed mesh over its (enter, exit) pairs in order along the ray, so a ray that grazes an
edge and misses one crossing errs only over that short stretch, never by the distance to
the source (a plain sum of signed hit distances would).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from spine.anatomy.solids import Solid

__all__ = ["MeshSolid", "RayScene", "mesh_volume", "is_watertight"]

_EPS = 1e-3  # mm: how far past a hit the next pass starts
_GRID_MM = 0.3  # occupancy grid of contains()


class RayScene:
    """Several closed meshes in one Embree scene; multi-hit queries over all of them."""

    def __init__(self, meshes: list[tuple[np.ndarray, np.ndarray]]):
        from embreex import rtcore_scene as rtcs
        from embreex.mesh_construction import TriangleMesh

        self._meshes = [(np.asarray(v), np.asarray(f)) for v, f in meshes]
        self._scene = rtcs.EmbreeScene()
        self.count = 0
        for vertices, faces in meshes:
            tri = np.ascontiguousarray(np.asarray(vertices, np.float32)[np.asarray(faces)])
            TriangleMesh(self._scene, tri)
            self.count += 1

    # The Embree scene is a native object: it neither pickles nor deep-copies. It never changes
    # once built, so a deep copy (Manim copies mobjects that hold the model) is the scene itself,
    # and a pickle (scene checkpoints) carries the meshes and builds the scene again.
    def __deepcopy__(self, memo) -> "RayScene":
        return self

    def __reduce__(self):
        return RayScene, (self._meshes,)

    def hits(self, origins: np.ndarray, directions: np.ndarray, max_hits: int = 64):
        """Every crossing of unit-direction rays: (ray index, t (mm), geometry id, entering)."""
        o = np.ascontiguousarray(np.asarray(origins, np.float64))
        d = np.asarray(directions, np.float64)
        n = len(d)
        if n == 0 or self.count == 0:
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0), empty, np.zeros(0, bool)
        o = np.broadcast_to(o, d.shape)
        live = np.arange(n)
        t_base = np.zeros(n)
        cur = o.astype(np.float32)
        dirs = np.ascontiguousarray(d.astype(np.float32))
        rays, ts, geoms, enters = [], [], [], []
        for _ in range(max_hits):
            res = self._scene.run(np.ascontiguousarray(cur), np.ascontiguousarray(dirs[live]), output=1)
            gid = res["geomID"]
            hit = gid != -1
            if not hit.any():
                break
            idx = live[hit]
            tf = res["tfar"][hit].astype(np.float64)
            ng = res["Ng"][hit]
            # Embree's geometric normal is the outward normal of a counter-clockwise mesh
            enter = np.einsum("ij,ij->i", ng, dirs[idx]) < 0
            rays.append(idx)
            ts.append(t_base[idx] + tf)
            geoms.append(gid[hit].astype(np.int64))
            enters.append(enter)
            t_base[idx] += tf + _EPS
            live = idx
            cur = cur[hit] + dirs[idx] * (tf + _EPS)[:, None].astype(np.float32)
        if not rays:
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0), empty, np.zeros(0, bool)
        return np.concatenate(rays), np.concatenate(ts), np.concatenate(geoms), np.concatenate(enters)

    def chords_split(self, origins, directions, weights, extra_weights):
        """Two weighted chord sums from the same rays (e.g. all meshes, and the cores only),
        and which rays were doubtful: they crossed some closed mesh an odd number of times
        (a hit lost on an edge), so their sums may lack a stretch."""
        d = np.asarray(directions, float)
        ray, t, geom, enter = self.hits(origins, d)
        seg, gi, ri, bad = self._segments(len(d), ray, t, geom, enter, 0.0, np.inf)
        out = [
            np.bincount(ri, weights=seg * np.asarray(w, float)[gi], minlength=len(d)) for w in (weights, extra_weights)
        ]
        return out[0], out[1], bad

    def chords(self, origins, directions, weights=None, t_min=0.0, t_max=np.inf) -> np.ndarray:
        """Per ray: sum over meshes of ``weights[mesh] *`` length inside it within [t_min, t_max]
        (unit directions, t in mm)."""
        d = np.asarray(directions, float)
        n = len(d)
        ray, t, geom, enter = self.hits(origins, d)
        w = np.ones(self.count) if weights is None else np.asarray(weights, float)
        seg, gi, ri, _bad = self._segments(n, ray, t, geom, enter, t_min, t_max)
        return np.bincount(ri, weights=seg * w[gi], minlength=n)

    def _segments(self, n, ray, t, geom, enter, t_min, t_max):
        """Inside stretches: (length, mesh, ray) per stretch, and the rays with an odd count.

        The passes deliver each ray's hits in increasing t, so a stable sort by (ray, mesh)
        keeps them in order along the ray within each mesh.
        """
        if len(ray) == 0:
            return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(n, bool)
        g = max(self.count, 1)
        key = ray * g + geom
        order = np.argsort(key, kind="stable")
        key, t, enter = key[order], t[order], enter[order]
        same = key[:-1] == key[1:]
        pair = same & enter[:-1] & ~enter[1:]
        # the bounds: one pair for every ray, or one per ray (read at each hit's own ray)
        per_ray = np.ndim(t_min) or np.ndim(t_max)
        if per_ray:
            t_min = np.broadcast_to(np.asarray(t_min, float), (n,))[key // g]
            t_max = np.broadcast_to(np.asarray(t_max, float), (n,))[key // g]
        lo = np.clip(t[:-1], t_min[:-1] if per_ray else t_min, t_max[:-1] if per_ray else t_max)
        hi = np.clip(t[1:], t_min[:-1] if per_ray else t_min, t_max[:-1] if per_ray else t_max)
        seg = np.where(pair, np.maximum(hi - lo, 0.0), 0.0)
        k = key[:-1]
        # a ray that starts inside a mesh: its first crossing of that mesh is an exit
        first = np.ones(len(key), bool)
        first[1:] = ~same
        start_inside = first & ~enter
        if start_inside.any():
            low = t_min[start_inside] if per_ray else t_min
            high = t_max[start_inside] if per_ray else t_max
            extra = np.maximum(np.clip(t[start_inside], low, high) - np.maximum(low, 0.0), 0.0)
            seg = np.concatenate([seg, extra])
            k = np.concatenate([k, key[start_inside]])
        # odd number of crossings of one mesh: a hit lost on an edge
        starts = np.flatnonzero(np.r_[True, ~same])
        counts = np.diff(np.r_[starts, len(key)])
        bad = np.zeros(n, bool)
        bad[key[starts[counts % 2 == 1]] // g] = True
        return seg, k % g, k // g, bad


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    tri = np.asarray(vertices, float)[np.asarray(faces)]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)


def is_watertight(faces: np.ndarray) -> bool:
    """Every edge is shared by exactly two faces, in opposite directions (closed, oriented).

    Each directed edge is one integer (tail * n + head): no directed edge may occur twice, and
    every edge's reverse must occur (sorted arrays and a binary search, no Python loop)."""
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    if len(f) == 0:
        return False
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    n = int(f.max()) + 1
    fwd = np.sort(e[:, 0] * n + e[:, 1])
    if np.any(fwd[1:] == fwd[:-1]):
        return False
    rev = e[:, 1] * n + e[:, 0]
    at = np.minimum(np.searchsorted(fwd, rev), len(fwd) - 1)
    return bool(np.all(fwd[at] == rev))


_BUILT_ON_USE = frozenset({"_scene", "_occupancy", "_bbox"})


@dataclass(frozen=True, eq=False)
class MeshSolid(Solid):
    """A closed, outward-oriented triangle mesh (world coordinates, mm).

    ``center`` / ``rotation`` are the frame of the part it replaces (a vertebral body: the
    vertebra's frame), so code that reads a solid's centre or axes keeps working;
    ``radii`` / ``half_height`` are the part's nominal sizes (a body: half width, half depth
    and half height from the morphometry) where it has them. ``core`` is the cancellous
    core inside the cortical shell (a mesh of the same surface moved inwards), ``digest``
    a stable hash of how the mesh was made (it keys caches instead of the raw triangles).
    """

    vertices: np.ndarray = None  # type: ignore[assignment]
    faces: np.ndarray = None  # type: ignore[assignment]
    core: "MeshSolid | None" = None
    radii: np.ndarray | None = None
    half_height: float | None = None
    digest: str = ""

    def __post_init__(self):
        v = np.ascontiguousarray(np.asarray(self.vertices, float).reshape(-1, 3))
        f = np.ascontiguousarray(np.asarray(self.faces, np.int64).reshape(-1, 3))
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)
        c = v.mean(axis=0) if self.center is None else np.asarray(self.center, float).reshape(3)
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "rotation", np.asarray(self.rotation, float).reshape(3, 3))
        if self.radii is not None:
            object.__setattr__(self, "radii", np.asarray(self.radii, float))

    def __deepcopy__(self, memo) -> "MeshSolid":
        return self  # frozen: a copy would only cost memory (Manim deep-copies what holds the model)

    def __getstate__(self):
        state = dict(self.__dict__)
        for cached in ("_scene", "_occupancy"):  # rebuilt on first use after unpickling
            state.pop(cached, None)
        return state

    def derived_state(self) -> frozenset[str]:
        """What a digest of the solid's state leaves out: the caches built on first use (the ray
        scene, the occupancy grid, the bounding box), which a fresh or unpickled mesh has not
        built yet while one that was projected has; the triangles say what the solid is."""
        return _BUILT_ON_USE

    def __setstate__(self, state):
        self.__dict__.update(state)

    @cached_property
    def _scene(self) -> RayScene:
        return RayScene([(self.vertices, self.faces)])

    def fingerprint(self) -> str:
        if self.digest:
            return self.digest
        import hashlib

        h = hashlib.sha256(np.round(self.vertices, 4).tobytes())
        h.update(self.faces.tobytes())
        return h.hexdigest()

    # -- Solid interface ----------------------------------------------------------------
    @cached_property
    def _bbox(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def bounding_box(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._bbox
        return lo.copy(), hi.copy()

    @cached_property
    def _occupancy(self):
        """Inside/outside on a 0.3 mm grid: one multi-hit pass of rays along the grid's z
        columns, the parity of the crossings below each voxel centre."""
        lo, hi = self._bbox
        step = _GRID_MM
        lo = lo - step
        n = np.ceil((hi + step - lo) / step).astype(int) + 1
        xs, ys = lo[0] + step * np.arange(n[0]), lo[1] + step * np.arange(n[1])
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        o = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, lo[2] - 1.0)])
        d = np.tile([0.0, 0.0, 1.0], (len(o), 1))
        ray, t, _g, enter = self._scene.hits(o, d)
        zc = lo[2] + step * np.arange(n[2]) - (lo[2] - 1.0)  # t of each voxel centre
        # parity of crossings before each voxel centre
        inside = np.zeros((len(o), n[2]), bool)
        if len(ray):
            idx = np.searchsorted(zc, t)  # crossings before voxel k: t < zc[k]
            counts = np.zeros((len(o), n[2] + 1), np.int32)
            np.add.at(counts, (ray, np.minimum(idx, n[2])), 1)
            inside = (np.cumsum(counts, axis=1)[:, : n[2]] % 2) == 1
        return lo, step, inside.reshape(n[0], n[1], n[2])

    def contains(self, points) -> np.ndarray:
        """Inside or on the surface, from the occupancy grid (exact along z, within 0.15 mm
        across: finer than the meshes' own accuracy, ~0.2 mm from marching cubes)."""
        p = np.atleast_2d(np.asarray(points, float))
        lo, hi = self._bbox
        out = np.zeros(len(p), bool)
        cand = np.all((p >= lo - 1e-6) & (p <= hi + 1e-6), axis=1)
        if not cand.any():
            return out
        g0, step, occ = self._occupancy
        ci = np.nonzero(cand)[0]
        k = np.clip(np.rint((p[ci] - g0) / step).astype(int), 0, np.array(occ.shape) - 1)
        out[ci] = occ[k[:, 0], k[:, 1], k[:, 2]]
        return out

    def _exact_contains(self, q: np.ndarray) -> np.ndarray:
        votes = np.zeros(len(q), int)
        for direction in ((0.5773, 0.5774, 0.5773), (-0.6, 0.0001, 0.8), (0.0002, -0.8, -0.6)):
            d = np.tile(np.asarray(direction, float) / np.linalg.norm(direction), (len(q), 1))
            ray, _t, _g, _e = self._scene.hits(q, d)
            votes += np.bincount(ray, minlength=len(q)) % 2
        return votes >= 2

    def chord_length(self, origins, directions, t_min: float = 0.0, t_max: float = np.inf) -> np.ndarray:
        """Total length inside the mesh of each ray ``o + t d`` for t in [t_min, t_max]
        (sum over all its entry/exit intervals; t in units of the given direction)."""
        d = np.atleast_2d(np.asarray(directions, float))
        o = np.broadcast_to(np.asarray(origins, float), d.shape)
        norm = np.linalg.norm(d, axis=1)
        unit = d / np.maximum(norm, 1e-12)[:, None]
        lo = t_min * norm
        hi = np.where(np.isfinite(t_max), t_max * norm, np.inf)
        if len(lo) == 0 or (np.allclose(lo, lo[0]) and np.allclose(hi, hi[0])):
            return self._scene.chords(
                o, unit, t_min=float(lo[0]) if len(lo) else 0.0, t_max=float(hi[0]) if len(hi) else np.inf
            )
        return self._scene.chords(o, unit, t_min=lo, t_max=hi)  # each ray its own bounds

    def ray_interval(self, origins, directions) -> tuple[np.ndarray, np.ndarray]:
        """(first entry, last exit) along each (infinite) line, in units of the given direction;
        t_enter > t_exit where the line misses."""
        d = np.atleast_2d(np.asarray(directions, float))
        o = np.broadcast_to(np.asarray(origins, float), d.shape)
        norm = np.maximum(np.linalg.norm(d, axis=1), 1e-12)
        unit = d / norm[:, None]
        lo, hi = self.bounding_box()
        back = float(np.linalg.norm(hi - lo)) + float(np.max(np.linalg.norm(o - self.center, axis=1))) + 10.0
        ray, t, _g, _e = self._scene.hits(o - unit * back, unit)
        t = t - back
        t0 = np.full(len(d), np.inf)
        t1 = np.full(len(d), -np.inf)
        np.minimum.at(t0, ray, t)
        np.maximum.at(t1, ray, t)
        return t0 / norm, t1 / norm

    def surface_points(self, n: int = 24) -> np.ndarray:
        """Mesh vertices (all of them for n >= 24, an even subsample below)."""
        v = self.vertices
        target = max(64, int(n) * int(n) * 4)
        if len(v) <= target:
            return v
        step = int(np.ceil(len(v) / target))
        return v[::step]

    def scaled(self, factor: float) -> "MeshSolid":
        if self.core is not None and factor < 1.0:
            return self.core
        c = self.vertices.mean(axis=0)
        return MeshSolid(
            c + (self.vertices - c) * factor,
            self.faces,
            self.center,
            self.rotation,
            None,
            self.radii,
            self.half_height,
            self.digest + f"*{factor:.6f}",
        )

    @property
    def volume(self) -> float:
        return mesh_volume(self.vertices, self.faces)
