"""The printable handout of a built video: one PDF page set (A4 or Letter) for patients.

Made from the same data as the video: the sidecar (beats with their filled narration and
times, the review record), the script's ``screen:`` words (relief, risks), key frames taken
from the MP4 itself (PyAV) with one plain sentence each from the narration of that moment,
and the brand. HTML from a Jinja template is laid out by WeasyPrint (Pango, already here for
Manim), so the PDF has real, searchable text in the video's language and no network access.

Written beside the video as ``<stem>.handout-<paper>.pdf``, atomically.
"""

from __future__ import annotations

import base64
import io
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline import outputs
from spine.errors import SpineError

if TYPE_CHECKING:
    from pipeline.brand import Brand
    from spine.videos import VideoRequest

WORDS_FILE = Path(__file__).resolve().parent / "handout_words.yaml"
PAPERS = {"a4": "A4", "letter": "Letter"}
# Beats whose frames make the key frames, in order of preference; others fill up to KEY_FRAMES.
KEY_BEATS = (
    "where",
    "problem",
    "needle",
    "confirm",
    "medicine",
    "after",  # procedures
    "what",
    "levels",
    "guidance",
    "example",
)  # the overview
KEY_FRAMES = (4, 6)
BEFORE_BEATS = ("position",)
DURING_BEATS = (
    "views",
    "needle",
    "confirm",
    "vascular",
    "medicine",
    "stimulation",
    "lesion",
    "manometry",
    "cement",
    "balloon",
    "steer_lead",
    "steer-lead",
)
SKIP_BEATS = ("title", "closing")


class HandoutError(SpineError):
    """The handout cannot be made (no built video, a damaged sidecar)."""


def handout_path(mp4: Path, paper: str) -> Path:
    return Path(mp4).with_name(f"{Path(mp4).stem}.handout-{paper}.pdf")


class HandoutWords(BaseModel):
    """The handout's words in one language (every one required: a missing word is a data error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    level: str
    side: str
    sides: dict[Literal["left", "right"], str]
    steps: str
    before: str
    during: str
    after: str
    risks: str
    questions_heading: str
    questions: list[str] = Field(min_length=1)
    after_extra: str
    education: str
    video_line: str
    made_by: str

    @field_validator("video_line")
    @classmethod
    def _names_the_file(cls, value: str) -> str:
        if "{file}" not in value:
            raise ValueError("must contain {file} (where the video's file name goes)")
        return value


@lru_cache(maxsize=1)
def _all_words() -> dict[str, dict]:
    """Language -> the handout's words, validated (one line naming the file and the field if not)."""
    from spine.yaml_files import read_yaml

    data = read_yaml(WORDS_FILE, HandoutError, label=WORDS_FILE.name, what="handout words")
    if not isinstance(data, dict) or "en" not in data:
        raise HandoutError(f"{WORDS_FILE.name}: expected a section per language, 'en' first (en: level: ...)")
    table = {}
    for lang, words in data.items():
        try:
            table[str(lang)] = HandoutWords.model_validate(words).model_dump()
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in (lang, *error["loc"]))
            raise HandoutError(f"{WORDS_FILE.name}: {where}: {error['msg']}") from None
    return table


def words_for(lang: str) -> dict:
    table = _all_words()
    return {**table["en"], **table.get(lang, {})}


def sentences(text: str) -> list[str]:
    text = " ".join(str(text).split())
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def key_beats(beats: list[dict]) -> list[dict]:
    """4-6 beats whose frames show the video's steps, in playing order."""
    usable = [b for b in beats if b.get("id") not in SKIP_BEATS]
    chosen = [b for b in usable if b.get("id") in KEY_BEATS][: KEY_FRAMES[1]]
    for b in usable:  # fill up, evenly, from the rest
        if len(chosen) >= KEY_FRAMES[0]:
            break
        if b not in chosen:
            chosen.append(b)
    return sorted(chosen, key=lambda b: float(b["start_s"]))


