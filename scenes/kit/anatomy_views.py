"""Illustrated views of the spine model as Manim mobjects.

Every view is an orthographic projection of the same 3D solids the fluoroscopy and the
needle checks use, so a point from :meth:`SpineModel.landmark` drawn with
:meth:`SpineView.project` sits exactly on the structure it names.

Screen conventions (they match :class:`spine.imaging.carm.CArmPose`, so an illustration
and a fluoroscopy panel side by side show the anatomy the same way round):

* ``"posterior"``: the viewer stands behind the prone patient, as the operator does:
  head up, the patient's LEFT on the screen's LEFT (screen right = patient's right).
* ``"lateral"``: the viewer stands at the patient's LEFT side: head up, ANTERIOR on the
  screen's LEFT, posterior on the right. Structures of the patient's right side are the
  far side (drawn first, in the shaded bone colour).
* ``"oblique"``: the posterior view turned about the long axis by ``oblique_deg``:
  positive = the viewer moves toward the patient's LEFT (C-arm ``rotation_deg``), so +90
  is the lateral view and 0 the posterior view; an ipsilateral oblique for a right-sided
  target is negative (the "Scotty dog" of the right side).
* ``"axial"``: a section through ``axial_level`` (a vertebra: the plane through the middle
  of its pedicles; an interspace: the disc's mid-plane), seen from the feet as on CT/MRI
  (radiological convention): ANTERIOR up, the patient's LEFT on the screen's RIGHT.

Every view is drawn as one shaded medical illustration (:mod:`spine.imaging.illustration`:
the bone meshes and soft-tissue solids ray-cast per pixel, lit, outlined, with depth and
object-id buffers) placed as an image exactly where :meth:`SpineView.project` puts the
anatomy, under the vector overlays (needles, labels, :meth:`SpineView.highlight` outlines).
:meth:`SpineView.spine_mobject` returns it as an :class:`IllustrationGroup` (a VGroup), so
scenes add, fade, fit and group it as before. Cut-aways and the axial section are
parameters of the render (:class:`CutAway`); :meth:`SpineView.needle_parts` splits a needle
into the parts in front of and behind bone; :meth:`SpineView.turn` turns a drawing between
poses by re-rendered angles. :meth:`SpineView.flat_mobject` is the former flat polygon
drawing (silhouettes traced by marching squares, convex hulls), the benchmark's baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from manim import ORIGIN, Animation, ImageMobject, Line, VGroup, VMobject, config

from spine.anatomy.levels import VERTEBRAE, Interspace, Vertebra, parse_level, region_of
from spine.anatomy.mesh import MeshSolid
from spine.anatomy.model import BONE_KINDS, SpineModel
from spine.anatomy.solids import Structure
from spine.anatomy.surfaces import SURFACE_KIND, drawn_structures
from spine.imaging.illustration import (
    Camera,
    CutAway,
    IllustrationLayer,
    IllustrationStyle,
    illustrator_for,
    layer_key,
    occlusion,
    render_layer,
    split_by_occlusion,
)
from scenes.kit import palette
from scenes.kit.cross_fade import CrossFadingImage, same_place
from scenes.kit.typography import font_size_for_px, pango_text, register_fonts

__all__ = ["SpineView", "VIEW_KINDS", "KIND_STYLE", "convex_hull_2d", "IllustrationGroup", "SpineTurn", "CutAway"]

VIEW_KINDS = ("lateral", "posterior", "oblique", "axial")


@dataclass(frozen=True)
class _Style:
    fill: str
    opacity: float
    stroke: str
    stroke_width: float
    layer: int  # tie-break when two structures are at the same depth (inner ones later)


_BONE = _Style(palette.BONE, 1.0, palette.BONE_SHADE, 1.2, 2)
KIND_STYLE: dict[str, _Style] = {
    **{k: _BONE for k in BONE_KINDS},
    SURFACE_KIND: _BONE,
    "annulus": _Style(palette.DISC, 1.0, palette.BONE_SHADE, 1.0, 2),
    "nucleus": _Style(palette.NUCLEUS, 1.0, palette.NUCLEUS, 0.0, 3),
    "facet_joint": _Style(palette.JOINT, 1.0, palette.JOINT, 0.5, 3),
    "atlantoaxial_joint": _Style(palette.JOINT, 1.0, palette.JOINT, 0.5, 3),
    "si_joint": _Style(palette.JOINT, 1.0, palette.JOINT, 0.5, 3),
    "ligamentum_flavum": _Style(palette.LIGAMENT, 1.0, palette.LIGAMENT, 0.5, 3),
    "sacral_hiatus": _Style(palette.LIGAMENT, 1.0, palette.LIGAMENT, 0.5, 3),
    "epidural_space": _Style(palette.LIGAMENT, 0.45, palette.LIGAMENT, 0.0, 1),
    "dural_sac": _Style(palette.DURA, 1.0, palette.DURA, 0.8, 2),
    "cauda_equina": _Style(palette.NERVE, 0.9, palette.NERVE, 0.0, 4),
    "filum_terminale": _Style(palette.NERVE, 1.0, palette.NERVE, 0.0, 5),
    "cord": _Style(palette.CORD, 1.0, palette.CORD, 0.0, 4),
    "conus": _Style(palette.CORD, 1.0, palette.CORD, 0.0, 4),
    "root": _Style(palette.NERVE, 1.0, palette.NERVE, 0.0, 5),
    "vertebral_artery": _Style(palette.WARNING, 1.0, palette.WARNING, 0.0, 5),
    "posterior_sacral_foramen": _Style(palette.PANEL, 1.0, palette.BONE_SHADE, 0.8, 6),
    "canal": _Style(palette.PANEL, 1.0, palette.PANEL, 0.0, 0),
    "section_hole": _Style(palette.PANEL, 1.0, palette.BONE_SHADE, 1.0, 2),
    "foramen": _Style(palette.PANEL, 1.0, palette.PANEL, 0.0, 0),
    "anterior_sacral_foramen": _Style(palette.PANEL, 1.0, palette.PANEL, 0.0, 6),
}
_PEDICLE_RING = "#7A6C55"
# What a drawing of bones and discs leaves out (SpineView.turn_frames bones_only)
_SOFT_TISSUE = frozenset(k for k in KIND_STYLE if k not in BONE_KINDS and k not in (SURFACE_KIND, "annulus"))
SOFT_TISSUE_KINDS = _SOFT_TISSUE  # what a bones-only drawing (a whole spine's turn) leaves out
# Lateral parts of the pelvis and sacrum drawn see-through on side views, so the L5-S1 disc,
# the sacral bodies and the canal stay visible behind them.
_SEE_THROUGH_FROM_THE_SIDE = frozenset(
    {"ilium_wing", "ilium_posterior", "si_joint", "ala", "sacral_lateral_mass", "sacral_bridge"}
)
_PELVIS_SEE_THROUGH = _Style(palette.BONE_SHADE, 0.22, palette.BONE_SHADE, 1.0, 2)

# The near-side parts a lateral / oblique cut-away removes from the bone meshes
_NEAR_PARTS = frozenset({"pedicle", "lamina", "sap", "sap_neck", "iap", "pars", "tp"})
# Longest side of one layer in pixels (a few levels drawn finely for zooming in)
_MAX_LAYER_PX = 2200

# What each view draws by default (spaces are left out; they overlap their contents).
_DEFAULT_EXCLUDE = {
    "lateral": {"canal", "foramen", "anterior_sacral_foramen", "posterior_sacral_foramen", "epidural_space", "pleura"},
    "posterior": {"canal", "foramen", "anterior_sacral_foramen", "epidural_space", "pleura"},
    "oblique": {"canal", "foramen", "anterior_sacral_foramen", "epidural_space", "pleura"},
    "axial": {"foramen", "anterior_sacral_foramen", "posterior_sacral_foramen", "pleura"},  # a needle-check zone only
}


def convex_hull_2d(points: np.ndarray) -> np.ndarray:
    """Convex hull (counter-clockwise, no repeated end point) by Andrew's monotone chain."""
    pts = np.unique(np.round(np.asarray(points, float)[:, :2], 9), axis=0)
    if len(pts) <= 2:
        return pts
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def mask_outlines(mask: np.ndarray, min_points: int = 8) -> list[np.ndarray]:
    """Closed outlines (pixel coordinates col, row) of a boolean mask, longest first."""
    from skimage import measure

    padded = np.pad(mask.astype(float), 1)
    out = []
    for c in measure.find_contours(padded, 0.5):
        if len(c) >= min_points:
            out.append(c[:, ::-1] - 1.0)
    out.sort(key=len, reverse=True)
    return out


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def mesh_outline(points2d: np.ndarray, faces: np.ndarray, px: int = 360) -> tuple[np.ndarray, list[np.ndarray]]:
    """Outer outline and holes of a mesh's projection (2D points of its vertices, its faces).

    The projected triangles are filled into a bitmap of about ``px`` pixels across the
    outline's longer side (Pillow), and the bitmap's outlines are traced (scikit-image).
    """
    from PIL import Image, ImageDraw

    lo = points2d.min(axis=0)
    span = float(np.max(points2d.max(axis=0) - lo))
    k = (px - 4) / max(span, 1e-9)
    q = (points2d - lo) * k + 2.0
    w, h = np.ceil(q.max(axis=0)).astype(int) + 3
    img = Image.new("1", (int(w), int(h)), 0)
    draw = ImageDraw.Draw(img)
    tri = q[faces]
    for t in tri.tolist():
        draw.polygon([tuple(t[0]), tuple(t[1]), tuple(t[2])], fill=1)
    mask = np.array(img, bool)
    outlines = mask_outlines(mask)
    if not outlines:
        return np.zeros((0, 2)), []
    back = [(o - 2.0) / k + lo for o in outlines]
    outer = back[0]
    holes = [
        o
        for o in back[1:]
        if abs(_signed_area(o)) > 0.002 * abs(_signed_area(outer)) and _inside(o.mean(axis=0), outer)
    ]
    return _thin(outer), [_thin(hh) for hh in holes]


