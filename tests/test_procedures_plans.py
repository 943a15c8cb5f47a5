"""Needle plans: every procedure at every allowed level and side validates against the model,
the geometry holds up when checked independently, and the validator catches bad plans."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from spine.anatomy.solids import Box, Capsule, Cylinder, Ellipsoid, rotation_xyz
from spine.procedures.catalog import load_procedures
from spine.procedures.planner import get_model, plan_needle
from spine.procedures.validator import (
    depth_inside,
    distance_to_solid,
    segment_clearance,
    thoracic_hazards,
    validate,
)
from tests.conftest import run_cli


def _combos():
    out = []
    for name, proc in load_procedures().items():
        for level in proc.allowed_levels:
            for side in ("left", "right") if proc.sided else (None,):
                out.append(pytest.param(name, level, side, id=f"{name}-{level}-{side or 'midline'}"))
    return out


NEURAL = ("dural_sac", "cord", "conus")


@pytest.mark.parametrize("name, level, side", _combos())
def test_plan_validates(name, level, side):
    plan = plan_needle(name, level, side)
    assert plan.passed and plan.checks
    model = get_model()
    names = {c.name for c in plan.checks}
    assert any("clear of dural sac" in n for n in names)
    assert any("no bone in the way" in n for n in names)
    neural = model.structures(kinds=NEURAL)
    for needle in plan.needles:
        # independent of the validator: no stop of the needle enters the dura or the cord
        for p0, p1 in needle.segments():
            for st in neural:
                assert not st.solid.segment_intersects(p0, p1), (st.name, needle.label)
        assert needle.waypoints[0].kind == "skin"
        assert np.allclose(needle.waypoints[0].point, needle.entry)
        # the stops go deeper: each is nearer the tip than the skin is
        far = np.linalg.norm(needle.entry - needle.tip)
        for w in needle.waypoints[1:]:
            if w.kind != "lead_tip":  # the SCS lead goes on up the canal from the needle tip
                assert np.linalg.norm(w.point - needle.tip) <= far + 1e-6
        assert 5.0 < needle.length() <= plan.needle_length_mm
    # every check names a measured value
    assert all(np.isfinite(c.value) for c in plan.checks)
    # independent of the planner's lists: no thoracic needle passes through a rib or into the
    # pleura in front of it (pneumothorax)
    for needle in plan.needles:
        avoid, ribs = thoracic_hazards(model, needle.segments())
        for nm in set(ribs) | {b for b in needle.bones if b.endswith((".rib.left", ".rib.right"))}:
            rib = model.structure(nm).solid
            assert all(rib.segment_inside_length(p0, p1) <= 0.3 for p0, p1 in needle.segments()), nm
        for nm in set(avoid) | {a for a in needle.avoid if ".pleura." in a}:
            zone = model.structure(nm).solid
            assert not any(zone.segment_intersects(p0, p1) for p0, p1 in needle.segments()), nm


def test_plan_fields_and_json():
    plan = plan_needle("transforaminal-esi", "L4-L5", "right")
    assert plan.root_treated == "L4" and plan.target_landmark == "safe_triangle"
    assert [w.kind for w in plan.waypoints] == ["skin", "bone_contact", "foramen"]
    assert np.allclose(plan.tip, plan.waypoints[-1].point)
    assert 20 <= plan.angles["oblique_deg"] <= 30
    pose = plan.coaxial_pose()
    assert pose.rotation_deg < 0  # right side: detector turned to the right (ipsilateral)
    assert plan.entry[0] < plan.tip[0] and plan.entry[1] > plan.tip[1]  # from right-posterior
    proc = run_cli("plan", "transforaminal-esi", "--level", "L4/5", "--side", "right", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["root_treated"] == "L4" and data["level"] == "L4-L5" and data["passed"]
    assert data["needles"][0]["target"] == "safe_triangle"
    assert all("value" in c and "limit" in c for c in data["checks"])
    text = run_cli("plan", "medial-branch-block", "--level", "L4-L5", "--side", "left")
    assert text.returncode == 0, text.stderr
    assert "L3 medial branch" in text.stdout and "L4 medial branch" in text.stdout and "checks passed" in text.stdout


def test_roots_and_sides():
    assert plan_needle("transforaminal-esi", "C5-C6", "left").root == "C6"
    assert plan_needle("transforaminal-esi", "C7-T1", "left").root == "C8"
    assert plan_needle("transforaminal-esi", "S1", "left").root == "S1"
    disc = plan_needle("discography", "L4-L5", "right")
    assert disc.entry_side == "left" and disc.entry[0] > 0  # painful right, needle from the left
    caudal = plan_needle("caudal-esi", side="left")  # a side is moot for the midline injection
    assert caudal.side is None and abs(caudal.entry[0]) < 1.0
    mbb = plan_needle("medial-branch-block", "L5-S1", "right")
    assert [n.target for n in mbb.needles] == ["sap_tp_groove", "sacral_ala_groove"]
    assert [n.target_level for n in mbb.needles] == ["L5", "S1"]
    scs = plan_needle("spinal-cord-stimulator-trial", "L2-L3", "left")
    assert scs.needles[0].lead and scs.needles[0].target_level == "T8"


@pytest.mark.parametrize("level", ["L4-L5", "L5-S1"])
def test_rfa_cannula_lies_along_the_nerve_at_the_l5_groove(level):
    """The L4 medial branch crosses L5 in the open SAP-TP groove (the L5 dorsal ramus the
    groove between the ala and the S1 SAP): the cannula reaches it parallel to the nerve,
    within the lesion's reach, without passing through bone [clinical.md 3.6]."""
    for side in ("left", "right"):
        plan = plan_needle("radiofrequency-ablation", level, side)
        assert plan.passed
        for needle in plan.needles:
            assert needle.angles["angle_to_nerve_deg"] <= 10.0, (needle.label, needle.angles)
            assert needle.angles["nerve_to_active_tip_mm"] <= 2.0
        # the L4 medial branch's cannula passes no bone at all (it used to need the SAP removed)
        bone = [c for c in plan.checks if c.name == "L4 medial branch: no bone in the way"]
        assert bone and all(c.value <= 0.05 for c in bone)
    proc = run_cli("plan", "radiofrequency-ablation")  # the default level: L4-L5
    assert proc.returncode == 0 and "checks passed" in proc.stdout, proc.stdout[-2000:]
    assert "L4 medial branch" in proc.stdout


