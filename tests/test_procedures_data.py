"""Procedure data: the eleven files load, say what clinical.md says, refuse what is never
done (through ``render.py plan``, exit 2, the allowed levels named), give the narration its
fields, and a broken copy of a file fails with one clear line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from pipeline.cli import main
from spine.videos import RequestError, all_videos, resolve, video_specs
from spine.anatomy.levels import exiting_root
from spine.procedures.catalog import (
    DATA_DIR,
    PROCEDURE_ORDER,
    ProcedureDataError,
    load_procedure_file,
    load_procedures,
    narration_context,
    procedure,
)
from spine.procedures.schema import CONTRAST_PATTERNS
from tests.conftest import run_cli

CONTEXT_FIELDS = {
    "level",
    "side",
    "level_words",
    "region_words",
    "root",
    "pain_area",
    "nerves",
    "needle",
    "medication",
    "volume",
    "position",
    "contrast_pattern_words",
}


def test_all_eleven_load_in_order():
    assert list(load_procedures()) == list(PROCEDURE_ORDER)
    assert len(PROCEDURE_ORDER) == 11


@pytest.mark.parametrize(
    "name, levels",
    [
        ("interlaminar-esi", ["C6-C7", "C7-T1", "T1-T2", "T6-T7", "L4-L5", "L5-S1"]),
        (
            "transforaminal-esi",
            ["C3-C4", "C5-C6", "C7-T1", "T1-T2", "T6-T7", "T12-L1", "L1-L2", "L4-L5", "L5-S1", "S1"],
        ),
        ("selective-nerve-root-block", ["C3-C4", "C7-T1", "T1-T2", "T7-T8", "T12-L1", "L5-S1", "S1"]),
        ("caudal-esi", ["S5"]),
        ("facet-joint-injection", ["C2-C3", "T6-T7", "L5-S1"]),
        ("medial-branch-block", ["C2-C3", "C6-C7", "C7-T1", "T1-T2", "T6-T7", "T11-T12", "T12-L1", "L1-L2", "L5-S1"]),
        ("radiofrequency-ablation", ["C2-C3", "C7-T1", "T1-T2", "T6-T7", "T12-L1", "L1-L2", "L5-S1"]),
        ("si-joint-injection", ["S2"]),
        ("discography", ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]),
        ("vertebroplasty", ["T5", "T12", "L1", "L5"]),
        ("spinal-cord-stimulator-trial", ["T12-L1", "L1-L2", "L2-L3"]),
    ],
)
def test_allowed_levels_include(name, levels):
    allowed = load_procedures()[name].allowed_levels
    for level in levels:
        assert level in allowed


@pytest.mark.parametrize(
    "name, level",
    [
        ("interlaminar-esi", "C5-C6"),
        ("interlaminar-esi", "C3-C4"),
        ("facet-joint-injection", "C1-C2"),
        ("caudal-esi", "L3"),
        ("caudal-esi", "L5-S1"),
        ("si-joint-injection", "L4-L5"),
        ("discography", "C1-C2"),
        ("discography", "C5-C6"),
        ("vertebroplasty", "T4"),
        ("vertebroplasty", "C3"),
        ("vertebroplasty", "S1"),
        ("transforaminal-esi", "C1-C2"),
        ("transforaminal-esi", "C2-C3"),
        ("spinal-cord-stimulator-trial", "L4-L5"),
        ("medial-branch-block", "C1-C2"),
        ("radiofrequency-ablation", "C1-C2"),
    ],
)
def test_never_done_levels_are_not_allowed(name, level):
    assert level not in load_procedures()[name].allowed_levels


def test_exactly_these_levels():
    procs = load_procedures()
    assert procs["caudal-esi"].allowed_levels == ["S5"]
    assert procs["si-joint-injection"].allowed_levels == ["S2"]
    assert procs["discography"].allowed_levels == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    assert procs["spinal-cord-stimulator-trial"].allowed_levels == ["T12-L1", "L1-L2", "L2-L3"]
    facets = [s for s in __import__("spine.anatomy.levels", fromlist=["INTERSPACES"]).INTERSPACES if s != "C1-C2"]
    for name in ("medial-branch-block", "radiofrequency-ablation", "facet-joint-injection"):
        assert procs[name].allowed_levels == facets, name  # every facet joint C2-C3..L5-S1
    assert procs["vertebroplasty"].allowed_levels == [f"T{k}" for k in range(5, 13)] + [f"L{k}" for k in range(1, 6)]
    assert procs["interlaminar-esi"].allowed_levels[:3] == ["C6-C7", "C7-T1", "T1-T2"]
    assert procs["vertebroplasty"].variants[0].name == "kyphoplasty"


def test_medial_branch_nerves_follow_the_reference_table():
    for name in ("medial-branch-block", "radiofrequency-ablation"):
        table = load_procedures()[name].nerve_table
        assert [n.name for n in table["L4-L5"]] == ["L3 medial branch", "L4 medial branch"]
        assert [n.at for n in table["L4-L5"]] == ["L4", "L5"]  # Ln's branch crosses the TP of L(n+1)
        assert [n.name for n in table["L5-S1"]] == ["L4 medial branch", "L5 dorsal ramus"]
        assert [n.name for n in table["C2-C3"]] == ["third occipital nerve"]
        ctx = narration_context(load_procedures()[name], "L4-L5", "left")
        assert ctx["nerves"] == "the L3 and L4 medial branch nerves"
        assert (
            narration_context(load_procedures()[name], "L5-S1", "left")["nerves"]
            == "the L4 medial branch and the L5 dorsal ramus"
        )


def test_confirmation_and_safety_rules():
    procs = load_procedures()
    rf = procs["radiofrequency-ablation"].technique_for("L4-L5").confirmation.stimulation
    assert rf.sensory_hz == 50 and rf.sensory_max_v == 0.5 and rf.motor_hz == 2
    disco = procs["discography"].technique_for("L4-L5").confirmation.manometry
    assert disco.max_psi == 50 and disco.concordant_pain_min == 7
    cervical_tf = procs["transforaminal-esi"].technique_for("C5-C6")
    assert cervical_tf.confirmation.dsa == "strongly_advised"
    assert not any(d.particulate for d in cervical_tf.medication.drugs)
    assert any("particulate" in w for w in cervical_tf.warnings)
    for name, proc in procs.items():
        for tech in proc.techniques:
            if tech.confirmation.contrast:
                assert tech.confirmation.contrast in CONTRAST_PATTERNS
            assert tech.views[0].view in ("ap", "lateral")


def test_views_map_onto_carm_poses():
    from spine.imaging.carm import CArmPose

    tf = procedure("transforaminal-esi").technique_for("L4-L5")
    scotty = next(v for v in tf.views if v.coaxial)
    right = scotty.pose("L4-L5", "right")
    left = scotty.pose("L4-L5", "left")
    assert isinstance(right, CArmPose) and right.view == "oblique"
    assert right.rotation_deg == pytest.approx(-25.0) and left.rotation_deg == pytest.approx(25.0)
    si = procedure("si-joint-injection").technique_for("S2")
    clo = next(v for v in si.views if v.view == "oblique")
    assert clo.pose("S2", "right").rotation_deg > 0  # contralateral: detector away from the right joint
    for proc in load_procedures().values():
        for tech in proc.techniques:
            for view in tech.views:
                for side in ("left", "right") if proc.sided else (None,):
                    pose = view.pose(tech.levels[0], side)
                    assert -45 <= pose.tilt_deg <= 45


@pytest.mark.parametrize("name", ["transforaminal-esi", "selective-nerve-root-block"])
def test_transforaminal_context_names_the_exiting_root(name):
    proc = load_procedures()[name]
    expected = {"L4-L5": "L4", "C5-C6": "C6", "C7-T1": "C8", "L5-S1": "L5", "S1": "S1"}
    for level in proc.allowed_levels:
        ctx = resolve(name, level, "left").script_context()
        want = "S1" if level == "S1" else exiting_root(level)
        assert ctx["root"] == want
        assert ctx["nerves"] == f"the {want} nerve root"
        if level in expected:
            assert ctx["root"] == expected[level]


def test_context_has_every_field_for_every_video():
    for spec in video_specs():
        for level in spec.levels:
            ctx = resolve(spec.name, level, None).script_context()
            want = CONTEXT_FIELDS if spec.sides else CONTEXT_FIELDS - {"side"}
            assert want <= set(ctx), (spec.name, level, want - set(ctx))
            assert all(isinstance(v, str) for v in ctx.values())
    ctx = resolve("interlaminar-esi", "L4-L5", "right").script_context()
    assert ctx["region_words"] == "lower back" and ctx["position"] == "lying face down"
    assert ctx["needle"] == "a 20-gauge needle with a blunt, curved tip"
    assert resolve("interlaminar-esi", "C7-T1", None).script_context()["region_words"] == "neck"
    assert resolve("caudal-esi").script_context()["region_words"] == "sacrum"
    assert resolve("vertebroplasty", "T8", None).script_context()["region_words"] == "mid back"
    assert resolve("discography", "L4-L5", "right").script_context()["entry_side"] == "left"


def test_video_specs_follow_the_overview_and_atlas():
    names = list(all_videos())
    assert names[:2] == ["overview", "spine-atlas"]
    assert names[2:] == list(PROCEDURE_ORDER)
    specs = {s.name: s for s in video_specs()}
    assert specs["caudal-esi"].sides == () and specs["si-joint-injection"].sides == ("left", "right")
    for spec in specs.values():
        assert spec.scene == "scenes.procedure_scene:ProcedureScene" and spec.procedure == spec.name
        assert spec.default_level in spec.levels


def test_list_json_shows_all_eleven_with_levels():
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    for name, data in load_procedures().items():
        assert rows[name]["levels"] == data.allowed_levels
        assert rows[name]["procedure"] == name
        assert rows[name]["default_level"] == data.default_level


FORBIDDEN = [
    (["caudal-esi", "--level", "L3"], "caudal epidural injections are given only through the sacral hiatus", ["S5"]),
    (["si-joint-injection", "--level", "L4-L5"], "sacroiliac joint", ["S2"]),
    (["interlaminar-esi", "--level", "C3-C4"], "preferably not above C6-C7", ["C6-C7 to L5-S1"]),
    (["facet-joint-injection", "--level", "C1-C2"], "not a true facet joint", ["C2-C3 to L5-S1"]),
    (["transforaminal-esi", "--level", "T13"], "T1–T12", ["C3-C4 to L5-S1", "S1"]),
    (["transforaminal-esi", "--level", "C2-C3"], "does not show it yet", ["C3-C4 to L5-S1", "S1"]),
    (["vertebroplasty", "--level", "C3"], "is done at C3, but this catalog does not show it yet", ["T5 to L5"]),
    (
        ["discography", "--level", "T6-T7"],
        "is done at T6-T7, but this catalog does not show it yet",
        ["L1-L2 to L5-S1"],
    ),
    (["spinal-cord-stimulator-trial", "--level", "L4-L5"], "T12-L1", ["T12-L1, L1-L2, L2-L3"]),
    (["medial-branch-block", "--level", "L4"], "not named by L4", ["C2-C3 to L5-S1"]),
    (["caudal-esi", "--side", "left"], "no side", []),
    (["overview"], "procedure", ["transforaminal-esi"]),
]


@pytest.mark.parametrize("args, why, allowed", FORBIDDEN, ids=[" ".join(a) for a, _, _ in FORBIDDEN])
def test_plan_refuses_with_one_line_naming_the_allowed_levels(args, why, allowed, capsys):
    code = main(["plan", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert why in err
    for text in allowed:
        assert text in err


def test_render_py_plan_exits_2_as_a_process():
    proc = run_cli("plan", "caudal-esi", "--level", "L3")
    assert proc.returncode == 2
    assert "is not done at L3: caudal epidural injections are given only through the sacral hiatus" in proc.stderr
    assert "allowed levels: S5" in proc.stderr
    assert proc.stdout == ""


def test_plan_needle_refuses_like_the_cli():
    from spine.procedures.planner import plan_needle

    with pytest.raises(RequestError, match="allowed levels: C2-C3 to L5-S1"):
        plan_needle("facet-joint-injection", "C1-C2", "left")


# -- broken copies -------------------------------------------------------------------------------


def _broken(tmp_path, name, edit):
    data = yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text())
    edit(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _technique(data, tech_id):
    return next(t for t in data["techniques"] if t["id"] == tech_id)


BROKEN = [
    ("caudal-esi", lambda d: d["techniques"][0].update(levels=["S6"]), "no vertebra 'S6'"),
    ("caudal-esi", lambda d: d.update(default_level="L3"), "default_level L3 is not an allowed level"),
    ("caudal-esi", lambda d: d.update(colour="red"), "colour: Extra inputs are not permitted"),
    ("caudal-esi", lambda d: d.update(default_side="left"), "unsided procedure takes no default_side"),
    ("caudal-esi", lambda d: d["techniques"][0]["confirmation"].update(contrast_live=False), "live contrast"),
    ("caudal-esi", lambda d: d["techniques"][0]["needle"].update(gauge=22), "'22-gauge'"),
    ("caudal-esi", lambda d: d["techniques"][0]["confirmation"].update(contrast="smoke"), "contrast"),
    (
        "interlaminar-esi",
        lambda d: d["techniques"][0].update(levels=["C5-C6..T1-T2"]),
        "advised_against names allowed level(s) C5-C6",
    ),
    ("interlaminar-esi", lambda d: d["techniques"][2].update(levels=["L4"]), "done at interspaces"),
    (
        "transforaminal-esi",
        lambda d: _technique(d, "cervical")["medication"]["drugs"].append(
            {"name": "triamcinolone", "role": "steroid", "particulate": True}
        ),
        "never particulate steroid",
    ),
    ("discography", lambda d: d["techniques"][0]["confirmation"].pop("manometry"), "needs manometry"),
    ("medial-branch-block", lambda d: d["nerve_table"].pop("L4-L5"), "nerve_table has no nerves for joint(s) L4-L5"),
    ("radiofrequency-ablation", lambda d: d["common"]["confirmation"].pop("stimulation"), "stimulation test"),
    (
        "vertebroplasty",
        lambda d: d["techniques"][0].update(levels=["T4..T12"]),
        "not_covered names allowed level(s) T4",
    ),
    (
        "vertebroplasty",
        lambda d: d["not_done"].append({"levels": ["T2"], "reason": "x"}),
        "not_covered names level(s) T2 already in not_done",
    ),
    (
        "caudal-esi",
        lambda d: d["techniques"][0]["medication"]["drugs"][0].pop("particulate"),
        "must say particulate: true or false",
    ),
    (
        "caudal-esi",
        lambda d: d["techniques"][0]["medication"]["drugs"][0].update(name="prednisolone"),
        "unknown steroid 'prednisolone'",
    ),
    (
        "spinal-cord-stimulator-trial",
        lambda d: d["techniques"][0]["views"][1].update(view="oblique"),
        "needs oblique_deg and side",
    ),
]


@pytest.mark.parametrize("name, edit, message", BROKEN, ids=[f"{n}-{m[:24]}" for n, _, m in BROKEN])
def test_broken_copy_fails_with_a_clear_line(tmp_path, name, edit, message):
    path = _broken(tmp_path, name, edit)
    with pytest.raises(ProcedureDataError) as info:
        load_procedure_file(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{name}.yaml: ")
    assert message in text, text


def test_broken_yaml_and_wrong_name(tmp_path):
    bad = tmp_path / "caudal-esi.yaml"
    bad.write_text("name: caudal-esi\ntechniques: [\n")
    with pytest.raises(ProcedureDataError, match=r"caudal-esi.yaml:\d+:\d+: not valid YAML"):
        load_procedure_file(bad)
    renamed = tmp_path / "caudal.yaml"
    shutil.copy(DATA_DIR / "caudal-esi.yaml", renamed)
    with pytest.raises(ProcedureDataError, match="must match the file name 'caudal'"):
        load_procedure_file(renamed)


def test_a_broken_directory_fails_when_loaded(tmp_path):
    for path in DATA_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    _broken(tmp_path, "si-joint-injection", lambda d: d.update(default_level="L4-L5"))
    with pytest.raises(ProcedureDataError, match="si-joint-injection.yaml: default_level"):
        load_procedures(tmp_path)


def test_stimulator_lead_view_is_centred_where_the_lead_tip_goes():
    """The 'AP over T8-T10' view is taken over T9, where the lead tip is steered, not over the
    entry level (L2-L3); every other view stays at the procedure's level."""
    from spine.anatomy.model import SpineModel

    model = SpineModel.default()
    tech = procedure("spinal-cord-stimulator-trial").technique_for("L2-L3")
    over = next(v for v in tech.views if "T8-T10" in v.name)
    pose = over.pose("L2-L3", "left", model)
    assert pose.level == "T9"
    assert np.linalg.norm(np.asarray(pose.isocentre) - np.asarray(model.level_centre("T9"))) < 15.0
    first = tech.views[0].pose("L2-L3", "left", model)
    assert first.level == "L2-L3"
