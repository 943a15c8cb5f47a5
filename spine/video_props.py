"""What a scene draws a video from, computed once per request before narration: :class:`VideoProps`.

The pipeline makes the props (:func:`video_props`) before any speech is synthesised, so a request
whose needle plan fails its checks stops there, in one line; the storyboard carries them to the
scene, which reads them and never loads procedure data or plans a needle itself. Data flow: request
-> props (level, side, procedure data, technique, validated plan, then the filled words and the
screen text) -> storyboard -> scene.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from spine.procedures.planner import NeedlePlan, plan_needle
from spine.procedures.schema import Procedure, Technique

__all__ = ["VideoProps", "video_props"]


class VideoProps(BaseModel):
    """Typed inputs of one video's scene."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    video: str
    level: str | None = None
    side: str | None = None
    #: the procedure's data and the technique used at this level (procedure videos only)
    procedure: Procedure | None = None
    technique: Technique | None = None
    #: the validated needle plan (every check passed), procedure videos only
    plan: NeedlePlan | None = None
    #: the validated plans of the other procedures the scene draws, in the spec's order, each at its
    #: default level and side (:attr:`spine.videos.VideoSpec.draws_procedures`: the overview's cards)
    examples: tuple[NeedlePlan, ...] = ()
    #: the script's filled words for this request (level words, root, nerves, ...)
    words: dict[str, Any] = Field(default_factory=dict)
    #: the on-screen words of the script and the shared vocabulary, in the video's language
    screen: dict[str, Any] = Field(default_factory=dict)


def video_props(request, words: dict[str, Any] | None = None, screen: dict[str, Any] | None = None) -> VideoProps:
    """The props of ``request`` (a :class:`spine.videos.VideoRequest`); plans the needle of a procedure
    video and of every procedure it draws (PlanError, one line, if no plan passes every check)."""
    procedure = technique = plan = None
    if request.spec.procedure:
        from spine.procedures.catalog import procedure as load_procedure

        procedure = load_procedure(request.spec.procedure)
        plan = plan_needle(request.spec.procedure, request.level, request.side)
        technique = procedure.technique_for(plan.level)
        level, side = plan.level, plan.side
    else:
        level, side = request.level, request.side
    return VideoProps(
        video=request.name,
        level=level,
        side=side,
        procedure=procedure,
        technique=technique,
        plan=plan,
        examples=tuple(plan_needle(name) for name in request.spec.draws_procedures),
        words=dict(words or {}),
        screen=dict(screen or {}),
    )
