"""The smooth bone surfaces: measured like the anatomy papers measure real vertebrae.

Every number comes from the model's meshes (chords, vertices, ray hits), never from the
table it was built from, and is compared with the published mean +- 2 SD in
``spine.anatomy.morphometry.PUBLISHED_MORPHOMETRY``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spine.anatomy.mesh import MeshSolid, is_watertight
from spine.anatomy.model import SpineModel
from spine.anatomy.morphometry import PUBLISHED_FACET_RANGES, PUBLISHED_MORPHOMETRY
from spine.anatomy.surfaces import SURFACE_KIND

LUMBAR = ("L1", "L2", "L3", "L4", "L5")


@pytest.fixture(scope="module")
def model() -> SpineModel:
    return SpineModel.default()


def _frame(model, name):
    return model.vertebra_frame(name)


def _line_chord(solid, o, R, start_local, dir_local):
    """Chord through ``solid`` along a local line (start far outside)."""
    p = o + R @ np.asarray(start_local, float)
    d = R @ np.asarray(dir_local, float)
    return float(solid.chord_length(p, d[None, :], 0.0, np.inf)[0])


def _first_hit(solid: MeshSolid, p, d) -> float:
    ray, t, _g, _e = solid._scene.hits(np.asarray(p, float)[None, :], np.asarray(d, float)[None, :])
    return float(t.min()) if len(t) else math.inf


def _width(body, o, R, z, depth):
    return max(_line_chord(body, o, R, (-200, y, z), (1, 0, 0)) for y in np.linspace(-depth / 2, depth / 2, 25))


def _depth(body, o, R, z, width):
    return max(_line_chord(body, o, R, (x, -200, z), (0, 1, 0)) for x in np.linspace(-width / 4, width / 4, 9))


def measure(model, name) -> dict[str, float]:
    """The published measurements of one vertebra, taken on the model's surfaces."""
    o, R = _frame(model, name)
    body = model.structure(f"{name}.body").solid
    bone = model.structure(f"{name}.bone").solid
    assert isinstance(body, MeshSolid) and isinstance(bone, MeshSolid)
    local = (body.vertices - o) @ R
    h = float(np.ptp(local[:, 2]))
    z_top = local[:, 2].max() - 3.0  # just under the upper endplate's rim
    out = {
        "body_width": _width(body, o, R, z_top, np.ptp(local[:, 1])),
        "body_depth": _depth(body, o, R, z_top, np.ptp(local[:, 0])),
    }
    y_back, y_front = local[:, 1].max(), local[:, 1].min()
    out["body_height"] = _line_chord(body, o, R, (0, y_back - 3.0, -200), (0, 0, 1))
    out["body_height_anterior"] = _line_chord(body, o, R, (0, y_front + 3.0, -200), (0, 0, 1))
    # pedicle isthmus: chords across the pedicle part through its centre, across its axis
    ped = model.structure(f"{name}.pedicle.left").solid
    axis = ped.rotation[:, 2]
    across = np.cross(axis, R[:, 2])
    across /= np.linalg.norm(across)
    up = np.cross(across, axis)
    out["pedicle_width"] = float(ped.chord_length(ped.center - across * 100, across[None, :])[0])
    out["pedicle_height"] = float(ped.chord_length(ped.center - up * 100, up[None, :])[0])
    # canal: from its middle at pedicle height to the first bone either way
    ped_local = (ped.center - o) @ R
    mid = o + R @ np.array([0.0, ped_local[1], ped_local[2]])
    out["canal_width"] = _first_hit(bone, mid, R[:, 0]) + _first_hit(bone, mid, -R[:, 0])
    # the canal's sagittal diameter: the narrowest AP distance over the pedicles' height
    ph = out["pedicle_height"]
    out["canal_depth"] = min(
        _first_hit(bone, mid + R[:, 2] * dz, -R[:, 1]) + _first_hit(bone, mid + R[:, 2] * dz, R[:, 1])
        for dz in np.linspace(-ph / 2, ph / 2, 7)
    )
    # spinous process: spinolaminar junction to the farthest midline bone behind it
    sl = model.landmark(name, "spinolaminar_line")
    vl = (bone.vertices - o) @ R
    sll = (sl - o) @ R
    midline = bone.vertices[(np.abs(vl[:, 0]) < 4.0) & (vl[:, 1] > sll[1])]
    out["sp_length"] = float(np.max(np.linalg.norm(midline - sl, axis=1))) if len(midline) else 0.0
    out["transverse_span"] = float(np.ptp(vl[:, 0]))
    out["_height_span"] = h
    return out


