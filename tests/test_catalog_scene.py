"""The scene of the catalog tests' tiny video (registered by ``tests/test_catalog_plugin.py``).

Five beats that exercise what segments must get right: text, shapes with colours drawn
from ``random``, an updater spinning with ``dt`` across a hold, a camera move, a fade.
"""

from __future__ import annotations

import os
import random
import time

from manim import DOWN, LEFT, RIGHT, UP, Circle, Create, FadeIn, FadeOut, Square, Write

from scenes.kit.cards import text
from scenes.narrated import NarratedScene

SLEEP_ENV = "SPINE_TEST_BEAT_SLEEP"  # seconds each beat sleeps (makes a build slow enough to interrupt)


class CatalogTestScene(NarratedScene):
    def nap(self) -> None:
        time.sleep(float(os.environ.get(SLEEP_ENV, "0") or 0))

    def prepare(self) -> None:
        self.square = Square(side_length=1.5, color="#56B4E9", fill_opacity=0.6).shift(LEFT * 2)
        self.circle = Circle(radius=0.8, color="#E69F00", fill_opacity=0.6).shift(RIGHT * 2)

    def beat_title(self, clock) -> None:
        self.nap()
        self.title = text(self.storyboard.beat("title").text, px=60).to_edge(UP)
        clock.play(Write(self.title), share=0.5)

    def beat_shapes(self, clock) -> None:
        self.nap()
        self.square.set_fill(random.choice(["#009E73", "#CC79A7", "#F0E442"]), opacity=0.7)
        clock.play(Create(self.square), FadeIn(self.circle, shift=UP * random.random()), share=0.6)

    def beat_spin(self, clock) -> None:
        self.nap()
        self.square.add_updater(lambda m, dt: m.rotate(0.9 * dt))
        clock.wait(share=0.5)
        clock.play(self.circle.animate.shift(DOWN * 0.5), share=0.3)

    def beat_move(self, clock) -> None:
        self.nap()
        self.square.clear_updaters()
        clock.play(self.camera.frame.animate.scale(0.8).move_to(self.circle), share=0.5)

    def beat_outro(self, clock) -> None:
        self.nap()
        clock.play(FadeOut(self.square), FadeOut(self.circle), FadeOut(self.title), share=0.4)


class BrokenScene(CatalogTestScene):
    def beat_spin(self, clock) -> None:
        raise RuntimeError("this test video is broken on purpose")
