"""Human narration: a recording ``<recordings_dir>/<beat_id>.<ext>`` replaces a synthesised beat.

Any format ffmpeg decodes is accepted (wav, flac, mp3, ogg, m4a, ...); it is converted to
mono 48 kHz 16-bit. A recording is rejected (NarrationError naming the file and the
problem) when it

- cannot be decoded, or ffmpeg reports damaged data (e.g. a truncated mp3 or flac);
- is shorter than ``MIN_DURATION_S`` (0.3 s);
- is silent (peak below ``SILENT_DBFS``);
- is clipped: at least ``CLIP_FRACTION`` (0.1 %) of its samples at full scale;
- is cut off: its last 30 ms are still as loud as speech (the take ends mid-word).

Leading and trailing silence is trimmed to ``PAD_S``, as for synthesised speech.

Sentence timing. The script's caption pieces (``speech.caption_pieces``) are matched to
the recording's pauses (runs of at least ``PAUSE_MIN_S`` below the speech threshold).
When the recording has at least as many pauses as there are boundaries between pieces,
the boundaries are the pauses that best match where the text says they should be (each
piece's share of the characters), favouring longer pauses. When it has fewer, the
speech is divided among the pieces in proportion to their length, so every piece still
gets a cue; such cues are as good as the reader's pace is even.
"""

from __future__ import annotations

import glob
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from voiceover.speech_types import (
    PAD_S,
    SAMPLE_RATE,
    NarrationError,
    Piece,
    Sentence,
    SpokenBeat,
    resample,
    to_segment,
)

MIN_DURATION_S = 0.3
SILENT_DBFS = -50.0
CLIP_LEVEL = 0.999
CLIP_FRACTION = 0.001
PAUSE_MIN_S = 0.18
FRAME_S = 0.01
NOT_AUDIO = {".txt", ".md", ".json", ".yaml", ".yml", ".srt", ".vtt", ".pdf", ".doc", ".docx", ".tmp", ".part"}


def find_recording(recordings_dir: Path | None, beat_id: str) -> Path | None:
    """The recording for ``beat_id``, None if there is none; two candidates are an error."""
    if recordings_dir is None or not Path(recordings_dir).is_dir():
        return None
    found = sorted(
        p
        for p in Path(recordings_dir).glob(f"{glob.escape(beat_id)}.*")
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith("~")
        and p.suffix.lower() not in NOT_AUDIO
        and p.stem == beat_id
    )
    if len(found) > 1:
        raise NarrationError(
            f"{len(found)} recordings for beat '{beat_id}' ({', '.join(p.name for p in found)}); keep one"
        )
    return found[0] if found else None


