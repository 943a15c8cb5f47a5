"""Soft tissue of the spine model: canal, dural sac, cord, cauda equina, epidural space,
ligamentum flavum, neural foramina, the 31 pairs of nerve roots and the vertebral-artery
zone. Numbers marked [ref] come from clinical.md section 1:

* the cord ends at the conus medullaris ~L1-L2 (range mid-T11 to L3); below it the cauda
  equina and the filum terminale;
* the dural sac ends ~S2 (S1-S3);
* the epidural space runs from the foramen magnum to the sacral hiatus; its dorsal depth
  (dura to ligamentum flavum) is 1-2 mm in the neck and 5-6 mm at L2-L3;
* the ligamentum flavum is ~3.2-3.7 mm thick in the lumbar spine, with midline gaps in
  the neck;
* roots exit by the rule of :func:`spine.anatomy.levels.exiting_root`, below their own
  pedicle from T1 down (S1 through the S1 foramina).

Tube-like tissue (canal, sac, cord, epidural space) is made of one
:class:`~spine.anatomy.shapes.CutCylinder` per vertebra whose ends are the joint planes
above and below, so consecutive pieces meet without gaps along the curve.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from spine.anatomy.bones import SIDES, SIGN, frame_axes, sacral_foramen_geometry, transverse_foramen
from spine.anatomy.frames import Frame
from spine.anatomy.levels import INTERSPACES, NERVE_ROOTS, VERTEBRAE, parse_level, region_of, root_exit
from spine.anatomy.morphometry import ROOT_RADII
from spine.anatomy.shapes import CutCylinder, Tube, smooth_path
from spine.anatomy.solids import Box, Capsule, Ellipsoid, Material

if TYPE_CHECKING:  # pragma: no cover
    from spine.anatomy.builder import ModelBuilder as _Builder

NEURAL = Material.NEURAL
SOFT = Material.SOFT_TISSUE

_SAC_LATERAL_MARGIN = {"cervical": 2.5, "thoracic": 2.0, "lumbar": 3.0, "sacral": 3.0}
# Foramen AP depth (posterior body wall to the front of the SAP) [typical]
_FORAMEN_AP = {"cervical": 5.5, "thoracic": 6.0, "lumbar": 8.0}


def _cord_radii(name: str) -> tuple[float, float]:
    """(half width, half AP) of the cord [typical]: cervical and lumbar enlargements."""
    region = region_of(name)
    n = int(name[1:])
    if region == "cervical":
        return (6.5, 4.2) if n >= 4 else (5.5, 4.0)
    if n == 1:
        return 6.0, 4.1
    if n >= 10:
        return 5.0, 4.0
    return 4.5, 3.8


def tube(b: "_Builder", name: str) -> dict:
    """Canal and dural-sac cross-section of one vertebra in its frame (x, y centre, radii)."""
    sz = b.size[name]
    k = b.scale
    region = region_of(name)
    if name == "C1":
        front, back = 6.5 * k, b.anchors["C1"]["canal_back_y"]  # behind the dens to the posterior arch
        half_w = 13.0 * k
        epi = sz.epidural_dorsal
    else:
        front = sz.body_depth / 2
        back = front + sz.canal_depth
        half_w = sz.canal_width / 2
        epi = sz.epidural_dorsal
    ventral = b.params.epidural_ventral_mm * k
    sac_ry = (back - front - ventral - epi) / 2
    sac_y = front + ventral + sac_ry
    sac_rx = half_w - _SAC_LATERAL_MARGIN[region if region != "coccygeal" else "sacral"] * k
    return {
        "canal_y": (front + back) / 2,
        "canal_r": ((back - front) / 2, half_w),
        "sac_y": sac_y,
        "sac_rx": sac_rx,
        "sac_ry": sac_ry,
        "front": front,
        "back": back,
        "epi": epi,
    }


def _planes(b, name) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(top point, top normal, bottom point, bottom normal) bounding one vertebra's tube piece."""
    names = list(VERTEBRAE)
    i = names.index(name)
    f = b.frames[name]
    h = b.size[name].body_height
    if i == 0:
        top_p, top_n = f.p(0, 0, h / 2 + 8.0 * b.scale), f.z  # foramen magnum
    else:
        jf = b.chain.joints[f"{names[i - 1]}-{name}"]
        top_p, top_n = jf.origin, jf.z
    if i + 1 < len(names):
        jf = b.chain.joints[f"{name}-{names[i + 1]}"]
        bot_p, bot_n = jf.origin, jf.z
    else:
        bot_p, bot_n = f.p(0, 0, -h / 2), f.z
    return top_p, top_n, bot_p, bot_n


