"""Bones, discs and joints of the spine model, built from convex solids.

Everything is placed in the local frame of its vertebra (x left, y posterior, z superior,
origin at the body centre: see :mod:`spine.anatomy.frames`) or of its joint, then turned
into world solids. Sizes come from :mod:`spine.anatomy.morphometry`.

A vertebra from C2 to L5 is: body, two pedicles, two laminae, a spinous process, two
transverse processes (cervical: an anterior and a posterior bar around the transverse
foramen), two superior and two inferior articular processes (built per facet joint, so
the two sides of every joint face each other; a lumbar SAP is its articular part on a
narrower neck, leaving the SAP-TP groove of the medial branch open) and two pars
interarticularis. C1 has no
body: anterior arch, lateral masses, posterior arches and transverse processes; C2 adds
the dens. The sacrum is five fused segments with foramina between them, sacral cornua
and the hiatus; the coccyx is four small segments; the pelvis is reduced to what the
injections need: the iliac wings (crest at about L4) and the sacroiliac joints.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from spine.anatomy.levels import INTERSPACES, VERTEBRAE, region_of
from spine.anatomy.shapes import ClippedBox
from spine.anatomy.solids import Box, Capsule, Cylinder, Ellipsoid, Material

if TYPE_CHECKING:  # pragma: no cover
    from spine.anatomy.builder import ModelBuilder as _Builder

SIDES = ("left", "right")
SIGN = {"left": 1.0, "right": -1.0}
BONE = Material.CORTICAL_BONE
Z = np.array([0.0, 0.0, 1.0])


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def frame_axes(ez, up=Z) -> np.ndarray:
    """Right-handed local rotation with local z = ez and local y as close to ``up`` as possible."""
    ez = _unit(ez)
    ey = np.asarray(up, float) - np.dot(up, ez) * ez
    if np.linalg.norm(ey) < 1e-6:
        ey = np.array([0.0, 1.0, 0.0]) - ez[1] * ez
    ey = _unit(ey)
    ex = np.cross(ey, ez)
    return np.column_stack([ex, ey, ez])


def box_axes(ax, ay) -> np.ndarray:
    """Right-handed rotation with local x = ax and local y = ay (made orthogonal to ax)."""
    ax = _unit(ax)
    ay = np.asarray(ay, float) - np.dot(ay, ax) * ax
    ay = _unit(ay)
    return np.column_stack([ax, ay, np.cross(ax, ay)])


# -----------------------------------------------------------------------------------------
def build_bones(b: "_Builder") -> None:
    for name in VERTEBRAE:
        region = region_of(name)
        if name == "C1":
            _atlas(b)
        elif region in ("cervical", "thoracic", "lumbar"):
            _mobile_vertebra(b, name)
        elif region == "sacral":
            _sacral_segment(b, name)
        else:
            _coccygeal_segment(b, name)
    for space in INTERSPACES:
        if space == "C1-C2":
            _atlantoaxial(b)
            continue
        _disc(b, space)
        _facet_joint_pair(b, space)
    _sacral_hiatus(b)
    _pelvis(b)


# -- vertebrae C2-L5 -------------------------------------------------------------------------
_TOP_GAP = {"cervical": 1.0, "thoracic": 1.5, "lumbar": 2.0, "sacral": 2.0}


def _body(b, name):
    sz, f = b.size[name], b.frames[name]
    body = Cylinder(f.origin, f.R, (sz.body_width / 2, sz.body_depth / 2), sz.body_height / 2)
    b.add(f"{name}.body", "body", BONE, body, level=name)


def _pedicles(b, name):
    """Pedicles from the posterolateral body to the articular pillar (junction J)."""
    sz, f = b.size[name], b.frames[name]
    region = region_of(name)
    d2 = sz.body_depth / 2
    zp = sz.body_height / 2 - _TOP_GAP[region] * b.scale - sz.pedicle_height / 2
    conv = math.radians(sz.pedicle_convergence_deg)
    anchors = b.anchors.setdefault(name, {})
    anchors["z_pedicle"] = zp
    for side in SIDES:
        s = SIGN[side]
        # the pedicle's medial wall meets the canal's edge half-way along the pedicle
        x_mid = sz.canal_width / 2 + sz.pedicle_width / 2
        J = np.array([s * (x_mid + 0.5 * sz.pedicle_length * math.tan(conv)), d2 + sz.pedicle_length, zp])
        ay = d2 - (1.5 if region == "cervical" else 3.0) * b.scale
        length = (J[1] - ay) / math.cos(conv)
        A = np.array([J[0] - s * length * math.sin(conv), ay, zp])
        axis = _unit(J - A)
        rot = frame_axes(axis, up=Z)
        centre = (A + J) / 2
        ped = Cylinder(
            f.p(*centre), f.rot(rot), (sz.pedicle_width / 2, sz.pedicle_height / 2), length / 2 + 1.0 * b.scale
        )
        b.add(f"{name}.pedicle.{side}", "pedicle", BONE, ped, level=name, side=side)
        anchors[("J", side)] = J
        anchors[("pedicle_centre", side)] = centre
        anchors[("pedicle_axis", side)] = axis


def _laminae_and_spinous(b, name):
    sz, f = b.size[name], b.frames[name]
    anchors = b.anchors[name]
    d2 = sz.body_depth / 2
    zp = anchors["z_pedicle"]
    y_back = d2 + sz.canal_depth  # canal's posterior wall at the midline (lamina top)
    z_top = zp + sz.pedicle_height / 2
    lt, lh = sz.lamina_thickness, sz.lamina_height
    slope = math.radians(sz.lamina_slope_deg)
    anchors["canal_back_y"] = y_back
    anchors["lamina_top_z"] = z_top
    anchors["lamina_bottom_z"] = z_top - lh * math.cos(slope)
    anchors["lamina_bottom_y"] = y_back + lh * math.sin(slope)
    M = np.array([0.0, y_back + lt / 2, z_top])
    for side in SIDES:
        s = SIGN[side]
        J = anchors[("J", side)]
        L0 = J + np.array([-s * sz.pedicle_width * 0.25, 1.0 * b.scale, 0.0])
        L0[2] = z_top
        along = M - L0
        along[2] = 0.0
        length = np.linalg.norm(along) + lt * 0.5
        ell = _unit(along)
        n_post = np.array([-ell[1], ell[0], 0.0])
        if n_post[1] < 0:
            n_post = -n_post
        hd = -math.cos(slope) * Z + math.sin(slope) * n_post
        top_mid = (L0 + M) / 2 + ell * lt * 0.25
        centre = top_mid + hd * lh / 2
        rot = np.column_stack([ell, hd, np.cross(ell, hd)])
        lam = Box(f.p(*centre), f.rot(rot), (length / 2, lh / 2, lt / 2))
        b.add(f"{name}.lamina.{side}", "lamina", BONE, lam, level=name, side=side)
        anchors[("lamina_centre", side)] = centre
    # Spinous process: from the spinolaminar junction, backward and down.
    hd_mid = -math.cos(slope) * Z + math.sin(slope) * np.array([0, 1.0, 0])
    base = M + hd_mid * lh / 2 + np.array([0.0, lt / 2, 0.0])
    anchors["spinolaminar"] = np.array([0.0, y_back + (lh / 2) * math.sin(slope), z_top - (lh / 2) * math.cos(slope)])
    if sz.sp_length > 0:
        a = math.radians(sz.sp_angle_deg)
        sdir = np.array([0.0, math.cos(a), -math.sin(a)])
        overlap = 3.0 * b.scale
        centre = base + sdir * (sz.sp_length - overlap) / 2
        rot = box_axes(np.array([1.0, 0, 0]), sdir)
        sp = Box(f.p(*centre), f.rot(rot), (sz.sp_thickness / 2, (sz.sp_length + overlap) / 2, sz.sp_height / 2))
        b.add(f"{name}.spinous_process", "spinous_process", BONE, sp, level=name)
        anchors["sp_tip"] = base + sdir * sz.sp_length


def _transverse_processes(b, name):
    sz, f = b.size[name], b.frames[name]
    anchors = b.anchors[name]
    region = region_of(name)
    for side in SIDES:
        s = SIGN[side]
        J = anchors[("J", side)]
        if region == "cervical" and name != "C7":
            _cervical_tp(b, name, side)
            continue
        if region == "cervical":  # C7: one long bar, usually no vertebral artery inside
            base = J + np.array([0.0, -2.0 * b.scale, 0.0])
        elif region == "thoracic":
            base = J + np.array([0.0, 0.0, 2.0 * b.scale])
        else:  # lumbar: from the pedicle / SAP junction, at pedicle level
            base = J + np.array([-s * 1.0 * b.scale, -2.5 * b.scale, -1.0 * b.scale])
        tb, tu = math.radians(sz.tp_back_deg), math.radians(sz.tp_up_deg)
        tdir = np.array([s * math.cos(tu) * math.cos(tb), math.cos(tu) * math.sin(tb), math.sin(tu)])
        extra = 2.0 * b.scale
        centre = base + tdir * (sz.tp_length - extra) / 2
        rot = box_axes(tdir, np.array([0.0, 1.0, 0.0]))
        tp = Box(f.p(*centre), f.rot(rot), ((sz.tp_length + extra) / 2, sz.tp_thickness / 2, sz.tp_height / 2))
        b.add(f"{name}.tp.{side}", "tp", BONE, tp, level=name, side=side)
        anchors[("tp_base", side)] = base
        anchors[("tp_dir", side)] = tdir
        anchors[("tp_tip", side)] = base + tdir * sz.tp_length


def transverse_foramen(b, name, side) -> np.ndarray:
    """Local centre of the transverse foramen (vertebral artery) of C1-C6."""
    sz = b.size[name]
    s = SIGN[side]
    if name == "C1":
        return np.array([s * 27.0 * b.scale, 2.0 * b.scale, 0.0])
    zp = b.anchors[name]["z_pedicle"]
    if name == "C2":  # under the superior articular surface, turning laterally
        return np.array([s * 21.0 * b.scale, 0.22 * sz.body_depth, zp - 2.0 * b.scale])
    return np.array([s * (sz.body_width / 2 + 5.0 * b.scale), 0.22 * sz.body_depth, zp])


def _cervical_tp(b, name, side):
    """Anterior and posterior bars of a cervical transverse process around its foramen."""
    sz, f = b.size[name], b.frames[name]
    anchors = b.anchors[name]
    s = SIGN[side]
    J = anchors[("J", side)]
    tf = transverse_foramen(b, name, side)
    r_va = b.params.vertebral_artery_zone_mm * b.scale
    r_bar = 2.0 * b.scale
    clear = r_va + r_bar + 0.6 * b.scale
    tip_x = tf[0] + s * 9.0 * b.scale
    post0 = np.array([J[0] - s * 1.5 * b.scale, J[1] - 2.0 * b.scale, tf[2]])
    post1 = np.array([tip_x, tf[1] + clear * 0.8, tf[2] - 1.0 * b.scale])
    # push the posterior bar back where it passes the foramen
    t = (tf[0] - post0[0]) / (post1[0] - post0[0]) if abs(post1[0] - post0[0]) > 1e-6 else 0.0
    y_at = post0[1] + np.clip(t, 0, 1) * (post1[1] - post0[1])
    if y_at < tf[1] + clear:
        shift = tf[1] + clear - y_at
        post0[1] += shift
        post1[1] += shift
    ant0 = np.array([s * (sz.body_width / 2 - 2.0 * b.scale), tf[1] - clear, tf[2]])
    ant1 = np.array([tip_x, tf[1] - clear + 1.0 * b.scale, tf[2] - 1.0 * b.scale])
    b.add(
        f"{name}.tp.{side}", "tp", BONE, Capsule.between(f.p(*post0), f.p(*post1), r_bar * 1.1), level=name, side=side
    )
    b.add(
        f"{name}.tp_anterior.{side}",
        "tp_anterior",
        BONE,
        Capsule.between(f.p(*ant0), f.p(*ant1), r_bar),
        level=name,
        side=side,
    )
    anchors[("tp_base", side)] = post0
    anchors[("tp_dir", side)] = _unit(post1 - post0)
    anchors[("tp_tip", side)] = post1
    anchors[("transverse_foramen", side)] = tf


def _mobile_vertebra(b, name):
    _body(b, name)
    _pedicles(b, name)
    _laminae_and_spinous(b, name)
    _transverse_processes(b, name)
    if name == "C2":
        _axis_extras(b)


def _axis_extras(b):
    """C2: the dens and the superior articular surfaces that carry C1."""
    sz, f = b.size["C2"], b.frames["C2"]
    h = sz.body_height
    r = 5.0 * b.scale
    dens = Capsule.between(f.p(0, 0.5 * b.scale, h / 2 - 2 * b.scale), f.p(0, 0.0, h / 2 + 16.0 * b.scale - r), r)
    b.add("C2.dens", "dens", BONE, dens, level="C2")
    for side in SIDES:
        s = SIGN[side]
        c = np.array([s * 14.5 * b.scale, 2.5 * b.scale, h / 2 - 0.5 * b.scale])
        sap = Ellipsoid(f.p(*c), f.R, np.array([6.5, 8.0, 2.5]) * b.scale)
        b.add(f"C2.sap.{side}", "sap", BONE, sap, level="C2", side=side)
        b.anchors["C2"][("sap_top", side)] = c + np.array([0, 0, 2.5 * b.scale])


def _atlas(b):
    """C1: no body [clinical.md]; anterior arch, lateral masses, posterior arch, TPs."""
    f = b.frames["C1"]
    k = b.scale
    anchors = b.anchors.setdefault("C1", {})
    anchors["z_pedicle"] = 0.0
    arch = Capsule.between(f.p(-12 * k, -9.5 * k, 0), f.p(12 * k, -9.5 * k, 0), 3.5 * k)
    b.add("C1.anterior_arch", "anterior_arch", BONE, arch, level="C1")
    for side in SIDES:
        s = SIGN[side]
        lm = Ellipsoid(f.p(s * 17 * k, 1.5 * k, 0), f.R, np.array([6.5, 10.0, 7.0]) * k)
        b.add(f"C1.lateral_mass.{side}", "lateral_mass", BONE, lm, level="C1", side=side)
        post = Capsule.between(f.p(s * 17 * k, 11 * k, -1 * k), f.p(s * 1.5 * k, 27 * k, 0), 3.5 * k)
        b.add(f"C1.posterior_arch.{side}", "posterior_arch", BONE, post, level="C1", side=side)
        tf = transverse_foramen(b, "C1", side)
        r_va = b.params.vertebral_artery_zone_mm * k
        clear = r_va + 2.6 * k
        # the atlas is about 72 mm across its transverse processes (Rekha & D'Sa 2016, morphometry.py)
        tp = Capsule.between(f.p(s * 21 * k, tf[1] + clear, 0), f.p(s * 33 * k, tf[1] + 1.5 * k, -1 * k), 3.0 * k)
        b.add(f"C1.tp.{side}", "tp", BONE, tp, level="C1", side=side)
        tpa = Capsule.between(f.p(s * 21 * k, tf[1] - clear, 0), f.p(s * 32 * k, tf[1] - 1.5 * k, -1 * k), 2.2 * k)
        b.add(f"C1.tp_anterior.{side}", "tp_anterior", BONE, tpa, level="C1", side=side)
        anchors[("transverse_foramen", side)] = tf
        anchors[("lamina_centre", side)] = np.array([s * 9 * k, 19 * k, -0.5 * k])
        anchors[("tp_tip", side)] = np.array([s * 33 * k, tf[1] + 1.5 * k, -1 * k])
        anchors[("tp_base", side)] = np.array([s * 21 * k, tf[1] + clear, 0])
        anchors[("lateral_mass", side)] = np.array([s * 17 * k, 1.5 * k, 0])
    anchors["canal_back_y"] = 23.5 * k
    anchors["spinolaminar"] = np.array([0.0, 23.5 * k, 0.0])
    anchors["lamina_top_z"] = 3.5 * k
    anchors["lamina_bottom_z"] = -3.5 * k
    anchors["lamina_bottom_y"] = 23.5 * k


def _atlantoaxial(b):
    """C1-C2: lateral atlantoaxial joints (not true facet joints [clinical.md])."""
    f2 = b.frames["C2"]
    for side in SIDES:
        top = f2.p(*b.anchors["C2"][("sap_top", side)])
        lm_bottom = b.structure_solid(f"C1.lateral_mass.{side}")
        lm = lm_bottom.center - lm_bottom.rotation[:, 2] * lm_bottom.radii[2]
        centre = (top + lm) / 2
        joint = Ellipsoid(
            centre,
            f2.R,
            np.array([6.0, 7.5, max(np.linalg.norm(lm - top) / 2, 0.5)]) * np.array([b.scale, b.scale, 1.0]),
        )
        b.add(
            f"C1-C2.atlantoaxial_joint.{side}",
            "atlantoaxial_joint",
            Material.SOFT_TISSUE,
            joint,
            level="C1-C2",
            side=side,
        )


# -- discs and facet joints ----------------------------------------------------------------
#: how far the disc's wall bulges beyond the rims of the bodies at mid-height (mm): a healthy
#: disc bulges slightly past the ring apophyses [typical: Gray's Anatomy, 41st ed., ch. 43;
#: Bogduk N, Clinical and Radiological Anatomy of the Lumbar Spine, 5th ed., ch. 2]
_DISC_BULGE_MM = {"cervical": 0.5, "thoracic": 0.8, "lumbar": 1.2}
#: grid step of a disc's mesh (mm): fine enough for the thinnest (cervical) discs
_DISC_VOXEL = {"cervical": 0.45, "thoracic": 0.6, "lumbar": 0.7}


def _smoothed(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Marching cubes leaves a fine staircase that shows as banding on a lit surface: Taubin
    smoothing removes it without shrinking the disc, and keeps every face."""
    from spine.anatomy.meshing import taubin_smooth

    return np.ascontiguousarray(taubin_smooth(v, f, lamb=0.5, nu=0.53, iterations=12))


