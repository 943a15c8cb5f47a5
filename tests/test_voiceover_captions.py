"""Captions: cues from real synthesised speech follow the guidelines; SRT and WebVTT files."""

from __future__ import annotations

import re

import pytest

from voiceover.captions import Cue, build_cues, check_cues, fits_cue, wrap_lines, write_srt, write_vtt
from voiceover.scripts import ScriptBeat
from voiceover.speech import Sentence, SpokenBeat, speak_beats, to_segment

BEATS = [
    ScriptBeat("title", "Title", "Spinal injections. What they are, and how they are done."),
    ScriptBeat(
        "needle",
        "The needle",
        "For an epidural steroid injection at L2-L3, the needle goes between the bones at the back. "
        "It stops in the epidural space, a thin layer of fat and blood vessels just outside the sac "
        "around the nerves. Here it is.",
    ),
]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> list[SpokenBeat]:
    return speak_beats(BEATS, "piper", "en", video="test", cache_dir=tmp_path_factory.mktemp("cache"))


def _starts(spoken, lead=0.5, pause=0.6):
    starts, t = [], lead
    for beat in spoken:
        starts.append(t)
        t += beat.duration_s + pause
    return starts


def test_cues_from_real_speech_follow_the_guidelines(spoken):
    cues = build_cues(spoken, _starts(spoken))
    assert check_cues(cues) == []
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
        assert 1.0 <= cue.duration_s <= 7.0
        assert cue.chars / cue.duration_s <= 20.0 + 1e-6  # a cue stretched to the limit lands on it
    assert all(a.end_s <= b.start_s for a, b in zip(cues, cues[1:]))


def test_each_cue_starts_with_its_sentence(spoken):
    starts = _starts(spoken)
    sentence_starts = [o + s.start_s for beat, o in zip(spoken, starts) for s in beat.sentences]
    cues = build_cues(spoken, starts)
    for cue in cues:
        assert min(abs(cue.start_s - s) for s in sentence_starts) <= 0.1
    # captions keep the written form
    assert any("L2-L3" in cue.text for cue in cues)


def test_quick_short_sentences_are_merged_with_the_next():
    audio = to_segment(__import__("numpy").zeros(48000 * 4))
    beat = SpokenBeat(
        "b",
        audio,
        [
            Sentence("Yes.", 0.0, 0.3),
            Sentence("It is done now.", 0.5, 1.6),
            Sentence("Then the doctor checks the needle.", 2.2, 3.9),
        ],
        "none",
    )
    cues = build_cues([beat], [0.0])
    assert [c.text for c in cues] == ["Yes. It is done now.", "Then the doctor checks the needle."]
    assert check_cues(cues) == []


def test_line_breaking():
    assert wrap_lines("A short line.") == ["A short line."]
    two = wrap_lines("The skin is cleaned and covered, and the tools are germ free.")
    assert two == ["The skin is cleaned and covered,", "and the tools are germ free."]
    lines = wrap_lines("Your doctor finds it between the second and third lumbar bones, at L2-L3.")
    assert len(lines) == 2 and all(len(line) <= 42 for line in lines)
    assert not lines[0].endswith((" the", " and", " of"))
    assert fits_cue("x " * 40) and not fits_cue("word " * 20)


def test_check_cues_names_each_problem():
    problems = check_cues(
        [
            Cue(0.0, 0.5, "Too short."),
            Cue(1.0, 9.0, "Too long on screen."),
            Cue(10.0, 11.0, "This is far too much text to read\nin a single second of time."),
            Cue(12.0, 14.0, "One\nTwo\nThree"),
            Cue(15.0, 17.5, "A line that is much longer than forty-two characters"),
            Cue(18.0, 20.0, "Overlaps."),
            Cue(19.5, 21.0, "Next."),
        ]
    )
    text = "\n".join(problems)
    assert "cue 1 (00:00:00,000): on screen 0.50 s (at least 1 s)" in text
    assert "cue 2" in text and "at most 7 s" in text
    assert "cue 3" in text and "characters per second" in text
    assert "cue 4" in text and "3 lines" in text
    assert "cue 5" in text and "line of 52 characters" in text
    assert "cue 6" in text and "overlaps the next cue by 0.500 s" in text
    assert check_cues([Cue(0.0, 2.0, "Fine.")]) == []


def test_srt_and_vtt_files(tmp_path, spoken):
    cues = build_cues(spoken, _starts(spoken))
    srt, vtt = tmp_path / "out.srt", tmp_path / "out.vtt"
    srt.write_text("old")
    write_srt(cues, srt)
    write_vtt(cues, vtt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.srt", "out.vtt"]  # no temp files left
    s = srt.read_text(encoding="utf-8")
    blocks = s.strip().split("\n\n")
    assert len(blocks) == len(cues)
    first = blocks[0].split("\n")
    assert first[0] == "1"
    assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", first[1])
    assert "\n".join(first[2:]) == cues[0].text
    v = vtt.read_text(encoding="utf-8")
    assert v.startswith("WEBVTT\n\n")
    times = re.findall(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> ", v)
    assert len(times) == len(cues)
    h, m, sec, ms = map(int, times[1])
    assert abs(h * 3600 + m * 60 + sec + ms / 1000 - cues[1].start_s) < 0.001


def test_writing_creates_a_missing_folder(tmp_path):
    target = tmp_path / "deeper" / "captions.srt"
    write_srt([Cue(0.0, 1.5, "Hello.")], target)
    assert target.read_text().startswith("1\n00:00:00,000 --> 00:00:01,500\nHello.")


def test_srt_round_trips_through_the_srt_library_and_vtt_escapes_its_markup():
    from voiceover.captions import cue_records, parse_srt, srt_text, vtt_text

    cues = [Cue(0.0, 1.5, "Hello."), Cue(1.5, 3.257, "Salt & pepper\n<not a tag>"), Cue(3600.0, 3601.25, "An hour in.")]
    back = parse_srt(srt_text(cues))
    assert back == [
        Cue(0.0, 1.5, "Hello."),
        Cue(1.5, 3.257, "Salt & pepper\n<not a tag>"),
        Cue(3600.0, 3601.25, "An hour in."),
    ]
    vtt = vtt_text(cues)
    assert "Salt &amp; pepper\n&lt;not a tag&gt;\n" in vtt and "01:00:00.000 --> 01:00:01.250" in vtt
    assert cue_records(cues)[1] == {"start_s": 1.5, "end_s": 3.257, "text": "Salt & pepper\n<not a tag>"}
