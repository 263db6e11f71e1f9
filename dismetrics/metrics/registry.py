"""The metric registry: one spec per metric, read by `evaluate`, `scoring`, the CLI, the demo and the docs.

Each metric module declares its [`MetricSpec`][dismetrics.metrics.registry.MetricSpec] and registers it
with [`register_metric`][dismetrics.metrics.registry.register_metric]. Everything that runs metrics by name
asks the registry what a metric is (kind, test split, randomness, factor types, value range, preset
entries) instead of inspecting its signature, so a user's own metric registered the same way runs through
[`dismetrics.evaluate`][dismetrics.evaluate.evaluate] and `dismetrics score --metrics NAME` like a built-in
one.

How a registered metric is called:

* kind `"sample"`: `func(codes, factors, **kwargs)`;
* kind `"unsupervised"`: `func(codes, **kwargs)`;
* kind `"intervention"`: `func(representation, sampler, **kwargs)`;
* kind `"traversal"`: `func(latents, attributes, **kwargs)`, arrays of attribute traversals (latte's
  interpretability scores); `evaluate` does not run them (it has no traversals);
* kind `"sweep"`: `func(codes_per_model, **kwargs)`, one score per model of a sweep from the codes of
  several models on the same inputs (UDR); `dismetrics score --udr` runs it over model dirs;

where `kwargs` holds, in this order (later ones win): the spec's entry for the chosen preset,
`random_state` (only when `random` is True), `codes_test`/`factors_test` (only when `takes_test` is True
and a test split is there), `preset` (only when `takes_preset` is True), then the user's own
`metric_params` for the metric. `evaluate` also passes `chunk_size` and `progress` to intervention metrics.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

__all__ = [
    "MetricSpec",
    "KINDS",
    "EVALUATED_KINDS",
    "FACTOR_TYPES",
    "PRESET_NAMES",
    "register_metric",
    "unregister_metric",
    "get_metric",
    "metric_specs",
    "metric_names",
    "canonical_name",
    "canonical_names",
]

KINDS = ("sample", "unsupervised", "intervention", "traversal", "sweep")
"""What a metric takes: a sample of codes and factors, codes alone, a representation and a sampler,
traversals of attributes, or the codes of several models."""

EVALUATED_KINDS = ("sample", "unsupervised", "intervention")
"""The kinds `evaluate` runs on one representation."""

FACTOR_TYPES = ("discrete", "continuous")
"""The factor types of the vocabulary (`factor_types=`; docs/conventions.md)."""

PRESET_NAMES = ("disentanglement_lib", "wtc_paper")
"""The named settings every spec may have an entry for (METRICS.md, "Presets")."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_REGISTRY: dict[str, "MetricSpec"] = {}
_ALIASES: dict[str, str] = {}
_DEPRECATED_ALIASES: dict[str, str] = {}


def _frozen(mapping: Mapping[str, Mapping[str, Any]] | None) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({key: MappingProxyType(dict(value)) for key, value in (mapping or {}).items()})


