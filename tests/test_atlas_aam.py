"""AAM (disvae's axis-alignment metric): the formula written out, the q(z|x) estimators written out with
scipy (Chen's, and disvae's released code with its reshape), the histogram variant against sklearn, known
answers, invariances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.metrics import mutual_info_score

from dismetrics.data import FactorGrid

from dismetrics.metrics.aam import aam, aam_binned, aam_from_mutual_info
from dismetrics.metrics.registry import get_metric

HYPOTHESIS = settings(max_examples=30, deadline=None)


SIZES = [3, 4, 5]
GRID = np.array(list(np.ndindex(*SIZES)), dtype=float)
MIXING = np.random.default_rng(1).standard_normal((3, 4))


def gaussian_encoder(x):
    """(mean, logvar) of a smooth, entangled 4-dim Gaussian encoder of the factor indices."""
    x = np.asarray(x, dtype=np.float64)
    return np.tanh(x @ MIXING / 3), np.log(0.05 + 0.1 * np.abs(np.sin(x @ MIXING)))


def entropy_written_out(points, mean, logvar):
    """H(z_j) for every dim: mean over the given points of log N - logsumexp_n log N(z; mu_n, sigma_n^2)."""
    out = []
    for j in range(mean.shape[1]):
        dens = norm.logpdf(points[:, j][:, None], mean[:, j][None, :], np.exp(0.5 * logvar[:, j])[None, :])
        out.append(np.mean(np.log(len(mean)) - logsumexp(dens, axis=1)))
    return np.array(out)


def slices(array):
    """(k, u, rows of the grid with factor k = u) in the order the estimators visit them."""
    grid = array.reshape(tuple(SIZES) + (array.shape[1],))
    for k, size in enumerate(SIZES):
        for u in range(size):
            yield k, u, np.take(grid, u, axis=k).reshape(-1, array.shape[1])


def qzx_mi_written_out(seed):
    """Chen's estimator with every point's sample (n_samples >= N): the selection order does not matter."""
    mean, logvar = gaussian_encoder(GRID)
    samples = mean + np.exp(0.5 * logvar) * np.random.default_rng(seed).standard_normal(mean.shape)
    marginal = entropy_written_out(samples, mean, logvar)
    conditional = np.zeros((mean.shape[1], len(SIZES)))
    for (k, u, s), (_, _, mu), (_, _, lv) in zip(slices(samples), slices(mean), slices(logvar)):
        conditional[:, k] += entropy_written_out(s, mu, lv) / SIZES[k]
    return marginal[:, None] - conditional


def disvae_code_mi_written_out(seed, n_samples):
    """disvae's released computation: means as samples, n_samples rows per estimate, reshaped (not transposed)."""
    rng = np.random.default_rng(seed)
    mean, logvar = gaussian_encoder(GRID)
    d = mean.shape[1]

    def estimate(mu, lv):
        chosen = mu[rng.permutation(len(mu))[:n_samples]]
        flat = chosen.reshape(-1)
        s = len(chosen)
        points = np.column_stack([flat[j * s:(j + 1) * s] for j in range(d)])
        return entropy_written_out(points, mu, lv)

    marginal = estimate(mean, logvar)
    conditional = np.zeros((d, len(SIZES)))
    for (k, u, mu), (_, _, lv) in zip(slices(mean), slices(logvar)):
        conditional[:, k] += estimate(mu, lv) / SIZES[k]
    return marginal[:, None] - conditional


@pytest.mark.parametrize("seed", [0, 5])
def test_qzx_estimator_matches_written_out(seed):
    result = aam(gaussian_encoder, FactorGrid(SIZES), random_state=seed, n_samples=100)
    mi = qzx_mi_written_out(seed)
    np.testing.assert_allclose(result.details["mi_matrix"], mi, atol=1e-10)
    assert result.value == pytest.approx(aam_written_out(mi).mean(), abs=1e-10)


@pytest.mark.parametrize("n_samples", [6, 100])
def test_disvae_code_estimator_matches_written_out(n_samples):
    result = aam(gaussian_encoder, FactorGrid(SIZES), estimator="disvae_code", random_state=3, n_samples=n_samples)
    mi = disvae_code_mi_written_out(3, n_samples)
    np.testing.assert_allclose(result.details["mi_matrix"], mi, atol=1e-10)
    assert result.value == pytest.approx(aam_written_out(mi).mean(), abs=1e-10)
    assert result.params["estimator"] == "disvae_code"


@settings(max_examples=10, deadline=None)
@given(dim=st.integers(0, 3), scale=st.floats(0.1, 10.0), shift=st.floats(-5.0, 5.0))
def test_qzx_invariant_to_affine_map_of_a_dim(dim, scale, shift):
    """z_j -> a z_j + b (mean a mu + b, log-variance + 2 log a) shifts every entropy of dim j by log a: MI and
    AAM do not move."""
    def moved(x):
        mean, logvar = gaussian_encoder(x)
        mean[:, dim] = scale * mean[:, dim] + shift
        logvar[:, dim] += 2 * np.log(scale)
        return mean, logvar

    base = aam(gaussian_encoder, FactorGrid(SIZES), random_state=2, n_samples=100)
    assert aam(moved, FactorGrid(SIZES), random_state=2, n_samples=100).value == pytest.approx(base.value, abs=1e-9)


def aam_written_out(mi):
    """disvae's _axis_aligned_metric, factor by factor."""
    scores = []
    for k in range(mi.shape[1]):
        column = sorted((max(v, 0.0) for v in mi[:, k]), reverse=True)
        if column[0] == 0:
            scores.append(0.0)
            continue
        scores.append(max(0.0, column[0] - sum(column[1:])) / column[0])
    return np.array(scores)


