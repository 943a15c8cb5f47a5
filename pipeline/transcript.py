"""The transcript of a video (WCAG 1.2.8): chapter headings, narration and descriptions in
order, in the video's language, as plain text and as an HTML page.

Made from the same beats the video is made from, so it always says what the video says.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from pipeline import outputs

if TYPE_CHECKING:
    from scenes.storyboard import TimedBeat
    from voiceover.describe import BeatDescription

Entry = tuple[str, str, float]  # (kind, words, start in seconds)


def _format_clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def transcript_entries(beats: Sequence[TimedBeat], descriptions: Sequence[BeatDescription]) -> list[Entry]:
    """(kind, words, start) in order: 'chapter' when a new chapter starts, then 'narration', then
    'description' (what is only shown) for each beat."""
    out: list[Entry] = []
    chapter = None
    for beat, d in zip(beats, descriptions):
        if beat.chapter != chapter:
            chapter = beat.chapter
            out.append(("chapter", chapter, beat.start_s))
        out.append(("narration", beat.text, beat.start_s))
        if d.text:
            out.append(("description", d.text, beat.start_s))
    return out


def transcript_text(title: str, entries: Sequence[Entry], words: dict[str, str]) -> str:
    lines = [title, "=" * len(title), ""]
    for kind, text, start in entries:
        if kind == "chapter":
            heading = f"[{_format_clock(start)}] {text}"
            lines += ["", heading, "-" * len(heading)]
        elif kind == "description":
            lines.append(f"({words.get('description', 'Description')}: {text})")
        else:
            lines.append(text)
    return "\n".join(lines).strip() + "\n"


def transcript_html(title: str, lang: str, entries: Sequence[Entry], words: dict[str, str]) -> str:
    e = html.escape
    body = [f"<h1>{e(title)}</h1>"]
    open_section = False
    for kind, text, start in entries:
        if kind == "chapter":
            if open_section:
                body.append("</section>")
            body.append(f'<section><h2><span class="time">{_format_clock(start)}</span> {e(text)}</h2>')
            open_section = True
        elif kind == "description":
            label = e(words.get("description", "Description"))
            body.append(f'<p class="description"><em>{label}:</em> {e(text)}</p>')
        else:
            body.append(f'<p class="narration">{e(text)}</p>')
    if open_section:
        body.append("</section>")
    style = (
        "body{font-family:'DejaVu Sans',sans-serif;max-width:46em;margin:2em auto;line-height:1.5;padding:0 1em}"
        ".description{color:#444;border-left:3px solid #888;padding-left:.6em}.time{color:#666;font-weight:normal}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{e(lang)}">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
        f"<style>{style}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def write_transcripts(
    stem_path: Path,
    title: str,
    lang: str,
    beats: Sequence[TimedBeat],
    descriptions: Sequence[BeatDescription],
    words: dict[str, str],
) -> dict[str, str]:
    """Write ``<stem>.transcript.txt`` and ``.transcript.html`` atomically; returns their names."""
    entries = transcript_entries(beats, descriptions)
    txt = stem_path.with_name(stem_path.name + ".transcript.txt")
    page = stem_path.with_name(stem_path.name + ".transcript.html")
    for path, text in (
        (txt, transcript_text(title, entries, words)),
        (page, transcript_html(title, lang, entries, words)),
    ):
        with outputs.atomic_output(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    return {"txt": txt.name, "html": page.name}
