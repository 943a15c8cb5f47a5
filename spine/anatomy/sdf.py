"""Signed distance functions (negative inside, millimetres) for the smooth bone surfaces.

A vertebra's surface is the zero level of one implicit function: a *smooth union* of
shaped primitives (a waisted, kidney-shaped body with rounded rims, oval pedicles, plates,
rods), so the parts blend into each other with fillets the way bone does instead of
meeting at the sharp creases of boxes and cylinders. :mod:`spine.anatomy.surfaces` samples
it on a grid once and meshes it (marching cubes); everything downstream reads the mesh.

Every function here takes ``(N, 3)`` points and returns ``(N,)`` distances. The primitive
distances are exact or conservative bounds (ellipses and ellipsoids use the usual
first-order estimate), which is all marching cubes and the fillets need.

:func:`solid_sdf` turns the convex solids of :mod:`spine.anatomy.solids` /
:mod:`spine.anatomy.shapes` (the placement of every part, built from the morphometry) into
rounded versions of themselves, so the smooth surface keeps the parts exactly where the
landmarks, the planner and the needle checks expect them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from spine.anatomy.shapes import ClippedBox, CutCylinder
from spine.anatomy.solids import Box, Capsule, Cylinder, Ellipsoid, Solid

__all__ = [
    "SDF",
    "smin",
    "smax",
    "round_box",
    "tapered_box",
    "part_sdf",
    "ellipse2",
    "ellipsoid",
    "capsule",
    "solid_sdf",
    "vertebral_body",
    "body_profile",
    "polygon2",
    "elliptic_tube",
    "extrude",
]

SDF = Callable[[np.ndarray], np.ndarray]


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth minimum (polynomial): the union of two solids with a fillet of about ``k`` mm."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    return np.minimum(a, b) - h * h * k * 0.25


def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth maximum: an intersection / subtraction with a rounded edge of about ``k`` mm."""
    return -smin(-a, -b, k)


def round_box(q: np.ndarray, half: np.ndarray, r: float) -> np.ndarray:
    """Box of half sizes ``half`` centred at the origin with edges rounded by ``r`` (local q)."""
    r = float(min(r, float(np.min(half)) * 0.999))
    d = np.abs(q) - (np.asarray(half, float) - r)
    outside = np.linalg.norm(np.maximum(d, 0.0), axis=1)
    inside = np.minimum(np.max(d, axis=1), 0.0)
    return outside + inside - r


def ellipse2(x: np.ndarray, y: np.ndarray, a, b) -> np.ndarray:
    """Approximate signed distance to the ellipse x^2/a^2 + y^2/b^2 = 1 (a, b may be arrays)."""
    k0 = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    k1 = np.sqrt((x / (a * a)) ** 2 + (y / (b * b)) ** 2)
    return np.where(k1 > 1e-12, k0 * (k0 - 1.0) / np.maximum(k1, 1e-12), -np.minimum(a, b))


def ellipsoid(q: np.ndarray, radii) -> np.ndarray:
    r = np.asarray(radii, float)
    k0 = np.linalg.norm(q / r, axis=1)
    k1 = np.linalg.norm(q / (r * r), axis=1)
    return np.where(k1 > 1e-12, k0 * (k0 - 1.0) / np.maximum(k1, 1e-12), -float(r.min()))


def capsule(p: np.ndarray, a, b, r: float) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - a - t[:, None] * ab, axis=1) - r


def _extrude(d2: np.ndarray, dz: np.ndarray, r: float) -> np.ndarray:
    """Combine an in-plane distance and an axial distance into a solid with rims rounded by r."""
    a, b = d2 + r, dz + r
    outside = np.sqrt(np.maximum(a, 0.0) ** 2 + np.maximum(b, 0.0) ** 2)
    return outside + np.minimum(np.maximum(a, b), 0.0) - r


def extrude(d2: np.ndarray, dz: np.ndarray, r: float) -> np.ndarray:
    """A solid from an in-plane distance ``d2`` and an axial distance ``dz`` (both negative
    inside), its rims rounded by ``r``: e.g. a profile swept along a curved bone."""
    return _extrude(d2, dz, r)


