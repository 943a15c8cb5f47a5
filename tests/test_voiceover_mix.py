"""The narration mix: exact length, loudness and true peak (checked with ffmpeg's ebur128 too), music bed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceover import mix
from voiceover.mix import (
    BUNDLED_BED,
    generate_bed,
    integrated_lufs,
    measure_loudness,
    mix_narration,
    music_stems,
)
from voiceover.scripts import ScriptBeat
from voiceover.speech import NarrationError, Sentence, SpokenBeat, speak_beats, to_array, to_segment

BEATS = [
    ScriptBeat(
        "what",
        "What",
        "A spinal injection is a treatment for back or neck pain. "
        "A doctor places medicine close to the part of the spine that hurts.",
    ),
    ScriptBeat("needle", "Needle", "The needle goes to the L4-L5 foramen, beside the L4 nerve root."),
    ScriptBeat("medicine", "Medicine", "About 1 to 2 mL of contrast outlines the nerve. Then the medicine goes in."),
]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> list[SpokenBeat]:
    return speak_beats(BEATS, "piper", "en", video="test", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def timing(spoken):
    starts, t = [], 1.3
    for beat in spoken:
        starts.append(t)
        t += beat.duration_s + 0.7
    return starts, t + 1.7


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBFS) from ffmpeg's own meter: an independent check."""
    run = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = run.stderr[run.stderr.rfind("Summary:") :]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return lufs, peak


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_loudness_and_true_peak_by_two_meters(spoken, timing, tmp_path, target):
    starts, total = timing
    track = mix_narration(spoken, starts, total, loudness_lufs=target)
    assert (track.frame_rate, track.channels, track.sample_width) == (48000, 1, 2)
    assert len(track.raw_data) // 2 == round(total * 48000)  # exactly total_s, to the sample
    lufs, peak = measure_loudness(track)
    assert lufs == pytest.approx(target, abs=0.2)
    assert peak <= -1.5
    wav = tmp_path / "mix.wav"
    track.export(wav, format="wav")
    ff_lufs, ff_peak = ebur128(wav)
    assert ff_lufs == pytest.approx(target, abs=0.5)
    assert ff_peak <= -1.5
    assert measure_loudness(wav) == pytest.approx((lufs, peak), abs=0.01)


def test_beats_are_placed_at_their_start_times(spoken, timing):
    starts, total = timing
    x = to_array(mix_narration(spoken, starts, total, loudness_lufs=-23.0))
    for beat, start in zip(spoken, starts):
        first = beat.sentences[0].start_s + start
        before = x[int((start - 0.3) * 48000) : int(start * 48000)]
        after = x[int(first * 48000) : int((first + 0.1) * 48000)]
        assert np.max(np.abs(before)) < 1e-3 < np.max(np.abs(after))


def test_a_silent_track_stays_silent():
    spoken = speak_beats(BEATS, "none", "en", video="t", cache_dir=Path("/nonexistent"))
    starts = list(np.cumsum([0.5] + [b.duration_s + 0.5 for b in spoken[:-1]]))
    total = starts[-1] + spoken[-1].duration_s + 1.0
    track = mix_narration(spoken, starts, total)
    assert len(track.raw_data) // 2 == round(total * 48000)
    assert track.max == 0


def test_joins_do_not_click():
    """A beat that starts and ends at full swing is faded in and out over a few ms."""
    t = np.arange(48000) / 48000
    tone = (0.5 * np.cos(2 * np.pi * 220 * t)).astype(np.float32)  # starts at its peak
    beat = SpokenBeat("tone", to_segment(tone), [Sentence("Tone.", 0.0, 1.0)], "none")
    x = to_array(mix_narration([beat, beat], [0.5, 1.5], 3.0))
    for edge in (0.5, 1.5, 2.5):
        i = int(edge * 48000)
        jump = np.max(np.abs(np.diff(x[i - 5 : i + 5])))
        assert jump < 0.05, f"click at {edge} s"
        assert abs(x[i]) < 0.01


def test_overlapping_or_overlong_beats_are_errors(spoken):
    d = spoken[0].duration_s
    with pytest.raises(NarrationError, match="starts at .* before beat 'what' ends"):
        mix_narration(spoken[:2], [0.0, d / 2], 2 * d + 5)
    with pytest.raises(NarrationError, match="after the video"):
        mix_narration(spoken[:1], [1.0], d)
    with pytest.raises(NarrationError, match="2 beats but 1 start times"):
        mix_narration(spoken[:2], [0.0], 30.0)


def test_music_bed_is_ducked_under_speech_and_faded(spoken, timing):
    starts, total = timing
    stems = music_stems(spoken, starts, total, loudness_lufs=-16.0, music=BUNDLED_BED)
    speaking = stems.speaking
    speech_level = integrated_lufs(stems.speech[speaking])
    bed_under_speech = integrated_lufs(stems.music[speaking])
    assert speech_level - bed_under_speech >= 12.0
    # never louder than speech: the bed's loudest momentary (400 ms) level stays under it
    block = 19200
    momentary = [integrated_lufs(stems.music[i : i + block]) for i in range(0, len(stems.music) - block, block // 2)]
    assert max(m for m in momentary if np.isfinite(m)) < speech_level - 6
    # faded in and out
    n = len(stems.music)
    assert np.max(np.abs(stems.music[:480])) < 1e-3 and np.max(np.abs(stems.music[-480:])) < 1e-3
    assert np.max(np.abs(stems.music[n // 2 - 24000 : n // 2 + 24000])) > 1e-3
    # the bed is ducked before the first word, not after it
    first_word = int((starts[0] + spoken[0].sentences[0].start_s) * 48000)
    assert speaking[first_word - int(0.3 * 48000) : first_word].all()


def test_mix_with_music_is_on_target(spoken, timing, tmp_path):
    starts, total = timing
    track = mix_narration(spoken, starts, total, music=BUNDLED_BED)
    wav = tmp_path / "with-music.wav"
    track.export(wav, format="wav")
    lufs, peak = ebur128(wav)
    assert lufs == pytest.approx(-16.0, abs=0.5) and peak <= -1.5


def test_a_users_music_file_in_another_format_is_looped(spoken, timing, tmp_path):
    starts, total = timing
    t = np.arange(int(2.0 * 44100)) / 44100
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 330 * t)] * 2, axis=1)
    wav = tmp_path / "bed.wav"
    sf.write(wav, stereo, 44100)
    ogg = tmp_path / "bed.ogg"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), str(ogg)], check=True)
    stems = music_stems(spoken, starts, total, music=ogg)
    assert len(stems.music) == round(total * 48000)
    middle = stems.music[int(total / 2 * 48000) - 24000 : int(total / 2 * 48000) + 24000]
    assert np.max(np.abs(middle)) > 1e-3  # still playing long after the 2 s file ended
    with pytest.raises(NarrationError, match="does not exist"):
        music_stems(spoken, starts, total, music=tmp_path / "missing.wav")


def test_bundled_bed_loops_seamlessly_and_matches_its_generator():
    data, rate = sf.read(BUNDLED_BED, dtype="float64")
    assert rate == mix.BED_RATE and data.ndim == 1 and len(data) == mix.BED_SECONDS * rate
    assert np.max(np.abs(data - generate_bed())) <= 1.5 / 32767
    steps = np.abs(np.diff(data))
    assert abs(data[0] - data[-1]) <= 2 * np.percentile(steps, 99.9)  # the loop joins like any other sample
