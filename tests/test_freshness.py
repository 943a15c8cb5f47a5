"""What an edit invalidates: `render.py all` rebuilds a video when its inputs' fingerprint changed
(:func:`pipeline.freshness.video_fingerprint`) and redraws a beat when its key changed (every key
starts from :func:`pipeline.freshness.render_context_token`).

On a copy of the project, each video of the default catalog gets both digests before and after one
edit, each computed in a fresh process as `render.py all` does (nothing is rendered):

- one procedure's data file: only that procedure's videos change (both languages), or, for a
  procedure the overview draws on its 'types' cards, those and the overview;
- a comment in the overview's scene: only the overview changes; a comment in the needle planner at
  the same time redraws nothing else (no beat key changes), though every video is checked again
  (the planner is part of the build's code, in every fingerprint);
- the props' values (the plans, the procedure's data, the words) are in every beat's key.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import freshness
from pipeline.freshness import render_context_token
from spine.video_props import video_props
from spine.videos import VideoRequest, VideoSpec
from tests.conftest import copy_project, restoring_edits

DIGESTS = """
import json
from pipeline import freshness
from pipeline.catalog import load_catalog

digests = {}
for job in load_catalog(quality="preview"):
    if job.problem is None:
        digests[job.stem] = {
            "video": job.request.name,
            "fingerprint": freshness.video_fingerprint(job.request, job.options),
            "beats": freshness.render_context_token(job.request, "preview"),
        }
print(json.dumps(digests))
"""


def digests(root: Path) -> dict[str, dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("SPINE_CATALOG_PLUGINS", None)  # the default catalog only
    proc = subprocess.run(
        [sys.executable, "-c", DIGESTS], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def changed(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    assert before.keys() == after.keys()
    return {
        kind: {stem for stem in before if before[stem][kind] != after[stem][kind]} for kind in ("fingerprint", "beats")
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict[str, dict[str, str]]]:
    """A copy of the project and every default video's digests in it, unedited."""
    root = copy_project(tmp_path_factory.mktemp("freshness") / "repo", "bench", "docs", "tests")
    return root, digests(root)


def videos_of(before: dict[str, dict[str, str]], *names: str) -> set[str]:
    stems = {stem for stem, d in before.items() if d["video"] in names}
    assert len(stems) >= 2 * len(names), stems  # each in English and Spanish at least
    return stems


def test_editing_one_procedure_file_invalidates_only_its_videos(project):
    root, before = project
    with restoring_edits(root) as edit:
        # a thinner needle: the plan's needle and the words that name it
        edit(
            "spine/procedures/data/caudal-esi.yaml",
            lambda t: re.sub(r"(?m)^(\s+)gauge: 20$", r"\1gauge: 22", t.replace("a 20-gauge", "a 22-gauge"), count=1),
        )
        after = digests(root)
    expected = videos_of(before, "caudal-esi")
    assert changed(before, after) == {"fingerprint": expected, "beats": expected}


def test_editing_a_procedure_the_overview_draws_invalidates_its_videos_and_the_overview(project):
    root, before = project
    with restoring_edits(root) as edit:
        edit(
            "spine/procedures/data/transforaminal-esi.yaml",
            lambda t: re.sub(
                r"(?m)^(\s+)gauge: 22$", r"\1gauge: 25", t.replace("thin 22-gauge", "thin 25-gauge", 1), count=1
            ),
        )
        after = digests(root)
    expected = videos_of(before, "transforaminal-esi", "overview")
    assert changed(before, after) == {"fingerprint": expected, "beats": expected}


def test_editing_the_overview_scene_redraws_only_the_overview_and_the_planner_redraws_nothing(project):
    """The scene's own code is in its beats' keys; the planner's is not (scenes read the plans from
    their props, whose values the keys hash), only in the build's code, an input of every video."""
    root, before = project
    with restoring_edits(root) as edit:
        edit("scenes/overview.py", lambda t: t + "\n# an edit that changes no picture still counts as an edit\n")
        edit("spine/procedures/planner.py", lambda t: t + "\n# a comment: every plan stays as it was\n")
        after = digests(root)
    # every video is checked again (the planner is part of the build's code), only the overview redrawn
    assert changed(before, after) == {"fingerprint": set(before), "beats": videos_of(before, "overview")}


def test_beat_keys_hash_the_props_values():
    """The same props' values give the same keys in any process; another value, other keys."""
    request = VideoRequest(VideoSpec("atlas", "A", "scenes.spine_atlas:SpineAtlasScene", "a tour"), "L4-L5", None)
    props = video_props(request, words={"tip": np.array([1.0, 2.0, 3.0])})
    key = render_context_token(request, "preview", props=props)
    assert render_context_token(request, "preview", props=pickle.loads(pickle.dumps(props))) == key
    assert render_context_token(request, "preview") != key
    for update in ({"level": "L3-L4"}, {"words": {"tip": np.array([1.0, 2.0, 3.0 + 1e-9])}}):
        assert render_context_token(request, "preview", props=props.model_copy(update=update)) != key


def test_the_gallery_is_written_again_only_when_what_it_shows_changed(tmp_path):
    """A no-change `render.py all` leaves the gallery page as it is (writing it took a third of
    such a run); a file of the output folder changed, the page changed by hand or another day
    (a review falls due) has it written again."""
    from pipeline.gallery import write_gallery

    out = tmp_path / "out"
    write_gallery(out)
    assert not freshness.gallery_is_current(out)  # never recorded
    freshness.record_gallery(out)
    assert freshness.gallery_is_current(out)
    (out / "x-test.json").write_text("{}\n")
    assert not freshness.gallery_is_current(out)
    freshness.record_gallery(out)
    assert freshness.gallery_is_current(out)
    (out / "index.html").write_text("edited by hand\n")
    assert not freshness.gallery_is_current(out)
    freshness.record_gallery(out)
    assert freshness.gallery_fingerprint(out, today="2099-01-01") != freshness.gallery_fingerprint(out)
    (out / "index.html").unlink()
    assert not freshness.gallery_is_current(out)
