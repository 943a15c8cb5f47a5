"""The spine atlas: a narrated tour of the anatomy, ending on the level the user asked for.

Every drawing is a view of the one spine model (``spine.anatomy``); labels point at the
model's own landmarks, so they sit on the structure they name in every view.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, FadeIn, LaggedStart, Line, VGroup

from spine.anatomy.levels import REGIONS, neighbours
from spine.anatomy.model import SpineModel
from scenes.kit.anatomy_views import FittedView, SpineView
from scenes.kit import palette
from scenes.kit.cards import play_closing, heading, paragraph, play_title, text, title_card
from scenes.narrated import NarratedScene


def zoomed_view(model: SpineModel, kind: str, level: str, height: float, center, **kwargs) -> SpineView:
    """A view of ``kind`` whose drawing of ``level`` is about ``height`` units tall at ``center``."""
    probe = SpineView(model, kind, scale=1.0, **kwargs)
    lo, hi = probe.level_extent(level)
    scale = height / max(float(hi[1] - lo[1]), 1e-6)
    anchor = model.level_centre(level) if kind != "axial" else None
    view = SpineView(model, kind, scale=scale, center=np.asarray(center, float), anchor=anchor, **kwargs)
    return view


def pointer(label: str, target, label_at, px: float = 28, color: str = palette.TEXT) -> VGroup:
    """A label at ``label_at`` with a thin line to ``target`` (scene points)."""
    tag = text(label, px, color)
    tag.move_to(label_at)
    for edge, limit, sign in ((tag.get_right()[0], 6.3, -1), (tag.get_left()[0], -6.3, 1)):
        if (edge - limit) * sign < 0:  # inside the title-safe area
            tag.shift(RIGHT * (limit - edge))
    start = tag.get_left() if target[0] < tag.get_center()[0] else tag.get_right()
    line = Line(start, target, color=color, stroke_width=2.5)
    return VGroup(line, tag)


class SpineAtlasScene(NarratedScene):
    def prepare(self) -> None:
        self.model = SpineModel.default()
        self.level = self.context.get("level") or "L4-L5"
        self.stage = VGroup()
        self.focus: list = []  # where a beat's long hold points (NarratedScene.before_hold)

    def swap(self, clock, new_heading: str, *mobjects, seconds: float = 1.0) -> None:
        """Fade out what is on screen and fade in a new heading and drawings."""
        head = heading(new_heading)
        self.fade_out_everything(clock, 0.5)
        clock.play(FadeIn(head), *(FadeIn(m) for m in mobjects), seconds=seconds)
        self.head = head

    def beat_title(self, clock) -> None:
        brand = self.context.get("brand")
        card = title_card(self.says("title"), self.says("subtitle"), brand)
        play_title(clock, card, brand, fade_out=False)

    def beat_regions(self, clock) -> None:
        fit = SpineView(self.model, "lateral")
        view = SpineView(self.model, "lateral", scale=fit.scale * 0.84, center=LEFT * 3.2 + DOWN * 0.4)
        spine = view.spine_mobject()
        labels = view.labels(regions=True, region_words=dict(zip(REGIONS, self.words("regions.labels"))))
        self.swap(clock, self.says("regions.heading"), spine, seconds=1.5)
        clock.play(LaggedStart(*(FadeIn(lab) for lab in labels), lag_ratio=0.7), share=0.6)
        self.whole, self.whole_view = spine, view
        # the rest of the beat: a ring from the middle of each region the narration names
        self.focus = [view.project(self.model.level_centre(lv))[0] for lv in ("C4", "T7", "L3", "S3")]

    def beat_curves(self, clock) -> None:
        """Three notes, each with a ring spreading from the middle of its curve on the drawing
        (the neck at C5, the chest at T7, the lower back at L3) as the narration names it."""
        notes = paragraph(list(self.words("curves.notes")), px=34)
        notes.move_to(RIGHT * 3.9 + DOWN * 1.6)
        if notes.get_right()[0] > 6.3:  # inside the title-safe area
            notes.shift(LEFT * (notes.get_right()[0] - 6.3))
        apexes = [self.whole_view.project(self.model.level_centre(lv))[0] for lv in ("C5", "T7", "L3")]
        # the heading names what the narration is about now: the curves, not the regions
        clock.play(self.set_heading(self.says("curves.heading")), seconds=0.6)
        for row, apex in zip(notes, apexes):
            self.play_pulse(clock, [apex], FadeIn(row, shift=LEFT * 0.1))
            clock.wait(share=0.18)
        self.focus = apexes

    def beat_vertebra(self, clock) -> None:
        view = zoomed_view(self.model, "axial", "L4", 4.6, LEFT * 1.5 + DOWN * 0.4, axial_level="L4")
        section = view.spine_mobject(levels=["L4"])
        m = self.model
        marks = VGroup(
            pointer(self.says("vertebra.body"), view.project(m.level_centre("L4"))[0], RIGHT * 3.6 + UP * 1.6),
            pointer(
                self.says("vertebra.pedicle"),
                view.project(m.landmark("L4", "pedicle", "left"))[0],
                RIGHT * 3.6 + UP * 0.5,
            ),
            pointer(
                self.says("vertebra.lamina"),
                view.project(m.landmark("L4", "lamina", "left"))[0],
                RIGHT * 3.6 + DOWN * 0.6,
            ),
            pointer(
                self.says("vertebra.transverse_process"),
                view.project(m.landmark("L4", "tp", "left"))[0],
                RIGHT * 4.3 + DOWN * 1.7,
            ),
        )
        self.swap(clock, self.says("vertebra.heading"), section, seconds=1.2)
        clock.play(LaggedStart(*(FadeIn(mk) for mk in marks), lag_ratio=0.8), share=0.6)
        # the rest of the beat: a ring from each part named
        self.focus = [
            view.project(m.level_centre("L4"))[0],
            *(view.project(m.landmark("L4", k, "left"))[0] for k in ("pedicle", "lamina", "tp")),
        ]

    def canal_section(self, height: float = 4.6, center=LEFT * 1.5 + DOWN * 0.4):
        """The slice through the L4-L5 disc with the canal's contents inside the bony ring: the
        dural sac, the nerve roots of the cauda equina, the epidural fat and the ligament at the
        back (the structures of L4 and L5 the plane cuts, too: the facet joints beside the canal)."""
        view = zoomed_view(self.model, "axial", "L4-L5", height, center, axial_level="L4-L5")
        return view, view.spine_mobject(levels=["L4-L5", "L4", "L5"])

    def canal_labels(self, view) -> VGroup:
        m = self.model

        def centre(kind, level):
            found = [s for s in m.structures() if s.kind == kind and s.level == level]
            return view.project(found[0].solid.center)[0] if found else None

        marks = VGroup()
        for key, point, at, colour in (
            ("canal.dura", centre("dural_sac", "L4"), RIGHT * 4.3 + UP * 2.0, palette.DURA),
            ("canal.nerves", centre("cauda_equina", "L4"), RIGHT * 4.3 + UP * 0.9, palette.NERVE),
            (
                "canal.fat",
                view.project(m.landmark("L4-L5", "epidural_space"))[0],
                RIGHT * 4.3 + DOWN * 0.2,
                palette.LIGAMENT,
            ),
            ("canal.ligament", centre("ligamentum_flavum", "L4-L5"), RIGHT * 4.3 + DOWN * 1.3, palette.LIGAMENT),
        ):
            if point is not None:
                marks.add(pointer(self.says(key), point, at, color=colour))
        return marks

    def beat_disc(self, clock) -> None:
        view, section = self.canal_section()
        centre = view.project(self.model.landmark("L4-L5", "nucleus_centre"))[0]
        marks = VGroup(
            pointer(self.says("disc.nucleus"), centre, RIGHT * 4.3 + DOWN * 0.3, color=palette.NUCLEUS),
            pointer(self.says("disc.annulus"), centre + LEFT * 1.3, RIGHT * 4.3 + DOWN * 1.4, color=palette.DISC),
        )
        self.swap(clock, self.says("disc.heading"), section, seconds=1.2)
        clock.play(LaggedStart(*(FadeIn(mk) for mk in marks), lag_ratio=0.8), share=0.3)
        clock.play(LaggedStart(*(FadeIn(mk) for mk in self.canal_labels(view)[:2]), lag_ratio=0.8), share=0.3)

    def beat_nerves(self, clock) -> None:
        """The lower spine cut away from the side: the cord ending at the model's conus (about
        L1-L2), the cauda equina below it and each root leaving through its foramen."""
        levels = [
            "T11",
            "T11-T12",
            "T12",
            "T12-L1",
            "L1",
            "L1-L2",
            "L2",
            "L2-L3",
            "L3",
            "L3-L4",
            "L4",
            "L4-L5",
            "L5",
            "L5-S1",
            "S1",
        ]
        side = SpineView(self.model, "lateral")
        fitted = FittedView(side, side.spine_mobject(levels=levels, near_side=False), 5.6, LEFT * 3.0 + DOWN * 0.15)
        conus = [s for s in self.model.structures() if s.kind == "conus"]
        notes = list(self.words("nerves.notes"))
        note = paragraph(notes, px=30)
        note.move_to(RIGHT * 3.6 + DOWN * 0.6)
        if note.get_right()[0] > 6.3:  # inside the title-safe area
            note.shift(LEFT * (note.get_right()[0] - 6.3))
        self.swap(clock, self.says("nerves.heading"), fitted.mobject, seconds=1.5)
        if conus:
            lo = conus[0].solid.bounding_box()[0]
            tip = fitted.to_scene(np.array([conus[0].solid.center[0], conus[0].solid.center[1], lo[2]]))[0]
            mark = pointer(self.says("nerves.cord_end"), tip, RIGHT * 2.6 + UP * 1.6, color=palette.CORD)
            clock.play(FadeIn(mark), seconds=0.8)
            self.focus = [tip]
        for row in note:  # one note at a time, with the narration
            clock.play(FadeIn(row, shift=LEFT * 0.1), seconds=0.7)
            clock.wait(share=0.12)

    def beat_facet(self, clock) -> None:
        view = zoomed_view(self.model, "posterior", "L4-L5", 3.2, LEFT * 1.8)
        drawing = view.spine_mobject(levels=["L3", "L3-L4", "L4", "L4-L5", "L5"])
        left = view.project(self.model.landmark("L4-L5", "facet_joint", "left"))[0]
        right = view.project(self.model.landmark("L4-L5", "facet_joint", "right"))[0]
        marks = VGroup(
            pointer(self.says("facet.label"), right, RIGHT * 3.8 + UP * 0.3, color=palette.JOINT),
            Line(left, right, color=palette.JOINT, stroke_width=0),
        )
        marks.add(Line(marks[0][1].get_left(), left, color=palette.JOINT, stroke_width=2.5))
        self.swap(clock, self.says("facet.heading"), drawing, seconds=1.2)
        clock.play(FadeIn(marks), seconds=1.0)
        self.focus = [left, right]

    def beat_epidural(self, clock) -> None:
        view, section = self.canal_section()
        window = view.project(self.model.landmark("L4-L5", "epidural_space"))[0]
        marks = VGroup(pointer(self.says("epidural.label"), window, LEFT * 5.0 + DOWN * 2.2, color=palette.MEDICATION))
        self.swap(clock, self.says("epidural.heading"), section, seconds=1.2)
        clock.play(FadeIn(marks), seconds=1.0)
        clock.play(LaggedStart(*(FadeIn(mk) for mk in self.canal_labels(view)), lag_ratio=0.8), share=0.45)

    def beat_level(self, clock) -> None:
        level = self.level
        near = neighbours(level)
        # each drawing at least half the frame's height (the level with its neighbours)
        lateral = zoomed_view(self.model, "lateral", level, 2.4, LEFT * 4.5 + UP * 0.3)
        posterior = zoomed_view(self.model, "posterior", level, 2.4, UP * 0.3)
        axial_level = level
        axial = zoomed_view(self.model, "axial", axial_level, 3.0, RIGHT * 4.5 + UP * 0.3, axial_level=axial_level)
        drawings = VGroup(
            lateral.spine_mobject(levels=near, highlight=level),
            posterior.spine_mobject(levels=near, highlight=level),
            axial.spine_mobject(levels=[level]),
        )
        captions = VGroup(*(text(t, 28, palette.TEXT_MUTED) for t in self.words("level.views")))
        at_level = [v.project(self.model.level_centre(level))[0] for v in (lateral, posterior, axial)]
        # each drawing as large as fits: side by side (4.2 wide), between heading and captions
        for k, drawing in enumerate(drawings):
            before, factor = drawing.get_center(), min(4.2 / drawing.width, 4.8 / drawing.height)
            drawing.scale(factor)
            drawing.move_to(np.array([drawing.get_center()[0], 0.3, 0.0]))
            at_level[k] = drawing.get_center() + (at_level[k] - before) * factor  # where the level went
        for cap, x in zip(captions, (-4.5, 0.0, 4.5)):
            cap.move_to(np.array([x, -2.55, 0.0]))  # above the player's caption band
        self.swap(clock, self.says("level.heading", level=level), drawings, captions, seconds=1.5)
        self.focus = at_level  # the rest of the beat: a ring from the level on each drawing

    def beat_closing(self, clock) -> None:
        self.fade_out_everything(clock, 0.5)
        play_closing(clock, self.context, self.says("education.title"), self.words("education.lines"))
