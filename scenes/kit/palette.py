"""One palette for every video.

Colours are taken from the Okabe-Ito colour-blind-safe set where a structure must be
told apart from its neighbours, and every colour has enough contrast on ``BACKGROUND``.
Nothing is shown only in colour: structures are also labelled in words.
"""

from __future__ import annotations

BACKGROUND = "#101820"  # deep blue-black
PANEL = "#1B2733"  # panels and cards behind text
TEXT = "#F4F4F0"  # titles, labels (contrast 15:1 on BACKGROUND)
TEXT_MUTED = "#B8C4CE"  # secondary text (contrast 9:1)
ACCENT = "#56B4E9"  # sky blue: highlights, level markers

BONE = "#E8DCC4"  # vertebrae, sacrum, pelvis
BONE_SHADE = "#B9AB8F"  # far-side / posterior elements, outlines of bone
DISC = "#56B4E9"  # annulus (sky blue)
NUCLEUS = "#9AD3F5"  # nucleus pulposus (light blue)
CORD = "#E69F00"  # spinal cord (orange)
NERVE = "#F0E442"  # nerve roots and medial branches (yellow)
DURA = "#8FA7B5"  # dural sac outline (grey-blue)
LIGAMENT = "#C9A66B"  # ligamentum flavum and other ligaments
# The shaded illustration (medical-illustration colours of the style guide)
OUTLINE = "#3A3226"  # thin dark outline of shaded structures
DURA_SAC = "#A9C8DC"  # dural sac, drawn translucent pale blue
LIGAMENT_FLAVUM = "#E8C27A"  # pale yellow-orange
EPIDURAL_FAT = "#F3E3A0"  # light yellow, translucent
JOINT = "#CC79A7"  # facet / SI joint capsule (reddish purple)
INFLAMMATION = "#D55E00"  # vermillion glow of an inflamed root or joint
MEDICATION = "#009E73"  # bluish green: the injected medicine
CONTRAST = "#F7F7F7"  # contrast medium on the illustration (white, as it looks)
NEEDLE = "#D0D7DE"  # steel
NEEDLE_TIP = "#FFFFFF"
NEEDLE_EDGE = "#0B0F14"  # the dark edge that sets the steel off ivory bone and the glow
SKIN = "#E1A98C"
WARNING = "#D55E00"
OK = "#009E73"

# Regions of the spine, used for region bands and labels.
REGION_COLOURS = {
    "cervical": "#56B4E9",
    "thoracic": "#E69F00",
    "lumbar": "#009E73",
    "sacral": "#CC79A7",
    "coccygeal": "#B8C4CE",
}
