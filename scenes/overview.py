"""The overview video: what a spinal injection is, how it is guided, an L2-L3 example.

A short script over the shared building blocks: the anatomy views of the spine model,
the simulated fluoroscopy of the same model, and the kit's cards. The words are in
``voiceover/scripts/<lang>/overview.yaml``; each ``beat_<id>`` method draws one beat.
"""

from __future__ import annotations

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Arrow,
    Circle,
    Create,
    Ellipse,
    FadeIn,
    FadeOut,
    GrowFromCenter,
    Indicate,
    LaggedStart,
    Line,
    ReplacementTransform,
    RoundedRectangle,
    Transform,
    ValueTracker,
    VGroup,
    always_redraw,
    smooth,
)

from spine.anatomy.model import SpineModel
from scenes.kit.anatomy_views import FittedView, SpineView
from spine.imaging import CArmPose, Needle
from scenes.kit.fluoro_panel import FluoroPanel, monitor_pixels
from scenes.kit import palette
from scenes.kit.procedure_blocks import VignetteDrawings
from scenes.kit.cards import framed, heading, panel, paragraph, play_closing, play_title, text, title_card
from scenes.narrated import NarratedScene
from spine.errors import InternalError

EXAMPLE_LEVEL = "L2-L3"
ZOOM_LEVELS = ("L1", "L1-L2", "L2", "L2-L3", "L3", "L3-L4", "L4")


def example_needle_path(model: SpineModel) -> tuple[np.ndarray, np.ndarray]:
    """Skin entry and tip of the example's midline L2-L3 interlaminar epidural needle.

    The tip is the epidural-space landmark (just through the ligamentum flavum, in the
    dorsal epidural space); the needle comes straight from behind, about 5 cm deep
    (skin to lumbar epidural space ~3-5 cm, clinical.md section 1).
    """
    tip = model.landmark(EXAMPLE_LEVEL, "epidural_space")
    _, frame = model.interspace_frame(EXAMPLE_LEVEL)
    posterior = frame[:, 1] / np.linalg.norm(frame[:, 1])
    return tip + posterior * 50.0, tip


