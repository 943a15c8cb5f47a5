"""One frame per beat of a video, for review: a settled frame a little after the beat's middle.

    .venv/bin/python docs/frames/make_frames.py                    # transforaminal-esi, 1080p
    .venv/bin/python docs/frames/make_frames.py --video caudal-esi --quality preview

Renders the video with the real CLI (``render.py render``, the narration read by the voice the
CLI picks, so each beat is as long as in the published video), then reads each beat's start and
end from the sidecar JSON and writes ``docs/frames/<video>/<nn>-<beat>.png``: the first frame from
60 % through the beat on whose picture nothing moves for the next 0.6 s (no caption caught
mid-transform, no turn mid-way; the 60 % frame if the beat never settles). PNGs are written under a
temporary name and renamed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent


def settled_time(mp4: Path, start: float, end: float, still_s: float = 0.6, tolerance: float = 0.1) -> float:
    """The time of the first frame from ``start`` (before ``end``) after which the picture stays
    the same for ``still_s`` (mean absolute difference of the grey levels, on a 1/8 scale
    copy, under ``tolerance``): a frame where the beat's animations have settled. ``start``
    itself if none is found."""
    import av
    import numpy as np

    with av.open(str(mp4)) as box:
        stream = box.streams.video[0]
        fps = float(stream.average_rate)
        need = max(1, int(round(still_s * fps)))
        box.seek(int(max(0.0, start - 1.0) / stream.time_base), stream=stream)
        run_start, run, previous = None, 0, None
        for frame in box.decode(stream):
            t = float(frame.pts * stream.time_base)
            if t < start - 0.5 / fps:
                continue
            if t > end:
                break
            grey = frame.to_ndarray(format="gray")[::8, ::8].astype(np.float32)
            if previous is not None and float(np.abs(grey - previous).mean()) < tolerance:
                run += 1
                if run >= need:
                    return run_start
            else:
                run_start, run = t, 0
            previous = grey
    return start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default="transforaminal-esi")
    ap.add_argument("--quality", default="1080p")
    ap.add_argument(
        "--output-dir", type=Path, default=None, help="where the video is rendered (default: a temporary folder)"
    )
    args = ap.parse_args(argv)
    env = dict(os.environ, PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.output_dir or Path(scratch)
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "render.py"),
                "render",
                args.video,
                "--quality",
                args.quality,
                "--output-dir",
                str(out),
                "--quiet",
            ],
            cwd=ROOT,
            env=env,
        )
        if proc.returncode != 0:
            return proc.returncode
        sidecars = sorted(out.glob(f"{args.video}-*{args.quality}.json"))
        if len(sidecars) != 1:
            print(
                f"expected one sidecar for {args.video} at {args.quality} in {out}, found {len(sidecars)}",
                file=sys.stderr,
            )
            return 1
        sidecar = json.loads(sidecars[0].read_text(encoding="utf-8"))
        mp4 = sidecars[0].with_suffix(".mp4")
        target = OUT / args.video
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*.png"):
            old.unlink()
        for n, beat in enumerate(sidecar["beats"], start=1):
            at = settled_time(mp4, beat["start_s"] + 0.6 * (beat["end_s"] - beat["start_s"]), beat["end_s"] - 0.1)
            final = target / f"{n:02d}-{beat['id']}.png"
            temporary = final.with_name(f".{final.name}.tmp.png")
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y", "-ss", f"{at:.3f}", "-i", str(mp4), "-frames:v", "1", str(temporary)],
                check=True,
            )
            temporary.replace(final)
            print(final.relative_to(ROOT), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
