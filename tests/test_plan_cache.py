"""The plan cache on disk: a plan is made once, read back whole by later processes, and its key
follows the domain code and the procedure's data, so a stale plan is never served."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys

import pytest

from spine import checked_files
from spine.procedures import plan_cache
from spine.procedures.catalog import load_procedures
from spine.procedures.planner import plan_needle
from tests.conftest import ROOT


@pytest.fixture
def plans_folder(tmp_path, monkeypatch):
    """The plan cache in an empty folder (the model's meshes still come from the suite's cache)."""
    folder = tmp_path / "plans"
    monkeypatch.setattr(plan_cache, "_folder", lambda: folder)
    return folder


def test_the_plans_live_beside_the_meshes(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINE_ANATOMY_CACHE", str(tmp_path / "anatomy"))
    assert plan_cache._folder() == tmp_path / "anatomy" / "plans"
    monkeypatch.setenv("SPINE_ANATOMY_CACHE", "0")
    assert plan_cache._folder() is None


def _same(a, b) -> bool:
    """Equal plans (their arrays too): the same bytes pickled."""
    return pickle.dumps(a) == pickle.dumps(b)


def _refuse():
    raise AssertionError("planned again although the plan is stored")


def test_a_stored_plan_is_read_back_whole_without_planning(plans_folder):
    proc = load_procedures()["transforaminal-esi"]
    plan = plan_needle("transforaminal-esi", "L4-L5", "right")
    made = plan_cache.cached_plan(proc, "L4-L5", "right", lambda: plan)
    assert [p.name for p in plans_folder.glob("*.pkl")] == [f"{plan_cache.plan_key(proc, 'L4-L5', 'right')}.pkl"]
    again = plan_cache.cached_plan(proc, "L4-L5", "right", _refuse)
    assert _same(again, made) and again is not made
    assert again.needles[0].tip.tolist() == plan.needles[0].tip.tolist()


def test_the_key_follows_the_data_the_level_and_the_side():
    proc = load_procedures()["transforaminal-esi"]
    key = plan_cache.plan_key(proc, "L4-L5", "right")
    assert key == plan_cache.plan_key(load_procedures()["transforaminal-esi"], "L4-L5", "right")
    assert key != plan_cache.plan_key(proc, "L4-L5", "left")
    assert key != plan_cache.plan_key(proc, "L5-S1", "right")
    edited = proc.model_copy(update={"title": proc.title + " (edited)"})
    assert key != plan_cache.plan_key(edited, "L4-L5", "right")


def test_an_edit_to_the_planner_gives_a_new_key(tmp_path, monkeypatch):
    copy = tmp_path / "spine"
    shutil.copytree(ROOT / "spine", copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(plan_cache, "_SPINE", copy)
    plan_cache.domain_code_digest.cache_clear()
    try:
        before = plan_cache.domain_code_digest()
        planner = copy / "procedures" / "planner.py"
        planner.write_text(planner.read_text() + "\n# an edit\n")
        plan_cache.domain_code_digest.cache_clear()
        assert plan_cache.domain_code_digest() != before
    finally:
        plan_cache.domain_code_digest.cache_clear()


def test_the_digest_is_the_same_in_another_process():
    here = plan_cache.domain_code_digest()
    code = "from spine.procedures.plan_cache import domain_code_digest; print(domain_code_digest())"
    there = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here


def test_a_damaged_plan_is_reported_and_planned_again(plans_folder):
    proc = load_procedures()["caudal-esi"]
    plan = plan_needle("caudal-esi")
    plan_cache.cached_plan(proc, plan.level, None, lambda: plan)
    (entry,) = plans_folder.glob("*.pkl")
    entry.write_bytes(entry.read_bytes()[:-7] + b"damaged")
    checked_files._verified.clear()
    made = []
    again = plan_cache.cached_plan(proc, plan.level, None, lambda: made.append(1) or plan)
    assert made == [1] and _same(again, plan)
    assert checked_files.verify(entry)  # stored again, whole
