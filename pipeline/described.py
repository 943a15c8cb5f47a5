"""Accessibility outputs of a build: the descriptions track, the transcript and, with
``--described``, the audio-described version (see :mod:`voiceover.describe`).

The described version is made from the plain build's own silent movie and narration: the
picture of each beat is cut at its frame boundaries and, where the description does not fit
the beat's pause, its last frame is held (ffmpeg ``tpad``); the narration keeps its samples
and only moves later by the holds before it; the descriptions are spoken by a second voice in
the pauses. It has its own captions, descriptions track and chapters.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from pipeline import outputs
from pipeline.mux import Chapter, chapters_from_beats, mux, probe, run_ffmpeg

if TYPE_CHECKING:
    from pipeline.options import BuildOptions
    from scenes.storyboard import Storyboard
    from spine.videos import VideoRequest
    from voiceover.describe import BeatDescription, DescribedBeat
    from voiceover.scripts import Script
    from voiceover.speech_types import SpokenBeat
    from voiceover.vocabulary import Vocabulary


@dataclass
class AccessibilityResult:
    sidecar: dict[str, Any]  # keys added to the plain video's sidecar


def descriptions_kind(request: VideoRequest) -> str | None:
    return "procedure" if request.spec.procedure else None


def description_context(request: VideoRequest, lang: str) -> dict[str, Any]:
    """The fields the descriptions are filled with: the narration's, and whether the check shows dye."""
    from voiceover.vocabulary import load_vocabulary

    context = dict(load_vocabulary(lang).localise_context(request.script_context()))
    if request.spec.procedure and request.level:  # the check beat shows dye only where the technique uses dye
        from spine.procedures.catalog import procedure

        context["dye"] = (
            procedure(request.spec.procedure).technique_for(request.level).confirmation.contrast is not None
        )
    return context


def describer_of(options: BuildOptions) -> tuple[str, Path | None]:
    """(engine, Piper model) of the describer for a build's options: the options' own choice
    (``--describer-voice``, ``--describer-voice-model``, a config's ``describer:``), checked."""
    from voiceover.speech import choose_describer

    return choose_describer(
        getattr(options, "describer_voice", None),
        getattr(options, "describer_model", None),
        options.lang,
        options.voice,
        getattr(options, "voice_model", None),
    )


def describer_for_catalog(options: BuildOptions, catalog_file: Path, where: str) -> BuildOptions:
    """``options`` with the describer's voice of a ``render.py all --described`` entry (the catalog
    file's ``describer:`` for its language, else the default), checked; CatalogError naming the entry."""
    from dataclasses import replace

    from pipeline.errors import CatalogError
    from voiceover.speech import NarrationError
    from voiceover.speech import choose_describer

    try:
        engine, model = choose_describer(None, None, options.lang, options.voice, options.voice_model, catalog_file)
    except NarrationError as exc:
        raise CatalogError(f"{where}: {exc}") from exc
    return replace(options, describer_voice=engine, describer_model=model)


