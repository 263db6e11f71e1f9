"""evaluate(): every metric in one call, repeats with independent seeds, summaries."""

import numpy as np
from scipy import stats
import pandas as pd
import pytest

from dismetrics import MetricResult, evaluate, factor_vae_score, mig, summarize
from dismetrics.evaluate import available_metrics, repeat_seeds
from dismetrics.data import FactorGrid

SIZES = [3, 6, 10, 8]
SMALL = {
    "beta_vae": {"n_train": 300, "n_eval": 200},
    "factor_vae": {"n_train": 300, "n_eval": 200, "n_variance": 1000},
}


@pytest.fixture(scope="module")
def grid():
    return FactorGrid(SIZES, observe=lambda f, rng: f + rng.normal(0, 0.2, f.shape))


def identity(x):
    return np.asarray(x, dtype=np.float64)


def test_every_metric_in_one_call(grid):
    frame = evaluate(identity, grid, n=1000, metric_params=SMALL)
    assert list(frame.columns[:5]) == ["metric", "value", "repeat", "seed", "seconds"]
    from dismetrics.metrics.registry import get_metric

    assert set(frame["metric"]) == {name for name in available_metrics() if get_metric(name).in_all}
    assert {"mig", "beta_vae", "factor_vae"} <= set(frame["metric"])
    values = frame.set_index("metric")["value"]
    assert values["beta_vae"] >= 0.99 and values["factor_vae"] == 1.0 and values["mig"] > 0.5
    assert (frame["seconds"] >= 0).all() and (frame["repeat"] == 0).all()
    assert frame.loc[frame["metric"] == "factor_vae", "detail.num_active_dims"].item() == len(SIZES)


def test_rows_are_reproducible_from_their_seed(grid):
    frame = evaluate(identity, grid, ["factor_vae", "mig"], n=800, repeats=2, random_state=3, metric_params=SMALL)
    assert len(frame) == 4 and sorted(frame["repeat"].unique()) == [0, 1]
    seeds = repeat_seeds(3, 2)
    assert frame["seed"].tolist() == [seeds[0], seeds[0], seeds[1], seeds[1]]
    assert seeds[0] != seeds[1]
    row = frame[(frame["metric"] == "factor_vae") & (frame["repeat"] == 1)]
    alone = factor_vae_score(identity, grid, random_state=seeds[1], **SMALL["factor_vae"])
    assert alone.value == row["value"].item()
    rng = np.random.default_rng(seeds[0])
    factors = grid.sample_factors(800, rng)
    codes = grid.sample_observations_from_factors(factors, rng)
    assert mig(codes, factors).value == frame.loc[(frame["metric"] == "mig") & (frame["repeat"] == 0), "value"].item()


def test_deterministic_and_seed_dependent(grid):
    a = evaluate(identity, grid, "mig", n=500, repeats=3, random_state=7)
    b = evaluate(identity, grid, "mig", n=500, repeats=3, random_state=7)
    c = evaluate(identity, grid, "mig", n=500, repeats=3, random_state=8)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))
    assert not np.array_equal(a["value"], c["value"])
    assert a["value"].nunique() == 3  # independent repeats


def test_repeat_seeds_follow_seed_sequence_spawn():
    children = np.random.SeedSequence(5).spawn(3)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
    assert repeat_seeds(5, 3) == expected
    assert repeat_seeds(5, 2) == expected[:2]  # more repeats extend, never reshuffle
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    assert repeat_seeds(g1, 2) == repeat_seeds(g2, 2)


@pytest.fixture
def register():
    """Register specs for one test; unregistered afterwards."""
    from dismetrics.metrics.registry import MetricSpec, register_metric, unregister_metric

    names = []

    def add(name, func, kind, **fields):
        register_metric(MetricSpec(name=name, func=func, kind=kind, title=name, **fields))
        names.append(name)

    yield add
    for name in names:
        unregister_metric(name)


