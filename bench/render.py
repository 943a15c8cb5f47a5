#!/usr/bin/env python3
"""Benchmark of ``render.py render``: one video cold and warm, against the encoder's floor.

In one run (so the figures share the machine's load):

1. *cold*: ``render.py render VIDEO --quality Q -j N`` with empty caches (speech, beat
   segments, checkpoints, fluoroscopy);
2. *warm*: the same with the speech already synthesised, nothing else cached;
3. *floor*: the frames of the MP4 just written, decoded and encoded again with x264 at the
   options the render gave its segments (``EncoderSettings.segment_options``: crf 23, 2
   threads, no macroblock tree, preset medium at 1080p), the least any renderer that writes
   this video with these settings would spend. (Until December 2026 the floor left out
   ``mbtree=0``, about 3 % cheaper in CPU than the segments' own settings on these frames.)

Each time is printed with its ratio to the floor, and the render's speed against the
video's length; the last line is ``ratio_to_floor_warm R``. Targets on 2 cores: warm
<= 1.3x the floor, cold <= 2x, a preview of the overview in at most a third of its length.

    python bench/render.py                                  # the overview at 1080p (several minutes)
    python bench/render.py --quality preview                # quicker, for iterating
    python bench/render.py --video spine-atlas --quality preview
    python bench/render.py --commit 349c01a --jobs 2 & python bench/render.py   # before and after, same load

Everything runs in a snapshot of the repository (``git archive HEAD``, or the working tree
with ``--worktree``), so files edited meanwhile do not mix into the run. The anatomy's mesh cache (``SPINE_ANATOMY_CACHE``) is kept: it holds the bones' geometry,
not frames. Results are also written to ``bench/results/render-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import snapshot  # noqa: E402 - beside this script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of it and its children, the process) of one command."""
    started, cpu = time.monotonic(), children_cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return seconds, children_cpu() - cpu, proc


def render(work: Path, name: str, video: str, quality: str, jobs: int | None, speech_from: Path | None = None):
    """``render.py render`` into ``work/<name>-out`` with its own caches under ``work/<name>-cache``."""
    cache = work / f"{name}-cache"
    cache.mkdir(parents=True)
    if speech_from is not None:
        shutil.copytree(speech_from / "speech", cache / "speech")
    repo = work / "repo"
    env = dict(os.environ, SPINE_CACHE_DIR=str(cache), FLUORO_CACHE_DIR=str(cache / "fluoro"), PYTHONPATH=str(repo))
    env.pop("SPINE_CATALOG_PLUGINS", None)
    for variable in ("SPINE_FLUORO_CACHE_DIR", "SPINE_ILLUSTRATION_CACHE", "SPINE_TEXT_CACHE"):
        env.pop(variable, None)  # these caches follow SPINE_CACHE_DIR: empty when cold, not shared with warm
    out = work / f"{name}-out"
    jobs_args = [] if jobs is None else ["-j", str(jobs)]
    seconds, cpu, proc = timed(
        [sys.executable, "render.py", "render", video, "--quality", quality, *jobs_args, "--output-dir", str(out)],
        env,
        cwd=repo,
    )
    mp4 = Path(proc.stdout.strip().splitlines()[-1])
    sidecar = json.loads(mp4.with_suffix(".json").read_text())
    return seconds, cpu, mp4, sidecar, cache


