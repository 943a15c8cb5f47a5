"""The procedure room: a stylised patient on the table and the C-arm, drawn from the data.

Two drawings, both in clean vector shapes of the palette:

* :class:`SideRoom` -- the patient seen from the side, lying as the technique's
  ``position.posture`` says (face down with the pillow or pads its ``support`` names, on the
  back with the head turned, on the side), the head to the left. The planned skin entry is
  marked on the back at the height of the level: the spine's model coordinates are laid
  along the body (the skull's base at C1, the hips below the sacrum), so an L4-L5 entry sits
  at the small of the back and a C5-C6 entry on the neck.
* :class:`EndRoom` -- the same patient seen from the feet, as a section of the body at the
  level with the vertebra drawn inside it (the model's axial section), and the C-arm around it:
  the X-ray tube and the detector on either end of a C, on the line of the pose's beam (the
  arm is drawn shorter than a real one, so the patient stays large). The C-arm turns to each
  of the technique's views; the needle's entry and path are the plan's, in millimetres.

Both map model points (mm: +x the patient's left, +y posterior, +z up the spine) into the
scene, so the marks land where the plan puts them.
"""

from __future__ import annotations

import math

import numpy as np
from manim import UP, Arc, Circle, DashedLine, Ellipse, Line, Polygon, RoundedRectangle, VGroup, VMobject

from scenes.kit import palette

SKIN_DARK = "#B07A62"  # the far side and outlines of the body
HAIR = "#6E4E40"  # the back of the head (a side-lying patient is seen from behind)
TABLE = "#3A4A58"
TABLE_EDGE = "#56687A"
PILLOW = "#8DB6D8"
PILLOW_EDGE = "#DCEAF5"  # a light edge: the pillow reads against the dark table and the skin
CARM = "#C8D2DC"
CARM_DARK = "#8895A2"
BEAM = "#F4F4F0"
MARK = palette.ACCENT

# C-arm drawn around the isocentre (mm): shorter than a real arm (source 600, detector 400 mm
# from the isocentre), so the patient stays large in the drawing; the beam's line is the pose's.
SOURCE_MM, DETECTOR_MM, ARC_MM = 300.0, 230.0, 330.0


def _smooth(points: np.ndarray) -> VMobject:
    mob = VMobject()
    mob.set_points_smoothly([np.array([x, y, 0.0]) for x, y in points])
    return mob


def _shape(
    points, fill: str, stroke: str = SKIN_DARK, width: float = 2.0, opacity: float = 1.0, smooth: bool = True
) -> VMobject:
    pts = np.asarray(points, float)
    if smooth:
        mob = _smooth(np.vstack([pts, pts[:1]]))
    else:
        mob = Polygon(*[np.array([x, y, 0.0]) for x, y in pts])
    mob.set_fill(fill, opacity=opacity).set_stroke(stroke, width=width)
    return mob


def support_places(support: str | None) -> list[str]:
    """Where the technique's ``position.support`` puts a pillow or pad (from its data words)."""
    words = (support or "").lower()
    out = []
    for key in ("chest", "abdomen", "pelvis", "forehead", "head"):
        if key in words:
            out.append(key)
    if "head" in out and ("forehead" in out or "turned" in words):
        out.remove("head")
    return out


