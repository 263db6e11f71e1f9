"""DCI: disentanglement, completeness, informativeness (Eastwood and Williams, ICLR 2018).

One gradient-boosted tree predictor per factor, on all code dims; the feature importances form the
(d, K) importance matrix R from which D and C are entropies; I is the predictors' accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._parallel import resolve_n_jobs
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
from .registry import MetricSpec, register_metric
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


# ---- predictors: one interface, three backends -----------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """One factor as a predictor's target: its type, its training and test values (discrete factors
    as labels 0..m-1 of the training values, -1 for a test value never seen in training), its classes."""

    kind: str
    train: np.ndarray
    test: np.ndarray
    n_classes: int  # 0 for a continuous factor


@dataclass(frozen=True)
class _Boosting:
    """The boosting settings every backend receives."""

    n_estimators: int
    max_depth: int
    learning_rate: float
    n_jobs: int
    tie_break: str
    seed: int


class _Backend:
    """A DCI predictor backend: built once on the split's codes (checks and shared preprocessing), then
    `fit(k, target)` trains the predictor of factor k and returns `(importance (d,), predicted train,
    predicted test)`, the importance normalized to sum 1 (all zeros when no tree split)."""

    name = ""
    importance = "impurity (feature_importances_)"
    tie_break = ""

    def __init__(self, x_train: np.ndarray, x_test: np.ndarray, targets: list[_Target], settings: _Boosting):
        self.x_train, self.x_test, self.settings = x_train, x_test, settings

    def fit(self, k: int, target: _Target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit_all(self, targets: list[_Target], n_jobs: int) -> list[tuple]:
        """`fit` of every factor, in factor order (a backend whose kernel releases the GIL shares threads)."""
        return [self.fit(k, target) for k, target in enumerate(targets)]


class _NumbaBackend(_Backend):
    """sklearn's gradient boosting re-implemented (`dismetrics._kernels.boosting`), one seed per factor."""

    name = "numba"
    tie_break = "random (seeded keys per node)"

    def __init__(self, x_train, x_test, targets, settings):
        from .._kernels.boosting import n_tree_nodes, sort_columns

        classes = max([t.n_classes for t in targets if t.kind == "discrete"], default=1)
        trees_per_stage = 1 if classes <= 2 else classes
        nodes = n_tree_nodes(settings.max_depth) if settings.max_depth < 64 else 2**64
        check_workspace(8 * settings.n_estimators * trees_per_stage * nodes * x_train.shape[1],
                        what=f"the tie-break keys of DCI's boosting kernel ({settings.n_estimators} stages x "
                             f"{trees_per_stage} trees x {nodes:,} nodes x {x_train.shape[1]} dims)",
                        advice="Use fewer n_estimators or a smaller max_depth (the reference: 100 and 3), fewer code dims, "
                               "or factors with fewer values.")
        # sklearn casts the samples to float32 before growing its trees; so do we.
        super().__init__(np.ascontiguousarray(x_train, dtype=np.float32), np.ascontiguousarray(x_test, dtype=np.float32),
                         targets, settings)
        check_tree_resolution(self.x_train, x_train, name="codes", metric="DCI")
        self.sorted_columns = sort_columns(self.x_train)  # one sort per code dim, shared by every fit

    def _keys(self, k: int, target: _Target) -> np.ndarray:
        """Random keys that decide exact ties between features (sklearn: the random feature order per node)."""
        from .._kernels.boosting import n_tree_nodes

        s = self.settings
        trees_per_stage = 1 if target.kind == "continuous" or target.n_classes == 2 else target.n_classes
        return np.random.default_rng(s.seed + k).random((s.n_estimators, trees_per_stage, n_tree_nodes(s.max_depth),
                                                         self.x_train.shape[1]))

    def fit_all(self, targets: list[_Target], n_jobs: int) -> list[tuple]:
        """Every factor's fit, the stages of all of them shared by `n_jobs` threads
        (`dismetrics._kernels.boosting_threads`): the numbers of one fit after the other, bit for bit."""
        from .._kernels.boosting_threads import ClassifierFit, RegressorFit, SharedSamples, run_fits

        s = self.settings
        samples = SharedSamples(self.x_train, self.sorted_columns, self.x_test)
        fits = [RegressorFit(samples, np.asarray(t.train, dtype=np.float64), s.n_estimators, float(s.learning_rate),
                             s.max_depth, self._keys(k, t)) if t.kind == "continuous" else
                ClassifierFit(samples, np.asarray(t.train, dtype=np.int64), int(t.n_classes), s.n_estimators,
                              float(s.learning_rate), s.max_depth, self._keys(k, t))
                for k, t in enumerate(targets)]
        run_fits(fits, n_jobs)
        return [self._predictions(t, *fit.result()) for t, fit in zip(targets, fits)]

    def fit(self, k, target):
        from .._kernels.boosting import boost_classifier, boost_regressor

        s = self.settings
        keys = self._keys(k, target)
        if target.kind == "continuous":
            return boost_regressor(self.x_train, self.sorted_columns, np.asarray(target.train, dtype=np.float64),
                                   self.x_test, s.n_estimators, float(s.learning_rate), s.max_depth, keys)
        return self._predictions(target, *boost_classifier(
            self.x_train, self.sorted_columns, np.asarray(target.train, dtype=np.int64), int(target.n_classes),
            self.x_test, s.n_estimators, float(s.learning_rate), s.max_depth, keys))

    @staticmethod
    def _predictions(target: _Target, importance, raw_train, raw_test) -> tuple:
        """(importance, predicted train, predicted test) from a fit's raw predictions."""
        if target.kind == "continuous":
            return importance, raw_train, raw_test
        if target.n_classes == 2:  # sklearn: class 1 where the raw prediction is >= 0
            return importance, (raw_train[:, 0] >= 0).astype(np.int64), (raw_test[:, 0] >= 0).astype(np.int64)
        return importance, np.argmax(raw_train, axis=1), np.argmax(raw_test, axis=1)


