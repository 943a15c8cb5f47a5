"""Contrast patterns: the 3D shape iodinated contrast takes for each confirmation.

Each pattern is a set of small CONTRAST solids (flattened ellipsoids for clouds, pools and
films, thin capsules for tubes and streaks) fitted to the anatomy model: its landmarks, the
nerve roots' paths, the facet joints' planes, the discs and the sacral canal. A pattern is a
volume, not a picture, so it projects right in every view (AP, lateral, obliques) and the
same volume could be drawn on the illustration. Every piece has a ``start`` and ``full``
progress: it begins to fill at ``start`` and reaches its full size at ``full``, so
``pattern.at(progress)`` for progress 0..1 is the contrast spreading from the needle tip.
``pattern.density(progress)`` is the concentration factor (1, except for the vascular
pattern: undiluted contrast in a vessel, which then washes out).

Patterns (clinical.md section 3; names for :func:`contrast_pattern`, the procedure data's
names in :data:`spine.procedures.schema.CONTRAST_PATTERNS` are accepted too):

* ``epidurogram`` -- interlaminar: a one-sided dorsal epidural cloud from the midline to the
  medial pedicle line, ~1.3 levels up and ~0.9 down (one-sided in 84 %); on AP it lies beside
  the spinous processes, on LAT it is a thin dorsal stripe, on the contralateral oblique it
  runs along the ventral laminar margin.
* ``transforaminal`` -- the exiting root's sleeve: a curved tube along the root running
  caudolaterally from the tip, and medial flow under the pedicle into the ventral epidural
  space along the back of the body.
* ``selective_root`` -- selective nerve root block: the one root outlined just outside the
  foramen, with no epidural spread (spread into the epidural space makes the block
  non-selective).
* ``caudal`` -- from the hiatus up the sacral canal into the lumbar epidural space ("smoke up a
  chimney" on LAT), and out along the sacral roots through their foramina on both sides (the
  "Christmas tree" on AP).
* ``facet_arthrogram`` -- a thin crescent along the facet joint line with its superior and
  inferior recesses bulging beyond the joint's ends.
* ``si_arthrogram`` -- the sacroiliac joint line, filling from its inferior end.
* ``nucleogram`` -- discography, healthy disc: compact, bilobed filling of the nucleus.
* ``fissured_disc`` -- discography, degenerated disc: an irregular nucleus with a radial
  fissure running posterolaterally to the outer annulus and dye spreading along it.
* ``vascular`` -- the warning: fast, dark, branching streaks from the needle tip (a radicular
  artery to the anterior spinal artery's hairpin, segmental branches) that wash out.
* ``target_spot`` -- medial branch block: a small blot (a few tenths of a mL) staying on the
  bone at the target (SAP-TP junction, the groove; the articular pillar in the neck).
* ``cement`` -- vertebroplasty: bone cement filling the front of the body from the tip,
  out of its back quarter (cement is radio-opaque, so it is drawn like contrast).

Sources: clinical.md 3.1-3.8 (Furman's atlas; Korean J Pain 2006;19:175 for the root
sleeve; Stojanovic, Spine 2002 and Pain Physician 2004;7:77 for the epidurogram; the SIS
guidelines, Bogduk 2013, for the medial branch block's contrast check).
"""

from __future__ import annotations

import itertools
import math
import zlib
from typing import Callable
from dataclasses import dataclass, field

import numpy as np

from spine.anatomy.solids import (
    Capsule,
    Cylinder,
    Ellipsoid,
    Material,
    Structure,
    rotation_from_axes,
)

__all__ = [
    "ALIASES",
    "PATTERNS",
    "ContrastPattern",
    "ContrastPiece",
    "combined",
    "contrast_pattern",
    "neighbour_interspace",
]


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass(frozen=True)
class ContrastPiece:
    """One blob or streak. ``shape`` "ellipsoid": centre, rotation, radii; "capsule" (round ends)
    or "cylinder" (flat ends, for pieces of a tube): p0, p1, radius.

    A capsule or cylinder fills from ``p0`` toward ``p1``; an ellipsoid swells from its centre.
    """

    shape: str
    a: tuple  # centre (ellipsoid) or p0 (capsule)
    b: tuple  # radii (ellipsoid) or p1 (capsule)
    radius: float = 0.0
    rotation: tuple = ((1.0, 0, 0), (0, 1.0, 0), (0, 0, 1.0))
    start: float = 0.0
    full: float = 1.0

    def fill(self, progress: float) -> float:
        if progress <= self.start:
            return 0.0
        return float(_smooth((progress - self.start) / max(self.full - self.start, 1e-6)))

    def solid(self, progress: float):
        g = self.fill(progress)
        if g <= 0.02:
            return None
        if self.shape == "ellipsoid":
            radii = np.asarray(self.b) * (0.35 + 0.65 * g)
            return Ellipsoid(np.asarray(self.a), np.asarray(self.rotation), radii)
        p0, p1 = np.asarray(self.a), np.asarray(self.b)
        if self.shape == "cylinder":
            length = float(np.linalg.norm(p1 - p0)) * g
            if length < 1e-6:
                return None
            axis = (p1 - p0) / np.linalg.norm(p1 - p0)
            return Cylinder(p0 + axis * length / 2, rotation_from_axes(axis), (self.radius, self.radius), length / 2)
        return Capsule.between(p0, p0 + (p1 - p0) * g, self.radius)


@dataclass(frozen=True)
class ContrastPattern:
    """A named contrast pattern at a level; ``at(progress)`` gives its CONTRAST structures."""

    name: str
    level: str
    side: str | None
    pieces: tuple[ContrastPiece, ...]
    washout: tuple[float, float] | None = None  # (begin, end) progress of washing out
    origin: tuple = field(default=(0.0, 0.0, 0.0))  # where the contrast comes in (needle tip)
    peak_density: float = 1.0  # concentration relative to contrast mixed with tissue fluid

    def at(self, progress: float) -> list[Structure]:
        out = []
        for i, piece in enumerate(self.pieces):
            solid = piece.solid(progress)
            if solid is not None:
                out.append(
                    Structure(
                        f"contrast.{self.name}.{i}",
                        "contrast",
                        Material.CONTRAST,
                        solid,
                        level=self.level,
                        side=self.side,
                    )
                )
        return out

    def density(self, progress: float) -> float:
        """Concentration factor: 1 for dye in tissue; a vascular pattern's undiluted contrast
        (``peak_density``) falls to 0 while it washes out."""
        if self.washout is None:
            return 1.0
        b, e = self.washout
        return float(self.peak_density * (1.0 - _smooth((progress - b) / max(e - b, 1e-6))))


