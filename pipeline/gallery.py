"""The review gallery: ``output/index.html`` over every video in the manifest.

The page is static and self-contained (its CSS, script and search data are inlined) and
links only to files beside it by relative name, so it works opened from disk (file://)
and served by any static server. For every video listed in ``manifest.json`` the gallery
adds two derived files beside the MP4, each written atomically and only when needed:

* ``<stem>.poster.png``: one frame from a meaningful beat (the middle of the needle or
  confirmation beat, else the middle of the video), never a blank frame; the PNG records
  the MP4's sha256 and is taken again only when that changes;
* ``<stem>.txt``: a plain-text transcript from the sidecar's beats, grouped by chapter.

Data flows one way: manifest + sidecars + MP4s -> posters, transcripts -> page.
"""

from __future__ import annotations

import json
import logging
import re
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pipeline import outputs
from pipeline.player import Chapter, format_clock

if TYPE_CHECKING:
    import datetime as _dt

    from PIL.Image import Image

    from pipeline.brand import Brand

log = logging.getLogger(__name__)

INDEX_NAME = "index.html"
POSTER_SUFFIX = ".poster.png"
TRANSCRIPT_SUFFIX = ".txt"
POSTER_MAX_WIDTH = 960
# The poster is taken from the middle of the first beat of the first of these chapters
# the video has; otherwise from the middle of the video.
POSTER_CHAPTERS = ("The needle", "Confirmation")
POSTER_SHA_KEY = "source-sha256"  # PNG text chunk: the MP4 the poster was taken from

# The spine's regions, top to bottom, by the letter a level name starts with.
REGIONS = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}
LANGUAGE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
}
BUILD_HINTS = ("make video", "python render.py render overview --quality preview")


@dataclass
class GalleryVideo:
    """One playable video on the page, with everything the template shows."""

    file: str
    title: str
    video: str | None
    procedure: str | None
    level: str | None
    side: str | None
    quality: str | None
    lang: str
    duration_s: float | None
    built_at: str | None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    size_bytes: int = 0
    captions_vtt: str | None = None
    captions_srt: str | None = None
    sidecar: str | None = None
    transcript: str | None = None
    poster: str | None = None
    chapters: list[Chapter] = field(default_factory=list)
    narration: str = ""
    vtt_text: str = ""
    # publishing: the medical review the video shows, its brand, handouts and player page
    review_line: str = "Not yet medically reviewed"
    reviewed_by: str | None = None
    next_review: str | None = None
    review_overdue: bool = False
    brand_name: str | None = None
    brand_colour: str | None = None
    handouts: list[tuple[str, str]] = field(default_factory=list)  # (paper label, file)
    player: str | None = None
    embed: str = ""
    # accessibility (pipeline/described.py): descriptions track, transcript page, described version
    descriptions_vtt: str | None = None
    transcript_html: str | None = None
    described_file: str | None = None
    described_captions_vtt: str | None = None
    described_descriptions_vtt: str | None = None

    @property
    def stem(self) -> str:
        return Path(self.file).stem

    @property
    def region(self) -> str | None:
        return region_of(self.level)

    @property
    def duration_label(self) -> str:
        return format_clock(self.duration_s) if self.duration_s else "unknown"

    @property
    def built_label(self) -> str:
        return format_built(self.built_at)

    @property
    def language_label(self) -> str:
        return LANGUAGE_NAMES.get(self.lang, self.lang)

    @property
    def procedure_label(self) -> str | None:
        return procedure_label(self.procedure)

    @property
    def size_label(self) -> str:
        if self.size_bytes < 1_000_000:
            return f"{max(1, round(self.size_bytes / 1000))} kB"
        return f"{self.size_bytes / 1e6:.1f} MB"

    def search_text(self) -> str:
        parts = [
            self.title,
            self.procedure_label or "",
            self.level or "",
            self.region or "",
            self.side or "",
            " ".join(c.title for c in self.chapters),
            self.narration,
        ]
        return " ".join(p for p in parts if p)


