"""Medical-review records: the model, the closing card (read from the scene's mobjects, no OCR),
``list --json``, ``doctor`` (exit 1 when a review is overdue), the sidecar and the gallery.

No shipped video has a review: the tests point ``--reviews-dir`` / ``SPINE_REVIEWS_DIR`` at a
temporary folder of records.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.review import DEFAULT_REVIEWS_DIR, REVIEWS_DIR_ENV, ReviewError, ReviewRecord, add_months, load_review
from tests.conftest import render_silent_preview, run_cli

REVIEWER = {
    "by": "Dr Test Reviewer",
    "role": "Interventional pain physician",
    "date": "2026-02-01",
    "sources": ["Spine Intervention Society guidelines (2013)", "StatPearls: Epidural steroid injections"],
}
REVIEWED_LINE = "Medically reviewed by Dr Test Reviewer, Interventional pain physician, on 2026-02-01"


def write_record(folder: Path, video: str, next_review: str | None = None, reviewed: dict | None = REVIEWER) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    data: dict = {"reviewed": reviewed}
    if next_review:
        data["next_review"] = next_review
    path = folder / f"{video}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# -- the record ------------------------------------------------------------------------------


def test_no_shipped_video_claims_a_review():
    """Nobody has reviewed these videos yet: no record names a reviewer."""
    for path in DEFAULT_REVIEWS_DIR.glob("*.yaml"):
        assert ReviewRecord.model_validate(__import__("yaml").safe_load(path.read_text()) or {}).reviewed is None, path


def test_next_review_defaults_to_twelve_months_and_overdue_is_judged_by_date(tmp_path):
    write_record(tmp_path, "overview")
    record = load_review("overview", tmp_path)
    assert record.next_review == dt.date(2027, 2, 1)
    assert record.line() == REVIEWED_LINE
    assert not record.overdue(dt.date(2027, 2, 1)) and record.overdue(dt.date(2027, 2, 2))
    assert add_months(dt.date(2025, 3, 31), 11) == dt.date(2026, 2, 28)
    assert load_review("spine-atlas", tmp_path).line() == "Not yet medically reviewed"
    assert load_review("spine-atlas", tmp_path).line("es") == "Todavía sin revisión médica"


@pytest.mark.parametrize(
    "reviewed, words",
    [
        ({**REVIEWER, "by": None}, "'reviewed.by'"),
        ({k: v for k, v in REVIEWER.items() if k != "sources"}, "'reviewed.sources'"),
        ({**REVIEWER, "date": "2999-01-01"}, "in the future"),
        ({**REVIEWER, "date": "last spring"}, "'reviewed.date'"),
    ],
)
def test_a_bad_record_names_its_field(tmp_path, reviewed, words):
    write_record(tmp_path, "overview", reviewed=reviewed)
    with pytest.raises(ReviewError) as exc:
        load_review("overview", tmp_path)
    assert words in str(exc.value) and "overview.yaml" in str(exc.value)


# -- the closing card, read from the scene ------------------------------------------------------


def scene_after(video: str, level: str | None, beat_ids: tuple[str, ...], options, settings: dict, patch=None):
    """Run video's real scene over only ``beat_ids`` (each 3 s, no speech) and return the scene."""
    from manim import tempconfig

    import dataclasses

    from pipeline.build import make_storyboard, narration_context
    from spine.videos import resolve
    from voiceover.scripts import load_script

    request = resolve(video, level)
    full = load_script(request.spec.script_name, options.lang).filled(narration_context(request, options.lang))
    script = dataclasses.replace(full, beats=tuple(b for b in full.beats if b.id in beat_ids))
    spoken = [SimpleNamespace(duration_s=2.3) for _ in script.beats]
    board = make_storyboard(request, script, spoken, settings["frame_rate"], options)
    with tempconfig(settings):
        scene = request.spec.scene_class()(board)
        if patch:
            patch(scene)
        scene.render()
    return scene


def closing_words(video: str, level: str | None, tmp_path: Path, lang: str = "en") -> list[str]:
    from pipeline.options import BuildOptions
    from pipeline.media import manim_settings
    from scenes.kit.cards import card_words

    settings = manim_settings("preview", tmp_path) | {
        "dry_run": True,
        "write_to_movie": False,
        "pixel_width": 214,
        "pixel_height": 120,
    }
    scene = scene_after(
        video, level, ("title", "closing"), BuildOptions(quality="preview", voice="none", lang=lang), settings
    )
    words = []
    for mob in scene.mobjects:
        words += card_words(mob)
    return words


