"""The overview video rendered for real at preview quality, checked as a viewer's player sees it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from pipeline.media import frame_md5s
from tests.conftest import LONGEST_STILL_S, ffprobe_json, run_cli, still_stretches

pytestmark = pytest.mark.render
STEM = "overview-preview"


def ffprobe(path: Path) -> dict:
    return ffprobe_json(path, "-show_streams", "-show_format", "-show_chapters", "-count_frames")


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        start, end = lines[1].split(" --> ")
        cues.append((seconds(start), seconds(end), "\n".join(lines[2:])))
    return cues


def test_streams_sizes_and_durations(preview_build):
    info = ffprobe(preview_build / f"{STEM}.mp4")
    video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"][0]
    assert (video["codec_name"], video["pix_fmt"], video["width"], video["height"]) == ("h264", "yuv420p", 854, 480)
    assert video["r_frame_rate"] == "15/1"
    assert audio["codec_name"] == "aac"
    v, a = float(video["duration"]), float(audio["duration"])
    assert v >= 60.0, f"overview is only {v:.1f} s"
    assert v <= 200.0
    assert abs(v - a) <= 1 / 15 + 1e-6
    assert int(video["nb_read_frames"]) == round(v * 15)


def test_faststart_moov_before_mdat(preview_build):
    head = (preview_build / f"{STEM}.mp4").read_bytes()[:1_000_000]
    assert head.find(b"moov") != -1 and head.find(b"moov") < head.find(b"mdat")


def test_chapters_follow_the_beats(preview_build):
    info = ffprobe(preview_build / f"{STEM}.mp4")
    sidecar = json.loads((preview_build / f"{STEM}.json").read_text())
    titles = [c["tags"]["title"] for c in info["chapters"]]
    assert titles == [c["title"] for c in sidecar["chapters"]]
    assert titles[0] == "Title" and titles[-1] == "Education only"


def test_captions_lie_inside_the_video_and_match_srt_and_vtt(preview_build):
    duration = float(ffprobe(preview_build / f"{STEM}.mp4")["format"]["duration"])
    srt = parse_srt((preview_build / f"{STEM}.srt").read_text())
    vtt = (preview_build / f"{STEM}.vtt").read_text()
    assert vtt.startswith("WEBVTT")
    assert len(srt) >= 13
    vtt_starts = re.findall(r"^(\d\d:\d\d:\d\d\.\d\d\d) --> ", vtt, flags=re.M)
    assert len(vtt_starts) == len(srt)
    previous_end = 0.0
    for start, end, text in srt:
        assert 0 <= start < end <= duration + 1e-3
        assert start >= previous_end - 1e-3, "cues overlap"
        assert text.strip()
        previous_end = end


def test_sidecar_and_manifest_describe_the_file(preview_build):
    mp4 = preview_build / f"{STEM}.mp4"
    sidecar = json.loads((preview_build / f"{STEM}.json").read_text())
    assert sidecar["sha256"] == hashlib.sha256(mp4.read_bytes()).hexdigest()
    assert sidecar["quality"] == "preview" and sidecar["video"] == "overview"
    assert sidecar["inputs"]["voice"]["engine"] == "piper"
    assert {"manim", "numpy", "pydub", "ffmpeg", "python"} <= set(sidecar["tools"])
    beats = sidecar["beats"]
    assert [b["id"] for b in beats][0] == "title" and beats[-1]["id"] == "closing"
    for before, after in zip(beats, beats[1:]):
        assert after["start_s"] == pytest.approx(before["end_s"], abs=1e-3)
        assert before["speech_s"] < before["end_s"] - before["start_s"]
    manifest = json.loads((preview_build / "manifest.json").read_text())
    entry = [v for v in manifest["videos"] if v["file"] == mp4.name]
    assert entry and entry[0]["sha256"] == sidecar["sha256"]
    assert not list(preview_build.glob(".partial-*"))


def test_rendering_twice_gives_identical_frames(preview_build, tmp_path):
    proc = run_cli("render", "overview", "--quality", "preview", "--output-dir", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    first = frame_md5s(preview_build / f"{STEM}.mp4")
    second = frame_md5s(tmp_path / f"{STEM}.mp4")
    assert len(first) == len(second) > 0
    assert first == second


def test_no_stretch_of_the_overview_stands_still_longer_than_six_seconds(preview_build):
    """Frame by frame over the whole overview, as for the procedure videos: something on screen
    changes at least every 6 s (the issue asks for every 4-6 s)."""
    sidecar = json.loads((preview_build / f"{STEM}.json").read_text())
    found = still_stretches(preview_build / f"{STEM}.mp4", LONGEST_STILL_S)
    beats = [
        next((b["id"] for b in sidecar["beats"] if b["start_s"] <= a + 0.05 < b["end_s"]), "?") + f" {a:.1f}-{b:.1f} s"
        for a, b in found
    ]
    assert not beats, f"overview: still for more than {LONGEST_STILL_S:.0f} s in " + ", ".join(beats)
