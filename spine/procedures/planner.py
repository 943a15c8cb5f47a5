"""Needle plans: the 3D path from the skin to the tip, computed from the anatomy model.

``plan_needle(name, level, side)`` checks the request like ``render.py`` does (a level or
side the procedure is never done at raises :class:`spine.videos.RequestError`), builds
the plan for the technique of that level and validates it
(:func:`spine.procedures.validator.validate`); a plan with any failed check raises
:class:`~spine.procedures.validator.PlanError`, so scenes only ever draw proven plans.

How a plan is found
-------------------
1. **Target.** The tip is a model landmark (``model.landmark(level, name, side)``, its
   region ``model.landmark_region``) or, where the model has none, a point derived from
   the model's structures (:data:`DERIVED_TARGETS`).
2. **Direction.** The needle is a straight line; its direction is searched on a grid of
   C-arm angles (oblique rotation about the long axis, cranio-caudal tilt) around the
   technique's coaxial view in the data file. A direction is *feasible* if, from the tip
   back to the skin, it crosses none of the structures the needle must avoid, passes
   through no bone (except the pedicle and body of a vertebroplasty), and the needle is
   long enough. Of the feasible directions the planner takes the one deepest inside the
   feasible set (the centre of the safe corridor), nearest the data's nominal angle on ties;
   for RFA the one most parallel to the nerve (``nerve_course`` in the data) whose active tip
   passes within the lesion's reach of the nerve's landmark. If the landmark point itself
   cannot be reached (some landmarks sit a little inside bone), points inside its target
   region are tried, nearest first. A disc that no straight needle reaches (L5-S1, behind the
   facet and the iliac crest) gets a guide needle to its wall and a curved inner needle.
3. **Skin.** The skin is an elliptic cylinder around the level (:func:`skin_outline`): its
   back lies a few millimetres behind the most posterior bone of the level.
4. **Stops.** The named waypoints of the technique are placed on the path: bone contact
   (the needle first aimed a little toward a bone surface -- pedicle, SAP, lamina, sacrum --
   touches it, then is redirected to the tip), the ligaments and the ligamentum flavum, the
   annulus, the pedicle entry and the back wall of the body, the sacrococcygeal ligament (the
   caudal needle goes in at <= 45 deg, then is flattened), and the SCS lead path up the
   dorsal epidural space to T8.

Angles (``NeedlePlan.angles``): ``carm_rotation_deg`` and ``carm_tilt_deg`` are the C-arm
pose that looks straight down the needle (the coaxial "tunnel" view; same conventions as
:class:`spine.imaging.carm.CArmPose`), ``oblique_deg`` its obliquity (positive toward the
side named by the technique's coaxial view: ipsilateral or contralateral), and
``tilt_to_endplate_deg`` the tilt relative to the squared endplate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, cast

import numpy as np

from spine.anatomy.levels import Interspace, parse_level, region_of
from spine.anatomy.mesh import MeshSolid
from spine.anatomy.solids import Ellipsoid, Solid
from spine.procedures.geometry import (  # noqa: F401 - also read from here by callers of the planner
    DISC_BEND_MAX_DEG,
    SIGN,
    _nerve_axis_for,
    _unit,
    carm_angles,
    get_model,
    level_frame,
)
from spine.procedures.validator import BONE_GRAZE_MM, LENGTH_RESERVE_MM, Check, PlanError, is_rib, validate

__all__ = [
    "Waypoint",
    "NeedlePass",
    "NeedlePlan",
    "PlanError",
    "DERIVED_TARGETS",
    "get_model",
    "plan_needle",
    "skin_outline",
    "coaxial_pose",
]

NEURAL_AVOID = ("dural_sac", "cord", "conus")

# Targets the model has no landmark for; computed here from its structures.
DERIVED_TARGETS = {
    "sacral_canal": "the sacral canal at a segment (caudal tip): middle of the canal, below the dural sac",
    "epidural_space": "the dorsal epidural space of a vertebra (SCS lead tip): the model's epidural piece",
    "third_occipital_nerve": "lateral surface of the C2-C3 facet joint, where the third occipital nerve crosses it",
    "body_anterior_third": "anterior third of the vertebral body, near the midline (vertebroplasty)",
    "root_beside_foramen": (
        "selective nerve root block: just outside the foramen, beside the exiting root, "
        "behind and above it with a millimetre or two of soft tissue between"
    ),
}

# Selective nerve root block tip (clinical.md 3.2, [3], [19]): how far along the exiting root's
# curved course past the foramen's outer edge (the lateral surface of the pedicle above; for a
# root that turns forward before it, the outer side of the transforaminal target) the tip sits
# (mm, tried in order), and its gap from the root's surface.
ROOT_BESIDE_ALONG_MM = (1.5, 2.5, 0.5, 3.5, 4.5, 6.0)
# The sides of the root the tip may lie on, tried in order, as (back, up, out) weights: behind,
# behind-and-above, above, behind-and-below; then, for a root that runs forward (L5), outside it
# and behind-and-outside (the side a needle from behind and to the side meets first).
ROOT_BESIDE_SIDES = (
    (1.0, 0.0, 0.0),
    (0.7, 0.7, 0.0),
    (0.0, 1.0, 0.0),
    (0.9, -0.45, 0.0),
    (0.7, 0.0, 0.7),
    (0.0, 0.0, 1.0),
)
# How far the tip lies outside the transforaminal target (mm) where the root turns forward
# before it passes the pedicle's lateral surface.
ROOT_BESIDE_OUTSIDE_TF_MM = 1.0
ROOT_BESIDE_GAP_MM = 1.5

# Skin: elliptic cylinder around the level (half-width, half-depth, soft tissue behind the
# most posterior bone), mm. [typical] adult neck / chest / abdomen / pelvis; the soft tissue
# over the spinous processes is thin because the model's lumbar spinous processes already
# reach ~43 mm behind the ligamentum flavum (clinical.md: skin to lumbar epidural ~3-5 cm).
SKIN = {
    "cervical": (60.0, 60.0, 12.0),
    "thoracic": (150.0, 110.0, 8.0),
    "lumbar": (165.0, 117.0, 6.0),
    "sacral": (170.0, 110.0, 6.0),
}


# -- plan objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waypoint:
    """A stop of the needle: ``kind`` from the data file, its 3D point, words for it."""

    kind: str
    point: np.ndarray
    label: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "point": _round(self.point)}


@dataclass(frozen=True)
class NeedlePass:
    """One needle from skin to tip (a medial branch block of a joint has two)."""

    label: str
    entry: np.ndarray
    tip: np.ndarray
    waypoints: tuple[Waypoint, ...]
    target: str
    target_level: str
    target_region: Solid | None = field(repr=False, compare=False)  # None: checked by a rule (RFA lesion)
    avoid: tuple[str, ...] = ()
    bones: tuple[str, ...] = ()
    through_bone: tuple[str, ...] = ()
    angles: dict = field(default_factory=dict, compare=False)
    lead: tuple[np.ndarray, ...] = field(default=(), compare=False)  # SCS: lead polyline
    bend: np.ndarray | None = field(default=None, compare=False)  # discography: curved inner needle leaves here
    # the point the needle is aimed at, where a rule checks it (RFA: the nerve the lesion must reach)
    target_point: np.ndarray | None = field(default=None, repr=False, compare=False)

    def segments(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The needle at every stop (skin entry -> stop) and the lead's pieces, without repeats."""
        if self.bend is not None:  # introducer to the disc wall, then the curved inner needle
            return [(self.entry, self.bend), (self.bend, self.tip)]
        out: list[tuple[np.ndarray, np.ndarray]] = []
        d_final = _unit(self.tip - self.entry)
        for w in self.waypoints:
            if w.kind in ("skin", "lead_tip"):
                continue
            v = w.point - self.entry
            if np.linalg.norm(v) < 1e-6:
                continue
            on_final = abs(np.dot(_unit(v), d_final) - 1.0) < 1e-9 and np.linalg.norm(v) <= self.length() + 1e-6
            if not on_final:
                out.append((self.entry, w.point))
        out.append((self.entry, self.tip))
        for a, b in zip(self.lead, self.lead[1:]):
            out.append((a, b))
        return out

    def length(self) -> float:
        if self.bend is not None:
            return float(np.linalg.norm(self.bend - self.entry) + np.linalg.norm(self.tip - self.bend))
        return float(np.linalg.norm(self.tip - self.entry))

    @property
    def end(self) -> np.ndarray:
        """Where the device ends: the lead tip for an SCS lead, else the needle tip."""
        return self.lead[-1] if self.lead else self.tip

    def direction(self) -> np.ndarray:
        """Unit vector from the skin entry to the tip (to the bend of a curved inner needle)."""
        return _unit((self.bend if self.bend is not None else self.tip) - self.entry)

    def to_dict(self) -> dict:
        out = {
            "label": self.label,
            "entry": _round(self.entry),
            "waypoints": [w.to_dict() for w in self.waypoints],
            "tip": _round(self.tip),
            "target": self.target,
            "target_level": self.target_level,
            "length_mm": round(self.length(), 1),
            "angles": {k: round(float(v), 1) for k, v in self.angles.items()},
        }
        if self.bend is not None:
            out["bend"] = _round(self.bend)
        if self.lead:
            out["lead"] = [_round(p) for p in self.lead]
            out["lead_tip"] = _round(self.lead[-1])
        return out


