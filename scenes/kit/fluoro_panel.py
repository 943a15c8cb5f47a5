"""FluoroPanel: the C-arm monitor as a Manim mobject, to show beside the illustration.

    panel = FluoroPanel(model, CArmPose.ap("L4-L5"), height=4.2).to_edge(RIGHT)
    self.add(panel)
    self.play(panel.take_shot())                      # exposure flash, then the image
    self.play(panel.rotate_to(CArmPose.oblique("L4-L5", 30, "right")))  # the C-arm turns
    panel.set_needle(Needle(p0, p1, 0.72))            # updates the image (<= 50 ms at 512^2)
    panel.follow_contrast(pattern, progress)          # dye spreading as a tracker moves (pulsed)

The panel is a ``Group`` of the image (:attr:`image`, an ``ImageMobject`` whose outside
of the collimated field is transparent), a circular frame, a label (level and view) in the
bundled font and the R / L marker (:attr:`marker`) on the patient's side of the image
(:func:`spine.imaging.marker.side_marker`; ``side`` is the treated side). While the C-arm
turns (:meth:`rotate_to`) the image follows it, a pose every 2.5 degrees, and the label and
the marker keep the view the arm left; they change on the frame where it settles (the frame
after the turn), with the settled image. Anatomy line integrals come from the
disk cache; a needle or contrast change recomputes only that layer. While ``live`` is true the noise follows the picture: its
seed is a digest of what the image shows (pose, needle and contrast layers) and of the number
of exposures taken (:meth:`take_shot`), so the noise changes whenever the picture does (live
fluoroscopy flickers) but never depends on how many frames were drawn before. A beat's images
are then the same however long the earlier beats were, and a cached beat stays reusable when
an earlier beat's narration changes. ``live=False`` holds one noise pattern (last image hold).
"""

from __future__ import annotations

import hashlib
import math
import zlib
from functools import lru_cache

import numpy as np
from manim import DOWN, Animation, Circle, Group, Text, VMobject, linear, smooth

from scenes.kit.cross_fade import CrossFadingImage
from scenes.kit.palette import TEXT, TEXT_MUTED
from scenes.kit.typography import font_size_for_px, pango_text, register_fonts

from spine.imaging.anchors import structures_hash
from spine.imaging.carm import CArmPose, interpolate_poses
from spine.imaging.detector import Detector, to_uint8
from spine.imaging.layers import FluoroImager, Needle
from spine.imaging.marker import side_marker
from spine.imaging.memory import memory

__all__ = ["FluoroPanel", "grey_to_rgba"]


