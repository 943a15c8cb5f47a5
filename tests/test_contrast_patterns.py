"""Each contrast pattern lands where the anatomy says it belongs, on 512 x 512 fluoroscopy.

The dye is read from the contrast layer alone (``FluoroImager.contrast_layer``: the iodine's
line integral, nothing of the bone), and compared with the model's landmarks projected by the
same pose: the facet arthrogram's recesses above and below the joint line, the root sleeve
running caudolaterally from the needle tip, the selective block staying on its root, the
interlaminar cloud on the requested side of the midline, the caudal chimney above the hiatus
and its branches, the nucleogram inside the nucleus and the fissure reaching the annulus's
edge, the vascular streaks darker than the root sleeve and gone after the washout, the medial
branch block's drop on its target.
"""

from __future__ import annotations

import numpy as np
import pytest

from spine.imaging import CArmPose, FluoroImager
from spine.imaging.contrast import contrast_pattern

SIZE = 512
SIDES = ("left", "right")


@pytest.fixture(scope="module")
def model():
    from spine.anatomy.model import SpineModel

    return SpineModel.default()


def imager(model, pose) -> FluoroImager:
    return FluoroImager(model, pose, SIZE, cache_dir=False)


def dye(im: FluoroImager, pattern, progress: float = 1.0) -> np.ndarray:
    layer = im.contrast_layer(pattern.at(progress), pattern.density(progress))
    return np.zeros((SIZE, SIZE), np.float32) if layer is None else layer


def mask_of(layer: np.ndarray, floor: float = 0.05) -> np.ndarray:
    return layer > floor


def px_per_mm(im: FluoroImager) -> float:
    """Image pixels per mm at the isocentre."""
    iso = np.asarray(im.pose.isocentre)
    a, b = im.project(np.array([iso, iso + np.asarray(im.pose.rotation_matrix)[:, 0] * 10.0]))
    return float(np.linalg.norm(b - a)) / 10.0


def at(im: FluoroImager, point) -> np.ndarray:
    return im.project(np.atleast_2d(np.asarray(point, float)))[0]