@dataclass
class Gallery:
    output_dir: Path
    videos: list[GalleryVideo]
    missing: list[str] = field(default_factory=list)  # manifest entries whose MP4 is gone
    brand: dict | None = None  # the page's brand (render.py gallery --brand), with the logo inlined

    @property
    def overdue(self) -> list[GalleryVideo]:
        return [v for v in self.videos if v.review_overdue]


def review_fields(review: Any, today: _dt.date | None = None) -> dict[str, Any]:
    """The sidecar's review record as the gallery shows it; overdue is judged today, not at build time."""
    import datetime as _dt

    if not isinstance(review, dict):
        return {}
    fields: dict[str, object] = {"review_line": str(review.get("line") or "Not yet medically reviewed")}
    reviewed = review.get("reviewed") if isinstance(review.get("reviewed"), dict) else None
    if reviewed:
        fields["reviewed_by"] = str(reviewed.get("by") or "")
        fields["next_review"] = review.get("next_review")
        try:
            due = _dt.date.fromisoformat(str(review.get("next_review")))
            fields["review_overdue"] = (today or _dt.date.today()) > due
        except ValueError:
            fields["review_overdue"] = True  # a review without a readable due date is treated as due
    return fields


# ---------------------------------------------------------------- small pure helpers


def region_of(level: str | None) -> str | None:
    """``"L4-L5"`` -> ``"lumbar"``; the region of a junction is that of its upper bone."""
    if not level:
        return None
    return REGIONS.get(level.strip()[:1].upper())


def level_sort_key(level: str) -> tuple:
    """Top to bottom: C1 … C7-T1 … T12-L1 … L5-S1 … S1."""
    letters = list(REGIONS)
    match = re.match(r"([A-Za-z])(\d+)", level)
    if not match:
        return (len(letters), 0, level)
    letter, number = match.group(1).upper(), int(match.group(2))
    return (letters.index(letter) if letter in letters else len(letters), number, level)


def procedure_label(procedure: str | None) -> str | None:
    """Show a slug such as ``transforaminal-epidural`` as words; leave names alone."""
    if not procedure:
        return None
    if " " not in procedure and re.search(r"[-_]", procedure):
        words = re.sub(r"[-_]+", " ", procedure).strip()
        return words[:1].upper() + words[1:]
    return procedure


def format_built(built_at: str | None) -> str:
    if not built_at:
        return "unknown"
    try:
        stamp = datetime.fromisoformat(built_at)
    except ValueError:
        return built_at
    offset = stamp.utcoffset()
    if offset is not None and offset.total_seconds() == 0:
        return stamp.strftime("%Y-%m-%d %H:%M UTC")
    return stamp.strftime("%Y-%m-%d %H:%M")


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def timed(items: Any) -> list[dict[str, Any]]:
    """The sidecar's beats or chapters that have a start and an end (others are ignored)."""
    good = []
    for item in items if isinstance(items, list) else []:
        try:
            if isinstance(item, dict) and float(item["end_s"]) >= float(item["start_s"]) >= 0:
                good.append(item)
        except (KeyError, TypeError, ValueError):
            continue
    return good


def poster_times(beats: list[dict], duration_s: float | None) -> list[float]:
    """Where to look for a poster frame, best first (seconds, deduplicated); ``beats`` are timed."""
    times: list[float] = []
    wanted = [c.casefold() for c in POSTER_CHAPTERS]
    for chapter in wanted:
        for beat in beats:
            if str(beat.get("chapter", "")).casefold() == chapter:
                times.append((float(beat["start_s"]) + float(beat["end_s"])) / 2)
                break
    duration = duration_s or (float(beats[-1]["end_s"]) if beats else None)
    if duration:
        times += [duration / 2, duration / 3, duration * 2 / 3]
        # and the middle of every other beat, nearest the middle of the video first
        middles = [(float(b["start_s"]) + float(b["end_s"])) / 2 for b in beats]
        times += sorted(middles, key=lambda t: abs(t - duration / 2))
    else:
        times.append(1.0)
    seen: list[float] = []
    for t in times:
        t = round(max(0.0, t), 3)
        if all(abs(t - s) > 0.05 for s in seen):
            seen.append(t)
    return seen


