"""SEPIN@k and INDIN@k, with their weighted forms WSEPIN and WINDIN (Do and Tran, ICLR 2020).

Both are information quantities of the encoder's distribution q(z|x) over a set of observations: no
ground-truth factors are needed, but the encoder's variance is (a Gaussian encoder returning a mean and
a log-variance). Definitions from the paper (Section 5.1, "Metrics for informativeness, separability
and independence"); the mutual-information estimator is the paper's sampling estimator (Appendix),
written here from its description, since the authors' code carries no licence.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_codes, check_positive_int, check_random_state
from ..result import MetricResult
from ._intervention import DEFAULT_CHUNK_SIZE, describe_seed, prepare
from .registry import MetricSpec, register_metric

__all__ = ["posterior_information", "sepin", "indin", "DENSITY_FLOOR"]

DENSITY_FLOOR = 1e-8
"""The estimator's floor on every density before its log is taken (the paper's `eps`)."""

LOG_2PI = float(np.log(2.0 * np.pi))


def _check_posterior(mean, logvar) -> tuple[np.ndarray, np.ndarray]:
    mean = check_codes(mean, name="mean", min_dims=2).astype(np.float64)
    if logvar is None:
        raise ValueError("logvar is required: SEPIN and INDIN are information quantities of the encoder's Gaussian "
                         "q(z|x) = N(mean, exp(logvar)); give an encoder that returns (mean, logvar).")
    logvar = np.asarray(logvar, dtype=np.float64)
    if logvar.shape != mean.shape:
        raise ValueError(f"logvar has shape {logvar.shape} but mean has {mean.shape}; give one log-variance per code.")
    if not np.isfinite(logvar).all():
        raise ValueError("logvar contains NaN or infinite values.")
    if logvar.min() < -600 or logvar.max() > 600:
        raise ValueError("logvar must lie in [-600, 600] (a variance between about 1e-261 and 1e261); "
                         f"got values in [{logvar.min():.3g}, {logvar.max():.3g}].")
    return mean, logvar


def posterior_information(mean, logvar, *, n_samples: int = 10000, batch_size: int = 64,
                          random_state=0) -> dict:
    r"""The entropies and mutual informations (nats) of SEPIN and INDIN, by the paper's sampling estimator.

    The observations $x_1..x_N$ are the rows of `mean`/`logvar` (equal weights $1/N$), and
    $q(z_i \mid x_n) = N(\mu_{ni}, e^{\lambda_{ni}})$. Draw $S$ = `n_samples` pairs: $n_s$ uniform in
    $1..N$ and $z_s = \mu_{n_s} + e^{\lambda_{n_s}/2} \epsilon_s$, $\epsilon_s \sim N(0, I)$
    (`rng.integers(0, N, S)`, then `rng.standard_normal((S, d))`, from `random_state`). With every
    density floored at $\epsilon = 10^{-8}$, $\bar q(\cdot) = \max(q(\cdot), \epsilon)$, and for a set of
    dims $A$ ($\{i\}$, all but $i$, or all):

    $$
    H(z_A \mid x) \approx -\frac1S \sum_s \sum_{j \in A} \log \bar q(z_{sj} \mid x_{n_s}), \qquad
    H(z_A) \approx -\frac1S \sum_s \log \max\Big(\frac1N \sum_n \prod_{j \in A} \bar q(z_{sj} \mid x_n),
    \ \epsilon\Big).
    $$

    Then (each clipped at 0 as the paper does): $I(x, z_i)$, $I(x, z_{\ne i})$, $I(x, z)$ as
    $H(\cdot) - H(\cdot \mid x)$, and $I(z_i, z_{\ne i}) = H(z_i) + H(z_{\ne i}) - H(z)$; per dim

    $$
    \mathrm{SEPIN}_i = I(x, z_i \mid z_{\ne i}) = I(x, z) - I(x, z_{\ne i}), \qquad
    \mathrm{INDIN}_i = I(x, z_i) - I(z_i, z_{\ne i}).
    $$

    With a factorized $q(z \mid x)$ (a diagonal Gaussian encoder) the chain rule gives
    $\mathrm{SEPIN}_i = \mathrm{INDIN}_i$, and the estimator keeps the identity exactly (its
    $H(z \mid x)$ is the sum of the per-dim terms): the two differ only where the clipping at 0 acts.

    Cost: $O(N S d)$ time in blocks of `batch_size` samples ($N \times$ `batch_size` $\times d$ floats
    of memory).

    Returns
    -------
    dict
        `mi_zi_x`, `mi_z_not_i_x`, `mi_zi_z_not_i` (= SEP), `sepin_per_dim`, `indin_per_dim`,
        `weights` ($\rho_i = I(x, z_i) / \sum_j I(x, z_j)$) (each (d,)), `mi_z_x` (float), and the
        entropies `h_zi`, `h_zi_given_x`, `h_z_not_i`, `h_z_not_i_given_x`, `h_z`, `h_z_given_x`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mean = rng.standard_normal((200, 3))
    >>> info = posterior_information(mean, np.full((200, 3), np.log(0.01)), n_samples=500)
    >>> bool(info["mi_zi_x"].min() > 1.0), bool(np.allclose(info["sepin_per_dim"], info["indin_per_dim"]))
    (True, True)
    """
    mean, logvar = _check_posterior(mean, logvar)
    n_samples = check_positive_int(n_samples, name="n_samples", maximum=10_000_000)
    batch_size = check_positive_int(batch_size, name="batch_size", maximum=1_000_000)
    rng = check_random_state(random_state)
    n, d = mean.shape
    rows = rng.integers(0, n, size=n_samples)
    samples = mean[rows] + np.exp(0.5 * logvar[rows]) * rng.standard_normal((n_samples, d))
    sums = {key: np.zeros(d) for key in ("h_zi", "h_zi_given_x", "h_z_not_i", "h_z_not_i_given_x")}
    h_z = h_z_given_x = 0.0
    log_floor = np.log(DENSITY_FLOOR)
    inverse_variance = np.exp(-logvar)
    log_normalizer = -0.5 * (LOG_2PI + logvar)
    for start in range(0, n_samples, batch_size):
        z = samples[start:start + batch_size]                                   # (b, d)
        mine = rows[start:start + batch_size]
        own = np.maximum(log_normalizer[mine] - 0.5 * (z - mean[mine]) ** 2 * inverse_variance[mine], log_floor)
        own_total = own.sum(axis=1, keepdims=True)                               # (b, 1)
        sums["h_zi_given_x"] -= own.sum(axis=0)
        sums["h_z_not_i_given_x"] -= (own_total - own).sum(axis=0)
        h_z_given_x -= float(own_total.sum())
        # log q(z_sj | x_n), floored, for every observation n: (n, b, d)
        every = (z[None, :, :] - mean[:, None, :]) ** 2
        every *= -0.5 * inverse_variance[:, None, :]
        every += log_normalizer[:, None, :]
        np.maximum(every, log_floor, out=every)
        total = every.sum(axis=2)                                                # (n, b): log q(z_s | x_n)
        peak = total.max(axis=0)                                                 # (b,)
        scaled = np.exp(total - peak)                                            # (n, b), at most 1
        h_z -= float(np.maximum(peak + np.log(scaled.mean(axis=0)), log_floor).sum())
        density = np.exp(every)                                                  # >= the floor: no underflow
        sums["h_zi"] -= np.maximum(np.log(density.mean(axis=0)), log_floor).sum(axis=0)
        # prod_{j != i} q = q(z_s | x_n) / q(z_si | x_n), scaled by exp(-peak); 1 / density <= 1e8
        without = scaled[:, :, None] / density
        sums["h_z_not_i"] -= np.maximum(peak[:, None] + np.log(without.mean(axis=0)), log_floor).sum(axis=0)
    h = {key: value / n_samples for key, value in sums.items()}
    h_z, h_z_given_x = h_z / n_samples, h_z_given_x / n_samples
    mi_zi_x = np.maximum(h["h_zi"] - h["h_zi_given_x"], 0.0)
    mi_z_not_i_x = np.maximum(h["h_z_not_i"] - h["h_z_not_i_given_x"], 0.0)
    mi_z_x = max(h_z - h_z_given_x, 0.0)
    separability = np.maximum(h["h_zi"] + h["h_z_not_i"] - h_z, 0.0)
    total_mi = mi_zi_x.sum()
    return {
        "mi_zi_x": mi_zi_x,
        "mi_z_not_i_x": mi_z_not_i_x,
        "mi_z_x": float(mi_z_x),
        "mi_zi_z_not_i": separability,
        "sepin_per_dim": mi_z_x - mi_z_not_i_x,
        "indin_per_dim": mi_zi_x - separability,
        "weights": mi_zi_x / total_mi if total_mi > 0 else np.full(d, 1.0 / d),
        **h,
        "h_z": float(h_z),
        "h_z_given_x": float(h_z_given_x),
    }


def _top_k_means(values: np.ndarray) -> np.ndarray:
    """Mean of the k largest values, for k = 1..d."""
    ordered = np.sort(values)[::-1]
    return np.cumsum(ordered) / np.arange(1, ordered.size + 1)


def _encode_posterior(source, sampler, n_points, rng, chunk_size):
    factors = sampler.sample_factors(n_points, rng)
    mean, logvar = source.encode_all(factors, rng, chunk_size=chunk_size)
    if logvar is None:
        raise ValueError(f"representation {source.representation.name!r} returns no log-variance; SEPIN and INDIN need "
                         "the encoder's Gaussian q(z|x): give an encoder that returns (mean, logvar).")
    if mean.shape[1] < 2:
        raise ValueError(f"representation {source.representation.name!r} returns codes of {mean.shape[1]} dim; SEPIN and "
                         "INDIN need at least 2 (they compare each dim with the others).")
    if logvar.size and (logvar.min() < -600 or logvar.max() > 600):
        raise ValueError(f"representation {source.representation.name!r} returns log-variances in "
                         f"[{logvar.min():.3g}, {logvar.max():.3g}]; SEPIN and INDIN need them in [-600, 600] "
                         "(a variance between about 1e-261 and 1e261).")
    return mean, logvar


def _score(which, representation, sampler, *, k, n_points, n_samples, batch_size, mean, logvar, random_state,
           chunk_size, encoding, progress):
    rng = check_random_state(random_state)
    if (mean is None) != (logvar is None):
        raise ValueError("give both mean and logvar (an encoded sample), or neither (the representation is encoded).")
    if mean is None:
        if representation is None or sampler is None:
            raise ValueError("give a representation and a sampler, or mean= and logvar= of an encoded sample.")
        n_points = check_positive_int(n_points, name="n_points", minimum=2, maximum=10_000_000)
        source = prepare(representation, sampler, encoding)
        path = source.path
        mean, logvar = _encode_posterior(source, sampler, n_points, rng, check_positive_int(chunk_size, name="chunk_size"))
    else:
        path = "given"
    info = posterior_information(mean, logvar, n_samples=n_samples, batch_size=batch_size, random_state=rng)
    d = info["mi_zi_x"].size
    if k is not None:
        k = check_positive_int(k, name="k", maximum=d, reason=f"The code has {d} dims.")
    per_dim = info[f"{which}_per_dim"]
    at_k = _top_k_means(per_dim)
    chosen = d if k is None else k
    weighted = float(np.sum(info["weights"] * per_dim))
    return MetricResult(
        name=which,
        value=float(at_k[chosen - 1]),
        details={f"{which}_at_k": at_k, f"w{which}": weighted, "k": chosen, **info},
        params={"k": chosen, "n_points": int(np.asarray(mean).shape[0]), "n_samples": n_samples,
                "density_floor": DENSITY_FLOOR, "estimator": "sampling (Do & Tran 2020)", "encoding": path,
                "random_state": describe_seed(random_state)},
    )


def sepin(representation=None, sampler=None, *, k: int | None = None, n_points: int = 10000,
          n_samples: int = 10000, batch_size: int = 64, mean=None, logvar=None, random_state=0,
          chunk_size: int = DEFAULT_CHUNK_SIZE, encoding: str = "auto", progress: bool | None = None) -> MetricResult:
    r"""SEPIN@k, separability and informativeness: the mean of the k largest $I(x, z_i \mid z_{\ne i})$ (nats).

    $$
    \mathrm{SEPIN@}k = \frac1k \sum_{i=0}^{k-1} I(x, z_{r_i} \mid z_{\ne r_i}), \qquad
    \mathrm{WSEPIN} = \sum_i \rho_i\, I(x, z_i \mid z_{\ne i}), \quad \rho_i = \frac{I(x, z_i)}{\sum_j I(x, z_j)},
    $$

    with $r_0, r_1, \dots$ the dims in descending order of $I(x, z_i \mid z_{\ne i})$ and
    $I(x, z_i \mid z_{\ne i}) = I(x, z) - I(x, z_{\ne i})$, estimated as in
    [`posterior_information`][dismetrics.metrics.sepin_indin.posterior_information]. A dim scores high when it
    carries information about x that no other dim carries.

    `n_points` observations are drawn from `sampler` and encoded (the representation must return a mean
    and a log-variance), or an encoded sample is given as `mean=`/`logvar=`. `k=None` (default) is every
    dim ($k = d$, the plain mean the authors' code prints as "SEPIN"); `details["sepin_at_k"]` holds
    SEPIN@k for every k and `details["wsepin"]` WSEPIN.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation, optional
        Observations -> (mean, logvar).
    sampler : GroundTruthSampler, optional
        The data set; only its observations are used (no factors).
    k : int or None, default None
        Number of top dims averaged (None: all).
    n_points : int, default 10000
        Observations encoded (the $x_n$ of the estimator).
    n_samples : int, default 10000
        Samples $z_s$ of the estimator (the paper's code: 10,000).
    batch_size : int, default 64
        Samples per block (memory: `n_points` x `batch_size` x d floats).
    mean, logvar : arrays of shape (N, d), optional
        An encoded sample instead of representation and sampler.
    random_state : int, None or numpy Generator, default 0
    chunk_size : int, default 8192
        Observations per call of the representation.
    encoding : {"auto", "table", "direct"}, default "auto"
        Where the means and log-variances come from (a representation table when the data set is indexed,
        see [`dismetrics.table`][dismetrics.table]); `params["encoding"]` records which path ran.
    progress : bool or None
        Unused by the estimator (kept for the intervention-metric vocabulary).

    Returns
    -------
    MetricResult
        `value`: SEPIN@k; `details`: `sepin_at_k` (d,), `wsepin`, `k`, and everything
        `posterior_information` returns.

    References
    ----------
    K. Do and T. Tran, "Theory and evaluation metrics for learning disentangled representations",
    ICLR 2020, Section 5.1 and Appendix (estimation of the information quantities).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mean = rng.standard_normal((100, 2))
    >>> r = sepin(mean=mean, logvar=np.full((100, 2), np.log(0.01)), n_samples=300)
    >>> bool(r.value > 1.0), r.details["k"]
    (True, 2)
    """
    return _score("sepin", representation, sampler, k=k, n_points=n_points, n_samples=n_samples,
                  batch_size=batch_size, mean=mean, logvar=logvar, random_state=random_state,
                  chunk_size=chunk_size, encoding=encoding, progress=progress)


def indin(representation=None, sampler=None, *, k: int | None = None, n_points: int = 10000,
          n_samples: int = 10000, batch_size: int = 64, mean=None, logvar=None, random_state=0,
          chunk_size: int = DEFAULT_CHUNK_SIZE, encoding: str = "auto", progress: bool | None = None) -> MetricResult:
    r"""INDIN@k, independence and informativeness: the mean of the k largest $I(x, z_i) - I(z_i, z_{\ne i})$ (nats).

    $$
    \mathrm{INDIN@}k = \frac1k \sum_{i=0}^{k-1} \big(I(x, z_{r_i}) - I(z_{r_i}, z_{\ne r_i})\big), \qquad
    \mathrm{WINDIN} = \sum_i \rho_i \big(I(x, z_i) - I(z_i, z_{\ne i})\big),
    $$

    with $r_0, r_1, \dots$ the dims in descending order of $I(x, z_i) - I(z_i, z_{\ne i})$ and $\rho_i$
    as in [`sepin`][dismetrics.metrics.sepin_indin.sepin]; the same estimator, inputs and options.
    `details["indin_at_k"]` holds INDIN@k for every k and `details["windin"]` WINDIN.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation, optional
        Observations -> (mean, logvar).
    sampler : GroundTruthSampler, optional
        The data set; only its observations are used.
    k : int or None, default None
        Number of top dims averaged (None: all).
    n_points, n_samples, batch_size : int, default 10000, 10000, 64
        As in `sepin`.
    mean, logvar : arrays of shape (N, d), optional
        An encoded sample instead of representation and sampler.
    random_state : int, None or numpy Generator, default 0
    chunk_size : int, default 8192
    encoding : {"auto", "table", "direct"}, default "auto"
    progress : bool or None

    Returns
    -------
    MetricResult
        `value`: INDIN@k; `details`: `indin_at_k`, `windin`, `k`, and everything
        [`posterior_information`][dismetrics.metrics.sepin_indin.posterior_information] returns.

    References
    ----------
    K. Do and T. Tran, "Theory and evaluation metrics for learning disentangled representations",
    ICLR 2020, Section 5.1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((100, 1))
    >>> mean = np.hstack([x, x])            # two copies of one dim: each is predictable from the other
    >>> r = indin(mean=mean, logvar=np.full((100, 2), np.log(0.01)), n_samples=300)
    >>> bool(r.value < 0.5)
    True
    """
    return _score("indin", representation, sampler, k=k, n_points=n_points, n_samples=n_samples,
                  batch_size=batch_size, mean=mean, logvar=logvar, random_state=random_state,
                  chunk_size=chunk_size, encoding=encoding, progress=progress)


#: The information quantities are >= 0, but their sampling estimates are differences of clipped terms: a dim
#: whose mean carries nothing while its variance depends on x can get a per-dim SEPIN a few 0.01 nats below 0
#: (and rounding gives -1e-16 where the terms are equal), so the declared range has no lower end.
_VALUE_RANGE = (-float("inf"), None)
_REFERENCE = "Do & Tran 2020, ICLR, Section 5.1 (sampling estimator of the Appendix; no code licence: from the paper)"

SEPIN_SPEC = register_metric(MetricSpec(
    name="sepin", in_all=False, func=sepin, kind="intervention", title="SEPIN@k (nats)", random=True,
    value_range=_VALUE_RANGE, reference=_REFERENCE, docs="sepin_indin.md"))
INDIN_SPEC = register_metric(MetricSpec(
    name="indin", in_all=False, func=indin, kind="intervention", title="INDIN@k (nats)", random=True,
    value_range=_VALUE_RANGE, reference=_REFERENCE, docs="sepin_indin.md"))
