"""Every video the project can make, and the checks a request must pass.

A :class:`VideoSpec` says what a video is (its scene, allowed levels and sides, its
default); :func:`resolve` turns a user's ``NAME --level --side`` into a checked
:class:`VideoRequest`, or raises :class:`RequestError` with a one-line message naming
the allowed values.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Callable

from spine.errors import RequestError, SpineError, shorten

#: no level name is longer than "Co1-Co1" with spaces; longer input is refused before it is parsed
MAX_LEVEL_CHARS = 16

SIDES = ("left", "right")


@dataclass(frozen=True)
class VideoSpec:
    name: str
    title: str
    scene: str  # "module:Class"
    summary: str
    levels: tuple[str, ...] = ()  # allowed levels (normalised), empty: the video has no level
    sides: tuple[str, ...] = ()  # allowed sides, empty: the video has no side
    default_level: str | None = None
    default_side: str | None = None
    procedure: str | None = None  # injection type, for filters
    script: str | None = None  # narration script name (default: the video's name)
    levels_summary: str | None = None  # short wording of a long list of allowed levels
    context: Callable[["VideoRequest"], dict[str, Any]] | None = field(default=None, compare=False)
    # why a level is refused, saying which is true: not done there ("caudal-esi is not done at L3:
    # caudal epidural injections are given only through the sacral hiatus"), or done but not covered
    # yet ("... is done at T2, but this catalog does not show it yet: ..."); see spine.procedures.schema
    level_rule: Callable[[str], str] | None = field(default=None, compare=False)
    # other procedures whose data (and so needle plans) the scene draws: the overview's 'types' cards
    draws_procedures: tuple[str, ...] = ()

    @property
    def data_procedures(self) -> tuple[str, ...]:
        """Every procedure whose data file this video's pictures depend on (its own first)."""
        return ((self.procedure,) if self.procedure else ()) + self.draws_procedures

    @property
    def script_name(self) -> str:
        return self.script or self.name

    def renderable(self) -> bool:
        """Whether the scene module of this video exists (a catalog plugin may name one not written yet)."""
        import importlib.util

        module = self.scene.partition(":")[0]
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            return False

    def scene_class(self):
        module, _, cls = self.scene.partition(":")
        return getattr(importlib.import_module(module), cls)

    def describe_levels(self) -> str:
        if not self.levels:
            return "none"
        if self.levels_summary:
            return self.levels_summary
        return ", ".join(self.levels)


@dataclass(frozen=True)
class VideoRequest:
    spec: VideoSpec
    level: str | None
    side: str | None

    @property
    def name(self) -> str:
        return self.spec.name

    def stem(self, quality: str, lang: str = "en") -> str:
        """File name stem: ``<name>[-<level>][-<side>][-<lang>]-<quality>``."""
        parts = [self.spec.name]
        if self.level:
            parts.append(self.level)
        if self.side:
            parts.append(self.side)
        if lang != "en":
            parts.append(lang)
        parts.append(quality)
        return "-".join(parts)

    def script_context(self) -> dict[str, Any]:
        ctx: dict[str, Any] = {}
        if self.level:
            ctx["level"] = self.level
        if self.side:
            ctx["side"] = self.side
        if self.spec.context is not None:
            ctx.update(self.spec.context(self))
        return ctx


def _all_levels() -> tuple[str, ...]:
    from spine.anatomy.levels import all_level_names

    return tuple(all_level_names())


def _atlas_context(request: VideoRequest) -> dict[str, Any]:
    from spine.anatomy.levels import describe_level

    return {"level_words": describe_level(request.level)}


#: the procedure drawn on each card of the overview's 'types' beat, in the script's order
OVERVIEW_TYPES = (
    "interlaminar-esi",
    "transforaminal-esi",
    "facet-joint-injection",
    "medial-branch-block",
    "radiofrequency-ablation",
    "si-joint-injection",
)

_DATA_PROBLEMS: list[SpineError] = []


def data_problem() -> SpineError | None:
    """The error that left the procedure videos out of :func:`all_videos` (a bad data file), if any."""
    all_videos()
    return _DATA_PROBLEMS[0] if _DATA_PROBLEMS else None