# -- the validator catches bad plans --------------------------------------------------------------


def _moved(plan, **changes):
    needle = dataclasses.replace(plan.needles[0], **changes)
    return dataclasses.replace(plan, needles=(needle,) + plan.needles[1:], checks=())


def _failed(plan):
    return {c.name for c in validate(plan) if not c.passed}


def test_validator_catches_a_tip_in_the_dural_sac():
    plan = plan_needle("interlaminar-esi", "L4-L5", "right")
    o, r = get_model().interspace_frame("L4-L5")
    deep = plan.tip - r[:, 1] * 9.0  # 9 mm further anterior: through the dura (dorsal epidural ~5-6 mm)
    failed = _failed(_moved(plan, tip=deep))
    assert "clear of dural sac" in failed and "tip in target (spinolaminar_line)" in failed


def test_validator_catches_a_tip_in_the_root():
    plan = plan_needle("transforaminal-esi", "L4-L5", "left")
    root = get_model().structure("root.L4.left").solid
    a, b = root.endpoints
    failed = _failed(_moved(plan, tip=b))
    assert "clear of L4 root (left)" in failed


def test_validator_catches_a_needle_through_bone_and_too_short():
    plan = plan_needle("facet-joint-injection", "L4-L5", "right")
    body = get_model().structure("L4.body").solid
    failed = _failed(_moved(plan, entry=body.center + np.array([0.0, -60.0, 0.0])))
    assert "no bone in the way" in failed
    far = plan.tip + (plan.entry - plan.tip) * 3.0
    assert "needle reaches the target" in _failed(_moved(plan, entry=far))


