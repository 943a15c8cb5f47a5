"""Images whose in-between pictures are cross-fades of two pictures, saying which two.

A fade or a cross-fade of an image (an illustration layer fading in, one drawing turning into
another, the x-ray monitor's exposure flash) shows, in every frame, ``a + alpha * (b - a)``
for two fixed pictures ``a`` and ``b`` of the same size. :class:`CrossFadingImage` keeps
those three with the picture (``blended_from``), so the render's camera can resample ``a`` and
``b`` onto the frame once and blend the resampled pictures in each frame, instead of
resampling a new picture every frame (``pipeline/scene_writer.py``): 30 ms of CPU per frame
for the 4-unit x-ray monitor at 1080p, against 1-2 ms for the blend.
"""

from __future__ import annotations

import numpy as np
from manim import ImageMobject


def cross_fade(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """``a + alpha * (b - a)`` per byte as uint8, by Pillow's ``Image.blend`` in C: a quarter
    of the CPU of the byte-pair table this used (5.0 -> 1.3 ms for a 1009 x 685 layer). It
    truncates as Manim's own image interpolation (``interpolate(...).astype(uint8)``) does;
    its single-precision sums differ from that by one level on about 2 % of the bytes."""
    if not (_rgba8(a) and _rgba8(b)):
        return (a * (1 - alpha) + b * alpha).astype(np.uint8)
    from PIL import Image

    return np.array(Image.blend(Image.fromarray(a), Image.fromarray(b), float(alpha)))


def _rgba8(array: np.ndarray) -> bool:
    return array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 4


class CrossFadingImage(ImageMobject):
    """An ``ImageMobject`` whose interpolation between two images of its size is a
    :func:`cross_fade`, kept with its inputs when the camera may blend them after resampling.

    ``blended_from`` is ``(pixels, a, b, alpha)`` after :meth:`show_cross_fade` of an image that
    stays in place: ``pixels`` (the very array then shown) is ``cross_fade(a, b, alpha)``. The
    camera trusts it only while ``pixel_array`` is still that array and still equals that blend
    (it blends again to check: a millisecond or so, against the 10-40 ms of resampling it saves,
    and an in-place change such as ``set_color`` is caught).

    Pillow resamples an RGBA picture premultiplied by its alpha, so resampling two pictures and
    blending the results (premultiplied) gives the blend's own resampling only where, pixel by
    pixel, the two share their alpha or their colour: a fade (the same picture, one transparent),
    or an exposure (the same disc of x-ray, other greys). Between two drawings of other outlines
    the straight blend carries the hidden colour of a transparent pixel into the picture, which
    the premultiplied one does not; ``blended_from`` is then left None and the camera resamples
    each frame's picture as Manim does. Both are derived from what the image shows, so the beat
    state's digest leaves them out (:meth:`derived_state`)."""

    blended_from: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None
    _pair: tuple[np.ndarray, np.ndarray, bool] | None = None  # the last pair and whether it may be

    def show_cross_fade(self, a: np.ndarray, b: np.ndarray, alpha: float, *, still: bool) -> np.ndarray:
        """Show ``cross_fade(a, b, alpha)`` (``a`` and ``b`` are not changed afterwards: the
        camera may keep their resampled pictures). ``still``: the image stays where it is for the
        whole cross-fade (a fade in place, an exposure; not a fade with a shift). Only then is
        ``blended_from`` kept, so whether a frame is drawn from it depends on the animation
        alone, never on which frames a process happened to draw before (a beat drawn by another
        worker, after a fast-forward, must give the same pixels)."""
        pixels = cross_fade(a, b, alpha)
        self.pixel_array = pixels
        if not (still and 0.0 < alpha < 1.0 and pixels.shape == a.shape == b.shape and _rgba8(a) and _rgba8(b)):
            # at either end the picture is one of the two (Pillow copies it): nothing to keep, and
            # nothing held on to once the animation is over (nor copied with the image)
            self.blended_from = self._pair = None
            return pixels
        pair = self._pair
        if pair is None or pair[0] is not a or pair[1] is not b:
            pair = self._pair = (a, b, shares_alpha_or_colour(a, b))
        self.blended_from = (pixels, a, b, float(alpha)) if pair[2] else None
        return pixels

    def interpolate_color(self, mobject1, mobject2, alpha: float) -> CrossFadingImage:
        a, b = mobject1.pixel_array, mobject2.pixel_array
        if a.shape != b.shape:
            return super().interpolate_color(mobject1, mobject2, alpha)  # Manim's message for that
        self.show_cross_fade(a, b, alpha, still=same_place(mobject1, mobject2))
        return self

    def set_opacity(self, alpha: float):
        self.blended_from = None  # the pixels change in place: no longer the cross-fade's
        return super().set_opacity(alpha)

    def derived_state(self) -> frozenset[str]:
        return frozenset({"blended_from", "_pair"})


def same_place(mobject1, mobject2) -> bool:
    """True if an animation from ``mobject1`` to ``mobject2`` leaves the image where it is."""
    return bool(mobject1.points.shape == mobject2.points.shape and np.array_equal(mobject1.points, mobject2.points))


def shares_alpha_or_colour(a: np.ndarray, b: np.ndarray) -> bool:
    """True if every pixel of ``a`` has ``b``'s alpha or ``b``'s colour (RGBA, uint8)."""
    same_alpha = a[..., 3] == b[..., 3]
    if same_alpha.all():
        return True
    return bool((a[..., :3] == b[..., :3]).all(axis=-1)[~same_alpha].all())
