"""The catalog: every video the project publishes, built together by ``render.py all``.

What is in it: every video of :func:`spine.videos.all_videos` at its default level and
side (English, the run's voice), plus the variants listed in ``catalog.yaml``::

    include_defaults: true        # optional; false builds only the variants below
    variants:
      - video: spine-atlas
        level: C7-T1
      - video: overview
        lang: es
        voice: espeak

:func:`load_catalog` checks the file before anything is built; a bad entry is one
:class:`CatalogError` line naming it ("catalog.yaml entry 2 (spine-atlas level L9): ...").

How it is built (:func:`build_all`), one video at a time as far as it needs:

1. *check* (here, no rendering): a video whose inputs fingerprint is unchanged and
   whose outputs are still the files we built is skipped (``pipeline.freshness``);
2. *plan* (worker): narration, from the speech cache where possible, and the storyboard;
3. *render* (workers): the beats, split into contiguous ranges when that keeps the
   workers busy; each range leaves one cached segment per beat;
4. *finish* (worker): :func:`pipeline.build.finish_video`, the last step of every build
   (``render`` too), with the plan's speech and storyboard: it finds every beat cached,
   joins the segments without re-encoding, mixes, muxes and checks.

Each video has a log, ``<cache>/logs/<stem>.log``; a failed video is reported with it and
does not stop the others. Ctrl-C stops the workers (their temporary files are removed),
keeps every finished video, and the next run does only what is left.
"""

from __future__ import annotations

from spine.atomic_files import atomic_write
from spine.errors import shorten
from spine.yaml_files import FileModel, Text, read_model

import datetime as _dt
import hashlib
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterable, NoReturn, Sequence, TextIO

from pydantic import AfterValidator, BeforeValidator, ConfigDict, StrictBool

from pipeline.beats import FAST_FORWARD_COST, Rendered, render_task_options, split_beats, task_render
from pipeline.errors import CatalogError
from pipeline.options import DEFAULT_CACHE_DIR, DEFAULT_OUTPUT_DIR, ROOT, BuildOptions, Job
from spine.videos import RequestError, VideoRequest, VideoSpec, all_videos

if TYPE_CHECKING:
    from pipeline.brand import Brand
    from pipeline.build import Prepared
    from pipeline.cluster import DaskPool, TaskOutcome

CATALOG_FILE = ROOT / "catalog.yaml"
VOICES = ("piper", "espeak", "none")
Report = Callable[[Any], None]


# ---------------------------------------------------------------------------------------
# What is in the catalog
# ---------------------------------------------------------------------------------------

_REGISTERED: dict[str, VideoSpec] = {}


def register_video(spec: VideoSpec) -> None:
    """Add a video that is not in ``all_videos()`` (extensions and tests; no levels or sides)."""
    _REGISTERED[spec.name] = spec


def videos() -> dict[str, VideoSpec]:
    return {**all_videos(), **_REGISTERED}


@dataclass(frozen=True)
class CatalogEntry:
    video: str
    level: str | None = None
    side: str | None = None
    lang: str = "en"
    voice: str | None = None  # None: the run's --voice
    origin: str = "default"

    def describe(self) -> str:
        parts = [self.video]
        parts += [f"level {self.level}"] if self.level else []
        parts += [f"side {self.side}"] if self.side else []
        parts += [f"lang {self.lang}"] if self.lang != "en" else []
        parts += [f"voice {self.voice}"] if self.voice else []
        return " ".join(parts)


def _voice_name(value: str | None) -> str | None:
    if value is not None and value not in VOICES:
        raise ValueError(f"unknown voice '{shorten(value)}'; voices: {', '.join(VOICES)}")
    return value


