"""Audio description without rendering: the scripts' describe: texts and the extended-description layout.

The rendered described version (its length, speech segments and descriptions cues) is checked
in tests/test_languages_render.py, on a real Spanish render.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from scenes.storyboard import TimedBeat
from voiceover.describe import (
    GAP_AFTER_S,
    GAP_BEFORE_S,
    BeatDescription,
    description_cues,
    descriptions_for,
    layout,
    pause_cues,
)
from voiceover.scripts import SCRIPTS_DIR, ScriptError, load_script
from voiceover.speech import SAMPLE_RATE, Sentence, SpokenBeat, to_segment

FPS = 15


def _spoken(beat_id: str, seconds: float) -> SpokenBeat:
    audio = to_segment(np.full(round(seconds * SAMPLE_RATE), 0.1, np.float32))
    return SpokenBeat(beat_id, audio, [Sentence(beat_id, 0.0, seconds)] if seconds else [], "test")


def _beats(spec):
    """TimedBeats from (id, frames, speech seconds)."""
    out, frame = [], 0
    for beat_id, frames, speech in spec:
        out.append(TimedBeat(beat_id, beat_id.title(), "words", frame, frames, FPS, speech))
        frame += frames
    return out


def test_a_description_that_fits_the_pause_adds_no_hold_and_one_that_does_not_holds_the_picture():
    beats = _beats([("a", 60, 2.0), ("b", 45, 2.0), ("c", 30, 1.0)])  # 4 s, 3 s, 2 s
    narration = [_spoken("a", 2.0), _spoken("b", 2.0), _spoken("c", 1.0)]
    described = [_spoken("a", 1.0), _spoken("b", 2.0), _spoken("c", 0.0)]
    plan = layout(beats, narration, described, FPS)
    # a: 2 s free after its narration, 0.35 + 1 + 0.35 needed: it fits
    assert plan[0].hold_frames == 0 and plan[0].description_s == pytest.approx(2.0 + GAP_BEFORE_S)
    # b: 1 s free, 0.35 + 2 + 0.35 = 2.7 s needed: 1.7 s more, rounded up to whole frames
    assert plan[1].hold_frames == int(np.ceil(1.7 * FPS - 1e-9))
    assert plan[1].start_s == pytest.approx(4.0) and plan[1].description_s == pytest.approx(4.0 + 2.0 + GAP_BEFORE_S)
    # c starts later by b's hold, has no description and no hold
    assert plan[2].start_s == pytest.approx(beats[2].start_s + plan[1].hold_frames / FPS)
    assert plan[2].hold_frames == 0 and plan[2].description_s < 0
    # no description covers narration: each ends before the next beat's narration starts
    for i in range(len(plan) - 1):
        if plan[i].description_s >= 0:
            assert plan[i].description_s + described[i].duration_s + GAP_AFTER_S <= plan[i + 1].start_s + 1e-6


def test_description_cues_lie_where_the_description_speech_is():
    described = [_spoken("a", 1.5), _spoken("b", 0.0)]
    cues = description_cues(described, [3.0, -1.0])
    assert [(c.start_s, c.end_s) for c in cues] == [(3.0, 4.5)]


def test_the_plain_video_descriptions_track_sits_in_each_pause():
    beats = _beats([("a", 60, 2.0), ("b", 30, 1.8)])
    narration = [_spoken("a", 2.0), _spoken("b", 1.8)]
    cues = pause_cues(beats, narration, [BeatDescription("a", "A ring marks L4-L5."), BeatDescription("b", "Words.")])
    assert (cues[0].start_s, cues[0].end_s) == (2.0, 4.0)
    assert cues[1].end_s == 6.0 and cues[1].end_s - cues[1].start_s == pytest.approx(1.0)  # at least 1 s


def test_every_beat_of_every_video_is_described_in_english_and_spanish():
    from pipeline.build import narration_context
    from pipeline.described import description_context, descriptions_kind
    from spine.videos import all_videos, resolve

    for name, spec in all_videos().items():
        request = resolve(name)
        for lang in ("en", "es"):
            script = load_script(spec.script_name, lang).filled(narration_context(request, lang))
            descriptions = descriptions_for(script, descriptions_kind(request), description_context(request, lang))
            empty = [d.beat_id for d in descriptions if not d.text or "{" in d.text]
            assert not empty, f"{name} ({lang}): beats without a description: {empty}"
            confirm = next(d.text for d in descriptions if d.beat_id == "confirm") if spec.procedure else ""
            if name in ("spinal-cord-stimulator-trial", "radiofrequency-ablation", "vertebroplasty"):  # no dye shown
                assert ("Front and side" in confirm) or ("de frente y de lado" in confirm), (name, confirm)


def test_a_translation_without_a_description_names_the_beat(tmp_path, monkeypatch):
    from voiceover import scripts

    for lang in ("en", "es"):
        (tmp_path / lang).mkdir()
    for lang in ("en", "es"):
        data = yaml.safe_load((SCRIPTS_DIR / lang / "spine-atlas.yaml").read_text(encoding="utf-8"))
        if lang == "es":
            for beat in data["beats"]:
                if beat["id"] == "disc":
                    del beat["describe"]
        (tmp_path / lang / "spine-atlas.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(scripts, "SCRIPTS_DIR", tmp_path)
    with pytest.raises(ScriptError, match="description of beat.*disc"):
        scripts.load_script("spine-atlas", "es")


@pytest.mark.parametrize(
    "script,words",
    [
        ("title: X\nbeats:\n  - {id: a, chapter: A, text: Words.}\ndescribe:\n  b: Something shown.\n", "beat.*b"),
        (
            "title: X\nbeats:\n  - {id: a, chapter: A, text: Words., describe: 'A ring marks {level.'}\n",
            "beat 'a' describe",
        ),
    ],
    ids=["a describe block naming an unknown beat", "a description with a bad brace"],
)
def test_a_bad_description_is_refused_naming_the_beat(tmp_path, monkeypatch, script, words):
    from voiceover import scripts

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "x.yaml").write_text(script)
    monkeypatch.setattr(scripts, "SCRIPTS_DIR", tmp_path)
    with pytest.raises(ScriptError, match=words):
        scripts.load_script("x", "en")


def _kind_of(video: str) -> str | None:
    from spine.videos import all_videos

    spec = next((s for s in all_videos().values() if s.script_name == video), None)
    return "procedure" if spec is not None and spec.procedure else None


def test_every_beat_of_every_script_has_its_own_description_beside_its_narration():
    """Each script in each language describes each beat itself; only the beats its vocabulary lists
    as generic for the kind of video (the title and education-only cards) may use the shared default."""
    from voiceover.scripts import available_languages
    from voiceover.vocabulary import load_vocabulary

    videos = sorted(p.stem for p in (SCRIPTS_DIR / "en").glob("*.yaml") if not p.stem.startswith("_"))
    assert len(videos) == 13
    checked = 0
    for video in videos:
        kind = _kind_of(video)
        for lang in available_languages(video):
            generic = set(load_vocabulary(lang).describe_generic.get(kind, ())) if kind else set()
            script = load_script(video, lang)
            own = [b.id for b in script.beats if b.describe or b.describe_variants]
            lacking = [b.id for b in script.beats if b.id not in own and b.id not in generic]
            assert not lacking, f"{video} ({lang}): beats without their own describe: {lacking}"
            assert len(own) >= len(script.beats) - 2, (video, lang, own)
            checked += 1
    assert checked >= 26  # every video in English and Spanish at least


def test_a_translation_missing_a_procedure_beats_description_names_the_file_and_the_beat(tmp_path, monkeypatch):
    from voiceover import scripts

    for lang in ("en", "es"):
        (tmp_path / lang).mkdir()
        text = (SCRIPTS_DIR / lang / "transforaminal-esi.yaml").read_text(encoding="utf-8")
        if lang == "es":  # drop the needle beat's describe block (its header and its folded lines)
            lines = text.split("\n")
            at = next(i for i, line in enumerate(lines) if line == "  - id: needle")
            d = next(i for i in range(at, len(lines)) if lines[i] == "    describe: >")
            end = next(i for i in range(d + 1, len(lines)) if not lines[i].startswith("      "))
            text = "\n".join(lines[:d] + lines[end:])
        (tmp_path / lang / "transforaminal-esi.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(scripts, "SCRIPTS_DIR", tmp_path)
    with pytest.raises(ScriptError, match=r"transforaminal-esi\.yaml \(es\).*description of beat\(s\): needle$"):
        scripts.load_script("transforaminal-esi", "es")


def test_spanish_descriptions_are_plain_for_patients():
    """The Spanish descriptions, filled for each video's default request, read at grade 8 or lower
    (Fernández-Huerta >= 60, INFLESZ >= 55, as the narration)."""
    import re

    import textstat

    from pipeline.build import narration_context
    from pipeline.described import description_context, descriptions_kind
    from spine.videos import all_videos, resolve

    textstat.set_lang("es")
    try:
        for name, spec in all_videos().items():
            request = resolve(name)
            script = load_script(spec.script_name, "es").filled(narration_context(request, "es"))
            words = " ".join(
                d.text for d in descriptions_for(script, descriptions_kind(request), description_context(request, "es"))
            )
            words = re.sub(r"\b[CTLS]\d{1,2}(?:-[CTLS]\d{1,2})?\b", "eso", words)  # level names read as a word
            fh, inflesz = textstat.fernandez_huerta(words), textstat.szigriszt_pazos(words)
            assert fh >= 60 and inflesz >= 55, f"{name}: Fernández-Huerta {fh:.0f}, INFLESZ {inflesz:.0f}"
    finally:
        textstat.set_lang("en_US")


@pytest.mark.render
def test_all_described_writes_the_described_versions_and_the_gallery_offers_them(tmp_path):
    """`render.py all --described` makes each catalog video's described version in the same finish
    step as the plain one; the gallery links it; a second run finds everything up to date."""
    import json

    from tests.test_catalog import STEM, run_all

    proc = run_all(tmp_path, "--described", "--voice", "espeak", "-j", "1", "--handouts", "none")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = tmp_path / "out"
    sidecar = json.loads((out / f"{STEM}.json").read_text(encoding="utf-8"))
    described = sidecar["described"]
    assert described["file"] == f"{STEM}-described.mp4" and (out / described["file"]).is_file()
    shapes = next(b for b in described["beats"] if b["id"] == "shapes")
    assert shapes["description_s"] > 1.0 and shapes["hold_s"] > 0  # espeak-ng read it; the picture held for it
    assert described["voice"] and all(v.startswith("espeak:") and v.endswith("+f3") for v in described["voice"])
    assert (out / f"{STEM}-described.descriptions.vtt").read_text(encoding="utf-8").count("-->") >= 1
    page = (out / "index.html").read_text(encoding="utf-8")
    assert f"{STEM}-described.mp4" in page
    again = run_all(tmp_path, "--described", "--voice", "espeak", "-j", "1", "--handouts", "none")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 video(s): 1 skipped" in again.stdout, again.stdout  # the described version is one of its outputs
