"""WDG, the Wasserstein dependency gap (Xiao and Wang, "Disentangled representation learning with
Wasserstein total correlation", Eq. 12-13 and Appendix D), and the exact 1-D Wasserstein-1 distance."""

from __future__ import annotations

import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._kernels import wasserstein as kernels
from .._kernels.info import encode_factor_columns
from .._parallel import check_n_jobs, resolve_n_jobs
from .._validation import as_real_array, check_choice, check_codes_and_factors, check_random_state, scaled_to_safe_range
from ..result import MetricResult
from .registry import MetricSpec, register_metric

__all__ = ["wdg", "wasserstein_1d", "normalize_codes", "gap_summary", "NORMALIZATIONS", "ESTIMATORS",
           "WDG_PARALLEL_WORK"]

NORMALIZATIONS = ("minmax", "std", "rank", None)
ESTIMATORS = ("exact", "paper_code")

WDG_PARALLEL_WORK = 100_000
"""n * d: below it WDG's per-dim rows (one thread per dim) are computed on one thread.

Measured on a shared 2-core x86 machine (d = 10, K = 5, the "exact" estimator, best of 10 runs): one
thread took 0.85 ms at n*d = 1e4, 2.1 ms at 3e4 and 15 ms at 1e5; two threads took 1.16 and 2.6 ms at
1e4 and 3e4 (starting the thread pool and handing out the rows costs about 0.3-0.5 ms), so threads can
only pay from about 1e5 up, where that cost is a few per cent of the work.
"""


def _check_sample(values, name: str) -> np.ndarray:
    arr = as_real_array(values, name=name, expected="a 1-D numeric array")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array with shape {arr.shape}. Pass one sample, e.g. x.ravel().")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; W1 needs at least one value in each sample.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; W1 is defined for finite values only.")
    return arr


def wasserstein_1d(x, y) -> float:
    r"""Exact Wasserstein-1 distance between the empirical distributions of two 1-D samples.

    $$
    W_1(x, y) = \int_{-\infty}^{\infty} |F_x(t) - F_y(t)| \, dt
    $$

    with $F_x, F_y$ the empirical CDFs. The samples may have any (different) sizes and hold
    ties. Both are sorted and merged once (O((n_x + n_y) log(n_x + n_y))); on each gap between
    consecutive values the CDF difference is an exact integer ratio. Equals
    `scipy.stats.wasserstein_distance(x, y)` (unweighted) to rounding.

    Parameters
    ----------
    x, y : array-like of shape (n_x,) and (n_y,)
        Finite real values, at least one each; the sizes may differ.

    Returns
    -------
    float
        $W_1(x, y) \ge 0$, in the units of the values.

    References
    ----------
    C. Villani, *Optimal Transport: Old and New*, Springer 2009 (on the line, W1 is the L1 distance
    between the CDFs); `scipy.stats.wasserstein_distance` computes the same number.

    Examples
    --------
    >>> from dismetrics.metrics.wdg import wasserstein_1d
    >>> wasserstein_1d([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    5.0
    >>> wasserstein_1d([0.0, 0.0], [0.0, 1.0, 2.0, 3.0])
    1.5
    """
    x = np.sort(_check_sample(x, "x"))
    y = np.sort(_check_sample(y, "y"))
    return float(kernels.w1_sorted(x, y))


def _normalized_sorted_column(column: np.ndarray, normalize) -> tuple[np.ndarray, np.ndarray, bool]:
    """One code dim -> (sorted normalized values, the argsort that sorts it, is-constant).

    Shifts are irrelevant to W1, so the dim is first shifted to start at 0 (which keeps the gaps
    between values exact for codes far from 0); "minmax" then divides by the range (the authors'
    code divides by the range without the shift: same distances), "std" by the standard deviation
    (ddof=0), and "rank" replaces the values by their average ranks mapped to [0, 1]. A constant
    dim comes back as zeros.
    """
    z = np.array(column, dtype=np.float64)  # a copy: the caller's array is never touched
    order = np.argsort(z, kind="quicksort")
    s = z[order]
    low, high = s[0], s[-1]
    if high == low:
        return np.zeros_like(s), order, True
    s -= low
    if normalize == "minmax":
        s /= high - low
    elif normalize == "std":
        # A dim beyond about 2e90 or below 5e-91 is first rescaled by an exact power of two (its std
        # would overflow to inf or underflow to 0); other dims are divided by their std as they are.
        s, _ = scaled_to_safe_range(s, per_column=False)
        scale = float(np.std(s))
        if scale > 0:
            s = s / scale
    elif normalize == "rank":
        s = kernels.average_ranks_sorted(s)
    return s, order, False


