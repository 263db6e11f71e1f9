"""Shared steps of the latte-metrics information gaps (DMIG, XMIG, DLIG; Watcharasupat & Lerch 2021).

latte (karnwatcharasupat/latte, `src/latte/functional/disentanglement/mutual_info.py`, commit 623fae2,
MIT licence) estimates every mutual information and entropy with scikit-learn's k-nearest-neighbour
estimators: `mutual_info_classif` when the target attribute is discrete, `mutual_info_regression` when it
is continuous, `n_neighbors=3`, the codes (and an attribute used as a feature) always treated as
continuous, and a fixed `random_state` for the tiny noise scikit-learn adds to continuous variables. An
entropy is the estimate of I(a; a), a conditional entropy H(a_i | a_j) = I(a_i; a_i) - I(a_i; a_j). The
calls below are the same calls with the same arguments, so the numbers are the same.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

from .._validation import check_codes, check_positive_int, check_random_state, scaled_to_safe_range
from ._split import check_factor_types, check_targets

__all__ = ["LatteInputs", "check_denominator", "prepare_inputs", "top2gap", "SAFE"]

SAFE = 40
"""Columns with largest magnitude in [2**-40, 2**40] reach scikit-learn as they are (see LatteInputs)."""


def sklearn_seed(random_state):
    """The seed handed to scikit-learn on every call (latte passes one module-level seed to all calls).

    An int below 2**32 (or None) is used as is; a larger int gives the first word of its
    `np.random.SeedSequence`; a numpy Generator gives one int drawn from it.
    """
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        check_random_state(random_state)  # validates the int
        if int(random_state) < 2**32:
            return int(random_state)
        # beyond scikit-learn's seed range (e.g. the 63-bit repeat seeds of `evaluate`): one seed derived from it
        return int(np.random.SeedSequence(int(random_state)).generate_state(1)[0])
    rng = check_random_state(random_state)
    return int(rng.integers(0, 2**32 - 1))


class LatteInputs:
    """Validated codes, factors and the estimator calls of one metric evaluation."""

    def __init__(self, codes, factors, factor_types, reg_dim, n_neighbors, random_state, n_jobs):
        self.n_neighbors = check_positive_int(n_neighbors, name="n_neighbors", maximum=10_000)
        # scikit-learn divides every continuous column by its standard deviation first, and takes a deviation
        # below 10 * eps (2.2e-15, an absolute bound) for a constant column, and one whose square overflows
        # breaks it: a column whose magnitude lies outside [2**-SAFE, 2**SAFE] is brought near 1 by an exact
        # power of two, which leaves the standardized values, and so every estimate, bit for bit what they
        # are for the same codes at an ordinary scale; columns inside the range are passed untouched
        self.codes = scaled_to_safe_range(
            check_codes(codes, min_dims=1, min_samples=self.n_neighbors + 1).astype(np.float64),
            safe_exponent=SAFE)[0]
        n, d = self.codes.shape
        k = np.asarray(factors).shape[1] if np.ndim(factors) == 2 else None
        if k is None:
            raise ValueError(f"factors must be 2-D (n_samples, n_factors); got shape {np.shape(factors)}.")
        self.types = check_factor_types(factor_types, k)
        self.factors = check_targets(factors, n_samples=n, factor_types=self.types)
        self.discrete = [t == "discrete" for t in self.types]
        for column in np.flatnonzero(self.discrete):
            if np.unique(self.factors[:, column], return_counts=True)[1].max() < 2:
                raise ValueError(f"factors[:, {column}] (discrete) has no value that occurs twice in this sample; the "
                                 "k-NN estimator of a discrete target drops values seen once, and nothing would be "
                                 "left. Use more samples or factor_types='continuous' for this factor.")
        if not all(self.discrete):
            self.factors = scaled_to_safe_range(self.factors.astype(np.float64), safe_exponent=SAFE)[0]
            if any(self.discrete):  # integer labels stay exact: only the continuous columns were far from 1
                self.factors[:, self.discrete] = np.asarray(factors)[:, self.discrete]
        if k > d:
            raise ValueError(f"codes has {d} dims but factors has {k} columns; latte's gaps pair each factor with "
                             "its own code dim (reg_dim), so they need at least as many dims as factors.")
        if reg_dim is None:
            self.reg_dim = list(range(k))
        else:
            if isinstance(reg_dim, (str, bytes)) or not hasattr(reg_dim, "__len__"):
                raise ValueError(f"reg_dim must be a sequence of code dim indices, one per factor; got {reg_dim!r}.")
            if len(reg_dim) != k:
                raise ValueError(f"reg_dim must give one code dim per factor ({k}); got {len(reg_dim)}.")
            dims = []
            for dim in reg_dim:
                if not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or not 0 <= int(dim) < d:
                    raise ValueError(f"reg_dim entries must be code dim indices in [0, {d}); got {list(reg_dim)}.")
                dims.append(int(dim))
            self.reg_dim = dims
        self.seed = sklearn_seed(random_state)
        if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool) or n_jobs == 0):
            raise ValueError(f"n_jobs must be None or a non-zero int (scikit-learn's meaning); got {n_jobs!r}.")
        self.n_jobs = n_jobs

    def _target(self, k: int) -> np.ndarray:
        column = self.factors[:, k]
        return column.astype(np.int64) if self.discrete[k] else column.astype(np.float64)

    def mutual_info(self, features: np.ndarray, k: int) -> np.ndarray:
        """I(feature column; factor k) for every column of `features` (one scikit-learn call, as latte)."""
        from sklearn.feature_selection import mutual_info_classif, mutual_info_regression  # noqa: PLC0415

        estimator = mutual_info_classif if self.discrete[k] else mutual_info_regression
        # n_jobs only parallelizes over the feature columns (each estimate is independent of it); it exists
        # from scikit-learn 1.5 on, so it is passed only when asked for and understood (else: serial).
        extra = {}
        if self.n_jobs is not None and "n_jobs" in inspect.signature(estimator).parameters:
            extra["n_jobs"] = self.n_jobs
        try:
            return estimator(features, self._target(k), n_neighbors=self.n_neighbors, random_state=self.seed, **extra)
        except ValueError as error:  # what the checks above do not foresee: name the inputs
            raise ValueError(f"codes / factors[:, {k}]: scikit-learn's k-NN estimator refused them: {error}") from None

    def entropy(self, k: int) -> float:
        """latte's H(a_k): the estimate of I(a_k; a_k), a_k as a continuous feature and as the target."""
        return float(self.mutual_info(self.factors[:, k : k + 1].astype(np.float64), k)[0])

    def conditional_entropy(self, i: int, j: int) -> float:
        """latte's H(a_i | a_j) = H(a_i) - I(a_i; a_j) (a_i the feature, a_j the target)."""
        return self.entropy(i) - float(self.mutual_info(self.factors[:, i : i + 1].astype(np.float64), j)[0])

    def params(self) -> dict:
        return {"factor_types": list(self.types), "reg_dim": list(self.reg_dim), "n_neighbors": self.n_neighbors,
                "random_state": self.seed, "n_samples": self.codes.shape[0], "estimator": "sklearn_knn"}


