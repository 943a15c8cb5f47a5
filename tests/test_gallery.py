"""The review gallery over a small but real output folder.

The fixture folder holds real MP4s made with ffmpeg (H.264 + AAC, like the pipeline's)
and sidecars, captions and a manifest written by hand in the format ``build_video``
writes. ``tests/test_gallery_browser.py`` drives Chromium over the same folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image, ImageStat

from pipeline import gallery, outputs
from pipeline.outputs import manifest_entry

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (make test installs it)"
)

WIDTH, HEIGHT, FPS = 320, 180, 15

# name -> what the pipeline would know about it; beats are (id, chapter, text, start, end).
FIXTURE_VIDEOS = {
    "overview": dict(
        title="Spinal injections: an overview",
        procedure=None,
        level=None,
        side=None,
        source="testsrc2",
        black_lead_s=1.0,
        beats=[
            ("title", "Title", "Spinal injections. What they are, and how they are done.", 0.0, 1.0),
            (
                "what",
                "What it is",
                "A spinal injection is a treatment for back or neck pain. This is called spinal stenosis.",
                1.0,
                2.0,
            ),
            (
                "needle",
                "The needle",
                "The needle stops in the epidural space, just outside the sac around the nerves.",
                2.0,
                3.4,
            ),
            ("who", "Who does them", "Spinal injections are done by doctors with special training.", 3.4, 4.0),
        ],
    ),
    "spine-atlas": dict(
        title="A tour of the spine",
        procedure=None,
        level="L4-L5",
        side=None,
        source="smptebars",
        beats=[
            ("regions", "The regions", "The neck is the cervical spine; the lower back is the lumbar spine.", 0.0, 1.5),
            ("level", "The level", "Between the fourth and fifth lumbar vertebrae lies the L4-L5 disc.", 1.5, 3.0),
        ],
    ),
    "transforaminal-esi": dict(
        title="Transforaminal epidural steroid injection at C5-C6",
        procedure="Transforaminal epidural steroid injection",
        level="C5-C6",
        side="left",
        source="rgbtestsrc",
        beats=[
            ("why", "Why", "Pain that runs down the arm may come from an irritated nerve root in the neck.", 0.0, 1.0),
            (
                "needle",
                "The needle",
                "The needle approaches the foramen from the side, guided by fluoroscopy.",
                1.0,
                2.0,
            ),
            (
                "contrast",
                "Confirmation",
                "Contrast outlines the nerve root sleeve before the medicine goes in.",
                2.0,
                3.0,
            ),
        ],
    ),
    "facet-injection": dict(
        title="Facet joint injection at L5-S1",
        procedure="facet-joint-injection",
        level="L5-S1",
        side="right",
        source="testsrc",
        beats=[
            ("why", "Why", "Arthritis of a small joint at the back of the spine can hurt.", 0.0, 1.5),
            ("needle", "The needle", "The needle enters the capsule of the facet joint.", 1.5, 3.0),
        ],
    ),
}


def stem_of(name: str, spec: dict) -> str:
    return "-".join([name] + [p for p in (spec["level"], spec["side"]) if p] + ["preview"])


def make_mp4(path: Path, seconds: float, source: str = "testsrc2", black_lead_s: float = 0.0) -> None:
    """A real H.264/AAC MP4; with ``black_lead_s`` it starts with that much black picture."""
    size = f"{WIDTH}x{HEIGHT}"
    picture = f"{source}=size={size}:rate={FPS}:duration={seconds - black_lead_s}"
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    if black_lead_s:
        cmd += [
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:size={size}:rate={FPS}:duration={black_lead_s}",
            "-f",
            "lavfi",
            "-i",
            picture,
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1:a=0[v]",
            "-map",
            "[v]",
            "-map",
            "2:a",
        ]
    else:
        cmd += ["-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    cmd += [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-threads",
        "1",
        "-movflags",
        "+faststart",
        "-t",
        f"{seconds}",
        str(path),
    ]
    subprocess.run(cmd, check=True)


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def write_captions(stem_path: Path, beats: list[tuple]) -> None:
    vtt = ["WEBVTT", ""]
    srt = []
    for i, (_id, _chapter, text, start, end) in enumerate(beats, 1):
        vtt += [f"{_stamp(start, '.')} --> {_stamp(end, '.')}", text, ""]
        srt += [str(i), f"{_stamp(start, ',')} --> {_stamp(end, ',')}", text, ""]
    stem_path.with_suffix(".vtt").write_text("\n".join(vtt), encoding="utf-8")
    stem_path.with_suffix(".srt").write_text("\n".join(srt), encoding="utf-8")


def chapters_of(beats: list[tuple]) -> list[dict]:
    chapters: list[dict] = []
    for _id, chapter, _text, start, end in beats:
        if chapters and chapters[-1]["title"] == chapter:
            chapters[-1]["end_s"] = end
        else:
            chapters.append({"title": chapter, "start_s": start, "end_s": end})
    return chapters


def build_fixture_output(directory: Path) -> Path:
    """Fill ``directory`` with four small videos, their captions, sidecars and a manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, spec in FIXTURE_VIDEOS.items():
        stem = stem_of(name, spec)
        mp4 = directory / f"{stem}.mp4"
        duration = spec["beats"][-1][4]
        make_mp4(mp4, duration, spec["source"], spec.get("black_lead_s", 0.0))
        write_captions(mp4, spec["beats"])
        sidecar = {
            "video": name,
            "title": spec["title"],
            "procedure": spec["procedure"],
            "level": spec["level"],
            "side": spec["side"],
            "quality": "preview",
            "lang": "en",
            "file": mp4.name,
            "captions": {"srt": f"{stem}.srt", "vtt": f"{stem}.vtt"},
            "sha256": outputs.sha256_of(mp4),
            "width": WIDTH,
            "height": HEIGHT,
            "fps": FPS,
            "duration_s": duration,
            "video_duration_s": duration,
            "audio_duration_s": duration,
            "inputs": {"voice": {"engine": "none", "sources": []}, "context": {}},
            "beats": [
                {"id": i, "chapter": c, "text": t, "start_s": s, "end_s": e, "speech_s": max(0.0, e - s - 0.2)}
                for i, c, t, s, e in spec["beats"]
            ],
            "chapters": chapters_of(spec["beats"]),
            "tools": {"ffmpeg": "test"},
            "built_at": "2026-02-13T10:15:00+00:00",
            "build_seconds": 0.1,
        }
        outputs.write_json_atomic(mp4.with_suffix(".json"), sidecar)
        outputs.record_in_manifest(directory, manifest_entry(sidecar))
    return directory


