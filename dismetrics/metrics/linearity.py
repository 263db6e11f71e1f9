"""Linearity and axis alignment of factor traversals (Michlo et al.; disent's `metric_linearity`, the
linearity half of `metric_factored_components`)."""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_positive_int, check_random_state
from ..result import MetricResult
from ._intervention import DEFAULT_CHUNK_SIZE, describe_seed, encode_groups, factor_names_of, prepare
from .flatness import DISENT_COMMIT, draw_traversals
from .registry import MetricSpec, register_metric

__all__ = ["linearity", "ratio_score", "geometric_mean_float32", "LINEARITY_SCORES"]

LINEARITY_SCORES = ("linear_ratio", "axis_ratio", "axis_alignment", "axis_ratio_ave")
"""The scores of disent's linearity metric (each with the suffix `.var` there)."""


def ratio_score(values: np.ndarray) -> np.ndarray:
    r"""$(r - 1/n) / (1 - 1/n)$ with $r = \max_j v_j / \sum_j v_j$ over the last axis (n its length):
    1 when one value holds everything, 0 when all are equal. A row of zeros gives 0 (disent: NaN)."""
    n = values.shape[-1]
    total = values.sum(axis=-1)
    top = values.max(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(total > 0, top / np.where(total > 0, total, 1.0), 1.0 / n)
    return (r - 1.0 / n) / (1.0 - 1.0 / n)


def geometric_mean_float32(values: np.ndarray) -> float:
    """disent's aggregate over factors: the geometric mean in float64, rounded to float32 (a value <= 0
    gives 0 or NaN, as there)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.exp(np.mean(np.log(np.asarray(values, dtype=np.float64))))
    return float(np.float32(mean))


_OVERFLOW = ("representation returned codes whose variance along a traversal overflows float64 (codes of magnitude "
             "near 1e154 or more); rescale the codes.")


def _traversal_ratios(codes: np.ndarray) -> np.ndarray:
    """(c, m, d) traversal codes -> (c, 3 + d): axis ratio, linear ratio, axis alignment, per-dim variances.

    Axis values: the per-dim variances of the traversal (ddof=1). Linear values: the absolute eigenvalues of
    its covariance matrix (ddof=1), i.e. the variances along the principal axes."""
    c, m, d = codes.shape
    if d < 2:
        raise ValueError(f"linearity needs codes with at least 2 dims (its ratios compare dims); got {d}.")
    centered = codes - codes.mean(axis=1, keepdims=True)
    covariance = np.einsum("cmi,cmj->cij", centered, centered) / (m - 1)
    if not np.isfinite(covariance).all():  # else eigvalsh fails ("Eigenvalues did not converge") or gives NaN
        raise ValueError(_OVERFLOW)
    axis_values = np.einsum("cii->ci", covariance).copy()
    linear_values = np.abs(np.linalg.eigvalsh(covariance))
    axis = ratio_score(axis_values)
    linear = ratio_score(linear_values)
    out = np.empty((c, 3 + d))
    out[:, 0] = axis
    out[:, 1] = linear
    out[:, 2] = axis / (linear + 1e-20)
    out[:, 3:] = axis_values
    return out


def linearity(
    representation,
    sampler,
    *,
    score: str = "linear_ratio",
    repeats: int = 1024,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    encoding: str = "auto",
    progress: bool | None = None,
) -> MetricResult:
    r"""Linearity and axis alignment of factor traversals in code space.

    For each factor f with more than one value, `repeats` traversals are drawn (a random base factor
    vector with factor f swept through all its values) and encoded, $Z \in \mathbb{R}^{m_f \times d}$.
    For a vector of non-negative values $v \in \mathbb{R}^d$ let
    $s(v) = (\max_j v_j / \sum_j v_j - 1/d) / (1 - 1/d)$. Per traversal:

    * axis ratio $a = s(\mathrm{diag}\,C)$, with $C$ the covariance of $Z$ (ddof=1): how much of the
      traversal's variance lies along its single best code axis;
    * linear ratio $l = s(|\lambda(C)|)$, the eigenvalues of $C$: how much lies along its best
      direction (any direction): 1 for a straight-line traversal;
    * axis alignment $a / (l + 10^{-20})$.

    Per factor, each is averaged over the repeats, and `axis_ratio_ave` is $s$ of the mean per-dim
    variances. The score of each is the **geometric** mean over the factors with more than one value,
    rounded to float32, as disent does.

    This is disent's `metric_linearity` (keys `linearity.{linear_ratio, axis_ratio, axis_alignment,
    axis_ratio_ave}.var`) with its defaults (1,024 repeats; "fast": 128). `score` picks the value; all
    four are in `details`.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation
    sampler : GroundTruthSampler
    score : {"linear_ratio", "axis_ratio", "axis_alignment", "axis_ratio_ave"}, default "linear_ratio"
    repeats : int, default 1024
    random_state : int, None or numpy Generator, default 0
    chunk_size : int, default 8192
    encoding : {"auto", "table", "direct"}, default "auto"
        As for [`factor_vae_score`][dismetrics.metrics.factor_vae.factor_vae_score].
    progress : bool or None, default None

    Returns
    -------
    MetricResult
        `value`: the chosen score; `details`: the four scores and their per-factor values
        (`<score>_per_factor`, K; 0 for a factor with one value), `active_factors` (K, bool).

    References
    ----------
    Michlo et al.; code nmichlo/disent, disent/metrics/_factored_components.py (commit 8f061a87, MIT
    licence): `_compute_factored_metric_components_along_factor`, `_score_from_unsorted`, `_filtered_mean`.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> from dismetrics.metrics.linearity import linearity
    >>> grid = FactorGrid([3, 4, 5])
    >>> result = linearity(lambda x: np.asarray(x, float), grid, repeats=8)
    >>> result.value, result.details["axis_alignment"]
    (1.0, 1.0)
    """
    score = check_choice(score, name="score", choices=LINEARITY_SCORES)
    repeats = check_positive_int(repeats, name="repeats", maximum=10_000_000)
    source = prepare(representation, sampler, encoding)
    rng = check_random_state(random_state)
    sizes = np.asarray([int(s) for s in sampler.factor_sizes])
    active = sizes > 1
    if not active.any():
        raise ValueError("linearity needs at least one factor with two or more values.")
    names = factor_names_of(sampler)
    per_factor = {key: np.zeros(sizes.size) for key in LINEARITY_SCORES}
    for f in np.flatnonzero(active):
        groups = draw_traversals(sampler, int(f), repeats, rng)
        ratios = encode_groups(source, groups, rng, _traversal_ratios, chunk_size=chunk_size, progress=progress,
                               desc=f"Linearity {names[f]}")
        mean = ratios.mean(axis=0)
        if not np.isfinite(mean).all():
            raise ValueError(_OVERFLOW)
        per_factor["axis_ratio"][f] = mean[0]
        per_factor["linear_ratio"][f] = mean[1]
        per_factor["axis_alignment"][f] = mean[2]
        per_factor["axis_ratio_ave"][f] = ratio_score(mean[3:])
    scores = {key: geometric_mean_float32(values[active]) for key, values in per_factor.items()}
    details = {**scores, **{f"{key}_per_factor": values for key, values in per_factor.items()},
               "active_factors": active}
    return MetricResult(
        name="linearity",
        value=scores[score],
        details=details,
        params={"score": score, "repeats": repeats, "representation_mode": source.mode, "encoding": source.path,
                "random_state": describe_seed(random_state)},
    )


SPEC = register_metric(MetricSpec(
    name="linearity", in_all=False, func=linearity, kind="intervention", title="Linearity (factored components)",
    aliases=("disent_linearity",), random=True,
    reference=f"Michlo et al.; nmichlo/disent disent/metrics/_factored_components.py@{DISENT_COMMIT} "
              "(metric_linearity)",
    docs="linearity.md"))
