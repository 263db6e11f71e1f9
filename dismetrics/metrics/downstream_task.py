"""Downstream-task scores (Locatello et al., ICML 2019), as disentanglement_lib's `downstream_task`.

Per factor a classifier is trained on the codes of 10, 100, 1,000 and 10,000 points and its accuracy
is measured on 5,000 test points: logistic regression with 5-fold cross-validated regularization
(`downstream_logistic_regression`) or gradient-boosted trees (`downstream_boosted_trees`).
Source: google-research/disentanglement_lib, `evaluation/metrics/downstream_task.py` and
`evaluation/metrics/utils.py` (`logistic_regression_cv`, `gradient_boosting_classifier`) at commit
86a644d4ed35c771560dc3360756363d35477357; settings from `config/unsupervised_study_v1/metric_configs/
downstream_task_*.gin`.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from .._validation import (
    check_cardinality,
    check_choice,
    check_float32_range,
    check_positive_int,
    check_random_state,
    check_tree_resolution,
    check_workspace,
)
from ..result import MetricResult
from ._split import encode_with_training_labels, split_for_predictors
from .registry import MetricSpec, register_metric

__all__ = ["downstream_task", "downstream_logistic_regression", "downstream_boosted_trees", "REFERENCE_TRAIN_SIZES"]

REFERENCE_TRAIN_SIZES = (10, 100, 1000, 10000)
"""`downstream_task.num_train` of the study's configs (`num_test` is 5,000)."""

PREDICTORS = ("logistic_regression_cv", "gradient_boosting")
BACKENDS = ("numba", "sklearn")
LOGISTIC_CS = 10
LOGISTIC_FOLDS = 5
GBT_N_ESTIMATORS, GBT_MAX_DEPTH, GBT_LEARNING_RATE = 100, 3, 0.1


def _logistic_regression_cv():
    """disentanglement_lib's `logistic_regression_cv`: `LogisticRegressionCV(Cs=10, cv=KFold(5))`.

    The defaults the reference relies on are named: lbfgs, an L2 penalty, `max_iter=100`, the folds in
    order (no shuffling: deterministic), and accuracy to choose C (scikit-learn 1.11 changes the
    default scoring to the log loss; `l1_ratios=(0.0,)` is the pure L2 penalty of the new API).
    """
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    kwargs = {"Cs": LOGISTIC_CS, "cv": KFold(n_splits=LOGISTIC_FOLDS), "solver": "lbfgs", "max_iter": 100,
              "scoring": "accuracy"}
    if "use_legacy_attributes" in inspect.signature(LogisticRegressionCV).parameters:  # scikit-learn >= 1.8
        kwargs.update(l1_ratios=(0.0,), use_legacy_attributes=False)
    return LogisticRegressionCV(**kwargs)


