"""Geometry invariants of the spine model against clinical.md section 1."""

from __future__ import annotations

import re

import numpy as np
import pytest

from spine.anatomy.levels import INTERSPACES, NERVE_ROOTS, VERTEBRAE, exiting_root, region_of, root_exit
from spine.anatomy.model import BONE_KINDS, LandmarkError, SpineModel, SpineParameters
from spine.anatomy.mesh import is_watertight
from spine.anatomy.sdf import endplate_concavity
from spine.anatomy.shapes import CutCylinder, SoftMesh
from spine.anatomy.solids import Capsule, Material


@pytest.fixture(scope="module")
def model() -> SpineModel:
    return SpineModel.default()


def _axis_points(capsule: Capsule, n: int = 40) -> np.ndarray:
    """Points along a capsule's axis, or along a curved tube's own course."""
    course = getattr(capsule, "points", None)
    if course is not None:  # a Tube: densify its sampled course
        t = np.linspace(0.0, len(course) - 1, max(n, 4 * len(course)))
        i = np.minimum(t.astype(int), len(course) - 2)
        return course[i] + (t - i)[:, None] * (course[i + 1] - course[i])
    p0, p1 = capsule.endpoints
    return p0 + np.linspace(0.0, 1.0, n)[:, None] * (p1 - p0)


def test_cut_cylinder_chords_match_sampling():
    """The wedge/tube solid's analytic ray chords agree with counting points inside it."""
    from spine.anatomy.solids import rotation_xyz

    rng = np.random.default_rng(3)
    solid = CutCylinder.between_planes(
        [1.0, 2.0, 3.0],
        rotation_xyz(10, 20, 5),
        (12.0, 7.0),
        [1, 2, 9.0],
        [0.15, 0.2, 1.0],
        [1, 2, -4.0],
        [-0.1, 0.3, 1.0],
    )
    origins = rng.uniform(-30, 30, size=(40, 3))
    targets = solid.center + rng.normal(scale=4.0, size=(40, 3))
    dirs = targets - origins
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    chords = solid.chord_length(origins, dirs)
    ts = np.linspace(0, 80, 16001)
    for o, d, chord in zip(origins, dirs, chords):
        inside = solid.contains(o + ts[:, None] * d)
        assert chord == pytest.approx(inside.mean() * 80, abs=0.05)
    assert chords.max() > 5
    # surface points are on the boundary: inside when pulled in, outside when pushed out
    pts = solid.surface_points(24)
    assert solid.contains(solid.center + (pts - solid.center) * 0.99).all()
    assert not solid.contains(solid.center + (pts - solid.center) * 1.01).any()
    shrunk = solid.scaled(0.5)
    assert shrunk.contains(solid.center[None])[0] and not shrunk.contains(pts).any()
    assert hash(SpineParameters()) == hash(SpineParameters())


def _bones(model):
    return [s for s in model.structures() if s.kind in BONE_KINDS]


# -- identity, API ------------------------------------------------------------------------
def test_default_is_cached_and_hash_is_stable(model):
    assert SpineModel.default() is model
    h = model.parameters_hash()
    assert re.fullmatch(r"[0-9a-f]{64}", h)
    assert SpineModel(SpineParameters()).parameters_hash() == h
    assert SpineParameters(lumbar_lordosis_deg=50.0).sha256() != h
    assert SpineParameters(size_scale=1.1).sha256() != h


def test_structures_filters_and_lookup(model):
    l4 = model.structures(levels=["L4"])
    assert {s.level for s in l4} == {"L4"}
    kinds = {s.kind for s in l4}
    for kind in ("body", "pedicle", "lamina", "spinous_process", "tp", "sap", "iap", "pars"):
        assert kind in kinds, kind
    pedicles = model.structures(levels=["l4"], kinds=["pedicle"])
    assert sorted(s.side for s in pedicles) == ["left", "right"]
    assert model.structure("L4.pedicle.left").side == "left"
    assert model.structures(levels=["L4/5"], kinds="annulus")[0].name == "disc.L4-L5.annulus"
    with pytest.raises(KeyError, match="no structure"):
        model.structure("L6.body")
    names = model.structure_names()
    assert len(names) == len(set(names))


