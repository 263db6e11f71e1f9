"""SEPIN@k / INDIN@k (Do & Tran 2020): the sampling estimator against the formula written out with
scipy densities and plain loops, known answers, invariances, the intervention form and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from dismetrics.metrics.registry import get_metric
from dismetrics.metrics.sepin_indin import indin, posterior_information, sepin


def _plain_estimate(mean, logvar, n_samples, seed, floor=1e-8):
    """The paper's estimator, one sample and one observation at a time."""
    rng = np.random.default_rng(seed)
    n, d = mean.shape
    std = np.exp(0.5 * logvar)
    rows = rng.integers(0, n, size=n_samples)
    z = mean[rows] + std[rows] * rng.standard_normal((n_samples, d))
    h_zi, h_zi_x, h_not, h_not_x = np.zeros(d), np.zeros(d), np.zeros(d), np.zeros(d)
    h_z = h_z_x = 0.0
    for s in range(n_samples):
        q = np.array([[max(norm.pdf(z[s, j], loc=mean[m, j], scale=std[m, j]), floor) for j in range(d)]
                      for m in range(n)])  # (n, d): q(z_sj | x_m), floored
        own = q[rows[s]]
        h_z_x -= np.sum(np.log(own))
        h_z -= np.log(max(np.mean(np.prod(q, axis=1)), floor))
        for i in range(d):
            others = [j for j in range(d) if j != i]
            h_zi_x[i] -= np.log(own[i])
            h_not_x[i] -= np.sum(np.log(own[others]))
            h_zi[i] -= np.log(max(np.mean(q[:, i]), floor))
            h_not[i] -= np.log(max(np.mean(np.prod(q[:, others], axis=1)), floor))
    h_zi, h_zi_x, h_not, h_not_x = (a / n_samples for a in (h_zi, h_zi_x, h_not, h_not_x))
    h_z, h_z_x = h_z / n_samples, h_z_x / n_samples
    mi_zi_x = np.maximum(h_zi - h_zi_x, 0)
    mi_not = np.maximum(h_not - h_not_x, 0)
    mi_z = max(h_z - h_z_x, 0)
    sep = np.maximum(h_zi + h_not - h_z, 0)
    return {"mi_zi_x": mi_zi_x, "mi_z_not_i_x": mi_not, "mi_z_x": mi_z, "mi_zi_z_not_i": sep,
            "sepin_per_dim": mi_z - mi_not, "indin_per_dim": mi_zi_x - sep, "h_z": h_z}


def _posterior(seed, n=25, d=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    mean = np.column_stack([x[:, 0], x[:, 1], 0.6 * x[:, 0] + 0.4 * x[:, 1]])[:, :d]
    logvar = np.log(rng.uniform(0.05, 0.5, size=(n, d)))
    return mean, logvar


def test_estimator_equals_the_formula_written_out():
    mean, logvar = _posterior(0)
    ours = posterior_information(mean, logvar, n_samples=40, batch_size=7, random_state=3)
    plain = _plain_estimate(mean, logvar, 40, 3)
    for key, value in plain.items():
        np.testing.assert_allclose(ours[key], value, rtol=1e-9, atol=1e-9, err_msg=key)


def test_scores_are_top_k_means_and_weighted_sums():
    mean, logvar = _posterior(1)
    info = posterior_information(mean, logvar, n_samples=60, random_state=0)
    for which, metric in (("sepin", sepin), ("indin", indin)):
        per_dim = info[f"{which}_per_dim"]
        ordered = np.sort(per_dim)[::-1]
        for k in (1, 2, 3):
            result = metric(mean=mean, logvar=logvar, k=k, n_samples=60, random_state=0)
            assert result.value == pytest.approx(ordered[:k].mean(), abs=1e-12)
        weights = info["mi_zi_x"] / info["mi_zi_x"].sum()
        whole = metric(mean=mean, logvar=logvar, n_samples=60, random_state=0)
        assert whole.details["k"] == 3 and whole.value == pytest.approx(per_dim.mean(), abs=1e-12)
        assert whole.details[f"w{which}"] == pytest.approx(float(np.sum(weights * per_dim)), abs=1e-12)


def test_sepin_equals_indin_per_dim_for_a_factorized_encoder():
    # I(x, z_i | z_-i) = I(x, z_i) - I(z_i, z_-i) + I(z_i, z_-i | x), and the last term is 0 when q(z|x)
    # factorizes; the estimator keeps the identity (up to the clipping at 0, inactive here).
    mean, logvar = _posterior(2)
    info = posterior_information(mean, logvar, n_samples=300, random_state=1)
    np.testing.assert_allclose(info["sepin_per_dim"], info["indin_per_dim"], atol=1e-9)


def test_uninformative_encoder_scores_zero():
    # q(z|x) the same for every x: q(z) = q(z|x) at every sample, every information term is exactly 0.
    mean = np.tile([[0.3, -1.0, 2.0]], (30, 1))
    logvar = np.tile([[0.0, -1.0, 0.5]], (30, 1))
    info = posterior_information(mean, logvar, n_samples=200, random_state=0)
    for key in ("mi_zi_x", "mi_z_not_i_x", "mi_zi_z_not_i", "sepin_per_dim", "indin_per_dim"):
        np.testing.assert_allclose(info[key], 0.0, atol=1e-9, err_msg=key)
    assert sepin(mean=mean, logvar=logvar, n_samples=200).value == pytest.approx(0.0, abs=1e-9)


def test_independent_informative_dims_score_their_information_and_duplicates_score_low():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 2))
    logvar = np.full((300, 2), np.log(0.05))
    independent = indin(mean=x, logvar=logvar, n_samples=2000, random_state=0)
    duplicated = indin(mean=np.column_stack([x[:, 0], x[:, 0]]), logvar=logvar, n_samples=2000, random_state=0)
    assert independent.value > 0.8
    assert duplicated.value < 0.5 * independent.value


