"""The beat-state digest hashes what the scene shows, not which caches its objects have filled:
a mesh that was projected (its ray scene and occupancy grid built) digests as before. Otherwise
two passes over the same scene give different keys, and every beat drawn while the narration was
spoken is drawn again. What changes the frames (a drawing that lost its structures) still counts."""

from __future__ import annotations

import pickle

import cloudpickle
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


def test_a_checkpointed_drawing_without_its_structures_digests_differently(tmp_path):
    """A checkpoint drops the drawing's structures; a needle is then split against every drawn
    structure instead of the drawing's own, so the frames differ: the restored state must not pass
    for the one the checkpoint was taken in (the pass runs from the start, reusing cached beats)."""
    from scenes.kit.anatomy_views import IllustrationGroup

    group = IllustrationGroup()
    group.structure_names = ["L4.bone"]
    group.drawn = [_box()]
    before = _digest(group, tmp_path)
    restored = pickle.loads(pickle.dumps(group))
    assert restored.drawn is None and _digest(restored, tmp_path) != before
    projected = pickle.loads(pickle.dumps(group))
    projected.drawn = [_box()]
    projected.drawn[0].bounding_box()  # a cache filled: not a different drawing
    assert _digest(projected, tmp_path) == before


def test_a_checkpointed_drawing_of_the_model_keeps_its_structures(tmp_path):
    """A drawing of the model's own structures keeps them through a checkpoint (by name, with the
    model), so a restored state digests as the one it was taken in and a one-beat edit resumes
    from its checkpoint instead of drawing the video from the start."""
    from scenes.kit.anatomy_views import SpineView
    from spine.anatomy.model import SpineModel

    view = SpineView(SpineModel.default(), "lateral")
    group = view.spine_mobject(levels=["L4", "L4-L5", "L5"])
    assert group.drawn
    before = _digest(group, tmp_path)
    restored = pickle.loads(cloudpickle.dumps(group))  # as a checkpoint pickles the scene
    assert [s.name for s in restored.drawn] == [s.name for s in group.drawn]
    assert all(a is b for a, b in zip(restored.drawn, group.drawn))  # the same model's structures
    assert _digest(restored, tmp_path) == before


def test_a_structure_digests_the_same_shared_or_copied(tmp_path):
    """A restored checkpoint holds copies of structures the scene shared (the monitor's imager and
    a drawing both held the model's own): the digest names a structure by what it is, so a list
    of one structure twice and of it and its copy digest the same, and another structure not."""
    from spine.anatomy.solids import Material, Structure

    st = Structure("L4.bone", "bone_surface", Material.CORTICAL_BONE, _box(), level="L4", shell_mm=1.0)
    copy = pickle.loads(pickle.dumps(st))
    assert copy is not st
    assert _digest([st, st], tmp_path) == _digest([st, copy], tmp_path)
    other = Structure("L5.bone", "bone_surface", Material.CORTICAL_BONE, _box(), level="L5", shell_mm=1.0)
    assert _digest([st, other], tmp_path) != _digest([st, st], tmp_path)


def test_an_immutable_value_digests_the_same_shared_or_copied(tmp_path):
    """The monitor's detector (a frozen dataclass) is shared by the panel and its imagers in a
    render, and copies after a restore: the digest feeds such a value by what it holds wherever
    it occurs, so an edit of one beat does not redraw the beats after it (it redrew four of the
    transforaminal video's eleven). Another value still digests differently."""
    from dataclasses import replace

    from spine.imaging.detector import Detector

    detector = Detector()
    copy = pickle.loads(pickle.dumps(detector))
    assert copy is not detector
    assert _digest([detector, detector], tmp_path) == _digest([detector, copy], tmp_path)
    assert _digest([detector, replace(detector, gamma=1.1)], tmp_path) != _digest([detector, detector], tmp_path)


def test_an_imager_of_the_model_pickles_as_the_model_and_digests_the_same(tmp_path):
    """A checkpoint carries the monitor's imager: it names the model (pickled as its parameters)
    rather than every mesh (30 of a procedure checkpoint's 31 MB), takes the model's structures
    again when restored, and then gives the same image and the same beat-state digest."""
    from spine.anatomy.model import SpineModel
    from spine.imaging.carm import CArmPose
    from spine.imaging.layers import FluoroImager

    model = SpineModel.default()
    imager = FluoroImager(model, CArmPose.lateral("L4-L5", model=model), 64, cache_dir=False)
    image = imager.anatomy
    data = cloudpickle.dumps(imager, protocol=5)
    assert len(data) < 200_000  # its meshes alone are megabytes
    restored = pickle.loads(data)
    assert [s.name for s in restored.structures] == [s.name for s in imager.structures]
    assert restored.structures[0] is model.structures()[0]  # the model's own, not copies
    assert _digest(restored, tmp_path) == _digest(imager, tmp_path)
    del restored.__dict__["anatomy"]  # drawn again from the restored structures
    assert np.array_equal(restored.anatomy, image)
    plain = FluoroImager(list(model.structures())[:3], imager.pose, 32, cache_dir=False)  # a list (tests): by value
    assert [s.name for s in pickle.loads(pickle.dumps(plain)).structures] == [s.name for s in plain.structures]
