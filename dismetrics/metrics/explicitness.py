"""Explicitness (Ridgeway and Mozer, "Learning deep disentangled embeddings with the F-statistic loss",
NeurIPS 2018), and `modularity_explicitness`, both halves of that paper's metric together."""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import (
    check_cardinality,
    check_choice,
    check_positive_int,
    check_random_state,
    describe_seed,
    scaled_to_safe_range,
)
from ..result import MetricResult
from ._fit import fit_to_max_iter
from ._split import encode_with_training_labels, split_for_predictors
from .modularity import modularity
from .registry import MetricSpec, register_metric

__all__ = ["explicitness", "modularity_explicitness", "one_vs_rest_auc"]

LOGISTIC = ("lbfgs", "liblinear_ovr")


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardize with the training mean and std (ddof=0, the reference's `normalize_data`); a
    constant dim is only centred (the reference would divide by zero).

    A dim whose largest training magnitude is outside about [5e-91, 2e90] is first rescaled by an
    exact power of two (`scaled_to_safe_range`), where the reference's std would overflow to inf
    (codes x 1e200 scored 0.5) or underflow to 0; other dims are computed exactly as before.
    """
    train, exponents = scaled_to_safe_range(train)
    if exponents.any():
        test = np.ldexp(test, -exponents)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    standardized_test = (test - mean) / std
    if not np.isfinite(standardized_test).all():
        raise ValueError(
            "codes_test (or the test part of codes) lies so far outside the training codes' range that the "
            "standardized test codes overflow float64; give a test sample of the same representation (the training "
            "mean and std standardize both)."
        )
    return (train - mean) / std, standardized_test


def _check_auc_defined(split, name: str, where: str = "") -> None:
    """Every factor needs a test class with both positive and negative test points, or its macro
    ROC-AUC (the mean over such classes) is undefined."""
    for k in range(split.factors_train.shape[1]):
        _, y_test, _ = encode_with_training_labels(split.factors_train[:, k], split.factors_test[:, k])
        seen = y_test[y_test >= 0]
        counts = np.bincount(seen) if seen.size else np.zeros(0, dtype=np.int64)
        if not np.any((counts > 0) & (counts < y_test.size)):
            raise ValueError(
                f"{name}[:, {k}]: no value of this factor has both positive and negative points among the "
                f"{y_test.size} test point(s){where} ({seen.size} of them with a value seen in training, "
                f"{np.count_nonzero(counts)} distinct), so its one-vs-rest ROC-AUC is undefined. The test sample needs "
                "at least two values of every factor, at least one of them also seen in training: give a larger or "
                "more varied test sample (or more points, when the sample is split at random)."
            )


def one_vs_rest_auc(labels: np.ndarray, probabilities: np.ndarray) -> tuple[float, np.ndarray]:
    """Macro one-vs-rest ROC-AUC: per class c, `roc_auc_score(labels == c, probabilities[:, c])`.

    `labels` are 0..m-1 (or -1 for a value the classifier never saw: a negative for every class).
    Classes with no positive or no negative point have no AUC (NaN in the per-class array) and are
    left out of the mean, where the reference would raise.

    Parameters
    ----------
    labels : int array of shape (n,)
        Class indices 0..m-1, or -1 (a negative for every class).
    probabilities : array of shape (n, m)
        Predicted probability of each class.

    Returns
    -------
    mean : float
        The mean AUC over the classes that have one (NaN when none has).
    per_class : numpy.ndarray
        The AUC of each class, shape (m,), NaN where undefined.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.explicitness import one_vs_rest_auc
    >>> labels = np.array([0, 0, 1, 1])
    >>> probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8]])
    >>> mean, per_class = one_vs_rest_auc(labels, probabilities)
    >>> print(round(mean, 2), per_class)
    0.75 [0.75 0.75]
    """
    from sklearn.metrics import roc_auc_score

    per_class = np.full(probabilities.shape[1], np.nan)
    for c in range(probabilities.shape[1]):
        positive = labels == c
        if 0 < positive.sum() < labels.size:
            per_class[c] = roc_auc_score(positive, probabilities[:, c])
    defined = per_class[np.isfinite(per_class)]
    return (float(defined.mean()) if defined.size else float("nan")), per_class


def _classifier(logistic: str, seed: int, max_iter: int):
    from sklearn.linear_model import LogisticRegression

    if logistic == "lbfgs":
        # Named explicitly: LogisticRegression() today is lbfgs, multinomial for > 2 classes.
        return LogisticRegression(solver="lbfgs", C=1.0, max_iter=max_iter)
    from sklearn.multiclass import OneVsRestClassifier

    # sklearn <= 0.21's LogisticRegression(): liblinear, one-vs-rest, probabilities normalized per row
    # (what the published study ran). OneVsRestClassifier gives the same probabilities.
    return OneVsRestClassifier(LogisticRegression(solver="liblinear", C=1.0, max_iter=max_iter, random_state=seed))


def _iterations(model) -> int:
    """The solver iterations the fit used: lbfgs's `n_iter_`, or the most of the one-vs-rest fits."""
    if hasattr(model, "estimators_"):
        return int(max(np.max(estimator.n_iter_) for estimator in model.estimators_))
    return int(np.max(model.n_iter_))