class CatalogVariant(FileModel):
    """One entry of ``variants:`` (a number given for a level is read as its text)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    video: Text
    level: Text | None = None
    side: Text | None = None
    lang: Annotated[Text, BeforeValidator(lambda v: "en" if v is None else v)] = "en"
    voice: Annotated[Text | None, AfterValidator(_voice_name)] = None  # None: the run's --voice


class CatalogFile(FileModel):
    """``catalog.yaml``: the variants; ``voices:`` and ``describer:`` are read (and checked) by
    :mod:`voiceover.voices`, as in any ``--config`` file."""

    include_defaults: StrictBool = True
    variants: Annotated[list[CatalogVariant], BeforeValidator(lambda v: [] if v is None else v)] = []
    voices: Any = None
    describer: Any = None


def _catalog_place(loc: tuple[Any, ...], _data: Any) -> str:
    """``entry 2`` (then the field) for a variant, else the key."""
    if len(loc) >= 2 and loc[0] == "variants" and isinstance(loc[1], int):
        return ", ".join([f"entry {loc[1] + 1}", *map(str, loc[2:3])])
    return ".".join(map(str, loc))


def read_catalog_file(path: Path) -> tuple[bool, list[CatalogEntry]]:
    """Parse ``catalog.yaml``: (include_defaults, variants). Raises CatalogError naming the bad entry."""

    path = Path(path)
    catalog = read_model(
        path,
        CatalogFile,
        CatalogError,
        label=path.name,
        locate=_catalog_place,
        hint="an entry looks like {video: spine-atlas, level: C7-T1}",
        not_yaml="not readable YAML",
        what="(pass a readable file to --catalog)",
        missing=f"catalog file {path} does not exist; pass an existing file to --catalog",
    )
    entries = [
        CatalogEntry(v.video, v.level, v.side, v.lang, v.voice, origin=f"{path.name} entry {number}")
        for number, v in enumerate(catalog.variants, start=1)
    ]
    return catalog.include_defaults, entries


def _resolve(entry: CatalogEntry) -> VideoRequest:
    return resolve_video(entry.video, entry.level, entry.side)


def resolve_video(name: str, level: str | None = None, side: str | None = None) -> VideoRequest:
    """:func:`spine.videos.resolve`, plus the videos an extension registered (no levels or sides)."""
    spec = _REGISTERED.get(name)
    if spec is not None:
        if level or side:
            raise RequestError(f"'{name}' has no level or side to choose")
        return VideoRequest(spec, None, None)
    from spine.videos import resolve

    return resolve(name, level, side)


def _buildable_problem(request: VideoRequest, lang: str) -> str | None:
    """Why this request cannot be built with the code in this checkout, or None."""
    from pipeline.freshness import module_path
    from voiceover.scripts import ScriptError, load_script

    module = request.spec.scene.partition(":")[0]
    renderable = getattr(request.spec, "renderable", None)
    if (renderable is not None and not renderable()) or (
        module.split(".")[0] in ("spine", "scenes", "pipeline", "voiceover") and module_path(module) is None
    ):
        return f"its scene ({request.spec.scene}) is not written yet"
    try:
        load_script(request.spec.script_name, lang)
    except ScriptError as exc:
        return str(exc).splitlines()[0]
    return None


def load_catalog(
    catalog: Path | None = None,
    *,
    quality: str,
    voice: str = "piper",
    output_dir: Path = DEFAULT_OUTPUT_DIR,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    only: Sequence[str] = (),
    plugins: Sequence[str] = (),
    brand: Brand | None = None,
    described: bool = False,
) -> list[Job]:
    """The jobs of the catalog (defaults + ``catalog.yaml`` variants), filtered by ``only``.

    A bad catalog entry raises CatalogError; a default video that cannot be built yet
    (no scene or narration in this checkout) becomes a Job with a ``problem``, reported as
    "unavailable" (not a failure: there is nothing to build yet).
    """
    from pipeline.cluster import load_plugins

    plugins = tuple(plugins)
    load_plugins(plugins)
    include_defaults, variants = read_catalog_file(catalog or CATALOG_FILE)
    entries = [CatalogEntry(name) for name in videos() if name not in _REGISTERED] if include_defaults else []
    entries += variants

    base = BuildOptions(
        quality=quality,
        voice=voice,
        output_dir=Path(output_dir),
        cache_dir=Path(cache_dir),
        brand=brand,
        described=described,
    )
    from voiceover.voices import VoiceModelError, voices_from_config

    try:
        installed = voices_from_config(catalog or CATALOG_FILE)
    except VoiceModelError as exc:
        raise CatalogError(str(exc)) from exc
    jobs: list[Job] = []
    seen: dict[str, str] = {}
    for entry in entries:
        where = entry.origin if entry.origin != "default" else f"default video {entry.video}"
        try:
            request = _resolve(entry)
        except RequestError as exc:
            raise CatalogError(f"{where} ({entry.describe()}): {exc}") from exc
        model = installed.get(entry.lang)  # a clinic-installed Piper voice for this language ('voices:')
        run_voice = entry.voice or voice
        if entry.voice is None and voice == "piper" and model is None:  # as `render` chooses without --voice:
            from voiceover.speech_types import PIPER_LANGS  # espeak-ng where no Piper voice speaks the language

            run_voice = "piper" if entry.lang in PIPER_LANGS else "espeak"
        options = replace(base, lang=entry.lang, voice=run_voice)
        if model is not None and (entry.voice or voice) == "piper":
            options = replace(options, voice_model=model)
        if described:  # the describer's voice ('describer:' of the catalog file), checked before anything is built
            from pipeline.described import describer_for_catalog

            options = describer_for_catalog(options, catalog or CATALOG_FILE, f"{where} ({entry.describe()})")
        job = Job(request, options, entry.origin, plugins)
        problem = _buildable_problem(request, entry.lang)
        if problem is not None:
            if entry.origin != "default":
                raise CatalogError(f"{where} ({entry.describe()}) cannot be built: {problem}")
            job = replace(job, problem=problem)
        if job.stem in seen:
            raise CatalogError(
                f"{where} ({entry.describe()}) builds {job.stem}, already built by {seen[job.stem]}; remove one"
            )
        seen[job.stem] = where
        jobs.append(job)

    wanted = [w.strip() for item in only for w in item.split(",") if w.strip()]
    if wanted:
        known = {j.name for j in jobs} | {j.stem for j in jobs}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise CatalogError(
                f"--only {', '.join(shorten(w) for w in unknown)}: not in the catalog; videos: {', '.join(dict.fromkeys(j.name for j in jobs))}"
            )
        jobs = [j for j in jobs if j.name in wanted or j.stem in wanted]
    return jobs


# ---------------------------------------------------------------------------------------
# Tasks (run in worker processes or on cluster workers; arguments and results pickle)
# ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    storyboard: Any
    cached: bool  # every beat's segment is cached for exactly this storyboard
    code: str  # the scene code hash the worker sees (must match ours)
    hash_seed: str = ""  # the worker's string-hash seed (must match ours: it decides drawing order)
    worker: str = ""
    prepared: Any = None  # pipeline.build.Prepared: script, speech and storyboard, for the finish task


@dataclass
class Finished:
    sidecar: dict
    files: dict[str, bytes] | None = None


def task_plan(job: Job, ship: bool, *, report: Report) -> Plan:
    """Step 1 (:func:`pipeline.build.prepare_video`, as ``render`` does): speech and storyboard."""
    from pipeline.build import prepare_video
    from pipeline.cache import read_index
    from pipeline.freshness import hash_seed, scene_code_hash

    with render_task_options(job, ship) as options:
        prepared = prepare_video(job.request, options, report)
        storyboard = prepared.storyboard
        cached = read_index(options.cache_dir, job.request, storyboard, options.quality) is not None
    report(
        f"{job.stem}: {len(storyboard.beats)} beats, {storyboard.total_frames} frames{', all cached' if cached else ''}"
    )
    return Plan(storyboard, cached, scene_code_hash(job.request.spec), hash_seed(), prepared=prepared)


def task_speak_ahead(job: Job, *, report: Report) -> int:  # noqa: ARG001 - says nothing: a head start only
    """Speech of a video's beats into the speech cache, last beat first, on a worker that has
    nothing else to do while the video's plan task plans its needles and speaks from the first
    beat: the two meet in the middle, and the plan task reads what this one spoke. Only a head
    start: a problem is left to the plan task to report. Returns how many beats it went through."""
    from types import SimpleNamespace

    from pipeline.build import narration_context, speak
    from voiceover.scripts import load_script

    try:
        script = load_script(job.request.spec.script_name, job.options.lang).filled(
            narration_context(job.request, job.options.lang)
        )
        beats = list(reversed(script.beats))
        speak(job.request, job.options, SimpleNamespace(beats=beats))
    except Exception:  # noqa: BLE001 - the plan task speaks the same words and reports what is wrong
        return 0
    return len(beats)


def task_finish(
    job: Job,
    prepared: Prepared,
    keys: list[str] | None,
    segments: dict[str, bytes] | None,
    ship: bool,
    inputs: dict,
    *,
    report: Report,
) -> Finished:
    """Step 3 (:func:`pipeline.build.finish_video`, as ``render`` does), with the plan's speech
    and storyboard (not spoken or timed again): join the beats, mix, mux, check, write."""
    from pipeline.build import finish_video
    from pipeline.cache import store_segment, write_index
    from pipeline.freshness import record_built
    from pipeline.options import output_paths

    storyboard = prepared.storyboard
    with render_task_options(job, ship) as options:
        for key, data in (segments or {}).items():
            store_segment(options.cache_dir, key, data)
        if keys is not None:
            write_index(options.cache_dir, job.request, storyboard, options.quality, keys)
        # on a cluster each task has its own scratch folders (and another machine's clock)
        here = replace(prepared, options=options, started=prepared.started if not ship else time.monotonic())
        result = finish_video(here, report)
        files = None
        if ship:
            files = {p.name: p.read_bytes() for p in output_paths(job.request, options).values()}
        else:  # right after the outputs, so an interrupt cannot leave them unrecorded for long
            record_built(job.request, options, inputs)
    return Finished(result.sidecar, files)


# ---------------------------------------------------------------------------------------
# Building the catalog
# ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    job: Job
    status: str  # built | skipped | failed | interrupted | unavailable (scene or narration not written yet)
    seconds: float = 0.0
    note: str = ""
    log: Path | None = None


@dataclass
class _Run:
    """Book-keeping of one video being built."""

    job: Job
    inputs: dict
    reason: str  # why it is built
    log: Path
    started: float = field(default_factory=time.monotonic)
    render_started: float | None = None
    phase: str = "queued"
    storyboard: Any = None
    prepared: Any = None  # pipeline.build.Prepared, from the plan task
    frames_total: int = 0
    frames_done: int = 0
    chunks_left: int = 0
    keys: dict[int, str] = field(default_factory=dict)
    segments: dict[str, bytes] = field(default_factory=dict)
    work_seconds: float = 0.0  # time its tasks took in the workers (the summary's "time")
    drawn: int = 0  # beats drawn so far, from progress events (for the progress line)
    drawn_beats: set[int] = field(default_factory=set)  # from the finished render tasks (for the summary)
    worker: str = ""

    @property
    def percent(self) -> float:
        if self.phase == "finish":
            return 99.0
        if not self.frames_total:
            return 0.0
        return min(98.0, 100.0 * self.frames_done / self.frames_total)


class _Printer:
    """What ``render.py all`` says while it builds, on stderr (rich).

    On a terminal, a live progress bar per video (percent, phase, time left) under the
    one-line events ([skip], [done], [fail]). Anywhere else (a CI log, a pipe) only those
    lines: no bars, no redraws. ``quiet``: nothing.
    """

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        from rich.console import Console

        self.quiet = quiet
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.live = self.console.is_terminal and not quiet
        self.bars: Any = None  # rich.progress.Progress, started with the first video's progress
        self.tasks: dict[str, Any] = {}

    def line(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, markup=False)

    def video(self, run: _Run, message: str, force: bool = False) -> None:  # noqa: ARG002 - rich decides when to redraw
        if not self.live:
            return
        if self.bars is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self.bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.bars.start()
        stem = run.job.stem
        if stem not in self.tasks:
            self.tasks[stem] = self.bars.add_task(stem, total=100)
        self.bars.update(self.tasks[stem], completed=run.percent, description=f"{stem}: {message}")

    def done(self, run: _Run) -> None:
        if self.bars is not None and run.job.stem in self.tasks:
            self.bars.update(self.tasks[run.job.stem], completed=100)

    def close(self) -> None:
        if self.bars is not None:
            self.bars.stop()
            self.bars = None


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class _Log:
    """The per-video log file under ``<cache>/logs``, written by this process only."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f"# {path.stem}: build started {_dt.datetime.now().isoformat(timespec='seconds')}\n")

    def write(self, lines: Iterable[str]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line.rstrip("\n") + "\n")


