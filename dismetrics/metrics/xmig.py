"""XMIG, the dependency-blind mutual information gap (Watcharasupat 2021), as latte-metrics computes it."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..result import MetricResult
from ._latte_mi import check_denominator, prepare_inputs
from .registry import MetricSpec, register_metric

__all__ = ["xmig"]


def xmig(codes, factors, *, reg_dim: Sequence[int] | None = None, factor_types="continuous", n_neighbors: int = 3,
         random_state=0, n_jobs: int | None = None) -> MetricResult:
    r"""Dependency-blind mutual information gap: the gap to the best *unregularized* code dim.

    Factor $a_i$ is regularized by code dim $j = $ `reg_dim[i]` (default: dim i); $\mathcal D$ is the
    set of dims that regularize no factor (it must not be empty, so d > K with the default `reg_dim`):

    $$
    \mathrm{XMIG}_i = \frac{I(a_i; z_j) - \max_{k \in \mathcal D} I(a_i; z_k)}{H(a_i)}
    $$

    The value is the mean over factors. The estimates are scikit-learn's k-NN ones, called exactly as
    latte-metrics calls them (`latte.functional.disentanglement.mutual_info.xmig`,
    karnwatcharasupat/latte@623fae2); see [`dmig`][dismetrics.metrics.dmig.dmig] for the estimator
    and the parameters, which are the same.

    Parameters
    ----------
    codes : array (n, d)
        The representation, d > number of factors (or more dims than `reg_dim` uses).
    factors : array (n, K)
    reg_dim : sequence of int or None, default None
    factor_types : {"continuous", "discrete"} or sequence of them, default "continuous"
    n_neighbors : int, default 3
    random_state : int, None or numpy Generator, default 0
    n_jobs : int or None, default None

    Returns
    -------
    MetricResult
        `value` is the mean XMIG; `details` holds `xmig_per_factor`, `mi_matrix` (d, K),
        `factor_entropy` (K) and `subtrahend_dim` (K, the best unregularized dim of each factor).

    References
    ----------
    K. N. Watcharasupat. Controllable Music: Supervised Learning of Disentangled Representations for
    Music Generation. Thesis, Nanyang Technological University, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.xmig import xmig
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 5, size=(500, 2))
    >>> codes = np.column_stack([factors + 0.1 * rng.normal(size=(500, 2)), rng.normal(size=500)])
    >>> bool(xmig(codes, factors, factor_types="discrete").value > 0.8)
    True
    """
    inputs = prepare_inputs(codes, factors, factor_types=factor_types, reg_dim=reg_dim, n_neighbors=n_neighbors,
                            random_state=random_state, n_jobs=n_jobs)
    d = inputs.codes.shape[1]
    k = inputs.factors.shape[1]
    free = np.setdiff1d(np.arange(d), inputs.reg_dim)
    if d <= k or free.size == 0:
        raise ValueError(f"xmig compares each factor's dim with the dims that regularize no factor; codes has {d} dims "
                         f"and reg_dim uses {sorted(set(inputs.reg_dim))}, leaving none. "
                         "It needs more dims than factors.")
    mi = np.empty((d, k))
    scores, entropies, others = np.empty(k), np.empty(k), np.empty(k, dtype=np.int64)
    for i in range(k):
        mi[:, i] = inputs.mutual_info(inputs.codes, i)
        entropies[i] = check_denominator(inputs.entropy(i), metric="XMIG", factor=i, what="entropy")
        rest = mi[free, i]
        best = int(np.argsort(rest)[-1])
        others[i] = free[best]
        scores[i] = (mi[inputs.reg_dim[i], i] - np.sort(rest)[-1]) / entropies[i]
    return MetricResult(
        name="xmig", value=float(np.mean(scores)),
        details={"xmig_per_factor": scores, "mi_matrix": mi, "factor_entropy": entropies, "subtrahend_dim": others},
        params=inputs.params())


SPEC = register_metric(MetricSpec(
    name="xmig", in_all=False, func=xmig, kind="sample", title="XMIG", random=True, factor_types=("discrete", "continuous"),
    # the quantity is in [-1, 1]; its k-NN estimate is not bounded (docs: "scores can leave [-1, 1]")
    value_range=(float("-inf"), None), reference="Watcharasupat 2021; karnwatcharasupat/latte "
    "src/latte/functional/disentanglement/mutual_info.py@623fae2", docs="xmig.md"))
