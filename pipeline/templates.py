"""The HTML templates of the gallery, the player pages and the handouts: one folder, one Jinja setup.

Every page is rendered with the same environment (autoescaped, undefined names are errors) and
inlines its own stylesheet and script, so a page works when copied alone.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).resolve().parent / "gallery_templates"


def _seconds(value: float | str) -> str:
    """3.500 -> "3.5", 12.000 -> "12": a time for a media fragment or a data attribute."""
    return f"{float(value):.3f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=1)
def html_templates() -> Environment:
    """The Jinja environment of every page; filters ``url`` (a file name quoted for a link) and ``seconds``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["url"] = lambda name: quote(str(name))
    env.filters["seconds"] = _seconds
    return env


def inline(name: str) -> Markup:
    """The text of a stylesheet or script in the templates folder, to place inside the page as it is."""
    return Markup((TEMPLATES_DIR / name).read_text(encoding="utf-8"))