@dataclass(frozen=True)
class MetricSpec:
    """What one metric is, declared once beside its function.

    Parameters
    ----------
    name : str
        The canonical name: in tables, `--metrics`, `metric_params`, `scores.json`. Lower case, digits and
        underscores.
    func : callable
        The metric; called as the module docstring says, it returns a
        [`MetricResult`][dismetrics.result.MetricResult].
    kind : {"sample", "unsupervised", "intervention"}
    title : str
        The name a reader knows the metric by (figure titles, tables).
    aliases : tuple of str, default ()
        Other accepted names (e.g. the Python function's name when it differs).
    deprecated_aliases : tuple of str, default ()
        Old names still accepted, with a `DeprecationWarning`.
    takes_test : bool, default False
        Whether the metric takes `codes_test` / `factors_test` (a held-out split).
    random : bool, default False
        Whether the value depends on `random_state` (it is passed only then).
    takes_preset : bool, default False
        Whether `func` reads a `preset=` keyword itself (the intervention metrics); the other metrics get
        their preset entry as plain keyword arguments.
    factor_types : tuple of str, default ("discrete",)
        The factor types the metric supports.
    value_range : (float, float or None), default (0.0, 1.0)
        The natural range of the value; `None` as the upper end when it is unbounded.
    direction : {"higher", "lower"}, default "higher"
        Which way the value is better.
    presets : mapping, optional
        Preset name -> keyword arguments of the metric under that preset (the reference sizes and settings).
    reference : str, default ""
        The paper (and code) whose computation the default reproduces.
    docs : str, default ""
        The docs page (path under docs/) that gives the formula.
    group : str or None, default None
        Metrics of one group share an expensive intermediate (InfoM, InfoC, InfoE share one MI matrix).
    in_all : bool, default True
        Whether `metrics="all"` selects it. False for metrics that take minutes at their reference sizes
        (Chen et al.'s MIG encodes the whole data set; the disent traversal scores encode about 10^5
        images per factor): they run when named. Always False for the kinds `evaluate` does not run.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics import MetricResult, evaluate_codes
    >>> from dismetrics.metrics.registry import MetricSpec, register_metric, unregister_metric
    >>> def mean_abs_code(codes, factors):
    ...     return MetricResult(name="mean_abs_code", value=float(np.abs(codes).mean()))
    >>> _ = register_metric(MetricSpec(name="mean_abs_code", func=mean_abs_code, kind="sample",
    ...                                title="Mean |code|", value_range=(0.0, None), direction="lower"))
    >>> codes, factors = np.array([[1.0, -1.0], [3.0, 0.0]]), np.array([[0], [1]])
    >>> float(evaluate_codes(codes, factors, "mean_abs_code")["value"].iloc[0])
    1.25
    >>> unregister_metric("mean_abs_code")
    """

    name: str
    func: Callable[..., Any]
    kind: str
    title: str
    aliases: tuple[str, ...] = ()
    deprecated_aliases: tuple[str, ...] = ()
    takes_test: bool = False
    random: bool = False
    takes_preset: bool = False
    factor_types: tuple[str, ...] = ("discrete",)
    value_range: tuple[float, float | None] = (0.0, 1.0)
    direction: str = "higher"
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reference: str = ""
    docs: str = ""
    group: str | None = None
    in_all: bool = True

    def __post_init__(self) -> None:
        for label in (self.name, *self.aliases, *self.deprecated_aliases):
            if not isinstance(label, str) or not _NAME.match(label):
                raise ValueError(f"metric name {label!r} must be lower case letters, digits and underscores "
                                 "(at most 64, starting with a letter).")
        if not callable(self.func):
            raise ValueError(f"metric {self.name!r}: func must be callable; got {type(self.func).__name__}.")
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name!r}: kind must be one of {KINDS}; got {self.kind!r}.")
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"metric {self.name!r}: direction must be 'higher' or 'lower'; got {self.direction!r}.")
        if not self.factor_types or any(t not in FACTOR_TYPES for t in self.factor_types):
            raise ValueError(f"metric {self.name!r}: factor_types must be a non-empty subset of {FACTOR_TYPES}.")
        low, high = self.value_range
        if high is not None and not low < high:
            raise ValueError(f"metric {self.name!r}: value_range must have low < high; got {self.value_range}.")
        stray = [preset for preset in self.presets if preset not in PRESET_NAMES]
        if stray:
            raise ValueError(f"metric {self.name!r}: unknown preset(s) {stray}; presets are {PRESET_NAMES}.")
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "deprecated_aliases", tuple(self.deprecated_aliases))
        object.__setattr__(self, "factor_types", tuple(self.factor_types))
        object.__setattr__(self, "presets", _frozen(self.presets))
        if self.kind not in EVALUATED_KINDS:
            object.__setattr__(self, "in_all", False)

    def preset_params(self, preset: str) -> dict[str, Any]:
        """The keyword arguments of this metric under `preset` (empty when the preset has no entry)."""
        if preset not in PRESET_NAMES:
            raise ValueError(f"preset must be one of {PRESET_NAMES}; got {preset!r}.")
        return dict(self.presets.get(preset, {}))

    def call_kwargs(self, *, preset: str = "disentanglement_lib", random_state: Any = 0,
                    codes_test: Any = None, factors_test: Any = None,
                    params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The keyword arguments `evaluate` passes to `func` (see the module docstring for the order)."""
        kwargs: dict[str, Any] = {} if self.takes_preset else self.preset_params(preset)
        if self.random:
            kwargs["random_state"] = random_state
        if self.takes_test and codes_test is not None:
            kwargs["codes_test"], kwargs["factors_test"] = codes_test, factors_test
        if self.takes_preset:
            kwargs["preset"] = preset
        kwargs.update(params or {})
        return kwargs


def register_metric(spec: MetricSpec, *, replace: bool = False) -> MetricSpec:
    """Add `spec` to the registry; its name and aliases then work everywhere a metric name does.

    A name or alias already taken by another metric is a `ValueError` unless `replace=True` (which removes
    the old metric of that name first). Returns `spec`.
    """
    if not isinstance(spec, MetricSpec):
        raise ValueError(f"register_metric takes a MetricSpec; got {type(spec).__name__}.")
    labels = (spec.name, *spec.aliases, *spec.deprecated_aliases)
    if len(set(labels)) != len(labels):
        raise ValueError(f"metric {spec.name!r}: its name and aliases must differ; got {labels}.")
    if replace and spec.name in _REGISTRY:
        unregister_metric(spec.name)
    taken = [label for label in labels if label in _REGISTRY or label in _ALIASES or label in _DEPRECATED_ALIASES]
    if taken:
        raise ValueError(f"metric {spec.name!r}: name(s) {taken} already registered "
                         f"(to {[canonical_name(label) for label in taken]}); pass replace=True to replace a metric.")
    _REGISTRY[spec.name] = spec
    _ALIASES.update({alias: spec.name for alias in spec.aliases})
    _DEPRECATED_ALIASES.update({alias: spec.name for alias in spec.deprecated_aliases})
    return spec


def unregister_metric(name: str) -> None:
    """Remove the metric `name` (canonical) and its aliases from the registry."""
    spec = _REGISTRY.pop(name, None)
    if spec is None:
        raise ValueError(f"no registered metric is called {name!r}.")
    for alias in spec.aliases:
        _ALIASES.pop(alias, None)
    for alias in spec.deprecated_aliases:
        _DEPRECATED_ALIASES.pop(alias, None)


def _order_first(names) -> None:
    """Put the registered metrics `names` first, in that order (the built-ins' documented order; metrics
    modules register in import order)."""
    global _REGISTRY
    first = {name: _REGISTRY[name] for name in names if name in _REGISTRY}
    _REGISTRY = {**first, **{name: spec for name, spec in _REGISTRY.items() if name not in first}}


def canonical_name(name: str, *, warn: bool = True) -> str:
    """The canonical name of a metric name or alias; a deprecated alias warns (`DeprecationWarning`).

    An unknown name is a `ValueError` that lists the known names.
    """
    if isinstance(name, str):
        if name in _REGISTRY:
            return name
        if name in _ALIASES:
            return _ALIASES[name]
        if name in _DEPRECATED_ALIASES:
            canonical = _DEPRECATED_ALIASES[name]
            if warn:
                warnings.warn(f"metric name {name!r} is deprecated; use {canonical!r}.", DeprecationWarning,
                              stacklevel=3)
            return canonical
    raise ValueError(f"unknown metric {name!r}; known metrics are {sorted(_REGISTRY)} "
                     f"(aliases: {sorted(_ALIASES)}).")


def canonical_names(names, what: str = "metrics") -> list[str]:
    """Canonical names of `names` (a name or alias, or a sequence of them), in order, without repeats; an
    unknown name is a `ValueError` that starts with `what` (the argument it came from)."""
    names = [names] if isinstance(names, str) else list(names or ())
    try:
        return list(dict.fromkeys(canonical_name(name) for name in names))
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None


def get_metric(name: str) -> MetricSpec:
    """The spec of a metric, by canonical name or alias."""
    return _REGISTRY[canonical_name(name)]


def metric_specs(kind: str | None = None) -> Iterator[MetricSpec]:
    """The registered specs in registration order, optionally only those of one kind."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None; got {kind!r}.")
    return iter([spec for spec in _REGISTRY.values() if kind is None or spec.kind == kind])


def metric_names(kind: str | None = None) -> list[str]:
    """The canonical names of the registered metrics (optionally of one kind), in registration order."""
    return [spec.name for spec in metric_specs(kind)]