def decode(path: Path) -> tuple[np.ndarray, int]:
    """Samples (frames x channels, float, full scale = 1.0) and rate, as ffmpeg decodes them."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="recording-") as tmp:
        wav = Path(tmp) / "decoded.wav"
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-vn",
            "-map",
            "0:a:0",
            "-c:a",
            "pcm_f32le",
            "-f",
            "wav",
            str(wav),
        ]
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=300)
        except FileNotFoundError as exc:
            raise NarrationError(
                "missing ffmpeg (needed to read recordings): install with apt-get install ffmpeg"
            ) from exc
        except subprocess.SubprocessError as exc:
            raise NarrationError(f"recording {path}: ffmpeg did not finish ({exc})") from exc
        errors = [line.strip() for line in run.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        if run.returncode != 0 or not wav.exists():
            raise NarrationError(f"recording {path} is unreadable: {errors[-1] if errors else 'ffmpeg failed'}")
        if errors:
            raise NarrationError(f"recording {path} is damaged or truncated: {errors[0]}")
        try:
            data, rate = sf.read(wav, dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise NarrationError(f"recording {path} is unreadable: {exc}") from exc
    return data, int(rate)


def load_recorded_beat(path: Path, beat_id: str, pieces: Sequence[Piece]) -> SpokenBeat:
    data, rate = decode(path)
    problem = recording_problem(data, rate)
    if problem:
        raise NarrationError(f"recording {path} {problem}")
    mono = resample(data.mean(axis=1), rate)
    db = _frame_db(mono)
    threshold = _speech_threshold(db)
    active = np.flatnonzero(db > threshold)
    frame = int(FRAME_S * SAMPLE_RATE)
    first, last = int(active[0]) * frame, int(active[-1] + 1) * frame
    pad = int(round(PAD_S * SAMPLE_RATE))
    a, b = max(0, first - pad), min(len(mono), last + pad)
    audio = mono[a:b]
    spans = sentence_spans(db[int(active[0]) : int(active[-1]) + 1] > threshold, [p.text for p in pieces])
    base = (first - a) / SAMPLE_RATE
    sentences = [
        Sentence(p.text, round(base + s * FRAME_S, 4), round(base + e * FRAME_S, 4)) for p, (s, e) in zip(pieces, spans)
    ]
    return SpokenBeat(beat_id, to_segment(audio), sentences, f"recorded:{path}")


def recording_problem(data: np.ndarray, rate: int) -> str | None:
    """What is wrong with decoded samples, as the end of 'recording X ...', or None."""
    frames = data.shape[0]
    if frames / rate < MIN_DURATION_S:
        return f"is too short ({frames / rate:.2f} s; at least {MIN_DURATION_S:g} s)"
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    if peak < 10 ** (SILENT_DBFS / 20):
        return f"is silent (peak {20 * np.log10(peak + 1e-12):.0f} dBFS)"
    at_full_scale = int(np.count_nonzero(np.abs(data) >= CLIP_LEVEL))
    if at_full_scale >= max(10, CLIP_FRACTION * data.size):
        return (
            f"is clipped ({at_full_scale} samples, {100 * at_full_scale / data.size:.1f} %, at full scale); "
            "record it again with less gain"
        )
    mono = data.mean(axis=1)
    db = _frame_db(mono, rate)
    level = float(np.percentile(db, 95))
    tail = mono[-max(1, int(0.03 * rate)) :]
    tail_db = 20 * np.log10(np.sqrt(np.mean(np.square(tail.astype(np.float64)))) + 1e-12)
    if tail_db > max(-40.0, level - 20.0):
        return f"is cut off (its last 30 ms are still at speech level, {tail_db:.0f} dBFS); leave a little silence at the end"
    return None


def sentence_spans(active: np.ndarray, texts: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) frame of each text within ``active`` (one bool per frame, speech first and last)."""
    n_frames, n = len(active), len(texts)
    if n == 1:
        return [(0, n_frames)]
    # Pauses: runs of inactive frames at least PAUSE_MIN_S long.
    pauses: list[tuple[int, int]] = []
    k = 0
    while k < n_frames:
        if not active[k]:
            j = k
            while j < n_frames and not active[j]:
                j += 1
            if (j - k) * FRAME_S >= PAUSE_MIN_S:
                pauses.append((k, j))
            k = j
        else:
            k += 1
    weights = np.array([max(1, len(t)) for t in texts], float)
    expected = np.cumsum(weights)[:-1] / weights.sum() * n_frames
    if len(pauses) >= n - 1:
        chosen = _best_pauses(pauses, expected, n_frames)
        bounds = [0] + [p for pair in chosen for p in pair] + [n_frames]
        return [(bounds[2 * i], bounds[2 * i + 1]) for i in range(n)]
    edges = [0] + [int(round(e)) for e in expected] + [n_frames]
    return [(edges[i], edges[i + 1]) for i in range(n)]


def _best_pauses(pauses: list[tuple[int, int]], expected: np.ndarray, n_frames: int) -> list[tuple[int, int]]:
    """Pick len(expected) pauses in order, near the expected boundaries, preferring long pauses."""
    m, b = len(pauses), len(expected)
    longest = max(e - s for s, e in pauses)
    mids = np.array([(s + e) / 2 for s, e in pauses])
    lengths = np.array([(e - s) / longest for s, e in pauses])
    cost = np.abs(mids[None, :] - expected[:, None]) / n_frames - 0.25 * lengths[None, :]
    best = np.full((b, m), np.inf)
    back = np.zeros((b, m), int)
    best[0] = cost[0]
    for k in range(1, b):
        running, arg = np.inf, -1
        for j in range(m):
            if j > 0 and best[k - 1, j - 1] < running:
                running, arg = best[k - 1, j - 1], j - 1
            if arg >= 0:
                best[k, j] = running + cost[k, j]
                back[k, j] = arg
    j = int(np.argmin(best[b - 1]))
    picked = [j]
    for k in range(b - 1, 0, -1):
        j = int(back[k, j])
        picked.append(j)
    return [pauses[j] for j in reversed(picked)]


def _frame_db(x: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    frame = max(1, int(FRAME_S * rate))
    n = max(1, len(x) // frame)
    padded = np.zeros(n * frame, np.float64)
    padded[: min(len(x), n * frame)] = x[: n * frame]
    rms = np.sqrt(np.mean(np.square(padded.reshape(n, frame)), axis=1))
    return 20 * np.log10(rms + 1e-12)


def _speech_threshold(db: np.ndarray) -> float:
    """Speech/pause threshold from the frame levels: above the noise floor, below the speech level."""
    p10, p95 = float(np.percentile(db, 10)), float(np.percentile(db, 95))
    return min(max(-60.0, p10 + 10.0, p95 - 35.0), p95 - 15.0)
