"""Chen et al.'s original MIG: mutual information from samples of q(z|x) over the whole factorial data set.

Chen, Li, Grosse and Duvenaud, "Isolating Sources of Disentanglement in VAEs" (NeurIPS 2018), Sec. 5, as
computed by their code (rtqichen/beta-tcvae, `disentanglement_metrics.py` and `metric_helpers/mi_metric.py`,
MIT licence). Unlike [`mig`][dismetrics.metrics.mig.mig] (disentanglement_lib's: histograms of the means of
10,000 random points), this estimator reads the encoder's distribution q(z|x) on every point of the grid.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numpy as np

from .._kernels.qz import gaussian_logsumexp
from .._progress import progress_bar
from .._validation import MAX_SAMPLES, as_real_array, check_positive_int, check_random_state
from ..result import MetricResult
from ._intervention import DEFAULT_CHUNK_SIZE, describe_seed, prepare, resolve_factor_subset
from .registry import MetricSpec, register_metric

__all__ = ["chen_mig", "chen_mig_from_params", "encode_grid_posterior", "check_encoded_posterior"]

_LOG_2PI = math.log(2.0 * math.pi)
_MAX_LOGVAR = 700.0


def _check_sizes(factor_sizes) -> tuple[int, ...]:
    if isinstance(factor_sizes, (str, bytes)) or not hasattr(factor_sizes, "__len__"):
        raise ValueError(f"factor_sizes must be a sequence of integers >= 2; got {factor_sizes!r}.")
    sizes = []
    for size in factor_sizes:
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or int(size) < 2:
            raise ValueError(f"factor_sizes must be a sequence of integers >= 2 (values per factor); "
                             f"got {list(factor_sizes)}.")
        sizes.append(int(size))
    if not sizes:
        raise ValueError("factor_sizes must name at least one factor.")
    total = math.prod(sizes)
    if total > MAX_SAMPLES:
        raise ValueError(f"the factor grid {sizes} has {total:,} points, more than the {MAX_SAMPLES:,} this "
                         "estimator holds at once (dismetrics._validation.MAX_SAMPLES).")
    return tuple(sizes)


def _check_subset(factors, num_factors: int) -> np.ndarray:
    if factors is None:
        return np.arange(num_factors, dtype=np.int64)
    items = [factors] if isinstance(factors, numbers.Integral) else list(factors)
    subset = []
    for item in items:
        if not isinstance(item, numbers.Integral) or isinstance(item, bool) or not 0 <= int(item) < num_factors:
            raise ValueError(f"factors must hold factor indices in [0, {num_factors}); got {items}.")
        subset.append(int(item))
    if not subset:
        raise ValueError("factors must select at least one factor.")
    return np.asarray(sorted(set(subset)), dtype=np.int64)


def _check_params(array, *, name: str, shape: tuple[int, ...] | None) -> np.ndarray:
    arr = as_real_array(array, name=name, expected="a 2-D array (n_points, n_dims)")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_points, n_dims); got shape {arr.shape}.")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}.")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        row = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"{name} contains NaN or infinite values (first at row {row}).")
    return arr


def check_encoded_posterior(means: np.ndarray, logvars: np.ndarray, *, metric: str, min_dims: int = 2) -> None:
    """The encoder's `(mean, logvar)` on the grid, checked before an estimator runs, with messages that name
    the argument they came from (`representation`), not the estimator's own `means`/`logvars`."""
    if means.shape[1] < min_dims:
        raise ValueError(f"representation: {metric} needs codes of at least {min_dims} dims (a gap compares two); "
                         f"the encoder returns {means.shape[1]}.")
    worst = float(np.abs(logvars).max()) if logvars.size else 0.0
    if worst > _MAX_LOGVAR:
        raise ValueError(f"representation: {metric} needs log-variances in [-{_MAX_LOGVAR:g}, {_MAX_LOGVAR:g}] "
                         f"(variances between 1e-304 and 1e304, whose inverses are finite); the encoder returns values "
                         f"up to {worst:.4g} in magnitude.")


def _slice(array_t: np.ndarray, sizes: tuple[int, ...], factor: int, value: int) -> np.ndarray:
    """Columns of a (d, N) grid-ordered array whose factor `factor` equals `value`, in grid (C) order."""
    d = array_t.shape[0]
    return np.ascontiguousarray(np.take(array_t.reshape((d,) + sizes), value, axis=1 + factor).reshape(d, -1))


