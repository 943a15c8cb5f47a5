"""Views of the spine model: projection conventions, landmarks landing on their pixels,
labels that do not overlap, camera framing, speed, and last-frame control images.

Control frames live in ``tests/control_data/anatomy/*.npz`` (160 x 90 px, like Manim's
frames_comparison). After an intended change to the model or the views, regenerate them::

    ANATOMY_UPDATE_CONTROL=1 .venv/bin/pytest tests/test_anatomy_views.py -k control

and look at the enlarged PNGs written to ``$TMPDIR/anatomy_control/`` before committing.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from manim import ORIGIN, Dot, MovingCameraScene, config, tempconfig

from spine.anatomy.model import SpineModel
from scenes.kit.anatomy_views import SpineView, convex_hull_2d
from scenes.kit import palette
from tests.control_images import check_control

CONTROL = Path(__file__).parent / "control_data" / "anatomy"
MARK = "#FF00FF"  # a colour the views never use


@pytest.fixture(scope="module")
def model() -> SpineModel:
    return SpineModel.default()


@pytest.fixture(autouse=True)
def _small_output(tmp_path, monkeypatch):
    """Layers drawn outside a test scene are sized for a small output (they are cheap), and
    cached in the test's own folder."""
    monkeypatch.setenv("SPINE_ILLUSTRATION_CACHE", str(tmp_path / "illustration"))
    with tempconfig({"pixel_width": 480, "pixel_height": 270}):
        yield


def render_last_frame(build, width: int = 160, height: int = 90) -> np.ndarray:
    """Render a one-frame MovingCameraScene and return its last frame (H, W, 4) uint8."""
    with tempconfig(
        {
            "pixel_width": width,
            "pixel_height": height,
            "frame_rate": 15,
            "dry_run": True,
            "disable_caching": True,
            "write_to_movie": False,
            "background_color": palette.BACKGROUND,
        }
    ):

        class Tiny(MovingCameraScene):
            def construct(self):
                build(self)

        scene = Tiny()
        scene.render()
        return np.array(scene.renderer.get_frame())


def pixel_of(point, width, height, center=(0.0, 0.0), frame_width=None):
    """Pixel (col, row) of a scene point for a camera of the default frame height."""
    fw = frame_width or config.frame_width
    fh = fw * height / width
    col = (point[0] - center[0] + fw / 2) / fw * width
    row = (fh / 2 - (point[1] - center[1])) / fh * height
    return int(col), int(row)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])


# -- conventions -----------------------------------------------------------------------------
def test_screen_conventions(model):
    lat = SpineView(model, "lateral")
    post = SpineView(model, "posterior")
    front = model.landmark("L3", "body_anterior_third")
    back = model.landmark("L3", "spinolaminar_line")
    left = model.landmark("L3", "pedicle", "left")
    right = model.landmark("L3", "pedicle", "right")
    top = model.landmark("L3", "superior_endplate")
    bottom = model.landmark("L3", "inferior_endplate")
    # lateral: seen from the patient's left, anterior on the screen's left, head up
    assert lat.project(front)[0, 0] < lat.project(back)[0, 0]
    assert lat.project(top)[0, 1] > lat.project(bottom)[0, 1]
    assert lat.depth(left)[0] > lat.depth(right)[0]
    # posterior: as the operator behind the patient sees it, patient's left on the left
    assert post.project(left)[0, 0] < post.project(right)[0, 0]
    assert post.depth(back)[0] > post.depth(front)[0]
    # the oblique is the C-arm's rotation: +90 = lateral, 0 = posterior
    pts = np.array([front, back, left, right])
    assert np.allclose(
        SpineView(model, "oblique", oblique_deg=90, anchor=lat.anchor, scale=lat.scale).project(pts), lat.project(pts)
    )
    assert np.allclose(
        SpineView(model, "oblique", oblique_deg=0, anchor=post.anchor, scale=post.scale).project(pts), post.project(pts)
    )
    # a right ipsilateral oblique (negative) brings the right side toward the viewer
    rio = SpineView(model, "oblique", oblique_deg=-30)
    assert rio.depth(right)[0] > rio.depth(left)[0]
    # axial: radiological convention, anterior up, patient's left on the screen's right
    ax = SpineView(model, "axial", axial_level="L3")
    assert ax.project(front)[0, 1] > ax.project(back)[0, 1]
    assert ax.project(left)[0, 0] > ax.project(right)[0, 0]
    with pytest.raises(ValueError, match="kind"):
        SpineView(model, "frontal")
    with pytest.raises(ValueError, match="axial_level"):
        SpineView(model, "axial")


