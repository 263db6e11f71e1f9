"""Figures and an HTML page from score tables: what ``dismetrics report`` writes.

The figures of the founding papers, with the two noises of a sweep kept apart:

- each metric per configuration (model kind, regularization strength, and data set and training
  steps where the table mixes them), where the papers drew violins (Xiao & Wang, Fig. 3; Locatello
  et al.): every model dir (training seed) is a point, its mean over repeats, with its evaluation
  interval as an error bar; the configuration is a line at the mean over seeds with a band for the
  interval over seeds (:mod:`dismetrics.intervals`). Seeds are not pooled with repeats: they are
  different noises and answer different questions (docs/evaluate.md);
- a Spearman rank-correlation heatmap between metrics, one per data set (Locatello et al., Fig. 5 of
  Xiao & Wang);
- each metric against the reconstruction error (Xiao & Wang, Fig. 2 and 6).

Matplotlib with the Agg backend: no display needed.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .intervals import CONFIG_COLUMNS, DEFAULT_METHOD, Levels, summarize_levels
from .modeldir import SCORES_FILE
from .scoring import TABLE_COLUMNS, ScoreOutcome, scores_table

__all__ = ["read_scores", "write_report", "model_summary"]


def _rows_from_scores_document(document: dict) -> pd.DataFrame:
    outcome = ScoreOutcome(document.get("model_dir", ""), "scored", document.get("rows", []), "", document.get("config"))
    return scores_table([outcome])


def read_scores(paths: Iterable) -> pd.DataFrame:
    """Read and concatenate score tables: ``.csv`` / ``.json`` tables written by ``dismetrics score
    --out``, ``scores.json`` files, or model dirs holding one."""
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


def _group_label(row, with_steps: bool = False, with_dataset: bool = False) -> str:
    """The configuration a row belongs to: model kind and regularization strength, the training steps
    when the table mixes step budgets (a 1-step control is not a trained model) and the data set when
    it mixes data sets. A dir that records no model is named by its directory."""
    model = row.get("model")
    if not isinstance(model, str):
        dirs = str(row.get("model_dirs") or row.get("model_dir") or "")
        model = Path(dirs.split(";")[0]).name or "model" if dirs else "model"
    value = row.get("regularization_value")
    label = f"{model}\n{value:g}" if _finite(value) else model
    steps = row.get("steps")
    if with_steps and _finite(steps):
        label = f"{label}\n{steps:g} steps"
    dataset = row.get("dataset")
    return f"{label}\n{dataset}" if with_dataset and isinstance(dataset, str) else label


def _mixes(frame: pd.DataFrame, column: str) -> bool:
    return column in frame and frame[column].dropna().nunique() > 1


def _sort_key(row) -> tuple:
    def text(key):
        value = row.get(key)
        return value if isinstance(value, str) else ""

    def number(key):
        value = row.get(key)
        return float(value) if _finite(value) else float("-inf")

    return (text("model"), text("dataset"), number("regularization_value"), number("steps"), str(row.get("model_dirs", "")))


def _config_id(row) -> tuple:
    values = tuple(None if not isinstance(row.get(c), str) and not _finite(row.get(c)) else row.get(c) for c in CONFIG_COLUMNS)
    return values if any(v is not None for v in values) else ("model_dirs", row.get("model_dirs"))


#: Colours of the two levels: the seeds (model dirs) and the configuration.
SEED_COLOUR, CONFIG_COLOUR = "#1f4e79", "#d9731a"


def _levels_plot(ax, table: pd.DataFrame, metric: str, *, levels: Levels | None = None, method: str = DEFAULT_METHOD,
                 confidence: float = 0.95) -> None:
    """One metric, both levels: per configuration, its seeds (model dirs) as points at their mean over
    repeats with the evaluation interval as an error bar, and a line at the mean over seeds with a
    band for the interval over seeds. Bands that run far beyond the points (2 seeds give a t interval
    with 1 degree of freedom: 9 seed stds wide) are cut at the edge of the axes, marked with a
    triangle there."""
    from matplotlib.lines import Line2D  # noqa: PLC0415
    from matplotlib.patches import Patch, Rectangle  # noqa: PLC0415

    if levels is None:
        levels = summarize_levels(table[table["metric"] == metric], method=method, confidence=confidence)
    models = levels.evaluation[levels.evaluation["metric"] == metric]
    seeds = levels.seeds[levels.seeds["metric"] == metric]
    with_steps, with_dataset = _mixes(seeds, "steps"), _mixes(seeds, "dataset")
    configs = sorted((row for _, row in seeds.iterrows()), key=_sort_key)
    labels = [_group_label(row, with_steps, with_dataset) for row in configs]
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
    values = [v for p in points for v in p[1:] if _finite(v)] + [row["mean"] for row in configs if _finite(row["mean"])]
    if values:
        low, high = min(values), max(values)
        span = high - low if high > low else max(abs(high) * 0.1, 0.05)
        band_lows = [row["ci_low"] for row in configs if _finite(row["ci_low"])]
        band_highs = [row["ci_high"] for row in configs if _finite(row["ci_high"])]
        # room for the bands, but no more than 0.6 spans of the points beyond them
        bottom = max(low - 0.6 * span, min([low - 0.08 * span, *band_lows]))
        top = min(high + 0.6 * span, max([high + 0.08 * span, *band_highs]))
        bottom, top = bottom - 0.02 * span, top + 0.02 * span
    else:
        bottom, top = 0.0, 1.0
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
    ax.set_ylabel(metric)
    counts = ""
    if configs:
        n_seeds = sorted({int(row["n_seeds"]) for row in configs})
        n_repeats = sorted({int(row[c]) for row in configs for c in ("min_repeats", "max_repeats")})
        span_text = lambda v: str(v[0]) if len(v) == 1 else f"{v[0]}\u2013{v[-1]}"  # noqa: E731
        plural = lambda v, word: f"{span_text(v)} {word}" + ("" if v == [1] else "s")  # noqa: E731
        counts = f"\n{plural(n_seeds, 'seed')} x {plural(n_repeats, 'repeat')} per configuration"
    ax.set_title(f"{metric}: training seeds (points) and configurations (bands){counts}", fontsize=9.5)
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
    ax.legend(handles, names, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


#: The name the figure had when it was a violin plot (kept: tests and benchmarks/e2e/publish.py use it).
_violin = _levels_plot


def _fmt(value) -> str:
    return f"{value:.3g}" if _finite(value) else "\u2013"


def _interval_cell(mean, low, high, extra: str = "") -> str:
    text = _fmt(mean)
    if _finite(low) and _finite(high):
        text += f" [{_fmt(low)}, {_fmt(high)}]"
    return text + (f"<br><small>{extra}</small>" if extra else "")


def _levels_tables(levels: Levels, metrics: Sequence[str]) -> tuple[str, str]:
    """The HTML of the per-configuration and the per-model-dir tables, one column per metric."""
    seeds = levels.seeds
    configs: dict[str, dict] = {}
    ordered = sorted((row for _, row in seeds.iterrows()), key=_sort_key)
    with_steps, with_dataset = _mixes(seeds, "steps"), _mixes(seeds, "dataset")
    for row in ordered:
        name = _group_label(row, with_steps, with_dataset).replace("\n", " ")
        entry = configs.setdefault(_config_id(row), {"configuration": name, "seeds": row["n_seeds"],
                                                      "repeats per seed": set()})
        entry["seeds"] = max(entry["seeds"], row["n_seeds"])
        entry["repeats per seed"].update({int(row["min_repeats"]), int(row["max_repeats"])})
        extra = f"sd seeds {_fmt(row['seed_std'])} \u00b7 sd eval {_fmt(row['eval_std'])}"
        entry[row["metric"]] = _interval_cell(row["mean"], row["ci_low"], row["ci_high"], extra)
    config_rows = []
    for entry in configs.values():
        repeats = sorted(entry.pop("repeats per seed"))
        entry["repeats per seed"] = f"{repeats[0]}" if len(repeats) == 1 else f"{repeats[0]}\u2013{repeats[-1]}"
        config_rows.append(entry)
    columns = ["configuration", "seeds", "repeats per seed", *[m for m in metrics if m in set(seeds["metric"])]]
    config_html = pd.DataFrame(config_rows, columns=columns).fillna("").to_html(index=False, escape=False)

    models = levels.evaluation
    model_rows: dict[str, dict] = {}
    for _, row in models.iterrows():
        entry = model_rows.setdefault(row.get("model_dir", ""), {"model dir": html.escape(str(row.get("model_dir", ""))),
                                                                 "seed": _fmt(row.get("model_seed")), "repeats": set()})
        entry["repeats"].add(int(row["n_repeats"]))
        failed = f"{int(row['n_failed'])} failed" if row["n_failed"] else ""
        entry[row["metric"]] = _interval_cell(row["mean"], row["ci_low"], row["ci_high"], failed)
    for entry in model_rows.values():
        repeats = sorted(entry.pop("repeats"))
        entry["repeats"] = f"{repeats[0]}" if len(repeats) == 1 else f"{repeats[0]}\u2013{repeats[-1]}"
    columns = ["model dir", "seed", "repeats", *[m for m in metrics if m in set(models["metric"])]]
    model_html = pd.DataFrame(list(model_rows.values()), columns=columns).fillna("").to_html(index=False, escape=False)
    return config_html, model_html


def write_report(tables: Sequence, out_dir, *, method: str = DEFAULT_METHOD, confidence: float = 0.95) -> Path:
    """Write the figures (PNG), ``index.html`` and the tables into ``out_dir``; returns the HTML path.

    Besides the figures and the page: ``scores.csv`` (the table read), ``levels_models.csv`` (per model
    dir and metric: mean over repeats and the evaluation interval, :func:`dismetrics.intervals.evaluation_level`)
    and ``levels_configurations.csv`` (per configuration and metric: mean over seeds and the interval
    over seeds, :func:`dismetrics.intervals.seed_level`). ``method`` and ``confidence`` are those of
    the intervals (:func:`dismetrics.intervals.mean_interval`).
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    table = read_scores(tables)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, str]] = []
    notes: list[str] = []
    metrics = [m for m in table["metric"].dropna().unique()]
    levels = summarize_levels(table, method=method, confidence=confidence)
    percent = f"{100 * confidence:g}%"

    for metric in metrics:
        n_configs = int((levels.seeds["metric"] == metric).sum())
        if n_configs == 0:
            notes.append(f"No figure for {html.escape(str(metric))}: no model dir has a value of it "
                         "(see the metrics that could not be computed).")
            continue
        # the legend takes ~3.4 in on the right; the axes get ~0.95 in per configuration
        fig, ax = plt.subplots(figsize=(min(20, 3.4 + max(2.8, 0.95 * n_configs)), 3.8))
        _levels_plot(ax, table, metric, levels=levels, method=method, confidence=confidence)
        name = f"violin_{_slug(metric)}.png"  # the name of the violin plot this figure replaces
        fig.tight_layout()
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        figures.append((name, f"{metric} per configuration: each point a model dir (one training seed) at its mean over "
                              f"repeats, with the {percent} evaluation interval; line and band: the configuration's mean over "
                              f"seeds and its {percent} interval over seeds ({method})"))

    summary = model_summary(table)
    datasets = summary["dataset"].fillna("unknown").unique()
    for dataset in datasets:
        part = summary[summary["dataset"].fillna("unknown") == dataset]
        scored = [m for m in metrics if m in part.columns and part[m].notna().sum() >= 2 and part[m].nunique() > 1]
        if part.shape[0] >= 3 and len(scored) >= 2:
            corr = part[scored].corr(method="spearman")
            fig, ax = plt.subplots(figsize=(1 + 0.55 * len(scored), 0.8 + 0.5 * len(scored)))
            image = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_xticks(range(len(scored)))
            ax.set_xticklabels(scored, rotation=60, ha="right", fontsize=8)
            ax.set_yticks(range(len(scored)))
            ax.set_yticklabels(scored, fontsize=8)
            for i in range(len(scored)):
                for j in range(len(scored)):
                    value = corr.iat[i, j]
                    if np.isfinite(value):
                        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
            fig.colorbar(image, ax=ax, shrink=0.8, label="Spearman rank correlation")
            ax.set_title(f"Rank correlation between metrics ({dataset}, {part.shape[0]} models)")
            fig.tight_layout()
            name = f"rank_correlation_{_slug(dataset)}.png"
            fig.savefig(out / name, dpi=110, bbox_inches="tight")
            plt.close(fig)
            figures.append((name, f"Spearman rank correlation between metrics over the model dirs of {dataset}"))
        else:
            notes.append(f"No rank-correlation heatmap for {html.escape(str(dataset))}: it needs at least 3 model dirs and 2 metrics that vary.")

        recon = pd.to_numeric(part["recon_error"], errors="coerce")
        if recon.notna().sum() >= 1 and scored:
            columns = min(4, len(scored))
            rows = int(np.ceil(len(scored) / columns))
            fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
            for ax, metric in zip(axes.ravel(), scored):
                for model, group in part.groupby(part["model"].fillna("model")):
                    ax.scatter(pd.to_numeric(group["recon_error"], errors="coerce"), group[metric], label=model, s=18)
                ax.set_xlabel("reconstruction error")
                ax.set_ylabel(metric)
                ax.grid(alpha=0.3)
            for ax in axes.ravel()[len(scored):]:
                ax.axis("off")
            axes.ravel()[0].legend(fontsize=7)
            fig.suptitle(f"Metrics against reconstruction error ({dataset}); upper left is better")
            fig.tight_layout()
            name = f"vs_recon_{_slug(dataset)}.png"
            fig.savefig(out / name, dpi=110, bbox_inches="tight")
            plt.close(fig)
            figures.append((name, f"Each metric against the held-out reconstruction error ({dataset})"))
        else:
            notes.append(f"No metric-vs-reconstruction figure for {html.escape(str(dataset))}: the model dirs record no reconstruction error (codes-only dirs) or no metric varies.")

    errors = table[table["error"] != ""][["model_dir", "metric", "error"]].drop_duplicates()
    config_html, model_html = _levels_tables(levels, metrics)
    page = ["<!doctype html><html><head><meta charset='utf-8'><title>dismetrics report</title>",
            "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;font-size:12px}"
            "td,th{border:1px solid #ccc;padding:2px 6px}small{color:#555}img{max-width:100%}</style></head><body>",
            f"<h1>dismetrics report</h1><p>{table['model_dir'].nunique()} model dirs, {len(metrics)} metrics, "
            f"{len(table)} rows.</p>",
            "<h2>Per configuration: mean over training seeds</h2>",
            f"<p>Each model dir is one training seed of its configuration (model, regularization strength, data set, "
            f"training steps). A cell: the mean over seeds of each model dir's mean over repeats, then the {percent} "
            f"interval over seeds ({html.escape(method)}): it answers <em>is this method better than that one?</em> "
            f"Below it, the spread across seeds (sd seeds) and the evaluation spread within a model dir (sd eval). "
            f"One seed gives no interval. levels_configurations.csv holds the numbers.</p>",
            config_html,
            "<h2>Per model dir: mean over repeats</h2>",
            f"<p>A cell: the mean over the repeats of evaluate, then the {percent} evaluation interval "
            f"({html.escape(method)}): it answers <em>is this model better than that one?</em> (the training seed is "
            f"fixed). One repeat gives no interval. levels_models.csv holds the numbers.</p>",
            model_html]
    if not errors.empty:
        page += ["<h2>Metrics that could not be computed</h2>", errors.to_html(index=False)]
    page.append("<h2>Figures</h2>")
    for name, caption in figures:
        page.append(f"<figure><img src='{html.escape(name)}' alt='{html.escape(caption)}'><figcaption>{html.escape(caption)}</figcaption></figure>")
    for note in notes:
        page.append(f"<p><em>{note}</em></p>")
    page.append("</body></html>")
    index = out / "index.html"
    from .modeldir import atomic_write_text  # noqa: PLC0415

    atomic_write_text(index, "\n".join(page) + "\n")
    table.to_csv(out / "scores.csv", index=False)
    levels.evaluation.to_csv(out / "levels_models.csv", index=False)
    levels.seeds.to_csv(out / "levels_configurations.csv", index=False)
    return index
