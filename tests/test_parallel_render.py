"""``render -j N``: one video's beats drawn by several processes give the frames and sound of one.

The five-beat test video (``tests/test_catalog_plugin.py``) at the 192x108 test quality with
the espeak voice, built twice from empty caches: with two processes (the beats cut into two
ranges, the second drawn by a worker) and with one; both usually draw their first beats while
the others are still spoken (how many depends on how fast espeak is). The decoded frames (framemd5) and the decoded audio samples must be
the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from pipeline.media import frame_md5s
from tests.test_catalog import PLUGIN

pytestmark = pytest.mark.render


def render(tmp, jobs: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, SPINE_CATALOG_PLUGINS=str(PLUGIN), SPINE_CACHE_DIR=str(tmp / f"cache-j{jobs}"))
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "render.py"),
            "render",
            "catalog-test",
            "--quality",
            "test",
            "--voice",
            "espeak",
            "-j",
            str(jobs),
            "--output-dir",
            str(tmp / f"out-j{jobs}"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def audio_samples_md5(path) -> str:
    """md5 of the decoded audio samples (16-bit PCM), not of the encoded packets."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-f", "md5", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_two_processes_draw_the_frames_and_sound_of_one(tmp_path):
    parallel = render(tmp_path, 2)
    assert parallel.returncode == 0, parallel.stderr[-3000:]
    assert "in 2 ranges" in parallel.stderr  # a worker process drew some of the beats
    serial = render(tmp_path, 1)
    assert serial.returncode == 0, serial.stderr[-3000:]
    assert "ranges" not in serial.stderr

    two, one = (tmp_path / f"out-j{j}" / "catalog-test-test.mp4" for j in (2, 1))
    frames = frame_md5s(one)
    assert len(frames) == json.loads(one.with_suffix(".json").read_text())["frames"] > 50
    assert len(set(frames)) > 10  # frames that move: the comparison means something
    assert frame_md5s(two) == frames
    assert audio_samples_md5(two) == audio_samples_md5(one)


def test_a_held_frame_converted_once_encodes_to_the_same_bytes(tmp_path):
    """The segment writer converts a held frame once, and each picture in its own thread while
    x264 encodes the one before (pipeline/scene_writer.py); x264 must get the same pictures in
    the same order: the segment's bytes equal those of Manim's own encoder."""
    from fractions import Fraction

    import numpy as np
    from manim._config.video_encoder import VideoEncoderSpec
    from manim.scene.video_segment_encoder import VideoSegmentEncoder

    from pipeline.media import SEGMENT_ENCODER_OPTIONS
    from pipeline.scene_writer import HeldFrameEncoder

    rng = np.random.default_rng(7)
    pictures = [np.ascontiguousarray(rng.integers(0, 256, (36, 64, 4), dtype=np.uint8)) for _ in range(7)]
    pictures.insert(4, pictures[3])  # the same picture handed over again (a held wait with updaters)
    spec = VideoEncoderSpec(
        "mp4",
        "libx264",
        "yuv420p",
        64,
        36,
        Fraction(10),
        tuple((k, str(v)) for k, v in {**SEGMENT_ENCODER_OPTIONS, "preset": "medium"}.items()),
    )

    def segment(encoder_class, name: str) -> bytes:
        encoder = encoder_class(target=tmp_path / name, spec=spec)
        for picture, repeat in zip(pictures, (1, 12, 1, 1, 1, 5, 1, 1)):
            encoder.write_frame(picture, repeat=repeat)
        encoder.finish()
        return (tmp_path / name).read_bytes()

    manims, ours = segment(VideoSegmentEncoder, "manim.mp4"), segment(HeldFrameEncoder, "held.mp4")
    assert len(frame_md5s(tmp_path / "held.mp4")) == 23
    assert ours == manims


