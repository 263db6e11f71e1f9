"""The wider metric family (issue 9): IRS, MIG-sup, DCIMIG, JEMMIG, InfoM/InfoC/InfoE, DCI-ES.

Agreement with independent computations on random inputs, known answers, invariances,
determinism and validation.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score as sk_mi

import dismetrics as dm
from dismetrics.metrics import SAMPLE_METRICS
from dismetrics.metrics.dci_es import explicitness_from_curve
from dismetrics.metrics.infomec import infom_infoc_from_nmi, normalized_mi_matrix
from dismetrics.result import MetricResult

from wider_reference_impls import (
    reference_dcimig,
    reference_infom_infoc,
    reference_irs,
    reference_jemmig,
    reference_mig_sup,
    ross_mi_brute_force,
    trapezoid_explicitness,
)

SETTINGS = settings(max_examples=25, deadline=None)
BINNED = (dm.mig_sup, dm.dcimig, dm.jemmig)


@st.composite
def random_problem(draw, max_size=30):
    """A random (codes, factors) problem, from structured to pure noise, ties included."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(60, 400))
    k = draw(st.integers(2, 4))
    d = draw(st.integers(2, 6))
    sizes = rng.integers(2, max_size, size=k)
    factors = rng.integers(0, sizes, size=(n, k))
    mixing = rng.normal(size=(k, d)) * rng.integers(0, 2, size=(k, d))
    codes = factors @ mixing + draw(st.sampled_from([0.0, 0.1, 10.0])) * rng.normal(size=(n, d))
    if draw(st.booleans()):
        codes = np.round(codes, 1)
    return codes, factors, rng


def grid_factors(sizes=(3, 4, 5), repeats=4):
    """Every combination of factor values, repeated: the factors are exactly independent."""
    grid = np.array(list(itertools.product(*[range(s) for s in sizes])))
    return np.tile(grid, (repeats, 1))


def sample(seed, n=1500, sizes=(3, 6, 10, 8), noise_dims=2, noise=0.05):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, sizes, size=(n, len(sizes)))
    scaled = factors / (np.asarray(sizes) - 1.0)
    codes = np.hstack([scaled + noise * rng.standard_normal(scaled.shape), rng.standard_normal((n, noise_dims))])
    return codes, factors


def rotate_first_pair(codes):
    rotated = codes.copy()
    c = np.sqrt(0.5)
    rotated[:, 0], rotated[:, 1] = c * (codes[:, 0] - codes[:, 1]), c * (codes[:, 0] + codes[:, 1])
    return rotated


# ==== agreement with the independent computations ================================================


@SETTINGS
@given(random_problem())
def test_irs_equals_reference(problem):
    codes, factors, _ = problem
    assert dm.irs(codes, factors).value == pytest.approx(reference_irs(codes, factors), abs=1e-10)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 3) | st.floats(-5, 5), min_size=1, max_size=40), st.floats(0.0, 1.0))
def test_irs_selection_quantile_equals_numpy(values, q):
    from dismetrics._kernels.irs import _linear_quantile

    array = np.asarray(values, dtype=np.float64)
    assert _linear_quantile(array.copy(), q) == np.quantile(array, q)


@SETTINGS
@given(random_problem(max_size=60), st.sampled_from([0.5, 0.9, 1.0]))
def test_irs_equals_reference_other_quantiles_and_raw_groups(problem, quantile):
    codes, factors, _ = problem
    assert dm.irs(codes, factors, diff_quantile=quantile).value == pytest.approx(
        reference_irs(codes, factors, quantile), abs=1e-10)
    assert dm.irs(codes, factors, diff_quantile=quantile, factor_bins=None).value == pytest.approx(
        reference_irs(codes, factors, quantile, bins=None), abs=1e-10)


def test_irs_of_float32_codes_is_close_to_the_float32_reference():
    codes, factors = sample(18, n=2000)
    codes32 = codes.astype(np.float32)
    assert dm.irs(codes32, factors).value == pytest.approx(reference_irs(codes32, factors), abs=1e-6)
    assert dm.irs(codes32, factors).value == pytest.approx(reference_irs(codes32.astype(np.float64), factors), abs=1e-12)


