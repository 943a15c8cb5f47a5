"""Run ``render.py`` in this process with the fault tests' video, optionally with a full disk.

    python tests/faults_run.py render faults-test --quality test --output-dir OUT
    python tests/faults_run.py --enospc-sweep OUT render faults-test ...

``--enospc-sweep OUT`` runs the command again and again; run ``n`` fails the ``n``-th write
step under ``OUT`` (opening a file to write, a rename, a hard link, a copy, the mux) with
``OSError(ENOSPC)``, until a run completes without reaching its step. It prints one JSON
line per run: the step that failed, the exit status, what was said on stderr, and whether
the files under ``OUT`` are byte for byte what they were before.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != ".manifest.lock"
    }


class DiskFull:
    """Fails the ``fail_at``-th write step under ``directory`` with ENOSPC (0: count only)."""

    def __init__(self, directory: Path, fail_at: int):
        self.directory = str(Path(directory).resolve())
        self.fail_at, self.steps, self.failed = fail_at, 0, None
        self.saved = {}

    def _inside(self, path) -> bool:
        try:
            return os.path.abspath(os.fspath(path)).startswith(self.directory)
        except TypeError:
            return False

    def _step(self, what: str, path) -> None:
        if not self._inside(path):
            return
        self.steps += 1
        if self.steps == self.fail_at:
            self.failed = f"{what} {os.path.basename(os.fspath(path))}"
            raise OSError(errno.ENOSPC, "No space left on device", os.fspath(path))

    def __enter__(self):
        import pipeline.build as build

        real_open, real_replace, real_rename = builtins.open, os.replace, os.rename
        real_link, real_copy, real_mux = os.link, shutil.copyfile, build.mux

        def fake_open(file, mode="r", *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+"):
                self._step("open", file)
            return real_open(file, mode, *args, **kwargs)

        def counted(step, real):
            """``real(src, dst, ...)`` counted as one ``step`` that writes ``dst``."""

            def call(src, dst, *args, **kwargs):
                self._step(step, dst)
                return real(src, dst, *args, **kwargs)

            return call

        def fake_mux(video, audio, out, **kwargs):
            self._step("mux", out)
            return real_mux(video, audio, out, **kwargs)

        self.saved = {
            (builtins, "open"): real_open,
            (io, "open"): real_open,
            (os, "replace"): real_replace,
            (os, "rename"): real_rename,
            (os, "link"): real_link,
            (shutil, "copyfile"): real_copy,
            (build, "mux"): real_mux,
        }
        fakes = {
            "open": fake_open,
            "replace": counted("rename", real_replace),
            "rename": counted("rename", real_rename),
            "link": counted("link", real_link),
            "copyfile": counted("copy", real_copy),
            "mux": fake_mux,
        }
        for module, name in self.saved:
            setattr(module, name, fakes[name])
        return self

    def __exit__(self, *exc):
        for (module, name), real in self.saved.items():
            setattr(module, name, real)


def main(argv: list[str]) -> int:
    from pipeline.cluster import PLUGINS_ENV
    from tests import faults_plugin

    faults_plugin.register()
    # the worker processes of `render -j N` register the video too (as every extension does)
    os.environ[PLUGINS_ENV] = os.pathsep.join(filter(None, [os.environ.get(PLUGINS_ENV), faults_plugin.__file__]))
    from pipeline.cli import main as cli_main

    if argv[:1] != ["--enospc-sweep"]:
        return cli_main(argv)
    out, args = Path(argv[1]), argv[2:]
    before = snapshot(out)
    for n in range(1, 200):
        stderr = io.StringIO()
        with DiskFull(out, n) as disk, contextlib.redirect_stderr(stderr):
            code = cli_main(args)
        leftovers = sorted(p.name for p in out.iterdir() if p.name.startswith(".partial-"))
        print(
            json.dumps(
                {
                    "step": n,
                    "failed": disk.failed,
                    "code": code,
                    "stderr": stderr.getvalue(),
                    "unchanged": snapshot(out) == before,
                    "leftovers": leftovers,
                }
            ),
            flush=True,
        )
        if disk.failed is None:
            return 0
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