@dataclass(frozen=True)
class NeedlePlan:
    """A validated plan: the needles and every check with its measured value."""

    procedure: str
    technique: str
    approach: str
    level: str
    side: str | None
    entry_side: str | None
    root: str
    nerves: str
    needle_length_mm: float
    needles: tuple[NeedlePass, ...]
    extra_checks: tuple[Check, ...] = ()
    checks: tuple[Check, ...] = ()
    variants: tuple[str, ...] = ()

    # the first needle, for the common case of one
    @property
    def entry(self) -> np.ndarray:
        return self.needles[0].entry

    @property
    def tip(self) -> np.ndarray:
        return self.needles[0].tip

    @property
    def waypoints(self) -> tuple[Waypoint, ...]:
        return self.needles[0].waypoints

    @property
    def target_landmark(self) -> str:
        return self.needles[0].target

    @property
    def angles(self) -> dict:
        return self.needles[0].angles

    @property
    def root_treated(self) -> str:
        return self.root

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def coaxial_pose(self, index: int = 0, model=None):
        """The C-arm pose looking straight down needle ``index`` (tilt clamped to the C-arm)."""
        return coaxial_pose(self.needles[index], self.level, model)

    def to_dict(self) -> dict:
        return {
            "procedure": self.procedure,
            "technique": self.technique,
            "approach": self.approach,
            "level": self.level,
            "side": self.side,
            "entry_side": self.entry_side,
            "root_treated": self.root,
            "nerves": self.nerves,
            "needle_length_mm": self.needle_length_mm,
            "variants": list(self.variants),
            "needles": [n.to_dict() for n in self.needles],
            "checks": [c.to_dict() for c in self.checks],
            "passed": self.passed,
        }


def _round(p) -> list[float]:
    return [round(float(v), 2) for v in np.asarray(p, float)]


def coaxial_pose(needle: NeedlePass, level: str, model=None):
    from spine.imaging.carm import MAX_TILT_DEG, CArmPose

    model = model if model is not None else get_model()
    r = float(np.clip(needle.angles["carm_rotation_deg"], -90.0, 90.0))
    t = float(np.clip(needle.angles["carm_tilt_deg"], -MAX_TILT_DEG, MAX_TILT_DEG))
    view = "ap" if abs(r) < 0.5 else ("lateral" if abs(abs(r) - 90) < 0.5 else "oblique")
    return CArmPose(view, tuple(needle.tip), r, t, level=level)


# -- geometry helpers -------------------------------------------------------------------------------


def beam_vectors(rot_deg: np.ndarray, tilt_deg: np.ndarray) -> np.ndarray:
    r, t = np.radians(rot_deg), np.radians(tilt_deg)
    return np.stack([np.sin(r) * np.cos(t), np.cos(r) * np.cos(t), np.sin(t)], axis=-1)


def _vertebrae_of(level: str) -> list[str]:
    parsed = parse_level(level)
    return [parsed.upper, parsed.lower] if isinstance(parsed, Interspace) else [parsed.name]


def _neighbours(names: list[str], reach: int = 1) -> list[str]:
    from spine.anatomy.levels import VERTEBRAE

    idx = [VERTEBRAE.index(n) for n in names]
    lo, hi = max(min(idx) - reach, 0), min(max(idx) + reach, len(VERTEBRAE) - 1)
    return list(VERTEBRAE[lo : hi + 1])


