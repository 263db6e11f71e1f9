"""Downstream-task scores (disentanglement_lib `evaluation/metrics/downstream_task.py`) against the
source computation written out with scikit-learn, plus invariances and bad input."""

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from dismetrics.metrics.downstream_task import downstream_boosted_trees, downstream_logistic_regression, downstream_task
from dismetrics.metrics.registry import get_metric

module = importlib.import_module("dismetrics.metrics.downstream_task")  # the package attribute is the function


def _sample(seed, n, n_test, d=4, sizes=(3, 4)):
    rng = np.random.default_rng(seed)
    factors = np.column_stack([rng.integers(0, m, n + n_test) for m in sizes])
    mixing = rng.standard_normal((len(sizes), d))
    codes = factors @ mixing + 0.7 * rng.standard_normal((n + n_test, d))
    return codes[:n], factors[:n], codes[n:], factors[n:]


def _reference_accuracies(codes, factors, codes_test, factors_test, sizes, make_model):
    """disentanglement_lib's `_compute_loss` for each size: the first `size` training points, one model per factor."""
    train, test = [], []
    for size in sizes:
        x, y = codes[:size], factors[:size]
        row_train, row_test = [], []
        for k in range(factors.shape[1]):
            model = make_model(k)
            with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
                warnings.simplefilter("ignore")
                model.fit(x, y[:, k])
            row_train.append(np.mean(model.predict(x) == y[:, k]))
            row_test.append(np.mean(model.predict(codes_test) == factors_test[:, k]))
        train.append(row_train)
        test.append(row_test)
    return np.array(train), np.array(test)


