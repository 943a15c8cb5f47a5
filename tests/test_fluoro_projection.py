"""Simulated fluoroscopy: geometry, attenuation, detector -- on synthetic anatomy (fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spine.anatomy.solids import Box, Material, Structure
from spine.imaging import CArmPose, Detector, FluoroImager, Needle, Projector
from spine.imaging.detector import field_mask
from spine.imaging.synthetic import steel_bead, synthetic_spine

ISO = (0.0, 0.0, 0.0)
POSES = [
    CArmPose.ap(isocentre=ISO),
    CArmPose.ap(isocentre=ISO, tilt_deg=20),
    CArmPose.lateral(isocentre=ISO),
    CArmPose.oblique(isocentre=ISO, deg=30, side="right"),
    CArmPose.oblique(isocentre=ISO, deg=55, side="left", tilt_deg=-15),
]


def _centroid(layer: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(layer > 0.02 * layer.max())
    w = layer[rows, cols]
    return np.array([np.sum(cols * w) / w.sum(), np.sum(rows * w) / w.sum()])


@pytest.mark.parametrize("pose", POSES, ids=lambda p: p.describe())
def test_bead_appears_where_the_pose_projects_it(pose):
    point = np.array([14.0, -9.0, 21.0])
    proj = Projector(pose, 512)
    layer = proj.line_integral([steel_bead(point, 1.2)])
    expected = pose.project(point, 512)[0]
    assert np.linalg.norm(_centroid(layer) - expected) < 2.0
    # and on the rendered frame the darkest spot is there too
    imager = FluoroImager(synthetic_spine(), pose, 512, cache_dir=False)
    total = imager.anatomy + layer
    clean = imager.detector.render(total, imager.exposure, seed=None)
    darkening = imager.detector.render(imager.anatomy, imager.exposure, seed=None) - clean
    assert np.linalg.norm(_centroid(np.maximum(darkening, 0)) - expected) <= 2.0
    # with quantum noise the bead is still the darkest spot in its neighbourhood
    noisy = imager.detector.render(total, imager.exposure, seed=1)
    r0, c0 = int(round(expected[1])), int(round(expected[0]))
    spot = noisy[r0 - 1 : r0 + 2, c0 - 1 : c0 + 2].mean()
    ring = np.concatenate(
        [noisy[r0 - 12 : r0 - 8, c0 - 12 : c0 + 12].ravel(), noisy[r0 + 8 : r0 + 12, c0 - 12 : c0 + 12].ravel()]
    )
    assert spot < ring.mean() - 0.1


def test_ap_projection_matches_hand_geometry():
    """Independent of CArmPose.project: magnification sid/(sod + depth), patient's left on image left."""
    pose = CArmPose.ap(isocentre=ISO)
    size, pitch = 512, pose.fov_mm / 512
    x, y, z = 20.0, 30.0, -15.0  # left, posterior (closer to the detector), inferior
    mag = pose.sid_mm / (pose.sod_mm + y)
    col = size / 2 - 0.5 - x * mag / pitch  # patient's left -> image left
    row = size / 2 - 0.5 - z * mag / pitch  # superior -> image up
    layer = Projector(pose, size).line_integral([steel_bead((x, y, z), 1.0)])
    assert np.linalg.norm(_centroid(layer) - [col, row]) < 1.0


def test_imager_project_matches_pose():
    pose = POSES[3]
    imager = FluoroImager(synthetic_spine(), pose, 256, cache_dir=False)
    pts = np.array([[0, 0, 0], [10, 20, 30.0]])
    assert np.allclose(imager.project(pts), pose.project(pts, 256))
    assert imager.project(pts).shape == (2, 2)


def _line_angle(layer: np.ndarray) -> float:
    """Angle (deg) of the principal axis of a layer from the image vertical, clockwise +."""
    rows, cols = np.nonzero(layer > 0.2 * layer.max())
    w = layer[rows, cols]
    cx, cy = np.average(cols, weights=w), np.average(rows, weights=w)
    cov = np.cov(np.stack([cols - cx, rows - cy]), aweights=w)
    vals, vecs = np.linalg.eigh(cov)
    dx, dy = vecs[:, np.argmax(vals)]
    if dy > 0:
        dx, dy = -dx, -dy
    return math.degrees(math.atan2(dx, -dy))


