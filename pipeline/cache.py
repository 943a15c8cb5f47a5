"""The render cache: beat segments, their indexes, checkpoints, scratch folders and pruning.

Each beat's frames are a cached H.264 segment (``<cache>/segments/<key>.mp4``, with a
checksum), keyed by :func:`pipeline.freshness.beat_key`. An index (``segments/index``)
lists the keys of every beat of one storyboard; a suffix list (``segments/suffix``) the keys
from a beat to the end for a pass that reached it in a given state; a checkpoint
(``<cache>/checkpoints``) the scene's state at a beat boundary. Scratch folders live under
``<cache>/work`` and are swept when their process is gone. :func:`prune_cache` keeps the
segments and checkpoints under the configured limit, least recently used first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from spine import checked_files
from spine.atomic_files import atomic_write
from spine.settings import Settings

from pipeline.freshness import SEGMENT_FORMAT, beat_fields, render_context_token, storyboard_token
from pipeline.outputs import pid_alive

if TYPE_CHECKING:
    from scenes.storyboard import Storyboard
    from spine.videos import VideoRequest


SEGMENTS_DIR = "segments"
CHECKPOINTS_DIR = "checkpoints"
WORK_DIR = "work"  # per-task scratch folders (Manim's media, the mix, the mux): <cache>/work/<kind>-<pid>-<random>
# The segment and checkpoint cache is pruned to this many bytes after a build (least recently
# used first; nothing the build just used). SPINE_CACHE_LIMIT overrides it ("500M", "4G"; "0": no pruning).
CACHE_LIMIT_BYTES = Settings.model_fields["cache_limit"].default
CACHE_LIMIT_ENV = "SPINE_CACHE_LIMIT"


def segment_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / SEGMENTS_DIR


def segment_path(cache_dir: Path, key: str) -> Path:
    return segment_dir(cache_dir) / f"{key}.mp4"


def segment_ok(cache_dir: Path, key: str) -> bool:
    """The segment is cached and matches its checksum (a damaged one is reported and removed)."""
    return checked_files.verify(segment_path(cache_dir, key))


def _index_path(cache_dir: Path, request: VideoRequest, storyboard: Storyboard, quality: str) -> Path:
    token = hashlib.sha256(
        json.dumps([SEGMENT_FORMAT, render_context_token(request, quality), storyboard_token(storyboard)]).encode()
    ).hexdigest()
    return segment_dir(cache_dir) / "index" / f"{token[:40]}.json"


def read_index(cache_dir: Path, request: VideoRequest, storyboard: Storyboard, quality: str) -> list[str] | None:
    """The beat keys recorded for exactly this storyboard, if every segment is still cached."""
    try:
        keys = json.loads(_index_path(cache_dir, request, storyboard, quality).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(keys, list) or len(keys) != len(storyboard.beats):
        return None
    if not all(isinstance(k, str) and segment_ok(cache_dir, k) for k in keys):
        return None
    return keys


def write_index(
    cache_dir: Path, request: VideoRequest, storyboard: Storyboard, quality: str, keys: Sequence[str]
) -> None:
    path = _index_path(cache_dir, request, storyboard, quality)
    atomic_write(path, json.dumps(list(keys)).encode())


def store_segment(cache_dir: Path, key: str, data: bytes) -> Path:
    """Put a segment received from elsewhere (e.g. a cluster worker) into the cache."""
    path = segment_path(cache_dir, key)
    if not checked_files.verify(path):
        checked_files.write_entry(path, data)
    return path


def checkpoint_path(cache_dir: Path, token: str) -> Path:
    return Path(cache_dir) / CHECKPOINTS_DIR / f"{token}.pkl"


def suffix_path(cache_dir: Path, context_token: str, storyboard: Storyboard, index: int, state: str) -> Path:
    """Where the keys of beats ``index..`` are kept, for a pass reaching ``index`` in ``state``."""
    blob = json.dumps([SEGMENT_FORMAT, context_token, index, state, [beat_fields(b) for b in storyboard.beats[index:]]])
    return segment_dir(cache_dir) / "suffix" / f"{hashlib.sha256(blob.encode()).hexdigest()[:40]}.json"


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def sweep_stale_temporaries(cache_dir: Path) -> None:
    """Remove cache temporaries left by killed processes (their pid is no longer running)."""
    base = segment_dir(cache_dir)
    folders = (base, base / "index", base / "suffix", Path(cache_dir) / CHECKPOINTS_DIR)
    for tmp in [t for folder in folders if folder.is_dir() for t in folder.glob(".tmp-*")]:
        try:
            pid = int(tmp.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if not pid_alive(pid):
            with contextlib.suppress(OSError):
                tmp.unlink()


@contextlib.contextmanager
def work_dir(cache_dir: Path, kind: str) -> Iterator[Path]:
    """A scratch folder under ``<cache>/work`` named after this process; removed on the way out.

    A process killed outright (SIGKILL) cannot remove it; :func:`sweep_stale_work_dirs`
    does, in the next run, once no process of that pid is running.
    """
    base = Path(cache_dir) / WORK_DIR
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_stale_work_dirs(cache_dir: Path) -> list[Path]:
    """Remove the scratch folders of processes that are gone; returns what was removed."""
    base = Path(cache_dir) / WORK_DIR
    removed = []
    for path in base.iterdir() if base.is_dir() else ():
        parts = path.name.split("-")
        try:
            pid = int(parts[-2])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def cache_limit() -> int:
    from spine.settings import settings

    return settings().cache_limit  # CACHE_LIMIT_ENV (default CACHE_LIMIT_BYTES)


def touch(paths: Iterable[Path]) -> None:
    """Mark cache entries as used now (pruning removes the least recently used first)."""
    for path in paths:
        with contextlib.suppress(OSError):
            os.utime(path)


def prune_cache(cache_dir: Path, limit: int, keep_since: float | None = None) -> tuple[int, int]:
    """Remove the least recently used segments and checkpoints until they take <= ``limit`` bytes.

    Entries used (or made) at or after ``keep_since`` (a time.time()) are kept whatever the
    size: a build never loses what it just used. Beat indexes and suffix lists that name a
    removed segment go too (they would only be skipped). Returns (files removed, bytes freed).
    """
    entries = []
    for folder, pattern in ((segment_dir(cache_dir), "*.mp4"), (Path(cache_dir) / CHECKPOINTS_DIR, "*.pkl")):
        for path in folder.glob(pattern) if folder.is_dir() else ():
            with contextlib.suppress(OSError):
                st = path.stat()
                entries.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    removed = freed = 0
    gone: set[str] = set()
    for mtime, size, path in sorted(entries, key=lambda e: (e[0], str(e[2]))):
        if total <= limit:
            break
        if keep_since is not None and mtime >= keep_since:
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            checked_files.remove(path)
            total -= size
            freed += size
            removed += 1
            if path.suffix == ".mp4":
                gone.add(path.stem)
    if gone:
        for listing in list(segment_dir(cache_dir).glob("index/*.json")) + list(
            segment_dir(cache_dir).glob("suffix/*.json")
        ):
            keys = read_json(listing)
            if not isinstance(keys, list) or gone.intersection(k for k in keys if isinstance(k, str)):
                with contextlib.suppress(OSError):
                    listing.unlink()
    return removed, freed
