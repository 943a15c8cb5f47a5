"""The gallery in a real browser: Debian's Chromium driven by Playwright.

The page is served from the unit tests' fixture folder (real small MP4s) by a static
server on 127.0.0.1 that answers HTTP range requests like nginx, Apache or any CDN do;
two more tests open it with Python's plain ``http.server`` (no ranges) and from disk
(file://), the two ways a reviewer is most likely to open it. Screenshots at laptop and
phone width go to a temporary folder whose path the tests print.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.test_gallery import fixture_output  # noqa: F401  (the shared fixture folder)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000

ALL_PLAYABLE = "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2 && v.duration > 0)"
ALL_CAPTIONED = """() => [...document.querySelectorAll('video')].every(v =>
    v.textTracks.length >= 1 && v.textTracks[0].kind === 'captions' && v.textTracks[0].mode === 'showing'
    && v.textTracks[0].cues && v.textTracks[0].cues.length > 0)"""
PLAYER_STATES = """() => [...document.querySelectorAll('video')].map(v => ({
    id: v.id, readyState: v.readyState, duration: v.duration, error: v.error && v.error.message,
    track: v.textTracks[0] && v.textTracks[0].mode, cues: v.textTracks[0] && v.textTracks[0].cues && v.textTracks[0].cues.length}))"""


# ---------------------------------------------------------------- servers and browser


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Python's own static server (no range requests), without its request log."""

    def log_message(self, format, *args):  # noqa: A002
        pass


class RangeHandler(QuietHandler):
    """A static server that answers ``Range: bytes=a-b`` with 206, as real servers do."""

    _remaining: int | None = None

    def send_head(self):
        wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        path = self.translate_path(self.path)
        if not wanted or not os.path.isfile(path) or not any(wanted.groups()):
            return super().send_head()
        size = os.path.getsize(path)
        if wanted.group(1):
            first = int(wanted.group(1))
            last = min(int(wanted.group(2)) if wanted.group(2) else size - 1, size - 1)
        else:  # the last N bytes
            first, last = max(0, size - int(wanted.group(2))), size - 1
        if first >= size or first > last:
            self.send_error(416, "Requested range not satisfiable")
            return None
        f = open(path, "rb")  # noqa: SIM115 (closed by SimpleHTTPRequestHandler.do_GET)
        f.seek(first)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = last - first + 1
        return f

    def copyfile(self, source, outputfile):
        if self._remaining is None:
            return super().copyfile(source, outputfile)
        left = self._remaining
        while left > 0:
            chunk = source.read(min(left, 1 << 16))
            if not chunk:
                break
            outputfile.write(chunk)
            left -= len(chunk)


@contextlib.contextmanager
def serve(directory: Path, handler=RangeHandler):
    """Serve ``directory`` on a free port of 127.0.0.1 from a thread; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="gallery-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """Debian's headless Chromium (a Playwright browser context at laptop size); skips the test without it."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=LAPTOP,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture(scope="module")
def site(fixture_output):  # noqa: F811
    with serve(fixture_output) as url:
        yield url


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("gallery-screenshots")
    print(f"\ngallery screenshots: {directory}")
    return directory


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.set_viewport_size(LAPTOP)
    page.errors = []  # uncaught script errors
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    page.close()


def open_gallery(page, url: str) -> None:
    page.goto(url)
    wait_for(page, ALL_PLAYABLE, "every video can play")
    wait_for(page, ALL_CAPTIONED, "every caption track shows its cues")


def wait_for(page, expression: str, what: str, arg=None) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(expression, arg=arg, timeout=WAIT_MS)
    except PlaywrightTimeout:
        pytest.fail(f"timed out waiting until {what}; players: {page.evaluate(PLAYER_STATES)}")


def visible_cards(page) -> list[str]:
    return page.eval_on_selector_all(
        ".video-card", "cards => cards.filter(c => !c.hidden && c.offsetParent !== null).map(c => c.dataset.video)"
    )


def seek_with_chapter(page, card: str, chapter: str) -> float:
    """Click chapter ``chapter`` of the card ``#v-<card>``; wait until its player is in it; returns its start."""
    link = page.locator(f"#v-{card} a.chapter", has_text=chapter)
    start, end = float(link.get_attribute("data-start")), float(link.get_attribute("data-end"))
    link.click()
    wait_for(
        page,
        "([id, start, end]) => { const v = document.getElementById(id); return v.currentTime >= start - 0.05 && v.currentTime < end; }",
        f"{card} plays from chapter '{chapter}' ({start} s)",
        arg=[f"player-{card}", start, end],
    )
    return start


