"""Bad input to the metric functions: one test per case of the issue (each gave NaN, inf, a wrong
number, an obscure exception, a 30 GiB allocation or a run of minutes before), plus the guards'
own promises: the limits are far above every reference usage, and the scale guards leave ordinary
codes untouched while making the scale-free scores exact over the whole float64 range.
docs/conventions.md ("Bad input") is the summary."""

from __future__ import annotations


import numpy as np
from scipy import stats
import pandas as pd
import pytest

import dismetrics as dm
from dismetrics import _validation
from dismetrics.data import FactorGrid
from dismetrics.evaluate import evaluate, evaluate_codes, summarize
from dismetrics.metrics._intervention import check_sizes


def sample(n=600, sizes=(3, 4), noise_dims=1, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, sizes, size=(n, len(sizes)))
    codes = factors + noise * rng.standard_normal(factors.shape)
    return np.hstack([codes, rng.standard_normal((n, noise_dims))]), factors


def identity(x):
    return np.asarray(x, dtype=np.float64)


GRID = FactorGrid([3, 4], observe=lambda f, rng: f + rng.normal(0.0, 0.1, f.shape))


# ---- explicitness: NaN ---------------------------------------------------------------------------

def test_explicitness_one_row_test_set_is_a_clear_error():
    codes, factors = sample()
    with pytest.raises(ValueError, match=r"factors_test\[:, 0\].*1 test point.*ROC-AUC is undefined"):
        dm.explicitness(codes, factors, codes_test=codes[:1], factors_test=factors[:1])


def test_explicitness_constant_test_factor_is_a_clear_error():
    codes, factors = sample()
    constant = np.c_[np.zeros(50, dtype=int), factors[:50, 1]]
    with pytest.raises(ValueError, match=r"factors_test\[:, 0\].*ROC-AUC is undefined"):
        dm.explicitness(codes, factors, codes_test=codes[:50], factors_test=constant)


def test_explicitness_all_distinct_factor_is_a_clear_error():
    codes, factors = sample()
    distinct = np.c_[np.arange(len(codes)), factors[:, 1]]
    with pytest.raises(ValueError, match=r"factors\[:, 0\].*random 2/3 : 1/3 split.*0 of them with a value seen"):
        dm.explicitness(codes, distinct)


# ---- Gaussian TC and Wasserstein correlation --------------------------------------------------------

def test_gaussian_tc_duplicated_dims_is_a_clear_error():
    codes, _ = sample()
    with pytest.raises(ValueError, match=r"codes has a singular covariance.*duplicated dim"):
        dm.gaussian_total_correlation(np.c_[codes, codes[:, :1]])


def test_gaussian_tc_of_huge_codes_is_the_tc_of_the_codes():
    codes, _ = sample()
    plain = dm.gaussian_total_correlation(codes).value
    assert dm.gaussian_total_correlation(codes * 1e200).value == pytest.approx(plain, rel=1e-12)
    assert dm.gaussian_total_correlation(codes * 1e-200).value == pytest.approx(plain, rel=1e-12)
    # per-dim scales, far apart: still the TC of the correlation matrix
    assert dm.gaussian_total_correlation(codes * [1e300, 1.0, 1e-300]).value == pytest.approx(plain, rel=1e-12)


def test_gaussian_wasserstein_of_huge_codes():
    codes, _ = sample()
    raw = dm.gaussian_wasserstein_correlation(codes).value
    normalized = dm.gaussian_wasserstein_correlation_normalized(codes).value
    # it grows with the square of the scale: 1e100 gives 1e200 times the value, 1e200 overflows float64
    assert dm.gaussian_wasserstein_correlation(codes * 1e100).value == pytest.approx(raw * 1e200, rel=1e-9)
    with pytest.raises(ValueError, match=r"codes is so large.*exceeds the float64 range"):
        dm.gaussian_wasserstein_correlation(codes * 1e200)
    assert dm.gaussian_wasserstein_correlation_normalized(codes * 1e200).value == pytest.approx(normalized, rel=1e-9)
    assert dm.gaussian_wasserstein_correlation_normalized(codes * 1e-100).value == pytest.approx(normalized, rel=1e-9)


# ---- scale ---------------------------------------------------------------------------------------

def test_explicitness_of_huge_and_tiny_codes_is_unchanged():
    codes, factors = sample()
    plain = dm.explicitness(codes, factors).value
    assert plain > 0.9
    for scale in (1e200, 1e-200, 1e300):
        assert dm.explicitness(codes * scale, factors).value == pytest.approx(plain, abs=1e-12)
    # a power of two is exact: the very same number
    assert dm.explicitness(codes * 2.0**700, factors).value == plain