# -- the side view ----------------------------------------------------------------------------------
class SideRoom:
    """The patient on the table, from the side (head to the left), fitted into a box.

    Body coordinates: ``u`` mm along the body from the top of the head, ``v`` mm above the
    table top. The spine's model height ``z`` maps to ``u`` with the skull's base at C1.
    """

    BODY_LENGTH = 1760.0

    def __init__(self, model, posture: str, support: str | None, width: float, height: float, center):
        self.model, self.posture = model, posture
        self.places = support_places(support)
        self.z_c1 = float(model.level_centre("C1")[2])
        self.u_c1 = 205.0
        self.width, self.height = width, height
        self.center = np.asarray(center, float)
        self.k = min(width / (self.BODY_LENGTH + 200.0), height / 520.0)
        self.origin = self.center + np.array([-self.BODY_LENGTH / 2 * self.k, -90.0 * self.k, 0.0])
        self.mobject = self._draw()

    # mm (u along the body, v above the table) -> scene
    def at(self, u: float, v: float) -> np.ndarray:
        return self.origin + np.array([u * self.k, v * self.k, 0.0])

    def _pts(self, uv) -> np.ndarray:
        uv = np.asarray(uv, float)
        return np.column_stack([self.origin[0] + uv[:, 0] * self.k, self.origin[1] + uv[:, 1] * self.k])

    def u_of(self, z: float) -> float:
        return self.u_c1 + (self.z_c1 - float(z))

    # where a pillow or pad goes along the body: (centre u, half its length, its height) in mm
    CUSHIONS = {"chest": (470.0, 150.0, 70.0), "abdomen": (690.0, 165.0, 85.0), "pelvis": (890.0, 120.0, 70.0)}

    def _lift(self, u: float) -> float:
        """How far a pillow or pad lifts the front of the body at ``u`` (mm): the body rests on
        the cushion's flat top and sags to the table a little beyond its ends."""
        lift = 0.0
        for place in self.places:
            if place in self.CUSHIONS:
                c, half, h = self.CUSHIONS[place]
                x = (abs(u - c) - 0.7 * half) / (0.6 * half)  # 0 at the top's edge, 1 beyond the end
                x = min(1.0, max(0.0, x))
                lift = max(lift, h * (1.0 - x * x * (3 - 2 * x)))
        return lift

    def thickness(self, u: float) -> float:
        """Front-to-back thickness of the body (mm) along it."""
        table = [
            (205, 105),
            (290, 120),
            (340, 215),
            (520, 235),
            (650, 200),
            (760, 205),
            (900, 215),
            (1000, 165),
            (1300, 115),
            (1360, 105),
            (1650, 75),
            (1700, 70),
        ]
        us, ts = zip(*table)
        return float(np.interp(u, us, ts))

    def width_across(self, u: float) -> float:
        """Side-to-side width of the body (mm) along it: what a side-lying body shows from
        behind (the two legs lying one on the other)."""
        table = [
            (205, 110),
            (255, 135),
            (300, 290),
            (350, 385),
            (420, 395),
            (540, 350),
            (700, 290),
            (880, 360),
            (1000, 320),
            (1300, 210),
            (1400, 200),
            (1650, 140),
            (1700, 130),
        ]
        us, ws = zip(*table)
        return float(np.interp(u, us, ws))

    def _spine_height(self, u: float) -> float:
        """Side-lying: the spine's height above the table (mm), half the width it rests on (the
        lower shoulder, then the hip, then the legs): the body lies straight, the neck and
        waist clear of the table between them."""
        return float(np.interp(u, [205, 330, 880, 1000, 1700], [200, 200, 180, 160, 65]))

    def back(self, u: float) -> float:
        """Height of the skin facing up above the table at ``u`` (mm). Face down, the back: a
        cushion lifts it only a little (the belly is pressed up into the body: the small of the
        back flattens). On the side, the upper side (the painful one, where the needle goes in)."""
        if self.posture == "lateral":
            return self._spine_height(u) + self.width_across(u) / 2
        return self._front(u) - 0.65 * self._lift(u) + self.thickness(u)

    def _front(self, u: float) -> float:
        """Height of the skin facing the table (mm): on a cushion, or on its side clear of the
        table where the body is narrower than at the shoulder and the hip."""
        if self.posture == "lateral":
            return max(0.0, self._spine_height(u) - self.width_across(u) / 2)
        return self._lift(u)

    def _draw(self) -> VGroup:
        group = VGroup()
        table = RoundedRectangle(
            corner_radius=0.04,
            width=(self.BODY_LENGTH + 120) * self.k,
            height=38 * self.k,
            fill_color=TABLE,
            fill_opacity=1,
            stroke_color=TABLE_EDGE,
            stroke_width=2,
        )
        table.move_to(self.at(self.BODY_LENGTH / 2, -19))
        stand = RoundedRectangle(
            corner_radius=0.03, width=140 * self.k, height=60 * self.k, fill_color=TABLE, fill_opacity=1, stroke_width=0
        ).move_to(self.at(self.BODY_LENGTH * 0.62, -68))
        group.add(stand, table)
        for place in self.places:
            if place in self.CUSHIONS:
                group.add(self._cushion(*self.CUSHIONS[place]))
        if "forehead" in self.places or self.posture == "prone":
            group.add(self._pillow(RoundedRectangle, 170, 40, 110, 20, corner_radius=0.05))
        if self.posture == "supine":
            group.add(self._pillow(Ellipse, 220, 55, 110, 27))
        if self.posture == "lateral":  # the head on a pillow, level with the spine
            group.add(self._pillow(RoundedRectangle, 230, 100, 110, 50, corner_radius=0.05))
        group.add(self._body())
        return group

    def _cushion(self, c: float, half: float, h: float) -> VGroup:
        """A pillow under the body, resting on the table: a soft rounded block with a seam along
        its middle, as tall as it lifts the body (the body lies on its flat top)."""
        block = RoundedRectangle(
            corner_radius=0.42 * h * self.k,
            width=2 * half * self.k,
            height=h * self.k,
            fill_color=PILLOW,
            fill_opacity=1,
            stroke_color=PILLOW_EDGE,
            stroke_width=2.5,
        ).move_to(self.at(c, h / 2))
        seam = Line(self.at(c - half * 0.78, h * 0.45), self.at(c + half * 0.78, h * 0.45), stroke_width=1.5)
        seam.set_stroke(PILLOW_EDGE, opacity=0.7)
        return VGroup(block, seam)

    def _pillow(self, shape, width_mm: float, height_mm: float, u: float, v: float, **kwargs):
        """A pillow or pad (``shape``: Ellipse, RoundedRectangle) of the given size in mm at (u, v)."""
        return shape(
            width=width_mm * self.k,
            height=height_mm * self.k,
            fill_color=PILLOW,
            fill_opacity=1,
            stroke_color=palette.TEXT_MUTED,
            stroke_width=1.5,
            **kwargs,
        ).move_to(self.at(u, v))

    def _body(self) -> VGroup:
        us = np.linspace(205, 1690, 60)
        top = [(u, self.back(u)) for u in us]
        bottom = [(u, self._front(u)) for u in us[::-1]]
        torso_pts = top + [(us[-1] + 25, (self.back(us[-1]) + self._front(us[-1])) / 2)] + bottom
        body = VGroup()
        torso = _shape(self._pts(torso_pts), palette.SKIN)
        body.add(torso)
        if self.posture == "lateral":  # seen from behind: the back of the head, on the pillow
            head_c = self.at(110, self._spine_height(205))
            head = Circle(radius=100 * self.k, fill_color=HAIR, fill_opacity=1, stroke_color=SKIN_DARK, stroke_width=2)
            ear = Ellipse(
                width=36 * self.k, height=22 * self.k, fill_color=palette.SKIN, fill_opacity=1, stroke_color=SKIN_DARK
            ).set_stroke(width=1.5)
            self.head = head.move_to(head_c)
            body.add(head, ear.move_to(head_c + UP * 96 * self.k))
            # the upper leg lying on the lower one
            legs = [(u, self._spine_height(u)) for u in np.linspace(1010, 1680, 12)]
            seam = _smooth(self._pts(legs)).set_stroke(SKIN_DARK, width=2).set_fill(opacity=0)
            body.add(seam)
            return body
        head_c = self.at(105, self._front(105) + 105 + (30 if self.posture == "prone" else 45))
        head = Circle(
            radius=100 * self.k, fill_color=palette.SKIN, fill_opacity=1, stroke_color=SKIN_DARK, stroke_width=2
        ).move_to(head_c)
        self.head = head
        body.add(head)
        body.add(self._face(head_c))
        if self.posture != "lateral":
            # feet: face down, the soles up and the toes down on the table beyond the legs' end;
            # on the back, the toes up
            if self.posture == "prone":
                corners = [(1680, 72), (1712, 82), (1778, 6), (1700, 6)]
            else:
                f = self._front(1690) + 40
                corners = [(1690, f + 30), (1760, f + 30), (1760, f + 120)]
            foot = Polygon(
                *(self.at(u, v) for u, v in corners),
                fill_color=palette.SKIN,
                fill_opacity=1,
                stroke_color=SKIN_DARK,
                stroke_width=2,
            )
            self.foot = foot
            body.add(foot)
        hair = Arc(
            radius=100 * self.k, start_angle=math.pi * 0.55, angle=math.pi * 0.9, color=SKIN_DARK, stroke_width=5
        ).move_arc_center_to(head_c)
        body.add(hair)
        return body

    def _face(self, c: np.ndarray) -> VGroup:
        """Nose and eye: face down (prone), up and turned (supine)."""
        r = 100 * self.k
        angle = {"prone": -math.pi / 2, "supine": math.pi / 4}.get(self.posture, -math.pi / 2)
        d = np.array([math.cos(angle), math.sin(angle), 0.0])
        n = np.array([-d[1], d[0], 0.0])
        nose = Polygon(
            c + d * r * 0.92 + n * r * 0.18,
            c + d * r * 1.22,
            c + d * r * 0.92 - n * r * 0.18,
            fill_color=palette.SKIN,
            fill_opacity=1,
            stroke_color=SKIN_DARK,
            stroke_width=2,
        )
        eye = Circle(radius=r * 0.08, fill_color=SKIN_DARK, fill_opacity=1, stroke_width=0)
        eye.move_to(c + d * r * 0.55 + n * r * 0.3)
        return VGroup(nose, eye)

    # -- marks ------------------------------------------------------------------------------
    def skin_point(self, point3d) -> np.ndarray:
        """Where a model point's height lies on the back (scene)."""
        u = self.u_of(np.asarray(point3d, float)[2])
        return self.at(u, self.back(u))

    def needle(self, entry, tip, depth_mm: float = 45.0) -> VMobject:
        """The needle going in at the entry, tilted as the plan's path is along the spine."""
        entry, tip = np.asarray(entry, float), np.asarray(tip, float)
        d = tip - entry
        along = np.array([-d[2], d[1]])  # u grows down the spine; v up = posterior
        along = along / max(np.linalg.norm(along), 1e-6)
        if along[1] > -0.3:  # a path mostly across the body still enters from above the skin
            along = np.array([along[0], -1.0]) / np.hypot(along[0], 1.0)
        start = self.skin_point(entry)
        outside = start - np.array([along[0], along[1], 0.0]) * 95 * self.k
        inside = start + np.array([along[0], along[1], 0.0]) * depth_mm * self.k
        line = Line(outside, inside, color=palette.NEEDLE, stroke_width=5)
        hub = RoundedRectangle(
            corner_radius=0.02, width=0.12, height=0.2, fill_color=palette.ACCENT, fill_opacity=1, stroke_width=0
        ).move_to(outside)
        hub.rotate(math.atan2(along[1], along[0]) - math.pi / 2)
        return VGroup(line, hub)

    def entry_mark(self, entry) -> VGroup:
        at = self.skin_point(entry)
        s = 0.11
        return VGroup(
            Line(at + np.array([-s, -s, 0]), at + np.array([s, s, 0]), color=MARK, stroke_width=6),
            Line(at + np.array([-s, s, 0]), at + np.array([s, -s, 0]), color=MARK, stroke_width=6),
        )


