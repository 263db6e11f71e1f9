"""MIG, Modularity and the unsupervised scores: reference agreement, invariances, known answers."""

import json

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import dismetrics as dm
from dismetrics.metrics.modularity import modularity_from_mi
from dismetrics.metrics.unsupervised import gaussian_tc_from_cov, gaussian_wasserstein_from_cov

from reference_impls import reference_mig, reference_modularity, reference_mutual_info_score

SETTINGS = settings(max_examples=30, deadline=None)
SIZES = (3, 6, 40, 32, 32)


def sample(seed, n=2000, sizes=SIZES, noise_dims=3, noise=0.05):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, sizes, size=(n, len(sizes)))
    scaled = factors / (np.asarray(sizes) - 1.0)
    codes = np.hstack([scaled + noise * rng.standard_normal(scaled.shape), rng.standard_normal((n, noise_dims))])
    return codes, factors


@st.composite
def random_problem(draw):
    """A random (codes, factors) problem, from structured to pure noise."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(50, 600))
    k = draw(st.integers(2, 4))
    d = draw(st.integers(2, 6))
    sizes = rng.integers(2, 30, size=k)
    factors = rng.integers(0, sizes, size=(n, k))
    mixing = rng.normal(size=(k, d)) * rng.integers(0, 2, size=(k, d))
    codes = factors @ mixing + draw(st.sampled_from([0.0, 0.1, 10.0])) * rng.normal(size=(n, d))
    if draw(st.booleans()):
        codes = np.round(codes, 1)  # ties
    return codes, factors, rng


# ---- agreement with the reference computation ---------------------------------------------------


@SETTINGS
@given(random_problem())
def test_mig_equals_reference(problem):
    codes, factors, _ = problem
    assert abs(dm.mig(codes, factors).value - reference_mig(codes, factors)) < 1e-9


@SETTINGS
@given(random_problem())
def test_modularity_equals_reference(problem):
    codes, factors, _ = problem
    assert abs(dm.modularity(codes, factors).value - reference_modularity(codes, factors)) < 1e-9


@SETTINGS
@given(random_problem())
def test_mutual_info_score_equals_reference(problem):  # the metric "mutual_info_score", function latent_mutual_info
    codes, _, _ = problem
    assert abs(dm.latent_mutual_info(codes).value - reference_mutual_info_score(codes)) < 1e-9


def test_mig_equals_reference_on_float32_and_other_bins():
    codes, factors = sample(1)
    for bins in (5, 20, 50):
        assert abs(dm.mig(codes.astype(np.float32), factors, bins=bins).value - reference_mig(codes.astype(np.float32), factors, bins)) < 1e-9


def test_gaussian_tc_closed_form():
    # Two dims with correlation rho: TC = -1/2 log(1 - rho^2).
    for rho in (0.0, 0.3, 0.9, -0.5):
        cov = np.array([[2.0, rho * np.sqrt(2 * 0.5)], [rho * np.sqrt(2 * 0.5), 0.5]])
        assert gaussian_tc_from_cov(cov) == pytest.approx(-0.5 * np.log(1 - rho**2), abs=1e-12)
    # Equicorrelated d-dim Gaussian: det = (1 - r)^(d-1) (1 + (d-1) r).
    d, r = 6, 0.4
    cov = np.full((d, d), r) + (1 - r) * np.eye(d)
    expected = -0.5 * ((d - 1) * np.log(1 - r) + np.log(1 + (d - 1) * r))
    assert gaussian_tc_from_cov(cov) == pytest.approx(expected, abs=1e-12)


def test_gaussian_tc_of_codes_uses_the_sample_covariance():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 2.0]])
    codes = rng.multivariate_normal(np.zeros(3), cov, size=200_000)
    result = dm.gaussian_total_correlation(codes)
    assert result.value == pytest.approx(gaussian_tc_from_cov(np.cov(codes.T)), abs=1e-12)
    assert result.value == pytest.approx(gaussian_tc_from_cov(cov), abs=5e-3)


def test_gaussian_tc_of_independent_dims_is_near_zero():
    codes = np.random.default_rng(1).normal(size=(50_000, 8)) * np.arange(1, 9)
    assert 0 <= dm.gaussian_total_correlation(codes).value < 1e-3


def test_gaussian_tc_rejects_duplicated_and_constant_dims():
    # A duplicated dim makes the covariance singular: the TC is infinite, a ValueError says so (it
    # returned +inf before; docs/unsupervised.md). The closed form still gives +inf for a singular matrix.
    codes = np.random.default_rng(2).normal(size=(100, 2))
    with pytest.raises(ValueError, match=r"codes has a singular covariance.*dims 0 and 2 are perfectly correlated"):
        dm.gaussian_total_correlation(np.c_[codes, codes[:, 0]])
    assert gaussian_tc_from_cov(np.ones((2, 2))) == float("inf")
    with pytest.raises(ValueError, match=r"constant dimension\(s\) \[1\]"):
        dm.gaussian_total_correlation(np.c_[codes[:, 0], np.ones(100)])


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 7))
def test_gaussian_wasserstein_equals_scipy_sqrtm(seed, d):
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(200, d)) @ rng.normal(size=(d, d))
    cov = np.atleast_2d(np.cov(codes.T))
    reference = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))).real
    result = dm.gaussian_wasserstein_correlation(codes)
    assert result.value == pytest.approx(reference, abs=1e-9 * max(1.0, np.trace(cov)))
    normalized = dm.gaussian_wasserstein_correlation_normalized(codes)
    assert normalized.value == pytest.approx(reference / np.trace(cov), abs=1e-9)


def test_gaussian_wasserstein_closed_form_two_dims():
    # C = [[1, r], [r, 1]]: D = I, so tr sqrt(C) = sqrt(1 + r) + sqrt(1 - r).
    r = 0.6
    cov = np.array([[1.0, r], [r, 1.0]])
    assert gaussian_wasserstein_from_cov(cov) == pytest.approx(4 - 2 * (np.sqrt(1 + r) + np.sqrt(1 - r)), abs=1e-12)


# ---- invariances (METRICS.md) -------------------------------------------------------------------


@SETTINGS
@given(random_problem())
def test_permuting_code_dims_leaves_scores_unchanged(problem):
    codes, factors, rng = problem
    perm = rng.permutation(codes.shape[1])
    for metric in (dm.mig, dm.modularity):
        assert metric(codes[:, perm], factors).value == pytest.approx(metric(codes, factors).value, abs=1e-12)
    assert dm.latent_mutual_info(codes[:, perm]).value == pytest.approx(dm.latent_mutual_info(codes).value, abs=1e-12)


@SETTINGS
@given(random_problem())
def test_relabeling_factor_values_leaves_scores_unchanged(problem):
    codes, factors, rng = problem
    relabeled = factors.copy()
    for k in range(factors.shape[1]):
        values = np.unique(factors[:, k])
        new_values = rng.permutation(values.size) * 7 - 3  # any injective relabeling
        relabeled[:, k] = new_values[np.searchsorted(values, factors[:, k])]
    for metric in (dm.mig, dm.modularity):
        assert metric(codes, relabeled).value == pytest.approx(metric(codes, factors).value, abs=1e-12)


@SETTINGS
@given(random_problem())
def test_permuting_factor_columns_permutes_details(problem):
    codes, factors, rng = problem
    perm = rng.permutation(factors.shape[1])
    base, permuted = dm.mig(codes, factors), dm.mig(codes, factors[:, perm])
    np.testing.assert_allclose(permuted.details["gap_per_factor"], base.details["gap_per_factor"][perm], atol=1e-12)
    assert permuted.value == pytest.approx(base.value, abs=1e-12)


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.floats(0.01, 100.0), st.floats(-100.0, 100.0))
def test_positive_affine_map_of_a_dim_leaves_mig_and_modularity_unchanged(seed, scale, shift):
    codes, factors = sample(seed, n=500)
    moved = codes.copy()
    moved[:, 2] = scale * moved[:, 2] + shift
    for metric in (dm.mig, dm.modularity):
        assert metric(moved, factors).value == pytest.approx(metric(codes, factors).value, abs=1e-12)


def test_monotone_nonlinear_map_moves_mig_through_the_bins_only():
    """Documented, not hidden: equal-width bins are not invariant to monotone maps."""
    codes, factors = sample(4, n=5000, sizes=(10, 10), noise_dims=1, noise=0.0)
    warped = codes.copy()
    warped[:, 0] = np.exp(4 * warped[:, 0])
    before, after = dm.mig(codes, factors).value, dm.mig(warped, factors).value
    assert after < before - 0.05  # the exponential crowds the small values into one bin
    assert after > 0.3  # ... but the factor is still the best-explained one


def test_gaussian_tc_is_invariant_to_per_dim_scaling_and_shifting():
    rng = np.random.default_rng(5)
    codes = rng.normal(size=(1000, 3)) @ rng.normal(size=(3, 3))
    moved = codes * [3.0, 0.1, 7.0] + [1.0, -2.0, 5.0]
    assert dm.gaussian_total_correlation(moved).value == pytest.approx(dm.gaussian_total_correlation(codes).value, rel=1e-9)
    assert dm.gaussian_wasserstein_correlation_normalized(codes * 3.0).value == pytest.approx(
        dm.gaussian_wasserstein_correlation_normalized(codes).value, rel=1e-9)


# ---- known answers ------------------------------------------------------------------------------


def test_identity_codes_of_independent_uniform_factors_score_mig_above_0_9():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, (3, 6, 10, 20), size=(10_000, 4))
    assert dm.mig(factors.astype(float), factors).value > 0.9
    assert dm.modularity(factors.astype(float), factors).value > 0.9


def test_dsprites_shaped_perfect_code_cannot_reach_one_with_20_bins():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, SIZES, size=(10_000, 5))
    value = dm.mig(factors.astype(float), factors).value
    assert 0.85 < value < 0.92  # 40- and 32-valued factors lose information in 20 bins


def test_duplicated_dims_score_mig_below_0_1():
    codes, factors = sample(0, n=5000, noise_dims=0)
    assert dm.mig(np.hstack([codes, codes]), factors).value < 0.1


def test_constant_codes_score_zero():
    _, factors = sample(0, n=500)
    constant = np.ones((500, 4))
    assert dm.mig(constant, factors).value == 0.0
    assert dm.modularity(constant, factors).value == 0.0
    assert dm.latent_mutual_info(constant).value == 0.0


def test_noise_codes_score_mig_near_zero():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, SIZES, size=(10_000, 5))
    assert dm.mig(rng.normal(size=(10_000, 10)), factors).value < 0.02


def test_modularity_counts_collapsed_dims_in_the_mean():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, (5, 5, 5, 5, 5), size=(10_000, 5))
    codes = np.hstack([factors.astype(float), np.zeros((10_000, 5))])
    result = dm.modularity(codes, factors)
    np.testing.assert_allclose(result.details["per_dim"][5:], 0.0)
    assert result.value == pytest.approx(np.mean(result.details["per_dim"]))
    assert 0.45 < result.value < 0.55


def test_modularity_from_mi_closed_form():
    mi = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [2.0, 1.0, 0.0]])
    # delta = (sum sq - max sq) / (max sq * (K - 1)).
    np.testing.assert_allclose(modularity_from_mi(mi), [1.0, 0.0, 0.0, 1 - 1 / 8])


def test_mig_gap_details():
    codes, factors = sample(0, n=3000, noise_dims=2)
    result = dm.mig(codes, factors)
    assert result.details["top_dim_per_factor"].tolist() == [0, 1, 2, 3, 4]
    m = result.details["mi_matrix"]
    gaps = (m[result.details["top_dim_per_factor"], range(5)] - m[result.details["second_dim_per_factor"], range(5)]) / result.details["factor_entropy"]
    np.testing.assert_allclose(gaps, result.details["gap_per_factor"])
    assert result.value == pytest.approx(gaps.mean())


# ---- determinism, result object ---------------------------------------------------------------


def test_bit_identical_on_repeat_and_json_round_trip():
    codes, factors = sample(7)
    for metric in (dm.mig, dm.modularity):
        first, second = metric(codes, factors), metric(codes.copy(), factors.copy())
        assert first.value == second.value
        assert first == second
        restored = dm.MetricResult.from_json(first.to_json())
        assert restored == first
        np.testing.assert_array_equal(restored.details["mi_matrix"], first.details["mi_matrix"])
        assert float(first) == first.value
        row = first.to_pandas()
        assert row.loc[0, "metric"] == metric.__name__ and row.loc[0, "value"] == first.value
        json.loads(first.to_json())


def test_result_is_frozen():
    codes, factors = sample(7, n=200)
    result = dm.mig(codes, factors)
    with pytest.raises(Exception):
        result.value = 1.0
    with pytest.raises(ValueError):
        result.details["mi_matrix"][0, 0] = 1.0
    with pytest.raises(TypeError):
        result.details["new"] = 1


def test_non_finite_values_survive_json():
    result = dm.MetricResult(name="x", value=float("inf"), details={"nan": float("nan")}, params={})
    back = dm.MetricResult.from_json(result.to_json())
    assert back.value == float("inf") and np.isnan(back.details["nan"])


# ---- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "codes, factors, message",
    [
        (np.zeros(10), np.zeros((10, 1), int), r"codes must be 2-D.*codes\[:, None\]"),
        (np.zeros((10, 2)), np.zeros(10, int), r"factors must be 2-D.*factors\[:, None\]"),
        (np.zeros((10, 2)), np.c_[np.arange(9) % 2, np.arange(9) % 3], r"factors has 9 rows but codes has 10"),
        (np.c_[np.arange(10.0), np.r_[np.nan, np.ones(9)]], np.c_[np.arange(10) % 2], r"NaN or infinite.*row 0"),
        (np.c_[np.arange(10.0), np.r_[np.inf, np.ones(9)]], np.c_[np.arange(10) % 2], r"NaN or infinite"),
        (np.zeros((1, 2)), np.zeros((1, 1), int), r"at least 2 samples"),
        (np.random.default_rng(0).normal(size=(10, 2)), np.c_[np.arange(10) % 2, np.ones(10, int)], r"factors\[:, 1\] takes a single value"),
        (np.random.default_rng(0).normal(size=(10, 2)), np.c_[np.linspace(0, 1, 10)], r"integer factor indices.*np.unique"),
        (np.random.default_rng(0).normal(size=(10, 1)), np.c_[np.arange(10) % 2], r"at least 2 dimension.*two"),
        (np.array([["a", "b"], ["c", "d"]]), np.zeros((2, 1), int), r"codes must be a numeric array"),
        (np.zeros((4, 2), dtype=complex), np.c_[np.arange(4) % 2], r"real-valued"),
    ],
)
def test_mig_validation_errors(codes, factors, message):
    with pytest.raises(ValueError, match=message):
        dm.mig(codes, factors)


def test_other_validation_errors():
    codes, factors = sample(0, n=100)
    with pytest.raises(ValueError, match="bins must be an integer >= 2"):
        dm.mig(codes, factors, bins=1)
    with pytest.raises(ValueError, match="bins must be an integer"):
        dm.modularity(codes, factors, bins=2.5)
    with pytest.raises(ValueError, match="at least two factors"):
        dm.modularity(codes, factors[:, :1])
    with pytest.raises(ValueError, match="at least 2 dimension"):
        dm.latent_mutual_info(codes[:, :1])
    with pytest.raises(ValueError, match="tr C = 0"):
        dm.gaussian_wasserstein_correlation_normalized(np.ones((10, 3)))


def test_integral_floats_and_booleans_are_accepted_as_factors():
    codes, factors = sample(0, n=300)
    assert dm.mig(codes, factors.astype(float)).value == dm.mig(codes, factors).value
    assert np.isfinite(dm.mig(codes, factors[:, :1] > 1).value)


def test_the_old_python_name_of_the_mutual_info_score_warns_and_gives_the_same_numbers():
    codes = np.random.default_rng(0).normal(size=(300, 3))
    with pytest.warns(DeprecationWarning, match="latent_mutual_info"):
        old = dm.mutual_info_score(codes)
    assert old.to_json() == dm.latent_mutual_info(codes).to_json()
    from dismetrics.metrics.registry import get_metric

    assert get_metric("latent_mutual_info").name == "mutual_info_score"  # the table name stays disentanglement_lib's