@pytest.mark.parametrize("angle", [0.0, 25.0, -40.0])
def test_needle_on_ap_and_lateral_is_a_line_at_the_expected_angle(angle):
    a = math.radians(angle)
    # AP: a needle in the coronal plane y = 0, tilted toward the patient's left by `angle`.
    p0 = np.array([-30 * math.sin(a), 0.0, -30 * math.cos(a)])
    p1 = -p0
    ap = Projector(CArmPose.ap(isocentre=ISO), 256).line_integral(Needle(p0, p1, 0.9).structures(), supersample=2)
    # patient's left is the image left, so a needle leaning to the left leans counter-clockwise
    assert _line_angle(ap) == pytest.approx(-angle, abs=1.5)
    # Lateral (detector on the patient's left): a needle in the sagittal plane x = 0 whose
    # tip is `angle` toward posterior from vertical appears leaning toward image right.
    q0 = np.array([0.0, -30 * math.sin(a), -30 * math.cos(a)])
    lat = Projector(CArmPose.lateral(isocentre=ISO), 256).line_integral(
        Needle(q0, -q0, 0.9).structures(), supersample=2
    )
    assert _line_angle(lat) == pytest.approx(angle, abs=1.5)


def _slab(thickness, material=Material.CORTICAL_BONE, x=0.0):
    return Structure(
        f"slab{thickness}{material}{x}", "slab", material, Box([x, 0, 0], np.eye(3), [8, thickness / 2, 8])
    )


def test_attenuation_grows_with_path_length_and_density():
    pose = CArmPose.ap(isocentre=ISO)
    proj = Projector(pose, 128)
    c = 63
    values = [proj.line_integral([_slab(t)])[c, c] for t in (2, 5, 10, 20)]
    assert np.all(np.diff(values) > 0)
    assert values[3] == pytest.approx(2 * values[2], rel=0.02)  # linear in length
    dens = [
        proj.line_integral([_slab(10, m)])[c, c]
        for m in (Material.DISC, Material.CANCELLOUS_BONE, Material.CORTICAL_BONE, Material.STEEL)
    ]
    assert np.all(np.diff(dens) > 0)
    # thicker bone is darker on the monitor (default polarity) and brighter when inverted
    thin, thick = _slab(4, x=-20.0), _slab(16, x=20.0)
    imager = FluoroImager([thin, thick], pose, 128, cache_dir=False)
    img = imager.frame(noise=False)
    col_thin, col_thick = imager.project([[-20, 0, 0], [20, 0, 0]])[:, 0].round().astype(int)
    assert img[c, col_thick] < img[c, col_thin] < img[c, c]  # soft tissue only at the centre
    inv = FluoroImager([thin, thick], pose, 128, cache_dir=False, detector=Detector(polarity="inverted"))
    img2 = inv.frame(noise=False)
    assert img2[c, col_thick] > img2[c, col_thin]


def test_shelled_bone_has_a_dense_cortex():
    """A cortical shell makes the edge of a bone darker than its cancellous middle."""
    pose = CArmPose.ap(isocentre=ISO)
    body = synthetic_spine(1)[0]  # elliptic cylinder, half-width 22 mm, 1.5 mm shell
    proj = Projector(pose, 512)
    li = proj.line_integral([body])
    (c_mid, r_mid), (c_edge, _) = proj.project([[0, 0, 0], [22.0, 0, 0]])
    row = li[int(round(r_mid))]
    half = abs(c_edge - c_mid)
    lo, hi = int(round(min(c_mid, c_edge))), int(round(max(c_mid, c_edge)))
    peak = lo + int(np.argmax(row[lo : hi + 1]))
    assert abs(peak - c_mid) > 0.85 * half  # the densest line is at the cortex
    assert row[peak] > 1.05 * row[int(round(c_mid))]


def test_quantum_noise_is_poisson_and_seeded():
    det = Detector()
    flat = np.full((256, 256), 6.0, np.float32)
    exposure = det.expose(flat)
    counts = det.counts(flat, exposure, seed=3)
    region = counts[64:192, 64:192]
    assert region.var() / region.mean() == pytest.approx(1.0, abs=0.05)
    # variance is proportional to the mean: a thinner region has more counts and more variance
    counts2 = det.counts(flat - 1.0, exposure, seed=4)[64:192, 64:192]
    assert counts2.mean() == pytest.approx(math.e * region.mean(), rel=0.02)
    assert counts2.var() / counts2.mean() == pytest.approx(1.0, abs=0.05)
    # same seed, same image; different seed, different image
    imager = FluoroImager(synthetic_spine(), CArmPose.ap(isocentre=ISO), 128, cache_dir=False)
    assert np.array_equal(imager.frame(seed=7), imager.frame(seed=7))
    assert not np.array_equal(imager.frame(seed=7), imager.frame(seed=8))


