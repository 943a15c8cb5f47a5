"""Sizes of every vertebra and interspace (millimetres, degrees).

Where a number comes from:

* ``[ref]`` = section 1 of the project's ``shared/reference/clinical.md`` (the source of truth):
  vertebral body sizes per region [27], curvature [27], epidural depth, ligamentum flavum
  thickness [12, 27], conus and dural-sac ends.
* ``[typical]`` = a typical adult value from the morphometry literature (Panjabi's
  cervical/thoracic/lumbar series, Zindrick's pedicle series) that clinical.md does not
  give; it is only used to draw a plausible shape and is never narrated as a number.

All lengths scale with :attr:`SpineParameters.size_scale`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "VertebraSize",
    "InterspaceSize",
    "VERTEBRA_SIZES",
    "INTERSPACE_SIZES",
    "ROOT_RADII",
    "SACRAL_INTERSEGMENT_GAP",
    "COCCYGEAL_INTERSEGMENT_GAP",
    "SACRAL_SEGMENTAL_DEG",
    "PublishedMeasure",
    "PUBLISHED_MORPHOMETRY",
    "UNSOURCED_MORPHOMETRY",
]


@dataclass(frozen=True)
class VertebraSize:
    """One vertebra's dimensions in its local frame (x left, y posterior, z superior).

    ``body_*``: height (z), depth (y, AP) and width (x) of the vertebral body.
    ``canal_*``: AP depth and width of the spinal canal behind the body.
    ``pedicle_*``: transverse width, height, length (body wall to the articular pillar) and
    convergence (medial angle of the pedicle axis from the sagittal plane).
    ``lamina_*``: thickness, cranio-caudal height, sagittal slope (lower edge posterior).
    ``sp_*``: spinous process length from the spinolaminar junction, angle below the
    horizontal, height and thickness. ``tp_*``: transverse process length from the pillar,
    backward and upward angles, AP thickness and height.
    ``epidural_dorsal``: depth of the dorsal epidural space (dura to ligamentum flavum).
    """

    name: str
    body_height: float
    body_depth: float
    body_width: float
    canal_depth: float
    canal_width: float
    pedicle_width: float
    pedicle_height: float
    pedicle_length: float
    pedicle_convergence_deg: float
    lamina_thickness: float
    lamina_height: float
    lamina_slope_deg: float
    sp_length: float
    sp_angle_deg: float
    sp_height: float
    sp_thickness: float
    tp_length: float
    tp_back_deg: float
    tp_up_deg: float
    tp_thickness: float
    tp_height: float
    epidural_dorsal: float


@dataclass(frozen=True)
class InterspaceSize:
    """One interspace: disc height at the centre, the segmental sagittal angle (positive =
    lordotic, i.e. the upper vertebra tilts back relative to the lower one), the facet
    joint orientation (``facet_theta_deg``: angle of the joint plane from the sagittal
    plane in the axial view; ``facet_psi_deg``: upward tilt of the joint's normal, 0 for
    vertical joints), facet joint height, and ligamentum flavum thickness."""

    name: str
    disc_height: float
    segmental_deg: float
    facet_theta_deg: float
    facet_psi_deg: float
    facet_height: float
    lf_thickness: float


def _v(name, h, d, w, cd, cw, pw, ph, pl, pc, lt, lh, ls, sl, sa, sh, st, tl, tb, tu, tt, th, epi):
    return VertebraSize(name, h, d, w, cd, cw, pw, ph, pl, pc, lt, lh, ls, sl, sa, sh, st, tl, tb, tu, tt, th, epi)


# fmt: off
# Columns: body h, d, w | canal d, w | pedicle w, h, len, convergence | lamina t, h, slope |
#          SP len, angle, h, t | TP len, back, up, t, h | dorsal epidural depth
VERTEBRA_SIZES: tuple[VertebraSize, ...] = (
    # C1 has no body [ref]; body_* describe the ring (height of the lateral masses); its
    # arches and lateral masses are built specially. C2 has the dens [ref].
    _v("C1", 14.0, 0.0, 0.0, 30.0, 28.0, 0, 0, 0, 0, 5.0, 8.0, 0, 8.0, 10, 8.0, 6.0, 16.0, 0, 0, 6.0, 7.0, 1.5),
    _v("C2", 16.0, 15.5, 17.5, 16.0, 22.0, 7.5, 9.0, 9.0, 35, 6.0, 13.0, 20, 18.0, 20, 13.0, 10.0, 8.0, 10, 0, 5.0, 6.0, 1.5),
    # C3-C7 bodies: height ~10-11, depth ~14.5, width ~20-22, depth > height, C7 largest [ref]
    # C3 pedicle 5.2 mm wide (5.5 before): within the CT series below (means 4.4 and 4.9 mm)
    # [Al21, BS08]; no narrower, as the C3 posterior bar starts at the pedicle and a narrower one
    # opens the transverse foramen past 8 mm front to back
    _v("C3", 10.2, 14.5, 20.0, 14.5, 23.5, 5.2, 7.0, 7.0, 45, 3.0, 10.0, 30, 11.0, 20, 7.0, 5.0, 9.0, 0, 0, 4.0, 5.0, 1.3),
    _v("C4", 10.4, 14.6, 20.5, 14.3, 24.0, 5.6, 7.0, 7.0, 45, 3.0, 10.0, 30, 11.0, 20, 7.0, 5.0, 9.0, 0, 0, 4.0, 5.0, 1.3),
    _v("C5", 10.6, 14.8, 21.0, 14.2, 24.5, 5.8, 7.2, 7.0, 45, 3.0, 10.0, 30, 12.0, 20, 7.0, 5.0, 9.5, 0, 0, 4.0, 5.0, 1.3),
    _v("C6", 10.8, 15.2, 21.5, 14.3, 24.5, 6.0, 7.2, 7.5, 42, 3.2, 10.5, 30, 18.0, 22, 8.0, 6.0, 10.0, 0, 0, 4.0, 5.0, 1.3),
    _v("C7", 11.2, 16.0, 22.0, 14.8, 24.0, 6.5, 7.5, 8.0, 35, 3.5, 11.0, 30, 30.0, 25, 9.0, 7.0, 17.0, 5, 0, 5.0, 6.0, 1.5),
    # Thoracic bodies: anterior height ~17-19 mm for T2-T9 [ref]; T1 smaller, T10-T12 taller.
    # Spinous processes long, steep and overlapping [ref] (steepest T5-T8). Canal 15 x 18 mm at
    # T2-T10 (between the dry-bone and CT series below: Kaur 2016 measures 20.0 x 21.1 mm at its
    # narrowest, T4/T5); pedicles narrowest at T5, 4.1 mm (3.65-5.09 mm in the series below).
    # T9 pedicle 5.9 mm wide (6.5 before): two CT series put T9's mean at 5.02 and 5.65 mm [Ch03, Si10].
    _v("T1", 14.5, 17.0, 27.0, 16.0, 21.0, 7.5, 9.5, 8.0, 25, 5.0, 17.0, 30, 40.0, 25, 10.0, 7.0, 22.0, 22, 5, 8.0, 9.0, 2.0),
    _v("T2", 16.5, 18.0, 27.5, 15.0, 18.0, 6.5, 11.0, 8.0, 18, 5.0, 19.0, 32, 40.0, 35, 9.0, 6.0, 21.0, 25, 5, 8.0, 9.0, 2.5),
    _v("T3", 17.0, 19.5, 28.0, 15.0, 18.0, 5.5, 11.5, 8.0, 10, 5.0, 19.5, 34, 40.0, 45, 9.0, 6.0, 20.0, 28, 5, 8.0, 9.0, 3.0),
    _v("T4", 17.5, 21.0, 28.5, 15.0, 18.0, 5.0, 11.5, 8.5, 8, 5.0, 20.0, 35, 42.0, 55, 9.0, 6.0, 19.0, 30, 5, 8.0, 9.0, 3.0),
    _v("T5", 17.8, 22.5, 29.5, 15.0, 18.0, 4.1, 11.5, 8.5, 8, 5.0, 20.5, 35, 42.0, 60, 9.0, 6.0, 18.0, 32, 5, 8.0, 9.0, 3.5),
    _v("T6", 18.0, 24.0, 30.5, 15.0, 18.0, 5.2, 12.0, 8.5, 8, 5.0, 21.0, 35, 42.0, 62, 9.0, 6.0, 17.0, 34, 5, 8.0, 9.0, 3.5),
    _v("T7", 18.3, 25.5, 31.5, 15.0, 18.0, 5.5, 12.0, 8.5, 8, 5.0, 21.0, 35, 42.0, 62, 9.0, 6.0, 16.0, 36, 5, 8.0, 9.0, 4.0),
    _v("T8", 18.6, 27.0, 33.0, 15.0, 18.0, 6.0, 12.5, 9.0, 8, 5.0, 21.5, 34, 40.0, 60, 9.0, 6.0, 15.0, 38, 5, 8.0, 9.0, 4.0),
    _v("T9", 19.0, 28.0, 34.5, 15.0, 18.0, 5.9, 13.0, 9.0, 8, 5.5, 21.5, 32, 38.0, 52, 10.0, 6.0, 14.0, 40, 5, 8.0, 9.0, 4.0),
    _v("T10", 20.5, 29.0, 36.5, 15.0, 18.0, 7.0, 14.0, 9.5, 6, 5.5, 22.0, 30, 35.0, 40, 11.0, 6.0, 13.0, 40, 5, 8.0, 9.0, 4.0),
    _v("T11", 22.0, 29.5, 38.5, 16.0, 20.0, 8.0, 16.0, 10.0, 5, 6.0, 22.0, 26, 32.0, 28, 13.0, 6.5, 10.0, 35, 5, 7.0, 9.0, 4.0),
    _v("T12", 23.0, 30.0, 40.0, 17.0, 22.0, 8.0, 16.0, 10.0, 5, 6.0, 22.0, 22, 30.0, 18, 15.0, 7.0, 9.0, 30, 5, 7.0, 9.0, 4.5),
    # Lumbar bodies: height 20-30, depth 30-35, width 40-50, L4/L5 largest [ref];
    # pedicle widths and convergence [typical] (L5 widest and most convergent).
    # TP lengths: spans tip to tip ~72 (L1) to ~87 mm (L3, the longest) [P92 below]
    _v("L1", 24.0, 30.5, 41.0, 17.5, 22.0, 8.5, 15.0, 10.0, 11, 6.0, 20.0, 18, 30.0, 15, 18.0, 7.0, 18.0, 12, 0, 6.0, 10.0, 4.5),
    _v("L2", 25.0, 31.5, 43.0, 17.0, 22.5, 9.0, 15.0, 10.0, 12, 6.5, 20.5, 16, 31.0, 10, 18.0, 7.5, 19.5, 10, 0, 6.0, 10.0, 5.5),
    _v("L3", 26.0, 32.5, 45.0, 16.5, 23.0, 10.5, 14.5, 10.5, 14, 6.5, 21.0, 15, 32.0, 8, 17.0, 8.0, 22.0, 8, 0, 6.0, 10.0, 5.5),
    _v("L4", 27.0, 33.5, 47.0, 16.5, 24.0, 12.0, 14.0, 10.5, 18, 7.0, 21.0, 15, 30.0, 8, 16.0, 8.0, 18.0, 8, 0, 7.0, 11.0, 5.0),
    _v("L5", 27.0, 34.5, 49.5, 17.5, 26.0, 15.0, 14.0, 10.0, 26, 7.0, 20.0, 15, 24.0, 10, 14.0, 8.0, 14.0, 0, 5, 10.0, 14.0, 4.5),
    # Sacrum: five fused segments (S1-S5) [ref]; body sizes shrink caudally [typical].
    # canal_* = sacral canal; sp_* = median crest tubercles; tp_length = lateral reach of
    # the lateral mass from the body (ala at S1).
    _v("S1", 29.0, 31.0, 46.0, 13.0, 28.0, 14.0, 16.0, 9.0, 20, 7.0, 24.0, 0, 10.0, 0, 10.0, 6.0, 30.0, 0, 0, 30.0, 28.0, 4.5),
    _v("S2", 24.0, 24.0, 36.0, 11.0, 24.0, 0, 0, 0, 0, 6.0, 22.0, 0, 9.0, 0, 9.0, 5.0, 30.0, 0, 0, 22.0, 22.0, 4.0),
    _v("S3", 20.0, 19.0, 28.0, 9.0, 20.0, 0, 0, 0, 0, 5.0, 18.0, 0, 7.0, 0, 8.0, 5.0, 26.0, 0, 0, 17.0, 18.0, 4.0),
    _v("S4", 16.0, 15.0, 22.0, 7.0, 16.0, 0, 0, 0, 0, 4.0, 14.0, 0, 0.0, 0, 0.0, 0.0, 19.0, 0, 0, 13.0, 14.0, 3.0),
    _v("S5", 12.0, 11.0, 16.0, 6.0, 13.0, 0, 0, 0, 0, 0.0, 0.0, 0, 0.0, 0, 0.0, 0.0, 12.0, 0, 0, 9.0, 10.0, 2.0),
    # Coccyx: drawn as four small segments [ref]; sizes [typical].
    _v("Co1", 9.0, 10.0, 14.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6.0, 0, 0, 5.0, 5.0, 0),
    _v("Co2", 8.0, 8.5, 11.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    _v("Co3", 7.0, 7.0, 9.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    _v("Co4", 5.5, 5.5, 7.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
)

# Segmental angles (degrees; + lordotic, - kyphotic), clinical.md section 1 [ref]:
#   cervical lordosis ~15 deg over C2-C7 (2+3+3.5+3.5+3 = 15);
#   thoracic kyphosis 35 deg over T1-T12 (within 20-40), largest in the middle so the
#   apex is at T6-T7; the thoracolumbar junction about straight (T12-L1 = 0);
#   lumbar lordosis 60 deg L1-S1 with two thirds (40 deg) at L4-S1, apex L3-L4.
# Disc heights at the centre [typical]; facet orientation [typical]: cervical joints
# inclined ~45 deg (normal tilted up 45), thoracic near-coronal, lumbar turning from
# near-sagittal (L1-L2) to more coronal (L5-S1). Ligamentum flavum ~3.2-3.7 mm lumbar [ref].
INTERSPACE_SIZES: tuple[InterspaceSize, ...] = (
    InterspaceSize("C1-C2", 0.0, 0.0, 90, 0, 10.0, 1.5),
    InterspaceSize("C2-C3", 5.0, 2.0, 95, 45, 9.0, 1.8),
    InterspaceSize("C3-C4", 5.2, 3.0, 95, 45, 9.0, 1.8),
    InterspaceSize("C4-C5", 5.4, 3.5, 95, 45, 9.0, 2.0),
    InterspaceSize("C5-C6", 5.5, 3.5, 95, 45, 9.0, 2.0),
    InterspaceSize("C6-C7", 5.5, 3.0, 95, 42, 9.5, 2.2),
    InterspaceSize("C7-T1", 5.0, -1.0, 100, 35, 10.0, 2.5),
    InterspaceSize("T1-T2", 4.0, -2.0, 110, 30, 11.0, 2.5),
    InterspaceSize("T2-T3", 4.0, -3.0, 110, 30, 11.0, 2.5),
    InterspaceSize("T3-T4", 4.2, -3.5, 110, 30, 11.0, 2.6),
    InterspaceSize("T4-T5", 4.3, -4.0, 110, 30, 11.0, 2.6),
    InterspaceSize("T5-T6", 4.4, -4.0, 110, 30, 11.0, 2.7),
    InterspaceSize("T6-T7", 4.5, -4.0, 110, 30, 11.0, 2.7),
    InterspaceSize("T7-T8", 4.6, -4.0, 110, 30, 11.5, 2.8),
    InterspaceSize("T8-T9", 4.8, -3.5, 110, 30, 11.5, 2.8),
    InterspaceSize("T9-T10", 5.0, -3.0, 105, 25, 12.0, 2.9),
    InterspaceSize("T10-T11", 5.5, -2.5, 95, 20, 12.5, 3.0),
    InterspaceSize("T11-T12", 6.0, -1.5, 60, 10, 13.0, 3.0),
    InterspaceSize("T12-L1", 7.0, 0.0, 30, 0, 14.0, 3.2),
    InterspaceSize("L1-L2", 8.0, 4.0, 30, 0, 15.0, 3.3),
    InterspaceSize("L2-L3", 9.0, 7.0, 35, 0, 15.0, 3.4),
    InterspaceSize("L3-L4", 10.0, 9.0, 40, 0, 16.0, 3.5),
    InterspaceSize("L4-L5", 11.0, 17.0, 45, 0, 16.0, 3.6),
    InterspaceSize("L5-S1", 10.0, 23.0, 55, 0, 16.0, 3.5),
)
# fmt: on

# Fused remnant "discs" inside the sacrum and coccyx, and their sagittal curve (kyphotic,
# so the lower sacrum and the coccyx curve forward; the curve is greater in the lower half,
# S2-S5, so the pelvic surface is a hollow deepest at about S3 [Gray's Anatomy, 41st ed.,
# ch. 80]). The angles [typical]: 48 deg over the sacrum puts the model's pelvic surface at S3
# about 9 mm behind the line from the promontory to the apex (30 deg gave 5 mm, and a lateral
# view read the bone as a straight block).
SACRAL_INTERSEGMENT_GAP = 2.0
COCCYGEAL_INTERSEGMENT_GAP = 1.5
SACRAL_SEGMENTAL_DEG = {
    "S1-S2": -5.0,
    "S2-S3": -12.0,
    "S3-S4": -15.0,
    "S4-S5": -16.0,
    "S5-Co1": -12.0,
    "Co1-Co2": -10.0,
    "Co2-Co3": -10.0,
    "Co3-Co4": -10.0,
}

# Radius of each nerve root as drawn (the dorsal root ganglion is the widest part) [typical].
ROOT_RADII: dict[str, float] = {
    **{f"C{k}": 2.2 for k in range(2, 9)},
    "C1": 1.2,
    **{f"T{k}": 1.7 for k in range(1, 13)},
    "L1": 2.4,
    "L2": 2.5,
    "L3": 2.7,
    "L4": 2.9,
    "L5": 3.0,
    "S1": 3.0,
    "S2": 2.5,
    "S3": 2.0,
    "S4": 1.5,
    "S5": 1.0,
    "Co1": 0.8,
}


# -- published morphometry the model is tested against (mean, SD; mm) ------------------------
# Sources (the key in brackets is the ``source`` of each row below):
#   [P92]  Panjabi MM, Goel V, Oxland T, et al. Human lumbar vertebrae: quantitative
#          three-dimensional anatomy. Spine 1992;17(3):299-306 (60 vertebrae, L1-L5).
#   [Z00]  Zhou SH, McCarthy ID, McGregor AH, et al. Geometrical dimensions of the lower lumbar
#          vertebrae - analysis of data from digitised CT images. Eur Spine J 2000;9:242-8.
#   [Zi87] Zindrick MR, Wiltse LL, Doornik A, et al. Analysis of the morphometric
#          characteristics of the thoracic and lumbar pedicles. Spine 1987;12(2):160-6.
#   [P91t] Panjabi MM, Takata K, Goel V, et al. Thoracic human vertebrae: quantitative
#          three-dimensional anatomy. Spine 1991;16(8):888-901.
#   [P91c] Panjabi MM, Duranceau J, Goel V, et al. Cervical human vertebrae: quantitative
#          three-dimensional anatomy of the middle and lower regions. Spine 1991;16(8):861-9.
#          (The rows marked P92/Z00, Zi87, P91t and P91c were first written from those series; the
#          papers' full per-level tables could not be checked again here, so the levels they
#          do not cover are taken from the studies below, whose numbers are quoted as printed.)
#   [CB21] Cook WH, Baker JF. Comparative analysis of lumbar spine vertebral morphology between
#          Maori and New Zealand Europeans: a computed tomography study. Int J Spine Surg
#          2021;15(6):1072-81 (CT, 196 patients), table 6, all patients, L5 (anterior body height
#          30.3 +- 1.9 mm as well).
#   [Bh25] Bhat N, Rao L, Shetty A, et al. Morphometric analysis of the fifth lumbar vertebra (L5):
#          anatomical dimensions and clinical implications in South Indian population. Transl Res
#          Anat 2025 (doi 10.1016/j.tria.2025.100392; 50 dry L5): upper endplate AP 3.35 +- 0.41 cm,
#          transverse 4.74 +- 1.39 cm.
#   [Ch05] Christodoulou AG, Apostolou T, Ploumis A, et al. Pedicle dimensions of the thoracic and
#          lumbar vertebrae in the Greek population. Clin Anat 2005;18(6):404-8 (16 cadaver spines):
#          external transverse pedicle diameter L5 13.61 (10.29-16.20) mm, T5 5.09 (4.10-6.88);
#          external sagittal T11 17.02 (14.84-19.57), T1 8.90 (7.18-11.37). Ranges only: the SD
#          below is a quarter of the range.
#   [Ka16] Kaur K, Singh R, Prasath V, Magu S, Tanwar M. Computed tomographic-based morphometric
#          study of thoracic spine and its relevance to anaesthetic and spinal surgical procedures.
#          J Clin Orthop Trauma 2016;7(2):101-8 (CT, 50 patients, 600 vertebrae): pedicle width T1
#          9.27 +- 1.01, T4 4.5 +- 0.93, T12 8.31 +- 1.83 mm; the canal narrowest at T4/T5, 20.02 +-
#          1.23 AP and 21.12 +- 1.23 between the pedicles.
#   [Cur]  Thoracic pedicle morphometry of dry vertebral columns in relation to trans-pedicular
#          fixation: a cross-sectional study from central India. Cureus (20 dry columns): T12
#          pedicle width 7.89 +- 0.70, height 15.45 +- 0.78 mm; T5 width 3.65 +- 0.40 mm.
#   [AN]   Morphometric evaluation of the thoracic vertebral pedicle: a cadaveric study (Anatomical
#          Society of Nigeria; 180 dry thoracic vertebrae, 15 cadavers): pedicle height T12 17.34 +-
#          1.59, T1 9.78 +- 0.99 mm; mid-pedicle width T12 11.26 +- 2.78, T4 5.84 +- 1.17 mm.
#   [Eg19] Egwu OA, Okechukwu GN, Uzomba GC, et al. Typical thoracic vertebrae morphometry: a
#          cadaveric study in Nigeria. J Anat Soc India 2019;68(2):110-8 (208 dry T2-T9): posterior
#          body height T2 17.59 +- 1.43, T9 20.46 +- 3.08 mm; anterior T2 16.93 +- 1.57, T9 18.83 +-
#          1.54 mm.
#   [EJA20] Anatomical dimensions of the typical cervical vertebrae and their clinical
#          implications. Eur J Anat 2020;24(1):9-15 (100 dry typical cervical vertebrae, level not
#          recorded, so each row holds for C3-C6): body height 10.92 +- 1.35, upper endplate depth
#          14.79 +- 1.96 and width 23.22 +- 2.16, spinous process length 15.25 +- 4.25, vertebral
#          foramen AP 12.33 +- 1.68 and transverse 21.98 +- 1.82 mm.
#   [JHA]  Morphometric study of the vertebral body and pedicle of typical cervical vertebrae using
#          radiological image. J Hum Anat (Medwin Publishers; 100 dry typical cervical vertebrae):
#          body length 14.55 +- 2.14, posterior height 11.1 +- 1.4, upper width 21.61 +- 2.81 mm.
#   [ref]  clinical.md section 1 (the project's source of truth), where it gives a range: C3-C7
#          bodies height ~10-11, depth ~14.5, width ~20-22 mm; thoracic anterior height ~17-19 mm
#          (T2-T9).
#   [RD16] Rekha BS, D'Sa DS. Int J Anat Res 2016;4(1):1981-4 (100 dry atlases, Karnataka): width from tip to tip of the transverse
#          processes 72.45 mm, outer anteroposterior diameter (anterior to posterior tubercle) 42
#          mm; means only, so the spread is 10 % of the mean. Agrees with Patel NP, Gupta DS. Int J
#          Res Med Sci (100 dry atlases, South Gujarat): width 71.19 mm. Doherty BJ, Heggeness MH.
#          The quantitative anatomy of the atlas. Spine 1994;19:2497-500 could not be checked here,
#          so it gives no row.
#   [GS12] Gosavi SN, Swamy V. Morphometric study of the axis vertebra (2012; 100 dry axes): dens height 14.86 +- 1.54 mm, mean transverse diameter
#          9.28 mm (no SD: 10 % of the mean). Agrees with a series of 52 dry axes (odontoid height
#          17.60 +- 1.94, maximum transverse diameter 9.78 +- 0.93 mm) and Yousuf et al. (30 axes:
#          height 15.8, width 8.5-10.3 mm).
#   [Al21] Alsaleh K, Essbaiheen F, Aldosari K, Alsubei B, Alabdulkareeem M. Morphometric analysis
#          of subaxial cervical spine pedicles in a Middle Eastern population. Int J Spine Surg
#          2021;15(3):413 (CT, 270 patients): pedicle width 4.4 mm at C3 and 6.1 mm at C7, height 6.4
#          mm at C3 and 6.8 mm at C7; means only (the abstract's), so the spread is 10 % of the mean.
#   [BS08] Cervical pedicle morphology on CT in live subjects from the UK (Britspine abstract, J
#          Bone Joint Surg Br 2008;90-B Supp III; 54 adults, 338 pedicles): smallest external
#          pedicle diameter 4.9 mm at C3 and 6.6 mm at C7; means only.
#   [Sc13] Which is the most prominent spinous process in the cervico-thoracic spinal junction? A
#          radiological study in a Mediterranean population sample. Scoliosis 2013;8(Suppl 2):O40
#          (93 men, 102 women): spinous process length from the middle of its origin at the laminae
#          to the middle of its tip, C7 44.11 (men) and 37.82 mm (women), T1 47.93 and 40.44 mm;
#          the rows hold the means weighted by the number of each sex (C7 40.82, T1 44.01 mm),
#          means only.
#   [TT15] A morphometric study of the vertebral body in dry human typical thoracic vertebrae. IJAPB
#          (Eternal Publication) 1(1) (200 dry typical thoracic vertebrae, Indian; level not
#          recorded, so each row holds for T2-T8, the typical thoracic vertebrae): anteroposterior
#          diameter 20.78 +- 3.36, transverse diameter 27.02 +- 2.06, anterior height 17.17 +- 1.65,
#          posterior height 18.27 +- 1.64 mm. (Its "vertebral body width", 25.49 +- 2.59 mm, is
#          not defined in the abstract, so gives no row.)
#   [Ga]   Cervical vertebrae at the Galloway osteological collection: a morphometric study (404 dry
#          typical cervical vertebrae, Makerere University, Uganda): transverse diameter of the
#          body C3 22.1 +- 1.5, C4 22.7 +- 1.65, C5 23.6 +- 1.5, C6 24.7 +- 1.75 mm.
#   [NW]   Anthropometry of bodies of C3-C6 cervical vertebrae in Northwest Indian population: a
#          cross-sectional study (164 dry vertebrae, Rohtak): upper surface anteroposterior diameter
#          C3 14.67 +- 1.42, C6 15.73 mm, transverse diameter C3 20.24, C6 23.82 mm; anterior height
#          of the body 12.04 mm at C3 (the tallest) and 10.69 mm at C5 (the lowest).
#   [Ka12] Kang MS, Park JY, Cho YE, Kim KS, Kuh SU, Kim KH, Chin DK. A PET/CT-based morphometric
#          study of spinal canal in Korean young adults: anteroposterior diameter from cervical
#          vertebra to sacrum. Korean J Spine 2012;9(3):165-9 (CT, 83 adults aged 20-29): canal AP
#          diameter C3 14.6 +- 1.1, C5 14.5 +- 1.5, T1 16.1 +- 1.2, T8 14.6 +- 1.3, T12 16.7 +- 1.2,
#          L1 16.7 +- 1.3, L3 15.7 +- 1.9 mm.
#   [Yu]   Yun IG. Radiological measurement of interpediculate distance of each thoracic vertebra in
#          normal adults. J Korean Neurosurg Soc (plain radiographs of Korean adults; year and
#          sample not read): interpediculate distance, both sexes, T1-T12: 22.3, 19.4, 18.1, 17.5,
#          17.0, 17.1, 17.2, 17.2, 17.4, 17.8, 19.4, 22.3 mm; means only. Plain films magnify a
#          little, but these agree with the direct measurements at the same levels (T7 17.2 here,
#          16.5 in P91t; T4-T5 17.0-17.5 here, 21.1 on CT in Ka16).
#   [Ki09] Kim JH, Choi GM, Chang IB, Ahn SK, Song JH, Choi HC. Pedicular and extrapedicular
#          morphometric analysis in the Korean population: computed tomographic assessment relevance
#          to pedicle and extrapedicle screw fixation in the thoracic spine. J Korean Neurosurg Soc
#          2009;46(3):181-8 (CT, 98 patients, 1916 pedicles): outer transverse pedicle diameter
#          narrowest at T5, 4.4 mm; mean only.
#   [Si10] Lower dorsal and lumbar pedicle morphometry in Indian population: a study of four hundred
#          fifty vertebrae. Spine 2010;35(10):E378-84 (CT, 50 patients): transverse pedicle isthmus
#          width least at T9, 5.65 mm; mean only.
#   [Ch03] Chadha M, et al. Pedicle morphology of the lower thoracic, lumbar, and S1 vertebrae: an
#          Indian perspective. Spine 2003;28(8):744-9 (CT, 31 patients, 86 vertebrae): transverse
#          pedicle isthmus width least at T9, 5.02 mm; mean only.
#   [Pa]   Parihar V, et al. Computerized tomography-based morphometric analysis of cervical spinal
#          canal in central Indian population. J Neurosci Rural Pract (CT, 100 asymptomatic adults):
#          the canal smallest at C4, sagittal 12.77 +- 1.48 and transverse 20.37 +- 1.72 mm.
#   [Ku11] Kunkel ME, Herkommer A, Reinehr M, Bockers TM, Wilke HJ. Morphometric analysis of the
#          relationships between intervertebral disc and vertebral body heights: an anatomical and
#          radiographic study of the human thoracic spine. J Anat 2011;219(3):375-87 (72 C7-L1
#          segments of 30 donors; body heights on radiographs of the isolated segments), table 2:
#          anterior / posterior body height C7 13.89 +- 1.42 / 14.38 +- 2.22, T1 14.49 +- 1.23,
#          T10 18.98 +- 1.40 / 20.35 +- 1.89, T11 19.60 +- 1.92 / 22.67 +- 1.38, T12 20.80 +- 1.96 mm.
#          Read in a transcription of the table (two independent ones agree at T12), not the paper.
#   [Gi85] Gilad I, Nissan M. Sagittal evaluation of elemental geometrical dimensions of human
#          vertebrae. J Anat 1985;143:115-20 (lateral radiographs of 157 healthy working men):
#          anterior body height L1 25.4 +- 2.2, L2 27.2 +- 2.0, L3 27.9 +- 2.1, L4 27.4 +- 2.2 mm
#          (men only; read in a transcription of its table).
#   [Bu10] Busscher I, Ploegmakers JJ, Verkerke GJ, Veldhuizen AG. Comparative anatomical
#          dimensions of the complete human and porcine spine. Eur Spine J 2010;19(7):1104-14 (CT of
#          6 male cadavers): anterior body height T12 25.6 +- 1.6, L1 25.5 +- 2.5, L2 27.3 +- 2.8, L3
#          28.7 +- 1.9, L4 27.8 +- 2.4 mm (read in a transcription of its table).
#   [Kat12] Kathole MA, Joshi RA, Herekar NG, Jadhav SS. Dimensions of cervical spinal canal and
#          vertebrae and their relevance in clinical practice. Int J Recent Trends Sci Technol
#          2012;3(2):54-8 (lateral radiographs, 300 adults, western Maharashtra), table 2: AP
#          diameter of the C7 body, men 17.45 +- 2.29, women 14.7 +- 1.99 mm (both rows; films
#          magnify a little, as [Yu]).
#   [NMC98] Roentgenological study of the sagittal diameter of the cervical spinal canal in normal
#          adult Japanese. Neurol Med Chir (Tokyo) 1998;38(2):83-9 (Kadoya S, Iizuka H and a first
#          author whose name was readable here only in Japanese; lateral radiographs of 505 men and
#          492 women, magnification 1.17 +- 0.02): sagittal canal diameter C7 15.9 +- 1.4 mm.
#   [P91t-tab] Panjabi 1991's thoracic tables ([P91t]) at T11, read in a transcription of tables 4
#          and 5 (the paper itself could not be read here): canal depth 16.0 +- 0.46 and pedicle
#          width 9.75 mm (right 8.8 +- 0.43, left 10.7 +- 0.84); the tables give the standard error
#          of 12 spines, so the SD below is that times sqrt(12).
# Not used: a Pakistani CT series (Chughtai et al., Pak J Neurol Surg) whose pedicle widths (T1 4.06,
# T4 3.72 mm) are half those of every other series, so its definitions differ from these.
# Also not used: a dry-bone series of 100 typical thoracic vertebrae ("Morphometric analysis of the
# body, pedicle and lamina of typical thoracic vertebrae: an observational study") whose journal and
# authors could not be read here.
# Nor a plain-film series of the cervical canal (Kim KY, Song BH. J Korean Neurosurg Soc
# 1975;4(2):239-46; 89 Korean adults): its interpediculate distances, C3-C7 27.1-29.1 mm, lie a
# quarter above the dry-bone and CT widths (22.0 mm in EJA20), the films' magnification, so it
# measures another thing than the bone. Nor Kaur's thoracic transverse process lengths (Ka16: T1
# 23.54, T7 31.21, T12 12.11 mm), measured from a point the abstract does not give, so they are no
# tip-to-tip span.
# Nor a Turkish CT series of thoracic pedicles (Demiroz S, Erdem S. Turk Neurosurg, doi
# 10.5137/1019-5149.JTN.26848-19.2; 1512 pedicles): its sagittal diameters (T1 7.2, T12 11.7 mm)
# lie a quarter below every other series (T12 15.4-17.3 mm above), as its authors say their
# population's pedicles are smaller, so no one model can lie within both.
#
# What each row is, measured on the model as the papers measure a vertebra
# (``tests/test_anatomy_surfaces.py``, ``measure``): body width and depth at the upper endplate,
# height at the middle of the posterior wall (``body_height``) or 3 mm behind the front
# (``body_height_anterior``), pedicle width and height at the isthmus, canal width between the
# pedicles and depth at the midline, spinous process length from the spinolaminar junction to the
# tip, transverse span from tip to tip of the transverse processes. C1 and C2 (``measure_atlas_axis``):
# the atlas's width from tip to tip of its transverse processes (``atlas_width``) and its depth
# from the front of the anterior tubercle to the back of the posterior tubercle (``atlas_depth``);
# the dens's height from the C2 body's upper endplate to its tip (``dens_height``) and its width
# across at mid-height (``dens_width``).
# The tests take as the spread the larger of the reported SD and 10 % of the mean
# (:attr:`PublishedMeasure.spread`), so "mean +- 2 SD" is the range of normal adults of any of
# these populations, not of one cohort.
# Not found in a source that could be checked, so left out: :data:`UNSOURCED_MORPHOMETRY` below
# lists them, measure by measure, over C3-L5 ([ref] alone does not count as a source; the tests
# check the list is exactly what the rows leave out).
# Panjabi's cervical and thoracic tables (P91c, P91t), which give most of these, could not be read
# here; nor could the tables of Tyagi S, Narayan RK (Int J Med Health Res 2018;4(3); 30 north
# Indian thoracic columns, spinous and transverse process lengths T1-T12, trends only in the
# abstract) or Ashish S, Pai MM, et al. (100 dry thoracic vertebrae, Manipal; no numbers in the
# abstract). T10 has three published numbers here: its interpediculate distance [Yu] and its
# body heights [Ku11].
#: the levels (C3-L5) that no row from a paper checks, per measure
UNSOURCED_MORPHOMETRY: dict[str, tuple[str, ...]] = {
    "body_width": ("C7", "T9", "T10", "T11"),
    "body_depth": ("T9", "T10", "T11"),
    "body_height_anterior": ("C4", "C6"),
    "pedicle_width": ("C4", "T2", "T3", "T6", "T8", "T10"),
    "pedicle_height": ("C4", "T2", "T3", "T4", "T5", "T6", "T8", "T9", "T10"),
    "canal_width": ("C7",),
    "canal_depth": ("T2", "T3", "T6", "T9", "T10"),
    "sp_length": tuple(f"T{k}" for k in range(2, 13)),
    "transverse_span": ("C3", "C4", "C5", "C6", "C7", *(f"T{k}" for k in range(1, 13))),
}


@dataclass(frozen=True)
class PublishedMeasure:
    """One published measurement of one vertebra: mean and SD (mm) as reported, and its source."""

    level: str
    key: str
    mean: float
    sd: float
    source: str

    @property
    def spread(self) -> float:
        """The SD the tests use: the reported one, or 10 % of the mean where that is larger."""
        return max(self.sd, 0.1 * self.mean)


def _rows(source: str, levels, **measures: tuple[float, float]) -> list[PublishedMeasure]:
    return [PublishedMeasure(lv, key, m, sd, source) for lv in levels for key, (m, sd) in measures.items()]


_TYPICAL_CERVICAL = ("C3", "C4", "C5", "C6")
_TYPICAL_THORACIC = ("T2", "T3", "T4", "T5", "T6", "T7", "T8")

# fmt: off
PUBLISHED_MORPHOMETRY: tuple[PublishedMeasure, ...] = (
    # lumbar [P92, Z00]; pedicles [Zi87]
    *_rows("P92/Z00", ["L1"], body_width=(40.5, 4.0), body_depth=(32.0, 3.2), body_height=(24.5, 2.5),
           canal_width=(22.0, 2.2), canal_depth=(17.5, 1.8), sp_length=(30.0, 4.5), transverse_span=(72.0, 7.2)),
    *_rows("P92/Z00", ["L2"], body_width=(42.5, 4.2), body_depth=(33.0, 3.3), body_height=(25.5, 2.6),
           canal_width=(22.5, 2.3), canal_depth=(17.0, 1.7), sp_length=(31.0, 4.5), transverse_span=(78.0, 7.8)),
    *_rows("P92/Z00", ["L3"], body_width=(44.5, 4.5), body_depth=(34.0, 3.4), body_height=(26.0, 2.6),
           canal_width=(23.5, 2.4), canal_depth=(16.5, 1.7), sp_length=(31.0, 4.5), transverse_span=(87.0, 8.7)),
    *_rows("P92/Z00", ["L4"], body_width=(47.0, 4.7), body_depth=(34.5, 3.5), body_height=(26.0, 2.6),
           canal_width=(24.0, 2.4), canal_depth=(16.5, 1.7), sp_length=(29.0, 4.5), transverse_span=(82.0, 8.2)),
    *_rows("P92/Z00", ["L5"], body_width=(49.5, 5.0), body_depth=(35.0, 3.5), body_height=(25.5, 2.6),
           canal_width=(26.0, 2.6), canal_depth=(17.0, 1.8), sp_length=(24.0, 4.5), transverse_span=(88.0, 8.8)),
    *_rows("Zi87", ["L1"], pedicle_width=(8.7, 1.6), pedicle_height=(15.4, 1.8)),
    *_rows("Zi87", ["L2"], pedicle_width=(8.9, 1.6), pedicle_height=(15.0, 1.8)),
    *_rows("Zi87", ["L3"], pedicle_width=(10.3, 1.8), pedicle_height=(14.9, 1.8)),
    *_rows("Zi87", ["L4"], pedicle_width=(12.9, 2.1), pedicle_height=(14.8, 1.8)),
    *_rows("Zi87", ["L5"], pedicle_width=(18.0, 3.2), pedicle_height=(14.0, 1.8)),
    # L5 checked against three more series [CB21, Bh25, Ch05]
    *_rows("CB21", ["L5"], body_height=(26.3, 1.9), body_height_anterior=(30.3, 1.9), body_depth=(35.7, 3.5),
           pedicle_height=(12.9, 1.9), pedicle_width=(16.1, 2.3), canal_depth=(15.6, 2.1), canal_width=(28.2, 3.1)),
    *_rows("Bh25", ["L5"], body_depth=(33.5, 4.1), body_width=(47.4, 13.9)),
    *_rows("Ka12", ["L1"], canal_depth=(16.7, 1.3)),
    *_rows("Ka12", ["L3"], canal_depth=(15.7, 1.9)),
    *_rows("Ch05", ["L5"], pedicle_width=(13.61, (16.20 - 10.29) / 4)),
    # thoracic [P91t; pedicles Zi87]
    *_rows("P91t", ["T1"], body_width=(26.5, 2.7), body_depth=(16.5, 1.7), body_height=(14.5, 1.5),
           canal_width=(20.5, 2.1), canal_depth=(15.5, 1.6)),
    *_rows("P91t", ["T7"], body_width=(31.0, 3.1), body_depth=(26.0, 2.6), body_height=(18.5, 1.9),
           canal_width=(16.5, 1.7), canal_depth=(15.0, 1.5)),
    *_rows("P91t", ["T12"], body_width=(40.0, 4.0), body_depth=(31.0, 3.1), body_height=(23.0, 2.3),
           canal_width=(21.5, 2.2), canal_depth=(17.0, 1.7)),
    *_rows("Zi87", ["T1"], pedicle_width=(7.9, 1.5), pedicle_height=(9.9, 1.5)),
    *_rows("Zi87", ["T7"], pedicle_width=(5.0, 1.1), pedicle_height=(12.0, 1.5)),
    *_rows("Zi87", ["T12"], pedicle_width=(7.8, 1.6), pedicle_height=(15.9, 1.8)),
    # thoracic pedicles, canal and heights [Ka16, Cur, AN, Ch05, Eg19, ref]
    *_rows("Ka16", ["T1"], pedicle_width=(9.27, 1.01)),
    *_rows("Ka16", ["T4"], pedicle_width=(4.5, 0.93)),
    *_rows("Ka16", ["T12"], pedicle_width=(8.31, 1.83)),
    *_rows("Ka16", ["T4", "T5"], canal_depth=(20.02, 1.23), canal_width=(21.12, 1.23)),
    *_rows("Cur", ["T12"], pedicle_width=(7.89, 0.70), pedicle_height=(15.45, 0.78)),
    *_rows("Cur", ["T5"], pedicle_width=(3.65, 0.40)),
    *_rows("AN", ["T12"], pedicle_width=(11.26, 2.78), pedicle_height=(17.34, 1.59)),
    *_rows("AN", ["T1"], pedicle_height=(9.78, 0.99)),
    *_rows("AN", ["T4"], pedicle_width=(5.84, 1.17)),
    *_rows("Ch05", ["T5"], pedicle_width=(5.09, (6.88 - 4.10) / 4)),
    *_rows("Ch05", ["T11"], pedicle_height=(17.02, (19.57 - 14.84) / 4)),
    *_rows("Ch05", ["T1"], pedicle_height=(8.90, (11.37 - 7.18) / 4)),
    *_rows("Eg19", ["T2"], body_height=(17.59, 1.43), body_height_anterior=(16.93, 1.57)),
    *_rows("Eg19", ["T9"], body_height=(20.46, 3.08), body_height_anterior=(18.83, 1.54)),
    *_rows("ref", [f"T{k}" for k in range(2, 10)], body_height_anterior=(18.0, 0.5)),
    *_rows("TT15", _TYPICAL_THORACIC, body_depth=(20.78, 3.36), body_width=(27.02, 2.06),
           body_height_anterior=(17.17, 1.65), body_height=(18.27, 1.64)),
    *_rows("Sc13", ["T1"], sp_length=((93 * 47.93 + 102 * 40.44) / 195, 0.0)),
    *(
        PublishedMeasure(f"T{k}", "canal_width", ipd, 0.0, "Yu")
        for k, ipd in enumerate((22.3, 19.4, 18.1, 17.5, 17.0, 17.1, 17.2, 17.2, 17.4, 17.8, 19.4, 22.3), start=1)
    ),
    *_rows("Ka12", ["T1"], canal_depth=(16.1, 1.2)),
    *_rows("Ka12", ["T8"], canal_depth=(14.6, 1.3)),
    *_rows("Ka12", ["T12"], canal_depth=(16.7, 1.2)),
    # vertebral body heights on radiographs [Ku11, Gi85] and CT [Bu10]; T11 from Panjabi's tables [P91t-tab]
    *_rows("Ku11", ["C7"], body_height_anterior=(13.89, 1.42), body_height=(14.38, 2.22)),
    *_rows("Ku11", ["T1"], body_height_anterior=(14.49, 1.23)),
    *_rows("Ku11", ["T10"], body_height_anterior=(18.98, 1.40), body_height=(20.35, 1.89)),
    *_rows("Ku11", ["T11"], body_height_anterior=(19.60, 1.92), body_height=(22.67, 1.38)),
    *_rows("Ku11", ["T12"], body_height_anterior=(20.80, 1.96)),
    *_rows("Gi85", ["L1"], body_height_anterior=(25.4, 2.2)),
    *_rows("Gi85", ["L2"], body_height_anterior=(27.2, 2.0)),
    *_rows("Gi85", ["L3"], body_height_anterior=(27.9, 2.1)),
    *_rows("Gi85", ["L4"], body_height_anterior=(27.4, 2.2)),
    *_rows("Bu10", ["T12"], body_height_anterior=(25.6, 1.6)),
    *_rows("Bu10", ["L1"], body_height_anterior=(25.5, 2.5)),
    *_rows("Bu10", ["L2"], body_height_anterior=(27.3, 2.8)),
    *_rows("Bu10", ["L3"], body_height_anterior=(28.7, 1.9)),
    *_rows("Bu10", ["L4"], body_height_anterior=(27.8, 2.4)),
    *_rows("P91t-tab", ["T11"], canal_depth=(16.0, 0.46 * 12**0.5), pedicle_width=(9.75, 0.635 * 12**0.5)),
    *_rows("Ki09", ["T5"], pedicle_width=(4.4, 0.0)),
    *_rows("Si10", ["T9"], pedicle_width=(5.65, 0.0)),
    *_rows("Ch03", ["T9"], pedicle_width=(5.02, 0.0)),
    # cervical: typical vertebrae C3-C6 [EJA20, JHA]; bodies C3-C7 [ref]; pedicles [P91c]
    *_rows("EJA20", _TYPICAL_CERVICAL, body_height=(10.92, 1.35), body_depth=(14.79, 1.96),
           body_width=(23.22, 2.16), sp_length=(15.25, 4.25), canal_depth=(12.33, 1.68), canal_width=(21.98, 1.82)),
    *_rows("JHA", _TYPICAL_CERVICAL, body_depth=(14.55, 2.14), body_height=(11.1, 1.4), body_width=(21.61, 2.81)),
    *_rows("ref", ["C3", "C4", "C5", "C6", "C7"], body_height=(10.5, 0.25), body_depth=(14.5, 0.0),
           body_width=(21.0, 0.5)),
    *_rows("P91c", ["C5"], pedicle_width=(5.8, 1.0), pedicle_height=(7.0, 1.0), canal_width=(24.5, 2.5),
           canal_depth=(14.5, 1.5)),
    *_rows("P91c", ["C6"], pedicle_width=(6.0, 1.0), pedicle_height=(7.2, 1.0), canal_width=(24.5, 2.5),
           canal_depth=(14.5, 1.5)),
    # cervical per level [Ga, NW]; pedicles C3 and C7 [Al21, BS08]; C7 spinous process [Sc13]
    *_rows("Ga", ["C3"], body_width=(22.1, 1.5)),
    *_rows("Ga", ["C4"], body_width=(22.7, 1.65)),
    *_rows("Ga", ["C5"], body_width=(23.6, 1.5)),
    *_rows("Ga", ["C6"], body_width=(24.7, 1.75)),
    *_rows("NW", ["C3"], body_depth=(14.67, 1.42), body_width=(20.24, 0.0), body_height_anterior=(12.04, 0.0)),
    *_rows("NW", ["C5"], body_height_anterior=(10.69, 0.0)),
    *_rows("NW", ["C6"], body_depth=(15.73, 0.0), body_width=(23.82, 0.0)),
    *_rows("Al21", ["C3"], pedicle_width=(4.4, 0.0), pedicle_height=(6.4, 0.0)),
    *_rows("Al21", ["C7"], pedicle_width=(6.1, 0.0), pedicle_height=(6.8, 0.0)),
    *_rows("BS08", ["C3"], pedicle_width=(4.9, 0.0)),
    *_rows("BS08", ["C7"], pedicle_width=(6.6, 0.0)),
    *_rows("Sc13", ["C7"], sp_length=((93 * 44.11 + 102 * 37.82) / 195, 0.0)),
    *_rows("Kat12", ["C7"], body_depth=(17.45, 2.29)),  # men
    *_rows("Kat12", ["C7"], body_depth=(14.7, 1.99)),  # women
    *_rows("NMC98", ["C7"], canal_depth=(15.9, 1.4)),
    *_rows("Ka12", ["C3"], canal_depth=(14.6, 1.1)),
    *_rows("Pa", ["C4"], canal_depth=(12.77, 1.48), canal_width=(20.37, 1.72)),
    *_rows("Ka12", ["C5"], canal_depth=(14.5, 1.5)),
    # the atlas and the axis [RD16, GS12]
    *_rows("RD16", ["C1"], atlas_width=(72.45, 0.0), atlas_depth=(42.0, 0.0)),
    *_rows("GS12", ["C2"], dens_height=(14.86, 1.54), dens_width=(9.28, 0.0)),
)
# fmt: on

# Facet joint orientation by region (degrees): the joint plane's angle from the sagittal
# plane in the axial view (0 = sagittal, 90 = coronal), and its angle to the axial plane.
# Lumbar: ~25-35 at L1-L2 turning to ~45-55 at L5-S1 (Masharawi Y, et al. Facet orientation
# in the thoracolumbar spine. Spine 2004;29:1755-63); thoracic: near-coronal, ~60-70 deg to
# the axial plane (Masharawi 2004; Panjabi 1993); cervical: ~45 deg to the axial plane
# (Pal GP, et al. J Anat 2001;198:431-41; Panjabi MM, et al. Spine 1993;18:1298-310).
PUBLISHED_FACET_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "cervical": {"to_axial": (35.0, 60.0)},
    "thoracic": {"from_sagittal": (60.0, 120.0), "to_axial": (50.0, 80.0)},
    "lumbar_upper": {"from_sagittal": (15.0, 45.0)},  # L1-L2 .. L3-L4
    "lumbar_lower": {"from_sagittal": (35.0, 65.0)},  # L4-L5, L5-S1
}

# -- Sacrum, coccyx and pelvis (the drawn bone's outline; the placed parts above stay) ------
# Published sizes of the adult sacrum (dry bones, mean +- SD):
#   * maximum height 106.7 +- 10.2 mm, maximum width (across the alae) 103.6 +- 6.8 mm; hiatus
#     length 18.5 +- 7.4 mm, intercornual distance 11.8 +- 2.5 mm, hiatus apex at S4 in 80 %
#     (Anatomical evaluation of sacrum in dry bones, 30 sacra; similar: height 103.3 +- 10.0,
#     width 108.4 +- 6.1, S1 body 47.0 +- 5.0 wide and 28.3 +- 3.5 deep, auricular surface long
#     arm 39.4 +- 4.8 and oblique arm 49.1 +- 6.0 mm in Comparative morphometry of the sacrum,
#     32 Anatolian sacra);
#   * hiatus length 23.4 +- 10.6 mm (M), 20.4 +- 8.0 (F); canal AP depth at the apex 5.2 mm
#     (Shewale SN, et al. Int J Recent Trends Sci Technol 2013;6:48-52, 204 sacra);
#   * first anterior sacral foramen 13.0 mm high, 12.2 wide; first posterior 10.4 high, 7.7
#     wide; second anterior 12.9 x 13.1; second posterior 7.1 x 7.3 (Saluja S, et al. J Clin
#     Diagn Res 2018;12:AC01-6, 108 sacra); S1 posterior foramen 8.5 +- 1.6 mm wide, 11.0 +-
#     1.9 mm deep (Kim et al. Korean J Pain 2023;36:98-105, CT of 632 patients).
#: half-width (mm) of the sacrum's outline at its base (the alae), at the fused discs S1-S2 ..
#: S4-S5, and at its apex: wide across the auricular part (S1-S3), then narrowing below the
#: inferolateral angles to the apex; the base (106 mm) lies within 103.6 +- 2 x 6.8
SACRAL_OUTLINE_HALF_WIDTH_MM = (53.0, 51.0, 45.0, 33.0, 22.0, 11.0)
#: posterior sacral foramina (half-width across, half-height; mm), S1-S4 (Saluja 2018; Kim 2023;
#: S3-S4 smaller, as the foramina shrink caudally [typical])
POSTERIOR_SACRAL_FORAMEN_MM = {"S1": (4.0, 5.0), "S2": (3.6, 3.6), "S3": (3.2, 3.2), "S4": (2.8, 2.8)}
#: anterior sacral foramina (radius, mm), larger than the posterior ones (Saluja 2018)
ANTERIOR_SACRAL_FORAMEN_MM = {"S1": 6.2, "S2": 6.3, "S3": 5.3, "S4": 4.3}
#: published ranges the model is tested against (mean +- 2 SD of the studies above)
PUBLISHED_SACRUM = {
    "width": (103.6, 6.8),
    "height": (106.7, 10.2),
    "hiatus_length": (18.5, 7.4),
    "intercornual": (11.8, 2.5),
}
#: ilium: wing plate about 2-4 mm thin in the iliac fossa, the crest about 10-15 mm thick
#: [Gray's Anatomy, 41st ed., ch. 80]; drawn thinnest 4 mm (the mesh grid resolves it)
ILIAC_FOSSA_THICKNESS_MM = 4.0
ILIAC_CREST_THICKNESS_MM = 10.0
