"""W-Modularity: the WTC paper code's procedure written out with scipy, the exact estimator, invariances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from dismetrics.metrics.registry import get_metric
from dismetrics.metrics.w_modularity import w_modularity

HYPOTHESIS = settings(max_examples=25, deadline=None)


def _modularity(matrix):
    """Ridgeway & Mozer's formula, one dim at a time."""
    out = []
    for row in matrix:
        theta = row.max()
        if theta == 0:
            out.append(0.0)
            continue
        out.append(1.0 - (np.sum(row**2) - theta**2) / (theta**2 * (len(row) - 1)))
    return np.array(out)


def _paper_code_matrix(codes, factors, seed):
    """The released code's procedure: divide by the range, W1 against a permuted copy on the same points,
    unweighted mean over values. The permutations come from the generator dismetrics uses."""
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(codes)) for _ in range(codes.shape[1])]
    zs = codes.T / (codes.max(axis=0) - codes.min(axis=0))[:, None]
    shuffled = [z[p] for z, p in zip(zs, perms)]
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        values = np.unique(factors[:, k])
        for i in range(codes.shape[1]):
            matrix[i, k] = np.mean([wasserstein_distance(zs[i][factors[:, k] == u], shuffled[i][factors[:, k] == u])
                                    for u in values])
    return matrix


def _exact_matrix(codes, factors):
    """Eq. 12: frequency-weighted W1 of each conditional against the whole marginal (range-normalized)."""
    zs = (codes - codes.min(axis=0)) / (codes.max(axis=0) - codes.min(axis=0))
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        values, counts = np.unique(factors[:, k], return_counts=True)
        for i in range(codes.shape[1]):
            w = [wasserstein_distance(zs[factors[:, k] == u, i], zs[:, i]) for u in values]
            matrix[i, k] = np.dot(counts / counts.sum(), w)
    return matrix


def _sample(seed, n=400):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 5, size=(n, 3))
    codes = np.column_stack([factors[:, 0] + 0.3 * rng.standard_normal(n), 2.0 * factors[:, 1] + factors[:, 2],
                             rng.standard_normal(n), 0.1 * factors[:, 2] + 0.01 * rng.standard_normal(n)])
    return codes, factors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paper_code_matches_written_out_procedure(seed):
    codes, factors = _sample(seed)
    result = w_modularity(codes, factors, random_state=seed + 10)
    matrix = _paper_code_matrix(codes, factors, seed + 10)
    np.testing.assert_allclose(result.details["dependency_matrix"], matrix, rtol=0, atol=1e-12)
    assert result.value == pytest.approx(_modularity(matrix).mean(), abs=1e-12)


def test_exact_estimator_matches_formula():
    codes, factors = _sample(5)
    result = w_modularity(codes, factors, estimator="exact")
    matrix = _exact_matrix(codes, factors)
    np.testing.assert_allclose(result.details["dependency_matrix"], matrix, rtol=0, atol=1e-12)
    assert result.value == pytest.approx(_modularity(matrix).mean(), abs=1e-12)


def test_known_answers():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 6, size=(3000, 2))
    perfect = factors + 0.01 * rng.standard_normal(factors.shape)
    assert w_modularity(perfect, factors, estimator="exact").value > 0.98
    collapsed = np.column_stack([perfect, np.zeros(3000)])
    result = w_modularity(collapsed, factors, estimator="exact")
    assert result.details["per_dim"][2] == 0.0 and result.details["constant_dims"][2]
    assert result.value == pytest.approx(np.mean(result.details["per_dim"]))
    mixed = np.column_stack([factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1]]).astype(float)
    assert w_modularity(mixed, factors, estimator="exact").value < 0.2


def test_deterministic_and_registered():
    codes, factors = _sample(3)
    a = w_modularity(codes, factors, random_state=4)
    b = w_modularity(codes, factors, random_state=4)
    assert a.value == b.value
    np.testing.assert_array_equal(a.details["dependency_matrix"], b.details["dependency_matrix"])
    spec = get_metric("wmod")
    assert spec.name == "w_modularity" and spec.kind == "sample" and spec.random


def test_bad_input():
    codes, factors = _sample(0)
    with pytest.raises(ValueError, match="two factors"):
        w_modularity(codes, factors[:, :1])
    with pytest.raises(ValueError, match="estimator"):
        w_modularity(codes, factors, estimator="fast")


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000),
       scale=st.floats(0.1, 10.0), shift=st.floats(-5.0, 5.0))
def test_exact_invariances(seed, perm_seed, scale, shift):
    """Exact estimator: permuting dims permutes per_dim, a positive affine map of a dim, relabelling a
    factor's values and permuting the factor columns change nothing."""
    codes, factors = _sample(seed, n=200)
    base = w_modularity(codes, factors, estimator="exact")
    rng = np.random.default_rng(perm_seed)
    order = rng.permutation(codes.shape[1])
    permuted = w_modularity(codes[:, order], factors, estimator="exact")
    np.testing.assert_allclose(permuted.details["per_dim"], base.details["per_dim"][order], atol=1e-12)
    affine = codes.copy()
    affine[:, 1] = scale * affine[:, 1] + shift
    assert w_modularity(affine, factors, estimator="exact").value == pytest.approx(base.value, abs=1e-9)
    relabel = factors.copy()
    relabel[:, 0] = rng.permutation(5)[factors[:, 0]]
    relabelled = w_modularity(codes, relabel[:, rng.permutation(3)], estimator="exact")
    assert relabelled.value == pytest.approx(base.value, abs=1e-12)
