"""UDR (disentanglement_lib `evaluation/udr/metrics/udr.py`, `compute_udr_sklearn`) against the source
computation written out with sklearn's Lasso and StandardScaler and scipy's spearmanr, plus invariances,
the model-dir reader and bad input."""

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dismetrics.metrics.udr import gaussian_kl_per_latent, relative_strength_disentanglement, udr, udr_from_model_dirs
from dismetrics.modeldir import write_codes


def _reference_udr(reps, kls, correlation, filter_low_kl=True, kl_filter_threshold=0.01):
    """compute_udr_sklearn after the representations and the per-latent KL are drawn."""
    from scipy.stats import spearmanr
    from sklearn.linear_model import Lasso
    from sklearn.preprocessing import StandardScaler

    reps = [r.copy() for r in reps]
    masks = []
    for i in range(len(reps)):
        scaler = StandardScaler().fit(reps[i])
        reps[i] = scaler.transform(reps[i]) * np.greater(kls[i], 0.01)
        masks.append(kls[i] > kl_filter_threshold)
    m = len(reps)
    scores = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            if correlation == "lasso":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    matrix = np.abs(Lasso(alpha=0.1).fit(reps[i], reps[j]).coef_).T
            else:
                matrix = np.zeros((reps[i].shape[1], reps[j].shape[1]))
                for a in range(reps[i].shape[1]):
                    for b in range(reps[j].shape[1]):
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            matrix[a, b] = abs(spearmanr(reps[i][:, a], reps[j][:, b], nan_policy="omit")[0])
            if filter_low_kl:
                matrix = matrix[masks[i], ...][..., masks[j]]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.nanmean(np.nan_to_num(np.max(matrix, axis=0) ** 2 / np.sum(matrix, axis=0), nan=0.0))
                y = np.nanmean(np.nan_to_num(np.max(matrix, axis=1) ** 2 / np.sum(matrix, axis=1), nan=0.0))
            scores[i, j] = (x + y) / 2
    return np.array([np.median(np.delete(scores[:, i], i)) for i in range(m)]), scores


def _sweep(seed, n=300, d=4, models=4):
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal((n, 3))
    reps, kls = [], []
    for _ in range(models):
        mixing = np.eye(3) + rng.uniform(0, 0.8) * rng.standard_normal((3, 3))
        active = truth @ mixing[:, rng.permutation(3)]
        codes = np.column_stack([active, 0.05 * rng.standard_normal((n, d - 3))])
        reps.append(codes)
        kls.append(np.r_[rng.uniform(0.5, 3.0, 3), rng.uniform(0.0, 0.02, d - 3)])
    return reps, kls


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
@pytest.mark.parametrize("filter_low_kl", [True, False])
def test_equals_the_source_computation(correlation, filter_low_kl):
    reps, kls = _sweep(0)
    kls[1][3] = 0.005  # a latent zeroed (KL <= 0.01) ...
    kls[2][3] = 0.015  # ... and one kept by the 0.01 zeroing but dropped by a 0.02 filter
    ours = udr(reps, kl_per_model=kls, correlation=correlation, filter_low_kl=filter_low_kl, kl_filter_threshold=0.02)
    expected, pairwise = _reference_udr(reps, kls, correlation, filter_low_kl, 0.02)
    np.testing.assert_allclose(ours.details["model_scores"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.details["pairwise_scores"], pairwise, rtol=0, atol=1e-12)
    assert ours.value == pytest.approx(expected.mean(), abs=1e-12)


def test_kl_from_log_variances_is_the_reference_gaussian_kl():
    rng = np.random.default_rng(1)
    mean, logvar = rng.standard_normal((50, 3)), rng.normal(-1, 0.5, (50, 3))
    expected = np.mean(0.5 * (mean**2 + np.exp(logvar) - logvar - 1), axis=0)
    np.testing.assert_allclose(gaussian_kl_per_latent(mean, logvar), expected, rtol=1e-14)
    reps, _ = _sweep(2, n=50, d=3, models=3)
    logvars = [rng.normal(-1, 0.3, (50, 3)) for _ in reps]
    by_logvar = udr(reps, logvars_per_model=logvars)
    by_kl = udr(reps, kl_per_model=[gaussian_kl_per_latent(r, lv) for r, lv in zip(reps, logvars)])
    np.testing.assert_array_equal(by_logvar.details["model_scores"], by_kl.details["model_scores"])


def test_relative_strength_known_values():
    # The reference's own unit test values, and the closed forms behind them.
    assert relative_strength_disentanglement(np.eye(3)) == 1.0
    block = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert relative_strength_disentanglement(block) == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert relative_strength_disentanglement(np.ones((3, 3))) == pytest.approx(1 / 3)
    assert relative_strength_disentanglement(np.zeros((3, 3))) == 0.0
    assert relative_strength_disentanglement(np.zeros((0, 2))) == 0.0


def test_active_masks_filter_and_zero():
    reps, kls = _sweep(3)
    masks = [kl > 0.01 for kl in kls]
    by_mask = udr(reps, active_per_model=masks)
    by_kl = udr(reps, kl_per_model=kls)
    np.testing.assert_allclose(by_mask.details["model_scores"], by_kl.details["model_scores"], atol=1e-12)
    assert [list(a) for a in by_mask.details["active_latents"]] == [list(np.flatnonzero(m)) for m in masks]


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), model=st.integers(0, 3), scale=st.floats(0.1, 10.0),
       shift=st.floats(-5.0, 5.0))
