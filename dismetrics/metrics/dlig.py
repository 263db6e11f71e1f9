"""DLIG, the dependency-aware latent information gap (Watcharasupat 2021), as latte-metrics computes it."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..result import MetricResult
from ._latte_mi import check_denominator, prepare_inputs, top2gap
from .registry import MetricSpec, register_metric

__all__ = ["dlig"]


def dlig(codes, factors, *, reg_dim: Sequence[int] | None = None, factor_types="continuous", n_neighbors: int = 3,
         random_state=0, n_jobs: int | None = None) -> MetricResult:
    r"""Dependency-aware latent information gap: the latent-centric counterpart of DMIG.

    For the code dim $z_d$ regularizing factor $a_i$ ($d = $ `reg_dim[i]`, default i), with
    $j = \arg\max_{l \ne i} I(a_l; z_d)$ over the other factors:

    $$
    \mathrm{DLIG}_i = \frac{I(a_i; z_d) - I(a_j; z_d)}{H(a_i \mid a_j)}
    $$

    (when $a_i$ is not the factor $z_d$ informs most, $j$ is that factor and the gap is negative). The value
    is the mean over factors. Each $I(a_l; z_d)$ is its own scikit-learn call with the single column $z_d$
    as feature, as latte-metrics does (`latte.functional.disentanglement.mutual_info.dlig`,
    karnwatcharasupat/latte@623fae2); see [`dmig`][dismetrics.metrics.dmig.dmig] for the estimator and
    the parameters, which are the same.

    Parameters
    ----------
    codes : array (n, d)
    factors : array (n, K), K >= 2
    reg_dim : sequence of int or None, default None
    factor_types : {"continuous", "discrete"} or sequence of them, default "continuous"
    n_neighbors : int, default 3
    random_state : int, None or numpy Generator, default 0
    n_jobs : int or None, default None
        Accepted for a uniform signature; each estimate here has one feature column, so it does nothing.

    Returns
    -------
    MetricResult
        `value` is the mean DLIG; `details` holds `dlig_per_factor`, `mi_matrix` (K, K: row i is
        $I(a_l; z_{reg\_dim[i]})$ over l), `denominator` (K) and `subtrahend_factor` (K).

    References
    ----------
    K. N. Watcharasupat. Controllable Music: Supervised Learning of Disentangled Representations for
    Music Generation. Thesis, Nanyang Technological University, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.dlig import dlig
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 5, size=(500, 2))
    >>> codes = factors + 0.1 * rng.normal(size=(500, 2))
    >>> bool(dlig(codes, factors, factor_types="discrete").value > 0.8)
    True
    """
    inputs = prepare_inputs(codes, factors, factor_types=factor_types, reg_dim=reg_dim, n_neighbors=n_neighbors,
                            random_state=random_state, n_jobs=n_jobs)
    k = inputs.factors.shape[1]
    if k < 2:
        raise ValueError("dlig compares the factors one code dim informs about; it needs at least 2 factors.")
    mi = np.empty((k, k))
    scores, denominators, others = np.empty(k), np.empty(k), np.empty(k, dtype=np.int64)
    for i, dim in enumerate(inputs.reg_dim):
        column = inputs.codes[:, dim : dim + 1]
        mi[i] = [inputs.mutual_info(column, l)[0] for l in range(k)]
        gap, other = top2gap(mi[i], i)
        denominators[i] = check_denominator(inputs.conditional_entropy(i, other), metric="DLIG", factor=i,
                                            what=f"conditional entropy given factor {other}")
        others[i] = other
        scores[i] = gap / denominators[i]
    return MetricResult(
        name="dlig", value=float(np.mean(scores)),
        details={"dlig_per_factor": scores, "mi_matrix": mi, "denominator": denominators, "subtrahend_factor": others},
        params=inputs.params())


SPEC = register_metric(MetricSpec(
    name="dlig", in_all=False, func=dlig, kind="sample", title="DLIG", random=True, factor_types=("discrete", "continuous"),
    # the quantity is in [-1, 1]; its k-NN estimate is not bounded (docs: "scores can leave [-1, 1]")
    value_range=(float("-inf"), None), reference="Watcharasupat 2021; karnwatcharasupat/latte "
    "src/latte/functional/disentanglement/mutual_info.py@623fae2", docs="dlig.md"))