def test_every_vertebra_has_its_parts(model):
    for name in VERTEBRAE:
        parts = {s.kind for s in model.vertebra_structures(name)}
        if name == "C1":
            assert "body" not in parts  # the atlas has no body [clinical.md]
            assert {"anterior_arch", "lateral_mass", "posterior_arch", "tp"} <= parts
        elif region_of(name) in ("cervical", "thoracic", "lumbar"):
            assert {"body", "pedicle", "lamina", "spinous_process", "tp", "sap", "iap", "pars"} <= parts, name
        else:
            assert "body" in parts, name
    assert "dens" in {s.kind for s in model.vertebra_structures("C2")}
    assert len(model.structures(levels=["Co1", "Co2", "Co3", "Co4"], kinds=["body"])) == 4
    assert {s.kind for s in model.vertebra_structures("S5")} >= {"sacral_cornu"}
    assert model.structure("sacral_hiatus").level == "S5"
    assert len(model.structures(kinds=["posterior_sacral_foramen"])) == 8  # S1-S4, both sides


def test_bone_is_cortical_with_a_thin_shell(model):
    for st in _bones(model):
        assert st.material == Material.CORTICAL_BONE
        assert 0.0 < st.shell_mm <= 2.0
    big = [s for s in _bones(model) if s.kind == "body"]
    assert all(1.0 <= s.shell_mm <= 2.0 for s in big)
    assert model.structure("cord.C5").material == Material.NEURAL
    assert model.structure("L4-L5.ligamentum_flavum.left").material == Material.SOFT_TISSUE


# -- sizes (clinical.md section 1) -----------------------------------------------------------
def _body(model, name):
    return model.structure(f"{name}.body").solid


def test_body_sizes_by_region(model):
    for name in ("C3", "C4", "C5", "C6", "C7"):
        b = _body(model, name)
        height, depth, width = 2 * b.half_height, 2 * b.radii[1], 2 * b.radii[0]
        assert depth > height, name
        assert 9.5 <= height <= 12 and 14 <= depth <= 16.5 and 19.5 <= width <= 23
    for name in [f"T{k}" for k in range(2, 10)]:
        assert 16.5 <= 2 * _body(model, name).half_height <= 19.5
    volumes = []
    for name in ("L1", "L2", "L3", "L4", "L5"):
        b = _body(model, name)
        height, depth, width = 2 * b.half_height, 2 * b.radii[1], 2 * b.radii[0]
        assert 20 <= height <= 30 and 30 <= depth <= 35 and 40 <= width <= 50
        volumes.append(height * depth * width)
    assert volumes == sorted(volumes) and len(set(volumes)) == 5  # growing L1 -> L5
    widths = [2 * _body(model, f"C{k}").radii[0] for k in range(3, 8)]
    assert widths == sorted(widths)  # C7 largest


def test_sizes_grow_caudally_between_regions(model):
    def volume(name):
        b = _body(model, name)
        return b.half_height * b.radii[0] * b.radii[1]

    assert volume("C5") < volume("T6") < volume("L3")


# -- stacking ------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", [f"{a}-{b}" for a, b in zip(VERTEBRAE[1:], VERTEBRAE[2:])])
def test_neighbouring_bodies_do_not_overlap(model, pair):
    upper, lower = pair.split("-")
    bu = model.structure(f"{upper}.body").solid
    bl = model.structure(f"{lower}.body").solid
    pts = bu.surface_points(32)
    # sample the whole upper body, not only its surface
    centre = bu.center
    fill = np.concatenate([centre + (pts - centre) * f for f in (0.25, 0.5, 0.75, 0.98)])
    assert not bl.contains(fill).any()
    assert not bu.contains(
        np.concatenate([bl.center + (bl.surface_points(32) - bl.center) * f for f in (0.5, 0.98)])
    ).any()


