"""Figures and an HTML page from score tables: what `dismetrics report` writes.

The figures of the founding papers, with the two noises of a sweep kept apart:

- each metric per configuration (model kind, regularization strength, and data set and training
  steps where the table mixes them), where the papers drew violins (Xiao & Wang, Fig. 3; Locatello
  et al.): every model dir (training seed) is a point, its mean over repeats, with its evaluation
  interval as an error bar; the configuration is a line at the mean over seeds with a band for the
  interval over seeds (`dismetrics.intervals`). Seeds are not pooled with repeats: they are
  different noises and answer different questions (docs/evaluate.md);
- a Spearman rank-correlation heatmap between metrics, one per data set with at least
  `MIN_MODELS_FOR_RANK_CORRELATION` model dirs (Locatello et al., Fig. 5 of Xiao & Wang);
- each metric against the reconstruction error (Xiao & Wang, Fig. 2 and 6), with error bars.

Every figure and table says which way each metric is better (`METRIC_DIRECTIONS`) and draws
it on its natural range (`METRIC_RANGES`), or says that the axis is zoomed in.

Matplotlib with the Agg backend: no display needed.
"""

from __future__ import annotations

import html
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .evaluate import SAMPLED_SUFFIX
from .metrics.registry import metric_specs
from .intervals import CONFIG_COLUMNS, DEFAULT_METHOD, Levels, summarize_levels
from .modeldir import SCORES_FILE
from .scoring import TABLE_COLUMNS, ScoreOutcome, scores_table

__all__ = ["read_scores", "write_report", "model_summary", "summary_text", "METRIC_DIRECTIONS", "METRIC_RANGES",
           "METRIC_NAMES", "metric_direction", "metric_range", "metric_name", "MIN_MODELS_FOR_RANK_CORRELATION"]

# ---- what each metric means ---------------------------------------------------------------------
# The registry holds it (each metric module declares its spec: direction, natural range, title); these
# views read it, so a metric registered by a user is drawn the same way.



class _RegistryView(Mapping):
    """A read-only view of one field of every registered metric's spec (the registry is the source:
    [`dismetrics.metrics.registry`][dismetrics.metrics.registry]), plus the `<name>_sampled` variants of the
    unsupervised scores (scores of z ~ N(mean, exp(logvar)))."""

    def __init__(self, field: Callable[[Any], Any], sampled: Callable[[Any], Any]):
        self._field, self._sampled = field, sampled

    def _table(self) -> dict:
        table = {}
        for spec in metric_specs():
            table[spec.name] = self._field(spec)
            if spec.kind == "unsupervised":
                table[spec.name + SAMPLED_SUFFIX] = self._sampled(spec)
        return table

    def __getitem__(self, name):
        return self._table()[name]

    def __iter__(self):
        return iter(self._table())

    def __len__(self):
        return len(self._table())


METRIC_DIRECTIONS: Mapping[str, str] = _RegistryView(lambda spec: spec.direction, lambda spec: spec.direction)
"""Which way each metric is better: "higher" or "lower" (`MetricSpec.direction`). Every registered metric,
plus the `<name>_sampled` variants of the unsupervised scores (tests/test_report_figures.py walks them)."""
METRIC_RANGES: Mapping[str, tuple[float, float | None]] = _RegistryView(lambda spec: tuple(spec.value_range),
                                                                        lambda spec: tuple(spec.value_range))
"""The natural range of each metric, `(low, high)` (`MetricSpec.value_range`); `high` None when it is
unbounded above (nats, squared code units). Axes start from it (a figure zoomed in says so)."""
METRIC_NAMES: Mapping[str, str] = _RegistryView(lambda spec: spec.title, lambda spec: spec.title + ", sampled")
"""The name a reader knows a metric by (titles, axes, tables; `MetricSpec.title`). The metric "beta_vae"
(the beta-VAE score) is never confused with the model "beta_vae" (a beta-VAE: `MODEL_NAMES`)."""

MODEL_NAMES = {"beta_vae": "\u03b2-VAE", "annealed_vae": "AnnealedVAE", "factor_vae": "FactorVAE",
               "beta_tcvae": "\u03b2-TCVAE", "dip_vae_i": "DIP-VAE-I", "dip_vae_ii": "DIP-VAE-II", "wae_mmd": "WAE-MMD",
               "wae_mmd_random": "WAE-MMD (random)", "wae": "WAE", "wtc_vae": "WTC-VAE", "wtc_wae": "WTC-WAE",
               "rtc_vae": "RTC-VAE"}
"""Model kinds as papers write them."""
REGULARIZATION_NAMES = {"beta": "\u03b2", "gamma": "\u03b3", "c_max": "C_max", "lambda_od": "\u03bb_od",
                        "lambda": "\u03bb", "lambda_1": "\u03bb_1"}
"""Regularization hyperparameters as papers write them (the names of `dismetrics_models.hyperparameters.REGULARIZATION_KEYS`)."""
MIN_MODELS_FOR_RANK_CORRELATION = 5
"""Fewer model dirs than this give no rank-correlation heatmap: with n models a rank correlation takes
few values (3 models: only +-0.5 and +-1), and the page says so instead."""
ZOOM_BELOW = 0.2
"""The y axis of a metric shows its natural range unless the values cover less than this fraction of
it; then it is zoomed in, and the figure says so."""


def _base_metric(name: str) -> str:
    return name[: -len(SAMPLED_SUFFIX)] if name.endswith(SAMPLED_SUFFIX) else name


def metric_direction(name: str) -> str | None:
    """"higher" or "lower" (is better), or None for a metric this table does not know."""
    return METRIC_DIRECTIONS.get(name) or METRIC_DIRECTIONS.get(_base_metric(name))


