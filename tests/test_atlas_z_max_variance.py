"""Z-max variance (RF-VAE score): the procedure written out vote by vote, known answers, invariances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dismetrics.data import FactorGrid
from dismetrics.metrics.registry import get_metric
from dismetrics.metrics.z_max_variance import z_max_variance

SIZES = [3, 4, 5, 6]
SMALL = dict(batch_size=50, n_train=120, n_eval=120, n_variance=1000)
HYPOTHESIS = settings(max_examples=12, deadline=None)


@pytest.fixture(scope="module")
def grid():
    return FactorGrid(SIZES)


def entangled(x):
    """Two factors share dim 0, factor 3 leaks into dim 2; dim 4 is collapsed."""
    f = np.asarray(x, dtype=np.float64) / (np.asarray(SIZES) - 1)
    return np.column_stack([f[:, 0] + 0.8 * f[:, 1], f[:, 2] + 0.7 * f[:, 3], f[:, 3] + 0.5 * f[:, 0],
                            np.sin(3 * f[:, 1]) * f[:, 2], np.full(len(f), 0.01)])


def written_out(representation, sizes, *, batch_size, n_train, n_eval, n_variance, seed, threshold=0.05):
    """The ubisoft z_max_var procedure with the grid's draws (same generator, same order), one vote at a time."""
    rng = np.random.default_rng(seed)
    k = len(sizes)
    codes = representation(rng.integers(0, sizes, size=(n_variance, k)))
    global_var = np.var(codes, axis=0, ddof=1)
    active = np.flatnonzero(np.sqrt(global_var) >= threshold)

    def votes(n):
        varied = rng.integers(0, k, size=n)
        draws = rng.integers(0, sizes, size=(n * batch_size, k)).reshape(n, batch_size, k)
        table = np.zeros((codes.shape[1], k), dtype=np.int64)  # (dims, factors) as in the source
        for v in range(n):
            batch = np.tile(draws[v, 0], (batch_size, 1))
            batch[:, varied[v]] = draws[v, :, varied[v]]
            local = np.var(representation(batch), axis=0, ddof=1)
            best = active[np.argmax(local[active] / global_var[active])]
            table[best, varied[v]] += 1
        return table

    train, evaluation = votes(n_train), votes(n_eval)
    classifier = np.argmax(train, axis=1)
    rows = np.arange(codes.shape[1])
    accuracy = evaluation[rows, classifier].sum() / evaluation.sum()
    return (accuracy - 1 / k) / (1 - 1 / k), train


@pytest.mark.parametrize("seed", [0, 3])
def test_matches_written_out_procedure(grid, seed):
    result = z_max_variance(entangled, grid, random_state=seed, **SMALL)
    expected, train = written_out(entangled, SIZES, seed=seed, **SMALL)
    assert result.value == pytest.approx(expected, abs=1e-12)
    np.testing.assert_array_equal(result.details["train_votes"], train.T)
    assert result.details["num_active_dims"] == 4 and not result.details["active_dims"][4]


def test_known_answers(grid):
    identity = z_max_variance(lambda x: np.asarray(x, float), grid, **SMALL)
    assert identity.value == 1.0 and identity.details["eval_accuracy"] == 1.0
    np.testing.assert_array_equal(identity.details["classifier"], np.arange(4))
    raw = z_max_variance(lambda x: np.asarray(x, float), grid, scale=False, **SMALL)
    assert raw.value == 1.0
    noise_rng = np.random.default_rng(0)
    noise = z_max_variance(lambda x: noise_rng.standard_normal((len(x), 6)), grid, n_train=300, n_eval=600,
                           batch_size=50, n_variance=1000)
    assert abs(noise.value) < 0.2  # rescaled: chance is 0
    collapsed = z_max_variance(lambda x: np.zeros((len(x), 3)), grid, **SMALL)
    assert collapsed.value == 0.0 and collapsed.details["num_active_dims"] == 0


def test_factor_subset_and_errors(grid):
    subset = z_max_variance(lambda x: np.asarray(x, float), grid, factors=["factor_0", 2], **SMALL)
    assert subset.value == 1.0 and list(subset.details["factors"]) == [0, 2]
    with pytest.raises(ValueError, match="at least 2"):
        z_max_variance(lambda x: np.asarray(x, float), grid, factors=[1], **SMALL)
    with pytest.raises(ValueError, match="std_threshold"):
        z_max_variance(lambda x: np.asarray(x, float), grid, std_threshold=-1, **SMALL)
    with pytest.raises(ValueError, match="batch_size"):
        z_max_variance(lambda x: np.asarray(x, float), grid, batch_size=1)


def test_deterministic_and_registered(grid):
    a = z_max_variance(entangled, grid, random_state=7, **SMALL)
    b = z_max_variance(entangled, grid, random_state=7, **SMALL)
    assert a.value == b.value
    np.testing.assert_array_equal(a.details["train_votes"], b.details["train_votes"])
    spec = get_metric("rf_vae_score")
    assert spec.name == "z_max_variance" and spec.kind == "intervention" and spec.random


@HYPOTHESIS
@given(perm_seed=st.integers(0, 10_000), scales=st.lists(st.floats(0.5, 5.0), min_size=5, max_size=5),
       shifts=st.lists(st.floats(-3.0, 3.0), min_size=5, max_size=5))
def test_invariant_to_dim_permutation_and_affine_maps(grid, perm_seed, scales, shifts):
    """Votes use local / global variance: permuting dims or a positive affine map of each dim (that keeps
    the active set) gives the same score for the same seed."""
    order = np.random.default_rng(perm_seed).permutation(5)
    base = z_max_variance(entangled, grid, random_state=1, **SMALL).value
    moved = z_max_variance(lambda x: (entangled(x) * scales + shifts)[:, order], grid, random_state=1, **SMALL)
    assert moved.value == pytest.approx(base, abs=1e-12)
