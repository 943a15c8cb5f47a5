"""Captions from the measured speech: cues, line breaking, SRT and WebVTT.

Caption conventions kept here (common broadcast / streaming guidelines):

- at most 2 lines of at most 42 characters;
- each cue on screen 1 to 7 seconds;
- at most 20 characters per second of display time;
- a cue never overlaps the next one;
- a cue starts with its sentence (the start measured in the synthesised audio).

Speech is already synthesised one caption-sized piece at a time (``speech.caption_pieces``),
so each spoken sentence becomes one cue. A cue stays up a little after its speech ends
(``LINGER_S``), longer when needed to reach 1 s or 20 characters per second, but never
into the next cue; if that still leaves it too short or too fast, it is merged with the
next cue when the two fit together.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import srt

from spine.atomic_files import atomic_write

if TYPE_CHECKING:
    from voiceover.speech_types import SpokenBeat

MAX_LINE_CHARS = 42
MAX_LINES = 2
MIN_CUE_S = 1.0
MAX_CUE_S = 7.0
MAX_CPS = 20.0
START_TOLERANCE_S = 0.1
LINGER_S = 0.3

# Words a line should not end on (a break after them strands them from what they modify).
_WEAK_ENDINGS = {
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "and",
    "or",
    "from",
    "el",
    "la",
    "los",
    "las",
    "un",
    "una",
    "de",
    "del",
    "al",
    "en",
    "y",
    "o",
    "con",
    "por",
    "que",
}


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str  # at most one "\n"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def chars(self) -> int:
        return len(self.text.replace("\n", " "))


def wrap_lines(text: str, width: int = MAX_LINE_CHARS) -> list[str]:
    """Break ``text`` into as few lines of at most ``width`` characters as possible.

    Two lines are balanced, preferring a break after punctuation and never after an
    article or preposition when another break fits. A single word longer than
    ``width`` stays whole (check_cues reports it).
    """
    text = " ".join(text.split())
    if len(text) <= width:
        return [text] if text else []
    words = text.split(" ")
    best: tuple[float, int] | None = None
    for i in range(1, len(words)):
        first, second = " ".join(words[:i]), " ".join(words[i:])
        if len(first) > width or len(second) > width:
            continue
        cost = abs(len(first) - len(second))
        last = words[i - 1]
        if last[-1] in ",;:":
            cost -= 12
        elif last.lower() in _WEAK_ENDINGS:
            cost += 15
        if best is None or cost < best[0]:
            best = (cost, i)
    if best is not None:
        return [" ".join(words[: best[1]]), " ".join(words[best[1] :])]
    # Does not fit in two lines: greedy fill (the caller decides what to do with > 2 lines).
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines


def fits_cue(text: str) -> bool:
    """Whether ``text`` fits one cue: at most 2 lines of at most 42 characters."""
    lines = wrap_lines(text)
    return len(lines) <= MAX_LINES and all(len(line) <= MAX_LINE_CHARS for line in lines)


def build_cues(beats: Sequence["SpokenBeat"], starts_s: Sequence[float]) -> list[Cue]:
    """One cue per spoken sentence, placed at ``starts_s[i] + sentence.start_s``."""
    if len(beats) != len(starts_s):
        raise ValueError(f"{len(beats)} beats but {len(starts_s)} start times")
    spans: list[tuple[float, float, str]] = []
    for beat, offset in zip(beats, starts_s):
        for sentence in beat.sentences:
            text = " ".join(sentence.text.split())
            if text:
                spans.append((offset + sentence.start_s, offset + sentence.end_s, text))
    spans.sort(key=lambda s: s[0])

    cues: list[Cue] = []
    i = 0
    while i < len(spans):
        start, speech_end, text = spans[i]
        j = i + 1
        end = _cue_end(start, speech_end, text, spans[j][0] if j < len(spans) else None)
        # Too short or too fast to read: take the next sentence along if they fit together.
        while j < len(spans) and _too_quick(start, end, text):
            merged = f"{text} {spans[j][2]}"
            merged_end = _cue_end(start, spans[j][1], merged, spans[j + 1][0] if j + 1 < len(spans) else None)
            if not fits_cue(merged) or merged_end - start > MAX_CUE_S:
                break
            text, speech_end, end = merged, spans[j][1], merged_end
            j += 1
        cues.append(Cue(round(start, 3), round(end, 3), "\n".join(wrap_lines(text))))
        i = j
    return cues


def _cue_end(start: float, speech_end: float, text: str, next_start: float | None) -> float:
    wanted = max(speech_end + LINGER_S, start + MIN_CUE_S, start + len(text) / MAX_CPS)
    end = min(wanted, start + MAX_CUE_S)
    if next_start is not None:
        end = min(end, next_start)
    return end


def _too_quick(start: float, end: float, text: str) -> bool:
    duration = end - start
    return duration < MIN_CUE_S - 1e-6 or len(text) / max(duration, 1e-6) > MAX_CPS + 1e-6


def check_cues(cues: Iterable[Cue]) -> list[str]:
    """Every caption guideline the cues break, one line each; empty when all is well."""
    problems: list[str] = []
    cues = list(cues)
    for n, cue in enumerate(cues, start=1):
        where = f"cue {n} ({_clock(cue.start_s, ',')})"
        lines = cue.text.split("\n")
        if not cue.text.strip():
            problems.append(f"{where}: empty text")
        if len(lines) > MAX_LINES:
            problems.append(f"{where}: {len(lines)} lines (at most {MAX_LINES})")
        for line in lines:
            if len(line) > MAX_LINE_CHARS:
                problems.append(f"{where}: line of {len(line)} characters (at most {MAX_LINE_CHARS}): {line!r}")
        d = cue.duration_s
        if d < MIN_CUE_S - 1e-6:
            problems.append(f"{where}: on screen {d:.2f} s (at least {MIN_CUE_S:g} s)")
        if d > MAX_CUE_S + 1e-6:
            problems.append(f"{where}: on screen {d:.2f} s (at most {MAX_CUE_S:g} s)")
        if d > 0 and cue.chars / d > MAX_CPS + 1e-6:
            problems.append(f"{where}: {cue.chars / d:.1f} characters per second (at most {MAX_CPS:g})")
        if d <= 0:
            problems.append(f"{where}: ends before it starts")
        if n < len(cues) and cue.end_s > cues[n].start_s + 1e-6:
            problems.append(f"{where}: overlaps the next cue by {cue.end_s - cues[n].start_s:.3f} s")
    return problems


# SRT is written and read by the ``srt`` library (the format's timestamps, numbering and block
# rules, tested there against many real files) rather than by our own formatting. WebVTT has no
# library as small and well kept; our writer is a few lines, checked by tests/test_voiceover_captions.py.


def _delta(seconds: float) -> _dt.timedelta:
    return _dt.timedelta(milliseconds=max(0, int(round(seconds * 1000))))


def srt_text(cues: Iterable[Cue]) -> str:
    return srt.compose(
        [srt.Subtitle(n, _delta(c.start_s), _delta(c.end_s), c.text) for n, c in enumerate(cues, start=1)],
        reindex=False,
    )


def parse_srt(text: str) -> list[Cue]:
    """The cues of an SRT file's text (times in seconds, to the millisecond)."""
    return [Cue(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in srt.parse(text)]


def vtt_text(cues: Iterable[Cue]) -> str:
    blocks = [f"{_clock(c.start_s, '.')} --> {_clock(c.end_s, '.')}\n{_vtt_escape(c.text)}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    """WebVTT cue text: '&' and '<' are markup there, and a blank line or '-->' would end the cue."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "\n".join(line for line in text.split("\n") if line.strip())


def cue_records(cues: Iterable[Cue]) -> list[dict]:
    """The cues as JSON-ready records (for the sidecar): start and end in seconds, the text's lines."""
    return [{"start_s": round(c.start_s, 3), "end_s": round(c.end_s, 3), "text": c.text} for c in cues]


def write_srt(cues: Iterable[Cue], path: Path) -> None:
    atomic_write(Path(path), srt_text(cues))


def write_vtt(cues: Iterable[Cue], path: Path) -> None:
    atomic_write(Path(path), vtt_text(cues))


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