def test_dci_refuses_codes_beyond_float32_like_the_reference():
    codes, factors = sample(300)
    for scale in (1e200, 1e39):  # 1e39 raised ZeroDivisionError from inside the numba kernel
        with pytest.raises(ValueError, match=r"codes holds values beyond the float32 range.*scikit-learn"):
            dm.dci(codes * scale, factors, n_estimators=5)
    with pytest.raises(ValueError, match=r"codes_test holds values beyond the float32 range"):
        dm.dci(codes, factors, codes_test=codes * 1e39, factors_test=factors, n_estimators=5)
    for backend in ("sklearn", "xgboost"):
        with pytest.raises(ValueError, match=r"codes holds values beyond the float32 range"):
            dm.dci(codes * 1e39, factors, n_estimators=5, backend=backend)
    # the largest float32 itself is fine
    assert np.isfinite(dm.dci(codes / np.abs(codes).max() * 3e38, factors, n_estimators=5).value)


def test_dci_refuses_codes_below_the_trees_resolution():
    codes, factors = sample(300)
    with pytest.raises(ValueError, match=r"no code dim has two neighbouring values more than 1e-07 apart"):
        dm.dci(codes * 1e-30, factors, n_estimators=5)
    with pytest.raises(ValueError, match=r"no code dim has two neighbouring values that differ"):
        dm.dci(codes * 1e-60, factors, n_estimators=5, backend="xgboost")  # 0 in float32
    # codes constant in every dim carry nothing: D = 0, as before (no error)
    assert dm.dci(np.ones((300, 3)), factors, n_estimators=5).value == 0.0


def test_dci_scale_invariance_where_it_holds():
    # Invariant while neighbouring code values stay more than 1e-7 apart (and within float32); below,
    # the trees merge them and the numbers move, with the sklearn reference alike (docs/dci.md).
    codes, factors = sample(300)
    plain = dm.dci(codes, factors, n_estimators=10)
    for scale in (1e30, 1e-2, 2.0**-8):
        moved = dm.dci(codes * scale, factors, n_estimators=10)
        assert moved.details["disentanglement"] == pytest.approx(plain.details["disentanglement"], abs=1e-9), scale
        assert moved.details["completeness"] == pytest.approx(plain.details["completeness"], abs=1e-9), scale
    assert dm.dci(codes * 1e-6, factors, n_estimators=10).value < plain.value - 0.05


def test_sap_refuses_codes_beyond_float32_instead_of_running_for_minutes(monkeypatch):
    from sklearn.svm import LinearSVC

    def no_fit(*args, **kwargs):
        raise AssertionError("a fit ran: the input should have been refused before it")

    monkeypatch.setattr(LinearSVC, "fit", no_fit)  # a refusal, not a fit
    codes, factors = sample(300)
    with pytest.raises(ValueError, match=r"codes holds values beyond the float32 range.*LinearSVC"):
        dm.sap(codes * 1e200, factors)


# ---- bins=10**9 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mig", "modularity", "mig_sup", "dcimig", "jemmig", "mutual_info_score"])
def test_huge_bins_is_refused_before_allocating(name):
    codes, factors = sample(100)
    args = (codes,) if name == "mutual_info_score" else (codes, factors)
    with pytest.raises(ValueError, match=r"bins must be at most 1,000; got 1,000,000,000\..*MAX_BINS"):
        getattr(dm, name)(*args, bins=10**9)


def test_huge_bins_of_the_other_histogram_estimators():
    codes, factors = sample(100)
    with pytest.raises(ValueError, match=r"bins must be at most 1,000"):
        dm.infom(codes, factors, mi_estimator="histogram", bins=10**9)
    with pytest.raises(ValueError, match=r"factor_bins must be at most 1,000"):
        dm.irs(codes, factors, factor_bins=10**9)


# ---- ~20,000 distinct factor values; sizes ---------------------------------------------------------

@pytest.mark.parametrize("name", ["dci", "infoe", "sap", "explicitness", "infom", "infoc"])
def test_twenty_thousand_factor_values_are_refused_at_once(name):
    rng = np.random.default_rng(1)
    factors = np.c_[rng.permutation(20_000), rng.integers(0, 4, 20_000)]
    codes = np.c_[factors + rng.standard_normal(factors.shape), rng.standard_normal(20_000)]
    with pytest.raises(ValueError, match=r"factors\[:, 0\] takes \d{1,2},\d{3} distinct values.*at most 1,000.*MAX_CLASSES"):
        getattr(dm, name)(codes, factors)


def test_evaluate_huge_n_is_refused():
    with pytest.raises(ValueError, match=r"n must be at most 10,000,000; got 1,000,000,000,000.*MAX_SAMPLES"):
        evaluate(identity, GRID, "mig", n=10**12)
    with pytest.raises(ValueError, match=r"n_test must be at most 10,000,000"):
        evaluate(identity, GRID, "dci", n=100, n_test=10**12)


