"""WDG (Wasserstein dependency gap) and the exact 1-D W1: agreement with scipy, invariances, known answers."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata, wasserstein_distance

import dismetrics
from dismetrics import MetricResult, wasserstein_1d, wdg
from dismetrics.metrics import SAMPLE_METRICS

wdg_module = importlib.import_module("dismetrics.metrics.wdg")
HYPOTHESIS = settings(max_examples=30, deadline=None)


# ---------------------------------------------------------------- independent references (scipy)
def reference_normalize(column: np.ndarray, normalize) -> np.ndarray:
    column = column.astype(np.float64)
    spread = column.max() - column.min()
    if spread == 0:
        return np.zeros_like(column)
    if normalize == "minmax":
        return column / spread  # the authors' code: divide by the range, no shift
    if normalize == "std":
        return column / np.std(column)
    if normalize == "rank":
        return (rankdata(column, method="average") - 1.0) / (column.size - 1.0)
    return column


def reference_dependency_matrix(codes, factors, normalize="minmax") -> np.ndarray:
    """Eq. 12 directly: sum_u p(u) W1(z_i[v_k = u], z_i), one scipy call per (dim, factor, value)."""
    codes = np.asarray(codes, dtype=np.float64)
    d, k_count = codes.shape[1], factors.shape[1]
    out = np.zeros((d, k_count))
    for i in range(d):
        z = reference_normalize(codes[:, i], normalize)
        for k in range(k_count):
            for u in np.unique(factors[:, k]):
                mask = factors[:, k] == u
                out[i, k] += mask.mean() * wasserstein_distance(z[mask], z)
    return out


def reference_paper_code(codes, factors, seed, normalize="minmax"):
    """The authors' released procedure, written out with scipy, using our permutation stream."""
    rng = np.random.default_rng(seed)
    n, d = codes.shape
    perms = [rng.permutation(n) for _ in range(d)]
    zs = [reference_normalize(codes[:, i], normalize) for i in range(d)]
    shuffled = [z[perm] for z, perm in zip(zs, perms)]
    matrix = np.zeros((d, factors.shape[1]))
    for k in range(factors.shape[1]):
        per_value = []
        for u in np.unique(factors[:, k]):
            mask = factors[:, k] == u
            per_value.append([wasserstein_distance(z[mask], y[mask]) for z, y in zip(zs, shuffled)])
        matrix[:, k] = np.mean(per_value, axis=0)
    ranked = np.sort(matrix, axis=0)[::-1]
    gaps = ranked[0] - ranked[1]
    keep = np.isfinite(gaps) & (gaps > 0)
    return matrix, float(np.mean(gaps[keep]))