#: the canal's axial section per region, as the points its flat sides pass through (fractions
#: of the section's half width and half depth; y posterior): the lumbar and sacral canal is
#: a rounded triangle with a flat front (the backs of the bodies and discs), its lateral
#: recesses in the front corners, narrowing back to the laminae's apex; the cervical canal a
#: wide triangle; the thoracic canal round [Panjabi MM et al. Spine 1991;16:861-9 and
#: 1992;17:299-306; Gray's Anatomy, 41st ed., ch. 43]. ``front``: where the flat front cuts
#: the ellipse; ``side``: two points of each posterolateral side (x, y).
_CANAL_SECTION = {
    "cervical": {"front": -0.85, "side": ((1.10, -0.20), (0.35, 1.0))},
    "thoracic": None,
    "lumbar": {"front": -0.80, "side": ((1.05, -0.30), (0.30, 1.0))},
    "sacral": {"front": -0.95, "side": ((1.05, -0.30), (0.30, 1.0))},
}
#: the dural sac is rounder than the canal around it: gentler sides, the same flat front
_SAC_SECTION = {
    "cervical": {"front": -0.90, "side": ((1.15, -0.20), (0.55, 1.0))},
    "thoracic": None,
    "lumbar": {"front": -0.85, "side": ((1.15, -0.20), (0.50, 1.0))},
    "sacral": {"front": -0.85, "side": ((1.15, -0.20), (0.50, 1.0))},
}


def _section(table: dict, region: str, rx: float, ry: float, dy: float = 0.0) -> np.ndarray | None:
    """Flat sides (local half-spaces ``(nx, ny, 0, c)``) of a section of half width ``rx`` and
    half depth ``ry`` whose centre lies ``dy`` behind the piece's axis."""
    shape = table.get("sacral" if region == "coccygeal" else region)
    if shape is None:
        return None
    out = [np.array([0.0, -1.0, 0.0, -(shape["front"] * ry + dy)])]  # keeps y >= front
    (ax, ay), (bx, by) = shape["side"]
    for sgn in (1.0, -1.0):
        a = np.array([sgn * ax * rx, ay * ry + dy])
        c = np.array([sgn * bx * rx, by * ry + dy])
        t = (c - a) / np.linalg.norm(c - a)
        n = np.array([t[1], -t[0]])
        if n[0] * sgn < 0:
            n = -n  # outward, to the side
        out.append(np.array([n[0], n[1], 0.0, float(n @ a)]))
    return np.array(out)


def _piece(b, name, y, rx, ry, top=None, bottom=None, sides=None) -> CutCylinder:
    f = b.frames[name]
    tp, tn, bp, bn = _planes(b, name)
    if top is not None:
        tp, tn = top
    if bottom is not None:
        bp, bn = bottom
    return CutCylinder.between_planes(f.p(0, y, 0), f.R, (rx, ry), tp, tn, bp, bn, sides)


def _axis_point(b, name, y, plane_point, plane_normal) -> np.ndarray:
    """Where the line x=0, y=y (local to ``name``) along its z axis meets a plane."""
    f = b.frames[name]
    p0 = f.p(0, y, 0)
    t = float(np.dot(plane_point - p0, plane_normal) / np.dot(f.z, plane_normal))
    return p0 + f.z * t


def _level_point(b, level: str, y_of) -> np.ndarray:
    """Point on the sac axis at a level: a vertebra's middle or an interspace's disc plane."""
    parsed = parse_level(level)
    if hasattr(parsed, "upper"):
        jf = b.chain.joints[str(parsed)]
        return _axis_point(b, parsed.upper, y_of(parsed.upper), jf.origin, jf.z)
    return b.frames[parsed.name].p(0, y_of(parsed.name), 0)


def build_soft_tissue(b: "_Builder") -> None:
    _canal_sac_cord(b)
    _ligamentum_flavum(b)
    _foramina(b)
    _sacral_foramina(b)
    _roots(b)
    _vertebral_artery(b)
    _pleura(b)


def _canal_sac_cord(b):
    k = b.scale
    names = list(VERTEBRAE)
    canal_levels = [n for n in names if not n.startswith("Co")]
    end = parse_level(b.params.dural_sac_end)
    end_v = end.upper if hasattr(end, "upper") else end.name
    i_end = names.index(end_v)
    conus = parse_level(b.params.conus_level)
    conus_v = conus.upper if hasattr(conus, "upper") else conus.name
    i_conus = names.index(conus_v)
    tubes = {n: tube(b, n) for n in canal_levels}
    b.anchors["tube"] = tubes
    for n in canal_levels:
        t = tubes[n]
        region = region_of(n)
        canal_sides = _section(_CANAL_SECTION, region, t["canal_r"][1], t["canal_r"][0])
        piece = _piece(b, n, t["canal_y"], t["canal_r"][1], t["canal_r"][0], sides=canal_sides)
        b.add(f"canal.{n}", "canal", SOFT, piece, level=n)
    # dural sac: pieces down to the vertebra above the end, then a tapered end
    for i, n in enumerate(canal_levels):
        t = tubes[n]
        if i < i_end:
            sac_sides = _section(_SAC_SECTION, region_of(n), t["sac_rx"], t["sac_ry"])
            sac = _piece(b, n, t["sac_y"], t["sac_rx"], t["sac_ry"], sides=sac_sides)
            b.add(f"dural_sac.{n}", "dural_sac", NEURAL, sac, level=n)
        elif i == i_end:
            tp, tn, _, _ = _planes(b, n)
            prev_name = canal_levels[i - 1]
            prev = tubes[prev_name]
            # the end cap straddles the joint plane: halfway between where the piece above
            # ends and this level's sac axis, narrowed to fit both canals
            top_above = _axis_point(b, prev_name, prev["sac_y"], tp, tn)
            top_here = _axis_point(b, n, t["sac_y"], tp, tn)
            top = (top_above + top_here) / 2
            shift = float(np.linalg.norm(top_above - top_here)) / 2
            tip = _level_point(b, b.params.dural_sac_end, lambda v: tubes[v]["sac_y"])
            rot = frame_axes(top - tip, up=b.frames[n].y)  # local x ~ left, y ~ posterior
            rx = min(prev["sac_rx"], 0.7 * t["canal_r"][1])  # inside the triangular sacral canal
            ry = min(prev["sac_ry"], t["canal_r"][0] - 1.0 * k - shift)
            cap = Ellipsoid(top, rot, (rx, ry, float(np.linalg.norm(top - tip))))
            b.add(f"dural_sac.{n}", "dural_sac", NEURAL, cap, level=n)
            b.anchors["dural_sac_end"] = tip
        # dorsal epidural space (fat) between the sac and the ligamentum flavum / laminae
        if i <= i_end:
            # the dorsal fat pad between the sac and the ligamentum flavum and laminae: a lens
            # across the canal's back, cut by the canal's own flat sides (triangular where the
            # canal is); its centre is in the fat (the SCS lead's target)
            epi = max(t["epi"], 0.5 * k)
            y = t["sac_y"] + t["sac_ry"] + epi / 2
            rx, ry = t["canal_r"][1], t["canal_r"][0]
            sides = _section(_CANAL_SECTION, region_of(n), rx, ry, t["canal_y"] - y)
            if sides is None:  # a round canal: a crescent as wide as the sac's back, as before
                piece = _piece(b, n, y, t["sac_rx"] * 0.75, epi / 2)
            else:
                piece = _piece(b, n, y, rx, epi / 2, sides=sides[1:])
        else:  # below the sac the whole sacral canal is epidural space (caudal route)
            piece = _piece(b, n, t["canal_y"], t["canal_r"][1] - 0.5 * k, t["canal_r"][0] - 0.5 * k)
        b.add(f"epidural.{n}", "epidural_space", SOFT, piece, level=n)
    # cord, conus, cauda equina, filum terminale
    for i, n in enumerate(canal_levels[:i_conus]):
        t = tubes[n]
        rx, ry = (r * k for r in _cord_radii(n))
        b.add(f"cord.{n}", "cord", NEURAL, _piece(b, n, t["sac_y"], rx, ry), level=n)
    above = canal_levels[i_conus - 1]
    tp, tn, _, _ = _planes(b, conus_v)
    top = _axis_point(b, above, tubes[above]["sac_y"], tp, tn)  # where the last cord piece ends
    tip = _level_point(b, b.params.conus_level, lambda v: tubes[v]["sac_y"])
    rx, ry = (r * k for r in _cord_radii(above))
    rot = frame_axes(top - tip, up=b.frames[conus_v].y)
    b.add("conus", "conus", NEURAL, Ellipsoid(top, rot, (rx, ry, float(np.linalg.norm(top - tip)))), level=conus_v)
    b.anchors["conus_tip"] = tip
    for n in canal_levels[i_conus + 1 : i_end]:
        t = tubes[n]
        b.add(
            f"cauda_equina.{n}",
            "cauda_equina",
            NEURAL,
            _piece(b, n, t["sac_y"], t["sac_rx"] * 0.6, t["sac_ry"] * 0.6),
            level=n,
        )
    # filum terminale: from the conus tip to the end of the sac, following the canal's curve
    # (one thin capsule per level between points on the sac's axis)
    sac_end = b.anchors["dural_sac_end"]
    path = [tip]
    for n in canal_levels[i_conus + 1 : i_end + 1]:
        tp_, tn_, _, _ = _planes(b, n)
        path.append(_axis_point(b, n, tubes[n]["sac_y"], tp_, tn_))
    path.append(sac_end)
    levels_of = [conus_v] + canal_levels[i_conus + 1 : i_end + 1]
    for (a, c), lv in zip(zip(path, path[1:]), levels_of):
        if np.linalg.norm(c - a) < 1.0 * k:
            continue
        b.add(f"filum_terminale.{lv}", "filum_terminale", NEURAL, Capsule.between(a, c, 0.5 * k), level=lv)


