"""DCIMIG (Sepliarskaia, Kiseleva and de Rijke, "How to not measure disentanglement", 2019)."""

from __future__ import annotations

import numpy as np

from .._validation import check_bins, check_codes_and_factors
from ..result import MetricResult
from ._histogram import discrete_mutual_info
from .mig_sup import check_two_factors
from .registry import MetricSpec, register_metric

__all__ = ["dcimig", "dcimig_from_mi"]


def dcimig_from_mi(mi_matrix: np.ndarray, factor_entropy: np.ndarray) -> dict:
    """DCIMIG from a (d, K) MI matrix and the K factor entropies (see
    [`dcimig`][dismetrics.metrics.dcimig.dcimig]).

    Parameters
    ----------
    mi_matrix : array of shape (d, K)
        Mutual information between code dims (rows) and factors (columns), K >= 2.
    factor_entropy : array of shape (K,)
        The entropy of each factor, in the units of `mi_matrix`.

    Returns
    -------
    dict
        `score` (float), `gap_per_dim` (d), `factor_of_dim` (d), `gap_per_factor` (K) and
        `dim_per_factor` (K; -1 where no dim is assigned to the factor).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.dcimig import dcimig_from_mi
    >>> mi = np.array([[1.0, 0.2], [0.1, 0.8]])
    >>> print(round(dcimig_from_mi(mi, np.array([1.0, 1.0]))["score"], 3))
    0.75
    """
    d, k_count = mi_matrix.shape
    order = np.argsort(-mi_matrix, axis=1, kind="stable")
    rows = np.arange(d)
    gaps = mi_matrix[rows, order[:, 0]] - mi_matrix[rows, order[:, 1]]
    assigned = order[:, 0]
    best_gap = np.zeros(k_count)
    best_dim = np.full(k_count, -1, dtype=np.int64)
    for i in range(d):
        k = assigned[i]
        if gaps[i] > best_gap[k]:
            best_gap[k] = gaps[i]
            best_dim[k] = i
    return {
        "score": float(best_gap.sum() / factor_entropy.sum()),
        "gap_per_dim": gaps,
        "factor_of_dim": assigned,
        "gap_per_factor": best_gap,
        "dim_per_factor": best_dim,
    }


def dcimig(codes, factors, *, bins: int = 20) -> MetricResult:
    r"""DCIMIG: MIG-style gaps assigned from code dims to factors, then normalized by total entropy.

    Sepliarskaia, Kiseleva and de Rijke, "How to not measure disentanglement" (arXiv:1910.05587,
    also "Evaluating disentangled representations"). With $M_{ik} = I(\mathrm{disc}(z_i); v_k)$:

    1. every code dim i gets the gap $R_i = M_{i(1)} - M_{i(2)}$ between its two largest
       entries, and is assigned to its best factor $k_i = \arg\max_k M_{ik}$;
    2. every factor keeps the largest gap assigned to it, $S_k = \max_{i: k_i = k} R_i$
       (0 when no dim is assigned to it);
    3. $\mathrm{DCIMIG} = \sum_k S_k / \sum_k H(v_k)$.

    The MI matrix is the one of [`mig`][dismetrics.metrics.mig.mig] (`bins` equal-width bins per code dim,
    plug-in MI in nats). In [0, 1]. Carbonneau et al.'s review code computes the same with 10 bins.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, K >= 2.
    bins : int, default 20
        Equal-width bins per code dim, 2 to 1,000.

    Returns
    -------
    MetricResult
        `details`: `mi_matrix`, `factor_entropy`, `gap_per_dim` (R), `factor_of_dim`,
        `gap_per_factor` (S), `dim_per_factor` (the dim giving S_k, -1 where none).

    References
    ----------
    A. Sepliarskaia, J. Kiseleva and M. de Rijke, "How to not measure disentanglement", arXiv:1910.05587
    (2019). Reference code: ubisoft/ubisoft-laforge-disentanglement-metrics, `src/metrics/dcimig.py`
    (M.-A. Carbonneau et al., "Measuring disentanglement: a review of metrics", IEEE TNNLS 2022).

    Examples
    --------
    Two of the five factors replaced by noise dims:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.dcimig import dcimig
    >>> codes, factors = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> missing, _ = damage_sample("missing", 2, 1000, seed=0)
    >>> print(round(dcimig(codes, factors).value, 2), round(dcimig(missing, factors).value, 2))
    0.97 0.57
    """
    codes, factors = check_codes_and_factors(codes, factors)
    check_two_factors(factors, "DCIMIG")
    bins = check_bins(bins)
    info = discrete_mutual_info(codes, factors, bins)
    scores = dcimig_from_mi(info.matrix, info.factor_entropy)
    return MetricResult(
        name="dcimig",
        value=scores["score"],
        details={
            "mi_matrix": info.matrix,
            "factor_entropy": info.factor_entropy,
            "gap_per_dim": scores["gap_per_dim"],
            "factor_of_dim": scores["factor_of_dim"],
            "gap_per_factor": scores["gap_per_factor"],
            "dim_per_factor": scores["dim_per_factor"],
        },
        params={"bins": bins, "n_samples": codes.shape[0], "discretization": "histogram_minmax"},
    )


SPEC = register_metric(MetricSpec(
    name="dcimig", func=dcimig, kind="sample", title="DCIMIG",
    reference="Sepliarskaia et al. 2019", docs="dcimig.md"))
