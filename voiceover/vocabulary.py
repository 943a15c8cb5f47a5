"""Per-language vocabulary: the words every video shares, and the data's words in other languages.

``voiceover/scripts/<lang>/_vocabulary.yaml`` holds, for one language:

- ``screen:``  on-screen words every video of a kind shares (headings, card titles, labels,
  templates with ``{fields}``); a video's own script ``screen:`` wins over these.
- ``terms:``   the procedure data's English phrases (view names, needle stops, medicines...)
  with their translation. A key may hold ``{fields}`` standing for a level, root or side
  (``the {root} nerve root``); the captured value is translated too when it is a term.
  English needs none: the data is written in English.
- ``number:``  ``decimal`` sign (``","`` in Spanish) used by :meth:`Vocabulary.number`.
- ``levels:``  words to name a level in narration (ordinals and region adjectives).

A phrase shown or spoken in another language without a translation is an error naming it
(:class:`voiceover.scripts.ScriptError`), never English words in a Spanish video.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from spine.yaml_files import read_model
from voiceover.scripts import SCRIPTS_DIR, ScriptError

VOCABULARY_FILE = "_vocabulary.yaml"
SOURCE_LANG = "en"  # the language the procedure data is written in

# Narration fields whose values are words from the procedure data (translated with ``terms``).
WORD_FIELDS = (
    "needle",
    "medication",
    "volume",
    "position",
    "contrast_pattern_words",
    "nerves",
    "limb",
    "region_words",
    "side",
    "entry_side",
    "level_words",
    "pain_area",
)

# a phrase made only of numbers and units needs no translation, only the language's decimal sign
_NUMERIC = re.compile(r"^[\d\s.,\-–/]+(?:mg|mL|ml|mm|cm|%|G|V|Hz|psi|°C|s)?[\s\d.,\-–%]*$")
_LEVEL = re.compile(r"^(Co|[CTLS])(\d{1,2})(?:-(Co|[CTLS])(\d{1,2}))?$")


@dataclass(frozen=True)
class Vocabulary:
    lang: str
    screen: dict = field(default_factory=dict)
    terms: dict = field(default_factory=dict)
    decimal: str = "."
    levels: dict = field(default_factory=dict)
    path: Path | None = None
    describe: dict = field(default_factory=dict)  # kind of video -> beat id -> description
    transcript: dict = field(default_factory=dict)  # the transcript's own words
    # kind of video -> beats its scripts may leave to the ``describe`` defaults (shown alike in every video)
    describe_generic: dict = field(default_factory=dict)

    # -- numbers -----------------------------------------------------------------------------
    def number(self, value: float, digits: int | None = None) -> str:
        """``value`` written the language's way: ``0.5`` -> ``0,5`` in Spanish."""
        s = f"{value:.{digits}f}" if digits is not None else f"{value:g}"
        return s.replace(".", self.decimal) if self.decimal != "." else s

    def numbers_in(self, words: str) -> str:
        """Decimal points between digits in ``words`` written with the language's sign."""
        if self.decimal == ".":
            return words
        return re.sub(r"(?<=\d)\.(?=\d)", self.decimal, words)

    # -- words -------------------------------------------------------------------------------
    def term(self, phrase: str) -> str:
        """The data's ``phrase`` in this language; an error naming the phrase if there is none."""
        if phrase is None or self.lang == SOURCE_LANG:
            return phrase
        phrase = " ".join(str(phrase).split())
        if not phrase or _NUMERIC.match(phrase) or _LEVEL.match(phrase):
            return self.numbers_in(phrase)
        found = self.lookup(phrase)
        if found is None:
            where = self.path.name if self.path else VOCABULARY_FILE
            raise ScriptError(
                f"{where} ({self.lang}) has no translation of the data words '{phrase}'; add it under 'terms:'"
            )
        return found

    def lookup(self, phrase: str) -> str | None:
        if phrase in self.terms:
            return self.terms[phrase]
        for pattern, names, words in _patterns(tuple(self.terms.items())):
            m = pattern.match(phrase)
            if m:
                values = {n: self._value(m.group(n)) for n in names}
                return words.format(**values)
        return None

    def _value(self, captured: str) -> str:
        return self.terms.get(captured, captured)

    def has(self, phrase: str) -> bool:
        try:
            self.term(phrase)
            return True
        except ScriptError:
            return False

    def level_words(self, level: str, english: str) -> str:
        """Narration words for ``level``: a term for the data's words, else built from ``levels:``."""
        if self.lang == SOURCE_LANG:
            return english
        found = self.lookup(" ".join(english.split())) if english else None
        if found is not None:
            return found
        m = _LEVEL.match(level or "")
        lv = self.levels
        if not m or not lv:
            return self.term(english)
        region = lv["regions"]
        ordinal = lv["ordinals"]
        a_letter, a_num, b_letter, b_num = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        if b_letter is None:
            return lv["vertebra"].format(ordinal=ordinal[a_num - 1], region=region[a_letter])
        b_num = int(b_num)
        if a_letter == b_letter:
            return lv["interspace"].format(
                first=ordinal[a_num - 1], second=ordinal[b_num - 1], regions=lv["regions_plural"][a_letter]
            )
        return lv["interspace_mixed"].format(
            upper=lv["vertebra"].format(ordinal=ordinal[a_num - 1], region=region[a_letter]),
            lower=lv["vertebra"].format(ordinal=ordinal[b_num - 1], region=region[b_letter]),
        )

    def localise_context(self, context: dict) -> dict:
        """The narration context with the data's words in this language (numbers its way)."""
        if self.lang == SOURCE_LANG:
            return dict(context)
        out = dict(context)
        for key in WORD_FIELDS:
            value = out.get(key)
            if not value or not isinstance(value, str):
                continue
            out[key] = self.level_words(out.get("level", ""), value) if key == "level_words" else self.term(value)
        return out


