"""Medical-illustration images of the spine model, ray-cast from the same meshes and solids
the fluoroscopy traces (numpy + Embree; no Manim).

One primary ray per pixel (2 x 2 per pixel for small images) is cast orthographically along
``-camera.toward``. Bone surfaces (closed meshes) go through one Embree scene; soft tissue
(discs, sac, cord, roots, ligaments: convex solids) is intersected analytically with each
solid's own ``ray_interval``: exact, and no meshing step (the soft-tissue solids are a few
hundred small convex shapes; intersecting them costs less than meshing them once).

What comes out (:class:`IllustrationLayer`): an RGBA image, the depth of the nearest opaque
surface (mm toward the viewer from ``camera.anchor``; ``-inf`` where nothing is hit) and an
object-id buffer (index into ``layer.names``; -1 = background). Shading follows the style
guide's medical illustration: one soft key light from the upper left and front, a faint rim
light, crisp dark outlines where the object, or the depth within one object, jumps.
Structures drawn translucent (the dural sac, epidural fat) tint what lies behind them; they
are in the colour only, never in the depth or id buffers.

Cut-aways (:class:`CutAway`) are part of the render: ``hide`` leaves structures out,
``clip`` removes the volume of named solids (a near pedicle and lamina: the model's placed
parts, slightly enlarged) from everything, and ``plane`` removes the half-space in front of a
plane (for the given structures only, or all): the axial section, a disc or a body opened.
Where a cut opens a solid its cut face is drawn flat in the structure's cut tone.

Camera conventions are :class:`scenes.kit.anatomy_views.SpineView`'s (that module builds
the :class:`Camera` from its own axes), so vector overlays drawn with ``SpineView.project``
land on the pixels of what they name.

Layers are cached in memory and on disk (``<cache>/illustration/<key>.npz``; key = the
model's hash, the camera, the size, the cut-away, the structures and the style), so a needle
step or a second scene never renders the same layer again. Nothing here is random.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from spine import cache_limits, checked_files
from spine.anatomy.mesh import MeshSolid
from spine.anatomy.solids import Solid, Structure

__all__ = [
    "Camera",
    "CutAway",
    "IllustrationStyle",
    "IllustrationLayer",
    "Illustrator",
    "render_layer",
    "default_cache_dir",
    "layer_code_digest",
]


REPO = Path(__file__).resolve().parents[2]
_SOURCE = Path(__file__).resolve()  # its bytes key the cached layers (layer_code_digest)
_EPS = 1e-3  # mm past a cut's end where the next ray starts
_MEMORY: dict[str, "IllustrationLayer"] = {}
_MEMORY_LIMIT = 48


def default_cache_dir() -> Path | None:
    """``SPINE_ILLUSTRATION_CACHE`` (``0`` = no disk cache), else ``<project cache>/illustration``."""
    from spine.settings import settings

    return settings().illustration_dir()


# -- camera ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Camera:
    """An orthographic camera: screen axes ``right`` / ``up`` and ``toward`` the viewer (unit
    vectors, patient mm), the 3D point ``anchor`` at image-plane (0, 0), and the window
    ``(u0, v0, u1, v1)`` in mm along right / up that the ``width`` x ``height`` image covers."""

    right: np.ndarray
    up: np.ndarray
    toward: np.ndarray
    anchor: np.ndarray
    window: tuple[float, float, float, float]
    width: int
    height: int

    @classmethod
    def turned(cls, rotation_deg: float, anchor, window, width: int, height: int) -> "Camera":
        """The view turned about the long axis: 0 = posterior, +90 = from the patient's left
        (lateral), as ``SpineView``'s oblique angle and the C-arm's rotation."""
        t = math.radians(rotation_deg)
        return cls(
            np.array([-math.cos(t), math.sin(t), 0.0]),
            np.array([0.0, 0.0, 1.0]),
            np.array([math.sin(t), math.cos(t), 0.0]),
            np.asarray(anchor, float),
            tuple(window),
            int(width),
            int(height),
        )

    @property
    def pixel_mm(self) -> tuple[float, float]:
        u0, v0, u1, v1 = self.window
        return (u1 - u0) / self.width, (v1 - v0) / self.height

    def key(self) -> dict:
        r = lambda a: [round(float(x), 6) for x in np.ravel(a)]  # noqa: E731
        return {
            "right": r(self.right),
            "up": r(self.up),
            "toward": r(self.toward),
            "anchor": r(self.anchor),
            "window": r(self.window),
            "size": [self.width, self.height],
        }

    def plane_coords(self, points) -> np.ndarray:
        """(u, v, depth) of 3D points: mm along right, up and toward from the anchor."""
        p = np.atleast_2d(np.asarray(points, float)) - self.anchor
        return np.column_stack([p @ self.right, p @ self.up, p @ self.toward])

    def pixel_of(self, points) -> np.ndarray:
        """(col, row) float pixel coordinates of 3D points (pixel centres at .5)."""
        uvd = self.plane_coords(points)
        u0, v0, u1, v1 = self.window
        col = (uvd[:, 0] - u0) / (u1 - u0) * self.width
        row = (v1 - uvd[:, 1]) / (v1 - v0) * self.height
        return np.column_stack([col, row])

    def grid(self, supersample: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) mm of each sample's centre, shape (H*s, W*s)."""
        u0, v0, u1, v1 = self.window
        w, h = self.width * supersample, self.height * supersample
        us = u0 + (np.arange(w) + 0.5) * (u1 - u0) / w
        vs = v1 - (np.arange(h) + 0.5) * (v1 - v0) / h
        return np.meshgrid(us, vs)


