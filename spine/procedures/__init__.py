"""Spinal injection procedures as data, and the needle plans that carry them out.

* :mod:`.schema` -- the pydantic models a data file is validated against;
* :mod:`.catalog` -- ``load_procedures()``, ``procedure(name)``, ``video_specs()`` and the
  narration context;
* :mod:`.planner` -- ``plan_needle(name, level, side)``: the validated 3D needle path;
* :mod:`.validator` -- ``validate(plan)``: the checks every plan must pass.
"""
