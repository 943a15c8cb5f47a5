"""From line integrals to the grey image on the C-arm monitor.

The chain, per frame:

1. **Automatic brightness control.** The dose is set once per pose from the *anatomy*
   line integral (not per frame, so a needle or contrast does not make the field pump):
   ``I0`` is chosen so that the median pixel of the collimated field receives
   ``photons`` quanta at 512 x 512 (scaled with pixel area at other sizes, so the grain
   per mm^2 looks the same at every resolution).
2. **Quantum noise.** Counts ``N ~ Poisson(I0 exp(-L))`` from ``np.random.default_rng(seed)``:
   same seed, same image.
3. **Log response.** ``s = -log(N / I0)`` (~ L plus noise), windowed between low/high
   percentiles of the anatomy inside the field, so bone, needle and contrast (large L) come
   out dark on a light field -- the monitor polarity of a C-arm. ``polarity="inverted"``
   gives the other (bone white on a dark field).
4. **Optics.** A slight blur (image-intensifier unsharpness), vignetting (brightness falls
   off toward the edge of the field), and the circular collimated field with a dark
   surround outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from functools import lru_cache

import numpy as np
from scipy import ndimage

__all__ = ["Detector", "Exposure", "field_mask", "to_rgba"]

REFERENCE_SIZE = 512


@lru_cache(maxsize=8)
def _radius_grid(size: int) -> np.ndarray:
    """Distance of each pixel from the centre over half the width (cached: read-only)."""
    c = (size - 1) / 2
    y, x = np.ogrid[:size, :size]
    r = np.sqrt((x - c) ** 2 + (y - c) ** 2) / (size / 2)
    r.setflags(write=False)
    return r


@lru_cache(maxsize=8)
def _field_shading(size: int, field_fraction: float, vignetting: float) -> tuple[np.ndarray, np.ndarray]:
    """(gain, edge) of the optics per pixel (float32, cached): the vignetting's gain, and the
    soft (about one pixel) edge between the field (1) and the surround (0)."""
    r = _radius_grid(size)
    gain = (1.0 - vignetting * np.clip(r / field_fraction, 0, 1) ** 2).astype(np.float32)
    edge = np.clip((field_fraction - r) * size / 2 + 0.5, 0.0, 1.0).astype(np.float32)
    for a in (gain, edge):
        a.setflags(write=False)
    return gain, edge


#: above this mean count a pixel's Poisson noise is drawn as its normal approximation (mean and
#: variance lam; the skew, 1/sqrt(lam), is under 0.23 there): several times faster, same grain
POISSON_NORMAL_ABOVE = 20.0


def field_mask(size: int, field_fraction: float = 0.96) -> np.ndarray:
    """Boolean mask of the circular collimated field (diameter = field_fraction * width)."""
    return _radius_grid(size) <= field_fraction


@dataclass(frozen=True)
class Exposure:
    """What automatic brightness control fixed for one pose: dose and display window."""

    i0: float  # photons per pixel with nothing in the beam
    low: float  # line integral shown as the lightest grey
    high: float  # line integral shown as the darkest grey


@dataclass(frozen=True)
class Detector:
    """Detector and monitor settings (all have sensible defaults).

    polarity: ``"monitor"`` = bone and metal dark on a light field (C-arm default);
    ``"inverted"`` = bone and metal white on a dark field.
    """

    polarity: str = "monitor"
    photons: float = 60.0  # quanta at the median pixel of the field, at 512 x 512
    field_fraction: float = 0.96  # field diameter / image width
    vignetting: float = 0.22  # brightness lost at the field edge (fraction)
    surround: float = 0.035  # grey level outside the field
    blur_px: float = 0.9  # Gaussian unsharpness of the image, in pixels at 512 x 512
    grain_blur_px: float = 0.45  # softening of the quantum grain (camera), pixels at 512
    gamma: float = 1.3  # display gamma on the windowed log signal
    window_percentiles: tuple[float, float] = (1.0, 99.0)
    flip_lr: bool = False  # mirror left-right (radiological convention)

    def __post_init__(self):
        if self.polarity not in ("monitor", "inverted"):
            raise ValueError(f"polarity must be 'monitor' or 'inverted', got {self.polarity!r}")
        if self.photons <= 0:
            raise ValueError(f"photons must be positive, got {self.photons}")

    # -- automatic brightness control -------------------------------------------------------
    def expose(self, anatomy: np.ndarray) -> Exposure:
        """Dose and window for a pose, from its anatomy line integral."""
        size = anatomy.shape[0]
        inside = anatomy[field_mask(size, self.field_fraction * 0.9)]
        if inside.size == 0:
            inside = anatomy.ravel()
        median = float(np.median(inside))
        photons = self.photons * (REFERENCE_SIZE / size) ** 2
        i0 = photons * float(np.exp(median))
        lo, hi = np.percentile(inside, self.window_percentiles)
        span = max(float(hi - lo), 0.2)
        # headroom: leave a little room above the anatomy so contrast/steel go darker still
        return Exposure(i0=i0, low=float(lo) - 0.05 * span, high=float(lo) + 1.08 * span)

    # -- the chain ------------------------------------------------------------------------------
    def _blur_sigma(self, size: int) -> float:
        sigma = self.blur_px * size / REFERENCE_SIZE if self.blur_px > 0 else 0.0
        return sigma if sigma >= 0.25 else 0.0

    def blur(self, line_integral: np.ndarray) -> np.ndarray:
        """The optical unsharpness of a line integral (a Gaussian of ``blur_px``)."""
        sigma = self._blur_sigma(line_integral.shape[0])
        return ndimage.gaussian_filter(line_integral, sigma, mode="nearest") if sigma else line_integral

    def blur_layer(self, layer: np.ndarray) -> np.ndarray:
        """:meth:`blur` of a layer that is zero outside a small region (a needle, contrast), computed
        only over that region and the blur's reach around it: the blur is linear, so the blurred
        anatomy (kept per pose) plus the blurred layers is the blurred frame."""
        sigma = self._blur_sigma(layer.shape[0])
        if not sigma:
            return layer
        rows = np.flatnonzero(layer.any(axis=1))
        if not len(rows):
            return np.zeros_like(layer)
        cols = np.flatnonzero(layer.any(axis=0))
        reach = int(4.0 * sigma + 0.5) + 1  # scipy's kernel radius (truncate 4) and one more
        r0, r1 = max(rows[0] - reach, 0), min(rows[-1] + reach + 1, layer.shape[0])
        c0, c1 = max(cols[0] - reach, 0), min(cols[-1] + reach + 1, layer.shape[1])
        out = np.zeros_like(layer)
        out[r0:r1, c0:c1] = ndimage.gaussian_filter(layer[r0:r1, c0:c1], sigma, mode="nearest")
        return out

    def counts(
        self, line_integral: np.ndarray, exposure: Exposure, seed: int | None = 0, blurred: bool = False
    ) -> np.ndarray:
        """Poisson photon counts per pixel (float32). ``seed=None`` gives the noise-free mean.

        The optical unsharpness (focal spot, intensifier) blurs the image *before* the
        quanta are counted, so the grain itself stays fine (``blurred``: already done).
        """
        li = line_integral if blurred else self.blur(line_integral)
        lam = np.float32(exposure.i0) * np.exp(-np.asarray(li, np.float32))
        if seed is None:
            return lam
        rng = np.random.default_rng(seed)
        out = lam + np.sqrt(lam) * rng.standard_normal(lam.shape, dtype=np.float32)
        np.maximum(out, 0.0, out=out)
        low = lam < POISSON_NORMAL_ABOVE  # dark pixels (bone, steel, dye): true Poisson counts
        if low.any():
            out[low] = rng.poisson(lam[low])
        return out

    def log_signal(self, counts: np.ndarray, exposure: Exposure) -> np.ndarray:
        """Log response ``-log(N / I0)`` (a zero count reads as half a quantum)."""
        return -np.log(np.maximum(counts, 0.5) / exposure.i0).astype(np.float32)

    def display(self, signal: np.ndarray, exposure: Exposure) -> np.ndarray:
        """Grey levels in [0, 1] (float32) from the log signal: window, polarity, optics."""
        size = signal.shape[0]
        g = (signal - exposure.low) / (exposure.high - exposure.low)
        np.clip(g, 0.0, 1.0, out=g)
        if self.grain_blur_px > 0:
            sigma = self.grain_blur_px * size / REFERENCE_SIZE
            if sigma >= 0.25:
                g = ndimage.gaussian_filter(g, sigma, mode="nearest")
        if self.polarity == "monitor":
            g = 1.0 - g
        if self.gamma != 1.0:
            g = np.power(g, self.gamma, dtype=np.float32)
        gain, edge = _field_shading(size, float(self.field_fraction), float(self.vignetting))
        g = g * gain
        g = g * edge + np.float32(self.surround) * (1.0 - edge)
        if self.flip_lr:
            g = g[:, ::-1]
        return np.ascontiguousarray(g, dtype=np.float32)

    def render(
        self, line_integral: np.ndarray, exposure: Exposure, seed: int | None = 0, blurred: bool = False
    ) -> np.ndarray:
        """The whole chain: line integral (``blurred``: its :meth:`blur`) -> grey image in [0, 1]
        (float32, size x size)."""
        counts = self.counts(line_integral, exposure, seed, blurred)
        return self.display(self.log_signal(counts, exposure), exposure)


def to_uint8(grey: np.ndarray) -> np.ndarray:
    return (np.clip(grey, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_rgba(grey: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 for Manim's ImageMobject (opaque grey)."""
    g = to_uint8(grey)
    out = np.empty(g.shape + (4,), np.uint8)
    out[..., 0] = g
    out[..., 1] = g
    out[..., 2] = g
    out[..., 3] = 255
    return out