def _jointed_spaces(b):
    """Each interspace C2-C3 ... L5-S1 as (name, upper vertebra, lower vertebra, the joint's
    frame, the upper and the lower vertebra's frames)."""
    for space in INTERSPACES[1:]:
        upper, lower = space.split("-")
        yield space, upper, lower, b.chain.joints[space], b.frames[upper], b.frames[lower]


def _ligamentum_flavum(b):
    """Two halves per interspace C2-C3 ... L5-S1, on the canal's back wall between laminae."""
    k = b.scale
    for space, upper, lower, jf, fu, fl in _jointed_spaces(b):
        au, al = b.anchors[upper], b.anchors[lower]
        t = b.space[space].lf_thickness
        p_u = jf.local(fu.p(0, au["lamina_bottom_y"], au["lamina_bottom_z"]))
        p_v = jf.local(fl.p(0, al["canal_back_y"], al["lamina_top_z"]))
        z_lo, z_hi = min(p_u[2], p_v[2]), max(p_u[2], p_v[2])
        if z_hi - z_lo < 6.0 * k:
            mid = (z_hi + z_lo) / 2
            z_lo, z_hi = mid - 3.0 * k, mid + 3.0 * k
        # the ligament's front is the canal's back wall: behind both neighbours' dura
        y_front_u = jf.local(fu.p(0, au["canal_back_y"], au["lamina_bottom_z"]))[1]
        y_front = max(p_v[1], y_front_u)
        gap = 0.75 * k if region_of(lower) == "cervical" else 0.0
        facet = b.anchors[("facet", space)]
        for side in SIDES:
            s = SIGN[side]
            fc = jf.local(facet[side]["centre"])
            x_out = max(abs(fc[0]) - 5.0 * k, 6.0 * k)
            lam = jf.local(fu.p(*au[("lamina_centre", side)]))
            phi = math.atan2(max(lam[1] - (p_u[1] - 3 * k), 0.0), max(abs(lam[0]), 1e-6)) * 0.5
            a1 = np.array([s * math.cos(phi), -math.sin(phi), 0.0])
            a2 = np.array([0.0, 0.0, 1.0])
            a3 = np.cross(a1, a2)
            if a3[1] < 0:
                a3 = -a3
            length = x_out - gap
            c = np.array([s * gap, y_front, (z_lo + z_hi) / 2]) + a1 * length / 2 + a3 * t / 2
            rot = np.column_stack([a1, a3, np.cross(a1, a3)])
            lf = Box(jf.p(*c), jf.rot(rot), (length / 2, t / 2, (z_hi - z_lo) / 2))
            b.add(f"{space}.ligamentum_flavum.{side}", "ligamentum_flavum", SOFT, lf, level=space, side=side)
        b.anchors[("window", space)] = {
            "front": jf.p(0, y_front, (z_lo + z_hi) / 2),
            "back": jf.p(0, y_front + t, (z_lo + z_hi) / 2),
            "half_height": (z_hi - z_lo) / 2,
            "thickness": t,
            "half_width": max(abs(jf.local(b.anchors[("facet", space)]["left"]["centre"])[0]) - 5.0 * k, 6.0 * k),
        }