def normalize_codes(codes, normalize="minmax") -> np.ndarray:
    """The codes (n, d) as [`wdg`][dismetrics.metrics.wdg.wdg] sees them after `normalize` (float64; a
    constant dim -> 0).

    "minmax" gives `(z - min) / (max - min)`, "std" `(z - min) / std(z)`, "rank" `(rank - 1) /
    (n - 1)` with average ranks for ties, `None` `z - min`. (Every W1 is shift invariant.)
    """
    codes = np.asarray(codes)
    check_choice(normalize, name="normalize", choices=NORMALIZATIONS)
    out = np.empty(codes.shape, dtype=np.float64)
    for i in range(codes.shape[1]):
        s, order, _ = _normalized_sorted_column(codes[:, i], normalize)
        out[order, i] = s
    return out


def _dependency_matrix(codes, normalize, labels_by_point, value_counts, offsets, perms, n_jobs=None):
    """The (d, K) matrix and the constant-dim mask, one dim per task (the kernels and numpy's
    argsort release the GIL, so dims run in parallel threads, at most `n_jobs`, one thread below
    `WDG_PARALLEL_WORK`; each dim's result does not depend on the number of threads)."""

    def row(i: int):
        s, order, constant = _normalized_sorted_column(codes[:, i], normalize)
        if constant:
            return np.zeros(labels_by_point.shape[1]), True
        if perms is None:
            return kernels.exact_dependency_row(s, order, labels_by_point, value_counts, offsets), False
        return kernels.paper_code_dependency_row(s, order, perms[i], labels_by_point, value_counts, offsets), False

    n, d = codes.shape
    # Idle CPUs only: between the GIL-free kernels each row holds the GIL (numpy's copy, argsort
    # set-up, fancy indexing), so on a busy machine a second thread contends rather than helps
    # (`benchmarks/bench_loaded.py`: 0.052 s on two threads against 0.038 s on one at n = 10,000, d = 10).
    workers = max(1, min(d, resolve_n_jobs(n_jobs, work=n * d, parallel_work=WDG_PARALLEL_WORK, idle_only=True)))
    if workers == 1:
        rows = [row(i) for i in range(d)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(row, range(d)))
    matrix = np.vstack([r[0] for r in rows])
    constant = np.array([r[1] for r in rows], dtype=bool)
    return matrix, constant


def gap_summary(matrix: np.ndarray, estimator: str = "exact"):
    """(WDG, gaps, top dims, second dims, averaged) from a (d, K) dependency matrix.

    gap_k = (largest - second largest of column k); the top dim of a tie is the lowest index.
    "exact" averages all K gaps (Eq. 13); "paper_code" only those that are finite and > 0, as the
    authors' code does (0.0 when there is none, where their code gives NaN).
    """
    order = np.argsort(-matrix, axis=0, kind="stable")
    columns = np.arange(matrix.shape[1])
    gaps = matrix[order[0], columns] - matrix[order[1], columns]
    if estimator == "exact":
        averaged = np.ones(gaps.shape, dtype=bool)
    else:
        averaged = np.isfinite(gaps) & (gaps > 0)
    value = float(np.mean(gaps[averaged])) if averaged.any() else 0.0
    return value, gaps, order[0], order[1], averaged


def _seed_param(random_state):
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state if random_state is None else int(random_state)
    return "numpy.random.Generator"