class _SklearnBackend(_Backend):
    """`GradientBoostingClassifier` / `Regressor`: disentanglement_lib's computation, seeded."""

    name = "sklearn"
    tie_break = "random (sklearn shuffles features per node)"

    def __init__(self, x_train, x_test, targets, settings):
        check_tree_resolution(np.asarray(x_train, dtype=np.float32), x_train, name="codes", metric="DCI")
        super().__init__(x_train, x_test, targets, settings)

    def fit(self, k, target):
        from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

        s = self.settings
        model_type = GradientBoostingClassifier if target.kind == "discrete" else GradientBoostingRegressor
        # The reference builds GradientBoostingClassifier() with sklearn's defaults and no seed; the
        # defaults are named here (100 trees, depth 3, learning rate 0.1) and the seed passed down.
        model = model_type(n_estimators=s.n_estimators, max_depth=s.max_depth, learning_rate=s.learning_rate,
                           random_state=s.seed)
        model.fit(self.x_train, target.train)
        return np.abs(model.feature_importances_), model.predict(self.x_train), model.predict(self.x_test)


class _XGBoostBackend(_Backend):
    """xgboost `hist` boosting of the reference capacity; importance: total gain, normalized."""

    name = "xgboost"
    importance = "total_gain"

    def __init__(self, x_train, x_test, targets, settings):
        # xgboost's quantile bins see any two distinct float32 values (no 1e-7 resolution).
        check_tree_resolution(np.asarray(x_train, dtype=np.float32), x_train, name="codes", metric="DCI", resolution=0.0)
        super().__init__(x_train, x_test, targets, settings)
        self.tie_break = settings.tie_break

    def fit(self, k, target):
        """Boost `n_estimators` rounds; with `tie_break="random"` the code columns are presented in a
        fresh random order every round (boosting continues from the previous margin), so when two code
        dims give the same split gain the winner is random, as in sklearn's trees (which shuffle the
        features at every node), instead of always the lower index."""
        import xgboost as xgb

        s = self.settings
        if target.kind == "continuous":
            params = {"objective": "reg:squarederror"}
        elif target.n_classes == 2:
            params = {"objective": "binary:logistic"}
        else:
            params = {"objective": "multi:softprob", "num_class": int(target.n_classes)}
        # sklearn's trees have no L2 penalty on leaf values and split down to one sample per leaf;
        # xgboost's defaults (lambda=1, min_child_weight=1: a hessian sum >= 1 per child, i.e. ~40 points
        # per child for a 40-class softmax) would give a smaller capacity. Unregularized Newton leaves
        # (lambda=0) and a tiny min_child_weight match the reference's capacity (docs/dci.md).
        params.update(max_depth=s.max_depth, eta=s.learning_rate, tree_method="hist", nthread=s.n_jobs, seed=s.seed,
                      reg_lambda=XGB_REG_LAMBDA, min_child_weight=XGB_MIN_CHILD_WEIGHT, verbosity=0)
        x_train, x_test = self.x_train, self.x_test
        d = x_train.shape[1]
        rng = np.random.default_rng(s.seed)
        if s.tie_break == "random":
            # A pool of column orders, each with its DMatrix built once (xgboost caches the histogram
            # index in it); every round draws one order from the pool.
            orders = [rng.permutation(d) for _ in range(min(ORDER_POOL, s.n_estimators))]
            schedule = rng.integers(0, len(orders), size=s.n_estimators)
            rounds_per_call = 1
        else:
            orders, schedule, rounds_per_call = [np.arange(d)], np.zeros(1, dtype=np.int64), s.n_estimators
        matrices = [(xgb.DMatrix(x_train[:, order], label=target.train, nthread=s.n_jobs),
                     xgb.DMatrix(x_test[:, order], nthread=s.n_jobs)) for order in orders]
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
        if target.kind == "continuous":
            predicted_train, predicted_test = margin_train, margin_test
        elif target.n_classes == 2:
            predicted_train, predicted_test = (margin_train > 0).astype(np.int64), (margin_test > 0).astype(np.int64)
        else:
            predicted_train = np.argmax(margin_train.reshape(len(x_train), -1), axis=1)
            predicted_test = np.argmax(margin_test.reshape(len(x_test), -1), axis=1)
        total = gain.sum()
        # Normalized to sum 1 per factor, like sklearn's feature_importances_ (no split at all: zeros).
        return (gain / total if total > 0 else gain), predicted_train, predicted_test


