"""Spinal levels: vertebrae, interspaces, nerve roots and where each root exits.

The names and rules here follow section 1 of the project's ``shared/reference/clinical.md``:

* vertebrae C1-C7, T1-T12, L1-L5 (24 movable), the fused sacrum S1-S5 and a coccyx of
  3-5 fused segments, drawn as four (Co1-Co4);
* 31 pairs of nerve roots: 8 cervical, 12 thoracic, 5 lumbar, 5 sacral, 1 coccygeal;
* root exit: C1 exits between the skull and C1; C2-C7 exit **above** the same-numbered
  vertebra (the C6 root at the C5-C6 foramen); C8 exits at C7-T1; from T1 down each root
  exits **below** its own pedicle (the L4 root at the L4-L5 foramen, the S1 root through
  the S1 sacral foramina).

An *interspace* is the joint between two adjacent vertebrae that move on each other (disc,
facet joints, foramina, interlaminar window): C1-C2 down to L5-S1. Inside the fused
sacrum and coccyx there are no interspaces, so ``S1-S2`` is rejected while ``L5-S1`` is
accepted.
"""

from __future__ import annotations

from spine.errors import SpineError

import re
from dataclasses import dataclass

__all__ = [
    "REGIONS",
    "VERTEBRAE",
    "MOBILE_VERTEBRAE",
    "INTERSPACES",
    "NERVE_ROOTS",
    "LevelError",
    "Vertebra",
    "Interspace",
    "Level",
    "region_of",
    "parse_level",
    "vertebra",
    "interspace",
    "exiting_root",
    "root_exit",
    "sacral_root_foramen",
    "all_level_names",
    "describe_level",
]

# region -> (letter used in names, number of segments); clinical.md section 1.
_REGION_SPEC = (
    ("cervical", "C", 7),
    ("thoracic", "T", 12),
    ("lumbar", "L", 5),
    ("sacral", "S", 5),
    ("coccygeal", "Co", 4),  # 3-5 fused segments; the model draws 4
)
REGIONS: tuple[str, ...] = tuple(r for r, _, _ in _REGION_SPEC)
_LETTER_REGION = {letter: region for region, letter, _ in _REGION_SPEC}
_REGION_COUNT = {region: n for region, _, n in _REGION_SPEC}
_REGION_LETTER = {region: letter for region, letter, _ in _REGION_SPEC}

VERTEBRAE: tuple[str, ...] = tuple(f"{letter}{k}" for _, letter, n in _REGION_SPEC for k in range(1, n + 1))
_INDEX = {name: i for i, name in enumerate(VERTEBRAE)}

# The 24 vertebrae that move on each other (C1 ... L5).
MOBILE_VERTEBRAE: tuple[str, ...] = VERTEBRAE[: _INDEX["L5"] + 1]

# Interspaces: every pair of adjacent mobile vertebrae, plus the lumbosacral junction.
INTERSPACES: tuple[str, ...] = tuple(f"{a}-{b}" for a, b in zip(MOBILE_VERTEBRAE, MOBILE_VERTEBRAE[1:])) + ("L5-S1",)

# 31 pairs: C1-C8, T1-T12, L1-L5, S1-S5, Co1 (clinical.md section 1).
NERVE_ROOTS: tuple[str, ...] = (
    tuple(f"C{k}" for k in range(1, 9))
    + tuple(f"T{k}" for k in range(1, 13))
    + tuple(f"L{k}" for k in range(1, 6))
    + tuple(f"S{k}" for k in range(1, 6))
    + ("Co1",)
)

_FORMS = "give a vertebra like L4 or an interspace of two adjacent levels like L4-L5, L4/5 or C7-T1"


class LevelError(SpineError, ValueError):
    """A level that does not exist, or two levels that are not an interspace.

    The message is one line: what was wrong, and the valid forms.
    """


def _region_range(region: str) -> str:
    letter = _REGION_LETTER[region]
    return f"{letter}1–{letter}{_REGION_COUNT[region]}"


def _region_phrase(region: str) -> str:
    return (
        {
            "cervical": "the cervical spine has",
            "thoracic": "the thoracic spine has",
            "lumbar": "the lumbar spine has",
            "sacral": "the sacrum has",
            "coccygeal": "the coccyx is drawn as",
        }[region]
        + " "
        + _region_range(region)
    )


def _check_vertebra(name: str, context: str | None = None) -> str:
    """Canonical vertebra name for ``name`` or a LevelError naming what is wrong."""
    m = re.fullmatch(r"\s*(co|c|t|l|s)\s*(\d+)\s*", str(name), flags=re.IGNORECASE)
    where = f" in '{context}'" if context and context != name else ""
    if not m:
        raise LevelError(f"cannot read level '{name}'{where}: {_FORMS}")
    letter = m.group(1).capitalize()
    number = int(m.group(2))
    canonical = f"{letter}{number}"
    if canonical in _INDEX:
        return canonical
    region = _LETTER_REGION[letter]
    extra = " (the skull is not a level)" if canonical == "C0" else ""
    raise LevelError(f"no vertebra '{canonical}'{where}: {_region_phrase(region)}{extra}; {_FORMS}")


