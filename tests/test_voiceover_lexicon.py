"""The pronunciation lexicon: every entry, and the exact text the speech engine receives."""

from __future__ import annotations

import pytest

from voiceover.lexicon import load_lexicon

# written (what captions show)  ->  what the engine is given
ENGLISH = [
    ("The needle goes to the L4-L5 foramen.", "The needle goes to the L4 L5 fo-raymen."),
    ("Levels C7-T1, L5–S1 and T12-L1.", "Levels C7 T1, L5 S1 and T12 L1."),
    ("The S1 nerve root.", "The S1 nerve root."),
    ("At L4/5 and at L4-5.", "At L4 L5 and at L4 L5."),
    ("About 1-2 mL, or 0.5–1.5 mL.", "About 1 to 2 milliliters, or 0.5 to 1.5 milliliters."),
    ("Then 1 mL of lidocaine.", "Then 1 milliliter of lie-doe-kane."),
    ("About 1 to 2 mL of contrast.", "About 1 to 2 milliliters of contrast."),
    ("40 mg of triamcinolone.", "40 milligrams of try-am-sinnolone."),
    ("Just 1 mg of it.", "Just 1 milligram of it."),
    ("Dexamethasone 10 mg/mL.", "dexa-methasone 10 milligrams per milliliter."),
    ("Only 1-2 mm deep, 1 mm from it.", "Only 1 to 2 millimeters deep, 1 millimeter from it."),
    ("About 1 cm, or 5 cm.", "About 1 centimeter, or 5 centimeters."),
    ("Between 0.5 to 1 mg.", "Between 0.5 to 1 milligrams."),
    ("Heated to 80 °C, or 90°C.", "Heated to 80 degrees Celsius, or 90 degrees Celsius."),
    ("A 50% or 25 % relief.", "A 50 percent or 25 percent relief."),
    ("A 22 G needle, a 25G needle, a 20-G needle.", "A 22 gauge needle, a 25 gauge needle, a 20 gauge needle."),
    ("Large joints, e.g. the hip.", "Large joints, for example, the hip."),
    ("The target, i.e. the facet.", "The target, that is, the facet."),
    ("The AP view and the PA view.", "The A P view and the P A view."),
    ("The zygapophyseal joints.", "The zygapofuh-seeal joints."),
    ("Through the foramina.", "Through the fo-rammina."),
    ("Foraminal narrowing.", "fo-ramminal narrowing."),
    ("A transforaminal injection.", "A transfo-ramminal injection."),
    ("Under fluoroscopy.", "Under flooroscopy."),
    ("With fluoroscopic guidance.", "With flooroscopic guidance."),
    ("An interlaminar approach.", "An interlaminer approach."),
    ("Corticosteroids calm swelling.", "cortico-steroids calm swelling."),
    ("The sacroiliac joint.", "The sayckro-illy-ack joint."),
    ("Kyphoplasty and vertebroplasty.", "kyfo-plasty and vertebroh-plasty."),
    ("Radiofrequency ablation.", "radio-frequency ablation."),
    ("Dexamethasone or methylprednisolone.", "dexa-methasone or methylpred-nissolone."),
    ("Betamethasone.", "Betamethasone."),
    ("Bupivacaine lasts longer.", "bue-pivacaine lasts longer."),
    ("Discography.", "Discography."),
    ("An epidural injection.", "An epi-dural injection."),
    ("Not intrathecal, not subarachnoid.", "Not intra-theecal, not sub-arracknoid."),
    ("The coccygeal nerves.", "The cock-sidjeeal nerves."),
    ("Iohexol is a contrast.", "eye-oh-hexol is a contrast."),
    ("Physiatrists practise physiatry.", "fuh-zyatrists practise fuh-zyatry."),
    ("The cauda equina.", "The cauda uh-kwine-uh."),
    ("Uncovertebral joints.", "unco-vertebral joints."),
    ("The nucleus pulposus.", "The nucleus pul-posus."),
    ("Paresthesias in the leg.", "pares-theezhas in the leg."),
    ("The ligamentum flavum.", "The ligamentum flayvum."),
    ("A 20 G Tuohy needle.", "A 20 gauge tooey needle."),
    ("Spondylolisthesis.", "spondylo-lis-theesis."),
    ("The vertebrae.", "The vertebrae."),
    ("The thoracic spine.", "The thoracic spine."),
    ("Spinal stenosis.", "Spinal stenosis."),
    ("Radiculopathy.", "Radiculopathy."),
]