@pytest.mark.parametrize("space", INTERSPACES[1:])
def test_a_disc_between_each_pair_of_mobile_vertebrae(model, space):
    annulus = model.structure(f"disc.{space}.annulus")
    nucleus = model.structure(f"disc.{space}.nucleus")
    assert annulus.material == nucleus.material == Material.DISC
    assert isinstance(annulus.solid, SoftMesh) and is_watertight(annulus.solid.faces)
    upper, lower = space.split("-")
    bu, bl = _body(model, upper), _body(model, lower)
    # the disc lies between the two bodies, touching both endplates, overlapping neither
    top = bu.center - bu.rotation[:, 2] * bu.half_height
    bottom = bl.center + bl.rotation[:, 2] * bl.half_height
    mid = (top + bottom) / 2
    assert annulus.solid.contains(mid[None])[0]
    assert nucleus.solid.contains(mid[None] + (nucleus.solid.center - mid) * 0.5)[0]
    # the disc fills the endplates' central dish (up to 1.5 mm deep, spine.anatomy.sdf), no further
    dish = max(endplate_concavity("lumbar", 35.0)) + 0.5
    assert not annulus.solid.contains((top + bu.rotation[:, 2] * dish)[None])[0]
    assert not annulus.solid.contains((bottom - bl.rotation[:, 2] * dish)[None])[0]
    assert np.all(
        nucleus.solid.contains(nucleus.solid.surface_points(12))
        | annulus.solid.contains(nucleus.solid.surface_points(12))
    )


@pytest.mark.parametrize("space", ["C5-C6", "T7-T8", "L4-L5", "L5-S1"])
def test_discs_are_lens_shaped_wedges_that_follow_the_endplates(model, space):
    """Measured as on a sagittal and an axial MRI section: taller in front than behind where the
    curve is lordotic, bulging a little past both bodies' rims, with a flat or concave back
    (the bodies' kidney outline) and the nucleus in its central 40-50 %, a little posterior."""
    annulus = model.structure(f"disc.{space}.annulus").solid
    nucleus = model.structure(f"disc.{space}.nucleus").solid
    origin, R = model.interspace_frame(space)
    upper, lower = space.split("-")
    bu, bl = _body(model, upper), _body(model, lower)
    lat, post, sup = R[:, 0], R[:, 1], R[:, 2]

    def extent(direction, start):  # how far the disc reaches from ``start`` along ``direction``
        t0, t1 = annulus.ray_interval(start[None], direction[None])
        return float(t1[0])

    def height(y):  # disc height along the joint's axis, y mm behind its centre
        p = origin + post * y - sup * 30.0
        return float(annulus.chord_length(p[None], sup[None])[0])

    depth_front = extent(-post, origin)
    depth_back = extent(post, origin)
    # a cervical body's front lip hangs over the disc's front rim: measure the neck's wedge inside it
    at = 0.5 if space.startswith("C") else 0.7
    front, back = height(-at * depth_front), height(at * depth_back)
    if space in ("C5-C6", "L4-L5", "L5-S1"):  # lordotic segments: a wedge open to the front
        assert front > back + (0.15 if space == "C5-C6" else 1.0), (front, back)
    else:  # thoracic kyphosis: about parallel or open behind
        assert front < back + 1.0, (front, back)
    half_w = max(extent(lat, origin + post * y) for y in np.linspace(-0.3, 0.4, 15) * (depth_front + depth_back))
    mean_body = (float(bu.radii[0]) + float(bl.radii[0])) / 2  # the rims it runs between
    assert mean_body + 0.3 < half_w < max(float(bu.radii[0]), float(bl.radii[0])) + 3.0, (half_w, mean_body)
    # flat or concave back wall: the midline reaches no further back than 8 mm to the side
    beside = extent(post, origin + lat * 8.0)
    assert depth_back <= beside + 0.3, (depth_back, beside)
    # nucleus: 40-50 % of the width, centred a little behind the middle
    share = float(nucleus.radii[0]) / half_w
    assert 0.38 <= share <= 0.52, share
    assert 0.0 < float((nucleus.center - origin) @ post) < 3.0


def test_no_disc_at_c1_c2_or_inside_the_sacrum(model):
    assert not model.structures(levels=["C1-C2"], kinds=["annulus"])
    assert all(s.level in INTERSPACES for s in model.structures(kinds=["annulus"]))
    assert len(model.structures(kinds=["annulus"])) == 23  # C2-C3 ... L5-S1