def _rounding(half_sizes, fraction: float = 0.35, cap: float = 2.0) -> float:
    return float(min(cap, fraction * float(np.min(half_sizes))))


def solid_sdf(solid: Solid, rounding: float | None = None) -> SDF:
    """A rounded version of a convex solid as a world-space SDF (the solid's own placement)."""
    if isinstance(solid, Capsule):
        p0, p1 = solid.endpoints
        return lambda p: capsule(p, p0, p1, solid.radius)
    if isinstance(solid, Ellipsoid):
        return lambda p: ellipsoid(solid.to_local(p), solid.radii)
    if isinstance(solid, Box):
        r = _rounding(solid.half_sizes) if rounding is None else rounding
        return lambda p: round_box(solid.to_local(p), solid.half_sizes, r)
    if isinstance(solid, ClippedBox):
        r = _rounding(solid.half_sizes) if rounding is None else rounding
        n, c = solid.plane[:3], solid.plane[3]

        def f(p):
            q = solid.to_local(p)
            return smax(round_box(q, solid.half_sizes, r), q @ n - c, r)

        return f
    if isinstance(solid, CutCylinder):
        r = _rounding(solid.radii) if rounding is None else rounding

        def f(p):
            q = solid.to_local(p)
            d = ellipse2(q[:, 0], q[:, 1], *solid.radii)
            for pl in (solid.top, solid.bottom):
                d = smax(d, q @ pl[:3] - pl[3], r)
            return d

        return f
    if isinstance(solid, Cylinder):
        # an oval tube with rounded ends (pedicles; the elliptic section is kept)
        r = _rounding(np.append(solid.radii, solid.half_height), 0.6) if rounding is None else rounding

        def f(p):
            q = solid.to_local(p)
            return _extrude(ellipse2(q[:, 0], q[:, 1], *solid.radii), np.abs(q[:, 2]) - solid.half_height, r)

        return f
    if hasattr(solid, "sdf"):
        return solid.sdf
    raise TypeError(f"no signed distance for {type(solid).__name__}")


def tapered_box(q: np.ndarray, half, r: float, axis: int, scales: dict[int, tuple[float, float]]) -> np.ndarray:
    """A rounded box whose other dimensions change linearly along ``axis``: ``scales[k] =
    (s0, s1)`` multiplies half size k from the -axis end (s0) to the +axis end (s1)."""
    half = np.asarray(half, float)
    t = np.clip((q[:, axis] / half[axis] + 1.0) / 2.0, 0.0, 1.0)
    qs = q.copy()
    m = np.ones(len(q))
    for k, (s0, s1) in scales.items():
        f = s0 + (s1 - s0) * t
        qs[:, k] = q[:, k] / f
        m = np.minimum(m, f)
    return round_box(qs, half, r) * m


def _profiled(q: np.ndarray, hy: float, r: float, prof) -> np.ndarray:
    """A rounded solid along local y (-hy .. +hy) whose x and z half sizes and z centre follow
    ``prof(t) -> (hx, zc, hz)`` with t = 0 at -hy and 1 at +hy (a profile swept along y)."""
    t = np.clip((q[:, 1] / hy + 1.0) / 2.0, 0.0, 1.0)
    hx, zc, hz = prof(t)
    qs = np.column_stack([q[:, 0] / hx, q[:, 1], (q[:, 2] - zc) / hz])
    m = np.minimum(np.minimum(hx, hz), 1.0)
    return round_box(qs, np.array([1.0, hy, 1.0]), min(r, 0.999)) * m


