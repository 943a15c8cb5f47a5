"""Contrast patterns: the 3D shape iodinated contrast takes for each confirmation.

Each pattern is a set of small CONTRAST solids (flattened ellipsoids for clouds and pools,
thin capsules for streaks and root sleeves) built from the anatomy model's landmarks, so
the same volume is drawn on the illustration and projected on the fluoroscopy. Every
piece has a ``start`` and ``full`` progress: it begins to fill at ``start`` and reaches
its full size at ``full``, so ``pattern.at(progress)`` for progress 0..1 is the contrast
spreading from the needle tip. ``pattern.density(progress)`` is the concentration factor
(1, except for the vascular pattern, which washes out).

Patterns (clinical.md section 3; names for :func:`contrast_pattern`):

* ``epidurogram`` -- interlaminar: dorsal epidural cloud ~1.3 levels up and ~0.9 down,
  mostly on the injected side; a thin dorsal stripe on LAT.
* ``transforaminal`` -- outline of the exiting root sleeve running down and out, and
  medial flow under the pedicle into the ventral epidural space.
* ``caudal`` -- from the sacral hiatus up the sacral canal ("smoke up a chimney" on LAT)
  and out along the sacral roots through the foramina ("Christmas tree" on AP).
* ``facet_arthrogram`` -- the facet joint cleft with its superior and inferior recesses.
* ``si_arthrogram`` -- the sacroiliac joint line, filling from its inferior end.
* ``nucleogram`` -- discography, healthy disc: compact filling of the nucleus.
* ``fissured_disc`` -- discography, degenerated disc: irregular nucleus with fissures
  running to the outer annulus.
* ``vascular`` -- the warning beat: fast, thin, branching streaks that wash out, from the
  needle tip.
* ``cement`` -- vertebroplasty: bone cement filling the front of the body from the tip,
  out of its back quarter (cement is radio-opaque, so it is drawn like contrast).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from spine.anatomy.solids import Capsule, Ellipsoid, Material, Structure, rotation_from_axes

__all__ = ["ContrastPiece", "ContrastPattern", "contrast_pattern", "PATTERNS"]


def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass(frozen=True)
class ContrastPiece:
    """One blob or streak. ``shape`` "ellipsoid": centre, rotation, radii; "capsule": p0, p1, radius.

    A capsule fills from ``p0`` toward ``p1``; an ellipsoid swells from its centre.
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

    def at(self, progress: float) -> list[Structure]:
        out = []
        for i, piece in enumerate(self.pieces):
            solid = piece.solid(progress)
            if solid is not None:
                out.append(Structure(f"contrast.{self.name}.{i}", "contrast", Material.CONTRAST, solid,
                                     level=self.level, side=self.side))
        return out

    def density(self, progress: float) -> float:
        """Concentration factor: 1, falling to 0 while a vascular pattern washes out."""
        if self.washout is None:
            return 1.0
        b, e = self.washout
        return float(1.0 - _smooth((progress - b) / max(e - b, 1e-6)))


# -- reading the model ------------------------------------------------------------------------
class _Anatomy:
    """Landmarks and local frames of the model, with the few fallbacks the patterns need."""

    def __init__(self, model):
        self.model = model

    def lm(self, level, name, side=None) -> np.ndarray:
        return np.asarray(self.model.landmark(level, name, side) if side else self.model.landmark(level, name),
                          dtype=float)

    def try_lm(self, level, name, side=None):
        try:
            return self.lm(level, name, side)
        except (KeyError, ValueError, LookupError, AttributeError, NotImplementedError):
            return None

    def frame(self, vertebra) -> tuple[np.ndarray, np.ndarray]:
        o, r = self.model.vertebra_frame(vertebra)
        return np.asarray(o, float), np.asarray(r, float)

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


def _neighbour_interspace(level: str, step: int) -> str | None:
    from spine.anatomy.levels import INTERSPACES

    i = INTERSPACES.index(level) - step  # step +1 = one level up (cranial)
    return INTERSPACES[i] if 0 <= i < len(INTERSPACES) else None