def test_factor_vae_huge_batch_size_is_refused():
    with pytest.raises(ValueError, match=r"batch_size must be at most 10,000; got 1,000,000,000.*MAX_BATCH_SIZE"):
        dm.factor_vae_score(identity, GRID, batch_size=10**9)
    with pytest.raises(ValueError, match=r"n_train x batch_size = .*MAX_GROUP_OBSERVATIONS"):
        dm.factor_vae_score(identity, GRID, batch_size=5_000, n_train=20_000)
    with pytest.raises(ValueError, match=r"batch_size must be at most 10,000"):
        dm.beta_vae_score(identity, GRID, batch_size=10**9)


def test_evaluate_codes_huge_repeats_is_refused():
    codes, factors = sample(100)
    with pytest.raises(ValueError, match=r"repeats must be at most 10,000; got 1,000,000,000.*MAX_REPEATS"):
        evaluate_codes(codes, factors, "mig", repeats=10**9)
    with pytest.raises(ValueError, match=r"repeats must be at most 10,000"):
        evaluate(identity, GRID, "mig", n=100, repeats=10**9)


# ---- summarize ------------------------------------------------------------------------------------

def test_summarize_counts_nan_repeats_and_summarizes_the_rest():
    frame = pd.DataFrame({"metric": ["a", "a", "a", "b", "b"], "value": [0.5, np.nan, 0.7, 0.1, 0.2],
                          "error": ["", "codes has a singular covariance", "", "", ""]})
    summary = summarize(frame)
    a = summary.loc["a"]
    assert (a["n_repeats"], a["n_failed"]) == (2, 1)
    assert a["mean"] == pytest.approx(0.6) and a["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    low, high = stats.t.interval(0.95, 1, loc=0.6, scale=stats.sem([0.5, 0.7]))  # t over the 2 usable values
    assert a["ci_low"] == pytest.approx(low) and a["ci_high"] == pytest.approx(high)
    # the metric without failures gets exactly the interval it gets in a table without the failure
    clean = summarize(frame.assign(value=[0.5, 0.6, 0.7, 0.1, 0.2], error=""))
    assert summary.loc["b"].equals(clean.loc["b"])
    every_repeat_failed = summarize(frame.assign(value=np.nan)).loc["a"]
    assert every_repeat_failed["n_repeats"] == 0 and every_repeat_failed["n_failed"] == 3
    assert np.isnan(every_repeat_failed["mean"]) and np.isnan(every_repeat_failed["ci_low"])


def test_summarize_empty_table_gives_an_empty_summary():
    codes, factors = sample(100)
    empty = evaluate_codes(codes, factors, "mig").iloc[:0]
    summary = summarize(empty)
    assert summary.empty and list(summary.columns) == ["n_repeats", "n_failed", "mean", "std", "ci_low", "ci_high",
                                                       "ci_method", "ci_note"]
    assert summary.index.name == "metric"
    with pytest.raises(ValueError, match="n_resamples must be at most 1,000,000"):
        summarize(empty, n_resamples=10**9)


# ---- the guards' promises ----------------------------------------------------------------------------

def test_limits_are_far_above_reference_usage():
    # dSprites: 40 orientations, 32 positions; continuous factors discretized to 20 bins
    rng = np.random.default_rng(0)
    factors = np.c_[rng.permutation(4_000) % 40, rng.integers(0, 20, 4_000)]
    _validation.check_cardinality(factors, metric="x", why="y")
    assert _validation.check_bins(20) == 20 and _validation.check_bins(100) == 100
    # reference sizes of the intervention metrics (and the wtc_paper preset's 12,800 points)
    assert check_sizes(batch_size=64, minimum_batch=1, group_factor=2, n_train=(10_000, 2), n_eval=(5_000, 1))[0] == 64
    assert check_sizes(batch_size=64, minimum_batch=2, group_factor=1, n_train=(10_000, 1), n_variance=(12_800, 2))[0] == 64
    assert _validation.MAX_SAMPLES >= 1_000 * 10_000 and _validation.MAX_REPEATS >= 50 * 100
    assert _validation.MAX_CLASSES >= 25 * 40 and _validation.MAX_BINS >= 50 * 20


def test_ordinary_codes_are_not_rescaled():
    codes, _ = sample()
    scaled, exponents = _validation.scaled_to_safe_range(codes)
    assert scaled is codes and not exponents.any()
    huge, exponents = _validation.scaled_to_safe_range(codes * [1e200, 1.0, 1e-200])
    assert exponents[1] == 0 and exponents[0] > 600 and exponents[2] < -600
    assert np.abs(huge).max(axis=0)[[0, 2]] == pytest.approx([1, 1], abs=0.5)


@pytest.mark.parametrize("name", ["explicitness", "irs", "infoe", "infom", "infoc"])
def test_scale_free_scores_are_exact_over_the_float64_range(name):
    # Powers of two far outside the safe range: the same number, bit for bit (codes x 2**k are exact).
    codes, factors = sample(300)
    plain = getattr(dm, name)(codes, factors).value
    for exponent in (-900, 700, 1000):
        assert getattr(dm, name)(codes * 2.0**exponent, factors).value == plain, exponent


def test_unsupervised_scale_free_scores_over_the_float64_range():
    codes, _ = sample()
    plain = dm.gaussian_wasserstein_correlation_normalized(codes).value
    tc = dm.gaussian_total_correlation(codes).value
    for exponent in (-900, 700, 1000):
        # one common power of two: the very same number
        assert dm.gaussian_wasserstein_correlation_normalized(codes * 2.0**exponent).value == plain, exponent
        # per-dim powers of two: the same up to rounding (the LU of slogdet pivots on the scaled matrix)
        assert dm.gaussian_total_correlation(codes * 2.0**exponent).value == pytest.approx(tc, rel=1e-12), exponent


def test_range_overflow_is_a_clear_error():
    codes, factors = sample(100)
    spread = codes.copy()
    spread[:, 0] = np.where(codes[:, 0] > 1, 1.5e308, -1.5e308)  # max - min overflows float64
    with pytest.raises(ValueError, match=r"codes\[:, 0\] spans a range.*beyond the largest float64"):
        dm.mig(spread, factors)
    with pytest.raises(ValueError, match=r"codes\[:, 0\] spans a range.*float32.*astype\(np.float64\)"):
        dm.wdg(spread.clip(-3e38, 3e38).astype(np.float32), factors)


def test_float_factors_beyond_int64_are_a_clear_error():
    codes, factors = sample(100)
    with pytest.raises(ValueError, match=r"factors holds values of magnitude 3e\+300"):
        dm.mig(codes, factors * 1e300)


# ---- found by the fuzz suite ---------------------------------------------------------------------------

def test_dci_es_refuses_a_lowest_loss_above_the_probes_losses():
    codes, factors = sample(300)
    with pytest.raises(ValueError, match=r"lowest_loss=0.5 is above the test loss .* for factors\[:, 0\]"):
        dm.dci_es(codes, factors, capacities=(1, 2), n_estimators=3, lowest_loss=0.5)  # E was 2.0
    assert 0.0 <= dm.dci_es(codes, factors, capacities=(1, 2), n_estimators=3, lowest_loss=0.01).value <= 1.0


def test_dci_es_constant_test_factor_is_a_clear_error():
    codes, factors = sample(12)
    factors = np.c_[factors[:, 0], np.r_[np.zeros(11, dtype=int), 1]]  # one point of value 1
    with pytest.raises(ValueError, match=r"factors\[:, 1\] takes a single value in the test part"):
        dm.dci_es(codes, factors, capacities=(1, 2), n_estimators=3, random_state=0)


def test_wdg_std_normalization_over_the_float64_range():
    codes, factors = sample(300)
    plain = dm.wdg(codes, factors, normalize="std").value
    for exponent in (-1000, 1000):  # the std underflowed to 0 (dim left raw) or overflowed to inf (gap 0)
        assert dm.wdg(codes * 2.0**exponent, factors, normalize="std").value == plain


def test_dci_tree_node_without_a_candidate_split_becomes_a_leaf():
    """A node whose samples differ by less than the trees' 1e-7 resolution on every dim cannot be split
    (sklearn makes it a leaf). The numba boosting kept it open for the next level, where its stale
    running sums gave an empty right side: ZeroDivisionError inside the kernel (met on the codes of a
    3-step model). Here cluster 1 has class noise but no split; the numba backend agrees with sklearn."""
    rng = np.random.default_rng(0)
    n = 600
    cluster = rng.integers(0, 2, n)
    spread_in_cluster_0 = np.where(cluster == 0, rng.normal(size=n), 0.5 + 1e-9 * rng.normal(size=n))
    codes = np.c_[cluster + 1e-9 * rng.normal(size=n), spread_in_cluster_0]
    factors = (2 * cluster + rng.integers(0, 2, n))[:, None]
    ours = dm.dci(codes, factors, random_state=0, n_estimators=5)
    reference = dm.dci(codes, factors, random_state=0, n_estimators=5, backend="sklearn")
    assert np.isfinite(ours.value)
    assert ours.value == pytest.approx(reference.value, abs=0.05)
    assert ours.details["informativeness_test"] == pytest.approx(reference.details["informativeness_test"], abs=0.05)
