"""Chen et al.'s MIG from samples of q(z|x) (dismetrics.metrics.chen_mig).

The agreement test runs a plain transcription of the source's estimator (rtqichen/beta-tcvae,
`disentanglement_metrics.estimate_entropies` and `metric_helpers/mi_metric.compute_metric_shapes`, MIT
licence) written below with numpy and scipy's logsumexp, on the same arrays and the same random draws.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import norm

import dismetrics.metrics.chen_mig  # noqa: F401 - registers the metric
from dismetrics.data.synthetic import FactorGrid
from dismetrics._kernels.qz import gaussian_logsumexp
from dismetrics.metrics.chen_mig import chen_mig, chen_mig_from_params
from dismetrics.metrics.registry import get_metric

SETTINGS = settings(max_examples=20, deadline=None)


# --- the source's estimator, transcribed plainly (numpy draws in the documented order) ---------------------

def source_estimate_entropies(samples, means, logsigmas, n_samples, rng):
    """estimate_entropies(qz_samples, qz_params, Normal()): samples (N, K), params (N, K) each."""
    n = means.shape[0]
    chosen = rng.permutation(n)[:n_samples]
    entropies = np.zeros(means.shape[1])
    for s in chosen:  # the source walks the samples in batches of 10; the sum is the same
        z = samples[s]
        # Normal.log_density: -0.5 * (((z - mu) / sigma)^2 + 2 log sigma + log 2 pi)
        log_qz_i = -0.5 * (((z[None, :] - means) * np.exp(-logsigmas)) ** 2 + 2 * logsigmas + np.log(2 * np.pi))
        # - logsumexp(log q(z|x_n) + (-log N), dim=0)
        entropies += -logsumexp(log_qz_i - math.log(n), axis=0)
    return entropies / chosen.size


def source_mig(means, logvars, sizes, factors, n_samples, seed):
    rng = np.random.default_rng(seed)
    logsigmas = 0.5 * logvars
    samples = means + np.exp(logsigmas) * rng.standard_normal(means.shape)
    n, d = means.shape
    marginal = source_estimate_entropies(samples, means, logsigmas, n_samples, rng)
    grid_samples = samples.reshape(tuple(sizes) + (d,))
    grid_means = means.reshape(tuple(sizes) + (d,))
    grid_logsigmas = logsigmas.reshape(tuple(sizes) + (d,))
    cond = np.zeros((len(factors), d))
    for row, k in enumerate(factors):
        for i in range(sizes[k]):
            cond[row] += source_estimate_entropies(
                np.take(grid_samples, i, axis=k).reshape(-1, d),
                np.take(grid_means, i, axis=k).reshape(-1, d),
                np.take(grid_logsigmas, i, axis=k).reshape(-1, d), n_samples, rng) / sizes[k]
    # compute_metric_shapes
    mutual_infos = marginal[None] - cond
    mutual_infos = np.clip(-np.sort(-mutual_infos, axis=1), 0, None)
    mi_normed = mutual_infos / np.log(np.asarray([sizes[k] for k in factors], dtype=float))[:, None]
    return float(np.mean(mi_normed[:, 0] - mi_normed[:, 1])), marginal, cond


def random_params(sizes, d, seed, spread=1.0):
    rng = np.random.default_rng(seed)
    grid = np.array(list(np.ndindex(*sizes)), dtype=float)
    mixing = rng.normal(size=(len(sizes), d))
    means = grid @ mixing * spread + 0.3 * rng.normal(size=(grid.shape[0], d))
    logvars = rng.uniform(-3.0, 0.5, size=means.shape)
    return means, logvars


# --- agreement ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_samples", [7, 10_000])
@pytest.mark.parametrize("factors", [None, [1, 2]])
def test_matches_source_transcription(n_samples, factors):
    sizes = [3, 4, 5]
    means, logvars = random_params(sizes, 4, seed=1)
    result = chen_mig_from_params(means, logvars, sizes, factors=factors, n_samples=n_samples, random_state=3)
    subset = list(range(3)) if factors is None else factors
    expected, marginal, cond = source_mig(means, logvars, sizes, subset, n_samples, seed=3)
    assert abs(result.value - expected) < 1e-9
    np.testing.assert_allclose(result.details["marginal_entropy"], marginal, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.details["conditional_entropy"], cond.T, rtol=0, atol=1e-9)


def test_kernel_matches_scipy_logsumexp():
    rng = np.random.default_rng(0)
    n, d, s = 3000, 3, 37  # several blocks of the n axis, a partial tile of samples
    means = rng.normal(size=(n, d)) * 3
    logvars = rng.uniform(-8, 2, size=(n, d))
    samples = rng.normal(size=(s, d)) * 4
    out = gaussian_logsumexp(samples, np.ascontiguousarray(means.T), np.ascontiguousarray(0.5 * np.exp(-logvars.T)),
                             np.ascontiguousarray(-0.5 * (logvars.T + np.log(2 * np.pi))))
    expected = np.array([[logsumexp(norm.logpdf(samples[i, j], means[:, j], np.exp(0.5 * logvars[:, j])))
                          for j in range(d)] for i in range(s)])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_entropy_of_one_gaussian_closed_form():
    # all points share N(mu, s^2) in dim 0: q(z_0) is that Gaussian, H estimate = mean of -log N(z_s; mu, s^2)
    sizes = [4, 5]
    n = 20
    means = np.column_stack([np.full(n, 1.5), np.arange(n, dtype=float)])
    logvars = np.column_stack([np.full(n, np.log(0.3)), np.full(n, np.log(0.01))])
    samples = np.random.default_rng(0).normal(size=(n, 2))
    result = chen_mig_from_params(means, logvars, sizes, samples=samples, n_samples=n)
    expected = -np.mean(norm.logpdf(samples[:, 0], 1.5, np.sqrt(0.3)))
    assert abs(result.details["marginal_entropy"][0] - expected) < 1e-12
    # dim 0 carries no information about any factor
    np.testing.assert_allclose(result.details["mi_matrix"][0], 0.0, atol=1e-12)


def test_perfect_code_scores_near_one_and_noise_near_zero():
    sizes = [3, 6, 5]
    grid = np.array(list(np.ndindex(*sizes)), dtype=float)
    means = np.column_stack([grid * 4.0, np.zeros(grid.shape[0])])
    logvars = np.full(means.shape, np.log(0.01))
    perfect = chen_mig_from_params(means, logvars, sizes, random_state=0)
    assert perfect.value > 0.99
    np.testing.assert_array_equal(perfect.details["top_dim_per_factor"], [0, 1, 2])
    noise = np.random.default_rng(1).normal(size=means.shape)
    assert chen_mig_from_params(noise, logvars, sizes, random_state=0).value < 0.05


def test_duplicated_dim_drives_its_gap_to_zero():
    sizes = [4, 5]
    grid = np.array(list(np.ndindex(*sizes)), dtype=float)
    means = np.column_stack([grid, grid[:, 0]])
    logvars = np.full(means.shape, np.log(0.04))
    samples = np.random.default_rng(0).normal(size=means.shape) * 0.2 + means
    samples[:, 2] = samples[:, 0]  # the same sample of the same distribution
    result = chen_mig_from_params(means, logvars, sizes, samples=samples)
    assert abs(result.details["gap_per_factor"][0]) < 1e-12
    assert result.details["gap_per_factor"][1] > 0.5


def test_representation_form_equals_params_form():
    sizes = [3, 4, 2]
    mixing = np.random.default_rng(5).normal(size=(3, 4))

    def encoder(x):
        return x @ mixing, np.full((x.shape[0], 4), -1.0) + 0.1 * x[:, :1]

    sampler = FactorGrid(sizes)
    grid = np.array(list(np.ndindex(*sizes)), dtype=float)
    means, logvars = encoder(grid)
    direct = chen_mig(encoder, sampler, random_state=4, chunk_size=5)
    helper = chen_mig_from_params(means, logvars, sizes, random_state=4)
    assert direct.value == helper.value
    np.testing.assert_array_equal(direct.details["mi_matrix"], helper.details["mi_matrix"])
    by_name = chen_mig(encoder, sampler, factors=["factor_2", "factor_0"], random_state=4)
    assert by_name.value == chen_mig_from_params(means, logvars, sizes, factors=[0, 2], random_state=4).value


def test_determinism_and_thread_count():
    sizes = [3, 4, 5]
    means, logvars = random_params(sizes, 3, seed=2)
    first = chen_mig_from_params(means, logvars, sizes, n_samples=11, random_state=9)
    again = chen_mig_from_params(means, logvars, sizes, n_samples=11, random_state=9)
    assert first.value == again.value
    np.testing.assert_array_equal(first.details["mi_matrix"], again.details["mi_matrix"])
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = chen_mig_from_params(means, logvars, sizes, n_samples=11, random_state=9)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(first.details["mi_matrix"], single.details["mi_matrix"])


def test_registered_spec():
    spec = get_metric("mig_qzx")
    assert spec.name == "chen_mig" and spec.kind == "intervention" and spec.random
    assert spec.docs == "chen_mig.md"


# --- invariances (hypothesis) --------------------------------------------------------------------------------

@SETTINGS
@given(seed=st.integers(0, 10_000), data=st.data())
def test_permuting_dims_permutes_rows(seed, data):
    sizes = [3, 4]
    means, logvars = random_params(sizes, 4, seed)
    samples = means + np.exp(0.5 * logvars) * np.random.default_rng(seed).standard_normal(means.shape)
    perm = np.array(data.draw(st.permutations(range(4))))
    base = chen_mig_from_params(means, logvars, sizes, samples=samples, n_samples=5, random_state=seed)
    moved = chen_mig_from_params(means[:, perm], logvars[:, perm], sizes, samples=samples[:, perm], n_samples=5,
                                 random_state=seed)
    np.testing.assert_allclose(moved.details["mi_matrix"], base.details["mi_matrix"][perm], rtol=0, atol=1e-12)
    assert abs(moved.value - base.value) < 1e-12


@SETTINGS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0), shift=st.floats(-50.0, 50.0),
       dim=st.integers(0, 2))
def test_affine_change_of_a_dim_keeps_mi(seed, scale, shift, dim):
    sizes = [3, 5]
    means, logvars = random_params(sizes, 3, seed)
    samples = means + np.exp(0.5 * logvars) * np.random.default_rng(seed).standard_normal(means.shape)
    base = chen_mig_from_params(means, logvars, sizes, samples=samples, n_samples=6, random_state=seed)
    means2, logvars2, samples2 = means.copy(), logvars.copy(), samples.copy()
    means2[:, dim] = means[:, dim] * scale + shift
    samples2[:, dim] = samples[:, dim] * scale + shift
    logvars2[:, dim] = logvars[:, dim] + 2 * np.log(scale)
    moved = chen_mig_from_params(means2, logvars2, sizes, samples=samples2, n_samples=6, random_state=seed)
    np.testing.assert_allclose(moved.details["mi_matrix"], base.details["mi_matrix"], rtol=0, atol=1e-8)
    assert abs(moved.value - base.value) < 1e-8


@SETTINGS
@given(seed=st.integers(0, 10_000), data=st.data())
def test_relabeling_factor_values_keeps_the_score(seed, data):
    # with every sample used (n_samples >= N) the subsets do not depend on the order of the points
    sizes = [3, 4]
    means, logvars = random_params(sizes, 3, seed)
    samples = means + np.exp(0.5 * logvars) * np.random.default_rng(seed).standard_normal(means.shape)
    relabel = np.array(data.draw(st.permutations(range(4))))
    reorder = lambda a: a.reshape(3, 4, -1)[:, relabel].reshape(12, -1)  # noqa: E731
    base = chen_mig_from_params(means, logvars, sizes, samples=samples)
    moved = chen_mig_from_params(reorder(means), reorder(logvars), sizes, samples=reorder(samples))
    np.testing.assert_allclose(moved.details["mi_matrix"], base.details["mi_matrix"], rtol=0, atol=1e-12)


# --- bad input -----------------------------------------------------------------------------------------------

def test_bad_input():
    sizes = [3, 4]
    means, logvars = random_params(sizes, 3, seed=0)
    with pytest.raises(ValueError, match="one row per point"):
        chen_mig_from_params(means[:-1], logvars[:-1], sizes)
    with pytest.raises(ValueError, match="logvars must have shape"):
        chen_mig_from_params(means, logvars[:, :2], sizes)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        chen_mig_from_params(means[:, :1], logvars[:, :1], sizes)
    bad = means.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        chen_mig_from_params(bad, logvars, sizes)
    with pytest.raises(ValueError, match=r"logvars must lie in"):
        chen_mig_from_params(means, np.full(means.shape, -800.0), sizes)
    with pytest.raises(ValueError, match="factor_sizes"):
        chen_mig_from_params(means, logvars, [12, 1])
    with pytest.raises(ValueError, match="factors must hold"):
        chen_mig_from_params(means, logvars, sizes, factors=[2])
    with pytest.raises(ValueError, match="n_samples"):
        chen_mig_from_params(means, logvars, sizes, n_samples=0)
    with pytest.raises(ValueError, match=r"\(mean, logvar\)"):
        chen_mig(lambda x: x * 2.0, FactorGrid(sizes))


def test_runs_through_evaluate_by_name():
    from dismetrics import evaluate

    def encoder(x):
        return np.column_stack([x, np.zeros(len(x))]), np.full((len(x), 3), np.log(0.25))

    table = evaluate(encoder, FactorGrid([4, 3]), metrics=["mig_qzx"], repeats=2, random_state=0, progress=False)
    assert list(table["metric"]) == ["chen_mig", "chen_mig"] and (table["error"] == "").all()
    grid = np.array(list(np.ndindex(4, 3)), dtype=float)
    means, logvars = encoder(grid)
    for seed, value in zip(table["seed"], table["value"]):
        assert value == chen_mig_from_params(means, logvars, [4, 3], random_state=int(seed)).value


@pytest.mark.parametrize("encoding", ["auto", "table", "direct"])
def test_table_and_direct_encoding_agree(encoding):
    def encoder(x):
        return np.column_stack([x, np.sin(x[:, :1])]), np.full((len(x), 3), -1.5)

    result = chen_mig(encoder, FactorGrid([4, 3]), encoding=encoding, random_state=2)
    assert result.params["encoding"] in ("table", "direct")
    assert result.value == chen_mig(encoder, FactorGrid([4, 3]), encoding="direct", random_state=2).value


def test_bad_encoder_output_is_refused_naming_the_representation():
    """Regression (fuzz, tests/test_fuzz_metrics.py): a one-dim code or log-variances beyond +-700 from the
    encoder were refused with the estimator's own names (`means`, `logvars`), which chen_mig does not take."""
    sampler = FactorGrid([4])
    with pytest.raises(ValueError, match=r"^representation: chen_mig needs codes of at least 2 dims"):
        chen_mig(lambda x: (x, np.zeros_like(x)), sampler, n_samples=20)
    for logvar in (800.0, -1e300):
        with pytest.raises(ValueError, match=r"^representation: chen_mig needs log-variances in \[-700, 700\]"):
            chen_mig(lambda x, v=logvar: (np.hstack([x, x]), np.full((len(x), 2), v)), sampler, n_samples=20)
    # the estimator's own checks and numbers are unchanged
    with pytest.raises(ValueError, match="^logvars must lie in"):
        chen_mig_from_params(np.zeros((4, 2)), np.full((4, 2), 800.0), [4])
    ok = chen_mig(lambda x: (np.hstack([x, np.zeros_like(x)]), np.full((len(x), 2), 700.0)), sampler, n_samples=20)
    assert 0.0 <= ok.value <= 1.0
