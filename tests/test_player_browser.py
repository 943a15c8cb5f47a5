"""The embeddable player pages (``player/<stem>.html``) in Debian's Chromium, opened from disk.

The gallery over the shared fixture folder (real small MP4s) writes the pages; the tests follow
``#chapter=`` and ``#t=`` deep links and check the video's ``currentTime``, and that the page
asks for nothing outside the output folder (Playwright's request log).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import gallery
from tests.test_gallery import FIXTURE_VIDEOS, build_fixture_output, parse  # noqa: F401
from tests.test_gallery_browser import chromium, wait_for

pytestmark = pytest.mark.browser

STEM = "overview-preview"  # chapters: Title 0, What it is 1.0, The needle 2.0, Who does them 3.4


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    directory = build_fixture_output(tmp_path_factory.mktemp("player") / "output")
    # an audio-description track beside one video: the player offers it
    (directory / f"{STEM}.descriptions.vtt").write_text(
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nA title card.\n", encoding="utf-8"
    )
    gallery.write_gallery(directory)
    return directory


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.errors, page.requests = [], []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    page.close()


def current_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_the_gallery_writes_a_player_page_per_video_with_tracks_and_an_embed_snippet(output):
    for name, spec in FIXTURE_VIDEOS.items():
        stem = "-".join([name] + [p for p in (spec["level"], spec["side"]) if p] + ["preview"])
        assert (output / "player" / f"{stem}.html").is_file()
    player = parse(output / "player" / f"{STEM}.html")
    kinds = {t["kind"]: t["src"] for t in player.find("track")}
    assert kinds == {
        "captions": f"../{STEM}.vtt",
        "descriptions": f"../{STEM}.descriptions.vtt",
        "chapters": f"{STEM}.chapters.vtt",
    }
    chapters = (output / "player" / f"{STEM}.chapters.vtt").read_text()
    assert "the-needle\n00:00:02.000 --> 00:00:03.400\nThe needle" in chapters
    assert len(player.find("textarea", id="snippet")) == 1
    text = "".join(player.text)
    assert f'<iframe src="player/{STEM}.html" width="640" height="360"' in text
    index = parse(output / "index.html")
    assert index.find("a", href=f"player/{STEM}.html")
    # the others have no descriptions file, so no descriptions track
    other = parse(output / "player" / "spine-atlas-L4-L5-preview.html")
    assert {t["kind"] for t in other.find("track")} == {"captions", "chapters"}


def test_a_chapter_deep_link_seeks_the_player_and_nothing_outside_the_folder_is_requested(page, output):
    url = (output / "player" / f"{STEM}.html").as_uri()
    page.goto(url)
    wait_for(page, "() => document.getElementById('player').readyState >= 1", "the player has loaded its video")
    assert current_time(page) == 0
    page.click("a#chapter-the-needle")  # follows href="#chapter=the-needle"
    assert page.url.endswith("#chapter=the-needle")
    wait_for(
        page,
        "() => Math.abs(document.getElementById('player').currentTime - 2.0) < 0.05",
        "the player is at 'The needle' (2.0 s)",
    )
    assert page.get_attribute("a#chapter-the-needle", "aria-current") == "true"

    # a link that arrives with the address (an embed, an email) seeks too: #chapter= and #t=
    page.goto(url + "#chapter=who-does-them")
    page.reload()
    wait_for(
        page,
        "() => Math.abs(document.getElementById('player').currentTime - 3.4) < 0.05",
        "the player is at 'Who does them' (3.4 s)",
    )
    page.goto(url + "#t=1.5")
    page.reload()
    wait_for(
        page, "() => Math.abs(document.getElementById('player').currentTime - 1.5) < 0.05", "the player is at 1.5 s"
    )

    folder = output.resolve().as_uri() + "/"
    outside = [u for u in page.requests if not u.startswith(folder) and not u.startswith("data:")]
    assert outside == [], outside
    assert any(u.endswith(f"{STEM}.mp4") for u in page.requests)
    assert page.errors == []


def test_an_unknown_chapter_leaves_the_player_at_the_start(page, output):
    page.goto((output / "player" / f"{STEM}.html").as_uri() + "#chapter=nowhere")
    wait_for(page, "() => document.getElementById('player').readyState >= 1", "the player has loaded its video")
    assert current_time(page) == 0
    assert page.errors == []


def test_the_player_pages_survive_a_copy_of_the_folder(output, tmp_path):
    """Pages link by relative names only: a copied folder (an intranet share) still works."""
    copy = Path(shutil.copytree(output, tmp_path / "share"))
    html = (copy / "player" / f"{STEM}.html").read_text()
    assert str(output) not in html and "http://" not in html and "https://" not in html
