"""Every metric of one representation, repeated with independent seeds, as one tidy table.

[`evaluate`][dismetrics.evaluate.evaluate] draws one sample of `n` points (and a test sample of `n_test`
points where a metric has a test split), encodes it once, runs every sample metric and unsupervised score on
those codes, runs the intervention metrics (beta-VAE, FactorVAE) against the sampler, and repeats the whole
thing `repeats` times with independent seeds. [`summarize`][dismetrics.evaluate.summarize] turns the table
into mean, std and a 95% interval (Student's t by default) per metric, keeping the evaluation noise of a model
apart from the training-seed noise of a configuration when the table holds several model dirs.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._progress import progress_bar
from ._validation import MAX_REPEATS, MAX_SAMPLES, check_choice, check_positive_int, check_random_state, check_workspace
from .metrics import INTERVENTION_METRICS  # noqa: F401  (importing .metrics registers every built-in metric)
from .metrics._intervention import DEFAULT_CHUNK_SIZE, check_sampler
from .metrics.presets import preset_params
from .metrics.registry import EVALUATED_KINDS, canonical_names, get_metric, metric_specs
from .representation import sampled_codes as draw_sampled_codes
from .table import resolve_encoding

__all__ = ["evaluate", "evaluate_codes", "summarize", "available_metrics", "selected_metrics", "repeat_seeds"]

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
    """Every metric [`evaluate`][dismetrics.evaluate.evaluate] can run right now (the registry,
    [`dismetrics.metrics.registry`][dismetrics.metrics.registry]): canonical name -> kind ("sample",
    "unsupervised", "intervention"), in registration order. `metrics="all"` selects those whose spec
    has `in_all` (the others take minutes at their reference sizes and run when named)."""
    return {spec.name: spec.kind for spec in metric_specs() if spec.kind in EVALUATED_KINDS}


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
    """The canonical names of the selected metrics: `metrics` ("all", a name or alias, or a list of them)
    minus `exclude`."""
    excluded = set(canonical_names(exclude, "exclude"))
    if isinstance(metrics, str) and metrics == "all":
        return [spec.name for spec in metric_specs() if spec.in_all and spec.name not in excluded]
    selected = canonical_names(metrics, "metrics")
    if not selected:
        raise ValueError("metrics must name at least one metric, or be 'all'.")
    elsewhere = [name for name in selected if get_metric(name).kind not in EVALUATED_KINDS]
    if elsewhere:
        raise ValueError(f"metrics {elsewhere} are not scores of one representation (kind "
                         f"{sorted({get_metric(name).kind for name in elsewhere})}): call them directly "
                         "(traversal scores take latents and attributes; UDR takes several models' codes: "
                         "dismetrics score --udr).")
    return [name for name in selected if name not in excluded]


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


def _score_codes(codes, factors, test_split, sampled_codes, sample_names, unsupervised_names, preset, seed,
                 metric_params, repeat, bar) -> list[dict[str, Any]]:
    """Rows of the sample metrics and unsupervised scores on one set of codes; each metric gets the keyword
    arguments its registry spec says ([`MetricSpec.call_kwargs`][dismetrics.metrics.registry.MetricSpec])."""
    rows = []
    for name in sample_names:
        spec = get_metric(name)
        kwargs = spec.call_kwargs(preset=preset, random_state=seed, params=metric_params.get(name), **test_split)
        rows.append(_run_metric(name, lambda: spec.func(codes, factors, **kwargs), repeat, seed))
        bar.update(1)
    for name in unsupervised_names:
        spec = get_metric(name)
        kwargs = spec.call_kwargs(preset=preset, random_state=seed, params=metric_params.get(name))
        variants = [(name, codes)]
        if sampled_codes is not None:
            variants.append((name + SAMPLED_SUFFIX, sampled_codes))
        for label, these_codes in variants:
            rows.append(_run_metric(label, lambda: spec.func(these_codes, **kwargs), repeat, seed))
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
    """`metric_params` keyed by canonical names (aliases accepted)."""
    checked: dict[str, dict] = {}
    for name, params in dict(metric_params or {}).items():
        canonical = canonical_names([name], "metric_params")[0]
        if not isinstance(params, Mapping):
            raise ValueError(f"metric_params[{name!r}] must be a dict of keyword arguments; got {type(params).__name__}.")
        checked.setdefault(canonical, {}).update(params)
    return checked


def _by_kind(selected: Sequence[str]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {"sample": [], "unsupervised": [], "intervention": []}
    for name in selected:
        kinds[get_metric(name).kind].append(name)
    return kinds


def selected_metrics(metrics: str | Sequence[str] = "all", exclude: Sequence[str] = ()) -> list[str]:
    """The canonical names of the metrics `evaluate(..., metrics, exclude=exclude)` runs, in the order of
    its rows within a repeat (the sample metrics, then the unsupervised ones, then the intervention
    scores, each group in the order asked for, or the registry's for "all").

    Parameters
    ----------
    metrics : "all", a metric name or alias, or a list of them, default "all"
    exclude : list of str
        Names or aliases left out.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from dismetrics.evaluate import selected_metrics
    >>> selected_metrics(["factor_vae_score", "mig", "gaussian_total_correlation"])
    ['mig', 'gaussian_total_correlation', 'factor_vae']
    >>> "dci_es" in selected_metrics("all", exclude=["dci_es"])
    False
    """
    return [name for group in _by_kind(_select(metrics, exclude)).values() for name in group]


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

    Parameters
    ----------
    codes : array-like of shape (n, d)
        The representation of the sample.
    factors : int array-like of shape (n, K)
        Its ground-truth factor indices.
    metrics : "all", a metric name or a list of names, default "all"
        `available_metrics()` lists the names known now.
    codes_test, factors_test : array-like, optional
        A test sample for the metrics that take one (given together).
    exclude : list of names, default ()
        Metrics to leave out.
    repeats : int, default 1
        Repeats, each with its own seed.
    random_state : int, None or numpy.random.Generator, default 0
        Seeds the repeats.
    preset : {"disentanglement_lib", "wtc_paper"}, default "disentanglement_lib"
        Named settings of the metrics.
    metric_params : dict, optional
        Extra keyword arguments per metric name, e.g. `{"dci": {"n_estimators": 30}}`.
    progress : bool or None, default None
        A progress bar; None shows it when stderr is a terminal.

    Returns
    -------
    pandas.DataFrame
        One row per (repeat, metric), the columns of [`evaluate`][dismetrics.evaluate.evaluate]'s table.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics import evaluate_codes
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 4, size=(500, 2))
    >>> codes = factors + 0.1 * rng.standard_normal((500, 2))
    >>> table = evaluate_codes(codes, factors, metrics=["mig", "modularity", "explicitness"], progress=False)
    >>> print(table[["metric", "value"]].round(3).to_string(index=False))
          metric  value
             mig  0.963
      modularity  0.999
    explicitness  1.000
    """
    repeats = _check_repeats(repeats)
    preset_params(preset, "evaluate")  # checks the preset's name
    selected = _select(metrics, exclude)
    by_kind = _by_kind(selected)
    if by_kind["intervention"] and not (isinstance(metrics, str) and metrics == "all"):
        raise ValueError(f"metrics {by_kind['intervention']} need a representation and a sampler (use evaluate); "
                         "codes alone cannot give them.")
    metric_params = _check_metric_params(metric_params)
    sample_names, unsupervised_names = by_kind["sample"], by_kind["unsupervised"]
    if (codes_test is None) != (factors_test is None):
        raise ValueError("codes_test and factors_test must be given together.")
    test_split = {"codes_test": codes_test, "factors_test": factors_test}
    rows: list[dict[str, Any]] = []
    with progress_bar(total=repeats * (len(sample_names) + len(unsupervised_names)), desc="evaluate", progress=progress) as bar:
        for repeat, seed in enumerate(repeat_seeds(random_state, repeats)):
            rows += _score_codes(codes, factors, test_split, None, sample_names, unsupervised_names, preset, seed,
                                 metric_params, repeat, bar)
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
    encoding: str = "auto",
):
    """Run many metrics on one representation, `repeats` times, into a tidy DataFrame.

    Each repeat r uses its own seed `seeds[r]` (see [`repeat_seeds`][dismetrics.evaluate.repeat_seeds]:
    `np.random.SeedSequence(random_state).spawn(repeats)`, so repeats are independent and the table
    is reproducible from `random_state`). Within a repeat, a Generator seeded with `seeds[r]` draws
    `n` points (factors uniform on the grid) and then, if a selected metric takes a test split,
    `n_test` more; their observations are encoded once and every sample metric (`f(codes, factors,
    ...)`) and unsupervised score (`f(codes, ...)`) runs on those codes. What each metric receives is what
    its registry spec declares ([`dismetrics.metrics.registry`][dismetrics.metrics.registry]):
    `random_state=seeds[r]` when it is random, `codes_test`/`factors_test` when it takes a test split, its
    entry of the preset as keyword arguments, then `metric_params`. The intervention metrics (beta-VAE,
    FactorVAE) run with `random_state=seeds[r]`, so `factor_vae_score(rep, sampler, random_state=seed)`
    reproduces a row.

    When the encoder returns a log-variance and `sampled` is True, the unsupervised scores are also
    computed on the sampled representation z ~ N(mean, exp(logvar)), named `<metric>_sampled`.

    Parameters
    ----------
    representation : callable, torch.nn.Module or Representation
        See [`dismetrics.as_representation`][dismetrics.representation.as_representation].
    sampler : GroundTruthSampler
    metrics : "all", a metric name or a list of names
        Canonical names or aliases of registered metrics (`available_metrics()` lists the names known now);
        the table says the canonical name.
    n, n_test, repeats : int, optional
        Sample sizes and number of repeats; None takes the preset's (10,000, 5,000 and 1 for
        `"disentanglement_lib"`; 12,800, 5,000 and 50 for `"wtc_paper"`). At most 10 million
        points per sample and 10,000 repeats
        ([`dismetrics._validation.MAX_SAMPLES`][dismetrics._validation.MAX_SAMPLES], `MAX_REPEATS`): a larger
        value is a `ValueError` before anything is drawn.
    random_state : int, None or numpy Generator
    preset : {"disentanglement_lib", "wtc_paper"}
        Named settings: the sizes above and every metric's preset entry (e.g. `"wtc_paper"` runs WDG with the
        authors' released estimator and the FactorVAE score with 12,800 points for its variances).
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
    encoding : {"auto", "table", "direct"}, default "auto"
        Where codes come from. `"auto"`: when the data set is a finite indexed set (every built-in one),
        one representation table ([`dismetrics.table`][dismetrics.table]) serves every metric and repeat,
        so each distinct observation is encoded at most once (a
        [`RepresentationTable`][dismetrics.table.RepresentationTable] given as `representation` is used as
        is, e.g. one kept on disk); otherwise the drawn observations are encoded. `"table"` requires a
        table; `"direct"` encodes every drawn observation (the path without a table). Same draws and the
        same values either way for an encoder that maps each observation on its own.

    Returns
    -------
    pandas.DataFrame
        One row per (repeat, metric): `metric`, `value`, `repeat`, `seed`, `seconds` (time
        of the metric itself, encoding excluded), `error` (empty, or the message of the
        `ValueError` with which a metric rejected this representation; its `value` is then NaN)
        and the metric's scalar details as `detail.*` columns. [`summarize`][dismetrics.evaluate.summarize]
        gives mean, std and confidence intervals. `frame.attrs["encoding"]` says which path ran
        (`"table"` or `"direct"`) and `frame.attrs["table"]` what the table did (rows encoded, read, looked up;
        [`RepresentationTable.summary`][dismetrics.table.RepresentationTable.summary]); a table kept on disk
        is saved with its new rows.

    Examples
    --------
    An encoder that rotates the two factors of a grid into each other: MIG sees the entanglement, the
    beta-VAE score (a linear classifier of the intervened factor) hardly does:

    >>> import numpy as np
    >>> from dismetrics import evaluate
    >>> from dismetrics.data import FactorGrid
    >>> def encoder(observations):
    ...     return observations @ np.array([[1.0, 1.0], [-1.0, 1.0]])
    >>> table = evaluate(encoder, FactorGrid([4, 5]), metrics=["mig", "beta_vae"], n=1000, repeats=2,
    ...                  metric_params={"beta_vae": {"n_train": 500, "n_eval": 200}}, progress=False)
    >>> print(table[["metric", "repeat", "value"]].round(3).to_string(index=False))
      metric  repeat  value
         mig       0  0.006
    beta_vae       0  0.905
         mig       1  0.002
    beta_vae       1  0.875
    """
    settings = preset_params(preset, "evaluate", n=n, n_test=n_test, repeats=repeats)
    n = check_positive_int(settings["n"], name="n", minimum=2, maximum=MAX_SAMPLES, reason=_SAMPLES_REASON)
    n_test = check_positive_int(settings["n_test"], name="n_test", minimum=2, maximum=MAX_SAMPLES, reason=_SAMPLES_REASON)
    repeats = _check_repeats(settings["repeats"])
    chunk_size = check_positive_int(chunk_size, name="chunk_size")
    check_sampler(sampler)
    source = resolve_encoding(representation, sampler, encoding)  # one table for every metric and repeat
    rep = source.representation
    selected = _select(metrics, exclude)
    metric_params = _check_metric_params(metric_params)
    by_kind = _by_kind(selected)
    sample_names, unsupervised_names, intervention_names = by_kind["sample"], by_kind["unsupervised"], by_kind["intervention"]
    needs_test = any(get_metric(name).takes_test for name in sample_names)
    seeds = repeat_seeds(random_state, repeats)

    rows: list[dict[str, Any]] = []
    total = repeats * len(selected)
    with progress_bar(total=total, desc="evaluate", progress=progress) as bar:
        for repeat, seed in enumerate(seeds):
            if sample_names or unsupervised_names:
                rng = np.random.default_rng(seed)
                factors = sampler.sample_factors(n, rng)
                mean, logvar = source.encode_all(factors, rng, chunk_size=chunk_size)
                codes = rep.codes_from(mean, logvar)
                test_split: dict[str, Any] = {}
                if needs_test:
                    factors_test = sampler.sample_factors(n_test, rng)
                    mean_test, logvar_test = source.encode_all(factors_test, rng, chunk_size=chunk_size)
                    codes_test = rep.codes_from(mean_test, logvar_test)
                    test_split = {"codes_test": codes_test, "factors_test": factors_test}
                sampled_codes = draw_sampled_codes(mean, logvar, rng) if (sampled and logvar is not None and rep.mode == "mean") else None
                rows += _score_codes(codes, factors, test_split, sampled_codes, sample_names, unsupervised_names,
                                     preset, seed, metric_params, repeat, bar)
            for name in intervention_names:
                spec = get_metric(name)
                kwargs = spec.call_kwargs(preset=preset, random_state=seed,
                                          params={"chunk_size": chunk_size, "progress": False, **metric_params.get(name, {})})
                rows.append(_run_metric(name, lambda: spec.func(source, sampler, **kwargs), repeat, seed))
                bar.update(1)

    frame = _tidy(rows)
    frame.attrs["encoding"] = source.path
    if source.table is not None:
        source.table.save()  # a table kept on disk gets its new rows (a no-op in memory)
        frame.attrs["table"] = source.table.summary()
    return frame


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
