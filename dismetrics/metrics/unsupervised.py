"""Unsupervised scores of a representation: they need the codes only, no factors.

Definitions as in disentanglement_lib's `unsupervised_metrics` (Locatello et al. 2019), with the
covariance `C = np.cov(codes.T)` (ddof = 1). They are computed for the mean representation and,
where an encoder gives a variance, for the sampled one (`dismetrics.evaluate` does both): the gap
between the two is what Locatello et al. (Fig. 1) and the RTC-VAE paper discuss.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._kernels import info as kernels
from .._parallel import available_threads
from .._validation import check_bins, check_codes, check_workspace, scaled_to_safe_range
from ..result import MetricResult
from .registry import MetricSpec, register_metric

__all__ = [
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized",
    "latent_mutual_info",
    "mutual_info_score",
    "gaussian_tc_from_cov",
    "gaussian_wasserstein_from_cov",
]


GWC_SAFE_EXPONENT = 120
"""The Wasserstein correlation multiplies the covariance by the variances (fourth powers of the codes):
codes beyond `2**120` or below `2**-120` in magnitude are first rescaled by a power of two."""


def _covariance(codes: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.cov(codes.astype(np.float64, copy=False), rowvar=False, ddof=1))


def gaussian_tc_from_cov(cov: np.ndarray) -> float:
    r"""Total correlation of a Gaussian with covariance `cov`:
    $\tfrac12 (\sum_i \log C_{ii} - \log\det C)$ (Prop. 1 of the RTC-VAE paper).

    `+inf` for a singular `cov` (a dim that is an exact linear function of the others);
    [`gaussian_total_correlation`][dismetrics.metrics.unsupervised.gaussian_total_correlation] raises
    `ValueError` there instead.

    Parameters
    ----------
    cov : array of shape (d, d)
        A covariance matrix with a positive diagonal.

    Returns
    -------
    float
        The total correlation in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.unsupervised import gaussian_tc_from_cov
    >>> print(round(gaussian_tc_from_cov(np.array([[1.0, 0.6], [0.6, 1.0]])), 4))  # -log(1 - 0.36) / 2
    0.2231
    """
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return float("inf")
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))


def gaussian_wasserstein_from_cov(cov: np.ndarray) -> float:
    r"""Squared 2-Wasserstein distance between $N(0, C)$ and $N(0, \mathrm{diag}\, C)$:

    $$
    2\,\mathrm{tr}\, C - 2\,\mathrm{tr} \sqrt{C\,\mathrm{diag}(C)}
    $$

    where $\sqrt{\cdot}$ is the principal matrix square root (reference: `scipy.linalg.sqrtm`
    of `C * diag(C)[:, None]`). Computed as $\sum_j \sqrt{\lambda_j}$ of the symmetric
    $D^{1/2} C D^{1/2}$ (similar to $DC$, so the same trace), which is exact and stable.

    Parameters
    ----------
    cov : array of shape (d, d)
        A covariance matrix.

    Returns
    -------
    float
        The squared 2-Wasserstein distance.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.unsupervised import gaussian_wasserstein_from_cov
    >>> print(round(gaussian_wasserstein_from_cov(np.array([[1.0, 0.6], [0.6, 1.0]])), 4))
    0.2053
    """
    scale = np.sqrt(np.diag(cov))
    symmetric = cov * scale[:, None] * scale[None, :]
    eigenvalues = np.clip(np.linalg.eigvalsh(symmetric), 0.0, None)
    return float(2.0 * np.trace(cov) - 2.0 * np.sum(np.sqrt(eigenvalues)))


def _check_not_singular(cov: np.ndarray) -> None:
    """Refuse a numerically singular covariance: the smallest eigenvalue of the correlation matrix at
    or below `d * eps` times the largest (numpy's `matrix_rank` tolerance). The TC is then
    infinite, and any finite number slogdet returns for it is rounding noise."""
    d = cov.shape[0]
    std = np.sqrt(np.diag(cov))
    correlation = cov / std[:, None] / std[None, :]
    eigenvalues = np.linalg.eigvalsh(correlation)
    tolerance = d * np.finfo(np.float64).eps * eigenvalues[-1]
    if eigenvalues[0] > tolerance and np.linalg.slogdet(cov)[0] > 0:
        return
    rank = int(np.sum(eigenvalues > tolerance))
    pairs = np.argwhere(np.triu(np.abs(correlation) >= 1.0 - 1e-12, 1))
    example = f" (dims {pairs[0][0]} and {pairs[0][1]} are perfectly correlated)" if pairs.size else ""
    raise ValueError(
        f"codes has a singular covariance (numerical rank {rank} of {d}): some code dims are exact linear combinations "
        f"of others{example}, e.g. a duplicated dim, so the Gaussian total correlation is infinite. Drop the redundant "
        "dims (or keep only one of each duplicated dim)."
    )


def _unscaled(matrix: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """A covariance of codes rescaled by `2**-exponents` (per dim, or one for all) back in the codes' units
    (entries beyond float64 become inf)."""
    if not np.any(exponents):
        return matrix
    exponents = np.broadcast_to(exponents, matrix.shape[:1])
    with np.errstate(over="ignore"):
        return np.ldexp(matrix, exponents[:, None] + exponents[None, :])


def gaussian_total_correlation(codes) -> MetricResult:
    r"""Gaussian total correlation of the codes (nats).

    $$
    \mathrm{TC} = \tfrac12 \Big(\sum_i \log C_{ii} - \log\det C\Big)
    $$

    with `C = np.cov(codes.T)` (ddof = 1): the TC of the Gaussian with the codes' covariance, 0 for
    uncorrelated dims. It depends only on the correlation matrix, so it is invariant to positive (and
    negative) rescaling and to shifting of each dim, over the whole float64 range: a dim whose largest
    magnitude is outside about [5e-91, 2e90] is first rescaled by an exact power of two (codes inside
    that range are computed as they are, so their numbers are untouched).

    Raises `ValueError` when the TC is not finite: constant dims (log 0; drop them first) and a
    singular covariance (a duplicated dim, or a dim that is an exact linear combination of others:
    the TC is infinite; numerically singular means the correlation matrix's smallest eigenvalue is at
    most `d * eps` times its largest). `details["covariance"]` is `C` in the codes' units
    (entries beyond float64, for codes beyond about 1e154, are inf).

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation, no constant dim.

    Returns
    -------
    MetricResult
        `value`: the TC in nats (lower is better); `details`: `covariance` (d, d).

    References
    ----------
    F. Locatello, S. Bauer, M. Lucic, G. Raetsch, S. Gelly, B. Schoelkopf and O. Bachem, "Challenging common
    assumptions in the unsupervised learning of disentangled representations", ICML 2019
    (arXiv:1811.12359). Reference code: google-research/disentanglement_lib,
    `disentanglement_lib/evaluation/metrics/unsupervised_metrics.py`.

    Examples
    --------
    Two unit-variance dims with correlation 0.6 have TC $-\tfrac12 \log(1 - 0.6^2) = 0.223$ nats:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> independent = rng.standard_normal((10000, 2))
    >>> correlated = independent @ np.array([[1.0, 0.6], [0.0, 0.8]])  # unit variances, correlation 0.6
    >>> from dismetrics.metrics.unsupervised import gaussian_total_correlation
    >>> print(round(gaussian_total_correlation(independent).value, 2),
    ...       round(gaussian_total_correlation(correlated).value, 2))
    0.0 0.22
    """
    codes = check_codes(codes)
    scaled, exponents = scaled_to_safe_range(codes.astype(np.float64, copy=False))
    cov = _covariance(scaled)
    constant = np.flatnonzero(np.diag(cov) <= 0)
    if constant.size:
        raise ValueError(
            f"codes has constant dimension(s) {constant.tolist()}: their variance is 0 and the Gaussian total "
            "correlation is undefined (log 0). Drop them, e.g. codes[:, codes.std(axis=0) > 0]."
        )
    _check_not_singular(cov)
    return MetricResult(
        name="gaussian_total_correlation",
        value=gaussian_tc_from_cov(cov),
        details={"covariance": _unscaled(cov, exponents)},
        params={"n_samples": codes.shape[0], "ddof": 1},
    )


def _gwc(codes, normalized: bool) -> MetricResult:
    codes = check_codes(codes)
    # One power of two for all dims (the score is not invariant to rescaling one dim), only where the
    # codes are beyond 2**120 (about 1e36) or below 2**-120 in magnitude (see scaled_to_safe_range:
    # the square root of C diag(C) takes fourth powers of the codes): then every number is that of the
    # plain computation with an unbounded exponent range.
    scaled, exponent = scaled_to_safe_range(codes.astype(np.float64, copy=False), per_column=False,
                                            safe_exponent=GWC_SAFE_EXPONENT)
    cov = _covariance(scaled)
    raw = gaussian_wasserstein_from_cov(cov)
    total_variance = float(np.trace(cov))
    if normalized and total_variance <= 0:
        raise ValueError("codes is constant in every dimension: the normalized Gaussian Wasserstein correlation divides by tr C = 0.")
    norm = raw / total_variance if total_variance > 0 else float("nan")
    if exponent:
        with np.errstate(over="ignore"):
            raw = float(np.ldexp(raw, 2 * int(exponent)))  # the unnormalized score scales with the square of the codes
    if not normalized and not np.isfinite(raw):
        raise ValueError(
            "codes is so large that its Gaussian Wasserstein correlation (which grows with the square of the codes' scale) "
            "exceeds the float64 range; rescale the codes, or use gaussian_wasserstein_correlation_normalized (scale free)."
        )
    name = "gaussian_wasserstein_correlation" + ("_normalized" if normalized else "")
    return MetricResult(
        name=name,
        value=norm if normalized else raw,
        details={"unnormalized": raw, "normalized": norm, "covariance": _unscaled(cov, exponent)},
        params={"n_samples": codes.shape[0], "ddof": 1},
    )


def gaussian_wasserstein_correlation(codes) -> MetricResult:
    r"""Gaussian Wasserstein correlation of the codes.

    $2\,\mathrm{tr}\,C - 2\,\mathrm{tr}\sqrt{C\,\mathrm{diag}(C)}$: the squared W2 distance between the
    Gaussian with the codes' covariance and the Gaussian with only its diagonal (disentanglement_lib's
    `gaussian_wasserstein_correlation`); 0 for uncorrelated dims. `details["normalized"]` divides by
    $\mathrm{tr}\,C$ (see
    [`gaussian_wasserstein_correlation_normalized`][dismetrics.metrics.unsupervised.gaussian_wasserstein_correlation_normalized]).

    It grows with the square of the codes' scale (rescaling every dim by s multiplies it by `s**2`), over
    the whole float64 range (codes beyond about 1e36 or below 1e-36 in magnitude are computed after an
    exact power-of-two rescaling, where the products of variances would overflow or underflow); when
    the value itself would exceed float64 it raises `ValueError`.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.

    Returns
    -------
    MetricResult
        `value`: the score (lower is better); `details`: `unnormalized` (the value), `normalized`
        (over tr C), `covariance` (d, d).

    References
    ----------
    Locatello et al., ICML 2019, and the reference code disentanglement_lib `unsupervised_metrics.py`
    (see [`gaussian_total_correlation`][dismetrics.metrics.unsupervised.gaussian_total_correlation]).

    Examples
    --------
    For unit variances and correlation 0.6 the closed form is $4 - 2(\sqrt{1.6} + \sqrt{0.4}) = 0.205$:

    >>> import numpy as np
    >>> from dismetrics.metrics.unsupervised import gaussian_wasserstein_correlation
    >>> rng = np.random.default_rng(0)
    >>> codes = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.6], [0.6, 1.0]], size=10000)
    >>> print(round(gaussian_wasserstein_correlation(codes).value, 2))
    0.2
    """
    return _gwc(codes, normalized=False)


def gaussian_wasserstein_correlation_normalized(codes) -> MetricResult:
    r"""Gaussian Wasserstein correlation divided by the total variance tr C.

    Invariant to rescaling all dims by one positive number (not one dim alone: tr C weighs the dims by
    their variances), over the whole float64 range; `ValueError` when every dim is constant.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation, not constant in every dim.

    Returns
    -------
    MetricResult
        `value`: the normalized score (lower is better); `details`: `unnormalized`, `normalized`,
        `covariance` (d, d).

    References
    ----------
    Locatello et al., ICML 2019, and the reference code disentanglement_lib `unsupervised_metrics.py`,
    `gaussian_wasserstein_correlation_norm` (see
    [`gaussian_total_correlation`][dismetrics.metrics.unsupervised.gaussian_total_correlation]).

    Examples
    --------
    Rotating the known-answer code mixes its dims; a common rescaling changes nothing:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.unsupervised import gaussian_wasserstein_correlation_normalized as gwc_norm
    >>> codes, _ = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> rotated, _ = damage_sample("rotation", 5, 1000, seed=0)
    >>> print(round(gwc_norm(codes).value, 3), round(gwc_norm(rotated).value, 3), round(gwc_norm(100.0 * rotated).value, 3))
    0.001 0.006 0.006
    """
    return _gwc(codes, normalized=True)


def latent_mutual_info(codes, *, bins: int = 20) -> MetricResult:
    r"""Mean pairwise discrete MI between code dims (nats).

    $$
    \frac{1}{d(d-1)} \sum_{i \ne j} I(\mathrm{disc}(z_i); \mathrm{disc}(z_j))
    $$

    with the 20-bin histogram discretization of [`mig`][dismetrics.metrics.mig.mig]. Note the plug-in MI
    between two discretized *independent* dims is positive in a finite sample (about (bins-1)^2 / (2n) nats),
    so the score of independent codes is small but not 0. In [0, log(bins)] nats; `bins` is at most
    1,000 ([`dismetrics._validation.MAX_BINS`][dismetrics._validation.MAX_BINS]).

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation, d >= 2.
    bins : int, default 20
        Equal-width bins per code dim, 2 to 1,000.

    Returns
    -------
    MetricResult
        `value`: the mean off-diagonal MI in nats (lower is better); `details`: `mi_matrix` (d, d),
        with the entropies of the discretized dims on the diagonal.

    References
    ----------
    Locatello et al., ICML 2019, and the reference code disentanglement_lib `unsupervised_metrics.py`
    (see [`gaussian_total_correlation`][dismetrics.metrics.unsupervised.gaussian_total_correlation]).

    Examples
    --------
    Independent dims score a little above 0, the bias of the plug-in estimate; near-copies of every dim
    score far more:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.unsupervised import latent_mutual_info
    >>> codes, _ = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> copied, _ = damage_sample("duplicate", 5, 1000, seed=0)
    >>> print(round(latent_mutual_info(codes).value, 3), round(latent_mutual_info(copied).value, 3))
    0.058 0.28
    """
    codes = check_codes(codes, min_dims=2)
    bins = check_bins(bins)
    d = codes.shape[1]
    check_workspace(8.0 * (d * d + available_threads() * bins * bins), what=f"the pairwise MI of {d} code dims",
                    advice="Score fewer code dims at a time.")
    disc = kernels.discretize(codes, bins)
    matrix = kernels.pairwise_mutual_info(disc, bins)
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0.0)
    return MetricResult(
        name="mutual_info_score",
        value=float(off_diagonal.sum() / (d * d - d)),
        details={"mi_matrix": matrix},
        params={"bins": bins, "n_samples": codes.shape[0], "discretization": "histogram_minmax"},
    )



def mutual_info_score(codes, *, bins: int = 20) -> MetricResult:
    """Deprecated name of [`latent_mutual_info`][dismetrics.metrics.unsupervised.latent_mutual_info] (it
    reused scikit-learn's name, `sklearn.metrics.mutual_info_score`, for another quantity); the same
    numbers, with a `DeprecationWarning`, for one release."""
    warnings.warn("dismetrics.mutual_info_score is deprecated (scikit-learn's mutual_info_score is another "
                  "quantity); use latent_mutual_info. The metric's name in tables stays 'mutual_info_score'.",
                  DeprecationWarning, stacklevel=2)
    return latent_mutual_info(codes, bins=bins)


TOTAL_CORRELATION_SPEC = register_metric(MetricSpec(
    name="gaussian_total_correlation", func=gaussian_total_correlation, kind="unsupervised", title="Gaussian TC",
    value_range=(0.0, None), direction="lower",
    reference="disentanglement_lib unsupervised_metrics.py (gaussian_total_correlation)", docs="unsupervised.md"))
WASSERSTEIN_CORRELATION_SPEC = register_metric(MetricSpec(
    name="gaussian_wasserstein_correlation", func=gaussian_wasserstein_correlation, kind="unsupervised",
    title="Gaussian WC", value_range=(0.0, None), direction="lower",
    reference="disentanglement_lib unsupervised_metrics.py (gaussian_wasserstein_correlation)",
    docs="unsupervised.md"))
WASSERSTEIN_CORRELATION_NORMALIZED_SPEC = register_metric(MetricSpec(
    name="gaussian_wasserstein_correlation_normalized", func=gaussian_wasserstein_correlation_normalized,
    kind="unsupervised", title="Gaussian WC norm.", value_range=(0.0, None), direction="lower",
    reference="disentanglement_lib unsupervised_metrics.py (gaussian_wasserstein_correlation_norm)",
    docs="unsupervised.md"))
MUTUAL_INFO_SPEC = register_metric(MetricSpec(
    # the table name is disentanglement_lib's ("mutual_info_score"); the Python function is latent_mutual_info,
    # not to be mistaken for scikit-learn's mutual_info_score (the MI of two labelings)
    name="mutual_info_score", func=latent_mutual_info, kind="unsupervised", title="Mutual info score",
    aliases=("latent_mutual_info",),
    value_range=(0.0, None), direction="lower",
    reference="disentanglement_lib unsupervised_metrics.py (mutual_info_score)", docs="unsupervised.md"))