# -- curves ---------------------------------------------------------------------------------
def _lordosis(model, top: str, bottom: str) -> float:
    """Angle from the top vertebra's superior axis to the bottom one's (+ = lordosis)."""
    return model.alpha_deg(top) - model.alpha_deg(bottom)


def test_curve_directions_and_sizes_per_region(model):
    cervical = _lordosis(model, "C2", "C7")
    thoracic = _lordosis(model, "T1", "T12")
    lumbar = _lordosis(model, "L1", "S1")
    assert 10 <= cervical <= 20  # lordosis ~15
    assert -40 <= thoracic <= -20  # kyphosis 20-40
    assert 50 <= lumbar <= 70  # lordosis ~60 (30-80)
    assert abs(_lordosis(model, "T12", "L1")) <= 3  # thoracolumbar junction about straight
    lower = _lordosis(model, "L4", "S1")
    assert 0.55 <= lower / lumbar <= 0.75  # about two thirds at L4-S1


def _apex(model, names):
    """The vertebra farthest from the chord joining the first and last body centres."""
    centres = np.array([model.vertebra_frame(n)[0] for n in names])
    a, b = centres[0], centres[-1]
    chord = (b - a) / np.linalg.norm(b - a)
    normal = np.array([0.0, chord[2], -chord[1]])  # in the sagittal plane
    dist = (centres - a) @ normal
    return names[int(np.argmax(np.abs(dist)))], np.sign(dist[int(np.argmax(np.abs(dist)))]) * np.sign(normal[1])


def test_apices_and_convexity(model):
    thoracic = [f"T{k}" for k in range(1, 13)]
    apex, side = _apex(model, thoracic)
    assert apex in ("T6", "T7")
    assert side > 0  # kyphosis: the apex is posterior to the chord
    lumbar = ["L1", "L2", "L3", "L4", "L5", "S1"]
    apex, side = _apex(model, lumbar)
    assert apex in ("L3", "L4")
    assert side < 0  # lordosis: the apex is anterior
    cervical = ["C2", "C3", "C4", "C5", "C6", "C7"]
    apex, side = _apex(model, cervical)
    assert side < 0 and apex in ("C4", "C5")


def test_vertebra_frames_follow_the_curve(model):
    for name in VERTEBRAE:
        origin, R = model.vertebra_frame(name)
        assert np.allclose(R.T @ R, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(R), 1.0)
        assert np.allclose(R[:, 0], [1, 0, 0])  # no rotation or lateral bend
        assert origin.shape == (3,)
    zs = [model.vertebra_frame(n)[0][2] for n in VERTEBRAE[:24]]
    assert zs == sorted(zs, reverse=True)  # cranial to caudal
    o, r = model.vertebra_frame("L4")
    assert np.allclose(o, _body(model, "L4").center)
    assert np.allclose(model.level_centre("L4-L5"), model.interspace_frame("L4-L5")[0])


def test_axial_planes(model):
    origin, R = model.axial_plane("L4")
    for side in ("left", "right"):
        assert abs((model.landmark("L4", "pedicle", side) - origin) @ R[:, 2]) < 1.0
    origin, R = model.axial_plane("L4-L5")
    assert np.allclose(
        origin,
        model.landmark("L4-L5", "nucleus_centre")
        - R[:, 1] * ((model.landmark("L4-L5", "nucleus_centre") - origin) @ R[:, 1]),
    )


def test_s1_endplate_is_the_origin_and_sacrum_slopes_forward(model):
    assert np.allclose(model.landmark("S1", "superior_endplate"), 0.0, atol=1e-9)
    assert model.alpha_deg("S1") < -25  # the S1 endplate faces forward and up


# -- soft tissue ----------------------------------------------------------------------------
def test_conus_between_t12_and_l3(model):
    conus = model.structure("conus").solid
    tip = conus.center - conus.rotation[:, 2] * conus.radii[2]
    t12_top = model.landmark("T12", "superior_endplate")[2]
    l3_bottom = model.landmark("L3", "inferior_endplate")[2]
    assert l3_bottom < tip[2] < t12_top
    # ~L1-L2: between the L1 body middle and the L2 body middle
    assert model.vertebra_frame("L2")[0][2] < tip[2] < model.vertebra_frame("L1")[0][2]
    assert not model.structures(levels=["L2", "L3", "L4", "L5"], kinds=["cord"])
    assert model.structures(levels=["L3", "L4", "L5", "S1"], kinds=["cauda_equina"])


