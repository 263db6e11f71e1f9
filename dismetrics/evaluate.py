"""Every metric of one representation, repeated with independent seeds, as one tidy table.

[`evaluate`][dismetrics.evaluate.evaluate] draws one sample of `n` points (and a test sample of `n_test`
points where a metric has a test split), encodes it once, runs every sample metric and unsupervised score on
those codes, runs the intervention metrics (beta-VAE, FactorVAE) against the sampler, and repeats the whole
thing `repeats` times with independent seeds. [`summarize`][dismetrics.evaluate.summarize] turns the table
into mean, std and a 95% interval (Student's t by default) per metric, keeping the evaluation noise of a model
apart from the training-seed noise of a configuration when the table holds several model dirs.
"""

from __future__ import annotations

import inspect
import numbers
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._progress import progress_bar
from ._validation import MAX_REPEATS, MAX_SAMPLES, check_choice, check_positive_int, check_random_state, check_workspace
from .metrics import SAMPLE_METRICS, UNSUPERVISED_METRICS
from .metrics._intervention import DEFAULT_CHUNK_SIZE, check_sampler
from .metrics.beta_vae import beta_vae_score
from .metrics.factor_vae import factor_vae_score
from .metrics.presets import preset_params
from .representation import as_representation

__all__ = ["evaluate", "evaluate_codes", "summarize", "INTERVENTION_METRICS", "available_metrics", "repeat_seeds"]

INTERVENTION_METRICS: dict[str, Callable] = {
    "beta_vae": beta_vae_score,
    "factor_vae": factor_vae_score,
}
"""The intervention metrics, which need a sampler and a representation:
name -> `f(representation, sampler, *, random_state, preset, progress, ...)`."""

SAMPLED_SUFFIX = "_sampled"
"""Suffix of the unsupervised scores of the sampled representation z ~ N(mean, exp(logvar))."""

MAX_N_BOOT = 1_000_000
"""Most bootstrap resamples of [`summarize`][dismetrics.evaluate.summarize] (bootstrap methods; default
9,999): each resample draws one index per repeat."""

_REPEATS_REASON = ("Every repeat is a full evaluation with its own seed; the WTC paper runs 50 "
                   "(dismetrics._validation.MAX_REPEATS).")
_SAMPLES_REASON = ("The factors and codes of all points are drawn and held at once; the reference uses 10,000 "
                   "(dismetrics._validation.MAX_SAMPLES).")


def _check_repeats(repeats) -> int:
    return check_positive_int(repeats, name="repeats", maximum=MAX_REPEATS, reason=_REPEATS_REASON)


def available_metrics() -> dict[str, str]:
    """Every metric [`evaluate`][dismetrics.evaluate.evaluate] knows right now: name -> kind ("sample",
    "unsupervised", "intervention")."""
    known = {name: "sample" for name in SAMPLE_METRICS}
    known.update({name: "unsupervised" for name in UNSUPERVISED_METRICS})
    known.update({name: "intervention" for name in INTERVENTION_METRICS})
    return known


def repeat_seeds(random_state, repeats: int) -> list[int]:
    """The seed of each repeat: `np.random.SeedSequence(random_state).spawn(repeats)`, each child
    turned into one 63-bit int (`generate_state`). A Generator `random_state` first gives the int
    entropy; None gives fresh entropy. Passing a repeat's seed as `random_state` to a metric
    reproduces that repeat's row."""
    if isinstance(random_state, np.random.Generator):
        entropy = int(random_state.integers(0, 2**63 - 1))
    elif random_state is None:
        entropy = None
    else:
        check_random_state(random_state)  # validates the int
        entropy = int(random_state)
    children = np.random.SeedSequence(entropy).spawn(repeats)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def _select(metrics, exclude: Sequence[str] = ()) -> list[str]:
    known = available_metrics()
    exclude = [exclude] if isinstance(exclude, str) else list(exclude or ())
    stray = [name for name in exclude if name not in known]
    if stray:
        raise ValueError(f"exclude: unknown metric(s) {stray}; known metrics are {sorted(known)}.")
    if isinstance(metrics, str):
        if metrics == "all":
            return [name for name in known if name not in exclude]
        metrics = [metrics]
    selected = list(dict.fromkeys(metrics))
    unknown = [name for name in selected if name not in known]
    if unknown or not selected:
        raise ValueError(
            f"metrics: unknown metric(s) {unknown}; known metrics are {sorted(known)} (or 'all')."
            if unknown
            else "metrics must name at least one metric, or be 'all'."
        )
    return [name for name in selected if name not in exclude]