@SETTINGS
@given(random_problem())
def test_mig_sup_and_dcimig_equal_reference(problem):
    codes, factors, _ = problem
    assert dm.mig_sup(codes, factors).value == pytest.approx(reference_mig_sup(codes, factors), abs=1e-10)
    assert dm.dcimig(codes, factors).value == pytest.approx(reference_dcimig(codes, factors), abs=1e-10)


@SETTINGS
@given(random_problem())
def test_jemmig_equals_reference(problem):
    codes, factors, _ = problem
    result = dm.jemmig(codes, factors)
    normalized, raw = reference_jemmig(codes, factors)
    assert result.value == pytest.approx(normalized, abs=1e-10)
    assert result.details["jemmig"] == pytest.approx(raw, abs=1e-10)


@pytest.mark.parametrize("bins", [5, 10, 33])
def test_binned_metrics_equal_reference_for_other_bins(bins):
    codes, factors = sample(3, n=800)
    assert dm.mig_sup(codes, factors, bins=bins).value == pytest.approx(reference_mig_sup(codes, factors, bins), abs=1e-10)
    assert dm.dcimig(codes, factors, bins=bins).value == pytest.approx(reference_dcimig(codes, factors, bins), abs=1e-10)
    assert dm.jemmig(codes, factors, bins=bins).value == pytest.approx(reference_jemmig(codes, factors, bins)[0], abs=1e-10)


def test_mig_sup_over_active_dims_as_the_authors_code():
    codes, factors = sample(2, n=600, noise_dims=2)
    codes[:, -1] *= 0.05  # variance 0.0025 < 0.01: inactive in the authors' code
    result = dm.mig_sup(codes, factors, active_variance=0.01)
    gaps = result.details["gap_per_dim"]
    active = [i for i in range(codes.shape[1]) if np.var(codes[:, i], ddof=1) > 0.01]
    assert active == list(range(codes.shape[1] - 1))
    assert result.value == pytest.approx(np.mean(gaps[active]), abs=1e-12)
    assert dm.mig_sup(codes, factors).value == pytest.approx(reference_mig_sup(codes, factors), abs=1e-10)
    assert dm.mig_sup(codes * 0.0 + np.arange(len(codes))[:, None] * 1e-6, factors, active_variance=0.01).value == 0.0


def test_jemmig_joint_entropy_matrix_equals_scipy():
    from reference_impls import histogram_discretize
    from wider_reference_impls import joint_entropy

    codes, factors = sample(4, n=600)
    joint = dm.jemmig(codes, factors).details["joint_entropy"]
    disc = histogram_discretize(codes, 20)
    expected = [[joint_entropy(disc[i], factors[:, k]) for k in range(factors.shape[1])] for i in range(codes.shape[1])]
    np.testing.assert_allclose(joint, expected, atol=1e-12)


def test_knn_nmi_equals_brute_force_ross_estimator():
    rng = np.random.default_rng(0)
    n = 250
    factors = rng.integers(0, [3, 5], size=(n, 2))
    codes = np.c_[factors[:, 0] + 0.3 * rng.normal(size=n), rng.normal(size=n), factors[:, 1] * 2.0 + rng.normal(size=n)]
    nmi = normalized_mi_matrix(codes, factors, mi_estimator="knn", n_neighbors=10, random_state=0)
    for i in range(3):
        for k in range(2):
            expected = ross_mi_brute_force(codes[:, i], factors[:, k]) / sk_mi(factors[:, k], factors[:, k])
            assert nmi[i, k] == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(random_problem(), st.sampled_from(["histogram", "discrete"]))
