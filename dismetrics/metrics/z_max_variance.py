"""Z-max variance, the score of the Relevance Factor VAE paper (Kim, Wang, Sahu & Pavlovic 2019)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .._validation import check_random_state
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
from .registry import MetricSpec, register_metric

__all__ = ["z_max_variance"]


def _draw_votes(sampler, subset: np.ndarray, n_votes: int, batch_size: int, rng: np.random.Generator):
    """Varied factors (n_votes,) and groups (n_votes, batch_size, K): every factor but the varied one
    is fixed to one draw per group; the varied one is drawn uniformly for each member."""
    varied = subset[rng.integers(0, subset.size, size=n_votes)]
    draws = sampler.sample_factors(n_votes * batch_size, rng).reshape(n_votes, batch_size, -1)
    groups = np.repeat(draws[:, :1, :], batch_size, axis=1)
    rows = np.arange(n_votes)
    groups[rows, :, varied] = draws[rows, :, varied]
    return varied, groups


def z_max_variance(
    representation,
    sampler,
    *,
    factors: Sequence | None = None,
    batch_size: int = 200,
    n_train: int = 800,
    n_eval: int = 800,
    n_variance: int = 10000,
    std_threshold: float = 0.05,
    scale: bool = True,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    encoding: str = "auto",
    progress: bool | None = None,
) -> MetricResult:
    r"""Z-max variance: accuracy of a majority vote from "most-varying dim" to the one factor that varied.

    The mirror image of the FactorVAE score ([`factor_vae_score`][dismetrics.metrics.factor_vae.factor_vae_score]):
    there one factor is fixed and the least-varying dim votes; here every factor but one is fixed and the
    **most**-varying dim votes.

    1. Global variances $s_j^2$ (`np.var(ddof=1)`) of the codes of `n_variance` points; dim j is active
       when $s_j \ge$ `std_threshold`.
    2. One vote: draw a factor k uniformly (from `factors`), one base factor vector, and a group of
       `batch_size` points that share every factor of the base but k, whose values are drawn uniformly;
       encode; local variances $l_j$ (ddof=1); the vote is
       $(\arg\max_{j\ \mathrm{active}} l_j / s_j^2,\ k)$.
    3. Each dim predicts the factor it got most of the `n_train` training votes with (ties: the lowest
       factor index, `np.argmax`); accuracy $a$ on `n_eval` fresh votes.
    4. With `scale=True` (the source's default) the value is $(a - 1/K) / (1 - 1/K)$, K the number of
       factors that vary (so chance is 0 and the value can be negative); otherwise $a$.

    Defaults are those of the source, `z_max_var` in the Ubisoft La Forge review code (Carbonneau et al.
    2020): batch 200, 800 training and 800 evaluation votes, 10,000 points for the variances, threshold
    0.05 on the standard deviation, rescaled. That code builds its groups from a finite sample of
    (factors, codes) (continuous factors binned into 3 bins first); here they are drawn from the
    sampler's grid, which is that procedure on the full factorial data set.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation
    sampler : GroundTruthSampler
    factors : list of int or str, optional
        Restrict the varied factor to these (indices or names); default all.
    batch_size : int, default 200
    n_train : int, default 800
    n_eval : int, default 800
    n_variance : int, default 10000
    std_threshold : float, default 0.05
        A dim is active when its global standard deviation is at least this.
    scale : bool, default True
        Rescale the accuracy so that a random classifier scores 0.
    random_state : int, None or numpy Generator, default 0
        Seeds every draw; the same int gives bit-identical results.
    chunk_size : int, default 8192
        Observations per call of the representation.
    encoding : {"auto", "table", "direct"}, default "auto"
        Where the codes come from, as for [`factor_vae_score`][dismetrics.metrics.factor_vae.factor_vae_score]:
        a representation table when the data set is indexed (`"auto"`), always one (`"table"`), never
        (`"direct"`); `params["encoding"]` records which path ran.
    progress : bool or None, default None
        Progress bar; None shows it when stderr is a terminal.

    Returns
    -------
    MetricResult
        `value`: the (rescaled) eval accuracy; `details`: `train_accuracy`, `eval_accuracy` (both raw),
        `num_active_dims`, `active_dims` (d, bool), `global_variances` (d), `train_votes`
        (len(factors), d), `classifier` (d: factor each dim predicts, -1 for inactive dims), `factors`.
        No active dim: value 0 (the source raises an error).

    References
    ----------
    Kim, Wang, Sahu & Pavlovic, "Relevance Factor VAE: Learning and identifying disentangled factors",
    arXiv:1902.01568 (2019). Carbonneau, Zaidi, Boilard & Gagnon, "Measuring disentanglement: a review of
    metrics" (2020), code ubisoft/ubisoft-laforge-disentanglement-metrics, src/metrics/z_max_var.py.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> from dismetrics.metrics.z_max_variance import z_max_variance
    >>> grid = FactorGrid([3, 4, 5])
    >>> z_max_variance(lambda x: np.asarray(x, float), grid, n_train=100, n_eval=100, n_variance=500).value
    1.0
    """
    batch_size, sizes = check_sizes(batch_size=batch_size, minimum_batch=2, group_factor=1,
                                    n_train=(n_train, 1), n_eval=(n_eval, 1), n_variance=(n_variance, 2))
    n_train, n_eval, n_variance = sizes["n_train"], sizes["n_eval"], sizes["n_variance"]
    threshold = float(std_threshold)
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"std_threshold must be a finite number >= 0; got {std_threshold!r}.")
    if not isinstance(scale, (bool, np.bool_)):
        raise ValueError(f"scale must be True or False; got {scale!r}.")
    source = prepare(representation, sampler, encoding)
    subset = resolve_factor_subset(factors, sampler, minimum=2 if scale else 1)
    rng = check_random_state(random_state)
    names = factor_names_of(sampler)

    codes = encode_points(source, sampler.sample_factors(n_variance, rng), rng,
                          chunk_size=chunk_size, progress=progress, desc="Z-max variances")
    with np.errstate(over="ignore", invalid="ignore"):
        global_variances = np.var(codes, axis=0, ddof=1)
    if not np.isfinite(global_variances).all():
        dims = np.flatnonzero(~np.isfinite(global_variances)).tolist()
        raise ValueError(f"representation returned codes whose variance overflows float64 in dim(s) {dims}; "
                         "rescale the representation's output.")
    active = (np.sqrt(global_variances) >= threshold) & (global_variances > 0)
    active_idx = np.flatnonzero(active)
    d = global_variances.size
    result_params = {
        "batch_size": batch_size, "n_train": n_train, "n_eval": n_eval, "n_variance": n_variance,
        "std_threshold": threshold, "scale": bool(scale), "factors": ",".join(names[k] for k in subset),
        "representation_mode": source.mode, "encoding": source.path, "random_state": describe_seed(random_state),
    }
    base = {"num_active_dims": int(active_idx.size), "active_dims": active, "global_variances": global_variances,
            "factors": subset}
    if active_idx.size == 0:
        return MetricResult(name="z_max_variance", value=0.0,
                            details={**base, "train_accuracy": 0.0, "eval_accuracy": 0.0,
                                     "train_votes": np.zeros((subset.size, d), dtype=np.int64),
                                     "classifier": np.full(d, -1, dtype=np.int64)},
                            params=result_params)
    global_active = global_variances[active_idx]

    def argmax_dims(group_codes: np.ndarray) -> np.ndarray:  # (c, B, d) -> (c,)
        local = np.var(group_codes[:, :, active_idx], axis=1, ddof=1)
        return active_idx[np.argmax(local / global_active, axis=1)]

    position = np.full(len(sampler.factor_sizes), -1, dtype=np.int64)
    position[subset] = np.arange(subset.size)

    def votes(n_votes: int, desc: str) -> np.ndarray:
        varied, groups = _draw_votes(sampler, subset, n_votes, batch_size, rng)
        dims = encode_groups(source, groups, rng, argmax_dims, chunk_size=chunk_size,
                             progress=progress, desc=desc)
        matrix = np.zeros((subset.size, d), dtype=np.int64)
        np.add.at(matrix, (position[varied], dims), 1)
        return matrix

    train_votes = votes(n_train, "Z-max train")
    predicted = np.argmax(train_votes, axis=0)
    columns = np.arange(d)
    train_accuracy = float(train_votes[predicted, columns].sum() / train_votes.sum())
    eval_votes = votes(n_eval, "Z-max eval")
    eval_accuracy = float(eval_votes[predicted, columns].sum() / eval_votes.sum())
    value = eval_accuracy
    if scale:
        chance = 1.0 / subset.size
        value = (eval_accuracy - chance) / (1.0 - chance)
    return MetricResult(
        name="z_max_variance",
        value=float(value),
        details={**base, "train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy,
                 "train_votes": train_votes, "classifier": np.where(active, subset[predicted], -1)},
        params=result_params,
    )


SPEC = register_metric(MetricSpec(
    name="z_max_variance", in_all=False, func=z_max_variance, kind="intervention", title="Z-max variance (RF-VAE)",
    aliases=("z_max_var", "rf_vae_score"), random=True, value_range=(-1.0, 1.0),
    reference="Kim et al. 2019 (RF-VAE); ubisoft/ubisoft-laforge-disentanglement-metrics "
              "src/metrics/z_max_var.py@05d5667c129bc1445c343a651d26ccd2926fdde6",
    docs="z_max_variance.md"))