def test_logistic_regression_equals_the_source_computation():
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    codes, factors, codes_test, factors_test = _sample(0, 80, 60, d=3, sizes=(3, 2))
    sizes = (15, 80)
    result = downstream_logistic_regression(codes, factors, codes_test=codes_test, factors_test=factors_test,
                                            train_sizes=sizes, shuffle=False)
    train, test = _reference_accuracies(codes, factors, codes_test, factors_test, sizes,
                                        lambda k: LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5), scoring="accuracy"))
    np.testing.assert_allclose(result.details["test_accuracy_per_factor"], test, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.details["train_accuracy_per_factor"], train, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.details["mean_test_accuracy"], test.mean(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.details["min_test_accuracy"], test.min(axis=1), rtol=0, atol=1e-12)
    assert result.value == pytest.approx(test[-1].mean(), abs=1e-12)
    assert result.name == "downstream_logistic_regression"


def test_boosted_trees_sklearn_backend_equals_the_source_computation():
    from sklearn.ensemble import GradientBoostingClassifier

    codes, factors, codes_test, factors_test = _sample(1, 120, 80, sizes=(2, 3))
    sizes = (30, 120)
    result = downstream_boosted_trees(codes, factors, codes_test=codes_test, factors_test=factors_test,
                                      train_sizes=sizes, backend="sklearn", shuffle=False)
    # The reference passes no seed; ties between features (frequent in small nodes) are broken by it, so
    # the source computation gets the seed ours used for factor k.
    seed = result.params["model_seed"]
    _, test = _reference_accuracies(codes, factors, codes_test, factors_test, sizes,
                                    lambda k: GradientBoostingClassifier(random_state=seed + k))
    np.testing.assert_allclose(result.details["test_accuracy_per_factor"], test, rtol=0, atol=1e-12)


def test_boosted_trees_numba_backend_agrees_with_sklearn():
    codes, factors, codes_test, factors_test = _sample(2, 150, 100, sizes=(2, 4))
    kwargs = dict(codes_test=codes_test, factors_test=factors_test, train_sizes=(50, 150), shuffle=False)
    ours = downstream_boosted_trees(codes, factors, backend="numba", **kwargs)
    reference = downstream_boosted_trees(codes, factors, backend="sklearn", **kwargs)
    np.testing.assert_allclose(ours.details["test_accuracy_per_factor"],
                               reference.details["test_accuracy_per_factor"], rtol=0, atol=0.03)
    np.testing.assert_allclose(ours.details["train_accuracy_per_factor"],
                               reference.details["train_accuracy_per_factor"], rtol=0, atol=0.03)


def test_same_seed_bit_identical_and_shuffle_is_a_permutation():
    codes, factors, _, _ = _sample(3, 240, 0)
    first = downstream_boosted_trees(codes, factors, train_sizes=(10, 100), random_state=5)
    second = downstream_boosted_trees(codes, factors, train_sizes=(10, 100), random_state=5)
    np.testing.assert_array_equal(first.details["test_accuracy_per_factor"], second.details["test_accuracy_per_factor"])
    # With the whole training sample the order of the rows does not matter to the trees.
    a, b, ct, ft = _sample(4, 100, 60, sizes=(2, 3))
    shuffled = downstream_boosted_trees(a, b, codes_test=ct, factors_test=ft, train_sizes=(100,), random_state=1)
    plain = downstream_boosted_trees(a, b, codes_test=ct, factors_test=ft, train_sizes=(100,), shuffle=False)
    np.testing.assert_allclose(shuffled.details["test_accuracy_per_factor"], plain.details["test_accuracy_per_factor"],
                               atol=0.02)


def test_sizes_beyond_the_sample_are_left_out_and_recorded():
    codes, factors, codes_test, factors_test = _sample(5, 50, 30)
    result = downstream_boosted_trees(codes, factors, codes_test=codes_test, factors_test=factors_test)
    assert result.details["sizes"] == [10]
    assert result.details["sizes_left_out"] == [100, 1000, 10000]
    assert result.params["train_sizes"] == [10]
    with pytest.raises(ValueError, match="fewer than the smallest"):
        downstream_boosted_trees(codes[:8], factors[:8], codes_test=codes_test, factors_test=factors_test)


def test_single_class_training_set_gets_the_constant_classifier():
    codes = np.arange(40, dtype=float)[:, None] * np.ones((1, 2)) + np.random.default_rng(0).normal(size=(40, 2))
    factors = np.column_stack([np.r_[np.zeros(20, int), np.ones(20, int)], np.arange(40) % 2])
    codes_test, factors_test = codes[::2], factors[::2]
    result = downstream_task(codes, factors, codes_test=codes_test, factors_test=factors_test, train_sizes=(10,),
                             shuffle=False)
    # Factor 0 is 0 on the first ten points: the constant classifier predicts 0, right on half of the test points.
    assert result.details["test_accuracy_per_factor"][0, 0] == pytest.approx(0.5)
    assert result.details["train_accuracy_per_factor"][0, 0] == 1.0


@settings(max_examples=5)
@given(seed=st.integers(0, 2**16), permutation_seed=st.integers(0, 2**16))
def test_permuting_code_dims_and_relabeling_factor_values(seed, permutation_seed):
    codes, factors, codes_test, factors_test = _sample(seed, 90, 60, d=3, sizes=(3, 2))
    rng = np.random.default_rng(permutation_seed)
    dims = rng.permutation(codes.shape[1])
    relabel = rng.permutation(3)
    kwargs = dict(train_sizes=(90,), shuffle=False)
    base = downstream_boosted_trees(codes, factors, codes_test=codes_test, factors_test=factors_test, **kwargs)
    permuted = downstream_boosted_trees(codes[:, dims], factors, codes_test=codes_test[:, dims],
                                        factors_test=factors_test, **kwargs)
    f2, ft2 = factors.copy(), factors_test.copy()
    f2[:, 0], ft2[:, 0] = relabel[factors[:, 0]], relabel[factors_test[:, 0]]
    relabeled = downstream_boosted_trees(codes, f2, codes_test=codes_test, factors_test=ft2, **kwargs)
    # Exact ties between features (frequent in small nodes) are broken by random keys tied to the feature
    # and class positions, so permuting dims or relabeling classes can swap a tied split: the training
    # accuracy of a tied split is the same, a test point may fall on the other side.
    for other in (permuted, relabeled):
        np.testing.assert_allclose(other.details["train_accuracy_per_factor"], base.details["train_accuracy_per_factor"],
                                   atol=0.05)
        np.testing.assert_allclose(other.details["test_accuracy_per_factor"], base.details["test_accuracy_per_factor"],
                                   atol=0.1)


def test_logistic_regression_relabeling_factor_values():
    codes, factors, codes_test, factors_test = _sample(11, 80, 60, d=3, sizes=(3,))
    relabel = np.array([2, 0, 1])
    kwargs = dict(train_sizes=(80,), shuffle=False)
    original = downstream_logistic_regression(codes, factors, codes_test=codes_test, factors_test=factors_test, **kwargs)
    relabeled = downstream_logistic_regression(codes, relabel[factors], codes_test=codes_test,
                                               factors_test=relabel[factors_test], **kwargs)
    # The multinomial fit is symmetric in the labels: only a point on a decision boundary could flip.
    np.testing.assert_allclose(relabeled.details["test_accuracy_per_factor"],
                               original.details["test_accuracy_per_factor"], atol=1.5 / 60)


@settings(max_examples=6)
@given(scale=st.floats(0.01, 100.0), shift=st.floats(-50.0, 50.0))
def test_boosted_trees_invariant_to_positive_affine_maps(scale, shift):
    codes, factors, codes_test, factors_test = _sample(7, 80, 40, d=3, sizes=(2, 3))
    base = downstream_boosted_trees(codes, factors, codes_test=codes_test, factors_test=factors_test,
                                    train_sizes=(80,), shuffle=False)
    moved = downstream_boosted_trees(codes * scale + shift, factors, codes_test=codes_test * scale + shift,
                                     factors_test=factors_test, train_sizes=(80,), shuffle=False)
    # Trees split between order statistics: an increasing affine map keeps every split (float32 rounding
    # of the thresholds can move a test point that lies within rounding of a threshold).
    np.testing.assert_allclose(moved.details["test_accuracy_per_factor"], base.details["test_accuracy_per_factor"],
                               atol=1.5 / 40)


def test_bad_input_is_a_clear_value_error():
    codes, factors, codes_test, factors_test = _sample(8, 60, 30)
    with pytest.raises(ValueError, match="predictor"):
        downstream_task(codes, factors, predictor="svm")
    with pytest.raises(ValueError, match="backend"):
        downstream_boosted_trees(codes, factors, backend="xgboost")
    with pytest.raises(ValueError, match="train_sizes"):
        downstream_logistic_regression(codes, factors, train_sizes=())
    with pytest.raises(ValueError, match="repeat"):
        downstream_logistic_regression(codes, factors, train_sizes=(10, 10))
    with pytest.raises(ValueError, match="shuffle"):
        downstream_logistic_regression(codes, factors, shuffle="yes")
    with pytest.raises(ValueError, match="NaN"):
        downstream_logistic_regression(np.full_like(codes, np.nan), factors)


def test_registered_with_reference_settings():
    for name in ("downstream_logistic_regression", "downstream_boosted_trees"):
        spec = get_metric(name)
        assert spec.kind == "sample" and spec.takes_test and spec.random
        assert spec.preset_params("disentanglement_lib")["train_sizes"] == (10, 100, 1000, 10000)
        assert spec.docs == "downstream_task.md"
    assert module.REFERENCE_TRAIN_SIZES == (10, 100, 1000, 10000)


def test_numba_boosting_workspace_is_refused_before_it_is_allocated():
    rng = np.random.default_rng(0)
    factors = np.column_stack([np.arange(1000) % 500, rng.integers(0, 2, 1000)])
    codes = rng.standard_normal((1000, 1000))  # about 350 classes x 1,000 dims: 4 GiB of keys
    with pytest.raises(ValueError, match="GiB"):
        downstream_boosted_trees(codes, factors, train_sizes=(600,), backend="numba")  # its presorted keys


def test_runs_by_name_through_evaluate_codes():
    from dismetrics import evaluate_codes

    codes, factors, _, _ = _sample(9, 150, 0)
    frame = evaluate_codes(codes, factors, ["downstream_boosted_trees"], progress=False)
    assert frame["error"].iloc[0] == "" and 0.0 <= frame["value"].iloc[0] <= 1.0
