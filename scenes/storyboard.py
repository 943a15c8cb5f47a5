"""A storyboard: the beats of a video with their frame-exact timing.

Narration drives timing. The pipeline synthesises each beat's speech first, then
:func:`schedule` turns speech durations into frames: a beat lasts its speech plus a
short pause, rounded up to whole frames, and starts where the previous one ended.
Scenes read the storyboard and fit their animations inside each beat; the narration
mix and the captions read the same start times, so sound, picture and captions agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

PAUSE_AFTER_SPEECH_S = 0.7  # breathing room after each beat's speech
MIN_BEAT_S = 2.0  # a beat is never shorter than this on screen


@dataclass(frozen=True)
class TimedBeat:
    id: str
    chapter: str
    text: str
    start_frame: int
    frames: int
    fps: int
    speech_s: float

    @property
    def start_s(self) -> float:
        return self.start_frame / self.fps

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    @property
    def end_s(self) -> float:
        return (self.start_frame + self.frames) / self.fps


@dataclass(frozen=True)
class Storyboard:
    """What a scene needs to draw a video: its beats in order and the request's context."""

    video: str
    beats: tuple[TimedBeat, ...]
    fps: int
    context: dict[str, Any] = field(default_factory=dict)
    #: spine.video_props.VideoProps: the scene's typed inputs (plan, procedure data, words), made once
    #: per request by the pipeline; derived from the context and the data, so not part of equality
    props: Any = field(default=None, compare=False)

    @property
    def total_frames(self) -> int:
        return sum(b.frames for b in self.beats)

    @property
    def duration_s(self) -> float:
        return self.total_frames / self.fps

    @property
    def starts_s(self) -> list[float]:
        return [b.start_s for b in self.beats]

    def beat(self, beat_id: str) -> TimedBeat:
        for b in self.beats:
            if b.id == beat_id:
                return b
        raise KeyError(beat_id)


def schedule(
    video: str,
    beats: Sequence[Any],
    speech_seconds: Sequence[float],
    fps: int,
    context: dict[str, Any] | None = None,
    pause_s: float = PAUSE_AFTER_SPEECH_S,
) -> Storyboard:
    """Lay beats end to end: each lasts ceil((speech + pause) * fps) frames (at least MIN_BEAT_S).

    ``beats`` need ``id``, ``chapter`` and ``text`` attributes (script beats).
    """
    if len(beats) != len(speech_seconds):
        raise ValueError("one speech duration per beat is needed")
    timed, frame = [], 0
    for beat, speech in zip(beats, speech_seconds):
        seconds = max(float(speech) + pause_s, MIN_BEAT_S)
        frames = math.ceil(round(seconds * fps, 6))
        timed.append(TimedBeat(beat.id, beat.chapter, beat.text, frame, frames, fps, float(speech)))
        frame += frames
    return Storyboard(video, tuple(timed), fps, dict(context or {}))
