"""The printable handout: ``render.py handout transforaminal-esi --level L4-L5`` on a real
render (at the suite's smallest quality, 192x108 from the test plugin: the handout's words and
layout do not depend on the video's size), read back with poppler (``pdftotext``, ``pdfinfo``, ``pdftoppm``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, TEST_PLUGIN, run_cli

pytestmark = [
    pytest.mark.render,
    pytest.mark.skipif(
        shutil.which("pdftotext") is None, reason="poppler-utils is not installed (make test installs it)"
    ),
]

STEM = "transforaminal-esi-L4-L5-right-test"
PLUGIN = {"SPINE_CATALOG_PLUGINS": str(TEST_PLUGIN)}  # the "test" quality is known to the command


@pytest.fixture(scope="module")
def handout_dir(tmp_path_factory) -> Path:
    """The handout command run on an empty folder: it renders the video first, then writes the PDF."""
    out = tmp_path_factory.mktemp("handout")
    proc = run_cli(
        *("handout", "transforaminal-esi", "--level", "L4-L5", "--voice", "none", "--quality", "test"),
        *("--output-dir", str(out)),
        env=PLUGIN,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(out / f"{STEM}.handout-a4.pdf")
    assert "not built yet; rendering it at test first" in proc.stderr
    return out


def pdf_text(pdf: Path) -> str:
    raw = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(raw.split())


def page_size(pdf: Path) -> str:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return next(line for line in info.splitlines() if line.startswith("Page size:"))


def test_the_handout_holds_title_level_risks_steps_and_the_review_line(handout_dir):
    pdf = handout_dir / f"{STEM}.handout-a4.pdf"
    text = pdf_text(pdf)
    assert "Transforaminal epidural steroid injection" in text
    assert "Level: L4-L5" in text and "Side: right" in text
    # the main risks: the script's on-screen risk words for the lumbar technique
    assert "Main risks" in text
    from spine.videos import resolve
    from voiceover.scripts import load_script

    request = resolve("transforaminal-esi", "L4-L5", "right")
    risks = load_script("transforaminal-esi", "en").filled(request.script_context()).screen["risks"]
    assert len(risks) >= 3
    for risk in risks:
        assert " ".join(str(risk).split()).rstrip(".") + "." in text
    assert "Not yet medically reviewed" in text
    assert "For education only." in text and "does not give medical advice" in text
    for heading in ("Before", "During", "Afterwards", "Questions to ask your doctor", "What you will see in the video"):
        assert heading in text
    assert "You are lying face down." in text  # before: the script's position beat
    assert "(A4)" in page_size(pdf)


def test_the_first_page_is_not_blank_and_shows_key_frames(handout_dir, tmp_path):
    pdf = handout_dir / f"{STEM}.handout-a4.pdf"
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")], check=True)
    from PIL import Image

    (png,) = tmp_path.glob("page*.png")
    grey = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert grey.std() > 25, "the first page is (nearly) blank"
    # the key frames are the video's dark pictures: a good share of the page is dark
    assert (grey < 60).mean() > 0.05
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert 4 <= len([line for line in images.splitlines()[2:] if " image " in line]) <= 6


def test_letter_paper_and_the_existing_video_is_used(handout_dir):
    mp4 = handout_dir / f"{STEM}.mp4"
    before = mp4.stat().st_mtime_ns
    proc = run_cli(
        "handout",
        "transforaminal-esi",
        "--level",
        "L4-L5",
        "--paper",
        "letter",
        "--output-dir",
        str(handout_dir),
        env=PLUGIN,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    pdf = handout_dir / f"{STEM}.handout-letter.pdf"
    assert proc.stdout.strip() == str(pdf)
    assert "rendering" not in proc.stderr and mp4.stat().st_mtime_ns == before
    assert "612 x 792 pts (letter)" in page_size(pdf)
    assert "Transforaminal epidural steroid injection" in pdf_text(pdf)


def test_a_reviewed_video_prints_its_review_line(handout_dir, tmp_path):
    """The handout prints the review the video was built with (its sidecar)."""
    import json

    own = tmp_path / "out"
    own.mkdir()
    for suffix in (".mp4", ".json"):
        shutil.copy(handout_dir / f"{STEM}{suffix}", own / f"{STEM}{suffix}")
    sidecar = json.loads((own / f"{STEM}.json").read_text())
    sidecar["review"] = {
        "reviewed": {
            "by": "Dr Test Reviewer",
            "role": "Pain physician",
            "date": "2026-02-01",
            "sources": ["SIS guidelines"],
        },
        "next_review": "2027-02-01",
        "overdue": False,
        "line": "Medically reviewed by Dr Test Reviewer, Pain physician, on 2026-02-01",
    }
    (own / f"{STEM}.json").write_text(json.dumps(sidecar))
    proc = run_cli("handout", "transforaminal-esi", "--level", "L4-L5", "--output-dir", str(own), env=PLUGIN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = pdf_text(own / f"{STEM}.handout-a4.pdf")
    assert "Medically reviewed by Dr Test Reviewer, Pain physician, on 2026-02-01" in text
    assert "Not yet medically reviewed" not in text


def test_the_brand_is_on_the_handout(handout_dir, tmp_path):
    from pipeline.brand import load_brand
    from pipeline.handout import write_handout

    own = tmp_path / "out"
    own.mkdir()
    for suffix in (".mp4", ".json"):
        shutil.copy(handout_dir / f"{STEM}{suffix}", own / f"{STEM}{suffix}")
    pdf = write_handout(own / f"{STEM}.mp4", "a4", load_brand(ROOT / "assets" / "brands" / "example" / "brand.yaml"))
    text = pdf_text(pdf)
    assert "Example Spine Clinic" in text and "Dr Alex Example" in text and "555-0100" in text
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert (
        len([line for line in images.splitlines()[2:] if " image " in line or " smask " in line]) >= 5
    )  # frames + logo


def test_unknown_level_is_one_line_exit_2(tmp_path):
    proc = run_cli("handout", "transforaminal-esi", "--level", "L9-L10", "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("Error: ")
    assert not (tmp_path / "out").exists()


def test_all_writes_a_handout_beside_each_video_and_the_gallery_links_it(tmp_path):
    from tests.test_catalog import run_all
    from tests.test_gallery import parse

    proc = run_all(tmp_path, "-j", "1")  # the tiny test video; handouts are on by default (A4)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pdf = tmp_path / "out" / "catalog-test-test.handout-a4.pdf"
    assert pdf.is_file()
    text = pdf_text(pdf)
    assert "Catalog test" in text and "Not yet medically reviewed" in text
    assert parse(tmp_path / "out" / "index.html").find("a", href=pdf.name)
    # nothing changed: the handout is not written again
    before = pdf.stat().st_mtime_ns
    again = run_all(tmp_path, "-j", "1")
    assert again.returncode == 0 and pdf.stat().st_mtime_ns == before
