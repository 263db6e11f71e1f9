"""DCI (the numba default and the xgboost option vs the sklearn reference) and SAP (parallel vs serial), in one run.

Factors dSprites-shaped (sizes 3, 6, 40, 32, 32), codes d = 10 (each factor in its own dim with
noise, plus 5 noise dims), n = 10,000 train / 5,000 test: the reference sizes. The DCI reference is
disentanglement_lib's computation (``GradientBoostingClassifier()`` per factor, importance
``feature_importances_``) = ``dismetrics.dci(..., backend="sklearn")``, which the tests check
against a direct sklearn computation; it takes minutes. SAP serial runs the d x K LinearSVC fits
one after another (the reference's loop); parallel spreads them over threads. Run:

    python benchmarks/bench_predictor_metrics.py [--n-train 10000 --n-test 5000] [--sap-jobs 2]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

import dismetrics as dm  # noqa: E402

SIZES = (3, 6, 40, 32, 32)


def make_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, SIZES, size=(n, len(SIZES)))
    codes = np.hstack([factors / (np.asarray(SIZES) - 1.0) + 0.05 * rng.standard_normal((n, 5)),
                       rng.standard_normal((n, 5))])
    return codes, factors


def run(n_train, n_test, sap_jobs, skip_reference=False) -> list[dict]:
    codes, factors = make_problem(n_train + n_test)
    split = dict(codes_test=codes[n_train:], factors_test=factors[n_train:])
    x, y = codes[:n_train], factors[:n_train]
    rows = []

    timed = {backend: best_time(lambda b=backend: dm.dci(x, y, backend=b, **split), repeats=2) for backend in ("numba", "xgboost")}
    t_ref, ref = (float("nan"), None) if skip_reference else best_time(lambda: dm.dci(x, y, backend="sklearn", **split), repeats=1)
    for backend, (t_fast, fast) in timed.items():
        row = {"benchmark": f"dci {backend}{' (default)' if backend == 'numba' else ''} vs sklearn n={n_train}/{n_test}",
               "ours_s": t_fast, "reference_s": t_ref, "ratio": t_ref / t_fast}
        for short, key in (("D", "disentanglement"), ("C", "completeness")):
            row[f"abs_diff_{short}"] = float("nan") if ref is None else abs(fast.details[key] - ref.details[key])
        rows.append(row)

    t_parallel, parallel = best_time(lambda: dm.sap(x, y, n_jobs=sap_jobs, **split), repeats=3)
    t_serial, serial = best_time(lambda: dm.sap(x, y, n_jobs=1, **split), repeats=3)
    rows.append({"benchmark": f"sap parallel({sap_jobs}) vs serial n={n_train}/{n_test}", "ours_s": t_parallel,
                 "reference_s": t_serial, "ratio": t_serial / t_parallel,
                 "abs_diff_D": abs(parallel.value - serial.value), "abs_diff_C": float("nan")})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=5_000)
    parser.add_argument("--sap-jobs", type=int, default=2, help="threads for parallel SAP (-1: all cores)")
    parser.add_argument("--skip-reference", action="store_true", help="skip the (minutes-long) sklearn DCI")
    args = parser.parse_args()
    print(f"cores={os.cpu_count()}")
    rows = run(args.n_train, args.n_test, args.sap_jobs, args.skip_reference)
    print_table(rows, ["benchmark", "ours_s", "reference_s", "ratio", "abs_diff_D", "abs_diff_C"])
    print("(SAP row: abs_diff_D is |SAP parallel - SAP serial|; ratio = reference_s / ours_s)")


if __name__ == "__main__":
    main()