def measure_atlas_axis(model, name) -> dict[str, float]:
    """C1: width from tip to tip of the transverse processes and depth from the anterior to the
    posterior tubercle; C2: the dens's height above the body's upper endplate and its width
    across at mid-height (as the dry-bone series measure them, ``morphometry.py``)."""
    o, R = _frame(model, name)
    bone = model.structure(f"{name}.bone").solid
    vl = (bone.vertices - o) @ R
    if name == "C1":
        return {"atlas_width": float(np.ptp(vl[:, 0])), "atlas_depth": float(np.ptp(vl[np.abs(vl[:, 0]) < 4.0, 1]))}
    body = model.structure(f"{name}.body").solid
    top = float(((body.vertices - o) @ R)[:, 2].max())
    dens = vl[(np.abs(vl[:, 0]) < 8.0) & (vl[:, 2] > top)]
    tip = float(dens[:, 2].max())
    mid = (top + tip) / 2
    return {"dens_height": tip - top, "dens_width": _line_chord(bone, o, R, (-200, 0.0, mid), (1, 0, 0))}


_MEASURED: dict[tuple[int, str], dict[str, float]] = {}


def _measured(model, level) -> dict[str, float]:
    """:func:`measure` once per model and level (the rows of several papers share it)."""
    if (id(model), level) not in _MEASURED:
        how = measure_atlas_axis if level in ("C1", "C2") else measure
        _MEASURED[id(model), level] = how(model, level)
    return _MEASURED[id(model), level]


@pytest.mark.parametrize(
    "row", PUBLISHED_MORPHOMETRY, ids=[f"{r.level}-{r.key}-{r.source}" for r in PUBLISHED_MORPHOMETRY]
)
def test_morphometry_within_two_sd_of_published(model, row):
    got = _measured(model, row.level)[row.key]
    lo, hi = row.mean - 2 * row.spread, row.mean + 2 * row.spread
    assert lo <= got <= hi, (
        f"{row.level} {row.key}: {got:.1f} mm, published {row.mean} +- 2 x {row.spread:.2f} [{row.source}]"
    )


def test_published_morphometry_covers_every_mobile_level_c1_to_l5():
    """Every mobile vertebra from C1 to L5 is checked against at least one published number."""
    from spine.anatomy.levels import VERTEBRAE

    mobile = [v for v in VERTEBRAE if v[0] in "CTL" and not v.startswith("Co")]
    assert len(mobile) == 24
    assert {r.level for r in PUBLISHED_MORPHOMETRY} == set(mobile)


def test_unsourced_morphometry_lists_exactly_the_measures_no_paper_checks():
    """``UNSOURCED_MORPHOMETRY`` (morphometry.py) names every level C3-L5 and measure that no
    published row checks, and no other: a row added or removed must update the list."""
    from spine.anatomy.levels import VERTEBRAE
    from spine.anatomy.morphometry import UNSOURCED_MORPHOMETRY

    levels = [v for v in VERTEBRAE if v[0] in "CTL" and not v.startswith("Co") and v not in ("C1", "C2")]
    assert len(levels) == 22
    sourced = {(r.level, r.key) for r in PUBLISHED_MORPHOMETRY if r.source != "ref"}
    measures = ("body_width", "body_depth", "body_height", "body_height_anterior", "pedicle_width")
    measures += ("pedicle_height", "canal_width", "canal_depth", "sp_length", "transverse_span")
    missing = {key: tuple(lv for lv in levels if (lv, key) not in sourced) for key in measures}
    assert {k: v for k, v in missing.items() if v} == UNSOURCED_MORPHOMETRY


# -- form ------------------------------------------------------------------------------------
MOBILE = ["C3", "C5", "C7", "T1", "T4", "T7", "T10", "T12", *LUMBAR]


@pytest.mark.parametrize("name", MOBILE)
def test_body_waist_is_concave_front_and_sides(model, name):
    from spine.anatomy.levels import region_of
    from spine.anatomy.sdf import body_profile

    o, R = _frame(model, name)
    body = model.structure(f"{name}.body").solid
    local = (body.vertices - o) @ R
    depth, width = np.ptp(local[:, 1]), np.ptp(local[:, 0])
    # the endplates' heights at the body's middle (not the cervical uncinate processes or lip)
    central = local[(np.abs(local[:, 0]) < width / 4) & (np.abs(local[:, 1]) < depth / 4)]
    top, bottom = central[:, 2].max(), central[:, 2].min()
    below_rim = min(body_profile(region_of(name))["rim_mm"], 0.3 * (top - bottom)) + 0.5
    endplate = max(_width(body, o, R, z, depth) for z in (top - below_rim, bottom + below_rim))
    mid = _width(body, o, R, (top + bottom) / 2, depth)
    assert mid <= 0.93 * endplate, f"{name}: mid-height width {mid:.1f} vs endplate {endplate:.1f}"
    # the front is concave too: the anterior wall at mid-height lies behind its rims
    front = [
        _first_hit(body, o + R @ np.array([0.0, -200.0, z]), R[:, 1]) - 200.0
        for z in (top - below_rim, (top + bottom) / 2, bottom + below_rim)
    ]
    assert front[1] > max(front[0], front[2]) + 0.5, front
    del width