_BACKEND_TYPES = {"numba": _NumbaBackend, "xgboost": _XGBoostBackend, "sklearn": _SklearnBackend}


def _check_settings(backend, tie_break, n_estimators, max_depth, learning_rate, n_jobs) -> tuple[int, int, int]:
    check_choice(backend, name="backend", choices=BACKENDS)
    check_choice(tie_break, name="tie_break", choices=TIE_BREAKS)
    n_estimators = check_positive_int(n_estimators, name="n_estimators")
    max_depth = check_positive_int(max_depth, name="max_depth")
    if not (isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}.")
    return n_estimators, max_depth, resolve_n_jobs(n_jobs)


def _check_split(split, types, codes_test) -> None:
    why = "casts them to float32 for its trees, as scikit-learn does (which refuses such values)"
    check_float32_range(split.codes_train, name="codes", metric="DCI", why=why)
    check_float32_range(split.codes_test, name="codes_test" if codes_test is not None else "codes", metric="DCI", why=why)
    check_cardinality(split.factors_train, metric="DCI", columns=[k for k, t in enumerate(types) if t == "discrete"],
                      why="grows one tree per value in every boosting stage", where=split.training_part)


def _targets(split, types) -> list[_Target]:
    targets = []
    for k, kind in enumerate(types):
        if kind == "discrete":
            y_train, y_test, _ = encode_with_training_labels(split.factors_train[:, k], split.factors_test[:, k])
            targets.append(_Target(kind, y_train, y_test, int(y_train.max()) + 1))
        else:
            targets.append(_Target(kind, split.factors_train[:, k], split.factors_test[:, k], 0))
    return targets


def _regression_scores(y, prediction) -> tuple[float, float]:
    """(R^2, mean squared error); R^2 is 0 for a constant target predicted exactly, -inf never."""
    error = float(np.mean((y - prediction) ** 2))
    variance = float(np.var(y))
    r2 = 1.0 - error / variance if variance > 0 else (1.0 if error == 0 else 0.0)
    return r2, error


def _factor_scores(target: _Target, predicted_train, predicted_test) -> tuple[float, float, float]:
    """(train score, test score, test error): accuracy and 1 - accuracy, or R^2, R^2 and the MSE."""
    if target.kind == "discrete":
        test = float(np.mean(predicted_test == target.test))
        return float(np.mean(predicted_train == target.train)), test, 1.0 - test
    return (_regression_scores(target.train, predicted_train)[0], *_regression_scores(target.test, predicted_test))


