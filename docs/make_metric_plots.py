"""Draw docs/img/metrics/<metric>.png: one metric under the six damages of the metric-properties study.

Reads ``docs/img/metric_properties/summary.csv`` (written by ``benchmarks/metric_properties.py``;
columns ``experiment, metric, level, mean, std, count``) and writes, for every metric in it, one
small figure with one panel per damage experiment: the mean over repeats against the damage level,
with a band of plus and minus one standard deviation.

    PYTHONPATH=. python docs/make_metric_plots.py [--summary CSV] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DOCS = Path(__file__).resolve().parent
SUMMARY = DOCS / "img" / "metric_properties" / "summary.csv"
OUT = DOCS / "img" / "metrics"

#: Panel order and titles: the experiments (a)-(f) of docs/metric_properties.md.
EXPERIMENTS = {
    "noise": "(a) noise a",
    "rotation": "(b) rotated dims k",
    "cos_sin": "(c) cos/sin factors j",
    "nonlinear": "(d) power p",
    "missing": "(e) missing factors j",
    "duplicate": "(f) duplicated dims j",
}
WIDTH_PX, HEIGHT_PX, DPI = 900, 170, 80


def read_summary(path) -> dict[str, dict[str, list[tuple[float, float, float]]]]:
    """``{metric: {experiment: [(level, mean, std), ...] sorted by level}}`` from a summary CSV.
    A missing or empty ``std`` (one repeat) reads as 0."""
    table: dict[str, dict[str, list[tuple[float, float, float]]]] = defaultdict(lambda: defaultdict(list))
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            std = float(row["std"]) if row.get("std") not in (None, "", "nan") else 0.0
            table[row["metric"]][row["experiment"]].append((float(row["level"]), float(row["mean"]), std))
    return {m: {e: sorted(points) for e, points in by_exp.items()} for m, by_exp in table.items()}


def plot_metric(metric: str, by_experiment, path) -> Path:
    """Write one row of panels (one per experiment present) for ``metric`` to ``path``."""
    experiments = [e for e in EXPERIMENTS if e in by_experiment] + sorted(set(by_experiment) - set(EXPERIMENTS))
    fig, axes = plt.subplots(1, len(experiments), figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI,
                             squeeze=False)
    for ax, experiment in zip(axes[0], experiments):
        levels, means, stds = zip(*by_experiment[experiment])
        low = [m - s for m, s in zip(means, stds)]
        high = [m + s for m, s in zip(means, stds)]
        ax.fill_between(levels, low, high, color="tab:blue", alpha=0.25, linewidth=0)
        ax.plot(levels, means, color="tab:blue", marker="o", markersize=2.5, linewidth=1.2)
        if experiment == "nonlinear":
            ax.set_xscale("log", base=2)
        ax.set_title(EXPERIMENTS.get(experiment, experiment), fontsize=8)
        ax.tick_params(labelsize=6, length=2, pad=1)
    axes[0][0].set_ylabel(metric, fontsize=8)
    fig.tight_layout(pad=0.3, w_pad=0.6)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def main(argv=None) -> list[Path]:
    """Write one PNG per metric of the summary; returns the paths written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", default=str(SUMMARY))
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    table = read_summary(args.summary)
    return [plot_metric(metric, table[metric], Path(args.out) / f"{metric}.png") for metric in sorted(table)]


if __name__ == "__main__":
    for written in main():
        print(written)
