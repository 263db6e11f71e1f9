"""Synthetic ground-truth samplers whose right answers are known in advance."""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np

from .base import GroundTruthSampler

__all__ = ["FactorGrid", "LinearMixing", "Rotation", "NoiseDims", "rotation_matrix"]


def _accepts_two_arguments(func: Callable) -> bool:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    try:
        signature.bind(None, None)
    except TypeError:
        return False
    return True


class FactorGrid(GroundTruthSampler):
    """A uniform grid of integer factors whose observations are the factor indices themselves.

    `FactorGrid([3, 6, 40])` observes each point as the float vector of its factor indices (shape
    `(K,)`); `observe(factors) -> observations` replaces that map (it must be deterministic in the
    factors or draw its randomness from the `rng` it may accept as a second argument).
    """

    def __init__(
        self,
        factor_sizes: Sequence[int],
        observe: Callable[..., np.ndarray] | None = None,
        factor_names: Sequence[str] | None = None,
        observation_shape: tuple[int, ...] | None = None,
    ) -> None:
        sizes = [int(s) for s in factor_sizes]
        if not sizes or any(s < 2 for s in sizes):
            raise ValueError(f"factor_sizes must be a non-empty list of integers >= 2; got {list(factor_sizes)}.")
        self.factor_sizes = sizes
        self.factor_names = list(factor_names) if factor_names is not None else [f"factor_{k}" for k in range(len(sizes))]
        if len(self.factor_names) != len(sizes):
            raise ValueError("factor_names must have one name per factor size.")
        self._observe = observe
        self._observe_takes_rng = observe is not None and _accepts_two_arguments(observe)
        if observation_shape is None:
            if observe is None:
                observation_shape = (len(sizes),)
            else:
                probe = np.asarray(self._apply(np.zeros((1, len(sizes)), dtype=np.int64), np.random.default_rng(0)))
                observation_shape = tuple(probe.shape[1:])
        self.observation_shape = tuple(observation_shape)

    def _apply(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self._observe is None:
            return factors.astype(np.float64)
        if self._observe_takes_rng:
            return self._observe(factors, rng)
        return self._observe(factors)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != len(self.factor_sizes):
            raise ValueError(f"factors must have shape (n, {len(self.factor_sizes)}); got {factors.shape}.")
        return np.asarray(self._apply(factors, rng))


def _identity_codes(factors: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Factor indices scaled to [0, 1] (float64)."""
    return factors.astype(np.float64) / (np.asarray(sizes, dtype=np.float64) - 1.0)


class LinearMixing(FactorGrid):
    """Observations `x = A @ z` with `z` the factor indices scaled to [0, 1] and a fixed mixing matrix
    `A` of shape (D, K) (default: a random Gaussian matrix from `seed`, D = K). Recovering the factors
    needs the inverse of `A`: a known answer for the metrics (the identity `A` is perfectly disentangled)."""

    def __init__(self, factor_sizes: Sequence[int], matrix: np.ndarray | None = None, *, seed: int = 0) -> None:
        k = len(list(factor_sizes))
        if matrix is None:
            matrix = np.random.default_rng(seed).standard_normal((k, k))
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != k:
            raise ValueError(f"matrix must have shape (D, {k}) for {k} factors; got {matrix.shape}.")
        self.matrix = matrix
        sizes = [int(s) for s in factor_sizes]
        super().__init__(sizes, observe=lambda f: _identity_codes(f, sizes) @ matrix.T, observation_shape=(matrix.shape[0],))


def rotation_matrix(dim: int, angle: float, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """A `dim` x `dim` Givens rotation by `angle` radians in the plane of `axes`."""
    i, j = axes
    rot = np.eye(dim)
    c, s = np.cos(angle), np.sin(angle)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


class Rotation(LinearMixing):
    """Factors scaled to [0, 1], then rotated by `angle` in the plane of two factors (`axes`):
    `angle = 0` is perfectly disentangled, `pi / 4` mixes the two factors equally."""

    def __init__(self, factor_sizes: Sequence[int], angle: float = np.pi / 4, axes: tuple[int, int] = (0, 1)) -> None:
        k = len(list(factor_sizes))
        if not (0 <= axes[0] < k and 0 <= axes[1] < k and axes[0] != axes[1]):
            raise ValueError(f"axes must be two different factor indices below {k}; got {axes}.")
        self.angle = float(angle)
        super().__init__(factor_sizes, rotation_matrix(k, angle, axes))


class NoiseDims(FactorGrid):
    """Observations: the factors scaled to [0, 1], then `n_noise` extra dimensions of independent
    N(0, `noise_scale`^2) noise drawn from the `rng` (dimensions that carry no factor information)."""

    def __init__(self, factor_sizes: Sequence[int], n_noise: int = 2, noise_scale: float = 1.0) -> None:
        sizes = [int(s) for s in factor_sizes]
        if int(n_noise) < 0:
            raise ValueError(f"n_noise must be >= 0; got {n_noise}.")
        self.n_noise, self.noise_scale = int(n_noise), float(noise_scale)

        def observe(factors, rng):
            noise = rng.normal(0.0, self.noise_scale, size=(len(factors), self.n_noise))
            return np.concatenate([_identity_codes(factors, sizes), noise], axis=1)

        super().__init__(sizes, observe=observe, observation_shape=(len(sizes) + self.n_noise,))