def test_convex_hull():
    pts = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5], [0.2, 0.8]])
    hull = convex_hull_2d(pts)
    assert len(hull) == 4 and {tuple(p) for p in hull} == {(0, 0), (1, 0), (1, 1), (0, 1)}


# -- landmarks land on their pixels ---------------------------------------------------------
@pytest.mark.parametrize("kind, deg", [("lateral", 0.0), ("posterior", 0.0), ("oblique", -30.0)])
def test_projected_landmark_lands_on_its_pixel(model, kind, deg):
    """A dot drawn at ``project(landmark)`` shows at the pixel the projection names, and
    that pixel is inside the structure the landmark belongs to, as the view draws it."""
    view = SpineView(model, kind, oblique_deg=deg, anchor=model.level_centre("L4"), scale=0.06)
    w, h = 320, 180
    for name, side, structure in (
        ("pedicle", "left", "L4.pedicle.left"),
        ("nucleus_centre", None, "disc.L4-L5.nucleus"),
        ("tp", "right", "L4.tp.right"),
    ):
        level = "L4-L5" if name == "nucleus_centre" else "L4"
        point = view.project(model.landmark(level, name, side))[0]
        col, row = pixel_of(point, w, h)

        drawn = []

        def with_dot(scene):
            drawn.append(view.spine_mobject(levels=["L4", "L4-L5", "L5"]))
            scene.add(drawn[0], Dot(point, radius=0.05, color=MARK))

        frame = render_last_frame(with_dot, w, h)
        assert np.abs(frame[row, col, :3].astype(int) - _rgb(MARK)).max() <= 8, (kind, name)
        # the shaded layer's pixel there belongs to the structure (a bone part: its vertebra's mesh)
        drawing = drawn[0]
        pixel = drawing.pixel_at(point)
        # the disc is seen from the side; from behind, the laminae and processes hide it
        owners = (
            ({"disc.L4-L5.annulus"} if kind == "lateral" else {"L4.bone", "L5.bone"})
            if name == "nucleus_centre"
            else {"L4.bone"}
        )
        c, r = pixel
        ids = drawing.layer.object_id[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2]
        assert {drawing.layer.id_of(o) for o in owners} & set(ids.ravel().tolist()), (kind, name, structure)


def test_axial_sections_show_the_level(model):
    view = SpineView(model, "axial", axial_level="L4")
    drawing = view.spine_mobject(levels=["L4"])
    names = set(drawing.structure_names)
    for expected in ("L4.bone", "dural_sac.L4", "cauda_equina.L4", "epidural.L4"):
        assert expected in names, expected
    assert not any(n.startswith("L2.") or n.startswith("S1.") for n in names)
    layer = drawing.layer

    def owner(point):
        c, r = drawing.pixel_at(view.project(point)[0])
        return layer.names[layer.object_id[r, c]] if layer.object_id[r, c] >= 0 else None

    # the section through the pedicles: bone at the body and the pedicles, the cauda equina in
    # the canal, under the translucent sac; bone again behind the canal (the laminae)
    assert owner(model.level_centre("L4")) == "L4.bone"
    assert owner(model.landmark("L4", "pedicle", "left")) == "L4.bone"
    canal = model.structure("cauda_equina.L4").solid.center
    assert owner(canal) in ("cauda_equina.L4", "filum_terminale.L4")  # the filum runs in the middle of the cauda
    c, r = drawing.pixel_at(view.project(canal)[0])
    assert layer.names[layer.veil_id[r, c]].startswith(("dural_sac.", "epidural."))
    column = layer.object_id[r:, c]
    assert layer.id_of("L4.bone") in column  # the lamina behind the canal (down the screen)
    # the section is a flat cut face at the plane's depth, the canal a hole in it
    assert layer.depth[r, c] <= float(view.depth(view.plane_origin)[0]) + 0.6
    disc = SpineView(model, "axial", axial_level="L4-L5")
    dnames = set(disc.spine_mobject(levels=["L4-L5"]).structure_names)
    assert {"disc.L4-L5.annulus", "disc.L4-L5.nucleus", "L4-L5.facet_joint.left", "L4-L5.facet_joint.right"} <= dnames


# -- labels, framing, highlight, speed --------------------------------------------------------------
def _overlap(a, b) -> bool:
    (ax0, ay0), (ax1, ay1) = a.get_corner(np.array([-1, -1, 0]))[:2], a.get_corner(np.array([1, 1, 0]))[:2]
    (bx0, by0), (bx1, by1) = b.get_corner(np.array([-1, -1, 0]))[:2], b.get_corner(np.array([1, 1, 0]))[:2]
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1


