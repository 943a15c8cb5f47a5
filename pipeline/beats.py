"""The per-beat render: a video's beats drawn as render tasks, in one process or several.

:func:`task_render` draws a contiguous range of a video's beats (one render pass,
:mod:`pipeline.scene_render`) and leaves a cached segment per beat; ``render.py all`` runs it
as its render step, on local workers or a Dask cluster. :func:`split_beats` cuts a video's
beats into ranges that take about as long each, and :func:`render_beats` draws them at once
in this process and worker processes (``render -j N``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import contextlib
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from pipeline.cache import segment_path, work_dir, write_index
from pipeline.cluster import local_pool, plugins_from_env, worker_cache_dir
from pipeline.options import BuildOptions, Job
from pipeline.scene_render import render_pass

if TYPE_CHECKING:
    from scenes.storyboard import Storyboard

Report = Callable[[Any], None]


# Fast-forwarding a beat (running its animations without drawing) costs about this share
# of drawing it; used to place range boundaries so that split ranges finish together.
FAST_FORWARD_COST = 0.15


@dataclass
class Rendered:
    """What a render task sends back: every visited beat's key, the beats it drew, and (from a
    cluster worker) the segments' bytes."""

    keys: dict[int, str]
    drawn: list[int]
    segments: dict[str, bytes] | None = None


@contextlib.contextmanager
def render_task_options(job: Job, ship: bool) -> Iterator[BuildOptions]:
    """Options for a task: ours locally; on a cluster worker, its own cache and a scratch output dir."""
    if not ship:
        yield job.options
        return
    cache = worker_cache_dir()
    with work_dir(cache, "cluster-out") as out:
        yield replace(job.options, output_dir=out, cache_dir=cache)


def task_render(
    job: Job,
    storyboard: Storyboard,
    beats: list[int],
    ship: bool,
    handover: Path | None = None,
    *,
    report: Report,
) -> Rendered:
    """Draw ``beats`` of ``job``'s video (one render pass) and leave a cached segment for each.

    ``handover`` (a file on this machine): ``render.py all`` may write a beat ``k`` in it while
    the task runs, having given the beats from ``k`` on to another task; this task then stops
    before ``k`` and returns keys only for the beats before it (and for any later one an earlier
    pass already knew)."""

    def on_beat(index: int, drawn: bool) -> None:
        report(("beat", index, storyboard.beats[index].frames, drawn))

    with render_task_options(job, ship) as options, work_dir(options.cache_dir, "render") as work:
        report(f"{job.stem}: beats {beats[0] + 1}-{beats[-1] + 1} of {len(storyboard.beats)}")
        result = render_pass(
            job.request,
            storyboard,
            options.quality,
            Path(work),
            options.cache_dir,
            beats=beats,
            progress=report,
            on_beat=on_beat,
            handover=handover,
        )
        keys = {i: result.keys[i] for i in beats if i in result.keys}
        segments = {k: segment_path(options.cache_dir, k).read_bytes() for k in keys.values()} if ship else None
    report(f"{job.stem}: drew {len(result.rendered)} of {len(beats)} beats in {result.seconds:.1f} s")
    return Rendered(keys, result.rendered, segments)


# ---------------------------------------------------------------------------------------
# Splitting a video's beats across workers
# ---------------------------------------------------------------------------------------


def split_beats(frames: Sequence[int], parts: int, ff_cost: float = FAST_FORWARD_COST) -> list[list[int]]:
    """Cut beats into at most ``parts`` contiguous ranges that take about as long each.

    A range costs its frames plus ``ff_cost`` times the frames before it (fast-forward).
    """
    n = len(frames)
    parts = max(1, min(parts, n))
    if parts == 1:
        return [list(range(n))]
    prefix = [0]
    for f in frames:
        prefix.append(prefix[-1] + f)

    def greedy(limit: float) -> list[list[int]] | None:
        ranges, start = [], 0
        for i in range(n):
            cost = prefix[i + 1] - prefix[start] + ff_cost * prefix[start]
            if cost > limit and i > start:
                ranges.append(list(range(start, i)))
                start = i
                if ff_cost * prefix[start] + frames[i] > limit:
                    return None
        ranges.append(list(range(start, n)))
        return ranges if len(ranges) <= parts else None

    lo, hi = float(max(frames)), prefix[-1] * (1 + ff_cost)
    best = [list(range(n))]
    for _ in range(40):
        mid = (lo + hi) / 2
        found = greedy(mid)
        if found is None:
            lo = mid
        else:
            best, hi = found, mid
    return best


