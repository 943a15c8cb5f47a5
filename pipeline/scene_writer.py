"""Manim's renderer and file writer for beat segments: fast-forward, and held frames converted once.

**Fast-forward.** A render pass (:func:`pipeline.scene_render.render_pass`) runs the whole scene
but draws only the beats it wants; the others are *fast-forwarded*: with
:attr:`SegmentRenderer.fast_forward` set, their animations run frame by frame exactly as in a
real render (same updater steps, same scene time), but no frame is drawn, copied or encoded
and no partial movie is planned. Manim's own ``CairoRenderer`` and ``SceneFileWriter`` are
subclassed and handed to the scene (as Manim's ``frames_comparison`` testing utility does),
instead of patching the methods of live objects.

**Encoded beside the drawing.** One animation's movie is written while the next animation
draws (:class:`SegmentWriter`), and each picture is converted to YUV in a thread of its own
while x264 encodes the one before (:class:`HeldFrameEncoder`); the bytes are Manim's. A warm
1080p overview, three pairs in turn: 88.1 -> 82.9 s median.

**Held frames.** Manim draws a frozen ``wait`` (nothing moves, nothing updates) once and hands the encoder
that one picture with a repeat count (``write_frame(pixels, repeat=n)``); its encoder then
builds a new frame from the RGBA pixels and converts it to YUV 4:2:0 for every one of the
``n`` frames. This writer's encoder converts the picture once and encodes the same YUV frame
``n`` times: the bytes written are the same (x264 gets the same pictures), and a held frame
at 1080p costs about two thirds of what it did (measured: 39 -> 26 ms of CPU per frame; the
rest is x264 itself, which encodes every frame of a constant-rate video).

**Held frames with updaters.** A ``wait`` while something has an updater (an ``always_redraw``
needle, a monitor following a tracker) is not frozen: Manim runs the updaters and draws every
frame, although the updaters mostly rebuild the same picture. During such a wait
:class:`SegmentRenderer` digests what the camera would read for each frame (every drawn
mobject's points, colours, widths, styles and pixels, the camera's frame, the static
background of the play); a frame whose digest equals the last drawn one is not drawn: the
same picture is handed to the encoder again, which converts it to YUV only once. The
frames are the pixels a full redraw gives (tested: framemd5 of whole videos).

**Images drawn once per change.** The renderer's camera (:class:`ImageRegionCamera` over the
scene's own camera class) resamples an image (an illustration layer, the fluoroscopy) only
when its pixels or its place on the frame changed, and composites it over the pixels it covers
rather than over the whole frame; the encoder reads each frame's pixels in place instead of
copying them first. Both give Manim's own pixels and bytes (tested); only an image partly
outside the frame, resampled inside it alone, may differ by one level on a few pixels. A
still image fading or cross-fading between two pictures that share, pixel by pixel, their alpha
or their colour (``blended_from``, ``scenes/kit/cross_fade.py``: a layer's fade, the x-ray
monitor's exposure) is resampled as those two pictures once each and blended in each frame
(30 ms -> about 3 ms per frame for the monitor at 1080p): within a few levels of Manim's pixels,
at a soft edge where bicubic overshoot is clipped (tested).

**Paths built once per shape.** The same camera keeps each VMobject's Cairo path while its
points and the camera's frame are unchanged (:class:`KeptPathCamera`): a fade, a wait with
updaters or a cross-fading caption redraws the same glyphs in other colours, and Manim rebuilt
their paths curve by curve in Python in every frame. The same pixels (tested).

**Pictures handed on, not copied.** Manim's renderer copies each drawn picture into a new array
for the encoder. :class:`SegmentRenderer` hands the camera's picture itself on and gives the
camera a spare to draw the next one into: one no longer held by anything (the encoder and its
queue, a held frame, the play's static image), found by its reference count.
"""

from __future__ import annotations

import enum
import hashlib
import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from manim.camera.camera import Camera
from manim.camera.moving_camera import MovingCamera
from manim.mobject.types.image_mobject import AbstractImageMobject
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.scene_file_writer import SceneFileWriter
from manim.scene.video_segment_encoder import VideoSegmentEncoder
from manim.utils.space_ops import cross2d
from PIL import Image


