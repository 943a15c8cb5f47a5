"""The transcript: chapter headings, narration and descriptions in order, in the video's language."""

from __future__ import annotations

from html.parser import HTMLParser

from pipeline.transcript import (
    transcript_entries,
    transcript_html,
    transcript_text,
    write_transcripts,
)
from scenes.storyboard import TimedBeat
from voiceover.describe import BeatDescription


def _beats():
    return [
        TimedBeat("title", "Título", "Este vídeo muestra una inyección.", 0, 45, 15, 2.0),
        TimedBeat("where", "Dónde", "Se hace en L4-L5.", 45, 60, 15, 3.0),
        TimedBeat("views", "Dónde", "Una vista de frente.", 105, 30, 15, 1.5),
    ]


DESCRIPTIONS = [
    BeatDescription("title", "El título aparece."),
    BeatDescription("where", "Un anillo marca L4-L5."),
    BeatDescription("views", ""),
]
WORDS = {"description": "Descripción"}


def test_entries_are_in_order_with_each_chapter_heading_once():
    entries = transcript_entries(_beats(), DESCRIPTIONS)
    assert [(k, t) for k, t, _ in entries] == [
        ("chapter", "Título"),
        ("narration", "Este vídeo muestra una inyección."),
        ("description", "El título aparece."),
        ("chapter", "Dónde"),
        ("narration", "Se hace en L4-L5."),
        ("description", "Un anillo marca L4-L5."),
        ("narration", "Una vista de frente."),
    ]


def test_text_and_html_say_the_same_in_the_videos_language(tmp_path):
    entries = transcript_entries(_beats(), DESCRIPTIONS)
    text = transcript_text("Inyección", entries, WORDS)
    assert text.index("[0:00] Título") < text.index("(Descripción: El título aparece.)") < text.index("[0:03] Dónde")
    page = transcript_html("Inyección", "es", entries, WORDS)

    class Reader(HTMLParser):
        def __init__(self):
            super().__init__()
            self.lang, self.h2, self.paragraphs, self._tag, self._in_h2 = None, [], [], None, False

        def handle_endtag(self, tag):
            if tag == "h2":
                self._in_h2 = False

        def handle_starttag(self, tag, attrs):
            self._tag = tag
            self._in_h2 = self._in_h2 or tag == "h2"
            if tag == "html":
                self.lang = dict(attrs).get("lang")
            if tag == "p":
                self.paragraphs.append("")

        def handle_data(self, data):
            if self._in_h2 and data.strip():
                self.h2.append(data.strip())
            elif self.paragraphs and self._tag in ("p", "em"):
                self.paragraphs[-1] += data

    reader = Reader()
    reader.feed(page)
    assert reader.lang == "es" and reader.h2 == ["0:00", "Título", "0:03", "Dónde"]
    assert [p.strip() for p in reader.paragraphs][:2] == [
        "Este vídeo muestra una inyección.",
        "Descripción: El título aparece.",
    ]
    names = write_transcripts(tmp_path / "video-es-preview", "Inyección", "es", _beats(), DESCRIPTIONS, WORDS)
    assert names == {"txt": "video-es-preview.transcript.txt", "html": "video-es-preview.transcript.html"}
    assert (tmp_path / names["txt"]).read_text(encoding="utf-8") == text
