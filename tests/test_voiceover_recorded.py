"""Human recordings replace synthesised beats: conversion, sentence timing, and rejected takes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceover.recorded import find_recording
from voiceover.scripts import ScriptBeat
from voiceover.speech import NarrationError, speak_beats, to_array

TEXT = "The needle goes to the L4-L5 foramen. About 1 to 2 mL of contrast outlines the nerve."


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> tuple[np.ndarray, list]:
    """A 'human' take: espeak-ng speech with a real pause between the sentences, at 48 kHz."""
    (beat,) = speak_beats(
        [ScriptBeat("needle", "Needle", TEXT)], "espeak", "en", video="t", cache_dir=tmp_path_factory.mktemp("cache")
    )
    x = to_array(beat.audio)
    lead = np.zeros(int(0.4 * 48000), np.float32)  # people leave some silence around a take
    return np.concatenate([lead, x, lead]), beat.sentences


def _write(path: Path, x: np.ndarray, rate: int = 48000, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    if path.suffix == ".wav":
        sf.write(path, data, rate, subtype="PCM_16")
    else:
        wav = path.with_suffix(".src.wav")
        sf.write(wav, data, rate, subtype="PCM_16")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), str(path)], check=True)
        wav.unlink()
    return path


def _speak(recordings: Path, text: str = TEXT):
    beats = [ScriptBeat("needle", "Needle", text), ScriptBeat("other", "Other", "This one is synthesised.")]
    return speak_beats(
        beats, "espeak", "en", video="t", cache_dir=recordings.parent / "cache", recordings_dir=recordings
    )


def test_a_recording_in_another_format_replaces_the_beat(tmp_path, take):
    x, synth_sentences = take
    from scipy.signal import resample_poly

    recording = _write(
        tmp_path / "rec" / "needle.mp3", resample_poly(x, 147, 160).astype(np.float32), 44100, channels=2
    )
    needle, other = _speak(tmp_path / "rec")
    assert needle.source == f"recorded:{recording}"
    assert other.source == "espeak:en-us"
    assert (needle.audio.frame_rate, needle.audio.channels, needle.audio.sample_width) == (48000, 1, 2)
    # leading and trailing silence trimmed: 0.4 s of lead is gone
    assert needle.duration_s == pytest.approx(synth_sentences[-1].end_s + 0.02, abs=0.15)
    # sentences timed at the pause, and keep the written text
    assert [s.text for s in needle.sentences] == [s.text for s in synth_sentences]
    for got, want in zip(needle.sentences, synth_sentences):
        assert got.start_s == pytest.approx(want.start_s, abs=0.1)
        assert got.end_s == pytest.approx(want.end_s, abs=0.1)


def test_more_script_pieces_than_pauses_are_split_in_proportion(tmp_path, take):
    x, synth_sentences = take
    one_sentence = x[: int((0.4 + synth_sentences[0].end_s + 0.02) * 48000)]
    _write(tmp_path / "rec" / "needle.wav", np.concatenate([one_sentence, np.zeros(9600, np.float32)]))
    text = "The needle goes to the L4-L5 foramen. It is near the nerve."
    needle, _ = _speak(tmp_path / "rec", text)
    assert [s.text for s in needle.sentences] == ["The needle goes to the L4-L5 foramen.", "It is near the nerve."]
    first, second = needle.sentences
    assert first.end_s == second.start_s  # contiguous, in proportion to the text
    assert second.end_s == pytest.approx(needle.duration_s - 0.02, abs=0.05)
    assert first.end_s / second.end_s == pytest.approx(37 / 58, abs=0.05)


@pytest.mark.parametrize(
    "name, make, problem",
    [
        ("clipped.wav", lambda x: np.clip(4 * x, -1, 1), "is clipped"),
        ("silent.wav", lambda x: np.zeros_like(x), "is silent"),
        ("short.wav", lambda x: x[int(0.5 * 48000) : int(0.7 * 48000)], "is too short"),
        ("cut.wav", lambda x: x[: int(np.argmax(np.abs(x))) + 200], "is cut off"),
    ],
)
def test_bad_takes_are_rejected_naming_file_and_problem(tmp_path, take, name, make, problem):
    x, _ = take
    path = _write(tmp_path / "rec" / name, make(x).astype(np.float32))
    path.rename(tmp_path / "rec" / "needle.wav")
    with pytest.raises(NarrationError, match=rf"recording .*rec/needle\.wav {problem}"):
        _speak(tmp_path / "rec")


def test_unreadable_and_damaged_files_are_rejected(tmp_path, take):
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "needle.wav").write_bytes(b"this is not audio at all" * 100)
    with pytest.raises(NarrationError, match=r"recording .*needle\.wav is unreadable"):
        _speak(rec)
    (rec / "needle.wav").unlink()
    flac = _write(rec / "needle.flac", take[0])
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size * 6 // 10])
    with pytest.raises(NarrationError, match=r"recording .*needle\.flac is damaged or truncated"):
        _speak(rec)


def test_one_recording_per_beat_and_notes_are_ignored(tmp_path, take):
    rec = tmp_path / "rec"
    _write(rec / "needle.wav", take[0])
    (rec / "needle.txt").write_text("take 3, quiet room")
    (rec / "needle-old.wav").write_bytes(b"")
    assert find_recording(rec, "needle") == rec / "needle.wav"
    assert find_recording(rec, "other") is None
    assert find_recording(None, "needle") is None
    _write(rec / "needle.flac", take[0])
    with pytest.raises(NarrationError, match=r"2 recordings for beat 'needle' \(needle.flac, needle.wav\); keep one"):
        _speak(rec)
