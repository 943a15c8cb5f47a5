"""What the benchmarks share: a median of timed runs, and a snapshot of the repository to run in."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def median_times(fn, repeats: int) -> tuple[float, float]:
    """Medians of the wall time and of the process's CPU time (all its threads) of ``repeats``
    calls of ``fn``: on a shared machine the CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def snapshot(dest: Path, worktree: bool) -> Path:
    """A copy of the repository to benchmark: HEAD, or the working tree (tracked and new files)."""
    dest.mkdir(parents=True)
    if worktree:
        files = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split("\n")
        for name in filter(None, files):
            source = ROOT / name
            if source.is_file() and not name.startswith("output/"):
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
    else:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest
