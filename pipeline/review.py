"""Medical-review records: who reviewed a video's content, when, against which sources.

One YAML file per video in ``spine/reviews/<video>.yaml`` (the folder can be replaced with
``--reviews-dir`` or the ``SPINE_REVIEWS_DIR`` environment variable)::

    reviewed:
      by: Dr A. Example
      role: Interventional pain physician
      date: 2026-01-15
      sources: ["Spine Intervention Society guidelines, 2nd ed. (2013)"]
    next_review: 2027-01-15      # optional: 12 months after the date

A video without a file (or with ``reviewed: null``) is *not yet medically reviewed*, and its
closing card says so: the project never invents a reviewer. The record reaches the closing
card (through the storyboard's context), the sidecar JSON, ``render.py list --json``, the
gallery and ``render.py doctor`` (which flags a review whose ``next_review`` has passed).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spine.errors import SpineError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REVIEWS_DIR = ROOT / "spine" / "reviews"
REVIEWS_DIR_ENV = "SPINE_REVIEWS_DIR"
REVIEW_MONTHS = 12

# The review line in each language of the narration scripts (English for the rest).
WORDS = {
    "en": {
        "reviewed": "Medically reviewed by {by}, {role}, on {date}",
        "not_reviewed": "Not yet medically reviewed",
        "overdue": "review overdue since {date}",
    },
    "es": {
        "reviewed": "Revisado médicamente por {by}, {role}, el {date}",
        "not_reviewed": "Todavía sin revisión médica",
        "overdue": "revisión vencida desde {date}",
    },
}


class ReviewError(SpineError):
    """A review record cannot be read or is not valid."""


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str = Field(min_length=2, max_length=60)
    role: str = Field(min_length=2, max_length=60)
    date: _dt.date
    sources: list[str] = Field(min_length=1)

    @field_validator("date")
    @classmethod
    def _not_in_future(cls, value: _dt.date) -> _dt.date:
        if value > _dt.date.today():
            raise ValueError(f"{value} is in the future")
        return value


class ReviewRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewed: Review | None = None
    next_review: _dt.date | None = None

    @model_validator(mode="after")
    def _default_next(self) -> "ReviewRecord":
        if self.reviewed is not None and self.next_review is None:
            self.next_review = add_months(self.reviewed.date, REVIEW_MONTHS)
        if self.reviewed is not None and self.next_review is not None and self.next_review <= self.reviewed.date:
            raise ValueError("next_review must come after reviewed.date")
        return self

    def overdue(self, today: _dt.date | None = None) -> bool:
        return (
            self.reviewed is not None
            and self.next_review is not None
            and (today or _dt.date.today()) > self.next_review
        )

    def line(self, lang: str = "en") -> str:
        """The words of the closing card: "Medically reviewed by … on …" or "Not yet medically reviewed"."""
        words = WORDS.get(lang, WORDS["en"])
        if self.reviewed is None:
            return words["not_reviewed"]
        r = self.reviewed
        return words["reviewed"].format(by=r.by, role=r.role, date=r.date.isoformat())

    def status(self, lang: str = "en", today: _dt.date | None = None) -> dict:
        """Plain data for the sidecar, ``list --json`` and the gallery."""
        r = self.reviewed
        return {
            "reviewed": None
            if r is None
            else {"by": r.by, "role": r.role, "date": r.date.isoformat(), "sources": list(r.sources)},
            "next_review": self.next_review.isoformat() if self.next_review else None,
            "overdue": self.overdue(today),
            "line": self.line(lang),
        }


def add_months(day: _dt.date, months: int) -> _dt.date:
    """``day`` plus whole months, on the last day of the month where the day does not exist."""
    import calendar

    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reviews_dir() -> Path:
    from spine.settings import settings

    return settings().reviews_dir  # SPINE_REVIEWS_DIR (REVIEWS_DIR_ENV)


def record_path(video: str, directory: Path | None = None) -> Path:
    return Path(directory or reviews_dir()) / f"{video}.yaml"


def load_review(video: str, directory: Path | None = None) -> ReviewRecord:
    """The review record of ``video``; an empty (not reviewed) record when it has no file."""
    from spine.yaml_files import read_yaml, validation_problem

    path = record_path(video, directory)
    if not path.is_file():
        return ReviewRecord()
    data = read_yaml(path, ReviewError, label=f"review record {path.name}", not_yaml="not readable YAML")
    try:
        return ReviewRecord.model_validate(data or {})
    except ValidationError as exc:
        where, problem = validation_problem(exc)
        raise ReviewError(
            f"review record {path.name}: '{where or 'the record'}' {problem}; "
            "expected reviewed: {by, role, date, sources} and an optional next_review"
        ) from None


def review_status(video: str, lang: str = "en", today: _dt.date | None = None) -> dict:
    return load_review(video).status(lang, today)


def overdue_reviews(videos: Iterable[str], today: _dt.date | None = None) -> list[tuple[str, str]]:
    """(video, what to say) for every video whose review is overdue or whose record is broken, for ``doctor``."""
    late: list[tuple[str, str]] = []
    for name in videos:
        try:
            record = load_review(name)
        except ReviewError as exc:  # doctor reports a broken record as a problem, not a crash
            late.append((name, str(exc)))
            continue
        if record.overdue(today) and record.reviewed is not None and record.next_review is not None:
            late.append(
                (
                    name,
                    f"medical review by {record.reviewed.by} was due on {record.next_review.isoformat()}; "
                    f"have it reviewed and update {record_path(name).name}",
                )
            )
    return late
