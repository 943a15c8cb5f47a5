"""Media: how beat segments are encoded, joined and checked.

Manim's settings for a silent render (:func:`manim_settings`, with the x264 options of every
segment), the join of H.264 movies without re-encoding (:func:`join_movies`, a PyAV remux;
:func:`concat_movies` for beat segments: a segmented or split render is frame-identical to a
straight one) and the frame-count check of a segment (:func:`segment_problem`).
"""

from __future__ import annotations

import errno
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from spine.settings import EncoderSettings

if TYPE_CHECKING:
    from pipeline.player import Chapter


# x264 preset of beat segments at preview sizes (<= 480 lines): a third of the encoding time of the
# default "medium", files about a sixth larger at crf 23 (spine.settings.EncoderSettings.small_preset).
# Larger qualities keep "medium" (what the final MP4 holds).
PREVIEW_PRESET = EncoderSettings().small_preset
#: x264 settings of every beat segment (the joined video is these segments, not re-encoded).
#: - A fixed number of encoder threads (2): x264's decisions depend on its thread count, never on
#:   the machine's when the count is given, so a beat drawn by any worker (or cluster machine)
#:   decodes to the same frames. Two threads let one render process keep two cores busy (the
#:   drawing thread and x264's two frame threads): a 1080p overview drew and encoded with one
#:   process in about 80 % of the CPU seconds of two processes with one x264 thread each,
#:   which each loaded the scene and fast-forwarded to their range.
#: - No macroblock tree: with it, x264 read memory it had not written when a short segment
#:   ended inside its lookahead, so the same frames encoded in another process decoded to
#:   slightly different pictures now and then (seen in the transform of the overview's
#:   'example' beat: 3 different results in 6 runs; 16 of 16 the same without it). The cost:
#:   about 20 % more bytes at the same crf (that beat's 1.6 s transform at 108p and 480p).
#: With both, a beat's partial movies came out byte-identical in every process tried; the tests
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
        # one sealed animation's movie is written while the next one draws (pipeline/scene_writer.py)
        "max_inflight_encoders": 2,
        "max_files_cached": -1,  # a beat's partial movies are ours to join: Manim must not prune them (it kept 100)
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


def default_render_jobs() -> int:
    """Processes ``render`` draws one video's beats with when neither ``-j`` nor
    ``SPINE_RENDER_JOBS`` says: the cores this process may use, shared by each process's x264
    threads (2 cores and 2 encoder threads: one process, drawing beside its encoder)."""
    import os

    from spine.settings import settings

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not every system has CPU affinity
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, settings().encoder.threads))


def settings_token(quality: str) -> dict[str, Any]:
    settings = manim_settings(quality, Path("/work"))
    settings.pop("media_dir")
    return settings


def concat_movies(parts: Sequence[Path], out: Path) -> None:
    """Join the H.264 movies ``parts`` end to end into ``out`` (video only; no re-encode)."""
    join_movies(parts, out, kinds=("video",))