def test_circular_field_with_dark_surround():
    imager = FluoroImager(synthetic_spine(), CArmPose.ap(isocentre=ISO), 128, cache_dir=False)
    img = imager.frame()
    inside = field_mask(128, imager.detector.field_fraction * 0.97)
    outside = ~field_mask(128, imager.detector.field_fraction * 1.03)
    assert img[outside].max() < 0.08
    assert np.median(img[inside]) > 0.4
    for corner in (img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]):
        assert corner < 0.08
    # vignetting: the centre of a uniform field is brighter than its edge
    det = Detector()
    uniform = np.full((128, 128), 6.0, np.float32)
    flat = det.render(uniform, det.expose(uniform), seed=None)
    assert flat[64, 64] > flat[64, 8] + 0.05


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: CArmPose.ap(isocentre=ISO, tilt_deg=50), "-45..+45"),
        (lambda: CArmPose.ap(isocentre=ISO, tilt_deg=-46), "-45..+45"),
        (lambda: CArmPose("x", ISO, rotation_deg=95), "-90..+90"),
        (lambda: CArmPose.oblique(isocentre=ISO, deg=120, side="left"), "0..90"),
        (lambda: CArmPose.oblique(isocentre=ISO, deg=30, side="up"), "'left' or 'right'"),
        (lambda: CArmPose("x", ISO, sid_mm=500, sod_mm=600), "sod_mm < sid_mm"),
    ],
)
def test_bad_poses_raise_one_line_messages(make, words):
    with pytest.raises(ValueError) as err:
        make()
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_oblique_sign_convention():
    """Positive rotation = detector toward the patient's left; the ipsilateral oblique for a
    right-sided target brings the right pedicle toward the middle of the body."""
    right = CArmPose.oblique(isocentre=ISO, deg=30, side="right")
    assert right.rotation_deg == -30
    assert right.detector_centre[0] < 0  # detector on the patient's right
    assert CArmPose.lateral(isocentre=ISO).detector_centre[0] > 0
    assert CArmPose.ap(isocentre=ISO, tilt_deg=15).beam_direction[2] > 0  # cranial
    ped_r = np.array([-12.0, 20.0, 0.0])
    ap_dx = abs(CArmPose.ap(isocentre=ISO).project(ped_r, 512)[0, 0] - 255.5)
    ob_dx = abs(right.project(ped_r, 512)[0, 0] - 255.5)
    assert ob_dx < ap_dx


def test_anatomy_cache_round_trip(tmp_path):
    pose = CArmPose.oblique(isocentre=ISO, deg=20, side="left")
    first = FluoroImager(synthetic_spine(), pose, 96, cache_dir=tmp_path)
    a = first.anatomy
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    second = FluoroImager(synthetic_spine(), pose, 96, cache_dir=tmp_path)
    second._projector = None  # must not be needed: the anatomy comes from the file
    assert np.array_equal(second.anatomy, a)
    # another pose, size or anatomy -> another key
    keys = {
        first.cache_key,
        FluoroImager(synthetic_spine(), pose, 128, cache_dir=tmp_path).cache_key,
        FluoroImager(synthetic_spine(), pose.with_(tilt_deg=5), 96, cache_dir=tmp_path).cache_key,
        FluoroImager(synthetic_spine(2), pose, 96, cache_dir=tmp_path).cache_key,
        FluoroImager(synthetic_spine(), pose, 96, cache_dir=tmp_path, draft=True).cache_key,
    }
    assert len(keys) == 5


def test_a_draft_image_leaves_out_only_what_fluoroscopy_does_not_show():
    """A turn's in-between image (draft) leaves out the nerve roots, cord and spinal fluid: the
    bones are the same rays, and the monitor's grey differs from the full image's by under 3 %
    of its range anywhere (1.5 % at the 99th percentile), so the settled image that follows it
    does not jump."""
    from spine.anatomy.model import SpineModel

    pose = CArmPose.lateral("L5-S1")
    model = SpineModel.default()
    full = FluoroImager(model, pose, 96, cache_dir=False)
    draft = FluoroImager(model, pose, 96, cache_dir=False, draft=True)
    neural = [s for s in full.structures if s.material == Material.NEURAL]
    assert any(s.kind == "root" for s in neural)
    left_out = Projector(pose, 96).line_integral(neural)
    assert np.allclose(draft.anatomy, full.anatomy - left_out, atol=1e-4)  # only those, nothing else
    assert left_out.min() < -0.005  # there was something to leave out
    grey = np.abs(full.frame_from_layers([None], seed=0) - draft.frame_from_layers([None], seed=0))
    assert grey.max() < 0.03 and np.percentile(grey, 99) < 0.015


def test_needle_layer_multiplies_in_intensity():
    """Overlays add in the log domain: the noise-free frame with a needle equals the anatomy
    intensity times exp(-needle layer)."""
    pose = CArmPose.ap(isocentre=ISO)
    imager = FluoroImager(synthetic_spine(), pose, 128, cache_dir=False)
    needle = Needle((30, 60, 30), (5, 10, 2), 0.9)
    layer = imager.needle_layer(needle)
    det, exp_ = imager.detector, imager.exposure
    base = det.counts(imager.anatomy, exp_, seed=None)
    withn = det.counts(imager.anatomy + layer, exp_, seed=None)
    assert np.allclose(withn, base * np.exp(-layer), rtol=1e-4)
    assert (layer > 0).sum() < 0.05 * layer.size  # only the needle's own pixels
