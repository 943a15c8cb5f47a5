"""Draws this example brand's logo (our own generated art, no third-party images).

    python assets/brands/example/make_logo.py   # rewrites logo.png beside this file

A rounded square in the brand's primary colour with three stacked "vertebrae" and a
disc-coloured dot: a made-up clinic's mark for trying ``--brand``.
"""

from pathlib import Path

from PIL import Image, ImageDraw

PRIMARY, SECONDARY, WHITE = (42, 111, 151), (244, 162, 89), (244, 244, 240)


def draw(size: int = 512) -> Image.Image:
    image = Image.new("RGBA", (size * 2, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    d.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=PRIMARY)
    s = size / 512
    for i, y in enumerate((110, 215, 320)):
        w = (230, 260, 290)[i] * s
        d.rounded_rectangle((size / 2 - w / 2, y * s, size / 2 + w / 2, (y + 80) * s), radius=26 * s, fill=WHITE)
        if i < 2:
            d.ellipse((size / 2 - 22 * s, (y + 84) * s, size / 2 + 22 * s, (y + 106) * s), fill=SECONDARY)
    # a bar beside the mark, in the second colour
    d.rounded_rectangle((size * 1.12, size * 0.38, size * 1.95, size * 0.62), radius=size // 10, fill=SECONDARY)
    return image


if __name__ == "__main__":
    draw().save(Path(__file__).with_name("logo.png"), optimize=True)