class HeldFrameEncoder(VideoSegmentEncoder):
    """Encodes a repeated frame from one conversion to the stream's pixel format, and converts
    each frame while x264 encodes the one before.

    A frame is repeated either with ``repeat`` > 1 (Manim's frozen ``wait``) or by handing the
    same picture (the same array object, never written to again) in consecutive calls
    (:class:`SegmentRenderer` during a wait with updaters); either way it is converted once.

    Manim's encoder converts each RGBA picture to YUV 4:2:0 and then hands it to x264, one after
    the other in its thread, so x264's threads wait while a picture is converted (about 3.5 ms
    at 1080p): that thread was the render's slowest stage (a warm 1080p overview: 55 s of its
    86 s in it; the drawing thread waited on it about 40 s, 24 s at animation ends and 16 s on
    a full queue). Here a second thread converts picture
    ``n`` while this one hands picture ``n - 1`` to x264 (the conversion runs without Python's
    lock). The pictures x264 gets, and so the bytes written, are those of Manim's encoder.
    """

    _last_pixels: np.ndarray | None = None
    _last_frame: Future | None = None  # the conversion of _last_pixels

    def __init__(self, *, target: Path, spec: Any) -> None:
        super().__init__(target=target, spec=spec)
        self._pending: deque[tuple[Future, int]] = deque()  # (conversion, repeat), oldest first
        self._converter = ThreadPoolExecutor(1, thread_name_prefix="frame-convert")
        # One scaler for every picture, run in the converter thread alone: a frame's own
        # ``reformat`` builds a new scaler per picture and lets it spread over worker threads
        # of its own; the same bytes for 4.0 -> 3.2 ms of CPU per 1080p picture.
        self._reformatter = VideoReformatter()

    def write_frame(self, pixels: np.ndarray, *, repeat: int = 1) -> None:
        self._validate_frame(pixels, repeat)
        try:
            if pixels is not self._last_pixels or self._last_frame is None:
                self._last_pixels, self._last_frame = pixels, self._converter.submit(self._convert, pixels)
            self._pending.append((self._last_frame, repeat))
            while len(self._pending) > 1:  # the newest converts while the one before is encoded
                self._encode_oldest()
        except BaseException as error:
            raise self._operation_error("encode", error) from error

    def finish(self) -> None:
        try:
            while self._pending:
                self._encode_oldest()
        except BaseException as error:
            self._converter.shutdown(wait=True, cancel_futures=True)
            raise self._operation_error("encode", error) from error
        self._converter.shutdown(wait=True)
        super().finish()

    def abort(self) -> None:
        self._pending.clear()
        self._converter.shutdown(wait=True, cancel_futures=True)
        super().abort()

    def _convert(self, pixels: np.ndarray) -> av.VideoFrame:
        """What the stream's encoder would do to the picture before x264 gets it."""
        return self._reformatter.reformat(
            _rgba_frame(pixels),
            width=self.spec.width,
            height=self.spec.height,
            format=self.spec.pixel_format,
            threads=1,
        )

    def _encode_oldest(self) -> None:
        conversion, repeat = self._pending.popleft()
        frame = conversion.result()
        time_base = Fraction(self.spec.frame_rate.denominator, self.spec.frame_rate.numerator)
        for _ in range(repeat):
            frame.pts = self._next_pts
            frame.time_base = time_base
            self._next_pts += 1
            for packet in self._stream.encode(frame):  # type: ignore[union-attr]
                self._container.mux(packet)


def _rgba_frame(pixels: np.ndarray) -> av.VideoFrame:
    """A video frame over ``pixels`` (RGBA, C-contiguous: checked by the encoder) without
    copying them (about 4 ms of CPU per 1080p frame); Manim's encoder copies them first."""
    try:
        return av.VideoFrame.from_numpy_buffer(pixels, format="rgba")
    except (ValueError, TypeError):  # a layout the buffer cannot be read from in place
        return av.VideoFrame.from_ndarray(pixels, format="rgba")


