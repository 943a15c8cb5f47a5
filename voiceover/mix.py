"""The narration track: beats placed in time, levelled, an optional music bed, loudness and true peak.

``mix_narration`` builds the whole soundtrack of a video:

1. each beat's speech is placed at its start time (sample-exact), with 5 ms fades at
   its edges so joins never click; beats are first brought to one loudness so a human
   recording and a synthesised beat sound equally loud;
2. the speech is normalised to the target integrated loudness (ITU-R BS.1770-4 meter
   from pyloudnorm: K-weighted, gated);
3. an optional music bed (the bundled generated ``BUNDLED_BED`` or any audio file) is
   looped, set ``BED_FREE_LU`` under the target, ducked a further ``BED_DUCK_DB`` while
   anyone speaks (so >= 20 dB under speech), and faded in and out;
4. the sum goes through a look-ahead true-peak limiter (peaks estimated on a 4x
   oversampled signal) with a ceiling ``TRUE_PEAK_MARGIN_DB`` under the requested one,
   and the gain is corrected until the integrated loudness is on target.

A silent track (engine ``none``) stays silent: nothing is normalised.
``music_stems`` returns steps 1-3 separately so tests can measure the bed against the speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
from pydub import AudioSegment
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from voiceover.speech_types import SAMPLE_RATE, NarrationError, SpokenBeat, resample, to_array, to_segment

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets" / "music"
BUNDLED_BED = ASSETS_DIR / "calm_pad.wav"
BED_SECONDS = 16.0
BED_RATE = 24_000

BEAT_LEVEL_LUFS = -20.0  # every beat brought here before the whole track is normalised
BEAT_MAX_GAIN_DB = 12.0
BED_FREE_LU = -12.0  # bed loudness relative to the target when nobody speaks
BED_DUCK_DB = 10.0  # further cut while speaking: the bed sits 22 dB under speech
DUCK_LEAD_S = 0.35  # the bed is down this long before speech starts ...
DUCK_HOLD_S = 0.5  # ... and stays down this long after it ends
DUCK_BRIDGE_S = 1.5  # pauses shorter than this keep the bed down (no pumping)
DUCK_RAMP_S = 0.3
BED_FADE_IN_S = 2.0
BED_FADE_OUT_S = 3.0
LOOP_CROSSFADE_S = 1.0  # for a user's music file (the bundled bed loops exactly)
JOIN_FADE_S = 0.005
OVERLAP_TOLERANCE_S = 0.02
TRUE_PEAK_MARGIN_DB = 0.3  # under the ceiling: other meters interpolate a little differently
LIMITER_ATTACK_S = 0.005  # look-ahead: the gain is down this long before a peak ...
LIMITER_HOLD_S = 0.06  # ... and stays down this long after it, then ramps back
OVERSAMPLING = 4
LOUDNESS_TOLERANCE_LU = 0.05


@dataclass
class Stems:
    speech: np.ndarray  # float mono at SAMPLE_RATE, normalised to the target (zeros if silent)
    music: np.ndarray  # the ducked, faded bed (zeros without music)
    speaking: np.ndarray  # bool per sample: where the bed is ducked
    rate: int = SAMPLE_RATE

    @property
    def silent(self) -> bool:
        return not np.any(self.speech)


# ---------------------------------------------------------------- measuring


def integrated_lufs(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """BS.1770-4 integrated loudness (pyloudnorm's K-weighting filters and gating); -inf for silence or < 0.4 s."""
    x = np.asarray(x, np.float64)
    if x.shape[0] < int(0.4 * rate) or not np.any(x):
        return float("-inf")
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:  # several channels: pyloudnorm's meter weighs them
        import pyloudnorm

        return float(pyloudnorm.Meter(rate).integrated_loudness(x))
    return _gated_loudness(_k_weighted(x, rate), rate)


def _k_weighted(x: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``x`` through the meter's K-weighting filters (pyloudnorm's, so the figures match its meter)."""
    import pyloudnorm

    y = np.asarray(x, np.float64)
    for stage in pyloudnorm.Meter(rate)._filters.values():
        y = stage.apply_filter(y)
    return y


def _blocks(n: int, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The meter's gating blocks: 400 ms at 100 ms steps, as pyloudnorm places them (start, end samples)."""
    block, step = 0.4, 0.25
    count = max(0, int(np.round((n / rate - block) / (block * step))) + 1)
    j = np.arange(count)
    return (block * (j * step) * rate).astype(np.int64), np.minimum((block * (j * step + 1) * rate).astype(np.int64), n)


def _gate(z: np.ndarray) -> float:
    """Integrated loudness from the blocks' mean squares: absolute and relative gates (BS.1770-4)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        blocks = -0.691 + 10.0 * np.log10(z)
    above = blocks >= -70.0
    if not above.any():
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(np.mean(z[above])) - 10.0
    gated = z[(blocks > relative) & (blocks > -70.0)]
    if not len(gated):
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(-0.691 + 10.0 * np.log10(np.mean(gated)))


def _gated_loudness(weighted: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Gated loudness of a K-weighted signal as pyloudnorm gates it, block energies from one running sum."""
    lo, hi = _blocks(len(weighted), rate)
    if not len(lo):
        return float("-inf")
    sums = np.concatenate([[0.0], np.cumsum(np.square(weighted))])
    return _gate(np.maximum(sums[hi] - sums[lo], 0.0) / (0.4 * rate))


class _LoudnessModel:
    """Loudness of ``x`` times a limiter's gain, from ``x``'s K-weighted blocks measured once.

    Treats the K-weighting as if it commuted with the (slow) limiter gain, so it is a model,
    close but not exact: the mix uses it to search for a gain and lets the meter check it.
    Only the stretches the limiter touches are recomputed for each gain.
    """

    def __init__(self, x: np.ndarray, rate: int = SAMPLE_RATE):
        self.square = np.square(_k_weighted(x, rate))
        self.lo, self.hi = _blocks(len(x), rate)
        sums = np.concatenate([[0.0], np.cumsum(self.square)])
        self.z = (sums[self.hi] - sums[self.lo]) / (0.4 * rate)
        self.rate = rate

    def loudness(self, g: float, stretches) -> float:
        if not len(self.lo):
            return float("-inf")
        z = self.z * (g * g)
        for lo, hi, gain in stretches:
            change = np.concatenate([[0.0], np.cumsum(self.square[lo:hi] * (gain * gain - g * g))])
            z += (change[np.clip(self.hi, lo, hi) - lo] - change[np.clip(self.lo, lo, hi) - lo]) / (0.4 * self.rate)
        return _gate(np.maximum(z, 0.0))


def true_peak_db(x: np.ndarray) -> float:
    """Peak of the 4x oversampled signal, dBTP; -inf for silence."""
    peak = float(np.max(_sample_peaks(x))) if len(x) else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def measure_loudness(path_or_segment) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file, a pydub segment or a float array at 48 kHz."""
    if isinstance(path_or_segment, AudioSegment):
        seg = path_or_segment
        data = np.frombuffer(
            seg.get_array_of_samples(),
            dtype=np.int32 if seg.sample_width == 4 else np.int16 if seg.sample_width == 2 else np.int8,
        )
        data = data.reshape(-1, seg.channels).astype(np.float64) / float(1 << (8 * seg.sample_width - 1))
        rate = seg.frame_rate
    elif isinstance(path_or_segment, np.ndarray):
        data, rate = path_or_segment.astype(np.float64), SAMPLE_RATE
    else:
        data, rate = sf.read(str(path_or_segment), dtype="float64", always_2d=True)
    peaks = [true_peak_db(data[:, c]) for c in range(data.shape[1])] if data.ndim == 2 else [true_peak_db(data)]
    return integrated_lufs(data, rate), max(peaks)


def _sample_peaks(x: np.ndarray) -> np.ndarray:
    """Per sample: the largest magnitude of the oversampled signal between it and the next sample."""
    x = np.asarray(x, np.float64).reshape(-1)
    if len(x) == 0:
        return x
    peaks = np.abs(x)
    step = 1 << 18  # in blocks (cache-sized), with overlap for the filter, to bound memory
    halo = 64
    for a in range(0, len(x), step):
        lo, hi = max(0, a - halo), min(len(x), a + step + halo)
        up = resample_poly(x[lo:hi], OVERSAMPLING, 1)
        up = up[(a - lo) * OVERSAMPLING : (a - lo + min(step, len(x) - a)) * OVERSAMPLING]
        np.abs(up, out=up)
        # The largest of the OVERSAMPLING phases, as strided views (much faster than .max(axis=1)).
        phases = up.reshape(-1, OVERSAMPLING)
        block = phases[:, 0].copy()
        for k in range(1, OVERSAMPLING):
            np.maximum(block, phases[:, k], out=block)
        np.maximum(peaks[a : a + len(block)], block, out=peaks[a : a + len(block)])
    return peaks


# ---------------------------------------------------------------- the music bed


def generate_bed(seconds: float = BED_SECONDS, rate: int = BED_RATE) -> np.ndarray:
    """A calm, exactly loopable pad: four soft chords, made from sines only (royalty-free by construction).

    Every partial has a whole number of cycles in ``seconds`` and the chord cross-fades are
    periodic, so the loop joins without a click. Deterministic (fixed seed for the phases).
    """
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    chords = (  # Cmaj7, Am7, Fmaj7, G6 - low register
        (130.81, 164.81, 196.00, 246.94),
        (110.00, 130.81, 164.81, 196.00),
        (87.31, 110.00, 130.81, 164.81),
        (98.00, 123.47, 146.83, 164.81),
    )
    rng = np.random.default_rng(20240611)
    seg = seconds / len(chords)
    out = np.zeros(n)
    for c, freqs in enumerate(chords):
        d = (t - (c + 0.5) * seg + seconds / 2) % seconds - seconds / 2  # circular distance to the chord
        window = np.where(np.abs(d) < seg, 0.5 * (1 + np.cos(np.pi * d / seg)), 0.0)
        voice = np.zeros(n)
        for f in freqs:
            for harmonic, amp in ((1, 1.0), (2, 0.22), (3, 0.06), (4, 0.03)):
                fh = round(f * harmonic * seconds) / seconds
                voice += amp * np.sin(2 * np.pi * fh * t + rng.uniform(0, 2 * np.pi))
        out += window * voice
    swell = 1.0 + 0.12 * np.sin(2 * np.pi * 2 * t / seconds)  # a slow breath, two per loop
    out *= swell
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def write_bundled_bed(path: Path = BUNDLED_BED) -> Path:
    """(Re)write the bundled bed from ``generate_bed``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, generate_bed(), BED_RATE, subtype="PCM_16", format="WAV")
    return path


