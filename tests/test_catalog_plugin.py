"""The test-only catalog plugin: a small quality, five tiny test videos and their script.

``SPINE_CATALOG_PLUGINS=tests/test_catalog_plugin.py`` makes ``render.py all`` import this
file in the main process and in every worker (local or Dask) and call :func:`register`.
It imports nothing heavy, so the no-change check stays as quick as in real use; the
videos' scene lives in ``tests/test_catalog_scene.py`` and only workers import it.
"""

from __future__ import annotations

import os
from typing import Callable

from pipeline.quality import QUALITIES, Quality
from spine.videos import VideoSpec

VIDEO = "catalog-test"
BROKEN = "catalog-broken"
COPIES = ("catalog-test-2", "catalog-test-3", "catalog-test-4")  # same scene, more videos to build
SLEEP_ENV = "SPINE_TEST_BEAT_SLEEP"  # seconds each beat sleeps (makes a build slow enough to interrupt)
EDIT_ENV = "SPINE_TEST_EDIT_BEAT"  # a beat id whose narration gets an extra sentence
TEST_QUALITY = Quality("test", 192, 108, 10)
SCRIPT = {
    "title": "Catalog test",
    "beats": [
        {"id": "title", "chapter": "Start", "text": "A short test."},
        {
            "id": "shapes",
            "chapter": "Shapes",
            "text": "Two shapes appear.",
            "describe": "A square and a circle fade in side by side.",
        },  # for `all --described`
        {"id": "spin", "chapter": "Shapes", "text": "The square spins."},
        {"id": "move", "chapter": "Camera", "text": "The camera moves."},
        {"id": "outro", "chapter": "End", "text": "Goodbye."},
    ],
}


def spec(name: str = VIDEO) -> VideoSpec:
    scene = "BrokenScene" if name == BROKEN else "CatalogTestScene"
    return VideoSpec(
        name=name,
        title="Catalog test",
        scene=f"tests.test_catalog_scene:{scene}",
        summary="A five-beat test video.",
        script=VIDEO,
    )


def register() -> None:
    """Register the test quality, the test videos and their script (idempotent)."""
    from pipeline import catalog

    QUALITIES.setdefault(TEST_QUALITY.name, TEST_QUALITY)
    for name in (VIDEO, BROKEN, *COPIES):
        catalog.register_video(spec(name))
    serve_script(VIDEO, SCRIPT["title"], lambda: script_beats(os.environ.get(EDIT_ENV)))


def serve_script(video: str, title: str, beats: Callable[[], tuple]) -> None:
    """Make ``voiceover.scripts.load_script`` answer for ``video`` (any language) with ``beats()``,
    read at each load; other videos load as before. Idempotent: one wrapper serves every test video."""
    import voiceover.scripts as scripts

    served = getattr(scripts.load_script, "served_videos", None)
    if served is None:
        original = scripts.load_script
        served = {}

        def load_script(name: str, lang: str = "en"):
            if name not in served:
                return original(name, lang)
            title, beats = served[name]
            return scripts.Script(name, lang, title, beats(), scripts.SCRIPTS_DIR / lang / f"{name}.yaml")

        load_script.served_videos = served
        scripts.load_script = load_script
    served[video] = (title, beats)


def script_beats(edit: str | None = None) -> tuple:
    from voiceover.scripts import ScriptBeat

    extra = " It now says more than before."
    return tuple(
        ScriptBeat(
            b["id"], b["chapter"], b["text"] + (extra if b["id"] == edit else ""), describe=b.get("describe", "")
        )
        for b in SCRIPT["beats"]
    )


def storyboard(seconds=(1.2, 2.0, 2.5, 1.5, 1.0), fps: int = TEST_QUALITY.fps):
    """A storyboard for the test scene without any speech (for the render-only tests)."""
    from scenes.storyboard import schedule

    return schedule(VIDEO, script_beats(), list(seconds), fps, {})
