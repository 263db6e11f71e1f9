"""Fairness scores (disentanglement_lib `evaluation/metrics/fairness.py`, Locatello et al. 2019) against
the source computation written out (its loops, sklearn's GradientBoostingClassifier, its float32 total
variation), plus invariances, known answers and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dismetrics.data import FactorGrid
from dismetrics.metrics.fairness import fairness, fairness_aggregates, inter_group_fairness
from dismetrics.metrics.registry import get_metric


def _reference_inter_group_fairness(counts):
    """The reference's function, float32 as it is."""
    overall = np.sum(counts, axis=1, dtype=np.float32)
    overall /= overall.sum()
    normalized = np.array(counts, dtype=np.float32)
    per_class = np.sum(counts, axis=0)
    normalized /= np.expand_dims(per_class, 0)
    distances = np.sum(np.abs(normalized - np.expand_dims(overall, 1)), 0) / 2.0
    mean = distances * per_class
    mean /= per_class.sum()
    return np.sum(mean), np.amax(distances)


def _plain_inter_group_fairness(counts):
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    distances = []
    for c in range(counts.shape[1]):
        column = counts[:, c]
        distances.append(sum(abs(column[a] / column.sum() - counts[a].sum() / total) for a in range(counts.shape[0])) / 2)
    weights = counts.sum(axis=0) / total
    return float(np.dot(weights, distances)), float(max(distances))


def _entangled_sampler():
    mixing = np.array([[1.0, 0.0, 0.3], [0.6, 1.0, 0.0], [0.0, 0.5, 1.0]])
    return FactorGrid([3, 2, 4], observe=lambda f: np.tanh(f @ mixing.T / 2.0))


def _reference_fairness(representation, sampler, n_train, per_class, seed):
    """compute_fairness's loops with a numpy Generator drawn in the documented order."""
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(seed)
    sizes = sampler.factor_sizes
    k_count = len(sizes)
    ys = sampler.sample_factors(n_train, rng)
    mus = representation(sampler.sample_observations_from_factors(ys, rng))
    model_seed = int(rng.integers(0, 2**31 - 1))
    mean_f, max_f = np.zeros((k_count, k_count)), np.zeros((k_count, k_count))
    for i in range(k_count):
        model = GradientBoostingClassifier(random_state=model_seed + i).fit(mus, ys[:, i])
        for j in range(k_count):
            if i == j:
                continue
            original = sampler.sample_factors(per_class, rng)
            counts = np.zeros((sizes[i], sizes[j]), dtype=np.int64)
            for c in range(sizes[j]):
                intervened = np.copy(original)
                intervened[:, j] = c
                predictions = model.predict(representation(sampler.sample_observations_from_factors(intervened, rng)))
                counts[:, c] = np.bincount(predictions, minlength=sizes[i])
            mean_f[i, j], max_f[i, j] = _plain_inter_group_fairness(counts)
    return mean_f, max_f


def test_equals_the_source_computation():
    sampler = _entangled_sampler()
    # One observation dim (mostly factor 0, some factor 1) and its square: the prediction of factor 1
    # depends on factor 0 (an unfair code); two dims, so the trees meet ties between features.
    representation = lambda x: np.column_stack([x[:, 0], x[:, 0] ** 2])  # noqa: E731
    ours = fairness(representation, sampler, n_train=200, n_test_points_per_class=25, backend="sklearn", random_state=3)
    mean_f, max_f = _reference_fairness(representation, sampler, 200, 25, 3)
    np.testing.assert_allclose(ours.details["mean_fairness"], mean_f, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.details["max_fairness"], max_f, rtol=0, atol=1e-12)
    rows = [np.mean([mean_f[i, j] for j in range(3) if j != i]) for i in range(3)]
    assert ours.value == pytest.approx(np.mean(rows), abs=1e-12)
    assert ours.value > 0.01  # the entangled code is unfair


def test_numba_backend_agrees_with_sklearn():
    sampler = _entangled_sampler()
    representation = lambda x: np.column_stack([x[:, 0], x[:, 0] ** 2])  # noqa: E731
    kwargs = dict(n_train=200, n_test_points_per_class=25, random_state=4)
    ours = fairness(representation, sampler, backend="numba", **kwargs)
    reference = fairness(representation, sampler, backend="sklearn", **kwargs)
    np.testing.assert_allclose(ours.details["mean_fairness"], reference.details["mean_fairness"], atol=0.05)
    assert ours.value == pytest.approx(reference.value, abs=0.02)
    assert reference.value > 0.01


