"""Checks at the public edge.

Every public metric runs its inputs through these functions first, so a user sees a
`ValueError` that names the argument and the fix, never a numba traceback.
"""

from __future__ import annotations

import numbers
from typing import Sequence, TypeVar

import numpy as np

_Choice = TypeVar("_Choice")

__all__ = [
    "as_real_array",
    "check_codes",
    "check_factors",
    "check_codes_and_factors",
    "check_random_state",
    "check_positive_int",
    "check_choice",
    "check_bins",
    "check_cardinality",
    "check_workspace",
    "check_float32_range",
    "check_tree_resolution",
    "scaled_to_safe_range",
    "MAX_BINS",
    "MAX_CLASSES",
    "MAX_SAMPLES",
    "MAX_REPEATS",
    "MAX_BATCH_SIZE",
    "MAX_GROUP_OBSERVATIONS",
    "MAX_WORKSPACE_BYTES",
    "FLOAT32_MAX",
    "TREE_RESOLUTION",
    "SAFE_EXPONENT",
]

# ---- Size limits ---------------------------------------------------------------------------------
# Checked before anything is allocated, so an absurd argument is a clear ValueError (with the limit,
# the reason and what to do) instead of a MemoryError, a numba "Allocation failed" or a run that
# never ends. Each limit is far above every documented or reference usage.

MAX_BINS = 1_000
"""Most histogram bins per code dim (`bins` of MIG, Modularity, MIG-sup, DCIMIG, JEMMIG,
mutual_info_score, InfoM/InfoC's histogram estimator; IRS's `factor_bins`). The reference uses
20 (Carbonneau et al.'s review 10); every (dim, factor) contingency table has `bins` columns and
mutual_info_score fills a `bins` x `bins` table per pair of dims, so `10**9` bins asked for
tens of GiB. 1,000 is 50 times the reference; with 10,000 points most of 1,000 bins are empty."""

MAX_CLASSES = 1_000
"""Most distinct values of one discrete factor for the metrics that fit one classifier output per
value (DCI: one tree per value and boosting stage; SAP: one one-vs-rest SVM per value; Explicitness,
InfoE: multinomial logistic regressions; InfoM/InfoC's kNN estimator: one neighbour search per
value; DCI-ES classification probes). Time and memory grow with the count: about 20,000 values
took minutes or ran out of memory. The reference data sets have at most 40 values per factor
(dSprites orientation) and continuous factors are usually discretized into about 20 bins."""

MAX_SAMPLES = 10_000_000
"""Most points `evaluate` draws per sample (`n`, `n_test`) and the intervention metrics per
estimate (`n_train`, `n_eval`, `n_variance`): 1,000 times the reference's 10,000. The factors
and codes of every point are held in memory at once."""

MAX_REPEATS = 10_000
"""Most repeats of `evaluate` / `evaluate_codes` (the WTC paper runs 50): one seed, one row per
metric and one full evaluation per repeat."""

MAX_BATCH_SIZE = 10_000
"""Most observations in one intervention group (`batch_size` of the beta-VAE and FactorVAE
scores; the reference's is 64)."""

MAX_GROUP_OBSERVATIONS = 50_000_000
"""Most observations the beta-VAE / FactorVAE score draws at once for its training or evaluation
points (points x group size; the factor vectors of all of them are drawn before encoding, 8 bytes
per factor each). The reference needs 1.28 million (beta-VAE: 10,000 points x 2 x 64)."""

MAX_WORKSPACE_BYTES = 2 * 1024**3
"""Largest scratch array a metric allocates for one computation (contingency tables, the tie-break
keys of DCI's boosting kernel, pairwise tables, bootstrap resamples): 2 GiB. The reference
settings need a few MB."""

