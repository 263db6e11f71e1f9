"""A Lightning `Callback` that logs disentanglement metrics during training (extra `[lightning]`).

```python
from dismetrics.integrations.lightning import DisentanglementCallback

callback = DisentanglementCallback(sampler, ["mig", "dci"], every_n_steps=1000, encoder="encoder")
trainer = lightning.pytorch.Trainer(callbacks=[callback], logger=CSVLogger("logs"))
```

Every `every_n_steps` optimizer steps (`trainer.global_step`) the callback scores the encoder with
a [`dismetrics.monitor.TrainingMonitor`][dismetrics.monitor.TrainingMonitor] (eval mode, no gradients, the
random states and the `training` flags restored: training is not perturbed) and logs each value with the
LightningModule's `self.log` as `<prefix><metric>` (default `disentanglement/mig`, ...), so every logger the
Trainer has (TensorBoard, CSV, W&B, ...) gets the curves, and `ModelCheckpoint(monitor=...)` or
`EarlyStopping` can use them. A metric that fails on a step (a collapsed code early in training)
logs nothing for that step; its message is in `callback.monitor.history`.

Under DDP every rank computes the same values (the evaluation sample and the metrics are seeded), so
the logged values agree without a sync.

This module imports `lightning.pytorch` (or, when only the older package is installed,
`pytorch_lightning`); nothing else in dismetrics imports it.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

try:  # the unified package first, then the standalone one
    from lightning.pytorch.callbacks import Callback
except ImportError:  # pragma: no cover - depends on what is installed
    try:
        from pytorch_lightning.callbacks import Callback  # type: ignore[assignment]
    except ImportError:
        raise ImportError(
            "dismetrics.integrations.lightning needs Lightning: pip install 'dismetrics[lightning]' (or pip install lightning)."
        ) from None

from ..monitor import DEFAULT_METRICS, TrainingMonitor

__all__ = ["DisentanglementCallback"]


class DisentanglementCallback(Callback):
    """Log disentanglement metrics every `every_n_steps` training steps.

    Parameters
    ----------
    sampler : GroundTruthSampler
        The data set (its observations are what the encoder takes, channels last; see `channels_first`).
    metrics : sequence of str
        Metric names ([`dismetrics.evaluate.available_metrics`][dismetrics.evaluate.available_metrics]);
        default MIG and DCI.
    every_n_steps : int
        Evaluate when `trainer.global_step` (optimizer steps done) is a multiple of it.
    encoder : None, str or callable
        What to score: None -> the LightningModule itself (its `forward` returns codes or
        `(mean, logvar, ...)`); a str -> that attribute of the module (e.g. `"encoder"`); a
        callable -> `encoder(pl_module)` returns the torch module (or numpy callable) to score.
    prefix : str
        Logged names are `prefix + metric`.
    on_train_end : bool
        Also evaluate after the last step when it was not an evaluation step (the value is then
        only in `monitor.history`: Lightning does not accept `self.log` at that point).
    **monitor_options :
        `n`, `n_test`, `random_state`, `metric_params`, `batch_size`, `channels_first`,
        ... of [`TrainingMonitor`][dismetrics.monitor.TrainingMonitor].
    """

    def __init__(
        self,
        sampler,
        metrics: Sequence[str] | str = DEFAULT_METRICS,
        *,
        every_n_steps: int = 1000,
        encoder: None | str | Callable[[Any], Any] = None,
        prefix: str = "disentanglement/",
        on_train_end: bool = False,
        **monitor_options: Any,
    ) -> None:
        super().__init__()
        self.monitor = TrainingMonitor(sampler, metrics, every=every_n_steps, **monitor_options)
        if encoder is not None and not isinstance(encoder, str) and not callable(encoder):
            raise ValueError(f"encoder must be None, an attribute name or a callable(pl_module); got {type(encoder).__name__}.")
        self.encoder = encoder
        self.prefix = str(prefix)
        self.evaluate_at_end = bool(on_train_end)
        self._last_step: int | None = None

    def _encoder_of(self, pl_module) -> Any:
        if self.encoder is None:
            return pl_module
        if isinstance(self.encoder, str):
            if not hasattr(pl_module, self.encoder):
                raise ValueError(f"the LightningModule has no attribute {self.encoder!r} (DisentanglementCallback(encoder=...)).")
            return getattr(pl_module, self.encoder)
        return self.encoder(pl_module)

    def _evaluate(self, trainer, pl_module, log: bool) -> list[dict[str, Any]]:
        step = int(trainer.global_step)
        if step == self._last_step:
            return []
        self._last_step = step
        rows = self.monitor.evaluate(self._encoder_of(pl_module), step=step)
        if log:
            for row in rows:
                if math.isfinite(row["value"]):
                    pl_module.log(self.prefix + row["metric"], row["value"], on_step=True, on_epoch=False,
                                  prog_bar=False, logger=True, batch_size=1)
        return rows

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: D102
        if self.monitor.due(trainer.global_step):
            self._evaluate(trainer, pl_module, log=True)

    def on_train_end(self, trainer, pl_module) -> None:  # noqa: D102
        if self.evaluate_at_end and trainer.global_step > 0:
            self._evaluate(trainer, pl_module, log=False)

    def state_dict(self) -> dict[str, Any]:  # noqa: D102 - the history survives a checkpoint
        return {"history": list(self.monitor.history), "last_step": self._last_step}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:  # noqa: D102
        self.monitor.history = list(state_dict.get("history", []))
        self._last_step = state_dict.get("last_step")
