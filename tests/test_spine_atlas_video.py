"""The spine atlas renders at the levels users ask for, and refuses levels that do not exist."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.render


@pytest.mark.parametrize("level", ["C7-T1", "L5-S1"])
def test_atlas_renders_at_a_level(level, tmp_path):
    # the test plugin's 192x108 quality: the level's words and timing are those of any quality
    proc = run_cli(
        "render",
        "spine-atlas",
        "--level",
        level,
        "--quality",
        "test",
        "--voice",
        "none",
        "--output-dir",
        str(tmp_path),
        "--quiet",
        env={"SPINE_CATALOG_PLUGINS": "tests/test_catalog_plugin.py"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sidecar = json.loads((tmp_path / f"spine-atlas-{level}-test.json").read_text())
    assert sidecar["level"] == level
    last = [b for b in sidecar["beats"] if b["id"] == "level"][0]
    assert level in last["text"]
    from pipeline.mux import probe

    info = probe(tmp_path / f"spine-atlas-{level}-test.mp4")
    video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    assert (video["width"], video["height"]) == (192, 108)
    assert float(info["format"]["duration"]) == pytest.approx(sidecar["beats"][-1]["end_s"], abs=0.2)


@pytest.mark.parametrize("level", ["L6", "L4-L6"])
def test_atlas_refuses_levels_that_do_not_exist(level, tmp_path):
    proc = run_cli("render", "spine-atlas", "--level", level, "--quality", "preview", "--output-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "L4-L5" in proc.stderr and "C7-T1" in proc.stderr
    assert list(tmp_path.iterdir()) == []
