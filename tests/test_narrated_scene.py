"""NarratedScene's beat clock: a beat never runs over, even when its animations ask for more
time than the narration gives; what no longer fits still lands in its end state."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from manim import Square, ValueTracker, tempconfig

from scenes.kit import palette
from scenes.narrated import NarratedScene
from scenes.storyboard import schedule

FPS = 5


class Overbooked(NarratedScene):
    def prepare(self):
        self.tracker = ValueTracker(0.0)
        self.square = Square()

    def beat_only(self, clock):
        clock.play(self.square.animate.shift([1, 0, 0]), seconds=10.0)  # more than the beat has
        # no frames left: a builder (``.animate``) and a tracker still land in their end state
        clock.play(self.tracker.animate.set_value(1.0), self.square.animate.scale(2.0), seconds=1.0)


def test_animations_past_the_budget_are_applied_without_frames():
    beat = SimpleNamespace(id="only", chapter="Only", text="One beat.")
    board = schedule("overbooked", [beat], [1.0], FPS, {})
    with tempconfig(
        {
            "pixel_width": 64,
            "pixel_height": 36,
            "frame_rate": FPS,
            "dry_run": True,
            "disable_caching": True,
            "write_to_movie": False,
            "background_color": palette.BACKGROUND,
        }
    ):
        scene = Overbooked(board)
        scene.render()
    assert scene.frames_written == board.beats[0].frames  # exactly the beat's frames
    assert scene.tracker.get_value() == pytest.approx(1.0)
    assert scene.square.width == pytest.approx(4.0)  # the 2x scale landed
    assert scene.square.get_center()[0] == pytest.approx(1.0)


class OneFrameSteps(NarratedScene):
    """A play of one frame, then a wait of one frame while something updates, then the rest."""

    def prepare(self):
        self.square = Square()
        self.square.add_updater(lambda m, dt: m.rotate(0.01))

    def beat_only(self, clock):
        clock.play(self.square.animate.shift([1, 0, 0]), seconds=1 / 15)
        clock.wait(seconds=1 / 15)
        clock.hold()


def test_a_one_frame_step_is_one_frame_without_manims_warning(tmp_path):
    """Manim warns of a run time shorter than a frame (and plays one frame's); the scene asks for
    one frame's time, so each one-frame step is one frame and the build's output stays clean."""
    from manim import logger

    warnings: list[str] = []

    class Catch:
        level = 0

        def handle(self, record):
            warnings.append(record.getMessage())

    board = schedule("one-frame", [SimpleNamespace(id="only", chapter="Only", text="One beat.")], [1.0], 15, {})
    logger.addHandler(Catch())  # type: ignore[arg-type]
    try:
        with tempconfig(
            {
                "pixel_width": 64,
                "pixel_height": 36,
                "frame_rate": 15,
                "media_dir": str(tmp_path),
                "disable_caching": True,
                "write_to_movie": False,
                "background_color": palette.BACKGROUND,
            }
        ):
            scene = OneFrameSteps(board)
            scene.render()
    finally:
        logger.handlers = [h for h in logger.handlers if not isinstance(h, Catch)]
    assert not [w for w in warnings if "too short" in w], warnings
    assert scene.frames_written == board.beats[0].frames
    assert scene.renderer.time * 15 == pytest.approx(board.beats[0].frames)  # Manim's clock: the same frames
