"""The procedure videos: one generic scene for every procedure in ``spine/procedures/data``.

A short script over shared blocks (``scenes/kit/procedure_blocks.py``), driven by the
procedure's data (views, needle, confirmation, medication, risks) and the validated needle
plan, both read from the storyboard's props (``spine.video_props.VideoProps``, made by the pipeline
before narration: this scene loads no data and plans nothing): the needle drawn on the illustration and
the needle on the simulated fluoroscopy are the same 3D line, projected by the same view.
Beats a procedure does not have are simply never called; a beat id this scene does not
know fails loudly (``NarratedScene``).
"""

from __future__ import annotations

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    AnimationGroup,
    Circle,
    Create,
    DashedLine,
    Dot,
    Indicate,
    Polygon,
    Ellipse,
    Line,
    VMobject,
    FadeIn,
    FadeOut,
    Transform,
    ValueTracker,
    VGroup,
    always_redraw,
    config,
    linear,
    smooth,
)
from manim.utils.rate_functions import ease_in_out_sine

from spine.anatomy.model import SpineModel
from scenes.kit.anatomy_views import SOFT_TISSUE_KINDS, SpineView
from spine.imaging.contrast import combined, contrast_pattern, neighbour_interspace
from scenes.kit.fluoro_panel import FluoroPanel, monitor_pixels
from scenes.kit import palette
from scenes.kit.cards import (
    SAFE_WIDTH,
    play_closing,
    panel,
    paragraph,
    play_title,
    replace_words,
    text,
    title_card,
)
from scenes.kit.procedure_blocks import (
    POSTERIOR_APPROACHES,
    DevicePath,
    Fitted,
    NeedleOnDrawing,
    axial_inset,
    fact_card,
    fit_lines,
    glow_size_mm,
    DrawnCover,
    illustration_group,
    label_spot,
    plain,
    polyline_mobject,
    problem_site,
    problem_site_at,
    soft_spot,
    wrap,
)
from scenes.kit.room import EndRoom, SideRoom, angle_words
from scenes.kit.typography import TextDoesNotFit
from scenes.narrated import HOLD_STILL_S, NarratedScene
from spine.errors import InternalError
from spine.procedures.schema import CONTRAST_PATTERNS
from spine.anatomy.levels import neighbours

# The frame's zones (14.2 x 8 units): the heading at the top of the title-safe area; the
# pictures in the band below it; the words' own zone under the pictures, above the bottom
# 15 % where a player draws its captions (y < -2.8), all inside the title-safe 90 %. The
# needle's drawing ends at y = -1.5, above the top of a two-line caption.
ILLUSTRATION_CENTER = LEFT * 3.45 + UP * 0.72
ILLUSTRATION_BOX = (6.2, 4.45)
ILLUSTRATION_FADE = 0.1  # its edges fade out over a tenth of its size (a vignette, not a hard crop)
FLUORO_CENTER = RIGHT * 3.5 + UP * 0.82  # its label ends at y = -1.34
FLUORO_HEIGHT = 4.0
CARD_CENTER = RIGHT * 3.5 + UP * 0.5  # cards beside the illustration, inside the picture band
PICTURE_BAND = (-1.85, 2.95)  # y range of pictures and cards
CAPTION_AT = DOWN * 2.35  # the words' zone: -2.8 < y < -1.9
CAPTION_HEIGHT = 0.9
CAPTION_BOTTOM = -2.78  # a caption stands on the zone's floor: a second line grows it upward, clear of the band
# ... up to 0.03 below the needle's drawing (a caption too tall for that is set smaller, at least 24 px)
CAPTION_ROOM = ILLUSTRATION_CENTER[1] - ILLUSTRATION_BOX[1] / 2 - 0.03 - CAPTION_BOTTOM
BALLOON = "#E88FA8"  # the kyphoplasty balloon
CEMENT = "#DCE3E8"  # bone cement: grey-white, as it looks
HEAT_OUTER, HEAT_CORE = "#E03A1E", "#FF9A2E"  # the burn: red around, orange at the core
RING_GAP_DEG = 110.0  # the level's arc is open this much toward the back (the canal, the foramen)


def illustration_levels(plan, model=None) -> list[str]:
    """The level and its neighbours, stretched to every level the plan's needles and lead reach
    and to the treated structure (the caudal injection treats the lumbosacral roots)."""
    from spine.anatomy.levels import VERTEBRAE, parse_level

    names = neighbours(plan.level)
    wanted = set(names)
    if model is not None:
        site = parse_level(problem_site_at(model, plan)[0])
        wanted.update([site.upper, site.lower] if hasattr(site, "upper") else [site.name])
    for n in plan.needles:
        if n.lead:
            wanted.add(str(parse_level(n.target_level)))
        wanted.add(_vertebra_of(n.target_level))
    idx = [VERTEBRAE.index(v) for v in wanted if v in VERTEBRAE]
    lo, hi = min(idx), max(idx)
    out = []
    for i in range(lo, hi + 1):
        out.append(VERTEBRAE[i])
        if i < hi:
            out.append(f"{VERTEBRAE[i]}-{VERTEBRAE[i + 1]}")
    return out


def _vertebra_of(level: str) -> str:
    from spine.anatomy.levels import Interspace, parse_level

    p = parse_level(level)
    return p.lower if isinstance(p, Interspace) else p.name


def illustration_kind(plan) -> str:
    return "posterior" if plan.approach in POSTERIOR_APPROACHES else "lateral"


# Approaches whose side drawing opens the foramen from the needle's side (the near articular
# processes, lamina and transverse process cut away; the pedicles stay and frame the foramen)
FORAMEN_APPROACHES = ("transforaminal", "transforaminal_s1")
# ... and those whose side drawing opens one structure by a plane just beyond the needle tip
SECTIONED = {"disc_extrapedicular": "disc", "transpedicular": "body"}


def needle_side_deg(model, plan) -> float:
    """The side the needle comes in from, as a ``SpineView`` oblique angle (+90 = from the
    patient's left, -90 = from the right): a side drawing is seen from there (the needle, the
    foramen and the root it treats on the near side, in front of the sac) and every lateral
    C-arm view puts its detector there (:func:`lateral_facing`). A needle near the midline
    counts as on the requested side (a right paramedian interlaminar: from the right), and
    from the left when the procedure has no side (the caudal needle)."""
    centre = np.asarray(model.level_centre(plan.needles[0].target_level), float)
    entry = np.asarray(plan.needles[0].entry, float)
    off = entry[0] - centre[0]
    if abs(off) <= 15.0:
        return -90.0 if plan.side == "right" else 90.0
    return -90.0 if off < 0 else 90.0


WHERE_TURN_S = 1.4  # the where beat's turn of the whole spine (short: every frame is a layer)


def where_turn(model, plan) -> tuple[float, float]:
    """The where beat's turn of the whole spine (``SpineView`` angles, 0 = from behind, +90 =
    from the patient's left): from behind (the side shows) to the needle's side for a drawing
    seen from the side; from the needle's side (the level on the spine's curves) to behind
    for a drawing seen from behind."""
    side = needle_side_deg(model, plan)
    end = illustration_view(model, plan).oblique_deg
    return (side, end) if illustration_kind(plan) == "posterior" else (0.0, end)


def lateral_facing(pose, seen_from_deg: float):
    """A lateral C-arm ``pose`` turned so its detector is on the needle's side
    (``seen_from_deg``: :func:`needle_side_deg`, -90 = the patient's right), in every video,
    whether its drawing is seen from the side or from behind: the monitor's lateral and a side
    drawing beside it (seen from the same side) have the front of the spine on the same side
    of the screen. It is also where the detector goes in the room: on the operator's side, the
    needle's side, with the tube (the stronger scatter) on the far side. The R / L marker of a
    lateral names the side nearest the detector, as a radiographer marks it, so a right-sided
    injection's lateral reads R in every video (a facet joint's as a nerve root's). Other
    poses are left as the data gives them."""
    if abs(abs(pose.rotation_deg) - 90.0) > 0.5 or abs(abs(seen_from_deg) - 90.0) > 0.5:
        return pose
    return pose.with_(rotation_deg=90.0 if seen_from_deg > 0 else -90.0)


def illustration_view(model, plan) -> SpineView:
    """The view the needle is shown on (posterior for the joints, else a side view)."""
    if illustration_kind(plan) == "posterior":
        return SpineView(model, "posterior")
    deg = needle_side_deg(model, plan)
    return SpineView(model, "lateral") if deg == 90.0 else SpineView(model, "oblique", oblique_deg=deg)


def illustration_cut(model, plan, view):
    """The cut-away of the needle's drawing: a side view opens the near side (the foramen and
    its root, the canal and the epidural space), the disc (discography) and the body
    (vertebroplasty) are opened by a plane just beyond the needle tip, so the tip shows on
    the cut face; a posterior view is drawn whole. (near_side, near_parts, cut)."""
    if view.kind == "posterior":
        return True, None, None
    near_parts = None
    if plan.approach in FORAMEN_APPROACHES:
        near_parts = ("lamina", "sap", "sap_neck", "iap", "pars", "tp")
    cut = None
    what = SECTIONED.get(plan.approach)
    if what is not None:
        level = plan.level
        names = (
            (f"disc.{level}.annulus", f"disc.{level}.nucleus") if what == "disc" else (f"{_vertebra_of(level)}.bone",)
        )
        through = np.asarray(plan.tip, float) - np.asarray(view.toward) * 3.0  # 3 mm beyond the tip
        cut = view.section(*names, through=through)
    return False, near_parts, cut


def illustration_window(model, plan, view, levels, aspect: float) -> tuple[float, float, float, float]:
    """The mm window (around the view's anchor) of the needle's drawing: the treated level's
    bones, the needles from skin to tip and the treated structure, widened to ``aspect``
    (width / height) so the drawing fills its box."""
    from spine.anatomy.levels import parse_level

    parsed = parse_level(plan.level)
    wanted = {str(parsed), parsed.upper, parsed.lower} if hasattr(parsed, "upper") else {parsed.name}
    pts = [
        s.solid.vertices[::11] if hasattr(s.solid, "vertices") else s.solid.surface_points(6)
        for s in view._drawn(levels, None, None)
        if s.level in wanted and (s.kind in ("annulus",) or s.kind.endswith("bone") or s.kind == "bone_surface")
    ]
    extra = [n.entry for n in plan.needles] + [n.tip for n in plan.needles] + [problem_site_at(model, plan)[1]]
    for n in plan.needles:
        extra += list(n.lead)
    pts.append(np.asarray(extra, float))
    p = np.vstack(pts) - view.anchor
    u, v = p @ view.right, p @ view.up
    u0, u1, v0, v1 = float(u.min()), float(u.max()), float(v.min()), float(v.max())
    pad = 0.07 * max(u1 - u0, v1 - v0) + 4.0
    u0, u1, v0, v1 = u0 - pad, u1 + pad, v0 - pad, v1 + pad
    w, h = u1 - u0, v1 - v0
    if w / h < aspect:
        grow = (aspect * h - w) / 2
        u0, u1 = u0 - grow, u1 + grow
    else:
        grow = (w / aspect - h) / 2
        v0, v1 = v0 - grow, v1 + grow
    return u0, v0, u1, v1