def disc_sdf(b, space):
    """Signed distance (world points) of the disc of ``space``: the outline of the two bodies'
    endplates (the same kidney section), blended from the upper to the lower one and bulging a
    little at mid-height, filling the space between the two bodies up to their surfaces (so it
    fills the endplates' shape and their rounded rims, and is wedge-shaped by the lordosis)."""
    from spine.anatomy.sdf import body_profile, vertebral_body

    upper, lower = space.split("-")
    su, sl = b.size[upper], b.size[lower]
    fu, fl, jf = b.frames[upper], b.frames[lower], b.chain.joints[space]
    ru, rl = region_of(upper), region_of(lower)
    body_u = vertebral_body(su.body_width, su.body_depth, su.body_height, ru)
    body_l = vertebral_body(sl.body_width, sl.body_depth, sl.body_height, rl)
    rim_u = min(body_profile(ru)["rim_mm"], 0.3 * su.body_height)
    rim_l = min(body_profile(rl)["rim_mm"], 0.3 * sl.body_height)
    g = b.chain.joint_gap[space]
    bulge = _DISC_BULGE_MM["lumbar" if rl == "sacral" else rl] * b.scale
    gap = 0.15 * b.scale  # a hair between disc and bone, so their surfaces never coincide

    def f(p):
        qu = (p - fu.origin) @ fu.R
        ql = (p - fl.origin) @ fl.R
        # each body's section just inside its endplate rim: the outline the disc follows
        su_q = qu.copy()
        su_q[:, 2] = -(su.body_height / 2 - rim_u)
        sl_q = ql.copy()
        sl_q[:, 2] = sl.body_height / 2 - rim_l
        z = ((p - jf.origin) @ jf.R)[:, 2]
        w = np.clip(0.5 + z / max(g, 1e-6), 0.0, 1.0)
        outline = w * body_u(su_q) + (1.0 - w) * body_l(sl_q) - bulge * (1.0 - (2.0 * w - 1.0) ** 2)
        slab = np.maximum(qu[:, 2] + (su.body_height / 2 - rim_u), (sl.body_height / 2 - rim_l) - ql[:, 2])
        return np.maximum.reduce([outline, slab, -body_u(qu) + gap, -body_l(ql) + gap])

    half = np.array(
        [
            max(su.body_width, sl.body_width) / 2 + bulge + 2.0,
            max(su.body_depth, sl.body_depth) / 2 + bulge + 2.0,
            g / 2 + max(rim_u, rim_l) + 1.5,
        ]
    )
    return f, half


