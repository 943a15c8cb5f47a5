"""Named landmarks: the points (and small convex target regions) needles aim at.

Each landmark is computed from the same solids the views and the fluoroscopy use, so a
target drawn on an illustration, seen on a simulated x-ray and checked by the needle
planner is one and the same point.

Levels: vertebra landmarks are defined per vertebra; interspace landmarks per interspace
(C2-C3 ... L5-S1). Some vertebra landmarks are also accepted at an interspace, meaning
the part that bounds that interspace's foramen/joint (see ``at_interspace`` below): at
"L4-L5", ``pedicle`` and ``pedicle_6_oclock`` are L4's (the foramen's roof, the
transforaminal target), ``sap`` is L5's, ``iap`` is L4's, ``superior_endplate`` is L5's
and ``inferior_endplate`` L4's (the endplates around the disc). Sacrum-wide landmarks
(``sacral_hiatus``, ``si_joint_inferior_third``) are given at every sacral segment they
belong to, since the sacrum is one fused bone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from spine.anatomy.bones import SIDES, SIGN, _unit
from spine.anatomy.levels import INTERSPACES, exiting_root, region_of
from spine.anatomy.solids import Ellipsoid, Solid

if TYPE_CHECKING:  # pragma: no cover
    from spine.anatomy.builder import ModelBuilder as _Builder

__all__ = ["LandmarkInfo", "Landmark", "CATALOGUE", "build_landmarks"]


@dataclass(frozen=True)
class LandmarkInfo:
    bilateral: bool
    levels: str
    description: str


@dataclass(frozen=True)
class Landmark:
    point: np.ndarray
    region: Solid


CATALOGUE: dict[str, LandmarkInfo] = {
    "superior_endplate": LandmarkInfo(
        False, "C2-L5, S1; interspace = lower vertebra's", "centre of the upper endplate of the body"
    ),
    "inferior_endplate": LandmarkInfo(
        False, "C2-L5; interspace = upper vertebra's", "centre of the lower endplate of the body"
    ),
    "pedicle": LandmarkInfo(
        True, "C2-L5, S1; interspace = upper vertebra's", "centre of the pedicle (the 'eye' of the Scotty dog)"
    ),
    "pedicle_6_oclock": LandmarkInfo(
        True, "C2-L5, S1; interspace = upper vertebra's", "underside of the pedicle at mid-length (6 o'clock on AP)"
    ),
    "sap": LandmarkInfo(
        True, "C2-L5, S1; interspace = lower vertebra's", "superior articular process (the Scotty dog's ear)"
    ),
    "iap": LandmarkInfo(True, "C2-L5; interspace = upper vertebra's", "inferior articular process (the front leg)"),
    "tp": LandmarkInfo(True, "C1-L5", "middle of the transverse process (the nose)"),
    "sap_tp_groove": LandmarkInfo(
        True,
        "T1-L5",
        "groove where the SAP meets the top of the TP: medial branch target (the L4 medial branch lies on L5's)",
    ),
    "tp_superolateral": LandmarkInfo(
        True,
        "T1-T12",
        "back of the transverse process at its upper outer corner: where the C8 and T1-T10 medial branches cross (thoracic medial branch target)",
    ),
    "pillar_waist": LandmarkInfo(
        True, "C3-C7", "waist of the articular pillar, lateral surface: cervical medial branch target"
    ),
    "lamina": LandmarkInfo(True, "C1-L5, S1 (C1: posterior arch)", "middle of the lamina (the Scotty dog's body)"),
    "interlaminar_window": LandmarkInfo(
        False, "C2-C3 ... L5-S1", "midline of the gap between the laminae, in the ligamentum flavum"
    ),
    "spinolaminar_line": LandmarkInfo(
        False,
        "vertebrae C1-L5, S1 and interspaces",
        "front of the spinolaminar junction; at an interspace the front of the ligamentum flavum (the ventral interlaminar line)",
    ),
    "foramen": LandmarkInfo(True, "C2-C3 ... L5-S1", "centre of the neural foramen"),
    "safe_triangle": LandmarkInfo(
        True,
        "C2-C3 ... L5-S1",
        "transforaminal target: under the pedicle, above the exiting root (cervical: posterior foramen, in front of the SAP)",
    ),
    "facet_joint": LandmarkInfo(True, "C2-C3 ... L5-S1", "centre of the facet joint cleft"),
    "facet_superior_recess": LandmarkInfo(True, "C2-C3 ... L5-S1", "upper recess of the facet joint"),
    "facet_inferior_recess": LandmarkInfo(True, "C2-C3 ... L5-S1", "lower recess of the facet joint"),
    "nucleus_centre": LandmarkInfo(False, "C2-C3 ... L5-S1", "centre of the nucleus pulposus (discography target)"),
    "third_occipital_nerve": LandmarkInfo(
        True, "C2-C3", "lateral surface of the C2-C3 facet joint, where the third occipital nerve crosses it"
    ),
    "body_anterior_third": LandmarkInfo(
        False, "C2-L5", "middle of the front third of the vertebral body, near the midline (vertebroplasty)"
    ),
    "epidural_space": LandmarkInfo(
        False,
        "C1-S2 and interspaces C2-C3 ... L5-S1",
        "dorsal epidural space in the midline, between the dura and the ligamentum flavum / laminae",
    ),
    "sacral_canal": LandmarkInfo(False, "S3-S5", "centre of the sacral canal below the dural sac (caudal tip)"),
    "sacral_hiatus": LandmarkInfo(False, "S4, S5", "the hiatus between the sacral cornua (caudal entry)"),
    "posterior_sacral_foramen": LandmarkInfo(
        True, "S1-S4", "centre of the posterior sacral foramen (S1 transforaminal target at S1)"
    ),
    "sacral_ala_groove": LandmarkInfo(
        True, "S1", "groove between the sacral ala and the S1 SAP: L5 dorsal ramus target"
    ),
    "si_joint_inferior_third": LandmarkInfo(
        True, "S1-S3", "posterior-inferior SI joint, 1-2 cm above its lowest point"
    ),
}

_MOBILE_WITH_POSTERIOR = (
    [f"C{k}" for k in range(2, 8)] + [f"T{k}" for k in range(1, 13)] + [f"L{k}" for k in range(1, 6)]
)


def _sphere(point, r) -> Ellipsoid:
    return Ellipsoid(point, np.eye(3), (r, r, r))


def _march_out(solid: Solid, start, direction, step=0.25, max_len=40.0) -> np.ndarray:
    """First point along start + t*direction (t >= 0) that is outside ``solid``."""
    d = _unit(direction)
    ts = np.arange(0.0, max_len, step)
    pts = np.asarray(start, float) + ts[:, None] * d
    inside = solid.contains(pts)
    out = np.nonzero(~inside)[0]
    if not len(out):
        return pts[-1]
    # first outside point after the first inside one (if the start was inside)
    first_in = np.nonzero(inside)[0]
    if len(first_in):
        after = out[out > first_in[0]]
        if len(after):
            return pts[after[0]]
    return pts[out[0]]


def build_landmarks(b: "_Builder") -> None:
    L = b.landmarks
    k = b.scale

    def put(level, name, side, point, region):
        assert name in CATALOGUE, name
        L[(level, name, side if CATALOGUE[name].bilateral else None)] = Landmark(np.asarray(point, float), region)

    S = b.structures
    # -- vertebra landmarks -------------------------------------------------------------
    for name in _MOBILE_WITH_POSTERIOR + ["S1"]:
        f = b.frames[name]
        sz = b.size[name]
        a = b.anchors[name]
        endplate_r = (sz.body_width / 4, sz.body_depth / 4, 1.0 * k)
        sup = b.chain.superior_endplate[name]
        put(name, "superior_endplate", None, sup, Ellipsoid(sup, f.R, endplate_r))
        if name != "S1":
            inf = b.chain.inferior_endplate[name]
            put(name, "inferior_endplate", None, inf, Ellipsoid(inf, f.R, endplate_r))
        for side in SIDES:
            ped = S[f"{name}.pedicle.{side}"].solid
            pc = ped.center
            r_small = min(sz.pedicle_width, sz.pedicle_height) * 0.3
            put(name, "pedicle", side, pc, Ellipsoid(pc, ped.rotation, (r_small, r_small, r_small * 1.5)))
            six = pc - f.z * (sz.pedicle_height / 2)
            put(name, "pedicle_6_oclock", side, six, _sphere(six - f.z * 1.0 * k, 2.0 * k))
            sap = S[f"{name}.sap.{side}"].solid
            put(name, "sap", side, sap.center, _sphere(sap.center, 2.5 * k))
            if name != "S1":
                iap = S[f"{name}.iap.{side}"].solid
                put(name, "iap", side, iap.center, _sphere(iap.center, 2.5 * k))
                tp_mid = f.p(*(a[("tp_base", side)] + a[("tp_dir", side)] * sz.tp_length * 0.55))
                put(name, "tp", side, tp_mid, _sphere(tp_mid, 2.5 * k))
                lam = f.p(*a[("lamina_centre", side)])
                put(name, "lamina", side, lam, _sphere(lam, 2.5 * k))
            else:
                lam = S["S1.lamina"].solid.center + f.x * SIGN[side] * sz.canal_width / 4
                put(name, "lamina", side, lam, _sphere(lam, 2.5 * k))
        sl = f.p(*a["spinolaminar"])
        put(name, "spinolaminar_line", None, sl, _sphere(sl, 1.5 * k))
        if region_of(name) in ("thoracic", "lumbar"):
            for side in SIDES:
                put(name, "sap_tp_groove", side, *_sap_tp_groove(b, name, side))
        if name in ("C3", "C4", "C5", "C6", "C7"):
            for side in SIDES:
                put(name, "pillar_waist", side, *_pillar_waist(b, name, side))
        if region_of(name) == "thoracic":
            for side in SIDES:
                put(name, "tp_superolateral", side, *_tp_superolateral(b, name, side))
    # vertebroplasty target and the dorsal epidural space of each vertebra
    for name in _MOBILE_WITH_POSTERIOR:
        f = b.frames[name]
        sz = b.size[name]
        p = f.p(0.0, -sz.body_depth / 3, 0.0)
        put(
            name,
            "body_anterior_third",
            None,
            p,
            Ellipsoid(p, f.R, (sz.body_width / 6, sz.body_depth / 6, sz.body_height / 4)),
        )
    for name, t in b.anchors["tube"].items():
        epi = b.structures.get(f"epidural.{name}")
        if epi is None or f"dural_sac.{name}" not in b.structures or name == b.params.dural_sac_end:
            continue
        f = b.frames[name]
        p = f.p(0.0, t["sac_y"] + t["sac_ry"] + t["epi"] / 2, 0.0)
        put(
            name,
            "epidural_space",
            None,
            p,
            Ellipsoid(p, f.R, (min(3.0 * k, t["sac_rx"] * 0.5), max(t["epi"] * 0.4, 0.3 * k), 3.0 * k)),
        )
    for name in ("S3", "S4", "S5"):
        t = b.anchors["tube"][name]
        f = b.frames[name]
        p = f.p(0.0, t["canal_y"], 0.0)
        put(name, "sacral_canal", None, p, Ellipsoid(p, f.R, (t["canal_r"][1] * 0.5, t["canal_r"][0] * 0.5, 3.0 * k)))
    # C1: transverse processes and the posterior arch ("lamina")
    f1 = b.frames["C1"]
    for side in SIDES:
        tp = S[f"C1.tp.{side}"].solid
        put("C1", "tp", side, tp.center, _sphere(tp.center, 2.5 * k))
        lam = f1.p(*b.anchors["C1"][("lamina_centre", side)])
        put("C1", "lamina", side, lam, _sphere(lam, 2.5 * k))
    sl = f1.p(*b.anchors["C1"]["spinolaminar"])
    put("C1", "spinolaminar_line", None, sl, _sphere(sl, 1.5 * k))

    # -- interspace landmarks -----------------------------------------------------------
    for space in INTERSPACES[1:]:
        upper, lower = space.split("-")
        jf = b.chain.joints[space]
        for name, src in (("superior_endplate", lower), ("inferior_endplate", upper), ("sap", lower)):
            for maybe_side in SIDES if CATALOGUE[name].bilateral else (None,):  # None: a midline landmark
                e = L[(src, name, maybe_side)]
                put(space, name, maybe_side, e.point, e.region)
        for name in ("pedicle", "pedicle_6_oclock", "iap"):
            for side in SIDES:
                e = L[(upper, name, side)]
                put(space, name, side, e.point, e.region)
        nuc = S[f"disc.{space}.nucleus"].solid
        put(space, "nucleus_centre", None, nuc.center, nuc.scaled(0.45))
        w = b.anchors[("window", space)]
        mid = (w["front"] + w["back"]) / 2
        put(
            space,
            "interlaminar_window",
            None,
            mid,
            Ellipsoid(mid, jf.R, (w["half_width"] * 0.5, w["thickness"] / 2 + 1.0 * k, w["half_height"] * 0.6)),
        )
        front = w["front"] - jf.y * 0.5 * k
        put(space, "spinolaminar_line", None, front, Ellipsoid(front, jf.R, (3.0 * k, 1.0 * k, 2.0 * k)))
        epi = b.size[upper].epidural_dorsal
        p = w["front"] - jf.y * epi / 2
        put(space, "epidural_space", None, p, Ellipsoid(p, jf.R, (3.0 * k, max(epi * 0.4, 0.3 * k), 3.0 * k)))
        for side in SIDES:
            fa = b.anchors[("facet", space)][side]
            rot = np.column_stack([fa["n"], fa["e1"], fa["e2"]])
            c, e2, fh = fa["centre"], fa["e2"], fa["height"]
            put(
                space,
                "facet_joint",
                side,
                c,
                Ellipsoid(c, rot, (fa["gap"] / 2 + 0.5 * k, fa["width"] * 0.3, fh * 0.25)),
            )
            for name, sign in (("facet_superior_recess", 1.0), ("facet_inferior_recess", -1.0)):
                e1 = fa["e1"] if fa["e1"] @ jf.y > 0 else -fa["e1"]  # the same way on both sides
                p = _recess(b, c, sign * e2, e1, fh, fa["gap"])
                put(space, name, side, p, Ellipsoid(p, rot, (fa["gap"] / 2 + 0.5 * k, 2.5 * k, 1.5 * k)))
            if space == "C2-C3":
                put(space, "third_occipital_nerve", side, *_third_occipital(b, side))
            fo = b.anchors[("foramen", space)][side]
            fc = jf.p(*fo["centre"])
            put(space, "foramen", side, fc, Ellipsoid(fc, jf.R, np.asarray(fo["radii"]) * 0.5))
            put(space, "safe_triangle", side, *_safe_triangle(b, space, side))

    # -- sacrum and pelvis --------------------------------------------------------------
    f5 = b.frames["S5"]
    hiatus = f5.p(*b.anchors["S5"]["hiatus"])
    for seg in ("S4", "S5"):
        put(seg, "sacral_hiatus", None, hiatus, Ellipsoid(hiatus, f5.R, (2.5 * k, 2.0 * k, 3.0 * k)))
    for num in range(1, 5):
        seg = f"S{num}"
        for side in SIDES:
            info = b.anchors[("sacral_foramen", seg)][side]
            p = info["posterior"]
            put(seg, "posterior_sacral_foramen", side, p, _sphere(p, info["r"] * 0.6))
    for side in SIDES:
        put("S1", "sacral_ala_groove", side, *_ala_groove(b, side))
        pv = b.anchors["pelvis"][side]
        half = pv["si_half"]
        p = pv["si_centre"] - pv["si_along"] * (half[2] - 15.0 * k) + pv["si_ap"] * half[1] * 0.55
        rot = np.column_stack([pv["si_normal"], pv["si_ap"], np.cross(pv["si_normal"], pv["si_ap"])])
        region = Ellipsoid(p, rot, (1.5 * k, 4.0 * k, 5.0 * k))
        for seg in ("S1", "S2", "S3"):
            put(seg, "si_joint_inferior_third", side, p, region)


def _sap_tp_groove(b, name, side):
    """Where the top of the TP meets the lateral surface of the SAP (medial branch groove).

    From the top of the TP root, over its dorsal half, out of the SAP (lumbar: its neck and
    articular part) along the TP, then down onto the TP: the point lies in the soft tissue
    of the groove, ``_GROOVE_GAP`` from both bone surfaces (the nerve lies on the bone).
    """
    k = b.scale
    f = b.frames[name]
    sz = b.size[name]
    a = b.anchors[name]
    tdir_w = f.v(*a[("tp_dir", side)])
    lateral = _unit(tdir_w - f.z * float(tdir_w @ f.z))
    # over the dorsal edge of the TP root, where the nerve turns back and down over it
    top = f.p(*a[("tp_base", side)]) + f.z * (sz.tp_height / 2 + 1.0 * k) + f.y * (sz.tp_thickness / 2 - 0.5 * k)
    saps = [st.solid for nm, st in b.structures.items() if st.kind == "sap" and st.level == name and st.side == side]
    # start inside the SAP's base (near its centre line) and go laterally along the TP
    p = _march_out_all(saps, top - lateral * 6.0 * k, lateral) + lateral * _GROOVE_GAP * k
    tp = b.structures[f"{name}.tp.{side}"].solid
    p = _onto(tp, p, f.z, _GROOVE_GAP * k)
    # thoracic: the IAP of the vertebra above covers the junction; the nerve crosses the top
    # of the TP further out (toward its superolateral corner), so follow the TP's top outward
    r = _GROOVE_GAP * k * 0.9
    solids = bone_solids_near(b, p, 15.0 * k)
    for t in np.arange(0.0, 10.01, 0.5) * k:
        q = _onto(tp, p + lateral * t, f.z, _GROOVE_GAP * k)
        if clearance_ok(solids, q, r):
            p = q
            break
    p = _clear_spot(b, p, r, _side_axes(f, side))
    return p, _sphere(p, 2.0 * k)


def _tp_superolateral(b, name, side):
    """The thoracic medial branch target: on the back of the transverse process at its upper
    outer (superolateral) corner, where the C8 and T1-T10 medial branches cross it before they
    turn down over its back (Chua & Bogduk, Acta Neurochir 1995;136:140; SIS Practice Guidelines,
    thoracic medial branch blocks). In soft tissue, resting on the bone."""
    k = b.scale
    f = b.frames[name]
    sz = b.size[name]
    a = b.anchors[name]
    base = f.p(*a[("tp_base", side)])
    tdir = _unit(f.v(*a[("tp_dir", side)]))
    corner = base + tdir * (sz.tp_length - 3.0 * k) + f.z * (sz.tp_height / 2 - 1.5 * k)
    tp = b.structures[f"{name}.tp.{side}"].solid
    p = _onto(tp, corner, f.y, _GROOVE_GAP * k)  # onto its back surface
    p = _clear_spot(b, p, _GROOVE_GAP * k * 0.9, _side_axes(f, side))
    return p, _sphere(p, 2.0 * k)


def _side_axes(f, side) -> np.ndarray:
    return np.column_stack([f.x * SIGN[side], f.y, f.z])


# distance (mm) of a groove target from the bone surfaces that make the groove
_GROOVE_GAP = 1.2


def _march_out_all(solids, start, direction, step=0.1, max_len=40.0) -> np.ndarray:
    """First point along start + t*direction that is outside every solid after being inside one."""
    d = _unit(direction)
    ts = np.arange(0.0, max_len, step)
    pts = np.asarray(start, float) + ts[:, None] * d
    inside = np.zeros(len(pts), bool)
    for sol in solids:
        inside |= sol.contains(pts)
    first_in = np.nonzero(inside)[0]
    out = np.nonzero(~inside)[0]
    if len(first_in):
        out = out[out > first_in[0]]
    return pts[out[0]] if len(out) else pts[-1]


def _onto(solid, p, up, gap, reach=15.0, step=0.1) -> np.ndarray:
    """``p`` moved along ``up`` to ``gap`` above the top surface of ``solid`` below/around it."""
    u = _unit(up)
    ts = np.arange(-reach, reach, step)
    pts = np.asarray(p, float) + ts[:, None] * u
    inside = np.nonzero(solid.contains(pts))[0]
    if not len(inside):
        return np.asarray(p, float)
    return pts[inside[-1]] + u * (gap + step)


def _sphere_dirs(n=64) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    d = np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])
    return np.concatenate([d, d * [-1.0, 1.0, 1.0]])  # mirror-symmetric: the same on both sides


_DIRS = _sphere_dirs(48)


def bone_solids_near(b, p, reach=8.0) -> list:
    """Bone solids whose bounding box comes within ``reach`` of ``p``."""
    boxes = getattr(b, "_bone_boxes", None)
    if boxes is None:
        boxes = [
            (st.solid, *st.solid.bounding_box()) for st in b.structures.values() if st.material.value == "cortical_bone"
        ]
        b._bone_boxes = boxes
    p = np.asarray(p, float)
    return [sol for sol, lo, hi in boxes if np.linalg.norm(np.maximum(np.maximum(lo - p, p - hi), 0.0)) <= reach]


def _box_outside(solid, pts, r) -> np.ndarray:
    """Exact for boxes: each point is at least ``r`` from the box."""
    q = np.abs(solid.to_local(pts)) - solid.half_sizes
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) >= r


def clearance_ok(solids, p, r) -> bool:
    """No solid contains ``p`` or any point of the sphere of radius ``r`` around it (sampled)."""
    return bool(_clear_many(solids, np.asarray(p, float)[None], r)[0])


def _clear_many(solids, ps, r) -> np.ndarray:
    from spine.anatomy.solids import Box

    ps = np.asarray(ps, float)
    ok = np.ones(len(ps), bool)
    probe = np.concatenate([np.zeros((1, 3)), _DIRS * r, _DIRS * (r * 0.5)])
    pts = (ps[:, None, :] + probe[None, :, :]).reshape(-1, 3)
    hit = np.zeros(len(pts), bool)
    for sol in solids:
        if type(sol) is Box:
            ok &= _box_outside(sol, ps, r)
        else:
            hit |= sol.contains(pts)
    return ok & ~hit.reshape(len(ps), -1).any(axis=1)


def _clear_spot(b, p, r, axes, step=0.5, reach=3.0) -> np.ndarray:
    """``p`` itself if it has ``r`` of soft tissue around it, else the nearest such point
    within ``reach``. ``axes`` (3x3, columns) is the level's frame with x turned to the
    side's lateral, so the search is the mirror image on the two sides."""
    p = np.asarray(p, float)
    solids = bone_solids_near(b, p, reach * 1.75 + r + 1.0)
    if clearance_ok(solids, p, r):
        return p
    g = np.arange(-reach, reach + 1e-9, step)
    off = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    off = off[np.argsort(np.linalg.norm(off, axis=1), kind="stable")]
    cand = p + off @ np.asarray(axes, float).T
    for i in range(0, len(cand), 256):
        ok = _clear_many(solids, cand[i : i + 256], r)
        if ok.any():
            return cand[i + int(np.argmax(ok))]
    return p


