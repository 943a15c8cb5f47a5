"""The scene render: one pass of a scene that draws only the beats it must.

A render pass runs the scene once, with :mod:`pipeline.scene_writer`'s renderer and file
writer (Manim's own, subclassed and passed in). At every beat boundary the scene calls its
``beat_listener`` (the pass's :class:`_Director`), which reseeds the random generators,
digests the state (:mod:`pipeline.freshness`) and decides: beats whose segment is cached
(or outside the wanted range) are *fast-forwarded* (their animations run frame by frame
exactly as in a real render, same updater ``dt`` steps, same scene time, but nothing is
drawn or encoded); wanted beats are drawn and their Manim partial movies joined into the
beat's segment (:mod:`pipeline.media`, :mod:`pipeline.cache`).

**Resume.** A checkpoint (the scene's mobjects, updaters and attributes, pickled with the
live scene, renderer, camera and writer by reference) lets a later pass start at a beat
without replaying the ones before (the scene's ``resume_at``). A pass stops as soon as it
reaches a state from which an earlier pass already knows every remaining beat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import contextlib
import json
import logging
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from spine import checked_files
from spine.atomic_files import atomic_write

from pipeline.cache import (
    checkpoint_path,
    read_index,
    read_json,
    segment_ok,
    segment_path,
    suffix_path,
    sweep_stale_temporaries,
    sweep_stale_work_dirs,
    touch,
    write_index,
)
from pipeline.errors import RestoreMismatch
from pipeline.freshness import SEED, beat_key, beat_seed, prefix_token, render_context_token, scene_state_digest
from pipeline.media import concat_movies, manim_settings, segment_problem
from pipeline.options import Progress, quiet

if TYPE_CHECKING:
    from scenes.storyboard import Storyboard
    from spine.videos import VideoRequest


# Checkpoints (pickled scenes) a render pass may keep: their bytes, per second of video the pass
# has gone through (pickling costs about as much as its bytes; drawing a second of preview costs
# about a second, of which this keeps pickling near 5 %). A budget in bytes and video seconds, not
# in measured time, so the same storyboard keeps the same checkpoints on a quiet and on a busy
# machine, and an edit redraws the same beats on both. The first checkpoint is always kept.
CHECKPOINT_BYTES_PER_VIDEO_S = 20_000_000


@dataclass
class PassReport:
    """What one render pass did: the key of each visited beat, which beats it drew, where it began."""

    keys: dict[int, str]
    rendered: list[int]
    seconds: float = 0.0
    started_at: int = 0  # the beat the pass restored a checkpoint for (0: ran from the start)
    stopped_early: bool = False  # the rest of the video was known from an earlier pass


class _Opaque:
    """Pickling with the live scene, renderer, camera and writer by reference, not by value."""

    NAMES = ("scene", "renderer", "camera", "writer", "director")

    def __init__(self, scene: Any, director: Any) -> None:
        renderer = scene.renderer
        self.objects = dict(zip(self.NAMES, (scene, renderer, scene.camera, renderer.file_writer, director)))
        self.ids = {id(obj): name for name, obj in self.objects.items()}

    def dumps(self, payload: Any) -> bytes:
        import io

        import cloudpickle

        ids = self.ids

        class Pickler(cloudpickle.Pickler):
            def persistent_id(self, obj: Any) -> str | None:  # noqa: D401 - pickle hook
                return ids.get(id(obj))

        buffer = io.BytesIO()
        Pickler(buffer, protocol=5).dump(payload)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        import io
        import pickle

        objects = self.objects

        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid: Any) -> Any:
                return objects[pid]

        return Unpickler(io.BytesIO(data)).load()


class _Director:
    """Drives one render pass: per beat, reseed, compute the key, then draw or fast-forward.

    With a checkpoint for beat ``start``, the beats before it do nothing (their frames
    are held empty, not drawn) and the scene's state is restored when ``start`` begins.
    """

    def __init__(
        self,
        scene: Any,
        request: Any,
        storyboard: Any,
        quality: str,
        cache_dir: Path,
        work_dir: Path,
        wanted: set[int],
        force: bool,
        progress: Progress,
        on_beat: Callable[[int, bool], None] | None,
        context_token: str,
        start: int = 0,
        checkpoint: dict | None = None,
        handover: Path | None = None,
    ):

        self.scene, self.storyboard, self.cache_dir, self.work_dir = scene, storyboard, Path(cache_dir), Path(work_dir)
        self.wanted, self.force, self.progress, self.on_beat = wanted, force, progress, on_beat
        self.context_token = context_token
        self.suffixes = True  # stop where an earlier pass knows the rest; remember the rest for later passes
        self.last = max(wanted) if wanted else -1
        self.start, self.checkpoint = start, checkpoint
        self.handover = handover  # where the build may hand this pass's last beats to another task
        self.baseline = set(vars(scene))
        self.renderer = scene.renderer  # a pipeline.scene_writer.SegmentRenderer
        self._fast_forward = True
        self.attached = False
        self.play_at_beat: dict[int, int] = {}
        self.keys: dict[int, str] = {}
        self.states: dict[int, str] = {}
        self.rendered: list[int] = []
        self.current: int | None = None
        self.stopped_early = False
        self.saved_bytes: float = 0.0
        self.last_saved_bytes = 0
        self.opaque: _Opaque | None = None
        if checkpoint is not None:  # nothing before `start` needs to run (NarratedScene.resume_at)
            self.keys.update({i: k for i, k in enumerate(checkpoint["keys"])})
            scene.resume_at = start

    # While fast-forwarding nothing is drawn, copied or encoded (pipeline.scene_writer).
    @property
    def fast_forward(self) -> bool:
        return self._fast_forward

    @fast_forward.setter
    def fast_forward(self, value: bool) -> None:
        self._fast_forward = value
        if self.attached:
            self.renderer.fast_forward = value

    def _attach(self) -> None:
        """From the first beat on, the renderer follows this pass (Manim's set-up runs as usual)."""
        self.renderer.fast_forward = self._fast_forward
        self.opaque = _Opaque(self.scene, self)
        self.attached = True

    # -- checkpoints -------------------------------------------------------------------
    def _payload(self) -> dict:
        scene = self.scene
        return {
            "mobjects": list(scene.mobjects),
            "foreground": list(getattr(scene, "foreground_mobjects", [])),
            "updaters": list(getattr(scene, "updaters", [])),
            "always_update": bool(getattr(scene, "always_update_mobjects", False)),
            "frame": getattr(scene.camera, "frame", None),
            "time": scene.renderer.time,
            "attrs": {k: v for k, v in vars(scene).items() if k not in self.baseline},
        }

    def _restore(self) -> None:
        scene = self.scene
        assert self.opaque is not None and self.checkpoint is not None  # attached, resuming
        payload = self.opaque.loads(self.checkpoint["payload"])
        scene.mobjects = payload["mobjects"]
        scene.foreground_mobjects = payload["foreground"]
        scene.updaters = payload["updaters"]
        scene.always_update_mobjects = payload["always_update"]
        if payload["frame"] is not None:
            scene.camera.frame = payload["frame"]
        scene.renderer.time = payload["time"]
        for name, value in payload["attrs"].items():
            setattr(scene, name, value)

    def _maybe_save(self, index: int, state: str) -> None:
        """Keep the state at this beat, within the pass's budget of bytes (pickling is not free:
        :data:`CHECKPOINT_BYTES_PER_VIDEO_S`)."""
        path = checkpoint_path(self.cache_dir, prefix_token(self.context_token, self.storyboard, index))
        seconds = sum(b.duration_s for b in self.storyboard.beats[self.start : index])
        budget = CHECKPOINT_BYTES_PER_VIDEO_S * seconds
        if index == 0 or checked_files.verify(path) or self.saved_bytes + self.last_saved_bytes > budget:
            return
        keys = [self.keys.get(i) for i in range(index)]
        if None in keys:
            return
        try:
            assert self.opaque is not None  # attached at the first beat
            record = {"state": state, "keys": keys, "payload": self.opaque.dumps(self._payload())}
            import pickle

            data = pickle.dumps(record, protocol=5)
            checked_files.write_entry(path, data)
        except Exception as exc:  # noqa: BLE001 - a state that does not pickle is simply not kept
            self.progress(f"  (no checkpoint at beat {index + 1}: {type(exc).__name__}: {str(exc)[:120]})")
            self.saved_bytes = float("inf")  # do not try again in this pass
            return
        # the next one is about as big as this one: it is kept only if both fit the budget then
        self.saved_bytes += len(data)
        self.last_saved_bytes = len(data)

    # -- the beat boundary ---------------------------------------------------------------
    def __call__(self, index: int, count: int, beat: Any) -> None:
        from manim.utils.exceptions import EndSceneEarlyException

        if not self.attached:
            self._attach()
            for i in range(min(self.start, self.last + 1)):  # known from the checkpoint
                if i in self.wanted and self.on_beat is not None:
                    self.on_beat(i, False)
        self._close_current()
        self._take_handover()
        if index > self.last:
            raise EndSceneEarlyException()
        self.play_at_beat[index] = self.scene.renderer.num_plays
        if index < self.start:  # restored later: nothing to compute, nothing to draw
            self.fast_forward = True
            return
        if index == self.start and self.checkpoint is not None:
            self._restore()
        _drop_placeholders(self.scene)
        random.seed(beat_seed(index))
        import numpy as np

        np.random.seed(beat_seed(index))
        state = scene_state_digest(self.scene, self.baseline, self.work_dir)
        if index == self.start and self.checkpoint is not None and state != self.checkpoint["state"]:
            raise RestoreMismatch(f"the checkpoint at beat {beat.id} does not restore the state it was taken in")
        self.states[index] = state
        if self.suffixes and self._known_from_here(index, state):
            raise EndSceneEarlyException()
        earlier = [b.id for b in self.storyboard.beats[:index]]
        key = beat_key(self.context_token, index, beat, earlier, state)
        self.keys[index] = key
        draw = index in self.wanted and (self.force or not segment_ok(self.cache_dir, key))
        self.fast_forward = not draw
        self.current = index
        if draw:
            self.rendered.append(index)
        verb = "drawing" if draw else ("cached" if index in self.wanted else "skipping")
        self.progress(f"  frames {index + 1}/{count}: {beat.id} ({beat.duration_s:.1f} s, {verb})")
        self._maybe_save(index, state)

    def _take_handover(self) -> None:
        """Stop before beat ``k`` if the build has handed the beats from ``k`` on to another task
        (it wrote ``k`` into :attr:`handover`: a worker was idle at the end of the catalog). A
        beat from ``k`` on that this pass has drawn already is drawn by both, the same frames."""
        if self.handover is None:
            return
        try:
            k = int(self.handover.read_text())
        except (OSError, ValueError):
            return
        if k <= self.last:
            self.last = k - 1
            self.wanted = {i for i in self.wanted if i < k}
            self.progress(f"  beats from {k + 1} on handed to another worker")
        self.handover = None

    def _known_from_here(self, index: int, state: str) -> bool:
        """True if an earlier pass reached this beat in this state with the same beats after it,
        and every wanted beat from here on is cached: the rest of this pass would change nothing."""
        if self.force:
            return False
        keys = read_json(suffix_path(self.cache_dir, self.context_token, self.storyboard, index, state))
        if not isinstance(keys, list) or len(keys) != len(self.storyboard.beats) - index:
            return False
        later = {index + offset: key for offset, key in enumerate(keys)}
        if not all(segment_ok(self.cache_dir, later[i]) for i in self.wanted if i >= index):
            return False
        self.keys.update(later)
        self.stopped_early = True
        self.progress(f"  beats {index + 1}-{len(self.storyboard.beats)} unchanged from an earlier render")
        for i in range(index, len(self.storyboard.beats)):
            if i in self.wanted and self.on_beat is not None:
                self.on_beat(i, False)
        return True

    def _close_current(self) -> None:
        if self.current is not None and self.on_beat is not None:
            self.on_beat(self.current, not self.fast_forward)
        self.current = None

    def finish(self) -> None:
        self._close_current()
        self.play_at_beat[len(self.storyboard.beats)] = self.scene.renderer.num_plays

    def record_suffixes(self) -> None:
        """For every beat this pass reached with a known state, remember the keys from there to the end."""
        n = len(self.storyboard.beats)
        if any(i not in self.keys for i in range(n)):
            return
        for index, state in self.states.items():
            path = suffix_path(self.cache_dir, self.context_token, self.storyboard, index, state)
            if not path.is_file():
                atomic_write(path, json.dumps([self.keys[i] for i in range(index, n)]).encode())


def _drop_placeholders(scene: Any) -> None:
    """Remove the empty ``Mobject()`` a non-frozen ``wait`` leaves on the scene.

    Manim adds a ``Wait``'s placeholder mobject to the scene and never removes it. It draws
    nothing, but whether a beat ends with such a wait depends on its length, so without this
    a longer narration in one beat would change the state every later beat starts from.
    """
    from manim import Mobject

    def placeholder(m: Any) -> bool:
        return type(m) is Mobject and not m.submobjects and not m.updaters and len(m.points) == 0

    if any(placeholder(m) for m in scene.mobjects):
        scene.mobjects = [m for m in scene.mobjects if not placeholder(m)]


def _choose_start(cache_dir: Path, context_token: str, storyboard: Any, wanted: set[int]) -> tuple[int, dict | None]:
    """The latest beat with a checkpoint such that every wanted beat before it is cached."""
    import pickle

    last = max(wanted) if wanted else 0
    for index in range(last, 0, -1):
        path = checkpoint_path(cache_dir, prefix_token(context_token, storyboard, index))
        if not checked_files.verify(path):  # missing, or damaged: reported in one line and removed
            continue
        try:
            record = pickle.loads(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint is removed and skipped
            checked_files.discard(path, f"unreadable: {type(exc).__name__}")
            continue
        keys = (record.get("keys") or []) if isinstance(record, dict) else []
        if len(keys) == index and all(segment_ok(cache_dir, keys[i]) for i in wanted if i < index):
            touch([path])
            return index, record
    return 0, None


def resume_point(cache_dir: Path, request: VideoRequest, storyboard: Storyboard, quality: str) -> int:
    """The beat a render pass of the whole storyboard would start at from a checkpoint (0: none).

    Above 0, an earlier render of this video reached that beat with the same beats before
    it: what is left is most likely an edit, which one pass redraws best (it stops as soon
    as the rest is known), so ``render -j N`` does not cut it into ranges.
    """
    token = render_context_token(request, quality, storyboard.context, storyboard.props)
    return _choose_start(Path(cache_dir), token, storyboard, set(range(len(storyboard.beats))))[0]


def render_pass(
    request: VideoRequest,
    storyboard: Storyboard,
    quality: str,
    work_dir: Path,
    cache_dir: Path,
    *,
    beats: Iterable[int] | None = None,
    force: bool = False,
    progress: Progress = quiet,
    on_beat: Callable[[int, bool], None] | None = None,
    checkpoints: bool = True,
    whole: bool = True,
    handover: Path | None = None,
) -> PassReport:
    """Run the scene once and leave a cached segment for every wanted beat (default: all).

    The pass starts from the latest checkpoint at or before the first wanted beat (or from
    the beginning), fast-forwards beats that are cached or not wanted, draws the others,
    and stops after the last wanted beat, or as soon as it reaches a state from which an
    earlier pass already knows every remaining beat. ``force`` draws wanted beats even if cached.
    ``whole=False``: the storyboard holds only the video's first beats (``render`` draws them
    while the others are spoken); "the remaining beats" of such a pass are not the video's,
    so it neither stops where an earlier pass knows them nor records them. ``handover``: a
    file in which ``render.py all`` may write a beat ``k`` while the pass runs; the pass then
    stops before ``k`` (its later wanted beats went to another task), and its report has no
    key for them.
    """
    import time

    from manim import logger as manim_logger
    from manim import tempconfig

    started = time.monotonic()
    wanted = set(range(len(storyboard.beats)) if beats is None else beats)
    work_dir = Path(work_dir)
    sweep_stale_temporaries(cache_dir)
    sweep_stale_work_dirs(cache_dir)
    context_token = render_context_token(request, quality, storyboard.context, storyboard.props)
    start, checkpoint = (
        _choose_start(cache_dir, context_token, storyboard, wanted) if checkpoints and not force else (0, None)
    )
    if checkpoint is not None:
        progress(f"  starting at beat {start + 1} from a checkpoint")
    manim_logger.setLevel(logging.WARNING)
    random.seed(SEED)
    import numpy as np

    np.random.seed(SEED)
    try:
        with tempconfig(manim_settings(quality, work_dir)):
            from pipeline.scene_writer import renderer_for

            scene_class = request.spec.scene_class()
            scene = scene_class(storyboard=storyboard, renderer=renderer_for(scene_class))
            director = _Director(
                scene,
                request,
                storyboard,
                quality,
                cache_dir,
                work_dir,
                wanted,
                force,
                progress,
                on_beat,
                context_token,
                start,
                checkpoint,
                handover,
            )
            director.suffixes = whole
            scene.beat_listener = director
            director.baseline = set(vars(scene))  # the scene as built; what beats add is state
            scene.render()
            director.finish()
            partials = list(scene.renderer.file_writer.partial_movie_files)
    except RestoreMismatch as exc:
        if checkpoint is None:
            raise
        progress(f"  {exc}; running from the start instead")
        with contextlib.suppress(OSError):
            checkpoint_path(cache_dir, prefix_token(context_token, storyboard, start)).unlink()
        return render_pass(
            request,
            storyboard,
            quality,
            work_dir / "again",
            cache_dir,
            beats=beats,
            force=force,
            progress=progress,
            on_beat=on_beat,
            checkpoints=False,
            whole=whole,
            handover=handover,
        )
    ends = dict(director.play_at_beat)
    for index in director.rendered:
        start_play = ends[index]
        stop = min((ends[i] for i in ends if i > index), default=len(partials))
        files = [Path(p) for p in partials[start_play:stop] if p is not None]
        missing = [p for p in files if not p.is_file()]
        if not files or missing:
            raise RuntimeError(f"beat {storyboard.beats[index].id}: Manim left no partial movie for it")
        target = segment_path(cache_dir, director.keys[index])
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix=".mp4", dir=target.parent)
        os.close(fd)
        try:
            concat_movies(files, Path(tmp))
            beat = storyboard.beats[index]
            problem = segment_problem(Path(tmp), beat.frames, decode=True)
            if problem is not None:
                raise RuntimeError(f"beat {beat.id}: the segment just drawn {problem}")
            os.replace(tmp, target)
            checked_files.write_checksum(target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    if whole:
        director.record_suffixes()
    return PassReport(director.keys, director.rendered, time.monotonic() - started, start, director.stopped_early)


def render_movie(
    request: VideoRequest,
    storyboard: Storyboard,
    quality: str,
    work_dir: Path,
    progress: Progress = quiet,
    *,
    cache_dir: Path,
) -> Path:
    """The silent movie of ``storyboard``: cached beats are reused, missing ones drawn, all joined.

    Before they are joined, the segments are checked: each must match its checksum, decode
    (its key frames) and hold its beat's frames; a bad one is reported, removed and drawn again.
    """
    for attempt in (1, 2):
        keys = read_index(cache_dir, request, storyboard, quality)
        if keys is None:
            pass_dir = Path(work_dir) if attempt == 1 else Path(work_dir) / "again"
            pass_dir.mkdir(parents=True, exist_ok=True)
            report = render_pass(request, storyboard, quality, pass_dir, cache_dir, progress=progress)
            keys = [report.keys[i] for i in range(len(storyboard.beats))]
            write_index(cache_dir, request, storyboard, quality, keys)
            progress(f"  {len(report.rendered)} of {len(keys)} beats drawn, the rest reused ({report.seconds:.1f} s)")
        else:
            progress(f"  all {len(keys)} beats cached")
        segments = [segment_path(cache_dir, k) for k in keys]
        bad = []
        for beat, segment in zip(storyboard.beats, segments):
            problem = checked_files.problem(segment)
            problem = problem or segment_problem(segment, beat.frames, decode=True)
            if problem is not None:
                checked_files.discard(segment, problem)
                bad.append(beat.id)
        if not bad:
            break
        if attempt == 2:
            raise RuntimeError(f"beat segment(s) {', '.join(bad)} are still bad after drawing them again")
    movie = Path(work_dir) / "frames.mp4"
    touch(segments)
    concat_movies(segments, movie)
    problem = segment_problem(movie, storyboard.total_frames)
    if problem is not None:
        raise RuntimeError(f"the joined frames {problem}")
    return movie