def _disc_mesh(b, space, name: str):
    """The disc as a closed mesh (marching cubes of :func:`disc_sdf`, cached on disk by what it
    was made from), wrapped as a soft-tissue solid.

    Where the builder defers meshes (:attr:`~spine.anatomy.builder.ModelBuilder.deferred`: the
    model's build meshes them in its worker processes with the bones), an uncached disc is a
    placeholder until the structure ``name`` is given its mesh; nothing in the build reads the
    annulus before then."""
    import hashlib

    from spine.anatomy.surface_cache import SurfaceCache, shape_code_digest

    upper, lower = space.split("-")
    jf = b.chain.joints[space]
    region = region_of(lower) if region_of(lower) != "sacral" else "lumbar"
    voxel = _DISC_VOXEL[region] * b.scale
    # the shape code's digest: the disc fills between the bodies, so a new body shape (or a new
    # disc function) is a new disc
    h = hashlib.sha256(f"disc|{shape_code_digest()}".encode())
    for level in (upper, lower):
        h.update(repr(dataclasses.astuple(b.size[level])).encode())
        h.update(np.round(b.frames[level].origin, 6).tobytes() + np.round(b.frames[level].R, 6).tobytes())
    h.update(np.round(jf.origin, 6).tobytes() + np.round(jf.R, 6).tobytes() + repr(voxel).encode())
    key = "disc-" + h.hexdigest()
    cache = SurfaceCache.default()
    got = cache.get(key)
    if got is None and b.deferred is not None:

        def finish(got, name=name):
            b.structures[name] = dataclasses.replace(b.structures[name], solid=_soft_disc(jf, key, got))

        b.deferred.setdefault(key, (lambda: _disc_arrays(b, space, voxel), []))[1].append(finish)
        from spine.anatomy.shapes import SoftMesh

        return SoftMesh(jf.origin, jf.R, None)
    if got is None:
        got = _disc_arrays(b, space, voxel)
        cache.put(key, got)
    return _soft_disc(jf, key, got)


def _disc_arrays(b, space, voxel: float) -> tuple:
    """(vertices, faces, None, None) of the disc of ``space``: :func:`disc_sdf` sampled on a grid in
    the joint's frame, meshed and smoothed."""
    from spine.anatomy.meshing import mesh_field

    jf = b.chain.joints[space]
    f, half = disc_sdf(b, space)
    n = np.ceil(2 * half / voxel).astype(int) + 1
    lo = -half
    axes = [lo[i] + voxel * np.arange(n[i]) for i in range(3)]
    q = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    field = f(q @ jf.R.T + jf.origin).reshape(tuple(n)).astype(np.float32)
    v, fc, _cv, _cf = mesh_field(field, lo, voxel, jf.origin, jf.R, 0.0, None, faces=4000)
    return (_smoothed(v, fc), fc, None, None)


def _soft_disc(jf, key: str, got: tuple):
    from spine.anatomy.mesh import MeshSolid
    from spine.anatomy.shapes import SoftMesh

    mesh = MeshSolid(center=jf.origin, rotation=jf.R, vertices=got[0], faces=got[1], digest=key)
    return SoftMesh(jf.origin, jf.R, mesh)


def _disc(b, space):
    """The disc: lens-shaped, following the endplates of the two bodies (annulus: the whole
    disc, a closed mesh), with the nucleus pulposus in its central ~45 %, a little posterior
    [typical: the nucleus takes 40-50 % of the disc's cross-section and lies slightly behind
    its centre; Bogduk N, Clinical and Radiological Anatomy of the Lumbar Spine, 5th ed.]."""
    upper, lower = space.split("-")
    su, sl = b.size[upper], b.size[lower]
    jf = b.chain.joints[space]
    rx = 0.98 * (su.body_width + sl.body_width) / 4
    ry = 0.98 * (su.body_depth + sl.body_depth) / 4
    name = f"disc.{space}.annulus"
    b.add(name, "annulus", Material.DISC, _disc_mesh(b, space, name), level=space)
    g = b.chain.joint_gap[space]
    nucleus = Ellipsoid(jf.p(0, 0.06 * ry, 0), jf.R, (0.45 * rx, 0.42 * ry, 0.3 * g))
    b.add(f"disc.{space}.nucleus", "nucleus", Material.DISC, nucleus, level=space)


