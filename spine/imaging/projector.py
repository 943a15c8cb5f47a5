"""Cone-beam projection of the anatomy: one line integral of attenuation per detector pixel.

Each detector pixel receives ``I = I0 * exp(-sum_k mu_k * L_k)`` (Beer-Lambert), where
``L_k`` is the length of the ray from the x-ray source to that pixel inside structure ``k``.
This module computes ``sum_k mu_k * L_k`` (the *line integral*, dimensionless); the detector
(:mod:`spine.imaging.detector`) turns it into counts, noise and grey levels.

Bones are closed triangle meshes (:mod:`spine.anatomy.surfaces`): every mesh in the
field goes into one Embree scene and each pixel's ray is traced through all of them at
once, re-cast past each hit; the chord inside each mesh is the sum of its entry/exit
intervals (:class:`~spine.anatomy.mesh.RayScene`). A bone is its outer surface (cortical
attenuation) plus its core surface 1 mm inside (cancellous minus cortical), so a cortex
seen edge-on -- the pedicle's ring, the endplates, the back wall of the body -- is a long
chord through dense bone and shows as a line, as on a radiograph. The cancellous bone has a
fine trabecular texture: its attenuation varies by a seeded sum of plane waves (feature
size ~1-2 mm) sampled where the ray crosses the isocentre's plane, so the grain belongs to
the anatomy, not to the screen.

Other solids: **analytic chords, not voxels.** Every structure of the anatomy model is a convex
solid with an exact, vectorised ``ray_interval``, so for each solid we
(1) project its surface points to the detector and take the pixel rectangle they cover
(plus a small margin; for capsules -- needles, roots, contrast streaks -- only the pixels
within the projected radius of the projected axis), (2) build the rays of those pixels
only, and (3) add ``mu * chord`` there. Cost is proportional to the projected area of each
solid, not to (pixels x solids). A voxel grid fine enough for a 0.7 mm needle or a 1.5 mm
cortical shell (~0.25 mm voxels over a 140 mm field = 560^3 = 175 M voxels) would cost
seconds to build and ~1 GB per level, and would blur exactly the edges a clinician reads
(cortical outlines of the pedicle "eye", the needle tip); the analytic chords are exact at
any resolution and took ~0.2 s for a 1024^2 lumbar frame when measured (bench/fluoro.py).

Attenuation is expressed **relative to soft tissue**: the body outline (kind
``body_outline``) is soft tissue, and every structure inside it adds only its excess
``mu - mu_soft`` over the soft tissue it displaces, so nothing is counted twice and soft
tissue structures inside the body (ligaments, muscle) are, as on a real radiograph,
invisible. A bone structure with ``shell_mm > 0`` is a cortical shell around a cancellous
core (:meth:`Structure.core`): ``(mu_cort - mu_soft) L_outer + (mu_canc - mu_cort) L_core``.

Linear attenuation coefficients (per mm) are for ~50 keV, the effective energy of a
70-80 kVp fluoroscopy beam, from the NIST XCOM / ICRU-44 mass attenuation coefficients
times density: water 0.227 cm^2/g; ICRU soft tissue 0.224 cm^2/g x 1.06 g/cm^3; cortical
bone 0.424 cm^2/g x 1.92 g/cm^3; cancellous bone of a lumbar body (trabeculae + marrow: ICRU-44
spongiosa, 1.18 g/cm^3, ~0.31 cm^2/g: its calcium fraction is about a third of cortical bone's).
With it a lateral ray through both pedicles (four cortical walls) meets at least as much bone
as one through the body, so on a lateral the pedicles and facets read as dense as the bodies and the
foramen between them as a bright keyhole, and on AP the pedicles' cortical rims (the owl's
eyes) stand out of the body as on a radiograph (a denser body hid them); iron
1.96 cm^2/g x 7.87 g/cm^3; iodine 12.3 cm^2/g x 0.2 g/mL (contrast of 300 mgI/mL diluted
by the tissue fluid it spreads into) plus the water it is dissolved in.
"""

from __future__ import annotations

import os
from typing import Any
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from spine.anatomy.mesh import MeshSolid, RayScene
from spine.anatomy.shapes import Tube, _capsule_interval
from spine.anatomy.solids import Capsule, Ellipsoid, Material, Structure, _quadratic_interval
from spine.anatomy.surfaces import drawn_structures

