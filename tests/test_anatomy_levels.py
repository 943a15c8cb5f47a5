"""Levels, the level parser and the nerve-root exit rule (clinical.md section 1)."""

from __future__ import annotations

import pytest

from spine.anatomy.levels import (
    INTERSPACES,
    NERVE_ROOTS,
    VERTEBRAE,
    Interspace,
    LevelError,
    Vertebra,
    all_level_names,
    describe_level,
    exiting_root,
    parse_level,
    region_of,
    root_exit,
    sacral_root_foramen,
)


def test_counts_per_region():
    counts = {}
    for name in VERTEBRAE:
        counts[region_of(name)] = counts.get(region_of(name), 0) + 1
    assert counts == {"cervical": 7, "thoracic": 12, "lumbar": 5, "sacral": 5, "coccygeal": 4}
    assert len(VERTEBRAE) == 33


def test_names_and_order_cranial_to_caudal():
    assert VERTEBRAE[:8] == ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1")
    assert VERTEBRAE[18:26] == ("T12", "L1", "L2", "L3", "L4", "L5", "S1", "S2")
    assert VERTEBRAE[-5:] == ("S5", "Co1", "Co2", "Co3", "Co4")
    regions = [region_of(v) for v in VERTEBRAE]
    order = ["cervical", "thoracic", "lumbar", "sacral", "coccygeal"]
    assert [order.index(r) for r in regions] == sorted(order.index(r) for r in regions)
    assert Vertebra("L4") < Vertebra("L5") and Vertebra("C7").index + 1 == Vertebra("T1").index


def test_interspaces_are_mobile_pairs_plus_lumbosacral():
    assert INTERSPACES[0] == "C1-C2" and INTERSPACES[-1] == "L5-S1"
    assert len(INTERSPACES) == 24  # C1-C2 ... L4-L5 (23) + L5-S1
    assert "C7-T1" in INTERSPACES and "T12-L1" in INTERSPACES
    assert not any(s.startswith("S") or s.startswith("Co") for s in INTERSPACES)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("L4", "L4"),
        ("l4", "L4"),
        (" T12 ", "T12"),
        ("C1", "C1"),
        ("S1", "S1"),
        ("Co1", "Co1"),
        ("co4", "Co4"),
        ("L4-L5", "L4-L5"),
        ("L4/5", "L4-L5"),
        ("L4/L5", "L4-L5"),
        ("L4-5", "L4-L5"),
        ("l4-l5", "L4-L5"),
        ("L4–L5", "L4-L5"),  # en dash
        ("C7-T1", "C7-T1"),
        ("c7/t1", "C7-T1"),
        ("L5-S1", "L5-S1"),
        ("L5/S1", "L5-S1"),
        ("T12-L1", "T12-L1"),
        ("C1-C2", "C1-C2"),
    ],
)
def test_parser_accepts(text, expected):
    parsed = parse_level(text)
    assert str(parsed) == expected
    assert isinstance(parsed, Interspace if "-" in expected else Vertebra)
    assert parse_level(parsed) is parsed


@pytest.mark.parametrize(
    "text, names",
    [
        ("L6", ["'L6'", "L1–L5"]),
        ("T13", ["'T13'", "T1–T12"]),
        ("C0", ["'C0'", "C1–C7"]),
        ("S6", ["'S6'", "S1–S5"]),
        ("Co5", ["'Co5'", "Co1–Co4"]),
        ("L4-L6", ["'L6'", "L4-L6"]),
        ("L5-L4", ["L5-L4", "L4-L5"]),
        ("L3-L5", ["not adjacent"]),
        ("S1-S2", ["fused", "L5-S1"]),
        ("S5-Co1", ["fused"]),
        ("Co1-Co2", ["fused"]),
        ("X4", ["'X4'"]),
        ("L4-L5-S1", ["'L4-L5-S1'"]),
        ("", ["empty"]),
        ("L", ["'L'"]),
    ],
)
def test_parser_rejects_with_one_line_message_naming_valid_forms(text, names):
    with pytest.raises(LevelError) as info:
        parse_level(text)
    message = str(info.value)
    assert "\n" not in message
    for fragment in names:
        assert fragment in message
    # every message tells the reader what to write instead
    for form in ("L4", "L4-L5", "L4/5", "C7-T1"):
        assert form in message
    assert isinstance(info.value, ValueError)


def test_example_message_from_the_brief():
    with pytest.raises(LevelError, match=r"^no vertebra 'L6': the lumbar spine has L1–L5; give a vertebra"):
        parse_level("L6")