def _flat_rotation(normal, up) -> np.ndarray:
    """Rotation with local z = ``normal`` and local y close to ``up`` (so radii are (lat, up, thin))."""
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    u = np.asarray(up, float) - np.dot(up, n) * n
    u /= np.linalg.norm(u)
    x = np.cross(u, n)
    return np.column_stack([x, u, n])


def _tup(a) -> tuple:
    return tuple(float(v) for v in np.asarray(a).reshape(-1))


def _rot(r) -> tuple:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(r))


def _ellipsoid(centre, rotation, radii, start, full) -> ContrastPiece:
    return ContrastPiece("ellipsoid", _tup(centre), _tup(radii), rotation=_rot(rotation),
                         start=float(start), full=float(full))


def _capsule(p0, p1, radius, start, full) -> ContrastPiece:
    return ContrastPiece("capsule", _tup(p0), _tup(p1), radius=float(radius), start=float(start), full=float(full))


# -- the patterns ---------------------------------------------------------------------------------
def _dorsal_epidural_point(an: _Anatomy, space: str) -> np.ndarray:
    """A point in the dorsal epidural space at an interspace: just in front of the LF."""
    w = an.lm(space, "interlaminar_window")
    upper, _ = _split(space)
    _, r = an.frame(upper)
    return w - r[:, 1] * 2.5  # 2.5 mm anterior of the window's point (LF ~3.5 mm thick)


def epidurogram(model, level: str, side: str = "right") -> ContrastPattern:
    """Dorsal epidural cloud: ~1.3 levels up, ~0.9 down, mostly one-sided (84 %) [clinical 3.1]."""
    an = _Anatomy(model)
    nodes = {0: _dorsal_epidural_point(an, level)}
    for step in (-1, 1, 2):
        sp = _neighbour_interspace(level, step)
        if sp is not None:
            try:
                nodes[step] = _dorsal_epidural_point(an, sp)
            except (KeyError, ValueError, LookupError):
                pass
    keys = sorted(nodes)

    def along(s: float) -> np.ndarray:
        s = float(np.clip(s, keys[0], keys[-1]))
        for a, b in zip(keys, keys[1:]):
            if a <= s <= b:
                f = (s - a) / (b - a)
                return nodes[a] + (nodes[b] - nodes[a]) * f
        return nodes[keys[0]]

    upper, _ = _split(level)
    _, r = an.frame(upper)
    lat, post = r[:, 0], r[:, 1]
    sgn = _side_sign(side)
    rng = _rng("epidurogram", level, side)
    pieces = []
    up_extent, down_extent = 1.3, 0.9
    for s in np.arange(-down_extent, up_extent + 1e-6, 0.13):
        extent = up_extent if s >= 0 else down_extent
        reach = abs(s) / extent  # 0 at the tip, 1 at the far end
        start = 0.02 + 0.78 * reach ** 1.2
        centre = along(s)
        tang = along(s + 0.05) - along(s - 0.05)
        tang = tang / (np.linalg.norm(tang) + 1e-9)
        rot = _flat_rotation(post, tang)
        taper = 1.0 - 0.45 * reach
        # ipsilateral lobes (mostly one-sided: 84 %) spreading out under the lamina ...
        for lobe in range(2):
            x_off = sgn * (2.0 + 5.0 * lobe + 3.0 * rng.random())
            c = centre + lat * x_off + tang * rng.normal(0, 1.2) + post * rng.normal(0, 0.4)
            radii = np.array([(4.5 + 2.5 * rng.random()) * taper, 3.5 + 2.0 * rng.random(), 1.0 + 0.6 * rng.random()])
            pieces.append(_ellipsoid(c, rot, radii, start + 0.04 * lobe, start + 0.2 + 0.04 * lobe))
        # ... and a little across the midline near the tip
        if reach < 0.5 and rng.random() < 0.5:
            c2 = centre - lat * sgn * (2.5 + 2.5 * rng.random())
            radii = np.array([3.5 + 1.5 * rng.random(), 3.0 + 1.0 * rng.random(), 0.7])
            pieces.append(_ellipsoid(c2, rot, radii, start + 0.1, start + 0.3))
    return ContrastPattern("epidurogram", level, side, tuple(pieces), origin=_tup(nodes[0]))


