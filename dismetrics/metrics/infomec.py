"""InfoMEC: InfoM, InfoC and InfoE (Hsu, Dorrell, Whittington, Wu and Finn, NeurIPS 2023).

"Disentanglement via latent quantization" proposes three information-based scores, each in [0, 1]:
modularity (InfoM), explicitness (InfoE) and compactness (InfoC). Their definitions here follow the
authors' released code (`disentangle/metrics/infomec.py`); where it leaves a case undefined (a
division by zero) the choice made here is stated in the docstring.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._validation import (
    check_bins,
    check_cardinality,
    check_choice,
    check_codes_and_factors,
    check_positive_int,
    check_random_state,
    check_workspace,
    scaled_to_safe_range,
)
from ..result import MetricResult
from ._fit import fit_to_max_iter
from ._histogram import discrete_mutual_info
from .mig_sup import check_two_factors
from .registry import MetricSpec, register_metric

__all__ = ["infomec", "infom", "infoc", "infoe", "normalized_mi_matrix", "active_latents", "infom_infoc_from_nmi"]

MI_ESTIMATORS = ("knn", "histogram", "discrete")


def _check_fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1); got {value!r}.")
    return float(value)


def _labels(column: np.ndarray) -> np.ndarray:
    return np.unique(column, return_inverse=True)[1].reshape(-1)


def _standardize(codes: np.ndarray) -> np.ndarray:
    """sklearn's `StandardScaler` (as the authors): mean 0, population std 1, a constant column left at 0.

    A dim whose largest magnitude is outside about [5e-91, 2e90] is first rescaled by an exact power of
    two (its std would overflow to inf or underflow to 0); other dims are standardized as they are.
    """
    from sklearn.preprocessing import StandardScaler

    scaled, _ = scaled_to_safe_range(np.asarray(codes, dtype=np.float64))
    return StandardScaler().fit_transform(scaled)


def _check_knn_factors(factors: np.ndarray, metric: str) -> None:
    """The kNN estimator searches neighbours within every factor value: at most MAX_CLASSES values,
    and at least one value that occurs twice (sklearn skips values seen once and has nothing left)."""
    check_cardinality(factors, metric=f"{metric} (mi_estimator='knn')", why="runs one nearest-neighbour search per value")
    for k in range(factors.shape[1]):
        if np.unique(factors[:, k], return_counts=True)[1].max() < 2:
            raise ValueError(
                f"factors[:, {k}]: every value occurs once in this sample, and the kNN MI estimator (mi_estimator='knn') "
                "needs values that occur at least twice. Use more points, fewer factor values, or "
                "mi_estimator='histogram'."
            )


def _one_hot(codes: np.ndarray) -> np.ndarray:
    """Every code dim one-hot encoded over its distinct values (sklearn's `OneHotEncoder`, dense)."""
    blocks = []
    for i in range(codes.shape[1]):
        labels = _labels(codes[:, i])
        blocks.append((labels[:, None] == np.arange(labels.max() + 1)).astype(np.float64))
    return np.hstack(blocks)


def normalized_mi_matrix(codes, factors, *, mi_estimator: str = "knn", n_neighbors: int = 10, bins: int = 20,
                         random_state: int = 0, seed: int | None = None) -> np.ndarray:
    r"""The (d, K) matrix $I(z_i; v_k) / H(v_k)$ (inputs validated by the caller).

    `"knn"`: sklearn's `mutual_info_classif` (the Kraskov/Ross nearest-neighbour estimator for a
    continuous variable and a discrete one, `n_neighbors` neighbours), called per code dim as the
    authors do, on standardized codes, with `random_state` for its tie-breaking noise.
    `"histogram"`: the binned plug-in MI of [`mig`][dismetrics.metrics.mig.mig]. `"discrete"`: every distinct
    code value is its own class (the authors' estimator for quantized latents). `H(v_k)` is the
    plug-in entropy of the factor.

    Parameters
    ----------
    codes : array of shape (n, d)
        The representation (validated by the caller).
    factors : int array of shape (n, K)
        Ground-truth factor indices.
    mi_estimator : {"knn", "histogram", "discrete"}, default "knn"
        The MI estimator.
    n_neighbors : int, default 10
        Neighbours of the kNN estimator.
    bins : int, default 20
        Equal-width bins per code dim of the histogram estimator.
    random_state : int, default 0
        `random_state` of `mutual_info_classif` (the kNN estimator's tie-breaking noise).
    seed : int, optional
        Deprecated name of `random_state` (one release, with a `DeprecationWarning`).

    Returns
    -------
    numpy.ndarray
        Shape (d, K): the MI of each code dim with each factor over the factor's entropy (the kNN
        estimate may slightly exceed 1).

    References
    ----------
    K. Hsu et al., "Disentanglement via latent quantization", NeurIPS 2023; reference code:
    kylehkhsu/latent_quantization, `disentangle/metrics/infomec.py`. The kNN estimator: B. C. Ross, "Mutual
    information between discrete and continuous data sets", PLoS ONE 2014.

    Examples
    --------
    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.infomec import normalized_mi_matrix
    >>> codes, factors = damage_sample("noise", 0.0, 1000, seed=0, factor_sizes=(4, 4))
    >>> print(normalized_mi_matrix(codes, factors, mi_estimator="histogram").round(2))
    [[1.   0.01]
     [0.   1.  ]]
    """
    if seed is not None:
        warnings.warn("normalized_mi_matrix(seed=...) is deprecated; use random_state.", DeprecationWarning, stacklevel=2)
        random_state = seed
    if mi_estimator == "histogram":
        info = discrete_mutual_info(codes, factors, bins)
        return info.matrix / info.factor_entropy
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.metrics import mutual_info_score

    d, k_count = codes.shape[1], factors.shape[1]
    factor_labels = [_labels(factors[:, k]) for k in range(k_count)]
    entropy = np.array([mutual_info_score(labels, labels) for labels in factor_labels])
    out = np.empty((d, k_count))
    if mi_estimator == "discrete":
        code_labels = [_labels(codes[:, i]) for i in range(d)]
        for i in range(d):
            for k in range(k_count):
                out[i, k] = mutual_info_score(factor_labels[k], code_labels[i])
    else:
        standardized = _standardize(codes)
        for i in range(d):
            column = standardized[:, i : i + 1]
            for k in range(k_count):
                out[i, k] = mutual_info_classif(column, factor_labels[k], discrete_features=False,
                                                n_neighbors=n_neighbors, random_state=random_state)[0]
    return out / entropy


def active_latents(codes: np.ndarray, *, discrete: bool, range_fraction: float) -> np.ndarray:
    """Boolean mask of the latents InfoM and InfoC keep.

    Continuous latents: range (max - min) larger than `range_fraction` times the largest range
    (the authors use 1/20). Discrete latents: any latent that is not constant.

    Parameters
    ----------
    codes : array of shape (n, d)
        The representation.
    discrete : bool
        Whether the latents are discrete (quantized).
    range_fraction : float
        The fraction of the largest range a continuous latent must exceed.

    Returns
    -------
    numpy.ndarray
        Boolean, shape (d,).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.infomec import active_latents
    >>> codes = np.array([[0.0, 0.0, 1.0], [1.0, 0.01, 1.0], [2.0, 0.5, 1.0]])
    >>> print(active_latents(codes, discrete=False, range_fraction=0.05))
    [ True  True False]
    """
    ranges = codes.max(axis=0) - codes.min(axis=0)
    if discrete:
        return ranges > 0
    return ranges > ranges.max() * range_fraction


def _normalized_concentration(matrix: np.ndarray, axis: int) -> np.ndarray:
    """For each line of `matrix` along `axis`: (max / sum - 1/L) / (1 - 1/L), L the line length.

    A line whose sum is 0 (no information at all) scores 0; a line of length 1 scores 1 when its
    entry is positive, else 0.
    """
    length = matrix.shape[axis]
    totals = matrix.sum(axis=axis)
    peaks = matrix.max(axis=axis)
    informative = totals > 0
    if length == 1:
        return informative.astype(np.float64)
    ratio = np.full(totals.shape, 1.0 / length)
    ratio[informative] = peaks[informative] / totals[informative]
    return (ratio - 1.0 / length) / (1.0 - 1.0 / length)


def infom_infoc_from_nmi(nmi: np.ndarray, active: np.ndarray) -> dict:
    r"""InfoM and InfoC from the (d, K) normalized MI matrix and the mask of active latents.

    With $N$ the NMI matrix restricted to the L active latents:

    $$
    \mathrm{InfoM} = \frac{1}{L} \sum_i \frac{\max_k N_{ik} / \sum_k N_{ik} - 1/K}{1 - 1/K}, \qquad
    \mathrm{InfoC} = \frac{1}{K} \sum_k \frac{\max_i N_{ik} / \sum_i N_{ik} - 1/L}{1 - 1/L}.
    $$

    Parameters
    ----------
    nmi : array of shape (d, K)
        The normalized MI matrix.
    active : bool array of shape (d,)
        The latents to keep.

    Returns
    -------
    dict
        `infom`, `infoc` (floats), `infom_per_dim` (L) and `infoc_per_factor` (K).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.infomec import infom_infoc_from_nmi
    >>> scores = infom_infoc_from_nmi(np.array([[0.9, 0.1], [0.0, 0.8]]), np.array([True, True]))
    >>> print(round(scores["infom"], 3), round(scores["infoc"], 3))
    0.9 0.889
    """
    pruned = nmi[active]
    if pruned.shape[0] == 0:
        return {"infom": 0.0, "infoc": 0.0, "infom_per_dim": np.zeros(0), "infoc_per_factor": np.zeros(nmi.shape[1])}
    per_dim = _normalized_concentration(pruned, axis=1)
    per_factor = _normalized_concentration(pruned, axis=0)
    return {"infom": float(per_dim.mean()), "infoc": float(per_factor.mean()),
            "infom_per_dim": per_dim, "infoc_per_factor": per_factor}


def _logistic_log_loss(features: np.ndarray, labels: np.ndarray, max_iter: int) -> float:
    """In-sample log loss of the authors' probe: unpenalized multinomial lbfgs, balanced class weights."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    # C = inf is "no penalty" (sklearn >= 1.8 deprecates penalty=None in its favour); lbfgs is multinomial.
    model = LogisticRegression(C=np.inf, tol=1e-4, fit_intercept=True, class_weight="balanced", solver="lbfgs",
                               max_iter=max_iter)
    fit_to_max_iter(model, features, labels)
    return float(log_loss(labels, model.predict_proba(features), labels=model.classes_))


def infoe_per_factor(codes: np.ndarray, factors: np.ndarray, *, discrete_latents: bool, max_iter: int) -> dict:
    r"""Per-factor normalized predictive linear information (see [`infoe`][dismetrics.metrics.infomec.infoe])."""
    if discrete_latents:
        columns = sum(int(np.unique(codes[:, i]).size) for i in range(codes.shape[1]))
        check_workspace(8.0 * codes.shape[0] * columns,
                        what=f"the one-hot encoding of the codes ({codes.shape[0]:,} points x {columns:,} distinct "
                             "code values)",
                        advice="discrete_latents=True is for quantized codes with few values per dim; use False for "
                               "continuous codes.")
        features = _one_hot(codes)
    else:
        features = _standardize(codes)
    null_features = np.zeros((codes.shape[0], codes.shape[1]))
    losses, null_losses = [], []
    for k in range(factors.shape[1]):
        labels = _labels(factors[:, k])
        losses.append(_logistic_log_loss(features, labels, max_iter))
        null_losses.append(_logistic_log_loss(null_features, labels, max_iter))
    losses, null_losses = np.array(losses), np.array(null_losses)
    return {"per_factor": (null_losses - losses) / null_losses, "log_loss": losses, "null_log_loss": null_losses}


def _validate(codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, random_state):
    codes, factors = check_codes_and_factors(codes, factors)
    check_choice(mi_estimator, name="mi_estimator", choices=MI_ESTIMATORS)
    n_neighbors = check_positive_int(n_neighbors, name="n_neighbors")
    bins = check_bins(bins)
    active_range_fraction = _check_fraction(active_range_fraction, "active_range_fraction")
    rng = check_random_state(random_state)
    return codes, factors, n_neighbors, bins, active_range_fraction, rng


def _nmi_part(codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, rng, metric):
    if mi_estimator == "knn":
        _check_knn_factors(factors, metric)
    seed = int(rng.integers(0, 2**31 - 1))
    nmi = normalized_mi_matrix(codes, factors, mi_estimator=mi_estimator, n_neighbors=n_neighbors, bins=bins,
                               random_state=seed)
    active = active_latents(codes, discrete=mi_estimator == "discrete", range_fraction=active_range_fraction)
    return nmi, active, infom_infoc_from_nmi(nmi, active), seed


def infomec(codes, factors, *, mi_estimator: str = "knn", n_neighbors: int = 10, bins: int = 20,
            active_range_fraction: float = 0.05, max_iter: int = 100, random_state=0) -> dict[str, MetricResult]:
    r"""InfoM, InfoC and InfoE at once (the NMI matrix computed once): a dict of three results.

    See [`infom`][dismetrics.metrics.infomec.infom], [`infoc`][dismetrics.metrics.infomec.infoc] and
    [`infoe`][dismetrics.metrics.infomec.infoe] for the definitions. The InfoE probe one-hot encodes the
    codes when `mi_estimator="discrete"` (as `infoe(..., discrete_latents=True)`), else it standardizes
    them.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, K >= 2.
    mi_estimator : {"knn", "histogram", "discrete"}, default "knn"
        How $I(z_i; v_k)$ is estimated for InfoM and InfoC.
    n_neighbors : int, default 10
        Neighbours of the kNN estimator.
    bins : int, default 20
        Equal-width bins per code dim of the histogram estimator, 2 to 1,000.
    active_range_fraction : float, default 0.05
        A continuous latent is active when its range exceeds this fraction of the largest range.
    max_iter : int, default 100
        lbfgs iterations of each InfoE probe.
    random_state : int, None or numpy.random.Generator, default 0
        Seeds the kNN estimator's tie-breaking noise.

    Returns
    -------
    dict of str to MetricResult
        `{"infom": ..., "infoc": ..., "infoe": ...}`, each the result of the function of that name.

    References
    ----------
    Hsu et al., NeurIPS 2023, and the reference code kylehkhsu/latent_quantization
    `disentangle/metrics/infomec.py` (see [`infom`][dismetrics.metrics.infomec.infom]).

    Examples
    --------
    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.infomec import infomec
    >>> results = infomec(*damage_sample("noise", 0.0, 1000, seed=0))  # the perfect code and its factors
    >>> print({name: round(result.value, 2) for name, result in results.items()})
    {'infom': 0.99, 'infoc': 0.99, 'infoe': 1.0}
    """
    codes, factors, n_neighbors, bins, active_range_fraction, rng = _validate(
        codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, random_state)
    check_two_factors(factors, "InfoM")
    max_iter = check_positive_int(max_iter, name="max_iter")
    check_cardinality(factors, metric="InfoE", why="fits one logistic-regression output per value")
    nmi, active, scores, seed = _nmi_part(codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, rng,
                                          "InfoMEC")
    explicit = infoe_per_factor(codes, factors, discrete_latents=mi_estimator == "discrete", max_iter=max_iter)
    return {
        "infom": _infom_result(scores, nmi, active, mi_estimator, n_neighbors, bins, active_range_fraction, seed, codes),
        "infoc": _infoc_result(scores, nmi, active, mi_estimator, n_neighbors, bins, active_range_fraction, seed, codes),
        "infoe": _infoe_result(explicit, mi_estimator, max_iter, codes),
    }


def _nmi_params(mi_estimator, n_neighbors, bins, active_range_fraction, seed, codes):
    return {"mi_estimator": mi_estimator, "n_neighbors": n_neighbors, "bins": bins,
            "active_range_fraction": active_range_fraction, "model_seed": seed, "n_samples": codes.shape[0]}


def _infom_result(scores, nmi, active, *args) -> MetricResult:
    return MetricResult(name="infom", value=scores["infom"],
                        details={"nmi": nmi, "active_dims": np.flatnonzero(active), "num_active_dims": int(active.sum()),
                                 "per_dim": scores["infom_per_dim"]},
                        params=_nmi_params(*args))


def _infoc_result(scores, nmi, active, *args) -> MetricResult:
    return MetricResult(name="infoc", value=scores["infoc"],
                        details={"nmi": nmi, "active_dims": np.flatnonzero(active), "num_active_dims": int(active.sum()),
                                 "per_factor": scores["infoc_per_factor"]},
                        params=_nmi_params(*args))


def _infoe_result(explicit, mi_estimator, max_iter, codes) -> MetricResult:
    return MetricResult(name="infoe", value=float(np.mean(explicit["per_factor"])),
                        details={"per_factor": explicit["per_factor"], "log_loss": explicit["log_loss"],
                                 "null_log_loss": explicit["null_log_loss"]},
                        params={"discrete_latents": mi_estimator == "discrete", "max_iter": max_iter,
                                "probe": "LogisticRegression(C=inf, class_weight='balanced', solver='lbfgs', multinomial)",
                                "evaluation": "in-sample log loss", "n_samples": codes.shape[0]})


def infom(codes, factors, *, mi_estimator: str = "knn", n_neighbors: int = 10, bins: int = 20,
          active_range_fraction: float = 0.05, random_state=0) -> MetricResult:
    r"""InfoM, the modularity of InfoMEC: does each active code dim hold information about one factor only?

    Hsu et al., "Disentanglement via latent quantization", NeurIPS 2023. With the normalized MI
    $N_{ik} = I(z_i; v_k) / H(v_k)$ and the L active latents (range above
    `active_range_fraction` of the largest range; 1/20 in the authors' code):

    $$
    \mathrm{InfoM} = \frac{1}{L} \sum_{i\ \mathrm{active}}
        \frac{\max_k N_{ik} / \sum_k N_{ik} - 1/K}{1 - 1/K} \in [0, 1].
    $$

    MI estimator (`mi_estimator`): `"knn"` (default, the authors' choice for continuous codes:
    sklearn's `mutual_info_classif` with `n_neighbors=10` on standardized codes, seeded here by
    `random_state` where the authors leave it unseeded), `"histogram"` (the binned plug-in MI of
    MIG, `bins` bins; deterministic and faster) or `"discrete"` (each distinct code value its own
    class, for quantized codes; active = not constant).

    Bad input: with the kNN estimator a factor may take at most 1,000 values
    ([`dismetrics._validation.MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]) and needs a value that occurs
    twice; `bins` is at most 1,000. The codes are standardized after an exact power-of-two rescaling of any
    dim beyond about 2e90 or below 5e-91, so a common positive scale leaves InfoM and InfoC unchanged over the
    whole float64 range.

    Cases the authors' code leaves undefined (0/0): an active latent with no information about any
    factor scores 0 here (the reference gives NaN); no active latent gives 0. Needs K >= 2.

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, K >= 2.
    mi_estimator : {"knn", "histogram", "discrete"}, default "knn"
        How $I(z_i; v_k)$ is estimated (see above).
    n_neighbors : int, default 10
        Neighbours of the kNN estimator.
    bins : int, default 20
        Equal-width bins per code dim of the histogram estimator, 2 to 1,000.
    active_range_fraction : float, default 0.05
        A continuous latent is active when its range exceeds this fraction of the largest range; in
        [0, 1).
    random_state : int, None or numpy.random.Generator, default 0
        Seeds the kNN estimator's tie-breaking noise.

    Returns
    -------
    MetricResult
        `details`: `nmi` (d, K), `active_dims`, `num_active_dims`, `per_dim` (active dims).

    References
    ----------
    K. Hsu, W. Dorrell, J. C. R. Whittington, J. Wu and C. Finn, "Disentanglement via latent quantization",
    NeurIPS 2023 (arXiv:2305.18378). Reference code: kylehkhsu/latent_quantization,
    `disentangle/metrics/infomec.py`.

    Examples
    --------
    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.infomec import infom
    >>> codes, factors = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> rotated, _ = damage_sample("rotation", 5, 1000, seed=0)  # every dim mixes several factors
    >>> print(round(infom(codes, factors).value, 2), round(infom(rotated, factors).value, 2))
    0.99 0.74
    """
    codes, factors, n_neighbors, bins, active_range_fraction, rng = _validate(
        codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, random_state)
    check_two_factors(factors, "InfoM")
    nmi, active, scores, seed = _nmi_part(codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, rng,
                                          "InfoM")
    return _infom_result(scores, nmi, active, mi_estimator, n_neighbors, bins, active_range_fraction, seed, codes)


def infoc(codes, factors, *, mi_estimator: str = "knn", n_neighbors: int = 10, bins: int = 20,
          active_range_fraction: float = 0.05, random_state=0) -> MetricResult:
    r"""InfoC, the compactness of InfoMEC: is each factor captured by a single active code dim?

    Hsu et al., NeurIPS 2023. With $N$ and the L active latents as in
    [`infom`][dismetrics.metrics.infomec.infom]:

    $$
    \mathrm{InfoC} = \frac{1}{K} \sum_k \frac{\max_i N_{ik} / \sum_i N_{ik} - 1/L}{1 - 1/L} \in [0, 1].
    $$

    Cases the authors' code leaves undefined: a factor no active latent informs about scores 0; a
    single active latent scores 1 for every factor it informs about (the reference gives NaN); no
    active latent gives 0. Parameters as [`infom`][dismetrics.metrics.infomec.infom].

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices.
    mi_estimator : {"knn", "histogram", "discrete"}, default "knn"
        How $I(z_i; v_k)$ is estimated (see [`infom`][dismetrics.metrics.infomec.infom]).
    n_neighbors : int, default 10
        Neighbours of the kNN estimator.
    bins : int, default 20
        Equal-width bins per code dim of the histogram estimator, 2 to 1,000.
    active_range_fraction : float, default 0.05
        A continuous latent is active when its range exceeds this fraction of the largest range.
    random_state : int, None or numpy.random.Generator, default 0
        Seeds the kNN estimator's tie-breaking noise.

    Returns
    -------
    MetricResult
        `details`: `nmi` (d, K), `active_dims`, `num_active_dims`, `per_factor` (K).

    References
    ----------
    Hsu et al., NeurIPS 2023, and the reference code kylehkhsu/latent_quantization
    `disentangle/metrics/infomec.py` (see [`infom`][dismetrics.metrics.infomec.infom]).

    Examples
    --------
    A noisy copy of every dim halves what the best dim holds of each factor:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.infomec import infoc
    >>> codes, factors = damage_sample("noise", 0.0, 1000, seed=0)  # damage level 0: the perfect code
    >>> copied, _ = damage_sample("duplicate", 5, 1000, seed=0)
    >>> print(round(infoc(codes, factors).value, 2), round(infoc(copied, factors).value, 2))
    0.99 0.44
    """
    codes, factors, n_neighbors, bins, active_range_fraction, rng = _validate(
        codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, random_state)
    nmi, active, scores, seed = _nmi_part(codes, factors, mi_estimator, n_neighbors, bins, active_range_fraction, rng,
                                          "InfoC")
    return _infoc_result(scores, nmi, active, mi_estimator, n_neighbors, bins, active_range_fraction, seed, codes)


def infoe(codes, factors, *, discrete_latents: bool = False, max_iter: int = 100) -> MetricResult:
    r"""InfoE, the explicitness of InfoMEC: the normalized predictive linear information of each factor.

    Hsu et al., NeurIPS 2023 (predictive V-information with V = multinomial logistic regression).
    For each factor k, a logistic regression from all code dims (standardized; one-hot encoded when
    `discrete_latents`) and a null one from an all-zero input are fit on the sample, and

    $$
    \mathrm{InfoE} = \frac{1}{K} \sum_k \frac{\ell^{\mathrm{null}}_k - \ell_k}{\ell^{\mathrm{null}}_k}
    $$

    with $\ell$ the in-sample log loss (nats). The probe is the authors': no penalty
    (`C=inf`), `class_weight="balanced"`, lbfgs multinomial, `max_iter=100`, `tol=1e-4`.
    With balanced weights the null model predicts the uniform distribution, so
    $\ell^{\mathrm{null}}_k = \log m_k$. InfoE is at most 1 and can be negative (the balanced
    probe's unweighted in-sample loss above the null model's). A factor may take at most 1,000 values
    ([`dismetrics._validation.MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]); codes are standardized after
    an exact power-of-two rescaling of any dim beyond about 2e90 or below 5e-91, so InfoE is invariant to
    positive affine maps of a dim over the whole float64 range. Pitfalls: the loss is measured on the training
    sample (no test split, as in the reference), so many code dims and few points inflate it; the
    probe stops after `max_iter` lbfgs steps whether converged or not (warnings silenced).

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation.
    factors : int array-like of shape (n, K)
        Ground-truth factor indices, at most 1,000 values per factor.
    discrete_latents : bool, default False
        One-hot encode every code dim over its distinct values (for quantized codes) instead of
        standardizing it.
    max_iter : int, default 100
        lbfgs iterations of each probe.

    Returns
    -------
    MetricResult
        `details`: `per_factor`, `log_loss`, `null_log_loss` (K each).

    References
    ----------
    Hsu et al., NeurIPS 2023, and the reference code kylehkhsu/latent_quantization
    `disentangle/metrics/infomec.py` (see [`infom`][dismetrics.metrics.infomec.infom]).

    Examples
    --------
    A linear probe reads the factors out of a rotated code as well as out of the perfect one, and
    nothing out of pure noise:

    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.infomec import infoe
    >>> for damage, level in [("noise", 0.0), ("rotation", 5), ("noise", 1.0)]:
    ...     codes, factors = damage_sample(damage, level, 1000, seed=0)
    ...     print(damage, level, round(infoe(codes, factors).value, 2))
    noise 0.0 1.0
    rotation 5 1.0
    noise 1.0 0.01
    """
    codes, factors = check_codes_and_factors(codes, factors)
    if not isinstance(discrete_latents, (bool, np.bool_)):
        raise ValueError(f"discrete_latents must be True or False; got {discrete_latents!r}.")
    max_iter = check_positive_int(max_iter, name="max_iter")
    check_cardinality(factors, metric="InfoE", why="fits one logistic-regression output per value")
    explicit = infoe_per_factor(codes, factors, discrete_latents=bool(discrete_latents), max_iter=max_iter)
    return _infoe_result(explicit, "discrete" if discrete_latents else "knn", max_iter, codes)


INFOM_SPEC = register_metric(MetricSpec(
    name="infom", func=infom, kind="sample", title="InfoM", random=True, group="infomec",
    reference="Hsu et al. 2023 (InfoMEC)", docs="infomec.md"))
INFOC_SPEC = register_metric(MetricSpec(
    name="infoc", func=infoc, kind="sample", title="InfoC", random=True, group="infomec",
    reference="Hsu et al. 2023 (InfoMEC)", docs="infomec.md"))
INFOE_SPEC = register_metric(MetricSpec(
    name="infoe", func=infoe, kind="sample", title="InfoE", group="infomec",
    reference="Hsu et al. 2023 (InfoMEC)", docs="infomec.md"))
