"""FluoroPanel (Manim) and render_still on synthetic anatomy: behaviour and per-frame cost."""

from __future__ import annotations


import numpy as np
import pytest

from spine.imaging import CArmPose, Needle
from scenes.kit.fluoro_panel import FluoroPanel
from spine.imaging.synthetic import synthetic_spine

ISO = (0.0, 0.0, 0.0)


@pytest.fixture
def panel(tmp_path):
    return FluoroPanel(
        synthetic_spine(), CArmPose.ap(isocentre=ISO), size=128, height=3.0, cache_dir=tmp_path, label="L4-L5 · AP"
    )


def _grey(panel):
    return panel.image.pixel_array[..., 0].astype(float)


def test_panel_is_a_circular_image_with_label(panel):
    px = panel.image.pixel_array
    assert px.shape == (128, 128, 4)
    assert px[0, 0, 3] == 0 and px[64, 64, 3] == 255  # transparent outside the field
    assert panel.label.text.replace(" ", "") == "L4-L5·AP"
    assert abs(panel.ring.width - 3.0 * panel.detector.field_fraction) < 1e-6


def test_set_needle_darkens_its_shadow_only(panel):
    before = _grey(panel)
    needle = Needle((30, 60, 20), (8, 10, 2), 1.27)
    panel.set_needle(needle)
    after = _grey(panel)
    col, row = panel.project([needle.tip])[0].round().astype(int)
    assert after[row, col] < before[row, col] - 40
    far = panel.project([[-35, 0, -30]])[0].round().astype(int)
    assert abs(after[far[1], far[0]] - before[far[1], far[0]]) < 25  # noise only


def test_take_shot_flashes_then_shows_the_new_image(panel):
    panel.set_needle(Needle((30, 60, 20), (8, 10, 2), 1.27), render=False)
    anim = panel.take_shot()
    anim.begin()
    anim.interpolate(anim.flash * 0.999)
    assert _grey(panel)[64, 64] > 235  # the flash
    anim.interpolate(1.0)
    assert np.array_equal(panel.image.pixel_array, anim.new)
    anim.finish()


def test_the_monitor_glides_with_the_arm_through_a_turn(tmp_path):
    """A 90 degree turn over 2 s at 15 fps shows an image every 2.5 degrees (the arm's sweep),
    one pose after another in order, changing on most frames instead of jumping three times;
    each frame's image is the pose nearest the arm's eased progress (the room's C-arm turns
    with the same easing). (Fails with the former three-image turn: 3 images, 3 changes.)"""
    from manim import smooth, tempconfig

    panel = FluoroPanel(synthetic_spine(), CArmPose.ap(isocentre=ISO, level="L4-L5"), size=64, cache_dir=tmp_path)
    target = CArmPose.lateral(isocentre=ISO, level="L4-L5")
    with tempconfig({"frame_rate": 15}):
        anim = panel.rotate_to(target, run_time=2.0)
    n = len(anim.frames)
    assert n >= 24 and n <= 30
    degrees = [im.pose.rotation_deg for im, _ in anim.frames]
    assert np.all(np.diff(degrees) > 0) and np.diff(degrees).max() <= 90.0 / 24 + 1e-6
    assert anim.frames[0][1].shape == anim.frames[-1][1].shape == (64, 64, 4)  # shown at the monitor's size
    anim.begin()
    shown, changes, previous = [], 0, None
    for frame in range(30):
        anim.interpolate(frame / 30)
        now = panel.image.pixel_array.tobytes()
        k = next((i for i, (_, rgba) in enumerate(anim.frames) if rgba.tobytes() == now), -1)
        shown.append(k)
        changes += now != previous
        previous = now
        arm = smooth(frame / 30) * 90.0
        if k >= 0:
            assert abs(degrees[k] - arm) <= 90.0 / n / 2 + 1e-6 or k == n - 2, (frame, degrees[k], arm)
    anim.finish()
    assert shown == sorted(shown) and len(set(shown)) >= 16 and changes >= 16


