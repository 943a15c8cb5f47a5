"""Cards and text blocks every video shares: title, key points, the closing card, the brand.

A brand (``context["brand"]``, plain data from ``pipeline.brand``) only ever draws inside
:func:`brand_regions`: the logo box at the top left and the name band along the bottom of
the title card, so a branded title card differs from the neutral one only there.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    AnimationGroup,
    FadeIn,
    FadeOut,
    Group,
    ImageMobject,
    Rectangle,
    RoundedRectangle,
    SVGMobject,
    Text,
    VGroup,
)

from scenes.kit import palette
from scenes.kit.typography import font_size_for_px, pango_text

# Title-safe area: 90 % of the 14.22 x 8 frame.
SAFE_WIDTH = 14.2 * 0.9
SAFE_HEIGHT = 8.0 * 0.9


def text(
    content: str, px: float = 36, color: str = palette.TEXT, weight: str = "NORMAL", max_width: float | None = None
) -> Text:
    """A line of text in the bundled font, ``px`` pixels high at 1080p (never below 24 px)."""
    mob = pango_text(content, font_size_for_px(px), color, weight)
    if max_width is not None and mob.width > max_width:
        mob.scale_to_fit_width(max_width)
    return mob


def paragraph(
    lines: list[str],
    px: float = 34,
    color: str = palette.TEXT,
    buff: float = 0.18,
    max_width: float | None = None,
    centred: bool = False,
) -> VGroup:
    group = VGroup(*(text(line, px, color) for line in lines))
    group.arrange(DOWN, buff=buff) if centred else group.arrange(DOWN, aligned_edge=LEFT, buff=buff)
    if max_width is not None and group.width > max_width:
        group.scale_to_fit_width(max_width)
    return group


def panel(content, padding: float = 0.35, color: str = palette.PANEL, opacity: float = 0.92) -> VGroup:
    """Content on a rounded panel, so text stays readable over any drawing."""
    box = RoundedRectangle(
        corner_radius=0.15,
        width=content.width + 2 * padding,
        height=content.height + 2 * padding,
        fill_color=color,
        fill_opacity=opacity,
        stroke_width=0,
    )
    box.move_to(content)
    return VGroup(box, content)


def framed(content, width: float, accent: str = palette.ACCENT, opacity: float = 0.95) -> VGroup:
    """``content`` on a rounded card ``width`` wide, edged in ``accent``: VGroup(box, content)."""
    box = RoundedRectangle(
        corner_radius=0.15,
        width=width,
        height=content.height + 0.7,
        fill_color=palette.PANEL,
        fill_opacity=opacity,
        stroke_color=accent,
        stroke_width=3,
    )
    box.move_to(content)
    return VGroup(box, content)


def _neutral_title_card(title: str, subtitle: str | None = None) -> VGroup:
    head = text(title, 64, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH)
    parts = [head]
    if subtitle:
        parts.append(text(subtitle, 36, palette.TEXT_MUTED, max_width=SAFE_WIDTH))
    group = VGroup(*parts).arrange(DOWN, buff=0.4)
    rule = RoundedRectangle(
        corner_radius=0.03,
        width=min(head.width, 6),
        height=0.06,
        fill_color=palette.ACCENT,
        fill_opacity=1,
        stroke_width=0,
    )
    rule.next_to(head, DOWN, buff=0.2)
    if subtitle:
        group[1].next_to(rule, DOWN, buff=0.3)
    return VGroup(group, rule)


# -- the brand ---------------------------------------------------------------------------------
# Frame units (14.22 x 8, origin in the middle). The logo box and the name band are the only
# places a brand draws on the title card; pipeline.brand checks that its words fit the band.
FRAME_W, FRAME_H = 14.2 + 2 / 90, 8.0
LOGO_BOX = (-6.6, 2.55, -3.6, 3.75)  # x0, y0, x1, y1: top left, inside the title-safe area
BAND = (-FRAME_W / 2, -4.0, FRAME_W / 2, -2.75)  # along the bottom edge


def brand_regions() -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) in frame units of everything a brand adds to the title card."""
    return [LOGO_BOX, BAND]


