"""Brand profiles: bad ones stop with one line naming the field (exit 2); a brand draws only
inside its regions of the title card (the real scene, rendered at preview size); the brand is
part of the file name and of the build's inputs (cache key)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.brand import load_brand
from tests.conftest import ROOT, render_silent_preview

EXAMPLE = ROOT / "assets" / "brands" / "example" / "brand.yaml"


def brand_file(tmp_path: Path, **changes) -> Path:
    """A copy of the example brand (logo beside it) with ``changes`` to its YAML fields."""
    import yaml

    folder = tmp_path / "brand"
    folder.mkdir(exist_ok=True)
    shutil.copy(EXAMPLE.with_name("logo.png"), folder / "logo.png")
    data = yaml.safe_load(EXAMPLE.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = folder / "brand.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_example_brand_loads():
    brand = load_brand(EXAMPLE)
    assert brand.file_slug == "example" and brand.colours.primary == "#2A6F97"
    assert brand.logo.is_file() and brand.logo.suffix == ".png"


def test_an_svg_logo_is_accepted(tmp_path):
    svg = tmp_path / "brand" / "mark.svg"
    path = brand_file(tmp_path, logo="mark.svg")
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#2A6F97"/></svg>'
    )
    brand = load_brand(path)
    assert brand.logo == svg.resolve()
    from scenes.kit.cards import brand_logo

    logo = brand_logo(brand.scene_context(), 2.0, 1.5)  # drawn from the bytes the scene receives
    assert logo.width == pytest.approx(2.0, abs=0.02) and logo.height == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize(
    "case, words",
    [
        ("missing-logo", "Error: brand 'logo':"),
        ("unreadable-image", "Error: brand 'logo': logo.png is not a readable PNG image"),
        ("not-a-colour", "Error: brand 'colours.primary': 'bluish' is not a colour"),
        ("too-long", "Error: brand 'name':"),
        ("no-name", "Error: brand 'name': is missing"),
        ("no-file", "Error: brand file"),
    ],
)
def test_a_bad_profile_exits_2_naming_the_field(tmp_path, case, words):
    if case == "missing-logo":
        path = brand_file(tmp_path, logo="gone.png")
    elif case == "unreadable-image":
        path = brand_file(tmp_path)
        (path.parent / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    elif case == "not-a-colour":
        path = brand_file(tmp_path, colours={"primary": "bluish", "secondary": "#F4A259"})
    elif case == "too-long":
        path = brand_file(tmp_path, name="The Greater Metropolitan Regional Interventional Spine and Pain Care Centre")
    elif case == "no-name":
        path = brand_file(tmp_path, name=None)
    else:
        path = tmp_path / "nowhere.yaml"
    out = tmp_path / "out"
    proc = render_silent_preview("overview", "--brand", str(path), "--output-dir", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(words), lines
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    if case == "too-long":
        assert "does not fit" in lines[0]


def test_the_brand_is_in_the_file_name_and_the_build_inputs(tmp_path):
    from pipeline.options import BuildOptions, output_stem
    from pipeline.freshness import fingerprint_of, video_inputs
    from spine.videos import resolve

    request = resolve("transforaminal-esi", "L4-L5")
    neutral = BuildOptions(quality="preview", voice="none")
    branded = BuildOptions(quality="preview", voice="none", brand=load_brand(EXAMPLE))
    assert output_stem(request, neutral) == "transforaminal-esi-L4-L5-right-preview"
    assert output_stem(request, branded) == "transforaminal-esi-L4-L5-right-example-preview"
    assert fingerprint_of(video_inputs(request, neutral)) != fingerprint_of(video_inputs(request, branded))
    # another logo under the same name is another output too
    path = brand_file(tmp_path)
    other_logo = BuildOptions(quality="preview", voice="none", brand=load_brand(path))
    assert fingerprint_of(video_inputs(request, other_logo)) == fingerprint_of(video_inputs(request, branded))
    from PIL import Image

    with Image.open(path.parent / "logo.png") as image:
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path.parent / "logo.png")
    flipped = BuildOptions(quality="preview", voice="none", brand=load_brand(path))
    assert fingerprint_of(video_inputs(request, flipped)) != fingerprint_of(video_inputs(request, branded))


# -- the title card, rendered ------------------------------------------------------------------


def title_frame(brand, tmp_path: Path, monkeypatch) -> np.ndarray:
    """The real transforaminal scene's title beat at preview size; the frame once its card is in."""
    import scenes.procedure_scene as module
    from pipeline.options import BuildOptions
    from pipeline.media import manim_settings
    from tests.test_review import scene_after

    frames = []
    original = module.play_title

    def play_and_grab(clock, card, brand=None, fade_out=True):
        original(clock, card, brand, fade_out=False)  # intro (if branded), then the card fades in
        clock.scene.renderer.update_frame(clock.scene)
        frames.append(np.array(clock.scene.renderer.get_frame()))

    monkeypatch.setattr(module, "play_title", play_and_grab)
    settings = manim_settings("preview", tmp_path) | {"write_to_movie": False}
    scene_after(
        "transforaminal-esi", "L4-L5", ("title",), BuildOptions(quality="preview", voice="none", brand=brand), settings
    )
    assert len(frames) == 1
    return frames[0][:, :, :3].astype(int)


