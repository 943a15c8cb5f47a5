"""Two processes building the model at once share the meshing (``render.py all``'s workers start
together with the same empty mesh cache): no bone is meshed twice, and both get the same model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each process loads the code, says it is ready, waits for the start file, then builds the model
# meshing in this process only (as in a catalog worker, which cannot fork a meshing pool).
BUILD = """
import json, sys, time
from pathlib import Path
from spine.anatomy.model import SpineModel
ready, start = Path(sys.argv[1]), Path(sys.argv[2])
ready.write_text("ready")
while not start.exists():
    time.sleep(0.01)
model = SpineModel.default()
print(json.dumps({"meshed": model._b.meshed_here, "hash": model.parameters_hash()}))
"""


def _build_together(tmp_path: Path, cache: Path, count: int) -> list[dict]:
    env = dict(os.environ, SPINE_ANATOMY_CACHE=str(cache), SPINE_ANATOMY_JOBS="1", PYTHONHASHSEED="0")
    start = tmp_path / "start"
    start.unlink(missing_ok=True)
    procs, readies = [], []
    for i in range(count):
        ready = tmp_path / f"ready-{i}"
        ready.unlink(missing_ok=True)
        readies.append(ready)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", BUILD, str(ready), str(start)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in readies):
        assert time.monotonic() < deadline, "the builders did not start"
        assert all(p.poll() is None for p in procs), [p.communicate()[1][-2000:] for p in procs if p.poll() is not None]
        time.sleep(0.05)
    start.write_text("go")
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_builds_at_once_mesh_each_bone_once(tmp_path):
    alone = _build_together(tmp_path, tmp_path / "alone", 1)[0]
    assert alone["meshed"] > 20  # every bone group, body and disc: a job each
    together = _build_together(tmp_path, tmp_path / "shared", 2)
    # no job meshed by both: before, each process meshed every one (twice the work)
    assert sum(r["meshed"] for r in together) == alone["meshed"]
    assert all(r["meshed"] > 0 for r in together), together  # both worked: neither waited the whole time
    assert {r["hash"] for r in together} == {alone["hash"]}  # the same meshes, whoever made them
    # and a third build finds everything cached
    assert _build_together(tmp_path, tmp_path / "shared", 1)[0]["meshed"] == 0


def test_a_claim_held_elsewhere_is_refused_then_waited_for(tmp_path):
    from spine.anatomy.surface_cache import SurfaceCache

    cache = SurfaceCache(tmp_path / "cache")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from spine.anatomy.surface_cache import SurfaceCache\n"
            f"with SurfaceCache(Path({str(tmp_path / 'cache')!r})).claim('k') as mine:\n"
            "    print(mine, flush=True)\n"
            "    time.sleep(1.5)\n",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
    with cache.claim("k") as mine:
        assert mine is False  # held by the other process
    began = time.monotonic()
    with cache.claim("k", wait=True) as mine:
        assert mine is True and time.monotonic() - began > 0.5  # waited for it to let go
    holder.wait(timeout=30)
    with cache.claim("k") as mine:
        assert mine is True
    assert len(list((tmp_path / "cache").glob("*.lock"))) == 1
    with SurfaceCache(None).claim("k") as mine:  # no disk cache: nothing to share
        assert mine is True
