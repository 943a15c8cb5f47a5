"""Render qualities: frame size and rate of each, one home for these numbers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quality:
    name: str
    width: int
    height: int
    fps: int


QUALITIES: dict[str, Quality] = {
    q.name: q
    for q in (
        Quality("preview", 854, 480, 15),
        Quality("720p", 1280, 720, 30),
        Quality("1080p", 1920, 1080, 30),
        Quality("1440p", 2560, 1440, 30),
        Quality("2160p", 3840, 2160, 30),
    )
}
DEFAULT_QUALITY = "1080p"