def log_path(job: Job) -> Path:
    return Path(job.options.cache_dir) / "logs" / f"{job.stem}.log"


def _ensure_in_manifest(job: Job) -> None:
    """A skipped video keeps its manifest entry (re-added from its sidecar if it was lost)."""
    from pipeline import outputs
    from pipeline.outputs import manifest_entry

    name = f"{job.stem}.mp4"
    if any(v.get("file") == name for v in outputs.read_manifest(job.options.output_dir)["videos"]):
        return
    sidecar = json.loads((Path(job.options.output_dir) / f"{job.stem}.json").read_text(encoding="utf-8"))
    outputs.record_in_manifest(job.options.output_dir, manifest_entry(sidecar))


def _write_shipped(job: Job, finished: Finished) -> None:
    """Put the files a cluster worker sent back into output/ (as one set), then the manifest."""
    from pipeline import outputs
    from pipeline.options import output_paths
    from pipeline.outputs import manifest_entry

    paths = output_paths(job.request, job.options)
    by_name = {p.name: p for p in paths.values()}
    sent = finished.files or {}
    if set(sent) != set(by_name):
        raise RuntimeError(f"the worker sent {sorted(finished.files or {})}, expected {sorted(by_name)}")
    if hashlib.sha256(sent[paths["mp4"].name]).hexdigest() != finished.sidecar.get("sha256"):
        raise RuntimeError("the MP4 the worker sent does not match its sidecar's sha256")
    with outputs.OutputSet(Path(job.options.output_dir)) as files:  # all or nothing, as a local build
        for kind in [k for k in paths if k != "json"] + ["json"]:  # the sidecar last: it vouches for the others
            files.write_bytes(paths[kind], sent[paths[kind].name])
        outputs.commit_with_manifest(files, manifest_entry(finished.sidecar))


