"""Geometry shared by the needle planner and the validator: sides, C-arm angles, level frames, the
nerve's course, and the default model.

Its own module so that the validator does not import the planner (the planner imports the
validator to check every plan it makes); ``make test`` keeps it so with an import-linter layers
contract (planner above validator above this module).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from spine.anatomy.levels import Interspace, parse_level

__all__ = ["SIGN", "DISC_BEND_MAX_DEG", "get_model", "carm_angles", "level_frame", "nerve_axis_for"]

#: +1 toward the patient's left (the x axis); a None side (the midline) is a KeyError
SIGN: dict[str | None, float] = {"left": 1.0, "right": -1.0}
DISC_BEND_MAX_DEG = 35.0  # [unverified] how far a curved discography inner needle turns


@lru_cache(maxsize=1)
def get_model():
    """The default spine model (built once)."""
    from spine.anatomy.model import SpineModel

    return SpineModel.default()


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    n = np.linalg.norm(v)
    return v / n if n > 1e-12 else v


def carm_angles(approach_vec) -> tuple[float, float]:
    """(rotation, tilt) in degrees of the beam along ``approach_vec`` (tip -> skin)."""
    a = _unit(approach_vec)
    return math.degrees(math.atan2(a[0], a[1])), math.degrees(math.asin(float(np.clip(a[2], -1, 1))))


def level_frame(model, level: str) -> tuple[np.ndarray, np.ndarray]:
    parsed = parse_level(level)
    if isinstance(parsed, Interspace):
        return model.interspace_frame(str(parsed))
    return model.vertebra_frame(parsed.name)


def nerve_axis_for(model, tech, level: str, side: str | None) -> np.ndarray | None:
    """Direction of the nerve at its groove, pointing along it toward the skin side, from the
    technique's ``nerve_course`` (the model has no medial-branch nerve); None if not given."""
    course = tech.nerve_course
    if course is None:
        return None
    o, r = level_frame(model, level)
    lat, cau = math.radians(course.lateral_deg), math.radians(course.caudal_deg)
    s = SIGN[side]
    return _unit(r @ np.array([s * math.sin(lat) * math.cos(cau), math.cos(lat) * math.cos(cau), -math.sin(cau)]))


_nerve_axis_for = nerve_axis_for  # the planner's older name