def _fit_predict_logistic(x_train, y_train, x_test):
    """Fit and predict with one BLAS thread: the products are (n x d) by (d x classes), far too small for
    threads, and on a busy 2-core machine OpenBLAS's spinning threads made one cross-validated fit 14x
    slower (6.7 s against 0.48 s at 100 points). The numbers do not depend on it."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    model = _logistic_regression_cv()
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        # As the reference: lbfgs stops at max_iter=100 whether it has converged or not.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
        return model.predict(x_train), model.predict(x_test)


def _fit_predict_boosting(x_train, y_train, x_test, n_classes, seed, backend):
    if backend == "sklearn":
        from sklearn.ensemble import GradientBoostingClassifier

        model = GradientBoostingClassifier(n_estimators=GBT_N_ESTIMATORS, max_depth=GBT_MAX_DEPTH,
                                           learning_rate=GBT_LEARNING_RATE, random_state=seed)
        model.fit(x_train, y_train)
        return model.predict(x_train), model.predict(x_test)
    from .._kernels.boosting import boost_classifier, n_tree_nodes, sort_columns

    x32 = np.ascontiguousarray(x_train, dtype=np.float32)
    x_test32 = np.ascontiguousarray(x_test, dtype=np.float32)
    trees_per_stage = 1 if n_classes == 2 else n_classes
    check_workspace(8.0 * GBT_N_ESTIMATORS * trees_per_stage * n_tree_nodes(GBT_MAX_DEPTH) * x32.shape[1],
                    what=f"the tie-break keys of the boosting kernel ({GBT_N_ESTIMATORS} stages x {trees_per_stage} "
                         f"trees x {n_tree_nodes(GBT_MAX_DEPTH)} nodes x {x32.shape[1]} dims)",
                    advice="Use fewer code dims or factors with fewer values, or backend='sklearn'.")
    keys = np.random.default_rng(seed).random((GBT_N_ESTIMATORS, trees_per_stage, n_tree_nodes(GBT_MAX_DEPTH),
                                               x32.shape[1]))
    _, raw_train, raw_test = boost_classifier(x32, sort_columns(x32), np.asarray(y_train, dtype=np.int64),
                                              int(n_classes), x_test32, GBT_N_ESTIMATORS, float(GBT_LEARNING_RATE),
                                              GBT_MAX_DEPTH, keys)
    if n_classes == 2:  # sklearn: class 1 where the raw prediction is >= 0
        return (raw_train[:, 0] >= 0).astype(np.int64), (raw_test[:, 0] >= 0).astype(np.int64)
    return np.argmax(raw_train, axis=1), np.argmax(raw_test, axis=1)


def _check_sizes(train_sizes) -> tuple[int, ...]:
    if isinstance(train_sizes, (int, np.integer)) and not isinstance(train_sizes, bool):
        train_sizes = (train_sizes,)
    try:
        sizes = tuple(train_sizes)
    except TypeError:
        raise ValueError(f"train_sizes must be a sequence of positive ints; got {train_sizes!r}.") from None
    if not sizes:
        raise ValueError("train_sizes must name at least one training-set size.")
    sizes = tuple(check_positive_int(s, name="train_sizes entries", minimum=2) for s in sizes)
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"train_sizes must not repeat a size; got {sizes}.")
    return tuple(sorted(sizes))


def downstream_task(codes, factors, *, codes_test=None, factors_test=None,
                    predictor: str = "logistic_regression_cv", train_sizes=REFERENCE_TRAIN_SIZES,
                    backend: str = "sklearn", shuffle: bool = True, random_state=0) -> MetricResult:
    r"""Downstream-task accuracy: how well a classifier trained on few labelled codes predicts each factor.

    For every size $s$ in `train_sizes` and every factor $k$, a classifier is fit on the codes of $s$
    training points to predict $v_k$; its accuracy on the training points and on the test sample is
    recorded. Per size, the reference reports the mean and the minimum over factors:

    $$
    \mathrm{acc}_s = \frac1K \sum_{k=1}^{K} \frac{1}{n_{\mathrm{test}}}
        \sum_{j} \big[\hat v_k(z^{\mathrm{test}}_j) = v^{\mathrm{test}}_{jk}\big].
    $$

    `value` is the mean test accuracy at the largest size evaluated (the `10000:mean_test_accuracy`
    of the reference); every size's numbers are in the details.

    Predictors (disentanglement_lib, `evaluation/metrics/utils.py`):

    * `predictor="logistic_regression_cv"` (`logistic_regression_cv`): `LogisticRegressionCV(Cs=10,
      cv=KFold(n_splits=5))`: lbfgs, multinomial, 10 values of C on a log grid from 1e-4 to 1e4 chosen
      by 5-fold cross-validated accuracy (folds in order), refit on all $s$ points. Deterministic.
    * `predictor="gradient_boosting"` (`gradient_boosting_classifier`): `GradientBoostingClassifier()`
      (100 stages of depth-3 trees, learning rate 0.1). `backend="sklearn"` (default) is scikit-learn
      itself, the reference computation; `backend="numba"` grows the same trees with dismetrics'
      re-implementation of scikit-learn's boosting (the one DCI uses; about 13x faster), whose tie-breaks
      differ: accuracies within 0.03 per factor of the reference on the test case. The reference passes
      no seed; ties between features are broken at random (seeded here by `random_state`).

    Sample: the codes of the training sample (all of `codes` when `codes_test` is given, otherwise a
    random 2/3 of it, the other 1/3 being the test sample) are put in a random order drawn from
    `random_state` (`shuffle=True`, so codes sorted by factor value are safe); the classifier of size
    $s$ sees the first $s$ of them (nested training sets), and every size is tested on the same test
    sample. The reference draws a fresh training and test sample for every size: the same
    distribution per size, only the sizes' samples are not independent here. A size larger than the
    training sample is left out (`details["sizes_left_out"]`); at least one size must fit.

    A factor that takes one value in a training set gets the constant classifier (the reference's
    classifiers raise there); a test value never seen in training counts as an error.

    Parameters
    ----------
    codes : array of shape (n, d)
        Codes of the training sample (or of the whole sample, see above).
    factors : int array of shape (n, K)
        Factor indices of the same points (discrete factors).
    codes_test, factors_test : arrays, optional
        The test sample (the reference: 5,000 points).
    predictor : {"logistic_regression_cv", "gradient_boosting"}, default "logistic_regression_cv"
    train_sizes : sequence of int, default (10, 100, 1000, 10000)
        Training-set sizes (the reference's `num_train`).
    backend : {"sklearn", "numba"}, default "sklearn"
        Boosting implementation (only for `predictor="gradient_boosting"`): the reference's scikit-learn,
        or the faster re-implementation (see above).
    shuffle : bool, default True
        Shuffle the training sample before taking the nested training sets; `False` takes the first
        $s$ rows as given.
    random_state : int, None or numpy Generator, default 0
        Seeds the split, the shuffle and the boosting's tie-breaks; the same int gives bit-identical results.

    Returns
    -------
    MetricResult
        `value`: mean test accuracy at the largest size; `details`: `sizes` (evaluated),
        `mean_test_accuracy`, `min_test_accuracy`, `mean_train_accuracy`, `min_train_accuracy` (one per
        size), `test_accuracy_per_factor`, `train_accuracy_per_factor` (sizes x K), `sizes_left_out`.

    References
    ----------
    F. Locatello et al., "Challenging common assumptions in the unsupervised learning of disentangled
    representations", ICML 2019, Section 5 (downstream tasks). disentanglement_lib
    `evaluation/metrics/downstream_task.py` @ 86a644d4.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.downstream_task import downstream_task
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 3, size=(300, 2))
    >>> codes = factors + 0.1 * rng.standard_normal((300, 2))
    >>> r = downstream_task(codes, factors, train_sizes=(10, 100))
    >>> r.details["sizes"], round(r.value, 2)
    ([10, 100], 1.0)
    """
    check_choice(predictor, name="predictor", choices=PREDICTORS)
    check_choice(backend, name="backend", choices=BACKENDS)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle must be True or False; got {shuffle!r}.")
    sizes = _check_sizes(train_sizes)
    rng = check_random_state(random_state)
    split = split_for_predictors(codes, factors, codes_test, factors_test, rng=rng)
    name = "downstream_logistic_regression" if predictor == "logistic_regression_cv" else "downstream_boosted_trees"
    if predictor == "gradient_boosting":
        why = "casts them to float32 for its trees, as scikit-learn does (which refuses such values)"
        check_float32_range(split.codes_train, name="codes", metric="the boosted-trees downstream task", why=why)
        check_float32_range(split.codes_test, name="codes_test" if codes_test is not None else "codes",
                            metric="the boosted-trees downstream task", why=why)
        check_cardinality(split.factors_train, metric="the boosted-trees downstream task",
                          why="grows one tree per value in every boosting stage", where=split.training_part)
    else:
        check_cardinality(split.factors_train, metric="the logistic-regression downstream task",
                          why="fits one logistic-regression output per value", where=split.training_part)
    n_train = split.codes_train.shape[0]
    order = rng.permutation(n_train) if shuffle else np.arange(n_train)
    model_seed = int(rng.integers(0, 2**31 - 1))
    used = [s for s in sizes if s <= n_train]
    left_out = [s for s in sizes if s > n_train]
    if not used:
        raise ValueError(f"the training sample has {n_train} points, fewer than the smallest of train_sizes={sizes}; "
                         "give more points or smaller train_sizes.")
    x_test = split.codes_test.astype(np.float64)
    k_count = split.factors_train.shape[1]
    train_acc = np.zeros((len(used), k_count))
    test_acc = np.zeros((len(used), k_count))
    for row, size in enumerate(used):
        rows = order[:size]
        x_train = split.codes_train[rows].astype(np.float64)
        if predictor == "gradient_boosting" and backend == "numba":
            check_tree_resolution(np.asarray(x_train, dtype=np.float32), x_train, name="codes",
                                  metric="the boosted-trees downstream task")
        for k in range(k_count):
            y_train, y_test, classes = encode_with_training_labels(split.factors_train[rows, k], split.factors_test[:, k])
            if classes.size == 1:
                predicted_train, predicted_test = np.zeros_like(y_train), np.zeros_like(y_test)
            elif predictor == "logistic_regression_cv":
                predicted_train, predicted_test = _fit_predict_logistic(x_train, y_train, x_test)
            else:
                predicted_train, predicted_test = _fit_predict_boosting(x_train, y_train, x_test, classes.size,
                                                                        model_seed + k, backend)
            train_acc[row, k] = np.mean(predicted_train == y_train)
            test_acc[row, k] = np.mean(predicted_test == y_test)
    params = {"predictor": predictor, "train_sizes": list(used), "shuffle": bool(shuffle),
              "random_state": random_state if not isinstance(random_state, np.random.Generator) else "Generator",
              **split.params}
    if predictor == "gradient_boosting":
        params.update(backend=backend, n_estimators=GBT_N_ESTIMATORS, max_depth=GBT_MAX_DEPTH,
                      learning_rate=GBT_LEARNING_RATE, model_seed=model_seed)
    else:
        params.update(Cs=LOGISTIC_CS, cv=f"KFold(n_splits={LOGISTIC_FOLDS})", solver="lbfgs", scoring="accuracy")
    return MetricResult(
        name=name,
        value=float(np.mean(test_acc[-1])),
        details={
            "sizes": list(used),
            "mean_test_accuracy": test_acc.mean(axis=1),
            "min_test_accuracy": test_acc.min(axis=1),
            "mean_train_accuracy": train_acc.mean(axis=1),
            "min_train_accuracy": train_acc.min(axis=1),
            "test_accuracy_per_factor": test_acc,
            "train_accuracy_per_factor": train_acc,
            "sizes_left_out": left_out,
        },
        params=params,
    )


def downstream_logistic_regression(codes, factors, *, codes_test=None, factors_test=None,
                                   train_sizes=REFERENCE_TRAIN_SIZES, shuffle: bool = True,
                                   random_state=0) -> MetricResult:
    """[`downstream_task`][dismetrics.metrics.downstream_task.downstream_task] with
    `predictor="logistic_regression_cv"` (disentanglement_lib's `downstream_task_logistic_regression.gin`).

    Parameters
    ----------
    codes, factors : arrays of shape (n, d) and (n, K)
        The training sample (or the whole sample when no test sample is given).
    codes_test, factors_test : arrays, optional
        The test sample (the reference: 5,000 points); without it the sample is split 2/3 : 1/3.
    train_sizes : sequence of int, default (10, 100, 1000, 10000)
    shuffle : bool, default True
    random_state : int, None or numpy Generator, default 0

    Returns
    -------
    MetricResult
        As `downstream_task`, named `downstream_logistic_regression`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> factors = rng.integers(0, 2, size=(150, 1))
    >>> codes = np.hstack([factors + 0.05 * rng.standard_normal((150, 1)), rng.standard_normal((150, 1))])
    >>> downstream_logistic_regression(codes, factors, train_sizes=(10, 100)).value
    1.0
    """
    return downstream_task(codes, factors, codes_test=codes_test, factors_test=factors_test,
                           predictor="logistic_regression_cv", train_sizes=train_sizes, shuffle=shuffle,
                           random_state=random_state)


def downstream_boosted_trees(codes, factors, *, codes_test=None, factors_test=None,
                             train_sizes=REFERENCE_TRAIN_SIZES, backend: str = "sklearn", shuffle: bool = True,
                             random_state=0) -> MetricResult:
    """[`downstream_task`][dismetrics.metrics.downstream_task.downstream_task] with
    `predictor="gradient_boosting"` (disentanglement_lib's `downstream_task_boosted_trees.gin`).

    Parameters
    ----------
    codes, factors : arrays of shape (n, d) and (n, K)
        The training sample (or the whole sample when no test sample is given).
    codes_test, factors_test : arrays, optional
        The test sample (the reference: 5,000 points); without it the sample is split 2/3 : 1/3.
    train_sizes : sequence of int, default (10, 100, 1000, 10000)
    backend : {"sklearn", "numba"}, default "sklearn"
        scikit-learn itself (the reference), or dismetrics' boosting (about 13x faster, tie-breaks differ).
    shuffle : bool, default True
    random_state : int, None or numpy Generator, default 0

    Returns
    -------
    MetricResult
        As `downstream_task`, named `downstream_boosted_trees`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> factors = rng.integers(0, 2, size=(150, 1))
    >>> codes = np.hstack([factors + 0.05 * rng.standard_normal((150, 1)), rng.standard_normal((150, 1))])
    >>> downstream_boosted_trees(codes, factors, train_sizes=(10, 100)).value
    1.0
    """
    return downstream_task(codes, factors, codes_test=codes_test, factors_test=factors_test,
                           predictor="gradient_boosting", train_sizes=train_sizes, backend=backend, shuffle=shuffle,
                           random_state=random_state)


_REFERENCE = ("Locatello et al. 2019; disentanglement_lib evaluation/metrics/downstream_task.py"
              "@86a644d4ed35c771560dc3360756363d35477357")

LOGISTIC_SPEC = register_metric(MetricSpec(
    name="downstream_logistic_regression", in_all=False, func=downstream_logistic_regression, kind="sample",
    title="Downstream task (LR, 10k)", takes_test=True, random=True,
    presets={"disentanglement_lib": {"train_sizes": REFERENCE_TRAIN_SIZES}},
    reference=_REFERENCE + " (logistic_regression_cv)", docs="downstream_task.md"))
BOOSTED_TREES_SPEC = register_metric(MetricSpec(
    name="downstream_boosted_trees", in_all=False, func=downstream_boosted_trees, kind="sample",
    title="Downstream task (GBT, 10k)", takes_test=True, random=True,
    presets={"disentanglement_lib": {"train_sizes": REFERENCE_TRAIN_SIZES}},
    reference=_REFERENCE + " (gradient_boosting_classifier)", docs="downstream_task.md"))