def _foramina(b):
    k = b.scale
    for space, upper, lower, jf, fu, fl in _jointed_spaces(b):
        su, sl = b.size[upper], b.size[lower]
        region = "lumbar" if space == "L5-S1" else region_of(upper)
        ap = _FORAMEN_AP[region] * k
        # heights of the pedicle floor above and roof below, measured where the pedicles are
        pu = b.anchors[upper][("pedicle_centre", "left")]
        pl = b.anchors[lower][("pedicle_centre", "left")]
        z_top = jf.local(fu.p(pu[0], pu[1], pu[2] - su.pedicle_height / 2))[2]
        z_bot = jf.local(fl.p(pl[0], pl[1], pl[2] + sl.pedicle_height / 2))[2]
        y_front = jf.local(fu.p(0, su.body_depth / 2, 0))[1] * 0.5 + jf.local(fl.p(0, sl.body_depth / 2, 0))[1] * 0.5
        out = {}
        for side in SIDES:
            s = SIGN[side]
            x = 0.5 * (
                abs(jf.local(fu.p(*b.anchors[upper][("J", side)]))[0])
                + abs(jf.local(fl.p(*b.anchors[lower][("J", side)]))[0])
            )
            x -= 0.5 * (su.pedicle_width + sl.pedicle_width) / 4
            rx = (su.pedicle_width + sl.pedicle_width) / 4 + 1.5 * k
            c = np.array([s * x, y_front + ap / 2, (z_top + z_bot) / 2])
            radii = (rx, ap / 2, max((z_top - z_bot) / 2, 2.0 * k))
            b.add(f"{space}.foramen.{side}", "foramen", SOFT, Ellipsoid(jf.p(*c), jf.R, radii), level=space, side=side)
            out[side] = {"centre": c, "radii": radii, "z_top": z_top, "z_bottom": z_bot, "y_front": y_front}
        b.anchors[("foramen", space)] = out


def _sacral_foramina(b):
    k = b.scale
    for num in range(1, 5):
        seg, nxt = f"S{num}", f"S{num + 1}"
        jf = b.chain.joints[f"{seg}-{nxt}"]
        x, r = sacral_foramen_geometry(b, seg)
        sz = b.size[seg]
        f = b.frames[seg]
        y_back = jf.local(f.p(0, sz.body_depth / 2 + sz.canal_depth, 0))[1]
        y_front = jf.local(f.p(0, b.anchors[seg]["y_front"], 0))[1]
        lt = max(sz.lamina_thickness, 3.0 * k)
        out = {}
        for side in SIDES:
            s = SIGN[side]
            post = np.array([s * x, y_back + lt / 2, 0.0])
            ant = np.array([s * x, y_front + 3.0 * k, 0.0])
            b.add(
                f"{seg}.posterior_foramen.{side}",
                "posterior_sacral_foramen",
                SOFT,
                Ellipsoid(jf.p(*post), jf.R, (r, lt / 2 + 1.0 * k, r)),
                level=seg,
                side=side,
            )
            b.add(
                f"{seg}.anterior_foramen.{side}",
                "anterior_sacral_foramen",
                SOFT,
                Ellipsoid(jf.p(*ant), jf.R, (r + 1.0 * k, 4.0 * k, r + 1.0 * k)),
                level=seg,
                side=side,
            )
            out[side] = {"posterior": jf.p(*post), "anterior": jf.p(*ant), "x": x, "r": r}
        b.anchors[("sacral_foramen", seg)] = out


#: the root's radius along its course, as fractions of ROOT_RADII: the root proper inside the
#: canal, the dorsal root ganglion (a swelling in the foramen, about 6-7 mm across in the lower
#: lumbar spine, less in the neck and chest) and the spinal nerve beyond it [typical: Hasegawa T
#: et al. Spine 1996;21:1005-9, the L5 ganglion about 6 x 11 mm; Gray's Anatomy, 41st ed., ch. 43]
_ROOT_PROFILE = {"root": 0.7, "ganglion": 1.05, "nerve": 0.85}
#: how far (mm) the ganglion's swelling reaches along the root on either side of its centre
_GANGLION_HALF_MM = {"cervical": 3.0, "thoracic": 3.0, "lumbar": 4.5, "sacral": 4.0}
#: how far above its foraminal point a root leaves the dural sac, in body heights of the
#: vertebra above the foramen: lumbar roots leave about a body's half-height higher and run
#: down in the lateral recess; thoracic roots less steeply; cervical roots nearly level
#: [typical: Cohen MS et al. Spine 1990;15:1248-51; Gray's Anatomy, 41st ed., ch. 43]
_ROOT_DROP = {"cervical": 0.1, "thoracic": 0.3, "lumbar": 0.5}


