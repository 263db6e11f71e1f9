"""DCI-ES: explicitness (E) and size (S) (Eastwood, Nicolicioiu, von Kügelgen, Kekić, Träuble, Dittadi
and Schölkopf, "DCI-ES: An extended disentanglement framework with connections to identifiability",
ICLR 2023).

E measures how much functional capacity a probe needs to read the factors out of the code: probes of
growing capacity are trained per factor, their test losses form the loss-capacity curve, and E is one
minus the area under that curve relative to the area under the baseline (constant-prediction) loss.
S is the size of the code relative to the ground truth. D, C and I of the same framework are DCI's
(another module); this one depends on none of it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._validation import (
    check_cardinality,
    check_choice,
    check_codes_and_factors,
    check_float32_range,
    check_positive_int,
    check_random_state,
    describe_seed,
    check_tree_resolution,
)
from ..result import MetricResult
from ._fit import fit_to_max_iter
from ._split import check_factor_types
from .registry import MetricSpec, register_metric

__all__ = ["dci_es", "dci_es_size", "explicitness_from_curve", "DEFAULT_CAPACITIES"]

PROBES = ("random_forest", "mlp")
FACTOR_KINDS = ("regression", "classification")
DEFAULT_CAPACITIES = {
    # The authors' random-forest sweep (configs/random_forest/config.yaml): max_depth of 100-tree forests.
    "random_forest": (1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32),
    # Widths of a two-hidden-layer MLP; 0 is the linear probe (the authors sweep 0, 14, ..., 3603).
    "mlp": (0, 4, 8, 16, 32, 64, 128),
}


EXPLICITNESS_VARIANTS = ("paper", "authors_code")

MAX_MLP_WIDTH = 10_000
"""Widest hidden layer of the MLP probes: 10,000 (the authors' widest is 3,603); two such layers hold
`10**8` weights (0.8 GB, plus the optimizer's copies)."""


def explicitness_from_curve(capacity, loss, baseline_loss: float, lowest_loss: float = 0.0,
                            variant: str = "paper") -> dict:
    r"""Explicitness of one factor from its loss-capacity curve.

    The losses (sorted by capacity) are clipped to the baseline loss (a probe never needs to do
    worse than the constant prediction) and replaced by their running minimum (the best loss
    reached at or below each capacity, as the authors' code does); then, with the trapezoid rule,

    $$
    \mathrm{AULCC} = \int_{c_{\min}}^{c_{\max}} (\ell(c) - \ell^*)\,dc, \qquad
    E = 1 - \frac{\mathrm{AULCC}}{(c_{\max} - c_{\min})(\ell^b - \ell^*)} \in [0, 1]
    $$

    where $\ell^b$ is the baseline loss and $\ell^*$ the lowest possible loss (0 for a
    noiseless factor, the paper's choice). E is in [0, 1] as long as no loss is below
    $\ell^*$ (a curve below it gives E > 1; [`dci_es`][dismetrics.metrics.dci_es.dci_es] refuses such a
    `lowest_loss`). E = 1: the smallest probe already reaches $\ell^*$; E = 0: no probe beats the baseline. A
    curve falling linearly from $\ell^b$ to $\ell^*$ gives 0.5.

    `variant="authors_code"` reproduces the authors' `compute_explitcitness`: no clipping, the
    area is measured above the curve's own minimum (not $\ell^*$) and doubled,
    $E = 1 - 2\,\mathrm{AULCC}_{\min} / ((c_{\max} - c_{\min})\,\ell^b)$, at most 1 and
    without a lower bound (a loss above the baseline is not clipped, so it can go below -1).

    Parameters
    ----------
    capacity : array-like of shape (P,)
        The capacity axis (P >= 2 distinct values).
    loss : array-like of shape (P,)
        The test loss at each capacity.
    baseline_loss : float
        $\ell^b$, the loss of the best constant prediction.
    lowest_loss : float, default 0.0
        $\ell^*$.
    variant : {"paper", "authors_code"}, default "paper"
        The formula.

    Returns
    -------
    dict
        `explicitness` (E), `aulcc` (the area), `curve` (the clipped running minimum) and `capacity`
        (sorted).

    Examples
    --------
    A curve falling linearly from the baseline to 0:

    >>> from dismetrics.metrics.dci_es import explicitness_from_curve
    >>> print(explicitness_from_curve([1, 2, 3], [1.0, 0.5, 0.0], baseline_loss=1.0)["explicitness"])
    0.5
    """
    check_choice(variant, name="variant", choices=EXPLICITNESS_VARIANTS)
    capacity = np.asarray(capacity, dtype=np.float64)
    loss = np.asarray(loss, dtype=np.float64)
    order = np.argsort(capacity, kind="stable")
    capacity, loss = capacity[order], loss[order]
    span = capacity[-1] - capacity[0]
    if variant == "authors_code":
        curve = np.minimum.accumulate(loss)
        above = curve - curve.min()
        area = float(np.sum(0.5 * (above[1:] + above[:-1]) * np.diff(capacity)))
        return {"explicitness": 1.0 - 2.0 * area / (span * baseline_loss), "aulcc": area, "curve": curve,
                "capacity": capacity}
    curve = np.minimum.accumulate(np.minimum(loss, baseline_loss))
    height = baseline_loss - lowest_loss
    above = curve - lowest_loss
    area = float(np.sum(0.5 * (above[1:] + above[:-1]) * np.diff(capacity)))
    value = 1.0 if height <= 0 else 1.0 - area / (span * height)
    return {"explicitness": value, "aulcc": area, "curve": curve, "capacity": capacity}


def _check_capacities(capacities, probe: str) -> tuple[int, ...]:
    if capacities is None:
        return DEFAULT_CAPACITIES[probe]
    values = tuple(capacities)
    minimum = 0 if probe == "mlp" else 1
    if len(values) < 2 or any(isinstance(c, bool) or not isinstance(c, numbers.Integral) or c < minimum for c in values):
        raise ValueError(
            f"capacities must be at least two integers >= {minimum} ({'hidden widths' if probe == 'mlp' else 'max depths'}); "
            f"got {capacities!r}."
        )
    if len(set(values)) != len(values):
        raise ValueError(f"capacities must be distinct; got {capacities!r}.")
    if probe == "mlp" and max(values) > MAX_MLP_WIDTH:
        raise ValueError(
            f"capacities: MLP widths must be at most {MAX_MLP_WIDTH:,} (dismetrics.metrics.dci_es.MAX_MLP_WIDTH: two hidden "
            f"layers of that width hold 10**8 weights; the authors' widest is 3,603); got {max(values):,}."
        )
    return tuple(sorted(int(c) for c in values))


_LOSS_OF_TYPE = {"continuous": "regression", "discrete": "classification"}


def _factor_kinds(factor_types, factor_kind, k_count: int) -> tuple[str, ...]:
    """The probe's loss per factor: `factor_types` "continuous" -> "regression", "discrete" ->
    "classification"; `factor_kind` (the loss names themselves) is the deprecated spelling."""
    if factor_kind is not None:
        warnings.warn("dci_es(factor_kind=...) is deprecated; use factor_types ('continuous' for 'regression', "
                      "'discrete' for 'classification').", DeprecationWarning, stacklevel=3)
        return _check_factor_kinds(factor_kind, k_count)
    return tuple(_LOSS_OF_TYPE[t] for t in check_factor_types(factor_types, k_count))


def _check_factor_kinds(factor_kind, k_count: int) -> tuple[str, ...]:
    try:
        kinds = (factor_kind,) * k_count if isinstance(factor_kind, str) else tuple(factor_kind)
    except TypeError:
        raise ValueError(f"factor_kind must be 'regression', 'classification' or a sequence of those; "
                         f"got {factor_kind!r}.") from None
    if len(kinds) != k_count:
        raise ValueError(f"factor_kind must be one string or one per factor ({k_count}); got {len(kinds)}.")
    for kind in kinds:
        check_choice(kind, name="factor_kind", choices=FACTOR_KINDS)
    return kinds


def _check_test_fraction(test_fraction, n: int) -> int:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be a number in (0, 1); got {test_fraction!r}.")
    n_test = int(round(n * test_fraction))
    if n_test < 2 or n - n_test < 2:
        raise ValueError(f"test_fraction={test_fraction} leaves {n - n_test} training and {n_test} test points; "
                         "each split needs at least two. Use more samples.")
    return n_test


def _make_probe(probe: str, kind: str, capacity: int, *, n_estimators: int, mlp_max_iter: int, seed: int, n_jobs):
    if probe == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        forest = RandomForestRegressor if kind == "regression" else RandomForestClassifier
        return forest(n_estimators=n_estimators, max_depth=capacity, random_state=seed, n_jobs=n_jobs)
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    network = MLPRegressor if kind == "regression" else MLPClassifier
    hidden = (capacity, capacity) if capacity > 0 else ()
    return network(hidden_layer_sizes=hidden, max_iter=mlp_max_iter, random_state=seed)


def _mlp_parameter_count(width: int, inputs: int, outputs: int) -> int:
    if width == 0:
        return (inputs + 1) * outputs
    return (inputs + 1) * width + (width + 1) * width + (width + 1) * outputs


def _probe_loss(model, kind: str, x_train, y_train, x_test, y_test) -> float:
    fit_to_max_iter(model, x_train, y_train)
    prediction = model.predict(x_test)
    if kind == "classification":
        return float(np.mean(prediction != y_test))
    residual = np.sum((y_test - prediction) ** 2)
    total = np.sum((y_test - y_test.mean()) ** 2)
    return float(residual / total) if total > 0 else 0.0


def _baseline_loss(kind: str, y_test: np.ndarray) -> float:
    """Test loss of the best constant prediction: 1 for 1 - R^2, the majority-class error for accuracy."""
    if kind == "regression":
        return 1.0
    return 1.0 - np.bincount(y_test).max() / y_test.size


def _factor_curve(codes, factors, k: int, kind: str, train_rows, test_rows, capacity_grid, *, probe: str,
                  n_estimators: int, mlp_max_iter: int, seed: int, n_jobs, test_fraction, lowest_loss: float,
                  explicitness: str):
    """Factor k's test losses over the capacity grid, its baseline loss, the capacity axis and its curve
    (`explicitness_from_curve`)."""
    d = codes.shape[1]
    x_train, x_test = codes[train_rows], codes[test_rows]
    labels = np.unique(factors[:, k], return_inverse=True)[1].reshape(-1)
    if np.unique(labels[test_rows]).size < 2:
        raise ValueError(
            f"factors[:, {k}] takes a single value in the test part of the random split ({test_rows.size} points, "
            f"test_fraction={test_fraction}): its test loss cannot measure anything (the baseline loss is 0). Use "
            "more points or a larger test_fraction."
        )
    target = labels.astype(np.float64) if kind == "regression" else labels
    y_train, y_test = target[train_rows], target[test_rows]
    losses = np.empty(len(capacity_grid))
    for j, capacity in enumerate(capacity_grid):
        model = _make_probe(probe, kind, capacity, n_estimators=n_estimators, mlp_max_iter=mlp_max_iter,
                            seed=seed, n_jobs=n_jobs)
        losses[j] = _probe_loss(model, kind, x_train, y_train, x_test, y_test)
    if probe == "mlp":
        outputs = 1 if kind == "regression" else int(labels.max()) + 1
        axis = np.log([_mlp_parameter_count(c, d, outputs) for c in capacity_grid])
    else:
        axis = np.asarray(capacity_grid, dtype=np.float64)
    baseline = _baseline_loss(kind, labels[test_rows])
    if losses.min() < lowest_loss:
        raise ValueError(
            f"lowest_loss={lowest_loss} is above the test loss {losses.min():.4g} that a probe reached for "
            f"factors[:, {k}]: lowest_loss must be the lowest loss possible (the paper uses 0), since E measures "
            "the area above it (a curve below it would give E > 1)."
        )
    return losses, baseline, axis, explicitness_from_curve(axis, losses, baseline, lowest_loss, explicitness)


def dci_es(codes, factors, *, probe: str = "random_forest", capacities=None, factor_types="continuous",
           n_estimators: int = 100, mlp_max_iter: int = 200, test_fraction: float = 1 / 3,
           lowest_loss: float = 0.0, explicitness: str = "paper", random_state=0, n_jobs=None, factor_kind=None) -> MetricResult:
    r"""DCI-ES explicitness E (the headline) and size S of a representation.

    Eastwood et al., ICLR 2023. For every factor k a family of probes of growing capacity
    $c_1 < \dots < c_P$ predicts $v_k$ from all code dims; their test losses form the
    loss-capacity curve $\ell_k(c)$ and

    $$
    E_k = 1 - \frac{\mathrm{AULCC}_k}{(c_P - c_1)(\ell^b_k - \ell^*)}, \qquad
    E = \frac{1}{K} \sum_k E_k, \qquad S = \frac{K}{d}
    $$

    (AULCC and the curve's treatment in
    [`explicitness_from_curve`][dismetrics.metrics.dci_es.explicitness_from_curve]; $\ell^b_k$ the loss of the
    best constant prediction, $\ell^* =$ `lowest_loss`). S is the size of the representation relative to the
    ground truth: 1 when there are as many code dims as factors, smaller for larger codes (above 1 for codes
    smaller than the factor count).

    Probe families (`probe`), as in the paper's experiments, trained on a random `1 - test_fraction`
    of the sample and scored on the rest:

    - `"random_forest"` (default): sklearn random forests of `n_estimators` trees (100, as the
      authors), capacity = `max_depth`, on a linear capacity axis; default depths are the authors'
      sweep 1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32.
    - `"mlp"`: sklearn MLPs with two hidden layers of the given widths (0 = linear probe),
      capacity = number of parameters on a log axis, as the authors plot MLP curves. Slow for large n.

    Loss (`factor_types`, one string or one per factor): `"continuous"` (default; regression, the factor
    index is an ordinal target, loss $1 - R^2$, baseline 1) or `"discrete"` (classification, loss 1 -
    accuracy, baseline the majority-class error), the two losses of the authors' code. `factor_kind`
    ("regression" / "classification") is the deprecated spelling of the same choice, accepted with a
    `DeprecationWarning` for one release.

    `explicitness="authors_code"` computes E as the authors' released code does (see
    [`explicitness_from_curve`][dismetrics.metrics.dci_es.explicitness_from_curve]); the default is the
    paper's formula above.

    Scale: the forest probes see the codes as scikit-learn does, in float32, and never split between
    values less than 1e-7 apart, so E is invariant to positive rescaling of a dim only while the
    differences that matter stay above 1e-7; codes whose every dim varies less than that, and codes
    beyond the float32 range (|z| > 3.4e38), raise `ValueError`. The MLP probes are not scale
    invariant (no standardization, as in the authors' code). Classification factors may take at most
    1,000 values ([`dismetrics._validation.MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]), MLP widths at
    most 10,000.

    Pitfalls: E depends on the capacity grid and its axis (linear depths vs log parameters), so only
    values computed with the same probe family and grid compare; losses above the baseline are
    clipped to it; a probe family whose smallest member is already perfect gives E = 1 whatever the
    code (a linear code of a linear factor needs depth > 1 for trees, though).

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices.
    probe : {"random_forest", "mlp"}, default "random_forest"
        The probe family.
    capacities : sequence of int, optional
        The capacity grid: forest depths, or MLP widths (0: linear); default None: the authors' grid of
        the probe family (`DEFAULT_CAPACITIES`).
    factor_types : {"continuous", "discrete"} or a sequence of them, default "continuous"
        One for all factors or one per factor: regression or classification probes.
    n_estimators : int, default 100
        Trees per forest.
    mlp_max_iter : int, default 200
        Adam iterations of each MLP.
    test_fraction : float, default 1/3
        Fraction of the sample the probes are scored on.
    lowest_loss : float, default 0.0
        $\ell^*$, the lowest possible loss, in [0, 1).
    explicitness : {"paper", "authors_code"}, default "paper"
        How E is computed from the curve.
    random_state : int, None or numpy.random.Generator, default 0
        Seeds the split and the probes.
    n_jobs : int or None, default None
        Parallel jobs of the forests (scikit-learn's meaning).
    factor_kind : {"regression", "classification"}, optional
        Deprecated spelling of `factor_types`.

    Returns
    -------
    MetricResult
        `value` E; `details`: `size` (S), `explicitness_per_factor`, `aulcc_per_factor`,
        `baseline_loss` (K), `capacity` (P, the x axis used), `losses` (K, P, raw test losses),
        `curves` (K, P, clipped running minima).

    References
    ----------
    C. Eastwood, A. L. Nicolicioiu, J. von Kügelgen, A. Kekić, F. Träuble, A. Dittadi and B. Schölkopf,
    "DCI-ES: An extended disentanglement framework with connections to identifiability", ICLR 2023
    (arXiv:2210.00364). Reference code: andreinicolicioiu/DCI-ES (`compute_explitcitness`, the
    random-forest and MLP probe sweeps).

    Examples
    --------
    Small forests (10 trees, depths 1 to 8) keep the example fast:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.dci_es import dci_es
    >>> for level in (0.0, 1.0):  # the perfect code, then pure noise
    ...     codes, factors = damage_sample("noise", level, 1000, seed=0)
    ...     print(level, round(dci_es(codes, factors, n_estimators=10, capacities=[1, 2, 4, 8]).value, 2))
    0.0 0.98
    1.0 0.0
    """
    codes, factors = check_codes_and_factors(codes, factors)
    check_choice(probe, name="probe", choices=PROBES)
    check_choice(explicitness, name="explicitness", choices=EXPLICITNESS_VARIANTS)
    capacity_grid = _check_capacities(capacities, probe)
    kinds = _factor_kinds(factor_types, factor_kind, factors.shape[1])
    n_estimators = check_positive_int(n_estimators, name="n_estimators")
    mlp_max_iter = check_positive_int(mlp_max_iter, name="mlp_max_iter")
    if isinstance(lowest_loss, bool) or not isinstance(lowest_loss, numbers.Real) or not 0.0 <= lowest_loss < 1.0:
        raise ValueError(f"lowest_loss must be a number in [0, 1); got {lowest_loss!r}.")
    n, d = codes.shape
    check_float32_range(codes, name="codes", metric="DCI-ES",
                        why=("casts them to float32 for its forests, as scikit-learn does (which refuses such values)"
                             if probe == "random_forest" else "trains MLPs on them, whose activations would overflow"))
    if probe == "random_forest":
        check_tree_resolution(codes.astype(np.float32), codes, name="codes", metric="DCI-ES")
    classification = [k for k in range(factors.shape[1]) if kinds[k] == "classification"]
    check_cardinality(factors, metric="DCI-ES", columns=classification,
                      why="fits classifier probes with one output per value")
    n_test = _check_test_fraction(test_fraction, n)
    rng = check_random_state(random_state)
    permutation = rng.permutation(n)
    seed = int(rng.integers(0, 2**31 - 1))
    test_rows, train_rows = permutation[:n_test], permutation[n_test:]

    k_count = factors.shape[1]
    losses = np.empty((k_count, len(capacity_grid)))
    curves = np.empty_like(losses)
    per_factor = np.empty(k_count)
    aulcc = np.empty(k_count)
    baselines = np.empty(k_count)
    axis = None
    for k in range(k_count):
        fitted = _factor_curve(codes, factors, k, kinds[k], train_rows, test_rows, capacity_grid, probe=probe,
                               n_estimators=n_estimators, mlp_max_iter=mlp_max_iter, seed=seed, n_jobs=n_jobs,
                               test_fraction=test_fraction, lowest_loss=lowest_loss, explicitness=explicitness)
        losses[k], baselines[k], axis_k, curve = fitted
        axis = axis_k if axis is None else axis
        per_factor[k], aulcc[k], curves[k] = curve["explicitness"], curve["aulcc"], curve["curve"]
    return MetricResult(
        name="dci_es",
        value=float(per_factor.mean()),
        details={
            "size": k_count / d,
            "explicitness_per_factor": per_factor,
            "aulcc_per_factor": aulcc,
            "baseline_loss": baselines,
            "capacity": axis,
            "losses": losses,
            "curves": curves,
        },
        params={
            "probe": probe,
            "capacities": np.asarray(capacity_grid),
            "capacity_axis": "log(parameters)" if probe == "mlp" else "max_depth",
            "factor_kind": ",".join(kinds),
            "n_estimators": n_estimators,
            "mlp_max_iter": mlp_max_iter,
            "test_fraction": float(test_fraction),
            "lowest_loss": float(lowest_loss),
            "explicitness": explicitness,
            "random_state": describe_seed(random_state),
            "model_seed": seed,
            "n_samples": n,
        },
    )


def dci_es_size(codes, factors) -> MetricResult:
    r"""DCI-ES size S = K / d: the number of factors over the number of code dims.

    Eastwood et al., ICLR 2023: the size of the representation relative to the ground truth (1 for a
    code with one dim per factor, 0.5 for one twice as large). Counts every code dim, collapsed ones
    included. Also reported by [`dci_es`][dismetrics.metrics.dci_es.dci_es] as `details["size"]`. In (0, inf):
    above 1 for codes with fewer dims than factors.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices.

    Returns
    -------
    MetricResult
        `value` S; `details`: `n_factors` (K), `n_dims` (d).

    References
    ----------
    Eastwood et al., ICLR 2023, and the reference code andreinicolicioiu/DCI-ES (see
    [`dci_es`][dismetrics.metrics.dci_es.dci_es]).

    Examples
    --------
    Five factors in ten dims (every dim duplicated):

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.dci_es import dci_es_size
    >>> print(dci_es_size(*damage_sample("duplicate", 5, 100, seed=0)).value)
    0.5
    """
    codes, factors = check_codes_and_factors(codes, factors)
    return MetricResult(name="dci_es_size", value=factors.shape[1] / codes.shape[1],
                        details={"n_factors": factors.shape[1], "n_dims": codes.shape[1]},
                        params={"n_samples": codes.shape[0]})


SPEC = register_metric(MetricSpec(
    name="dci_es", func=dci_es, kind="sample", title="DCI-ES explicitness", random=True,
    factor_types=("discrete", "continuous"),
    reference="Eastwood et al. 2023 (DCI-ES)", docs="dci_es.md"))
SIZE_SPEC = register_metric(MetricSpec(
    name="dci_es_size", func=dci_es_size, kind="sample", title="DCI-ES size", value_range=(0.0, None),
    reference="Eastwood et al. 2023 (DCI-ES), S = K / d", docs="dci_es.md"))