def _inside(p, poly) -> bool:
    from shapely.geometry import Point, Polygon

    return bool(Polygon(poly).buffer(0).contains(Point(float(p[0]), float(p[1]))))


def _thin(poly: np.ndarray, max_points: int = 160) -> np.ndarray:
    if len(poly) > 1 and np.allclose(poly[0], poly[-1]):
        poly = poly[:-1]
    step = int(np.ceil(len(poly) / max_points))
    return poly[:: max(step, 1)]


def _polygon(hull2d: np.ndarray, style: _Style, stroke_scale: float = 1.0) -> VMobject:
    pts = np.column_stack([hull2d, np.zeros(len(hull2d))])
    mob = VMobject()
    mob.set_points_as_corners(np.vstack([pts, pts[:1]]))
    mob.set_fill(style.fill, opacity=style.opacity)
    mob.set_stroke(style.stroke, width=style.stroke_width * stroke_scale, opacity=1.0 if style.stroke_width else 0.0)
    return mob


def _hole_of(st: Structure) -> Structure:
    """A stand-in structure for a hole in a bone's section (drawn in the panel colour)."""
    import dataclasses

    return dataclasses.replace(st, name=st.name + ".hole", kind="section_hole")


class SpineView:
    """One orthographic view of a :class:`SpineModel`.

    ``scale`` is Manim units per millimetre (default: the whole spine fits 90 % of the
    frame height; axial: the section's ~130 mm fit 90 % of the height); ``center`` is the
    scene point where ``anchor`` (default: the middle of the spine, or the axial plane's
    origin) is drawn.
    """

    def __init__(
        self,
        model: SpineModel | None = None,
        kind: str = "lateral",
        oblique_deg: float = 0.0,
        axial_level=None,
        scale: float | None = None,
        center=ORIGIN,
        anchor=None,
    ):
        if kind not in VIEW_KINDS:
            raise ValueError(f"unknown view kind {kind!r}; kinds: {', '.join(VIEW_KINDS)}")
        self.model = model or SpineModel.default()
        self.kind = kind
        self.oblique_deg = float(oblique_deg if kind == "oblique" else (90.0 if kind == "lateral" else 0.0))
        self.center = np.asarray(center, float).reshape(3)
        self.axial_level = None
        if kind == "axial":
            if axial_level is None:
                raise ValueError("an axial view needs axial_level, e.g. 'L4' or 'L4-L5'")
            self.axial_level = parse_level(axial_level)
            origin, frame = self._axial_plane(self.axial_level)
            self.plane_origin = origin
            self.right, self.up, self.toward = frame[:, 0], -frame[:, 1], -frame[:, 2]
        else:
            t = math.radians(self.oblique_deg)
            self.right = np.array([-math.cos(t), math.sin(t), 0.0])
            self.up = np.array([0.0, 0.0, 1.0])
            self.toward = np.array([math.sin(t), math.cos(t), 0.0])
            self.plane_origin = None
        if anchor is not None:
            self.anchor = np.asarray(anchor, float).reshape(3)
        elif kind == "axial":
            self.anchor = self.plane_origin
            self.scale = 1.0
            lo, hi = self.level_extent(self.axial_level)  # in mm around the plane origin
            mid = (lo + hi) / 2 - self.center[:2]
            self.anchor = self.plane_origin + self.right * mid[0] + self.up * mid[1]
        else:
            lo, hi = self._spine_bounds()
            self.anchor = (lo + hi) / 2
        if scale is None:
            if kind == "axial":
                self.scale = 1.0
                lo, hi = self.level_extent(self.axial_level)
                scale = 0.75 * min(config.frame_height / (hi[1] - lo[1]), config.frame_width / (hi[0] - lo[0]))
            else:
                lo, hi = self._spine_bounds()
                scale = 0.9 * config.frame_height / float(hi[2] - lo[2])
        self.scale = float(scale)

    # -- geometry ---------------------------------------------------------------------------
    def _axial_plane(self, level):
        return self.model.axial_plane(level)

    def _spine_bounds(self):
        if not hasattr(self, "_bounds_cache"):
            bones = [s for s in self.model.structures() if s.kind in BONE_KINDS and not s.kind.startswith("ilium")]
            boxes = [s.solid.bounding_box() for s in bones]
            self._bounds_cache = (np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0))
        return self._bounds_cache

    def project(self, points3d) -> np.ndarray:
        """Scene coordinates (N, 3) of patient points (mm), orthographic, z = 0."""
        p = np.atleast_2d(np.asarray(points3d, float)) - self.anchor
        out = np.zeros((len(p), 3))
        out[:, 0] = p @ self.right * self.scale + self.center[0]
        out[:, 1] = p @ self.up * self.scale + self.center[1]
        out[:, 2] = self.center[2]
        return out

    def depth(self, points3d) -> np.ndarray:
        """Distance toward the viewer (mm): larger = nearer."""
        p = np.atleast_2d(np.asarray(points3d, float)) - self.anchor
        return p @ self.toward

    # -- what to draw -----------------------------------------------------------------------
    def _select(self, levels, kinds=None, exclude_kinds=None, near_side: bool = True) -> list[Structure]:
        model = self.model
        if levels is None:
            sts = model.structures()
        else:
            wanted = set()
            for lv in levels:
                wanted.add(None if lv is None else str(parse_level(lv)))
            sts = [s for s in model.structures() if s.level in wanted]
        kind_set: set = set()
        if kinds is not None:
            kind_set = {kinds} if isinstance(kinds, str) else set(kinds)
            sts = [s for s in sts if s.kind in kind_set]
        else:
            exclude = set(_DEFAULT_EXCLUDE[self.kind])
            if exclude_kinds:
                exclude |= set(exclude_kinds)
            sts = [s for s in sts if s.kind not in exclude]
        if not near_side and self.kind in ("lateral", "oblique"):
            near = "left" if self.toward[0] > 0 else "right"
            sts = [s for s in sts if s.side != near or s.kind in ("root", "vertebral_artery")]
            return [s for s in sts if s.kind != SURFACE_KIND]  # the cut-away needs the parts
        if kinds is None or SURFACE_KIND in kind_set:
            return drawn_structures(sts)
        return [s for s in sts if s.kind != SURFACE_KIND] if kinds is None else sts

    def _style(self, st: Structure) -> _Style:
        style = KIND_STYLE.get(st.kind, _BONE)
        if st.kind in _SEE_THROUGH_FROM_THE_SIDE and self.kind != "axial" and abs(self.toward[0]) > 0.5:
            return _PELVIS_SEE_THROUGH  # seen from the side they would hide L5-S1 and the sacrum
        return style

    def _shaded_bone(self, st: Structure, cache: dict) -> str:
        """Bone colour by depth relative to its own level: near parts light, far parts in
        the shaded bone colour, so overlapping processes read as in front / behind."""
        if st.level not in cache:
            cache[st.level] = float(self.depth(self.model.level_centre(st.level))[0]) if st.level is not None else None
        ref = cache[st.level]
        if ref is None:
            return palette.BONE
        t = float(np.clip(0.5 + (self.depth(st.solid.center)[0] - ref) / 70.0, 0.0, 1.0))
        return _mix(palette.BONE_SHADE, palette.BONE, 0.2 + 0.8 * t)

    def silhouettes(self, structures: Sequence[Structure], n: int = 16) -> list[tuple[Structure, np.ndarray, float]]:
        """(structure, 2D hull in scene units, depth) for each structure, far to near."""
        out = []
        for st in structures:
            if isinstance(st.solid, MeshSolid):
                hull, _holes = mesh_outline(self.project(st.solid.vertices)[:, :2], st.solid.faces)
            else:
                pts = st.solid.surface_points(n)
                hull = convex_hull_2d(self.project(pts)[:, :2])
            if len(hull) < 3:
                continue
            depth = float(self.depth(st.solid.center)[0])
            out.append((st, hull, depth))
        out.sort(key=lambda item: item[2] + 0.05 * self._style(item[0]).layer)
        return out

    def sections(
        self, structures: Sequence[Structure], step_mm: float | None = None
    ) -> list[tuple[Structure, np.ndarray]]:
        """(structure, 2D hull of its section by the axial plane) for structures the plane cuts."""
        out = []
        o = self.plane_origin
        for st in structures:
            pts = st.solid.surface_points(12)
            d = (pts - o) @ self.toward
            if d.min() > 0 or d.max() < 0:
                continue
            u = (pts - o) @ self.right
            v = (pts - o) @ self.up
            span = max(u.max() - u.min(), v.max() - v.min())
            step = step_mm or max(0.25, span / 48.0)
            us = np.arange(u.min() - step, u.max() + step, step)
            vs = np.arange(v.min() - step, v.max() + step, step)
            uu, vv = np.meshgrid(us, vs)
            grid = o + uu.reshape(-1, 1) * self.right + vv.reshape(-1, 1) * self.up
            flags = st.solid.contains(grid)
            inside = grid[flags]
            if len(inside) < 3:
                continue
            if isinstance(st.solid, MeshSolid):
                # a mesh's section may be concave and have holes (the canal in a vertebra)
                rings = mask_outlines(flags.reshape(uu.shape), min_points=4)
                if not rings:
                    continue
                outers: list[np.ndarray] = []
                for ring in rings:  # longest first: a ring inside an earlier outline is its hole
                    cu = us[0] + ring[:, 0] * step
                    cv = vs[0] + ring[:, 1] * step
                    pts3 = o + cu[:, None] * self.right + cv[:, None] * self.up
                    poly = _thin(self.project(pts3)[:, :2])
                    if len(poly) < 3:
                        continue
                    is_hole = any(_inside(poly.mean(axis=0), outer) for outer in outers)
                    if not is_hole:
                        outers.append(poly)
                    out.append((_hole_of(st) if is_hole else st, poly))
                continue
            hull = convex_hull_2d(self.project(inside)[:, :2])
            if len(hull) >= 3:
                out.append((st, hull))
        out.sort(key=lambda item: KIND_STYLE.get(item[0].kind, _BONE).layer)
        return out

    # -- the shaded illustration layer -----------------------------------------------------------
    def illustration_style(self, highlight_names: Iterable[str] = ()) -> IllustrationStyle:
        """The palette as data for :mod:`spine.imaging.illustration` (spine never imports scenes)."""
        colours = tuple(
            (kind, style.fill)
            for kind, style in KIND_STYLE.items()
            if style is not _BONE and kind not in ("canal", "foramen", "section_hole")
        )
        colours += (
            ("epidural_space", palette.EPIDURAL_FAT),
            ("dural_sac", palette.DURA_SAC),
            ("ligamentum_flavum", palette.LIGAMENT_FLAVUM),
        )
        return IllustrationStyle(
            colours=colours,
            bone=palette.BONE,
            outline=palette.OUTLINE,
            background=palette.BACKGROUND,
            accent=palette.ACCENT,
            alpha=(("dural_sac", 0.55), ("epidural_space", 0.45)),
            highlight=tuple(sorted(highlight_names)),
            depth_fade_mm=30.0 if self.kind == "axial" else 0.0,
        )

    def camera(self, window_mm, width: int, height: int) -> Camera:
        """The illustration camera of this view for a window (u0, v0, u1, v1) in mm around the
        anchor: pixels line up with :meth:`project`."""
        return Camera(
            self.right, self.up, self.toward, self.anchor, tuple(float(x) for x in window_mm), int(width), int(height)
        )

    def cutaway(
        self,
        structures: Sequence[Structure],
        near_side: bool = True,
        clip: Iterable[str] = (),
        hide: Iterable[str] = (),
        plane=None,
        plane_only: Iterable[str] = (),
        near_parts: Iterable[str] | None = None,
    ) -> CutAway:
        """The view's cut-away: the axial section plane, and (``near_side=False``) the near
        pedicles, laminae, articular processes and transverse processes of the drawn levels cut
        out with the near-side soft tissue, so the foramen, its root and the canal show.
        ``near_parts``: the kinds of near-side parts cut (default all of them; without
        ``"pedicle"`` the pedicles stay and frame the opened foramen)."""
        clip, hide = list(clip), list(hide)
        cut_kinds = _NEAR_PARTS if near_parts is None else frozenset(near_parts)
        if self.kind == "axial" and plane is None:
            plane = (tuple(self.plane_origin), tuple(self.toward))  # everything nearer than the plane goes
        if not near_side and self.kind in ("lateral", "oblique"):
            near = "left" if self.toward[0] > 0 else "right"
            levels = {s.level for s in structures if s.kind == SURFACE_KIND and s.level}
            for st in self.model.structures(levels=sorted(levels)):
                if st.side == near and st.kind in cut_kinds:
                    clip.append(st.name)
            hide += [
                s.name
                for s in structures
                if s.side == near
                and s.kind not in BONE_KINDS
                and s.kind not in (SURFACE_KIND, "root", "vertebral_artery")
            ]
        return CutAway(
            hide=tuple(sorted(set(hide))),
            clip=tuple(sorted(set(clip))),
            plane=None if plane is None else (tuple(map(float, plane[0])), tuple(map(float, plane[1]))),
            plane_only=tuple(plane_only),
        )

    def section(self, *names: str, through=None) -> CutAway:
        """A cut-away that opens the named structures (a disc, a vertebra's bone) by a plane
        through ``through`` (default: the first one's centre) facing the viewer: their near
        half goes, the cut face shows. Pass it as ``spine_mobject(cut=...)``."""
        point = np.asarray(through if through is not None else self.model.structure(names[0]).solid.center, float)
        return CutAway(plane=(tuple(map(float, point)), tuple(map(float, self.toward))), plane_only=tuple(names))

    def window_of(self, structures: Sequence[Structure], margin: float = 0.04) -> tuple[float, float, float, float]:
        """(u0, v0, u1, v1) mm around the anchor that holds the structures' projections."""
        pts = []
        for st in structures:
            sol = st.solid
            pts.append(sol.vertices[::7] if isinstance(sol, MeshSolid) else sol.surface_points(8))
        p = np.vstack(pts) - self.anchor
        u, v = p @ self.right, p @ self.up
        pad = margin * max(u.max() - u.min(), v.max() - v.min()) + 1.0
        return (float(u.min() - pad), float(v.min() - pad), float(u.max() + pad), float(v.max() + pad))

    def layer(
        self,
        structures: Sequence[Structure],
        window=None,
        resolution: float | None = None,
        cut: CutAway | None = None,
        highlight_names: Iterable[str] = (),
        cache_dir=None,
        supersample: int | None = None,
    ) -> IllustrationLayer:
        """The shaded layer of these structures. ``resolution``: pixels per scene unit
        (default: the output's own, :func:`default_resolution`)."""
        camera, style = self._camera_and_style(structures, window, resolution, highlight_names)
        return render_layer(
            self.model.parameters_hash(),
            structures,
            BONE_KINDS | {SURFACE_KIND},
            camera,
            style,
            cut,
            supersample=supersample,
            cache_dir=cache_dir,
            lookup=self.model.structure,
        )

    def layer_key(self, structures: Sequence[Structure], cut: CutAway | None = None, **draw) -> str:
        """What :meth:`layer` draws with these arguments (``draw``: its ``window``,
        ``resolution`` and ``highlight_names``), as its cache key (model hash, structures,
        camera, style and cut): a drawing's identity before its pixels exist."""
        camera, style = self._camera_and_style(
            structures, draw.get("window"), draw.get("resolution"), draw.get("highlight_names", ())
        )
        return layer_key(self.model.parameters_hash(), [s.name for s in structures], camera, style, cut, None)

    def _camera_and_style(self, structures, window, resolution, highlight_names) -> tuple[Camera, IllustrationStyle]:
        """The camera (over ``window``, default all of ``structures``) and style of a layer."""
        window = window or self.window_of(structures)
        h, w = self.layer_size(window, resolution)
        return self.camera(window, w, h), self.illustration_style(highlight_names)

    def layer_size(self, window, resolution: float | None = None) -> tuple[int, int]:
        """(height, width) in pixels of the layer over ``window`` at ``resolution`` px per unit."""
        px_per_mm = (resolution or self.default_resolution(window)) * self.scale
        w = max(8, int(round((window[2] - window[0]) * px_per_mm)))
        h = max(8, int(round((window[3] - window[1]) * px_per_mm)))
        if max(w, h) > _MAX_LAYER_PX:
            k = _MAX_LAYER_PX / max(w, h)
            w, h = max(8, int(round(w * k))), max(8, int(round(h * k)))
        return h, w

    def default_resolution(self, window) -> float:
        """Pixels per scene unit: the output's own, finer for a drawing smaller than the frame
        (a few levels are usually fitted larger or zoomed into; up to 4x)."""
        native = config.pixel_width / config.frame_width
        if window is None:
            return native
        drawn = max(
            (window[3] - window[1]) * self.scale,
            (window[2] - window[0]) * self.scale * config.frame_height / config.frame_width,
        )
        return native * float(np.clip(1.1 * config.frame_height / max(drawn, 1e-6), 1.0, 4.0))

    def spine_mobject(
        self,
        levels: Iterable | None = None,
        highlight=None,
        kinds: Iterable[str] | None = None,
        exclude_kinds: Iterable[str] | None = None,
        near_side: bool = True,
        detail: int = 16,
        pedicle_rings: bool = False,
        highlight_structures: Iterable[str] = (),
        resolution: float | None = None,
        cut: CutAway | None = None,
        window=None,
        near_parts: Iterable[str] | None = None,
        fade_edges: float = 0.0,
    ) -> "IllustrationGroup":
        """The spine (or the given levels) as one shaded illustration layer (an image placed
        exactly where :meth:`project` puts the anatomy), in an :class:`IllustrationGroup`
        (a VGroup: scenes add it, fade it, fit it and group it as before).

        ``highlight``: a level (or list of levels) whose bones are tinted and ringed with the
        accent colour; ``highlight_structures``: structure names to ring the same way (the
        exiting root, a medial branch). ``near_side=False`` cuts the near pedicles, laminae and
        articular processes away on lateral / oblique views (the foramen and its root, the
        canal and its contents show); ``cut`` adds any other :class:`CutAway`.
        ``pedicle_rings``: outline the pedicles on top, as they read on AP fluoroscopy.
        ``window``: the (u0, v0, u1, v1) mm around the anchor to draw (default: all of the
        structures; a smaller one crops to a level, drawn larger); ``fade_edges``: the fraction
        of the window's width and height over which the drawing fades out at its edges (a
        cropped drawing does not end in a hard line). ``near_parts``: see :meth:`cutaway`.
        The group keeps what it draws (``drawn``) and its cut-away (``cut``), so a needle is
        split against the same drawing (:meth:`needle_parts`).
        ``detail`` is kept for callers of the former polygon drawing.
        """
        sts = self._drawn(levels, kinds, exclude_kinds)
        hl = self._highlight_levels(highlight)
        names = {s.name for s in sts if s.level in hl and (s.kind in BONE_KINDS or s.kind == SURFACE_KIND)}
        names |= set(highlight_structures)
        base_cut = self.cutaway(sts, near_side=near_side, near_parts=near_parts)
        if cut is not None:
            base_cut = CutAway(
                hide=base_cut.hide + cut.hide,
                clip=base_cut.clip + cut.clip,
                clip_scale=cut.clip_scale,
                plane=cut.plane or base_cut.plane,
                plane_only=cut.plane_only if cut.plane else base_cut.plane_only,
            )
        if not sts:
            return IllustrationGroup()
        window = tuple(float(x) for x in window) if window is not None else self.window_of(sts)
        size = self.layer_size(window, resolution)
        group = IllustrationGroup.lazy(
            self,
            window,
            size,
            lambda: self.layer(sts, window=window, resolution=resolution, cut=base_cut, highlight_names=names),
            [s.name for s in sts],
            fade_edges=fade_edges,
            source=self.layer_key(sts, window=window, resolution=resolution, cut=base_cut, highlight_names=names)
            + f"|fade={fade_edges:g}",
        )
        group.drawn, group.cut = sts, base_cut
        if self.kind in ("posterior", "oblique") and pedicle_rings:
            stroke_scale = max(0.35, min(1.5, self.scale / 0.06))
            drawn_levels = {st.level for st in sts if st.kind == SURFACE_KIND}
            self._add_pedicle_rings(
                group,
                [st for st in self.model.structures(kinds=["pedicle"]) if st.level in drawn_levels],
                detail,
                stroke_scale,
            )
        return group

    def flat_mobject(
        self, levels=None, highlight=None, detail: int = 16, pedicle_rings: bool = True, **which
    ) -> VGroup:
        """The former flat drawing: filled polygons far to near (kept as the baseline of
        ``bench/illustration.py``; scenes draw :meth:`spine_mobject`).

        ``highlight``: a level (or list of levels) whose structures are tinted with the
        accent colour. ``pedicle_rings``: on posterior/oblique views, outline the pedicles
        on top (they show through on fluoroscopy; the Scotty dog's eye). ``which``: the
        ``kinds``, ``exclude_kinds`` and ``near_side`` of :meth:`spine_mobject` (``near_side=False``
        leaves out the structures of the side facing the viewer on lateral/oblique views).
        """
        sts = self._select(levels, **which)
        hl = self._highlight_levels(highlight)
        group = VGroup()
        stroke_scale = max(0.35, min(1.5, self.scale / 0.06))
        if self.kind == "axial":
            items = [(st, hull) for st, hull in self.sections(sts)]
        else:
            items = [(st, hull) for st, hull, _ in self.silhouettes(sts, n=detail)]
        shade_cache: dict = {}
        for st, hull in items:
            style = self._style(st)
            mob = _polygon(hull, style, stroke_scale)
            fill = style.fill
            if style is _BONE and self.kind != "axial":
                fill = self._shaded_bone(st, shade_cache)
                mob.set_fill(fill, opacity=style.opacity)
            if st.level in hl and (st.kind in BONE_KINDS or st.kind == SURFACE_KIND):
                mob.set_fill(_mix(fill, palette.ACCENT, 0.45), opacity=style.opacity)
            mob.structure_name = st.name
            group.add(mob)
        if self.kind in ("posterior", "oblique") and pedicle_rings:
            # the pedicles read through the posterior elements as rings, as on AP fluoroscopy
            # (the "eye" of the Scotty dog on an oblique)
            pedicles = [st for st, _h in items if st.kind == "pedicle"]
            drawn_levels = {st.level for st, _h in items if st.kind == SURFACE_KIND}
            pedicles += [p for p in self.model.structures(kinds=["pedicle"]) if p.level in drawn_levels]
            self._add_pedicle_rings(group, pedicles, detail, stroke_scale)
        return group

    def _add_pedicle_rings(self, group, pedicles, detail: int, stroke_scale: float) -> None:
        """Each pedicle's outline as a ring (how pedicles read through the posterior elements)."""
        for st in pedicles:
            hull = convex_hull_2d(self.project(st.solid.surface_points(detail))[:, :2])
            if len(hull) < 3:
                continue
            ring = _polygon(hull, _Style(palette.BONE, 0.0, _PEDICLE_RING, 1.6, 0), stroke_scale)
            ring.structure_name = st.name + ".ring"
            group.add(ring)

    def _drawn(self, levels, kinds, exclude_kinds) -> list[Structure]:
        """What the layer draws: the smooth bone meshes and the soft tissue (spaces that only
        hold other structures are left out; the pelvis is left out of side views, where it
        would hide L5-S1, unless asked for by kind)."""
        if self.kind == "axial":  # the level and what lies just beyond the section plane, faded
            levels = _with_neighbours([self.axial_level] if levels is None else levels)
        sts = self._select(levels, kinds, exclude_kinds, True)
        leave = {"canal", "foramen", "anterior_sacral_foramen", "posterior_sacral_foramen", "section_hole"}
        if self.kind != "axial":
            leave.add("epidural_space") if kinds is None or "epidural_space" not in set(kinds) else None
        sts = [s for s in sts if s.kind not in leave]
        if kinds is None and self.kind != "axial" and abs(self.toward[0]) > 0.5:
            sts = [
                s
                for s in sts
                if not (s.level is None and (s.kind in _SEE_THROUGH_FROM_THE_SIDE or s.kind == SURFACE_KIND))
            ]
        if self.kind == "axial":
            lo = self.plane_origin
            keep = []
            for s in sts:  # what the plane cuts or lies just beyond it
                b0, b1 = s.solid.bounding_box()
                corners = np.array([[x, y, z] for x in (b0[0], b1[0]) for y in (b0[1], b1[1]) for z in (b0[2], b1[2])])
                d = (corners - lo) @ self.toward
                if d.min() <= 0.0:
                    keep.append(s)
            sts = keep
        return sts

    def needle_parts(
        self,
        p0,
        p1,
        structures: Sequence[Structure] | None = None,
        levels=None,
        near_side: bool = True,
        step_mm: float = 0.5,
        occluders: str = "bone",
        cut: CutAway | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """A needle segment p0 -> p1 (mm) split into the parts in front of the drawing and the
        parts behind it (a ray from each point toward the viewer, through the same cut-away):
        [(start, end, in_front)], start to end. ``occluders``: ``"bone"`` (only bone hides the
        needle) or ``"all"`` (anything drawn, the translucent dural sac too). Scenes draw the hidden parts dashed
        or faded (:meth:`needle_mobject`)."""
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        n = max(2, int(np.ceil(np.linalg.norm(p1 - p0) / step_mm)) + 1)
        pts = p0 + np.linspace(0, 1, n)[:, None] * (p1 - p0)
        sts = list(structures) if structures is not None else self._drawn(levels, None, None)
        cut = cut or self.cutaway(sts, near_side=near_side)
        illustrator = illustrator_for(
            self.model.parameters_hash(), sts, BONE_KINDS | {SURFACE_KIND}, self.model.structure
        )
        kinds = frozenset(BONE_KINDS | {SURFACE_KIND}) if occluders == "bone" else None
        veils = (
            frozenset() if occluders == "bone" else frozenset(k for k, a in self.illustration_style().alpha if a < 1)
        )
        hidden = occlusion(illustrator, self.camera((0, 0, 1, 1), 1, 1), pts, cut, kinds, translucent=veils)
        return split_by_occlusion(pts, hidden)

    def needle_mobject(
        self, p0, p1, to_scene=None, color: str = palette.NEEDLE, stroke_px: float = 5.0, **kwargs
    ) -> VGroup:
        """The needle as drawn parts: solid in front, dashed and faded behind bone.
        ``to_scene``: the mapping of a fitted drawing (default :meth:`project`)."""
        from manim import DashedLine

        mapping = to_scene or self.project
        group = VGroup()
        for a, b, front in self.needle_parts(p0, p1, **kwargs):
            pa, pb = np.atleast_2d(mapping(np.array([a, b])))[:2]
            if np.linalg.norm(pb - pa) < 1e-6:
                continue
            if front:
                part = Line(pa, pb, color=color, stroke_width=stroke_px)
            else:
                part = DashedLine(pa, pb, color=color, stroke_width=stroke_px * 0.8, dash_length=0.06)
                part.set_stroke(opacity=0.55)
            part.in_front = front
            group.add(part)
        return group

    # -- smooth 3D turns ----------------------------------------------------------------------------
    def turned(self, oblique_deg: float) -> "SpineView":
        """The same drawing turned about the long axis (0 = posterior, +90 = lateral), with
        this view's anchor, scale and centre (so the turns of one drawing line up)."""
        kind = "lateral" if abs(oblique_deg - 90.0) < 1e-9 else ("posterior" if abs(oblique_deg) < 1e-9 else "oblique")
        return SpineView(
            self.model, kind, oblique_deg=oblique_deg, scale=self.scale, center=self.center, anchor=self.anchor
        )

    def turn_frames(
        self,
        to_deg: float,
        levels=None,
        step_deg: float = 3.0,
        resolution: float | None = None,
        highlight=None,
        bones_only: bool = False,
        progress: Sequence[float] | None = None,
    ) -> tuple[list[float], list[IllustrationLayer], tuple]:
        """The layers of a turn from this view's angle to ``to_deg``, every ``step_deg``, or at
        the fractions ``progress`` of the turn (0..1: a frame's own angle), all over one window
        (the union of the angles' windows). Each layer is cached like any other, keyed by its
        pose, so a turn drawn again costs nothing. ``bones_only``: the bones and discs without
        the soft tissue (a whole spine, where the roots and joints are too small to see, at a
        fraction of the cost)."""
        start = self.oblique_deg
        if progress is None:
            n = max(1, int(np.ceil(abs(to_deg - start) / step_deg)))
            progress = [i / n for i in range(n + 1)]
        angles = [start + (to_deg - start) * float(t) for t in progress]
        views = [self.turned(a) for a in angles]
        exclude = _SOFT_TISSUE if bones_only else None
        sts = views[0]._drawn(levels, None, exclude)
        # the window of the poses the turn passes through (every 10 degrees and its ends: the
        # union is the same, and a fine turn does not measure 70 poses)
        lo, hi = min(start, to_deg), max(start, to_deg)
        probes = sorted({lo, hi, *np.arange(lo, hi, 10.0).tolist()})
        windows = np.array([self.turned(a).window_of(sts) for a in probes])
        window = (
            float(windows[:, 0].min()),
            float(windows[:, 1].min()),
            float(windows[:, 2].max()),
            float(windows[:, 3].max()),
        )
        hl = self._highlight_levels(highlight)
        names = {s.name for s in sts if s.level in hl and s.kind == SURFACE_KIND}
        res = resolution or self.default_resolution(window)
        layers = [
            v.layer(v._drawn(levels, None, exclude), window=window, resolution=res, highlight_names=names)
            for v in views
        ]
        return angles, layers, window

    def turn(
        self,
        group: "IllustrationGroup",
        to_deg: float,
        levels=None,
        step_deg: float = 3.0,
        run_time: float = 2.0,
        rate_func=None,
        fps: float | None = None,
        **kwargs,
    ):
        """An animation that turns a drawing of this view to ``to_deg`` by showing the
        re-rendered intermediate angles (a :class:`SpineTurn`), and the view it ends in. With
        ``fps`` every frame of the ``run_time`` shows its own angle (``rate_func``'s progress
        at that frame: a smooth glide, not steps); else the layers are ``step_deg`` apart. The
        drawing keeps any fitting (scale and shift) it was given. Fade the vector overlays out
        first; after the turn, draw the end view's own mobject in its place. Play it with the
        same ``run_time`` and ``rate_func``."""
        from manim import smooth

        rate = rate_func or smooth
        progress = None
        if fps:
            n = max(1, int(round(run_time * fps)))
            progress = [float(rate(k / n)) for k in range(n + 1)]
        angles, layers, window = self.turn_frames(to_deg, levels=levels, step_deg=step_deg, progress=progress, **kwargs)
        frames = self._pelvis_faded(angles, layers, window, levels, **kwargs)
        image = LayerImage(frames[0])
        _place(image, self, window)
        if group is not None and getattr(group, "window", None) is not None:
            # the drawing may have been fitted: map its window's scene box to where it is now
            ref = LayerImage(size=(8, 8))
            _place(ref, self, group.window)
            k = group.image.width / ref.width
            image.scale(k, about_point=ref.get_center()).shift(group.image.get_center() - ref.get_center())
        start = self.oblique_deg
        shown = [(a - start) / (to_deg - start) if to_deg != start else 1.0 for a in angles]
        turn = SpineTurn(image, frames, progress=shown, run_time=run_time, rate_func=rate)
        return turn, self.turned(to_deg)

    # the pelvis is left out of views more than 30 degrees from behind (it would hide L5-S1);
    # a turn fades it in (or out) over the next 15 degrees instead of showing it all at once
    _PELVIS_FADE_DEG = (30.0, 15.0)

    def _pelvis_faded(self, angles, layers, window, levels=None, resolution=None, highlight=None, bones_only=False):
        """The turn's pictures: each layer's pixels, except that between 30 and 15 degrees from
        behind, where the pelvis is drawn, it comes in gradually: the layer with the pelvis is
        blended over the same pose's layer without it (same pose, same window: only the pelvis
        changes), so it fades in as the spine turns toward the back instead of popping in."""
        far, near = self._PELVIS_FADE_DEG
        if not any(abs(a) > far for a in angles):
            return [lay.rgba for lay in layers]
        exclude = _SOFT_TISSUE if bones_only else None
        hl = self._highlight_levels(highlight)
        res = resolution or self.default_resolution(window)
        out = []
        for a, lay in zip(angles, layers):
            shown = float(np.clip((far - abs(a)) / (far - near), 0.0, 1.0))
            if shown >= 1.0 or abs(a) > far:
                out.append(lay.rgba)
                continue
            view = self.turned(a)
            sts = view._drawn(levels, None, exclude)
            spine = [
                s
                for s in sts
                if not (s.level is None and (s.kind in _SEE_THROUGH_FROM_THE_SIDE or s.kind == SURFACE_KIND))
            ]
            if len(spine) == len(sts):
                out.append(lay.rgba)
                continue
            names = {s.name for s in spine if s.level in hl and s.kind == SURFACE_KIND}
            without = view.layer(spine, window=window, resolution=res, highlight_names=names)
            out.append(_blend(without.rgba, lay.rgba, shown))
        return out

    def _highlight_levels(self, highlight) -> set[str]:
        if highlight is None:
            return set()
        items = [highlight] if isinstance(highlight, (str, Vertebra, Interspace)) else list(highlight)
        out = set()
        for item in items:
            parsed = parse_level(item)
            out.add(str(parsed))
            if isinstance(parsed, Interspace):
                out.update({parsed.upper, parsed.lower})
        return out

    # -- camera helpers ---------------------------------------------------------------------
    def _level_structures(self, level) -> list[Structure]:
        """The level's bones (its smooth surfaces where there are some) and its disc."""
        parsed = parse_level(level)
        names = {str(parsed), parsed.upper, parsed.lower} if isinstance(parsed, Interspace) else {parsed.name}
        kinds = BONE_KINDS | {"annulus", SURFACE_KIND}
        sts = [s for s in self.model.structures() if s.level in names and s.kind in kinds]
        return [s for s in drawn_structures(sts) if not s.name.endswith((".rib.left", ".rib.right"))]

    def level_extent(self, level) -> tuple[np.ndarray, np.ndarray]:
        """Scene-space (min, max) corners of a level's bones as drawn in this view."""
        sts = self._level_structures(level)
        if self.kind == "axial":
            hulls = [h for _, h in self.sections(sts)]
            pts = np.vstack(hulls) if hulls else self.project(self.model.level_centre(level))[:, :2]
        else:
            pts = np.vstack([self.project(s.solid.surface_points(12))[:, :2] for s in sts])
        return pts.min(axis=0), pts.max(axis=0)

    def frame_for(self, level, margin: float = 1.5) -> tuple[np.ndarray, float]:
        """(scene centre (3,), frame width) that shows ``level`` with some margin, for
        ``self.camera.frame.animate.move_to(centre).set(width=width)`` in a MovingCameraScene."""
        lo, hi = self.level_extent(level)
        centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, 0.0])
        aspect = config.frame_width / config.frame_height
        width = max((hi[0] - lo[0]) * margin, (hi[1] - lo[1]) * margin * aspect)
        return centre, float(width)

    def highlight(self, level, color: str = palette.ACCENT, stroke_px: float = 4.0) -> VGroup:
        """Outlines of the level's bones (and disc for an interspace) in the accent colour."""
        sts = self._level_structures(level)
        group = VGroup()
        if self.kind == "axial":
            items = self.sections(sts)
        else:
            items = [(st, hull) for st, hull, _ in self.silhouettes(sts, n=16)]
        for st, hull in items:
            pts = np.column_stack([hull, np.zeros(len(hull))])
            mob = VMobject()
            mob.set_points_as_corners(np.vstack([pts, pts[:1]]))
            mob.set_fill(opacity=0.0)
            mob.set_stroke(color, width=stroke_px)
            group.add(mob)
        return group

    # -- labels ------------------------------------------------------------------------------
    def labels(
        self,
        levels: Iterable | None = None,
        regions: bool = True,
        font_px: float = 28,
        zoom_width: float | None = None,
        color: str = palette.TEXT,
        region_words: dict | None = None,
    ) -> VGroup:
        """Level labels on one side of the spine and region labels (with brackets) on the
        other, pushed apart so that no two labels overlap.

        ``zoom_width``: the camera frame width the labels will be seen at (labels are
        scaled so they read at ``font_px`` pixels at 1080p there). Default levels: C1, C7,
        T12, L5 and S1 on the whole spine.
        """
        register_fonts()
        zoom = (zoom_width or config.frame_width) / config.frame_width
        size = font_size_for_px(font_px)
        group = VGroup()
        if self.kind == "axial":
            text = pango_text(f"{self.axial_level} (axial)", size, color).scale(zoom)
            lo, hi = self.level_extent(self.axial_level)
            text.next_to(np.array([lo[0], hi[1], 0]), direction=np.array([0, 1, 0]), buff=0.15 * zoom)
            group.add(text)
            return group
        if levels is None:
            levels = ["C1", "C7", "T12", "L5", "S1"]
        parsed = [parse_level(lv) for lv in levels]
        gap = 0.25 * zoom
        level_side = -1.0 if self.kind == "lateral" else 1.0  # lateral: anterior (screen left)
        level_items = []
        for lv in parsed:
            lo, hi = self.level_extent(lv)
            y = (lo[1] + hi[1]) / 2
            text = pango_text(str(lv), size, color).scale(zoom)
            level_items.append((y, text, lo, hi))
        self._place_column(level_items, level_side, gap, zoom)
        for _, text, _, _ in level_items:
            group.add(text)
        if regions:
            region_items = []
            for region in ("cervical", "thoracic", "lumbar", "sacral", "coccygeal"):
                names = [v for v in VERTEBRAE if region_of(v) == region]
                sts = [s for s in self.model.structures(levels=names) if s.kind in BONE_KINDS]
                pts = np.vstack([self.project(s.solid.surface_points(8))[:, :2] for s in sts])
                lo, hi = pts.min(axis=0), pts.max(axis=0)
                word = (region_words or {}).get(region) or region.capitalize()  # words in the video's language
                text = pango_text(word, size, palette.REGION_COLOURS[region]).scale(zoom)
                region_items.append(((lo[1] + hi[1]) / 2, text, lo, hi))
            self._place_column(region_items, -level_side, gap, zoom, brackets=group)
            for _, text, _, _ in region_items:
                group.add(text)
        return group

    def _drawn_outline_points(self) -> np.ndarray:
        """Projected points of every bone drawn in this view (pelvis included), cached."""
        if not hasattr(self, "_outline_cache"):
            sts = [s for s in self.model.structures() if s.kind in BONE_KINDS]
            self._outline_cache = np.vstack([self.project(s.solid.surface_points(8))[:, :2] for s in sts])
        return self._outline_cache

    def _place_column(self, items, side: float, gap: float, zoom: float, brackets: VGroup | None = None):
        """Put labels in a column beside everything drawn at their height, then push them
        apart (top to bottom) so that no two overlap, keeping the column inside the frame."""
        if not items:
            return
        items.sort(key=lambda it: -it[0])  # top to bottom
        heights = [it[1].height for it in items]
        spacing = gap * 0.6
        ys: list[float] = []
        for i, (y, *_rest) in enumerate(items):
            if ys:
                y = min(y, ys[-1] - heights[i - 1] / 2 - spacing - heights[i] / 2)
            ys.append(y)
        if zoom == 1.0:  # whole-frame labels: keep the column inside the frame
            bottom_limit = -config.frame_height / 2 + 0.1 + heights[-1] / 2
            if ys[-1] < bottom_limit:
                ys = [y + bottom_limit - ys[-1] for y in ys]
            top_limit = config.frame_height / 2 - 0.1 - heights[0] / 2
            if ys[0] > top_limit:  # a too-long column: squeeze from the top
                ys[0] = top_limit
                for i in range(1, len(ys)):
                    ys[i] = min(ys[i], ys[i - 1] - heights[i - 1] / 2 - spacing - heights[i] / 2)
        # the column stands clear of everything drawn over the labels' and brackets' height
        y_lo = min(min(y - h / 2 for y, h in zip(ys, heights)), min(lo[1] for _, _, lo, _ in items))
        y_hi = max(max(y + h / 2 for y, h in zip(ys, heights)), max(hi[1] for _, _, _, hi in items))
        pts = self._drawn_outline_points()
        band = pts[(pts[:, 1] >= y_lo) & (pts[:, 1] <= y_hi)]
        own = [hi[0] for _, _, _, hi in items] if side > 0 else [lo[0] for _, _, lo, _ in items]
        if side > 0:
            edge = max(own + ([float(band[:, 0].max())] if len(band) else []))
        else:
            edge = min(own + ([float(band[:, 0].min())] if len(band) else []))
        x_col = edge + side * gap * 2.5
        for y, (_, text, lo, hi) in zip(ys, items):
            if side > 0:
                text.move_to(np.array([x_col + text.width / 2, y, 0.0]))
            else:
                text.move_to(np.array([x_col - text.width / 2, y, 0.0]))
            if brackets is not None:
                bx = edge + side * gap
                line = Line(
                    np.array([bx, hi[1], 0]), np.array([bx, lo[1], 0]), color=text.get_color(), stroke_width=3 * zoom
                )
                brackets.add(line)


