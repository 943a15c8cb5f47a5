"""One home for the settings: SPINE_* variables, read only through spine.settings, and cache limits."""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import numpy as np
import pytest

from spine import cache_limits, checked_files
from spine.settings import Settings, SettingsError, settings
from tests.conftest import ROOT, run_cli

PACKAGES = ("spine", "scenes", "voiceover", "pipeline")


def test_defaults_are_the_documented_numbers():
    s = Settings()
    assert s.default_quality == "1080p" and s.loudness_lufs == -16.0
    assert (s.qualities["preview"].width, s.qualities["preview"].height, s.qualities["preview"].fps) == (854, 480, 15)
    assert s.encoder.segment_options(480) == {
        "crf": "23",
        "threads": "2",
        "x264-params": "mbtree=0",
        "preset": "superfast",
    }
    assert s.encoder.segment_options(1080) == {"crf": "23", "threads": "2", "x264-params": "mbtree=0"}
    assert s.cache_limit == 2 << 30


def test_variables_reach_the_code_that_uses_them(monkeypatch, tmp_path):
    from pipeline.cache import cache_limit
    from pipeline.media import manim_settings
    from spine.imaging.cache import default_cache_dir

    monkeypatch.setenv("SPINE_CACHE_LIMIT", "500M")
    monkeypatch.setenv("SPINE_ENCODER__CRF", "30")
    monkeypatch.setenv("SPINE_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.delenv("FLUORO_CACHE_DIR", raising=False)
    monkeypatch.delenv("SPINE_FLUORO_CACHE_DIR", raising=False)
    assert cache_limit() == 500 << 20
    assert manim_settings("preview", tmp_path)["video_encoder_options"]["crf"] == "30"
    assert default_cache_dir() == tmp_path / "c" / "fluoro"
    monkeypatch.setenv("FLUORO_CACHE_DIR", str(tmp_path / "old-name"))  # the older name still works
    assert default_cache_dir() == tmp_path / "old-name"
    monkeypatch.setenv("SPINE_VOICES", '{"es": "/voices/es.onnx"}')
    assert settings().voices == {"es": Path("/voices/es.onnx")}


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("SPINE_CACHE_LIMIT", "lots", ["SPINE_CACHE_LIMIT", "not a size"]),
        ("SPINE_ENCODER__CRF", "99", ["SPINE_ENCODER__CRF", "51"]),
        ("SPINE_DEFAULT_QUALITY", "8k", ["default_quality", "8k", "preview"]),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        settings()
    for word in words:
        assert word in str(caught.value)


def test_a_bad_variable_stops_the_cli_with_one_line_and_exit_2():
    proc = run_cli("list", env={"SPINE_LOUDNESS_LUFS": "loud"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: SPINE_LOUDNESS_LUFS='loud': "), proc.stderr


def test_option_defaults_come_from_the_settings():
    proc = run_cli("render", "--help", env={"SPINE_DEFAULT_QUALITY": "720p", "SPINE_LOUDNESS_LUFS": "-23"})
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "[default: 720p]" in text and "[default: -23.0" in text


def _environment_reads(path: Path) -> list[str]:
    """Lines of ``path`` that read os.environ / os.getenv, except Python's own PYTHON* variables
    (writes, for child processes, are fine)."""
    reads = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            literal = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else ""
            if target in ("os.getenv", "os.environ.get") and not str(literal).startswith("PYTHON"):
                reads.append(f"{path.relative_to(ROOT)}:{node.lineno}: {target}")
        if (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(node.ctx, ast.Load)
        ):
            reads.append(f"{path.relative_to(ROOT)}:{node.lineno}: os.environ[...]")
    return reads


def test_environment_variables_are_read_only_through_the_settings():
    allowed = {"spine/settings.py"}
    reads = [
        r
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in allowed
        for r in _environment_reads(path)
    ]
    assert not reads, reads


# -- cache limits: least recently used first ---------------------------------------------------


def _aged(path: Path, age_s: float) -> None:
    when = time.time() - age_s
    os.utime(path, (when, when))


def test_a_cache_over_its_limit_shrinks_least_recently_used_first(tmp_path):
    folder = tmp_path / "speech"
    paths = []
    for i in range(5):  # five 100 kB entries with checksums, the first the oldest
        path = checked_files.write_entry(folder / "piper" / f"{i}.wav", bytes([i]) * 100_000)
        _aged(path, 100 - i)
        paths.append(path)
    cache_limits.mark_used(paths[0])  # read just now: the oldest becomes the newest
    newest = checked_files.write_entry(folder / "piper" / "5.wav", b"\x05" * 100_000)
    removed = cache_limits.added(folder, "*/*.wav", newest, limit=350_000)
    left = sorted(p.name for p in (folder / "piper").glob("*.wav"))
    assert removed == 3 and left == ["0.wav", "4.wav", "5.wav"], left
    assert cache_limits.folder_size(folder, "*/*.wav") <= 350_000 * cache_limits.HEADROOM
    assert not (folder / "piper" / "1.wav.sha256").exists(), "a removed entry's checksum stays behind"
    assert checked_files.verify(paths[0]), "marking an entry used must keep it verifiable"


def test_the_fluoroscopy_cache_keeps_to_its_limit(monkeypatch, tmp_path):
    from spine.imaging.cache import AnatomyCache

    monkeypatch.setenv("SPINE_FLUORO_CACHE_LIMIT", "300k")
    cache = AnatomyCache(tmp_path / "fluoro")
    for i in range(6):  # 6 x 128 kB (+ header)
        path = cache.store(f"k{i}", np.full((128, 128), i, np.float64))
        _aged(path, 100 - i)
    kept = sorted(p.stem for p in (tmp_path / "fluoro").glob("*.npy"))
    assert len(kept) < 6 and "k5" in kept and "k0" not in kept, kept
    assert cache_limits.folder_size(tmp_path / "fluoro", "*.npy") <= 300 << 10


def test_a_limit_of_zero_keeps_everything(tmp_path):
    for i in range(3):
        path = checked_files.write_entry(tmp_path / f"{i}.npz", b"x" * 1000)
    assert cache_limits.added(tmp_path, "*.npz", path, limit=0) == 0
    assert len(list(tmp_path.glob("*.npz"))) == 3


def test_render_uses_the_cores_over_the_encoders_threads(monkeypatch):
    """``render``'s default -j: each process's x264 keeps ``encoder.threads`` cores busy."""
    import os

    from pipeline.media import default_render_jobs

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert default_render_jobs() == 1  # 2 cores: one process drawing beside its two x264 threads
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert default_render_jobs() == 4
    monkeypatch.setenv("SPINE_ENCODER__THREADS", "1")
    assert default_render_jobs() == 8
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setenv("SPINE_ENCODER__THREADS", "2")
    assert default_render_jobs() == 1  # never none
