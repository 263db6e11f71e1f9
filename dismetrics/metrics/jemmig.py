"""JEMMIG, the joint-entropy-minus-mutual-information gap (Do and Tran, ICLR 2020)."""

from __future__ import annotations

import numpy as np

from .._kernels import info as kernels
from .._validation import check_bins, check_codes_and_factors
from ..result import MetricResult
from ._histogram import check_table_memory
from .registry import MetricSpec, register_metric

__all__ = ["jemmig", "joint_entropies_from_tables", "top_two_dims"]


def joint_entropies_from_tables(tables: list[np.ndarray]) -> np.ndarray:
    """Plug-in joint entropies (d, K) in nats, `H(disc(z_i), v_k)`, from the (d, m_k, bins) count tables.

    Parameters
    ----------
    tables : list of K int arrays of shape (d, m_k, bins)
        The contingency table of every code dim with factor k.

    Returns
    -------
    numpy.ndarray
        Shape (d, K).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.jemmig import joint_entropies_from_tables
    >>> tables = [np.array([[[5, 0], [0, 5]]]), np.array([[[2, 3], [3, 2]]])]
    >>> print(joint_entropies_from_tables(tables).round(3))  # log 2, and H(0.2, 0.3, 0.3, 0.2)
    [[0.693 1.366]]
    """
    d = tables[0].shape[0]
    out = np.empty((d, len(tables)))
    for k, table in enumerate(tables):
        counts = table.reshape(d, -1).astype(np.float64)
        total = counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(counts > 0, counts / total * (np.log(total) - np.log(counts)), 0.0)
        out[:, k] = terms.sum(axis=1)
    return out


