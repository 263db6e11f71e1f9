"""Smoothness and monotonicity (latte-metrics' interpolatability scores; Watcharasupat 2021).

The agreement tests write latte's definitions (karnwatcharasupat/latte@623fae2,
`functional/interpolatability/{smoothness,monotonicity}.py`) out plainly, one traversal at a time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dismetrics.metrics.monotonicity import monotonicity
from dismetrics.metrics.smoothness import smoothness

SETTINGS = settings(max_examples=25, deadline=None)


def ref_smoothness_one(z, a, p=2.0):
    """One traversal: 1 - Lehmer_p(|D2|) / (range(D1) / step), forward differences over midpoints."""
    d1 = [(a[k + 1] - a[k]) / (z[k + 1] - z[k]) for k in range(len(z) - 1)]
    mid = [(z[k] + z[k + 1]) / 2 for k in range(len(z) - 1)]
    d2 = [abs((d1[k + 1] - d1[k]) / (mid[k + 1] - mid[k])) for k in range(len(d1) - 1)]
    if all(x == d2[0] for x in d2):
        lehmer = d2[0]
    else:
        lehmer = sum(x**p for x in d2) / sum(x ** (p - 1) for x in d2)
    spread = (max(d1) - min(d1)) / (z[1] - z[0])
    return lehmer, spread


def ref_smoothness(z, a, reg):
    n, k, _ = a.shape
    out = np.empty((n, k))
    nums = np.empty((n, k))
    for s in range(n):
        for i in range(k):
            num, den = ref_smoothness_one(z[s, reg[i]], a[s, i])
            nums[s, i] = num
            out[s, i] = 1 - num / den if den != 0 else (math.nan if num == 0 else -math.inf)
    for i in range(k):
        if np.all(nums[:, i] == 0):
            out[:, i] = 1.0
    return out


def ref_monotonicity(z, a, reg, thresh=1e-3):
    n, k, steps = a.shape
    out = np.empty((n, k))
    for s in range(n):
        for i in range(k):
            signs = []
            for t in range(steps - 1):
                diff = (a[s, i, t + 1] - a[s, i, t]) / (z[s, reg[i], t + 1] - z[s, reg[i], t])
                if abs(diff) > thresh:
                    signs.append(1.0 if diff > 0 else -1.0)
            out[s, i] = sum(signs) / len(signs) if signs else math.nan
    return out


def traversals(seed, n=12, d=4, steps=9):
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1.0, 1.0, steps)
    z = grid * rng.uniform(0.5, 2.0, size=(n, d, 1)) + rng.normal(size=(n, d, 1))
    a = np.stack([np.tanh(2 * z[:, 2]), z[:, 0] ** 3 - z[:, 0], np.sin(3 * z[:, 3])], axis=1)
    a = a + 0.01 * rng.normal(size=a.shape)
    return z, a


@pytest.mark.parametrize("reg", [None, [2, 0, 3]])
def test_smoothness_matches_the_definition(reg):
    z, a = traversals(0)
    result = smoothness(z, a, reg_dim=reg)
    expected = ref_smoothness(z, a, reg or [0, 1, 2])
    np.testing.assert_allclose(result.details["smoothness_matrix"], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.details["smoothness_per_factor"], expected.mean(axis=0), rtol=1e-12)
    assert abs(result.value - expected.mean()) < 1e-12


@pytest.mark.parametrize("reg", [None, [2, 0, 3]])
def test_monotonicity_matches_the_definition(reg):
    z, a = traversals(1)
    a[0, 1] = 5.0  # a traversal with no change at all: degenerate (NaN), left out of the means
    result = monotonicity(z, a, reg_dim=reg)
    expected = ref_monotonicity(z, a, reg or [0, 1, 2])
    np.testing.assert_allclose(result.details["monotonicity_matrix"], expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(result.details["monotonicity_per_factor"], np.nanmean(expected, axis=0), atol=1e-15)
    assert abs(result.value - np.nanmean(expected)) < 1e-15
    assert result.details["degenerate_fraction"][1] == pytest.approx(1 / 12)
    zeroed = monotonicity(z, a, reg_dim=reg, degenerate_val=0.0, nanmean=False)
    assert abs(zeroed.value - np.mean(np.nan_to_num(expected, nan=0.0))) < 1e-15


def test_closed_forms():
    steps = 11
    grid = np.arange(float(steps))  # exact differences: no rounding noise (see the pitfall in docs/smoothness.md)
    z = np.broadcast_to(grid, (3, 1, steps)).copy()
    linear = smoothness(z, 2 * z + 1)
    assert linear.value == 1.0  # all second differences vanish
    # the same line on an inexact grid: second differences of rounding size over a zero range
    inexact = np.broadcast_to(np.linspace(0.0, 3.0, steps), (3, 1, steps))
    noisy = smoothness(inexact, 2 * inexact + 1)
    assert noisy.value < 1.0
    quadratic = smoothness(z, z**2)
    # |D2| = 2 everywhere; D1 runs over 2 * midpoints, range 2 (L - step), divided by the step
    assert quadratic.value == pytest.approx(1 - 1 / (steps - 2), abs=1e-12)
    assert smoothness(z, z**2, max_mode="naive").value == pytest.approx(1 - 1 / (steps - 2), abs=1e-12)
    assert monotonicity(z, np.exp(z)).value == 1.0
    assert monotonicity(z, -z).value == -1.0
    assert monotonicity(z, (z - 5.0) ** 2).value == pytest.approx(0.0, abs=1e-12)


@SETTINGS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0), shift=st.floats(-100.0, 100.0),
       step_scale=st.floats(0.1, 10.0))
def test_smoothness_invariances(seed, scale, shift, step_scale):
    # an affine change of the attribute, or a wider traversal step, leaves smoothness unchanged
    z, a = traversals(seed)
    base = smoothness(z, a).details["smoothness_matrix"]
    np.testing.assert_allclose(smoothness(z, scale * a + shift).details["smoothness_matrix"], base, atol=1e-7)
    np.testing.assert_allclose(smoothness(z, -a).details["smoothness_matrix"], base, atol=1e-9)
    np.testing.assert_allclose(smoothness(z * step_scale + shift, a).details["smoothness_matrix"], base, atol=1e-7)


@SETTINGS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0))
def test_monotonicity_sign_symmetry(seed, scale):
    z, a = traversals(seed)
    base = monotonicity(z, a, liad_thresh=0.0).details["monotonicity_matrix"]
    np.testing.assert_array_equal(monotonicity(z, scale * a, liad_thresh=0.0).details["monotonicity_matrix"], base)
    np.testing.assert_array_equal(monotonicity(z, -a, liad_thresh=0.0).details["monotonicity_matrix"], -base)
    # walking each traversal backwards changes nothing
    np.testing.assert_array_equal(monotonicity(z[..., ::-1], a[..., ::-1], liad_thresh=0.0)
                                  .details["monotonicity_matrix"], base)


def test_bad_input():
    z, a = traversals(0)
    with pytest.raises(ValueError, match="3-D"):
        smoothness(z[:, 0], a[:, 0])
    with pytest.raises(ValueError, match="equal steps"):
        smoothness(z**3, a)
    flat = z.copy()
    flat[0, 1] = 0.5
    with pytest.raises(ValueError, match="constant along a traversal"):
        monotonicity(flat, a)
    with pytest.raises(ValueError, match="at least 3 steps"):
        smoothness(z[..., :2], a[..., :2])
    with pytest.raises(ValueError, match="p must be"):
        smoothness(z, a, p=1.0)
    with pytest.raises(ValueError, match="ptp_mode"):
        smoothness(z, a, ptp_mode=1.5)
    with pytest.raises(ValueError, match="reg_dim"):
        monotonicity(z, a, reg_dim=[0, 1])
    with pytest.raises(ValueError, match="same number of samples"):
        monotonicity(z[:-1], a)
    with pytest.raises(ValueError, match="liad_thresh"):
        monotonicity(z, a, liad_thresh=-1.0)