def render_beats(
    job: Job, storyboard: Storyboard, workers: int, progress: Report, known: dict[int, str] | None = None
) -> list[str]:
    """Draw one video's beats in ``workers`` processes at once; returns every beat's segment key.

    The beats are cut into contiguous ranges (:func:`split_beats`), each drawn as a render
    task of ``render.py all`` (:func:`task_render`): the first by this process (it starts at
    once, with no fast-forward), the others by worker processes started for them. The
    segments land in the cache, and the index that joins them is written here. ``render -j N``
    uses this, so one video uses every core (x264 encodes each segment on one thread, for
    machine-independent bytes). A failed range raises with the worker's error; Ctrl-C
    stops the workers (they remove their temporary files). ``known``: the keys of the first
    beats, drawn already (``render`` draws them while the later ones are spoken); only the
    beats after them are cut into ranges.
    """
    first = len(known or {})
    later = split_beats([b.frames for b in storyboard.beats[first:]], workers)
    ranges = [[first + i for i in beats] for beats in later]
    keys: dict[int, str] = dict(known or {})
    drawn: list[int] = []
    started = time.monotonic()
    tasks = {f"render-{n}-{job.stem}": beats for n, beats in enumerate(ranges[1:], start=1)}

    def on_progress(beats: list[int], payload: Any) -> None:
        if isinstance(payload, tuple) and payload and payload[0] == "beat" and payload[1] in beats:
            index = payload[1]
            progress(
                f"  frames {index + 1}/{len(storyboard.beats)}: {storyboard.beats[index].id} "
                f"({'drawn' if payload[3] else 'cached'})"
            )

    def take(rendered: Rendered) -> None:
        keys.update(rendered.keys)
        drawn.extend(rendered.drawn)

    pool = local_pool(len(tasks), plugins_from_env(), cache_dir=job.options.cache_dir) if tasks else None
    interrupted = False
    try:
        if pool is not None:
            for task_id, beats in tasks.items():
                pool.submit(task_id, task_render, (job, storyboard, beats, False))
            progress(f"  {len(storyboard.beats)} beats in {len(ranges)} ranges: this process and {pool.describe()}")
        take(task_render(job, storyboard, ranges[0], False, report=lambda m: on_progress(ranges[0], m)))
        while tasks and pool is not None:
            for kind, task_id, payload in pool.poll(0.5):
                if task_id not in tasks:
                    continue
                if kind == "progress":
                    on_progress(tasks[task_id], payload)
                    continue
                beats = tasks.pop(task_id)
                where = f"beats {beats[0] + 1}-{beats[-1] + 1}"
                if kind == "lost":
                    raise RuntimeError(f"{job.stem}: drawing {where}: {payload}")
                if not payload.ok:
                    raise RuntimeError(
                        f"{job.stem}: drawing {where} failed in a worker: {payload.error}\n" + payload.detail.rstrip()
                    )
                take(payload.value)
    except BaseException:
        interrupted = True
        raise
    finally:
        if pool is not None:
            pool.shutdown(interrupt=interrupted)
    ordered = [keys[i] for i in range(len(storyboard.beats))]
    write_index(job.options.cache_dir, job.request, storyboard, job.options.quality, ordered)
    progress(f"  {len(drawn)} of {len(ordered)} beats drawn, the rest reused ({time.monotonic() - started:.1f} s)")
    return ordered
