"""The histogram/MI kernels against numpy and sklearn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score as sk_mutual_info

from dismetrics._kernels import info as kernels

from reference_impls import histogram_discretize

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def code_matrices(draw):
    """Codes with the awkward cases: ties, exact edge values, constant dims, float32."""
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(2, 300))
    d = draw(st.integers(1, 5))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["normal", "integers", "rounded", "constant_dim", "two_values"]))
    codes = rng.normal(size=(n, d)) * draw(st.sampled_from([1e-6, 1.0, 1e6]))
    if kind == "integers":
        codes = rng.integers(-5, 25, size=(n, d)).astype(float)  # many values exactly on edges
    elif kind == "rounded":
        codes = np.round(codes, 1)
    elif kind == "constant_dim":
        codes[:, 0] = draw(st.floats(-1e3, 1e3, allow_nan=False))
    elif kind == "two_values":
        codes = rng.integers(0, 2, size=(n, d)).astype(float)
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return codes.astype(dtype)


@SETTINGS
@given(code_matrices(), st.sampled_from([2, 7, 20, 64]))
def test_discretize_equals_numpy_histogram_digitize(codes, bins):
    ours = kernels.discretize(codes, bins) + 1
    np.testing.assert_array_equal(ours, histogram_discretize(codes, bins))


def test_discretize_puts_the_maximum_in_the_last_bin_and_constants_in_the_middle():
    codes = np.array([[0.0, 3.0], [1.0, 3.0], [0.5, 3.0]])
    disc = kernels.discretize(codes, 20)
    assert disc[0].tolist() == [0, 19, 10]
    # np.histogram of a constant gives edges over [v - .5, v + .5]: the value sits on edge 10.
    assert disc[1].tolist() == [10, 10, 10]


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(2, 400), st.sampled_from([2, 20]))
def test_contingency_mi_equals_sklearn(seed, n, bins):
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(n, 3))
    factors = np.c_[rng.integers(0, 3, n), rng.integers(-7, 40, n) * 3, rng.integers(0, 2, n)]
    disc = kernels.discretize(codes, bins)
    labels, sizes = kernels.encode_factor_columns(factors)
    matrix = kernels.mutual_info_from_tables(kernels.contingency_tables(disc, labels, sizes, bins))
    for i in range(3):
        for k in range(3):
            assert abs(matrix[i, k] - sk_mutual_info(factors[:, k], disc[i])) < 1e-12
    expected_h = [sk_mutual_info(factors[:, k], factors[:, k]) for k in range(3)]
    np.testing.assert_allclose(kernels.entropies(labels, sizes), expected_h, rtol=0, atol=1e-12)


def test_encode_factor_columns_handles_sparse_and_huge_labels():
    factors = np.array([[5, -10**12], [9, 10**12], [5, 0], [100, 10**12]])
    labels, sizes = kernels.encode_factor_columns(factors)
    assert sizes.tolist() == [3, 3]
    assert labels[0].tolist() == [0, 1, 0, 2]
    assert labels[1].tolist() == [0, 2, 1, 2]


@SETTINGS
@given(code_matrices())
def test_pairwise_mi_equals_sklearn(codes):
    disc = kernels.discretize(codes, 20)
    matrix = kernels.pairwise_mutual_info(disc, 20)
    d = codes.shape[1]
    for i in range(d):
        for j in range(d):
            assert abs(matrix[i, j] - sk_mutual_info(disc[i], disc[j])) < 1e-12


@pytest.mark.parametrize("bins", [20])
def test_histogram_left_edges_bit_identical_to_numpy(bins):
    rng = np.random.default_rng(3)
    codes = rng.normal(size=(1000, 4)) * [1, 1e-8, 1e8, 3]
    edges = kernels.histogram_left_edges(codes, bins)
    for i in range(4):
        np.testing.assert_array_equal(edges[i], np.histogram(codes[:, i], bins)[1][:-1])