from .carm import CArmPose

__all__ = ["MU_PER_MM", "BODY_KINDS", "Projector", "excess_mu"]

MU_PER_MM: dict[Material, float] = {
    Material.SOFT_TISSUE: 0.0238,
    Material.NEURAL: 0.0227,  # CSF / nerve: water-like
    Material.DISC: 0.0250,  # fibrocartilage, ~1.1 g/cm^3
    Material.CANCELLOUS_BONE: 0.0370,
    Material.CORTICAL_BONE: 0.0814,
    Material.STEEL: 1.54,
    Material.CONTRAST: 0.246 + 0.0227,
}

#: structure kinds that are the body itself (full soft-tissue attenuation, not an excess)
BODY_KINDS = frozenset({"body_outline", "skin", "torso"})

_SURFACE_SAMPLES = 20
#: trabecular texture: relative variation of the cancellous attenuation, and its seed
TRABECULAR_AMPLITUDE = 0.2
TRABECULAR_SEED = 13
#: largest image traced ray by ray through the bone meshes (bigger ones: half grid, interpolated)
MESH_FULL_RES = 640
_WORKERS = max(1, min(4, os.cpu_count() or 1))


#: Embree scenes of the last few mesh sets (building one, its BVH, costs ~0.2-0.5 s; the frames
#: of a C-arm turn or of a needle's advance trace the same bones again and again)
_SCENES: "dict[tuple, RayScene]" = {}
_SCENES_KEPT = 4


def _scene_for(meshes: list, keys: list[str]) -> RayScene:
    """One Embree scene of these meshes, reused while the same meshes (by fingerprint) are traced."""
    key = tuple(keys)
    scene = _SCENES.pop(key, None)
    if scene is None:
        scene = RayScene(meshes)
    _SCENES[key] = scene  # most recently used last
    while len(_SCENES) > _SCENES_KEPT:
        _SCENES.pop(next(iter(_SCENES)))
    return scene


