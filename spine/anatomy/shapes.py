"""Extra convex solids the spine model needs on top of :mod:`spine.anatomy.solids`.

:class:`CutCylinder` is an elliptic cylinder whose two ends are cut by arbitrary planes.
It gives wedge-shaped discs between tilted endplates and tube pieces (canal, dural sac,
cord, epidural space) that meet along mitred planes, so a tube follows the curves of the
spine without gaps or overlaps. It implements the full :class:`~spine.anatomy.solids.Solid`
interface (``contains``, analytic ``ray_interval``, ``surface_points``, ``scaled``), so
every consumer (views, fluoroscopy, needle checks) treats it like the other solids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spine.anatomy.solids import Solid, _quadratic_interval, box_interval, in_box

__all__ = ["CutCylinder", "ClippedBox", "halfspace_interval"]


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

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "radii", np.asarray(self.radii, dtype=float).reshape(2))
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
        cls, center, rotation, radii, top_point, top_normal, bottom_point, bottom_normal
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
        return cls(center, rotation, radii, planes[0], planes[1])

    # -- Solid interface ----------------------------------------------------------------------
    def contains(self, points):
        q = self.to_local(points)
        r = (q[:, 0] / self.radii[0]) ** 2 + (q[:, 1] / self.radii[1]) ** 2
        return (
            (r <= 1.0 + 1e-9)
            & (q @ self.top[:3] <= self.top[3] + 1e-9)
            & (q @ self.bottom[:3] <= self.bottom[3] + 1e-9)
        )

    def ray_interval(self, origins, directions):
        o, d = self._local_rays(origins, directions)
        oxy, dxy = o[:, :2] / self.radii, d[:, :2] / self.radii
        a = np.einsum("ij,ij->i", dxy, dxy)
        b = np.einsum("ij,ij->i", oxy, dxy)
        c = np.einsum("ij,ij->i", oxy, oxy) - 1.0
        t0, t1 = _quadratic_interval(a, b, c)
        for plane in (self.top, self.bottom):
            s0, s1 = halfspace_interval(o, d, plane[:3], plane[3])
            t0, t1 = np.maximum(t0, s0), np.minimum(t1, s1)
        return t0, t1

    def _z_on(self, plane, x, y):
        return (plane[3] - plane[0] * x - plane[1] * y) / plane[2]

    def surface_points(self, n: int = 24):
        u = np.linspace(0, 2 * np.pi, n, endpoint=False)
        x, y = np.cos(u) * self.radii[0], np.sin(u) * self.radii[1]
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
        return CutCylinder(self.center, self.rotation, self.radii * f, top, bottom)

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