def _root_axis(an: _Anatomy, level: str, side: str, tip: np.ndarray):
    """(start, unit direction, radius) of the exiting root beyond the foramen, down and out."""
    from spine.anatomy.levels import exiting_root

    root = exiting_root(level)
    upper, _ = _split(level)
    _, r = an.frame(upper)
    lat, post, sup = r[:, 0] * _side_sign(side), r[:, 1], r[:, 2]
    s = an.find(("root", "nerve_root", "exiting_root"), side=side, name_has=f"{root}.")
    if s is not None and isinstance(s.solid, Capsule):
        a, b = s.solid.endpoints
        # distal end: the one farther from the midline
        if np.dot(a - tip, lat) > np.dot(b - tip, lat):
            a, b = b, a
        d = b - a
        d = d / np.linalg.norm(d)
        # start where the root passes closest to the tip
        t = float(np.clip(np.dot(tip - a, d), 0, np.linalg.norm(b - a)))
        return a + d * t, d, s.solid.radius
    d = 0.62 * lat - 0.62 * sup - 0.35 * post + 0.0
    return tip, d / np.linalg.norm(d), 2.5


def transforaminal(model, level: str, side: str = "right") -> ContrastPattern:
    """Root sleeve running down and out + medial flow under the pedicle [clinical 3.2]."""
    an = _Anatomy(model)
    tip = an.lm(level, "safe_triangle", side)
    upper, _ = _split(level)
    _, r = an.frame(upper)
    lat, post, sup = r[:, 0] * _side_sign(side), r[:, 1], r[:, 2]
    start_pt, d, root_r = _root_axis(an, level, side, tip)
    pieces = []
    # the sleeve: strands on the surface of a tube around the root (its outline shows on AP)
    sleeve_len = 32.0
    e1 = np.cross(d, sup)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(d, e1)
    tube_r = root_r + 1.0
    for k in range(8):
        ang = 2 * math.pi * (k + 0.5) / 8
        off = e1 * math.cos(ang) + e2 * math.sin(ang)
        p0 = start_pt + off * tube_r - d * 3.0
        # the sleeve flares a little distally, and its strands end at staggered lengths
        p1 = start_pt + off * tube_r * 1.5 + d * sleeve_len * (0.7 + 0.3 * ((k * 5) % 8) / 7)
        pieces.append(_capsule(p0, p1, 0.9, 0.04 + 0.02 * k, 0.5 + 0.03 * k))
    pieces.append(_capsule(tip, start_pt, 1.6, 0.0, 0.12))  # pool at the tip joining the sleeve
    # medial flow: under the pedicle into the ventral epidural space, along the back of the body
    foramen = an.try_lm(level, "foramen", side)
    ventral_y = foramen if foramen is not None else tip
    mid = an.frame(upper)[0]
    x_mid = float(np.dot(mid, r[:, 0]))
    for k, f in enumerate(np.linspace(0.0, 1.0, 7)):
        c = tip + (-lat) * (f * abs(np.dot(tip, r[:, 0]) - x_mid) * 0.95)
        c = c + post * (np.dot(ventral_y - c, post) - 1.5) * f  # settle onto the ventral epidural plane
        c = c + sup * (3.0 * f)  # a little cranial, under the pedicle
        rot = _flat_rotation(post, sup)
        radii = np.array([4.0, 5.0 + 3.0 * f, 1.4])
        pieces.append(_ellipsoid(c, rot, radii, 0.25 + 0.5 * f, 0.45 + 0.5 * f))
    return ContrastPattern("transforaminal", level, side, tuple(pieces), origin=_tup(tip))


