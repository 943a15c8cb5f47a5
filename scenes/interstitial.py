"""The waiting-room loop's interstitial: a short branded card between two videos.

"Next: <title>" under the brand's logo and name (or the project's neutral card). Rendered
with the same Manim and x264 settings as every beat segment, so the loop joins it to the
videos without re-encoding them.
"""

from __future__ import annotations

from manim import DOWN, FadeIn, FadeOut, Group, Scene

from scenes.kit import palette
from scenes.kit.cards import SAFE_WIDTH, brand_logo, text
from scenes.kit.typography import register_fonts


class InterstitialScene(Scene):
    """``next_title``: the coming video's title; ``brand``: a brand's scene context or None."""

    def __init__(
        self, next_title: str, brand: dict | None = None, seconds: float = 4.0, next_words: str = "Next", **kwargs
    ):
        self.next_title, self.brand, self.seconds, self.next_words = next_title, brand, seconds, next_words
        super().__init__(**kwargs)

    def construct(self) -> None:
        from manim import config

        register_fonts()
        self.camera.background_color = palette.BACKGROUND
        parts = []
        brand = self.brand or {}
        clinic, contact = brand.get("name"), brand.get("contact")  # the brand profile's own words
        if self.brand:
            parts.append(brand_logo(self.brand, 4.4, 2.2))
            parts.append(text(clinic, 48, palette.TEXT, weight="BOLD", max_width=SAFE_WIDTH))
        parts.append(text(f"{self.next_words}:", 36, palette.TEXT_MUTED))
        parts.append(
            text(
                self.next_title,
                52,
                (self.brand or {}).get("secondary", palette.ACCENT),
                weight="BOLD",
                max_width=SAFE_WIDTH,
            )
        )
        if self.brand:
            parts.append(text(contact, 30, palette.TEXT_MUTED, max_width=SAFE_WIDTH))
        card = Group(*parts).arrange(DOWN, buff=0.3)
        fps = config.frame_rate
        frames = round(self.seconds * fps)
        fade = max(1, round(0.4 * fps))
        # frame-exact, as NarratedScene does: an animation of run_time (n - 0.5) / fps is n frames
        self.play(FadeIn(card), run_time=(fade - 0.5) / fps)
        self.wait((frames - 2 * fade + 0.5) / fps, frozen_frame=True)
        self.play(FadeOut(card), run_time=(fade - 0.5) / fps)
