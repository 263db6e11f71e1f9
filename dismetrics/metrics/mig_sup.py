"""MIG-sup, the supplementary mutual information gap (Li, Murkute, Gyawali and Wang, ICLR 2020)."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_bins, check_codes_and_factors
from ..result import MetricResult
from ._histogram import discrete_mutual_info
from .registry import MetricSpec, register_metric

__all__ = ["mig_sup", "check_two_factors"]


def check_two_factors(factors: np.ndarray, metric: str) -> None:
    """A gap between the best and second-best *factor* needs two factors: `ValueError` naming `metric`
    when `factors` has fewer than two columns.

    Parameters
    ----------
    factors : array of shape (n, K)
        The factors.
    metric : str
        The metric's name, for the message.

    Returns
    -------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.mig_sup import check_two_factors
    >>> check_two_factors(np.zeros((3, 2)), "MIG-sup")
    >>> check_two_factors(np.zeros((3, 1)), "MIG-sup")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: factors needs at least two factors (columns) for MIG-sup: ... got 1.
    """
    if factors.shape[1] < 2:
        raise ValueError(
            f"factors needs at least two factors (columns) for {metric}: its gap is taken between the best and "
            f"second-best factor of each code dim; got {factors.shape[1]}."
        )


def mig_sup(codes, factors, *, bins: int = 20, active_variance: float | None = None) -> MetricResult:
    r"""MIG-sup: for every code dim, the gap between its two best-explained factors.

    Li et al., "Progressive learning and disentanglement of hierarchical representations", ICLR 2020.
    MIG rewards each factor for living in one code dim; MIG-sup is its transpose and rewards each
    code dim for holding one factor:

    $$
    N_{ik} = \frac{I(\mathrm{disc}(z_i); v_k)}{H(v_k)}, \qquad
    \mathrm{MIG\text{-}sup} = \frac{1}{d} \sum_i \big(N_{i(1)} - N_{i(2)}\big)
    $$

    where $N_{i(1)} \ge N_{i(2)}$ are the two largest entries of row i. The MI matrix is the
    one of [`mig`][dismetrics.metrics.mig.mig] (`bins` equal-width bins per code dim, plug-in MI in nats),
    normalized by the factor entropy as in MIG. By default the mean runs over all d code dims, so a
    collapsed dim (no information) counts as 0 (the paper's formula, and Carbonneau et al.'s review).

    Variant notes: the authors' evaluation code (pro-VLAE `metric_MIG.py`) averages over the
    *active* dims only, those whose variance (`ddof=1`) exceeds 0.01: `active_variance=0.01`
    does that (no active dim gives 0); it makes the score depend on the scale of the codes.
    Their MI is estimated from samples of q(z|x), not binned. Carbonneau et al.'s review code
    (`mig_sup.py`) uses 10 bins and normalizes by the entropy of the *code dim* (pyitlib
    `norm_factor='Y'`); the normalization by the factor entropy, as in MIG and in the authors'
    code, is the one here.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, K >= 2.
    bins : int, default 20
        Equal-width bins per code dim (20, as MIG in disentanglement_lib; at most 1,000).
    active_variance : float or None, default None
        `None`: average over all dims; a number: only over dims whose variance exceeds it.

    Returns
    -------
    MetricResult
        `value` in [0, 1]; `details`: `mi_matrix` (d, K), `factor_entropy`,
        `normalized_mi` (d, K), `gap_per_dim` (d), `top_factor_per_dim`, `second_factor_per_dim`,
        `active_dims` (the dims averaged over).

    References
    ----------
    Z. Li, J. V. Murkute, P. K. Gyawali and L. Wang, "Progressive learning and disentanglement of
    hierarchical representations", ICLR 2020 (arXiv:2002.10549). Reference code: Zhiyuan1991/proVLAE,
    `metric_MIG.py` (the authors'); ubisoft/ubisoft-laforge-disentanglement-metrics, `src/metrics/mig_sup.py`
    (Carbonneau et al.'s review; its differences above).

    Examples
    --------
    MIG-sup rewards each dim for holding one factor, so appending a noisy copy of every dim keeps it
    (MIG, which wants each factor in one dim, falls to 0):

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.mig_sup import mig_sup
    >>> codes, factors = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> copied, _ = damage_sample("duplicate", 5, 1000, seed=0)
    >>> result = mig_sup(copied, factors)
    >>> print(round(mig_sup(codes, factors).value, 2), round(result.value, 2), result.details["gap_per_dim"].shape)
    0.98 0.97 (10,)
    """
    codes, factors = check_codes_and_factors(codes, factors)
    check_two_factors(factors, "MIG-sup")
    bins = check_bins(bins)
    if active_variance is not None and (isinstance(active_variance, bool) or not isinstance(active_variance, numbers.Real)
                                        or not active_variance >= 0):
        raise ValueError(f"active_variance must be None or a number >= 0 (0.01 in the authors' code); got {active_variance!r}.")
    info = discrete_mutual_info(codes, factors, bins)
    normalized = info.matrix / info.factor_entropy
    order = np.argsort(-normalized, axis=1, kind="stable")
    rows = np.arange(normalized.shape[0])
    gaps = normalized[rows, order[:, 0]] - normalized[rows, order[:, 1]]
    if active_variance is None:
        active = np.arange(codes.shape[1])
    else:
        active = np.flatnonzero(codes.var(axis=0, ddof=1) > active_variance)
    return MetricResult(
        name="mig_sup",
        value=float(np.mean(gaps[active])) if active.size else 0.0,
        details={
            "mi_matrix": info.matrix,
            "factor_entropy": info.factor_entropy,
            "normalized_mi": normalized,
            "gap_per_dim": gaps,
            "top_factor_per_dim": order[:, 0],
            "second_factor_per_dim": order[:, 1],
            "active_dims": active,
        },
        params={"active_variance": active_variance, "bins": bins, "n_samples": codes.shape[0], "discretization": "histogram_minmax", "normalization": "factor_entropy"},
    )


SPEC = register_metric(MetricSpec(
    name="mig_sup", func=mig_sup, kind="sample", title="MIG-sup",
    reference="Li et al. 2020 (MIG-sup)", docs="mig_sup.md"))
