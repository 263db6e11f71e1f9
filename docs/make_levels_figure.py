"""Draw docs/img/levels/mig_5seeds_3repeats.png: the report's figure of one metric on a sweep of 2
configurations x 5 training seeds x 3 repeats (a synthetic score table, so the two noises are known).

Each model dir's score is ``config mean + training noise (std s_train, one draw per seed) + evaluation
noise (std s_eval, one draw per repeat)``; the table has the columns of ``dismetrics score --out``.

    PYTHONPATH=. python docs/make_levels_figure.py                                   # docs/img/levels/mig_5seeds_3repeats.png
    PYTHONPATH=. python docs/make_levels_figure.py --out /tmp/x --seeds 2 --repeats 2  # the same at 2 x 2
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from dismetrics.report import write_report
from dismetrics.scoring import TABLE_COLUMNS

OUT = Path(__file__).resolve().parent / "img" / "levels"
#: (model, beta) -> metric -> (config mean, s_train, s_eval)
CONFIGS = {
    ("beta_vae", 4.0): {"mig": (0.12, 0.05, 0.01), "factor_vae": (0.70, 0.06, 0.03)},
    ("beta_tcvae", 4.0): {"mig": (0.22, 0.05, 0.01), "factor_vae": (0.78, 0.06, 0.03)},
}


def synthetic_table(seeds: int = 2, repeats: int = 2, random_state: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(random_state)
    rows = []
    for (model, beta), metrics in CONFIGS.items():
        for seed in range(seeds):
            model_dir = f"runs/{model}_beta={beta:g}_seed{seed}"
            for metric, (mean, s_train, s_eval) in metrics.items():
                trained = mean + s_train * rng.standard_normal()
                for repeat in range(repeats):
                    rows.append({"model_dir": model_dir, "model": model, "dataset": "dsprites", "model_seed": seed,
                                 "regularization": "beta", "regularization_value": beta, "recon_error": None,
                                 "steps": 300_000, "metric": metric, "value": trained + s_eval * rng.standard_normal(),
                                 "repeat": repeat, "seed": 1000 * seed + repeat, "seconds": 1.0, "error": ""})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--metrics", default="mig", help="the figures to keep, comma-separated (mig, factor_vae)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        table_path = Path(work) / "scores.csv"
        synthetic_table(args.seeds, args.repeats).to_csv(table_path, index=False)
        index = write_report([table_path], Path(work) / "report")
        args.out.mkdir(parents=True, exist_ok=True)
        written = []
        for metric in args.metrics.split(","):
            target = args.out / f"{metric}_{args.seeds}seeds_{args.repeats}repeats.png"
            shutil.copyfile(index.parent / f"violin_{metric}.png", target)
            written.append(target)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
