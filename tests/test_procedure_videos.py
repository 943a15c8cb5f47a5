"""The procedure videos: one generic ProcedureScene, rendered for real at the test quality.

Six procedures, which between them hold every kind of beat, are rendered at their default
level and side through ``render.py all`` as a media team runs it (espeak-ng voice: real speech, cheaper than piper), and each
finished file is checked: H.264 video at the test quality's 192x108 (10 fps: the suite's
smallest real render; the scene, speech, captions and chapters are those of any quality), spoken audio, chapters and captions that
match the sidecar, beats in the script's order. A unit-level check proves the needle drawn
on the illustration ends where the view projects the planned tip, and the needle sent to
the fluoroscopy ends at the same 3D tip.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from spine.procedures.catalog import PROCEDURE_ORDER
from tests.conftest import LONGEST_STILL_S, ROOT, ffmpeg, ffprobe_json, run_all_at_test_quality, still_stretches
from tests.test_catalog_plugin import TEST_QUALITY

pytestmark = pytest.mark.render

# Rendered for real (encoded, muxed, probed): the six procedures whose scripts between them hold every
# beat a procedure video has (vascular check, manometry, double block, stimulation and burn, steering
# the lead, cement and balloon). Every beat of all eleven is also run to its end state, without
# encoding, by tests/test_labels.py, and each needle drawing is checked below.
RENDERED = [
    "transforaminal-esi",
    "discography",
    "medial-branch-block",
    "radiofrequency-ablation",
    "spinal-cord-stimulator-trial",
    "vertebroplasty",
]
#: scanned for still stretches too: the spine atlas (its holds are those of a procedure video's
#: drawings; the overview is scanned in tests/test_overview_video.py)
STILL_CHECKED = [*RENDERED, "spine-atlas"]


def _script_ids(name: str) -> list[str]:
    data = yaml.safe_load((ROOT / "voiceover" / "scripts" / "en" / f"{name}.yaml").read_text())
    return [b["id"] for b in data["beats"]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("procedure-videos")
    cache = tmp_path_factory.mktemp("procedure-cache")
    only = [a for name in STILL_CHECKED for a in ("--only", name)]
    catalog = out.parent / f"{out.name}-catalog.yaml"  # the English defaults only (catalog.yaml adds Spanish)
    catalog.write_text("include_defaults: true\nvariants: []\n", encoding="utf-8")
    proc = run_all_at_test_quality(catalog, out, cache, "-j", "2", "--quiet", *only)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = {}
    for name in STILL_CHECKED:
        mp4s = sorted(out.glob(f"{name}-*test.mp4"))
        assert len(mp4s) == 1, f"{name}: {mp4s}"
        found[name] = mp4s[0]
    return found


def probe(mp4: Path) -> dict:
    """ffprobe's streams, format and chapters of ``mp4``."""
    return ffprobe_json(mp4, "-show_chapters", "-show_streams", "-show_format")


@pytest.mark.parametrize("name", RENDERED)
def test_sidecar_beats_follow_the_script(rendered, name):
    mp4 = rendered[name]
    sidecar = json.loads(mp4.with_suffix(".json").read_text())
    assert sidecar["video"] == name and sidecar["quality"] == "test"
    beats = sidecar["beats"]
    assert [b["id"] for b in beats] == _script_ids(name)
    for before, after in zip(beats, beats[1:]):
        assert after["start_s"] == pytest.approx(before["end_s"], abs=1e-3)


@pytest.mark.parametrize("name", STILL_CHECKED)
def test_no_stretch_stands_still_longer_than_six_seconds(rendered, name):
    """Frame by frame over the whole video: the picture never stands still more than 6 s (a
    beat's long hold over the needle's drawing gets a ring spreading every 4.5 s; fact cards
    show their items one at a time). The check finds a still stretch: a frozen copy of the
    first frame is one."""
    sidecar = json.loads(rendered[name].with_suffix(".json").read_text())
    found = still_stretches(rendered[name], LONGEST_STILL_S)
    beats = [
        next((b["id"] for b in sidecar["beats"] if b["start_s"] <= a + 0.05 < b["end_s"]), "?") + f" {a:.1f}-{b:.1f} s"
        for a, b in found
    ]
    assert not beats, f"{name}: still for more than {LONGEST_STILL_S:.0f} s in " + ", ".join(beats)


