"""The fault tests' tiny video, ``faults-test``: three beats, piper speech, one fluoroscopy shot.

:func:`register` adds the small "test" quality (192x108, 10 fps) and the video to the
videos ``render.py render`` knows, and its script to the narration loader, in this process;
``tests/faults_run.py`` calls it before it runs the CLI.
"""

from __future__ import annotations

VIDEO = "faults-test"
SCRIPT = {
    "title": "Fault test",
    "beats": [
        {"id": "title", "chapter": "Start", "text": "A short test."},
        {"id": "xray", "chapter": "X-ray", "text": "The X-ray shows the spine."},
        {"id": "outro", "chapter": "End", "text": "Goodbye."},
    ],
}


def spec():
    from spine.videos import VideoSpec

    return VideoSpec(
        name=VIDEO,
        title=SCRIPT["title"],
        scene="tests.faults_scene:FaultsScene",
        summary="A three-beat fault test video.",
        script=VIDEO,
    )


def register() -> None:
    import voiceover.scripts as scripts
    from pipeline import catalog
    from pipeline.quality import QUALITIES
    from spine.videos import all_videos
    from tests.test_catalog_plugin import TEST_QUALITY, serve_script

    QUALITIES.setdefault(TEST_QUALITY.name, TEST_QUALITY)
    all_videos().setdefault(VIDEO, spec())  # the cached table render.py resolves names in
    catalog.register_video(spec())
    serve_script(
        VIDEO,
        SCRIPT["title"],
        lambda: tuple(scripts.ScriptBeat(b["id"], b["chapter"], b["text"]) for b in SCRIPT["beats"]),
    )