# ---------------------------------------------------------------- the tests


def test_every_video_plays_with_captions_and_chapters_seek(page, site):
    open_gallery(page, site + "index.html")
    assert len(page.evaluate(PLAYER_STATES)) == 4
    assert seek_with_chapter(page, "overview-preview", "The needle") == 2.0
    page.evaluate("document.getElementById('player-overview-preview').pause()")
    current = page.locator("#v-overview-preview a.chapter[aria-current='true']")
    assert current.inner_text().endswith("The needle")
    seek_with_chapter(page, "transforaminal-esi-C5-C6-left-preview", "Confirmation")
    # only one narrator at a time: the overview was paused when the other one started
    assert page.evaluate("document.getElementById('player-overview-preview').paused")
    assert page.errors == []


def test_filters_and_search_hide_the_other_videos(page, site):
    open_gallery(page, site + "index.html")
    everything = ["overview", "spine-atlas", "facet-injection", "transforaminal-esi"]
    assert visible_cards(page) == everything
    count = page.locator("#result-count")

    page.select_option("#filter-region", "cervical")
    assert visible_cards(page) == ["transforaminal-esi"]
    assert count.inner_text() == "1 of 4 videos shown"
    page.click("#filter-reset")
    page.wait_for_function("document.querySelectorAll('.video-card:not([hidden])').length === 4")

    page.select_option("#filter-procedure", "facet-joint-injection")
    assert visible_cards(page) == ["facet-injection"]
    page.select_option("#filter-procedure", "")
    page.select_option("#filter-level", "L4-L5")
    assert visible_cards(page) == ["spine-atlas"]
    page.select_option("#filter-level", "")

    search = page.get_by_label("Search titles and narration")
    search.fill("stenosis")  # said only in the overview's narration
    assert visible_cards(page) == ["overview"]
    search.fill("EPIDURAL")  # the overview's narration and a title, in any case
    assert visible_cards(page) == ["overview", "transforaminal-esi"]
    search.fill("epidural foramen")  # every word must match
    assert visible_cards(page) == ["transforaminal-esi"]
    search.fill("lumbosacral xyz")
    assert visible_cards(page) == [] and page.locator("#no-results").is_visible()
    page.click("[data-action='clear-filters']")
    page.wait_for_function("document.querySelectorAll('.video-card:not([hidden])').length === 4")
    assert count.inner_text() == "4 videos"
    assert page.errors == []


