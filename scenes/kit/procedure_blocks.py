"""Building blocks of the procedure videos (``scenes/procedure_scene.py``).

Everything here is driven by the procedure data and the validated needle plan: the
illustration fitted into a box of the frame, the needle (or lead) as one 3D polyline
drawn on the illustration and sent to the fluoroscopy, the glow of the treated
structure, and cards made from the data's words.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, DashedLine, Dot, Line, RoundedRectangle, VGroup, VMobject

from spine.imaging.layers import GAUGE_OD_MM, Needle
from scenes.kit import palette
from scenes.kit.cards import framed, paragraph, text
from scenes.kit.typography import MIN_TEXT_PX, TextDoesNotFit

# Approaches whose illustration is drawn from behind (the joints and their nerves lie
# beside the spine; from the side they hide behind the bodies).
POSTERIOR_APPROACHES = ("facet_intraarticular", "medial_branch", "rf_parallel", "si_joint")
EPIDURAL_APPROACHES = ("interlaminar_midline", "interlaminar_paramedian", "caudal_hiatus", "epidural_lead")


class Fitted:
    """An anatomy drawing (a SpineView's mobject) fitted with extra 3D points into a box.

    ``to_scene`` maps 3D model points onto the fitted drawing exactly, so the needle,
    the glow and the medicine drawn from the plan land on the drawn structures.
    """

    def __init__(self, view, mobject, width: float, height: float, center, extra_points=()):
        self.view, self.mobject = view, mobject
        corners = [mobject.get_corner(d) for d in (np.array([-1, -1, 0]), np.array([1, 1, 0]))]
        pts = np.vstack(
            [np.array(corners)[:, :2]]
            + ([view.project(np.asarray(extra_points, float))[:, :2]] if len(extra_points) else [])
        )
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        size = np.maximum(hi - lo, 1e-6)
        self.factor = float(min(width / size[0], height / size[1]))
        self.mid = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, 0.0])
        self.center = np.asarray(center, float)
        mobject.scale(self.factor, about_point=self.mid).shift(self.center - self.mid)

    @property
    def units_per_mm(self) -> float:
        return self.view.scale * self.factor

    def to_scene(self, points) -> np.ndarray:
        projected = np.atleast_2d(self.view.project(np.atleast_2d(np.asarray(points, float))))
        out = (projected - self.mid) * self.factor + self.center
        out[:, 2] = 0.0
        return out


class DevicePath:
    """Where the tip of a needle pass goes, stop by stop, as one polyline in 3D (mm).

    The tip runs from the skin entry through the waypoints to the planned tip. The
    needle drawn is the straight line from the entry to the tip (a curved inner needle
    of discography: entry -> bend, then bend -> tip). ``lead`` is the stimulator lead
    run through the needle afterwards (empty for other procedures).
    """

    def __init__(self, needle_pass, gauge: int = 22, inner_gauge: int | None = None):
        self.needle = needle_pass
        self.entry = np.asarray(needle_pass.entry, float)
        self.tip = np.asarray(needle_pass.tip, float)
        self.bend = None if needle_pass.bend is None else np.asarray(needle_pass.bend, float)
        self.gauge = gauge if gauge in GAUGE_OD_MM else 22
        self.inner_gauge = inner_gauge if inner_gauge in GAUGE_OD_MM else self.gauge
        stops = [w for w in needle_pass.waypoints if w.kind not in ("skin", "lead_tip")]
        points = [self.entry]
        if self.bend is not None:
            points += [self.bend, self.tip]
        else:
            for w in stops:
                if np.linalg.norm(np.asarray(w.point) - points[-1]) > 1e-6:
                    points.append(np.asarray(w.point, float))
            if np.linalg.norm(points[-1] - self.tip) > 1e-6:
                points.append(self.tip)
        self.points = np.array(points)
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.length = float(self.cum[-1])
        # each stop: (fraction of the path where it is, its words in the data, its kind)
        self.stops = []
        for w in stops:
            d = np.linalg.norm(self.points - np.asarray(w.point), axis=1)
            k = int(np.argmin(d))
            self.stops.append((float(self.cum[k] / self.length), w.label, w.kind))
        self.stops.sort(key=lambda s: s[0])
        if not self.stops or self.stops[-1][0] < 1.0 - 1e-9:
            self.stops.append((1.0, "", "target"))  # no words of its own: the scene's word for "the target"
        self.lead = np.asarray(needle_pass.lead, float) if len(needle_pass.lead) else np.zeros((0, 3))
        if len(self.lead):
            lseg = np.linalg.norm(np.diff(self.lead, axis=0), axis=1)
            self.lead_cum = np.concatenate([[0.0], np.cumsum(lseg)])
        else:
            self.lead_cum = np.zeros(1)

    def point_at(self, fraction: float) -> np.ndarray:
        s = float(np.clip(fraction, 0.0, 1.0)) * self.length
        return _along(self.points, self.cum, s)

    def polyline(self, fraction: float, lead_fraction: float = 0.0) -> list[np.ndarray]:
        """The device drawn at tip ``fraction`` of the path (and lead ``lead_fraction``)."""
        f = max(float(fraction), 1e-3)
        p = self.point_at(f)
        if self.bend is not None and f * self.length > self.cum[1]:
            return [self.entry, self.bend, p]
        line = [self.entry, p]
        return line

    def lead_polyline(self, lead_fraction: float) -> list[np.ndarray]:
        if not len(self.lead) or lead_fraction <= 0:
            return []
        s = float(np.clip(lead_fraction, 0.0, 1.0)) * self.lead_cum[-1]
        k = int(np.searchsorted(self.lead_cum, s, side="right"))
        return [*self.lead[: max(k, 1)], _along(self.lead, self.lead_cum, s)]

    def fluoro_device(self, fraction: float, lead_fraction: float = 0.0) -> "Device":
        line = self.polyline(fraction)
        needles = []
        for i, (a, b) in enumerate(zip(line, line[1:])):
            gauge = self.inner_gauge if (self.bend is not None and i == 1) else self.gauge
            needles.append(Needle.from_gauge(a, b, gauge))
        lead = self.lead_polyline(lead_fraction)
        for a, b in zip(lead, lead[1:]):
            if np.linalg.norm(b - a) > 1e-6:
                needles.append(Needle.from_gauge(a, b, 18))  # a lead is ~1.3 mm across
        return Device(tuple(needles))


def _along(points: np.ndarray, cum: np.ndarray, s: float) -> np.ndarray:
    k = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(points) - 2))
    seg = cum[k + 1] - cum[k]
    t = 0.0 if seg <= 1e-12 else (s - cum[k]) / seg
    return points[k] + (points[k + 1] - points[k]) * min(max(t, 0.0), 1.0)


class Device:
    """Several straight steel pieces shown on the fluoroscopy as one needle layer."""

    def __init__(self, needles: tuple[Needle, ...]):
        self.needles = needles

    @property
    def tip(self) -> np.ndarray:
        return self.needles[-1].tip

    def structures(self) -> list:
        out = []
        for n in self.needles:
            out.extend(n.structures())
        return out


def illustration_group(mobject):
    """The drawing of the spine in ``mobject`` (itself, or the last member that is one: the SI
    joint's drawing is the pelvis, then the spine), or None."""
    if getattr(mobject, "drawn", None) is not None:
        return mobject
    for m in reversed(getattr(mobject, "submobjects", [])):
        if getattr(m, "drawn", None) is not None:
            return m
    return None


def drawings_in(mobject) -> list:
    """Every shaded drawing (an :class:`IllustrationGroup` with its layer) in ``mobject``'s family:
    the SI joint's drawing is two (the pelvis, then the spine)."""
    return [m for m in mobject.get_family() if getattr(m, "drawn", None) is not None and m.image is not None]


class DrawnCover:
    """What a drawing covers on screen, sampled on a grid of scene points: how opaque the
    anatomy is (the layer's alpha, edge fades included) and where the named structures are the
    visible surface. Box sums come from summed-area tables, so trying a few thousand places for
    a label costs milliseconds. ``bounds``: (x0, y0, x1, y1) of the scene area sampled."""

    def __init__(self, drawing, bounds, names=(), step: float = 0.05):
        self.x0, self.y0, x1, y1 = (float(v) for v in bounds)
        self.step = step
        self.nx = max(1, int(np.ceil((x1 - self.x0) / step)))
        self.ny = max(1, int(np.ceil((y1 - self.y0) / step)))
        xs = self.x0 + (np.arange(self.nx) + 0.5) * step
        ys = self.y0 + (np.arange(self.ny) + 0.5) * step
        gx, gy = np.meshgrid(xs, ys)
        anatomy = np.zeros(gx.shape)
        for group in drawings_in(drawing):
            img = group.image
            alpha = group._alpha()
            h, w = alpha.shape
            left, top = img.get_corner(np.array([-1, 1, 0]))[:2]
            col = np.floor((gx - left) / img.width * w).astype(int)
            row = np.floor((top - gy) / img.height * h).astype(int)
            ok = (col >= 0) & (col < w) & (row >= 0) & (row < h)
            a = np.zeros(gx.shape)
            a[ok] = alpha[row[ok], col[ok]] / 255.0
            anatomy = np.maximum(anatomy, a)
        self.anatomy = anatomy
        self.named = np.zeros(gx.shape, bool)
        self._sums = {"anatomy": self._table(anatomy)}
        # every pixel where a named structure is the visible surface, whatever its size
        pts = [g.drawn_points(names) for g in drawings_in(drawing)] if names else []
        self.mark(np.vstack(pts) if pts else np.zeros((0, 3)))

    @staticmethod
    def _table(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)

    def mark(self, points, radius: float = 0.0) -> None:
        """Count scene ``points`` (and the cells within ``radius``) as part of the named
        structure: its drawn pixels, or the target's own overlay (a nerve curve, a ring)."""
        pts = np.asarray(points, float).reshape(-1, 3)
        r = int(np.ceil(radius / self.step))
        c = np.floor((pts[:, 0] - self.x0) / self.step).astype(int)
        k = np.floor((pts[:, 1] - self.y0) / self.step).astype(int)
        for dc in range(-r, r + 1):
            for dk in range(-r, r + 1):
                cc, kk = c + dc, k + dk
                ok = (cc >= 0) & (cc < self.nx) & (kk >= 0) & (kk < self.ny)
                self.named[kk[ok], cc[ok]] = True
        self._sums["named"] = self._table(self.named.astype(float))

    def box_sums(self, what: str, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """The sums of ``what`` ("anatomy" or "named") over the cells whose centres lie in each
        box (``lo``, ``hi``: (N, 2) corners)."""
        c0 = np.clip(np.ceil((lo[:, 0] - self.x0) / self.step - 0.5), 0, self.nx).astype(int)
        c1 = np.clip(np.floor((hi[:, 0] - self.x0) / self.step - 0.5) + 1, 0, self.nx).astype(int)
        r0 = np.clip(np.ceil((lo[:, 1] - self.y0) / self.step - 0.5), 0, self.ny).astype(int)
        r1 = np.clip(np.floor((hi[:, 1] - self.y0) / self.step - 0.5) + 1, 0, self.ny).astype(int)
        c1, r1 = np.maximum(c1, c0), np.maximum(r1, r0)
        t = self._sums[what]
        return t[r1, c1] - t[r0, c1] - t[r1, c0] + t[r0, c0]


def label_spot(
    size,
    targets,
    cover: DrawnCover,
    area,
    avoid_boxes=(),
    keep_clear=(),
    margin: float = 0.06,
    step: float = 0.1,
):
    """The centre of a label of ``size`` (width, height) leading to ``targets`` (scene points):
    inside ``area`` (x0, y0, x1, y1), never over the structure it names (``cover.named``), over
    the ``targets`` or the ``keep_clear`` points (a needle's path) or across ``avoid_boxes``
    (other words on screen), and over as little drawn anatomy as can be, near its targets (a
    short leader). (centre, cost), or (None, inf) when no place is free of what it names."""
    w, h = float(size[0]), float(size[1])
    x0, y0, x1, y1 = area
    tgt = np.asarray(targets, float).reshape(-1, 3)[:, :2]
    clear = np.vstack([tgt, np.asarray(keep_clear, float).reshape(-1, 3)[:, :2]])
    cx, cy = np.meshgrid(np.arange(x0 + w / 2, x1 - w / 2 + 1e-9, step), np.arange(y0 + h / 2, y1 - h / 2 + 1e-9, step))
    centres = np.column_stack([cx.ravel(), cy.ravel()])
    if not len(centres):
        return None, float("inf")
    lo = centres - np.array([w / 2 + margin, h / 2 + margin])
    hi = centres + np.array([w / 2 + margin, h / 2 + margin])
    free = cover.box_sums("named", lo, hi) <= 0
    if len(clear):
        inside = (clear[None, :, :] > lo[:, None, :]) & (clear[None, :, :] < hi[:, None, :])
        free &= ~np.any(np.all(inside, axis=2), axis=1)
    for b_lo, b_hi in avoid_boxes:
        free &= ~((lo[:, 0] < b_hi[0]) & (b_lo[0] < hi[:, 0]) & (lo[:, 1] < b_hi[1]) & (b_lo[1] < hi[:, 1]))
    if not free.any():
        return None, float("inf")
    covered = cover.box_sums("anatomy", lo, hi) * cover.step**2  # scene units^2 of anatomy under it
    mid = tgt.mean(axis=0)
    gap = np.maximum(np.maximum(lo - mid, mid - hi), 0.0)
    cost = 3.0 * covered + 0.35 * np.hypot(gap[:, 0], gap[:, 1])
    cost[~free] = np.inf
    best = int(np.argmin(cost))
    return np.array([*centres[best], 0.0]), float(cost[best])


class NeedleOnDrawing:
    """A needle pass drawn on a shaded drawing as an illustrator draws it: steel with a dark
    edge where nothing is in front of it; dashed and faded where bone, or the translucent sac,
    lies in front (its depth in the same drawing: :meth:`SpineView.needle_parts` with the
    drawing's own cut-away); the tip marked by a dark-ringed steel dot, always on top.

    The split is computed once for the whole pass (rays from points every 0.5 mm toward the
    viewer); a needle step only cuts the precomputed parts at the tip's depth."""

    def __init__(
        self, path: DevicePath, view, drawing, to_scene, stroke: float = 5.0, occluders: str = "all", split: bool = True
    ):
        """``split=False``: the whole needle drawn solid (a section seen as a map of the path)."""
        self.path, self.to_scene, self.stroke = path, to_scene, stroke
        ends = [path.entry, path.bend, path.tip] if path.bend is not None else [path.entry, path.tip]
        self.segments = []  # (a, b, [(t0, t1, in_front)]) per straight piece
        group = illustration_group(drawing) if split else None
        for a, b in zip(ends, ends[1:]):
            length = float(np.linalg.norm(b - a))
            if group is None or length < 1e-6:
                parts = [(0.0, 1.0, True)]
            else:
                split = view.needle_parts(a, b, structures=group.drawn, cut=group.cut, occluders=occluders)
                parts = [(self._t(p, a, b), self._t(q, a, b), bool(front)) for p, q, front in split]
            self.segments.append((a, b, parts))

    @staticmethod
    def _t(p, a, b) -> float:
        d = b - a
        return float(np.clip(np.dot(np.asarray(p) - a, d) / max(float(np.dot(d, d)), 1e-12), 0.0, 1.0))

    def pieces(self, fraction: float) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """[(start, end, in_front)] in 3D (mm) of the needle with its tip at ``fraction``."""
        line = self.path.polyline(fraction)
        out = []
        for k, (p, q) in enumerate(zip(line, line[1:])):
            a, b, parts = self.segments[min(k, len(self.segments) - 1)]
            reach = self._t(q, a, b)  # how far along the full piece the tip has come
            for t0, t1, front in parts:
                if t0 >= reach:
                    break
                s0, s1 = t0, min(t1, reach)
                out.append(
                    (p + (q - p) * (s0 / reach if reach else 0.0), p + (q - p) * (s1 / reach if reach else 0.0), front)
                )
        return out

    def mobject(self, fraction: float) -> VGroup:
        group = VGroup()
        pieces = self.pieces(fraction)
        edge, core = VGroup(), VGroup()
        for a, b, front in pieces:
            pa, pb = self.to_scene(np.array([a, b]))[:2]
            if np.linalg.norm(pb - pa) < 1e-4:
                continue
            if front:
                edge.add(Line(pa, pb, color=palette.NEEDLE_EDGE, stroke_width=self.stroke + 4))
                core.add(Line(pa, pb, color=palette.NEEDLE, stroke_width=self.stroke))
            else:  # behind: dashed and faded, still edged so it reads on bone
                dash = 0.08
                edge.add(
                    DashedLine(
                        pa, pb, color=palette.NEEDLE_EDGE, stroke_width=self.stroke + 2, dash_length=dash
                    ).set_stroke(opacity=0.6)
                )
                core.add(
                    DashedLine(
                        pa, pb, color=palette.NEEDLE, stroke_width=self.stroke * 0.7, dash_length=dash
                    ).set_stroke(opacity=0.75)
                )
        group.add(edge, core)
        tip = self.to_scene(np.array([self.path.polyline(fraction)[-1]]))[0]
        group.add(Dot(tip, radius=0.06, color=palette.NEEDLE).set_stroke(palette.NEEDLE_EDGE, width=3.0, opacity=1.0))
        return group


def polyline_mobject(points2d, color: str = palette.NEEDLE, width: float = 5.0) -> VMobject:
    pts = np.asarray(points2d, float)
    if len(pts) < 2 or np.linalg.norm(pts[-1] - pts[0]) < 1e-4 and len(pts) == 2:
        pts = np.vstack([pts[:1], pts[:1] + np.array([1e-3, 0, 0])])
    mob = VMobject(stroke_color=color, stroke_width=width)
    mob.set_points_as_corners(pts)
    return mob


# -- where the problem is ---------------------------------------------------------------------------


def problem_site(model, plan) -> np.ndarray:
    """3D point of the structure the procedure treats, from the model's landmarks."""
    return problem_site_at(model, plan)[1]


def problem_site_at(model, plan) -> tuple[str, np.ndarray]:
    """(level, 3D point) of the structure the procedure treats, from the model's landmarks."""
    level, side = plan.level, plan.side or "right"
    approach = plan.approach
    tries: list[tuple] = []
    if approach == "transforaminal":
        tries = [(level, "foramen", side)]
    elif approach == "transforaminal_s1":
        tries = [(level, "posterior_sacral_foramen", side)]
    elif approach in ("facet_intraarticular", "medial_branch", "rf_parallel"):
        tries = [(level, "facet_joint", side)]
    elif approach == "disc_extrapedicular":
        tries = [(level, "nucleus_centre", None)]
    elif approach == "transpedicular":
        return level, np.asarray(model.level_centre(level), float)
    elif approach == "si_joint":
        tries = [(level, "si_joint_inferior_third", side)]
    elif approach == "caudal_hiatus":
        tries = [("L5-S1", "epidural_space", None)]
    else:  # interlaminar, SCS lead: the dorsal epidural space at the level
        tries = [(level, "epidural_space", None), (plan.needles[0].target_level, "epidural_space", None)]
    for lv, name, sd in tries:
        try:
            return lv, np.asarray(model.landmark(lv, name, sd), float)
        except Exception:  # noqa: BLE001 - fall back to the planned tip
            continue
    return plan.needles[0].target_level, np.asarray(plan.tip, float)


def soft_spot(width: float, height: float, colour: str, opacity: float) -> VMobject:
    """A filled ellipse with no outline (scene units): a glow, a burn, a cloud of medicine."""
    from manim import Ellipse

    return Ellipse(width=width, height=height, color=colour, fill_opacity=opacity, stroke_width=0)


def glow_size_mm(approach: str) -> tuple[float, float]:
    """Width and height (mm) of the glow / medicine cloud drawn at the target."""
    if approach in EPIDURAL_APPROACHES:
        return 9.0, 30.0
    if approach.startswith("transforaminal"):
        return 10.0, 16.0
    if approach == "transpedicular":
        return 16.0, 12.0
    if approach == "disc_extrapedicular":
        return 22.0, 8.0
    if approach == "si_joint":
        return 8.0, 22.0
    return 9.0, 11.0


# -- words ------------------------------------------------------------------------------------------


def plain(sentence: str) -> str:
    """Data words for a card: without citations like ``[10, 19]`` and trailing clauses in brackets."""
    s = re.sub(r"\s*\[[^\]]*\]", "", sentence)
    s = re.sub(r"\s*\([^)]*\)", "", s)
    s = " ".join(s.split())
    return s[:1].upper() + s[1:] if s else s


def fit_lines(words: str, width: int = 38, max_lines: int = 3) -> list[str]:
    """``words`` wrapped into lines of at most ``width`` characters; more than ``max_lines``
    lines is a :class:`TextDoesNotFit` (the copy is written to fit; nothing is cut off)."""
    lines = textwrap.wrap(str(words), width)
    if len(lines) > max_lines:
        raise TextDoesNotFit(words, f"{max_lines} line{'s' if max_lines > 1 else ''} of about {width} characters")
    return lines


wrap = fit_lines


def fact_card(
    title: str,
    items: list[str],
    width: float = 5.6,
    accent: str = palette.ACCENT,
    px: int = 28,
    max_lines_per_item: int = 3,
) -> VGroup:
    """A card: a bold title, then bullet items wrapped to the card's width."""
    head = text(title, 36, palette.TEXT, weight="BOLD", max_width=width - 0.5)
    rows = VGroup()
    room = width - 0.9
    for item in items:
        if not item:
            continue
        chars = max(18, int(room / (px * 0.0045)))
        body = None
        while True:  # re-wrap narrower until the lines fit the card at full size
            try:
                lines = fit_lines(item, chars, max_lines_per_item)
            except TextDoesNotFit:
                if body is None:
                    raise
                break  # narrower would take too many lines: the widest that did, a little smaller
            body = paragraph(lines, px=px, color=palette.TEXT_MUTED, buff=0.1)
            if body.width <= room or chars <= 16:
                break
            chars -= 3
        if body.width > room:
            if room / body.width * px < MIN_TEXT_PX:
                raise TextDoesNotFit(item, f"{max_lines_per_item} lines across a card {width:.1f} units wide")
            body.scale_to_fit_width(room)
        dot = text("•", px, accent)
        dot.next_to(body[0], LEFT, buff=0.15)
        rows.add(VGroup(dot, body))
    rows.arrange(DOWN, aligned_edge=LEFT, buff=0.28)
    content = VGroup(head, rows).arrange(DOWN, aligned_edge=LEFT, buff=0.35)
    if content.width > width - 0.5:
        content.scale_to_fit_width(width - 0.5)
    return framed(content, width, accent)


def axial_inset(view, plan, paths, centre, width: float = 2.6, height: float = 2.15, ring=(), tag=None):
    """The axial section through the level in a framed box at ``centre``: seen from the feet
    (as on a scan), the level's bones and the needles' paths on it beside the sac, R and L on
    the patient's sides (the patient's right on the screen's left), and ``tag`` (the treated
    side's name) above the box. ``view``: the axial :class:`SpineView`; ``ring``: structures
    to ring (the treated root). Returns (the inset, the fitted section)."""
    box = RoundedRectangle(
        corner_radius=0.12,
        width=width,
        height=height,
        fill_color=palette.BACKGROUND,
        fill_opacity=0.96,
        stroke_color=palette.ACCENT,
        stroke_width=3,
    ).move_to(centre)
    ends = np.array([p for n in plan.needles for p in (n.entry, n.tip)])
    # the window: the level's bones and the needles (not the ribs or the pelvis beside them)
    bones = view._level_structures(str(view.axial_level))
    pts = (
        np.vstack(
            [s.solid.vertices[::7] if hasattr(s.solid, "vertices") else s.solid.surface_points(6) for s in bones]
            + [ends]
        )
        - view.anchor
    )
    u, v = pts @ view.right, pts @ view.up
    pad = 0.06 * max(float(np.ptp(u)), float(np.ptp(v))) + 3.0
    window = (float(u.min()) - pad, float(v.min()) - pad, float(u.max()) + pad, float(v.max()) + pad)
    mob = view.spine_mobject(highlight_structures=ring, window=window)
    fitted = Fitted(view, mob, width - 0.75, height - 0.25, box.get_center(), extra_points=ends)
    needles = VGroup(
        *(NeedleOnDrawing(p, view, mob, fitted.to_scene, stroke=3.5, split=False).mobject(1.0) for p in paths)
    )
    right, left = (text(letter, 26, palette.TEXT_MUTED, weight="BOLD") for letter in ("R", "L"))  # as on the monitor
    right.move_to(box.get_left() + RIGHT * 0.22)
    left.move_to(box.get_right() + LEFT * 0.22)
    parts = [box, mob, needles, right, left]
    if tag is not None:
        tag.next_to(box, UP, buff=0.06)
        parts.append(tag)
    return VGroup(*parts), fitted


# -- small drawings of a procedure (the overview's kinds of injection) -------------------------------
VIGNETTE_LEVELS = ("L3", "L3-L4", "L4", "L4-L5", "L5", "L5-S1", "S1")


class VignetteDrawings:
    """Two small drawings of the lower lumbar spine, made once and copied for each vignette:
    from the side (epidural needles come in from behind) and from behind with the pelvis
    (the joints and their nerves lie beside the spine)."""

    def __init__(self, model):
        from scenes.kit.anatomy_views import SpineView

        self.model = model
        self.views = {"lateral": SpineView(model, "lateral"), "posterior": SpineView(model, "posterior")}
        lateral = self.views["lateral"].spine_mobject(levels=VIGNETTE_LEVELS)
        back = self.views["posterior"]
        posterior = VGroup(
            back.spine_mobject(levels=[None], kinds=["ilium_posterior", "si_joint"]),
            back.spine_mobject(levels=(*VIGNETTE_LEVELS, "S2", "S3")),
        )
        self.mobjects = {"lateral": lateral, "posterior": posterior}

    def vignette(self, plan, width: float, height: float, center) -> tuple[Fitted, list]:
        """(the fitted drawing, the plan's needles) for a validated needle ``plan`` (a
        ``spine.procedures.planner.NeedlePlan`` the pipeline made: the scene plans nothing)."""
        kind = "posterior" if plan.approach in POSTERIOR_APPROACHES else "lateral"
        mob = self.mobjects[kind].copy()
        ends = [p for n in plan.needles for p in (n.entry, n.tip)]
        fitted = Fitted(self.views[kind], mob, width, height, center, extra_points=np.array(ends))
        return fitted, list(plan.needles)
