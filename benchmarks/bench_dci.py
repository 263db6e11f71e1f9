"""DCI at the reference size: the default (numba) backend against disentanglement_lib's computation, in one run.

The reference is disentanglement_lib's procedure, ``GradientBoostingClassifier()`` per factor (100 stages,
depth 3, learning rate 0.1) with the importance ``feature_importances_``, which is
``dismetrics.dci(..., backend="sklearn")`` (the tests check it against a direct sklearn computation).
The problem is ``bench_predictor_metrics``'s: dSprites-shaped factors (sizes 3, 6, 40, 32, 32), codes
d = 10 (each factor in its own dim with noise, plus 5 noise dims), 10,000 train / 5,000 test points.
Ours is timed first (best of ``--repeats``), then the reference once, back to back in the same process;
the load average is printed beside the times (the machine may be shared). Run:

    python benchmarks/bench_dci.py [--n-train 10000 --n-test 5000] [--repeats 2] [--n-jobs N]

It prints ours, the reference, their ratio, |D - D_ref| and |C - C_ref|, and the RESULTS.md row.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402
from bench_predictor_metrics import make_problem  # noqa: E402

import dismetrics as dm  # noqa: E402


def run(n_train: int = 10_000, n_test: int = 5_000, repeats: int = 2, n_jobs=None) -> dict:
    """One row: seconds of the numba default (best of `repeats`) and of the sklearn reference (once)."""
    codes, factors = make_problem(n_train + n_test)
    x, y = codes[:n_train], factors[:n_train]
    split = dict(codes_test=codes[n_train:], factors_test=factors[n_train:])
    dm.dci(x[:200], y[:200], n_estimators=2, n_jobs=n_jobs)  # compile (or load) the kernels outside the timing
    load_before = os.getloadavg()
    t_ours, ours = best_time(lambda: dm.dci(x, y, n_jobs=n_jobs, **split), repeats=repeats)
    t_ref, ref = best_time(lambda: dm.dci(x, y, backend="sklearn", **split), repeats=1)
    load_after = os.getloadavg()
    return {
        "benchmark": f"dci numba (default) vs sklearn n={n_train}/{n_test}",
        "ours_s": t_ours,
        "reference_s": t_ref,
        "ratio": t_ref / t_ours,
        "abs_diff_D": abs(ours.details["disentanglement"] - ref.details["disentanglement"]),
        "abs_diff_C": abs(ours.details["completeness"] - ref.details["completeness"]),
        "abs_diff_I": abs(ours.details["informativeness_test"] - ref.details["informativeness_test"]),
        "threads": ours.params["n_jobs"],
        "load": f"{load_before[0]:.1f} -> {load_after[0]:.1f}",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of ours (best kept); the reference runs once")
    parser.add_argument("--n-jobs", type=int, default=None, help="threads of the numba backend (default: all allowed)")
    args = parser.parse_args()
    print(f"cores={os.cpu_count()}", flush=True)
    row = run(args.n_train, args.n_test, args.repeats, args.n_jobs)
    print_table([row], ["benchmark", "ours_s", "reference_s", "ratio", "abs_diff_D", "abs_diff_C", "abs_diff_I", "threads",
                        "load"])
    print("\nRESULTS.md row:")
    print(f"| {row['benchmark']} | {row['ours_s']:.4g} | {row['reference_s']:.4g} | {row['ratio']:.1f} | "
          f"|D diff| {row['abs_diff_D']:.3f}, |C diff| {row['abs_diff_C']:.3f}; load {row['load']} |")


if __name__ == "__main__":
    main()