def metric_range(name: str) -> tuple[float, float | None] | None:
    """The natural `(low, high)` of a metric (`high` None: unbounded above), or None if unknown."""
    return METRIC_RANGES.get(name) or METRIC_RANGES.get(_base_metric(name))


def metric_name(name: str) -> str:
    """The display name of a metric (its registry name when it has none)."""
    if name in METRIC_NAMES:
        return METRIC_NAMES[name]
    base = _base_metric(name)
    return METRIC_NAMES[base] + ", sampled" if base in METRIC_NAMES else str(name)


def _arrow(name: str) -> str:
    return {"higher": "\u2191", "lower": "\u2193"}.get(metric_direction(name) or "", "")


def _better(name: str) -> str:
    direction = metric_direction(name)
    return f"{direction} is better" if direction else "direction unknown"


def _range_text(name: str) -> str:
    natural = metric_range(name)
    if natural is None:
        return "\u2013"
    low, high = natural
    return f"{low:g} to {high:g}" if high is not None else f"{low:g} and up"


# ---- reading ------------------------------------------------------------------------------------
def _rows_from_scores_document(document: dict) -> pd.DataFrame:
    outcome = ScoreOutcome(document.get("model_dir", ""), "scored", document.get("rows", []), "", document.get("config"))
    return scores_table([outcome])


def read_scores(paths: Iterable) -> pd.DataFrame:
    """Read and concatenate score tables: `.csv` / `.json` tables written by ``dismetrics score
    --out`, `scores.json`` files, or model dirs holding one."""
    frames = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            path = path / SCORES_FILE
        if not path.is_file():
            raise ValueError(f"no score table at {str(path)!r}.")
        if path.suffix == ".csv":
            frame = pd.read_csv(path)
        elif path.suffix == ".json":
            try:
                document = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise ValueError(f"{str(path)!r} is not valid JSON ({error}).") from None
            frame = _rows_from_scores_document(document) if isinstance(document, dict) else pd.DataFrame(document)
        else:
            raise ValueError(f"{str(path)!r}: a score table must be .csv or .json.")
        missing = {"model_dir", "metric", "value"} - set(frame.columns)
        if missing:
            raise ValueError(f"{str(path)!r} is not a dismetrics score table: it lacks the column(s) {sorted(missing)}.")
        frames.append(frame.reindex(columns=TABLE_COLUMNS))
    if not frames:
        raise ValueError("give at least one score table.")
    table = pd.concat(frames, ignore_index=True)
    table["error"] = table["error"].astype(object).where(table["error"].notna(), "").astype(str)
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    return table


def model_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean value of each metric per model dir (over repeats), with the model's description."""
    ok = table[(table["error"] == "") & table["value"].notna()]
    keys = ["model_dir", "model", "dataset", "regularization_value", "steps", "recon_error"]
    described = ok[keys].drop_duplicates("model_dir").set_index("model_dir")
    wide = ok.pivot_table(index="model_dir", columns="metric", values="value", aggfunc="mean")
    return described.join(wide)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and bool(np.isfinite(value))


# ---- configurations: labels and order ------------------------------------------------------------
def _is_untrained(row) -> bool:
    """A model dir trained for at most one step is a control, not a trained model: the quickstart's
    control makes one update with learning rate 0 (its weights stay at their seeded initialization)."""
    steps = row.get("steps")
    return _finite(steps) and float(steps) <= 1


def _dir_name(row) -> str:
    dirs = str(row.get("model_dirs") or row.get("model_dir") or "")
    return (Path(dirs.split(";")[0]).name or "model") if dirs else "model"


def _group_label(row, with_steps: bool = False, with_dataset: bool = False, *, full: bool = False) -> str:
    """The configuration a row belongs to, one item per line: the model kind as papers write it, its
    regularization name and value ("β = 4"); "untrained" for a control (at most one training step);
    the training steps when the table mixes step budgets of trained models, the data set when it mixes
    data sets. `full` adds everything (to tell apart configurations that would share a label). A dir
    that records no model is named by its directory."""
    model = row.get("model")
    name = MODEL_NAMES.get(model, model) if isinstance(model, str) else _dir_name(row)
    value, regularization = row.get("regularization_value"), row.get("regularization")
    strength = ""
    if _finite(value):
        symbol = REGULARIZATION_NAMES.get(regularization, regularization) if isinstance(regularization, str) else "reg."
        strength = f"{symbol} = {value:g}"
    steps = row.get("steps")
    step_text = f"{int(steps):,} step{'' if int(steps) == 1 else 's'}" if _finite(steps) else ""
    if _is_untrained(row):
        parts = ["untrained", f"({name})"] + ([strength, step_text] if full else [])
    else:
        parts = [name, strength] + ([step_text] if (with_steps or full) else [])
    dataset = row.get("dataset")
    if (with_dataset or full) and isinstance(dataset, str):
        parts.append(dataset)
    return "\n".join(p for p in parts if p)


def _mixes(frame: pd.DataFrame, column: str) -> bool:
    if column not in frame:
        return False
    values = frame[column]
    if column == "steps":  # the step budgets of trained models; a control is labelled "untrained"
        values = values[pd.to_numeric(values, errors="coerce") > 1]
    return values.dropna().nunique() > 1


def _labels(rows: Sequence, frame: pd.DataFrame, one_line: bool = False) -> list[str]:
    """Labels of configurations (`rows`), made unique: those that would share a label get the full one."""
    with_steps, with_dataset = _mixes(frame, "steps"), _mixes(frame, "dataset")
    labels = [_group_label(row, with_steps, with_dataset) for row in rows]
    shared = {label for label in labels if labels.count(label) > 1}
    labels = [_group_label(row, with_steps, with_dataset, full=True) if label in shared else label
              for row, label in zip(rows, labels)]
    shared = {label for label in labels if labels.count(label) > 1}
    labels = [f"{label}\n{_dir_name(row)}" if label in shared else label for row, label in zip(rows, labels)]
    return [label.replace("\n", " ") for label in labels] if one_line else labels


