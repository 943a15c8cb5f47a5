"""The shaded illustration layer (spine/imaging/illustration.py through SpineView): control
images of L4-L5 in every pose and a cut-away, projection onto the object-id buffer, the
needle's depth against the dural sac, cut-aways, caching and the smooth turn.

Layers are rendered directly (no Manim scene) at about 120 px; control images live in
``tests/control_data/illustration/*.npz``. A missing one fails; ``pytest --update-controls``
rewrites them (and writes enlarged PNGs to ``$TMPDIR/illustration_control/`` to review).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spine.anatomy.model import SpineModel
from spine.imaging.illustration import CutAway
from scenes.kit.anatomy_views import SpineView
from tests.control_images import check_control

CONTROL = Path(__file__).parent / "control_data" / "illustration"
LEVELS = ["L3-L4", "L4", "L4-L5", "L5", "L5-S1"]
TALL = 120  # pixels: the height of a test layer


@pytest.fixture(scope="module")
def model() -> SpineModel:
    return SpineModel.default()


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SPINE_ILLUSTRATION_CACHE", str(tmp_path / "illustration"))


def _layer(model, kind, deg=0.0, levels=LEVELS, near_side=True, cut=None, axial_level=None, highlight=None, **kw):
    view = SpineView(model, kind, oblique_deg=deg, axial_level=axial_level)
    group = view.spine_mobject(
        levels=levels, near_side=near_side, cut=cut, highlight=highlight, resolution=_resolution(view, levels), **kw
    )
    return view, group.layer


def _resolution(view, levels) -> float:
    """Pixels per scene unit that make the drawing of ``levels`` TALL pixels high."""
    u0, v0, u1, v1 = view.window_of(view._drawn(levels, None, None))
    return TALL / ((v1 - v0) * view.scale)


def _cutaway(model):
    return _layer(model, "lateral", near_side=False)


POSES = {
    "lateral_L4-L5": lambda m: _layer(m, "lateral", highlight="L4-L5"),
    "posterior_L4-L5": lambda m: _layer(m, "posterior"),
    "oblique_L4-L5": lambda m: _layer(m, "oblique", -30.0),
    "axial_L4-L5": lambda m: _layer(m, "axial", levels=["L4-L5"], axial_level="L4-L5"),
    "cutaway_L4-L5": _cutaway,
    # the transforaminal drawing's cut-away: seen from the right, the near articular processes,
    # lamina and transverse process gone, the pedicles kept around the foramen and its root
    "foramen_L4-L5": lambda m: _layer(
        m,
        "oblique",
        -90.0,
        near_side=False,
        near_parts=("lamina", "sap", "sap_neck", "iap", "pars", "tp"),
        highlight_structures=("root.L4.right", "root.L4.right.extraforaminal"),
    ),
}


@pytest.mark.parametrize("name", sorted(POSES))
def test_control_image(model, name, update_controls):
    _view, layer = POSES[name](model)
    rgba = layer.rgba
    assert max(rgba.shape[:2]) <= 160, rgba.shape  # the test stays cheap
    check_control(rgba, CONTROL / f"{name}.npz", "rgba", update_controls, zoom=3, far=40, far_share=0.01)
    if name.startswith("foramen"):  # the opened foramen shows the exiting root
        assert layer.mask_of("root.L4.right").sum() > 30, layer.mask_of("root.L4.right").sum()
    # solid, shaded anatomy: a fair part is opaque, and the bone is lit unevenly (not flat)
    opaque = rgba[..., 3] == 255
    assert opaque.mean() > 0.15
    if name.startswith("axial"):  # a section: the disc's nucleus inside the annulus, the sac behind
        drawn = {layer.names[i] for i in np.unique(layer.object_id) if i >= 0}
        assert {"disc.L4-L5.annulus", "disc.L4-L5.nucleus"} <= drawn, drawn
        return
    bone = np.isin(layer.object_id, [i for i, n in enumerate(layer.names) if n.endswith(".bone")]) & opaque
    grey = rgba[..., :3].astype(float).mean(axis=-1)[bone]
    assert bone.sum() > 200 and grey.std() > 8.0, grey.std()


def test_landmarks_project_onto_their_structure(model):
    """A landmark drawn with SpineView.project lands on a pixel whose object id is the
    structure it belongs to (a bone part: its vertebra's mesh)."""
    cases = [
        ("lateral", 0.0, "L4", "pedicle", "left", "L4.bone"),
        ("posterior", 0.0, "L4", "spinolaminar_line", None, "L4.bone"),
        ("oblique", -30.0, "L4", "tp", "right", "L4.bone"),
        ("lateral", 0.0, "L4-L5", "nucleus_centre", None, "disc.L4-L5.annulus"),
    ]
    for kind, deg, level, name, side, owner in cases:
        view, layer = _layer(model, kind, deg)
        point = model.landmark(level, name, side)
        col, row = np.floor(layer.camera.pixel_of(point)[0]).astype(int)
        # the same pixel from SpineView.project and the image's placement in the scene
        group = view.spine_mobject(levels=LEVELS, resolution=_resolution(view, LEVELS))
        assert group.pixel_at(view.project(point)[0]) == (col, row), (kind, name)
        window = layer.object_id[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2]
        assert layer.id_of(owner) in window, (kind, name, {layer.names[i] for i in window.ravel() if i >= 0})
    # the axial section shows the nucleus at the disc's centre
    view, layer = _layer(model, "axial", levels=["L4-L5"], axial_level="L4-L5")
    col, row = np.floor(layer.camera.pixel_of(model.landmark("L4-L5", "nucleus_centre"))[0]).astype(int)
    assert layer.names[layer.object_id[row, col]] == "disc.L4-L5.nucleus"


def test_needle_is_not_drawn_in_front_of_the_sac_it_passes_behind(model):
    """Transforaminal L4-L5 (right), lateral view from the left with the near side cut away:
    where the needle's path overlaps the dural sac on screen, it is behind the sac (the sac's
    depth buffer is nearer), it never enters the sac, and the needle split calls those parts
    hidden (drawn faded)."""
    from spine.procedures.planner import plan_needle

    plan = plan_needle("transforaminal-esi", "L4-L5", "right")
    needle = plan.needles[0]
    view, layer = _layer(model, "lateral", near_side=False)
    p0, p1 = np.asarray(needle.entry, float), np.asarray(needle.tip, float)
    pts = p0 + np.linspace(0, 1, 400)[:, None] * (p1 - p0)
    sac_ids = [i for i, n in enumerate(layer.names) if n.startswith("dural_sac.")]
    px = np.floor(layer.camera.pixel_of(pts)).astype(int)
    h, w = layer.object_id.shape
    inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
    on_sac = np.zeros(len(pts), bool)
    on_sac[inside] = np.isin(layer.veil_id[px[inside, 1], px[inside, 0]], sac_ids)
    assert on_sac.sum() >= 10, "the path should cross the sac on screen in this view"
    needle_depth = layer.camera.plane_coords(pts)[:, 2]
    sac_depth = layer.veil_depth[px[on_sac, 1], px[on_sac, 0]]
    assert np.all(needle_depth[on_sac] < sac_depth), "the needle is behind the sac there"
    for st in model.structures(kinds=["dural_sac"], levels=["L4", "L5"]):
        assert st.solid.segment_inside_length(p0, p1) == 0.0  # the path never crosses the sac
    parts = view.needle_parts(p0, p1, levels=LEVELS, near_side=False, occluders="all", step_mm=0.25)
    spans = [(a, b, front) for a, b, front in parts]
    t = lambda q: float(np.dot(q - p0, p1 - p0) / np.dot(p1 - p0, p1 - p0))  # noqa: E731
    for k in np.flatnonzero(on_sac):
        tk = k / (len(pts) - 1)
        front = [f for a, b, f in spans if t(a) - 2e-3 <= tk <= t(b) + 2e-3]
        assert front and not all(front), f"sample {k} over the sac is drawn in front"
    # and with bone alone hiding it, the tip at the foramen is behind the far pedicles / bodies
    # or in front of them, but the split covers the whole needle without gaps
    bone_parts = view.needle_parts(p0, p1, levels=LEVELS, near_side=False)
    assert np.allclose(bone_parts[0][0], p0) and np.allclose(bone_parts[-1][1], p1)


def test_cutaway_opens_the_foramen_and_clips_the_bone(model):
    """Removing the near pedicle and lamina shows the exiting root where bone was drawn."""
    _v, plain = _layer(model, "lateral")
    _v, opened = _cutaway(model)
    assert plain.camera.key() == opened.camera.key()
    bone = plain.id_of("L4.bone")
    root_ids = [i for i, n in enumerate(opened.names) if n.startswith("root.") or n.startswith("cauda_equina.")]
    was_bone = plain.object_id == bone
    now_nerve = np.isin(opened.object_id, root_ids)
    assert (was_bone & now_nerve).sum() > 20
    # a plane section of one vertebral body (for cement): only that body is opened
    view = SpineView(model, "lateral")
    c = model.level_centre("L4")
    cut = view.section("L4.bone", through=c)
    assert cut == CutAway(plane=(tuple(c), tuple(view.toward)), plane_only=("L4.bone",))
    body = view.spine_mobject(levels=LEVELS, cut=cut, resolution=_resolution(view, LEVELS)).layer
    col, row = np.floor(body.camera.pixel_of(c)[0]).astype(int)
    assert body.names[body.object_id[row, col]] == "L4.bone"
    assert body.depth[row, col] == pytest.approx(float(view.depth(c)[0]), abs=0.6)  # the cut face
    assert plain.depth[row, col] > body.depth[row, col] + 10  # the body's near side is gone
    l5 = model.level_centre("L5")
    col, row = np.floor(body.camera.pixel_of(l5)[0]).astype(int)
    assert body.depth[row, col] == pytest.approx(plain.depth[row, col], abs=1e-3)  # L5 untouched


def test_layers_are_cached_in_memory_and_on_disk(model, tmp_path, monkeypatch):
    from spine.imaging import illustration

    monkeypatch.setenv("SPINE_ILLUSTRATION_CACHE", str(tmp_path / "c"))
    view = SpineView(model, "posterior")
    sts = view._drawn(["L4"], None, None)
    first = view.layer(sts, resolution=_resolution(view, ["L4"]))
    again = view.layer(sts, resolution=_resolution(view, ["L4"]))
    assert first.from_cache == "" and again.from_cache == "memory"
    illustration._MEMORY.clear()
    disk = view.layer(sts, resolution=_resolution(view, ["L4"]))
    assert disk.from_cache == "disk"
    assert np.array_equal(disk.rgba, first.rgba) and np.array_equal(disk.object_id, first.object_id)
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1


def test_turn_rerenders_intermediate_angles(model):
    view = SpineView(model, "posterior")
    res = _resolution(view, ["L4"]) / 2
    angles, layers, window = view.turn_frames(90.0, levels=["L4"], step_deg=30.0, resolution=res)
    assert angles == [0.0, 30.0, 60.0, 90.0]
    assert len({lay.rgba.shape for lay in layers}) == 1  # one window for the whole turn
    assert not np.array_equal(layers[0].rgba, layers[-1].rgba)
    # the last frame is the lateral view's own layer over the same window
    lateral = view.turned(90.0)
    end = lateral.layer(lateral._drawn(["L4"], None, None), window=window, resolution=res)
    assert np.array_equal(end.rgba, layers[-1].rgba)


def test_a_smooth_turn_draws_every_frame_at_its_own_angle(model):
    """A turn played over 1 s at 10 fps, eased in and out: every frame the scene draws
    (alphas as NarratedScene.play_frames samples them) shows a layer of its own, at the
    frame's own angle (no frame repeats the one before: a glide, not steps), those angles
    rise with the rate function and end on the lateral view; drawn again, the turn reads
    every layer from the cache."""
    from manim.utils.rate_functions import ease_in_out_sine

    from spine.imaging import illustration

    illustration._MEMORY.clear()  # every layer of this turn goes through this test's disk cache
    view = SpineView(model, "posterior")
    res = _resolution(view, ["L4"]) / 2
    fps, run_time = 10, 1.0
    turn, end = view.turn(
        None, 90.0, levels=["L4"], run_time=run_time, rate_func=ease_in_out_sine, fps=fps, resolution=res
    )
    frames = int(round(run_time * fps))
    assert len(turn.frames) == frames + 1 and end.oblique_deg == 90.0
    shown, previous = [], None
    turn.begin()
    for k in range(frames):
        turn.interpolate(k / (frames - 0.5))
        pixels = turn.mobject.pixel_array
        assert previous is None or not np.array_equal(pixels, previous), f"frame {k} repeats frame {k - 1}"
        previous = pixels.copy()
        shown.append(turn._shown)
    turn.finish()
    assert shown == sorted(shown) and len(set(shown)) == frames
    degrees = 90.0 * turn.progress
    steps = np.diff(degrees)
    assert steps.min() > 0 and steps.max() < 90.0 / frames * 1.6  # about evenly, eased at the ends
    assert np.allclose(degrees, [90.0 * ease_in_out_sine(k / frames) for k in range(frames + 1)])
    assert np.array_equal(turn.mobject.pixel_array, turn.frames[-1])
    # a turn, not a cross-fade: every frame is one pose's drawing (opaque bone with a thin soft
    # edge), never two poses blended (a ghost of each: a wide half-transparent area)
    from scenes.kit.anatomy_views import _blend

    def see_through(rgba) -> float:
        a = rgba[..., 3].astype(int)
        return float(((a > 12) & (a < 243)).sum()) / max(1, int((a >= 243).sum()))

    assert max(see_through(f) for f in turn.frames) < 0.25, [round(see_through(f), 2) for f in turn.frames]
    assert see_through(_blend(turn.frames[frames // 2 - 1], turn.frames[frames // 2 + 1], 0.5)) > 0.5
    illustration._MEMORY.clear()  # drawn again (another beat, another video): read from the disk cache
    _angles, layers, _window = view.turn_frames(90.0, levels=["L4"], resolution=res, progress=list(turn.progress))
    assert [lay.from_cache for lay in layers] == ["disk"] * len(layers), [lay.from_cache for lay in layers]
    assert all(np.array_equal(lay.rgba, frame) for lay, frame in zip(layers, turn.frames))


@pytest.mark.parametrize(
    "name,side,turn",
    [
        ("transforaminal-esi", "right", (0.0, -90.0)),  # from behind (the side shows) to the needle's side
        ("facet-joint-injection", "right", (-90.0, 0.0)),  # from the needle's side to behind
        ("interlaminar-esi", "right", (0.0, -90.0)),  # near the midline: the requested side
    ],
)
def test_the_where_beat_turns_the_whole_spine_to_the_needles_drawing(model, name, side, turn):
    """Every procedure video's where beat turns the whole spine (a turn, not a cross-fade:
    the test above) from a view that is not the needle's drawing's to that drawing's own angle,
    and the lateral C-arm view faces the needle's side too."""
    from scenes.procedure_scene import illustration_view, needle_side_deg, where_turn
    from spine.procedures.planner import plan_needle

    plan = plan_needle(name, None, side)
    start, end = where_turn(model, plan)
    assert (start, end) == turn
    assert end == illustration_view(model, plan).oblique_deg and start != end
    assert needle_side_deg(model, plan) == (-90.0 if side == "right" else 90.0)


def test_the_pelvis_fades_in_as_a_turn_nears_the_back(model):
    """Seen more than 30 degrees from behind the pelvis is left out (it would hide L5-S1); a
    turn from the side to the back (20 fps, 4.5 degrees a frame) brings it in over 30-15
    degrees: the ilia's opacity on the frames rises over several frames, never by more than
    about two fifths of it at once (it popped in whole between two frames)."""
    from manim.utils.rate_functions import linear

    view = SpineView(model, "lateral")
    levels = ["L5", "S1", None]
    res = _resolution(view.turned(0.0), levels) * 44 / TALL
    turn, _end = view.turn(None, 0.0, levels=levels, run_time=1.0, rate_func=linear, fps=20, resolution=res)
    _a, layers, _window = view.turn_frames(0.0, levels=levels, resolution=res, progress=list(turn.progress))
    ilium = layers[-1].mask_of("ilium.left") | layers[-1].mask_of("ilium.right")
    assert ilium.sum() > 30, ilium.sum()
    seen = np.array([float(f[..., 3][ilium].mean()) / 255.0 for f in turn.frames])
    shown = (seen - seen[0]) / (seen[-1] - seen[0])  # 0: the spine alone over the ilia, 1: the ilia drawn
    assert seen[-1] > 0.9 and seen[-1] - seen[0] > 0.5, seen.round(2)
    rises = np.diff(shown)
    assert rises.max() < 0.45 and (rises > 0.05).sum() >= 3, shown.round(2)


DEPTH_CASES = [
    ("vertebroplasty", "L1", "right"),
    ("discography", "L4-L5", "right"),
    ("transforaminal-esi", "L4-L5", "right"),
    ("selective-nerve-root-block", "L5-S1", "left"),
]
_NERVE_TUBE = ("dural_sac.", "cord.", "conus.", "cauda_equina.")


def _drawn_needle(model, name, level, side, tall: int = 110):
    """The procedure video's needle drawing (its view, crop and cut-away) rendered about
    ``tall`` pixels high, with the needle split as the scene draws it."""
    from scenes.kit.procedure_blocks import DevicePath, NeedleOnDrawing, illustration_group
    from scenes.procedure_scene import (
        ILLUSTRATION_BOX,
        _has_structures,
        build_illustration,
        illustration_levels,
        illustration_view,
        illustration_window,
    )
    from spine.procedures.planner import plan_needle

    plan = plan_needle(name, level, side)
    view = illustration_view(model, plan)
    levels = [lv for lv in illustration_levels(plan, model) if _has_structures(model, lv)]
    u0, v0, u1, v1 = illustration_window(model, plan, view, levels, ILLUSTRATION_BOX[0] / ILLUSTRATION_BOX[1])
    fitted = build_illustration(model, plan, resolution=tall / ((v1 - v0) * view.scale))
    group = illustration_group(fitted.mobject)
    drawings = [NeedleOnDrawing(DevicePath(n), view, fitted.mobject, view.project) for n in plan.needles]
    return plan, view, group.layer, drawings


@pytest.mark.parametrize("name,level,side", DEPTH_CASES, ids=[c[0] for c in DEPTH_CASES])
def test_needle_drawn_in_front_never_lies_over_the_sac_or_cord(model, name, level, side):
    """On the procedure's needle drawing, no part of the needle drawn solid (in front) lies
    over the dural sac, cord or cauda equina where the model puts them nearer the viewer than
    the needle; the needle never enters them; and on the axial section through the level the
    path lies beside the sac, not over it (the planner's clearance, seen)."""
    plan, view, layer, drawings = _drawn_needle(model, name, level, side)
    tube = [i for i, n in enumerate(layer.names) if n.startswith(_NERVE_TUBE)]
    h, w = layer.object_id.shape
    solid_samples = 0
    for drawing in drawings:
        for a, b, front in drawing.pieces(1.0):
            if not front:
                continue
            pts = a + np.linspace(0, 1, max(2, int(np.linalg.norm(b - a) / 0.25)))[:, None] * (b - a)
            px = np.floor(layer.camera.pixel_of(pts)).astype(int)
            ok = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
            pts, px = pts[ok], px[ok]
            solid_samples += len(pts)
            depth = layer.camera.plane_coords(pts)[:, 2]
            for ids, depths in ((layer.object_id, layer.depth), (layer.veil_id, layer.veil_depth)):
                over = np.isin(ids[px[:, 1], px[:, 0]], tube)
                nearer = depths[px[:, 1], px[:, 0]] > depth + 1.0  # the tube in front of the needle there
                assert not np.any(over & nearer), (
                    f"{name}: needle drawn in front over the sac at {pts[over & nearer][:3]}"
                )
    assert solid_samples > 20, f"{name}: the needle is hardly drawn solid anywhere"
    nerve_tube = [s for s in model.structures(kinds=["dural_sac", "cord", "conus", "cauda_equina"])]
    for n in plan.needles:
        for st in nerve_tube:
            assert st.solid.segment_inside_length(np.asarray(n.entry), np.asarray(n.tip)) == 0.0, (name, st.name)
    # the axial section at the level: the whole path, projected, clear of the sac's section
    axial = SpineView(model, "axial", axial_level=plan.level)
    sts = axial._drawn(None, None, None)
    section = axial.layer(sts, resolution=110 / (120 * axial.scale), cut=axial.cutaway(sts))
    sac = np.isin(section.object_id, [i for i, n in enumerate(section.names) if n.startswith(_NERVE_TUBE)])
    sac |= np.isin(section.veil_id, [i for i, n in enumerate(section.names) if n.startswith(_NERVE_TUBE)])
    assert sac.sum() > 20, f"{name}: no sac on the section"
    sh, sw = sac.shape
    for n in plan.needles:
        pts = np.asarray(n.entry) + np.linspace(0, 1, 400)[:, None] * (np.asarray(n.tip) - np.asarray(n.entry))
        px = np.floor(section.camera.pixel_of(pts)).astype(int)
        ok = (px[:, 0] >= 0) & (px[:, 0] < sw) & (px[:, 1] >= 0) & (px[:, 1] < sh)
        assert ok.sum() > 100, f"{name}: the path is off the section"
        assert not sac[px[ok, 1], px[ok, 0]].any(), f"{name}: the path crosses the sac on the axial section"


@pytest.mark.parametrize(
    "name,level,side", [("transforaminal-esi", "L4-L5", "right"), ("discography", "L4-L5", "right")]
)
def test_the_level_ring_brackets_the_level_from_the_front_clear_of_the_root_and_needle(model, name, level, side):
    """The where beat's ring on the needle's side drawing is an arc around the level's disc,
    open toward the back: it passes over no drawn point of the treated root nor the needle's
    path (the former closed ellipse crossed the foramen, the root and the needle there), and
    it goes around the disc (its ends and its front on either side of the disc's centre)."""
    from types import SimpleNamespace

    from scenes.kit.procedure_blocks import illustration_group
    from scenes.procedure_scene import ProcedureScene, build_illustration
    from spine.procedures.planner import plan_needle

    plan = plan_needle(name, level, side)
    fitted = build_illustration(model, plan, resolution=40.0)
    scene = SimpleNamespace(model=model, level=plan.level, illustration=fitted)
    ring = ProcedureScene._level_ring(scene)
    pts = np.asarray(ring.points, float)[:, :2]
    group = illustration_group(fitted.mobject)
    root = group.drawn_points([f"root.{plan.root}.{side}"])[:, :2] if plan.root else np.zeros((0, 2))
    path = fitted.to_scene(
        np.asarray(plan.needles[0].entry)
        + np.linspace(0, 1, 40)[:, None] * (plan.tip - np.asarray(plan.needles[0].entry))
    )[:, :2]
    for what, region in (("root", root), ("needle", path)):
        if len(region):
            gap = np.min(np.linalg.norm(pts[:, None, :] - region[None, :, :], axis=-1))
            assert gap > 0.04, f"the ring passes over the {what} ({gap:.3f} units)"
    centre = fitted.to_scene(np.asarray(model.level_centre(level), float))[0, :2]
    spread = pts - centre
    assert np.ptp(spread[:, 0]) > 0.5 and np.ptp(spread[:, 1]) > 0.3  # around the disc, not a dot
    assert np.linalg.norm(pts[0] - pts[-1]) > 0.2  # open: an arc, not a closed ring


TARGET_CASES = [
    ("transforaminal-esi", "L4-L5", "right"),
    ("interlaminar-esi", "C7-T1", "right"),
    ("vertebroplasty", "L1", "right"),
]


@pytest.mark.parametrize("name,level,side", TARGET_CASES, ids=[c[0] for c in TARGET_CASES])
def test_the_drawn_needle_tip_lies_inside_the_targets_projected_region(model, name, level, side):
    """On the procedure's needle drawing rendered at 320x180 (its view, crop and cut-away, the
    needle at its full depth, drawn as the needle beat draws it), the drawn tip, the end of the
    needle-coloured pixels along the path, lies inside the target's region (the planner's
    target solid: the foramen's safe triangle, the dorsal epidural space just through the
    ligament, the front of the body) as the drawing projects it, within a pixel; and so does the
    planned tip. A needle drawn to a point beside the target (past its region, across the
    drawing) fails it (checked below)."""
    from manim import ORIGIN

    from scenes.kit.procedure_blocks import DevicePath, NeedleOnDrawing
    from scenes.procedure_scene import build_illustration
    from spine.procedures.planner import plan_needle, target_point
    from tests.test_anatomy_views import render_last_frame

    plan = plan_needle(name, level, side)
    needle = plan.needles[0]
    _point, region = target_point(model, needle.target, needle.target_level, plan.side, name)
    from manim import config

    width, height = 320, 180
    px = width / config.frame_width

    def pixel(p):
        return np.array([p[0] * px + width / 2, height / 2 - p[1] * px])

    def drawn_tip(beside: bool) -> tuple[np.ndarray, object]:
        fitted = build_illustration(model, plan, resolution=24.0)
        path = DevicePath(needle)
        if beside:  # the tip moved up the drawing, past the target's region
            reach = float(np.ptp(region.surface_points(16) @ fitted.view.up)) + 3.0
            moved = np.asarray(needle.tip) + np.asarray(fitted.view.up) * reach
            path = DevicePath(dataclasses_replace(needle, tip=tuple(moved)))
        drawing = NeedleOnDrawing(path, fitted.view, fitted.mobject, fitted.to_scene)

        def build(with_needle: bool):
            def add(scene):
                scene.add(fitted.mobject, *([drawing.mobject(1.0)] if with_needle else []))
                scene.camera.frame.move_to(ORIGIN)

            return render_last_frame(add, width, height)[..., :3].astype(int)

        # the needle's own pixels: where the frame with it differs from the frame without
        changed = np.abs(build(True) - build(False)).max(axis=-1) > 30
        ys, xs = np.nonzero(changed)
        entry = pixel(fitted.to_scene(needle.entry)[0])
        pts = np.column_stack([xs, ys]).astype(float) + 0.5
        ends = pixel(fitted.to_scene(np.asarray(path.tip))[0])
        along = (ends - entry) / np.linalg.norm(ends - entry)
        on_line = pts[np.abs((pts - entry) @ np.array([-along[1], along[0]])) < 3.0]
        reach = (on_line - entry) @ along
        dot = on_line[reach > reach.max() - 3.0]  # the tip's steel dot at the needle's end
        return dot.mean(axis=0), fitted

    def inside(p, fitted) -> bool:
        hull = pixel_hull(np.array([pixel(q) for q in fitted.to_scene(region.surface_points(16))]))
        return hull_contains(hull, p, slack=1.0)

    tip, fitted = drawn_tip(False)
    assert inside(pixel(fitted.to_scene(needle.tip)[0]), fitted), f"{name}: the planned tip is outside its target"
    assert inside(tip, fitted), f"{name}: the drawn tip {tip} lies outside the target's region"
    beside, fitted = drawn_tip(True)
    assert not inside(beside, fitted), f"{name}: a tip drawn beside the target still lies in its region"


def dataclasses_replace(obj, **changes):
    import dataclasses

    return dataclasses.replace(obj, **changes)


def pixel_hull(points: np.ndarray) -> np.ndarray:
    from scenes.kit.anatomy_views import convex_hull_2d

    return np.asarray(convex_hull_2d(points), float)


def hull_contains(hull: np.ndarray, p, slack: float = 0.0) -> bool:
    """``p`` inside the convex polygon ``hull`` (either winding), or within ``slack`` of it."""
    n = len(hull)
    centre = hull.mean(axis=0)
    for k in range(n):
        a, b = hull[k], hull[(k + 1) % n]
        normal = np.array([b[1] - a[1], a[0] - b[0]])
        normal /= max(np.linalg.norm(normal), 1e-9)
        if np.dot(centre - a, normal) > 0:
            normal = -normal
        if np.dot(np.asarray(p) - a, normal) > slack:
            return False
    return True
