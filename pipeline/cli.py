"""The ``render.py`` command line: list, render, doctor (and more as the project grows).

Every user mistake ends in one line on stderr, ``Error: <what was wrong>; <what is
allowed>``, and exit status 2, before anything under ``output/`` is touched.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

import click

from pipeline.quality import DEFAULT_QUALITY, QUALITIES
from spine.errors import InternalError, SpineError, one_line, shorten
from spine.settings import settings, settings_or_defaults
from spine.videos import SIDES, all_videos

if TYPE_CHECKING:
    from pipeline.brand import Brand
    from pipeline.catalog import Outcome
    from pipeline.handout import CatalogHandouts
    from spine.procedures.planner import NeedlePlan

VOICES = ("piper", "espeak", "none")

Command = TypeVar("Command", bound=Callable[..., Any])


# -- options that several commands share: one place says what each kind of value is ------------
def file_option(*names: str, help: str, exists: bool = False) -> Callable[[Command], Command]:
    """An option naming one file (a Path, not a folder); ``None`` when not given."""
    return click.option(*names, type=click.Path(exists=exists, dir_okay=False, path_type=Path), default=None, help=help)


def folder_option(*names: str, help: str, exists: bool = False) -> Callable[[Command], Command]:
    """An option naming one folder (a Path, not a file); ``None`` when not given."""
    return click.option(
        *names, type=click.Path(exists=exists, file_okay=False, path_type=Path), default=None, help=help
    )


def voice_option(help: str, default: str | None = "piper") -> Callable[[Command], Command]:
    """``--voice``: one of VOICES."""
    return click.option(
        "--voice", type=click.Choice(VOICES), default=default, show_default=default is not None, help=help
    )


def brand_option(fn: Command) -> Command:
    return file_option(
        "--brand",
        "brand_file",
        help="Brand profile YAML (logo, colours, clinic name, contact); "
        "e.g. assets/brands/example/brand.yaml. Default: the neutral look.",
    )(fn)


def reviews_option(fn: Command) -> Command:
    def use(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
        if value is not None:
            import os

            os.environ["SPINE_REVIEWS_DIR"] = str(
                value
            )  # the setting: workers and child processes read the same records
        return value

    return click.option(
        "--reviews-dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        expose_value=False,
        callback=use,
        is_eager=True,
        help="Folder of medical-review records <video>.yaml (default: spine/reviews).",
    )(fn)


class FiniteFloatRange(click.FloatRange):
    """A float range that refuses nan (which passes every comparison) and ±inf with the range named."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx) if not isinstance(value, float) else value
        if not math.isfinite(number):
            self.fail(f"{shorten(value)} is not a finite number; allowed: {self._describe_range()}", param, ctx)
        return super().convert(number, param, ctx)