# -- what to draw and how ----------------------------------------------------------------------
@dataclass(frozen=True)
class CutAway:
    """What a render leaves out: ``hide`` (structure names), ``clip`` (names of solids whose
    volume, enlarged by ``clip_scale``, is removed from every structure), ``plane`` ((point,
    normal): the half-space on the normal's side is removed) from ``plane_only`` structures
    (names; empty = all)."""

    hide: tuple[str, ...] = ()
    clip: tuple[str, ...] = ()
    clip_scale: float = 1.25
    plane: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    plane_only: tuple[str, ...] = ()

    def key(self) -> dict:
        return {
            "hide": sorted(self.hide),
            "clip": sorted(self.clip),
            "clip_scale": round(self.clip_scale, 4),
            "plane": None if self.plane is None else [[round(float(x), 5) for x in v] for v in self.plane],
            "plane_only": sorted(self.plane_only),
        }

    @property
    def empty(self) -> bool:
        return not (self.hide or self.clip or self.plane is not None)


@dataclass(frozen=True)
class IllustrationStyle:
    """Colours are data (the palette lives in the scenes layer): ``colours`` kind -> '#RRGGBB'
    (``bone`` for every bone kind), ``alpha`` kind -> opacity below 1 for translucent kinds,
    ``highlight`` structure names tinted and ringed with ``accent``. ``depth_fade_mm``: how
    fast what lies behind a section plane fades toward the background (0 = never)."""

    colours: tuple[tuple[str, str], ...]
    bone: str = "#E8DCC4"
    outline: str = "#3A3226"
    background: str = "#101820"
    accent: str = "#56B4E9"
    alpha: tuple[tuple[str, float], ...] = ()
    highlight: tuple[str, ...] = ()
    depth_fade_mm: float = 0.0
    key_light: tuple[float, float, float] = (-0.45, 0.55, 0.70)
    rim: float = 0.22

    def colour_of(self, kind: str, bone_kinds: frozenset[str]) -> np.ndarray:
        table = dict(self.colours)
        hexc = table.get(kind) or (self.bone if kind in bone_kinds else table.get("default", self.bone))
        return _rgb(hexc)

    def alpha_of(self, kind: str) -> float:
        return float(dict(self.alpha).get(kind, 1.0))

    def key(self) -> dict:
        return {
            "colours": sorted(self.colours),
            "bone": self.bone,
            "outline": self.outline,
            "background": self.background,
            "accent": self.accent,
            "alpha": sorted(self.alpha),
            "highlight": sorted(self.highlight),
            "fade": self.depth_fade_mm,
            "light": list(self.key_light),
            "rim": self.rim,
        }


def _rgb(hexc: str) -> np.ndarray:
    return np.array([int(hexc[i : i + 2], 16) for i in (1, 3, 5)], float) / 255.0


