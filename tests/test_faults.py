"""Nothing silently wrong: damaged caches, a full disk, a lost manifest and bad input files.

Every test reproduces a defect of issue 18. The renders are of ``faults-test`` (three beats at
the 192x108, 10 fps "test" quality, spoken by piper, with one fluoroscopy shot: see
``tests/faults_plugin.py``), run in-process by ``tests/faults_run.py`` exactly as
``render.py render`` runs. One clean render is made per module; each fault test copies its
cache, damages it and renders again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from pipeline.media import frame_md5s
from tests.conftest import audio_md5

pytestmark = pytest.mark.render
RUNNER = ROOT / "tests" / "faults_run.py"
STEM = "faults-test-test"


def run_faults(*args: str, cache: Path, root: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess:
    """``render.py ARGS`` with the fault test video known, caching in ``cache`` (all caches)."""
    env = dict(os.environ, SPINE_CACHE_DIR=str(cache), PYTHONPATH=str(root), PYTHONHASHSEED="0")
    env.pop("FLUORO_CACHE_DIR", None)
    env.pop("SPINE_FLUORO_CACHE_DIR", None)  # the suite's shared image cache: this test damages its own
    return subprocess.run(
        [sys.executable, str(root / "tests" / "faults_run.py"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def render(out: Path, cache: Path, *extra: str, root: Path = ROOT) -> subprocess.CompletedProcess:
    return run_faults(
        "render", "faults-test", "--quality", "test", "--output-dir", str(out), *extra, cache=cache, root=root
    )


def one_line(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (and no traceback)."""
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    return lines[0]


