"""dismetrics.intervals: the coverage of the default interval, its degenerate cases, and the two-level
summary of a score table (evaluation noise per model dir, training-seed noise per configuration)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dismetrics.intervals import (
    CONFIG_COLUMNS,
    METHODS,
    evaluation_level,
    mean_interval,
    mean_intervals,
    seed_level,
    summarize_levels,
)


@pytest.mark.parametrize("n", [3, 5, 10, 30])
def test_t_interval_covers_the_mean_of_normal_values_at_nominal(n):
    """The coverage test: 20,000 seeded trials per n (Monte Carlo standard error 0.15 points), within 2
    points of 95%. The percentile bootstrap, the old default, misses by far at 3 and 5 values."""
    rng = np.random.default_rng([2024, n])
    samples = rng.normal(0.3, 0.05, size=(20_000, n))
    low, high = mean_intervals(samples)
    coverage = np.mean((low <= 0.3) & (0.3 <= high))
    assert abs(coverage - 0.95) < 0.02, coverage


@pytest.mark.parametrize("n, at_most", [(3, 0.80), (5, 0.88)])
def test_percentile_bootstrap_undercovers_with_few_repeats(n, at_most):
    rng = np.random.default_rng([7, n])
    samples = rng.normal(size=(1_000, n))
    low, high = mean_intervals(samples, method="percentile", n_resamples=999, random_state=0)
    assert np.mean((low <= 0) & (0 <= high)) < at_most


def test_seed_level_interval_covers_the_configuration_mean_where_pooling_does_not():
    """Two levels, normal: 3 seeds x 5 repeats, seed noise 2x the evaluation noise. The t interval over
    the per-seed means covers the configuration's mean at 95%; one interval over the 15 values pooled
    (as if they were independent) covers about 59% (benchmarks/interval_coverage.py)."""
    rng = np.random.default_rng(11)
    trials, seeds, repeats = 20_000, 3, 5
    values = rng.normal(0, 1.0, size=(trials, seeds, 1)) + rng.normal(0, 0.5, size=(trials, seeds, repeats))
    low, high = mean_intervals(values.mean(axis=2))
    assert abs(np.mean((low <= 0) & (0 <= high)) - 0.95) < 0.02
    low, high = mean_intervals(values.reshape(trials, -1))
    assert np.mean((low <= 0) & (0 <= high)) < 0.7


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_t_interval_is_scipy_t_interval(confidence):
    values = np.array([0.41, 0.47, 0.39, 0.52, 0.45])
    interval = mean_interval(values, confidence=confidence)
    low, high = stats.t.interval(confidence, values.size - 1, loc=values.mean(), scale=stats.sem(values))
    assert interval.low == pytest.approx(low, rel=1e-12) and interval.high == pytest.approx(high, rel=1e-12)
    assert interval.mean == pytest.approx(values.mean()) and interval.n == 5 and interval.method == "t"
    assert interval.note == "" and interval.defined and interval.confidence == confidence


def test_fewer_than_two_values_give_no_interval_and_equal_values_a_point():
    for method in METHODS:
        one = mean_interval([0.7], method=method)
        assert math.isnan(one.low) and math.isnan(one.high) and one.mean == 0.7 and one.n == 1
        assert not one.defined and "fewer than 2" in one.note
        none = mean_interval([], method=method)
        assert math.isnan(none.mean) and none.n == 0 and not none.defined and none.note == "no values"
        flat = mean_interval([0.25, 0.25, 0.25], method=method)
        assert (flat.low, flat.high, flat.mean) == (0.25, 0.25, 0.25) and flat.defined and "equal" in flat.note
    low, high = mean_intervals(np.ones((4, 1)))
    assert np.isnan(low).all() and np.isnan(high).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="finite"):
        mean_interval([0.1, float("nan"), 0.3])
    with pytest.raises(ValueError, match="finite"):
        mean_interval([0.1, float("inf")])
    with pytest.raises(ValueError, match="method must be one of"):
        mean_interval([0.1, 0.2], method="normal")
    with pytest.raises(ValueError, match="confidence"):
        mean_interval([0.1, 0.2], confidence=95)
    with pytest.raises(ValueError, match="1-D"):
        mean_interval([[0.1, 0.2]])
    with pytest.raises(ValueError, match="n_resamples"):
        mean_interval([0.1, 0.2], method="bca", n_resamples=10)


def test_bootstrap_intervals_are_seeded_and_sane():
    values = np.array([0.41, 0.47, 0.39, 0.52, 0.45, 0.50])
    for method in ("bca", "percentile"):
        first = mean_interval(values, method=method, random_state=3)
        assert first == mean_interval(values, method=method, random_state=3)
        assert values.min() <= first.low < first.mean < first.high <= values.max()
        # vectorized over rows: each row is the interval of that row
        low, high = mean_intervals(np.stack([values, values + 1]), method=method, random_state=3, n_resamples=999)
        assert low[1] == pytest.approx(low[0] + 1, abs=0.02) and high[1] == pytest.approx(high[0] + 1, abs=0.02)
    # the t interval is wider than the bootstrap ones at small n: that is its coverage
    assert mean_interval(values).half_width > mean_interval(values, method="percentile").half_width


def _table():
    """2 configurations x 2 seeds x 2 repeats, and one failed repeat, one seed with one value left."""
    rows = []
    values = {  # (model, beta, seed) -> values of the repeats
        ("beta_vae", 1.0, 0): [0.10, 0.14],
        ("beta_vae", 1.0, 1): [0.30, 0.34],
        ("beta_vae", 8.0, 0): [0.50, 0.50],
        ("beta_vae", 8.0, 1): [0.60, np.nan],
    }
    for (model, beta, seed), repeats in values.items():
        for repeat, value in enumerate(repeats):
            rows.append({"model_dir": f"runs/{model}_beta={beta:g}_seed{seed}", "model": model, "dataset": "toy",
                         "model_seed": seed, "regularization": "beta", "regularization_value": beta,
                         "recon_error": 1.0, "steps": 100, "metric": "mig", "value": value, "repeat": repeat,
                         "seed": 1000 + repeat, "seconds": 0.1, "error": "" if np.isfinite(value) else "constant code"})
    rows.append({"model_dir": "runs/broken", "model": None, "dataset": None, "metric": None, "value": None,
                 "error": "does not exist"})
    return pd.DataFrame(rows)


def test_evaluation_level_is_per_model_dir():
    models = evaluation_level(_table()).set_index("model_dir")
    assert list(models.index) == ["runs/beta_vae_beta=1_seed0", "runs/beta_vae_beta=1_seed1",
                                  "runs/beta_vae_beta=8_seed0", "runs/beta_vae_beta=8_seed1"]  # the failed dir has no metric
    first = models.loc["runs/beta_vae_beta=1_seed0"]
    assert first["n_repeats"] == 2 and first["n_failed"] == 0 and first["mean"] == pytest.approx(0.12)
    assert first["std"] == pytest.approx(np.std([0.10, 0.14], ddof=1))
    half = stats.t.ppf(0.975, 1) * np.std([0.10, 0.14], ddof=1) / np.sqrt(2)
    assert (first["ci_low"], first["ci_high"]) == pytest.approx((0.12 - half, 0.12 + half))
    assert first["ci_method"] == "t" and first["model_seed"] == 0 and first["regularization_value"] == 1.0
    flat = models.loc["runs/beta_vae_beta=8_seed0"]
    assert flat["ci_low"] == flat["ci_high"] == 0.5 and "equal" in flat["ci_note"]
    failed = models.loc["runs/beta_vae_beta=8_seed1"]
    assert failed["n_repeats"] == 1 and failed["n_failed"] == 1 and failed["mean"] == 0.6
    assert np.isnan(failed["ci_low"]) and "fewer than 2" in failed["ci_note"]


def test_seed_level_is_the_two_stage_mean_per_configuration():
    seeds = seed_level(_table())
    assert list(seeds.columns[:6]) == [*CONFIG_COLUMNS, "metric"]
    seeds = seeds.set_index("regularization_value")
    weak = seeds.loc[1.0]
    means = np.array([0.12, 0.32])
    assert weak["n_seeds"] == 2 and weak["min_repeats"] == weak["max_repeats"] == 2
    assert weak["mean"] == pytest.approx(0.22) and weak["seed_std"] == pytest.approx(means.std(ddof=1))
    low, high = stats.t.interval(0.95, 1, loc=means.mean(), scale=stats.sem(means))
    assert (weak["ci_low"], weak["ci_high"]) == pytest.approx((low, high))
    assert weak["eval_std"] == pytest.approx(np.std([0.10, 0.14], ddof=1))  # both seeds have this spread
    assert weak["train_std"] == pytest.approx(np.sqrt(means.var(ddof=1) - weak["eval_std"] ** 2 / 2))
    assert weak["model_dirs"] == "runs/beta_vae_beta=1_seed0;runs/beta_vae_beta=1_seed1"
    strong = seeds.loc[8.0]
    # each seed weighs the same although seed 1 kept one repeat: (0.5 + 0.6) / 2, not (0.5 + 0.5 + 0.6) / 3
    assert strong["mean"] == pytest.approx(0.55) and (strong["min_repeats"], strong["max_repeats"]) == (1, 2)
    assert strong["eval_std"] == 0.0  # the one model with 2 repeats did not vary
    assert strong["train_std"] == pytest.approx(np.std([0.5, 0.6], ddof=1))


def test_summarize_levels_options_reach_both_levels_and_one_seed_says_so():
    levels = summarize_levels(_table(), method="percentile", confidence=0.9, n_resamples=999)
    assert (levels.evaluation["ci_method"] == "percentile").all() and (levels.seeds["ci_method"] == "percentile").all()
    pd.testing.assert_frame_equal(levels.seeds, summarize_levels(_table(), method="percentile", confidence=0.9,
                                                                 n_resamples=999).seeds)
    single = _table()
    single = single[single["model_dir"] == "runs/beta_vae_beta=1_seed0"]
    (row,) = summarize_levels(single).seeds.itertuples()
    assert row.n_seeds == 1 and np.isnan(row.ci_low) and row.ci_note == "1 seed: no interval over seeds"


def test_tables_without_model_columns():
    """evaluate()'s own table (no model_dir) is one model; dirs without a config are each their own
    configuration, not seeds of one."""
    frame = pd.DataFrame({"metric": ["mig", "mig", "mig", "sap", "sap", "sap"], "value": [0.2, 0.3, 0.25, 0.1, np.nan, 0.1],
                          "error": ["", "", "", "", "boom", ""]})
    models = evaluation_level(frame)
    assert list(models["metric"]) == ["mig", "sap"] and list(models["n_repeats"]) == [3, 2]
    assert list(models["n_failed"]) == [0, 1]
    bare = pd.DataFrame({"model_dir": ["a", "a", "b", "b"], "metric": "mig", "value": [0.1, 0.2, 0.5, 0.6]})
    seeds = seed_level(bare)
    assert list(seeds["n_seeds"]) == [1, 1] and list(seeds["model_dirs"]) == ["a", "b"]
