"""Render qualities: frame size and rate of each, as the settings define them (``spine/settings.py``).

``QUALITIES`` is the table every module reads (plugins may add a quality to it at run time);
its numbers, the default quality and the encoder's settings are written only in the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from spine.settings import settings_or_defaults


@dataclass(frozen=True)
class Quality:
    name: str
    width: int
    height: int
    fps: int


QUALITIES: dict[str, Quality] = {
    name: Quality(name, q.width, q.height, q.fps) for name, q in settings_or_defaults().qualities.items()
}
DEFAULT_QUALITY: str = settings_or_defaults().default_quality