@pytest.fixture(scope="session")
def fixture_output(tmp_path_factory) -> Path:
    """A built fixture folder with the gallery written (shared; do not modify)."""
    directory = build_fixture_output(tmp_path_factory.mktemp("gallery") / "output")
    gallery.write_gallery(directory)
    return directory


@pytest.fixture
def own_output(fixture_output, tmp_path) -> Path:
    """A private copy of the fixture folder, for tests that change it."""
    return Path(shutil.copytree(fixture_output, tmp_path / "output", copy_function=shutil.copy2))


class PageParser(HTMLParser):
    """Collects the elements the tests look at: every tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.stack: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def parse(page: Path) -> PageParser:
    parser = PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def manifest_files(directory: Path) -> list[str]:
    return [v["file"] for v in outputs.read_manifest(directory)["videos"]]


# ---------------------------------------------------------------- the page lists every video


def test_every_manifest_video_has_a_card_a_player_and_captions(fixture_output):
    page = parse(fixture_output / "index.html")
    files = manifest_files(fixture_output)
    assert len(files) == len(FIXTURE_VIDEOS)
    videos = page.find("video")
    assert sorted(v["src"] for v in videos) == sorted(files)
    for v in videos:
        assert "controls" in v and v["preload"] == "metadata"
        assert v["poster"] == v["src"].replace(".mp4", ".poster.png")
    tracks = page.find("track")
    assert sorted(t["src"] for t in tracks) == sorted(f.replace(".mp4", ".vtt") for f in files)
    assert all(t["kind"] == "captions" and "default" in t and t["srclang"] == "en" for t in tracks)
    assert len(page.find("article")) == len(files)
    text = " ".join(page.text)
    for spec in FIXTURE_VIDEOS.values():
        assert spec["title"] in text
    assert "Transforaminal epidural steroid injection" in text and "Facet joint injection" in text
    assert "C5-C6" in text and "Left" in text and "L5-S1" in text and "Right" in text
    assert "0:04" in text  # the overview's duration
    assert "2026-02-13 10:15 UTC" in text
    assert text.count("preview") >= len(files)


def test_general_videos_come_first_then_procedures(fixture_output):
    order = [a["data-video"] for a in parse(fixture_output / "index.html").find("article")]
    assert order[:2] == ["overview", "spine-atlas"]
    assert set(order[2:]) == {"transforaminal-esi", "facet-injection"}


def test_every_link_and_source_resolves_to_a_file_beside_the_page(fixture_output):
    page = parse(fixture_output / "index.html")
    targets = []
    for tag, attrs in page.tags:
        for key in ("href", "src", "poster"):
            if key in attrs and not attrs[key].startswith(("#", "data:")):
                targets.append(attrs[key])
    assert len(targets) > 30
    for target in targets:
        parts = urlsplit(target)
        assert not parts.scheme and not parts.netloc and not parts.path.startswith("/"), f"not relative: {target}"
        assert (fixture_output / unquote(parts.path)).is_file(), f"broken link: {target}"
    hrefs = {a["href"] for a in page.find("a")}
    for file in manifest_files(fixture_output):
        stem = Path(file).stem
        for name in (file, f"{stem}.vtt", f"{stem}.srt", f"{stem}.txt", f"{stem}.json"):
            assert name in hrefs, f"{name} is not linked"


def test_chapters_are_links_that_name_the_player_and_start(fixture_output):
    page = parse(fixture_output / "index.html")
    chapters = page.find("a", **{"class": "chapter"})
    expected = [c for spec in FIXTURE_VIDEOS.values() for c in chapters_of(spec["beats"])]
    assert len(chapters) == len(expected)
    starts = {float(a["data-start"]) for a in chapters}
    assert {c["start_s"] for c in expected} <= starts
    players = {v["id"] for v in page.find("video")}
    for a in chapters:
        assert a["aria-controls"] in players
        file, _, fragment = a["href"].partition("#")
        assert fragment == f"t={a['data-start']}" and (fixture_output / file).is_file()


# ---------------------------------------------------------------- posters


def _grey_stats(png: Path) -> tuple[float, float]:
    with Image.open(png) as image:
        stat = ImageStat.Stat(image.convert("L"))
        return stat.mean[0], stat.stddev[0]


def test_posters_are_real_frames_not_black(fixture_output):
    for file in manifest_files(fixture_output):
        poster = fixture_output / file.replace(".mp4", ".poster.png")
        with Image.open(poster) as image:
            assert image.size == (WIDTH, HEIGHT)
            assert image.text[gallery.POSTER_SHA_KEY] == outputs.sha256_of(fixture_output / file)
        mean, stddev = _grey_stats(poster)
        assert mean > 30 and stddev > 20, f"{poster.name} looks blank (mean {mean:.0f}, stddev {stddev:.0f})"


def test_overview_poster_comes_from_the_needle_beat_not_the_black_opening(fixture_output):
    poster = fixture_output / "overview-preview.poster.png"
    with Image.open(poster) as image:
        assert float(image.text["source-time-s"]) == pytest.approx(2.7)


def test_poster_times_prefer_the_needle_then_the_middle():
    beats = [
        {"chapter": "Title", "start_s": 0, "end_s": 2},
        {"chapter": "Confirmation", "start_s": 6, "end_s": 8},
        {"chapter": "The needle", "start_s": 2, "end_s": 4},
        {"chapter": "The needle", "start_s": 4, "end_s": 6},
    ]
    times = gallery.poster_times(beats, 8.0)
    assert times[:3] == [3.0, 7.0, 4.0]
    assert gallery.poster_times([], 10.0)[0] == 5.0
    assert len(times) == len(set(times))


def test_malformed_beats_and_chapters_are_ignored_not_fatal(own_output):
    sidecar_path = own_output / "overview-preview.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["beats"][1] = {"id": "broken", "chapter": "The needle"}
    sidecar["chapters"].append({"title": "No times"})
    sidecar["chapters"].append("not a chapter")
    outputs.write_json_atomic(sidecar_path, sidecar)
    page = parse(gallery.write_gallery(own_output))
    links = [a for a in page.find("a", **{"class": "chapter"}) if a["aria-controls"] == "player-overview-preview"]
    assert len(links) == 4
    transcript = (own_output / "overview-preview.txt").read_text()
    assert "The needle stops" in transcript and "stenosis" not in transcript


def test_a_black_frame_is_skipped_for_the_next_candidate(tmp_path):
    mp4 = tmp_path / "dark.mp4"
    make_mp4(mp4, 3.0, "testsrc2", black_lead_s=2.0)
    poster = gallery.ensure_poster(mp4, "abc", [0.5, 1.5, 2.5])
    with Image.open(poster) as image:
        assert image.text["source-time-s"] == "2.500"
    assert _grey_stats(poster)[1] > 20


def test_poster_is_kept_while_the_mp4_is_unchanged_and_retaken_when_it_changes(own_output):
    poster = own_output / "spine-atlas-L4-L5-preview.poster.png"
    before = poster.stat().st_mtime_ns
    gallery.write_gallery(own_output)
    assert poster.stat().st_mtime_ns == before

    mp4 = own_output / "spine-atlas-L4-L5-preview.mp4"
    make_mp4(mp4, 3.0, "testsrc2")  # a new build of the same video
    manifest = outputs.read_manifest(own_output)
    for entry in manifest["videos"]:
        if entry["file"] == mp4.name:
            entry["sha256"] = outputs.sha256_of(mp4)
    outputs.write_json_atomic(own_output / "manifest.json", manifest)
    gallery.write_gallery(own_output)
    with Image.open(poster) as image:
        assert image.text[gallery.POSTER_SHA_KEY] == outputs.sha256_of(mp4)
    assert poster.stat().st_mtime_ns != before


# ---------------------------------------------------------------- transcripts


def test_transcript_has_every_beat_in_order_under_its_chapter(fixture_output):
    text = (fixture_output / "overview-preview.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "Spinal injections: an overview"
    positions = [text.index(beat[2].split(".")[0]) for beat in FIXTURE_VIDEOS["overview"]["beats"]]
    assert positions == sorted(positions)
    assert "[0:02] The needle" in lines
    assert "[0:00] Title" in lines


# ---------------------------------------------------------------- filters and search data


def test_cards_carry_filter_metadata_and_the_selects_offer_it(fixture_output):
    page = parse(fixture_output / "index.html")
    cards = {a["data-video"]: a for a in page.find("article")}
    assert cards["transforaminal-esi"]["data-procedure"] == "Transforaminal epidural steroid injection"
    assert cards["transforaminal-esi"]["data-region"] == "cervical"
    assert cards["transforaminal-esi"]["data-level"] == "C5-C6"
    assert cards["facet-injection"]["data-region"] == "lumbar"  # L5-S1 belongs to its upper bone
    assert cards["spine-atlas"]["data-region"] == "lumbar" and cards["spine-atlas"]["data-procedure"] == ""
    assert cards["overview"]["data-level"] == "" and cards["overview"]["data-region"] == ""

    html = (fixture_output / "index.html").read_text(encoding="utf-8")
    for control in ("filter-procedure", "filter-region", "filter-level", "q"):
        assert f'<label for="{control}">' in html, f"{control} has no label"
    options = [a.get("value") for a in page.find("option")]
    assert options == [
        "",
        "facet-joint-injection",
        "Transforaminal epidural steroid injection",
        "",
        "cervical",
        "lumbar",
        "",
        "C5-C6",
        "L4-L5",
        "L5-S1",
    ]
    assert "Facet joint injection" in " ".join(page.text)


def test_search_data_holds_titles_and_narration_for_every_card(fixture_output):
    html = (fixture_output / "index.html").read_text(encoding="utf-8")
    start = html.index('<script type="application/json" id="gallery-data">') + len(
        '<script type="application/json" id="gallery-data">'
    )
    data = json.loads(html[start : html.index("</script>", start)])
    by_id = {v["id"]: v for v in data["videos"]}
    assert set(by_id) == {Path(f).stem for f in manifest_files(fixture_output)}
    assert "spinal stenosis" in by_id["overview-preview"]["search"]
    assert "Spinal injections: an overview" in by_id["overview-preview"]["search"]
    assert by_id["overview-preview"]["vtt"].startswith("WEBVTT")


def test_markup_in_titles_and_narration_is_escaped(own_output):
    sidecar_path = own_output / "overview-preview.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["beats"][0]["text"] = "</script><script>alert(1)</script> & more"
    outputs.write_json_atomic(sidecar_path, sidecar)
    manifest = outputs.read_manifest(own_output)
    manifest["videos"][0]["title"] = "<b>bold</b> & co"
    outputs.write_json_atomic(own_output / "manifest.json", manifest)
    html = gallery.write_gallery(own_output).read_text(encoding="utf-8")
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert "alert(1)</script>" not in html
    assert html.count("<script") == 2


@pytest.mark.parametrize(
    "level, region",
    [
        ("C7-T1", "cervical"),
        ("T12-L1", "thoracic"),
        ("L4-L5", "lumbar"),
        ("L5-S1", "lumbar"),
        ("S1", "sacral"),
        (None, None),
        ("", None),
    ],
)
def test_region_of_a_level(level, region):
    assert gallery.region_of(level) == region


def test_levels_sort_from_head_to_tail():
    levels = ["L5-S1", "C7-T1", "S1", "T12-L1", "C2-C3", "L4-L5", "T3-T4"]
    assert sorted(levels, key=gallery.level_sort_key) == ["C2-C3", "C7-T1", "T3-T4", "T12-L1", "L4-L5", "L5-S1", "S1"]


# ---------------------------------------------------------------- empty, missing, stale


@pytest.mark.parametrize("manifest", [None, '{"videos": []}', "{not json"])
def test_without_videos_the_page_says_how_to_build_one(tmp_path, manifest):
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest)
    page = gallery.write_gallery(tmp_path)
    assert page == tmp_path / "index.html"
    parsed = parse(page)
    text = " ".join(" ".join(parsed.text).split())
    assert "Nothing has been built yet" in text
    assert "make video" in text and "python render.py render overview --quality preview" in text
    assert not parsed.find("video") and not parsed.find("script")
    for _tag, attrs in parsed.tags:
        assert "manifest.json" != attrs.get("href")


def test_a_manifest_entry_without_its_mp4_is_reported_not_linked(own_output):
    (own_output / "facet-injection-L5-S1-right-preview.mp4").unlink()
    html = gallery.write_gallery(own_output).read_text(encoding="utf-8")
    assert 'src="facet-injection-L5-S1-right-preview.mp4"' not in html
    assert "Listed but missing" in html and "facet-injection-L5-S1-right-preview.mp4" in html
    assert len(parse(own_output / "index.html").find("video")) == len(FIXTURE_VIDEOS) - 1


def test_a_video_without_sidecar_still_plays_with_a_middle_poster(own_output):
    (own_output / "spine-atlas-L4-L5-preview.json").unlink()
    (own_output / "spine-atlas-L4-L5-preview.poster.png").unlink()
    page = parse(gallery.write_gallery(own_output))
    card = [a for a in page.find("article") if a["data-video"] == "spine-atlas"]
    assert card and card[0]["data-level"] == "L4-L5"
    with Image.open(own_output / "spine-atlas-L4-L5-preview.poster.png") as image:
        assert float(image.text["source-time-s"]) == pytest.approx(1.5)


def test_writing_leaves_no_partial_files_and_is_repeatable(own_output):
    first = (own_output / "index.html").read_text(encoding="utf-8")
    gallery.write_gallery(own_output)
    assert (own_output / "index.html").read_text(encoding="utf-8") == first
    assert not list(own_output.glob(outputs.PARTIAL_PREFIX + "*"))


# ---------------------------------------------------------------- the command line


def test_cli_gallery_writes_the_page_and_prints_its_path(own_output, capsys):
    from pipeline.cli import main

    (own_output / "index.html").unlink()
    assert main(["gallery", "--output-dir", str(own_output)]) == 0
    assert capsys.readouterr().out.strip() == str(own_output / "index.html")
    assert (own_output / "index.html").is_file()


def test_cli_gallery_with_an_unusable_output_dir_is_one_line_and_exit_2(tmp_path, capsys):
    from pipeline.cli import main

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert main(["gallery", "--output-dir", str(not_a_dir / "sub")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("Error: ")
