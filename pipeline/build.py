"""Build one video: narration -> timing -> frames -> mix -> mux -> checked outputs.

Data flows one way. The script is filled for the request, its speech is synthesised
(cached), the speech durations give the storyboard's frame-exact timing, Manim renders
the storyboard silently, the narration is mixed to exactly the video's length, captions
and chapters come from the same timing, and ffmpeg muxes it all into an MP4 that is
checked before it is renamed into ``output/``.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from pipeline import outputs
from pipeline.beats import render_beats
from pipeline.cache import read_index, work_dir
from pipeline.errors import BuildError
from pipeline.freshness import output_tool_versions
from pipeline.mux import chapters_from_beats, mux, probe
from pipeline.options import (
    DEFAULT_CACHE_DIR,
    BuildOptions,
    Job,
    Progress,
    output_paths,
    quiet,
)
from pipeline.outputs import manifest_entry
from pipeline.quality import QUALITIES
from pipeline.scene_render import render_movie, render_pass, resume_point
from spine.errors import RequestError, shorten, shorten_path
from spine.video_props import VideoProps, video_props
from spine.videos import VideoRequest
from scenes.storyboard import Storyboard, schedule


@dataclass
class BuildResult:
    video: Path
    sidecar: dict = field(default_factory=dict)
    seconds: float = 0.0


def prepare_narration(
    request: VideoRequest, options: BuildOptions, progress: Progress = quiet
) -> tuple[Any, list[Any]]:
    """Fill the script and synthesise (or load cached / recorded) speech for every beat."""
    script, _props = prepare_words(request, options)
    return script, speak(request, options, script, progress)


def prepare_words(request: VideoRequest, options: BuildOptions) -> tuple[Any, VideoProps]:
    """The script filled for ``request``, then its props (the validated needle plans) and the check
    that the scene's data words are in the language: a script error (quick to find) stops a build
    before the needles are planned, a plan error before anything is spoken."""
    from voiceover.scripts import load_script

    script = load_script(request.spec.script_name, options.lang).filled(narration_context(request, options.lang))
    props = video_props(request)
    check_data_words(request, options.lang, props)
    return script, props


def speak(request: VideoRequest, options: BuildOptions, script: Any, progress: Progress = quiet) -> list[Any]:
    """Synthesise (or load cached / recorded) speech for every beat of the filled ``script``."""
    from voiceover.speech import speak_beats

    recordings = None
    if options.recordings_dir is not None:
        candidate = Path(options.recordings_dir) / request.spec.script_name
        recordings = candidate if candidate.is_dir() else None
    return speak_beats(
        script.beats,
        options.voice,
        options.lang,
        video=request.spec.script_name,
        cache_dir=Path(options.cache_dir) / "speech",
        recordings_dir=recordings,
        on_beat=lambda i, n, beat_id: progress(f"  speech {i + 1}/{n}: {beat_id}"),
        voice_model=options.voice_model,
    )


def narration_context(request: VideoRequest, lang: str) -> dict:
    """The request's fields with the procedure data's words in ``lang`` (see voiceover.vocabulary)."""
    from voiceover.vocabulary import load_vocabulary

    return load_vocabulary(lang).localise_context(request.script_context())


def check_data_words(request: VideoRequest, lang: str, props: VideoProps | None = None) -> None:
    """Every data phrase the video's scene shows (``data_words(props)``: read from the request's props,
    made here if not given) has words in ``lang`` (else a ScriptError naming it)."""
    from voiceover.vocabulary import load_vocabulary

    vocabulary = load_vocabulary(lang)
    shown = getattr(request.spec.scene_class(), "data_words", None)
    if lang == "en" or shown is None:
        return
    for phrase in shown(props if props is not None else video_props(request)):
        vocabulary.term(phrase)


def make_storyboard(
    request: VideoRequest,
    script: Any,
    spoken: Sequence[Any],
    fps: int,
    options: BuildOptions | None = None,
    props: VideoProps | None = None,
) -> Storyboard:
    """The storyboard of ``request``, carrying its props (planned here if not given) with the filled words.

    With speech for only the first beats, the storyboard of those beats (the same timing and
    context as the whole one's first beats, so the same beat keys).
    """
    import dataclasses

    from pipeline.review import load_review
    from voiceover.vocabulary import load_vocabulary, screen_words

    vocabulary = load_vocabulary(script.lang)
    context = dict(vocabulary.localise_context(request.script_context()))
    context.update(video=request.name, level=request.level, side=request.side)
    # the scene shows words only from here: the script's and the shared vocabulary's, in its language
    context["screen"] = screen_words(script)
    context.update(lang=script.lang, terms=dict(vocabulary.terms), decimal=vocabulary.decimal)
    # Publishing: the closing card's review line and the brand (both part of every beat's cache key).
    context["review_line"] = load_review(request.name).line(script.lang)
    context["brand"] = options.brand.scene_context() if options is not None and options.brand is not None else None
    # the first len(spoken) beats (all of them once every beat is spoken): a beat's timing
    # depends only on its own speech and the beats before it
    board = schedule(request.name, script.beats[: len(spoken)], [s.duration_s for s in spoken], fps, context)
    props = (props or video_props(request)).model_copy(
        update={"words": dict(request.script_context()), "screen": context["screen"]}
    )
    return dataclasses.replace(board, props=props)


def render_frames(
    request: VideoRequest,
    storyboard: Storyboard,
    quality: str,
    work_dir: Path,
    progress: Progress = quiet,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    workers: int = 1,
    options: BuildOptions | None = None,
    drawn: dict[int, str] | None = None,
) -> Path:
    """Render the storyboard with Manim (no sound) and return the silent movie's path.

    Every beat is rendered into its own segment, cached under ``cache_dir/segments`` by
    everything that decides its frames; cached beats are reused and the segments joined
    without re-encoding (see :mod:`pipeline.scene_render`). With ``workers`` > 1 the beats
    still to draw are cut into contiguous ranges drawn by that many worker processes at
    once, as ``render.py all`` does (:func:`pipeline.beats.render_beats`): the same
    segments, so the same frames as one process. An edit of a video rendered before (a
    checkpoint covers its first beats) is redrawn by one pass, which stops once the rest
    is known. ``drawn``: the keys of the first beats, drawn while the later ones were spoken
    (:func:`speak_and_draw`); the beats after them are cut into ranges.
    """
    drawn = drawn or {}
    first = len(drawn)
    if (
        workers > 1
        and len(storyboard.beats) - first > 1
        and read_index(cache_dir, request, storyboard, quality) is None
        and (first > 0 or resume_point(cache_dir, request, storyboard, quality) == 0)
    ):
        job_options = options if options is not None else BuildOptions(quality=quality, cache_dir=Path(cache_dir))
        render_beats(Job(request, job_options), storyboard, workers, progress, known=drawn)
    return render_movie(request, storyboard, quality, work_dir, progress, cache_dir=Path(cache_dir))


@dataclass
class Prepared:
    """What the first step of a build leaves for the others: the filled script, its speech
    and the storyboard timed by it (picklable: a worker may draw or finish with it)."""

    request: VideoRequest
    options: BuildOptions
    script: Any
    spoken: list
    storyboard: Storyboard
    started: float = field(default_factory=time.monotonic)
    drawn: dict[int, str] = field(default_factory=dict)  # keys of the first beats, drawn while speaking
    #: the narration mixed to this storyboard (:func:`_mixed`), started in a thread as soon as
    #: every beat was spoken, while beats were still drawn; a worker gets None and mixes itself
    sound: Future | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "sound": None}  # a thread's result stays in its process

    @property
    def paths(self) -> dict[str, Path]:
        return output_paths(self.request, self.options)


def _check_request(request: VideoRequest, options: BuildOptions) -> None:
    """What every build checks first: the options and the output folder (then :func:`prepare_words`)."""
    if options.quality not in QUALITIES:
        raise RequestError(f"unknown quality '{options.quality}'; qualities: {', '.join(QUALITIES)}")
    check_options(options)
    outputs.sweep_partials(outputs.ensure_writable_dir(Path(options.output_dir)))  # before anything slow


def _prepared(
    request: VideoRequest,
    options: BuildOptions,
    script: Any,
    spoken: Sequence[Any],
    props: VideoProps,
    started: float,
    progress: Progress,
) -> Prepared:
    q = QUALITIES[options.quality]
    storyboard = make_storyboard(request, script, spoken, q.fps, options, props)
    progress(
        f"{output_paths(request, options)['mp4'].name}: {len(storyboard.beats)} beats, "
        f"{storyboard.duration_s:.1f} s at {q.width}x{q.height} {q.fps} fps"
    )
    return Prepared(request, options, script, list(spoken), storyboard, started)


def prepare_video(request: VideoRequest, options: BuildOptions, progress: Progress = quiet) -> Prepared:
    """Step 1 of every build (``render`` and ``all``): check the options, speak, time the storyboard."""
    started = time.monotonic()
    _check_request(request, options)
    script, props = prepare_words(request, options)  # the validated needle plans, before anything is spoken
    progress(f"{output_paths(request, options)['mp4'].name}: narration ({options.voice}, {options.lang})")
    spoken = speak(request, options, script, progress)
    return _prepared(request, options, script, spoken, props, started, progress)


def _entries(folder: Path) -> int:
    """How many files a cache folder holds (0 if it is not there yet)."""
    try:
        with os.scandir(folder) as entries:
            return sum(1 for _ in entries)
    except OSError:
        return 0


class _Speaker(threading.Thread):
    """Speaks a video's beats one after another in a thread, handing each on as it is done."""

    def __init__(self, request: VideoRequest, options: BuildOptions, script: Any, progress: Progress) -> None:
        super().__init__(name="speech", daemon=True)
        self.request, self.options, self.script, self.progress = request, options, script, progress
        self.spoken: list[Any] = []
        self.error: BaseException | None = None
        self.done = False
        self.synthesising = False  # some beat's speech was synthesised (not all of it is cached)
        self.stopping = False
        self.changed = threading.Condition()

    def run(self) -> None:
        from voiceover.speech import speak_beats

        options, beats = self.options, list(self.script.beats)
        recordings = None
        if options.recordings_dir is not None:
            candidate = Path(options.recordings_dir) / self.request.spec.script_name
            recordings = candidate if candidate.is_dir() else None
        speech_dir = Path(options.cache_dir) / "speech" / str(options.voice)
        try:
            for i, beat in enumerate(beats):
                if self.stopping:
                    return
                self.progress(f"  speech {i + 1}/{len(beats)}: {beat.id}")
                before = _entries(speech_dir)
                (spoken,) = speak_beats(
                    [beat],
                    options.voice,
                    options.lang,
                    video=self.request.spec.script_name,
                    cache_dir=Path(options.cache_dir) / "speech",
                    recordings_dir=recordings,
                    voice_model=options.voice_model,
                )
                with self.changed:
                    self.spoken.append(spoken)
                    # new files in the speech cache: synthesised, so the next beats will take a while too
                    self.synthesising = self.synthesising or _entries(speech_dir) > before
                    self.changed.notify_all()
        except BaseException as exc:  # handed to the main thread, which raises it
            self.error = exc
        finally:
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def wait_for(self, count: int) -> list[Any]:
        """The beats spoken so far, once there are at least ``count`` while speech is being
        synthesised (not read from the cache, which takes milliseconds a beat), or speaking has ended."""
        with self.changed:
            self.changed.wait_for(lambda: self.done or self.synthesising and len(self.spoken) >= count)
            return list(self.spoken)


def speak_and_draw(request: VideoRequest, options: BuildOptions, progress: Progress = quiet) -> Prepared:
    """Step 1 of ``render`` with the first beats drawn while the later ones are spoken.

    The beats are spoken in a thread, one after another. As soon as a beat's speech is there
    its length is known, and so is its place and length in the storyboard; the beats spoken
    so far are drawn (a render pass over the storyboard of those beats, leaving their
    segments in the cache) while the next ones are spoken. A beat's segment key depends on
    the beat, the ones before it and the scene's state, never on later beats, so these are
    the segments a render of the whole storyboard draws. Once every beat is spoken, the
    storyboard is whole and the beats not drawn yet are left to :func:`finish_video`
    (``workers`` processes): the frames of ``prepare_video`` then ``finish_video``.
    """
    started = time.monotonic()
    _check_request(request, options)
    script, props = prepare_words(request, options)  # the validated needle plans, before anything is spoken
    name = output_paths(request, options)["mp4"].name
    q = QUALITIES[options.quality]
    progress(f"{name}: narration ({options.voice}, {options.lang}), drawing each beat once it is spoken")
    speaker = _Speaker(request, options, script, progress)
    speaker.start()

    def mix_once_spoken() -> tuple[Any, Any, Any] | None:
        # every beat's length is known once the last is spoken: the narration is mixed (and its
        # loudness measured) while the beats are still drawn, not after them
        speaker.join()
        if abandoned.is_set() or speaker.error is not None or len(speaker.spoken) != len(script.beats):
            return None  # drawing failed or was interrupted, speech failed, or speaking was stopped
        board = make_storyboard(request, script, speaker.spoken, q.fps, options, props)
        return _mixed(speaker.spoken, board, options)

    abandoned = threading.Event()  # set when drawing fails or Ctrl-C stops it: nothing to mix for
    mixer = ThreadPoolExecutor(1, thread_name_prefix="mix")
    sound = mixer.submit(mix_once_spoken)
    mixer.shutdown(wait=False)
    drawn: dict[int, str] = {}
    try:
        while True:
            spoken = speaker.wait_for(len(drawn) + 1)
            if speaker.done:  # every beat spoken (or speech failed): the rest is drawn in finish_video
                break
            board = make_storyboard(request, script, spoken, q.fps, options, props)
            wanted = range(len(drawn), len(spoken))
            progress(f"  drawing beats {wanted[0] + 1}-{wanted[-1] + 1} while the next ones are spoken")
            with work_dir(options.cache_dir, "render") as work:
                report = render_pass(
                    request,
                    board,
                    options.quality,
                    work,
                    Path(options.cache_dir),
                    beats=wanted,
                    progress=progress,
                    whole=False,
                )
            drawn.update({i: report.keys[i] for i in range(len(spoken))})
    except BaseException:
        abandoned.set()
        raise
    finally:
        speaker.stopping = True
        speaker.join()
    if speaker.error is not None:
        raise speaker.error
    prepared = _prepared(request, options, script, speaker.spoken, props, started, progress)
    prepared.drawn = drawn
    prepared.sound = sound
    return prepared


def build_video(
    request: VideoRequest, options: BuildOptions, progress: Progress = quiet, workers: int = 1
) -> BuildResult:
    """speak (drawing each beat once it is spoken) -> draw the rest (``workers`` processes)
    -> finish: one video, start to end, its stages overlapping."""
    prepared = speak_and_draw(request, options, progress)
    return finish_video(prepared, progress, workers=workers)


def _mixed(spoken: Sequence[Any], storyboard: Storyboard, options: BuildOptions) -> tuple[Any, Any, Any]:
    """The narration mixed to the storyboard's times, its caption cues, its chapters."""
    from voiceover.captions import build_cues
    from voiceover.mix import mix_narration

    mix = mix_narration(
        list(spoken),
        storyboard.starts_s,
        storyboard.duration_s,
        loudness_lufs=options.loudness_lufs,
        music=options.music,
    )
    return mix, build_cues(list(spoken), storyboard.starts_s), chapters_from_beats(storyboard.beats)


def _sound(prepared: Prepared, work: Path) -> tuple[Path, Any, Any]:
    """:func:`_mixed` (the one started while drawing, if any), the mix written as a WAV in ``work``."""
    mixed = prepared.sound.result() if prepared.sound is not None else None
    mix, cues, chapters = mixed or _mixed(prepared.spoken, prepared.storyboard, prepared.options)
    wav = work / "narration.wav"
    mix.export(wav, format="wav")
    return wav, cues, chapters


def finish_video(prepared: Prepared, progress: Progress = quiet, workers: int = 1) -> BuildResult:
    """Steps 2 and 3: join the beats (drawing those not cached), mix, mux, check, write the set.

    ``render.py all`` draws the beats in its workers first, so here every beat is cached and
    the segments are only joined.
    """
    from voiceover.captions import cue_records, write_srt, write_vtt

    request, options, script, spoken, storyboard = (
        prepared.request,
        prepared.options,
        prepared.script,
        prepared.spoken,
        prepared.storyboard,
    )
    started = prepared.started
    output_dir = outputs.ensure_writable_dir(Path(options.output_dir))
    paths = output_paths(request, options)
    q = QUALITIES[options.quality]

    with work_dir(options.cache_dir, "build") as work, ThreadPoolExecutor(1, thread_name_prefix="mix") as mixer:
        # the narration is mixed and the captions made while the beats are drawn
        sound = mixer.submit(_sound, prepared, work)
        movie = render_frames(
            request,
            storyboard,
            options.quality,
            work,
            progress,
            Path(options.cache_dir),
            workers=workers,
            options=options,
            drawn=prepared.drawn,
        )

        progress(f"{paths['mp4'].name}: muxing")
        wav, cues, chapters = sound.result()

        srt_tmp = work / "captions.srt"
        write_srt(cues, srt_tmp)
        # The set is written into a scratch folder inside the output folder, checked, and
        # renamed in together (the sidecar last), then the manifest; any failure leaves the
        # older set whole (pipeline.outputs.OutputSet).
        with outputs.OutputSet(output_dir) as files:
            mp4_tmp = files.path(paths["mp4"])
            mux(
                movie,
                wav,
                mp4_tmp,
                title=script.title,
                chapters=chapters,
                captions_srt=srt_tmp if options.burn_captions else None,
                work_dir=work,
            )
            info = check_media(mp4_tmp, q, storyboard)
            write_srt(cues, files.path(paths["srt"]))
            write_vtt(cues, files.path(paths["vtt"]))
            sidecar = {
                "video": request.name,
                "title": script.title,
                "procedure": request.spec.procedure,
                "level": request.level,
                "side": request.side,
                "quality": options.quality,
                "lang": options.lang,
                "file": paths["mp4"].name,
                "captions": {"srt": paths["srt"].name, "vtt": paths["vtt"].name},
                "sha256": outputs.sha256_of(mp4_tmp),
                "captions_sha256": {paths[k].name: outputs.sha256_of(files.path(paths[k])) for k in ("srt", "vtt")},
                "width": q.width,
                "height": q.height,
                "fps": q.fps,
                "duration_s": round(storyboard.duration_s, 3),
                "frames": info["frames"],
                "video_duration_s": info["video_s"],
                "audio_duration_s": info["audio_s"],
                "inputs": {
                    "voice": {"engine": options.voice, "sources": sorted({s.source for s in spoken})},
                    "loudness_lufs": options.loudness_lufs,
                    "music": str(options.music) if options.music else None,
                    "burn_captions": options.burn_captions,
                    "context": {k: v for k, v in request.script_context().items()},
                },
                "beats": [
                    {
                        "id": b.id,
                        "chapter": b.chapter,
                        "text": b.text,
                        "start_s": round(b.start_s, 3),
                        "end_s": round(b.end_s, 3),
                        "speech_s": round(b.speech_s, 3),
                    }
                    for b in storyboard.beats
                ],
                "chapters": [
                    {"title": c.title, "start_s": round(c.start_s, 3), "end_s": round(c.end_s, 3)} for c in chapters
                ],
                "cues": cue_records(cues),  # the captions as data (the same cues as the .srt and .vtt)
                "tools": output_tool_versions(),
                "review": _review_status(request, options),
                "brand": options.brand.record() if options.brand else None,
                "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "build_seconds": None,
            }
            # accessibility: descriptions track, transcripts and (if asked) the described version,
            # written into the same set (their names follow the MP4's, here in the scratch folder)
            from pipeline.described import write_accessibility

            sidecar.update(
                write_accessibility(
                    request, options, script, storyboard, spoken, movie, {**paths, "mp4": mp4_tmp}, work, progress
                ).sidecar
            )
            for written in sorted(files.scratch.iterdir()):
                final = output_dir / written.name
                if not written.name.startswith(outputs.PARTIAL_PREFIX) and final not in files.files:
                    files.path(final)
            sidecar["build_seconds"] = round(time.monotonic() - started, 2)
            files.write_json(paths["json"], sidecar)  # last: it vouches for the others
            outputs.commit_with_manifest(files, manifest_entry(sidecar), progress)
    progress(f"{paths['mp4'].name}: done in {time.monotonic() - started:.1f} s")
    return BuildResult(paths["mp4"], sidecar, time.monotonic() - started)


def _review_status(request: VideoRequest, options: BuildOptions) -> dict:
    from pipeline.review import load_review

    return load_review(request.name).status(options.lang)


def check_options(options: BuildOptions) -> None:
    """Refuse, before anything is synthesised or drawn, options that cannot make a video."""
    if not math.isfinite(float(options.loudness_lufs)) or not -36 <= float(options.loudness_lufs) <= -10:
        raise RequestError(f"loudness {shorten(options.loudness_lufs)} LUFS: allowed a finite number from -36 to -10")
    if options.music is not None:
        check_music(Path(options.music))
    if options.voice != "none":  # the pronunciation lexicon's file is checked before anything is spoken
        from voiceover.lexicon import load_lexicon

        load_lexicon(options.lang)


def check_music(path: Path) -> None:
    """A music bed must be a readable audio file with sound in it (any format ffmpeg reads)."""
    import av

    if not path.is_file():
        raise RequestError(f"--music {shorten_path(path)}: no such file; give an audio file (WAV, FLAC, MP3, OGG, ...)")
    try:
        with av.open(str(path)) as container:
            audio = [s for s in container.streams if s.type == "audio"]
            if audio:
                container.decode(audio[0]).__next__()  # at least one packet decodes
    except (av.FFmpegError, StopIteration, UnicodeDecodeError, OSError) as exc:
        raise RequestError(
            f"--music {shorten_path(path)} is not an audio file ({type(exc).__name__}); "
            f"give an audio file (WAV, FLAC, MP3, OGG, ...)"
        ) from exc
    if not audio:
        raise RequestError(
            f"--music {shorten_path(path)} has no audio stream; give an audio file (WAV, FLAC, MP3, OGG, ...)"
        )
    from voiceover.mix import load_music

    load_music(path, 48_000)  # too short or silent: a one-line NarrationError, before anything is drawn


def check_media(path: Path, quality: Any, storyboard: Storyboard) -> dict:
    """Prove the muxed file is what we promise before it replaces anything."""
    info = probe(path)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    if len(video) != 1 or len(audio) != 1:
        raise BuildError(f"{path.name}: expected one video and one audio stream")
    v, a = video[0], audio[0]
    if (v["codec_name"], v.get("pix_fmt"), int(v["width"]), int(v["height"])) != (
        "h264",
        "yuv420p",
        quality.width,
        quality.height,
    ):
        raise BuildError(
            f"{path.name}: unexpected video stream {v['codec_name']} {v.get('pix_fmt')} {v['width']}x{v['height']}"
        )
    frames = int(v.get("nb_frames") or 0)
    if frames != storyboard.total_frames:
        raise BuildError(f"{path.name}: {frames} frames, the storyboard has {storyboard.total_frames}")
    video_s, audio_s = float(v["duration"]), float(a["duration"])
    if abs(video_s - audio_s) > 1.0 / quality.fps + 1e-6:
        raise BuildError(
            f"{path.name}: audio ({audio_s:.3f} s) and video ({video_s:.3f} s) differ by more than one frame"
        )
    if abs(video_s - storyboard.duration_s) > 1.0 / quality.fps + 1e-6:
        raise BuildError(f"{path.name}: video lasts {video_s:.3f} s, the storyboard {storyboard.duration_s:.3f} s")
    return {"video_s": video_s, "audio_s": audio_s, "frames": frames}
