"""Convex solids: the geometric primitives the anatomy model is built from.

Every structure of the spine model (vertebral bodies, pedicles, discs, the dural sac,
nerve roots, ...) is one or more of these convex solids in patient coordinates:

* units are millimetres;
* ``x`` points to the patient's **left**, ``y`` points **posterior** (towards the back),
  ``z`` points **superior** (towards the head) -- the DICOM "LPS" convention.

The same solids feed every consumer, which is what keeps the views consistent:

* the illustrated views take silhouettes (:meth:`Solid.surface_points`, convex hull after
  projection) and axial sections (:meth:`Solid.contains` on a plane grid);
* the simulated fluoroscopy takes ray chord lengths (:meth:`Solid.ray_interval`);
* the needle validator takes :meth:`Solid.contains` and :meth:`Solid.signed_margin`.

All methods are vectorised over points / rays.
"""

from __future__ import annotations

import enum
import hashlib
from typing import Any
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Material",
    "solid_fingerprint",
    "Solid",
    "Ellipsoid",
    "Cylinder",
    "Capsule",
    "Box",
    "rotation_from_axes",
    "rotation_xyz",
    "Structure",
]


class Material(str, enum.Enum):
    """What a solid is made of, as far as x-rays and colours are concerned."""

    CORTICAL_BONE = "cortical_bone"
    CANCELLOUS_BONE = "cancellous_bone"
    DISC = "disc"
    SOFT_TISSUE = "soft_tissue"  # ligaments, muscle, fat
    NEURAL = "neural"  # cord, roots, CSF-filled dural sac (water-like)
    STEEL = "steel"
    CONTRAST = "contrast"  # iodinated contrast medium


def rotation_xyz(rx_deg: float = 0.0, ry_deg: float = 0.0, rz_deg: float = 0.0) -> np.ndarray:
    """Rotation matrix R = Rz @ Ry @ Rx (angles in degrees, right-handed)."""
    rx, ry, rz = np.radians([rx_deg, ry_deg, rz_deg])
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    mx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    my = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    mz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return mz @ my @ mx


#: a vector or matrix field: any array-like when built, a float ndarray after __post_init__
ArrayField = Any


def rotation_from_axes(z_axis: ArrayField, x_hint: ArrayField | None = None) -> np.ndarray:
    """Rotation whose local z axis is ``z_axis`` (columns are the local axes in world coords)."""
    z = np.asarray(z_axis, float)
    z = z / np.linalg.norm(z)
    hint = np.array([1.0, 0.0, 0.0]) if x_hint is None else np.asarray(x_hint, float)
    if abs(np.dot(hint, z)) > 0.95:
        hint = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([0.0, 0.0, 1.0])
    x = hint - np.dot(hint, z) * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.column_stack([x, y, z])


def _as_points(points) -> np.ndarray:
    return np.atleast_2d(np.asarray(points, dtype=float))


def _rays(origins, directions) -> tuple[np.ndarray, np.ndarray]:
    d = _as_points(directions)
    o = np.broadcast_to(np.asarray(origins, dtype=float), d.shape)
    return o, d


_MISS = (np.inf, -np.inf)


def _quadratic_interval(a, b, c):
    """Roots of a t^2 + 2 b t + c = 0 as (t0, t1); (inf, -inf) where there are none.

    Where ``a`` is ~0 (ray parallel to the quadric's open direction) the interval is the
    whole line if ``c <= 0`` (origin inside) and empty otherwise.
    """
    t0 = np.full(np.shape(a), np.inf)
    t1 = np.full(np.shape(a), -np.inf)
    flat = np.abs(a) < 1e-12
    inside_flat = flat & (c <= 0)
    t0[inside_flat], t1[inside_flat] = -np.inf, np.inf
    disc = b * b - a * c
    ok = (~flat) & (disc >= 0)
    sq = np.sqrt(np.where(ok, disc, 0.0))
    safe_a = np.where(ok, a, 1.0)
    t0[ok] = ((-b - sq) / safe_a)[ok]
    t1[ok] = ((-b + sq) / safe_a)[ok]
    return t0, t1


def in_ellipse(q, radii) -> np.ndarray:
    """Which local points ``q`` lie within the ellipse of ``radii`` across local x, y (the
    section of an elliptic cylinder along local z)."""
    r = (q[:, 0] / radii[0]) ** 2 + (q[:, 1] / radii[1]) ** 2
    return r <= 1.0 + 1e-9


