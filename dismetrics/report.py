"""Figures and an HTML page from score tables: what ``dismetrics report`` writes.

The figures of the founding papers:

- violin plots of each metric per model kind and regularization strength (Xiao & Wang, Fig. 3;
  Locatello et al.);
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


def _group_label(row, with_steps: bool = False) -> str:
    """The violin a row belongs to: model kind and regularization strength (seeds pooled), and the
    training steps when the table mixes step budgets (a 1-step control is not a trained model)."""
    model = row["model"] if isinstance(row["model"], str) else "model"
    value = row["regularization_value"]
    label = f"{model}\n{value:g}" if _finite(value) else model
    steps = row.get("steps")
    return f"{label}\n{steps:g} steps" if with_steps and _finite(steps) else label


def _violin(ax, table: pd.DataFrame, metric: str) -> None:
    data = table[(table["metric"] == metric) & (table["error"] == "") & table["value"].notna()].copy()
    with_steps = "steps" in data and data["steps"].dropna().nunique() > 1
    data["group"] = data.apply(_group_label, axis=1, with_steps=with_steps)
    groups = sorted(data["group"].unique())
    values = [data.loc[data["group"] == g, "value"].to_numpy() for g in groups]
    positions = np.arange(1, len(groups) + 1)
    spread = [v for v, p in zip(values, positions) if len(v) > 1 and np.ptp(v) > 0]
    spread_pos = [p for v, p in zip(values, positions) if len(v) > 1 and np.ptp(v) > 0]
    if spread:
        ax.violinplot(spread, positions=spread_pos, showmeans=True, showextrema=True)
    for v, p in zip(values, positions):
        ax.scatter(np.full(len(v), p), v, s=12, color="black", zorder=3)
    ax.set_xticks(positions)
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per model and regularization strength")
    ax.grid(axis="y", alpha=0.3)


def write_report(tables: Sequence, out_dir) -> Path:
    """Write the figures (PNG) and ``index.html`` into ``out_dir``; returns the HTML path."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    table = read_scores(tables)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, str]] = []
    notes: list[str] = []
    metrics = [m for m in table["metric"].dropna().unique()]

    for metric in metrics:
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * table["model_dir"].nunique() ** 0.5 + 4), 4))
        _violin(ax, table, metric)
        name = f"violin_{_slug(metric)}.png"
        fig.tight_layout()
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        figures.append((name, f"{metric}: distribution over model dirs and repeats, per model and regularization strength"))

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
    page = ["<!doctype html><html><head><meta charset='utf-8'><title>dismetrics report</title>",
            "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;font-size:12px}"
            "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}</style></head><body>",
            f"<h1>dismetrics report</h1><p>{table['model_dir'].nunique()} model dirs, {len(metrics)} metrics, "
            f"{len(table)} rows.</p>",
            "<h2>Mean score per model dir</h2>", summary.to_html(float_format=lambda v: f"{v:.4f}", na_rep="")]
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
    return index
