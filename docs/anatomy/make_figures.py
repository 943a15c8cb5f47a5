"""Render the anatomy figures of the README: illustration and fluoroscopy of five levels.

    .venv/bin/python docs/anatomy/make_figures.py            # writes docs/anatomy/*.png
    .venv/bin/python docs/anatomy/make_figures.py --illustrations   # only *_illustration.png
    .venv/bin/python docs/anatomy/make_figures.py --fluoro   # only the *_fluoro.png (no Manim)

For L4-L5, C5-C6, T7-T8, L5-S1 (the sacrum and the ilia) and C1-C2 (the atlas and the axis): the lateral, posterior and oblique illustrations (the shaded
layer in Manim at preview size, 854 x 480) and the lateral, AP and ipsilateral oblique fluoroscopy (480 x 480,
the still renderer with its default detector, seeded). The oblique is 30 deg to the patient's
right for the lumbar Scotty dog (and at L5-S1), 45 deg in the thoracic spine and 50 deg in the neck, where
the foramina open at those angles. Each file is written under a temporary name and renamed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONHASHSEED", "0")

OUT = Path(__file__).resolve().parent
LEVELS = {"L4-L5": 30.0, "C5-C6": 50.0, "T7-T8": 45.0, "L5-S1": 30.0, "C1-C2": 50.0}


def _neighbours(level: str) -> list[str]:
    from spine.anatomy.levels import INTERSPACES, VERTEBRAE

    upper, lower = level.split("-")
    i, j = VERTEBRAE.index(upper), VERTEBRAE.index(lower)
    verts = list(VERTEBRAE[max(0, i - 1) : j + 2])
    spaces = [s for s in INTERSPACES if all(p in verts for p in s.split("-"))]
    if "S1" in verts:  # next to the sacrum: the rest of it and the ilia (level-less), as one bone
        verts += [v for v in ("S2", "S3", "S4", "S5") if v not in verts] + [None]
    return verts + spaces


def illustration(model, level: str, kind: str, oblique_deg: float) -> np.ndarray:
    from manim import MovingCameraScene, tempconfig

    from scenes.kit import palette
    from scenes.kit.anatomy_views import SpineView

    with tempconfig(
        {
            "pixel_width": 854,
            "pixel_height": 480,
            "frame_rate": 15,
            "dry_run": True,
            "disable_caching": True,
            "write_to_movie": False,
            "background_color": palette.BACKGROUND,
        }
    ):

        class Figure(MovingCameraScene):
            def construct(self):
                view = SpineView(model, kind, oblique_deg=-oblique_deg if kind == "oblique" else 0.0)
                centre, width = view.frame_for(level, margin=2.2)
                # the shaded layer at the zoomed frame's own pixel size
                self.add(view.spine_mobject(levels=_neighbours(level), highlight=level, resolution=854 / width))
                self.camera.frame.move_to(centre).set(width=width)

        scene = Figure()
        scene.render()
        return np.array(scene.renderer.get_frame())


def _save(rgb: np.ndarray, path: Path) -> None:
    from PIL import Image

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png.tmp")
    with os.fdopen(fd, "wb") as fh:
        Image.fromarray(rgb).save(fh, format="PNG")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from spine.anatomy.model import SpineModel
    from spine.imaging.still import render_still

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fluoro", action="store_true", help="only the fluoroscopy figures (no illustrations)")
    ap.add_argument("--illustrations", action="store_true", help="only the illustrations (the fluoroscopy stays)")
    args = ap.parse_args(argv)
    model = SpineModel.default()
    only_illustrations = args.illustrations
    for level, deg in LEVELS.items():
        for kind in () if args.fluoro else ("lateral", "posterior", "oblique"):
            frame = illustration(model, level, kind, deg)
            _save(frame[..., :3], OUT / f"{level}_{kind}_illustration.png")
        if only_illustrations:
            print(level, "done", flush=True)
            continue
        for view in ("lateral", "ap", "oblique"):
            render_still(
                level,
                view,
                oblique_deg=deg if view == "oblique" else None,
                size=480,
                out=OUT / f"{level}_{view}_fluoro.png",
                side="right",
                model=model,
                cache_dir=False,
            )
        print(level, "done", flush=True)


if __name__ == "__main__":
    main()
