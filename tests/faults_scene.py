"""The scene of the fault tests' tiny video (registered by ``tests/faults_plugin.py``).

Three beats, small enough to render in seconds at the "test" quality, that still use every
cache the pipeline keeps: a title (text), a simulated fluoroscopy shot of the spine model
(the fluoroscopy cache), and a fade out; the narration is spoken by piper (the speech cache).
"""

from __future__ import annotations

from manim import UP, FadeIn, FadeOut, Write

from scenes.kit.cards import text
from scenes.kit.fluoro_panel import FluoroPanel
from scenes.narrated import NarratedScene
from spine.anatomy.model import SpineModel
from spine.imaging.carm import CArmPose


class FaultsScene(NarratedScene):
    def prepare(self) -> None:
        self.model = SpineModel.default()

    def beat_title(self, clock) -> None:
        self.title = text(self.storyboard.beat("title").text, px=60).to_edge(UP)
        clock.play(Write(self.title), share=0.5)

    def beat_xray(self, clock) -> None:
        self.fluoro = FluoroPanel(self.model, CArmPose.ap("L4-L5"), size=48, height=3.0)
        clock.play(FadeIn(self.fluoro), share=0.3)
        clock.play(self.fluoro.take_shot(), share=0.3)

    def beat_outro(self, clock) -> None:
        clock.play(FadeOut(self.title), FadeOut(self.fluoro), share=0.4)
