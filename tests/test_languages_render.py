"""A Spanish procedure video, rendered as a user would, with its described version.

One render (module fixture) of ``render.py render transforaminal-esi --lang es --quality
test --described`` (the test plugin's 192x108 quality: the words, speech and timing are those
of any quality; espeak-ng: no Spanish piper voice is bundled) serves every test here:
Spanish captions, chapters and on-screen cards; the described version's length, speech
segments and descriptions cues; the transcripts; the gallery in Chromium.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parents[1]
VIDEO = "transforaminal-esi"
STEM = "transforaminal-esi-L4-L5-right-es-test"
# common English words; none may appear in a Spanish video's captions, chapters or cards
ENGLISH = {
    "the",
    "and",
    "with",
    "you",
    "your",
    "needle",
    "side",
    "left",
    "right",
    "view",
    "views",
    "pain",
    "nerve",
    "root",
    "injection",
    "steroid",
    "doctor",
    "medicine",
    "risks",
    "relief",
    "problem",
    "where",
    "checking",
    "vessel",
    "into",
    "from",
    "under",
    "after",
    "skin",
    "numbing",
    "getting",
    "ready",
    "what",
    "goes",
    "tip",
    "bone",
    "this",
    "video",
    "education",
    "only",
    "ask",
    "which",
    "treatment",
    "of",
    "is",
    "in",
    "to",
    "for",
    "position",
    "oblique",
    "true",
    "cranial",
    "caudal",
    "target",
    "afterwards",
    "main",
    "spread",
}


def english_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z]+", text.lower())} & ENGLISH


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from pipeline.cli import main
    from tests.test_catalog_plugin import register

    register()  # the test quality, as SPINE_CATALOG_PLUGINS=tests/test_catalog_plugin.py would
    out = tmp_path_factory.mktemp("spanish")
    code = main(
        ["render", VIDEO, "--lang", "es", "--quality", "test", "--described", "--output-dir", str(out), "--quiet"]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def sidecar(built):
    return json.loads((built / f"{STEM}.json").read_text(encoding="utf-8"))


def _probe(path: Path) -> dict:
    from pipeline.mux import probe

    return probe(path)


def _audio(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray().mean(axis=0) for frame in container.decode(stream)]
        return np.concatenate(chunks).astype(np.float64), stream.rate


def test_the_spanish_render_writes_every_output(built, sidecar):
    for name in (
        f"{STEM}.mp4",
        f"{STEM}.srt",
        f"{STEM}.vtt",
        f"{STEM}.descriptions.vtt",
        f"{STEM}.transcript.txt",
        f"{STEM}.transcript.html",
        f"{STEM}-described.mp4",
        f"{STEM}-described.srt",
        f"{STEM}-described.vtt",
        f"{STEM}-described.descriptions.vtt",
    ):
        assert (built / name).is_file(), name
    assert sidecar["lang"] == "es" and sidecar["inputs"]["voice"]["engine"] == "espeak"
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    entry = next(v for v in manifest["videos"] if v["file"] == f"{STEM}.mp4")
    assert entry["descriptions"] == f"{STEM}.descriptions.vtt" and entry["described"]["file"] == f"{STEM}-described.mp4"


def test_captions_and_chapters_are_spanish(built, sidecar):
    vtt = (built / f"{STEM}.vtt").read_text(encoding="utf-8")
    captions = " ".join(line for line in vtt.splitlines()[1:] if line.strip() and "-->" not in line)
    assert "inyección epidural de esteroides" in captions.lower()
    assert not english_words(captions), english_words(captions)
    chapters = [c["tags"]["title"] for c in _probe(built / f"{STEM}.mp4")["chapters"]]
    assert chapters[:3] == ["Título", "Dónde", "El problema"]
    assert not english_words(" ".join(chapters))
    described = [c["tags"]["title"] for c in _probe(built / f"{STEM}-described.mp4")["chapters"]]
    assert described == chapters


def test_the_on_screen_cards_are_spanish():
    """Read every text mobject the scene shows, beat after beat (a dry run: no frames drawn)."""
    from manim import Text, tempconfig
    from manim.animation.animation import prepare_animation

    from pipeline.build import BuildOptions, make_storyboard, prepare_narration
    from spine.videos import resolve

    request = resolve(VIDEO)
    script, spoken = prepare_narration(request, BuildOptions(quality="preview", voice="none", lang="es"))
    storyboard = make_storyboard(request, script, spoken, 15)
    shown: list[str] = []

    def collect(mobjects):
        for mob in mobjects:
            for m in mob.get_family():
                words = m.original_text if isinstance(m, Text) else getattr(m, "text", None)
                if isinstance(words, str) and words not in shown:  # Text, or glyph outlines with .text
                    shown.append(words)

    class DryRun(request.spec.scene_class()):
        def play_frames(self, frames, *animations, **kwargs):
            for anim in map(prepare_animation, animations):
                anim._setup_scene(self)
                anim.begin()
                target = getattr(anim, "target_mobject", None)
                if target is not None:
                    collect([target])
                anim.finish()
                anim.clean_up_from_scene(self)
            self.frames_written += frames
            collect(self.mobjects)

        def hold_frames(self, frames):
            self.frames_written += frames
            collect(self.mobjects)

    with tempconfig({"frame_rate": 15, "pixel_width": 854, "pixel_height": 480, "disable_caching": True}):
        scene = DryRun(storyboard=storyboard)
        scene.setup()
        scene.construct()
    cards = " | ".join(shown)
    for expected in (
        "Inyección epidural de esteroides transforaminal",
        "Dónde",
        "Riesgos principales",
        "Solo con fines educativos",
        "oblicua derecha",
    ):
        assert expected in cards, expected
    assert not english_words(cards), f"English on screen: {english_words(cards)} in {cards}"


def test_the_described_version_is_longer_by_its_holds_only(built, sidecar):
    described = sidecar["described"]
    fps = sidecar["fps"]
    holds = sum(b["hold_s"] for b in described["beats"])
    assert holds > 1.0  # the pauses of a procedure video are too short for its descriptions
    plain_s = float(next(s for s in _probe(built / f"{STEM}.mp4")["streams"] if s["codec_type"] == "video")["duration"])
    desc_s = float(
        next(s for s in _probe(built / f"{STEM}-described.mp4")["streams"] if s["codec_type"] == "video")["duration"]
    )
    assert desc_s == pytest.approx(plain_s + holds, abs=1.5 / fps)
    # each beat starts later by exactly the holds before it
    shift = 0.0
    for plain, beat in zip(sidecar["beats"], described["beats"]):
        assert beat["start_s"] == pytest.approx(plain["start_s"] + shift, abs=3e-3)  # each rounded to ms
        shift += beat["hold_s"]


def test_narration_sample_ranges_are_the_same_apart_from_the_holds(built, sidecar):
    """Each beat's narration, cut from both soundtracks at its own start, is the same speech."""
    plain, rate = _audio(built / f"{STEM}.mp4")
    described, _ = _audio(built / f"{STEM}-described.mp4")
    for a, b in zip(sidecar["beats"], sidecar["described"]["beats"]):
        n = int(a["speech_s"] * rate)
        x = plain[int(a["start_s"] * rate) :][:n]
        y = described[int(b["start_s"] * rate) :][:n]
        assert len(x) == len(y) == n
        env = lambda s: np.abs(s).reshape(-1, rate // 100)[:, :].mean(axis=1) if len(s) >= rate // 100 else s
        k = (n // (rate // 100)) * (rate // 100)
        ex, ey = env(x[:k]), env(y[:k])
        corr = float(np.corrcoef(ex, ey)[0, 1])
        assert corr > 0.95, f"beat {a['id']}: the narration differs (envelope correlation {corr:.3f})"
        # and not just any speech: a tenth of a second off matches worse
        off = float(np.corrcoef(ex[10:], ey[:-10])[0, 1])
        assert corr > off, a["id"]


def test_description_cues_lie_where_the_description_speech_is(built, sidecar):
    audio, rate = _audio(built / f"{STEM}-described.mp4")
    narration = [
        (b["start_s"], b["start_s"] + p["speech_s"]) for p, b in zip(sidecar["beats"], sidecar["described"]["beats"])
    ]
    text = (built / f"{STEM}-described.descriptions.vtt").read_text(encoding="utf-8")
    cues = [
        (_seconds(a), _seconds(b))
        for a, b in re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", text)
    ]
    assert len(cues) >= len(sidecar["beats"]) - 1
    rms = lambda a, b: float(np.sqrt(np.mean(audio[int(a * rate) : int(b * rate)] ** 2)))
    for start, end in cues:
        # never over the narration
        assert all(end <= ns + 1e-3 or start >= ne - 1e-3 for ns, ne in narration), (start, end)
        # and where a voice speaks (the mix is at -16 LUFS: speech is about -20 dBFS RMS)
        assert rms(start, end) > 0.03, (start, end, rms(start, end))
    # between a beat's narration and its description the track is quiet
    for (ns, ne), beat in zip(narration, sidecar["described"]["beats"]):
        if beat["description_start_s"] is not None:
            gap = rms(ne + 0.08, beat["description_start_s"] - 0.05)
            assert gap < 0.2 * rms(beat["description_start_s"], beat["description_start_s"] + beat["description_s"]), (
                beat
            )
    # the plain video's track has the same descriptions, in Spanish
    plain = (built / f"{STEM}.descriptions.vtt").read_text(encoding="utf-8")
    assert plain.startswith("WEBVTT")
    assert "aguja" in plain and not english_words(plain)


def _seconds(clock: str) -> float:
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_the_transcript_is_spanish_with_chapters_narration_and_descriptions(built):
    text = (built / f"{STEM}.transcript.txt").read_text(encoding="utf-8")
    assert text.index("Título") < text.index("Este vídeo muestra") < text.index("(Descripción:") < text.index("Dónde")
    assert not english_words(text)
    page = (built / f"{STEM}.transcript.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in page and page.count("<h2>") == len({c for c in re.findall(r"\] (.+)", text)})


def test_the_gallery_plays_spanish_captions_and_loads_the_descriptions(built):
    from tests.test_gallery_browser import CHROMIUM, CHROMIUM_ARGS, LAPTOP, serve

    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    from pipeline.gallery import write_gallery

    write_gallery(built)
    html = (built / "index.html").read_text(encoding="utf-8")
    assert f'href="{STEM}-described.mp4"' in html
    with serve(built) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(url + "index.html")
            player = f"player-{STEM}"
            page.wait_for_function(f"() => document.getElementById('{player}').readyState >= 2", timeout=20_000)
            page.evaluate(
                f"() => {{ const v = document.getElementById('{player}');"
                f" for (const t of v.textTracks) if (t.kind === 'descriptions') t.mode = 'hidden'; }}"
            )
            page.wait_for_function(
                f"""() => {{ const v = document.getElementById('{player}');
                return [...v.textTracks].every(t => t.cues && t.cues.length > 0); }}""",
                timeout=20_000,
            )
            tracks = page.evaluate(f"""() => [...document.getElementById('{player}').textTracks].map(t => ({{
                kind: t.kind, lang: t.language, mode: t.mode, cues: t.cues.length,
                text: [...t.cues].map(c => c.text).join(' ') }}))""")
        finally:
            browser.close()
    captions = next(t for t in tracks if t["kind"] == "captions")
    descriptions = next(t for t in tracks if t["kind"] == "descriptions")
    assert captions["lang"] == "es" and captions["mode"] == "showing" and captions["cues"] > 10
    assert "inyección" in captions["text"].lower() and not english_words(captions["text"])
    assert descriptions["lang"] == "es" and descriptions["cues"] >= 10 and "aguja" in descriptions["text"]
    # the script's own descriptions, filled for the request (not the shared defaults)
    assert "arco en C" in descriptions["text"] and "muestra el lado derecho" in descriptions["text"]


def test_the_gallery_lists_both_languages_and_filters_by_language(built, tmp_path):
    """English videos (the gallery tests' small fixture set) beside the Spanish render: the page
    offers a language filter with both, and choosing Español leaves only the Spanish video."""
    import shutil

    from tests.test_gallery import build_fixture_output
    from tests.test_gallery_browser import CHROMIUM, CHROMIUM_ARGS, LAPTOP, serve

    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    from pipeline import outputs
    from pipeline.outputs import manifest_entry
    from pipeline.gallery import write_gallery

    out = build_fixture_output(tmp_path / "out")
    for f in built.glob(f"{STEM}*"):
        if f.is_file():
            shutil.copy2(f, out / f.name)
    outputs.record_in_manifest(out, manifest_entry(json.loads((out / f"{STEM}.json").read_text(encoding="utf-8"))))
    write_gallery(out)
    with serve(out) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(url + "index.html")
            options = page.evaluate(
                "() => [...document.querySelectorAll('#filter-language option')].map(o => [o.value, o.textContent])"
            )
            page.select_option("#filter-language", "es")
            shown = page.evaluate(
                "() => [...document.querySelectorAll('article.video-card')]"
                ".filter(c => !c.hidden).map(c => c.dataset.id)"
            )
            total = page.evaluate("() => document.querySelectorAll('article.video-card').length")
        finally:
            browser.close()
    assert options == [["", "All languages"], ["en", "English"], ["es", "Español"]]
    assert shown == [STEM] and total >= 5