def _recess(b, centre, toward, e1, height, gap):
    """A recess of a facet joint: in the joint space, as near its upper (lower) end as the
    bones around the joint allow. The neighbouring TP, pars or lamina can reach over the end
    of the joint's box; the recess stays in the cleft, clear of them, in its outer third."""
    k = b.scale
    r = min(0.6 * k, gap / 2 * 0.7)
    solids = bone_solids_near(b, centre, height)
    for d in np.arange(1.5 * k, height / 3 + 1e-9, 0.25 * k):
        for w in (0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0):
            p = centre + toward * (height / 2 - d) + e1 * w * k
            if clearance_ok(solids, p, r):
                return p
    return centre + toward * (height / 2 - 1.5 * k)


def _third_occipital(b, side):
    """The third occipital nerve crosses the lateral aspect of the C2-C3 joint at mid-height."""
    k = b.scale
    fa = b.anchors[("facet", "C2-C3")][side]
    lateral = b.frames["C2"].x * SIGN[side]
    solids = [b.structures[f"C3.sap.{side}"].solid, b.structures[f"C2.iap.{side}"].solid]
    p = fa["centre"].copy()
    for sol in solids:
        q = _march_out(sol, fa["centre"], lateral)
        if np.dot(q - fa["centre"], lateral) > np.dot(p - fa["centre"], lateral):
            p = q
    p = p + lateral * 1.0 * k
    return p, _sphere(p, 1.5 * k)