def build_all(
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    pool: DaskPool | None = None,
    force: bool = False,
    printer: _Printer | None = None,
    on_built: Callable[[Job], None] | None = None,
) -> list[Outcome]:
    """Build every job that is not up to date; returns one Outcome per job, in order.

    ``pool`` is a :mod:`pipeline.cluster` executor (default: a local Dask cluster of
    ``workers`` processes, :func:`pipeline.cluster.local_pool`). ``on_built`` is called here
    with each job as soon as its video is built and recorded, while the others still build
    (``render.py all`` starts the video's handout then).
    """
    from pipeline import cache, freshness, outputs
    from pipeline.cluster import local_pool

    printer = printer or _Printer()
    began = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    runs: dict[str, _Run] = {}
    for out_dir in {Path(j.options.output_dir) for j in jobs}:
        outputs.ensure_writable_dir(out_dir)
        outputs.sweep_partials(out_dir)
    for cache_dir in {Path(j.options.cache_dir) for j in jobs}:  # scratch of killed workers
        cache.sweep_stale_work_dirs(cache_dir)
        cache.sweep_stale_temporaries(cache_dir)

    for job in jobs:
        started = time.monotonic()
        if job.problem:  # in the catalog, but its scene or narration is still to be written
            outcomes[job.stem] = Outcome(job, "unavailable", 0.0, job.problem)
            continue
        try:
            inputs = freshness.video_inputs(job.request, job.options)
            reason = "--force" if force else freshness.staleness(job.request, job.options, inputs)
            fresh = reason is None
            if fresh:
                _ensure_in_manifest(job)
        except Exception as exc:  # noqa: BLE001 - reported per video
            log = _Log(log_path(job))
            log.write([f"checking the inputs failed: {type(exc).__name__}: {exc}"])
            outcomes[job.stem] = Outcome(
                job, "failed", time.monotonic() - started, f"{type(exc).__name__}: {exc}"[:200], log.path
            )
            continue
        if fresh:
            outcomes[job.stem] = Outcome(job, "skipped", time.monotonic() - started, "up to date")
            printer.line(f"[skip] {job.stem}: up to date")
            continue
        runs[job.stem] = _Run(job, inputs, reason or "inputs changed", log_path(job))

    if runs:
        own_pool = pool is None
        if pool is None:
            pool = local_pool(workers or os.cpu_count() or 1, jobs[0].plugins, cache_dir=jobs[0].options.cache_dir)
        printer.line(
            f"building {len(runs)} video(s) on {pool.describe()}; "
            f"{sum(o.status == 'skipped' for o in outcomes.values())} up to date"
        )
        try:
            _Scheduler(pool, runs, outcomes, printer, on_built).run()
        except KeyboardInterrupt:
            printer.line("interrupted: stopping the workers; finished videos are kept")
        finally:
            printer.close()
            interrupted = any(o.status == "interrupted" for o in outcomes.values())
            if own_pool:
                pool.shutdown(interrupt=interrupted)
                if interrupted:  # the workers are gone: what a stopped task was writing goes too
                    for out_dir in {Path(j.options.output_dir) for j in jobs}:
                        outputs.sweep_partials(out_dir)
        printer.line(f"{len(runs)} video(s) worked on in {_duration(time.monotonic() - began)}")
    for job in jobs:
        outcomes.setdefault(job.stem, Outcome(job, "interrupted", 0.0, "not started"))
    return [outcomes[j.stem] for j in jobs]


