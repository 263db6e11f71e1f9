"""DMIG, XMIG and DLIG (latte-metrics; Watcharasupat & Lerch 2021).

The agreement tests write the definitions of latte's `mutual_info.py` (karnwatcharasupat/latte@623fae2)
out plainly below, calling scikit-learn's k-NN estimators directly with the arguments latte uses, and
compare on the same arrays and seed. (latte itself is not a test dependency; benchmarks/bench_atlas_b.py
compares against it when it is importable.)
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

import dismetrics.metrics.dlig  # noqa: F401 - registers the metrics
import dismetrics.metrics.dmig  # noqa: F401
import dismetrics.metrics.xmig  # noqa: F401
from dismetrics.metrics.dlig import dlig
from dismetrics.metrics.dmig import dmig
from dismetrics.metrics.registry import get_metric
from dismetrics.metrics.xmig import xmig

SETTINGS = settings(max_examples=10, deadline=None)


# --- the definitions, written out ----------------------------------------------------------------------------

def mi(features, target, discrete, seed):
    """latte's estimator call: codes/features continuous, the target's type picks the estimator, k = 3."""
    if discrete:
        return mutual_info_classif(features, target, random_state=seed)
    return mutual_info_regression(features, target, random_state=seed)


def entropy(a, discrete, seed):
    return mi(a[:, None].astype(float), a, discrete, seed)[0]


def cond_entropy(ai, aj, discrete, seed):
    return entropy(ai, discrete, seed) - mi(ai[:, None].astype(float), aj, discrete, seed)[0]


def gap_to_best_other(score, own):
    """score[own] minus the best other score, or minus the top score when own is not on top."""
    order = np.argsort(score)
    if order[-1] == own:
        return score[own] - score[order[-2]], order[-2]
    return score[own] - score[order[-1]], order[-1]


def ref_dmig(z, a, reg, discrete, seed):
    out = []
    for i in range(a.shape[1]):
        scores = mi(z, a[:, i], discrete, seed)
        gap, other = gap_to_best_other(scores, reg[i])
        den = cond_entropy(a[:, i], a[:, reg.index(other)], discrete, seed) if other in reg else \
            entropy(a[:, i], discrete, seed)
        out.append(gap / den)
    return np.array(out)


def ref_xmig(z, a, reg, discrete, seed):
    out = []
    free = [d for d in range(z.shape[1]) if d not in reg]
    for i in range(a.shape[1]):
        scores = mi(z, a[:, i], discrete, seed)
        out.append((scores[reg[i]] - scores[free].max()) / entropy(a[:, i], discrete, seed))
    return np.array(out)


def ref_dlig(z, a, reg, discrete, seed):
    out = []
    for i, d in enumerate(reg):
        scores = np.array([mi(z[:, d : d + 1], a[:, l], discrete, seed)[0] for l in range(a.shape[1])])
        gap, other = gap_to_best_other(scores, i)
        out.append(gap / cond_entropy(a[:, i], a[:, other], discrete, seed))
    return np.array(out)


def dependent_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, size=(n, 3))
    a[:, 2] = (a[:, 0] + rng.integers(0, 2, size=n)) % 5  # interdependent attributes
    z = np.column_stack([a + 0.4 * rng.normal(size=(n, 3)), rng.normal(size=(n, 2)),
                         0.3 * a[:, 0] + rng.normal(size=n)])
    return z, a


CASES = [(dmig, ref_dmig, "dmig"), (xmig, ref_xmig, "xmig"), (dlig, ref_dlig, "dlig")]


@pytest.mark.parametrize("metric, reference, name", CASES)
@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("reg", [None, [3, 0, 5]])
def test_matches_the_definition(metric, reference, name, discrete, reg):
    z, a = dependent_data()
    seed = 42
    result = metric(z, a, reg_dim=reg, factor_types="discrete" if discrete else "continuous", random_state=seed)
    expected = reference(z, a, reg if reg is not None else [0, 1, 2], discrete, seed)
    np.testing.assert_allclose(result.details[f"{name}_per_factor"], expected, rtol=0, atol=1e-12)
    assert abs(result.value - expected.mean()) < 1e-12


def test_continuous_factors_and_default_types():
    rng = np.random.default_rng(3)
    a = rng.uniform(size=(250, 2))
    z = np.column_stack([a[:, 1] * 2 + 0.05 * rng.normal(size=250), np.sin(3 * a[:, 0]), rng.normal(size=250)])
    for metric, reference, name in CASES:
        got = metric(z, a, reg_dim=[1, 0], random_state=7).details[f"{name}_per_factor"]
        np.testing.assert_allclose(got, reference(z, a, [1, 0], False, 7), rtol=0, atol=1e-12)


def test_mixed_factor_types_use_the_targets_estimator():
    z, a = dependent_data(seed=4)
    types = ["discrete", "continuous", "discrete"]
    result = dmig(z, a, factor_types=types, random_state=1)
    # factor 1 is continuous: its MI column comes from mutual_info_regression
    np.testing.assert_allclose(result.details["mi_matrix"][:, 1],
                               mutual_info_regression(z, a[:, 1].astype(float), random_state=1), atol=1e-15)
    np.testing.assert_allclose(result.details["mi_matrix"][:, 0], mutual_info_classif(z, a[:, 0], random_state=1),
                               atol=1e-15)


def test_perfect_code_scores_high_and_mixing_scores_lower():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, size=(600, 2))
    perfect = np.column_stack([a + 0.05 * rng.normal(size=(600, 2)), rng.normal(size=600)])
    angle = np.pi / 4
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    mixed = np.column_stack([perfect[:, :2] @ rotation, perfect[:, 2]])
    for metric in (dmig, xmig, dlig):
        good = metric(perfect, a, factor_types="discrete").value
        assert good > 0.85
        assert metric(mixed, a, factor_types="discrete").value < good - 0.3


def test_deterministic_and_n_jobs_free():
    z, a = dependent_data(seed=2)
    for metric in (dmig, xmig, dlig):
        first = metric(z, a, factor_types="discrete", random_state=5)
        assert first.value == metric(z, a, factor_types="discrete", random_state=5).value
        parallel = metric(z, a, factor_types="discrete", random_state=5, n_jobs=2)
        np.testing.assert_array_equal(first.details["mi_matrix"], parallel.details["mi_matrix"])
    gen = dmig(z, a, factor_types="discrete", random_state=np.random.default_rng(0))
    assert gen.params["random_state"] == int(np.random.default_rng(0).integers(0, 2**32 - 1))
    big = dmig(z, a, factor_types="discrete", random_state=2**40)  # evaluate's 63-bit repeat seeds
    assert big.params["random_state"] == int(np.random.SeedSequence(2**40).generate_state(1)[0])


def test_registered_specs():
    for name in ("dmig", "xmig", "dlig"):
        spec = get_metric(name)
        assert spec.kind == "sample" and spec.random and spec.docs == f"{name}.md"
        assert set(spec.factor_types) == {"discrete", "continuous"}


def test_bad_input():
    z, a = dependent_data()
    with pytest.raises(ValueError, match="more dims than factors"):
        xmig(z[:, :3], a)
    with pytest.raises(ValueError, match="one code dim per factor"):
        dmig(z, a, reg_dim=[0, 1])
    with pytest.raises(ValueError, match=r"reg_dim entries"):
        dmig(z, a, reg_dim=[0, 1, 9])
    with pytest.raises(ValueError, match="at least 2 factors"):
        dlig(z, a[:, :1])
    with pytest.raises(ValueError, match="at least as many dims"):
        dmig(z[:, :2], a)
    with pytest.raises(ValueError, match="factor_types"):
        dmig(z, a, factor_types="ordinal")
    with pytest.raises(ValueError, match="random_state"):
        dmig(z, a, random_state=-1)


# --- invariances (hypothesis) --------------------------------------------------------------------------------

def gaussian_data(seed, n=200):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, size=(n, 2))
    z = np.column_stack([a + rng.normal(size=(n, 2)), rng.normal(size=(n, 2))])
    return z, a


@SETTINGS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0), shift=st.floats(-5.0, 5.0), dim=st.integers(0, 3))
def test_affine_change_of_a_code_dim(seed, scale, shift, dim):
    # scikit-learn scales each column to unit variance and the k-NN counts are shift invariant; only the
    # 1e-10-sized tie-breaking noise moves, which changes nothing unless two distances are that close
    z, a = gaussian_data(seed)
    moved = z.copy()
    moved[:, dim] = z[:, dim] * scale + shift
    for metric in (dmig, xmig, dlig):
        base = metric(z, a, factor_types="discrete", random_state=seed).value
        assert abs(metric(moved, a, factor_types="discrete", random_state=seed).value - base) < 1e-6


@SETTINGS
@given(seed=st.integers(0, 10_000), data=st.data())
def test_relabeling_discrete_factor_values(seed, data):
    z, a = gaussian_data(seed)
    # latte's entropies also feed the factor to the estimator as a continuous feature, so its numeric coding
    # matters a little where a value has fewer than k + 1 points in some cell (docs/dmig.md, pitfalls): the
    # MI of the codes with the factor is exactly invariant, the score nearly (4e-5 seen)
    relabel = np.array(data.draw(st.permutations(range(4))))
    moved = a.copy()
    moved[:, 1] = relabel[a[:, 1]]
    for metric in (dmig, xmig, dlig):
        base = metric(z, a, factor_types="discrete", random_state=seed)
        other = metric(z, moved, factor_types="discrete", random_state=seed)
        np.testing.assert_array_equal(other.details["mi_matrix"][:, 1], base.details["mi_matrix"][:, 1])
        assert abs(other.value - base.value) < 1e-3


@SETTINGS
@given(seed=st.integers(0, 10_000), data=st.data())
def test_permuting_code_dims_with_reg_dim(seed, data):
    z, a = gaussian_data(seed)
    perm = np.array(data.draw(st.permutations(range(4))))  # new dim p holds old dim perm[p]
    where = np.argsort(perm)  # old dim q is now at where[q]
    reg = [int(where[0]), int(where[1])]
    for metric in (xmig, dlig):
        base = metric(z, a, factor_types="discrete", random_state=seed).value
        assert abs(metric(z[:, perm], a, reg_dim=reg, factor_types="discrete", random_state=seed).value - base) < 1e-6
    # DMIG: the gaps are invariant; the denominator depends on which dim is the runner-up, and scikit-learn
    # clips MI estimates at 0, so dims tied at 0 are ordered by position (docs/dmig.md, pitfalls)
    base = dmig(z, a, factor_types="discrete", random_state=seed)
    moved = dmig(z[:, perm], a, reg_dim=reg, factor_types="discrete", random_state=seed)
    gaps = base.details["dmig_per_factor"] * base.details["denominator"]
    moved_gaps = moved.details["dmig_per_factor"] * moved.details["denominator"]
    np.testing.assert_allclose(moved_gaps, gaps, rtol=0, atol=1e-6)
    if np.array_equal(perm[moved.details["subtrahend_dim"]], base.details["subtrahend_dim"]):
        assert abs(moved.value - base.value) < 1e-6


def test_refuses_a_non_positive_denominator():
    # factor 1 equals factor 0: H(a_0 | a_1) is 0, where latte divides by it
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, size=(300, 2))
    a[:, 1] = a[:, 0]
    z = a + rng.normal(size=(300, 2))
    for metric in (dmig, dlig):
        with pytest.raises(ValueError, match="factors: the estimated conditional entropy"):
            metric(z, a, factor_types="discrete")


def test_run_through_evaluate_codes_by_name():
    from dismetrics import evaluate_codes

    z, a = dependent_data(seed=6)
    table = evaluate_codes(z, a, ["dmig", "xmig", "dlig"], progress=False)
    assert (table["error"] == "").all()
    for name, metric in (("dmig", dmig), ("xmig", xmig), ("dlig", dlig)):
        row = table[table["metric"] == name].iloc[0]
        assert row["value"] == metric(z, a, random_state=int(row["seed"])).value


@pytest.mark.parametrize("exponent", [-1000, -300, -45, 45, 300, 1000])
def test_power_of_two_scales_of_the_codes_give_the_same_bits(exponent):
    # scikit-learn divides each column by its standard deviation, which under- or overflows for codes
    # this far from 1; the codes are brought back by an exact power of two first (docs/dmig.md)
    z, a = dependent_data(seed=8)
    for metric in (dmig, xmig, dlig):
        base = metric(z, a, factor_types="discrete", random_state=3)
        moved = metric(z * 2.0**exponent, a, factor_types="discrete", random_state=3)
        np.testing.assert_array_equal(moved.details["mi_matrix"], base.details["mi_matrix"])
        assert moved.value == base.value
    if exponent < 0:  # continuous factors are rescaled the same way (beyond float32 they are refused)
        assert dmig(z, a * 2.0**exponent, random_state=3).value == dmig(z, a.astype(float), random_state=3).value


def test_discrete_factor_without_repeated_values_is_refused():
    rng = np.random.default_rng(0)
    a = np.column_stack([np.arange(40), rng.integers(0, 3, size=40)])
    z = np.column_stack([a + rng.normal(size=(40, 2)), rng.normal(size=40)])
    with pytest.raises(ValueError, match=r"factors\[:, 0\] \(discrete\) has no value that occurs twice"):
        dmig(z, a, factor_types="discrete")
    assert np.isfinite(dmig(z, a, factor_types=["continuous", "discrete"]).value)
