"""Landmarks that are soft-tissue or joint-space targets lie where clinical.md puts them:
outside every bone with some clearance (the nerve lies *on* the bone, the needle tip ends in
the groove, the joint cleft or the foramen), inside the joint where the joint is the target,
and the grooves of the medial branch / L5 dorsal ramus are open grooves at the bone surface
(clinical.md 3.2, 3.4-3.7)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from spine.anatomy.model import BONE_KINDS, SpineModel, SpineParameters
from spine.procedures.validator import distance_to_solid


@pytest.fixture(scope="module")
def model():
    return SpineModel.default()


def _bones(model):
    return [s for s in model.structures() if s.kind in BONE_KINDS]


def _near(structures, p, reach=8.0):
    out = []
    for st in structures:
        lo, hi = st.solid.bounding_box()
        if np.linalg.norm(np.maximum(np.maximum(lo - p, p - hi), 0.0)) <= reach:
            out.append(st)
    return out


def _clearance(model, p) -> tuple[float, str]:
    """(distance to the nearest bone surface, its name); negative: inside that bone."""
    best = (math.inf, "")
    for st in _near(_bones(model), p):
        if st.solid.contains(p[None])[0]:
            return -1.0, st.name
        d = float(distance_to_solid(st.solid, p[None])[0])
        best = min(best, (d, st.name))
    return best


# landmark -> (minimum clearance from any bone, maximum distance to the nearest bone, or None)
SOFT_TISSUE_TARGETS = {
    "sap_tp_groove": (0.8, 3.0),  # the medial branch lies on the bone in the groove
    "sacral_ala_groove": (0.8, 3.0),  # the L5 dorsal ramus, likewise
    "pillar_waist": (0.8, 3.0),  # the cervical medial branch on the side of the pillar
    "third_occipital_nerve": (0.8, 3.0),
    "safe_triangle": (1.0, None),  # in the foramen, off the pedicle and the SAP
    "facet_joint": (0.5, 1.5),  # the cleft between the SAP and the IAP
    "facet_superior_recess": (0.5, 1.5),
    "facet_inferior_recess": (0.5, 1.5),
    "si_joint_inferior_third": (0.5, 1.5),  # between the sacrum and the ilium
}


def _cases(model):
    for name in SOFT_TISSUE_TARGETS:
        for level in model.landmark_levels(name):
            for side in ("left", "right"):
                yield name, level, side


def test_soft_tissue_targets_are_outside_bone_at_every_level(model):
    problems = []
    count = 0
    for name, level, side in _cases(model):
        lo, hi = SOFT_TISSUE_TARGETS[name]
        p = model.landmark(level, name, side)
        d, nearest = _clearance(model, p)
        count += 1
        if d < lo or (hi is not None and d > hi):
            problems.append(f"{name} at {level} {side}: {d:.2f} mm from {nearest} (want {lo}..{hi})")
    assert count > 230
    assert not problems, "\n".join(problems)


def test_joint_targets_are_inside_their_joint(model):
    for space in model.landmark_levels("facet_joint"):
        for side in ("left", "right"):
            joint = model.structure(f"{space}.facet_joint.{side}").solid
            for name in ("facet_joint", "facet_superior_recess", "facet_inferior_recess"):
                p = model.landmark(space, name, side)
                assert joint.contains(p[None])[0], (space, side, name)
            sup = model.landmark(space, "facet_superior_recess", side)
            inf = model.landmark(space, "facet_inferior_recess", side)
            up = joint.rotation[:, 2]
            assert (sup - inf) @ up > joint.half_sizes[2]  # the recesses are the two ends of the cleft


def test_si_joint_target_is_the_posterior_inferior_joint(model):
    """clinical.md 3.7: posterior-inferior joint, 1-2 cm above its lowest point."""
    for side in ("left", "right"):
        joint = model.structure(f"si_joint.{side}").solid
        for seg in ("S1", "S2", "S3"):
            p = model.landmark(seg, "si_joint_inferior_third", side)
            assert joint.contains(p[None])[0]
            q = joint.to_local(p)[0]
            up = 1.0 if joint.rotation[2, 2] > 0 else -1.0  # the box's z axis may point down
            assert 10.0 <= up * q[2] + joint.half_sizes[2] <= 20.0  # 1-2 cm above the lowest point
            assert q[1] > 0  # the posterior half of the joint line
        # no bone reaches into the joint space along its posterior half
        pts = np.array(
            [
                [0.0, v, u]
                for v in np.linspace(0, joint.half_sizes[1], 6)
                for u in np.linspace(-joint.half_sizes[2], joint.half_sizes[2], 9)
            ]
        )
        world = joint.to_world(pts)
        for st in _near(_bones(model), joint.center, reach=40.0):
            assert not st.solid.contains(world).any(), st.name


LUMBAR = ("L1", "L2", "L3", "L4", "L5")


def _nerve_back(model, level, side):
    """The medial branch's course in the groove, toward the skin (radiofrequency-ablation.yaml
    nerve_course: 15 deg lateral, 30 deg caudal)."""
    o, r = model.vertebra_frame(level)
    s = 1.0 if side == "left" else -1.0
    lat, cau = math.radians(15.0), math.radians(30.0)
    v = r @ np.array([s * math.sin(lat) * math.cos(cau), math.cos(lat) * math.cos(cau), -math.sin(cau)])
    return v / np.linalg.norm(v)


def _open_along_the_nerve(model, p, back, reach=2.0, length=15.0) -> bool:
    """Within the lesion's reach of the nerve point (~2 mm, clinical.md 3.6) there is a spot
    from which 15 mm of the nerve's course back toward the skin is free of bone: room for
    the active tip of a cannula laid along the nerve."""
    bones = _near(_bones(model), p, reach=length + 5.0)
    g = np.linspace(-reach, reach, 5)
    offsets = np.array(np.meshgrid(g, g, g)).reshape(3, -1).T
    offsets = offsets[np.linalg.norm(offsets, axis=1) <= reach]
    for o in offsets[np.argsort(np.linalg.norm(offsets, axis=1))]:
        q = p + o
        if not any(st.solid.segment_intersects(q, q + back * length) for st in bones):
            return True
    return False


@pytest.mark.parametrize("level", LUMBAR)
def test_lumbar_sap_tp_groove_is_open(model, level):
    """The groove lies between the SAP's lateral surface and the top of the TP, touching
    neither, within a few mm of both; the SAP does not roof it over: the nerve's course back
    out of the groove (where an RFA cannula lies) is free of bone."""
    for side in ("left", "right"):
        p = model.landmark(level, "sap_tp_groove", side)
        saps = model.structures(levels=[level], kinds=["sap"], sides=[side])
        tp = model.structure(f"{level}.tp.{side}").solid
        assert len(saps) == 2  # the articular part and its neck
        d_sap = min(float(distance_to_solid(s.solid, p[None])[0]) for s in saps)
        d_tp = float(distance_to_solid(tp, p[None])[0])
        assert 0.8 <= d_sap <= 3.0, (level, side, d_sap)
        assert 0.8 <= d_tp <= 3.0, (level, side, d_tp)
        o, r = model.vertebra_frame(level)
        q = (p - o) @ r
        tp_top = (tp.surface_points() - o) @ r
        assert q[2] > tp_top[:, 2].max() - 1.0  # on top of the TP, not beside it
        # lateral of the SAP's neck
        neck = model.structure(f"{level}.sap_neck.{side}").solid
        lateral = 1.0 if side == "left" else -1.0
        assert (q[0] - ((neck.center - o) @ r)[0]) * lateral > 3.0
        assert _open_along_the_nerve(model, p, _nerve_back(model, level, side)), (level, side)


def test_l5_dorsal_ramus_groove_between_ala_and_s1_sap(model):
    for side in ("left", "right"):
        p = model.landmark("S1", "sacral_ala_groove", side)
        saps = model.structures(levels=["S1"], kinds=["sap"], sides=[side])
        d_sap = min(float(distance_to_solid(s.solid, p[None])[0]) for s in saps)
        floor = [model.structure(f"S1.ala.{side}").solid, model.structure(f"S1.pedicle.{side}").solid]
        d_floor = min(float(distance_to_solid(s, p[None])[0]) for s in floor)
        assert 0.8 <= d_sap <= 3.0 and 0.8 <= d_floor <= 3.0, (side, d_sap, d_floor)
        assert _open_along_the_nerve(model, p, _nerve_back(model, "S1", side)), side


def test_cervical_safe_triangle_is_off_the_sap(model):
    """clinical.md 3.2: touch the SAP, then step forward into the posterior foramen: the
    whole target region is in the foramen, in front of the SAP, not on it."""
    for space in ("C2-C3", "C3-C4", "C4-C5", "C5-C6", "C6-C7"):
        lower = space.split("-")[1]
        o, r = model.interspace_frame(space)
        for side in ("left", "right"):
            region = model.landmark_region(space, "safe_triangle", side)
            p = region.center
            sap = model.structure(f"{lower}.sap.{side}").solid
            d = float(distance_to_solid(sap, p[None])[0])
            assert d >= region.radii[0] + 0.4, (space, side, d)
            assert ((p - sap.center) @ r)[1] < 0  # in front of the SAP


def test_landmarks_are_mirror_images(model):
    from spine.anatomy import landmarks

    checked = 0
    for name in model.landmark_names():
        if not landmarks.CATALOGUE[name].bilateral:
            continue
        for level in model.landmark_levels(name):
            left = model.landmark(level, name, "left")
            right = model.landmark(level, name, "right")
            assert np.allclose(left * [-1, 1, 1], right, atol=1e-6), (name, level)
            checked += 1
    assert checked > 50


def test_geometry_changes_change_the_cache_key(model):
    """The fluoroscopy anatomy cache is keyed on parameters_hash(): it covers the solids
    themselves, so a change to how the model is built (same parameters) gives a new key."""
    other = SpineModel(SpineParameters())
    assert other.parameters_hash() == model.parameters_hash()
    assert other.geometry_hash() == model.geometry_hash()
    st = other._structures["L5.sap.left"]
    other._structures["L5.sap.left"] = dataclasses.replace(st, solid=st.solid.scaled(0.9))
    other._hash = None
    assert other.parameters_hash() != model.parameters_hash()
