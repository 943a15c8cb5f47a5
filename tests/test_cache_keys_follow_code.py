"""The image caches' keys follow the code that makes the images, as the mesh keys do: an edit to
the projection or to the shading gives new keys, so no stale image is served and no version
number is kept by hand; unchanged code gives the same keys in every process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from spine.imaging import cache as fluoro_cache
from spine.imaging import illustration
from tests.conftest import ROOT


def _edited_digest(monkeypatch, tmp_path, module, attribute, digest, copy_of, edit):
    """``digest()`` of a copy of the files it reads (``copy_of`` -> the path in the copy), before
    and after ``edit``; the real digest is cached again on the way out."""
    with monkeypatch.context() as patch:
        patch.setattr(module, attribute, copy_of(tmp_path))
        digest.cache_clear()
        try:
            before = digest()
            edit(tmp_path)
            digest.cache_clear()
            return before, digest()
        finally:
            digest.cache_clear()


def test_an_edit_to_the_projector_gives_new_fluoroscopy_keys(tmp_path, monkeypatch):
    def copy(root):
        for name in fluoro_cache.PROJECTION_MODULES:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, root / name)
        return root

    def edit(root):
        projector = root / "spine" / "imaging" / "projector.py"
        projector.write_text(projector.read_text().replace("MU_PER_MM", "MU_PER_MM ", 1))

    real = fluoro_cache.projection_code_digest()
    before, after = _edited_digest(
        monkeypatch, tmp_path, fluoro_cache, "REPO", fluoro_cache.projection_code_digest, copy, edit
    )
    assert before == real == fluoro_cache.projection_code_digest() and after != before
    key = fluoro_cache.cache_key("m", {"pose": 1}, 64)
    assert key != fluoro_cache.cache_key("m", {"pose": 1}, 128)
    with monkeypatch.context() as patch:  # the key reads the digest
        patch.setattr(fluoro_cache, "projection_code_digest", lambda: after)
        assert fluoro_cache.cache_key("m", {"pose": 1}, 64) != key


def test_an_edit_to_the_shading_gives_new_illustration_keys(tmp_path, monkeypatch):
    def copy(root):
        return Path(shutil.copy(illustration._SOURCE, root / "illustration.py"))

    def edit(root):
        source = root / "illustration.py"
        source.write_text(source.read_text() + "\n# an edit\n")

    real = illustration.layer_code_digest()
    before, after = _edited_digest(
        monkeypatch, tmp_path, illustration, "_SOURCE", illustration.layer_code_digest, copy, edit
    )
    assert before == real == illustration.layer_code_digest() and after != before


def test_the_digests_are_the_same_in_another_process():
    code = (
        "from spine.imaging.cache import projection_code_digest as p; "
        "from spine.imaging.illustration import layer_code_digest as i; print(p(), i())"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.split() == [fluoro_cache.projection_code_digest(), illustration.layer_code_digest()]
