"""The ground-truth sampler protocol.

A sampler knows its factors of variation and can draw factor vectors and the observations they
produce. Every metric that needs interventions (beta-VAE score, FactorVAE score), `evaluate` and the
trainers in `dismetrics_models` talk to data only through this protocol.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np

__all__ = ["GroundTruthSampler"]


class GroundTruthSampler(ABC):
    """Abstract ground-truth data set with a finite grid of factors.

    Subclasses set [`factor_names`][dismetrics.data.base.GroundTruthSampler.factor_names],
    [`factor_sizes`][dismetrics.data.base.GroundTruthSampler.factor_sizes] and
    [`observation_shape`][dismetrics.data.base.GroundTruthSampler.observation_shape] and implement
    [`sample_observations_from_factors`][dismetrics.data.base.GroundTruthSampler.sample_observations_from_factors].
    Factors are integer indices: factor `k` takes the values `0 .. factor_sizes[k] - 1`.
    """

    factor_names: Sequence[str]
    """Names of the factors, in column order."""
    factor_sizes: Sequence[int]
    """Number of values of each factor."""
    observation_shape: tuple[int, ...]
    """Shape of one observation (e.g. `(64, 64, 1)`)."""

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw `n` factor vectors uniformly from the grid; an int64 array of shape (n, K)."""
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        return rng.integers(0, sizes, size=(int(n), sizes.size), dtype=np.int64)

    @abstractmethod
    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Observations for the given factor vectors; an array of shape (n, *observation_shape)."""

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`(factors, observations)` for `n` points drawn uniformly from the grid."""
        factors = self.sample_factors(n, rng)
        return factors, self.sample_observations_from_factors(factors, rng)
