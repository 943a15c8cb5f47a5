"""Narration scripts: the words of every video, kept as data.

``voiceover/scripts/<lang>/<video>.yaml`` holds a title and a list of beats::

    title: Spinal injections, an overview
    beats:
      - id: what            # stable id: recordings, captions and chapters key on it
        chapter: What it is # chapter mark shown by players (consecutive beats may share one)
        text: >
          A spinal injection puts medicine close to ...

Texts may hold fields in braces, filled from the video's context when the video is
built: ``{level}`` (``L4-L5``), ``{side}`` (``left``), ``{root}`` (``L4``) and whatever a
procedure adds. Editing a line here and re-rendering is all it takes to change what
a video says.

A beat's text, and a ``screen:`` entry, may instead be a mapping from a procedure's
technique (``lumbar``, ``cervical``, ``s1`` ...: the ``techniques`` ids of its data) to
the words for that technique, with ``other`` for the rest::

      - id: needle
        chapter: The needle
        text:
          lumbar: The tip stops just under the pedicle ...
          cervical: The tip touches the bony joint, then ...

so a video made at C5-C6 speaks of the neck only. The build picks the variant of the
request's technique (context field ``technique``).
"""

from __future__ import annotations

from spine.errors import SpineError, shorten
from spine.yaml_files import FileModel, Text, read_model

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"


class ScriptError(SpineError, ValueError):
    """A narration script is missing, malformed, or lacks a field or a translation."""


OTHER = "other"  # the variant for every technique not named


@dataclass(frozen=True)
class ScriptBeat:
    id: str
    chapter: str
    text: str
    variants: tuple[tuple[str, str], ...] = ()  # (technique, text) when the words differ by technique
    # audio description: what is only shown in this beat, in words (WCAG 1.2.3 / 1.2.5 / 1.2.7)
    describe: str = ""
    describe_variants: tuple[tuple[str, str], ...] = ()

    def describe_for(self, technique: str | None) -> str:
        if not self.describe_variants:
            return self.describe
        table = dict(self.describe_variants)
        return table.get(technique or "", table.get(OTHER, self.describe_variants[0][1]))

    def text_for(self, technique: str | None) -> str:
        """The words for ``technique`` (its own variant, else ``other``, else the first)."""
        if not self.variants:
            return self.text
        table = dict(self.variants)
        return table.get(technique or "", table.get(OTHER, self.variants[0][1]))


def pick_variant(value, technique: str | None):
    """A ``screen:`` value for ``technique``: a mapping of variants is resolved, anything else kept."""
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        return value.get(technique or "", value.get(OTHER, next(iter(value.values()))))
    return value