class SegmentWriter(SceneFileWriter):
    """Manim's writer with :class:`HeldFrameEncoder` for every partial movie; writes nothing
    while :attr:`fast_forward` (set by :class:`SegmentRenderer`); never joins the partial movies
    into one file (the render pass joins each beat's own).

    Manim encodes each animation into its own movie. With one encoder at a time (Manim's
    default), the drawing thread waited at every animation's end until its movie was written: an
    animation often ends on a held frame that x264 encodes hundreds of times (24 s of waiting in
    a warm 1080p overview of 86 s). The render's settings (:func:`pipeline.media.manim_settings`)
    let one sealed animation's movie be written while the next animation draws; the bytes are the
    same, each movie being its own stream.
    """

    fast_forward = False

    def add_partial_movie_file(self, hash_animation: str | None) -> None:
        super().add_partial_movie_file(None if self.fast_forward else hash_animation)

    def begin_animation(self, allow_write: bool = False, **kwargs: Any) -> None:
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

    def __init__(self, **kwargs: Any) -> None:
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

    def init_scene(self, *args: Any, **kwargs: Any) -> None:
        super().init_scene(*args, **kwargs)
        self.file_writer.fast_forward = self._fast_forward

    def update_frame(self, *args: Any, **kwargs: Any) -> None:
        if not self._fast_forward:
            super().update_frame(*args, **kwargs)

    def get_frame(self) -> np.ndarray:
        """The picture just drawn, handed on without a copy: the camera draws the next one into
        a spare picture (:meth:`_spare_picture`). Manim copies the picture (8 MB at 1080p) into
        a new array each frame; each copy's fresh pages are zeroed by the kernel first."""
        picture = self.camera.pixel_array
        if self._fast_forward:
            return picture
        spare = self._spare_picture(picture)
        if spare is None:
            return super().get_frame()  # Manim's own copy
        # Every get_frame follows an update_frame, which fills the whole picture first (from the
        # background or the play's static image): what the spare held before is never seen.
        self.camera.pixel_array = spare
        return picture

    # Pictures handed on by get_frame, each with its reference count when nothing else holds it
    # (this list, getrefcount's argument, and a Cairo context the camera may keep for it).
    _pictures: list[list[Any]] | None = None

    def _spare_picture(self, picture: np.ndarray) -> np.ndarray | None:
        """A picture like ``picture`` that nothing else refers to any more (the encoder, its queue,
        a held frame, the play's static image all hold theirs), or a new one while there are fewer
        than :data:`FRAME_PICTURES`; None if all are in use."""
        pictures = self._pictures
        if pictures is None:
            pictures = self._pictures = []
        for entry in pictures:
            if (
                sys.getrefcount(entry[0]) <= entry[1]
                and entry[0] is not picture
                and entry[0].shape == picture.shape
                and entry[0].dtype == picture.dtype
            ):
                return entry[0]
        if len(pictures) >= FRAME_PICTURES or not (picture.flags.c_contiguous and picture.flags.writeable):
            return None
        pictures.append([np.empty_like(picture), 0])
        entry = pictures[-1]
        self.camera.get_cairo_context(entry[0])  # a camera that keeps one per picture keeps it from now on
        entry[1] = sys.getrefcount(entry[0])
        return entry[0]

    # -- held frames during a wait with updaters ------------------------------------------
    _held: tuple[bytes, Any, np.ndarray] | None = None  # (look, the play's background, the picture)
    _hold: Any = None  # the Wait being held
    _hold_changes = 0  # frames in a row that changed (a moving hold stops being digested)

    def render(self, scene: Any, time: float, moving_mobjects: Iterable[Any] | None = None) -> None:
        if self._fast_forward or not self._waiting(scene):
            self._held = None
            super().render(scene, time, moving_mobjects)
            return
        look = _look(self.camera, self._drawn(scene, moving_mobjects))
        held = self._held
        if held is not None and held[0] == look and held[1] is self.static_image:
            self._hold_changes = 0
            self.add_frame(held[2])  # the same picture again: not drawn, converted once
            return
        self._hold_changes += 1
        self.update_frame(scene, moving_mobjects)
        frame = self.get_frame()
        self._held = (look, self.static_image, frame)
        self.add_frame(frame)

    def _waiting(self, scene: Any) -> bool:
        """True while the scene plays only a wait whose frames have not kept changing."""
        from manim.animation.animation import Wait

        animations = scene.animations or []
        if not animations or not all(type(a) is Wait for a in animations):
            self._hold = None
            return False
        if self._hold is not animations[0]:
            self._hold, self._hold_changes, self._held = animations[0], 0, None
        return self._hold_changes < HOLD_GIVE_UP

    def _drawn(self, scene: Any, moving_mobjects: Iterable[Any] | None) -> list[Any]:
        """What :meth:`update_frame` would draw, in its order (Manim's own rules)."""
        from manim.utils.iterables import list_update

        mobjects = list(moving_mobjects or [])
        if not mobjects:
            mobjects = list_update(scene.mobjects, scene.foreground_mobjects)
        return self.camera.get_mobjects_to_display(mobjects, include_submobjects=True)


