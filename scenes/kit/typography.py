"""The bundled font and text helpers (no LaTeX: Pango ``Text`` only).

Sizes are given in pixels at 1080p and converted to Manim font sizes, so that text is
never smaller than ``MIN_TEXT_PX`` at 1080p whatever the render quality.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from spine.errors import SpineError

ASSETS = Path(__file__).resolve().parents[2] / "assets"
FONT_DIR = ASSETS / "fonts"
FONT_FAMILY = "DejaVu Sans"
MIN_TEXT_PX = 24

# Manim: frame height 8 units = 1080 px; Text(font_size=48) is about 0.5 units tall caps.
# A font_size of 1 unit renders ~ (font_size / 48) * 0.5 * 1080/8 px cap height; we size
# by the em box: font_size F -> about F * 1.125 px at 1080p.
_PX_PER_FONT_SIZE = 1.125


@lru_cache(maxsize=1)
def register_fonts() -> str:
    """Register the bundled fonts with Pango once per process; returns the family name."""
    import manimpango

    for ttf in sorted(FONT_DIR.glob("*.ttf")):
        manimpango.register_font(str(ttf))
    return FONT_FAMILY


#: laid-out texts by (words, size, colour, weight): the same words recur across beats and videos
_LAID_OUT: dict[tuple, object] = {}
_LAID_OUT_KEPT = 512


def pango_text(words: str, font_size: float, color, weight: str = "NORMAL"):
    """``Text(words)`` in the bundled font: a copy of the one laid out before for the same
    words, size, colour and weight (Pango and the SVG parse cost about 0.1 s a line).

    The glyphs drop the SVG path objects they were made from: Manim reads them only while
    building the points, and every copy (each FadeIn and Transform makes one) would otherwise
    deep-copy them, about ten times the cost of the points themselves.
    """
    key = (str(words), float(font_size), str(color), str(weight))
    made = _LAID_OUT.get(key)
    if made is None:
        made = _stored_text(key)
        if len(_LAID_OUT) >= _LAID_OUT_KEPT:
            _LAID_OUT.pop(next(iter(_LAID_OUT)))
        _LAID_OUT[key] = made
    return made.copy()


def _lay_out(words: str, font_size: float, color, weight: str):
    from manim import Text

    register_fonts()
    made = Text(words, font=FONT_FAMILY, font_size=font_size, color=color, weight=weight)
    for glyph in made.get_family():
        if hasattr(glyph, "path_obj"):
            glyph.path_obj = None
    return made


@lru_cache(maxsize=1)
def _layout_digest() -> str:
    """What decides a laid-out text besides its words: the bundled fonts' bytes and the versions of
    Manim (the SVG to points), ManimPango and the system's Pango and Cairo (the layout)."""
    import manim
    import manimpango

    h = hashlib.sha256(b"spine-text-layout")
    for ttf in sorted(FONT_DIR.glob("*.ttf")):
        h.update(ttf.name.encode() + hashlib.sha256(ttf.read_bytes()).digest())
    h.update(
        f"|{manim.__version__}|{manimpango.__version__}|{manimpango.pango_version()}|{manimpango.cairo_version()}".encode()
    )
    return h.hexdigest()


def _stored_text(key: tuple):
    """The text laid out once on this machine, read from the disk cache (a pickle of the glyphs'
    points: about 20 times faster than Pango and the SVG parse), else laid out and stored.

    The cache lives in ``<cache_dir>/text`` (``SPINE_TEXT_CACHE``; ``0`` turns it off), keyed by the
    words, size, colour, weight and :func:`_layout_digest`; entries carry a checksum, so a damaged one
    is reported and laid out again, and the folder is kept within ``SPINE_TEXT_CACHE_LIMIT``.
    """
    from spine import cache_limits
    from spine.settings import settings

    folder = settings().text_dir()
    if folder is None:
        return _lay_out(*key)
    path = folder / f"{hashlib.sha256(repr((key, _layout_digest())).encode()).hexdigest()}.pkl"
    return cache_limits.cached_pickle(path, lambda: _lay_out(*key), settings().text_cache_limit)


def font_size_for_px(px: float) -> float:
    """Manim font_size giving text of about ``px`` pixels (em height) at 1080p."""
    return max(px, MIN_TEXT_PX) / _PX_PER_FONT_SIZE


class TextDoesNotFit(SpineError):
    """On-screen words longer than their box: the copy must be written to fit (never cut off
    with "..."). Raised with the words; the scene adds the video, the beat and the script key."""

    def __init__(self, words: str, room: str = "", where: str = ""):
        self.words, self.room, self.where = str(words), room, where
        shown = self.words if len(self.words) <= 80 else self.words[:77] + "..."
        super().__init__(
            f"{where}the on-screen words '{shown}' do not fit their box ({room}); "
            f"write them shorter in the script's screen: section"
        )

    def __reduce__(self):  # the same error in another process (a render worker's)
        return (type(self), (self.words, self.room, self.where))
