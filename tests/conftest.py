"""Shared fixtures: the real CLI as a user runs it, and one real preview build per session."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Renders are compared frame by frame: processes this suite starts (render.py re-execs itself
# with the same setting; Dask workers of the cluster test are spawned from here) must share
# one string-hash seed, as render.py and the cluster workers of a real farm do.
os.environ["PYTHONHASHSEED"] = "0"
# pytest-xdist already runs one test per core: a render a test starts draws its beats in one
# process unless the test asks for -j (render -j N is tested on its own).
os.environ.setdefault("SPINE_RENDER_JOBS", "1")


def run_cli(*args: str, timeout: float = 1200, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python render.py ARGS`` in the repo, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "render.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def snapshot(directory: Path) -> dict[str, str]:
    """name -> sha256 of every file below ``directory`` (to prove nothing changed)."""
    out = {}
    if directory.exists():
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                out[str(path.relative_to(directory))] = hashlib.sha256(path.read_bytes()).hexdigest()
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