def elliptic_cylinder_interval(o, d, radii):
    """(t0, t1) where the local rays ``o + t d`` lie inside the endless elliptic cylinder of
    ``radii`` across local x, y."""
    oxy, dxy = o[:, :2] / radii, d[:, :2] / radii
    a = np.einsum("ij,ij->i", dxy, dxy)
    b = np.einsum("ij,ij->i", oxy, dxy)
    c = np.einsum("ij,ij->i", oxy, oxy) - 1.0
    return _quadratic_interval(a, b, c)


@dataclass(frozen=True)
class Solid:
    """Base class of a convex solid with a local frame (``rotation`` columns = local axes)."""

    center: ArrayField
    rotation: ArrayField = field(default_factory=lambda: np.eye(3))

    def __post_init__(self):
        object.__setattr__(self, "center", np.asarray(self.center, dtype=float).reshape(3))
        object.__setattr__(self, "rotation", np.asarray(self.rotation, dtype=float).reshape(3, 3))

    # -- frames -----------------------------------------------------------------------
    def to_local(self, points) -> np.ndarray:
        return (_as_points(points) - self.center) @ self.rotation

    def to_world(self, local_points) -> np.ndarray:
        return _as_points(local_points) @ self.rotation.T + self.center

    def _local_rays(self, origins, directions):
        o, d = _rays(origins, directions)
        return (o - self.center) @ self.rotation, d @ self.rotation

    # -- interface every solid implements --------------------------------------------
    def contains(self, points) -> np.ndarray:
        """Boolean per point: inside or on the surface."""
        raise NotImplementedError

    def ray_interval(self, origins, directions) -> tuple[np.ndarray, np.ndarray]:
        """Parameters (t_enter, t_exit) where ray ``o + t d`` is inside; t_enter > t_exit = miss.

        ``directions`` need not be unit vectors: t is in units of the given direction.
        """
        raise NotImplementedError

    def surface_points(self, n: int = 24) -> np.ndarray:
        """Points on the surface (about n per circle) for silhouettes."""
        raise NotImplementedError

    def scaled(self, factor: float) -> "Solid":
        """The same solid shrunk/grown about its centre (used for cortical shells)."""
        raise NotImplementedError

    def bounding_box(self) -> tuple[np.ndarray, np.ndarray]:
        pts = self.surface_points(16)
        return pts.min(axis=0), pts.max(axis=0)

    # -- derived ------------------------------------------------------------------------
    def chord_length(self, origins, directions, t_min: float = 0.0, t_max: float = np.inf) -> np.ndarray:
        """Length of each ray's path inside the solid between t_min and t_max (unit directions)."""
        _, d = _rays(origins, directions)
        t0, t1 = self.ray_interval(origins, directions)
        lo = np.maximum(t0, t_min)
        hi = np.minimum(t1, t_max)
        return np.maximum(hi - lo, 0.0) * np.linalg.norm(d, axis=1)

    def segment_inside_length(self, p0, p1) -> float:
        """Length of the straight segment p0 -> p1 that lies inside the solid."""
        p0 = np.asarray(p0, float)
        d = np.asarray(p1, float) - p0
        return float(self.chord_length(p0, d[None, :], 0.0, 1.0)[0])

    def segment_intersects(self, p0, p1) -> bool:
        return self.segment_inside_length(p0, p1) > 1e-9


