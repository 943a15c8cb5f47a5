"""Piper voice models a clinic installs itself: checked before anything is spoken.

``render.py render NAME --lang es --voice piper --voice-model /voices/es_ES-davefx-medium.onnx``
(or a ``voices:`` entry in a config file, see :func:`voices_from_config`) reads the
narration with that model instead of the bundled English voice. Nothing is downloaded: the
model and its ``.onnx.json`` config must already be on disk. Before use the model is checked:

- its config ``<model>.onnx.json`` exists and is JSON with a language code and a sample rate;
- its language is the script's (``es_ES`` or ``es_MX`` serve ``--lang es``);
- the model file is a readable ONNX graph (a truncated or corrupt download is refused).

Each refusal is a :class:`VoiceModelError` (a one-line NarrationError naming the file, exit 2).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voiceover.speech_types import NarrationError


class VoiceModelError(NarrationError):
    """A Piper voice model cannot be used: missing, corrupt, or for another language."""


@dataclass(frozen=True)
class PiperModel:
    path: Path
    config_path: Path
    language: str  # e.g. "es_ES"
    sample_rate: int
    sha256: str

    @property
    def lang(self) -> str:
        """The two- or three-letter language ("es" of "es_ES")."""
        return language_of(self.language)

    @property
    def voice_name(self) -> str:
        """The name recorded in sidecars and speech cache keys (changes with the file)."""
        return f"{self.path.name.removesuffix('.onnx')}@{self.sha256[:12]}"


def language_of(code: str) -> str:
    return code.replace("-", "_").split("_")[0].lower()


def config_path_for(model: Path) -> Path:
    return model.with_name(model.name + ".json")


def check_piper_model(model: Path | str, lang: str) -> PiperModel:
    """The checked model for narration in ``lang``; VoiceModelError naming the file otherwise."""
    model = Path(model).expanduser()
    if not model.is_file():
        raise VoiceModelError(f"voice model {model} does not exist; give the path of an installed Piper voice (.onnx)")
    if model.suffix != ".onnx":
        raise VoiceModelError(f"voice model {model} is not a Piper .onnx file")
    config = config_path_for(model)
    if not config.is_file():
        raise VoiceModelError(
            f"voice model {model} has no config {config.name} beside it; "
            f"a Piper voice is the .onnx file and its .onnx.json: install both"
        )
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VoiceModelError(f"voice config {config} is not readable JSON ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict):
        raise VoiceModelError(f"voice config {config} is not a Piper voice config (expected a JSON object)")
    code = ((data.get("language") or {}).get("code") if isinstance(data.get("language"), dict) else None) or (
        (data.get("espeak") or {}).get("voice") if isinstance(data.get("espeak"), dict) else None
    )
    if not isinstance(code, str) or not code.strip():
        raise VoiceModelError(f"voice config {config} names no language (language.code or espeak.voice)")
    rate = (data.get("audio") or {}).get("sample_rate") if isinstance(data.get("audio"), dict) else None
    if not isinstance(rate, int) or not 8000 <= rate <= 48000:
        raise VoiceModelError(
            f"voice config {config} has no usable audio.sample_rate ({rate!r}; expected 8000-48000 Hz)"
        )
    if language_of(code) != language_of(lang):
        raise VoiceModelError(
            f"voice model {model} speaks '{code}', but the script is in '{lang}'; "
            f"use a {lang} voice or --lang {language_of(code)}"
        )
    _check_graph(str(model))
    return PiperModel(model, config, code, rate, _sha256(str(model)))


@functools.lru_cache(maxsize=8)
def _check_graph(path: str) -> None:
    try:
        import onnx

        graph = onnx.load(path, load_external_data=False)
        if not graph.graph.node:
            raise ValueError("the graph has no nodes")
    except Exception as exc:
        detail = str(exc).strip().splitlines()
        raise VoiceModelError(
            f"voice model {path} is not a readable ONNX model "
            f"({detail[0][:120] if detail else type(exc).__name__}); install it again"
        ) from exc


@functools.lru_cache(maxsize=8)
def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def voices_from_config(path: Path | str) -> dict[str, Path]:
    """``voices:`` of a YAML config file: language -> Piper model path (relative to the file).

    ::

        voices:
          es: {engine: piper, model: /opt/voices/es_ES-davefx-medium.onnx}
          fr: /opt/voices/fr_FR-siwis-medium.onnx
    """
    from pydantic import ValidationError

    from spine.yaml_files import read_yaml

    path = Path(path)
    data = read_yaml(path, VoiceModelError, label=f"config {path}", not_yaml="not readable YAML") or {}
    try:
        config = VoicesConfig.model_validate(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        lang = next((str(p) for p in exc.errors()[0]["loc"][1:2]), "")
        if not lang:
            raise VoiceModelError(
                f"{path}: 'voices' must map a language to a Piper model, e.g. es: /voices/es_ES-x.onnx"
            ) from None
        raise VoiceModelError(
            f"{path}: voices.{lang} must name a Piper model, e.g. {{engine: piper, model: x.onnx}}"
        ) from None
    out = {}
    for lang, entry in (config.voices or {}).items():
        model_path = Path(entry.model if isinstance(entry, VoiceEntry) else entry).expanduser()
        out[str(lang)] = model_path if model_path.is_absolute() else (path.parent / model_path)
    return out


class VoiceEntry(BaseModel):
    """``{engine: piper, model: path.onnx}`` (only Piper voices are installed by clinics)."""

    model_config = ConfigDict(extra="forbid")
    engine: Literal["piper"] = "piper"
    model: str = Field(min_length=1, pattern=r"\S")


class VoicesConfig(BaseModel):
    """A config file's ``voices:`` (other top-level keys belong to other readers)."""

    model_config = ConfigDict(extra="allow")
    voices: dict[str, VoiceEntry | Annotated[str, Field(min_length=1, pattern=r"\S")]] | None = None


