"""beta-VAE and FactorVAE scores: known answers, the reference procedure, presets, factors=, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dismetrics import MetricResult, as_representation, beta_vae_score, factor_vae_score
from dismetrics.data import FactorGrid

SIZES = [3, 6, 10, 8, 8]
NAMES = ["shape", "scale", "orientation", "x", "y"]
SMALL_BETA = dict(n_train=400, n_eval=400)
SMALL_FACTOR = dict(n_train=400, n_eval=400, n_variance=2000)


@pytest.fixture(scope="module")
def grid():
    return FactorGrid(SIZES, factor_names=NAMES)


@pytest.fixture(scope="module")
def noisy_grid():
    """Observations = factor indices plus Gaussian noise drawn from the metric's rng."""
    return FactorGrid(SIZES, observe=lambda f, rng: f + rng.normal(0.0, 0.3, f.shape), factor_names=NAMES)


def identity(x):
    return np.asarray(x, dtype=np.float64)


def mixed(x):
    """Factors scaled to [0, 1], the first two rotated by 45 degrees, plus two constant dims."""
    z = np.asarray(x, dtype=np.float64) / (np.asarray(SIZES) - 1)
    a, b = z[:, 0], z[:, 1]
    return np.column_stack([(a + b) / np.sqrt(2), (a - b) / np.sqrt(2), z[:, 2:], np.zeros((len(z), 2))])


def noise_representation(seed=0, d=6):
    rng = np.random.default_rng(seed)
    return lambda x: rng.standard_normal((len(x), d))


# ---- known answers ---------------------------------------------------------------------------


def test_identity_scores_one(grid):
    beta = beta_vae_score(identity, grid, **SMALL_BETA)
    factor = factor_vae_score(identity, grid, **SMALL_FACTOR)
    assert beta.value >= 0.99 and beta.details["train_accuracy"] >= 0.99
    assert factor.value == 1.0 and factor.details["train_accuracy"] == 1.0
    assert factor.details["num_active_dims"] == 5
    np.testing.assert_array_equal(factor.details["classifier"], np.arange(5))


def test_noise_codes_score_near_chance(grid):
    chance = 1 / len(SIZES)
    beta = beta_vae_score(noise_representation(1), grid, n_train=500, n_eval=1000)
    factor = factor_vae_score(noise_representation(2), grid, n_train=500, n_eval=1000, n_variance=2000)
    assert abs(beta.value - chance) < 0.08
    assert abs(factor.value - chance) < 0.08 + 0.1  # the majority vote overfits a little to the train votes


def test_constant_codes(grid):
    const = lambda x: np.full((len(x), 4), 3.0)
    factor = factor_vae_score(const, grid, **SMALL_FACTOR)
    assert factor.value == 0.0 and factor.details["num_active_dims"] == 0
    assert np.all(factor.details["classifier"] == -1)
    beta = beta_vae_score(const, grid, n_train=500, n_eval=1000)
    assert abs(beta.value - 1 / len(SIZES)) < 0.08


def test_num_active_dims_is_the_real_count(grid):
    result = factor_vae_score(mixed, grid, **SMALL_FACTOR)
    assert result.details["num_active_dims"] == 5 and result.details["n_dims"] == 7
    np.testing.assert_array_equal(result.details["active_dims"], [True] * 5 + [False] * 2)
    assert np.all(result.details["train_votes"][:, 5:] == 0)


# ---- agreement with the reference procedure ----------------------------------------------------


def reference_factor_vae(representation, sampler, rng, batch_size=64, n_train=1500, n_eval=1500, n_var=2000):
    """disentanglement_lib's factor_vae.py, one batch of 64 per call (RandomState -> Generator)."""
    obs = sampler.sample_observations_from_factors(sampler.sample_factors(n_var, rng), rng)
    reps = np.concatenate([representation(obs[i : i + 64]) for i in range(0, n_var, 64)])
    global_var = np.var(reps, axis=0, ddof=1)
    active = np.sqrt(global_var) >= 0.05

    def batch(n):
        votes = np.zeros((len(sampler.factor_sizes), global_var.shape[0]), dtype=np.int64)
        for _ in range(n):
            k = rng.integers(len(sampler.factor_sizes))
            factors = sampler.sample_factors(batch_size, rng)
            factors[:, k] = factors[0, k]
            local = np.var(representation(sampler.sample_observations_from_factors(factors, rng)), axis=0, ddof=1)
            votes[k, np.argmin(local[active] / global_var[active])] += 1
        return votes

    train = batch(n_train)
    classifier = np.argmax(train, axis=0)
    evals = batch(n_eval)
    return np.sum(evals[classifier, np.arange(evals.shape[1])]) / np.sum(evals)