def _luminance(colour: str) -> float:
    r, g, b = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _ink_on(colour: str) -> str:
    """Text colour readable on ``colour``."""
    return palette.BACKGROUND if _luminance(colour) > 0.5 else palette.TEXT


def brand_logo(brand: dict, width: float, height: float):
    """The brand's logo (PNG or SVG) scaled to fit ``width`` x ``height`` units."""
    data = base64.b64decode(brand["logo_b64"])
    if Path(brand["logo"]).suffix.lower() == ".svg":
        path = Path(tempfile.gettempdir()) / f"spine-logo-{brand['logo_sha256'][:16]}.svg"
        if not path.is_file():  # written whole, then renamed (workers may race)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        logo = SVGMobject(str(path))
    else:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            logo = ImageMobject(np.array(image.convert("RGBA")))
    scale = min(width / logo.width, height / logo.height)
    logo.scale(scale)
    return logo


def _box(region, **style) -> Rectangle:
    x0, y0, x1, y1 = region
    box = Rectangle(width=x1 - x0, height=y1 - y0, **style)
    box.move_to(((x0 + x1) / 2, (y0 + y1) / 2, 0))
    return box


def brand_band(brand: dict) -> VGroup:
    """The bottom band: clinic name (and physician) in the brand's colours."""
    band = _box(BAND, fill_color=brand["primary"], fill_opacity=1, stroke_width=0)
    x0, y0, x1, y1 = BAND
    stripe = _box((x0, y1 - 0.07, x1, y1), fill_color=brand["secondary"], fill_opacity=1, stroke_width=0)
    ink = _ink_on(brand["primary"])
    lines = [text(brand["name"], 40, ink, weight="BOLD", max_width=x1 - x0 - 1.0)]
    if brand.get("physician"):
        lines.append(text(brand["physician"], 30, ink, max_width=x1 - x0 - 1.0))
    words = VGroup(*lines).arrange(DOWN, buff=0.1)
    if words.height > (y1 - y0) - 0.3:
        words.scale_to_fit_height((y1 - y0) - 0.3)
    words.move_to(band).shift(DOWN * 0.03)
    return VGroup(band, stripe, words)


def brand_corner(brand: dict) -> Group:
    """The logo in its box at the top left of the title card."""
    x0, y0, x1, y1 = LOGO_BOX
    logo = brand_logo(brand, x1 - x0 - 0.1, y1 - y0 - 0.1)
    logo.move_to(((x0 + x1) / 2, (y0 + y1) / 2, 0))
    return Group(logo)


def title_card(title: str, subtitle: str | None = None, brand: dict | None = None):
    """The title (and subtitle) in the middle; with a brand, its logo box and name band too."""
    card = _neutral_title_card(title, subtitle)
    if not brand:
        return card
    return Group(card, brand_corner(brand), brand_band(brand))


def brand_intro(brand: dict) -> Group:
    """The short intro before the title: the logo large, the clinic's name under it."""
    logo = brand_logo(brand, 5.0, 2.6)
    name = text(brand["name"], 52, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH)
    rule = RoundedRectangle(
        corner_radius=0.03,
        width=min(name.width, 5),
        height=0.08,
        fill_color=brand["secondary"],
        fill_opacity=1,
        stroke_width=0,
    )
    group = Group(logo, name, rule).arrange(DOWN, buff=0.35)
    return group


def play_title(clock, card, brand: dict | None = None, fade_out: bool = True) -> None:
    """The title beat: (with a brand, the intro first,) the card in, held, and out at the end."""
    if brand:
        intro = brand_intro(brand)
        clock.play(FadeIn(intro), seconds=0.4)
        clock.wait(seconds=0.7)
        clock.play(FadeOut(intro), seconds=0.35)
    clock.play(FadeIn(card, shift=UP * 0.2), seconds=1.2)
    if fade_out:
        clock.wait(seconds=max(0.0, clock.remaining_s - 0.5))
        clock.play(FadeOut(card), seconds=0.5)


