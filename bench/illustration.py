"""Benchmark of the shaded illustration layer (plain script; prints medians).

    .venv/bin/python bench/illustration.py [--repeats 3] [--sizes 854x480,1920x1080]

For each output size and each pose of the L4-L5 drawing (L3-S1: lateral, posterior, a 30 deg
right oblique, the axial section at L4-L5, the lateral cut-away) and the overview's two
drawings (the whole spine and L1-L4, lateral), as the median of ``--repeats`` runs:

* ``cold``: render the layer with no cache (memory cleared, disk cache off);
* ``disk``: read it back from the disk cache (memory cleared);
* ``memory``: the same layer again in the same process (what a needle step costs);
* ``frame``: Manim draws one frame holding the drawing (the layer blitted; per video frame);
* ``flat``: the former flat polygon drawing (``SpineView.flat_mobject``), built and drawn
  in one frame, measured in the same run as the baseline; ``ratio`` = (cold + frame) / flat;
* ``flat frame``: drawing one more frame of the built flat drawing (its cost per video frame).

And the smooth turn posterior -> lateral of the L4-L5 drawing (every 3 deg, 31 layers),
cold and cached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_common import median_time as _median  # noqa: E402 - beside this script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYTHONHASHSEED", "0")

LEVELS = ["L3", "L3-L4", "L4", "L4-L5", "L5", "L5-S1", "S1"]
OVERVIEW_ZOOM = ["L1", "L1-L2", "L2", "L2-L3", "L3", "L3-L4", "L4"]


def _frame_seconds(mobject) -> float:
    """Seconds for Manim's camera to draw one frame holding the mobject."""
    from manim import Camera

    camera = Camera()
    t = time.perf_counter()
    camera.capture_mobjects([mobject])
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="854x480,1920x1080")
    args = parser.parse_args()

    from manim import tempconfig

    from spine.anatomy.model import SpineModel
    from spine.imaging import illustration
    from scenes.kit.anatomy_views import SpineView

    model = SpineModel.default()
    disk = Path(tempfile.mkdtemp(prefix="illustration-bench-"))
    cases = {
        "L4-L5 lateral": dict(kind="lateral", levels=LEVELS),
        "L4-L5 posterior": dict(kind="posterior", levels=LEVELS),
        "L4-L5 oblique -30": dict(kind="oblique", deg=-30.0, levels=LEVELS),
        "L4-L5 axial": dict(kind="axial", levels=["L4-L5"], axial_level="L4-L5"),
        "L4-L5 cut-away": dict(kind="lateral", levels=LEVELS, near_side=False),
        "overview whole": dict(kind="lateral", levels=None),
        "overview L1-L4": dict(kind="lateral", levels=OVERVIEW_ZOOM, highlight="L2-L3"),
    }
    print(f"repeats {args.repeats}; medians in seconds; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for size in args.sizes.split(","):
        w, h = (int(x) for x in size.split("x"))
        with tempconfig({"pixel_width": w, "pixel_height": h}):
            print(f"\n{w}x{h}")
            print(
                f"{'drawing':20s} {'layer px':>10s} {'cold':>7s} {'disk':>7s} {'memory':>7s} {'frame':>7s} "
                f"{'flat':>7s} {'ratio':>6s} {'flat frame':>10s}"
            )
            for name, case in cases.items():
                view = SpineView(
                    model, case["kind"], oblique_deg=case.get("deg", 0.0), axial_level=case.get("axial_level")
                )
                kw = dict(levels=case["levels"], near_side=case.get("near_side", True), highlight=case.get("highlight"))

                def cold():
                    illustration._MEMORY.clear()
                    os.environ["SPINE_ILLUSTRATION_CACHE"] = "0"
                    return view.spine_mobject(**kw).layer

                def from_disk():
                    illustration._MEMORY.clear()
                    os.environ["SPINE_ILLUSTRATION_CACHE"] = str(disk)
                    return view.spine_mobject(**kw).layer

                t_cold = _median(cold, args.repeats)
                os.environ["SPINE_ILLUSTRATION_CACHE"] = str(disk)
                illustration._MEMORY.clear()
                layer = view.spine_mobject(**kw).layer  # written to disk
                t_disk = _median(from_disk, args.repeats)
                t_mem = _median(lambda: view.spine_mobject(**kw).layer, args.repeats)
                drawing = view.spine_mobject(**kw)
                drawing.layer
                t_frame = statistics.median(_frame_seconds(drawing) for _ in range(args.repeats))
                flat_kw = dict(kw)
                t_flat = _median(lambda: _frame_seconds(view.flat_mobject(**flat_kw)), args.repeats)
                flat = view.flat_mobject(**flat_kw)
                t_flat_frame = statistics.median(_frame_seconds(flat) for _ in range(args.repeats))
                px = f"{layer.rgba.shape[1]}x{layer.rgba.shape[0]}"
                print(
                    f"{name:20s} {px:>10s} {t_cold:7.2f} {t_disk:7.3f} {t_mem:7.4f} {t_frame:7.3f} "
                    f"{t_flat:7.2f} {(t_cold + t_frame) / t_flat:6.2f} {t_flat_frame:10.3f}",
                    flush=True,
                )
            # the smooth turn
            view = SpineView(model, "posterior")
            illustration._MEMORY.clear()
            os.environ["SPINE_ILLUSTRATION_CACHE"] = "0"
            t = time.perf_counter()
            _a, layers, _w = view.turn_frames(90.0, levels=LEVELS, step_deg=3.0)
            t_turn = time.perf_counter() - t
            t = time.perf_counter()
            view.turn_frames(90.0, levels=LEVELS, step_deg=3.0)
            t_turn_cached = time.perf_counter() - t
            print(
                f"turn posterior->lateral, {len(layers)} layers of {layers[0].rgba.shape[1]}x"
                f"{layers[0].rgba.shape[0]}: cold {t_turn:.1f} s ({t_turn / len(layers):.2f} s a layer), "
                f"cached {t_turn_cached:.3f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