def _articular(q: np.ndarray, h: np.ndarray, free_end: float, free_side: float, r: float) -> np.ndarray:
    """An articular process in its joint frame (x across the joint, y along it, z up): a plate
    whose outline is a tongue rounded at its free end (``free_end`` +1: the top, a superior
    process; -1: the bottom, an inferior one) and which bulges on its non-articular side
    (``free_side``: the sign of x there), so it reads as a knob of bone, not a slab."""
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    hx, hy, hz = (float(v) for v in h)
    # outline in the joint plane: a rectangle cut by a tall ellipse centred toward the root
    zc = -free_end * 0.6 * hz
    d_out = np.maximum(np.abs(y) - hy, np.abs(z) - hz)
    d_out = smax(d_out, ellipse2(y, z - zc, 1.08 * hy, 1.6 * hz), 1.0)
    # thickness: the articular face is flat (curved for the lumbar facets, by the caller); the
    # other face bulges by up to 45 % of the thickness in the middle of the plate
    bulge = 0.3 * hx * np.clip(1.0 - (y / hy) ** 2, 0.0, 1.0) * np.clip(1.0 - ((z - zc) / (1.6 * hz)) ** 2, 0.0, 1.0)
    lo = -hx - np.where(free_side < 0, bulge, 0.0)
    hi = hx + np.where(free_side > 0, bulge, 0.0)
    d_x = np.maximum(lo - x, x - hi)
    return _extrude(d_out, d_x, r)


