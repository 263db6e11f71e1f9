"""Optional integrations with other libraries, each imported only when asked for:

- [`dismetrics.integrations.lightning`][dismetrics.integrations.lightning] -- a Lightning `Callback` that logs
  disentanglement metrics during training (extra `[lightning]`);
- [`dismetrics.integrations.torchmetrics`][dismetrics.integrations.torchmetrics] -- the sample metrics as
  `torchmetrics.Metric` subclasses (extra `[torchmetrics]`).

Nothing else in dismetrics imports these modules, so the core never imports Lightning or torchmetrics.
"""
