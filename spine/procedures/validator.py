"""The checks that prove a needle plan, and the geometry they measure with.

:func:`validate` takes a :class:`~spine.procedures.planner.NeedlePlan` and returns one
:class:`Check` per rule; a plan is drawn only when every check passes
(:func:`~spine.procedures.planner.plan_needle` raises otherwise). Each needle of the plan
(two for a medial branch block or RFA of a joint with two nerves) is checked for:

* **target** -- the tip lies inside its target region (the model's
  ``landmark_region``, or the derived region named in the plan); value = depth inside;
* **clear of ...** -- the needle, at every stop (the straight line from the skin entry to
  each stop) and at the final tip, does not enter the structures it must not: the dural
  sac and the spinal cord (every procedure: the epidural tip and the SCS lead lie OUTSIDE
  the dura), the nerve roots near the path, the vertebral-artery zone in the neck, the disc
  unless the disc is the target. Value = the smallest distance from the path to the
  structure's surface, in mm (negative: length of path inside it);
* **bone** -- the path does not pass through bone except where the technique goes through it
  (vertebroplasty: the pedicle and the body), nor through a rib near the path; value = length
  inside bone, at most 0.3 mm (a needle resting on bone);
* **angles** -- within the technique's ranges (clinical.md: oblique ~20-30 deg for lumbar
  transforaminal; caudal entry <= ~45 deg; RFA cannula parallel to the nerve within ~20 deg);
* **needle length** -- the needle reaches from the skin to the tip;
* technique rules: vertebroplasty's medial pedicle wall is not crossed before the back wall
  of the body; the caudal tip stays below S3; the SCS lead stays in the dorsal epidural
  space with its tip at T8-T10; an interlaminar needle passes through the ligamentum flavum.

Distances: for a point outside a convex solid the distance to it is the shortest ray from
the point that reaches it; :func:`distance_to_solid` finds that ray by a pattern search over
directions (the entry distance is quasi-convex over the sphere for a convex solid, so the
search cannot stall in a false minimum), vectorised over points. A segment's clearance is
sampled every 1.5 mm and refined around the closest sample.
"""

from __future__ import annotations

from spine.errors import SpineError

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Check",
    "PlanError",
    "distance_to_solid",
    "depth_inside",
    "segment_clearance",
    "path_clearance",
    "bbox_distance",
    "thoracic_hazards",
    "is_rib",
    "validate",
]

BONE_GRAZE_MM = 0.3  # a needle resting on bone may touch it this deep (shell, rounding)
LENGTH_RESERVE_MM = 5.0  # needle left outside the skin (hub)


class PlanError(SpineError, ValueError):
    """No plan passes every check (the message names the failed checks)."""


@dataclass(frozen=True)
class Check:
    """One rule applied to a plan: ``value`` measured against ``limit`` (``unit`` mm or deg)."""

    name: str
    passed: bool
    value: float
    limit: float | tuple[float, float] | None
    unit: str
    detail: str = ""

    @property
    def margin_mm(self) -> float | None:
        return self.value if self.unit == "mm" else None

    def describe(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        if isinstance(self.limit, tuple):
            lim = f"{self.limit[0]:g}..{self.limit[1]:g}"
        elif self.limit is None:
            lim = "-"
        else:
            lim = f"{self.limit:g}"
        text = f"{mark} {self.name}: {self.value:.2f} {self.unit} (limit {lim} {self.unit})"
        return f"{text}; {self.detail}" if self.detail else text

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "passed": self.passed,
            "value": round(float(self.value), 3),
            "limit": list(self.limit) if isinstance(self.limit, tuple) else self.limit,
            "unit": self.unit,
            "detail": self.detail,
        }


# -- geometry -----------------------------------------------------------------------------------


def _unit_rows(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n < 1e-12, 1.0, n)


def _fibonacci(n: int) -> np.ndarray:
    k = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * k / n)
    theta = np.pi * (1 + 5**0.5) * k
    return np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])


_SPHERE = _fibonacci(200)
_HEX = np.radians(np.arange(0, 360, 60))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack(
        [
            a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
            a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
        ],
        axis=1,
    )


