"""The waiting-room loop: chosen videos, each after a short branded card, in one long MP4.

The videos are not re-encoded: each part's packets are copied as they are, picture and
sound (:func:`pipeline.media.join_movies`, a PyAV remux, with the chapters). That works
because every piece shares one set of encoding parameters: the
videos are beat segments from Manim with the segment x264 settings
(:data:`pipeline.media.SEGMENT_ENCODER_OPTIONS`), and the interstitial card is rendered
by Manim with exactly those settings and muxed with the same AAC settings as a video
(48 kHz stereo, :func:`pipeline.mux.mux`). Parts whose streams differ (another quality, say)
are refused with a one-line error before anything is written.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pipeline import outputs
from spine.errors import SpineError

if TYPE_CHECKING:
    from pipeline.brand import Brand

INTERSTITIAL_S = 4.0
NEXT_WORDS = {"en": "Next", "es": "A continuación"}
# Stream facts that must match for a copy-join.
VIDEO_KEYS = ("codec_name", "profile", "width", "height", "pix_fmt", "r_frame_rate", "time_base")
AUDIO_KEYS = ("codec_name", "sample_rate", "channels")
JOINED = ("video", "audio")  # the streams of a part the loop holds


class LoopError(SpineError):
    """The loop cannot be made from these parts."""


def loop_name(quality: str, brand: Brand | None = None) -> str:
    return "-".join(["waiting-room"] + ([brand.file_slug] if brand is not None else []) + [quality]) + ".mp4"


def find_parts(
    output_dir: Path, wanted: list[str], quality: str, brand: Brand | None = None, lang: str = "en"
) -> list[dict[str, Any]]:
    """Manifest entries for ``wanted`` (file stems, or video names at ``quality``/brand/lang), in that order."""
    manifest = outputs.read_manifest(output_dir)["videos"]
    slug = brand.file_slug if brand is not None else None
    parts: list[dict[str, Any]] = []
    for item in wanted:
        exact = [e for e in manifest if Path(str(e.get("file"))).stem == item]
        if not exact:
            exact = []
            for e in manifest:
                sidecar = _sidecar(output_dir, e)
                entry_slug = (
                    (sidecar.get("brand") or {}).get("slug") if isinstance(sidecar.get("brand"), dict) else None
                )
                if (
                    e.get("video") == item
                    and e.get("quality") == quality
                    and (e.get("lang") or "en") == lang
                    and entry_slug == slug
                ):
                    exact.append(e)
        exact = [e for e in exact if (Path(output_dir) / str(e["file"])).is_file()]
        if not exact:
            hint = f"render.py render {item} --quality {quality}" + (" --brand …" if brand is not None else "")
            raise LoopError(
                f"'{item}' is not built in {output_dir} at {quality}"
                f"{' with brand ' + slug if slug else ''}; build it first ({hint})"
            )
        parts.extend(sorted(exact, key=lambda e: e["file"]))
    return parts


def _sidecar(output_dir: Path, entry: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads((Path(output_dir) / Path(str(entry["file"])).with_suffix(".json").name).read_text())
    except (OSError, ValueError, KeyError):
        return {}


def stream_facts(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from pipeline.mux import probe

    info = probe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    return {k: video.get(k) for k in VIDEO_KEYS}, {k: audio.get(k) for k in AUDIO_KEYS}


def render_interstitial(
    next_title: str, brand: Brand | None, quality: str, out: Path, work: Path, lang: str = "en"
) -> Path:
    """A silent-sound MP4 card (``INTERSTITIAL_S`` long) encoded as the videos' segments are."""
    from manim import tempconfig

    from pipeline.media import manim_settings
    from pipeline.mux import run_ffmpeg
    from scenes.interstitial import InterstitialScene

    settings = manim_settings(quality, work)
    fps = settings["frame_rate"]
    frames = round(INTERSTITIAL_S * fps)
    with tempconfig(settings):
        scene = InterstitialScene(
            next_title,
            brand.scene_context() if brand is not None else None,
            INTERSTITIAL_S,
            NEXT_WORDS.get(lang, NEXT_WORDS["en"]),
        )
        scene.render()
        movie = Path(scene.renderer.file_writer.movie_file_path)
    from spine.settings import settings as spine_settings

    encoder = spine_settings().encoder
    cmd = [
        "-i",
        str(movie),
        # silence exactly as long as the picture (the MP4's edit list trims the AAC padding)
        "-f",
        "lavfi",
        "-t",
        f"{frames / fps:.6f}",
        "-i",
        f"anullsrc=channel_layout=stereo:sample_rate={encoder.audio_rate}",
        *("-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"),
        *encoder.audio_args(),
        *("-movflags", "+faststart", str(out)),
    ]
    run_ffmpeg(cmd, out, lambda error: LoopError(f"ffmpeg could not mux the interstitial: {error}"))
    return out