# ---- Scale ---------------------------------------------------------------------------------------

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The largest float32. The tree-based metrics (DCI, DCI-ES forests) cast codes to float32 as
scikit-learn does, and scikit-learn refuses values beyond it; SAP's liblinear solver runs for
minutes on such values. They refuse `|codes|` above it with a ValueError."""

TREE_RESOLUTION = 1e-7
"""scikit-learn's trees (and DCI's numba re-implementation) never split between two float32 values
closer than this (`FEATURE_THRESHOLD`): differences below it are invisible to them."""

SAFE_EXPONENT = 300
"""Metrics that standardize or take covariances rescale a code dim by an exact power of two when its
largest magnitude is outside `[2**-SAFE_EXPONENT, 2**SAFE_EXPONENT]` (about 5e-91 to 2e90), so their
squares and sums neither overflow nor underflow. Inside that range nothing is rescaled (the
numbers are exactly those of the plain float64 computation); outside it the result is the one the
plain computation would give with an unbounded exponent, since scaling by a power of two is exact."""


def as_real_array(values, *, name: str, expected: str) -> np.ndarray:
    """`values` as a numpy array of a real (or boolean) dtype; a ValueError naming `name` otherwise."""
    if isinstance(values, (str, bytes)) or values is None:
        raise ValueError(f"{name} must be {expected}; got {type(values).__name__}.")
    arr = np.asarray(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued; got dtype {arr.dtype}.")
    return arr


def check_codes(codes, *, name: str = "codes", min_dims: int = 1, min_samples: int = 2) -> np.ndarray:
    """Return `codes` as a C-contiguous float array of shape (n, d).

    float32 input stays float32 (the reference binning computes its edges in the input's
    precision); every other real dtype becomes float64.
    """
    arr = as_real_array(codes, name=name, expected="a 2-D array of shape (n_samples, n_dims)")
    if arr.ndim != 2:
        hint = " Use codes[:, None] for a single dimension." if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_dims); got an array with shape {arr.shape}.{hint}")
    n, d = arr.shape
    if n < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples (rows); got {n}.")
    if d < min_dims:
        raise ValueError(
            f"{name} needs at least {min_dims} dimension(s) (columns); got {d}."
            + (" A gap between the best and second-best dimension needs two." if min_dims == 2 else "")
        )
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        bad_rows = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or infinite values (in {bad_rows.size} row(s), first at row {bad_rows[0]}); "
            "remove or fix those samples first."
        )
    with np.errstate(over="ignore"):
        spans = arr.max(axis=0) - arr.min(axis=0)
    if not np.isfinite(spans).all():
        column = int(np.flatnonzero(~np.isfinite(spans))[0])
        hint = " Convert it with codes.astype(np.float64), or rescale it." if dtype == np.float32 else " Rescale it."
        raise ValueError(
            f"{name}[:, {column}] spans a range (max - min) beyond the largest {np.dtype(dtype).name} "
            f"({np.finfo(dtype).max:.3g}): differences between its values overflow, so no metric can bin, "
            f"standardize or compare them (numpy's histogram refuses such data too).{hint}"
        )
    return arr


def _integral_factor_columns(arr: np.ndarray, name: str) -> np.ndarray:
    """Discrete factor columns as int64: integers as they are, floats only when every value is integral."""
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        return np.ascontiguousarray(arr, dtype=np.int64)
    if arr.size and np.abs(arr).max() >= 2.0**63:
        raise ValueError(
            f"{name} holds values of magnitude {np.abs(arr).max():.3g}, beyond the 64-bit integer range of factor "
            "indices; relabel each column first, e.g. np.unique(column, return_inverse=True)[1]."
        )
    if not np.array_equal(arr, np.round(arr)):
        raise ValueError(
            f"{name} must hold integer factor indices; got non-integer floats. Discretize continuous "
            "factors first, e.g. np.unique(column, return_inverse=True)[1] for a few distinct values, "
            "or np.digitize(column, np.histogram_bin_edges(column, 20)[:-1]) for equal-width bins."
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_factors(factors, *, n_samples: int | None = None, factor_types: Sequence[str] | None = None,
                  n_factors: int | None = None, require_variation: bool = True, name: str = "factors",
                  rows_of: str = "codes") -> np.ndarray:
    """The one validation of ground-truth factors (of a sample, a test split, a training part).

    Checks: a 2-D real array (`n_samples` rows, matching `rows_of`; `n_factors` columns when given), finite;
    discrete columns (all, when `factor_types` is None) hold integer indices (floats such as `3.0` are
    accepted), continuous columns stay within the float32 range (their squared errors must not overflow);
    with `require_variation`, every column takes at least two values (a test split need not).

    Returns an int64 array when every factor is discrete, otherwise float64.
    """
    if isinstance(factors, (str, bytes)) or factors is None:
        raise ValueError(f"{name} must be a 2-D integer array of shape (n_samples, n_factors).")
    arr = np.asarray(factors)
    if arr.ndim != 2:
        hint = " Use factors[:, None] for a single factor." if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_factors); got an array with shape {arr.shape}.{hint}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows but {rows_of} has {n_samples}; each row of {name} must give the "
            f"factors of the same sample as the corresponding row of {rows_of}."
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} needs at least one factor (column); got shape {arr.shape}.")
    if n_factors is not None and arr.shape[1] != n_factors:
        raise ValueError(f"{name} has {arr.shape[1]} factors but factors has {n_factors}; they must be the same factors.")
    types = tuple(factor_types) if factor_types is not None else ("discrete",) * arr.shape[1]
    if len(types) != arr.shape[1]:
        raise ValueError(f"factor_types has {len(types)} entries but {name} has {arr.shape[1]} columns.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be an integer array; got dtype {arr.dtype}." if "continuous" not in types
                         else f"{name} must be a real numeric array; got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    if "continuous" not in types:
        out = _integral_factor_columns(arr, name)
    else:
        out = np.ascontiguousarray(arr, dtype=np.float64)
        discrete = [k for k, t in enumerate(types) if t == "discrete"]
        if discrete:
            _integral_factor_columns(out[:, discrete], f"{name} (discrete columns {discrete})")
        for k in (k for k, t in enumerate(types) if t == "continuous"):
            if np.abs(out[:, k]).max() > FLOAT32_MAX:
                raise ValueError(
                    f"{name}[:, {k}] is a continuous factor with values beyond the float32 range (|value| up to "
                    f"{np.abs(out[:, k]).max():.3g} > {FLOAT32_MAX:.3g}): its squared errors and variances would "
                    "overflow. Rescale it first."
                )
    if require_variation:
        for k in range(out.shape[1]):
            column = out[:, k]
            if column.min() == column.max():
                raise ValueError(
                    f"{name}[:, {k}] takes a single value ({column[0]}) in this sample; a factor needs at least two "
                    "values to be measured. Drop that column or sample more points."
                )
    return out


def check_codes_and_factors(codes, factors, *, min_dims: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (codes, factors) pair of a sample metric."""
    codes = check_codes(codes, min_dims=min_dims)
    factors = check_factors(factors, n_samples=codes.shape[0])
    return codes, factors


