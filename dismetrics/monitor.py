"""Metrics during training: a metric curve over training steps from any PyTorch loop.

[`TrainingMonitor`][dismetrics.monitor.TrainingMonitor] is built once with a ground-truth sampler, a list of
metric names (those of [`dismetrics.evaluate.available_metrics`][dismetrics.evaluate.available_metrics]), the
sample sizes and an interval, and is then called from the training loop with the step and the encoder:

```python
monitor = TrainingMonitor(sampler, ["mig", "dci"], every=1000, n=2000)
for step in range(1, steps + 1):
    ...                                   # forward, backward, optimizer.step()
    rows = monitor(step, model.encoder)   # [] except every 1000 steps
    for row in rows:
        print(step, row["metric"], row["value"])
```

On the steps it runs (`step % every == 0`) it scores the encoder with
[`dismetrics.evaluate`][dismetrics.evaluate.evaluate] on a sample drawn from its own seed (the same points at
every evaluation, so the curve follows the model and not the sampling noise), and returns one row per metric.
It never perturbs the training:

- the encoder runs in eval mode under `torch.no_grad()`; afterwards the `training` flag of every
  submodule is restored as it was (a submodule the user froze in eval mode stays so);
- the random state of the loop is left alone: the sample comes from a numpy `Generator` seeded
  from the monitor's `random_state`, and the global torch (CPU and the module's CUDA devices),
  numpy and Python random states are saved before and restored after;
- torch's intra-op thread count is restored too (numba's OpenMP layer, which the metric kernels
  start, resets the OpenMP thread count torch shares, and a different count changes the order of
  floating-point reductions in the next training steps);
- it holds no reference to an optimizer and creates no gradients.

So a run with evaluation gives bit-identical weights to a run without (tested with the trainers of
`dismetrics_models`). Torch is never imported by this module: a torch module handed in brings it.
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ._validation import check_positive_int

__all__ = ["TrainingMonitor", "DEFAULT_METRICS", "preserve_training_state"]

DEFAULT_METRICS = ("mig", "dci")
"""Metrics scored when none are named: cheap at a few thousand points, one per family."""

ROW_KEYS = ("step", "metric", "value", "seconds", "error")
"""Columns of every row, in order (`detail.*` columns follow when `details=True`)."""


def _module_devices(module: Any) -> list:
    """The CUDA device indices of a torch module's parameters and buffers (for `fork_rng`)."""
    devices = set()
    for tensors in (getattr(module, "parameters", None), getattr(module, "buffers", None)):
        if tensors is None:
            continue
        for tensor in tensors():
            if tensor.device.type == "cuda":
                devices.add(tensor.device.index or 0)
    return sorted(devices)


@contextlib.contextmanager
def preserve_training_state(module: Any = None) -> Iterator[None]:
    """Run the body with `module` (a torch module, or None) in eval mode and the loop's random
    states untouched.

    Saves the `training` flag of every submodule and the global random states (torch CPU and the
    CUDA devices the module lives on, numpy's legacy global state, Python's `random`), puts the
    module in eval mode, and restores all of them on exit, also when the body raises."""
    flags = [(sub, sub.training) for sub in module.modules()] if hasattr(module, "modules") else []
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    torch = sys.modules.get("torch")
    fork = torch.random.fork_rng(devices=_module_devices(module)) if torch is not None else contextlib.nullcontext()
    threads = torch.get_num_threads() if torch is not None else None
    try:
        with fork:
            if flags:
                module.eval()
            yield
    finally:
        for sub, flag in flags:
            sub.training = flag
        np.random.set_state(numpy_state)
        random.setstate(python_state)
        # numba's OpenMP threading layer, started by the metrics' kernels, resets the OpenMP thread
        # count that torch shares; a loop that ran on fewer threads would then reduce in another order.
        if torch is not None and threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


