"""One home for the project's settings: read from ``SPINE_*`` environment variables, checked once.

Every module that needs a setting calls :func:`settings` instead of reading ``os.environ``; the
defaults below are the only place their numbers are written. Nested values take ``__`` in the
variable's name (``SPINE_ENCODER__CRF=20``), dictionaries take JSON
(``SPINE_VOICES='{"es": "/opt/voices/es_ES-davefx-medium.onnx"}'``). A bad value is one line naming
the variable and what it allows (a :class:`~spine.errors.SpineError`, exit status 2).

Why pydantic-settings: the variables are typed, validated and documented by the same model the code
reads, with the prefix, nesting and JSON handled by a library rather than by string parsing in
every module that once read its own variable.

The settings live in ``spine`` (not the pipeline) because the domain's caches (anatomy meshes,
fluoroscopy) read them too, and ``spine`` imports nothing above it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from spine.errors import SpineError

__all__ = [
    "ROOT",
    "Settings",
    "QualitySetting",
    "EncoderSettings",
    "SettingsError",
    "parse_size",
    "settings",
    "settings_or_defaults",
]

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "SPINE_"
#: older names still honoured (the first one set wins over the ``SPINE_`` name's default)
LEGACY_NAMES = {"fluoro_cache_dir": "FLUORO_CACHE_DIR"}


class SettingsError(SpineError, ValueError):
    """A ``SPINE_*`` environment variable holds a value its setting does not allow."""


def parse_size(value: Any) -> int:
    """Bytes from ``"2G"``, ``"500M"``, ``"64k"``, ``"1.5GiB"`` or a plain number (``0``: no limit)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
        try:
            number = float(text[:-1] if scale > 1 else text) * scale
        except ValueError:
            raise ValueError(f"{str(value)[:40]!r} is not a size; use bytes or e.g. 500M, 2G (0: no limit)") from None
    if not number >= 0 or number == float("inf"):
        raise ValueError(f"{value!r} is not a size; use a positive number of bytes or e.g. 500M, 2G (0: no limit)")
    return int(number)


#: a byte count written as 2G, 500M, 64k or plain bytes; 0 means no limit
Size = Annotated[int, BeforeValidator(parse_size)]