def _sort_key(row) -> tuple:
    """Model kind (its registry name: beta_tcvae, beta_vae, factor_vae, ...; dirs that record none
    first), the untrained control first, data set, then regularization strength and training steps in
    numeric order."""
    def text(key):
        value = row.get(key)
        return value if isinstance(value, str) else ""

    def number(key):
        value = row.get(key)
        return float(value) if _finite(value) else float("-inf")

    return (text("model").lower(), not _is_untrained(row), text("dataset"), number("regularization_value"),
            number("steps"), str(row.get("model_dirs", row.get("model_dir", ""))))


def _config_id(row) -> tuple:
    values = tuple(None if not isinstance(row.get(c), str) and not _finite(row.get(c)) else row.get(c) for c in CONFIG_COLUMNS)
    return values if any(v is not None for v in values) else ("model_dirs", row.get("model_dirs"))


# ---- the y axis: natural range, or zoomed in and saying so ---------------------------------------
def _y_limits(metric: str, values: Sequence[float], band_lows: Sequence[float] = (),
              band_highs: Sequence[float] = ()) -> tuple[float, float, str]:
    """`(bottom, top, note)`: the metric's natural range when the values cover at least
    `ZOOM_BELOW` of it, else zoomed in on the values with a note saying so ("" when not zoomed).
    Bands (intervals over seeds) get room up to 0.6 spans of the values beyond them."""
    values = [float(v) for v in values if _finite(v)]
    natural = metric_range(metric)
    if natural is not None and not math.isfinite(natural[0]):  # unbounded below (latte's smoothness): no axis to show
        natural = None
    if not values:
        natural = natural or (0.0, 1.0)
        return natural[0], natural[1] if natural[1] is not None else 1.0, ""
    low, high = min(values), max(values)
    span = high - low if high > low else max(abs(high) * 0.1, 0.05)
    bottom = max(low - 0.6 * span, min([low - 0.08 * span, *[b for b in band_lows if _finite(b)]]))
    top = min(high + 0.6 * span, max([high + 0.08 * span, *[b for b in band_highs if _finite(b)]]))
    bottom, top = bottom - 0.02 * span, top + 0.02 * span
    if natural is None:
        return bottom, top, ""
    full_low = min(natural[0], low)
    full_high = max(natural[1], high) if natural[1] is not None else max(top, high)
    full_span = full_high - full_low
    if full_span <= 0:
        return bottom, top, ""
    if high - low >= ZOOM_BELOW * full_span:
        pad = 0.03 * full_span
        return full_low - pad, full_high + pad, ""
    pad = 0.03 * full_span
    bottom, top = max(bottom, full_low - pad), min(top, full_high + pad)
    upper = f"{natural[1]:g}" if natural[1] is not None else "\u221e"
    return bottom, top, f"y zoomed in (range {natural[0]:g} to {upper})"


# ---- figure: one metric per configuration --------------------------------------------------------
SEED_COLOUR, CONFIG_COLOUR = "#1f4e79", "#d9731a"
"""Colours of the two levels: the seeds (model dirs) and the configuration."""