def monitor_pixels(height_units: float, largest: int = 384) -> int:
    """The monitor image's size for a panel ``height_units`` tall at the render's resolution:
    about 1.2 image pixels per screen pixel (rounded up to 32), at least 96 and at most
    ``largest``. A 1080p panel of 4 units (540 px on screen) keeps the 384 px image; a preview
    panel draws 288 px and the test quality's 96 px, so a small render does not trace rays
    for pixels it cannot show."""
    from manim import config

    on_screen = height_units / config.frame_height * config.pixel_height
    return int(min(largest, max(96, -(-on_screen * 1.2 // 32) * 32)))


@lru_cache(maxsize=8)
def _field_alpha(size: int, field_fraction: float) -> np.ndarray:
    """The alpha channel of a monitor image: opaque inside the circular field (soft edge)."""
    c = (size - 1) / 2
    y, x = np.ogrid[:size, :size]
    r = np.sqrt((x - c) ** 2 + (y - c) ** 2) / (size / 2)
    alpha = (np.clip((field_fraction - r) * size / 2 + 0.5, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    alpha.setflags(write=False)
    return alpha


def grey_to_rgba(grey: np.ndarray, field_fraction: float) -> np.ndarray:
    """(H, W, 4) uint8: grey image, transparent outside the circular field (soft edge)."""
    size = grey.shape[0]
    g = to_uint8(grey)
    out = np.empty((size, size, 4), np.uint8)
    out[..., 0] = g
    out[..., 1] = g
    out[..., 2] = g
    out[..., 3] = _field_alpha(size, float(field_fraction))
    return out


def _layers_digest(layers) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for layer in layers:
        h.update(b"-" if layer is None else b"L" + repr(layer.shape).encode())
        if layer is not None:
            h.update(np.ascontiguousarray(layer).data)
    return h.digest()


def _glyphs(text: Text) -> VMobject:
    """A text as one filled path of all its glyphs' outlines (with ``.text``): its family never
    changes size, so a new text can replace it in place during an animation of the panel."""
    out = VMobject(fill_color=text[0].get_fill_color() if len(text) else TEXT, fill_opacity=1.0, stroke_width=0)
    parts = [m.points for m in text.family_members_with_points()]
    if parts:
        out.set_points(np.vstack(parts))
    out.text = getattr(text, "original_text", text.text)  # the words as written, spaces kept
    return out


#: the outlines of the label and marker texts made so far (laying out a text costs about 0.1-0.8 s,
#: and a panel shows the same few words again at every turn)
_TEXT_OUTLINES: dict[tuple, tuple[np.ndarray, object, str]] = {}


def _text_glyphs(words: str, font_size: float, weight: str = "NORMAL") -> VMobject:
    """:func:`_glyphs` of ``Text(words)`` in the bundled font, laid out once per words and size."""
    key = (words, float(font_size), weight)
    got = _TEXT_OUTLINES.get(key)
    if got is None:
        made = _glyphs(pango_text(words, font_size, TEXT, weight))
        got = (made.points.copy(), made.get_fill_color(), made.text)
        if len(_TEXT_OUTLINES) > 256:
            _TEXT_OUTLINES.clear()
        _TEXT_OUTLINES[key] = got
    points, colour, text = got
    out = VMobject(fill_color=colour, fill_opacity=1.0, stroke_width=0)
    out.set_points(np.array(points))
    out.text = text
    return out


class FluoroPanel(Group):
    """A simulated C-arm monitor: image in a circular frame with a level/view label."""

    def __init__(
        self,
        model,
        pose: CArmPose,
        *,
        size: int = 512,
        height: float = 4.0,
        detector: Detector | None = None,
        cache_dir=None,
        seed: int = 0,
        label: str | None = None,
        live: bool = True,
        blank: bool = False,
        side: str | None = None,
        labeller=None,
        **kwargs,
    ):
        register_fonts()
        self.model = model
        self.size = int(size)
        self.detector = detector or Detector()
        self.cache_dir = cache_dir
        self.seed = int(seed)
        self.live = live
        self._shots = 0  # exposures taken: a new shot of an unchanged picture gets new noise
        self._needle: Needle | None = None
        self._needle_layer_now = None
        self._contrast = None
        self._contrast_layer_now = None
        self._label_text = label
        self.side = side
        self._labeller = labeller  # pose -> label words in the video's language (default: English)
        self.imager = self._imager(pose)
        if blank:
            grey = np.full((self.size, self.size), self.detector.surround, np.float32)
            rgba = grey_to_rgba(grey, self.detector.field_fraction)
        else:
            rgba = self._render()
        self.image = CrossFadingImage(np.array(rgba))  # its fades and exposures: cross-fades the camera keeps
        self.image.height = height
        self.ring = Circle(radius=height / 2 * self.detector.field_fraction, color=TEXT_MUTED, stroke_width=3)
        self.ring.move_to(self.image.get_center())
        self.label = self._make_label(pose)
        self.marker = self._make_marker(pose)
        super().__init__(self.image, self.ring, self.label, self.marker, **kwargs)

    # -- building blocks ------------------------------------------------------------------------
    def _imager(self, pose: CArmPose, size: int | None = None, draft: bool = False) -> FluoroImager:
        """The imager of ``pose`` (kept in memory with its anatomy: a turn back to a view, or the
        next beat's panel on the same model, reads it again without the disk); ``size``: its
        image's pixels (default: the monitor's); ``draft``: a turn's in-between image
        (``FluoroImager``'s draft anatomy)."""
        size = self.size if size is None else int(size)

        def make() -> FluoroImager:
            return FluoroImager(
                self.model, pose, size, detector=self.detector, cache_dir=self.cache_dir, seed=self.seed, draft=draft
            )

        if not hasattr(self.model, "parameters_hash"):  # a plain list of structures (tests)
            return make()
        key = ("imager", self.model.parameters_hash(), pose, size, self.detector, str(self.cache_dir), self.seed, draft)
        return memory.get_or_make(key, make)

    def _needle_layer(self, imager: FluoroImager, needle: Needle | None):
        if needle is None:
            return None
        return memory.get_or_make(("needle", imager.cache_key, needle), lambda: imager.needle_layer(needle))

    def _contrast_layer(self, imager: FluoroImager, contrast, progress: float | None):
        """The contrast layer of a ContrastPattern at ``progress``, or of a list of structures."""
        if contrast is None:
            return None
        if hasattr(contrast, "at"):
            p = 1.0 if progress is None else float(progress)
            pieces, density = contrast.at(p), contrast.density(p)
        else:
            pieces, density = list(contrast), 1.0
        if not pieces:
            return None
        key = ("contrast", imager.cache_key, structures_hash(pieces), float(density))
        return memory.get_or_make(key, lambda: imager.contrast_layer(pieces, density))

    def _label_string(self, pose: CArmPose) -> str:
        if self._label_text is not None:
            return self._label_text
        if self._labeller is not None:
            return self._labeller(pose)
        return f"{pose.level}  ·  {pose.describe()}" if pose.level else pose.describe()

    def _make_label(self, pose: CArmPose) -> VMobject:
        text = _text_glyphs(self._label_string(pose), font_size_for_px(26))
        text.next_to(self.ring, DOWN, buff=0.15)
        return text

    def _make_marker(self, pose: CArmPose) -> VMobject:
        """The R / L letter, placed where the patient's side lies on this pose's image."""
        m = side_marker(
            pose, self.side, self.size, flip_lr=self.detector.flip_lr, field_fraction=self.detector.field_fraction
        )
        text = _text_glyphs(m.letter, font_size_for_px(30), "BOLD")
        text.move_to(self._pixel_to_scene(m.col, m.row))
        text.side_marker = m
        return text

    def _pixel_to_scene(self, col: float, row: float) -> np.ndarray:
        w, h = self.image.width, self.image.height
        corner = self.image.get_corner(np.array([-1, 1, 0]))
        return corner + np.array([(col + 0.5) / self.size * w, -(row + 0.5) / self.size * h, 0.0])

    def _seed_for(self, imager: FluoroImager, layers) -> int:
        """The noise seed of an image: fixed unless live; then a digest of what it shows."""
        if not self.live:
            return self.seed
        crc = zlib.crc32(f"{imager.cache_key}|{self._shots}".encode())
        for layer in layers:
            crc = zlib.crc32(b"-" if layer is None else np.ascontiguousarray(layer).data, crc)
        return (self.seed + crc) % (2**32)

    def _render(self, imager: FluoroImager | None = None, layers=None) -> np.ndarray:
        """The monitor image (RGBA, read-only) of these layers on this imager. An image already
        made for the same pose, layers and noise seed is reused (frames, beats, turns back)."""
        imager = imager or self.imager
        if layers is None:
            layers = [self._needle_layer_now, self._contrast_layer_now]
        seed = self._seed_for(imager, layers)
        key = ("image", imager.cache_key, self.detector, seed, _layers_digest(layers))
        return memory.get_or_make(
            key,
            lambda: grey_to_rgba(imager.frame_from_layers(layers, seed=seed), self.detector.field_fraction),
        )

    def _show(self, rgba: np.ndarray) -> "FluoroPanel":
        self.image.pixel_array = np.array(rgba)  # the mobject's own copy: Manim changes it in place (opacity)
        return self

    # -- state ------------------------------------------------------------------------------------
    @property
    def pose(self) -> CArmPose:
        return self.imager.pose

    def project(self, points) -> np.ndarray:
        """Pixel coords (col, row) of 3D points on the current pose's image."""
        return self.imager.project(points)

    def point_on_panel(self, point3d) -> np.ndarray:
        """Scene coordinates of a 3D point's shadow on the panel (for arrows and labels)."""
        col, row = self.project(point3d)[0]
        if self.detector.flip_lr:
            col = self.size - 1 - col
        return self._pixel_to_scene(col, row)

    def set_needle(self, needle: Needle | None, render: bool = True) -> "FluoroPanel":
        """Show ``needle`` (None removes it). Only the needle layer is recomputed."""
        self._needle = needle
        self._needle_layer_now = self._needle_layer(self.imager, needle)
        return self._show(self._render()) if render else self

    def set_contrast(self, contrast, progress: float | None = None, render: bool = True) -> "FluoroPanel":
        """Show contrast: a ContrastPattern at ``progress`` (0..1), a list of structures, or None."""
        self._contrast = (contrast, progress)
        self._contrast_layer_now = self._contrast_layer(self.imager, contrast, progress)
        return self._show(self._render()) if render else self

    def follow_contrast(self, contrast, progress) -> "FluoroPanel":
        """Show ``contrast`` at the value of the tracker ``progress`` while an animation moves
        it, as live fluoroscopy does: pulsed, a new image :data:`PULSES_PER_S` times a second of
        the video (the first frame included), the monitor holding the last one between pulses.
        The pulses follow the frames' own time steps, so they fall on the same frames in every
        render; ``clear_updaters`` ends it (then ``set_contrast`` shows the last state)."""
        period = 1.0 / PULSES_PER_S
        since: list[float | None] = [None]  # video time since the last pulse

        def pulse(panel: "FluoroPanel", dt: float) -> None:
            since[0] = period if since[0] is None else since[0] + dt
            if since[0] >= period - 1e-9:
                since[0] -= period
                panel.set_contrast(contrast, progress.get_value())

        self.add_updater(pulse)
        return self

    def set_pose(self, pose: CArmPose) -> "FluoroPanel":
        """Jump to ``pose`` (no animation): new anatomy, layers re-projected, new label."""
        self.imager = self._imager(pose)
        self._reproject_layers()
        self._show(self._render())
        self._swap_label(pose)
        return self

    def _reproject_layers(self):
        self._needle_layer_now = self._needle_layer(self.imager, self._needle)
        if self._contrast is not None:
            c, p = self._contrast
            self.set_contrast(c, p, render=False)

    def _swap_label(self, pose: CArmPose, force: bool = False):
        """Label and marker of ``pose``, changed in place: the same one-path mobjects get the new
        glyphs' outlines, so a scene drawing them mid-animation shows the change on the very next
        frame and an animation of the whole panel (its family unchanged) carries on. ``force``
        redraws them even if they seem current (an animation of the whole panel running at the
        same time, e.g. a fade-in, may have drawn its own copy of the old ones over them)."""
        new = self._make_label(pose)
        new.move_to(self.label)
        if force or new.text != self.label.text:
            self.label.set_points(new.points)
            self.label.text = new.text
        marker = self._make_marker(pose)
        old = self.marker.side_marker
        if force or (marker.text, marker.side_marker.col, marker.side_marker.row) != (
            self.marker.text,
            old.col,
            old.row,
        ):
            self.marker.set_points(marker.points)
            self.marker.text = marker.text
        self.marker.side_marker = marker.side_marker

    # -- animations ---------------------------------------------------------------------------------
    def take_shot(self, run_time: float = 0.7, **kwargs) -> Animation:
        """Exposure: the screen flashes bright for a moment, then the new image appears."""
        if self.live:
            self._shots += 1
        return _Exposure(self, self._render(), run_time=run_time, **kwargs)

    def rotate_to(
        self,
        pose: CArmPose,
        steps: int | None = None,
        run_time: float = 2.0,
        rate_func=smooth,
        **kwargs,
    ) -> Animation:
        """The C-arm turning to ``pose``: the monitor follows the arm through ``steps`` poses
        (the last one ``pose``), each shown on the frames where the arm is nearest it, and the
        settled view, with its label and marker, on the frame after the turn (where the arm has
        settled), never during it.

        Without ``steps``: a pose every :data:`TURN_STEP_DEG` of the arm's sweep (rotation and
        tilt), at most one per frame of ``run_time`` and :data:`TURN_MAX_IMAGES`, so the image
        glides with the arm instead of jumping. The in-between images are drawn at half the
        monitor's size (:data:`TURN_SIZE_FRACTION`; the image is moving, and a pose's anatomy
        costs about 0.25 s of CPU at 144 px against 0.5 s at 288 px) and shown at its size,
        with the draft anatomy (``FluoroImager``'s ``draft``: no nerve roots, which fluoroscopy
        does not show and which cost half of such an image's tracing); their anatomy is cached
        on disk per pose like every view's, so a turn drawn again costs
        nothing. ``rate_func`` is the arm's: the room's C-arm drawn beside the monitor turns
        with the same easing (Manim's ``smooth`` by default, as ``mob.animate`` has it).
        Everything is rendered now, so playing the animation costs nothing per frame.
        """
        if steps is None:
            from manim import config

            sweep = math.hypot(pose.rotation_deg - self.pose.rotation_deg, pose.tilt_deg - self.pose.tilt_deg)
            frames = max(2, int(run_time * config.frame_rate))
            steps = int(min(TURN_MAX_IMAGES, frames, max(2, math.ceil(sweep / TURN_STEP_DEG))))
        poses = interpolate_poses(self.pose, pose, max(1, int(steps)))
        between = max(32, int(self.size * TURN_SIZE_FRACTION))
        frames = []
        for k, p in enumerate(poses):
            last = k == len(poses) - 1
            imager = self._imager(p, self.size, draft=False) if last else self._imager(p, between, draft=True)
            # the same layers as the panel's own image, so the settled view is the image a jump
            # to that pose shows (and the one kept in memory from an earlier visit)
            contrast = self._contrast_layer(imager, *self._contrast) if self._contrast is not None else None
            layers = [self._needle_layer(imager, self._needle), contrast]
            rgba = self._render(imager, layers)
            frames.append((imager, rgba if last else _resized(rgba, self.size)))
        return _Turn(self, pose, frames, run_time=run_time, rate_func=rate_func, **kwargs)


#: live fluoroscopy while dye or cement spreads: images a second (pulsed fluoroscopy runs at
#: about 4-15 pulses a second to spare dose; a pulse is also a new dye image to compute)
PULSES_PER_S = 10.0

#: the monitor's turn: an image every this many degrees of the C-arm's sweep ...
TURN_STEP_DEG = 2.5
#: ... and at most this many images a turn
TURN_MAX_IMAGES = 24
#: the in-between images' size, a fraction of the monitor's
TURN_SIZE_FRACTION = 0.5


def _resized(rgba: np.ndarray, size: int) -> np.ndarray:
    """An RGBA monitor image scaled (bilinear) to ``size`` x ``size``."""
    if rgba.shape[0] == size:
        return rgba
    from PIL import Image

    return np.asarray(Image.fromarray(np.ascontiguousarray(rgba)).resize((size, size), Image.Resampling.BILINEAR))


class _Exposure(Animation):
    def __init__(self, panel: FluoroPanel, rgba: np.ndarray, flash: float = 0.25, **kwargs):
        self.panel = panel
        self.old = panel.image.pixel_array.copy()
        self.new = rgba
        self.flash = flash
        self._white = self.new.copy()
        self._white[..., :3] = 245
        kwargs.setdefault("rate_func", linear)
        super().__init__(panel.image, **kwargs)

    def interpolate_mobject(self, alpha: float) -> None:
        a = self.rate_func(alpha)
        image = self.panel.image  # an exposure flashes the monitor in place
        if a < self.flash:
            image.show_cross_fade(self.old, self._white, a / self.flash, still=True)
        else:
            image.show_cross_fade(self._white, self.new, min(1.0, (a - self.flash) / (1 - self.flash)), still=True)


class _Turn(Animation):
    """The monitor during a C-arm turn: image ``k`` of ``frames`` while the arm is nearest its
    pose (the image before the turn at its start), the settled image and its label only once the
    animation is complete (``alpha`` 1, or :meth:`finish`: the frame after the turn's last, where
    the arm drawn beside it has settled too)."""

    def __init__(self, panel: FluoroPanel, pose: CArmPose, frames, **kwargs):
        self.panel = panel
        self.pose = pose
        self.frames = frames
        self.rgba = [rgba for _, rgba in frames]
        self._shown = -1
        kwargs.setdefault("rate_func", smooth)
        super().__init__(panel.image, **kwargs)

    def begin(self) -> None:
        self._before = self.panel.image.pixel_array.copy()
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        n = len(self.rgba)
        if alpha >= 1.0:
            k = n - 1
        else:  # still turning: never the settled view (its label would come with it)
            k = min(n - 2, int(round(self.rate_func(alpha) * n)) - 1)
        if k != self._shown:
            self.panel.image.pixel_array = np.array(self._before if k < 0 else self.rgba[k])
            self._shown = k
            if k == n - 1:  # the arm has settled: its view's name and marker, now
                self.panel._swap_label(self.pose)

    def finish(self) -> None:
        super().finish()
        imager, _rgba = self.frames[-1]
        self.panel.imager = imager
        self.panel._reproject_layers()
        self.panel.image.pixel_array = np.array(self.rgba[-1])
        self.panel._swap_label(self.pose, force=True)
