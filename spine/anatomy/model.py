"""The spine model: one source of truth for the illustrated views, the simulated
fluoroscopy and the needle checks.

Coordinates are millimetres, x = patient's LEFT, y = POSTERIOR, z = SUPERIOR (see
:mod:`spine.anatomy.solids`). The world origin is the centre of the S1 superior endplate;
the sacrum is tilted by the sacral slope and the rest of the spine is stacked on it
along the sagittal curves of clinical.md section 1 (see :mod:`spine.anatomy.frames`).

Typical use::

    model = SpineModel.default()
    model.vertebra_frame("L4")                      # (origin, R)
    model.structures(levels=["L4", "L4-L5"])        # list[Structure]
    model.landmark("L4-L5", "safe_triangle", "left")
    model.avoid_structures("L4-L5", "left")         # dural sac, cord, exiting L4 root, ...

Structure names: ``"L4.body"``, ``"L4.pedicle.left"``, ``"L4.lamina.left"``,
``"L4.spinous_process"``, ``"L4.tp.left"``, ``"L4.sap.left"``, ``"L4.iap.left"``,
``"L4.pars.left"``, ``"L4.sap_neck.left"`` (lumbar and S1: the SAP's narrower root under its
articular part, kind ``"sap"``), ``"disc.L4-L5.annulus"``, ``"disc.L4-L5.nucleus"``,
``"L4-L5.facet_joint.left"``, ``"L4-L5.foramen.left"``, ``"L4-L5.ligamentum_flavum.left"``,
``"canal.L4"``, ``"dural_sac.L4"``, ``"cord.C5"``, ``"conus"``, ``"cauda_equina.L3"``,
``"epidural.L3"``, ``"root.L4.left"`` (sac to the foramen exit) and
``"root.L4.left.extraforaminal"`` (beyond it, down and out), ``"vertebral_artery.C5-C6.left"``,
``"S1.ala.left"``, ``"S1.posterior_foramen.left"``, ``"sacral_hiatus"``, ``"S5.cornu.left"``,
``"si_joint.left"``, ``"ilium.left.wing"``. :data:`SPACE_KINDS` are spaces (canal,
foramina, sacral foramina) that overlap the tissues inside them; a fluoroscopy renderer
should skip them.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Iterable

import numpy as np

from spine.anatomy import bones, landmarks, softtissue, surfaces
from spine.anatomy.levels import (
    INTERSPACES,
    VERTEBRAE,
    Interspace,
    LevelError,
    Vertebra,
    exiting_root,
    interspace,
    parse_level,
    region_of,
    vertebra,
)
from spine.anatomy.solids import Solid, Structure, solid_fingerprint
from threadpoolctl import threadpool_limits
from spine.errors import RequestError

__all__ = ["SpineParameters", "SpineModel", "SPACE_KINDS", "BONE_KINDS", "NEURAL_KINDS", "LandmarkError"]

from spine.anatomy.builder import ModelBuilder, SpineParameters
from spine.anatomy.kinds import BONE_KINDS, NEURAL_KINDS, SPACE_KINDS


class LandmarkError(RequestError):
    """A landmark name / level / side combination that the model does not have."""


class SpineModel:
    """The whole spine as named :class:`~spine.anatomy.solids.Structure` objects."""

    def __init__(self, parameters: SpineParameters | None = None):
        self.parameters = parameters or SpineParameters()
        # one BLAS thread: the build multiplies long, thin arrays of points by 3x3 frames, which
        # OpenBLAS splits between threads that only spin (a third more CPU on 2 cores); forked
        # meshing workers inherit the setting, and it is restored after
        with threadpool_limits(limits=1, user_api="blas"):
            b = self._build()
        self._b = b
        self._structures: dict[str, Structure] = b.structures
        self._frames = b.frames
        self._joints = b.chain.joints
        self._landmarks = b.landmarks
        self._by_level: dict[str | None, list[Structure]] = {}
        self._hash: str | None = None
        for st in self._structures.values():
            self._by_level.setdefault(st.level, []).append(st)

    def _build(self) -> ModelBuilder:
        b = ModelBuilder(self.parameters)
        b.deferred = {}  # the discs' meshes: made with the bones' below
        bones.build_bones(b)
        # the bones (and discs) not in the disk cache are meshed in worker processes meanwhile
        # (they need only the placed bone parts)
        pending = surfaces.start_surfaces(b)
        softtissue.build_soft_tissue(b)
        landmarks.build_landmarks(b)
        # the smooth surfaces last: landmarks, soft tissue and the needle checks read the
        # placed parts, which the surfaces only round off and blend
        surfaces.build_surfaces(b, pending)
        return b

    # -- construction / identity ----------------------------------------------------------
    def __deepcopy__(self, memo) -> "SpineModel":
        return self  # never changed once built; Manim deep-copies the mobjects that hold it

    def __reduce__(self):
        # A pickle (a scene checkpoint) names the parameters, not the meshes: the receiving
        # process builds the same model (from the disk cache of meshes), once per process.
        return model_for, (self.parameters,)

    @classmethod
    def default(cls) -> "SpineModel":
        """The model with default parameters (built once per process)."""
        return _default_model()

    def parameters_hash(self) -> str:
        """Stable sha256 (hex) for caches keyed on the geometry: the parameters *and* the
        solids built from them, so a change to how the model is built (not only to its
        parameters) also invalidates cached images (e.g. the fluoroscopy anatomy layer)."""
        if self._hash is None:
            h = hashlib.sha256(self.parameters.sha256().encode())
            h.update(self.geometry_hash().encode())
            self._hash = h.hexdigest()
        return self._hash

    def geometry_hash(self) -> str:
        """sha256 over every structure's name, kind, material, shell, solid type and solid
        parameters (rounded to 1e-6 mm) and every landmark point."""
        h = hashlib.sha256()
        for st in self._structures.values():
            h.update(f"{st.name}|{st.kind}|{st.material.value}|{st.shell_mm:.6f}|{type(st.solid).__name__}".encode())
            if st.cancellous_density != 1.0:
                h.update(f"|cancellous {st.cancellous_density:.6f}".encode())
            solid_fingerprint(h, st.solid)
        for key in sorted(self._landmarks, key=repr):
            h.update(repr(key).encode())
            h.update(np.round(self._landmarks[key].point, 6).tobytes())
        return h.hexdigest()

    # -- frames ---------------------------------------------------------------------------
    def vertebra_frame(self, name) -> tuple[np.ndarray, np.ndarray]:
        """(origin (3,), R (3x3)) of a vertebra: origin at the body centre (C1: ring centre on
        the dens axis), columns of R = local left, posterior, superior axes following the curve."""
        v = vertebra(name)
        f = self._frames[v.name]
        return f.origin.copy(), f.R.copy()

    def interspace_frame(self, name) -> tuple[np.ndarray, np.ndarray]:
        """(origin, R) of an interspace: origin at the disc centre, mean tilt of the two vertebrae."""
        s = interspace(name)
        f = self._joints[str(s)]
        return f.origin.copy(), f.R.copy()

    def level_centre(self, level) -> np.ndarray:
        """Body centre of a vertebra, disc centre of an interspace."""
        parsed = parse_level(level)
        if isinstance(parsed, Vertebra):
            return self._frames[parsed.name].origin.copy()
        return self._joints[str(parsed)].origin.copy()

    def axial_plane(self, level) -> tuple[np.ndarray, np.ndarray]:
        """(origin, R) of the standard axial section of a level: for a vertebra the plane
        through the middle of its pedicles, for an interspace the disc's mid-plane; R[:, 2]
        is the plane's normal (the level's superior axis)."""
        parsed = parse_level(level)
        if isinstance(parsed, Interspace):
            return self.interspace_frame(parsed)
        origin, R = self.vertebra_frame(parsed)
        z_ped = float(self._b.anchors.get(parsed.name, {}).get("z_pedicle", 0.0))
        return origin + R[:, 2] * z_ped, R

    def alpha_deg(self, name) -> float:
        """Sagittal tilt of a vertebra's superior axis (+ = top leaning posteriorly)."""
        return float(self._b.chain.alpha[vertebra(name).name])

    # -- structures -----------------------------------------------------------------------
    def structures(
        self,
        levels: Iterable | None = None,
        kinds: Iterable[str] | None = None,
        sides: Iterable[str | None] | None = None,
    ) -> list[Structure]:
        """Structures filtered by level (vertebra or interspace, exact match; names or parsed
        objects; ``None`` in the list selects level-less structures such as the pelvis), by
        kind and by side. In build order (cranial to caudal, bones before soft tissue)."""
        out = list(self._structures.values())
        if levels is not None:
            wanted = {None if lv is None else str(parse_level(lv)) for lv in levels}
            out = [s for s in out if s.level in wanted]
        if kinds is not None:
            kind_set = {kinds} if isinstance(kinds, str) else set(kinds)
            out = [s for s in out if s.kind in kind_set]
        if sides is not None:
            side_set = set(sides)
            out = [s for s in out if s.side in side_set]
        return out

    def structure(self, name: str) -> Structure:
        try:
            return self._structures[name]
        except KeyError:
            close = [n for n in self._structures if name.split(".")[0] in n][:6]
            hint = f"; similar: {', '.join(close)}" if close else ""
            raise KeyError(f"no structure {name!r}{hint}") from None

    def structure_names(self) -> list[str]:
        return list(self._structures)

    def kinds(self) -> list[str]:
        return sorted({s.kind for s in self._structures.values()})

    def bounds(
        self, levels: Iterable | None = None, kinds: Iterable[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        sts = self.structures(levels=levels, kinds=kinds)
        if not sts:
            raise ValueError("no structures to bound")
        boxes = [s.solid.bounding_box() for s in sts]
        return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)

    def bone_surface(self, name) -> Structure:
        """The whole smooth bone of a vertebra (C1 ... Co4) as one closed mesh (kind
        ``"bone_surface"``): what the views and the fluoroscopy draw (S1-S5: the one fused
        sacrum, ``"sacrum.bone"``). Its parts are
        :meth:`vertebra_structures`."""
        v = vertebra(name)
        return self._structures[surfaces.SACRUM if v.name in surfaces.SACRAL_LEVELS else f"{v.name}.bone"]

    def vertebra_structures(self, name) -> list[Structure]:
        """All bone structures that belong to one vertebra (its level), C1 ... Co4."""
        v = vertebra(name)
        return [s for s in self._by_level.get(v.name, []) if s.kind in BONE_KINDS]

    # -- landmarks ------------------------------------------------------------------------
    def landmark_names(self) -> list[str]:
        """Every landmark name, in catalogue order."""
        return list(landmarks.CATALOGUE)

    def landmark_levels(self, name: str) -> list[str]:
        """The levels at which landmark ``name`` is defined."""
        _check_landmark_name(name)
        seen = []
        for level, lname, _side in self._landmarks:
            if lname == name and level not in seen:
                seen.append(level)
        return seen

    def landmark(self, level, name: str, side: str | None = None) -> np.ndarray:
        """3D point of a named landmark (copy). See :data:`landmarks.CATALOGUE` for names,
        meaning and the levels each accepts; bilateral landmarks need ``side``."""
        return self._landmark_entry(level, name, side).point.copy()

    def landmark_region(self, level, name: str, side: str | None = None) -> Solid:
        """A small convex target region (an Ellipsoid) around the landmark."""
        return self._landmark_entry(level, name, side).region

    def _landmark_entry(self, level, name, side):
        _check_landmark_name(name)
        try:
            parsed = parse_level(level)
        except LevelError as exc:
            raise LandmarkError(str(exc)) from None
        info = landmarks.CATALOGUE[name]
        if side is not None and side not in ("left", "right"):
            raise LandmarkError(f"side must be 'left', 'right' or None, got {side!r}")
        if info.bilateral and side is None:
            raise LandmarkError(f"landmark '{name}' is on both sides: give side='left' or side='right'")
        key = (str(parsed), name, side if info.bilateral else None)
        entry = self._landmarks.get(key)
        if entry is None:
            levels = self.landmark_levels(name)
            near = [lv for lv in levels if str(parsed) in lv.split("-")]
            hint = f" (near {parsed}: {', '.join(near)})" if near else ""
            raise LandmarkError(f"no landmark '{name}' at {parsed}: it exists at {_summarise_levels(levels)}{hint}")
        return entry

    # -- safety ---------------------------------------------------------------------------
    def avoid_structures(self, level, side: str | None = None) -> list[Structure]:
        """Structures a needle must not cross at ``level``: dural sac and cord (or cauda
        equina / conus) of the level and its neighbours, the exiting root(s) on ``side``
        (both sides if None), and in the neck the vertebral-artery zone."""
        parsed = parse_level(level)
        sides = ("left", "right") if side is None else (side,)
        if isinstance(parsed, Interspace):
            verts = [parsed.upper, parsed.lower]
            roots = [exiting_root(parsed)]
            spaces = [str(parsed)]
        else:
            idx = VERTEBRAE.index(parsed.name)
            verts = list(VERTEBRAE[max(0, idx - 1) : idx + 2])
            spaces = [s for s in INTERSPACES if parsed.name in s.split("-")]
            roots = [exiting_root(s) for s in spaces]
            if parsed.region == "sacral":
                roots.append(parsed.name)
            if parsed.name == "C1":
                roots.append("C1")
        out: list[Structure] = []
        seen = set()

        def take(st: Structure):
            if st.name not in seen:
                seen.add(st.name)
                out.append(st)

        neural_levels = set(verts)
        for st in self._structures.values():
            if st.kind in ("dural_sac", "cord", "conus", "cauda_equina") and st.level in neural_levels:
                take(st)
        for root in roots:
            for sd in sides:
                for suffix in ("", ".extraforaminal"):
                    nm = f"root.{root}.{sd}{suffix}"
                    if nm in self._structures:
                        take(self._structures[nm])
        if any(region_of(v) == "cervical" for v in verts):
            near = set(spaces) | set(verts)
            for i, s in enumerate(INTERSPACES):
                if s in spaces and i > 0:
                    near.add(INTERSPACES[i - 1])
            for st in self._structures.values():
                if st.kind == "vertebral_artery" and st.side in sides and st.level in near:
                    take(st)
        return out


def model_for(parameters: SpineParameters) -> SpineModel:
    """The model of ``parameters``: the process's default model when they are the defaults."""
    return _default_model() if parameters == SpineParameters() else SpineModel(parameters)


@lru_cache(maxsize=1)
def _default_model() -> SpineModel:
    return SpineModel(SpineParameters())


def _check_landmark_name(name: str) -> None:
    if name not in landmarks.CATALOGUE:
        raise LandmarkError(f"unknown landmark {name!r}; landmarks: {', '.join(landmarks.CATALOGUE)}")


def _summarise_levels(levels: list[str]) -> str:
    if not levels:
        return "no level"
    if len(levels) <= 4:
        return ", ".join(levels)
    return f"{levels[0]} … {levels[-1]} ({len(levels)} levels)"