@dataclass(frozen=True)
class Skin:
    """Elliptic cylinder in a level's frame: x^2/w^2 + (y - yc)^2/d^2 = 1."""

    origin: np.ndarray
    rot: np.ndarray
    half_width: float
    half_depth: float
    y_centre: float

    def exit_distance(self, tip, directions) -> np.ndarray:
        """Distance along each unit direction from ``tip`` (inside) to the skin."""
        p = (np.asarray(tip, float) - self.origin) @ self.rot
        d = np.atleast_2d(directions) @ self.rot
        px, py = p[0] / self.half_width, (p[1] - self.y_centre) / self.half_depth
        dx, dy = d[:, 0] / self.half_width, d[:, 1] / self.half_depth
        a = dx * dx + dy * dy
        b = px * dx + py * dy
        c = px * px + py * py - 1.0
        disc = np.maximum(b * b - a * c, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (-b + np.sqrt(disc)) / a
        return np.where(a > 1e-12, t, np.inf)


@lru_cache(maxsize=256)
def _skin_cached(level: str, model_id: int) -> Skin:
    return _build_skin(_MODELS[model_id], level)


_MODELS: dict[int, Any] = {}


def skin_outline(model, level: str) -> Skin:
    """The skin around ``level``: see :data:`SKIN`."""
    _MODELS[id(model)] = model
    return _skin_cached(str(parse_level(level)), id(model))


def _build_skin(model, level: str) -> Skin:
    from spine.anatomy.model import BONE_KINDS

    origin, rot = level_frame(model, level)
    verts = _vertebrae_of(level)
    region = region_of(verts[0])
    if region in ("sacral", "coccygeal"):
        region = "sacral"
    w, d, margin = SKIN[region]
    pool = _neighbours(verts, 1) if region == "sacral" else verts
    y_max = -np.inf
    for st in model.structures(levels=pool, kinds=BONE_KINDS):
        pts = (st.solid.surface_points(24) - origin) @ rot
        near = pts[np.abs(pts[:, 0]) < 35.0]
        if len(near):
            y_max = max(y_max, float(near[:, 1].max()))
    back = y_max + margin
    return Skin(origin, rot, w, d, back - d)


# -- the search ------------------------------------------------------------------------------------


@dataclass
class Corridor:
    """Search setup for one needle: tip, angle grid, what must not be crossed."""

    tip: np.ndarray
    rotations: np.ndarray  # world C-arm rotation (deg), signed
    tilts: np.ndarray  # world C-arm tilt (deg)
    avoid: list  # Structures
    bones: list  # Structures that must not be crossed
    max_length: float
    skin: Skin
    prefer: tuple[float, float]
    score: Callable[[np.ndarray], np.ndarray] | None = None  # lower is better (e.g. angle to nerve)
    accept: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None  # (dirs, lengths, tip)
    depth_weight: float = 1e-3  # with a score: how much a grid step of corridor depth is worth


def _feasible(c: "Corridor", tips: list[np.ndarray], dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ok, lengths), both (len(tips), len(dirs)): which directions from which tips reach the
    skin within the needle's length without crossing what the corridor forbids."""
    tips_a = np.asarray(tips, float)
    n_t, n_d = len(tips_a), len(dirs)
    origins = np.repeat(tips_a, n_d, axis=0)
    rays = np.tile(dirs, (n_t, 1))
    lengths = np.concatenate([c.skin.exit_distance(t, dirs) for t in tips_a])
    ok = np.isfinite(lengths) & (lengths <= c.max_length)
    ok &= ~_blocked(c.avoid, origins, rays, lengths, 1e-6)
    ok &= ~_blocked(c.bones, origins, rays, lengths, BONE_GRAZE_MM * 0.5)
    return ok.reshape(n_t, n_d), lengths.reshape(n_t, n_d)


def _blocked(structures, tip, dirs, lengths, tolerance) -> np.ndarray:
    blocked = np.zeros(len(dirs), bool)
    for st in structures:
        if isinstance(st.solid, MeshSolid):  # a curved bone (a rib): its exact chord to the farthest skin
            blocked |= st.solid.chord_length(tip, dirs, 0.0, float(np.max(lengths, initial=0.0))) > tolerance
            continue
        t0, t1 = st.solid.ray_interval(tip, dirs)
        lo = np.maximum(t0, 0.0)
        hi = np.minimum(t1, lengths)
        blocked |= (hi - lo) > tolerance
    return blocked


def _search(c: Corridor, region: Solid | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(approach vector tip -> skin, tip): the best feasible direction; PlanError if none.

    The tip is the target point; if no direction reaches it, or only a narrow one, points
    inside the target ``region`` (nearest first) are tried as well and the widest corridor
    wins (nearer the landmark on ties).
    """
    c = _pruned(c)
    tips = _tip_candidates(c.tip, region, list(c.avoid) + list(c.bones), limit=40)
    rr, tt = np.meshgrid(c.rotations, c.tilts, indexing="ij")
    dirs = beam_vectors(rr.ravel(), tt.ravel())
    best = None
    for lo in range(0, len(tips), 8):  # the landmark point first, then the region, in batches
        batch = tips[lo : lo + 8]
        ok, lengths = _feasible(c, batch, dirs)
        for j, tip in enumerate(batch):
            found = _choose(c, tip, ok[j], lengths[j], dirs, rr, tt)
            if found is None:
                continue
            a, depth = found
            rank = (-min(depth, 3), lo + j)
            if best is None or rank < best[0]:
                best = (rank, a, tip)
        if best is not None and -best[0][0] >= 2:
            break
    if best is None:
        raise PlanError(
            "no needle direction reaches the target without crossing a structure it must avoid "
            f"(searched rotation {c.rotations.min():.0f}..{c.rotations.max():.0f} deg, "
            f"tilt {c.tilts.min():.0f}..{c.tilts.max():.0f} deg)"
        )
    return best[1], best[2]


def _pruned(c: Corridor) -> Corridor:
    """The corridor without structures too far from the tip for any needle to reach."""
    reach = c.max_length + 8.0

    def keep(st):
        lo, hi = _bbox(st)
        centre, radius = (lo + hi) / 2, float(np.linalg.norm(hi - lo)) / 2
        return float(np.linalg.norm(centre - c.tip)) - radius <= reach

    return Corridor(
        c.tip,
        c.rotations,
        c.tilts,
        [s for s in c.avoid if keep(s)],
        [s for s in c.bones if keep(s)],
        c.max_length,
        c.skin,
        c.prefer,
        c.score,
        c.accept,
        c.depth_weight,
    )


_BBOX: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _bbox(st) -> tuple[np.ndarray, np.ndarray]:
    key = id(st.solid)
    if key not in _BBOX:
        lo, hi = st.solid.bounding_box()
        _BBOX[key] = (lo - 1.0, hi + 1.0)
    return _BBOX[key]


def _tip_candidates(tip, region, blockers=(), limit: int = 14) -> list[np.ndarray]:
    """The landmark point, then points inside its region (nearest first) that lie outside
    every structure in ``blockers`` -- so a landmark that sits a little inside bone, or
    that only a narrow corridor reaches, still gets a tip inside its target region."""
    tip = np.asarray(tip, float)
    out = []
    if not any(bool(st.solid.contains(tip[None])[0]) for st in blockers):
        out.append(tip)
    if not isinstance(region, Ellipsoid):
        return out or [tip]
    g = np.linspace(-0.9, 0.9, 9)
    local = np.array([[x, y, z] for x in g for y in g for z in g])
    local = local[np.sum(local**2, axis=1) <= 0.85]
    pts = region.to_world(local * region.radii)
    free = np.ones(len(pts), bool)
    for st in blockers:
        free &= ~st.solid.contains(pts)
    pts = pts[free]
    order = np.argsort(np.linalg.norm(pts - tip, axis=1))
    picked: list[np.ndarray] = []
    for i in order:
        if all(np.linalg.norm(pts[i] - q) > 0.6 for q in picked):
            picked.append(pts[i])
        if len(picked) >= limit:
            break
    return out + picked if (out or picked) else [tip]


def _choose(c: Corridor, tip, ok, lengths, dirs, rr, tt) -> tuple[np.ndarray, int] | None:
    """The best feasible direction from one tip and its corridor depth (grid steps)."""
    ok = ok.copy()
    if c.accept is not None and ok.any():
        sel = np.nonzero(ok)[0]
        ok[sel] &= c.accept(dirs[sel], lengths[sel], tip)
    grid = ok.reshape(rr.shape)
    if not grid.any():
        return None
    depth = _chebyshev_depth(grid)
    if c.score is not None:
        score = c.score(dirs).reshape(rr.shape)
        key = np.where(grid, score - c.depth_weight * np.minimum(depth, 3), np.inf)
    else:
        dist = np.hypot(rr - c.prefer[0], tt - c.prefer[1])
        key = np.where(grid, -np.minimum(depth, 4) * 1000.0 + dist, np.inf)
    i = int(np.argmin(key))
    return dirs[i], int(depth.ravel()[i])


def _chebyshev_depth(grid: np.ndarray) -> np.ndarray:
    """Steps from each feasible cell to the nearest infeasible one (edges count as infeasible)."""
    depth = np.zeros(grid.shape, int)
    cur = grid.copy()
    k = 0
    while cur.any():
        k += 1
        depth[cur] = k
        pad = np.pad(cur, 1, constant_values=False)
        nxt = cur.copy()
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                nxt &= pad[1 + di : 1 + di + cur.shape[0], 1 + dj : 1 + dj + cur.shape[1]]
        cur = nxt
    return depth


def _grid(lo: float, hi: float, step: float) -> np.ndarray:
    n = max(int(round((hi - lo) / step)) + 1, 2)
    return np.linspace(lo, hi, n)


# -- context ---------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    model: Any
    proc: Any
    tech: Any
    level: str
    side: str | None
    entry_side: str | None

    @property
    def frame(self):
        return level_frame(self.model, self.level)

    def lm(self, name, level=None, side=None):
        from spine.anatomy.landmarks import CATALOGUE

        level = level or self.level
        sd = (side or self.entry_side or self.side or "right") if CATALOGUE[name].bilateral else None
        return self.model.landmark(level, name, sd), self.model.landmark_region(level, name, sd)

    def near(self, levels: list[str], kinds=None, sides=None):
        from spine.anatomy.levels import INTERSPACES

        levs = set(levels)
        spaces = [s for s in INTERSPACES if s.split("-")[0] in levs and s.split("-")[1] in levs]
        return self.model.structures(levels=list(levs) + spaces, kinds=kinds, sides=sides)

    def bones(self, levels: list[str], pelvis: bool = False) -> list:
        from spine.anatomy.model import BONE_KINDS

        out = self.near(levels, kinds=BONE_KINDS)
        # the ribs beside thoracic levels (their smooth bone: the needle checks read it too)
        out += [s for s in self.near(levels, kinds=["bone_surface"]) if is_rib(s)]
        if pelvis:
            out += [s for s in self.model.structures(levels=[None], kinds=BONE_KINDS)]
        return out

    def avoid(self, levels: list[str], discs: bool = True, artery: bool = True) -> list:
        out = self.near(levels, kinds=NEURAL_AVOID + ("root", "pleura"))
        out += [s for s in self.model.structures(kinds=["conus"]) if s not in out]
        if discs:
            out += self.near(levels, kinds=["annulus"])
        if artery:
            out += [
                s
                for s in self.model.structures(kinds=["vertebral_artery"])
                if s.level and any(v in s.level.split("-") for v in levels)
            ]
        return out

    def coaxial_view(self):
        for v in self.tech.views:
            if v.coaxial:
                return v
        return None

    def rotation_range(self, default: tuple[float, float], side_kind: str = "ipsi") -> tuple[np.ndarray, str]:
        """World rotations to search (deg) and the side they are measured toward."""
        view = self.coaxial_view()
        lim = self.tech.angles.oblique_deg
        kind = side_kind
        if view is not None and view.view == "oblique":
            kind = view.side
            lo, hi = lim or view.oblique_range or (view.oblique_deg - 5, view.oblique_deg + 5)
        elif view is not None and view.view == "lateral":
            lo, hi = lim or (70.0, 90.0)
        else:
            lo, hi = lim or default
        toward = self.side if kind == "ipsi" else _other(self.side)
        sign = SIGN[toward or "right"]
        return np.unique(np.round(np.sort(sign * _grid(lo, hi, 2.5)), 6)), kind

    def nominal_tilt(self) -> float:
        from spine.procedures.schema import square_tilt

        view = self.coaxial_view()
        if view is None or view.tilt_deg == "square":
            return square_tilt(self.level, self.model)
        return float(view.tilt_deg)


def _other(side: str | None) -> str | None:
    return None if side is None else ("left" if side == "right" else "right")


def _names(structures) -> tuple[str, ...]:
    seen, out = set(), []
    for s in structures:
        if s.name not in seen:
            seen.add(s.name)
            out.append(s.name)
    return tuple(out)


def _angles(ctx: _Ctx, approach_vec, side_kind: str, level: str | None = None) -> dict:
    from spine.procedures.schema import square_tilt

    r, t = carm_angles(approach_vec)
    toward = ctx.side if side_kind == "ipsi" else _other(ctx.side)
    oblique = r * SIGN[toward] if toward else abs(r)
    return {
        "carm_rotation_deg": r,
        "carm_tilt_deg": t,
        "oblique_deg": oblique,
        "tilt_to_endplate_deg": t - square_tilt(level or ctx.level, ctx.model),
    }


# -- stops -----------------------------------------------------------------------------------------


def _line_point_at_local_y(entry, tip, origin, rot, y) -> np.ndarray | None:
    a, b = (np.asarray(entry) - origin) @ rot, (np.asarray(tip) - origin) @ rot
    if abs(b[1] - a[1]) < 1e-9:
        return None
    s = (y - a[1]) / (b[1] - a[1])
    if not 0.0 <= s <= 1.0:
        return None
    return entry + s * (tip - entry)


def _first_hit(solid, p0, p1) -> np.ndarray | None:
    d = np.asarray(p1, float) - np.asarray(p0, float)
    t0, t1 = solid.ray_interval(p0, d[None, :])
    if t0[0] <= t1[0] and 0.0 <= t0[0] <= 1.0:
        return np.asarray(p0, float) + d * float(t0[0])
    return None


def _chord_middle(solid, p0, p1) -> np.ndarray | None:
    d = np.asarray(p1, float) - np.asarray(p0, float)
    t0, t1 = solid.ray_interval(p0, d[None, :])
    lo, hi = max(float(t0[0]), 0.0), min(float(t1[0]), 1.0)
    if hi <= lo:
        return None
    return np.asarray(p0, float) + d * (lo + hi) / 2


def _bone_contact(entry, tip, bones, aim) -> tuple[np.ndarray, str] | None:
    """Where the needle, first aimed from ``entry`` a little toward ``aim`` (a point inside
    the intended bone) instead of the tip, first touches bone: the smallest deviation that
    meets any of ``bones`` (Structures). Returns (point, structure name)."""

    def hit(lam):
        p1 = tip + lam * (aim - tip)
        best = None
        for st in bones:
            h = _first_hit(st.solid, entry, p1)
            if h is not None and st.solid.segment_inside_length(entry, p1) > BONE_GRAZE_MM:
                d = float(np.linalg.norm(h - entry))
                if best is None or d < best[0]:
                    best = (d, h, st.name)
        return best

    if hit(1.0) is None:
        return None
    lo, hi = 0.0, 1.0
    for _ in range(24):
        mid = (lo + hi) / 2
        if hit(mid) is None:
            lo = mid
        else:
            hi = mid
    found = hit(hi)
    return (found[1], found[2]) if found else None


# -- targets ---------------------------------------------------------------------------------------


def _derived_target(ctx: _Ctx, name: str, level: str, side: str | None):
    m = ctx.model
    if name == "sacral_canal":
        st = m.structure(f"epidural.{level}")
        o, r = m.vertebra_frame(level)
        p = st.solid.center.copy()
        return p, Ellipsoid(p, r, (3.0, 2.0, 4.0))
    if name == "epidural_space":
        st = m.structure(f"epidural.{level}")
        return st.solid.center.copy(), st.solid
    if name == "third_occipital_nerve":
        o, r = m.interspace_frame(level)
        c, _ = ctx.lm("facet_joint", level, side)
        lateral = r[:, 0] * SIGN[side]
        upper, lower = level.split("-")
        solids = [m.structure(f"{lower}.sap.{side}").solid, m.structure(f"{upper}.iap.{side}").solid]
        p = c.copy()
        for _ in range(200):
            if not any(bool(s.contains(p[None])[0]) for s in solids):
                break
            p = p + lateral * 0.25
        p = p + lateral * 1.0
        return p, Ellipsoid(p, np.eye(3), (1.5, 1.5, 1.5))
    if name == "root_beside_foramen":
        return _root_beside_foramen(ctx, level, side)
    if name == "body_anterior_third":
        o, r = m.vertebra_frame(level)
        body = m.structure(f"{level}.body").solid
        depth = float(body.radii[1]) * 2
        width = float(body.radii[0]) * 2
        height = float(body.half_height) * 2
        p = o + r @ np.array([0.0, -depth / 3, 0.0])
        return p, Ellipsoid(p, r, (width / 6, depth / 6 - 0.5, height / 4))
    raise PlanError(f"unknown target '{name}'")


def _root_beside_foramen(ctx: _Ctx, level: str, side: str | None):
    """The selective block's tip: beside the exiting root just outside its foramen, on the
    needle's side of it (behind, behind-and-above, above, or behind-and-below), clear of bone
    and of the root by :data:`ROOT_BESIDE_GAP_MM`, and reachable by a straight needle within the
    technique's view. Not in the foramen (that is the transforaminal injection's safe triangle),
    so the small volume bathes this one root.

    "Just outside" is measured along the root's curved course: from where its centre line
    passes the foramen's outer edge, the lateral surface of the pedicle above. A root that turns
    forward before it passes that surface (L5, over the sacral ala: the L5 pedicles are the
    widest) is met instead where it passes lateral to the transforaminal target, so the tip
    still lies outside that target and outside the foramen [clinical.md 3.2; aneskey [3]: the
    transforaminal tip in the foramen, the selective block's beside the spinal nerve]."""
    from spine.anatomy.levels import exiting_root

    m = ctx.model
    root = exiting_root(level)
    nerve = m.structure(f"root.{root}.{side}.extraforaminal").solid
    o, r = m.interspace_frame(level)
    back, up = r[:, 1], r[:, 2]
    verts = _vertebrae_of(level)
    near = _neighbours(verts, 1)
    bones = ctx.bones(near, pelvis=region_of(verts[0]) in ("lumbar", "sacral"))
    avoid = ctx.avoid(near)
    gap = float(nerve.radius) + ROOT_BESIDE_GAP_MM
    sign = SIGN[side]
    lateral = ((nerve.points - o) @ r)[:, 0] * sign  # the centre line's distance from the midline
    pedicle = m.structure(f"{verts[0]}.pedicle.{side}").solid
    edge = float(np.max(((pedicle.surface_points(40) - o) @ r)[:, 0] * sign))
    if lateral.max() >= edge:
        past = _arc_where(nerve.points, lateral, edge)
    else:  # turns forward first: beside it, outside the transforaminal target instead
        tf, _ = ctx.lm("safe_triangle", level, side)
        edge = float((tf - o) @ r[:, 0] * sign) + ROOT_BESIDE_OUTSIDE_TF_MM
        past = _arc_where(nerve.points, lateral + gap, edge)  # where a tip beside it can lie outside
    out = r[:, 0] * sign
    rot, _ = ctx.rotation_range((0.0, 15.0))
    t0 = ctx.nominal_tilt()
    p1 = nerve.endpoints[0]
    corridor = _pruned(
        Corridor(
            p1, rot, _grid(t0 - 20.0, t0 + 20.0, 2.5), avoid, bones, _max_len(ctx), skin_outline(m, level), (0.0, t0)
        )
    )
    rr, tt = np.meshgrid(corridor.rotations, corridor.tilts, indexing="ij")
    dirs = beam_vectors(rr.ravel(), tt.ravel())
    first = None
    for dist in ROOT_BESIDE_ALONG_MM:
        c, along = _point_along(nerve.points, past + dist)
        for w in ROOT_BESIDE_SIDES:
            d = back * w[0] + up * w[1] + out * w[2]
            d = _unit(d - along * float(d @ along))  # square to the root where the tip is
            p = c + d * gap
            if float((p - o) @ out) < edge:
                continue  # still in the foramen
            if any(bool(st.solid.contains(p[None])[0]) for st in bones):
                continue
            if any(bool(st.solid.contains(p + 0.9 * _FIB8).any()) for st in avoid):
                continue
            region = Ellipsoid(p, np.eye(3), (1.2, 1.2, 1.2))
            first = first or (p, region)
            ok, _ = _feasible(corridor, [p], dirs)
            if ok.any():
                return p, region
    if first is not None:
        return first  # the planner's search then says why no needle reaches it
    raise PlanError(f"no soft tissue beside the {root} root just outside the {level} foramen")


def _arc_where(points: np.ndarray, values: np.ndarray, level: float) -> float:
    """Arc length along the polyline ``points`` where ``values`` (one per point) first reaches
    ``level``, linearly between samples; 0 if it starts there, the whole length if never."""
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    if values[0] >= level:
        return 0.0
    for i, (a, b) in enumerate(zip(values[:-1], values[1:])):
        if b >= level:
            return float(lengths[:i].sum() + lengths[i] * (level - a) / (b - a))
    return float(lengths.sum())


def _point_along(points: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """The point ``s`` mm along the polyline ``points`` (clamped to its ends) and the unit
    direction of the segment it lies on."""
    seg = np.diff(points, axis=0)
    lengths = np.linalg.norm(seg, axis=1)
    ends = np.cumsum(lengths)
    i = min(int(np.searchsorted(ends, s)), len(seg) - 1)
    start = ends[i] - lengths[i]
    t = float(np.clip(s - start, 0.0, lengths[i]))
    return points[i] + seg[i] / lengths[i] * t, seg[i] / lengths[i]


_FIB8 = np.array(
    [
        [1, 0, 0],
        [-1, 0, 0],
        [0, 1, 0],
        [0, -1, 0],
        [0, 0, 1],
        [0, 0, -1],
        [0.577, 0.577, 0.577],
        [-0.577, -0.577, -0.577],
    ],
    float,
)


def _target(ctx: _Ctx, name: str, level: str, side: str | None):
    from spine.anatomy.landmarks import CATALOGUE

    if name in CATALOGUE:
        return ctx.lm(name, level, side)
    if name in DERIVED_TARGETS:
        return _derived_target(ctx, name, level, side)
    raise PlanError(f"target '{name}' is neither a model landmark nor a derived target")


def _target_level(ctx: _Ctx, at: str, level: str) -> str:
    if at == "level":
        return level
    parsed = parse_level(level)
    if at in ("lower", "upper"):
        return getattr(parsed, at)
    return at


# -- approaches ------------------------------------------------------------------------------------


def _plan_interlaminar(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    level = ctx.level
    o, r = ctx.frame
    tip0, region = ctx.lm("spinolaminar_line")
    offset = 1.5 if ctx.tech.approach != "epidural_lead" else 1.0
    tip = tip0 + r[:, 0] * SIGN[ctx.side] * offset  # just off the midline: the LF may have a midline gap
    verts = _vertebrae_of(level)
    near = _neighbours(verts, 1)
    skin = skin_outline(m, level)
    paramedian = ctx.tech.approach in ("interlaminar_paramedian", "epidural_lead")
    if ctx.tech.approach == "epidural_lead":
        rot, side_kind = _signed_range(ctx, 5.0, 30.0, "ipsi")
        tilts = _grid(-80.0, -20.0, 2.5)
    elif paramedian:
        rot, side_kind = _signed_range(ctx, 5.0, 30.0, "ipsi")
        tilts = _grid(-60.0, 15.0, 2.5)
    else:
        rot, side_kind = ctx.rotation_range((0.0, 10.0))
        t0 = ctx.nominal_tilt()
        tilts = _grid(t0 - 35.0, t0 + 35.0, 2.5)
    accept = score = None
    if ctx.tech.angles.entry_max_deg is not None:
        lim = ctx.tech.angles.entry_max_deg
        accept = lambda dirs, lengths, tip: _canal_angle(dirs, -r[:, 2]) <= lim  # noqa: E731
    if ctx.tech.approach == "epidural_lead":
        # the lead goes on from the needle tip: the tip itself must lie in the epidural space
        pieces = [st.solid for st in m.structures(kinds=["epidural_space"]) if st.level in _neighbours(verts, 1)]
        angle_ok = accept

        def accept(dirs, lengths, tip, angle_ok=angle_ok):
            if not any(bool(sol.contains(np.asarray(tip)[None])[0]) for sol in pieces):
                return np.zeros(len(dirs), bool)
            return angle_ok(dirs, lengths, tip) if angle_ok is not None else np.ones(len(dirs), bool)

        # the shallowest entry the window allows (clinical.md 3.10, 3.11: the shallower the entry,
        # the easier the lead steers), giving up about a degree per grid step of corridor depth
        score = lambda dirs: _canal_angle(dirs, -r[:, 2])
    corridor = Corridor(
        tip,
        rot,
        tilts,
        ctx.avoid(near),
        ctx.bones(near),
        _max_len(ctx),
        skin,
        (0.0, ctx.nominal_tilt()),
        score=score,
        accept=accept,
        depth_weight=2.5,
    )
    a, tip, entry = _reach(corridor, region)
    stops = [Waypoint("skin", entry, "skin entry")]
    lf_names = [f"{level}.ligamentum_flavum.{s}" for s in ("left", "right")]
    lf_point = None
    for nm in lf_names:
        p = _chord_middle(m.structure(nm).solid, entry, tip)
        if p is not None:
            lf_point = p
            break
    if lf_point is None:  # through a midline gap: the point level with the ligament's back
        back = m.structure(lf_names[0]).solid
        lf_point = _line_point_at_local_y(entry, tip, o, r, float(((back.center - o) @ r)[1])) or (entry + tip) / 2
    for kind in ctx.tech.waypoints[1:]:
        if kind == "supraspinous_ligament":
            y_sp = float(((skin.origin - o) @ r)[1] + skin.y_centre + skin.half_depth) - _skin_margin(level)
            p = _line_point_at_local_y(entry, tip, o, r, y_sp)
            stops.append(
                Waypoint(
                    kind,
                    p if p is not None else entry + 0.1 * (tip - entry),
                    "through the supraspinous ligament, over the tips of the spinous processes",
                )
            )
        elif kind == "interspinous_ligament":
            prev = stops[-1].point
            stops.append(
                Waypoint(
                    kind,
                    (prev + lf_point) / 2 if len(stops) > 1 else entry + 0.5 * (lf_point - entry),
                    "in the interspinous ligament between the spinous processes",
                )
            )
        elif kind == "bone_contact":
            lamina = m.structure(f"{cast(Interspace, parse_level(level)).lower}.lamina.{ctx.side}").solid
            found = _bone_contact(entry, tip, ctx.bones(near), lamina.center)
            if found is not None:
                stops.append(Waypoint(kind, found[0], f"on the {_bone_words(found[1])}, then walked off its edge"))
        elif kind == "ligamentum_flavum":
            stops.append(Waypoint(kind, lf_point, "in the ligamentum flavum: loss of resistance next"))
        elif kind == "epidural_space":
            stops.append(Waypoint(kind, tip, "just through the ligament, in the back of the epidural space"))
    angles = _angles(ctx, a, side_kind)
    lead: tuple = ()
    target, target_level, target_region = "spinolaminar_line", level, region
    if ctx.tech.approach == "epidural_lead":
        lead, lead_tip, lead_region, lead_level = _lead_path(ctx, tip)
        stops.append(Waypoint("lead_tip", lead_tip, f"lead tip in the dorsal epidural space at {lead_level}"))
        angles["angle_to_canal_deg"] = float(_canal_angle(_unit(entry - tip)[None], -r[:, 2])[0])
        target, target_level, target_region = "epidural_space", lead_level, lead_region
    avoid = ctx.avoid(_lead_levels(ctx, near) if lead else near)
    return [
        _needle(
            ctx,
            entry,
            tip,
            stops,
            target_region,
            avoid,
            ctx.bones(near),
            angles,
            target=target,
            target_level=target_level,
            lead=tuple(lead),
        )
    ]


def _skin_margin(level: str) -> float:
    region = region_of(_vertebrae_of(level)[0])
    return SKIN["sacral" if region in ("sacral", "coccygeal") else region][2]


def _signed_range(ctx: _Ctx, lo: float, hi: float, kind: str) -> tuple[np.ndarray, str]:
    toward = ctx.side if kind == "ipsi" else _other(ctx.side)
    return np.sort(SIGN[toward] * _grid(lo, hi, 2.5)), kind


def _canal_angle(dirs, axis) -> np.ndarray:
    """Angle (deg) between each approach vector (tip -> skin) and ``axis`` (pointing to the skin end)."""
    return np.degrees(np.arccos(np.clip(np.atleast_2d(dirs) @ _unit(axis), -1.0, 1.0)))


def _max_len(ctx: _Ctx) -> float:
    return float(ctx.tech.needle.length_mm) - LENGTH_RESERVE_MM


def _corridor(ctx: _Ctx, tip, rot, tilts, avoid, bones, skin: Skin, tilt: float, **kw) -> Corridor:
    """The search for one needle to ``tip`` within the technique's needle length, preferring the
    middle of the rotations searched and the C-arm tilt ``tilt``."""
    return Corridor(tip, rot, tilts, avoid, bones, _max_len(ctx), skin, (float(np.median(rot)), tilt), **kw)


def _skin_entry(skin: Skin, point, a) -> np.ndarray:
    """Where the line from ``point`` along the approach vector ``a`` leaves the skin."""
    return point + a * skin.exit_distance(point, a[None])[0]


def _reach(corridor: Corridor, region) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(approach vector, tip, skin entry) of the best straight needle the corridor allows into
    ``region``."""
    a, tip = _search(corridor, region)
    return a, tip, _skin_entry(corridor.skin, tip, a)


def _needle(
    ctx: _Ctx,
    entry,
    tip,
    stops,
    region,
    avoid,
    bones,
    angles: dict,
    *,
    label: str = "needle",
    target: str | None = None,
    target_level: str | None = None,
    through: tuple[str, ...] = (),
    **extra,
) -> NeedlePass:
    """One needle of a plan: by default the technique's target at the planned level, with the
    names of the structures it was kept clear of and the bones it may not cross."""
    return NeedlePass(
        label,
        entry,
        tip,
        tuple(stops),
        target or ctx.tech.target.landmark,
        target_level or ctx.level,
        region,
        _names(avoid),
        _names(bones),
        through,
        angles,
        **extra,
    )


def _lead_levels(ctx: _Ctx, near: list[str]) -> list[str]:
    from spine.anatomy.levels import VERTEBRAE

    lo, hi = ctx.tech.lead_tip
    top = VERTEBRAE.index(lo)
    bottom = max(VERTEBRAE.index(v) for v in near)
    return list(VERTEBRAE[top - 1 : bottom + 1])


def _lead_path(ctx: _Ctx, needle_tip) -> tuple[tuple, np.ndarray, Solid, str]:
    """Points of the SCS lead from the needle tip up the dorsal epidural space to the tip level."""
    from spine.anatomy.levels import VERTEBRAE

    m = ctx.model
    lo, _ = ctx.tech.lead_tip
    verts = _vertebrae_of(ctx.level)
    start = VERTEBRAE.index(verts[0])
    stop = VERTEBRAE.index(lo)
    pts = [np.asarray(needle_tip, float)]
    for i in range(start, stop - 1, -1):
        name = VERTEBRAE[i]
        piece = m.structure(f"epidural.{name}").solid
        o, r = m.vertebra_frame(name)
        c = piece.center
        lo_z, hi_z = piece.axis_extent() if hasattr(piece, "axis_extent") else (-5.0, 5.0)
        for z in (lo_z * 0.8, 0.0, hi_z * 0.8):
            pts.append(c + r[:, 2] * z)
    tip = m.structure(f"epidural.{lo}").solid.center.copy()
    pts.append(tip)
    clean = [pts[0]]
    for p in pts[1:]:
        if np.linalg.norm(p - clean[-1]) > 0.5:
            clean.append(p)
    return tuple(clean), tip, m.structure(f"epidural.{lo}").solid, lo


def _plan_transforaminal(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    level = ctx.level
    tech = ctx.tech
    tip, region = _target(ctx, tech.target.landmark, level, ctx.side)
    region_name = region_of(_vertebrae_of(level)[0])
    s1 = tech.approach == "transforaminal_s1"
    verts = _vertebrae_of(level)
    near = _neighbours(verts, 1)
    skin = skin_outline(m, level)
    rot, side_kind = ctx.rotation_range((0.0, 15.0))
    t0 = ctx.nominal_tilt()
    tilts = _grid(t0 - 20.0, t0 + 20.0, 2.5) if not s1 else _grid(-10.0, 40.0, 2.5)
    pelvis = region_name in ("lumbar", "sacral")
    avoid, bones = ctx.avoid(near), ctx.bones(near, pelvis=pelvis)
    a, tip, entry = _reach(_corridor(ctx, tip, rot, tilts, avoid, bones, skin, t0), region)
    o, r = ctx.frame
    stops = [Waypoint("skin", entry, "skin entry")]
    if "bone_contact" in tech.waypoints:
        if s1:
            aim = tip + r[:, 2] * 6.0 + r[:, 1] * 1.0  # the sacrum just above the foramen
        elif region_name == "cervical":
            aim = tip + r[:, 1] * 3.0  # the front half of the SAP, just behind the tip
        else:
            six, _ = ctx.lm("pedicle_6_oclock", level, ctx.side)
            aim = six + r[:, 2] * 1.5  # just inside the underside of the pedicle
        found = _bone_contact(entry, tip, bones, aim)
        if found is not None:
            stops.append(
                Waypoint(
                    "bone_contact", found[0], f"touches the {_bone_words(found[1])}, then steps off into the foramen"
                )
            )
    final = tech.waypoints[-1] if tech.waypoints[-1] in ("foramen", "beside_root") else "foramen"
    stops.append(Waypoint(final, tip, tech.target.words))
    return [_needle(ctx, entry, tip, stops, region, avoid, bones, _angles(ctx, a, side_kind))]


def _bone_words(name: str) -> str:
    """ "L4.pedicle.right" -> "L4 pedicle"."""
    words = {
        "sap": "superior articular process",
        "sap_neck": "superior articular process",
        "iap": "inferior articular process",
        "tp": "transverse process",
        "pars": "pars interarticularis",
        "ala": "sacral ala",
        "lateral_mass": "lateral mass",
        "bridge": "sacrum",
        "lamina": "lamina",
        "pedicle": "pedicle",
        "body": "vertebral body",
        "spinous_process": "spinous process",
    }
    parts = name.split(".")
    if len(parts) >= 2:
        return f"{parts[0]} {words.get(parts[1], parts[1].replace('_', ' '))}"
    return name.replace("_", " ")


def _plan_caudal(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    tech = ctx.tech
    hiatus, _ = ctx.lm("sacral_hiatus", "S5")
    o5, r5 = m.vertebra_frame("S5")
    axis = r5[:, 2]  # up the canal
    target_level = _target_level(ctx, tech.target.at, ctx.level)
    tip, region = _target(ctx, tech.target.landmark, target_level, None)
    skin = skin_outline(m, "S5")
    near = ["S2", "S3", "S4", "S5", "Co1", "Co2"]
    avoid = ctx.avoid(near, discs=False, artery=False)
    bones = ctx.bones(near)
    limit = float(tech.angles.entry_max_deg)
    best = None
    # the needle goes in through the ligament at <= 45 deg to the canal, then is flattened
    for first in np.arange(limit, 14.9, -2.5):
        ang = math.radians(first)
        a1 = _unit(-axis * math.cos(ang) + r5[:, 1] * math.sin(ang))  # hiatus -> skin
        d1 = skin.exit_distance(hiatus, a1[None])[0]
        entry = hiatus + a1 * d1
        if _blocked(
            avoid + bones,
            entry,
            _unit(hiatus - entry)[None],
            np.array([np.linalg.norm(hiatus - entry)]),
            BONE_GRAZE_MM * 0.5,
        )[0]:
            continue
        for frac in (1.0, 0.8, 0.6, 0.45, 0.3):
            t = hiatus + frac * (tip - hiatus)
            if not region.contains(t[None])[0]:
                continue
            seg = t - entry
            if _blocked(avoid + bones, entry, _unit(seg)[None], np.array([np.linalg.norm(seg)]), BONE_GRAZE_MM * 0.5)[
                0
            ]:
                continue
            best = (first, entry, t)
            break
        if best:
            break
    if best is None:
        raise PlanError(
            "no caudal path through the sacral hiatus at <= "
            f"{limit:g} deg reaches the sacral canal without touching bone"
        )
    first, entry, tip = best
    stops = (
        Waypoint("skin", entry, "skin over the sacral hiatus, between the cornua"),
        Waypoint("sacrococcygeal_ligament", hiatus, f"through the sacrococcygeal ligament at {first:.0f} degrees"),
        Waypoint("sacral_canal", tip, "flattened and advanced a short way up the canal"),
    )
    a = _unit(entry - tip)
    angles = _angles(ctx, a, "ipsi", level="S5")
    angles["entry_angle_deg"] = float(first)
    final = float(_canal_angle(a[None], -axis)[0])
    angles["flattened_angle_deg"] = final
    return [_needle(ctx, entry, tip, stops, region, avoid, bones, angles, target_level=target_level)]


def _plan_facet(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    tech = ctx.tech
    level = ctx.level
    tip, region = _target(ctx, tech.target.landmark, level, ctx.side)
    verts = _vertebrae_of(level)
    near = _neighbours(verts, 1)
    skin = skin_outline(m, level)
    view = ctx.coaxial_view()
    if view is not None and view.view == "oblique":
        rot, side_kind = ctx.rotation_range((0.0, 45.0))
    else:
        rot, side_kind = _signed_range(ctx, 0.0, 60.0, "ipsi")
    tilts = _grid(-60.0, 30.0, 2.5)
    pelvis = region_of(verts[0]) == "lumbar"
    avoid, bones = ctx.avoid(near), ctx.bones(near, pelvis=pelvis)
    corridor = _corridor(ctx, tip, np.unique(rot), tilts, avoid, bones, skin, ctx.nominal_tilt())
    a, tip, entry = _reach(corridor, region)
    stops = (
        Waypoint("skin", entry, "skin entry"),
        Waypoint("joint_capsule", tip, f"through the capsule into {tech.target.words}"),
    )
    return [_needle(ctx, entry, tip, stops, region, avoid, bones, _angles(ctx, a, side_kind))]


def _nerve_axis(ctx: _Ctx, level: str, side: str | None) -> np.ndarray | None:
    return _nerve_axis_for(ctx.model, ctx.tech, level, side)


def _active_tip_distance(point, tip, approach_vec, active_mm: float) -> float:
    """Distance from ``point`` to the active tip: the last ``active_mm`` of the cannula."""
    a = _unit(approach_vec)
    v = np.asarray(point, float) - np.asarray(tip, float)
    u = float(np.clip(v @ a, 0.0, active_mm))
    return float(np.linalg.norm(v - u * a))


def _rf_search(c: Corridor, nerve_point, axis, active_mm: float, reach_mm: float, radius: float):
    """RFA: among tips near the nerve point and bone-free directions, the cannula most parallel
    to the nerve whose active tip passes within ``reach_mm`` of the nerve point."""
    big = Ellipsoid(nerve_point, np.eye(3), (radius, radius, radius))
    c = _pruned(Corridor(nerve_point, c.rotations, c.tilts, c.avoid, c.bones, c.max_length, c.skin, c.prefer))
    rr, tt = np.meshgrid(c.rotations, c.tilts, indexing="ij")
    dirs = beam_vectors(rr.ravel(), tt.ravel())
    angle = _canal_angle(dirs, axis) if axis is not None else np.zeros(len(dirs))
    tips = _tip_candidates(nerve_point, big, list(c.avoid) + list(c.bones), limit=120)
    ok, _ = _feasible(c, tips, dirs)
    tips_a = np.asarray(tips)
    v = np.asarray(nerve_point, float)[None, :] - tips_a  # (T, 3)
    u = np.clip(v @ dirs.T, 0.0, active_mm)  # (T, D)
    reach = np.linalg.norm(v[:, None, :] - u[:, :, None] * dirs[None, :, :], axis=2)
    # parallel first, but pay ~4 deg per mm for a nerve far from the middle of the lesion
    slack = 4.0 * np.maximum(reach - 0.5 * reach_mm, 0.0)
    key = np.where(ok, (reach > reach_mm) * 1e6 + (angle[None, :] if axis is not None else reach) + slack, np.inf)
    if not np.isfinite(key).any():
        raise PlanError("no cannula direction reaches the nerve without crossing a structure it must avoid")
    i, j = np.unravel_index(int(np.argmin(key)), key.shape)
    return dirs[j], tips_a[i]


# Medial branch targets reached along a near-sagittal AP path, and the obliquity searched for them
# (deg toward the treated side; "near-sagittal" [29], the range is ours [unverified]).
NEAR_SAGITTAL_TARGETS = ("tp_superolateral",)
NEAR_SAGITTAL_OBLIQUE_DEG = (-5.0, 20.0)


def _plan_medial_branch(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    tech = ctx.tech
    nerves = ctx.proc.nerve_table[ctx.level]
    passes = []
    rf = tech.approach == "rf_parallel"
    view = ctx.coaxial_view()
    for nerve in nerves:
        at = nerve.at
        nerve_point, region = _target(ctx, nerve.landmark, at, ctx.side)
        verts = _vertebrae_of(at)
        near = _neighbours(verts, 1)
        skin = skin_outline(m, at)
        lumbar = region_of(verts[-1]) in ("lumbar", "sacral")
        from spine.procedures.schema import square_tilt

        if nerve.landmark in NEAR_SAGITTAL_TARGETS:
            # thoracic medial branch (C8, T1-T10): onto the back of the TP's upper outer corner
            # along a near-sagittal AP path ([29]; clinical.md 3.11), whatever the joint's other nerve
            rot, side_kind = _signed_range(ctx, *NEAR_SAGITTAL_OBLIQUE_DEG, "ipsi")
            t0 = square_tilt(at, m)
            tilts = _grid(t0 - 25.0, t0 + 25.0, 2.5)
        elif view is not None and view.view == "lateral":
            rot, side_kind = _signed_range(ctx, 60.0, 90.0, "ipsi")
            tilts = _grid(-25.0, 25.0, 2.5)
        else:
            rot, side_kind = ctx.rotation_range((0.0, 35.0))
            t0 = square_tilt(at, m) if (view is None or view.tilt_deg == "square") else float(view.tilt_deg)
            if rf and view is not None and view.tilt_deg != "square":
                t0 = square_tilt(at, m) + float(view.tilt_deg)  # caudal tilt from the squared endplate
            tilts = _grid(max(t0 - 25.0, -75.0), min(t0 + 25.0, 45.0), 2.5)
        avoid, bones = ctx.avoid(near), ctx.bones(near, pelvis=lumbar)
        corridor = _corridor(ctx, nerve_point, np.unique(rot), tilts, avoid, bones, skin, float(np.median(tilts)))
        axis = _nerve_axis(ctx, at, ctx.side) if rf else None
        try:
            if rf:
                a, tip = _rf_search(
                    corridor,
                    nerve_point,
                    axis,
                    float(tech.needle.active_tip_mm),
                    float(tech.lesion_radius_mm),
                    radius=3.5,
                )
            else:
                a, tip = _search(corridor, region)
        except PlanError as exc:
            raise PlanError(f"{nerve.name}: {exc}") from None
        entry = _skin_entry(skin, tip, a)
        stops = (
            Waypoint("skin", entry, "skin entry"),
            Waypoint("groove", tip, f"on the {nerve.name}: {_target_words(nerve.landmark)}"),
        )
        angles = _angles(ctx, a, side_kind, level=at)
        if rf:
            angles["nerve_to_active_tip_mm"] = _active_tip_distance(
                nerve_point, tip, a, float(tech.needle.active_tip_mm)
            )
            if axis is not None:
                angles["angle_to_nerve_deg"] = float(_canal_angle(a[None], axis)[0])
        passes.append(
            _needle(
                ctx,
                entry,
                tip,
                stops,
                None if rf else region,
                avoid,
                bones,
                angles,
                label=nerve.name,
                target=nerve.landmark,
                target_level=at,
                target_point=nerve_point,
            )
        )
    return passes


def _target_words(landmark: str) -> str:
    return {
        "sap_tp_groove": "the groove where the SAP meets the transverse process",
        "sacral_ala_groove": "the groove between the sacral ala and the S1 SAP",
        "pillar_waist": "the waist of the articular pillar",
        "third_occipital_nerve": "the side of the C2-C3 joint",
        "tp_superolateral": "the upper outer corner of the transverse process",
    }.get(landmark, landmark)


def _plan_si_joint(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    tech = ctx.tech
    tip, region = _target(ctx, tech.target.landmark, ctx.level, ctx.side)
    near = ["L5", "S1", "S2", "S3", "S4"]
    skin = skin_outline(m, ctx.level)
    rot, side_kind = ctx.rotation_range((0.0, 25.0))
    tilts = _grid(-20.0, 40.0, 2.5)
    avoid = ctx.avoid(near, discs=False, artery=False)
    bones = ctx.bones(near, pelvis=True)
    a, tip, entry = _reach(_corridor(ctx, tip, rot, tilts, avoid, bones, skin, ctx.nominal_tilt()), region)
    stops = [
        Waypoint("skin", entry, "skin entry"),
        Waypoint("joint_capsule", tip, f"into the joint: {tech.target.words}"),
    ]
    return [_needle(ctx, entry, tip, stops, region, avoid, bones, _angles(ctx, a, side_kind, level="S1"))]


def _plan_disc(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    tech = ctx.tech
    level = ctx.level
    tip, region = _target(ctx, tech.target.landmark, level, None)
    verts = _vertebrae_of(level)
    near = _neighbours(verts, 1)
    skin = skin_outline(m, level)
    rot, side_kind = ctx.rotation_range((25.0, 45.0))
    t0 = ctx.nominal_tilt()
    tilts = _grid(t0 - 30.0, t0 + 25.0, 2.5)
    own_disc = {f"disc.{level}.annulus", f"disc.{level}.nucleus"}
    avoid = [s for s in ctx.avoid(near) if s.name not in own_disc]
    bones = ctx.bones(near, pelvis=True)
    corridor = _corridor(ctx, tip, rot, tilts, avoid, bones, skin, t0)
    bend = None
    try:
        a, tip, entry = _reach(corridor, region)
    except PlanError:
        # no straight path (L5-S1 behind the iliac crest and the facet): the introducer stops
        # on the disc wall and a curved inner needle goes on to the centre
        a, bend = _disc_bend(ctx, corridor, tip, level)
        entry = _skin_entry(skin, bend, a)
    annulus = bend if bend is not None else _first_hit(m.structure(f"disc.{level}.annulus").solid, entry, tip)
    stops = [Waypoint("skin", entry, f"skin entry on the {ctx.entry_side}, opposite the painful side")]
    if annulus is not None:
        words = "through the outer wall of the disc, just in front of the SAP"
        if bend is not None:
            words = "the guide needle stops on the outer wall of the disc; the curved inner needle goes on"
        stops.append(Waypoint("annulus", annulus, words))
    stops.append(Waypoint("nucleus", tip, tech.target.words))
    angles = _angles(ctx, a, side_kind)
    if bend is not None:
        angles["inner_needle_bend_deg"] = math.degrees(
            math.acos(float(np.clip(np.dot(_unit(bend - entry), _unit(tip - bend)), -1, 1)))
        )
    return [_needle(ctx, entry, tip, stops, region, avoid, bones, angles, bend=bend)]


def _disc_bend(ctx: _Ctx, corridor: Corridor, tip, level: str) -> tuple[np.ndarray, np.ndarray]:
    """(approach vector, bend point): the guide needle's path to a point on the disc wall on
    the entry side from which the inner needle reaches the centre with the smallest turn."""
    m = ctx.model
    o, r = m.interspace_frame(level)
    annulus = m.structure(f"disc.{level}.annulus").solid
    s = SIGN[ctx.entry_side]
    best = None
    c = _pruned(corridor)
    rr, tt = np.meshgrid(c.rotations, c.tilts, indexing="ij")
    dirs = beam_vectors(rr.ravel(), tt.ravel())
    for phi in range(20, 85, 5):
        for dz in (0.0, -2.0, 2.0):
            d = _unit(r @ np.array([s * math.sin(math.radians(phi)), math.cos(math.radians(phi)), 0.0]))
            start = tip + r[:, 2] * dz
            _, t1 = annulus.ray_interval(start, d[None])
            if not np.isfinite(t1[0]):
                continue
            bend = start + d * (float(t1[0]) - 0.5)
            inner_ok = not _blocked(
                c.bones, bend, _unit(tip - bend)[None], np.array([np.linalg.norm(tip - bend)]), BONE_GRAZE_MM * 0.5
            )[0]
            if not inner_ok:
                continue
            ok, lengths = _feasible(c, [bend], dirs)
            if not ok[0].any():
                continue
            inner = _unit(tip - bend)
            turn = np.degrees(np.arccos(np.clip(-(dirs @ inner), -1.0, 1.0)))  # dirs point to the skin
            key = np.where(ok[0], turn, np.inf)
            i = int(np.argmin(key))
            if best is None or key[i] < best[0]:
                best = (float(key[i]), dirs[i], bend)
    if best is None:
        raise PlanError("no path reaches the disc, straight or with a curved inner needle")
    return best[1], best[2]


def _plan_transpedicular(ctx: _Ctx) -> list[NeedlePass]:
    m = ctx.model
    tech = ctx.tech
    level = ctx.level
    side = ctx.side
    tip, region = _target(ctx, tech.target.landmark, level, side)
    near = _neighbours([level], 1)
    skin = skin_outline(m, level)
    rot, side_kind = ctx.rotation_range((0.0, 30.0))
    t0 = ctx.nominal_tilt()
    tilts = _grid(t0 - 25.0, t0 + 25.0, 2.5)
    pedicle = m.structure(f"{level}.pedicle.{side}")
    body = m.structure(f"{level}.body")
    posterior_ok = {f"{level}.{k}.{side}" for k in ("sap", "sap_neck", "pars", "lamina", "tp", "iap")}
    through = {pedicle.name, body.name} | posterior_ok
    bones = [s for s in ctx.bones(near) if s.name not in through]
    avoid = ctx.avoid(near)
    o, r = m.vertebra_frame(level)
    wall_y = float(body.solid.radii[1])
    medial_x = _medial_wall_x(pedicle.solid, o, r)

    def accept(dirs, lengths, tip):
        ok = np.ones(len(dirs), bool)
        for i, (d, L) in enumerate(zip(dirs, lengths)):
            if not np.isfinite(L):
                ok[i] = False
                continue
            ok[i] = (
                _medial_margin(tip, tip + d * L, o, r, wall_y, medial_x, side) > 0
                and pedicle.solid.segment_inside_length(tip, tip + d * L) > 5.0
            )
        return ok

    corridor = _corridor(ctx, tip, np.unique(rot), tilts, avoid, bones, skin, t0, accept=accept)
    a, tip, entry = _reach(corridor, region)
    stops = [Waypoint("skin", entry, "skin entry")]
    ped_in = _first_hit(pedicle.solid, entry, tip)
    if ped_in is not None:
        stops.append(Waypoint("pedicle_entry", ped_in, f"into the {side} pedicle of {level}"))
    wall = _line_point_at_local_y(entry, tip, o, r, wall_y)
    if wall is not None:
        stops.append(Waypoint("posterior_wall", wall, "past the back wall of the vertebral body"))
    stops.append(Waypoint("body", tip, tech.target.words))
    angles = _angles(ctx, a, side_kind)
    return [
        _needle(ctx, entry, tip, stops, region, avoid, bones + [pedicle, body], angles, through=tuple(sorted(through)))
    ]


def _medial_wall_x(pedicle_solid, o, r) -> float:
    pts = (pedicle_solid.surface_points(48) - o) @ r
    return float(np.min(np.abs(pts[:, 0])))


def _medial_margin(tip, entry, o, r, wall_y, medial_x, side) -> float:
    ts = np.linspace(0.0, 1.0, 200)
    pts = ((tip + ts[:, None] * (entry - tip)) - o) @ r
    behind = pts[:, 1] > wall_y
    if not behind.any():
        return np.inf
    lateral = pts[behind, 0] * SIGN[side]
    return float(np.min(lateral - medial_x))


def target_point(model, name: str, level: str, side: str | None, procedure=None) -> tuple[np.ndarray, Solid]:
    """(point, region) of a target: a model landmark or one of :data:`DERIVED_TARGETS`."""
    from spine.procedures.catalog import load_procedures

    proc = load_procedures()[procedure] if procedure else next(iter(load_procedures().values()))
    ctx = _Ctx(model, proc, proc.techniques[0], level, side, side)
    return _target(ctx, name, level, side)


APPROACH_PLANNERS: dict[str, Callable[[_Ctx], list[NeedlePass]]] = {
    "interlaminar_midline": _plan_interlaminar,
    "interlaminar_paramedian": _plan_interlaminar,
    "epidural_lead": _plan_interlaminar,
    "transforaminal": _plan_transforaminal,
    "transforaminal_s1": _plan_transforaminal,
    "caudal_hiatus": _plan_caudal,
    "facet_intraarticular": _plan_facet,
    "medial_branch": _plan_medial_branch,
    "rf_parallel": _plan_medial_branch,
    "si_joint": _plan_si_joint,
    "disc_extrapedicular": _plan_disc,
    "transpedicular": _plan_transpedicular,
}


# -- public entry ------------------------------------------------------------------------------------


def plan_needle(name: str, level: str | None = None, side: str | None = None, model=None) -> NeedlePlan:
    """The validated needle plan for procedure ``name`` at ``level`` on ``side``.

    ``level``/``side`` default to the procedure's defaults (``side`` is ignored for the
    unsided caudal injection). A level the procedure is never done at raises
    :class:`spine.videos.RequestError` (one line naming the allowed levels); a plan that
    fails any check raises :class:`PlanError`. Plans of the default model are cached.
    """
    from spine.videos import RequestError, resolve

    from spine.procedures.catalog import load_procedures

    procs = load_procedures()
    if name not in procs:
        raise RequestError(f"'{name}' is not a procedure; procedures: {', '.join(procs)}")
    if not procs[name].sided:
        side = None  # the caudal injection is in the midline: a side given by a caller is moot
    request = resolve(name, level, side)
    assert request.level is not None, f"{name}: a procedure always has a level"
    if model is None:
        return _plan_cached(name, request.level, request.side)
    return _plan(name, request.level, request.side, model)


@lru_cache(maxsize=512)
def _plan_cached(name: str, level: str, side: str | None) -> NeedlePlan:
    """The default model's plan: in memory, else from the plan cache on disk (keyed by the domain
    code and the procedure's data: :mod:`spine.procedures.plan_cache`), else planned."""
    from spine.procedures.catalog import load_procedures
    from spine.procedures.plan_cache import cached_plan

    return cached_plan(load_procedures()[name], level, side, lambda: _plan(name, level, side, get_model()))


def build_plan(name: str, level: str, side: str | None, model=None) -> NeedlePlan:
    """The plan with its checks, without raising on failed checks (for reports and tests)."""
    from spine.procedures.catalog import entry_side, load_procedures, nerves_words, root_for

    model = model if model is not None else get_model()
    proc = load_procedures()[name]
    tech = proc.technique_for(level)
    ctx = _Ctx(model, proc, tech, level, side, entry_side(proc, side))
    try:
        needles = tuple(APPROACH_PLANNERS[tech.approach](ctx))
    except PlanError as exc:  # name the data that asked for it: the file, the technique, the level
        raise PlanError(f"{name}.yaml: technique '{tech.id}' at {level}{' ' + side if side else ''}: {exc}") from None
    plan = NeedlePlan(
        name,
        tech.id,
        tech.approach,
        level,
        side,
        ctx.entry_side,
        root_for(proc, level),
        nerves_words(proc, level),
        float(tech.needle.length_mm),
        needles,
        variants=tuple(v.name for v in proc.variants),
    )
    checks = tuple(validate(plan, model))
    return NeedlePlan(**{**plan.__dict__, "checks": checks})


def _plan(name: str, level: str, side: str | None, model) -> NeedlePlan:
    plan = build_plan(name, level, side, model)
    failed = [c for c in plan.checks if not c.passed]
    if failed:
        raise PlanError(
            f"{name} at {level}{' ' + side if side else ''}: failed " + "; ".join(c.describe() for c in failed)
        )
    return plan
