"""Simulated fluoroscopy on the real spine model: classic views, last-frame controls, contrast.

Control images (tests/control_data/fluoro/*.npz) are 128^2 noise-free frames; a missing one
is a failure. Regenerate them after an intended change with
``.venv/bin/pytest tests/test_fluoro_model.py --update-controls`` and review them before committing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("spine.anatomy.model")

from spine.imaging import CArmPose, FluoroImager, Needle  # noqa: E402
from spine.imaging.anchors import default_model  # noqa: E402
from spine.imaging.contrast import PATTERNS, contrast_pattern  # noqa: E402
from spine.imaging.still import render_still  # noqa: E402

CONTROL = Path(__file__).parent / "control_data" / "fluoro"


@pytest.fixture(scope="module")
def model():
    return default_model()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("fluoro_cache")


VIEWS = {
    "ap": lambda m: CArmPose.ap("L4-L5", model=m),
    "lateral": lambda m: CArmPose.lateral("L4-L5", model=m),
    "oblique": lambda m: CArmPose.oblique("L4-L5", 30, "right", model=m),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_last_frame_matches_control(model, cache, view, update_controls):
    imager = FluoroImager(model, VIEWS[view](model), 128, cache_dir=cache)
    frame = imager.frame(noise=False)
    path = CONTROL / f"{view}_L4-L5.npz"
    if update_controls:
        CONTROL.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, frame=(frame * 255 + 0.5).astype(np.uint8))
    assert path.exists(), f"no control image {path.name}: run pytest with --update-controls, review, commit"
    expected = np.load(path)["frame"].astype(np.float32) / 255
    diff = np.abs(frame - expected)
    assert diff.mean() < 2 / 255, f"mean difference {diff.mean() * 255:.2f}/255"
    assert np.quantile(diff, 0.99) < 12 / 255


def _inside_hull(points2d, hull_points) -> bool:
    from scipy.spatial import Delaunay

    return bool(np.all(Delaunay(hull_points).find_simplex(points2d) >= 0))


def _body(model, vertebra):
    bodies = [s for s in model.structures(levels=[vertebra], kinds=["body"])]
    assert bodies, f"no body for {vertebra}"
    return bodies[0]


@pytest.mark.parametrize("deg", [25, 30, 35])
def test_scotty_dog_eye_inside_the_body_on_the_ipsilateral_oblique(model, deg):
    """Lumbar oblique ~25-35 deg: the pedicle (the dog's eye) projects inside the body outline,
    well away from its lateral edge, where it sits on AP."""
    ap = CArmPose.ap("L4", model=model)
    ob = CArmPose.oblique("L4", deg, "right", model=model)
    body = _body(model, "L4").solid.surface_points(24)
    ped = np.asarray(model.landmark("L4", "pedicle", "right"), float)
    for pose, want_inside_frac in ((ob, 0.55),):
        uv_body = pose.project(body, 512)
        uv_ped = pose.project(ped, 512)[0]
        assert _inside_hull(uv_ped[None], uv_body)
        lo, hi = uv_body[:, 0].min(), uv_body[:, 0].max()
        centre = (lo + hi) / 2
        # well inside: within the middle part of the body's width
        assert abs(uv_ped[0] - centre) < want_inside_frac * (hi - lo) / 2
    # on AP the pedicle is near the lateral edge of the body
    uv_body = ap.project(body, 512)
    lo, hi = uv_body[:, 0].min(), uv_body[:, 0].max()
    assert abs(ap.project(ped, 512)[0, 0] - (lo + hi) / 2) > 0.5 * (hi - lo) / 2
    # and on the image the eye is a dense ring: the pedicle's cortex, seen end-on, holds more
    # bone than its cancellous centre (a solid blob, densest in the middle, fails this); only the
    # levels that overlap the eye are traced (the same ring as the whole model's, 0.5-2 s less CPU)
    near = model.structures(levels=["L3", "L4", "L5", "L3-L4", "L4-L5"])
    imager = FluoroImager(near, ob, 256, cache_dir=False)
    li = imager.anatomy
    c, r = np.round(imager.project(ped)[0]).astype(int)
    yy, xx = np.mgrid[-8:9, -8:9]
    ring = (yy**2 + xx**2 >= 3**2) & (yy**2 + xx**2 <= 8**2)
    rim = li[r - 8 : r + 9, c - 8 : c + 9][ring]
    assert np.percentile(rim, 90) > li[r, c] + 0.1


def test_bead_at_a_model_landmark_projects_to_its_pixel(model):
    from spine.imaging.projector import Projector
    from spine.imaging.synthetic import steel_bead

    point = np.asarray(model.landmark("L4-L5", "safe_triangle", "right"), float)
    for pose in VIEWS.values():
        p = pose(model)
        layer = Projector(p, 512).line_integral([steel_bead(point, 1.0)])
        rows, cols = np.nonzero(layer)
        w = layer[rows, cols]
        got = np.array([np.average(cols, weights=w), np.average(rows, weights=w)])
        assert np.linalg.norm(got - p.project(point, 512)[0]) < 2.0


@pytest.mark.parametrize(
    "name",
    [
        "epidurogram",
        "transforaminal",
        "caudal",
        "nucleogram",
        "fissured_disc",
        "vascular",
        "facet_arthrogram",
        "si_arthrogram",
    ],
)
def test_contrast_grows_with_progress_and_darkens_the_image(model, cache, name):
    level = {"caudal": "L5-S1", "si_arthrogram": "L5-S1"}.get(name, "L4-L5")
    pattern = contrast_pattern(name, model, level, "right")
    assert pattern.at(0.0) == [] or len(pattern.at(0.0)) <= 1
    volumes = []
    for p in (0.2, 0.5, 1.0):
        pieces = pattern.at(p)
        lo_hi = [s.solid.bounding_box() for s in pieces]
        volumes.append(sum(float(np.prod(hi - lo)) for lo, hi in lo_hi))
    assert volumes[0] < volumes[1] <= volumes[2] + 1e-9
    pose = CArmPose.ap(level, model=model)
    imager = FluoroImager(model, pose, 128, cache_dir=cache)
    layer = imager.contrast_layer(pattern.at(0.5), pattern.density(0.5))
    assert layer is not None and layer.max() > 0.3  # iodine is dense
    if name == "vascular":
        assert pattern.density(1.0) < 0.1 < pattern.density(0.3)  # washes out
    else:
        assert pattern.density(1.0) == 1.0


def test_epidurogram_spreads_more_up_than_down_and_mostly_one_side(model):
    pattern = contrast_pattern("epidurogram", model, "L4-L5", "right")
    tip = np.asarray(pattern.origin)
    centres = np.array([s.solid.center for s in pattern.at(1.0)])
    up = centres[:, 2].max() - tip[2]
    down = tip[2] - centres[:, 2].min()
    assert up > down * 1.15
    _, r = model.vertebra_frame("L4")
    x = (centres - tip) @ r[:, 0]
    assert np.mean(x < 0) > 0.65  # most on the patient's right (x = left)


def test_render_still_writes_png(model, cache, tmp_path):
    from PIL import Image

    out = render_still(
        "L4-L5",
        "oblique",
        oblique_deg=30,
        size=96,
        out=tmp_path / "s.png",
        cache_dir=cache,
        needle=Needle.from_gauge(*_needle_line(model), 22),
    )
    img = np.asarray(Image.open(out))
    assert img.shape == (96, 96) and img[0, 0] < 20 and img[48, 48] > 20
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="oblique"):
        render_still("L4-L5", "ap", oblique_deg=30, size=64, out=tmp_path / "x.png", cache_dir=cache)


def _needle_line(model):
    tip = np.asarray(model.landmark("L4-L5", "safe_triangle", "right"), float)
    return tip + np.array([-40.0, 75.0, 20.0]), tip


def test_all_patterns_are_listed():
    assert {
        "epidurogram",
        "transforaminal",
        "caudal",
        "facet_arthrogram",
        "si_arthrogram",
        "nucleogram",
        "fissured_disc",
        "vascular",
    } <= set(PATTERNS)


def test_vascular_streaks_start_at_the_needle_tip(model):
    """The vessel warning shows the dye leaving from where the needle is: at an interlaminar
    tip (midline, behind the canal) the first streak starts there, not at the foramen."""
    from spine.procedures.planner import plan_needle

    plan = plan_needle("interlaminar-esi", "L4-L5", "right")
    pattern = contrast_pattern("vascular", model, plan.level, "right", tip=plan.tip)
    assert np.allclose(pattern.origin, plan.tip)
    first = pattern.pieces[0]
    assert np.allclose(first.a, plan.tip) and first.start == 0.0
    foramen = contrast_pattern("vascular", model, "L4-L5", "right")  # no tip: the transforaminal default
    assert np.linalg.norm(np.asarray(foramen.origin) - np.asarray(plan.tip)) > 10.0


def test_cement_fills_the_body_and_stays_out_of_its_back_quarter(model):
    """Vertebroplasty cement: inside the vertebral body, from the needle tip, crossing the
    midline, never in the back quarter of the body, near the canal (clinical.md 3.9)."""
    from spine.procedures.planner import plan_needle

    plan = plan_needle("vertebroplasty", "L1", "right")
    pattern = contrast_pattern("cement", model, "L1", "right", tip=plan.tip)
    assert np.allclose(pattern.origin, plan.tip)
    body = next(s for s in model.structures(levels=["L1"]) if s.kind == "body")
    _, rot = model.vertebra_frame("L1")
    post = np.asarray(rot, float)[:, 1]
    back_quarter = float(np.dot(body.solid.center, post)) + body.solid.radii[1] * 0.5
    surface = np.vstack([s.solid.surface_points(12) for s in pattern.at(1.0)])
    # within the body (its rounded edge aside; the cement's ellipsoid is sized from the body's
    # nominal radii, and the body now narrows at its waist and rounds at its rims)
    assert body.solid.contains(surface).mean() > 0.95
    assert (surface @ post).max() < back_quarter
    lateral = surface @ np.asarray(rot, float)[:, 0]
    assert lateral.min() < -5.0 < 5.0 < lateral.max()  # both halves of the body
    assert len(pattern.at(0.2)) < len(pattern.at(1.0))


# -- what a physician reads on the new bone surfaces (512 x 512, noise-free) -------------------
def _grey(imager) -> np.ndarray:
    return imager.frame(noise=False)


def _disc_mean(img, c, r, radius):
    rr, cc = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    m = (rr - r) ** 2 + (cc - c) ** 2 <= radius**2
    return float(img[m].mean())


def _rimmed(img, c, r, half, margin=0.03) -> tuple[bool, tuple]:
    """Along the row through (c, r): darker walls on both sides of a lighter centre."""
    r, c = int(round(r)), int(round(c))
    h = int(round(half))
    row = img[r - 2 : r + 3].mean(axis=0)  # five rows: the trabecular grain averages out
    centre = float(row[c - 2 : c + 3].mean())
    out = int(round(1.6 * h))

    def wall(seg):
        """Darkest point of a window running outward, and whether it is a line: lighter
        again further out (a rim), not just the start of darker bone beyond."""
        k = int(np.argmin(seg[:h]))
        return float(seg[k]), bool(seg[k:out].max() > seg[k] + margin / 2)

    left, left_line = wall(row[c - 3 :: -1][:out])
    right, right_line = wall(row[c + 3 : c + 3 + out])
    ok = left < centre - margin and right < centre - margin and left_line and right_line
    return ok, (left, centre, right, left_line, right_line)


def _pedicle_px(imager, model, level, side):
    """Projected centre (col, row) and projected half-width (px) of a pedicle's isthmus."""
    ped = model.structure(f"{level}.pedicle.{side}").solid
    axis = ped.rotation[:, 2]
    across = np.cross(axis, [0.0, 0.0, 1.0])
    across /= np.linalg.norm(across)
    pts = np.array([ped.center, ped.center + across * ped.radii[0], ped.center + [0, 0, ped.radii[1]]])
    uv = imager.project(pts)
    half = float(min(np.linalg.norm(uv[1] - uv[0]), np.linalg.norm(uv[2] - uv[0])))
    return uv[0], half


@pytest.mark.parametrize("level", ["L3", "L4", "L5"])
def test_oblique_scotty_dog_eye_is_a_rimmed_oval_inside_the_body_with_the_ear_above(model, level):
    pose = CArmPose.oblique(level, 30, "right", model=model)
    imager = FluoroImager(model, pose, 512, cache_dir=False)
    img = _grey(imager)
    (c, r), half = _pedicle_px(imager, model, level, "right")
    ok, values = _rimmed(img, c, r, half)
    assert ok, (level, values)  # monitor polarity: bone is dark
    # inside the body's outline: the ray to that pixel passes through the body
    body = model.structure(f"{level}.body")
    only_body = FluoroImager([body], pose, 512, cache_dir=False)
    assert only_body.anatomy[int(round(r)), int(round(c))] > 0.2
    # the ear (SAP) above the eye
    sap = model.structure(f"{level}.sap.right").solid.center
    assert imager.project(sap)[0, 1] < r - 0.5 * half


def test_lateral_foramen_is_brighter_than_the_pedicles_around_it(model):
    pose = CArmPose.lateral("L4-L5", model=model)
    imager = FluoroImager(model, pose, 512, cache_dir=False)
    img = _grey(imager)
    foramen = model.structure("L4-L5.foramen.left").solid.center
    (fc, fr) = imager.project(foramen)[0]
    hole = _disc_mean(img, fc, fr, 4)
    for level in ("L4", "L5"):
        (c, r), _half = _pedicle_px(imager, model, level, "left")
        assert hole > _disc_mean(img, c, r, 4) + 0.05, (level, hole)


def test_lateral_pedicles_are_as_dense_as_the_bodies(model, cache):
    """On a lateral radiograph the pedicles (both sides overlapping, four cortical walls) are as
    dark as the vertebral bodies, not faint shadows behind them (128 px, no noise)."""
    imager = FluoroImager(model, CArmPose.lateral("L4-L5", model=model), 128, cache_dir=cache)
    img = _grey(imager)
    for level in ("L4", "L5"):
        (c, r), _half = _pedicle_px(imager, model, level, "left")
        (bc, br) = imager.project(model.structure(f"{level}.body").solid.center)[0]
        assert _disc_mean(img, c, r, 1.5) <= _disc_mean(img, bc, br, 3) + 0.01, level


@pytest.mark.parametrize("side", ["left", "right"])
def test_ap_pedicles_are_rimmed_ovals(model, side):
    pose = CArmPose.ap("L4", model=model)
    imager = FluoroImager(model, pose, 512, cache_dir=False)
    img = _grey(imager)
    (c, r), half = _pedicle_px(imager, model, "L4", side)
    ok, values = _rimmed(img, c, r, half)
    assert ok, values
    # the oval is denser than the body beside it (lateral of the pedicle, same row)
    beside = float(img[int(round(r)), int(round(c + (2.2 * half if side == "right" else -2.2 * half)))])
    assert min(values[:3]) < beside, (values, beside)


def _thin_line_across_body(imager: FluoroImager, model, vertebra: str, k: int = 2) -> float:
    """How far the strongest thin horizontal line across the middle of a body's shadow stands above
    the rows ``k`` px above and below it (line integral; median over the body's central columns)."""
    anatomy = imager.anatomy
    uv = imager.project(_body(model, vertebra).solid.surface_points(24))
    c0, c1 = np.percentile(uv[:, 0], [35, 65]).astype(int)
    rows = np.arange(int(uv[:, 1].min()) - 2, int(uv[:, 1].max()) + 3)
    band = anatomy[:, c0 : c1 + 1]
    excess = band[rows] - np.maximum(band[rows - k], band[rows + k])
    return float(np.median(excess, axis=1).max())


@pytest.mark.parametrize("view", ["ap", "oblique"])
def test_no_black_line_where_a_level_beam_grazes_an_endplate(model, cache, view):
    """The L4-L5 AP and oblique have a level beam (no tilt) at the L4 inferior endplate: flat
    endplates put a ~30 mm chord of cortex into a 1 mm band of rows, a razor-thin black line across
    the body (1.2 in line integral at 256 px). Real endplates are dished (about 1.5 mm at a disc's
    cranial endplate, 0.7 mm at its caudal one) and the line is only the rim's (under 0.7)."""
    imager = FluoroImager(model, VIEWS[view](model), 256, cache_dir=cache)
    assert _thin_line_across_body(imager, model, "L4") < 0.9
