"""Linearity / axis alignment (disent's metric_linearity): the formula on the recorded traversals, known
answers, invariances."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from dismetrics.data import FactorGrid
from dismetrics.metrics.linearity import linearity
from dismetrics.metrics.registry import get_metric

SIZES = [3, 5, 7]
HYPOTHESIS = settings(max_examples=15, deadline=None)


@pytest.fixture(scope="module")
def grid():
    return FactorGrid(SIZES)


def curved(x):
    f = np.asarray(x, dtype=np.float64)
    return np.column_stack([np.sin(f[:, 0]) + f[:, 1] ** 1.5, np.cos(f[:, 1]) - 0.3 * f[:, 2], f[:, 2] ** 2 / 10,
                            f[:, 0] * f[:, 2] / 5])


def _s(values):
    n = len(values)
    r = max(values) / sum(values)
    return (r - 1 / n) / (1 - 1 / n)


def linearity_written_out(codes, sizes, repeats):
    """disent's definitions with np.cov and a general eigen solver, geometric mean over factors."""
    start, per_factor = 0, {"axis_ratio": [], "linear_ratio": [], "axis_alignment": [], "axis_ratio_ave": []}
    for m in sizes:
        axis, linear, align, variances = [], [], [], []
        for r in range(repeats):
            z = codes[start + r * m: start + (r + 1) * m]
            cov = np.cov(z, rowvar=False)
            a = _s(np.diag(cov))
            lin = _s(np.abs(np.real(scipy.linalg.eigvals(cov))))
            axis.append(a)
            linear.append(lin)
            align.append(a / (lin + 1e-20))
            variances.append(np.var(z, axis=0, ddof=1))
        start += repeats * m
        per_factor["axis_ratio"].append(np.mean(axis))
        per_factor["linear_ratio"].append(np.mean(linear))
        per_factor["axis_alignment"].append(np.mean(align))
        per_factor["axis_ratio_ave"].append(_s(np.mean(variances, axis=0)))
    return {key: float(np.float32(np.prod(values) ** (1 / len(values)))) for key, values in per_factor.items()}


class Recorder:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, x):
        z = self.fn(x)
        self.calls.append(z)
        return z


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_formula_on_recorded_traversals(grid, seed):
    recorder = Recorder(curved)
    result = linearity(recorder, grid, repeats=10, random_state=seed, chunk_size=15, encoding="direct")
    expected = linearity_written_out(np.concatenate(recorder.calls), SIZES, 10)
    for key, value in expected.items():
        assert result.details[key] == pytest.approx(value, rel=2e-7), key  # float32 rounding, as the source
    assert result.value == result.details["linear_ratio"]


def test_known_answers(grid):
    identity = linearity(lambda x: np.asarray(x, float), grid, repeats=4)
    assert identity.value == 1.0 and identity.details["axis_ratio"] == 1.0
    # straight but diagonal traversals: linear ratio 1, axis ratio 0 (two equal variances in d = 2)
    rotated = linearity(lambda x: np.asarray(x, float)[:, :2] @ np.array([[1.0, 1.0], [1.0, -1.0]]),
                        FactorGrid([4, 5]), repeats=4)
    assert rotated.details["linear_ratio"] == pytest.approx(1.0, abs=1e-6)
    assert rotated.details["axis_ratio"] == 0.0
    axis = linearity(lambda x: np.asarray(x, float), grid, repeats=4, score="axis_alignment")
    assert axis.value == pytest.approx(1.0)


def test_deterministic_registered_and_errors(grid):
    a = linearity(curved, grid, repeats=6, random_state=3)
    b = linearity(curved, grid, repeats=6, random_state=3)
    assert all(np.array_equal(a.details[k], b.details[k]) for k in a.details)
    assert get_metric("disent_linearity").name == "linearity"
    with pytest.raises(ValueError, match="score"):
        linearity(curved, grid, score="flat")
    with pytest.raises(ValueError, match="2 dims"):
        linearity(lambda x: np.asarray(x, float)[:, :1], grid, repeats=2)


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0))
def test_linear_ratio_invariant_to_rotations(grid, seed, scale):
    """The linear ratio only sees the covariance spectrum: any orthogonal map and one common scale leave
    it unchanged; the axis ratio is unchanged by permuting dims."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((4, 4)))
    base = linearity(curved, grid, repeats=4, random_state=5)
    rotated = linearity(lambda x: scale * curved(x) @ q, grid, repeats=4, random_state=5)
    assert rotated.details["linear_ratio"] == pytest.approx(base.details["linear_ratio"], rel=1e-6)
    order = np.random.default_rng(seed).permutation(4)
    permuted = linearity(lambda x: curved(x)[:, order], grid, repeats=4, random_state=5)
    assert permuted.details["axis_ratio"] == pytest.approx(base.details["axis_ratio"], rel=1e-6)


def test_variances_overflowing_float64_are_refused_naming_the_representation():
    """Regression (fuzz, tests/test_fuzz_metrics.py): codes near 1e200 made the traversal covariance infinite
    and numpy's eigvalsh raised LinAlgError "Eigenvalues did not converge" (a ValueError naming no argument);
    they are now refused. Codes at 2**500 still compute, to the value at scale 1."""
    grid = FactorGrid([3, 4])

    def encoder(scale):
        return lambda x: np.hstack([np.asarray(x, float) * scale, np.ones((len(x), 1))])

    for scale in (1e200, 1e160):
        with pytest.raises(ValueError, match="^representation returned codes whose variance along a traversal"):
            linearity(encoder(scale), grid, repeats=4)
    assert linearity(encoder(2.0**500), grid, repeats=4).value == linearity(encoder(1.0), grid, repeats=4).value