def _levels_plot(ax, table: pd.DataFrame, metric: str, *, levels: Levels | None = None, method: str = DEFAULT_METHOD,
                 confidence: float = 0.95) -> None:
    """One metric, both levels: per configuration, its seeds (model dirs) as points at their mean over
    repeats with the evaluation interval as an error bar, and a line at the mean over seeds with a
    band for the interval over seeds. Bands that run far beyond the points (2 seeds give a t interval
    with 1 degree of freedom: 9 seed stds wide) are cut at the edge of the axes, marked with a
    triangle there. The y axis is the metric's natural range unless the values cover little of it
    (then zoomed in, and the title says so); the title and the axis say which way is better."""
    from matplotlib.lines import Line2D  # noqa: PLC0415
    from matplotlib.patches import Patch, Rectangle  # noqa: PLC0415

    if levels is None:
        levels = summarize_levels(table[table["metric"] == metric], method=method, confidence=confidence)
    models = levels.evaluation[levels.evaluation["metric"] == metric]
    seeds = levels.seeds[levels.seeds["metric"] == metric]
    configs = sorted((row for _, row in seeds.iterrows()), key=_sort_key)
    labels = _labels(configs, seeds)
    positions = np.arange(1, len(configs) + 1)
    by_dir = models.set_index("model_dir") if "model_dir" in models else models.assign(model_dir="").set_index("model_dir")

    points = []  # (x, mean, low, high) of every model dir
    for position, row in zip(positions, configs):
        dirs = by_dir.loc[[d for d in str(row["model_dirs"]).split(";") if d in by_dir.index]]
        if "model_seed" in dirs:
            dirs = dirs.sort_values("model_seed", na_position="last")
        k = len(dirs)
        offsets = np.linspace(-1, 1, k) * min(0.28, 0.09 * (k - 1)) if k > 1 else np.zeros(k)
        for offset, (_, model) in zip(offsets, dirs.iterrows()):
            points.append((position + offset, model["mean"], model["ci_low"], model["ci_high"]))
    values = [v for p in points for v in p[1:]] + [row["mean"] for row in configs]
    bottom, top, zoom = _y_limits(metric, values, [row["ci_low"] for row in configs], [row["ci_high"] for row in configs])
    clipped = False
    for position, row in zip(positions, configs):
        if _finite(row["ci_low"]) and _finite(row["ci_high"]):
            band_low, band_high = max(row["ci_low"], bottom), min(row["ci_high"], top)
            ax.add_patch(Rectangle((position - 0.4, band_low), 0.8, band_high - band_low, facecolor=CONFIG_COLOUR,
                                   alpha=0.18, edgecolor="none", zorder=1))
            for edge, cut, marker in ((row["ci_low"], bottom, "v"), (row["ci_high"], top, "^")):
                if (marker == "v" and edge < cut) or (marker == "^" and edge > cut):
                    clipped = True
                    ax.plot([position], [cut], marker=marker, color=CONFIG_COLOUR, markersize=6, clip_on=False, zorder=4)
        if _finite(row["mean"]):
            ax.plot([position - 0.4, position + 0.4], [row["mean"]] * 2, color=CONFIG_COLOUR, linewidth=2.2, zorder=2)
    for x, mean, lo, hi in points:
        if _finite(lo) and _finite(hi):
            ax.errorbar([x], [mean], yerr=[[mean - lo], [hi - mean]], fmt="o", color=SEED_COLOUR, markersize=4.5,
                        elinewidth=1.2, capsize=2.5, zorder=3)
        else:  # one repeat: no evaluation interval
            ax.plot([x], [mean], "o", markerfacecolor="white", markeredgecolor=SEED_COLOUR, markersize=4.5, zorder=3)
    ax.set_xlim(0.4, len(configs) + 0.6)
    ax.set_ylim(bottom, top)
    ax.set_xticks(positions)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlabel("configuration: model and regularization strength" + (" (training steps)" if _mixes(seeds, "steps") else ""),
                  fontsize=8.5)
    ax.set_ylabel(f"{metric_name(metric)} {_arrow(metric)}".strip(), fontsize=9)
    counts = ""
    if configs:
        n_seeds = sorted({int(row["n_seeds"]) for row in configs})
        n_repeats = sorted({int(row[c]) for row in configs for c in ("min_repeats", "max_repeats")})
        span_text = lambda v: str(v[0]) if len(v) == 1 else f"{v[0]}\u2013{v[-1]}"  # noqa: E731
        plural = lambda v, word: f"{span_text(v)} {word}" + ("" if v == [1] else "s")  # noqa: E731
        counts = f"{plural(n_seeds, 'seed')} x {plural(n_repeats, 'repeat')} per configuration"
    second = "; ".join(part for part in (counts, zoom) if part)
    ax.set_title(f"{metric_name(metric)} ({_arrow(metric)} {_better(metric)})" + (f"\n{second}" if second else ""),
                 fontsize=9.5)
    ax.grid(axis="y", alpha=0.3)
    percent = f"{100 * confidence:g}%"
    method_name = "t" if method == DEFAULT_METHOD else method
    with_bar = any(_finite(lo) and _finite(hi) for _, _, lo, hi in points)
    handles, names = [], []
    if with_bar or not points:
        handles.append(Line2D([], [], marker="o", color=SEED_COLOUR, linestyle="none", markersize=4.5))
        names.append(f"model dir (one training seed): mean over repeats,\nbar: {percent} evaluation interval ({method_name})")
    if len(points) > sum(1 for _, _, lo, hi in points if _finite(lo) and _finite(hi)):
        handles.append(Line2D([], [], marker="o", markerfacecolor="white", markeredgecolor=SEED_COLOUR, linestyle="none",
                              markersize=4.5))
        names.append("model dir with one repeat (no evaluation interval)")
    handles.append(Line2D([], [], color=CONFIG_COLOUR, linewidth=2.2))
    names.append("configuration: mean over seeds")
    handles.append(Patch(facecolor=CONFIG_COLOUR, alpha=0.18))
    band = f"{percent} interval over seeds ({method_name})"
    if clipped:
        band += "\n(\u25b2\u25bc: runs off the axis)"
    if any(int(row["n_seeds"]) < 2 for row in configs):
        band += "\n(none with 1 seed)"
    names.append(band)
    if any(_is_untrained(row) for row in configs):
        handles.append(Line2D([], [], linestyle="none"))
        names.append("untrained: at most 1 training step\n(weights at their initialization)")
    ax.legend(handles, names, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


_violin = _levels_plot
"""The name the figure had when it was a violin plot (kept: tests and benchmarks/e2e/publish.py use it)."""


# ---- figure: metric against reconstruction error -------------------------------------------------
def _recon_figure(plt, levels: Levels, table: pd.DataFrame, metrics: Sequence[str], dataset: str, confidence: float):
    """One panel per metric: each model dir at its held-out reconstruction error and its mean over
    repeats, with the evaluation interval as an error bar, coloured by configuration (one legend for
    all panels). Each panel says where better is (upper left or lower left)."""
    from matplotlib.lines import Line2D  # noqa: PLC0415

    recon = (table.assign(recon_error=pd.to_numeric(table["recon_error"], errors="coerce"))
             .dropna(subset=["recon_error"]).drop_duplicates("model_dir").set_index("model_dir")["recon_error"])
    models = levels.evaluation[levels.evaluation["model_dir"].isin(recon.index)]
    seeds = levels.seeds[levels.seeds["metric"].isin(metrics)]
    configs = sorted({_config_id(row): row for _, row in seeds.iterrows()}.values(), key=_sort_key)
    labels = _labels(configs, seeds, one_line=True)
    style_of = {}  # colour and marker per configuration (two at the same place stay visible)
    palette, markers = [f"C{i}" for i in range(10)], "osD^vP<X>h"
    styles = [(palette[i % 10], markers[i % len(markers)]) for i in range(len(configs))]
    for row, style in zip(configs, styles):
        for directory in str(row["model_dirs"]).split(";"):
            style_of[directory] = style
    columns = min(4, len(metrics))
    rows = int(np.ceil(len(metrics) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.75 * rows + 1.1), squeeze=False, sharex=True,
                             layout="constrained")
    for ax, metric in zip(axes.ravel(), metrics):
        part = models[models["metric"] == metric]
        values = []
        for _, row in part.iterrows():
            x, mean, lo, hi = recon[row["model_dir"]], row["mean"], row["ci_low"], row["ci_high"]
            colour, marker = style_of.get(row["model_dir"], ("C0", "o"))
            if _finite(lo) and _finite(hi):
                ax.errorbar([x], [mean], yerr=[[mean - lo], [hi - mean]], fmt=marker, color=colour, markersize=4.5,
                            elinewidth=1.1, capsize=2.5, alpha=0.9)
                values += [lo, hi]
            else:
                ax.plot([x], [mean], marker, color=colour, markersize=4.5, alpha=0.9)
            values.append(mean)
        bottom, top, zoom = _y_limits(metric, values)
        ax.set_ylim(bottom, top)
        corner = "\u2196 upper left" if metric_direction(metric) == "higher" else "\u2199 lower left"
        title = f"{metric_name(metric)}: better {corner}" if metric_direction(metric) else metric_name(metric)
        ax.set_title(title + ("\n(y zoomed in)" if zoom else ""), fontsize=8.5)
        ax.set_ylabel(f"{metric_name(metric)} {_arrow(metric)}".strip(), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    xs = recon[recon.index.isin(models["model_dir"])].to_numpy(dtype=float)
    log_x = xs.size > 1 and xs.min() > 0 and xs.max() / xs.min() > 20  # a control's error dwarfs a trained model's
    for column in range(columns):  # the lowest panel of each column carries the x axis
        used = [r for r in range(rows) if r * columns + column < len(metrics)]
        ax = axes[used[-1], column]
        ax.set_xlabel("held-out recon. error (\u2190 better" + (", log scale)" if log_x else ")"), fontsize=8)
        ax.xaxis.set_tick_params(labelbottom=True)
    if log_x:
        axes[0, 0].set_xscale("log")  # shared by every panel
        lo, hi = xs.min(), xs.max()
        axes[0, 0].set_xlim(lo / 1.6, hi * 1.6)
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
        ax.set_xlabel("")
    handles = [Line2D([], [], marker=marker, color=colour, linestyle="none", markersize=5) for colour, marker in styles]
    names = list(labels)
    handles.append(Line2D([], [], marker="o", color="grey", linestyle="none", markersize=0))
    names.append(f"point: a model dir, mean over repeats; bar: {100 * confidence:g}% evaluation interval")
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 3), fontsize=8, frameon=False)
    fig.suptitle(f"Each metric against the held-out reconstruction error ({dataset}); lower error is better (left)",
                 fontsize=10.5)
    return fig