class TrainingMonitor:
    """Score an encoder with disentanglement metrics every `every` training steps.

    Calling `monitor(step, encoder)` evaluates when the step is due and returns the rows (else
    `[]`); [`evaluate`][dismetrics.monitor.TrainingMonitor.evaluate] always evaluates. Every row is also
    appended to `history`; [`to_frame`][dismetrics.monitor.TrainingMonitor.to_frame] gives the whole history
    as a DataFrame, [`latest`][dismetrics.monitor.TrainingMonitor.latest] the last values.

    Parameters
    ----------
    sampler : GroundTruthSampler
        The data set the encoder is trained on (or any ground-truth sampler of the same observations).
    metrics : sequence of str
        Names from [`dismetrics.evaluate.available_metrics`][dismetrics.evaluate.available_metrics] (sample
        metrics, unsupervised scores, `beta_vae`, `factor_vae`). Default
        [`DEFAULT_METRICS`][dismetrics.monitor.DEFAULT_METRICS] (`mig`, `dci`).
    every : int
        Evaluate when `step % every == 0` (`step` as the loop counts it, e.g. updates done).
    n, n_test : int
        Points encoded for the sample metrics, and test points for the metrics with a test split
        (DCI, SAP, explicitness, ...). Defaults 2,000 and 1,000: enough for a curve, cheap to encode.
        Pass the preset's 10,000 / 5,000 to get the reference numbers at the chosen steps.
    random_state : int
        Seed of the evaluation sample and of the metrics. Every evaluation uses the same seed, so
        the same points, and the values at a step do not depend on when else the monitor ran.
    preset, metric_params, sampled :
        As in [`dismetrics.evaluate`][dismetrics.evaluate.evaluate]. `sampled=False` by default: the
        unsupervised scores are computed on the mean representation only.
    batch_size : int
        Observations per forward pass of the encoder.
    channels_first : bool
        Torch modules: True (default) when the encoder takes `(n, C, H, W)` images (dismetrics'
        samplers give channels-last observations, which are then transposed). An encoder that says
        its `input_layout` (the encoder graphs of model dirs) is fed that layout.
    details : bool
        Also put the metrics' scalar details (`detail.*` columns) into the rows.
    """

    def __init__(
        self,
        sampler,
        metrics: Sequence[str] | str = DEFAULT_METRICS,
        *,
        every: int = 1000,
        n: int = 2000,
        n_test: int = 1000,
        random_state: int = 0,
        preset: str = "disentanglement_lib",
        metric_params: Mapping[str, Mapping[str, Any]] | None = None,
        sampled: bool = False,
        batch_size: int = 256,
        channels_first: bool = True,
        details: bool = False,
    ) -> None:
        from .evaluate import available_metrics
        from .metrics._intervention import check_sampler

        check_sampler(sampler)
        known = available_metrics()
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        names = list(dict.fromkeys(names))
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise ValueError(
                f"metrics: unknown metric(s) {unknown}; known metrics are {sorted(known)}." if unknown
                else "metrics must name at least one metric."
            )
        stray = [name for name in (metric_params or {}) if name not in names]
        if stray:
            raise ValueError(f"metric_params names metric(s) {stray} that the monitor does not compute ({names}).")
        if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
            raise ValueError(f"random_state must be a non-negative int (every evaluation reuses it); got {random_state!r}.")
        self.sampler = sampler
        self.metrics = names
        self.every = check_positive_int(every, name="every")
        self.n = check_positive_int(n, name="n", minimum=2)
        self.n_test = check_positive_int(n_test, name="n_test", minimum=2)
        self.random_state = int(random_state)
        self.preset = preset
        self.metric_params = {name: dict(params) for name, params in (metric_params or {}).items()}
        self.sampled = bool(sampled)
        self.batch_size = check_positive_int(batch_size, name="batch_size")
        self.channels_first = bool(channels_first)
        self.details = bool(details)
        self.history: list[dict[str, Any]] = []
        #: Wall time of the last evaluation (encoding and metrics), seconds.
        self.last_seconds = float("nan")

    def __repr__(self) -> str:
        return f"TrainingMonitor(metrics={self.metrics}, every={self.every}, n={self.n}, n_test={self.n_test})"

    def due(self, step: int) -> bool:
        """Whether `step` is an evaluation step (`step % every == 0`, step > 0)."""
        return int(step) > 0 and int(step) % self.every == 0

    def __call__(self, step: int, encoder) -> list[dict[str, Any]]:
        """Evaluate `encoder` if `step` is due; the rows of this step, or `[]`."""
        if not self.due(step):
            return []
        return self.evaluate(encoder, step=step)

    def evaluate(self, encoder, step: int | None = None) -> list[dict[str, Any]]:
        """Score `encoder` now: one row per metric (`step`, `metric`, `value`, `seconds`,
        `error`). A metric that rejects the codes (e.g. a collapsed representation early in
        training) gives `value` NaN and its message in `error`; the others still run.

        `encoder` is a torch module (its forward returns codes or `(mean, logvar, ...)`), a numpy
        callable, or a [`Representation`][dismetrics.representation.Representation]."""
        from .evaluate import evaluate
        from .representation import Representation, as_representation

        start = time.perf_counter()
        module = None if isinstance(encoder, Representation) else encoder
        with preserve_training_state(module if hasattr(module, "modules") else None):
            layout = getattr(encoder, "input_layout", None)  # an encoder graph says which layout it takes
            channels_first = self.channels_first if layout is None else layout == "channels_first"
            representation = as_representation(
                encoder, batch_size=self.batch_size, channels_first=channels_first, random_state=self.random_state
            ) if not isinstance(encoder, Representation) else encoder
            frame = evaluate(
                representation,
                self.sampler,
                self.metrics,
                n=self.n,
                n_test=self.n_test,
                repeats=1,
                random_state=self.random_state,
                preset=self.preset,
                metric_params=self.metric_params,
                sampled=self.sampled,
                chunk_size=self.batch_size,
                progress=False,
            )
        rows = []
        for record in frame.to_dict("records"):
            row = {
                "step": None if step is None else int(step),
                "metric": str(record["metric"]),
                "value": float(record["value"]),
                "seconds": float(record["seconds"]),
                "error": "" if not isinstance(record.get("error"), str) else record["error"],
            }
            if self.details:
                row.update({key: value for key, value in record.items() if str(key).startswith("detail.")})
            rows.append(row)
        self.last_seconds = time.perf_counter() - start
        self.history.extend(rows)
        return rows

    def latest(self) -> dict[str, float]:
        """The most recent value of every metric evaluated so far (name -> value)."""
        return {row["metric"]: row["value"] for row in self.history}

    def to_frame(self):
        """The whole history as a pandas DataFrame (one row per step and metric)."""
        import pandas as pd

        frame = pd.DataFrame(self.history)
        for column in ROW_KEYS:
            if column not in frame.columns:
                frame[column] = pd.Series(dtype=object)
        return frame[list(ROW_KEYS) + [c for c in frame.columns if c not in ROW_KEYS]]