def grab_frames(mp4: Path, times: list[float], width: int = 800) -> list[bytes | None]:
    """JPEG bytes of the frame shown at each time (seconds), decoded with PyAV; None where every
    frame near that time is blank (one entry per time, in order).

    JPEG, not PNG: the frames are decoded H.264 pictures (already lossy), a PDF embeds a JPEG
    as it is, and an optimised PNG of 12 frames took about half a handout's CPU (measured:
    0.46 of 1.48 s per handout, 27 handouts after every catalog build)."""
    import av
    from PIL import Image

    from pipeline.gallery import frame_is_blank

    found: list[bytes | None] = []
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        for t in times:
            image = None
            for attempt in (t, t - 1.0, t + 1.0):  # a fade may be blank: look a second away
                attempt = max(0.0, attempt)
                container.seek(int(attempt / stream.time_base), stream=stream, backward=True)  # type: ignore[operator]
                candidate = None
                for frame in container.decode(stream):
                    candidate = frame
                    if frame.time is not None and frame.time >= attempt:
                        break
                if candidate is None:
                    continue
                picture = candidate.to_image()
                if not frame_is_blank(picture):
                    image = picture
                    break
            if image is None:
                found.append(None)
                continue
            if image.width > width:
                image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            image.convert("RGB").save(buf, format="JPEG", quality=90)
            found.append(buf.getvalue())
    return found


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def handout_data(mp4: Path, brand: Brand | None = None, request: VideoRequest | None = None) -> dict[str, Any]:
    """Everything the handout shows, as plain data (also what the tests read)."""
    from spine.videos import resolve
    from voiceover.scripts import load_script, pick_variant

    sidecar_path = Path(mp4).with_suffix(".json")
    try:
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HandoutError(f"{sidecar_path.name} is missing or not JSON; render the video again") from exc
    lang = sidecar.get("lang") or "en"
    w = words_for(lang)
    beats = [b for b in sidecar.get("beats", []) if isinstance(b, dict)]
    by_id = {b["id"]: b for b in beats}

    if request is None:
        request = resolve(sidecar["video"], sidecar.get("level"), sidecar.get("side"))
    script = load_script(request.spec.script_name, lang).filled(request.script_context())
    technique = request.script_context().get("technique")
    screen = {k: pick_variant(v, technique) for k, v in (script.screen or {}).items()}

    chosen = key_beats(beats)
    times = [float(b["start_s"]) + 0.8 * (float(b["end_s"]) - float(b["start_s"])) for b in chosen]
    frames = grab_frames(Path(mp4), times)
    steps = [
        {
            "image": _data_uri(jpeg, "image/jpeg"),
            "sentence": (sentences(b["text"]) or [""])[0],
            "chapter": b.get("chapter", ""),
        }
        for jpeg, b in zip(frames, chosen, strict=True)
        if jpeg is not None
    ]

    def lines_of(ids: Iterable[str], first_only: bool = False) -> list[str]:
        out: list[str] = []
        for beat_id in ids:
            if beat_id in by_id:
                said = sentences(by_id[beat_id]["text"])
                out += said[:1] if first_only else said
        return out

    before = lines_of(BEFORE_BEATS)
    during = lines_of([b for b in DURING_BEATS if b not in [c["id"] for c in chosen]], first_only=True)[:4]
    after = []
    if isinstance(screen.get("relief"), str):
        after.append(screen["relief"].rstrip(".") + ".")
    if before or during or after:
        after.append(w["after_extra"])
    risks = list(screen["risks"]) if isinstance(screen.get("risks"), list) else []
    review = sidecar.get("review") or {}
    from pipeline.review import load_review

    review_line = review.get("line") or load_review(sidecar["video"]).line(lang)
    side = sidecar.get("side")
    return {
        "lang": lang,
        "title": sidecar.get("title") or script.title,
        "words": w,
        "level": sidecar.get("level"),
        "side": w["sides"].get(side, side) if side else None,
        "steps": steps,
        "before": before,
        "during": during,
        "after": after if (before or during) else [],
        "risks": [str(r).rstrip(".") + "." for r in risks],
        "questions": list(w["questions"]),
        "review_line": review_line,
        "education": w["education"],
        "file": Path(mp4).name,
        "brand": None
        if brand is None
        else {
            "name": brand.name,
            "physician": brand.physician,
            "contact": brand.contact,
            "primary": brand.colours.primary,
            "secondary": brand.colours.secondary,
            "logo": _data_uri(
                brand.logo.read_bytes(), "image/svg+xml" if brand.logo.suffix.lower() == ".svg" else "image/png"
            ),
        },
    }