@dataclass
class _Range:
    """A render task's beats, as the build knows them while it runs."""

    stem: str
    beats: list[int]
    handover: Path | None  # where to tell the task to stop early (local workers only)
    done: set[int] = field(default_factory=set)  # beats it reported finished


class _Scheduler:
    def __init__(
        self,
        pool: DaskPool,
        runs: dict[str, _Run],
        outcomes: dict[str, Outcome],
        printer: _Printer,
        on_built: Callable[[Job], None] | None = None,
    ) -> None:
        self.pool, self.runs, self.outcomes, self.printer = pool, runs, outcomes, printer
        self.on_built = on_built
        self.ship = bool(getattr(pool, "ship_outputs", False))
        self.logs = {stem: _Log(run.log) for stem, run in runs.items()}
        for stem, run in runs.items():
            self.logs[stem].write([f"building because: {run.reason}"])
        self.tasks: dict[str, tuple[str, str, Any]] = {}  # task id -> (stem, kind, detail)
        self.ranges: dict[str, _Range] = {}  # render task id -> its beats, while it runs
        self.serial = 0
        self.plans_left = len(runs)

    # Finish what is started before starting more: a video is done (and safe from Ctrl-C)
    # as early as possible, and its log and summary line come while the rest still build.
    PRIORITY = {"finish": 2, "render": 1, "plan": 0, "speak": -1}

    def submit(
        self, run: _Run, kind: str, fn: Callable[..., Any], args: tuple[Any, ...], detail: Any = None, **hints: Any
    ) -> str:
        hints.setdefault("priority", self.PRIORITY[kind])
        self.serial += 1
        task_id = f"{kind}-{self.serial}-{run.job.stem}"
        self.tasks[task_id] = (run.job.stem, kind, detail)
        self.pool.submit(task_id, fn, args, **hints)
        return task_id

    def submit_range(self, run: _Run, beats: list[int]) -> None:
        """A render task for ``beats`` of ``run``'s video."""
        scratch = getattr(self.pool, "scratch", None)
        handover = None if self.ship or scratch is None else Path(scratch) / f"handover-{self.serial + 1}"
        task_id = self.submit(
            run, "render", task_render, (run.job, run.storyboard, beats, self.ship, handover), detail=beats
        )
        self.ranges[task_id] = _Range(run.job.stem, list(beats), handover)

    #: seconds of video a range must still have ahead of the beat it draws for an idle worker to
    #: take part of it (less is not worth the helper's start: restoring a checkpoint, fast-forward)
    SHARE_MIN_S = 20.0

    def share_tail(self) -> None:
        """At the end of a build, when a worker is idle and nothing waits, it takes the later part
        of the range with the most video still ahead, instead of idling while that range is drawn
        alone (before: the last video of the catalog drew on one core for up to half a minute).

        The running task is told to stop before the first beat handed over (its handover file,
        read at each beat it begins); the new task starts from the checkpoint the running one
        left at the beat it had reached and fast-forwards from there. Local workers only (the
        file is on our disk). The frames are the same: a beat is the same segment whoever draws it.
        """
        if self.plans_left > 0 or self.pool.pending() >= self.pool.size:
            return
        best: tuple[float, str, list[int], int] | None = None
        for task_id, r in self.ranges.items():
            run = self.runs[r.stem]
            if r.handover is None or r.stem in self.outcomes or run.storyboard is None:
                continue
            left = [i for i in r.beats if i not in r.done]  # the first is being drawn
            ahead_s = sum(run.storyboard.beats[i].duration_s for i in left[1:])
            if len(left) < 2 or ahead_s < self.SHARE_MIN_S:
                continue
            frames = [run.storyboard.beats[i].frames for i in left]
            # keep left[:j] (its first beat counted half: it is under way); hand over left[j:], which
            # also fast-forwards from the beat under way to left[j]
            costs = []
            for j in range(1, len(left)):
                kept = frames[0] / 2 + sum(frames[1:j])
                given = sum(frames[j:]) + FAST_FORWARD_COST * sum(frames[:j])
                costs.append((max(kept, given), j))
            _, j = min(costs)
            if best is None or ahead_s > best[0]:
                best = (ahead_s, task_id, left, j)
        if best is None:
            return
        _, task_id, left, j = best
        r = self.ranges[task_id]
        run = self.runs[r.stem]
        assert r.handover is not None  # chosen above
        atomic_write(r.handover, str(left[j]).encode())
        r.beats = [i for i in r.beats if i < left[j]]
        r.handover = None  # told once
        run.chunks_left += 1
        self.logs[r.stem].write(
            [f"{time.strftime('%H:%M:%S')} beats {left[j] + 1}-{left[-1] + 1} handed to an idle worker"]
        )
        self.submit_range(run, left[j:])

    def run(self) -> None:
        try:
            for run in self.runs.values():
                run.phase = "plan"
                self.submit(run, "plan", task_plan, (run.job, self.ship))
            if not self.ship:  # workers no plan task needs speak ahead for one (same disk, same cache)
                for run in list(self.runs.values())[: max(0, self.pool.size - len(self.runs))]:
                    self.submit(run, "speak", task_speak_ahead, (run.job,))
            while self.tasks:
                for event in self.pool.poll(0.5):
                    self.handle(*event)
                self.share_tail()
        except KeyboardInterrupt:
            for stem, run in self.runs.items():
                if stem not in self.outcomes:
                    self.logs[stem].write(["interrupted"])
                    self.outcomes[stem] = Outcome(
                        run.job,
                        "interrupted",
                        run.work_seconds,
                        "interrupted; the next run continues from the cached beats",
                        run.log,
                    )
            self.pool.shutdown(interrupt=True)
            self._report_recorded_as_built()
            raise

    def _report_recorded_as_built(self) -> None:
        """A video whose worker finished and recorded it while the build was being stopped is
        built, not interrupted (its outputs and state are complete: the next run skips it)."""
        from pipeline import freshness

        for stem, outcome in list(self.outcomes.items()):
            run = self.runs.get(stem)
            if run is None or outcome.status != "interrupted":
                continue
            try:
                recorded = freshness.staleness(run.job.request, run.job.options, run.inputs) is None
            except Exception:  # noqa: BLE001 - then it stays reported as interrupted
                recorded = False
            if recorded:
                self.logs[stem].write(["finished while the build was being stopped"])
                self.outcomes[stem] = Outcome(
                    run.job, "built", run.work_seconds, "finished while the build was being stopped", run.log
                )

    # -- events ----------------------------------------------------------------------------
    def handle(self, kind: str, task_id: str, payload: Any) -> None:
        if task_id not in self.tasks:
            return
        stem, task_kind, detail = self.tasks[task_id]
        run = self.runs[stem]
        if kind == "progress":
            if stem in self.outcomes:
                return
            if isinstance(payload, tuple) and payload and payload[0] == "beat":
                _, index, frames, drawn = payload
                if task_id in self.ranges:
                    self.ranges[task_id].done.add(index)
                run.frames_done += frames
                run.drawn += int(bool(drawn))
                self.printer.video(
                    run, f"beat {index + 1}/{len(run.storyboard.beats)} {'drawn' if drawn else 'cached'}"
                )
            elif isinstance(payload, str) and not self.ship:
                self.logs[stem].write([f"{time.strftime('%H:%M:%S')} {payload}"])
            return
        del self.tasks[task_id]
        self.ranges.pop(task_id, None)
        if stem in self.outcomes:  # the video already failed; ignore its other tasks
            return
        if task_kind == "speak" and (kind == "lost" or not payload.ok):  # a head start only: the plan speaks too
            self.logs[stem].write([f"speaking ahead stopped: {payload if kind == 'lost' else payload.error}"])
            return
        if kind == "lost":
            self.fail(run, f"{task_kind} task lost: {payload}", [f"{task_kind} task lost: {payload}"])
            return
        outcome = payload
        run.work_seconds += outcome.seconds
        if self.ship or not outcome.ok:
            self.logs[stem].write(outcome.log if self.ship else [l for l in outcome.detail.splitlines()])
        if not outcome.ok:
            self.fail(run, outcome.error)
            return
        try:
            getattr(self, f"on_{task_kind}")(run, outcome.value, detail, outcome)
        except Exception as exc:  # noqa: BLE001 - reported per video
            import traceback

            self.fail(run, f"{type(exc).__name__}: {exc}", traceback.format_exc().splitlines())

    def fail(self, run: _Run, reason: str, lines: Iterable[str] = ()) -> None:
        self.logs[run.job.stem].write(list(lines) + [f"FAILED: {reason}"])
        self.outcomes[run.job.stem] = Outcome(run.job, "failed", run.work_seconds, reason, run.log)
        self.printer.done(run)
        self.printer.line(f"[fail] {run.job.stem}: {reason} (log: {run.log})")
        if run.phase == "plan":
            self.plans_left -= 1

    def on_speak(self, run: _Run, beats: int, _detail: Any, _outcome: TaskOutcome) -> None:
        self.logs[run.job.stem].write([f"spoke ahead: {beats} beat(s), last first"])

    def on_plan(self, run: _Run, plan: Plan, _detail: Any, outcome: TaskOutcome) -> None:
        from pipeline.freshness import code_hash, hash_seed, scene_code_hash

        self.plans_left -= 1
        run.phase = "planned"
        if self.ship and plan.code != scene_code_hash(run.job.request.spec):
            code_hash.cache_clear()  # our files may have changed since we looked; look again
            if plan.code != scene_code_hash(run.job.request.spec):
                raise RuntimeError(
                    f"the worker {outcome.worker} runs other scene code than this checkout; "
                    "deploy the same commit to every worker"
                )
        if self.ship and plan.hash_seed != hash_seed():
            raise RuntimeError(
                f"the worker {outcome.worker} hashes strings with seed {plan.hash_seed!r}, we use "
                f"{hash_seed()!r}: start the Dask workers with PYTHONHASHSEED=0, as render.py runs"
            )
        run.storyboard = plan.storyboard
        run.prepared = plan.prepared
        run.frames_total = plan.storyboard.total_frames
        run.worker = outcome.worker
        self.printer.video(run, f"building ({run.reason})", force=True)
        if plan.cached:
            run.frames_done = run.frames_total
            self.finish(run, None)
            return
        parts = self.parts_for(run)
        ranges = split_beats([b.frames for b in plan.storyboard.beats], parts)
        run.phase, run.chunks_left, run.render_started = "render", len(ranges), time.monotonic()
        self.printer.video(
            run,
            f"{len(plan.storyboard.beats)} beats, {plan.storyboard.duration_s:.0f} s"
            f"{f' in {len(ranges)} ranges' if len(ranges) > 1 else ''}",
            force=True,
        )
        for beats in ranges:
            self.submit_range(run, beats)

    def parts_for(self, run: _Run) -> int:
        """How many ranges to cut a video into: its share of the known work times the workers."""
        known = [r.frames_total for r in self.runs.values() if r.frames_total and r.job.stem not in self.outcomes]
        unknown = self.plans_left
        estimate = sum(known) + unknown * (sum(known) / len(known) if known else 0)
        share = run.frames_total / estimate if estimate else 1.0
        return max(1, min(len(run.storyboard.beats), math.floor(self.pool.size * share + 0.5)))

    def on_render(self, run: _Run, rendered: Rendered, beats: list[int], _outcome: TaskOutcome) -> None:
        run.keys.update(rendered.keys)
        run.drawn_beats.update(rendered.drawn)
        run.segments.update(rendered.segments or {})
        run.chunks_left -= 1
        if run.chunks_left == 0:
            missing = [i + 1 for i in range(len(run.storyboard.beats)) if i not in run.keys]
            if missing:  # a range stopped early and no other drew the rest: not expected
                raise RuntimeError(f"beats {missing} were not drawn by any render task")
            keys = [run.keys[i] for i in range(len(run.storyboard.beats))]
            self.finish(run, keys)

    def finish(self, run: _Run, keys: list[str] | None) -> None:
        run.phase = "finish"
        self.printer.video(run, "mixing, muxing and checking", force=True)
        segments = dict(run.segments) if self.ship and keys is not None else None
        self.submit(
            run,
            "finish",
            task_finish,
            (run.job, run.prepared, keys, segments, self.ship, run.inputs),
            prefer_worker=run.worker or None,
        )
        run.segments = {}

    def on_finish(self, run: _Run, finished: Finished, _detail: Any, _outcome: TaskOutcome) -> None:
        from pipeline import freshness

        if finished.files is not None:
            _write_shipped(run.job, finished)
            freshness.record_built(run.job.request, run.job.options, run.inputs)
        seconds = run.work_seconds
        beats = len(run.storyboard.beats)
        note = (
            f"{len(run.drawn_beats)}/{beats} beats drawn" if run.keys else f"all {beats} beats cached"
        ) + f"; {run.reason}"
        self.outcomes[run.job.stem] = Outcome(run.job, "built", seconds, note, run.log)
        self.logs[run.job.stem].write(
            [f"built: {seconds:.1f} s of work, done {time.monotonic() - run.started:.1f} s after the run began: {note}"]
        )
        self.printer.done(run)
        self.printer.line(f"[done] {run.job.stem}: built in {_duration(seconds)} of work ({note})")
        if self.on_built is not None:
            self.on_built(run.job)


