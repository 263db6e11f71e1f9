"""IRS, the interventional robustness score (Suter, Miladinović, Schölkopf and Bauer, ICML 2019)."""

from __future__ import annotations

import numbers

import numpy as np

from .._kernels import info as kernels
from .._kernels import irs as irs_kernels
from .._validation import check_bins, check_codes_and_factors, scaled_to_safe_range
from ..result import MetricResult

__all__ = ["irs", "irs_from_groups"]


def _check_quantile(diff_quantile) -> float:
    if isinstance(diff_quantile, bool) or not isinstance(diff_quantile, numbers.Real) or not 0.0 <= diff_quantile <= 1.0:
        raise ValueError(f"diff_quantile must be a number in [0, 1] (1.0 is the paper's maximum); got {diff_quantile!r}.")
    return float(diff_quantile)


def _factor_groups(factors: np.ndarray, factor_bins: int | None) -> np.ndarray:
    """Group labels (K, n): the factors histogram-discretized as disentanglement_lib does, or as given."""
    if factor_bins is None:
        return kernels.encode_factor_columns(factors)[0]
    return kernels.discretize(np.ascontiguousarray(factors, dtype=np.float64), factor_bins)


def irs_from_groups(latents: np.ndarray, groups: np.ndarray, diff_quantile: float, exponents=None) -> dict:
    r"""disentanglement_lib's `scalable_disentanglement_score` on active latents (n, L) and group labels (K,
    n).

    For factor k with groups g (points sharing a value of the discretized factor):
    `dev[i, k] = mean_g quantile_q(|z_i - E[z_i | g]|)` over the points of g, and
    `IRS[i, k] = 1 - dev[i, k] / max_n |z_i - mean(z_i)|`.

    `exponents` (optional, one per latent): the latents were rescaled by `2**-exponents`; IRS[i, k]
    does not depend on that, the weights (`max_deviations`, reported in the codes' units) do.
    """
    n_latents = latents.shape[1]
    n_factors = groups.shape[0]
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cum_deviations = np.zeros((n_latents, n_factors))
    for k in range(n_factors):
        cum_deviations[:, k] = irs_kernels.mean_group_quantile_deviation(latents, groups[k], diff_quantile)
    irs_matrix = 1.0 - cum_deviations / max_deviations[:, None]
    per_dim = irs_matrix.max(axis=1)
    weights = max_deviations
    if exponents is not None and np.any(exponents):
        # Weights in units of the largest rescaling (exact powers of two), then back in the codes' units.
        weights = np.ldexp(max_deviations, exponents - np.max(exponents))
        max_deviations = np.ldexp(max_deviations, exponents)
    if np.sum(weights) > 0.0:
        score = float(np.average(per_dim, weights=weights))
    else:  # unreachable for active latents; kept as in the reference
        score = float(np.mean(per_dim))
    return {
        "score": score,
        "irs_matrix": irs_matrix,
        "per_dim": per_dim,
        "parents": irs_matrix.argmax(axis=1),
        "max_deviations": max_deviations,
    }


def irs(codes, factors, *, diff_quantile: float = 0.99, factor_bins: int | None = 20) -> MetricResult:
    r"""Interventional robustness score (IRS), as disentanglement_lib computes it.

    Suter et al., "Robustly disentangled causal mechanisms: validating deep representations for
    interventional robustness", ICML 2019; disentanglement_lib `irs.py` (study setting: 10,000
    points, `diff_quantile = 0.99`, factors discretized with the 20-bin histogram discretizer).

    Constant code dims (`np.var == 0`) are dropped. For every remaining dim i and factor k, with
    the points grouped by the (discretized) value of factor k:

    $$
    \mathrm{dev}_{ik} = \frac{1}{|G_k|} \sum_{g \in G_k}
        Q_q\big(|z_i - \mathbb{E}[z_i \mid g]|\big)_{x \in g}, \qquad
    \mathrm{IRS}_{ik} = 1 - \frac{\mathrm{dev}_{ik}}{\max_x |z_i - \bar z_i|}
    $$

    ($Q_q$ the `diff_quantile` quantile, numpy's linear interpolation). Each dim scores
    $\max_k \mathrm{IRS}_{ik}$ and the IRS is their average weighted by the normalizers
    $\max_x |z_i - \bar z_i|$. No active dim: 0.

    Pitfalls: the weights make the score depend on the relative scale of the dims (it is invariant
    to shifting any dim and to rescaling all dims by one factor, not to rescaling one dim; that
    invariance holds over the whole float64 range: a dim beyond about 2e90 or below 5e-91 is rescaled
    by an exact power of two before its variance and deviations are taken, the weights compensated); a
    pure-noise dim does not score 0 (about 0.3 for a Gaussian dim at n = 10,000, since
    $Q_{0.99}$ of the deviations is smaller than their maximum); a factor with more than 21
    values is merged into 20 bins before grouping (`factor_bins=None` groups by the raw values).
    disentanglement_lib reports `num_active_dims` as the *sum of the active codes' values*
    (`np.sum(active_mus)`); here it is the number of active dims. The arithmetic is float64; on
    float32 codes the reference works in float32 and differs by about 1e-7.

    Parameters
    ----------
    codes : array (n, d)
    factors : int array (n, K)
    diff_quantile : float
        Quantile of the within-group deviations (0.99 in disentanglement_lib; 1.0 is the paper's max).
    factor_bins : int or None
        Bins of the histogram discretization of the factors (20 in disentanglement_lib); `None`
        groups by the factor values themselves.

    Returns
    -------
    MetricResult
        `value` is the IRS; `details`: `active_dims` (indices), `num_active_dims`,
        `irs_matrix` (active dims x K), `per_dim` (active dims), `parents` (best factor of each
        active dim), `max_deviations` (the weights).
    """
    codes, factors = check_codes_and_factors(codes, factors)
    diff_quantile = _check_quantile(diff_quantile)
    if factor_bins is not None:
        factor_bins = check_bins(factor_bins, name="factor_bins")
    # A dim beyond about 2e90 or below 5e-91 in magnitude is rescaled by an exact power of two first (its
    # variance and mean would overflow or underflow); every other dim is used as it is.
    scaled, exponents = scaled_to_safe_range(codes)
    active = np.flatnonzero(scaled.var(axis=0) > 0.0)
    params = {"diff_quantile": diff_quantile, "factor_bins": factor_bins, "n_samples": codes.shape[0]}
    k_count = factors.shape[1]
    if active.size == 0:
        return MetricResult(
            name="irs",
            value=0.0,
            details={
                "active_dims": active,
                "num_active_dims": 0,
                "irs_matrix": np.zeros((0, k_count)),
                "per_dim": np.zeros(0),
                "parents": np.zeros(0, dtype=np.int64),
                "max_deviations": np.zeros(0),
            },
            params=params,
        )
    groups = _factor_groups(factors, factor_bins)
    # float64 throughout (float32 codes: the reference's float32 arithmetic differs by about 1e-7)
    scores = irs_from_groups(scaled[:, active].astype(np.float64), groups, diff_quantile, exponents[active])
    return MetricResult(
        name="irs",
        value=scores["score"],
        details={
            "active_dims": active,
            "num_active_dims": int(active.size),
            "irs_matrix": scores["irs_matrix"],
            "per_dim": scores["per_dim"],
            "parents": scores["parents"],
            "max_deviations": scores["max_deviations"],
        },
        params=params,
    )