def transcript_text(title: str, file: str, beats: list[dict]) -> str:
    """Plain text: the title, then each chapter with its start time and its beats' words."""
    lines = [title, f"Transcript of {file}", ""]
    chapter = None
    for beat in beats:
        if beat.get("chapter") != chapter:
            chapter = beat.get("chapter")
            if lines[-1] != "":
                lines.append("")
            lines.append(f"[{format_clock(beat.get('start_s', 0.0), position=True)}] {chapter}")
        lines.append(textwrap.fill(_clean(beat.get("text", "")), width=80))
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- files beside the videos


def frame_at(mp4: Path, seconds: float) -> Image | None:
    """The frame on screen at ``seconds`` in ``mp4`` (the first shown at or after it), at most
    ``POSTER_MAX_WIDTH`` wide; None if there is none or the file cannot be read.

    Read with PyAV in process: a seek to the key frame before ``seconds``, then decoding up to
    it (what ``ffmpeg -ss`` did), scaled as its ``scale=min(960,iw):-2`` was (swscale, bicubic).
    """
    import av

    try:
        with av.open(str(mp4)) as container:
            stream = container.streams.video[0]
            if stream.time_base is not None:
                container.seek(max(0, int(seconds / stream.time_base)), stream=stream)
            for frame in container.decode(stream):
                if frame.time is None or frame.time < seconds - 1e-6:
                    continue
                width = min(POSTER_MAX_WIDTH, frame.width)
                height = max(2, round(frame.height * width / frame.width / 2) * 2)
                return frame.reformat(width=width, height=height, format="rgb24", interpolation="BICUBIC").to_image()
    except (av.FFmpegError, OSError, IndexError):
        return None
    return None


def frame_is_blank(image: Image) -> bool:
    """True for a black or single-colour frame (a fade, a cut, an empty first frame)."""
    from PIL import ImageStat

    grey = image.convert("L")
    low, high = cast("tuple[int, int]", grey.getextrema())  # one band: (lowest, highest)
    return high - low < 24 or ImageStat.Stat(grey).mean[0] < 8


def poster_source_sha(poster: Path) -> str | None:
    from PIL import Image

    try:
        with Image.open(poster) as image:
            return image.text.get(POSTER_SHA_KEY)  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return None


def ensure_poster(mp4: Path, sha256: str, times: list[float]) -> Path | None:
    """``<stem>.poster.png`` for ``mp4``: kept if taken from this very MP4, else taken again.

    Tries ``times`` in order and keeps the first frame that is not blank; returns None
    (and logs why) if no frame could be taken.
    """
    from PIL.PngImagePlugin import PngInfo

    poster = mp4.with_name(mp4.stem + POSTER_SUFFIX)
    if poster.exists() and poster_source_sha(poster) == sha256:
        return poster
    for t in times:
        image = frame_at(mp4, t)
        if image is None or frame_is_blank(image):
            continue
        info = PngInfo()
        info.add_text(POSTER_SHA_KEY, sha256)
        info.add_text("source-time-s", f"{t:.3f}")
        with outputs.atomic_output(poster) as out:
            image.save(out, format="PNG", pnginfo=info, optimize=True)
        return poster
    log.warning("%s: no poster: no frame at %s s could be decoded that is not blank", mp4.name, times[:3])
    return None


def _dict_of(value: Any) -> dict:
    """``value`` if it is a mapping (a sidecar's field), else an empty one."""
    return value if isinstance(value, dict) else {}


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _existing(directory: Path, name: str | None) -> str | None:
    if not name:
        return None
    name = Path(name).name
    return name if (directory / name).is_file() else None


