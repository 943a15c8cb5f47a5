"""Speech synthesis with the real engines (piper joe, espeak-ng), the sentence timing and the cache."""

from __future__ import annotations

import os

from pathlib import Path

import numpy as np
import pytest

from voiceover import speech
from voiceover.scripts import ScriptBeat
from voiceover.speech import (
    ENGINES,
    NarrationError,
    SpokenBeat,
    caption_pieces,
    check_engines,
    speak_beats,
    split_sentences,
    to_array,
    voice_for,
)

BEATS = [
    ScriptBeat(
        "needle",
        "The needle",
        "The needle goes to the L4-L5 foramen, beside the L4 nerve root. "
        "About 1 to 2 mL of contrast outlines the nerve.",
    ),
    ScriptBeat(
        "medicine",
        "The medicine",
        "A strong medicine that fights inflammation, a corticosteroid, is then injected around "
        "the nerve, where it may ease the swelling and the pain. It works slowly.",
    ),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("speech-cache")


@pytest.fixture(scope="module")
def spoken(cache) -> list[SpokenBeat]:
    return speak_beats(BEATS, "piper", "en", video="test", cache_dir=cache)


def _frame_db(x: np.ndarray, a: float, b: float) -> float:
    seg = x[int(a * 48000) : int(b * 48000)]
    return 20 * np.log10(np.sqrt(np.mean(np.square(seg))) + 1e-9) if len(seg) else -200.0


def test_piper_gives_48k_mono_16bit_beats(spoken):
    assert [b.id for b in spoken] == ["needle", "medicine"]
    for beat in spoken:
        assert beat.source == "piper:en_US-joe-medium"
        assert (beat.audio.frame_rate, beat.audio.channels, beat.audio.sample_width) == (48000, 1, 2)
        assert beat.duration_s == pytest.approx(len(beat.audio) / 1000, abs=0.002)
        assert 2.0 < beat.duration_s < 15.0


def test_sentences_keep_the_written_form_and_are_split_at_clauses(spoken):
    assert [s.text for s in spoken[0].sentences] == [
        "The needle goes to the L4-L5 foramen, beside the L4 nerve root.",
        "About 1 to 2 mL of contrast outlines the nerve.",
    ]
    pieces = [s.text for s in spoken[1].sentences]
    assert pieces[-1] == "It works slowly."
    assert len(pieces) >= 3 and " ".join(pieces) == BEATS[1].text
    assert all(len(p) <= 80 for p in pieces)
    assert pieces[0].endswith(",")  # cut after a comma, not mid-phrase


def test_sentence_times_are_where_the_speech_is(spoken):
    for beat in spoken:
        x = to_array(beat.audio)
        loud = 20 * np.log10(np.max(np.abs(x)))
        previous_end = 0.0
        for s in beat.sentences:
            assert previous_end <= s.start_s < s.end_s <= beat.duration_s + 1e-3
            # the 20 ms just after the start and before the end hold speech; the gap before is silent
            assert _frame_db(x, s.start_s, s.start_s + 0.05) > loud - 45
            assert _frame_db(x, s.end_s - 0.05, s.end_s) > loud - 45
            if previous_end:
                assert _frame_db(x, previous_end + 0.03, s.start_s - 0.03) < loud - 60
                assert s.start_s - previous_end >= 0.2
            previous_end = s.end_s


def test_second_run_synthesises_nothing(spoken, cache, monkeypatch):
    def no_synthesis(*args):
        raise AssertionError("synthesised although everything is cached")

    monkeypatch.setattr(speech, "_synthesise", no_synthesis)
    again = speak_beats(BEATS, "piper", "en", video="test", cache_dir=cache)
    assert [b.audio.raw_data for b in again] == [b.audio.raw_data for b in spoken]
    assert [b.sentences for b in again] == [b.sentences for b in spoken]
    entries = list((cache / "piper").glob("*.wav"))
    assert len(entries) == sum(len(b.sentences) for b in spoken)
    assert not [p for p in cache.rglob("*") if p.suffix == ".tmp"]


def test_cache_key_covers_engine_voice_lang_and_engine_text():
    base = speech.cache_key("piper", "en_US-joe-medium", "en", "L4 L5")
    assert len(base) == 64
    assert (
        len(
            {
                base,
                speech.cache_key("espeak", "en_US-joe-medium", "en", "L4 L5"),
                speech.cache_key("piper", "other", "en", "L4 L5"),
                speech.cache_key("piper", "en_US-joe-medium", "es", "L4 L5"),
                speech.cache_key("piper", "en_US-joe-medium", "en", "L4-L5"),
            }
        )
        == 5
    )


def test_a_damaged_cache_entry_is_synthesised_again(tmp_path):
    beats = [ScriptBeat("one", "One", "Spinal injections.")]
    speak_beats(beats, "espeak", "en", video="t", cache_dir=tmp_path)
    (entry,) = (tmp_path / "espeak").glob("*.wav")
    entry.write_bytes(b"RIFF\x00garbage")
    again = speak_beats(beats, "espeak", "en", video="t", cache_dir=tmp_path)
    assert again[0].duration_s > 0.5 and entry.stat().st_size > 1000


def test_an_unwritable_cache_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(
        NarrationError, match=r"^t: beat 'one': cannot write the speech cache in .*not-a-folder/espeak: "
    ):
        speak_beats([ScriptBeat("one", "One", "Hello there.")], "espeak", "en", video="t", cache_dir=blocker)


def test_espeak_speaks_spanish(tmp_path):
    beats = [ScriptBeat("aguja", "La aguja", "La aguja va al agujero L4-L5. Se inyectan 1-2 mL de contraste.")]
    (beat,) = speak_beats(beats, "espeak", "es", video="t", cache_dir=tmp_path)
    assert beat.source == "espeak:es"
    assert [s.text for s in beat.sentences] == ["La aguja va al agujero L4-L5.", "Se inyectan 1-2 mL de contraste."]
    assert np.max(np.abs(to_array(beat.audio))) > 0.1


def test_piper_with_another_language_names_the_engines_that_speak_it(tmp_path):
    with pytest.raises(NarrationError, match=r"piper speaks only English.*'es'.*espeak, none"):
        speak_beats(BEATS, "piper", "es", video="t", cache_dir=tmp_path)


def test_unknown_engine_and_language_are_errors(tmp_path):
    with pytest.raises(NarrationError, match="unknown voice engine 'festival'; engines: piper, espeak, none"):
        speak_beats(BEATS, "festival", "en", video="t", cache_dir=tmp_path)
    with pytest.raises(NarrationError, match="no voice for 'xx'"):
        speak_beats(BEATS, "espeak", "xx", video="t", cache_dir=tmp_path)


def test_none_is_silence_of_reading_length_with_timing(tmp_path):
    spoken = speak_beats(BEATS, "none", "en", video="t", cache_dir=tmp_path)
    for beat, script in zip(spoken, BEATS):
        assert beat.source == "none"
        assert beat.audio.max == 0
        words = len(script.text.split())
        assert beat.duration_s == pytest.approx(words / 2.6, rel=0.35)
        assert [s.text for s in beat.sentences] == [p.text for p in caption_pieces(script.text)]
        assert all(a.end_s < b.start_s for a, b in zip(beat.sentences, beat.sentences[1:]))
    assert not (tmp_path / "none").exists()


def test_progress_callback_counts_beats_from_zero(tmp_path):
    calls = []
    speak_beats(BEATS, "none", "en", video="t", cache_dir=tmp_path, on_beat=lambda i, n, b: calls.append((i, n, b)))
    assert calls == [(0, 2, "needle"), (1, 2, "medicine")]


def test_check_engines_and_voice_names(monkeypatch):
    assert check_engines() == {"piper": None, "espeak": None, "none": None}
    assert tuple(check_engines()) == ENGINES
    assert voice_for("piper", "en") == "en_US-joe-medium"
    assert voice_for("espeak", "es") == "es" and voice_for("espeak", "en") == "en-us"
    assert voice_for("none", "fr") == "none"
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    assert check_engines()["espeak"] == "missing espeak-ng: install with apt-get install espeak-ng"


def test_sentence_splitting_keeps_abbreviations_and_decimals():
    assert split_sentences("Give 0.5 mL, e.g. at L4. Then wait. Dr. Smith checks it!") == [
        "Give 0.5 mL, e.g. at L4.",
        "Then wait.",
        "Dr. Smith checks it!",
    ]
    assert split_sentences("¿Duele? No mucho.") == ["¿Duele?", "No mucho."]


def test_long_sentences_become_caption_sized_pieces():
    text = (
        "Epidural injections go in between the bones at the back, or through the side openings "
        "where the nerves leave the spine and run down into the legs and the feet."
    )
    pieces = caption_pieces(text)
    assert " ".join(p.text for p in pieces) == text
    assert [p.ends_sentence for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert all(len(p.text) <= 80 for p in pieces)
    assert pieces[0].text == "Epidural injections go in between the bones at the back,"


def test_piper_speaks_a_sentence_the_same_every_time_and_everywhere():
    """Piper's random noise comes from a seed per sentence (voiceover/piper_noise.py): the
    same sentence gives the same samples whatever was spoken before it, and in a new process
    (so a clean CI machine times the storyboard exactly as this one)."""
    import hashlib
    import subprocess
    import sys

    text = "What they are, and how they are done."
    first = speech._synthesise("piper", "joe", "en", text)
    speech._synthesise("piper", "joe", "en", "Another sentence in between.")
    again = speech._synthesise("piper", "joe", "en", text)
    assert np.array_equal(first, again)
    code = (
        "import hashlib; from voiceover.speech import _synthesise; "
        f"print(hashlib.sha256(_synthesise('piper', 'joe', 'en', {text!r}).tobytes()).hexdigest())"
    )
    # ... and with one speech thread, as a worker of a parallel build has (SPINE_SPEECH_THREADS)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, SPINE_SPEECH_THREADS="1"),
    ).stdout.split()[-1]
    assert out == hashlib.sha256(first.tobytes()).hexdigest()


def test_piper_noise_nodes_become_inputs_and_a_short_noise_bound_is_retried_to_the_same_speech(monkeypatch):
    import onnx

    from voiceover import piper_noise

    model_path, _ = speech._piper_model_paths()
    graph = onnx.load_from_string(piper_noise.noise_fed_model(model_path)).graph
    assert not [n.name for n in graph.node if n.op_type.startswith("Random")]
    assert {i.name for i in graph.input} >= set(piper_noise.NOISE_INPUTS)

    text = "A longer sentence, so that the speech has many more frames than it has phonemes."
    normal = speech._synthesise("piper", "joe", "en", text)
    monkeypatch.setattr(piper_noise, "FRAMES_PER_PHONEME", 1)  # far too little latent noise: retried
    assert np.array_equal(speech._synthesise("piper", "joe", "en", text), normal)