def explicitness(codes, factors, *, codes_test=None, factors_test=None, logistic: str = "lbfgs",
                 max_iter: int = 100, random_state=0) -> MetricResult:
    r"""Explicitness: how well a linear classifier reads each factor out of the (standardized) code.

    Codes are standardized with the training mean and standard deviation. Per factor a logistic
    regression on all code dims is trained; its class probabilities give a one-vs-rest ROC-AUC per
    class, averaged over classes (macro); explicitness is the mean over factors, on the test split
    (`value`) and on the training split.

    `logistic="lbfgs"` (default): `LogisticRegression(solver="lbfgs")`, multinomial, which is
    what the reference code (disentanglement_lib, `LogisticRegression()`) gives with today's sklearn.
    `logistic="liblinear_ovr"`: liblinear one-vs-rest, the default of sklearn <= 0.21 that the
    published study ran (a perfect code then scores about 0.95 instead of 1).

    Test points whose factor value never occurs in training count as negatives for every class;
    a class with no positive or no negative test point has no AUC (NaN) and is left out of that
    factor's mean. A factor with no class left (a one-row test set, a factor constant in the test
    set, test values all unseen in training, e.g. all-distinct factor values) has no defined AUC:
    `ValueError` naming `factors_test` (or `factors` for the random split). Reference sizes:
    10,000 train and 5,000 test points; without `codes_test` the sample is split at random 2/3 : 1/3.

    Scale: the score is invariant to positive rescaling and shifting of each code dim over the whole
    float64 range (the standardization makes it so; a dim beyond about 2e90 or below 5e-91 in
    magnitude is first rescaled by an exact power of two, where the reference's std overflows or
    underflows). A factor may take at most 1,000 distinct values
    ([`dismetrics._validation.MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]).

    The solver stops after `max_iter` iterations whether it has converged or not, as the reference
    does (the reference sizes often stop lbfgs early); `details["iterations_per_factor"]` records the
    iterations each factor's fit took and `details["converged"]` whether every fit stopped before
    `max_iter`, in place of sklearn's ConvergenceWarning.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation (the training sample when `codes_test` is given).
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, at most 1,000 values per factor.
    codes_test : array-like of shape (n_test, d), optional
        A test sample; default None: `codes` is split at random 2/3 : 1/3.
    factors_test : int array-like of shape (n_test, K), optional
        Its factors (given together with `codes_test`).
    logistic : {"lbfgs", "liblinear_ovr"}, default "lbfgs"
        The probe (see above).
    max_iter : int, default 100
        Solver iterations of each probe.
    random_state : int, None or numpy.random.Generator, default 0
        Seeds the random split and the liblinear solver.

    Returns
    -------
    MetricResult
        `value`: mean test AUC; `details`: `explicitness_test`, `explicitness_train`,
        `auc_test_per_factor`, `auc_train_per_factor` (K), `auc_test_per_class` (list of K arrays),
        `iterations_per_factor` (K), `converged` (bool).

    References
    ----------
    K. Ridgeway and M. C. Mozer, "Learning deep disentangled embeddings with the F-statistic loss",
    NeurIPS 2018 (arXiv:1802.05312). Reference code: google-research/disentanglement_lib,
    `disentanglement_lib/evaluation/metrics/modularity_explicitness.py`.

    Examples
    --------
    A rotation keeps the factors linearly readable; pure noise scores 0.5, the AUC of a guess:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.explicitness import explicitness
    >>> for damage, level in [("noise", 0.0), ("rotation", 5), ("noise", 1.0)]:
    ...     codes, factors = damage_sample(damage, level, 1000, seed=0)
    ...     print(damage, level, round(explicitness(codes, factors).value, 2))
    noise 0.0 1.0
    rotation 5 1.0
    noise 1.0 0.51
    """
    check_choice(logistic, name="logistic", choices=LOGISTIC)
    max_iter = check_positive_int(max_iter, name="max_iter")
    rng = check_random_state(random_state)
    model_seed = int(rng.integers(0, 2**31 - 1))
    split = split_for_predictors(codes, factors, codes_test, factors_test, rng=rng)
    check_cardinality(split.factors_train, metric="explicitness", why="fits one logistic-regression output per value",
                      where=split.training_part)
    if factors_test is not None:
        _check_auc_defined(split, "factors_test")
    else:
        _check_auc_defined(split, "factors", " of the random 2/3 : 1/3 split")
    x_train, x_test = _standardize(split.codes_train.astype(np.float64), split.codes_test.astype(np.float64))
    k_count = split.factors_train.shape[1]
    auc_train, auc_test = np.zeros(k_count), np.zeros(k_count)
    per_class_test = []
    iterations = np.zeros(k_count, dtype=np.int64)
    for k in range(k_count):
        y_train, y_test, _ = encode_with_training_labels(split.factors_train[:, k], split.factors_test[:, k])
        model = fit_to_max_iter(_classifier(logistic, model_seed, max_iter), x_train, y_train)
        iterations[k] = _iterations(model)
        auc_train[k], _ = one_vs_rest_auc(y_train, model.predict_proba(x_train))
        auc_test[k], classes_test = one_vs_rest_auc(y_test, model.predict_proba(x_test))
        per_class_test.append(classes_test)
    value = float(np.mean(auc_test))
    return MetricResult(
        name="explicitness",
        value=value,
        details={
            "explicitness_test": value,
            "explicitness_train": float(np.mean(auc_train)),
            "auc_test_per_factor": auc_test,
            "auc_train_per_factor": auc_train,
            "auc_test_per_class": per_class_test,
            "iterations_per_factor": iterations,
            "converged": bool(np.all(iterations < max_iter)),
        },
        params={"logistic": logistic, "max_iter": max_iter, "standardize": "train mean/std (ddof=0)",
                "random_state": describe_seed(random_state),
                "model_seed": model_seed, **split.params},
    )