@pytest.mark.parametrize("kind", ["lateral", "posterior"])
def test_labels_do_not_overlap(model, kind):
    view = SpineView(model, kind)
    for levels in (None, ["C1", "C2", "C3", "C7", "T1", "T12", "L1", "L4", "L5", "S1"]):
        labels = view.labels(levels=levels)
        texts = [m for m in labels if m.__class__.__name__ == "Text"]
        assert len(texts) == (5 if levels is None else len(levels)) + 5
        for a, b in itertools.combinations(texts, 2):
            assert not _overlap(a, b), (a.text, b.text)
        # inside the frame
        for t in texts:
            assert abs(t.get_center()[0]) + t.width / 2 <= config.frame_width / 2
            assert abs(t.get_center()[1]) + t.height / 2 <= config.frame_height / 2
    # labels stay clear of everything drawn: no opaque pixel of the layer under a label
    drawn = view.spine_mobject()
    alpha = drawn.layer.rgba[..., 3]
    for t in [m for m in view.labels() if m.__class__.__name__ == "Text"]:
        (x0, y0), (x1, y1) = t.get_corner(np.array([-1, -1, 0]))[:2], t.get_corner(np.array([1, 1, 0]))[:2]
        corners = [drawn.pixel_at(np.array([x, y, 0])) for x, y in ((x0, y1), (x1, y0))]
        if any(c is None for c in corners):
            continue  # (partly) outside the drawing's window: over background
        (c0, r0), (c1, r1) = corners
        assert (alpha[r0 : r1 + 1, c0 : c1 + 1] > 200).sum() == 0, t.text


def test_zoomed_labels_keep_their_size_on_screen(model):
    view = SpineView(model, "lateral")
    centre, width = view.frame_for("L4-L5")
    whole = [m for m in view.labels(levels=["L4"], regions=False)][0]
    zoomed = [m for m in view.labels(levels=["L4"], regions=False, zoom_width=width)][0]
    assert zoomed.height == pytest.approx(whole.height * width / config.frame_width, rel=1e-3)


def test_frame_for_moves_from_the_whole_spine_to_a_level(model):
    view = SpineView(model, "lateral")
    centre, width = view.frame_for("L4-L5")
    assert width < config.frame_width / 4
    for name, side in (("nucleus_centre", None), ("facet_joint", "left"), ("spinolaminar_line", None)):
        p = view.project(model.landmark("L4-L5", name, side))[0]
        assert abs(p[0] - centre[0]) < width / 2
        assert abs(p[1] - centre[1]) < width / 2 * config.frame_height / config.frame_width
    # after moving there the disc's nucleus is where the projection says, at the new zoom
    drawing = view.spine_mobject(levels=["L4", "L4-L5", "L5"])
    frame = render_last_frame(lambda s: (s.add(drawing), s.camera.frame.move_to(centre).set(width=width)))
    h, w = frame.shape[:2]
    nucleus = view.project(model.landmark("L4-L5", "nucleus_centre"))[0]
    col, row = pixel_of(nucleus, w, h, center=centre[:2], frame_width=width)
    # the disc's own shaded pixel (the layer's) shows there, at the new zoom
    c, r = drawing.pixel_at(nucleus)
    assert drawing.layer.names[drawing.layer.object_id[r, c]] == "disc.L4-L5.annulus"
    assert np.abs(frame[row, col, :3].astype(int) - drawing.layer.rgba[r, c, :3].astype(int)).max() < 16


def test_highlight_outlines_the_level(model):
    view = SpineView(model, "posterior")
    hl = view.highlight("L4")
    assert len(hl) == 1  # the outline of the one smooth L4 bone
    assert all(m.get_stroke_color().to_hex().upper() == palette.ACCENT.upper() for m in hl)
    tinted = view.spine_mobject(levels=["L4"], highlight="L4").layer
    plain = view.spine_mobject(levels=["L4"]).layer
    bone = plain.object_id == plain.id_of("L4.bone")
    shift = tinted.rgba[..., :3].astype(int) - plain.rgba[..., :3].astype(int)
    accent = _rgb(palette.ACCENT) - 128
    assert (shift[bone] @ accent).mean() > 0  # the level leans toward the accent colour
    assert (tinted.rgba[..., 3] > plain.rgba[..., 3]).sum() > 50  # and a glow rings it