EDUCATION_TITLE = "For education only"
EDUCATION_LINES = ("This video does not give medical advice.", "Ask your doctor which treatment is right for you.")


def education_card(title: str = EDUCATION_TITLE, lines=EDUCATION_LINES) -> VGroup:
    """The card every video ends with (words overridable for other languages)."""
    head = text(title, 60, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH)
    body = paragraph(list(lines), px=38, color=palette.TEXT_MUTED, centred=True, max_width=SAFE_WIDTH - 1.2)
    content = VGroup(head, body).arrange(DOWN, buff=0.45)
    return panel(content, padding=0.6)


def closing_card(
    review_line: str | None, brand: dict | None = None, title: str = EDUCATION_TITLE, lines=EDUCATION_LINES
):
    """The last card: education only, the medical-review line, and with a brand its outro
    (logo, clinic, physician, contact). ``review_line`` is "Medically reviewed by … on …" or
    "Not yet medically reviewed"; it is never left out."""
    card = education_card(title, lines)
    review = text(review_line or "Not yet medically reviewed", 30, palette.TEXT_MUTED, max_width=SAFE_WIDTH)
    parts = [card, review]
    if brand:
        logo = brand_logo(brand, 2.4, 1.1)
        words = [text(brand["name"], 36, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH - 3.2)]
        if brand.get("physician"):
            words.append(text(brand["physician"], 28, palette.TEXT_MUTED, max_width=SAFE_WIDTH - 3.2))
        words.append(text(brand["contact"], 28, brand["secondary"], max_width=SAFE_WIDTH - 3.2))
        block = VGroup(*words).arrange(DOWN, aligned_edge=LEFT, buff=0.1)
        outro = Group(logo, block).arrange(RIGHT, buff=0.4)
        parts.append(outro)
    group = Group(*parts).arrange(DOWN, buff=0.35)
    if group.height > SAFE_HEIGHT:
        group.scale_to_fit_height(SAFE_HEIGHT)
    return group


def play_closing(clock, context: dict, title: str, lines: list[str]) -> None:
    """The closing card (the review line, the brand, the education-only words) fading in."""
    card = closing_card(context.get("review_line"), context.get("brand"), title, list(lines))
    clock.play(FadeIn(card), seconds=1.0)


def card_words(mobject) -> list[str]:
    """Every text a card shows, in order (read from its mobjects, no OCR)."""
    return [getattr(m, "original_text", m.text) for m in mobject.get_family() if isinstance(m, Text)]


def caption_strip(content: str, px: float = 34, width: float = SAFE_WIDTH) -> VGroup:
    """A key point shown at the bottom of the title-safe area."""
    words = content.split()
    lines, line = [], ""
    for w in words:
        candidate = (line + " " + w).strip()
        if len(candidate) > 52 and line:
            lines.append(line)
            line = w
        else:
            line = candidate
    if line:
        lines.append(line)
    block = panel(paragraph(lines, px=px, max_width=width - 0.8))
    block.to_edge(DOWN, buff=0.45)
    return block


def heading(content: str, px: float = 44) -> Text:
    mob = text(content, px, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH)
    mob.to_edge(UP, buff=0.45)
    return mob


def replace_words(old, new) -> AnimationGroup:
    """Words on screen (a heading, a caption on its panel) giving way to others: ``old`` fades
    out while ``new`` fades in. A Transform from one text to another morphs each glyph's outline
    into another's and passes through shapeless white blobs halfway, on screen for a few frames
    of every change."""
    return AnimationGroup(FadeOut(old), FadeIn(new))


def retitle(old, content: str):
    """A new heading and the animation that shows it in place of ``old`` (if any)."""
    new = heading(content)
    if old is None:
        return new, FadeIn(new)
    return new, replace_words(old, new)
