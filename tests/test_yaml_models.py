"""The narration scripts, the lexicon and the catalog file are read into pydantic models
(``spine.yaml_files.read_model``): a key the model does not have, or a value of the wrong kind, is
one error line naming the file, the place in the file's own words (``beat 'a'``, ``es word 1``,
``entry 1``), the field and what is allowed, where hand-written checks once ignored a misspelt key
(a word's respelling, a beat's description) or said only "needs 'id', 'chapter' and 'text'".

The CLI turns these errors into one line with exit status 2 (tests/test_faults.py and
tests/test_catalog.py run it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import voiceover.lexicon as lexicon
from pipeline.catalog import read_catalog_file
from pipeline.errors import CatalogError
from voiceover.lexicon import LexiconError
from voiceover.scripts import ScriptError, _parse

BEAT = "title: T\nbeats:\n  - id: a\n    chapter: A\n    text: Words.\n"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            BEAT + "    describ: What it shows.\n",
            r"beat 'a': unknown key\(s\) describ; allowed: id, chapter, text, describe",
        ),
        (BEAT.replace("chapter: A", "chapter: [A]"), r"beat 'a', chapter: input should be a valid string"),
        (BEAT.replace("text: Words.", "text: {lumbar: ''}"), r"beat 'a', text: must be words, or words by technique"),
        (BEAT + "  - id: a\n    chapter: B\n    text: More.\n", r"beat id\(s\) 'a' appear twice"),
        (BEAT + "screen: [x]\n", r"screen: expected a mapping"),
    ],
    ids=["unknown-key", "chapter-not-words", "empty-variant", "id-twice", "screen-not-mapping"],
)
def test_a_narration_script_that_does_not_fit_its_model_names_the_beat_and_field(tmp_path, text, message):
    path = tmp_path / "overview.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        _parse(path, "overview", "en")
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"{path}: "), line
    assert re.search(message, line), line


def test_a_narration_script_model_reads_what_the_hand_written_reader_read(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(
        "title: T {level}\nbeats:\n  - id: a\n    chapter: ' A '\n    text: |\n      Two\n      lines.\n"
        "  - id: b\n    chapter: B\n    text: {lumbar: Low., other: Else.}\n"
        "describe:\n  a: {cervical: Neck., lumbar: Back.}\nscreen:\n  heading: {lumbar: Low}\n",
        encoding="utf-8",
    )
    script = _parse(path, "x", "en")
    a, b = script.beats
    assert (a.chapter, a.text, a.variants) == ("A", "Two lines.", ())
    assert (a.describe, a.describe_variants) == ("Neck.", (("cervical", "Neck."), ("lumbar", "Back.")))
    assert (b.text, b.variants) == ("Else.", (("lumbar", "Low."), ("other", "Else.")))
    assert script.title == "T {level}" and script.screen == {"heading": {"lumbar": "Low"}}


@pytest.fixture
def lexicon_file(tmp_path, monkeypatch):
    """write(text): the lexicon is read from this text (caches cleared before and after)."""
    path = tmp_path / "lexicon.yaml"

    def write(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        lexicon._file.cache_clear()
        lexicon.load_lexicon.cache_clear()

    monkeypatch.setattr(lexicon, "LEXICON_PATH", path)
    yield write
    lexicon._file.cache_clear()
    lexicon.load_lexicon.cache_clear()


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda t: t.replace("{written: AP, say:", "{written: AP, sya:", 1),
            r"es word 1: unknown key\(s\) sya; allowed: written, say",
        ),
        (
            lambda t: t.replace("en:\n  patterns:", "en:\n  patern: []\n  patterns:", 1),
            r"en: unknown key\(s\) patern; allowed: patterns, words",
        ),
        (
            lambda t: re.sub(r"(?m)^(\s+)say: '\\1\\2 \\3\\4'$", r"\1say: [1]", t, count=1),
            r"en pattern 1, say: input should be a valid string",
        ),
        (lambda t: "en: [a]\n", r"en: expected a mapping"),
    ],
    ids=["misspelt-say", "misspelt-section", "say-not-text", "section-not-mapping"],
)
def test_a_lexicon_that_does_not_fit_its_model_names_the_entry_and_field(lexicon_file, damage, message):
    text = Path(lexicon.__file__).with_name("lexicon.yaml").read_text(encoding="utf-8")
    damaged = damage(text)
    assert damaged != text
    lexicon_file(damaged)
    with pytest.raises(LexiconError) as caught:
        lexicon.load_lexicon("en")  # the whole file is checked, whichever language is asked for
    line = str(caught.value)
    assert "\n" not in line and line.startswith("lexicon.yaml: "), line
    assert re.search(message, line), line


@pytest.mark.parametrize(
    "text, message",
    [
        ("variants:\n  - video: overview\n    lang: ''\n", r"entry 1, lang: empty"),
        ("variants:\n  - video: overview\n  - 7\n", r"entry 2: expected a mapping"),
        ("include_defaults: 'no'\n", r"include_defaults: input should be a valid boolean"),
        (
            "variants:\n  - video: spine-atlas\n    levle: C7-T1\n",
            r"entry 1: unknown key\(s\) levle; allowed: video, level",
        ),
    ],
    ids=["empty-lang", "not-a-mapping", "string-bool", "misspelt-level"],
)
def test_a_catalog_file_that_does_not_fit_its_model_names_the_entry_and_field(tmp_path, text, message):
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        read_catalog_file(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith("catalog.yaml: "), line
    assert re.search(message, line), line