def describe_seed(random_state):
    """What every result stores as its `random_state` parameter: the int (or None) as given, or the type
    name of a Generator (whose state is not a seed). Seeds derived from it for a fitted model are stored
    as `model_seed`."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    return type(random_state).__name__


def check_random_state(random_state) -> np.random.Generator:
    """An int, `None` or a numpy `Generator` -> a `Generator`.

    A `Generator` is used as is (and advanced); an int always gives the same stream.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, None or a numpy Generator; got {random_state}.")
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be an int, None or a numpy Generator; got {type(random_state).__name__}."
    )


def check_positive_int(value, *, name: str, minimum: int = 1, maximum: int | None = None, reason: str = "") -> int:
    """`value` as an int in [minimum, maximum]; a ValueError naming `name` otherwise.

    `reason` (why there is a `maximum`, what to do instead) ends the message of a value above it.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}; got {value:,}." + (f" {reason}" if reason else ""))
    return int(value)


def check_bins(bins, *, name: str = "bins") -> int:
    """A histogram bin count in [2, [`MAX_BINS`][dismetrics._validation.MAX_BINS]]."""
    return check_positive_int(
        bins, name=name, minimum=2, maximum=MAX_BINS,
        reason=(f"Every code dim's contingency tables get one column per bin (mutual_info_score a bins x bins table per "
                f"pair of dims), so the limit (dismetrics._validation.MAX_BINS) keeps them in memory; the reference uses 20."),
    )


def check_cardinality(factors: np.ndarray, *, metric: str, why: str, name: str = "factors",
                      columns: Sequence[int] | None = None, limit: int | None = None, where: str = "") -> None:
    """Refuse a discrete factor column with more than `limit`
    ([`MAX_CLASSES`][dismetrics._validation.MAX_CLASSES]) distinct values.

    `why` says what the metric does once per value (it goes into the message). `columns`: the
    discrete columns to check (default all); `where`: which part of the sample `factors` is
    (e.g. " in the training part of the random split").
    """
    limit = MAX_CLASSES if limit is None else limit
    for k in range(factors.shape[1]) if columns is None else columns:
        count = np.unique(factors[:, k]).size
        if count > limit:
            raise ValueError(
                f"{name}[:, {k}] takes {count:,} distinct values{where}; {metric} {why}, so it accepts at most {limit:,} values "
                "per factor (dismetrics._validation.MAX_CLASSES; the reference data sets have at most 40). Merge values "
                "or discretize the factor first, e.g. np.digitize(column, np.histogram_bin_edges(column, 20)[:-1])."
            )


def check_workspace(n_bytes: float, *, what: str, advice: str) -> None:
    """Refuse a computation whose scratch array `what` would exceed
    [`MAX_WORKSPACE_BYTES`][dismetrics._validation.MAX_WORKSPACE_BYTES]."""
    if n_bytes > MAX_WORKSPACE_BYTES:
        gib = float(min(n_bytes, 1e300)) / 1024**3
        raise ValueError(
            f"{what} would need {gib:,.4g} GiB, more than the {MAX_WORKSPACE_BYTES / 1024**3:.0f} GiB "
            f"limit (dismetrics._validation.MAX_WORKSPACE_BYTES). {advice}"
        )


def check_float32_range(codes: np.ndarray, *, name: str, metric: str, why: str) -> None:
    """Refuse values beyond the float32 range (|z| > [`FLOAT32_MAX`][dismetrics._validation.FLOAT32_MAX]), as
    scikit-learn's trees do."""
    peak = float(np.max(np.abs(codes))) if codes.size else 0.0
    if peak > FLOAT32_MAX:
        column = int(np.argmax(np.max(np.abs(codes), axis=0)))
        raise ValueError(
            f"{name} holds values beyond the float32 range (|value| up to {peak:.3g} in column {column}, the limit is "
            f"{FLOAT32_MAX:.3g}); {metric} {why}. Rescale the codes first (e.g. divide each dim by its standard "
            "deviation)."
        )