def reference_beta_vae(representation, sampler, rng, batch_size=64, n_train=600, n_eval=600):
    """disentanglement_lib's beta_vae.py with today's sklearn LogisticRegression defaults."""
    from sklearn.linear_model import LogisticRegression

    def batch(n):
        points, labels = np.zeros((n, representation(np.zeros((1, 5))).shape[1])), np.zeros(n, dtype=np.int64)
        for i in range(n):
            k = rng.integers(len(sampler.factor_sizes))
            f1, f2 = sampler.sample_factors(batch_size, rng), sampler.sample_factors(batch_size, rng)
            f2[:, k] = f1[:, k]
            z1 = representation(sampler.sample_observations_from_factors(f1, rng))
            z2 = representation(sampler.sample_observations_from_factors(f2, rng))
            points[i], labels[i] = np.mean(np.abs(z1 - z2), axis=0), k
        return points, labels

    model = LogisticRegression(max_iter=100).fit(*batch(n_train))
    return model.score(*batch(n_eval))


def hard_representation(x):
    """A code with heavy noise, so the scores sit well inside (0, 1)."""
    z = mixed(np.asarray(x)[:, :5])
    return z + np.random.default_rng(int(np.asarray(x).sum() * 1000) % 2**32).normal(0, 0.25, z.shape)


def test_factor_vae_agrees_with_the_reference_loop(noisy_grid):
    ours = factor_vae_score(hard_representation, noisy_grid, n_train=1500, n_eval=1500, n_variance=2000, random_state=5)
    ref = reference_factor_vae(hard_representation, noisy_grid, np.random.default_rng(6))
    assert 0.2 < ours.value < 0.95
    # two independent estimates of the same accuracy from 1500 votes each
    assert abs(ours.value - ref) < 0.06


def test_beta_vae_agrees_with_the_reference_loop(noisy_grid):
    ours = beta_vae_score(hard_representation, noisy_grid, n_train=600, n_eval=600, random_state=5)
    ref = reference_beta_vae(hard_representation, noisy_grid, np.random.default_rng(6))
    assert 0.3 < ours.value < 0.99
    assert abs(ours.value - ref) < 0.08


# ---- options -------------------------------------------------------------------------------


def test_factors_subset_by_name_and_index(grid):
    by_name = factor_vae_score(identity, grid, factors=["orientation", "x"], **SMALL_FACTOR)
    by_index = factor_vae_score(identity, grid, factors=[3, 2], **SMALL_FACTOR)
    assert by_name == by_index
    np.testing.assert_array_equal(by_name.details["factors"], [2, 3])
    assert by_name.details["train_votes"].shape == (2, 5)
    assert by_name.params["factors"] == "orientation,x"
    beta = beta_vae_score(identity, grid, factors=["scale", "orientation", "x", "y"], **SMALL_BETA)
    assert beta.value >= 0.99 and beta.details["eval_accuracy_per_factor"].shape == (4,)


def test_factors_subset_only_fixes_the_chosen_factors(grid):
    seen = []

    def spy(x):
        seen.append(np.asarray(x).copy())
        return identity(x)

    factor_vae_score(spy, grid, factors=["x"], n_train=20, n_eval=20, n_variance=100, chunk_size=64,
                     encoding="direct")  # the encoder sees the drawn batches (a table would ask for new rows only)
    groups = seen[2:]  # the variance sample comes first, in two calls (64 + 36 points)
    assert [len(g) for g in seen[:2]] == [64, 36] and len(groups) == 40
    for g in groups:
        assert np.unique(g[:, 3]).size == 1  # x is fixed in every vote batch
        assert np.unique(g[:, 2]).size > 1


def test_wtc_paper_preset_counts_collapsed_dims_on_the_variance(grid):
    # dim 5 has std 0.1 (variance 0.01): active for disentanglement_lib (std >= 0.05), collapsed in the
    # WTC paper (variance < 0.05).
    rep = lambda x: np.column_stack([identity(x), 0.1 * np.random.default_rng(len(x)).standard_normal(len(x))])
    lib = factor_vae_score(rep, grid, n_train=200, n_eval=200, n_variance=1000)
    wtc = factor_vae_score(rep, grid, preset="wtc_paper", n_train=200, n_eval=200, n_variance=1000)
    assert lib.details["num_active_dims"] == 6 and wtc.details["num_active_dims"] == 5
    assert wtc.params["active_on"] == "variance" and wtc.params["preset"] == "wtc_paper"
    # the preset's own variance sample size, and a single override of it
    assert factor_vae_score(identity, grid, preset="wtc_paper", n_train=10, n_eval=10).params["n_variance"] == 12800
    assert lib.params["n_variance"] == 1000


def test_reference_defaults_are_recorded(grid):
    result = factor_vae_score(identity, grid, n_train=10, n_eval=10)
    assert result.params["batch_size"] == 64 and result.params["n_variance"] == 10000
    assert result.params["active_threshold"] == 0.05 and result.params["active_on"] == "std"
    beta = beta_vae_score(identity, grid, n_train=50, n_eval=10)
    assert beta.params["logistic"] == "lbfgs" and beta.params["max_iter"] == 100 and beta.params["n_eval"] == 10


