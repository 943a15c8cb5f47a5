"""A tube (a nerve root) is projected segment by segment on its own pixels: the same line
integral as tracing its whole rectangle (a 96^2 image, milliseconds)."""

from __future__ import annotations

import numpy as np
import pytest

from spine.anatomy.shapes import Tube
from spine.anatomy.solids import Material, Structure
from spine.imaging import CArmPose
from spine.imaging.projector import Projector, excess_mu


@pytest.mark.parametrize("supersample", [1, 2])
def test_tube_line_integral_equals_the_whole_rectangle_traced(supersample):
    pose = CArmPose.ap(isocentre=(0, 0, 0))
    proj = Projector(pose, 96)
    # a bent root running obliquely, one end well off the image's top edge
    t = np.linspace(0.0, 1.0, 9)
    points = np.column_stack([-60.0 + 90.0 * t, 8.0 * np.sin(3.0 * t), 40.0 + 120.0 * t**1.5])
    tube = Tube.along(points, np.linspace(6.0, 4.0, len(t)))
    root = Structure("root.test", "root", Material.NEURAL, tube)
    got = proj.line_integral([root], supersample=supersample)

    s = supersample
    offsets = [((i + 0.5) / s - 0.5, (j + 0.5) / s - 0.5) for i in range(s) for j in range(s)]
    rows = cols = np.arange(proj.size)
    want = np.zeros(proj.size * proj.size)
    for dr, dc in offsets:
        want += tube.chord_length(proj._source, proj._rays_grid(rows, cols, dr, dc), 0.0, 1.0)
    want = (excess_mu(Material.NEURAL) * want / len(offsets)).reshape(proj.size, proj.size)
    assert np.count_nonzero(want) > 200 and want[0].any()  # crosses the field and its top row
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=1e-9)


def test_tube_whose_rectangle_reaches_the_image_but_no_ray_meets_it():
    pose = CArmPose.ap(isocentre=(0, 0, 0))
    proj = Projector(pose, 32)
    # far off to one side: the rectangle's margin reaches the image, the tube does not
    corner = proj._rays_grid(np.array([0]), np.array([proj.size - 1]), 0.0, 0.0)[0]
    edge = proj._source + corner * 0.5  # on the ray of the top-right pixel, half-way to the detector
    side = np.cross(corner, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    out = edge + side * 30.0 * np.sign(side[0] or 1.0)
    tube = Tube.along([out, out + [0.0, 0.0, 20.0]], 0.5)
    got = proj.line_integral([Structure("root.off", "root", Material.NEURAL, tube)])
    assert got.shape == (32, 32) and not got.any()