def _sacral_canal_points(an: _Anatomy) -> list[np.ndarray]:
    """Points along the sacral canal from the hiatus up to S1 (caudal to cranial)."""
    hiatus = an.lm("S4", "sacral_hiatus") if an.try_lm("S4", "sacral_hiatus") is not None else an.lm("S5", "sacral_hiatus")
    pts = [hiatus]
    for seg in ("S3", "S2", "S1"):
        o, r = an.frame(seg)
        canal = an.try_lm(seg, "sacral_canal")
        if canal is None:
            sl = an.try_lm(seg, "spinolaminar_line")
            canal = sl - r[:, 1] * 5.0 if sl is not None else o + r[:, 1] * 18.0
        pts.append(canal)
    return pts


def _closest_on_polyline(pts: list[np.ndarray], p: np.ndarray) -> np.ndarray:
    best, best_d = pts[0], np.inf
    for a, b in zip(pts, pts[1:]):
        ab = b - a
        t = float(np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-9), 0.0, 1.0))
        q = a + ab * t
        d = float(np.linalg.norm(p - q))
        if d < best_d:
            best, best_d = q, d
    return best


def caudal(model, level: str = "S4-S5", side: str | None = None) -> ContrastPattern:
    """Up the sacral canal ("chimney" on LAT) and out along the sacral roots ("Christmas tree")."""
    an = _Anatomy(model)
    pts = _sacral_canal_points(an)
    pieces = []
    n = len(pts) - 1
    for i in range(n):
        a, b = pts[i], pts[i + 1]
        t0 = 0.05 + 0.55 * i / n
        pieces.append(_capsule(a, b, 2.2, t0, t0 + 0.55 / n + 0.05))
        seg_dir = (b - a) / np.linalg.norm(b - a)
        pieces.append(_ellipsoid((a + b) / 2, rotation_from_axes(seg_dir), [4.0, 2.2, np.linalg.norm(b - a) / 2],
                                 t0 + 0.05, t0 + 0.55 / n + 0.1))
    # above S1 a little into the lumbar epidural space
    top = pts[-1] + (pts[-1] - pts[-2]) * 0.8
    pieces.append(_capsule(pts[-1], top, 2.5, 0.7, 0.95))
    # the tree: along each sacral root out through its foramen, both sides
    for k, seg in enumerate(("S1", "S2", "S3", "S4")):
        for sd in ("left", "right"):
            f = an.try_lm(seg, "posterior_sacral_foramen", sd)
            o, r = an.frame(seg)
            if f is None:
                f = o + r[:, 0] * _side_sign(sd) * 14.0 + r[:, 1] * 6.0
            canal = _closest_on_polyline(pts, f)
            out = f + (f - canal) * 0.6 - r[:, 2] * 6.0
            t0 = 0.15 + 0.5 * (3 - k) / 4
            pieces.append(_capsule(canal, f, 1.6, t0, t0 + 0.15))
            pieces.append(_capsule(f, out, 1.1, t0 + 0.12, t0 + 0.3))
    return ContrastPattern("caudal", level, None, tuple(pieces), origin=_tup(pts[0]))


def _joint_pieces(joint: Structure, along_axis: int, recess_r: float, t0: float,
                  thickness_mm: float = 1.4) -> list[ContrastPiece]:
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


def facet_arthrogram(model, level: str, side: str = "right") -> ContrastPattern:
    """Contrast fills the facet joint cleft and both recesses [clinical 3.4]."""
    an = _Anatomy(model)
    joint = an.find(("facet_joint", "facet", "facet_capsule"), level=level, side=side)
    if joint is None:
        raise LookupError(f"the model has no facet joint at {level} {side}")
    pieces = _joint_pieces(joint, 2, 2.6, 0.0)
    # the model's recess landmarks, where they exist, place the pouches exactly
    for k, name in ((1, "facet_inferior_recess"), (2, "facet_superior_recess")):
        p = an.try_lm(level, name, side)
        if p is not None and k < len(pieces):
            old = pieces[k]
            pieces[k] = ContrastPiece("ellipsoid", _tup(p), old.b, rotation=old.rotation, start=old.start, full=old.full)
    return ContrastPattern("facet_arthrogram", level, side, tuple(pieces), origin=_tup(joint.solid.center))