@pytest.mark.parametrize("name", [*LUMBAR, "T7", "T12"])
def test_back_wall_is_flat_or_concave_in_the_axial_section(model, name):
    o, R = _frame(model, name)
    body = model.structure(f"{name}.body").solid
    w = float(np.ptp(((body.vertices - o) @ R)[:, 0]))
    back = []
    for x in (-w / 4, 0.0, w / 4):
        p = o + R @ np.array([x, 200.0, 0.0])
        back.append(200.0 - _first_hit(body, p, -R[:, 1]))
    # the wall at the midline is no further back than a quarter-width to either side
    assert back[1] <= min(back[0], back[2]) + 0.2, back
    # and the section is kidney-shaped: the back wall is narrower than the widest width
    widest = _width(body, o, R, 0.0, float(np.ptp(((body.vertices - o) @ R)[:, 1])))
    near_back = _line_chord(body, o, R, (-200, back[1] - 1.0, 0.0), (1, 0, 0))
    assert near_back < 0.9 * widest, (near_back, widest)


def test_cortical_shell_is_half_to_one_and_a_half_mm(model):
    for name in ("L4", "T7", "C5"):
        o, R = _frame(model, name)
        body = model.structure(f"{name}.body").solid
        core = body.core
        assert core is not None
        for d_local in ((0, 1, 0), (1, 0, 0), (0, 0, 1), (0, -1, 0)):
            d = R @ np.array(d_local, float)
            start = o - d * 200.0
            shell = _first_hit(core, start, d) - _first_hit(body, start, d)
            assert 0.5 <= shell <= 1.5, (name, d_local, shell)


def _facet_angles(model, space, side="left"):
    a = model._b.anchors[("facet", space)][side]
    o, R = model.interspace_frame(space)
    n = R.T @ a["n"]
    e1 = R.T @ a["e1"]
    from_sagittal = math.degrees(math.atan2(abs(e1[0]), abs(e1[1])))
    to_axial = math.degrees(math.acos(min(1.0, abs(n[2]))))
    return from_sagittal, to_axial


@pytest.mark.parametrize("space", ["C3-C4", "C5-C6", "T4-T5", "T7-T8", "L1-L2", "L3-L4", "L4-L5", "L5-S1"])
def test_facet_orientation_by_region(model, space):
    from_sagittal, to_axial = _facet_angles(model, space)
    if space.startswith("C"):
        rng = PUBLISHED_FACET_RANGES["cervical"]
    elif space.startswith("T"):
        rng = PUBLISHED_FACET_RANGES["thoracic"]
    elif space in ("L4-L5", "L5-S1"):
        rng = PUBLISHED_FACET_RANGES["lumbar_lower"]
    else:
        rng = PUBLISHED_FACET_RANGES["lumbar_upper"]
    if "from_sagittal" in rng:
        lo, hi = rng["from_sagittal"]
        assert lo <= from_sagittal <= hi, (space, from_sagittal)
    if "to_axial" in rng:
        lo, hi = rng["to_axial"]
        assert lo <= to_axial <= hi, (space, to_axial)


