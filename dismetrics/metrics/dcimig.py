"""DCIMIG (Sepliarskaia, Kiseleva and de Rijke, "How to not measure disentanglement", 2019)."""

from __future__ import annotations

import numpy as np

from .._validation import check_bins, check_codes_and_factors
from ..result import MetricResult
from ._histogram import discrete_mutual_info
from .mig_sup import check_two_factors

__all__ = ["dcimig", "dcimig_from_mi"]


def dcimig_from_mi(mi_matrix: np.ndarray, factor_entropy: np.ndarray) -> dict:
    """DCIMIG from a (d, K) MI matrix and the K factor entropies (see
    [`dcimig`][dismetrics.metrics.dcimig.dcimig])."""
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

    Returns
    -------
    MetricResult
        `details`: `mi_matrix`, `factor_entropy`, `gap_per_dim` (R), `factor_of_dim`,
        `gap_per_factor` (S), `dim_per_factor` (the dim giving S_k, -1 where none).
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