@settings(max_examples=30)
@given(counts=st.lists(st.lists(st.integers(0, 30), min_size=2, max_size=5), min_size=2, max_size=5)
       .filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_inter_group_fairness_equals_the_formula_and_the_float32_reference(counts):
    counts = np.array(counts)
    counts[0] += 1  # every sensitive value has predictions (the reference divides by the column sums)
    mean, maximum = inter_group_fairness(counts)
    plain_mean, plain_max = _plain_inter_group_fairness(counts)
    assert mean == pytest.approx(plain_mean, abs=1e-12) and maximum == pytest.approx(plain_max, abs=1e-12)
    ref_mean, ref_max = _reference_inter_group_fairness(counts)
    assert mean == pytest.approx(float(ref_mean), abs=1e-6) and maximum == pytest.approx(float(ref_max), abs=1e-6)
    assert 0.0 <= mean <= maximum <= 1.0
    # Invariant to relabeling the predicted classes and the sensitive values, and to scaling the counts.
    rng = np.random.default_rng(counts.sum())
    moved = counts[rng.permutation(counts.shape[0])][:, rng.permutation(counts.shape[1])]
    assert inter_group_fairness(moved) == pytest.approx((mean, maximum), abs=1e-12)
    assert inter_group_fairness(3 * counts) == pytest.approx((mean, maximum), abs=1e-12)


def test_aggregates_equal_the_reference_loops():
    rng = np.random.default_rng(0)
    matrix = rng.uniform(size=(4, 4))
    np.fill_diagonal(matrix, 0.0)
    scores = fairness_aggregates(matrix, "mean_fairness")
    rows = [[matrix[i, j] for j in range(4) if j != i] for i in range(4)]
    cols = [[matrix[i, j] for i in range(4) if i != j] for j in range(4)]
    assert scores["mean_fairness:mean_pred:mean_sens"] == pytest.approx(np.mean([np.mean(r) for r in rows]))
    assert scores["mean_fairness:max_pred:max_sens"] == pytest.approx(np.max([np.max(r) for r in rows]))
    assert scores["mean_fairness:mean_sens:max_pred"] == pytest.approx(np.mean([np.max(c) for c in cols]))
    assert scores["mean_fairness:max_sens:mean_pred"] == pytest.approx(np.max([np.mean(c) for c in cols]))
    assert scores["mean_fairness:pred2:sens0"] == matrix[2, 0]
    assert len(scores) == 12 + 16 + 8


def test_a_code_that_reads_each_factor_from_its_own_dim_is_fair():
    sampler = FactorGrid([3, 4, 2])
    result = fairness(lambda x: x, sampler, n_train=300, n_test_points_per_class=20)
    assert result.value == 0.0
    np.testing.assert_array_equal(result.details["max_fairness"], 0.0)
    assert set(result.details["scores"]) >= {"mean_fairness:mean_pred:mean_sens", "max_fairness:max_pred:max_sens"}


@settings(max_examples=4)
@given(scale=st.floats(0.1, 10.0), shift=st.floats(-5.0, 5.0))
def test_invariant_to_a_positive_affine_map_of_the_codes(scale, shift):
    sampler = _entangled_sampler()
    kwargs = dict(n_train=150, n_test_points_per_class=15, random_state=1)
    base = fairness(lambda x: x, sampler, **kwargs)
    moved = fairness(lambda x: x * scale + shift, sampler, **kwargs)
    # Trees split between order statistics; float32 rounding of a threshold can move a point that lies
    # within rounding of it.
    np.testing.assert_allclose(moved.details["mean_fairness"], base.details["mean_fairness"], atol=0.05)


def test_same_seed_bit_identical():
    sampler = _entangled_sampler()
    first = fairness(lambda x: x, sampler, n_train=120, n_test_points_per_class=10, random_state=7, chunk_size=50)
    second = fairness(lambda x: x, sampler, n_train=120, n_test_points_per_class=10, random_state=7)
    np.testing.assert_array_equal(first.details["mean_fairness"], second.details["mean_fairness"])
    # The representation-table path and the direct encoding give the same numbers (the draws are the same).
    direct = fairness(lambda x: x, sampler, n_train=120, n_test_points_per_class=10, random_state=7, encoding="direct")
    assert direct.params["encoding"] == "direct"
    np.testing.assert_array_equal(direct.details["mean_fairness"], first.details["mean_fairness"])


def test_bad_input_and_registration():
    sampler = _entangled_sampler()
    with pytest.raises(ValueError, match="ground-truth sampler"):
        fairness(lambda x: x, object())
    with pytest.raises(ValueError, match="backend"):
        fairness(lambda x: x, sampler, backend="xgboost")
    with pytest.raises(ValueError, match="n_test_points_per_class"):
        fairness(lambda x: x, sampler, n_test_points_per_class=0)
    with pytest.raises(ValueError, match="two factors"):
        fairness(lambda x: x, FactorGrid([3]), n_train=20)
    spec = get_metric("fairness")
    assert spec.kind == "intervention" and spec.direction == "lower" and spec.random
    assert spec.preset_params("disentanglement_lib") == {"n_train": 10000, "n_test_points_per_class": 100}


def test_runs_by_name_through_evaluate():
    from dismetrics import evaluate

    frame = evaluate(lambda x: x[:, :1], FactorGrid([3, 4]), ["fairness"], n=60, n_test=20, progress=False,
                     metric_params={"fairness": {"n_train": 100, "n_test_points_per_class": 10}})
    assert frame["error"].iloc[0] == "" and 0.0 < frame["value"].iloc[0] <= 1.0


def test_codes_beyond_float32_are_refused_naming_the_representation():
    """Regression (fuzz, tests/test_fuzz_metrics.py): codes beyond the float32 range became infinite in the
    trees' float32 copy and the numba kernel raised ZeroDivisionError; both backends now refuse them."""
    sampler = FactorGrid([3, 4])
    big = lambda x: np.hstack([np.asarray(x, float) * 1e200, np.ones((len(x), 1))])  # noqa: E731
    for backend in ("numba", "sklearn"):
        with pytest.raises(ValueError, match="representation's output holds values beyond the float32 range"):
            fairness(big, sampler, n_train=20, n_test_points_per_class=5, backend=backend)
    ok = fairness(lambda x: np.asarray(x, float) * 1e30, sampler, n_train=20, n_test_points_per_class=5)
    assert 0.0 <= ok.value <= 1.0
