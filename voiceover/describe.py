"""Audio description: what a video only shows, in words, spoken by a second voice.

Every beat has a ``describe:`` text (its script's own, else the shared vocabulary's default
for the kind of video: ``describe: procedure:`` in ``_vocabulary.yaml``). From it come:

- the WebVTT ``kind="descriptions"`` track of every video (a cue in each beat's pause, after
  its narration, for a screen reader to read), and
- the described version (``render.py render --described``): each description is spoken by
  a second voice after the beat's narration; where the pause is too short, the picture
  holds on the beat's last frame for the difference (extended description, WCAG 1.2.7),
  so a description never covers the narration. :func:`layout` computes those holds.

The second voice is chosen as the narration's is (``--describer-voice piper|espeak``,
``--describer-voice-model``, a config's ``describer:``; see :func:`voiceover.speech.choose_describer`):
by default espeak-ng with a different voice variant (``+f3``) in the video's language, a
second installed Piper voice where one is given, or silence of reading length when the
narration is silent (``--voice none``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voiceover.captions import Cue, wrap_lines
from voiceover.scripts import ScriptError

GAP_BEFORE_S = 0.35  # silence between the narration's end and the description
GAP_AFTER_S = 0.35  # silence after the description before the next beat's narration
DESCRIBER_VARIANT = "+f3"  # espeak-ng voice variant: a second voice, unlike the narrator's


@dataclass(frozen=True)
class BeatDescription:
    beat_id: str
    text: str


def descriptions_for(script, kind: str | None, context: dict) -> list[BeatDescription]:
    """Each beat's description, filled for the request: the script's own, else the vocabulary's
    default for ``kind`` (e.g. ``procedure``); a beat without either has none (empty text)."""
    from voiceover.vocabulary import load_vocabulary

    defaults = load_vocabulary(script.lang).describe.get(kind or "", {}) if kind else {}
    out = []
    for beat in script.beats:
        text = beat.describe
        if not text:
            key = beat.id
            dye = context.get("dye", bool(context.get("contrast_pattern_words")))  # the scene shows dye spreading
            if beat.id == "confirm" and not dye and "confirm.no_dye" in defaults:
                key = "confirm.no_dye"
            if beat.id == "medicine" and not context.get("medication") and "medicine.no_drug" in defaults:
                key = "medicine.no_drug"
            template = defaults.get(key, "")
            try:
                text = " ".join(str(template).format_map(context).split())
            except (KeyError, IndexError) as exc:
                raise ScriptError(
                    f"the '{script.lang}' description of beat '{beat.id}' uses the unknown field {exc}"
                ) from exc
        out.append(BeatDescription(beat.id, text))
    return out


def describer_voice(engine: str, lang: str, model: Path | None = None) -> tuple[str, str]:
    """(engine, voice name) of the second voice: ``engine`` is the describer's own (piper, espeak
    or none), ``model`` its installed Piper voice (checked), else the bundled one."""
    from voiceover.speech import ESPEAK_VOICES, PIPER_VOICE, use_piper_model

    if engine == "none":
        return "none", "none"
    if engine == "piper":
        if model is None:
            return "piper", PIPER_VOICE
        from voiceover.voices import check_piper_model

        return "piper", use_piper_model(check_piper_model(model, lang))
    return "espeak", ESPEAK_VOICES.get(lang, lang) + DESCRIBER_VARIANT


def speak_descriptions(
    descriptions: Sequence[BeatDescription], engine: str, lang: str, cache_dir: Path, model: Path | None = None
):
    """A SpokenBeat per description (empty ones silent and zero-length), in the second voice
    (``engine``: the describer's piper, espeak or none; ``model``: its Piper voice)."""
    import numpy as np

    from voiceover.lexicon import load_lexicon
    from voiceover.speech import (
        NarrationError,
        SpokenBeat,
        _assemble,
        _piece_clip,
        _silent_beat,
        caption_pieces,
        check_engines,
        to_segment,
    )

    engine_name, voice = describer_voice(engine, lang, model)
    lexicon = load_lexicon(lang)
    if engine_name != "none" and check_engines()[engine_name]:
        raise NarrationError(
            f"the described version needs {engine_name} for its second voice: {check_engines()[engine_name]}"
        )
    out = []
    for d in descriptions:
        if not d.text:
            out.append(SpokenBeat(d.beat_id, to_segment(np.zeros(0, np.float32)), [], "none"))
            continue
        pieces = caption_pieces(d.text, lang)
        if engine_name == "none":
            out.append(_silent_beat(d.beat_id, pieces))
            continue
        clips = [_piece_clip(engine_name, voice, lang, lexicon.spoken(p.text), Path(cache_dir)) for p in pieces]
        audio, sentences = _assemble(pieces, clips)
        out.append(SpokenBeat(d.beat_id, to_segment(audio), sentences, f"{engine_name}:{voice}"))
    return out


@dataclass(frozen=True)
class DescribedBeat:
    """One beat of the described version: where it starts, how long its picture holds at the end."""

    id: str
    chapter: str
    start_s: float  # start in the described version
    end_s: float  # end in the described version (plain length + hold)
    hold_frames: int  # frames the beat's last picture is held (extended description)
    description_s: float  # where its description speech starts (described version), or -1


def layout(beats, spoken, described, fps: int) -> list[DescribedBeat]:
    """Holds per beat so each description fits after its narration without covering any.

    ``beats``: the storyboard's TimedBeats; ``spoken``: their narration; ``described``: the
    description speech per beat. A beat's pause (its end minus the end of its narration) takes
    the description when it fits; otherwise the beat's last frame is held for whole frames.
    """
    out, offset = [], 0.0
    for beat, narration, description in zip(beats, spoken, described):
        length = description.duration_s
        speech_end = beat.start_s + narration.duration_s
        hold = 0
        desc_at = -1.0
        if length > 0:
            needed = GAP_BEFORE_S + length + GAP_AFTER_S
            free = beat.end_s - speech_end
            if needed > free + 1e-9:
                hold = int(-(-round((needed - free) * fps * 1000) // 1000))  # whole frames, rounded up
            desc_at = speech_end + offset + GAP_BEFORE_S
        start = beat.start_s + offset
        end = beat.end_s + offset + hold / fps
        out.append(DescribedBeat(beat.id, beat.chapter, start, end, hold, desc_at))
        offset += hold / fps
    return out


def description_cues(described, at_s: Sequence[float]) -> list[Cue]:
    """Cues where the description speech is: one per spoken piece, at ``at_s[i]`` + its offset."""
    cues = []
    for spoken, at in zip(described, at_s):
        if at < 0:
            continue
        for s in spoken.sentences:
            text = " ".join(s.text.split())
            if text:
                cues.append(Cue(round(at + s.start_s, 3), round(at + s.end_s, 3), "\n".join(wrap_lines(text))))
    return cues


def pause_cues(beats, spoken, descriptions: Sequence[BeatDescription], min_s: float = 1.0) -> list[Cue]:
    """The plain video's descriptions track: a cue per beat, in its pause after the narration
    (at least ``min_s`` long, and never past the beat), for a screen reader to read aloud."""
    cues = []
    for beat, narration, d in zip(beats, spoken, descriptions):
        if not d.text:
            continue
        end = beat.end_s
        start = min(beat.start_s + narration.duration_s, end - min_s)
        start = max(start, beat.start_s)
        cues.append(Cue(round(start, 3), round(end, 3), d.text))
    return cues
