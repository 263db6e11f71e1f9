"""Distance scores (disent's metric_distances): the scores written out with scipy on the recorded triplets,
known answers, invariances."""

import importlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import pearsonr, spearmanr

from dismetrics.data import FactorGrid
from dismetrics.metrics.distances import DISTANCE_SCORES, distances
from dismetrics.metrics.registry import get_metric

distances_module = importlib.import_module("dismetrics.metrics.distances")  # the package attribute is the function

SIZES = [3, 5, 6]
SMALL = dict(repeats=6, num_samples=20, global_subset_size=10)
HYPOTHESIS = settings(max_examples=10, deadline=None)


def observe(f, rng):
    """Two-channel 'images': the factors with noise and a nonlinear view of them."""
    f = np.asarray(f, dtype=np.float64)
    return np.stack([f + rng.normal(0, 0.2, f.shape), np.sin(f)], axis=1)


@pytest.fixture(scope="module")
def grid():
    return FactorGrid(SIZES, observe=observe)


def encoder(x):
    x = np.asarray(x, dtype=np.float64)[:, 0]
    return np.column_stack([x[:, 0] + 0.5 * x[:, 1], np.tanh(x[:, 2]), x[:, 1] ** 2 / 10])


def scores_written_out(items, ground_kind):
    """One (obs, codes, factors, triplets) per group -> the 15 scores, distance by distance."""
    ap = {"g": [], "d": [], "l1": [], "l2": []}
    an = {"g": [], "d": [], "l1": [], "l2": []}
    for obs, codes, factors, triplets in items:
        for a, p, n in zip(*triplets):
            for store, other in ((ap, p), (an, n)):
                if ground_kind == "index":
                    store["g"].append(abs(a - other))
                else:
                    store["g"].append(np.abs(factors[a] - factors[other]).sum())
                store["d"].append(np.mean((obs[a] - obs[other]) ** 2))
                store["l1"].append(np.sum(np.abs(codes[a] - codes[other])))
                store["l2"].append(np.sqrt(np.sum((codes[a] - codes[other]) ** 2)))
    ap = {k: np.array(v, dtype=float) for k, v in ap.items()}
    an = {k: np.array(v, dtype=float) for k, v in an.items()}

    def same(x, y):
        return np.mean(np.sign(ap[x] - an[x]) == np.sign(ap[y] - an[y]))

    both = {k: np.concatenate([ap[k], an[k]]) for k in ap}
    out = {"rsame_ground_data": same("g", "d"), "rcorr_ground_data": spearmanr(both["g"], both["d"])[0],
           "lcorr_ground_data": pearsonr(both["g"], both["d"])[0]}
    for norm in ("l1", "l2"):
        out[f"rsame_ground_latent.{norm}"] = same("g", norm)
        out[f"rsame_latent_data.{norm}"] = same(norm, "d")
        out[f"rcorr_ground_latent.{norm}"] = spearmanr(both["g"], both[norm])[0]
        out[f"rcorr_latent_data.{norm}"] = spearmanr(both[norm], both["d"])[0]
        out[f"lcorr_ground_latent.{norm}"] = pearsonr(both["g"], both[norm])[0]
        out[f"lcorr_latent_data.{norm}"] = pearsonr(both[norm], both["d"])[0]
    return out


def test_matches_scores_written_out(grid, monkeypatch):
    recorded = []
    original = distances_module._group_dists

    def spy(obs, codes, ground, triplets):
        for i in range(codes.shape[0]):
            recorded.append((obs[i], codes[i], None if ground is None else ground[i], triplets[i]))
        return original(obs, codes, ground, triplets)

    monkeypatch.setattr(distances_module, "_group_dists", spy)
    result = distances(encoder, grid, random_state=2, chunk_size=25, **SMALL)
    factor_items = [item for item in recorded if item[2] is None]
    global_items = [item for item in recorded if item[2] is not None]
    assert len(factor_items) == 6 * len(SIZES) and len(global_items) == 6
    expected_global = scores_written_out(global_items, "factors")
    for name, value in expected_global.items():
        assert result.details[f"{name}.global"] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    per_factor = [scores_written_out(factor_items[6 * f: 6 * (f + 1)], "index") for f in range(len(SIZES))]
    for name in expected_global:
        values = np.array([scores[name] for scores in per_factor])
        np.testing.assert_allclose(result.details["per_factor"][name], values, rtol=1e-5, atol=1e-6)
        with np.errstate(invalid="ignore"):
            geometric = np.exp(np.mean(np.log(values)))
        assert result.details[f"{name}.factor"] == pytest.approx(geometric, rel=1e-6, nan_ok=True), name
    assert result.value == result.details["rcorr_ground_latent.l2.global"]
    assert set(DISTANCE_SCORES) <= set(result.details)


def test_known_answers():
    grid = FactorGrid([4, 6])
    identity = distances(lambda x: np.asarray(x, float), grid, **SMALL)
    # identity observations and codes: every distance agrees with the factors' L1 distance
    for name in ("rsame_ground_latent.l1.global", "rsame_ground_data.factor", "rcorr_ground_latent.l1.factor",
                 "rcorr_ground_latent.l1.global", "rcorr_latent_data.l2.factor"):
        assert identity.details[name] == pytest.approx(1.0), name
    noise = np.random.default_rng(0)
    random_codes = distances(lambda x: noise.standard_normal((len(x), 5)), grid, repeats=20, num_samples=40)
    assert abs(random_codes.details["rcorr_ground_latent.l2.global"]) < 0.15


def test_registered_deterministic_and_errors(grid):
    a = distances(encoder, grid, random_state=1, **SMALL)
    b = distances(encoder, grid, random_state=1, **SMALL)
    assert all(a.details[name] == b.details[name] or np.isnan(a.details[name]) for name in DISTANCE_SCORES)
    assert get_metric("distances").kind == "intervention"
    with pytest.raises(ValueError, match="score"):
        distances(encoder, grid, score="rcorr", **SMALL)
    with pytest.raises(ValueError, match="global_subset_size"):
        distances(encoder, grid, global_subset_size=1)


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0))
def test_l2_scores_invariant_to_rotation_and_scale(grid, seed, scale):
    """Latent L2 distances only change by a common factor under an orthogonal map and one scale: the rank
    and linear correlations and the same-order ratios of the .l2 scores do not move."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((3, 3)))
    base = distances(encoder, grid, random_state=4, **SMALL)
    moved = distances(lambda x: scale * encoder(x) @ q, grid, random_state=4, **SMALL)
    for name in DISTANCE_SCORES:
        if ".l2." in name:
            assert moved.details[name] == pytest.approx(base.details[name], abs=1e-6), name
