"""MIG and Modularity: dismetrics vs the reference computation, in one run.

The reference is disentanglement_lib's procedure: ``np.histogram`` + ``np.digitize`` per code dim,
then one ``sklearn.metrics.mutual_info_score`` call per (dim, factor) pair, then the MIG/Modularity
formulas. Codes: d = 10; factors dSprites-shaped (sizes 3, 6, 40, 32, 32). Run:

    python benchmarks/bench_info_metrics.py [--sizes 10000 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from sklearn.metrics import mutual_info_score

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

import dismetrics as dm  # noqa: E402

SIZES = (3, 6, 40, 32, 32)


def reference_mi_matrix(codes, factors, bins=20):
    disc = np.zeros((codes.shape[1], codes.shape[0]), dtype=np.int64)
    for i in range(codes.shape[1]):
        disc[i] = np.digitize(codes[:, i], np.histogram(codes[:, i], bins)[1][:-1])
    m = np.array([[mutual_info_score(factors[:, k], disc[i]) for k in range(factors.shape[1])] for i in range(disc.shape[0])])
    h = np.array([mutual_info_score(factors[:, k], factors[:, k]) for k in range(factors.shape[1])])
    return m, h


def reference_mig(codes, factors):
    m, h = reference_mi_matrix(codes, factors)
    s = np.sort(m, axis=0)[::-1]
    return float(np.mean((s[0] - s[1]) / h))


def reference_modularity(codes, factors):
    m, _ = reference_mi_matrix(codes, factors)
    sq = np.square(m)
    mx = sq.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - (sq.sum(axis=1) - mx) / (mx * (sq.shape[1] - 1.0))
    score[mx == 0] = 0.0
    return float(np.mean(score))


def make_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, SIZES, size=(n, len(SIZES)))
    codes = np.hstack([factors / (np.asarray(SIZES) - 1.0) + 0.05 * rng.standard_normal((n, 5)), rng.standard_normal((n, 5))])
    return codes, factors


def run(sizes) -> list[dict]:
    warm_codes, warm_factors = make_problem(1000)
    dm.mig(warm_codes, warm_factors)  # numba compiles (or loads its cache) once, outside the timings
    dm.modularity(warm_codes, warm_factors)
    rows = []
    for n in sizes:
        codes, factors = make_problem(n)
        for name, ours, reference in (("mig", dm.mig, reference_mig), ("modularity", dm.modularity, reference_modularity)):
            t_ours, result = best_time(lambda: ours(codes, factors), repeats=5)
            t_ref, ref_value = best_time(lambda: reference(codes, factors), repeats=1 if n > 100_000 else 3)
            rows.append({
                "benchmark": f"{name} n={n}",
                "ours_s": t_ours,
                "reference_s": t_ref,
                "ratio": t_ref / t_ours,
                "abs_diff": abs(result.value - ref_value),
            })
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    args = parser.parse_args()
    rows = run(args.sizes)
    print_table(rows, ["benchmark", "ours_s", "reference_s", "ratio", "abs_diff"])


if __name__ == "__main__":
    main()
