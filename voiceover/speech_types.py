"""What speech is, shared by synthesis (:mod:`.speech`), recordings (:mod:`.recorded`), captions,
voices and the mix: the sample rate, a spoken beat and its sentences, the narration error, and the
conversions between float samples and pydub segments.

Its own module so that those modules import it and not each other (speech and recordings, speech
and voices, speech and captions imported each other before); ``make test`` keeps it so
(import-linter: this module imports no other module of ``voiceover``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import TYPE_CHECKING

from spine.errors import SpineError

if TYPE_CHECKING:  # numpy and pydub load when sound is made, not when a no-change build checks its inputs
    import numpy as np
    from pydub import AudioSegment

__all__ = [
    "SAMPLE_RATE",
    "PAD_S",
    "PIPER_VOICE",
    "PIPER_LANGS",
    "NarrationError",
    "Sentence",
    "SpokenBeat",
    "Piece",
    "resample",
    "to_segment",
    "to_array",
]

SAMPLE_RATE = 48_000
PAD_S = 0.02  # silence kept before and after each piece's speech
PIPER_VOICE = "en_US-joe-medium"  # the bundled voice
PIPER_LANGS = ("en",)  # languages the bundled Piper voice speaks


class NarrationError(SpineError, ValueError):
    """Narration cannot be produced: bad engine/language, missing tool, bad recording. One line."""


@dataclass(frozen=True)
class Sentence:
    """One caption-sized piece of speech."""

    text: str  # WRITTEN form (captions keep "L4-L5", "mL", "°C")
    start_s: float  # relative to the beat's audio start, measured from the audio
    end_s: float


@dataclass
class SpokenBeat:
    id: str
    audio: AudioSegment  # mono, 48000 Hz, 16-bit
    sentences: list[Sentence]
    source: str  # "piper:en_US-joe-medium", "espeak:es", "recorded:<path>", "none"

    @property
    def duration_s(self) -> float:
        return len(self.audio.raw_data) / (2 * SAMPLE_RATE)


@dataclass(frozen=True)
class Piece:
    """A caption-sized piece of a beat's written text."""

    text: str
    ends_sentence: bool


def resample(x: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """``x`` (mono float) from ``rate`` to ``target`` Hz, polyphase (scipy)."""
    import numpy as np

    x = np.asarray(x, np.float32)
    if rate == target or len(x) == 0:
        return x
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(target))
    # Kaiser beta 10: images and aliases ~100 dB down (the default beta 5 leaves them at -60 dB).
    return resample_poly(x, target // g, int(rate) // g, window=("kaiser", 10.0)).astype(np.float32)


def to_segment(x: np.ndarray) -> AudioSegment:
    """float mono at SAMPLE_RATE -> 16-bit pydub segment."""
    import numpy as np
    from pydub import AudioSegment

    pcm = np.clip(np.round(np.asarray(x, np.float64) * 32767), -32768, 32767).astype("<i2")
    return AudioSegment(pcm.tobytes(), frame_rate=SAMPLE_RATE, sample_width=2, channels=1)


def to_array(segment: AudioSegment) -> np.ndarray:
    """pydub segment -> float mono at SAMPLE_RATE."""
    import numpy as np

    seg = segment.set_channels(1).set_frame_rate(SAMPLE_RATE).set_sample_width(2)
    return np.frombuffer(seg.raw_data, dtype="<i2").astype(np.float32) / 32767