def test_infom_infoc_equal_reference(problem, estimator):
    codes, factors, _ = problem
    m = dm.infom(codes, factors, mi_estimator=estimator)
    c = dm.infoc(codes, factors, mi_estimator=estimator)
    nmi = m.details["nmi"]
    if estimator == "histogram":
        from reference_impls import discrete_mi_matrix, factor_entropies, histogram_discretize

        expected_nmi = discrete_mi_matrix(histogram_discretize(codes, 20), factors) / factor_entropies(factors)
    else:
        code_labels = [np.unique(codes[:, i], return_inverse=True)[1] for i in range(codes.shape[1])]
        expected_nmi = np.array([[sk_mi(factors[:, k], code_labels[i]) for k in range(factors.shape[1])]
                                 for i in range(codes.shape[1])]) / [sk_mi(f, f) for f in factors.T]
    np.testing.assert_allclose(nmi, expected_nmi, atol=1e-10)
    ranges = codes.max(axis=0) - codes.min(axis=0)
    active = ranges > 0 if estimator == "discrete" else ranges > ranges.max() / 20
    infom_ref, infoc_ref = reference_infom_infoc(expected_nmi, active)
    assert m.value == pytest.approx(infom_ref, abs=1e-10)
    assert c.value == pytest.approx(infoc_ref, abs=1e-10)


def test_infom_infoc_default_estimator_on_random_problem():
    codes, factors = sample(5, n=400)
    m, c = dm.infom(codes, factors, random_state=3), dm.infoc(codes, factors, random_state=3)
    ranges = codes.max(axis=0) - codes.min(axis=0)
    infom_ref, infoc_ref = reference_infom_infoc(m.details["nmi"], ranges > ranges.max() / 20)
    assert m.value == pytest.approx(infom_ref, abs=1e-12)
    assert c.value == pytest.approx(infoc_ref, abs=1e-12)
    assert m.params["mi_estimator"] == "knn" and m.params["n_neighbors"] == 10


def test_infoe_equals_independent_log_loss():
    codes, factors = sample(6, n=500, sizes=(3, 4))
    result = dm.infoe(codes, factors)
    standardized = (codes - codes.mean(axis=0)) / codes.std(axis=0)
    expected = []
    for k in range(factors.shape[1]):
        y = factors[:, k]
        model = LogisticRegression(C=np.inf, class_weight="balanced", max_iter=100).fit(standardized, y)
        proba = model.predict_proba(standardized)
        loss = -np.mean(np.log(proba[np.arange(y.size), y]))
        null = np.log(np.unique(y).size)  # balanced weights: the null model predicts the uniform distribution
        expected.append((null - loss) / null)
        assert result.details["null_log_loss"][k] == pytest.approx(null, abs=1e-9)
    assert result.value == pytest.approx(np.mean(expected), abs=1e-6)


def test_infomec_bundle_equals_separate_calls():
    codes, factors = sample(7, n=300, sizes=(3, 4))
    bundle = dm.infomec(codes, factors, random_state=1)
    assert bundle["infom"] == dm.infom(codes, factors, random_state=1)
    assert bundle["infoc"] == dm.infoc(codes, factors, random_state=1)
    assert bundle["infoe"].value == pytest.approx(dm.infoe(codes, factors).value, abs=1e-12)


def test_explicitness_from_curve_equals_trapezoid_loop():
    rng = np.random.default_rng(0)
    for _ in range(20):
        capacity = np.sort(rng.choice(50, size=rng.integers(2, 10), replace=False)).astype(float)
        loss = rng.uniform(0, 1.3, size=capacity.size)
        baseline = rng.uniform(0.5, 1.0)
        lowest = rng.uniform(0, 0.2)
        got = explicitness_from_curve(capacity, loss, baseline, lowest)["explicitness"]
        assert got == pytest.approx(trapezoid_explicitness(capacity, loss, baseline, lowest), abs=1e-12)


def test_dci_es_losses_equal_independently_trained_forests():
    from sklearn.ensemble import RandomForestRegressor

    codes, factors = sample(8, n=300, sizes=(3, 5))
    result = dm.dci_es(codes, factors, capacities=(1, 3), n_estimators=4, random_state=5)
    rng = np.random.default_rng(5)
    permutation = rng.permutation(300)
    seed = int(rng.integers(0, 2**31 - 1))
    test, train = permutation[:100], permutation[100:]
    for k in range(2):
        y = factors[:, k].astype(float)
        for j, depth in enumerate((1, 3)):
            forest = RandomForestRegressor(n_estimators=4, max_depth=depth, random_state=seed).fit(codes[train], y[train])
            residual = y[test] - forest.predict(codes[test])
            loss = np.sum(residual**2) / np.sum((y[test] - y[test].mean()) ** 2)
            assert result.details["losses"][k, j] == pytest.approx(loss, abs=1e-12)
        expected = trapezoid_explicitness([1.0, 3.0], result.details["losses"][k], 1.0)
        assert result.details["explicitness_per_factor"][k] == pytest.approx(expected, abs=1e-12)