# ---- figure: rank correlation between metrics ----------------------------------------------------
def _rank_figure(plt, part: pd.DataFrame, metrics: Sequence[str], dataset: str):
    """Spearman rank correlation between metrics over the model dirs of a data set, each metric
    oriented so that higher is better (lower-is-better metrics enter negated): +1 means two metrics
    rank the models the same way from better to worse."""
    oriented = pd.DataFrame({m: (-part[m] if metric_direction(m) == "lower" else part[m]) for m in metrics})
    corr = oriented.corr(method="spearman")
    names = [f"{metric_name(m)} {_arrow(m)}".strip() for m in metrics]
    size = len(metrics)
    fig, ax = plt.subplots(figsize=(2.8 + 0.66 * size, 1.8 + 0.6 * size))
    image = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(size))
    ax.set_xticklabels(names, rotation=50, ha="right", fontsize=9)
    ax.set_yticks(range(size))
    ax.set_yticklabels(names, fontsize=9)
    for i in range(size):
        for j in range(size):
            value = corr.iat[i, j]
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9.5 if size <= 14 else 8,
                        color="white" if abs(value) > 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8, label="Spearman rank correlation")
    ax.set_title(f"Rank correlation between metrics ({dataset}, {part.shape[0]} models)\n"
                 "\u2193 metrics enter negated: +1 = the two rank the models alike, better to worse", fontsize=12)
    fig.tight_layout()
    return fig


# ---- tables --------------------------------------------------------------------------------------
def _fmt(value) -> str:
    return f"{value:.3g}" if _finite(value) else "\u2013"


def _interval_text(low, high) -> str:
    return f"[{_fmt(low)}, {_fmt(high)}]" if _finite(low) and _finite(high) else "\u2013"


def _metric_cells(metric: str) -> str:
    return (f"<th class='metric' title='{html.escape(metric)}'>{html.escape(metric_name(metric))}</th>"
            f"<td class='dir'>{_arrow(metric)} {html.escape(metric_direction(metric) or '?')}</td>"
            f"<td class='range'>{html.escape(_range_text(metric))}</td>")