# Pictures get_frame hands on at most (8 MB each at 1080p): the encoder's queue, its conversion,
# the held frame and the static image hold a few at a time; past this many, Manim's copy.
FRAME_PICTURES = 24

# A wait whose picture changed this many frames in a row (something really moves) is drawn
# frame by frame without digesting it further.
HOLD_GIVE_UP = 3

# Mobject attributes that are structure or bookkeeping, not what the camera draws (the
# family is walked separately; updaters are code).
_NOT_LOOK = frozenset({"submobjects", "updaters", "parents", "submob_dict", "name"})


def _look(camera: Any, mobjects: list[Any]) -> bytes:
    """A digest of everything the Cairo camera reads to draw ``mobjects``.

    Each mobject's type and every attribute of it that is an array, number, string, enum or
    colour (points, fill and stroke colours, widths, sheen, joint and cap styles, z-index,
    an image's pixels and resampling), in drawing order, and the camera's own numbers with
    its frame's points (a moving camera). Conservative: any such change counts as a change.
    """
    digest = hashlib.blake2b(digest_size=20)
    parts: list[str] = []

    def put(value: Any) -> None:
        if isinstance(value, np.ndarray):
            parts.append(f"a{value.dtype.str}{value.shape}")
            if value.dtype != object:
                digest.update("\x1f".join(parts).encode())
                parts.clear()
                digest.update(np.ascontiguousarray(value).data)
            else:
                parts.append("obj")
        elif value is None or isinstance(value, (bool, int, float, str, enum.Enum, np.generic)):
            parts.append(repr(value))
        elif isinstance(value, (list, tuple)):
            parts.append(f"l{len(value)}")
            for item in value:
                put(item)
        elif type(value).__name__ == "ManimColor":
            parts.append(repr(value))
        else:
            parts.append("o:" + type(value).__qualname__)

    def put_object(obj: Any) -> None:
        parts.append("M:" + type(obj).__qualname__)
        # an image: what the camera reads, whatever the class keeps (Mobject makes up get_<name>)
        get_pixels = obj.get_pixel_array if isinstance(obj, AbstractImageMobject) else None
        for name, value in sorted(vars(obj).items()):
            if name in _NOT_LOOK or callable(value) and not isinstance(value, np.ndarray):
                continue
            if name == "pixel_array" and get_pixels is not None:
                continue  # read through get_pixel_array below
            parts.append("." + name)
            put(value)
        if get_pixels is not None:
            parts.append(".get_pixel_array")
            put(get_pixels())

    for name, value in sorted(vars(camera).items()):
        if isinstance(value, (bool, int, float, str)) or value is None:
            parts.append(f"C.{name}={value!r}")
    frame = getattr(camera, "frame", None)
    if frame is not None:
        put_object(frame)
    for mobject in mobjects:
        put_object(mobject)
    digest.update("\x1f".join(parts).encode())
    return digest.digest()