class QualityChoice(click.Choice):
    """The qualities known when the value is read (an extension may have added some)."""

    def __init__(self) -> None:
        super().__init__(list(QUALITIES))

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        self.choices = tuple(QUALITIES)
        return super().convert(value, param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Render narrated, anatomically correct videos about spinal injections.

    \b
    Examples:
      python render.py list
      python render.py render overview --quality preview
      python render.py render spine-atlas --level C7-T1 --quality 720p
      python render.py doctor
      python render.py plan transforaminal-esi --level L5-S1 --side left
    """
    from pipeline.cluster import load_plugins, plugins_from_env

    load_plugins(plugins_from_env())  # extensions (SPINE_CATALOG_PLUGINS) may add qualities and videos


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reviews_option
def list_videos(as_json: bool) -> None:
    """List every video with its allowed levels, sides and defaults."""
    from pipeline.review import load_review
    from voiceover.scripts import available_languages

    rows: list[dict[str, Any]] = []
    for spec in all_videos().values():
        rows.append(
            {
                "name": spec.name,
                "title": spec.title,
                "summary": spec.summary,
                "procedure": spec.procedure,
                "levels": list(spec.levels),
                "sides": list(spec.sides),
                "default_level": spec.default_level,
                "default_side": spec.default_side,
                "languages": available_languages(spec.script_name),
                "review": load_review(spec.name).status(),
            }
        )
    from spine.videos import data_problem

    data_error = data_problem()
    if data_error is not None:  # the other videos are still listed; the broken file is named
        click.echo(f"Warning: procedure videos left out: {one_line(data_error)}", err=True)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']}: {row['title']}")
        click.echo(f"    {row['summary']}")
        if row["levels"]:
            levels = row["levels"] if len(row["levels"]) <= 12 else row["levels"][:6] + ["…"] + row["levels"][-3:]
            click.echo(f"    levels: {', '.join(levels)} (default {row['default_level']})")
        if row["sides"]:
            click.echo(f"    sides: {', '.join(row['sides'])} (default {row['default_side']})")
        click.echo(f"    languages: {', '.join(row['languages'])}")
        late = " (OVERDUE)" if row["review"]["overdue"] else ""
        click.echo(f"    review: {row['review']['line']}{late}")


@cli.command()
@click.argument("name")
@click.option("--level", help="Vertebra or interspace, e.g. L4-L5, L4/5, C7-T1 (see `list`).")
@click.option("--side", type=click.Choice(SIDES), help="Side of the body, where the video has one.")
@click.option(
    "--quality",
    type=QualityChoice(),
    default=DEFAULT_QUALITY,
    show_default=True,
    help="preview is 854x480 at 15 fps; the others are 30 fps.",
)
@voice_option(
    "piper (neural: the bundled English voice, or --voice-model), espeak (espeak-ng, many "
    "languages) or none (silent draft). Default: piper where a Piper voice speaks the language, "
    "else espeak.",
    default=None,
)
@file_option("--voice-model", help="An installed Piper voice (.onnx, with its .onnx.json beside it) for --voice piper.")
@file_option(
    "--config",
    "config_file",
    help="A YAML file whose 'voices:' names a Piper model per language, and 'describer:' the "
    "described version's voice per language (see README).",
)
@click.option(
    "--described",
    is_flag=True,
    help="Also write the audio-described version (<stem>-described.mp4, its captions and descriptions).",
)
@click.option(
    "--describer-voice",
    type=click.Choice(["piper", "espeak"]),
    default=None,
    help="The second voice that reads the descriptions (--described). Default: espeak-ng's different-"
    "sounding variant, or piper when a second Piper voice is given.",
)
@file_option(
    "--describer-voice-model",
    help="An installed Piper voice (.onnx + .onnx.json) for the describer, unlike the narrator's.",
)
@click.option("--lang", default="en", show_default=True, help="Narration language (a script must exist).")
@click.option(
    "--loudness",
    type=FiniteFloatRange(-36, -10),
    default=settings_or_defaults().loudness_lufs,
    show_default=True,
    help="Integrated loudness target in LUFS (-16 web, -23 EBU R128 broadcast).",
)
@file_option("--music", exists=True, help="Music bed under the narration (ducked under speech).")
@click.option("--burn-captions", is_flag=True, help="Also burn the captions into the picture.")
@folder_option(
    "--recordings-dir",
    exists=True,
    help="Human narration: <dir>/<video>/<beat-id>.<wav|mp3|…> replaces that beat's synthesised speech "
    "(default: assets/voiceover).",
)
@folder_option("--output-dir", help="Where the MP4, captions and sidecar go (default: output/).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--jobs",
    "-j",
    "jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes drawing the beats at once (default: SPINE_RENDER_JOBS, else the CPUs over the "
    "encoder's threads: one process on 2 cores); the frames are the same for any number.",
)
@brand_option
@reviews_option
def render(
    name: str,
    level: str | None,
    side: str | None,
    quality: str,
    voice: str | None,
    voice_model: Path | None,
    config_file: Path | None,
    described: bool,
    describer_voice: str | None,
    describer_voice_model: Path | None,
    lang: str,
    loudness: float,
    music: Path | None,
    burn_captions: bool,
    recordings_dir: Path | None,
    output_dir: Path | None,
    quiet: bool,
    jobs: int | None,
    brand_file: Path | None,
) -> None:
    """Render one video NAME (see `list`) to output/<name>-<level>-<side>-<quality>.mp4."""
    from pipeline.build import build_video
    from pipeline.options import DEFAULT_OUTPUT_DIR, BuildOptions
    from pipeline.catalog import resolve_video
    from pipeline.outputs import ensure_writable_dir
    from voiceover.scripts import load_script

    request = resolve_video(name, level, side)
    if not request.spec.renderable():
        from spine.videos import RequestError

        ready = ", ".join(n for n, spec in all_videos().items() if spec.renderable())
        raise RequestError(
            f"'{name}' cannot be rendered yet: its scene ({request.spec.scene}) is not written; "
            f"videos that render: {ready} (its plan and still frames work)"
        )
    load_script(request.spec.script_name, lang)  # fail early on a missing translation
    from pipeline.brand import load_brand
    from pipeline.review import load_review

    brand = load_brand(brand_file)  # a bad profile stops here, before anything is written
    load_review(request.name)  # so does a bad review record
    out_dir = ensure_writable_dir(output_dir or DEFAULT_OUTPUT_DIR)
    from voiceover.voices import choose_voice

    voice, voice_model = choose_voice(voice, voice_model, lang, config_file)  # checks an installed model first
    if (describer_voice or describer_voice_model) and not described:
        from spine.errors import RequestError

        raise RequestError(
            "--describer-voice and --describer-voice-model choose the described version's voice; add --described"
        )
    from voiceover.speech import choose_describer

    describer_voice, describer_voice_model = choose_describer(
        describer_voice, describer_voice_model, lang, voice, voice_model, config_file
    )  # checked before drawing
    options = BuildOptions(
        quality=quality,
        voice=voice,
        lang=lang,
        output_dir=out_dir,
        loudness_lufs=loudness,
        music=music,
        burn_captions=burn_captions,
        brand=brand,
        described=described,
        voice_model=voice_model,
        describer_voice=describer_voice,
        describer_model=describer_voice_model,
    )
    if recordings_dir is not None:
        options = dataclasses.replace(options, recordings_dir=recordings_dir)
    progress = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    from pipeline.media import default_render_jobs
    from spine.settings import settings

    result = build_video(request, options, progress, workers=jobs or settings().render_jobs or default_render_jobs())
    if not quiet:
        click.echo(str(result.video))


@cli.command()
@reviews_option
def doctor() -> None:
    """Check the environment (ffmpeg/PyAV, Cairo/Pango, fonts, voices) and the medical reviews.

    Exit 1 if something is missing or a video's review is overdue."""
    from pipeline.doctor import run_checks
    from pipeline.review import overdue_reviews

    problems = 0
    checks = list(run_checks()) + [(f"review of {name}", why) for name, why in overdue_reviews(all_videos())]
    for name, problem in checks:
        if problem is None:
            click.echo(f"ok       {name}")
        else:
            problems += 1
            click.echo(f"MISSING  {name}: {problem}")
    if problems:
        click.echo(f"{problems} problem(s); 'make video' installs everything on Debian.", err=True)
        sys.exit(1)
    click.echo("everything needed is here")


@cli.command()
@folder_option("--output-dir", help="The folder with manifest.json and the videos (default: output/).")
@brand_option
def gallery(output_dir: Path | None, brand_file: Path | None) -> None:
    """Write output/index.html: every built video with poster, captions, chapters, filters and search."""
    from pipeline.options import DEFAULT_OUTPUT_DIR
    from pipeline.gallery import write_gallery

    page = write_gallery(output_dir or DEFAULT_OUTPUT_DIR, _gallery_brand(brand_file))
    click.echo(str(page))
    overdue = _overdue_in_gallery(output_dir or DEFAULT_OUTPUT_DIR)
    if overdue:
        click.echo(f"medical review overdue: {', '.join(overdue)}", err=True)


def _gallery_brand(brand_file: Path | None) -> Brand | None:
    from pipeline.brand import load_brand

    return load_brand(brand_file)


def _overdue_in_gallery(output_dir: Path) -> list[str]:
    from pipeline.gallery import collect_reviews

    return [name for name, late in collect_reviews(output_dir) if late]


@cli.command()
@folder_option("--output-dir", help="The folder to check (default: output/).")
def verify(output_dir: Path | None) -> None:
    """Check every video against its sidecar's sha256 and the manifest; exit 1 naming each mismatch."""
    from pipeline.options import DEFAULT_OUTPUT_DIR
    from pipeline.outputs import OutputError, verify_outputs

    directory = Path(output_dir or DEFAULT_OUTPUT_DIR)
    if not directory.is_dir():
        raise OutputError(f"output directory '{shorten(directory, 120)}' does not exist; name one with --output-dir")
    problems, checked = verify_outputs(directory)
    for line in problems:
        click.echo(f"MISMATCH {line}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {checked} video(s); render them again to replace them", err=True)
        sys.exit(1)
    click.echo(f"{checked} video(s) in {directory}: every file matches its sidecar and the manifest")


@cli.command("all")
@click.option(
    "--quality", default=DEFAULT_QUALITY, show_default=True, metavar="Q", help=f"One of {', '.join(QUALITIES)}."
)
@click.option(
    "-j", "--jobs", "workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per CPU)."
)
@click.option("--only", multiple=True, metavar="NAME", help="Build only these videos (name or file stem; repeatable).")
@file_option("--catalog", help="The variants file (default: catalog.yaml).")
@voice_option("Voice of the entries that do not name one.")
@click.option("--cluster", metavar="ADDRESS", help="Build on a Dask cluster, e.g. tcp://render-farm:8786 (see README).")
@folder_option("--output-dir", help="Where the videos go (default: output/).")
@folder_option("--cache-dir", help="Speech, beat segments and logs (default: .cache/).")
@click.option("--force", is_flag=True, help="Rebuild up-to-date videos too (cached beats are still reused).")
@click.option("--no-gallery", is_flag=True, help="Do not write output/index.html afterwards.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary and errors.")
@click.option(
    "--described", is_flag=True, help="Also write each video's audio-described version (the gallery offers it)."
)
@click.option(
    "--handouts",
    "handout_paper",
    type=click.Choice(["a4", "letter", "none"]),
    default="a4",
    show_default=True,
    help="Write each video's printable handout beside it on this paper (none: no handouts).",
)
@brand_option
@reviews_option
def build_all_videos(
    no_gallery: bool,
    handout_paper: str,
    brand_file: Path | None,
    output_dir: Path | None,
    quiet: bool,
    **run_options: Any,
) -> None:
    """Build every video of the catalog (defaults + catalog.yaml); skip what is up to date."""
    from pipeline.brand import load_brand
    from pipeline.catalog import run_all, summary_table
    from pipeline.handout import CatalogHandouts

    brand = load_brand(brand_file)
    handouts = CatalogHandouts(handout_paper, brand)  # each written as soon as its video is built
    try:
        # the other options (quality, jobs, only, catalog, voice, cluster, cache dir, force, described) go to run_all as named
        outcomes, gallery_error = run_all(
            output_dir=output_dir, quiet=quiet, gallery=False, brand=brand, on_built=handouts.video_built, **run_options
        )
    except BaseException:  # Ctrl-C, a refused catalog: the handout being written is finished, no other starts
        handouts.stop()
        raise
    if any(o.status == "interrupted" for o in outcomes):
        handouts.stop()
    else:
        gallery_error = _publish_after_all(outcomes, handouts, brand, output_dir, no_gallery, quiet)
    click.echo(summary_table(outcomes))
    if any(o.status == "interrupted" for o in outcomes):
        raise KeyboardInterrupt
    failed = [o for o in outcomes if o.status == "failed"]
    if failed or gallery_error:
        problems = [f"{len(failed)} of {len(outcomes)} video(s) failed (logs in the table)"] if failed else []
        raise click.ClickException("; ".join(problems + ([gallery_error] if gallery_error else [])))


def _publish_after_all(
    outcomes: list[Outcome],
    handouts: CatalogHandouts,
    brand: Brand | None,
    output_dir: Path | None,
    no_gallery: bool,
    quiet: bool,
) -> str | None:
    """After ``all``: a handout beside every video built or up to date (those of the built
    videos were started while the others built), then the gallery (with the brand)."""
    from pipeline.options import DEFAULT_OUTPUT_DIR

    written, problems = handouts.finish(outcomes)
    if not quiet:
        for pdf in written:
            click.echo(f"handout: {pdf.name}", err=True)
    if not no_gallery:
        from pipeline.freshness import gallery_is_current, record_gallery

        out = output_dir or DEFAULT_OUTPUT_DIR
        try:
            if gallery_is_current(out, brand):  # nothing it shows changed: not written again
                if not quiet:
                    click.echo(f"gallery: {Path(out) / 'index.html'} (up to date)", err=True)
                return "; ".join(problems) or None
            from pipeline.gallery import write_gallery

            page = write_gallery(out, brand)
            record_gallery(out, brand)
            if not quiet:
                click.echo(f"gallery: {page}", err=True)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"gallery: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return "; ".join(problems) or None


@cli.command()
@click.argument("name")
@click.option("--level", help="Vertebra or interspace (default: the video's default level).")
@click.option("--view", type=click.Choice(["ap", "lateral", "oblique"]), required=True, help="C-arm view.")
@click.option(
    "--oblique-deg", type=float, default=None, help="Oblique angle in degrees (oblique view only; default 30)."
)
@click.option(
    "--tilt-deg", type=float, default=0.0, show_default=True, help="Cranial (+) or caudal (-) tilt, within ±45."
)
@click.option("--side", type=click.Choice(SIDES), default=None, help="Side of the target (default: the video's).")
@click.option("--size", type=click.IntRange(16, 4096), default=512, show_default=True, help="Image size in pixels.")
@file_option("--out", help="PNG to write (default: output/<name>-<level>-<view>.png).")
def still(
    name: str,
    level: str | None,
    view: str,
    oblique_deg: float | None,
    tilt_deg: float,
    side: str | None,
    size: int,
    out: Path | None,
) -> None:
    """Write one simulated fluoroscopy frame of video NAME's level as a PNG.

    For a procedure video the validated needle of its plan is in the image.
    """
    from pipeline.options import DEFAULT_OUTPUT_DIR
    from pipeline.outputs import ensure_writable_dir
    from spine.videos import resolve
    from spine.imaging.still import render_still

    request = resolve(name, level, side)
    chosen_level = request.level or "L4-L5"
    if out is None:
        out = ensure_writable_dir(DEFAULT_OUTPUT_DIR) / f"{name}-{chosen_level}-{view}.png"
    else:
        ensure_writable_dir(out.parent if str(out.parent) else Path("."))
    needle = None
    if request.spec.procedure:
        from spine.imaging import Needle
        from spine.procedures.planner import plan_needle

        plan = plan_needle(request.spec.procedure, chosen_level, request.side or "right")
        needle = Needle.from_gauge(plan.entry, plan.tip, 22)
    # a view, angle or size out of range is a RequestError from the imaging code: one line, exit 2
    path = render_still(
        chosen_level,
        view,
        oblique_deg=oblique_deg,
        tilt_deg=tilt_deg,
        size=size,
        out=out,
        side=request.side or "right",
        needle=needle,
        marker=True,
    )
    click.echo(str(path))


@cli.command()
@click.argument("name")
@click.option("--level", help="Vertebra or interspace (default: the procedure's default level).")
@click.option("--side", type=click.Choice(SIDES), default=None, help="Side (default: the procedure's).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(name: str, level: str | None, side: str | None, as_json: bool) -> None:
    """Print procedure NAME's validated needle plan (no rendering).

    Entry, stops, tip, target landmark, root treated and every check with its measured
    margin. Exit 2 for a level or side the procedure is never done at, 1 if a check fails.
    """
    from spine.errors import RequestError
    from spine.videos import resolve
    from spine.procedures.catalog import procedure
    from spine.procedures.planner import build_plan

    proc = procedure(name)
    request = resolve(name, level, side)
    if request.level is None:  # resolve gives a procedure video its level (a midline one no side)
        raise RequestError(f"video {name!r} has no level to plan for")
    result = build_plan(proc.name, request.level, request.side)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in _plan_lines(result):
            click.echo(line)
    if not result.passed:
        failed = sum(not c.passed for c in result.checks)
        click.echo(f"{failed} check(s) failed: this plan is not drawn", err=True)
        sys.exit(1)


def _plan_lines(result: NeedlePlan) -> list[str]:
    def pt(p: Iterable[float]) -> str:
        return "(" + ", ".join(f"{v:7.1f}" for v in p) + ")"

    side = f", {result.side}" if result.side else ""
    lines = [
        f"{result.procedure} at {result.level}{side} -- technique {result.technique}, approach {result.approach}",
        f"root treated: {result.root}; nerves: {result.nerves}",
        "coordinates in mm: x = patient's left, y = posterior, z = superior",
    ]
    for needle in result.needles:
        lines.append(
            f"{needle.label}: {needle.length():.1f} mm from skin to tip; target {needle.target} "
            f"at {needle.target_level}"
        )
        lines.append(f"  entry   {pt(needle.entry)}")
        for w in needle.waypoints[1:]:
            lines.append(f"  {w.kind:<24} {pt(w.point)}  {w.label}")
        lines.append(f"  tip     {pt(needle.tip)}")
        if needle.lead:
            lines.append(f"  lead tip {pt(needle.lead[-1])}")
        angles = ", ".join(f"{k} {v:.1f}" for k, v in needle.angles.items())
        lines.append(f"  angles: {angles}")
    lines.append("checks:")
    lines.extend("  " + c.describe() for c in result.checks)
    passed = sum(c.passed for c in result.checks)
    lines.append(f"{passed} of {len(result.checks)} checks passed")
    return lines


# -- publishing: handouts and the waiting-room loop ---------------------------------------------
@cli.command()
@click.argument("name")
@click.option("--level", help="Vertebra or interspace (default: the video's default level).")
@click.option("--side", type=click.Choice(SIDES), default=None, help="Side (default: the video's).")
@click.option("--lang", default="en", show_default=True, help="Language (the video's narration language).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size.")
@click.option(
    "--quality",
    type=QualityChoice(),
    default="preview",
    show_default=True,
    help="Quality to render at if the video is not built yet (a built one of any quality is used).",
)
@voice_option("Voice to render with if the video is not built yet.")
@folder_option("--output-dir", help="Where the videos are and the PDF goes (default: output/).")
@brand_option
@reviews_option
def handout(
    name: str,
    level: str | None,
    side: str | None,
    lang: str,
    paper: str,
    quality: str,
    voice: str,
    output_dir: Path | None,
    brand_file: Path | None,
) -> None:
    """Write the printable handout (PDF) of video NAME beside its MP4: key frames, before/during/after,
    risks, questions to ask, the review line. Renders the video first if it is not built."""
    from pipeline.brand import load_brand
    from pipeline.build import build_video
    from pipeline.options import DEFAULT_OUTPUT_DIR, BuildOptions, output_paths
    from pipeline.handout import write_handout
    from pipeline.outputs import ensure_writable_dir
    from spine.videos import resolve
    from voiceover.scripts import load_script

    request = resolve(name, level, side)
    load_script(request.spec.script_name, lang)
    brand = load_brand(brand_file)
    out_dir = ensure_writable_dir(output_dir or DEFAULT_OUTPUT_DIR)
    built = [
        output_paths(request, BuildOptions(quality=q, lang=lang, output_dir=out_dir, brand=brand))["mp4"]
        for q in sorted(QUALITIES, key=lambda q: -QUALITIES[q].height)
    ]
    mp4 = next((p for p in built if p.is_file() and p.with_suffix(".json").is_file()), None)
    if mp4 is None:
        click.echo(f"{name}: not built yet; rendering it at {quality} first", err=True)
        options = BuildOptions(quality=quality, voice=voice, lang=lang, output_dir=out_dir, brand=brand)
        mp4 = build_video(request, options, lambda msg: click.echo(msg, err=True)).video
    click.echo(str(write_handout(mp4, paper, brand, request)))


@cli.command()
@click.option(
    "--only",
    multiple=True,
    required=True,
    metavar="NAME",
    help="A video (name or file stem) to include, in order; repeatable. It must be built already.",
)
@click.option(
    "--quality",
    default=DEFAULT_QUALITY,
    show_default=True,
    metavar="Q",
    help=f"Quality of the videos to join (names are looked up at this quality): {', '.join(QUALITIES)}.",
)
@click.option("--lang", default="en", show_default=True, help="Language of the videos to join.")
@folder_option("--output-dir", help="Where the videos are and the loop goes (default: output/).")
@brand_option
def loop(only: tuple[str, ...], quality: str, lang: str, output_dir: Path | None, brand_file: Path | None) -> None:
    """Join built videos, each after a short branded card, into one waiting-room MP4 (not re-encoded)."""
    from pipeline.brand import load_brand
    from pipeline.options import DEFAULT_OUTPUT_DIR
    from pipeline.loop import make_loop

    from pipeline.cluster import load_plugins, plugins_from_env
    from pipeline.loop import LoopError

    load_plugins(plugins_from_env())  # extensions may add qualities and videos, as for `all`
    if quality not in QUALITIES:
        raise LoopError(f"unknown quality '{quality}'; qualities: {', '.join(QUALITIES)}")
    brand = load_brand(brand_file)
    wanted = [w.strip() for item in only for w in item.split(",") if w.strip()]
    path = make_loop(
        output_dir or DEFAULT_OUTPUT_DIR, wanted, quality, brand, lang, lambda msg: click.echo(msg, err=True)
    )
    click.echo(str(path))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every SpineError is caught here, once: one line, its exit code (2, or 1 for a fault of ours)."""
    try:
        settings()  # a bad SPINE_* variable is one line before anything runs
        cli.main(args=argv, prog_name="render.py", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # pragma: no cover - click >= 8.2
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click.UsageError as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        return 2
    except click.Abort:
        click.echo("Aborted; nothing under output/ was changed by the unfinished build.", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        return exc.exit_code
    except SpineError as exc:  # every error raised on purpose: one line, its exit code (2: the user can fix it)
        if settings_or_defaults().debug:
            raise
        hint = " (a fault of this program, not of the request: please report this line; SPINE_DEBUG=1 shows where)"
        click.echo(f"Error: {one_line(exc)}{hint if isinstance(exc, InternalError) else ''}", err=True)
        return exc.exit_code
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # name the output the file becomes, not its place in the scratch folder of the set
        shown = re.sub(r"/\.partial-set-[^/]+/(\.older/)?", "/", str(exc.filename)) if exc.filename else ""
        where = f" writing {shown}" if shown else ""
        click.echo(
            f"Error: no space left on the device{where}; free some space and run again "
            "(the outputs already in place are unchanged)",
            err=True,
        )
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted; nothing under output/ was changed by the unfinished build.", err=True)
        return 130
    return 0
