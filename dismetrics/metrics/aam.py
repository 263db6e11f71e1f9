"""AAM, the axis-alignment metric of Dubois et al.'s disentangling-vae (disvae/evaluate.py)."""

from __future__ import annotations

import math

import numpy as np

from .._kernels.qz import gaussian_logsumexp
from .._progress import progress_bar
from .._validation import MAX_SAMPLES, check_bins, check_choice, check_codes_and_factors, check_positive_int, \
    check_random_state
from ..result import MetricResult
from ._histogram import discrete_mutual_info
from ._intervention import DEFAULT_CHUNK_SIZE, describe_seed, prepare
from .chen_mig import chen_mig_from_params, check_encoded_posterior, encode_grid_posterior
from .registry import MetricSpec, register_metric

__all__ = ["aam", "aam_binned", "aam_from_mutual_info", "disvae_code_mutual_info", "AAM_ESTIMATORS"]

AAM_ESTIMATORS = ("qzx", "disvae_code")
"""How `aam` estimates the mutual information from the encoder's q(z|x) on the whole grid."""

DISVAE_COMMIT = "f0452191bab6d94eba0b4e6a065f74dcfd54ac52"
_LOG_2PI = math.log(2.0 * math.pi)


def aam_from_mutual_info(mi_matrix) -> np.ndarray:
    r"""Per-factor AAM from a (d, K) mutual-information matrix (code dims x factors).

    For factor k, with its column sorted in decreasing order and clipped at 0,
    $I_{(1)k} \ge I_{(2)k} \ge \dots$:

    $$
    \mathrm{AAM}_k = \frac{\max\big(0,\ I_{(1)k} - \sum_{j \ge 2} I_{(j)k}\big)}{I_{(1)k}}
    \quad (0 \text{ where } I_{(1)k} = 0).
    $$

    Parameters
    ----------
    mi_matrix : array of shape (d, K)

    Returns
    -------
    ndarray of shape (K,)

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.aam import aam_from_mutual_info
    >>> aam_from_mutual_info(np.array([[1.0, 0.2], [0.25, 0.0], [0.25, 0.3]]))
    array([0.5       , 0.33333333])
    """
    mi = np.asarray(mi_matrix, dtype=np.float64)
    if mi.ndim != 2 or mi.shape[0] < 1 or mi.shape[1] < 1:
        raise ValueError(f"mi_matrix must be a (d, K) array with d, K >= 1; got shape {mi.shape}.")
    if not np.isfinite(mi).all():
        raise ValueError("mi_matrix must be finite.")
    ordered = np.clip(-np.sort(-mi, axis=0), 0.0, None)
    top = ordered[0]
    numerator = np.clip(top - ordered[1:].sum(axis=0), 0.0, None)
    out = np.zeros(mi.shape[1])
    positive = top > 0
    out[positive] = numerator[positive] / top[positive]
    return out


def aam_binned(codes, factors, *, bins: int = 20) -> MetricResult:
    r"""AAM from a sample of codes and factors, with the histogram MI of MIG.

    With $M_{ik} = I(z_i; v_k)$ the mutual information between code dim i and factor k,
    $\mathrm{AAM} = \frac{1}{K} \sum_k \mathrm{AAM}_k$ with
    $\mathrm{AAM}_k = \max(0, M_{(1)k} - \sum_{j \ge 2} M_{(j)k}) / M_{(1)k}$ (0 when the factor has no
    information in any dim); see
    [`aam_from_mutual_info`][dismetrics.metrics.aam.aam_from_mutual_info]. 1 when each factor is in
    one dim only; unlike MIG it counts all the other dims, not only the second best.

    The formula is disvae's `Evaluator._axis_aligned_metric` exactly; the MI matrix is the histogram MI
    of [`mig`][dismetrics.metrics.mig.mig] (each code dim in `bins` equal-width bins; plug-in MI in
    nats; 10,000 points and 20 bins in the disentanglement_lib convention). For codes without an
    encoder. disvae's own MI comes from the encoder's q(z|x) on the whole grid: that is
    [`aam`][dismetrics.metrics.aam.aam]; the two MI estimates and so the two AAMs differ.

    Parameters
    ----------
    codes : array of shape (n, d)
    factors : array of shape (n, K)
    bins : int, default 20

    Returns
    -------
    MetricResult
        `value`: the mean AAM; `details`: `aam_per_factor` (K), `mi_matrix` (d, K),
        `top_dim_per_factor` (K).

    References
    ----------
    Y. Dubois et al., disentangling-vae (MIT licence), disvae/evaluate.py
    (commit f0452191bab6d94eba0b4e6a065f74dcfd54ac52), `_axis_aligned_metric`.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.aam import aam_binned
    >>> factors = np.random.default_rng(0).integers(0, 4, size=(1000, 2))
    >>> round(aam_binned(factors.astype(float), factors).value, 2)
    1.0
    """
    codes, factors = check_codes_and_factors(codes, factors)
    bins = check_bins(bins)
    info = discrete_mutual_info(codes, factors, bins)
    per_factor = aam_from_mutual_info(info.matrix)
    return MetricResult(
        name="aam_binned",
        value=float(per_factor.mean()),
        details={"aam_per_factor": per_factor, "mi_matrix": info.matrix,
                 "top_dim_per_factor": np.argmax(info.matrix, axis=0)},
        params={"bins": bins, "n_samples": int(codes.shape[0]), "mutual_info": "histogram_minmax"},
    )