# -- the view from the feet -----------------------------------------------------------------------
def _region_body(level_name: str) -> tuple[float, float, float]:
    """(half width, half depth, offset of the body's centre in front of the vertebra) in mm."""
    first = level_name[0]
    if first == "C":
        return 65.0, 58.0, 15.0
    if first == "T":
        return 160.0, 112.0, 75.0
    if first == "S":
        return 175.0, 105.0, 45.0
    return 165.0, 110.0, 60.0


class EndRoom:
    """The patient seen from the feet (a section through the level) and the C-arm around it.

    ``view`` is an axial :class:`SpineView` of the level (its ``project`` maps model mm to its
    plane: anterior up, the patient's left on the right); the drawing is that plane turned for
    the posture (face down: the back up), scaled into the box.
    """

    def __init__(
        self, view, level: str, posture: str, side: str | None, entries, width: float, height: float, center, bone=None
    ):
        self.view, self.posture, self.side = view, posture, side or "right"
        self.centre3 = np.asarray(view.model.level_centre(level), float)
        self.turn = {"prone": math.pi, "supine": 0.0}.get(posture, 0.0)
        if posture == "lateral":  # the painful side up
            self.turn = -math.pi / 2 if self.side == "right" else math.pi / 2
        self.width, self.height = width, height
        self.center = np.asarray(center, float)
        a, b, off = _region_body(level)
        cy = self.centre3[1] - off
        entries = [np.asarray(e, float) for e in entries]
        if entries:  # the skin passes through the planned entry
            e = entries[0]
            k = math.sqrt((e[0] / a) ** 2 + ((e[1] - cy) / b) ** 2)
            a, b = a * max(k, 0.6), b * max(k, 0.6)
        self.body_axes, self.body_cy = (a, b), cy
        reach = max(SOURCE_MM, DETECTOR_MM) + 80.0  # the arm's ends as it turns, around the centre
        self.k_mm = min(width, height) / (2 * reach)
        self.pivot = view.project(self.centre3)[0, :2]
        self.bone = bone

    def to_scene(self, points3d) -> np.ndarray:
        p = np.atleast_2d(self.view.project(np.atleast_2d(np.asarray(points3d, float))))[:, :2] - self.pivot
        c, s = math.cos(self.turn), math.sin(self.turn)
        p = p @ np.array([[c, s], [-s, c]])
        p = p / self.view.scale * self.k_mm
        return np.column_stack([p[:, 0] + self.center[0], p[:, 1] + self.center[1], np.zeros(len(p))])

    def body_points(self, n: int = 72) -> np.ndarray:
        a, b = self.body_axes
        t = np.linspace(0, 2 * math.pi, n, endpoint=False)
        z = self.centre3[2]
        return np.column_stack([a * np.cos(t), self.body_cy + b * np.sin(t), np.full(n, z)])

    def patient(self) -> VGroup:
        body_pts = self.to_scene(self.body_points())
        body = _shape(body_pts[:, :2], palette.SKIN, width=2.5)
        bottom = float(body_pts[:, 1].min())
        table = RoundedRectangle(
            corner_radius=0.04,
            width=min(self.width * 0.92, np.ptp(body_pts[:, 0]) * 1.5),
            height=0.16,
            fill_color=TABLE,
            fill_opacity=1,
            stroke_color=TABLE_EDGE,
            stroke_width=2,
        )
        table.move_to(np.array([self.center[0], bottom - 0.08, 0.0]))
        group = VGroup(table, body)
        if self.bone is not None:
            bone = self.bone.copy()
            src = self.view.project(self.centre3)[0]
            bone.shift(-src)
            bone.rotate(self.turn, about_point=np.zeros(3))
            bone.scale(self.k_mm / self.view.scale, about_point=np.zeros(3))
            bone.shift(self.to_scene(self.centre3)[0])
            group.add(bone)
        return group

    def carm(self, pose) -> VGroup:
        """The C-arm at ``pose``: tube, detector, the C joining them and the beam between."""
        iso = np.asarray(pose.isocentre, float)
        iso = np.array([iso[0], iso[1], self.centre3[2]])
        beam = np.asarray(pose.beam_direction, float)
        beam = np.array([beam[0], beam[1], 0.0])
        beam = beam / max(np.linalg.norm(beam), 1e-9)
        across = np.array([-beam[1], beam[0], 0.0])
        if self.posture in ("supine",):  # on the back the tube is under the table, the detector over the face
            beam = -beam
        src, det = iso - beam * SOURCE_MM, iso + beam * DETECTOR_MM
        ts = np.linspace(0, math.pi, 40)
        mid = 0.5 * (src + det)
        half = 0.5 * np.linalg.norm(det - src)
        arc3 = [mid + beam * (half + 40) * math.cos(t) + across * ARC_MM * math.sin(t) for t in ts]
        arc2 = self.to_scene(np.array(arc3))
        c_arm = VMobject(stroke_color=CARM, stroke_width=14)
        c_arm.set_points_smoothly(arc2)
        d2 = self.to_scene(np.array([det, det + beam * 10]))
        s2 = self.to_scene(np.array([src, src - beam * 10]))
        det_mob = self._box(d2[0], d2[1] - d2[0], 150 * self.k_mm, 42 * self.k_mm, CARM)
        src_mob = self._box(s2[0], s2[1] - s2[0], 90 * self.k_mm, 70 * self.k_mm, CARM_DARK)
        cone_half = 55.0
        b1, b2 = self.to_scene(np.array([det + across * cone_half, det - across * cone_half]))
        cone = Polygon(s2[0], b1, b2, fill_color=BEAM, fill_opacity=0.13, stroke_width=0)
        return VGroup(cone, c_arm, src_mob, det_mob)

    def _box(self, at, direction, width: float, depth: float, colour: str) -> VMobject:
        d = np.asarray(direction, float)
        d = d / max(np.linalg.norm(d), 1e-9)
        box = RoundedRectangle(
            corner_radius=min(width, depth) * 0.2,
            width=width,
            height=depth,
            fill_color=colour,
            fill_opacity=1,
            stroke_color=CARM_DARK,
            stroke_width=1.5,
        )
        box.rotate(math.atan2(d[1], d[0]) - math.pi / 2)
        box.move_to(at + d * depth / 2)
        return box

    def entry_mark(self, entry) -> VGroup:
        at = self.to_scene(entry)[0]
        s = 0.09
        return VGroup(
            Line(at + np.array([-s, -s, 0]), at + np.array([s, s, 0]), color=MARK, stroke_width=6),
            Line(at + np.array([-s, s, 0]), at + np.array([s, -s, 0]), color=MARK, stroke_width=6),
        )

    def path(self, entry, tip) -> VMobject:
        pts = self.to_scene(np.array([entry, tip]))
        return DashedLine(pts[0], pts[1], color=palette.NEEDLE, stroke_width=3, dash_length=0.06)

    def side_point(self) -> np.ndarray:
        """Scene point just outside the skin on the requested side, for its label."""
        a, _ = self.body_axes
        x = -a if self.side == "right" else a  # +x is the patient's left
        p = np.array([x * 1.08, self.body_cy, self.centre3[2]])
        return self.to_scene(p)[0]


def angle_words(pose, says, side_word) -> str:
    """The C-arm's angle in plain words (``says(key, **fields)`` gives the video's words):
    straight on, turned so many degrees toward a side, from the side; tilted toward the head or feet."""
    r, t = float(pose.rotation_deg), float(pose.tilt_deg)
    if abs(r) < 0.5:
        words = says("room.angle.straight")
    elif abs(abs(r) - 90) < 0.5:
        words = says("room.angle.side")
    else:
        words = says("room.angle.turned", degrees=f"{abs(r):.0f}", side=side_word("left" if r > 0 else "right"))
    if abs(t) >= 0.5:
        words += says("room.angle.tilt_head" if t > 0 else "room.angle.tilt_feet", degrees=f"{abs(t):.0f}")
    return words
