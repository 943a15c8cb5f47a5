"""Control images: one comparison for every test that checks a drawn image against committed
control data (``tests/control_data/<kind>/<name>.npz``).

A missing control is a failure; ``pytest --update-controls`` rewrites it from this run and
writes an enlarged PNG under ``$TMPDIR/<kind>_control/`` to review before committing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def check_control(
    image: np.ndarray,
    path: Path,
    key: str,
    update: bool,
    zoom: int,
    far: int,
    far_share: float,
    mean_limit: float = 1.5,
) -> None:
    """``image`` (H, W, 3 or 4 uint8) matches the control at ``path`` (array ``key``): a mean
    difference under ``mean_limit`` per channel and under ``far_share`` of the pixels more
    than ``far`` apart (the largest channel difference of a pixel counts)."""
    name = path.stem
    if update:
        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{key: image})
        preview = Path(tempfile.gettempdir()) / f"{path.parent.name}_control"
        preview.mkdir(exist_ok=True)
        Image.fromarray(image).resize((image.shape[1] * zoom, image.shape[0] * zoom), Image.NEAREST).save(
            preview / f"{name}.png"
        )
    assert path.exists(), f"no control image {path.name}: run pytest with --update-controls, review, commit"
    expected = np.load(path)[key]
    assert image.shape == expected.shape, (name, image.shape, expected.shape)
    diff = np.abs(image.astype(int) - expected.astype(int)).max(axis=-1)
    assert diff.mean() < mean_limit, f"{name}: mean difference {diff.mean():.2f}"
    assert (diff > far).mean() < far_share, f"{name}: {(diff > far).mean():.2%} of pixels differ"