def flip_bytes(path: Path, count: int = 8) -> None:
    """Invert ``count`` bytes in the middle of ``path`` (same size, other content)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(len(data), middle + count)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """One cold render of the fault video: its cache, its outputs, its frames' and sound's MD5s."""
    base = tmp_path_factory.mktemp("faults-clean")
    proc = render(base / "out", base / "cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    mp4 = base / "out" / f"{STEM}.mp4"
    return {"cache": base / "cache", "out": base / "out", "frames": frame_md5s(mp4), "audio": audio_md5(mp4)}


def copy_of(clean: dict, tmp_path: Path) -> tuple[Path, Path]:
    cache, out = tmp_path / "cache", tmp_path / "out"
    shutil.copytree(clean["cache"], cache, ignore=shutil.ignore_patterns("work"))
    shutil.copytree(clean["out"], out)
    return cache, out


# ---------------------------------------------------------------------------------------
# Caches: a damaged entry is said in one line, rebuilt, and the video is the same
# ---------------------------------------------------------------------------------------


def _drop(cache: Path, *names: str) -> None:
    for name in names:
        shutil.rmtree(cache / name, ignore_errors=True)


def _damage(kind: str, cache: Path) -> Path:
    """Flip bytes in one cache entry of ``kind``; drop what would hide it from the next render."""
    if kind == "segment":
        entry = sorted((cache / "segments").glob("*.mp4"))[0]
    elif kind == "speech":
        entry = max((cache / "speech").rglob("*.wav"), key=lambda p: p.stat().st_size)
    elif kind == "checkpoint":
        entry = sorted((cache / "checkpoints").glob("*.pkl"))[0]
        # The beats from the checkpoint on must be drawn again, the ones before stay cached:
        # then the next render would start from the checkpoint, so it reads it.
        first = _first_beat_segment(cache)
        for segment in (cache / "segments").glob("*.mp4"):
            if segment.name != first:
                segment.unlink()
        _drop(cache, "segments/index", "segments/suffix")
    elif kind == "fluoro":
        entry = sorted((cache / "fluoro").glob("*.npy"))[0]
        _drop(cache, "segments", "checkpoints")  # every beat is drawn again: the image is read
    else:
        raise AssertionError(kind)
    flip_bytes(entry)
    return entry


@pytest.mark.parametrize("kind", ["segment", "speech", "checkpoint", "fluoro"])
def test_damaged_cache_entry_is_reported_and_rebuilt(clean, tmp_path, kind):
    cache, _ = copy_of(clean, tmp_path)
    entry = _damage(kind, cache)
    out = tmp_path / "new"
    proc = render(out, cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = [line for line in proc.stderr.splitlines() if str(entry) in line]
    assert len(said) == 1 and "damaged" in said[0] and "rebuilding" in said[0], proc.stderr[-3000:]
    mp4 = out / f"{STEM}.mp4"
    assert frame_md5s(mp4) == clean["frames"]
    assert audio_md5(mp4) == clean["audio"]
    if kind != "segment":  # (a segment redrawn after a checkpoint may be kept under another key)
        assert entry.is_file() and entry.read_bytes() != b"", "the entry was rebuilt"


def _first_beat_segment(cache: Path) -> str:
    """The segment file of the first beat (from the recorded beat index)."""
    [index] = list((cache / "segments" / "index").glob("*.json"))
    return json.loads(index.read_text())[0] + ".mp4"


def test_two_cold_renders_in_separate_caches_are_identical(clean, tmp_path):
    """Piper's speech and the frames do not depend on what a cache held before."""
    proc = render(tmp_path / "out", tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    mp4 = tmp_path / "out" / f"{STEM}.mp4"
    assert frame_md5s(mp4) == clean["frames"]
    assert audio_md5(mp4) == clean["audio"]
    decoded = [
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(p), "-map", "0:a", "-f", "md5", "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for p in (mp4, clean["out"] / f"{STEM}.mp4")
    ]
    assert decoded[0] == decoded[1]
    speech = {p.name: p.read_bytes() for p in (tmp_path / "cache" / "speech").rglob("*.wav")}
    assert speech and speech == {p.name: p.read_bytes() for p in (clean["cache"] / "speech").rglob("*.wav")}


# ---------------------------------------------------------------------------------------
# Outputs: all or nothing; the manifest never forgets; verify
# ---------------------------------------------------------------------------------------


def test_full_disk_at_every_write_step_leaves_the_older_set_whole(clean, tmp_path):
    cache, out = copy_of(clean, tmp_path)
    proc = run_faults(
        "--enospc-sweep",
        str(out),
        "render",
        "faults-test",
        "--quality",
        "test",
        "--output-dir",
        str(out),
        "--loudness",
        "-20",
        "--quiet",
        cache=cache,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    failed = [r for r in runs if r["failed"]]
    steps = {r["failed"].split()[0] for r in failed}
    assert {"mux", "rename", "link", "open"} <= steps, steps
    assert len(failed) >= 10
    for run in failed:
        assert run["code"] == 1, run
        assert len(run["stderr"].strip().splitlines()) == 1 and "no space left" in run["stderr"], run
        assert "Traceback" not in run["stderr"]
        assert run["unchanged"], f"the older set changed when {run['failed']} failed"
        assert not run["leftovers"], run
    assert runs[-1]["code"] == 0 and not runs[-1]["unchanged"], runs[-1]
    verify = run_cli("verify", "--output-dir", str(out))
    assert verify.returncode == 0, verify.stderr


def _add_older_video(out: Path, stem: str) -> dict:
    """Another video's set in ``out`` (a copy of the clean one under another name)."""
    for ext in ("mp4", "srt", "vtt"):
        shutil.copy2(out / f"{STEM}.{ext}", out / f"{stem}.{ext}")
    sidecar = json.loads((out / f"{STEM}.json").read_text())
    sidecar.update(file=f"{stem}.mp4", video=stem, captions={"srt": f"{stem}.srt", "vtt": f"{stem}.vtt"})
    (out / f"{stem}.json").write_text(json.dumps(sidecar))
    return sidecar


def test_unreadable_manifest_is_kept_aside_and_rebuilt_from_the_sidecars(clean, tmp_path):
    from pipeline.outputs import manifest_entry

    cache, out = copy_of(clean, tmp_path)
    older = [_add_older_video(out, name) for name in ("older-a-test", "older-b-test", "older-c-test")]
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["videos"] += [manifest_entry(s) for s in older]
    text = json.dumps(manifest, indent=2)
    (out / "manifest.json").write_text(text[: len(text) // 2])  # truncated
    proc = render(out, cache, "--loudness", "-20")
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(v["file"] for v in json.loads((out / "manifest.json").read_text())["videos"])
    assert files == sorted([f"{STEM}.mp4"] + [s["file"] for s in older])
    kept = list(out.glob("manifest.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == text[: len(text) // 2]
    said = [line for line in proc.stderr.splitlines() if "manifest.json" in line]
    assert len(said) == 1 and "rebuilt" in said[0] and kept[0].name in said[0], proc.stderr
    assert run_cli("verify", "--output-dir", str(out)).returncode == 0


def test_verify_finds_a_flipped_byte_and_names_the_file(clean, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(clean["out"], out)
    ok = run_cli("verify", "--output-dir", str(out))
    assert ok.returncode == 0, ok.stderr
    flip_bytes(out / f"{STEM}.mp4", 1)
    bad = run_cli("verify", "--output-dir", str(out))
    assert bad.returncode == 1
    assert f"{STEM}.mp4" in bad.stderr and "sha256" in bad.stderr
    assert "Traceback" not in bad.stderr
    shutil.copy2(clean["out"] / f"{STEM}.mp4", out / f"{STEM}.mp4")
    srt = out / f"{STEM}.srt"
    srt.write_text(srt.read_text().replace("A short test.", "A short tesT."))
    bad = run_cli("verify", "--output-dir", str(out))
    assert bad.returncode == 1 and f"{STEM}.srt" in bad.stderr and f"{STEM}.mp4" not in bad.stderr, bad.stderr


# ---------------------------------------------------------------------------------------
# Bad values and bad files: one line, exit 2
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_loudness_must_be_a_finite_number(value, tmp_path):
    proc = run_cli(
        "render",
        "overview",
        "--quality",
        "preview",
        "--voice",
        "none",
        f"--loudness={value}",
        "--output-dir",
        str(tmp_path),
    )
    assert proc.returncode == 2
    line = one_line(proc)
    assert "finite" in line and "-36" in line
    assert not list(tmp_path.iterdir())


def test_a_level_of_thousands_of_digits_is_refused_and_not_echoed_whole(tmp_path):
    proc = run_cli("render", "spine-atlas", "--level", "L" + "4" * 5000, "--output-dir", str(tmp_path))
    assert proc.returncode == 2
    line = one_line(proc)
    assert len(line) < 400 and "5001 characters" in line and "C1" in line


def test_music_that_is_not_audio_is_refused_before_anything_is_drawn(clean, tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("these are not sounds\n" * 50)
    cache, _ = copy_of(clean, tmp_path)
    _drop(cache, "segments")
    proc = render(tmp_path / "new", cache, "--music", str(text))
    assert proc.returncode == 2
    line = one_line(proc)
    assert "notes.wav" in line and "not an audio file" in line
    assert not (cache / "segments").exists(), "frames were drawn before the music was checked"


def test_unwritable_cache_dir_is_one_line(tmp_path):
    proc = run_cli(
        "all",
        "--quality",
        "preview",
        "--only",
        "overview",
        "--cache-dir",
        "/proc/spine-cache",
        "--output-dir",
        str(tmp_path / "out"),
        "--no-gallery",
    )
    assert proc.returncode == 2
    line = one_line(proc)
    assert "/proc/spine-cache" in line and "--cache-dir" in line


def test_cluster_address_that_cannot_work_fails_quickly_naming_it(tmp_path):
    started = time.monotonic()
    proc = run_cli(
        "all",
        "--quality",
        "preview",
        "--only",
        "overview",
        "--cluster",
        "garbage://x",
        "--output-dir",
        str(tmp_path / "out"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-gallery",
    )
    assert time.monotonic() - started < 10
    assert proc.returncode == 2
    assert "garbage://x" in one_line(proc)


def test_catalog_file_that_is_not_yaml_names_line_and_column(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("variants:\n  - video: overview\n    level: [L4\n")
    proc = run_cli("all", "--quality", "preview", "--catalog", str(catalog), "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert re.search(r"catalog\.yaml:\d+:\d+: not readable YAML", one_line(proc))


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The project's files (no caches, outputs or git), to damage data files in."""
    copy = tmp_path_factory.mktemp("repo") / "repo"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".cache", "output", "__pycache__", ".venv", "node_modules", ".pytest_cache", "*.mp4"
        ),
    )
    return copy


def run_in(copy: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONHASHSEED="0")
    return subprocess.run(
        [sys.executable, str(copy / "render.py"), *args], cwd=copy, capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture
def edit(repo_copy):
    """edit(relative path, new text): change a file of the copy for one test."""
    saved: dict[Path, str] = {}

    def change(relative: str, transform) -> Path:
        path = repo_copy / relative
        saved.setdefault(path, path.read_text(encoding="utf-8"))
        path.write_text(transform(saved[path]), encoding="utf-8")
        return path

    yield change
    for path, text in saved.items():
        path.write_text(text, encoding="utf-8")


def test_procedure_data_error_is_one_line_and_leaves_list_and_the_overview(repo_copy, edit, tmp_path):
    edit("spine/procedures/data/caudal-esi.yaml", lambda t: 'title: "unclosed\n' + t)
    plan = run_in(repo_copy, "plan", "caudal-esi")
    assert plan.returncode == 2
    assert re.search(r"caudal-esi\.yaml:\d+:\d+: not valid YAML", one_line(plan))
    render_proc = run_in(repo_copy, "render", "caudal-esi", "--quality", "preview", "--output-dir", str(tmp_path))
    assert render_proc.returncode == 2 and "caudal-esi.yaml" in one_line(render_proc)
    listing = run_in(repo_copy, "list", "--json")
    assert listing.returncode == 0, listing.stderr
    names = [v["name"] for v in json.loads(listing.stdout)]
    assert "overview" in names and "spine-atlas" in names
    assert "caudal-esi.yaml" in one_line(listing)
    # the overview is still a video that renders (checked up to its first real step: the loudness)
    overview = run_in(repo_copy, "render", "overview", "--loudness", "nan", "--output-dir", str(tmp_path))
    assert overview.returncode == 2 and "finite" in one_line(overview)


def test_procedure_rule_error_is_one_line(repo_copy, edit):
    edit("spine/procedures/data/caudal-esi.yaml", lambda t: re.sub(r"(?m)^default_level: .*$", "default_level: L9", t))
    proc = run_in(repo_copy, "plan", "caudal-esi")
    assert proc.returncode == 2
    assert "caudal-esi.yaml" in one_line(proc)


LEXICON = "voiceover/lexicon.yaml"


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda t: t.replace("en:\n", "en:\n  patterns: [oops\n", 1), [r"lexicon\.yaml:\d+:\d+", "not valid YAML"]),
        (
            lambda t: t.replace(r"match: '\b([CTLS])(\d{1,2})\s?", r"match: '\b([CTLS](\d{1,2})\s?", 1),
            ["level-range", "not a valid regular expression"],
        ),
        (lambda t: t.replace(r"say: '\1\2 \3\4'", r"say: '\1\2 \3\9'", 1), ["level-range", "group"]),
        (lambda t: "", ["lexicon.yaml", "empty"]),
        (lambda t: "# nothing but a comment\n", ["lexicon.yaml", "empty"]),
        # a misspelt key was ignored (the word went to the engine as written), whichever language
        (lambda t: t.replace("{written: AP, say:", "{written: AP, sya:", 1), ["es word 1", "sya", "allowed: written"]),
    ],
    ids=["bad-yaml", "bad-regex", "bad-group", "empty", "comment-only", "misspelt-key"],
)
def test_lexicon_errors_are_one_line(repo_copy, edit, tmp_path, damage, words):
    edit(LEXICON, damage)
    proc = render(tmp_path / "out", tmp_path / "cache", "--voice", "piper", root=repo_copy)
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = one_line(proc)
    for word in words:
        assert re.search(word, line), line
    assert not (tmp_path / "cache" / "segments").exists()


def test_narration_with_an_unbalanced_brace_names_the_beat(repo_copy, edit, tmp_path):
    edit("voiceover/scripts/en/overview.yaml", lambda t: t.replace("What they are", "What {they are", 1))
    proc = run_in(
        repo_copy, "render", "overview", "--quality", "preview", "--voice", "none", "--output-dir", str(tmp_path)
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = one_line(proc)
    assert "overview.yaml" in line and "beat '" in line and "brace" in line


def test_narration_script_that_is_not_yaml_names_line_and_column(repo_copy, edit, tmp_path):
    edit("voiceover/scripts/en/overview.yaml", lambda t: t + "\n  - id: [broken\n")
    proc = run_in(
        repo_copy, "render", "overview", "--quality", "preview", "--voice", "none", "--output-dir", str(tmp_path)
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert re.search(r"overview\.yaml:\d+:\d+: not valid YAML", one_line(proc))


# ---------------------------------------------------------------------------------------
# A killed worker
# ---------------------------------------------------------------------------------------


def test_killing_a_worker_leaves_no_leaked_semaphore_warning(tmp_path):
    from tests.test_catalog import run_all

    proc = run_all(tmp_path, "-j", "1", popen=True, env={"SPINE_TEST_BEAT_SLEEP": "1.5"})
    try:
        worker = None
        deadline = time.monotonic() + 60
        while worker is None and time.monotonic() < deadline:
            time.sleep(0.5)
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
            for pid in children:
                try:  # a short-lived child (a tool's version check) may be gone by now
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if "spawn_main" in cmd:
                    worker = int(pid)
        assert worker is not None, "no worker process started"
        log = tmp_path / "cache" / "logs" / "catalog-test-test.log"
        while time.monotonic() < deadline and "frames 2/5" not in (log.read_text() if log.is_file() else ""):
            time.sleep(0.3)  # the worker is drawing: it has made whatever locks it makes
        os.kill(worker, 9)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert "killed by signal 9" in stderr
    assert "leaked" not in stderr and "resource_tracker" not in stderr, stderr[-2000:]