# ==== known answers ==============================================================================


def test_perfect_noise_free_code_scores_one_everywhere():
    factors = grid_factors()
    codes = factors * [0.5, 2.0, -1.0] + [0.0, 3.0, 1.0]
    assert dm.irs(codes, factors).value == pytest.approx(1.0, abs=1e-12)
    assert dm.mig_sup(codes, factors).value == pytest.approx(1.0, abs=1e-12)
    assert dm.dcimig(codes, factors).value == pytest.approx(1.0, abs=1e-12)
    result = dm.jemmig(codes, factors)
    assert result.value == pytest.approx(1.0, abs=1e-12) and result.details["jemmig"] == pytest.approx(0.0, abs=1e-12)
    for estimator in ("histogram", "discrete"):
        assert dm.infom(codes, factors, mi_estimator=estimator).value == pytest.approx(1.0, abs=1e-12)
        assert dm.infoc(codes, factors, mi_estimator=estimator).value == pytest.approx(1.0, abs=1e-12)


def test_duplicated_dims_closed_forms():
    factors = grid_factors()
    codes = np.hstack([factors, factors]).astype(float)
    entropy = np.log([3.0, 4.0, 5.0])  # uniform factors of the grid
    # MIG-sup, DCIMIG: every dim still holds one factor only, and a factor keeps its best gap.
    assert dm.mig_sup(codes, factors).value == pytest.approx(1.0, abs=1e-12)
    assert dm.dcimig(codes, factors).value == pytest.approx(1.0, abs=1e-12)
    # JEMMIG_k = H(z, v) - I + I = H(v_k): normalized 1 - H / (H + log bins).
    result = dm.jemmig(codes, factors)
    np.testing.assert_allclose(result.details["jemmig_per_factor"], entropy, atol=1e-12)
    assert result.value == pytest.approx(np.mean(1 - entropy / (entropy + np.log(20))), abs=1e-12)
    # InfoC: each factor split equally over 2 of L = 6 active latents: (1/2 - 1/6) / (1 - 1/6) = 0.4.
    assert dm.infoc(codes, factors, mi_estimator="histogram").value == pytest.approx(0.4, abs=1e-12)
    assert dm.infom(codes, factors, mi_estimator="histogram").value == pytest.approx(1.0, abs=1e-12)
    assert dm.dci_es_size(codes, factors).value == pytest.approx(0.5)


def test_noise_codes_score_near_the_bottom():
    rng = np.random.default_rng(1)
    factors = rng.integers(0, [4, 6, 8], size=(5000, 3))
    codes = rng.normal(size=(5000, 5))
    assert dm.mig_sup(codes, factors).value < 0.02
    assert dm.dcimig(codes, factors).value < 0.02
    assert dm.jemmig(codes, factors).value < 0.25
    assert dm.infoe(codes, factors).value < 0.02
    assert dm.infom(codes, factors, mi_estimator="histogram").value < 0.6  # MI estimation noise is not 0
    assert dm.irs(codes, factors).value < 0.5  # a Gaussian dim's q99 / max deviation


def test_rotated_pair_lowers_the_gap_metrics():
    codes, factors = sample(9, n=3000, sizes=(8, 8, 8), noise_dims=1, noise=0.02)
    rotated = rotate_first_pair(codes)
    for metric in (dm.mig_sup, dm.dcimig, dm.jemmig, dm.irs):
        assert metric(rotated, factors).value < metric(codes, factors).value - 0.05, metric.__name__
    assert dm.infom(rotated, factors, mi_estimator="histogram").value < dm.infom(codes, factors, mi_estimator="histogram").value


