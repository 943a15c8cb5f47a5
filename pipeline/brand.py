"""Brand profiles: a clinic's logo, colours, name and contact line on its videos.

``render.py render NAME --brand FILE.yaml`` (and ``all``, ``handout``, ``loop``) reads::

    name: Example Spine Clinic          # the clinic's name (required)
    physician: Dr A. Example            # optional
    contact: "Call 555-0100 · example.org/spine"
    logo: logo.png                      # PNG or SVG, relative to this file
    colours: {primary: "#2A6F97", secondary: "#F4A259"}
    slug: example                       # optional: the file-name part (default: from the name)

The brand styles the title card (logo box top left, name band at the bottom), a short
intro before the title and an outro on the closing card, the handout and the gallery.
Without ``--brand`` the project's neutral look is used and file names have no brand part.
A bad profile is a one-line error (exit 2) naming the field.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from spine.errors import SpineError

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

ROOT = Path(__file__).resolve().parents[1]
FONT = ROOT / "assets" / "fonts" / "DejaVuSans.ttf"
FONT_BOLD = ROOT / "assets" / "fonts" / "DejaVuSans-Bold.ttf"

# How much room the brand's words have (pixels at 1080p, at about the size scenes/kit/cards.py
# draws them): the tightest place is the closing card's outro, beside the logo (title-safe width
# 12.8 units less 3.2 for the logo, at 135 px a unit); the title card's band and the intro are wider.
TEXT_ROOM_PX = {"name": (1290, 40, True), "physician": (1290, 30, False), "contact": (1290, 30, False)}
LOGO_FORMATS = (".png", ".svg")


class BrandError(SpineError):
    """A brand profile cannot be used; the message names the field."""


def _check_colour(value: str) -> str:
    from PIL import ImageColor

    try:
        r, g, b = ImageColor.getrgb(str(value))[:3]
    except ValueError:
        raise ValueError(f"'{value}' is not a colour (use #RRGGBB, #RGB or a CSS colour name)") from None
    return f"#{r:02X}{g:02X}{b:02X}"


class Colours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    primary: str
    secondary: str

    _check = field_validator("primary", "secondary")(classmethod(lambda cls, v: _check_colour(v)))


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: str = Field(min_length=1)
    physician: str | None = None
    contact: str = Field(min_length=1)
    logo: Path
    colours: Colours
    slug: str | None = None
    source: Path | None = None  # the YAML it was read from (set by load_brand)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            raise ValueError(f"'{value}' must be lower-case letters, digits and dashes")
        return value

    @property
    def file_slug(self) -> str:
        return self.slug or slugify(self.name)

    def logo_sha256(self) -> str:
        return hashlib.sha256(self.logo.read_bytes()).hexdigest()

    def scene_context(self) -> dict:
        """What a scene draws, as plain data: the logo travels as its bytes (base64), so a worker on
        another machine draws it too and the beats' cache keys follow its content, not its path."""
        import base64

        return {**self.record(), "logo_b64": base64.b64encode(self.logo.read_bytes()).decode("ascii")}

    def record(self) -> dict:
        """The brand as the sidecar and the build inputs keep it (the logo by name and sha256)."""
        return {
            "slug": self.file_slug,
            "name": self.name,
            "physician": self.physician or "",
            "contact": self.contact,
            "logo": self.logo.name,
            "logo_sha256": self.logo_sha256(),
            "primary": self.colours.primary,
            "secondary": self.colours.secondary,
        }


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug[:32].rstrip("-") or "brand"


@lru_cache(maxsize=8)
def _font(bold: bool, px: int) -> FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(FONT_BOLD if bold else FONT), px)


def text_width_px(text: str, px: int, bold: bool = False) -> float:
    """Width of ``text`` in the bundled font at ``px`` pixels (what the cards draw)."""
    return _font(bold, px).getlength(text)


def _check_logo(path: Path) -> None:
    if path.suffix.lower() not in LOGO_FORMATS:
        raise BrandError(f"brand 'logo': {path.name} is not a PNG or SVG file")
    if not path.is_file():
        raise BrandError(f"brand 'logo': {path} does not exist; give a PNG or SVG path relative to the brand file")
    if path.suffix.lower() == ".png":
        from PIL import Image

        try:
            with Image.open(path) as image:
                image.verify()
            with Image.open(path) as image:
                image.load()
                if image.format != "PNG" or min(image.size) < 16:
                    raise ValueError(f"{image.format} {image.size}")
        except Exception as exc:  # noqa: BLE001 - any decoder failure means the same to the user
            raise BrandError(
                f"brand 'logo': {path.name} is not a readable PNG image ({str(exc).splitlines()[0]})"
            ) from exc
    else:
        import xml.etree.ElementTree as ET

        try:
            root = ET.parse(path).getroot()
            if not root.tag.endswith("svg"):
                raise ValueError(f"root element is <{root.tag}>")
        except (ET.ParseError, ValueError, OSError) as exc:
            raise BrandError(f"brand 'logo': {path.name} is not a readable SVG image ({exc})") from exc


def _check_fits(brand: Brand) -> None:
    for field, (room, px, bold) in TEXT_ROOM_PX.items():
        value = getattr(brand, field)
        if value and text_width_px(value, px, bold) > room:
            raise BrandError(
                f"brand '{field}': \"{value}\" does not fit on the card "
                f"({text_width_px(value, px, bold):.0f} px wide at {px} px, room for {room}); shorten it"
            )


def load_brand(path: Path | str | None) -> Brand | None:
    """The brand profile at ``path`` (None: the neutral brand), checked, or BrandError."""
    from spine.yaml_files import read_yaml

    if path is None:
        return None
    path = Path(path)
    data = read_yaml(
        path,
        BrandError,
        label=f"brand file {path.name}",
        not_yaml="not readable YAML",
        missing=f"brand file {path} does not exist; pass a YAML brand profile to --brand",
    )
    if not isinstance(data, dict):
        raise BrandError(f"brand file {path.name}: expected a mapping with name, contact, logo and colours")
    if isinstance(data.get("logo"), str):
        data["logo"] = (path.parent / data["logo"]).resolve()
    try:
        brand = Brand.model_validate({**data, "source": path.resolve()})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "profile"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "is missing"
        elif err["type"] == "extra_forbidden":
            msg = "is not a brand field (allowed: name, physician, contact, logo, colours, slug)"
        raise BrandError(f"brand '{where}': {msg}") from exc
    _check_logo(brand.logo)
    _check_fits(brand)
    return brand
