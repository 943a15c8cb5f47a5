"""The domain: the spine model, its imaging and the procedures, with no Manim and no CLI.

* :mod:`spine.anatomy` -- the parametric 3D spine (one source of truth for every view);
* :mod:`spine.imaging` -- simulated fluoroscopy computed from that model;
* :mod:`spine.procedures` -- procedures as data, the needle planner and its validator;
* :mod:`spine.videos` -- every video the project can make and the checks a request must pass;
* :mod:`spine.errors` -- :class:`~spine.errors.SpineError`, the base of every user-facing error.

Imports run one way: ``pipeline`` -> ``scenes`` -> ``spine``; nothing here imports
``scenes``, ``pipeline`` or ``voiceover``.
"""