def test_infoe_of_a_separable_code_is_near_one():
    rng = np.random.default_rng(2)
    factors = rng.integers(0, [2, 3], size=(2000, 2))
    codes = factors * 5.0 + 0.05 * rng.normal(size=factors.shape)
    assert dm.infoe(codes, factors).value > 0.95


def test_irs_drops_constant_dims_and_counts_active_dims():
    factors = grid_factors()
    codes = np.c_[factors.astype(float), np.full(len(factors), 3.0)]
    result = dm.irs(codes, factors)
    assert result.details["num_active_dims"] == 3
    np.testing.assert_array_equal(result.details["active_dims"], [0, 1, 2])
    constant = dm.irs(np.ones((len(factors), 2)), factors)
    assert constant.value == 0.0 and constant.details["num_active_dims"] == 0


def test_irs_pure_quantile_one_is_the_paper_maximum():
    codes, factors = sample(10, n=500)
    assert dm.irs(codes, factors, diff_quantile=1.0).value <= dm.irs(codes, factors).value + 1e-12


def test_explicitness_closed_forms():
    capacity = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert explicitness_from_curve(capacity, [0, 0, 0, 0, 0], 1.0)["explicitness"] == pytest.approx(1.0)
    assert explicitness_from_curve(capacity, [1, 1, 1, 1, 1], 1.0)["explicitness"] == pytest.approx(0.0)
    assert explicitness_from_curve(capacity, [1, 0.75, 0.5, 0.25, 0], 1.0)["explicitness"] == pytest.approx(0.5)
    # above-baseline losses are clipped, and the curve keeps the best loss reached so far
    assert explicitness_from_curve(capacity, [3, 0, 2, 0, 5], 1.0)["explicitness"] == pytest.approx(1 - 0.5 / 4)
    # lowest loss l*: measured from it
    assert explicitness_from_curve([0, 1], [0.5, 0.5], 1.0, lowest_loss=0.5)["explicitness"] == pytest.approx(1.0)


def test_explicitness_authors_code_variant():
    capacity = [1.0, 2.0, 3.0, 4.0, 5.0]
    # linear fall from the baseline to 0: the authors' doubled area gives 0, a flat curve 1 (its own min)
    assert explicitness_from_curve(capacity, [1, 0.75, 0.5, 0.25, 0], 1.0, variant="authors_code")["explicitness"] == pytest.approx(0.0)
    assert explicitness_from_curve(capacity, [0.7] * 5, 1.0, variant="authors_code")["explicitness"] == pytest.approx(1.0)
    # a step at the last capacity: 1 - 2 * (3 * 1 + 0.5) / 4
    assert explicitness_from_curve(capacity, [1, 1, 1, 1, 0], 1.0, variant="authors_code")["explicitness"] == pytest.approx(1 - 2 * 3.5 / 4)
    codes, factors = sample(19, n=300, sizes=(3, 5))
    result = dm.dci_es(codes, factors, capacities=(1, 2, 4), n_estimators=3, explicitness="authors_code")
    for k in range(2):
        losses = np.minimum.accumulate(result.details["losses"][k])
        area = np.trapezoid(losses - losses.min(), [1.0, 2.0, 4.0])
        assert result.details["explicitness_per_factor"][k] == pytest.approx(1 - 2 * area / 3.0, abs=1e-12)


def test_dci_es_perfect_code_is_explicit_and_noise_is_not():
    rng = np.random.default_rng(3)
    factors = rng.integers(0, [3, 5], size=(600, 2))
    perfect = factors + 0.01 * rng.normal(size=factors.shape)
    noise = rng.normal(size=(600, 2))
    kwargs = dict(capacities=(1, 2, 4, 8), n_estimators=5, random_state=0)
    good, bad = dm.dci_es(perfect, factors, **kwargs), dm.dci_es(noise, factors, **kwargs)
    assert good.value > 0.8
    assert bad.value < 0.1
    assert good.details["size"] == 1.0
    classified = dm.dci_es(perfect, factors, factor_types="discrete", **kwargs)
    assert classified.value > 0.8
    with pytest.warns(DeprecationWarning, match="factor_types"):  # the old spelling, one release: the same numbers
        assert dm.dci_es(perfect, factors, factor_kind="classification", **kwargs).to_json() == classified.to_json()
    test_rows = classified_test_rows(600, 0)
    expected = [1 - np.bincount(factors[test_rows, k]).max() / test_rows.size for k in range(2)]
    np.testing.assert_allclose(classified.details["baseline_loss"], expected)