def test_images_drawn_over_their_region_only_give_manims_pixels():
    """The render's camera (pipeline/scene_writer.py) resamples an image only when it changed,
    only where it is inside the frame, and composites it over the pixels it covers: every frame
    must equal Manim's own camera's, for images scaled, rotated, half off the frame, translucent,
    changed in place and moved. Cut to the frame, the resampling's homography is composed with
    the window's offset, so a pixel may differ by one level where a double's last bit tips it."""
    import numpy as np
    from manim import ImageMobject
    from manim.camera.moving_camera import MovingCamera
    from PIL import Image

    from pipeline.scene_writer import RegionMovingCamera

    rng = np.random.default_rng(11)
    rgba = rng.integers(0, 256, (30, 50, 4), dtype=np.uint8)
    rgba[..., 3][rng.random((30, 50)) < 0.3] = 0  # transparent pixels leave the frame as it was
    background = rng.integers(0, 256, (72, 128, 4), dtype=np.uint8)
    cameras = [MovingCamera(pixel_width=128, pixel_height=72), RegionMovingCamera(pixel_width=128, pixel_height=72)]
    images = [
        ImageMobject(rgba.copy()).set(height=4),
        ImageMobject(rgba.copy()).set(height=3).rotate(0.6).shift([5.5, 2.5, 0]),
    ]
    images[1].set_resampling_algorithm(Image.Resampling.NEAREST)

    def frame(camera):
        camera.set_frame_to_background(background)
        camera.capture_mobjects(images)
        return camera.pixel_array.copy()

    steps = [
        lambda: None,
        lambda: None,  # unchanged: the kept resampling is used
        lambda: images[0].pixel_array.__setitem__((slice(0, 9), slice(None), 3), 90),  # changed in place
        lambda: images[0].shift([-6.0, -0.3, 0]),  # moved half off the frame
        lambda: images[1].stretch(0.01, 1),  # too thin to draw
        lambda: images[1].set_opacity(0.4).stretch(60, 1),
    ]
    seen = set()
    for number, step in enumerate(steps):
        step()
        manims, ours = (frame(c) for c in cameras)
        difference = np.abs(ours.astype(int) - manims.astype(int)).max(axis=2)
        if number < 3:  # wholly inside the frame: Manim's own numbers
            assert np.array_equal(ours, manims)
        assert difference.max() <= 1 and np.count_nonzero(difference) <= 3, (number, difference.max())
        seen.add(ours.tobytes())
    assert len(seen) >= 4  # the frames differ: the images were drawn


def test_kept_cairo_paths_give_manims_pixels():
    """The render's camera (pipeline/scene_writer.py) keeps each shape's Cairo path and replays it
    while the shape's points and the camera's frame are unchanged: every frame must equal Manim's
    own camera's exactly, through a fade, a shape moved by a hair, a zoom, a colour change and a
    zoom back (a kept path replayed under the wrong transformation would land elsewhere)."""
    import numpy as np
    from manim import DOWN, Arrow, Circle, Line, Square, Text, VGroup
    from manim.camera.moving_camera import MovingCamera

    from pipeline.scene_writer import RegionMovingCamera

    words = VGroup(*(Text(line, font_size=30) for line in ("The needle stops", "near the nerve root."))).arrange(DOWN)
    shapes = VGroup(
        Circle().shift([3, 1, 0]), Square().rotate(0.3), Line([-5, -3, 0], [5, 3, 0]), Arrow([0, 0, 0], [2, -2, 0])
    )
    shapes[0].set_fill("#ff0000", 0.5)
    cameras = [MovingCamera(pixel_width=320, pixel_height=180), RegionMovingCamera(pixel_width=320, pixel_height=180)]

    def frame(camera):
        camera.reset()
        camera.capture_mobjects([words, shapes])
        return camera.pixel_array.copy()

    steps = [
        lambda: None,
        lambda: None,  # unchanged: every path is replayed
        lambda: words.set_opacity(0.5),  # a fade: the same paths, other colours
        lambda: shapes.shift([0.01, 0.003, 0]),  # moved by less than a pixel
        lambda: [camera.frame.scale(0.7).shift([0.3, 0.1, 0]) for camera in cameras],
        lambda: None,
        lambda: words[1].set_color("#44aaff"),
        lambda: [camera.frame.scale(1 / 0.7).shift([-0.3, -0.1, 0]) for camera in cameras],
        lambda: None,
    ]
    seen, kept = set(), []
    for number, step in enumerate(steps):
        step()
        manims, ours = (frame(c) for c in cameras)
        assert np.array_equal(ours, manims), number
        seen.add(ours.tobytes())
        kept.append(len(cameras[1]._kept_paths))
    assert len(seen) == 6  # every change showed
    drawn = len(words.family_members_with_points() + shapes.family_members_with_points())
    assert kept[0] == drawn and kept[1] == kept[2] == drawn  # unchanged and faded: all replayed
    assert kept[3] > drawn and kept[5] == kept[4] > kept[3]  # moved, zoomed: new paths, then replayed


