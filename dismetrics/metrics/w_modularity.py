"""W-Modularity: Ridgeway & Mozer's modularity on the Wasserstein dependency matrix (the WTC paper's code)."""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_codes_and_factors
from ..result import MetricResult
from .modularity import modularity_from_mi
from .registry import MetricSpec, register_metric
from .wdg import ESTIMATORS, NORMALIZATIONS, wdg

__all__ = ["w_modularity"]


def w_modularity(codes, factors, *, normalize="minmax", estimator: str = "paper_code",
                 random_state=0) -> MetricResult:
    r"""W-Modularity: modularity (Ridgeway & Mozer 2018) with the MI matrix replaced by the Wasserstein
    dependency matrix of [`wdg`][dismetrics.metrics.wdg.wdg].

    With $W_{ik} = I_W(z_i, v_k)$ (code dim i, factor k; codes divided by their range first),

    $$
    \theta_i = \max_k W_{ik}, \quad
    \mathrm{mod}_i = 1 - \frac{\sum_k W_{ik}^2 - \theta_i^2}{\theta_i^2 (K - 1)}
    \ (0 \text{ where } \theta_i = 0), \qquad
    \text{W-Modularity} = \frac{1}{d} \sum_i \mathrm{mod}_i .
    $$

    The default (`estimator="paper_code"`) is the computation of the Wasserstein-TC paper's released
    evaluation code (its `wmod` metric): each dim divided by its range, $W_{ik}$ the unweighted mean over
    the values u of factor k of $W_1(z_i[v_k = u],\ \pi(z_i)[v_k = u])$ with $\pi$ a random permutation of
    the dim's n values (one per dim), then modularity over **all** d dims (collapsed dims score 0).
    `estimator="exact"` uses the frequency-weighted $W_1$ against the whole marginal (Eq. 12 of the
    paper; deterministic, no permutation noise), as `wdg`'s default does.

    Parameters
    ----------
    codes : array of shape (n, d)
    factors : array of shape (n, K), K >= 2
        Integer factor values (any labels: each column's distinct values are the classes).
    normalize : {"minmax", "std", "rank", None}, default "minmax"
        Per-dim normalization before $W_1$ (`"minmax"`: divide by the range, as the source).
    estimator : {"paper_code", "exact"}, default "paper_code"
    random_state : int, None or numpy Generator, default 0
        Seeds the permutations of `"paper_code"` (unused by `"exact"`).

    Returns
    -------
    MetricResult
        `value`: the mean over dims; `details`: `per_dim` (d), `dependency_matrix` (d, K),
        `top_factor_per_dim` (d), `constant_dims` (d, bool).

    References
    ----------
    Xiao & Wang, "Disentangled representation learning with Wasserstein total correlation" (2019), and
    its released evaluation code (`metrics/wmod`, compared number by number; it carries no licence, none
    of it is copied here). Ridgeway & Mozer, "Learning deep disentangled embeddings with the F-statistic
    loss", NeurIPS 2018 (the modularity formula).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.w_modularity import w_modularity
    >>> factors = np.random.default_rng(0).integers(0, 4, size=(500, 2))
    >>> codes = factors + 0.01 * np.random.default_rng(1).standard_normal((500, 2))
    >>> round(w_modularity(codes, factors).value, 2)
    0.99
    """
    codes, factors = check_codes_and_factors(codes, factors, min_dims=1)
    if factors.shape[1] < 2:
        raise ValueError("factors needs at least two factors (columns) for W-Modularity: it compares a code's "
                         "dependency on its best factor with the others.")
    normalize = check_choice(normalize, name="normalize", choices=NORMALIZATIONS)
    estimator = check_choice(estimator, name="estimator", choices=ESTIMATORS)
    if codes.shape[1] == 1:  # wdg needs two dims for its gap; the dependency matrix does not
        codes_for_matrix = np.column_stack([codes, np.zeros(codes.shape[0])])
    else:
        codes_for_matrix = codes
    inner = wdg(codes_for_matrix, factors, normalize=normalize, estimator=estimator, random_state=random_state)
    matrix = inner.details["dependency_matrix"][: codes.shape[1]]
    constant = inner.details["constant_dims"][: codes.shape[1]]
    per_dim = modularity_from_mi(matrix)
    return MetricResult(
        name="w_modularity",
        value=float(np.mean(per_dim)),
        details={
            "per_dim": per_dim,
            "dependency_matrix": matrix,
            "top_factor_per_dim": np.argmax(matrix, axis=1),
            "constant_dims": constant,
        },
        params={
            "normalize": normalize,
            "estimator": estimator,
            "n_samples": int(codes.shape[0]),
            "random_state": inner.params["random_state"],
        },
    )


SPEC = register_metric(MetricSpec(
    name="w_modularity", func=w_modularity, kind="sample", title="W-Modularity", random=True,
    aliases=("wmod",),
    presets={"wtc_paper": {"estimator": "paper_code", "normalize": "minmax"}},
    reference="Xiao & Wang 2019 (Wasserstein-TC), released evaluation code metrics/wmod; Ridgeway & Mozer 2018",
    docs="w_modularity.md"))