def test_rotate_to_turns_through_intermediate_poses(tmp_path):
    panel = FluoroPanel(synthetic_spine(), CArmPose.ap(isocentre=ISO, level="L4-L5"), size=96, cache_dir=tmp_path)
    assert panel.label.text.replace(" ", "") == "L4-L5·AP"
    target = CArmPose.lateral(isocentre=ISO, level="L4-L5")
    anim = panel.rotate_to(target, steps=4)
    assert len(anim.frames) == 4
    assert [round(im.pose.rotation_deg) for im, _ in anim.frames] == [22, 45, 68, 90]
    anim.begin()
    seen = set()
    for a in np.linspace(0, 1, 9):
        anim.interpolate(a)
        seen.add(panel.image.pixel_array.tobytes())
    anim.finish()
    assert len(seen) >= 4
    assert panel.pose == target
    assert "lateral" in panel.label.text


# -- the R / L marker and the view label ---------------------------------------------------------


@pytest.mark.parametrize("view", ["ap", "oblique"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_marker_names_the_requested_side_on_the_half_of_the_image_where_that_side_lies(tmp_path, side, view):
    """For a left and a right request the letter is L / R, and it sits on the half of the image
    where the model's pedicle of that side projects (AP: seen from behind; oblique: turned toward
    the side)."""
    from spine.anatomy.model import SpineModel

    model = SpineModel.default()
    pose = CArmPose.ap("L4-L5", model=model) if view == "ap" else CArmPose.oblique("L4-L5", 30, side, model=model)
    panel = FluoroPanel(model, pose, size=96, cache_dir=tmp_path, side=side)
    assert panel.marker.text == {"left": "L", "right": "R"}[side]
    centre = panel.image.get_center()[0]
    pedicle = panel.point_on_panel(model.landmark("L4", "pedicle", side))[0] - centre
    other = panel.point_on_panel(model.landmark("L4", "pedicle", "left" if side == "right" else "right"))[0] - centre
    marker = panel.marker.get_center()[0] - centre
    assert abs(pedicle) > 0.05 and np.sign(marker) == np.sign(pedicle) and np.sign(pedicle) != np.sign(other)
    # inside the round field, in its upper half
    offset = panel.marker.get_center() - panel.ring.get_center()
    assert np.linalg.norm(offset[:2]) < panel.ring.width / 2 * 0.95 and offset[1] > 0


def test_marker_follows_a_mirrored_monitor(tmp_path):
    from spine.imaging import Detector

    pose = CArmPose.ap(isocentre=ISO, level="L4-L5")
    plain = FluoroPanel(synthetic_spine(), pose, size=64, cache_dir=tmp_path, side="left")
    mirrored = FluoroPanel(
        synthetic_spine(), pose, size=64, cache_dir=tmp_path, side="left", detector=Detector(flip_lr=True)
    )
    left = np.array([[40.0, 0.0, 0.0]])
    for panel in (plain, mirrored):
        x = panel.marker.get_center()[0] - panel.image.get_center()[0]
        shadow = panel.point_on_panel(left)[0] - panel.image.get_center()[0]
        assert panel.marker.text == "L" and np.sign(x) == np.sign(shadow)
    assert np.sign(plain.marker.get_center()[0]) != np.sign(mirrored.marker.get_center()[0])


def test_lateral_marker_names_the_side_nearest_the_detector(tmp_path):
    for detector_side, letter in (("left", "L"), ("right", "R")):
        pose = CArmPose.lateral(isocentre=ISO, level="L4-L5", side=detector_side)
        panel = FluoroPanel(synthetic_spine(), pose, size=64, cache_dir=tmp_path, side="right")
        assert panel.marker.text == letter and panel.marker.side_marker.lateral


def test_label_and_marker_change_on_the_frame_where_the_arm_settles(tmp_path):
    """Frame by frame through a turn played as a scene plays it (15 fps, 2 s: 30 frames at
    alpha < 1, then the frame after the turn, where the arm drawn beside it has settled): the
    label and the marker read the old view on every frame of the turn, and the settled image
    comes only with the new view's label, on the frame after. (The monitor used to put up the
    settled image and its label at two thirds of the turn, with the arm still moving.)"""
    panel = FluoroPanel(
        synthetic_spine(), CArmPose.ap(isocentre=ISO, level="L4-L5"), size=64, cache_dir=tmp_path, side="right"
    )
    target = CArmPose.lateral(isocentre=ISO, level="L4-L5")
    old_label, old_marker = panel.label.text, panel.marker.text
    expected = panel._make_label(target)
    anim = panel.rotate_to(target, steps=4, run_time=2.0)
    settled = anim.rgba[-1]
    anim.begin()
    for frame in range(30):  # Manim's frames of a 2 s play: alpha = t / run_time, t < run_time
        anim.interpolate(frame / 30)
        final = np.array_equal(panel.image.pixel_array, settled)
        assert not final, f"frame {frame}: the settled image during the turn"
        assert panel.label.text == old_label and panel.marker.text == old_marker, f"frame {frame}: changed mid-turn"
    anim.finish()
    assert np.array_equal(panel.image.pixel_array, settled)
    assert "lateral" in panel.label.text and panel.label.text != old_label and panel.marker.text == "L"
    # what is drawn changed too, not only the attribute: the outline of the new label's glyphs
    expected.move_to(panel.label)
    assert abs(panel.label.width - expected.width) < 1e-6 and abs(panel.label.height - expected.height) < 1e-6
    assert (
        abs(
            panel.label.width
            - FluoroPanel(
                synthetic_spine(), CArmPose.ap(isocentre=ISO, level="L4-L5"), size=64, cache_dir=tmp_path
            ).label.width
        )
        > 0.1
    )


@pytest.mark.parametrize("side", ["left", "right"])
def test_burnt_in_marker_of_a_still_is_on_the_treated_side(side):
    """For stills written as plain images the letter is drawn into the pixels, on the side where
    the patient's side projects."""
    from spine.imaging.marker import burn_marker, side_marker

    pose = CArmPose.ap(isocentre=ISO, level="L4-L5")
    grey = np.full((256, 256), 0.3, np.float32)
    out = burn_marker(grey, side_marker(pose, side, 256))
    rows, cols = np.nonzero(out > 0.6)
    assert len(cols) > 20
    toward = pose.project(np.array([[40.0 if side == "left" else -40.0, 0, 0]]), 256)[0, 0] - 127.5
    assert np.all(np.sign(cols - 127.5) == np.sign(toward)) and rows.max() < 128


def test_label_is_right_after_a_turn_played_with_a_fade_in_of_the_panel(tmp_path):
    """The lead beat fades the panel in while the arm turns: the fade redraws the panel's old
    label from its own copy every frame, and the settled label must still win at the end."""
    from manim import FadeIn

    panel = FluoroPanel(synthetic_spine(), CArmPose.ap(isocentre=ISO, level="L4-L5"), size=64, cache_dir=tmp_path)
    target = CArmPose.lateral(isocentre=ISO, level="L4-L5")
    expected = panel._make_label(target)
    fade, turn = FadeIn(panel), panel.rotate_to(target, steps=3)
    fade.begin()
    turn.begin()
    for a in np.linspace(0, 1, 11):
        fade.interpolate(a)
        turn.interpolate(a)
    fade.finish()
    turn.finish()
    assert "lateral" in panel.label.text
    assert abs(panel.label.width - expected.width) < 1e-6


def test_an_unchanged_picture_is_reused_across_frames_and_turns(panel):
    """The monitor image of an unchanged pose, needle, contrast and shot is made once: a per-frame
    updater setting the same needle, or a turn back to a view, reuses it (same bytes); a new shot of
    the same picture still gets new noise (live fluoroscopy flickers)."""
    from spine.imaging.memory import memory

    needle = Needle((30, 60, 20), (8, 10, 2), 1.27)
    panel.set_needle(needle)
    first = panel.image.pixel_array.copy()
    hits = memory.hits
    panel.set_needle(needle)  # the next frame of a wait: nothing changed
    assert memory.hits >= hits + 2  # the needle layer and the image
    assert np.array_equal(panel.image.pixel_array, first)
    ap = panel.pose
    anim = panel.rotate_to(CArmPose.lateral(isocentre=ISO))
    anim.begin(), anim.interpolate(1.0), anim.finish()
    hits = memory.hits
    back = panel.rotate_to(ap, steps=1)
    assert memory.hits > hits and np.array_equal(back.rgba[-1], first)
    shot = panel.take_shot()
    assert not np.array_equal(shot.new, first)


def test_the_memory_cache_keeps_to_its_limit():
    from spine.imaging.memory import MemoryCache

    arrays = [np.full(1000, k, np.float32) for k in range(4)]
    cache = MemoryCache(limit_bytes=3 * arrays[0].nbytes)
    for k, a in enumerate(arrays):
        assert cache.get_or_make(k, lambda a=a: a) is a
    assert len(cache) == 3 and cache.bytes <= 3 * arrays[0].nbytes
    assert cache.get_or_make(0, lambda: "made again") == "made again"  # the least recently used went
    assert cache.get_or_make(3, lambda: "not made") is arrays[3]


SIDE_CASES = [
    ("transforaminal-esi", "L4-L5", "right"),  # drawn from the side
    ("selective-nerve-root-block", "L4-L5", "left"),  # drawn from the side
    ("facet-joint-injection", "L4-L5", "right"),  # drawn from behind
    ("facet-joint-injection", "L4-L5", "left"),  # drawn from behind
]


@pytest.mark.parametrize("name,level,side", SIDE_CASES, ids=[f"{c[0]}-{c[2]}" for c in SIDE_CASES])
def test_the_side_reads_the_same_on_the_drawing_the_section_and_the_monitor(name, level, side):
    """One still per side (the monitor at 96 px, the drawing's layer about 60 px high), for a
    procedure drawn from the side and one drawn from behind, left and right. One rule: the
    monitor's lateral has its detector on the needle's side, so its marker names the treated
    side (the side nearest the detector) in every video. A side drawing is seen from the
    needle's side (the needle's entry nearer the viewer than the sac) and the monitor's lateral
    faces the same way (the vertebral body on the same side of the screen as on the drawing,
    and darker there than the soft tissue beyond it), its marker on the image's posterior half;
    a drawing from behind has the needle's entry on the treated side's half of the screen, as
    the monitor's AP has it; on the AP the marker and the needle's shadow lie on the treated
    side's half; on the axial section (side drawings) the needle comes in on the screen's side
    the R or L letter names."""
    from spine.anatomy.model import SpineModel
    from spine.imaging import Needle
    from scenes.kit.procedure_blocks import DevicePath, axial_inset
    from scenes.kit.anatomy_views import SpineView
    from scenes.procedure_scene import build_illustration, lateral_facing, needle_side_deg
    from spine.procedures.catalog import procedure
    from spine.procedures.planner import plan_needle

    model = SpineModel.default()
    plan = plan_needle(name, level, side)
    needle = plan.needles[0]
    entry, tip = np.asarray(needle.entry, float), np.asarray(needle.tip, float)
    drawing = build_illustration(model, plan, resolution=2.0)
    view = drawing.view
    from_behind = view.kind == "posterior"
    assert from_behind == (name == "facet-joint-injection"), view.kind
    centre = np.asarray(model.level_centre(level), float)
    upper = level.split("-")[0]
    body = np.asarray(model.level_centre(upper), float)
    spinous = np.asarray(model.landmark(upper, "spinolaminar_line"), float)
    half = lambda p, c: np.sign(p[0] - c[0])  # noqa: E731
    if from_behind:
        # the needle's entry on the treated side's half of the drawing
        on_drawing = half(drawing.to_scene(entry)[0], drawing.to_scene(centre)[0])
    else:
        # seen from the needle's side: the entry is nearer the viewer than the level's centre
        assert view.depth(entry)[0] > view.depth(centre)[0] + 20, "the drawing is seen from the far side"
        assert view.oblique_deg == needle_side_deg(model, plan)
        front_on_drawing = np.sign(drawing.to_scene(body)[0, 0] - drawing.to_scene(spinous)[0, 0])
        # the drawing's layer shows the body where the projection puts it
        layer = drawing.mobject.layer
        col, row = np.floor(layer.camera.pixel_of(body)[0]).astype(int)
        assert layer.names[layer.object_id[row, col]].startswith(upper), "the body is not drawn there"

    tech = procedure(name).technique_for(plan.level)
    poses = [lateral_facing(v.pose(plan.level, side, model), needle_side_deg(model, plan)) for v in tech.views]
    lateral = next(p for v, p in zip(tech.views, poses) if v.view == "lateral")
    ap = next(p for v, p in zip(tech.views, poses) if v.view == "ap")
    shown = Needle(tuple(entry), tuple(tip), 0.72)
    monitor = FluoroPanel(model, lateral, size=96, height=3.0, side=side)
    monitor.set_needle(shown)
    letter = "R" if side == "right" else "L"
    assert monitor.marker.text == letter and monitor.marker.side_marker.lateral
    at_body, at_spinous = monitor.point_on_panel(body), monitor.point_on_panel(spinous)
    if not from_behind:
        assert np.sign(at_body[0] - at_spinous[0]) == front_on_drawing, "the monitor's lateral faces the other way"
        grey = monitor.image.pixel_array[..., 0].astype(float)
        col, row = monitor.project([body])[0].round().astype(int)
        ahead = (np.array([col, row]) + (monitor.project([body])[0] - monitor.project([spinous])[0]) * 0.5).round()
        assert grey[row - 2 : row + 3, col - 2 : col + 3].mean() < grey[int(ahead[1]), int(ahead[0])] - 10
    # ... on the image's posterior half, where the needle comes in, clear of the bodies
    assert np.sign(monitor.marker.get_center()[0] - monitor.image.get_center()[0]) == -np.sign(
        at_body[0] - at_spinous[0]
    )

    monitor.set_pose(ap)
    mid = monitor.image.get_center()
    assert monitor.marker.text == letter and not monitor.marker.side_marker.lateral
    assert (
        half(monitor.marker.get_center(), mid)
        == half(monitor.point_on_panel(entry), mid)
        == half(monitor.point_on_panel(tip), mid)
    )
    if from_behind:
        assert on_drawing == half(monitor.point_on_panel(entry), mid), "the drawing and the AP disagree on the side"
        return

    axial = SpineView(model, "axial", axial_level=plan.level)
    inset, fitted = axial_inset(axial, plan, [DevicePath(needle)], np.zeros(3))
    letters = {m.original_text: m.get_center()[0] for m in inset.get_family() if hasattr(m, "original_text")}
    canal = fitted.to_scene(centre)[0, 0]
    assert np.sign(fitted.to_scene(entry)[0, 0] - canal) == np.sign(letters[letter] - canal)


@pytest.mark.parametrize("fps", [15, 30])
def test_spreading_dye_is_shown_in_pulses_of_live_fluoroscopy(panel, fps):
    """While a tracker moves the dye, the monitor takes a new image PULSES_PER_S times a second
    of video (the first frame included) and holds it between pulses, whatever the frame rate;
    each image shows the dye where the tracker was at its pulse."""
    from manim import ValueTracker

    from scenes.kit.fluoro_panel import PULSES_PER_S
    from spine.anatomy.solids import Box, Material, Structure

    class Spreading:  # a dye pattern (ContrastPattern's at / density) growing with its progress
        def at(self, p):
            half = (2.0 + 10.0 * p,) * 3
            return [Structure("dye", "contrast", Material.CONTRAST, Box(center=(0.0, 0.0, 0.0), half_sizes=half))]

        def density(self, p):
            return 1.0

    dye = Spreading()
    progress = ValueTracker(0.0)
    shown: list[float] = []
    set_contrast = panel.set_contrast
    panel.set_contrast = lambda c, p=None, render=True: (shown.append(p), set_contrast(c, p, render))[1]
    panel.follow_contrast(dye, progress)
    frames = []
    for frame in range(2 * fps):  # two seconds of video
        progress.set_value(frame / (2 * fps))
        panel.update(1.0 / fps if frame else 0.0)
        frames.append(panel.image.pixel_array.copy())
    panel.clear_updaters()
    assert len(shown) == round(2 * PULSES_PER_S)
    assert shown[0] == 0.0 and shown == sorted(shown)
    changed = sum(not np.array_equal(a, b) for a, b in zip(frames, frames[1:]))
    assert 0 < changed <= len(shown) - 1  # the picture changes only on a pulse
