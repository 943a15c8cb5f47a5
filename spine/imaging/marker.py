"""The R / L side marker of a fluoroscopy image.

A radiographer puts a lead letter on the table so every image says which side of the patient
is which. Here the letter is placed from the C-arm's geometry, never from a fixed corner:
the patient's side is projected with the pose (:meth:`CArmPose.project`), so the letter sits
on the half of the image where that side of the anatomy really is, whatever the view, the
turn of the C-arm or a mirrored monitor (``flip_lr``).

* AP and obliques: the letter of the requested side (``R`` for a right-sided injection), on
  that side of the image, in the upper quadrant of the round field.
* Lateral (the patient's sides overlap): the letter of the side nearest the detector, as a
  lateral marker is placed, in the upper corner on the image's posterior side (clear of the
  vertebral bodies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .carm import CArmPose

__all__ = ["SideMarker", "burn_marker", "side_marker"]

# x = patient's LEFT in model coordinates
_AXIS = {"left": np.array([1.0, 0.0, 0.0]), "right": np.array([-1.0, 0.0, 0.0])}
_LETTER = {"left": "L", "right": "R"}
_REACH_MM = 60.0  # how far from the isocentre the side is sampled
_INSET = 0.6  # marker centre, as a fraction of the field radius along each image axis


@dataclass(frozen=True)
class SideMarker:
    """The letter, the patient side it names, and its centre in image pixels (col, row; row 0 = top)."""

    letter: str
    side: str
    col: float
    row: float
    lateral: bool  # True on a lateral view: the letter names the side nearest the detector


def side_marker(
    pose: CArmPose, side: str | None, size: int, *, flip_lr: bool = False, field_fraction: float = 0.96
) -> SideMarker:
    """Where the R / L marker goes on a ``size`` x ``size`` image of ``pose``.

    ``side`` is the treated side ("left" / "right"); None (a midline procedure) marks the
    patient's right."""
    if side not in (None, "left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    side = side or "right"
    iso = np.asarray(pose.isocentre, float)
    centre = (size - 1) / 2
    radius = size / 2 * field_fraction
    pts = pose.project(np.stack([iso, iso + _AXIS[side] * _REACH_MM, iso + np.array([0.0, _REACH_MM, 0.0])]), size)
    toward = pts[1, 0] - pts[0, 0]  # image columns the requested side lies toward
    lateral = abs(toward) < 0.08 * size
    if lateral:
        # the sides overlap: name the one nearest the detector (the beam runs toward it)
        side = "left" if float(np.dot(pose.beam_direction, _AXIS["left"])) > 0 else "right"
        toward = pts[2, 0] - pts[0, 0]  # the posterior side of the image
    col = centre + np.sign(toward or 1.0) * _INSET * radius
    if flip_lr:
        col = size - 1 - col
    return SideMarker(_LETTER[side], side, float(col), float(centre - _INSET * radius), lateral)


def burn_marker(grey: np.ndarray, marker: SideMarker, *, level: float = 0.97) -> np.ndarray:
    """The image with the marker's letter drawn into it (light, like a lead letter's shadow on
    the monitor), for stills written as plain images; the video panel draws it as text instead.
    Uses the bundled DejaVu Sans Bold."""
    from pathlib import Path

    from PIL import Image, ImageDraw, ImageFont

    size = grey.shape[0]
    font_path = Path(__file__).resolve().parents[2] / "assets" / "fonts" / "DejaVuSans-Bold.ttf"
    font = ImageFont.truetype(str(font_path), max(8, int(size * 0.06)))
    canvas = Image.new("L", grey.shape[::-1], 0)
    ImageDraw.Draw(canvas).text((marker.col, marker.row), marker.letter, fill=255, font=font, anchor="mm")
    alpha = np.asarray(canvas, np.float32) / 255.0
    return (grey * (1.0 - alpha) + level * alpha).astype(grey.dtype)
