"""`dismetrics score` over many codes-only model dirs: --jobs 2 against --jobs 1, in one run.

    python benchmarks/bench_score_jobs.py [--dirs 20] [--n 10000] [--exclude dci_es]

Writes the model dirs into a temporary folder, scores them serially and with a process pool of 2
(each run with --force so the second does not skip), and prints both times and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import print_table  # noqa: E402

from dismetrics import modeldir  # noqa: E402
from dismetrics.scoring import score_model_dirs, scores_table  # noqa: E402

SIZES = (3, 6, 40, 32, 32)


def make_dirs(root: str, count: int, n: int) -> list[str]:
    paths = []
    for i in range(count):
        rng = np.random.default_rng(i)
        factors = rng.integers(0, SIZES, size=(n, 5))
        codes = np.hstack([factors / (np.asarray(SIZES) - 1.0), rng.normal(size=(n, 5))]) + 0.1 * rng.normal(size=(n, 10))
        path = os.path.join(root, f"model_{i:02d}")
        os.makedirs(path)
        modeldir.write_config(path, {"model": "beta_vae", "hyperparameters": {"beta": 1 + i % 4}, "dataset": {"name": "synthetic"},
                                     "seed": i, "steps": 0, "latent_dim": 10})
        modeldir.write_codes(path, codes, factors)
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dirs", type=int, default=20)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--exclude", default="dci_es", help="comma-separated metrics to leave out (default dci_es: minutes per dir)")
    args = parser.parse_args()
    exclude = [m for m in args.exclude.split(",") if m]
    with tempfile.TemporaryDirectory() as root:
        paths = make_dirs(root, args.dirs, args.n)
        score_model_dirs(paths[:1], exclude=exclude, force=True)  # numba compile/cache load outside the timings
        timings, tables = {}, {}
        for jobs in (1, 2):
            started = time.perf_counter()
            outcomes = score_model_dirs(paths, jobs=jobs, exclude=exclude, force=True)
            timings[jobs] = time.perf_counter() - started
            tables[jobs] = scores_table(outcomes).drop(columns="seconds")
            assert all(o.status == "scored" for o in outcomes), [o.reason for o in outcomes if o.status != "scored"]
        same = tables[1].equals(tables[2])
    print_table([{"benchmark": f"score {args.dirs} codes-only dirs (n={args.n})", "jobs_1_s": timings[1], "jobs_2_s": timings[2],
                  "ratio": timings[1] / timings[2], "identical": same}],
                ["benchmark", "jobs_1_s", "jobs_2_s", "ratio", "identical"])


if __name__ == "__main__":
    main()
