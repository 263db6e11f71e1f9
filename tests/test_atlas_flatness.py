"""Flatness (disent's metric_flatness): the formula on the recorded traversals, known answers, invariances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from dismetrics.data import FactorGrid
from dismetrics.metrics.flatness import flatness
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


class Recorder:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, x):
        z = self.fn(x)
        self.calls.append(z)
        return z


def flatness_written_out(codes, sizes, repeats):
    """disent's definition from the traversal codes (factor-major, repeat-minor), with scipy distances."""
    start, scores, w1s, l2s = 0, [], [], []
    for m in sizes:
        widths = {1: [], 2: []}
        deltas = {1: [], 2: []}
        for r in range(repeats):
            z = codes[start + r * m: start + (r + 1) * m]
            for p in (1, 2):
                widths[p].append(pdist(z, "minkowski", p=p).max())
                steps = [np.linalg.norm(z[(i + 1) % m] - z[i], ord=p) for i in range(m)]
                deltas[p].extend(sorted(steps)[: m - 1])
        start += repeats * m
        length1 = (m - 1) * np.mean(deltas[1])
        length2 = (m - 1) * np.mean(deltas[2])
        scores.append(np.mean(widths[2]) / length1)
        w1s.append(np.mean(widths[1]) / length1)
        l2s.append(np.mean(widths[2]) / length2)
    return np.mean(scores), np.mean(w1s), np.mean(l2s)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_formula_on_recorded_traversals(grid, seed):
    recorder = Recorder(curved)
    result = flatness(recorder, grid, repeats=12, random_state=seed, chunk_size=20, encoding="direct")
    expected, l1, l2 = flatness_written_out(np.concatenate(recorder.calls), SIZES, 12)
    assert result.value == pytest.approx(expected, abs=1e-12)
    assert result.details["ave_flatness_l1"] == pytest.approx(l1, abs=1e-12)
    assert result.details["ave_flatness_l2"] == pytest.approx(l2, abs=1e-12)
    assert 0.0 <= result.value <= 1.0


def test_known_answers(grid):
    assert flatness(lambda x: np.asarray(x, float), grid, repeats=4).value == 1.0
    # a straight, evenly spaced but diagonal traversal: L2 width / L1 length = 1 / sqrt(2)
    diagonal = flatness(lambda x: np.asarray(x, float) @ np.array([[1.0, 1.0, 0, 0], [0, 0, 1.0, 0],
                                                                   [0, 0, 0, 1.0]]), grid, repeats=4)
    assert diagonal.details["flatness_per_factor"][0] == pytest.approx(1 / np.sqrt(2), abs=1e-12)
    assert diagonal.details["ave_flatness_l2"] == pytest.approx(1.0, abs=1e-12)
    # a constant code: zero lengths count as 0, as in the source
    assert flatness(lambda x: np.zeros((len(x), 2)), grid, repeats=4).value == 0.0


def test_deterministic_registered_and_errors(grid):
    a = flatness(curved, grid, repeats=6, random_state=3)
    b = flatness(curved, grid, repeats=6, random_state=3)
    assert a.value == b.value and a.params["repeats"] == 6
    direct = flatness(curved, grid, repeats=6, random_state=3, encoding="direct")
    assert direct.value == pytest.approx(a.value, abs=1e-12) and direct.params["encoding"] == "direct"
    assert get_metric("flatness").kind == "intervention"
    with pytest.raises(ValueError, match="repeats"):
        flatness(curved, grid, repeats=0)
    with pytest.raises(ValueError, match="sampler"):
        flatness(curved, object())


@HYPOTHESIS
@given(perm_seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0), shift=st.floats(-10, 10))
def test_invariances(grid, perm_seed, scale, shift):
    """Permuting dims, one common positive scale, shifting dims and adding a constant dim change nothing."""
    base = flatness(curved, grid, repeats=5, random_state=2).value
    order = np.random.default_rng(perm_seed).permutation(4)

    def moved(x):
        z = curved(x)[:, order] * scale + shift
        return np.column_stack([z, np.full(len(z), 3.0)])

    assert flatness(moved, grid, repeats=5, random_state=2).value == pytest.approx(base, rel=1e-9)


def test_distances_overflowing_float64_are_refused_naming_the_representation():
    """Regression (fuzz, tests/test_fuzz_metrics.py): codes near 1e200 made the traversal widths infinite
    and the value inf; they are now refused. Codes at 1e150 still compute, to the value at scale 1."""
    from dismetrics.data import FactorGrid
    from dismetrics.metrics.flatness import flatness as flatness_metric

    grid = FactorGrid([3, 4])
    encoder = lambda s: (lambda x: np.hstack([np.asarray(x, float) * s, np.ones((len(x), 1))]))  # noqa: E731
    for scale in (1e200, 1.7e308 / 4):
        with pytest.raises(ValueError, match="^representation returned codes whose distances"):
            flatness_metric(encoder(scale), grid, repeats=4)
    scaled, plain = (flatness_metric(encoder(s), grid, repeats=4).value for s in (2.0**500, 1.0))
    assert scaled == plain