def test_runs_metrics_registered_later_with_the_arguments_their_spec_declares(grid, register):
    calls = {}

    def with_test(codes, factors, *, codes_test, factors_test, random_state=None, bins=3):
        calls["with_test"] = (codes.shape, codes_test.shape, factors_test.shape, random_state, bins)
        return MetricResult("with_test", 0.5, details={"extra": 1.0})

    def plain_float(codes, factors):
        calls["plain_float"] = codes.shape
        return 0.25

    def unsupervised(codes, *, random_state=None):
        calls.setdefault("unsupervised", []).append((codes.shape, random_state))
        return MetricResult("unsupervised", float(codes.std()))

    register("with_test", with_test, "sample", takes_test=True, random=True)
    register("plain_float", plain_float, "sample", aliases=("plain",))
    register("unsupervised", unsupervised, "unsupervised", value_range=(0.0, None), direction="lower")
    frame = evaluate(
        identity, grid, ["with_test", "plain", "unsupervised"], n=300, n_test=120,
        metric_params={"with_test": {"bins": 9}},
    )
    seed = repeat_seeds(0, 1)[0]
    assert calls["with_test"] == ((300, 4), (120, 4), (120, 4), seed, 9)
    assert calls["plain_float"] == (300, 4)
    assert calls["unsupervised"] == [((300, 4), None)]  # not random: no random_state; no logvar: no sampled variant
    assert frame["metric"].tolist() == ["with_test", "plain_float", "unsupervised"]  # aliases come back canonical
    assert frame.loc[0, "detail.extra"] == 1.0 and frame.loc[1, "value"] == 0.25


def test_sampled_variant_of_unsupervised_scores(grid, register):
    register("spread", lambda codes: float(codes.std(axis=0).mean()), "unsupervised", value_range=(0.0, None))
    encoder = lambda x: (identity(x), np.full(np.shape(x), np.log(100.0)))  # sigma = 10
    frame = evaluate(encoder, grid, ["spread"], n=2000).set_index("metric")["value"]
    assert frame["spread_sampled"] > 3 * frame["spread"]
    only_mean = evaluate(encoder, grid, ["spread"], n=2000, sampled=False)
    assert only_mean["metric"].tolist() == ["spread"]


def test_summarize(grid):
    frame = evaluate(identity, grid, "mig", n=400, repeats=5)
    summary = summarize(frame)
    values = frame["value"].to_numpy()
    row = summary.loc["mig"]
    assert row["n_repeats"] == 5
    assert row["mean"] == pytest.approx(values.mean()) and row["std"] == pytest.approx(values.std(ddof=1))
    # the default interval is Student's t over the repeats (scipy as the independent computation)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert row["ci_low"] == pytest.approx(low) and row["ci_high"] == pytest.approx(high)
    assert row["ci_method"] == "t" and row["n_failed"] == 0
    pd.testing.assert_frame_equal(summary, summarize(frame))
    one = summarize(frame.iloc[:1]).loc["mig"]  # one value: no interval, said as such
    assert np.isnan(one["std"]) and np.isnan(one["ci_low"]) and np.isnan(one["ci_high"]) and "no interval" in one["ci_note"]
    percentile = summarize(frame, method="percentile").loc["mig"]
    assert percentile["ci_method"] == "percentile" and values.min() <= percentile["ci_low"] <= percentile["ci_high"] <= values.max()
    with pytest.warns(DeprecationWarning, match="n_boot"):
        summarize(frame, method="percentile", n_boot=100)
    with pytest.raises(ValueError, match="confidence"):
        summarize(frame, confidence=1.5)
    with pytest.raises(ValueError, match="missing"):
        summarize(pd.DataFrame({"x": [1]}))


def test_wtc_paper_preset_defaults(grid):
    frame = evaluate(identity, grid, "mig", preset="wtc_paper", repeats=2)
    assert len(frame) == 2  # repeats overridden; n from the preset (12,800) is accepted


def test_errors(grid):
    with pytest.raises(ValueError, match="unknown metric.*'nope'.*known metrics.*factor_vae"):
        evaluate(identity, grid, ["mig", "nope"])
    with pytest.raises(ValueError, match="metric_params"):
        evaluate(identity, grid, "mig", n=100, metric_params={"nope": {}})
    with pytest.raises(ValueError, match="repeats"):
        evaluate(identity, grid, "mig", repeats=0)
    with pytest.raises(ValueError, match="at least one"):
        evaluate(identity, grid, [])
    with pytest.raises(ValueError, match="NaN"):
        evaluate(lambda x: np.full((len(x), 2), np.nan), grid, "mig", n=100)
    with pytest.raises(ValueError, match="sampler"):
        evaluate(identity, object(), "mig")