@settings(max_examples=10)
@given(scale=st.floats(0.01, 100.0), shift=st.floats(-100.0, 100.0), dim=st.integers(0, 2))
def test_invariant_to_an_affine_map_of_a_dim(scale, shift, dim):
    # z_i -> a z_i + b (a > 0) maps the samples with the same noise and moves every log density by -log a:
    # every entropy difference is unchanged, except where a density crosses the 1e-8 floor in one scaling
    # and not in the other (far tails: a few 1e-7 nats here).
    # A sign flip is invariant only in distribution (the same noise then gives the mirrored draw).
    sign = 1.0
    mean, logvar = _posterior(5)
    base = posterior_information(mean, logvar, n_samples=80, random_state=2)
    mean2, logvar2 = mean.copy(), logvar.copy()
    mean2[:, dim] = sign * scale * mean[:, dim] + shift
    logvar2[:, dim] = logvar[:, dim] + 2 * np.log(scale)
    moved = posterior_information(mean2, logvar2, n_samples=80, random_state=2)
    for key in ("mi_zi_x", "mi_z_not_i_x", "mi_zi_z_not_i", "sepin_per_dim", "indin_per_dim"):
        np.testing.assert_allclose(moved[key], base[key], rtol=0, atol=1e-5, err_msg=key)


def test_same_seed_bit_identical_and_batch_size_free():
    mean, logvar = _posterior(6)
    first = posterior_information(mean, logvar, n_samples=90, batch_size=64, random_state=9)
    second = posterior_information(mean, logvar, n_samples=90, batch_size=64, random_state=9)
    other_blocks = posterior_information(mean, logvar, n_samples=90, batch_size=5, random_state=9)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
        np.testing.assert_allclose(other_blocks[key], first[key], rtol=1e-12, atol=1e-12)


class _Sampler:
    factor_sizes = (4, 5)
    factor_names = ("a", "b")
    observation_shape = (2,)

    def sample_factors(self, n, rng):
        return np.column_stack([rng.integers(0, s, n) for s in self.factor_sizes])

    def sample_observations_from_factors(self, factors, rng):
        return factors.astype(np.float64) + 0.1 * rng.standard_normal(factors.shape)


def test_intervention_form_encodes_mean_and_logvar():
    encoder = lambda obs: (obs, np.full(obs.shape, np.log(0.02)))  # noqa: E731
    result = sepin(encoder, _Sampler(), n_points=150, n_samples=200, random_state=0)
    assert result.name == "sepin" and result.params["n_points"] == 150 and result.value > 0.5
    again = sepin(encoder, _Sampler(), n_points=150, n_samples=200, random_state=0)
    assert again.value == result.value
    with pytest.raises(ValueError, match="log-variance"):
        sepin(lambda obs: obs, _Sampler(), n_points=50, n_samples=20)


