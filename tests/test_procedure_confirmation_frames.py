"""The last frame of the confirmation beat: the needle tip at its target on the illustration
and on the fluoroscopy, for procedures with and without a dye pattern.

Each case renders the real ``ProcedureScene`` from its title to the end of ``confirm`` at
320x180 (a short storyboard: every beat 1 s of speech at 5 fps, as the build would schedule it for
speech of that length), then reads the final frame:

* the illustration: needle-coloured pixels where the view projects each planned tip;
* the fluoroscopy: the panel is on screen, each tip's shadow lies inside its circular field,
  and the needle image the panel shows ends there (its farthest pixel along the needle is
  the projected tip), at a planned tip that lies on the target landmark;
* with a dye pattern: the dye the panel shows starts at each needle tip, and the R / L marker
  names the treated side on the half of the image where that side lies.
"""

from __future__ import annotations

import numpy as np
import pytest
from manim import tempconfig

from scenes.kit import palette

pytestmark = pytest.mark.render

WIDTH, HEIGHT, FPS, BEAT_S = 320, 180, 5, 1.0

CASES = [
    ("transforaminal-esi", "L4-L5", "right"),  # root-sleeve dye
    ("medial-branch-block", "L4-L5", "left"),  # two needles, a drop of dye on each target
    ("selective-nerve-root-block", "L5-S1", "left"),  # the one root outlined, no epidural spread
    ("radiofrequency-ablation", "L4-L5", "right"),  # parallel cannulas, checked on front and side views
    ("vertebroplasty", "L1", "right"),  # bone needle, checked on front and side views
]


def render_to_confirm(name: str, level: str, side: str, until: str = "confirm"):
    import dataclasses
    from types import SimpleNamespace

    from pipeline.build import make_storyboard, narration_context
    from scenes.procedure_scene import ProcedureScene
    from spine.videos import resolve
    from voiceover.scripts import load_script

    request = resolve(name, level, side)  # the storyboard as a build makes it, up to the beat `until`
    script = load_script(name).filled(narration_context(request, "en"))
    ids = [b.id for b in script.beats]
    script = dataclasses.replace(script, beats=tuple(script.beats[: ids.index(until) + 1]))
    board = make_storyboard(request, script, [SimpleNamespace(duration_s=BEAT_S)] * len(script.beats), FPS)
    with tempconfig(
        {
            "pixel_width": WIDTH,
            "pixel_height": HEIGHT,
            "frame_rate": FPS,
            "dry_run": True,
            "disable_caching": True,
            "write_to_movie": False,
            "background_color": palette.BACKGROUND,
        }
    ):
        scene = ProcedureScene(board)
        scene.render()
        scene.renderer.update_frame(scene)
        frame = np.array(scene.renderer.get_frame())[..., :3].astype(int)
        frame_width = scene.camera.frame_width
    return scene, frame, frame_width


def pixel(point, frame_width: float) -> tuple[int, int]:
    frame_height = frame_width * HEIGHT / WIDTH
    col = (point[0] + frame_width / 2) / frame_width * WIDTH
    row = (frame_height / 2 - point[1]) / frame_height * HEIGHT
    return int(round(col)), int(round(row))


def radius_px(panel, needle, gauge: int) -> float:
    """The needle's radius on the panel's image, in pixels, at its tip."""
    from spine.imaging.layers import GAUGE_OD_MM

    tip = np.asarray(needle.tip, float)
    d = tip - np.asarray(needle.entry, float)
    side = np.cross(d, np.asarray(panel.pose.beam_direction, float))
    side /= np.linalg.norm(side)
    a, b = panel.project(np.array([tip, tip + side * GAUGE_OD_MM.get(gauge, 0.7) / 2]))
    return float(np.linalg.norm(b - a))


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def confirmed(request):
    return request.param, *render_to_confirm(*request.param)


