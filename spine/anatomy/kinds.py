"""Kinds of structure in the spine model, by what they are made of and how views treat them."""

from __future__ import annotations

__all__ = ["SPACE_KINDS", "NEURAL_KINDS", "BONE_KINDS"]

# Kinds that are spaces (they contain other structures) rather than tissue.
SPACE_KINDS = frozenset({"canal", "foramen", "posterior_sacral_foramen", "anterior_sacral_foramen"})
NEURAL_KINDS = frozenset({"cord", "conus", "cauda_equina", "filum_terminale", "dural_sac", "root"})
BONE_KINDS = frozenset(
    {
        "body",
        "dens",
        "anterior_arch",
        "lateral_mass",
        "posterior_arch",
        "pedicle",
        "lamina",
        "spinous_process",
        "tp",
        "tp_anterior",
        "sap",
        "iap",
        "pars",
        "ala",
        "sacral_lateral_mass",
        "sacral_bridge",
        "median_crest",
        "sacral_cornu",
        "coccygeal_cornu",
        "ilium_wing",
        "ilium_posterior",
    }
)
