"""Pronunciation lexicon: the written narration -> the text a speech engine is given.

Captions keep the written form ("L4-L5", "2 mL", "22 G"); only the engine hears
"L4 L5", "2 milliliters", "22 gauge" and respelled medical words. The entries live in
``lexicon.yaml`` beside this file, one section per language; see its header for the
format and how the respellings were checked.
"""

from __future__ import annotations

from spine.errors import SpineError

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

LEXICON_PATH = Path(__file__).resolve().with_name("lexicon.yaml")


class LexiconError(SpineError, ValueError):
    """The lexicon file is malformed."""


@dataclass(frozen=True)
class Rule:
    id: str                 # pattern id, or the written word
    kind: str               # "pattern" or "word"
    regex: re.Pattern
    say: str | None         # replacement (a template for patterns; a respelling for words;
                            # None for a word said right as written, kept only to be checked)
    ipa: tuple[str, ...] = ()   # fragments piper's phonemizer must produce (words only)
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
    rules: list[Rule] = []
    for i, entry in enumerate(section.get("patterns") or []):
        try:
            rules.append(Rule(
                id=str(entry["id"]), kind="pattern", regex=re.compile(entry["match"]),
                say=str(entry["say"]), note=str(entry.get("note", "")),
            ))
        except (KeyError, TypeError, re.error) as exc:
            raise LexiconError(f"{LEXICON_PATH.name}: {lang} pattern {i + 1} is invalid ({exc})") from exc
    for i, entry in enumerate(section.get("words") or []):
        try:
            word = str(entry["written"])
        except (KeyError, TypeError) as exc:
            raise LexiconError(f"{LEXICON_PATH.name}: {lang} word {i + 1} has no 'written'") from exc
        rules.append(Rule(
            id=word, kind="word",
            regex=re.compile(rf"\b({re.escape(word)})(s?)\b", re.IGNORECASE),
            say=str(entry["say"]) if entry.get("say") else None, ipa=tuple(entry.get("ipa") or ()),
            note=str(entry.get("note", "")),
        ))
    return Lexicon(lang, tuple(rules))


def to_spoken(text: str, lang: str = "en") -> str:
    """Apply the ``lang`` lexicon to one written text."""
    return load_lexicon(lang).spoken(text)


@functools.lru_cache(maxsize=1)
def _raw() -> dict:
    try:
        data = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"cannot read {LEXICON_PATH}: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{LEXICON_PATH}: expected one section per language")
    return data