def modularity_explicitness(codes, factors, *, codes_test=None, factors_test=None, bins: int = 20,
                            logistic: str = "lbfgs", max_iter: int = 100, random_state=0) -> dict:
    """Both halves of Ridgeway and Mozer's metric, under the reference's name.

    Modularity is computed on the training part (all of `codes` when a test sample is given;
    otherwise the same 2/3 split that explicitness trains on), as the reference computes it on its
    training sample.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation (the training sample when `codes_test` is given).
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, K >= 2.
    codes_test : array-like of shape (n_test, d), optional
        A test sample; default None: `codes` is split at random 2/3 : 1/3.
    factors_test : int array-like of shape (n_test, K), optional
        Its factors (given together with `codes_test`).
    bins : int, default 20
        Equal-width bins per code dim for modularity.
    logistic : {"lbfgs", "liblinear_ovr"}, default "lbfgs"
        Explicitness's probe (see [`explicitness`][dismetrics.metrics.explicitness.explicitness]).
    max_iter : int, default 100
        Solver iterations of each probe.
    random_state : int, None or numpy.random.Generator, default 0
        Seeds the random split and the probes.

    Returns
    -------
    dict of str to MetricResult
        `{"modularity": ..., "explicitness": ...}`.

    Deprecated: every metric returns one `MetricResult`; this pair is two metrics. Use
    [`modularity`][dismetrics.metrics.modularity.modularity] and
    [`explicitness`][dismetrics.metrics.explicitness.explicitness] (same values), or `evaluate_codes(codes,
    factors, ["modularity", "explicitness"])`. Kept, with a `DeprecationWarning`, for one release.

    References
    ----------
    Ridgeway and Mozer, NeurIPS 2018, and the reference code disentanglement_lib
    `modularity_explicitness.py` (see [`explicitness`][dismetrics.metrics.explicitness.explicitness]).

    Examples
    --------
    >>> import warnings
    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.explicitness import modularity_explicitness
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     results = modularity_explicitness(*damage_sample("noise", 0.0, 1000, seed=0))  # the perfect code
    >>> print(caught[0].category.__name__)
    DeprecationWarning
    >>> print({name: round(result.value, 2) for name, result in results.items()})
    {'modularity': 1.0, 'explicitness': 0.99}
    """
    warnings.warn("modularity_explicitness is deprecated (it returns a dict, not a MetricResult): call modularity "
                  "and explicitness, or evaluate_codes(codes, factors, ['modularity', 'explicitness']).",
                  DeprecationWarning, stacklevel=2)
    rng = check_random_state(random_state)
    seed = int(rng.integers(0, 2**31 - 1))
    split = split_for_predictors(codes, factors, codes_test, factors_test, rng=np.random.default_rng(seed))
    explicit = explicitness(split.codes_train, split.factors_train, codes_test=split.codes_test,
                            factors_test=split.factors_test, logistic=logistic, max_iter=max_iter,
                            random_state=seed)
    return {"modularity": modularity(split.codes_train, split.factors_train, bins=bins), "explicitness": explicit}


SPEC = register_metric(MetricSpec(
    name="explicitness", func=explicitness, kind="sample", title="Explicitness", takes_test=True, random=True,
    reference="Ridgeway & Mozer 2018, as disentanglement_lib modularity_explicitness.py", docs="explicitness.md"))