def check_tree_resolution(codes32: np.ndarray, codes: np.ndarray, *, name: str, metric: str,
                          resolution: float = TREE_RESOLUTION) -> None:
    """Refuse codes that vary but whose every dim varies by less than
    [`TREE_RESOLUTION`][dismetrics._validation.TREE_RESOLUTION].

    `codes32` is the float32 array the trees see. Trees never split between neighbouring values
    closer than 1e-7 (scikit-learn's `FEATURE_THRESHOLD`), so such codes (e.g. any code times
    1e-30) would give a tree that never splits and a score that does not depend on the code at all.
    Codes constant in every dim (nothing to split on either way) pass.
    """
    if codes.shape[0] < 2 or not np.any(codes.max(axis=0) > codes.min(axis=0)):
        return
    ordered = np.sort(codes32, axis=0)
    if np.any(ordered[1:] > ordered[:-1] + np.float32(resolution)):
        return
    what = f"more than {resolution:g} apart" if resolution > 0 else "that differ"
    raise ValueError(
        f"{name} varies, but no code dim has two neighbouring values {what} in float32, the precision {metric}'s trees "
        f"work in (like scikit-learn's, which never split between values closer than {TREE_RESOLUTION:g}), so no tree "
        "could split and the score would not depend on the code. Rescale the codes first (e.g. divide each dim by its "
        "standard deviation)."
    )


def scaled_to_safe_range(values: np.ndarray, *, per_column: bool = True,
                         safe_exponent: int = SAFE_EXPONENT) -> tuple[np.ndarray, np.ndarray]:
    """`values` rescaled by exact powers of two where their magnitude is outside the safe range.

    Returns `(scaled, exponents)` with `scaled = values * 2**-exponents` (per column, or one
    exponent for the whole array when `per_column` is False). A column whose largest magnitude
    lies in `[2**-safe_exponent, 2**safe_exponent]` (or is 0) keeps exponent 0 (`safe_exponent`:
    [`SAFE_EXPONENT`][dismetrics._validation.SAFE_EXPONENT] for computations with squares; smaller where
    higher powers of the codes appear, as in the Wasserstein correlation's products of variances); when every
    exponent is 0, `values` itself is returned, so the computation on ordinary codes is untouched. Otherwise
    the exponent brings the largest magnitude into [0.5, 1). Scaling by a power of two is exact in
    floating point, so a computation on `scaled` gives the numbers the same computation would give
    on `values` with an unbounded exponent range.
    """
    peaks = np.max(np.abs(values), axis=0) if values.size else np.zeros(values.shape[1:])
    if not per_column:
        peaks = np.max(peaks, initial=0.0)
    peaks = np.asarray(peaks, dtype=np.float64)
    _, exponents = np.frexp(peaks)
    outside = (peaks > 0) & ((peaks < 2.0**-safe_exponent) | (peaks > 2.0**safe_exponent))
    exponents = np.where(outside, exponents, 0).astype(np.int64)
    if not exponents.any():
        return values, exponents
    return np.ldexp(values, -exponents).astype(values.dtype, copy=False), exponents


def check_choice(value: _Choice, *, name: str, choices: Sequence) -> _Choice:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}.")
    return value