def top_two_dims(mi: np.ndarray, joint: np.ndarray, tie_tolerance: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Per factor, the dims of largest and second-largest MI.

    Code dims whose MI is within `tie_tolerance` of the largest are tied (e.g. two dims that both
    determine the factor): of those, the one of smallest joint entropy is taken as $i^*$
    (so the result does not hang on the last bits of the MI estimates); $j^*$ is the best of the others.

    Parameters
    ----------
    mi : array of shape (d, K)
        MI of every code dim with every factor, d >= 2.
    joint : array of shape (d, K)
        The joint entropies.
    tie_tolerance : float, default 1e-10
        MI values this close to the largest count as tied.

    Returns
    -------
    top, second : numpy.ndarray
        The dims $i^*$ and $j^*$ of every factor, shape (K,) each.

    Examples
    --------
    Dims 0 and 1 tie for factor 0; dim 1 has the smaller joint entropy:

    >>> import numpy as np
    >>> from dismetrics.metrics.jemmig import top_two_dims
    >>> mi = np.array([[0.5, 0.1], [0.5, 0.3], [0.2, 0.0]])
    >>> joint = np.array([[1.0, 2.0], [0.8, 2.0], [1.5, 1.0]])
    >>> top, second = top_two_dims(mi, joint)
    >>> print(top, second)
    [1 1] [0 0]
    """
    k_count = mi.shape[1]
    top = np.empty(k_count, dtype=np.int64)
    second = np.empty(k_count, dtype=np.int64)
    for k in range(k_count):
        column = mi[:, k]
        tied = np.flatnonzero(column >= column.max() - tie_tolerance)
        top[k] = tied[np.argmin(joint[tied, k])]
        rest = column.copy()
        rest[top[k]] = -np.inf
        second[k] = int(np.argmax(rest))
    return top, second


def jemmig(codes, factors, *, bins: int = 20) -> MetricResult:
    r"""JEMMIG, normalized (higher is better); the raw JEMMIG in nats in details.

    Do and Tran, "Theory and evaluation metrics for learning disentangled representations", ICLR 2020.
    For factor k, with $i^*$ and $j^*$ the code dims of largest and second-largest
    $I(\mathrm{disc}(z_i); v_k)$:

    $$
    \mathrm{JEMMIG}_k = H(z_{i^*}, v_k) - I(z_{i^*}; v_k) + I(z_{j^*}; v_k)
    $$

    (lower is better; 0 for a code dim that is a relabeling of the factor, alone in holding it).
    Where several dims tie for the largest MI (within 1e-10 nats), $i^*$ is the one of
    smallest joint entropy (see [`top_two_dims`][dismetrics.metrics.jemmig.top_two_dims]); the paper leaves
    ties open. Since $0 \le \mathrm{JEMMIG}_k \le H(z_{i^*}, v_k) \le H(v_k) + \log(\text{bins})$, the
    normalized score of Carbonneau et al.'s review ("Measuring disentanglement: a review of
    metrics", their `jemmig.py`) is

    $$
    \mathrm{JEMMIG}_{\mathrm{norm}} = \frac{1}{K} \sum_k
        \Big(1 - \frac{\mathrm{JEMMIG}_k}{H(v_k) + \log(\text{bins})}\Big) \in [0, 1]
    $$

    (higher is better). Both are here: `value` is the normalized score, `details["jemmig"]`
    the mean raw JEMMIG in nats. Code dims are binned as in [`mig`][dismetrics.metrics.mig.mig] (`bins`
    equal-width bins between each dim's min and max; entropies and MI are plug-in estimates in nats).
    The review's code uses 10 bins and bits; the normalized score does not depend on the log base,
    and `bins=10` reproduces its binning (up to the rounding of its min-max scaling).

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation, d >= 2.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices.
    bins : int, default 20
        Equal-width bins per code dim, 2 to 1,000.

    Returns
    -------
    MetricResult
        `value`: normalized JEMMIG; `details`: `jemmig` (mean raw, nats), `jemmig_per_factor`
        (raw), `normalized_per_factor`, `mi_matrix` (d, K), `joint_entropy` (d, K),
        `factor_entropy`, `top_dim_per_factor`, `second_dim_per_factor`.

    References
    ----------
    K. Do and T. Tran, "Theory and evaluation metrics for learning disentangled representations", ICLR
    2020 (arXiv:1908.09961). Reference code (with the normalization): ubisoft/ubisoft-laforge-disentanglement-metrics,
    `src/metrics/jemmig.py` (M.-A. Carbonneau et al., "Measuring disentanglement: a review of metrics", IEEE
    TNNLS 2022).

    Examples
    --------
    The normalized score and the raw JEMMIG (nats, lower is better); a monotone nonlinearity crowds the
    codes into a few bins and lowers the score:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.jemmig import jemmig
    >>> codes, factors = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> result = jemmig(codes, factors)
    >>> print(round(result.value, 2), round(result.details["jemmig"], 2))
    0.94 0.31
    >>> squashed, _ = damage_sample("nonlinear", 16, 1000, seed=0)
    >>> print(round(jemmig(squashed, factors).value, 2))
    0.65
    """
    codes, factors = check_codes_and_factors(codes, factors, min_dims=2)
    bins = check_bins(bins)
    labels, sizes = kernels.encode_factor_columns(factors)
    check_table_memory(codes.shape[1], bins, sizes)
    disc = kernels.discretize(codes, bins)
    tables = kernels.contingency_tables(disc, labels, sizes, bins)
    mi = kernels.mutual_info_from_tables(tables)
    joint = joint_entropies_from_tables(tables)
    factor_entropy = kernels.entropies(labels, sizes)
    top, second = top_two_dims(mi, joint)
    columns = np.arange(mi.shape[1])
    raw = joint[top, columns] - mi[top, columns] + mi[second, columns]
    normalized = 1.0 - raw / (factor_entropy + np.log(bins))
    return MetricResult(
        name="jemmig",
        value=float(np.mean(normalized)),
        details={
            "jemmig": float(np.mean(raw)),
            "jemmig_per_factor": raw,
            "normalized_per_factor": normalized,
            "mi_matrix": mi,
            "joint_entropy": joint,
            "factor_entropy": factor_entropy,
            "top_dim_per_factor": top,
            "second_dim_per_factor": second,
        },
        params={"bins": bins, "n_samples": codes.shape[0], "discretization": "histogram_minmax", "normalization": "1 - JEMMIG_k / (H(v_k) + log(bins))"},
    )


SPEC = register_metric(MetricSpec(
    name="jemmig", func=jemmig, kind="sample", title="JEMMIG (normalized)",
    reference="Do & Tran 2020 (JEMMIG, normalized)", docs="jemmig.md"))
