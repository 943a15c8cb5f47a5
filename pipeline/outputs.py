"""Output files: atomic writes, sidecars and the manifest.

Nothing under ``output/`` is ever half-written: every file is produced under a
temporary name (outside ``output/`` when the filesystem allows, otherwise a hidden
``.partial-*`` name that a later run sweeps) and renamed into place in one step. A failed
or interrupted build therefore leaves the previous good file untouched.

A video's files are a set (:class:`OutputSet`): the MP4, captions and sidecar (and whatever
else a build adds) are written into one scratch folder inside the output folder (so on the
same filesystem), then renamed in together, the sidecar last, then the manifest. If any step
fails (a full disk, an interrupt), the files already renamed are put back: the older set
stays whole, byte for byte.

The manifest is an index; the sidecars are the source of truth. An unreadable manifest is
kept aside as ``manifest.json.corrupt-<time>`` and rebuilt from the sidecars in the folder
(:func:`read_manifest`), and :func:`verify_outputs` checks every output against its
sidecar's sha256 and the manifest (``render.py verify``).
"""

from __future__ import annotations

from spine.atomic_files import atomic_path
from spine.checked_files import digest_of
from spine.errors import SpineError, shorten

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Iterator

MANIFEST_NAME = "manifest.json"
PARTIAL_PREFIX = ".partial-"
SET_PREFIX = PARTIAL_PREFIX + "set-"  # scratch folders of output sets: .partial-set-<pid>-<random>
CORRUPT_SUFFIX = ".corrupt-"


class OutputError(SpineError, ValueError):
    """The output directory cannot be used."""


