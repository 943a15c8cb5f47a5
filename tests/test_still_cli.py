"""`render.py still`: one fluoroscopy PNG with a dark surround; bad poses exit 2."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.conftest import run_cli


def test_still_writes_a_png_with_a_dark_surround(tmp_path):
    out = tmp_path / "x.png"
    proc = run_cli(
        "still", "transforaminal-esi", "--level", "L4-L5", "--view", "oblique", "--size", "128", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    image = np.asarray(Image.open(out).convert("L"), dtype=float)
    assert image.shape == (128, 128)
    corners = [image[:6, :6].mean(), image[:6, -6:].mean(), image[-6:, :6].mean(), image[-6:, -6:].mean()]
    centre = image[40:88, 40:88].mean()
    assert max(corners) < 40 and centre > max(corners) + 40


def test_still_carries_the_side_marker_on_the_patients_side(tmp_path):
    """Every fluoroscopy image carries an R or L marker: a left and a right oblique each show the
    bright letter where the marker module projects that side of the patient, and nowhere else."""
    from spine.imaging.marker import side_marker
    from spine.imaging.still import pose_for

    size = 256
    spots = {}
    for side in ("left", "right"):
        out = tmp_path / f"{side}.png"
        proc = run_cli(
            "still",
            "transforaminal-esi",
            "--level",
            "L4-L5",
            "--side",
            side,
            "--view",
            "oblique",
            "--size",
            str(size),
            "--out",
            str(out),
        )
        assert proc.returncode == 0, proc.stderr
        image = np.asarray(Image.open(out).convert("L"), dtype=float)
        mark = side_marker(pose_for("L4-L5", "oblique", side=side), side, size)
        assert mark.letter == ("L" if side == "left" else "R")
        r, c = int(round(mark.row)), int(round(mark.col))
        patch = image[max(r - 8, 0) : r + 9, max(c - 8, 0) : c + 9]
        assert patch.max() >= 230, f"no bright letter at the {side} marker ({c}, {r})"
        mirror = image[max(r - 8, 0) : r + 9, max(size - 1 - c - 8, 0) : size - c + 8]
        assert mirror.max() < patch.max() - 20, "the letter is on both sides"
        spots[side] = c
    assert (spots["left"] - size / 2) * (spots["right"] - size / 2) < 0  # opposite halves of the image


def test_still_refuses_bad_poses(tmp_path):
    for args in (["--view", "oblique", "--tilt-deg", "60"], ["--view", "sideways"]):
        proc = run_cli("still", "transforaminal-esi", "--level", "L4-L5", *args, "--out", str(tmp_path / "y.png"))
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "45" in proc.stderr or "ap" in proc.stderr
    assert not (tmp_path / "y.png").exists()
