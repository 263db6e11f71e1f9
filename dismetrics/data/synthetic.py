"""Synthetic ground-truth samplers whose right answers are known in advance."""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np

from .base import GroundTruthSampler

__all__ = ["FactorGrid"]


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

    ``FactorGrid([3, 6, 40])`` observes each point as the float vector of its factor indices (shape
    ``(K,)``); ``observe(factors) -> observations`` replaces that map (it must be deterministic in the
    factors or draw its randomness from the ``rng`` it may accept as a second argument).
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
