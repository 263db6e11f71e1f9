"""Named settings of the metrics (METRICS.md, "Presets").

`"disentanglement_lib"` (the default) is the study of Locatello et al. (ICML 2019) as run by
disentanglement_lib; `"wtc_paper"` the settings of the Wasserstein-TC paper (Xiao & Wang): 12,800
points for the variance estimate and WDG, "collapsed" meaning variance < 0.05, 50 repeats, and WDG by the
authors' released procedure.

Each metric declares its own entries in its registry spec (`MetricSpec.presets`,
[`dismetrics.metrics.registry`][dismetrics.metrics.registry]); the sizes of
[`dismetrics.evaluate`][dismetrics.evaluate.evaluate] and `dismetrics score` (points per sample, test points,
repeats) are defined here, once. [`preset_params`][dismetrics.metrics.presets.preset_params] reads both; any
single parameter the user passes overrides them.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from .._validation import check_choice
from .registry import PRESET_NAMES, get_metric, metric_specs

__all__ = ["PRESET_NAMES", "EVALUATE_SIZES", "preset_params", "preset_table"]

EVALUATE_SIZES: Mapping[str, Mapping[str, int]] = MappingProxyType({
    "disentanglement_lib": MappingProxyType({"n": 10_000, "n_test": 5_000, "repeats": 1}),
    "wtc_paper": MappingProxyType({"n": 12_800, "n_test": 5_000, "repeats": 50}),
})
"""Points per sample (`n`), test points (`n_test`) and repeats of `evaluate` and `dismetrics score` under
each preset: the reference sizes, written only here."""


def preset_params(preset: str, metric: str, **overrides: Any) -> dict[str, Any]:
    """The parameters of `metric` (a registered name, or `"evaluate"` for the sizes) under `preset`, with
    every non-None override applied."""
    check_choice(preset, name="preset", choices=PRESET_NAMES)
    params = dict(EVALUATE_SIZES[preset]) if metric == "evaluate" else get_metric(metric).preset_params(preset)
    params.update({key: value for key, value in overrides.items() if value is not None})
    return params


def preset_table(preset: str) -> dict[str, dict[str, Any]]:
    """Every entry of `preset`: `"evaluate"` -> sizes, and metric name -> parameters for each registered
    metric with an entry."""
    check_choice(preset, name="preset", choices=PRESET_NAMES)
    table: dict[str, dict[str, Any]] = {"evaluate": dict(EVALUATE_SIZES[preset])}
    table.update({spec.name: dict(spec.presets[preset]) for spec in metric_specs() if preset in spec.presets})
    return table
