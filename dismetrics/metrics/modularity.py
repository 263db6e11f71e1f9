"""Modularity (Ridgeway and Mozer, "Learning deep disentangled embeddings with the F-statistic loss", NeurIPS
2018)."""

from __future__ import annotations

import numpy as np

from .._validation import check_bins, check_codes_and_factors
from ..result import MetricResult
from ._histogram import discrete_mutual_info
from .registry import MetricSpec, register_metric

__all__ = ["modularity", "modularity_from_mi"]


def modularity_from_mi(mi_matrix: np.ndarray) -> np.ndarray:
    r"""Per-code-dim modularity from a (d, K) MI matrix, K >= 2.

    $$
    \theta_i = \max_k M_{ik}, \quad
    \delta_i = \frac{\sum_k M_{ik}^2 - \theta_i^2}{\theta_i^2 (K - 1)}, \quad
    \mathrm{modularity}_i = 1 - \delta_i \ (0 \text{ where } \theta_i = 0).
    $$

    Parameters
    ----------
    mi_matrix : array of shape (d, K)
        Mutual information between code dims (rows) and factors (columns), K >= 2.

    Returns
    -------
    numpy.ndarray
        The modularity of every code dim, shape (d,).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.modularity import modularity_from_mi
    >>> print(modularity_from_mi(np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]])))
    [1. 0. 0.]
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

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, K >= 2, each factor taking at least two values in the sample.
    bins : int, default 20
        Equal-width bins per code dim, 2 to 1,000.

    Returns
    -------
    MetricResult
        `value`: the mean modularity; `details`: `per_dim` (d), `mi_matrix` (d, K),
        `top_factor_per_dim` (d).

    References
    ----------
    K. Ridgeway and M. C. Mozer, "Learning deep disentangled embeddings with the F-statistic loss",
    NeurIPS 2018 (arXiv:1802.05312). Reference code: google-research/disentanglement_lib,
    `disentanglement_lib/evaluation/metrics/modularity_explicitness.py`.

    Examples
    --------
    Modularity asks only that each dim's information go to one factor, not that there be much of it:
    with 40 % noise mixed in it barely moves, where MIG has lost more than half:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.modularity import modularity
    >>> codes, factors = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> noisy, _ = damage_sample("noise", 0.4, 1000, seed=0)
    >>> rotated, _ = damage_sample("rotation", 5, 1000, seed=0)
    >>> for z in (codes, noisy, rotated):
    ...     print(round(modularity(z, factors).value, 2))
    1.0
    0.99
    0.91
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


SPEC = register_metric(MetricSpec(
    name="modularity", func=modularity, kind="sample", title="Modularity",
    reference="Ridgeway & Mozer 2018, as disentanglement_lib modularity_explicitness.py", docs="modularity.md"))