def ensure_writable_dir(directory: Path, option: str = "--output-dir", what: str = "output directory") -> Path:
    """Create ``directory`` if needed and prove we can write in it, or raise OutputError (one line).

    A full disk is not the folder's fault: it is raised as it is (the CLI says "no space left").
    """
    directory = Path(directory)
    shown = shorten(directory, 120)

    @contextlib.contextmanager
    def refused(problem: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise OutputError(
                f"{what} '{shown}' {problem} ({exc.strerror}); choose a writable one with {option}"
            ) from None

    with refused("cannot be created"):
        directory.mkdir(parents=True, exist_ok=True)
    if not directory.is_dir():
        raise OutputError(f"{what} '{shown}' is not a directory; choose a writable one with {option}")
    with refused("is not writable"), tempfile.NamedTemporaryFile(dir=directory, prefix=PARTIAL_PREFIX, delete=True):
        pass
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
    """Yield a temporary path; on success rename it to ``final``, on any failure delete it (the
    project's one atomic write, :mod:`spine.atomic_files`, with the scratch folder of the outputs)."""
    final = Path(final)
    with atomic_path(
        final, scratch_dir=_scratch_dir_for(final), prefix=PARTIAL_PREFIX, suffix=suffix or final.suffix
    ) as tmp:
        yield tmp


def write_text_atomic(final: Path, text: str) -> None:
    with atomic_output(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(final: Path, data: Any) -> None:
    write_text_atomic(final, json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def sweep_partials(directory: Path) -> None:
    """Remove ``.partial-*`` files and the set folders of processes that are gone from ``directory``."""
    for stale in Path(directory).glob(PARTIAL_PREFIX + "*"):
        if stale.is_dir():
            if stale.name.startswith(SET_PREFIX) and not pid_alive(_pid_of(stale.name)):
                shutil.rmtree(stale, ignore_errors=True)
            continue
        with contextlib.suppress(OSError):
            stale.unlink()


def _pid_of(name: str) -> int:
    try:
        return int(name[len(SET_PREFIX) :].split("-")[0])
    except ValueError:
        return -1


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` runs (a zombie does not: killed workers whose parent died
    can stay unreaped in a container without an init that reaps)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): signal 0 is all we know
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def write_text_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically unless the file already holds exactly it (keeps its time)."""
    try:
        if Path(path).read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    write_text_atomic(Path(path), text)


class OutputSet:
    """The files of one video, written all or nothing.

    ``path(final)`` gives where to write the file that will become ``final``; :meth:`commit`
    renames them all into place (in the order added; put the sidecar last), keeping hard
    links to the files they replace, and :meth:`rollback` puts those back. Used as a
    context manager: an exception inside rolls back and removes the scratch folder.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SET_PREFIX}{os.getpid()}-", dir=self.directory))
        self.files: dict[Path, Path] = {}  # final -> scratch file
        self.backups: dict[Path, Path | None] = {}  # final -> hard link to the older file (None: there was none)
        self.committed = False
        self.recorded = False  # the manifest lists the new set: from then on it is never rolled back

    def path(self, final: Path) -> Path:
        final = Path(final)
        if final.parent.resolve() != self.directory.resolve():
            raise ValueError(f"{final} is not in {self.directory}")
        tmp = self.scratch / final.name
        self.files[final] = tmp
        return tmp

    def write_bytes(self, final: Path, data: bytes) -> None:
        self.path(final).write_bytes(data)

    def write_json(self, final: Path, data: Any) -> None:
        self.path(final).write_text(
            json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )

    def commit(self) -> None:
        missing = [str(tmp.name) for tmp in self.files.values() if not tmp.is_file()]
        if missing:
            raise RuntimeError(f"output set incomplete: {', '.join(missing)} not written")
        backup_dir = self.scratch / ".older"
        backup_dir.mkdir(exist_ok=True)
        for final in self.files:  # hard links to the older files first: nothing moves yet
            if final.is_file():
                link = backup_dir / final.name
                os.link(final, link)
                self.backups[final] = link
            else:
                self.backups[final] = None
        self._renamed: list[Path] = []
        try:
            for final, tmp in self.files.items():
                os.chmod(tmp, 0o644)
                os.replace(tmp, final)
                self._renamed.append(final)
        except BaseException:
            self.rollback()
            raise
        self.committed = True

    def rollback(self) -> None:
        """Put back every older file this set replaced; remove the new files that had none."""
        for final in reversed(getattr(self, "_renamed", [])):
            older = self.backups.get(final)
            with contextlib.suppress(OSError):
                if older is not None:
                    os.replace(older, final)
                else:
                    final.unlink()
        self._renamed = []
        self.committed = False

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "OutputSet":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is not None and self.committed and not self.recorded:
                self.rollback()
        finally:
            self.close()


def manifest_entry(sidecar: dict) -> dict:
    """A video's line in the manifest, from its sidecar (the source of truth)."""
    keys = (
        "file",
        "video",
        "title",
        "procedure",
        "level",
        "side",
        "quality",
        "lang",
        "duration_s",
        "sha256",
        "built_at",
    )
    entry = {k: sidecar.get(k) for k in keys}
    entry["captions"] = sidecar["captions"]
    for key in ("descriptions", "transcript"):  # accessibility outputs (pipeline/described.py)
        if sidecar.get(key):
            entry[key] = sidecar[key]
    if sidecar.get("described"):
        d = sidecar["described"]
        entry["described"] = {k: d[k] for k in ("file", "captions", "descriptions", "duration_s", "sha256")}
    entry["sidecar"] = Path(sidecar["file"]).with_suffix(".json").name
    return entry


def sha256_of(path: Path) -> str:
    return digest_of(path)[0]


@contextlib.contextmanager
def _manifest_lock(directory: Path) -> Iterator[None]:
    lock_path = Path(directory) / ".manifest.lock"
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _valid_manifest(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("videos"), list)
        and all(isinstance(v, dict) and isinstance(v.get("file"), str) for v in data["videos"])
    )


def read_manifest(directory: Path, say: Callable[[str], None] | None = None) -> dict:
    """``manifest.json`` of ``directory``; an unreadable one is kept aside and rebuilt from the sidecars."""
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return {"videos": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if _valid_manifest(data):
        return data
    return recover_manifest(directory, say)


def recover_manifest(directory: Path, say: Callable[[str], None] | None = None) -> dict:
    """Keep the unreadable manifest as ``manifest.json.corrupt-<time>`` and rebuild it from the sidecars."""
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    kept = directory / f"{MANIFEST_NAME}{CORRUPT_SUFFIX}{stamp}"
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, kept)
    videos = manifest_from_sidecars(directory)
    manifest = {"videos": videos}
    write_json_atomic(path, manifest)
    (say or _say)(f"{path} was unreadable: kept it as {kept.name} and rebuilt it from {len(videos)} sidecar(s)")
    return manifest


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def manifest_from_sidecars(directory: Path) -> list[dict]:
    """A manifest entry for every sidecar in ``directory`` whose video is there."""
    videos = []
    for sidecar_path in sorted(Path(directory).glob("*.json")):
        if sidecar_path.name == MANIFEST_NAME:
            continue
        try:
            sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not (
            isinstance(sidecar, dict)
            and isinstance(sidecar.get("file"), str)
            and "sha256" in sidecar
            and isinstance(sidecar.get("captions"), dict)
        ):
            continue  # not a video's sidecar (e.g. some other JSON)
        if (
            sidecar_path.with_suffix(".mp4").name != sidecar["file"]
            or not (Path(directory) / sidecar["file"]).is_file()
        ):
            continue
        videos.append(manifest_entry(sidecar))
    return sorted(videos, key=lambda v: v["file"])


def record_in_manifest(directory: Path, entry: dict, say: Callable[[str], None] | None = None) -> dict:
    """Add or replace (by file name) one video's entry in ``manifest.json``; returns the manifest."""
    with _manifest_lock(directory):
        manifest = read_manifest(directory, say)
        videos = [v for v in manifest["videos"] if v.get("file") != entry["file"]]
        videos.append(entry)
        videos.sort(key=lambda v: v["file"])
        manifest = {"videos": videos}
        write_json_atomic(Path(directory) / MANIFEST_NAME, manifest)
        return manifest


def commit_with_manifest(output_set: OutputSet, entry: dict, say: Callable[[str], None] | None = None) -> None:
    """Rename the set into place, then record it in the manifest; if the manifest cannot be
    written, the set is rolled back (the older files and the older manifest stay as they were)."""
    with _manifest_lock(output_set.directory):
        output_set.commit()
        try:
            manifest = read_manifest(output_set.directory, say)
            videos = [v for v in manifest["videos"] if v.get("file") != entry["file"]] + [entry]
            write_json_atomic(output_set.directory / MANIFEST_NAME, {"videos": sorted(videos, key=lambda v: v["file"])})
        except BaseException:
            output_set.rollback()
            raise
        output_set.recorded = True


# ---------------------------------------------------------------------------------------
# render.py verify
# ---------------------------------------------------------------------------------------


def verify_outputs(directory: Path) -> tuple[list[str], int]:
    """Check every video in ``directory`` against its sidecar's sha256 and the manifest.

    Returns (problems, number of videos checked); each problem is one line naming the file.
    """
    directory = Path(directory)
    problems: list[str] = []
    path = directory / MANIFEST_NAME
    manifest = None
    if path.exists():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            manifest = None
        if not _valid_manifest(manifest):
            problems.append(
                f"{path}: unreadable manifest (any render or `render.py gallery` rebuilds it from the sidecars)"
            )
            manifest = None
    listed = {v["file"]: v for v in (manifest or {}).get("videos", [])}
    sidecars = {}
    for sidecar_path in sorted(directory.glob("*.json")):
        if sidecar_path.name == MANIFEST_NAME:
            continue
        try:
            sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{sidecar_path}: unreadable sidecar ({type(exc).__name__})")
            continue
        if isinstance(sidecar, dict) and isinstance(sidecar.get("file"), str) and "sha256" in sidecar:
            sidecars[sidecar["file"]] = (sidecar_path, sidecar)
    for name, (sidecar_path, sidecar) in sorted(sidecars.items()):
        video = directory / name
        if not video.is_file():
            problems.append(f"{video}: missing (its sidecar {sidecar_path.name} names it)")
            continue
        actual = sha256_of(video)
        if actual != sidecar.get("sha256"):
            problems.append(
                f"{video}: sha256 {actual[:12]}… differs from its sidecar's {str(sidecar.get('sha256'))[:12]}…"
            )
        recorded_any = sidecar.get("captions_sha256")
        recorded: dict = recorded_any if isinstance(recorded_any, dict) else {}
        for caption in (sidecar.get("captions") or {}).values():
            path = directory / str(caption)
            if not path.is_file():
                problems.append(f"{path}: missing (its sidecar {sidecar_path.name} names it)")
            elif str(caption) in recorded and sha256_of(path) != recorded[str(caption)]:
                problems.append(f"{path}: sha256 differs from its sidecar's")
        entry = listed.get(name)
        if manifest is not None and entry is None:
            problems.append(f"{video}: not in {MANIFEST_NAME}")
        elif entry is not None and entry.get("sha256") != sidecar.get("sha256"):
            problems.append(f"{video}: {MANIFEST_NAME} records another sha256 than its sidecar")
    for name in sorted(set(listed) - set(sidecars)):
        problems.append(f"{directory / name}: in {MANIFEST_NAME} but has no sidecar")
    return problems, len(sidecars)