def test_illustration_shows_each_needle_tip_at_its_planned_tip(confirmed):
    """The steel tip (a dark-ringed dot) at each planned tip, and the dark edge around it that
    tells it apart from ivory bone and the root's glow."""
    (name, level, side), scene, frame, frame_width = confirmed
    needle, edge = _rgb(palette.NEEDLE), _rgb(palette.NEEDLE_EDGE)
    for n in scene.plan.needles:
        col, row = pixel(scene.illustration.to_scene(n.tip)[0], frame_width)
        patch = frame[max(row - 2, 0) : row + 3, max(col - 2, 0) : col + 3]
        distance = np.linalg.norm(patch - needle, axis=-1).min()
        assert distance < 70, f"{name} {n.label}: no needle colour at the tip's pixel ({col}, {row}): {distance:.0f}"
        # the edge is under a pixel wide at this size: its darkest pixel beside the tip is still
        # far darker than the steel (bone, the root and the glow lie far from it)
        ring = frame[max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4]
        dark = np.linalg.norm(ring - edge, axis=-1).min()
        steel = np.linalg.norm(needle - edge)
        assert dark < 0.4 * steel, f"{name} {n.label}: no dark edge beside the tip ({col}, {row}): {dark:.0f}"


def test_fluoroscopy_is_on_screen_and_its_needle_ends_at_the_target(confirmed):
    (name, level, side), scene, frame, frame_width = confirmed
    panel = scene.fluoro
    assert panel is not None and panel in scene.mobjects, f"{name}: no fluoroscopy at the end of the check"
    # the panel really is drawn: its field is grey x-ray, not the dark background
    centre = pixel(panel.ring.get_center(), frame_width)
    field = frame[centre[1] - 10 : centre[1] + 10, centre[0] - 10 : centre[0] + 10]
    assert np.abs(field - _rgb(palette.BACKGROUND)).mean() > 25, f"{name}: the fluoroscopy field is empty"
    layer = panel._needle_layer_now
    assert layer is not None and layer.max() > 0, f"{name}: the fluoroscopy shows no needle"
    for n in scene.plan.needles:
        # on the frame: the tip's shadow lies inside the circular field
        shadow = panel.point_on_panel(n.tip)
        radius = panel.ring.width / 2
        assert np.linalg.norm(shadow[:2] - panel.ring.get_center()[:2]) < radius * 0.95, (
            f"{name}: tip outside the field"
        )
        # on the image the panel shows: this needle's steel ends at the projected tip
        tip_px, entry_px = panel.project(np.array([n.tip, n.entry]))
        along = tip_px - entry_px
        along = along / np.linalg.norm(along)
        rows, cols = np.nonzero(layer > 0.05 * layer.max())
        pts = np.stack([cols, rows], axis=1).astype(float) + 0.5
        rel = pts - tip_px
        near_line = np.abs(rel[:, 0] * along[1] - rel[:, 1] * along[0]) < 3.0  # this needle's pixels
        ahead = (pts[near_line] - tip_px) @ along
        slack = 2.0 + radius_px(panel, n, scene.tech.needle.gauge)  # the round end of the steel
        assert ahead.max() < slack, f"{name} {n.label}: steel {ahead.max():.1f} px beyond the planned tip"
        assert ahead.max() > -slack, f"{name} {n.label}: steel stops {-ahead.max():.1f} px short of the tip"
    # ... and the planned tip is at the target landmark the plan names
    from spine.procedures.planner import target_point

    for n in scene.plan.needles:  # a model landmark, or a target the planner derives (the root block's)
        target = np.asarray(target_point(scene.model, n.target, n.target_level, scene.plan.side, name)[0], float)
        assert np.linalg.norm(np.asarray(n.tip) - target) < 8.0, f"{name} {n.label}: tip far from {n.target}"


def test_dye_starts_at_each_needle_tip_and_the_marker_names_the_side(confirmed):
    (name, level, side), scene, frame, frame_width = confirmed
    if scene.conf.contrast is None:
        pytest.skip(f"{name} checks the tip without dye")
    panel = scene.fluoro
    layer = panel._contrast_layer_now
    assert layer is not None and layer.max() > 0.3, f"{name}: no dye on the fluoroscopy"
    rows, cols = np.nonzero(layer > 0.05)
    dye = np.stack([cols, rows], axis=1).astype(float)
    mm = panel.size / panel.pose.fov_mm * panel.pose.magnification  # pixels per mm at the isocentre
    for n in scene.plan.needles:
        tip = panel.project(np.asarray(n.tip, float))[0]
        assert np.linalg.norm(dye - tip, axis=1).min() < 4 * mm, f"{name} {n.label}: the dye is not at the tip"
    if panel.pose.view != "lateral":
        assert panel.marker.text == {"left": "L", "right": "R"}[side]
        # on the half of the image toward which this side of the patient lies (the field may be
        # centred off the midline, on the tip)
        other = "left" if side == "right" else "right"
        this_x, other_x = (
            panel.point_on_panel(scene.model.landmark(_vertebra(level), "pedicle", s))[0] for s in (side, other)
        )
        centre = panel.image.get_center()[0]
        assert np.sign(panel.marker.get_center()[0] - centre) == np.sign(this_x - other_x)