class ImageRegionCamera:
    """Camera mixin: an image is resampled only when what it shows or where it lands changed,
    and composited only over the pixels it covers.

    Manim's ``Camera.display_image_mobject`` resamples every image in every frame it draws
    (PIL's perspective transform), pastes the result into a transparent picture the size of the
    frame and alpha-composites that whole picture over the frame. The same steps here give the
    same pixels: the resampled image is kept with the exact inputs that made it (the image's
    pixels, its corners in subpixel coordinates, the resampling filter) and reused while they
    are equal; and it is composited over the region it covers only, since compositing a
    transparent pixel leaves the pixel under it as it was (tested against Manim's own method).
    At 1080p a still image under something that moves cost ~20 ms of CPU per frame. Only the
    part of an image inside the frame is resampled (:func:`_resample_placed`).
    """

    _placed_cache: dict[Any, tuple] | None = None
    PLACED_CACHE_SIZE = 24  # images and cross-fades' pictures; a few layers fade at once

    def display_image_mobject(self, image_mobject: Any, pixel_array: np.ndarray) -> None:
        pixels = image_mobject.get_pixel_array()
        if not (
            getattr(self, "image_mode", None) == "RGBA"
            and _rgba8(pixels)
            and _rgba8(pixel_array)
            and pixel_array.flags.c_contiguous
        ):
            super().display_image_mobject(image_mobject, pixel_array)  # type: ignore[misc]
            return
        target_coords = self.points_to_subpixel_coords(image_mobject, image_mobject.points)  # type: ignore[attr-defined]
        height, width = pixel_array.shape[:2]
        placed = self._cross_faded(image_mobject, pixels, target_coords, (width, height))
        if placed is False:
            placed = self._placed(
                id(image_mobject), image_mobject.resampling_algorithm, pixels, target_coords, (width, height)
            )
        if placed is None:
            return
        image, (x, y) = placed  # resampled inside the frame only: no part of it to cut off
        region = pixel_array[y : y + image.height, x : x + image.width]
        under = Image.fromarray(np.ascontiguousarray(region))
        region[...] = np.asarray(Image.alpha_composite(under, image))

    def _cross_faded(
        self, image_mobject: Any, pixels: np.ndarray, target_coords: np.ndarray, frame_size: tuple[int, int]
    ) -> tuple | None | Literal[False]:
        """A still image in the middle of a cross-fade (``blended_from``, see
        ``scenes/kit/cross_fade.py``): its two pictures resampled once each (kept while they and
        the image's place are unchanged) and blended as the image's own pixels were. False when
        the image is not such a cross-fade (a fade with a shift, which would cost two
        resamplings a frame instead of one, keeps no ``blended_from``). Which way a frame is
        drawn depends on the image alone, not on the frames drawn before it: a beat must give
        the same pixels in whichever process draws it.

        Blending after resampling rather than before gives the same picture up to rounding: a
        level or two on a few pixels, more only where the bicubic filter overshoots past 0 or
        255 at a sharp edge and is clipped (tested)."""
        blend = getattr(image_mobject, "blended_from", None)
        if blend is None or blend[0] is not pixels:
            return False
        from scenes.kit.cross_fade import cross_fade

        _, a, b, alpha = blend
        if not (_rgba8(a) and _rgba8(b) and a.shape == b.shape == pixels.shape):
            return False
        if not np.array_equal(pixels, cross_fade(a, b, alpha)):  # changed in place since
            return False
        resampling = image_mobject.resampling_algorithm
        # Pillow resamples RGBA premultiplied by its alpha (but for NEAREST); blended so too
        premultiplied = resampling != Image.Resampling.NEAREST
        placed_a = self._placed(("cross-fade", id(a)), resampling, a, target_coords, frame_size, premultiplied)
        placed_b = self._placed(("cross-fade", id(b)), resampling, b, target_coords, frame_size, premultiplied)
        if placed_a is None or placed_b is None:
            return None
        blended = Image.blend(placed_a[0], placed_b[0], alpha)
        return (blended.convert("RGBA") if premultiplied else blended), placed_a[1]

    def _placed(
        self,
        key: Any,
        resampling: Any,
        pixels: np.ndarray,
        target_coords: np.ndarray,
        frame_size: tuple[int, int],
        premultiplied: bool = False,
    ) -> tuple | None:
        """``pixels`` resampled onto the frame's pixel grid (with ``resampling``) and its top-left
        pixel (Manim's own arithmetic, see ``Camera.display_image_mobject``), or None where Manim
        draws nothing; kept under ``key`` while the inputs are equal. Only the part inside the
        frame (``frame_size``: width, height) is resampled. ``premultiplied``: left as Pillow
        resamples it, premultiplied by its alpha (mode ``RGBa``)."""
        cache = self._placed_cache
        if cache is None:
            cache = self._placed_cache = {}
        kept = cache.get(key)
        if (
            kept is not None
            and kept[0] == (resampling, frame_size, premultiplied)
            and np.array_equal(kept[1], target_coords)
            and kept[2].shape == pixels.shape
            and np.array_equal(kept[2], pixels)
        ):
            cache[key] = cache.pop(key)  # most recently used last
            return kept[3]
        placed = _resample_placed(pixels, target_coords.copy(), resampling, frame_size, premultiplied)
        cache.pop(key, None)
        cache[key] = ((resampling, frame_size, premultiplied), target_coords.copy(), pixels.copy(), placed)
        while len(cache) > self.PLACED_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        return placed


