"""The discretized mutual-information matrix shared by MIG, Modularity and the unsupervised scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels import info as kernels
from .._validation import check_workspace

__all__ = ["DiscreteMutualInfo", "discrete_mutual_info", "check_table_memory"]


def check_table_memory(n_dims: int, bins: int, sizes) -> None:
    """Refuse contingency tables (d x bins x sum of factor sizes, int64, copied once) beyond the
    workspace limit, before they are allocated."""
    total = int(np.sum(sizes))
    check_workspace(
        2 * 8.0 * n_dims * bins * total,
        what=f"the contingency tables of {n_dims} code dims x {bins} bins x {total:,} factor values",
        advice="Use fewer bins (the reference uses 20), fewer code dims at a time, or factors with fewer values.",
    )


@dataclass(frozen=True)
class DiscreteMutualInfo:
    """MI between histogram-discretized codes and factors.

    `matrix[i, k] = MI(disc(z_i), v_k)` in nats and `factor_entropy[k] = H(v_k) = MI(v_k, v_k)`.
    """

    matrix: np.ndarray
    factor_entropy: np.ndarray


def discrete_mutual_info(codes: np.ndarray, factors: np.ndarray, bins: int) -> DiscreteMutualInfo:
    """Reference computation of disentanglement_lib, in one pass.

    For every code dim, `bins` equal-width bins between its min and max (numpy's `histogram`
    edges, `digitize` against the left edges), then the plug-in MI of every (dim, factor)
    contingency table, identical to `sklearn.metrics.mutual_info_score`. Inputs must already be
    validated (finite float codes (n, d), integer factors (n, K)).
    """
    labels, sizes = kernels.encode_factor_columns(factors)
    check_table_memory(codes.shape[1], bins, sizes)
    disc = kernels.discretize(codes, bins)
    tables = kernels.contingency_tables(disc, labels, sizes, bins)
    return DiscreteMutualInfo(
        matrix=kernels.mutual_info_from_tables(tables),
        factor_entropy=kernels.entropies(labels, sizes),
    )