def make_sample(n=600, seed=0, sizes=(3, 5, 8), extra_noise_dims=2, ties=True):
    """Codes that depend on the factors (with noise), plus pure-noise dims; optional heavy ties."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, m, n) for m in sizes], axis=1)
    signal = factors / np.array(sizes, dtype=float) + 0.3 * rng.normal(size=factors.shape)
    noise = rng.normal(size=(n, extra_noise_dims))
    codes = np.concatenate([signal, noise], axis=1)
    if ties:
        codes = np.round(codes, 1)  # many repeated values
    return codes, factors


def perfect_codes(n=3000, sizes=(3, 6, 10), noise_dims=2, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, m, n) for m in sizes], axis=1)
    codes = np.concatenate([factors.astype(float), rng.normal(size=(n, noise_dims))], axis=1)
    return codes, factors


# ---------------------------------------------------------------- wasserstein_1d
def test_wasserstein_1d_matches_scipy_unequal_sizes_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(300):
        x = rng.integers(-3, 4, size=rng.integers(1, 40)).astype(float) * 0.5
        y = np.round(rng.normal(size=rng.integers(1, 60)), 1)
        assert wasserstein_1d(x, y) == pytest.approx(wasserstein_distance(x, y), abs=1e-10)
        assert wasserstein_1d(y, x) == pytest.approx(wasserstein_distance(x, y), abs=1e-10)


@HYPOTHESIS
@given(
    st.lists(st.integers(-20, 20), min_size=1, max_size=50),
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=50),
)
def test_wasserstein_1d_matches_scipy_hypothesis(xs, ys):
    x = np.array(xs, dtype=float)
    y = np.array(ys, dtype=float)
    assert wasserstein_1d(x, y) == pytest.approx(wasserstein_distance(x, y), abs=1e-10, rel=1e-12)


def test_wasserstein_1d_known_values():
    assert wasserstein_1d([0.0], [1.0]) == 1.0
    assert wasserstein_1d([0, 0, 1, 1], [0, 1]) == 0.0
    assert wasserstein_1d([1, 2, 3], [1, 2, 3]) == 0.0
    assert wasserstein_1d([0.0], [0.0, 2.0]) == pytest.approx(1.0)
    # Shift by c moves W1 by exactly |c|; integer inputs and lists are accepted.
    assert wasserstein_1d(np.arange(10), np.arange(10) + 3) == pytest.approx(3.0)


def test_wasserstein_1d_large_unequal_samples():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=20_000), 2)
    y = np.round(rng.normal(0.1, 1.2, size=7_001), 2)
    assert wasserstein_1d(x, y) == pytest.approx(wasserstein_distance(x, y), abs=1e-10)


@pytest.mark.parametrize(
    "x, y, match",
    [
        ([], [1.0], "x is empty"),
        ([1.0], [], "y is empty"),
        ([1.0, np.nan], [1.0], "NaN"),
        ([1.0], [np.inf], "NaN or infinite"),
        (np.ones((2, 2)), [1.0], "1-D"),
        ("abc", [1.0], "1-D numeric"),
        (None, [1.0], "1-D numeric"),
        (np.array(["a"], dtype=object), [1.0], "numeric"),
        ([1 + 1j], [1.0], "real"),
    ],
)
def test_wasserstein_1d_validation(x, y, match):
    with pytest.raises(ValueError, match=match):
        wasserstein_1d(x, y)


# ---------------------------------------------------------------- agreement with the direct computation
@pytest.mark.parametrize("normalize", ["minmax", "std", "rank", None])
def test_dependency_matrix_matches_scipy(normalize):
    codes, factors = make_sample(seed=1)
    result = wdg(codes, factors, normalize=normalize)
    expected = reference_dependency_matrix(codes, factors, normalize)
    np.testing.assert_allclose(result.details["dependency_matrix"], expected, rtol=0, atol=1e-9)
    ranked = np.sort(expected, axis=0)[::-1]
    assert result.value == pytest.approx(np.mean(ranked[0] - ranked[1]), abs=1e-9)


def test_dependency_matrix_matches_scipy_without_ties_and_arbitrary_factor_values():
    rng = np.random.default_rng(7)
    n = 800
    factors = np.stack(
        [rng.choice([-7, 3, 1000], n), rng.choice([10**9, -(10**9), 5, 6], n), rng.integers(0, 2, n)], axis=1
    )
    codes = np.stack(
        [np.sin(factors[:, 0]) + rng.normal(size=n), factors[:, 1] / 1e9 + rng.normal(size=n), rng.normal(size=n)],
        axis=1,
    )
    result = wdg(codes, factors)
    np.testing.assert_allclose(
        result.details["dependency_matrix"], reference_dependency_matrix(codes, factors), rtol=0, atol=1e-9
    )


@HYPOTHESIS
@given(
    st.integers(0, 10_000),
    st.integers(2, 200),
    st.lists(st.integers(2, 9), min_size=1, max_size=3),
    st.sampled_from([0, 1, 2]),
)
def test_dependency_matrix_matches_scipy_hypothesis(seed, n, sizes, decimals):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, m, n) for m in sizes], axis=1)
    for k in range(factors.shape[1]):  # every factor needs two values in the sample
        factors[0, k], factors[1, k] = 0, 1
    codes = np.round(rng.normal(size=(n, 3)) + factors[:, :1], decimals)
    result = wdg(codes, factors)
    np.testing.assert_allclose(
        result.details["dependency_matrix"], reference_dependency_matrix(codes, factors), rtol=0, atol=1e-9
    )


@pytest.mark.parametrize("normalize", ["minmax", "rank"])
def test_paper_code_matches_the_authors_procedure(normalize):
    codes, factors = make_sample(n=500, seed=2)
    result = wdg(codes, factors, estimator="paper_code", normalize=normalize, random_state=11)
    matrix, value = reference_paper_code(codes, factors, 11, normalize)
    np.testing.assert_allclose(result.details["dependency_matrix"], matrix, rtol=0, atol=1e-9)
    assert result.value == pytest.approx(value, abs=1e-9)


def test_paper_code_averages_only_positive_gaps():
    # Factor 1 is encoded by two identical dims. The exact gap is exactly 0 and counts as 0 in the
    # mean; under paper_code each dim has its own permutation, so the two estimates differ a little
    # and the (small, spurious) gap is kept. A zero gap (here: a factor no dim varies with) drops out.
    rng = np.random.default_rng(4)
    n = 2000
    factors = rng.integers(0, 4, size=(n, 2))
    codes = np.stack([factors[:, 0] + 0.1 * rng.normal(size=n), factors[:, 1], factors[:, 1], rng.normal(size=n)], 1)
    exact = wdg(codes, factors)
    assert exact.details["gap_per_factor"][1] == 0.0
    assert exact.value == pytest.approx(exact.details["gap_per_factor"][0] / 2)
    paper = wdg(codes, factors, estimator="paper_code", random_state=0)
    gaps = paper.details["gap_per_factor"]
    assert 0 < gaps[1] < 0.05 and paper.details["factors_averaged"].all()
    assert paper.value == pytest.approx(np.mean(gaps))


def test_gap_summary_drops_zero_gaps_only_for_paper_code():
    matrix = np.array([[0.3, 0.2, 0.1], [0.1, 0.2, 0.05], [0.0, 0.0, 0.0]])
    value, gaps, top, second, averaged = wdg_module.gap_summary(matrix, "paper_code")
    np.testing.assert_allclose(gaps, [0.2, 0.0, 0.05])
    np.testing.assert_array_equal(top, [0, 0, 0])
    np.testing.assert_array_equal(second, [1, 1, 1])
    assert list(averaged) == [True, False, True]
    assert value == pytest.approx(0.125)
    value, gaps, _, _, averaged = wdg_module.gap_summary(matrix, "exact")
    assert averaged.all() and value == pytest.approx(0.25 / 3)


def test_paper_code_with_no_positive_gap_scores_zero():
    factors = np.random.default_rng(0).integers(0, 3, size=(300, 2))
    result = wdg(np.full((300, 3), 1.5), factors, estimator="paper_code", random_state=0)
    assert result.value == 0.0
    assert not result.details["factors_averaged"].any()
    np.testing.assert_array_equal(result.details["gap_per_factor"], 0.0)


def test_paper_code_is_biased_upward_on_noise():
    # Two same-size samples of one distribution are at W1 > 0: paper_code's dependencies of pure noise
    # exceed the exact ones (which compare against the full marginal).
    rng = np.random.default_rng(5)
    codes = rng.normal(size=(2000, 4))
    factors = rng.integers(0, 10, size=(2000, 2))
    exact = wdg(codes, factors).details["dependency_matrix"]
    paper = wdg(codes, factors, estimator="paper_code", random_state=0).details["dependency_matrix"]
    assert np.all(paper > exact)


# ---------------------------------------------------------------- invariances
@HYPOTHESIS
@given(st.integers(0, 10_000), st.sampled_from(["minmax", "std", "rank", None]))
def test_permuting_code_dims(seed, normalize):
    codes, factors = make_sample(n=300, seed=seed % 50)
    perm = np.random.default_rng(seed).permutation(codes.shape[1])
    base = wdg(codes, factors, normalize=normalize)
    moved = wdg(codes[:, perm], factors, normalize=normalize)
    assert moved.value == pytest.approx(base.value, abs=1e-12)
    np.testing.assert_array_equal(moved.details["dependency_matrix"], base.details["dependency_matrix"][perm])


@HYPOTHESIS
@given(st.integers(0, 10_000))
def test_relabeling_factor_values(seed):
    rng = np.random.default_rng(seed)
    codes, factors = make_sample(n=300, seed=seed % 50)
    relabeled = factors.copy()
    for k in range(factors.shape[1]):
        new_values = rng.choice(np.arange(-50, 50), size=factors[:, k].max() + 1, replace=False)
        relabeled[:, k] = new_values[factors[:, k]]
    base = wdg(codes, factors)
    moved = wdg(codes, relabeled)
    assert moved.value == pytest.approx(base.value, abs=1e-12)
    np.testing.assert_allclose(moved.details["dependency_matrix"], base.details["dependency_matrix"], atol=1e-12)


def test_permuting_factor_columns_permutes_details():
    codes, factors = make_sample(n=400, seed=3)
    perm = np.array([2, 0, 1])
    base = wdg(codes, factors)
    moved = wdg(codes, factors[:, perm])
    assert moved.value == pytest.approx(base.value, abs=1e-12)
    np.testing.assert_array_equal(moved.details["dependency_matrix"], base.details["dependency_matrix"][:, perm])
    np.testing.assert_array_equal(moved.details["gap_per_factor"], base.details["gap_per_factor"][perm])


@HYPOTHESIS
@given(
    st.integers(0, 10_000),
    st.sampled_from(["minmax", "std"]),
    st.floats(1e-3, 1e3),
    st.floats(-1e3, 1e3),
    st.integers(0, 4),
    st.booleans(),
)
def test_affine_maps_of_a_dim(seed, normalize, scale, shift, dim, flip):
    codes, factors = make_sample(n=300, seed=seed % 50)
    moved_codes = codes.copy()
    moved_codes[:, dim] = (-scale if flip else scale) * codes[:, dim] + shift
    base = wdg(codes, factors, normalize=normalize)
    moved = wdg(moved_codes, factors, normalize=normalize)
    assert moved.value == pytest.approx(base.value, abs=1e-9)
    np.testing.assert_allclose(moved.details["dependency_matrix"], base.details["dependency_matrix"], atol=1e-9)


MONOTONE = {
    "cube": lambda x: x**3 + x,
    "exp": lambda x: np.exp(x / 4.0),
    "logistic": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "affine": lambda x: 7.0 * x - 2.0,
    "decreasing": lambda x: -np.exp(x / 4.0),
}


@HYPOTHESIS
@given(st.integers(0, 10_000), st.sampled_from(sorted(MONOTONE)), st.integers(0, 4))
def test_rank_is_invariant_to_strictly_monotone_transforms(seed, name, dim):
    codes, factors = make_sample(n=300, seed=seed % 50)  # rounded codes: ties must stay ties
    moved_codes = codes.copy()
    moved_codes[:, dim] = MONOTONE[name](codes[:, dim])
    assert len(np.unique(moved_codes[:, dim])) == len(np.unique(codes[:, dim]))
    base = wdg(codes, factors, normalize="rank")
    moved = wdg(moved_codes, factors, normalize="rank")
    # Increasing transforms give bit-identical ranks; a decreasing one reflects them (same W1 up to rounding).
    assert moved.value == pytest.approx(base.value, abs=1e-12)
    np.testing.assert_allclose(moved.details["dependency_matrix"], base.details["dependency_matrix"], atol=1e-12)
    if name != "decreasing":
        np.testing.assert_array_equal(moved.details["dependency_matrix"], base.details["dependency_matrix"])


def test_minmax_is_not_invariant_to_monotone_transforms():
    codes, factors = make_sample(n=500, seed=8)
    moved = codes.copy()
    moved[:, 0] = np.exp(3 * codes[:, 0])
    a = wdg(codes, factors).details["dependency_matrix"][0]
    b = wdg(moved, factors).details["dependency_matrix"][0]
    assert not np.allclose(a, b, atol=1e-3)


# ---------------------------------------------------------------- constant dims
@pytest.mark.parametrize("normalize", ["minmax", "std", "rank", None])
@pytest.mark.parametrize("estimator", ["exact", "paper_code"])
def test_zero_range_dim_gives_zero_row(normalize, estimator):
    codes, factors = make_sample(n=400, seed=6)
    codes[:, 1] = 3.25
    result = wdg(codes, factors, normalize=normalize, estimator=estimator, random_state=0)
    matrix = result.details["dependency_matrix"]
    assert np.isfinite(matrix).all() and np.isfinite(result.value)
    np.testing.assert_array_equal(matrix[1], 0.0)
    assert list(np.flatnonzero(result.details["constant_dims"])) == [1]


def test_all_dims_constant():
    factors = np.array([[0, 1], [1, 0], [0, 0], [1, 1]])
    result = wdg(np.ones((4, 3)), factors)
    assert result.value == 0.0
    np.testing.assert_array_equal(result.details["dependency_matrix"], 0.0)


# ---------------------------------------------------------------- known answers
def test_binary_factor_perfect_code_exact_value():
    # A dim equal to a balanced binary factor: each conditional is a point mass at 0 or 1 and the
    # marginal puts 1/2 on each, so W1 = 1/2 for both values and I_W = 1/2.
    factors = np.array([[0], [1]] * 50)
    codes = np.concatenate([factors.astype(float), np.zeros((100, 1))], axis=1)
    result = wdg(codes, factors)
    assert result.details["dependency_matrix"][0, 0] == pytest.approx(0.5, abs=1e-15)
    assert result.value == pytest.approx(0.5, abs=1e-15)


def test_perfect_codes_reach_the_uniform_bound():
    # Code = factor index of a uniform factor with m values, min-max scaled: I_W = E|U - U'| = (m+1)/(3m).
    codes, factors = perfect_codes(n=30_000, sizes=(3, 6, 10))
    result = wdg(codes, factors)
    diagonal = result.details["dependency_matrix"][[0, 1, 2], [0, 1, 2]]
    np.testing.assert_allclose(diagonal, [(m + 1) / (3 * m) for m in (3, 6, 10)], atol=0.01)
    np.testing.assert_array_equal(result.details["top_dim_per_factor"], [0, 1, 2])
    assert result.value > 0.3


def test_noise_scores_near_zero():
    rng = np.random.default_rng(2)
    codes = rng.normal(size=(5000, 6))
    factors = rng.integers(0, 8, size=(5000, 3))
    result = wdg(codes, factors)
    assert 0.0 <= result.value < 0.01
    assert result.details["dependency_matrix"].max() < 0.03


def test_duplicated_dims_score_zero_for_their_factors():
    codes, factors = perfect_codes(n=3000)
    duplicated = np.concatenate([codes, codes[:, :3]], axis=1)
    result = wdg(duplicated, factors)
    np.testing.assert_array_equal(result.details["gap_per_factor"], 0.0)
    assert result.value == 0.0
    assert wdg(codes, factors).value > 0.3


def test_rotated_pair_scores_lower():
    rng = np.random.default_rng(1)
    n = 5000
    factors = rng.integers(0, 10, size=(n, 2))
    codes = factors / 9.0 + 0.02 * rng.normal(size=(n, 2))
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    rotated = codes @ np.array([[c, -s], [s, c]])
    for normalize in ["minmax", "std", "rank"]:
        straight = wdg(codes, factors, normalize=normalize).value
        turned = wdg(rotated, factors, normalize=normalize).value
        assert turned < straight / 3, normalize


def test_dependency_ordering_follows_signal_strength():
    rng = np.random.default_rng(3)
    n = 4000
    factors = rng.integers(0, 5, size=(n, 1))
    codes = np.stack([factors[:, 0] + s * rng.normal(size=n) for s in (0.1, 1.0, 5.0)], axis=1)
    row = wdg(codes, factors).details["dependency_matrix"][:, 0]
    assert row[0] > row[1] > row[2]


# ---------------------------------------------------------------- determinism and results
def test_exact_is_deterministic_and_thread_count_free(monkeypatch):
    codes, factors = make_sample(n=1000, seed=9)
    first = wdg(codes, factors)
    assert wdg(codes, factors) == first
    monkeypatch.setenv("DISMETRICS_NUM_THREADS", "1")  # one thread for the per-dim rows
    single = wdg(codes, factors)
    np.testing.assert_array_equal(single.details["dependency_matrix"], first.details["dependency_matrix"])
    assert first.params["random_state"] is None


def test_paper_code_seeding():
    codes, factors = make_sample(n=600, seed=9)
    a = wdg(codes, factors, estimator="paper_code", random_state=3)
    b = wdg(codes, factors, estimator="paper_code", random_state=3)
    c = wdg(codes, factors, estimator="paper_code", random_state=4)
    assert a == b
    np.testing.assert_array_equal(a.details["dependency_matrix"], b.details["dependency_matrix"])
    assert a.value != c.value
    g1 = wdg(codes, factors, estimator="paper_code", random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(g1.details["dependency_matrix"], a.details["dependency_matrix"])
    assert a.params["random_state"] == 3 and g1.params["random_state"] == "numpy.random.Generator"


def test_random_state_defaults_to_zero_and_only_paper_code_uses_it():
    codes, factors = make_sample(n=600, seed=12)
    default = wdg(codes, factors, estimator="paper_code")
    assert default == wdg(codes, factors, estimator="paper_code", random_state=0)  # bit-identical, seeded
    assert default.params["random_state"] == 0
    assert wdg(codes, factors, estimator="paper_code", random_state=None).params["random_state"] is None
    exact = wdg(codes, factors)
    assert exact == wdg(codes, factors, random_state=123) == wdg(codes, factors, random_state=None)
    assert exact.params["random_state"] is None  # the equation draws nothing


def test_n_jobs_never_changes_the_numbers(monkeypatch):
    codes, factors = make_sample(n=800, seed=13)
    serial = {e: wdg(codes, factors, estimator=e, n_jobs=1) for e in ("exact", "paper_code")}
    monkeypatch.setattr(wdg_module, "WDG_PARALLEL_WORK", 0)  # the thread pool however small the input
    for estimator, expected in serial.items():
        for n_jobs in (2, -1, None):
            assert wdg(codes, factors, estimator=estimator, n_jobs=n_jobs) == expected


def test_inputs_are_not_modified_and_float32_works():
    codes, factors = make_sample(n=500, seed=10, ties=False)
    codes_copy, factors_copy = codes.copy(), factors.copy()
    r64 = wdg(codes, factors)
    np.testing.assert_array_equal(codes, codes_copy)
    np.testing.assert_array_equal(factors, factors_copy)
    r32 = wdg(codes.astype(np.float32), factors)
    assert r32.value == pytest.approx(r64.value, abs=1e-5)


def test_result_contents_and_json_roundtrip():
    codes, factors = make_sample(n=300, seed=11)
    result = wdg(codes, factors)
    assert isinstance(result, MetricResult) and result.name == "wdg"
    d, k = codes.shape[1], factors.shape[1]
    assert result.details["dependency_matrix"].shape == (d, k)
    assert result.details["gap_per_factor"].shape == (k,)
    assert result.details["top_dim_per_factor"].shape == (k,)
    assert result.params["normalize"] == "minmax" and result.params["estimator"] == "exact"
    assert result.params["n_samples"] == 300
    assert MetricResult.from_json(result.to_json()) == result
    assert float(result) == result.value


def test_public_names():
    assert dismetrics.wdg is wdg and dismetrics.wasserstein_1d is wasserstein_1d
    assert SAMPLE_METRICS["wdg"] is wdg
    assert "wdg" in dismetrics.__all__ and "wasserstein_1d" in dismetrics.__all__


def test_normalize_codes_helper():
    codes = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    np.testing.assert_allclose(wdg_module.normalize_codes(codes, "minmax"), [[0, 0], [1, 0], [0.5, 0], [1, 0]])
    np.testing.assert_allclose(wdg_module.normalize_codes(codes, "rank")[:, 0], [0, 2.5 / 3, 1 / 3, 2.5 / 3])


# ---------------------------------------------------------------- validation
def test_validation_errors():
    codes, factors = make_sample(n=50, seed=0)
    with pytest.raises(ValueError, match="normalize must be one of"):
        wdg(codes, factors, normalize="zscore")
    with pytest.raises(ValueError, match="estimator must be one of"):
        wdg(codes, factors, estimator="fast")
    with pytest.raises(ValueError, match="random_state"):
        wdg(codes, factors, estimator="paper_code", random_state="seed")
    with pytest.raises(ValueError, match="random_state"):
        wdg(codes, factors, estimator="paper_code", random_state=-1)
    with pytest.raises(ValueError, match="at least 2 dimension"):
        wdg(codes[:, :1], factors)
    with pytest.raises(ValueError, match="2-D"):
        wdg(codes[:, 0], factors)
    bad = codes.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        wdg(bad, factors)
    with pytest.raises(ValueError, match="rows"):
        wdg(codes, factors[:-1])
    constant = factors.copy()
    constant[:, 1] = 4
    with pytest.raises(ValueError, match=r"factors\[:, 1\] takes a single value"):
        wdg(codes, constant)
    with pytest.raises(ValueError, match="integer factor indices"):
        wdg(codes, factors + 0.5)
    with pytest.raises(ValueError, match="at least 2 samples"):
        wdg(codes[:1], factors[:1])


# ---------------------------------------------------------------- the kernel, value by value
def test_kernel_per_value_w1_matches_scipy():
    from dismetrics._kernels import wasserstein as kernels

    rng = np.random.default_rng(12)
    for n, m in [(2, 2), (7, 3), (200, 9), (1000, 40)]:
        z = np.round(rng.normal(size=n), 1)
        labels = rng.integers(0, m, n).astype(np.int32)
        order = np.argsort(z)
        s = z[order]
        counts = np.bincount(labels, minlength=m).astype(np.int64)
        out = np.empty(m)
        kernels.conditional_marginal_w1(s, kernels.marginal_cdf_integral(s), labels[order], counts, out)
        for u in range(m):
            expected = wasserstein_distance(z[labels == u], z) if counts[u] else 0.0
            assert out[u] == pytest.approx(expected, abs=1e-12), (n, m, u)


def test_large_n_far_from_zero_keeps_precision():
    # Raw codes around 1e6 (normalize=None): the prefix integrals must not lose the small gaps.
    rng = np.random.default_rng(13)
    n = 100_000
    factors = rng.integers(0, 5, size=(n, 1))
    codes = np.round(1e6 + np.stack([factors[:, 0] * 0.3 + rng.normal(size=n), rng.normal(size=n)], 1), 3)
    result = wdg(codes, factors, normalize=None)
    expected = reference_dependency_matrix(codes - 1e6, factors, None)
    np.testing.assert_allclose(result.details["dependency_matrix"], expected, rtol=0, atol=1e-9)


def test_factor_with_many_values():
    # More than 256 values takes the 16-bit label path.
    rng = np.random.default_rng(14)
    n = 1500
    factors = np.stack([rng.integers(0, 300, n), rng.integers(0, 2, n)], axis=1)
    codes = np.stack([factors[:, 0] / 300 + 0.1 * rng.normal(size=n), rng.normal(size=n)], axis=1)
    result = wdg(codes, factors)
    np.testing.assert_allclose(
        result.details["dependency_matrix"], reference_dependency_matrix(codes, factors), rtol=0, atol=1e-9
    )