def wdg(codes, factors, *, normalize="minmax", estimator: str = "exact", random_state=0, n_jobs=None) -> MetricResult:
    r"""Wasserstein dependency gap.

    $$
    I_W(z_i, v_k) = \mathbb{E}_{p(v_k)}\big[ W_1\big(q(z_i \mid v_k),\, q(z_i)\big) \big]
                  = \sum_u \frac{n_{k,u}}{n} \, W_1\big(\{z_i : v_k = u\},\ \{z_i\}\big)
    $$

    $$
    \mathrm{WDG} = \frac{1}{K} \sum_k \Big( I_W(z_{i^{(k)}}, v_k) - \max_{i \ne i^{(k)}} I_W(z_i, v_k) \Big),
    \qquad i^{(k)} = \arg\max_i I_W(z_i, v_k)
    $$

    (Xiao and Wang, Eq. 12-13), with empirical distributions: for each value u of factor k, the codes
    of the points with v_k = u against all n codes of that dim, weighted by the frequency of u. The
    1-D W1 is computed exactly from one sort per dim (see `dismetrics._kernels.wasserstein`),
    O(d (n log n + K n)) in all.

    Codes are first normalized per dim (`normalize`), which decides what the score is invariant to.
    W1 is unchanged by shifting both distributions and by reflecting them (z -> -z), so every choice
    is invariant to shifts and sign flips of a dim; beyond that:

    * `"minmax"` (default, as the authors' code): each dim divided by its range (max - min). Invariant
      to any affine map a z + b (a != 0) of a dim. One outlier stretches the range and shrinks that
      dim's dependencies. With this normalization I_W is in [0, 1/2].
    * `"std"`: each dim divided by its standard deviation (ddof=0). Invariant to a z + b (a != 0);
      less sensitive to a single outlier than the range.
    * `"rank"`: each dim replaced by its ranks (ties get their average rank), mapped to [0, 1] by
      (rank - 1) / (n - 1). Invariant to any strictly monotone transform of a dim (it only sees the
      order); the marginal becomes uniform, so dims are compared on the same footing.
    * `None`: raw codes; the score then scales with the codes.

    A dim whose values are all equal carries no information: its row of the dependency matrix is 0,
    never NaN (the authors' code divides by a zero range there).

    The gap is not normalized by anything factor-specific (unlike MIG's entropy): with "minmax" or
    "rank", a perfect code of a factor with many equally likely values has I_W close to 1/3 (the mean
    |U - U'| of two uniforms) and the gap is about 1/3 when every other dim is independent of it.

    `estimator="paper_code"` reproduces the procedure of the authors' released code, with which
    Table 1 of the paper was made; it differs from the equation in three ways:

    1. W1 is taken between the codes of the points with v_k = u and an independently permuted copy of
       the dim restricted to the same points (a same-size draw without replacement from the
       marginal), not the full marginal. One permutation per dim (drawn from `random_state`), shared
       by all factors. This adds a positive sampling bias (two finite samples of the same
       distribution are at W1 > 0) and randomness.
    2. Values u are averaged without weights (not by their frequency).
    3. The final mean runs only over the factors whose gap is finite and strictly positive, which
       biases the score upward (tied factors drop out instead of counting 0). Where no factor has a
       positive gap the authors' code returns NaN (mean of an empty set); here the score is 0.0.

    `"exact"` (default) is the equation: deterministic, no permutation noise, `random_state`
    unused.

    Paper settings: n = 12,800 points, evaluation repeated 50 times (mean and std reported). The
    registry's `"wtc_paper"` preset selects `estimator="paper_code"`; `"disentanglement_lib"` (which
    has no WDG) keeps the defaults.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation, d >= 2.
    factors : array-like of int, shape (n, K)
        Ground-truth factor values (any integers; each factor must take at least two values).
    normalize : {"minmax", "std", "rank", None}, default "minmax"
        Per-dim normalization, see above.
    estimator : {"exact", "paper_code"}, default "exact"
        The equation, or the authors' released procedure.
    random_state : int, numpy.random.Generator or None, default 0
        Seeds the permutations of `estimator="paper_code"`; the `"exact"` estimator has no randomness
        and does not use it.
    n_jobs : int or None, default None
        Threads for the per-dim rows, scikit-learn's meaning under `$DISMETRICS_NUM_THREADS` (`None`:
        the allowed threads that have an idle CPU, `-1`: all allowed, `k`: k); one thread below
        `WDG_PARALLEL_WORK` (n x d). The value does not depend on it.

    Returns
    -------
    MetricResult
        `value` is the WDG (in [0, 1/2] with "minmax" or "rank"); `details` holds
        `dependency_matrix` (d, K) of I_W(z_i, v_k) (in normalized units), `gap_per_factor` (K),
        `top_dim_per_factor`, `second_dim_per_factor`, `constant_dims` (d, bool) and
        `factors_averaged` (K, bool: which gaps enter the mean).

    References
    ----------
    Y. Xiao and W. Y. Wang, "Disentangled representation learning with Wasserstein total correlation",
    arXiv preprint, 2019 (Eq. 12-13, Appendix D); `estimator="paper_code"` follows the authors'
    released evaluation code.

    Examples
    --------
    Dim 0 is factor 0, dim 1 is factor 1 and dim 2 is constant. With "minmax" factor 0's dim has
    I_W = (1/2 + 1/3 + 1/2) / 3 = 4/9 and factor 1's 1/2, every other entry 0, so WDG = (4/9 + 1/2) / 2:

    >>> import numpy as np
    >>> from dismetrics import wdg
    >>> v = np.c_[np.repeat(np.arange(3), 4), np.tile(np.arange(2), 6)]
    >>> codes = np.c_[v, np.zeros(12)].astype(float)
    >>> result = wdg(codes, v)
    >>> round(result.value, 4), result.details["top_dim_per_factor"].tolist()
    (0.4722, [0, 1])
    >>> result.details["constant_dims"].tolist()
    [False, False, True]
    """
    codes, factors = check_codes_and_factors(codes, factors, min_dims=2)
    normalize = check_choice(normalize, name="normalize", choices=NORMALIZATIONS)
    estimator = check_choice(estimator, name="estimator", choices=ESTIMATORS)
    rng = check_random_state(random_state)
    n_jobs = check_n_jobs(n_jobs)

    labels, sizes = encode_factor_columns(factors)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    value_counts = np.concatenate(
        [np.bincount(labels[k], minlength=int(sizes[k])) for k in range(labels.shape[0])]
    ).astype(np.int64)

    n, d = codes.shape
    perms = None
    if estimator == "paper_code":
        perms = [rng.permutation(n) for _ in range(d)]
    # (n, K) with the narrowest integer type: the kernels gather one row per point in sorted order.
    label_dtype = np.uint8 if sizes.max() <= 256 else (np.uint16 if sizes.max() <= 65536 else np.int32)
    labels_by_point = np.ascontiguousarray(labels.T, dtype=label_dtype)
    matrix, constant = _dependency_matrix(codes, normalize, labels_by_point, value_counts, offsets, perms, n_jobs)

    value, gaps, top, second, averaged = gap_summary(matrix, estimator)

    return MetricResult(
        name="wdg",
        value=value,
        details={
            "dependency_matrix": matrix,
            "gap_per_factor": gaps,
            "top_dim_per_factor": top,
            "second_dim_per_factor": second,
            "constant_dims": constant,
            "factors_averaged": averaged,
        },
        params={
            "normalize": normalize,
            "estimator": estimator,
            "n_samples": n,
            "random_state": _seed_param(random_state) if estimator == "paper_code" else None,
        },
    )


SPEC = register_metric(MetricSpec(
    name="wdg",
    func=wdg,
    kind="sample",
    title="WDG",
    random=True,
    factor_types=("discrete",),
    value_range=(0.0, None),
    direction="higher",
    presets={"disentanglement_lib": {}, "wtc_paper": {"estimator": "paper_code"}},
    reference="Xiao and Wang 2019, Disentangled representation learning with Wasserstein total correlation "
              "(Eq. 12-13; estimator='paper_code': the authors' released code)",
    docs="wdg.md",
))