def classified_test_rows(n, random_state):
    return np.random.default_rng(random_state).permutation(n)[: int(round(n / 3))]


def test_dci_es_mlp_probe_runs_and_uses_log_parameter_axis():
    rng = np.random.default_rng(4)
    factors = rng.integers(0, [3, 4], size=(300, 2))
    codes = factors + 0.05 * rng.normal(size=factors.shape)
    result = dm.dci_es(codes, factors, probe="mlp", capacities=(0, 4), mlp_max_iter=50, random_state=0)
    # 2 inputs, 1 output: linear probe 3 parameters; width 4: 3*4 + 5*4 + 5*1 = 37.
    np.testing.assert_allclose(result.details["capacity"], np.log([3, 37]))
    assert 0.0 <= result.value <= 1.0


# ==== invariances ================================================================================


@SETTINGS
@given(random_problem())
def test_permuting_code_dims_leaves_scores_unchanged(problem):
    codes, factors, rng = problem
    perm = rng.permutation(codes.shape[1])
    for metric in (*BINNED, dm.irs):
        assert metric(codes[:, perm], factors).value == pytest.approx(metric(codes, factors).value, abs=1e-10)
    for metric in (dm.infom, dm.infoc):
        assert metric(codes[:, perm], factors, mi_estimator="histogram").value == pytest.approx(
            metric(codes, factors, mi_estimator="histogram").value, abs=1e-10)


@SETTINGS
@given(random_problem(max_size=21))
def test_relabeling_factor_values_leaves_scores_unchanged(problem):
    codes, factors, rng = problem
    relabeled = factors.copy()
    for k in range(factors.shape[1]):
        values = np.unique(factors[:, k])
        relabeled[:, k] = rng.permutation(values.size)[np.searchsorted(values, factors[:, k])]
    for metric in BINNED:
        assert metric(codes, relabeled).value == pytest.approx(metric(codes, factors).value, abs=1e-10)
    for metric in (dm.infom, dm.infoc):
        assert metric(codes, relabeled, mi_estimator="histogram").value == pytest.approx(
            metric(codes, factors, mi_estimator="histogram").value, abs=1e-10)
    # IRS groups by the 20-bin discretization of the factor: invariant while each value keeps its own bin
    # (at most 21 contiguous values), which is the case here.
    assert dm.irs(codes, relabeled).value == pytest.approx(dm.irs(codes, factors).value, abs=1e-10)


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.floats(0.01, 100.0), st.floats(-100.0, 100.0))
def test_positive_affine_map_of_a_dim(seed, scale, shift):
    codes, factors = sample(seed, n=400)
    moved = codes.copy()
    moved[:, 2] = scale * moved[:, 2] + shift
    for metric in BINNED:
        assert metric(moved, factors).value == pytest.approx(metric(codes, factors).value, abs=1e-10)
    # IRS, InfoM and InfoC: shifting a dim, or scaling every dim by one factor, changes nothing (rescaling
    # one dim moves IRS's weights and InfoM/InfoC's pruning threshold, which is relative to the largest range).
    shifted = codes.copy()
    shifted[:, 2] += shift
    for metric in (dm.infom, dm.infoc):
        for changed in (shifted, codes * scale):
            assert metric(changed, factors, mi_estimator="histogram").value == pytest.approx(
                metric(codes, factors, mi_estimator="histogram").value, abs=1e-10)

    assert dm.irs(shifted, factors).value == pytest.approx(dm.irs(codes, factors).value, abs=1e-9)
    assert dm.irs(codes * scale, factors).value == pytest.approx(dm.irs(codes, factors).value, abs=1e-9)


