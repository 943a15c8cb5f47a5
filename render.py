#!/usr/bin/env python3
"""Render narrated videos about spinal injections. Run `python render.py --help`."""

import os
import sys

if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    # Determinism: the same inputs must give the same frames. String hashing is salted per
    # process, which changes the iteration order of sets (and so drawing order); fix it.
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

# The render's threads are its own (drawing, conversion, x264's); OpenBLAS's extra threads only
# span numpy's small solves and spin between them (about 0.6 % of a 1080p render's CPU).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
