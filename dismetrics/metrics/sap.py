"""SAP, the separated attribute predictability score (Kumar, Sattigeri and Balakrishnan, ICLR 2018)."""

from __future__ import annotations

import warnings

import numpy as np

from .._parallel import check_n_jobs, resolve_n_jobs
from .._validation import (
    check_cardinality,
    check_float32_range,
    check_random_state,
    scaled_to_safe_range,
)
from ..result import MetricResult
from ._split import check_factor_types, split_for_predictors
from .registry import MetricSpec, register_metric

__all__ = ["sap", "sap_from_matrix", "sap_score_matrix", "SAP_PARALLEL_WORK"]

SVC_C = 0.01
VARIANCE_FLOOR = 1e-12

SAP_PARALLEL_WORK = 2_000
"""Training points per fit below which SAP's d x K LinearSVC fits run on one thread.

A fit on few points is mostly scikit-learn's Python-side checks, which hold the GIL, so threads do not
overlap. Measured with scikit-learn 1.9 on a shared 2-core x86 machine (d = 10, K = 5, 50 fits, the
primal solver): 2/3 of n = 300 and 1,000 points per fit, two threads took 269 and 351 ms against 228
and 301 ms serially; from n = 3,000 (2,000 training points) they took 173 ms against 414 ms, and at
n = 10,000 339 ms against 679 ms.
"""

_SENTINEL = object()


def sap_from_matrix(score_matrix: np.ndarray) -> tuple[float, np.ndarray]:
    r"""SAP from a (d, K) score matrix: $\frac1K \sum_k (S_{(1)k} - S_{(2)k})$, the mean gap
    between the largest and second-largest entry of each column. Returns `(sap, gaps)`."""
    score_matrix = np.asarray(score_matrix, dtype=np.float64)
    if score_matrix.ndim != 2 or score_matrix.shape[0] < 2:
        raise ValueError("the SAP score matrix needs at least two code dims (rows).")
    ordered = np.sort(score_matrix, axis=0)
    gaps = ordered[-1] - ordered[-2]
    return float(np.mean(gaps)), gaps


def _svc_accuracy(x_train, y_train, x_test, y_test, dual) -> float:
    from sklearn.svm import LinearSVC

    model = LinearSVC(C=SVC_C, class_weight="balanced", dual=dual)
    model.fit(x_train[:, None], y_train)
    return float(np.mean(model.predict(x_test[:, None]) == y_test))


def _squared_correlation(z, v) -> float:
    """cov(z, v)^2 / (var z var v), 0 where var z <= 1e-12 (the reference, ddof=1 as np.cov)."""
    cov = np.cov(z, v, ddof=1)
    if cov[0, 0] <= VARIANCE_FLOOR:
        return 0.0
    return float(cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]))


def sap_score_matrix(codes_train, factors_train, codes_test, factors_test, *, factor_types="discrete",
                     dual=False, n_jobs=None, discrete=_SENTINEL) -> np.ndarray:
    """The (d, K) score matrix of SAP (see [`sap`][dismetrics.metrics.sap.sap]); the fits run in
    parallel threads.

    Column k holds the test accuracies of the single-dim LinearSVCs for a discrete factor, the squared
    correlations on the training sample for a continuous one (`factor_types`, a str or one per
    factor). Each entry is an independent fit (liblinear's primal solver is deterministic and releases
    the GIL), so the result is the same with any `n_jobs`; below `SAP_PARALLEL_WORK` training points
    the fits run on one thread. `discrete=` is the deprecated spelling of `factor_types`.
    """
    d, k_count = codes_train.shape[1], factors_train.shape[1]
    if discrete is not _SENTINEL:
        warnings.warn("sap_score_matrix(discrete=...) is deprecated and will be removed in the next release; use "
                      "factor_types='discrete' or 'continuous'.", DeprecationWarning, stacklevel=2)
        factor_types = "discrete" if discrete else "continuous"
    types = check_factor_types(factor_types, k_count)
    matrix = np.zeros((d, k_count))
    continuous = [k for k in range(k_count) if types[k] == "continuous"]
    if continuous:
        # The reference computes the continuous case on the training sample only (no predictor). The
        # squared correlation does not depend on the scale of v: a factor beyond about 2e90 or below
        # 5e-91 is rescaled by an exact power of two first (its variance would overflow or underflow).
        scaled, _ = scaled_to_safe_range(np.asarray(factors_train, dtype=np.float64)[:, continuous])
        for j, k in enumerate(continuous):
            matrix[:, k] = [_squared_correlation(codes_train[:, i], scaled[:, j]) for i in range(d)]
    pairs = [(i, k) for i in range(d) for k in range(k_count) if types[k] == "discrete"]
    threads = min(len(pairs), resolve_n_jobs(n_jobs, work=codes_train.shape[0], parallel_work=SAP_PARALLEL_WORK))
    if threads <= 1:
        values = [_svc_accuracy(codes_train[:, i], factors_train[:, k], codes_test[:, i], factors_test[:, k], dual)
                  for i, k in pairs]
    else:
        from joblib import Parallel, delayed

        values = Parallel(n_jobs=threads, prefer="threads")(
            delayed(_svc_accuracy)(codes_train[:, i], factors_train[:, k], codes_test[:, i], factors_test[:, k], dual)
            for i, k in pairs)
    for (i, k), value in zip(pairs, values):
        matrix[i, k] = value
    return matrix