def _pillar_waist(b, name, side):
    k = b.scale
    f = b.frames[name]
    sap = b.structures[f"{name}.sap.{side}"].solid
    iap = b.structures[f"{name}.iap.{side}"].solid
    mid = (sap.center + iap.center) / 2
    lateral = f.x * SIGN[side]
    p = _march_out(iap, mid - lateral * 4.0 * k, lateral)
    p2 = _march_out(sap, mid - lateral * 4.0 * k, lateral)
    p = p if np.dot(p - mid, lateral) > np.dot(p2 - mid, lateral) else p2
    p = p + lateral * 1.0 * k
    p = _clear_spot(b, p, 0.9 * k, _side_axes(f, side))  # on the bone, not in it
    return p, _sphere(p, 1.5 * k)


def _segment_distance(p, a, c) -> float:
    ab = c - a
    t = float(np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def _clearance(b, p, space, side) -> float:
    """Gap (mm) between a point and the nearest exiting-root / vertebral-artery surface."""
    root = exiting_root(space)
    pp = np.asarray(p, float)[None]
    gap = min(
        float(b.structures[f"root.{root}.{side}{part}"].solid.distance(pp)[0]) for part in ("", ".extraforaminal")
    )
    for st in b.structures.values():
        if st.kind == "vertebral_artery" and st.side == side:
            a, c = st.solid.endpoints
            gap = min(gap, _segment_distance(p, a, c) - st.solid.radius)
    return gap


def _safe_triangle(b, space, side):
    """Transforaminal target.

    Lumbar/thoracic: just under the pedicle of the upper vertebra, at the lateral part of
    the foramen, above the exiting root (which runs down and out beneath it) -- the point
    closest to the classic position (~5 mm lateral of the root's foraminal point, just
    under the pedicle) that keeps >= 1 mm from the root. Cervical: the posterior foramen,
    just in front of the SAP, above the root and away from the vertebral artery in front.
    """
    k = b.scale
    upper, lower = space.split("-")
    jf = b.chain.joints[space]
    fo = b.anchors[("foramen", space)][side]
    s = SIGN[side]
    c = fo["centre"]
    bones = [
        st.solid for st in b.structures.values() if st.material.value == "cortical_bone" and st.level in (upper, lower)
    ]

    cervical = region_of(upper) == "cervical" and upper != "C7"
    margin = (0.3 if cervical else 1.0) * k

    def ok(p, r):
        if _clearance(b, p, space, side) < r + margin:
            return False
        return not any(sol.contains(p[None])[0] for sol in bones)

    if cervical:
        # in front of the SAP with the whole target region off the bone (the needle touches
        # the SAP first, then steps forward into the posterior foramen [clinical.md 3.2])
        r = 1.0 * k
        sap_gap = r + _SAP_CLEAR * k
        sap = b.structures[f"{lower}.sap.{side}"].solid
        best = None
        for dz in np.arange(0.0, 3.01, 0.25) * k:
            start = jf.p(c[0], c[1] - 1.5 * k, c[2] + dz)
            hit = _first_inside(sap, start, jf.y)
            p = _step_clear(sap, hit, -jf.y, sap_gap)
            if ok(p, r):
                best = p
                break
        if best is None:
            best = _step_clear(
                sap, _first_inside(sap, jf.p(c[0], c[1] - 1.5 * k, c[2] + 1.5 * k), jf.y), -jf.y, sap_gap
            )
        return best, _sphere(best, r)
    small = region_of(upper) == "thoracic" or upper == "C7"
    r = (1.4 if small else 1.8) * k
    p1 = jf.local(b.anchors[("root", exiting_root(space), side)][1])
    ideal = np.array([s * (abs(p1[0]) + 5.0 * k), fo["y_front"] + 3.0 * k, fo["z_top"] - r - 0.5 * k])
    candidates = []
    for dx in np.arange(0.0, 9.01, 0.5) * k:
        for dz in np.arange(0.0, 3.01, 0.5) * k:
            for dy in (0.0, 1.0 * k, -1.0 * k):
                q = ideal + np.array([s * dx, dy, -dz])
                candidates.append((dx + dz * 1.5 + abs(dy), q))
    candidates.sort(key=lambda t: t[0])
    for _, q in candidates:
        p = jf.p(*q)
        if ok(p, r):
            return p, _sphere(p, r)
    p = jf.p(*ideal)
    return p, _sphere(p, r)


# soft tissue (mm) between the cervical safe-triangle target region and the SAP in front of it
_SAP_CLEAR = 0.6


def _step_clear(solid, p, direction, r, step=0.1, max_len=6.0) -> np.ndarray:
    """First point along ``p + t * direction`` with ``r`` of clearance from ``solid``."""
    d = _unit(direction)
    for t in np.arange(0.0, max_len, step):
        q = np.asarray(p, float) + t * d
        if clearance_ok([solid], q, r):
            return q
    return np.asarray(p, float) + max_len * d


def _first_inside(solid, start, direction, step=0.25, max_len=30.0):
    d = _unit(direction)
    ts = np.arange(0.0, max_len, step)
    pts = np.asarray(start, float) + ts[:, None] * d
    inside = np.nonzero(solid.contains(pts))[0]
    return pts[inside[0]] if len(inside) else pts[-1]


def _ala_groove(b, side):
    """Groove between the top of the sacral ala and the lateral surface of the S1 SAP's neck,
    where the L5 dorsal ramus runs [clinical.md 3.5]; in soft tissue on the bone."""
    k = b.scale
    f = b.frames["S1"]
    s = SIGN[side]
    lat = f.x * s
    saps = [st.solid for st in b.structures.values() if st.kind == "sap" and st.level == "S1" and st.side == side]
    neck = b.anchors["S1"].get(("sap_neck", side))
    base = f.p(*neck) if neck is not None else saps[0].center
    top_z_local = b.anchors["S1"][("lateral_mass_top", side)][2]
    start_local = f.local(base)
    start_local[2] = top_z_local + _GROOVE_GAP * k
    p = _march_out_all(saps, f.p(*start_local), lat) + lat * _GROOVE_GAP * k
    floors = [b.structures[f"S1.ala.{side}"].solid, b.structures[f"S1.pedicle.{side}"].solid]
    p = max((_onto(sol, p, f.z, _GROOVE_GAP * k) for sol in floors), key=lambda q: float(q @ f.z))
    p = _clear_spot(b, p, _GROOVE_GAP * k * 0.9, _side_axes(f, side))
    return p, _sphere(p, 2.0 * k)
