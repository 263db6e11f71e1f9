"""DCI: disentanglement, completeness, informativeness (Eastwood and Williams, ICLR 2018).

One gradient-boosted tree predictor per factor, on all code dims; the feature importances form the
(d, K) importance matrix R from which D and C are entropies; I is the predictors' accuracy.
"""

from __future__ import annotations

import numpy as np

from .._parallel import available_threads
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
from ._split import check_factor_types, encode_with_training_labels, split_for_predictors

__all__ = [
    "dci",
    "disentanglement_from_importance",
    "completeness_from_importance",
    "importance_entropy_scores",
]

BACKENDS = ("numba", "xgboost", "sklearn")
TIE_BREAKS = ("random", "first")
ORDER_POOL = 16
XGB_REG_LAMBDA = 0.0
XGB_MIN_CHILD_WEIGHT = 1e-3
ENTROPY_EPS = 1e-11


def _one_minus_entropy(rows: np.ndarray, base: int) -> np.ndarray:
    """1 - H_base of each row of non-negative weights, as the reference computes it:
    `1 - scipy.stats.entropy(row + 1e-11, base=base)` (1e-11 added, then normalized), so an
    all-zero row is uniform (entropy 1, score 0)."""
    if base < 2:
        # One outcome only: nothing to spread over (the reference would divide by log 1 = 0).
        return np.ones(rows.shape[0])
    shifted = rows + ENTROPY_EPS
    p = shifted / shifted.sum(axis=1, keepdims=True)
    return 1.0 - (-np.sum(p * np.log(p), axis=1) / np.log(base))


def _weights(totals: np.ndarray) -> np.ndarray:
    """Relative importance; all-zero totals give uniform weights."""
    total = totals.sum()
    if total > 0:
        return totals / total
    return np.full(totals.shape, 1.0 / totals.size)


def importance_entropy_scores(importance: np.ndarray) -> dict:
    r"""D and C with their per-code / per-factor parts from a (d, K) importance matrix R.

    $$
    P_{ik} = R_{ik} / \textstyle\sum_k R_{ik}, \quad D_i = 1 - H_K(P_{i\cdot}), \quad
    \rho_i = \textstyle\sum_k R_{ik} / \sum R, \quad D = \sum_i \rho_i D_i
    $$

    $$
    \tilde P_{ik} = R_{ik} / \textstyle\sum_i R_{ik}, \quad C_k = 1 - H_d(\tilde P_{\cdot k}), \quad
    C = \textstyle\sum_k (\sum_i R_{ik} / \sum R)\, C_k
    $$

    Entropies use log base K (D) and d (C); as in disentanglement_lib, 1e-11 is added to every
    entry before a row (column) is normalized, so a code (factor) with zero total importance has a
    uniform distribution (score 0), and an all-zero R gives uniform weights. With K = 1 (d = 1)
    every D_i (C_k) is 1 (the reference divides by log 1 there).
    """
    importance = np.abs(np.asarray(importance, dtype=np.float64))
    if importance.ndim != 2 or importance.shape[0] < 1 or importance.shape[1] < 1:
        raise ValueError(f"importance must be a non-empty 2-D (n_codes, n_factors) matrix; got shape {importance.shape}.")
    d, k_count = importance.shape
    per_code = _one_minus_entropy(importance, k_count)
    per_factor = _one_minus_entropy(importance.T, d)
    code_weights = _weights(importance.sum(axis=1))
    factor_weights = _weights(importance.sum(axis=0))
    return {
        "disentanglement": float(np.sum(code_weights * per_code)),
        "completeness": float(np.sum(factor_weights * per_factor)),
        "disentanglement_per_code": per_code,
        "completeness_per_factor": per_factor,
        "code_weights": code_weights,
        "factor_weights": factor_weights,
    }


def disentanglement_from_importance(importance) -> float:
    """D of a (d, K) importance matrix (see
    [`importance_entropy_scores`][dismetrics.metrics.dci.importance_entropy_scores])."""
    return importance_entropy_scores(importance)["disentanglement"]


def completeness_from_importance(importance) -> float:
    """C of a (d, K) importance matrix (see
    [`importance_entropy_scores`][dismetrics.metrics.dci.importance_entropy_scores])."""
    return importance_entropy_scores(importance)["completeness"]


# ---- predictors -------------------------------------------------------------------------------

