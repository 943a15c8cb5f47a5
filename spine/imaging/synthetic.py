"""A tiny synthetic "spine" of boxes and cylinders, for tests and benchmarks.

Not anatomy: three box-like vertebrae with pedicles and spinous processes, two discs and
a dural sac, centred on the origin, in the same coordinates and materials as the real
model (x = patient's left, y = posterior, z = superior, mm).
"""

from __future__ import annotations

import numpy as np

from spine.anatomy.solids import Box, Cylinder, Ellipsoid, Material, Structure, rotation_from_axes

__all__ = ["synthetic_spine", "steel_bead"]


def synthetic_spine(levels: int = 3, spacing_mm: float = 32.0) -> list[Structure]:
    out: list[Structure] = []
    zs = (np.arange(levels) - (levels - 1) / 2) * spacing_mm
    for i, z in enumerate(zs):
        lv = f"V{i}"
        out.append(
            Structure(
                f"{lv}.body",
                "body",
                Material.CORTICAL_BONE,
                Cylinder([0, 0, z], np.eye(3), [22, 16], 11),
                level=lv,
                shell_mm=1.5,
            )
        )
        for side, x in (("left", 12.0), ("right", -12.0)):
            out.append(
                Structure(
                    f"{lv}.pedicle.{side}",
                    "pedicle",
                    Material.CORTICAL_BONE,
                    Cylinder([x, 20, z + 4], rotation_from_axes([0, 1, 0]), [5, 7], 8),
                    level=lv,
                    side=side,
                    shell_mm=1.2,
                )
            )
        out.append(
            Structure(
                f"{lv}.spinous",
                "spinous_process",
                Material.CORTICAL_BONE,
                Box([0, 45, z], np.eye(3), [3, 15, 8]),
                level=lv,
                shell_mm=1.0,
            )
        )
    for k in range(levels - 1):
        z = (zs[k] + zs[k + 1]) / 2
        out.append(
            Structure(
                f"disc.V{k}-V{k + 1}",
                "annulus",
                Material.DISC,
                Cylinder([0, 0, z], np.eye(3), [22, 16], (spacing_mm - 22) / 2),
            )
        )
    out.append(
        Structure(
            "dural_sac", "dural_sac", Material.NEURAL, Cylinder([0, 28, 0], np.eye(3), [8, 7], spacing_mm * levels)
        )
    )
    return out


def steel_bead(point, radius_mm: float = 1.0, name: str = "bead") -> Structure:
    """A small steel sphere (a radiopaque marker) at a 3D point."""
    return Structure(
        name, "marker", Material.STEEL, Ellipsoid(np.asarray(point, float), np.eye(3), np.full(3, radius_mm))
    )
