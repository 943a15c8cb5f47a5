"""What a build is asked for, in one small module: the defaults, the options, a job.

Every other pipeline module reads these from here (the build, the catalog, the caches), so
the defaults have one home and imports run one way: nothing here imports the rest of the
pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from spine.settings import settings_or_defaults
from spine.videos import VideoRequest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT_DIR = ROOT / "output"
# Speech, beat segments, checkpoints, fluoroscopy and logs; SPINE_CACHE_DIR moves them all (CI, tests).
CACHE_DIR_ENV = "SPINE_CACHE_DIR"
DEFAULT_CACHE_DIR = settings_or_defaults().cache_dir
RECORDINGS_DIR = ROOT / "assets" / "voiceover"

#: A progress callback: one line of text (or, from a render task, a beat event) at a time.
Progress = Callable[[Any], None]


def quiet(_: Any) -> None:
    """The progress callback that says nothing."""


@dataclass(frozen=True)
class BuildOptions:
    quality: str = settings_or_defaults().default_quality
    voice: str = "piper"
    lang: str = "en"
    output_dir: Path = DEFAULT_OUTPUT_DIR
    cache_dir: Path = DEFAULT_CACHE_DIR
    loudness_lufs: float = settings_or_defaults().loudness_lufs
    music: Path | None = None
    burn_captions: bool = False
    recordings_dir: Path | None = RECORDINGS_DIR
    brand: Any = None  # pipeline.brand.Brand, or None for the neutral look
    described: bool = False  # also write the audio-described version (pipeline/described.py)
    voice_model: Path | None = None  # a clinic-installed Piper voice (voiceover/voices.py), for voice "piper"
    describer_voice: str | None = None  # the described version's second voice: piper, espeak (default) or none
    describer_model: Path | None = None  # its clinic-installed Piper voice (voiceover.voices.choose_describer)


def output_stem(request: VideoRequest, options: BuildOptions) -> str:
    """``<name>[-<level>][-<side>][-<lang>][-<brand>]-<quality>``: a brand makes other outputs."""
    stem = request.stem(options.quality, options.lang)
    if options.brand is not None:
        head, _, quality = stem.rpartition("-")
        stem = f"{head}-{options.brand.file_slug}-{quality}"
    return stem


def output_paths(request: VideoRequest, options: BuildOptions) -> dict[str, Path]:
    """Every file a build of ``request`` writes, by kind (mp4, srt, vtt, json, accessibility files)."""
    stem = output_stem(request, options)
    out = Path(options.output_dir)
    paths = {ext: out / f"{stem}.{ext}" for ext in ("mp4", "srt", "vtt", "json")}
    # accessibility outputs (pipeline/described.py): written by every build, the described set on request
    paths.update(
        descriptions=out / f"{stem}.descriptions.vtt",
        transcript_txt=out / f"{stem}.transcript.txt",
        transcript_html=out / f"{stem}.transcript.html",
    )
    if options.described:
        paths.update({f"described_{ext}": out / f"{stem}-described.{ext}" for ext in ("mp4", "srt", "vtt")})
        paths["described_descriptions"] = out / f"{stem}-described.descriptions.vtt"
    return paths


@dataclass(frozen=True)
class Job:
    """One video to build: the checked request and the options it is built with."""

    request: VideoRequest
    options: BuildOptions
    origin: str = "default"
    plugins: tuple[str, ...] = ()
    problem: str | None = None  # why it cannot be built now (reported as a failure)

    @property
    def stem(self) -> str:
        return output_stem(self.request, self.options)

    @property
    def name(self) -> str:
        return self.request.name