def _accepted(func: Callable, offered: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `offered` that `func` names in its signature."""
    try:
        names = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}
    return {key: value for key, value in offered.items() if key in names}


def _encode(rep, sampler, factors, rng, chunk_size):
    """Means and log-variances (or None) of the points with the given factors, chunk by chunk."""
    means, logvars = [], []
    for start in range(0, factors.shape[0], chunk_size):
        observations = sampler.sample_observations_from_factors(factors[start : start + chunk_size], rng)
        mean, logvar = rep.encode(observations)
        means.append(mean)
        logvars.append(logvar)
    mean = np.concatenate(means)
    logvar = None if any(lv is None for lv in logvars) else np.concatenate(logvars)
    return mean, logvar


def _sampled(mean, logvar, rng):
    return mean + np.exp(0.5 * logvar) * rng.standard_normal(mean.shape)


def _row(name: str, result, repeat: int, seed: int, seconds: float) -> dict[str, Any]:
    row = {"metric": name, "value": float(result), "repeat": repeat, "seed": seed, "seconds": seconds, "error": ""}
    if hasattr(result, "to_row"):
        row.update({key: value for key, value in result.to_row().items() if key.startswith("detail.")})
    return row


def _run_metric(name: str, call: Callable[[], Any], repeat: int, seed: int) -> dict[str, Any]:
    """One row; a metric that rejects these codes (`ValueError`) gives `value` NaN and its message in
    `error`, so a NaN never comes without its reason and one metric cannot stop the others."""
    start = time.perf_counter()
    try:
        result = call()
    except ValueError as error:
        return {"metric": name, "value": float("nan"), "repeat": repeat, "seed": seed,
                "seconds": time.perf_counter() - start, "error": str(error)}
    return _row(name, result, repeat, seed, time.perf_counter() - start)


def _score_codes(codes, factors, extra, sampled_codes, sample_names, unsupervised_names, common, metric_params,
                 repeat, seed, bar) -> list[dict[str, Any]]:
    """Rows of the sample metrics and unsupervised scores on one set of codes."""
    rows = []
    for name in sample_names:
        func = SAMPLE_METRICS[name]
        kwargs = {**_accepted(func, {**common, **extra}), **metric_params.get(name, {})}
        rows.append(_run_metric(name, lambda: func(codes, factors, **kwargs), repeat, seed))
        bar.update(1)
    for name in unsupervised_names:
        func = UNSUPERVISED_METRICS[name]
        kwargs = {**_accepted(func, common), **metric_params.get(name, {})}
        variants = [(name, codes)]
        if sampled_codes is not None:
            variants.append((name + SAMPLED_SUFFIX, sampled_codes))
        for label, these_codes in variants:
            rows.append(_run_metric(label, lambda: func(these_codes, **kwargs), repeat, seed))
        bar.update(1)
    return rows


def _tidy(rows):
    import pandas as pd

    frame = pd.DataFrame(rows)
    leading = ["metric", "value", "repeat", "seed", "seconds", "error"]
    for column in leading:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
    return frame[leading + [c for c in frame.columns if c not in leading]]


def _check_metric_params(metric_params) -> dict:
    metric_params = dict(metric_params or {})
    stray = [name for name in metric_params if name not in available_metrics()]
    if stray:
        raise ValueError(f"metric_params: unknown metric(s) {stray}; known metrics are {sorted(available_metrics())}.")
    return metric_params


def evaluate_codes(
    codes,
    factors,
    metrics: str | Sequence[str] = "all",
    *,
    codes_test=None,
    factors_test=None,
    exclude: Sequence[str] = (),
    repeats: int = 1,
    random_state=0,
    preset: str = "disentanglement_lib",
    metric_params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool | None = None,
):
    """The sample metrics and unsupervised scores of precomputed codes, as
    [`evaluate`][dismetrics.evaluate.evaluate]'s table.

    For users with codes but no encoder (a model dir's `codes.npz`). The intervention metrics need an
    encoder and a sampler: with `metrics="all"` they are left out; named explicitly, they raise.
    Repeats use the seeds of [`repeat_seeds`][dismetrics.evaluate.repeat_seeds]; deterministic metrics give
    the same value in every repeat. Metrics with a test split get `codes_test`/`factors_test` when given
    (otherwise they split the sample themselves, as their docs say). `repeats` is at most 10,000
    ([`dismetrics._validation.MAX_REPEATS`][dismetrics._validation.MAX_REPEATS]).
    """
    repeats = _check_repeats(repeats)
    kinds = available_metrics()
    selected = _select(metrics, exclude)
    if not (isinstance(metrics, str) and metrics == "all"):
        needs_encoder = [m for m in selected if kinds[m] == "intervention"]
        if needs_encoder:
            raise ValueError(f"metrics {needs_encoder} need a representation and a sampler (use evaluate); codes alone cannot give them.")
    metric_params = _check_metric_params(metric_params)
    sample_names = [m for m in selected if kinds[m] == "sample"]
    unsupervised_names = [m for m in selected if kinds[m] == "unsupervised"]
    if (codes_test is None) != (factors_test is None):
        raise ValueError("codes_test and factors_test must be given together.")
    extra = {} if codes_test is None else {"codes_test": codes_test, "factors_test": factors_test}
    rows: list[dict[str, Any]] = []
    with progress_bar(total=repeats * (len(sample_names) + len(unsupervised_names)), desc="evaluate", progress=progress) as bar:
        for repeat, seed in enumerate(repeat_seeds(random_state, repeats)):
            common = {"random_state": seed, "preset": preset}
            rows += _score_codes(codes, factors, extra, None, sample_names, unsupervised_names, common, metric_params,
                                 repeat, seed, bar)
    return _tidy(rows)


def evaluate(
    representation,
    sampler,
    metrics: str | Sequence[str] = "all",
    *,
    n: int | None = None,
    n_test: int | None = None,
    repeats: int | None = None,
    random_state=0,
    preset: str = "disentanglement_lib",
    metric_params: Mapping[str, Mapping[str, Any]] | None = None,
    exclude: Sequence[str] = (),
    sampled: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
):
    """Run many metrics on one representation, `repeats` times, into a tidy DataFrame.

    Each repeat r uses its own seed `seeds[r]` (see [`repeat_seeds`][dismetrics.evaluate.repeat_seeds]:
    `np.random.SeedSequence(random_state).spawn(repeats)`, so repeats are independent and the table
    is reproducible from `random_state`). Within a repeat, a Generator seeded with `seeds[r]` draws
    `n` points (factors uniform on the grid) and then, if a selected metric takes a test split,
    `n_test` more; their observations are encoded once and every sample metric
    (`dismetrics.metrics.SAMPLE_METRICS`: `f(codes, factors, ...)`) and unsupervised score
    (`UNSUPERVISED_METRICS`: `f(codes, ...)`) runs on those codes. `codes_test`/`factors_test`,
    `random_state` (= `seeds[r]`) and `preset` are passed to the metrics whose signature names
    them. The intervention metrics (beta-VAE, FactorVAE) run with `random_state=seeds[r]`, so
    `factor_vae_score(rep, sampler, random_state=seed)` reproduces a row.

    When the encoder returns a log-variance and `sampled` is True, the unsupervised scores are also
    computed on the sampled representation z ~ N(mean, exp(logvar)), named `<metric>_sampled`.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation
        See [`dismetrics.as_representation`][dismetrics.representation.as_representation].
    sampler : GroundTruthSampler
    metrics : "all", a metric name or a list of names
        `available_metrics()` lists the names known now.
    n, n_test, repeats : int, optional
        Sample sizes and number of repeats; None takes the preset's (10,000, 5,000 and 1 for
        `"disentanglement_lib"`; 12,800, 5,000 and 50 for `"wtc_paper"`). At most 10 million
        points per sample and 10,000 repeats
        ([`dismetrics._validation.MAX_SAMPLES`][dismetrics._validation.MAX_SAMPLES], `MAX_REPEATS`): a larger
        value is a `ValueError` before anything is drawn.
    random_state : int, None or numpy Generator
    preset : {"disentanglement_lib", "wtc_paper"}
        Passed on to every metric that takes a preset.
    metric_params : dict, optional
        Extra keyword arguments per metric name, e.g. `{"beta_vae": {"n_train": 500}}`.
    exclude : list of names
        Metrics to leave out (e.g. `["dci_es"]`, which takes minutes at n = 10,000).
    sampled : bool
        Also score the sampled representation with the unsupervised scores (when there is a logvar).
    chunk_size : int
        Observations per call of the representation.
    progress : bool or None
        Progress bars; None shows them when stderr is a terminal.

    Returns
    -------
    pandas.DataFrame
        One row per (repeat, metric): `metric`, `value`, `repeat`, `seed`, `seconds` (time
        of the metric itself, encoding excluded), `error` (empty, or the message of the
        `ValueError` with which a metric rejected this representation; its `value` is then NaN)
        and the metric's scalar details as `detail.*` columns. [`summarize`][dismetrics.evaluate.summarize]
        gives mean, std and confidence intervals.
    """
    settings = preset_params(preset, "evaluate", n=n, n_test=n_test, repeats=repeats)
    n = check_positive_int(settings["n"], name="n", minimum=2, maximum=MAX_SAMPLES, reason=_SAMPLES_REASON)
    n_test = check_positive_int(settings["n_test"], name="n_test", minimum=2, maximum=MAX_SAMPLES, reason=_SAMPLES_REASON)
    repeats = _check_repeats(settings["repeats"])
    chunk_size = check_positive_int(chunk_size, name="chunk_size")
    check_sampler(sampler)
    rep = as_representation(representation)
    selected = _select(metrics, exclude)
    metric_params = _check_metric_params(metric_params)
    kinds = available_metrics()
    sample_names = [m for m in selected if kinds[m] == "sample"]
    unsupervised_names = [m for m in selected if kinds[m] == "unsupervised"]
    intervention_names = [m for m in selected if kinds[m] == "intervention"]
    needs_test = any(
        _accepted(SAMPLE_METRICS[m], {"codes_test": None, "factors_test": None}) for m in sample_names
    )
    seeds = repeat_seeds(random_state, repeats)

    rows: list[dict[str, Any]] = []
    total = repeats * len(selected)
    with progress_bar(total=total, desc="evaluate", progress=progress) as bar:
        for repeat, seed in enumerate(seeds):
            common = {"random_state": seed, "preset": preset}
            if sample_names or unsupervised_names:
                rng = np.random.default_rng(seed)
                factors = sampler.sample_factors(n, rng)
                mean, logvar = _encode(rep, sampler, factors, rng, chunk_size)
                codes = rep.codes_from(mean, logvar)
                extra: dict[str, Any] = {}
                if needs_test:
                    factors_test = sampler.sample_factors(n_test, rng)
                    mean_test, logvar_test = _encode(rep, sampler, factors_test, rng, chunk_size)
                    codes_test = rep.codes_from(mean_test, logvar_test)
                    extra = {"codes_test": codes_test, "factors_test": factors_test}
                sampled_codes = _sampled(mean, logvar, rng) if (sampled and logvar is not None and rep.mode == "mean") else None
                rows += _score_codes(codes, factors, extra, sampled_codes, sample_names, unsupervised_names, common,
                                     metric_params, repeat, seed, bar)
            for name in intervention_names:
                func = INTERVENTION_METRICS[name]
                kwargs = {"chunk_size": chunk_size, "progress": False, **common, **metric_params.get(name, {})}
                rows.append(_run_metric(name, lambda: func(rep, sampler, **kwargs), repeat, seed))
                bar.update(1)

    return _tidy(rows)


def summarize(frame, *, confidence: float = 0.95, method: str = "t", level: str = "auto", random_state=0,
              n_resamples: int | None = None, n_boot: int | None = None):
    """Mean, std (ddof=1) and a confidence interval of the mean of `value` per metric.

    Parameters
    ----------
    frame : pandas.DataFrame
        A score table: [`evaluate`][dismetrics.evaluate.evaluate]'s (columns `metric`, `value`, ...) or a
        combined one from `dismetrics score --out` (with `model_dir` and the model's configuration columns).
    confidence : float, default 0.95
        Nominal coverage of the intervals.
    method : {"t", "bca", "percentile"}, default "t"
        The interval of a mean ([`dismetrics.intervals.mean_interval`][dismetrics.intervals.mean_interval]).
        `"t"`: Student's t, `mean +- t_{(1+confidence)/2, n-1} s / sqrt(n)`, which covers 95.0-95.1% of normal
        samples at 3 to 30 repeats (`benchmarks/interval_coverage.py`, docs "Encoders and evaluate"). `"bca"`
        and `"percentile"`: `scipy.stats.bootstrap` (seeded by `random_state`); at 3 repeats they cover
        about 72-75%, so they are options for comparison only. The method is recorded in `ci_method`.
    level : {"auto", "evaluation", "seeds"}, default "auto"
        `"evaluation"`: the noise of the evaluation, one row per (model dir, metric) over its repeats
        (a table from [`evaluate`][dismetrics.evaluate.evaluate] is one model). `"seeds"`: the noise of
        training, one row per (configuration, metric) over its model dirs' means
        ([`dismetrics.intervals.seed_level`][dismetrics.intervals.seed_level]). `"auto"`: both, as a
        [`dismetrics.intervals.Levels`][dismetrics.intervals.Levels] pair `(evaluation, seeds)`, when the
        table has more than one model dir; otherwise the evaluation table alone.
    random_state : int, default 0
        Seed of the bootstrap methods (`"t"` draws nothing).
    n_resamples : int, optional
        Bootstrap resamples (default 9,999).
    n_boot : int, optional
        Deprecated name of `n_resamples`.

    Returns
    -------
    pandas.DataFrame or dismetrics.intervals.Levels
        For one model (`level="evaluation"` or a single-model table): indexed by metric (in order of
        first appearance), columns `n_repeats` (values used), `n_failed` (repeats with a NaN or
        infinite `value` or an `error`: left out and counted), `mean`, `std`, `ci_low`,
        `ci_high`, `ci_method`, `ci_note`. Below 2 values there is no interval: the bounds are NaN
        and `ci_note` says so. An empty table gives an empty summary with these columns. With several
        model dirs, the evaluation table has one row per (model dir, metric) and a plain index.

    Examples
    --------
    >>> import pandas as pd
    >>> from dismetrics import summarize
    >>> table = pd.DataFrame({"metric": ["mig"] * 3, "value": [0.30, 0.32, 0.34]})
    >>> row = summarize(table).loc["mig"]
    >>> print(f"{row['mean']:.2f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] ({row['ci_method']})")
    0.32 [0.270, 0.370] (t)
    """
    import pandas as pd

    from .intervals import DEFAULT_RESAMPLES, evaluation_level, seed_level

    check_choice(level, name="level", choices=("auto", "evaluation", "seeds"))
    if n_boot is not None:
        import warnings

        warnings.warn("summarize(n_boot=...) is deprecated; use n_resamples (bootstrap methods only).",
                      DeprecationWarning, stacklevel=2)
        n_resamples = n_boot if n_resamples is None else n_resamples
    n_resamples = check_positive_int(DEFAULT_RESAMPLES if n_resamples is None else n_resamples, name="n_resamples",
                                     maximum=MAX_N_BOOT, reason="Each resample draws one index per repeat.")
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")
    missing = {"metric", "value"} - set(getattr(frame, "columns", []))
    if missing:
        raise ValueError(f"frame must be a DataFrame from evaluate() with columns metric and value; missing {sorted(missing)}.")
    options = {"method": method, "confidence": confidence, "random_state": random_state, "n_resamples": n_resamples}
    several = "model_dir" in frame.columns and frame["model_dir"].dropna().nunique() > 1
    if level == "seeds":
        return seed_level(frame, **options)
    if several:
        evaluation = evaluation_level(frame, **options)
        if level == "evaluation":
            return evaluation
        from .intervals import Levels

        return Levels(evaluation=evaluation, seeds=seed_level(frame, **options))
    columns = ["n_repeats", "n_failed", "mean", "std", "ci_low", "ci_high", "ci_method", "ci_note"]
    table = evaluation_level(frame, by=[], **options)
    if table.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="metric"))
    return table.set_index("metric")[columns]
