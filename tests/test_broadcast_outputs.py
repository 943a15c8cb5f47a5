"""Finished videos as a media team publishes them: loudness, captions, chapters, Spanish."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PLUGIN, ffmpeg, run_cli
from tests.test_overview_video import ffprobe, parse_srt

pytestmark = pytest.mark.render


def ebur128(path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) measured by ffmpeg's BS.1770 meter."""
    meter = ("-af", "ebur128=peak=true", "-f", "null", "-")
    err = ffmpeg("-hide_banner", "-nostats", "-i", str(path), *meter, loglevel="info").stderr.decode()
    summary = err[err.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak


def check_caption_guidelines(cues):
    previous_end = 0.0
    for start, end, text in cues:
        lines = text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines), text
        assert 1.0 - 1e-3 <= end - start <= 7.0 + 1e-3, (start, end, text)
        assert len(text.replace("\n", " ")) / (end - start) <= 20.0 + 1e-6, text
        assert start >= previous_end - 1e-3
        previous_end = end


def test_english_overview_loudness_and_caption_guidelines(preview_build):
    integrated, peak = ebur128(preview_build / "overview-preview.mp4")
    assert abs(integrated + 16.0) <= 1.0, integrated
    assert peak <= -1.5, peak
    check_caption_guidelines(parse_srt((preview_build / "overview-preview.srt").read_text()))


def test_spanish_overview_at_broadcast_loudness_with_burnt_captions(tmp_path):
    # the sound, captions and chapters do not depend on the picture's size: the suite's smallest
    # quality (192x108, from the test plugin) draws the same beats for the same speech
    proc = run_cli(
        "render",
        "overview",
        "--lang",
        "es",
        "--voice",
        "espeak",
        "--quality",
        "test",
        "--loudness",
        "-23",
        "--burn-captions",
        "--output-dir",
        str(tmp_path),
        "--quiet",
        env={"SPINE_CATALOG_PLUGINS": str(TEST_PLUGIN)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    mp4 = tmp_path / "overview-es-test.mp4"
    integrated, peak = ebur128(mp4)
    assert abs(integrated + 23.0) <= 1.0, integrated
    assert peak <= -1.5, peak
    cues = parse_srt((tmp_path / "overview-es-test.srt").read_text())
    check_caption_guidelines(cues)
    words = " ".join(text for _, _, text in cues).lower()
    assert "columna" in words and "médico" in words
    chapters = [c["tags"]["title"] for c in ffprobe(mp4)["chapters"]]
    assert len(chapters) >= 8


def test_missing_screen_translation_is_an_error_naming_the_key(tmp_path, monkeypatch):
    import shutil

    import voiceover.scripts as scripts

    root = tmp_path / "scripts"
    shutil.copytree(scripts.SCRIPTS_DIR, root)
    es = root / "es" / "overview.yaml"
    es.write_text("\n".join(line for line in es.read_text().splitlines() if not line.strip().startswith("who.note")))
    monkeypatch.setattr(scripts, "SCRIPTS_DIR", root)
    with pytest.raises(scripts.ScriptError, match="who.note"):
        scripts.load_script("overview", "es")
