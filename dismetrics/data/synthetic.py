"""Synthetic ground truth whose right answers are known in advance.

Two kinds of known answers live here, and everything that needs them imports them from this module
(the `dismetrics demo` command, the tests, `benchmarks/metric_properties.py`):

- **samplers** ([`FactorGrid`][dismetrics.data.synthetic.FactorGrid],
  [`LinearMixing`][dismetrics.data.synthetic.LinearMixing], [`Rotation`][dismetrics.data.synthetic.Rotation],
  [`NoiseDims`][dismetrics.data.synthetic.NoiseDims]): factor grids whose observations are a known map of the
  factors, for the intervention metrics and `evaluate`;
- **codes** ([`known_answer_codes`][dismetrics.data.synthetic.known_answer_codes]: a perfect, a rotated, a
  duplicated and a pure-noise code; [`damaged_codes`][dismetrics.data.synthetic.damaged_codes]: a perfect code
  damaged in one controlled way, the six damages of the metric-properties study), for the sample metrics.

All of them are built from [`scaled_factors`][dismetrics.data.synthetic.scaled_factors], the factor indices
mapped linearly onto an interval, and draw every random number from the `numpy.random.Generator` they are
given, so the same seed gives bit-identical codes.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Callable, Sequence

import numpy as np

from .._validation import check_random_state
from .base import GroundTruthSampler

__all__ = [
    "FactorGrid",
    "LinearMixing",
    "Rotation",
    "NoiseDims",
    "rotation_matrix",
    "haar_rotation",
    "scaled_factors",
    "known_answer_codes",
    "DAMAGES",
    "DAMAGE_FACTOR_SIZES",
    "DAMAGE_JITTER",
    "DAMAGE_NOISE_SD",
    "damage_map",
    "damaged_codes",
    "damage_sample",
    "damaged_sampler",
]


def scaled_factors(factors, factor_sizes: Sequence[int], low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Factor indices mapped linearly onto `[low, high]`: `low + (high - low) * v_k / (m_k - 1)`.

    Parameters
    ----------
    factors : int array (n, K)
        Factor indices, factor k in `0 .. factor_sizes[k] - 1`.
    factor_sizes : sequence of int
        The number of values m_k of each factor (K of them).
    low, high : float, default 0.0 and 1.0
        The values of the first and the last index of every factor.

    Returns
    -------
    numpy.ndarray
        float64, shape (n, K).

    Examples
    --------
    >>> from dismetrics.data.synthetic import scaled_factors
    >>> print(scaled_factors([[0, 1], [2, 3]], [3, 4]))
    [[0.         0.33333333]
     [1.         1.        ]]
    >>> print(scaled_factors([[0, 1], [2, 3]], [3, 4], low=-1.0))
    [[-1.         -0.33333333]
     [ 1.          1.        ]]
    """
    unit = np.asarray(factors, dtype=np.float64) / (np.asarray(factor_sizes, dtype=np.float64) - 1.0)
    return low + (high - low) * unit


def _noise(rng: np.random.Generator, n: int, d: int, scale: float) -> np.ndarray:
    """`d` code dims of independent N(0, scale^2) noise for `n` points."""
    return rng.normal(0.0, scale, size=(n, d))


def _accepts_two_arguments(func: Callable) -> bool:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    try:
        signature.bind(None, None)
    except TypeError:
        return False
    return True