def render_html(data: dict[str, Any], paper: str) -> str:
    from pipeline.templates import html_templates, inline

    return (
        html_templates()
        .get_template("handout.html.j2")
        .render(d=data, css=inline("handout.css"), page_size=PAPERS[paper])
    )


def write_handout(
    mp4: Path, paper: str = "a4", brand: Brand | None = None, request: VideoRequest | None = None
) -> Path:
    """Write ``<stem>.handout-<paper>.pdf`` beside ``mp4``; returns its path."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.INFO)  # WeasyPrint logs progress (its stylesheets load on import) at INFO
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    finally:
        logging.disable(previous)
    from pipeline.templates import TEMPLATES_DIR

    if paper not in PAPERS:
        raise HandoutError(f"unknown paper '{paper}'; papers: {', '.join(PAPERS)}")
    mp4 = Path(mp4)
    if not mp4.is_file():
        raise HandoutError(f"{mp4.name} is not built; render it first")
    html = render_html(handout_data(mp4, brand, request), paper)
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):  # their INFO lines would land on stdout
        logging.getLogger(name).setLevel(logging.ERROR)
    out = handout_path(mp4, paper)
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)  # WeasyPrint's progress lines, whichever handler Manim set up in this process
    try:
        with outputs.atomic_output(out) as tmp:
            pdf = HTML(
                string=html, base_url=str(TEMPLATES_DIR), url_fetcher=URLFetcher(allowed_protocols={"data"})
            ).write_pdf()
            tmp.write_bytes(pdf)  # everything is inlined (data: URIs): no network access
    finally:
        logging.disable(previous)
    return out


class CatalogHandouts:
    """The handouts of ``render.py all``, written beside the build instead of after it.

    Each built video's handout is started in one background thread as soon as the catalog
    reports the video built (:func:`pipeline.catalog.build_all`'s ``on_built``), while the
    workers still draw the others. Before, all of them were written one after another once the
    last video was done, with one core idle (about 30 s of a 27-video build on 2 cores).
    :meth:`finish` waits for them, then writes those of up-to-date videos whose handout is
    missing or older than the video.
    """

    def __init__(self, paper: str, brand: Brand | None = None) -> None:
        if paper != "none" and paper not in PAPERS:
            raise HandoutError(f"unknown paper '{paper}'; papers: {', '.join(PAPERS)}, none")
        self.paper, self.brand = paper, brand
        self._thread: Any = None
        self._started: dict[str, Any] = {}  # stem -> Future of the handout's path

    def video_built(self, job: Any) -> None:
        """Start writing ``job``'s handout (a :class:`pipeline.catalog.Job` whose video is built)."""
        if self.paper == "none":
            return
        from concurrent.futures import ThreadPoolExecutor

        from pipeline.options import output_paths

        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="handouts")
        mp4 = output_paths(job.request, job.options)["mp4"]
        self._started[job.stem] = self._thread.submit(write_handout, mp4, self.paper, self.brand, job.request)

    def finish(self, outcomes: Sequence[Any]) -> tuple[list[Path], list[str]]:
        """Every handout of the built and up-to-date videos ``outcomes`` (:class:`pipeline.catalog.Outcome`):
        the started ones waited for, the missing ones written. Returns (handouts written, problems),
        in the catalog's order; a problem is one line naming the handout."""
        from pipeline.options import output_paths

        written: list[Path] = []
        problems: list[str] = []
        try:
            for outcome in outcomes:
                if self.paper == "none" or outcome.status not in ("built", "skipped"):
                    continue
                mp4 = output_paths(outcome.job.request, outcome.job.options)["mp4"]
                pdf = handout_path(mp4, self.paper)
                started = self._started.get(outcome.job.stem)
                if started is None and outcome.status == "skipped" and _newer_than(pdf, mp4):
                    continue
                try:
                    if started is not None:
                        written.append(started.result())
                    else:
                        written.append(write_handout(mp4, self.paper, self.brand, outcome.job.request))
                except Exception as exc:  # noqa: BLE001 - the videos are built; report the handout on its own
                    problems.append(
                        f"handout {pdf.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                    )
        finally:
            self.stop()
        return written, problems

    def stop(self) -> None:
        """Drop the handouts not started; wait for the one being written (it is renamed into place whole)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None


def _newer_than(pdf: Path, mp4: Path) -> bool:
    return pdf.is_file() and pdf.stat().st_mtime >= mp4.stat().st_mtime