def test_whole_spine_views_stay_light(model):
    # Build time is a benchmark figure, not a test assertion (noisy machines); the layer's
    # size (no larger than the frame) keeps whole-spine frames cheap, and it is deterministic.
    for kind, kw in (("lateral", {}), ("posterior", {}), ("oblique", {"oblique_deg": 30.0})):
        view = SpineView(model, kind, **kw)
        mob = view.spine_mobject()
        h, w = mob.layer.rgba.shape[:2]
        assert h <= 1.25 * config.pixel_height and w <= config.pixel_width, (kind, h, w)
        drawn = set(mob.structure_names)
        from spine.anatomy.levels import VERTEBRAE

        missing = {v for v in VERTEBRAE if model.bone_surface(v).name not in drawn}  # S1-S5: sacrum.bone
        assert not missing, sorted(missing)


# -- control frames --------------------------------------------------------------------------
def _lateral_whole(scene, model):
    view = SpineView(model, "lateral")
    scene.add(view.spine_mobject())


def _posterior_whole(scene, model):
    view = SpineView(model, "posterior")
    scene.add(view.spine_mobject())


def _lateral_l4_l5(scene, model):
    view = SpineView(model, "lateral")
    centre, width = view.frame_for("L4-L5")
    scene.add(view.spine_mobject(levels=["L3-L4", "L4", "L4-L5", "L5", "L5-S1", "S1"], highlight="L4-L5"))
    scene.camera.frame.move_to(centre).set(width=width)


def _oblique_l4(scene, model):
    view = SpineView(model, "oblique", oblique_deg=-30.0)
    centre, width = view.frame_for("L4", margin=2.0)
    scene.add(view.spine_mobject(levels=["L3", "L3-L4", "L4", "L4-L5", "L5"]))
    scene.camera.frame.move_to(centre).set(width=width)


def _axial(level):
    def build(scene, model):
        scene.add(SpineView(model, "axial", axial_level=level).spine_mobject())

    return build


def _axial_inset(scene, model):
    """The procedure videos' axial inset (transforaminal L4-L5, right): the section seen from
    the feet, the needle's path beside the sac, R and L; the camera on the inset."""
    from spine.procedures.planner import plan_needle
    from scenes.kit.procedure_blocks import DevicePath, axial_inset

    plan = plan_needle("transforaminal-esi", "L4-L5", "right")
    view = SpineView(model, "axial", axial_level="L4-L5")
    ring = ("root.L4.right", "root.L4.right.extraforaminal")
    inset, _fitted = axial_inset(view, plan, [DevicePath(n) for n in plan.needles], ORIGIN, ring=ring)
    scene.add(inset)
    scene.camera.frame.move_to(inset).set(height=inset.height * 1.08)


CONTROL_SCENES = {
    "axial_inset_L4-L5": _axial_inset,
    "lateral_whole": _lateral_whole,
    "posterior_whole": _posterior_whole,
    "lateral_L4-L5": _lateral_l4_l5,
    "oblique_L4": _oblique_l4,
    "axial_L4": _axial("L4"),
    "axial_L4-L5": _axial("L4-L5"),
    "axial_C5": _axial("C5"),
    "axial_T6": _axial("T6"),
}


@pytest.mark.parametrize("name", sorted(CONTROL_SCENES))
def test_control_frame(model, name, update_controls):
    frame = render_last_frame(lambda scene: CONTROL_SCENES[name](scene, model))
    check_control(frame, CONTROL / f"{name}.npz", "frame_data", update_controls, zoom=4, far=24, far_share=0.005)
    # and the frame is not empty: the anatomy covers a fair part of it
    background = _rgb(palette.BACKGROUND)
    painted = (np.abs(frame[..., :3].astype(int) - background).max(axis=-1) > 24).mean()
    assert painted > 0.03


def test_a_cross_fade_of_two_layers_is_manims_image_interpolation_within_one_level():
    """A Transform between two drawings blends their layers as Manim interpolates images
    (``interpolate(a, b, alpha).astype(uint8)``), ends exact, any alpha at most one level off."""
    from manim.utils.bezier import interpolate

    from scenes.kit.cross_fade import cross_fade as _cross_fade

    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    b = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    for alpha in (0.0, 0.013, 0.25, 0.5, 0.77, 1.0):
        blended = _cross_fade(a, b, alpha)
        manims = interpolate(a, b, alpha).astype(np.uint8)
        assert blended.dtype == np.uint8 and blended.shape == a.shape and blended.flags.writeable
        assert np.abs(blended.astype(int) - manims).max() <= 1, alpha
        if alpha in (0.0, 0.5, 1.0):
            assert np.array_equal(blended, manims), alpha