def region_mask(shape, margin_px: int = 2) -> np.ndarray:
    from scenes.kit.cards import FRAME_H, FRAME_W, brand_regions

    h, w = shape[:2]
    mask = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in brand_regions():
        c0, c1 = (
            int((x0 + FRAME_W / 2) * w / FRAME_W) - margin_px,
            int(np.ceil((x1 + FRAME_W / 2) * w / FRAME_W)) + margin_px,
        )
        r0, r1 = (
            int((FRAME_H / 2 - y1) * h / FRAME_H) - margin_px,
            int(np.ceil((FRAME_H / 2 - y0) * h / FRAME_H)) + margin_px,
        )
        mask[max(0, r0) : r1, max(0, c0) : c1] = True
    return mask


@pytest.mark.render
def test_a_branded_title_card_differs_from_the_neutral_one_only_inside_the_brand_regions(tmp_path, monkeypatch):
    neutral = title_frame(None, tmp_path / "neutral", monkeypatch)
    branded = title_frame(load_brand(EXAMPLE), tmp_path / "branded", monkeypatch)
    assert neutral.shape == branded.shape == (480, 854, 3)
    differs = np.abs(neutral - branded).max(axis=2) > 0
    inside = region_mask(neutral.shape)
    assert not differs[~inside].any(), f"{differs[~inside].sum()} pixels differ outside the brand's regions"
    # and inside each region the brand really is drawn
    from scenes.kit.cards import brand_regions

    for region in brand_regions():
        one = np.zeros_like(inside)
        x0, y0, x1, y1 = region
        from scenes.kit.cards import FRAME_H, FRAME_W

        h, w = neutral.shape[:2]
        one[
            int((FRAME_H / 2 - y1) * h / FRAME_H) : int((FRAME_H / 2 - y0) * h / FRAME_H),
            int((x0 + FRAME_W / 2) * w / FRAME_W) : int((x1 + FRAME_W / 2) * w / FRAME_W),
        ] = True
        assert differs[one].mean() > 0.1, f"region {region}: only {differs[one].mean():.1%} of its pixels changed"
    # the neutral card leaves those regions empty (background), so nothing of the title is covered
    from scenes.kit.palette import BACKGROUND

    bg = np.array([int(BACKGROUND[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(neutral[inside] - bg).max(axis=1) <= 2).mean() > 0.99


def test_the_gallery_header_carries_the_brand_without_outside_requests(tmp_path):
    from pipeline import gallery
    from tests.test_gallery import build_fixture_output, parse

    out = build_fixture_output(tmp_path / "output")
    page = gallery.write_gallery(out, load_brand(EXAMPLE))
    parsed = parse(page)
    text = " ".join(" ".join(parsed.text).split())
    assert "Example Spine Clinic · Dr Alex Example · Questions? Call 555-0100" in text
    logos = parsed.find("img", alt="Example Spine Clinic logo")
    assert len(logos) == 1 and logos[0]["src"].startswith("data:image/png;base64,")
    html = page.read_text()
    assert "--brand-primary: #2A6F97" in html and "http://" not in html and "https://" not in html
    # without a brand: the neutral header
    neutral = gallery.write_gallery(out)
    assert "Example Spine Clinic" not in neutral.read_text()


@pytest.mark.render
def test_all_with_a_brand_builds_other_files_that_record_the_brand(tmp_path):
    """The brand reaches a real build: its slug in the file name, its record in the sidecar, the
    gallery card; the neutral build of the same video stays as it was."""
    import json

    from tests.test_catalog import run_all
    from tests.test_gallery import parse

    neutral = run_all(tmp_path, "-j", "1", "--handouts", "none")
    assert neutral.returncode == 0, neutral.stderr[-3000:]
    before = (tmp_path / "out" / "catalog-test-test.mp4").read_bytes()
    branded = run_all(tmp_path, "-j", "1", "--handouts", "none", "--brand", str(EXAMPLE))
    assert branded.returncode == 0, branded.stderr[-3000:]
    assert "catalog-test-example-test" in branded.stdout and "built" in branded.stdout
    sidecar = json.loads((tmp_path / "out" / "catalog-test-example-test.json").read_text())
    assert sidecar["brand"]["slug"] == "example" and sidecar["brand"]["name"] == "Example Spine Clinic"
    assert sidecar["brand"]["logo"] == "logo.png" and len(sidecar["brand"]["logo_sha256"]) == 64
    assert "logo_b64" not in sidecar["brand"]
    assert (tmp_path / "out" / "catalog-test-test.mp4").read_bytes() == before
    page = parse(tmp_path / "out" / "index.html")
    text = " ".join(" ".join(page.text).split())
    assert "Brand Example Spine Clinic" in text
    assert len(page.find("article", data_review="not-reviewed")) == 2  # neutral and branded, neither reviewed


def _title_hold_frame(mp4: Path) -> np.ndarray:
    """The last decoded frame two frames before the title beat ends (the card is fully in)."""
    import json

    import av

    beat = next(b for b in json.loads(mp4.with_suffix(".json").read_text())["beats"] if b["id"] == "title")
    target = beat["end_s"] - 2 / 15
    last = None
    with av.open(str(mp4)) as container:
        for frame in container.decode(container.streams.video[0]):
            if frame.time > target + 1e-6:
                break
            last = frame
    return last.to_ndarray(format="rgb24").astype(int)


@pytest.mark.render
def test_a_branded_preview_differs_from_the_neutral_one_only_inside_the_brand_regions(tmp_path):
    """The same check on real preview MP4s made by the CLI (spine atlas, silent draft): outside the
    regions (plus 4 px for the codec's blocks) only H.264 noise differs."""
    out = tmp_path / "out"
    for extra in ((), ("--brand", str(EXAMPLE))):
        proc = render_silent_preview(
            "spine-atlas",
            "--output-dir",
            str(out),
            "--quiet",
            *extra,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    neutral = _title_hold_frame(out / "spine-atlas-L4-L5-preview.mp4")
    branded = _title_hold_frame(out / "spine-atlas-L4-L5-example-preview.mp4")
    differs = np.abs(neutral - branded).max(axis=2)
    outside = differs[~region_mask(neutral.shape, margin_px=4)]
    assert outside.mean() < 0.5 and np.percentile(outside, 99.9) <= 8, (outside.mean(), np.percentile(outside, 99.9))
    assert (differs[region_mask(neutral.shape, margin_px=0)] > 30).mean() > 0.5
