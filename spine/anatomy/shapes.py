"""Extra convex solids the spine model needs on top of :mod:`spine.anatomy.solids`.

:class:`CutCylinder` is an elliptic cylinder whose two ends are cut by arbitrary planes.
It gives wedge-shaped discs between tilted endplates and tube pieces (canal, dural sac,
cord, epidural space) that meet along mitred planes, so a tube follows the curves of the
spine without gaps or overlaps. It implements the full :class:`~spine.anatomy.solids.Solid`
interface (``contains``, analytic ``ray_interval``, ``surface_points``, ``scaled``), so
every consumer (views, fluoroscopy, needle checks) treats it like the other solids.

:class:`Tube` is a smooth curved tube: a sphere of varying radius swept along a spline (the
nerve roots, with the ganglion's swelling in the foramen). It is the union of many short
capsules along the sampled curve, so its ray intervals, containment and distances are exact
and cost no meshing. :class:`SoftMesh` gives a closed triangle mesh of soft tissue (a
lens-shaped disc fitted to the endplates) the interface of the analytic solids, so views
treat it as soft tissue (depth-shaded, translucent where the style says) and the needle
checks as any other solid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
import weakref

import numpy as np

from spine.anatomy.solids import (
    Solid,
    _quadratic_interval,
    box_interval,
    elliptic_cylinder_interval,
    in_box,
    in_ellipse,
)

__all__ = ["CutCylinder", "ClippedBox", "Tube", "SoftMesh", "halfspace_interval", "smooth_path"]


def halfspace_interval(o: np.ndarray, d: np.ndarray, normal: np.ndarray, offset: float):
    """Interval of t where ``normal . (o + t d) <= offset`` (vectorised over rows)."""
    nd = d @ normal
    no = o @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (offset - no) / nd
    t0 = np.where(nd < 0, t, -np.inf)
    t1 = np.where(nd > 0, t, np.inf)
    parallel = np.abs(nd) < 1e-12
    outside = parallel & (no > offset + 1e-12)
    t0 = np.where(parallel, np.where(outside, np.inf, -np.inf), t0)
    t1 = np.where(parallel, np.where(outside, -np.inf, np.inf), t1)
    return t0, t1


@dataclass(frozen=True)
class CutCylinder(Solid):
    """Elliptic cylinder along local z (radii across local x, y) cut by two planes.

    ``top`` and ``bottom`` are ``(nx, ny, nz, c)`` in *local* coordinates: the solid keeps
    points ``q`` with ``n . q <= c``; ``top`` has ``nz > 0`` and ``bottom`` has ``nz < 0``.
    The planes must not meet inside the cylinder.
    """

    radii: np.ndarray = field(default_factory=lambda: np.ones(2))
    top: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0, 1.0]))
    bottom: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, -1.0, 1.0]))
    #: extra half-spaces ``(nx, ny, 0, c)`` (local, ``n . q <= c``) that flatten the elliptic
    #: section into a rounded triangle or a flat-fronted oval (the shape of the spinal canal)
    sides: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "radii", np.asarray(self.radii, dtype=float).reshape(2))
        sides = np.asarray(self.sides, dtype=float).reshape(-1, 4).copy()
        if len(sides):
            sides /= np.linalg.norm(sides[:, :3], axis=1, keepdims=True)
        object.__setattr__(self, "sides", sides)
        for name in ("top", "bottom"):
            plane = np.asarray(getattr(self, name), dtype=float).reshape(4).copy()
            norm = np.linalg.norm(plane[:3])
            plane /= norm
            object.__setattr__(self, name, plane)
        if not (self.top[2] > 1e-6 and self.bottom[2] < -1e-6):
            raise ValueError("CutCylinder: the top plane must face +z and the bottom plane -z")

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def slab(cls, center, rotation, radii, half_height: float) -> "CutCylinder":
        """Flat ends at local z = +-half_height (like :class:`Cylinder`)."""
        h = float(half_height)
        return cls(center, rotation, radii, np.array([0, 0, 1.0, h]), np.array([0, 0, -1.0, h]))

    @classmethod
    def between_planes(
        cls, center, rotation, radii, top_point, top_normal, bottom_point, bottom_normal, sides=None
    ) -> "CutCylinder":
        """Cut by world planes through ``top_point`` / ``bottom_point``.

        The normals may point either way; they are turned to face out of the solid.
        """
        center = np.asarray(center, float).reshape(3)
        rotation = np.asarray(rotation, float).reshape(3, 3)
        planes = []
        for point, normal, sign in ((top_point, top_normal, 1.0), (bottom_point, bottom_normal, -1.0)):
            n = np.asarray(normal, float) @ rotation  # to local
            n = n / np.linalg.norm(n)
            if np.sign(n[2]) != sign:
                n = -n
            q = (np.asarray(point, float) - center) @ rotation
            planes.append(np.append(n, float(n @ q)))
        extra = np.zeros((0, 4)) if sides is None else sides
        return cls(center, rotation, radii, planes[0], planes[1], extra)

    # -- Solid interface ----------------------------------------------------------------------
    def contains(self, points):
        q = self.to_local(points)
        inside = (
            in_ellipse(q, self.radii)
            & (q @ self.top[:3] <= self.top[3] + 1e-9)
            & (q @ self.bottom[:3] <= self.bottom[3] + 1e-9)
        )
        for plane in self.sides:
            inside &= q @ plane[:3] <= plane[3] + 1e-9
        return inside

    def ray_interval(self, origins, directions):
        o, d = self._local_rays(origins, directions)
        t0, t1 = elliptic_cylinder_interval(o, d, self.radii)
        for plane in (self.top, self.bottom, *self.sides):
            s0, s1 = halfspace_interval(o, d, plane[:3], plane[3])
            t0, t1 = np.maximum(t0, s0), np.minimum(t1, s1)
        return t0, t1

    def _z_on(self, plane, x, y):
        return (plane[3] - plane[0] * x - plane[1] * y) / plane[2]

    def surface_points(self, n: int = 24):
        u = np.linspace(0, 2 * np.pi, n, endpoint=False)
        x, y = np.cos(u) * self.radii[0], np.sin(u) * self.radii[1]
        for plane in self.sides:  # pull the ring in onto each flat side
            nxy = plane[:2]
            over = x * nxy[0] + y * nxy[1] - plane[3]
            k = np.where(over > 0, plane[3] / np.maximum(x * nxy[0] + y * nxy[1], 1e-12), 1.0)
            x, y = x * k, y * k
        zt, zb = self._z_on(self.top, x, y), self._z_on(self.bottom, x, y)
        mid = (zt + zb) / 2
        zt, zb = np.maximum(zt, mid), np.minimum(zb, mid)
        local = np.concatenate([np.column_stack([x, y, zt]), np.column_stack([x, y, mid]), np.column_stack([x, y, zb])])
        return self.to_world(local)

    def scaled(self, factor):
        f = float(factor)
        top = self.top.copy()
        bottom = self.bottom.copy()
        top[3] *= f
        bottom[3] *= f
        sides = self.sides.copy()
        sides[:, 3] *= f
        return CutCylinder(self.center, self.rotation, self.radii * f, top, bottom, sides)

    # -- helpers ------------------------------------------------------------------------------
    def axis_extent(self) -> tuple[float, float]:
        """(z_bottom, z_top) of the local axis (x = y = 0)."""
        return float(self._z_on(self.bottom, 0.0, 0.0)), float(self._z_on(self.top, 0.0, 0.0))


@dataclass(frozen=True)
class ClippedBox(Solid):
    """A box cut by one plane: the part of the box where ``n . q <= c``.

    ``half_sizes`` as for :class:`~spine.anatomy.solids.Box`; ``plane`` is ``(nx, ny, nz, c)``
    in the box's *local* coordinates (origin at ``center``). Used where a bone ends at an
    oblique joint surface (the sacrum's lateral masses at the sacroiliac joint).
    """

    half_sizes: np.ndarray = field(default_factory=lambda: np.ones(3))
    plane: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0, 1.0]))

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "half_sizes", np.asarray(self.half_sizes, dtype=float).reshape(3))
        plane = np.asarray(self.plane, dtype=float).reshape(4).copy()
        plane /= np.linalg.norm(plane[:3])
        object.__setattr__(self, "plane", plane)

    @classmethod
    def from_box(cls, box, point, normal) -> "ClippedBox":
        """``box`` minus the half-space on the side ``normal`` points to, from the world plane
        through ``point``."""
        n = np.asarray(normal, float) @ box.rotation
        n = n / np.linalg.norm(n)
        q = (np.asarray(point, float) - box.center) @ box.rotation
        return cls(box.center, box.rotation, box.half_sizes, np.append(n, float(n @ q)))

    def contains(self, points):
        q = self.to_local(points)
        return in_box(q, self.half_sizes) & (q @ self.plane[:3] <= self.plane[3] + 1e-9)

    def distance(self, points) -> np.ndarray:
        """A lower bound of the distance to the solid (exact where the nearest point lies on one
        face): the larger of the distances to the box and to the cutting plane's half-space."""
        q = self.to_local(points)
        d_box = np.linalg.norm(np.maximum(np.abs(q) - self.half_sizes, 0.0), axis=1)
        d_plane = np.maximum(q @ self.plane[:3] - self.plane[3], 0.0)
        return np.maximum(d_box, d_plane)

    def ray_interval(self, origins, directions):
        o, d = self._local_rays(origins, directions)
        t0, t1 = box_interval(o, d, self.half_sizes)
        s0, s1 = halfspace_interval(o, d, self.plane[:3], self.plane[3])
        return np.maximum(t0, s0), np.minimum(t1, s1)

    def _local_vertices(self) -> np.ndarray:
        h = self.half_sizes
        corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T * h
        n, c = self.plane[:3], self.plane[3]
        keep = corners[corners @ n <= c + 1e-9]
        cuts = []
        for i in range(8):
            for j in range(i + 1, 8):
                a, bb = corners[i], corners[j]
                if np.count_nonzero(np.abs(a - bb) > 1e-12) != 1:
                    continue  # not an edge
                fa, fb = a @ n - c, bb @ n - c
                if fa * fb < 0:
                    cuts.append(a + (bb - a) * (fa / (fa - fb)))
        pts = np.concatenate([keep, np.asarray(cuts).reshape(-1, 3)])
        return pts if len(pts) else np.zeros((1, 3))

    def surface_points(self, n: int = 24):
        return self.to_world(self._local_vertices())

    def scaled(self, factor):
        f = float(factor)
        plane = self.plane.copy()
        plane[3] *= f
        return ClippedBox(self.center, self.rotation, self.half_sizes * f, plane)


def smooth_path(points, spacing: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth curve through control points: (samples (M, 3), parameter of each control point
    as an index into the samples). A cubic spline over chord length (scipy), sampled about every
    ``spacing`` mm, passing through every control point."""
    from scipy.interpolate import CubicSpline

    p = np.asarray(points, float).reshape(-1, 3)
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    keep = np.r_[True, seg > 1e-6]
    p = p[keep]
    u = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]
    if len(p) < 3:
        n = max(2, int(np.ceil(u[-1] / spacing)) + 1)
        t = np.linspace(0.0, 1.0, n)
        return p[0] + t[:, None] * (p[-1] - p[0]), np.array([0, n - 1])
    spline = CubicSpline(u, p, bc_type="natural")
    # sample each span evenly so every control point is a sample
    ts, marks = [], [0]
    for a, c in zip(u[:-1], u[1:]):
        n = max(2, int(np.ceil((c - a) / spacing)))
        ts.append(np.linspace(a, c, n + 1)[:-1])
        marks.append(marks[-1] + n)
    ts.append(np.array([u[-1]]))
    return spline(np.concatenate(ts)), np.array(marks)


def _capsule_interval(o, d, a, axis, length, r):
    """Entry/exit of rays o + t d through the capsule from ``a`` along unit ``axis`` (length,
    radius ``r``); (inf, -inf) where they miss. Vectorised over rays."""
    w = o - a
    dd = np.einsum("ij,ij->i", d, d)
    da = d @ axis
    wa = w @ axis
    # infinite cylinder around the axis
    dp = d - da[:, None] * axis
    wp = w - wa[:, None] * axis
    qa = np.einsum("ij,ij->i", dp, dp)
    qb = np.einsum("ij,ij->i", wp, dp)
    qc = np.einsum("ij,ij->i", wp, wp) - r * r
    t0, t1 = _quadratic_interval(qa, qb, qc)
    # the slab 0 <= (w + t d) . axis <= length
    with np.errstate(divide="ignore", invalid="ignore"):
        sa, sb = -wa / da, (length - wa) / da
    s0, s1 = np.minimum(sa, sb), np.maximum(sa, sb)
    par = np.abs(da) < 1e-12
    inside = (wa >= 0) & (wa <= length)
    s0 = np.where(par, np.where(inside, -np.inf, np.inf), s0)
    s1 = np.where(par, np.where(inside, np.inf, -np.inf), s1)
    lo, hi = np.maximum(t0, s0), np.minimum(t1, s1)
    miss = lo > hi
    lo, hi = np.where(miss, np.inf, lo), np.where(miss, -np.inf, hi)
    for c in (a, a + axis * length):  # the two end spheres
        oc = o - c
        u0, u1 = _quadratic_interval(dd, np.einsum("ij,ij->i", oc, d), np.einsum("ij,ij->i", oc, oc) - r * r)
        lo, hi = np.minimum(lo, u0), np.maximum(hi, u1)
    return lo, hi


_TUBE_SURFACE_POINTS: dict[int, dict[int, np.ndarray]] = {}  # id(tube) -> sample count -> points


@dataclass(frozen=True, eq=False)
class Tube(Solid):
    """A smooth tube: spheres of radius ``radii[i]`` swept between consecutive ``points``
    (world mm), i.e. the union of capsules along a sampled curve (see :func:`smooth_path`).

    ``center`` is the middle sample; ``rotation``'s z axis runs from the first to the last
    point. ``endpoints`` and ``radius`` (the largest) are read like a :class:`Capsule`'s.
    """

    points: np.ndarray = None  # type: ignore[assignment]
    radii: np.ndarray = None  # type: ignore[assignment]

    @classmethod
    def along(cls, points, radii) -> "Tube":
        from spine.anatomy.solids import rotation_from_axes

        p = np.asarray(points, float).reshape(-1, 3)
        r = np.broadcast_to(np.asarray(radii, float), (len(p),)).copy()
        axis = p[-1] - p[0]
        rot = rotation_from_axes(axis if np.linalg.norm(axis) > 1e-9 else np.array([0, 0, 1.0]))
        return cls(p[len(p) // 2], rot, p, r)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "points", np.asarray(self.points, float).reshape(-1, 3))
        object.__setattr__(self, "radii", np.asarray(self.radii, float).reshape(-1))

    def __deepcopy__(self, memo) -> "Tube":
        return self  # frozen

    # segments: start, unit axis, length, radius (the larger of its two ends)
    def _segments(self):
        a = self.points[:-1]
        v = np.diff(self.points, axis=0)
        length = np.linalg.norm(v, axis=1)
        axis = v / np.maximum(length, 1e-12)[:, None]
        r = np.maximum(self.radii[:-1], self.radii[1:])
        return a, axis, length, r

    @property
    def endpoints(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points[0].copy(), self.points[-1].copy()

    @property
    def radius(self) -> float:
        return float(self.radii.max())

    def distance(self, points) -> np.ndarray:
        """Exact distance from each point to the tube's surface (0 inside)."""
        p = np.atleast_2d(np.asarray(points, float))
        best = np.full(len(p), np.inf)
        for a, axis, length, r in zip(*self._segments()):
            w = p - a
            t = np.clip(w @ axis, 0.0, length)
            best = np.minimum(best, np.linalg.norm(w - t[:, None] * axis, axis=1) - r)
        return np.maximum(best, 0.0)

    def contains(self, points):
        p = np.atleast_2d(np.asarray(points, float))
        inside = np.zeros(len(p), bool)
        for a, axis, length, r in zip(*self._segments()):
            w = p - a
            t = np.clip(w @ axis, 0.0, length)
            inside |= np.einsum("ij,ij->i", w - t[:, None] * axis, w - t[:, None] * axis) <= r * r + 1e-9
        return inside

    def ray_interval(self, origins, directions):
        from spine.anatomy.solids import _rays

        o, d = _rays(origins, directions)
        lo = np.full(len(d), np.inf)
        hi = np.full(len(d), -np.inf)
        # only the segments a ray can meet (the bounding sphere of each)
        for a, axis, length, r in zip(*self._segments()):
            lo_s, hi_s = _capsule_interval(o, d, a, axis, length, r)
            lo, hi = np.minimum(lo, lo_s), np.maximum(hi, hi_s)
        return lo, hi

    def surface_points(self, n: int = 24):
        # made once per sample count: the projector asks for them on every image (the tube is
        # frozen; kept beside it, not in it, since fingerprints read the fields)
        made = _TUBE_SURFACE_POINTS.get(id(self))
        if made is None:
            made = _TUBE_SURFACE_POINTS[id(self)] = {}
            weakref.finalize(self, _TUBE_SURFACE_POINTS.pop, id(self), None)
        if n not in made:
            made[n] = self._ring_points(n)
            made[n].setflags(write=False)
        return made[n]

    def _ring_points(self, n: int) -> np.ndarray:
        """A ring of points around every centre point, and the two end caps' tips."""
        u = np.linspace(0, 2 * np.pi, max(n // 2, 6), endpoint=False)
        v = np.gradient(self.points, axis=0)
        t = v / np.maximum(np.linalg.norm(v, axis=1), 1e-12)[:, None]
        helper = np.where((np.abs(t[:, 0]) < 0.9)[:, None], [1.0, 0, 0], [0, 1.0, 0])
        e1 = np.cross(t, helper)
        e1 /= np.linalg.norm(e1, axis=1)[:, None]
        e2 = np.cross(t, e1)
        ring = np.cos(u)[None, :, None] * e1[:, None, :] + np.sin(u)[None, :, None] * e2[:, None, :]
        out = self.points[:, None, :] + self.radii[:, None, None] * ring
        ends = [self.points[0] - t[0] * self.radii[0], self.points[-1] + t[-1] * self.radii[-1]]
        return np.concatenate([out.reshape(-1, 3), np.asarray(ends)])

    def bounding_box(self):
        r = self.radii[:, None]
        return (self.points - r).min(axis=0), (self.points + r).max(axis=0)

    def scaled(self, factor):
        f = float(factor)
        return Tube(self.center, self.rotation, self.center + (self.points - self.center) * f, self.radii * f)


@dataclass(frozen=True, eq=False)
class SoftMesh(Solid):
    """A closed mesh of soft tissue read like the analytic solids: ``ray_interval`` is the
    first entry and last exit, ``chord_length`` the exact sum of the inside stretches (the
    wrapped :class:`~spine.anatomy.mesh.MeshSolid` does the ray work through Embree)."""

    mesh: Any = None  # a MeshSolid

    def __deepcopy__(self, memo) -> "SoftMesh":
        return self  # frozen; the mesh holds a native ray scene

    def fingerprint(self) -> str:
        return "soft:" + self.mesh.fingerprint()

    def contains(self, points):
        return self.mesh.contains(points)

    def ray_interval(self, origins, directions):
        return self.mesh.ray_interval(origins, directions)

    def chord_length(self, origins, directions, t_min: float = 0.0, t_max: float = np.inf):
        return self.mesh.chord_length(origins, directions, t_min, t_max)

    def segment_inside_length(self, p0, p1) -> float:
        return self.mesh.segment_inside_length(p0, p1)

    def surface_points(self, n: int = 24):
        return self.mesh.surface_points(n)

    def bounding_box(self):
        return self.mesh.bounding_box()

    def scaled(self, factor):
        m = self.mesh
        c = m.vertices.mean(axis=0)
        return SoftMesh(self.center, self.rotation, m.scaled(factor) if factor >= 1.0 else _shrunk(m, factor, c))

    @property
    def vertices(self) -> np.ndarray:
        return self.mesh.vertices

    @property
    def faces(self) -> np.ndarray:
        return self.mesh.faces


def _shrunk(mesh, factor: float, c: np.ndarray):
    """The mesh scaled about its vertex centroid (MeshSolid.scaled below 1 returns its core)."""
    from spine.anatomy.mesh import MeshSolid

    return MeshSolid(
        center=mesh.center,
        rotation=mesh.rotation,
        vertices=c + (mesh.vertices - c) * factor,
        faces=mesh.faces,
        digest=mesh.digest + f"*{factor:.6f}",
    )