def _root_controls(b, root: str, side: str) -> tuple[list[np.ndarray], int, str]:
    """Control points of a root's course (world mm) from where it leaves the dural sac out,
    the index of its foraminal point (the ganglion) and its region. A smooth spline runs through
    them (:func:`spine.anatomy.shapes.smooth_path`)."""
    k = b.scale
    s = SIGN[side]
    r = ROOT_RADII[root] * k
    tubes = b.anchors["tube"]
    exit_at = root_exit(root)
    if exit_at == "skull-C1":
        f = b.frames["C1"]
        t = tubes["C1"]
        # between the occiput and the posterior arch of C1, then backward (suboccipital nerve)
        pts = [f.p(s * 4.0 * k, t["sac_y"], 7.5 * k), f.p(s * 11.0 * k, 17.0 * k, 7.0 * k)]
        pts.append(f.p(s * 17.0 * k, 25.0 * k, 6.0 * k))
        return pts, 1, "cervical"
    if exit_at == "C1-C2":
        jf = b.chain.joints["C1-C2"]
        t = tubes["C2"]
        p0 = jf.local(b.frames["C2"].p(s * (t["sac_rx"] - 1.0 * k), t["sac_y"], 0))
        p0[2] = 2.5 * k
        p1 = np.array([s * 13.0 * k, 16.0 * k, 0.75 * k])
        p2 = np.array([s * 22.0 * k, 12.0 * k, -3.0 * k])
        return [jf.p(*p0), jf.p(*p1), jf.p(*p2)], 1, "cervical"
    if exit_at in INTERSPACES:
        upper, lower = exit_at.split("-")
        jf = b.chain.joints[exit_at]
        fo = b.anchors[("foramen", exit_at)][side]
        c = fo["centre"]
        region = region_of(upper)
        fu = b.frames[upper]
        t = tubes[upper]
        h_up = b.size[upper].body_height
        if region == "cervical" and upper != "C7":
            # the cervical root lies low and in front in its foramen, on the lower pedicle, and
            # runs out and forward over the gutter of the transverse process
            p1 = np.array([c[0], c[1] - 0.5 * k, c[2] - 2.0 * k])
            p0 = jf.local(fu.p(s * (t["sac_rx"] - 1.0 * k), t["sac_y"] - 0.4 * t["sac_ry"], 0))
            p0[2] = p1[2] + 1.5 * k
            pa = p0 + (p1 - p0) * 0.55 + np.array([0.0, -0.6, 0.2]) * k
            pb = p1 + np.array([s * 7.0, -2.6, -0.6]) * k
            p2 = p1 + np.array([s * 16.0, -7.0, -2.0]) * k
            return [jf.p(*q) for q in (p0, pa, p1, pb, p2)], 2, "cervical"
        below = (2.5 if region == "thoracic" or upper == "C7" else 1.5) * k
        p1 = np.array([c[0], fo["y_front"] + r + 1.0 * k, fo["z_top"] - r - below])
        p0 = jf.local(fu.p(s * (t["sac_rx"] - 1.0 * k), t["sac_y"], 0))
        drop = max(3.0 * k, _ROOT_DROP["cervical" if upper == "C7" else region] * h_up)
        p0[2] = p1[2] + drop
        # down the lateral recess, then out under the pedicle
        pa = np.array([p0[0] + (p1[0] - p0[0]) * 0.45, p0[1] + (p1[1] - p0[1]) * 0.6, p1[2] + 0.35 * drop])
        if upper == "C7":  # C8: out under the C7 pedicle, then forward and down
            step = np.array([s * 14.0, -8.0, -6.0])
        elif region == "thoracic" and upper != "T12":  # intercostal nerve, under its rib
            step = np.array([s * 22.0, -2.0, -6.0])
        elif upper == "L5":  # L5 ventral ramus runs forward over the sacral ala
            step = np.array([s * 10.0, -24.0, -10.0])
        else:
            step = np.array([s * 18.0, -10.0, -17.0])
        p2 = p1 + step * k
        pb = p1 + step * k * 0.35 + np.array([s * 1.5, 0.0, 0.6]) * k  # leaves the foramen laterally first
        return [jf.p(*q) for q in (p0, pa, p1, pb, p2)], 2, "lumbar" if region == "lumbar" else region
    if exit_at in ("S1", "S2", "S3", "S4"):
        seg = exit_at
        nxt = f"S{int(seg[1]) + 1}"
        jf = b.chain.joints[f"{seg}-{nxt}"]
        fo = b.anchors[("sacral_foramen", seg)][side]
        t = tubes[seg]
        p1 = np.array([s * fo["x"], jf.local(b.frames[seg].p(0, t["canal_y"], 0))[1] - 1.0 * k, 0.0])
        p0 = np.array([s * (t["canal_r"][1] - r - 1.0 * k), p1[1], 5.0 * k])
        ant = jf.local(fo["anterior"])
        p2 = np.array([s * (fo["x"] + 4.0 * k), ant[1] - 14.0 * k, -6.0 * k])  # out the anterior foramen
        pb = np.array([s * (fo["x"] + 1.0 * k), (p1[1] + ant[1]) / 2, -1.5 * k])
        return [jf.p(*q) for q in (p0, p1, pb, p2)], 1, "sacral"
    # S5 and Co1: out at the hiatus, beside the cornua
    f5 = b.frames["S5"]
    s5 = b.size["S5"]
    t5 = tubes["S5"]
    drop = 0.0 if root == "S5" else 6.0 * k
    p0 = f5.p(s * 2.0 * k, t5["canal_y"], s5.body_height / 2 - drop)
    p1 = f5.p(s * (s5.canal_width / 2 + 1.5 * k), t5["canal_y"], -s5.body_height / 2 - 1.0 * k - drop)
    p2 = f5.p(s * (s5.canal_width / 2 + 7.0 * k), t5["front"] - 2.0 * k, -s5.body_height / 2 - 8.0 * k - drop)
    return [p0, p1, p2], 1, "sacral"


