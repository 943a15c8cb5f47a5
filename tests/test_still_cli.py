"""`render.py still`: one fluoroscopy PNG with a dark surround; bad poses exit 2."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.conftest import run_cli


def test_still_writes_a_png_with_a_dark_surround(tmp_path):
    out = tmp_path / "x.png"
    proc = run_cli("still", "transforaminal-esi", "--level", "L4-L5", "--view", "oblique", "--size", "128", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    image = np.asarray(Image.open(out).convert("L"), dtype=float)
    assert image.shape == (128, 128)
    corners = [image[:6, :6].mean(), image[:6, -6:].mean(), image[-6:, :6].mean(), image[-6:, -6:].mean()]
    centre = image[40:88, 40:88].mean()
    assert max(corners) < 40 and centre > max(corners) + 40


def test_still_refuses_bad_poses(tmp_path):
    for args in (["--view", "oblique", "--tilt-deg", "60"], ["--view", "sideways"]):
        proc = run_cli("still", "transforaminal-esi", "--level", "L4-L5", *args, "--out", str(tmp_path / "y.png"))
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "45" in proc.stderr or "ap" in proc.stderr
    assert not (tmp_path / "y.png").exists()