def disvae_code_mutual_info(means, logvars, factor_sizes, *, n_samples: int = 10000, random_state=0,
                            progress: bool | None = None) -> np.ndarray:
    r"""The (d, K) MI matrix exactly as disvae's released `Evaluator.compute_metrics` computes it.

    Its two departures from Chen et al.'s estimator (disentangling-vae issues #64 and #78) are kept:
    the "samples" of q(z|x) are the encoder **means** (`reparameterize` returns the mean in eval mode),
    and the `n_samples` selected rows $X$ (S, d) are reshaped, not transposed, to (d, S)
    (`.view(latent_dim, n_samples)`): dim j is evaluated at the values `X.reshape(-1)[j*S:(j+1)*S]`, which
    mix the dims of several points. Each entropy estimate draws `rng.permutation(N)[:n_samples]` over its
    N points (the marginal first, then each factor k in order and each value u in order; a slice with
    fewer than `n_samples` points uses all of them, where disvae fails), and
    $H = \frac1S \sum_s (\log N - \operatorname{logsumexp}_n \log \mathcal N(x_{sj}; \mu_{nj}, \sigma^2_{nj}))$;
    $H(z_j \mid v_k) = \frac1{m_k} \sum_u H$ on the slice $v_k = u$; $M = H(z) - H(z \mid v)$.

    Parameters
    ----------
    means, logvars : arrays (N, d)
        The encoder's parameters on every grid point, in grid (C) order.
    factor_sizes : sequence of int
    n_samples : int, default 10000
    random_state : int, None or numpy Generator, default 0
    progress : bool or None, default None

    Returns
    -------
    ndarray of shape (d, K)
    """
    sizes = tuple(int(s) for s in factor_sizes)
    means = np.asarray(means, dtype=np.float64)
    logvars = np.asarray(logvars, dtype=np.float64)
    n_points, d = means.shape
    if n_points != math.prod(sizes) or logvars.shape != means.shape:
        raise ValueError(f"means and logvars must be ({math.prod(sizes)}, d) arrays over the grid {list(sizes)}; "
                         f"got {means.shape} and {logvars.shape}.")
    rng = check_random_state(random_state)
    n_samples = check_positive_int(n_samples, name="n_samples", maximum=MAX_SAMPLES)
    grid_means = means.reshape(sizes + (d,))
    grid_logvars = logvars.reshape(sizes + (d,))

    def entropy(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        n = mu.shape[0]
        chosen = rng.permutation(n)[:n_samples]
        scrambled = np.ascontiguousarray(mu[chosen].reshape(d, -1).T)  # torch .view(d, S), read per dim
        lse = gaussian_logsumexp(scrambled, np.ascontiguousarray(mu.T), np.ascontiguousarray(0.5 * np.exp(-logvar.T)),
                                 np.ascontiguousarray(-0.5 * (logvar.T + _LOG_2PI)))
        return np.mean(math.log(n) - lse, axis=0)

    tasks = [(None, None)] + [(k, u) for k in range(len(sizes)) for u in range(sizes[k])]
    marginal = np.empty(d)
    conditional = np.zeros((d, len(sizes)))
    for factor, value in progress_bar(tasks, total=len(tasks), desc="aam (disvae code)", progress=progress):
        if factor is None:
            marginal[:] = entropy(means, logvars)
            continue
        mu = np.take(grid_means, value, axis=factor).reshape(-1, d)
        logvar = np.take(grid_logvars, value, axis=factor).reshape(-1, d)
        conditional[:, factor] += entropy(mu, logvar) / sizes[factor]
    return marginal[:, None] - conditional


def aam(
    representation,
    sampler,
    *,
    estimator: str = "qzx",
    n_samples: int = 10000,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    encoding: str = "auto",
    progress: bool | None = None,
) -> MetricResult:
    r"""Axis-alignment metric (AAM): how much of each factor's information sits in its single best code dim.

    With $M_{jk} = I(z_j; v_k)$ estimated from the encoder's $q(z \mid x)$ on every point of the
    sampler's factor grid, $\mathrm{AAM} = \frac1K \sum_k \mathrm{AAM}_k$ with
    $\mathrm{AAM}_k = \max(0, M_{(1)k} - \sum_{j \ge 2} M_{(j)k}) / M_{(1)k}$ (the column sorted and
    clipped at 0; 0 when the factor has no information), see
    [`aam_from_mutual_info`][dismetrics.metrics.aam.aam_from_mutual_info]: disvae's
    `_axis_aligned_metric`, over all factors.

    The MI, `estimator=`:

    * `"qzx"` (default): Chen et al.'s estimator, which disvae's code means to compute: one sample of
      $q(z \mid x)$ per grid point, entropies by logsumexp over the Gaussian mixture
      (the MI matrix of [`chen_mig_from_params`][dismetrics.metrics.chen_mig.chen_mig_from_params], all
      factors, `n_samples` samples per entropy);
    * `"disvae_code"`: the released code's numbers: encoder means instead of samples and its reshape of
      the selected samples (see [`disvae_code_mutual_info`][dismetrics.metrics.aam.disvae_code_mutual_info]).
      Use it only to compare with numbers made by disentangling-vae.

    The encoder must return `(mean, logvar)`. Cost: as Chen's MIG, about (1 + sum_k m_k) x `n_samples` x
    N_slice x d Gaussian log-densities (heavy on dSprites' 737,280 points: the source runs it on a GPU).

    Parameters
    ----------
    representation : callable, torch.nn.Module, Representation or RepresentationTable
        Its encoder returns `(mean, logvar)`.
    sampler : GroundTruthSampler
        Its whole factor grid is encoded.
    estimator : {"qzx", "disvae_code"}, default "qzx"
    n_samples : int, default 10000
        Samples per entropy estimate (disvae's and Chen's default).
    random_state : int, None or numpy Generator, default 0
    chunk_size : int, default 8192
        Observations per call of the encoder.
    encoding : {"auto", "table", "direct"}, default "auto"
        As for [`factor_vae_score`][dismetrics.metrics.factor_vae.factor_vae_score].
    progress : bool or None, default None

    Returns
    -------
    MetricResult
        `value`: the mean AAM; `details`: `aam_per_factor` (K), `mi_matrix` (d, K, before clipping),
        `top_dim_per_factor` (K).

    References
    ----------
    Y. Dubois et al., disentangling-vae (MIT licence), disvae/evaluate.py (commit f0452191),
    `compute_metrics` and `_axis_aligned_metric`. Chen et al., NeurIPS 2018 (the MI estimator).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> from dismetrics.metrics.aam import aam
    >>> def encoder(x):                       # one dim per factor, sigma = 0.1, and a dim of pure prior
    ...     x = np.asarray(x, float)
    ...     variances = np.column_stack([np.full(x.shape, 0.01), np.ones(len(x))])
    ...     return np.column_stack([x, np.zeros(len(x))]), np.log(variances)
    >>> round(aam(encoder, FactorGrid([4, 3])).value, 2)
    1.0
    """
    estimator = check_choice(estimator, name="estimator", choices=AAM_ESTIMATORS)
    n_samples = check_positive_int(n_samples, name="n_samples", maximum=MAX_SAMPLES)
    source = prepare(representation, sampler, encoding)
    step = check_positive_int(chunk_size, name="chunk_size")
    rng = check_random_state(random_state)
    sizes = tuple(int(s) for s in sampler.factor_sizes)
    n_points = math.prod(sizes)
    if n_points > MAX_SAMPLES:
        raise ValueError(f"aam encodes the whole factor grid; {n_points:,} points is more than "
                         f"{MAX_SAMPLES:,} (dismetrics._validation.MAX_SAMPLES).")
    means, logvars = encode_grid_posterior(source, sizes, rng, chunk_size=step, progress=progress, metric="aam",
                                           hint=" (for codes alone use aam_binned)")
    check_encoded_posterior(means, logvars, metric=f"aam (estimator={estimator!r})",
                            min_dims=2 if estimator == "qzx" else 1)
    if estimator == "qzx":
        mi = chen_mig_from_params(means, logvars, sizes, n_samples=n_samples, random_state=rng,
                                  progress=progress).details["mi_matrix"]
    else:
        mi = disvae_code_mutual_info(means, logvars, sizes, n_samples=n_samples, random_state=rng, progress=progress)
    per_factor = aam_from_mutual_info(mi)
    return MetricResult(
        name="aam",
        value=float(per_factor.mean()),
        details={"aam_per_factor": per_factor, "mi_matrix": mi, "top_dim_per_factor": np.argmax(mi, axis=0)},
        params={"estimator": estimator, "n_samples": n_samples, "n_points": n_points, "chunk_size": step,
                "encoding": source.path, "random_state": describe_seed(random_state)},
    )


SPEC = register_metric(MetricSpec(
    name="aam", in_all=False, func=aam, kind="intervention", title="AAM (axis alignment)", random=True,
    reference=f"YannDubs/disentangling-vae disvae/evaluate.py@{DISVAE_COMMIT} (compute_metrics, "
              "_axis_aligned_metric); MI: Chen et al.'s q(z|x) estimator",
    docs="aam.md"))

SPEC_BINNED = register_metric(MetricSpec(
    name="aam_binned", func=aam_binned, kind="sample", title="AAM (histogram MI)",
    presets={"disentanglement_lib": {"bins": 20}},
    reference=f"YannDubs/disentangling-vae disvae/evaluate.py@{DISVAE_COMMIT} (_axis_aligned_metric) on the "
              "histogram MI of disentanglement_lib's MIG",
    docs="aam.md"))
