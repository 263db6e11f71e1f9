"""Fairness (unfairness) scores of Locatello et al., "On the fairness of disentangled representations"
(NeurIPS 2019, Section 4), as disentanglement_lib's `fairness` metric.

For a target factor (the prediction) and a sensitive factor, a classifier trained on the codes to predict
the target should give the same distribution of predictions whatever value the sensitive factor is set
to; the score is the total-variation distance between the prediction distributions under interventions
on the sensitive factor and the overall one. Source: google-research/disentanglement_lib,
`evaluation/metrics/fairness.py` at commit 86a644d4ed35c771560dc3360756363d35477357; settings from
`config/fairness_study_v1/metric_configs/fairness.gin`.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_float32_range, check_positive_int, check_random_state
from ..result import MetricResult
from ._intervention import DEFAULT_CHUNK_SIZE, describe_seed, factor_names_of, prepare
from ._split import encode_with_training_labels
from .downstream_task import BACKENDS, GBT_LEARNING_RATE, GBT_MAX_DEPTH, GBT_N_ESTIMATORS, _fit_predict_boosting
from .registry import MetricSpec, register_metric

__all__ = ["fairness", "inter_group_fairness", "fairness_aggregates"]

REFERENCE_N_TRAIN = 10000
REFERENCE_N_TEST_POINTS_PER_CLASS = 100


def inter_group_fairness(counts) -> tuple[float, float]:
    r"""Mean and maximum total-variation distance of the per-group prediction distributions to the overall one.

    `counts` is (predicted classes, sensitive values): `counts[a, c]` predictions of class a with the
    sensitive factor set to c. With $p(a) = \sum_c n_{ac} / \sum_{a,c} n_{ac}$ and
    $p(a \mid c) = n_{ac} / \sum_a n_{ac}$:

    $$
    \mathrm{TV}_c = \tfrac12 \sum_a |p(a \mid c) - p(a)|, \qquad
    \text{mean} = \sum_c \frac{n_{\cdot c}}{n} \mathrm{TV}_c, \qquad \text{max} = \max_c \mathrm{TV}_c.
    $$

    The reference computes in float32; here float64 (the two differ by about 1e-7).
    """
    counts = np.asarray(counts, dtype=np.float64)
    overall = counts.sum(axis=1) / counts.sum()
    per_class = counts.sum(axis=0)
    distances = np.abs(counts / per_class[None, :] - overall[:, None]).sum(axis=0) / 2.0
    return float(np.sum(distances * per_class) / per_class.sum()), float(np.max(distances))


def fairness_aggregates(matrix, prefix: str) -> dict[str, float]:
    """The reference's `compute_scores_dict`: every pair `prefix:pred{i}:sens{j}`, per target and per
    sensitive factor the mean and max over the others, and the eight mean/max combinations, e.g.
    `mean_fairness:mean_pred:mean_sens` = the mean over targets of the mean over sensitive factors."""
    matrix = np.asarray(matrix, dtype=np.float64)
    k_count = matrix.shape[0]
    off = ~np.eye(k_count, dtype=bool)
    out: dict[str, float] = {}
    for i in range(k_count):
        for j in range(k_count):
            if i != j:
                out[f"{prefix}:pred{i}:sens{j}"] = float(matrix[i, j])
    row_means = np.array([matrix[i, off[i]].mean() for i in range(k_count)])
    row_maxs = np.array([matrix[i, off[i]].max() for i in range(k_count)])
    col_means = np.array([matrix[off[:, j], j].mean() for j in range(k_count)])
    col_maxs = np.array([matrix[off[:, j], j].max() for j in range(k_count)])
    for i in range(k_count):
        out[f"{prefix}:pred{i}:mean_sens"] = float(row_means[i])
        out[f"{prefix}:pred{i}:max_sens"] = float(row_maxs[i])
    for j in range(k_count):
        out[f"{prefix}:sens{j}:mean_pred"] = float(col_means[j])
        out[f"{prefix}:sens{j}:max_pred"] = float(col_maxs[j])
    out[f"{prefix}:mean_sens:mean_pred"] = float(np.mean(col_means))
    out[f"{prefix}:mean_sens:max_pred"] = float(np.mean(col_maxs))
    out[f"{prefix}:max_sens:mean_pred"] = float(np.max(col_means))
    out[f"{prefix}:max_sens:max_pred"] = float(np.max(col_maxs))
    out[f"{prefix}:mean_pred:mean_sens"] = float(np.mean(row_means))
    out[f"{prefix}:mean_pred:max_sens"] = float(np.mean(row_maxs))
    out[f"{prefix}:max_pred:mean_sens"] = float(np.max(row_means))
    out[f"{prefix}:max_pred:max_sens"] = float(np.max(row_maxs))
    return out


def _encode(source, factors, rng, chunk_size):
    codes = np.concatenate([np.asarray(part, dtype=np.float64)
                            for part in source.codes(factors, rng, chunk_size=chunk_size)], axis=0)
    if not np.isfinite(codes).all():
        raise ValueError("the representation returned NaN or infinite codes.")
    # Both backends' trees read float32 codes: beyond its range they are infinite (the numba kernel then
    # divides by zero, scikit-learn refuses them with a message naming no argument).
    check_float32_range(codes, name="the representation's output", metric="fairness",
                        why="casts them to float32 for its boosted trees, as scikit-learn does")
    return codes


def fairness(representation, sampler, *, n_train: int = REFERENCE_N_TRAIN,
             n_test_points_per_class: int = REFERENCE_N_TEST_POINTS_PER_CLASS, backend: str = "numba",
             random_state=0, chunk_size: int = DEFAULT_CHUNK_SIZE, encoding: str = "auto",
             progress: bool | None = None) -> MetricResult:
    r"""Unfairness of classifiers trained on the codes (lower is fairer), as disentanglement_lib's `fairness`.

    1. Draw `n_train` points, encode them; per factor $i$ (the target) fit
       `GradientBoostingClassifier()` (100 stages, depth 3, learning rate 0.1) predicting $v_i$ from the codes.
    2. For every other factor $j$ (the sensitive one): draw `n_test_points_per_class` factor vectors once;
       for every value $c$ of factor $j$ set $v_j = c$ in all of them, make and encode the observations and
       count the predictions of model $i$: `counts[a, c]`.
    3. $F^{\mathrm{mean}}_{ij}, F^{\mathrm{max}}_{ij}$ = the mean and max over $c$ of the total-variation
       distance between the predictions under $v_j = c$ and all predictions
       ([`inter_group_fairness`][dismetrics.metrics.fairness.inter_group_fairness]).

    `value` is the reference's `mean_fairness:mean_pred:mean_sens` (Section 4 of the paper):
    $\frac1K \sum_i \frac{1}{K-1} \sum_{j \ne i} F^{\mathrm{mean}}_{ij}$; every other aggregate of the
    reference (`mean_fairness:...`, `max_fairness:...`, with its key names) is in `details["scores"]`.

    Reference settings (`fairness.gin`): `n_train=10000`, `n_test_points_per_class=100`, gradient-boosted
    trees. `backend="numba"` (default) is dismetrics' re-implementation of scikit-learn's boosting (the
    DCI one); `backend="sklearn"` scikit-learn itself (the reference passes no seed: ties between features
    are broken at random; seeded here). Unlike the reference, which encodes 16 observations per call, all
    observations of a target factor are drawn first and encoded `chunk_size` at a time.

    Random draws, in order, from `random_state`: the training factors and observations, the boosting
    seed, then per target $i$ and sensitive $j \ne i$ (in index order) the test factors and observations.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation
        Observations -> codes.
    sampler : GroundTruthSampler
        The data set (factor grid and observations).
    n_train : int, default 10000
    n_test_points_per_class : int, default 100
        Points per value of the sensitive factor.
    backend : {"numba", "sklearn"}, default "numba"
    random_state : int, None or numpy Generator, default 0
    chunk_size : int, default 8192
        Observations per call of the representation.
    encoding : {"auto", "table", "direct"}, default "auto"
        Where the codes come from (a representation table when the data set is indexed, see
        [`dismetrics.table`][dismetrics.table]); `params["encoding"]` records which path ran.
    progress : bool or None
        Unused (kept for the intervention-metric vocabulary).

    Returns
    -------
    MetricResult
        `value`: mean unfairness; `details`: `mean_fairness`, `max_fairness` (K, K; diagonal 0),
        `scores` (the reference's dict of aggregates), `train_accuracy` (K), `factor_names`.

    References
    ----------
    F. Locatello, G. Abbati, T. Rainforth, S. Bauer, B. Schölkopf, O. Bachem, "On the fairness of
    disentangled representations", NeurIPS 2019, Section 4. disentanglement_lib
    `evaluation/metrics/fairness.py` @ 86a644d4.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> sampler = FactorGrid([3, 4])                      # observations are the factor indices themselves
    >>> r = fairness(lambda obs: obs, sampler, n_train=300, n_test_points_per_class=20)
    >>> round(r.value, 6)                                  # each factor read from its own dim: fair
    0.0
    """
    source = prepare(representation, sampler, encoding)
    n_train = check_positive_int(n_train, name="n_train", minimum=2, maximum=10_000_000)
    per_class = check_positive_int(n_test_points_per_class, name="n_test_points_per_class", maximum=10_000_000)
    chunk_size = check_positive_int(chunk_size, name="chunk_size")
    check_choice(backend, name="backend", choices=BACKENDS)
    sizes = [int(s) for s in sampler.factor_sizes]
    k_count = len(sizes)
    if k_count < 2:
        raise ValueError("fairness needs at least two factors (a target and a sensitive one).")
    rng = check_random_state(random_state)
    train_factors = np.asarray(sampler.sample_factors(n_train, rng))
    codes_train = _encode(source, train_factors, rng, chunk_size)
    model_seed = int(rng.integers(0, 2**31 - 1))
    mean_matrix = np.zeros((k_count, k_count))
    max_matrix = np.zeros((k_count, k_count))
    train_accuracy = np.zeros(k_count)
    for i in range(k_count):
        groups = []
        for j in range(k_count):
            if j == i:
                continue
            original = np.asarray(sampler.sample_factors(per_class, rng))
            intervened = np.repeat(original[None, :, :], sizes[j], axis=0)   # (m_j, per_class, K)
            intervened[:, :, j] = np.arange(sizes[j])[:, None]
            groups.append((j, _encode(source, intervened.reshape(-1, k_count), rng, chunk_size)))
        y_train, _, classes = encode_with_training_labels(train_factors[:, i], train_factors[:1, i])
        x_test = np.concatenate([codes for _, codes in groups], axis=0)
        if classes.size == 1:
            predicted_train, predicted_test = np.zeros_like(y_train), np.zeros(x_test.shape[0], dtype=np.int64)
        else:
            predicted_train, predicted_test = _fit_predict_boosting(codes_train, y_train, x_test, classes.size,
                                                                    model_seed + i, backend)
        train_accuracy[i] = float(np.mean(predicted_train == y_train))
        predicted_values = classes[np.asarray(predicted_test, dtype=np.int64)]
        start = 0
        for j, codes in groups:
            block = predicted_values[start:start + codes.shape[0]].reshape(sizes[j], per_class)
            start += codes.shape[0]
            counts = np.stack([np.bincount(block[c], minlength=sizes[i])[:sizes[i]] for c in range(sizes[j])], axis=1)
            mean_matrix[i, j], max_matrix[i, j] = inter_group_fairness(counts)
    scores = {**fairness_aggregates(mean_matrix, "mean_fairness"), **fairness_aggregates(max_matrix, "max_fairness")}
    return MetricResult(
        name="fairness",
        value=scores["mean_fairness:mean_pred:mean_sens"],
        details={"mean_fairness": mean_matrix, "max_fairness": max_matrix, "scores": scores,
                 "train_accuracy": train_accuracy, "factor_names": factor_names_of(sampler)},
        params={"n_train": n_train, "n_test_points_per_class": per_class, "predictor": "gradient_boosting",
                "backend": backend, "n_estimators": GBT_N_ESTIMATORS, "max_depth": GBT_MAX_DEPTH,
                "learning_rate": GBT_LEARNING_RATE, "model_seed": model_seed, "encoding": source.path,
                "random_state": describe_seed(random_state)},
    )


FAIRNESS_SPEC = register_metric(MetricSpec(
    name="fairness", in_all=False, func=fairness, kind="intervention", title="Unfairness (mean TV)", random=True,
    direction="lower",
    presets={"disentanglement_lib": {"n_train": REFERENCE_N_TRAIN,
                                     "n_test_points_per_class": REFERENCE_N_TEST_POINTS_PER_CLASS}},
    reference=("Locatello et al. 2019 (NeurIPS), Section 4; disentanglement_lib evaluation/metrics/fairness.py"
               "@86a644d4ed35c771560dc3360756363d35477357"),
    docs="fairness.md"))
