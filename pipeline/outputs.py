"""Output files: atomic writes, sidecars and the manifest.

Nothing under ``output/`` is ever half-written: every file is produced under a
temporary name (outside ``output/`` when the filesystem allows, otherwise a hidden
``.partial-*`` name that a later run sweeps) and renamed into place in one step. A failed
or interrupted build therefore leaves the previous good file untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

MANIFEST_NAME = "manifest.json"
PARTIAL_PREFIX = ".partial-"


class OutputError(ValueError):
    """The output directory cannot be used."""


def ensure_writable_dir(directory: Path) -> Path:
    """Create ``directory`` if needed and prove we can write in it, or raise OutputError."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"output directory '{directory}' cannot be created ({exc.strerror}); choose a writable one with --output-dir") from exc
    if not directory.is_dir():
        raise OutputError(f"output directory '{directory}' is not a directory; choose a writable one with --output-dir")
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=PARTIAL_PREFIX, delete=True):
            pass
    except OSError as exc:
        raise OutputError(f"output directory '{directory}' is not writable ({exc.strerror}); choose a writable one with --output-dir") from exc
    return directory


def _scratch_dir_for(final: Path) -> Path:
    """A directory on the same filesystem as ``final`` but, if possible, outside its folder."""
    system_tmp = Path(tempfile.gettempdir())
    try:
        if os.stat(system_tmp).st_dev == os.stat(final.parent).st_dev:
            return system_tmp
    except OSError:
        pass
    return final.parent


@contextlib.contextmanager
def atomic_output(final: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``final``, on any failure delete it."""
    final = Path(final)
    scratch = _scratch_dir_for(final)
    fd, tmp_name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=suffix or final.suffix, dir=scratch)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text_atomic(final: Path, text: str) -> None:
    with atomic_output(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(final: Path, data) -> None:
    write_text_atomic(final, json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def sweep_partials(directory: Path) -> None:
    """Remove ``.partial-*`` files a killed run may have left in ``directory``."""
    for stale in Path(directory).glob(PARTIAL_PREFIX + "*"):
        with contextlib.suppress(OSError):
            stale.unlink()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _manifest_lock(directory: Path) -> Iterator[None]:
    lock_path = Path(directory) / ".manifest.lock"
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return {"videos": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"videos": []}
    if not isinstance(data, dict) or not isinstance(data.get("videos"), list):
        return {"videos": []}
    return data


def record_in_manifest(directory: Path, entry: dict) -> dict:
    """Add or replace (by file name) one video's entry in ``manifest.json``; returns the manifest."""
    with _manifest_lock(directory):
        manifest = read_manifest(directory)
        videos = [v for v in manifest["videos"] if v.get("file") != entry["file"]]
        videos.append(entry)
        videos.sort(key=lambda v: v["file"])
        manifest = {"videos": videos}
        write_json_atomic(Path(directory) / MANIFEST_NAME, manifest)
        return manifest
