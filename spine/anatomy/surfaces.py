"""Smooth, closed bone surfaces: one watertight mesh per bone, built once from the parts.

Why implicit surfaces meshed once (and not a union of meshes): the parts of a vertebra
(body, pedicles, laminae, processes) are placed from the morphometry as convex solids;
their *smooth union* (:func:`spine.anatomy.sdf.smin`) blends them with fillets the way
bone grows, which a boolean union of meshes (manifold3d) cannot do: it leaves sharp
creases where a pedicle meets the body. The signed distance is sampled on a grid in the
vertebra's frame, block by block (each part only where it can matter, so a lumbar
vertebra costs ~1.5 M samples, not the whole box), meshed by marching cubes
(scikit-image, Lewiner), and decimated by quadric error (fast-simplification) to a few
thousand triangles. Marching cubes of a grid whose border lies outside the bone gives a
closed, consistently oriented surface; it is checked (:func:`~spine.anatomy.mesh.is_watertight`).

Measured on this machine (2 cores, 0.6 mm grid, lumbar vertebra): about 0.25 s per
vertebra cold; the whole model's surfaces are cached on disk by their inputs' hash
(:mod:`spine.anatomy.surface_cache`) and load in a fraction of that.

The cortical shell: the same function meshed again at ``-shell_mm`` is the cancellous
core (:attr:`MeshSolid.core`), so the cortex has the same thickness everywhere (about
1 mm: 0.5-1.5 mm in the body's walls and endplates, Edwards et al. 2001 / Silva 1994),
unlike a core scaled about the centre.

Structures:

* ``<V>.body`` of every mobile vertebra (C2-L5) becomes a :class:`MeshSolid` of the
  realistic body alone (waist, kidney section, concave back wall, rounded rims), keeping
  its nominal ``radii`` / ``half_height`` for code that reads them;
* ``<V>.bone`` (kind ``"bone_surface"``) is the whole vertebra as one smooth surface (the
  coccyx: one per piece; each ilium: ``ilium.<side>.bone``); the fused sacrum is one bone,
  ``sacrum.bone`` (:data:`SACRUM`, level S1), one field meshed once, so no seam or cut face
  lies between its segments. Views and fluoroscopy draw these instead of the parts
  (:func:`drawn_structures`); landmarks, planner and validator keep reading the parts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from spine.anatomy.levels import VERTEBRAE, region_of
from spine.anatomy.mesh import MeshSolid
from spine.anatomy.meshing import mesh_field
from spine.anatomy.sdf import SDF, part_sdf, smin, vertebral_body
from spine.anatomy.solids import Material, Structure

__all__ = [
    "SACRAL_LEVELS",
    "SACRUM",
    "SURFACE_KIND",
    "PendingSurfaces",
    "build_surfaces",
    "drawn_structures",
    "mesh_sdf",
    "start_surfaces",
    "surface_groups",
]

SURFACE_KIND = "bone_surface"
#: the fused sacrum (S1-S5) is one bone and one mesh; its structure's level is S1, the level
#: the lumbosacral views and procedures select, and it stands for every sacral level
SACRUM = "sacrum.bone"
SACRAL_LEVELS = ("S1", "S2", "S3", "S4", "S5")

#: grid step (mm) per region: marching cubes of a smooth distance places the surface to about a
#: tenth of the step, so the step only has to resolve the thinnest part (a cervical lamina,
#: ~2-3 mm; a lumbar pars, ~6 mm); the sampling cost grows with the cube of 1 / step
_VOXEL = {"cervical": 0.6, "thoracic": 0.8, "lumbar": 0.85, "sacral": 1.2, "coccygeal": 0.7, "pelvis": 1.8}
#: ribs are round rods 7-8 mm thick: a coarser grid and fewer triangles do
_RIB_VOXEL, _RIB_FACES = 1.0, 1500
#: a vertebral body alone (the needle checks' body): a big smooth solid, meshed on a coarser grid
_BODY_VOXEL = 1.5
_BLEND = {"cervical": 1.5, "thoracic": 2.0, "lumbar": 3.0, "sacral": 3.5, "coccygeal": 1.0, "pelvis": 4.0}
_FACES = {"cervical": 5000, "thoracic": 6000, "lumbar": 8000, "sacral": 16000, "coccygeal": 800, "pelvis": 4000}
#: cortical shell (mm) of the surfaces; ~1 mm (0.5-1.5 mm) [Edwards 2001; Silva 1994]
SHELL_MM = 1.0
#: the sacrum's cancellous bone against a lumbar body's: sparser, most of all in the alae (the
#: alar "void" of averaged CT models: Wagner D, et al. Sacral bone mass distribution assessed by
#: averaged three-dimensional CT models. J Orthop Res 2016;34:1957-66), so a lateral view through
#: both alae shows the bodies, the canal and the foramina rather than one dense block [typical]
SACRAL_CANCELLOUS_DENSITY = 0.6


@dataclass
class _Part:
    sdf: SDF
    lo: np.ndarray  # world bounding box (already grown by the part's rounding)
    hi: np.ndarray
    extra_shell: float = 0.0  # cortex thicker than SHELL_MM by this much (mm) in this part


#: pedicle cortex: ~1.5-2 mm on average, thicker medially (Kothe R, et al. Internal architecture
#: of the thoracic pedicle. Spine 1996;21:264-70); the rest of the vertebra ~1 mm
PEDICLE_EXTRA_SHELL_MM = 0.8


#: tiles (nodes per axis) in which each part is evaluated, and how far outside a part (in
#: multiples of a tile's half diagonal) its distance at a tile's centre may err: the part
#: functions are distance bounds with a slope of at most about 1.3 (ellipse estimates, tapers)
_TILE = 6
_SLOPE = 1.5


def sample_field(parts: list[_Part], origin: np.ndarray, R: np.ndarray, voxel: float, blend: float):
    """The smooth union of ``parts`` sampled on a grid aligned with frame (origin, R).

    Returns (field, lo, thick): ``field[i, j, k]`` is the distance at local point
    ``lo + voxel * (i, j, k)``, ``thick`` the extra cortex (mm) there.

    The grid is cut into tiles of ``_TILE``^3 nodes, and each part is evaluated only in the
    tiles of its bounding box (grown by the blend) whose centre lies near the part: a tile
    farther than ``band`` outside the part everywhere cannot change the surface (the smooth
    union adds at most blend / 4 where the parts' distances differ by less than the blend),
    so the part skips it. A tile costs one distance to test, and a long oblique part (a rib, a
    transverse process) no longer costs its whole bounding box. The field is kept tile by tile
    while it is filled (each tile one contiguous block) and rearranged into a grid at the end.
    """
    corners = []
    for p in parts:
        c = np.array(np.meshgrid(*zip(p.lo, p.hi), indexing="ij")).reshape(3, -1).T
        corners.append((c - origin) @ R)
    pts = np.concatenate(corners)
    lo = pts.min(axis=0) - blend - 3 * voxel
    hi = pts.max(axis=0) + blend + 3 * voxel
    T = _TILE
    shape = np.array([int(np.floor((hi[k] - lo[k]) / voxel)) + 2 for k in range(3)])
    nt = -(-shape // T)
    tiles = np.full((nt[0], nt[1], nt[2], T**3), 50.0, np.float32)
    thick = np.zeros_like(tiles)  # extra cortex (mm) where a part asks for it
    offsets = np.stack(np.meshgrid(*(np.arange(T),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    band = 1.25 * blend + 2.0 * voxel + 1.0 + _SLOPE * (T - 1) * voxel * np.sqrt(3.0) / 2.0
    world0 = origin + R @ lo  # world point of node (0, 0, 0)
    step = voxel * R.T  # node index -> world offset
    local_nodes = offsets @ step  # (T^3, 3)
    for p, loc in zip(parts, corners):
        t0 = np.clip(np.floor((loc.min(axis=0) - blend - lo) / voxel).astype(int) // T, 0, nt)
        t1 = np.clip(np.ceil((loc.max(axis=0) + blend - lo) / voxel).astype(int) // T + 1, 0, nt)
        if np.any(t1 <= t0):
            continue
        tid = np.stack(np.meshgrid(*(np.arange(a, b) for a, b in zip(t0, t1)), indexing="ij"), axis=-1).reshape(-1, 3)
        centre = world0 + (tid * T + (T - 1) / 2.0) @ step
        tid = tid[p.sdf(centre) < band]
        if not len(tid):
            continue
        q = (world0 + (tid * T) @ step)[:, None, :] + local_nodes[None, :, :]
        d = p.sdf(q.reshape(-1, 3)).astype(np.float32).reshape(len(tid), -1)
        ti, tj, tk = tid.T
        tiles[ti, tj, tk] = smin(tiles[ti, tj, tk], d, blend)
        if p.extra_shell > 0:
            # fades from the part's surface to 3 mm outside it
            thick[ti, tj, tk] = np.maximum(thick[ti, tj, tk], p.extra_shell * np.clip(1.0 - d / 3.0, 0.0, 1.0))

    def grid(a):
        g = a.reshape(nt[0], nt[1], nt[2], T, T, T).transpose(0, 3, 1, 4, 2, 5)
        return np.ascontiguousarray(g.reshape(nt * T)[: shape[0], : shape[1], : shape[2]])

    return grid(tiles), lo, grid(thick)


def mesh_sdf(
    parts: list[_Part],
    origin,
    R,
    voxel: float,
    blend: float,
    shell_mm: float,
    clip: SDF | None = None,
    faces: int = 6000,
):
    """Sample and mesh the smooth union of ``parts`` (see :func:`sample_field`, :func:`mesh_field`)."""
    field, lo, thick = sample_field(parts, np.asarray(origin, float), np.asarray(R, float), voxel, blend)
    return mesh_field(field, lo, voxel, np.asarray(origin, float), np.asarray(R, float), shell_mm, clip, faces, thick)


# -- groups --------------------------------------------------------------------------------
def _region(name: str) -> str:
    return region_of(name)


def surface_groups(b) -> list[dict]:
    """Which parts make which surface: [{name, level, region, frame, parts, body, clip}]."""
    from spine.anatomy.kinds import BONE_KINDS

    by_level: dict = {}
    for st in b.structures.values():
        if st.kind in BONE_KINDS:
            by_level.setdefault(st.level, []).append(st)
    groups = []
    for name in VERTEBRAE:
        region = _region(name)
        f = b.frames[name]
        if region == "sacral":
            continue
        parts = by_level.get(name, [])
        if not parts:
            continue
        g = {
            "name": f"{name}.bone",
            "level": name,
            "region": region,
            "origin": f.origin,
            "R": f.R,
            "parts": parts,
            "clip": None,
        }
        if region == "cervical":
            g["shaped"], g["clip"], g["warps"] = _cervical_tp_shapes(b, name)
            g["shaped"] = g["shaped"] + _lateral_masses(b, name) + _atlas_tubercles(b, name)
            if name == "C1":
                g["clip"] = _atlas_clip(b, g["clip"])
        groups.append(g)
    # rib heads, necks and the start of the shafts beside each thoracic vertebra (drawn and
    # imaged only: the needle checks keep to the vertebra's parts)
    for name in VERTEBRAE:
        if _region(name) != "thoracic":
            continue
        f = b.frames[name]
        for side in ("left", "right"):
            rib = _rib_parts(b, name, side)
            if rib:
                groups.append(
                    {
                        "name": f"{name}.rib.{side}",
                        "level": name,
                        "side": side,
                        "region": "thoracic",
                        "origin": f.origin,
                        "R": f.R,
                        "parts": [],
                        "extra": rib,
                        "clip": None,
                        "voxel": _RIB_VOXEL,
                        "faces": _RIB_FACES,
                        "key": repr([(np.round(a, 4).tobytes(), np.round(c, 4).tobytes(), r) for a, c, r in rib]),
                    }
                )
    # the sacrum: one fused bone, one smooth function for S1-S5 meshed once
    sacral = [n for n in VERTEBRAE if _region(n) == "sacral"]
    parts = [st for n in sacral for st in by_level.get(n, [])]
    f3 = b.frames["S3"]
    shapes, holes = _sacrum_shapes(b)
    groups.append(
        {
            "name": SACRUM,
            "level": sacral[0],
            "region": "sacral",
            "origin": f3.origin,
            "R": f3.R,
            "parts": parts,  # hashed: the drawn shape follows the placed parts' inputs
            "shaped": shapes,
            "shaped_only": True,
            "clip": _carve(holes),
        }
    )
    for side in ("left", "right"):
        ilium = [st for st in by_level.get(None, []) if st.kind.startswith("ilium") and st.side == side]
        if ilium:
            f = b.frames["S1"]
            groups.append(
                {
                    "name": f"ilium.{side}.bone",
                    "level": None,
                    "side": side,
                    "region": "pelvis",
                    "origin": f.origin,
                    "R": f.R,
                    "parts": ilium,
                    "clip": None,
                }
            )
            shapes, holes = _ilium_shapes(b, side)
            groups[-1].update(shaped=shapes, shaped_only=True, clip=_carve(holes))
    return groups


def _rib_parts(b, name: str, side: str) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """World capsules (a, b, radius) of a rib's head, neck and first shaft segment.

    The head articulates with the back of the body near its upper edge (T2-T9: across the
    disc above as well), the neck runs back and out in front of the transverse process and
    the tubercle rests on the TP's tip; the shaft then runs laterally, back and down before
    it turns forward out of the field [typical: Gray's Anatomy, 41st ed., ch. 53].
    """
    a = b.anchors.get(name, {})
    if ("tp_tip", side) not in a:
        return []
    sz, f = b.size[name], b.frames[name]
    s = 1.0 if side == "left" else -1.0
    k = b.scale
    head = np.array([s * (sz.body_width / 2 - 1.0 * k), sz.body_depth / 2 - 5.0 * k, sz.body_height / 2 - 1.0 * k])
    tip = np.asarray(a[("tp_tip", side)], float)
    tubercle = tip + np.array([-s * 2.0 * k, -4.5 * k, -1.0 * k])
    angle = np.array([s * 1.0, 0.45, -0.35])
    angle /= np.linalg.norm(angle)
    bend = tubercle + angle * 28.0 * k
    out = np.array([s * 1.0, -0.15, -0.45])
    out /= np.linalg.norm(out)
    shaft_end = bend + out * 45.0 * k
    pts = [f.p(*head), f.p(*tubercle), f.p(*bend), f.p(*shaft_end)]
    return [(pts[0], pts[1], 3.6 * k), (pts[1], pts[2], 4.2 * k), (pts[2], pts[3], 4.0 * k)]


#: foramen transversarium: about 5-6.5 mm across at C3-C6, the transverse diameter a little
#: larger than the sagittal (Taitz C, Nathan H, Arensburg B. Anatomical observations of the
#: foramina transversaria. J Neurol Neurosurg Psychiatry 1978;41:170-6); radius here (mm)
TRANSVERSE_FORAMEN_RADIUS_MM = 3.0
#: anterior tubercles (the costal element's tip) and posterior tubercles at the ends of the
#: C3-C6 transverse processes, joined by the intertubercular lamella whose upper surface is the
#: gutter of the spinal nerve; C6's anterior (carotid) tubercle is the largest [Gray's Anatomy,
#: 41st ed., ch. 43]. Radii (x, y, z; mm) before the model's scale.
_ANTERIOR_TUBERCLE = {"C3": (2.4, 2.8, 3.4), "C4": (2.6, 3.0, 3.6), "C5": (2.8, 3.2, 3.8), "C6": (3.4, 3.8, 4.6)}
_POSTERIOR_TUBERCLE = (2.4, 2.6, 3.2)


def _local_part(f, sdf_local, lo_local, hi_local) -> _Part:
    """A part given by a distance in the frame ``f`` (local points) and its local box."""
    origin, R = np.asarray(f.origin, float), np.asarray(f.R, float)
    c = np.array(np.meshgrid(*zip(lo_local, hi_local), indexing="ij")).reshape(3, -1).T @ R.T + origin
    return _Part(lambda p: sdf_local((p - origin) @ R), c.min(axis=0), c.max(axis=0))


def _cervical_tp_shapes(b, name: str):
    """C1-C6 transverse processes as bone, not two rods: the lamella that joins the anterior and
    posterior bars lateral to the foramen transversarium (its upper face the nerve's gutter),
    the anterior and posterior tubercles at its end (C3-C6), and the foramen itself, a round
    hole along the vertebral artery (the clip). Returns (parts, clip SDF or None, warps: the
    sides whose process turns forward and down lateral to the foramen, see :func:`_warped`)."""
    from spine.anatomy.bones import SIDES, SIGN
    from spine.anatomy.sdf import ellipsoid, round_box

    f, k = b.frames[name], b.scale
    anchors = b.anchors.get(name, {})
    parts: list[_Part] = []
    holes = []
    warps: dict[str, tuple[float, float]] = {}
    r_hole = TRANSVERSE_FORAMEN_RADIUS_MM * k
    for side in SIDES:
        tf = anchors.get(("transverse_foramen", side))
        post, ant = b.structures.get(f"{name}.tp.{side}"), b.structures.get(f"{name}.tp_anterior.{side}")
        if tf is None or post is None or ant is None or not hasattr(post.solid, "endpoints"):
            continue
        s = SIGN[side]
        tf = np.asarray(tf, float)
        lp0, lp1 = (f.local(p) for p in post.solid.endpoints)
        la0, la1 = (f.local(p) for p in ant.solid.endpoints)
        x_in = tf[0] + s * (r_hole - 0.5 * k)
        x_out = 0.5 * (lp1[0] + la1[0])
        y_front, y_back = la1[1] + 0.5 * k, lp1[1] - 0.5 * k
        z_c = tf[2] - 1.0 * k
        c = np.array([(x_in + x_out) / 2, (y_front + y_back) / 2, z_c])
        half = np.array([abs(x_out - x_in) / 2, max(abs(y_back - y_front) / 2, 1.0), 1.3 * k])
        parts.append(
            _local_part(f, lambda q, c=c, half=half: round_box(q - c, half, 1.0 * k), c - half - 1, c + half + 1)
        )
        if name in _ANTERIOR_TUBERCLE:
            warps[side] = (s, abs(tf[0]) + r_hole)
            for centre, radii in (
                (la1 + np.array([s * 0.5, -0.8, -1.2]) * k, np.array(_ANTERIOR_TUBERCLE[name]) * k),
                (lp1 + np.array([s * 0.3, 0.4, -0.8]) * k, np.array(_POSTERIOR_TUBERCLE) * k),
            ):
                parts.append(
                    _local_part(
                        f, lambda q, c=centre, r=radii: ellipsoid(q - c, r), centre - radii - 1, centre + radii + 1
                    )
                )
        holes.append(tf)
    if not holes:
        return parts, None, warps
    origin, R = np.asarray(f.origin, float), np.asarray(f.R, float)
    if warps:
        # lateral to the foramen the process turns forward and down (C3-C6 transverse processes
        # point anterolaterally and a little inferiorly [Gray's Anatomy, 41st ed., ch. 43]): a
        # shear of the lateral parts' distance, so no bar lies along a lateral beam end-on
        parts = [_warped(p, f, warps) for p in parts]

    def clip(p):
        q = (p - origin) @ R
        d = np.full(len(q), -1e3)
        for tf in holes:  # outside the hole: negative (kept); inside: up to r_hole (cut away)
            d = np.maximum(d, r_hole - np.hypot(q[:, 0] - tf[0], q[:, 1] - tf[1]))
        return d

    return parts, clip, warps


def _lateral_masses(b, name: str) -> list[_Part]:
    """C3-C7 articular pillars: the column of bone between a vertebra's superior and inferior
    articular processes (the lateral mass), so the two processes read as one pillar with its
    facets at both ends, not two crossed plates [Gray's Anatomy, 41st ed., ch. 43]."""
    from spine.anatomy.sdf import capsule

    if name not in ("C3", "C4", "C5", "C6", "C7"):
        return []
    f, k = b.frames[name], b.scale
    a = b.anchors.get(name, {})
    out = []
    for side in ("left", "right"):
        sap, iap = a.get(("sap_centre", side)), a.get(("iap_centre", side))
        if sap is None or iap is None:
            continue
        sap, iap = np.asarray(sap, float), np.asarray(iap, float)
        p0, p1 = sap + 0.3 * (iap - sap), iap - 0.3 * (iap - sap)
        r = 4.2 * k
        out.append(
            _local_part(
                f,
                lambda q, p0=p0, p1=p1, r=r: capsule(q, p0, p1, r),
                np.minimum(p0, p1) - r - 1,
                np.maximum(p0, p1) + r + 1,
            )
        )
    return out


def _atlas_tubercles(b, name: str) -> list[_Part]:
    """C1's anterior tubercle (in front of its anterior arch, where the longus colli holds) and
    posterior tubercle (the rudimentary spinous process at the back of its posterior arch)
    [Gray's Anatomy, 41st ed., ch. 43]."""
    from spine.anatomy.sdf import ellipse2, ellipsoid

    if name != "C1":
        return []
    f, k = b.frames[name], b.scale
    back = float(b.anchors[name]["canal_back_y"])
    out = []
    # the posterior arch is one curve from lateral mass to lateral mass (the placed parts are
    # two straight rods meeting in a V): an elliptic arc through the backs of the lateral masses
    # and the middle of the arch, a flattened rod, about 8 mm high and 5 mm thick at the midline,
    # thinning to about 4.5 mm high where it leaves the lateral masses under the vertebral artery
    # (the sulcus; Gray's Anatomy, 41st ed., ch. 43), so seen from behind it is a slender arch
    # between the bulky lateral masses, not a bar of one height
    lm_y, lm_x = 11.0 * k, 17.0 * k
    mid_y = back + 3.5 * k
    yc = 5.0 * k
    bb = mid_y - yc
    aa = lm_x / np.sqrt(max(1.0 - ((lm_y - yc) / bb) ** 2, 1e-3))

    def arc(q):
        d_ell = ellipse2(q[:, 0], q[:, 1] - yc, aa, bb)
        mid = np.exp(-((q[:, 0] / (8.0 * k)) ** 2))
        d = ellipse2(d_ell, q[:, 2] + (1.0 + 0.5 * mid) * k, (2.2 + 0.5 * mid) * k, (2.3 + 1.7 * mid) * k)
        return np.maximum(d, (lm_y - 2.0 * k) - q[:, 1])

    lo = np.array([-aa - 5 * k, lm_y - 3 * k, -6 * k])
    hi = np.array([aa + 5 * k, mid_y + 5 * k, 6 * k])
    out.append(_local_part(f, arc, lo, hi))
    for c, r in (
        (np.array([0.0, -12.0, 0.0]) * k, np.array([4.5, 2.6, 4.5]) * k),
        (np.array([0.0, back / k + 3.5, -1.5]) * k, np.array([3.2, 2.6, 3.8]) * k),
    ):
        out.append(_local_part(f, lambda q, c=c, r=r: ellipsoid(q - c, r), c - r - 1, c + r + 1))
    # the transverse processes end in a broad apex, taller than the rod that carries it
    for side in ("left", "right"):
        c = np.asarray(b.anchors[name][("tp_tip", side)], float)
        r = np.array([2.6, 3.4, 5.0]) * k
        c = c - np.array([np.sign(c[0]) * 0.5 * k, 0.0, 0.0])
        out.append(_local_part(f, lambda q, c=c, r=r: ellipsoid(q - c, r), c - r - 1, c + r + 1))
    return out


def _atlas_clip(b, clip):
    """C1's carved surfaces, added to its foramina's ``clip``: each superior articular facet a
    concave dish in the top of the lateral mass, deepest medially, so it faces up and in (it
    cradles the occipital condyle); each inferior facet cut flat and round; and the groove for
    the vertebral artery across the top of the posterior arch just behind the lateral mass
    [Gray's Anatomy, 41st ed., ch. 43]."""
    from spine.anatomy.bones import SIDES, SIGN
    from spine.anatomy.sdf import capsule

    f, k = b.frames["C1"], b.scale
    origin, R = np.asarray(f.origin, float), np.asarray(f.R, float)
    holes = []
    for side in SIDES:
        s = SIGN[side]
        lm = b.structures[f"C1.lateral_mass.{side}"].solid
        c = (lm.center - origin) @ R
        top, bottom = c[2] + lm.radii[2], c[2] - lm.radii[2]
        r_dish = 18.0 * k
        dish = np.array([c[0] - s * 8.0 * k, c[1], top + r_dish - 2.5 * k])
        holes.append(lambda q, d=dish, r=r_dish: r - np.linalg.norm(q - d, axis=1))
        holes.append(
            lambda q, z=bottom + 1.0 * k, x=c[0], r=lm.radii[0] + 2 * k: np.minimum(
                z - q[:, 2], r - np.abs(q[:, 0] - x)
            )
        )
        # along the top of the arch from behind the lateral mass back toward the midline, under
        # the artery's course over the arch (``softtissue._vertebral_artery``)
        a = np.array([s * 18.0 * k, 9.5 * k, 4.6 * k])
        e = np.array([s * 11.5 * k, 22.0 * k, 4.6 * k])
        holes.append(lambda q, a=a, e=e: -capsule(q, a, e, 2.6 * k))

    def carved(p):
        q = (p - origin) @ R
        d = np.full(len(p), -1e3) if clip is None else clip(p)
        for h in holes:
            d = np.maximum(d, h(q))
        return d

    return carved


#: forward and downward turn (tan) of the C3-C6 transverse processes lateral to the foramen
_TP_FORWARD, _TP_DOWN = 0.36, 0.27


def _warped(p: _Part, f, warps: dict[str, tuple[float, float]]) -> _Part:
    """The part sheared forward (-y) and down (-z) by its distance lateral to ``x0`` on each side
    in ``warps`` ({side: (sign of x, x0)}); its box grows by the largest shift."""
    origin, R = np.asarray(f.origin, float), np.asarray(f.R, float)
    sides = list(warps.values())

    def sdf(pts):
        q = (pts - origin) @ R
        for s, x0 in sides:
            t = np.maximum(s * q[:, 0] - x0, 0.0)
            q[:, 1] += _TP_FORWARD * t
            q[:, 2] += _TP_DOWN * t
        return p.sdf(q @ R.T + origin)

    grow = 8.0 * max(_TP_FORWARD, _TP_DOWN) + 1.0
    return _Part(sdf, p.lo - grow, p.hi + grow, p.extra_shell)


def _part(st: Structure, posterior: np.ndarray | None = None) -> _Part:
    region = _region(st.level) if st.level in VERTEBRAE else "pelvis"
    sdf = part_sdf(st.kind, region, st.level or "", st.solid, posterior)
    extra = PEDICLE_EXTRA_SHELL_MM if st.kind == "pedicle" else 0.0
    lo, hi = st.solid.bounding_box()
    # tapered / bifid spinous processes reach past their box a little
    grow = 0.25 * float(np.max(hi - lo)) if st.kind == "spinous_process" else 0.5
    return _Part(sdf, lo - grow, hi + grow, extra)


def _body_part(b, name: str) -> _Part:
    sz, f = b.size[name], b.frames[name]
    uncinate = name in ("C3", "C4", "C5", "C6", "C7")
    body = vertebral_body(sz.body_width, sz.body_depth, sz.body_height, _region(name), uncinate)
    origin, R = f.origin, f.R

    def sdf(p):
        return body((p - origin) @ R)

    # the cervical uncinate processes and lip reach past the body's box
    half = np.array([sz.body_width, sz.body_depth, sz.body_height]) / 2 + (3.0 if _region(name) == "cervical" else 1.0)
    c = np.array(np.meshgrid(*zip(-half, half), indexing="ij")).reshape(3, -1).T @ R.T + origin
    return _Part(sdf, c.min(axis=0), c.max(axis=0))


#: the dens's half-width (x) and half-depth (y) from its base up to its apex (mm, at 0, 0.25,
#: 0.6, 0.85 and 1 of its height): a waist (the neck) above the base, the head carrying the
#: anterior facet for the atlas, a rounded apex [Gray's Anatomy, 41st ed., ch. 43]; about 9-10 mm
#: wide and 10.6 mm deep (morphometry.py: GS12 and a series of 52 dry axes)
_DENS_PROFILE = ((0.0, 5.2, 5.6), (0.25, 4.3, 4.8), (0.6, 4.9, 5.3), (0.85, 4.0, 4.4), (1.0, 1.5, 1.8))


def _dens_part(b) -> _Part:
    """C2's dens as a peg, not a cylinder: it rises from the body with a waist, a fuller head
    and a rounded apex, tilted a little back (the placed capsule stays for the checks)."""
    from spine.anatomy.sdf import ellipse2, smax

    st = b.structures["C2.dens"]
    f, k = b.frames["C2"], b.scale
    a, c = (f.local(p) for p in st.solid.endpoints)
    r = float(st.solid.radius)
    z0, z1 = float(a[2]), float(c[2]) + r  # from inside the body to the tip
    height = z1 - z0
    ts = np.array([t for t, _x, _y in _DENS_PROFILE])
    rx = np.array([x for _t, x, _y in _DENS_PROFILE]) * k
    ry = np.array([y for _t, _x, y in _DENS_PROFILE]) * k
    tilt = 0.12  # back (+y) per mm up

    def sdf(q):
        t = np.clip((q[:, 2] - z0) / height, 0.0, 1.0)
        yc = a[1] + tilt * (q[:, 2] - z0)
        d = ellipse2(q[:, 0] - a[0], q[:, 1] - yc, np.interp(t, ts, rx), np.interp(t, ts, ry))
        d = smax(d, q[:, 2] - z1, 2.0 * k)
        return np.maximum(d, z0 - 2.0 * k - q[:, 2])

    lo = np.array([a[0] - 7 * k, a[1] - 7 * k, z0 - 3 * k])
    hi = np.array([a[0] + 7 * k, a[1] + tilt * height + 7 * k, z1 + 3 * k])
    return _local_part(f, sdf, lo, hi)


def _capsule_part(a, c, r) -> _Part:
    from spine.anatomy.sdf import capsule

    lo = np.minimum(a, c) - r - 0.5
    hi = np.maximum(a, c) + r + 0.5
    return _Part(lambda p: capsule(p, a, c, r), lo, hi)


def _group_parts(b, g) -> list[_Part]:
    out = [_capsule_part(a, c, r) for a, c, r in g.get("extra", [])] + list(g.get("shaped", []))
    warps = g.get("warps", {})
    if g.get("shaped_only"):  # the sacrum and the ilia: drawn from their own shapes
        return out
    for st in g["parts"]:
        if st.kind == "posterior_arch" and st.level == "C1":
            continue  # drawn as one arc (:func:`_atlas_tubercles`); the needle checks keep the rods
        # (a coccygeal piece keeps its placed ellipsoid: a small rounded nodule, not a box)
        if st.kind == "body" and _region(st.level) in ("cervical", "thoracic", "lumbar", "sacral"):
            out.append(_body_part(b, st.level))
        elif st.kind == "dens":
            out.append(_dens_part(b))
        elif st.kind in ("tp", "tp_anterior") and st.side in warps:
            out.append(_warped(_part(st), b.frames[st.level], {st.side: warps[st.side]}))
        else:
            out.append(_part(st, b.frames[st.level].R[:, 1] if st.level in b.frames else None))
    return out


def _group_key(b, g) -> str:
    """Cache key of one bone surface: the shape code's digest (a new shape function is a new
    key, :func:`~spine.anatomy.surface_cache.shape_code_digest`), the group's frame, and every
    part's geometry."""
    from spine.anatomy.surface_cache import shape_code_digest

    h = hashlib.sha256(f"surface|{shape_code_digest()}|{g['region']}|{g['name']}".encode())
    h.update(np.round(np.asarray(g["origin"], float), 6).tobytes())
    h.update(np.round(np.asarray(g["R"], float), 6).tobytes())
    for st in g["parts"]:
        h.update(f"{st.name}|{type(st.solid).__name__}".encode())
        for key, value in sorted(vars(st.solid).items()):
            h.update(key.encode())
            h.update(np.round(np.asarray(value, dtype=float), 6).tobytes())
        if st.kind == "body" and st.level in b.size:
            sz = b.size[st.level]
            h.update(repr((sz.body_width, sz.body_depth, sz.body_height)).encode())
    h.update(g.get("key", "").encode())
    return h.hexdigest()


def _body_key(b, name: str) -> str:
    """Cache key of a vertebral body meshed alone: the shape code's digest, its size and frame."""
    from spine.anatomy.surface_cache import shape_code_digest

    sz, fr = b.size[name], b.frames[name]
    return hashlib.sha256(
        f"body|{shape_code_digest()}|{name}|{sz.body_width}|{sz.body_depth}|{sz.body_height}|".encode()
        + np.round(np.asarray(fr.origin, float), 6).tobytes()
        + np.round(np.asarray(fr.R, float), 6).tobytes()
    ).hexdigest()


#: what the worker processes mesh: set just before they are forked, read by :func:`_run_job`
_JOBS: dict = {}


def _run_job(job: tuple) -> list[tuple[str, tuple]]:
    """Mesh one job: ("group", [group indices sharing one field]), ("body", level) or
    ("deferred", cache key) (a mesh the builder deferred, e.g. a disc: :attr:`ModelBuilder.deferred`).

    Returns [(cache key, (vertices, faces, core vertices, core faces))]."""
    b, groups = _JOBS["b"], _JOBS["groups"]
    what, arg = job
    if what == "deferred":
        return [(arg, b.deferred[arg][0]())]
    if what == "body":
        fr = b.frames[arg]
        region = _region(arg)
        return [
            (
                _body_key(b, arg),
                mesh_sdf(
                    [_body_part(b, arg)], fr.origin, fr.R, _BODY_VOXEL * _VOXEL[region], 0.0, SHELL_MM, faces=3000
                ),
            )
        ]
    out = []
    g0 = groups[arg[0]]
    voxel = g0.get("voxel", _VOXEL[g0["region"]])
    field, lo, thick = sample_field(_group_parts(b, g0), g0["origin"], g0["R"], voxel, _BLEND[g0["region"]])
    for i in arg:
        g = groups[i]
        out.append(
            (
                g["key_hash"],
                mesh_field(
                    field,
                    lo,
                    voxel,
                    g["origin"],
                    g["R"],
                    SHELL_MM,
                    clip=g["clip"],
                    faces=g.get("faces", _FACES[g["region"]]),
                    thick=thick,
                ),
            )
        )
    return out


def _jobs_count() -> int:
    """Worker processes for meshing: ``SPINE_ANATOMY_JOBS`` or the CPUs this process may use."""
    import os

    from spine.settings import settings

    if settings().anatomy_jobs > 0:
        return settings().anatomy_jobs
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, min(4, os.cpu_count() or 1))


def _plan(b, cache) -> tuple[list[dict], list[str], list[tuple]]:
    """The surface groups, the levels whose body is meshed alone, and the jobs not cached."""
    groups = surface_groups(b)
    bodies = [
        name
        for name in VERTEBRAE
        if _region(name) in ("cervical", "thoracic", "lumbar") and name != "C1" and f"{name}.body" in b.structures
    ]
    for g in groups:
        g["key_hash"] = _group_key(b, g)
    jobs: list[tuple] = [("group", [i]) for i, g in enumerate(groups) if cache.get(g["key_hash"]) is None]
    # the biggest (the sacrum, the ilia) first, so the last job to start is a small one
    jobs.sort(key=lambda job: groups[job[1][0]]["region"] not in ("sacral", "pelvis"))
    jobs += [("body", name) for name in bodies if cache.get(_body_key(b, name)) is None]
    # the deferred meshes (the discs: small) last, to fill the end of the run
    jobs += [("deferred", key) for key in (b.deferred or {}) if cache.get(key) is None]
    return groups, bodies, jobs


class PendingSurfaces:
    """Bones being meshed in worker processes while the model's soft tissue and landmarks are
    built (:func:`start_surfaces`); :func:`build_surfaces` collects them."""

    def __init__(self, pool, result):
        self._pool, self._result = pool, result

    def collect(self, cache) -> None:
        try:
            for rs in self._result.get():
                for key, got in rs:
                    cache.put(key, got)
        except Exception:  # pragma: no cover - a worker died: build_surfaces meshes what is missing
            pass
        finally:
            self._pool.terminate()
            self._pool.join()


def start_surfaces(b) -> PendingSurfaces | None:
    """Start meshing the bones that are not cached, in forked worker processes, and return at once.

    The meshes of different bones are independent, and they need only the placed bone parts,
    so they are made in parallel with each other and with the rest of the model's build;
    forked workers inherit the builder (its parts are closures, which do not pickle) and send
    back plain arrays. Returns None where there is nothing to mesh, one CPU, or no fork:
    :func:`build_surfaces` then meshes here, one bone after another."""
    import multiprocessing as mp
    from spine.anatomy.surface_cache import SurfaceCache

    groups, _bodies, jobs = _plan(b, SurfaceCache.default())
    n = min(_jobs_count(), len(jobs))
    if n < 2 or "fork" not in mp.get_all_start_methods():
        return None
    _JOBS.update(b=b, groups=groups)
    try:
        pool = mp.get_context("fork").Pool(n)  # the workers are forked here and keep _JOBS
        return PendingSurfaces(pool, pool.map_async(_run_job, jobs, chunksize=1))
    except Exception:  # pragma: no cover - could not fork: mesh in build_surfaces
        return None
    finally:
        _JOBS.clear()


def _job_keys(b, groups: list[dict], job: tuple) -> list[str]:
    """The cache keys of the meshes a job of :func:`_plan` makes."""
    what, arg = job
    if what == "deferred":
        return [arg]
    if what == "body":
        return [_body_key(b, arg)]
    return [groups[i]["key_hash"] for i in arg]


def _mesh_here(jobs: list[tuple], keys: list[list[str]], cache) -> int:
    """Mesh ``jobs`` in this process, sharing them with any other process meshing the same
    bones at the same time.

    The workers of ``render.py all`` start together, each with a video to plan and the same
    empty mesh cache; before, each meshed every bone (measured: two builds at once took
    10.7 s of CPU each; now 6.2 s each).
    Now each job is claimed first (:meth:`SurfaceCache.claim`): a job another process holds
    is left to it, and read from the cache once that process lets go (or meshed here if it
    wrote nothing: it died). The meshes are the same whoever makes them. Returns how many
    jobs were meshed here.
    """
    meshed = 0
    elsewhere = []
    for job, job_keys in zip(jobs, keys):
        with cache.claim(job_keys[0]) as mine:
            if not mine:
                elsewhere.append((job, job_keys))
            elif any(cache.get(k) is None for k in job_keys):  # not made meanwhile by the other
                for key, got in _run_job(job):
                    cache.put(key, got)
                meshed += 1
    for job, job_keys in elsewhere:
        with cache.claim(job_keys[0], wait=True):
            if any(cache.get(k) is None for k in job_keys):
                for key, got in _run_job(job):
                    cache.put(key, got)
                meshed += 1
    return meshed


def build_surfaces(b, pending: PendingSurfaces | None = None) -> None:
    """Add every ``*.bone`` surface and give mobile vertebral bodies their realistic mesh
    (collecting the meshes of :func:`start_surfaces` first, where it was called)."""
    from spine.anatomy.surface_cache import SurfaceCache

    cache = SurfaceCache.default()
    if pending is not None:
        pending.collect(cache)
    groups, bodies, jobs = _plan(b, cache)
    if jobs:
        _JOBS.update(b=b, groups=groups)
        try:
            b.meshed_here = _mesh_here(jobs, [_job_keys(b, groups, job) for job in jobs], cache)
        finally:
            _JOBS.clear()
    for g in groups:
        key = g["key_hash"]
        v, f, cv, cf = cache.get(key)
        core = MeshSolid(center=None, vertices=cv, faces=cf, digest=key + ":core") if cv is not None else None
        solid = MeshSolid(center=g["origin"], rotation=g["R"], vertices=v, faces=f, core=core, digest=key)
        b.structures[g["name"]] = Structure(
            g["name"],
            SURFACE_KIND,
            Material.CORTICAL_BONE,
            solid,
            level=g["level"],
            side=g.get("side"),
            shell_mm=SHELL_MM,
            cancellous_density=SACRAL_CANCELLOUS_DENSITY if g["name"] == SACRUM else 1.0,
        )
    for key, (_make, finishes) in (b.deferred or {}).items():
        for finish in finishes:
            finish(cache.get(key))
    if b.deferred is not None:
        b.deferred.clear()
    for name in bodies:
        st = b.structures[f"{name}.body"]
        sz, fr = b.size[name], b.frames[name]
        key = _body_key(b, name)
        v, f, cv, cf = cache.get(key)
        core = MeshSolid(center=None, vertices=cv, faces=cf, digest=key + ":core") if cv is not None else None
        solid = MeshSolid(
            center=fr.origin,
            rotation=fr.R,
            vertices=v,
            faces=f,
            core=core,
            radii=np.array([sz.body_width / 2, sz.body_depth / 2]),
            half_height=sz.body_height / 2,
            digest=key,
        )
        b.structures[st.name] = Structure(
            st.name, st.kind, st.material, solid, level=st.level, side=st.side, shell_mm=SHELL_MM
        )
    cache.flush()


def drawn_structures(structures) -> list[Structure]:
    """The structures to draw or image: where a bone surface exists for a level (and side),
    it replaces that level's bone parts (which overlap each other and it)."""
    from spine.anatomy.kinds import BONE_KINDS

    structures = list(structures)
    covered = {(s.level, s.side if s.level is None else None) for s in structures if s.kind == SURFACE_KIND}
    if any(s.name == SACRUM for s in structures):  # one mesh for the five fused segments
        covered |= {(level, None) for level in SACRAL_LEVELS}
    out = []
    for s in structures:
        if s.kind in BONE_KINDS and (s.level, s.side if s.level is None else None) in covered:
            continue
        out.append(s)
    return out


# -- sacrum and pelvis: the drawn bone -------------------------------------------------------
def _world_part(sdf, lo, hi) -> _Part:
    return _Part(sdf, np.asarray(lo, float), np.asarray(hi, float))


def _sacral_extent(b, name: str) -> tuple[float, float, float]:
    """(z bottom, z top, gap above) of sacral segment ``name`` in its frame: to the mid-planes of
    its fused discs (S1: its upper endplate; S5: its lower end)."""
    num = int(name[1])
    h = b.size[name].body_height
    g_above = b.chain.joint_gap[f"S{num - 1}-{name}"] if num > 1 else 0.0
    g_below = b.chain.joint_gap[f"{name}-S{num + 1}"] if num < 5 else 0.0
    return -(h / 2 + g_below / 2), h / 2 + g_above / 2, g_above


class _SacralCoordinates:
    """Coordinates along the curved sacrum: ``(x, y, zeta)`` of world points, x lateral, y
    posterior (from the bodies' centre line), zeta (mm) along the bone from its base (0, the S1
    upper endplate) down to its apex (negative).

    Each fused segment's frame gives its own local coordinates; a point's are their average
    weighted by how near the point lies to each segment (Gaussian weights in zeta), so they turn
    smoothly with the sacral kyphosis instead of stepping at the fused discs. Profiles along the
    bone (its outline, depth, canal, crests) are then functions of zeta alone, and the bone is
    one smooth wedge."""

    def __init__(self, b):
        names = ["S1", "S2", "S3", "S4", "S5"]
        self.origins = np.array([b.frames[n].origin for n in names], float)
        self.Rs = np.array([b.frames[n].R for n in names], float)
        top, tops, centres, halves, z1s = 0.0, [], [], [], []
        for n in names:
            sz = b.size[n]
            z0, z1, _g = _sacral_extent(b, n)
            if n == "S1":
                z1 = sz.body_height / 2
            tops.append(top)
            centres.append(top - (z1 - z0) / 2)
            halves.append((z1 - z0) / 2)
            z1s.append(z1)
            top -= z1 - z0
        self.tops = np.array(tops)  # zeta of each segment's upper boundary (0, then the fused discs)
        self.centres = np.array(centres)
        self.halves = np.array(halves)
        self.z1 = np.array(z1s)
        self.apex = top  # zeta of the lower end of S5

    def __call__(self, p: np.ndarray):
        q = np.einsum("snj,sjk->snk", p[None, :, :] - self.origins[:, None, :], self.Rs)  # (5, n, 3)
        zeta = self.tops[:, None] - (self.z1[:, None] - q[:, :, 2])
        u = (zeta - self.centres[:, None]) / (0.85 * self.halves[:, None])
        logw = -(u * u)
        w = np.exp(logw - logw.max(axis=0))
        w /= w.sum(axis=0)
        return (w * q[:, :, 0]).sum(axis=0), (w * q[:, :, 1]).sum(axis=0), (w * zeta).sum(axis=0)


def _profile(knots, values):
    """A smooth profile along the sacrum (monotone cubic through the knots; constant beyond)."""
    from scipy.interpolate import PchipInterpolator

    order = np.argsort(knots)
    k, v = np.asarray(knots, float)[order], np.asarray(values, float)[order]
    f = PchipInterpolator(k, v, extrapolate=False)
    df = f.derivative()

    def value(z, d: bool = False):
        zc = np.clip(z, k[0], k[-1])
        return df(zc) if d else f(zc)

    return value


#: the fused bodies' depth at S1 as a fraction of S1's own body: the promontory juts about 3 mm
PROMONTORY_STEP = 0.82


def _sacrum_shapes(b) -> tuple[list[_Part], list[tuple]]:
    """The sacrum as one fused bone (parts) and what is carved out of it (holes).

    In the sacrum's own curved coordinates (:class:`_SacralCoordinates`, concave in front):

    * the wedge: a plate across the whole width whose outline narrows smoothly from the alae
      (:data:`SACRAL_OUTLINE_HALF_WIDTH_MM`) to the apex and whose depth tapers with the
      segments; its dorsal surface convex (the lateral parts lie in front of the midline), its
      lateral border thinner and rounded; at S1 the alae's upper surfaces slope down laterally
      beside the S1 superior articular processes;
    * the fused bodies: S1's vertebral body (its front edge the promontory) and one column of
      the bodies below it, tapering to the apex, with a faint transverse ridge across the pelvic
      surface where each disc fused (the ridges, not gaps);
    * on the dorsal surface: the median crest (the fused spinous tubercles, S1-S3 or S4), the
      intermediate crests (fused articular processes) medial to the posterior foramina and the
      lateral crests (fused transverse processes) lateral to them, each one continuous ridge
      with a tubercle per segment; the S1 superior articular processes and the sacral cornua
      are the placed parts.

    Holes (world SDFs with their boxes): the sacral canal (one tube, open above S1); four pairs
    of foramina, each a channel from the canal's lateral recess out to a small posterior and a
    larger anterior opening; the hiatus (no dorsal wall over S5 and the lower S4); and, beyond
    the sacral face of each SI joint, everything (the auricular surface is the joint's face)."""
    from spine.anatomy import morphometry as mm
    from spine.anatomy.bones import SIDES, SIGN, sacral_foramen_points
    from spine.anatomy.sdf import capsule, ellipse2, elliptic_tube, extrude, round_box, smax

    k = b.scale
    names = ["S1", "S2", "S3", "S4", "S5"]
    C = _SacralCoordinates(b)
    sizes = [b.size[n] for n in names]
    # the outline: half-width at the base, the fused discs and the apex
    bounds = list(C.tops) + [C.apex]
    width = _profile(bounds, [w * k for w in mm.SACRAL_OUTLINE_HALF_WIDTH_MM])
    # per segment, at its centre: the front of the lateral parts, the dorsal surface, the bodies
    # and the canal (each continues to the base and the apex at its end segment's value)
    cz = list(C.centres)
    y_front = _profile(cz, [-0.35 * s.body_depth / 2 for s in sizes])
    y_back = _profile(cz, [s.body_depth / 2 + s.canal_depth + max(s.lamina_thickness, 3.0 * k) for s in sizes])
    body_w = _profile(cz, [s.body_width / 2 for s in sizes])
    # the fused bodies' half-depth; at S1 a little less than S1's own body, so S1's front (the
    # promontory) juts over the bodies below it, as on a lateral radiograph
    body_d = _profile(cz, [(PROMONTORY_STEP if i == 0 else 1.0) * s.body_depth / 2 for i, s in enumerate(sizes)])
    canal_w = _profile(cz, [s.canal_width / 2 for s in sizes])
    canal_d = _profile(cz, [s.canal_depth / 2 for s in sizes])
    canal_c = _profile(cz, [s.body_depth / 2 + s.canal_depth / 2 for s in sizes])
    discs = C.tops[1:]  # zeta of the fused discs S1-S2 .. S4-S5

    def ridges(zeta):
        """The transverse ridges (mm of extra bone) where the discs fused."""
        return 1.2 * k * np.exp(-(((zeta[:, None] - discs[None, :]) / (2.2 * k)) ** 2)).sum(axis=1)

    # S1: the alae's upper surfaces slope down laterally from beside the body
    x_droop = sizes[0].body_width / 2 + 5.0 * k
    top_of_alae = -2.5 * k
    # the dorsal surface lateral of the S1 lamina lies lower, in front of the L5-S1 facet joint
    # and its inferior recess and along the groove between the ala and the superior articular
    # process (the L5 dorsal ramus): the needles of the facet injection and of the L5 dorsal
    # ramus block reach bone there, not through a dorsal plate
    f1 = b.frames["S1"]
    o1, R1 = np.asarray(f1.origin, float), np.asarray(f1.R, float)
    x_lam = sacral_foramen_geometry_cached(b, "S1")[0] - sacral_foramen_geometry_cached(b, "S1")[1]
    y0 = b.anchors["S1"]["canal_back_y"] - 1.0 * k
    rc = np.array([(x_lam + 42.0 * k) / 2, y0 + 30.0 * k, 15.0 * k])
    rh = np.array([(42.0 * k - x_lam) / 2, 30.0 * k, 24.0 * k])

    def wedge(p):
        x, y, zeta = C(p)
        ax = np.abs(x)
        W = width(zeta)
        slope = np.sqrt(1.0 + width(zeta, d=True) ** 2)
        s = np.clip(ax / W, 0.0, 1.0)
        # the pelvic surface: one smooth sheet from the bodies' front at the midline back to the
        # front of the lateral parts (no step where the bodies meet the lateral parts, and no
        # long edge for a lateral beam to run along), ridged where the discs fused
        below = np.clip((C.tops[2] - zeta) / (15.0 * k), 0.0, 1.0)
        # below the auricular surface (S3-S5) the lateral parts thin to a plate (a lateral view
        # then sees the tapering bodies, not a slab of the full width)
        thin = np.clip((C.tops[2] - 8.0 * k - zeta) / (15.0 * k), 0.0, 1.0)
        # the lateral parts' pelvic surface recedes between the bodies and the auricular face (no
        # flat sheet across the width for a lateral beam to run along as one long cortical line)
        yf0 = y_front(zeta) + (12.0 * s * (1.0 - s * s) + 3.0 * thin) * k * s
        near_body = np.exp(-((x / (1.1 * body_w(zeta))) ** 2))
        yf = yf0 + (-0.9 * body_d(zeta) - yf0) * near_body - ridges(zeta) * (1.0 - s)
        yb = y_back(zeta) - (8.0 + 10.0 * thin) * k * s**2  # convex behind: the lateral parts lie in front
        # the lateral border: broad beside the auricular surface (S1-S2), rounded to a bullnose
        # below it (no flat band along the bone for a lateral view to show as a slab)
        r = (0.22 + 0.23 * below) * (yb - yf)
        dx = (ax - W) / slope + r
        dy = np.abs(y - (yf + yb) / 2) - (yb - yf) / 2 + r
        d2 = np.sqrt(np.maximum(dx, 0.0) ** 2 + np.maximum(dy, 0.0) ** 2) + np.minimum(np.maximum(dx, dy), 0.0) - r
        t = np.maximum(ax - x_droop, 0.0)  # the ala's upper margin curves down to the joint
        # and, in front, down to the pelvic brim: on a lateral view the alae's upper margin is a
        # curve falling forward below the promontory, not one straight edge with S1's endplate
        beside = np.clip((ax - 0.45 * sizes[0].body_width) / (8.0 * k), 0.0, 1.0)  # lateral of S1's body
        brim = 0.4 * np.maximum((yf + yb) / 2 - y, 0.0) * beside
        z_top = top_of_alae - 0.15 * t - 0.006 * t * t / k - brim
        dz = np.maximum(zeta - z_top, C.apex - zeta)
        d = extrude(d2, dz, 6.0 * k)
        q1 = (p - o1) @ R1
        qa = np.column_stack([np.abs(q1[:, 0]), q1[:, 1], q1[:, 2]])
        return smax(d, -round_box(qa - rc, rh, 3.0 * k), 2.0 * k)

    def column(p):
        """The fused bodies below S1's, tapering to the apex, ridged where the discs fused."""
        x, y, zeta = C(p)
        grow = ridges(zeta)
        a, d = body_w(zeta) + grow, body_d(zeta) + grow
        d2 = smax(ellipse2(x, y, a, d), y - 0.8 * d, 3.0 * k)  # flat behind (the canal's floor)
        dz = np.maximum(zeta - C.centres[0], C.apex + 1.0 * k - zeta)
        return extrude(d2, dz, 3.0 * k)

    # the dorsal crests: (x of the ridge, its half-width, height per segment S1..S5, zeta range)
    sp = [max(s.sp_length, 0.0) for s in sizes]
    crest_h = _profile(cz, [0.45 * v + 2.0 * k if v > 0 else 0.0 for v in sp])
    ridges_spec = [(lambda zeta: np.zeros_like(zeta), 3.0 * k, crest_h, (C.centres[3], C.tops[0] - 3.0 * k))]
    x_f = [sacral_foramen_geometry_cached(b, n) for n in names[:4]]
    # foramina centres in zeta: at the fused discs; the crests run between them
    x_int = _profile(discs, [x - r - 2.5 * k for x, r in x_f])
    x_lat = _profile(discs, [x + r + 5.0 * k for x, r in x_f])
    ridges_spec.append((x_int, 2.8 * k, lambda zeta: np.full_like(zeta, 2.5 * k), (discs[3] - 4.0 * k, C.tops[1])))
    ridges_spec.append((x_lat, 4.5 * k, lambda zeta: np.full_like(zeta, 3.0 * k), (discs[3] - 6.0 * k, C.tops[1])))

    def crests(p):
        x, y, zeta = C(p)
        yb = y_back(zeta) - 1.5 * k
        # low ridges rising to a tubercle at each segment's middle (between the foramina)
        tub = 0.35 + 0.9 * np.exp(-(((zeta[:, None] - C.centres[None, :]) / (4.5 * k)) ** 2)).sum(axis=1)
        d = np.full(len(p), 1e3)
        for xr, half, height, (z_lo, z_hi) in ridges_spec:
            h = height(zeta) * tub
            xc = xr(zeta)
            dd = ellipse2(np.abs(x) - xc, y - yb, half * (0.6 + 0.4 * tub), np.maximum(h, 0.5 * k) + 1.5 * k)
            dd = np.where(h > 0.2 * k, dd, 1e3)
            ends = np.maximum(zeta - z_hi, z_lo - zeta)
            d = np.minimum(d, extrude(dd, ends, 2.0 * k))
        return d

    corners = []
    for n in names:
        sz, f = b.size[n], b.frames[n]
        half = np.array([60.0 * k, sz.body_depth / 2 + sz.canal_depth + 30.0 * k, sz.body_height / 2 + 10.0 * k])
        for c in np.array(np.meshgrid(*zip(-half, half), indexing="ij")).reshape(3, -1).T:
            corners.append(f.p(*c))
    lo, hi = np.min(corners, axis=0), np.max(corners, axis=0)
    parts: list[_Part] = [_world_part(wedge, lo, hi), _world_part(column, lo, hi), _world_part(crests, lo, hi)]
    # S1's body: the sacral base (the L5-S1 disc's lower endplate) and the promontory
    s1 = sizes[0]
    body = vertebral_body(s1.body_width, s1.body_depth, s1.body_height, "sacral")
    half = np.array([s1.body_width / 2 + 1, s1.body_depth / 2 + 1, s1.body_height / 2 + 1])
    parts.append(_local_part(f1, body, -half, half))

    holes: list[tuple] = []

    def canal(p):
        x, y, zeta = C(p)
        d = ellipse2(x, y - canal_c(zeta), canal_w(zeta), canal_d(zeta))
        return np.maximum(d, np.maximum(zeta - 40.0 * k, C.apex - 2.0 * k - zeta))

    holes.append((canal, lo, hi))

    # foramina: a channel from the canal's lateral recess, out to a posterior and an anterior opening
    for name in names[:4]:
        jf = b.chain.joints[f"{name}-S{int(name[1]) + 1}"]
        sz = b.size[name]
        wx, wz = (v * k for v in mm.POSTERIOR_SACRAL_FORAMEN_MM[name])
        ra = mm.ANTERIOR_SACRAL_FORAMEN_MM[name] * k
        for side in SIDES:
            s = SIGN[side]
            P, A = sacral_foramen_points(b, name, side)
            back = _unit3(P - A)
            M = (P + A) / 2
            ex = jf.R[:, 0] - (jf.R[:, 0] @ back) * back
            ex = ex / np.linalg.norm(ex)
            R = np.column_stack([ex, np.cross(back, ex), back])
            d_post = float((P - M) @ back) + 25.0 * k
            d_ant = float((M - A) @ back) + 25.0 * k
            holes.append(
                _frame_hole(
                    M, R, lambda q, w=(wx, wz), z=d_post: elliptic_tube(q, w, 0.0, z), (-wx, -wz, 0), (wx, wz, d_post)
                )
            )
            holes.append(
                _frame_hole(
                    M, R, lambda q, ra=ra, z=d_ant: elliptic_tube(q, (ra, ra), -z, 0.0), (-ra, -ra, -d_ant), (ra, ra, 0)
                )
            )
            recess = jf.p(s * (sz.canal_width / 2 - 2.0 * k), jf.local(M)[1] + 2.0 * k, 0.0)
            rr = 0.5 * (wx + ra)
            holes.append(
                (
                    lambda p, a=recess, c=M, r=rr: capsule(p, a, c, r),
                    np.minimum(recess, M) - rr - 1,
                    np.maximum(recess, M) + rr + 1,
                )
            )
    # the hiatus: S5 and the lower S4 have no dorsal wall
    f5, s5 = b.frames["S5"], b.size["S5"]
    hc, hh = b.anchors["S5"]["hiatus"], b.anchors["S5"]["hiatus_half"]
    y0 = s5.body_depth / 2 + s5.canal_depth / 2
    z_top = hc[2] + hh[2]
    z_bot = hc[2] - hh[2] - 6.0 * k
    c = np.array([0.0, y0 + 12.5 * k, (z_top + z_bot) / 2])
    half = np.array([hh[0], 12.5 * k, (z_top - z_bot) / 2])
    holes.append(_local_hole(f5, lambda q, c=c, half=half: round_box(q - c, half, 1.0 * k), c - half - 1, c + half + 1))
    # beyond the sacral face of each SI joint
    for side in SIDES:
        pv = b.anchors.get("pelvis", {}).get(side)
        if pv is None:
            continue
        face = pv["si_centre"] - pv["si_normal"] * pv["si_half"][0]
        n, ap, along, half = pv["si_normal"], pv["si_ap"], pv["si_along"], pv["si_half"]
        # only over the ilium's side of the joint (the footprint of its posterior part, see
        # :func:`_ilium_shapes`, a little larger): the auricular face is flat, the lateral border
        # above, behind and below it keeps the sacrum's own rounded outline
        c_ap, c_al = 8.0 * k, 6.0 * k
        r_ap, r_al = half[1] + 13.0 * k, half[2] + 13.0 * k

        def beyond(p, o=face, n=n, ap=ap, al=along, c=(c_ap, c_al), r=(r_ap, r_al)):
            q = p - o
            return np.maximum(-(q @ n), ellipse2(q @ ap - c[0], q @ al - c[1], r[0], r[1]))

        reach = max(r_ap + c_ap, r_al + c_al) + 60.0 * k
        holes.append((beyond, face - reach, face + reach))
    # the S1 articular processes and the cornua: the placed parts
    for st in b.structures.values():
        if st.level in ("S1", "S5") and st.kind in ("sap", "sacral_cornu"):
            parts.append(_part(st))
    return parts, holes


def sacral_foramen_geometry_cached(b, name):
    from spine.anatomy.bones import sacral_foramen_geometry

    return sacral_foramen_geometry(b, name)


def _unit3(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _local_hole(f, sdf_local, lo_local, hi_local) -> tuple:
    p = _local_part(f, sdf_local, lo_local, hi_local)
    return p.sdf, p.lo, p.hi


def _frame_hole(origin, R, sdf_local, lo_local, hi_local) -> tuple:
    origin, R = np.asarray(origin, float), np.asarray(R, float)
    c = np.array(np.meshgrid(*zip(lo_local, hi_local), indexing="ij")).reshape(3, -1).T @ R.T + origin
    return (lambda p: sdf_local((p - origin) @ R)), c.min(axis=0) - 1, c.max(axis=0) + 1


def _carve(holes: list[tuple]):
    """A clip SDF (positive = cut away) from hole SDFs (negative inside) with their world boxes:
    each hole is evaluated only at the points inside its box."""

    def clip(p):
        out = np.full(len(p), -1e3)
        for sdf, lo, hi in holes:
            m = np.all((p >= lo) & (p <= hi), axis=1)
            if np.any(m):
                out[m] = np.maximum(out[m], -sdf(p[m]))
        return out

    return clip


#: the ilium's outline (mm from the S1 body centre; x lateral, y posterior, z up; z of the crest
#: points counted down from the crest's top, at the iliac_crest_level body centre): the posterior
#: superior iliac spine, the crest rising to its highest point and turning forward to the
#: anterior superior spine, the anterior inferior spine, the acetabular roof, the greater sciatic
#: notch and the posterior inferior spine [Gray's Anatomy, 41st ed., ch. 80; the crest at about
#: L4 (clinical.md)]
_ILIUM_OUTLINE = (
    ("psis", (42.0, 50.0, -2.0), False),
    ("crest", (58.0, 46.0, -34.0), True),
    ("crest", (82.0, 30.0, -8.0), True),
    ("crest", (106.0, 5.0, 0.0), True),
    ("crest", (123.0, -26.0, -12.0), True),
    ("crest", (126.0, -56.0, -40.0), True),
    ("asis", (118.0, -80.0, -4.0), False),
    ("aiis", (112.0, -78.0, -36.0), False),
    ("acetabulum", (100.0, -58.0, -74.0), False),
    ("acetabulum", (80.0, -24.0, -84.0), False),
    ("notch", (58.0, 14.0, -58.0), False),
    ("piis", (46.0, 40.0, -36.0), False),
)


def _ilium_shapes(b, side: str) -> tuple[list[_Part], list[tuple]]:
    """One ilium as a radiograph shows it: a thin curved plate (the wing, a few mm in the iliac
    fossa, concave toward the pelvis) bounded by :data:`_ILIUM_OUTLINE`, whose dense margins are
    rods of bone with a thicker cortex: the crest (about 12 mm wide, with the iliac tubercle), the
    rim of the greater sciatic notch and the arcuate line (the pelvic brim on the ilium), running
    forward and down on the pelvic surface from the front of the auricular surface to the body of
    the ilium over the acetabulum. Behind, the auricular part: an ear-shaped plate about 9 mm
    thick whose medial face (the auricular surface) undulates gently and faces the sacrum's across
    a 2-3.5 mm joint space, the iliac tuberosity behind and above it, and the posterior superior
    and inferior spines. Holes: everything medial of the auricular face."""
    from spine.anatomy import morphometry as mm
    from spine.anatomy.bones import SIGN
    from spine.anatomy.sdf import ellipse2, ellipsoid, extrude, polygon2, smax

    k = b.scale
    s = SIGN[side]
    o1 = np.asarray(b.frames["S1"].origin, float)
    crest_z = float(b.frames[b.params.iliac_crest_level].origin[2])
    pts = []
    for _what, (x, y, z), on_crest in _ILIUM_OUTLINE:
        zz = crest_z + z * k if on_crest else o1[2] + z * k
        pts.append(np.array([s * x * k, o1[1] + y * k, zz]))
    pts_a = np.array(pts)
    # best-fitting plane (the 2D outline) and sphere (the plate's curve) through the outline
    centre = pts_a.mean(axis=0)
    _u, _s, vt = np.linalg.svd(pts_a - centre)
    e1, e2, normal = vt[0], vt[1], vt[2]
    if normal[0] * s > 0:
        normal = -normal  # toward the pelvis (medial)
    # the iliac fossa faces the pelvis: the sphere's centre on the medial side
    radius = 110.0 * k
    sphere_c = centre + normal * (radius - 14.0 * k)
    poly = _smooth_outline(np.column_stack([(pts_a - centre) @ e1, (pts_a - centre) @ e2]))
    t_f = mm.ILIAC_FOSSA_THICKNESS_MM * k
    crest = [pp for (w, _x, on), pp in zip(_ILIUM_OUTLINE, pts) if on or w in ("psis", "asis")]
    acet = [pp for (w, _x, _c), pp in zip(_ILIUM_OUTLINE, pts) if w == "acetabulum"]
    roof = (acet[0] + acet[1]) / 2

    def on_plate(q, depth: float = 0.0) -> np.ndarray:
        """``q`` moved onto the plate's middle surface (``depth`` > 0: toward the pelvis)."""
        v = np.asarray(q, float) - sphere_c
        return sphere_c + v / np.linalg.norm(v, axis=-1, keepdims=True) * (radius - depth)

    def wing(p):
        q = p - centre
        d_out = polygon2(q @ e1, q @ e2, poly)
        # thin in the fossa, a little thicker toward the rim, the body of the ilium thickening
        # toward the acetabular roof, over the hip joint
        edge = np.clip(1.0 + d_out / 6.0, 0.0, 1.0)
        body = np.clip(1.0 - np.linalg.norm(p - roof, axis=1) / (45.0 * k), 0.0, 1.0)
        t = t_f + 0.6 * t_f * edge + 16.0 * k * body**2
        d_shell = np.abs(np.linalg.norm(p - sphere_c, axis=1) - radius) - t / 2
        return smax(d_shell, d_out, 3.0 * k)

    lo, hi = pts_a.min(axis=0) - 25.0 * k, pts_a.max(axis=0) + 25.0 * k
    parts = [_world_part(wing, lo, hi)]

    def rod(path, r: float, extra: float) -> None:
        """A rounded rod along ``path`` (world points), its cortex ``extra`` mm thicker."""
        for a, c in zip(path[:-1], path[1:]):
            part = _capsule_part(a, c, r)
            part.extra_shell = extra
            parts.append(part)

    # the crest: a rounded rod along the top of the plate (the outline's crest, pulled just
    # inside it), thickest at the iliac tubercle about 5 cm behind the anterior superior spine
    # [Gray's Anatomy, 41st ed., ch. 80]
    crest_path = [on_plate(centre + 0.95 * (c - centre)) for c in _through(crest, 16)]
    rod(crest_path, mm.ILIAC_CREST_THICKNESS_MM / 2 * k, 0.5)
    tub = on_plate(centre + 0.95 * (pts[4] - centre))
    tubercle = _world_part(lambda q, c=tub: ellipsoid(q - c, np.array([7.0, 8.0, 6.5]) * k), tub - 9 * k, tub + 9 * k)
    tubercle.extra_shell = 0.5
    parts.append(tubercle)
    # the rim of the greater sciatic notch: the outline from the acetabulum's back to the
    # posterior inferior spine, a thick rounded margin
    names = [w for w, _x, _c in _ILIUM_OUTLINE]
    notch_idx = [names.index("notch"), len(names) - 1]  # notch .. piis
    seg = [acet[1], pts[notch_idx[0]], pts[notch_idx[1]]]
    notch_path = [on_plate(centre + 0.95 * (q - centre)) for q in _through(seg, 6)]
    rod(notch_path, 4.0 * k, 1.0)

    pv = b.anchors["pelvis"][side]
    C, n, ap, al, half = pv["si_centre"], pv["si_normal"], pv["si_ap"], pv["si_along"], pv["si_half"]
    R = np.column_stack([n, ap, al])
    # the auricular part: an ear-shaped plate lateral to the joint, its medial face the
    # auricular surface (its outline wider below, as the ear's lower lobe), 9 mm thick
    pc = np.array([half[0] + 4.5 * k, 2.0 * k, 0.0])
    ph = np.array([5.5 * k, half[1] + 5.0 * k, half[2] + 5.0 * k])

    def auricular(q, c=pc, h=ph):
        q = q - c
        widen = 1.0 + 0.25 * np.clip(-q[:, 2] / h[2], 0.0, 1.0)  # the lower arm is broader
        return extrude(ellipse2(q[:, 1], q[:, 2], h[1] * widen, h[2]), np.abs(q[:, 0]) - h[0], 3.0 * k)

    parts.append(_frame_part(C, R, auricular, pc - ph * np.array([1, 1.3, 1]), pc + ph * np.array([1, 1.3, 1])))
    # the iliac tuberosity: thick bone behind and above the auricular surface, up to the
    # posterior superior spine (where the interosseous ligament holds)
    tc = np.array([half[0] + 9.0 * k, half[1] + 6.0 * k, 0.35 * half[2]])
    tr = np.array([8.0 * k, 10.0 * k, 0.6 * half[2]])
    parts.append(_frame_part(C, R, lambda q, c=tc, r=tr: ellipsoid(q - c, r), tc - tr - 1, tc + tr + 1))
    for what in ("psis", "piis"):
        p = next(pp for (w, _x, _c), pp in zip(_ILIUM_OUTLINE, pts) if w == what)
        r = np.array([7.0, 8.0, 9.0]) * k
        parts.append(_world_part(lambda q, c=p, r=r: ellipsoid(q - c, r), p - 10 * k, p + 10 * k))
    # the arcuate line: from the front of the auricular surface's lower arm forward and down on
    # the pelvic surface to the body of the ilium over the acetabulum (the iliopubic eminence),
    # the ilium's part of the pelvic brim
    start = C - ap * (half[1] - 1.0 * k) - al * (0.45 * half[2]) + n * (half[0] + 4.0 * k)
    front = acet[1] + (roof - acet[1]) * 0.15
    way = [start, start + 0.4 * (front - start) + np.array([0.0, 0.0, -6.0 * k]), front]
    arc_path = [on_plate(q, 0.5 * t_f + 1.0 * k) for q in _through(way, 6)]
    arc_path[0] = start
    rod(arc_path, 3.5 * k, 0.8)
    # the joint space: the auricular face undulates (about 1.5 mm lateral of the plane at its
    # crests), so the gap to the sacrum's flat face is 2-3.5 mm [typical CT joint width]
    face = C + n * half[0]

    def beyond(p, o=face, n=n, ap=ap, al=al):
        q = p - o
        wave = 0.75 * k * (1.0 + np.sin((q @ al) * 2 * np.pi / (22.0 * k)) * np.cos((q @ ap) * 2 * np.pi / (30.0 * k)))
        return q @ n - wave

    holes = [(beyond, face - 300.0, face + 300.0)]
    return parts, holes


def _through(points, n: int) -> list[np.ndarray]:
    """``n`` points on a smooth curve through ``points`` (a quadratic/cubic spline, scipy)."""
    from scipy.interpolate import make_interp_spline

    pts = np.asarray(points, float)
    t = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    spl = make_interp_spline(t, pts, k=min(3, len(pts) - 1))
    return list(spl(np.linspace(0.0, t[-1], n)))


def _smooth_outline(poly: np.ndarray, n: int = 72) -> np.ndarray:
    """A closed outline through the points of ``poly`` (M, 2) as a smooth curve (a periodic
    interpolating cubic spline, scipy), sampled at ``n`` points: bone has no straight edges or
    corners, so no projection of the ilium shows a polygon."""
    from scipy.interpolate import splev, splprep

    closed = np.vstack([poly, poly[:1]])
    tck, _u = splprep([closed[:, 0], closed[:, 1]], s=0.0, per=1)
    return np.column_stack(splev(np.linspace(0.0, 1.0, n, endpoint=False), tck))


def _frame_part(origin, R, sdf_local, lo_local, hi_local) -> _Part:
    sdf, lo, hi = _frame_hole(origin, R, sdf_local, lo_local, hi_local)
    return _Part(sdf, lo, hi)
