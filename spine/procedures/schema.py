"""The shape of a procedure's data file, checked when it is loaded.

Every procedure lives in ``spine/procedures/data/<name>.yaml`` and is read into a
:class:`Procedure` (pydantic, frozen, unknown keys rejected). A procedure has one or more
*techniques* -- the region variants of the same injection (cervical, thoracic and lumbar
interlaminar; lumbar, S1 and cervical transforaminal) -- each with its own levels,
position, fluoroscopic views, needle, approach, target, stops, confirmation and drugs.
Keys under ``common:`` are merged into every technique (a technique's own keys win), so a
file says once what its techniques share.

Levels are written as in :func:`spine.anatomy.levels.parse_level` and may be ranges
``"L1-L2..L5-S1"`` (interspaces) or ``"T5..L5"`` (vertebrae), expanded cranial to caudal.

The rules every file must keep (each one is clinical.md or the project brief; a broken
file fails with ``<file>: <where>: <what>`` on one line):

* the levels parse, no level is in two techniques, the default level is allowed, and
  techniques use interspaces or vertebrae as their approach needs (an interspace for a
  foramen/joint/disc/window, a vertebra for a body);
* a refused level is in at most one of ``not_done`` (never done there), ``not_covered`` (done
  there, not shown by these videos yet), ``advised_against`` (guidelines advise against it) and
  ``named_otherwise`` (not how the procedure is named), none of them allowed; ``where`` is the
  "not done" reason of every other level, so it must be true of all of them (issue 14: no
  message may say a procedure is not done where it is);
* a sided procedure has a default side and says what the side means; an unsided one has
  neither;
* the needle's ``words`` say its gauge ("a thin 22-gauge needle");
* a technique that reaches the epidural space is confirmed with live contrast (clinical.md
  section 2: aspiration misses most intravascular uptake);
* every steroid says ``particulate: true|false``, agreeing with its preparation's entry in
  :data:`STEROIDS` (generic and brand names, any case); an unknown steroid is an error;
* no particulate steroid for a cervical transforaminal injection (clinical.md section 2);
* radiofrequency ablation has a stimulation test and a lesion reach (and, with a parallel
  limit, the nerve's course it is measured against); discography has manometry;
* a nerve table (medial branch block, RFA) names the nerves of every allowed joint.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from spine.anatomy.levels import (
    INTERSPACES,
    VERTEBRAE,
    Interspace,
    LevelError,
    Vertebra,
    parse_level,
)

__all__ = [
    "CONTRAST_PATTERNS",
    "APPROACHES",
    "WAYPOINT_KINDS",
    "CArmView",
    "Needle",
    "Drug",
    "Medication",
    "Position",
    "Target",
    "Confirmation",
    "Stimulation",
    "Manometry",
    "AngleLimits",
    "Nerve",
    "NerveCourse",
    "Technique",
    "NotDone",
    "LevelRule",
    "REFUSAL_KINDS",
    "STEROIDS",
    "steroid_preparation",
    "Variant",
    "Procedure",
    "expand_levels",
]


# -- vocabularies -----------------------------------------------------------------------------

# Contrast pattern name -> words for narration. The fluoroscopy module builds each one in 3D
# (spine/imaging/contrast.py, under these names or its ALIASES).
CONTRAST_PATTERNS: dict[str, str] = {
    "epidurogram": "a cloud of contrast spreading along the back of the epidural space",
    "root_sleeve": (
        "contrast outlining the nerve root as it runs down and out, and flowing "
        "under the pedicle into the epidural space"
    ),
    "caudal": (
        "contrast rising up the sacral canal like smoke up a chimney, and outlining the "
        "sacral nerve roots like a Christmas tree"
    ),
    "arthrogram_facet": "contrast filling the small joint and both of its pouches",
    "arthrogram_si": "contrast outlining the line of the sacroiliac joint",
    "nucleogram": "contrast filling the centre of the disc in a compact shape",
    "fissured_disc": "contrast running through cracks from the centre of the disc to its outer wall",
    "vascular": "thin streaks of contrast that branch and wash away, which means the needle is in a vessel",
    # selective nerve root block: dye spreading into the epidural space would numb more than
    # the one root, and the test would no longer be selective (clinical.md 3.2)
    "selective_root": (
        "a thin line of contrast along this one nerve root, just outside its opening, "
        "with none flowing back into the epidural space"
    ),
    # medial branch block: a few tenths of a mL on the bone at the target, no streaks into a
    # vessel (SIS guidelines, Bogduk 2013; clinical.md 3.5)
    "target_spot": "a small drop of contrast that stays on the bone where the nerve runs",
}
ContrastName = Literal[tuple(CONTRAST_PATTERNS)]  # type: ignore[valid-type]

# How the needle gets to its target; the planner has one routine per approach.
APPROACHES = (
    "interlaminar_midline",  # lumbar (and cervical, 5-10 deg toward the painful side)
    "interlaminar_paramedian",  # thoracic: the steep spinous processes close the midline
    "transforaminal",  # lumbar / cervical foramen from the oblique
    "transforaminal_s1",  # through the posterior S1 foramen
    "caudal_hiatus",  # through the sacral hiatus
    "facet_intraarticular",  # into the facet joint's recess
    "medial_branch",  # tip on the nerve in its bony groove
    "rf_parallel",  # cannula parallel to the nerve in the groove
    "si_joint",  # posterior-inferior SI joint line
    "disc_extrapedicular",  # just in front of the SAP into the nucleus
    "transpedicular",  # through the pedicle into the vertebral body
    "epidural_lead",  # SCS: Tuohy into the dorsal epidural space, lead steered up
)
Approach = Literal[APPROACHES]  # type: ignore[valid-type]

EPIDURAL_APPROACHES = {
    "interlaminar_midline",
    "interlaminar_paramedian",
    "transforaminal",
    "transforaminal_s1",
    "caudal_hiatus",
    "epidural_lead",
}
INTERSPACE_APPROACHES = {
    "interlaminar_midline",
    "interlaminar_paramedian",
    "transforaminal",
    "facet_intraarticular",
    "medial_branch",
    "rf_parallel",
    "disc_extrapedicular",
    "epidural_lead",
}
VERTEBRA_APPROACHES = {"transforaminal_s1", "caudal_hiatus", "si_joint", "transpedicular"}

# The stops a needle can make; the planner computes each one's point for the plan.
WAYPOINT_KINDS = (
    "skin",  # the entry point on the skin
    "supraspinous_ligament",
    "interspinous_ligament",
    "ligamentum_flavum",  # the needle is in the ligament: loss of resistance next
    "epidural_space",  # just through the ligament
    "bone_contact",  # touches bone (SAP, pedicle, lamina, sacrum) first
    "foramen",  # stepped off the bone into the foramen
    "beside_root",  # selective root block: beside the root just outside the foramen
    "sacrococcygeal_ligament",  # caudal: through the ligament over the hiatus
    "sacral_canal",  # caudal: flattened and advanced up the canal
    "joint_capsule",  # facet / SI: through the capsule
    "groove",  # MBB / RFA: in the SAP-TP groove
    "annulus",  # discography: through the outer disc wall
    "nucleus",  # discography: centre of the disc
    "pedicle_entry",  # vertebroplasty: on the back of the pedicle
    "posterior_wall",  # vertebroplasty: past the back wall of the body
    "body",  # vertebroplasty: anterior third of the body
    "lead_tip",  # SCS: the lead's tip at T8-T10
)
WaypointKind = Literal[WAYPOINT_KINDS]  # type: ignore[valid-type]

POSITION_WORDS = {
    "prone": "lying face down",
    "supine": "lying on the back",
    "lateral": "lying on the side",
    "oblique": "lying turned half onto the side",
}

# Corticosteroids by preparation: generic and brand names, matched case-insensitively, the first
# entry that matches wins (so "betamethasone sodium phosphate" is checked before "betamethasone").
# Particulate = a suspension of crystals that can block a small artery; a clear solution is not.
# Sources: clinical.md section 2 and [11] (methylprednisolone acetate largest, triamcinolone
# middle, betamethasone suspension smallest; dexamethasone sodium phosphate a clear solution);
# 2015 multisociety consensus (Rathmell et al., Anesthesiology 122:974): never particulate steroid
# for a cervical transforaminal injection. "Betamethasone" or "methylprednisolone" without a form
# is taken as the injectable suspension (Celestone Soluspan, Depo-Medrol), the form used in spines.
STEROIDS: tuple[tuple[str, bool, str], ...] = (
    (r"dexamethasone\s+acetate|decadron[\s-]*la\b", True, "dexamethasone acetate (a suspension)"),
    (r"dexamethasone(\s+sodium\s+phosphate)?|decadron", False, "dexamethasone sodium phosphate (a clear solution)"),
    (r"triamcinolone|kenalog|aristospan|trivaris|zilretta", True, "triamcinolone (Kenalog, Aristospan, Zilretta)"),
    (
        r"methylprednisolone\s+sodium\s+succinate|solu[\s-]*medrol",
        False,
        "methylprednisolone sodium succinate (Solu-Medrol, a solution)",
    ),
    (r"methylprednisolone|depo[\s-]*medrol|medrol", True, "methylprednisolone acetate (Depo-Medrol)"),
    (r"betamethasone\s+sodium\s+phosphate(?!.*acetate)", False, "betamethasone sodium phosphate alone (a solution)"),
    (r"betamethasone|celestone", True, "betamethasone acetate or unspecified (Celestone Soluspan)"),
)
PARTICULATE_STEROIDS = tuple(label for _, particulate, label in STEROIDS if particulate)


def steroid_preparation(name: str) -> tuple[bool, str] | None:
    """(particulate, preparation) of a steroid named ``name`` (generic or brand, any case), or
    None if the name is not a steroid this project knows."""
    text = " ".join(str(name).lower().replace("®", "").split())
    for pattern, particulate, label in STEROIDS:
        if re.search(r"\b(?:" + pattern + r")", text):
            return particulate, label
    return None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- levels -------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return str(parse_level(text))


def expand_levels(items) -> list[str]:
    """Expand ``["C6-C7..T1-T2", "L4"]`` into normalised level names, cranial to caudal.

    A range's two ends must both be interspaces (walked over :data:`INTERSPACES`) or both be
    vertebrae (walked over :data:`VERTEBRAE`).
    """
    if isinstance(items, str):
        items = [items]
    out: list[str] = []
    for item in items:
        text = str(item)
        if ".." not in text:
            out.append(_norm(text))
            continue
        a_text, b_text = (s.strip() for s in text.split("..", 1))
        a, b = parse_level(a_text), parse_level(b_text)
        if type(a) is not type(b):
            raise ValueError(f"range '{text}' mixes a vertebra and an interspace")
        seq = INTERSPACES if isinstance(a, Interspace) else VERTEBRAE
        ia, ib = seq.index(str(a)), seq.index(str(b))
        if ia > ib:
            raise ValueError(f"range '{text}' runs caudal to cranial; write {b}..{a}")
        out.extend(seq[ia : ib + 1])
    return out


def _levels_field(v) -> list[str]:
    """A data file's list of levels and ranges, expanded; a level the model does not know is a
    plain ValueError, so pydantic reports it on the field."""
    try:
        return expand_levels(v)
    except (LevelError, ValueError) as exc:
        raise ValueError(str(exc)) from None


#: a list of levels as the data files write it (``["L1-L2..L5-S1", "S1"]``), expanded
Levels = Annotated[list[str], BeforeValidator(_levels_field)]


# -- pieces ---------------------------------------------------------------------------------------


class CArmView(_Model):
    """One fluoroscopic view, mapped onto :class:`spine.imaging.carm.CArmPose`.

    ``view`` ap | lateral | oblique; for an oblique, ``oblique_deg`` (0..90) and ``side``
    (``ipsi`` = detector turned toward the treated side, ``contra`` = away from it).
    ``tilt_deg``: positive = cranial, negative = caudal (the C-arm's convention), or
    ``"square"`` = the tilt that squares the level's endplate, computed from the model.
    ``coaxial``: the needle is advanced down this beam ("tunnel view"); the planner's
    needle direction then gives the exact pose (:func:`planner.coaxial_pose`).
    ``centre_level``: the level the view is centred on when it is not the procedure's
    (the stimulator trial's "AP over T8-T10", taken where the lead tip goes).
    """

    name: str
    view: Literal["ap", "lateral", "oblique"]
    oblique_deg: float | None = Field(default=None, ge=0, le=90)
    oblique_range: tuple[float, float] | None = None
    side: Literal["ipsi", "contra"] | None = None
    tilt_deg: float | Literal["square"] = 0.0
    coaxial: bool = False
    centre_level: str | None = None
    purpose: str

    @field_validator("centre_level")
    @classmethod
    def _centre_level(cls, v):
        if v is not None:
            parse_level(v)  # raises with the allowed spellings
        return v

    @field_validator("tilt_deg")
    @classmethod
    def _tilt_range(cls, v):
        if isinstance(v, (int, float)) and not -45 <= v <= 45:
            raise ValueError("tilt_deg must be within -45..45 (C-arm limit) or 'square'")
        return v

    @model_validator(mode="after")
    def _oblique_fields(self):
        if self.view == "oblique":
            if self.oblique_deg is None or self.side is None:
                raise ValueError(f"oblique view '{self.name}' needs oblique_deg and side (ipsi|contra)")
        elif self.oblique_deg is not None or self.side is not None:
            raise ValueError(f"{self.view} view '{self.name}' takes no oblique_deg or side")
        if self.oblique_range is not None:
            lo, hi = self.oblique_range
            if not lo <= (self.oblique_deg or 0) <= hi:
                raise ValueError(
                    f"view '{self.name}': oblique_deg {self.oblique_deg} is outside its oblique_range {lo}..{hi}"
                )
        return self

    def detector_side(self, side: str | None) -> str:
        """ "left" / "right": where the detector turns for the treated ``side``."""
        treated = side or "right"
        if self.side == "contra":
            return "left" if treated == "right" else "right"
        return treated

    def pose(self, level: str, side: str | None = None, model=None, *, isocentre=None):
        """The :class:`CArmPose` of this view at ``level`` (or its own ``centre_level``) for the treated ``side``."""
        from spine.imaging.carm import CArmPose

        level = self.centre_level or level
        tilt = square_tilt(level, model) if self.tilt_deg == "square" else float(self.tilt_deg)
        if self.view == "ap":
            return CArmPose.ap(level, tilt_deg=tilt, model=model, isocentre=isocentre)
        if self.view == "lateral":
            return CArmPose.lateral(level, tilt_deg=tilt, model=model, isocentre=isocentre)
        assert self.oblique_deg is not None  # every oblique view has one (validated above)
        return CArmPose.oblique(
            level, float(self.oblique_deg), self.detector_side(side), tilt_deg=tilt, model=model, isocentre=isocentre
        )


def square_tilt(level: str, model=None) -> float:
    """Cranial(+)/caudal(-) tilt in degrees that makes the beam run along the endplate.

    For an interspace, the superior endplate of the lower vertebra ("square the superior
    endplate", clinical.md 3.2); for a vertebra, its own superior endplate. Clamped to the
    C-arm's +-45 deg.
    """
    import numpy as np

    from spine.imaging.anchors import default_model

    model = model if model is not None else default_model()
    parsed = parse_level(level)
    name = parsed.lower if isinstance(parsed, Interspace) else parsed.name
    _, rot = model.vertebra_frame(name)
    ez = np.asarray(rot, float)[:, 2]
    tilt = float(np.degrees(np.arctan2(-ez[1], ez[2])))
    return max(-45.0, min(45.0, tilt))


class Needle(_Model):
    """What goes through the skin. ``gauge`` is the one drawn; ``gauge_range`` what is used."""

    type: Literal["tuohy", "quincke", "spinal", "rf_cannula", "bone_needle", "coaxial_discography"]
    gauge: int = Field(ge=10, le=27)
    gauge_range: tuple[int, int] | None = None
    inner_gauge: int | None = Field(default=None, ge=10, le=27)
    length_mm: float = Field(gt=0, le=200)
    active_tip_mm: float | None = None
    words: str  # narration: "a thin 22-gauge needle"

    @model_validator(mode="after")
    def _words_name_gauge(self):
        if f"{self.gauge}-gauge" not in self.words:
            raise ValueError(f"needle words {self.words!r} must name the drawn gauge as '{self.gauge}-gauge'")
        if self.gauge_range is not None:
            lo, hi = self.gauge_range
            if not lo <= self.gauge <= hi:
                raise ValueError(f"needle gauge {self.gauge} is outside its gauge_range {lo}..{hi}")
        if self.type == "rf_cannula" and not self.active_tip_mm:
            raise ValueError("an rf_cannula needs active_tip_mm (5-10 mm, clinical.md 3.6)")
        if self.type == "coaxial_discography" and self.inner_gauge is None:
            raise ValueError("a coaxial_discography needle needs inner_gauge")
        return self


class Drug(_Model):
    """One drug. A steroid must say ``particulate: true|false``, and it must agree with the
    known preparation of its name (:data:`STEROIDS`); an unknown steroid is an error."""

    name: str
    dose: str | None = None  # "10 mg", "0.5 %"
    role: Literal["steroid", "local_anaesthetic", "saline", "contrast", "cement", "antibiotic"]
    particulate: bool | None = None

    @model_validator(mode="after")
    def _steroid_is_known(self):
        if self.role != "steroid":
            if self.particulate:
                raise ValueError(f"drug '{self.name}' is a {self.role}: only a steroid is particulate")
            return self
        known = steroid_preparation(self.name)
        if known is None:
            raise ValueError(
                f"unknown steroid '{self.name}': name a known preparation, e.g. dexamethasone "
                f"sodium phosphate, triamcinolone, methylprednisolone acetate, betamethasone"
            )
        if self.particulate is None:
            raise ValueError(
                f"steroid '{self.name}' must say particulate: true or false "
                f"(it is {'' if known[0] else 'non-'}particulate: {known[1]})"
            )
        if self.particulate != known[0]:
            raise ValueError(
                f"steroid '{self.name}' says particulate: {str(self.particulate).lower()}, "
                f"but it is {'' if known[0] else 'non-'}particulate: {known[1]}"
            )
        return self


class Medication(_Model):
    drugs: list[Drug] = Field(min_length=1)
    volume_ml: tuple[float, float]
    words: str  # narration: "a steroid, dexamethasone, with saline"
    volume_words: str  # narration: "2 to 4 millilitres"

    @field_validator("volume_ml")
    @classmethod
    def _volume_order(cls, v):
        lo, hi = v
        if not 0 < lo <= hi <= 40:
            raise ValueError(f"volume_ml must be 0 < low <= high <= 40 mL, got {lo}..{hi}")
        return v


class Position(_Model):
    posture: Literal["prone", "supine", "lateral", "oblique"]
    support: str | None = None

    @property
    def words(self) -> str:
        return POSITION_WORDS[self.posture]


class Target(_Model):
    """The final tip: a model landmark at ``at`` relative to the requested level.

    ``at``: ``level`` (the requested level itself), ``lower`` / ``upper`` (the interspace's
    lower / upper vertebra), or a fixed level name (``T8`` for the SCS lead tip).
    """

    landmark: str
    at: str = "level"
    words: str

    @field_validator("at")
    @classmethod
    def _at(cls, v):
        return v if v in ("level", "lower", "upper") else _norm(v)


class Stimulation(_Model):
    sensory_hz: float
    sensory_max_v: float
    motor_hz: float
    words: str


class Manometry(_Model):
    max_psi: float
    concordant_pain_min: int = Field(ge=0, le=10)
    words: str


class Confirmation(_Model):
    loss_of_resistance: Literal["saline", "air", "saline_or_air"] | None = None
    contrast: ContrastName | None = None  # type: ignore[valid-type]
    contrast_live: bool = False
    contrast_views: list[Literal["ap", "lateral", "oblique"]] = []
    control_contrast: ContrastName | None = None  # type: ignore[valid-type]  # discography: the painless control disc
    contrast_words: str | None = None  # narration, when there is no pattern (or to override it)
    dsa: Literal["no", "advised", "strongly_advised"] = "no"
    stimulation: Stimulation | None = None
    manometry: Manometry | None = None
    notes: list[str] = []

    @model_validator(mode="after")
    def _contrast_views(self):
        if self.contrast is not None and not self.contrast_views:
            raise ValueError("a contrast check needs the views it is seen on (contrast_views)")
        return self


class AngleLimits(_Model):
    """Ranges the validator enforces on the planned needle (degrees)."""

    oblique_deg: tuple[float, float] | None = None  # needle's angle from the sagittal plane
    tilt_deg: tuple[float, float] | None = None  # needle's cranio-caudal angle to the endplate
    entry_max_deg: float | None = None  # caudal: angle to the sacral surface
    parallel_max_deg: float | None = None  # RFA: angle between cannula and nerve

    @model_validator(mode="after")
    def _ordered(self):
        for name in ("oblique_deg", "tilt_deg"):
            rng = getattr(self, name)
            if rng is not None and rng[0] > rng[1]:
                raise ValueError(f"{name} range {rng[0]}..{rng[1]} runs backwards")
        return self


class NerveCourse(_Model):
    """Direction of a nerve where the cannula lies along it (the model has no medial-branch
    nerve): from the target toward the skin side, ``lateral_deg`` from the sagittal plane and
    ``caudal_deg`` below the axial plane of the vertebra."""

    lateral_deg: float = Field(ge=0, le=90)
    caudal_deg: float = Field(ge=-90, le=90)
    source: str


class Nerve(_Model):
    """One nerve blocked or lesioned: its name and where its target landmark is."""

    name: str  # "L3 medial branch"
    landmark: str  # model landmark of its target, e.g. "mb_groove"
    at: str  # level of that landmark, e.g. "L4"

    @field_validator("at")
    @classmethod
    def _level(cls, v):
        return _norm(v)


class Technique(_Model):
    id: str
    region_words: str | None = None
    levels: Levels = Field(min_length=1)
    position: Position
    views: list[CArmView] = Field(min_length=1)
    needle: Needle
    approach: Approach
    target: Target
    waypoints: list[WaypointKind] = Field(min_length=1)
    confirmation: Confirmation
    medication: Medication | None = None  # None: nothing is injected (SCS trial lead)
    angles: AngleLimits = AngleLimits()
    warnings: list[str] = []
    nerves_words: str | None = None  # "the {root} nerve root"; fields: root, level
    lead_tip: tuple[str, str] | None = None  # SCS: lead tip range, e.g. ("T8", "T10")
    nerve_course: NerveCourse | None = None  # RFA: the nerve's direction at the groove
    lesion_radius_mm: float | None = None  # RFA: reach of the lesion around the active tip

    @field_validator("lead_tip")
    @classmethod
    def _lead_levels(cls, v):
        if v is None:
            return v
        a, b = (Vertebra(x) for x in v)
        if a.index > b.index:
            raise ValueError(f"lead_tip {a}..{b} runs caudal to cranial")
        return (a.name, b.name)

    @model_validator(mode="after")
    def _rules(self):
        if self.waypoints[0] != "skin":
            raise ValueError(f"technique '{self.id}': the first waypoint must be 'skin'")
        kinds = {type(parse_level(x)) for x in self.levels}
        if self.approach in INTERSPACE_APPROACHES and kinds != {Interspace}:
            raise ValueError(
                f"technique '{self.id}': approach {self.approach} is done at interspaces "
                f"(like L4-L5), got {', '.join(self.levels)}"
            )
        if self.approach in VERTEBRA_APPROACHES and kinds != {Vertebra}:
            raise ValueError(
                f"technique '{self.id}': approach {self.approach} is done at a vertebra "
                f"or sacral segment (like L1 or S1), got {', '.join(self.levels)}"
            )
        conf = self.confirmation
        if self.approach in EPIDURAL_APPROACHES and self.approach != "epidural_lead":
            if conf.contrast is None or not conf.contrast_live:
                raise ValueError(
                    f"technique '{self.id}' reaches the epidural space: it must be confirmed "
                    f"with live contrast (clinical.md section 2)"
                )
        if self.approach.startswith("interlaminar") or self.approach == "epidural_lead":
            if conf.loss_of_resistance is None:
                raise ValueError(f"technique '{self.id}': the epidural space is found by loss of resistance")
        if self.medication is None and self.approach != "epidural_lead":
            raise ValueError(f"technique '{self.id}' needs a medication")
        if self.approach == "rf_parallel":
            if conf.stimulation is None:
                raise ValueError(f"technique '{self.id}': radiofrequency ablation needs a stimulation test")
            if self.lesion_radius_mm is None:
                raise ValueError(f"technique '{self.id}': radiofrequency ablation needs lesion_radius_mm")
            if (self.angles.parallel_max_deg is None) != (self.nerve_course is None):
                raise ValueError(f"technique '{self.id}': angles.parallel_max_deg and nerve_course go together")
        if self.approach == "disc_extrapedicular" and conf.manometry is None:
            raise ValueError(f"technique '{self.id}': discography needs manometry")
        if self.approach == "epidural_lead" and self.lead_tip is None:
            raise ValueError(f"technique '{self.id}': a stimulator lead needs lead_tip (e.g. [T8, T10])")
        if self.approach == "transforaminal" and any(parse_level(x).region == "cervical" for x in self.levels):
            bad = [
                d.name
                for d in (self.medication.drugs if self.medication else [])
                if d.particulate or (d.role == "steroid" and (steroid_preparation(d.name) or (True,))[0])
            ]
            if bad:
                raise ValueError(
                    f"technique '{self.id}': never particulate steroid for a cervical "
                    f"transforaminal injection (clinical.md section 2), got {', '.join(bad)}"
                )
        return self


class LevelRule(_Model):
    """Levels a procedure is refused at, and why (one clause, read after the kind's words).

    The kind is the list the rule sits in (:attr:`Procedure.refusal`): ``not_done`` (never done
    there: "C1-C2 is not a true facet joint"), ``not_covered`` (done there, but these videos do
    not show it yet), ``advised_against`` (guidelines advise against it: "preferably not above
    C6-C7") or ``named_otherwise`` (the level is not how this procedure is named: a facet joint
    is an interspace like L4-L5, not the vertebra L4).
    """

    levels: Levels = Field(min_length=1)
    reason: str


NotDone = LevelRule  # the old name

# How a refusal reads, by kind ({name}: the procedure, {level}: the level asked for).
REFUSAL_KINDS = {
    "not_done": "{name} is not done at {level}: {reason}",
    "not_covered": "{name} is done at {level}, but this catalog does not show it yet: {reason}",
    "advised_against": "{name} is advised against at {level}: {reason}",
    "named_otherwise": "{name} is not named by {level}: {reason}",
}


class Variant(_Model):
    """A variant drawn as extra steps of the same plan (kyphoplasty's balloon)."""

    name: str
    title: str
    steps: list[str] = Field(min_length=1)
    words: str


class Procedure(_Model):
    name: str
    title: str
    summary: str
    purpose: str
    sources: list[str] = []
    # the reason for any level no rule below names; it must be true of every such level, since
    # it reads "<name> is not done at <level>: <where>"
    where: str
    not_done: list[LevelRule] = []
    not_covered: list[LevelRule] = []
    advised_against: list[LevelRule] = []
    named_otherwise: list[LevelRule] = []
    sided: bool
    side_means: str | None = None
    default_level: str
    default_side: Literal["left", "right"] | None = None
    level_words: dict[str, str] = {}  # overrides of describe_level, e.g. S5: "the sacral hiatus"
    techniques: list[Technique] = Field(min_length=1)
    nerve_table: dict[str, list[Nerve]] = {}
    nerves_words: str | None = None
    variants: list[Variant] = []
    risks: list[str] = Field(min_length=1)
    safety: list[str] = []
    relief: str

    @model_validator(mode="before")
    @classmethod
    def _merge_common(cls, data: Any):
        if not isinstance(data, dict) or "common" not in data:
            return data
        data = dict(data)
        common = data.pop("common") or {}
        if not isinstance(common, dict):
            raise ValueError("'common' must be a mapping of technique fields")
        techniques = data.get("techniques")
        if isinstance(techniques, list):
            data["techniques"] = [_deep_merge(common, t) if isinstance(t, dict) else t for t in techniques]
        return data

    @field_validator("default_level")
    @classmethod
    def _default_level(cls, v):
        return _norm(v)

    @field_validator("level_words", "nerve_table", mode="before")
    @classmethod
    def _level_keys(cls, v):
        if not isinstance(v, dict):
            return v
        return {_norm(k): val for k, val in v.items()}

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v):
            raise ValueError(f"name {v!r} must be lower-case words joined by '-'")
        return v

    @model_validator(mode="after")
    def _rules(self):
        seen: dict[str, str] = {}
        for tech in self.techniques:
            for level in tech.levels:
                if level in seen:
                    raise ValueError(f"level {level} is in techniques '{seen[level]}' and '{tech.id}'")
                seen[level] = tech.id
        ids = [t.id for t in self.techniques]
        if len(set(ids)) != len(ids):
            raise ValueError(f"technique ids repeat: {', '.join(ids)}")
        allowed = set(seen)
        if self.default_level not in allowed:
            raise ValueError(
                f"default_level {self.default_level} is not an allowed level ({', '.join(self.allowed_levels)})"
            )
        ruled: dict[str, str] = {}
        for kind in REFUSAL_KINDS:
            for rule in getattr(self, kind):
                clash = [x for x in rule.levels if x in allowed]
                if clash:
                    raise ValueError(f"{kind} names allowed level(s) {', '.join(clash)}")
                twice = [x for x in rule.levels if x in ruled]
                if twice:
                    raise ValueError(f"{kind} names level(s) {', '.join(twice)} already in {ruled[twice[0]]}")
                ruled.update({x: kind for x in rule.levels})
        if self.sided:
            if self.default_side is None or not self.side_means:
                raise ValueError("a sided procedure needs default_side and side_means")
        elif self.default_side is not None:
            raise ValueError("an unsided procedure takes no default_side")
        for key in self.level_words:
            if key not in allowed:
                raise ValueError(f"level_words names {key}, which is not an allowed level")
        uses_table = any(t.approach in ("medial_branch", "rf_parallel") for t in self.techniques)
        if uses_table:
            missing = [x for x in self.allowed_levels if x not in self.nerve_table]
            if missing:
                raise ValueError(f"nerve_table has no nerves for joint(s) {', '.join(missing)}")
        extra = [x for x in self.nerve_table if x not in allowed]
        if extra:
            raise ValueError(f"nerve_table names joint(s) {', '.join(extra)} that are not allowed levels")
        for joint, nerves in self.nerve_table.items():
            if not 1 <= len(nerves) <= 2:
                raise ValueError(f"nerve_table {joint}: a joint has one or two nerves, got {len(nerves)}")
        return self

    # -- queries ---------------------------------------------------------------------------------
    @property
    def allowed_levels(self) -> list[str]:
        """Every allowed level, cranial to caudal."""
        from spine.anatomy.levels import all_level_names

        order = {name: i for i, name in enumerate(all_level_names())}
        return sorted({x for t in self.techniques for x in t.levels}, key=order.__getitem__)

    def technique_for(self, level: str) -> Technique:
        name = _norm(level)
        for tech in self.techniques:
            if name in tech.levels:
                return tech
        raise KeyError(f"{self.name} has no technique for {name}")

    def refusal(self, level: str) -> tuple[str, str]:
        """(kind, reason) of a level that is not allowed: the rule naming it, else
        ``("not_done", where)``. Kinds: :data:`REFUSAL_KINDS`."""
        for kind in REFUSAL_KINDS:
            for rule in getattr(self, kind):
                if level in rule.levels:
                    return kind, rule.reason
        return "not_done", self.where

    def refusal_message(self, level: str) -> str:
        """One line saying why ``level`` is refused, in the words of its kind."""
        kind, reason = self.refusal(level)
        return REFUSAL_KINDS[kind].format(name=self.name, level=level, reason=reason)

    def not_done_reason(self, level: str) -> str:
        return self.refusal(level)[1]


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