def _resolve_n_jobs(n_jobs) -> int:
    if n_jobs is None or n_jobs == -1:
        return available_threads()
    return check_positive_int(n_jobs, name="n_jobs")


def _fit_sklearn(kind, x_train, y_train, seed, n_estimators, max_depth, learning_rate):
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    model_type = GradientBoostingClassifier if kind == "discrete" else GradientBoostingRegressor
    # The reference builds GradientBoostingClassifier() with sklearn's defaults and no seed; the
    # defaults are named here (100 trees, depth 3, learning rate 0.1) and the seed passed down.
    model = model_type(n_estimators=n_estimators, max_depth=max_depth, learning_rate=learning_rate, random_state=seed)
    model.fit(x_train, y_train)
    return model, np.abs(model.feature_importances_)


def _fit_xgboost(kind, x_train, y_train, x_test, seed, n_estimators, max_depth, learning_rate, n_jobs,
                 tie_break, n_classes):
    """Boost `n_estimators` rounds of `hist` trees; return (importance, train prediction, test prediction).

    With `tie_break="random"` the code columns are presented in a fresh random order every
    round (boosting continues from the previous margin), so when two code dims give the same
    split gain (duplicated or tree-equivalent dims) the winner is random, as in sklearn's trees
    (which shuffle the features at every node), instead of always the lower index. The model is
    the same boosting of the same capacity; only ties are broken differently.
    """
    import xgboost as xgb

    if kind == "continuous":
        params = {"objective": "reg:squarederror"}
    elif n_classes == 2:
        params = {"objective": "binary:logistic"}
    else:
        params = {"objective": "multi:softprob", "num_class": int(n_classes)}
    # sklearn's trees have no L2 penalty on leaf values and split down to one sample per leaf;
    # xgboost's defaults (lambda=1, min_child_weight=1: a hessian sum >= 1 per child, i.e. ~40 points
    # per child for a 40-class softmax) would give a smaller capacity. Unregularized Newton leaves
    # (lambda=0) and a tiny min_child_weight match the reference's capacity (docs/dci.md).
    params.update(max_depth=max_depth, eta=learning_rate, tree_method="hist", nthread=n_jobs, seed=seed,
                  reg_lambda=XGB_REG_LAMBDA, min_child_weight=XGB_MIN_CHILD_WEIGHT, verbosity=0)
    d = x_train.shape[1]
    rng = np.random.default_rng(seed)
    if tie_break == "random":
        # A pool of column orders, each with its DMatrix built once (xgboost caches the histogram
        # index in it); every round draws one order from the pool.
        orders = [rng.permutation(d) for _ in range(min(ORDER_POOL, n_estimators))]
        schedule = rng.integers(0, len(orders), size=n_estimators)
        rounds_per_call = 1
    else:
        orders, schedule, rounds_per_call = [np.arange(d)], np.zeros(1, dtype=np.int64), n_estimators
    matrices = [(xgb.DMatrix(x_train[:, order], label=y_train, nthread=n_jobs),
                 xgb.DMatrix(x_test[:, order], nthread=n_jobs)) for order in orders]
    gain = np.zeros(d)
    margin_train = margin_test = None
    for step in range(len(schedule)):
        order = orders[schedule[step]]
        train, test = matrices[schedule[step]]
        if margin_train is not None:
            train.set_base_margin(margin_train)
            test.set_base_margin(margin_test)
        booster = xgb.train(params, train, num_boost_round=rounds_per_call)
        for key, value in booster.get_score(importance_type="total_gain").items():
            gain[order[int(key[1:])]] += value  # numpy input: features are named f0, f1, ...
        margin_train = booster.predict(train, output_margin=True)
        margin_test = booster.predict(test, output_margin=True)
    if kind == "continuous":
        predicted_train, predicted_test = margin_train, margin_test
    elif n_classes == 2:
        predicted_train, predicted_test = (margin_train > 0).astype(np.int64), (margin_test > 0).astype(np.int64)
    else:
        predicted_train = np.argmax(margin_train.reshape(len(x_train), -1), axis=1)
        predicted_test = np.argmax(margin_test.reshape(len(x_test), -1), axis=1)
    total = gain.sum()
    # Normalized to sum 1 per factor, like sklearn's feature_importances_ (no split at all: zeros).
    return (gain / total if total > 0 else gain), predicted_train, predicted_test


