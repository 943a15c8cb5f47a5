"""Media: how beat segments are encoded, joined and checked.

Manim's settings for a silent render (:func:`manim_settings`, with the x264 options of every
segment), the concat of H.264 movies without re-encoding (:func:`concat_movies`: a segmented
or split render is frame-identical to a straight one) and the frame-count check of a segment
(:func:`segment_problem`).
"""

from __future__ import annotations

import errno
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence

from spine.settings import EncoderSettings


# x264 preset of beat segments at preview sizes (<= 480 lines): half the encoding time of the
# default "medium", files no larger at crf 23. Larger qualities keep "medium" (what the final MP4 holds).
PREVIEW_PRESET = EncoderSettings().small_preset
#: x264 settings of every beat segment (the joined video is these segments, not re-encoded).
#: - One encoder thread: x264's decisions then do not depend on the machine's core count, so
#:   a beat drawn by any worker (or cluster machine) decodes to the same frames.
#: - No macroblock tree: with it, x264 read memory it had not written when a short segment
#:   ended inside its lookahead, so the same frames encoded in another process decoded to
#:   slightly different pictures now and then (seen in the transform of the overview's
#:   'example' beat: 3 different results in 6 runs; 16 of 16 the same without it). The cost:
#:   about 20 % more bytes at the same crf (that beat's 1.6 s transform at 108p and 480p).
#: With both, a beat's partial movies came out byte-identical in 6 of 6 processes; the tests
#: still compare decoded frames (framemd5).
#: The numbers live in spine/settings.py (EncoderSettings); this is the default, for reference.
SEGMENT_ENCODER_OPTIONS = EncoderSettings().segment_options(10_000)


def manim_settings(quality: str, work_dir: Path) -> dict[str, Any]:
    """Manim's config for a silent render of ``quality`` into ``work_dir`` (one home for these)."""
    from pipeline.quality import QUALITIES
    from spine.settings import settings

    q = QUALITIES[quality]
    return {
        "pixel_width": q.width,
        "pixel_height": q.height,
        "frame_rate": q.fps,
        "frame_height": 8.0,
        "frame_width": 8.0 * q.width / q.height,
        "media_dir": str(Path(work_dir) / "media"),
        "output_file": "frames",
        "disable_caching": True,
        "progress_bar": "none",
        "verbosity": "WARNING",
        "write_to_movie": True,
        "format": "mp4",
        "preview": False,
        "save_last_frame": False,
        "video_codec": "libx264",
        "pixel_format": "yuv420p",
        "video_encoder_options": settings().encoder.segment_options(q.height),
    }


def settings_token(quality: str) -> dict[str, Any]:
    settings = manim_settings(quality, Path("/work"))
    settings.pop("media_dir")
    return settings


def concat_movies(parts: Sequence[Path], out: Path, work_dir: Path) -> None:
    """Join H.264 movies end to end with ffmpeg's concat demuxer, copying the stream (no re-encode)."""
    from pipeline.mux import ffmpeg_command

    if not parts:
        raise RuntimeError("nothing to join")
    listing = Path(tempfile.mkstemp(prefix="concat-", suffix=".txt", dir=work_dir)[1])
    listing.write_text(
        "".join(f"file '{str(p).replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n" for p in parts)
    )
    cmd = [
        *ffmpeg_command(),
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(listing),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-an",
        "-f",
        "mp4",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    listing.unlink(missing_ok=True)
    if proc.returncode != 0 and "No space left on device" in proc.stderr:
        raise OSError(errno.ENOSPC, "No space left on device", str(out))
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not join {len(parts)} segments: {proc.stderr.strip()[-500:]}")


def segment_problem(path: Path, frames: int, decode: bool = False) -> str | None:
    """None if ``path`` is an H.264 movie of exactly ``frames`` frames; else what is wrong.

    The frames are counted from the container's packets. With ``decode`` (when a segment is
    made, before its checksum is written, and before every join) its key frames are decoded
    too: decoding every frame took about as long as drawing it at 1080p (26 fps on this
    machine); key frames alone prove the stream and its parameters decode, the packet count
    and the checksum the rest.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "has no video stream"
            count = sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)
        if count == frames and decode:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                stream.codec_context.skip_frame = "NONKEY"
                if not any(True for _ in container.decode(stream)):
                    return "has no key frame that decodes"
    except (av.FFmpegError, OSError, ValueError) as exc:
        return f"cannot be decoded ({type(exc).__name__}: {str(exc)[:80]})"
    if count != frames:
        return f"holds {count} frames, its beat has {frames}"
    return None


def frame_md5s(path: Path) -> list[str]:
    """The md5 of every decoded video frame of ``path``, in order (ffmpeg's framemd5): what
    "the same frames" means in the tests and the benchmarks."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]