def treated_structures(model, plan) -> list[str]:
    """The structures a side drawing rings (a cropped, opened drawing is all one level: the
    ring goes to what is treated): the exiting root, the disc, the broken body."""
    from spine.anatomy.levels import exiting_root

    level, side = plan.level, plan.side or "right"
    if plan.approach in FORAMEN_APPROACHES:
        try:
            root = exiting_root(level) if "-" in level else level
        except Exception:  # noqa: BLE001
            return []
        names = [f"root.{root}.{side}", f"root.{root}.{side}.extraforaminal"]
    elif plan.approach == "disc_extrapedicular":
        names = [f"disc.{level}.annulus"]
    elif plan.approach == "transpedicular":
        names = [f"{_vertebra_of(level)}.bone"]
    else:
        return []
    known = {s.name for s in model.structures()}
    return [n for n in names if n in known]


def build_illustration(model, plan, resolution: float | None = None) -> Fitted:
    """The drawing the needle is shown on, cropped to the treated level and fitted to fill its
    box (the needles from their skin entries inside it). ``resolution``: the layer's pixels per
    scene unit before the fit (default: the box's own pixels at the output's size)."""
    from manim import config

    view = illustration_view(model, plan)
    levels = illustration_levels(plan, model)
    drawable = [lv for lv in levels if _has_structures(model, lv)]
    near_side, near_parts, cut = illustration_cut(model, plan, view)
    aspect = ILLUSTRATION_BOX[0] / ILLUSTRATION_BOX[1]
    window = illustration_window(model, plan, view, drawable, aspect)
    # the layer's own pixels match the box's on screen (no upscaling of a small layer)
    if resolution is None:
        px_per_unit = config.pixel_width / config.frame_width
        resolution = px_per_unit * ILLUSTRATION_BOX[0] / ((window[2] - window[0]) * view.scale)
    mob = view.spine_mobject(
        levels=drawable,
        highlight=plan.level if plan.level in drawable and view.kind == "posterior" else None,
        highlight_structures=treated_structures(model, plan) if view.kind != "posterior" else (),
        near_side=near_side,
        near_parts=near_parts,
        cut=cut,
        window=window,
        resolution=resolution,
        fade_edges=ILLUSTRATION_FADE,
    )
    if plan.approach == "si_joint":  # the joint is between the sacrum and the back of the ilium
        pelvis = view.spine_mobject(
            levels=[None],
            kinds=["ilium_posterior", "si_joint"],
            window=window,
            resolution=resolution,
            fade_edges=ILLUSTRATION_FADE,
        )
        mob = VGroup(pelvis, mob)
    return Fitted(view, mob, *ILLUSTRATION_BOX, ILLUSTRATION_CENTER)


def _has_structures(model, level) -> bool:
    try:
        return bool(model.structures(levels=[level]))
    except Exception:  # noqa: BLE001
        return False


def _along_back(points: np.ndarray, distance: float) -> np.ndarray:
    """The point ``distance`` mm back from the end of a polyline."""
    left = float(distance)
    for a, b in zip(points[::-1], points[-2::-1]):
        seg = float(np.linalg.norm(b - a))
        if seg >= left:
            return a + (b - a) * (left / seg)
        left -= seg
    return np.asarray(points[0], float)


def centred_on_tip(pose, tip, far_mm: float = 20.0):
    """``pose``, its field moved halfway to the needle tip when the tip lies ``far_mm`` or more
    from its centre (a tip at the lead's far end or below the sacrum stays in view)."""
    iso, tip = np.asarray(pose.isocentre, float), np.asarray(tip, float)
    if np.linalg.norm(tip - iso) > far_mm:
        return pose.with_(isocentre=tuple(0.5 * (iso + tip)))
    return pose


def _between(a, b, t: float):
    """The C-arm part way (``t``) from pose ``a`` to pose ``b`` (angles only; for the room drawing)."""
    return b.with_(
        rotation_deg=a.rotation_deg + (b.rotation_deg - a.rotation_deg) * t,
        tilt_deg=a.tilt_deg + (b.tilt_deg - a.tilt_deg) * t,
    )


def best_needle_pose(poses, direction) -> int:
    """Index of the technique's view that shows the needle longest (beam most across it)."""
    d = np.asarray(direction, float)
    scores = [abs(float(np.dot(p.beam_direction, d))) for p in poses]
    return int(np.argmin(scores))


def data_words(props) -> list[str]:
    """Every phrase of the procedure data this scene may show for a request, read from its props
    (``spine.video_props.VideoProps``: the words it passes through ``term``), so a build can check a
    translation has them all before anything is rendered."""
    proc, plan, tech = props.procedure, props.plan, props.technique
    conf, med, pos = tech.confirmation, tech.medication, tech.position
    words = [proc.title, tech.target.words, tech.needle.words, pos.words, pos.support, plan.side]
    words += [v.name for v in tech.views] + [v.purpose for v in tech.views]
    words += [label for n in plan.needles for _, label, _ in DevicePath(n).stops if label]
    if conf.contrast is not None:
        words.append(CONTRAST_PATTERNS[conf.contrast])
    if med is not None:
        words += [med.words, med.volume_words] + [d.name for d in med.drugs] + [d.dose for d in med.drugs if d.dose]
    if conf.stimulation is not None:
        words.append(conf.stimulation.words)
    if conf.manometry is not None:
        words.append(conf.manometry.words)
    for variant in proc.variants:
        words += [variant.title, *variant.steps]
    return [w for w in dict.fromkeys(words) if w]


def inside_safe(mob, margin: float = 0.05):
    """``mob`` moved (not scaled) into the title-safe area's band for pictures and cards."""
    x_max, y_top, y_bottom = SAFE_WIDTH / 2 - margin, PICTURE_BAND[1], CAPTION_AT[1] - CAPTION_HEIGHT / 2
    if mob.get_right()[0] > x_max:
        mob.shift(LEFT * (mob.get_right()[0] - x_max))
    if mob.get_left()[0] < -x_max:
        mob.shift(RIGHT * (-x_max - mob.get_left()[0]))
    if mob.get_top()[1] > y_top:
        mob.shift(DOWN * (mob.get_top()[1] - y_top))
    elif mob.get_bottom()[1] < y_bottom:
        mob.shift(UP * min(y_bottom - mob.get_bottom()[1], y_top - mob.get_top()[1]))
    return mob