def _inside_point(solid, near, step=1.0):
    """The point of a grid over the solid's box that lies inside it, nearest ``near``."""
    lo, hi = solid.bounding_box()
    axes = [np.arange(a, b, step) for a, b in zip(lo, hi)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = grid[solid.contains(grid)]
    return inside[np.argmin(np.linalg.norm(inside - near, axis=1))]


def test_validator_refuses_a_thoracic_needle_through_a_rib_or_into_the_pleura():
    """Whatever the plan lists, a thoracic needle through the rib beside its level, or with its
    tip in front of the rib (in the pleura), fails; the planner's own plan clears both."""
    plan = plan_needle("transforaminal-esi", "T7-T8", "left")
    model = get_model()
    assert {c.name for c in plan.checks} >= {"clear of pleura (left)", "no bone in the way"}
    assert any(b.endswith(".rib.left") for b in plan.needles[0].bones)
    bare = dataclasses.replace(plan.needles[0], avoid=(), bones=())  # the checks add them anyway
    rib = model.structure("T8.rib.left").solid
    q = _inside_point(rib, plan.tip)
    through = _moved(plan, avoid=(), bones=(), entry=plan.tip + (q - plan.tip) * 4.0)
    checks = {c.name: c for c in validate(through)}
    assert not checks["no bone in the way"].passed and "T8.rib.left" in checks["no bone in the way"].detail
    o, r = model.vertebra_frame("T8")
    neck = _inside_point(rib, o + r[:, 0] * 30.0 + r[:, 1] * 15.0)  # the neck, out toward the TP
    front = neck - r[:, 1] * 12.0  # 12 mm in front of the rib's neck: the pleura
    assert model.structure("T8.pleura.left").solid.contains(front[None])[0]
    failed = _failed(dataclasses.replace(plan, needles=(dataclasses.replace(bare, tip=front),), checks=()))
    assert "clear of pleura (left)" in failed


def test_validator_catches_a_medial_breach_before_the_back_wall():
    plan = plan_needle("vertebroplasty", "L2", "right")
    o, r = get_model().vertebra_frame("L2")
    medial_entry = plan.tip + r @ np.array([0.0, 90.0, 0.0])  # straight back: through the canal
    failed = _failed(_moved(plan, entry=medial_entry))
    assert "medial pedicle wall not crossed before the back wall of the body" in failed
    assert "clear of dural sac" in failed


def test_validator_catches_a_caudal_tip_too_high_and_a_perpendicular_cannula():
    plan = plan_needle("caudal-esi")
    s2 = get_model().vertebra_frame("S2")[0]
    assert "tip below S3" in _failed(_moved(plan, tip=s2))
    rfa = plan_needle("radiofrequency-ablation", "L3-L4", "left")
    tip = rfa.needles[0].tip
    o, r = get_model().vertebra_frame(rfa.needles[0].target_level)
    straight_in = tip + r @ np.array([30.0, 40.0, 0.0])  # from behind and the side, across the nerve
    failed = _failed(_moved(rfa, entry=straight_in))
    assert f"{rfa.needles[0].label}: cannula parallel to the nerve" in failed


def test_validator_catches_an_oblique_outside_the_range():
    plan = plan_needle("transforaminal-esi", "L3-L4", "left")
    o, r = get_model().interspace_frame("L3-L4")
    steep = plan.tip + r @ np.array([45.0, 45.0, 0.0])  # 45 deg oblique
    assert "oblique angle" in _failed(_moved(plan, entry=steep))


# -- geometry -------------------------------------------------------------------------------------


def _brute_distance(solid, p, n=120000, seed=3):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    _, t1 = solid.ray_interval(solid.center, d)
    surface = solid.center + t1[:, None] * d
    return float(np.min(np.linalg.norm(surface - p, axis=1)))


@pytest.mark.parametrize(
    "solid",
    [
        Ellipsoid(np.zeros(3), rotation_xyz(20, 35, -10), (8, 3, 12)),
        Cylinder(np.zeros(3), rotation_xyz(-15, 5, 40), (6, 3), 15),
        Box(np.zeros(3), rotation_xyz(10, 20, 30), (4, 6, 9)),
        Capsule.between([0, 0, -10], [2, 3, 10], 2.5),
    ],
    ids=["ellipsoid", "cylinder", "box", "capsule"],
)
def test_distances_match_brute_force(solid):
    rng = np.random.default_rng(7)
    pts = rng.uniform(-25, 25, size=(5, 3))
    pts = pts[~solid.contains(pts)]
    got = distance_to_solid(solid, pts)
    for p, d in zip(pts, got):
        brute = _brute_distance(solid, p)  # sampled surface: an upper bound of the distance
        assert brute - 0.1 <= d <= brute + 0.01
    assert depth_inside(solid, solid.center) > 0
    clearance, where = segment_clearance(solid, np.array([30.0, 0, 0]), np.array([30.0, 0, 30]))
    assert clearance == pytest.approx(
        min(distance_to_solid(solid, np.array([[30.0, 0, z] for z in np.linspace(0, 30, 301)]))), abs=0.05
    )
    inside, _ = segment_clearance(solid, solid.center - 50, solid.center + 50)
    assert inside < 0