def segment_options(repo: Path, height: int) -> dict[str, str]:
    """The x264 options the benchmarked snapshot gives a beat segment ``height`` lines high
    (``spine.settings.EncoderSettings.segment_options``: crf, threads, x264-params, preset)."""
    code = "import json, sys; from spine.settings import settings; "
    code += "print(json.dumps(settings().encoder.segment_options(int(sys.argv[1]))))"
    env = dict(os.environ, PYTHONPATH=str(repo))
    env = {k: v for k, v in env.items() if not k.startswith("SPINE_")}  # the project's defaults
    proc = subprocess.run([sys.executable, "-c", code, str(height)], cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"could not read the segments' x264 options: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def floor(mp4: Path, options: dict[str, str], threads: int | None, work: Path) -> tuple[float, float]:
    """Decode ``mp4``'s frames and encode them again with x264 at the segments' own options
    (``threads`` instead of theirs when given)."""
    x264 = ["-crf", options["crf"], "-preset", options.get("preset", "medium")]
    x264 += ["-threads", str(threads) if threads else options["threads"]]
    if options.get("x264-params"):
        x264 += ["-x264-params", options["x264-params"]]
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(mp4), "-map", "0:v", "-c:v", "libx264", *x264]
    cmd += ["-pix_fmt", "yuv420p", str(work / "floor.mp4")]
    seconds, cpu, _ = timed(cmd, dict(os.environ))
    return seconds, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", default="overview")
    parser.add_argument("--quality", default="1080p", help="1080p (default) or preview for a quicker run")
    parser.add_argument("--jobs", type=int, default=None, help="render -j (default: render's own default)")
    parser.add_argument("--threads", type=int, default=None, help="x264 threads of the floor (default: the segments')")
    parser.add_argument("--worktree", action="store_true", help="benchmark the working tree instead of HEAD")
    parser.add_argument("--commit", help="benchmark this commit instead of HEAD (e.g. the one before a change)")
    parser.add_argument("--keep", type=Path, help="keep the outputs and caches in this (new) directory")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-render-"))
    work.mkdir(parents=True, exist_ok=True)
    label = f"{args.video} at {args.quality}{' at ' + args.commit if args.commit else ''}, render " + (
        f"-j {args.jobs}" if args.jobs else "with its default -j"
    )
    try:
        if args.commit:
            (work / "repo").mkdir(parents=True)
            archive = subprocess.run(["git", "archive", args.commit], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(work / "repo")], input=archive.stdout, check=True)
        else:
            snapshot(work / "repo", args.worktree)
        print(f"cold: {label}, empty caches", flush=True)
        cold_s, cold_cpu, _, sidecar, cold_cache = render(work, "cold", args.video, args.quality, args.jobs)
        print(f"  {cold_s:.1f} s ({cold_cpu:.0f} s CPU)", flush=True)
        print(f"warm: {label}, speech cached, frames not", flush=True)
        warm_s, warm_cpu, mp4, sidecar, _ = render(
            work, "warm", args.video, args.quality, args.jobs, speech_from=cold_cache
        )
        print(f"  {warm_s:.1f} s ({warm_cpu:.0f} s CPU)", flush=True)
        options = segment_options(work / "repo", int(sidecar["height"]))
        described = " ".join(f"{k} {v}" for k, v in options.items())
        print(f"floor: x264 at the segments' options ({described}), on the {sidecar['frames']} frames", flush=True)
        floor_s, floor_cpu = floor(mp4, options, args.threads, work)
        print(f"  {floor_s:.1f} s ({floor_cpu:.0f} s CPU)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    length = float(sidecar["duration_s"])
    result = {
        "video": args.video,
        "quality": args.quality,
        "jobs": args.jobs,
        "commit": args.commit or "HEAD",
        "cpus": os.cpu_count(),
        "frames": sidecar["frames"],
        "video_seconds": length,
        "cold_seconds": cold_s,
        "warm_seconds": warm_s,
        "floor_seconds": floor_s,
        "cold_cpu_seconds": cold_cpu,
        "warm_cpu_seconds": warm_cpu,
        "floor_cpu_seconds": floor_cpu,
        "floor_x264": options,
        "ratio_to_floor_cold": cold_s / floor_s,
        "ratio_to_floor_warm": warm_s / floor_s,
        "cpu_ratio_to_floor_cold": cold_cpu / floor_cpu,
        "cpu_ratio_to_floor_warm": warm_cpu / floor_cpu,
        "warm_per_video_second": warm_s / length,
        "load_average": os.getloadavg(),
    }
    print()
    print(f"video: {args.video} {args.quality}, {sidecar['frames']} frames, {length:.1f} s")
    print(f"floor (x264 re-encode)   {floor_s:7.1f} s")
    print(f"cold render              {cold_s:7.1f} s   {cold_s / floor_s:.2f}x the floor (target <= 2)")
    print(f"warm render              {warm_s:7.1f} s   {warm_s / floor_s:.2f}x the floor (target <= 1.3)")
    # a preview of the overview in a third of its length (render speed); of a procedure video, in
    # half (illustration); the overview at 1080p in its own length (real-time factor)
    if args.quality == "preview":
        target = "overview preview target <= 0.33" if args.video == "overview" else "procedure preview target <= 0.5"
    else:
        target = "real-time factor, overview target <= 1.0"
    print(f"warm render / length     {warm_s / length:7.2f}     ({target})")
    # on a shared machine the wall times wait for other work; the CPU seconds are steadier
    print(
        f"CPU seconds              floor {floor_cpu:.0f}, cold {cold_cpu:.0f} ({cold_cpu / floor_cpu:.2f}x), "
        f"warm {warm_cpu:.0f} ({warm_cpu / floor_cpu:.2f}x)"
    )
    print(f"load average             {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"render-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"ratio_to_floor_warm {warm_s / floor_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