def _mix(a: str, b: str, t: float) -> str:
    ca = np.array([int(a[i : i + 2], 16) for i in (1, 3, 5)], float)
    cb = np.array([int(b[i : i + 2], 16) for i in (1, 3, 5)], float)
    c = np.clip(np.round(ca * (1 - t) + cb * t), 0, 255).astype(int)
    return "#" + "".join(f"{v:02X}" for v in c)


class FittedView:
    """An anatomy view drawn and then fitted into a box of the frame.

    ``to_scene`` maps 3D model points to the fitted drawing, so needles and labels drawn
    from the model land on the drawing exactly.
    """

    def __init__(self, view: SpineView, mobject, height: float, center):
        before_center = mobject.get_center()
        factor = height / mobject.height
        mobject.scale(factor).move_to(center)
        self.view, self.mobject, self.factor = view, mobject, factor
        self.shift = np.asarray(center, float) - before_center * factor
        self.before_center = before_center

    def to_scene(self, points) -> np.ndarray:
        projected = np.atleast_2d(self.view.project(np.atleast_2d(points)))
        return (projected - self.before_center) * self.factor + self.mobject.get_center()


def _with_neighbours(levels) -> list:
    """The levels and those next to them (an interspace's two vertebrae, a vertebra's discs)."""
    from spine.anatomy.levels import INTERSPACES

    out: list = []
    for lv in levels:
        out.append(lv)
        if lv is None:
            continue
        p = parse_level(lv)
        if isinstance(p, Interspace):
            out += [p.upper, p.lower]
        else:
            out += [s for s in INTERSPACES if p.name in s.split("-")]
    return list(dict.fromkeys(out))