@dataclass
class IllustrationLayer:
    """One rendered layer: ``rgba`` (H, W, 4) uint8, ``depth`` (H, W) float32 (mm toward the
    viewer from the camera's anchor, -inf = nothing), ``object_id`` (H, W) int32 (index into
    ``names``, -1 = background), and the ``camera`` it was rendered with."""

    rgba: np.ndarray
    depth: np.ndarray
    object_id: np.ndarray
    names: list[str]
    camera: Camera
    veil_depth: np.ndarray | None = None  # nearest translucent surface in front (the dural sac), -inf = none
    veil_id: np.ndarray | None = None
    seconds: float = 0.0
    from_cache: str = ""  # "", "memory" or "disk"

    def id_of(self, name: str) -> int:
        return self.names.index(name)

    def mask_of(self, name_or_prefix: str) -> np.ndarray:
        """Pixels whose nearest surface is the named structure (or any name starting with
        ``name_or_prefix`` followed by '.')."""
        ids = [i for i, n in enumerate(self.names) if n == name_or_prefix or n.startswith(name_or_prefix + ".")]
        return np.isin(self.object_id, ids)


# -- the renderer ------------------------------------------------------------------------------
class Illustrator:
    """Renders layers of a set of structures (one Embree scene of their meshes, built once)."""

    def __init__(self, structures: Sequence[Structure], bone_kinds: Iterable[str], lookup=None):
        """``lookup``: name -> Structure for solids a cut-away names that are not drawn (the
        placed parts of a bone drawn as one mesh), e.g. ``SpineModel.structure``."""
        self.structures = list(structures)
        self.lookup = lookup
        self.names = [s.name for s in self.structures]
        self.bone_kinds = frozenset(bone_kinds)
        self.mesh_index = [i for i, s in enumerate(self.structures) if isinstance(s.solid, MeshSolid)]
        self.solid_index = [i for i, s in enumerate(self.structures) if not isinstance(s.solid, MeshSolid)]
        self._scene = None
        if self.mesh_index:
            from embreex import rtcore_scene as rtcs
            from embreex.mesh_construction import TriangleMesh

            self._scene = rtcs.EmbreeScene()
            for i in self.mesh_index:
                sol = self.structures[i].solid
                assert isinstance(sol, MeshSolid)
                TriangleMesh(self._scene, np.ascontiguousarray(np.asarray(sol.vertices, np.float32)[sol.faces]))
        boxes = [s.solid.bounding_box() for s in self.structures] or [(np.zeros(3), np.zeros(3))]
        lo = np.min([b[0] for b in boxes], axis=0)
        hi = np.max([b[1] for b in boxes], axis=0)
        self._centre, self._radius = (lo + hi) / 2, float(np.linalg.norm(hi - lo)) / 2 + 20.0

    def __deepcopy__(self, memo) -> "Illustrator":
        return self  # never changes; holds a native Embree scene

    # -- rays ------------------------------------------------------------------------------
    def _start(self, camera: Camera) -> float:
        """Distance in front of the anchor where rays start (in front of everything)."""
        return float((self._centre - camera.anchor) @ camera.toward) + self._radius

    def _cuts(
        self, cut: CutAway, origins, d, structures_by_name, rows_of=None
    ) -> list[tuple[np.ndarray, np.ndarray, set | None]]:
        """Per cut: (t0, t1, the structure indices it applies to or None = all) along each ray."""
        out: list[tuple[np.ndarray, np.ndarray, set | None]] = []
        for name in cut.clip:
            st = structures_by_name.get(name)
            if st is None and self.lookup is not None:
                st = self.lookup(name)
            if st is None:
                continue
            solid = st.solid.scaled(cut.clip_scale)
            t0, t1 = np.full(len(d), np.inf), np.full(len(d), -np.inf)
            rows = rows_of(solid) if rows_of is not None else self._rows_near(solid, origins, d)
            if len(rows):
                t0[rows], t1[rows] = solid.ray_interval(origins[rows], d[rows])
            out.append((t0, t1, None))
        if cut.plane is not None:
            q, n = (np.asarray(x, float) for x in cut.plane)
            n = n / np.linalg.norm(n)
            a = (origins - q) @ n
            b = float(d[0] @ n)
            big = 1e9
            if abs(b) < 1e-12:
                t0 = np.where(a > 0, -big, big)
                t1 = np.where(a > 0, big, -big)
            elif b < 0:
                t0, t1 = np.full(len(a), -big), -a / b
            else:
                t0, t1 = -a / b, np.full(len(a), big)
            only = {i for i, nm in enumerate(self.names) if nm in set(cut.plane_only)} if cut.plane_only else None
            out.append((t0, t1, only))
        return out

    @staticmethod
    def _past_cuts(t, who, cuts, rows=None):
        """Move each t past every cut interval containing it (for structure index ``who``)."""
        t = t.copy()
        moved = np.zeros(len(t), bool)
        for _ in range(4):
            changed = False
            for t0, t1, only in cuts:
                a, b = (t0, t1) if rows is None else (t0[rows], t1[rows])
                inside = (t >= a) & (t < b)
                if only is not None:
                    inside &= np.isin(who, list(only)) if np.ndim(who) else (who in only)
                if inside.any():
                    t = np.where(inside, b + _EPS, t)
                    moved |= inside
                    changed = True
            if not changed:
                break
        return t, moved

    def surfaces(
        self,
        origins: np.ndarray,
        direction: np.ndarray,
        cut: CutAway | None = None,
        translucent: frozenset[str] = frozenset(),
        kinds_only: frozenset[str] | None = None,
        rows_of=None,
    ):
        """Nearest opaque surface along each ray: (t, structure index or -1, normal (N, 3) or
        NaN, cut face?) and the nearest translucent surface (t, index). ``rows_of(solid)``:
        the rays that may meet a solid (an image's pixel rectangle); default: a bound test."""
        n = len(origins)
        d = np.broadcast_to(np.asarray(direction, float), (n, 3))
        cut = cut or CutAway()
        hidden = set(cut.hide)
        by_name = {s.name: s for s in self.structures}
        cuts = self._cuts(cut, origins, d, by_name, rows_of)
        best_t = np.full(n, np.inf)
        best_i = np.full(n, -1, np.int64)
        best_n = np.full((n, 3), np.nan)
        best_cut = np.zeros(n, bool)
        tr_t = np.full(n, np.inf)
        tr_i = np.full(n, -1, np.int64)

        def use(idx: int) -> bool:
            st = self.structures[idx]
            return st.name not in hidden and (kinds_only is None or st.kind in kinds_only)

        # bones: Embree, first hit; a hit inside a cut is cast again from the cut's far end
        if self._scene is not None and any(use(i) for i in self.mesh_index):
            skip = np.array([not use(i) for i in self.mesh_index])
            live = np.arange(n)
            cur = origins.astype(np.float64).copy()
            t_base = np.zeros(n)
            dir32 = np.ascontiguousarray(d.astype(np.float32))
            for _ in range(12):
                if len(live) == 0:
                    break
                res = self._scene.run(np.ascontiguousarray(cur[live].astype(np.float32)), dir32[live], output=1)
                gid = res["geomID"].astype(np.int64)
                hit = gid >= 0
                live, gid = live[hit], gid[hit]
                if len(live) == 0:
                    break
                t = t_base[live] + res["tfar"][hit].astype(np.float64)
                ng = res["Ng"][hit].astype(np.float64)
                entering = np.einsum("ij,ij->i", ng, d[live]) < 0
                who = np.array(self.mesh_index)[gid]
                t_after, moved = self._past_cuts(t, who, cuts, rows=live) if cuts else (t, np.zeros(len(t), bool))
                skipped = skip[gid]
                # an exit hit met first means the ray started inside the mesh: the start is a cut face
                start_inside = ~entering & (t_base[live] > 0) & ~skipped
                done = ~moved & ~skipped & entering
                accept = done | start_inside
                rows = live[accept]
                t_acc = np.where(start_inside[accept], t_base[rows] - _EPS, t[accept])
                nrm = np.where(
                    start_inside[accept][:, None],
                    np.nan,
                    ng[accept] / np.maximum(np.linalg.norm(ng[accept], axis=1, keepdims=True), 1e-12),
                )
                better = t_acc < best_t[rows]
                rows, t_acc, nrm = rows[better], t_acc[better], nrm[better]
                best_t[rows] = t_acc
                best_i[rows] = who[accept][better]
                best_n[rows] = nrm
                best_cut[rows] = start_inside[accept][better]
                # rays to cast again: moved past a cut, or a skipped / exit-only hit
                again = ~accept
                nxt = np.where(moved, t_after, t + _EPS)[again]
                live = live[again]
                t_base[live] = nxt
                cur[live] = origins[live] + d[live] * nxt[:, None]
        # soft tissue and other convex solids: analytic intervals
        for i in self.solid_index:
            st = self.structures[i]
            if not use(i):
                continue
            rows = rows_of(st.solid) if rows_of is not None else self._rows_near(st.solid, origins, d)
            if len(rows) == 0:
                continue
            t0, t1 = st.solid.ray_interval(origins[rows], d[rows])
            ok = t0 < t1
            if not ok.any():
                continue
            rows, t0, t1 = rows[ok], t0[ok], t1[ok]
            if cuts:
                t0c, moved = self._past_cuts(t0, i, cuts, rows=rows)
            else:
                t0c, moved = t0, np.zeros(len(t0), bool)
            vis = t0c < t1
            rows, t0c, moved = rows[vis], t0c[vis], moved[vis]
            if st.kind in translucent:
                nearer = t0c < tr_t[rows]
                tr_t[rows[nearer]] = t0c[nearer]
                tr_i[rows[nearer]] = i
                continue
            # on a shared cut face (a section through a disc) the inner, later solid wins
            nearer = (t0c < best_t[rows]) | (moved & (t0c <= best_t[rows] + 1e-6))
            rows, t0c, moved = rows[nearer], t0c[nearer], moved[nearer]
            best_t[rows] = t0c
            best_i[rows] = i
            best_n[rows] = np.nan
            best_cut[rows] = moved
        return best_t, best_i, best_n, best_cut, tr_t, tr_i

    def _rows_near(self, solid: Solid, origins: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Rays that can meet the solid (inside its bounding sphere's shadow)."""
        lo, hi = solid.bounding_box()
        c = (lo + hi) / 2
        r = float(np.linalg.norm(hi - lo)) / 2 + 1e-6
        rel = c - origins
        along = np.einsum("ij,ij->i", rel, d)
        perp2 = np.einsum("ij,ij->i", rel, rel) - along * along
        return np.flatnonzero(perp2 <= r * r)

    # -- one layer -----------------------------------------------------------------------------
    def render(
        self, camera: Camera, style: IllustrationStyle, cut: CutAway | None = None, supersample: int | None = None
    ) -> IllustrationLayer:
        import time

        start = time.perf_counter()
        ss = supersample or (2 if max(camera.width, camera.height) <= 640 else 1)
        uu, vv = camera.grid(ss)
        h, w = uu.shape
        front = self._start(camera)
        origins = (
            camera.anchor + uu.reshape(-1, 1) * camera.right + vv.reshape(-1, 1) * camera.up + front * camera.toward
        )
        d = -camera.toward
        translucent = frozenset(k for k, a in style.alpha if a < 1.0)
        u0, v0, u1, v1 = camera.window

        def rows_of(solid: Solid) -> np.ndarray:
            lo, hi = solid.bounding_box()
            corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
            uv = camera.plane_coords(corners)
            c0 = int(np.floor((uv[:, 0].min() - u0) / (u1 - u0) * w)) - 1
            c1 = int(np.ceil((uv[:, 0].max() - u0) / (u1 - u0) * w)) + 1
            r0 = int(np.floor((v1 - uv[:, 1].max()) / (v1 - v0) * h)) - 1
            r1 = int(np.ceil((v1 - uv[:, 1].min()) / (v1 - v0) * h)) + 1
            c0, c1, r0, r1 = max(c0, 0), min(c1, w), max(r0, 0), min(r1, h)
            if c0 >= c1 or r0 >= r1:
                return np.zeros(0, np.int64)
            return (np.arange(r0, r1)[:, None] * w + np.arange(c0, c1)[None, :]).ravel()

        t, idx, nrm, cutface, tr_t, tr_i = self.surfaces(origins, d, cut, translucent, rows_of=rows_of)
        depth = np.where(idx >= 0, front - t, -np.inf).reshape(h, w)
        ids = idx.reshape(h, w)
        veil = (tr_i >= 0) & (tr_t <= t + 1e-6)  # in front, or on the same section face
        veil_depth = np.where(veil, front - tr_t, -np.inf).reshape(h, w)
        veil_id = np.where(veil, tr_i, -1).reshape(h, w)
        rgb, alpha = self._shade(
            camera,
            style,
            ss,
            depth,
            ids,
            nrm.reshape(h, w, 3),
            cutface.reshape(h, w),
            (front - tr_t).reshape(h, w),
            tr_i.reshape(h, w),
            cut,
        )
        if ss > 1:
            rgb = rgb.reshape(camera.height, ss, camera.width, ss, 3).mean(axis=(1, 3))
            alpha = alpha.reshape(camera.height, ss, camera.width, ss).mean(axis=(1, 3))
            pick = (slice(ss // 2, None, ss), slice(ss // 2, None, ss))
            depth, ids, veil_depth, veil_id = depth[pick], ids[pick], veil_depth[pick], veil_id[pick]
        rgba = np.dstack([np.clip(rgb, 0, 1), np.clip(alpha, 0, 1)])
        rgba = np.round(rgba * 255).astype(np.uint8)
        return IllustrationLayer(
            rgba,
            depth.astype(np.float32),
            ids.astype(np.int32),
            list(self.names),
            camera,
            veil_depth.astype(np.float32),
            veil_id.astype(np.int32),
            seconds=time.perf_counter() - start,
        )

    def _shade(self, camera, style, ss, depth, ids, ng, cutface, tr_depth, tr_ids, cut):
        """Colour and alpha of each sample; the lighting is computed on the hit samples only."""
        from scipy import ndimage

        h, w = ids.shape
        pu, pv = camera.pixel_mm
        pu, pv = pu / ss, pv / ss
        hit = ids >= 0
        flat = np.flatnonzero(hit)
        ids1 = ids.ravel()[flat]
        # normals in camera coordinates (right, up, toward): meshes from Embree, others from
        # the depth buffer's slope within the same structure
        axes = np.column_stack([camera.right, camera.up, camera.toward])
        n1 = ng.reshape(-1, 3)[flat] @ axes
        slope = np.isnan(n1[:, 0])
        if slope.any():
            dzdu = (_slope(depth, ids, axis=1) / pu).ravel()[flat[slope]]
            dzdv = (-_slope(depth, ids, axis=0) / pv).ravel()[flat[slope]]
            g = np.column_stack([-dzdu, -dzdv, np.ones_like(dzdu)])
            n1[slope] = g / np.linalg.norm(g, axis=1, keepdims=True)
        cut1 = cutface.ravel()[flat]
        n1[cut1] = (0.0, 0.0, 1.0)  # cut faces are flat, facing the viewer
        n1[n1[:, 2] < 0] *= -1  # a back face seen through a cut
        light = np.asarray(style.key_light, float)
        light /= np.linalg.norm(light)
        diffuse = np.clip(n1 @ light, 0.0, 1.0)
        rim = style.rim * (1.0 - np.clip(n1[:, 2], 0.0, 1.0)) ** 3
        table = np.zeros((len(self.structures) + 1, 3))
        for i, st in enumerate(self.structures):
            table[i] = style.colour_of(st.kind, self.bone_kinds)
        base = table[ids1]
        lit1 = base * (0.50 + 0.62 * diffuse[:, None]) + rim[:, None]
        lit1[cut1] = base[cut1] * 0.80  # the cut face in a slightly darker tone, flat
        bg = _rgb(style.background)
        if style.depth_fade_mm > 0 and cut is not None and cut.plane is not None:
            # behind a section plane, things fade toward the background with distance
            q = np.asarray(cut.plane[0], float)
            plane_depth = float((q - camera.anchor) @ camera.toward)
            behind = np.clip((plane_depth - depth.ravel()[flat]) / style.depth_fade_mm, 0.0, 1.0) * ~cut1
            lit1 = lit1 * (1 - 0.6 * behind[:, None]) + bg * 0.6 * behind[:, None]
        # outlines: another structure, or a step in depth within one (the nearer side)
        step = max(2.0, 3.0 * max(pu, pv))
        zz = np.nan_to_num(depth, neginf=-1e9)
        edge = np.zeros((h, w), bool)
        for axis in (0, 1):
            a = np.swapaxes(ids, 0, axis)
            dz = np.swapaxes(zz, 0, axis)
            boundary = (a[1:] != a[:-1]) | (np.abs(dz[1:] - dz[:-1]) > step)
            nearer_first = dz[:-1] >= dz[1:]
            e = np.swapaxes(edge, 0, axis)
            e[:-1] |= boundary & nearer_first
            e[1:] |= boundary & ~nearer_first
        if ss > 1:
            edge = ndimage.binary_dilation(edge, iterations=1)
        e1 = edge.ravel()[flat]
        lit1[e1] = lit1[e1] * 0.35 + _rgb(style.outline) * 0.65
        lit = np.zeros((h * w, 3))
        lit[flat] = lit1
        lit = lit.reshape(h, w, 3)
        alpha = hit.astype(float)
        # translucent structures in front of the opaque surface tint it, with a faint edge
        tr_front = (tr_ids >= 0) & (tr_depth >= depth - 1e-6)
        if tr_front.any():
            a_tab = np.array([style.alpha_of(st.kind) for st in self.structures] + [0.0])
            tf = np.flatnonzero(tr_front)
            tids = tr_ids.ravel()[tf]
            t_alpha = a_tab[tids]
            under = np.where(hit.ravel()[tf, None], lit.reshape(-1, 3)[tf], bg)
            mixed = under * (1 - t_alpha[:, None]) + table[tids] * t_alpha[:, None]
            tr_edge = np.zeros((h, w), bool)
            for axis in (0, 1):
                a = np.swapaxes(np.where(tr_front, tr_ids, -1), 0, axis)
                e = np.swapaxes(tr_edge, 0, axis)
                b = a[1:] != a[:-1]
                e[:-1] |= b & (a[:-1] >= 0)
                e[1:] |= b & (a[1:] >= 0)
            te = tr_edge.ravel()[tf]
            mixed[te] = mixed[te] * 0.5 + table[tids[te]] * 0.5
            t_alpha = np.where(te, np.maximum(t_alpha, 0.9), t_alpha)
            lit.reshape(-1, 3)[tf] = mixed
            alpha.reshape(-1)[tf] = np.maximum(alpha.reshape(-1)[tf], t_alpha)
        # highlighted structures: lightly tinted, an accent line around them and a soft glow
        if style.highlight:
            hl_ids = [i for i, nm in enumerate(self.names) if nm in set(style.highlight)]
            mask = np.isin(ids, hl_ids)
            if mask.any():
                acc = _rgb(style.accent)
                lit[mask] = lit[mask] * 0.9 + acc * 0.1
                sigma = max(1.0, 1.5 / max(pu, pv))  # about 1.5 mm, whatever the layer's size
                glow = ndimage.gaussian_filter(mask.astype(float), sigma) * 1.8
                ring = np.clip(glow, 0, 1) * ~mask
                rim_line = mask & ~ndimage.binary_erosion(mask, iterations=ss)
                lit[rim_line] = acc
                r = ring > 0
                keep = alpha[r] * (1 - ring[r])  # the glow over what is drawn, and over the background
                lit[r] = (lit[r] * keep[:, None] + acc * ring[r][:, None]) / np.maximum(keep + ring[r], 1e-6)[:, None]
                alpha[r] = np.maximum(alpha[r], ring[r] * 0.85)
        return lit, alpha


def _slope(depth: np.ndarray, ids: np.ndarray, axis: int) -> np.ndarray:
    """d depth / d index along an axis, from neighbours of the same structure only."""
    z = np.nan_to_num(depth, neginf=0.0)
    fwd = np.zeros_like(z)
    bwd = np.zeros_like(z)
    okf = np.zeros(z.shape, bool)
    okb = np.zeros(z.shape, bool)
    zs, idm = np.swapaxes(z, 0, axis), np.swapaxes(ids, 0, axis)
    f, b = np.swapaxes(fwd, 0, axis), np.swapaxes(bwd, 0, axis)
    of, ob = np.swapaxes(okf, 0, axis), np.swapaxes(okb, 0, axis)
    same = (idm[1:] == idm[:-1]) & (idm[1:] >= 0)
    f[:-1] = zs[1:] - zs[:-1]
    of[:-1] = same
    b[1:] = zs[1:] - zs[:-1]
    ob[1:] = same
    both = okf & okb
    out = np.where(both, (fwd + bwd) / 2, np.where(okf, fwd, np.where(okb, bwd, 0.0)))
    return np.clip(out, -8.0, 8.0)  # a silhouette's slope is steep but finite


# -- cached entry point --------------------------------------------------------------------------
_ILLUSTRATORS: dict[str, Illustrator] = {}


def illustrator_for(
    model_hash: str, structures: Sequence[Structure], bone_kinds: Iterable[str], lookup=None
) -> Illustrator:
    key = hashlib.sha256((model_hash + "|" + "|".join(s.name for s in structures)).encode()).hexdigest()
    if key not in _ILLUSTRATORS:
        if len(_ILLUSTRATORS) > 16:
            _ILLUSTRATORS.pop(next(iter(_ILLUSTRATORS)))
        _ILLUSTRATORS[key] = Illustrator(structures, bone_kinds, lookup)
    return _ILLUSTRATORS[key]


@functools.lru_cache(maxsize=1)
def layer_code_digest() -> str:
    """sha256 of this module's source: a layer's cache key follows the code that shades it, so an
    edit to the shading or the buffers never serves an old layer and no version number is kept
    by hand (as the mesh keys follow the shape code)."""
    return hashlib.sha256(_SOURCE.read_bytes()).hexdigest()


def layer_key(
    model_hash: str,
    names: Sequence[str],
    camera: Camera,
    style: IllustrationStyle,
    cut: CutAway | None,
    supersample: int | None,
) -> str:
    payload = {
        "code": layer_code_digest(),
        "model": model_hash,
        "names": list(names),
        "camera": camera.key(),
        "style": style.key(),
        "cut": (cut or CutAway()).key(),
        "ss": supersample,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def render_layer(
    model_hash: str,
    structures: Sequence[Structure],
    bone_kinds: Iterable[str],
    camera: Camera,
    style: IllustrationStyle,
    cut: CutAway | None = None,
    supersample: int | None = None,
    cache_dir: Path | str | None | bool = None,
    lookup=None,
) -> IllustrationLayer:
    """A layer from memory, then disk, else rendered (and kept in both). ``cache_dir=False``:
    no disk cache; ``None``: :func:`default_cache_dir`."""
    names = [s.name for s in structures]
    key = layer_key(model_hash, names, camera, style, cut, supersample)
    if key in _MEMORY:
        hit = _MEMORY[key]
        return IllustrationLayer(
            hit.rgba, hit.depth, hit.object_id, hit.names, camera, hit.veil_depth, hit.veil_id, 0.0, "memory"
        )
    directory = (
        None
        if cache_dir is False
        else Path(cache_dir)
        if isinstance(cache_dir, (str, Path)) and cache_dir
        else default_cache_dir()
    )
    layer = _load(directory, key, camera) if directory else None
    if layer is None:
        layer = illustrator_for(model_hash, structures, bone_kinds, lookup).render(camera, style, cut, supersample)
        if directory:
            _store(directory, key, layer)
    if len(_MEMORY) >= _MEMORY_LIMIT:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = layer
    return layer


def _load(directory: Path, key: str, camera: Camera) -> IllustrationLayer | None:
    path = directory / f"{key}.npz"
    if not checked_files.verify(path):
        return None
    try:
        cache_limits.mark_used(path)  # kept over the layers not read lately when the folder is pruned
        with np.load(path, allow_pickle=False) as z:
            names = json.loads(str(z["names"]))
            return IllustrationLayer(
                z["rgba"], z["depth"], z["object_id"], names, camera, z["veil_depth"], z["veil_id"], 0.0, "disk"
            )
    except (OSError, ValueError, KeyError) as exc:
        checked_files.discard(path, f"unreadable: {type(exc).__name__}")
        return None


def _store(directory: Path, key: str, layer: IllustrationLayer) -> None:
    assert layer.veil_depth is not None and layer.veil_id is not None  # a rendered layer has both
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        rgba=layer.rgba,
        depth=layer.depth,
        object_id=layer.object_id,
        veil_depth=layer.veil_depth,
        veil_id=layer.veil_id,
        names=np.array(json.dumps(layer.names)),
    )
    path = checked_files.write_entry(directory / f"{key}.npz", buf.getvalue())
    from spine.settings import settings

    cache_limits.added(directory, "*.npz", path, settings().illustration_cache_limit)  # least recently used go


# -- the needle against the layer -------------------------------------------------------------
def occlusion(
    illustrator: Illustrator,
    camera: Camera,
    points: np.ndarray,
    cut: CutAway | None = None,
    kinds_only: frozenset[str] | None = None,
    tolerance_mm: float = 0.3,
    translucent: frozenset[str] = frozenset(),
) -> np.ndarray:
    """For each 3D point: is a surface drawn between it and the viewer (a ray cast from the
    point toward the viewer, through the same cut-away)? ``kinds_only``: only these kinds hide
    it; ``translucent`` kinds (drawn see-through) hide it too: it shows through them faded."""
    p = np.atleast_2d(np.asarray(points, float))
    front = illustrator._start(camera)
    depth = (p - camera.anchor) @ camera.toward
    origins = p + (front - depth)[:, None] * camera.toward
    t, idx, _n, _c, tr_t, tr_i = illustrator.surfaces(origins, -camera.toward, cut, translucent, kinds_only)
    limit = (front - depth) - tolerance_mm
    return ((idx >= 0) & (t < limit)) | ((tr_i >= 0) & (tr_t < limit))


def split_by_occlusion(points: np.ndarray, hidden: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Runs of consecutive samples: (first point, last point, in front?) along a polyline."""
    out = []
    start = 0
    for i in range(1, len(points) + 1):
        if i == len(points) or hidden[i] != hidden[start]:
            end = min(i, len(points) - 1)
            out.append((points[start].copy(), points[end].copy(), not bool(hidden[start])))
            start = i
    return out