def pixels(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    return np.column_stack([cols, rows]).astype(float)


def lateral_sign(im, model, level_vertebra: str, side: str) -> float:
    """+1 if the patient's ``side`` lies toward higher image columns on this pose."""
    o = model.vertebra_frame(level_vertebra)[0]
    return float(np.sign(at(im, model.landmark(level_vertebra, "pedicle", side))[0] - at(im, o)[0]))


# -- facet arthrogram ---------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("view", ["ap", "oblique"])
def test_facet_arthrogram_fills_both_recesses_along_the_joint_line_not_over_the_pedicle(model, side, view):
    pose = CArmPose.ap("L4-L5", model=model) if view == "ap" else CArmPose.oblique("L4-L5", 30, side, model=model)
    im = imager(model, pose)
    k = px_per_mm(im)
    layer = dye(im, contrast_pattern("facet_arthrogram", model, "L4-L5", side))
    pts = pixels(mask_of(layer))
    assert len(pts), "no dye"
    joint = at(im, model.landmark("L4-L5", "facet_joint", side))
    upper = at(im, model.landmark("L4-L5", "facet_superior_recess", side))
    lower = at(im, model.landmark("L4-L5", "facet_inferior_recess", side))
    # a pouch above the joint's centre (at the superior recess) and one below (the inferior)
    above = pts[pts[:, 1] < joint[1] - 3 * k]
    below = pts[pts[:, 1] > joint[1] + 3 * k]
    assert len(above) and len(below), "dye on one side of the joint line only"
    assert np.min(np.linalg.norm(above - upper, axis=1)) < 3 * k, "no dye at the superior recess"
    assert np.min(np.linalg.norm(below - lower, axis=1)) < 3 * k, "no dye at the inferior recess"
    assert above[:, 1].min() < upper[1] and below[:, 1].max() > lower[1], (
        "the recesses do not bulge past the joint's ends"
    )
    # thin, along the joint line: every dye pixel within 5 mm of the projected line through the
    # recesses, and no farther than a recess's depth (10 mm) beyond either end
    ab = lower - upper
    along = (pts - upper) @ ab / np.linalg.norm(ab)
    off = np.abs((pts - upper) @ np.array([-ab[1], ab[0]]) / np.linalg.norm(ab))
    assert off.max() < 5 * k, f"dye {off.max() / k:.1f} mm off the joint line"
    assert along.min() > -10 * k and along.max() < np.linalg.norm(ab) + 10 * k
    # not the failure sign: nothing over the pedicle
    pedicle = at(im, model.landmark("L4", "pedicle", side)).round().astype(int)
    patch = layer[pedicle[1] - 2 : pedicle[1] + 3, pedicle[0] - 2 : pedicle[0] + 3]
    assert patch.max() < 0.05, "dye over the pedicle"
    if view == "ap":  # the pouches are wider than the cleft between them

        def width(row):
            return int(mask_of(layer)[round(row)].sum())

        assert max(width(upper[1] - 2 * k), width(lower[1] + 2 * k)) > 1.3 * width(joint[1])


# -- root sleeve and the selective block ----------------------------------------------------------


def _sleeve_geometry(im, model, side, pts, tip):
    lat = lateral_sign(im, model, "L4", side)
    rel = pts - tip
    return lat, rel


@pytest.mark.parametrize("side", SIDES)
def test_root_sleeve_runs_caudolaterally_from_the_tip_and_flows_medially_under_the_pedicle(model, side):
    im = imager(model, CArmPose.ap("L4-L5", model=model))
    k = px_per_mm(im)
    tip3 = model.landmark("L4-L5", "safe_triangle", side)
    layer = dye(im, contrast_pattern("transforaminal", model, "L4-L5", side, tip=tip3))
    pts = pixels(mask_of(layer))
    tip = at(im, tip3)
    lat, rel = _sleeve_geometry(im, model, side, pts, tip)
    # the sleeve: dye reaching 20+ mm from the tip, down and out
    out = rel[(rel[:, 0] * lat > 3 * k)]
    far = out[np.argmax(np.linalg.norm(out, axis=1))]
    assert np.linalg.norm(far) > 20 * k, f"sleeve only {np.linalg.norm(far) / k:.0f} mm long"
    assert far[1] > 8 * k and far[0] * lat > 8 * k, "the sleeve does not run caudolaterally"
    # it curves: its centre line (the mean of the dye at each distance from the tip) bows away
    # from the straight chord between its ends, and turns more steeply down at its far end
    d = np.linalg.norm(out, axis=1)
    line = np.array(
        [
            out[(d >= a) & (d < a + 2 * k)].mean(axis=0)
            for a in np.arange(8 * k, d.max() - 2 * k, 2 * k)
            if np.any((d >= a) & (d < a + 2 * k))
        ]
    )
    chord = line[-1] - line[0]
    bow = np.abs((line - line[0]) @ np.array([-chord[1], chord[0]]) / np.linalg.norm(chord))
    assert bow.max() > 1.5 * k, f"a straight sleeve (bows {bow.max() / k:.1f} mm)"
    first, last = line[len(line) // 3] - line[0], line[-1] - line[2 * len(line) // 3]
    assert last[1] / abs(last[0]) > first[1] / abs(first[0]), "the sleeve does not turn down"
    # medial flow: dye medial to the pedicle, around the level of its underside
    ped = at(im, model.landmark("L4", "pedicle", side))
    under = at(im, model.landmark("L4-L5", "pedicle_6_oclock", side))
    medial = rel[((pts[:, 0] - ped[0]) * lat < -3 * k) & (np.abs(pts[:, 1] - under[1]) < 12 * k)]
    assert len(medial) > 20 * k, "no medial flow under the pedicle"


@pytest.mark.parametrize("side", SIDES)
def test_selective_root_block_outlines_one_root_outside_the_foramen_and_nothing_epidural(model, side):
    from spine.procedures.planner import plan_needle

    plan = plan_needle("selective-nerve-root-block", "L4-L5", side)
    im = imager(model, CArmPose.ap("L4-L5", model=model))
    k = px_per_mm(im)
    pattern = contrast_pattern("selective_root", model, "L4-L5", side, tip=plan.tip)
    layer = dye(im, pattern)
    pts = pixels(mask_of(layer))
    assert len(pts), "no dye"
    lat = lateral_sign(im, model, "L4", side)
    ped = at(im, model.landmark("L4", "pedicle", side))
    # nothing medial to the pedicle: no spread into the epidural space
    assert ((pts[:, 0] - ped[0]) * lat).min() > -1 * k, "dye medial to the pedicle (epidural spread)"
    start = at(im, pattern.origin)
    rel = pts - start
    far = rel[np.argmax(np.linalg.norm(rel, axis=1))]
    assert np.linalg.norm(far) > 15 * k and far[1] > 5 * k and far[0] * lat > 5 * k, "not along the root, down and out"
    # compare: the transforaminal pattern at the same level does spread medially
    spread = pixels(mask_of(dye(im, contrast_pattern("transforaminal", model, "L4-L5", side))))
    assert ((spread[:, 0] - ped[0]) * lat).min() < -5 * k


# -- interlaminar epidurogram ----------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_epidural_cloud_lies_on_the_requested_side_beside_the_spinous_processes(model, side):
    im = imager(model, CArmPose.ap("L4-L5", model=model))
    k = px_per_mm(im)
    layer = dye(im, contrast_pattern("epidurogram", model, "L4-L5", side))
    rows, cols = np.nonzero(layer > 0.05)
    w = layer[rows, cols]
    midline = at(im, model.landmark("L4-L5", "epidural_space"))[0]
    lat = lateral_sign(im, model, "L4", side)
    x = (cols - midline) * lat
    assert w[x > 0].sum() > 0.85 * w.sum(), "the cloud is not on the requested side"
    assert w[x > 4 * k].sum() > 0.6 * w.sum(), "the cloud hides behind the spinous processes"
    # over about a level: more up than down from the interspace, reaching the upper pedicles
    centre_row = at(im, model.landmark("L4-L5", "epidural_space"))[1]
    up, down = centre_row - rows.min(), rows.max() - centre_row
    assert up > down > 5 * k
    assert rows.min() < at(im, model.landmark("L4", "pedicle", side))[1]


def test_epidural_cloud_is_a_thin_dorsal_stripe_on_the_lateral(model):
    im = imager(model, CArmPose.lateral("L4-L5", model=model))
    k = px_per_mm(im)
    layer = dye(im, contrast_pattern("epidurogram", model, "L4-L5", "right"))
    rows, cols = np.nonzero(layer > 0.05)
    stripe = at(im, model.landmark("L4-L5", "epidural_space"))
    body = at(im, model.level_centre("L4-L5"))
    near = np.abs(rows - stripe[1]) < 5 * k
    # most of the dye (by mass; the short root sleeves reach forward toward the foramina)
    order = np.argsort(cols[near])
    mass = np.cumsum(layer[rows[near], cols[near]][order])
    lo, hi = (cols[near][order][np.searchsorted(mass, q * mass[-1])] for q in (0.1, 0.9))
    assert hi - lo < 9 * k, f"stripe {(hi - lo) / k:.1f} mm thick"
    # dorsal: on the far side of the epidural landmark from the bodies, never over them
    assert abs((lo + hi) / 2 - stripe[0]) < 4 * k
    assert np.all(np.sign(cols - body[0]) == np.sign(stripe[0] - body[0]))
    assert rows.max() - rows.min() > 30 * k  # about a level and a half tall


# -- caudal ----------------------------------------------------------------------------------------


def test_caudal_chimney_rises_above_the_hiatus_into_the_lumbar_epidural_space(model):
    hiatus3 = model.landmark("S4", "sacral_hiatus")
    top3 = model.landmark("L5-S1", "epidural_space")
    im = imager(model, CArmPose.lateral("S2", model=model, isocentre=(hiatus3 + top3) / 2))
    k = px_per_mm(im)
    layer = dye(im, contrast_pattern("caudal", model, "S4-S5", None))
    pts = pixels(mask_of(layer))
    hiatus, top = at(im, hiatus3), at(im, top3)
    assert pts[:, 1].min() < top[1], "the column does not reach L5-S1"
    assert np.min(np.linalg.norm(pts - top, axis=1)) < 4 * k
    assert np.min(np.linalg.norm(pts - hiatus, axis=1)) < 4 * k
    assert (pts[:, 1] < hiatus[1] + 3 * k).mean() > 0.9, "dye below the hiatus"


def test_caudal_christmas_tree_branches_along_the_sacral_roots_on_both_sides(model):
    centre3 = model.vertebra_frame("S2")[0]
    im = imager(model, CArmPose.ap("S2", model=model, isocentre=centre3))
    k = px_per_mm(im)
    layer = dye(im, contrast_pattern("caudal", model, "S4-S5", None))
    mask = mask_of(layer)
    midline = at(im, centre3)[0]
    for seg in ("S1", "S2", "S3"):
        for side in SIDES:
            foramen = at(im, model.landmark(seg, "posterior_sacral_foramen", side))
            rows = slice(int(foramen[1] - 8 * k), int(foramen[1] + 8 * k))
            cols = np.nonzero(mask[rows].any(axis=0))[0]
            reach = np.abs(cols - midline)[np.sign(cols - midline) == np.sign(foramen[0] - midline)]
            assert len(reach) and reach.max() > abs(foramen[0] - midline), f"no branch out through {seg} {side}"
    # the trunk: dye along the midline from S3 up to S1
    for seg in ("S1", "S2", "S3"):
        row = round(at(im, model.vertebra_frame(seg)[0])[1])
        assert mask[row, int(midline - 3 * k) : int(midline + 3 * k)].any(), f"no column at {seg}"


# -- discography --------------------------------------------------------------------------------------


def _annulus_edge(model, level, direction, across=None) -> np.ndarray:
    """The outer annulus along ``direction`` from the nucleus centre (the model's own solid);
    with ``across`` (a direction the projection collapses), the farthest such edge from lines
    beside the centre along it: a lateral view shows the disc's back edge where its
    posterolateral corners reach, behind the midline of a kidney-shaped disc."""
    centre = model.landmark(level, "nucleus_centre")
    annulus = model.structure(f"disc.{level}.annulus").solid
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    ts = np.arange(0, 60, 0.25)
    best = None
    for off in np.arange(-15.0, 15.1, 2.5) if across is not None else (0.0,):
        start = centre + (np.asarray(across, float) * off if across is not None else 0.0)
        inside = np.nonzero(annulus.contains(start + ts[:, None] * d))[0]
        if len(inside) and (best is None or ts[inside.max()] > best[0]):
            best = (ts[inside.max()], start)
    return best[1] + d * best[0] - (best[1] - centre)


@pytest.mark.parametrize("view", ["ap", "lateral"])
def test_nucleogram_is_compact_and_the_fissure_reaches_the_outer_annulus(model, view):
    level, side = "L4-L5", "right"
    pose = CArmPose.ap(level, model=model) if view == "ap" else CArmPose.lateral(level, model=model)
    im = imager(model, pose)
    px_per_mm(im)
    _, r = model.interspace_frame(level)
    centre3 = model.landmark(level, "nucleus_centre")
    sgn = 1.0 if side == "left" else -1.0
    # AP: toward the painful side; lateral: toward the back
    outward = r[:, 0] * sgn if view == "ap" else r[:, 1]
    centre = at(im, centre3)
    edge = at(im, _annulus_edge(model, level, outward, None if view == "ap" else r[:, 0]))
    axis = (edge - centre) / np.linalg.norm(edge - centre)
    span = float(np.linalg.norm(edge - centre))

    def reach(pattern):
        pts = pixels(mask_of(dye(im, pattern), 0.1))
        return float(((pts - centre) @ axis).max()) / span

    normal = reach(contrast_pattern("nucleogram", model, level, side))
    fissured = reach(contrast_pattern("fissured_disc", model, level, side))
    assert normal < 0.6, f"the nucleogram spreads {normal:.2f} of the way to the annulus"
    assert fissured > 0.88, f"the fissure stops {fissured:.2f} of the way to the outer annulus"
    assert fissured < 1.1  # and not beyond the disc


# -- vascular ----------------------------------------------------------------------------------------


def test_vascular_streaks_are_darker_than_the_root_sleeve_branch_and_wash_out(model):
    im = imager(model, CArmPose.ap("L4-L5", model=model))
    k = px_per_mm(im)
    tip3 = model.landmark("L4-L5", "safe_triangle", "right")
    vessel = contrast_pattern("vascular", model, "L4-L5", "right", tip=tip3)
    sleeve = dye(im, contrast_pattern("transforaminal", model, "L4-L5", "right", tip=tip3))
    peak = dye(im, vessel, 0.28)
    assert np.percentile(peak[peak > 0.05], 90) > np.percentile(sleeve[sleeve > 0.05], 90), (
        "streaks paler than the sleeve"
    )
    # fast: most of the tree is there early
    assert mask_of(dye(im, vessel, 0.15)).sum() > 0.6 * mask_of(peak).sum()
    # branching: a circle 12 mm round the tip crosses three or more separate streaks
    tip = at(im, tip3)
    ang = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    ring = np.column_stack([tip[0] + 12 * k * np.cos(ang), tip[1] + 12 * k * np.sin(ang)]).round().astype(int)
    hit = mask_of(peak)[ring[:, 1], ring[:, 0]]
    crossings = int(np.sum(hit & ~np.roll(hit, 1)))
    assert crossings >= 3, f"{crossings} streaks cross the ring"
    # washed out a few frames later
    gone = dye(im, vessel, 1.0)
    assert gone.max() < 0.02 * peak.max()


# -- medial branch block -------------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_medial_branch_block_shows_a_visible_drop_on_each_target(model, side):
    from spine.procedures.planner import plan_needle

    plan = plan_needle("medial-branch-block", "L4-L5", side)
    im = imager(model, CArmPose.ap("L4-L5", model=model))
    k = px_per_mm(im)
    tips = np.array([n.tip for n in plan.needles])
    layer = dye(im, contrast_pattern("target_spot", model, "L4-L5", side, tip=tips))
    from scipy import ndimage

    labels, count = ndimage.label(mask_of(layer))
    assert count == len(tips), f"{count} blots for {len(tips)} needles"
    for n in plan.needles:
        target = at(im, model.landmark(n.target_level, n.target, side))
        blob = labels == labels[round(target[1]), round(target[0])]
        assert labels[round(target[1]), round(target[0])] > 0, f"no dye on {n.label}'s target"
        rows, cols = np.nonzero(blob)
        assert max(np.ptp(rows), np.ptp(cols)) < 14 * k, "more than a small drop"
        assert layer[blob].max() > 0.4, "too faint to see"


def test_thoracic_root_sleeve_runs_out_under_the_rib_not_down_like_a_lumbar_one(model):
    """The thoracic root (the intercostal nerve) runs laterally under its rib; a lumbar root
    turns down toward the plexus. The sleeve's far end shows the difference on AP."""

    def far_end(level):
        im = imager(model, CArmPose.ap(level, model=model))
        tip3 = model.landmark(level, "safe_triangle", "right")
        pts = pixels(mask_of(dye(im, contrast_pattern("transforaminal", model, level, "right", tip=tip3))))
        lat = lateral_sign(im, model, level.split("-")[0], "right")
        rel = pts - at(im, tip3)
        out = rel[rel[:, 0] * lat > 0]
        far = out[np.argmax(out[:, 0] * lat)]
        return far[0] * lat, far[1]

    across, down = far_end("T7-T8")
    assert across > 2.0 * down, "the thoracic sleeve runs down, not out along the rib"
    across, down = far_end("L4-L5")
    assert down > 0.8 * across, "the lumbar sleeve does not turn down"
