"""The procedures: loaded from ``data/*.yaml``, checked, and offered as videos.

* :func:`load_procedures` reads and validates every data file (:mod:`.schema`); a broken
  file raises :class:`ProcedureDataError` with one line: ``<file>: <field path>: <problem>``.
* :func:`procedure` returns one by name.
* :func:`video_specs` gives one :class:`spine.videos.VideoSpec` per procedure, with the
  allowed levels and sides, the defaults, the "why not" clause for a refused level, and the
  narration context (:func:`narration_context`).

Narration context (the fields the scripts in ``voiceover/scripts/<lang>/<name>.yaml`` use):

=========================  ==================================================================
``level``                  the level, e.g. ``L4-L5``, ``S1``, ``S5`` (caudal: the hiatus)
``side``                   ``left`` / ``right`` (absent for the unsided caudal injection)
``level_words``            :func:`describe_level` or the file's ``level_words`` override
``region_words``           "neck", "upper back" (T1-T4), "mid back", "lower back" or "sacrum"
``limb``                   "arm", "chest wall" or "leg": where a motor test would twitch
``pain_area``              where the nerve pain of ``root`` is felt, its dermatome in plain words
                           ("into the groin" for L1, "down the arm to the thumb" for C6;
                           :data:`PAIN_AREA`)
``root``                   the root exiting at that foramen (L4-L5 -> L4, C5-C6 -> C6,
                           C7-T1 -> C8, L5-S1 -> L5, S1 -> S1); for a vertebra the root
                           leaving below its pedicle (thoracic/lumbar) or through its sacral
                           foramen; for the SCS trial the root at the lead tip (T8)
``nerves``                 e.g. "the L3 and L4 medial branch nerves", "the L4 nerve root"
``needle``                 e.g. "a thin 22-gauge needle"
``medication``, ``volume`` e.g. "a steroid, dexamethasone, mixed with saline", "2 to 4 millilitres"
``position``               e.g. "lying face down"
``contrast_pattern_words`` what the contrast (or its stand-in check) looks like
``entry_side``             side of the skin entry (differs from ``side`` only for discography)
=========================  ==================================================================
"""

from __future__ import annotations

from spine.errors import SpineError

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from spine.anatomy.levels import (
    Interspace,
    LevelError,
    Vertebra,
    describe_level,
    exiting_root,
    parse_level,
    region_of,
)
from spine.errors import RequestError
from spine.yaml_files import read_yaml
from spine.procedures.schema import CONTRAST_PATTERNS, Procedure, Technique

