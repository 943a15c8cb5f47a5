"""``render.py all`` for real, on a tiny five-beat video: skips, resumes, splits, failures, Dask.

Every build here renders with Manim at the small "test" quality (192x108, 10 fps) and the
silent ``none`` voice; the test videos are registered by ``tests/test_catalog_plugin.py``,
loaded into the CLI (and its workers) through ``SPINE_CATALOG_PLUGINS``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests import test_catalog_plugin as plugin
from pipeline.media import frame_md5s
from tests.conftest import ROOT, audio_md5

pytestmark = pytest.mark.render
PLUGIN = ROOT / "tests" / "test_catalog_plugin.py"
STEM = "catalog-test-test"


def write_catalog(path: Path, *videos: str) -> Path:
    lines = ["include_defaults: false", "variants:"] + [f"  - video: {v}" for v in videos]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_all(
    tmp: Path,
    *args: str,
    catalog: Path | None = None,
    env: dict | None = None,
    timeout: float = 240,
    popen: bool = False,
):
    """``render.py all`` on the test catalog with the tmp output and cache dirs."""
    cmd = [
        sys.executable,
        str(ROOT / "render.py"),
        "all",
        "--quality",
        "test",
        "--voice",
        "none",
        "--catalog",
        str(catalog or write_catalog(tmp / "catalog.yaml", plugin.VIDEO)),
        "--output-dir",
        str(tmp / "out"),
        "--cache-dir",
        str(tmp / "cache"),
        *args,
    ]
    full_env = dict(os.environ, SPINE_CATALOG_PLUGINS=str(PLUGIN), TMPDIR=str(scratch(tmp)))
    full_env.update(env or {})
    if popen:
        return subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def scratch(tmp: Path) -> Path:
    path = tmp / "scratch"
    path.mkdir(exist_ok=True)
    return path


def outputs_of(out: Path) -> dict[str, str]:
    """sha256 and mtime of every video output (mp4, srt, vtt, json) in ``out``."""
    found = {}
    for path in sorted(out.glob("*")):
        if (
            path.name.endswith((".mp4", ".srt", ".vtt", ".json", ".transcript.txt", ".transcript.html"))
            and path.name != "manifest.json"
        ):
            found[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return found


def container_facts(path: Path) -> dict:
    info = json.loads(
        subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_chapters",
                "-show_format",
                "-show_streams",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    streams = [
        {k: s.get(k) for k in ("codec_name", "width", "height", "r_frame_rate", "duration", "sample_rate", "channels")}
        for s in info["streams"]
    ]
    chapters = [(c["start_time"], c["end_time"], c["tags"].get("title")) for c in info.get("chapters", [])]
    return {"streams": streams, "chapters": chapters, "title": info["format"].get("tags", {}).get("title")}


def statuses(stdout: str) -> dict[str, str]:
    """stem -> status from the summary table."""
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("built", "skipped", "failed", "interrupted", "unavailable"):
            rows[parts[0]] = parts[1]
    return rows


def assert_complete_outputs(out: Path, killed: bool = False) -> None:
    """No partial file anywhere under out/, and every MP4 is the one its sidecar vouches for.
    ``killed``: a process killed outright may leave its hidden scratch folder (``.partial-set-<pid>-*``,
    never a file among the outputs); the next run removes it."""
    partial = [
        p
        for p in out.rglob("*")
        if p.name.startswith((".partial-", ".tmp-"))
        and not (killed and any(q.name.startswith(".partial-set-") for q in [p, *p.parents]))
    ]
    assert not partial, partial
    for mp4 in out.glob("*.mp4"):
        sidecar = json.loads(mp4.with_suffix(".json").read_text())
        assert hashlib.sha256(mp4.read_bytes()).hexdigest() == sidecar["sha256"], mp4
        assert len(frame_md5s(mp4)) > 0


# -- in-process: segments ------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_request():
    from pipeline.cluster import load_plugins
    from spine.videos import VideoRequest

    load_plugins([str(PLUGIN)])
    return VideoRequest(plugin.spec(), None, None)


def render_movie_with(request, storyboard, cache: Path, passes: list[list[int]] | None = None) -> tuple[Path, list]:
    """Render in the given beat ranges (each its own pass), join the segments; returns movie and reports."""
    from pipeline.cache import segment_path
    from pipeline.media import concat_movies
    from pipeline.scene_render import render_pass

    reports, keys = [], {}
    for beats in passes or [None]:
        with tempfile.TemporaryDirectory() as work:
            report = render_pass(request, storyboard, "test", Path(work), cache, beats=beats)
        reports.append(report)
        keys.update(report.keys)
    movie = cache / f"joined-{len(list(cache.glob('joined-*')))}.mp4"
    concat_movies([segment_path(cache, keys[i]) for i in range(len(storyboard.beats))], movie)
    return movie, reports


def test_split_render_is_frame_identical_to_a_straight_render(test_request, tmp_path):
    storyboard = plugin.storyboard()
    straight, _ = render_movie_with(test_request, storyboard, tmp_path / "one")
    split, reports = render_movie_with(test_request, storyboard, tmp_path / "three", [[0, 1], [2], [3, 4]])
    assert [r.rendered for r in reports] == [[0, 1], [2], [3, 4]]
    frames = frame_md5s(straight)
    assert len(frames) == storyboard.total_frames
    assert frame_md5s(split) == frames


def test_a_range_handed_over_mid_render_stops_and_the_helper_draws_the_rest(test_request, tmp_path):
    """The end of a catalog build: an idle worker takes the later beats of a range being drawn.
    The build writes the first beat handed over into the range's handover file while it draws;
    the range stops before it, the helper starts from the range's checkpoint, and the two make
    the frames of a straight render."""
    from pipeline.beats import task_render
    from pipeline.cache import segment_path
    from pipeline.media import concat_movies
    from pipeline.options import BuildOptions, Job

    storyboard = plugin.storyboard()
    straight, _ = render_movie_with(test_request, storyboard, tmp_path / "one")
    cache = tmp_path / "cache"
    job = Job(test_request, BuildOptions(quality="test", cache_dir=cache, output_dir=tmp_path / "out"))
    handover = tmp_path / "handover"
    events: list = []

    def report(payload):
        events.append(payload)
        if isinstance(payload, tuple) and payload[:2] == ("beat", 0):  # beat 1 done: hand over beats 4-5
            handover.write_text("3")

    first = task_render(job, storyboard, [0, 1, 2, 3, 4], False, handover, report=report)
    assert sorted(first.keys) == [0, 1, 2] and first.drawn == [0, 1, 2]
    assert any("handed to another worker" in str(e) for e in events)
    helper_events: list = []
    helper = task_render(job, storyboard, [3, 4], False, report=helper_events.append)
    assert helper.drawn == [3, 4]
    assert any("from a checkpoint" in str(e) for e in helper_events)  # not replayed from the start
    keys = {**first.keys, **helper.keys}
    joined = tmp_path / "joined.mp4"
    concat_movies([segment_path(cache, keys[i]) for i in range(len(storyboard.beats))], joined)
    assert frame_md5s(joined) == frame_md5s(straight)


def test_an_idle_worker_at_the_end_takes_the_later_half_of_the_longest_range(test_request, tmp_path):
    from pipeline.catalog import _Printer, _Range, _Run, _Scheduler
    from pipeline.options import BuildOptions, Job

    class Pool:
        size, ship_outputs = 2, False

        def __init__(self):
            self.scratch, self.submitted = tmp_path, []

        def submit(self, task_id, fn, args, **hints):
            self.submitted.append((task_id, args))

        def pending(self):
            return 1 + len(self.submitted)  # the range being drawn, and what was given since

    job = Job(test_request, BuildOptions(quality="test"))
    run = _Run(job, {}, "not built before", tmp_path / "x.log")
    run.storyboard = plugin.storyboard(seconds=(10.0, 10.0, 10.0, 10.0, 10.0))
    run.chunks_left = 1
    pool = Pool()
    scheduler = _Scheduler(pool, {job.stem: run}, {}, _Printer(stream=io.StringIO()))
    scheduler.plans_left = 0
    scheduler.ranges["render-1"] = _Range(job.stem, [0, 1, 2, 3, 4], tmp_path / "handover-1", done={0})
    scheduler.share_tail()
    # beat 2 is under way; of beats 2-5 it keeps 2-3 and hands 4-5 over
    assert (tmp_path / "handover-1").read_text() == "3"
    assert scheduler.ranges["render-1"].beats == [0, 1, 2]
    ((task_id, args),) = pool.submitted
    assert args[2] == [3, 4] and run.chunks_left == 2 and scheduler.ranges[task_id].beats == [3, 4]
    scheduler.share_tail()  # the workers are busy now: nothing more
    assert len(pool.submitted) == 1

    # nothing is handed over while videos are still to be planned, or with little left ahead
    for plans_left, seconds in ((1, 10.0), (0, 2.0)):
        pool = Pool()
        run.storyboard = plugin.storyboard(seconds=(seconds,) * 5)
        scheduler = _Scheduler(pool, {job.stem: run}, {}, _Printer(stream=io.StringIO()))
        scheduler.plans_left = plans_left
        scheduler.ranges["render-1"] = _Range(job.stem, [0, 1, 2, 3, 4], tmp_path / "handover-2", done={0})
        scheduler.share_tail()
        assert not pool.submitted and not (tmp_path / "handover-2").exists()


def test_editing_one_beat_redraws_only_that_beat(test_request, tmp_path):
    cache = tmp_path / "cache"
    render_movie_with(test_request, plugin.storyboard(), cache)
    longer = plugin.storyboard(seconds=(1.2, 3.4, 2.5, 1.5, 1.0))  # "shapes" got a longer narration
    edited, reports = render_movie_with(test_request, longer, cache)
    assert reports[0].rendered == [1]
    # It began at the checkpoint of beat 1 and stopped once beat 2 began as it did before.
    assert (reports[0].started_at, reports[0].stopped_early) == (1, True)
    fresh, _ = render_movie_with(test_request, longer, tmp_path / "fresh")
    assert frame_md5s(edited) == frame_md5s(fresh)


def test_editing_one_beat_of_the_overview_redraws_only_that_beat(tmp_path):
    """The real overview (its live fluoro needle, its waits): a longer 7th beat redraws beat 7 only.

    The fluoro noise and the scene's state at later beats must not depend on how long the
    edited beat was, and the result must equal a fresh render of the edited storyboard.
    """
    from pipeline.cluster import load_plugins
    from spine.videos import resolve
    from scenes.storyboard import PAUSE_AFTER_SPEECH_S
    from voiceover.scripts import load_script

    load_plugins([str(PLUGIN)])
    request = resolve("overview")
    script = load_script(request.spec.script_name, "en").filled(request.script_context())
    ids = [b.id for b in script.beats]
    edited = ids.index("needle")

    def board(longer: float):
        from types import SimpleNamespace

        from pipeline.build import make_storyboard

        seconds = [2.0 + 0.3 * (i % 3) + (longer if i == edited else 0.0) for i in range(len(ids))]
        # the context a build gives the scene (its screen words and vocabulary), with test timings
        spoken = [SimpleNamespace(duration_s=s - PAUSE_AFTER_SPEECH_S) for s in seconds]
        return make_storyboard(request, script, spoken, plugin.TEST_QUALITY.fps)

    # Each build runs in its own process, as builds in different workers do. Across processes,
    # x264's macroblock tree used to make the 'example' beat's transform decode differently now
    # and then (see SEGMENT_ENCODER_OPTIONS).
    import pickle

    for name, longer in (("board-0.pkl", 0.0), ("board-1.pkl", 1.7)):
        (tmp_path / name).write_bytes(pickle.dumps(board(longer)))

    def in_new_process(board_file: str, cache: Path) -> tuple[Path, list]:
        code = (
            "import pickle, sys; from pathlib import Path; from pipeline.cluster import load_plugins; "
            f"load_plugins([{str(PLUGIN)!r}]); from spine.videos import resolve; "
            "from tests.test_catalog import render_movie_with; "
            f"board = pickle.loads(Path({str(tmp_path / board_file)!r}).read_bytes()); "
            f"movie, reports = render_movie_with(resolve('overview'), board, Path({str(cache)!r})); "
            "print(movie); print([r.rendered for r in reports])"
        )
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        lines = proc.stdout.strip().splitlines()
        return Path(lines[-2]), json.loads(lines[-1])

    in_new_process("board-0.pkl", tmp_path / "cache")
    movie, rendered = in_new_process("board-1.pkl", tmp_path / "cache")
    assert rendered == [[edited]]  # the second build drew only the edited beat
    fresh, _ = in_new_process("board-1.pkl", tmp_path / "fresh")
    assert frame_md5s(movie) == frame_md5s(fresh)


def test_prune_cache_removes_least_recently_used_and_keeps_what_a_build_used(tmp_path):
    from pipeline.cache import CHECKPOINTS_DIR, prune_cache, segment_dir

    seg = segment_dir(tmp_path)
    (seg / "index").mkdir(parents=True)
    (tmp_path / CHECKPOINTS_DIR).mkdir()
    now = time.time()
    for n, age in enumerate((500, 400, 300, 5, 1)):  # a..e: the last two used by the latest build
        path = seg / f"{'abcde'[n]}.mp4"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - age, now - age))
    old_checkpoint = tmp_path / CHECKPOINTS_DIR / "p.pkl"
    old_checkpoint.write_bytes(b"y" * 1000)
    os.utime(old_checkpoint, (now - 450, now - 450))
    (seg / "index" / "old.json").write_text('["a", "d"]')
    (seg / "index" / "new.json").write_text('["d", "e"]')

    removed, freed = prune_cache(tmp_path, limit=2500, keep_since=now - 10)
    assert (removed, freed) == (4, 4000)
    assert sorted(p.name for p in seg.glob("*.mp4")) == ["d.mp4", "e.mp4"]
    assert not old_checkpoint.exists()
    assert [p.name for p in (seg / "index").iterdir()] == ["new.json"]
    # What the latest build used is kept even over the limit.
    assert prune_cache(tmp_path, limit=0, keep_since=now - 10) == (0, 0)
    assert len(list(seg.glob("*.mp4"))) == 2


def test_scratch_of_a_killed_process_is_removed_by_the_next_run(tmp_path):
    from pipeline.cache import WORK_DIR, sweep_stale_work_dirs, work_dir

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / WORK_DIR / f"render-{gone.pid}-abc123"
    (stale / "media").mkdir(parents=True)
    (stale / "media" / "frames.mp4").write_bytes(b"half")
    with work_dir(tmp_path, "build") as mine:
        assert mine.parent == tmp_path / WORK_DIR and mine.is_dir()
        assert sweep_stale_work_dirs(tmp_path) == [stale]
        assert mine.is_dir()  # ours (a live pid) stays
    assert not mine.exists()
    assert not list((tmp_path / WORK_DIR).iterdir())


def test_split_beats_balances_ranges():
    from pipeline.beats import split_beats

    frames = [30, 30, 30, 30, 30, 30]
    assert split_beats(frames, 1) == [[0, 1, 2, 3, 4, 5]]
    ranges = split_beats(frames, 2)
    assert [i for r in ranges for i in r] == list(range(6)) and len(ranges) == 2
    assert len(ranges[0]) >= len(ranges[1])  # the later range also fast-forwards the earlier one
    assert split_beats([10], 4) == [[0]]


# -- the command -----------------------------------------------------------------------------


def test_second_run_skips_everything_fast_with_unchanged_outputs(tmp_path):
    first = run_all(tmp_path, "-j", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert statuses(first.stdout) == {STEM: "built"}
    before = outputs_of(tmp_path / "out")
    assert set(before) == {
        f"{STEM}.{ext}"
        for ext in ("mp4", "srt", "vtt", "json", "descriptions.vtt", "transcript.txt", "transcript.html")
    }

    started = time.monotonic()
    second = run_all(tmp_path, "-j", "2")
    elapsed = time.monotonic() - started
    assert second.returncode == 0, second.stderr[-3000:]
    assert statuses(second.stdout) == {STEM: "skipped"}, second.stdout
    assert outputs_of(tmp_path / "out") == before
    assert "index.html (up to date)" in second.stderr, second.stderr  # the gallery is not written again
    print(f"no-change run: {elapsed:.2f} s (speed is measured by bench/catalog.py, not asserted here)")

    # A damaged output is noticed (sha256) and rebuilt from the cached beats, without drawing.
    mp4 = tmp_path / "out" / f"{STEM}.mp4"
    mp4.write_bytes(mp4.read_bytes()[:-100])
    third = run_all(tmp_path)
    assert third.returncode == 0, third.stderr[-3000:]
    assert statuses(third.stdout) == {STEM: "built"}
    assert "all 5 beats cached" in third.stdout
    assert outputs_of(tmp_path / "out")[mp4.name][0] == before[mp4.name][0]


def test_each_handout_is_written_as_soon_as_its_video_is_built(tmp_path):
    """The handouts are written beside the build, not all after it: the first is there before
    the last video is done, and every built video has its own (and the summary names them)."""
    videos = (plugin.VIDEO, *plugin.COPIES)
    catalog = write_catalog(tmp_path / "catalog.yaml", *videos)
    # one worker builds the videos one after another, each beat sleeping a second: the last ends
    # about 15 s after the first
    proc = run_all(tmp_path, "-j", "1", catalog=catalog, env={plugin.SLEEP_ENV: "1.0"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    mp4s = sorted(out.glob("*.mp4"))
    pdfs = sorted(out.glob("*.handout-a4.pdf"))
    assert len(mp4s) == len(videos) and [p.name.removesuffix(".handout-a4.pdf") for p in pdfs] == [m.stem for m in mp4s]
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert min(p.stat().st_mtime for p in pdfs) < max(m.stat().st_mtime for m in mp4s), proc.stdout + proc.stderr
    assert sorted(line.split()[-1] for line in proc.stderr.splitlines() if line.startswith("handout: ")) == [
        p.name for p in pdfs
    ]
    # up to date: nothing written again
    before = {p.name: p.stat().st_mtime_ns for p in pdfs}
    again = run_all(tmp_path, "-j", "1", catalog=catalog)
    assert again.returncode == 0 and "handout: " not in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.handout-a4.pdf")} == before


def test_a_spare_worker_speaks_ahead_and_the_video_is_the_same(tmp_path):
    """With more workers than videos to plan, a spare worker speaks the video's beats (last first)
    into the speech cache while its plan task plans the needles and speaks from the first beat;
    its sound is the one made when every worker has a video of its own to plan (no one speaks
    ahead). Both with two workers: a worker's share of the cores for ONNX Runtime changes piper's
    samples, so -j 1 sounds a little different. (The frames of the two builds are not compared:
    a video built alone, its beats split in two ranges, and one built beside another, in one
    range, differ in some beats with or without speaking ahead.)"""
    made = {}
    for case, videos in (("alone", (plugin.VIDEO,)), ("paired", (plugin.VIDEO, "catalog-test-2"))):
        (tmp_path / case).mkdir()
        catalog = write_catalog(tmp_path / case / "catalog.yaml", *videos)
        proc = run_all(tmp_path / case, "-j", "2", "--voice", "piper", "--no-gallery", catalog=catalog)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert statuses(proc.stdout)[STEM] == "built", proc.stdout
        log = (tmp_path / case / "cache" / "logs" / f"{STEM}.log").read_text(encoding="utf-8")
        made[case] = (log, tmp_path / case / "out" / f"{STEM}.mp4")
    assert "spoke ahead" not in made["paired"][0]  # each worker plans a video: nobody to speak ahead
    assert "spoke ahead: 5 beat(s), last first" in made["alone"][0], made["alone"][0]
    assert audio_md5(made["alone"][1]) == audio_md5(made["paired"][1])


def test_edited_narration_redraws_one_beat(tmp_path):
    assert run_all(tmp_path).returncode == 0
    segments = tmp_path / "cache" / "segments"
    assert len(list(segments.glob("*.mp4"))) == 5
    for old in segments.glob("*.mp4"):  # used an hour ago (same-second mtimes would make LRU order moot)
        os.utime(old, (time.time() - 3600, time.time() - 3600))
    # With a tiny cache limit, the build keeps what it used and prunes the rest (the old "move").
    edited = run_all(tmp_path, env={plugin.EDIT_ENV: "move", "SPINE_CACHE_LIMIT": "1k"})
    assert edited.returncode == 0, edited.stderr[-3000:]
    assert statuses(edited.stdout) == {STEM: "built"}
    assert "1/5 beats drawn" in edited.stdout, edited.stdout
    assert "cache: removed" in edited.stderr
    assert len(list(segments.glob("*.mp4"))) == 5
    assert not list((tmp_path / "cache" / "work").iterdir())
    srt = (tmp_path / "out" / f"{STEM}.srt").read_text()
    assert "It now says more than before." in srt


def test_failing_video_is_reported_with_its_log_and_the_others_build(tmp_path):
    catalog = write_catalog(tmp_path / "catalog.yaml", plugin.VIDEO, plugin.BROKEN)
    proc = run_all(tmp_path, "-j", "2", catalog=catalog)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-3000:])
    assert statuses(proc.stdout) == {STEM: "built", "catalog-broken-test": "failed"}
    log = tmp_path / "cache" / "logs" / "catalog-broken-test.log"
    assert str(log) in proc.stdout
    assert "broken on purpose" in log.read_text()
    assert "failed" in proc.stderr.splitlines()[-1] and proc.stderr.splitlines()[-1].startswith("Error: ")
    assert (tmp_path / "out" / f"{STEM}.mp4").is_file()
    assert not (tmp_path / "out" / "catalog-broken-test.mp4").exists()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [v["file"] for v in manifest["videos"]] == [f"{STEM}.mp4"]


def test_video_whose_scene_is_not_written_is_unavailable_not_failed(tmp_path):
    from dataclasses import replace

    from pipeline.catalog import build_all, load_catalog, summary_table

    job = load_catalog(
        write_catalog(tmp_path / "catalog.yaml", plugin.VIDEO),
        quality="test",
        voice="none",
        output_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        plugins=[str(PLUGIN)],
    )[0]
    outcomes = build_all([replace(job, problem="its scene (scenes.x:Y) is not written yet")], workers=1)
    assert [o.status for o in outcomes] == ["unavailable"]
    assert "not written yet" in summary_table(outcomes) and "1 unavailable" in summary_table(outcomes)
    assert not list((tmp_path / "out").glob("*.mp4"))


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_interrupted_build_keeps_finished_videos_and_resumes(tmp_path, how):
    videos = (plugin.VIDEO, *plugin.COPIES)
    catalog = write_catalog(tmp_path / "catalog.yaml", *videos)
    marker = f"SPINE_TEST_RUN={uuid.uuid4()}"
    # each beat naps 1.5 s: the videos still to build after the first is recorded must outlast the
    # interrupt even when the build's own work is quick (caches warm) and the build records its
    # finished videos late (with 0.75 s, three of four were recorded within 0.3 s on a quiet machine
    # with warm mesh and text caches, and the fourth finished before the workers were stopped)
    env = {plugin.SLEEP_ENV: "1.5", marker.split("=")[0]: marker.split("=")[1]}
    proc = run_all(tmp_path, "-j", "2", "--no-gallery", catalog=catalog, env=env, popen=True)
    out = tmp_path / "out"
    deadline = time.monotonic() + 120
    while not list(out.glob(".state/*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the build ended before it could be interrupted"
    os.killpg(proc.pid, getattr(signal, how))  # like Ctrl-C in a terminal, or a hard kill of everything
    stdout, stderr = proc.communicate(timeout=60)
    if how == "SIGINT":
        assert proc.returncode == 130, (proc.returncode, stderr[-3000:])
        assert "interrupted" in stdout, (stdout[-2000:], stderr[-3000:])
        assert "Traceback" not in stderr, stderr[-3000:]  # the workers leave stopping to the build
    else:
        assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_with(marker), "worker processes outlived the build"

    assert_complete_outputs(out, killed=how == "SIGKILL")
    finished = {p.name.removesuffix("-test.json") for p in out.glob(".state/*.json")}  # built and recorded
    assert finished and finished != set(videos)
    if how == "SIGINT":  # the summary calls built what was recorded, even while the build was stopping
        assert {v for v, s in statuses(stdout).items() if s == "built"} == {f"{v}-test" for v in finished}
    assert finished <= {p.name.removesuffix("-test.mp4") for p in out.glob("*.mp4")}
    if how == "SIGINT":  # workers were told to stop and removed their temporary files
        assert not list(scratch(tmp_path).iterdir())

    again = run_all(tmp_path, "-j", "2", "--no-gallery", catalog=catalog)
    assert again.returncode == 0, again.stderr[-3000:]
    rows = statuses(again.stdout)
    assert {v for v, s in rows.items() if s == "skipped"} == {f"{v}-test" for v in finished}
    assert {v for v, s in rows.items() if s == "built"} == {f"{v}-test" for v in videos if v not in finished}
    assert_complete_outputs(out)
    assert {p.name for p in out.glob("*.mp4")} == {f"{v}-test.mp4" for v in videos}
    # Scratch folders live under the cache; those of killed workers are gone after the next run.
    assert not list((tmp_path / "cache" / "work").iterdir())


def test_dask_cluster_builds_the_same_files(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    local_dir = tmp_path / "local"
    local_dir.mkdir()
    local = run_all(local_dir, "-j", "1", "--no-gallery")
    assert local.returncode == 0, local.stderr[-3000:]

    monkeypatch.setenv("SPINE_WORKER_CACHE", str(tmp_path / "worker-cache"))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote_dir = tmp_path / "remote"
        remote_dir.mkdir()
        proc = run_all(remote_dir, "--cluster", cluster.scheduler_address, "--no-gallery")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert statuses(proc.stdout) == {STEM: "built"}
    assert "Dask cluster" in proc.stderr
    local_files, remote_files = outputs_of(local_dir / "out"), outputs_of(remote_dir / "out")
    for ext in ("srt", "vtt"):
        name = f"{STEM}.{ext}"
        assert remote_files[name][0] == local_files[name][0], name
    # The same video: every decoded frame, the audio packets, chapters and title. (Not the MP4's
    # bytes: x264 now and then encodes the same frames to other bytes; see pipeline.media.)
    local_mp4, remote_mp4 = local_dir / "out" / f"{STEM}.mp4", remote_dir / "out" / f"{STEM}.mp4"
    assert frame_md5s(remote_mp4) == frame_md5s(local_mp4)
    assert audio_md5(remote_mp4) == audio_md5(local_mp4)
    assert container_facts(remote_mp4) == container_facts(local_mp4)
    sidecar = json.loads((remote_dir / "out" / f"{STEM}.json").read_text())
    assert sidecar["sha256"] == remote_files[f"{STEM}.mp4"][0]
    assert not list((remote_dir / "cache").glob("segments/*.mp4")), "workers must not need our disk"
    assert list((tmp_path / "worker-cache" / "segments").glob("*.mp4")), "the workers rendered the beats"


# -- the catalog file ------------------------------------------------------------------------


def test_repository_catalog_is_valid():
    from pipeline.catalog import load_catalog

    jobs = load_catalog(quality="preview")
    names = {j.name for j in jobs}
    assert {"overview", "spine-atlas"} <= names
    assert len({j.stem for j in jobs}) == len(jobs)


BAD_CATALOGS = [
    ("variants:\n  - video: spine-atlas\n    level: L9-L10\n", ["entry 1", "spine-atlas"]),
    ("variants:\n  - video: no-such-video\n", ["entry 1", "no-such-video", "overview"]),
    ("variants:\n  - video: overview\n  - video: overview\n    colour: red\n", ["entry 2", "colour", "allowed"]),
    ("variants:\n  - video: overview\n    lang: xx\n", ["entry 1", "overview lang xx", "xx"]),
    ("variants:\n  - video: overview\n    voice: robot\n", ["entry 1", "robot", "piper"]),
    ("variants:\n  - video: overview\n", ["entry 1", "already built by default"]),
    ("variants: [1, 2\n", ["not readable YAML"]),
    ("videos: []\n", ["unknown key", "variants"]),
    ("variants:\n  - video: overview\n    lang: ''\n", ["entry 1", "lang", "empty"]),
]


@pytest.mark.parametrize("text,words", BAD_CATALOGS, ids=[w[0] for _, w in BAD_CATALOGS])
def test_bad_catalog_entry_is_one_line_naming_it(tmp_path, text, words):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(text)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "render.py"),
            "all",
            "--quality",
            "preview",
            "--catalog",
            str(catalog),
            "--output-dir",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_unknown_only_name_is_a_one_line_error(tmp_path):
    proc = run_all(tmp_path, "--only", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("Error: --only nope") and len(proc.stderr.strip().splitlines()) == 1


def _worker_settings(report=None) -> tuple[str | None, str | None, int, str | None]:
    from voiceover.speech import SPEECH_THREADS_ENV

    return (
        os.environ.get(SPEECH_THREADS_ENV),
        os.environ.get("PYTHONHASHSEED"),
        sys.flags.hash_randomization,
        os.environ.get("OPENBLAS_NUM_THREADS"),
    )


def test_local_workers_share_the_cores_and_hash_strings_with_seed_0(tmp_path):
    """Two workers each running ONNX Runtime with a thread per core ran 1.6x slower than with
    one thread each; a local pool gives every worker its share of the cores. Set order, so
    drawing order, follows the string-hash seed: Dask's nanny would start its workers with
    6640, ours start with 0 (as render.py runs). Dask's one BLAS thread per worker changed
    frames drawn after a fast-forward: ours keep our BLAS settings."""
    from pipeline.cluster import local_pool

    blas = os.environ.get("OPENBLAS_NUM_THREADS")  # (a Dask nanny also writes its own into ours)
    pool = local_pool(2, cache_dir=tmp_path)
    try:
        pool.submit("a", _worker_settings, ())
        events = []
        deadline = time.monotonic() + 60
        while not any(kind == "done" for kind, _, _ in events) and time.monotonic() < deadline:
            events += pool.poll(1.0)
    finally:
        pool.shutdown()
    outcome = next(payload for kind, _, payload in events if kind == "done")
    assert outcome.ok, outcome.error
    assert outcome.value == (str(max(1, (os.cpu_count() or 1) // 2)), "0", 0, blas)
    assert not list((tmp_path / "work").iterdir()), "the workers' scratch folder outlived the pool"


def test_a_worker_that_built_another_video_draws_the_same_frames_as_a_fresh_one(tmp_path):
    """Workers run task after task (pipeline.cluster.local_pool). With one worker, the test
    video and the overview are built in the same process, one after the other; each must have
    the frames of the same video built alone in a fresh worker (checked both ways round, so
    it does not matter which the catalog builds first)."""
    both = tmp_path / "both"
    both.mkdir()
    run = run_all(both, "-j", "1", catalog=write_catalog(both / "catalog.yaml", plugin.VIDEO, "overview"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert statuses(run.stdout) == {STEM: "built", "overview-test": "built"}, run.stdout
    for video, stem in ((plugin.VIDEO, STEM), ("overview", "overview-test")):
        alone = tmp_path / f"alone-{video}"
        alone.mkdir()
        single = run_all(alone, "-j", "1", catalog=write_catalog(alone / "catalog.yaml", video))
        assert single.returncode == 0, single.stderr[-3000:]
        assert frame_md5s(both / "out" / f"{stem}.mp4") == frame_md5s(alone / "out" / f"{stem}.mp4"), video


def test_progress_is_plain_lines_off_a_terminal_and_live_bars_on_one(test_request):
    """CI logs get the one-line events only; a terminal gets rich's live bar per video."""
    import io

    from pipeline.catalog import _Printer, _Run
    from pipeline.options import BuildOptions, Job

    run = _Run(Job(test_request, BuildOptions(quality="test")), {}, "not built before", Path("x.log"))
    run.frames_total, run.frames_done, run.phase = 100, 40, "render"
    log = io.StringIO()
    printer = _Printer(stream=log)
    printer.video(run, "beat 2/5 drawn", force=True)
    printer.line("[done] one: built")
    printer.close()
    assert log.getvalue() == "[done] one: built\n"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    printer = _Printer(stream=screen)
    printer.video(run, "beat 2/5 drawn", force=True)
    printer.close()
    assert "beat 2/5 drawn" in screen.getvalue() and "40%" in screen.getvalue()
    quiet = Terminal()
    printer = _Printer(quiet=True, stream=quiet)
    printer.video(run, "beat 2/5 drawn")
    printer.line("[done] one: built")
    printer.close()
    assert quiet.getvalue() == ""