def test_knn_infom_infoc_invariances():
    """The default (kNN) estimator: code-dim permutation, factor relabeling, shifts and a global scale."""
    codes, factors = sample(17, n=300, sizes=(3, 5, 4))
    rng = np.random.default_rng(0)
    perm = rng.permutation(codes.shape[1])
    relabeled = np.c_[2 - factors[:, 0], (factors[:, 1] * 3) % 5, factors[:, 2] + 10]
    shifted = codes + np.arange(codes.shape[1])
    for metric in (dm.infom, dm.infoc):
        base = metric(codes, factors).value
        assert metric(codes[:, perm], factors).value == pytest.approx(base, abs=1e-12)
        assert metric(codes, relabeled).value == pytest.approx(base, abs=1e-12)
        assert metric(shifted, factors).value == pytest.approx(base, abs=1e-9)
        assert metric(codes * 8.0, factors).value == pytest.approx(base, abs=1e-9)


def test_irs_is_not_invariant_to_rescaling_one_dim():
    """Documented, not hidden: the per-dim weights are the dims' max deviations."""
    codes, factors = sample(11, n=2000)
    moved = codes.copy()
    moved[:, -1] *= 50.0  # inflate a noise dim's weight
    assert dm.irs(moved, factors).value < dm.irs(codes, factors).value - 0.1


def test_infoe_and_dci_es_invariant_to_positive_affine_maps():
    codes, factors = sample(12, n=400, sizes=(3, 4))
    moved = codes * [2.0, 0.5, 3.0, 1.0] + [1.0, -4.0, 0.0, 2.0]
    assert dm.infoe(moved, factors).value == pytest.approx(dm.infoe(codes, factors).value, abs=1e-6)
    kwargs = dict(capacities=(1, 2, 4), n_estimators=3, random_state=0)
    assert dm.dci_es(moved, factors, **kwargs).value == pytest.approx(dm.dci_es(codes, factors, **kwargs).value, abs=1e-9)


def test_permuting_factor_columns_permutes_details():
    codes, factors = sample(13, n=800)
    perm = np.array([2, 0, 3, 1])
    base, permuted = dm.jemmig(codes, factors), dm.jemmig(codes, factors[:, perm])
    np.testing.assert_allclose(permuted.details["jemmig_per_factor"], base.details["jemmig_per_factor"][perm], atol=1e-12)
    base, permuted = dm.dcimig(codes, factors), dm.dcimig(codes, factors[:, perm])
    np.testing.assert_allclose(permuted.details["gap_per_factor"], base.details["gap_per_factor"][perm], atol=1e-12)
    assert dm.irs(codes, factors[:, perm]).value == pytest.approx(dm.irs(codes, factors).value, abs=1e-12)


# ==== determinism, registry, results =============================================================


def test_same_seed_same_numbers():
    codes, factors = sample(14, n=300, sizes=(3, 4))
    assert dm.infom(codes, factors, random_state=7) == dm.infom(codes, factors, random_state=7)
    assert dm.infoc(codes, factors, random_state=np.random.default_rng(7)) == dm.infoc(codes, factors, random_state=np.random.default_rng(7))
    kwargs = dict(capacities=(1, 2), n_estimators=3)
    assert dm.dci_es(codes, factors, random_state=3, **kwargs) == dm.dci_es(codes, factors, random_state=3, **kwargs)
    assert dm.dci_es(codes, factors, random_state=3, **kwargs).params["model_seed"] != dm.dci_es(codes, factors, random_state=4, **kwargs).params["model_seed"]


@pytest.mark.parametrize("name", ["irs", "mig_sup", "dcimig", "jemmig", "infom", "infoc", "infoe", "dci_es", "dci_es_size"])
def test_registered_and_serializable(name):
    codes, factors = sample(15, n=200, sizes=(3, 4))
    kwargs = dict(capacities=(1, 2), n_estimators=2) if name == "dci_es" else {}
    result = SAMPLE_METRICS[name](codes, factors, **kwargs)
    assert isinstance(result, MetricResult) and result.name == name
    assert MetricResult.from_json(result.to_json()) == result
    assert np.isfinite(result.value)
    assert getattr(dm, name) is SAMPLE_METRICS[name]