# -- reading the model ------------------------------------------------------------------------
_MISSING = (KeyError, ValueError, LookupError, AttributeError, NotImplementedError, TypeError)


class _Anatomy:
    """Landmarks, frames and structures of the model, with the few fallbacks the patterns need."""

    def __init__(self, model):
        self.model = model

    def lm(self, level, name, side=None) -> np.ndarray:
        return np.asarray(
            self.model.landmark(level, name, side) if side else self.model.landmark(level, name), dtype=float
        )

    def try_lm(self, level, name, side=None):
        try:
            return self.lm(level, name, side)
        except _MISSING:
            return None

    def region_axes(self, level, name, side=None):
        """Columns of the landmark's target region (e.g. the facet joint's normal, e1, e2)."""
        try:
            region = self.model.landmark_region(level, name, side)
            return np.asarray(region.rotation, float)
        except _MISSING:
            return None

    def frame(self, vertebra) -> tuple[np.ndarray, np.ndarray]:
        o, r = self.model.vertebra_frame(vertebra)
        return np.asarray(o, float), np.asarray(r, float)

    def space_frame(self, space) -> tuple[np.ndarray, np.ndarray]:
        try:
            o, r = self.model.interspace_frame(space)
            return np.asarray(o, float), np.asarray(r, float)
        except _MISSING:
            upper, _lower = _split(space)
            return self.frame(upper)

    def structure(self, name) -> Structure | None:
        try:
            return self.model.structure(name)
        except _MISSING:
            return None

    def structures(self, levels=None, kinds=None) -> list[Structure]:
        try:
            return list(self.model.structures(levels=levels, kinds=kinds))
        except TypeError:
            out = list(self.model.structures())
            if levels is not None:
                out = [s for s in out if s.level in levels]
            if kinds is not None:
                out = [s for s in out if s.kind in kinds]
            return out

    def find(self, kinds, level=None, side=None, name_has=None) -> Structure | None:
        for s in self.structures(kinds=list(kinds)):
            if level is not None and s.level != level:
                continue
            if side is not None and s.side not in (side, None):
                continue
            if name_has is not None and name_has not in s.name:
                continue
            return s
        return None


def _side_sign(side: str | None) -> float:
    return 1.0 if side == "left" else -1.0  # x = patient's left


def _rng(*parts) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("|".join(map(str, parts)).encode()))


def _split(level: str) -> tuple[str, str]:
    from spine.anatomy.levels import interspace

    sp = interspace(level)
    return sp.upper, sp.lower


def neighbour_interspace(level: str, step: int) -> str | None:
    """The interspace ``step`` levels up (+1 = cranial) or down (-1) from ``level``; None past the ends."""
    from spine.anatomy.levels import INTERSPACES

    if level not in INTERSPACES:
        return None
    i = INTERSPACES.index(level) - step
    return INTERSPACES[i] if 0 <= i < len(INTERSPACES) else None


_neighbour_interspace = neighbour_interspace


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else v


def _flat_rotation(normal, up) -> np.ndarray:
    """Rotation with local z = ``normal`` and local y close to ``up`` (so radii are (lat, up, thin))."""
    n = _unit(normal)
    u = np.asarray(up, float) - np.dot(up, n) * n
    u = _unit(u)
    x = np.cross(u, n)
    return np.column_stack([x, u, n])


def _tup(a) -> tuple:
    return tuple(float(v) for v in np.asarray(a).reshape(-1))


def _rot(r) -> tuple:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(r))


def _ellipsoid(centre, rotation, radii, start, full) -> ContrastPiece:
    return ContrastPiece(
        "ellipsoid", _tup(centre), _tup(radii), rotation=_rot(rotation), start=float(start), full=float(full)
    )


def _capsule(p0, p1, radius, start, full) -> ContrastPiece:
    return ContrastPiece("capsule", _tup(p0), _tup(p1), radius=float(radius), start=float(start), full=float(full))


def _march(solid, start, direction, step=0.5, max_len=45.0) -> float:
    """Distance from ``start`` along ``direction`` to where ``solid`` ends (``contains`` only,
    so it works for any solid the model is built from)."""
    d = _unit(direction)
    ts = np.arange(0.0, max_len + step, step)
    inside = np.asarray(solid.contains(np.asarray(start, float)[None, :] + ts[:, None] * d[None, :]), bool)
    if not inside[0]:
        return 0.0
    out = np.nonzero(~inside)[0]
    return float(ts[out[0]] - step / 2) if len(out) else float(max_len)


# -- paths: tubes along curves ----------------------------------------------------------------
def _resample(points, n: int) -> np.ndarray:
    """``n`` points evenly spaced along a polyline."""
    pts = np.asarray(points, float)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if cum[-1] <= 1e-9:
        return np.repeat(pts[:1], n, axis=0)
    s = np.linspace(0.0, cum[-1], n)
    return np.column_stack([np.interp(s, cum, pts[:, k]) for k in range(3)])


def _chaikin(points, rounds: int = 3) -> np.ndarray:
    """Corner cutting: a smooth curve through a polyline's shape, ends kept."""
    pts = np.asarray(points, float)
    for _ in range(rounds):
        if len(pts) < 3:
            break
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * len(q), 3))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid[1:-1], pts[-1:]])
    return pts


def _length(points) -> float:
    return float(np.linalg.norm(np.diff(np.asarray(points, float), axis=0), axis=1).sum())


def _frames_along(path: np.ndarray, hint) -> list[tuple[np.ndarray, np.ndarray]]:
    """A rotation-minimising frame (e1, e2) at each point of a path, e1 starting near ``hint``."""
    tangents = np.gradient(path, axis=0)
    tangents = np.array([_unit(t) for t in tangents])
    e1 = np.asarray(hint, float) - np.dot(hint, tangents[0]) * tangents[0]
    if np.linalg.norm(e1) < 1e-6:
        e1 = np.cross(tangents[0], [1.0, 0.0, 0.0])
    e1 = _unit(e1)
    out = []
    for t in tangents:
        e1 = _unit(e1 - np.dot(e1, t) * t)
        out.append((e1, np.cross(t, e1)))
    return out