def _fit_numba(kind, x_train32, sorted_columns, y_train, x_test32, seed, n_estimators, max_depth, learning_rate, n_classes):
    """sklearn's gradient boosting re-implemented (`dismetrics._kernels.boosting`); returns
    (importance, train prediction, test prediction) like `_fit_xgboost`."""
    from .._kernels.boosting import boost_classifier, boost_regressor, n_tree_nodes

    trees_per_stage = 1 if kind == "continuous" or n_classes == 2 else n_classes
    # Random keys that decide exact ties between features (sklearn: the random feature order per node).
    keys = np.random.default_rng(seed).random((n_estimators, trees_per_stage, n_tree_nodes(max_depth), x_train32.shape[1]))
    if kind == "continuous":
        return boost_regressor(x_train32, *sorted_columns, np.asarray(y_train, dtype=np.float64), x_test32, n_estimators,
                               float(learning_rate), max_depth, keys)
    importance, raw_train, raw_test = boost_classifier(x_train32, *sorted_columns, np.asarray(y_train, dtype=np.int64), int(n_classes),
                                                       x_test32, n_estimators, float(learning_rate), max_depth, keys)
    if n_classes == 2:  # sklearn: class 1 where the raw prediction is >= 0
        return importance, (raw_train[:, 0] >= 0).astype(np.int64), (raw_test[:, 0] >= 0).astype(np.int64)
    return importance, np.argmax(raw_train, axis=1), np.argmax(raw_test, axis=1)


def _regression_scores(y, prediction) -> tuple[float, float]:
    """(R^2, mean squared error); R^2 is 0 for a constant target predicted exactly, -inf never."""
    error = float(np.mean((y - prediction) ** 2))
    variance = float(np.var(y))
    r2 = 1.0 - error / variance if variance > 0 else (1.0 if error == 0 else 0.0)
    return r2, error