# ---------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------


def summary_table(outcomes: Sequence[Outcome]) -> str:
    rows = [("video", "status", "time", "note")]  # time: what its tasks took in the workers
    for o in outcomes:
        note = o.note
        if o.status in ("failed", "interrupted") and o.log is not None:
            note = f"{note} (log: {o.log})"
        rows.append((o.job.stem, o.status, f"{o.seconds:.1f} s", note))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip() for r in rows]
    counts = {
        s: sum(o.status == s for o in outcomes) for s in ("built", "skipped", "failed", "interrupted", "unavailable")
    }
    total = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to do"
    return "\n".join(lines[:1] + ["-" * len(lines[0])] + lines[1:] + [f"{len(outcomes)} video(s): {total}"])


def write_gallery_if_available(output_dir: Path, printer: _Printer) -> str | None:
    """Call ``pipeline.gallery.write_gallery`` if that module exists; returns an error line or None."""
    import importlib.util

    if importlib.util.find_spec("pipeline.gallery") is None:
        return None
    try:
        from pipeline.gallery import write_gallery

        page = write_gallery(Path(output_dir))
    except Exception as exc:  # noqa: BLE001 - the videos are built; report the gallery on its own
        return f"gallery: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    printer.line(f"gallery: {page}")
    return None


def run_all(
    *,
    quality: str,
    workers: int | None,
    only: Sequence[str],
    catalog: Path | None,
    voice: str,
    cluster: str | None,
    output_dir: Path | None,
    cache_dir: Path | None,
    force: bool,
    gallery: bool,
    quiet: bool,
    brand: Brand | None = None,
    described: bool = False,
    on_built: Callable[[Job], None] | None = None,
) -> tuple[list[Outcome], str | None]:
    """What ``render.py all`` does; returns the outcomes and a gallery error (if any).
    ``on_built``: see :func:`build_all`."""
    from pipeline.cluster import check_address, farm_pool, load_plugins, plugins_from_env
    from pipeline.quality import QUALITIES

    if cluster:  # an address that cannot work is said first, before anything slow
        check_address(cluster)

    load_plugins(plugins_from_env())  # extensions may add qualities and videos
    if quality not in QUALITIES:
        raise CatalogError(f"unknown quality '{shorten(quality)}'; qualities: {', '.join(QUALITIES)}")
    if voice not in VOICES:
        raise CatalogError(f"unknown voice '{voice}'; voices: {', '.join(VOICES)}")
    from spine.videos import data_problem

    data_error = data_problem()
    if data_error is not None:  # the catalog would silently lose the procedure videos
        raise data_error
    from pipeline.outputs import ensure_writable_dir

    out = Path(output_dir or DEFAULT_OUTPUT_DIR)
    cache = ensure_writable_dir(Path(cache_dir or DEFAULT_CACHE_DIR), option="--cache-dir", what="cache directory")
    from spine.settings import settings

    if cache_dir is not None and settings().fluoro_cache_dir is None:  # everything cached goes where asked
        os.environ["FLUORO_CACHE_DIR"] = str(Path(cache_dir) / "fluoro")  # the name older runs and tests clear
    jobs = load_catalog(
        catalog,
        quality=quality,
        voice=voice,
        output_dir=out,
        cache_dir=cache,
        only=only,
        plugins=plugins_from_env(),
        brand=brand,
        described=described,
    )
    printer = _Printer(quiet)
    pool = farm_pool(cluster, jobs[0].plugins if jobs else (), checked=True) if cluster else None
    # Ctrl-C and `kill` stop the build cleanly, even when started in the background (where
    # the shell makes us ignore SIGINT).
    previous = signal.signal(signal.SIGTERM, _terminate), signal.signal(signal.SIGINT, signal.default_int_handler)
    began = time.time()
    try:
        outcomes = build_all(jobs, workers=workers, pool=pool, force=force, printer=printer, on_built=on_built)
        _prune(jobs, began, printer)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        if pool is not None:
            pool.shutdown()
    interrupted = any(o.status == "interrupted" for o in outcomes)
    gallery_error = write_gallery_if_available(out, printer) if gallery and not interrupted else None
    return outcomes, gallery_error


def _prune(jobs: Sequence[Job], began: float, printer: _Printer) -> None:
    """Keep the segment cache under its limit, least recently used first (never what this run used)."""
    from pipeline.cache import cache_limit, prune_cache

    limit = cache_limit()
    if limit <= 0:
        return
    for cache_dir in {Path(j.options.cache_dir) for j in jobs}:
        removed, freed = prune_cache(cache_dir, limit, keep_since=began - 1.0)
        if removed:
            printer.line(f"cache: removed {removed} least recently used file(s), {freed / 2**20:.0f} MiB")


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:  # noqa: ARG001
    raise KeyboardInterrupt("terminated")