def _place(image: ImageMobject, view: SpineView, window) -> ImageMobject:
    """Size and move an image so that it covers ``window`` (mm around the view's anchor) in
    the view's scene coordinates: its pixels land where :meth:`SpineView.project` says."""
    u0, v0, u1, v1 = window
    image.stretch_to_fit_width((u1 - u0) * view.scale)
    image.stretch_to_fit_height((v1 - v0) * view.scale)
    image.move_to(
        np.array(
            [view.center[0] + (u0 + u1) / 2 * view.scale, view.center[1] + (v0 + v1) / 2 * view.scale, view.center[2]]
        )
    )
    return image


class LayerImage(CrossFadingImage):
    """The shaded layer as an image that also answers the vector calls a VGroup makes of its
    family (anchors for bounds and centres; fill opacity becomes the image's opacity; strokes
    and colours do not apply to an illustration).

    Given a ``render`` callable instead of pixels, the layer is rendered the first time its
    pixels are read (the camera drawing it, a fade): code that only fits, moves or measures a
    drawing never pays for it."""

    # A lazy layer's buffers, left out of the beat-state digest while its pixels are what its
    # ``source`` draws: a drawing is the same whether a frame has read its pixels yet or not.
    PIXEL_STATE = frozenset({"_render", "_pixels", "orig_alpha_pixel_array", "_resampled"})

    def __init__(self, rgba=None, size: tuple[int, int] | None = None, render=None, source=None, **kwargs):
        self._render, self._pixels, self._opacity, self.source = None, None, 1.0, None
        if rgba is None:  # a transparent stand-in of the right shape until the pixels are read
            h, w = size
            rgba = np.zeros((h, w, 4), np.uint8)
        super().__init__(rgba, **kwargs)
        self._render = render
        # what the pixels are (the layer's cache key: model hash, structures, camera, style and
        # cut); None once they are replaced by other pixels (a turn's frame, a cross-fade)
        self.source = source if render is not None else None
        # A VGroup turns its members' sheen with them (VMobject.rotate); an image has none to
        # show, but keeps the attribute so a drawing inside a group can be rotated (the room's
        # section of the body turns the axial drawing with the patient).
        self.sheen_direction = np.array([-1.0, 1.0, 0.0])

    @property
    def pixel_array(self) -> np.ndarray:
        if self._render is not None:
            render, self._render = self._render, None
            rgba = np.array(render(), np.uint8)
            self._pixels = rgba
            self.orig_alpha_pixel_array = rgba[:, :, 3].copy()
            if self._opacity != 1.0:
                rgba[:, :, 3] = self.orig_alpha_pixel_array * self._opacity
        return self._pixels

    @pixel_array.setter
    def pixel_array(self, value) -> None:
        if self._pixels is not None and value is not self._pixels:
            self._render = None  # replaced outright (a turn's frame): nothing left to render
            self.source = None  # the pixels are no longer what the source draws
        self._pixels = value

    def derived_state(self) -> frozenset[str]:
        """Attributes the beat-state digest leaves out: the pixel buffers while ``source``
        says what they are (rendered or not yet), and the cross-fade's resampling cache and
        inputs."""
        return (self.PIXEL_STATE if self.source is not None else frozenset({"_resampled"})) | super().derived_state()

    @property
    def rendered(self) -> bool:
        return self._render is None

    def materialise(self) -> None:
        """Render the pixels now if no frame has read them yet: a beat's starting state is the
        same whether the beats before it were drawn or fast-forwarded (the incremental cache
        digests it)."""
        self.pixel_array  # noqa: B018 - the property renders on first read

    def set_opacity(self, alpha: float):
        self.blended_from = None  # the pixels change in place: no longer the cross-fade's
        self._opacity = float(alpha)
        self.stroke_opacity = alpha
        self.fill_opacity = alpha
        if self._render is None:
            self._pixels[:, :, 3] = self.orig_alpha_pixel_array * alpha
        return self

    def get_anchors(self) -> np.ndarray:
        return self.points

    def interpolate_color(self, mobject1, mobject2, alpha: float) -> None:
        """Cross-fade two layers (a Transform from one drawing to another): layers of other
        sizes are resampled to the target's size once, then blended as Manim blends images."""
        a, b = mobject1.pixel_array, mobject2.pixel_array
        if a.shape != b.shape:
            key = (id(a), b.shape)
            cache = self.__dict__.setdefault("_resampled", {})
            if key not in cache:
                from PIL import Image

                cache.clear()
                cache[key] = np.array(Image.fromarray(a).resize((b.shape[1], b.shape[0]), Image.BILINEAR))
            a = cache[key]
        self.show_cross_fade(a, b, alpha, still=same_place(mobject1, mobject2))
        if self._render is None:
            self.orig_alpha_pixel_array = self.pixel_array[:, :, 3].copy()

    def set_fill(self, color=None, opacity=None, family: bool = True, **_kwargs):
        if opacity is not None:
            self.set_opacity(opacity)
        return self

    def set_stroke(self, *args, **kwargs):
        return self

    def set_background_stroke(self, *args, **kwargs):
        return self

    def get_fill_opacity(self) -> float:
        return float(getattr(self, "fill_opacity", 1.0))

    def get_stroke_opacity(self, background: bool = False) -> float:
        return 0.0

    def get_stroke_width(self, background: bool = False) -> float:
        return 0.0


