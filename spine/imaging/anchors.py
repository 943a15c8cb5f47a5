"""Where the fluoroscopy reads the anatomy model: level centres, body outline, hashes.

The anatomy model (:mod:`spine.anatomy.model`) is the one source of geometry; this module
only adapts it for imaging: the isocentre of a level, the soft-tissue body outline around
the spine (so the field is not blank), and a stable hash of a plain list of structures
(used by tests with synthetic anatomy).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from spine.anatomy.solids import Cylinder, Material, Structure

__all__ = ["default_model", "level_centre", "body_outline", "bone_boxes", "structures_hash", "is_interspace"]


@lru_cache(maxsize=1)
def default_model():
    from spine.anatomy.model import SpineModel

    return SpineModel.default()


def is_interspace(level: str) -> bool:
    return "-" in level


def level_centre(level: str, model=None) -> np.ndarray:
    """Isocentre for a level: the disc's nucleus centre for "L4-L5", the body centre for "L4"."""
    model = model if model is not None else default_model()
    if is_interspace(level):
        try:
            return np.asarray(model.landmark(level, "nucleus_centre"), dtype=float)
        except (KeyError, ValueError, AttributeError):
            upper, lower = level.split("-")
            a = np.asarray(model.vertebra_frame(upper)[0], dtype=float)
            b = np.asarray(model.vertebra_frame(lower)[0], dtype=float)
            return (a + b) / 2
    return np.asarray(model.vertebra_frame(level)[0], dtype=float)


def bone_boxes(structures: list[Structure]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bounding boxes of the bones among ``structures`` (of all of them where none is bone)."""
    bone = [s for s in structures if s.material in (Material.CORTICAL_BONE, Material.CANCELLOUS_BONE)]
    return [s.solid.bounding_box() for s in (bone or list(structures))]


def body_outline(
    structures: list[Structure],
    around=None,
    *,
    reach_mm: float = 60.0,
    back_margin_mm: float = 32.0,
    depth_mm: float = 235.0,
    width_mm: float = 330.0,
    boxes: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> Structure:
    """An elliptic cylinder of soft tissue around the spine (the torso), along z.

    The back skin lies ``back_margin_mm`` behind the most posterior bone within
    ``reach_mm`` (cranio-caudally) of ``around`` (the isocentre; the spinous processes:
    skin to lumbar epidural space is ~3-5 cm); the torso is ``depth_mm`` deep (front to
    back) and ``width_mm`` wide -- an average adult abdomen [typical]. ``boxes``: the structures'
    :func:`bone_boxes` where the caller kept them (they cost ~0.4 s for a whole spine).
    """
    if boxes is None:
        boxes = bone_boxes(structures)
    if around is not None:
        z = float(np.asarray(around, float)[2])
        near = [(lo, hi) for lo, hi in boxes if lo[2] - reach_mm <= z <= hi[2] + reach_mm]
        boxes = near or boxes
    los, his = zip(*boxes)
    lo, hi = np.min(los, axis=0), np.max(his, axis=0)
    back = hi[1] + back_margin_mm
    mid_z = float(np.asarray(around, float)[2]) if around is not None else (lo[2] + hi[2]) / 2
    centre = np.array([0.0 if around is None else float(np.asarray(around, float)[0]), back - depth_mm / 2, mid_z])
    half_height = (hi[2] - lo[2]) / 2 + 400.0
    solid = Cylinder(centre, np.eye(3), np.array([width_mm / 2, depth_mm / 2]), half_height)
    return Structure("body_outline", "body_outline", Material.SOFT_TISSUE, solid)


def structures_hash(structures: list[Structure]) -> str:
    """sha256 over every structure's name, material, shell and solid parameters."""
    h = hashlib.sha256()
    for s in structures:
        h.update(f"{s.name}|{s.kind}|{Material(s.material).value}|{s.shell_mm:.6f}|{type(s.solid).__name__}".encode())
        if s.cancellous_density != 1.0:
            h.update(f"|cancellous {s.cancellous_density:.6f}".encode())
        if hasattr(s.solid, "fingerprint"):
            h.update(s.solid.fingerprint().encode())
            continue
        for k, v in sorted(vars(s.solid).items()):
            h.update(k.encode())
            h.update(np.round(np.asarray(v, dtype=float), 6).tobytes())
    return h.hexdigest()