def test_pictures_handed_on_without_a_copy_stay_as_drawn_until_released():
    """The render's renderer (pipeline/scene_writer.py) hands each drawn picture on as it is and
    lets the camera draw the next one into a spare: a picture still held (by the encoder, a held
    frame, the static image) must never be drawn over, a released one is reused, and each picture
    handed on is the one Manim's own copy would have given."""
    import numpy as np
    from manim import Circle, Square, tempconfig

    from pipeline.scene_writer import FRAME_PICTURES, RegionMovingCamera, SegmentRenderer

    with tempconfig({"pixel_width": 160, "pixel_height": 90}):
        renderer = SegmentRenderer(camera_class=RegionMovingCamera)
        shapes = [Square().shift([x, 0, 0]) for x in np.linspace(-5, 5, 8)] + [Circle()]

        def draw(mobject):
            renderer.camera.reset()
            renderer.camera.capture_mobjects([mobject])
            manims = renderer.camera.pixel_array.copy()  # what Manim's get_frame returns
            return renderer.get_frame(), manims

        held = [draw(shape) for shape in shapes]  # all still held: nine distinct pictures
        assert len({id(picture) for picture, _ in held}) == len(shapes)
        for picture, manims in held:
            assert np.array_equal(picture, manims) and picture[..., :3].any()
        released = id(held[3][0])
        del held[3]  # released by everything that held it: the camera may draw into it again
        for shape in shapes[:3]:
            picture, manims = draw(shape)
            assert np.array_equal(picture, manims)
        assert released in {id(entry[0]) for entry in renderer._pictures}
        for (picture, manims), shape in zip(held, shapes[:3] + shapes[4:], strict=True):
            assert np.array_equal(picture, manims), shape  # none drawn over while held
        many = [draw(shapes[-1]) for _ in range(FRAME_PICTURES + 3)]  # past the spares: Manim's copies
        assert all(np.array_equal(picture, manims) for picture, manims in many)
        assert len(renderer._pictures) == FRAME_PICTURES


def test_a_still_cross_fade_resamples_its_two_pictures_once_and_blends_them(monkeypatch):
    """A still image fading or cross-fading (scenes/kit/cross_fade.py: an illustration layer's
    fade, the x-ray monitor's exposure) is resampled as its two pictures once each, blended
    premultiplied in every frame: within a few levels of Manim's camera resampling each frame's
    blend, on a few pixels of the edge where bicubic overshoot is clipped. Between pictures of
    other outlines the camera resamples each frame, as Manim does, for Manim's pixels."""
    import numpy as np
    from manim.camera.moving_camera import MovingCamera

    import pipeline.scene_writer as scene_writer
    from scenes.kit.cross_fade import CrossFadingImage

    resampled = []
    resample = scene_writer._resample_placed
    monkeypatch.setattr(scene_writer, "_resample_placed", lambda *a, **k: resampled.append(1) or resample(*a, **k))
    yy, xx = np.mgrid[:60, :90]
    disc = np.zeros((60, 90, 4), np.uint8)
    disc[..., 0], disc[..., 1], disc[..., 2] = 200, (xx * 2).astype(np.uint8), 90
    # a disc with a soft edge, as the x-ray monitor's field (a sharp one rings more, clipped)
    disc[..., 3] = np.clip((25 - np.hypot(xx - 45, yy - 30)) * 100 + 128, 0, 255).astype(np.uint8)
    hidden = disc.copy()
    hidden[..., 3] = 0  # a fade: the same colours, transparent
    white = disc.copy()
    white[..., :3] = 245  # an exposure's flash: the same disc, other colours
    elsewhere = white.copy()
    elsewhere[..., 3] = np.where(xx < 50, 255, 0)  # another outline
    background = np.full((180, 320, 4), (20, 25, 35, 255), np.uint8)
    steps = np.linspace(0, 1, 16)
    for start, end, blended in ((hidden, disc, True), (white, disc, True), (elsewhere, disc, False)):
        image = CrossFadingImage(disc.copy()).set(height=5).shift([0.7, 0.2, 0])
        cameras = [
            MovingCamera(pixel_width=320, pixel_height=180),
            scene_writer.RegionMovingCamera(pixel_width=320, pixel_height=180),
        ]
        resampled.clear()
        for alpha in steps:
            image.show_cross_fade(start, end, float(alpha), still=True)
            assert (image.blended_from is not None) == (blended and 0 < alpha < 1)
            frames = []
            for camera in cameras:
                camera.set_frame_to_background(background)
                camera.capture_mobjects([image])
                frames.append(camera.pixel_array.astype(int))
            if alpha == steps[7]:  # a beat drawn by another process: no frame drawn before this one
                fresh = scene_writer.RegionMovingCamera(pixel_width=320, pixel_height=180)
                fresh.set_frame_to_background(background)
                fresh.capture_mobjects([image])
                assert np.array_equal(fresh.pixel_array, frames[1]), "the pixels depend on earlier frames"
                del resampled[len(resampled) - (2 if blended else 1) :]  # the fresh camera's own
            difference = np.abs(frames[0] - frames[1]).max(axis=2)
            if not blended or alpha in (0, 1):
                assert difference.max() == 0, alpha
            else:
                assert difference.max() <= 6 and np.count_nonzero(difference > 2) <= 0.001 * difference.size, alpha
        # the first frame and the last (one picture each), the two pictures; or every frame
        assert len(resampled) == (4 if blended else len(steps))
    # a fade with a shift keeps nothing: two resamplings a frame would cost more than one
    moving = CrossFadingImage(disc.copy())
    moving.interpolate_color(moving.copy().fade(1), moving.copy().shift([0, 0.1, 0]), 0.5)
    assert moving.blended_from is None
    moving.interpolate_color(moving.copy().fade(1), moving.copy(), 0.5)
    assert moving.blended_from is not None