def _root_radii(path: np.ndarray, i_drg: int, r: float, region: str, k: float) -> np.ndarray:
    """Radius at each sample: the thin root, swelling to the ganglion at the foramen, the nerve."""
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
    u = arc - arc[i_drg]
    half = _GANGLION_HALF_MM[region] * k
    before = np.where(u < 0, _ROOT_PROFILE["root"], _ROOT_PROFILE["nerve"])
    bump = np.clip(1.0 - np.abs(u) / (2.0 * half), 0.0, 1.0)
    bump = bump * bump * (3 - 2 * bump)  # smoothstep: a spindle, not a cone
    return r * (before + (_ROOT_PROFILE["ganglion"] - before) * bump)


def _roots(b):
    """31 pairs, each a smooth curved tube (a swept circle along a spline through its course,
    :class:`~spine.anatomy.shapes.Tube`): ``root.X.side`` from the dural sac to the ganglion in
    the foramen and ``root.X.side.extraforaminal`` from there on as the spinal nerve."""
    k = b.scale
    for root in NERVE_ROOTS:
        exit_at = root_exit(root)
        level = "C1" if exit_at == "skull-C1" else ("S5" if exit_at == "hiatus" else exit_at)
        r = ROOT_RADII[root] * k
        for side in SIDES:
            pts, i1, region = _root_controls(b, root, side)
            path, marks = smooth_path(pts, 1.5 * k)
            i_drg = int(marks[i1])
            radii = _root_radii(path, i_drg, r, region, k)
            inner = Tube.along(path[: i_drg + 1], radii[: i_drg + 1])
            outer = Tube.along(path[i_drg:], radii[i_drg:])
            b.add(f"root.{root}.{side}", "root", NEURAL, inner, level=level, side=side)
            b.add(f"root.{root}.{side}.extraforaminal", "root", NEURAL, outer, level=level, side=side)
            b.anchors[("root", root, side)] = (pts[0], pts[i1], pts[-1])
            b.anchors[("root_path", root, side)] = (path, radii, i_drg)


