"""Modularity (Ridgeway and Mozer, "Learning deep disentangled embeddings with the F-statistic loss", NeurIPS
2018)."""

from __future__ import annotations

import numpy as np

from .._validation import check_bins, check_codes_and_factors
from ..result import MetricResult
from ._histogram import discrete_mutual_info

__all__ = ["modularity", "modularity_from_mi"]


def modularity_from_mi(mi_matrix: np.ndarray) -> np.ndarray:
    r"""Per-code-dim modularity from a (d, K) MI matrix, K >= 2.

    $$
    \theta_i = \max_k M_{ik}, \quad
    \delta_i = \frac{\sum_k M_{ik}^2 - \theta_i^2}{\theta_i^2 (K - 1)}, \quad
    \mathrm{modularity}_i = 1 - \delta_i \ (0 \text{ where } \theta_i = 0).
    $$
    """
    squared = np.square(mi_matrix)
    max_squared = squared.max(axis=1)
    numerator = squared.sum(axis=1) - max_squared
    denominator = max_squared * (squared.shape[1] - 1.0)
    per_dim = np.zeros(mi_matrix.shape[0])
    informative = max_squared > 0
    per_dim[informative] = 1.0 - numerator[informative] / denominator[informative]
    return per_dim


def modularity(codes, factors, *, bins: int = 20) -> MetricResult:
    r"""Modularity score: how much each code dim depends on a single factor.

    With $M_{ik} = I(\mathrm{disc}(z_i); v_k)$ (the histogram MI matrix of
    [`mig`][dismetrics.metrics.mig.mig]), every code dim gets $1 - \delta_i$ (see
    [`modularity_from_mi`][dismetrics.metrics.modularity.modularity_from_mi]) and the score is the mean over
    **all** code dims, collapsed ones (no information: score 0) included. So a perfect code with 5 of its 10
    dims collapsed scores about 0.5-0.6, not 1; `details["per_dim"]` shows which dims pull the mean down.

    The score is in [0, 1]. Reference settings (disentanglement_lib): 10,000 points, 20 equal-width
    bins per dim (`bins` at most 1,000, [`dismetrics._validation.MAX_BINS`][dismetrics._validation.MAX_BINS]).
    The explicitness half of Ridgeway and Mozer's metric is
    [`dismetrics.explicitness`][dismetrics.metrics.explicitness.explicitness].

    Returns
    -------
    MetricResult
        `value`: the mean modularity; `details`: `per_dim` (d), `mi_matrix` (d, K),
        `top_factor_per_dim` (d).
    """
    codes, factors = check_codes_and_factors(codes, factors)
    if factors.shape[1] < 2:
        raise ValueError("factors needs at least two factors (columns) for modularity: it compares a code's MI with its best factor against the others.")
    bins = check_bins(bins)
    info = discrete_mutual_info(codes, factors, bins)
    per_dim = modularity_from_mi(info.matrix)
    return MetricResult(
        name="modularity",
        value=float(np.mean(per_dim)),
        details={
            "per_dim": per_dim,
            "mi_matrix": info.matrix,
            "top_factor_per_dim": np.argmax(info.matrix, axis=1),
        },
        params={"bins": bins, "n_samples": codes.shape[0], "discretization": "histogram_minmax"},
    )