# ---------------------------------------------------------------- the gallery


def collect(output_dir: Path) -> Gallery:
    """Read the manifest and sidecars; make missing or stale posters and transcripts."""
    output_dir = Path(output_dir)
    videos: list[GalleryVideo] = []
    missing: list[str] = []
    for entry in outputs.read_manifest(output_dir)["videos"]:
        if not isinstance(entry, dict) or not entry.get("file"):
            continue
        file = Path(str(entry["file"])).name
        mp4 = output_dir / file
        if not mp4.is_file():
            missing.append(file)
            continue
        sidecar_name = _existing(output_dir, entry.get("sidecar") or Path(file).with_suffix(".json").name)
        sidecar = _read_json(output_dir / sidecar_name) if sidecar_name else {}
        merged: dict[str, Any] = {**sidecar, **{k: v for k, v in entry.items() if v is not None}}
        captions = _dict_of(merged.get("captions"))
        beats = timed(sidecar.get("beats"))
        chapters = [
            Chapter(str(c.get("title") or "Untitled"), float(c["start_s"]), float(c["end_s"]))
            for c in timed(sidecar.get("chapters"))
        ]
        duration = merged.get("duration_s")
        video = GalleryVideo(
            file=file,
            title=str(merged.get("title") or Path(file).stem),
            video=merged.get("video"),
            procedure=merged.get("procedure"),
            level=merged.get("level"),
            side=merged.get("side"),
            quality=merged.get("quality"),
            lang=str(merged.get("lang") or "en"),
            duration_s=float(duration) if duration else None,
            built_at=merged.get("built_at"),
            width=merged.get("width"),
            height=merged.get("height"),
            fps=merged.get("fps"),
            size_bytes=mp4.stat().st_size,
            captions_vtt=_existing(output_dir, captions.get("vtt")),
            captions_srt=_existing(output_dir, captions.get("srt")),
            sidecar=sidecar_name,
            chapters=chapters,
            narration=" ".join(_clean(b.get("text", "")) for b in beats),
        )
        for key, value in review_fields(sidecar.get("review")).items():
            setattr(video, key, value)
        brand = sidecar.get("brand") if isinstance(sidecar.get("brand"), dict) else None
        if brand:
            video.brand_name, video.brand_colour = brand.get("name"), brand.get("primary")
        video.handouts = [
            (label, name)
            for label, name in (("A4", f"{mp4.stem}.handout-a4.pdf"), ("Letter", f"{mp4.stem}.handout-letter.pdf"))
            if (output_dir / name).is_file()
        ]
        video.descriptions_vtt = _existing(output_dir, merged.get("descriptions"))
        transcripts = _dict_of(merged.get("transcript"))
        video.transcript_html = _existing(output_dir, transcripts.get("html"))
        described = _dict_of(merged.get("described"))
        video.described_file = _existing(output_dir, described.get("file"))
        if video.described_file:
            video.described_captions_vtt = _existing(output_dir, (described.get("captions") or {}).get("vtt"))
            video.described_descriptions_vtt = _existing(output_dir, described.get("descriptions"))
        if video.captions_vtt:
            video.vtt_text = (output_dir / video.captions_vtt).read_text(encoding="utf-8", errors="replace")
        if beats:
            transcript = mp4.with_suffix(TRANSCRIPT_SUFFIX)
            outputs.write_text_if_changed(transcript, transcript_text(video.title, file, beats))
            video.transcript = transcript.name
        sha = str(merged.get("sha256") or outputs.sha256_of(mp4))
        poster = ensure_poster(mp4, sha, poster_times(beats, video.duration_s))
        video.poster = poster.name if poster else None
        from pipeline.player import embed_snippet, write_player

        video.player = f"player/{write_player(output_dir, video).name}"
        video.embed = embed_snippet(video)
        videos.append(video)
    videos.sort(key=_display_order)
    return Gallery(output_dir, videos, missing)