def _is_model_structure(model, st: Structure) -> bool:
    """Whether ``st`` is the model's own structure of that name (so it can travel by name)."""
    try:
        return model.structure(st.name) is st
    except KeyError:
        return False


class IllustrationGroup(VGroup):
    """A drawing of the spine: the shaded layer (an ImageMobject, first, under everything)
    and any vector overlays. It is a VGroup so scenes group, fade, fit and move it as the
    former polygon drawing; colour setters reach the overlays (and opacity the image too).

    ``layer`` is the :class:`IllustrationLayer` (image, depth and object-id buffers),
    ``window`` the mm window it covers, ``structure_names`` what it draws.
    """

    image: ImageMobject | None = None
    _layer: IllustrationLayer | None = None
    _render_layer = None
    drawn: list | None = None  # the structures drawn (spine_mobject), for needle_parts
    cut: CutAway | None = None  # the cut-away they were drawn with

    @classmethod
    def from_layer(cls, view: SpineView, layer: IllustrationLayer, names: list[str]) -> "IllustrationGroup":
        return cls.lazy(view, layer.camera.window, (layer.camera.height, layer.camera.width), lambda: layer, names)

    @classmethod
    def lazy(
        cls,
        view: SpineView,
        window,
        size: tuple[int, int],
        render_layer_fn,
        names: list[str],
        source: str | None = None,
        fade_edges: float = 0.0,
    ) -> "IllustrationGroup":
        """A drawing whose layer (``render_layer_fn()``) is rendered when first needed;
        ``source`` names what it draws (the layer's cache key and its edge fade) for the
        beat-state digest; ``fade_edges``: the image's alpha ramps to 0 over that fraction at
        each edge."""
        group = cls()
        group._layer, group._render_layer = None, render_layer_fn

        def pixels():
            rgba = group.layer.rgba
            return _faded_edges(rgba, fade_edges) if fade_edges > 0 else rgba

        image = LayerImage(size=size, render=pixels, source=source)
        if _RESAMPLING is not None:
            image.set_resampling_algorithm(_RESAMPLING)
        _place(image, view, window)
        image.structure_name = "illustration"
        group._add_image(image)
        group.image, group.window, group.view = image, tuple(window), view
        group.structure_names = list(names)
        return group

    def __getstate__(self):
        """Copies and checkpoints leave the buffers out (the image keeps its pixels): the layer
        comes back from the memory or disk cache when asked for. The drawn structures travel
        by name with their model (which pickles as its parameters), so a restored checkpoint
        splits a needle against the same structures as the scene it was taken in; structures
        that are not the model's own (none today) are dropped, and the restore is then refused
        by the beat-state digest."""
        state = dict(self.__dict__)
        state["_layer"] = None
        drawn = state.get("drawn")
        state["drawn"] = None
        model = getattr(state.get("view"), "model", None)
        if drawn is not None and model is not None and all(_is_model_structure(model, s) for s in drawn):
            state["_drawn_names"] = (model, [s.name for s in drawn])
        return state

    def __setstate__(self, state):
        ref = state.pop("_drawn_names", None)
        self.__dict__.update(state)
        if ref is not None:
            model, names = ref
            self.drawn = [model.structure(name) for name in names]

    @property
    def layer(self) -> IllustrationLayer:
        """The rendered layer (image, depth and object-id buffers); rendered on first use."""
        if self._layer is None:
            self._layer = self._render_layer()
        return self._layer

    def _add_image(self, image: ImageMobject) -> None:
        """Put the layer first in the family (VGroup.add takes VMobjects only; the camera
        draws an image it finds in a group's family as an image, in family order)."""
        from manim import Mobject

        Mobject.add(self, image)

    def _assert_valid_submobjects(self, submobjects):
        """VMobjects and the one image layer (a plain VGroup takes VMobjects only)."""
        return super()._assert_valid_submobjects([m for m in submobjects if not isinstance(m, LayerImage)])

    def _vectors(self) -> list:
        return [m for m in self.submobjects if isinstance(m, VMobject)]

    # The family's image is a LayerImage, which answers these calls itself; the group's own
    # colours are set as a VGroup's (family=False), then passed down.
    def set_opacity(self, opacity: float, family: bool = True):
        super().set_opacity(opacity, family=False)
        if family:
            for m in self.submobjects:
                m.set_opacity(opacity) if isinstance(m, LayerImage) else m.set_opacity(opacity, family)
        return self

    def set_color(self, color, family: bool = True):
        super().set_color(color, family=False)
        if family:
            for m in self._vectors():
                m.set_color(color, family)
        return self

    def pixel_at(self, point) -> tuple[int, int] | None:
        """(col, row) of the layer's pixel under a scene point of this (possibly moved) drawing."""
        if self.image is None:
            return None
        img = self.image
        x0, y1 = img.get_corner(np.array([-1, 1, 0]))[:2]
        h, w = self.image._pixels.shape[:2]
        col = int((point[0] - x0) / img.width * w)
        row = int((y1 - point[1]) / img.height * h)
        return (col, row) if 0 <= col < w and 0 <= row < h else None

    def _alpha(self) -> np.ndarray:
        """The image's own alpha (edge fades included), whatever opacity it is shown at."""
        self.image.pixel_array  # noqa: B018 - renders a lazy layer
        return self.image.orig_alpha_pixel_array

    def _pixel_centres(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Scene points (N, 3) of the centres of these pixels of the (possibly moved) drawing."""
        img = self.image
        x0, y1 = img.get_corner(np.array([-1, 1, 0]))[:2]
        h, w = img._pixels.shape[:2]
        out = np.zeros((len(rows), 3))
        out[:, 0] = x0 + (np.asarray(cols) + 0.5) / w * img.width
        out[:, 1] = y1 - (np.asarray(rows) + 0.5) / h * img.height
        return out

    def drawn_points(self, prefixes: Iterable[str], min_alpha: int = 160) -> np.ndarray:
        """Scene points (N, 3) of the pixels where a structure named by one of ``prefixes`` (a
        name, or the start of names: ``"cord"``) is the visible surface, outside the faded
        edges."""
        layer = self.layer
        mask = np.zeros(layer.object_id.shape, bool)
        for prefix in prefixes:
            mask |= layer.mask_of(prefix)
        mask &= self._alpha() >= min_alpha
        rows, cols = np.nonzero(mask)
        return self._pixel_centres(rows, cols)

    def nearest_drawn(self, prefixes: Iterable[str], point, min_alpha: int = 160) -> np.ndarray | None:
        """The scene point, nearest to ``point`` (scene), where a structure named by one of
        ``prefixes`` is the visible surface (:meth:`drawn_points`), or None where none shows. A
        leader line ends there: on the structure as drawn, not on a landmark bone may hide."""
        pts = self.drawn_points(prefixes, min_alpha)
        if not len(pts):
            return None
        d = np.linalg.norm(pts[:, :2] - np.asarray(point, float)[:2], axis=1)
        return pts[int(np.argmin(d))]

    def drawn_span(self, a, b, min_alpha: int = 40, samples: int = 120) -> tuple[np.ndarray, np.ndarray] | None:
        """The part of the scene segment ``a``-``b`` that lies over the drawing's painted pixels
        (from the first to the last one with alpha >= ``min_alpha``), or None: a guide drawn on
        the drawing (a section plane's trace) ends where the anatomy ends, not at the image's
        transparent margin."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        alpha = self._alpha()
        ts = np.linspace(0.0, 1.0, samples)
        on = []
        for t in ts:
            px = self.pixel_at(a + (b - a) * t)
            on.append(px is not None and alpha[px[1], px[0]] >= min_alpha)
        hits = np.nonzero(on)[0]
        if not len(hits):
            return None
        return a + (b - a) * ts[hits[0]], a + (b - a) * ts[hits[-1]]


class SpineTurn(Animation):
    """Shows the re-rendered layers of a turn one after the other: on each frame the layer
    whose turn fraction (``progress``, default evenly spaced) is nearest the animation's
    progress (every layer is cached)."""

    def __init__(
        self, image: ImageMobject, frames: list[np.ndarray], progress: Sequence[float] | None = None, **kwargs
    ):
        self.frames = frames
        n = len(frames)
        self.progress = np.asarray(progress if progress is not None else np.linspace(0.0, 1.0, n), float)
        self._shown = -1
        super().__init__(image, **kwargs)

    def interpolate_mobject(self, alpha: float) -> None:
        i = int(np.argmin(np.abs(self.progress - self.rate_func(alpha))))
        if i == self._shown:
            return
        self._shown = i
        frame = self.frames[i]
        self.mobject.pixel_array = frame
        self.mobject.orig_alpha_pixel_array = frame[:, :, 3].copy()


def _blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """``a`` turning into ``b`` (RGBA uint8 of one size) by ``t``, blended with their alphas
    (a colour over a transparent pixel keeps its colour and fades, it does not darken)."""
    fa, fb = a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0
    alpha = fa[..., 3:] * (1.0 - t) + fb[..., 3:] * t
    rgb = (fa[..., :3] * fa[..., 3:] * (1.0 - t) + fb[..., :3] * fb[..., 3:] * t) / np.maximum(alpha, 1e-6)
    return np.round(np.concatenate([rgb, alpha], axis=-1) * 255.0).astype(np.uint8)


def _faded_edges(rgba: np.ndarray, fraction: float) -> np.ndarray:
    """A copy of ``rgba`` whose alpha ramps smoothly to 0 over ``fraction`` of the width and
    height at each edge (the layer's own buffers are left as they are)."""
    h, w = rgba.shape[:2]

    def ramp(n: int) -> np.ndarray:
        k = max(1.0, fraction * n)
        x = np.minimum(np.arange(n) + 0.5, n - np.arange(n) - 0.5) / k
        x = np.clip(x, 0.0, 1.0)
        return x * x * (3 - 2 * x)  # smoothstep

    out = rgba.copy()
    out[..., 3] = np.round(out[..., 3] * np.outer(ramp(h), ramp(w))).astype(np.uint8)
    return out


_RESAMPLING = None
try:  # Manim's names for PIL's filters
    from manim.constants import RESAMPLING_ALGORITHMS

    _RESAMPLING = RESAMPLING_ALGORITHMS["bicubic"]
except (ImportError, KeyError):  # pragma: no cover
    pass
