"""The result type every metric returns.

A [`MetricResult`][dismetrics.result.MetricResult] holds the headline number (`.value`; `float(result)`
works), the details that explain it (an MI matrix, per-factor gaps, per-dimension scores, ...) and the
parameters (seed included) that produced it. It is frozen, serialises to JSON and back, and turns
into a pandas row.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

__all__ = ["MetricResult"]


def _to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to plain JSON types."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _float_to_json(float(value))
    if isinstance(value, float):
        return _float_to_json(value)
    if isinstance(value, Mapping):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, np.random.Generator):
        return repr(value)
    return value


def _float_to_json(x: float) -> Any:
    # JSON has no NaN/inf; keep them explicit rather than writing invalid JSON.
    if math.isfinite(x):
        return x
    return {"__float__": repr(x)}


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            arr = np.asarray(value["__ndarray__"], dtype=value["dtype"])
            return arr.reshape(value["shape"])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_jsonable(v) for v in value]
    return value


def _freeze(value: Any) -> Any:
    """Make arrays read-only and mappings immutable so a result cannot be edited by accident."""
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.setflags(write=False)
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    return value


@dataclass(frozen=True)
class MetricResult:
    """Result of one metric evaluation.

    Attributes
    ----------
    name:
        The metric's name (`"mig"`, `"wdg"`, ...).
    value:
        The headline score.
    details:
        Everything that explains the headline (read-only arrays and numbers).
    params:
        The parameters that produced it (bins, normalisation, seed, sample sizes, ...).
    """

    name: str
    value: float
    details: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "details", _freeze(dict(self.details)))
        object.__setattr__(self, "params", _freeze(dict(self.params)))

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if not isinstance(v, np.ndarray))
        return f"MetricResult({self.name}={self.value:.6g}; {shown})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricResult):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain-Python dict (arrays tagged so `from_dict` restores them)."""
        return {
            "name": self.name,
            "value": _float_to_json(self.value),
            "details": _to_jsonable(dict(self.details)),
            "params": _to_jsonable(dict(self.params)),
        }

    def to_json(self, **kwargs: Any) -> str:
        """JSON text; `MetricResult.from_json(r.to_json()) == r`."""
        kwargs.setdefault("sort_keys", True)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MetricResult":
        return cls(
            name=data["name"],
            value=_from_jsonable(data["value"]),
            details=_from_jsonable(data.get("details", {})),
            params=_from_jsonable(data.get("params", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> "MetricResult":
        return cls.from_dict(json.loads(text))

    def to_row(self) -> dict[str, Any]:
        """A flat dict: `metric`, `value`, the scalar details and the scalar params.

        Scalar details are prefixed `detail.`, params `param.`; arrays are left out (they
        live in `details`).
        """
        row: dict[str, Any] = {"metric": self.name, "value": self.value}
        for prefix, mapping in (("detail.", self.details), ("param.", self.params)):
            for key, val in mapping.items():
                if np.isscalar(val) or val is None:
                    row[prefix + key] = val.item() if isinstance(val, np.generic) else val
        return row

    def to_pandas(self):
        """The [`to_row`][dismetrics.result.MetricResult.to_row] dict as a one-row `pandas.DataFrame`."""
        import pandas as pd

        return pd.DataFrame([self.to_row()])