def trabecular_texture(points: np.ndarray, seed: int = TRABECULAR_SEED) -> np.ndarray:
    """A fixed, seeded 3D texture in [-1, 1] with 1-2 mm features (sum of plane waves,
    sharpened so it reads as a mesh of plates and rods rather than as smooth noise)."""
    rng = np.random.default_rng(seed)
    n = 12
    k = rng.normal(size=(n, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    k *= (2 * np.pi / rng.uniform(1.2, 2.6, size=n))[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=n)
    arg = np.asarray(points, np.float32) @ k.T.astype(np.float32) + phase.astype(np.float32)
    wave = np.cos(arg).sum(axis=1) / np.float32(np.sqrt(n / 2))
    return np.tanh(1.5 * wave)


def excess_mu(material: Material) -> float:
    """Attenuation of ``material`` over the soft tissue it displaces (per mm)."""
    return MU_PER_MM[Material(material)] - MU_PER_MM[Material.SOFT_TISSUE]


def cancellous_excess(structure: Structure) -> float:
    """Attenuation of the structure's cancellous bone over soft tissue (per mm): a lumbar body's
    times the structure's ``cancellous_density`` (the sacrum's is sparser, see surfaces.py)."""
    return (MU_PER_MM[Material.CANCELLOUS_BONE] - MU_PER_MM[Material.SOFT_TISSUE]) * structure.cancellous_density


def _terms(structure: Structure) -> list[tuple[Any, float]]:
    """(solid, mu) pairs whose chords add up to the structure's line integral."""
    if structure.kind in BODY_KINDS and structure.material == Material.SOFT_TISSUE:
        return [(structure.solid, MU_PER_MM[Material.SOFT_TISSUE])]
    mat = Material(structure.material)
    mu = excess_mu(mat)
    if mat in (Material.CORTICAL_BONE, Material.CANCELLOUS_BONE) and structure.shell_mm > 0:
        core = structure.core()
        mu_core = cancellous_excess(structure) + MU_PER_MM[Material.SOFT_TISSUE] - MU_PER_MM[Material.CORTICAL_BONE]
        cortical = MU_PER_MM[Material.CORTICAL_BONE] - MU_PER_MM[Material.SOFT_TISSUE]
        return [(structure.solid, cortical), (core, mu_core)]
    if abs(mu) < 1e-9:
        return []
    return [(structure.solid, mu)]


class Projector:
    """Line integrals for one pose and image size (square, ``size`` x ``size`` pixels)."""

    def __init__(self, pose: CArmPose, size: int):
        if size < 8:
            raise ValueError(f"image size must be at least 8 px, got {size}")
        self.pose = pose
        self.size = int(size)
        self._source = pose.source
        rot = pose.rotation_matrix
        self._rot = rot
        self._u, self._v = rot[:, 0], rot[:, 1]
        self._beam = rot[:, 2]
        self._pitch = pose.pixel_pitch(self.size)
        # the pose's geometry, computed once (the pose recomputes its rotation on every call)
        self._base = pose.detector_centre - self._source
        self._sid = float(pose.sid_mm)

    # -- geometry ---------------------------------------------------------------------------
    def project(self, points) -> np.ndarray:
        """(N, 2) pixel coordinates (col, row) of 3D points (as :meth:`CArmPose.project`)."""
        p = np.atleast_2d(np.asarray(points, dtype=float))
        w = (p - self._source) @ self._rot  # (u, v, depth) relative to the source
        depth = w[:, 2]
        scale = self._sid / np.where(np.abs(depth) < 1e-9, 1e-9, depth) / self._pitch
        return np.column_stack([w[:, 0] * scale + self.size / 2 - 0.5, -w[:, 1] * scale + self.size / 2 - 0.5])

    def _rect_around(self, lo, hi) -> tuple[int, int, int, int] | None:
        """Rows/cols (r0, r1, c0, c1), end exclusive, of the (col, row) box ``lo``-``hi`` with a
        margin of 2 px and 4 %, clipped to the image; None if nothing of it is on the image."""
        margin = 2.0 + 0.04 * (hi - lo)
        c0, r0 = np.floor(lo - margin).astype(int)
        c1, r1 = np.ceil(hi + margin).astype(int) + 1
        c0, r0 = max(c0, 0), max(r0, 0)
        c1, r1 = min(c1, self.size), min(r1, self.size)
        if c0 >= c1 or r0 >= r1:
            return None
        return r0, r1, c0, c1

    def _pixel_rect(self, solid) -> tuple[int, int, int, int] | None:
        """Rows/cols (r0, r1, c0, c1), end exclusive, that the solid may cover; None if none."""
        pts = solid.surface_points(_SURFACE_SAMPLES)
        depth = (pts - self._source) @ self._beam
        if np.any(depth <= 1.0):
            # part of the solid is behind the source plane: fall back to the whole image
            return 0, self.size, 0, self.size
        uv = self.project(pts)
        lo, hi = uv.min(axis=0), uv.max(axis=0)
        return self._rect_around(lo, hi)

    def _capsule_mask(self, solid: Capsule, rows, cols, sub_offsets) -> np.ndarray:
        """Pixels of the block that lie within the capsule's projected radius (+ margin)."""
        p0, p1 = solid.endpoints
        ends = self.project(np.stack([p0, p1]))
        depth = (np.stack([p0, p1]) - self._source) @ self._beam
        r_px = solid.radius * self.pose.sid_mm / depth.min() / self._pitch + 1.5 + np.abs(sub_offsets).max()
        a, b = ends
        ab = b - a
        cc, rr = np.meshgrid(cols, rows)
        px = np.stack([cc, rr], axis=-1).astype(float) - a
        denom = float(ab @ ab)
        t = np.clip((px @ ab) / denom, 0.0, 1.0) if denom > 1e-12 else np.zeros(cc.shape)
        dist2 = ((px - t[..., None] * ab) ** 2).sum(axis=-1)
        return dist2 <= r_px * r_px

    def _rays_grid(self, rows, cols, dr, dc) -> np.ndarray:
        """Source-to-pixel vectors (rows*cols, 3) of a pixel block, sub-pixel offset (dr, dc)."""
        uu = (cols + dc + 0.5 - self.size / 2) * self._pitch
        vv = -(rows + dr + 0.5 - self.size / 2) * self._pitch
        base = self._base
        d = (
            base[None, None, :]
            + uu[None, :, None] * self._u[None, None, :]
            + vv[:, None, None] * self._v[None, None, :]
        )
        return d.reshape(-1, 3)

    # -- line integrals -----------------------------------------------------------------------
    def line_integral(
        self, structures: Iterable[Structure], supersample: int = 1, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Sum of mu * chord over ``structures`` per pixel, float32 (size, size).

        ``supersample`` > 1 averages ``s x s`` rays per pixel (anti-aliasing for thin things
        such as a needle at low resolution). With ``out`` the result is added into it.
        """
        structures = drawn_structures(structures)
        meshes = [s for s in structures if isinstance(s.solid, MeshSolid) and s.kind not in BODY_KINDS]
        structures = [s for s in structures if not (isinstance(s.solid, MeshSolid) and s.kind not in BODY_KINDS)]
        mesh_img = self._mesh_line_integral(meshes, supersample) if meshes else None
        # threads pay for a whole anatomy, not for a needle or a contrast pattern's few pieces
        workers = min(_WORKERS, len(structures) // 32) if self.size >= 256 and len(structures) >= 64 else 1
        if workers > 1:
            # numpy releases the GIL in the large array operations: split the solids
            # between threads, each with its own accumulator
            chunks = [structures[k::workers] for k in range(workers)]
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(lambda c: self._accumulate(c, supersample), chunks))
            img = np.sum(parts, axis=0)
        else:
            img = self._accumulate(structures, supersample)
        if mesh_img is not None:
            img += mesh_img
        img = img.astype(np.float32)
        if out is not None:
            out += img
            return out
        return img

    def _ellipsoid_rect(self, e: Ellipsoid) -> tuple[int, int, int, int] | None:
        """:meth:`_pixel_rect` of an ellipsoid from its exact outline: the rows and columns where
        the projected ellipse's tangents run (the dual quadric, projected), not from sampled points."""
        m = (e.rotation * e.radii**2) @ e.rotation.T  # inverse of the ellipsoid's shape matrix
        c = e.center
        if (c - self._source) @ self._beam - np.sqrt(self._beam @ m @ self._beam) <= 1.0:
            return 0, self.size, 0, self.size  # reaches behind the source plane
        f, mid = self._sid / self._pitch, self.size / 2 - 0.5
        k = np.array([[f, 0.0, mid], [0.0, -f, mid], [0.0, 0.0, 1.0]]) @ self._rot.T
        cam = np.hstack([k, -(k @ self._source)[:, None]])
        dual = np.empty((4, 4))
        dual[:3, :3] = m - np.outer(c, c)
        dual[:3, 3] = dual[3, :3] = -c
        dual[3, 3] = -1.0
        conic = cam @ dual @ cam.T
        # tangent lines col = u (and row = v): conic[0,0] - 2 u conic[0,2] + u^2 conic[2,2] = 0
        bounds = []
        for i in (0, 1):
            b, disc = conic[i, 2], conic[i, 2] ** 2 - conic[i, i] * conic[2, 2]
            root = np.sqrt(max(disc, 0.0))
            bounds.append(sorted(((b - root) / conic[2, 2], (b + root) / conic[2, 2])))
        lo = np.array([bounds[0][0], bounds[1][0]])
        hi = np.array([bounds[0][1], bounds[1][1]])
        return self._rect_around(lo, hi)

    def _ellipsoids(self, img: np.ndarray, terms: list, offsets) -> None:
        """Add ``mu * chord`` of many ellipsoids (contrast blobs) into ``img`` in one pass: the
        pixels of every ellipsoid's rectangle are traced together, each against its own ellipsoid."""
        rows, cols, owner = [], [], []
        for k, (e, _mu) in enumerate(terms):
            rect = self._ellipsoid_rect(e)
            if rect is None:
                continue
            r0, r1, c0, c1 = rect
            rr, cc = np.mgrid[r0:r1, c0:c1]
            rows.append(rr.ravel())
            cols.append(cc.ravel())
            owner.append(np.full(rr.size, k))
        if not rows:
            return
        rr, cc, kk = np.concatenate(rows), np.concatenate(cols), np.concatenate(owner)
        # each ellipsoid's frame, scaled to a unit sphere: a ray's direction there is linear in its
        # pixel's (u, v) on the detector, so three vectors per ellipsoid give every ray's
        rot = np.array([e.rotation for e, _ in terms])
        radii = np.array([e.radii for e, _ in terms])
        centre = np.array([e.center for e, _ in terms])
        base = np.einsum("i,kij->kj", self._base, rot) / radii
        along_u = np.einsum("i,kij->kj", self._u, rot) / radii
        along_v = np.einsum("i,kij->kj", self._v, rot) / radii
        o = np.einsum("ki,kij->kj", self._source - centre, rot) / radii
        c = (o * o).sum(axis=1)[kk] - 1.0
        o, base, along_u, along_v = o[kk], base[kk], along_u[kk], along_v[kk]
        mu = np.array([m for _, m in terms])[kk]
        acc = np.zeros(len(rr))
        for dr, dc in offsets:
            uu = (cc + dc + 0.5 - self.size / 2) * self._pitch
            vv = -(rr + dr + 0.5 - self.size / 2) * self._pitch
            dl = base + uu[:, None] * along_u + vv[:, None] * along_v
            t0, t1 = _quadratic_interval((dl * dl).sum(axis=1), (o * dl).sum(axis=1), c)
            # |d| of the world ray: the beam axis (length SID) and the in-plane offset are orthogonal
            length = np.sqrt(self._sid**2 + uu * uu + vv * vv)
            acc += np.maximum(np.minimum(t1, 1.0) - np.maximum(t0, 0.0), 0.0) * length
        flat = np.bincount(rr * self.size + cc, weights=mu * acc / len(offsets), minlength=self.size * self.size)
        img += flat.reshape(self.size, self.size)

    def _accumulate(self, structures: list[Structure], supersample: int) -> np.ndarray:
        img = np.zeros((self.size, self.size), np.float64)
        s = max(1, int(supersample))
        offsets = [((i + 0.5) / s - 0.5, (j + 0.5) / s - 0.5) for i in range(s) for j in range(s)]
        sub = np.array(offsets)
        blobs = [
            (solid, mu)
            for st in structures
            if not (st.kind in BODY_KINDS and self.size > 64)
            for solid, mu in _terms(st)
            if type(solid) is Ellipsoid and solid is st.solid and mu != 0.0
        ]
        if len(blobs) > 1:
            self._ellipsoids(img, blobs, offsets)
        batched = {id(solid) for solid, _ in blobs} if len(blobs) > 1 else set()
        for structure in structures:
            if structure.kind in BODY_KINDS and self.size > 64:
                img += self._smooth_line_integral(structure)
                continue
            for solid, mu in _terms(structure):
                if solid is None or mu == 0.0 or id(solid) in batched:
                    continue
                rect = self._pixel_rect(solid)
                if rect is None:
                    continue
                r0, r1, c0, c1 = rect
                rows, cols = np.arange(r0, r1), np.arange(c0, c1)
                if isinstance(solid, Tube):
                    self._tube(img, solid, mu, rect, offsets, sub)
                    continue
                if isinstance(solid, Capsule):
                    mask = self._capsule_mask(solid, rows, cols, sub)
                    if not mask.any():
                        continue
                    rr, cc = np.nonzero(mask)
                    acc = np.zeros(rr.shape)
                    for dr, dc in offsets:
                        d = self._rays_pts(rr + r0, cc + c0, dr, dc)
                        acc += solid.chord_length(self._source, d, 0.0, 1.0)
                    img[rr + r0, cc + c0] += mu * acc / len(offsets)
                    continue
                acc = np.zeros(len(rows) * len(cols))
                for dr, dc in offsets:
                    d = self._rays_grid(rows, cols, dr, dc)
                    acc += solid.chord_length(self._source, d, 0.0, 1.0)
                img[r0:r1, c0:c1] += mu * acc.reshape(len(rows), len(cols)) / len(offsets)
        return img

    def _tube(self, img: np.ndarray, tube: Tube, mu: float, rect, offsets, sub) -> None:
        """Add ``mu * chord`` of a tube (a nerve root: a chain of capsules) within ``rect``.

        A tube's chord runs from its first entry to its last exit over its segments
        (:meth:`Tube.ray_interval`); each segment is traced only on the pixels within its own
        projected radius (as a capsule is), not on the tube's whole rectangle: a root running
        obliquely across the field covered a rectangle many times its area, every pixel of it
        traced against every segment."""
        r0, r1, c0, c1 = rect
        n = len(offsets)
        keys, los, his = [], [], []  # per traced (pixel, sub-pixel offset): entry and exit
        starts, axes, lengths, radii = tube._segments()
        for a, axis, length, r in zip(starts, axes, lengths, radii):
            seg = Capsule.between(a, a + axis * length, r) if length > 1e-9 else None
            if seg is None:
                rr, cc = np.mgrid[r0:r1, c0:c1]
                rr, cc = rr.ravel(), cc.ravel()
            else:
                # the segment's pixels: its projected axis (on the image or not) grown by its radius
                ends = self.project(np.stack([a, a + axis * length]))
                depth = (np.stack([a, a + axis * length]) - self._source) @ self._beam
                pad = r * self.pose.sid_mm / max(depth.min(), 1.0) / self._pitch + 3.0
                (t0, s0), (t1, s1) = np.floor(ends.min(axis=0) - pad), np.ceil(ends.max(axis=0) + pad) + 1
                s0, s1 = max(int(s0), r0), min(int(s1), r1)
                t0, t1 = max(int(t0), c0), min(int(t1), c1)
                if s0 >= s1 or t0 >= t1:
                    continue
                mask = self._capsule_mask(seg, np.arange(s0, s1), np.arange(t0, t1), sub)
                rr, cc = np.nonzero(mask)
                rr, cc = rr + s0, cc + t0
            if not len(rr):
                continue
            for k, (dr, dc) in enumerate(offsets):
                d = self._rays_pts(rr, cc, dr, dc)
                lo_s, hi_s = _capsule_interval(np.broadcast_to(self._source, d.shape), d, a, axis, length, r)
                hit = lo_s <= hi_s
                keys.append((rr[hit] * self.size + cc[hit]) * n + k)
                los.append(lo_s[hit])
                his.append(hi_s[hit])
        key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        if not len(key):  # no ray meets the tube
            return
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        lo = np.minimum.reduceat(np.concatenate(los)[order], first)
        hi = np.maximum.reduceat(np.concatenate(his)[order], first)
        key = key[first]
        pix, which = key // n, key % n
        rr, cc = pix // self.size, pix % self.size
        sub_r, sub_c = sub[which, 0], sub[which, 1]
        d = self._rays_pts(rr, cc, sub_r, sub_c)
        chord = np.maximum(np.minimum(hi, 1.0) - np.maximum(lo, 0.0), 0.0) * np.linalg.norm(d, axis=1)
        # the keys run pixel by pixel (the offsets of a pixel together): sum each pixel's offsets
        at = np.flatnonzero(np.r_[True, pix[1:] != pix[:-1]])
        flat = img.reshape(-1)  # a view: img is contiguous
        flat[pix[at]] += mu * np.add.reduceat(chord, at) / n

    def _mesh_line_integral(self, structures: list[Structure], supersample: int) -> np.ndarray:
        """Line integral of mesh-backed structures: one Embree scene for all of them.

        Above ``MESH_FULL_RES`` pixels the bone is traced on the half-resolution grid of the
        same field and interpolated (bilinear): a quarter of the rays, and the 1 mm cortex
        is still ~1.5 half-resolution pixels wide at 1024^2, under the detector's blur.
        """
        if self.size > MESH_FULL_RES and supersample <= 1:
            from scipy import ndimage

            half = Projector(self.pose, self.size // 2)._mesh_line_integral(structures, supersample)
            # pixel centres of the full grid on the half grid: (i + 0.5) / 2 - 0.5
            pos = (np.arange(self.size) + 0.5) / 2.0 - 0.5
            rr, cc = np.meshgrid(pos, pos, indexing="ij")
            return ndimage.map_coordinates(half, [rr, cc], order=1, mode="nearest")
        meshes, weights, is_core, core_mu, keys = [], [], [], [], []
        rects = []
        for st in structures:
            for solid, mu in _terms(st):
                if solid is None or mu == 0.0 or not isinstance(solid, MeshSolid):
                    continue
                # every mesh goes into the scene (so the scene is the same for every pose and is
                # reused); only the pixels that some mesh may cover are traced
                rect = self._pixel_rect(solid)
                if rect is not None:
                    rects.append(rect)
                meshes.append((solid.vertices, solid.faces))
                keys.append(solid.fingerprint())
                weights.append(mu)
                own_core = getattr(st.solid, "core", None)  # a mesh with its own cancellous core
                is_core.append(own_core is not None and solid is own_core)
                core_mu.append(cancellous_excess(st))
        img = np.zeros((self.size, self.size))
        if not rects:
            return img
        mask = np.zeros((self.size, self.size), bool)
        for r0, r1, c0, c1 in rects:
            mask[r0:r1, c0:c1] = True
        rr, cc = np.nonzero(mask)
        scene = _scene_for(meshes, keys)
        w = np.asarray(weights, float)
        # the texture varies the cancellous bone's own attenuation (over soft tissue)
        core_w = np.where(is_core, np.asarray(core_mu, float), 0.0)
        s = max(1, int(supersample))
        offsets = [((i + 0.5) / s - 0.5, (j + 0.5) / s - 0.5) for i in range(s) for j in range(s)]
        acc = np.zeros(len(rr))
        bad = np.zeros(len(rr), bool)
        iso = np.asarray(self.pose.isocentre, float)
        # Embree releases the GIL while it traces, so the rays are split between threads (each
        # ray's sums are its own: the image is the same for any number of threads)
        workers = min(_WORKERS, max(1, len(rr) // 20000))
        for dr, dc in offsets:
            d = self._rays_pts(rr, cc, dr, dc)
            norm = np.linalg.norm(d, axis=1)
            unit = d / norm[:, None]
            if workers > 1:
                bounds = np.linspace(0, len(unit), workers + 1).astype(int)
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    got = list(
                        pool.map(
                            lambda ab: scene.chords_split(self._source, unit[ab[0] : ab[1]], w, core_w),
                            zip(bounds[:-1], bounds[1:]),
                        )
                    )
                total, core, doubtful = (np.concatenate([g[k] for g in got]) for k in range(3))
            else:
                total, core, doubtful = scene.chords_split(self._source, unit, w, core_w)
            has = core > 0
            t_iso = unit[has] @ (iso - self._source)
            total[has] += (
                core[has] * TRABECULAR_AMPLITUDE * trabecular_texture(self._source + unit[has] * t_iso[:, None])
            )
            acc += total
            bad |= doubtful
        img[rr, cc] = acc / len(offsets)
        if bad.any():
            # a ray that lost a hit on a mesh edge: take the median of its neighbours
            from scipy import ndimage

            med = ndimage.median_filter(img, size=3)
            img[rr[bad], cc[bad]] = med[rr[bad], cc[bad]]
        return img

    def _smooth_line_integral(self, structure: Structure, stride: int = 8) -> np.ndarray:
        """The body outline's line integral on a coarse grid, bilinearly interpolated.

        The torso is a smooth, large solid whose silhouette lies outside the field, so
        sampling every ``stride``-th pixel loses nothing visible and saves most of the rays.
        """
        from scipy import ndimage

        coarse_idx = np.arange(0, self.size + stride, stride, dtype=float)
        coarse_idx[-1] = self.size - 1
        coarse = np.zeros((len(coarse_idx), len(coarse_idx)))
        for solid, mu in _terms(structure):
            d = self._rays_grid(coarse_idx, coarse_idx, 0.0, 0.0)
            coarse += mu * solid.chord_length(self._source, d, 0.0, 1.0).reshape(coarse.shape)
        # map every pixel index to its fractional position on the coarse grid
        pos = np.interp(np.arange(self.size), coarse_idx, np.arange(len(coarse_idx)))
        rr, cc = np.meshgrid(pos, pos, indexing="ij")
        return ndimage.map_coordinates(coarse, [rr, cc], order=1, mode="nearest")

    def _rays_pts(self, rows, cols, dr, dc) -> np.ndarray:
        """Source-to-pixel vectors for scattered pixels (rows[i], cols[i])."""
        uu = (cols + dc + 0.5 - self.size / 2) * self._pitch
        vv = -(rows + dr + 0.5 - self.size / 2) * self._pitch
        base = self._base
        return base[None, :] + uu[:, None] * self._u[None, :] + vv[:, None] * self._v[None, :]