def test_neural_contents_stay_in_the_canal(model):
    canal = [s.solid for s in model.structures(kinds=["canal"])]
    for st in model.structures(kinds=["cord", "conus", "cauda_equina", "filum_terminale", "dural_sac"]):
        if isinstance(st.solid, Capsule):
            pts = _axis_points(st.solid, 20)
        else:
            pts = st.solid.center[None] + (st.solid.surface_points(12) - st.solid.center) * 0.9
        inside = np.zeros(len(pts), bool)
        for c in canal:
            inside |= c.contains(pts)
        assert inside.all(), st.name


def test_dural_sac_ends_between_s1_and_s3(model):
    sac = model.structures(kinds=["dural_sac"])
    lowest = min(float(s.solid.surface_points(24)[:, 2].min()) for s in sac)
    s1_top = model.landmark("S1", "superior_endplate")[2]
    s3 = _body(model, "S3")
    s3_bottom = (s3.center - s3.rotation[:, 2] * s3.half_height)[2]
    assert s3_bottom < lowest < s1_top
    assert sac[-1].level == "S2"
    assert sac[0].level == "C1"
    assert not model.structures(levels=["S3", "S4", "S5"], kinds=["dural_sac"])


def _dorsal_epidural_depth(model, space):
    """Dura to ligamentum flavum in the midline, at the interlaminar window."""
    front = model.landmark(space, "spinolaminar_line")  # front of the LF
    origin, R = model.interspace_frame(space)
    sacs = [model.structure(f"dural_sac.{v}").solid for v in space.split("-")]
    # walk forward from the LF until we hit the dural sac
    ts = np.arange(0, 20, 0.05)
    pts = front[None] - ts[:, None] * R[:, 1]
    inside = np.nonzero(sacs[0].contains(pts) | sacs[1].contains(pts))[0]
    return float(ts[inside[0]]) + 0.5  # + the 0.5 mm the landmark sits in front of the LF


def test_epidural_dorsal_depth_neck_vs_lumbar(model):
    assert 5.0 <= _dorsal_epidural_depth(model, "L2-L3") <= 6.0
    neck = {space: _dorsal_epidural_depth(model, space) for space in ("C2-C3", "C3-C4", "C4-C5", "C5-C6", "C6-C7")}
    for space, depth in neck.items():
        assert 1.0 <= depth <= 2.0, space
    # C7-T1 has the largest ligamentum-flavum-to-dura gap of the neck (clinical.md 3.1)
    assert _dorsal_epidural_depth(model, "C7-T1") > max(neck.values())
    for space in INTERSPACES[1:]:
        assert _dorsal_epidural_depth(model, space) >= 1.0, space


def test_ligamentum_flavum_thickness(model):
    for space in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"):
        lf = model.structure(f"{space}.ligamentum_flavum.left").solid
        assert 3.2 <= 2 * lf.half_sizes[1] <= 3.7
    assert len(model.structures(kinds=["ligamentum_flavum"])) == 2 * 23


