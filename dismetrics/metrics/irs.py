"""IRS, the interventional robustness score (Suter, Miladinović, Schölkopf and Bauer, ICML 2019)."""

from __future__ import annotations

import numbers

import numpy as np

from .._kernels import info as kernels
from .._kernels import irs as irs_kernels
from .._parallel import check_n_jobs, numba_threads, resolve_n_jobs
from .._validation import check_bins, check_codes_and_factors, scaled_to_safe_range
from ..result import MetricResult
from .registry import MetricSpec, register_metric

__all__ = ["irs", "irs_from_groups", "IRS_PARALLEL_WORK"]

IRS_PARALLEL_WORK = 100_000
"""n * (active dims): below it IRS's kernel (one call per factor, one thread per dim) runs on one thread.

Measured with numba 0.68 on a shared 2-core x86 machine (best of 30 runs): one thread took 0.17 ms at
n*d = 1e4, 1.3 ms at 1e5 and 9 ms at 3e5; two threads on free cores save at most half of that, against
0.02-0.1 ms to start and join numba's OpenMP team and a whole scheduler time slice (40-60 ms measured
under load) whenever a thread is preempted. Parallel from about 1 ms of work up: 1e5.
"""


def _check_quantile(diff_quantile) -> float:
    if isinstance(diff_quantile, bool) or not isinstance(diff_quantile, numbers.Real) or not 0.0 <= diff_quantile <= 1.0:
        raise ValueError(f"diff_quantile must be a number in [0, 1] (1.0 is the paper's maximum); got {diff_quantile!r}.")
    return float(diff_quantile)


def _factor_groups(factors: np.ndarray, factor_bins: int | None, n_jobs=None) -> np.ndarray:
    """Group labels (K, n): the factors histogram-discretized as disentanglement_lib does, or as given."""
    if factor_bins is None:
        return kernels.encode_factor_columns(factors)[0]
    return kernels.discretize(np.ascontiguousarray(factors, dtype=np.float64), factor_bins, n_jobs=n_jobs)


def irs_from_groups(latents: np.ndarray, groups: np.ndarray, diff_quantile: float, exponents=None, *,
                    n_jobs=None) -> dict:
    r"""disentanglement_lib's `scalable_disentanglement_score` on active latents (n, L) and group labels (K,
    n).

    For factor k with groups g (points sharing a value of the discretized factor):
    `dev[i, k] = mean_g quantile_q(|z_i - E[z_i | g]|)` over the points of g, and
    `IRS[i, k] = 1 - dev[i, k] / max_n |z_i - mean(z_i)|`.

    `exponents` (optional, one per latent): the latents were rescaled by `2**-exponents`; IRS[i, k]
    does not depend on that, the weights (`max_deviations`, reported in the codes' units) do.
    `n_jobs`: threads of the kernel (one per latent; one thread below `IRS_PARALLEL_WORK`).
    """
    n_latents = latents.shape[1]
    n_factors = groups.shape[0]
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cum_deviations = np.zeros((n_latents, n_factors))
    threads = resolve_n_jobs(n_jobs, work=latents.shape[0] * n_latents, parallel_work=IRS_PARALLEL_WORK,
                             idle_only=True)
    with numba_threads(threads):
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


def irs(codes, factors, *, diff_quantile: float = 0.99, factor_bins: int | None = 20, n_jobs=None) -> MetricResult:
    r"""Interventional robustness score (IRS), as disentanglement_lib computes it.

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

    Reference settings (disentanglement_lib `irs.py`, study `irs.gin`): 10,000 points,
    `diff_quantile = 0.99`, factors discretized with the 20-bin histogram discretizer.

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
    codes : array-like of shape (n, d)
        The representation: one row per point, one column per code dim.
    factors : array-like of int, shape (n, K)
        Ground-truth factor values of the same points.
    diff_quantile : float, default 0.99
        Quantile of the within-group deviations, in [0, 1] (0.99 in disentanglement_lib; 1.0 is the
        paper's maximum).
    factor_bins : int or None, default 20
        Bins of the histogram discretization of the factors (20 in disentanglement_lib); `None`
        groups by the factor values themselves.
    n_jobs : int or None, default None
        Threads of the per-dim kernel, scikit-learn's meaning under `$DISMETRICS_NUM_THREADS`
        (`None`: the allowed threads that have an idle CPU, since the kernel's threads wait for each
        other; `-1`: all allowed; `k`: k); one thread below `IRS_PARALLEL_WORK` (n x active dims).
        The value does not depend on it.

    Returns
    -------
    MetricResult
        `value` is the IRS (at most 1; above -1); `details`: `active_dims` (indices),
        `num_active_dims`, `irs_matrix` (active dims x K), `per_dim` (active dims), `parents` (best
        factor of each active dim), `max_deviations` (the weights).

    References
    ----------
    R. Suter, D. Miladinović, B. Schölkopf and S. Bauer, "Robustly disentangled causal mechanisms:
    validating deep representations for interventional robustness", ICML 2019. Reference code:
    google-research/disentanglement_lib, `disentanglement_lib/evaluation/metrics/irs.py`.

    Examples
    --------
    A code whose first dim is the factor and whose second dim mixes in a second factor:

    >>> import numpy as np
    >>> from dismetrics import irs
    >>> v = np.repeat(np.arange(4), 25)[:, None] * [1, 1]
    >>> v[:, 1] = np.tile(np.arange(4), 25)
    >>> codes = np.c_[v[:, 0], v[:, 0] + v[:, 1]].astype(float)
    >>> result = irs(codes, v)
    >>> round(result.value, 4), result.details["parents"].tolist()
    (0.6578, [0, 0])
    """
    codes, factors = check_codes_and_factors(codes, factors)
    diff_quantile = _check_quantile(diff_quantile)
    if factor_bins is not None:
        factor_bins = check_bins(factor_bins, name="factor_bins")
    # A dim beyond about 2e90 or below 5e-91 in magnitude is rescaled by an exact power of two first (its
    # variance and mean would overflow or underflow); every other dim is used as it is.
    scaled, exponents = scaled_to_safe_range(codes)
    active = np.flatnonzero(scaled.var(axis=0) > 0.0)
    n_jobs = check_n_jobs(n_jobs)
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
    groups = _factor_groups(factors, factor_bins, n_jobs)
    # float64 throughout (float32 codes: the reference's float32 arithmetic differs by about 1e-7)
    scores = irs_from_groups(scaled[:, active].astype(np.float64), groups, diff_quantile, exponents[active],
                             n_jobs=n_jobs)
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


SPEC = register_metric(MetricSpec(
    name="irs",
    func=irs,
    kind="sample",
    title="IRS",
    random=False,
    factor_types=("discrete",),
    value_range=(-1.0, 1.0),
    direction="higher",
    reference="Suter et al., ICML 2019; disentanglement_lib evaluation/metrics/irs.py",
    docs="irs.md",
))