def _tube(path, radius, t0: float, t1: float, taper: float = 0.0, segment_mm: float = 3.0) -> list[ContrastPiece]:
    """Flat-ended cylinders along a path that fill one after another from its first point (the
    dye front moving along it between progress ``t0`` and ``t1``); the radius shrinks by
    ``taper``. Cylinders abut without overlapping (capsules would double the dye at every
    joint, and the tube would look like a string of beads)."""
    path = np.asarray(path, float)
    n = max(2, math.ceil(_length(path) / segment_mm) + 1)
    pts = _resample(path, n)
    pieces = []
    for i in range(n - 1):
        f = i / (n - 1)
        s = t0 + (t1 - t0) * f * 0.8
        pieces.append(
            ContrastPiece(
                "cylinder",
                _tup(pts[i]),
                _tup(pts[i + 1]),
                radius=float(radius * (1.0 - taper * f)),
                start=float(s),
                full=float(s + (t1 - t0) * 0.25),
            )
        )
    return pieces


# -- the nerve roots --------------------------------------------------------------------------
def _root_path(an: _Anatomy, root: str, side: str) -> tuple[np.ndarray, float] | None:
    """The root's course from the sac out (medial to lateral), smoothed, and its radius: from
    the model's root structures (``root.L4.right`` to the foramen, ``.extraforaminal`` beyond)."""
    pts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    radii: list[float] = []
    for suffix in ("", ".extraforaminal"):
        s = an.structure(f"root.{root}.{side}{suffix}")
        if s is None:
            continue
        solid = s.solid
        if hasattr(solid, "points") and hasattr(solid, "radii"):  # a curved tube: along its own course
            course = np.asarray(solid.points, float)
            a, b = course[0], course[-1]
            radii.append(float(np.mean(solid.radii)))
            pts.append((a, b, course))
            continue
        if isinstance(solid, Capsule):
            a, b = solid.endpoints
            radii.append(float(solid.radius))
        else:  # any other solid: its long axis through the bounding box
            lo, hi = solid.bounding_box()
            c = (lo + hi) / 2
            axis = (
                np.asarray(solid.rotation, float)[:, int(np.argmax(hi - lo))] if hasattr(solid, "rotation") else hi - lo
            )
            half = float(np.max(hi - lo)) / 2
            a, b = c - _unit(axis) * half, c + _unit(axis) * half
            radii.append(float(np.sort(hi - lo)[0]) / 2)
        pts.append((np.asarray(a, float), np.asarray(b, float), None))
    if not pts:
        return None
    sgn = _side_sign(side)
    ordered = []
    for a, b, along in pts:  # each piece from its medial to its lateral end
        if a[0] * sgn > b[0] * sgn:
            a, b = b, a
            along = None if along is None else along[::-1]
        ordered.append(list(along) if along is not None else [a, b])
    chain = list(ordered[0])
    for piece in ordered[1:]:
        chain += piece if np.linalg.norm(piece[0] - chain[-1]) > 1.0 else piece[1:]
    if len(chain) > 8:  # already a smooth course
        return np.array(chain), float(np.mean(radii))
    return _chaikin(np.array(chain), 3), float(np.mean(radii))


def _from_point(path: np.ndarray, p: np.ndarray) -> tuple[int, np.ndarray]:
    """Index of the path point nearest ``p``, and that point."""
    k = int(np.argmin(np.linalg.norm(path - p, axis=1)))
    return k, path[k]


def _extend(path: np.ndarray, mm: float, bend=None) -> np.ndarray:
    """The path continued ``mm`` past its end, curving toward ``bend`` (a direction) from the start."""
    d = _unit(path[-1] - path[-2])
    d2 = _unit(d + np.asarray(bend, float)) if bend is not None else d
    d1 = _unit(d + d2)
    a = path[-1] + d1 * mm * 0.35
    return np.vstack([path, a, a + d2 * mm * 0.65])


def _clip_length(path: np.ndarray, mm: float) -> np.ndarray:
    """The first ``mm`` of a path."""
    path = np.asarray(path, float)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    if cum[-1] <= mm:
        return path
    k = int(np.searchsorted(cum, mm))
    f = (mm - cum[k - 1]) / max(cum[k] - cum[k - 1], 1e-9)
    return np.vstack([path[:k], path[k - 1] + (path[k] - path[k - 1]) * f])


#: how the exiting root runs beyond the foramen, as the sleeve follows it: (how strongly it
#: turns down, mm of root outlined). Lumbar roots turn down into the psoas toward the plexus;
#: thoracic ones run out under their rib (the intercostal nerve); cervical ones down and out
#: in the gutter of the transverse process (Furman's atlas; clinical.md 3.2, 4).
ROOT_COURSE = {"cervical": (0.5, 26.0), "thoracic": (0.15, 32.0), "lumbar": (2.0, 42.0), "sacral": (2.0, 42.0)}


def _root_course(level: str) -> tuple[float, float]:
    from spine.anatomy.levels import region_of

    return ROOT_COURSE.get(region_of(_root_for(level)), ROOT_COURSE["lumbar"])


def _root_for(level: str) -> str:
    from spine.anatomy.levels import exiting_root

    return str(exiting_root(level))


# -- the patterns ---------------------------------------------------------------------------------
def _epidural_point(an: _Anatomy, level: str) -> np.ndarray | None:
    """Midline point of the dorsal epidural space at a vertebra or interspace."""
    p = an.try_lm(level, "epidural_space")
    if p is not None:
        return p
    if "-" in level:
        w = an.try_lm(level, "interlaminar_window")
        if w is not None:
            upper, _ = _split(level)
            return w - an.frame(upper)[1][:, 1] * 2.5
    return None


def _canal_half_width(an: _Anatomy, level: str, side: str) -> float:
    """Midline to the medial pedicle line (mm): how far the epidural cloud spreads sideways."""
    upper = _split(level)[0] if "-" in level else level
    o, r = an.frame(upper)
    ped = an.try_lm(upper, "pedicle", side)
    ped_s = an.structure(f"{upper}.pedicle.{side}")
    if ped is not None:
        x = abs(float(np.dot(ped - o, r[:, 0])))
        half_w = 4.0
        if ped_s is not None:
            lo, hi = ped_s.solid.bounding_box()
            half_w = float(min(abs(np.dot(hi - lo, r[:, 0])) / 2, 6.0))
        return max(6.0, x - half_w)
    return 10.0


