"""Unsupervised scores of a representation: they need the codes only, no factors.

Definitions as in disentanglement_lib's ``unsupervised_metrics`` (Locatello et al. 2019), with the
covariance ``C = np.cov(codes.T)`` (ddof = 1). They are computed for the mean representation and,
where an encoder gives a variance, for the sampled one (``dismetrics.evaluate`` does both): the gap
between the two is what Locatello et al. (Fig. 1) and the RTC-VAE paper discuss.
"""

from __future__ import annotations

import numpy as np

from .._kernels import info as kernels
from .._validation import check_codes, check_positive_int
from ..result import MetricResult

__all__ = [
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized",
    "mutual_info_score",
    "gaussian_tc_from_cov",
    "gaussian_wasserstein_from_cov",
]


def _covariance(codes: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.cov(codes.astype(np.float64, copy=False), rowvar=False, ddof=1))


def gaussian_tc_from_cov(cov: np.ndarray) -> float:
    r"""Total correlation of a Gaussian with covariance ``cov``:
    :math:`\tfrac12 (\sum_i \log C_{ii} - \log\det C)` (Prop. 1 of the RTC-VAE paper).

    ``+inf`` for a singular ``cov`` (a dim that is an exact linear function of the others).
    """
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return float("inf")
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))


def gaussian_wasserstein_from_cov(cov: np.ndarray) -> float:
    r"""Squared 2-Wasserstein distance between :math:`N(0, C)` and :math:`N(0, \mathrm{diag}\, C)`:

    .. math:: 2\,\mathrm{tr}\, C - 2\,\mathrm{tr} \sqrt{C\,\mathrm{diag}(C)}

    where :math:`\sqrt{\cdot}` is the principal matrix square root (reference: ``scipy.linalg.sqrtm``
    of ``C * diag(C)[:, None]``). Computed as :math:`\sum_j \sqrt{\lambda_j}` of the symmetric
    :math:`D^{1/2} C D^{1/2}` (similar to :math:`DC`, so the same trace), which is exact and stable.
    """
    scale = np.sqrt(np.diag(cov))
    symmetric = cov * scale[:, None] * scale[None, :]
    eigenvalues = np.clip(np.linalg.eigvalsh(symmetric), 0.0, None)
    return float(2.0 * np.trace(cov) - 2.0 * np.sum(np.sqrt(eigenvalues)))


def gaussian_total_correlation(codes) -> MetricResult:
    r"""Gaussian total correlation of the codes (nats).

    .. math:: \mathrm{TC} = \tfrac12 \Big(\sum_i \log C_{ii} - \log\det C\Big)

    with ``C = np.cov(codes.T)`` (ddof = 1): the TC of the Gaussian with the codes' covariance, 0 for
    uncorrelated dims, ``+inf`` when the covariance is singular (a dim duplicated or an exact linear
    combination of others). Constant dims make it undefined (log 0): they raise ``ValueError``;
    drop them first.
    """
    codes = check_codes(codes)
    cov = _covariance(codes)
    constant = np.flatnonzero(np.diag(cov) <= 0)
    if constant.size:
        raise ValueError(
            f"codes has constant dimension(s) {constant.tolist()}: their variance is 0 and the Gaussian total "
            "correlation is undefined (log 0). Drop them, e.g. codes[:, codes.std(axis=0) > 0]."
        )
    return MetricResult(
        name="gaussian_total_correlation",
        value=gaussian_tc_from_cov(cov),
        details={"covariance": cov},
        params={"n_samples": codes.shape[0], "ddof": 1},
    )


def _gwc(codes, normalized: bool) -> MetricResult:
    codes = check_codes(codes)
    cov = _covariance(codes)
    raw = gaussian_wasserstein_from_cov(cov)
    total_variance = float(np.trace(cov))
    if normalized and total_variance <= 0:
        raise ValueError("codes is constant in every dimension: the normalized Gaussian Wasserstein correlation divides by tr C = 0.")
    norm = raw / total_variance if total_variance > 0 else float("nan")
    name = "gaussian_wasserstein_correlation" + ("_normalized" if normalized else "")
    return MetricResult(
        name=name,
        value=norm if normalized else raw,
        details={"unnormalized": raw, "normalized": norm, "covariance": cov},
        params={"n_samples": codes.shape[0], "ddof": 1},
    )


def gaussian_wasserstein_correlation(codes) -> MetricResult:
    r"""Gaussian Wasserstein correlation of the codes.

    :math:`2\,\mathrm{tr}\,C - 2\,\mathrm{tr}\sqrt{C\,\mathrm{diag}(C)}`: the squared W2 distance between the Gaussian with the codes' covariance and the Gaussian with only
    its diagonal (disentanglement_lib's ``gaussian_wasserstein_correlation``); 0 for uncorrelated dims.
    ``details["normalized"]`` divides by :math:`\mathrm{tr}\,C` (see
    :func:`gaussian_wasserstein_correlation_normalized`).
    """
    return _gwc(codes, normalized=False)


def gaussian_wasserstein_correlation_normalized(codes) -> MetricResult:
    r"""Gaussian Wasserstein correlation divided by the total variance tr C (scale free)."""
    return _gwc(codes, normalized=True)


def mutual_info_score(codes, *, bins: int = 20) -> MetricResult:
    r"""Mean pairwise discrete MI between code dims (nats).

    .. math:: \frac{1}{d(d-1)} \sum_{i \ne j} I(\mathrm{disc}(z_i); \mathrm{disc}(z_j))

    with the 20-bin histogram discretization of :func:`~dismetrics.mig`. Note the plug-in MI between
    two discretized *independent* dims is positive in a finite sample (about (bins-1)^2 / (2n) nats),
    so the score of independent codes is small but not 0.
    """
    codes = check_codes(codes, min_dims=2)
    bins = check_positive_int(bins, name="bins", minimum=2)
    disc = kernels.discretize(codes, bins)
    matrix = kernels.pairwise_mutual_info(disc, bins)
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0.0)
    d = codes.shape[1]
    return MetricResult(
        name="mutual_info_score",
        value=float(off_diagonal.sum() / (d * d - d)),
        details={"mi_matrix": matrix},
        params={"bins": bins, "n_samples": codes.shape[0], "discretization": "histogram_minmax"},
    )