def _facet_style(space: str) -> str:
    upper, lower = space.split("-")
    if region_of(lower) == "cervical" or space == "C7-T1":
        return "cervical"
    if region_of(upper) == "lumbar" or space == "T12-L1":
        return "lumbar"
    return "thoracic"


# thickness of an articular process across its joint, and its width along the joint (mm)
_PROCESS_SIZE = {"cervical": (5.0, 9.0), "thoracic": (4.5, 10.0), "lumbar": (7.0, 13.0)}


# Lumbar SAP neck: it keeps the joint-plane width from the anteromedial edge of the process
# up to this offset (mm, along the joint's horizontal axis e1, which points posterolaterally);
# the articular part above it has the full width. Groove floor to the underside of the
# articular part: _LUMBAR_GROOVE_ROOF mm, enough for the nerve and a cannula lying in it.
_LUMBAR_SAP_NECK_E1 = 0.5
_LUMBAR_GROOVE_ROOF = 5.0


def _groove_floor(b, lower: str, side: str) -> np.ndarray:
    """Local point (lower vertebra's frame) on top of the TP root (S1: the ala) at the pillar."""
    sz = b.size[lower]
    a = b.anchors[lower]
    J = a[("J", side)]
    if lower == "S1":
        top = a[("lateral_mass_top", side)]
        return np.array([J[0], J[1], top[2]])
    base = a[("tp_base", side)]
    tdir = a[("tp_dir", side)]
    p = base + tdir * 2.0 * b.scale
    return p + np.array([0.0, 0.0, sz.tp_height / 2])


def _lumbar_sap_split(b, lower, side, jf, fl, fc, e2, s_lo, s_hi):
    """(s_lo, s_mid, s_hi) along e2 from the joint centre: the neck from s_lo to s_mid, the
    articular part from s_mid to s_hi, s_mid a groove's height above the TP root's top."""
    k = b.scale
    floor = jf.local(fl.p(*_groove_floor(b, lower, side)))
    s_mid = float((floor - fc) @ e2) + _LUMBAR_GROOVE_ROOF * k
    s_mid = min(max(s_mid, s_lo + 3.0 * k), s_hi - 6.0 * k)
    return s_lo, s_mid, s_hi


def facet_axes(space: str, side: str, theta_deg: float, psi_deg: float):
    """Joint normal n (from the SAP toward the IAP) and in-plane axes e1 (horizontal), e2 (up)."""
    s = SIGN[side]
    th, ps = math.radians(theta_deg), math.radians(psi_deg)
    n = np.array([-s * math.cos(th) * math.cos(ps), math.sin(th) * math.cos(ps), math.sin(ps)])
    e1 = _unit(np.cross(Z, n))
    e2 = np.cross(n, e1)
    return n, e1, e2


