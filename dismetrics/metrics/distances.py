"""Distance scores (Michlo et al.; disent's `metric_distances`): do distances between ground-truth factors,
codes and observations agree?"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata

from .._progress import progress_bar
from .._validation import check_choice, check_positive_int, check_random_state
from ..result import MetricResult
from ._intervention import DEFAULT_CHUNK_SIZE, describe_seed, factor_names_of, prepare
from .flatness import DISENT_COMMIT, draw_traversals
from .linearity import geometric_mean_float32
from .registry import MetricSpec, register_metric

__all__ = ["distances", "distance_scores", "DISTANCE_SCORES"]

_PAIRS = ("ground_data", "ground_latent.l1", "latent_data.l1", "ground_latent.l2", "latent_data.l2")
_BASE_SCORES = tuple(f"{kind}_{pair}" for pair in _PAIRS for kind in ("rsame", "rcorr", "lcorr"))
DISTANCE_SCORES = tuple(f"{score}.{where}" for where in ("global", "factor") for score in _BASE_SCORES)
"""Every score `distances` computes, named as disent's keys without the `distances.` prefix."""

_DATA_SLICE = 4_000_000
"""Elements of one slice of observation differences (bounds the memory of the data distances)."""


def _same_ratio(ap0, an0, ap1, an1) -> float:
    same = ((ap0 < an0) & (ap1 < an1)) | ((ap0 == an0) & (ap1 == an1)) | ((ap0 > an0) & (ap1 > an1))
    return float(np.mean(same, dtype=np.float32))


def _rank_correlation(rx: np.ndarray, ry: np.ndarray) -> float:
    """Pearson's r of two float64 arrays (of average ranks: Spearman's rho, as `scipy.stats.spearmanr`);
    NaN when either is constant, as there."""
    dx, dy = rx - rx.mean(), ry - ry.mean()  # elementwise sums, not BLAS: no thread pool for a 1-D dot
    denominator = math.sqrt(float(np.square(dx).sum()) * float(np.square(dy).sum()))
    return float((dx * dy).sum() / denominator) if denominator > 0 else float("nan")


def _correlations(x: np.ndarray, y: np.ndarray, rx: np.ndarray, ry: np.ndarray) -> tuple[float, float]:
    """(Spearman's rho, Pearson's r); both in float64 (scipy's `pearsonr` works in the inputs' dtype, float32
    for the data distances as in the source: the values agree to float32 precision)."""
    return _rank_correlation(rx, ry), _rank_correlation(x.astype(np.float64), y.astype(np.float64))


def distance_scores(dists: dict[str, np.ndarray]) -> dict[str, float]:
    """The 15 scores from triplet distances.

    `dists` maps `"ap_ground"`, `"an_ground"`, `"ap_data"`, `"an_data"`, `"ap_latent.l1"`, `"an_latent.l1"`,
    `"ap_latent.l2"`, `"an_latent.l2"` to 1-D arrays (one entry per triplet: anchor-positive and
    anchor-negative distances). For two kinds of distance A and B, with the ap and an distances
    concatenated: `rcorr_A_B` = Spearman's rank correlation, `lcorr_A_B` = Pearson's correlation,
    `rsame_A_B` = the fraction of triplets that A and B order the same way (both <, both =, or both >),
    as disent's `_compute_scores_from_dists`."""
    ground = np.concatenate([dists["ap_ground"], dists["an_ground"]])
    data = np.concatenate([dists["ap_data"], dists["an_data"]])
    rank_ground, rank_data = rankdata(ground), rankdata(data)  # each ranked once, as spearmanr ranks them
    out = {"rsame_ground_data": _same_ratio(dists["ap_ground"], dists["an_ground"], dists["ap_data"], dists["an_data"])}
    out["rcorr_ground_data"], out["lcorr_ground_data"] = _correlations(ground, data, rank_ground, rank_data)
    for norm in ("l1", "l2"):
        ap, an = dists[f"ap_latent.{norm}"], dists[f"an_latent.{norm}"]
        latent = np.concatenate([ap, an])
        rank_latent = rankdata(latent)
        out[f"rsame_ground_latent.{norm}"] = _same_ratio(dists["ap_ground"], dists["an_ground"], ap, an)
        out[f"rsame_latent_data.{norm}"] = _same_ratio(ap, an, dists["ap_data"], dists["an_data"])
        out[f"rcorr_ground_latent.{norm}"], out[f"lcorr_ground_latent.{norm}"] = _correlations(
            ground, latent, rank_ground, rank_latent)
        out[f"rcorr_latent_data.{norm}"], out[f"lcorr_latent_data.{norm}"] = _correlations(
            latent, data, rank_latent, rank_data)
    return out