def part_sdf(kind: str, region: str, level: str, solid: Solid, posterior: np.ndarray | None = None) -> SDF:
    """A bone part's shape: the convex part rounded, and where the region asks for it shaped.

    * articular processes (all regions): tongues rounded at their free ends, bulging on their
      non-articular side; lumbar facets curved (a J in the axial section) and the lumbar SAP
      carrying the mammillary process on its posterior border;
    * laminae: plates whose lower border arches up between the spinous root and the inferior
      articular process (the roof of the interlaminar window);
    * lumbar transverse process: a flattened rod tapering to a rounded tip;
    * thoracic transverse process: club-shaped, thicker at its tip (the rib's costal facet);
    * lumbar spinous process: hatchet-shaped: thin side to side, its height growing toward
      a thickened posterior border, the lower border sloping down;
    * thoracic spinous process: a long rod tapering to a small tubercle, sloping down;
    * cervical C3-C6 spinous process: bifid (two tubercles at the tip, a notch between).

    ``posterior``: the world's posterior direction of the part's vertebra (the mammillary
    process sits on the SAP's posterior edge).
    """
    if isinstance(solid, Box):
        h = solid.half_sizes
        if kind == "tp" and region == "lumbar":
            hx, hy, hz = (float(v) for v in h)

            def lumbar_tp(p):
                q = solid.to_local(p)
                q = q[:, [1, 0, 2]]  # swept along the process (its local x)
                return _profiled(q, hx, 0.95, lambda t: (hy * (0.9 - 0.25 * t), 0.0 * t, hz * (0.85 - 0.35 * t**1.3)))

            return lumbar_tp
        if kind == "tp" and region == "thoracic":
            hx, hy, hz = (float(v) for v in h)

            def thoracic_tp(p):
                q = solid.to_local(p)[:, [1, 0, 2]]
                return _profiled(q, hx, 0.95, lambda t: (hy * (0.8 + 0.35 * t**2), 0.0 * t, hz * (0.75 + 0.35 * t**2)))

            return thoracic_tp
        if kind == "spinous_process" and region == "lumbar":
            hx, hy, hz = (float(v) for v in h)

            def blade(t):
                top, bottom = hz * (0.7 + 0.25 * t), -hz * (0.72 + 0.33 * t)
                return hx * (0.75 + 0.15 * t), (top + bottom) / 2, (top - bottom) / 2

            def hatchet(p):
                q = solid.to_local(p)
                # a blade whose upper border rises a little and lower border slopes down
                # toward the tip, on a narrower neck at the lamina
                d = _profiled(q, hy, 0.9, blade)
                # the thickened posterior border (the tip): a vertical ridge
                tip = ellipsoid(q - np.array([0.0, hy - 5.0, -0.05 * hz]), (hx * 1.0, 5.5, hz * 0.95))
                return smin(d, tip, 3.0)

            return hatchet
        if kind == "spinous_process" and region == "thoracic":
            hx, hy, hz = (float(v) for v in h)
            profile = lambda t: (hx * (1.05 - 0.4 * t), 0.0 * t, hz * (1.2 - 0.7 * t))  # noqa: E731
            return _tubercle_tipped(solid, hy, 0.95, profile, 2.5, (hx * 0.7, 3.0, hz * 0.55))
        if kind == "spinous_process" and region == "cervical":
            bifid = level in ("C2", "C3", "C4", "C5", "C6")
            r = 0.7 * float(min(h[0], h[2]))
            hx, hy, hz = (float(v) for v in h)
            if not bifid:  # C7: long, tapering to a rounded tubercle (vertebra prominens)
                profile = lambda t: (hx * (0.9 - 0.2 * t), 0.0 * t, hz * (1.0 - 0.4 * t))  # noqa: E731
                return _tubercle_tipped(solid, hy, 0.9, profile, 3.0, (hx * 1.1, 3.5, hz * 0.75))

            def bifid_sp(p):
                q = solid.to_local(p)
                # a rod of rounded section, lower toward its tip, where it splits in two
                d = _profiled(q, hy, 0.9, lambda t: (hx * (0.75 + 1.1 * t**2), 0.0 * t, hz * (1.0 - 0.3 * t)))
                notch = capsule(q, (0.0, h[1] + 1.0, -h[2] - 1.0), (0.0, h[1] + 1.0, h[2] + 1.0), 0.35 * h[1])
                return smax(d, -notch, 1.0)

            return bifid_sp
        if kind in ("sap", "iap"):
            free_end = 1.0 if kind == "sap" else -1.0
            free_side = -1.0 if kind == "sap" else 1.0
            r = 0.4 * float(min(h))
            curved = region == "lumbar" and h[2] > h[1] * 0.5
            # lumbar facets are curved (a J in the axial section): the plate bends about a
            # vertical axis so both its ends come round toward the joint's partner (local x
            # is the joint normal, from the SAP toward the IAP; y runs along the joint)
            bend = 0.045 if curved else 0.0  # 1/mm: ~1.9 mm at the ends of a 13 mm facet
            mammillary = None
            if curved and kind == "sap" and posterior is not None:
                # on the posterior border of the SAP, a rounded tubercle [Gray's, ch. 44]
                back = 1.0 if float(solid.rotation[:, 1] @ posterior) > 0 else -1.0
                mammillary = np.array([-0.9 * h[0], back * 0.95 * h[1], -0.1 * h[2]])

            def articular(p):
                q = solid.to_local(p)
                q[:, 0] -= bend * q[:, 1] ** 2
                d = _articular(q, h, free_end, free_side, r)
                if mammillary is not None:
                    d = smin(d, ellipsoid(q - mammillary, (2.0, 2.0, 3.0)), 1.2)
                return d

            return articular
        if kind == "lamina":
            hx, hy, hz = (float(v) for v in h)
            arch = {"lumbar": 0.55, "thoracic": 0.3, "cervical": 0.2}.get(region, 0.0) * 2 * hy
            r = 0.45 * float(min(h))

            def lamina(p):
                q = solid.to_local(p)
                d = round_box(q, h, r)
                if arch > 0:
                    # the lower border arches up between the spinous root (+x) and the pillar
                    cut = ellipse2(q[:, 0] + 0.1 * hx, q[:, 1] - hy, 0.62 * hx, arch)
                    d = smax(d, -cut, 2.0)
                return d

            return lamina
        if kind == "pars":
            return solid_sdf(solid, 0.45 * float(min(h)))
    if region in ("sacral", "pelvis") and isinstance(solid, (Box, ClippedBox)):
        # the sacrum's and the ilium's blocks: well rounded, so the fused bone reads as one
        return solid_sdf(solid, float(min(8.0, 0.6 * float(np.min(solid.half_sizes)))))
    return solid_sdf(solid)


def _tubercle_tipped(solid, hy: float, reach: float, profile, tip_back: float, tip_radii):
    """A spinous process tapering along ``profile`` (see :func:`_profiled`) and ending in a
    rounded tubercle, an ellipsoid of ``tip_radii`` centred ``tip_back`` mm in from its end."""

    def spinous(p):
        q = solid.to_local(p)
        d = _profiled(q, hy, reach, profile)
        tub = ellipsoid(q - np.array([0.0, hy - tip_back, 0.0]), tip_radii)
        return smin(d, tub, 1.5)

    return spinous