def test_bad_input_is_a_clear_value_error():
    mean, logvar = _posterior(7)
    with pytest.raises(ValueError, match="logvar is required"):
        posterior_information(mean, None)
    with pytest.raises(ValueError, match="both mean and logvar"):
        sepin(mean=mean, logvar=None, n_samples=10)
    with pytest.raises(ValueError, match="both mean and logvar"):
        indin(logvar=logvar)
    with pytest.raises(ValueError, match="shape"):
        posterior_information(mean, logvar[:, :2])
    with pytest.raises(ValueError, match="k must be at most"):
        sepin(mean=mean, logvar=logvar, k=4, n_samples=10)
    with pytest.raises(ValueError, match="NaN"):
        posterior_information(mean, np.full_like(logvar, np.nan))
    with pytest.raises(ValueError, match="representation and a sampler"):
        sepin()


def test_estimates_can_fall_below_zero_and_the_declared_range_says_so():
    """Regression (fuzz, tests/test_fuzz_metrics.py): means that carry nothing, variances that depend on x.
    SEPIN_i = I(x, z) - I(x, z_not_i) is a difference of two clipped sampling estimates, so it can fall
    below 0 although the quantity cannot; the spec's value_range must admit it."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=(30, 2)).astype(np.float64)
    mean = np.hstack([x * 1e-30, np.ones((30, 1))])
    logvar = np.log(0.25) + np.tanh(x.sum(axis=1, keepdims=True)) * np.ones((30, 3))
    result = sepin(mean=mean, logvar=logvar, n_samples=50, batch_size=8, random_state=0)
    per_dim = result.details["sepin_per_dim"]
    assert result.value < 0 and result.value == pytest.approx(per_dim.mean(), abs=1e-15)  # the estimate
    expected = result.details["mi_z_x"] - result.details["mi_z_not_i_x"]  # the formula written out
    np.testing.assert_allclose(per_dim, expected, rtol=0, atol=0)
    for name in ("sepin", "indin"):
        low, high = get_metric(name).value_range
        assert low == -np.inf and high is None


def test_registered():
    for name in ("sepin", "indin"):
        spec = get_metric(name)
        assert spec.kind == "intervention" and spec.random and spec.docs == "sepin_indin.md"


def test_runs_by_name_through_evaluate():
    from dismetrics import evaluate
    from dismetrics.data import FactorGrid

    def encoder(obs):
        return np.tanh(obs), np.full(obs.shape, np.log(0.05))

    frame = evaluate(encoder, FactorGrid([4, 5]), ["sepin", "indin"], n=60, n_test=20, progress=False,
                     metric_params={"sepin": {"n_points": 80, "n_samples": 100},
                                    "indin": {"n_points": 80, "n_samples": 100}})
    assert list(frame["error"]) == ["", ""] and np.isfinite(frame["value"]).all()
    # SEPIN_i = INDIN_i for a factorized encoder: with the same draws the two values agree.
    assert frame["value"].iloc[0] == pytest.approx(frame["value"].iloc[1], abs=1e-9)


def test_bad_encoder_output_is_refused_naming_the_representation():
    """Regression (fuzz): an encoder with one dim was refused as "mean needs at least 2 dimension(s) ... A gap",
    and log-variances beyond +-600 as "logvar must lie in ...", naming arguments the caller had not given;
    the messages now name the representation."""
    from dismetrics.data import FactorGrid

    one_dim = lambda obs: (obs[:, :1], np.zeros((len(obs), 1)))  # noqa: E731
    for metric in (sepin, indin):
        with pytest.raises(ValueError, match="^representation '<lambda>' returns codes of 1 dim; SEPIN and INDIN"):
            metric(one_dim, FactorGrid([3, 4]), n_points=20, n_samples=20)
        with pytest.raises(ValueError, match=r"^representation '<lambda>' returns log-variances in \[-1.39, 800\]"):
            metric(lambda obs: (obs, np.hstack([np.full((len(obs), 1), 800.0), np.full((len(obs), 1), np.log(0.25))])),
                   FactorGrid([3, 4]), n_points=20, n_samples=20)
    with pytest.raises(ValueError, match=r"^logvar must lie in \[-600, 600\]"):  # a given sample: as before
        sepin(mean=np.zeros((5, 2)), logvar=np.full((5, 2), 800.0), n_samples=10)
