"""Manim's renderer and file writer for beat segments: fast-forward, and held frames converted once.

**Fast-forward.** A render pass (:func:`pipeline.scene_render.render_pass`) runs the whole scene
but draws only the beats it wants; the others are *fast-forwarded*: with
:attr:`SegmentRenderer.fast_forward` set, their animations run frame by frame exactly as in a
real render (same updater steps, same scene time), but no frame is drawn, copied or encoded
and no partial movie is planned. Manim's own ``CairoRenderer`` and ``SceneFileWriter`` are
subclassed and handed to the scene (as Manim's ``frames_comparison`` testing utility does),
instead of patching the methods of live objects.

**Held frames.** Manim draws a frozen ``wait`` (nothing moves, nothing updates) once and hands the encoder
that one picture with a repeat count (``write_frame(pixels, repeat=n)``); its encoder then
builds a new frame from the RGBA pixels and converts it to YUV 4:2:0 for every one of the
``n`` frames. This writer's encoder converts the picture once and encodes the same YUV frame
``n`` times: the bytes written are the same (x264 gets the same pictures), and a held frame
at 1080p costs about two thirds of what it did (measured: 39 -> 26 ms of CPU per frame; the
rest is x264 itself, which encodes every frame of a constant-rate video).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.scene_file_writer import SceneFileWriter
from manim.scene.video_segment_encoder import VideoSegmentEncoder


class HeldFrameEncoder(VideoSegmentEncoder):
    """Encodes a repeated frame from one conversion to the stream's pixel format."""

    def write_frame(self, pixels, *, repeat: int = 1) -> None:
        if repeat == 1:
            super().write_frame(pixels, repeat=1)
            return
        self._validate_frame(pixels, repeat)
        time_base = Fraction(self.spec.frame_rate.denominator, self.spec.frame_rate.numerator)
        try:
            # what the stream's encoder would do to each copy, done once
            frame = av.VideoFrame.from_ndarray(pixels, format="rgba").reformat(
                width=self.spec.width, height=self.spec.height, format=self.spec.pixel_format
            )
            for _ in range(repeat):
                frame.pts = self._next_pts
                frame.time_base = time_base
                self._next_pts += 1
                for packet in self._stream.encode(frame):  # type: ignore[union-attr,arg-type]
                    self._container.mux(packet)
        except BaseException as error:
            raise self._operation_error("encode", error) from error


class SegmentWriter(SceneFileWriter):
    """Manim's writer with :class:`HeldFrameEncoder` for every partial movie; writes nothing
    while :attr:`fast_forward` (set by :class:`SegmentRenderer`); never joins the partial movies
    into one file (the render pass joins each beat's own)."""

    fast_forward = False

    def add_partial_movie_file(self, hash_animation) -> None:
        super().add_partial_movie_file(None if self.fast_forward else hash_animation)

    def begin_animation(self, allow_write: bool = False, **kwargs) -> None:
        super().begin_animation(allow_write and not self.fast_forward, **kwargs)

    def end_animation(self, allow_write: bool = False) -> None:
        super().end_animation(allow_write and not self.fast_forward)

    def combine_to_movie(self) -> None:
        """The render pass joins each beat's partial movies itself."""

    def _create_segment_encoder(self, target: Path) -> VideoSegmentEncoder:
        if self.video_encoder is None:  # Manim's own message for this case
            return super()._create_segment_encoder(target)
        return HeldFrameEncoder(target=target, spec=self.video_encoder)


class SegmentRenderer(CairoRenderer):
    """Manim's Cairo renderer writing with :class:`SegmentWriter`; with :attr:`fast_forward`
    set, frames are neither drawn nor handed to the writer (the camera keeps its last picture)."""

    def __init__(self, **kwargs):
        self._fast_forward = False
        super().__init__(file_writer_class=SegmentWriter, **kwargs)

    @property
    def fast_forward(self) -> bool:
        return self._fast_forward

    @fast_forward.setter
    def fast_forward(self, value: bool) -> None:
        self._fast_forward = bool(value)
        writer = getattr(self, "file_writer", None)
        if writer is not None:
            writer.fast_forward = self._fast_forward

    def init_scene(self, *args, **kwargs) -> None:
        super().init_scene(*args, **kwargs)
        self.file_writer.fast_forward = self._fast_forward

    def update_frame(self, *args, **kwargs) -> None:
        if not self._fast_forward:
            super().update_frame(*args, **kwargs)

    def get_frame(self):
        return self.camera.pixel_array if self._fast_forward else super().get_frame()


def renderer_for(scene_class) -> SegmentRenderer:
    """A :class:`SegmentRenderer` with ``scene_class``'s camera (as Manim's Scene picks it)."""
    import inspect

    from manim.camera.camera import Camera

    camera_class = Camera  # the scene's own default (MovingCameraScene: MovingCamera)
    for klass in scene_class.__mro__:
        parameter = (
            inspect.signature(klass.__init__).parameters.get("camera_class") if "__init__" in vars(klass) else None
        )
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            camera_class = parameter.default
            break
    return SegmentRenderer(camera_class=camera_class)
