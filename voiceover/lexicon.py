"""Pronunciation lexicon: the written narration -> the text a speech engine is given.

Captions keep the written form ("L4-L5", "2 mL", "22 G"); only the engine hears
"L4 L5", "2 milliliters", "22 gauge" and respelled medical words. The entries live in
``lexicon.yaml`` beside this file, one section per language; see its header for the
format and how the respellings were checked.
"""

from __future__ import annotations

from spine.errors import SpineError
from spine.yaml_files import FileModel, Text, read_model

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, RootModel, model_validator


LEXICON_PATH = Path(__file__).resolve().with_name("lexicon.yaml")


class LexiconError(SpineError, ValueError):
    """The lexicon file is malformed."""


@dataclass(frozen=True)
class Rule:
    id: str  # pattern id, or the written word
    kind: str  # "pattern" or "word"
    regex: re.Pattern
    say: str | None  # replacement (a template for patterns; a respelling for words;
    # None for a word said right as written, kept only to be checked)
    ipa: tuple[str, ...] = ()  # fragments piper's phonemizer must produce (words only)
    note: str = ""

    def apply(self, text: str) -> str:
        if self.say is None:
            return text
        if self.kind == "pattern":
            return self.regex.sub(self.say, text)
        return self.regex.sub(lambda m: self.say + m.group(2), text)


@dataclass(frozen=True)
class Lexicon:
    lang: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def spoken(self, text: str, fired: list[str] | None = None) -> str:
        """The text the engine receives. ``fired`` (if given) collects the ids of rules that changed it."""
        for rule in self.rules:
            new = rule.apply(text)
            if new != text and fired is not None:
                fired.append(rule.id)
            text = new
        return " ".join(text.split())

    @property
    def words(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind == "word")

    @property
    def patterns(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind == "pattern")


class LexiconPattern(FileModel):
    """Notation said another way: ``match`` (a regular expression) replaced by ``say``."""

    id: Text
    match: str
    say: str
    note: str = ""

    @model_validator(mode="after")
    def _compiles(self) -> "LexiconPattern":
        try:
            regex = re.compile(self.match)
        except re.error as exc:
            raise ValueError(f"'{self.id}': 'match' is not a valid regular expression: {exc}") from None
        try:
            regex.sub(self.say, "")  # checks the replacement's group references (\\1, \\g<name>)
        except (re.error, IndexError) as exc:
            raise ValueError(
                f"'{self.id}': 'say' refers to a group 'match' does not have: {exc}; 'match' has {regex.groups} group(s)"
            ) from None
        return self


class LexiconWord(FileModel):
    """A word respelled for the engine (or, without ``say``, listed only to be checked)."""

    written: Text
    say: str | None = None
    ipa: list[str] = []  # fragments piper's phonemizer must produce (tests/test_voiceover_lexicon.py)
    espeak: list[str] = []  # fragments espeak-ng must produce (tests/test_languages.py)
    note: str = ""


def _listed(value: Any) -> Any:
    return [] if value is None else value


class LexiconSection(FileModel):
    """One language's section."""

    patterns: Annotated[list[LexiconPattern], BeforeValidator(_listed)] = []
    words: Annotated[list[LexiconWord], BeforeValidator(_listed)] = []


class LexiconFile(RootModel[dict[str, LexiconSection]]):
    """``lexicon.yaml``: a section per language."""

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, data: Any) -> Any:
        if not data:  # an empty lexicon would silently let the engines misread every level and unit
            raise ValueError("the lexicon is empty; it needs a section per language (en: patterns:, words:)")
        if isinstance(data, dict):
            return {lang: {} if section is None else section for lang, section in data.items()}
        return data


def _lexicon_place(loc: tuple[Any, ...], _data: Any) -> str:
    """``en pattern 3`` or ``es word 2`` (then the field), else the section."""
    if len(loc) >= 3 and loc[1] in ("patterns", "words") and isinstance(loc[2], int):
        return ", ".join([f"{loc[0]} {loc[1][:-1]} {loc[2] + 1}", *map(str, loc[3:4])])
    return " ".join(map(str, loc))


def languages() -> list[str]:
    return sorted(_file())


@functools.lru_cache(maxsize=None)
def load_lexicon(lang: str) -> Lexicon:
    """The lexicon for ``lang``; a language without a section gets an empty lexicon."""
    section = _file().get(lang) or LexiconSection()
    rules = [
        Rule(id=entry.id, kind="pattern", regex=re.compile(entry.match), say=entry.say, note=entry.note)
        for entry in section.patterns
    ]
    rules += [
        Rule(
            id=entry.written,
            kind="word",
            regex=re.compile(rf"\b({re.escape(entry.written)})(s?)\b", re.IGNORECASE),
            say=entry.say or None,
            ipa=tuple(entry.ipa),
            note=entry.note,
        )
        for entry in section.words
    ]
    return Lexicon(lang, tuple(rules))


def to_spoken(text: str, lang: str = "en") -> str:
    """Apply the ``lang`` lexicon to one written text."""
    return load_lexicon(lang).spoken(text)


@functools.lru_cache(maxsize=1)
def _file() -> dict[str, LexiconSection]:
    return read_model(LEXICON_PATH, LexiconFile, LexiconError, label=LEXICON_PATH.name, locate=_lexicon_place).root