def test_a_video_recorded_while_the_build_stops_is_reported_built(tmp_path, monkeypatch):
    """Ctrl-C reaches the build while a worker is recording a finished video: once the workers
    are stopped, a video whose outputs and state are complete is reported built (the next run
    skips it), and only the others interrupted."""
    import io

    from pipeline import freshness
    from pipeline.catalog import _Printer, _Run, _Scheduler, load_catalog

    jobs = load_catalog(
        write_catalog(tmp_path / "catalog.yaml", plugin.VIDEO, plugin.COPIES[0]),
        quality="test",
        voice="none",
        output_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        plugins=[str(PLUGIN)],
    )
    recorded = jobs[0].stem

    class StoppedPool:  # the interrupt arrives while the build waits for its workers
        size, ship_outputs = 2, False

        def submit(self, *args, **kwargs):
            pass

        def poll(self, timeout):
            raise KeyboardInterrupt

        def shutdown(self, interrupt=False):
            self.stopped = interrupt

    monkeypatch.setattr(
        freshness,
        "staleness",
        lambda request, options, inputs: None if inputs["stem"] == recorded else "no outputs yet",
    )
    runs = {j.stem: _Run(j, {"stem": j.stem}, "not built before", tmp_path / f"{j.stem}.log") for j in jobs}
    outcomes: dict = {}
    pool = StoppedPool()
    with pytest.raises(KeyboardInterrupt):
        _Scheduler(pool, runs, outcomes, _Printer(stream=io.StringIO())).run()
    assert pool.stopped
    assert {stem: o.status for stem, o in outcomes.items()} == {recorded: "built", jobs[1].stem: "interrupted"}
