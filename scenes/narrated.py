"""NarratedScene: a Manim scene whose every beat lasts exactly as long as its narration.

A video scene subclasses :class:`NarratedScene` and writes one method per beat,
``beat_<id>(self, clock)``, where ``<id>`` is the narration beat's id with dashes as
underscores. Inside, ``clock.play(*animations, seconds=1.5)`` plays animations and
``clock.hold()`` is implicit at the end: whatever time the beat has left is held on
the last frame (or with updaters running). Frame counts are exact, so beat *i* starts
at exactly the frame the storyboard says, which is where its narration starts in the mix.
"""

from __future__ import annotations


from manim import FadeOut, MovingCameraScene, config
from manim.animation.animation import prepare_animation

from scenes.kit.cards import retitle
from scenes.kit.palette import BACKGROUND
from spine.errors import InternalError
from scenes.kit.typography import register_fonts
from scenes.storyboard import Storyboard, TimedBeat


#: a beat's hold longer than this is kept from standing still (``before_hold``)
HOLD_STILL_S = 5.0
#: how often a ring spreads in such a hold (the issue: something changes every 4-6 s)
PULSE_EVERY_S = 4.5
#: how long one ring takes to spread and fade
PULSE_S = 1.2


class BeatOverrun(InternalError, RuntimeError):
    """A beat's animations wrote more or fewer frames than the storyboard gave it (our fault)."""


class BeatClock:
    """Frame budget of one beat; plays animations without ever exceeding it."""

    def __init__(self, scene: "NarratedScene", beat: TimedBeat):
        self.scene = scene
        self.beat = beat
        self.fps = beat.fps
        self.used = 0

    @property
    def remaining_frames(self) -> int:
        return self.beat.frames - self.used

    @property
    def remaining_s(self) -> float:
        return self.remaining_frames / self.fps

    def _frames_for(self, seconds: float | None, share: float | None) -> int:
        if share is not None:
            seconds = share * self.beat.duration_s
        frames = max(1, round((seconds if seconds is not None else 1.0) * self.fps))
        return min(frames, self.remaining_frames)

    def play(self, *animations, seconds: float | None = None, share: float | None = None, **kwargs) -> None:
        """Play animations for ``seconds`` (or ``share`` of the beat), clipped to what is left."""
        frames = self._frames_for(seconds, share)
        if frames <= 0:
            # No time left in this beat: apply the animations' end state without spending frames
            # (``mob.animate...`` builders become animations first, as Scene.play does).
            for anim in map(prepare_animation, animations):
                anim._setup_scene(self.scene)
                anim.begin()
                anim.finish()
                anim.clean_up_from_scene(self.scene)
            return
        self.scene.play_frames(frames, *animations, **kwargs)
        self.used += frames

    def wait(self, seconds: float | None = None, share: float | None = None) -> None:
        frames = self._frames_for(seconds, share)
        if frames > 0:
            self.scene.hold_frames(frames)
            self.used += frames

    def wait_until(self, share: float) -> None:
        """Hold until ``share`` of the beat has passed (nothing if it has already)."""
        frames = min(round(share * self.beat.frames) - self.used, self.remaining_frames)
        if frames > 0:
            self.scene.hold_frames(frames)
            self.used += frames

    def hold(self) -> None:
        """Hold until the end of the beat."""
        if self.remaining_frames > 0:
            self.scene.hold_frames(self.remaining_frames)
            self.used = self.beat.frames


class PoseLabeller:
    """The monitor's label for a C-arm pose (level and view), from the video's on-screen words."""

    def __init__(self, words: dict):
        self.words = dict(words)

    def __call__(self, pose) -> str:
        w = self.words
        parts = []
        if pose.view == "ap" or abs(pose.rotation_deg) < 0.5:
            parts.append(w["fluoro.ap"])
        elif abs(abs(pose.rotation_deg) - 90) < 0.5:
            parts.append(w["fluoro.lateral"])
        else:
            key = "fluoro.oblique_left" if pose.rotation_deg > 0 else "fluoro.oblique_right"
            parts.append(w[key].format(degrees=f"{abs(pose.rotation_deg):.0f}"))
        if abs(pose.tilt_deg) >= 0.5:
            key = "fluoro.cranial" if pose.tilt_deg > 0 else "fluoro.caudal"
            parts.append(w[key].format(degrees=f"{abs(pose.tilt_deg):.0f}"))
        view = " ".join(parts)
        return f"{pose.level}  ·  {view}" if pose.level else view


