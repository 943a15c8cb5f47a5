"""The embeddable player: ``player/<stem>.html`` per video, written with the gallery.

A standalone page (its CSS and script inlined) with the video, its captions, a chapters
track and, where one exists, an audio-description track (``<stem>.descriptions.vtt``). Deep
links seek the player: ``player/<stem>.html#t=83.5`` and ``#chapter=<id>`` (ids are the
chapter titles in lower case with dashes, listed on the page). A copy-paste ``<iframe>``
snippet embeds it in any intranet page. It loads nothing but files of the output folder, so
it works without internet access.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Protocol, Sequence
from urllib.parse import quote

from pipeline import outputs


def format_clock(seconds: float | None, *, position: bool = False) -> str:
    """``83.4`` -> ``"1:23"``; a position (a chapter start) is truncated, a length rounded."""
    if seconds is None:
        return "?"
    total = int(float(seconds) + 1e-6) if position else int(round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Chapter:
    title: str
    start_s: float
    end_s: float

    @property
    def start_label(self) -> str:
        return format_clock(self.start_s, position=True)


class PlayerVideo(Protocol):
    """What a player page reads of a video (the gallery's ``GalleryVideo`` is one; the page's
    template reads its other fields by name)."""

    title: str
    width: int | None
    height: int | None
    chapters: list[Chapter]

    @property
    def stem(self) -> str: ...


PLAYER_DIR = "player"
DESCRIPTIONS_SUFFIX = ".descriptions.vtt"


def chapter_ids(titles: list[str]) -> list[str]:
    """``["The needle", "Position", "Position"]`` -> ``["the-needle", "position", "position-2"]``."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for title in titles:
        base = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-") or "chapter"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def chapters_vtt(chapters: Sequence[Chapter]) -> str:
    """A WebVTT chapters track; each cue's identifier is the chapter's id."""
    lines = ["WEBVTT", ""]
    for cid, c in zip(chapter_ids([c.title for c in chapters]), chapters):
        lines += [cid, f"{_stamp(c.start_s)} --> {_stamp(c.end_s)}", c.title, ""]
    return "\n".join(lines)


def embed_snippet(video: PlayerVideo) -> str:
    width = 640
    height = round(width * (video.height or 9) / (video.width or 16))
    return (
        f'<iframe src="{PLAYER_DIR}/{quote(video.stem)}.html" width="{width}" height="{height}" '
        f'title="{video.title}" allow="fullscreen" allowfullscreen style="border:0"></iframe>'
    )


def write_player(output_dir: Path, video: PlayerVideo) -> Path:
    """Write ``player/<stem>.html`` (and its chapters track) for one gallery video."""
    from markupsafe import Markup

    from pipeline.templates import html_templates, inline

    folder = Path(output_dir) / PLAYER_DIR
    folder.mkdir(exist_ok=True)
    chapters_name = None
    if video.chapters:
        chapters_name = f"{video.stem}.chapters.vtt"
        outputs.write_text_if_changed(folder / chapters_name, chapters_vtt(video.chapters))
    descriptions = Path(output_dir) / f"{video.stem}{DESCRIPTIONS_SUFFIX}"
    ids = chapter_ids([c.title for c in video.chapters])
    data = {
        "chapters": [
            {"id": i, "title": c.title, "start": c.start_s, "end": c.end_s} for i, c in zip(ids, video.chapters)
        ]
    }
    html = (
        html_templates()
        .get_template("player.html.j2")
        .render(
            v=video,
            chapters=list(zip(ids, video.chapters)),
            chapters_track=chapters_name,
            descriptions_track=descriptions.name if descriptions.is_file() else None,
            snippet=embed_snippet(video),
            css=inline("player.css"),
            js=inline("player.js"),
            data_json=Markup(json.dumps(data).replace("<", "\\u003c")),
        )
    )
    page = folder / f"{video.stem}.html"
    outputs.write_text_if_changed(page, html)
    return page