def body_profile(region: str) -> dict:
    """Shape constants of a vertebral body per region (dimensionless unless noted).

    ``waist``: how much narrower the body is at mid-height than at its endplates, front and
    sides (lumbar ~0.9 of the endplate width: Panjabi 1992 Fig. 4 / Zhou 2000: the
    mid-height width is about 88-93 % of the endplate width); ``back_bite_mm``: depth of the
    concave posterior wall; ``front_bulge``: how far the widest point sits behind mid-depth;
    ``rim_mm``: the rounded rim (ring apophysis) radius; ``back_waist``: the waist of the
    posterior wall; the endplates' concavity is :func:`endplate_concavity`.
    """
    return dict(_BODY_PROFILES.get(region, _BODY_PROFILES["other"]))


# fmt: off
_BODY_PROFILES = {  # region: waist, back bite (mm), front bulge, rim (mm), back waist
    "lumbar":   {"waist": 0.13, "back_bite_mm": 1.8, "front_bulge": 0.62, "rim_mm": 2.0, "back_waist": 0.02},
    "thoracic": {"waist": 0.12, "back_bite_mm": 1.6, "front_bulge": 0.60, "rim_mm": 1.6, "back_waist": 0.02},
    "cervical": {"waist": 0.10, "back_bite_mm": 0.5, "front_bulge": 0.85, "rim_mm": 1.0, "back_waist": 0.0},
    "other":    {"waist": 0.07, "back_bite_mm": 0.8, "front_bulge": 0.7, "rim_mm": 1.6, "back_waist": 0.0},
}
# fmt: on


#: concavity depth (mm) of a lumbar body's superior and inferior endplate: 0.7 mm for the caudal
#: endplate of a disc (the superior endplate of the vertebra below it) and 1.5 mm for the cranial one
#: (the inferior endplate of the vertebra above); the central endplate is about 70 % of the
#: endplate's diameter, ringed by the flat epiphyseal rim (Wang Y, Battie MC, Videman T. A
#: morphological study of lumbar vertebral endplates. Eur Spine J 2012;21:2316-23; 591 endplates)
LUMBAR_ENDPLATE_DISH_MM = (0.7, 1.5)
ENDPLATE_CENTRAL_FRACTION = 0.7


def endplate_concavity(region: str, depth: float) -> tuple[float, float]:
    """(superior, inferior) endplate concavity in mm: the lumbar figures, scaled by the body's depth
    elsewhere (about; 35 mm is a lumbar body's depth); the fused sacral segments have none."""
    if region not in ("cervical", "thoracic", "lumbar"):
        return 0.0, 0.0
    scale = 1.0 if region == "lumbar" else min(1.0, depth / 35.0)
    sup, inf = LUMBAR_ENDPLATE_DISH_MM
    return sup * scale, inf * scale


def endplate_dish(x, y, a: float, b: float, depth) -> np.ndarray:
    """How far (mm) the endplate lies inside the body's end plane at in-plane point (x, y) (y from
    the centre of the body's section, semi-axes a, b): a smooth bowl of ``depth`` at the centre,
    zero over the outer rim (outside ``ENDPLATE_CENTRAL_FRACTION`` of the radius)."""
    rho2 = (x / a) ** 2 + (y / b) ** 2
    s = np.clip(1.0 - rho2 / ENDPLATE_CENTRAL_FRACTION**2, 0.0, 1.0)
    return depth * s * s