@pytest.mark.parametrize("root", NERVE_ROOTS)
def test_31_pairs_of_roots_exit_by_the_rule(model, root):
    exit_at = root_exit(root)
    for side in ("left", "right"):
        prox = model.structure(f"root.{root}.{side}")
        dist = model.structure(f"root.{root}.{side}.extraforaminal")
        assert prox.material == Material.NEURAL and prox.kind == "root"
        p0, p1 = prox.solid.endpoints
        q0, q1 = dist.solid.endpoints
        assert np.allclose(p1, q0)
        sign = 1 if side == "left" else -1
        assert sign * (q1[0] - p0[0]) > 5  # runs out
        assert q1[2] < p0[2]  # and down
        if exit_at in INTERSPACES and exit_at != "C1-C2":
            foramen = model.structure(f"{exit_at}.foramen.{side}").solid
            assert foramen.contains(_axis_points(prox.solid, 80)).any(), (root, exit_at)
            assert prox.level == exit_at
            # it passes under its own pedicle from T1 down (C8 under C7's)
            upper = exit_at.split("-")[0]
            if region_of(upper) != "cervical" or upper == "C7":
                pedicle_bottom = model.landmark(upper, "pedicle_6_oclock", side)
                origin, R = model.interspace_frame(exit_at)
                assert (p1 - pedicle_bottom) @ R[:, 2] < 0
        if exit_at in ("S1", "S2", "S3", "S4"):
            post = model.structure(f"{exit_at}.posterior_foramen.{side}").solid
            ant = model.structure(f"{exit_at}.anterior_foramen.{side}").solid
            x_root = abs(p1[0])
            assert abs(abs(post.center[0]) - x_root) < post.radii[0]
            assert ant.contains(_axis_points(dist.solid, 80)).any()  # out through the anterior foramen


def test_roots_and_vertebral_artery_do_not_run_through_bone(model):
    bones = _bones(model)
    for st in model.structures(kinds=["root", "vertebral_artery"]):
        pts = _axis_points(st.solid)
        for bone in bones:
            assert not bone.solid.contains(pts).any(), (st.name, bone.name)


def test_vertebral_artery_zone_in_the_neck(model):
    va = model.structures(kinds=["vertebral_artery"])
    assert va and all(s.material == Material.SOFT_TISSUE for s in va)
    for name in ("C1", "C2", "C3", "C4", "C5", "C6"):
        for side in ("left", "right"):
            tf_solids = [s for s in va if s.side == side]
            body = model.vertebra_frame(name)[0]
            # a piece of the zone passes at this level, lateral to the body
            hit = [s for s in tf_solids if abs(s.solid.center[2] - body[2]) < 20]
            assert hit, (name, side)
    # in front of the cervical foramina
    for space in ("C3-C4", "C4-C5", "C5-C6"):
        origin, R = model.interspace_frame(space)
        foramen = model.landmark(space, "foramen", "left")
        zone = model.structure(f"vertebral_artery.{space}.left").solid
        assert (zone.center - foramen) @ R[:, 1] < -3  # anterior


def test_iliac_crest_at_about_l4_and_si_joints(model):
    crest = max(float(s.solid.surface_points(32)[:, 2].max()) for s in model.structures(kinds=["ilium_wing"]))
    assert model.level_centre("L4-L5")[2] < crest < model.level_centre("L3-L4")[2]
    for side in ("left", "right"):
        si = model.structure(f"si_joint.{side}")
        assert si.side == side and si.material == Material.SOFT_TISSUE
        c = si.solid.center
        assert model.vertebra_frame("S3")[0][2] < c[2] < model.vertebra_frame("S1")[0][2] + 15
        assert (c[0] > 30) == (side == "left") and abs(c[0]) > 30


def test_thoracic_spinous_processes_long_steep_and_overlapping(model):
    for k in range(4, 10):
        sp = model.structure(f"T{k}.spinous_process").solid
        down = -sp.rotation[:, 1]  # local y runs along the process
        tip = sp.center + sp.rotation[:, 1] * sp.half_sizes[1]
        # steep: the tip lies well below the base
        assert tip[2] < model.vertebra_frame(f"T{k}")[0][2] - 15
        # overlapping: the tip reaches below the top of the next lamina
        nxt = model.structure(f"T{k + 1}.lamina.left").solid
        assert tip[2] < nxt.center[2] + nxt.half_sizes[1]
        del down
    lumbar = model.structure("L3.spinous_process").solid
    thor = model.structure("T7.spinous_process").solid
    assert abs(thor.rotation[2, 1]) > 2 * abs(lumbar.rotation[2, 1])  # steeper


