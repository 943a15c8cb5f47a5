"""A media team's recorded narration: bad files are refused by name, the earlier video stays."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from tests.conftest import render_silent_preview, snapshot


def _write(path, samples, rate=44100):
    soundfile.write(path, samples, rate)


def _corrupt(path):
    path.write_bytes(b"RIFF this is not audio at all")


def _silent(path):
    _write(path, np.zeros(44100 * 2))


def _clipped(path):
    t = np.arange(44100 * 2) / 44100
    _write(path, np.clip(3.0 * np.sin(2 * np.pi * 220 * t), -1.0, 1.0))


@pytest.mark.parametrize(
    "make,problem",
    [(_corrupt, "unreadable"), (_silent, "silent"), (_clipped, "clipped")],
    ids=["corrupt", "silent", "clipped"],
)
def test_bad_recording_exits_2_naming_the_file_and_keeps_the_earlier_video(make, problem, tmp_path):
    recordings = tmp_path / "recordings" / "overview"
    recordings.mkdir(parents=True)
    bad = recordings / "what.wav"
    make(bad)
    out = tmp_path / "out"
    out.mkdir()
    (out / "overview-preview.mp4").write_bytes(b"an earlier good video")
    before = snapshot(out)
    proc = render_silent_preview(
        "overview",
        "--quiet",
        "--recordings-dir",
        str(tmp_path / "recordings"),
        "--output-dir",
        str(out),
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and problem in lines[0], lines
    assert snapshot(out) == before
