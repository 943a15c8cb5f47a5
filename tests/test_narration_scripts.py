"""The narration of the eleven procedure videos: storyboard, fields, reading level, length.

Every procedure script follows one storyboard (``STORYBOARD``): the scene code draws a beat
per id, so the ids, their order and their chapters are checked here, along with the fields
the texts may use, the reading level, the spoken length and the closing line.

Reading level, as measured here (``reading_grade``):

1. Fill every field with a short plain stand-in (``PLAIN_CONTEXT``: ``{level}`` -> "this
   level", ``{medication}`` -> "a steroid", ...), because the real values are names.
2. Replace each medical name (``MEDICAL_NAMES``: "epidural", "foramen", "dexamethasone",
   "radiofrequency", "Scotty dog", ...) and each written spinal level or unit ("C7-T1",
   "mL", "°C", "hertz") with the one-syllable word "name". Sentence lengths are unchanged;
   only the long names a patient hears explained in the video no longer count.
3. Score the whole script (all beats joined) with ``textstat.flesch_kincaid_grade``,
   counting syllables with pyphen (``_pyphen_syllables``). textstat 0.7.4+ first looks
   words up in the CMU dictionary, which nltk downloads at first use; there is no such
   download on these machines or in CI, so every word goes to pyphen, textstat's own
   fallback, and the grade is the same on every machine. The limit is grade 8.

Spoken length (``speech_seconds``): the script filled with the real narration context of
a request (:func:`spine.procedures.catalog.narration_context`), counted in written words
at 2.6 words a second. Every allowed level and side of every procedure must read in 100 to
170 seconds (160 before the risks were stated evenly, issue 14), and every one must fill without
a missing field.
"""

from __future__ import annotations

import contextlib
import re
from unittest import mock

import pytest
import textstat

from voiceover.scripts import Script, load_script
from spine.procedures.catalog import PROCEDURE_ORDER
from tests.test_procedures_data import CONTEXT_FIELDS

PROCEDURES = PROCEDURE_ORDER  # the catalog's own list: one home for the eleven names

CHAPTERS = {
    "Title",
    "Position",
    "The problem",
    "The views",
    "The needle",
    "Confirmation",
    "The medicine",
    "After",
    "Education only",
}

# The storyboard: (beat id, chapter). Procedure-specific beats are inserted below.
STORYBOARD = (
    ("title", "Title"),
    ("where", "Position"),
    ("problem", "The problem"),
    ("position", "Position"),
    ("views", "The views"),
    ("needle", "The needle"),
    ("confirm", "Confirmation"),
    ("medicine", "The medicine"),
    ("after", "After"),
    ("closing", "Education only"),
)

# Procedures whose needle route is epidural or transforaminal and that inject a drug there:
# a live-contrast ``vascular`` beat follows ``confirm``. The stimulator trial's needle also
# ends in the epidural space, but nothing is injected there (clinical.md 3.10), so it has
# no vascular beat.
VASCULAR_CHECK = {"interlaminar-esi", "transforaminal-esi", "selective-nerve-root-block", "caudal-esi"}

# Procedure-specific beats: id -> the beat it directly follows (in this order).
EXTRA_BEATS = {
    "radiofrequency-ablation": {"stimulation": "confirm", "lesion": "medicine"},
    "medial-branch-block": {"double_block": "medicine"},
    "discography": {"manometry": "medicine"},
    "vertebroplasty": {"cement": "medicine", "balloon": "cement"},
    "spinal-cord-stimulator-trial": {"steer_lead": "medicine"},
}
EXTRA_CHAPTERS = {"vascular": {"Confirmation"}, "stimulation": {"Confirmation"}}

# The fields a procedure's narration context fills, and the limb the overview-style scripts name.
ALLOWED_FIELDS = CONTEXT_FIELDS | {"limb"}
# Fields that only some procedures' code supplies.
FIELD_ONLY_FOR = {
    "root": {"transforaminal-esi", "selective-nerve-root-block", "interlaminar-esi"},
    "pain_area": {"transforaminal-esi", "selective-nerve-root-block", "interlaminar-esi"},
    # every procedure's code names its nerves (the descriptions' labelled target): the narration only in these two
    "nerves": set(PROCEDURES),
}

CLOSING = "This video is for education only. Ask your doctor which treatment is right for you."

WORDS_PER_SECOND = 2.6
MIN_SECONDS, MAX_SECONDS = 100, 170
MAX_GRADE = 8.0