def si_arthrogram(model, level: str = "S1", side: str = "right") -> ContrastPattern:
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


def _nucleus(an: _Anatomy, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nuc = an.find(("nucleus",), level=level)
    centre = an.lm(level, "nucleus_centre")
    if nuc is not None and hasattr(nuc.solid, "radii"):
        radii = np.asarray(nuc.solid.radii, float)
        if radii.size == 2:  # cylinder: (a, b) + half height
            radii = np.array([radii[0], radii[1], nuc.solid.half_height])
        return centre, nuc.solid.rotation, radii
    upper, _ = _split(level)
    _, r = an.frame(upper)
    return centre, r, np.array([12.0, 9.0, 4.0])


def nucleogram(model, level: str, side: str | None = None) -> ContrastPattern:
    """Healthy disc: compact filling of the nucleus ("cotton ball" / bilobed) [clinical 3.8]."""
    an = _Anatomy(model)
    centre, rot, radii = _nucleus(an, level)
    pieces = [_ellipsoid(centre, rot, radii * [0.8, 0.8, 0.8], 0.0, 0.7)]
    # bilobed: two lobes either side of a faint midline cleft
    for sgn in (-1, 1):
        c = centre + rot[:, 0] * sgn * radii[0] * 0.35
        pieces.append(_ellipsoid(c, rot, radii * [0.45, 0.7, 0.85], 0.2, 0.9))
    return ContrastPattern("nucleogram", level, side, tuple(pieces), origin=_tup(centre))


def fissured_disc(model, level: str, side: str = "right") -> ContrastPattern:
    """Degenerated disc: irregular nucleus, fissures running out to the annulus [clinical 3.8]."""
    an = _Anatomy(model)
    centre, rot, radii = _nucleus(an, level)
    disc = an.find(("annulus", "disc"), level=level)
    outer = np.asarray(getattr(disc.solid, "radii", radii[:2] * 1.6), float)[:2] if disc is not None else radii[:2] * 1.6
    rng = _rng("fissured", level, side)
    pieces = []
    for k in range(5):
        off = rot[:, 0] * rng.normal(0, radii[0] * 0.35) + rot[:, 1] * rng.normal(0, radii[1] * 0.3)
        r = radii * np.array([0.35 + 0.2 * rng.random(), 0.35 + 0.2 * rng.random(), 0.55])
        pieces.append(_ellipsoid(centre + off, rot, r, 0.05 * k, 0.4 + 0.05 * k))
    sgn = _side_sign(side)
    # fissures: posterior / posterolateral (toward the painful side) and one circumferential
    for k, ang in enumerate((90.0, 90.0 - sgn * 35.0, 90.0 + sgn * 60.0)):
        a = math.radians(ang)
        direction = rot[:, 0] * math.cos(a) + rot[:, 1] * math.sin(a)
        reach = float(np.hypot(outer[0] * math.cos(a), outer[1] * math.sin(a))) * 0.97
        pieces.append(_capsule(centre + direction * radii[1] * 0.5, centre + direction * reach, 1.0,
                               0.35 + 0.1 * k, 0.75 + 0.08 * k))
    # a circumferential tear along the posterior annulus
    a0, a1 = math.radians(70.0), math.radians(110.0 + sgn * 20.0)
    pts = [centre + (rot[:, 0] * math.cos(t) * outer[0] + rot[:, 1] * math.sin(t) * outer[1]) * 0.88
           for t in np.linspace(a0, a1, 4)]
    for i in range(3):
        pieces.append(_capsule(pts[i], pts[i + 1], 0.9, 0.65 + 0.08 * i, 0.9 + 0.03 * i))
    return ContrastPattern("fissured_disc", level, side, tuple(pieces), origin=_tup(centre))


def vascular(model, level: str, side: str = "right", tip=None) -> ContrastPattern:
    """Intravascular uptake: fast, thin, branching streaks that then wash out [clinical 3.2].

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
    pieces = []
    # radicular artery medially to the front of the canal, then the anterior spinal artery
    # running up and down the midline (the hairpin), plus a few segmental branches laterally
    x_tip = float(np.dot(tip - o, r[:, 0]))
    mid = tip - r[:, 0] * x_tip + sup * 8.0 - post * 2.0
    pieces.append(_capsule(tip, mid, 0.55, 0.0, 0.08))
    pieces.append(_capsule(mid, mid + sup * 45.0, 0.5, 0.07, 0.22))
    pieces.append(_capsule(mid, mid - sup * 40.0, 0.5, 0.07, 0.22))
    for k in range(5):
        base = tip + (mid - tip) * rng.uniform(0.0, 0.4)
        d = lat * rng.uniform(0.5, 1.0) + sup * rng.uniform(-0.8, 0.8) - post * rng.uniform(0.0, 0.6)
        d /= np.linalg.norm(d)
        end = base + d * rng.uniform(15.0, 30.0)
        pieces.append(_capsule(base, end, 0.45, 0.02 + 0.03 * k, 0.15 + 0.03 * k))
        mid2 = (base + end) / 2
        d2 = d + sup * rng.choice([-1, 1]) * 0.9
        d2 /= np.linalg.norm(d2)
        pieces.append(_capsule(mid2, mid2 + d2 * rng.uniform(8, 15), 0.35, 0.12 + 0.03 * k, 0.25 + 0.03 * k))
    return ContrastPattern("vascular", level, side, tuple(pieces), washout=(0.35, 0.95), origin=_tup(tip))


def cement(model, level: str, side: str | None = None, tip=None) -> ContrastPattern:
    """Vertebroplasty: bone cement filling the body from the needle tip in its front third,
    spreading across the midline and up and down, never into the back quarter (clinical 3.9).

    ``level`` is the vertebra; ``tip`` the needle tip (default: the front third, midline)."""
    an = _Anatomy(model)
    body = an.find(("body",), level=level)
    if body is None:
        raise ValueError(f"no vertebral body at {level}")
    o, r = an.frame(level)
    centre = np.asarray(body.solid.center, float)
    lat_r, ap_r = (float(v) for v in np.asarray(body.solid.radii, float)[:2])
    half = float(body.solid.half_height)
    post = r[:, 1]
    start = np.asarray(tip, float) if tip is not None else centre - post * ap_r * 0.4
    pieces = [
        _ellipsoid(start, r, [lat_r * 0.3, ap_r * 0.3, half * 0.45], 0.0, 0.35),
        _ellipsoid(centre - post * ap_r * 0.3, r, [lat_r * 0.6, ap_r * 0.5, half * 0.7], 0.15, 0.7),
    ]
    for sgn in (-1.0, 1.0):  # the cement crosses the midline and fills both halves
        c = centre + r[:, 0] * sgn * lat_r * 0.35 - post * ap_r * 0.15
        pieces.append(_ellipsoid(c, r, [lat_r * 0.4, ap_r * 0.45, half * 0.75], 0.35, 0.95))
    return ContrastPattern("cement", level, side, tuple(pieces), origin=_tup(start))


PATTERNS = {
    "epidurogram": epidurogram,
    "interlaminar": epidurogram,
    "transforaminal": transforaminal,
    "root_sleeve": transforaminal,
    "caudal": caudal,
    "facet_arthrogram": facet_arthrogram,
    "si_arthrogram": si_arthrogram,
    "nucleogram": nucleogram,
    "fissured_disc": fissured_disc,
    "vascular": vascular,
    "cement": cement,
}


def contrast_pattern(name: str, model, level: str, side: str | None = "right", tip=None) -> ContrastPattern:
    """The named pattern (see the module doc) built from ``model``'s landmarks at ``level``
    (``tip``: where the needle tip is, for the patterns that start there: ``vascular``, ``cement``)."""
    try:
        build = PATTERNS[name]
    except KeyError:
        raise ValueError(f"unknown contrast pattern {name!r}; known: {', '.join(sorted(PATTERNS))}") from None
    if tip is not None and name in ("vascular", "cement"):
        return build(model, level, side, tip=tip)
    return build(model, level, side)
