"""A fluoroscopy frame as layers: cached anatomy + per-frame needle and contrast.

Everything adds in the log domain (line integrals ``sum mu L``), i.e. multiplies in
intensity, so a frame is::

    L = anatomy(pose)            # cached on disk, computed once per model x pose x size
      + needle_layer(needle)     # steel, only the pixels around the needle's shadow
      + contrast_layer(contrast) # iodine, only the pixels its blobs cover

then the detector adds quantum noise and turns ``L`` into grey levels. A needle advancing
or contrast spreading costs only its own layer (bench/fluoro.py measures it).

The needle is the same 3D line the illustration draws (:class:`Needle`, from ``p0`` at
the skin / hub end to ``p1`` at the tip), so the two views always agree;
:meth:`FluoroImager.project` gives the pixel of any 3D point for overlays and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from spine.anatomy.solids import Capsule, Material, Structure

from .anchors import body_outline, bone_boxes, structures_hash
from .cache import AnatomyCache, cache_key
from .carm import CArmPose
from .detector import Detector, Exposure
from .projector import BODY_KINDS, Projector

__all__ = ["Needle", "FluoroImager", "GAUGE_OD_MM"]

#: outer diameter (mm) of common needle gauges (Stubs / ISO 9626)
GAUGE_OD_MM = {11: 3.05, 13: 2.41, 14: 2.11, 15: 1.83, 16: 1.65, 18: 1.27, 20: 0.91, 22: 0.72, 25: 0.51, 27: 0.41}


@dataclass(frozen=True)
class Needle:
    """A straight steel needle from ``p0`` (hub / skin end) to ``p1`` (tip), mm."""

    p0: tuple[float, float, float]
    p1: tuple[float, float, float]
    gauge_mm: float = GAUGE_OD_MM[22]  # outer diameter in mm

    def __post_init__(self):
        object.__setattr__(self, "p0", tuple(float(v) for v in np.asarray(self.p0, float).reshape(3)))
        object.__setattr__(self, "p1", tuple(float(v) for v in np.asarray(self.p1, float).reshape(3)))
        if self.gauge_mm <= 0:
            raise ValueError(f"needle diameter must be positive, got {self.gauge_mm}")

    @classmethod
    def from_gauge(cls, p0, p1, gauge: int) -> "Needle":
        """Needle of a standard gauge number (e.g. 22 -> 0.72 mm)."""
        if gauge not in GAUGE_OD_MM:
            raise ValueError(f"unknown gauge {gauge}; known: {sorted(GAUGE_OD_MM)}")
        return cls(p0, p1, GAUGE_OD_MM[gauge])

    @property
    def tip(self) -> np.ndarray:
        return np.asarray(self.p1)

    def advanced(self, fraction: float) -> "Needle":
        """The needle with its tip ``fraction`` (0..1) of the way from p0 to p1."""
        f = float(np.clip(fraction, 0.0, 1.0))
        a, b = np.asarray(self.p0), np.asarray(self.p1)
        return Needle(self.p0, tuple(a + (b - a) * f), self.gauge_mm)

    def structures(self) -> list[Structure]:
        a, b = np.asarray(self.p0), np.asarray(self.p1)
        if np.linalg.norm(b - a) < 1e-6:
            return []
        return [Structure("needle", "needle", Material.STEEL, Capsule.between(a, b, self.gauge_mm / 2))]


#: the bones' bounding boxes of the last few models (the body outline of every pose reads them)
_BONE_BOXES: dict[str, list] = {}


def _anatomy_structures(anatomy, around=None) -> tuple[list[Structure], str]:
    """(structures incl. a body outline, hash) from a spine model or a list of structures."""
    if hasattr(anatomy, "structures"):
        structures = list(anatomy.structures())
        model_hash = str(anatomy.parameters_hash())
    else:
        structures = list(anatomy)
        model_hash = "structures:" + structures_hash(structures)
    if not any(s.kind in BODY_KINDS for s in structures):
        boxes = _BONE_BOXES.pop(model_hash, None)
        if boxes is None:
            boxes = bone_boxes(structures)
        _BONE_BOXES[model_hash] = boxes  # most recently used last
        while len(_BONE_BOXES) > 4:
            _BONE_BOXES.pop(next(iter(_BONE_BOXES)))
        structures.append(body_outline(structures, around, boxes=boxes))
    return structures, model_hash


#: what a draft image (an in-between image of a C-arm turn) leaves out of the anatomy: nerve
#: tissue and spinal fluid attenuate within 5 % of the soft tissue around them (projector.MU_PER_MM),
#: so fluoroscopy does not show them, while tracing the nerve roots' tubes costs about half of a
#: small image's rays. The settled image of every pose keeps them.
DRAFT_LEAVES_OUT = frozenset({Material.NEURAL})


class FluoroImager:
    """Simulated C-arm for one pose: cached anatomy, needle/contrast layers, frames.

    ``anatomy`` is a spine model (``.structures()``, ``.parameters_hash()``) or a plain
    list of :class:`Structure` (tests). ``cache_dir=False`` disables the disk cache.
    """

    def __init__(
        self,
        anatomy,
        pose: CArmPose,
        size: int = 512,
        *,
        detector: Detector | None = None,
        cache_dir=None,
        seed: int = 0,
        draft: bool = False,
    ):
        self.pose = pose
        self.size = int(size)
        self.detector = detector or Detector()
        self.seed = int(seed)
        #: a draft anatomy leaves out what fluoroscopy does not show (:data:`DRAFT_LEAVES_OUT`)
        self.draft = bool(draft)
        #: the spine model the structures come from (None for a plain list), which a pickle carries instead
        self._model = anatomy if hasattr(anatomy, "structures") else None
        self._structures, self._model_hash = _anatomy_structures(anatomy, pose.isocentre)
        self._projector = Projector(pose, self.size)
        self._cache = None if cache_dir is False else AnatomyCache(cache_dir)

    # A scene checkpoint pickles the monitor's imager. Its structures are the model's own (and
    # the body outline around them): the pickle names the model, which pickles as its parameters,
    # and the structures are taken from it again, instead of carrying every mesh (about 30 MB of
    # a procedure video's checkpoint of 31 MB at preview).
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if state.get("_model") is not None:
            del state["_structures"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "_structures" not in state:
            self._structures, _ = _anatomy_structures(self._model, self.pose.isocentre)

    @property
    def memory_bytes(self) -> int:
        """What the imager holds once its anatomy is loaded (for memory caches)."""
        return self.size * self.size * 4

    # -- geometry -------------------------------------------------------------------------------
    def project(self, points) -> np.ndarray:
        """(N, 2) pixel coordinates (col, row; row 0 = top) of 3D points in this pose."""
        return self._projector.project(points)

    @property
    def structures(self) -> list[Structure]:
        return list(self._structures)

    # -- layers ---------------------------------------------------------------------------------
    @cached_property
    def cache_key(self) -> str:
        return cache_key(self._model_hash, self.pose.cache_key(), self.size, {"draft": True} if self.draft else None)

    @cached_property
    def anatomy(self) -> np.ndarray:
        """Line integral of the anatomy (float32, size x size), from the disk cache if there."""
        if self._cache is not None:
            hit = self._cache.load(self.cache_key)
            if hit is not None and hit.shape == (self.size, self.size):
                return hit
        structures = self._structures
        if self.draft:
            structures = [s for s in structures if Material(s.material) not in DRAFT_LEAVES_OUT]
        img = self._projector.line_integral(structures)
        if self._cache is not None:
            self._cache.store(self.cache_key, img)
        return img

    @cached_property
    def exposure(self) -> Exposure:
        return self.detector.expose(self.anatomy)

    @cached_property
    def blurred_anatomy(self) -> np.ndarray:
        """The anatomy through the detector's optical blur (once per pose: a frame adds its
        layers' own blur, computed only around them)."""
        return self.detector.blur(self.anatomy)

    def _render_layers(self, layers, seed: int | None = 0) -> np.ndarray:
        total = self.blurred_anatomy.copy()
        for layer in layers:
            if layer is not None:
                total += self.detector.blur_layer(layer)
        return self.detector.render(total, self.exposure, seed, blurred=True)

    def needle_layer(self, needle: Needle | None) -> np.ndarray | None:
        if needle is None:
            return None
        s = 2 if self.size <= 768 else 1  # anti-alias the thin shaft
        return self._projector.line_integral(needle.structures(), supersample=s)

    def contrast_layer(self, contrast, density: float = 1.0) -> np.ndarray | None:
        """Iodine layer from CONTRAST structures (or a ContrastPattern at a progress)."""
        if contrast is None:
            return None
        structures = list(contrast)
        if not structures:
            return None
        layer = self._projector.line_integral(structures)
        if density != 1.0:
            layer *= np.float32(density)
        return layer

    def line_integral(
        self, needle: Needle | None = None, contrast=None, density: float = 1.0, extra: Sequence[np.ndarray | None] = ()
    ) -> np.ndarray:
        total = self.anatomy.copy()
        for layer in (self.needle_layer(needle), self.contrast_layer(contrast, density), *extra):
            if layer is not None:
                total += layer
        return total

    # -- frames ---------------------------------------------------------------------------------
    def frame(
        self,
        needle: Needle | None = None,
        contrast=None,
        *,
        density: float = 1.0,
        seed: int | None = None,
        noise: bool = True,
    ) -> np.ndarray:
        """Grey image in [0, 1] (float32). ``seed`` defaults to the imager's seed."""
        s = (self.seed if seed is None else seed) if noise else None
        return self._render_layers([self.needle_layer(needle), self.contrast_layer(contrast, density)], seed=s)

    def frame_from_layers(self, layers: list[np.ndarray | None], seed: int | None = None) -> np.ndarray:
        """Frame from precomputed overlay layers (e.g. a needle layer kept between frames)."""
        return self._render_layers(layers, seed=self.seed if seed is None else seed)