def vertebral_body(width: float, depth: float, height: float, region: str, uncinate: bool = False) -> SDF:
    """The vertebral body in its local frame (x left, y posterior, z superior; centre at 0).

    Axial section: an ellipse ``front_bulge * depth`` deep centred behind mid-depth, cut flat
    at the posterior wall (the kidney shape of thoracic and lumbar bodies) and dished by a
    shallow bite there (the concave back wall that the basivertebral vein enters). The front
    and sides narrow towards mid-height (the waist); the rims are rounded and raised around
    dished endplates. A cervical body (``uncinate``: C3-C7) carries the uncinate processes on
    the posterolateral edges of its upper endplate, and every cervical body a lip hanging from
    the front of its lower endplate [Gray's Anatomy, 41st ed., ch. 43].
    """
    pr = body_profile(region)
    w2, d2, h2 = width / 2, depth / 2, height / 2
    fb = pr["front_bulge"]
    b_e = depth * fb  # ellipse half-depth
    y_c = -d2 + b_e  # its centre: the front of the ellipse is the front of the body
    # half-width of the ellipse such that its widest point equals the body's half-width
    a_e = w2
    bite_r = max(width * 0.45, 8.0)
    bite_c = d2 + bite_r - pr["back_bite_mm"]
    rim = min(pr["rim_mm"], 0.3 * height)
    dish_superior, dish_inferior = endplate_concavity(region, depth)
    lip = region == "cervical"

    def f(q):
        x, y, z = q[:, 0], q[:, 1], q[:, 2]
        t = np.clip(z / h2, -1.0, 1.0)
        # narrowest at mid-height, flaring to the rims (the ring apophyses overhang the waist)
        waist = 1.0 - pr["waist"] * (1.0 - t * t) ** 2
        # the waist pulls the front and sides in; the back wall stays nearly straight
        scale_x = waist
        scale_y = np.where(y < y_c, waist, 1.0 - pr["back_waist"] * (1.0 - t * t) ** 2)
        d_ell = ellipse2(x / scale_x, (y - y_c) / scale_y, a_e, b_e) * np.minimum(scale_x, 1.0)
        d_back = y - d2  # flat posterior wall
        d2d = smax(d_ell, d_back, 3.0)
        bite = -(np.sqrt(x * x + (y - bite_c) ** 2) - bite_r)  # outside the bite circle
        d2d = smax(d2d, bite, 2.0)
        # the endplates are dished (flat endplates seen edge-on by a level beam drew a line)
        dish = endplate_dish(x, y, w2, d2, np.where(z < 0, dish_inferior, dish_superior))
        d = _extrude(d2d, np.abs(z) - h2 + dish, rim)
        if uncinate:
            # uncinate processes: the posterolateral edges of the upper endplate turned up
            for sx in (-1.0, 1.0):
                c = np.array([sx * (w2 - 2.0), 0.25 * d2, h2 - 0.3])
                d = smin(d, ellipsoid(q - c, (2.2, 0.4 * depth, 2.2)), 1.5)
        if lip:
            # the front of the lower endplate hangs forward and down as a lip
            d = smin(d, ellipsoid(q - np.array([0.0, -d2 + 1.2, -h2 + 0.6]), (0.3 * width, 1.4, 1.4)), 0.8)
        return d

    return f


# -- sacrum and pelvis -----------------------------------------------------------------------
def polygon2(u: np.ndarray, v: np.ndarray, poly) -> np.ndarray:
    """Signed distance (negative inside) to a closed 2D polygon ``poly`` (M, 2) in the (u, v)
    plane; exact (the nearest edge, the even-odd rule for the sign). One pass per edge, so
    memory stays the size of the points."""
    poly = np.asarray(poly, float)
    d2 = np.full(len(u), np.inf)
    inside = np.zeros(len(u), bool)
    for i in range(len(poly)):
        a, c = poly[i], poly[(i + 1) % len(poly)]
        e = c - a
        wu, wv = u - a[0], v - a[1]
        t = np.clip((wu * e[0] + wv * e[1]) / max(float(e @ e), 1e-12), 0.0, 1.0)
        du, dv = wu - t * e[0], wv - t * e[1]
        d2 = np.minimum(d2, du * du + dv * dv)
        crosses = (a[1] > v) != (c[1] > v)
        x_at = a[0] + (v - a[1]) * e[0] / np.where(np.abs(e[1]) > 1e-12, e[1], 1e-12)
        inside ^= crosses & (u < x_at)
    d = np.sqrt(d2)
    return np.where(inside, -d, d)


def elliptic_tube(q: np.ndarray, radii, z0: float, z1: float) -> np.ndarray:
    """An elliptic cylinder along local z from ``z0`` to ``z1`` (flat ends), radii (rx, ry)."""
    d = ellipse2(q[:, 0], q[:, 1], radii[0], radii[1])
    dz = np.maximum(z0 - q[:, 2], q[:, 2] - z1)
    return np.maximum(d, dz)
