"""FactorVAE score (Kim & Mnih, ICML 2018), as run by disentanglement_lib."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .._validation import check_choice, check_random_state
from ..result import MetricResult
from ._intervention import (
    DEFAULT_CHUNK_SIZE,
    check_sizes,
    describe_seed,
    encode_groups,
    encode_points,
    factor_names_of,
    prepare,
    resolve_factor_subset,
)
from .presets import preset_params
from .registry import MetricSpec, register_metric

__all__ = ["factor_vae_score"]


def _draw_votes(sampler, subset: np.ndarray, n_votes: int, batch_size: int, rng: np.random.Generator):
    """Fixed factors (n_votes,) and factor groups (n_votes, batch_size, K) sharing that factor's value."""
    fixed = subset[rng.integers(0, subset.size, size=n_votes)]
    groups = sampler.sample_factors(n_votes * batch_size, rng).reshape(n_votes, batch_size, -1)
    rows = np.arange(n_votes)
    groups[rows, :, fixed] = groups[rows, 0, fixed][:, None]
    return fixed, groups


def _global_variances(codes: np.ndarray) -> np.ndarray:
    """The variance (ddof=1) of each code dim over the variance sample; codes so large that it overflows are
    refused."""
    with np.errstate(over="ignore", invalid="ignore"):
        global_variances = np.var(codes, axis=0, ddof=1)
    if not np.isfinite(global_variances).all():
        dims = np.flatnonzero(~np.isfinite(global_variances)).tolist()
        raise ValueError(
            f"representation returned codes so large (|z| up to {np.abs(codes).max():.3g}) that the variance of dim(s) "
            f"{dims} overflows float64; rescale the representation's output (the score divides by each dim's variance, "
            "so only active_threshold sees the scale)."
        )
    return global_variances


def _vote_matrix(source, sampler, subset: np.ndarray, global_variances: np.ndarray, active_idx: np.ndarray,
                 n_votes: int, batch_size: int, rng: np.random.Generator, *, chunk_size: int, progress, desc: str
                 ) -> np.ndarray:
    """(len(subset), d) counts of (fixed factor, voted dim): each vote fixes one factor of the subset in a
    batch and votes for the active dim of least variance relative to its global variance."""
    scale = global_variances[active_idx]

    def argmin_dims(group_codes: np.ndarray) -> np.ndarray:  # (c, B, d) -> (c,) dim indices
        local = np.var(group_codes[:, :, active_idx], axis=1, ddof=1)
        return active_idx[np.argmin(local / scale, axis=1)]

    position = np.full(len(sampler.factor_sizes), -1, dtype=np.int64)
    position[subset] = np.arange(subset.size)
    fixed, groups = _draw_votes(sampler, subset, n_votes, batch_size, rng)
    dims = encode_groups(source, groups, rng, argmin_dims, chunk_size=chunk_size, progress=progress, desc=desc)
    matrix = np.zeros((subset.size, global_variances.size), dtype=np.int64)
    np.add.at(matrix, (position[fixed], dims), 1)
    return matrix


