"""Flatness (Michlo et al.; disent's `metric_flatness`): how straight (and axis-aligned) a factor traversal
is in the code space."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int, check_random_state
from ..result import MetricResult
from ._intervention import DEFAULT_CHUNK_SIZE, describe_seed, encode_groups, factor_names_of, prepare
from .registry import MetricSpec, register_metric

__all__ = ["flatness", "draw_traversals", "flatness_from_traversals"]

DISENT_COMMIT = "8f061a87076adeae8d6e5b0fa984b660cd40e026"
"""The nmichlo/disent commit whose metrics these modules reproduce (identical in the PyPI release 0.8.0)."""


def draw_traversals(sampler, factor: int, repeats: int, rng: np.random.Generator) -> np.ndarray:
    """`repeats` traversals of `factor`: (repeats, m, K) factor arrays, one random base vector per
    traversal with column `factor` set to 0, 1, ..., m - 1 (disent's `sample_random_factor_traversal`,
    mode "interval", with as many frames as values)."""
    size = int(sampler.factor_sizes[factor])
    base = sampler.sample_factors(repeats, rng)
    groups = np.repeat(base[:, None, :], size, axis=1)
    groups[:, :, factor] = np.arange(size)
    return groups


def _traversal_measures(codes: np.ndarray) -> np.ndarray:
    """(c, m, d) traversal codes -> (c, 4): width L1, width L2, mean kept delta L1, mean kept delta L2.

    Width: the largest distance between two points of the traversal. Deltas: the m distances between
    neighbours along the traversal, cyclically (last to first included), without the largest one (the
    wrap-around gap, in a well-ordered traversal); their mean over the m - 1 kept."""
    c, m, _ = codes.shape
    out = np.zeros((c, 4))
    # Every unordered pair (i, j) is (i, i - s mod m) for one cyclic offset s in 1 .. m // 2.
    for shift in range(1, m // 2 + 1):
        diff = codes - np.roll(codes, shift, axis=1)  # (c, m, d)
        np.maximum(out[:, 0], np.abs(diff).sum(axis=-1).max(axis=1), out=out[:, 0])
        np.maximum(out[:, 1], np.square(diff).sum(axis=-1).max(axis=1), out=out[:, 1])
    out[:, 1] = np.sqrt(out[:, 1])
    steps = np.roll(codes, -1, axis=1) - codes  # (c, m, d)
    for column, delta in ((2, np.abs(steps).sum(axis=-1)), (3, np.sqrt(np.square(steps).sum(axis=-1)))):
        out[:, column] = np.sort(delta, axis=1)[:, : m - 1].mean(axis=1)
    return out


def flatness_from_traversals(measures: list[np.ndarray | None], factor_sizes) -> dict:
    """The flatness summary from per-factor traversal measures.

    `measures[f]` is the (repeats, 4) output of the traversal step for factor f (None for a factor with
    one value). Returns the dict of all scores and per-factor arrays (see `flatness`)."""
    sizes = np.asarray(factor_sizes, dtype=np.int64)
    active = sizes > 1
    k = sizes.size
    widths = np.zeros((2, k))
    lengths = np.zeros((2, k))
    for f in range(k):
        if not active[f]:
            continue
        measure = measures[f]
        assert measure is not None  # every active factor was traversed
        mean = measure.mean(axis=0)
        widths[:, f] = mean[:2]
        lengths[:, f] = (sizes[f] - 1) * mean[2:]

    def ratio(width, length):
        w, l_ = width[active].copy(), length[active].copy()
        w[l_ == 0] = 0.0
        l_[l_ == 0] = 1.0
        return w / l_

    per_factor = np.zeros(k)
    per_factor[active] = ratio(widths[1], lengths[0])
    return {
        "ave_flatness": float(per_factor[active].mean()),
        "ave_flatness_l1": float(ratio(widths[0], lengths[0]).mean()),
        "ave_flatness_l2": float(ratio(widths[1], lengths[1]).mean()),
        "ave_width_l1": float(widths[0, active].mean()),
        "ave_width_l2": float(widths[1, active].mean()),
        "ave_length_l1": float(lengths[0, active].mean()),
        "ave_length_l2": float(lengths[1, active].mean()),
        "flatness_per_factor": per_factor,
        "width_l2_per_factor": widths[1],
        "length_l1_per_factor": lengths[0],
        "active_factors": active,
    }


def flatness(
    representation,
    sampler,
    *,
    repeats: int = 1024,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    encoding: str = "auto",
    progress: bool | None = None,
) -> MetricResult:
    r"""Flatness: the width of a factor's traversal in code space over its path length.

    For each factor f with $m_f > 1$ values, `repeats` traversals are drawn: a random base factor vector
    with factor f swept through $0, 1, \dots, m_f - 1$; each is encoded, $z_0, \dots, z_{m_f - 1}$. Per
    traversal, with $\lVert\cdot\rVert_p$ the p-norm,

    * width $w_p = \max_{a, b} \lVert z_a - z_b \rVert_p$,
    * the $m_f$ cyclic steps $\lVert z_{(i+1) \bmod m_f} - z_i \rVert_p$ without the largest one, and
      $\bar\delta_p$ their mean.

    Averaged over the repeats ($\bar w_p$, $\bar\delta_p$), the length is $L_p = (m_f - 1)\,\bar\delta_p$
    and the factor's flatness $\bar w_2 / L_1$ (0 where $L_1 = 0$). The score is the mean over the factors
    with more than one value. A traversal that moves monotonically along a straight line parallel to a code
    axis scores 1 (unequal steps too, as long as the wrap-around step from the last point to the first is
    the largest); a straight diagonal one less ($1/\sqrt2$ in two dims: the L2 width over the L1 length),
    a curved or folded one less still.

    This is disent's `metric_flatness` (key `flatness.ave_flatness`), with its defaults: 1,024 repeats
    (its "fast" setting uses 128). Its other keys are in `details`.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation
    sampler : GroundTruthSampler
    repeats : int, default 1024
        Traversals per factor.
    random_state : int, None or numpy Generator, default 0
        Seeds the base vectors and the observations; the same int gives bit-identical results.
    chunk_size : int, default 8192
        Observations per call of the representation (whole traversals at a time).
    encoding : {"auto", "table", "direct"}, default "auto"
        Where the codes come from, as for [`factor_vae_score`][dismetrics.metrics.factor_vae.factor_vae_score]
        (a representation table when the data set is indexed); `params["encoding"]` records which path ran.
    progress : bool or None, default None

    Returns
    -------
    MetricResult
        `value`: `ave_flatness`; `details`: `ave_flatness_l1` ($\bar w_1 / L_1$), `ave_flatness_l2`
        ($\bar w_2 / L_2$), `ave_width_l1`, `ave_width_l2`, `ave_length_l1`, `ave_length_l2` (means over
        the active factors), `flatness_per_factor`, `width_l2_per_factor`, `length_l1_per_factor` (K),
        `active_factors` (K, bool).

    References
    ----------
    Michlo, Klein & James, "Overlooked implications of the reconstruction loss for VAE disentanglement"
    (IJCAI 2023) and N. Michlo's MSc research; code nmichlo/disent, disent/metrics/_flatness.py
    (commit 8f061a87, MIT licence).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> from dismetrics.metrics.flatness import flatness
    >>> grid = FactorGrid([3, 4, 5])
    >>> flatness(lambda x: np.asarray(x, float), grid, repeats=16).value
    1.0
    """
    repeats = check_positive_int(repeats, name="repeats", maximum=10_000_000)
    source = prepare(representation, sampler, encoding)
    rng = check_random_state(random_state)
    sizes = [int(s) for s in sampler.factor_sizes]
    if max(sizes) < 2:
        raise ValueError("flatness needs at least one factor with two or more values.")
    names = factor_names_of(sampler)
    measures: list[np.ndarray | None] = []
    for f, size in enumerate(sizes):
        if size < 2:
            measures.append(None)
            continue
        groups = draw_traversals(sampler, f, repeats, rng)
        measures.append(encode_groups(source, groups, rng, _traversal_measures,
                                      chunk_size=chunk_size, progress=progress, desc=f"Flatness {names[f]}"))
    summary = flatness_from_traversals(measures, sizes)
    overflow = [names[f] for f, measure in enumerate(measures) if measure is not None and not (
        np.isfinite(measure).all() and np.isfinite(summary["width_l2_per_factor"][f])
        and np.isfinite(summary["length_l1_per_factor"][f]))]
    if overflow or not np.isfinite([summary["ave_length_l2"], summary["ave_width_l1"]]).all():
        raise ValueError(f"representation returned codes whose distances along the traversals of factor(s) "
                         f"{overflow} overflow float64 (codes of magnitude near 1e154 or more); rescale the codes.")
    return MetricResult(
        name="flatness",
        value=summary.pop("ave_flatness"),
        details=summary,
        params={"repeats": repeats, "representation_mode": source.mode, "encoding": source.path,
                "random_state": describe_seed(random_state)},
    )


SPEC = register_metric(MetricSpec(
    name="flatness", in_all=False, func=flatness, kind="intervention", title="Flatness", random=True,
    value_range=(0.0, 1.0),
    reference=f"Michlo et al.; nmichlo/disent disent/metrics/_flatness.py@{DISENT_COMMIT} (metric_flatness)",
    docs="flatness.md"))
