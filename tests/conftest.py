"""Shared fixtures: the real CLI as a user runs it, and one real preview build per session."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Renders are compared frame by frame: processes this suite starts (render.py re-execs itself
# with the same setting; Dask workers of the cluster test are spawned from here) must share
# one string-hash seed, as render.py and the cluster workers of a real farm do.
os.environ["PYTHONHASHSEED"] = "0"
# pytest-xdist already runs one test per core: a render a test starts draws its beats in one
# process unless the test asks for -j (render -j N is tested on its own).
os.environ.setdefault("SPINE_RENDER_JOBS", "1")
# One fluoroscopy image cache for the whole run (all test processes: xdist's workers inherit the
# variable from the controller, which made the folder and removes it at exit). An image is keyed
# by the model's geometry, the pose and the size, so the renders of many tests share their x-rays
# instead of each projecting them again into its own --cache-dir. A test of that cache's own
# files sets its own folder (tests/test_faults.py, tests/test_settings.py).
if not (os.environ.get("SPINE_FLUORO_CACHE_DIR") or os.environ.get("FLUORO_CACHE_DIR")):
    _SHARED_FLUORO = tempfile.mkdtemp(prefix="spine-tests-fluoro-")
    os.environ["SPINE_FLUORO_CACHE_DIR"] = _SHARED_FLUORO
    atexit.register(shutil.rmtree, _SHARED_FLUORO, True)


def run_render_py(
    root: Path, *args: str, timeout: float = 1200, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python <root>/render.py ARGS`` in ``root`` with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, str(root / "render.py"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_cli(*args: str, timeout: float = 1200, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python render.py ARGS`` in the repo, as a user would."""
    return run_render_py(ROOT, *args, timeout=timeout, env=env)


TEST_PLUGIN = ROOT / "tests" / "test_catalog_plugin.py"  # adds the tiny "test" quality and test videos


def run_all_at_test_quality(
    catalog: Path, out: Path, cache: Path, *args: str, voice: str = "espeak", timeout: float = 600
) -> subprocess.CompletedProcess:
    """``render.py all --quality test`` (the test plugin's tiny quality) on ``catalog``, without the gallery."""
    return run_cli(
        *("all", "--quality", "test", "--voice", voice, "--no-gallery", "--catalog", str(catalog)),
        *("--output-dir", str(out), "--cache-dir", str(cache), *args),
        timeout=timeout,
        env={"SPINE_CATALOG_PLUGINS": str(TEST_PLUGIN)},
    )


def render_silent_preview(video: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """``render.py render VIDEO --quality preview --voice none ARGS``: the cheapest real build (no speech)."""
    return run_cli("render", video, "--quality", "preview", "--voice", "none", *args, **kwargs)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (and no traceback)."""
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    return lines[0]


def copy_project(target: Path, *leave_out: str) -> Path:
    """The project's source and data at ``target`` (no git, caches, outputs or videos), to damage files in."""
    ignore = (".git", ".cache", "output", "media", "__pycache__", ".venv", "node_modules", ".pytest_cache", "*.mp4")
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*ignore, *leave_out))
    return target


