"""Cards and text blocks every video shares: title, key points, the education-only card."""

from __future__ import annotations

from manim import DOWN, LEFT, UP, RoundedRectangle, Text, VGroup

from scenes.kit import palette
from scenes.kit.typography import FONT_FAMILY, font_size_for_px, register_fonts

# Title-safe area: 90 % of the 14.22 x 8 frame.
SAFE_WIDTH = 14.2 * 0.9
SAFE_HEIGHT = 8.0 * 0.9


def text(content: str, px: float = 36, color: str = palette.TEXT, weight: str = "NORMAL", max_width: float | None = None) -> Text:
    """A line of text in the bundled font, ``px`` pixels high at 1080p (never below 24 px)."""
    register_fonts()
    mob = Text(content, font=FONT_FAMILY, font_size=font_size_for_px(px), color=color, weight=weight)
    if max_width is not None and mob.width > max_width:
        mob.scale_to_fit_width(max_width)
    return mob


def paragraph(lines: list[str], px: float = 34, color: str = palette.TEXT, buff: float = 0.18,
              max_width: float | None = None, centred: bool = False) -> VGroup:
    group = VGroup(*(text(line, px, color) for line in lines))
    group.arrange(DOWN, buff=buff) if centred else group.arrange(DOWN, aligned_edge=LEFT, buff=buff)
    if max_width is not None and group.width > max_width:
        group.scale_to_fit_width(max_width)
    return group


def panel(content, padding: float = 0.35, color: str = palette.PANEL, opacity: float = 0.92) -> VGroup:
    """Content on a rounded panel, so text stays readable over any drawing."""
    box = RoundedRectangle(corner_radius=0.15, width=content.width + 2 * padding, height=content.height + 2 * padding,
                           fill_color=color, fill_opacity=opacity, stroke_width=0)
    box.move_to(content)
    return VGroup(box, content)


def title_card(title: str, subtitle: str | None = None) -> VGroup:
    head = text(title, 64, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH)
    parts = [head]
    if subtitle:
        parts.append(text(subtitle, 36, palette.TEXT_MUTED, max_width=SAFE_WIDTH))
    group = VGroup(*parts).arrange(DOWN, buff=0.4)
    rule = RoundedRectangle(corner_radius=0.03, width=min(head.width, 6), height=0.06,
                            fill_color=palette.ACCENT, fill_opacity=1, stroke_width=0)
    rule.next_to(head, DOWN, buff=0.2)
    if subtitle:
        group[1].next_to(rule, DOWN, buff=0.3)
    return VGroup(group, rule)


EDUCATION_TITLE = "For education only"
EDUCATION_LINES = ("This video does not give medical advice.", "Ask your doctor which treatment is right for you.")


def education_card(title: str = EDUCATION_TITLE, lines=EDUCATION_LINES) -> VGroup:
    """The card every video ends with (words overridable for other languages)."""
    head = text(title, 60, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH)
    body = paragraph(list(lines), px=38, color=palette.TEXT_MUTED, centred=True, max_width=SAFE_WIDTH - 1.2)
    content = VGroup(head, body).arrange(DOWN, buff=0.45)
    return panel(content, padding=0.6)


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