class FactorGrid(GroundTruthSampler):
    """A uniform grid of integer factors whose observations are the factor indices themselves.

    `FactorGrid([3, 6, 40])` observes each point as the float vector of its factor indices (shape
    `(K,)`); `observe(factors) -> observations` replaces that map (it must be deterministic in the
    factors or draw its randomness from the `rng` it may accept as a second argument).

    Parameters
    ----------
    factor_sizes : sequence of int
        The number of values of each factor, each at least 2.
    observe : callable, optional
        `observe(factors)` or `observe(factors, rng)` -> observations of shape (n, ...); default None:
        the factor indices as float64.
    factor_names : sequence of str, optional
        One name per factor; default None: `factor_0`, `factor_1`, ...
    observation_shape : tuple of int, optional
        The shape of one observation; default None: found by observing one point.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import FactorGrid
    >>> grid = FactorGrid([3, 6, 40])
    >>> factors, observations = grid.sample(2, np.random.default_rng(0))
    >>> print(factors)
    [[ 2  3 20]
     [ 0  1  1]]
    >>> print(observations)
    [[ 2.  3. 20.]
     [ 0.  1.  1.]]
    >>> FactorGrid([2, 3], observe=lambda f: 10.0 * f).observation_shape
    (2,)
    """

    def __init__(
        self,
        factor_sizes: Sequence[int],
        observe: Callable[..., np.ndarray] | None = None,
        factor_names: Sequence[str] | None = None,
        observation_shape: tuple[int, ...] | None = None,
    ) -> None:
        sizes = [int(s) for s in factor_sizes]
        if not sizes or any(s < 2 for s in sizes):
            raise ValueError(f"factor_sizes must be a non-empty list of integers >= 2; got {list(factor_sizes)}.")
        self.factor_sizes = sizes
        self.factor_names = list(factor_names) if factor_names is not None else [f"factor_{k}" for k in range(len(sizes))]
        if len(self.factor_names) != len(sizes):
            raise ValueError("factor_names must have one name per factor size.")
        self._observe = observe
        self._observe_takes_rng = observe is not None and _accepts_two_arguments(observe)
        if observation_shape is None:
            if observe is None:
                observation_shape = (len(sizes),)
            else:
                probe = np.asarray(self._apply(np.zeros((1, len(sizes)), dtype=np.int64), np.random.default_rng(0)))
                observation_shape = tuple(probe.shape[1:])
        self.observation_shape = tuple(observation_shape)

    def _apply(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self._observe is None:
            return factors.astype(np.float64)
        if self._observe_takes_rng:
            return self._observe(factors, rng)
        return self._observe(factors)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != len(self.factor_sizes):
            raise ValueError(f"factors must have shape (n, {len(self.factor_sizes)}); got {factors.shape}.")
        return np.asarray(self._apply(factors, rng))


class LinearMixing(FactorGrid):
    """Observations `x = A @ z` with `z` the factor indices scaled to [0, 1] and a fixed mixing matrix
    `A` of shape (D, K) (default: a random Gaussian matrix from `random_state`, D = K). Recovering the
    factors needs the inverse of `A`: a known answer for the metrics (the identity `A` is perfectly
    disentangled).

    Parameters
    ----------
    factor_sizes : sequence of int
        The number of values of each factor.
    matrix : array of shape (D, K), optional
        The mixing matrix; default None: standard Gaussian entries drawn from `random_state`.
    random_state : int, None or numpy.random.Generator, default 0
        Draws the default matrix.
    seed : int, optional
        Deprecated name of `random_state` (one release, with a `DeprecationWarning`).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import LinearMixing
    >>> sampler = LinearMixing([3, 3], matrix=np.array([[1.0, 1.0], [0.0, 2.0]]))
    >>> print(sampler.sample_observations_from_factors(np.array([[2, 1]]), np.random.default_rng(0)))
    [[1.5 1. ]]
    """

    def __init__(self, factor_sizes: Sequence[int], matrix: np.ndarray | None = None, *, random_state=0,
                 seed: int | None = None) -> None:
        if seed is not None:
            warnings.warn("LinearMixing(seed=...) is deprecated; use random_state.", DeprecationWarning, stacklevel=2)
            random_state = seed
        k = len(list(factor_sizes))
        if matrix is None:
            matrix = check_random_state(random_state).standard_normal((k, k))
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != k:
            raise ValueError(f"matrix must have shape (D, {k}) for {k} factors; got {matrix.shape}.")
        self.matrix = matrix
        sizes = [int(s) for s in factor_sizes]
        super().__init__(sizes, observe=lambda f: scaled_factors(f, sizes) @ matrix.T, observation_shape=(matrix.shape[0],))


def rotation_matrix(dim: int, angle: float, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """A `dim` x `dim` Givens rotation by `angle` radians in the plane of `axes`.

    Parameters
    ----------
    dim : int
        The size.
    angle : float
        Radians.
    axes : tuple of two int, default (0, 1)
        The plane of the rotation.

    Returns
    -------
    numpy.ndarray
        float64, shape (dim, dim).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import rotation_matrix
    >>> print(np.round(rotation_matrix(2, np.pi / 2), 3))
    [[ 0. -1.]
     [ 1.  0.]]
    """
    i, j = axes
    rot = np.eye(dim)
    c, s = np.cos(angle), np.sin(angle)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


class Rotation(LinearMixing):
    """Factors scaled to [0, 1], then rotated by `angle` in the plane of two factors (`axes`):
    `angle = 0` is perfectly disentangled, `pi / 4` mixes the two factors equally.

    Parameters
    ----------
    factor_sizes : sequence of int
        The number of values of each factor (at least two factors).
    angle : float, default pi / 4
        Radians.
    axes : tuple of two int, default (0, 1)
        The two factors rotated into each other.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import Rotation
    >>> sampler = Rotation([3, 3], angle=np.pi / 2)
    >>> print(np.round(sampler.sample_observations_from_factors(np.array([[2, 1]]), None), 3))
    [[-0.5  1. ]]
    """

    def __init__(self, factor_sizes: Sequence[int], angle: float = np.pi / 4, axes: tuple[int, int] = (0, 1)) -> None:
        k = len(list(factor_sizes))
        if not (0 <= axes[0] < k and 0 <= axes[1] < k and axes[0] != axes[1]):
            raise ValueError(f"axes must be two different factor indices below {k}; got {axes}.")
        self.angle = float(angle)
        super().__init__(factor_sizes, rotation_matrix(k, angle, axes))


class NoiseDims(FactorGrid):
    """Observations: the factors scaled to [0, 1], then `n_noise` extra dimensions of independent
    N(0, `noise_scale`^2) noise drawn from the `rng` (dimensions that carry no factor information).

    Parameters
    ----------
    factor_sizes : sequence of int
        The number of values of each factor.
    n_noise : int, default 2
        Noise dimensions appended.
    noise_scale : float, default 1.0
        Their standard deviation.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import NoiseDims
    >>> sampler = NoiseDims([3, 3], n_noise=2)
    >>> observations = sampler.sample_observations_from_factors(np.array([[2, 1]]), np.random.default_rng(0))
    >>> print(sampler.observation_shape, observations.round(3))
    (4,) [[ 1.     0.5    0.126 -0.132]]
    """

    def __init__(self, factor_sizes: Sequence[int], n_noise: int = 2, noise_scale: float = 1.0) -> None:
        sizes = [int(s) for s in factor_sizes]
        if int(n_noise) < 0:
            raise ValueError(f"n_noise must be >= 0; got {n_noise}.")
        self.n_noise, self.noise_scale = int(n_noise), float(noise_scale)

        def observe(factors, rng):
            noise = _noise(rng, len(factors), self.n_noise, self.noise_scale)
            return np.concatenate([scaled_factors(factors, sizes), noise], axis=1)

        super().__init__(sizes, observe=observe, observation_shape=(len(sizes) + self.n_noise,))


def haar_rotation(k: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed (uniformly random) `k` x `k` orthogonal matrix.

    The Q of the QR decomposition of a standard Gaussian matrix, its columns' signs fixed by R's
    diagonal (Mezzadri, "How to generate random matrices from the classical compact groups", 2007).

    Parameters
    ----------
    k : int
        The size.
    rng : numpy.random.Generator
        Draws the Gaussian matrix.

    Returns
    -------
    numpy.ndarray
        float64, shape (k, k), orthogonal.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import haar_rotation
    >>> q = haar_rotation(3, np.random.default_rng(0))
    >>> bool(np.allclose(q @ q.T, np.eye(3)))
    True
    """
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    return q * np.sign(np.diag(r))[None, :]


# --------------------------------------------------------------------------- the demo's four codes


def known_answer_codes(factors, factor_sizes: Sequence[int], rng: np.random.Generator, *,
                       n_dims: int = 10) -> dict[str, np.ndarray]:
    """Four codes of the factors whose quality is known: the representations of `dismetrics demo`.

    With `u` the factors scaled to [0, 1] ([`scaled_factors`][dismetrics.data.synthetic.scaled_factors]) and
    `N(0, 0.01^2)` jitter:

    - `perfect`: each factor in its own dim (`u` plus jitter), then `n_dims - K` dims of jitter alone
      (collapsed dims): modular, compact and explicit;
    - `rotated`: `perfect` with its first two dims rotated by 45 degrees (each of the two dims holds two
      factors): less modular and compact, as explicit;
    - `duplicated`: each factor in two dims (`[u, u]` plus jitter, 2K dims): modular, not compact;
    - `noise`: standard normal codes, independent of the factors.

    Parameters
    ----------
    factors : int array (n, K)
        Factor indices.
    factor_sizes : sequence of int
        The number of values of each factor (K of them).
    rng : numpy.random.Generator
        Draws the jitter and the noise, in a fixed order (perfect, duplicated, noise).
    n_dims : int, default 10
        Dims of the perfect, rotated and noise codes, at least K and at least 2.

    Returns
    -------
    dict of str to numpy.ndarray
        `{"perfect": (n, n_dims), "rotated": (n, n_dims), "duplicated": (n, 2K), "noise": (n, n_dims)}`,
        float64.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import known_answer_codes
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, [3, 6], size=(200, 2))
    >>> codes = known_answer_codes(factors, [3, 6], rng, n_dims=4)
    >>> {name: c.shape for name, c in codes.items()}
    {'perfect': (200, 4), 'rotated': (200, 4), 'duplicated': (200, 4), 'noise': (200, 4)}
    """
    factors = np.asarray(factors)
    n, k = factors.shape
    if int(n_dims) < max(k, 2):
        raise ValueError(f"n_dims must be at least the number of factors ({k}) and at least 2; got {n_dims}.")
    scaled = scaled_factors(factors, factor_sizes)
    perfect = np.hstack([scaled + 0.01 * rng.standard_normal((n, k)), 0.01 * rng.standard_normal((n, n_dims - k))])
    rotated = perfect.copy()
    c = np.sqrt(0.5)
    rotated[:, 0], rotated[:, 1] = c * (perfect[:, 0] - perfect[:, 1]), c * (perfect[:, 0] + perfect[:, 1])
    duplicated = np.hstack([scaled, scaled]) + 0.01 * rng.standard_normal((n, 2 * k))
    noise = rng.standard_normal((n, n_dims))
    return {"perfect": perfect, "rotated": rotated, "duplicated": duplicated, "noise": noise}


# --------------------------------------------------------------------------- controlled damage of a perfect code

DAMAGES = ("noise", "rotation", "cos_sin", "nonlinear", "missing", "duplicate")
"""The six damages of [`damage_map`][dismetrics.data.synthetic.damage_map], after Carbonneau et al. 2022."""

DAMAGE_FACTOR_SIZES = (3, 6, 10, 8, 8)
"""The factor grid of the metric-properties study (K = 5)."""

DAMAGE_JITTER = 0.02
"""Standard deviation of the jitter added to the scaled factors (so codes are continuous)."""

DAMAGE_NOISE_SD = 1.0 / np.sqrt(3.0)
"""Standard deviation of a noise dim: that of a uniform variable on [-1, 1]."""


def damage_map(experiment: str, level: float, seed: int, k: int = len(DAMAGE_FACTOR_SIZES)) -> Callable:
    """The map `(u, rng) -> codes` of one damage at one level, applied to a perfect code `u` (n, k).

    Damages (`level` is the swept parameter; Carbonneau, Zaidi, Boilard and Gagnon, "Measuring
    disentanglement: a review of metrics", IEEE TNNLS 2022, section on metric properties):

    - `"noise"`: `z = (1 - a) u + a e`, `a = level` in [0, 1], `e` noise dims N(0, 1/3);
    - `"rotation"`: a Haar-random rotation ([`haar_rotation`][dismetrics.data.synthetic.haar_rotation]) of the
      first `level` dims (1: a sign flip);
    - `"cos_sin"`: `level` factors are each written as two dims `(cos t, sin t)`, `t = (3 pi / 4)(u + 1)`
      in [0, 3 pi / 2], appended after the untouched ones: neither dim alone determines the factor;
    - `"nonlinear"`: `z = sign(u) |u|^p`, `p = level` (monotone and invertible);
    - `"missing"`: `level` factors (a random subset) replaced by noise dims;
    - `"duplicate"`: `level` dims (a random subset) appended a second time, each copy with its own
      jitter N(0, 0.02^2) (an exact copy would make the covariance singular).

    Parameters
    ----------
    experiment : {"noise", "rotation", "cos_sin", "nonlinear", "missing", "duplicate"}
        The damage.
    level : float
        Its parameter (an integer count for every damage but `"noise"` and `"nonlinear"`).
    seed : int
        Fixes the random parts of the map itself (the rotation, the subsets), so that every sample of
        the same `(experiment, level, seed)` sees the same map.
    k : int, default 5
        Dims of the perfect code `u`.

    Returns
    -------
    callable
        `damage(u, rng) -> codes`; `rng` (a `numpy.random.Generator`) draws the per-point randomness
        (noise dims, the copies' jitter).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import damage_map
    >>> u = np.array([[-1.0, 0.5], [0.5, -1.0]])
    >>> print(damage_map("nonlinear", 2, seed=0, k=2)(u, np.random.default_rng(0)))
    [[-1.    0.25]
     [ 0.25 -1.  ]]
    >>> damage_map("duplicate", 2, seed=0, k=2)(u, np.random.default_rng(0)).shape
    (2, 4)
    """
    fixed = np.random.default_rng([seed, 7919])
    if experiment == "noise":
        a = float(level)
        return lambda u, rng: (1.0 - a) * u + a * _noise(rng, len(u), k, DAMAGE_NOISE_SD)
    if experiment == "rotation":
        j = int(level)
        rot = np.eye(k)
        rot[:j, :j] = haar_rotation(j, fixed) if j > 0 else rot[:j, :j]
        return lambda u, rng: u @ rot.T
    if experiment == "cos_sin":
        j = int(level)
        spread = np.sort(fixed.permutation(k)[:j])
        keep = np.setdiff1d(np.arange(k), spread)

        def cos_sin(u, rng):
            t = 0.75 * np.pi * (u[:, spread] + 1.0)
            return np.concatenate([u[:, keep], np.cos(t), np.sin(t)], axis=1)

        return cos_sin
    if experiment == "nonlinear":
        p = float(level)
        return lambda u, rng: np.sign(u) * np.abs(u) ** p
    if experiment == "missing":
        j = int(level)
        gone = fixed.permutation(k)[:j]

        def missing(u, rng):
            z = u.copy()
            z[:, gone] = _noise(rng, len(u), j, DAMAGE_NOISE_SD)
            return z

        return missing
    if experiment == "duplicate":
        j = int(level)
        copied = np.sort(fixed.permutation(k)[:j])

        def duplicate(u, rng):
            copies = u[:, copied] + rng.normal(0.0, DAMAGE_JITTER, size=(len(u), j))
            return np.concatenate([u, copies], axis=1)

        return duplicate
    raise ValueError(f"unknown experiment {experiment!r}; known: {list(DAMAGES)}")


def damaged_codes(experiment: str, level: float, factors, seed: int, rng: np.random.Generator,
                  factor_sizes: Sequence[int] = DAMAGE_FACTOR_SIZES) -> np.ndarray:
    """Codes of `factors` under one damage: the perfect code, then [`damage_map`][dismetrics.data.synthetic.damage_map].

    The perfect code is the factors scaled to [-1, 1]
    ([`scaled_factors`][dismetrics.data.synthetic.scaled_factors]) plus a jitter N(0, 0.02^2).

    Parameters
    ----------
    experiment, level : str, float
        The damage (one of [`DAMAGES`][dismetrics.data.synthetic.DAMAGES]) and its parameter.
    factors : int array (n, K)
        Factor indices.
    seed : int
        Fixes the map (see `damage_map`).
    rng : numpy.random.Generator
        Draws the jitter, then the per-point randomness of the damage.
    factor_sizes : sequence of int, default DAMAGE_FACTOR_SIZES
        The number of values of each factor.

    Returns
    -------
    numpy.ndarray
        float64, shape (n, d) with d the code dims the damage gives (K, or more for `"cos_sin"` and
        `"duplicate"`).

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import damaged_codes
    >>> factors = np.array([[0, 0, 0, 0, 0], [2, 5, 9, 7, 7]])
    >>> codes = damaged_codes("rotation", 0, factors, seed=0, rng=np.random.default_rng(0))
    >>> print(np.round(codes, 1))
    [[-1. -1. -1. -1. -1.]
     [ 1.  1.  1.  1.  1.]]
    """
    factors = np.asarray(factors)
    u = scaled_factors(factors, factor_sizes, low=-1.0) + rng.normal(0.0, DAMAGE_JITTER, size=factors.shape)
    return damage_map(experiment, level, seed, len(factor_sizes))(u, rng)


def damage_sample(experiment: str, level: float, n: int, seed: int,
                  factor_sizes: Sequence[int] = DAMAGE_FACTOR_SIZES) -> tuple[np.ndarray, np.ndarray]:
    """`(codes, factors)`: `n` points drawn uniformly from the grid and their damaged codes, all from `seed`.

    A Generator seeded with `seed` draws the factors (one column after the other), then the codes
    ([`damaged_codes`][dismetrics.data.synthetic.damaged_codes], whose map is fixed by the same `seed`).

    Parameters
    ----------
    experiment, level : str, float
        The damage (one of [`DAMAGES`][dismetrics.data.synthetic.DAMAGES]) and its parameter.
    n : int
        Points.
    seed : int
        The seed of everything.
    factor_sizes : sequence of int, default DAMAGE_FACTOR_SIZES
        The factor grid.

    Returns
    -------
    codes : numpy.ndarray
        float64, (n, d).
    factors : numpy.ndarray
        int64, (n, K).

    Examples
    --------
    >>> from dismetrics.data.synthetic import damage_sample
    >>> from dismetrics.metrics.mig import mig
    >>> perfect, factors = damage_sample("noise", 0.0, 1000, seed=0)
    >>> noisy, _ = damage_sample("noise", 1.0, 1000, seed=0)
    >>> print(round(mig(perfect, factors).value, 2), round(mig(noisy, factors).value, 2))
    0.97 0.0
    """
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, m, size=n) for m in factor_sizes], axis=1)
    return damaged_codes(experiment, level, factors, seed, rng, factor_sizes), factors


def damaged_sampler(experiment: str, level: float, seed: int,
                    factor_sizes: Sequence[int] = DAMAGE_FACTOR_SIZES) -> FactorGrid:
    """A [`FactorGrid`][dismetrics.data.synthetic.FactorGrid] whose observations are the damaged codes.

    Paired with the identity as representation, the intervention metrics (beta-VAE, FactorVAE) see the
    same map as the sample metrics on [`damaged_codes`][dismetrics.data.synthetic.damaged_codes] (noise dims
    then act as a stochastic encoder: fresh noise per observation).

    Parameters
    ----------
    experiment, level : str, float
        The damage (one of [`DAMAGES`][dismetrics.data.synthetic.DAMAGES]) and its parameter.
    seed : int
        Fixes the map.
    factor_sizes : sequence of int, default DAMAGE_FACTOR_SIZES
        The factor grid.

    Returns
    -------
    FactorGrid

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.data.synthetic import damaged_sampler
    >>> sampler = damaged_sampler("cos_sin", 2, seed=0)
    >>> factors, observations = sampler.sample(4, np.random.default_rng(0))
    >>> observations.shape
    (4, 7)
    """
    sizes = [int(s) for s in factor_sizes]
    return FactorGrid(sizes, observe=lambda factors, rng: damaged_codes(experiment, level, factors, seed, rng, sizes))
