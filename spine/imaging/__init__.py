"""Simulated fluoroscopy (C-arm) images of the spine model.

Public API:

* :class:`CArmPose` -- where the C-arm is (``.ap``, ``.lateral``, ``.oblique`` presets);
* :class:`FluoroImager` -- cached anatomy + needle / contrast layers -> grey frames;
* :class:`Needle` -- a steel needle on a 3D line (the same line the illustration draws);
* :class:`Detector` -- noise, log response, polarity, collimation, vignetting;
* :func:`contrast_pattern` -- growing 3D contrast volumes for each confirmation;
* :func:`render_still` -- one PNG (``render.py still``);
* :class:`FluoroPanel` (``scenes.kit.fluoro_panel``, imports Manim) -- the panel in videos.
"""

from .carm import CArmPose, interpolate_poses
from .detector import Detector, Exposure
from .layers import GAUGE_OD_MM, FluoroImager, Needle
from .projector import MU_PER_MM, Projector

__all__ = [
    "CArmPose",
    "interpolate_poses",
    "Detector",
    "Exposure",
    "FluoroImager",
    "Needle",
    "GAUGE_OD_MM",
    "MU_PER_MM",
    "Projector",
]
