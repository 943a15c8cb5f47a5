"""The laid-out words kept on disk: the same glyphs as a fresh layout, read back in another
process without Pango, keyed by what decides them, a damaged entry laid out again."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from scenes.kit import typography
from spine import checked_files
from tests.conftest import ROOT


@pytest.fixture
def text_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINE_TEXT_CACHE", str(tmp_path / "text"))
    typography._LAID_OUT.clear()
    yield tmp_path / "text"
    typography._LAID_OUT.clear()


def _points(mob) -> list[np.ndarray]:
    return [m.points for m in mob.get_family()]


def _same_glyphs(a, b) -> bool:
    pa, pb = _points(a), _points(b)
    return len(pa) == len(pb) and all(np.array_equal(x, y) for x, y in zip(pa, pb))


def test_a_stored_text_has_the_glyphs_of_a_fresh_layout(text_folder):
    fresh = typography._lay_out("The L4 nerve root", 30.0, "#FFFFFF", "NORMAL")
    first = typography.pango_text("The L4 nerve root", 30, "#FFFFFF")
    assert len(list(text_folder.glob("*.pkl"))) == 1
    typography._LAID_OUT.clear()
    again = typography.pango_text("The L4 nerve root", 30, "#FFFFFF")
    assert _same_glyphs(fresh, first) and _same_glyphs(first, again)
    assert again.get_color() == first.get_color()
    assert len(list(text_folder.glob("*.pkl"))) == 1  # read, not stored again


def test_the_key_follows_the_words_size_colour_and_weight(text_folder):
    for args in (("A", 30, "#FFFFFF"), ("B", 30, "#FFFFFF"), ("A", 31, "#FFFFFF"), ("A", 30, "#FF0000")):
        typography.pango_text(*args)
    typography.pango_text("A", 30, "#FFFFFF", weight="BOLD")
    assert len(list(text_folder.glob("*.pkl"))) == 5


def test_another_process_reads_the_words_without_laying_them_out(text_folder):
    typography.pango_text("Read back elsewhere", 30, "#FFFFFF")
    code = (
        "import manim; from scenes.kit import typography as t\n"
        "manim.Text = None  # laying out again would fail\n"
        "m = t.pango_text('Read back elsewhere', 30, '#FFFFFF'); print(len(m.get_family()))"
    )
    env = {"SPINE_TEXT_CACHE": str(text_folder), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.strip()) == len(typography.pango_text("Read back elsewhere", 30, "#FFFFFF").get_family())


def test_a_damaged_entry_is_reported_and_laid_out_again(text_folder, monkeypatch):
    reported = []
    discard = checked_files.discard
    monkeypatch.setattr(checked_files, "discard", lambda path, why: reported.append(why) or discard(path, why))
    first = typography.pango_text("Damaged", 30, "#FFFFFF")
    (entry,) = text_folder.glob("*.pkl")
    entry.write_bytes(entry.read_bytes()[:-9] + b"not glyph")
    checked_files._verified.clear()
    typography._LAID_OUT.clear()
    again = typography.pango_text("Damaged", 30, "#FFFFFF")
    assert _same_glyphs(first, again)
    assert reported == ["its sha256 differs from its checksum"]
    assert checked_files.verify(entry)


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINE_TEXT_CACHE", "0")
    monkeypatch.setenv("SPINE_CACHE_DIR", str(tmp_path))
    typography._LAID_OUT.clear()
    typography.pango_text("Not kept", 30, "#FFFFFF")
    typography._LAID_OUT.clear()
    assert not (tmp_path / "text").exists()