def _facet_joint_pair(b, space):
    upper, lower = space.split("-")
    jf = b.chain.joints[space]
    fu, fl = b.frames[upper], b.frames[lower]
    sp = b.space[space]
    su = b.size[upper]
    style = _facet_style(space)
    g = b.chain.joint_gap[space]
    t_n, width = (v * b.scale for v in _PROCESS_SIZE[style])
    gap = 1.8 * b.scale
    fh = sp.facet_height
    k = b.scale
    for side in SIDES:
        s = SIGN[side]
        ju = jf.local(fu.p(*b.anchors[upper][("J", side)]))
        jl = jf.local(fl.p(*b.anchors[lower][("J", side)]))
        x = max(abs(ju[0]), abs(jl[0]))
        y = (ju[1] + jl[1]) / 2
        if style == "lumbar":
            fc = np.array([s * (x + 1.0 * k), y + 5.0 * k, -g / 2 + 2.0 * k])
        elif style == "thoracic":
            fc = np.array([s * x, y + 4.0 * k, -g / 2 + 1.0 * k])
        else:
            fc = np.array([s * (x + 1.0 * k), y + 4.5 * k, 0.0])
        n, e1, e2 = facet_axes(space, side, sp.facet_theta_deg, sp.facet_psi_deg)
        rot = np.column_stack([n, e1, e2])
        joint = Box(jf.p(*fc), jf.rot(rot), (gap / 2, width / 2, fh / 2))
        b.add(f"{space}.facet_joint.{side}", "facet_joint", Material.SOFT_TISSUE, joint, level=space, side=side)
        # superior articular process of the lower vertebra: from its pillar up to the joint top
        extra = (1.5 if style == "lumbar" else 0.5) * k
        s_lo = float((jl - fc) @ e2) - 2.0 * k
        s_hi = fh / 2 + extra
        if style == "lumbar":
            # The lumbar SAP is not a plate of full width down to the pedicle: its root (the
            # "neck" above the pedicle) is narrower than its articular part, and the TP leaves
            # the pillar below and lateral of that neck. The medial branch (at S1 the L5 dorsal
            # ramus) runs in the open groove between the neck's lateral surface and the top of
            # the TP (the ala) [clinical.md 3.5]. A full-width plate rotated with the joint
            # would overhang the TP root by ~7 mm and roof the groove over.
            s_lo, s_mid, s_hi = _lumbar_sap_split(b, lower, side, jf, fl, fc, e2, s_lo, s_hi)
            c_sap = fc - n * (gap / 2 + t_n / 2) + e2 * (s_mid + s_hi) / 2
            sap = Box(jf.p(*c_sap), jf.rot(rot), (t_n / 2, width / 2, (s_hi - s_mid) / 2))
            b.add(f"{lower}.sap.{side}", "sap", BONE, sap, level=lower, side=side)
            # the neck keeps the anteromedial part of the process (over the pedicle)
            w_lo, w_hi = -width / 2, _LUMBAR_SAP_NECK_E1 * k
            top = s_mid + 1.0 * k  # overlaps the articular part
            e1_pl = e1 if e1[1] > 0 else -e1  # e1 turned to point posterolaterally on both sides
            c_neck = fc - n * (gap / 2 + t_n / 2) + e1_pl * (w_lo + w_hi) / 2 + e2 * (s_lo + top) / 2
            neck = Box(jf.p(*c_neck), jf.rot(rot), (t_n / 2, (w_hi - w_lo) / 2, (top - s_lo) / 2))
            b.add(f"{lower}.sap_neck.{side}", "sap", BONE, neck, level=lower, side=side)
            b.anchors[lower][("sap_neck", side)] = fl.local(jf.p(*c_neck))
        else:
            c_sap = fc - n * (gap / 2 + t_n / 2) + e2 * (s_lo + s_hi) / 2
            sap = Box(jf.p(*c_sap), jf.rot(rot), (t_n / 2, width / 2, (s_hi - s_lo) / 2))
            b.add(f"{lower}.sap.{side}", "sap", BONE, sap, level=lower, side=side)
        # inferior articular process of the upper vertebra: from its lamina down past the joint
        base_u = b.anchors[upper][("J", side)] + np.array([0.0, 2.0 * k, -0.6 * su.pedicle_height])
        bu = jf.local(fu.p(*base_u))
        s_hi2 = float((bu - fc) @ e2) + 2.0 * k
        s_lo2 = -fh / 2 - extra
        c_iap = fc + n * (gap / 2 + t_n / 2) + e2 * (s_lo2 + s_hi2) / 2
        iap = Box(jf.p(*c_iap), jf.rot(rot), (t_n / 2, width / 2, (s_hi2 - s_lo2) / 2))
        b.add(f"{upper}.iap.{side}", "iap", BONE, iap, level=upper, side=side)
        # pars interarticularis of the upper vertebra: pillar between pedicle and IAP
        J = b.anchors[upper][("J", side)]
        top = J + np.array([0, 1.0 * k, su.pedicle_height * 0.3])
        bottom = base_u
        centre = (top + bottom) / 2 + np.array([0.0, 1.0 * k, 0.0])
        half_z = abs(top[2] - bottom[2]) / 2 + 2.0 * k
        pars_w = (2.5 if style == "cervical" else 3.5) * k
        pars = Box(fu.p(*centre), fu.R, (pars_w, 3.0 * k, half_z))
        b.add(f"{upper}.pars.{side}", "pars", BONE, pars, level=upper, side=side)
        b.anchors.setdefault(("facet", space), {})[side] = {
            "centre": jf.p(*fc),
            "n": jf.v(*n),
            "e1": jf.v(*e1),
            "e2": jf.v(*e2),
            "height": fh,
            "width": width,
            "gap": gap,
        }
        b.anchors[lower][("sap_centre", side)] = fl.local(jf.p(*c_sap))
        b.anchors[lower][("sap_tip", side)] = fl.local(jf.p(*(fc - n * (gap / 2 + t_n / 2) + e2 * s_hi)))
        b.anchors[upper][("iap_centre", side)] = fu.local(jf.p(*c_iap))


# -- sacrum and coccyx -------------------------------------------------------------------------
# Sacral foramina (between S_k and S_k+1) radius [typical].
_SACRAL_FORAMEN_R = {"S1": 5.0, "S2": 4.5, "S3": 4.0, "S4": 3.5}


def sacral_foramen_geometry(b, seg: str) -> tuple[float, float]:
    """(x offset from the midline, radius) of the foramina below sacral segment ``seg``."""
    sz = b.size[seg]
    r = _SACRAL_FORAMEN_R[seg] * b.scale
    x = max(sz.body_width / 2 + r - 2.0 * b.scale, sz.canal_width / 2 + r + 0.5 * b.scale)
    return x, r


def sacral_foramen_points(b, seg: str, side: str) -> tuple[np.ndarray, np.ndarray]:
    """World centres of the posterior and anterior foramina below sacral segment ``seg`` (S1-S4)
    on ``side``: the posterior one in the dorsal wall, the anterior one in front of the lateral
    mass, both in the fused disc's plane (the soft tissue places its foramen volumes there)."""
    k = b.scale
    num = int(seg[1])
    jf = b.chain.joints[f"{seg}-S{num + 1}"]
    x, _r = sacral_foramen_geometry(b, seg)
    sz, f = b.size[seg], b.frames[seg]
    y_back = jf.local(f.p(0, sz.body_depth / 2 + sz.canal_depth, 0))[1]
    y_front = jf.local(f.p(0, b.anchors[seg]["y_front"], 0))[1]
    lt = max(sz.lamina_thickness, 3.0 * k)
    s = SIGN[side]
    return jf.p(s * x, y_back + lt / 2, 0.0), jf.p(s * x, y_front + 3.0 * k, 0.0)