def _dci_result(fits, targets, backend: _Backend, types, random_state, split) -> MetricResult:
    importance = np.column_stack([np.asarray(fit[0], dtype=np.float64) for fit in fits])
    train_score, test_score, test_error = (np.array(column) for column in
                                           zip(*[_factor_scores(t, fit[1], fit[2]) for t, fit in zip(targets, fits)]))
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
        "n_test_unseen": np.array([int(np.sum(t.test < 0)) if t.kind == "discrete" else 0 for t in targets], dtype=np.int64),
    }
    s = backend.settings
    params = {
        "backend": backend.name,
        "n_estimators": s.n_estimators,
        "max_depth": s.max_depth,
        "learning_rate": float(s.learning_rate),
        "importance": backend.importance,
        "tie_break": backend.tie_break,
        "factor_types": list(types),
        "random_state": random_state if not isinstance(random_state, np.random.Generator) else "Generator",
        "model_seed": s.seed,
        "n_jobs": 1 if backend.name == "sklearn" else s.n_jobs,
        **split.params,
    }
    return MetricResult(name="dci", value=scores["disentanglement"], details=details, params=params)


def dci(codes, factors, *, codes_test=None, factors_test=None, backend: str = "numba",
        factor_types="discrete", n_estimators: int = 100, max_depth: int = 3, learning_rate: float = 0.1,
        tie_break: str = "random", n_jobs=None, random_state=0) -> MetricResult:
    r"""DCI disentanglement, completeness and informativeness (Eastwood and Williams, 2018).

    Per factor $v_k$ a gradient-boosted tree predictor is trained on all code dims (training
    split); the importance of code $z_i$ for it is $R_{ik}$ (normalized to sum 1 per
    factor). D and C are the entropy scores of
    [`importance_entropy_scores`][dismetrics.metrics.dci.importance_entropy_scores]; informativeness is the
    mean accuracy over factors on the test split (and on the training split). Every backend is one object
    with the same interface (`fit` of one factor -> importance (d,), predicted train, predicted test), so
    the scores around it are computed once for all of them.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The codes (finite; at most 3.4e38 in absolute value, the float32 range).
    factors : array-like of shape (n, K)
        The ground-truth factors: integer labels for discrete factors (at most 1,000 values each),
        numbers for continuous ones.
    codes_test, factors_test : array-like of shape (n_test, d) and (n_test, K), optional
        A held-out sample for informativeness. Without them the sample is split at random 2/3 train :
        1/3 test (the reference uses 10,000 train and 5,000 test points); `params["split"]` says which.
    backend : {"numba", "sklearn", "xgboost"}, default "numba"
        - `"numba"`: sklearn's gradient-boosting algorithm re-implemented in numba
          (`dismetrics._kernels.boosting`): the same trees (exact thresholds, squared-error splits on
          the negative gradient, depth 3), the same Newton leaf values, learning rate, initial log prior
          and impurity importance as `GradientBoostingClassifier()`, grown level by level from one sort
          per code dim; the trees of a stage (one per class) shared by `n_jobs` threads. It gives the
          reference's trees up to exact ties between code dims, which both break at random (sklearn by
          its per-node feature order, we by seeded random keys), and rounding in the last bits: within 0.004 of the reference on D and C
          on every case of the fidelity study (docs/dci.md).
        - `"sklearn"`: `GradientBoostingClassifier` with sklearn's defaults (100 trees, depth 3,
          learning rate 0.1), importance `feature_importances_` (impurity based): the reference
          computation of disentanglement_lib, except that `random_state` is passed down (the reference
          set no seed, so its numbers move slightly between runs).
        - `"xgboost"`: xgboost boosting of the reference capacity (`multi:softprob` /
          `binary:logistic` / `reg:squarederror`; no L2 penalty on the leaves and
          `min_child_weight=1e-3`), `tree_method="hist"` (256 bins), seeded; importance is the total
          gain of each feature. Its second-order split gain and its binning move D and C up to 0.065
          from the reference (docs/dci.md), so it is an option, not the default.
    factor_types : {"discrete", "continuous"} or sequence of those, default "discrete"
        One for all factors or one per factor. A continuous factor gets a regressor
        (`GradientBoostingRegressor` or its equivalent): its informativeness is R^2 and its error the
        mean squared error.
    n_estimators : int, default 100
        Boosting stages (the reference: sklearn's default, 100).
    max_depth : int, default 3
        Depth of each tree.
    learning_rate : float, default 0.1
        Shrinkage of each stage.
    tie_break : {"random", "first"}, default "random"
        xgboost only: `"random"` presents the code dims in a new random order every round, so
        equal-gain splits (duplicated dims) are shared between the tied dims as in sklearn; `"first"` is
        xgboost's plain behaviour (the lowest index always wins a tie).
    n_jobs : int or None, default None
        Threads (scikit-learn's meaning, see `dismetrics._parallel.resolve_n_jobs`): the numba
        backend shares every factor's stages between that many threads (a stage's trees are independent
        given its probabilities), xgboost uses them inside each fit; sklearn runs serially. The result
        does not depend on it, bit for bit.
    random_state : int, numpy.random.Generator or None, default 0
        Seeds the random split and the predictors (`params["model_seed"]`).

    Returns
    -------
    MetricResult
        `value`: disentanglement D, in [0, 1]. `details`: `disentanglement`, `completeness`,
        `informativeness_test`, `informativeness_train` (means over factors),
        `importance_matrix` (d, K), `disentanglement_per_code` (d), `code_weights` (d),
        `completeness_per_factor` (K), `factor_weights` (K), `informativeness_test_per_factor`,
        `informativeness_train_per_factor` (accuracy, or R^2 for continuous factors),
        `test_error_per_factor` (1 - accuracy, or MSE), `n_test_unseen` (K: test values never seen in
        training, which no classifier trained on that split can predict; they count as errors).

    Raises
    ------
    ValueError
        For an unknown backend or tie break, non-positive sizes, codes beyond the float32 range, codes
        that vary but whose every dim varies by less than 1e-7 (no tree could split; the trees see the
        codes in float32 and never split between values less than 1e-7 apart, as scikit-learn's, so D, C
        and I are invariant to a positive rescaling while the differences that matter stay above 1e-7),
        a discrete factor with more than 1,000 values
        ([`MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]), or numba tie-break keys
        (`n_estimators` x classes x tree nodes x dims) beyond 2 GiB.

    References
    ----------
    C. Eastwood and C. K. I. Williams, "A framework for the quantitative evaluation of disentangled
    representations", ICLR 2018. Reference code: google-research/disentanglement_lib,
    `disentanglement_lib/evaluation/metrics/dci.py` (`compute_importance_gbt`, `disentanglement`,
    `completeness`).

    Examples
    --------
    Dims 0 and 1 each carry one factor, dim 2 is noise: D = C = I = 1. Rotating dims 0 and 1 by 45
    degrees mixes the factors: each factor now needs both dims, D and C drop, I stays high:

    >>> import numpy as np
    >>> from dismetrics import dci
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 3, size=(300, 2))
    >>> codes = np.c_[factors + 0.1 * rng.normal(size=(300, 2)), rng.normal(size=300)]
    >>> result = dci(codes, factors, n_estimators=20)
    >>> print(round(result.value, 2), round(result.details["completeness"], 2),
    ...       round(result.details["informativeness_test"], 2))
    1.0 1.0 1.0
    >>> mixed = np.c_[codes[:, 0] + codes[:, 1], codes[:, 0] - codes[:, 1], codes[:, 2]]
    >>> result = dci(mixed, factors, n_estimators=20)
    >>> print(round(result.value, 2), round(result.details["completeness"], 2),
    ...       round(result.details["informativeness_test"], 2))
    0.01 0.36 0.97
    """
    n_estimators, max_depth, jobs = _check_settings(backend, tie_break, n_estimators, max_depth, learning_rate, n_jobs)
    rng = check_random_state(random_state)
    model_seed = int(rng.integers(0, 2**31 - 1))
    n_factors = np.asarray(factors).shape[1] if np.ndim(factors) == 2 else None
    types = check_factor_types(factor_types, n_factors) if n_factors is not None else None
    split = split_for_predictors(codes, factors, codes_test, factors_test, rng=rng, factor_types=types)
    _check_split(split, types, codes_test)
    targets = _targets(split, types)
    settings = _Boosting(n_estimators, max_depth, learning_rate, jobs, tie_break, model_seed)
    fitter = _BACKEND_TYPES[backend](split.codes_train, split.codes_test, targets, settings)
    return _dci_result(fitter.fit_all(targets, jobs), targets, fitter, types, random_state, split)


SPEC = register_metric(MetricSpec(
    name="dci",
    func=dci,
    kind="sample",
    title="DCI disentanglement",
    takes_test=True,
    random=True,
    factor_types=("discrete", "continuous"),
    value_range=(0.0, 1.0),
    direction="higher",
    reference="Eastwood & Williams 2018; disentanglement_lib dci.py",
    docs="dci.md",
))
