"""DCI, SAP and Explicitness (issue 4): agreement with direct sklearn computations, the closed forms
of the D/C formulas, invariances, determinism and validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dismetrics as dm
from dismetrics.metrics import SAMPLE_METRICS
from dismetrics.metrics.dci import (
    completeness_from_importance,
    disentanglement_from_importance,
    importance_entropy_scores,
)
from dismetrics.metrics.explicitness import one_vs_rest_auc
from dismetrics.metrics.sap import sap_from_matrix

from predictor_reference_impls import reference_c, reference_d, reference_dci, reference_explicitness, reference_sap


def make_sample(n=600, sizes=(3, 4, 5), noise_dims=2, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, sizes, size=(n, len(sizes)))
    codes = factors / (np.asarray(sizes) - 1.0) + noise * rng.standard_normal((n, len(sizes)))
    return np.hstack([codes, rng.standard_normal((n, noise_dims))]), factors


def make_split(seed=0, n_train=400, n_test=200, **kwargs):
    codes, factors = make_sample(n_train + n_test, seed=seed, **kwargs)
    return codes[:n_train], factors[:n_train], codes[n_train:], factors[n_train:]


# ---- D / C formulas: closed forms ---------------------------------------------------------------
# (1e-11 is added to every importance before the entropies, as in the reference: closed forms hold to ~1e-9.)

def test_diagonal_importance_gives_one():
    scores = importance_entropy_scores(np.diag([0.3, 0.5, 0.2]))
    assert scores["disentanglement"] == pytest.approx(1.0, abs=1e-8)
    assert scores["completeness"] == pytest.approx(1.0, abs=1e-8)


def test_uniform_importance_gives_zero():
    assert disentanglement_from_importance(np.ones((4, 3))) == pytest.approx(0.0, abs=1e-12)
    assert completeness_from_importance(np.ones((4, 3))) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k_count", [2, 3, 5])
def test_one_code_for_two_factors(k_count):
    # code 0 serves factors 0 and 1 equally; every other factor has its own code.
    importance = np.zeros((k_count, k_count))
    importance[0, 0] = importance[0, 1] = 1.0
    for k in range(2, k_count):
        importance[k - 1, k] = 1.0
    scores = importance_entropy_scores(importance)
    assert scores["disentanglement_per_code"][0] == pytest.approx(1 - np.log(2) / np.log(k_count), abs=1e-8)
    # factors 0 and 1 are each explained by one code: complete
    assert scores["completeness_per_factor"][:2] == pytest.approx([1.0, 1.0], abs=1e-8)


def test_redundant_codes_keep_d_and_lower_c():
    # two codes share factor 0 equally: each is specific (D = 1), factor 0 is spread over 2 of d codes
    importance = np.array([[0.5, 0.0], [0.5, 0.0], [0.0, 1.0]])
    scores = importance_entropy_scores(importance)
    assert scores["disentanglement"] == pytest.approx(1.0, abs=1e-8)
    assert scores["completeness_per_factor"][0] == pytest.approx(1 - np.log(2) / np.log(3), abs=1e-8)
    assert scores["completeness"] == pytest.approx(0.5 * (1 - np.log(2) / np.log(3)) + 0.5, abs=1e-8)


def test_empty_codes_do_not_count():
    # a code with zero importance has weight 0 in D (its per-code score is 0)
    base = np.diag([1.0, 1.0])
    with_empty = np.vstack([base, np.zeros((3, 2))])
    scores = importance_entropy_scores(with_empty)
    assert scores["disentanglement"] == pytest.approx(1.0, abs=1e-8)
    assert scores["disentanglement_per_code"][2:] == pytest.approx([0.0] * 3, abs=1e-8)
    assert scores["code_weights"][2:] == pytest.approx([0.0] * 3)
    assert scores["completeness"] == pytest.approx(1.0, abs=1e-8)


def test_all_zero_importance_uniform_weights():
    scores = importance_entropy_scores(np.zeros((3, 2)))
    assert scores["code_weights"] == pytest.approx([1 / 3] * 3)
    assert scores["factor_weights"] == pytest.approx([0.5, 0.5])
    assert scores["disentanglement"] == pytest.approx(0.0, abs=1e-12)
    assert scores["completeness"] == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), st.integers(0, 10_000))
def test_formulas_equal_reference_and_are_permutation_invariant(d, k_count, seed):
    rng = np.random.default_rng(seed)
    importance = rng.random((max(d, 2), k_count)) * (rng.random((max(d, 2), k_count)) < 0.6)
    scores = importance_entropy_scores(importance)
    assert scores["disentanglement"] == pytest.approx(reference_d(importance), abs=1e-12)
    assert scores["completeness"] == pytest.approx(reference_c(importance), abs=1e-12)
    rows, cols = rng.permutation(importance.shape[0]), rng.permutation(k_count)
    permuted = importance_entropy_scores(importance[rows][:, cols])
    assert permuted["disentanglement"] == pytest.approx(scores["disentanglement"], abs=1e-12)
    assert permuted["completeness"] == pytest.approx(scores["completeness"], abs=1e-12)
    assert permuted["disentanglement_per_code"] == pytest.approx(scores["disentanglement_per_code"][rows], abs=1e-12)
    assert permuted["completeness_per_factor"] == pytest.approx(scores["completeness_per_factor"][cols], abs=1e-12)
    # a common scale changes nothing but the effect of the absolute 1e-11 (the reference's)
    scaled = importance_entropy_scores(importance * 3.7)
    assert scaled["disentanglement"] == pytest.approx(scores["disentanglement"], abs=1e-8)
    assert scaled["completeness"] == pytest.approx(scores["completeness"], abs=1e-8)


def test_formula_validation():
    with pytest.raises(ValueError, match="importance"):
        importance_entropy_scores(np.ones(3))


# ---- DCI -------------------------------------------------------------------------------------

def test_dci_sklearn_backend_equals_direct_computation():
    x_train, y_train, x_test, y_test = make_split()
    result = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, backend="sklearn", n_estimators=20,
                    random_state=3)
    importance, d, c, train_acc, test_acc = reference_dci(x_train, y_train, x_test, y_test,
                                                         seed=result.params["model_seed"], n_estimators=20)
    assert np.abs(result.details["importance_matrix"] - importance).max() <= 1e-12
    assert result.value == pytest.approx(d, abs=1e-9)
    assert result.details["completeness"] == pytest.approx(c, abs=1e-9)
    assert result.details["informativeness_train"] == pytest.approx(train_acc, abs=1e-12)
    assert result.details["informativeness_test"] == pytest.approx(test_acc, abs=1e-12)
    assert result.params["split"] == "given"


def test_dci_xgboost_close_to_sklearn_on_a_clean_code():
    x_train, y_train, x_test, y_test = make_split(n_train=900, n_test=300)
    fast = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, n_estimators=30, backend="xgboost")
    ref = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, backend="sklearn", n_estimators=30)
    assert abs(fast.details["disentanglement"] - ref.details["disentanglement"]) < 0.05
    assert abs(fast.details["completeness"] - ref.details["completeness"]) < 0.05
    assert fast.details["disentanglement"] > 0.8
    # the noise dims carry (almost) no importance
    assert fast.details["importance_matrix"][3:].sum() < 0.05 * fast.details["importance_matrix"].sum()
    assert np.allclose(fast.details["importance_matrix"].sum(axis=0), 1.0)


def test_dci_xgboost_deterministic_and_seed_recorded():
    codes, factors = make_sample(450)
    first = dm.dci(codes, factors, n_estimators=10, random_state=7, backend="xgboost")
    second = dm.dci(codes, factors, n_estimators=10, random_state=7, backend="xgboost")
    assert first == second
    assert first.params["split"].startswith("random 2/3")
    assert (first.params["n_train"], first.params["n_test"]) == (300, 150)
    assert dm.dci(codes, factors, n_estimators=10, random_state=8, backend="xgboost").params["model_seed"] != first.params["model_seed"]


def test_dci_sklearn_deterministic():
    codes, factors = make_sample(300)
    assert dm.dci(codes, factors, backend="sklearn", n_estimators=5, random_state=1) == \
        dm.dci(codes, factors, backend="sklearn", n_estimators=5, random_state=1)


def test_dci_unseen_test_label_counts_as_error():
    x_train, y_train, x_test, y_test = make_split()
    y_test = y_test.copy()
    y_test[:10, 0] = 99  # never in training
    for backend in ("numba", "xgboost", "sklearn"):
        result = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, backend=backend, n_estimators=5)
        assert result.details["n_test_unseen"][0] == 10
        assert result.details["informativeness_test_per_factor"][0] <= 1 - 10 / len(y_test) + 1e-12


def test_dci_labels_need_not_be_contiguous():
    x_train, y_train, x_test, y_test = make_split()
    shifted = dm.dci(x_train, y_train * 7 + 3, codes_test=x_test, factors_test=y_test * 7 + 3, n_estimators=10, backend="xgboost")
    plain = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, n_estimators=10, backend="xgboost")
    assert shifted.details["importance_matrix"] == pytest.approx(plain.details["importance_matrix"], abs=1e-12)
    assert shifted.details["informativeness_test"] == plain.details["informativeness_test"]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 1000), st.floats(0.1, 10.0), st.floats(-5.0, 5.0))
def test_dci_invariant_to_positive_rescaling_and_shift(seed, scale, shift):
    x_train, y_train, x_test, y_test = make_split(seed=seed, n_train=200, n_test=100)
    kwargs = dict(backend="sklearn", n_estimators=5, random_state=0)
    base = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, **kwargs)
    moved = dm.dci(x_train * scale + shift, y_train, codes_test=x_test * scale + shift, factors_test=y_test, **kwargs)
    assert moved.details["disentanglement"] == pytest.approx(base.details["disentanglement"], abs=1e-6)
    assert moved.details["completeness"] == pytest.approx(base.details["completeness"], abs=1e-6)


def test_dci_duplicated_dims_keep_d_lower_c_like_the_reference():
    # exact duplicates: every split gain ties between the copies. sklearn breaks ties at random
    # (it shuffles features per node); tie_break="random" does too, "first" always picks the lower index.
    x_train, y_train, x_test, y_test = make_split(n_train=600, n_test=200, noise=0.02)
    dup = lambda x: np.hstack([x, x[:, :3]])
    split = dict(codes_test=dup(x_test), factors_test=y_test, n_estimators=40)
    base = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, n_estimators=40, backend="xgboost")
    doubled = dm.dci(dup(x_train), y_train, backend="xgboost", **split)
    reference = dm.dci(dup(x_train), y_train, backend="sklearn", **split)
    first = dm.dci(dup(x_train), y_train, backend="xgboost", tie_break="first", **split)
    assert doubled.details["disentanglement"] > 0.8
    assert doubled.details["completeness"] < base.details["completeness"] - 0.1
    assert abs(doubled.details["completeness"] - reference.details["completeness"]) < 0.05
    assert first.details["completeness"] > 0.95
    # both copies get a real share of the importance
    shares = doubled.details["importance_matrix"][[0, 5], 0]  # dim 5 is the copy of dim 0
    assert shares.min() > 0.2 * shares.sum()


def test_dci_continuous_factors_regressor():
    rng = np.random.default_rng(0)
    factors = rng.random((600, 2))
    codes = np.hstack([factors + 0.01 * rng.standard_normal((600, 2)), rng.standard_normal((600, 1))])
    result = dm.dci(codes, factors, factor_types="continuous", n_estimators=50, backend="xgboost")
    assert result.details["informativeness_test"] > 0.9  # R^2
    assert result.details["disentanglement"] > 0.8
    assert result.details["test_error_per_factor"].max() < 0.01  # MSE
    mixed = np.column_stack([factors[:, 0], (factors[:, 1] * 4).astype(int)])
    both = dm.dci(codes, mixed, factor_types=["continuous", "discrete"], n_estimators=20, backend="xgboost")
    assert list(both.params["factor_types"]) == ["continuous", "discrete"]
    assert 0.0 <= both.details["informativeness_test_per_factor"][1] <= 1.0


def test_dci_validation_errors():
    codes, factors = make_sample(60)
    with pytest.raises(ValueError, match="backend"):
        dm.dci(codes, factors, backend="lightgbm")
    with pytest.raises(ValueError, match="tie_break"):
        dm.dci(codes, factors, tie_break="last")
    with pytest.raises(ValueError, match="codes_test and factors_test"):
        dm.dci(codes, factors, codes_test=codes)
    with pytest.raises(ValueError, match="codes_test has"):
        dm.dci(codes, factors, codes_test=codes[:, :2], factors_test=factors)
    with pytest.raises(ValueError, match="factors_test has"):
        dm.dci(codes, factors, codes_test=codes, factors_test=factors[:, :2])
    with pytest.raises(ValueError, match="factor_types"):
        dm.dci(codes, factors, factor_types="ordinal")
    with pytest.raises(ValueError, match="factor_types has"):
        dm.dci(codes, factors, factor_types=["discrete"])
    with pytest.raises(ValueError, match="n_estimators"):
        dm.dci(codes, factors, n_estimators=0)
    with pytest.raises(ValueError, match="learning_rate"):
        dm.dci(codes, factors, learning_rate=-1)
    with pytest.raises(ValueError, match="integer"):
        dm.dci(codes, factors + 0.5)
    with pytest.raises(ValueError, match="NaN"):
        dm.dci(np.where(codes > 1, np.nan, codes), factors)
    with pytest.raises(ValueError, match="too few"):
        dm.dci(codes[:4], factors[:4])
    with pytest.raises(ValueError, match="random_state"):
        dm.dci(codes, factors, random_state="x")


# ---- SAP -------------------------------------------------------------------------------------

def test_sap_equals_direct_computation_and_parallel_equals_serial():
    x_train, y_train, x_test, y_test = make_split()
    matrix, value = reference_sap(x_train, y_train, x_test, y_test)
    serial = dm.sap(x_train, y_train, codes_test=x_test, factors_test=y_test, n_jobs=1)
    parallel = dm.sap(x_train, y_train, codes_test=x_test, factors_test=y_test, n_jobs=2)
    assert np.abs(serial.details["score_matrix"] - matrix).max() <= 1e-12
    assert serial.value == pytest.approx(value, abs=1e-9)
    assert parallel == serial


def test_sap_continuous_equals_direct_computation():
    x_train, y_train, x_test, y_test = make_split()
    x_train = np.hstack([x_train, np.full((len(x_train), 1), 2.0)])  # a constant dim scores 0
    x_test = np.hstack([x_test, np.full((len(x_test), 1), 2.0)])
    matrix, value = reference_sap(x_train, y_train, x_test, y_test, discrete=False)
    result = dm.sap(x_train, y_train, codes_test=x_test, factors_test=y_test, factor_types="continuous")
    assert np.abs(result.details["score_matrix"] - matrix).max() <= 1e-12
    assert result.value == pytest.approx(value, abs=1e-12)
    assert np.all(result.details["score_matrix"][-1] == 0.0)
    real = dm.sap(x_train, y_train + 0.25, codes_test=x_test, factors_test=y_test + 0.25, factor_types="continuous")
    assert real.value == pytest.approx(value, abs=1e-12)


def test_sap_top_two_gap():
    value, gaps = sap_from_matrix(np.array([[0.9, 0.2], [0.3, 0.6], [0.1, 0.5]]))
    assert gaps == pytest.approx([0.6, 0.1])
    assert value == pytest.approx(0.35)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 1000))
def test_sap_dim_permutation_and_label_relabeling(seed):
    x_train, y_train, x_test, y_test = make_split(seed=seed, n_train=150, n_test=90)
    base = dm.sap(x_train, y_train, codes_test=x_test, factors_test=y_test, n_jobs=1)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(x_train.shape[1])
    permuted = dm.sap(x_train[:, perm], y_train, codes_test=x_test[:, perm], factors_test=y_test, n_jobs=1)
    assert permuted.details["score_matrix"] == pytest.approx(base.details["score_matrix"][perm], abs=1e-12)
    assert permuted.value == pytest.approx(base.value, abs=1e-12)
    relabel = rng.permutation(3)  # factor 0 has 3 values
    y_train2, y_test2 = y_train.copy(), y_test.copy()
    y_train2[:, 0], y_test2[:, 0] = relabel[y_train[:, 0]], relabel[y_test[:, 0]]
    relabeled = dm.sap(x_train, y_train2, codes_test=x_test, factors_test=y_test2, n_jobs=1)
    assert relabeled.value == pytest.approx(base.value, abs=1e-9)


def test_sap_duplicated_dim_drives_sap_to_zero_and_random_split_deterministic():
    codes, factors = make_sample(600, noise=0.02)
    doubled = np.hstack([codes, codes[:, :3]])
    assert dm.sap(doubled, factors).value == pytest.approx(0.0, abs=1e-12)
    assert dm.sap(codes, factors, random_state=4) == dm.sap(codes, factors, random_state=4)


def test_sap_validation_errors():
    codes, factors = make_sample(60)
    with pytest.raises(ValueError, match="two"):
        dm.sap(codes[:, :1], factors)
    with pytest.raises(ValueError, match="discrete"):
        dm.sap(codes, factors, discrete="yes")
    with pytest.raises(ValueError, match="dual"):
        dm.sap(codes, factors, dual="primal")
    with pytest.raises(ValueError, match="n_jobs"):
        dm.sap(codes, factors, n_jobs=0)
    with pytest.raises(ValueError, match="codes_test and factors_test"):
        dm.sap(codes, factors, factors_test=factors)


# ---- Explicitness -----------------------------------------------------------------------------

@pytest.mark.parametrize("logistic", ["lbfgs", "liblinear_ovr"])
def test_explicitness_equals_direct_computation(logistic):
    x_train, y_train, x_test, y_test = make_split(noise=0.5)
    result = dm.explicitness(x_train, y_train, codes_test=x_test, factors_test=y_test, logistic=logistic)
    train, test = reference_explicitness(x_train, y_train, x_test, y_test, liblinear=logistic == "liblinear_ovr")
    assert result.value == pytest.approx(test, abs=1e-9)
    assert result.details["explicitness_train"] == pytest.approx(train, abs=1e-9)
    assert result.details["auc_test_per_factor"].shape == (3,)


def test_explicitness_perfect_code_near_one():
    codes, factors = make_sample(900, sizes=(4, 5), noise=0.0, noise_dims=0)
    assert dm.explicitness(codes, factors).value == pytest.approx(1.0, abs=1e-3)
    assert dm.explicitness(codes, factors, logistic="liblinear_ovr").value > 0.9


def test_explicitness_noise_near_half_and_deterministic():
    rng = np.random.default_rng(0)
    codes, factors = rng.standard_normal((900, 3)), rng.integers(0, 3, size=(900, 2))
    result = dm.explicitness(codes, factors, random_state=2)
    assert abs(result.value - 0.5) < 0.08
    assert result == dm.explicitness(codes, factors, random_state=2)


@pytest.mark.parametrize("logistic", ["lbfgs", "liblinear_ovr"])
def test_explicitness_records_iterations_instead_of_warning(logistic):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    x_train, y_train, x_test, y_test = make_split(noise=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stopped = dm.explicitness(x_train, y_train, codes_test=x_test, factors_test=y_test, logistic=logistic, max_iter=2)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert stopped.details["converged"] is False
    assert list(stopped.details["iterations_per_factor"]) == [2, 2, 2]
    full = dm.explicitness(x_train, y_train, codes_test=x_test, factors_test=y_test, logistic=logistic, max_iter=10_000)
    assert full.details["converged"] is True
    assert (full.details["iterations_per_factor"] < 10_000).all() and (full.details["iterations_per_factor"] > 2).all()


def test_one_vs_rest_auc_skips_undefined_classes():
    labels = np.array([0, 0, 1, 1, -1])
    proba = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.2, 0.8, 0.0], [0.4, 0.6, 0.0], [0.3, 0.3, 0.4]])
    mean, per_class = one_vs_rest_auc(labels, proba)
    assert np.isnan(per_class[2])
    assert per_class[0] == pytest.approx(1.0) and per_class[1] == pytest.approx(1.0)
    assert mean == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore:modularity_explicitness is deprecated:DeprecationWarning")
def test_modularity_explicitness_together():
    codes, factors = make_sample(600)
    with pytest.warns(DeprecationWarning, match="modularity_explicitness is deprecated"):
        dm.modularity_explicitness(codes, factors, random_state=0)
    both = dm.modularity_explicitness(codes, factors, random_state=0)
    assert set(both) == {"modularity", "explicitness"}
    assert both["modularity"].params["n_samples"] == 400
    x_train, y_train, x_test, y_test = make_split()
    given = dm.modularity_explicitness(x_train, y_train, codes_test=x_test, factors_test=y_test)
    assert given["modularity"] == dm.modularity(x_train, y_train)
    assert given["explicitness"].value == dm.explicitness(x_train, y_train, codes_test=x_test, factors_test=y_test).value


def test_explicitness_validation_errors():
    codes, factors = make_sample(60)
    with pytest.raises(ValueError, match="logistic"):
        dm.explicitness(codes, factors, logistic="saga")
    with pytest.raises(ValueError, match="max_iter"):
        dm.explicitness(codes, factors, max_iter=0)
    with pytest.raises(ValueError, match="factors_test"):
        dm.explicitness(codes, factors, codes_test=codes, factors_test=factors[:10])


def test_registered():
    for name in ("dci", "sap", "explicitness"):
        assert SAMPLE_METRICS[name] is getattr(dm, name)
    assert "modularity_explicitness" in dm.__all__


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 1000), st.sampled_from(["numba", "xgboost", "sklearn"]))
def test_dci_code_dim_permutation_permutes_importance(seed, backend):
    x_train, y_train, x_test, y_test = make_split(seed=seed, n_train=200, n_test=100)
    perm = np.random.default_rng(seed).permutation(x_train.shape[1])
    kwargs = dict(backend=backend, n_estimators=5, random_state=0, n_jobs=1)
    base = dm.dci(x_train, y_train, codes_test=x_test, factors_test=y_test, **kwargs)
    moved = dm.dci(x_train[:, perm], y_train, codes_test=x_test[:, perm], factors_test=y_test, **kwargs)
    # importance rows permuted, up to estimator noise: equal-gain splits (rare, small leaves) are
    # broken at random, and the random order depends on the column order
    assert moved.details["importance_matrix"] == pytest.approx(base.details["importance_matrix"][perm], abs=0.03)
    assert moved.details["disentanglement"] == pytest.approx(base.details["disentanglement"], abs=0.03)
    assert moved.details["completeness"] == pytest.approx(base.details["completeness"], abs=0.03)
    assert moved.details["informativeness_test"] == pytest.approx(base.details["informativeness_test"], abs=0.03)


def test_dci_default_backend_is_numba():
    # numba re-implements the reference's boosting; the xgboost backend was beyond 0.05 of the
    # reference on one fidelity case, so by the project's rule it is not the default (docs/dci.md).
    codes, factors = make_sample(90)
    assert dm.dci(codes, factors, n_estimators=2).params["backend"] == "numba"


# ---- the numba backend: sklearn's boosting re-implemented ---------------------------------------

def _one_dim_problem(seed, n_classes, n=300, n_test=150):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1))
    y = np.round(2 * x[:, 0] + rng.standard_normal(n)).astype(np.int64) % n_classes
    return x, y, np.random.default_rng(seed + 1000).standard_normal((n_test, 1))


# Candidate splits whose gains are equal in exact arithmetic are common (the residuals take few
# distinct values); sklearn and the kernel accumulate the sums in different orders, so such a tie may
# be rounded differently and the trees diverge from there. These samples have none; elsewhere the
# agreement is statistical (the DCI tests below).
SEED_WITHOUT_NEAR_TIES = {2: 0, 3: 0, 6: 0}


@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_boosting_kernel_equals_sklearn_on_one_dim(n_classes):
    # One code dim: no ties between dims, so the trees are sklearn's, split for split, and the raw
    # predictions (decision_function) agree to rounding, on the training and the test points.
    from sklearn.ensemble import GradientBoostingClassifier

    from dismetrics._kernels.boosting import boost_classifier, n_tree_nodes, sort_columns

    x, y, x_test = _one_dim_problem(SEED_WITHOUT_NEAR_TIES[n_classes], n_classes)
    x32, x_test32 = x.astype(np.float32), x_test.astype(np.float32)
    trees = 1 if n_classes == 2 else n_classes
    keys = np.random.default_rng(0).random((40, trees, n_tree_nodes(3), 1))
    importance, raw, raw_test = boost_classifier(x32, sort_columns(x32), y, n_classes, x_test32, 40, 0.1, 3, keys)
    model = GradientBoostingClassifier(n_estimators=40, random_state=0).fit(x, y)
    assert np.abs(raw - model.decision_function(x).reshape(len(x), -1)).max() < 1e-9
    assert np.abs(raw_test - model.decision_function(x_test).reshape(len(x_test), -1)).max() < 1e-9
    assert importance == pytest.approx([1.0])


def test_boosting_kernel_regressor_equals_sklearn_on_one_dim():
    from sklearn.ensemble import GradientBoostingRegressor

    from dismetrics._kernels.boosting import boost_regressor, n_tree_nodes, sort_columns

    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 1))
    y = np.sin(2 * x[:, 0]) + 0.1 * rng.standard_normal(300)
    x_test = rng.standard_normal((100, 1))
    x32 = x.astype(np.float32)
    keys = rng.random((50, 1, n_tree_nodes(3), 1))
    _, fitted, predicted = boost_regressor(x32, sort_columns(x32), y, x_test.astype(np.float32), 50, 0.1, 3, keys)
    model = GradientBoostingRegressor(n_estimators=50, random_state=0).fit(x, y)
    assert np.abs(fitted - model.predict(x)).max() < 1e-9
    assert np.abs(predicted - model.predict(x_test)).max() < 1e-9


def test_boosting_kernel_matches_sklearn_trees_and_importance_on_several_dims():
    # Several dims: the training-set partitions are sklearn's except where two candidate splits give
    # the same gain up to rounding (see SEED_WITHOUT_NEAR_TIES); on this sample there is none in 30
    # stages. Two dims that cut a small node into the same two parts tie exactly; each implementation
    # then credits one of them at random, so the importances agree to a few 1e-3, not to rounding.
    from sklearn.ensemble import GradientBoostingClassifier

    from dismetrics._kernels.boosting import boost_classifier, n_tree_nodes, sort_columns

    rng = np.random.default_rng(5)
    x = rng.standard_normal((400, 3))
    y = np.round(2 * x[:, 0] + x[:, 1] + rng.standard_normal(400)).astype(np.int64) % 5
    x32 = x.astype(np.float32)
    keys = rng.random((30, 5, n_tree_nodes(3), 3))
    importance, raw, _ = boost_classifier(x32, sort_columns(x32), y, 5, x32, 30, 0.1, 3, keys)
    model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(x, y)
    assert np.abs(raw - model.decision_function(x)).max() < 1e-9
    assert np.abs(importance - model.feature_importances_).max() < 0.01


def test_dci_numba_close_to_sklearn_reference():
    x_train, y_train, x_test, y_test = make_split(n_train=900, n_test=300)
    split = dict(codes_test=x_test, factors_test=y_test, n_estimators=50, random_state=2)
    fast = dm.dci(x_train, y_train, backend="numba", **split)
    ref = dm.dci(x_train, y_train, backend="sklearn", **split)
    for key in ("disentanglement", "completeness", "informativeness_test", "informativeness_train"):
        assert fast.details[key] == pytest.approx(ref.details[key], abs=0.02), key
    assert np.abs(fast.details["importance_matrix"] - ref.details["importance_matrix"]).max() < 0.03
    assert fast.params["importance"] == "impurity (feature_importances_)"


def test_dci_numba_deterministic_and_independent_of_threads():
    codes, factors = make_sample(600, sizes=(3, 4, 5, 6))
    one = dm.dci(codes, factors, n_estimators=20, random_state=7, n_jobs=1)
    two = dm.dci(codes, factors, n_estimators=20, random_state=7, n_jobs=2)
    again = dm.dci(codes, factors, n_estimators=20, random_state=7, n_jobs=2)
    for key in ("importance_matrix", "informativeness_test_per_factor", "informativeness_train_per_factor"):
        assert np.array_equal(one.details[key], two.details[key])
    assert two == again
    assert (one.params["n_jobs"], two.params["n_jobs"]) == (1, 2)


def test_dci_numba_duplicated_dims_share_importance_like_the_reference():
    x_train, y_train, x_test, y_test = make_split(n_train=600, n_test=200, noise=0.02)
    dup = lambda x: np.hstack([x, x[:, :3]])  # noqa: E731
    split = dict(codes_test=dup(x_test), factors_test=y_test, n_estimators=40)
    doubled = dm.dci(dup(x_train), y_train, backend="numba", **split)
    reference = dm.dci(dup(x_train), y_train, backend="sklearn", **split)
    assert abs(doubled.details["completeness"] - reference.details["completeness"]) < 0.05
    assert doubled.details["completeness"] < 0.8
    shares = doubled.details["importance_matrix"][[0, 5], 0]
    assert shares.min() > 0.2 * shares.sum()


def test_dci_numba_continuous_and_binary_factors():
    rng = np.random.default_rng(0)
    factors = np.column_stack([rng.random(600), rng.integers(0, 2, 600)])
    codes = np.hstack([factors + 0.01 * rng.standard_normal((600, 2)), rng.standard_normal((600, 1))])
    kwargs = dict(factor_types=["continuous", "discrete"], n_estimators=30, random_state=1)
    fast = dm.dci(codes, factors, backend="numba", **kwargs)
    ref = dm.dci(codes, factors, backend="sklearn", **kwargs)
    assert fast.details["informativeness_test_per_factor"] == pytest.approx(ref.details["informativeness_test_per_factor"], abs=0.01)
    assert fast.details["disentanglement"] == pytest.approx(ref.details["disentanglement"], abs=0.01)
    assert fast.details["informativeness_test_per_factor"][0] > 0.9  # R^2


# Pinned before the backend interface and the class-major boosting kernel (issues 16 and 18): the
# default backend's numbers on this sample, bit for bit (a refactor or a speed-up must not move them).
PINNED_NUMBA_DCI = {"disentanglement": 0.8451680457206029, "completeness": 0.8157047175739067,
                    "informativeness_test": 0.83875, "informativeness_train": 0.9437500000000001}
PINNED_IMPORTANCE_DIAGONAL = [0.996428210830558, 0.9590114933392583, 0.900363596520218, 0.8717079476527483]


def test_dci_numba_values_unchanged_bit_for_bit():
    codes, factors = make_sample(600, sizes=(3, 4, 5, 6))
    result = dm.dci(codes, factors, n_estimators=20, random_state=7)
    for key, value in PINNED_NUMBA_DCI.items():
        assert result.details[key] == value, key
    assert list(np.diag(result.details["importance_matrix"])) == PINNED_IMPORTANCE_DIAGONAL


@pytest.mark.parametrize("backend", ["numba", "sklearn", "xgboost"])
def test_dci_backends_share_one_interface(backend):
    # Every backend is built on the split's codes and fits one factor at a time, returning the same
    # shapes: importance (d,) summing to 1, predictions for the training and the test points.
    from dismetrics.metrics.dci import _BACKEND_TYPES, _Boosting, _Target

    x_train, y_train, x_test, y_test = make_split(n_train=200, n_test=80)
    targets = [_Target("discrete", y_train[:, 1], y_test[:, 1], 4),
               _Target("continuous", y_train[:, 2] / 4.0, y_test[:, 2] / 4.0, 0),
               _Target("discrete", (y_train[:, 0] > 0).astype(np.int64), (y_test[:, 0] > 0).astype(np.int64), 2)]
    fitter = _BACKEND_TYPES[backend](x_train, x_test, targets, _Boosting(5, 3, 0.1, 1, "random", 0))
    assert fitter.name == backend
    for k, target in enumerate(targets):
        importance, predicted_train, predicted_test = fitter.fit(k, target)
        assert np.shape(importance) == (x_train.shape[1],)
        assert np.sum(importance) == pytest.approx(1.0) and np.all(np.asarray(importance) >= 0)
        assert np.shape(predicted_train) == (len(x_train),) and np.shape(predicted_test) == (len(x_test),)


def test_class_major_softmax_equals_a_per_sample_loop():
    # The kernel's softmax runs class by class over (T, n) rows; written plainly per sample (max, then
    # the exponentials summed in class order, then the division) it gives the same bits.
    import math

    from dismetrics._kernels.boosting import probabilities

    rng = np.random.default_rng(3)
    for t_count in (1, 2, 7):
        raw = rng.standard_normal((t_count, 50)) * 5
        out = np.empty_like(raw)
        probabilities(raw, out, np.empty(50), np.empty(50))
        for i in range(50):
            if t_count == 1:
                assert out[0, i] == 1.0 / (1.0 + math.exp(-raw[0, i]))
                continue
            top = raw[0, i]
            for k in range(1, t_count):
                top = max(top, raw[k, i])
            exps = [math.exp(raw[k, i] - top) for k in range(t_count)]
            total = 0.0
            for e in exps:
                total += e
            assert [e / total for e in exps] == list(out[:, i])


def test_dci_registered_and_run_by_name():
    import importlib

    from dismetrics import evaluate_codes
    from dismetrics.metrics.registry import get_metric

    importlib.import_module("dismetrics.metrics.dci")
    spec = get_metric("dci")
    assert spec.func is dm.dci and spec.kind == "sample" and spec.takes_test and spec.random
    assert spec.factor_types == ("discrete", "continuous") and spec.value_range == (0.0, 1.0)
    codes, factors = make_sample(300)
    table = evaluate_codes(codes, factors, "dci", metric_params={"dci": {"n_estimators": 5}})
    assert list(table["metric"]) == ["dci"]
    assert 0.0 <= float(table["value"].iloc[0]) <= 1.0
