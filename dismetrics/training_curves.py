"""Figures of metric vs training step, from the train logs of model dirs.

`dismetrics train --eval-every N` (`dismetrics_models.train(eval_every=N)`) writes, every N steps,
the disentanglement metrics of the encoder into the train log as `eval_<metric>` columns (NaN on
the other steps). This module reads them back and draws one panel per metric with a line per model
dir:

- [`read_metric_curves`][dismetrics.training_curves.read_metric_curves] -- a long table
  `model_dir, step, metric, value`;
- [`plot_training_curves`][dismetrics.training_curves.plot_training_curves] -- the PNG figure for some model
  dirs;
- [`report_figures`][dismetrics.training_curves.report_figures] -- the hook of `dismetrics report`: the
  figures of the model dirs of a score table, as `(file name, caption)` pairs (none when no dir has metric
  columns).

Matplotlib with the Agg backend: no display needed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["METRIC_PREFIX", "read_metric_curves", "plot_training_curves", "report_figures"]

METRIC_PREFIX = "eval_"
"""Prefix of the metric columns in `train_log.csv`."""
TRAIN_LOG_FILE = "train_log.csv"
MAX_LEGEND = 12
"""A legend is drawn when a panel has at most this many lines."""


def _train_log(model_dir) -> Path | None:
    path = Path(model_dir)
    if path.is_dir():
        path = path / TRAIN_LOG_FILE
    return path if path.is_file() else None


def read_metric_curves(model_dirs: Iterable) -> "pd.DataFrame":
    """The metric values logged during training: one row per (model dir, step, metric).

    `model_dirs` are model dirs (or their `train_log.csv` files); dirs without a train log, or
    whose log has no `eval_*` column, contribute nothing. Columns: `model_dir`, `step`,
    `metric`, `value` (NaN where the metric failed on that step)."""
    import pandas as pd

    frames = []
    for model_dir in dict.fromkeys(os.fspath(d) for d in model_dirs):
        log = _train_log(model_dir)
        if log is None:
            continue
        try:
            header = pd.read_csv(log, nrows=0).columns
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            continue
        columns = [c for c in header if isinstance(c, str) and c.startswith(METRIC_PREFIX)]
        if "step" not in header or not columns:
            continue
        table = pd.read_csv(log, usecols=["step", *columns])
        table = table.dropna(subset=columns, how="all")
        if table.empty:
            continue
        long = table.melt(id_vars="step", value_vars=columns, var_name="metric", value_name="value")
        long["metric"] = long["metric"].str.slice(len(METRIC_PREFIX))
        long.insert(0, "model_dir", model_dir)
        frames.append(long)
    if not frames:
        return pd.DataFrame({"model_dir": pd.Series(dtype=object), "step": pd.Series(dtype=np.int64),
                             "metric": pd.Series(dtype=object), "value": pd.Series(dtype=float)})
    curves = pd.concat(frames, ignore_index=True)
    curves["step"] = curves["step"].astype(np.int64)
    curves["value"] = pd.to_numeric(curves["value"], errors="coerce")
    return curves  # per model dir, metrics in the order of the log's columns, steps ascending


def _label(model_dir: str, dirs: Sequence[str]) -> str:
    """A short label: the dir name, with its parent when two dirs share a name."""
    path = Path(model_dir)
    names = [Path(d).name for d in dirs]
    return path.name if names.count(path.name) == 1 else f"{path.parent.name}/{path.name}"


def plot_training_curves(model_dirs: Iterable, out_dir, *, file_name: str = "training_curves.png") -> Path | None:
    """Draw every logged metric against the training step, one panel per metric and one line per
    model dir, into `out_dir/file_name` (PNG). Returns the path, or None when no dir logged metrics."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    curves = read_metric_curves(model_dirs)
    if curves.empty:
        return None
    metrics = list(dict.fromkeys(curves["metric"]))
    dirs = list(dict.fromkeys(curves["model_dir"]))
    columns = min(3, len(metrics))
    rows = int(np.ceil(len(metrics) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    thin = len(dirs) > MAX_LEGEND
    for ax, metric in zip(axes.ravel(), metrics):
        part = curves[curves["metric"] == metric]
        for model_dir, group in part.groupby("model_dir", sort=False):
            ax.plot(group["step"], group["value"], marker="" if thin else "o", markersize=3,
                    linewidth=0.8 if thin else 1.5, alpha=0.5 if thin else 1.0, label=_label(model_dir, dirs))
        ax.set_xlabel("training step")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        if not thin:
            ax.legend(fontsize=7)
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"Metrics during training ({len(dirs)} model dir{'s' if len(dirs) != 1 else ''})")
    fig.tight_layout()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / file_name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def report_figures(table, out_dir) -> list[tuple[str, str]]:
    """The hook of `dismetrics report`: metric-vs-step figures for the model dirs of a score
    table (its `model_dir` column), written into `out_dir`; a list of `(file name, caption)`
    (empty when no model dir logged metrics during training)."""
    if table is None or "model_dir" not in getattr(table, "columns", ()):
        return []
    dirs = [d for d in table["model_dir"].dropna().astype(str).unique() if d]
    path = plot_training_curves(dirs, out_dir)
    if path is None:
        return []
    logged = read_metric_curves(dirs)
    metrics = ", ".join(dict.fromkeys(logged["metric"]))
    caption = (f"Metrics during training ({metrics}) against the training step, from the train logs of "
               f"{logged['model_dir'].nunique()} model dir(s) (dismetrics train --eval-every)")
    return [(path.name, re.sub(r"\s+", " ", caption))]