SPANISH = [
    ("La aguja va al agujero L4-L5.", "La aguja va al agujero L4 L5."),
    ("En L4/5 y en L5-1.", "En L4 L5 y en L5 L1."),
    ("Entre 1-2 mL de contraste.", "Entre 1 a 2 mililitros de contraste."),
    ("Solo 1 mL, o 0,5-1 mL.", "Solo 1 mililitro, o 0,5 a 1 mililitros."),
    ("Unos 40 mg.", "Unos 40 miligramos."),
    ("Solo 1 mg.", "Solo 1 miligramo."),
    ("A 4 mg/mL.", "A 4 miligramos por mililitro."),
    ("Entre 1-2 mm, o 1 mm.", "Entre 1 a 2 milímetros, o 1 milímetro."),
    ("Mide 1 cm o 3 cm.", "Mide 1 centímetro o 3 centímetros."),
    ("A 80 °C.", "A 80 grados Celsius."),
    ("Un alivio del 50 %.", "Un alivio del 50 por ciento."),
    ("Una aguja de 22 G.", "Una aguja de calibre 22."),
    ("Articulaciones grandes, p. ej. la cadera.", "Articulaciones grandes, por ejemplo, la cadera."),
    ("La vista AP, el cemento PMMA y la FDA.", "La vista a pe, el cemento pe eme eme a y la FDA."),
    ("Menos de 50 psi, a 2 Hz.", "Menos de 50 libras por pulgada cuadrada, a 2 hercios."),
]


@pytest.mark.parametrize("written, engine_text", ENGLISH)
def test_english_engine_text(written, engine_text):
    assert load_lexicon("en").spoken(written) == engine_text


@pytest.mark.parametrize("written, engine_text", SPANISH)
def test_spanish_engine_text(written, engine_text):
    assert load_lexicon("es").spoken(written) == engine_text


@pytest.mark.parametrize("lang, table", [("en", ENGLISH), ("es", SPANISH)])
def test_every_lexicon_entry_is_listed_above(lang, table):
    lexicon = load_lexicon(lang)
    fired: list[str] = []
    for written, _ in table:
        lexicon.spoken(written, fired)
    said_as_written = {r.id for r in lexicon.words if r.say is None}
    unlisted = {r.id for r in lexicon.rules} - set(fired) - said_as_written
    assert not unlisted, f"add an example of these {lang} lexicon entries to the table: {sorted(unlisted)}"
    listed_words = " ".join(w for w, _ in table).lower()
    assert all(r.id.lower() in listed_words for r in lexicon.words)


def test_the_words_piper_gets_wrong_are_all_in_the_lexicon():
    words = {r.id for r in load_lexicon("en").words}
    for word in (
        "zygapophyseal",
        "foramen",
        "foramina",
        "fluoroscopy",
        "fluoroscopic",
        "transforaminal",
        "interlaminar",
        "corticosteroid",
        "sacroiliac",
        "kyphoplasty",
        "vertebroplasty",
        "radiofrequency",
        "dexamethasone",
        "methylprednisolone",
        "discography",
        "epidural",
    ):
        assert word in words


def test_respellings_phonemize_with_the_intended_stress():
    """piper turns text into phonemes with espeak-ng; the respelling must give the stressed syllables we want."""
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()
    lexicon = load_lexicon("en")
    wrong = []
    for rule in lexicon.words:
        for text in (rule.id, rule.id.capitalize(), f"the {rule.id} here"):
            phonemes = "".join("".join(s) for s in phonemizer.phonemize("en-us", lexicon.spoken(text)))
            missing = [frag for frag in rule.ipa if frag not in phonemes]
            if missing:
                wrong.append(f"{text!r} -> {phonemes} lacks {missing}")
    assert not wrong, "\n".join(wrong)


def test_levels_are_letters_and_numbers_never_minus_or_slash():
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()
    for written in ("L4-L5", "L4/5", "C7-T1", "L5-S1"):
        phonemes = "".join("".join(s) for s in phonemizer.phonemize("en-us", load_lexicon("en").spoken(written)))
        assert "maɪnəs" not in phonemes and "slˈæʃ" not in phonemes and "dˈæʃ" not in phonemes
        assert phonemes.count("ˈɛ") >= 2 or "sˈiː" in phonemes  # two letter names: "el ... el", "see ... tee"


def test_a_language_without_a_section_passes_text_through():
    assert load_lexicon("de").spoken("L4-L5 mit 2 mL") == "L4-L5 mit 2 mL"
