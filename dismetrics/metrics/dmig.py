"""DMIG, the dependency-aware mutual information gap (Watcharasupat & Lerch 2021), as latte-metrics computes it."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..result import MetricResult
from ._latte_mi import check_denominator, prepare_inputs, top2gap
from .registry import MetricSpec, register_metric

__all__ = ["dmig"]


def dmig(codes, factors, *, reg_dim: Sequence[int] | None = None, factor_types="continuous", n_neighbors: int = 3,
         random_state=0, n_jobs: int | None = None) -> MetricResult:
    r"""Dependency-aware mutual information gap.

    Factor $a_i$ is regularized by code dim $j = $ `reg_dim[i]` (default: dim i). With
    $k = \arg\max_{n \ne j} I(a_i; z_n)$:

    $$
    \mathrm{DMIG}_i = \frac{I(a_i; z_j) - I(a_i; z_k)}{H(a_i \mid a_l)}
    $$

    where $a_l$ is the factor that $z_k$ regularizes, and $H(a_i)$ replaces the denominator when $z_k$
    regularizes none. When $z_j$ is not the most informative dim, $k$ is the most informative one and the
    gap is negative. The value is the mean of $\mathrm{DMIG}_i$ over factors (latte returns the per-factor
    array, kept in `details`).

    Every I and H is scikit-learn's k-nearest-neighbour estimate exactly as latte-metrics calls it
    (`latte.functional.disentanglement.mutual_info.dmig`, karnwatcharasupat/latte@623fae2): codes as
    continuous features, `mutual_info_classif` for a discrete factor and `mutual_info_regression` for a
    continuous one, $H(a) = \hat I(a; a)$, $H(a_i \mid a_l) = \hat I(a_i; a_i) - \hat I(a_i; a_l)$.
    Where such an estimated denominator is not positive (a factor determined by another one in the
    sample), latte divides all the same; here that is a `ValueError` naming the factor. The estimates can
    put a score slightly outside [-1, 1].

    Parameters
    ----------
    codes : array (n, d)
        The representation, d >= number of factors.
    factors : array (n, K)
        Attributes: integer indices for discrete factors, reals for continuous ones.
    reg_dim : sequence of int or None, default None
        The code dim regularizing each factor (latte's `reg_dim`); None: factor i <-> dim i.
    factor_types : {"continuous", "discrete"} or sequence of them, default "continuous"
        latte's `discrete=False` is the default there, and here: every factor goes through
        `mutual_info_regression`. `"discrete"` is latte's `discrete=True`. Per-factor types are allowed
        (the type of the target of each estimate decides its estimator).
    n_neighbors : int, default 3
        Neighbours of the k-NN estimators (scikit-learn's and latte's default).
    random_state : int, None or numpy Generator, default 0
        The seed of the small noise scikit-learn adds to continuous variables, passed to every call as
        latte passes its module seed (`latte.seed(s)` <-> `random_state=s`; latte's own default is None,
        unseeded). A Generator gives one int seed.
    n_jobs : int or None, default None
        Passed to scikit-learn's estimators (parallel over code dims; scikit-learn >= 1.5); the result
        does not depend on it.

    Returns
    -------
    MetricResult
        `value` is the mean DMIG; `details` holds `dmig_per_factor`, `mi_matrix` (d, K),
        `denominator` (K), `subtrahend_dim` (K, the dim k of each factor).

    References
    ----------
    K. N. Watcharasupat and A. Lerch. Evaluation of Latent Space Disentanglement in the Presence of
    Interdependent Attributes. ISMIR 2021 Late-Breaking Demo (arXiv:2110.05587).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.dmig import dmig
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 5, size=(500, 2))
    >>> codes = np.column_stack([factors + 0.1 * rng.normal(size=(500, 2)), rng.normal(size=500)])
    >>> result = dmig(codes, factors, factor_types="discrete")
    >>> bool(result.value > 0.8)
    True
    """
    inputs = prepare_inputs(codes, factors, factor_types=factor_types, reg_dim=reg_dim, n_neighbors=n_neighbors,
                            random_state=random_state, n_jobs=n_jobs)
    if inputs.codes.shape[1] < 2:
        raise ValueError("codes needs at least 2 dims: a gap compares two.")
    k = inputs.factors.shape[1]
    mi = np.empty((inputs.codes.shape[1], k))
    scores, denominators, others = np.empty(k), np.empty(k), np.empty(k, dtype=np.int64)
    for i in range(k):
        mi[:, i] = inputs.mutual_info(inputs.codes, i)
        gap, other = top2gap(mi[:, i], inputs.reg_dim[i])
        if other in inputs.reg_dim:
            given = inputs.reg_dim.index(other)
            denominators[i] = check_denominator(inputs.conditional_entropy(i, given), metric="DMIG", factor=i,
                                                what=f"conditional entropy given factor {given}")
        else:
            denominators[i] = check_denominator(inputs.entropy(i), metric="DMIG", factor=i, what="entropy")
        others[i] = other
        scores[i] = gap / denominators[i]
    return MetricResult(
        name="dmig", value=float(np.mean(scores)),
        details={"dmig_per_factor": scores, "mi_matrix": mi, "denominator": denominators, "subtrahend_dim": others},
        params=inputs.params())


SPEC = register_metric(MetricSpec(
    name="dmig", in_all=False, func=dmig, kind="sample", title="DMIG", random=True, factor_types=("discrete", "continuous"),
    # the quantity is in [-1, 1]; its k-NN estimate is not bounded (docs: "scores can leave [-1, 1]")
    value_range=(float("-inf"), None), reference="Watcharasupat & Lerch 2021; karnwatcharasupat/latte "
    "src/latte/functional/disentanglement/mutual_info.py@623fae2", docs="dmig.md"))