@lru_cache(maxsize=1)
def all_videos() -> dict[str, VideoSpec]:
    """Name -> spec of every video, in the order ``render.py list`` shows them."""
    specs = [
        VideoSpec(
            name="overview",
            title="Spinal injections: an overview",
            scene="scenes.overview:OverviewScene",
            summary="What a spinal injection is, how it is guided, an L2-L3 epidural example, and the types.",
            draws_procedures=OVERVIEW_TYPES,
        ),
        VideoSpec(
            name="spine-atlas",
            title="A tour of the spine",
            scene="scenes.spine_atlas:SpineAtlasScene",
            summary="Regions, curves, a vertebra's parts, discs, cord and nerve roots, facet joints, the epidural space.",
            levels=_all_levels(),
            default_level="L4-L5",
            levels_summary="any vertebra C1 to Co4, or an interspace of two adjacent levels from C1-C2 to L5-S1",
            context=_atlas_context,
        ),
    ]
    try:
        specs.extend(video_specs())
    except SpineError as exc:  # a bad procedure data file: the other videos still list and render
        _DATA_PROBLEMS.append(exc)
    return {s.name: s for s in specs}


def resolve(name: str, level: str | None = None, side: str | None = None) -> VideoRequest:
    videos = all_videos()
    spec = videos.get(name)
    problem = data_problem()
    if spec is None and problem is not None and _is_procedure_name(name):
        raise problem
    if spec is None:
        raise RequestError(f"unknown video '{shorten(name)}'; videos: {', '.join(videos)}")
    if level is not None and not spec.levels:
        raise RequestError(f"'{name}' has no level to choose; leave out --level")
    if side is not None and not spec.sides:
        raise RequestError(f"'{name}' has no side to choose; leave out --side")
    if side is not None and side not in SIDES:
        raise RequestError(f"unknown side '{side}'; sides: {', '.join(SIDES)}")
    chosen_level = None
    if spec.levels:
        chosen_level = spec.default_level if level is None else _normalise_level(level, spec)
        if chosen_level is None or chosen_level not in spec.levels:
            why = (
                spec.level_rule(chosen_level)
                if spec.level_rule and chosen_level is not None
                else f"'{name}' is not offered at level {chosen_level}"
            )
            raise RequestError(f"{why}; allowed levels: {spec.describe_levels()}")
    chosen_side = (side or spec.default_side) if spec.sides else None
    if chosen_side is not None and chosen_side not in spec.sides:
        raise RequestError(f"side '{chosen_side}' is not done for '{name}'; allowed sides: {', '.join(spec.sides)}")
    return VideoRequest(spec, chosen_level, chosen_side)


def _normalise_level(text: str, spec: VideoSpec) -> str:
    from spine.anatomy.levels import LevelError, parse_level

    if len(str(text)) > MAX_LEVEL_CHARS:  # never parse (or echo back) a 10,000-character level
        raise RequestError(
            f"level '{shorten(text, 12)}' is too long to be a level; "
            f"allowed for '{spec.name}': {spec.describe_levels()}"
        )
    try:
        return str(parse_level(text))
    except LevelError as exc:
        raise RequestError(f"{exc} (allowed for '{spec.name}': {spec.describe_levels()})") from exc


def _is_procedure_name(name: str) -> bool:
    from spine.procedures.catalog import DATA_DIR, PROCEDURE_ORDER

    return name in PROCEDURE_ORDER or (DATA_DIR / f"{name}.yaml").is_file()


def video_specs() -> list:
    """One :class:`VideoSpec` per procedure, in :data:`PROCEDURE_ORDER`."""
    from spine.procedures.catalog import SCENE, level_refusal, load_procedures, request_context, summarise_levels

    specs = []
    for name, proc in load_procedures().items():
        specs.append(
            VideoSpec(
                name=name,
                title=proc.title,
                scene=SCENE,
                summary=proc.summary,
                levels=tuple(proc.allowed_levels),
                levels_summary=summarise_levels(proc.allowed_levels),
                sides=SIDES if proc.sided else (),
                default_level=proc.default_level,
                default_side=proc.default_side,
                procedure=name,
                context=partial(request_context, name),
                level_rule=partial(level_refusal, name),
            )
        )
    return specs