class QualitySetting(BaseModel):
    """Frame size and rate of one render quality."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    width: int = Field(gt=0, le=7680)
    height: int = Field(gt=0, le=4320)
    fps: int = Field(gt=0, le=120)


def _default_qualities() -> dict[str, QualitySetting]:
    return {
        "preview": QualitySetting(width=854, height=480, fps=15),
        "720p": QualitySetting(width=1280, height=720, fps=30),
        "1080p": QualitySetting(width=1920, height=1080, fps=30),
        "1440p": QualitySetting(width=2560, height=1440, fps=30),
        "2160p": QualitySetting(width=3840, height=2160, fps=30),
    }


class EncoderSettings(BaseModel):
    """x264 and AAC settings of every video (changing one re-renders the cached beats: it is in their keys).

    Beat segments are what the final MP4 holds (joined without re-encoding). A fixed number of
    encoder threads (never 0, "as many as the machine has") and no macroblock tree make a beat
    decode to the same frames whichever process or machine encoded it (see README, "Building the
    whole catalog"); the cost of no macroblock tree is about 20 % more bytes. Two threads let one
    ``render`` process keep two cores busy (x264 beside the drawing) without a second process.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    crf: int = Field(23, ge=0, le=51)
    threads: int = Field(2, ge=1)
    x264_params: str = "mbtree=0"
    #: x264 preset of beat segments up to ``small_max_lines`` lines (previews, for checking an
    #: edit): "superfast" takes a quarter less of x264's CPU than "veryfast" (a third of
    #: "medium") for files about a sixth larger at crf 23, the same SSIM. Larger qualities (what
    #: is published) keep x264's default ("medium").
    small_preset: str = "superfast"
    small_max_lines: int = 480
    #: a picture ffmpeg re-encodes (captions burnt in; the described version's held frames, which
    #: use the faster ``described_preset``)
    reencode_crf: int = Field(20, ge=0, le=51)
    reencode_preset: str = "medium"
    described_preset: str = "veryfast"
    reencode_threads: int = Field(2, ge=0)
    #: narration track: AAC with ffmpeg's fast coder (about 3x quicker; speech at 160k stays clean)
    audio_bitrate: str = "160k"
    audio_rate: int = 48000

    def reencode_args(self, preset: str | None = None) -> list[str]:
        """ffmpeg's arguments for an H.264 yuv420p picture re-encoded at ``reencode_crf``."""
        return [
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-crf",
            str(self.reencode_crf),
            "-preset",
            preset or self.reencode_preset,
            "-threads",
            str(self.reencode_threads),
        ]

    def audio_args(self) -> list[str]:
        """ffmpeg's arguments for the AAC stereo narration track."""
        return [
            "-c:a",
            "aac",
            "-aac_coder",
            "fast",
            "-b:a",
            self.audio_bitrate,
            "-ar",
            str(self.audio_rate),
            "-ac",
            "2",
        ]

    def segment_options(self, height: int) -> dict[str, str]:
        """Manim's ``video_encoder_options`` of a beat segment ``height`` lines high."""
        options = {"crf": str(self.crf), "threads": str(self.threads), "x264-params": self.x264_params}
        if height <= self.small_max_lines:
            options["preset"] = self.small_preset
        return options


class Settings(BaseSettings):
    """Every setting, its environment variable (``SPINE_`` + the name in capitals) and its default."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_nested_delimiter="__", extra="ignore", frozen=True, case_sensitive=False
    )

    #: --quality when none is given (render, all, loop)
    default_quality: str = "1080p"
    #: every quality the CLI offers (plugins may add more at run time)
    qualities: dict[str, QualitySetting] = Field(default_factory=_default_qualities)
    encoder: EncoderSettings = EncoderSettings()
    #: integrated loudness target of the narration mix in LUFS (-16 web, -23 EBU R128)
    loudness_lufs: float = Field(-16.0, ge=-36, le=-10)
    #: an installed Piper voice per language (language -> .onnx path), used when no --voice-model is given
    voices: dict[str, Path] = Field(default_factory=dict)
    #: worker processes `render` draws one video's beats with when no -j is given (0: one per core)
    render_jobs: int = Field(0, ge=0)
    #: threads of ONNX Runtime for piper (0: one per core); a parallel build gives each worker its share
    speech_threads: int = Field(0, ge=0)

    #: the project's cache (speech, beat segments, checkpoints, fluoroscopy, logs, scratch)
    cache_dir: Path = ROOT / ".cache"
    #: fluoroscopy line integrals (default: <cache_dir>/fluoro; FLUORO_CACHE_DIR is still read)
    fluoro_cache_dir: Path | None = None
    #: meshed bone surfaces (default: <repo>/.cache/anatomy; "0" turns the disk cache off)
    anatomy_cache: str | None = None
    #: shaded illustration layers (default: <cache_dir>/illustration; "0" turns the disk cache off)
    illustration_cache: str | None = None
    #: laid-out on-screen words (default: <cache_dir>/text; "0" turns the disk cache off)
    text_cache: str | None = None
    #: worker processes meshing bones missing from the mesh cache (0: the CPUs this process may use, at most 4)
    anatomy_jobs: int = Field(0, ge=0)
    #: the cache of a Dask cluster worker, on the worker's machine
    worker_cache: Path = Field(default_factory=lambda: Path.home() / ".cache" / "spinal-injections-animation")
    #: size limits, least recently used entries removed beyond them (0: no limit)
    cache_limit: Size = 2 << 30  # beat segments and checkpoints (the frames), after each build
    speech_cache_limit: Size = 1 << 30  # synthesised sentences (.wav)
    fluoro_cache_limit: Size = 2 << 30  # fluoroscopy line integrals (.npy)
    anatomy_cache_limit: Size = 1 << 30  # bone meshes (.npz)
    text_cache_limit: Size = 256 << 20  # laid-out on-screen words (.pkl)
    illustration_cache_limit: Size = 1 << 30  # shaded illustration layers (.npz)
    fluoro_memory_limit: Size = 256 << 20  # fluoroscopy imagers, layers and images reused in memory (per process)

    #: medical-review records, one YAML per video
    reviews_dir: Path = ROOT / "spine" / "reviews"
    #: catalog plugins (modules or .py files, separated by the path separator)
    catalog_plugins: str = ""
    #: show the traceback of an error instead of its one line (for reporting a fault)
    debug: bool = False

    @model_validator(mode="after")
    def _default_quality_exists(self) -> "Settings":
        if self.default_quality not in self.qualities:
            raise ValueError(
                f"default_quality {self.default_quality!r} is not one of the qualities ({', '.join(self.qualities)})"
            )
        return self

    def quality(self, name: str) -> QualitySetting:
        return self.qualities[name]

    def fluoro_dir(self) -> Path:
        return self.fluoro_cache_dir or self.cache_dir / "fluoro"

    def anatomy_dir(self) -> Path | None:
        """The mesh cache folder, or None when the disk cache is off (``SPINE_ANATOMY_CACHE=0``)."""
        if self.anatomy_cache == "0":
            return None
        return Path(self.anatomy_cache) if self.anatomy_cache else ROOT / ".cache" / "anatomy"

    def illustration_dir(self) -> Path | None:
        """The illustration cache folder, or None when the disk cache is off (``SPINE_ILLUSTRATION_CACHE=0``)."""
        if self.illustration_cache == "0":
            return None
        return Path(self.illustration_cache) if self.illustration_cache else self.cache_dir / "illustration"

    def text_dir(self) -> Path | None:
        """The laid-out words' cache folder, or None when the disk cache is off (``SPINE_TEXT_CACHE=0``)."""
        if self.text_cache == "0":
            return None
        return Path(self.text_cache) if self.text_cache else self.cache_dir / "text"

    def plugins(self) -> tuple[str, ...]:
        return tuple(p for p in self.catalog_plugins.split(os.pathsep) if p)


def _environment() -> tuple[tuple[str, str], ...]:
    names = {PREFIX.lower()} | {v.lower() for v in LEGACY_NAMES.values()}
    return tuple(
        sorted((k, v) for k, v in os.environ.items() if k.lower().startswith(PREFIX.lower()) or k.lower() in names)
    )


@lru_cache(maxsize=8)
def _load(environment: tuple[tuple[str, str], ...]) -> Settings:
    env = dict(environment)
    overrides: dict[str, Any] = {}
    for field, legacy in LEGACY_NAMES.items():
        if (PREFIX + field).upper() not in {k.upper() for k in env} and env.get(legacy):
            overrides[field] = env[legacy]
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = PREFIX + "__".join(str(p) for p in error["loc"]).upper()
        given = error.get("input")
        shown = f"={str(given)[:40]!r}" if isinstance(given, (str, int, float)) else ""
        raise SettingsError(f"{name}{shown}: {str(error['msg']).removeprefix('Value error, ')}") from None


def settings() -> Settings:
    """The settings of the current environment (read again whenever a ``SPINE_*`` variable changed)."""
    return _load(_environment())


def settings_or_defaults() -> Settings:
    """:func:`settings` for values taken when a module is imported (option defaults): the defaults if a
    variable is bad, because the CLI reads :func:`settings` again first thing and reports it in one line."""
    try:
        return settings()
    except SettingsError:
        return Settings.model_construct()
