"""Environment checks for ``render.py doctor``: what is missing and how to fix it."""

from __future__ import annotations

import shutil
from typing import Iterator

FIX = "run 'make video' as root (installs Debian packages and the .venv)"


def run_checks() -> Iterator[tuple[str, str | None]]:
    for exe in ("ffmpeg", "ffprobe"):
        yield exe, None if shutil.which(exe) else f"not on PATH; {FIX} or 'apt-get install ffmpeg'"
    try:
        import av

        yield f"PyAV {av.__version__}", None
    except ImportError as exc:
        yield "PyAV", f"cannot import ({exc}); {FIX}"
    try:
        import cairo

        yield f"Cairo {cairo.cairo_version_string()}", None
    except ImportError as exc:
        yield "Cairo (pycairo)", f"cannot import ({exc}); apt-get install libcairo2-dev pkg-config, then {FIX}"
    try:
        import manimpango

        yield f"Pango (manimpango {manimpango.__version__})", None
    except ImportError as exc:
        yield "Pango (manimpango)", f"cannot import ({exc}); apt-get install libpango1.0-dev, then {FIX}"
    from scenes.kit.typography import FONT_DIR

    fonts = sorted(FONT_DIR.glob("*.ttf"))
    yield "bundled font", None if fonts else f"no .ttf in {FONT_DIR}; restore assets/fonts from git"
    try:
        from voiceover.speech import check_engines

        for engine, problem in check_engines().items():
            yield f"voice '{engine}'", problem
    except ImportError as exc:
        yield "voices", f"cannot import the narration layer ({exc}); {FIX}"
    # The data files every video reads: a bad one is named here with its line, as render would.
    from spine.errors import SpineError, one_line

    from spine.videos import data_problem

    data_error = data_problem()
    yield "procedure data", one_line(data_error) if data_error is not None else None
    try:
        from voiceover.lexicon import languages, load_lexicon

        for lang in languages():
            load_lexicon(lang)
        yield "pronunciation lexicon", None
    except SpineError as exc:
        yield "pronunciation lexicon", one_line(exc)
