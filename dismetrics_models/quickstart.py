"""``dismetrics quickstart``: the first thing a new user runs, on a CPU, in under 10 minutes.

1. procedural dSprites (rendered in-process, no download);
2. a beta-VAE (beta = 4) trained for ``steps`` updates, and an untrained control of the same architecture
   (one update with learning rate 0: its weights stay at their seeded initialization);
3. both scored with every metric (DCI-ES left out: minutes on its own) over ``repeats`` independent
   evaluations, for error bars;
4. the report of ``dismetrics report`` (figures and an HTML page).

The scoring sizes are reduced so that the whole run fits the budget (``QUICKSTART_SIZES``); they are
written into every scores.json, and ``dismetrics score`` at the reference sizes rescores the same dirs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["QUICKSTART_SIZES", "run_quickstart", "main"]

#: Scoring sizes of the quickstart (the reference sizes are 10,000 / 5,000 points and 10,000 / 5,000 votes).
#: The beta-VAE score encodes 2 x 64 images per point, and with a conv encoder on 2 cores that forward
#: pass is half of the scoring time: 500 / 250 points keep the whole quickstart near 8 minutes.
QUICKSTART_SIZES = {
    "n": 5_000,
    "n_test": 2_500,
    "repeats": 3,
    "exclude": ["dci_es"],
    "metric_params": {"beta_vae": {"n_train": 500, "n_eval": 250},
                      "factor_vae": {"n_train": 1_000, "n_eval": 500, "n_variance": 5_000}},
}


def _say(message: str) -> None:
    print(f"[quickstart {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_quickstart(out="dismetrics-quickstart", *, steps: int = 2_000, seed: int = 0, progress: bool | None = None,
                   sizes: dict | None = None) -> Path:
    """Train, score and report into ``out``; returns the path of the report's index.html."""
    import pandas as pd

    from dismetrics.data import get_sampler
    from dismetrics.evaluate import evaluate
    from dismetrics.modeldir import atomic_write_text
    from dismetrics.report import write_report
    from dismetrics.representation import as_representation
    from dismetrics.scoring import ScoreOutcome, scores_table

    from .engine import train

    sizes = dict(QUICKSTART_SIZES if sizes is None else sizes)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sampler = get_sampler("dsprites")
    _say(f"procedural dSprites: {len(sampler.factor_sizes)} factors, sizes {list(sampler.factor_sizes)}")
    runs = {
        "beta_vae": {"model": "beta_vae", "steps": steps, "beta": 4.0},
        "untrained": {"model": "beta_vae", "steps": 1, "beta": 4.0, "lr": 0.0},
    }
    outcomes = []
    for name, spec in runs.items():
        path = out / name
        spec = dict(spec)
        model, run_steps = spec.pop("model"), spec.pop("steps")
        started = time.perf_counter()
        _say(f"training {name} ({model}, {run_steps} steps) into {path}")
        config = train(model=model, dataset=sampler, steps=run_steps, seed=seed, out=str(path), resume=True,
                       progress=progress, **spec)
        _say(f"  done in {time.perf_counter() - started:.0f} s; held-out reconstruction error {config.get('recon_error_heldout'):.1f}")
        started = time.perf_counter()
        _say(f"scoring {name}: every metric but {sizes['exclude']}, {sizes['repeats']} repeats")
        frame = evaluate(as_representation(path), sampler, "all", exclude=sizes["exclude"], n=sizes["n"], n_test=sizes["n_test"],
                         repeats=sizes["repeats"], random_state=seed, metric_params=sizes["metric_params"], progress=progress)
        frame.to_csv(path / "quickstart_scores.csv", index=False)
        _say(f"  done in {time.perf_counter() - started:.0f} s")
        rows = frame[["metric", "value", "repeat", "seed", "seconds", "error"]].to_dict("records")
        outcomes.append(ScoreOutcome(str(path), "scored", rows, "", config))
    table = scores_table(outcomes)
    table_path = out / "scores.csv"
    atomic_write_text(table_path, table.to_csv(index=False))
    index = write_report([str(table_path)], out / "report")
    ok = table[table["error"] == ""]
    summary = ok.groupby(["metric", "model_dir"])["value"].agg(["mean", "std"]).unstack("model_dir")
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    _say(f"report: {index}")
    return index


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="dismetrics quickstart", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="dismetrics-quickstart", help="output folder (default dismetrics-quickstart)")
    parser.add_argument("--steps", type=int, default=2_000, help="beta-VAE training steps (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run_quickstart(args.out, steps=args.steps, seed=args.seed, progress=None)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