def test_liblinear_ovr_option(grid):
    result = beta_vae_score(identity, grid, logistic="liblinear_ovr", **SMALL_BETA)
    assert result.value >= 0.95 and result.params["logistic"] == "liblinear_ovr"


# ---- determinism and invariances ----------------------------------------------------------------


def test_same_seed_bit_identical_other_seed_differs(noisy_grid):
    for metric, kwargs in ((beta_vae_score, SMALL_BETA), (factor_vae_score, SMALL_FACTOR)):
        a = metric(hard_representation, noisy_grid, random_state=11, **kwargs)
        b = metric(hard_representation, noisy_grid, random_state=11, **kwargs)
        c = metric(hard_representation, noisy_grid, random_state=12, **kwargs)
        assert a == b and a.to_json() == b.to_json()
        assert a.details["train_accuracy"] != c.details["train_accuracy"] or a.value != c.value


def test_generator_random_state_is_used(grid):
    a = factor_vae_score(mixed, grid, random_state=np.random.default_rng(4), **SMALL_FACTOR)
    b = factor_vae_score(mixed, grid, random_state=np.random.default_rng(4), **SMALL_FACTOR)
    assert a == b


def test_chunk_size_does_not_change_the_numbers(grid):
    rep = lambda x: mixed(x) + np.sin(np.asarray(x) @ np.arange(1, 6))[:, None] * 0.3
    for metric, kwargs in ((beta_vae_score, SMALL_BETA), (factor_vae_score, SMALL_FACTOR)):
        a = metric(rep, grid, chunk_size=128, **kwargs)
        b = metric(rep, grid, chunk_size=100_000, **kwargs)
        assert a.value == b.value and a.details["train_accuracy"] == b.details["train_accuracy"]


@settings(max_examples=25, deadline=None)
@given(
    perm=st.permutations(range(7)),
    scale=st.lists(st.floats(0.5, 20.0), min_size=7, max_size=7),
    shift=st.floats(-5.0, 5.0),
)
def test_factor_vae_invariant_to_dim_permutation_rescaling_and_shift(perm, scale, shift):
    # positive per-dim scaling keeps every active dim active here (smallest std 0.25 * 0.5 >= 0.05)
    grid = FactorGrid(SIZES, observe=lambda f, rng: f + rng.normal(0.0, 0.3, f.shape))
    kwargs = dict(n_train=150, n_eval=150, n_variance=600, random_state=2)
    base = factor_vae_score(hard_representation, grid, **kwargs)
    perm, scale = np.asarray(perm), np.asarray(scale)
    moved = factor_vae_score(lambda x: (hard_representation(x) * scale + shift)[:, perm], grid, **kwargs)
    assert moved.value == base.value and moved.details["train_accuracy"] == base.details["train_accuracy"]
    assert moved.details["num_active_dims"] == base.details["num_active_dims"]


def test_result_round_trips_json(grid):
    result = factor_vae_score(identity, grid, **SMALL_FACTOR)
    assert MetricResult.from_json(result.to_json()) == result


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", [beta_vae_score, factor_vae_score])
def test_representation_errors_are_clear(metric, grid):
    kwargs = SMALL_BETA if metric is beta_vae_score else SMALL_FACTOR
    with pytest.raises(ValueError, match="'wrong'.*2-D"):
        metric(as_representation(lambda x: x[:, 0], name="wrong"), grid, **kwargs)
    with pytest.raises(ValueError, match="NaN"):
        metric(lambda x: np.full((len(x), 3), np.nan), grid, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"factors": ["colour"]}, "unknown factor name 'colour'"),
        ({"factors": [7]}, "out of range"),
        ({"factors": [1.5]}, "indices or names"),
        ({"preset": "mine"}, "preset"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_train": -3}, "n_train"),
        ({"random_state": "seed"}, "random_state"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
@pytest.mark.parametrize("metric", [beta_vae_score, factor_vae_score])
def test_bad_arguments(metric, kwargs, match, grid):
    with pytest.raises(ValueError, match=match):
        metric(identity, grid, **{"n_train": 20, "n_eval": 20, **kwargs})


def test_metric_specific_errors(grid):
    with pytest.raises(ValueError, match="at least 2"):
        beta_vae_score(identity, grid, factors=["x"], n_train=20)
    with pytest.raises(ValueError, match="logistic"):
        beta_vae_score(identity, grid, logistic="newton")
    with pytest.raises(ValueError, match="active_on"):
        factor_vae_score(identity, grid, active_on="mad")
    with pytest.raises(ValueError, match="active_threshold"):
        factor_vae_score(identity, grid, active_threshold=-1.0)
    with pytest.raises(ValueError, match="sampler"):
        factor_vae_score(identity, np.zeros((10, 5)))
