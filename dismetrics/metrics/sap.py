"""SAP, the separated attribute predictability score (Kumar, Sattigeri and Balakrishnan, ICLR 2018)."""

from __future__ import annotations

import numpy as np

from .._parallel import available_threads
from .._validation import (
    check_cardinality,
    check_float32_range,
    check_positive_int,
    check_random_state,
    scaled_to_safe_range,
)
from ..result import MetricResult
from ._split import split_for_predictors

__all__ = ["sap", "sap_from_matrix", "sap_score_matrix"]

SVC_C = 0.01
VARIANCE_FLOOR = 1e-12


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


def sap_score_matrix(codes_train, factors_train, codes_test, factors_test, *, discrete: bool = True,
                     dual=False, n_jobs=None) -> np.ndarray:
    """The (d, K) score matrix of SAP (see [`sap`][dismetrics.metrics.sap.sap]); the d x K fits run in
    parallel threads.

    Each entry is an independent fit (liblinear's primal solver is deterministic and releases the
    GIL), so the result is the same with any `n_jobs`.
    """
    d, k_count = codes_train.shape[1], factors_train.shape[1]
    if not discrete:
        # The reference computes the continuous case on the training sample only (no predictor). The
        # squared correlation does not depend on the scale of v: a factor beyond about 2e90 or below
        # 5e-91 is rescaled by an exact power of two first (its variance would overflow or underflow).
        factors_train, _ = scaled_to_safe_range(np.asarray(factors_train, dtype=np.float64))
        return np.array([[_squared_correlation(codes_train[:, i], factors_train[:, k]) for k in range(k_count)]
                         for i in range(d)])
    pairs = [(i, k) for i in range(d) for k in range(k_count)]
    if n_jobs == 1:
        values = [_svc_accuracy(codes_train[:, i], factors_train[:, k], codes_test[:, i], factors_test[:, k], dual)
                  for i, k in pairs]
    else:
        from joblib import Parallel, delayed

        values = Parallel(n_jobs=available_threads() if n_jobs in (None, -1) else n_jobs, prefer="threads")(
            delayed(_svc_accuracy)(codes_train[:, i], factors_train[:, k], codes_test[:, i], factors_test[:, k], dual)
            for i, k in pairs)
    return np.asarray(values, dtype=np.float64).reshape(d, k_count)


def sap(codes, factors, *, codes_test=None, factors_test=None, discrete: bool = True, dual=False,
        n_jobs=None, random_state=0) -> MetricResult:
    r"""Separated attribute predictability.

    Score matrix $S_{ik}$: for discrete factors, the test accuracy of a
    `LinearSVC(C=0.01, class_weight="balanced")` trained on the single code dim $z_i$ to
    predict $v_k$; for continuous factors (`discrete=False`), the squared correlation
    $\mathrm{cov}(z_i, v_k)^2 / (\mathrm{var}\,z_i\, \mathrm{var}\,v_k)$ on the training
    sample (0 where $\mathrm{var}\,z_i \le 10^{-12}$). Then

    $$
    \mathrm{SAP} = \frac1K \sum_k \big(S_{(1)k} - S_{(2)k}\big)
    $$

    with $S_{(1)k} \ge S_{(2)k}$ the two largest entries of column k.

    Reference settings (disentanglement_lib `sap_score`): 10,000 train and 5,000 test points.
    Without `codes_test`/`factors_test` the sample is split at random 2/3 : 1/3.
    `dual` is LinearSVC's: `False` (the primal Newton solver, deterministic) is what sklearn's
    `dual="auto"` picks for one feature, i.e. what the reference code gives with sklearn >= 1.5;
    the published study ran with the old default `dual=True` (coordinate descent, which draws from
    liblinear's process-global random generator: with it the fits run serially). The d x K fits are
    independent and run in `n_jobs` threads (`None`: all cores, `1`: serial); the result does not
    depend on `n_jobs`. `random_state` drives the random split.

    Scale: SAP is **not** invariant to rescaling a code dim, in the reference as here: LinearSVC's
    penalty (C = 0.01, the intercept penalized too) shrinks a small-scale dim's fit, so codes x 0.01
    can score 0 and codes x 1e8 score differently from codes x 1 (docs/sap.md has numbers). Codes
    beyond the float32 range (|z| > 3.4e38) raise `ValueError` (liblinear runs for minutes on such
    values). A discrete factor may take at most 1,000 distinct values
    ([`dismetrics._validation.MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]).

    Returns
    -------
    MetricResult
        `value`: SAP; `details`: `score_matrix` (d, K), `gap_per_factor` (K),
        `top_dim_per_factor` (K).
    """
    if not isinstance(discrete, (bool, np.bool_)):
        raise ValueError(f"discrete must be True (classification) or False (squared correlation); got {discrete!r}.")
    if dual not in (True, False, "auto"):
        raise ValueError(f"dual must be False, True or 'auto' (LinearSVC's solver choice); got {dual!r}.")
    if n_jobs is not None and n_jobs != -1:
        n_jobs = check_positive_int(n_jobs, name="n_jobs")
    rng = check_random_state(random_state)
    types = None if discrete else ("continuous",) * (np.asarray(factors).shape[1] if np.ndim(factors) == 2 else 0)
    if types == ():
        types = None
    split = split_for_predictors(codes, factors, codes_test, factors_test, rng=rng, factor_types=types, min_dims=2)
    why = "fits liblinear's LinearSVC to them, which runs for minutes on values that large (or overflows the variances)"
    check_float32_range(split.codes_train, name="codes", metric="SAP", why=why)
    check_float32_range(split.codes_test, name="codes_test" if codes_test is not None else "codes", metric="SAP", why=why)
    if discrete:
        check_cardinality(split.factors_train, metric="SAP", why="fits a one-vs-rest LinearSVC per value and code dim", where=split.training_part)
    if discrete and dual is not False:
        # The dual coordinate-descent solver draws from liblinear's process-global generator, which
        # threads would share in a racy order: those fits run serially.
        n_jobs = 1
    matrix = sap_score_matrix(split.codes_train, split.factors_train, split.codes_test, split.factors_test,
                              discrete=bool(discrete), dual=dual, n_jobs=n_jobs)
    value, gaps = sap_from_matrix(matrix)
    return MetricResult(
        name="sap",
        value=value,
        details={"score_matrix": matrix, "gap_per_factor": gaps, "top_dim_per_factor": np.argmax(matrix, axis=0)},
        params={"discrete": bool(discrete), "C": SVC_C, "class_weight": "balanced", "dual": dual,
                "random_state": random_state if not isinstance(random_state, np.random.Generator) else "Generator",
                **split.params},
    )