def test_the_still_check_finds_a_frozen_picture(tmp_path):
    """A 7 s video of one frame is found; the same with a dot moving every 3 s is not."""
    import av

    def write(path, moving: bool):
        with av.open(str(path), "w") as box:
            stream = box.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for k in range(70):
                img = np.zeros((48, 64, 3), np.uint8)
                if moving:
                    x = 8 + 10 * (k // 30)
                    img[20:28, x : x + 8] = 255
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    box.mux(packet)
            for packet in stream.encode():
                box.mux(packet)

    write(tmp_path / "still.mp4", False)
    write(tmp_path / "moving.mp4", True)
    assert still_stretches(tmp_path / "still.mp4", 6.0) == [(0.0, 7.0)]
    assert still_stretches(tmp_path / "moving.mp4", 6.0) == []


@pytest.mark.parametrize("name", RENDERED)
def test_chapters_in_the_file_match_the_sidecar(rendered, name):
    mp4 = rendered[name]
    info = probe(mp4)
    sidecar = json.loads(mp4.with_suffix(".json").read_text())
    titles = [c["tags"]["title"] for c in info["chapters"]]
    assert titles == [c["title"] for c in sidecar["chapters"]]
    assert len(titles) >= 5
    video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    assert (video["width"], video["height"]) == (TEST_QUALITY.width, TEST_QUALITY.height)
    assert video["codec_name"] == "h264"


@pytest.mark.parametrize("name", RENDERED)
def test_spoken_audio_and_captions(rendered, name):
    """Every procedure video speaks (not silence) and has captions inside its length."""
    import re

    mp4 = rendered[name]
    info = probe(mp4)
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert audio and audio[0]["codec_name"] == "aac"
    duration = float(info["format"]["duration"])
    meter = ("-map", "0:a", "-af", "volumedetect", "-f", "null", "-")
    stats = ffmpeg("-nostats", "-i", str(mp4), *meter, loglevel="info").stderr.decode()
    mean_db = float(re.search(r"mean_volume: (-?[\d.]+) dB", stats).group(1))
    assert mean_db > -40.0, f"{name}: audio is near silent ({mean_db} dB)"
    srt = mp4.with_suffix(".srt").read_text(encoding="utf-8")
    ends = re.findall(r"--> (\d+):(\d+):(\d+),(\d+)", srt)
    assert len(ends) >= 10, f"{name}: only {len(ends)} captions"
    last = max(int(h) * 3600 + int(m) * 60 + int(sec) + int(ms) / 1000 for h, m, sec, ms in ends)
    assert last <= duration + 0.05
    assert mp4.with_suffix(".vtt").exists()


@pytest.mark.parametrize(
    "name",
    [
        "transforaminal-esi",
        "facet-joint-injection",
        "discography",
        "spinal-cord-stimulator-trial",
        "medial-branch-block",
        "si-joint-injection",
        "caudal-esi",
        "vertebroplasty",
    ],
)
def test_needle_on_illustration_ends_at_the_projected_tip(name):
    from spine.anatomy.model import SpineModel
    from scenes.kit.procedure_blocks import DevicePath
    from scenes.procedure_scene import build_illustration
    from spine.procedures.catalog import procedure
    from spine.procedures.planner import plan_needle

    model = SpineModel.default()
    plan = plan_needle(name)
    tech = procedure(name).technique_for(plan.level)
    fitted = build_illustration(model, plan)
    view = fitted.view
    for needle in plan.needles:
        path = DevicePath(needle, tech.needle.gauge, tech.needle.inner_gauge)
        # the illustration: the drawn polyline's last point is the view's projection of the tip,
        # through the same fit (scale + shift) the drawing itself was given
        drawn = fitted.to_scene(np.array(path.polyline(1.0)))
        expected = (view.project(plan_tip := np.asarray(needle.tip))[0] - fitted.mid) * fitted.factor + fitted.center
        assert np.allclose(drawn[-1], expected, atol=1e-9)
        assert np.allclose(drawn[0], fitted.to_scene(needle.entry)[0])
        # the fluoroscopy gets the same 3D line: its tip is the planned tip
        device = path.fluoro_device(1.0)
        assert np.allclose(device.tip, plan_tip, atol=1e-6)
        # the stops are in order and end at the target
        fractions = [f for f, _, _ in path.stops]
        assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    # the drawing and the needle share one mapping: a landmark drawn from the view lands where
    # the fitted mobject put it (drawing scaled about the fit's centre)
    lo, hi = fitted.mobject.get_corner(np.array([-1, -1, 0])), fitted.mobject.get_corner(np.array([1, 1, 0]))
    assert np.all(lo[:2] >= fitted.center[:2] - np.array([3.2, 3.0])) and np.all(
        hi[:2] <= fitted.center[:2] + np.array([3.2, 3.0])
    )


def test_scene_has_a_method_for_every_beat_of_every_procedure_script():
    from scenes.procedure_scene import ProcedureScene

    for name in PROCEDURE_ORDER:
        for beat in _script_ids(name):
            assert hasattr(ProcedureScene, "beat_" + beat.replace("-", "_")), f"{name}: no method for beat '{beat}'"
    assert not hasattr(ProcedureScene, "beat_regions")  # an unknown beat fails loudly in NarratedScene


def test_the_rendered_procedures_hold_every_beat_of_every_procedure_script():
    """The six rendered for real draw every kind of beat the eleven scripts have."""

    every = {beat for name in PROCEDURE_ORDER for beat in _script_ids(name)}
    rendered = {beat for name in RENDERED for beat in _script_ids(name)}
    assert every - rendered == set()
