#!/usr/bin/env python3
"""Render narrated videos about spinal injections. Run `python render.py --help`."""

import os
import sys

if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    # Determinism: the same inputs must give the same frames. String hashing is salted per
    # process, which changes the iteration order of sets (and so drawing order); fix it.
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