@dataclass(frozen=True)
class Script:
    video: str
    lang: str
    title: str
    beats: tuple[ScriptBeat, ...]
    path: Path
    screen: dict = field(default_factory=dict)  # key -> words shown on screen (str or lists)

    def beat(self, beat_id: str) -> ScriptBeat:
        for beat in self.beats:
            if beat.id == beat_id:
                return beat
        raise ScriptError(f"{self.path}: no beat '{beat_id}'")

    def variant_keys(self) -> set[str]:
        """Every technique a beat or a screen entry names a variant for."""
        keys = {k for beat in self.beats for k, _ in beat.variants + beat.describe_variants}
        keys.update(k for v in self.screen.values() if isinstance(v, dict) for k in v)
        return keys

    def fields(self) -> set[str]:
        """Names of the {fields} the texts use."""
        names = set()
        for beat in self.beats:
            texts = [beat.chapter, beat.text, beat.describe] + [t for _, t in beat.variants + beat.describe_variants]
            for text in texts:
                names.update(f for _, f, _, _ in string.Formatter().parse(text) if f)
        names.update(f for _, f, _, _ in string.Formatter().parse(self.title) if f)
        return names

    def filled(self, context: dict[str, str]) -> "Script":
        """The script with every {field} replaced; a field without a value is an error."""
        missing = sorted(self.fields() - set(context))
        if missing:
            raise ScriptError(
                f"{self.path}: no value for field(s) {', '.join('{' + m + '}' for m in missing)}; "
                f"known fields: {', '.join(sorted(context)) or 'none'}"
            )
        technique = context.get("technique")
        known = [k.strip() for k in context["techniques"].split(",")] if context.get("techniques") else None
        if known is not None:  # a typo ("lumber:") must not fall back to 'other' in silence
            unknown = sorted(self.variant_keys() - set(known) - {OTHER})
            if unknown:
                raise ScriptError(
                    f"{self.path}: words for unknown technique(s) {', '.join(unknown)}; "
                    f"this video's techniques: {', '.join(known)} (or '{OTHER}')"
                )
        if technique is not None:
            for name, keys in (
                [(f"beat '{b.id}'", [k for k, _ in b.variants]) for b in self.beats]
                + [(f"beat '{b.id}' describe", [k for k, _ in b.describe_variants]) for b in self.beats]
                + [(f"screen '{k}'", list(v)) for k, v in self.screen.items() if isinstance(v, dict)]
            ):
                if keys and technique not in keys and OTHER not in keys:
                    raise ScriptError(
                        f"{self.path}: {name} has no words for technique '{technique}' "
                        f"(it has {', '.join(keys)}); add '{technique}:' or '{OTHER}:'"
                    )
        beats = tuple(
            ScriptBeat(
                b.id,
                b.chapter.format_map(context),
                " ".join(b.text_for(technique).format_map(context).split()),
                describe=" ".join(b.describe_for(technique).format_map(context).split()),
            )
            for b in self.beats
        )
        screen = {k: pick_variant(v, technique) for k, v in self.screen.items()}
        return Script(self.video, self.lang, self.title.format_map(context), beats, self.path, screen)


def _check_fields(path: Path, where: str, text: str) -> None:
    """A text's {fields} must be well formed: a lone '{' or '}' is an error naming the beat."""
    try:
        for _, name, spec, _ in string.Formatter().parse(text):
            if name is not None and (not name.isidentifier() or spec):
                raise ValueError(f"'{{{name}{':' + spec if spec else ''}}}' is not a field name")
    except ValueError as exc:
        snippet = text if len(text) <= 60 else text[:57] + "..."
        raise ScriptError(
            f"{path}: {where}: unbalanced or bad braces in {snippet!r} ({exc}); fields look like "
            f"{{level}}, and a brace meant as text is written twice: {{{{ or }}}}"
        ) from None


def available_languages(video: str) -> list[str]:
    return sorted(p.parent.name for p in SCRIPTS_DIR.glob(f"*/{video}.yaml"))


def load_script(video: str, lang: str = "en") -> Script:
    """Load and check ``voiceover/scripts/<lang>/<video>.yaml``.

    A translation must have exactly the English beats (same ids, same order): a missing
    beat is an error naming it, never a silent fall-back to English.
    """
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}", str(lang)):
        have = available_languages(video)
        raise ScriptError(
            f"'{shorten(lang)}' is not a language code; languages with a script for '{video}': "
            f"{', '.join(have) or 'none'}"
        )
    path = SCRIPTS_DIR / lang / f"{video}.yaml"
    if not path.exists():
        have = available_languages(video)
        raise ScriptError(
            f"no '{lang}' narration for '{video}' ({path.relative_to(SCRIPTS_DIR.parent.parent)} is missing); "
            f"languages with a script: {', '.join(have) or 'none'}"
        )
    script = _parse(path, video, lang)
    if lang != "en":
        english = _parse(SCRIPTS_DIR / "en" / f"{video}.yaml", video, "en")
        ids = [b.id for b in script.beats]
        missing = [b.id for b in english.beats if b.id not in ids]
        if missing:
            raise ScriptError(f"{path.name} ({lang}) has no translation of beat(s): {', '.join(missing)}")
        extra = [i for i in ids if i not in {b.id for b in english.beats}]
        if extra:
            raise ScriptError(f"{path.name} ({lang}) has beat(s) the English script does not: {', '.join(extra)}")
        if ids != [b.id for b in english.beats]:
            raise ScriptError(f"{path.name} ({lang}) has its beats in another order than the English script")
        undescribed = [
            b.id
            for b in english.beats
            if (b.describe or b.describe_variants)
            and not (script.beat(b.id).describe or script.beat(b.id).describe_variants)
        ]
        if undescribed:
            raise ScriptError(
                f"{path.name} ({lang}) has no translation of the description of beat(s): {', '.join(undescribed)}"
            )
        missing_screen = sorted(set(english.screen) - set(script.screen))
        if missing_screen:
            raise ScriptError(f"{path.name} ({lang}) has no translation of on-screen text: {', '.join(missing_screen)}")
    return script