def factor_vae_score(
    representation,
    sampler,
    *,
    factors: Sequence | None = None,
    preset: str = "disentanglement_lib",
    batch_size: int | None = None,
    n_train: int | None = None,
    n_eval: int | None = None,
    n_variance: int | None = None,
    active_threshold: float | None = None,
    active_on: str | None = None,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
    encoding: str = "auto",
) -> MetricResult:
    r"""FactorVAE score: accuracy of a majority-vote classifier from "least-varying dim" to fixed factor.

    1. Global variances $s_j^2$ (`np.var(ddof=1)`) of the codes of `n_variance` points.
       Dim j is active when $s_j \ge$ `active_threshold` (`active_on="std"`, the reference)
       or $s_j^2 \ge$ `active_threshold` (`active_on="variance"`, the WTC paper's
       "variance < 0.05 is collapsed"). No active dim: score 0.
    2. One vote: draw a factor k uniformly (from `factors`), a batch of `batch_size` factor vectors
       with factor k fixed to one value, encode; local variances $l_j$ (ddof=1); the vote is
       $(\arg\min_{j\ \mathrm{active}} l_j / s_j^2,\ k)$.
    3. Classifier: each dim predicts the factor it got the most of the `n_train` training votes with
       (ties and dims without votes: the first such factor, as `np.argmax` in the reference).
       Score: its accuracy on `n_eval` fresh votes.

    Reference settings (`preset="disentanglement_lib"`): 10,000 points for the variances, threshold
    0.05 on the standard deviation, batch 64, 10,000 train and 5,000 eval votes.
    `preset="wtc_paper"`: 12,800 points, threshold 0.05 on the variance.

    `details["num_active_dims"]` is the real number of active dims (the reference reports the length
    of its boolean mask, i.e. always d). A dim of variance 0 is never active (with
    `active_threshold=0` it would divide 0 by 0). Sizes: `batch_size` at most 10,000, `n_train`,
    `n_eval`, `n_variance` at most 10 million, points x `batch_size` at most 50 million
    ([`dismetrics._validation`][dismetrics._validation]); codes whose variance overflows float64 raise
    `ValueError`.

    All votes are drawn first and their observations encoded `chunk_size` at a time instead of 64 per call;
    the procedure and its distribution are the reference's.

    Parameters
    ----------
    representation : callable, torch.nn.Module, Representation or RepresentationTable
    sampler : GroundTruthSampler
    factors : list of int or str, optional
        Restrict the fixed factor to these (indices or names). Default: all.
    preset : {"disentanglement_lib", "wtc_paper"}
        Source of the defaults; any parameter given here overrides its preset value.
    batch_size, n_train, n_eval, n_variance : int
    active_threshold : float
    active_on : {"std", "variance"}
    random_state : int, None or numpy Generator
        Seeds every draw; the same int gives bit-identical results.
    chunk_size : int
        Observations per call of the representation.
    encoding : {"auto", "table", "direct"}, default "auto"
        Where the codes come from: `"auto"` looks them up in a representation table (each distinct
        observation encoded once; [`dismetrics.table`][dismetrics.table]) when the data set is indexed and
        encodes the drawn observations otherwise; `"table"` requires a table, `"direct"` never uses one.
        A [`RepresentationTable`][dismetrics.table.RepresentationTable] given as `representation` is used
        as is. The values are the same either way for an encoder that maps each observation on its own;
        `params["encoding"]` records which path ran.
    progress : bool or None
        Progress bar; None shows it when stderr is a terminal.

    Returns
    -------
    MetricResult
        `value` is the eval accuracy; `details` hold `train_accuracy`, `eval_accuracy`,
        `num_active_dims`, `active_dims` (bool, d), `global_variances` (d), `train_votes`
        (len(factors), d: votes per fixed factor and dim), `classifier` (d: the factor index each dim
        predicts, -1 for inactive dims) and `factors`.

    Examples
    --------
    A representation that is the factors themselves: the least-varying dim is always the fixed factor's.

    >>> from dismetrics.data import FactorGrid
    >>> result = factor_vae_score(lambda x: x / 5.0, FactorGrid([4, 5, 6]), n_train=200, n_eval=100,
    ...                           n_variance=500, batch_size=16)
    >>> result.value, result.details["num_active_dims"], result.params["encoding"]
    (1.0, 3, 'table')
    """
    params = preset_params(
        preset,
        "factor_vae",
        batch_size=batch_size,
        n_train=n_train,
        n_eval=n_eval,
        n_variance=n_variance,
        active_threshold=active_threshold,
        active_on=active_on,
    )
    batch_size, sizes = check_sizes(batch_size=params["batch_size"], minimum_batch=2, group_factor=1,
                                    n_train=(params["n_train"], 1), n_eval=(params["n_eval"], 1),
                                    n_variance=(params["n_variance"], 2))
    n_train, n_eval, n_variance = sizes["n_train"], sizes["n_eval"], sizes["n_variance"]
    threshold = float(params["active_threshold"])
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"active_threshold must be a finite number >= 0; got {params['active_threshold']!r}.")
    active_on = check_choice(params["active_on"], name="active_on", choices=("std", "variance"))
    source = prepare(representation, sampler, encoding)
    subset = resolve_factor_subset(factors, sampler, minimum=1)
    rng = check_random_state(random_state)
    names = factor_names_of(sampler)

    variance_factors = sampler.sample_factors(n_variance, rng)
    codes = encode_points(
        source, variance_factors, rng, chunk_size=chunk_size, progress=progress,
        desc="FactorVAE variances",
    )
    global_variances = _global_variances(codes)
    spread = np.sqrt(global_variances) if active_on == "std" else global_variances
    # A dim of variance 0 is never active (with active_threshold=0 it would divide 0 by 0).
    active = (spread >= threshold) & (global_variances > 0)
    active_idx = np.flatnonzero(active)
    d = global_variances.size

    result_params = {
        "preset": preset,
        "batch_size": batch_size,
        "n_train": n_train,
        "n_eval": n_eval,
        "n_variance": n_variance,
        "active_threshold": threshold,
        "active_on": active_on,
        "factors": ",".join(names[k] for k in subset),
        "representation_mode": source.mode,
        "encoding": source.path,
        "random_state": describe_seed(random_state),
    }
    base_details = {"num_active_dims": int(active_idx.size), "active_dims": active, "global_variances": global_variances,
                    "factors": subset, "n_dims": int(d)}
    if active_idx.size == 0:
        return MetricResult(
            name="factor_vae",
            value=0.0,
            details={**base_details, "train_accuracy": 0.0, "eval_accuracy": 0.0,
                     "train_votes": np.zeros((subset.size, d), dtype=np.int64),
                     "classifier": np.full(d, -1, dtype=np.int64)},
            params=result_params,
        )

    def votes(n_votes: int, desc: str) -> np.ndarray:
        return _vote_matrix(source, sampler, subset, global_variances, active_idx, n_votes, batch_size, rng,
                            chunk_size=chunk_size, progress=progress, desc=desc)

    train_votes = votes(n_train, "FactorVAE train")
    predicted = np.argmax(train_votes, axis=0)  # (d,) position in subset, per dim
    columns = np.arange(d)
    train_accuracy = train_votes[predicted, columns].sum() / train_votes.sum()
    eval_votes = votes(n_eval, "FactorVAE eval")
    eval_accuracy = eval_votes[predicted, columns].sum() / eval_votes.sum()
    classifier = np.where(active, subset[predicted], -1)
    return MetricResult(
        name="factor_vae",
        value=float(eval_accuracy),
        details={**base_details, "train_accuracy": float(train_accuracy), "eval_accuracy": float(eval_accuracy),
                 "train_votes": train_votes, "classifier": classifier},
        params=result_params,
    )


SPEC = register_metric(MetricSpec(
    name="factor_vae", func=factor_vae_score, kind="intervention", title="FactorVAE score",
    aliases=("factor_vae_score",), random=True, takes_preset=True,
    presets={
        # active when sqrt(var) >= threshold, as disentanglement_lib
        "disentanglement_lib": {"batch_size": 64, "n_train": 10_000, "n_eval": 5_000, "n_variance": 10_000,
                                "active_threshold": 0.05, "active_on": "std"},
        # the WTC paper: 12,800 points for the variances, "collapsed" meaning variance < 0.05
        "wtc_paper": {"batch_size": 64, "n_train": 10_000, "n_eval": 5_000, "n_variance": 12_800,
                      "active_threshold": 0.05, "active_on": "variance"},
    },
    reference="Kim & Mnih 2018, as disentanglement_lib factor_vae.py", docs="factor_vae.md"))