@dataclass(frozen=True)
class Ellipsoid(Solid):
    radii: ArrayField = field(default_factory=lambda: np.ones(3))

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "radii", np.asarray(self.radii, dtype=float).reshape(3))

    def contains(self, points):
        q = self.to_local(points) / self.radii
        return np.einsum("ij,ij->i", q, q) <= 1.0 + 1e-9

    def ray_interval(self, origins, directions):
        o, d = self._local_rays(origins, directions)
        o, d = o / self.radii, d / self.radii
        a = np.einsum("ij,ij->i", d, d)
        b = np.einsum("ij,ij->i", o, d)
        c = np.einsum("ij,ij->i", o, o) - 1.0
        return _quadratic_interval(a, b, c)

    def surface_points(self, n: int = 24):
        u = np.linspace(0, 2 * np.pi, n, endpoint=False)
        v = np.linspace(0, np.pi, max(n // 2, 3) + 1)
        uu, vv = np.meshgrid(u, v)
        local = np.stack([np.cos(uu) * np.sin(vv), np.sin(uu) * np.sin(vv), np.cos(vv)], axis=-1).reshape(-1, 3)
        return self.to_world(local * self.radii)

    def scaled(self, factor):
        return Ellipsoid(self.center, self.rotation, self.radii * factor)


@dataclass(frozen=True)
class Cylinder(Solid):
    """Elliptic cylinder: radii (a, b) across local x, y; ``half_height`` along local z."""

    radii: ArrayField = field(default_factory=lambda: np.ones(2))
    half_height: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "radii", np.asarray(self.radii, dtype=float).reshape(2))

    def contains(self, points):
        q = self.to_local(points)
        return in_ellipse(q, self.radii) & (np.abs(q[:, 2]) <= self.half_height + 1e-9)

    def ray_interval(self, origins, directions):
        o, d = self._local_rays(origins, directions)
        t0, t1 = elliptic_cylinder_interval(o, d, self.radii)
        s0, s1 = _slab(o[:, 2], d[:, 2], self.half_height)
        return np.maximum(t0, s0), np.minimum(t1, s1)

    def surface_points(self, n: int = 24):
        u = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ring = np.stack([np.cos(u) * self.radii[0], np.sin(u) * self.radii[1]], axis=-1)
        zs = np.linspace(-self.half_height, self.half_height, 3)
        local = np.concatenate([np.column_stack([ring, np.full(n, z)]) for z in zs])
        return self.to_world(local)

    def scaled(self, factor):
        return Cylinder(self.center, self.rotation, self.radii * factor, self.half_height * factor)


def in_box(local_points, half_sizes) -> np.ndarray:
    """Which local points lie in the axis-aligned box of ``half_sizes`` about the origin."""
    return np.all(np.abs(local_points) <= half_sizes + 1e-9, axis=1)


def box_interval(o, d, half_sizes) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit parameters of local rays through that box (slab method)."""
    t0 = np.full(len(d), -np.inf)
    t1 = np.full(len(d), np.inf)
    for k in range(3):
        s0, s1 = _slab(o[:, k], d[:, k], half_sizes[k])
        t0, t1 = np.maximum(t0, s0), np.minimum(t1, s1)
    return t0, t1


@dataclass(frozen=True)
class Box(Solid):
    half_sizes: ArrayField = field(default_factory=lambda: np.ones(3))

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "half_sizes", np.asarray(self.half_sizes, dtype=float).reshape(3))

    def contains(self, points):
        return in_box(self.to_local(points), self.half_sizes)

    def ray_interval(self, origins, directions):
        o, d = self._local_rays(origins, directions)
        return box_interval(o, d, self.half_sizes)

    def surface_points(self, n: int = 24):
        g = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
        return self.to_world(g * self.half_sizes)

    def scaled(self, factor):
        return Box(self.center, self.rotation, self.half_sizes * factor)


@dataclass(frozen=True)
class Capsule(Solid):
    """A cylinder of ``radius`` around the segment p0 -> p1 with hemispherical ends.

    Build it with :meth:`Capsule.between`; ``center``/``rotation`` are derived (local z =
    the segment's direction) and ``half_length`` is half the segment length.
    """

    radius: float = 1.0
    half_length: float = 0.0

    @classmethod
    def between(cls, p0, p1, radius: float) -> "Capsule":
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        axis = p1 - p0
        length = float(np.linalg.norm(axis))
        rot = rotation_from_axes(axis if length > 1e-9 else np.array([0, 0, 1.0]))
        return cls((p0 + p1) / 2, rot, float(radius), length / 2)

    @property
    def endpoints(self) -> tuple[np.ndarray, np.ndarray]:
        axis = self.rotation[:, 2] * self.half_length
        return self.center - axis, self.center + axis

    def contains(self, points):
        q = self.to_local(points)
        z = np.clip(q[:, 2], -self.half_length, self.half_length)
        dist2 = q[:, 0] ** 2 + q[:, 1] ** 2 + (q[:, 2] - z) ** 2
        return dist2 <= self.radius**2 + 1e-9

    def ray_interval(self, origins, directions):
        o, d = self._local_rays(origins, directions)
        r = self.radius
        # side of the cylinder, clipped to the segment's slab
        a = d[:, 0] ** 2 + d[:, 1] ** 2
        b = o[:, 0] * d[:, 0] + o[:, 1] * d[:, 1]
        c = o[:, 0] ** 2 + o[:, 1] ** 2 - r * r
        t0, t1 = _quadratic_interval(a, b, c)
        s0, s1 = _slab(o[:, 2], d[:, 2], self.half_length)
        lo, hi = np.maximum(t0, s0), np.minimum(t1, s1)
        lo, hi = np.where(lo <= hi, lo, np.inf), np.where(lo <= hi, hi, -np.inf)
        for zc in (-self.half_length, self.half_length):
            oc = o.copy()
            oc[:, 2] -= zc
            sa = np.einsum("ij,ij->i", d, d)
            sb = np.einsum("ij,ij->i", oc, d)
            sc = np.einsum("ij,ij->i", oc, oc) - r * r
            u0, u1 = _quadratic_interval(sa, sb, sc)
            lo, hi = np.minimum(lo, u0), np.maximum(hi, u1)
        return lo, hi

    def surface_points(self, n: int = 24):
        u = np.linspace(0, 2 * np.pi, n, endpoint=False)
        v = np.linspace(0, np.pi, max(n // 2, 3) + 1)
        uu, vv = np.meshgrid(u, v)
        sphere = np.stack([np.cos(uu) * np.sin(vv), np.sin(uu) * np.sin(vv), np.cos(vv)], axis=-1).reshape(-1, 3)
        sphere *= self.radius
        top = sphere[sphere[:, 2] >= 0] + [0, 0, self.half_length]
        bottom = sphere[sphere[:, 2] <= 0] - [0, 0, self.half_length]
        return self.to_world(np.concatenate([top, bottom]))

    def scaled(self, factor):
        return Capsule(self.center, self.rotation, self.radius * factor, self.half_length * factor)


def _slab(o, d, half):
    """Interval where |o + t d| <= half along one axis (vectorised)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (-half - o) / d
        tb = (half - o) / d
    s0 = np.minimum(ta, tb)
    s1 = np.maximum(ta, tb)
    parallel = np.abs(d) < 1e-12
    inside = np.abs(o) <= half
    s0 = np.where(parallel, np.where(inside, -np.inf, np.inf), s0)
    s1 = np.where(parallel, np.where(inside, np.inf, -np.inf), s1)
    return s0, s1


@dataclass(frozen=True)
class Structure:
    """One named piece of anatomy (or of equipment): a convex solid with a material.

    ``name`` is unique in the model, e.g. ``"L4.body"``, ``"L4.pedicle.left"``,
    ``"disc.L4-L5.nucleus"``, ``"dural_sac"``, ``"root.L4.left"``.
    ``level`` is the vertebra or interspace it belongs to (``"L4"``, ``"L4-L5"``) or None.
    ``kind`` is the part's type without level/side (``"body"``, ``"pedicle"``, ``"nucleus"``).
    Bone structures are imaged as a cortical shell of ``shell_mm`` around a cancellous core
    whose density is ``cancellous_density`` times a lumbar vertebral body's.
    """

    name: str
    kind: str
    material: Material
    solid: Solid
    level: str | None = None
    side: str | None = None  # "left" / "right" / None for midline structures
    shell_mm: float = 0.0
    cancellous_density: float = 1.0

    def digest_token(self) -> str:
        """What this structure is, in a short stable string (its fields and its solid's
        parameters): a scene's state digest names a structure by it, however many objects share
        it (a restored checkpoint holds copies where the scene held the model's own)."""
        h = hashlib.sha256(
            f"{self.name}|{self.kind}|{self.material.value}|{self.level}|{self.side}|"
            f"{self.shell_mm:.6f}|{self.cancellous_density:.6f}|{type(self.solid).__name__}".encode()
        )
        solid_fingerprint(h, self.solid)
        return h.hexdigest()[:32]

    def core(self) -> Solid | None:
        """The cancellous core inside the cortical shell, or None for non-shelled structures."""
        if self.shell_mm <= 0:
            return None
        own_core: Solid | None = getattr(self.solid, "core", None)
        if own_core is not None:
            return own_core  # a mesh with its own inner surface (constant shell)
        lo, hi = self.solid.bounding_box()
        size = float(np.min(hi - lo)) / 2
        factor = max(0.2, 1.0 - self.shell_mm / max(size, 1e-6))
        return self.solid.scaled(factor)


def solid_fingerprint(h, solid) -> None:
    """Feed a solid's parameters into hash ``h`` (a mesh: the hash of what it was made from)."""
    if hasattr(solid, "fingerprint"):
        h.update(solid.fingerprint().encode())
        return
    for key, value in sorted(vars(solid).items()):
        h.update(key.encode())
        h.update(np.round(np.asarray(value, dtype=float), 6).tobytes())
