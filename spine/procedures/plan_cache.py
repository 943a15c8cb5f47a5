"""On-disk cache of the default model's validated needle plans, keyed by everything a plan is made from.

Planning a needle builds the spine model (meshes read from the mesh cache), searches the approach
and checks every path against the anatomy: from a fraction of a second (transforaminal) to a few
seconds (a radiofrequency ablation's several needles), in every process that needs the plan: the
command that checks a request, each worker that draws the video, ``render.py plan``. A plan depends
only on

- the code of the domain package (``spine/``: the anatomy that the model is built from, the
  landmarks, the planner and its checks), as the bytes of its source files;
- the procedure's data as loaded (its validated pydantic model, so a catalog plugin's procedure
  is keyed by its own data);
- the level and side asked for.

so a plan is stored once as ``plans/<key>.pkl`` in the anatomy cache's folder (beside the meshes,
whose keys follow the code the same way) and read by every later process. Any edit to a file under
``spine/`` gives every plan a new key: a stale plan is never served and no version number has to
be bumped. Plans that fail a check are not stored (the error is raised again, from the planner).
Entries carry a checksum (:mod:`spine.checked_files`): a damaged one is reported, dropped and
planned again. ``SPINE_ANATOMY_CACHE=0`` turns it off with the mesh cache.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any, Callable

from spine import cache_limits

__all__ = ["cached_plan", "domain_code_digest"]

_SPINE = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def domain_code_digest() -> str:
    """sha256 of every Python source file under ``spine/`` (paths and bytes), read once per process."""
    h = hashlib.sha256(b"spine-domain-code")
    for path in sorted(_SPINE.rglob("*.py")):
        source = path.read_bytes()
        h.update(f"{path.relative_to(_SPINE).as_posix()}|{len(source)}|".encode())
        h.update(source)
    return h.hexdigest()


def plan_key(procedure: Any, level: str, side: str | None) -> str:
    """The cache key of the default model's plan of ``procedure`` (its loaded data) at ``level`` on ``side``."""
    h = hashlib.sha256(domain_code_digest().encode())
    h.update(procedure.model_dump_json().encode())
    h.update(f"|{level}|{side}".encode())
    return h.hexdigest()


def _folder() -> Path | None:
    from spine.settings import settings

    anatomy = settings().anatomy_dir()
    return None if anatomy is None else anatomy / "plans"


def cached_plan(procedure: Any, level: str, side: str | None, make: Callable[[], Any]) -> Any:
    """The plan stored under its key, else ``make()`` (which raises on a failed check), stored
    (:func:`spine.cache_limits.cached_pickle`, within the anatomy cache's limit)."""
    from spine.settings import settings

    folder = _folder()
    if folder is None:
        return make()
    path = folder / f"{plan_key(procedure, level, side)}.pkl"
    return cache_limits.cached_pickle(path, make, settings().anatomy_cache_limit)