def _display_order(v: GalleryVideo) -> tuple:
    """General videos first (overview, atlas), then procedures by name, level and side."""
    return (
        v.procedure is not None,
        v.level is not None,
        (v.procedure_label or "").casefold(),
        v.video or "",
        level_sort_key(v.level) if v.level else (),
        v.side or "",
        v.lang,
        v.quality or "",
        v.file,
    )


def _filter_options(videos: list[GalleryVideo]) -> dict:
    procedures = sorted(
        {v.procedure for v in videos if v.procedure}, key=lambda p: (procedure_label(str(p)) or "").casefold()
    )
    regions = [r for r in REGIONS.values() if any(v.region == r for v in videos)]
    levels = sorted({v.level for v in videos if v.level}, key=level_sort_key)
    level_groups = [(r.capitalize(), [lv for lv in levels if region_of(lv) == r]) for r in regions]
    return {
        "procedures": [(p, procedure_label(p)) for p in procedures],
        "regions": [(r, r.capitalize()) for r in regions],
        "level_groups": [(name, lvs) for name, lvs in level_groups if lvs],
        "other_levels": [lv for lv in levels if region_of(lv) is None],
        # the catalog builds every video in English and Spanish: a language filter once there are two
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in sorted({v.lang for v in videos})],
    }


def _script_json(data: Any) -> str:
    """JSON safe to place inside <script type="application/json">."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(gallery: Gallery) -> str:
    from markupsafe import Markup

    from pipeline.templates import html_templates, inline

    data = {"videos": [{"id": v.stem, "search": v.search_text(), "vtt": v.vtt_text} for v in gallery.videos]}
    return (
        html_templates()
        .get_template("index.html.j2")
        .render(
            videos=gallery.videos,
            missing=gallery.missing,
            overdue=gallery.overdue,
            brand=gallery.brand,
            filters=_filter_options(gallery.videos),
            build_hints=BUILD_HINTS,
            css=inline("gallery.css"),
            js=inline("gallery.js"),
            data_json=Markup(_script_json(data)),
        )
    )


def collect_reviews(output_dir: Path) -> list[tuple[str, bool]]:
    """(file, overdue) of every video in the manifest, from its sidecar (no posters made)."""
    found = []
    for entry in outputs.read_manifest(Path(output_dir))["videos"]:
        if isinstance(entry, dict) and entry.get("file"):
            sidecar = _read_json(Path(output_dir) / Path(str(entry["file"])).with_suffix(".json").name)
            found.append((str(entry["file"]), bool(review_fields(sidecar.get("review")).get("review_overdue"))))
    return found


def brand_for_page(brand: Brand | None) -> dict[str, Any] | None:
    """A brand profile as the gallery's header shows it (logo inlined, so nothing is fetched)."""
    import base64

    if brand is None:
        return None
    mime = "image/svg+xml" if brand.logo.suffix.lower() == ".svg" else "image/png"
    return {
        "name": brand.name,
        "physician": brand.physician,
        "contact": brand.contact,
        "primary": brand.colours.primary,
        "secondary": brand.colours.secondary,
        "logo": f"data:{mime};base64,{base64.b64encode(brand.logo.read_bytes()).decode('ascii')}",
    }


def write_gallery(output_dir: Path, brand: Brand | None = None) -> Path:
    """Write ``<output_dir>/index.html`` (atomically), the posters and transcripts it shows and
    a player page per video (``player/<stem>.html``); ``brand`` (a brand profile) styles the header."""
    output_dir = outputs.ensure_writable_dir(Path(output_dir))
    gallery = collect(output_dir)
    gallery.brand = brand_for_page(brand)
    page = output_dir / INDEX_NAME
    outputs.write_text_atomic(page, render_html(gallery))
    return page