def _vertebra(level: str) -> str:
    return level.split("-")[0]


def test_vertebroplasty_cement_under_live_side_view():
    """The cement beat: the side view runs while the cement fills the front of the body, and
    on that image the cement lies inside the body's shadow, away from its back wall."""
    scene, frame, frame_width = render_to_confirm("vertebroplasty", "L1", "right", until="cement")
    panel = scene.fluoro
    assert panel in scene.mobjects and panel.pose.view == "lateral"
    cement = panel._contrast_layer_now
    assert cement is not None and cement.max() > 0
    body = next(s for s in scene.model.structures(levels=["L1"]) if s.kind == "body")
    shadow = panel.project(body.solid.surface_points(24))
    rows, cols = np.nonzero(cement > 0.05 * cement.max())
    lo, hi = shadow.min(axis=0) - 2, shadow.max(axis=0) + 2
    assert np.all((cols >= lo[0]) & (cols <= hi[0]) & (rows >= lo[1]) & (rows <= hi[1]))
    # away from the back wall: the back of the body is toward the needle's entry on the side view
    back = panel.project(
        np.asarray(body.solid.center) + np.asarray(scene.model.vertebra_frame("L1")[1])[:, 1] * body.solid.radii[1]
    )[0]
    front = panel.project(
        np.asarray(body.solid.center) - np.asarray(scene.model.vertebra_frame("L1")[1])[:, 1] * body.solid.radii[1]
    )[0]
    axis = (back - front) / np.linalg.norm(back - front)
    depth = (np.stack([cols, rows], axis=1) + 0.5 - front) @ axis / np.linalg.norm(back - front)
    assert depth.max() < 0.8  # nothing in the back quarter of the body (5 % for the projection's spread)


def test_the_target_label_leads_to_the_structure_it_names_and_the_level_was_ringed(confirmed):
    """The label the where beat puts on the close drawing (the nerves the narration names)
    ends its leader line on that structure as drawn: a pixel where the named root is the
    visible surface (the root blocks, vertebroplasty's root below the pedicle); the medial
    branches' lines end on the nerves drawn along their landmarks. The ring the where beat
    leaves on a side drawing is centred on the level's disc or body."""
    from manim import Dot

    from scenes.kit.procedure_blocks import illustration_group

    (name, level, side), scene, frame, frame_width = confirmed
    target = scene.target
    assert target is not None and target in scene.mobjects, f"{name}: no target label on the drawing"
    dots = [m.get_center() for m in target.get_family() if isinstance(m, Dot)]
    assert dots, f"{name}: the label has no leader line"
    group = illustration_group(scene.illustration.mobject)
    layer = group.layer
    words = scene.context.get("nerves") or ""
    if "nerve root" in words:
        root = words.split()[1]  # "the L4 nerve root ..."
        for p in dots:
            col, row = group.pixel_at(p)
            owner = layer.names[layer.object_id[row, col]]
            assert owner.startswith(f"root.{root}.{side}"), f"{name}: the leader ends on {owner}"
    else:  # the medial branches: drawn curves, each led to at its groove point
        curves = target[0]
        for p in dots:
            assert min(np.linalg.norm(c.points - p, axis=1).min() for c in curves) < 1e-6
    ring = scene.level_ring
    if scene.illustration.view.kind == "posterior":
        assert ring is None  # a drawing from behind rings the level in its own layer
    else:
        col, row = group.pixel_at(ring.get_center())
        owner = layer.names[layer.object_id[row, col]]
        # on the disc or body (or on a root that runs in front of it: L5 over the L5-S1 disc)
        assert owner.startswith((f"disc.{level}", f"{level}.body", f"{level}.bone", "root.")), (
            f"{name}: the ring is centred on {owner}"
        )
