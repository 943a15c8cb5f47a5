"""Pronunciation lexicon: the written narration -> the text a speech engine is given.

Captions keep the written form ("L4-L5", "2 mL", "22 G"); only the engine hears
"L4 L5", "2 milliliters", "22 gauge" and respelled medical words. The entries live in
``lexicon.yaml`` beside this file, one section per language; see its header for the
format and how the respellings were checked.
"""

from __future__ import annotations

from spine.errors import SpineError
from spine.yaml_files import read_yaml

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path


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


def languages() -> list[str]:
    return sorted(_raw())


@functools.lru_cache(maxsize=None)
def load_lexicon(lang: str) -> Lexicon:
    """The lexicon for ``lang``; a language without a section gets an empty lexicon."""
    section = _raw().get(lang) or {}
    if not isinstance(section, dict) or not set(section) <= {"patterns", "words"}:
        raise LexiconError(f"{LEXICON_PATH.name}: section '{lang}' must map 'patterns' and 'words' to lists")
    for key in ("patterns", "words"):
        if not isinstance(section.get(key) or [], list):
            raise LexiconError(f"{LEXICON_PATH.name}: {lang} '{key}' must be a list")
    rules: list[Rule] = []
    for i, entry in enumerate(section.get("patterns") or []):
        where = f"{LEXICON_PATH.name}: {lang} pattern {i + 1}"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("match"), str)
            or not isinstance(entry.get("say"), str)
        ):
            raise LexiconError(f"{where} needs 'id', 'match' (a regular expression) and 'say' (its replacement)")
        try:
            regex = re.compile(entry["match"])
        except re.error as exc:
            raise LexiconError(
                f"{where} ({entry.get('id')}): 'match' is not a valid regular expression: {exc}"
            ) from None
        try:
            regex.sub(entry["say"], "")  # checks the replacement's group references (\\1, \\g<name>)
        except (re.error, IndexError) as exc:
            raise LexiconError(
                f"{where} ({entry.get('id')}): 'say' refers to a group 'match' does not have: {exc}; "
                f"'match' has {regex.groups} group(s)"
            ) from None
        rules.append(
            Rule(
                id=str(entry.get("id", i + 1)),
                kind="pattern",
                regex=regex,
                say=entry["say"],
                note=str(entry.get("note", "")),
            )
        )
    for i, entry in enumerate(section.get("words") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("written"), str) or not entry["written"].strip():
            raise LexiconError(f"{LEXICON_PATH.name}: {lang} word {i + 1} has no 'written' (the word as written)")
        word = entry["written"]
        rules.append(
            Rule(
                id=word,
                kind="word",
                regex=re.compile(rf"\b({re.escape(word)})(s?)\b", re.IGNORECASE),
                say=str(entry["say"]) if entry.get("say") else None,
                ipa=tuple(entry.get("ipa") or ()),
                note=str(entry.get("note", "")),
            )
        )
    return Lexicon(lang, tuple(rules))


def to_spoken(text: str, lang: str = "en") -> str:
    """Apply the ``lang`` lexicon to one written text."""
    return load_lexicon(lang).spoken(text)


@functools.lru_cache(maxsize=1)
def _raw() -> dict:
    data = read_yaml(LEXICON_PATH, LexiconError)
    if not data:  # an empty lexicon would silently let the engines misread every level and unit
        raise LexiconError(f"{LEXICON_PATH} is empty; it needs a section per language (en: patterns:, words:)")
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise LexiconError(f"{LEXICON_PATH}: expected one section per language (en: patterns:, words:)")
    return data
