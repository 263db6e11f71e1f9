"""The known-answer codes of dismetrics.data.synthetic (the demo's four codes and the damage study's
damaged codes), against their definitions written out plainly here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dismetrics.data.synthetic import (
    DAMAGE_FACTOR_SIZES,
    DAMAGE_JITTER,
    DAMAGES,
    damage_map,
    damage_sample,
    damaged_codes,
    damaged_sampler,
    known_answer_codes,
    rotation_matrix,
    scaled_factors,
)

SIZES = (3, 6, 40, 32, 32)


def _factors(n=400, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return rng.integers(0, sizes, size=(n, len(sizes))), rng


@given(st.lists(st.integers(2, 50), min_size=1, max_size=6), st.floats(-5, 5), st.floats(0.1, 5), st.integers(0, 99))
def test_scaled_factors_maps_the_grid_affinely_onto_the_interval(sizes, low, width, seed):
    high = low + width
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, sizes, size=(20, len(sizes)))
    grid_ends = np.array([np.zeros(len(sizes), dtype=np.int64), np.asarray(sizes) - 1])
    ends = scaled_factors(grid_ends, sizes, low, high)
    np.testing.assert_allclose(ends[0], low, atol=1e-12)
    np.testing.assert_allclose(ends[1], high, rtol=1e-12, atol=1e-12)
    expected = low + (high - low) * factors / (np.asarray(sizes, dtype=float) - 1)
    np.testing.assert_allclose(scaled_factors(factors, sizes, low, high), expected, rtol=1e-12, atol=1e-12)


def test_known_answer_codes_follow_their_definitions():
    factors, rng = _factors()
    codes = known_answer_codes(factors, SIZES, rng)
    u = factors / (np.asarray(SIZES) - 1.0)
    perfect = codes["perfect"]
    assert perfect.shape == (400, 10) and codes["noise"].shape == (400, 10) and codes["duplicated"].shape == (400, 10)
    # jitter N(0, 0.01^2): within 6 sd of the scaled factors; the last 5 dims are jitter alone
    assert np.abs(perfect[:, :5] - u).max() < 0.06
    assert np.abs(perfect[:, 5:]).max() < 0.06
    # rotated: the first two dims of perfect rotated by 45 degrees, the rest unchanged
    np.testing.assert_allclose(codes["rotated"], perfect @ rotation_matrix(10, np.pi / 4).T, atol=1e-15)
    # duplicated: every factor twice
    assert np.abs(codes["duplicated"] - np.hstack([u, u])).max() < 0.06
    # noise: standard normal, independent of the factors
    assert abs(codes["noise"].std() - 1.0) < 0.05


def test_known_answer_codes_are_deterministic_and_checked():
    factors, _ = _factors()
    first = known_answer_codes(factors, SIZES, np.random.default_rng(3))
    second = known_answer_codes(factors, SIZES, np.random.default_rng(3))
    for name in first:
        assert np.array_equal(first[name], second[name]), name
    with pytest.raises(ValueError, match="n_dims must be at least"):
        known_answer_codes(factors, SIZES, np.random.default_rng(0), n_dims=4)


def test_the_cli_demo_scores_these_codes():
    from dismetrics.cli import DSPRITES_SIZES, demo_representations

    factors, _ = _factors()
    demo = demo_representations(factors, np.random.default_rng(1))
    direct = known_answer_codes(factors, DSPRITES_SIZES, np.random.default_rng(1))
    assert list(demo) == ["perfect", "rotated", "duplicated", "noise"]
    for name in demo:
        assert np.array_equal(demo[name], direct[name]), name


def test_damage_sample_is_the_plain_computation():
    """Factors column by column, then u = 2 v / (m - 1) - 1 + N(0, 0.02^2), then the damage."""
    codes, factors = damage_sample("noise", 0.4, 300, seed=2)
    rng = np.random.default_rng(2)
    expected_factors = np.stack([rng.integers(0, m, size=300) for m in DAMAGE_FACTOR_SIZES], axis=1)
    u = 2.0 * expected_factors / (np.asarray(DAMAGE_FACTOR_SIZES) - 1.0) - 1.0
    u = u + rng.normal(0.0, DAMAGE_JITTER, size=u.shape)
    noise = rng.normal(0.0, 1.0 / np.sqrt(3.0), size=u.shape)
    assert np.array_equal(factors, expected_factors)
    np.testing.assert_allclose(codes, 0.6 * u + 0.4 * noise, rtol=0, atol=1e-15)


def test_each_damage_does_what_it_says():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, size=(50, 5))

    def apply(experiment, level):
        return damage_map(experiment, level, seed=4)(u, np.random.default_rng(1))

    assert np.array_equal(apply("noise", 0.0), u)
    rotated = apply("rotation", 3)
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=1), np.linalg.norm(u, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(rotated[:, 3:], u[:, 3:])
    spread = apply("cos_sin", 2)
    assert spread.shape == (50, 7)
    np.testing.assert_allclose(spread[:, 3:5] ** 2 + spread[:, 5:7] ** 2, 1.0, rtol=1e-12)
    np.testing.assert_allclose(apply("nonlinear", 3), np.sign(u) * np.abs(u) ** 3, rtol=1e-12)
    missing = apply("missing", 2)
    assert (np.all(missing == u, axis=0)).sum() == 3
    duplicated = apply("duplicate", 2)
    assert duplicated.shape == (50, 7) and np.array_equal(duplicated[:, :5], u)
    with pytest.raises(ValueError, match="unknown experiment"):
        damage_map("blur", 1, seed=0)


def test_a_damage_map_is_fixed_by_its_seed():
    """The random parts (rotation, subsets) come from the seed, not from the per-point generator."""
    factors, _ = _factors(sizes=DAMAGE_FACTOR_SIZES)
    for experiment in DAMAGES:
        a = damaged_codes(experiment, 3, factors, 5, np.random.default_rng(0))
        b = damaged_codes(experiment, 3, factors, 5, np.random.default_rng(0))
        assert np.array_equal(a, b), experiment
    a = damage_map("rotation", 5, seed=0)(np.eye(5), None)
    b = damage_map("rotation", 5, seed=1)(np.eye(5), None)
    assert not np.allclose(a, b)


def test_the_damaged_sampler_observes_the_damaged_codes():
    sampler = damaged_sampler("missing", 2, seed=3)
    factors = sampler.sample_factors(100, np.random.default_rng(0))
    observed = sampler.sample_observations_from_factors(factors, np.random.default_rng(7))
    assert np.array_equal(observed, damaged_codes("missing", 2, factors, 3, np.random.default_rng(7)))
    assert list(sampler.factor_sizes) == list(DAMAGE_FACTOR_SIZES)


def test_linear_mixing_takes_random_state_and_the_old_seed_with_a_warning():
    from dismetrics.data.synthetic import LinearMixing

    expected = np.random.default_rng(3).standard_normal((3, 3))
    assert np.array_equal(LinearMixing([3, 4, 5], random_state=3).matrix, expected)
    assert np.array_equal(LinearMixing([3, 4, 5]).matrix, np.random.default_rng(0).standard_normal((3, 3)))
    with pytest.warns(DeprecationWarning, match="random_state"):
        assert np.array_equal(LinearMixing([3, 4, 5], seed=3).matrix, expected)
