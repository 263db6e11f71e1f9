"""Publish one finished sweep into the repository: the score table, a summary table and the report's figures.

    python benchmarks/e2e/publish.py OUT [--table-out benchmarks/e2e/results_small] [--figures-out docs/img/e2e_small]

Reads ``OUT/scores.csv`` and ``OUT/report/*.png`` (written by ``sweep.py``), copies the score table,
writes ``summary.md`` (per run: mean ± sd over the scoring repeats of every metric; rows are the runs,
in the sweep's order) and copies the rank-correlation, metric-vs-reconstruction and a few violin
figures for the docs page (docs/e2e.md).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
FIGURE_PATTERNS = ("rank_correlation_*.png", "vs_recon_*.png", "violin_mig.png", "violin_dci.png",
                   "violin_factor_vae.png", "violin_wdg.png", "violin_beta_vae.png", "violin_gaussian_total_correlation.png")


def run_label(row) -> str:
    return f"{row['model']} {row['regularization']}={row['regularization_value']:g}"


def summary_markdown(scores: pd.DataFrame) -> str:
    """One row per run, one column per metric: ``mean ± sd`` over the repeats (NaN rows say why in ``error``)."""
    scores = scores.copy()
    scores["run"] = scores.apply(run_label, axis=1)
    runs = list(dict.fromkeys(scores["run"]))
    metrics = list(dict.fromkeys(scores["metric"]))
    grouped = scores.groupby(["run", "metric"])["value"]
    means, sds = grouped.mean(), grouped.std(ddof=1)
    recon = scores.groupby("run")["recon_error"].first()
    lines = ["| run | recon error | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    for run in runs:
        cells = [f"{means[(run, m)]:.3f} ± {sds[(run, m)]:.3f}" if (run, m) in means.index else "" for m in metrics]
        lines.append(f"| {run} | {recon[run]:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the sweep's --out directory")
    parser.add_argument("--table-out", default=str(ROOT / "benchmarks" / "e2e" / "results_small"))
    parser.add_argument("--figures-out", default=str(ROOT / "docs" / "img" / "e2e_small"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    scores_path = out / "scores.csv"
    if not scores_path.is_file():
        print(f"no {scores_path}: run sweep.py first", file=sys.stderr)
        return 1
    table_out, figures_out = Path(args.table_out), Path(args.figures_out)
    table_out.mkdir(parents=True, exist_ok=True)
    figures_out.mkdir(parents=True, exist_ok=True)
    scores = pd.read_csv(scores_path)
    shutil.copyfile(scores_path, table_out / "scores.csv")
    (table_out / "summary.md").write_text(summary_markdown(scores))
    copied = []
    for pattern in FIGURE_PATTERNS:
        for figure in sorted((out / "report").glob(pattern)):
            shutil.copyfile(figure, figures_out / figure.name)
            copied.append(figure.name)
    print(f"wrote {table_out / 'scores.csv'}, {table_out / 'summary.md'}; figures: {', '.join(copied)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