def _entropy(samples_t, mean_t, half_precision_t, const_t, n_samples: int, rng) -> np.ndarray:
    """(d,) estimate of H(z_j) = E[-log q(z_j)] from the samples of a random subset of the points."""
    n = mean_t.shape[1]
    chosen = rng.permutation(n)[:n_samples]
    lse = gaussian_logsumexp(np.ascontiguousarray(samples_t[:, chosen].T), mean_t, half_precision_t, const_t)
    return np.mean(math.log(n) - lse, axis=0)


def chen_mig_from_params(
    means,
    logvars,
    factor_sizes: Sequence[int],
    *,
    factors: Sequence[int] | None = None,
    n_samples: int = 10_000,
    samples=None,
    random_state=0,
    progress: bool | None = None,
) -> MetricResult:
    r"""Chen et al.'s MIG from the encoder's Gaussian parameters on the whole factor grid.

    The arrays hold one row per point of the full factorial grid of `factor_sizes`, in grid order (C
    order: the last factor varies fastest, as `np.ndindex(*factor_sizes)`). With
    $q(z_j) = \frac1N \sum_n \mathcal N(z_j; \mu_{nj}, \sigma_{nj}^2)$ over all $N$ points:

    $$
    H(z_j) = \frac1S \sum_{s} \Big(\log N - \operatorname{logsumexp}_n \log \mathcal N(z_{sj}; \mu_{nj},
    \sigma_{nj}^2)\Big), \qquad
    H(z_j \mid v_k) = \frac{1}{m_k} \sum_{u=0}^{m_k-1} H(z_j)\big|_{\text{points with } v_k = u}
    $$

    where $z_s$ is the one sample of $q(z \mid x_s)$ drawn for each point, and each entropy averages over
    a random subset of at most `n_samples` of the samples of its points (without replacement) while the
    logsumexp runs over all points of the grid (or of the slice $v_k = u$). Then
    $I_{jk} = H(z_j) - H(z_j \mid v_k)$, sorted in decreasing order over $j$ and clamped at 0,
    normalized by $H(v_k) = \log m_k$, and $\mathrm{MIG} = \frac1K \sum_k (\tilde I_{(1)k} - \tilde I_{(2)k})$.

    This is `estimate_entropies` / `mutual_info_metric_shapes` / `compute_metric_shapes` of
    rtqichen/beta-tcvae (commit 1a3577d), step for step, in float64 (the source runs in float32 on a GPU).
    The random draws are numpy's, in this order, from `random_state`: the samples
    `means + exp(logvars / 2) * rng.standard_normal((N, d))` (unless `samples` is given); then
    `rng.permutation(N)[:n_samples]` for the marginal; then, for each selected factor k in increasing
    order and each value u = 0, ..., m_k - 1, `rng.permutation(N / m_k)[:n_samples]` indexing that slice's
    points in grid order.

    Parameters
    ----------
    means : array (N, d)
        Encoder means of every grid point, N = prod(factor_sizes), d >= 2.
    logvars : array (N, d)
        Encoder log-variances (natural log of sigma^2; Chen's code stores log sigma, half of this).
    factor_sizes : sequence of int
        Number of values of each factor (each >= 2), in grid order.
    factors : sequence of int or None, default None
        Indices of the factors that enter the mean (None: all). Chen's dSprites number leaves out shape:
        `factors=[1, 2, 3, 4]` (scale, orientation, x, y).
    n_samples : int, default 10000
        Samples per entropy estimate (the source's `n_samples=10000`); a slice with fewer points uses
        all of them.
    samples : array (N, d) or None, default None
        The samples of q(z|x) to use; None draws them from `random_state`.
    random_state : int, None or numpy Generator, default 0
    progress : bool or None, default None
        A progress bar over the entropy estimates (None: when stderr is a terminal).

    Returns
    -------
    MetricResult
        `value` is the MIG; `details` holds `mi_matrix` (d, K_sel, nats, before clamping),
        `normalized_mi` (d, K_sel, clamped and divided by log m_k), `marginal_entropy` (d),
        `conditional_entropy` (d, K_sel), `factor_entropy` (K_sel, log m_k), `gap_per_factor`,
        `top_dim_per_factor`, `second_dim_per_factor` and `factors` (the selected indices).

    References
    ----------
    R. T. Q. Chen, X. Li, R. Grosse, D. Duvenaud. Isolating Sources of Disentanglement in Variational
    Autoencoders. NeurIPS 2018, Sec. 5 (MIG), Appendix (estimator). Code: github.com/rtqichen/beta-tcvae.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.chen_mig import chen_mig_from_params
    >>> grid = np.array(list(np.ndindex(4, 3)), dtype=float)        # 12 points, factor 0 then factor 1
    >>> means = np.column_stack([grid, np.zeros(12)])                # dims 0, 1 copy the factors; dim 2 is 0
    >>> logvars = np.full((12, 3), np.log(0.25))                      # sigma = 0.5
    >>> result = chen_mig_from_params(means, logvars, [4, 3], random_state=0)
    >>> round(float(result), 3)
    0.623
    >>> result.details["top_dim_per_factor"].tolist()
    [0, 1]
    """
    sizes = _check_sizes(factor_sizes)
    n_points = math.prod(sizes)
    means = _check_params(means, name="means", shape=None)
    if means.shape[0] != n_points:
        raise ValueError(f"means must have one row per point of the factor grid {list(sizes)}, "
                         f"{n_points:,} rows in grid order; got {means.shape[0]:,}.")
    d = means.shape[1]
    if d < 2:
        raise ValueError(f"means needs at least 2 dimensions (a gap needs two); got {d}.")
    logvars = _check_params(logvars, name="logvars", shape=means.shape)
    if np.abs(logvars).max() > _MAX_LOGVAR:
        raise ValueError(f"logvars must lie in [-{_MAX_LOGVAR:g}, {_MAX_LOGVAR:g}] (variances between 1e-304 and "
                         f"1e304, whose inverses are finite); got values up to {np.abs(logvars).max():.4g} "
                         "in magnitude.")
    subset = _check_subset(factors, len(sizes))
    n_samples = check_positive_int(n_samples, name="n_samples", maximum=MAX_SAMPLES)
    rng = check_random_state(random_state)
    samples_given = samples is not None
    if samples is None:
        samples = means + np.exp(0.5 * logvars) * rng.standard_normal(means.shape)
    else:
        samples = _check_params(samples, name="samples", shape=means.shape)

    mean_t = np.ascontiguousarray(means.T)
    half_precision_t = np.ascontiguousarray(0.5 * np.exp(-logvars.T))
    const_t = np.ascontiguousarray(-0.5 * (logvars.T + _LOG_2PI))
    samples_t = np.ascontiguousarray(samples.T)

    tasks = [(None, None)] + [(int(k), u) for k in subset for u in range(sizes[k])]
    marginal = np.empty(d)
    conditional = np.zeros((d, subset.size))
    for factor, value in progress_bar(tasks, total=len(tasks), desc="chen_mig", progress=progress):
        if factor is None:
            marginal[:] = _entropy(samples_t, mean_t, half_precision_t, const_t, n_samples, rng)
            continue
        column = int(np.searchsorted(subset, factor))
        conditional[:, column] += _entropy(
            _slice(samples_t, sizes, factor, value), _slice(mean_t, sizes, factor, value),
            _slice(half_precision_t, sizes, factor, value), _slice(const_t, sizes, factor, value), n_samples, rng,
        ) / sizes[factor]

    mi = marginal[:, None] - conditional
    factor_entropy = np.log(np.asarray([sizes[k] for k in subset], dtype=np.float64))
    normalized = np.maximum(mi, 0.0) / factor_entropy
    order = np.argsort(-normalized, axis=0, kind="stable")
    columns = np.arange(subset.size)
    gaps = normalized[order[0], columns] - normalized[order[1], columns]
    return MetricResult(
        name="chen_mig",
        value=float(np.mean(gaps)),
        details={
            "mi_matrix": mi,
            "normalized_mi": normalized,
            "marginal_entropy": marginal,
            "conditional_entropy": conditional,
            "factor_entropy": factor_entropy,
            "gap_per_factor": gaps,
            "top_dim_per_factor": order[0],
            "second_dim_per_factor": order[1],
            "factors": subset,
        },
        params={"n_samples": n_samples, "n_points": n_points, "factor_sizes": list(sizes),
                "factors": subset.tolist(), "random_state": describe_seed(random_state),
                "estimator": "qzx_logsumexp", "samples_given": samples_given},
    )