@functools.lru_cache(maxsize=64)
def _patterns(items: tuple) -> list:
    out = []
    for key, words in items:
        if "{" not in key:
            continue
        names = re.findall(r"\{(\w+)\}", key)
        parts = re.split(r"\{\w+\}", key)
        regex = "".join(
            re.escape(p) + (f"(?P<{names[i]}>[\\w.-]+?)" if i < len(names) else "") for i, p in enumerate(parts)
        )
        out.append((re.compile("^" + regex + "$"), names, words))
    return out


class NumberWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decimal: str = "."


class VocabularyFile(BaseModel):
    """What a ``_vocabulary.yaml`` holds (see the module's notes); an empty section is no section."""

    model_config = ConfigDict(extra="forbid")

    screen: dict[str, Any] = {}
    terms: dict[str, str] = {}
    number: NumberWords = NumberWords()
    levels: dict[str, Any] = {}
    describe: dict[str, dict[str, str]] = {}  # kind of video -> beat id -> description
    transcript: dict[str, str] = {}
    describe_generic: dict[str, list[str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _no_empty_sections(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


def vocabulary_path(lang: str) -> Path:
    return SCRIPTS_DIR / lang / VOCABULARY_FILE


@functools.lru_cache(maxsize=16)
def load_vocabulary(lang: str) -> Vocabulary:
    """The vocabulary of ``lang``; every screen key of the English one must be translated."""
    path = vocabulary_path(lang)
    if not path.exists():
        raise ScriptError(
            f"no vocabulary for '{lang}' ({path.relative_to(SCRIPTS_DIR.parent.parent)} is missing); "
            f"languages: {', '.join(vocabulary_languages()) or 'none'}"
        )
    data = read_model(path, VocabularyFile, ScriptError, what="vocabulary")
    vocab = Vocabulary(
        lang,
        dict(data.screen),
        {" ".join(k.split()): " ".join(v.split()) for k, v in data.terms.items()},
        data.number.decimal,
        dict(data.levels),
        path,
        {kind: dict(beats) for kind, beats in data.describe.items()},
        dict(data.transcript),
        {kind: tuple(beats) for kind, beats in data.describe_generic.items()},
    )
    if lang != SOURCE_LANG:
        english = load_vocabulary(SOURCE_LANG)
        missing = sorted(set(english.screen) - set(vocab.screen))
        missing += sorted(
            f"describe {kind}.{beat}"
            for kind, beats in english.describe.items()
            for beat in beats
            if beat not in vocab.describe.get(kind, {})
        )
        missing += sorted(f"transcript.{k}" for k in english.transcript if k not in vocab.transcript)
        if missing:
            raise ScriptError(f"{path.name} ({lang}) has no translation of on-screen text: {', '.join(missing)}")
    return vocab


def vocabulary_languages() -> list[str]:
    return sorted(p.parent.name for p in SCRIPTS_DIR.glob(f"*/{VOCABULARY_FILE}"))


def screen_words(script) -> dict:
    """Every on-screen word a video of ``script`` may show: the shared vocabulary, then the script's own."""
    words = dict(load_vocabulary(script.lang).screen)
    words.update(script.screen)
    return words
