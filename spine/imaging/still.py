"""One fluoroscopy still as a PNG (``render.py still NAME --level L4-L5 --view oblique``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from spine.errors import RequestError

from .carm import CArmPose
from .detector import Detector, to_uint8
from .layers import FluoroImager, Needle

__all__ = ["render_still", "pose_for", "VIEWS", "DEFAULT_OBLIQUE_DEG"]

VIEWS = ("ap", "lateral", "oblique")
DEFAULT_OBLIQUE_DEG = 30.0  # lumbar Scotty dog, ~20-30 deg (clinical.md 3.2, unverified)


def pose_for(
    level: str, view: str, oblique_deg: float | None = None, tilt_deg: float = 0.0, side: str = "right", model=None
) -> CArmPose:
    """The C-arm pose for a view name; errors are one-line ValueErrors."""
    if view not in VIEWS:
        raise RequestError(f"unknown view {view!r}: choose one of {', '.join(VIEWS)}")
    if oblique_deg is not None and view != "oblique":
        raise RequestError(f"--oblique-deg applies only to --view oblique (got --view {view})")
    if view == "ap":
        return CArmPose.ap(level, tilt_deg=tilt_deg, model=model)
    if view == "lateral":
        return CArmPose.lateral(level, tilt_deg=tilt_deg, model=model)
    deg = DEFAULT_OBLIQUE_DEG if oblique_deg is None else float(oblique_deg)
    return CArmPose.oblique(level, deg, side, tilt_deg=tilt_deg, model=model)


def write_png_atomic(grey: np.ndarray, out: Path) -> Path:
    from spine.atomic_files import atomic_write

    return atomic_write(Path(out), lambda fh: Image.fromarray(to_uint8(grey), mode="L").save(fh, format="PNG"))


def render_still(
    level: str,
    view: str,
    oblique_deg: float | None = None,
    tilt_deg: float = 0.0,
    size: int = 512,
    out: Path | str = Path("still.png"),
    side: str = "right",
    needle: Needle | None = None,
    *,
    contrast=None,
    model=None,
    cache_dir=None,
    seed: int = 0,
    detector: Detector | None = None,
    marker: bool = False,
) -> Path:
    """Render one C-arm image of ``level`` and write it as a grey PNG (atomically); returns the path.

    ``side`` is the side of the target: the oblique turns the detector toward it
    (ipsilateral oblique). ``contrast`` may be a list of CONTRAST structures or
    ``(ContrastPattern, progress)``. ``marker`` burns the R / L letter into the image on the
    patient's side, as every fluoroscopy image the videos show carries it (``render.py still``).
    """
    if not 16 <= int(size) <= 4096:
        raise RequestError(f"size must be within 16..4096 px, got {size}")
    if model is None:
        from .anchors import default_model

        model = default_model()
    pose = pose_for(level, view, oblique_deg, tilt_deg, side, model)
    imager = FluoroImager(model, pose, int(size), cache_dir=cache_dir, seed=seed, detector=detector)
    density = 1.0
    if isinstance(contrast, tuple):
        pattern, progress = contrast
        contrast, density = pattern.at(progress), pattern.density(progress)
    grey = imager.frame(needle=needle, contrast=contrast, density=density)
    if marker:
        from .marker import burn_marker, side_marker

        grey = burn_marker(grey, side_marker(pose, side, int(size)))
    return write_png_atomic(grey, Path(out))