def _rgba8(array: Any) -> bool:
    return isinstance(array, np.ndarray) and array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 4


def _resample_placed(
    pixels: np.ndarray,
    target_coords: np.ndarray,
    resampling: Any,
    frame_size: tuple[int, int],
    premultiplied: bool = False,
) -> tuple | None:
    """Manim 0.22's ``Camera.display_image_mobject`` up to its paste: the same numbers in the
    same order, returning the resampled image and where its top-left corner lands.

    Manim resamples the whole image and lets the paste drop what falls outside the frame; when
    the camera zooms in, that is several frames' worth of pixels for one frame's worth shown.
    Here only the window inside the frame (``frame_size``: width, height) is resampled: the
    homography is composed with that window's offset, so each pixel samples the same point of
    the image (up to the last bit of a double)."""
    sub_image = Image.fromarray(pixels)  # RGBA: a uint8 array of four channels
    if premultiplied:  # what Pillow's transform of RGBA does first; its result is left so
        sub_image = sub_image.convert("RGBa")
    original_coords = np.array(
        [[0, 0], [sub_image.width, 0], [0, sub_image.height], [sub_image.width, sub_image.height]]
    )
    int_target_coords = target_coords.astype(np.int64)
    shift_vector = np.array([min(*[x for x, y in int_target_coords]), min(*[y for x, y in int_target_coords])])
    target_coords -= shift_vector
    int_target_coords -= shift_vector
    target_size = (max(*[x for x, y in int_target_coords]), max(*[y for x, y in int_target_coords]))
    ordered_vertices = [target_coords[i] for i in (0, 1, 3, 2)]
    sides = [ordered_vertices[(i + 1) % 4] - ordered_vertices[i] for i in range(4)]
    side_lengths_in_pixels = np.linalg.norm(sides, axis=1)
    longest_side_index = np.argmax(side_lengths_in_pixels)
    longest_side = sides[longest_side_index]
    longest_side_length_in_pixels = side_lengths_in_pixels[longest_side_index]
    if longest_side_length_in_pixels == 0:
        return None
    previous_side = sides[(longest_side_index - 1) % 4]
    next_side = sides[(longest_side_index - 1) % 4]  # sic: Manim's own choice
    h1 = abs(cross2d(longest_side, previous_side)) / longest_side_length_in_pixels
    h2 = abs(cross2d(longest_side, next_side)) / longest_side_length_in_pixels
    if max(h1, h2) < 0.5:
        return None
    homography_matrix = []
    for (x, y), (X, Y) in zip(target_coords, original_coords, strict=True):
        homography_matrix.append([x, y, 1, 0, 0, 0, -X * x, -X * y])
        homography_matrix.append([0, 0, 0, x, y, 1, -Y * x, -Y * y])
    a = np.array(homography_matrix, dtype=np.float64)
    b = original_coords.reshape(8).astype(np.float64)
    try:
        transform_coefficients = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return None
    frame_width, frame_height = frame_size
    shift_x, shift_y = int(shift_vector[0]), int(shift_vector[1])
    left, top = max(0, -shift_x), max(0, -shift_y)
    right, bottom = min(int(target_size[0]), frame_width - shift_x), min(int(target_size[1]), frame_height - shift_y)
    if right <= left or bottom <= top:
        return None  # wholly outside the frame
    if (left, top, right, bottom) != (0, 0, target_size[0], target_size[1]):
        # output pixel (u, v) of the window is pixel (u + left, v + top) of Manim's image
        x0, x1, x2, y0, y1, y2, w0, w1 = (float(value) for value in transform_coefficients)
        scale = w0 * left + w1 * top + 1.0
        transform_coefficients = (
            np.array([x0, x1, x0 * left + x1 * top + x2, y0, y1, y0 * left + y1 * top + y2, w0, w1], dtype=np.float64)
            / scale
        )
        target_size = (right - left, bottom - top)
    sub_image = sub_image.transform(  # the array itself, as Manim passes it (Pillow reads any sequence)
        size=target_size,
        method=Image.Transform.PERSPECTIVE,
        data=transform_coefficients,  # type: ignore[arg-type]
        resample=resampling,
    )
    return sub_image, (shift_x + left, shift_y + top)


