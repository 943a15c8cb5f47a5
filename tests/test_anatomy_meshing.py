"""The meshing shortcuts give the meshes the plain way gives (small fields: milliseconds)."""

from __future__ import annotations

import numpy as np
import pytest

from spine.anatomy.meshing import mesh_field, taubin_smooth


def _field(voxel: float = 0.7):
    """A lumpy ball (radius ~9 mm) sampled on a grid, and the grid's corner."""
    lo = np.full(3, -14.0)
    axes = [lo[k] + voxel * np.arange(41) for k in range(3)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    d = np.sqrt(x**2 + 1.4 * y**2 + z**2) - 9.0 + 0.8 * np.sin(x / 2.0)
    return d.astype(np.float32), lo, voxel


def test_clip_near_the_surface_only_gives_the_mesh_of_the_whole_clip():
    field, lo, voxel = _field()
    R = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    origin = np.array([5.0, -3.0, 2.0])

    def clip(p):  # a round hole along z through the ball, off centre (world points)
        q = (p - origin) @ R
        return 3.0 - np.hypot(q[:, 0] - 2.0, q[:, 1])

    got = mesh_field(field, lo, voxel, origin, R, 1.0, clip, faces=10**6)
    # the reference: the clip evaluated at every node
    axes = [lo[k] + voxel * np.arange(field.shape[k]) for k in range(3)]
    q = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    whole = np.maximum(field, clip(q @ R.T + origin).reshape(field.shape).astype(np.float32))
    want = mesh_field(whole, lo, voxel, origin, R, 1.0, None, faces=10**6)
    assert len(got[1]) > 1000 and len(got[3]) > 1000  # a surface and a core with the hole
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_taubin_smoothing_matches_trimesh():
    import trimesh

    field, lo, voxel = _field()
    v, f, _cv, _cf = mesh_field(field, lo, voxel, np.zeros(3), np.eye(3), 0.0, faces=3000)
    mesh = trimesh.Trimesh(vertices=v.copy(), faces=f, process=False)
    trimesh.smoothing.filter_taubin(mesh, lamb=0.5, nu=0.53, iterations=12)
    got = taubin_smooth(v, f, lamb=0.5, nu=0.53, iterations=12)
    np.testing.assert_allclose(got, mesh.vertices, rtol=0, atol=1e-12)
    assert np.abs(got - v).max() > 0.01  # it did smooth


def test_the_model_build_runs_blas_on_one_thread_and_restores_it(monkeypatch):
    from threadpoolctl import threadpool_info

    import spine.anatomy.model as model_module

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    class Seen(Exception):
        pass

    def build(self):
        raise Seen(blas_threads())

    before = blas_threads()
    assert before, "no BLAS found under numpy: the build's thread limit would do nothing"
    monkeypatch.setattr(model_module.SpineModel, "_build", build)
    with pytest.raises(Seen) as seen:
        model_module.SpineModel()
    assert seen.value.args[0] == [1] * len(before)
    assert blas_threads() == before