def test_invariant_to_permuting_flipping_and_rescaling_one_models_latents(seed, model, scale, shift):
    reps, kls = _sweep(seed, n=120)
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(reps[model].shape[1])
    signs = rng.choice([-1.0, 1.0], size=reps[model].shape[1])
    moved = [r.copy() for r in reps]
    moved_kls = [k.copy() for k in kls]
    moved[model] = (reps[model] * signs * scale + shift)[:, order]
    moved_kls[model] = kls[model][order]
    # Spearman on standardized latents: exactly invariant (ranks, absolute values).
    base = udr(reps, kl_per_model=kls, correlation="spearman")
    other = udr(moved, kl_per_model=moved_kls, correlation="spearman")
    np.testing.assert_allclose(other.details["model_scores"], base.details["model_scores"], atol=1e-12)
    # Lasso: the same optimum; coordinate descent visits the latents in another order (tol 1e-4).
    base = udr(reps, kl_per_model=kls)
    other = udr(moved, kl_per_model=moved_kls)
    np.testing.assert_allclose(other.details["model_scores"], base.details["model_scores"], atol=2e-3)


def test_permuting_models_permutes_scores():
    reps, kls = _sweep(4)
    order = [2, 0, 3, 1]
    base = udr(reps, kl_per_model=kls)
    moved = udr([reps[m] for m in order], kl_per_model=[kls[m] for m in order])
    np.testing.assert_allclose(moved.details["model_scores"], base.details["model_scores"][order], atol=1e-12)


def test_disentangled_models_rank_above_entangled_ones():
    rng = np.random.default_rng(5)
    truth = rng.standard_normal((400, 3))
    good = [truth[:, rng.permutation(3)] * rng.choice([-1, 1], 3) for _ in range(3)]
    bad = [truth @ rng.standard_normal((3, 3)) for _ in range(2)]
    scores = udr(good + bad).details["model_scores"]
    assert scores[:3].min() > scores[3:].max()


def test_model_dirs(tmp_path):
    reps, _ = _sweep(6, n=40, d=3, models=3)
    factors = np.arange(80).reshape(40, 2) % 5
    dirs = []
    for m, codes in enumerate(reps):
        directory = tmp_path / f"model{m}"
        directory.mkdir()
        write_codes(directory, codes, factors)
        dirs.append(directory)
    result = udr_from_model_dirs(dirs)
    np.testing.assert_allclose(result.details["model_scores"], udr(reps).details["model_scores"], atol=1e-12)
    assert result.details["names"] == [str(d) for d in dirs]
    write_codes(dirs[2], reps[2], factors[::-1])
    with pytest.raises(ValueError, match="same inputs"):
        udr_from_model_dirs(dirs)
    with pytest.raises(ValueError, match="split"):
        udr_from_model_dirs(dirs, split="test")


def test_bad_input_is_a_clear_value_error():
    reps, kls = _sweep(7, n=30, models=3)
    with pytest.raises(ValueError, match="at least 2 models"):
        udr(reps[:1])
    with pytest.raises(ValueError, match="sequence of"):
        udr(reps[0])
    with pytest.raises(ValueError, match="same inputs"):
        udr([reps[0], reps[1][:20]])
    with pytest.raises(ValueError, match="at most one"):
        udr(reps, kl_per_model=kls, active_per_model=[k > 0 for k in kls])
    with pytest.raises(ValueError, match="one per latent"):
        udr(reps, kl_per_model=[k[:2] for k in kls])
    with pytest.raises(ValueError, match="boolean"):
        udr(reps, active_per_model=[np.ones(4) for _ in kls])
    with pytest.raises(ValueError, match="correlation"):
        udr(reps, correlation="pearson")
    with pytest.raises(ValueError, match="NaN"):
        udr([reps[0], np.full_like(reps[1], np.nan)])


def test_threads_give_the_serial_result(monkeypatch):
    module = importlib.import_module("dismetrics.metrics.udr")  # the package attribute is the function

    monkeypatch.setattr(module, "UDR_PARALLEL_WORK", 0)  # small enough to run fast, threaded all the same
    reps, kls = _sweep(8, n=500, models=4)
    serial = udr(reps, kl_per_model=kls, n_jobs=1, include_correlations=True)
    threaded = udr(reps, kl_per_model=kls, n_jobs=2, include_correlations=True)
    np.testing.assert_array_equal(threaded.details["pairwise_scores"], serial.details["pairwise_scores"])
    np.testing.assert_array_equal(threaded.details["correlations"][0][1], serial.details["correlations"][0][1])
    assert serial.details["correlations"][2][2] is None