__all__ = [
    "DATA_DIR",
    "PROCEDURE_ORDER",
    "SCENE",
    "ProcedureDataError",
    "load_procedures",
    "load_procedure_file",
    "procedure",
    "narration_context",
    "root_for",
    "nerves_words",
    "entry_side",
    "summarise_levels",
    "PAIN_AREA",
    "level_refusal",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
SCENE = "scenes.procedure_scene:ProcedureScene"

# The order ``render.py list`` shows them in (clinical.md section 3).
PROCEDURE_ORDER = (
    "interlaminar-esi",
    "transforaminal-esi",
    "selective-nerve-root-block",
    "caudal-esi",
    "facet-joint-injection",
    "medial-branch-block",
    "radiofrequency-ablation",
    "si-joint-injection",
    "discography",
    "vertebroplasty",
    "spinal-cord-stimulator-trial",
)

# Where the nerve pain of a root at each region is felt ("pain down the {limb}").
# Keyed by technique (the cervical interlaminar technique reaches T1-T2, whose root serves the
# arm) and else by the level's region.
LIMB_WORDS = {
    "cervical": "arm",
    "thoracic": "chest wall",
    "lumbar": "leg",
    "sacral": "leg",
    "coccygeal": "leg",
    "s1": "leg",
}

# Where a root's nerve pain is felt: its dermatome in plain words, read after "spreads" or "goes"
# ("nerve pain that spreads into the groin"). Standard dermatome maps (ASIA/ISNCSCI key sensory
# points; StatPearls "Anatomy, Back, Dermatomes"): C6 thumb, C7 middle finger, C8 little finger,
# T1 inner arm, T4 nipple line, T10 navel, T12 above the groin, L1 groin, L2 front of the upper
# thigh, L3 front of the thigh to the knee, L4 inner shin, L5 top of the foot and big toe,
# S1 sole and outer edge of the foot, S2 back of the thigh.
PAIN_AREA = {
    "C1": "to the back of the head",
    "C2": "to the back of the head",
    "C3": "to the back of the head and the upper neck",
    "C4": "to the base of the neck and the top of the shoulder",
    "C5": "to the shoulder and the outer side of the upper arm",
    "C6": "down the arm to the thumb",
    "C7": "down the arm to the middle finger",
    "C8": "down the arm to the little finger",
    "T1": "down the inner side of the arm",
    "T2": "to the armpit and the top of the chest",
    **{f"T{k}": "in a band around the chest" for k in range(3, 7)},
    **{f"T{k}": "in a band around the chest and the upper belly" for k in range(7, 10)},
    "T10": "in a band around the belly, at the level of the navel",
    "T11": "in a band around the lower belly",
    "T12": "in a band around the lower belly, just above the groin",
    "L1": "into the groin",
    "L2": "to the front of the upper thigh",
    "L3": "down the front of the thigh to the knee",
    "L4": "over the knee and down the inner side of the shin",
    "L5": "down the outer side of the leg to the top of the foot and the big toe",
    "S1": "down the back of the leg to the sole and the outer edge of the foot",
    "S2": "down the back of the thigh",
    **{r: "to the seat, around the tailbone" for r in ("S3", "S4", "S5", "Co1")},
}

REGION_WORDS = {
    "cervical": "neck",
    "thoracic": "mid back",
    "lumbar": "lower back",
    "sacral": "sacrum",
    "coccygeal": "sacrum",
}


class ProcedureDataError(SpineError, ValueError):
    """A procedure data file is missing, unreadable or breaks a rule; the message is one line."""


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            if str(part).startswith(("function-", "literal[", "union[", "tagged-union")):
                continue
            out += ("." if out else "") + str(part)
    return out


def load_procedure_file(path: Path) -> Procedure:
    """Read and validate one data file; the file's stem must be the procedure's name."""
    path = Path(path)
    raw = read_yaml(path, ProcedureDataError, label=path.name)
    if not isinstance(raw, dict):
        raise ProcedureDataError(f"{path.name}: expected a mapping of procedure fields at the top")
    try:
        proc = Procedure.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        where = _loc(tuple(err.get("loc", ())))
        where = f"{where}: " if where else ""
        raise ProcedureDataError(f"{path.name}: {where}{msg}{more}".replace("\n", " ")) from None
    except (LevelError, ValueError) as exc:  # a validator outside pydantic's wrapping
        raise ProcedureDataError(f"{path.name}: {str(exc).splitlines()[0]}") from None
    if proc.name != path.stem:
        raise ProcedureDataError(f"{path.name}: name '{proc.name}' must match the file name '{path.stem}'")
    return proc


def load_procedures(data_dir: Path | str | None = None) -> dict[str, Procedure]:
    """Name -> validated :class:`Procedure` for every ``*.yaml`` in ``data_dir``.

    The default directory is read once and cached; every procedure in
    :data:`PROCEDURE_ORDER` must be there.
    """
    if data_dir is None:
        return _load_default()
    return _load_dir(Path(data_dir))


@lru_cache(maxsize=1)
def _load_default() -> dict[str, Procedure]:
    procs = _load_dir(DATA_DIR)
    missing = [n for n in PROCEDURE_ORDER if n not in procs]
    if missing:
        raise ProcedureDataError(f"{DATA_DIR.name}: no data file for {', '.join(missing)}")
    return procs


def _load_dir(data_dir: Path) -> dict[str, Procedure]:
    files = sorted(data_dir.glob("*.yaml"))
    if not files:
        raise ProcedureDataError(f"{data_dir}: no procedure data files (*.yaml)")
    procs = {p.stem: load_procedure_file(p) for p in files}
    order = {n: i for i, n in enumerate(PROCEDURE_ORDER)}
    return dict(sorted(procs.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def procedure(name: str) -> Procedure:
    """One procedure by name; :class:`spine.videos.RequestError` naming them all otherwise."""
    procs = load_procedures()
    if name not in procs:
        raise RequestError(f"unknown procedure '{name}'; procedures: {', '.join(procs)}")
    return procs[name]


# -- narration -------------------------------------------------------------------------------------


def root_for(proc: Procedure, level: str) -> str:
    """The nerve root for the narration's ``{root}`` (see the module table)."""
    tech = proc.technique_for(level)
    at = tech.target.at if tech.target.at not in ("level", "lower", "upper") else level
    parsed = parse_level(at)
    if isinstance(parsed, Interspace):
        return exiting_root(parsed)
    v: Vertebra = parsed
    if v.region == "cervical":
        return v.name  # C2-C7 exit above their own vertebra: the nearest root named for it
    if v.region == "coccygeal":
        return "Co1"
    return v.name  # thoracic, lumbar: below the pedicle; sacral: through that segment's foramen


def nerves_words(proc: Procedure, level: str) -> str:
    """Words for the nerves treated: from the nerve table, else the technique's template."""
    nerves = proc.nerve_table.get(level)
    if nerves:
        names = [n.name for n in nerves]
        if len(names) == 1:
            return f"the {names[0]}"
        suffix = " medial branch"
        if all(n.endswith(suffix) for n in names):
            return f"the {names[0][: -len(suffix)]} and {names[1][: -len(suffix)]} medial branch nerves"
        return f"the {names[0]} and the {names[1]}"
    tech = proc.technique_for(level)
    template = tech.nerves_words or proc.nerves_words or "the {root} nerve root"
    return template.format(root=root_for(proc, level), level=level)


def entry_side(proc: Procedure, side: str | None) -> str | None:
    """Side of the skin entry: the requested side, or the opposite one for discography."""
    if side is None:
        return None
    if any(t.approach == "disc_extrapedicular" for t in proc.techniques):
        return "left" if side == "right" else "right"
    return side


def _region_words(tech: Technique, level: str) -> str:
    if tech.region_words:
        return tech.region_words
    parsed = parse_level(level)
    top = parsed.upper if isinstance(parsed, Interspace) else parsed.name
    if top in ("T1", "T2", "T3", "T4"):
        return "upper back"
    return REGION_WORDS[region_of(parsed)]


def narration_context(proc: Procedure, level: str, side: str | None) -> dict[str, Any]:
    """Every field the narration may use, for one allowed level and side."""
    level = str(parse_level(level))
    tech = proc.technique_for(level)
    med = tech.medication
    conf = tech.confirmation
    ctx: dict[str, Any] = {
        "level": level,
        "technique": tech.id,  # picks a script's words by technique (voiceover/scripts.py)
        "techniques": ", ".join(t.id for t in proc.techniques),  # a script's variants must name one of these
        "level_words": proc.level_words.get(level) or describe_level(level),
        "region_words": _region_words(tech, level),
        "limb": LIMB_WORDS.get(tech.id) or LIMB_WORDS[region_of(parse_level(level))],
        "root": root_for(proc, level),
        "pain_area": PAIN_AREA[root_for(proc, level)],
        "nerves": nerves_words(proc, level),
        "needle": tech.needle.words,
        "medication": med.words if med else "",
        "volume": med.volume_words if med else "",
        "position": tech.position.words,
        "contrast_pattern_words": conf.contrast_words or (CONTRAST_PATTERNS[conf.contrast] if conf.contrast else ""),
    }
    if proc.sided:
        ctx["side"] = side or proc.default_side
        ctx["entry_side"] = entry_side(proc, ctx["side"])
    return ctx


def request_context(name: str, request) -> dict[str, Any]:
    return narration_context(procedure(name), request.level, request.side)


def level_refusal(name: str, level: str) -> str:
    """Why ``level`` is refused for procedure ``name``: not done there, done but not covered by
    these videos yet, advised against, or not how the procedure is named (schema.REFUSAL_KINDS)."""
    return procedure(name).refusal_message(level)


def summarise_levels(levels: list[str]) -> str:
    """ "C6-C7 to L5-S1" / "C4-C5 to C7-T1, L1-L2 to L5-S1, S1": runs of adjacent levels."""
    from spine.anatomy.levels import INTERSPACES, VERTEBRAE

    def position(level: str) -> tuple[int, int]:
        if level in INTERSPACES:
            return 0, INTERSPACES.index(level)
        return 1, VERTEBRAE.index(level)

    runs: list[list[str]] = []
    for level in levels:
        if runs:
            kind, idx = position(level)
            last_kind, last_idx = position(runs[-1][-1])
            if kind == last_kind and idx == last_idx + 1:
                runs[-1].append(level)
                continue
        runs.append([level])
    parts = []
    for run in runs:
        if len(run) >= 4:
            parts.append(f"{run[0]} to {run[-1]}")
        else:
            parts.extend(run)
    return ", ".join(parts)
