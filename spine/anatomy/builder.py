"""What shapes the spine model (:class:`SpineParameters`) and the builder that collects its
structures, anchor points and landmarks while :class:`~spine.anatomy.model.SpineModel` is built.

The builders of the parts (:mod:`.bones`, :mod:`.softtissue`, :mod:`.landmarks`,
:mod:`.surfaces`) each take a :class:`ModelBuilder`; the model module imports them, never the
other way round.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from spine.anatomy.frames import Frame, build_chain
from spine.anatomy.levels import VERTEBRAE
from spine.anatomy.morphometry import (
    COCCYGEAL_INTERSEGMENT_GAP,
    INTERSPACE_SIZES,
    SACRAL_INTERSEGMENT_GAP,
    SACRAL_SEGMENTAL_DEG,
    VERTEBRA_SIZES,
    InterspaceSize,
    VertebraSize,
)
from spine.anatomy.solids import Material, Solid, Structure

__all__ = ["SpineParameters", "ModelBuilder"]

_CERVICAL = ("C2-C3", "C3-C4", "C4-C5", "C5-C6", "C6-C7")
_THORACIC = tuple(f"T{k}-T{k + 1}" for k in range(1, 12))
_LUMBAR = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


@dataclass(frozen=True)
class SpineParameters:
    """Everything that shapes the model. Frozen and hashable: it keys caches.

    Curvature totals (degrees) rescale the per-joint angles of
    :data:`~spine.anatomy.morphometry.INTERSPACE_SIZES`: cervical lordosis over C2-C7,
    thoracic kyphosis over T1-T12, lumbar lordosis over L1-S1 (clinical.md section 1).
    ``conus_level`` / ``dural_sac_end`` say where the cord and the sac end (a vertebra =
    its body's middle, an interspace = its disc). ``size_scale`` scales every length.
    """

    size_scale: float = 1.0
    sacral_slope_deg: float = 40.0  # [typical]; anchors the lumbar curve on the sacrum
    cervical_lordosis_deg: float = 15.0  # ~15 [clinical.md]
    thoracic_kyphosis_deg: float = 35.0  # 20-40 [clinical.md]
    lumbar_lordosis_deg: float = 60.0  # ~60 (30-80) [clinical.md]
    shell_mm: float = 1.5  # cortical shell of bone structures
    conus_level: str = "L1-L2"  # ~L1-L2 (mid-T11 to L3) [clinical.md]
    dural_sac_end: str = "S2"  # ~S2 (S1-S3) [clinical.md]
    iliac_crest_level: str = "L4"  # line between the crests ~L4 [clinical.md]
    epidural_ventral_mm: float = 1.0  # [typical]
    vertebral_artery_zone_mm: float = 2.5  # radius of the no-go tube around the artery
    vertebrae: tuple[VertebraSize, ...] = field(default=VERTEBRA_SIZES, repr=False)
    interspaces: tuple[InterspaceSize, ...] = field(default=INTERSPACE_SIZES, repr=False)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def sha256(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True, default=float, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _scaled(obj, factor: float):
    changes = {}
    for f in dataclasses.fields(obj):
        if f.name == "name" or f.name.endswith("_deg"):
            continue
        changes[f.name] = getattr(obj, f.name) * factor
    return dataclasses.replace(obj, **changes)


class ModelBuilder:
    """Collects structures, anchor points and landmarks while the model is built."""

    def __init__(self, params: SpineParameters):
        self.params = params
        self.scale = float(params.size_scale)
        self.size = {v.name: _scaled(v, self.scale) for v in params.vertebrae}
        self.space = {s.name: _scaled(s, self.scale) for s in params.interspaces}
        missing = set(VERTEBRAE) - set(self.size)
        if missing:
            raise ValueError(f"SpineParameters.vertebrae lacks {sorted(missing)}")
        self.chain = build_chain(
            {n: self.size[n].body_height for n in VERTEBRAE},
            self._gaps(),
            self._joint_angles(),
            params.sacral_slope_deg,
        )
        self.frames: dict[str, Frame] = self.chain.frames
        self.structures: dict[str, Structure] = {}
        self.anchors: dict = {}
        self.landmarks: dict = {}
        #: meshes the build may make later, in worker processes beside the rest of the build
        #: (None: make each at once): {cache key: (make() -> mesh arrays, [finish(arrays), ...])};
        #: the model's build (:func:`spine.anatomy.surfaces.start_surfaces`) runs ``make`` with
        #: the bones' jobs and calls each ``finish`` once every mesh is in the cache
        self.deferred: dict | None = None
        #: how many meshing jobs this process did itself (the rest came from the disk cache, some
        #: made meanwhile by another process: :func:`spine.anatomy.surfaces._mesh_here`)
        self.meshed_here = 0

    def _gaps(self) -> dict[str, float]:
        gaps = {}
        names = list(VERTEBRAE)
        for a, bb in zip(names, names[1:]):
            pair = f"{a}-{bb}"
            if pair in self.space:
                gaps[pair] = self.space[pair].disc_height if pair != "C1-C2" else 3.0 * self.scale
            elif a.startswith("Co") or bb.startswith("Co"):
                gaps[pair] = COCCYGEAL_INTERSEGMENT_GAP * self.scale
            else:
                gaps[pair] = SACRAL_INTERSEGMENT_GAP * self.scale
        return gaps

    def _joint_angles(self) -> dict[str, float]:
        p = self.params
        deg = {s.name: s.segmental_deg for s in p.interspaces}
        for group, total in (
            (_CERVICAL, p.cervical_lordosis_deg),
            (_THORACIC, -p.thoracic_kyphosis_deg),
            (_LUMBAR, p.lumbar_lordosis_deg),
        ):
            base = sum(deg[g] for g in group)
            factor = total / base if abs(base) > 1e-9 else 0.0
            for g in group:
                deg[g] *= factor
        deg.update(SACRAL_SEGMENTAL_DEG)
        return deg

    def add(
        self,
        name: str,
        kind: str,
        material: Material,
        solid: Solid,
        level: str | None = None,
        side: str | None = None,
        shell_mm: float | None = None,
    ) -> Structure:
        if name in self.structures:
            raise ValueError(f"duplicate structure name {name!r}")
        if shell_mm is None:
            shell_mm = 0.0
            if material == Material.CORTICAL_BONE:
                lo, hi = solid.bounding_box()
                shell_mm = float(min(self.params.shell_mm * self.scale, 0.3 * np.min(hi - lo)))
        st = Structure(name, kind, material, solid, level=level, side=side, shell_mm=shell_mm)
        self.structures[name] = st
        return st

    def structure_solid(self, name: str) -> Solid:
        return self.structures[name].solid
