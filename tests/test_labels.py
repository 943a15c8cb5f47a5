"""On-screen words: where they sit, how large, and in whose words.

* Every beat of every video at its default level is walked without drawing a frame (the
  scene's animations are run to their end state, as ``test_languages_render`` does) and the
  words on screen after the beat are read from the scene's mobjects: no two text boxes
  overlap, each lies inside the title-safe 90 % of the frame, and every text is at least
  24 px high at 1080p (Manim's units do not depend on the render size).
* The English scripts' ``screen:`` words use none of the clinicians' words the review found
  on screen, unless a plain gloss follows in brackets.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAFE_X, SAFE_Y = 14.2 * 0.9 / 2 + 0.01, 8.0 * 0.9 / 2 + 0.01  # title-safe half sizes (frame units)
MIN_PX = 24.0
PX_PER_FONT_SIZE = 1.125  # scenes.kit.typography

# Clinicians' words patients do not know; on screen only with a plain gloss in brackets after them.
CLINICAL = [
    "SAP",
    "ipsilateral",
    "contralateral",
    "ventral interlaminar line",
    "supraspinous",
    "6 o'clock",
    "psi",
    "PMMA",
    "test dose",
]


def _screen_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _screen_strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _screen_strings(v)]
    return []


def unglossed(words: str) -> list[str]:
    """The clinical terms in ``words`` not followed by a gloss in brackets."""
    found = []
    for term in CLINICAL:
        for m in re.finditer(
            r"(?<![A-Za-z])" + re.escape(term) + r"(?![A-Za-z])", words, flags=0 if term.isupper() else re.IGNORECASE
        ):
            if not re.match(r"\s*\(", words[m.end() :]):
                found.append(term)
    return found


def test_the_scan_finds_unglossed_terms():
    assert unglossed("The needle tip rests on the SAP") == ["SAP"]
    assert unglossed("Pressure below 50 psi") == ["psi"]
    assert unglossed("a contralateral oblique view") == ["contralateral"]
    assert unglossed("the SAP (the joint's upper bony knob)") == []
    assert unglossed("the sapling grows; topsides") == []


@pytest.mark.parametrize("path", sorted((ROOT / "voiceover" / "scripts" / "en").glob("*.yaml")), ids=lambda p: p.stem)
def test_screen_words_are_plain(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    bad = {s: unglossed(s) for s in _screen_strings(data.get("screen") or {}) if unglossed(s)}
    assert not bad, f"{path.name}: clinical words on screen without a plain gloss: {bad}"


# -- where the words sit -------------------------------------------------------------------------
def _texts(scene):
    """(words, box (x0, y0, x1, y1), px or None) of every text the scene shows now."""
    from manim import Text

    out, seen = [], set()
    for top in scene.mobjects:
        for m in top.get_family():
            if id(m) in seen:
                continue
            seen.add(id(m))
            if isinstance(m, Text):
                words, px = m.original_text, float(m.font_size) * PX_PER_FONT_SIZE
            elif isinstance(getattr(m, "text", None), str) and len(m.points):  # glyph outlines (the monitor's label)
                words, px = m.text, None
            else:
                continue
            if not words.strip() or m.get_fill_opacity() < 0.05:
                continue
            lo, hi = m.get_corner([-1, -1, 0]), m.get_corner([1, 1, 0])
            out.append((words, (lo[0], lo[1], hi[0], hi[1]), px))
    return out


def _carry_text_size(mobject, target) -> None:
    """After ``mobject.become(target)`` its texts show the target's words at the target's size:
    carry the words and the sizes they were made at (Manim measures a Text's size against the
    height it was made with)."""
    from manim import Text

    for a, b in zip(mobject.get_family(), target.get_family()):
        if isinstance(a, Text) and isinstance(b, Text):
            a.original_text, a.initial_height, a._font_size = b.original_text, b.initial_height, b._font_size


def _overlap(a, b, slack: float = 0.01) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def _named_region(scene, label) -> np.ndarray:
    """Scene points (N, 2) of what a leader label names, as drawn: the pixels of the close
    drawing's layer (its object ids) where a named structure is the visible surface, and the
    overlays drawn for it (the medial branch nerves, the hiatus ring)."""
    from scenes.kit.procedure_blocks import drawings_in

    pts = [g.drawn_points(label.names_structures)[:, :2] for g in drawings_in(scene.illustration.mobject)]
    pts = [p for p in pts if len(p)] if label.names_structures else []
    pts += [np.asarray(m.points, float)[:, :2] for m in label.names_overlays if len(m.points)]
    return np.vstack(pts) if pts else np.zeros((0, 2))


def _labels_over_what_they_name(scene) -> list[str]:
    """Leader labels on screen whose box covers a pixel of the structure they name, or whose
    leader does not end on it."""
    from manim import Dot

    out = []
    for top in scene.mobjects:
        for group in top.get_family():
            label = getattr(group, "label_panel", None)
            if label is None or not hasattr(label, "names_structures") or label.get_fill_opacity() < 0.05:
                continue
            words = " ".join(m.original_text for m in label.get_family() if hasattr(m, "original_text"))
            region = _named_region(scene, label)
            if not len(region):
                out.append(f"'{words}': names {label.names_structures} but none of it is drawn")
                continue
            lo, hi = label.get_corner([-1, -1, 0])[:2], label.get_corner([1, 1, 0])[:2]
            under = np.all((region > lo) & (region < hi), axis=1)
            if under.any():
                out.append(f"'{words}' covers {int(under.sum())} drawn points of what it names")
            for dot in (m for m in group.get_family() if isinstance(m, Dot)):
                gap = float(np.min(np.linalg.norm(region - dot.get_center()[:2], axis=1)))
                if gap > 0.08:
                    out.append(f"'{words}': its leader ends {gap:.2f} units from what it names")
    return list(dict.fromkeys(out))


#: the bottom 15 % of the frame, where a player draws its captions (no words of ours there)
PLAYER_BAND_TOP = -0.35 * 8.0


def _words_zone_problems(scene) -> list[str]:
    """Captions (the words' zone under the pictures) that reach into the player's caption band
    or touch the needle's drawing while it is on screen."""
    drawing = getattr(getattr(scene, "illustration", None), "mobject", None)
    shown = drawing is not None and drawing in scene.mobjects and drawing.get_fill_opacity() > 0.05
    out = []
    for top in scene.mobjects:
        for block in top.get_family():
            if not getattr(block, "words_zone", False):
                continue
            words = " ".join(m.original_text for m in block.get_family() if hasattr(m, "original_text"))
            if block.get_bottom()[1] < PLAYER_BAND_TOP - 1e-3:
                out.append(f"'{words}' reaches into the player's caption band (y {block.get_bottom()[1]:.2f})")
            if shown and block.get_top()[1] > drawing.get_bottom()[1] - 0.02:
                out.append(
                    f"'{words}' touches the needle's drawing (top {block.get_top()[1]:.2f}, "
                    f"drawing's bottom {drawing.get_bottom()[1]:.2f})"
                )
    return list(dict.fromkeys(out))


# the walk reads where words end up, never a frame: at 5 fps a turn of the drawing (one layer a
# frame) renders a third of the layers it does at 15
WALK_FPS = 5


def _walk(video: str, lang: str = "en") -> list[str]:
    """Problems with the words after each beat of ``video`` (default level, in ``lang``)."""
    from manim import tempconfig
    from manim.animation.animation import prepare_animation

    from pipeline.build import BuildOptions, make_storyboard, prepare_narration
    from scenes.narrated import BeatClock
    from spine.videos import resolve

    request = resolve(video)
    options = BuildOptions(quality="preview", voice="none", lang=lang)
    script, spoken = prepare_narration(request, options)
    storyboard = make_storyboard(request, script, spoken, WALK_FPS, options)
    problems: list[str] = []

    class Walk(request.spec.scene_class()):
        FLUORO_PX = 48  # the monitor's picture is not read here; its place on screen is the same

        def play_frames(self, frames, *animations, **kwargs):
            # each animation's end state; fades and transforms without the copies Manim makes
            # to draw their frames (the end state is the same: the mobject in, out, or become)
            slow = []
            for anim in map(prepare_animation, animations):
                kind = type(anim).__name__
                if kind == "FadeIn":
                    self.add(anim.mobject)
                elif kind == "FadeOut":
                    self.remove(anim.mobject)
                elif kind == "Transform":
                    if anim.mobject not in self.get_mobject_family_members():
                        self.add(anim.mobject)
                    anim.mobject.become(anim.target_mobject)
                    _carry_text_size(anim.mobject, anim.target_mobject)
                else:
                    slow.append(anim)
            for anim in slow:
                anim._setup_scene(self)
                anim.begin()
            for anim in slow:
                anim.finish()
                anim.clean_up_from_scene(self)
            self.frames_written += frames

        def hold_frames(self, frames):
            self.frames_written += frames

        def construct(self):
            self.prepare()
            for beat in self.storyboard.beats:
                clock = BeatClock(self, beat)
                getattr(self, "beat_" + beat.id.replace("-", "_"))(clock)
                clock.hold()
                self.update_mobjects(0)
                texts = _texts(self)
                for words, (x0, y0, x1, y1), px in texts:
                    if x0 < -SAFE_X or x1 > SAFE_X or y0 < -SAFE_Y or y1 > SAFE_Y:
                        problems.append(
                            f"{beat.id}: '{words}' outside the title-safe area "
                            f"({x0:.2f}, {y0:.2f})-({x1:.2f}, {y1:.2f})"
                        )
                    if px is not None and px < MIN_PX - 0.5:
                        problems.append(f"{beat.id}: '{words}' is {px:.1f} px high at 1080p (< {MIN_PX:.0f})")
                for i, (w1, b1, _) in enumerate(texts):
                    for w2, b2, _ in texts[i + 1 :]:
                        if _overlap(b1, b2):
                            problems.append(f"{beat.id}: '{w1}' overlaps '{w2}'")
                problems.extend(f"{beat.id}: {p}" for p in _labels_over_what_they_name(self))
                problems.extend(f"{beat.id}: {p}" for p in _words_zone_problems(self))

    with tempconfig({"frame_rate": WALK_FPS, "pixel_width": 192, "pixel_height": 108, "disable_caching": True}):
        scene = Walk(storyboard=storyboard)
        scene.setup()
        scene.construct()
    return problems


def _videos() -> list[str]:
    from spine.videos import all_videos

    return list(all_videos())


@pytest.mark.render
@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("video", _videos())
def test_words_on_screen_fit_apart_and_inside_the_safe_area(video, lang):
    problems = _walk(video, lang)
    assert not problems, f"{video} ({lang}):\n" + "\n".join(problems)


@pytest.mark.render
def test_words_too_long_for_their_box_stop_the_render_naming_video_beat_and_key():
    """A screen text longer than its box is an error (one line, exit status 2), never cut off with "…"."""
    from manim import tempconfig

    from pipeline.build import BuildOptions, make_storyboard, prepare_narration
    from scenes.kit.typography import TextDoesNotFit
    from spine.errors import SpineError
    from spine.videos import resolve

    request = resolve("transforaminal-esi")
    script, spoken = prepare_narration(request, BuildOptions(quality="preview", voice="none", lang="en"))
    storyboard = make_storyboard(request, script, spoken, 15)
    storyboard.context["screen"] = dict(storyboard.context["screen"], problem=" ".join(["a swollen nerve root"] * 12))

    class Dry(request.spec.scene_class()):
        def play_frames(self, frames, *animations, **kwargs):
            self.frames_written += frames

        def hold_frames(self, frames):
            self.frames_written += frames

    with tempconfig({"frame_rate": 15, "pixel_width": 192, "pixel_height": 108, "disable_caching": True}):
        scene = Dry(storyboard=storyboard)
        scene.setup()
        with pytest.raises(TextDoesNotFit) as caught:
            scene.construct()
    message = str(caught.value)
    assert isinstance(caught.value, SpineError) and caught.value.exit_code == 2
    assert message.startswith(
        "transforaminal-esi: beat 'problem', screen key 'problem': the on-screen words 'a swollen"
    )
    assert "\n" not in message and "…" not in message
