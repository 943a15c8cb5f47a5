#!/usr/bin/env python3
"""Render narrated videos about spinal injections. Run `python render.py --help`."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