def _region_letter(name: str) -> str:
    """The region letters of a checked vertebra name ("Co", "C", "T", "L" or "S")."""
    found = re.match(r"(Co|C|T|L|S)", name)
    if found is None:
        raise LevelError(f"'{name}' does not start with a region letter (C, T, L, S or Co)")
    return found.group(1)


def region_of(name) -> str:
    """ "cervical" | "thoracic" | "lumbar" | "sacral" | "coccygeal" for a vertebra or root name.

    Accepts vertebra names ("L4"), nerve-root names ("C8", "Co1"), :class:`Vertebra` and
    :class:`Interspace` (the region of its upper vertebra).
    """
    if isinstance(name, Interspace):
        return region_of(name.upper)
    if isinstance(name, Vertebra):
        name = name.name
    text = str(name).strip()
    if text.upper() == "C8":
        return "cervical"
    return _LETTER_REGION[_region_letter(_check_vertebra(text))]


@dataclass(frozen=True, order=False)
class Vertebra:
    """One vertebra by name (``Vertebra("L4")``); the name is validated and normalised."""

    name: str

    def __post_init__(self):
        object.__setattr__(self, "name", _check_vertebra(self.name))

    def __str__(self) -> str:
        return self.name

    @property
    def region(self) -> str:
        return region_of(self.name)

    @property
    def index(self) -> int:
        """Position in :data:`VERTEBRAE` (0 = C1, cranial to caudal)."""
        return _INDEX[self.name]

    @property
    def number(self) -> int:
        return int(re.sub(r"\D", "", self.name))

    @property
    def is_mobile(self) -> bool:
        return self.name in MOBILE_VERTEBRAE

    def __lt__(self, other: "Vertebra") -> bool:
        return self.index < other.index


@dataclass(frozen=True)
class Interspace:
    """Two adjacent vertebrae that move on each other: ``Interspace("L4", "L5")``.

    ``str(Interspace("L4", "L5")) == "L4-L5"``; ``upper``/``lower`` are vertebra names;
    ``region`` is the region of the upper vertebra (C7-T1 is "cervical", L5-S1 "lumbar").
    """

    upper: str
    lower: str

    def __post_init__(self):
        upper = _check_vertebra(str(self.upper))
        lower = _check_vertebra(str(self.lower))
        text = f"{upper}-{lower}"
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "lower", lower)
        if text in INTERSPACES:
            return
        iu, il = _INDEX[upper], _INDEX[lower]
        if il == iu - 1:
            raise LevelError(
                f"'{text}' is not an interspace: levels go cranial to caudal, so write {lower}-{upper}; {_FORMS}"
            )
        if il != iu + 1:
            raise LevelError(f"'{text}' is not an interspace: {upper} and {lower} are not adjacent; {_FORMS}")
        raise LevelError(
            f"'{text}' is not an interspace: the sacrum (S1–S5) and coccyx are fused, so "
            f"the lowest interspace is L5-S1; {_FORMS}"
        )

    def __str__(self) -> str:
        return f"{self.upper}-{self.lower}"

    @property
    def name(self) -> str:
        return str(self)

    @property
    def region(self) -> str:
        return region_of(self.upper)

    @property
    def index(self) -> int:
        """Position in :data:`INTERSPACES` (0 = C1-C2)."""
        return INTERSPACES.index(str(self))

    @property
    def vertebrae(self) -> tuple[Vertebra, Vertebra]:
        return Vertebra(self.upper), Vertebra(self.lower)

    @property
    def has_disc(self) -> bool:
        """C1-C2 has no disc; every interspace from C2-C3 to L5-S1 has one."""
        return str(self) != "C1-C2"


Level = Vertebra | Interspace


def parse_level(text) -> Vertebra | Interspace:
    """Parse ``L4``, ``L4-L5``, ``L4/L5``, ``L4/5``, ``L4-5``, ``l4-l5``, ``C7-T1``, ``L5-S1``.

    Already-parsed :class:`Vertebra` / :class:`Interspace` objects are returned unchanged.
    Raises :class:`LevelError` (a ValueError) with a one-line message otherwise.
    """
    if isinstance(text, (Vertebra, Interspace)):
        return text
    raw = str(text)
    s = raw.strip().replace("–", "-").replace("—", "-")
    if not s:
        raise LevelError(f"empty level: {_FORMS}")
    parts = re.split(r"\s*[-/]\s*", s)
    if len(parts) == 1:
        return Vertebra(_check_vertebra(parts[0], raw))
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise LevelError(f"cannot read level '{raw}': {_FORMS}")
    upper = _check_vertebra(parts[0], raw)
    lower_text = parts[1]
    if re.fullmatch(r"\d+", lower_text):  # "L4-5", "L4/5": same region letter
        lower_text = _region_letter(upper) + lower_text
    lower = _check_vertebra(lower_text, raw)
    return Interspace(upper, lower)


def vertebra(level) -> Vertebra:
    """A :class:`Vertebra` from a name or object; LevelError for an interspace."""
    parsed = parse_level(level)
    if not isinstance(parsed, Vertebra):
        raise LevelError(f"'{parsed}' is an interspace, a vertebra is needed here (like L4)")
    return parsed