def make_loop(
    output_dir: Path,
    wanted: list[str],
    quality: str,
    brand: Brand | None = None,
    lang: str = "en",
    progress: Callable[[str], None] = lambda msg: None,
) -> Path:
    """Write ``waiting-room[-<brand>]-<quality>.mp4`` (and its ``.json``) in ``output_dir``."""
    from pipeline.media import join_movies, movie_length
    from pipeline.player import Chapter

    output_dir = outputs.ensure_writable_dir(Path(output_dir))
    parts = find_parts(output_dir, wanted, quality, brand, lang)
    files = [output_dir / str(p["file"]) for p in parts]
    facts = [stream_facts(f) for f in files]
    for f, fact in zip(files[1:], facts[1:], strict=True):
        if fact != facts[0]:
            raise LoopError(
                f"{f.name} is encoded differently from {files[0].name} ({fact} vs {facts[0]}); "
                "loop videos of one quality"
            )
    final = output_dir / loop_name(quality, brand)
    with tempfile.TemporaryDirectory(prefix="spine-loop-") as tmp:
        work = Path(tmp)
        pieces: list[Path] = []
        for i, (part, f) in enumerate(zip(parts, files)):
            progress(f"interstitial {i + 1}/{len(parts)}: next, {part.get('title')}")
            card = render_interstitial(
                str(part.get("title") or f.stem), brand, quality, work / f"card-{i}.mp4", work / f"manim-{i}", lang
            )
            if stream_facts(card) != facts[0]:
                raise LoopError(
                    f"the interstitial is encoded differently from {f.name} "
                    f"({stream_facts(card)} vs {facts[0]}); this is a bug"
                )
            pieces += [card, f]
        durations = [movie_length(p, JOINED) for p in pieces]
        start = 0.0
        timeline: list[dict[str, Any]] = []
        chapters: list[Chapter] = []
        for i, (piece, seconds) in enumerate(zip(pieces, durations)):
            timeline.append(
                {
                    "file": piece.name if piece.parent == output_dir else "interstitial",
                    "start_s": round(start, 3),
                    "duration_s": round(seconds, 3),
                }
            )
            if i % 2 == 0:  # one chapter per video, from its card to its end
                chapters.append(
                    Chapter(str(parts[i // 2].get("title") or piece.stem), start, start + seconds + durations[i + 1])
                )
            start += seconds
        progress(f"joining {len(pieces)} pieces without re-encoding")
        with outputs.atomic_output(final) as tmp_out:
            try:
                join_movies(pieces, tmp_out, kinds=JOINED, title="Waiting-room loop", chapters=chapters, faststart=True)
            except RuntimeError as exc:
                raise LoopError(f"could not join the loop: {exc}") from exc
    outputs.write_json_atomic(
        final.with_suffix(".json"),
        {
            "file": final.name,
            "quality": quality,
            "brand": brand.file_slug if brand is not None else None,
            "parts": [p["file"] for p in parts],
            "interstitial_s": INTERSTITIAL_S,
            "timeline": timeline,
            "sha256": outputs.sha256_of(final),
        },
    )
    return final