class OverviewScene(NarratedScene):
    def prepare(self) -> None:
        # the 'types' cards' needles: the validated plans of spine.videos.OVERVIEW_TYPES, in the script's
        # order, made by the pipeline with the props (spine.video_props), never planned here
        props = self.storyboard.props
        if props is None or not props.examples:
            raise InternalError(
                f"{self.storyboard.video}: the storyboard carries no example plans; "
                "make it with pipeline.build.make_storyboard"
            )
        self.model = SpineModel.default()
        self.entry, self.tip = example_needle_path(self.model)
        lateral = SpineView(self.model, "lateral")
        self.whole = FittedView(lateral, lateral.spine_mobject(), 6.5, LEFT * 3.4 + DOWN * 0.45)
        zoom_view = SpineView(self.model, "lateral")
        self.zoom = FittedView(
            zoom_view,
            zoom_view.spine_mobject(levels=ZOOM_LEVELS, highlight=EXAMPLE_LEVEL),
            6.4,
            LEFT * 3.3 + DOWN * 0.3,
        )
        self.stage = VGroup()
        self.focus: list = []  # where a beat's long hold points (NarratedScene.before_hold)

    # 1 ------------------------------------------------------------------------------------
    def beat_title(self, clock) -> None:
        brand = self.context.get("brand")
        play_title(clock, title_card(self.words("title"), self.words("subtitle"), brand), brand)

    # 2 ------------------------------------------------------------------------------------
    def beat_what(self, clock) -> None:
        points = paragraph(self.words("what.points"), px=38)
        points.move_to(RIGHT * 3.3 + UP * 0.9)
        effects = paragraph(self.words("what.effects"), px=34, color=palette.TEXT_MUTED)
        effects.next_to(points, DOWN, buff=0.6, aligned_edge=LEFT)
        clock.play(
            self.set_heading(self.words("what.heading")), FadeIn(self.whole.mobject, lag_ratio=0.01), seconds=2.5
        )
        clock.play(FadeIn(points), seconds=1.0)
        clock.wait(share=0.2)
        clock.play(FadeIn(effects), seconds=1.0)
        self.side_text = VGroup(points, effects)

    # 3 ------------------------------------------------------------------------------------
    def beat_regions(self, clock) -> None:
        names = [
            (("cervical",), self.words("regions.cervical")),
            (("thoracic",), self.words("regions.thoracic")),
            (("lumbar",), self.words("regions.lumbar")),
            (("sacral", "coccygeal"), self.words("regions.sacral")),
        ]
        labels = VGroup()
        previous = None
        for region, words in names:
            levels = [n for n in self.model_levels() if _region(n) in region]
            region = region[0]
            top = self.whole.to_scene(self.model.level_centre(levels[0]))[0]
            bottom = self.whole.to_scene(self.model.level_centre(levels[-1]))[0]
            bar = Line(top + RIGHT * 1.6, bottom + RIGHT * 1.6, color=palette.REGION_COLOURS[region], stroke_width=10)
            label = text(words, 30, palette.REGION_COLOURS[region])
            label.next_to(bar, RIGHT, buff=0.25)
            if previous is not None and label.get_top()[1] > previous.get_bottom()[1] - 0.08:
                label.next_to(previous, DOWN, buff=0.12, aligned_edge=LEFT)
            previous = label
            labels.add(VGroup(bar, label))
        clock.play(
            *self.leave(self.side_text),
            self.set_heading(self.words("regions.heading")),
            seconds=0.8,
        )
        clock.play(LaggedStart(*(FadeIn(lab) for lab in labels), lag_ratio=0.9), share=0.75)
        self.region_labels = labels

    # 4 ------------------------------------------------------------------------------------
    def beat_levels(self, clock) -> None:
        l2 = self.whole.to_scene(self.model.level_centre("L2"))[0]
        l3 = self.whole.to_scene(self.model.level_centre("L3"))[0]
        gap = self.whole.to_scene(self.model.level_centre(EXAMPLE_LEVEL))[0]
        marks = VGroup(
            _pointer("L2", l2, LEFT),
            _pointer("L3", l3, LEFT),
        )
        level_tag = panel(paragraph(self.words("levels.tag"), px=34))
        level_tag.move_to(RIGHT * 3.0 + DOWN * 0.4)
        ring = Circle(radius=0.32, color=palette.ACCENT, stroke_width=5).move_to(gap)
        clock.play(
            *self.leave(self.region_labels),
            self.set_heading(self.words("levels.heading")),
            seconds=0.8,
        )
        clock.play(FadeIn(marks[0]), seconds=0.8)
        clock.play(FadeIn(marks[1]), seconds=0.8)
        clock.wait(share=0.25)
        clock.play(Create(ring), FadeIn(level_tag), seconds=1.0)
        self.stage = VGroup(marks, level_tag, ring)

    # 5 ------------------------------------------------------------------------------------
    def beat_guidance(self, clock) -> None:
        self.fluoro = self._monitor(CArmPose.ap(EXAMPLE_LEVEL), blank=True)
        self.fluoro.move_to(RIGHT * 3.4 + UP * 0.55)  # its words below it stay above the player's caption band
        caption = paragraph(self.words("guidance.lines"), px=30, centred=True, max_width=6.6)
        caption.next_to(self.fluoro, DOWN, buff=0.25)
        if caption.get_right()[0] > 6.3:  # inside the title-safe area
            caption.shift(LEFT * (caption.get_right()[0] - 6.3))
        clock.play(*self.leave(self.stage), self.set_heading(self.words("guidance.heading")), seconds=0.8)
        clock.play(FadeIn(self.fluoro), FadeIn(caption[0]), seconds=1.0)
        clock.wait(share=0.2)
        clock.play(self.fluoro.take_shot(), FadeIn(caption[1]), seconds=1.2)
        self.stage = VGroup(caption)
        self.focus = [self.fluoro.point_on_panel(self.model.level_centre(EXAMPLE_LEVEL))]

    # 6 ------------------------------------------------------------------------------------
    def beat_example(self, clock) -> None:
        canal = self.zoom.to_scene(self.model.level_centre(EXAMPLE_LEVEL))[0]
        tip = self.zoom.to_scene(self.tip)[0]
        glow = Ellipse(width=0.9, height=1.3, color=palette.INFLAMMATION, fill_opacity=0.45, stroke_width=0)
        glow.move_to(0.3 * canal + 0.7 * tip)
        label = panel(paragraph(self.words("example.label"), px=32, max_width=5.6))
        label.move_to(RIGHT * 3.6 + UP * 1.0)
        clock.play(
            *self.leave(self.stage),
            FadeOut(self.fluoro),
            ReplacementTransform(self.whole.mobject, self.zoom.mobject),
            self.set_heading(self.words("example.heading")),
            seconds=1.6,
        )
        clock.play(FadeIn(glow), FadeIn(label), seconds=1.2)
        self.glow, self.stage = glow, VGroup(label)
        self.focus = [glow.get_center()]

    # 7 ------------------------------------------------------------------------------------
    def beat_needle(self, clock) -> None:
        self.fluoro = self._monitor(CArmPose.lateral(EXAMPLE_LEVEL))
        self.fluoro.move_to(RIGHT * 3.6 + UP * 0.4)
        entry, tip = self.entry, self.tip
        depth = ValueTracker(0.0)

        def needle_line():
            point = entry + (tip - entry) * depth.get_value()
            a, b = self.zoom.to_scene(np.array([entry, point]))
            return Line(
                a, b if np.linalg.norm(b - a) > 1e-3 else a + 1e-3 * RIGHT, color=palette.NEEDLE, stroke_width=5
            )

        needle = always_redraw(needle_line)
        target = self.zoom.to_scene(tip)[0]
        tag = panel(text(self.words("needle.label"), 30, palette.TEXT), padding=0.1)
        tag.move_to(target + RIGHT * 1.9 + DOWN * 1.3)
        tag.set_y(max(tag.get_y(), -2.75 + tag.height / 2))  # above the player's caption band
        label = VGroup(Line(tag.get_top(), target, color=palette.TEXT, stroke_width=2.5), tag)
        clock.play(
            *self.leave(self.stage),
            self.set_heading(self.words("needle.heading")),
            FadeIn(self.fluoro),
            seconds=1.0,
        )
        self.add(needle)
        # intermittent fluoroscopy: a step, then a short shot of where the needle is now
        steps = 3
        for k in range(1, steps + 1):
            clock.play(depth.animate.set_value(k / steps), share=0.45 / steps, rate_func=smooth)
            self.fluoro.set_needle(Needle.from_gauge(entry, entry + (tip - entry) * k / steps, 20), render=False)
            clock.play(self.fluoro.take_shot(), seconds=0.35)
        clock.play(FadeIn(label), seconds=0.8)
        self.needle, self.stage = needle, VGroup(label)

    # 8 ------------------------------------------------------------------------------------
    def beat_medicine(self, clock) -> None:
        target = self.zoom.to_scene(self.tip)[0]
        upper = self.zoom.to_scene(self.model.level_centre("L2"))[0]
        lower = self.zoom.to_scene(self.model.level_centre("L3"))[0]
        spread = abs(upper[1] - lower[1]) * 1.2
        cloud = Ellipse(width=0.35, height=0.3, color=palette.MEDICATION, fill_opacity=0.75, stroke_width=0).move_to(
            target
        )
        grown = Ellipse(width=0.5, height=spread, color=palette.MEDICATION, fill_opacity=0.75, stroke_width=0).move_to(
            target
        )
        label = panel(paragraph(self.words("medicine.label"), px=30, max_width=5.6))
        label.move_to(RIGHT * 3.6 + UP * 2.25)
        monitor = (
            [FadeOut(self.fluoro)] if getattr(self, "fluoro", None) is not None and self.fluoro in self.mobjects else []
        )
        clock.play(
            *self.leave(self.stage),
            *monitor,
            FadeIn(cloud),
            FadeIn(label),
            self.set_heading(self.words("medicine.heading")),
            seconds=1.0,
        )
        clock.play(Transform(cloud, grown), self.glow.animate.set_opacity(0.08), share=0.5)
        self.stage = VGroup(label, cloud)

    def model_levels(self) -> list[str]:
        from spine.anatomy.levels import VERTEBRAE

        return list(VERTEBRAE)

    # 9 ------------------------------------------------------------------------------------
    def beat_who(self, clock) -> None:
        self.clear_stage(clock)
        head = heading(self.words("who.heading"))
        cards = (
            VGroup(
                *(_info_card(card[0], card[1:], width=4.6) for card in self.words("who.cards")),
            )
            .arrange(RIGHT, buff=0.8)
            .move_to(DOWN * 0.2)
        )
        note = text(self.words("who.note"), 32, palette.TEXT_MUTED, max_width=12.0)
        note.next_to(cards, DOWN, buff=0.6)
        # in step with the words: "doctors with special training", then each kind of doctor
        clock.play(FadeIn(head), seconds=0.8)
        clock.play(FadeIn(note), seconds=0.8)
        for card, at in zip(cards, (0.38, 0.7)):
            clock.wait_until(at)
            clock.play(FadeIn(card, shift=UP * 0.2), seconds=1.0)
        self.stage = VGroup(head, cards, note)

    # 10 -----------------------------------------------------------------------------------
    def beat_diagnostic(self, clock) -> None:
        self.clear_stage(clock)
        head = heading(self.words("diagnostic.heading"))
        outcomes = self._card_row("diagnostic.cards", (palette.ACCENT, palette.MEDICATION, palette.TEXT_MUTED), 0.5)
        outcomes.move_to(UP * 0.4)
        arrow = Arrow(
            outcomes.get_bottom() + DOWN * 0.1, outcomes.get_bottom() + DOWN * 1.1, color=palette.TEXT, buff=0
        )
        answer = text(self.words("diagnostic.answer"), 36, max_width=12.0)
        answer.next_to(arrow, DOWN, buff=0.25)
        # in step with the words: the kinds of relief, what the result shows, its name
        clock.play(FadeIn(head), seconds=0.8)
        clock.wait_until(0.12)
        clock.play(LaggedStart(*(FadeIn(c) for c in outcomes), lag_ratio=0.6), share=0.3)
        clock.wait_until(0.55)
        clock.play(GrowFromCenter(arrow), FadeIn(answer), seconds=1.2)
        clock.wait_until(0.8)
        clock.play(Indicate(head, color=palette.ACCENT, scale_factor=1.05), seconds=1.0)
        self.stage = VGroup(head, outcomes, arrow, answer)

    # 11 -----------------------------------------------------------------------------------
    def beat_plan(self, clock) -> None:
        self.clear_stage(clock)
        head = heading(self.words("plan.heading"))
        steps = self._card_row("plan.cards", (palette.MEDICATION, palette.ACCENT, palette.NERVE), 0.9)
        steps.move_to(DOWN * 0.1)
        arrows = VGroup(
            *(Arrow(a.get_right(), b.get_left(), buff=0.1, color=palette.TEXT) for a, b in zip(steps, steps[1:]))
        )
        clock.play(FadeIn(head), seconds=0.8)
        for i, step in enumerate(steps):
            anims = [FadeIn(step, shift=RIGHT * 0.2)]
            if i:
                anims.append(GrowFromCenter(arrows[i - 1]))
            clock.play(*anims, share=0.18)
        self.stage = VGroup(head, steps, arrows)

    # 12 -----------------------------------------------------------------------------------
    def beat_types(self, clock) -> None:
        """Each kind of injection as a small drawing: the needle of that procedure's plan going
        in on the lower spine (side view for the epidurals, from behind for the joints), named
        under it; one after another, in step with the narration."""
        self.clear_stage(clock)
        head = heading(self.words("types.heading"))
        kinds = [(card[0], card[1:]) for card in self.words("types.cards")]
        drawings = VignetteDrawings(self.model)
        cells = []
        for i, ((title, _sub), plan) in enumerate(zip(kinds, self.storyboard.props.examples)):
            col, row = i % 3, i // 3
            centre = np.array([(col - 1) * 4.22, 1.15 - row * 2.85, 0.0])
            fitted, needles = drawings.vignette(plan, 3.4, 1.5, centre + UP * 0.12)
            frame = RoundedRectangle(
                corner_radius=0.12,
                width=4.12,
                height=2.65,
                fill_color=palette.PANEL,
                fill_opacity=1,
                stroke_color=palette.ACCENT,
                stroke_width=2,
            ).move_to(centre + DOWN * 0.25)
            name_tag = text(title, 26, palette.TEXT)
            if name_tag.width > 3.9:  # two lines rather than smaller letters
                half = len(title) // 2
                cut = min((i for i, ch in enumerate(title) if ch == " "), key=lambda i: abs(i - half), default=None)
                if cut is not None:
                    name_tag = paragraph([title[:cut], title[cut + 1 :]], px=26, centred=True, buff=0.06)
            if name_tag.width > 3.9:
                name_tag.scale_to_fit_width(3.9)
            name_tag.next_to(frame.get_bottom(), UP, buff=0.1)
            paths = VGroup()
            tips = VGroup()
            for n in needles:
                a, b = fitted.to_scene(np.array([n.entry, n.tip]))
                paths.add(Line(a, b, color=palette.NEEDLE, stroke_width=4))
                colour = "#FF7A1A" if plan.procedure == "radiofrequency-ablation" else palette.MEDICATION
                tips.add(Circle(radius=0.07, color=colour, fill_opacity=0.9, stroke_width=0).move_to(b))
            cells.append((VGroup(frame, fitted.mobject, name_tag), paths, tips))
        clock.play(FadeIn(head), seconds=0.8)
        per = max(0.6, (clock.remaining_s - 0.3) / len(cells))
        for cell, paths, tips in cells:  # one kind at a time: the drawing, then its needle going in
            clock.play(FadeIn(cell, shift=UP * 0.1), seconds=min(0.6, per * 0.3))
            clock.play(*(Create(p) for p in paths), seconds=min(1.2, per * 0.4))
            clock.play(FadeIn(tips, scale=0.5), seconds=min(0.5, per * 0.2))
            clock.wait(seconds=max(0.0, per - min(0.6, per * 0.3) - min(1.2, per * 0.4) - min(0.5, per * 0.2)))
        self.stage = VGroup(head, *(VGroup(c, p, t) for c, p, t in cells))

    # helpers --------------------------------------------------------------------------------
    def _monitor(self, pose, blank: bool = False) -> FluoroPanel:
        """The x-ray monitor (4 units high) showing ``pose`` (``blank``: no picture yet)."""
        return FluoroPanel(
            self.model, pose, height=4.0, size=monitor_pixels(4.0), blank=blank, labeller=self.pose_labeller()
        )

    def _card_row(self, key: str, accents, buff: float) -> VGroup:
        """The script's cards under ``key`` (a title, then its lines) side by side, one accent each."""
        cards = (_info_card(card[0], card[1:], accent) for card, accent in zip(self.words(key), accents))
        return VGroup(*cards).arrange(RIGHT, buff=buff)

    def leave(self, group) -> list:
        """Fade-outs of everything on screen that belongs to ``group``: its parts came in one by
        one, so they are on the scene by themselves, and fading the group alone would leave them."""
        family = set(map(id, group.get_family()))
        return [FadeOut(m) for m in self.mobjects if id(m) in family]

    def clear_stage(self, clock, seconds: float = 0.6) -> None:
        self.fade_out_everything(clock, seconds)
        self.stage = VGroup()

    def beat_closing(self, clock) -> None:
        self.clear_stage(clock)
        play_closing(clock, self.context, self.words("education.title"), self.words("education.lines"))


def _info_card(title: str, lines: list[str], accent: str = palette.ACCENT, width: float = 3.6) -> VGroup:
    """A small card: a bold title over one or two muted lines, with an accent bar."""
    head = text(title, 34, palette.TEXT, weight="BOLD", max_width=width - 0.4)
    body = paragraph(lines, px=28, color=palette.TEXT_MUTED, centred=True, max_width=width - 0.4)
    return framed(VGroup(head, body).arrange(DOWN, buff=0.2), width, accent, opacity=1.0)


def _region(name: str) -> str:
    from spine.anatomy.levels import region_of

    return region_of(name)


def _pointer(label: str, point, direction) -> VGroup:
    """A short line from a label to a point of the drawing."""
    tag = text(label, 32, palette.ACCENT, weight="BOLD")
    start = np.asarray(point) + direction * 1.3
    tag.next_to(start, direction, buff=0.1)
    return VGroup(Line(start, np.asarray(point) + direction * 0.35, color=palette.ACCENT, stroke_width=4), tag)