def encode_grid_posterior(source, sizes, rng: np.random.Generator, *, chunk_size: int, progress, metric: str,
                          hint: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Means and log-variances of every point of the factor grid of `sizes`, in grid (C) order, encoded chunk
    by chunk through `source` (an encoding of `dismetrics.metrics._intervention.prepare`: a
    representation table where there is one). An encoder without log-variances is refused, naming `metric`
    (`hint` says what to use instead)."""
    n_points = math.prod(sizes)
    grid = np.column_stack(np.unravel_index(np.arange(n_points), sizes)).astype(np.int64)  # C (grid) order
    mean_chunks: list[np.ndarray] = []
    logvar_chunks: list[np.ndarray] = []
    for mean, logvar in source.chunks(grid, rng, chunk_size=chunk_size, progress=progress, desc=f"{metric}: encode"):
        if logvar is None:
            raise ValueError(f"representation: {metric} needs an encoder that returns (mean, logvar); "
                             f"{source.representation.name!r} returns codes only{hint}.")
        mean_chunks.append(mean)
        logvar_chunks.append(logvar)
    return np.concatenate(mean_chunks), np.concatenate(logvar_chunks)


def chen_mig(
    representation,
    sampler,
    *,
    factors: Sequence | None = None,
    n_samples: int = 10_000,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    encoding: str = "auto",
    progress: bool | None = None,
) -> MetricResult:
    r"""Chen et al.'s MIG: encode every point of the factor grid, then the q(z|x) estimator.

    Every point of the sampler's full factorial grid is encoded once (in chunks of `chunk_size`
    observations, or read from a representation table, see `encoding`), the representation must return
    `(mean, logvar)`, and the estimator of
    [`chen_mig_from_params`][dismetrics.metrics.chen_mig.chen_mig_from_params] runs on the result.
    The observations are made with the same generator that then draws the estimator's samples, so for
    a sampler whose observations need no randomness, `chen_mig(rep, sampler, random_state=s)` equals
    `chen_mig_from_params(means, logvars, sampler.factor_sizes, random_state=s)` on the encoded grid.

    Cost: one logsumexp over all N points per sample and dim for the marginal, and over N / m_k points for
    each of the m_k slices of each factor: about (1 + K) x 10,000 x N x d Gaussian log-densities (3.7e11
    on dSprites, 737,280 points, 4 factors, d = 10; the source runs it on a GPU).

    Parameters
    ----------
    representation : callable, torch module, model dir, Representation or RepresentationTable
        Anything [`as_representation`][dismetrics.representation.as_representation] takes, or a
        representation table; its encoder must return `(mean, logvar)`.
    sampler : GroundTruthSampler
        Has `factor_sizes` and `sample_observations_from_factors`; its whole grid is encoded.
    factors : sequence of int or str, or None, default None
        Factors (indices or names) that enter the mean; None: all. Chen et al.'s dSprites number
        leaves out shape: `factors=["scale", "orientation", "posX", "posY"]` (the names of
        `dismetrics.data.DSprites`), i.e. `factors=[1, 2, 3, 4]`.
    n_samples : int, default 10000
        Samples per entropy estimate (the source's default).
    random_state : int, None or numpy Generator, default 0
    chunk_size : int, default 8192
        Observations per call of the encoder.
    encoding : {"auto", "table", "direct"}, default "auto"
        How the grid's observations become codes, as for the other intervention metrics (see
        `dismetrics.table.resolve_encoding`): a given representation table is read, `"direct"` encodes
        the observations.
    progress : bool or None, default None

    Returns
    -------
    MetricResult
        As [`chen_mig_from_params`][dismetrics.metrics.chen_mig.chen_mig_from_params].

    References
    ----------
    R. T. Q. Chen et al. Isolating Sources of Disentanglement in Variational Autoencoders. NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import FactorGrid
    >>> from dismetrics.metrics.chen_mig import chen_mig
    >>> sampler = FactorGrid([4, 3])          # observations are the factor indices
    >>> def encoder(x):
    ...     return np.column_stack([x, np.zeros(len(x))]), np.full((len(x), 3), np.log(0.25))
    >>> round(float(chen_mig(encoder, sampler, random_state=0)), 3)
    0.623
    """
    source = prepare(representation, sampler, encoding)
    sizes = _check_sizes(sampler.factor_sizes)
    subset = resolve_factor_subset(factors, sampler)
    step = check_positive_int(chunk_size, name="chunk_size")
    rng = check_random_state(random_state)
    means, logvars = encode_grid_posterior(source, sizes, rng, chunk_size=step, progress=progress, metric="chen_mig")
    check_encoded_posterior(means, logvars, metric="chen_mig")
    result = chen_mig_from_params(means, logvars, sizes,
                                  factors=subset.tolist(), n_samples=n_samples, random_state=rng,
                                  progress=progress)
    params = dict(result.params, random_state=describe_seed(random_state), chunk_size=step, encoding=source.path)
    return MetricResult(name=result.name, value=result.value, details=result.details, params=params)


SPEC = register_metric(MetricSpec(
    name="chen_mig", in_all=False, func=chen_mig, kind="intervention", title="MIG (Chen et al., q(z|x))",
    aliases=("mig_qzx",), random=True,
    reference="Chen et al. 2018, Sec. 5; rtqichen/beta-tcvae disentanglement_metrics.py@1a3577d",
    docs="chen_mig.md"))