class ProcedureScene(NarratedScene):
    data_words = staticmethod(data_words)
    FLUORO_PX: int | None = None  # the monitor's image size (pixels; None: monitor_pixels at this resolution);
    # its place and size on screen do not depend on it

    # -- words that must fit -------------------------------------------------------------------
    def words(self, key: str):
        self._last_key = ("screen", key)
        return super().words(key)

    def term(self, phrase):
        if phrase:
            self._last_key = ("data", phrase)
        return super().term(phrase)

    def _beat_at(self, frame: int) -> str:
        for beat in self.storyboard.beats:
            if beat.start_frame <= frame < beat.start_frame + beat.frames:
                return beat.id
        return self.storyboard.beats[-1].id if self.storyboard.beats else "?"

    def construct(self) -> None:
        """The beats; words too long for their box stop the render naming the video, beat and key."""
        try:
            super().construct()
        except TextDoesNotFit as exc:
            kind, key = getattr(self, "_last_key", None) or ("screen", "?")
            raise TextDoesNotFit(
                exc.words,
                exc.room,
                f"{self.storyboard.video}: beat '{self._beat_at(self.frames_written)}', "
                + (f"data words '{key}'" if kind == "data" else f"screen key '{key}'")
                + ": ",
            ) from None

    # -- shared -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        props = self.storyboard.props  # spine.video_props.VideoProps, made by the pipeline before narration
        if props is None or props.plan is None or props.procedure is None or props.technique is None:
            raise InternalError(
                f"{self.storyboard.video}: the storyboard carries no needle plan; "
                "make it with pipeline.build.make_storyboard"
            )
        self.model = SpineModel.default()
        self.name = props.video
        self.proc = props.procedure
        self.plan = props.plan
        self.level, self.side = self.plan.level, self.plan.side
        self.tech = props.technique
        self.conf = self.tech.confirmation
        needle = self.tech.needle
        self.paths = [DevicePath(n, needle.gauge, needle.inner_gauge) for n in self.plan.needles]
        self.illustration = build_illustration(self.model, self.plan)
        seen_from = needle_side_deg(self.model, self.plan)  # a side drawing's own angle too
        self.poses = [lateral_facing(v.pose(self.level, self.side, self.model), seen_from) for v in self.tech.views]
        self.needle_drawings = [
            NeedleOnDrawing(p, self.illustration.view, self.illustration.mobject, self.illustration.to_scene)
            for p in self.paths
        ]
        self.site = problem_site(self.model, self.plan)
        self.depth = ValueTracker(0.0)
        self.lead_depth = ValueTracker(0.0)
        self.stage = VGroup()
        self.glow = None
        self.target = None
        self.level_ring = None
        self.fracture = None
        self.fluoro = None
        self.needle_mob = None
        self.pattern = None

    def mm(self, value: float) -> float:
        return value * self.illustration.units_per_mm

    def device_points(self, k: int) -> np.ndarray:
        path = self.paths[k]
        pts = path.polyline(self.depth.get_value())
        return self.illustration.to_scene(np.array(pts))

    def lead_points(self, k: int) -> np.ndarray | None:
        pts = self.paths[k].lead_polyline(self.lead_depth.get_value())
        return self.illustration.to_scene(np.array(pts)) if len(pts) >= 2 else None

    def fluoro_device(self):
        f, lf = self.depth.get_value(), self.lead_depth.get_value()
        devices = [p.fluoro_device(max(f, 0.02), lf) for p in self.paths]
        from scenes.kit.procedure_blocks import Device

        return Device(tuple(n for d in devices for n in d.needles))

    def caption(self, lines: list[str], at=CAPTION_AT, px: int = 28) -> VGroup:
        """Words in their own zone under the pictures (at most two lines), standing on the zone's
        floor (``CAPTION_BOTTOM``) so that a second line grows them upward, not into the player's
        caption band, and stays clear of the needle's drawing; ``at`` moves them sideways."""
        for size in (px, 26, 24):
            block = panel(paragraph(lines, px=size, centred=True, max_width=12.5, buff=0.1), padding=0.12)
            if block.height <= CAPTION_ROOM:
                break
        block.move_to(at)
        block.shift(UP * (CAPTION_BOTTOM - block.get_bottom()[1]))
        block.words_zone = True  # (tests: kept clear of the drawing and of the player's band)
        return block

    def clear_stage(self, clock, seconds: float = 0.6) -> None:
        self.fade_out_everything(clock, seconds)
        self.stage = VGroup()
        self.head = None

    def swap_stage(self, *anims_in, seconds: float = 0.8):
        """Animations that fade the stage's captions out; the new ones come in with anims_in."""
        out = [FadeOut(m) for m in self.stage]
        return out + list(anims_in)

    # -- beats --------------------------------------------------------------------------------------
    def beat_title(self, clock) -> None:
        sub = (
            self.says("title.sided", level=self.level, side=self.term(self.side))
            if self.proc.sided and self.side
            else self.says("title.midline", level=self.level)
        )
        brand = self.context.get("brand")
        play_title(clock, title_card(self.term(self.proc.title), sub, brand), brand)

    def beat_where(self, clock) -> None:
        """The camera leads the eye: the whole spine, the level ringed, seen first from where the
        needle's drawing is not (from behind, the side named, for a drawing from the side; from
        the needle's side for a drawing from behind), turns to the drawing's own angle (every
        frame re-rendered at its own angle, eased: a turn, not a cross-fade); then goes in, the
        whole spine -> the region -> the level, each a camera move (the drawing grows about
        the level until it lies where the next, closer drawing has it: an exact match, both
        seen from the same angle), holding still between moves while the narration explains.
        The target's label comes in once the camera has settled."""
        seen = self.illustration.view
        start_deg, end_deg = where_turn(self.model, self.plan)
        front = SpineView(self.model, "posterior")
        first = front.turned(start_deg)
        box_h, box_c = 4.8, LEFT * 3.4 + UP * 0.5
        # the fit of the whole spine (the same at every angle: a turn is about the long axis)
        u0, v0, u1, v1 = first.window_of(first._drawn(None, None, SOFT_TISSUE_KINDS))
        factor = box_h / ((v1 - v0) * first.scale)
        spin, last = first.turn(
            None,
            end_deg,
            run_time=WHERE_TURN_S,
            rate_func=ease_in_out_sine,
            fps=config.frame_rate,
            resolution=config.pixel_width / config.frame_width * factor,
            highlight=self.level,
            bones_only=True,
        )
        image = spin.mobject
        c0 = image.get_center()
        fit = box_h / image.height
        image.scale(fit, about_point=c0).shift(box_c - c0)

        def on_whole(view, point):
            return (view.project(point)[0] - c0) * fit + box_c

        centre = self.model.level_centre(self.level)
        at = on_whole(first, centre)
        marker = Ellipse(width=1.4, height=0.55, color=palette.ACCENT, stroke_width=5).move_to(at)
        words = self.context.get("level_words") or ""
        side = (
            self.says("where.side", side=self.term(self.side))
            if self.proc.sided and self.side
            else self.says("where.midline")
        )
        # narrow enough to leave the strip beside the drawing to the target's label
        tag = panel(paragraph([self.level, *wrap(words, 24, 4), side], px=32))
        inside_safe(tag.move_to(CARD_CENTER + RIGHT * 0.3))
        clock.play(self.set_heading(self.says("heading.where")), FadeIn(image), seconds=1.4)
        clock.play(Create(marker), FadeIn(tag), seconds=1.0)
        clock.wait(share=0.12)
        # the turn to the needle's drawing's angle (the ring follows the level)
        clock.play(
            spin, marker.animate.move_to(on_whole(last, centre)), seconds=WHERE_TURN_S, rate_func=ease_in_out_sine
        )
        shown = image
        if seen.kind != "posterior":
            # seen from the side, the near side opens: the cord in its canal, down to its end at L1-L2
            opened = last.spine_mobject(highlight=self.level, near_side=False)
            opened.scale(fit, about_point=c0).shift(box_c - c0)
            clock.play(FadeIn(opened), seconds=0.6)
            self.remove(image)
            shown = opened
        clock.wait(share=0.1)
        # the camera goes in: the region, then the level (the ring goes in with it and rings the
        # level's disc or body on the close drawing; a drawing from behind rings it in its layer)
        region = self._region_drawing()
        whole_at, whole_k = on_whole(last, centre), last.scale * fit
        ring = self._level_ring() if seen.kind != "posterior" else None
        if region is not None:
            region_at = region.to_scene(centre)[0]
            region_ring = self._level_ring(region)
            self.remove(marker)  # re-added by its animation, over the region's drawing
            self._zoom(
                clock,
                shown,
                whole_at,
                whole_k,
                region.mobject,
                region_at,
                region.units_per_mm,
                Transform(marker, region_ring) if region_ring is not None else marker.animate.move_to(region_at),
                seconds=1.3,
            )
            self.bring_to_front(marker)  # the region's drawing came in over it
            clock.wait(share=0.1)
            shown, whole_at, whole_k = region.mobject, region_at, region.units_per_mm
        level_at = self.illustration.to_scene(centre)[0]
        self.remove(marker)  # re-added by its animation, over the close drawing
        self._zoom(
            clock,
            shown,
            whole_at,
            whole_k,
            self.illustration.mobject,
            level_at,
            self.illustration.units_per_mm,
            Transform(marker, ring) if ring is not None else FadeOut(marker),
            seconds=1.3,
        )
        if ring is not None:
            self.bring_to_front(marker)
        # what the narration names, led to where it is drawn (clear of the ring on the level),
        # once the camera has settled
        self.level_ring = marker if ring is not None else None
        self.target = self._target_drawing(avoid=[tag])
        if self.target is not None:
            clock.play(FadeIn(self.target, lag_ratio=0.3), seconds=1.0)
            # while the narration explains, the eye is led back to the target now and then
            ends = [m.get_center() for m in self.target.get_family() if isinstance(m, Dot)]
            self._hold_with_pulses(clock, clock.remaining_s - 0.3, at=ends)
        self.level_ring = marker if ring is not None else None
        self.stage = VGroup(tag, *([marker] if ring is not None else []))

    def _zoom(self, clock, shown, at, k_shown, target, target_at, k_target, *with_it, seconds: float = 1.3):
        """A camera move in: ``shown`` (``k_shown`` units per mm, the level at ``at``) grows
        about the level until it lies where ``target`` (``k_target``, the level at
        ``target_at``) has it, while ``target`` comes in from the same place and size."""
        k = k_target / k_shown
        c, c2 = shown.get_center(), target.get_center()
        clock.play(
            FadeOut(shown, scale=k, shift=target_at - c - k * (at - c)),
            FadeIn(target, scale=1 / k, shift=c2 + (target_at - c2) / k - at),
            *with_it,
            seconds=seconds,
            rate_func=smooth,
        )

    def _region_drawing(self) -> Fitted | None:
        """The region between the whole spine and the level: two vertebrae above and below the
        level's, seen as the needle's drawing is (from the side, opened; from behind, whole),
        filling the drawing's box. None where it would be hardly wider than the close drawing."""
        from spine.anatomy.levels import VERTEBRAE

        view = self.illustration.view
        upper = _vertebra_of(self.level) if "-" not in self.level else self.level.split("-")[0]
        if upper not in VERTEBRAE:
            return None
        i = VERTEBRAE.index(upper)
        names = [v for v in VERTEBRAE[max(0, i - 2) : i + 3] if _has_structures(self.model, v)]
        if len(names) < 4:
            return None
        levels = []
        for a, b in zip(names, names[1:]):
            levels += [a, f"{a}-{b}"]
        levels = [lv for lv in [*levels, names[-1]] if _has_structures(self.model, lv)]
        # the window: the region's vertebrae and discs (the sacrum's first segment, not all of
        # it), widened to the box's shape; what lies beyond fades out at the edges
        core = [s for s in view._drawn(levels, None, SOFT_TISSUE_KINDS) if not s.level or s.level[0] != "S"]
        core = core or view._drawn(levels, None, SOFT_TISSUE_KINDS)
        u0, v0, u1, v1 = view.window_of(core)
        aspect = ILLUSTRATION_BOX[0] / ILLUSTRATION_BOX[1]
        w, h = u1 - u0, v1 - v0
        if w / h < aspect:
            u0, u1 = u0 - (aspect * h - w) / 2, u1 + (aspect * h - w) / 2
        else:
            v0, v1 = v0 - (w / aspect - h) / 2, v1 + (w / aspect - h) / 2
        mob = view.spine_mobject(
            levels=levels,
            highlight=self.level if view.kind == "posterior" else None,
            near_side=view.kind == "posterior",
            window=(u0, v0, u1, v1),
            fade_edges=0.06,
        )
        return Fitted(view, mob, *ILLUSTRATION_BOX, ILLUSTRATION_CENTER)

    def _level_ring(self, drawing: Fitted | None = None) -> VMobject | None:
        """An accent arc around the level on the close drawing (or ``drawing``): the disc of an
        interspace, the body of a vertebra, on an ellipse along the structure's longer axis on
        screen, open toward the back (:data:`RING_GAP_DEG`), so it brackets the level from the
        front and never crosses the canal, the foramen and its root, or the needle's path."""
        name = f"disc.{self.level}.annulus" if "-" in self.level else f"{self.level}.body"
        try:
            solid = self.model.structure(name).solid
        except Exception:  # noqa: BLE001 - a level without that structure gets no ring
            return None
        fitted = drawing or self.illustration
        pts = solid.vertices[::5] if hasattr(solid, "vertices") else solid.surface_points(10)
        p = fitted.to_scene(np.asarray(pts, float))[:, :2]
        mid = p.mean(axis=0)
        _values, axes = np.linalg.eigh(np.cov((p - mid).T))
        major, minor = axes[:, 1], axes[:, 0]
        u, v = (p - mid) @ major, (p - mid) @ minor
        centre = mid + major * (u.max() + u.min()) / 2 + minor * (v.max() + v.min()) / 2
        a, b = (float(np.ptp(u)) * 1.12 + 0.12) / 2, (float(np.ptp(v)) * 1.45 + 0.14) / 2
        # the back of the level on screen (the model's +y is posterior)
        c3 = np.asarray(pts, float).mean(axis=0)
        ends = fitted.to_scene(np.array([c3 + np.array([0.0, 30.0, 0.0]), c3]))[:, :2]
        back = ends[0] - ends[1]
        towards = float(np.arctan2((back @ minor) / b, (back @ major) / a))
        # seen from behind the back faces the viewer: a whole ring
        half_gap = np.radians(RING_GAP_DEG) / 2 if np.linalg.norm(back) > 0.3 * 30.0 * fitted.units_per_mm else 0.0
        phis = np.linspace(towards + half_gap, towards + 2 * np.pi - half_gap, 48)
        arc = [centre + major * a * np.cos(t) + minor * b * np.sin(t) for t in phis]
        ring = VMobject(stroke_color=palette.ACCENT, stroke_width=5)
        ring.set_points_smoothly([np.array([x, y, 0.0]) for x, y in arc])
        return ring

    def beat_problem(self, clock) -> None:
        w, h = glow_size_mm(self.plan.approach)
        at = self.illustration.to_scene(self.site)[0]
        glow = VGroup(
            soft_spot(self.mm(w * 1.8), self.mm(h * 1.5), palette.INFLAMMATION, 0.22),
            soft_spot(self.mm(w), self.mm(h), palette.INFLAMMATION, 0.5),
        ).move_to(at)
        words = wrap(self.words("problem"), 30, 4)
        label = panel(paragraph(words, px=30))
        inside_safe(label.move_to(CARD_CENTER))
        clock.play(self.set_heading(self.says("heading.problem")), *self.swap_stage(), seconds=0.8)
        clock.play(FadeIn(glow, scale=0.6), FadeIn(label), seconds=1.4)
        clock.play(glow.animate.scale(1.12), seconds=0.8, rate_func=lambda t: np.sin(np.pi * t) ** 2)
        self._clear_of_label(label)
        target = self.target if self.target is not None else self._target_drawing(avoid=[label])
        if self.plan.approach == "transpedicular":  # the broken bone: its front collapsed into a wedge
            self.fracture = self._fracture()
            clock.wait(share=0.1)
            clock.play(FadeIn(self.fracture), glow.animate.set_opacity(0.25), seconds=1.4)
        if target is not None and target not in self.mobjects:  # the nerve the treatment is for, drawn and named
            clock.wait(share=0.1)
            clock.play(FadeIn(target, lag_ratio=0.3), seconds=1.2)
        self.glow, self.target, self.stage = glow, target, VGroup(label)

    def _body_corners(self) -> dict:
        """The treated vertebral body's corners on the side view (scene), from the model's
        endplate and front-third landmarks: top/bottom, front/back."""
        lv = self.level
        top, bottom = (
            np.asarray(self.model.landmark(lv, k), float) for k in ("superior_endplate", "inferior_endplate")
        )
        front = np.asarray(self.model.landmark(lv, "body_anterior_third"), float)
        centre = 0.5 * (top + bottom)
        ahead = (front - centre) * np.array([1.0, 1.0, 0.0]) * 2.0  # centre to the front wall
        pts = {"tf": top + ahead, "tb": top - ahead, "bf": bottom + ahead, "bb": bottom - ahead}
        return {k: self.illustration.to_scene(v)[0] for k, v in pts.items()}

    def _fracture(self) -> VGroup:
        """The compression fracture drawn over the body: the front of the top endplate pushed
        down (about 40 %: a wedge), the old outline masked, a crack across."""
        c = self._body_corners()
        sunk = c["tf"] + (c["bf"] - c["tf"]) * 0.4
        out = (c["tf"] - c["tb"]) * 0.12
        up = (c["tf"] - c["bf"]) * 0.06
        mask = Polygon(
            c["tb"] + up,
            c["tf"] + out + up,
            sunk + out,
            c["tb"] - up * 0.2,
            fill_color=palette.BACKGROUND,
            fill_opacity=1.0,
            stroke_width=0,
        )
        endplate = Line(c["tb"], sunk, color=palette.BONE_SHADE, stroke_width=4)
        middle = 0.25 * (c["tb"] + sunk + c["bf"] + c["bb"])
        a = c["tb"] + (sunk - c["tb"]) * 0.3 + (c["bb"] - c["tb"]) * 0.12
        b = middle + (sunk - middle) * 0.55
        zig = [
            a + (b - a) * t + (np.array([0.0, 0.06, 0.0]) if k % 2 else np.zeros(3))
            for k, t in enumerate(np.linspace(0, 1, 7))
        ]
        crack = VMobject(stroke_color=palette.WARNING, stroke_width=3.5)
        crack.set_points_as_corners(zig)
        return VGroup(mask, endplate, crack)

    def _cement_shape(self) -> VMobject:
        """The cement filling the broken body (under the sunken endplate), front part first."""
        c = self._body_corners()
        sunk = c["tf"] + (c["bf"] - c["tf"]) * 0.4
        inset = lambda p, q, t: p + (q - p) * t  # noqa: E731
        pts = [
            inset(c["tb"], sunk, 0.35),
            inset(sunk, c["tb"], 0.08),
            inset(c["bf"], c["bb"], 0.08),
            inset(c["bf"], c["bb"], 0.6),
        ]
        centre = np.mean(pts, axis=0)
        pts = [centre + (p - centre) * 0.82 for p in pts]
        shape = VMobject(fill_color=CEMENT, fill_opacity=0.9, stroke_color=palette.TEXT_MUTED, stroke_width=1.5)
        shape.set_points_smoothly([*pts, pts[0]])
        return shape

    def _medial_branches(self) -> list[np.ndarray]:
        """Each targeted medial branch as 3D points (mm) from the model's landmarks: out of the
        foramen above, over the top of the transverse process into the groove where it meets
        the joint's upper process, then down and in under the joint."""
        from spine.anatomy.levels import VERTEBRAE

        side = self.side or "right"
        out = []
        for n in self.plan.needles:
            v = _vertebra_of(n.target_level)
            i = VERTEBRAE.index(v) if v in VERTEBRAE else -1
            if i < 1:
                continue
            above = f"{VERTEBRAE[i - 1]}-{v}"
            try:
                groove = self.model.landmark(v, "sap_tp_groove", side)
                start = self.model.landmark(above, "foramen", side)
                lamina = self.model.landmark(v, "lamina", side)
            except Exception:  # noqa: BLE001 - a level without these landmarks draws no nerve
                continue
            start = start + np.array([0.0, 8.0, 0.0])  # the dorsal ramus, just behind the foramen
            lateral = groove + (groove - lamina) * 0.35 + np.array([0.0, 2.0, 4.0])
            under = groove + (lamina - groove) * 0.45 + np.array([0.0, 3.0, -9.0])
            end = lamina + np.array([0.0, 4.0, -14.0])
            out.append(np.array([start, lateral, groove, under, end]))
        return out

    def _target_drawing(self, avoid=()) -> VGroup | None:
        """What the narration names as the target ({nerves}), with a leader label to it as
        drawn: the medial branch nerves (drawn here: the model has no solid for them), the
        treated root, the cord's back columns, the roots in the canal, the joint, the disc;
        the caudal injection's hiatus. ``avoid``: mobjects the label keeps clear of."""
        approach = self.plan.approach
        if approach in ("medial_branch", "rf_parallel"):
            nerves = VGroup()
            points = []
            for branch in self._medial_branches():
                pts = self.illustration.to_scene(branch)
                curve = VMobject(stroke_color=palette.NERVE, stroke_width=5)
                curve.set_points_smoothly(pts)
                nerves.add(curve)
                points.append(pts[2])
            if not len(nerves):
                return None
            leader = self._leader(self.says("label.medial_branch"), points, avoid=avoid, named=[nerves])
            group = VGroup(nerves, leader)
            group.label_panel = leader.label_panel
            return group
        if approach == "caudal_hiatus":
            for level in ("S5", "S4"):
                try:
                    at = self.illustration.to_scene(self.model.landmark(level, "sacral_hiatus"))[0]
                    break
                except Exception:  # noqa: BLE001
                    continue
            else:
                return None
            ring = Circle(radius=0.16, color=palette.ACCENT, stroke_width=4).move_to(at)
            leader = self._leader(self.says("label.hiatus"), [at], colour=palette.ACCENT, avoid=avoid, named=[ring])
            group = VGroup(ring, leader)
            group.label_panel = leader.label_panel
            return group
        words = self.context.get("nerves") or ""
        if not words:
            return None
        names = self.named_structures()
        return self._leader(words[:1].upper() + words[1:], [self._named_point(names)], avoid=avoid, names=names)

    def named_structures(self) -> tuple[str, ...]:
        """The structures the target's words ({nerves}) name, from the plan (so in every
        language): the treated root for the root blocks and vertebroplasty ("the L1 nerve root
        below the pedicle"), the cord for the stimulator, the roots in the canal for the
        epidurals, the treated joint or disc. Names or name prefixes of the model's structures."""
        approach, side = self.plan.approach, self.side or "right"
        if approach in ("transforaminal", "transforaminal_s1", "transpedicular"):
            return (f"root.{self.plan.root}.{side}",)
        if approach == "epidural_lead":
            return ("cord", "conus")
        if approach in ("interlaminar_midline", "interlaminar_paramedian", "caudal_hiatus"):
            return ("cauda_equina", "root")
        if approach == "facet_intraarticular":
            return (f"{self.level}.facet_joint.{side}",)
        if approach == "si_joint":
            return (f"si_joint.{side}",)
        if approach == "disc_extrapedicular":
            return (f"disc.{self.level}.annulus",)
        return ()

    def _named_point(self, names) -> np.ndarray:
        """Where the structures ``names`` are drawn on the close drawing (scene): their visible
        pixel nearest the treated site (the lead's tip for the cord); else the treated site."""
        anchor = np.asarray(self.site, float)
        if self.plan.approach == "epidural_lead":
            lead = self.plan.needles[0].lead
            anchor = np.asarray(lead[-1] if len(lead) else self.plan.tip, float)
        at = self.illustration.to_scene(anchor)[0]
        group = illustration_group(self.illustration.mobject)
        point = group.nearest_drawn(names, at) if names and group is not None else None
        return at if point is None else point

    def _needle_path_points(self) -> np.ndarray:
        """Scene points along every needle (and lead) from skin to tip: a label keeps off them."""
        pts = []
        for n in self.plan.needles:
            along = np.asarray(n.entry) + np.linspace(0, 1, 24)[:, None] * (np.asarray(n.tip) - np.asarray(n.entry))
            pts.append(self.illustration.to_scene(along))
            if len(n.lead):
                pts.append(self.illustration.to_scene(np.asarray(n.lead, float)))
        return np.vstack(pts) if pts else np.zeros((0, 3))

    def _leader(self, words: str, points, colour: str = palette.NERVE, avoid=(), names=(), named=()) -> VGroup:
        """A label with a thin line to each of ``points`` (scene): in the drawing's half of the
        frame inside the title-safe area, never over the structures it names (``names``, as
        drawn, and the overlays ``named`` drawn for it), nor over its leader's ends, the
        needle's path or the mobjects in ``avoid``, and over as little anatomy as can be
        (:func:`label_spot`)."""
        pts = np.array(points)
        drawing = self.illustration.mobject
        # the drawing's half of the frame (the cards start at x = 0.6), between the heading and
        # the words' zone (clear of a two-line caption, which rises to about y = -1.63), inside
        # the title-safe 90 %
        area = (-SAFE_WIDTH / 2 + 0.02, PICTURE_BAND[0] + 0.25, 0.45, PICTURE_BAND[1])
        cover = DrawnCover(drawing, area, names)
        for m in named:
            cover.mark(m.points if len(m.points) else m.get_center(), radius=0.06)
        boxes = [(m.get_corner(np.array([-1, -1, 0])), m.get_corner(np.array([1, 1, 0]))) for m in avoid]
        ring = getattr(self, "level_ring", None)
        keep = np.vstack([self._needle_path_points(), *([ring.points[::4]] if ring is not None else [])])
        # the words on one, two or three lines: whichever shape finds the freest place (a narrow
        # label fits in the gap beside a drawing that fills its box)
        import textwrap

        shapes = []
        for n_lines in (1, 2, 3):
            lines = textwrap.wrap(words, max(8, -(-len(words) // n_lines) + 2)) if n_lines > 1 else [words]
            if len(lines) <= 3 and lines not in shapes:
                shapes.append(lines)
        best = None
        for lines in shapes:
            mob = VGroup(*(text(line, 28, colour, weight="BOLD") for line in lines)).arrange(DOWN, buff=0.08)
            label = panel(mob, padding=0.1)
            if label.width > 3.4 and lines is not shapes[-1]:  # a long bar over the drawing: more lines
                continue
            at, cost = label_spot((label.width, label.height), pts, cover, area, boxes, keep)
            cost += 0.12 * (len(lines) - 1)  # fewer lines read more easily
            if best is None or cost < best[2]:
                best = (label, at, cost)
        label, at, _cost = best
        if at is None:  # nowhere free of what it names: the least covered place
            at, _cost = label_spot((label.width, label.height), pts, DrawnCover(drawing, area), area, boxes)
        if at is None:
            x = float(np.clip(pts[:, 0].mean(), area[0] + label.width / 2, area[2] - label.width / 2))
            at = np.array([x, PICTURE_BAND[1] - label.height / 2, 0.0])
        label.move_to(at)
        lines = VGroup()
        for p in pts:  # from the label's nearest edge
            dx, dy = p[0] - at[0], p[1] - at[1]
            if abs(dx) * label.height >= abs(dy) * label.width:
                edge = label.get_right() if dx > 0 else label.get_left()
            else:
                edge = label.get_top() if dy > 0 else label.get_bottom()
            lines.add(Line(edge, p, color=colour, stroke_width=2.5, buff=0.05))
        dots = VGroup(*(Dot(p, radius=0.045, color=colour) for p in pts))
        group = VGroup(lines, dots, label)
        group.label_panel = label
        label.names_structures = tuple(names)  # what it names (tests check it stays off them)
        label.names_overlays = list(named)
        return group

    def _clear_of_label(self, card) -> None:
        """Move ``card`` down, below the target's label, where the two would overlap."""
        box = getattr(self.target, "label_panel", None) if self.target is not None else None
        if box is None:
            return
        lo, hi = card.get_corner(np.array([-1, -1, 0])), card.get_corner(np.array([1, 1, 0]))
        b_lo, b_hi = box.get_corner(np.array([-1, -1, 0])), box.get_corner(np.array([1, 1, 0]))
        if (lo[:2] < b_hi[:2]).all() and (b_lo[:2] < hi[:2]).all():
            # beside the label, above it or below it: the first that fits the picture band
            moves = [RIGHT * (b_hi[0] + 0.1 - lo[0]), UP * (b_hi[1] + 0.1 - lo[1]), DOWN * (hi[1] - b_lo[1] + 0.1)]
            top, bottom = PICTURE_BAND[1], CAPTION_AT[1] - CAPTION_HEIGHT / 2
            for move in moves:
                n_lo, n_hi = lo + move, hi + move
                if n_hi[0] <= SAFE_WIDTH / 2 - 0.05 and n_hi[1] <= top and n_lo[1] >= bottom:
                    card.shift(move)
                    return
            card.shift(moves[-1])
            inside_safe(card)

    def _room_side_word(self, side: str) -> str:
        return self.term(side)

    def _side_tag(self, px: int = 30) -> VGroup | None:
        """ "Right side" (the request's side, named on screen), or None for a midline procedure."""
        if not (self.proc.sided and self.side):
            return None
        words = self.says("where.side", side=self.term(self.side))
        return panel(text(words[:1].upper() + words[1:], px, palette.ACCENT, weight="BOLD"), padding=0.12)

    def beat_position(self, clock) -> None:
        """The patient on the table as the data says, the entry marked on the back at the level."""
        pos = self.tech.position
        room = SideRoom(self.model, pos.posture, pos.support, 12.4, 4.4, UP * 0.45)
        self.side_room = room
        entry, tip = self.plan.needles[0].entry, self.plan.needles[0].tip
        mark = room.entry_mark(entry)
        needle = room.needle(entry, tip)
        words = (
            self.says("position.you_are_support", position=self.term(pos.words), support=self.term(pos.support))
            if pos.support
            else self.says("position.you_are", position=self.term(pos.words))
        )
        cap = self.caption(fit_lines(words[:1].upper() + words[1:], 60, 2))
        leaving = [
            FadeOut(m)
            for m in (self.illustration.mobject, self.glow, self.target, self.fracture)
            if m is not None and m in self.mobjects
        ]
        clock.play(
            self.set_heading(self.says("heading.position")),
            *self.swap_stage(*leaving, FadeIn(room.mobject), FadeIn(cap)),
            seconds=1.2,
        )
        clock.wait(share=0.25)
        tag = self._side_tag()
        shown = [Create(mark)]
        if tag is not None:
            tag.next_to(needle, UP, buff=0.12)
            shown.append(FadeIn(tag, shift=DOWN * 0.1))
        clock.play(*shown, seconds=0.8)
        steps = list(self.words("position.steps"))
        for step in steps:  # the preparation, in step with the narration
            clock.wait(share=0.08)
            new = self.caption(fit_lines(step, 60, 2))
            clock.play(replace_words(cap, new), seconds=0.6)
            cap = new
        clock.play(FadeIn(needle, shift=DOWN * 0.25), seconds=0.8)
        self.room_parts = VGroup(room.mobject, mark, needle, *([tag] if tag is not None else []))
        self.stage = VGroup(cap)

    def beat_views(self, clock) -> None:
        """The C-arm turns around the patient (seen from the feet) to each view, in the data's
        order; the monitor beside it shows that view; the angle is said in plain words once the
        arm has settled."""
        views = self.tech.views
        self.fluoro = FluoroPanel(
            self.model,
            self.poses[0],
            height=FLUORO_HEIGHT,
            size=self.FLUORO_PX or monitor_pixels(FLUORO_HEIGHT),
            side=self.side,
            labeller=self.pose_labeller(),
        )
        self.fluoro.move_to(FLUORO_CENTER)
        axial = SpineView(self.model, "axial", axial_level=_vertebra_of(self.level) if self.level[0] != "S" else "L5")
        bone = axial.spine_mobject(levels=[_vertebra_of(self.level) if self.level[0] != "S" else "L5"])
        room = EndRoom(
            axial,
            self.level if self.level[0] != "S" else "L5",
            self.tech.position.posture,
            self.side,
            [n.entry for n in self.plan.needles],
            6.0,
            4.6,
            ILLUSTRATION_CENTER,
            bone=bone,
        )
        patient = room.patient()
        arm = room.carm(self.poses[0])
        marks = VGroup(*(room.entry_mark(n.entry) for n in self.plan.needles))
        paths = VGroup(*(room.path(n.entry, n.tip) for n in self.plan.needles))
        tag = self._side_tag()
        if tag is not None:
            at = room.side_point()
            if self.tech.position.posture == "lateral":  # that side is up: the words above it
                tag.next_to(at, UP, buff=0.1)
            else:
                tag.move_to(at + (LEFT if at[0] < ILLUSTRATION_CENTER[0] else RIGHT) * (tag.width / 2 + 0.05))
                tag.shift(UP * 0.2)
            # keep it inside the drawing's half of the frame
            if tag.get_left()[0] < -6.2:
                tag.shift(RIGHT * (-6.2 - tag.get_left()[0]))
            if tag.get_right()[0] > -0.2:
                tag.shift(LEFT * (tag.get_right()[0] + 0.2))
            # ... and off the tube and the detector at every view the arm turns to (a lateral on
            # the treated side puts the detector beside that side): lower down, else higher up
            boxes = [
                (m.get_corner(np.array([-1, -1, 0])), m.get_corner(np.array([1, 1, 0])))
                for pose in self.poses
                for m in room.carm(pose)[2:]
            ]

            def hits(mob) -> bool:
                lo, hi = mob.get_corner(np.array([-1, -1, 0])), mob.get_corner(np.array([1, 1, 0]))
                return any((lo[:2] < b_hi[:2]).all() and (b_lo[:2] < hi[:2]).all() for b_lo, b_hi in boxes)

            if hits(tag):
                for dy in (-0.45, -0.7, 0.45, 0.7, 0.95):
                    if not hits(tag.copy().shift(UP * dy)):
                        tag.shift(UP * dy)
                        break
        say = self.says
        cap = self.caption(fit_lines(angle_words(self.poses[0], say, self._room_side_word), 60, 2))
        leaving = [FadeOut(m) for m in getattr(self, "room_parts", VGroup())]
        clock.play(
            self.set_heading(self.says("heading.views")),
            *self.swap_stage(*leaving, FadeIn(patient), FadeIn(arm), FadeIn(self.fluoro), FadeIn(cap)),
            seconds=1.0,
        )
        extra = [Create(marks), FadeIn(paths)] + ([FadeIn(tag)] if tag is not None else [])
        clock.play(self.fluoro.take_shot(), *extra, seconds=0.8)
        n = len(views) - 1
        per = max(0.6, (clock.remaining_s - 0.3) / max(n, 1))
        previous = self.poses[0]
        for pose in self.poses[1:]:
            turn = max(0.5, min(per * 0.55, 2.2))
            tracker = ValueTracker(0.0)
            arm.add_updater(
                lambda m, tr=tracker, p0=previous, p1=pose: m.become(room.carm(_between(p0, p1, tr.get_value())))
            )
            clock.play(
                tracker.animate.set_value(1.0),
                self.fluoro.rotate_to(pose, run_time=turn),
                seconds=turn,
                rate_func=smooth,
            )
            arm.clear_updaters()
            arm.become(room.carm(pose))
            new = self.caption(fit_lines(angle_words(pose, say, self._room_side_word), 60, 2))
            clock.play(replace_words(cap, new), seconds=0.4)
            cap = new
            clock.wait(seconds=max(0.0, per - turn - 0.4))
            previous = pose
        self.room_parts = VGroup(patient, arm, marks, paths, *([tag] if tag is not None else []))
        self.end_room, self.room_section = room, VGroup(patient, marks, paths)
        self.stage = VGroup(cap)

    def beat_needle(self, clock) -> None:
        best = best_needle_pose(self.poses, self.plan.needles[0].direction())
        anims = [self.set_heading(self.says("heading.needle"))]
        pose = centred_on_tip(self.poses[best], self.plan.tip)
        if pose != self.fluoro.pose:
            anims.append(self.fluoro.rotate_to(pose, run_time=1.0))
        needles = VGroup(
            *(
                always_redraw(lambda k=k: self.needle_drawings[k].mobject(self.depth.get_value()))
                for k in range(len(self.paths))
            )
        )
        first = self.caption(fit_lines(self.context.get("needle") or self.term(self.tech.needle.words), 64, 2))
        room, parts = getattr(self, "end_room", None), getattr(self, "room_parts", VGroup())
        section = getattr(self, "room_section", VGroup())
        drawing = self.illustration.mobject
        overlays = [m for m in (self.glow, self.target, self.fracture) if m is not None and m not in self.mobjects]
        self.room_parts, self.end_room, self.room_section = VGroup(), None, VGroup()
        if room is not None and len(section) and drawing not in self.mobjects:
            # the camera goes in from the room to the target: the room (seen from the feet) grows
            # about the planned tip until it has the drawing's scale, while the drawing comes in
            # from the same place and size with the tip where the room had it (a move in, not a
            # cross-fade in place); what is drawn on it comes in once the camera has settled
            tip = np.asarray(self.plan.tip, float)
            room_at = room.to_scene(tip)[0]
            room_k = float(np.linalg.norm(room.to_scene(tip + np.array([10.0, 0.0, 0.0]))[0] - room_at)) / 10.0
            # (the C-arm and the side's name leave in place; the monitor and the words stay in
            # front of the section as it grows past them)
            self.bring_to_front(*(m for m in (self.fluoro, getattr(self, "head", None)) if m is not None))
            self._zoom(
                clock,
                section,
                room_at,
                room_k,
                drawing,
                self.illustration.to_scene(tip)[0],
                self.illustration.units_per_mm,
                *(FadeOut(m) for m in parts if m not in section),
                *self.swap_stage(FadeIn(first), *anims),
                seconds=1.3,
            )
            if overlays:
                clock.play(*(FadeIn(m) for m in overlays), seconds=0.5)
        else:
            back = [FadeOut(m) for m in parts]
            back += [FadeIn(m) for m in (drawing, *overlays) if m not in self.mobjects]
            clock.play(*self.swap_stage(FadeIn(first), *anims, *back), seconds=1.0)
        self.add(needles)
        # intermittent fluoroscopy: the needle moves a step, then a short shot shows where it
        # is; between shots the monitor holds the last image
        stops = self.paths[0].stops
        section = self._axial_inset()
        section_s = min(4.0, 0.3 * clock.remaining_s) if section is not None else 0.0
        budget = clock.remaining_s - 0.8 - section_s
        previous, cap = 0.0, first
        for fraction, words, kind in stops:
            move = max(0.4, budget * 0.6 * (fraction - previous))
            halfway = previous + 0.5 * (fraction - previous)
            clock.play(self.depth.animate.set_value(halfway), seconds=move / 2, rate_func=smooth)
            clock.play(self._shot(), seconds=0.35)
            clock.play(self.depth.animate.set_value(fraction), seconds=move / 2, rate_func=smooth)
            new = self.caption(fit_lines(self._stop_words(kind, words), 64, 2))
            clock.play(replace_words(cap, new), self._shot(), seconds=0.4)
            cap = new
            clock.wait(seconds=max(0.2, budget * 0.3 / len(stops) - 0.4))
            previous = fraction
        self.fluoro.set_needle(self.fluoro_device())
        self.needle_mob, self.stage = needles, VGroup(cap)
        if section is not None:
            # the section plane slides down the side drawing to the level, then the section
            # itself shows the path beside the sac, seen from the feet, the sides named
            plane, inset = section
            start = plane.copy().shift(UP * (PICTURE_BAND[1] - 0.1 - plane.get_center()[1]))
            start.set_stroke(opacity=0.0)
            clock.play(Transform(start, plane), seconds=min(1.0, section_s * 0.3), rate_func=smooth)
            self.remove(start)
            self.add(plane)
            clock.play(FadeIn(inset, scale=0.85), seconds=min(0.8, section_s * 0.25))
            self.stage.add(plane, inset)

    def _axial_inset(self) -> tuple[VGroup, VGroup] | None:
        """(the section plane's trace on the side drawing, the section) for a side drawing: the
        axial section through the level seen from the feet (as on a scan), the needle's path on
        it beside the sac, R and L on the patient's sides and the treated side named; placed
        in the corner of the drawing with the least anatomy under it. None for the posterior
        drawings, the caudal needle and the stimulator's lead."""
        if self.illustration.view.kind == "posterior" or self.plan.approach in ("caudal_hiatus", "epidural_lead"):
            return None
        level = self.level
        try:
            origin, frame = self.model.axial_plane(level)
            view = SpineView(self.model, "axial", axial_level=level)
        except Exception:  # noqa: BLE001 - a level without a section plane (the sacrum) has no inset
            return None
        origin, frame = np.asarray(origin, float), np.asarray(frame, float)
        trace = self.illustration.to_scene(np.array([origin - frame[:, 1] * 60.0, origin + frame[:, 1] * 60.0]))
        drawing = self.illustration.mobject  # the trace ends at the drawing's edges
        x0, x1 = drawing.get_left()[0] + 0.05, drawing.get_right()[0] - 0.05
        d = trace[1] - trace[0]
        if abs(d[0]) > 1e-6:
            ts = sorted(((x0 - trace[0][0]) / d[0], (x1 - trace[0][0]) / d[0]))
            trace = np.array([trace[0] + d * max(ts[0], 0.0), trace[0] + d * min(ts[1], 1.0)])
        # ... and where the anatomy ends: the image's box is wider than what is drawn (it is
        # widened to the box's shape), and a trace over its empty margin is a stray line
        group = illustration_group(drawing)
        span = group.drawn_span(trace[0], trace[1]) if group is not None else None
        if span is not None:
            trace = np.array(span)
        plane = DashedLine(trace[0], trace[1], color=palette.ACCENT, stroke_width=4, dash_length=0.12)
        w, h = 2.6, 2.15
        corner = self._quiet_corner(w, h + 0.45)
        # the side named where the needle goes in on it (discography's side is the painful one;
        # its needle comes from the other side: the R and L say it)
        entry_x = float(np.asarray(self.plan.needles[0].entry)[0] - np.asarray(origin)[0])
        tag = self._side_tag(26) if abs(entry_x) < 15.0 or (entry_x < 0) == (self.side == "right") else None
        inset, fitted = axial_inset(
            view, self.plan, self.paths, corner + DOWN * 0.225, w, h, treated_structures(self.model, self.plan), tag
        )
        self.axial = fitted
        return plane, inset

    def _quiet_corner(self, w: float, h: float, margin: float = 0.08) -> np.ndarray:
        """The centre of a w x h box in the corner of the side drawing with the least drawn
        anatomy, needle and label under it."""
        drawing = self.illustration.mobject
        lo, hi = drawing.get_corner(np.array([-1, -1, 0])), drawing.get_corner(np.array([1, 1, 0]))
        group = next((m for m in [drawing, *drawing.submobjects] if hasattr(m, "pixel_at")), None)
        avoid = [np.array(self.illustration.to_scene(n.tip)[0]) for n in self.plan.needles]
        for n in self.plan.needles:  # the needle all along, its ends most
            along = np.asarray(n.entry) + np.linspace(0, 1, 9)[:, None] * (np.asarray(n.tip) - np.asarray(n.entry))
            avoid += list(self.illustration.to_scene(along))
        best, best_score = None, None
        for sx in (-1, 1):
            for sy in (-1, 1):
                cx = (lo[0] + margin + w / 2) if sx < 0 else (hi[0] - margin - w / 2)
                # (a low corner keeps clear of a two-line caption, which rises above the words' zone)
                cy = max(lo[1] + margin, PICTURE_BAND[0] + 0.25) + h / 2 if sy < 0 else (hi[1] - margin - h / 2)
                xs, ys = np.linspace(cx - w / 2, cx + w / 2, 9), np.linspace(cy - h / 2, cy + h / 2, 9)
                score = 0.0
                if group is not None:
                    alpha = group.layer.rgba[..., 3]
                    for x in xs:
                        for y in ys:
                            px = group.pixel_at(np.array([x, y, 0.0]))
                            score += float(alpha[px[1], px[0]]) / 255.0 if px is not None else 0.0
                for p in avoid:  # the needle's ends and the label must stay in sight
                    if abs(p[0] - cx) < w / 2 + 0.15 and abs(p[1] - cy) < h / 2 + 0.15:
                        score += 100.0
                if self.target is not None:
                    t_lo, t_hi = (
                        self.target.get_corner(np.array([-1, -1, 0])),
                        self.target.get_corner(np.array([1, 1, 0])),
                    )
                    if t_lo[0] < cx + w / 2 and t_hi[0] > cx - w / 2 and t_lo[1] < cy + h / 2 and t_hi[1] > cy - h / 2:
                        score += 50.0
                    words = getattr(self.target, "label_panel", None)  # the label's words: never under the inset
                    if words is not None:
                        w_lo, w_hi = words.get_corner(np.array([-1, -1, 0])), words.get_corner(np.array([1, 1, 0]))
                        if (
                            w_lo[0] < cx + w / 2
                            and w_hi[0] > cx - w / 2
                            and w_lo[1] < cy + h / 2
                            and w_hi[1] > cy - h / 2
                        ):
                            score += 1000.0
                if best_score is None or score < best_score:
                    best, best_score = np.array([cx, cy, 0.0]), score
        return best

    def _stop_words(self, kind: str, data_words: str) -> str:
        """A needle stop in plain words: the script's ``needle.stop.<kind>`` (the data's words are
        for clinicians: "the groove where the SAP meets the transverse process")."""
        key = "needle.stop." + kind
        if key in (self.context.get("screen") or {}):
            return self.says(key)
        return plain(self.term(data_words)) if data_words else self.says("needle.target")

    def _shot(self):
        """A short exposure of the needle where it is now."""
        self.fluoro.set_needle(self.fluoro_device(), render=False)
        return self.fluoro.take_shot()

    def beat_confirm(self, clock) -> None:
        # with dye the check is how it spreads; without, where the tip lies
        anims = [
            self.set_heading(
                self.says("heading.check_spread" if self.conf.contrast is not None else "heading.check_tip")
            )
        ]
        if self.conf.contrast is not None:
            self.pattern = self._confirmation_pattern()
            pose = self._contrast_pose()
            if pose is not None:
                pose = self._centred_on_pattern(pose)
            if pose is not None and pose != self.fluoro.pose:
                anims.append(self.fluoro.rotate_to(pose, run_time=1.0))
            title = plain(self.term(CONTRAST_PATTERNS[self.conf.contrast]))
            label = self.caption(wrap(title, 64, 2))
            clock.play(*self.swap_stage(*anims, FadeIn(label)), seconds=1.0)
            progress = ValueTracker(0.0)
            pattern = self.pattern
            self.fluoro.follow_contrast(pattern, progress)
            clock.play(progress.animate.set_value(1.0), share=0.6, rate_func=linear)
            self.fluoro.clear_updaters()
            self.fluoro.set_contrast(pattern, 1.0)
            # the technique's other contrast view (the chimney on the lateral, the dorsal stripe of
            # an epidurogram, the fissure's depth), when the beat has time for the turn
            second = self._second_contrast_pose()
            if second is not None and clock.remaining_s > 1.5:
                clock.wait(share=0.05)
                seconds = min(1.2, clock.remaining_s * 0.5)
                clock.play(self.fluoro.rotate_to(self._centred_on_pattern(second), run_time=seconds), seconds=seconds)
        else:
            # no dye pattern: the check views (front and side) show the tip at the target
            checks = self._check_poses()
            label = self.caption(wrap(self.words("confirm"), 64, 2))
            first, rest = (checks[0], checks[1:]) if checks else (None, [])
            if first is not None and first != self.fluoro.pose:
                anims.append(self.fluoro.rotate_to(first, run_time=1.0))
            clock.play(*self.swap_stage(*anims, FadeIn(label)), seconds=1.0)
            for pose in rest:
                clock.wait(share=0.15)
                clock.play(self.fluoro.rotate_to(pose, run_time=1.0), seconds=1.0)
        self.stage = VGroup(label)

    def _confirmation_pattern(self):
        """The technique's dye pattern from the needle tip(s); with a control disc, that
        disc's pattern beside it (discography: the fissured disc and the compact control)."""
        side = self.side or "right"
        tips = [np.asarray(n.tip, float) for n in self.plan.needles]
        tip = np.array(tips) if self.conf.contrast == "target_spot" else tips[0]
        pattern = contrast_pattern(self.conf.contrast, self.model, self.level, side, tip=tip)
        if self.conf.control_contrast is not None:
            control_level = neighbour_interspace(self.level, +1) or neighbour_interspace(self.level, -1)
            if control_level is not None:
                control = contrast_pattern(self.conf.control_contrast, self.model, control_level, side)
                pattern = combined(pattern, control)
        return pattern

    def _check_poses(self) -> list:
        """The technique's last front and side views (not down the beam), centred on the tip."""
        picked = {}
        for view, pose in zip(self.tech.views, self.poses):
            if view.view in ("ap", "lateral") and not view.coaxial:
                picked[view.view] = pose
        out = [centred_on_tip(picked[kind], self.plan.tip) for kind in ("ap", "lateral") if kind in picked]
        if out and out[-1].view == self.fluoro.pose.view:  # start in the view the needle was watched in
            out.reverse()
        return out

    def _contrast_pose(self):
        kinds = sorted(self.conf.contrast_views, key=lambda k: k != "ap")  # AP shows the pattern's outline best
        for kind in kinds:
            for view, pose in zip(self.tech.views, self.poses):
                if view.view == kind and not view.coaxial:
                    if kind == "ap" and self.fluoro.pose.view == "ap":
                        return self.fluoro.pose
                    return pose
        return None

    def _centred_on_pattern(self, pose):
        """``pose`` centred between the needle tip and the dye when they lie apart (the caudal
        chimney rises far above its needle)."""
        centres = np.array([np.asarray(p.solid.center, float) for p in self.pattern.at(1.0)])
        middle = 0.5 * (np.asarray(self.plan.tip) + np.median(centres, axis=0)) if len(centres) else None
        if middle is not None and np.linalg.norm(middle - np.asarray(pose.isocentre)) > 25.0:
            return pose.with_(isocentre=tuple(middle))
        return pose

    def _second_contrast_pose(self):
        """The technique's view of another kind the dye is checked on (not down the beam)."""
        for kind in self.conf.contrast_views:
            if kind == self.fluoro.pose.view:
                continue
            for view, pose in zip(self.tech.views, self.poses):
                if view.view == kind and not view.coaxial:
                    return pose
        return None

    def beat_vascular(self, clock) -> None:
        # the streaks start at the needle tip, in the frame of the level it is at (the sacral
        # canal's caudal needle: the lowest lumbar interspace's)
        level = self.level if self.plan.approach not in ("caudal_hiatus", "transforaminal_s1") else "L5-S1"
        vascular = contrast_pattern("vascular", self.model, level, self.side or "right", tip=self.plan.tip)
        warn = panel(
            text(self.says("vascular.warning"), 32, "#FF8A3D", weight="BOLD", max_width=5.0), padding=0.25, opacity=0.97
        )
        # at the top of the monitor, above its R / L marker (a lateral seen from the right has the
        # marker in the upper left, where the warning covered it)
        marker_top = self.fluoro.marker.get_top()[1] if len(self.fluoro.marker.points) else FLUORO_CENTER[1] + 1.3
        warn.move_to(np.array([FLUORO_CENTER[0], max(FLUORO_CENTER[1] + 1.55, marker_top + 0.08 + warn.height / 2), 0]))
        note = self.caption(list(self.words("vascular.note")))
        clock.play(*self.swap_stage(self.set_heading(self.says("heading.vascular")), FadeIn(note)), seconds=0.8)
        progress = ValueTracker(0.0)
        self.fluoro.set_contrast(None, render=False)
        self.fluoro.follow_contrast(vascular, progress)
        clock.play(progress.animate.set_value(0.12), FadeIn(warn), seconds=0.6, rate_func=linear)
        clock.play(progress.animate.set_value(1.0), share=0.5, rate_func=linear)
        self.fluoro.clear_updaters()
        self.fluoro.set_contrast(self.pattern, 1.0) if self.pattern is not None else self.fluoro.set_contrast(None)
        clock.play(FadeOut(warn), seconds=0.5)
        self.stage = VGroup(note)

    def beat_medicine(self, clock) -> None:
        med = self.tech.medication
        w, h = glow_size_mm(self.plan.approach)
        at = self.illustration.to_scene(self.plan.tip)[0]
        colour = palette.MEDICATION
        clouds = VGroup()
        grown = VGroup()
        for n in self.plan.needles:
            spot = np.asarray(n.tip, float)
            if self.plan.approach == "transpedicular":  # cement fills the body from the front third back
                spot = 0.5 * (spot + np.asarray(self.model.level_centre(self.level), float))
            at = self.illustration.to_scene(spot)[0]
            clouds.add(
                Ellipse(width=self.mm(3), height=self.mm(3), color=colour, fill_opacity=0.75, stroke_width=0).move_to(
                    at
                )
            )
            cloud = Ellipse(
                width=self.mm(w * 1.2), height=self.mm(h * 1.2), color=colour, fill_opacity=0.7, stroke_width=0
            ).move_to(at)
            site = self.illustration.to_scene(self.site)[0]
            if self.plan.approach == "caudal_hiatus" and np.linalg.norm(site - at) > self.mm(20):
                # the large caudal volume rises up the canal toward the lumbosacral roots
                d = site - at
                cloud = Ellipse(
                    width=self.mm(w * 1.2),
                    height=np.linalg.norm(d) + self.mm(h * 0.6),
                    color=colour,
                    fill_opacity=0.7,
                    stroke_width=0,
                )
                cloud.rotate(np.arctan2(d[1], d[0]) - np.pi / 2).move_to(at + d / 2)
            if self.plan.approach == "transpedicular":  # bone cement (grey-white) fills the broken body
                clouds[-1].set_fill(CEMENT)
                cloud = self._cement_shape()
            grown.add(cloud)
        if med is None:
            card = fact_card(
                self.says("medicine.none_card"), list(self.words("medicine.none")), width=5.6, accent=colour
            )
            clouds = VGroup()
        else:
            card = fact_card(
                self.says("medicine.card"),
                [plain(self.term(med.words)), plain(self.term(med.volume_words))],
                width=5.6,
                accent=colour,
            )
        inside_safe(card.move_to(CARD_CENTER))
        fade = [FadeOut(self.fluoro)] if self.fluoro in self.mobjects else []
        clock.play(
            *self.swap_stage(
                self.set_heading(self.says("heading.medicine" if med else "heading.treatment")),
                *fade,
                FadeIn(card),
                *(FadeIn(c) for c in clouds),
            ),
            seconds=1.0,
        )
        if self.fluoro in self.mobjects:
            self.remove(self.fluoro)
        anims = [Transform(clouds, grown)] if len(clouds) else []
        if self.glow is not None:
            anims.append(self.glow.animate.set_opacity(0.06))
        if anims:
            clock.play(*anims, share=0.5)
        if len(clouds):  # the growth slows to a stop: a ring from each cloud as it settles
            self.pulse_if_long_hold(clock, [c.get_center() for c in clouds])
        self.cloud, self.stage = clouds, VGroup(card)

    # procedure-specific beats: a card with the key facts beside the illustration -----------------
    def _reveal(self, clock, card: VGroup, *with_first, keep: float = 0.0, extra=()) -> None:
        """A fact card in, its items one at a time spread over the beat (so the picture changes
        every few seconds, in step with the narration's sentences), then ``extra`` animations."""
        box, (head, rows) = card[0], card[1]
        rows = list(rows)
        slots = len(rows) + len(extra)
        clock.play(
            *with_first, FadeIn(box), FadeIn(head), *(FadeIn(rows[0], shift=LEFT * 0.15),) if rows else (), seconds=1.0
        )
        gap = max(0.3, (clock.remaining_s - keep) / max(slots, 1))
        for row in rows[1:]:
            self._hold_with_pulses(clock, gap - 0.6)
            clock.play(FadeIn(row, shift=LEFT * 0.15), seconds=0.6)
        for anim in extra:
            self._hold_with_pulses(clock, gap * 0.3)
            clock.play(anim, seconds=max(0.6, gap * 0.7))
        self._hold_with_pulses(clock, clock.remaining_s - keep)
        # the parts came in one by one; from now on the card is one mobject (it leaves whole)
        self.remove(box, head, *rows)
        self.add(card)

    def before_hold(self, clock) -> None:
        """Nothing stands still more than about 4.5 s while the needle's drawing is on screen:
        a beat that leaves a long hold fills it with a ring spreading every 4.5 s from where the
        work is done (the sore spot before the needle, the needle tip after it)."""
        if clock.remaining_s <= HOLD_STILL_S or self.illustration.mobject not in self.mobjects:
            return
        at = None
        if self.needle_mob is None and self.glow is not None and self.glow in self.mobjects:
            at = [self.glow.get_center()]
        self._hold_with_pulses(clock, clock.remaining_s, at=at)

    def _hold_with_pulses(self, clock, seconds: float, at=None) -> None:
        """Wait ``seconds``; in a long wait over the needle's drawing a ring spreads from the
        needle tip (or the points ``at``) every few seconds (:meth:`hold_with_pulses`)."""
        if self.illustration.mobject not in self.mobjects:
            clock.wait(seconds=max(0.0, seconds))
            return
        tips = at if at is not None else [self.illustration.to_scene(n.tip)[0] for n in self.plan.needles]
        self.hold_with_pulses(clock, seconds, tips)

    def _fact_beat(self, clock, head: str, title: str, items: list[str], accent=palette.ACCENT, extra=()) -> None:
        card = fact_card(title, [i for i in items if i], width=5.8, accent=accent)
        inside_safe(card.move_to(CARD_CENTER))
        fade = [FadeOut(self.fluoro)] if self.fluoro is not None and self.fluoro in self.mobjects else []
        self._reveal(clock, card, *self.swap_stage(self.set_heading(head), *fade), extra=extra)
        if fade:
            self.remove(self.fluoro)
        self.stage = VGroup(card)

    def beat_stimulation(self, clock) -> None:
        s = self.conf.stimulation
        items = [
            self.says("stimulation.sensory", hz=self.number(s.sensory_hz), volts=self.number(s.sensory_max_v)),
            self.says("stimulation.motor", hz=self.number(s.motor_hz)),
        ]
        self._fact_beat(clock, self.says("heading.stimulation"), self.says("stimulation.card"), items)

    def beat_lesion(self, clock) -> None:
        """The burn: a heat glow (red around, orange at the core) along each needle's bare tip,
        the size the data gives; the numbing medicine's green is gone by then."""
        n = self.tech.needle
        r = self.tech.lesion_radius_mm or 2.0
        active = n.active_tip_mm or 10.0
        heat = VGroup()
        for path in self.paths:
            d = path.tip - path.entry
            d = d / np.linalg.norm(d)
            ends = self.illustration.to_scene(np.array([path.tip - d * active, path.tip]))
            along = ends[1] - ends[0]
            length = max(float(np.linalg.norm(along)), self.mm(2))
            angle = float(np.arctan2(along[1], along[0]))
            mid = 0.5 * (ends[0] + ends[1])
            halo, core = (
                soft_spot(length + self.mm(2 * k * r), max(self.mm(2 * k * r), least), colour, opacity)
                for k, least, colour, opacity in ((2, 0.3, HEAT_OUTER, 0.4), (1, 0.14, HEAT_CORE, 0.9))
            )
            heat.add(VGroup(halo, core).rotate(angle).move_to(mid))
        items = [
            self.says("lesion.heat"),
            self.says("lesion.tip", length=self.number(n.active_tip_mm), radius=self.number(r))
            if n.active_tip_mm
            else "",
            self.says("lesion.along"),
        ]
        cool = [FadeOut(c) for c in getattr(self, "cloud", None) or [] if c in self.mobjects]
        pulse = heat.animate(rate_func=lambda t: np.sin(np.pi * t) ** 2).scale(1.18)
        self._fact_beat(
            clock,
            self.says("heading.lesion"),
            self.says("lesion.card"),
            items,
            accent=palette.WARNING,
            extra=[AnimationGroup(*cool, FadeIn(heat, scale=0.5)), pulse],
        )

    def beat_manometry(self, clock) -> None:
        m = self.conf.manometry
        items = [
            self.says("manometry.pressure", psi=self.number(m.max_psi)),
            self.says("manometry.positive", pain=m.concordant_pain_min),
            self.says("manometry.control") if self.conf.control_contrast else "",
        ]
        self._fact_beat(clock, self.says("heading.manometry"), self.says("manometry.card"), items)

    def beat_double_block(self, clock) -> None:
        items = [self.words("relief"), *self.words("double_block.steps")]
        self._fact_beat(clock, self.says("heading.double_block"), self.says("double_block.card"), items)

    def beat_cement(self, clock) -> None:
        """Cement under continuous side-view imaging: the lateral fluoroscopy runs while the
        cement fills the front of the body from the needle tip."""
        lateral = next((pose for view, pose in zip(self.tech.views, self.poses) if view.view == "lateral"), None)
        cement = contrast_pattern("cement", self.model, self.level, self.side, tip=self.plan.tip)
        self.fluoro.set_contrast(None, render=False)
        if lateral is not None:
            self.fluoro.set_pose(lateral)
        else:
            self.fluoro.set_contrast(None)
        cap = self.caption(list(self.words("cement")))
        anims = [self.set_heading(self.says("heading.cement"))]
        if self.fluoro not in self.mobjects:
            anims.append(FadeIn(self.fluoro))
        clock.play(*self.swap_stage(*anims, FadeIn(cap)), seconds=1.0)
        progress = ValueTracker(0.0)
        self.fluoro.follow_contrast(cement, progress)
        clock.play(progress.animate.set_value(1.0), share=0.7, rate_func=linear)
        self.fluoro.clear_updaters()
        self.fluoro.set_contrast(cement, 1.0)
        self.stage = VGroup(cap)

    def beat_balloon(self, clock) -> None:
        variant = next((v for v in self.proc.variants if v.name == "kyphoplasty"), None)
        items = [plain(self.term(s)) for s in variant.steps] if variant else [plain(self.term(self.proc.summary))]
        extra = []
        if self.plan.approach == "transpedicular":
            # the balloon at the needle's tip: it opens inside the broken body and pushes the
            # sunken top back up, then comes out and leaves a space for the cement
            c = self._body_corners()
            at = self.illustration.to_scene(self.plan.tip)[0]
            height = float(np.linalg.norm(c["tb"] - c["bb"])) * 0.55
            width = float(np.linalg.norm(c["tf"] - c["tb"])) * 0.45
            balloon = Ellipse(
                width=width,
                height=height,
                fill_color=BALLOON,
                fill_opacity=0.85,
                stroke_color=palette.TEXT,
                stroke_width=2,
            ).move_to(at)
            small = balloon.copy().scale(0.12)
            self.add(small)
            extra = [Transform(small, balloon)]
            if self.fracture is not None and self.fracture in self.mobjects:
                extra.append(
                    AnimationGroup(
                        FadeOut(self.fracture[1]), FadeOut(self.fracture[2]), small.animate.scale(0.2).set_opacity(0.0)
                    )
                )
            self.balloon = small
        self._fact_beat(
            clock,
            self.says("heading.balloon"),
            self.term(variant.title) if variant else self.says("balloon.card"),
            items,
            extra=extra,
        )

    def beat_steer_lead(self, clock) -> None:
        lead = self.tech.lead_tip
        leads = VGroup(
            *(
                always_redraw(
                    lambda k=k: polyline_mobject(
                        self.lead_points(k)
                        if self.lead_points(k) is not None
                        else self.device_points(k)[-1:].repeat(2, 0),
                        palette.NEEDLE_TIP,
                        6,
                    )
                )
                for k in range(len(self.paths))
            )
        )
        anims = []
        if self.fluoro is not None and self.fluoro not in self.mobjects:
            self.fluoro.set_needle(self.fluoro_device())
            anims.append(FadeIn(self.fluoro))
        path = self.paths[0]
        if len(path.lead):
            # a side view centred on the last 5 cm of the lead: the tip arrives in the field
            from spine.imaging.carm import CArmPose

            centre = _along_back(path.lead, 50.0)
            pose = CArmPose.lateral(lead[0] if lead else None, isocentre=centre, model=self.model)
            anims.append(self.fluoro.rotate_to(pose, run_time=0.8))
        cap = self.caption(
            [self.says("steer_lead.to", top=lead[0], bottom=lead[1]) if lead else self.says("steer_lead.plain")]
        )
        clock.play(
            *self.swap_stage(self.set_heading(self.says("heading.steer_lead")), *anims, FadeIn(cap)), seconds=0.8
        )
        self.add(leads)
        self.fluoro.add_updater(lambda m: m.set_needle(self.fluoro_device()))
        clock.play(self.lead_depth.animate.set_value(1.0), share=0.6, rate_func=smooth)
        self.fluoro.clear_updaters()
        leads_now = [self.lead_points(k) for k in range(len(self.paths))]
        self.pulse_if_long_hold(clock, [pts[-1] for pts in leads_now if pts is not None])  # at the lead tips
        self.stage = VGroup(cap)

    def beat_after(self, clock) -> None:
        self.clear_stage(clock)
        relief = fact_card(
            self.says("after.relief"), [self.words("relief")], width=5.6, accent=palette.OK, max_lines_per_item=5
        )
        risks = fact_card(
            self.says("after.risks"),
            list(self.words("risks"))[:3],
            width=5.8,
            accent=palette.WARNING,
            max_lines_per_item=2,
        )
        VGroup(relief, risks).arrange(RIGHT, buff=0.5, aligned_edge=UP).move_to(UP * 0.4)
        inside_safe(VGroup(relief, risks))
        # the relief card, then each risk in turn with the narration; between them the item
        # being spoken of is pointed out, so nothing stands still for long
        box, (head, rows) = risks[0], risks[1]
        steps = [(FadeIn(box), FadeIn(head), FadeIn(rows[0])), *((FadeIn(r, shift=LEFT * 0.15),) for r in rows[1:])]
        clock.play(self.set_heading(self.says("heading.after")), FadeIn(relief), seconds=1.0)
        gap = max(1.0, clock.remaining_s / (len(steps) + 0.5))
        latest = relief[1]
        for anims, row in zip(steps, rows):
            clock.wait(seconds=max(0.0, gap / 2 - 0.6))
            clock.play(Indicate(latest, scale_factor=1.04, color=palette.TEXT), seconds=0.6)
            clock.wait(seconds=max(0.0, gap / 2 - 0.6))
            clock.play(*anims, seconds=0.6)
            latest = row
        clock.wait(seconds=max(0.0, clock.remaining_s / 2 - 0.3))
        clock.play(Indicate(latest, scale_factor=1.04, color=palette.TEXT), seconds=0.6)
        self.remove(box, head, *rows)
        self.add(risks)
        self.stage = VGroup(relief, risks)

    def beat_closing(self, clock) -> None:
        self.clear_stage(clock)
        play_closing(clock, self.context, self.says("education.title"), self.words("education.lines"))
