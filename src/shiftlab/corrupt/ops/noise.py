"""Noise corruptions: additive Gaussian, Poisson (shot), salt & pepper (impulse), speckle.

Random fields are drawn in float32 where the distribution allows (Gaussian, uniform):
half the cost of float64 with no visible effect after 8-bit quantization.
"""

from __future__ import annotations

import numpy as np

from shiftlab.corrupt.registry import register_corruption


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) * np.float32(1 / 255)


def draw_standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """The float32 normal field the Gaussian and speckle operators draw (shared with the
    batched torch operators, so both paths consume each image's stream identically)."""
    return rng.standard_normal(shape, dtype=np.float32)


def draw_poisson_counts(rng: np.random.Generator, image: np.ndarray, photons: float) -> np.ndarray:
    """Shot noise's Poisson photon counts for a uint8 HxWx3 image (the whole random part
    of the operator; shared with the torch operator, which only rescales them)."""
    # poisson(x * c) with x in [0, 1]; the rate only takes 256 values per image.
    rates = np.arange(256, dtype=np.float64) * (photons / 255.0)
    return rng.poisson(rates[image])


def draw_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """The float32 uniform field on [0, 1) that decides impulse noise (shared with torch)."""
    return rng.random(shape, dtype=np.float32)


@register_corruption("gaussian_noise", family="noise", stochastic=True)
def gaussian_noise(image, sigma, pset, rng: np.random.Generator) -> np.ndarray:
    x = _unit(image)
    noise = draw_standard_normal(rng, x.shape)
    noise *= np.float32(sigma)
    return x + noise


@register_corruption("shot_noise", family="noise", stochastic=True)
def shot_noise(image, photons, pset, rng: np.random.Generator) -> np.ndarray:
    counts = draw_poisson_counts(rng, image, photons)
    return counts.astype(np.float32) * np.float32(1 / photons)


@register_corruption("impulse_noise", family="noise", stochastic=True)
def impulse_noise(image, amount, pset, rng: np.random.Generator) -> np.ndarray:
    # skimage.util.random_noise(mode="s&p"): each value is replaced with probability
    # `amount`, by 0 or 1 with equal odds. One uniform per value decides both.
    x = _unit(image)
    u = draw_uniform(rng, x.shape)
    x[u < np.float32(amount)] = 1.0
    x[u < np.float32(amount / 2)] = 0.0
    return x


@register_corruption("speckle_noise", family="noise", stochastic=True)
def speckle_noise(image, sigma, pset, rng: np.random.Generator) -> np.ndarray:
    x = _unit(image)
    noise = draw_standard_normal(rng, x.shape)
    noise *= np.float32(sigma)
    return x + x * noise
