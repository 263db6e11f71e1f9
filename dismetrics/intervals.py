"""Confidence intervals of a mean, and score tables summarized at two levels of noise.

Two noises are kept apart (see docs/evaluate.md, "Which interval answers which question"):

- **evaluation noise**: the repeats of one model dir (`evaluate(..., repeats=r)`) differ by the
  sample of points and the seeds of the metric. [`evaluation_level`][dismetrics.intervals.evaluation_level]
  gives, per model dir and metric, the mean over repeats and its interval. It answers "is *this* model better
  than *that* one on this metric?".
- **training-seed noise**: the model dirs of one configuration (model, data set, regularization
  strength, training steps) differ by their training seed. [`seed_level`][dismetrics.intervals.seed_level]
  gives, per configuration and metric, the mean over seeds of the per-model means and the interval over seeds.
  It answers "is *this method* (at this strength) better than *that one*?".

The interval of a mean ([`mean_interval`][dismetrics.intervals.mean_interval]) is by default Student's t,
`mean ± t_{1-a/2, n-1} s / sqrt(n)`: with the repeat counts people use (3 to 10) the percentile bootstrap and
BCa cover far less than their nominal 95% (benchmarks/interval_coverage.py measures it; the numbers are in
docs/evaluate.md). The bootstrap methods are named options, for comparison.

Only numpy, scipy and pandas are imported.
"""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "METHODS",
    "DEFAULT_METHOD",
    "CONFIG_COLUMNS",
    "Interval",
    "mean_interval",
    "mean_intervals",
    "evaluation_level",
    "seed_level",
    "summarize_levels",
    "Levels",
]

METHODS = ("t", "bca", "percentile")
"""Interval methods: `"t"` (Student's t, the default), `"bca"` (bias-corrected and accelerated
bootstrap, `scipy.stats.bootstrap`) and `"percentile"` (percentile bootstrap: what
`summarize` gave before; it covers 76% at 3 repeats when it says 95%)."""
DEFAULT_METHOD = "t"
DEFAULT_RESAMPLES = 9999
"""Resamples of the bootstrap methods (scipy's default)."""
CONFIG_COLUMNS = ("model", "dataset", "regularization", "regularization_value", "steps")
"""The columns of a score table that define a configuration: the model dirs that agree on all of them
are training seeds of one configuration."""

NO_VALUES = "no values"
"""The `note` of an interval that could not be formed."""
ONE_VALUE = "fewer than 2 values: no interval"
BOOTSTRAP_FAILED = "the bootstrap gave no interval (too few distinct values)"


@dataclass(frozen=True)
class Interval:
    """The interval of the mean of `n` values.

    `low`/`high` are NaN when there is no interval (`n < 2`, or a bootstrap that could not form
    one); `note` then says why and `defined` is False. A sample whose values are all equal gives
    the degenerate interval `[mean, mean]` (`note` says so, `defined` is True): every method
    agrees that the repeats do not vary; for a deterministic metric that is the truth, otherwise it
    means that `n` was too small to see the noise.
    """

    low: float
    high: float
    mean: float
    n: int
    method: str
    confidence: float
    note: str = ""

    @property
    def defined(self) -> bool:
        return bool(np.isfinite(self.low) and np.isfinite(self.high))

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def _check_method(method: str) -> str:
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    return method.lower()


def _check_confidence(confidence) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number in (0, 1); got {confidence!r}.")
    return float(confidence)


def _check_resamples(n_resamples) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an int >= 100; got {n_resamples!r}.")
    return int(n_resamples)


def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    whole = isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
    if random_state is None or (whole and random_state >= 0):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, a non-negative int or a numpy Generator; got {random_state!r}.")


_BOOTSTRAP_RNG = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"  # scipy < 1.15