def load_music(path: Path, n_samples: int) -> np.ndarray:
    """``path`` as float mono at SAMPLE_RATE, looped to ``n_samples``."""
    path = Path(path)
    if not path.is_file():
        raise NarrationError(f"music file {path} does not exist")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError):
        from voiceover.recorded import decode  # any format ffmpeg reads

        data, rate = decode(path)
    mono = data.mean(axis=1).astype(np.float32)
    if len(mono) < int(0.5 * rate) or not np.any(mono):
        raise NarrationError(f"music file {path} is too short or silent")
    exact_loop = path.resolve() == BUNDLED_BED.resolve()
    needed = int(np.ceil(n_samples * rate / SAMPLE_RATE)) + 64
    if exact_loop:
        looped = np.tile(mono, needed // len(mono) + 1)[:needed]
    else:
        fade = min(int(LOOP_CROSSFADE_S * rate), len(mono) // 4)
        looped = mono.copy()
        ramp = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2 if fade else np.zeros(0)
        while len(looped) < needed:  # equal-power crossfade of the tail into the next pass
            head = mono[:fade] * ramp
            tail = looped[len(looped) - fade :] * ramp[::-1] if fade else looped[:0]
            looped = np.concatenate([looped[: len(looped) - fade], tail + head, mono[fade:]])
        looped = looped[:needed]
    return resample(looped, rate)[:n_samples].astype(np.float32)


# ---------------------------------------------------------------- stems and mix


def music_stems(
    beats: Sequence[SpokenBeat],
    starts_s: Sequence[float],
    total_s: float,
    *,
    loudness_lufs: float | None = None,
    music: Path | None = None,
) -> Stems:
    """Speech normalised to ``loudness_lufs`` (default: the setting) and the ducked bed, separately (before limiting)."""
    if loudness_lufs is None:
        from spine.settings import settings

        loudness_lufs = settings().loudness_lufs
    n = int(round(total_s * SAMPLE_RATE))
    speech = _place_beats(beats, starts_s, n)
    speaking = _speaking_mask(beats, starts_s, n)
    silent = not np.any(speech)
    if not silent:
        loudness = integrated_lufs(speech)
        if np.isfinite(loudness):
            speech *= 10 ** ((loudness_lufs - loudness) / 20)
    bed = np.zeros(n, np.float32)
    if music is not None and n:
        bed = load_music(Path(music), n)
        level = integrated_lufs(bed)
        if np.isfinite(level):
            bed *= 10 ** ((loudness_lufs + BED_FREE_LU - level) / 20)
        if not silent:
            bed *= _duck_gain(speaking)
        bed *= _fades(n)
    return Stems(speech.astype(np.float32), bed.astype(np.float32), speaking)


def mix_narration(
    beats: list[SpokenBeat],
    starts_s: list[float],
    total_s: float,
    *,
    loudness_lufs: float | None = None,
    true_peak_dbtp: float = -1.5,
    music: Path | None = None,
) -> AudioSegment:
    """The whole soundtrack, exactly ``total_s`` long (to the sample), mono 48 kHz 16-bit."""
    if loudness_lufs is None:
        from spine.settings import settings

        loudness_lufs = settings().loudness_lufs
    stems = music_stems(beats, starts_s, total_s, loudness_lufs=loudness_lufs, music=music)
    mix = stems.speech.astype(np.float64) + stems.music
    if not np.any(mix):
        return to_segment(mix)
    ceiling = true_peak_dbtp - TRUE_PEAK_MARGIN_DB
    limiter = _Limiter(mix, ceiling)
    if stems.silent:  # only the bed: keep its level, just make sure of the peak
        return to_segment(_quantised_under(limiter.render(0.0), ceiling))
    # Limiting takes some loudness away, and more the louder the input: find the input gain
    # whose limited output is on target. The search runs on a model (the K-weighted input
    # times the limiter's gain: the K-weighting filter is measured once) corrected by the
    # meter's figure at each gain actually tried; the meter has the last word.
    model = _LoudnessModel(mix)
    gain_db, out, bias = 0.0, None, 0.0
    for _ in range(8):
        gain_db = _solve_gain(lambda g: model.loudness(*limiter.stretches(g)) + bias, loudness_lufs, gain_db)
        out = limiter.render(gain_db)
        measured = integrated_lufs(out)
        if abs(loudness_lufs - measured) <= LOUDNESS_TOLERANCE_LU:
            break
        bias = measured - model.loudness(*limiter.stretches(gain_db))
    return to_segment(_quantised_under(out, ceiling))


def _solve_gain(loudness_at, target: float, gain_db: float) -> float:
    """The gain (dB) at which ``loudness_at(gain)`` is on ``target`` (secant steps from ``gain_db``)."""
    tried: list[tuple[float, float]] = []
    for _ in range(12):
        error = target - loudness_at(gain_db)
        if abs(error) <= LOUDNESS_TOLERANCE_LU / 5:
            break
        tried.append((gain_db, error))
        if len(tried) >= 2 and tried[-1][1] != tried[-2][1]:
            (g0, e0), (g1, e1) = tried[-2], tried[-1]
            step = -e1 * (g1 - g0) / (e1 - e0)
            gain_db = g1 + float(np.clip(step, -6.0, 6.0))
        else:
            gain_db += error
    return gain_db


class _Limiter:
    """Look-ahead true-peak limiter for one signal at any input gain.

    The 4x-oversampled peaks are measured once; at input gain g they are just g times as
    large, so trying another gain costs two running filters, not a new oversampling.
    """

    def __init__(self, x: np.ndarray, ceiling_db: float):
        self.x = np.asarray(x, np.float64)
        self.ceiling_db = ceiling_db
        self.peaks = _sample_peaks(self.x)

    def render(self, gain_db: float) -> np.ndarray:
        return self.x * self.gain(gain_db)

    def gain(self, gain_db: float):
        """The gain per sample (or one number, if nothing needs limiting) at input gain ``gain_db``."""
        g, stretches = self.stretches(gain_db)
        if not stretches:
            return g
        gain = np.full(len(self.x), g)
        for lo, hi, part in stretches:
            gain[lo:hi] = part
        return gain

    def stretches(self, gain_db: float) -> tuple[float, list]:
        """(g, [(start, end, gain there), ...]): the input gain g, and where the limiter lowers it."""
        g = 10 ** (gain_db / 20)
        ceiling = 10 ** (self.ceiling_db / 20)
        if g * self.peaks.max(initial=0.0) <= ceiling:
            return g, []
        a = max(1, int(LIMITER_ATTACK_S * SAMPLE_RATE))
        r = a + 2 * max(1, int((LIMITER_HOLD_S - LIMITER_ATTACK_S) * SAMPLE_RATE / 2))
        # Each sample's gain is the least any peak from `a` samples ahead to `r` behind needs
        # (so the gain does not flutter between the pulses of a voice), then a mean over +-a:
        # every value averaged is <= required[n], so no peak gets through, and the gain
        # ramps over 2a samples instead of stepping (no clicks).
        # The gain is g further than both filters reach from any peak over the ceiling, so the
        # filters run only on the stretches around those peaks (the same values, a fraction of the work).
        reach = (a + r + 1) + (2 * a + 1) + 2
        over = np.flatnonzero(g * self.peaks > ceiling)
        gaps = np.flatnonzero(np.diff(over) > 2 * reach)
        firsts = np.concatenate([over[:1], over[gaps + 1]])
        lasts = np.concatenate([over[gaps], over[-1:]])
        stretches = []
        for first, last in zip(firsts, lasts):
            lo, hi = max(0, first - reach), min(len(self.x), last + reach + 1)
            required = np.minimum(1.0, ceiling / np.maximum(g * self.peaks[lo:hi], 1e-12))
            held = minimum_filter1d(required, a + r + 1, origin=(r - a) // 2, mode="nearest")
            stretches.append((lo, hi, g * uniform_filter1d(held, 2 * a + 1, mode="nearest")))
        return g, stretches

    def verified(self, y: np.ndarray) -> np.ndarray:
        """``y`` re-measured from scratch; scaled down by any hair the block estimate missed."""
        over = true_peak_db(y) - self.ceiling_db
        return y * 10 ** (-(over + 0.01) / 20) if over > 0 else y


def limit_true_peak(x: np.ndarray, ceiling_db: float) -> np.ndarray:
    """``x`` with every true peak over ``ceiling_db`` (dBTP) smoothly limited to it."""
    limiter = _Limiter(x, ceiling_db)
    return limiter.verified(limiter.render(0.0))


def _quantised_under(x: np.ndarray, ceiling_db: float) -> np.ndarray:
    """Round to 16-bit, with the true peak measured on the rounded signal under the ceiling.

    This is also the limiter's check: the rounded output is re-measured from scratch, and
    scaled down by whatever the block estimate or the rounding let over.
    """
    q = np.round(np.clip(x, -1, 1) * 32767) / 32767
    over = true_peak_db(q) - ceiling_db
    if over > 0:
        q = np.round(np.clip(x, -1, 1) * 10 ** (-(over + 0.02) / 20) * 32767) / 32767
    return q


def _place_beats(beats: Sequence[SpokenBeat], starts_s: Sequence[float], n: int) -> np.ndarray:
    if len(beats) != len(starts_s):
        raise NarrationError(f"{len(beats)} beats but {len(starts_s)} start times")
    track = np.zeros(n, np.float64)
    tolerance = int(OVERLAP_TOLERANCE_S * SAMPLE_RATE)
    fade = int(JOIN_FADE_S * SAMPLE_RATE)
    previous_end, previous_id = 0, None
    for beat, start in zip(beats, starts_s):
        x = to_array(beat.audio).astype(np.float64)
        if not len(x):
            continue
        a = int(round(start * SAMPLE_RATE))
        if a < 0:
            raise NarrationError(f"beat '{beat.id}' starts before the video ({start:.3f} s)")
        if previous_id is not None and a < previous_end - tolerance:
            raise NarrationError(
                f"beat '{beat.id}' starts at {start:.3f} s, before beat '{previous_id}' ends "
                f"({previous_end / SAMPLE_RATE:.3f} s)"
            )
        if a + len(x) > n + tolerance:
            raise NarrationError(
                f"beat '{beat.id}' ends at {(a + len(x)) / SAMPLE_RATE:.3f} s, after the video ({n / SAMPLE_RATE:.3f} s)"
            )
        x = x[: max(0, n - a)]
        if any(x):
            level = integrated_lufs(x)
            if np.isfinite(level):
                x = x * 10 ** (np.clip(BEAT_LEVEL_LUFS - level, -BEAT_MAX_GAIN_DB, BEAT_MAX_GAIN_DB) / 20)
        f = min(fade, len(x) // 2)
        if f:
            ramp = np.linspace(0.0, 1.0, f)
            x[:f] *= ramp
            x[-f:] *= ramp[::-1]
        track[a : a + len(x)] += x
        previous_end, previous_id = a + len(x), beat.id
    return track


def _speaking_mask(beats: Sequence[SpokenBeat], starts_s: Sequence[float], n: int) -> np.ndarray:
    spans = sorted(
        (start + s.start_s - DUCK_LEAD_S, start + s.end_s + DUCK_HOLD_S)
        for beat, start in zip(beats, starts_s)
        for s in beat.sentences
    )
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a - merged[-1][1] < DUCK_BRIDGE_S:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    mask = np.zeros(n, bool)
    for a, b in merged:
        mask[max(0, int(a * SAMPLE_RATE)) : max(0, min(n, int(np.ceil(b * SAMPLE_RATE))))] = True
    return mask


def _duck_gain(speaking: np.ndarray) -> np.ndarray:
    """Linear gain: 1 in the clear, -BED_DUCK_DB while speaking, ramped over DUCK_RAMP_S (in dB)."""
    hop = int(0.01 * SAMPLE_RATE)
    frames = int(np.ceil(len(speaking) / hop))
    padded = np.zeros(frames * hop, bool)
    padded[: len(speaking)] = speaking
    down = padded.reshape(frames, hop).any(axis=1)
    db = np.where(down, -BED_DUCK_DB, 0.0)
    # A min filter first keeps the full cut over the whole speaking span, then the ramp.
    ramp = max(1, int(DUCK_RAMP_S / 0.01))
    db = uniform_filter1d(minimum_filter1d(db, 2 * (ramp // 2) + 1, mode="nearest"), ramp, mode="nearest")
    # Interpolated between frame centres: a staircase of 10 ms steps would tick faintly.
    centres = (np.arange(frames) + 0.5) * hop
    return 10 ** (np.interp(np.arange(len(speaking)), centres, db) / 20)


def _fades(n: int) -> np.ndarray:
    env = np.ones(n)
    fade_in = min(int(BED_FADE_IN_S * SAMPLE_RATE), n // 4)
    fade_out = min(int(BED_FADE_OUT_S * SAMPLE_RATE), n // 4)
    if fade_in:
        env[:fade_in] = np.sin(np.linspace(0, np.pi / 2, fade_in)) ** 2
    if fade_out:
        env[n - fade_out :] *= np.cos(np.linspace(0, np.pi / 2, fade_out)) ** 2
    return env