def test_keyboard_reaches_every_control_with_a_visible_focus_ring(page, site):
    open_gallery(page, site + "index.html")
    seen = []
    rings = {}
    for _ in range(16):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const el = document.activeElement, s = getComputedStyle(el);
            return {name: el.id || el.className || el.tagName, tag: el.tagName, text: el.innerText || '',
                    ring: s.outlineStyle + ' ' + s.outlineWidth}; }""")
        seen.append(info["name"])
        rings[info["name"]] = info["ring"]
        if info["name"] == "chapter" and info["text"].endswith("The needle"):
            break
    order = [
        "skip-link",
        "q",
        "filter-procedure",
        "filter-region",
        "filter-level",
        "filter-reset",
        "player-overview-preview",
        "chapter",
    ]
    positions = [seen.index(name) for name in order]
    assert positions == sorted(positions), seen
    for name in ("skip-link", "q", "filter-level", "filter-reset", "chapter"):
        assert rings[name] == "solid 3px", f"{name} has no visible focus ring: {rings[name]}"
    page.keyboard.press("Enter")  # the focused "The needle" chapter of the overview
    wait_for(
        page,
        "() => document.getElementById('player-overview-preview').currentTime >= 1.95",
        "Enter on a chapter link seeks the player",
    )
    assert page.errors == []


def test_text_has_readable_contrast(page, site):
    open_gallery(page, site + "index.html")
    ratios = page.evaluate("""() => {
        const rgb = c => c.match(/[\\d.]+/g).map(Number);
        const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                             .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
        const background = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                                     if (c.length < 4 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
        const out = {};
        for (const sel of ['h1', '.lede', 'label', '#q', 'select', 'button', '.result-count', '.video-title', '.meta dt',
                           '.meta dd', '.muted', '.chapter-time', '.chapter-title', '.files a', '.page-footer']) {
            const el = document.querySelector(sel);
            const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
            out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }
        return out; }""")
    low = {sel: round(r, 2) for sel, r in ratios.items() if r < 4.5}
    assert not low, f"contrast below WCAG AA 4.5:1: {low}"


def test_layout_fits_laptop_and_phone_and_is_screenshotted(page, site, screenshot_dir):
    open_gallery(page, site + "index.html")
    page.evaluate("document.getElementById('player-overview-preview').currentTime = 2.5")  # a caption on screen
    page.wait_for_timeout(1000)  # Chromium's player shows a spinner for a moment after loading
    page.screenshot(path=str(screenshot_dir / "gallery-laptop.png"), full_page=True)
    columns = page.evaluate("getComputedStyle(document.querySelector('.videos')).gridTemplateColumns.split(' ').length")
    assert columns >= 2

    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        "the page scrolls sideways on a phone"
    )
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.videos')).gridTemplateColumns.split(' ').length") == 1
    )
    box = page.locator("#player-overview-preview").bounding_box()
    assert box["width"] >= PHONE["width"] * 0.8
    page.screenshot(path=str(screenshot_dir / "gallery-phone.png"), full_page=False)
    print(f"screenshots: {screenshot_dir / 'gallery-laptop.png'} {screenshot_dir / 'gallery-phone.png'}")
    assert (screenshot_dir / "gallery-laptop.png").stat().st_size > 10_000


def test_opened_from_disk_it_plays_captions_and_seeks(page, fixture_output):  # noqa: F811
    open_gallery(page, (fixture_output / "index.html").as_uri())
    seek_with_chapter(page, "overview-preview", "The needle")
    assert page.errors == []


def test_python_http_server_without_ranges_still_seeks(page, fixture_output):  # noqa: F811
    with serve(fixture_output, QuietHandler) as url:
        open_gallery(page, url + "index.html")
        seek_with_chapter(page, "spine-atlas-L4-L5-preview", "The level")
        wait_for(page, ALL_CAPTIONED, "captions survive loading the whole file")
    assert page.errors == []


@pytest.mark.render
def test_gallery_over_a_real_preview_build(page, preview_build, tmp_path, screenshot_dir):
    """The real overview (rendered once per session by tests/conftest.py) in the gallery."""
    from PIL import Image, ImageStat

    from pipeline.gallery import POSTER_CHAPTERS, POSTER_SHA_KEY, write_gallery
    from pipeline.outputs import read_manifest, sha256_of

    output = Path(shutil.copytree(preview_build, tmp_path / "output"))  # leave the shared build as it is
    write_gallery(output)
    [entry] = read_manifest(output)["videos"]
    stem = Path(entry["file"]).stem
    sidecar = json.loads((output / entry["sidecar"]).read_text(encoding="utf-8"))

    poster = output / f"{stem}.poster.png"
    with Image.open(poster) as image:
        assert image.text[POSTER_SHA_KEY] == sha256_of(output / entry["file"])
        grey = ImageStat.Stat(image.convert("L"))
        taken_at = float(image.text["source-time-s"])
    assert grey.stddev[0] > 10, f"the poster of {stem} is blank"
    beat = next(b for c in POSTER_CHAPTERS for b in sidecar["beats"] if b["chapter"] == c)
    assert taken_at == pytest.approx((beat["start_s"] + beat["end_s"]) / 2, abs=0.01)

    with serve(output) as url:
        open_gallery(page, url + "index.html")
        [state] = page.evaluate(PLAYER_STATES)
        assert state["duration"] == pytest.approx(sidecar["duration_s"], abs=0.2)
        assert page.locator(f"#v-{stem} a.chapter").count() == len(sidecar["chapters"])
        seek_with_chapter(page, stem, beat["chapter"])
        wait_for(
            page,
            "id => document.getElementById(id).textTracks[0].activeCues.length > 0",
            "a caption is on screen during the narration",
            arg=f"player-{stem}",
        )
        page.evaluate(f"document.getElementById('player-{stem}').pause()")
        page.wait_for_timeout(1000)
        page.screenshot(path=str(screenshot_dir / "gallery-preview-build.png"), full_page=True)
    transcript = (output / f"{stem}.txt").read_text(encoding="utf-8")
    assert all(" ".join(b["text"].split())[:40] in " ".join(transcript.split()) for b in sidecar["beats"])
    assert page.errors == []
