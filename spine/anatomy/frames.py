"""Local frames of the vertebrae and the sagittal curve that places them.

Each vertebra has a frame whose origin is the centre of its body (for C1, which has no
body, the point on the dens axis at the middle of the ring) and whose axes follow the
curve: local x = patient's left (unchanged), local z = the vertebra's own superior axis,
local y = its posterior axis. The curve is built from segmental sagittal angles:

* ``alpha`` of a vertebra is the tilt of its superior axis in the sagittal plane,
  positive when the top leans posteriorly: axis = (0, sin alpha, cos alpha);
* a joint's angle is ``alpha(upper) - alpha(lower)``: positive = lordotic, negative =
  kyphotic (clinical.md section 1 gives the region totals);
* the chain is anchored at the sacrum: ``alpha(S1) = -sacral_slope`` (the S1 endplate faces
  forward and up) and the centre of the S1 superior endplate is the world origin.

Joint frames sit at the middle of each joint (the disc centre for C2-C3 ... L5-S1) with
the mean tilt of the two vertebrae.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine.anatomy.levels import VERTEBRAE
from spine.anatomy.solids import rotation_xyz

__all__ = ["Frame", "SagittalChain", "build_chain"]


@dataclass(frozen=True)
class Frame:
    """Origin and rotation (columns = local x, y, z in world coordinates)."""

    origin: np.ndarray
    R: np.ndarray

    def p(self, x: float, y: float, z: float) -> np.ndarray:
        """World position of local point (x, y, z)."""
        return self.origin + self.R @ np.array([x, y, z], dtype=float)

    def pts(self, local) -> np.ndarray:
        return np.atleast_2d(np.asarray(local, float)) @ self.R.T + self.origin

    def v(self, x: float, y: float, z: float) -> np.ndarray:
        """World direction of local vector (x, y, z)."""
        return self.R @ np.array([x, y, z], dtype=float)

    def local(self, world) -> np.ndarray:
        return (np.asarray(world, float) - self.origin) @ self.R

    @property
    def x(self) -> np.ndarray:
        return self.R[:, 0]

    @property
    def y(self) -> np.ndarray:
        return self.R[:, 1]

    @property
    def z(self) -> np.ndarray:
        return self.R[:, 2]

    def rot(self, local_rotation) -> np.ndarray:
        """World rotation of a solid whose rotation is given in this frame."""
        return self.R @ np.asarray(local_rotation, float)


def sagittal_rotation(alpha_deg: float) -> np.ndarray:
    """Rotation about x whose z axis is (0, sin alpha, cos alpha)."""
    return rotation_xyz(rx_deg=-alpha_deg)


@dataclass(frozen=True)
class SagittalChain:
    """Frames of all 33 vertebrae and of the joints between consecutive ones."""

    alpha: dict[str, float]
    frames: dict[str, Frame]
    joints: dict[str, Frame]  # "L4-L5", "S1-S2", "Co1-Co2", ...
    joint_gap: dict[str, float]  # distance between the endplates along the joint axis
    superior_endplate: dict[str, np.ndarray]
    inferior_endplate: dict[str, np.ndarray]


def build_chain(
    heights: dict[str, float], gaps: dict[str, float], joint_deg: dict[str, float], sacral_slope_deg: float
) -> SagittalChain:
    """Stack the bodies along the curve.

    ``heights``: body height per vertebra; ``gaps``: joint height per "U-V" pair;
    ``joint_deg``: segmental angle per pair (+ lordotic).
    """
    names = list(VERTEBRAE)
    pairs = [f"{a}-{b}" for a, b in zip(names, names[1:])]
    alpha = {"S1": -float(sacral_slope_deg)}
    i_s1 = names.index("S1")
    for i in range(i_s1 - 1, -1, -1):
        alpha[names[i]] = alpha[names[i + 1]] + joint_deg[pairs[i]]
    for i in range(i_s1 + 1, len(names)):
        alpha[names[i]] = alpha[names[i - 1]] - joint_deg[pairs[i - 1]]

    def axis(name):
        a = np.radians(alpha[name])
        return np.array([0.0, np.sin(a), np.cos(a)])

    centre: dict[str, np.ndarray] = {}
    sup: dict[str, np.ndarray] = {}
    inf: dict[str, np.ndarray] = {}
    joints: dict[str, Frame] = {}
    sup["S1"] = np.zeros(3)
    centre["S1"] = sup["S1"] - axis("S1") * heights["S1"] / 2
    inf["S1"] = centre["S1"] - axis("S1") * heights["S1"] / 2
    for i in range(i_s1 - 1, -1, -1):  # upward
        up, lo = names[i], names[i + 1]
        pair = pairs[i]
        mid = axis(up) + axis(lo)
        mid /= np.linalg.norm(mid)
        joints[pair] = Frame(sup[lo] + mid * gaps[pair] / 2, sagittal_rotation((alpha[up] + alpha[lo]) / 2))
        inf[up] = sup[lo] + mid * gaps[pair]
        centre[up] = inf[up] + axis(up) * heights[up] / 2
        sup[up] = centre[up] + axis(up) * heights[up] / 2
    for i in range(i_s1 + 1, len(names)):  # downward
        up, lo = names[i - 1], names[i]
        pair = pairs[i - 1]
        mid = axis(up) + axis(lo)
        mid /= np.linalg.norm(mid)
        joints[pair] = Frame(inf[up] - mid * gaps[pair] / 2, sagittal_rotation((alpha[up] + alpha[lo]) / 2))
        sup[lo] = inf[up] - mid * gaps[pair]
        centre[lo] = sup[lo] - axis(lo) * heights[lo] / 2
        inf[lo] = centre[lo] - axis(lo) * heights[lo] / 2
    frames = {n: Frame(centre[n], sagittal_rotation(alpha[n])) for n in names}
    ordered_joints = {p: joints[p] for p in pairs}
    return SagittalChain(alpha, frames, ordered_joints, {p: gaps[p] for p in pairs}, sup, inf)