def sap(codes, factors, *, codes_test=None, factors_test=None, factor_types="discrete", dual=False,
        n_jobs=None, random_state=0, discrete=_SENTINEL) -> MetricResult:
    r"""Separated attribute predictability (SAP).

    Score matrix $S_{ik}$: for a discrete factor, the test accuracy of a
    `LinearSVC(C=0.01, class_weight="balanced")` trained on the single code dim $z_i$ to
    predict $v_k$; for a continuous factor, the squared correlation
    $\mathrm{cov}(z_i, v_k)^2 / (\mathrm{var}\,z_i\, \mathrm{var}\,v_k)$ on the training
    sample (0 where $\mathrm{var}\,z_i \le 10^{-12}$). Then

    $$
    \mathrm{SAP} = \frac1K \sum_k \big(S_{(1)k} - S_{(2)k}\big)
    $$

    with $S_{(1)k} \ge S_{(2)k}$ the two largest entries of column k.

    Reference settings (disentanglement_lib `sap_score`): 10,000 train and 5,000 test points.
    Without `codes_test`/`factors_test` the sample is split at random 2/3 : 1/3 (drawn from
    `random_state`). `dual` is LinearSVC's: `False` (the primal Newton solver, deterministic) is what
    sklearn's `dual="auto"` picks for one feature, i.e. what the reference code gives with sklearn >=
    1.5; the published study ran with the old default `dual=True` (coordinate descent, which draws from
    liblinear's process-global random generator: with it the fits run serially).

    Scale: SAP is **not** invariant to rescaling a code dim, in the reference as here: LinearSVC's
    penalty (C = 0.01, the intercept penalized too) shrinks a small-scale dim's fit, so codes x 0.01
    can score 0 and codes x 1e8 score differently from codes x 1 (docs/sap.md has numbers). Codes
    beyond the float32 range (|z| > 3.4e38) raise `ValueError` (liblinear runs for minutes on such
    values). A discrete factor may take at most 1,000 distinct values
    ([`dismetrics._validation.MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]).

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation (training split, or the whole sample when no test split is given); d >= 2.
    factors : array-like of shape (n, K)
        Ground-truth factors: integers for discrete factors, finite reals for continuous ones.
    codes_test, factors_test : array-like, optional
        A held-out test split (both or neither); without them the sample is split 2/3 : 1/3.
    factor_types : {"discrete", "continuous"} or sequence of those, default "discrete"
        The type of every factor (a str) or of each factor (one per factor): discrete factors are
        scored by classification accuracy, continuous ones by squared correlation.
    dual : {False, True, "auto"}, default False
        LinearSVC's solver choice (see above).
    n_jobs : int or None, default None
        Threads for the d x K fits, scikit-learn's meaning under `$DISMETRICS_NUM_THREADS` (`None`:
        every allowed thread, `-1`: the same, `k`: k); one thread below
        `SAP_PARALLEL_WORK` training points or with `dual=True`. The value does not depend on it.
    random_state : int, numpy.random.Generator or None, default 0
        Seeds the random train/test split (unused when a test split is given).
    discrete : bool, optional
        Deprecated spelling of `factor_types` (`True`: "discrete", `False`: "continuous"); it gives a
        `DeprecationWarning` and will be removed in the next release.

    Returns
    -------
    MetricResult
        `value`: SAP, in [0, 1]; `details`: `score_matrix` (d, K), `gap_per_factor` (K),
        `top_dim_per_factor` (K).

    References
    ----------
    A. Kumar, P. Sattigeri and A. Balakrishnan, "Variational inference of disentangled latent concepts
    from unlabeled observations", ICLR 2018. Reference code: google-research/disentanglement_lib,
    `disentanglement_lib/evaluation/metrics/sap_score.py`.

    Examples
    --------
    Dim 0 carries factor 0 and dim 1 factor 1; dim 2 is noise:

    >>> import numpy as np
    >>> from dismetrics import sap
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 2, size=(300, 2))
    >>> codes = np.c_[factors + 0.1 * rng.normal(size=(300, 2)), rng.normal(size=300)]
    >>> round(sap(codes, factors).value, 3)
    0.465
    >>> round(sap(codes, factors, factor_types="continuous").value, 2)
    0.96
    """
    if discrete is not _SENTINEL:
        if not isinstance(discrete, (bool, np.bool_)):
            raise ValueError(f"discrete must be True (classification) or False (squared correlation); got "
                             f"{discrete!r}. It is deprecated: use factor_types='discrete' or 'continuous'.")
        warnings.warn("sap(discrete=...) is deprecated and will be removed in the next release; use "
                      f"factor_types={'discrete' if discrete else 'continuous'!r}.", DeprecationWarning, stacklevel=2)
        factor_types = "discrete" if discrete else "continuous"
    if dual not in (True, False, "auto"):
        raise ValueError(f"dual must be False, True or 'auto' (LinearSVC's solver choice); got {dual!r}.")
    n_jobs = check_n_jobs(n_jobs)
    rng = check_random_state(random_state)
    k_count = np.asarray(factors).shape[1] if np.ndim(factors) == 2 else 0
    types = check_factor_types(factor_types, k_count) if k_count else ()
    any_discrete = any(t == "discrete" for t in types) or not types
    # All-discrete factors are validated as integer labels (types None), otherwise per column.
    split = split_for_predictors(codes, factors, codes_test, factors_test, rng=rng,
                                 factor_types=None if all(t == "discrete" for t in types) else types, min_dims=2)
    types = check_factor_types(factor_types, split.factors_train.shape[1])
    why = "fits liblinear's LinearSVC to them, which runs for minutes on values that large (or overflows the variances)"
    check_float32_range(split.codes_train, name="codes", metric="SAP", why=why)
    check_float32_range(split.codes_test, name="codes_test" if codes_test is not None else "codes", metric="SAP", why=why)
    discrete_columns = [k for k, t in enumerate(types) if t == "discrete"]
    if discrete_columns:
        check_cardinality(split.factors_train[:, discrete_columns], metric="SAP",
                          why="fits a one-vs-rest LinearSVC per value and code dim", where=split.training_part)
    if any_discrete and dual is not False:
        # The dual coordinate-descent solver draws from liblinear's process-global generator, which
        # threads would share in a racy order: those fits run serially.
        n_jobs = 1
    matrix = sap_score_matrix(split.codes_train, split.factors_train, split.codes_test, split.factors_test,
                              factor_types=types, dual=dual, n_jobs=n_jobs)
    value, gaps = sap_from_matrix(matrix)
    return MetricResult(
        name="sap",
        value=value,
        details={"score_matrix": matrix, "gap_per_factor": gaps, "top_dim_per_factor": np.argmax(matrix, axis=0)},
        params={"factor_types": types[0] if len(set(types)) == 1 else list(types), "C": SVC_C,
                "class_weight": "balanced", "dual": dual,
                "random_state": random_state if not isinstance(random_state, np.random.Generator) else "Generator",
                **split.params},
    )


SPEC = register_metric(MetricSpec(
    name="sap",
    func=sap,
    kind="sample",
    title="SAP",
    takes_test=True,
    random=True,
    factor_types=("discrete", "continuous"),
    value_range=(0.0, 1.0),
    direction="higher",
    reference="Kumar et al., ICLR 2018; disentanglement_lib evaluation/metrics/sap_score.py",
    docs="sap.md",
))
