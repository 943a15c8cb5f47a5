"""The beat-state digest hashes what the scene shows, not which caches its objects have filled:
a mesh that was projected (its ray scene and occupancy grid built) and a checkpointed drawing
(its structures dropped) digest as before. Otherwise a checkpoint never restores "the same
state", and every beat drawn while the narration was spoken is drawn again."""

from __future__ import annotations

import pickle

import numpy as np
import trimesh

from pipeline.freshness import _StateDigest
from spine.anatomy.mesh import MeshSolid


def _digest(obj, tmp_path) -> str:
    d = _StateDigest(tmp_path)
    d.feed(obj)
    return d.hexdigest()


def _box() -> MeshSolid:
    box = trimesh.creation.box(extents=(10.0, 20.0, 30.0))
    return MeshSolid(
        center=None, rotation=np.eye(3), vertices=np.asarray(box.vertices), faces=np.asarray(box.faces), digest="box"
    )


def test_a_projected_mesh_digests_as_a_fresh_one(tmp_path):
    fresh, used = _box(), _box()
    assert _digest(fresh, tmp_path) == _digest(used, tmp_path)
    origins = np.array([[0.0, -100.0, 0.0]])
    chord = used.chord_length(origins, np.array([[0.0, 200.0, 0.0]]), 0.0, 1.0)
    assert chord[0] == np.float64(20.0) or abs(chord[0] - 20.0) < 1e-6  # the ray scene was built and used
    used.contains(np.zeros((1, 3)))
    used.bounding_box()
    assert {"_scene", "_bbox"} <= set(vars(used))
    assert _digest(used, tmp_path) == _digest(fresh, tmp_path)
    assert _digest(pickle.loads(pickle.dumps(used)), tmp_path) == _digest(fresh, tmp_path)


def test_a_different_mesh_digests_differently(tmp_path):
    other = trimesh.creation.box(extents=(10.0, 20.0, 31.0))
    moved = MeshSolid(
        center=None,
        rotation=np.eye(3),
        vertices=np.asarray(other.vertices),
        faces=np.asarray(other.faces),
        digest="box",
    )
    assert _digest(moved, tmp_path) != _digest(_box(), tmp_path)


def test_a_drawing_digests_the_same_before_and_after_a_checkpoint(tmp_path):
    from scenes.kit.anatomy_views import IllustrationGroup

    group = IllustrationGroup()
    group.structure_names = ["L4.bone"]
    before = _digest(group, tmp_path)
    group.drawn = [_box()]  # the structures, set when a needle is first split against them
    assert _digest(group, tmp_path) == before
    restored = pickle.loads(pickle.dumps(group))
    assert restored.drawn is None and _digest(restored, tmp_path) == before
    group.structure_names = ["L5.bone"]
    assert _digest(group, tmp_path) != before