def run_in_copy(copy: Path, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """Run ``python render.py ARGS`` in a copy of the project (its own code first on the path), with ``env`` added."""
    return run_render_py(copy, *args, timeout=timeout, env={"PYTHONPATH": str(copy), "PYTHONHASHSEED": "0", **env})


@contextlib.contextmanager
def restoring_edits(root: Path) -> Iterator[Callable[[str, Callable[[str], str]], Path]]:
    """``edit(relative path, transform)`` changes a file below ``root`` to ``transform(its text)``;
    every file changed is put back as it was on the way out (for fixtures over a copied project)."""
    saved: dict[Path, str] = {}

    def edit(relative: str, transform: Callable[[str], str]) -> Path:
        path = root / relative
        saved.setdefault(path, path.read_text(encoding="utf-8"))
        path.write_text(transform(saved[path]), encoding="utf-8")
        return path

    try:
        yield edit
    finally:
        for path, text in saved.items():
            path.write_text(text, encoding="utf-8")


# -- what a player sees in a file, read with the ffmpeg tools (independent of the pipeline's PyAV) --
def ffprobe_json(path: Path, *show: str) -> dict[str, Any]:
    """ffprobe's JSON of ``path``; ``show`` names what, e.g. "-show_streams", "-show_chapters", "-count_frames"."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *show, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def ffmpeg(*args: str, loglevel: str = "error") -> subprocess.CompletedProcess[bytes]:
    """``ffmpeg -v LOGLEVEL ARGS``, which must succeed; its stdout and stderr as bytes."""
    return subprocess.run(["ffmpeg", "-v", loglevel, *args], capture_output=True, check=True)


def ffmpeg_stdout(*args: str) -> bytes:
    """What ``ffmpeg -v error ARGS`` writes on stdout (the args end with an output of "-")."""
    return ffmpeg(*args).stdout


def audio_md5(path: Path) -> str:
    """The md5 of ``path``'s audio stream as stored (not decoded)."""
    return ffmpeg_stdout("-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-").decode().strip()


def snapshot(directory: Path) -> dict[str, str]:
    """name -> sha256 of every file below ``directory`` (to prove nothing changed)."""
    out = {}
    if directory.exists():
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                out[str(path.relative_to(directory))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


#: the longest a picture may stand still (the issue: something meaningful changes every 4-6 s)
LONGEST_STILL_S = 6.0


def still_stretches(mp4: Path, longer_than: float) -> list[tuple[float, float]]:
    """(start, end) seconds of every stretch longer than ``longer_than`` where no frame differs
    from the stretch's first frame in more than 0.05 % of its pixels (by more than 8 grey
    levels: a still picture decodes to the same pixels, and at 192x108 a pulse or a glow that
    swells changes only a few dozen pixels by 10-35 levels): the picture stands still.

    Blind spot: a key frame (one starts every animation's movie) refreshes about 1 % of the
    pixels by up to 19 levels at 192x108, which counts as a change here, so a still stretch made
    of several waits can pass (README, the render's speed: seven such stretches were found)."""
    import av
    import numpy as np

    out, ref, start, fps, i = [], None, 0, 10.0, 0
    with av.open(str(mp4)) as box:
        stream = box.streams.video[0]
        fps = float(stream.average_rate)
        for i, frame in enumerate(box.decode(stream)):
            grey = frame.to_ndarray(format="gray").astype(np.int16)
            if ref is None:
                ref = grey
                continue
            if (np.abs(grey - ref) > 8).mean() > 0.0005:
                if (i - start) / fps > longer_than:
                    out.append((start / fps, i / fps))
                ref, start = grey, i
    if (i + 1 - start) / fps > longer_than:
        out.append((start / fps, (i + 1) / fps))
    return out


@pytest.fixture(scope="session")
def preview_build(tmp_path_factory) -> Path:
    """An output dir holding the overview rendered at preview quality with the piper voice."""
    out = tmp_path_factory.mktemp("preview-build")
    proc = run_cli("render", "overview", "--quality", "preview", "--output-dir", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="session", autouse=True)
def _manim_media_per_worker(tmp_path_factory):
    """Manim writes the SVG of every Text to ``<media_dir>/texts/<hash>.svg``; two pytest-xdist
    workers writing and reading the same file at once read a half-written one. Each worker gets
    its own media folder (the CLI's renders run in their own processes and folders anyway)."""
    try:
        from manim import config
    except ImportError:  # pragma: no cover - manim is a dependency
        yield
        return
    before = config.media_dir
    config.media_dir = str(tmp_path_factory.mktemp("manim-media"))
    yield
    config.media_dir = before


def pytest_addoption(parser):
    parser.addoption(
        "--update-controls",
        action="store_true",
        default=False,
        help="rewrite the control images under tests/control_data/ from this run (then review "
        "and commit them); without it a missing control image is a failure",
    )


@pytest.fixture
def update_controls(request) -> bool:
    """True when the run was asked to rewrite the control images (``--update-controls``)."""
    return bool(request.config.getoption("--update-controls"))
