"""The spine atlas renders at the levels users ask for, and refuses levels that do not exist."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.render


@pytest.mark.parametrize("level", ["C7-T1", "L5-S1"])
def test_atlas_renders_at_a_level(level, tmp_path):
    proc = run_cli("render", "spine-atlas", "--level", level, "--quality", "preview", "--voice", "none",
                   "--output-dir", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    sidecar = json.loads((tmp_path / f"spine-atlas-{level}-preview.json").read_text())
    assert sidecar["level"] == level
    last = [b for b in sidecar["beats"] if b["id"] == "level"][0]
    assert level in last["text"]
    assert (tmp_path / f"spine-atlas-{level}-preview.mp4").stat().st_size > 10_000


@pytest.mark.parametrize("level", ["L6", "L4-L6"])
def test_atlas_refuses_levels_that_do_not_exist(level, tmp_path):
    proc = run_cli("render", "spine-atlas", "--level", level, "--quality", "preview", "--output-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "L4-L5" in proc.stderr and "C7-T1" in proc.stderr
    assert list(tmp_path.iterdir()) == []