def test_interspace_dataclass():
    space = Interspace("L4", "L5")
    assert str(space) == "L4-L5" and space.upper == "L4" and space.lower == "L5"
    assert space.region == "lumbar"
    assert Interspace("C7", "T1").region == "cervical"
    assert Interspace("L5", "S1").region == "lumbar"
    assert Interspace("L4", "L5") == parse_level("L4/5")
    assert hash(Interspace("L4", "L5")) == hash(parse_level("l4-5"))
    with pytest.raises(LevelError):
        Interspace("S1", "S2")
    with pytest.raises(AttributeError):
        space.upper = "L3"  # frozen
    assert not Interspace("C1", "C2").has_disc and Interspace("C2", "C3").has_disc


def test_vertebra_dataclass():
    v = Vertebra("l4")
    assert v.name == "L4" and str(v) == "L4" and v.region == "lumbar" and v.number == 4
    assert Vertebra("S1").region == "sacral" and not Vertebra("S1").is_mobile
    assert Vertebra("Co2").region == "coccygeal"
    with pytest.raises(LevelError):
        Vertebra("L6")


def test_nerve_roots_31_pairs_in_order():
    assert len(NERVE_ROOTS) == 31
    assert NERVE_ROOTS[:9] == ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "T1")
    assert NERVE_ROOTS[-7:] == ("L5", "S1", "S2", "S3", "S4", "S5", "Co1")
    counts = {}
    for root in NERVE_ROOTS:
        counts[region_of(root)] = counts.get(region_of(root), 0) + 1
    assert counts == {"cervical": 8, "thoracic": 12, "lumbar": 5, "sacral": 5, "coccygeal": 1}


# Every interspace and the root that exits there (clinical.md section 1).
EXPECTED_EXIT = {
    "C1-C2": "C2",
    "C2-C3": "C3",
    "C3-C4": "C4",
    "C4-C5": "C5",
    "C5-C6": "C6",
    "C6-C7": "C7",
    "C7-T1": "C8",
    "T1-T2": "T1",
    "T2-T3": "T2",
    "T3-T4": "T3",
    "T4-T5": "T4",
    "T5-T6": "T5",
    "T6-T7": "T6",
    "T7-T8": "T7",
    "T8-T9": "T8",
    "T9-T10": "T9",
    "T10-T11": "T10",
    "T11-T12": "T11",
    "T12-L1": "T12",
    "L1-L2": "L1",
    "L2-L3": "L2",
    "L3-L4": "L3",
    "L4-L5": "L4",
    "L5-S1": "L5",
}


@pytest.mark.parametrize("space", INTERSPACES)
def test_exiting_root_every_level(space):
    assert exiting_root(space) == EXPECTED_EXIT[space]
    assert exiting_root(parse_level(space)) == EXPECTED_EXIT[space]
    assert root_exit(EXPECTED_EXIT[space]) == space


def test_exit_rule_examples_and_sacral_roots():
    assert exiting_root("C5-C6") == "C6" and exiting_root("C5/6") == "C6"
    assert exiting_root("L4/5") == "L4"
    assert root_exit("C1") == "skull-C1"
    assert [sacral_root_foramen(r) for r in ("S1", "S2", "S3", "S4", "S5", "Co1")] == [
        "S1",
        "S2",
        "S3",
        "S4",
        "hiatus",
        "hiatus",
    ]
    assert root_exit("S1") == "S1"
    # every root exits somewhere, and no two roots share an exit except at the hiatus
    exits = [root_exit(r) for r in NERVE_ROOTS]
    assert len(set(exits)) == len(exits) - 1
    with pytest.raises(LevelError):
        exiting_root("L4")  # a vertebra, not an interspace
    with pytest.raises(LevelError):
        sacral_root_foramen("L5")
    with pytest.raises(LevelError):
        root_exit("C9")


def test_level_names_and_words_for_narration():
    names = all_level_names()
    assert names[:4] == ["C1", "C1-C2", "C2", "C2-C3"]
    assert names.index("L4") < names.index("L4-L5") < names.index("L5") < names.index("L5-S1")
    assert set(VERTEBRAE) | set(INTERSPACES) == set(names)
    assert describe_level("L4-L5") == "the space between the fourth and fifth lumbar vertebrae"
    assert describe_level("L4") == "the fourth lumbar vertebra"
    assert "first thoracic" in describe_level("C7-T1")