def join_movies(
    parts: Sequence[Path],
    out: Path,
    *,
    kinds: Sequence[str] = ("video",),
    title: str | None = None,
    chapters: Sequence[Chapter] = (),
    faststart: bool = False,
) -> list[float]:
    """Write ``out`` (MP4): the first ``kinds`` stream of each part, end to end, packets copied.

    A PyAV remux (libavformat in process): each part's packets are copied into one output
    stream per kind, their timestamps shifted by the parts before (each part lasts as long as
    its longest stream: :class:`_PartEnd`, :func:`movie_length`). Nothing is decoded or encoded, so the joined picture is the parts'
    frames exactly; every part must be encoded as the first (same codec and parameters).
    Packets that end before a later part's start are left out: an AAC track's priming frame,
    which the part's edit list hides and which would overlap the part before. ``title`` and
    ``chapters`` go into the MP4; ``faststart`` moves its index to the
    front. Returns where each part starts (seconds). A full disk is ``OSError(ENOSPC)`` naming
    ``out``; any other failure a ``RuntimeError``.
    """
    import av

    if not parts:
        raise RuntimeError("nothing to join")
    starts: list[float] = []
    try:
        with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"} if faststart else {}) as output:
            if title is not None:
                output.metadata["title"] = title
            if chapters:
                output.set_chapters(
                    [
                        {
                            "id": i + 1,
                            "start": round(c.start_s * 1000),
                            "end": round(c.end_s * 1000),
                            "time_base": Fraction(1, 1000),
                            "metadata": {"title": c.title},
                        }
                        for i, c in enumerate(chapters)
                    ]
                )
            targets: list[Any] = []
            first: list[tuple[Any, ...]] = []
            last_dts: dict[int, int] = {}
            offset = Fraction(0)
            for number, part in enumerate(parts):
                starts.append(float(offset))
                with av.open(str(part)) as source:
                    sources = [_first_stream(source, kind, part) for kind in kinds]
                    if not targets:
                        targets = [output.add_stream_from_template(s) for s in sources]
                        first = [_codec_facts(s) for s in sources]
                        output.start_encoding()  # the header: the output streams' time bases are final
                    elif [_codec_facts(s) for s in sources] != first:
                        raise RuntimeError(f"{part.name} is encoded differently from {parts[0].name}")
                    target_of = {s.index: t for s, t in zip(sources, targets, strict=True)}
                    begin, end = _start_of(source), _PartEnd(sources)
                    shift = offset - begin  # the part's start (as its container says) goes to offset
                    for packet in source.demux(sources):
                        if packet.dts is None or packet.pts is None or packet.time_base is None:
                            continue  # the empty packet that ends each stream
                        base, length = packet.time_base, packet.duration or 0
                        if number and (packet.pts + length) * base <= begin:
                            continue  # a priming frame (before the part's start)
                        end.add(packet.pts, length, base)
                        target = target_of[packet.stream.index]
                        unit = target.time_base
                        pts = round((shift + packet.pts * base) / unit)
                        dts = round((shift + packet.dts * base) / unit)
                        # A part's first frames may decode before the last one before it is shown
                        # (B-frames); their decode times then step just past the part before's.
                        dts = max(dts, last_dts.get(target.index, dts - 1) + 1)
                        if dts > pts:
                            raise RuntimeError(f"{part.name}: its frames cannot follow the part before")
                        packet.stream = target
                        packet.time_base = unit
                        packet.pts, packet.dts, packet.duration = pts, dts, round(length * base / unit)
                        last_dts[target.index] = dts
                        output.mux(packet)
                    offset += end.seconds - begin
    except (av.FFmpegError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ENOSPC:
            raise OSError(errno.ENOSPC, "No space left on device", str(out)) from exc
        raise RuntimeError(f"could not join {len(parts)} movies into {Path(out).name}: {exc}") from exc
    return starts


def movie_length(path: Path, kinds: Sequence[str] = ("video",)) -> float:
    """Seconds from ``path``'s start to the end of its longest ``kinds`` stream: how long
    :func:`join_movies` takes it to last (where the next part starts)."""
    import av

    with av.open(str(path)) as source:
        streams = [_first_stream(source, kind, path) for kind in kinds]
        begin, end = _start_of(source), _PartEnd(streams)
        for packet in source.demux(streams):
            if packet.pts is not None and packet.time_base is not None:
                end.add(packet.pts, packet.duration or 0, packet.time_base)
    return float(end.seconds - begin)


def _start_of(container: Any) -> Fraction:
    """Where a movie starts, in seconds, as its container says (0 for ours; an AAC track's hidden
    priming frame before it does not count): the joins pack each part from there, as ffmpeg's
    concat demuxer did."""
    return Fraction(container.start_time or 0, 1_000_000)  # AV_TIME_BASE units


class _PartEnd:
    """Where a part ends as :func:`join_movies` counts it (seconds from its start): where its
    container says its streams end (what a player shows: start plus duration, an AAC track's
    hidden priming and padding left out), else where its last packets end; and never before its
    last frame is shown. A packet's own duration is not enough: in an MP4 it is the step to the
    next decode time, which B-frames and an earlier join may make longer than the frame is shown."""

    def __init__(self, streams: Sequence[Any]) -> None:
        declared = [
            (Fraction(s.start_time or 0) + s.duration) * s.time_base
            for s in streams
            if s.duration is not None and s.time_base is not None
        ]
        self.seconds = max(declared, default=Fraction(0))
        self.from_packets = len(declared) < len(streams)

    def add(self, pts: int, length: int, base: Fraction) -> None:
        self.seconds = max(self.seconds, (pts + (max(length, 1) if self.from_packets else 1)) * base)


def _codec_facts(stream: Any) -> tuple[Any, ...]:
    """What must match for packets of one stream to follow another's: codec, size, parameters."""
    cc = stream.codec_context
    return (cc.name, stream.type, getattr(cc, "width", None), getattr(cc, "height", None), bytes(cc.extradata or b""))


def _first_stream(container: Any, kind: str, path: Path) -> Any:  # PyAV's containers and streams
    streams = [s for s in container.streams if s.type == kind]
    if not streams:
        raise RuntimeError(f"{path.name} has no {kind} stream to join")
    return streams[0]


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
