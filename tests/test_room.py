"""The room (scenes/kit/room.py): the patient lying as the procedure's data says and the C-arm.

Geometry of the side drawing for each posture (face down on its pillow, on the back, on the
side), and control frames of the patient-and-C-arm drawings as the position and views beats
draw them (320x180; ``pytest --update-controls`` rewrites them: review the PNGs first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from manim import LEFT, RIGHT, UP

from scenes.kit import palette
from scenes.kit.anatomy_views import SpineView
from scenes.kit.room import EndRoom, SideRoom
from spine.anatomy.model import SpineModel
from tests.control_images import check_control
from tests.test_anatomy_views import render_last_frame

CONTROL = Path(__file__).parent / "control_data" / "room"

# (procedure, level, side): a technique of each posture in the data
POSTURES = {
    "prone": ("transforaminal-esi", "L4-L5", "right"),
    "supine": ("transforaminal-esi", "C5-C6", "right"),
    "lateral": ("medial-branch-block", "C2-C3", "right"),
}


@pytest.fixture(scope="module")
def model():
    return SpineModel.default()


def _technique(name, level):
    from spine.procedures.catalog import load_procedures

    return load_procedures()[name].technique_for(level)


def _plan_and_position(name, level, side):
    from spine.procedures.planner import plan_needle

    return plan_needle(name, level, side), _technique(name, level).position


def test_the_data_has_each_posture_where_this_file_says():
    for posture, (name, level, side) in POSTURES.items():
        _plan, position = _plan_and_position(name, level, side)
        assert position.posture == posture, (name, level, position.posture)


def test_a_side_lying_patient_lies_straight_on_the_table_seen_from_behind(model):
    """On the side (the painful side up): the body rests on the table at the lower shoulder and
    the hip, clear of it at the waist and the neck; the spine runs level with the head's centre
    (the head on its pillow, the neck straight), and the upper skin, where the entry is marked,
    lies the body's width above the table. (The former drawing was the face-down profile lifted
    25 mm off the table, the head up in the air with its nose toward the feet-end.)"""
    _plan, position = _plan_and_position(*POSTURES["lateral"])
    room = SideRoom(model, position.posture, position.support, 12.4, 4.4, UP * 0.45)
    assert room._front(400) < 3.0 and room._front(880) < 3.0  # the shoulder and the hip
    assert room._front(700) > 20.0 and room._front(230) > 100.0  # the waist and the neck
    head = room.head.get_center()
    spine = room.at(230, room._spine_height(230))
    assert abs(head[1] - spine[1]) < 15 * room.k
    for u in (400, 880, 1300):
        assert abs(room.back(u) - room._front(u) - room.width_across(u)) < 1.0
    assert not hasattr(room, "nose")


def test_a_prone_patients_toes_rest_on_the_table(model):
    _plan, position = _plan_and_position(*POSTURES["prone"])
    room = SideRoom(model, position.posture, position.support, 12.4, 4.4, UP * 0.45)
    table_top = room.at(0, 0)[1]
    lowest = room.foot.get_bottom()[1]
    assert abs(lowest - table_top) < 10 * room.k  # on the table, not floating above the legs
    assert room.foot.get_left()[0] >= room.at(1670, 0)[0]  # beyond the legs' end


def _room_frame(model, posture):
    name, level, side = POSTURES[posture]
    plan, position = _plan_and_position(name, level, side)
    vertebra = level.split("-")[1]
    pose = _technique(name, level).views[0].pose(level, side, model)

    def build(scene):
        side_room = SideRoom(model, position.posture, position.support, 12.4, 3.0, UP * 2.2)
        axial = SpineView(model, "axial", axial_level=vertebra)
        bone = axial.spine_mobject(levels=[vertebra])
        entries = [n.entry for n in plan.needles]
        room = EndRoom(axial, vertebra, position.posture, side, entries, 5.6, 4.4, LEFT * 3.2 + UP * -1.6, bone=bone)
        scene.add(side_room.mobject, side_room.entry_mark(entries[0]))
        scene.add(room.patient(), room.carm(pose), *(room.entry_mark(e) for e in entries))
        scene.add(*(room.path(n.entry, n.tip) for n in plan.needles))
        lateral = EndRoom(axial, vertebra, position.posture, side, entries, 5.6, 4.4, RIGHT * 3.2 + UP * -1.6)
        scene.add(lateral.patient(), lateral.carm(pose.with_(rotation_deg=90.0)))

    return render_last_frame(build, 320, 180)


@pytest.mark.parametrize("posture", sorted(POSTURES))
def test_patient_and_carm_control_frame(model, posture, update_controls):
    frame = render_last_frame_once(model, posture)
    check_control(frame, CONTROL / f"room_{posture}.npz", "frame_data", update_controls, zoom=3, far=40, far_share=0.01)
    skin = np.array([int(palette.SKIN[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(frame[..., :3].astype(int) - skin).max(axis=-1) < 12).mean() > 0.05  # the patient is drawn


_FRAMES: dict = {}


def render_last_frame_once(model, posture):
    if posture not in _FRAMES:
        _FRAMES[posture] = _room_frame(model, posture)
    return _FRAMES[posture]