def dci(codes, factors, *, codes_test=None, factors_test=None, backend: str = "numba",
        factor_types="discrete", n_estimators: int = 100, max_depth: int = 3, learning_rate: float = 0.1,
        tie_break: str = "random", n_jobs=None, random_state=0) -> MetricResult:
    r"""DCI disentanglement, completeness and informativeness.

    Per factor $v_k$ a gradient-boosted tree predictor is trained on all code dims (training
    split); the importance of code $z_i$ for it is $R_{ik}$ (normalized to sum 1 per
    factor). D and C are the entropy scores of
    [`importance_entropy_scores`][dismetrics.metrics.dci.importance_entropy_scores]; informativeness is the
    mean accuracy over factors on the test split (and on the training split).

    Backends (docs/dci.md gives the fidelity study behind the default):

    - `"numba"` (default): sklearn's gradient-boosting algorithm, re-implemented in numba
      (`dismetrics._kernels.boosting`): the same trees (exact thresholds, squared-error splits on
      the negative gradient, depth 3), the same Newton leaf values, learning rate, initial log prior
      and impurity importance as `GradientBoostingClassifier()`, grown level by level from one sort
      per code dim, one thread per factor (`n_jobs`). It gives the reference's trees up to exact ties
      between code dims, which both break at random (sklearn by its per-node feature order, we by
      seeded random keys), and rounding in the last bits. Within 0.004 of the reference on D and C on
      every case of the fidelity study; 33x faster than the reference at 10,000 / 5,000 points on 2 cores.
    - `"sklearn"`: `GradientBoostingClassifier` with sklearn's defaults (100 trees, depth 3,
      learning rate 0.1), importance `feature_importances_` (impurity based): the reference
      computation of disentanglement_lib, except that `random_state` is passed down (the reference
      set no seed, so its numbers move slightly between runs).
    - `"xgboost"`: xgboost boosting of the reference capacity (100 rounds, depth 3, learning rate
      0.1; `multi:softprob` / `binary:logistic` / `reg:squarederror`; no L2 penalty on the
      leaves and `min_child_weight=1e-3`), `tree_method="hist"` (256 bins), `n_jobs` threads,
      seeded; importance is the total gain of each feature. Its second-order split gain and its
      binning move D and C up to 0.065 from the reference (docs/dci.md), so it is an option, not the
      default. `tie_break="random"` (default) presents the code dims in a new random order every
      round, so equal-gain splits (duplicated dims) are shared between the tied dims as in sklearn;
      `"first"` is xgboost's plain behaviour (the lowest index always wins a tie).

    Continuous factors (`factor_types="continuous"` or a per-factor list): a regressor instead of
    a classifier (`XGBRegressor` / `GradientBoostingRegressor`), informativeness is R^2 and the
    error its mean squared error.

    Labels: xgboost needs contiguous class labels, so each factor's training values are mapped to
    0..m-1 in sorted order and the test values through the same map. A test value never seen in
    training cannot be predicted by any classifier trained on that split; it counts as a
    misclassification (as with sklearn), and `details["n_test_unseen"]` counts such points.

    Without `codes_test`/`factors_test` the sample is split at random 2/3 train : 1/3 test
    (the reference uses 10,000 train and 5,000 test points); `params["split"]` says which.

    D and C are in [0, 1]. Scale: the trees see the codes in float32 and never split between values
    less than 1e-7 apart (as scikit-learn's), so D, C and I are invariant to a positive rescaling of a
    dim while the differences that matter stay above 1e-7. Codes beyond the float32 range
    (|z| > 3.4e38, which scikit-learn refuses) and codes that vary but whose every dim varies by less
    than 1e-7 (no tree could split) raise `ValueError`. A discrete factor may take at most 1,000
    values ([`dismetrics._validation.MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]); the numba kernel's
    tie-break keys (`n_estimators` x classes x tree nodes x dims) may take at most 2 GiB.

    Returns
    -------
    MetricResult
        `value`: disentanglement D. `details`: `disentanglement`, `completeness`,
        `informativeness_test`, `informativeness_train` (means over factors),
        `importance_matrix` (d, K), `disentanglement_per_code` (d), `code_weights` (d),
        `completeness_per_factor` (K), `factor_weights` (K), `informativeness_test_per_factor`,
        `informativeness_train_per_factor` (accuracy, or R^2 for continuous factors),
        `test_error_per_factor` (1 - accuracy, or MSE), `n_test_unseen` (K).
    """
    check_choice(backend, name="backend", choices=BACKENDS)
    check_choice(tie_break, name="tie_break", choices=TIE_BREAKS)
    n_estimators = check_positive_int(n_estimators, name="n_estimators")
    max_depth = check_positive_int(max_depth, name="max_depth")
    if not (isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}.")
    jobs = _resolve_n_jobs(n_jobs)
    rng = check_random_state(random_state)
    model_seed = int(rng.integers(0, 2**31 - 1))
    n_factors = np.asarray(factors).shape[1] if np.ndim(factors) == 2 else None
    types = check_factor_types(factor_types, n_factors) if n_factors is not None else None
    split = split_for_predictors(codes, factors, codes_test, factors_test, rng=rng, factor_types=types)
    x_train, x_test = split.codes_train, split.codes_test
    d, k_count = x_train.shape[1], split.factors_train.shape[1]
    why = "casts them to float32 for its trees, as scikit-learn does (which refuses such values)"
    check_float32_range(x_train, name="codes", metric="DCI", why=why)
    check_float32_range(x_test, name="codes_test" if codes_test is not None else "codes", metric="DCI", why=why)
    discrete = [k for k in range(k_count) if types[k] == "discrete"]
    check_cardinality(split.factors_train, metric="DCI", columns=discrete,
                      why="grows one tree per value in every boosting stage", where=split.training_part)
    if backend == "numba":
        from .._kernels.boosting import n_tree_nodes

        classes = max([int(np.unique(split.factors_train[:, k]).size) for k in discrete], default=1)
        trees_per_stage = 1 if classes <= 2 else classes
        nodes = n_tree_nodes(max_depth) if max_depth < 64 else 2**64
        check_workspace(8 * n_estimators * trees_per_stage * nodes * d,
                        what=f"the tie-break keys of DCI's boosting kernel ({n_estimators} stages x {trees_per_stage} trees "
                             f"x {nodes:,} nodes x {d} dims)",
                        advice="Use fewer n_estimators or a smaller max_depth (the reference: 100 and 3), fewer code dims, "
                               "or factors with fewer values.")

    importance = np.zeros((d, k_count))
    train_score = np.zeros(k_count)
    test_score = np.zeros(k_count)
    test_error = np.zeros(k_count)
    unseen = np.zeros(k_count, dtype=np.int64)
    targets = []
    for k in range(k_count):
        if types[k] == "discrete":
            y_train, y_test, _ = encode_with_training_labels(split.factors_train[:, k], split.factors_test[:, k])
            unseen[k] = int(np.sum(y_test < 0))
        else:
            y_train, y_test = split.factors_train[:, k], split.factors_test[:, k]
        targets.append((types[k], y_train, y_test, int(y_train.max()) + 1 if types[k] == "discrete" else 0))

    if backend == "numba":
        from .._kernels.boosting import sort_columns

        # sklearn casts the samples to float32 before growing its trees; so do we.
        x_train32 = np.ascontiguousarray(x_train, dtype=np.float32)
        x_test32 = np.ascontiguousarray(x_test, dtype=np.float32)
        check_tree_resolution(x_train32, x_train, name="codes", metric="DCI")
        sorted_columns = sort_columns(x_train32)

        def fit(k):
            kind, y_train, _, n_classes = targets[k]
            return _fit_numba(kind, x_train32, sorted_columns, y_train, x_test32, model_seed + k, n_estimators,
                              max_depth, learning_rate, n_classes)
    elif backend == "sklearn":
        check_tree_resolution(np.asarray(x_train, dtype=np.float32), x_train, name="codes", metric="DCI")

        def fit(k):
            kind, y_train, _, _ = targets[k]
            model, factor_importance = _fit_sklearn(kind, x_train, y_train, model_seed, n_estimators, max_depth, learning_rate)
            return factor_importance, model.predict(x_train), model.predict(x_test)
    else:
        # xgboost's quantile bins see any two distinct float32 values (no 1e-7 resolution).
        check_tree_resolution(np.asarray(x_train, dtype=np.float32), x_train, name="codes", metric="DCI", resolution=0.0)

        def fit(k):
            kind, y_train, _, n_classes = targets[k]
            return _fit_xgboost(kind, x_train, y_train, x_test, model_seed, n_estimators, max_depth, learning_rate, jobs,
                                tie_break, n_classes)

    if backend == "numba" and jobs > 1 and k_count > 1:
        # The factors are independent fits of a kernel that releases the GIL: one thread each, the
        # largest first; every fit is seeded on its own, so the result does not depend on n_jobs.
        from concurrent.futures import ThreadPoolExecutor

        largest_first = sorted(range(k_count), key=lambda k: -max(targets[k][3], 2))
        with ThreadPoolExecutor(max_workers=min(jobs, k_count)) as pool:
            fitted = dict(zip(largest_first, pool.map(fit, largest_first)))
    else:
        fitted = {k: fit(k) for k in range(k_count)}

    for k in range(k_count):
        kind, y_train, y_test, _ = targets[k]
        importance[:, k], predicted_train, predicted_test = fitted[k]
        if kind == "discrete":
            train_score[k] = float(np.mean(predicted_train == y_train))
            test_score[k] = float(np.mean(predicted_test == y_test))
            test_error[k] = 1.0 - test_score[k]
        else:
            train_score[k] = _regression_scores(y_train, predicted_train)[0]
            test_score[k], test_error[k] = _regression_scores(y_test, predicted_test)

    scores = importance_entropy_scores(importance)
    details = {
        "disentanglement": scores["disentanglement"],
        "completeness": scores["completeness"],
        "informativeness_test": float(np.mean(test_score)),
        "informativeness_train": float(np.mean(train_score)),
        "importance_matrix": importance,
        "disentanglement_per_code": scores["disentanglement_per_code"],
        "code_weights": scores["code_weights"],
        "completeness_per_factor": scores["completeness_per_factor"],
        "factor_weights": scores["factor_weights"],
        "informativeness_test_per_factor": test_score,
        "informativeness_train_per_factor": train_score,
        "test_error_per_factor": test_error,
        "n_test_unseen": unseen,
    }
    params = {
        "backend": backend,
        "n_estimators": n_estimators,
        "max_depth": max_depth,
        "learning_rate": float(learning_rate),
        "importance": "total_gain" if backend == "xgboost" else "impurity (feature_importances_)",
        "tie_break": tie_break if backend == "xgboost" else (
            "random (sklearn shuffles features per node)" if backend == "sklearn" else "random (seeded keys per node)"),
        "factor_types": list(types),
        "random_state": random_state if not isinstance(random_state, np.random.Generator) else "Generator",
        "model_seed": model_seed,
        "n_jobs": 1 if backend == "sklearn" else jobs,
        **split.params,
    }
    return MetricResult(name="dci", value=scores["disentanglement"], details=details, params=params)