def _wide_table(metrics: Sequence[str], columns: Sequence[tuple[str, str, list[tuple[str, str]]]],
                cells: dict[tuple[str, str], list[str]]) -> str:
    """Metrics as rows; per column group (`(key, heading html, [(sub-heading, title)])`) one
    sub-column per statistic; `cells[(key, metric)]` the cell texts (html)."""
    head_one = ["<th rowspan='2'>metric</th><th rowspan='2'>better</th><th rowspan='2'>range</th>"]
    head_two = []
    for _, heading, subs in columns:
        head_one.append(f"<th colspan='{len(subs)}' class='group'>{heading}</th>")
        head_two += [f"<th title='{html.escape(title)}'>{html.escape(sub)}</th>" for sub, title in subs]
    body = []
    for metric in metrics:
        row = [_metric_cells(metric)]
        for key, _, subs in columns:
            texts = cells.get((key, metric)) or ["\u2013"] * len(subs)
            row += [f"<td>{text}</td>" for text in texts]
        body.append("<tr>" + "".join(row) + "</tr>")
    return ("<div class='scroll'><table class='scores'><thead><tr>" + "".join(head_one) + "</tr><tr>" + "".join(head_two)
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")


def _short_names(paths: Sequence[str]) -> dict[str, str]:
    """The shortest unique trailing part of each path (its base name when that is unique)."""
    parts = {p: [x for x in str(p).replace("\\", "/").split("/") if x] or [str(p)] for p in paths}
    names = {}
    for path, pieces in parts.items():
        for depth in range(1, len(pieces) + 1):
            tail = "/".join(pieces[-depth:])
            if all(other == path or "/".join(parts[other][-depth:]) != tail for other in parts):
                break
        names[path] = tail
    return names


def _levels_tables(levels: Levels, metrics: Sequence[str], percent: str = "95%") -> tuple[str, str]:
    """The HTML of the per-configuration and the per-model-dir tables: metrics as rows, one group of
    columns (mean, sd, interval) per configuration or model dir."""
    seeds = levels.seeds
    present = [m for m in metrics if m in set(seeds["metric"])]
    ordered = sorted((row for _, row in seeds.iterrows()), key=_sort_key)
    unique: dict[tuple, object] = {}
    for row in ordered:
        unique.setdefault(_config_id(row), row)
    label_of = dict(zip(unique, _labels(list(unique.values()), seeds, one_line=True)))
    groups, cells, counts = [], {}, {}
    for row in ordered:
        key = _config_id(row)
        entry = counts.setdefault(key, {"seeds": set(), "repeats": set()})
        entry["seeds"].add(int(row["n_seeds"]))
        entry["repeats"].update({int(row["min_repeats"]), int(row["max_repeats"])})
        cells[(str(key), row["metric"])] = [_fmt(row["mean"]), _fmt(row["seed_std"]), _fmt(row["eval_std"]),
                                            _interval_text(row["ci_low"], row["ci_high"])]

    def span(values):
        values = sorted(values)
        return f"{values[0]}" if len(values) == 1 else f"{values[0]}\u2013{values[-1]}"

    for key, label in label_of.items():
        entry = counts[key]
        heading = (f"{html.escape(label)}<br><small>{span(entry['seeds'])} seed(s) x {span(entry['repeats'])} "
                   f"repeat(s)</small>")
        groups.append((str(key), heading, [("mean", "mean over seeds of each model dir's mean over repeats"),
                                           ("sd seeds", "sd of the per-model-dir means across training seeds"),
                                           ("sd eval", "pooled sd over repeats within a model dir"),
                                           (f"{percent} interval", f"{percent} interval of the mean over seeds")]))
    config_html = _wide_table(present, groups, cells)

    models = levels.evaluation
    present = [m for m in metrics if m in set(models["metric"])]
    dirs = list(dict.fromkeys(str(d) for d in models.get("model_dir", pd.Series([""] * len(models)))))
    short = _short_names(dirs)
    groups, cells, repeats = [], {}, {}
    for _, row in models.iterrows():
        directory = str(row.get("model_dir", ""))
        repeats.setdefault(directory, set()).add(int(row["n_repeats"]))
        failed = f"<br><small>{int(row['n_failed'])} failed</small>" if row["n_failed"] else ""
        cells[(directory, row["metric"])] = [_fmt(row["mean"]) + failed, _fmt(row["std"]),
                                             _interval_text(row["ci_low"], row["ci_high"])]
    seed_of = {}
    if "model_seed" in models:
        seed_of = {str(d): s for d, s in zip(models.get("model_dir", []), models["model_seed"]) if _finite(s)}
    for directory in dirs:
        seed = f"seed {seed_of[directory]:g}, " if directory in seed_of else ""
        heading = (f"<span title='{html.escape(directory)}'>{html.escape(short.get(directory, directory))}</span>"
                   f"<br><small>{seed}{span(repeats.get(directory, {0}))} repeat(s)</small>")
        groups.append((directory, heading, [("mean", "mean over repeats"), ("sd", "sd over repeats"),
                                            (f"{percent} interval", f"{percent} evaluation interval of the mean")]))
    model_html = _wide_table(present, groups, cells)
    return config_html, model_html


# ---- terminal summary ----------------------------------------------------------------------------
def _encodable(text: str, stream) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _decimals(means) -> int | None:
    """Decimals that give the largest |mean| of a row 3 significant digits (0 to 4); None: a row of
    numbers below 0.001, written in scientific notation."""
    largest = max((abs(float(m)) for m in means if _finite(m)), default=0.0)
    if largest == 0:
        return 3
    if largest < 1e-3:
        return None
    return int(min(4, max(0, 2 - math.floor(math.log10(largest)))))


def _cell(mean, sd, pm: str, decimals: int | None) -> str:
    if not _finite(mean):
        return "-"
    form = ".2e" if decimals is None else f".{decimals}f"
    text = f"{mean:{'.2e' if decimals is None else form}}"
    return f"{text} {pm} {sd:{'.1e' if decimals is None else form}}" if _finite(sd) else text


def summary_text(table: pd.DataFrame, width: int = 100, stream=None) -> str:
    """The terminal summary of a score table: metrics as rows (grouped by which way is better), model
    dirs as columns (short names: the shortest unique end of their paths), each cell `mean ± sd`
    over repeats, with one number of decimals per row. At most `width` columns: more model dirs than
    fit go into further blocks. `stream`: where it will be printed (`±` becomes `+-` if its
    encoding lacks it)."""
    pm = "\u00b1" if _encodable("\u00b1", stream or sys.stdout) else "+-"
    errors = table["error"].astype(object).where(table["error"].notna(), "")
    ok = table[(errors == "") & table["metric"].notna() & table["value"].notna()]
    if ok.empty:
        return ""
    stats = ok.groupby(["model_dir", "metric"], sort=False)["value"].agg(["mean", "std", "count"])
    dirs = list(dict.fromkeys(ok["model_dir"].astype(str)))
    metrics = list(dict.fromkeys(ok["metric"]))
    failed = table[(errors != "") & table["metric"].notna()]
    failed_cells = {(str(d), m) for d, m in zip(failed["model_dir"], failed["metric"])}
    decimals = {m: _decimals(stats.xs(m, level="metric")["mean"]) for m in metrics}
    cells = {(d, m): _cell(stats.loc[(d, m), "mean"], stats.loc[(d, m), "std"], pm, decimals[m]) for d, m in stats.index}
    label_width = min(32, max(len(metric_name(m)) for m in metrics) + 4)
    cell_width = max(12, *(len(text) for text in cells.values())) + 2
    short = _short_names(dirs)
    names = {d: (short[d] if len(short[d]) <= cell_width - 2 else "..." + short[d][-(cell_width - 5):]) for d in dirs}
    per_block = max(1, (width - label_width) // cell_width)
    counts = sorted({int(c) for c in stats["count"]})
    repeats = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    lines = [f"mean {pm} sd over {repeats} repeat{'s' if counts != [1] else ''}; columns: model dirs"]
    groups = [("higher is better", [m for m in metrics if metric_direction(m) == "higher"]),
              ("lower is better", [m for m in metrics if metric_direction(m) == "lower"]),
              ("direction unknown", [m for m in metrics if metric_direction(m) is None])]
    for start in range(0, len(dirs), per_block):
        block = dirs[start:start + per_block]
        lines.append(" " * label_width + "".join(names[d].rjust(cell_width) for d in block))
        for heading, names_in_group in groups:
            if not names_in_group:
                continue
            lines.append(heading)
            for metric in names_in_group:
                label = ("  " + metric_name(metric))[:label_width - 1].ljust(label_width)
                row = [cells.get((d, metric), "failed" if (d, metric) in failed_cells else "-") for d in block]
                lines.append(label + "".join(text.rjust(cell_width) for text in row))
        lines.append("")
    parents = {str(Path(d).parent) for d in dirs}
    if all(names[d] == Path(d).name for d in dirs) and len(parents) == 1:
        if parents != {"."}:
            lines.append(f"model dirs in {parents.pop()}")
    else:
        lines += [f"{names[d]}: {d}" for d in dirs if names[d] != d]
    return "\n".join(lines).rstrip("\n")


# ---- the report ----------------------------------------------------------------------------------
def _metric_figures(plt, table, metrics, levels, out: Path, method: str, confidence: float) -> list[tuple[str, str, str]]:
    """One levels figure per metric (or a note where no model dir has a value of it)."""
    percent = f"{100 * confidence:g}%"
    items: list[tuple[str, str, str]] = []
    for metric in metrics:
        n_configs = int((levels.seeds["metric"] == metric).sum())
        if n_configs == 0:
            items.append(("note", f"No figure for {html.escape(metric_name(metric))}: no model dir has a value of it "
                                  "(see the metrics that could not be computed).", ""))
            continue
        # the legend takes ~3.4 in on the right; the axes get ~1.05 in per configuration
        fig, ax = plt.subplots(figsize=(min(20, 3.4 + max(3.0, 1.05 * n_configs)), 4.0))
        _levels_plot(ax, table, metric, levels=levels, method=method, confidence=confidence)
        name = f"violin_{_slug(metric)}.png"  # the name of the violin plot this figure replaces
        fig.tight_layout()
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        items.append(("figure", name, f"{metric_name(metric)} ({metric}; {_better(metric)}) per configuration: each point a "
                                      f"model dir (one training seed) at its mean over repeats, with the {percent} "
                                      f"evaluation interval; line and band: the configuration's mean over seeds and its "
                                      f"{percent} interval over seeds ({method})"))

    return items


def _dataset_figures(plt, table, summary, metrics, levels, dataset, out: Path, confidence: float) -> list[tuple[str, str, str]]:
    """The rank-correlation heatmap and the metric-vs-reconstruction figure of one data set (or why not)."""
    percent = f"{100 * confidence:g}%"
    items: list[tuple[str, str, str]] = []
    dataset_of = summary["dataset"].astype(object).where(summary["dataset"].notna(), "unknown")
    part = summary[dataset_of == dataset]
    scored = [m for m in metrics if m in part.columns and part[m].notna().sum() >= 2 and part[m].nunique() > 1]
    n_models = part.shape[0]
    if n_models >= MIN_MODELS_FOR_RANK_CORRELATION and len(scored) >= 2:
        fig = _rank_figure(plt, part, scored, dataset)
        name = f"rank_correlation_{_slug(dataset)}.png"
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        items.append(("figure", name, f"Spearman rank correlation between metrics over the {n_models} model dirs of "
                                      f"{dataset}; lower-is-better metrics (\u2193) enter negated"))
    elif n_models < MIN_MODELS_FOR_RANK_CORRELATION:
        possible = {1: "undefined", 2: "only \u00b11", 3: "only \u00b10.5 or \u00b11"}
        example = f" (with {n_models} model{'s' if n_models != 1 else ''}: {possible[n_models]})" if n_models in possible else ""
        items.append(("warning", f"No rank-correlation heatmap for {html.escape(str(dataset))}: {n_models} model "
                                 f"dir{'s' if n_models != 1 else ''}. With fewer than {MIN_MODELS_FOR_RANK_CORRELATION} "
                                 f"models a Spearman correlation takes only a few values{example} and cannot show "
                                 f"how the metrics agree; it needs at least {MIN_MODELS_FOR_RANK_CORRELATION} model dirs.",
                      ""))
    else:
        items.append(("note", f"No rank-correlation heatmap for {html.escape(str(dataset))}: it needs 2 metrics "
                              "that vary across the model dirs.", ""))

    recon = pd.to_numeric(part["recon_error"], errors="coerce")
    panels = [m for m in metrics if m in part.columns and part[m].notna().any()]
    varying = [m for m in panels if part[m].nunique() > 1 or n_models == 1]
    if recon.notna().sum() >= 1 and varying:
        part_table = table[table["model_dir"].isin(part.index)]
        fig = _recon_figure(plt, levels, part_table, varying, dataset, confidence)
        name = f"vs_recon_{_slug(dataset)}.png"
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        constant = [metric_name(m) for m in panels if m not in varying]
        left_out = f" (left out, the same for every model: {', '.join(constant)})" if constant else ""
        items.append(("figure", name, f"Each metric against the held-out reconstruction error ({dataset}): a point per "
                                      f"model dir at its mean over repeats, with the {percent} evaluation interval"
                                      f"{left_out}"))
    else:
        items.append(("note", f"No metric-vs-reconstruction figure for {html.escape(str(dataset))}: the model dirs "
                              "record no reconstruction error (codes-only dirs) or no metric varies.", ""))

    return items


def _page_html(table, metrics, levels, items, method: str, confidence: float) -> str:
    """The report page: the two levels tables, the metrics that failed, then the figures and notes in order."""
    percent = f"{100 * confidence:g}%"
    errors = table[table["error"] != ""][["model_dir", "metric", "error"]].drop_duplicates()
    config_html, model_html = _levels_tables(levels, metrics, percent)
    one_seed = bool(len(levels.seeds)) and int(levels.seeds["n_seeds"].max()) < 2
    page = ["<!doctype html><html><head><meta charset='utf-8'><title>dismetrics report</title>",
            "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;font-size:12px}"
            "td,th{border:1px solid #ccc;padding:2px 6px}td{text-align:right}th.metric{text-align:left}"
            "td.dir,td.range{text-align:left;color:#444}th.group{background:#f3f3f3}small{color:#555}"
            "img{max-width:100%}.scroll{overflow-x:auto}"
            ".warning{background:#fff4e0;border-left:4px solid #d9731a;padding:0.5em 1em}</style></head><body>",
            f"<h1>dismetrics report</h1><p>{table['model_dir'].nunique()} model dirs, {len(metrics)} metrics, "
            f"{len(table)} rows. Each table and figure says which way a metric is better (\u2191 higher, \u2193 lower) "
            f"and its natural range.</p>",
            "<h2>Per configuration: mean over training seeds</h2>",
            f"<p>Each model dir is one training seed of its configuration (model, regularization strength, data set, "
            f"training steps). mean: the mean over seeds of each model dir's mean over repeats; then the spread across "
            f"seeds (sd seeds), the evaluation spread within a model dir (sd eval, pooled) and the {percent} interval "
            f"over seeds ({html.escape(method)}): it answers <em>is this method better than that one?</em> "
            f"One seed gives no sd seeds and no interval. levels_configurations.csv holds the numbers.</p>"]
    if one_seed:
        page.append("<p class='warning'>Every configuration here has one training seed: the interval over seeds needs "
                    "2 or more, so this table shows means and evaluation spread only; the table per model dir below "
                    "has the evaluation intervals.</p>")
    page += [config_html,
             "<h2>Per model dir: mean over repeats</h2>",
             f"<p>mean and sd over the repeats of evaluate, then the {percent} evaluation interval "
             f"({html.escape(method)}): it answers <em>is this model better than that one?</em> (the training seed is "
             f"fixed). One repeat gives no sd and no interval. levels_models.csv holds the numbers.</p>",
             model_html]
    if not errors.empty:
        page += ["<h2>Metrics that could not be computed</h2>", errors.to_html(index=False)]
    page.append("<h2>Figures</h2>")
    for kind, text, caption in items:  # in order: a warning stands where its figure would be
        if kind == "figure":
            page.append(f"<figure><img src='{html.escape(text)}' alt='{html.escape(caption)}'>"
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        elif kind == "warning":
            page.append(f"<p class='warning'>&#9888; {text}</p>")
        else:
            page.append(f"<p><em>{text}</em></p>")
    page.append("</body></html>")
    return "\n".join(page) + "\n"


def write_report(tables: Sequence, out_dir, *, method: str = DEFAULT_METHOD, confidence: float = 0.95) -> Path:
    """Write the figures (PNG), `index.html` and the tables into `out_dir`; returns the HTML path.

    Besides the figures and the page: `scores.csv` (the table read), `levels_models.csv` (per model
    dir and metric: mean over repeats and the evaluation interval, `dismetrics.intervals.evaluation_level`)
    and `levels_configurations.csv` (per configuration and metric: mean over seeds and the interval
    over seeds, `dismetrics.intervals.seed_level`). `method` and `confidence` are those of
    the intervals (`dismetrics.intervals.mean_interval`).
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from .modeldir import atomic_write_text  # noqa: PLC0415

    table = read_scores(tables)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = [m for m in table["metric"].dropna().unique()]
    levels = summarize_levels(table, method=method, confidence=confidence)
    # ("figure", file, caption) or ("warning" / "note", html, ""), in page order
    items = _metric_figures(plt, table, metrics, levels, out, method, confidence)
    summary = model_summary(table)
    datasets = summary["dataset"].astype(object).where(summary["dataset"].notna(), "unknown").unique()
    for dataset in datasets:
        items += _dataset_figures(plt, table, summary, metrics, levels, dataset, out, confidence)
    try:
        from .training_curves import report_figures  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        report_figures = None
    if report_figures is not None:
        items += [("figure", name, caption) for name, caption in report_figures(table, out)]
    index = out / "index.html"
    atomic_write_text(index, _page_html(table, metrics, levels, items, method, confidence))
    table.to_csv(out / "scores.csv", index=False)
    levels.evaluation.to_csv(out / "levels_models.csv", index=False)
    levels.seeds.to_csv(out / "levels_configurations.csv", index=False)
    return index
