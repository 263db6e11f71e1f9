"""Named settings of the metrics (METRICS.md, "Presets").

`"disentanglement_lib"` (the default) is the study of Locatello et al. (ICML 2019) as run by
disentanglement_lib; `"wtc_paper"` the settings of the Wasserstein-TC paper (Xiao & Wang): 12,800
points for the variance estimate and WDG, "collapsed" meaning variance < 0.05, 50 repeats. A metric
reads its defaults with [`preset_params`][dismetrics.metrics.presets.preset_params]; any single parameter the
user passes overrides them.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_choice

__all__ = ["PRESETS", "preset_params"]

_DISENTANGLEMENT_LIB: dict[str, dict[str, Any]] = {
    "beta_vae": {"batch_size": 64, "n_train": 10_000, "n_eval": 5_000, "logistic": "lbfgs", "max_iter": 100},
    "factor_vae": {
        "batch_size": 64,
        "n_train": 10_000,
        "n_eval": 5_000,
        "n_variance": 10_000,
        "active_threshold": 0.05,
        "active_on": "std",  # active when sqrt(var) >= threshold
    },
    "evaluate": {"n": 10_000, "n_test": 5_000, "repeats": 1},
    "wdg": {"n": 10_000},
}

_WTC_PAPER: dict[str, dict[str, Any]] = {
    "beta_vae": dict(_DISENTANGLEMENT_LIB["beta_vae"]),
    "factor_vae": dict(_DISENTANGLEMENT_LIB["factor_vae"], n_variance=12_800, active_on="variance"),
    "evaluate": {"n": 12_800, "n_test": 5_000, "repeats": 50},
    "wdg": {"n": 12_800},
}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "disentanglement_lib": _DISENTANGLEMENT_LIB,
    "wtc_paper": _WTC_PAPER,
}
"""The named settings: preset name -> metric name -> parameter -> value."""


def preset_params(preset: str, metric: str, **overrides: Any) -> dict[str, Any]:
    """The parameters of `metric` under `preset`, with every non-None override applied."""
    check_choice(preset, name="preset", choices=tuple(PRESETS))
    params = dict(PRESETS[preset].get(metric, {}))
    params.update({key: value for key, value in overrides.items() if value is not None})
    return params