def _group_dists(obs: np.ndarray, codes: np.ndarray, ground: np.ndarray | None, triplets: np.ndarray) -> dict:
    """Triplet distances of c groups of g points: `obs` (c, g, ...), `codes` (c, g, d), `ground` (c, g, K)
    factor values (None: the traversal index is the ground truth), `triplets` (c, 3, S) indices."""
    c, g = codes.shape[:2]
    rows = np.arange(c)[:, None]
    a, p, n = triplets[:, 0], triplets[:, 1], triplets[:, 2]
    out = {}
    if ground is None:
        out["ap_ground"] = np.abs(a - p).astype(np.int64).ravel()
        out["an_ground"] = np.abs(a - n).astype(np.int64).ravel()
    else:
        out["ap_ground"] = np.abs(ground[rows, a] - ground[rows, p]).sum(axis=-1).astype(np.float32).ravel()
        out["an_ground"] = np.abs(ground[rows, a] - ground[rows, n]).sum(axis=-1).astype(np.float32).ravel()
    flat = obs.reshape(c, g, -1)
    per_group = max(1, _DATA_SLICE // max(1, triplets.shape[2] * flat.shape[2]))
    for name, other in (("ap_data", p), ("an_data", n)):
        parts = []
        for start in range(0, c, per_group):
            sl = slice(start, start + per_group)
            r = rows[sl]
            diff = np.square(flat[r, a[sl]] - flat[r, other[sl]])  # (c', S, P)
            parts.append(np.mean(diff, axis=-1, dtype=np.float32).ravel())
        out[name] = np.concatenate(parts)
    for name, other in (("ap", p), ("an", n)):
        delta = codes[rows, a] - codes[rows, other]
        out[f"{name}_latent.l1"] = np.abs(delta).sum(axis=-1).ravel()
        out[f"{name}_latent.l2"] = np.sqrt(np.square(delta).sum(axis=-1)).ravel()
    return out


def _collect(source, sampler, groups, triplets, rng, *, use_ground: bool, chunk_size: int, progress, desc):
    m, g, k = groups.shape
    per_chunk = max(1, check_positive_int(chunk_size, name="chunk_size") // g)
    parts = []
    starts = range(0, m, per_chunk)
    for start in progress_bar(starts, total=len(starts), desc=desc, progress=progress):
        chunk = groups[start:start + per_chunk]
        c = chunk.shape[0]
        obs = np.asarray(sampler.sample_observations_from_factors(chunk.reshape(c * g, k), rng))
        codes = np.asarray(source.representation(obs), dtype=np.float64)
        parts.append(_group_dists(obs.reshape(c, g, *obs.shape[1:]), codes.reshape(c, g, -1),
                                  chunk if use_ground else None, triplets[start:start + per_chunk]))
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def distances(
    representation,
    sampler,
    *,
    score: str = "rcorr_ground_latent.l2.global",
    repeats: int = 1024,
    num_samples: int = 64,
    global_subset_size: int = 32,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
) -> MetricResult:
    r"""Distance scores: rank and linear correlation between factor, code and observation distances.

    Triplets of points (anchor a, "positive" p, "negative" n; all three drawn uniformly and independently)
    give two distances each (a-p, a-n) of three kinds:

    * ground truth: along a traversal, the index distance $|a - p|$; globally, the L1 distance between the
      factor index vectors;
    * latent: $\lVert z_a - z_p \rVert_1$ (`.l1`) and $\lVert z_a - z_p \rVert_2$ (`.l2`);
    * data: the mean squared difference of the observations (every element; in float32, as the source).

    For two kinds A and B, over all triplets (a-p and a-n distances together): `rcorr_A_B` is Spearman's
    rank correlation, `lcorr_A_B` Pearson's correlation, `rsame_A_B` the fraction of triplets that A and
    B order the same way (`<`, `=` or `>` for both).

    * `.global`: `repeats` random batches of `global_subset_size` points, `num_samples` triplets each,
      the scores over all of them pooled;
    * `.factor`: for each factor with more than one value, `repeats` traversals (a random base vector,
      the factor swept through all its values), `num_samples` triplets each, the scores per factor; then
      the **geometric** mean over factors rounded to float32 (a negative correlation makes it NaN, as in
      the source; the per-factor values are in `details`).

    This is disent's `metric_distances` (`_metric_factored_components` with `compute_distances=True`),
    with its defaults: 1,024 repeats, 64 triplets each, global batches of 32 ("fast": 128 repeats). The
    value is the score named by `score` (default `rcorr_ground_latent.l2.global`: does the code's L2
    geometry rank pairs of points as their factors do?); all 30 scores are in `details`.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation
        Always called on the observations (the data distances need them; no representation table).
    sampler : GroundTruthSampler
    score : str, default "rcorr_ground_latent.l2.global"
        One of `DISTANCE_SCORES`.
    repeats : int, default 1024
    num_samples : int, default 64
        Triplets per traversal and per global batch.
    global_subset_size : int, default 32
        Points per global batch.
    random_state : int, None or numpy Generator, default 0
    chunk_size : int, default 8192
    progress : bool or None, default None

    Returns
    -------
    MetricResult
        `value`: the chosen score; `details`: every score of `DISTANCE_SCORES`, and `per_factor`
        (dict: score name -> K values, NaN for a factor with one value).

    References
    ----------
    Michlo et al.; code nmichlo/disent, disent/metrics/_factored_components.py (commit 8f061a87, MIT
    licence): `_compute_dists`, `_compute_scores_from_dists`.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> from dismetrics.metrics.distances import distances
    >>> grid = FactorGrid([3, 4, 5])
    >>> result = distances(lambda x: np.asarray(x, float), grid, repeats=8)
    >>> round(result.details["rsame_ground_latent.l1.global"], 3)
    1.0
    """
    score = check_choice(score, name="score", choices=DISTANCE_SCORES)
    repeats = check_positive_int(repeats, name="repeats", maximum=10_000_000)
    num_samples = check_positive_int(num_samples, name="num_samples", maximum=10_000_000)
    global_subset_size = check_positive_int(global_subset_size, name="global_subset_size", minimum=2,
                                            maximum=10_000_000)
    source = prepare(representation, sampler, "direct")
    rng = check_random_state(random_state)
    sizes = np.asarray([int(s) for s in sampler.factor_sizes])
    active = sizes > 1
    if not active.any():
        raise ValueError("distances needs at least one factor with two or more values.")
    names = factor_names_of(sampler)

    per_factor = {name: np.full(sizes.size, np.nan) for name in _BASE_SCORES}
    for f in np.flatnonzero(active):
        groups = draw_traversals(sampler, int(f), repeats, rng)
        triplets = rng.integers(0, int(sizes[f]), size=(repeats, 3, num_samples))
        dists = _collect(source, sampler, groups, triplets, rng, use_ground=False, chunk_size=chunk_size,
                         progress=progress, desc=f"Distances {names[f]}")
        for name, value in distance_scores(dists).items():
            per_factor[name][f] = value
    details: dict = {f"{name}.factor": geometric_mean_float32(values[active]) for name, values in per_factor.items()}

    groups = sampler.sample_factors(repeats * global_subset_size, rng).reshape(repeats, global_subset_size, -1)
    triplets = rng.integers(0, global_subset_size, size=(repeats, 3, num_samples))
    dists = _collect(source, sampler, groups, triplets, rng, use_ground=True, chunk_size=chunk_size,
                     progress=progress, desc="Distances global")
    details.update({f"{name}.global": value for name, value in distance_scores(dists).items()})
    details = {name: details[name] for name in DISTANCE_SCORES}
    details["per_factor"] = per_factor
    return MetricResult(
        name="distances",
        value=float(details[score]),
        details=details,
        params={"score": score, "repeats": repeats, "num_samples": num_samples,
                "global_subset_size": global_subset_size, "representation_mode": source.mode,
                "random_state": describe_seed(random_state)},
    )


SPEC = register_metric(MetricSpec(
    name="distances", in_all=False, func=distances, kind="intervention", title="Distance correlations (disent)",
    random=True, value_range=(-1.0, 1.0),
    reference=f"Michlo et al.; nmichlo/disent disent/metrics/_factored_components.py@{DISENT_COMMIT} "
              "(metric_distances)",
    docs="distances.md"))