def _basis(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.where(np.abs(u[:, :1]) < 0.9, np.array([[1.0, 0, 0]]), np.array([[0, 1.0, 0]]))
    e1 = _unit_rows(_cross(u, a))
    return e1, _cross(u, e1)


def _entry(solid, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    t0, t1 = solid.ray_interval(p, u)
    hit = (t0 <= t1) & (t1 >= 0)
    return np.where(hit, np.maximum(t0, 0.0), np.inf)


def _exit(solid, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    _, t1 = solid.ray_interval(p, u)
    return np.where(np.isfinite(t1) & (t1 >= 0), t1, np.inf)


def _pattern_search(fn, p: np.ndarray, u: np.ndarray, best: np.ndarray, step0=0.5, iters=60):
    """Shrink-on-failure search over unit directions minimising ``fn(p, u)`` (vectorised)."""
    step = np.full(len(p), step0)
    for _ in range(iters):
        active = step > 1e-3
        if not active.any():
            break
        e1, e2 = _basis(u)
        cand = np.stack(
            [np.cos(step)[:, None] * u + np.sin(step)[:, None] * (np.cos(a) * e1 + np.sin(a) * e2) for a in _HEX]
        )  # (6, N, 3)
        vals = fn(np.tile(p, (len(_HEX), 1)), cand.reshape(-1, 3)).reshape(len(_HEX), len(p))
        k = np.argmin(vals, axis=0)
        v = vals[k, np.arange(len(p))]
        better = active & (v < best - 1e-9)
        u = np.where(better[:, None], cand[k, np.arange(len(p))], u)
        best = np.where(better, v, best)
        step = np.where(better, np.minimum(step * 1.5, 0.8), step * 0.5)
    return best, u


def _capsule_distance(solid, p: np.ndarray) -> np.ndarray:
    a, b = solid.endpoints
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    d = np.linalg.norm(p - (a + t[:, None] * ab), axis=1) - solid.radius
    return np.maximum(d, 0.0)


def _box_distance(solid, p: np.ndarray) -> np.ndarray:
    q = np.abs(solid.to_local(p)) - solid.half_sizes
    return np.linalg.norm(np.maximum(q, 0.0), axis=1)


_NEAREST: dict = {}


def _mesh_distance(solid, p: np.ndarray) -> np.ndarray:
    """Exact distance from points to a closed mesh's surface (0 inside): trimesh's nearest point
    on the triangles (an R-tree of them), instead of a search over ray directions."""
    import trimesh

    key = id(solid)
    hit = _NEAREST.get(key)
    if hit is None or hit[0] is not solid:
        if len(_NEAREST) > 64:
            _NEAREST.clear()
        mesh = trimesh.Trimesh(vertices=solid.vertices, faces=solid.faces, process=False)
        hit = _NEAREST[key] = (solid, trimesh.proximity.ProximityQuery(mesh))
    _, dist, _ = hit[1].on_surface(p)
    return np.where(solid.contains(p), 0.0, dist)


def distance_to_solid(solid, points) -> np.ndarray:
    """Distance from each point to a convex solid (0 for points inside or on it).

    Exact for capsules and boxes; for the other solids the shortest ray found by a pattern
    search over directions."""
    from spine.anatomy.solids import Box, Capsule

    p = np.atleast_2d(np.asarray(points, float))
    if isinstance(solid, Capsule):
        return _capsule_distance(solid, p)
    if isinstance(solid, Box):
        return _box_distance(solid, p)
    if hasattr(solid, "distance"):  # a solid that knows its exact distance (a curved tube)
        return solid.distance(p)
    if hasattr(solid, "faces") and hasattr(solid, "vertices"):  # a closed mesh (a rib, a disc)
        return _mesh_distance(solid, p)
    inside = solid.contains(p)
    u = _unit_rows(np.asarray(solid.center, float)[None, :] - p)
    best = _entry(solid, p, u)
    missed = ~np.isfinite(best) & ~inside
    if missed.any():  # the centre direction grazed past: start from the best of many
        q = p[missed]
        vals = _entry(solid, np.repeat(q, len(_SPHERE), axis=0), np.tile(_SPHERE, (len(q), 1))).reshape(len(q), -1)
        k = np.argmin(vals, axis=1)
        u[missed] = _SPHERE[k]
        best[missed] = vals[np.arange(len(q)), k]
    out = np.zeros(len(p))
    todo = ~inside
    if todo.any():
        d, _ = _pattern_search(lambda a, b: _entry(solid, a, b), p[todo], u[todo], best[todo])
        out[todo] = d
    return out


def depth_inside(solid, point) -> float:
    """Distance from an inside point to the solid's surface; negative distance if outside."""
    p = np.asarray(point, float).reshape(1, 3)
    if not bool(solid.contains(p)[0]):
        return -float(distance_to_solid(solid, p)[0])
    vals = _exit(solid, np.repeat(p, len(_SPHERE), axis=0), _SPHERE)
    order = np.argsort(vals)[:4]
    starts = _SPHERE[order]
    d, _ = _pattern_search(
        lambda a, b: _exit(solid, a, b), np.repeat(p, len(starts), axis=0), starts.copy(), vals[order], step0=0.25
    )
    return float(np.min(d))


def bbox_distance(solid, p0, p1, pad: float = 1.0) -> float:
    """A lower bound of the segment's distance to the solid: distance to its padded box."""
    lo, hi = solid.bounding_box()
    lo, hi = lo - pad, hi + pad
    ts = np.linspace(0.0, 1.0, 24)
    pts = np.asarray(p0, float) + ts[:, None] * (np.asarray(p1, float) - np.asarray(p0, float))
    d = np.maximum(np.maximum(lo - pts, pts - hi), 0.0)
    return float(np.min(np.linalg.norm(d, axis=1)))


def segment_clearance(solid, p0, p1, spacing: float = 3.0) -> tuple[float, np.ndarray]:
    """(clearance, closest point on the segment): the smallest distance from the segment to
    the solid's surface; if the segment enters the solid, minus the length inside."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    inside_len = solid.segment_inside_length(p0, p1)
    length = float(np.linalg.norm(p1 - p0))
    if inside_len > 1e-9:
        d = (p1 - p0) / max(length, 1e-12)
        t0, _ = solid.ray_interval(p0, d[None, :])
        where = p0 + d * float(np.clip(t0[0], 0.0, length))
        return -inside_len, where
    n = max(6, int(np.ceil(length / spacing)) + 1)
    ts = np.linspace(0.0, 1.0, n)
    pts = p0 + ts[:, None] * (p1 - p0)
    dist = distance_to_solid(solid, pts)
    k = int(np.argmin(dist))
    lo, hi = ts[max(k - 1, 0)], ts[min(k + 1, n - 1)]
    fine = np.linspace(lo, hi, 13)
    fpts = p0 + fine[:, None] * (p1 - p0)
    fd = distance_to_solid(solid, fpts)
    j = int(np.argmin(fd))
    if fd[j] < dist[k]:
        return float(fd[j]), fpts[j]
    return float(dist[k]), pts[k]


def path_clearance(solid, segments, near_mm: float = 12.0) -> tuple[float, bool]:
    """(clearance over all segments, exact?): segments farther than ``near_mm`` by their
    bounding box get the box distance (a lower bound), the others the exact clearance."""
    best, exact = np.inf, True
    for p0, p1 in segments:
        lb = bbox_distance(solid, p0, p1)
        if lb > near_mm:
            if lb < best:
                best, exact = lb, False
            continue
        c, _ = segment_clearance(solid, p0, p1)
        if c < best:
            best, exact = c, True
    return float(best), exact


# -- the checks ---------------------------------------------------------------------------------


def _family(name: str) -> str:
    """Group structure names into what a check talks about."""
    parts = name.split(".")
    kind = parts[0]
    if kind == "dural_sac":
        return "dural sac"
    if kind in ("cord", "conus"):
        return "spinal cord"
    if kind == "cauda_equina":
        return "cauda equina"
    if kind == "root":
        return f"{parts[1]} root ({parts[2]})"
    if kind == "vertebral_artery":
        return f"vertebral artery zone ({parts[2] if len(parts) > 2 else ''})".replace(" ()", "")
    if kind == "disc":
        return f"{parts[1]} disc"
    if len(parts) == 3 and parts[1] == "pleura":
        return f"pleura ({parts[2]})"
    return name


#: how near (mm, by bounding box) a rib or the pleura must come to a needle path to be checked
RIB_REACH_MM = 15.0


def is_rib(structure) -> bool:
    """A rib's bone (head, neck and the start of its shaft beside a thoracic vertebra)."""
    return structure.name.endswith((".rib.left", ".rib.right"))


def thoracic_hazards(model, segments, known=frozenset()) -> tuple[list[str], list[str]]:
    """(pleura zones, ribs) near a needle path, whatever the plan lists: a thoracic needle must
    pass neither through a rib nor in front of it into the pleura (pneumothorax). Names of
    model structures not already in ``known``."""
    pts = np.concatenate([np.linspace(np.asarray(a, float), np.asarray(b, float), 8) for a, b in segments])
    lo_p, hi_p = pts.min(axis=0) - RIB_REACH_MM, pts.max(axis=0) + RIB_REACH_MM
    avoid: list[str] = []
    bones: list[str] = []
    for st in model.structures(kinds=["pleura", "bone_surface"]):
        if st.name in known or not (st.kind == "pleura" or is_rib(st)):
            continue
        lo, hi = st.solid.bounding_box()
        if np.any(hi < lo_p) or np.any(lo > hi_p):
            continue
        if all(bbox_distance(st.solid, a, b, pad=RIB_REACH_MM) > 0 for a, b in segments):
            continue
        (avoid if st.kind == "pleura" else bones).append(st.name)
    return avoid, bones


def validate(plan, model=None) -> list[Check]:
    """Every check of every needle of ``plan`` (see the module doc)."""
    from spine.procedures.geometry import get_model

    model = model if model is not None else get_model()
    checks: list[Check] = []
    for needle in plan.needles:
        checks.extend(_needle_checks(plan, needle, model))
    checks.extend(plan.extra_checks)
    return checks


def _needle_checks(plan, needle, model) -> list[Check]:
    prefix = f"{needle.label}: " if len(plan.needles) > 1 else ""
    out: list[Check] = []
    if needle.target_region is not None:
        depth = depth_inside(needle.target_region, needle.end)
        what = "lead tip" if needle.lead else "tip"
        out.append(
            Check(
                f"{prefix}{what} in target ({needle.target})",
                depth >= 0,
                depth,
                0.0,
                "mm",
                f"depth of the {what} inside the {needle.target} region at {needle.target_level}",
            )
        )
    segments = needle.segments()
    rib_avoid, rib_bones = thoracic_hazards(model, segments, set(needle.avoid) | set(needle.bones))
    by_family: dict[str, list[float]] = {}
    for name in list(needle.avoid) + rib_avoid:
        st = model.structure(name)
        clearance, exact = path_clearance(st.solid, segments)
        by_family.setdefault(_family(name), []).append(clearance if exact else clearance + 0.0)
    for family, values in by_family.items():
        worst = float(min(values))
        out.append(
            Check(
                f"{prefix}clear of {family}",
                worst > 0.0,
                worst,
                0.0,
                "mm",
                "smallest distance from the needle path (every stop) to its surface",
            )
        )
    inside_bone, names = 0.0, []
    for name in list(needle.bones) + rib_bones:
        st = model.structure(name)
        total = 0.0
        for p0, p1 in segments:
            if name in needle.through_bone:
                continue
            total = max(total, st.solid.segment_inside_length(p0, p1))
        if total > 1e-6:
            names.append(f"{name} {total:.2f} mm")
        inside_bone = max(inside_bone, total)
    out.append(
        Check(
            f"{prefix}no bone in the way",
            inside_bone <= BONE_GRAZE_MM,
            inside_bone,
            BONE_GRAZE_MM,
            "mm",
            "deepest pass through bone" + (f": {', '.join(names)}" if names else " (none)"),
        )
    )
    length = needle.length()
    limit = plan.needle_length_mm - LENGTH_RESERVE_MM
    out.append(
        Check(
            f"{prefix}needle reaches the target",
            length <= limit,
            length,
            limit,
            "mm",
            f"skin to tip along the needle; a {plan.needle_length_mm:g} mm needle",
        )
    )
    out.extend(
        c if not prefix else Check(prefix + c.name, c.passed, c.value, c.limit, c.unit, c.detail)
        for c in _technique_checks(plan, needle, model)
    )
    return out


# -- technique rules --------------------------------------------------------------------------------


def _technique_checks(plan, needle, model) -> list[Check]:
    from spine.procedures.catalog import load_procedures

    tech = load_procedures()[plan.procedure].technique_for(plan.level)
    out: list[Check] = []
    out.extend(_angle_checks(plan, needle, model, tech))
    approach = tech.approach
    if approach.startswith("interlaminar") or approach == "epidural_lead":
        out.append(_ligamentum_flavum_check(plan, needle, model))
    if approach == "epidural_lead":
        out.extend(_lead_checks(plan, needle, model, tech))
    if approach == "caudal_hiatus":
        out.append(_below_s3_check(needle, model))
    if approach == "transpedicular":
        out.append(_medial_wall_check(plan, needle, model))
    if approach == "rf_parallel":
        out.append(_lesion_check(plan, needle, model, tech))
    return out


def _deg(u, v) -> float:
    u = np.asarray(u, float) / np.linalg.norm(u)
    v = np.asarray(v, float) / np.linalg.norm(v)
    return float(np.degrees(np.arccos(np.clip(u @ v, -1.0, 1.0))))


def _angle_checks(plan, needle, model, tech) -> list[Check]:
    from spine.procedures.geometry import SIGN, carm_angles, level_frame

    out: list[Check] = []
    approach = tech.approach
    view = next((v for v in tech.views if v.coaxial), None)
    rng = tech.angles.oblique_deg or (view.oblique_range if view is not None else None)
    coaxial = approach not in ("rf_parallel", "epidural_lead", "interlaminar_paramedian", "caudal_hiatus")
    if rng is not None and coaxial and not (view is not None and view.view == "lateral"):
        kind = view.side if view is not None and view.side else "ipsi"
        toward = plan.side if kind == "ipsi" else ("left" if plan.side == "right" else "right")
        rot, _ = carm_angles(-needle.direction())
        oblique = rot * SIGN[toward]
        word = "ipsilateral" if kind == "ipsi" else "contralateral"
        out.append(
            Check(
                "oblique angle",
                rng[0] - 1e-6 <= oblique <= rng[1] + 1e-6,
                oblique,
                tuple(rng),
                "deg",
                f"{word} obliquity of the view straight down the needle ({rng[0]:g}-{rng[1]:g} deg for this "
                f"technique in its data file)",
            )
        )
    if approach == "caudal_hiatus":
        o5, r5 = model.vertebra_frame("S5")
        lig = next(w.point for w in needle.waypoints if w.kind == "sacrococcygeal_ligament")
        first = _deg(needle.entry - lig, -r5[:, 2])
        final = _deg(needle.entry - needle.tip, -r5[:, 2])
        lim = float(tech.angles.entry_max_deg)
        why = (
            "angle of the needle to the sacral canal as it pierces the sacrococcygeal ligament "
            "(clinical.md 3.3: about 45 deg or flatter)"
        )
        out.append(_angle_at_most("entry angle through the ligament", first, lim, why))
        why = "angle of the final needle to the canal: flatter than at entry"
        out.append(_angle_at_most("needle flattened in the canal", final, first, why))
    if approach == "epidural_lead":
        o, r = level_frame(model, plan.level)
        ang = _deg(needle.entry - needle.tip, -r[:, 2])
        lim = float(tech.angles.entry_max_deg)
        why = "a shallow paramedian entry for the lead (clinical.md 3.10; limit [unverified])"
        out.append(_angle_at_most("needle angle to the spinal canal", ang, lim, why))
    if approach == "rf_parallel" and tech.nerve_course is not None:
        from spine.procedures.geometry import nerve_axis_for

        axis = nerve_axis_for(model, tech, needle.target_level, plan.side)
        ang = _deg(-needle.direction(), axis)
        lim = float(tech.angles.parallel_max_deg)
        why = (
            "angle between the cannula and the nerve's course in the groove (nerve_course in the "
            "data file; clinical.md 3.6: a perpendicular cannula can miss the nerve)"
        )
        out.append(_angle_at_most("cannula parallel to the nerve", ang, lim, why))
    if needle.bend is not None:
        from spine.procedures.geometry import DISC_BEND_MAX_DEG

        turn = _deg(needle.bend - needle.entry, needle.tip - needle.bend)
        why = "turn of the curved inner needle out of the guide needle [unverified]"
        out.append(_angle_at_most("curved inner needle bend", turn, DISC_BEND_MAX_DEG, why, slack=0.0))
    return out


def _angle_at_most(name: str, angle: float, limit: float, detail: str, slack: float = 1e-6) -> Check:
    """The check that an angle (deg) is at most ``limit`` (``slack`` for rounding)."""
    return Check(name, angle <= limit + slack, angle, (0.0, limit), "deg", detail)


def _ligamentum_flavum_check(plan, needle, model) -> Check:
    from spine.anatomy.levels import parse_level

    total = sum(
        model.structure(f"{plan.level}.ligamentum_flavum.{s}").solid.segment_inside_length(needle.entry, needle.tip)
        for s in ("left", "right")
    )
    neck = parse_level(plan.level).region == "cervical"
    # clinical.md 1: the ligament may have midline gaps in the neck (loss of resistance unreliable)
    return Check(
        "needle passes through the ligamentum flavum",
        total > 0.0 or neck,
        total,
        0.0,
        "mm",
        "length of the needle inside the ligamentum flavum (where resistance is lost)"
        + ("; in the neck it may have a midline gap" if neck else ""),
    )


def _lead_checks(plan, needle, model, tech) -> list[Check]:
    from spine.anatomy.levels import VERTEBRAE

    pieces = model.structures(kinds=["epidural_space"])
    pts = np.array([a + s * (b - a) for a, b in zip(needle.lead, needle.lead[1:]) for s in np.linspace(0, 1, 6)[1:]])
    inside = np.zeros(len(pts), bool)
    for st in pieces:
        inside |= st.solid.contains(pts)
    frac = float(inside.mean()) * 100.0
    lo, hi = tech.lead_tip
    end = needle.lead[-1][None]
    at = [st.level for st in pieces if st.solid.contains(end)[0]]
    ok_levels = VERTEBRAE[VERTEBRAE.index(lo) : VERTEBRAE.index(hi) + 1]
    where = at[0] if at else "outside the epidural space"
    region = model.landmark_region(plan.level, "spinolaminar_line")
    depth = depth_inside(region, needle.tip)
    return [
        Check(
            "lead stays in the dorsal epidural space",
            frac >= 100.0,
            frac,
            100.0,
            "%",
            "share of points along the lead inside the model's dorsal epidural space (outside the dura)",
        ),
        Check(
            f"lead tip within {lo}-{hi}",
            bool(at) and at[0] in ok_levels,
            float(bool(at) and at[0] in ok_levels),
            1.0,
            "",
            f"the lead tip lies in the epidural space of {where}",
        ),
        Check(
            "Tuohy tip just through the ligamentum flavum",
            depth >= 0,
            depth,
            0.0,
            "mm",
            f"depth of the needle tip inside the spinolaminar_line region at {plan.level}",
        ),
    ]


def _below_s3_check(needle, model) -> Check:
    o, r = model.vertebra_frame("S3")
    bottom = -float(model.structure("S3.body").solid.half_height)
    z = float(((np.asarray(needle.tip) - o) @ r)[2])
    return Check(
        "tip below S3",
        z < bottom,
        bottom - z,
        0.0,
        "mm",
        "distance of the tip below the lower edge of S3 (the dural sac ends S1-S3, clinical.md 3.3)",
    )


def _medial_wall_check(plan, needle, model) -> Check:
    from spine.procedures.geometry import SIGN

    o, r = model.vertebra_frame(plan.level)
    body = model.structure(f"{plan.level}.body").solid
    pedicle = model.structure(f"{plan.level}.pedicle.{plan.side}").solid
    wall_y = float(body.radii[1])
    medial_x = float(np.min(np.abs(((pedicle.surface_points(48) - o) @ r)[:, 0])))
    ts = np.linspace(0.0, 1.0, 400)
    pts = ((needle.tip + ts[:, None] * (needle.entry - needle.tip)) - o) @ r
    behind = pts[:, 1] > wall_y
    margin = float(np.min(pts[behind, 0] * SIGN[plan.side] - medial_x)) if behind.any() else float("inf")
    return Check(
        "medial pedicle wall not crossed before the back wall of the body",
        margin > 0,
        margin,
        0.0,
        "mm",
        "smallest lateral distance of the needle from the medial pedicle wall (as seen on AP) while the "
        "needle is still behind the back wall of the body (clinical.md 3.9)",
    )


def _lesion_check(plan, needle, model, tech) -> Check:
    point = needle.target_point  # where the planner aimed (the nerve at its groove), carried by the plan
    if point is None:
        raise PlanError(f"{needle.label}: the plan carries no target point for its lesion check")
    active = float(tech.needle.active_tip_mm)
    a = -needle.direction()
    v = point - needle.tip
    u = float(np.clip(v @ a, 0.0, active))
    reach = float(np.linalg.norm(v - u * a))
    lesion = float(tech.lesion_radius_mm)
    return Check(
        "nerve within the lesion",
        reach <= lesion,
        lesion - reach,
        0.0,
        "mm",
        f"{needle.target} at {needle.target_level} lies {reach:.2f} mm from the {active:g} mm active tip; "
        f"the lesion reaches ~{lesion:g} mm (clinical.md 3.6: 1-2 mm)",
    )