def _sacral_segment(b, name):
    sz, f = b.size[name], b.frames[name]
    k = b.scale
    h, d2 = sz.body_height, sz.body_depth / 2
    g = b.chain.joint_gap.get(f"{name}-S{int(name[1]) + 1}", 2.0 * k) if name != "S5" else 0.0
    _body(b, name)
    anchors = b.anchors.setdefault(name, {})
    num = int(name[1])
    above = f"S{num - 1}" if num > 1 else None
    below = name if num < 5 else None  # the foramina below this segment carry its name
    x_below, r_below = sacral_foramen_geometry(b, below) if below else (None, None)
    x_above, r_above = sacral_foramen_geometry(b, above) if above else (None, None)
    g_above = b.chain.joint_gap[f"{above}-{name}"] if above else 0.0
    y_back = d2 + sz.canal_depth
    anchors["canal_back_y"] = y_back
    z_half_top = h / 2 + g_above / 2
    z_half_bottom = -(h / 2 + g / 2)
    if name == "S1":
        _pedicles(b, name)
        zp = anchors["z_pedicle"]
        z_half_top = zp + sz.pedicle_height / 2
        anchors["lamina_top_z"] = z_half_top
        anchors["lamina_bottom_z"] = z_half_bottom
        anchors["lamina_bottom_y"] = y_back
        anchors["spinolaminar"] = np.array([0.0, y_back, z_half_top - 6.0 * k])
    # dorsal plate (fused laminae) with the median crest; S5 (and the lower S4) is open: hiatus
    if sz.lamina_thickness > 0:
        x_half = (x_below - r_below) if below else sz.canal_width / 2 + 2 * k
        z_lo = z_half_bottom if num < 4 else -0.15 * h
        z_hi = z_half_top
        centre = np.array([0.0, y_back + sz.lamina_thickness / 2, (z_lo + z_hi) / 2])
        plate = Box(f.p(*centre), f.R, (x_half, sz.lamina_thickness / 2, (z_hi - z_lo) / 2))
        b.add(f"{name}.lamina", "lamina", BONE, plate, level=name)
        anchors["dorsal_plate_bottom_z"] = z_lo
        if sz.sp_length > 0:
            crest = Box(
                f.p(0, y_back + sz.lamina_thickness + sz.sp_length / 2 - 1.0 * k, (z_lo + z_hi) / 2 - 2 * k),
                f.R,
                (sz.sp_thickness / 2, sz.sp_length / 2, min(sz.sp_height, (z_hi - z_lo)) / 2),
            )
            b.add(f"{name}.median_crest", "median_crest", BONE, crest, level=name)
    # the lateral masses sit a little behind the front of the bodies (the promontory
    # projects forward of the ala) and end at the dorsal surface
    y_front = -d2 * 0.35
    y_rear = y_back + max(sz.lamina_thickness, 3.0 * k) * 0.5
    for side in SIDES:
        s = SIGN[side]
        # bone between the foramen above and the foramen below (intermediate crest)
        # bone between the foramen above and the foramen below (intermediate crest); the
        # rows of foramina converge caudally, so it reaches from the medial edge of the lower
        # foramen to the lateral edge of the upper one
        x_col, r_col = (x_below, r_below) if below else (x_above, r_above)
        x_lat = max(x_below + r_below if below else 0.0, x_above + r_above if above else 0.0)
        x_med = x_col - r_col - 0.6 * k
        z_hi = z_half_top if name != "S1" else anchors["z_pedicle"] - b.size["S1"].pedicle_height / 2 + 1 * k
        if above and name != "S1":
            z_hi = z_half_top - r_above - 0.5 * k
        z_lo = z_half_bottom + (r_below + 0.5 * k if below else 0.0)
        if z_hi > z_lo:
            bridge = Box(
                f.p(s * (x_med + x_lat) / 2, (y_front + y_rear) / 2, (z_hi + z_lo) / 2),
                f.R,
                ((x_lat - x_med) / 2, (y_rear - y_front) / 2, (z_hi - z_lo) / 2),
            )
            b.add(f"{name}.bridge.{side}", "sacral_bridge", BONE, bridge, level=name, side=side)
        # lateral mass (the ala at S1): lateral of the foramina, fused from segment to segment
        x_in = x_lat
        x_out = sz.body_width / 2 + sz.tp_length
        if x_out > x_in + 1.0:
            ztop = (h / 2 - 1.0 * k) if name == "S1" else z_half_top
            lm = Box(
                f.p(s * (x_in + x_out) / 2, (y_front + y_rear) / 2, (ztop + z_half_bottom) / 2),
                f.R,
                ((x_out - x_in) / 2, (y_rear - y_front) / 2, (ztop - z_half_bottom) / 2),
            )
            kind = "ala" if name == "S1" else "sacral_lateral_mass"
            b.add(f"{name}.{'ala' if name == 'S1' else 'lateral_mass'}.{side}", kind, BONE, lm, level=name, side=side)
            anchors[("lateral_edge", side)] = np.array([s * x_out, (y_front + y_rear) / 2, 0.0])
            anchors[("lateral_mass_top", side)] = np.array([s * (x_in + x_out) / 2, (y_front + y_rear) / 2, ztop])
    anchors["y_front"], anchors["y_rear"] = y_front, y_rear
    if name == "S5":
        for side in SIDES:
            s = SIGN[side]
            c0 = f.p(s * (sz.canal_width / 2 + 1.0 * k), y_back + 1.0 * k, h / 2 - 2.0 * k)
            c1 = f.p(s * (sz.canal_width / 2 + 1.0 * k), y_back + 2.0 * k, -h / 2 - 2.0 * k)
            b.add(f"S5.cornu.{side}", "sacral_cornu", BONE, Capsule.between(c0, c1, 2.5 * k), level="S5", side=side)