def test_a_zoomed_image_is_resampled_only_inside_the_frame():
    """A camera zoomed in on an image resamples one frame's worth of it, not the whole image
    blown up (Manim's way), and those pixels equal Manim's up to one level on a few of them."""
    import numpy as np
    from manim import ImageMobject
    from manim.camera.moving_camera import MovingCamera

    from pipeline.scene_writer import RegionMovingCamera, _resample_placed

    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (60, 80, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    image = ImageMobject(rgba).set(height=6)
    background = np.zeros((72, 128, 4), dtype=np.uint8)
    frames = []
    for klass in (MovingCamera, RegionMovingCamera):
        camera = klass(pixel_width=128, pixel_height=72)
        camera.frame.scale(0.2).move_to([0.7, -0.4, 0])  # zoomed five times, off-centre
        camera.set_frame_to_background(background)
        camera.capture_mobjects([image])
        frames.append(camera.pixel_array.astype(int))
        coords = camera.points_to_subpixel_coords(image, image.points)
    difference = np.abs(frames[0] - frames[1]).max(axis=2)
    assert difference.max() <= 1 and np.count_nonzero(difference) <= 0.001 * difference.size
    assert frames[1][..., :3].std() > 20  # the image's noise fills the frame
    placed, corner = _resample_placed(rgba, coords.astype(np.float64), image.resampling_algorithm, (128, 72))
    assert placed.size == (128, 72) and corner == (0, 0)


def test_the_narration_is_mixed_while_beats_are_drawn(tmp_path):
    """``render`` mixes the narration (and measures its loudness) in a thread as soon as the last
    beat is spoken, while beats are still drawn: the mix is the one the finish step would make from
    the whole storyboard, and a copy of the step's result for a worker process leaves it behind."""
    import pickle

    import numpy as np

    from pipeline.build import _mixed, speak_and_draw
    from pipeline.catalog import resolve_video
    from pipeline.cluster import load_plugins
    from pipeline.options import BuildOptions

    load_plugins([str(PLUGIN)])
    options = BuildOptions(quality="test", voice="espeak", cache_dir=tmp_path / "cache", output_dir=tmp_path / "out")
    prepared = speak_and_draw(resolve_video("catalog-test"), options)
    assert prepared.sound is not None
    early, cues, chapters = prepared.sound.result(timeout=60)
    late, late_cues, late_chapters = _mixed(prepared.spoken, prepared.storyboard, options)
    assert np.array_equal(np.array(early.get_array_of_samples()), np.array(late.get_array_of_samples()))
    assert early.frame_rate == late.frame_rate and (cues, chapters) == (late_cues, late_chapters)
    assert pickle.loads(pickle.dumps(prepared)).sound is None
