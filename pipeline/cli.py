"""The ``render.py`` command line: list, render, doctor (and more as the project grows).

Every user mistake ends in one line on stderr, ``Error: <what was wrong>; <what is
allowed>``, and exit status 2, before anything under ``output/`` is touched.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from pipeline.quality import DEFAULT_QUALITY, QUALITIES
from spine.videos import SIDES, all_videos

VOICES = ("piper", "espeak", "none")
USER_ERRORS: tuple[type[BaseException], ...] = ()


def _user_errors() -> tuple[type[BaseException], ...]:
    from pipeline.outputs import OutputError
    from spine.videos import RequestError
    from voiceover.scripts import ScriptError
    from voiceover.speech import NarrationError
    from pipeline.catalog import CatalogError
    from pipeline.cluster import ClusterError

    return (RequestError, OutputError, ScriptError, NarrationError, CatalogError, ClusterError)


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


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_videos(as_json: bool) -> None:
    """List every video with its allowed levels, sides and defaults."""
    from voiceover.scripts import available_languages

    rows = []
    for spec in all_videos().values():
        rows.append({
            "name": spec.name, "title": spec.title, "summary": spec.summary,
            "procedure": spec.procedure,
            "levels": list(spec.levels), "sides": list(spec.sides),
            "default_level": spec.default_level, "default_side": spec.default_side,
            "languages": available_languages(spec.script_name),
        })
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


@cli.command()
@click.argument("name")
@click.option("--level", help="Vertebra or interspace, e.g. L4-L5, L4/5, C7-T1 (see `list`).")
@click.option("--side", type=click.Choice(SIDES), help="Side of the body, where the video has one.")
@click.option("--quality", type=click.Choice(list(QUALITIES)), default=DEFAULT_QUALITY, show_default=True,
              help="preview is 854x480 at 15 fps; the others are 30 fps.")
@click.option("--voice", type=click.Choice(VOICES), default=None,
              help="piper (neural: the bundled English voice, or --voice-model), espeak (espeak-ng, many "
                   "languages) or none (silent draft). Default: piper where a Piper voice speaks the language, "
                   "else espeak.")
@click.option("--voice-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An installed Piper voice (.onnx, with its .onnx.json beside it) for --voice piper.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A YAML file whose 'voices:' names a Piper model per language (see README).")
@click.option("--described", is_flag=True,
              help="Also write the audio-described version (<stem>-described.mp4, its captions and descriptions).")
@click.option("--lang", default="en", show_default=True, help="Narration language (a script must exist).")
@click.option("--loudness", type=click.FloatRange(-36, -10), default=-16.0, show_default=True,
              help="Integrated loudness target in LUFS (-16 web, -23 EBU R128 broadcast).")
@click.option("--music", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Music bed under the narration (ducked under speech).")
@click.option("--burn-captions", is_flag=True, help="Also burn the captions into the picture.")
@click.option("--recordings-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Human narration: <dir>/<video>/<beat-id>.<wav|mp3|…> replaces that beat's synthesised speech "
                   "(default: assets/voiceover).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the MP4, captions and sidecar go (default: output/).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def render(name, level, side, quality, voice, voice_model, config_file, described, lang, loudness, music,
           burn_captions, recordings_dir, output_dir, quiet) -> None:
    """Render one video NAME (see `list`) to output/<name>-<level>-<side>-<quality>.mp4."""
    from pipeline.build import DEFAULT_OUTPUT_DIR, BuildOptions, build_video
    from pipeline.outputs import ensure_writable_dir
    from spine.videos import resolve
    from voiceover.scripts import load_script

    request = resolve(name, level, side)
    if not request.spec.renderable():
        from spine.videos import RequestError

        ready = ", ".join(n for n, spec in all_videos().items() if spec.renderable())
        raise RequestError(f"'{name}' cannot be rendered yet: its scene ({request.spec.scene}) is not written; "
                           f"videos that render: {ready} (its plan and still frames work)")
    load_script(request.spec.script_name, lang)  # fail early on a missing translation
    out_dir = ensure_writable_dir(output_dir or DEFAULT_OUTPUT_DIR)
    from voiceover.voices import choose_voice

    voice, voice_model = choose_voice(voice, voice_model, lang, config_file)  # checks an installed model first
    options = BuildOptions(quality=quality, voice=voice, lang=lang, output_dir=out_dir,
                           loudness_lufs=loudness, music=music, burn_captions=burn_captions,
                           described=described, voice_model=voice_model)
    if recordings_dir is not None:
        options = dataclasses.replace(options, recordings_dir=recordings_dir)
    progress = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    result = build_video(request, options, progress)
    if not quiet:
        click.echo(str(result.video))


@cli.command()
def doctor() -> None:
    """Check the environment: ffmpeg/PyAV, Cairo/Pango, fonts, voices. Exit 1 if something is missing."""
    from pipeline.doctor import run_checks

    problems = 0
    for name, problem in run_checks():
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
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The folder with manifest.json and the videos (default: output/).")
def gallery(output_dir) -> None:
    """Write output/index.html: every built video with poster, captions, chapters, filters and search."""
    from pipeline.build import DEFAULT_OUTPUT_DIR
    from pipeline.gallery import GalleryError, write_gallery

    try:
        page = write_gallery(output_dir or DEFAULT_OUTPUT_DIR)
    except GalleryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(page))


@cli.command("all")
@click.option("--quality", default=DEFAULT_QUALITY, show_default=True, metavar="Q",
              help=f"One of {', '.join(QUALITIES)}.")
@click.option("-j", "--jobs", "workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per CPU).")
@click.option("--only", multiple=True, metavar="NAME", help="Build only these videos (name or file stem; repeatable).")
@click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The variants file (default: catalog.yaml).")
@click.option("--voice", type=click.Choice(VOICES), default="piper", show_default=True,
              help="Voice of the entries that do not name one.")
@click.option("--cluster", metavar="ADDRESS", help="Build on a Dask cluster, e.g. tcp://render-farm:8786 (see README).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the videos go (default: output/).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Speech, beat segments and logs (default: .cache/).")
@click.option("--force", is_flag=True, help="Rebuild up-to-date videos too (cached beats are still reused).")
@click.option("--no-gallery", is_flag=True, help="Do not write output/index.html afterwards.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary and errors.")
def build_all_videos(quality, workers, only, catalog, voice, cluster, output_dir, cache_dir, force, no_gallery, quiet) -> None:
    """Build every video of the catalog (defaults + catalog.yaml); skip what is up to date."""
    from pipeline.catalog import run_all, summary_table

    outcomes, gallery_error = run_all(quality=quality, workers=workers, only=only, catalog=catalog, voice=voice,
                                      cluster=cluster, output_dir=output_dir, cache_dir=cache_dir, force=force,
                                      gallery=not no_gallery, quiet=quiet)
    click.echo(summary_table(outcomes))
    if any(o.status == "interrupted" for o in outcomes):
        raise KeyboardInterrupt
    failed = [o for o in outcomes if o.status == "failed"]
    if failed or gallery_error:
        problems = [f"{len(failed)} of {len(outcomes)} video(s) failed (logs in the table)"] if failed else []
        raise click.ClickException("; ".join(problems + ([gallery_error] if gallery_error else [])))


@cli.command()
@click.argument("name")
@click.option("--level", help="Vertebra or interspace (default: the video's default level).")
@click.option("--view", type=click.Choice(["ap", "lateral", "oblique"]), required=True, help="C-arm view.")
@click.option("--oblique-deg", type=float, default=None, help="Oblique angle in degrees (oblique view only; default 30).")
@click.option("--tilt-deg", type=float, default=0.0, show_default=True, help="Cranial (+) or caudal (-) tilt, within ±45.")
@click.option("--side", type=click.Choice(SIDES), default=None, help="Side of the target (default: the video's).")
@click.option("--size", type=click.IntRange(16, 4096), default=512, show_default=True, help="Image size in pixels.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write (default: output/<name>-<level>-<view>.png).")
def still(name, level, view, oblique_deg, tilt_deg, side, size, out) -> None:
    """Write one simulated fluoroscopy frame of video NAME's level as a PNG.

    For a procedure video the validated needle of its plan is in the image.
    """
    from pipeline.build import DEFAULT_OUTPUT_DIR
    from pipeline.outputs import ensure_writable_dir
    from spine.videos import RequestError, resolve
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
    try:
        path = render_still(chosen_level, view, oblique_deg=oblique_deg, tilt_deg=tilt_deg, size=size, out=out,
                            side=request.side or "right", needle=needle)
    except ValueError as exc:
        raise RequestError(str(exc).splitlines()[0]) from exc
    click.echo(str(path))


@cli.command()
@click.argument("name")
@click.option("--level", help="Vertebra or interspace (default: the procedure's default level).")
@click.option("--side", type=click.Choice(SIDES), default=None, help="Side (default: the procedure's).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(name, level, side, as_json) -> None:
    """Print procedure NAME's validated needle plan (no rendering).

    Entry, stops, tip, target landmark, root treated and every check with its measured
    margin. Exit 2 for a level or side the procedure is never done at, 1 if a check fails.
    """
    from spine.videos import resolve
    from spine.procedures.catalog import procedure
    from spine.procedures.planner import build_plan

    proc = procedure(name)
    request = resolve(name, level, side)
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


def _plan_lines(result) -> list[str]:
    def pt(p) -> str:
        return "(" + ", ".join(f"{v:7.1f}" for v in p) + ")"

    side = f", {result.side}" if result.side else ""
    lines = [f"{result.procedure} at {result.level}{side} -- technique {result.technique}, "
             f"approach {result.approach}",
             f"root treated: {result.root}; nerves: {result.nerves}",
             "coordinates in mm: x = patient's left, y = posterior, z = superior"]
    for needle in result.needles:
        lines.append(f"{needle.label}: {needle.length():.1f} mm from skin to tip; target {needle.target} "
                     f"at {needle.target_level}")
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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one line and exit 2."""
    try:
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
    except _user_errors() as exc:
        click.echo(f"Error: {str(exc).splitlines()[0]}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("Interrupted; nothing under output/ was changed by the unfinished build.", err=True)
        return 130
    return 0