# -- landmarks ----------------------------------------------------------------------------
def _landmark_home(model, level, name):
    """The structures a landmark at ``level`` must lie within (bounding box)."""
    if name in ("sacral_hiatus", "si_joint_inferior_third", "sacral_canal"):
        sts = [s for s in _bones(model) if s.level in ("S1", "S2", "S3", "S4", "S5") or s.level is None]
    elif "-" in level:
        upper, lower = level.split("-")
        sts = model.vertebra_structures(upper) + model.vertebra_structures(lower)
    else:
        sts = model.vertebra_structures(level)
    boxes = [s.solid.bounding_box() for s in sts]
    return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)


def test_landmark_catalogue(model):
    names = model.landmark_names()
    for required in (
        "superior_endplate",
        "inferior_endplate",
        "pedicle",
        "pedicle_6_oclock",
        "sap",
        "iap",
        "tp",
        "sap_tp_groove",
        "lamina",
        "interlaminar_window",
        "spinolaminar_line",
        "foramen",
        "safe_triangle",
        "facet_joint",
        "facet_superior_recess",
        "facet_inferior_recess",
        "nucleus_centre",
        "sacral_hiatus",
        "posterior_sacral_foramen",
        "sacral_ala_groove",
        "si_joint_inferior_third",
        "pillar_waist",
        "third_occipital_nerve",
        "body_anterior_third",
        "epidural_space",
        "sacral_canal",
    ):
        assert required in names
    for name in names:
        assert model.landmark_levels(name), name


def test_landmarks_of_every_level_lie_in_their_own_vertebra(model):
    count = 0
    for name in model.landmark_names():
        for level in model.landmark_levels(name):
            lo, hi = _landmark_home(model, level, name)
            for side in ("left", "right"):
                p = model.landmark(level, name, side)
                assert np.all(p >= lo - 3.0) and np.all(p <= hi + 3.0), (level, name, side, p, lo, hi)
                region = model.landmark_region(level, name, side)
                assert region.contains(p[None])[0]
                count += 1
    assert count > 1000


def test_landmarks_are_sided_and_accept_parsed_levels(model):
    from spine.anatomy.levels import parse_level

    left = model.landmark("L4", "pedicle", "left")
    right = model.landmark("L4", "pedicle", "right")
    assert left[0] > 0 > right[0]
    assert np.allclose(
        model.landmark(parse_level("L4-5"), "facet_joint", "left"), model.landmark("L4-L5", "facet_joint", "left")
    )
    assert np.allclose(
        model.landmark("L4-L5", "pedicle_6_oclock", "left"), model.landmark("L4", "pedicle_6_oclock", "left")
    )
    assert np.allclose(model.landmark("L4-L5", "sap", "left"), model.landmark("L5", "sap", "left"))
    with pytest.raises(LandmarkError, match="side"):
        model.landmark("L4", "pedicle")
    with pytest.raises(LandmarkError, match="L4-L5"):
        model.landmark("L4", "safe_triangle", "left")  # an interspace landmark
    with pytest.raises(LandmarkError, match="unknown landmark"):
        model.landmark("L4", "kidney")
    with pytest.raises(LandmarkError, match="L6"):
        model.landmark("L6", "pedicle", "left")


