"""``render.py loop``: two real (tiny) videos with their speech, joined with branded cards.

The parts are built by ``render.py all`` at the test quality with the espeak voice (the test
videos of ``tests/test_catalog_plugin.py``); the loop must hold each part's frames unchanged
(not re-encoded), its sound where the part plays, silence on the cards, and durations that add
up within one frame per joint.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.media import frame_md5s
from tests.conftest import ROOT, TEST_PLUGIN, ffmpeg_stdout, ffprobe_json, run_all_at_test_quality, run_cli
from tests.test_catalog import write_catalog

pytestmark = pytest.mark.render

FPS = 10  # the test quality
PARTS = ("catalog-test-test", "catalog-test-2-test")
BRAND = ROOT / "assets" / "brands" / "example" / "brand.yaml"


def run_loop(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    plugins = {"SPINE_CATALOG_PLUGINS": str(TEST_PLUGIN)}
    return run_cli("loop", "--quality", "test", "--output-dir", str(tmp / "out"), *args, timeout=600, env=plugins)


def durations(path: Path) -> dict[str, float]:
    info = ffprobe_json(path, "-show_streams")
    return {s["codec_type"]: float(s["duration"]) for s in info["streams"] if s["codec_type"] in ("video", "audio")}


def rms_per_window(path: Path, windows: list[tuple[float, float]]) -> list[float]:
    pcm = ffmpeg_stdout("-i", str(path), "-map", "0:a", "-ac", "1", "-ar", "16000", "-f", "s16le", "-")
    samples = np.frombuffer(pcm, dtype=np.int16).astype(float)
    return [float(np.sqrt(np.mean(samples[int(a * 16000) : int(b * 16000)] ** 2))) for a, b in windows]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("loop")
    catalog = write_catalog(tmp / "catalog.yaml", "catalog-test", "catalog-test-2")
    proc = run_all_at_test_quality(catalog, tmp / "out", tmp / "cache", "-j", "1", "--handouts", "none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp


def test_the_loop_plays_the_parts_back_to_back_with_their_sound(built):
    # the parts are neutral videos, named by file stem; the brand styles the cards between them
    proc = run_loop(built, "--only", PARTS[0], "--only", PARTS[1], "--brand", str(BRAND))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = built / "out"
    loop = out / "waiting-room-example-test.mp4"
    assert proc.stdout.strip() == str(loop)
    parts = [out / f"{p}.mp4" for p in PARTS]
    card_s = 4.0
    part_s = [durations(p)["video"] for p in parts]
    expected = sum(part_s) + 2 * card_s
    got = durations(loop)
    joints = 4  # card | part | card | part
    assert abs(got["video"] - expected) <= joints / FPS, (got, expected)
    assert abs(got["audio"] - expected) <= joints / FPS, (got, expected)

    # each part's frames are in the loop unchanged (copied, not re-encoded), right after its card
    frames = frame_md5s(loop)
    first = round(card_s * FPS)
    for part in parts:
        own = frame_md5s(part)
        assert frames[first : first + len(own)] == own, part.name
        first += len(own) + round(card_s * FPS)
    assert first - round(card_s * FPS) == len(frames)

    # sound where the parts speak, silence on the cards
    windows, t = [], 0.0
    for seconds in part_s:
        windows += [(t + 0.2, t + card_s - 0.2), (t + card_s + 0.2, t + card_s + seconds - 0.2)]
        t += card_s + seconds
    levels = rms_per_window(loop, windows)
    assert levels[0] < 5 and levels[2] < 5, levels  # the cards are silent
    assert levels[1] > 300 and levels[3] > 300, levels  # the parts speak (espeak)
    own_levels = [rms_per_window(p, [(0.2, s - 0.2)])[0] for p, s in zip(parts, part_s)]
    assert levels[1] == pytest.approx(own_levels[0], rel=0.05) and levels[3] == pytest.approx(own_levels[1], rel=0.05)

    # the card is the brand's: its primary colour (#2A6F97, the logo) is on screen
    still = ffmpeg_stdout("-ss", "2.0", "-i", str(loop), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    rgb = np.frombuffer(still, dtype=np.uint8).reshape(-1, 3).astype(int)
    near = np.abs(rgb - np.array([0x2A, 0x6F, 0x97])).max(axis=1) < 24
    assert near.mean() > 0.01

    sidecar = json.loads(loop.with_suffix(".json").read_text())
    assert sidecar["parts"] == [p.name for p in parts] and sidecar["brand"] == "example"
    chapters = ffprobe_json(loop, "-show_chapters")["chapters"]
    assert [float(c["start_time"]) for c in chapters] == pytest.approx([0.0, card_s + part_s[0]], abs=0.01)


def test_videos_found_by_name_at_the_quality(built):
    proc = run_loop(built, "--only", "catalog-test,catalog-test-2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    loop = built / "out" / "waiting-room-test.mp4"
    assert json.loads(loop.with_suffix(".json").read_text())["parts"] == [f"{p}.mp4" for p in PARTS]
    # asked for by name with a brand, the neutral videos are not the ones meant
    proc = run_loop(built, "--only", "catalog-test", "--brand", str(BRAND))
    assert proc.returncode == 2 and "with brand example" in proc.stderr


def test_a_video_that_is_not_built_is_one_line_exit_2(built):
    before = sorted(p.name for p in (built / "out").iterdir())
    proc = run_loop(built, "--only", "catalog-test", "--only", "overview")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"Error: 'overview' is not built in {built / 'out'} at test; build it first (render.py render overview --quality test)"
    ]
    assert sorted(p.name for p in (built / "out").iterdir()) == before


def test_a_join_holds_exactly_the_parts_frames_and_sound_samples(built, tmp_path):
    """join_movies on two built videos (no cards): the frames of each and, decoded, exactly the
    sum of their sound samples (a later part's hidden AAC priming frame is left out: ffmpeg's
    concat demuxer kept it, 1024 samples more at every joint), with exact durations."""
    from pipeline.media import join_movies, movie_length

    out = built / "out"
    parts = [out / f"{p}.mp4" for p in (*PARTS, PARTS[0])]
    joined = tmp_path / "joined.mp4"
    starts = join_movies(parts, joined, kinds=("video", "audio"))
    lengths = [movie_length(p, ("video", "audio")) for p in parts]
    assert starts == pytest.approx([0.0, lengths[0], lengths[0] + lengths[1]], abs=1e-9)
    assert durations(joined) == pytest.approx({"video": sum(lengths), "audio": sum(lengths)}, abs=1e-6)
    own = {p: frame_md5s(p) for p in set(parts)}
    assert frame_md5s(joined) == [md5 for p in parts for md5 in own[p]]

    def samples(path: Path) -> int:
        return len(ffmpeg_stdout("-i", str(path), "-map", "0:a", "-ac", "1", "-f", "s16le", "-")) // 2

    counts = {p: samples(p) for p in set(parts)}
    assert samples(joined) == sum(counts[p] for p in parts)
