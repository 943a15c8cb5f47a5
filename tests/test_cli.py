"""The CLI as a user meets it: help everywhere, one-line errors with exit 2, output/ untouched."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, render_silent_preview, run_cli, snapshot

COMMANDS = ["list", "render", "doctor"]


def test_top_level_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert command in proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    proc = run_cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout


def test_list_json_names_videos_with_levels_and_defaults():
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert rows["overview"]["levels"] == [] and rows["overview"]["default_level"] is None
    atlas = rows["spine-atlas"]
    assert "L4-L5" in atlas["levels"] and "C7-T1" in atlas["levels"] and "L5-S1" in atlas["levels"]
    assert atlas["default_level"] in atlas["levels"]
    assert "en" in rows["overview"]["languages"]


BAD_INPUTS = [
    (["render", "no-such-video", "--quality", "preview"], ["overview", "spine-atlas"]),
    (["render", "spine-atlas", "--level", "L6", "--quality", "preview"], ["L4-L5"]),
    (["render", "spine-atlas", "--level", "L4-L6", "--quality", "preview"], ["adjacent"]),
    (["render", "spine-atlas", "--level", "banana", "--quality", "preview"], ["L4-L5"]),
    (["render", "overview", "--level", "L4-L5", "--quality", "preview"], ["no level"]),
    (["render", "overview", "--side", "left", "--quality", "preview"], ["no side"]),
    (["render", "overview", "--quality", "4k"], ["preview", "720p", "1080p", "1440p", "2160p"]),
    (["render", "overview", "--voice", "robot", "--quality", "preview"], ["piper", "espeak", "none"]),
    (["render", "overview", "--side", "middle", "--quality", "preview"], ["left", "right"]),
    (["render", "overview", "--lang", "xx", "--quality", "preview"], ["en"]),
]


@pytest.mark.parametrize("args,allowed", BAD_INPUTS, ids=[" ".join(a[:4]) for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_naming_allowed_values(args, allowed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.mp4").write_bytes(b"an earlier good video")
    before, repo_output_before = snapshot(out), snapshot(ROOT / "output")
    proc = run_cli(*args, "--output-dir", str(out))
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ")
    for value in allowed:
        assert value in lines[0], lines[0]
    assert snapshot(out) == before
    assert snapshot(ROOT / "output") == repo_output_before


def test_unwritable_output_directory_exits_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = render_silent_preview("overview", "--output-dir", str(blocker / "sub"))
    assert proc.returncode == 2, proc.stderr
    assert "--output-dir" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert blocker.read_text() == "not a directory"


def test_doctor_reports_every_check():
    proc = run_cli("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("ffmpeg", "PyAV", "Cairo", "Pango", "voice 'piper'", "voice 'espeak'"):
        assert name in proc.stdout