# Short plain stand-ins for the reading-level measure.
PLAIN_CONTEXT = {
    "level": "this level",
    "side": "left",
    "level_words": "between two bones",
    "region_words": "low back",
    "limb": "leg",
    "root": "this",
    "pain_area": "down the leg",
    "nerves": "the two small nerves",
    "needle": "a thin needle",
    "medication": "a steroid",
    "volume": "a small amount",
    "position": "lying down",
    "contrast_pattern_words": "a thin line",
}

# Medical names the videos say and explain; they do not count against the reading level.
MEDICAL_NAMES = (
    "interlaminar",
    "transforaminal",
    "epidural",
    "foramen",
    "foramina",
    "vertebrae",
    "vertebra",
    "vertebral",
    "sacroiliac",
    "sacrum",
    "sacral hiatus",
    "sacral",
    "coccyx",
    "tailbone",
    "fluoroscopy",
    "contrast dye",
    "contrast",
    "corticosteroid",
    "steroid",
    "steroids",
    "dexamethasone",
    "lidocaine",
    "bupivacaine",
    "anesthetic",
    "radiofrequency ablation",
    "radiofrequency",
    "ablation",
    "medial branch",
    "discography",
    "vertebroplasty",
    "kyphoplasty",
    "osteoporosis",
    "manometry",
    "pedicle",
    "pedicles",
    "nucleus",
    "arthrogram",
    "arthritis",
    "inflammation",
    "paralysis",
    "infection",
    "Scotty dog",
    "spinal cord stimulator",
    "stimulator",
    "stimulation",
    "complex regional pain syndrome",
    "CRPS",
    "MRI",
    "FDA",
    "facet",
    "selective nerve root block",
    "caudal",
    "cement",
    "PMMA",
    "antibiotic",
    "diagnostic",
    "degrees Celsius",
    "digital subtraction",
    "transverse process",
    "ligamentum flavum",
    "multifidus",
    "millimeters",
    "milliliters",
    "centimeters",
    "hertz",
    "embolism",
)
_NAME_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(n) for n in sorted(MEDICAL_NAMES, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_NOTATION_RE = re.compile(r"\b[CTLS]\d{1,2}(?:\s?[-–]\s?[CTLS]?\d{1,2})?\b|\bmL\b|°C|\bHz\b|\bpsi\b")


def plain_text(script: Script, technique: str | None = None) -> str:
    """The script as scored for reading level (the words of ``technique``): fields and medical names made plain."""
    text = " ".join(b.text for b in script.filled(dict(PLAIN_CONTEXT, technique=technique)).beats)
    return _NAME_RE.sub("name", _NOTATION_RE.sub("name", text))


def _pyphen_syllables():
    """Make textstat count every syllable with pyphen (no CMU dictionary download)."""
    try:
        from textstat.backend.counts import _count_syllables
    except ImportError:  # textstat before 0.7.4 counts with pyphen only
        return contextlib.nullcontext()
    return mock.patch.object(_count_syllables, "get_cmudict", lambda lang: None)


def reading_grade(script: Script, technique: str | None = None) -> float:
    with _pyphen_syllables():
        return textstat.flesch_kincaid_grade(plain_text(script, technique))


def procedure_technique(video: str, technique: str):
    from spine.procedures.catalog import procedure

    return next(t for t in procedure(video).techniques if t.id == technique)


def techniques(video: str) -> list[str]:
    from spine.procedures.catalog import procedure

    return [t.id for t in procedure(video).techniques]


def requests(video: str) -> list[dict[str, str]]:
    """The narration context of every allowed level and side of ``video``, as the build fills it."""
    from spine.procedures.catalog import narration_context, procedure

    proc = procedure(video)
    sides = ("left", "right") if proc.sided else (None,)
    return [narration_context(proc, level, side) for level in proc.allowed_levels for side in sides]


def default_request(video: str) -> dict[str, str]:
    from spine.procedures.catalog import narration_context, procedure

    proc = procedure(video)
    return narration_context(proc, proc.default_level, None)


def spoken_words(script: Script, context: dict[str, str]) -> int:
    return sum(len(b.text.split()) for b in script.filled(context).beats)


def speech_seconds(script: Script, context: dict[str, str]) -> float:
    return spoken_words(script, context) / WORDS_PER_SECOND


def expected_ids(video: str) -> list[str]:
    """The storyboard ids for ``video``, with its vascular and procedure-specific beats inserted."""
    ids = [beat_id for beat_id, _ in STORYBOARD]
    if video in VASCULAR_CHECK:
        ids.insert(ids.index("confirm") + 1, "vascular")
    for beat_id, after in EXTRA_BEATS.get(video, {}).items():
        ids.insert(ids.index(after) + 1, beat_id)
    return ids


@pytest.fixture(scope="module", params=PROCEDURES)
def script(request) -> Script:
    return load_script(request.param)


def test_every_script_loads(script):
    assert script.title.strip()
    assert script.lang == "en"


def test_beat_ids_follow_the_storyboard(script):
    assert [b.id for b in script.beats] == expected_ids(script.video)


def test_chapters_are_the_storyboard_titles(script):
    wanted = dict(STORYBOARD)
    for beat in script.beats:
        assert beat.chapter in CHAPTERS, f"{script.video}/{beat.id}: chapter '{beat.chapter}'"
        if beat.id in wanted:
            assert beat.chapter == wanted[beat.id], f"{script.video}/{beat.id}"
        if beat.id in EXTRA_CHAPTERS:
            assert beat.chapter in EXTRA_CHAPTERS[beat.id], f"{script.video}/{beat.id}"


def test_only_allowed_fields(script):
    fields = script.fields()
    assert fields <= ALLOWED_FIELDS, f"{script.video}: unknown fields {sorted(fields - ALLOWED_FIELDS)}"
    for name, videos in FIELD_ONLY_FOR.items():
        if name in fields:
            assert script.video in videos, f"{script.video} uses {{{name}}}, which its code does not fill"
    script.filled(PLAIN_CONTEXT)  # the braces are well formed


@pytest.mark.parametrize("video", ["overview", "spine-atlas", *PROCEDURES])
def test_descriptions_read_at_grade_8_or_lower(video):
    """The audio descriptions are heard by patients too: the same plain-words measure as the narration."""
    script = load_script(video).filled(dict(PLAIN_CONTEXT, technique=None))
    words = " ".join(b.describe for b in script.beats if b.describe)
    assert len(words.split()) > 40, video  # every beat but the generic cards has its own
    with _pyphen_syllables():
        grade = textstat.flesch_kincaid_grade(_NAME_RE.sub("name", _NOTATION_RE.sub("name", words)))
    assert grade <= MAX_GRADE, f"{video}: descriptions at grade {grade:.1f}"


@pytest.mark.parametrize("video", ["overview", "spine-atlas", *PROCEDURES])
def test_reading_grade_is_at_most_8(video):
    """Every script, the overview and the atlas included, at every technique its videos speak."""
    script = load_script(video)
    for technique in techniques(video) if video in PROCEDURES else [None]:
        grade = reading_grade(script, technique)
        assert grade <= MAX_GRADE, f"{video} ({technique}): Flesch-Kincaid grade {grade:.1f}"


def test_variants_name_the_procedures_techniques(script):
    """Words by technique are keyed by the procedure's technique ids (or ``other``): a typo
    would silently fall back to ``other``."""
    allowed = set(techniques(script.video)) | {"other"}
    assert script.variant_keys() <= allowed, f"{script.video}: {sorted(script.variant_keys() - allowed)}"


# Words that place pain or a step in another part of the spine than the request's.
ELSEWHERE = {
    "cervical": r"lower back|\blegs?\b|\bchest\b|\bbelly\b",
    "thoracic": r"\bneck\b|lower back|\barms?\b|\blegs?\b",
    "lumbar": r"\bneck\b|\barms?\b|\bchest\b",
    "s1": r"\bneck\b|\barms?\b|\bchest\b",
}


def test_each_region_hears_and_sees_only_its_own_region(script):
    """A video made at C5-C6 speaks of the neck and the arm, one at L4-L5 of the lower back and
    the leg: narration and on-screen words of every allowed request."""
    for context in requests(script.video):
        pattern = ELSEWHERE.get(context["technique"])
        if pattern is None:
            continue
        filled = script.filled(context)
        words = [(b.id, b.text) for b in filled.beats] + [(k, str(v)) for k, v in filled.screen.items()]
        for where, text in words:
            # where the root's own pain goes (the T1 root's to the arm) is checked by dermatome below
            text = text.replace(context["pain_area"], "")
            hit = re.search(pattern, text, re.IGNORECASE)
            assert not hit, f"{script.video} at {context['level']} ({where}): '{hit.group(0)}' in: {text}"


def test_on_screen_cards_are_patient_words(script):
    """The cards of the problem, relief and risks come from the script (plain words, translatable),
    not from the clinical data: short, no bracketed citations, no abbreviations a patient cannot read."""
    for technique in techniques(script.video):
        screen = script.filled(dict(PLAIN_CONTEXT, technique=technique)).screen
        assert {"problem", "relief", "risks"} <= set(screen), f"{script.video}: {sorted(screen)}"
        if procedure_technique(script.video, technique).confirmation.contrast is None:  # no dye: words say the check
            assert isinstance(screen.get("confirm"), str), f"{script.video} ({technique}): no on-screen 'confirm'"
        risks = screen["risks"]
        assert isinstance(risks, list) and 1 <= len(risks) <= 3, risks
        for line in [screen["problem"], screen["relief"], *risks]:
            assert isinstance(line, str) and 1 <= len(line.split()) <= 18, line
            assert not re.search(r"\[|\(|\b(SAP|ventral|infarction|haematoma|intrathecal|radicular)\b", line), line


def test_every_request_fills_and_reads_in_time(script):
    for context in requests(script.video):
        filled = script.filled(context)  # raises on a field the request does not fill
        seconds = speech_seconds(script, context)
        where = f"{script.video} at {context['level']}"
        assert MIN_SECONDS <= seconds <= MAX_SECONDS, f"{where}: about {seconds:.0f} s"
        for beat in filled.beats:
            doubled = re.search(r"\b(\w+) \1\b", beat.text, re.IGNORECASE)
            assert not doubled, f"{where}/{beat.id}: '{doubled.group(0)}' in: {beat.text}"


def test_title_beat_is_one_sentence(script):
    text = script.beat("title").text
    assert len(re.findall(r"[.!?](?:\s|$)", text)) == 1, text


def test_closing_is_the_education_only_line(script):
    assert script.beats[-1].id == "closing"
    assert script.beat("closing").text == CLOSING
    assert script.beat("closing").text == load_script("overview").beat("closing").text


def test_epidural_routes_have_the_live_contrast_check(script):
    if script.video not in VASCULAR_CHECK:
        return
    ids = [b.id for b in script.beats]
    assert ids[ids.index("confirm") + 1] == "vascular"
    text = script.beat("vascular").text.lower()
    assert "live" in text and re.search(r"\bvessel|\bvein", text), text


def test_vascular_beats_match_the_procedure_data():
    """The procedures with a live-contrast beat are those whose data reach the epidural space
    with an injection (spine/procedures/schema.py: every such technique has live contrast)."""
    from spine.procedures.catalog import procedure
    from spine.procedures.schema import EPIDURAL_APPROACHES

    injected = {
        v
        for v in PROCEDURES
        if any(t.approach in EPIDURAL_APPROACHES and t.approach != "epidural_lead" for t in procedure(v).techniques)
    }
    assert injected == VASCULAR_CHECK


def test_radiofrequency_stimulation_and_lesion_numbers():
    rfa = load_script("radiofrequency-ablation")
    stim = rfa.beat("stimulation").text
    assert "50 hertz" in stim and "0.5 volts" in stim and "2 hertz" in stim
    lesion = rfa.beat("lesion").text
    assert "80 to 85 °C" in lesion and "60 to 90 seconds" in lesion


def test_no_advice(script):
    for beat in script.beats:
        for text in [beat.text] + [t for _, t in beat.variants]:
            assert not re.search(r"\byou should\b|\byou must\b|\byou need to\b", text, re.IGNORECASE), (
                f"{script.video}/{beat.id}: {text}"
            )


def filled_at(video: str, level: str, side: str | None = "right") -> Script:
    from spine.procedures.catalog import narration_context, procedure

    proc = procedure(video)
    return load_script(video).filled(narration_context(proc, level, side if proc.sided else None))


def test_cervical_interlaminar_level_is_low():
    where = filled_at("interlaminar-esi", "C7-T1").beat("where").text
    assert "C7-T1" in where and "C6-C7" in where


def test_cervical_transforaminal_warns_and_names_dexamethasone():
    for video in ("transforaminal-esi", "selective-nerve-root-block"):
        text = " ".join(b.text for b in filled_at(video, "C5-C6").beats)
        assert "dexamethasone" in text and "neck" in text and "stroke" in text, video
        lumbar = " ".join(b.text for b in filled_at(video, "L4-L5").beats)
        assert "neck" not in lumbar and "spinal cord" in lumbar, video


# -- issue 14: clinically right words ---------------------------------------------------------------

FDA_SENTENCE = "The FDA warns that, very rarely, epidural steroids cause loss of vision, stroke, paralysis, or death."
# Videos where a steroid goes (or may go) into the epidural space: the same FDA 2014 sentence in each.
EPIDURAL_STEROID = ("interlaminar-esi", "transforaminal-esi", "caudal-esi", "selective-nerve-root-block")
# Videos whose medicine includes a steroid: the common short effects patients notice.
STEROID_VIDEOS = EPIDURAL_STEROID + ("facet-joint-injection", "si-joint-injection")


def _all_requests(video):
    for context in requests(video):
        yield context, load_script(video).filled(context)


@pytest.mark.parametrize("video", EPIDURAL_STEROID)
def test_the_same_fda_sentence_wherever_steroid_reaches_the_epidural_space(video):
    for context, filled in _all_requests(video):
        assert FDA_SENTENCE in filled.beat("after").text, (video, context["level"])


@pytest.mark.parametrize("video", STEROID_VIDEOS)
def test_steroid_videos_name_the_common_short_effects_and_the_rare_serious_ones(video):
    for context, filled in _all_requests(video):
        after = filled.beat("after").text.lower()
        assert re.search(r"flush", after) and "blood sugar" in after and "diabetes" in after, (video, after)
        assert "day or two" in after, (video, after)
        assert "infection" in after and "bleeding" in after, (video, after)
        if video in EPIDURAL_STEROID and video != "selective-nerve-root-block":
            assert "poor sleep" in after and "flare of pain" in after, (video, after)
            assert re.search(r"1 in 1,000 to 1 in 10,000", after), (video, after)  # how rare


# Where the root's pain goes: its dermatome (clinical words a reviewer checks against the literature).
DERMATOME = {
    "C4": "shoulder",
    "C5": "shoulder",
    "C6": "thumb",
    "C7": "middle finger",
    "C8": "little finger",
    "T1": "inner side of the arm",
    "T4": "chest",
    "T10": "navel",
    "T12": "groin",
    "L1": "groin",
    "L2": "thigh",
    "L3": "front of the thigh",
    "L4": "shin",
    "L5": "top of the foot",
    "S1": "sole",
}


@pytest.mark.parametrize("video", ["transforaminal-esi", "selective-nerve-root-block", "interlaminar-esi"])
def test_pain_goes_where_the_roots_dermatome_is(video):
    for context, filled in _all_requests(video):
        problem = filled.beat("problem").text
        root = context["root"]
        if context["technique"] == "thoracic" and video == "interlaminar-esi":
            assert "chest" in problem, problem
            continue
        assert f"the {root} root" in problem, (video, problem)
        if root in DERMATOME:
            assert DERMATOME[root] in problem, (video, context["level"], problem)
        if root == "L1":
            assert "leg" not in problem and "groin" in problem, problem


def test_l1_transforaminal_pain_goes_to_the_groin_not_down_the_leg():
    problem = filled_at("transforaminal-esi", "L1-L2").beat("problem").text
    assert "groin" in problem and "down the leg" not in problem, problem


def test_facet_words_pair_per_level_four_joints_and_lumbar_referral():
    for level in ("L4-L5", "T6-T7", "C4-C5"):
        where = filled_at("facet-joint-injection", level).beat("where").text
        assert "pair at each level" in where and "four" in where, where
        assert "Each bone has one on the left and one on the right" not in where
    problem = filled_at("facet-joint-injection", "L4-L5").beat("problem").text
    assert "buttock" in problem and "thigh" in problem and "knee" in problem, problem
    assert "stay in the" not in problem


def test_medial_branch_words_follow_the_plan_at_every_joint():
    from spine.procedures.planner import plan_needle

    c23 = filled_at("medial-branch-block", "C2-C3")
    assert "third occipital nerve" in c23.beat("where").text
    needle = c23.beat("needle").text
    assert "side of the joint" in needle and "pillar" not in needle, needle
    assert plan_needle("medial-branch-block", "C2-C3", "right").needles[0].target == "third_occipital_nerve"
    t67 = filled_at("medial-branch-block", "T6-T7")
    assert "T5 and T6 medial branch nerves" in t67.beat("where").text
    assert "upper outer corner" in t67.beat("needle").text and "lung" in t67.beat("needle").text
    assert {n.target for n in plan_needle("medial-branch-block", "T6-T7", "left").needles} == {"tp_superolateral"}
    c7t1 = filled_at("medial-branch-block", "C7-T1")
    assert "C7 and C8 medial branch nerves" in c7t1.beat("where").text
    assert [n.target for n in plan_needle("medial-branch-block", "C7-T1", "left").needles] == [
        "pillar_waist",
        "tp_superolateral",
    ]


def test_stimulator_words_state_the_planned_entry_angle():
    from spine.procedures.planner import plan_needle

    needle = filled_at("spinal-cord-stimulator-trial", "L2-L3", "left").beat("needle").text
    low, high = (int(x) for x in re.search(r"about (\d+) to (\d+) degrees", needle).groups())
    assert "shallow angle" not in needle
    for level in ("T12-L1", "L1-L2", "L2-L3"):
        angle = plan_needle("spinal-cord-stimulator-trial", level, "left").angles["angle_to_canal_deg"]
        assert low - 5 <= angle <= high, (level, angle)


def test_selective_block_dye_outlines_one_root_and_names_the_epidural_spread_as_non_selective():
    for level in ("L4-L5", "T7-T8", "C6-C7"):
        filled = filled_at("selective-nerve-root-block", level)
        confirm = filled.beat("confirm").text
        assert "only this one root" in confirm and "no longer be selective" in confirm, confirm
        assert "into the epidural space" not in confirm.replace("none flowing back into the epidural space", "")
        assert "just outside the opening" in filled.beat("needle").text or level == "C6-C7"


def test_vertebroplasty_and_discography_risks_in_proportion():
    after = load_script("vertebroplasty").beat("after").text
    assert "osteoporosis" in after and "sham" in after
    assert "1 in 100" in after and "lungs" in after
    disco = load_script("discography").beat("after").text
    assert "wore out faster" in disco and "debate" in disco


def test_spanish_overview_keeps_the_hedge():
    es = load_script("overview", "es").beat("diagnostic").text
    en = load_script("overview").beat("diagnostic").text
    assert "helps show" in en and "ayuda a mostrar" in es, es


def test_vertebroplasty_reports_the_sham_trials():
    assert "sham" in load_script("vertebroplasty").beat("after").text.lower()


def test_discography_is_a_test_only():
    problem = load_script("discography").beat("problem").text.lower()
    assert "test" in problem and "debated" in problem


def report() -> list[tuple[str, int, float, float]]:
    """(video, words, seconds, grade) at each procedure's default request."""
    rows = []
    for video in PROCEDURES:
        s = load_script(video)
        context = default_request(video)
        rows.append((video, spoken_words(s, context), speech_seconds(s, context), reading_grade(s)))
    return rows


if __name__ == "__main__":  # python tests/test_narration_scripts.py: the table of scripts
    for video, words, seconds, grade in report():
        print(f"{video:32s} {words:4d} words {seconds:6.1f} s  grade {grade:4.1f}")


def test_a_misspelt_or_missing_technique_is_a_clear_error(tmp_path):
    """An educator's typo in a technique key, or a technique with no words, fails with one line
    naming what is allowed, instead of speaking another region's words."""
    from spine.procedures.catalog import narration_context, procedure
    from voiceover.scripts import ScriptError, _parse

    path = tmp_path / "transforaminal-esi.yaml"
    path.write_text(
        "title: T\nbeats:\n  - id: title\n    chapter: Title\n    text:\n"
        "      lumber: Low back words.\n      cervical: Neck words.\n",
        encoding="utf-8",
    )
    script = _parse(path, "transforaminal-esi", "en")
    context = narration_context(procedure("transforaminal-esi"), "L4-L5", "right")
    with pytest.raises(
        ScriptError, match=r"unknown technique\(s\) lumber; this video's techniques: lumbar, s1, thoracic, cervical"
    ):
        script.filled(context)
    path.write_text(
        "title: T\nbeats:\n  - id: title\n    chapter: Title\n    text:\n"
        "      lumbar: Low back words.\n      cervical: Neck words.\n",
        encoding="utf-8",
    )
    script = _parse(path, "transforaminal-esi", "en")
    with pytest.raises(ScriptError, match="beat 'title' has no words for technique 's1'"):
        script.filled(narration_context(procedure("transforaminal-esi"), "S1", "right"))
    assert script.filled(context).beat("title").text == "Low back words."