@pytest.mark.parametrize("video, level", [("transforaminal-esi", "L4-L5"), ("overview", None), ("spine-atlas", "C5")])
def test_closing_card_says_not_yet_reviewed_without_a_record(video, level, tmp_path, monkeypatch):
    monkeypatch.setenv(REVIEWS_DIR_ENV, str(tmp_path / "no-records"))
    words = closing_words(video, level, tmp_path)
    assert "Not yet medically reviewed" in words
    assert not any(w.startswith("Medically reviewed by") for w in words)
    assert "For education only" in words


def test_the_closing_card_speaks_the_videos_language(tmp_path, monkeypatch):
    monkeypatch.setenv(REVIEWS_DIR_ENV, str(tmp_path / "no-records"))
    words = closing_words("overview", None, tmp_path, lang="es")
    assert "Todavía sin revisión médica" in words and "Not yet medically reviewed" not in words


def test_closing_card_names_the_reviewer_and_date_from_the_record(tmp_path, monkeypatch):
    write_record(tmp_path / "reviews", "transforaminal-esi")
    monkeypatch.setenv(REVIEWS_DIR_ENV, str(tmp_path / "reviews"))
    words = closing_words("transforaminal-esi", "L4-L5", tmp_path)
    assert REVIEWED_LINE in words
    assert "Not yet medically reviewed" not in words


# -- list, doctor -------------------------------------------------------------------------------


def test_list_json_shows_each_videos_review(tmp_path):
    write_record(tmp_path, "facet-joint-injection", next_review="2026-06-01")
    proc = run_cli("list", "--json", "--reviews-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r["review"] for r in json.loads(proc.stdout)}
    assert rows["facet-joint-injection"]["reviewed"]["by"] == "Dr Test Reviewer"
    assert rows["facet-joint-injection"]["next_review"] == "2026-06-01"
    assert rows["facet-joint-injection"]["line"] == REVIEWED_LINE
    assert rows["overview"] == {
        "reviewed": None,
        "next_review": None,
        "overdue": False,
        "line": "Not yet medically reviewed",
    }


def test_doctor_flags_an_overdue_review_with_exit_status_1(tmp_path):
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    write_record(tmp_path / "late", "caudal-esi", next_review=past)
    late = run_cli("doctor", "--reviews-dir", str(tmp_path / "late"))
    assert late.returncode == 1
    assert f"MISSING  review of caudal-esi: medical review by Dr Test Reviewer was due on {past}" in late.stdout

    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    write_record(tmp_path / "fine", "caudal-esi", next_review=future)
    fine = run_cli("doctor", "--reviews-dir", str(tmp_path / "fine"))
    assert "review of" not in fine.stdout
    # the environment of this machine decides the rest; the review alone does not fail it
    assert fine.returncode == (1 if "MISSING" in fine.stdout else 0)

    write_record(tmp_path / "broken", "caudal-esi", reviewed={**REVIEWER, "sources": []})
    broken = run_cli("doctor", "--reviews-dir", str(tmp_path / "broken"))
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "MISSING  review of caudal-esi: review record caudal-esi.yaml: 'reviewed.sources'" in broken.stdout


def test_a_bad_record_stops_a_render_with_one_line(tmp_path):
    write_record(tmp_path / "bad", "overview", reviewed={**REVIEWER, "role": None})
    proc = render_silent_preview(
        "overview",
        "--reviews-dir",
        str(tmp_path / "bad"),
        "--output-dir",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: review record overview.yaml: 'reviewed.role' input should be a valid string; "
        "expected reviewed: {by, role, date, sources} and an optional next_review"
    ]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# -- sidecar and gallery, on a real (tiny) build ------------------------------------------------


@pytest.mark.render
def test_sidecar_and_gallery_show_the_review_and_flag_it_overdue(tmp_path):
    from tests.test_catalog import run_all

    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    write_record(tmp_path / "reviews", "catalog-test", next_review=past)
    proc = run_all(tmp_path, "-j", "1", "--handouts", "none", "--reviews-dir", str(tmp_path / "reviews"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    sidecar = json.loads((out / "catalog-test-test.json").read_text())
    assert sidecar["review"]["reviewed"]["by"] == "Dr Test Reviewer"
    assert sidecar["review"]["line"] == REVIEWED_LINE
    assert sidecar["review"]["next_review"] == past and sidecar["review"]["overdue"] is True

    from tests.test_gallery import parse

    page = parse(out / "index.html")
    text = " ".join(" ".join(page.text).split())
    assert REVIEWED_LINE in text
    assert f"review overdue since {past}" in text
    assert "Medical review overdue" in text
    assert page.find("article", data_review="overdue")
    assert page.find("a", href="#v-catalog-test-test")