def epidurogram(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """One-sided dorsal epidural cloud: ~1.3 levels up, ~0.9 down (84 % one-sided) [clinical 3.1].

    It fills the dorsal epidural space of the injected side: from the midline out to the
    medial pedicle line, a few mm deep behind the dura, thicker near the midline (the space is
    a triangle in the axial section), with lobulated edges, and a little over the midline near
    the tip. So on AP it lies beside the spinous processes, on LAT it is a thin dorsal stripe
    along the back of the canal and on the contralateral oblique a line along the laminae."""
    an = _Anatomy(model)
    upper, lower = _split(level)
    stations = {}
    for step, name in (
        (-1.0, _neighbour_interspace(level, -1)),
        (-0.5, lower),
        (0.0, level),
        (0.5, upper),
        (1.0, _neighbour_interspace(level, 1)),
        (1.5, None),
    ):
        if name is None:
            continue
        p = _epidural_point(an, name)
        if p is not None:
            stations[step] = p
    above = _neighbour_interspace(level, 1)
    if above is not None:
        p = _epidural_point(an, _split(above)[0])
        if p is not None:
            stations[1.5] = p
    keys = sorted(stations)
    origin = np.asarray(tip, float) if tip is not None else stations[0.0]

    def along(s: float) -> np.ndarray:
        s = float(np.clip(s, keys[0], keys[-1]))
        for a, b in itertools.pairwise(keys):
            if a <= s <= b:
                f = (s - a) / (b - a)
                return stations[a] + (stations[b] - stations[a]) * f
        return stations[keys[0]]

    _, r = an.space_frame(level)
    lat, post = r[:, 0], r[:, 1]
    sgn = _side_sign(side)
    half_w = _canal_half_width(an, level, side)
    rng = _rng("epidurogram", level, side)
    pieces = []
    up_extent, down_extent = 1.3, 0.9
    for s in np.arange(-down_extent, up_extent + 1e-6, 0.14):
        extent = up_extent if s >= 0 else down_extent
        reach = abs(s) / extent  # 0 at the tip, 1 at the far end
        start = 0.02 + 0.7 * reach**1.15
        centre = along(s)
        tang = _unit(along(s + 0.05) - along(s - 0.05))
        rot = _flat_rotation(post, tang)
        taper = 1.0 - 0.4 * reach
        # the cloud's lateral reach wobbles level by level (lobulated margin)
        width = half_w * (0.95 + 0.25 * rng.random()) * (1.0 - 0.15 * reach)
        # two lobes side by side from ~3 mm off the midline (beside the spinous process) out
        # to the medial pedicle line, thicker medially where the space is deeper
        room = max(width - 3.0, 4.0)
        for lobe, (xf, rx, thick) in enumerate(((0.28, 0.45, 1.6), (0.85, 0.45, 1.3))):
            x_off = sgn * (3.0 + room * xf)
            c = centre + lat * x_off + tang * rng.normal(0, 1.0) - post * (0.4 * lobe)
            radii = np.array(
                [room * rx + 0.6 * rng.random(), (4.2 + 1.6 * rng.random()) * taper, thick * taper + 0.3 * rng.random()]
            )
            pieces.append(_ellipsoid(c, rot, radii, start + 0.03 * lobe, start + 0.2 + 0.03 * lobe))
        # a little across the midline near the tip (the other 16 %)
        if reach < 0.3 and rng.random() < 0.6:
            c2 = centre - lat * sgn * (1.0 + 1.5 * rng.random())
            pieces.append(_ellipsoid(c2, rot, np.array([2.0 + rng.random(), 3.0, 0.8]), start + 0.1, start + 0.3))
    # and out along the roots of the injected side where they leave the sac (the exiting root of
    # this level and of the one above): short sleeves, as epidurograms show late in the injection
    above = _neighbour_interspace(level, 1)
    for k, space in enumerate([level] + ([above] if above else [])):
        rp = _root_path(an, _root_for(space), side)
        if rp is None:
            continue
        path, root_r = rp
        pieces += _tube(_clip_length(path, 14.0), root_r * 0.6 + 0.3, 0.55 + 0.1 * k, 0.9 + 0.05 * k, taper=0.3)
    return ContrastPattern("epidurogram", level, side, tuple(pieces), origin=_tup(origin))


def _ventral_epidural_point(an: _Anatomy, level: str, side: str, near: np.ndarray) -> np.ndarray:
    """A point on the back of the vertebral body (the ventral epidural space) level with ``near``,
    a few mm to the ``side`` of the midline."""
    upper, _ = _split(level)
    o, r = an.space_frame(level)
    lat, post, sup = r[:, 0], r[:, 1], r[:, 2]
    z = float(np.dot(near - o, sup))
    base = o + sup * z + lat * _side_sign(side) * 5.0
    body = an.structure(f"{upper}.body")
    back = None
    if body is not None:
        start = base - post * 5.0
        for cand in (body,):
            try:
                if bool(np.asarray(cand.solid.contains(start[None, :]))[0]):
                    back = start + post * (_march(cand.solid, start, post, 0.5, 40.0) + 1.0)
            except _MISSING:
                back = None
    if back is None:
        disc = an.structure(f"disc.{level}.annulus")
        if disc is not None:
            try:
                back = o + lat * _side_sign(side) * 5.0 + post * (_march(disc.solid, o, post, 0.5, 40.0) + 1.0)
                back = back + sup * z
            except _MISSING:
                back = None
    if back is None:
        f = an.try_lm(level, "foramen", side)
        back = base + post * (float(np.dot((f if f is not None else o) - base, post)) - 2.0)
    return back


def _sleeve_hint(an: _Anatomy, level: str) -> np.ndarray:
    _, r = an.space_frame(level)
    return r[:, 1]


def transforaminal(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """Root sleeve running caudolaterally from the tip + medial flow under the pedicle into
    the ventral epidural space [clinical 3.2]."""
    an = _Anatomy(model)
    tip = np.asarray(tip, float) if tip is not None else an.lm(level, "safe_triangle", side)
    _o, r = an.space_frame(level)
    lat, post, sup = r[:, 0] * _side_sign(side), r[:, 1], r[:, 2]
    pieces: list[ContrastPiece] = []
    root = _root_path(an, _root_for(level), side)
    if root is not None:
        path, root_r = root
        k, near = _from_point(path, tip)
        # distally: from the tip's level on the root out and down, ~3 cm beyond the foramen,
        # curving caudally as the root turns down toward the psoas
        bend, reach = _root_course(level)
        distal = _extend(path[max(k - 1, 0) :], 26.0, -sup * bend)
        distal = _chaikin(_resample(distal, 10), 3)
        distal = _clip_length(distal, reach)
        pieces += [_capsule(tip, near, 1.8, 0.0, 0.1)]  # the pool at the tip, joining the root
        pieces += _tube(distal, root_r * 0.8 + 0.3, 0.04, 0.55, taper=0.35, segment_mm=4.0)
        # proximally: the sleeve into the foramen, toward the dural sleeve
        prox = path[: k + 1][::-1]
        if _length(prox) > 2.0:
            pieces += _tube(_clip_length(prox, 12.0), root_r * 0.8 + 0.3, 0.1, 0.35, segment_mm=4.0)
    else:
        d = _unit(lat - sup - 0.5 * (-post))
        pieces += _tube(np.array([tip, tip + d * 30.0]), 2.5, 0.0, 0.5)
    # medial flow: along the underside of the pedicle, then the ventral epidural space
    ped6 = an.try_lm(level, "pedicle_6_oclock", side)
    under = (ped6 - sup * 1.5) if ped6 is not None else tip + sup * 3.0 - lat * 4.0
    ventral = _ventral_epidural_point(an, level, side, under)
    flow = _chaikin(np.array([tip, under, 0.5 * (under + ventral) - post * 1.0, ventral]), 2)
    pieces += _tube(flow, 1.6, 0.3, 0.65, taper=-0.3, segment_mm=3.0)
    # in the ventral epidural space: a flat column along the back of the body, up and down
    rot = _flat_rotation(post, sup)
    for k, (dz, rz, s0) in enumerate(((0.0, 7.0, 0.55), (7.0, 6.0, 0.65), (-7.0, 6.0, 0.7), (13.0, 4.5, 0.78))):
        c = ventral + sup * dz - lat * (1.0 + 0.5 * k)
        pieces.append(_ellipsoid(c, rot, [4.5, rz, 1.3], s0, min(1.0, s0 + 0.25)))
    return ContrastPattern("transforaminal", level, side, tuple(pieces), origin=_tup(tip))


def selective_root(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """Selective nerve root block: only the one root outlined just outside the foramen, no
    epidural spread [clinical 3.2; issue: dye in the epidural space makes it non-selective]."""
    an = _Anatomy(model)
    _, r = an.space_frame(level)
    lat, post, sup = r[:, 0] * _side_sign(side), r[:, 1], r[:, 2]
    root = _root_path(an, _root_for(level), side)
    foramen = an.try_lm(level, "foramen", side)
    if root is None:
        start = np.asarray(tip, float) if tip is not None else an.lm(level, "foramen", side) + lat * 6.0
        return ContrastPattern(
            "selective_root",
            level,
            side,
            tuple(_tube(np.array([start, start + _unit(lat - sup) * 25.0]), 2.2, 0.0, 0.6)),
            origin=_tup(start),
        )
    path, root_r = root
    # the root's exit: where it leaves the foramen (lateral to the pedicle's outer wall)
    exit_k = 0
    ped = an.try_lm(_split(level)[0], "pedicle", side)
    if ped is not None:
        beyond = np.nonzero((path - ped) @ lat > 2.0)[0]
        exit_k = int(beyond[0]) if len(beyond) else len(path) // 2
    elif foramen is not None:
        exit_k = _from_point(path, foramen)[0]
    start_pt = np.asarray(tip, float) if tip is not None else path[exit_k] + post * (root_r + 1.0)
    k, _near = _from_point(path, start_pt)
    k = max(k, exit_k)
    bend, reach = _root_course(level)
    tail = path[k:] if len(path) - k >= 2 else path[-2:]
    distal = _clip_length(_chaikin(_resample(_extend(tail, 16.0, -sup * bend), 8), 3), reach * 0.62)
    pieces = [_capsule(start_pt, distal[0], 1.3, 0.0, 0.1)]
    pieces += _tube(distal, root_r * 0.8 + 0.2, 0.05, 0.7, taper=0.4, segment_mm=4.0)
    return ContrastPattern("selective_root", level, side, tuple(pieces), origin=_tup(start_pt))


def _sacral_canal_points(an: _Anatomy) -> list[np.ndarray]:
    """Points along the sacral canal from the hiatus up into the lumbar epidural space
    (caudal to cranial): hiatus, S4..S1 canal, L5-S1, L5, L4-L5."""
    hiatus = an.try_lm("S4", "sacral_hiatus")
    if hiatus is None:
        hiatus = an.lm("S5", "sacral_hiatus")
    pts = [hiatus]
    for seg in ("S4", "S3", "S2", "S1", "L5-S1", "L5", "L4-L5"):
        p = an.try_lm(seg, "sacral_canal") if seg in ("S4", "S3") else None
        if p is None:
            p = _epidural_point(an, seg)
        if p is None and seg.startswith("S"):
            o, r = an.frame(seg)
            sl = an.try_lm(seg, "spinolaminar_line")
            p = sl - r[:, 1] * 5.0 if sl is not None else o + r[:, 1] * 18.0
        if p is not None:
            pts.append(p)
    return pts


def caudal(model, level: str = "S4-S5", side: str | None = None, tip=None) -> ContrastPattern:
    """Up the sacral canal into the lumbar epidural space ("smoke up a chimney" on LAT) and
    out along the sacral roots through their foramina on both sides ("Christmas tree" on AP)
    [clinical 3.3]."""
    an = _Anatomy(model)
    pts = _sacral_canal_points(an)
    column = _chaikin(np.array(pts), 2)
    origin = np.asarray(tip, float) if tip is not None else pts[0]
    pieces = []
    # the chimney: a column filling the canal from the hiatus up, rising with progress
    n = max(2, int(_length(column) / 8.0))
    col = _resample(column, n)
    rise = {i: 0.03 + 0.6 * i / (n - 1) for i in range(n - 1)}
    pieces += _tube(col, 3.0, 0.03, 0.03 + 0.6 / 0.8, taper=0.35, segment_mm=8.0)
    # the tree: dye leaves along each sacral root (and L5's at the top) through its foramen,
    # both sides; lower roots fill first as the column rises past them
    for root in ("S4", "S3", "S2", "S1", "L5"):
        for sd in ("left", "right"):
            rp = _root_path(an, root, sd)
            if rp is None:
                continue
            path, root_r = rp
            foramen = an.try_lm(root, "posterior_sacral_foramen", sd) if root.startswith("S") else None
            if foramen is not None:
                # a bough: from the column a little above the foramen, obliquely down and out
                # through it and on along the root's course beyond
                _o, r = an.frame(root)
                sup, out_dir = r[:, 2], r[:, 0] * _side_sign(sd)
                k_col = int(np.argmin(np.linalg.norm(col - (foramen + sup * 6.0), axis=1)))
                beyond = foramen + _unit(out_dir * 1.0 - sup * 0.9) * 14.0
                branch = np.array([col[k_col], foramen, beyond])
            else:
                # from the column where the root leaves the sac, along the root out of its foramen
                k_col = int(np.argmin(np.linalg.norm(col - path[0], axis=1)))
                branch = np.vstack([col[k_col], _clip_length(_extend(path, 16.0, None), 26.0)])
            s0 = rise.get(min(k_col, n - 2), 0.5) + 0.05
            pieces += _tube(branch, root_r * 0.8 + 0.3, s0, min(0.98, s0 + 0.3), taper=0.5, segment_mm=9.0)
    return ContrastPattern("caudal", level, None, tuple(pieces), origin=_tup(origin))


def _facet_axes(an: _Anatomy, level: str, side: str):
    """(centre, normal, e1 (front-back in the joint plane), e2 (along the joint line, up),
    superior recess, inferior recess) of a facet joint, from the model's landmarks."""
    c = an.lm(level, "facet_joint", side)
    sup_r = an.try_lm(level, "facet_superior_recess", side)
    inf_r = an.try_lm(level, "facet_inferior_recess", side)
    _, r = an.space_frame(level)
    axes = an.region_axes(level, "facet_joint", side)
    if sup_r is not None and inf_r is not None:
        e2 = _unit(sup_r - inf_r)
    elif axes is not None:
        e2 = axes[:, 2]
    else:
        e2 = r[:, 2]
    if axes is not None:
        normal = axes[:, 0]
    else:  # the joint opens between the IAP (medial) and the SAP (lateral)
        sap, iap = an.try_lm(level, "sap", side), an.try_lm(level, "iap", side)
        normal = (sap - iap) if sap is not None and iap is not None else r[:, 0]
    normal = _unit(normal - np.dot(normal, e2) * e2)
    e1 = np.cross(e2, normal)
    if np.dot(e1, r[:, 1]) < 0:
        e1 = -e1
    if sup_r is None:
        sup_r = c + e2 * 6.0
    if inf_r is None:
        inf_r = c - e2 * 6.0
    return c, normal, e1, e2, sup_r, inf_r


def facet_arthrogram(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """The joint outlined: a thin crescent of dye along the joint line, bulging into the
    superior and inferior recesses beyond its ends (0.2-0.5 mL) [clinical 3.4]."""
    an = _Anatomy(model)
    c, normal, e1, e2, sup_r, inf_r = _facet_axes(an, level, side)
    origin = np.asarray(tip, float) if tip is not None else c
    # the joint line, bowed a little (lumbar joints are curved, C- or J-shaped in the axial
    # section; in the plane of the joint they are ovals): from the inferior recess to the superior
    half = 0.5 * float(np.linalg.norm(sup_r - inf_r))
    mid = 0.5 * (sup_r + inf_r)
    ts = np.linspace(-1.0, 1.0, 9)
    line = np.array([mid + e2 * half * t + e1 * 1.6 * (1 - t * t) for t in ts])
    pieces = []
    # the cleft: a thin film (~1 mm) in the joint plane, from the tip outwards
    for i, (p, t) in enumerate(zip(line, ts)):
        s0 = 0.02 + 0.3 * abs(float(np.dot(p - origin, e2))) / max(half, 1.0)
        rot = np.column_stack([e1, e2, normal])
        pieces.append(_ellipsoid(p, rot, [2.4 * (1 - 0.35 * t * t), half / 4.0 + 1.0, 0.55], s0, s0 + 0.25))
    # the recesses: pouches a little beyond each end of the joint, wider than the cleft
    # (the inferior is the larger); each a crescent hugging the process it wraps
    for tip_pt, direction, size, s0 in ((sup_r, e2, (3.4, 4.0, 1.9), 0.3), (inf_r, -e2, (3.9, 4.8, 2.1), 0.25)):
        pouch_c = tip_pt + direction * size[1] * 0.6
        rot = np.column_stack([e1, e2, normal])
        pieces.append(_ellipsoid(pouch_c, rot, size, s0, s0 + 0.35))
        for sgn in (-1.0, 1.0):  # the horns of the crescent, curving back along the joint
            horn = pouch_c + e1 * sgn * size[0] * 0.8 - direction * 1.5
            pieces.append(_ellipsoid(horn, rot, (1.4, 2.2, 1.0), s0 + 0.1, s0 + 0.4))
    return ContrastPattern("facet_arthrogram", level, side, tuple(pieces), origin=_tup(origin))


def _joint_pieces(
    joint: Structure, along_axis: int, recess_r: float, t0: float, thickness_mm: float = 1.4
) -> list[ContrastPiece]:
    """A thin fill of a joint's cleft plus pouches (recesses) at both ends of its long axis.

    The joint solid's local x is taken as the joint normal (the cleft is thin along it).
    """
    solid = joint.solid
    rot = solid.rotation
    half = getattr(solid, "half_sizes", getattr(solid, "radii", None))
    if half is None or np.size(half) != 3:
        lo, hi = solid.bounding_box()
        half = (hi - lo) / 2
    half = np.asarray(half, float)
    centre = solid.center
    axis = rot[:, along_axis]
    fill = half * 0.92
    fill[0] = thickness_mm / 2
    pieces = [_ellipsoid(centre, rot, fill, t0, t0 + 0.5)]
    ext = float(half[along_axis])
    for sgn, delay in ((-1, 0.0), (1, 0.2)):
        c = centre + axis * sgn * ext * 0.9
        radii = np.full(3, recess_r)
        pieces.append(_ellipsoid(c, rot, radii, t0 + 0.1 + delay, t0 + 0.5 + delay))
    return pieces


def si_arthrogram(model, level: str = "S1", side: str = "right", tip=None) -> ContrastPattern:
    """Contrast outlines the sacroiliac joint line, from its inferior end up [clinical 3.7]."""
    an = _Anatomy(model)
    joints = [s for s in an.structures(kinds=["si_joint", "sacroiliac_joint"]) if s.side in (side, None)]
    if not joints:
        raise LookupError(f"the model has no sacroiliac joint on the {side}")
    joints.sort(key=lambda s: s.solid.center[2])  # inferior first
    pieces = []
    for i, j in enumerate(joints):
        pieces += _joint_pieces(j, 2, 2.2, 0.6 * i / max(len(joints), 1))
    return ContrastPattern("si_arthrogram", level, side, tuple(pieces), origin=_tup(joints[0].solid.center))


def _disc(an: _Anatomy, level: str):
    """(nucleus centre, frame (lat, post, sup), nucleus half-extents (lat, ap, height),
    a function giving the annulus's outer edge distance along a direction in the disc plane)."""
    centre = an.lm(level, "nucleus_centre")
    _, r = an.space_frame(level)
    nuc = an.find(("nucleus",), level=level)
    radii = None
    if nuc is not None:
        try:
            radii = np.array([_march(nuc.solid, centre, r[:, k], 0.25, 30.0) for k in range(3)])
        except _MISSING:
            radii = None
    if radii is None or np.any(radii < 1.0):
        radii = np.array([10.0, 7.0, 3.3])
    annulus = an.find(("annulus", "disc"), level=level)

    def outer(direction) -> float:
        if annulus is not None:
            try:
                d = _march(annulus.solid, centre, direction, 0.25, 60.0)
                if d > 0:
                    return d
            except _MISSING:
                pass
        return float(np.hypot(radii[0] * 2.2 * np.dot(direction, r[:, 0]), radii[1] * 2.3 * np.dot(direction, r[:, 1])))

    return centre, r, radii, outer


def nucleogram(model, level: str, side: str | None = None, tip=None) -> ContrastPattern:
    """Healthy disc: compact, bilobed filling of the nucleus, well inside the annulus [clinical 3.8]."""
    an = _Anatomy(model)
    centre, rot, radii, _ = _disc(an, level)
    pieces = [_ellipsoid(centre, rot, radii * [0.75, 0.7, 0.75], 0.0, 0.6)]
    # bilobed ("hamburger"/"cotton ball"): two lobes either side of a faint cleft
    for sgn in (-1, 1):
        c = centre + rot[:, 0] * sgn * radii[0] * 0.35
        pieces.append(_ellipsoid(c, rot, radii * [0.45, 0.65, 0.85], 0.2, 0.85))
    return ContrastPattern("nucleogram", level, side, tuple(pieces), origin=_tup(centre))


def fissured_disc(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """Degenerated disc: irregular nucleus; a radial fissure running posterolaterally (toward
    the painful side) through the annulus to its outer edge, where dye spreads along it
    [clinical 3.8: "a degenerated one shows fissures to the annulus"]."""
    an = _Anatomy(model)
    centre, rot, radii, outer = _disc(an, level)
    lat, post = rot[:, 0] * _side_sign(side), rot[:, 1]
    rng = _rng("fissured", level, side)
    pieces = []
    for k in range(6):  # the irregular, ragged nucleus
        off = rot[:, 0] * rng.normal(0, radii[0] * 0.35) + rot[:, 1] * rng.normal(0, radii[1] * 0.3)
        r = radii * np.array([0.35 + 0.25 * rng.random(), 0.35 + 0.25 * rng.random(), 0.6])
        pieces.append(_ellipsoid(centre + off, rot, r, 0.04 * k, 0.35 + 0.04 * k))
    # radial fissures: a main posterolateral one on the painful side, a posterior one
    for k, (ang, width, s0) in enumerate(((40.0, 1.3, 0.3), (80.0, 1.0, 0.45))):
        a = math.radians(ang)  # from the lateral axis toward posterior
        d = _unit(lat * math.cos(a) + post * math.sin(a))
        reach = outer(d) - 0.8
        bend = _unit(d + lat * 0.15 * (1 if k == 0 else -1))
        path = np.array([centre + d * radii[1] * 0.4, centre + d * reach * 0.55 + bend * 1.0, centre + d * reach])
        pieces += _tube(_chaikin(path, 2), width, s0, s0 + 0.25, taper=-0.2, segment_mm=3.0)
    # at the outer annulus: dye tracking around the edge from the main fissure (circumferential)
    a0 = math.radians(40.0)
    ring = []
    for t in np.linspace(a0 - 0.45, a0 + 0.55, 7):
        d = _unit(lat * math.cos(t) + post * math.sin(t))
        ring.append(centre + d * (outer(d) - 1.2))
    pieces += _tube(np.array(ring), 1.1, 0.6, 0.9, segment_mm=3.0)
    return ContrastPattern("fissured_disc", level, side, tuple(pieces), origin=_tup(centre))


def _branching(rng, base, direction, length, radius, depth, t0, dt, bias, out, segment_mm=8.0):
    """A vessel: a wiggling streak from ``base`` with side branches (recursive, seeded)."""
    d = _unit(direction)
    pts = [np.asarray(base, float)]
    n = max(2, int(length / segment_mm))
    for _ in range(n):
        d = _unit(d + rng.normal(0, 0.18, 3) + bias * 0.1)
        pts.append(pts[-1] + d * length / n)
    path = np.array(pts)
    out += _tube(path, radius, t0, t0 + dt, taper=0.3, segment_mm=segment_mm)
    if depth <= 0:
        return
    for k in range(int(rng.integers(1, 3))):
        i = int(rng.integers(1, len(path) - 1))
        side = np.cross(d, rng.normal(0, 1, 3))
        _branching(
            rng,
            path[i],
            _unit(side + d * 0.5),
            length * rng.uniform(0.35, 0.6),
            radius * 0.7,
            depth - 1,
            t0 + dt * 0.8 * i / len(path),
            dt * 0.8,
            bias,
            out,
            segment_mm,
        )


def vascular(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """Intravascular uptake: fast, dark, branching streaks from the tip that wash out within a
    few frames [clinical 3.2]. Undiluted contrast fills the lumen (``peak_density``: 300 mgI/mL
    against the ~200 the tissue patterns are drawn at).

    The streaks start where the needle tip is (``tip``, a 3D point in mm); without one, at the
    foramen's safe triangle, where a transforaminal needle would be."""
    an = _Anatomy(model)
    if tip is not None:
        tip = np.asarray(tip, float)
    else:
        tip = an.try_lm(level, "safe_triangle", side)
    if tip is None:
        tip = an.lm(level, "foramen", side)
    upper, _ = _split(level)
    o, r = an.frame(upper)
    lat, post, sup = r[:, 0] * _side_sign(side), r[:, 1], r[:, 2]
    rng = _rng("vascular", level, side)
    pieces: list[ContrastPiece] = []
    # radicular artery medially to the front of the canal, then the anterior spinal artery
    # running up and down the midline (the hairpin), plus segmental branches laterally
    x_tip = float(np.dot(tip - o, r[:, 0]))
    mid = tip - r[:, 0] * x_tip + sup * 8.0 - post * 2.0
    pieces.append(_capsule(tip, mid, 1.3, 0.0, 0.05))
    pieces += _tube(
        _chaikin(np.array([mid, mid + sup * 20 + lat * 1.5, mid + sup * 45.0]), 2), 1.1, 0.04, 0.14, segment_mm=8.0
    )
    pieces += _tube(
        _chaikin(np.array([mid, mid - sup * 18 - lat * 1.0, mid - sup * 40.0]), 2), 1.1, 0.04, 0.14, segment_mm=8.0
    )
    for k in range(3):  # segmental vessels out and around, each branching
        d = lat * rng.uniform(0.6, 1.0) + sup * rng.uniform(-0.9, 0.9) - post * rng.uniform(0.0, 0.5)
        _branching(rng, tip, d, rng.uniform(22.0, 32.0), 1.4, 2, 0.01 + 0.02 * k, 0.12, -post, pieces)
    # a moment later the veins: a streak of the epidural venous plexus beside the canal
    vein = _chaikin(
        np.array([tip, tip - lat * 6.0 + sup * 4.0, tip - lat * 9.0 + sup * 14.0, tip - lat * 10.0 + sup * 26.0]), 2
    )
    pieces += _tube(vein, 1.4, 0.2, 0.34, taper=0.2, segment_mm=7.0)
    return ContrastPattern(
        "vascular", level, side, tuple(pieces), washout=(0.3, 0.75), origin=_tup(tip), peak_density=1.5
    )


def target_spot(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """Medial branch block: a small blot (0.2-0.5 mL) staying on the bone at each target, the
    SAP-TP groove (lumbar), the TP's superolateral corner (thoracic), the pillar's waist
    (cervical); no streaks [SIS guidelines, Bogduk 2013; clinical 3.5]. ``tip`` is one
    needle tip or several (one blot each); without it, the groove's landmarks at ``level``."""
    an = _Anatomy(model)
    if tip is not None:
        tips = np.atleast_2d(np.asarray(tip, float))
    else:
        upper, lower = _split(level)
        found: list[np.ndarray] = []
        for v, name in (
            (upper, "sap_tp_groove"),
            (lower, "sap_tp_groove"),
            (upper, "pillar_waist"),
            (lower, "pillar_waist"),
        ):
            p = an.try_lm(v, name, side)
            if p is not None:
                found.append(p)
        if not found:
            found = [an.lm(level, "facet_joint", side)]
        tips = np.array(found[:2])
    _, r = an.space_frame(level)
    lat, post, sup = r[:, 0] * _side_sign(side), r[:, 1], r[:, 2]
    rng = _rng("target_spot", level, side)
    pieces = []
    for i, p in enumerate(tips):
        # flattened on the bone's surface (the back of the TP root / the pillar), a little
        # longer along the nerve's course (down and in)
        rot = _flat_rotation(post, sup)
        pieces.append(_ellipsoid(p, rot, [3.8, 4.5, 1.8], 0.02 * i, 0.45 + 0.02 * i))
        for k in range(3):
            off = lat * rng.normal(0, 1.5) + sup * rng.normal(-1.0, 1.8)
            pieces.append(
                _ellipsoid(p + off, rot, [1.8 + rng.random(), 2.2 + rng.random(), 1.2], 0.15 + 0.08 * k, 0.6 + 0.08 * k)
            )
    return ContrastPattern("target_spot", level, side, tuple(pieces), origin=_tup(tips[0]))


def cement(model, level: str, side: str | None = None, tip=None) -> ContrastPattern:
    """Vertebroplasty: bone cement filling the body from the needle tip in its front third,
    spreading across the midline and up and down, never into the back quarter (clinical 3.9).

    ``level`` is the vertebra; ``tip`` the needle tip (default: the front third, midline)."""
    an = _Anatomy(model)
    body = an.find(("body",), level=level)
    if body is None:
        raise ValueError(f"no vertebral body at {level}")
    o, r = an.frame(level)
    post = r[:, 1]
    radii = getattr(body.solid, "radii", None)
    if radii is not None and np.size(radii) >= 2 and hasattr(body.solid, "half_height"):
        centre = np.asarray(body.solid.center, float)
        lat_r, ap_r = (float(v) for v in np.asarray(radii, float)[:2])
        half = float(body.solid.half_height)
    else:  # any solid: measure it from the frame's origin
        centre = o
        lat_r = min(_march(body.solid, o, r[:, 0]), _march(body.solid, o, -r[:, 0]))
        ap_r = min(_march(body.solid, o, post), _march(body.solid, o, -post))
        half = min(_march(body.solid, o, r[:, 2]), _march(body.solid, o, -r[:, 2]))
    start = np.asarray(tip, float) if tip is not None else centre - post * ap_r * 0.4
    pieces = [
        _ellipsoid(start, r, [lat_r * 0.3, ap_r * 0.3, half * 0.45], 0.0, 0.35),
        _ellipsoid(centre - post * ap_r * 0.3, r, [lat_r * 0.6, ap_r * 0.5, half * 0.7], 0.15, 0.7),
    ]
    for sgn in (-1.0, 1.0):  # the cement crosses the midline and fills both halves
        c = centre + r[:, 0] * sgn * lat_r * 0.35 - post * ap_r * 0.15
        pieces.append(_ellipsoid(c, r, [lat_r * 0.4, ap_r * 0.45, half * 0.75], 0.35, 0.95))
    return ContrastPattern("cement", level, side, tuple(pieces), origin=_tup(start))


def combined(first: ContrastPattern, *others: ContrastPattern) -> ContrastPattern:
    """Several patterns shown at once (e.g. a fissured disc and its compact control disc), growing
    together; named, placed and washed out as the first."""
    pieces = tuple(first.pieces) + tuple(p for o in others for p in o.pieces)
    return ContrastPattern(
        "+".join([first.name, *(o.name for o in others)]),
        first.level,
        first.side,
        pieces,
        washout=first.washout,
        origin=first.origin,
        peak_density=first.peak_density,
    )


#: name -> builder(model, level, side, tip=...) (the caudal pattern takes side None: it is midline)
PATTERNS: dict[str, Callable[..., ContrastPattern]] = {
    "epidurogram": epidurogram,
    "transforaminal": transforaminal,
    "selective_root": selective_root,
    "caudal": caudal,
    "facet_arthrogram": facet_arthrogram,
    "si_arthrogram": si_arthrogram,
    "nucleogram": nucleogram,
    "fissured_disc": fissured_disc,
    "vascular": vascular,
    "target_spot": target_spot,
    "cement": cement,
}

#: other names of the same patterns (the procedure data's, spine.procedures.schema.CONTRAST_PATTERNS)
ALIASES = {
    "interlaminar": "epidurogram",
    "root_sleeve": "transforaminal",
    "arthrogram_facet": "facet_arthrogram",
    "arthrogram_si": "si_arthrogram",
}


def contrast_pattern(name: str, model, level: str, side: str | None = "right", tip=None) -> ContrastPattern:
    """The named pattern (see the module doc) built from ``model``'s anatomy at ``level``.

    ``tip``: where the needle tip is (one point, or several for ``target_spot``); the patterns
    start there, and without it they start at the landmark the plan usually aims at."""
    key = ALIASES.get(name, name)
    try:
        build = PATTERNS[key]
    except KeyError:
        known = ", ".join(sorted(set(PATTERNS) | set(ALIASES)))
        raise ValueError(f"unknown contrast pattern {name!r}; known: {known}") from None
    return build(model, level, side, tip=tip)