def _played_seconds(frames: int) -> float:
    """The run time Manim plays as exactly ``frames`` frames (an animation, or a wait with updaters)."""
    return max(frames - 0.5, 1.0) / config.frame_rate


def _restored_later(clock: BeatClock) -> None:
    """A beat before a checkpoint: nothing to run (the clock holds its frames, not drawn)."""


class NarratedScene(MovingCameraScene):
    """Base of every video scene: runs the storyboard's beats with exact frame timing."""

    storyboard: Storyboard | None = None
    beat_listener = None  # called as listener(index, count, beat) when a beat starts
    # Beats before this one run no code and prepare() is skipped: a render pass resuming from a
    # checkpoint restores their end state instead (pipeline.scene_render); their frames still pass.
    resume_at = 0
    head = None  # the heading on screen (set_heading)

    def __init__(self, storyboard: Storyboard | None = None, **kwargs):
        if storyboard is not None:
            self.storyboard = storyboard
        if self.storyboard is None:
            raise ValueError(f"{type(self).__name__} needs a storyboard")
        super().__init__(**kwargs)
        self.frames_written = 0

    @property
    def context(self) -> dict:
        return self.storyboard.context

    def set_heading(self, words: str):
        """The animation that shows ``words`` as the heading: a fade-in, or a cross-fade from the
        heading still on screen (:func:`scenes.kit.cards.retitle`)."""
        shown = self.head if self.head is not None and self.head in self.mobjects else None
        self.head, change = retitle(shown, words)
        return change

    def words(self, key: str):
        """On-screen words for ``key`` from the narration script's ``screen:`` section (in its language)."""
        screen = self.context.get("screen") or {}
        if key not in screen:
            raise KeyError(f"the narration script of '{self.storyboard.video}' has no on-screen text '{key}'")
        return screen[key]

    def says(self, key: str, **fields) -> str:
        """The on-screen template ``key`` with its ``{fields}`` filled (numbers the language's way)."""
        return str(self.words(key)).format(**fields)

    @property
    def vocabulary(self):
        """The language's vocabulary: data words in this language, numbers its way."""
        from voiceover.vocabulary import Vocabulary

        if getattr(self, "_vocabulary", None) is None:
            ctx = self.context
            self._vocabulary = Vocabulary(
                ctx.get("lang") or "en", terms=dict(ctx.get("terms") or {}), decimal=str(ctx.get("decimal") or ".")
            )
        return self._vocabulary

    def term(self, phrase):
        """Words from the procedure data, in the video's language (an error names a missing one)."""
        return self.vocabulary.term(phrase)

    def number(self, value: float) -> str:
        return self.vocabulary.number(value)

    def pose_labeller(self) -> "PoseLabeller":
        """Labels for the fluoroscopy monitor in the video's language (a small copyable object)."""
        keys = (
            "fluoro.ap",
            "fluoro.lateral",
            "fluoro.oblique_left",
            "fluoro.oblique_right",
            "fluoro.cranial",
            "fluoro.caudal",
        )
        return PoseLabeller({k: str(self.words(k)) for k in keys})

    # -- frame-exact primitives ------------------------------------------------------------
    # Manim plays an animation of run_time r as len(arange(0, r, 1/fps)) frames and a frozen
    # wait as int(r * fps) frames; the half-frame offsets make both exactly `frames`. One
    # frame is played as one frame's time: Manim warns about anything shorter and plays that.
    def play_frames(self, frames: int, *animations, **kwargs) -> None:
        self.play(*animations, run_time=_played_seconds(frames), **kwargs)
        self.frames_written += frames

    def hold_frames(self, frames: int) -> None:
        if self._anything_updates():
            self.wait(_played_seconds(frames), frozen_frame=False)
        else:
            self.wait((frames + 0.5) / config.frame_rate, frozen_frame=True)
        self.frames_written += frames

    def _anything_updates(self) -> bool:
        family = self.get_mobject_family_members()
        return self.always_update_mobjects or any(m.updaters for m in family) or bool(self.camera.frame.updaters)

    # -- the storyboard --------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        register_fonts()
        self.camera.background_color = BACKGROUND
        if self.storyboard.fps != round(config.frame_rate):
            raise ValueError(
                f"storyboard is timed at {self.storyboard.fps} fps but the renderer runs at {config.frame_rate}"
            )

    def construct(self) -> None:
        if not self.resume_at:
            self.prepare()
        for index, beat in enumerate(self.storyboard.beats):
            if self.beat_listener is not None:
                self.beat_listener(index, len(self.storyboard.beats), beat)
            method = getattr(self, "beat_" + beat.id.replace("-", "_"), None)
            if index < self.resume_at:
                method = _restored_later
            if method is None:
                raise AttributeError(
                    f"{type(self).__name__} has no method for narration beat '{beat.id}' "
                    f"(expected beat_{beat.id.replace('-', '_')})"
                )
            clock = BeatClock(self, beat)
            method(clock)
            if method is not _restored_later:
                self.before_hold(clock)
            clock.hold()
            # Settle what updaters draw from (an always_redraw needle reads its ValueTracker): the
            # last frame of a beat was drawn before its animations' finish() set their end values,
            # and a play clipped to no frames only applied them; so what the next beat inherits is
            # the end state, not one that depends on how many frames this beat had.
            self.update_mobjects(0)
            expected = beat.start_frame + beat.frames
            if self.frames_written != expected:
                raise BeatOverrun(f"beat '{beat.id}' ended at frame {self.frames_written}, expected {expected}")

    def prepare(self) -> None:
        """Build mobjects shared by several beats (override)."""

    def before_hold(self, clock: BeatClock) -> None:
        """Called when a beat's method returns, before the clock holds the rest of the beat.

        A beat that set ``self.focus`` (scene points: where its drawing's subject is) and leaves
        a hold longer than :data:`HOLD_STILL_S` fills it with a ring spreading from there every
        :data:`PULSE_EVERY_S` (:meth:`hold_with_pulses`), so the picture never stands still while
        the narration goes on. ``focus`` is used once."""
        focus, self.focus = getattr(self, "focus", []), []
        if focus and clock.remaining_s > HOLD_STILL_S:
            self.hold_with_pulses(clock, clock.remaining_s, focus)

    def hold_with_pulses(self, clock: BeatClock, seconds: float, points, every: float = PULSE_EVERY_S) -> None:
        """Wait ``seconds``; in a wait longer than ``every`` + 1 s a ring spreads from each of
        ``points`` (scene coordinates) every ``every`` seconds: the eye goes back to where the
        work is done, and no stretch of the video stands still."""
        seconds = max(0.0, seconds)
        points = list(points)
        if seconds < every + 1.0 or not points:
            clock.wait(seconds=seconds)
            return
        left = seconds
        while left >= every:
            clock.wait(seconds=every - PULSE_S)
            self.play_pulse(clock, points)
            left -= every
        clock.wait(seconds=left)

    def pulse_if_long_hold(self, clock: BeatClock, points) -> None:
        """One ring from ``points`` now, when a long hold (filled with rings by
        :meth:`before_hold`) still lies ahead: after a movement that slows to a stop (a smooth
        growth, a lead's last millimetres) the picture is nearly still for seconds before the
        hold's first ring (6.5-7.7 s in all)."""
        if clock.remaining_s > HOLD_STILL_S + PULSE_S:
            self.play_pulse(clock, points)

    def play_pulse(self, clock: BeatClock, points, *with_animations) -> None:
        """One ring spreading and fading from each of ``points`` over :data:`PULSE_S` (with
        ``with_animations`` played alongside); nothing of it is left on screen."""
        from manim import Circle, VGroup

        from scenes.kit import palette

        rings = VGroup(*(Circle(radius=0.15, color=palette.ACCENT, stroke_width=6).move_to(p) for p in points))
        self.add(rings)
        # each ring grows about its own centre (the group's would carry them apart)
        spread = (ring.animate.scale(4.0).set_stroke(opacity=0.0) for ring in rings)
        clock.play(*with_animations, *spread, seconds=PULSE_S)
        self.remove(rings)

    def fade_out_everything(self, clock: BeatClock, seconds: float = 0.6) -> None:
        """Fade out and remove everything on screen, inside the beat's budget."""
        leaving = list(self.mobjects)
        if leaving:
            clock.play(*(FadeOut(m) for m in leaving), seconds=seconds)
            self.remove(*leaving)