def check_denominator(value: float, *, metric: str, factor: int, what: str) -> float:
    """Refuse a non-positive (or non-finite) entropy estimate, where latte would divide by it anyway."""
    if not (np.isfinite(value) and value > 0.0):
        raise ValueError(
            f"factors: the estimated {what} of factor {factor} is {value:.3g}, not positive, so {metric} is undefined "
            "for these factors (latte divides by it all the same and returns inf, NaN or a sign-flipped gap). "
            "The factor "
            "is (nearly) determined by the conditioning factor in this sample, or the k-NN estimate is too noisy: use "
            "more samples or drop the factor.")
    return float(value)


def prepare_inputs(codes, factors, *, factor_types, reg_dim, n_neighbors, random_state, n_jobs) -> LatteInputs:
    return LatteInputs(codes, factors, factor_types, reg_dim, n_neighbors, random_state, n_jobs)


def top2gap(score: np.ndarray, own: int) -> tuple[float, int]:
    """latte's `_top2gap` with a given minuend: (score[own] - best other, index of that other).

    When `own` holds the top score (by numpy's default argsort, ties as numpy orders them): the gap to
    the second; otherwise score[own] minus the top score (negative), with the top's index.
    """
    ranked = np.argsort(score)
    ordered = np.sort(score)
    if ranked[-1] == own:
        return float(ordered[-1] - ordered[-2]), int(ranked[-2])
    return float(score[own] - ordered[-1]), int(ranked[-1])
