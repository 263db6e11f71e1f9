"""The end-to-end benchmark: train a sweep of models, score them with every metric, report.

    python benchmarks/e2e/sweep.py --budget small --out runs/e2e-small          # 2 CPU cores, 40 min
    python benchmarks/e2e/sweep.py --budget paper --out runs/e2e-paper --device cuda
    python benchmarks/e2e/sweep.py --budget small --out runs/e2e-small --dask-scheduler tcp://HOST:8786

The sweep has the shape of the Wasserstein-TC paper's comparison (Table 4: models x regularization
strengths x seeds on one data set), with the step budget as a parameter. It is resumable: a run
whose model dir is complete is skipped, a killed run continues from its last checkpoint (the
trainer's ``resume``), and scoring skips dirs already scored with the same settings. The steps are:

1. train every (model, strength, seed) of the budget into ``OUT/runs/<model>_<key>=<value>_seed<s>``;
2. ``dismetrics score`` every run dir (sizes of the budget) into ``OUT/scores.csv``;
3. ``dismetrics report`` into ``OUT/report/``.

Models that this installation does not know (``dismetrics_models.registry``) are skipped with a
message, so the same definition serves as models are added.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

# name -> (hyperparameter, small-budget strengths, paper-budget strengths): MODELS.md's grids. The hyperparameter is
# the model's `dismetrics_models.hyperparameters.REGULARIZATION_KEYS` entry. `wae_mmd`'s MMD weight `lambda` has no
# published grid for the Bernoulli (summed cross-entropy) reconstruction loss: decades around Tolstikhin et al.'s
# published weights (10 on MNIST, 100 on CelebA, with a squared-error cost), four strengths as the WTC paper gives
# each model (docs/models.md). `wae_mmd_random` varies Rubenstein et al.'s log-variance penalty `lambda_1` on their
# published dSprites grid (Bernoulli loss) at the default MMD weight 10.
GRIDS = {
    "beta_vae": ("beta", [1, 8], [1, 2, 4, 6, 8, 16]),
    "factor_vae": ("gamma", [10, 50], [10, 20, 30, 40, 50, 100]),
    "beta_tcvae": ("beta", [1, 8], [1, 2, 4, 6, 8, 10]),
    "dip_vae_i": ("lambda_od", [1, 10], [1, 2, 5, 10, 20, 50]),
    "annealed_vae": ("c_max", [5, 25], [5, 10, 25, 50, 75, 100]),
    "dip_vae_ii": ("lambda_od", [1, 10], [1, 2, 5, 10, 20, 50]),
    "wae_mmd": ("lambda", [10, 100], [1, 10, 100, 1000]),
    "wae_mmd_random": ("lambda_1", [0.1, 2], [0, 0.1, 0.5, 1, 2, 3, 5, 8, 12]),
    "wae": ("beta", [1, 8], [1, 4, 8, 16]),
    "wtc_vae": ("gamma", [10, 40], [10, 20, 40, 80]),
    "wtc_wae": ("gamma", [10, 40], [10, 20, 40, 80]),
    "rtc_vae": ("beta", [2, 8], [2, 4, 6, 8, 10]),
}

#: Scoring sizes of the small budget: reduced, every metric but DCI-ES, 3 repeats (DCI with its default backend).
#: Written out, not derived from the quickstart's QUICKSTART_SIZES: the committed results of the small run
#: (benchmarks/e2e/results_small) were scored with these, and the quickstart's sizes may change on their own.
SMALL_SCORE_SIZES = {
    "n": 5_000,
    "n_test": 2_500,
    "repeats": 3,
    "exclude": ["dci_es"],
    "metric_params": {"beta_vae": {"n_train": 1_000, "n_eval": 500},
                      "factor_vae": {"n_train": 1_000, "n_eval": 500, "n_variance": 5_000}},
}

BUDGETS = {
    # 2 CPU cores, under an hour (39 min 50 s measured on 2 quiet cores, docs/e2e.md): 3 models x 2 strengths
    # x 1 seed x 1,500 steps, SMALL_SCORE_SIZES.
    "small": {"models": ["beta_vae", "factor_vae", "beta_tcvae"], "grid": "small", "seeds": [0], "steps": 1_500,
              "score": SMALL_SCORE_SIZES},
    # A GPU: every model, the papers' grids, 5 seeds, 300,000 steps, reference scoring sizes.
    "paper": {"models": list(GRIDS), "grid": "paper", "seeds": [0, 1, 2, 3, 4], "steps": 300_000,
              "score": {"n": 10_000, "n_test": 5_000, "repeats": 1, "exclude": []}},
}


def run_dir_name(model: str, key: str, value, seed: int) -> str:
    return f"{model}_{key}={value:g}_seed{seed}"


def plan(budget: dict) -> list[dict]:
    """The (model, strength, seed) runs of a budget: its models on its grid ("small" or "paper" strengths)."""
    from dismetrics_models.registry import model_names

    known = set(model_names())
    runs = []
    for model in budget["models"]:
        if model not in known:
            print(f"skipping {model}: this dismetrics_models does not have it", file=sys.stderr)
            continue
        key, small, paper = GRIDS[model]
        for value, seed in itertools.product(small if budget["grid"] == "small" else paper, budget["seeds"]):
            runs.append({"model": model, "key": key, "value": value, "seed": seed,
                         "name": run_dir_name(model, key, value, seed)})
    return runs


def train_one(run: dict, out: str, dataset: str, steps: int, device: str) -> str:
    from dismetrics import modeldir
    from dismetrics_models import train

    path = Path(out) / "runs" / run["name"]
    config_path = path / modeldir.CONFIG_FILE
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        if config.get("steps") == steps and (path / modeldir.ENCODER_FILE).is_file():
            return f"{run['name']}: done already"
    started = time.perf_counter()
    train(model=run["model"], dataset=dataset, steps=steps, seed=run["seed"], device=device, out=str(path),
          resume=True, progress=False, **{run["key"]: run["value"]})
    return f"{run['name']}: trained {steps} steps in {time.perf_counter() - started:.0f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=list(BUDGETS), default="small")
    parser.add_argument("--out", required=True)
    parser.add_argument("--dataset", default="dsprites")
    parser.add_argument("--steps", type=int, default=None, help="override the budget's step count")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="scoring processes (training runs one at a time locally)")
    parser.add_argument("--dask-scheduler", default=None, help="train and score on an existing Dask cluster")
    args = parser.parse_args(argv)

    budget = dict(BUDGETS[args.budget])
    steps = args.steps or budget["steps"]
    runs = plan(budget)
    os.makedirs(args.out, exist_ok=True)
    print(f"{len(runs)} runs of {steps} steps on {args.dataset} ({args.budget} budget) -> {args.out}")
    if args.dask_scheduler:
        from distributed import Client

        with Client(args.dask_scheduler) as client:
            futures = client.map(train_one, runs, out=args.out, dataset=args.dataset, steps=steps, device=args.device, pure=False)
            for message in client.gather(futures):
                print(message)
    else:
        for run in runs:
            print(train_one(run, args.out, args.dataset, steps, args.device), flush=True)

    from dismetrics.report import write_report
    from dismetrics.scoring import score_model_dirs, scores_table

    dirs = [str(Path(args.out) / "runs" / run["name"]) for run in runs]
    outcomes = score_model_dirs(dirs, jobs=args.jobs, dask_scheduler=args.dask_scheduler, seed=0, **budget["score"])
    failed = [o for o in outcomes if o.status == "failed"]
    for outcome in failed:
        print(f"FAILED {outcome.model_dir}: {outcome.reason}", file=sys.stderr)
    table = scores_table(outcomes)
    table.to_csv(Path(args.out) / "scores.csv", index=False)
    index = write_report([str(Path(args.out) / "scores.csv")], Path(args.out) / "report")
    print(f"scores: {Path(args.out) / 'scores.csv'}; report: {index}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
