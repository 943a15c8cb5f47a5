"""The C-arm: where the x-ray source and the detector are for one view.

Conventions (patient coordinates in mm: ``x`` = patient's LEFT, ``y`` = POSTERIOR,
``z`` = SUPERIOR; the patient lies prone for every procedure in these videos):

* **AP** (``rotation_deg = 0, tilt_deg = 0``): the source is under the table, in front of
  the patient, and the detector (image intensifier) is above the patient's back; the beam
  travels from anterior to posterior (direction ``+y``). Strictly this is a PA beam, but
  spine interventionalists call it the AP view.
* ``rotation_deg`` (oblique): the C-arm turns about the patient's long axis. **Positive =
  the detector moves toward the patient's LEFT**, negative = toward the patient's right.
  +90 is a lateral with the detector on the patient's left (beam from right to left).
  An *ipsilateral oblique* for a right-sided target turns the detector to the right, i.e.
  ``rotation_deg < 0``; :meth:`CArmPose.oblique` takes the side by name to avoid sign slips.
* ``tilt_deg`` (cranial/caudal): **positive = cranial** = the detector tilts toward the
  patient's head, so the beam travels from caudal-anterior to cranial-posterior. Negative
  = caudal. The tilt is applied about the patient's left-right axis before the rotation,
  so the beam direction is ``(sin r cos t, cos r cos t, sin t)``.
* The monitor shows what the operator standing at the patient's back sees: on AP the head
  is up and the patient's LEFT is on the image's left (``flip_lr`` on the detector mirrors
  it for the radiological convention). On a lateral with the detector on the patient's
  left, anterior is on the image's left and posterior on its right.

Geometry: source-to-image distance ``sid_mm`` (~1000 mm), source-to-isocentre distance
``sod_mm`` (~600 mm), so anatomy at the isocentre is magnified ``sid/sod`` (~1.67). The
field of view ``fov_mm`` is the diameter of the circular field **at the detector** (a
9-inch image intensifier is ~230 mm), i.e. ~138 mm at the isocentre: three to four lumbar
levels, as on a real C-arm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from spine.errors import RequestError

__all__ = ["CArmPose", "MAX_TILT_DEG", "MAX_ROTATION_DEG"]

MAX_TILT_DEG = 45.0
MAX_ROTATION_DEG = 90.0


def _rz(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rx(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


@dataclass(frozen=True)
class CArmPose:
    """One C-arm position. Frozen and hashable: it keys the anatomy cache.

    ``isocentre`` is the point the C-arm turns about (usually the centre of the level in
    view); ``level`` is only a label ("L4-L5") shown on the panel and stored in caches.
    """

    view: str
    isocentre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation_deg: float = 0.0
    tilt_deg: float = 0.0
    sid_mm: float = 1000.0
    sod_mm: float = 600.0
    fov_mm: float = 230.0
    level: str | None = None

    def __post_init__(self):
        iso = tuple(float(v) for v in np.asarray(self.isocentre, dtype=float).reshape(3))
        object.__setattr__(self, "isocentre", iso)
        for name in ("rotation_deg", "tilt_deg", "sid_mm", "sod_mm", "fov_mm"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not -MAX_TILT_DEG <= self.tilt_deg <= MAX_TILT_DEG:
            raise RequestError(
                f"tilt_deg={self.tilt_deg:g} is out of range: cranial/caudal tilt must be within "
                f"-{MAX_TILT_DEG:g}..+{MAX_TILT_DEG:g} degrees"
            )
        if not -MAX_ROTATION_DEG <= self.rotation_deg <= MAX_ROTATION_DEG:
            raise RequestError(
                f"rotation_deg={self.rotation_deg:g} is out of range: oblique rotation must be "
                f"within -{MAX_ROTATION_DEG:g}..+{MAX_ROTATION_DEG:g} degrees"
            )
        if not (0 < self.sod_mm < self.sid_mm):
            raise RequestError(f"need 0 < sod_mm < sid_mm, got sod_mm={self.sod_mm:g}, sid_mm={self.sid_mm:g}")
        if not self.fov_mm > 0:
            raise RequestError(f"fov_mm must be positive, got {self.fov_mm:g}")

    # -- presets --------------------------------------------------------------------------
    @classmethod
    def ap(cls, level=None, *, isocentre=None, tilt_deg: float = 0.0, model=None, **kw) -> "CArmPose":
        """True AP (optionally tilted cranial > 0 / caudal < 0).

        ``level`` is a name ("L4-L5", "L4") centred with ``model`` (default: the default
        spine model) or a 3D point; ``isocentre`` overrides it.
        """
        return cls("ap", _iso(level, isocentre, model), 0.0, tilt_deg, level=_label(level), **kw)

    @classmethod
    def lateral(
        cls, level=None, *, isocentre=None, side: str = "left", tilt_deg: float = 0.0, model=None, **kw
    ) -> "CArmPose":
        """Lateral; ``side`` is where the detector is (default: patient's left)."""
        sign = _side_sign(side)
        return cls("lateral", _iso(level, isocentre, model), 90.0 * sign, tilt_deg, level=_label(level), **kw)

    @classmethod
    def oblique(
        cls,
        level=None,
        deg: float = 30.0,
        side: str = "right",
        *,
        isocentre=None,
        tilt_deg: float = 0.0,
        model=None,
        **kw,
    ) -> "CArmPose":
        """Oblique of ``deg`` degrees with the detector turned toward ``side``.

        For a right-sided target ``side="right"`` is the ipsilateral oblique (the Scotty dog
        of the right side); ``deg`` must be within 0..90 (the side gives the sign).
        """
        deg = float(deg)
        if not 0.0 <= deg <= MAX_ROTATION_DEG:
            raise RequestError(
                f"oblique deg={deg:g} is out of range: must be within 0..{MAX_ROTATION_DEG:g} "
                f"degrees (the side gives the direction)"
            )
        return cls(
            "oblique", _iso(level, isocentre, model), deg * _side_sign(side), tilt_deg, level=_label(level), **kw
        )

    def with_(self, **changes) -> "CArmPose":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # -- geometry -------------------------------------------------------------------------
    @property
    def rotation_matrix(self) -> np.ndarray:
        """Columns: image right (u), image up (v), beam direction (d) in patient coords."""
        r = _rz(-math.radians(self.rotation_deg)) @ _rx(math.radians(self.tilt_deg))
        # Operator's view from behind the prone patient: the patient's left is on the image
        # LEFT, so image right (u) is the patient's RIGHT (-x) on AP.
        u0 = np.array([-1.0, 0.0, 0.0])
        v0 = np.array([0.0, 0.0, 1.0])
        d0 = np.array([0.0, 1.0, 0.0])
        return np.column_stack([r @ u0, r @ v0, r @ d0])

    @property
    def beam_direction(self) -> np.ndarray:
        return self.rotation_matrix[:, 2]

    @property
    def source(self) -> np.ndarray:
        return np.asarray(self.isocentre) - self.beam_direction * self.sod_mm

    @property
    def detector_centre(self) -> np.ndarray:
        return np.asarray(self.isocentre) + self.beam_direction * (self.sid_mm - self.sod_mm)

    @property
    def magnification(self) -> float:
        return self.sid_mm / self.sod_mm

    def pixel_pitch(self, size: int) -> float:
        """Detector pixel size in mm for a ``size`` x ``size`` image spanning the field."""
        return self.fov_mm / size

    def detector_points(self, size: int, rows=None, cols=None) -> np.ndarray:
        """3D centres of detector pixels (row 0 = top) as (len(rows), len(cols), 3)."""
        rows = np.arange(size) if rows is None else np.asarray(rows)
        cols = np.arange(size) if cols is None else np.asarray(cols)
        pitch = self.pixel_pitch(size)
        rot = self.rotation_matrix
        uu = (cols + 0.5 - size / 2) * pitch
        vv = -(rows + 0.5 - size / 2) * pitch
        return (
            self.detector_centre[None, None, :]
            + uu[None, :, None] * rot[:, 0][None, None, :]
            + vv[:, None, None] * rot[:, 1][None, None, :]
        )

    def project(self, points, size: int) -> np.ndarray:
        """Perspective projection of 3D points to (col, row) pixel coords, shape (N, 2).

        Pixel centres are at integer coordinates (col 0 .. size-1, row 0 = top).
        """
        p = np.atleast_2d(np.asarray(points, dtype=float))
        rot = self.rotation_matrix
        w = (p - self.source) @ rot  # (u, v, depth) relative to the source
        depth = w[:, 2]
        scale = self.sid_mm / np.where(np.abs(depth) < 1e-9, 1e-9, depth)
        pitch = self.pixel_pitch(size)
        col = w[:, 0] * scale / pitch + size / 2 - 0.5
        row = -w[:, 1] * scale / pitch + size / 2 - 0.5
        return np.column_stack([col, row])

    def describe(self) -> str:
        """Short human label, e.g. 'AP 15° cranial' or 'right oblique 30°'."""
        parts = []
        if self.view == "ap" or abs(self.rotation_deg) < 0.5:
            parts.append("AP")
        elif abs(abs(self.rotation_deg) - 90) < 0.5:
            parts.append("lateral")
        else:
            side = "left" if self.rotation_deg > 0 else "right"
            parts.append(f"{side} oblique {abs(self.rotation_deg):.0f}°")
        if abs(self.tilt_deg) >= 0.5:
            parts.append(f"{abs(self.tilt_deg):.0f}° {'cranial' if self.tilt_deg > 0 else 'caudal'}")
        return " ".join(parts)

    def cache_key(self) -> dict:
        return {
            "isocentre": [round(v, 4) for v in self.isocentre],
            "rotation_deg": round(self.rotation_deg, 4),
            "tilt_deg": round(self.tilt_deg, 4),
            "sid_mm": round(self.sid_mm, 4),
            "sod_mm": round(self.sod_mm, 4),
            "fov_mm": round(self.fov_mm, 4),
        }


def interpolate_poses(a: CArmPose, b: CArmPose, steps: int) -> list[CArmPose]:
    """``steps`` poses from ``a`` (exclusive) to ``b`` (inclusive), as the C-arm turns."""
    out = []
    ia, ib = np.asarray(a.isocentre), np.asarray(b.isocentre)
    for k in range(1, steps + 1):
        f = k / steps
        view = b.view if k == steps else "turning"
        out.append(
            CArmPose(
                view,
                tuple(ia + (ib - ia) * f),
                a.rotation_deg + (b.rotation_deg - a.rotation_deg) * f,
                a.tilt_deg + (b.tilt_deg - a.tilt_deg) * f,
                a.sid_mm + (b.sid_mm - a.sid_mm) * f,
                a.sod_mm + (b.sod_mm - a.sod_mm) * f,
                a.fov_mm + (b.fov_mm - a.fov_mm) * f,
                level=b.level,
            )
        )
    return out


def _side_sign(side: str) -> float:
    if side == "left":
        return 1.0
    if side == "right":
        return -1.0
    raise RequestError(f"side must be 'left' or 'right', got {side!r}")


def _label(level) -> str | None:
    return level if isinstance(level, str) else None


def _iso(level, isocentre, model=None):
    """Isocentre: an explicit point, else the centre of ``level`` in ``model`` (default model)."""
    if isocentre is not None:
        return tuple(np.asarray(isocentre, dtype=float).reshape(3))
    if level is None:
        return (0.0, 0.0, 0.0)
    if isinstance(level, str):
        from spine.imaging.anchors import level_centre

        return tuple(level_centre(level, model))
    return tuple(np.asarray(level, dtype=float).reshape(3))