def choose_voice(
    voice: str | None, voice_model: Path | None, lang: str, config: Path | None = None
) -> tuple[str, Path | None]:
    """(engine, model) for a render: ``--voice-model`` wins, then the config's ``voices:`` for
    ``lang``; without ``--voice``, piper where a Piper voice speaks ``lang``, else espeak-ng
    (the offline default for languages without a bundled voice). A model is checked here."""
    from voiceover.speech_types import PIPER_LANGS

    if voice_model is None and config is not None and voice in (None, "piper"):
        voice_model = voices_from_config(config).get(lang)
    if voice_model is None and voice in (None, "piper"):
        from spine.settings import settings

        voice_model = settings().voices.get(lang)  # SPINE_VOICES: a Piper voice per language
    if voice_model is not None:
        if voice not in (None, "piper"):
            raise VoiceModelError(
                f"--voice-model {voice_model} is a Piper voice; use it with --voice piper, not {voice}"
            )
        check_piper_model(voice_model, lang)
        return "piper", Path(voice_model)
    if voice is None:
        voice = "piper" if lang in PIPER_LANGS else "espeak"
    return voice, None


# ------------------------------------------------------------------------- the describer's voice

DESCRIBER_ENGINES = ("piper", "espeak")


class DescriberEntry(BaseModel):
    """``{engine: piper, model: path.onnx}``, ``{engine: espeak}``, or the short forms ``espeak`` and
    ``path.onnx`` (a model without an engine is a Piper voice)."""

    model_config = ConfigDict(extra="forbid")
    engine: Literal["piper", "espeak"]
    model: Annotated[str, Field(min_length=1, pattern=r"\S")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"engine": "piper", "model": data} if data.endswith(".onnx") else {"engine": data}
        if isinstance(data, dict) and "engine" not in data and data.get("model"):
            return {**data, "engine": "piper"}
        return data

    @model_validator(mode="after")
    def _model_only_for_piper(self) -> "DescriberEntry":
        if self.model is not None and self.engine != "piper":
            raise ValueError("only a Piper voice has a model")
        return self


class DescribersConfig(BaseModel):
    """A config file's ``describer:`` (other top-level keys belong to other readers)."""

    model_config = ConfigDict(extra="allow")
    describer: dict[str, DescriberEntry] | None = None


def describers_from_config(path: Path | str) -> dict[str, tuple[str, Path | None]]:
    """``describer:`` of a YAML config file: language -> (engine, Piper model or None).

    ::

        describer:
          es: {engine: piper, model: /opt/voices/es_MX-claude-high.onnx}
          en: {engine: espeak}
    """
    from pydantic import ValidationError

    from spine.yaml_files import read_yaml

    path = Path(path)
    data = read_yaml(path, VoiceModelError, label=f"config {path}", not_yaml="not readable YAML") or {}
    example = "e.g. describer: {es: {engine: piper, model: x.onnx}} or {en: {engine: espeak}}"
    try:
        config = DescribersConfig.model_validate(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        lang = next((str(p) for p in exc.errors()[0]["loc"][1:2]), "")
        if not lang:
            raise VoiceModelError(f"{path}: 'describer' must map a language to a voice, {example}") from None
        raise VoiceModelError(f"{path}: describer.{lang} must be piper (with a model) or espeak, {example}") from None
    out: dict[str, tuple[str, Path | None]] = {}
    for lang, entry in (config.describer or {}).items():
        model_path = None
        if entry.model is not None:
            model_path = Path(entry.model).expanduser()
            model_path = model_path if model_path.is_absolute() else (path.parent / model_path)
        out[str(lang)] = (entry.engine, model_path)
    return out