def histogram_mi(codes, factors, bins=20):
    """disentanglement_lib's binning (np.histogram edges, digitize on the left edges) and sklearn's MI."""
    mi = np.zeros((codes.shape[1], factors.shape[1]))
    for i in range(codes.shape[1]):
        edges = np.histogram(codes[:, i], bins)[1][:-1]
        disc = np.digitize(codes[:, i], edges)
        for k in range(factors.shape[1]):
            mi[i, k] = mutual_info_score(factors[:, k], disc)
    return mi


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), d=st.integers(1, 6), k=st.integers(1, 5))
def test_formula_matches_written_out(seed, d, k):
    rng = np.random.default_rng(seed)
    mi = np.abs(rng.standard_normal((d, k))) * (rng.random((d, k)) < 0.7)
    mi[rng.random((d, k)) < 0.1] = -0.01  # estimators can return small negatives: clipped
    np.testing.assert_allclose(aam_from_mutual_info(mi), aam_written_out(mi), atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1])
def test_aam_matches_sklearn_mi(seed):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 5, size=(800, 3))
    codes = np.column_stack([factors[:, 0] + 0.5 * rng.standard_normal(800), factors[:, 1] + factors[:, 2],
                             rng.standard_normal(800), factors[:, 2] * 0.2 + 0.3 * rng.standard_normal(800)])
    result = aam_binned(codes, factors)
    mi = histogram_mi(codes, factors)
    np.testing.assert_allclose(result.details["mi_matrix"], mi, atol=1e-12)
    assert result.value == pytest.approx(aam_written_out(mi).mean(), abs=1e-12)


def test_known_answers():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 8, size=(5000, 2))
    perfect = factors + 0.01 * rng.standard_normal(factors.shape)
    assert aam_binned(perfect, factors).value > 0.95
    duplicated = np.column_stack([perfect, perfect[:, 0]])
    assert aam_binned(duplicated, factors).details["aam_per_factor"][0] == 0.0  # two equal MIs: numerator 0
    assert aam_from_mutual_info(np.zeros((3, 2))).tolist() == [0.0, 0.0]
    assert get_metric("aam_binned").presets["disentanglement_lib"]["bins"] == 20
    assert get_metric("aam").kind == "intervention" and get_metric("aam").random


def test_errors():
    with pytest.raises(ValueError, match="mi_matrix"):
        aam_from_mutual_info(np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        aam_from_mutual_info(np.array([[np.nan]]))
    with pytest.raises(ValueError):
        aam_binned(np.ones((10, 2)), np.ones((9, 1), dtype=int))
    with pytest.raises(ValueError, match="mean, logvar"):
        aam(lambda x: np.asarray(x, float), FactorGrid([3, 4]))
    with pytest.raises(ValueError, match="estimator"):
        aam(gaussian_encoder, FactorGrid(SIZES), estimator="chen")


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0), shift=st.floats(-5.0, 5.0))
def test_invariances(seed, scale, shift):
    """Permuting dims, a positive affine map of a dim, relabelling a factor's values: AAM unchanged;
    permuting factor columns permutes the per-factor scores."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 4, size=(300, 3))
    codes = np.column_stack([factors[:, 0] + rng.standard_normal(300), factors[:, 1] - factors[:, 2],
                             rng.standard_normal(300)])
    base = aam_binned(codes, factors)
    order = rng.permutation(3)
    assert aam_binned(codes[:, order], factors).value == pytest.approx(base.value, abs=1e-12)
    affine = codes.copy()
    affine[:, 0] = scale * affine[:, 0] + shift
    assert aam_binned(affine, factors).value == pytest.approx(base.value, abs=1e-9)
    relabel = factors.copy()
    relabel[:, 1] = rng.permutation(4)[factors[:, 1]]
    assert aam_binned(codes, relabel).value == pytest.approx(base.value, abs=1e-12)
    columns = rng.permutation(3)
    np.testing.assert_allclose(aam_binned(codes, factors[:, columns]).details["aam_per_factor"],
                               base.details["aam_per_factor"][columns], atol=1e-12)


def test_bad_encoder_output_is_refused_naming_the_representation():
    """Regression (fuzz, tests/test_fuzz_metrics.py): log-variances beyond +-700 or a one-dim code under
    "qzx" were refused with the estimator's own names (`means`, `logvars`), and under "disvae_code" huge
    log-variances ended in "mi_matrix must be finite"; both are now refused naming the representation."""
    sampler = FactorGrid([3, 4])
    huge = lambda x: (np.asarray(x, float), np.full(np.shape(x), 1e300))  # noqa: E731
    for estimator in ("qzx", "disvae_code"):
        with pytest.raises(ValueError, match=r"^representation: aam .* needs log-variances in \[-700, 700\]"):
            aam(huge, sampler, estimator=estimator, n_samples=20)
    one_dim = lambda x: (np.asarray(x, float)[:, :1], np.zeros((len(x), 1)))  # noqa: E731
    with pytest.raises(ValueError, match=r"^representation: aam \(estimator='qzx'\) needs codes of at least 2 dims"):
        aam(one_dim, sampler, n_samples=20)
    result = aam(one_dim, sampler, estimator="disvae_code", n_samples=20)  # one dim: computed as before
    per_factor = result.details["aam_per_factor"]
    assert set(per_factor.tolist()) <= {0.0, 1.0} and result.value == per_factor.mean()  # one dim: 1 or 0