def test_infom_infoc_degenerate_cases():
    nmi = np.array([[0.0, 0.0], [0.5, 0.1]])
    scores = infom_infoc_from_nmi(nmi, np.array([True, True]))
    np.testing.assert_allclose(scores["infom_per_dim"], [0.0, (0.5 / 0.6 - 0.5) / 0.5])
    single = infom_infoc_from_nmi(nmi, np.array([False, True]))
    np.testing.assert_allclose(single["infoc_per_factor"], [1.0, 1.0])
    none = infom_infoc_from_nmi(nmi, np.array([False, False]))
    assert none["infom"] == 0.0 and none["infoc"] == 0.0


# ==== validation =================================================================================


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda c, f: dm.mig_sup(c, f[:, :1]), "at least two factors"),
        (lambda c, f: dm.dcimig(c, f[:, :1]), "at least two factors"),
        (lambda c, f: dm.infom(c, f[:, :1]), "at least two factors"),
        (lambda c, f: dm.jemmig(c[:, :1], f), "at least 2 dimension"),
        (lambda c, f: dm.mig_sup(c, f, bins=1), "bins"),
        (lambda c, f: dm.mig_sup(c, f, active_variance=-1), "active_variance"),
        (lambda c, f: dm.jemmig(c, f, bins=2.5), "bins"),
        (lambda c, f: dm.irs(c, f, diff_quantile=1.5), "diff_quantile"),
        (lambda c, f: dm.irs(c, f, factor_bins=0), "factor_bins"),
        (lambda c, f: dm.infom(c, f, mi_estimator="ksg"), "mi_estimator"),
        (lambda c, f: dm.infoc(c, f, active_range_fraction=1.0), "active_range_fraction"),
        (lambda c, f: dm.infoc(c, f, n_neighbors=0), "n_neighbors"),
        (lambda c, f: dm.infoe(c, f, discrete_latents="yes"), "discrete_latents"),
        (lambda c, f: dm.infoe(c, f, max_iter=0), "max_iter"),
        (lambda c, f: dm.dci_es(c, f, probe="svm"), "probe"),
        (lambda c, f: dm.dci_es(c, f, capacities=(3,)), "capacities"),
        (lambda c, f: dm.dci_es(c, f, capacities=(0, 2)), "capacities"),
        (lambda c, f: dm.dci_es(c, f, capacities=(2, 2)), "distinct"),
        (lambda c, f: dm.dci_es(c, f, factor_types="ordinal"), "factor_types"),
        (lambda c, f: dm.dci_es(c, f, factor_types=["continuous"]), "one per factor"),
        (lambda c, f: dm.dci_es(c, f, test_fraction=0.0), "test_fraction"),
        (lambda c, f: dm.dci_es(c[:4], f[:4], test_fraction=0.1), "at least two"),
        (lambda c, f: dm.dci_es(c, f, lowest_loss=-1), "lowest_loss"),
        (lambda c, f: dm.dci_es(c, f, n_estimators=0), "n_estimators"),
        (lambda c, f: dm.dci_es(c, f, explicitness="area"), "explicitness"),
        (lambda c, f: dm.irs(c[:-1], f), "rows"),
        (lambda c, f: dm.dcimig(np.where(c > 0, np.nan, c), f), "NaN"),
        (lambda c, f: dm.infom(c, f, random_state="seed"), "random_state"),
    ],
)
def test_validation_errors(call, match):
    codes, factors = sample(16, n=60, sizes=(3, 4))
    with pytest.raises(ValueError, match=match):
        call(codes, factors)


def test_dci_es_refuses_a_factor_kind_that_is_no_string_nor_sequence():
    codes = np.random.default_rng(0).normal(size=(60, 2))
    factors = np.random.default_rng(1).integers(0, 3, size=(60, 2))
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="factor_kind must be"):
        dm.dci_es(codes, factors, factor_kind=3)