def write_accessibility(
    request: VideoRequest,
    options: BuildOptions,
    script: Script,
    storyboard: Storyboard,
    spoken: Sequence[SpokenBeat],
    movie: Path,
    paths: dict[str, Path],
    work: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> AccessibilityResult:
    """Descriptions track and transcripts of the plain video; the described version when asked."""
    from pipeline.transcript import write_transcripts
    from voiceover.captions import write_vtt
    from voiceover.describe import descriptions_for, pause_cues
    from voiceover.vocabulary import load_vocabulary

    vocabulary = load_vocabulary(options.lang)
    descriptions = descriptions_for(script, descriptions_kind(request), description_context(request, options.lang))
    stem = paths["mp4"].with_suffix("")
    desc_vtt = stem.with_name(stem.name + ".descriptions.vtt")
    tmp = work / "descriptions.vtt"
    write_vtt(pause_cues(storyboard.beats, spoken, descriptions), tmp)
    with outputs.atomic_output(desc_vtt) as t:
        shutil.copyfile(tmp, t)
    transcript = write_transcripts(
        stem, script.title, options.lang, storyboard.beats, descriptions, vocabulary.transcript
    )
    extra: dict[str, Any] = {"descriptions": desc_vtt.name, "transcript": transcript}
    if getattr(options, "described", False):
        progress(f"{paths['mp4'].name}: described version")
        extra["described"] = build_described(
            request, options, script, storyboard, spoken, descriptions, movie, stem, work, vocabulary
        )
    return AccessibilityResult(extra)


def build_described(
    request: VideoRequest,
    options: BuildOptions,
    script: Script,
    storyboard: Storyboard,
    spoken: Sequence[SpokenBeat],
    descriptions: Sequence[BeatDescription],
    movie: Path,
    stem: Path,
    work: Path,
    vocabulary: Vocabulary,
) -> dict[str, Any]:
    from pipeline.quality import QUALITIES
    from voiceover.captions import build_cues, write_srt, write_vtt
    from voiceover.describe import description_cues, layout, speak_descriptions
    from voiceover.mix import mix_narration

    q = QUALITIES[options.quality]
    engine, model = describer_of(options)
    described = speak_descriptions(descriptions, engine, options.lang, Path(options.cache_dir) / "speech", model)
    plan = layout(storyboard.beats, spoken, described, storyboard.fps)
    total_frames = storyboard.total_frames + sum(b.hold_frames for b in plan)

    # picture: each beat's frames, its last frame held for the hold
    held = work / "described-video.mp4"
    _hold_frames(movie, storyboard, plan, held, q.fps)

    # sound: narration at the shifted starts, descriptions in the pauses (in time order)
    starts = [b.start_s for b in plan]
    items = sorted(
        [(s, n) for s, n in zip(starts, spoken)]
        + [(b.description_s, d) for b, d in zip(plan, described) if b.description_s >= 0],
        key=lambda item: item[0],
    )
    mix = mix_narration(
        [n for _, n in items],
        [s for s, _ in items],
        total_frames / storyboard.fps,
        loudness_lufs=options.loudness_lufs,
        music=options.music,
    )
    wav = work / "described.wav"
    mix.export(wav, format="wav")

    captions = build_cues(list(spoken), starts)
    desc_cues = description_cues(described, [b.description_s for b in plan])
    chapters = [Chapter(c.title, c.start_s, c.end_s) for c in chapters_from_beats(plan)]
    name = stem.name + "-described"
    out = {ext: stem.with_name(f"{name}.{ext}") for ext in ("mp4", "srt", "vtt")}
    out["descriptions"] = stem.with_name(f"{name}.descriptions.vtt")
    title = vocabulary.transcript.get("described_title", "{title}").format(title=script.title)
    srt_tmp, vtt_tmp, dvtt_tmp = work / "described.srt", work / "described.vtt", work / "described.descriptions.vtt"
    write_srt(captions, srt_tmp)
    write_vtt(captions, vtt_tmp)
    write_vtt(desc_cues, dvtt_tmp)
    with outputs.atomic_output(out["mp4"]) as mp4_tmp:
        mux(held, wav, mp4_tmp, title=title, chapters=chapters, captions_srt=None, work_dir=work)
        info = probe(mp4_tmp)
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        if abs(float(video["duration"]) - total_frames / q.fps) > 1.0 / q.fps + 1e-6:
            raise RuntimeError(
                f"{out['mp4'].name}: video lasts {float(video['duration']):.3f} s, "
                f"the described plan {total_frames / q.fps:.3f} s"
            )
        sha = outputs.sha256_of(mp4_tmp)
    for key, tmp in (("srt", srt_tmp), ("vtt", vtt_tmp), ("descriptions", dvtt_tmp)):
        with outputs.atomic_output(out[key]) as t:
            shutil.copyfile(tmp, t)
    return {
        "file": out["mp4"].name,
        "sha256": sha,
        "title": title,
        "captions": {"srt": out["srt"].name, "vtt": out["vtt"].name},
        "descriptions": out["descriptions"].name,
        "duration_s": round(total_frames / q.fps, 3),
        "voice": sorted({d.source for d in described if d.sentences}),
        "beats": [
            {
                "id": b.id,
                "start_s": round(b.start_s, 3),
                "end_s": round(b.end_s, 3),
                "hold_s": round(b.hold_frames / q.fps, 3),
                "description_start_s": round(b.description_s, 3) if b.description_s >= 0 else None,
                "description_s": round(d.duration_s, 3),
            }
            for b, d in zip(plan, described)
        ],
        "chapters": [{"title": c.title, "start_s": round(c.start_s, 3), "end_s": round(c.end_s, 3)} for c in chapters],
    }


def _hold_frames(movie: Path, storyboard: Storyboard, plan: Sequence[DescribedBeat], out: Path, fps: int) -> None:
    """The silent movie with beat ``i``'s last frame held ``plan[i].hold_frames`` frames."""
    parts, labels = [], []
    for i, (beat, b) in enumerate(zip(storyboard.beats, plan)):
        chain = (
            f"[0:v]trim=start_frame={beat.start_frame}:end_frame={beat.start_frame + beat.frames},setpts=PTS-STARTPTS"
        )
        if b.hold_frames:
            chain += f",tpad=stop_mode=clone:stop={b.hold_frames}"
        parts.append(chain + f"[v{i}]")
        labels.append(f"[v{i}]")
    graph = ";".join(parts) + ";" + "".join(labels) + f"concat=n={len(labels)}:v=1:a=0,fps={fps}[out]"
    script = out.with_suffix(".filter")
    script.write_text(graph, encoding="utf-8")
    from spine.settings import settings

    encoder = settings().encoder
    cmd = [
        "-i",
        str(movie),
        "-filter_complex_script",
        str(script),
        "-map",
        "[out]",
        *encoder.reencode_args(encoder.described_preset),
        "-an",
        str(out),
    ]
    run_ffmpeg(cmd, out, lambda error: RuntimeError(f"ffmpeg could not hold the described version's frames: {error}"))
