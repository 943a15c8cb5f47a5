"""One error base: every error raised on purpose is a SpineError, caught once by the CLI.

Through the real CLI in a subprocess, on a copy of the project's files with one data file
damaged: a procedure data error, a plan error and a lexicon error are each one line naming the
file and the problem, exit status 2, no traceback. In-process: a fault of ours (an
InternalError) is one line with exit status 1, and SPINE_DEBUG=1 shows its traceback instead.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from spine.errors import InternalError, SpineError
from spine.settings import settings
from tests.conftest import ROOT, copy_project, restoring_edits, run_in_copy
from tests.conftest import one_error_line as one_line

PACKAGES = ("spine", "scenes", "voiceover", "pipeline")


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The project's source and data (no caches, outputs or git), to damage one file at a time."""
    return copy_project(tmp_path_factory.mktemp("errors") / "repo", "bench", "docs")


@pytest.fixture
def damage(copy):
    """damage(relative path, transform): change one file of the copy for one test."""
    with restoring_edits(copy) as change:
        yield change


def run_in(copy: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # the copy has no mesh cache of its own: share this checkout's (keyed by the geometry's hash)
    return run_in_copy(copy, *args, SPINE_ANATOMY_CACHE=str(settings().anatomy_dir()), **env)


def test_a_bad_procedure_data_file_is_one_line_naming_file_and_field(copy, damage):
    damage(
        "spine/procedures/data/facet-joint-injection.yaml",
        lambda t: re.sub(r"(?m)^(\s+)gauge: 22$", r"\1gauge: twenty-two", t, count=1),
    )
    proc = run_in(copy, "plan", "facet-joint-injection")
    assert proc.returncode == 2
    line = one_line(proc)
    assert line.startswith("Error: facet-joint-injection.yaml: ") and "gauge" in line, line


def test_a_plan_the_anatomy_cannot_satisfy_is_one_line_naming_the_file(copy, damage):
    # a caudal needle may not come in steeper than 1 degree: no path through the hiatus exists
    damage("spine/procedures/data/caudal-esi.yaml", lambda t: t.replace("entry_max_deg: 45", "entry_max_deg: 1", 1))
    proc = run_in(copy, "plan", "caudal-esi")
    assert proc.returncode == 2
    line = one_line(proc)
    assert line.startswith("Error: caudal-esi.yaml: technique 'sacral' at S5: no caudal path"), line
    assert "1 deg" in line


def test_a_plan_error_stops_a_render_before_anything_is_spoken(copy, damage, tmp_path):
    # the needle plan is part of the video's props, made before the narration
    damage("spine/procedures/data/caudal-esi.yaml", lambda t: t.replace("entry_max_deg: 45", "entry_max_deg: 1", 1))
    env_cache = tmp_path / "cache"
    proc = run_in(
        copy,
        *("render", "caudal-esi", "--quality", "preview", "--output-dir", str(tmp_path / "out")),
        SPINE_CACHE_DIR=str(env_cache),
    )
    assert proc.returncode == 2
    assert one_line(proc).startswith("Error: caudal-esi.yaml: technique 'sacral' at S5: no caudal path")
    assert not (env_cache / "speech").exists() and not list((tmp_path / "out").iterdir())


def test_a_bad_lexicon_is_one_line_before_anything_is_spoken(copy, damage, tmp_path):
    damage("voiceover/lexicon.yaml", lambda t: t.replace("en:\n", "en:\n  patterns: [oops\n", 1))
    proc = run_in(
        copy, "render", "overview", "--quality", "preview", "--voice", "piper", "--output-dir", str(tmp_path / "out")
    )
    assert proc.returncode == 2
    assert re.search(r"^Error: \S*lexicon\.yaml:\d+:\d+: not valid YAML", one_line(proc))
    assert not list((tmp_path / "out").iterdir())


def test_a_fault_of_ours_is_one_line_with_exit_1_and_its_traceback_on_request(monkeypatch, capsys):
    import pipeline.cli as cli

    def broken():
        raise InternalError("frames.mp4: 12 frames, the storyboard has 13")

    monkeypatch.setattr(cli, "all_videos", broken)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: frames.mp4: 12 frames") and "please report" in err[0]
    monkeypatch.setenv("SPINE_DEBUG", "1")
    with pytest.raises(InternalError):
        cli.main(["list"])


def _exception_classes() -> dict[str, list[str]]:
    """Every exception class the project defines: module:name -> its base names (from the source)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(b) for b in node.bases]
                    if any(b.endswith(("Error", "Exception", "Overrun", "Mismatch")) for b in bases):
                        found[f"{path.relative_to(ROOT)}:{node.name}"] = bases
    return found


def test_every_exception_class_is_a_spine_error():
    import importlib

    classes = _exception_classes()
    assert len(classes) >= 17, sorted(classes)
    not_ours = []
    for where, _ in classes.items():
        file, name = where.split(":")
        module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
        if not issubclass(getattr(module, name), SpineError):
            not_ours.append(where)
    assert not not_ours, f"exception classes outside SpineError: {not_ours}"


def test_a_failed_write_leaves_the_older_file_whole(tmp_path):
    from spine.atomic_files import atomic_write

    target = tmp_path / "captions.srt"
    atomic_write(target, "old\n")

    def half_then_fail(fh):
        fh.write(b"ne")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["captions.srt"]
    assert atomic_write(target, b"new\n").read_bytes() == b"new\n" and oct(target.stat().st_mode & 0o777) == "0o644"


def test_handout_words_are_checked_by_their_model(monkeypatch, tmp_path):
    import pipeline.handout as handout

    words = tmp_path / "handout_words.yaml"
    words.write_text(
        handout.WORDS_FILE.read_text(encoding="utf-8").replace('video_line: "Video: {file}"', 'video_line: "Video"', 1)
    )
    monkeypatch.setattr(handout, "WORDS_FILE", words)
    handout._all_words.cache_clear()
    try:
        with pytest.raises(handout.HandoutError, match=r"^handout_words\.yaml: en\.video_line: .*\{file\}"):
            handout.words_for("en")
    finally:
        handout._all_words.cache_clear()
