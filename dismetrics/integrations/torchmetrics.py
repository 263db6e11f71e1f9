"""The sample metrics as `torchmetrics.Metric` subclasses (extra `[torchmetrics]`).

```python
from dismetrics.integrations.torchmetrics import DisentanglementMetric

mig = DisentanglementMetric("mig")
for x, factors in loader:
    mig.update(encoder(x), factors)
value = mig.compute()        # a float64 tensor; mig.result is the full MetricResult
```

`update` appends the batch to list states reduced with `"cat"` (so DDP gathers every rank's
batches), and `compute` calls the one-shot function on the concatenation: the value equals
`dismetrics.<metric>(all_codes, all_factors)` exactly, for every metric of
`dismetrics.metrics.SAMPLE_METRICS` (tested). Calling the metric object itself (`forward`) also
computes the metric on the single batch, which costs a full metric evaluation per batch: call
`update` in the loop and `compute` at the end.

[`METRIC_CLASSES`][dismetrics.integrations.torchmetrics.METRIC_CLASSES] holds one subclass per metric name
(`METRIC_CLASSES["mig"]()`), for code that wants a class per metric (e.g. a `MetricCollection`).

This module imports `torchmetrics` (and torch); nothing else in dismetrics imports it.
"""

from __future__ import annotations

from typing import Any, cast

try:
    import torch
    from torchmetrics import Metric
    from torchmetrics.utilities import dim_zero_cat
except ImportError:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "dismetrics.integrations.torchmetrics needs torchmetrics: pip install 'dismetrics[torchmetrics]' (or pip install torchmetrics)."
    ) from None

from ..metrics import SAMPLE_METRICS
from ..result import MetricResult
from ..streaming import _resolve

__all__ = ["DisentanglementMetric", "METRIC_CLASSES"]


class DisentanglementMetric(Metric):
    """A sample metric of dismetrics as a `torchmetrics.Metric`.

    After `compute`, `result` holds the full [`MetricResult`][dismetrics.result.MetricResult].

    Parameters
    ----------
    metric : str or callable
        A name of `dismetrics.metrics.SAMPLE_METRICS` or a function `f(codes, factors, **params)`.
        Subclasses in [`METRIC_CLASSES`][dismetrics.integrations.torchmetrics.METRIC_CLASSES] fix it.
    metric_params : dict, optional
        Keyword arguments of the metric (`{"bins": 20}`, `{"random_state": 0}`, ...).
    **kwargs :
        Passed to `torchmetrics.Metric` (`dist_sync_on_step`, `compute_on_cpu`, ...).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    metric_name: str | None = None

    def __init__(self, metric=None, *, metric_params: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        metric = self.metric_name if metric is None else metric
        if metric is None:
            raise ValueError(f"give the metric: one of {sorted(SAMPLE_METRICS)}, or a function f(codes, factors).")
        self.name, self.function = _resolve(metric)
        self.metric_params = dict(metric_params or {})
        self.result: MetricResult | None = None
        self.add_state("codes", default=[], dist_reduce_fx="cat")
        self.add_state("factors", default=[], dist_reduce_fx="cat")

    def update(self, codes, factors) -> None:  # noqa: D102
        codes = torch.as_tensor(codes).detach()
        factors = torch.as_tensor(factors).detach()
        if codes.ndim != 2 or factors.ndim != 2 or codes.shape[0] != factors.shape[0]:
            raise ValueError(
                f"update takes codes (batch, n_dims) and factors (batch, n_factors) with the same number of rows; "
                f"got {tuple(codes.shape)} and {tuple(factors.shape)}."
            )
        cast(list, self.codes).append(codes)
        cast(list, self.factors).append(factors)

    def compute(self) -> torch.Tensor:  # noqa: D102
        if not self.codes:
            raise ValueError(f"{self.name}: no batch yet; call update(codes, factors) first.")
        codes = dim_zero_cat(cast(list, self.codes)).cpu().numpy()
        factors = dim_zero_cat(cast(list, self.factors)).cpu().numpy()
        self.result = self.function(codes, factors, **self.metric_params)
        return torch.tensor(float(self.result), dtype=torch.float64)


def _class_name(name: str) -> str:
    return "".join(part.upper() if len(part) <= 3 else part.capitalize() for part in name.split("_")) + "Metric"


METRIC_CLASSES: dict[str, type] = {
    name: type(_class_name(name), (DisentanglementMetric,), {"metric_name": name, "__module__": __name__,
                                                             "__doc__": f"`{name}` as a torchmetrics Metric."})
    for name in SAMPLE_METRICS
}
"""metric name -> a subclass of
[`DisentanglementMetric`][dismetrics.integrations.torchmetrics.DisentanglementMetric] for it (e.g.
`METRIC_CLASSES["mig"]`)."""