def _bootstrap_bounds(samples: np.ndarray, method: str, confidence: float, rng, n_resamples: int):
    """Bootstrap intervals of the row means of `samples` (rows with some spread, no NaN)."""
    low = np.full(samples.shape[0], np.nan)
    high = np.full(samples.shape[0], np.nan)
    # a few hundred rows at a time: scipy holds rows x resamples x n values at once
    step = max(1, int(2e7 // max(1, n_resamples * samples.shape[1])))
    for start in range(0, samples.shape[0], step):
        part = samples[start : start + step]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DegenerateDataWarning: the NaN it gives is reported as a note
            result = stats.bootstrap((part,), np.mean, n_resamples=n_resamples, vectorized=True, axis=-1,
                                     confidence_level=confidence, method="BCa" if method == "bca" else "percentile",
                                     **{_BOOTSTRAP_RNG: rng})
        low[start : start + step] = result.confidence_interval.low
        high[start : start + step] = result.confidence_interval.high
    return low, high


def _finite(values, *, ndim: int, name: str, shape: str) -> np.ndarray:
    """`values` as a float64 array of rank `ndim`, all finite (a NaN score is a failed repeat: the caller
    drops and counts it)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {shape}; got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite: drop the NaN of failed repeats first (and count them).")
    return array


def mean_intervals(samples, *, method: str = DEFAULT_METHOD, confidence: float = 0.95, random_state=0,
                   n_resamples: int = DEFAULT_RESAMPLES):
    """Intervals of the means of the rows of a 2-D array `(k, n)` at once: `(low, high)` arrays.

    What [`mean_interval`][dismetrics.intervals.mean_interval] computes, vectorized over `k` samples of equal
    size `n` (the coverage simulation calls it with thousands of rows). Values must be finite. Rows whose
    values are all equal give `[mean, mean]`; `n < 2` gives NaN bounds. `t`: `mean ± t_{(1+c)/2, n-1}
    s / sqrt(n)` with `s` the standard deviation (ddof=1). `bca`/`percentile`:
    `scipy.stats.bootstrap` with `n_resamples` resamples drawn from `random_state`.
    """
    method = _check_method(method)
    confidence = _check_confidence(confidence)
    values = _finite(samples, ndim=2, name="samples", shape="a 2-D array (samples x values)")
    k, n = values.shape
    if n < 2:
        return np.full(k, np.nan), np.full(k, np.nan)
    mean = values.mean(axis=1)
    flat = np.ptp(values, axis=1) == 0
    if method == "t":
        half = stats.t.ppf((1 + confidence) / 2, n - 1) * values.std(axis=1, ddof=1) / math.sqrt(n)
        half[flat] = 0.0
        return mean - half, mean + half
    low, high = mean.copy(), mean.copy()
    spread = ~flat
    if spread.any():
        low[spread], high[spread] = _bootstrap_bounds(values[spread], method, confidence, _rng(random_state),
                                                      _check_resamples(n_resamples))
    return low, high


def mean_interval(values, *, method: str = DEFAULT_METHOD, confidence: float = 0.95, random_state=0,
                  n_resamples: int = DEFAULT_RESAMPLES) -> Interval:
    """The `confidence` interval of the mean of `values`.

    Parameters
    ----------
    values : 1-D array-like of finite floats
        NaN or inf is refused (`ValueError`): a NaN score is a failed repeat, and the caller drops
        it and says how many it dropped (as [`evaluation_level`][dismetrics.intervals.evaluation_level] does
        with `n_failed`).
    method : {"t", "bca", "percentile"}
        `"t"` (default): Student's t interval `mean ± t_{(1+c)/2, n-1} s / sqrt(n)`, s with ddof=1.
        It assumes roughly normal means; measured coverage of a nominal 95%: 95% for normal values at
        any n, 91 to 94% for skewed or bounded scores at 3 to 30 values (docs/evaluate.md).
        `"bca"`: BCa bootstrap (`scipy.stats.bootstrap`), `"percentile"`: the percentile
        bootstrap; both cover far too little with fewer than ~10 values and are kept for comparison.
    confidence : float in (0, 1)
    random_state : int, None or numpy Generator
        Seeds the bootstrap (the t interval draws nothing). An int gives the same interval every call.
    n_resamples : int
        Bootstrap resamples.

    Returns
    -------
    Interval
        `low`, `high`, `mean`, `n`, `method`, `confidence`, `note`. With fewer than 2
        values there is no interval: `low` and `high` are NaN (`mean` is the one value, or NaN
        for none) and `note` says so. Values that are all equal give `[mean, mean]`.
    """
    method = _check_method(method)
    confidence = _check_confidence(confidence)
    array = _finite(values, ndim=1, name="values", shape="1-D")
    n = int(array.size)
    nan = float("nan")
    if n == 0:
        return Interval(nan, nan, nan, 0, method, confidence, NO_VALUES)
    mean = float(array.mean())
    if n == 1:
        return Interval(nan, nan, mean, 1, method, confidence, ONE_VALUE)
    low, high = mean_intervals(array[None, :], method=method, confidence=confidence, random_state=random_state,
                               n_resamples=n_resamples)
    low, high = float(low[0]), float(high[0])
    if np.ptp(array) == 0:
        note = "all values equal: degenerate interval"
    elif not (np.isfinite(low) and np.isfinite(high)):
        low, high, note = nan, nan, BOOTSTRAP_FAILED
    else:
        note = ""
    return Interval(low, high, mean, n, method, confidence, note)


# --------------------------------------------------------------------------------------------------
# Score tables at two levels


def _usable(frame: pd.DataFrame) -> pd.DataFrame:
    missing = {"metric", "value"} - set(getattr(frame, "columns", []))
    if missing:
        raise ValueError(f"frame must be a score table with columns metric and value; missing {sorted(missing)}.")
    table = frame[frame["metric"].notna()].copy()
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    error = table["error"].fillna("").astype(str) if "error" in table else pd.Series("", index=table.index)
    table["_ok"] = (error == "") & np.isfinite(table["value"].to_numpy(dtype=np.float64))
    return table


def _first(series: pd.Series):
    present = series.dropna()
    return present.iloc[0] if len(present) else None


def evaluation_level(frame, *, method: str = DEFAULT_METHOD, confidence: float = 0.95, random_state=0,
                     n_resamples: int = DEFAULT_RESAMPLES, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Evaluation noise: per model dir and metric, the mean over repeats and its interval.

    `frame` is a score table: `evaluate()`'s (columns `metric`, `value`, ...) or a combined
    one (`dismetrics score --out`, `dismetrics.scoring.TABLE_COLUMNS`). Rows with an
    `error` or a non-finite `value` are failed repeats: they are left out and counted in
    `n_failed`. Rows without a `metric` (a model dir that failed as a whole) are ignored.

    `by`: the columns that name one model; default `["model_dir"]` when the table has that
    column, else none (the whole table is one model, as `evaluate()` gives).

    Returns one row per (model, metric), models and metrics in order of first appearance, with the
    `by` columns, the configuration columns the table has
    ([`CONFIG_COLUMNS`][dismetrics.intervals.CONFIG_COLUMNS] and `model_seed`; one value per model dir), then
    `metric`, `n_repeats` (values used), `n_failed`, `mean`, `std` (ddof=1, NaN below 2 values), `ci_low`,
    `ci_high`, `ci_method` and `ci_note` (empty, or why there is no interval: see
    [`mean_interval`][dismetrics.intervals.mean_interval]). Every interval uses `random_state` afresh, so a
    row does not depend on the others.
    """
    method = _check_method(method)
    confidence = _check_confidence(confidence)
    table = _usable(frame)
    if by is None:
        by = ["model_dir"] if "model_dir" in table.columns else []
    by = list(by)
    stray = [c for c in by if c not in table.columns]
    if stray:
        raise ValueError(f"by: the table has no column(s) {stray}.")
    described = [c for c in (*CONFIG_COLUMNS, "model_seed") if c in table.columns and c not in by]
    records = []
    groups = table.groupby(by, sort=False, dropna=False) if by else [((), table)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        description = {c: _first(part[c]) for c in described}
        for metric, rows in part.groupby("metric", sort=False):
            values = rows.loc[rows["_ok"], "value"].to_numpy(dtype=np.float64)
            interval = mean_interval(values, method=method, confidence=confidence, random_state=random_state,
                                     n_resamples=n_resamples)
            records.append({**dict(zip(by, key)), **description, "metric": metric, "n_repeats": int(values.size),
                            "n_failed": int((~rows["_ok"]).sum()), "mean": interval.mean,
                            "std": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                            "ci_low": interval.low, "ci_high": interval.high, "ci_method": method,
                            "ci_note": interval.note})
    columns = [*by, *described, "metric", "n_repeats", "n_failed", "mean", "std", "ci_low", "ci_high", "ci_method", "ci_note"]
    return pd.DataFrame(records, columns=columns)


def _config_keys(models: pd.DataFrame, config_columns: Sequence[str]) -> pd.Series:
    """A hashable configuration key per model row; a model dir that records none of the configuration
    columns (a codes-only dir without a config) is a configuration of its own."""
    present = [c for c in config_columns if c in models.columns]

    def key(row):
        values = tuple(None if pd.isna(row[c]) else row[c] for c in present)
        if all(v is None for v in values):
            return ("model_dir", row.get("model_dir"))
        return values

    return models.apply(key, axis=1) if len(models) else pd.Series([], dtype=object)


def seed_level(frame, *, method: str = DEFAULT_METHOD, confidence: float = 0.95, random_state=0,
               n_resamples: int = DEFAULT_RESAMPLES, config_columns: Sequence[str] = CONFIG_COLUMNS,
               models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Training-seed noise: per configuration and metric, the mean over seeds and the interval over seeds.

    A configuration is the model dirs that agree on `config_columns` (model, data set,
    regularization and its value, training steps); each model dir is one training seed. A model dir
    that records none of them (a codes-only dir without a config) is a configuration of its own.

    Two-stage (hierarchical) mean: each model dir is first reduced to the mean of its repeats
    ([`evaluation_level`][dismetrics.intervals.evaluation_level]; `models` may pass that table in), and the
    sample of the seed level is those per-model means `m_1 .. m_k`:

    - `mean` = (1/k) sum m_j: every seed weighs the same, whatever its number of repeats;
    - `seed_std` = std(m_1 .. m_k, ddof=1): the spread across seeds, which holds the training
      noise plus the evaluation noise left in each per-model mean: `var(m_j) = s_train^2 +
      s_eval^2 / r` with `r` repeats per model;
    - `ci_low`/`ci_high`: [`mean_interval`][dismetrics.intervals.mean_interval] of `m_1 .. m_k` (t by
      default). It is the interval of the configuration's mean over training seeds (the "method" mean), and it
      is exact for normal seed and evaluation noise when every model dir has the same number of repeats
      (then the m_j are independent and identically distributed). With unequal repeats it is an
      approximation (`min_repeats`/`max_repeats` show it). One seed gives no interval;
    - `eval_std` = sqrt(mean over models of the repeat variance): the pooled evaluation std
      (models with 2+ repeats), for comparison with `seed_std`;
    - `train_std` = sqrt(max(0, seed_std^2 - eval_std^2 / r)) with `r` the mean number of
      repeats: the one-way random-effects (ANOVA) estimate of the training-seed std alone (NaN when
      there is no `eval_std` or fewer than 2 seeds).

    Returns one row per (configuration, metric), with the configuration columns the table has,
    `metric`, `n_seeds` (model dirs with at least one value), `min_repeats`, `max_repeats`,
    `mean`, `seed_std`, `ci_low`, `ci_high`, `eval_std`, `train_std`, `ci_method`,
    `ci_note` and `model_dirs` (the dirs, `;`-joined).
    """
    method = _check_method(method)
    confidence = _check_confidence(confidence)
    if models is None:
        models = evaluation_level(frame, method=method, confidence=confidence, random_state=random_state,
                                  n_resamples=n_resamples)
    if "model_dir" not in models.columns:
        models = models.assign(model_dir="")
    present = [c for c in config_columns if c in models.columns]
    models = models[models["n_repeats"] > 0].copy()
    models["_config"] = _config_keys(models, present)
    records = []
    for config, part in models.groupby("_config", sort=False):
        description = {c: _first(part[c]) for c in present}
        for metric, rows in part.groupby("metric", sort=False):
            means = rows["mean"].to_numpy(dtype=np.float64)
            interval = mean_interval(means, method=method, confidence=confidence, random_state=random_state,
                                     n_resamples=n_resamples)
            repeats = rows["n_repeats"].to_numpy()
            variances = rows["std"].to_numpy(dtype=np.float64) ** 2
            variances = variances[np.isfinite(variances)]
            eval_std = float(np.sqrt(variances.mean())) if variances.size else float("nan")
            seed_std = float(means.std(ddof=1)) if means.size > 1 else float("nan")
            train_std = (float(np.sqrt(max(0.0, seed_std**2 - eval_std**2 / repeats.mean())))
                         if np.isfinite(seed_std) and np.isfinite(eval_std) else float("nan"))
            note = interval.note
            if interval.note == ONE_VALUE:
                note = "1 seed: no interval over seeds"
            records.append({**description, "metric": metric, "n_seeds": int(means.size),
                            "min_repeats": int(repeats.min()), "max_repeats": int(repeats.max()),
                            "mean": interval.mean, "seed_std": seed_std, "ci_low": interval.low,
                            "ci_high": interval.high, "eval_std": eval_std, "train_std": train_std,
                            "ci_method": method, "ci_note": note,
                            "model_dirs": ";".join(str(d) for d in rows["model_dir"])})
    columns = [*present, "metric", "n_seeds", "min_repeats", "max_repeats", "mean", "seed_std", "ci_low", "ci_high",
               "eval_std", "train_std", "ci_method", "ci_note", "model_dirs"]
    return pd.DataFrame(records, columns=columns)


class Levels(NamedTuple):
    """[`summarize_levels`][dismetrics.intervals.summarize_levels]' two tables."""

    evaluation: pd.DataFrame
    """Per model dir and metric: mean over repeats, evaluation interval
    ([`evaluation_level`][dismetrics.intervals.evaluation_level])."""
    seeds: pd.DataFrame
    """Per configuration and metric: mean over seeds, interval over seeds
    ([`seed_level`][dismetrics.intervals.seed_level])."""


def summarize_levels(frame, *, method: str = DEFAULT_METHOD, confidence: float = 0.95, random_state=0,
                     n_resamples: int = DEFAULT_RESAMPLES, config_columns: Sequence[str] = CONFIG_COLUMNS) -> Levels:
    """Both levels of a combined score table: `Levels(evaluation=..., seeds=...)`.

    `evaluation`: [`evaluation_level`][dismetrics.intervals.evaluation_level] (per model dir); `seeds`:
    [`seed_level`][dismetrics.intervals.seed_level] computed from it (per configuration). A table without
    `model_dir` is one model: `seeds` then has one row per metric with `n_seeds` 1 and no interval.
    """
    kwargs: dict[str, Any] = {"method": method, "confidence": confidence, "random_state": random_state,
                              "n_resamples": n_resamples}
    evaluation = evaluation_level(frame, **kwargs)
    return Levels(evaluation, seed_level(None, models=evaluation, config_columns=config_columns, **kwargs))