class KeptPathCamera:
    """Camera mixin: a shape's Cairo path is built once and replayed while it stays put.

    Manim's ``Camera.set_cairo_context_path`` rebuilds every drawn VMobject's path in every
    frame: it splits the points into subpaths with a dozen numpy calls and hands Cairo each
    curve from a Python loop. A caption's glyphs (177 VMobjects, 16,416 points) took about
    10 ms per 1080p frame that way, of 16 ms for drawing them, although a fade or a wait
    changes only their colours. Here the path Cairo was given is copied out
    (``Context.copy_path``) and kept under everything that decides it: the exact points, the
    context's transformation (where the camera's frame is), the VMobject's class and its two
    numbers the split reads. While those are equal it is appended again (0.2 ms for the
    caption). Cairo keeps a path in fixed point (1/256 of a pixel); the copy converts it to
    user space and the append converts it back under the same transformation, an error
    far below that step, so Cairo gets the same path and draws the same pixels (tested
    against Manim's own camera).
    """

    _kept_paths: dict | None = None
    _kept_bytes = 0
    KEPT_PATH_BYTES = 64 * 1024 * 1024  # of points kept as keys; the oldest paths go first

    def set_cairo_context_path(self, ctx: Any, vmobject: Any) -> Any:
        points = vmobject.points
        if (
            len(points) == 0  # Manim leaves the context's path as it was
            or type(self).transform_points_pre_display is not Camera.transform_points_pre_display  # type: ignore[attr-defined]
            or not isinstance(points, np.ndarray)
        ):
            return super().set_cairo_context_path(ctx, vmobject)  # type: ignore[misc]
        shape = points.tobytes()
        key = (
            type(vmobject),
            vmobject.n_points_per_cubic_curve,
            vmobject.tolerance_for_point_equality,
            tuple(ctx.get_matrix()),
            points.dtype.str,
            points.shape,
            shape,
        )
        kept = self._kept_paths
        if kept is None:
            kept = self._kept_paths = {}
        path = kept.pop(key, None)
        if path is None:
            super().set_cairo_context_path(ctx, vmobject)  # type: ignore[misc]
            path = ctx.copy_path()
            self._kept_bytes += len(shape)
            while kept and self._kept_bytes > self.KEPT_PATH_BYTES:
                oldest = next(iter(kept))
                del kept[oldest]
                self._kept_bytes -= len(oldest[-1])
        else:
            ctx.new_path()
            ctx.append_path(path)
        kept[key] = path  # most recently used last
        return self


class RegionCamera(ImageRegionCamera, KeptPathCamera, Camera):
    """Manim's ``Camera`` with :class:`ImageRegionCamera`'s image drawing and
    :class:`KeptPathCamera`'s paths."""


class RegionMovingCamera(ImageRegionCamera, KeptPathCamera, MovingCamera):
    """Manim's ``MovingCamera`` (every NarratedScene's) with :class:`ImageRegionCamera`'s image
    drawing and :class:`KeptPathCamera`'s paths."""


def _region_camera(camera_class: type) -> type:
    for klass in (RegionMovingCamera, RegionCamera):
        if klass.__mro__[3] is camera_class:
            return klass
    return type(f"Region{camera_class.__name__}", (ImageRegionCamera, KeptPathCamera, camera_class), {})


def renderer_for(scene_class: Any) -> SegmentRenderer:
    """A :class:`SegmentRenderer` with ``scene_class``'s camera (as Manim's Scene picks it)."""
    import inspect

    camera_class: type = Camera  # the scene's own default (MovingCameraScene: MovingCamera)
    for klass in scene_class.__mro__:
        parameter = (
            inspect.signature(klass.__init__).parameters.get("camera_class") if "__init__" in vars(klass) else None
        )
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            camera_class = parameter.default
            break
    return SegmentRenderer(camera_class=_region_camera(camera_class))