def _sacral_hiatus(b):
    """The hiatus: S5 (and the lower S4) have no lamina; covered by the sacrococcygeal ligament."""
    f5, f4 = b.frames["S5"], b.frames["S4"]
    s5, s4 = b.size["S5"], b.size["S4"]
    k = b.scale
    top = f5.local(f4.p(0, s4.body_depth / 2 + s4.canal_depth + 1.0 * k, b.anchors["S4"]["dorsal_plate_bottom_z"]))
    bottom_z = -s5.body_height / 2 - 2.0 * k
    y = s5.body_depth / 2 + s5.canal_depth + 1.0 * k
    centre = np.array([0.0, (top[1] + y) / 2, (top[2] + bottom_z) / 2])
    half = np.array([s5.canal_width / 2, 1.5 * k, (top[2] - bottom_z) / 2])
    b.add("sacral_hiatus", "sacral_hiatus", Material.SOFT_TISSUE, Box(f5.p(*centre), f5.R, half), level="S5")
    b.anchors["S5"]["hiatus"] = centre
    b.anchors["S5"]["hiatus_half"] = half


def _coccygeal_segment(b, name):
    sz, f = b.size[name], b.frames[name]
    k = b.scale
    body = Ellipsoid(f.origin, f.R, (sz.body_width / 2, sz.body_depth / 2, sz.body_height / 2 + 0.5 * k))
    b.add(f"{name}.body", "body", BONE, body, level=name)
    b.anchors.setdefault(name, {})
    if name == "Co1":
        for side in SIDES:
            s = SIGN[side]
            c0 = f.p(s * 5.0 * k, sz.body_depth / 2, 0)
            c1 = f.p(s * 5.5 * k, sz.body_depth / 2 + 1.5 * k, sz.body_height / 2 + 4.0 * k)
            b.add(f"Co1.cornu.{side}", "coccygeal_cornu", BONE, Capsule.between(c0, c1, 1.8 * k), level=name, side=side)
            t0 = f.p(s * sz.body_width / 2 * 0.6, 0, 1.0 * k)
            t1 = f.p(s * (sz.body_width / 2 + sz.tp_length), 0, 2.0 * k)
            b.add(f"Co1.tp.{side}", "tp", BONE, Capsule.between(t0, t1, 2.0 * k), level=name, side=side)


# -- pelvis ----------------------------------------------------------------------------------
def _pelvis(b):
    """Iliac wings and sacroiliac joints, enough for the SI joint and the crest at ~L4.

    The crest's top is put at the height of the L4 body centre (clinical.md: the line
    between the iliac crests is at about L4, L3-L4 to L4-L5). The SI joint (auricular
    surface) lies along the lateral sacrum from S1 to upper S3, its plane turned ~25 deg from
    the sagittal plane (posterior end medial) and tilted so it converges downward [typical].
    """
    k = b.scale
    f1, f3 = b.frames["S1"], b.frames["S3"]
    crest_z = float(b.frames[b.params.iliac_crest_level].origin[2])
    beta = math.radians(25.0)
    for side in SIDES:
        s = SIGN[side]
        e_top = f1.p(*b.anchors["S1"][("lateral_edge", side)])
        e_bot = f3.p(*b.anchors["S3"][("lateral_edge", side)])
        e_top = e_top + f1.z * 4.0 * k
        along = _unit(e_top - e_bot)  # up the joint
        # joint plane: contains `along` and the AP direction turned by beta (posterior end medial)
        ap = np.array([-s * math.sin(beta), 1.0 * math.cos(beta), 0.0])
        ap = _unit(ap - np.dot(ap, along) * along)
        normal = np.cross(along, ap)
        if normal[0] * s < 0:
            normal = -normal  # points laterally (toward the ilium)
        length = float(np.linalg.norm(e_top - e_bot))
        centre = (e_top + e_bot) / 2 + normal * 1.0 * k
        rot = box_axes(normal, ap)
        half = np.array([1.0 * k, 13.0 * k, length / 2])
        b.add(f"si_joint.{side}", "si_joint", Material.SOFT_TISSUE, Box(centre, rot, half), side=side)
        b.anchors.setdefault("pelvis", {})[side] = {
            "si_centre": centre,
            "si_normal": normal,
            "si_ap": ap,
            "si_along": along,
            "si_half": half,
        }
        # The sacrum's lateral surface is oblique like the joint (the bone is wider in front):
        # the lateral masses end at the joint's sacral face instead of their square corners
        # reaching through the joint space behind its middle.
        face = centre - normal * half[0]
        for seg in ("S1", "S2", "S3", "S4"):
            nm = f"{seg}.{'ala' if seg == 'S1' else 'lateral_mass'}.{side}"
            st = b.structures.get(nm)
            if st is None or not isinstance(st.solid, Box):
                continue
            if not np.any((st.solid.surface_points() - face) @ normal > 0):
                continue
            b.structures[nm] = dataclasses.replace(st, solid=ClippedBox.from_box(st.solid, face, normal))
        # posterior ilium: the part of the ilium on the far side of the joint (PSIS region)
        post_c = centre + normal * (1.0 + 8.0) * k + ap * 4.0 * k + along * 6.0 * k
        post = Box(post_c, rot, np.array([8.0 * k, 18.0 * k, length / 2 + 8.0 * k]))
        b.add(f"ilium.{side}.posterior", "ilium_posterior", BONE, post, side=side)
        # iliac wing: a flat fan (thin ellipsoid) flaring up, out and forward; its top is the
        # crest, at the height of the iliac_crest_level body centre
        flare = math.radians(20.0)
        # long axis from the posterior superior iliac spine (behind the SI joint, lower) to
        # the anterior superior iliac spine (lateral, in front, a little higher)
        a1 = _unit(np.array([s * 0.62, -0.75, 0.22]))
        a2 = np.array([s * math.sin(flare), 0.0, math.cos(flare)])
        a2 = _unit(a2 - np.dot(a2, a1) * a1)
        r_wing = np.array([70.0, 52.0, 5.0]) * k
        top_rise = r_wing[1] * a2[2]
        wing_c = np.array([s * 85.0 * k, 2.0 * k, crest_z - top_rise])
        wing = Ellipsoid(wing_c, box_axes(a1, a2), r_wing)
        b.add(f"ilium.{side}.wing", "ilium_wing", BONE, wing, side=side)
        crest_post = wing_c + a2 * r_wing[1]
        b.anchors["pelvis"][side]["crest_post"] = crest_post