def _words_or_variants(value: Any) -> Any:
    """Words, or a non-empty mapping of technique -> words; anything else said in one line."""
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items())
    ):
        return {k: " ".join(v.split()) for k, v in value.items()}
    raise ValueError("must be words, or words by technique (a mapping like {lumbar: ..., other: ...})")


#: a beat's words: one text, or a text per technique (``other`` for the rest)
Words = Annotated[str | dict[str, str], BeforeValidator(_words_or_variants)]


class ScriptBeatEntry(FileModel):
    """One of a script's ``beats:``."""

    id: Text
    chapter: Text
    text: Words
    describe: Words | None = None  # what only the picture shows (audio description)


class ScriptFile(FileModel):
    """A narration script, ``voiceover/scripts/<lang>/<video>.yaml``."""

    title: str | None = None
    beats: list[ScriptBeatEntry] = Field(min_length=1)
    # descriptions by beat id, beside the beats (a beat's own ``describe`` wins)
    describe: Annotated[dict[str, Words], BeforeValidator(lambda v: {} if v is None else v)] = {}
    screen: Annotated[dict[str, Any], BeforeValidator(lambda v: {} if v is None else v)] = {}

    @model_validator(mode="after")
    def _beats_fit_together(self) -> "ScriptFile":
        ids = [beat.id for beat in self.beats]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"beat id(s) {', '.join(repr(i) for i in twice)} appear twice; each beat needs its own id")
        unknown = sorted(set(self.describe) - set(ids))
        if unknown:
            raise ValueError(f"'describe' names beat(s) the script does not have: {', '.join(unknown)}")
        return self


def _script_place(loc: tuple[Any, ...], data: Any) -> str:
    """``beat 'needle', text`` for a beat's field (``beat 3`` when it has no id), else the key."""
    if len(loc) >= 2 and loc[0] == "beats" and isinstance(loc[1], int):
        raw = data.get("beats")[loc[1]] if isinstance(data, dict) else None
        name = (
            f"beat '{raw['id']}'" if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"beat {loc[1] + 1}"
        )
        return ", ".join([name, *map(str, loc[2:3])])
    return ".".join(map(str, loc))


def _variants(words: str | dict[str, str] | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(the words for every other technique, the words by technique) of a beat's text or description."""
    if words is None:
        return "", ()
    if isinstance(words, str):
        return words, ()
    variants = tuple(words.items())
    return words.get(OTHER, variants[0][1]), variants


def _parse(path: Path, video: str, lang: str) -> Script:
    data = read_model(
        path,
        ScriptFile,
        ScriptError,
        locate=_script_place,
        what="narration script",
        hint="each beat has an id, a chapter and a text",
    )
    beats = []
    for raw in data.beats:
        text, variants = _variants(raw.text)
        desc, desc_variants = _variants(raw.describe if raw.describe is not None else data.describe.get(raw.id))
        beats.append(ScriptBeat(raw.id, raw.chapter, text, variants, desc, desc_variants))
    for beat in beats:
        for text in [beat.chapter, beat.text] + [t for _, t in beat.variants]:
            _check_fields(path, f"beat '{beat.id}'", text)
        for text in [beat.describe] + [t for _, t in beat.describe_variants]:
            _check_fields(path, f"beat '{beat.id}' describe", text)
    title = video if data.title is None else data.title
    _check_fields(path, "title", title)
    return Script(video, lang, title, tuple(beats), path, dict(data.screen))