def test_lumbar_facets_turn_more_coronal_down_to_l5_s1(model):
    angles = [_facet_angles(model, s)[0] for s in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")]
    assert all(b >= a for a, b in zip(angles, angles[1:])), angles


@pytest.mark.parametrize("name", [f"T{k}" for k in range(2, 12)])
def test_thoracic_spinous_processes_point_down(model, name):
    o, R = _frame(model, name)
    bone = model.structure(f"{name}.bone").solid
    sl = (model.landmark(name, "spinolaminar_line") - o) @ R
    v = (bone.vertices - o) @ R
    mid = v[(np.abs(v[:, 0]) < 4.0) & (v[:, 1] > sl[1])]
    tip = mid[np.argmax(np.linalg.norm(mid - sl, axis=1))]
    drop = sl[2] - tip[2]
    back = tip[1] - sl[1]
    assert drop > 8.0 and math.degrees(math.atan2(drop, back)) > 20.0, (name, drop, back)


def test_l3_has_the_longest_transverse_processes(model):
    spans = {n: measure(model, n)["transverse_span"] - model.structure(f"{n}.body").solid.radii[0] * 2 for n in LUMBAR}
    assert max(spans, key=spans.get) == "L3", spans


def test_every_bone_surface_is_closed_and_holds_its_core(model):
    surfaces = model.structures(kinds=[SURFACE_KIND])
    names = {s.name for s in surfaces}
    for v in (*LUMBAR, "C2", "C5", "T7", "Co1"):
        assert f"{v}.bone" in names
    # the fused sacrum is one bone, one mesh
    assert {"sacrum.bone", "ilium.left.bone", "ilium.right.bone"} <= names
    assert not {"S1.bone", "S3.bone", "S5.bone"} & names
    assert all(model.bone_surface(v).name == "sacrum.bone" for v in ("S1", "S3", "S5"))
    for st in surfaces + model.structures(kinds=["body"]):
        solid = st.solid
        if not isinstance(solid, MeshSolid):
            continue
        assert is_watertight(solid.faces), st.name
        assert solid.volume > 0, st.name
        if solid.core is not None:
            assert is_watertight(solid.core.faces), st.name
            assert 0 < solid.core.volume < solid.volume, st.name


def test_mesh_chords_sum_every_interval(model):
    """A ray through a non-convex bone: the chord is the sum of its pieces, and contains
    agrees with the chord's pieces at their middles."""
    o, R = _frame(model, "L4")
    bone = model.structure("L4.bone").solid
    p = o + R @ np.array([-200.0, 20.0, -2.0])  # across the laminae / canal / pedicles
    d = R[:, 0]
    ray, t, _g, enter = bone._scene.hits(p[None, :], d[None, :])
    order = np.argsort(t)
    t, enter = t[order], enter[order]
    assert len(t) >= 4 and len(t) % 2 == 0  # enters and leaves more than once
    pieces = [(a, b) for a, b, e in zip(t[:-1], t[1:], enter[:-1]) if e]
    total = sum(b - a for a, b in pieces)
    assert bone.chord_length(p, d[None, :])[0] == pytest.approx(total, abs=1e-6)
    mids = np.array([p + d * (a + b) / 2 for a, b in pieces])
    gaps = np.array([p + d * (b + a2) / 2 for (_a, b), (a2, _b) in zip(pieces, pieces[1:])])
    assert bone.contains(mids).all()
    assert not bone.contains(gaps).any()


def test_geometry_hash_follows_the_surfaces(model):
    h = model.geometry_hash()
    assert len(h) == 64 and h == model.geometry_hash()
    other = SpineModel.__new__(SpineModel)
    other.__dict__.update(model.__dict__)
    other._structures = dict(model._structures)
    st = other._structures["L4.bone"]
    import dataclasses

    moved = MeshSolid(
        center=st.solid.center,
        rotation=st.solid.rotation,
        vertices=st.solid.vertices + 0.5,
        faces=st.solid.faces,
        digest=st.solid.digest + "+moved",
    )
    other._structures["L4.bone"] = dataclasses.replace(st, solid=moved)
    other._hash = None
    assert other.geometry_hash() != h


# -- cervical transverse processes: foramen, lamella, tubercles -------------------------------
CERVICAL_TP = ("C3", "C4", "C5", "C6")


def _vertical_chord(model, name, local_point) -> float:
    """Bone met by a line along the vertebra's axis through ``local_point`` (30 mm long)."""
    o, R = _frame(model, name)
    bone = model.structure(f"{name}.bone").solid
    p = np.asarray(local_point, float)
    return bone.segment_inside_length(o + R @ (p - [0, 0, 15]), o + R @ (p + [0, 0, 15]))


def _free_radius(model, name, centre, direction) -> float:
    """Distance from ``centre`` (local) to the first bone along a local direction (0.1 mm steps)."""
    o, R = _frame(model, name)
    bone = model.structure(f"{name}.bone").solid
    t = np.arange(0.0, 15.0, 0.1)
    pts = (np.asarray(centre, float) + t[:, None] * np.asarray(direction, float)) @ R.T + o
    inside = bone.contains(pts)
    return float(t[np.argmax(inside)]) if inside.any() else math.inf


@pytest.mark.parametrize("name", CERVICAL_TP)
def test_cervical_transverse_foramen_is_a_hole_ringed_by_bone(model, name):
    """The vertebral artery runs through a hole, not between two rods: nothing along the axis
    through the foramen, bone in front, behind and lateral to it, and the hole about 5-6.5 mm
    across front to back (Taitz C, et al. J Neurol Neurosurg Psychiatry 1978;41:170-6; 4-8 mm
    allowed)."""
    for side, s in (("left", 1.0), ("right", -1.0)):
        tf = np.asarray(model._b.anchors[name][("transverse_foramen", side)], float)
        centre = tf - [0, 0, 0.5]
        assert _vertical_chord(model, name, tf) == 0.0, (name, side)
        front = _free_radius(model, name, centre, (0, -1, 0))
        back = _free_radius(model, name, centre, (0, 1, 0))
        lateral = _free_radius(model, name, centre, (s, 0, 0))
        assert 4.0 <= front + back <= 8.0, (name, side, front, back)
        assert lateral <= 4.5, (name, side, lateral)


@pytest.mark.parametrize("name", CERVICAL_TP)
def test_cervical_transverse_process_ends_in_two_tubercles(model, name):
    """One process, not two rods: a bony lamella joins the bars lateral to the foramen (the floor
    of the nerve's gutter), and the anterior and posterior tubercles at its end stand well above it."""
    for side, s in (("left", 1.0), ("right", -1.0)):
        tf = np.asarray(model._b.anchors[name][("transverse_foramen", side)], float)
        ys = np.linspace(-7.0, 7.0, 29)
        chords = np.array([[_vertical_chord(model, name, tf + [s * dx, y, 0]) for y in ys] for dx in (8.0, 9.0, 10.0)])
        profile = chords.max(axis=0)  # front to back across the process's end
        front, back = profile[ys < -2.5].max(), profile[ys > 2.5].max()
        middle = profile[np.abs(ys) <= 1.0].min()
        assert middle >= 1.5, (name, side, profile.round(1))
        assert min(front, back) >= 1.8 * middle, (name, side, profile.round(1))


def test_c6_has_the_largest_anterior_tubercle(model):
    """C6's anterior tubercle is the carotid (Chassaignac) tubercle, the largest of the neck."""
    height = {}
    for name in CERVICAL_TP:
        tf = np.asarray(model._b.anchors[name][("transverse_foramen", "left")], float)
        height[name] = max(
            _vertical_chord(model, name, tf + [dx, y, 0])
            for dx in (8.0, 9.0, 10.0, 11.0)
            for y in np.linspace(-8.0, -2.5, 12)
        )
    assert max(height, key=height.get) == "C6", height


@pytest.mark.parametrize("name", ("C3", "C4", "C5", "C6"))
def test_vertebral_artery_passes_through_the_foramina_without_touching_bone(model, name):
    for side in ("left", "right"):
        bone = model.structure(f"{name}.bone").solid
        for st in model.structures(kinds=["vertebral_artery"]):
            if st.side != side or name not in st.name.split(".")[1].split("-"):
                continue
            p0, p1 = st.solid.endpoints
            assert bone.segment_inside_length(p0, p1) < 0.3, (st.name, name)


# -- sacrum, coccyx and pelvis: form ---------------------------------------------------------
def test_sacrum_is_concave_in_front(model):
    """The pelvic surface is a hollow: at S3 it lies at least 6 mm behind the chord from the
    promontory to the apex (the sacral kyphosis, greater in the lower half; a straighter bone read
    as a block on the lateral view), and S1's front (the promontory) juts ahead of the fused
    bodies below it."""
    front = {}
    bone = model.structure("sacrum.bone").solid
    for name in ("S1", "S3", "S5"):
        o, R = _frame(model, name)
        z = model._b.size[name].body_height / 2 - 1.0 if name == "S1" else 0.0
        y = -200 + _first_hit(bone, o + R @ np.array([0.0, -200.0, z]), R[:, 1])
        front[name] = o + R @ np.array([0.0, y, z])
    a, c, m = front["S1"], front["S5"], front["S3"]
    chord = (c - a) / np.linalg.norm(c - a)
    off = (m - a) - ((m - a) @ chord) * chord
    assert off[1] > 6.0, off  # posterior of the chord (world y is posterior)
    # the promontory: along S1's own axis, the front of S1 just above the fused disc lies ahead of
    # the front of S2 just below it
    b = model._b
    o, R = _frame(model, "S1")
    joint = b.chain.joints["S1-S2"]
    ys = {}
    for label, dz in (("S1", 3.0), ("S2", -3.0)):
        start = joint.origin + R @ np.array([0.0, -200.0, dz])
        ys[label] = -200.0 + _first_hit(bone, start, R[:, 1])
    assert ys["S1"] < ys["S2"] - 1.5, ys


def test_sacral_cancellous_bone_is_sparser_than_a_lumbar_body(model):
    """On a lateral view the beam crosses both alae: the sacrum's cancellous bone is imaged
    sparser than a lumbar body's, so the sacrum does not read as one dense block."""
    from spine.imaging.projector import cancellous_excess

    sacrum, l5 = model.structure("sacrum.bone"), model.bone_surface("L5")
    assert cancellous_excess(sacrum) < 0.75 * cancellous_excess(l5)


def test_sacrum_is_one_fused_bone_with_a_convex_dorsum(model):
    """Along the midline the pelvic surface runs on from S1 to S5 without a gap at the fused
    discs (each station's first bone from in front lies at about the bodies' front), and the
    dorsal surface is convex: the median crest at S2 and S3 stands behind the line from S1's to
    S4's, and its most posterior point is at S2-S3 [Gray's Anatomy, 41st ed., ch. 80]."""
    b = model._b
    bone = model.structure("sacrum.bone").solid
    back = {}
    for i, name in enumerate(("S1", "S2", "S3", "S4", "S5")):
        stations = [(name, b.frames[name], b.size[name].body_depth / 2)]
        if name != "S5":
            below = f"S{i + 2}"
            half = (b.size[name].body_depth + b.size[below].body_depth) / 4
            stations.append((f"{name}-{below}", b.chain.joints[f"{name}-{below}"], half))
        for label, fr, half_depth in stations:
            o, R = fr.origin, fr.R
            front_y = -200.0 + _first_hit(bone, o - R[:, 1] * 200.0, R[:, 1])
            assert abs(front_y + half_depth) < 3.0, (label, front_y, half_depth)  # no gap behind
            if label == name:
                back[name] = o + R[:, 1] * (200.0 - _first_hit(bone, o + R[:, 1] * 200.0, -R[:, 1]))
    a, c = back["S1"], back["S4"]
    chord = (c - a) / np.linalg.norm(c - a)
    behind = np.cross(np.array([1.0, 0.0, 0.0]), chord)
    behind *= np.sign(behind[1])  # world y is posterior
    offset = {n: float((p - a) @ behind) for n, p in back.items() if n in ("S2", "S3")}
    assert min(offset.values()) > 2.0, offset
    assert max(offset.values()) == max((float((p - a) @ behind) for p in back.values())), offset


@pytest.mark.parametrize("seg", ["S1", "S2", "S3", "S4"])
def test_posterior_sacral_foramina_are_holes(model, seg):
    """A ray along a posterior foramen's axis, through its centre, meets no sacral bone."""
    from spine.anatomy.bones import sacral_foramen_points

    bones = [model.structure("sacrum.bone").solid]
    for side in ("left", "right"):
        P, A = sacral_foramen_points(model._b, seg, side)
        d = (A - P) / np.linalg.norm(A - P)
        start = P - d * 60.0
        assert all(_line_chord_world(b, start, d) == 0.0 for b in bones), (seg, side)


def _line_chord_world(solid, p, d) -> float:
    return float(solid.chord_length(np.asarray(p, float)[None, :], np.asarray(d, float)[None, :], 0.0, 150.0)[0])


def test_sacral_hiatus_opens_behind_s5_between_the_cornua(model):
    """Straight in from behind at the hiatus the first bone is the canal's floor (the S5 body's
    back), not a dorsal wall; at S3 a dorsal wall roofs the canal."""
    for name, open_ in (("S5", True), ("S3", False)):
        o, R = _frame(model, name)
        sz = model._b.size[name]
        z = model._b.anchors["S5"]["hiatus"][2] if name == "S5" else 0.0
        bone = model.structure("sacrum.bone").solid
        start = o + R @ np.array([0.0, 120.0, z])
        depth_y = 120.0 - _first_hit(bone, start, -R[:, 1])
        back_of_body = sz.body_depth / 2
        if open_:
            assert depth_y < back_of_body + 2.0, depth_y
        else:
            assert depth_y > back_of_body + sz.canal_depth, depth_y


def test_iliac_crest_top_is_at_about_l4(model):
    from spine.anatomy.levels import VERTEBRAE

    top = max(model.structure(f"ilium.{s}.bone").solid.vertices[:, 2].max() for s in ("left", "right"))
    centres = {v: model._b.frames[v].origin[2] for v in ("L3", "L4", "L5")}
    # between the L3-L4 and L4-L5 discs [clinical.md: the intercristal line at about L4]
    assert (centres["L4"] + centres["L5"]) / 2 < top < (centres["L3"] + centres["L4"]) / 2, (top, centres)
    assert "L4" in VERTEBRAE


def test_sacral_base_width_and_height_within_published(model):
    from spine.anatomy.morphometry import PUBLISHED_SACRUM

    v = model.structure("sacrum.bone").solid.vertices
    o, R = _frame(model, "S3")
    q = (v - o) @ R
    width = q[:, 0].max() - q[:, 0].min()
    mean, sd = PUBLISHED_SACRUM["width"]
    assert abs(width - mean) <= 2 * sd, width
    top = model._b.frames["S1"].origin + model._b.frames["S1"].R[:, 2] * model._b.size["S1"].body_height / 2
    height = float(np.max(np.linalg.norm(v - top, axis=1)))
    mean, sd = PUBLISHED_SACRUM["height"]
    assert abs(height - mean) <= 2 * sd, height


@pytest.mark.parametrize("side", ["left", "right"])
def test_si_joint_is_a_narrow_gap_between_the_auricular_faces(model, side):
    """Across the joint's middle, the ilium's and the sacrum's faces are each about 1 mm from the
    joint's mid-plane (a 2 mm joint space), and the injection target lies in the gap, in neither
    bone."""
    pv = model._b.anchors["pelvis"][side]
    ilium = model.structure(f"ilium.{side}.bone").solid
    sacrum = [model.structure("sacrum.bone").solid]
    n = pv["si_normal"]
    for fa in (-0.35, 0.0, 0.35):
        for fb in (-0.6, 0.0, 0.6):
            c = pv["si_centre"] + pv["si_along"] * pv["si_half"][2] * fa + pv["si_ap"] * pv["si_half"][1] * fb
            assert 0.5 < _first_hit(ilium, c, n) < 2.0, (fa, fb)
            assert 0.5 < min(_first_hit(s, c, -n) for s in sacrum) < 2.0, (fa, fb)
    target = model.landmark("S1", "si_joint_inferior_third", side)
    for solid in (ilium, *sacrum):  # outside a bone: the first crossing of a ray enters it
        ray, t, _g, enter = solid._scene.hits(target[None, :], n[None, :])
        assert not len(t) or bool(enter[np.argmin(t)]), solid


@pytest.mark.parametrize(
    "name, level",
    [
        ("facet-joint-injection", "L5-S1"),
        ("radiofrequency-ablation", "L5-S1"),
        ("transforaminal-esi", "S1"),
        ("caudal-esi", "S5"),
        ("si-joint-injection", "S2"),
    ],
)
def test_sacral_needles_do_not_pass_through_the_drawn_sacrum_or_ilium(name, level):
    """The plans are checked against the placed parts; the drawn sacrum and ilia must agree:
    no needle runs more than 0.5 mm inside them (the facet recess, the ala groove, the S1
    foramen, the hiatus and the SI joint are open where the needles go)."""
    from spine.procedures.catalog import load_procedures
    from spine.procedures.planner import get_model, plan_needle

    model = get_model()
    bones = [s for s in model.structures(kinds=[SURFACE_KIND]) if s.level is None or str(s.level).startswith("S")]
    # one side: the placed parts and the drawn bones are mirror images (a plan costs seconds)
    side = "left" if load_procedures()[name].sided else None
    for plan in (plan_needle(name, level, side),):
        for needle in plan.needles:
            for p0, p1 in needle.segments():
                for st in bones:
                    assert st.solid.segment_inside_length(p0, p1) < 0.5, (name, side, st.name)


# -- the shapes that make a vertebra read as one ------------------------------------------------
@pytest.mark.parametrize("name", ["L3", "T7"])
def test_endplates_are_dished_inside_a_raised_rim(model, name):
    """The ring apophysis stands above the middle of the endplate (lumbar: about 1 mm)."""
    o, R = _frame(model, name)
    body = model.structure(f"{name}.body").solid
    sz_h = float(np.ptp(((body.vertices - o) @ R)[:, 2]))
    mid = _line_chord(body, o, R, (0.0, 0.0, -200), (0, 0, 1))
    assert mid < sz_h - 0.8, f"{name}: endplate middle {mid:.1f} mm vs rim-to-rim {sz_h:.1f} mm"


@pytest.mark.parametrize("name", ["C4", "C6"])
def test_cervical_bodies_carry_uncinate_processes(model, name):
    """The posterolateral edges of a C3-C7 upper endplate turn up above its middle."""
    o, R = _frame(model, name)
    body = model.structure(f"{name}.body").solid
    local = (body.vertices - o) @ R
    w, d = float(np.ptp(local[:, 0])), float(np.ptp(local[:, 1]))

    def top(x, y):  # height of the upper surface above the body's centre
        return 200.0 - _first_hit(body, o + R @ np.array([x, y, 200.0]), -R[:, 2])

    # the lateral edges stand higher than the middle of the endplate
    for sx in (-1, 1):
        assert top(sx * (w / 2 - 2.0), 0.1 * d / 2) > top(0.0, 0.1 * d / 2) + 1.0, sx


def _sp_height(model, name, t) -> float:
    """Cranio-caudal extent of the midline bone at fraction ``t`` of the spinous process."""
    o, R = _frame(model, name)
    bone = model.structure(f"{name}.bone").solid
    sl = (model.landmark(name, "spinolaminar_line") - o) @ R
    v = (bone.vertices - o) @ R
    sp = v[(np.abs(v[:, 0]) < 3.0) & (v[:, 1] > sl[1] + 2.0)]
    y = sl[1] + 2.0 + t * (sp[:, 1].max() - sl[1] - 2.0)
    band = sp[np.abs(sp[:, 1] - y) < 1.5]
    return float(np.ptp(band[:, 2]))


@pytest.mark.parametrize("name", ["L2", "L4"])
def test_lumbar_spinous_process_is_a_hatchet(model, name):
    """Taller at its thickened posterior border than at its neck by the lamina."""
    neck, blade = _sp_height(model, name, 0.3), _sp_height(model, name, 0.85)
    assert blade > 1.15 * neck, f"{name}: blade {blade:.1f} mm, neck {neck:.1f} mm"


def test_thoracic_transverse_process_is_club_shaped(model):
    """T7's transverse process is thicker at its tip (the rib's facet) than at its root."""
    o, R = _frame(model, "T7")
    tp = model.structure("T7.tp.left").solid
    bone = model.structure("T7.bone").solid
    axis = tp.rotation[:, 0]
    up = R[:, 2]
    h = tp.half_sizes[0]

    def height(t):
        p = tp.center + axis * (t * h) - up * 100
        return float(bone.chord_length(p, up[None, :], 0.0, 200.0)[0])

    assert height(0.8) > 1.1 * height(0.0), (height(0.8), height(0.0))


# -- the mesh cache's keys follow the shape code ----------------------------------------------
def _keys(level: str = "L4") -> tuple[str, str]:
    """A body's and a bone group's cache keys for a fixed frame (no model build needed)."""
    from types import SimpleNamespace

    from spine.anatomy.morphometry import VERTEBRA_SIZES
    from spine.anatomy.surfaces import _body_key, _group_key

    frame = SimpleNamespace(origin=np.array([0.0, 12.5, -340.0]), R=np.eye(3))
    b = SimpleNamespace(size={s.name: s for s in VERTEBRA_SIZES}, frames={level: frame})
    group = {"name": f"{level}.bone", "region": "lumbar", "origin": frame.origin, "R": frame.R, "parts": []}
    return _body_key(b, level), _group_key(b, group)


def test_mesh_cache_keys_change_when_the_shape_code_changes(monkeypatch):
    """An edit to any shape module (here one line added to sdf.py) gives every mesh a new key,
    so a stale bone is never loaded; no version number has to be bumped by hand."""
    from spine.anatomy import surface_cache

    before = _keys()
    assert before == _keys()  # the same code and geometry: the same keys (the cache hits)
    real = surface_cache._shape_sources

    def edited():
        return [(n, s + b"\n# one edited line\n" if n == "sdf.py" else s) for n, s in real()]

    monkeypatch.setattr(surface_cache, "_shape_sources", edited)
    surface_cache.shape_code_digest.cache_clear()
    try:
        after = _keys()
    finally:
        surface_cache.shape_code_digest.cache_clear()  # the next call reads the real sources
    assert after[0] != before[0] and after[1] != before[1]


def test_mesh_cache_keys_follow_the_sizes_but_not_the_published_numbers(monkeypatch):
    """A size the surfaces read (the sacrum's outline) is part of the keys; a published number
    the tests compare with is not (adding a paper's row re-meshes nothing)."""
    from spine.anatomy import morphometry, surface_cache

    before = _keys()
    try:
        monkeypatch.setattr(morphometry, "PUBLISHED_MORPHOMETRY", morphometry.PUBLISHED_MORPHOMETRY[:-1])
        surface_cache.shape_code_digest.cache_clear()
        assert _keys() == before
        wider = tuple(w + 1.0 for w in morphometry.SACRAL_OUTLINE_HALF_WIDTH_MM)
        monkeypatch.setattr(morphometry, "SACRAL_OUTLINE_HALF_WIDTH_MM", wider)
        surface_cache.shape_code_digest.cache_clear()
        assert _keys() != before
    finally:
        monkeypatch.undo()
        surface_cache.shape_code_digest.cache_clear()
    assert _keys() == before


def test_shape_modules_cover_every_module_the_shapes_import():
    """The digest reads every module of ``spine.anatomy`` that the shape modules import, so a
    shape moved into a new helper module cannot escape it."""
    import ast
    from pathlib import Path

    from spine.anatomy import surface_cache

    folder = Path(surface_cache.__file__).parent
    listed = set(surface_cache.SHAPE_MODULES) | set(surface_cache.SHAPE_DATA_MODULES)
    assert {"sdf.py", "surfaces.py", "bones.py", "meshing.py", "morphometry.py"} <= listed
    for name in sorted(listed):
        tree = ast.parse((folder / name).read_text())
        typing_only = {  # imports for annotations only run no code
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
            for n in ast.walk(block)
        }
        for node in ast.walk(tree):
            mod = node.module if isinstance(node, ast.ImportFrom) and id(node) not in typing_only else None
            if mod and mod.startswith("spine.anatomy.") and mod != "spine.anatomy.surface_cache":
                assert mod.rsplit(".", 1)[1] + ".py" in listed, (name, mod)


def test_mesh_cache_keys_are_the_same_in_another_process():
    """Keys are made of file bytes and rounded numbers, never of Python's per-process string hash:
    a fresh interpreter with another hash seed gives this process's keys."""
    import os
    import subprocess
    import sys

    code = "import sys; sys.path.insert(0, 'tests'); from test_anatomy_surfaces import _keys; print(*_keys())"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert tuple(out.stdout.split()) == _keys()


def test_atlas_posterior_arch_is_slender_beside_the_lateral_masses(model):
    """Seen from behind C1's posterior arch is a slender arch, not a bar of one height: about
    8 mm high at the midline (with its small tubercle) and at most 6 mm, under 0.7 of that,
    10 mm to either side, where it runs under the vertebral artery to the lateral mass
    [Gray's Anatomy, 41st ed., ch. 43]."""
    bone = model.bone_surface("C1").solid
    o, R = _frame(model, "C1")

    def height(x: float) -> float:  # tallest vertical chord through the arch at this x
        return max(_line_chord(bone, o, R, (x, y, -30.0), (0, 0, 1)) for y in np.arange(12.0, 34.0, 0.25))

    mid = height(0.0)
    assert 7.0 <= mid <= 11.0, mid
    for x in (-10.0, 10.0):
        assert height(x) <= min(6.0, 0.7 * mid), (x, height(x), mid)


def test_sacral_ala_falls_forward_to_the_pelvic_brim(model):
    """Beside S1's body the ala's upper surface falls forward towards the pelvic brim, so on a
    lateral view its margin is a curve below the promontory, not one straight edge with S1's
    endplate: 35 mm lateral, its front half lies at least 4 mm lower than its back."""
    bone = model.structure("sacrum.bone").solid
    o, R = _frame(model, "S1")

    def top(y: float) -> float:
        return 80.0 - _first_hit(bone, o + R @ np.array([35.0, y, 80.0]), -R[:, 2])

    assert top(0.0) < top(16.0) - 4.0, (top(0.0), top(16.0))