def test_landmark_anatomy(model):
    for space in ("L3-L4", "L4-L5", "L5-S1"):
        origin, R = model.interspace_frame(space)
        upper, lower = space.split("-")
        for side in ("left", "right"):
            six = model.landmark(upper, "pedicle_6_oclock", side)
            ped = model.landmark(upper, "pedicle", side)
            assert (six - ped) @ R[:, 2] < 0  # 6 o'clock is under the pedicle centre
            safe = model.landmark(space, "safe_triangle", side)
            assert (safe - six) @ R[:, 2] < 0  # below the pedicle
            sup = model.landmark(space, "facet_superior_recess", side)
            inf = model.landmark(space, "facet_inferior_recess", side)
            assert (sup - inf) @ R[:, 2] > 5
            joint = model.landmark(space, "facet_joint", side)
            foramen = model.landmark(space, "foramen", side)
            assert (joint - foramen) @ R[:, 1] > 0  # the facet joint is behind the foramen
        window = model.landmark(space, "interlaminar_window")
        nucleus = model.landmark(space, "nucleus_centre")
        assert (window - nucleus) @ R[:, 1] > 20 and abs(window[0]) < 1e-6
        # the spinolaminar line at an interspace is the front of the ligamentum flavum
        front = model.landmark(space, "spinolaminar_line")
        assert (window - front) @ R[:, 1] > 1
    # caudal route: the hiatus is between the cornua, below S4
    hiatus = model.landmark("S5", "sacral_hiatus")
    cl, cr = model.structure("S5.cornu.left").solid.center, model.structure("S5.cornu.right").solid.center
    assert cr[0] < hiatus[0] < cl[0]
    # extra targets the procedures use
    for level in ("T8", "L2-L3", "C7-T1"):
        p = model.landmark(level, "epidural_space")
        assert not any(s.solid.contains(p[None])[0] for s in model.structures(kinds=["dural_sac", "cord"]))
        assert any(s.solid.contains(p[None])[0] for s in model.structures(kinds=["epidural_space"])), level
    sac_end = min(float(s.solid.surface_points(24)[:, 2].min()) for s in model.structures(kinds=["dural_sac"]))
    canal = model.landmark("S4", "sacral_canal")
    assert canal[2] < sac_end and canal[2] > hiatus[2]
    body = model.structure("L1.body").solid
    front = model.landmark("L1", "body_anterior_third")
    assert body.contains(front[None])[0] and (front - body.center) @ body.rotation[:, 1] < -5
    ton = model.landmark("C2-C3", "third_occipital_nerve", "left")
    assert ton[0] > model.landmark("C2-C3", "facet_joint", "left")[0]
    assert not any(s.solid.contains(ton[None])[0] for s in _bones(model))
    # S1 foramen lies below the S1 pedicle
    assert model.landmark("S1", "posterior_sacral_foramen", "left")[2] < model.landmark("S1", "pedicle", "left")[2]


@pytest.mark.parametrize("space", INTERSPACES[1:])
def test_safe_triangle_is_clear_of_what_a_needle_must_avoid(model, space):
    for side in ("left", "right"):
        region = model.landmark_region(space, "safe_triangle", side)
        pts = np.concatenate([region.surface_points(12), region.center[None]])
        for st in model.avoid_structures(space, side):
            assert not st.solid.contains(pts).any(), (space, side, st.name)
        for st in _bones(model):
            assert not st.solid.contains(region.center[None])[0], (space, side, st.name)


def test_avoid_structures(model):
    names = {s.name for s in model.avoid_structures("L4-L5", "left")}
    assert {"root.L4.left", "root.L4.left.extraforaminal", "dural_sac.L4", "dural_sac.L5"} <= names
    assert "root.L4.right" not in names and not any("vertebral_artery" in n for n in names)
    neck = {s.name for s in model.avoid_structures("C5-C6", "right")}
    assert "root.C6.right" in neck and "cord.C5" in neck and "vertebral_artery.C5-C6.right" in neck
    both = {s.name for s in model.avoid_structures("C7-T1")}
    assert {"root.C8.left", "root.C8.right"} <= both
    assert "root.S1.left" in {s.name for s in model.avoid_structures("S1", "left")}
    assert all(exiting_root(s) for s in INTERSPACES)


def test_parameters_change_the_geometry():
    flat = SpineModel(SpineParameters(lumbar_lordosis_deg=30.0))
    assert flat.alpha_deg("L1") - flat.alpha_deg("S1") == pytest.approx(30.0)
    low_conus = SpineModel(SpineParameters(conus_level="L2", dural_sac_end="S3"))
    default = SpineModel.default()

    def conus_tip(m):
        c = m.structure("conus").solid
        return (c.center - c.rotation[:, 2] * c.radii[2])[2]

    def sac_end(m):
        return min(float(s.solid.surface_points(12)[:, 2].min()) for s in m.structures(kinds=["dural_sac"]))

    assert conus_tip(low_conus) < conus_tip(default) - 10
    assert sac_end(low_conus) < sac_end(default) - 10
    assert low_conus.structures(levels=["L1"], kinds=["cord"])
    big = SpineModel(SpineParameters(size_scale=1.1))
    assert big.structure("L4.body").solid.half_height == pytest.approx(1.1 * 13.5)
    assert big.parameters_hash() != flat.parameters_hash()