def interspace(level) -> Interspace:
    """An :class:`Interspace` from a name or object; LevelError for a single vertebra."""
    parsed = parse_level(level)
    if not isinstance(parsed, Interspace):
        raise LevelError(f"'{parsed}' is a vertebra, an interspace is needed here (like L4-L5, L4/5 or C7-T1)")
    return parsed


def exiting_root(level) -> str:
    """The nerve root that exits at the foramen of an interspace (clinical.md section 1).

    C1-C2 -> "C2", C5-C6 -> "C6", C7-T1 -> "C8", T12-L1 -> "T12", L4-L5 -> "L4",
    L5-S1 -> "L5". (The C1 root exits between the skull and C1: see :func:`root_exit`.)
    """
    space = interspace(level)
    if space.region == "cervical":
        if space.upper == "C7":
            return "C8"
        return space.lower  # C2-C7 exit above the same-numbered vertebra
    return space.upper  # T1 and below exit below their own pedicle


def sacral_root_foramen(root: str) -> str:
    """Where a sacral or coccygeal root leaves the sacrum.

    S1-S4 leave through the sacral foramina of the same number (returned as "S1" ...
    "S4": the foramen pair between that segment and the next, with a posterior and an
    anterior opening); S5 and Co1 leave at the sacral hiatus / sacrococcygeal junction
    (returned as "hiatus").
    """
    name = str(root).strip()
    m = re.fullmatch(r"(s|co)(\d+)", name, flags=re.IGNORECASE)
    if not m:
        raise LevelError(f"'{root}' is not a sacral or coccygeal root: give one of S1–S5 or Co1")
    canonical = f"{m.group(1).capitalize()}{int(m.group(2))}"
    if canonical not in NERVE_ROOTS:
        raise LevelError(f"no root '{canonical}': the sacral roots are S1–S5 and the coccygeal root is Co1")
    if canonical in ("S1", "S2", "S3", "S4"):
        return canonical
    return "hiatus"


def root_exit(root: str) -> str:
    """Where any of the 31 roots exits: "skull-C1", an interspace like "L4-L5", "S1".."S4"
    (sacral foramina) or "hiatus"."""
    name = str(root).strip()
    m = re.fullmatch(r"(co|c|t|l|s)(\d+)", name, flags=re.IGNORECASE)
    canonical = f"{m.group(1).capitalize()}{int(m.group(2))}" if m else name
    if canonical not in NERVE_ROOTS:
        raise LevelError(f"no root '{root}': the 31 pairs are C1–C8, T1–T12, L1–L5, S1–S5 and Co1")
    if canonical == "C1":
        return "skull-C1"
    for space in INTERSPACES:
        if exiting_root(space) == canonical:
            return space
    return sacral_root_foramen(canonical)


def all_level_names() -> list[str]:
    """Every vertebra and interspace, cranial to caudal, interleaved (C1, C1-C2, C2, ...)."""
    out: list[str] = []
    for name in VERTEBRAE:
        out.append(name)
        for space in INTERSPACES:
            if space.startswith(name + "-"):
                out.append(space)
    return out


_REGION_WORD = {
    "cervical": "cervical (neck)",
    "thoracic": "thoracic (chest)",
    "lumbar": "lumbar (lower back)",
    "sacral": "sacral",
    "coccygeal": "coccygeal (tailbone)",
}


def _ordinal(n: int) -> str:
    return {
        1: "first",
        2: "second",
        3: "third",
        4: "fourth",
        5: "fifth",
        6: "sixth",
        7: "seventh",
        8: "eighth",
        9: "ninth",
        10: "tenth",
        11: "eleventh",
        12: "twelfth",
    }[n]


def _vertebra_words(v: Vertebra) -> str:
    if v.region == "sacral":
        return f"the {_ordinal(v.number)} sacral segment"
    if v.region == "coccygeal":
        return f"the {_ordinal(v.number)} coccygeal segment"
    return f"the {_ordinal(v.number)} {v.region} vertebra"


def describe_level(level) -> str:
    """Words for narration: "the fourth lumbar vertebra", or for an interspace
    "the space between the fourth and fifth lumbar vertebrae"."""
    parsed = parse_level(level)
    if isinstance(parsed, Vertebra):
        return _vertebra_words(parsed)
    up, lo = parsed.vertebrae
    if up.region == lo.region:
        return f"the space between the {_ordinal(up.number)} and {_ordinal(lo.number)} {up.region} vertebrae"
    return f"the space between {_vertebra_words(up)} and {_vertebra_words(lo)}"


def neighbours(level: str) -> list[str]:
    """The level with the vertebrae above and below, for a zoomed drawing."""
    parsed = parse_level(level)
    names = [parsed.upper, parsed.lower] if isinstance(parsed, Interspace) else [parsed.name]
    first, last = VERTEBRAE.index(names[0]), VERTEBRAE.index(names[-1])
    chosen = list(VERTEBRAE[max(first - 1, 0) : last + 2])
    return chosen