def _vertebral_artery(b):
    """The vertebral-artery no-go zone: up through the transverse foramina C6 to C1,
    then back over the posterior arch of C1 into the foramen magnum; below C6 it runs in
    front of the C7 transverse process down to its origin at about T1."""
    k = b.scale
    r = b.params.vertebral_artery_zone_mm * k
    for side in SIDES:
        s = SIGN[side]
        pts = {}
        for name in ("C6", "C5", "C4", "C3", "C2", "C1"):
            pts[name] = b.frames[name].p(*transverse_foramen(b, name, side))
        f7, ft1 = b.frames["C7"], b.frames["T1"]
        s7 = b.size["C7"]
        below6 = f7.p(s * (s7.body_width / 2 + 5.0 * k), -2.0 * k, 0.0)
        origin = ft1.p(s * (b.size["T1"].body_width / 2 + 8.0 * k), -8.0 * k, 0.0)
        segs = [("C7-T1", origin, below6), ("C6-C7", below6, pts["C6"])]
        order = ["C6", "C5", "C4", "C3", "C2", "C1"]
        for lo, up in zip(order, order[1:]):
            segs.append((f"{up}-{lo}", pts[lo], pts[up]))
        f1 = b.frames["C1"]
        above_tf = pts["C1"] + f1.z * 6.0 * k
        over_arch = f1.p(s * 15.0 * k, 17.0 * k, 5.5 * k)  # in the groove on the posterior arch
        magnum = f1.p(s * 8.0 * k, 15.0 * k, 16.0 * k)
        segs += [("C1", pts["C1"], above_tf), ("C1", above_tf, over_arch), ("C1", over_arch, magnum)]
        for i, (level, p0, p1) in enumerate(segs):
            name = f"vertebral_artery.{level}.{side}" if level != "C1" else f"vertebral_artery.C1.{side}.{i}"
            b.add(name, "vertebral_artery", SOFT, Capsule.between(p0, p1, r), level=level, side=side)


def _pleura(b):
    """The pleura beside each thoracic vertebra, a no-go zone for needles: lateral to the body
    and in front of the plane of the rib's neck (the costal pleura lines the inner face of the
    ribs, the mediastinal pleura the side of the bodies) [Gray's Anatomy, 41st ed., ch. 56;
    the pneumothorax risk of thoracic injections: SIS guidelines, 2nd ed.]. A box in the
    vertebra's frame cut by that plane (:class:`~spine.anatomy.shapes.ClippedBox`); soft tissue,
    invisible to x-rays, drawn in no view. The rib capsules are kept as anchors
    ``("rib", vertebra, side)``."""
    from spine.anatomy.shapes import ClippedBox
    from spine.anatomy.surfaces import _rib_parts

    k = b.scale
    for name in VERTEBRAE:
        if region_of(name) != "thoracic":
            continue
        f, sz = b.frames[name], b.size[name]
        for side in SIDES:
            parts = _rib_parts(b, name, side)
            if not parts:
                continue
            b.anchors[("rib", name, side)] = parts
            s = SIGN[side]
            head, tubercle, neck_r = parts[0]  # the head-to-tubercle capsule: the rib's neck
            h, t = f.local(head), f.local(tubercle)
            # the neck's front face: the head-to-tubercle line moved forward by the neck's radius
            along = (t - h) * np.array([1.0, 1.0, 0.0])
            along /= np.linalg.norm(along)
            normal = np.array([-along[1], along[0], 0.0])  # in the axial plane, square to the neck
            if normal[1] < 0:
                normal = -normal  # pointing back: the zone is the front side
            face = h - normal * (neck_r + 0.5 * k)
            x_in = sz.body_width / 2 + 2.0 * k
            x_out = abs(t[0]) + 30.0 * k
            y_lo, y_hi = -sz.body_depth / 2 - 40.0 * k, t[1] + 5.0 * k
            half_z = sz.body_height / 2 + 6.0 * k
            centre_local = np.array([s * (x_in + x_out) / 2, (y_lo + y_hi) / 2, -2.0 * k])
            box_half = np.array([(x_out - x_in) / 2, (y_hi - y_lo) / 2, half_z])
            n_world = f.R @ normal
            box = Box(f.p(*centre_local), f.R, box_half)
            zone = ClippedBox.from_box(box, f.p(*face), n_world)
            b.add(f"{name}.pleura.{side}", "pleura", SOFT, zone, level=name, side=side)


__all__ = ["build_soft_tissue", "tube", "Frame"]
