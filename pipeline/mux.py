"""Muxing: the silent Manim movie + the narration mix + chapters -> the finished MP4.

ffmpeg copies the H.264 video stream (Manim encodes it as yuv420p), encodes the mix as
AAC, writes chapter marks from the storyboard and moves the index to the front
(``+faststart``) so players can start before the file is downloaded.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

from scenes.kit.typography import FONT_DIR, FONT_FAMILY
from spine.errors import InternalError, MissingToolError
from spine.settings import settings


class MuxError(InternalError, RuntimeError):
    """ffmpeg or ffprobe failed on a file we made."""


@dataclass(frozen=True)
class Chapter:
    title: str
    start_s: float
    end_s: float


class ChapteredBeat(Protocol):
    """A beat on the timeline as chapters need it (a storyboard's beat, a described version's)."""

    @property
    def chapter(self) -> str: ...
    @property
    def start_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...


def chapters_from_beats(beats: Iterable[ChapteredBeat]) -> list[Chapter]:
    """Consecutive beats with the same chapter title make one chapter."""
    chapters: list[Chapter] = []
    for beat in beats:
        if chapters and chapters[-1].title == beat.chapter:
            chapters[-1] = Chapter(beat.chapter, chapters[-1].start_s, beat.end_s)
        else:
            chapters.append(Chapter(beat.chapter, beat.start_s, beat.end_s))
    return chapters


def _ffmetadata(title: str, chapters: list[Chapter]) -> str:
    def esc(text: str) -> str:
        for ch in ("\\", "=", ";", "#", "\n"):
            text = text.replace(ch, "\\" + ch)
        return text

    lines = [";FFMETADATA1", f"title={esc(title)}"]
    for ch in chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(ch.start_s * 1000)}",
            f"END={round(ch.end_s * 1000)}",
            f"title={esc(ch.title)}",
        ]
    return "\n".join(lines) + "\n"


def ffmpeg_binary() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise MissingToolError("ffmpeg is not installed: run 'make video' (or apt-get install ffmpeg)")
    return exe


def ffmpeg_command() -> list[str]:
    """ffmpeg, quiet but for errors, overwriting its output: the start of every command we run."""
    return [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y"]


def run_ffmpeg(args: Sequence[str], out: Path, failure: Callable[[str], Exception]) -> None:
    """Run ``ffmpeg_command() + args`` writing ``out``.

    A full disk is ``OSError(ENOSPC)`` naming ``out`` (the CLI says so in one line); any other
    failure raises ``failure(<ffmpeg's last error line>)``.
    """
    proc = subprocess.run([*ffmpeg_command(), *args], capture_output=True, text=True)
    if proc.returncode == 0:
        return
    if "No space left on device" in proc.stderr:
        raise OSError(errno.ENOSPC, "No space left on device", str(out))
    lines = proc.stderr.strip().splitlines()
    raise failure(lines[-1] if lines else f"exit status {proc.returncode}")


def mux(
    video: Path,
    audio: Path,
    out: Path,
    *,
    title: str,
    chapters: list[Chapter],
    captions_srt: Path | None = None,
    work_dir: Path,
) -> None:
    """Write ``out`` (an MP4) from Manim's silent ``video`` and the narration ``audio`` (WAV).

    With ``captions_srt`` the captions are burnt into the picture (re-encoding the video).
    """
    encoder = settings().encoder
    meta = Path(work_dir) / "chapters.ffmeta"
    meta.write_text(_ffmetadata(title, chapters), encoding="utf-8")
    cmd = [
        "-i",
        str(video),
        "-i",
        str(audio),
        "-f",
        "ffmetadata",
        "-i",
        str(meta),
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-map_metadata",
        "2",
        "-map_chapters",
        "2",
    ]
    if captions_srt is not None:
        style = f"FontName={FONT_FAMILY},FontSize=18,Outline=2,BorderStyle=1,MarginV=24"
        srt = str(captions_srt).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
        cmd += ["-vf", f"subtitles='{srt}':fontsdir='{FONT_DIR}':force_style='{style}'", *encoder.reencode_args()]
    else:
        cmd += ["-c:v", "copy"]
    # The fast AAC coder: about 3x quicker than the default two-loop search; speech at 160k stays clean.
    cmd += [*encoder.audio_args(), "-movflags", "+faststart", "-f", "mp4", str(out)]
    run_ffmpeg(cmd, out, lambda error: MuxError(f"ffmpeg failed to mux {out.name}: {error}"))


def probe(path: Path) -> dict[str, Any]:
    """A file's streams, format and chapters, in the shape and units of ffprobe's JSON (the keys we use).

    Read with PyAV (libavformat in process: no ffprobe process per check, no JSON round trip).
    Compared with ffprobe on built videos: every stream field the same; the format's duration
    within a millisecond (ffprobe reads the movie header's rounded value)."""
    import av

    try:
        with av.open(str(path)) as container:
            streams = [_stream_facts(s) for s in container.streams]
            chapters = [
                {
                    "id": i,
                    "start_time": f"{float(ch['start'] * ch['time_base']):.6f}",  # type: ignore[operator]
                    "end_time": f"{float(ch['end'] * ch['time_base']):.6f}",  # type: ignore[operator]
                    "tags": dict(ch.get("metadata") or {}),
                }
                for i, ch in enumerate(container.chapters())
            ]
            duration = f"{container.duration / 1_000_000:.6f}" if container.duration is not None else None
            fmt = {
                "duration": duration,
                "tags": dict(container.metadata),
                "format_name": container.format.name,
                "size": str(Path(path).stat().st_size),
            }
    except (av.FFmpegError, OSError) as exc:
        raise MuxError(f"cannot read {path}: {exc}") from exc
    return {"streams": streams, "format": fmt, "chapters": chapters}


def _stream_facts(stream: Any) -> dict[str, Any]:  # an av stream (PyAV's stubs type its fields loosely)
    facts: dict[str, Any] = {
        "index": stream.index,
        "codec_type": stream.type,
        "time_base": f"{stream.time_base.numerator}/{stream.time_base.denominator}",
        "nb_frames": str(stream.frames),
        "duration": (f"{float(stream.duration * stream.time_base):.6f}" if stream.duration is not None else None),
    }
    cc = stream.codec_context
    if cc is None:  # the chapters' data track
        return facts
    facts.update(codec_name=cc.name, profile=cc.profile)
    if stream.type == "video":
        rate = stream.base_rate or stream.average_rate
        facts.update(
            width=cc.width,
            height=cc.height,
            pix_fmt=cc.pix_fmt,
            r_frame_rate=f"{rate.numerator}/{rate.denominator}" if rate else None,
        )
    elif stream.type == "audio":
        facts.update(sample_rate=str(cc.sample_rate), channels=cc.channels)
    return facts
